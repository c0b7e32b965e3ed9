//! Incoming bundles: keep the cursor contiguous, open, apply, park what has to wait, refuse the rest.

use super::documents::Documents;
use super::event::{Effect, Report};
use super::machine::{MAX_AHEAD, Machine, SyncError};
use super::queues::Parked;
use crate::document;
use crate::replica::ReplicaError;
use crate::seal::{OpenError, PayloadForm, open};
use crate::sync::wire::{Message, SealedBundle};

/// What became of one bundle.
enum Outcome {
    Applied(crate::document::DocId),
    /// A removed member's bundle whose content is here already (a copy from another relay).
    Copy,
    /// It has to wait for dependencies, keys or member-list operations that are not here yet.
    Parked,
    Refused(String),
}

/// At most this many bundles are parked (a bound on memory and state size); past it the cursor
/// stops before the next bundle that has to wait, which is read again once parked ones move.
pub(super) const MAX_PARKED: usize = 10_000;

impl Machine {
    /// Handles the bundle at `seq` from `relay`, keeping the cursor contiguous.
    pub(super) fn item(
        &mut self,
        docs: &dyn Documents,
        relay: &str,
        seq: u64,
        bundle: SealedBundle,
        out: &mut Vec<Effect>,
    ) -> Result<(), SyncError> {
        let cursor = self.cursor(relay);
        let Some(session) = self.links.get(relay).and_then(|l| l.session()) else {
            return Ok(());
        };
        if seq <= cursor || session.stalled {
            // Handled already, or reading waits for parked bundles to move (pulled again then).
            return Ok(());
        }
        if seq > cursor + 1 {
            let Some(link) = self.links.get_mut(relay).and_then(|l| l.session_mut()) else {
                return Ok(());
            };
            if link.ahead.len() < MAX_AHEAD {
                link.ahead.insert(seq, bundle);
            }
            if !link.pulling {
                link.pulling = true;
                out.push(Effect::send(
                    relay,
                    Message::Pull {
                        after: cursor,
                        limit: super::machine::PULL_LIMIT,
                    },
                ));
            }
            return Ok(());
        }
        self.handle_bundle(docs, relay, seq, bundle, out)?;
        loop {
            let next = self.cursor(relay) + 1;
            let Some(bundle) = self
                .links
                .get_mut(relay)
                .and_then(|l| l.session_mut())
                .and_then(|l| l.ahead.remove(&next))
            else {
                break;
            };
            self.handle_bundle(docs, relay, next, bundle, out)?;
        }
        Ok(())
    }

    fn handle_bundle(
        &mut self,
        docs: &dyn Documents,
        relay: &str,
        seq: u64,
        bundle: SealedBundle,
        out: &mut Vec<Effect>,
    ) -> Result<(), SyncError> {
        let author = bundle.author.org_id();
        let hash = bundle.hash();
        if self.applied.contains(&hash) {
            self.state.cursors.insert(relay.to_string(), seq);
            self.cursors_dirty = true;
            return Ok(());
        }
        match self.ingest(docs, &bundle)? {
            Outcome::Applied(doc) => {
                self.applied.insert(hash);
                out.push(Effect::Report(Report::Applied {
                    relay: relay.to_string(),
                    doc,
                    author,
                }));
                self.retry_parked(docs, relay, out)?;
            }
            Outcome::Copy => {
                self.applied.insert(hash);
            }
            Outcome::Parked => {
                if !self.state.parked.park(bundle, self.parked_limit) {
                    self.stall(relay, seq, out);
                    return Ok(());
                }
            }
            Outcome::Refused(reason) => out.push(Effect::Report(Report::Refused {
                relay: relay.to_string(),
                seq,
                author,
                reason,
            })),
        }
        self.state.cursors.insert(relay.to_string(), seq);
        self.cursors_dirty = true;
        Ok(())
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
                out.push(Effect::send(
                    &relay,
                    Message::Pull {
                        after: cursor,
                        limit: super::machine::PULL_LIMIT,
                    },
                ));
            }
        }
    }

    /// Opens and applies a bundle. Errors are store failures only; refusals are outcomes.
    fn ingest(
        &mut self,
        docs: &dyn Documents,
        bundle: &SealedBundle,
    ) -> Result<Outcome, SyncError> {
        if bundle.workspace != self.workspace {
            return Ok(Outcome::Refused(format!(
                "wijziging voor een andere samenwerking ({})",
                bundle.workspace
            )));
        }
        let payload = match open(bundle, &self.members, &self.state.ring) {
            Ok(payload) => payload,
            Err(OpenError::UnknownEpoch(_)) => return Ok(Outcome::Parked),
            Err(OpenError::NotAMember { .. })
                if self.members.is_stranger(&bundle.author)
                    || bundle.epoch > self.members.set().epoch() =>
            {
                return Ok(Outcome::Parked);
            }
            Err(e) => return Ok(Outcome::Refused(e.to_string())),
        };
        // Measured before anything decodes the changes: a bundle past the document budget is
        // refused without Automerge building it in memory.
        if let Err(e) = document::measure(&payload.data, &document::DOCUMENT_BUDGET) {
            return Ok(Outcome::Refused(format!("document {}: {e}", payload.doc)));
        }
        // Changes are decoded once here: the authorship check reads them and they are applied
        // as they are. They travel in their author's own bundles, so their notes must name the
        // sender; a snapshot carries everybody's changes and is checked by its seal alone.
        let changes = if payload.form == PayloadForm::Changes {
            let checked = document::parse_changes(&payload.data).and_then(|changes| {
                document::check_change_notes(&changes, &bundle.author.org_id())?;
                Ok(changes)
            });
            match checked {
                Ok(changes) => Some(changes),
                Err(reason) => return Ok(Outcome::Refused(reason)),
            }
        } else {
            None
        };
        // A removed member's bundle counts only under the removal's rule, whichever relay
        // brought it; a copy of one applied before is let through without effect.
        if let Some(removal) = self.members.set().removal(&bundle.author) {
            let held = self.state.authors.contains(&bundle.author, payload.seq);
            if held {
                let holds = match &changes {
                    Some(changes) => docs.holds_changes(&payload.doc, changes),
                    None => docs.holds_snapshot(&payload.doc, &payload.data),
                };
                match holds {
                    Ok(true) => return Ok(Outcome::Copy),
                    Ok(false) => {}
                    Err(e @ ReplicaError::Remote { .. }) => {
                        return Ok(Outcome::Refused(e.to_string()));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if let Err(e) = removal.admits(bundle.epoch, payload.seq, held) {
                return Ok(Outcome::Refused(format!(
                    "wijziging van verwijderd lid {} niet toegepast: {e}",
                    bundle.author.org_id()
                )));
            }
        }
        let applied = match changes {
            Some(changes) => docs.apply_changes(&payload.doc, changes),
            None => docs.apply_snapshot(&payload.doc, &payload.data),
        };
        match applied {
            Ok(applied) if applied.waiting => Ok(Outcome::Parked),
            Ok(_) => {
                self.state.record_author(&bundle.author, payload.seq);
                Ok(Outcome::Applied(payload.doc))
            }
            Err(e @ ReplicaError::Remote { .. }) => Ok(Outcome::Refused(e.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// Tries the parked bundles again until none of them moves any more.
    pub(super) fn retry_parked(
        &mut self,
        docs: &dyn Documents,
        relay: &str,
        out: &mut Vec<Effect>,
    ) -> Result<(), SyncError> {
        // Opening and applying never touch the parked bundles, so they are set aside for the
        // round and put back whatever happens.
        let mut parked = std::mem::take(&mut self.state.parked);
        let result = self.retry_rounds(docs, relay, &mut parked, out);
        self.state.parked = parked;
        result?;
        self.resume_stalled(out);
        Ok(())
    }

    fn retry_rounds(
        &mut self,
        docs: &dyn Documents,
        relay: &str,
        parked: &mut Parked,
        out: &mut Vec<Effect>,
    ) -> Result<(), SyncError> {
        loop {
            let mut progress = false;
            for seq in parked.positions() {
                let Some(bundle) = parked.get(seq) else {
                    continue;
                };
                let author = bundle.author.org_id();
                match self.ingest(docs, bundle)? {
                    Outcome::Parked => {}
                    Outcome::Copy => {
                        parked.unpark(seq);
                    }
                    Outcome::Applied(doc) => {
                        progress = true;
                        parked.unpark(seq);
                        out.push(Effect::Report(Report::Applied {
                            relay: relay.to_string(),
                            doc,
                            author,
                        }));
                    }
                    Outcome::Refused(reason) => {
                        parked.unpark(seq);
                        out.push(Effect::Report(Report::Refused {
                            relay: relay.to_string(),
                            seq: 0,
                            author,
                            reason,
                        }));
                    }
                }
            }
            if !progress {
                return Ok(());
            }
        }
    }
}
