//! Exchanging raw Automerge changes with other replicas: what this organisation wrote since a
//! point, and applying what other organisations wrote.
//!
//! Applying does not consult the catalog: every replica must end up with the same documents from
//! the same changes, whatever kinds it happens to know. Changes whose dependencies have not
//! arrived yet are reported as waiting; the caller keeps them and applies them again later.

use automerge::ChangeHash;

use super::received::{checked, remote};
use super::{Replica, ReplicaError};
use crate::document::{self, DOCUMENT_BUDGET, DocId};
use crate::store::Store;

/// What applying remote bytes did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteApply {
    /// The document's heads moved.
    pub changed: bool,
    /// Some changes wait for dependencies this replica does not have yet.
    pub waiting: bool,
}

/// Changes written here that another replica may not have yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnChanges {
    /// The Automerge changes, each as one change chunk, in causal order (empty if none).
    pub changes: Vec<Vec<u8>>,
    /// The document's heads now: the `since` of the next call.
    pub heads: Vec<ChangeHash>,
}

impl<S: Store> Replica<S> {
    /// The changes made by this replica's actor that are not ancestors of `since`.
    pub fn own_changes_since(
        &self,
        id: &DocId,
        since: &[ChangeHash],
    ) -> Result<OwnChanges, ReplicaError> {
        let mut loaded = self.load(id)?;
        let actor = self.identity.actor_id()?;
        let heads = loaded.doc.get_heads();
        let known: Vec<ChangeHash> = since
            .iter()
            .filter(|h| loaded.doc.get_change_by_hash(h).is_some())
            .copied()
            .collect();
        let changes = loaded
            .doc
            .get_changes(&known)
            .into_iter()
            .filter(|change| *change.actor_id() == actor)
            .map(|mut change| change.bytes().into_owned())
            .collect();
        Ok(OwnChanges { changes, heads })
    }

    /// Applies a full save (or changes) received from another replica, durably. The
    /// document is not marked as locally edited: what arrives from a relay is there for the
    /// others already, so sync has nothing of it to send.
    ///
    /// The bytes are measured against the document budget before Automerge decodes them, and
    /// the document with them applied again before it is saved; a document past the budget is
    /// refused and nothing is written. Sync applies what it receives with
    /// [`Replica::apply_received`], a page at a time.
    pub fn apply_remote(&self, id: &DocId, data: &[u8]) -> Result<RemoteApply, ReplicaError> {
        document::measure(data, &DOCUMENT_BUDGET).map_err(|e| remote(id, e.to_string()))?;
        let mut loaded = self.load_or_new(id)?;
        loaded
            .doc
            .load_incremental(data)
            .map_err(|e| remote(id, e.to_string()))?;
        let waiting = !loaded.doc.get_missing_deps(&[]).is_empty();
        let changed = loaded.is_dirty();
        checked(&mut loaded)?;
        self.write(&mut loaded)?;
        Ok(RemoteApply { changed, waiting })
    }
}
