//! The sync driver: the thin tokio layer that runs the engine's sync machine against relays.
//!
//! It owns the sockets, the clock and the randomness. Every event (a connection opened or
//! closed, a frame received, a timer, a periodic look for local edits) goes into
//! [`Machine::handle`]; every effect that comes out is carried out here: open a websocket, send
//! a frame, close, set a timer, report progress.

mod connection;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use kompas_engine::sync::replication::{Effect, Entropy, Event, Machine, Mode, Report};
use kompas_engine::{Replica, Store, Timestamp};
use tokio::sync::mpsc;

use crate::context::now;
use crate::machine_work::MachineWork;
use connection::{Connection, ConnectionEvent};

/// Randomness from the operating system.
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, out: &mut [u8]) {
        rand::fill(out);
    }
}

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// One-off sync finished with every relay (some may have been given up: see the reports).
    Finished,
    /// The time limit passed first.
    TimedOut,
    /// The organisation was removed from the workspace.
    Removed,
    /// Another process asked for the data directory (see `DriverConfig::yield_when`).
    Yielded,
}

/// How long the driver runs, how often it looks for local edits, and what else it does.
pub struct DriverConfig<'a, S: Store> {
    /// Stop after this long (`None`: only when the machine is finished).
    pub limit: Option<Duration>,
    /// Look for local edits this often.
    pub scan_every: Duration,
    /// While watching, asked at every look for local edits: whether to stop and give the data
    /// directory to another process. Everything the machine did is durable by then.
    pub yield_when: Option<&'a dyn Fn() -> bool>,
    /// Tasks other threads hand the machine (member-list changes made from the web app); run
    /// between events, after which their changes are sent at once.
    pub work: Option<&'a MachineWork<S>>,
}

/// Runs `machine` until it finishes, the limit passes or it learns it was removed. Every
/// report is handed to `report` as it happens.
pub async fn run<S: Store>(
    replica: &Replica<S>,
    machine: &mut Machine,
    config: DriverConfig<'_, S>,
    mut report: impl FnMut(&Report),
) -> anyhow::Result<Ending> {
    let (events_tx, mut events_rx) = mpsc::channel::<ConnectionEvent>(1024);
    let mut connections: BTreeMap<String, Connection> = BTreeMap::new();
    let mut next_id: u64 = 1;
    let mut wake: Option<Timestamp> = None;
    let started = tokio::time::Instant::now();
    let mut entropy = OsEntropy;
    let mut scan = tokio::time::interval(config.scan_every);
    // A scan reads only the documents edited since the last one, but after many edits it can
    // still take longer than the period, and must not be followed by a burst of catch-up scans
    // that starve the relay conversations.
    scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    scan.tick().await;
    // A one-off sync seals local edits when it starts and on every welcome, and the data
    // directory stays locked meanwhile, so there is nothing for a scan to find.
    let watching = machine.mode() == Mode::Watch;

    let mut pending = vec![Event::Start];
    loop {
        for event in pending.drain(..) {
            let effects = machine.handle(replica, now(), &mut entropy, event)?;
            for effect in effects {
                match effect {
                    Effect::Connect { relay } => {
                        let id = next_id;
                        next_id += 1;
                        let ca = machine.state().trust(&relay).ca.map(PathBuf::from);
                        let connection =
                            Connection::spawn(relay.clone(), ca, id, events_tx.clone());
                        connections.insert(relay, connection);
                    }
                    Effect::Send { relay, message } => {
                        // Queued without a bound and without waiting (see `Connection`). Without
                        // a connection the machine has been, or is about to be, told the link
                        // is down, and resends what it needs on the next one.
                        if let Some(connection) = connections.get(&relay) {
                            connection.send(message);
                        }
                    }
                    Effect::Close { relay } => {
                        if let Some(connection) = connections.remove(&relay) {
                            connection.close();
                        }
                    }
                    Effect::WakeAt(at) => wake = Some(wake.map_or(at, |w| w.min(at))),
                    Effect::Report(r) => {
                        report(&r);
                        match r {
                            Report::Finished => return Ok(Ending::Finished),
                            Report::Removed => return Ok(Ending::Removed),
                            _ => {}
                        }
                    }
                }
            }
        }
        let until_wake = wake.map(|w| Duration::from_millis((w.0 - now().0).max(0) as u64));
        let until_limit = config.limit.map(|l| l.saturating_sub(started.elapsed()));
        if until_limit == Some(Duration::ZERO) {
            return Ok(Ending::TimedOut);
        }
        let sleep_for = [until_wake, until_limit]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            event = events_rx.recv() => {
                let Some(event) = event else { continue };
                let current = connections.get(&event.relay).map(|c| c.id);
                if current != Some(event.id) {
                    continue;
                }
                if matches!(event.event, Event::Disconnected { .. }) {
                    connections.remove(&event.relay);
                }
                pending.push(event.event);
            }
            _ = tokio::time::sleep(sleep_for) => {
                if wake.is_some_and(|w| w <= now()) {
                    wake = None;
                    pending.push(Event::Tick);
                }
            }
            _ = queued(config.work) => {
                for task in config.work.map(MachineWork::take_all).unwrap_or_default() {
                    task(replica, Some(&mut *machine));
                }
                // What the tasks signed goes out now, not at the next look.
                pending.push(Event::LocalChanges);
            }
            _ = scan.tick(), if watching => {
                if config.yield_when.is_some_and(|asked| asked()) {
                    return Ok(Ending::Yielded);
                }
                pending.push(Event::LocalChanges);
            }
        }
    }
}

/// Resolves when a task may be waiting; never without a queue.
async fn queued<S: Store>(work: Option<&MachineWork<S>>) {
    match work {
        Some(work) => work.queued().await,
        None => std::future::pending().await,
    }
}
