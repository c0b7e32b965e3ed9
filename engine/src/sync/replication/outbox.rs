//! Outgoing bundles: sealing what this organisation wrote, and full snapshots for catch-up.

use std::collections::BTreeSet;

use automerge::ChangeHash;

use super::entropy::{Entropy, random};
use super::event::LocalEdit;
use super::machine::{Machine, SyncError};
use super::state::Outgoing;
use crate::document::DocId;
use crate::seal::{Payload, PayloadForm, seal};

impl Machine {
    /// Whether this organisation can seal now: it holds a workspace key and is a member. Until
    /// then the local edits stay marked (a joiner seals them once it is in).
    pub fn can_seal(&self) -> bool {
        !self.state.ring.is_empty() && self.tip.set().is_member(&self.me)
    }

    /// The heads `doc` was last sealed at: its own changes since these are what is new.
    pub fn sealed_since(&self, doc: &DocId) -> Vec<ChangeHash> {
        self.state.sealed_at.get(doc).cloned().unwrap_or_default()
    }

    /// Seals the own changes the driver read for each locally edited document; returns how
    /// many bundles. The driver clears the documents' marks only once the step's state batch
    /// (the bundles and the heads they were sealed at) is durable, so a crash before that
    /// leaves the marks for the next run.
    pub(super) fn seal_edits(
        &mut self,
        edits: Vec<LocalEdit>,
        entropy: &mut dyn Entropy,
    ) -> Result<usize, SyncError> {
        if !self.can_seal() {
            return Ok(0);
        }
        let mut sealed = 0;
        for edit in edits {
            if edit.changes.is_empty() {
                continue;
            }
            // Concatenated change chunks load as one; large runs are split over several bundles
            // so each stays well below the relay's bundle limit.
            for part in batches(edit.changes, BUNDLE_BUDGET) {
                let payload = Payload {
                    doc: edit.doc.clone(),
                    form: PayloadForm::Changes,
                    data: part,
                    seq: 0,
                };
                self.enqueue(payload, self.all_relays(), entropy)?;
                sealed += 1;
            }
            self.state.sealed_at.insert(edit.doc, edit.heads);
        }
        Ok(sealed)
    }

    /// Seals a full snapshot of each document in `docs` (its id and its compact save, as the
    /// driver reads them) for `relays`: new members and new relays catch up from these instead
    /// of from every change ever made. Returns how many were sealed and how many documents
    /// were too large for a snapshot bundle.
    pub(super) fn enqueue_snapshots(
        &mut self,
        docs: impl IntoIterator<Item = Result<(DocId, Vec<u8>), SyncError>>,
        relays: BTreeSet<String>,
        entropy: &mut dyn Entropy,
    ) -> Result<(usize, usize), SyncError> {
        let mut count = 0;
        let mut too_large = 0;
        for doc in docs {
            let (doc, data) = doc?;
            if data.len() > BUNDLE_BUDGET {
                // Too large for one bundle: newcomers read this document's changes instead.
                too_large += 1;
                continue;
            }
            let payload = Payload {
                doc,
                form: PayloadForm::Snapshot,
                data,
                seq: 0,
            };
            self.enqueue(payload, relays.clone(), entropy)?;
            count += 1;
        }
        Ok((count, too_large))
    }

    /// Seals `payload` under this organisation's next sequence number and queues it.
    fn enqueue(
        &mut self,
        mut payload: Payload,
        relays: BTreeSet<String>,
        entropy: &mut dyn Entropy,
    ) -> Result<(), SyncError> {
        payload.seq = self.state.authors.highest(&self.me) + 1;
        let bundle = seal(
            &self.signing,
            self.workspace,
            &self.state.ring,
            &payload,
            random(entropy),
        )?;
        self.state.record_author(&self.me, payload.seq);
        self.state.outbox.push(Outgoing::new(bundle, relays));
        Ok(())
    }

    pub(super) fn all_relays(&self) -> BTreeSet<String> {
        self.state.relays.iter().cloned().collect()
    }
}

/// The most payload bytes one bundle carries.
pub(super) const BUNDLE_BUDGET: usize = 1024 * 1024;

/// Groups change chunks into runs of at most `budget` bytes (a larger single change stays alone).
fn batches(changes: Vec<Vec<u8>>, budget: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for change in changes {
        match out.last_mut() {
            Some(last) if last.len() + change.len() <= budget => last.extend_from_slice(&change),
            _ => out.push(change),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::batches;

    #[test]
    fn changes_are_grouped_under_the_budget_in_order() {
        let parts = batches(vec![vec![1; 4], vec![2; 4], vec![3; 9], vec![4; 1]], 8);
        assert_eq!(
            parts,
            vec![[vec![1; 4], vec![2; 4]].concat(), vec![3; 9], vec![4; 1]]
        );
        assert!(batches(Vec::new(), 8).is_empty());
    }
}
