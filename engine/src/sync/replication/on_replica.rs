//! The machine run on a replica: the driver's side of a [`Step`].
//!
//! [`Machine::react`] reads and writes nothing; this is where what it asks for is carried out
//! against the replica, in the order the machine's promises need: the state batch is written
//! durably before any effect is handed on (so nothing is acknowledged, or a cursor moved past
//! a bundle, before it is durable); received pieces are applied durably, a document at a time,
//! and their outcomes handed back; the local edits and snapshots it asks for are read here and
//! handed back as data. Both drivers (the command line's and the simulation's) go through this.

use std::collections::BTreeMap;

use super::entropy::Entropy;
use super::event::{Delivery, Effect, Event, LocalEdit, Step};
use super::machine::{Machine, SyncError};
use crate::document::DocId;
use crate::replica::{Incoming, Landed, Replica, ReplicaError};
use crate::store::{MetaBatch, Store};
use crate::time::Timestamp;

impl Machine {
    /// Handles one event against `replica` and returns the effects for the network, timers and
    /// reports, in order. Everything the machine asked to write or apply is durable before this
    /// returns, and the local edits it asked for are sealed. After an error, load the machine
    /// again: its state may be ahead of the store.
    pub fn handle<S: Store>(
        &mut self,
        replica: &Replica<S>,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        event: Event,
    ) -> Result<Vec<Effect>, SyncError> {
        let step = self.react(now, entropy, event)?;
        self.carry_out(replica, now, entropy, step)
    }

    /// Commits a step's batch and applies what it asked to have applied, handing the outcomes
    /// back until nothing more is asked; then answers the reads it asked for (each answer a
    /// step carried out the same way). Returns the effects of all of them, in order.
    fn carry_out<S: Store>(
        &mut self,
        replica: &Replica<S>,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        step: Step,
    ) -> Result<Vec<Effect>, SyncError> {
        let mut effects = Vec::new();
        let mut snapshots_for = Vec::new();
        let mut read_local_edits = false;
        let mut next = Some(step);
        while let Some(step) = next.take() {
            commit(replica, step.save.as_ref())?;
            effects.extend(step.effects);
            snapshots_for.extend(step.snapshots_for);
            read_local_edits |= step.read_local_edits;
            if !step.deliver.is_empty() {
                let landed = deliver(replica, step.deliver)?;
                next = Some(self.react(now, entropy, Event::Delivered(landed))?);
            }
        }
        for relay in snapshots_for {
            let docs = exports(replica)?.collect::<Result<Vec<_>, _>>()?;
            let next = self.react(now, entropy, Event::Snapshots { relay, docs })?;
            effects.extend(self.carry_out(replica, now, entropy, next)?);
        }
        if read_local_edits {
            effects.extend(self.seal_local_edits(replica, now, entropy)?);
        }
        Ok(effects)
    }

    /// Reads the own changes of every document marked as edited here and lets the machine seal
    /// them; the marks are cleared once the sealed bundles are durable (see
    /// [`Replica::take_local_edits`]).
    fn seal_local_edits<S: Store>(
        &mut self,
        replica: &Replica<S>,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<Vec<Effect>, SyncError> {
        if !self.can_seal() {
            // The marks stay until this organisation can seal (after it joined).
            return Ok(Vec::new());
        }
        let step = replica.take_local_edits(|docs| {
            let mut edits = Vec::new();
            for doc in docs {
                match replica.own_changes_since(doc, &self.sealed_since(doc)) {
                    Ok(own) if own.changes.is_empty() => {}
                    Ok(own) => edits.push(LocalEdit {
                        doc: doc.clone(),
                        changes: own.changes,
                        heads: own.heads,
                    }),
                    // Marked, then the process stopped before the document was first written.
                    Err(ReplicaError::NotFound(_)) => {}
                    Err(e) => return Err(SyncError::from(e)),
                }
            }
            if edits.is_empty() {
                return Ok(None);
            }
            // The batch that seals them is committed before the marks are cleared.
            let mut step = self.react(now, entropy, Event::LocalEdits(edits))?;
            commit(replica, step.save.take().as_ref())?;
            Ok(Some(step))
        })?;
        match step {
            Some(step) => self.carry_out(replica, now, entropy, step),
            None => Ok(Vec::new()),
        }
    }
}

/// Applies the pieces a step asked for, those of one document together and in their order,
/// all of them durable before this returns, and returns what became of each, in the order
/// asked.
fn deliver<S: Store>(
    replica: &Replica<S>,
    deliveries: Vec<Delivery>,
) -> Result<Vec<Landed>, SyncError> {
    let count = deliveries.len();
    let mut by_doc: BTreeMap<DocId, (Vec<usize>, Vec<Incoming>)> = BTreeMap::new();
    for (index, delivery) in deliveries.into_iter().enumerate() {
        let (indices, pieces) = by_doc.entry(delivery.doc).or_default();
        indices.push(index);
        pieces.push(delivery.incoming);
    }
    let mut landed: Vec<Option<Landed>> = vec![None; count];
    let mut indices = Vec::new();
    let mut docs = Vec::new();
    for (doc, (at, pieces)) in by_doc {
        indices.push(at);
        docs.push((doc, pieces));
    }
    let outcomes = replica.apply_received_all(docs)?;
    for (at, outcomes) in indices.into_iter().zip(outcomes) {
        for (index, outcome) in at.into_iter().zip(outcomes) {
            landed[index] = Some(outcome);
        }
    }
    // Every piece has its outcome: `apply_received` gives one per piece.
    Ok(landed
        .into_iter()
        .map(|l| l.unwrap_or(Landed::Waiting))
        .collect())
}

/// Every document of `replica` with its compact save, read one at a time as the iterator is
/// consumed.
pub(super) fn exports<S: Store>(
    replica: &Replica<S>,
) -> Result<impl Iterator<Item = Result<(DocId, Vec<u8>), SyncError>> + '_, SyncError> {
    let ids = replica.store().ids()?;
    Ok(ids
        .into_iter()
        .filter_map(|raw| DocId::parse(&raw).ok())
        .map(|doc| {
            let data = replica.export(&doc)?;
            Ok((doc, data))
        }))
}

/// Writes a step's state batch durably, if it has one.
fn commit<S: Store>(replica: &Replica<S>, save: Option<&MetaBatch>) -> Result<(), SyncError> {
    if let Some(batch) = save {
        replica.store().write_meta(batch)?;
    }
    Ok(())
}
