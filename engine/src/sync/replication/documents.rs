//! What the sync core asks of the documents while it handles an event: apply what a relay
//! brought and say whether it went in, or whether it waits for changes it depends on.
//!
//! This is the one read-and-write the core still makes itself, because whether received
//! changes can be applied now is the document's answer and decides what the core does next
//! (apply, park, refuse). Everything else the core writes is a batch in its [`super::Step`],
//! and everything else it reads comes in with events. [`crate::Replica`] is the implementation
//! the drivers use.

use automerge::Change;

use crate::document::DocId;
use crate::replica::{RemoteApply, Replica, ReplicaError};
use crate::store::Store;

/// The documents received changes are applied to.
pub trait Documents {
    /// Applies changes another organisation wrote (decoded once, measured before), durably.
    fn apply_changes(&self, doc: &DocId, changes: Vec<Change>)
    -> Result<RemoteApply, ReplicaError>;
    /// Applies a full saved document (a snapshot), durably.
    fn apply_snapshot(&self, doc: &DocId, data: &[u8]) -> Result<RemoteApply, ReplicaError>;
    /// Whether every one of `changes` is in the document already.
    fn holds_changes(&self, doc: &DocId, changes: &[Change]) -> Result<bool, ReplicaError>;
    /// Whether a snapshot would add nothing to the document.
    fn holds_snapshot(&self, doc: &DocId, data: &[u8]) -> Result<bool, ReplicaError>;
}

impl<S: Store> Documents for Replica<S> {
    fn apply_changes(
        &self,
        doc: &DocId,
        changes: Vec<Change>,
    ) -> Result<RemoteApply, ReplicaError> {
        self.apply_remote_changes(doc, changes)
    }

    fn apply_snapshot(&self, doc: &DocId, data: &[u8]) -> Result<RemoteApply, ReplicaError> {
        self.apply_remote(doc, data)
    }

    fn holds_changes(&self, doc: &DocId, changes: &[Change]) -> Result<bool, ReplicaError> {
        self.holds_remote_changes(doc, changes)
    }

    fn holds_snapshot(&self, doc: &DocId, data: &[u8]) -> Result<bool, ReplicaError> {
        self.holds_remote(doc, data)
    }
}
