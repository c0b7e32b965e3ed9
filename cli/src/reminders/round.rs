//! One round of reminder mail: what is due now, minus what was sent, as one digest per
//! recipient; recorded before it is sent and marked after, so each reminder goes out once.
//! `kompas herinneringen` runs one round; `kompas serve` runs one every few minutes.

use kompas_engine::runtime::{Flows, todo};
use kompas_engine::{Store, Timestamp};

use super::config::Config;
use super::digest::{self, Digest};
use super::ledger::{Ledger, Pending, recipient_key};
use super::mailer::{self, Mailer, SendError};
use crate::context::Opened;

/// One message of a round, as reported.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Shown {
    pub to: String,
    pub subject: String,
    pub reminders: usize,
    /// A digest recorded earlier that was not accepted then, sent again unchanged.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub again: bool,
    /// The text (only in a try-out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Why it was not sent, if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a round did (or, as a try-out, would do).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Outcome {
    /// Accepted by the server (in a try-out: what would be sent).
    pub sent: Vec<Shown>,
    /// Not accepted now; tried again in the next round.
    pub later: Vec<Shown>,
    /// Refused for good by the server; not tried again.
    pub refused: Vec<Shown>,
}

impl Outcome {
    /// Whether everything that was due went out.
    pub fn complete(&self) -> bool {
        self.later.is_empty() && self.refused.is_empty()
    }
}

/// Runs one round at `now` for every samenwerking of `all`, each with its own record of what
/// was sent (so exactly once per samenwerking) and, when the data directory has `several`,
/// named in its digests (also when the round covers one of them). A samenwerking whose round fails does not stop the others: the failures come back
/// beside what the others did, each naming its samenwerking.
pub fn run_every(
    all: &[&Opened],
    several: bool,
    config: &Config,
    now: Timestamp,
    try_out: bool,
) -> (Outcome, Vec<anyhow::Error>) {
    let mut outcome = Outcome::default();
    let mut failed = Vec::new();
    for opened in all {
        let label = crate::partnerships::label_of(&opened.replica);
        let named = several.then_some(label.as_str());
        match run(opened, named, config, now, try_out) {
            Ok(one) => {
                outcome.sent.extend(one.sent);
                outcome.later.extend(one.later);
                outcome.refused.extend(one.refused);
            }
            Err(e) => failed.push(e.context(format!("samenwerking {label}"))),
        }
    }
    (outcome, failed)
}

/// Runs one round at `now` for the samenwerking `opened` holds, named in the digests as
/// `samenwerking` when the data directory has several. With `try_out`, only says what would
/// be sent: nothing is sent or recorded.
pub fn run(
    opened: &Opened,
    samenwerking: Option<&str>,
    config: &Config,
    now: Timestamp,
    try_out: bool,
) -> anyhow::Result<Outcome> {
    let store = opened.replica.store();
    let ledger = Ledger::new(store);
    let waiting = ledger.pending()?;
    let fresh = compose(opened, samenwerking, config, &ledger, now)?;
    if try_out {
        let mut out = Outcome::default();
        out.sent
            .extend(waiting.iter().map(|p| shown(p, true, None)));
        for (pending, digest) in &fresh {
            let mut s = shown(pending, false, None);
            s.body = Some(digest.body.clone());
            out.sent.push(s);
        }
        return Ok(out);
    }
    if waiting.is_empty() && fresh.is_empty() {
        return Ok(Outcome::default());
    }
    let mailer = Mailer::new(&config.smtp)?;
    let fresh: Vec<Pending> = fresh.into_iter().map(|(p, _)| p).collect();
    // Recorded whole before anything is handed over: a crash from here on finds them again.
    ledger.intend(&fresh)?;
    let mut out = Outcome::default();
    let all = waiting
        .iter()
        .map(|p| (p, true))
        .chain(fresh.iter().map(|p| (p, false)));
    for (pending, again) in all {
        match mailer.send(pending) {
            Ok(()) => {
                ledger.finish(pending, now, None)?;
                out.sent.push(shown(pending, again, None));
            }
            Err(e @ SendError::Refused { .. }) => {
                let reason = e.to_string();
                ledger.finish(pending, now, Some(reason.clone()))?;
                out.refused.push(shown(pending, again, Some(reason)));
            }
            Err(e) => out.later.push(shown(pending, again, Some(e.to_string()))),
        }
    }
    Ok(out)
}

/// The new digests at `now`, as messages, each with the digest it came from.
fn compose<S: Store>(
    opened: &Opened,
    samenwerking: Option<&str>,
    config: &Config,
    ledger: &Ledger<'_, S>,
    now: Timestamp,
) -> anyhow::Result<Vec<(Pending, Digest)>> {
    let me = &opened.replica.identity().profile;
    let statuses = Flows::new(&opened.replica, &opened.registry).list(now)?;
    let items = digest::due(&todo(&statuses, &me.org_id, &me.name));
    let taken = ledger.taken()?;
    let from = digest::From {
        org: &me.name,
        samenwerking,
    };
    let digests = digest::digests(from, &items, &config.recipients, |to, key| {
        taken.contains(&(recipient_key(to.as_ref()), key.to_string()))
    });
    digests
        .into_iter()
        .map(|d| Ok((mailer::compose(&config.smtp, &d, now)?, d)))
        .collect()
}

fn shown(p: &Pending, again: bool, error: Option<String>) -> Shown {
    Shown {
        to: p.to.clone(),
        subject: p.subject.clone(),
        reminders: p.keys.len(),
        again,
        body: None,
        error,
    }
}
