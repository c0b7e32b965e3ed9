//! The member list as the replica sees it: the membership fold plus the epoch each removal ended.

use std::collections::BTreeMap;

use crate::seal::{Epoch, Roster};
use crate::sync::membership::{MemberSet, MembershipError, OpBody, SignedOp};
use crate::sync::wire::OrgKey;

/// The folded membership log, with what the replica needs on top: until which key epoch a
/// removed member's bundles are still accepted (the epoch in force when it was removed; the
/// coordinator moves everybody else to the next one).
#[derive(Debug, Clone, Default)]
pub struct Members {
    set: MemberSet,
    removed_in: BTreeMap<OrgKey, u64>,
}

impl Members {
    /// Applies the next log operation.
    pub fn apply(&mut self, op: &SignedOp) -> Result<(), MembershipError> {
        let epoch = self.set.epoch();
        self.set.apply(op)?;
        if let OpBody::Remove { member } = &op.op.body {
            self.removed_in.insert(*member, epoch);
        }
        Ok(())
    }

    /// The member set.
    pub fn set(&self) -> &MemberSet {
        &self.set
    }

    /// Whether `key` has never been a member as far as this log knows (it may have joined on a
    /// relay whose operations have not arrived yet).
    pub fn is_stranger(&self, key: &OrgKey) -> bool {
        !self.set.is_member(key) && !self.set.was_removed(key)
    }
}

impl Roster for Members {
    fn may_write(&self, author: &OrgKey, epoch: Epoch) -> bool {
        if self.set.is_member(author) {
            return epoch.0 <= self.set.epoch();
        }
        self.removed_in
            .get(author)
            .is_some_and(|last| epoch.0 <= *last)
    }
}
