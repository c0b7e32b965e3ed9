//! Outgoing bundles: sealing what this organisation wrote, and full snapshots for catch-up.

use crate::sync::wire::Encoded;
use std::collections::BTreeSet;

use automerge::ChangeHash;

use super::entropy::{Entropy, random};
use super::machine::{Machine, SyncError};
use super::state::Outgoing;
use crate::document::DocId;
use crate::replica::{Replica, ReplicaError};
use crate::seal::{Payload, PayloadForm, seal};
use crate::store::Store;
use crate::sync::wire::Hash32;

impl Machine {
    /// Seals the own changes of every document that was edited here since it was last sealed;
    /// returns how many bundles. Only documents the replica marked as locally edited are read
    /// (see [`Replica::take_local_edits`]); their marks are cleared once the bundles and the
    /// heads they were sealed at are durable in the state, so a crash before that leaves the
    /// marks for the next run.
    pub(super) fn seal_local<S: Store>(
        &mut self,
        replica: &Replica<S>,
        entropy: &mut dyn Entropy,
    ) -> Result<usize, SyncError> {
        if self.state.ring.is_empty() || !self.tip.set().is_member(&self.me) {
            // The marks stay until this organisation can seal (after it joined).
            return Ok(0);
        }
        replica.take_local_edits(|docs| {
            let mut sealed = 0;
            for doc in docs {
                sealed += self.seal_doc(replica, doc, entropy)?;
            }
            if sealed > 0 {
                self.persist(replica)?;
            }
            Ok(sealed)
        })
    }

    /// Seals one document's own changes since the heads it was last sealed at.
    fn seal_doc<S: Store>(
        &mut self,
        replica: &Replica<S>,
        doc: &DocId,
        entropy: &mut dyn Entropy,
    ) -> Result<usize, SyncError> {
        let since: Vec<ChangeHash> = self
            .state
            .sealed_at
            .get(doc)
            .map(|hs| hs.iter().filter_map(|h| h.parse().ok()).collect())
            .unwrap_or_default();
        let own = match replica.own_changes_since(doc, &since) {
            Ok(own) => own,
            // Marked, then the process stopped before the document was first written.
            Err(ReplicaError::NotFound(_)) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        if own.changes.is_empty() {
            return Ok(0);
        }
        let mut sealed = 0;
        // Concatenated change chunks load as one; large runs are split over several bundles
        // so each stays well below the relay's bundle limit.
        for part in batches(own.changes, BUNDLE_BUDGET) {
            let payload = Payload {
                doc: doc.clone(),
                form: PayloadForm::Changes,
                data: part,
                seq: 0,
            };
            self.enqueue(payload, self.all_relays(), entropy)?;
            sealed += 1;
        }
        self.state.sealed_at.insert(
            doc.clone(),
            own.heads.iter().map(|h| h.to_string()).collect(),
        );
        Ok(sealed)
    }

    /// Seals a full snapshot of every document for `relays` (new members and new relays catch
    /// up from these instead of from every change ever made). Returns how many were sealed and
    /// how many documents were too large for a snapshot bundle.
    pub(super) fn enqueue_snapshots<S: Store>(
        &mut self,
        replica: &Replica<S>,
        relays: BTreeSet<String>,
        entropy: &mut dyn Entropy,
    ) -> Result<(usize, usize), SyncError> {
        let mut count = 0;
        let mut too_large = 0;
        for raw in replica.store().ids()? {
            let Ok(doc) = DocId::parse(&raw) else {
                continue;
            };
            let data = replica.export(&doc)?;
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
        let bytes = bundle.to_bytes();
        self.state.outbox.push(Outgoing {
            hash: Hash32::of(&bytes).to_string(),
            bundle: bytes,
            waiting_for: relays,
        });
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
