//! `kompas sync [--watch]`: exchange changes with every relay of the workspace, with progress.

use std::time::Duration;

use kompas_engine::sync::replication::{Machine, Mode, Report, SyncError};
use kompas_engine::{Replica, Store};

use crate::args::{Global, SyncArgs};
use crate::context::open_global;
use crate::driver::{self, DriverConfig, Ending};
use crate::exit::Refused;
use crate::output::emit;

/// How long a one-off sync may take by default.
const ONCE_LIMIT: Duration = Duration::from_secs(60);
/// How often a watching sync looks for local edits.
const SCAN_EVERY: Duration = Duration::from_millis(500);

/// What a sync run did.
#[derive(Debug, Default, serde::Serialize)]
pub struct SyncSummary {
    /// Documents that received changes.
    pub applied: usize,
    /// Bundles the relays stored for this organisation.
    pub stored: usize,
    /// Refused bundles, each with its reason.
    pub refused: Vec<String>,
    /// Relays that completed.
    pub relays_done: Vec<String>,
    /// Relays that could not be reached or refused.
    pub relays_failed: Vec<String>,
    /// Problems relays reported.
    pub problems: Vec<String>,
    /// Local changes still waiting for a relay.
    pub queued: usize,
    /// This organisation was removed from the workspace.
    pub removed: bool,
    /// The time limit passed before every relay was done.
    pub timed_out: bool,
}

impl SyncSummary {
    fn record(&mut self, report: &Report) {
        match report {
            Report::Applied { .. } => self.applied += 1,
            Report::Stored { .. } => self.stored += 1,
            Report::Refused { reason, .. } => self.refused.push(reason.clone()),
            Report::Done { relay, .. } => self.relays_done.push(relay.clone()),
            Report::GaveUp { relay } => self.relays_failed.push(relay.clone()),
            Report::RelayError { relay, message, .. } => {
                self.problems.push(format!("{relay}: {message}"))
            }
            Report::Removed => self.removed = true,
            Report::OperationDropped { message } => self.problems.push(message.clone()),
            _ => {}
        }
    }

    /// Whether every relay completed.
    pub fn complete(&self) -> bool {
        self.relays_failed.is_empty() && !self.timed_out && !self.removed
    }
}

pub fn run(global: &Global, args: SyncArgs) -> anyhow::Result<()> {
    let opened = open_global(global)?;
    let replica = &opened.replica;
    let mode = if args.watch { Mode::Watch } else { Mode::Once };
    let mut machine = Machine::load(replica, mode)?.ok_or(SyncError::NoWorkspace)?;
    let limit = match (args.timeout, args.watch) {
        (Some(secs), _) => Some(Duration::from_secs(secs)),
        (None, false) => Some(ONCE_LIMIT),
        (None, true) => None,
    };
    if args.watch && !global.json {
        eprintln!("kompas sync --watch: verbonden blijven; stoppen met Ctrl-C.");
    }
    let summary = drive(replica, &mut machine, limit, !global.json)?;
    emit(global.json, &summary, render)?;
    if summary.removed {
        return Err(Refused::sync(
            "deze organisatie is uit de samenwerking verwijderd",
        ));
    }
    if !args.watch && !summary.complete() {
        return Err(Refused::sync(format!(
            "synchronisatie onvolledig; {} lokale wijziging(en) wachten op de volgende keer",
            summary.queued
        )));
    }
    Ok(())
}

/// Runs the machine against its relays until it is done, the limit passes or Ctrl-C.
pub fn drive<S: Store>(
    replica: &Replica<S>,
    machine: &mut Machine,
    limit: Option<Duration>,
    progress: bool,
) -> anyhow::Result<SyncSummary> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut summary = SyncSummary::default();
    let config = DriverConfig {
        limit,
        scan_every: SCAN_EVERY,
    };
    let ending = runtime.block_on(async {
        tokio::select! {
            ending = driver::run(replica, machine, config, |report| {
                summary.record(report);
                if progress && let Some(line) = progress_line(report) {
                    eprintln!("{line}");
                }
            }) => ending.map(Some),
            _ = tokio::signal::ctrl_c() => Ok(None),
        }
    })?;
    summary.timed_out = ending == Some(Ending::TimedOut);
    summary.queued = machine.queued();
    Ok(summary)
}

/// One line of progress for people, or nothing for reports that are too small to show.
fn progress_line(report: &Report) -> Option<String> {
    Some(match report {
        Report::Connected { relay } => format!("verbonden met {relay}"),
        Report::Applied { doc, author, .. } => {
            format!("ontvangen: wijziging in {doc} van organisatie {author}")
        }
        Report::Refused {
            relay,
            author,
            reason,
            ..
        } => format!("GEWEIGERD van {author} via {relay}: {reason}"),
        Report::Stored { relay, seq } => format!("verstuurd naar {relay} (positie {seq})"),
        Report::MembersChanged { operations } => {
            format!("ledenlijst bijgewerkt ({operations} wijziging(en))")
        }
        Report::KeysReceived { epoch } => format!("nieuwe sleutel ontvangen (tijdvak {epoch})"),
        Report::RelayError { relay, message, .. } => format!("relay {relay}: {message}"),
        Report::OperationDropped { message } => message.clone(),
        Report::Disconnected { relay, reason, .. } => {
            format!("verbinding met {relay} weg ({reason}); later opnieuw")
        }
        Report::Done { relay, cursor } => format!("klaar met {relay} (positie {cursor})"),
        Report::GaveUp { relay } => format!("{relay} niet bereikbaar; opgegeven voor nu"),
        Report::Removed => "deze organisatie is uit de samenwerking verwijderd".to_string(),
        Report::Finished => return None,
    })
}

fn render(s: &SyncSummary) -> String {
    let mut out = format!(
        "Synchronisatie {}: {} wijziging(en) ontvangen, {} verstuurd.",
        if s.complete() { "klaar" } else { "onvolledig" },
        s.applied,
        s.stored
    );
    if !s.relays_failed.is_empty() {
        out.push_str(&format!("\nNiet bereikt: {}.", s.relays_failed.join(", ")));
    }
    if s.timed_out {
        out.push_str("\nDe tijd was om voordat alle relays klaar waren.");
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
    out
}
