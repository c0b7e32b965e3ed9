//! Incoming bundles: keep the cursor contiguous, open, have them applied, park what has to
//! wait, refuse the rest.
//!
//! The machine reads no document. Bundles a relay sends wait in its inbox until the event
//! that brought them is handled; then they are opened and checked in arrival order, and what
//! must go into documents is asked of the driver in one batch ([`Step::deliver`]). Only when
//! the outcomes are back ([`Event::Delivered`]) do cursors move, bundles park and reports go
//! out, in arrival order, so a process that stops in between reads the same bundles again.
//! Parked bundles are tried again the same way after anything was applied, and after keys or
//! members arrived.
//!
//! [`Step::deliver`]: super::event::Step::deliver
//! [`Event::Delivered`]: super::event::Event::Delivered

use std::collections::{BTreeMap, BTreeSet};

use super::event::{Delivery, Effect, Report};
use super::machine::{MAX_AHEAD, Machine, PULL_LIMIT};
use crate::document::{self, DocId};
use crate::replica::{Admit, Incoming, Landed, Received};
use crate::seal::{OpenError, PayloadForm, open};
use crate::sync::wire::{Hash32, Message, OrgKey, SealedBundle};

/// At most this many bundles are parked (a bound on memory and state size); past it the cursor
/// stops before the next bundle that has to wait, which is read again once parked ones move.
pub(super) const MAX_PARKED: usize = 10_000;

/// A batch takes received bundles until their opened content reaches this many bytes (the
/// rest waits in the inbox for the next batch): opened and decoded changes take memory while
/// they are out with the driver.
pub(super) const BATCH_BYTES: usize = 256 << 10;

/// What became of one bundle.
enum Outcome {
    Applied {
        doc: DocId,
        seq: u64,
    },
    /// Handled before (or earlier in the same batch): the cursor moves past it.
    Skip,
    /// A removed member's bundle whose content is here already (a copy from another relay).
    Copy,
    /// It has to wait for dependencies, keys or member-list operations that are not here yet.
    Parked,
    Refused(String),
}

/// What is known of a bundle before the documents are asked.
enum Prepared {
    Now(Outcome),
    /// It goes to a document with `incoming`.
    Deliver(Target, Incoming),
}

/// Where an opened bundle goes, and what its outcome is told from.
struct Target {
    doc: DocId,
    /// The author's number of the bundle.
    seq: u64,
    /// The reason given if its rule lets only a copy through and the document does not hold it.
    refusal: Option<String>,
}

/// Where a bundle in a batch came from.
enum Source {
    /// Read from `relay` at `seq`.
    Relay {
        relay: String,
        seq: u64,
        bundle: SealedBundle,
    },
    /// Parked at `position`; retried after something arrived from `relay`.
    Parked { position: u64, relay: String },
}

/// One bundle of a batch, in arrival order.
pub(super) struct Entry {
    source: Source,
    hash: Hash32,
    author: OrgKey,
    plan: Plan,
}

enum Plan {
    /// Known without the documents.
    Now(Outcome),
    /// Handed to the driver as delivery `index`.
    Deliver { index: usize, target: Target },
}

/// A batch being put together.
#[derive(Default)]
struct Batch {
    entries: Vec<Entry>,
    deliveries: Vec<Delivery>,
    hashes: BTreeSet<Hash32>,
    /// The bytes of what the deliveries carry.
    bytes: usize,
}

impl Batch {
    fn push(&mut self, source: Source, hash: Hash32, author: OrgKey, prepared: Prepared) {
        let plan = match prepared {
            Prepared::Now(outcome) => Plan::Now(outcome),
            Prepared::Deliver(target, incoming) => {
                self.hashes.insert(hash);
                self.bytes += match &incoming.content {
                    Received::Changes(changes) => changes.iter().map(|c| c.raw_bytes().len()).sum(),
                    Received::Save(data) => data.len(),
                };
                self.deliveries.push(Delivery {
                    doc: target.doc.clone(),
                    incoming,
                });
                Plan::Deliver {
                    index: self.deliveries.len() - 1,
                    target,
                }
            }
        };
        self.entries.push(Entry {
            source,
            hash,
            author,
            plan,
        });
    }
}

impl Machine {
    /// A bundle `relay` sent at `seq`: handled once the event that brought it is.
    pub(super) fn item(&mut self, relay: &str, seq: u64, bundle: SealedBundle) {
        self.inbox.push_back((relay.to_string(), seq, bundle));
    }

    /// A page of bundles from `relay` was received (into the inbox); once it is handled, the
    /// next page is asked for, or the relay counts as caught up.
    pub(super) fn page_received(&mut self, relay: &str, more: bool) {
        self.page_ends.push((relay.to_string(), more));
    }

    /// Plans what the inbox and the parked bundles need, unless a batch is out with the driver
    /// already: returns the pieces to apply (none once everything is handled).
    pub(super) fn ingest(&mut self, out: &mut Vec<Effect>) -> Vec<Delivery> {
        if self.in_flight.is_some() {
            return Vec::new();
        }
        loop {
            let mut batch = Batch::default();
            if let Some(relay) = self.retry.take() {
                self.plan_retry(relay, &mut batch);
            } else if !self.inbox.is_empty() {
                self.plan_inbox(&mut batch, out);
            } else {
                break;
            }
            if batch.deliveries.is_empty() {
                self.finish(batch.entries, Vec::new(), out);
            } else {
                self.in_flight = Some(batch.entries);
                return batch.deliveries;
            }
        }
        self.settle_pages(out);
        Vec::new()
    }

    /// The driver applied the last batch: what became of each piece.
    pub(super) fn delivered(&mut self, landed: Vec<Landed>, out: &mut Vec<Effect>) {
        if let Some(entries) = self.in_flight.take() {
            self.finish(entries, landed, out);
        }
    }

    fn plan_retry(&mut self, relay: String, batch: &mut Batch) {
        for position in self.state.parked.positions() {
            let Some(bundle) = self.state.parked.get(position) else {
                continue;
            };
            let (hash, author) = (bundle.hash(), bundle.author);
            let prepared = self.prepare(bundle);
            let source = Source::Parked {
                position,
                relay: relay.clone(),
            };
            batch.push(source, hash, author, prepared);
        }
    }

    /// Takes the inbox in arrival order, keeping each relay's bundles contiguous: a bundle
    /// beyond a gap waits (and the gap is pulled), one handled before is let go. Stops once
    /// the batch holds [`BATCH_BYTES`] (`batch_bytes`).
    fn plan_inbox(&mut self, batch: &mut Batch, out: &mut Vec<Effect>) {
        // Where each relay's cursor will be once the batch is handled.
        let mut reached: BTreeMap<String, u64> = BTreeMap::new();
        while batch.bytes < self.batch_bytes
            && let Some((relay, seq, bundle)) = self.inbox.pop_front()
        {
            let cursor = match reached.get(&relay) {
                Some(cursor) => *cursor,
                None => self.cursor(&relay),
            };
            let Some(session) = self.links.get_mut(&relay).and_then(|l| l.session_mut()) else {
                continue;
            };
            if seq <= cursor || session.stalled {
                // Handled already, or reading waits for parked bundles to move (pulled again then).
                continue;
            }
            if seq > cursor + 1 {
                if session.ahead.len() < MAX_AHEAD {
                    session.ahead.insert(seq, bundle);
                }
                if !session.pulling {
                    session.pulling = true;
                    out.push(pull(&relay, cursor));
                }
                continue;
            }
            self.plan_bundle(&relay, seq, bundle, batch);
            let mut last = seq;
            while let Some(next) = self
                .links
                .get_mut(&relay)
                .and_then(|l| l.session_mut())
                .and_then(|s| s.ahead.remove(&(last + 1)))
            {
                last += 1;
                self.plan_bundle(&relay, last, next, batch);
            }
            reached.insert(relay, last);
        }
    }

    fn plan_bundle(&mut self, relay: &str, seq: u64, bundle: SealedBundle, batch: &mut Batch) {
        let hash = bundle.hash();
        let prepared = if self.applied.contains(&hash) || batch.hashes.contains(&hash) {
            Prepared::Now(Outcome::Skip)
        } else {
            self.prepare(&bundle)
        };
        let author = bundle.author;
        let source = Source::Relay {
            relay: relay.to_string(),
            seq,
            bundle,
        };
        batch.push(source, hash, author, prepared);
    }

    /// Opens and checks a bundle: refused or parked now, or to be applied to its document.
    fn prepare(&self, bundle: &SealedBundle) -> Prepared {
        let refuse = |reason| Prepared::Now(Outcome::Refused(reason));
        if bundle.workspace != self.workspace {
            return refuse(format!(
                "wijziging voor een andere samenwerking ({})",
                bundle.workspace
            ));
        }
        let payload = match open(bundle, &self.members, &self.state.ring) {
            Ok(payload) => payload,
            Err(OpenError::UnknownEpoch(_)) => return Prepared::Now(Outcome::Parked),
            Err(OpenError::NotAMember { .. })
                if self.members.is_stranger(&bundle.author)
                    || bundle.epoch > self.members.set().epoch() =>
            {
                return Prepared::Now(Outcome::Parked);
            }
            Err(e) => return refuse(e.to_string()),
        };
        // Measured before anything decodes the changes: a bundle past the document budget is
        // refused without Automerge building it in memory.
        if let Err(e) = document::measure(&payload.data, &document::DOCUMENT_BUDGET) {
            return refuse(format!("document {}: {e}", payload.doc));
        }
        // Changes are decoded once here: the authorship check reads them and they are applied
        // as they are. They travel in their author's own bundles, so their notes must name the
        // sender; a snapshot carries everybody's changes and is checked by its seal alone.
        let content = if payload.form == PayloadForm::Changes {
            let checked = document::parse_changes(&payload.data).and_then(|changes| {
                document::check_change_notes(&changes, &bundle.author.org_id())?;
                Ok(changes)
            });
            match checked {
                Ok(changes) => Received::Changes(changes),
                Err(reason) => return refuse(reason),
            }
        } else {
            Received::Save(payload.data)
        };
        // A removed member's bundle counts only under the removal's rule, whichever relay
        // brought it; a copy of one applied before is let through without effect.
        let mut admit = Admit::Always;
        let mut refusal = None;
        if let Some(removal) = self.members.set().removal(&bundle.author) {
            let held = self.state.authors.contains(&bundle.author, payload.seq);
            let admitted = removal
                .admits(bundle.epoch, payload.seq, held)
                .map_err(|e| {
                    format!(
                        "wijziging van verwijderd lid {} niet toegepast: {e}",
                        bundle.author.org_id()
                    )
                });
            match (held, admitted) {
                (true, Ok(())) => admit = Admit::UnlessHeld,
                (true, Err(reason)) => {
                    admit = Admit::OnlyIfHeld;
                    refusal = Some(reason);
                }
                (false, Ok(())) => {}
                (false, Err(reason)) => return refuse(reason),
            }
        }
        let target = Target {
            doc: payload.doc,
            seq: payload.seq,
            refusal,
        };
        Prepared::Deliver(target, Incoming { content, admit })
    }

    /// Settles a batch in arrival order: cursors, parking, reports; then asks for the parked
    /// bundles to be tried again if anything went in.
    fn finish(&mut self, entries: Vec<Entry>, landed: Vec<Landed>, out: &mut Vec<Effect>) {
        let mut landed: Vec<Option<Landed>> = landed.into_iter().map(Some).collect();
        // Relays whose cursor stopped in this batch: the rest of what they sent is read again.
        let mut stalled: BTreeSet<String> = BTreeSet::new();
        let mut progress: Option<String> = None;
        let mut retried = false;
        for Entry {
            source,
            hash,
            author,
            plan,
        } in entries
        {
            let outcome = match plan {
                Plan::Now(outcome) => outcome,
                Plan::Deliver {
                    index,
                    target: Target { doc, seq, refusal },
                } => match landed.get_mut(index).and_then(Option::take) {
                    Some(Landed::Applied) => Outcome::Applied { doc, seq },
                    // An outcome the driver did not give counts as waiting: tried again later.
                    Some(Landed::Waiting) | None => Outcome::Parked,
                    Some(Landed::Held) => Outcome::Copy,
                    Some(Landed::NotHeld) => Outcome::Refused(refusal.unwrap_or_default()),
                    Some(Landed::Refused(reason)) => Outcome::Refused(reason),
                },
            };
            match &outcome {
                Outcome::Applied { seq, .. } => {
                    self.applied.insert(hash);
                    self.state.record_author(&author, *seq);
                }
                Outcome::Copy => {
                    self.applied.insert(hash);
                }
                _ => {}
            }
            let relay = match &source {
                Source::Relay { relay, .. } | Source::Parked { relay, .. } => relay.clone(),
            };
            if let Outcome::Applied { doc, .. } = &outcome {
                progress = Some(relay.clone());
                out.push(Effect::Report(Report::Applied {
                    relay: relay.clone(),
                    doc: doc.clone(),
                    author: author.org_id(),
                }));
            }
            match source {
                Source::Relay { relay, seq, bundle } => {
                    if stalled.contains(&relay) {
                        continue;
                    }
                    match outcome {
                        Outcome::Parked => {
                            if !self.state.parked.park(bundle, self.parked_limit) {
                                self.stall(&relay, seq, out);
                                stalled.insert(relay);
                                continue;
                            }
                        }
                        Outcome::Refused(reason) => out.push(Effect::Report(Report::Refused {
                            relay: relay.clone(),
                            seq,
                            author: author.org_id(),
                            reason,
                        })),
                        Outcome::Applied { .. } | Outcome::Skip | Outcome::Copy => {}
                    }
                    self.state.cursors.insert(relay, seq);
                    self.cursors_dirty = true;
                }
                Source::Parked { position, relay } => {
                    retried = true;
                    match outcome {
                        Outcome::Parked => {}
                        Outcome::Refused(reason) => {
                            self.state.parked.unpark(position);
                            out.push(Effect::Report(Report::Refused {
                                relay,
                                seq: 0,
                                author: author.org_id(),
                                reason,
                            }));
                        }
                        Outcome::Applied { .. } | Outcome::Skip | Outcome::Copy => {
                            self.state.parked.unpark(position);
                        }
                    }
                }
            }
        }
        match progress {
            Some(relay) if !self.state.parked.is_empty() => self.retry = Some(relay),
            Some(_) => self.resume_stalled(out),
            None if retried => self.resume_stalled(out),
            None => {}
        }
    }

    /// No more bundles can be parked: the cursor of `relay` stays before `seq`, and what
    /// arrived beyond it is let go (it is pulled again once parked bundles move).
    fn stall(&mut self, relay: &str, seq: u64, out: &mut Vec<Effect>) {
        if let Some(link) = self.links.get_mut(relay).and_then(|l| l.session_mut()) {
            link.stalled = true;
            link.ahead.clear();
        }
        out.push(Effect::Report(Report::ParkedFull {
            relay: relay.to_string(),
            seq,
            limit: self.parked_limit,
        }));
    }

    /// Once parked bundles moved and there is room again, reading resumes at the cursor of
    /// every relay that stopped.
    fn resume_stalled(&mut self, out: &mut Vec<Effect>) {
        if self.state.parked.len() >= self.parked_limit {
            return;
        }
        let cursors: Vec<(String, u64)> = self
            .links
            .iter()
            .filter(|(_, l)| l.session().is_some_and(|s| s.stalled))
            .map(|(r, _)| (r.clone(), self.cursor(r)))
            .collect();
        for (relay, cursor) in cursors {
            let Some(link) = self.links.get_mut(&relay).and_then(|l| l.session_mut()) else {
                continue;
            };
            link.stalled = false;
            link.caught_up = false;
            if link.requested && !link.pulling {
                link.pulling = true;
                out.push(pull(&relay, cursor));
            }
        }
    }

    /// Every page received is handled: ask each relay for its next page, or count it as
    /// caught up.
    fn settle_pages(&mut self, out: &mut Vec<Effect>) {
        for (relay, more) in std::mem::take(&mut self.page_ends) {
            let cursor = self.cursor(&relay);
            let Some(link) = self.links.get_mut(&relay).and_then(|l| l.session_mut()) else {
                continue;
            };
            if link.stalled {
                // Nothing more is read until parked bundles move.
                link.caught_up = true;
            } else if more && cursor < link.relay_head {
                link.pulling = true;
                out.push(pull(&relay, cursor));
            } else if !link.pulling {
                link.caught_up = cursor >= link.relay_head || !more;
            }
        }
    }
}

/// Asks `relay` for the next page of bundles after `after`.
fn pull(relay: &str, after: u64) -> Effect {
    Effect::send(
        relay,
        Message::Pull {
            after,
            limit: PULL_LIMIT,
        },
    )
}
