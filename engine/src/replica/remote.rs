//! Exchanging raw Automerge changes with other replicas: what this organisation wrote since a
//! point, and applying what other organisations wrote.
//!
//! Applying does not consult the catalog: every replica must end up with the same documents from
//! the same changes, whatever kinds it happens to know. Changes whose dependencies have not
//! arrived yet are reported as waiting; the caller keeps them and applies them again later.

use automerge::{AutoCommit, ChangeHash};

use super::{LoadedDoc, Replica, ReplicaError};
use crate::document::{self, DOCUMENT_BUDGET, DocId, Size};
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

    /// Applies Automerge changes or a full save received from another replica, durably. The
    /// document is not marked as locally edited: what arrives from a relay is there for the
    /// others already, so sync has nothing of it to send.
    ///
    /// The bytes are measured against the document budget before Automerge decodes them, and
    /// the document with them applied again before it is saved; a document past the budget is
    /// refused and nothing is written.
    pub fn apply_remote(&self, id: &DocId, data: &[u8]) -> Result<RemoteApply, ReplicaError> {
        document::measure(data, &DOCUMENT_BUDGET).map_err(|e| remote(id, e.to_string()))?;
        self.apply_remote_with(id, |doc| doc.load_incremental(data).map(|_| ()))
    }

    /// Applies changes another replica wrote, decoded once by the caller (after it measured
    /// their bytes against the document budget, see [`document::measure`]); otherwise as
    /// [`Replica::apply_remote`].
    pub fn apply_remote_changes(
        &self,
        id: &DocId,
        changes: Vec<automerge::Change>,
    ) -> Result<RemoteApply, ReplicaError> {
        self.apply_remote_with(id, |doc| doc.apply_changes(changes))
    }

    fn apply_remote_with(
        &self,
        id: &DocId,
        apply: impl FnOnce(&mut AutoCommit) -> Result<(), automerge::AutomergeError>,
    ) -> Result<RemoteApply, ReplicaError> {
        let mut loaded = match self.load(id) {
            Ok(loaded) => loaded,
            Err(ReplicaError::NotFound(_)) => LoadedDoc {
                id: id.clone(),
                doc: AutoCommit::new().with_actor(self.identity.actor_id()?),
                saved_heads: Vec::new(),
            },
            Err(e) => return Err(e),
        };
        apply(&mut loaded.doc).map_err(|e| remote(id, e.to_string()))?;
        let waiting = !loaded.doc.get_missing_deps(&[]).is_empty();
        let changed = loaded.is_dirty();
        if changed {
            Size::of(&loaded.doc)
                .check(&DOCUMENT_BUDGET)
                .map_err(|e| remote(id, e.to_string()))?;
            if let Ok(view) = document::read_view(&mut loaded.doc)
                && view.id != *id
            {
                return Err(remote(
                    id,
                    format!("de inhoud hoort bij document {}", view.id),
                ));
            }
            self.write(&mut loaded)?;
        }
        Ok(RemoteApply { changed, waiting })
    }

    /// Whether every one of `changes` is in the document as stored here already. Nothing is
    /// written.
    pub fn holds_remote_changes(
        &self,
        id: &DocId,
        changes: &[automerge::Change],
    ) -> Result<bool, ReplicaError> {
        let mut loaded = match self.load(id) {
            Ok(loaded) => loaded,
            Err(ReplicaError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        Ok(changes
            .iter()
            .all(|change| loaded.doc.get_change_by_hash(&change.hash()).is_some()))
    }

    /// Whether `data` (changes or a full save) would add nothing to the document as stored
    /// here: neither new changes nor new ones waiting for their dependencies. Nothing is written.
    pub fn holds_remote(&self, id: &DocId, data: &[u8]) -> Result<bool, ReplicaError> {
        document::measure(data, &DOCUMENT_BUDGET).map_err(|e| remote(id, e.to_string()))?;
        let mut loaded = match self.load(id) {
            Ok(loaded) => loaded,
            Err(ReplicaError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let missing = loaded.doc.get_missing_deps(&[]);
        if loaded.doc.load_incremental(data).is_err() {
            return Ok(false);
        }
        Ok(!loaded.is_dirty() && loaded.doc.get_missing_deps(&[]) == missing)
    }
}

/// A refusal of what another replica sent for document `id`.
fn remote(id: &DocId, reason: String) -> ReplicaError {
    ReplicaError::Remote {
        id: id.clone(),
        reason,
    }
}
