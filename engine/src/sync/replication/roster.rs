//! The member list as the replica sees it: the membership fold, which also says until which key
//! epoch and sequence number each removed member's bundles still count.

use crate::seal::{Epoch, KeyRing, Roster};
use crate::store::Store;
use crate::sync::membership::{MemberSet, MembershipError, SignedOp};
use crate::sync::wire::OrgKey;

use super::state::{StateError, WorkspaceState};

/// The folded membership log, as bundles are judged by: a removed member's bundles count only
/// up to the epoch in force when it was removed (the coordinator moves everybody else to the
/// next one) and, inside that, up to the removal's cut-off (see
/// [`crate::sync::membership::Removal`]).
///
/// It also opens the names sealed in the log with the replica's key ring.
#[derive(Debug, Clone, Default)]
pub struct Members {
    set: MemberSet,
    ring: KeyRing,
}

impl Members {
    /// Applies the next log operation and opens the names it carries, if the ring can.
    pub fn apply(&mut self, op: &SignedOp) -> Result<(), MembershipError> {
        self.set.apply(op)?;
        self.set.open_names(&self.ring);
        Ok(())
    }

    /// Takes the replica's current key ring and opens the names it now can.
    pub fn learn(&mut self, ring: &KeyRing) {
        self.ring = ring.clone();
        self.set.open_names(&self.ring);
    }

    /// The member set.
    pub fn set(&self) -> &MemberSet {
        &self.set
    }

    /// Whether `key` has never been a member as far as this log knows (it may have joined on a
    /// relay whose operations have not arrived yet). A joiner waiting for confirmation is no
    /// stranger: what it writes is refused, not kept for later.
    pub fn is_stranger(&self, key: &OrgKey) -> bool {
        !self.set.is_member(key) && !self.set.was_removed(key) && !self.set.is_pending(key)
    }
}

/// Folds the confirmed log, then this replica's pending operations on top of it: the member
/// list as confirmed, and as this replica will see it once its own changes are confirmed. A
/// pending operation that no longer fits is left out (it is dropped at the next rebase).
pub(super) fn fold(
    log: &[SignedOp],
    pending: &[SignedOp],
    ring: &KeyRing,
) -> Result<(Members, Members), MembershipError> {
    let mut members = Members {
        set: MemberSet::default(),
        ring: ring.clone(),
    };
    for op in log {
        members.apply(op)?;
    }
    let mut tip = members.clone();
    for op in pending {
        let _ = tip.apply(op);
    }
    Ok((members, tip))
}

/// The member list as this replica knows it (its own pending changes included), read without
/// the rest of the sync state; `None` when the replica belongs to no workspace.
pub fn known_members(store: &impl Store) -> Result<Option<MemberSet>, StateError> {
    let Some(view) = WorkspaceState::membership_only(store)? else {
        return Ok(None);
    };
    let (_, tip) = fold(&view.log_ops()?, &view.pending_ops()?, view.ring())
        .map_err(|e| StateError::Corrupt(e.to_string()))?;
    Ok(Some(tip.set))
}

impl Roster for Members {
    fn may_write(&self, author: &OrgKey, epoch: Epoch) -> bool {
        if self.set.is_member(author) {
            return epoch.0 <= self.set.epoch();
        }
        self.set
            .removal(author)
            .is_some_and(|removal| epoch.0 <= removal.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::replication::SimRng;
    use crate::sync::replication::test_store::replica_with;
    use crate::sync::replication::{Machine, Mode};
    use crate::time::Timestamp;

    #[test]
    fn known_members_include_own_pending_changes_and_nothing_without_a_workspace() {
        let replica = replica_with(0, 4).0;
        assert!(known_members(replica.store()).unwrap().is_none());
        let mut rng = SimRng::new(7);
        // No relay has confirmed anything: the creation is still pending here.
        let machine = Machine::create(
            &replica,
            "Samen",
            vec!["ws://127.0.0.1:1".into()],
            Timestamp(1_780_000_000_000),
            &mut rng,
        )
        .unwrap();
        let known = known_members(replica.store()).unwrap().unwrap();
        let coordinators: Vec<_> = known.coordinators().map(|m| m.profile.key).collect();
        assert_eq!(coordinators, vec![machine.me()]);
        assert_eq!(
            known,
            *Machine::load(&replica, Mode::Once)
                .unwrap()
                .unwrap()
                .members_with_pending()
                .set()
        );
    }
}
