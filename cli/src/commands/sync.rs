//! `kompas sync [--watch]`: exchange changes with every relay of the workspace, with progress.
//! A watching sync lends the data directory to other kompas commands when they ask for it.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use kompas_engine::store::{self, DataDir, DataDirError};
use kompas_engine::sync::replication::{Machine, Mode, Report, SyncError, known_members};
use kompas_engine::{Replica, SledStore, Store};

use crate::args::{Global, SyncArgs};
use crate::context::{Opened, open_every, open_global, replica_in};
use crate::driver::{self, DriverConfig, Ending};
use crate::exit::{self, Refused};
use crate::lending::{Held, Lending};
use crate::machine_work::MachineWork;
use crate::output::{Verbosity, detail, emit, note, verbosity};
use crate::partnerships::{self, Partnership};
use crate::stop::Stop;
use crate::workflows;

/// How long a one-off sync may take by default.
const ONCE_LIMIT: Duration = Duration::from_secs(60);
/// How often a watching sync looks for local edits.
const SCAN_EVERY: Duration = Duration::from_millis(500);

/// What a sync run did.
#[derive(Debug, Default, serde::Serialize)]
pub struct SyncSummary {
    /// Changes from other organisations that were applied.
    pub applied: usize,
    /// Changes of this organisation the relays stored.
    pub stored: usize,
    /// Refused bundles, each with its reason.
    pub refused: Vec<String>,
    /// The relays of the workspace.
    pub relays: Vec<String>,
    /// Relays that completed.
    pub relays_done: Vec<String>,
    /// Relays that could not be reached or refused.
    pub relays_failed: Vec<String>,
    /// Problems relays reported.
    pub problems: Vec<String>,
    /// Relays that were refused because they could not be trusted (TLS certificate, relay key),
    /// each with what is wrong and what to do.
    pub untrusted: Vec<String>,
    /// Local changes still waiting for a relay.
    pub queued: usize,
    /// This organisation was removed from the workspace.
    pub removed: bool,
    /// The first relay refused to create the workspace this organisation set up.
    pub creation_refused: bool,
    /// The time limit passed before every relay was done.
    pub timed_out: bool,
    /// Reading stopped because too many changes wait for what they depend on.
    pub stalled: bool,
    /// Ctrl-C or SIGTERM stopped the run.
    pub interrupted: bool,
    /// This organisation waits for a coordinator to confirm its join: its fingerprint.
    pub awaiting_confirmation: Option<String>,
    /// The names of the organisations of the workspace, by organisation id, and this one's id.
    #[serde(skip)]
    names: Names,
}

/// Organisation names by id, so people read names rather than hex ids.
#[derive(Debug, Default)]
struct Names {
    me: String,
    by_id: HashMap<String, String>,
}

impl Names {
    /// The members this replica knows now.
    fn load<S: Store>(replica: &Replica<S>) -> Names {
        let by_id = known_members(replica.store())
            .ok()
            .flatten()
            .map(|set| {
                set.members()
                    .map(|m| (m.profile.key.org_id(), m.profile.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Names {
            me: replica.identity().profile.org_id.clone(),
            by_id,
        }
    }

    /// The name of organisation `id`, or its id when it is not (or no longer) a member.
    fn of(&self, id: &str) -> String {
        self.by_id
            .get(id)
            .cloned()
            .unwrap_or_else(|| format!("organisatie {id}"))
    }
}

/// What a relay whose reading stopped at the parked bundles' limit means for people.
fn parked_full(relay: &str, limit: usize) -> String {
    format!(
        "{relay}: {limit} ontvangen wijzigingen wachten op eerdere wijzigingen die er nog niet zijn; de rest wordt later opgehaald"
    )
}

impl SyncSummary {
    fn record(&mut self, report: &Report) {
        match report {
            // Its own changes coming back from a relay are nothing received.
            Report::Applied { author, .. } if *author == self.names.me => {}
            Report::Applied { .. } => self.applied += 1,
            Report::Stored { .. } => self.stored += 1,
            Report::Refused { reason, .. } => self.refused.push(reason.clone()),
            Report::Done { relay, .. } => self.relays_done.push(relay.clone()),
            Report::GaveUp { relay } => self.relays_failed.push(relay.clone()),
            Report::RelayError {
                relay,
                code,
                message,
            } => self
                .problems
                .push(format!("{relay}: {}: {message}", code.explanation())),
            Report::Removed => self.removed = true,
            Report::CreateRefused { .. } => self.creation_refused = true,
            Report::OperationDropped { message } => self.problems.push(message.clone()),
            Report::Untrusted { relay, reason } => {
                self.distrust(relay, reason.clone());
            }
            Report::RelayRefused { relay, refusal } => self.distrust(relay, refusal.to_string()),
            Report::ParkedFull { relay, limit, .. } => {
                self.stalled = true;
                self.problems.push(parked_full(relay, *limit));
            }
            _ => {}
        }
    }

    fn distrust(&mut self, relay: &str, reason: String) {
        if !self.relays_failed.iter().any(|r| r == relay) {
            self.relays_failed.push(relay.to_string());
        }
        if !self.untrusted.contains(&reason) {
            self.problems.push(reason.clone());
            self.untrusted.push(reason);
        }
    }

    /// Whether every relay completed.
    pub fn complete(&self) -> bool {
        self.relays_failed.is_empty()
            && !self.interrupted
            && !self.timed_out
            && !self.removed
            && !self.creation_refused
            && !self.stalled
    }
}

pub fn run(global: &Global, args: SyncArgs) -> anyhow::Result<()> {
    let limit = match (args.timeout, args.watch) {
        (Some(secs), _) => Some(Duration::from_secs(secs)),
        (None, false) => Some(ONCE_LIMIT),
        (None, true) => None,
    };
    let summary = if args.watch {
        if !global.json {
            note("kompas sync --watch: verbonden blijven; stoppen met Ctrl-C.");
        }
        // Ctrl-C is how a watching sync ends; it is no interruption.
        let mut all = watch(global, limit, progress(global))?;
        for (_, summary) in &mut all {
            summary.interrupted = false;
        }
        if all.len() > 1 {
            return report_all(global, &all, &[], true);
        }
        all.pop().map(|(_, s)| s).unwrap_or_default()
    } else if global.samenwerking.is_some() {
        let opened = open_global(global)?;
        let replica = &opened.replica;
        let mut machine = Machine::load(replica, Mode::Once)?.ok_or(SyncError::NoWorkspace)?;
        drive(replica, &mut machine, limit, progress(global))?
    } else {
        let (mut all, skipped) = once_for_all(global, limit)?;
        if all.len() + skipped.len() > 1 {
            return report_all(global, &all, &skipped, false);
        }
        all.pop().map(|(_, s)| s).unwrap_or_default()
    };
    emit(global.json, &summary, render)?;
    judge(&summary, args.watch)
}

/// The summary of one samenwerking's sync, with its name.
pub type Synced = (String, SyncSummary);

/// A one-off sync of every samenwerking of the data directory in turn, each with its name; it
/// stops at Ctrl-C or SIGTERM, and returns the names of those it did not get to as well.
fn once_for_all(
    global: &Global,
    limit: Option<Duration>,
) -> anyhow::Result<(Vec<Synced>, Vec<String>)> {
    let data = crate::context::lock(&global.data)?;
    let all: Vec<Partnership> = partnerships::list(&data)?
        .into_iter()
        .filter(|p| p.id.is_some())
        .collect();
    if all.is_empty() {
        return Err(SyncError::NoWorkspace.into());
    }
    let folder = workflows::folder(global);
    let mut done = Vec::new();
    let mut skipped = Vec::new();
    for partnership in &all {
        if done
            .last()
            .is_some_and(|(_, s): &(String, SyncSummary)| s.interrupted)
        {
            skipped.push(partnership.label());
            continue;
        }
        let (replica, _, _) = replica_in(&data, partnership.store, folder.as_deref())?;
        let mut machine = Machine::load(&replica, Mode::Once)?.ok_or(SyncError::NoWorkspace)?;
        if all.len() > 1 && progress(global) {
            note(&format!("samenwerking {}:", partnership.label()));
        }
        let summary = drive(&replica, &mut machine, limit, progress(global))?;
        done.push((partnership.label(), summary));
    }
    Ok((done, skipped))
}

/// Prints the summaries of a sync of several samenwerkingen (and those an interruption left
/// out), and fails as the worst one does; `watched` says it was a watching sync.
fn report_all(
    global: &Global,
    all: &[Synced],
    skipped: &[String],
    watched: bool,
) -> anyhow::Result<()> {
    let value: Vec<serde_json::Value> = all
        .iter()
        .map(|(name, summary)| {
            let mut value = serde_json::to_value(summary).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("samenwerking".into(), name.clone().into());
            }
            value
        })
        .collect();
    emit(
        global.json,
        &serde_json::json!({ "samenwerkingen": value, "not_reached": skipped }),
        |_| {
            let mut out = all
                .iter()
                .map(|(name, summary)| format!("Samenwerking {name}:\n{}", render(summary)))
                .collect::<Vec<_>>()
                .join("\n");
            if !skipped.is_empty() {
                out.push_str(&format!(
                    "\nNiet gesynchroniseerd (onderbroken): {}.",
                    skipped.join(", ")
                ));
            }
            out
        },
    )?;
    // An interruption counts first, then a removal, then what is incomplete.
    let worst = all
        .iter()
        .find(|(_, s)| s.interrupted)
        .or_else(|| all.iter().find(|(_, s)| s.removed))
        .or_else(|| all.iter().find(|(_, s)| !s.complete()));
    match worst {
        Some((name, summary)) => judge(summary, watched).with_context(|| {
            if skipped.is_empty() {
                format!("samenwerking {name}")
            } else {
                format!(
                    "samenwerking {name} (niet gesynchroniseerd: {})",
                    skipped.join(", ")
                )
            }
        }),
        None => Ok(()),
    }
}

/// Whether a sync's summary is a success, or the error that says what is left.
fn judge(summary: &SyncSummary, watched: bool) -> anyhow::Result<()> {
    if summary.interrupted && !watched {
        return Err(Refused {
            message: format!(
                "synchronisatie onderbroken; {} lokale wijziging(en) nog niet verstuurd{}",
                summary.queued,
                unfinished(summary)
            ),
            code: exit::INTERRUPTED,
        }
        .into());
    }
    if summary.removed {
        return Err(Refused::sync(
            "deze organisatie is uit de samenwerking verwijderd",
        ));
    }
    if !watched && !summary.complete() {
        let why = summary
            .untrusted
            .iter()
            .map(|reason| format!(": {reason}"))
            .collect::<String>();
        return Err(Refused::sync(format!(
            "synchronisatie onvolledig{why}; {} lokale wijziging(en) wachten op de volgende keer",
            summary.queued
        )));
    }
    Ok(())
}

/// Whether a command shows sync progress: not with `--json` or `-q`.
pub fn progress(global: &Global) -> bool {
    !global.json && verbosity() != Verbosity::Quiet
}

/// Runs the machine against its relays until it is done, the limit passes, or Ctrl-C or
/// SIGTERM.
pub fn drive<S: Store>(
    replica: &Replica<S>,
    machine: &mut Machine,
    limit: Option<Duration>,
    progress: bool,
) -> anyhow::Result<SyncSummary> {
    let runtime = runtime()?;
    let mut summary = SyncSummary::default();
    let config = DriverConfig {
        limit,
        scan_every: SCAN_EVERY,
        yield_when: None,
        work: None,
    };
    let shown = Shown {
        progress,
        label: None,
    };
    let mut quiet = |_: &Report| {};
    let stop = Stop::process()?;
    let ending = runtime.block_on(async {
        tokio::select! {
            ending = connected(replica, machine, config, &mut summary, shown, &mut quiet) => {
                ending.map(Some)
            }
            _ = stop.raised() => anyhow::Ok(None),
        }
    })?;
    summary.timed_out = ending == Some(Ending::TimedOut);
    summary.interrupted = ending.is_none();
    summary.queued = machine.queued();
    summary.awaiting_confirmation = machine
        .awaits_confirmation()
        .then(|| machine.me().short_fingerprint());
    Ok(summary)
}

/// What a watching sync tells the process it runs in, besides its own summaries.
pub trait WatchHost {
    /// A report of the sync machine of the samenwerking in store `store`, as it happens.
    fn report(&mut self, store: u32, report: &Report);
    /// The data directory was opened: at the start, back after another kompas command had it
    /// (it may have changed, and may have a samenwerking more), or read again.
    fn opened(&mut self, _held: &Held) {}
    /// Tasks for the machine of store `store` from other threads of the process, if it takes
    /// any.
    fn work(&self, _store: u32) -> Option<Arc<MachineWork<SledStore>>> {
        None
    }
    /// A flag the host raises when the definitions in force must be read again (a published
    /// definition changed); the watcher then reopens the data directory without lending it out.
    fn reload(&self) -> Option<Arc<AtomicBool>> {
        None
    }
}

/// The host of a plain `kompas sync --watch`: the summary and the progress lines say it all.
struct Quiet;

impl WatchHost for Quiet {
    fn report(&mut self, _: u32, _: &Report) {}
}

/// `kompas sync --watch`: stays connected until Ctrl-C, SIGTERM or the limit, and lends the data
/// directory to any other kompas command that asks for it.
fn watch(global: &Global, limit: Option<Duration>, progress: bool) -> anyhow::Result<Vec<Synced>> {
    let watching = Watching {
        limit,
        progress,
        without_workspace: false,
    };
    watch_in(
        global,
        watching,
        &Stop::process()?,
        &Lending::default(),
        &mut Quiet,
    )
}

/// How a watching sync runs.
#[derive(Clone, Copy)]
pub struct Watching {
    /// Stop after this long (`None`: only on Ctrl-C or SIGTERM).
    pub limit: Option<Duration>,
    /// Print progress lines.
    pub progress: bool,
    /// Without a workspace, keep the directory and lend it out until one appears, instead of
    /// failing (the web app runs before the organisation joins one).
    pub without_workspace: bool,
}

/// A watching sync of every samenwerking of the data directory (or the one `--samenwerking`
/// names), each with its own machine and relays, all at once. It keeps the opened directory in
/// `lending` for other threads and lends it to any other kompas command that asks for it: the
/// watcher then stops every machine, empties the slot, closes the stores once nobody uses
/// them, waits until that command is done, opens them again (with any samenwerking the
/// command added), sends what the command saved and carries on. It returns the summary of
/// every samenwerking that had a workspace, with its name.
pub fn watch_in(
    global: &Global,
    watching: Watching,
    stop: &Stop,
    lending: &Lending,
    host: &mut dyn WatchHost,
) -> anyhow::Result<Vec<Synced>> {
    if store::is_watched(&global.data) {
        return Err(Refused {
            message: format!(
                "voor {} loopt al een `kompas sync --watch` of `kompas serve`; één is genoeg",
                global.data.display()
            ),
            code: exit::DATA_DIR,
        }
        .into());
    }
    let runtime = runtime()?;
    let started = Instant::now();
    let reload = host.reload();
    let reload_asked = || reload.as_ref().is_some_and(|r| r.load(Ordering::SeqCst));
    let folder = workflows::folder(global);
    let wanted = global.samenwerking.as_deref();
    let data = Arc::new(crate::context::lock(&global.data)?);
    let root = data.root().to_path_buf();
    let _mark = data.mark_watching()?;
    let mut held = lending.put(open_every(data, wanted, folder.as_deref())?);
    host.opened(&held);
    let mut summaries = BTreeMap::new();
    let stopped = |mut summaries: BTreeMap<u32, Synced>, ending: Option<Ending>| {
        for (_, summary) in summaries.values_mut() {
            summary.timed_out = ending == Some(Ending::TimedOut);
            summary.interrupted = ending.is_none();
        }
        summaries.into_values().collect()
    };
    loop {
        let asked = || store::is_knocked(&root) || reload_asked();
        let round = Round {
            limit: watching.limit.map(|l| l.saturating_sub(started.elapsed())),
            asked: &asked,
            stop,
            watching,
        };
        let ending = runtime.block_on(watch_all(&held, round, host, &mut summaries))?;
        if ending != Some(Ending::Yielded) {
            return Ok(stopped(summaries, ending));
        }
        // Reopening reads the definitions in force again, whichever way it happens.
        if let Some(r) = &reload {
            r.store(false, Ordering::SeqCst);
        }
        let mut taken = lending.take(held);
        if !store::is_knocked(&root) {
            // Only the definitions changed: read them again, keeping the directory.
            let data = taken
                .pop()
                .map(|opened| opened.dir)
                .ok_or(SyncError::NoWorkspace)?;
            drop(taken);
            let data = Arc::into_inner(data).ok_or_else(|| {
                anyhow::anyhow!("de kompas-map is nog in gebruik bij het opnieuw inlezen")
            })?;
            held = lending.put(open_every(Arc::new(data), wanted, folder.as_deref())?);
            host.opened(&held);
            continue;
        }
        drop(taken);
        if watching.progress {
            note("map even vrijgegeven aan een ander kompas-proces");
        }
        let relock = runtime.block_on(async {
            tokio::select! {
                data = take_back(&root) => data.map(Some),
                _ = stop.raised() => Ok(None),
            }
        })?;
        let Some(data) = relock else {
            return Ok(stopped(summaries, None));
        };
        held = lending.put(open_every(Arc::new(data), wanted, folder.as_deref())?);
        host.opened(&held);
    }
}

/// What one stretch of a watching sync, between two reopenings, goes by.
#[derive(Clone, Copy)]
struct Round<'a> {
    /// The time left (`None`: until Ctrl-C or SIGTERM).
    limit: Option<Duration>,
    /// Whether to stop and give the data directory up.
    asked: &'a dyn Fn() -> bool,
    /// Ctrl-C or SIGTERM: the one stop of the whole watching sync, raised at any moment.
    stop: &'a Stop,
    watching: Watching,
}

/// Keeps every samenwerking of `held` connected at once until the directory is asked for, the
/// limit passes, every one was removed, or Ctrl-C or SIGTERM (`None`). The summaries are by
/// store and go on from one stretch to the next.
async fn watch_all(
    held: &Held,
    round: Round<'_>,
    host: &mut dyn WatchHost,
    summaries: &mut BTreeMap<u32, Synced>,
) -> anyhow::Result<Option<Ending>> {
    let mut machines = Vec::new();
    for opened in held {
        machines.push(Machine::load(&opened.replica, Mode::Watch)?);
    }
    let connected = machines.iter().filter(|m| m.is_some()).count();
    if connected == 0 && !round.watching.without_workspace {
        return Err(SyncError::NoWorkspace.into());
    }
    let running = Cell::new(connected);
    let several = connected > 1;
    let mut mine: Vec<(bool, Synced)> = held
        .iter()
        .zip(&machines)
        .map(|(opened, machine)| {
            let synced = summaries.remove(&opened.store).unwrap_or_else(|| {
                (
                    partnerships::label_of(&opened.replica),
                    SyncSummary::default(),
                )
            });
            (machine.is_some(), synced)
        })
        .collect();
    let host = RefCell::new(host);
    let ending = {
        let each = held.iter().zip(machines).zip(mine.iter_mut()).map(
            |((opened, machine), (_, (label, summary)))| {
                let shown = Shown {
                    progress: round.watching.progress,
                    label: several.then_some(label.as_str()),
                };
                keep_one(opened, machine, summary, shown, round, &host, &running)
            },
        );
        tokio::select! {
            endings = futures_util::future::join_all(each) => {
                let endings = endings.into_iter().collect::<anyhow::Result<Vec<Ending>>>()?;
                Some(if endings.iter().all(|e| *e == Ending::Yielded) {
                    Ending::Yielded
                } else if endings.contains(&Ending::TimedOut) {
                    Ending::TimedOut
                } else {
                    Ending::Removed
                })
            }
            _ = round.stop.raised() => None,
        }
    };
    for (opened, (had_machine, synced)) in held.iter().zip(mine) {
        if had_machine || summaries.contains_key(&opened.store) {
            summaries.insert(opened.store, synced);
        }
    }
    Ok(ending)
}

/// Keeps one samenwerking connected for one stretch. One without a workspace (or removed from
/// it) waits with nothing to sync, answering the tasks handed to it, until the stretch ends or,
/// unless the host keeps running without a workspace, no samenwerking is connected any more.
async fn keep_one(
    opened: &Opened,
    machine: Option<Machine>,
    summary: &mut SyncSummary,
    shown: Shown<'_>,
    round: Round<'_>,
    host: &RefCell<&mut dyn WatchHost>,
    running: &Cell<usize>,
) -> anyhow::Result<Ending> {
    let replica = &opened.replica;
    let work = host.borrow().work(opened.store);
    if let Some(mut machine) = machine {
        let config = DriverConfig {
            limit: round.limit,
            scan_every: SCAN_EVERY,
            yield_when: Some(round.asked),
            work: work.as_deref(),
        };
        let mut report = |r: &Report| host.borrow_mut().report(opened.store, r);
        let ending = connected(replica, &mut machine, config, summary, shown, &mut report).await;
        summary.queued = machine.queued();
        summary.awaiting_confirmation = machine
            .awaits_confirmation()
            .then(|| machine.me().short_fingerprint());
        let ending = ending?;
        if ending != Ending::Removed {
            return Ok(ending);
        }
        running.set(running.get().saturating_sub(1));
    }
    let keep = round.watching.without_workspace;
    Ok(idle(
        round.asked,
        round.limit,
        work.as_deref().map(|w| (w, replica)),
        &|| !keep && running.get() == 0,
    )
    .await)
}

/// With nothing to sync: waits until another process asks for the data directory, the limit
/// passes, or `gone` says nothing is connected any more; tasks for a machine hear there is none.
async fn idle(
    asked: &dyn Fn() -> bool,
    limit: Option<Duration>,
    work: Option<(&MachineWork<SledStore>, &Replica<SledStore>)>,
    gone: &dyn Fn() -> bool,
) -> Ending {
    let started = tokio::time::Instant::now();
    let mut look = tokio::time::interval(SCAN_EVERY);
    loop {
        look.tick().await;
        if let Some((work, replica)) = work {
            for task in work.take_all() {
                task(replica, None);
            }
        }
        if asked() {
            return Ending::Yielded;
        }
        if limit.is_some_and(|l| started.elapsed() >= l) {
            return Ending::TimedOut;
        }
        if gone() {
            return Ending::Removed;
        }
    }
}

/// How long the watcher waits for a knocking process to take the lock before taking it back.
const KNOCK_PATIENCE: Duration = Duration::from_secs(3);
/// How often the watcher looks whether it may take the lock back.
const RELOCK_POLL: Duration = Duration::from_millis(50);

/// Waits until the process that asked for the data directory has had it, then locks it again.
/// It never knocks itself: the other process is an ordinary command that will finish.
///
/// Once it holds the lock again it withdraws any knock that is left: one whose process never
/// took its turn (it was stopped while waiting) would otherwise send the watcher away at every
/// look. A process that is still waiting knocks again within its next poll.
async fn take_back(root: &Path) -> Result<DataDir, DataDirError> {
    let asked_at = Instant::now();
    while store::is_knocked(root) && asked_at.elapsed() < KNOCK_PATIENCE {
        tokio::time::sleep(RELOCK_POLL).await;
    }
    loop {
        match DataDir::open(root) {
            Err(DataDirError::InUse(_)) => tokio::time::sleep(RELOCK_POLL).await,
            Ok(data) => {
                data.clear_knock();
                return Ok(data);
            }
            Err(e) => return Err(e),
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// How a run shows its progress: whether at all, and the samenwerking it names when a watching
/// sync keeps several connected.
#[derive(Clone, Copy)]
struct Shown<'a> {
    progress: bool,
    label: Option<&'a str>,
}

/// Runs the driver for one machine until it ends; every report goes into the summary, to
/// `report`, and as a progress line to people.
async fn connected<S: Store>(
    replica: &Replica<S>,
    machine: &mut Machine,
    config: DriverConfig<'_, S>,
    summary: &mut SyncSummary,
    shown: Shown<'_>,
    report: &mut dyn FnMut(&Report),
) -> anyhow::Result<Ending> {
    let named = |line: String| match shown.label {
        Some(label) => format!("{label}: {line}"),
        None => line,
    };
    summary.names = Names::load(replica);
    summary.relays = machine.state().relays.clone();
    if shown.progress {
        detail(&named(format!(
            "synchronisatie gestart met {}; stoppen met Ctrl-C",
            machine.state().relays.join(", ")
        )));
    }
    driver::run(replica, machine, config, |r| {
        if let Report::MembersChanged { .. } = r {
            summary.names = Names::load(replica);
        }
        summary.record(r);
        report(r);
        if shown.progress {
            match progress_line(r, &summary.names) {
                Some(line) => note(&named(line)),
                None => detail(&named(format!("{r:?}"))),
            }
        }
    })
    .await
}

/// One line of progress for people, or nothing for reports that are too small to show.
fn progress_line(report: &Report, names: &Names) -> Option<String> {
    Some(match report {
        Report::Connected { relay } => format!("verbonden met {relay}"),
        // This organisation's own change, back from a relay: nothing new.
        Report::Applied { author, .. } if *author == names.me => return None,
        Report::Applied { doc, author, .. } => {
            format!("ontvangen: wijziging in {doc} van {}", names.of(author))
        }
        Report::Refused {
            relay,
            author,
            reason,
            ..
        } => format!(
            "GEWEIGERD: wijziging van {} via {relay}: {reason}",
            names.of(author)
        ),
        Report::Stored { relay, seq } => format!("verstuurd naar {relay} (positie {seq})"),
        Report::MembersChanged { operations } => {
            format!("ledenlijst bijgewerkt ({operations} wijziging(en))")
        }
        Report::KeysReceived { .. } => "nieuwe sleutel van de samenwerking ontvangen".to_string(),
        Report::RelayError {
            relay,
            code,
            message,
        } => format!("relay {relay}: {}: {message}", code.explanation()),
        Report::OperationDropped { message } => message.clone(),
        Report::Disconnected { relay, reason, .. } => {
            format!("verbinding met {relay} weg ({reason}); later opnieuw")
        }
        Report::Done { relay, cursor } => format!("klaar met {relay} (positie {cursor})"),
        Report::GaveUp { relay } => format!("{relay} niet bereikbaar; opgegeven voor nu"),
        Report::RelayLost { relay, documents } => format!(
            "{relay} mist wat het al had opgeslagen (opnieuw opgebouwd?); alles wordt opnieuw \
             gelezen en {documents} document(en) worden opnieuw verstuurd"
        ),
        Report::KeyPinned { relay, key } => {
            format!("relaysleutel van {relay} vastgelegd bij het eerste contact: {key}")
        }
        Report::RelayRefused { refusal, .. } => format!("GEWEIGERD: {refusal}"),
        Report::Untrusted { reason, .. } => format!("GEWEIGERD: {reason}"),
        Report::Removed => "deze organisatie is uit de samenwerking verwijderd".to_string(),
        Report::ParkedFull { relay, limit, .. } => parked_full(relay, *limit),
        // The relay's message just before says it all.
        Report::Finished | Report::CreateRefused { .. } => return None,
    })
}

/// The relays a run did not finish with, as a clause for a message.
fn unfinished(s: &SyncSummary) -> String {
    let relays: Vec<&String> = s
        .relays
        .iter()
        .filter(|r| !s.relays_done.contains(r))
        .collect();
    if relays.is_empty() {
        String::new()
    } else {
        format!(
            "; niet klaar met {}",
            relays
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn render(s: &SyncSummary) -> String {
    let state = if s.interrupted {
        "onderbroken"
    } else if s.complete() {
        "klaar"
    } else {
        "onvolledig"
    };
    let mut out = format!(
        "Synchronisatie {state}: {} wijziging(en) ontvangen, {} verstuurd.",
        s.applied, s.stored
    );
    if !s.relays_failed.is_empty() {
        out.push_str(&format!("\nNiet bereikt: {}.", s.relays_failed.join(", ")));
    }
    for reason in &s.untrusted {
        out.push_str(&format!("\nNiet vertrouwd: {reason}"));
    }
    if s.timed_out {
        out.push_str("\nDe tijd was om voordat alle relays klaar waren.");
    }
    if s.creation_refused {
        out.push_str(
            "\nDe eerste relay weigert de samenwerking aan te maken (zie de melding hierboven).",
        );
    }
    if s.stalled {
        out.push_str("\nNiet alles is opgehaald: te veel ontvangen wijzigingen wachten op eerdere wijzigingen die er nog niet zijn; een volgende synchronisatie haalt de rest.");
    }
    if s.queued > 0 {
        out.push_str(&format!(
            "\n{} lokale wijziging(en) wachten op de volgende synchronisatie.",
            s.queued
        ));
    }
    for r in &s.refused {
        out.push_str(&format!("\nGeweigerd: {r}"));
    }
    if let Some(fingerprint) = &s.awaiting_confirmation {
        out.push_str(&format!(
            "\nDeze organisatie wacht op bevestiging door een coördinator (vingerafdruk {fingerprint}); tot dan krijgt ze geen sleutels en kan ze niets lezen.\n{}",
            super::workspace::COMPARE_BY_PHONE
        ));
    }
    out
}
