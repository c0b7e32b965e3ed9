//! The fold from the membership log to the current member set.

use std::collections::BTreeMap;

use crate::base::{Encoded, Hash32, OrgKey, WorkspaceId};
use crate::time::Timestamp;

use super::error::{LogError, MembershipError};
use super::invite::proof_holds;
use super::op::{
    MAX_NAME_BYTES, MAX_OP_BYTES, MAX_WRAPPED_BYTES, MemberProfile, OpBody, SignedOp, WrappedKey,
};
use super::removal::Removal;
use super::role::Role;
use super::sealed_names::{
    MAX_SEALED_NAMES_BYTES, MemberKeys, SealedNames, UNREADABLE_NAME, UNREADABLE_WORKSPACE_NAME,
};
use crate::identity::OrgType;
use crate::seal::KeyRing;

/// How many `ShareKeys` one member may receive. A coordinator shares once per join; the rest
/// leaves room for repairs, while a flood of shares cannot grow the log without bound.
pub const MAX_SHARES_PER_MEMBER: usize = 16;

/// How many coordinators a pending joiner may box its names for.
pub const MAX_NAME_BOXES: usize = 16;

/// The largest names boxed for one coordinator: sealed names plus the box's two keys and nonce.
pub const MAX_BOXED_NAMES_BYTES: usize = MAX_SEALED_NAMES_BYTES + 88;

/// A current member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Who it is.
    pub profile: MemberProfile,
    /// What it may do.
    pub role: Role,
    /// The key epoch in force when it joined.
    pub joined_epoch: u64,
    /// When it joined (the time on its create or redeem operation).
    pub joined_at: Timestamp,
    /// Whether it joined through an invite that needed a coordinator's confirmation: it holds
    /// no key from its invite and gets the whole ring by a share.
    pub confirmed: bool,
}

/// A joiner that redeemed an invite which needs confirmation, and is not confirmed yet: no
/// member shares keys with it, and nobody accepts what it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingJoin {
    /// The joiner's keys.
    pub keys: MemberKeys,
    /// The role it gets once confirmed.
    pub role: Role,
    /// The invite it redeemed.
    pub invite_key: OrgKey,
    /// When it redeemed.
    pub at: Timestamp,
    /// Its names, boxed for coordinators (see [`super::NameBox`]).
    pub boxes: Vec<WrappedKey>,
}

/// Where an invite stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteState {
    /// Not used yet (it may still have expired: compare `expires`).
    Open,
    /// Redeemed by this organisation.
    Used {
        /// The joiner.
        by: OrgKey,
    },
    /// Withdrawn by a coordinator.
    Revoked,
}

/// A registered invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The role it grants.
    pub role: Role,
    /// When it stops working.
    pub expires: Timestamp,
    /// The coordinator who made it.
    pub created_by: OrgKey,
    /// Where it stands.
    pub state: InviteState,
    /// Whether its joiner waits for a coordinator's confirmation.
    pub confirm: bool,
}

/// Key material handed to a member through the log (by a key epoch change or a share).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    /// The member who can unwrap it.
    pub member: OrgKey,
    /// The epoch it introduced (key epoch change) or the epoch in force when it was shared.
    pub epoch: u64,
    /// Who wrapped it.
    pub from: OrgKey,
    /// The wrapped key material.
    pub sealed: Vec<u8>,
}

/// The member set a log folds to. `MemberSet::default()` is the empty log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberSet {
    workspace: Option<WorkspaceId>,
    name: String,
    members: BTreeMap<OrgKey, Member>,
    pending: BTreeMap<OrgKey, PendingJoin>,
    removed: BTreeMap<OrgKey, Removal>,
    invites: BTreeMap<OrgKey, Invite>,
    grants: Vec<KeyGrant>,
    /// Sealed names not opened yet, by the member they describe (see [`MemberSet::open_names`]).
    unopened: BTreeMap<OrgKey, SealedNames>,
    /// `ShareKeys` received per member, bounded by [`MAX_SHARES_PER_MEMBER`].
    shares: BTreeMap<OrgKey, usize>,
    epoch: u64,
    head: Option<Hash32>,
    len: u64,
}

impl MemberSet {
    /// Folds a whole log, verifying every operation.
    pub fn from_log<'a>(
        ops: impl IntoIterator<Item = &'a SignedOp>,
    ) -> Result<MemberSet, LogError> {
        let mut set = MemberSet::default();
        for (index, op) in ops.into_iter().enumerate() {
            set.apply(op).map_err(|error| LogError { index, error })?;
        }
        Ok(set)
    }

    /// Applies the next operation, or refuses it and leaves the set unchanged.
    pub fn apply(&mut self, signed: &SignedOp) -> Result<(), MembershipError> {
        check_sizes(signed)?;
        if !signed.verifies() {
            return Err(MembershipError::BadSignature);
        }
        let op = &signed.op;
        if let Some(expected) = self.workspace
            && expected != op.workspace
        {
            return Err(MembershipError::WrongWorkspace {
                expected,
                found: op.workspace,
            });
        }
        if op.prev != self.head {
            return Err(MembershipError::NotChained {
                expected: self.head,
                found: op.prev,
            });
        }
        match &op.body {
            OpBody::Create { name, coordinator } => {
                self.create(op.workspace, &op.author, op.at, coordinator.clone(), name)?;
            }
            OpBody::CreateSealed { coordinator, names } => {
                self.create(
                    op.workspace,
                    &op.author,
                    op.at,
                    unread_profile(coordinator),
                    UNREADABLE_WORKSPACE_NAME,
                )?;
                self.unopened.insert(op.author, names.clone());
            }
            OpBody::Invite {
                invite_key,
                role,
                expires,
            } => self.invite(&op.author, invite_key, *role, *expires, false)?,
            OpBody::InviteConfirmed {
                invite_key,
                role,
                expires,
            } => self.invite(&op.author, invite_key, *role, *expires, true)?,
            OpBody::RedeemPending {
                invite_key,
                proof,
                joiner,
                boxes,
            } => self.redeem_pending(
                &op.workspace,
                &op.author,
                op.at,
                invite_key,
                proof,
                joiner,
                boxes,
            )?,
            OpBody::Confirm { member, names } => {
                self.require_coordinator(&op.author)?;
                let join = self
                    .pending
                    .remove(member)
                    .ok_or(MembershipError::NotPending(*member))?;
                self.members.insert(
                    *member,
                    Member {
                        profile: unread_profile(&join.keys),
                        role: join.role,
                        joined_epoch: self.epoch,
                        joined_at: join.at,
                        confirmed: true,
                    },
                );
                self.unopened.insert(*member, names.clone());
            }
            OpBody::Redeem {
                invite_key,
                proof,
                profile,
            } => self.redeem(
                &op.workspace,
                &op.author,
                op.at,
                invite_key,
                proof,
                profile.clone(),
            )?,
            OpBody::RedeemSealed {
                invite_key,
                proof,
                joiner,
                names,
            } => {
                self.redeem(
                    &op.workspace,
                    &op.author,
                    op.at,
                    invite_key,
                    proof,
                    unread_profile(joiner),
                )?;
                self.unopened.insert(op.author, names.clone());
            }
            OpBody::RevokeInvite { invite_key } => {
                self.require_coordinator(&op.author)?;
                let invite = self
                    .invites
                    .get_mut(invite_key)
                    .ok_or(MembershipError::UnknownInvite)?;
                match invite.state {
                    InviteState::Used { by } => return Err(MembershipError::InviteUsed { by }),
                    InviteState::Revoked => return Err(MembershipError::InviteRevoked),
                    InviteState::Open => invite.state = InviteState::Revoked,
                }
            }
            OpBody::Remove { member, .. } if self.pending.contains_key(member) => {
                // Refusing a pending join: it never held a key, so no key change follows, and
                // nothing it wrote ever counts.
                self.require_coordinator(&op.author)?;
                self.pending.remove(member);
                self.removed.insert(
                    *member,
                    Removal {
                        epoch: self.epoch,
                        cutoff: Some(0),
                    },
                );
            }
            OpBody::Remove { member, cutoff } => {
                self.require_coordinator(&op.author)?;
                let target = self
                    .members
                    .get(member)
                    .ok_or(MembershipError::NotMember(*member))?;
                let coordinators = self.coordinators().count();
                if target.role == Role::Coordinator && coordinators == 1 {
                    return Err(MembershipError::LastCoordinator);
                }
                self.members.remove(member);
                self.removed.insert(
                    *member,
                    Removal {
                        epoch: self.epoch,
                        cutoff: *cutoff,
                    },
                );
            }
            OpBody::KeyEpoch { epoch, wrapped } => {
                self.require_coordinator(&op.author)?;
                if *epoch != self.epoch + 1 {
                    return Err(MembershipError::EpochNotNext {
                        current: self.epoch,
                        found: *epoch,
                    });
                }
                self.epoch = *epoch;
                self.grants.extend(wrapped.iter().map(|w| KeyGrant {
                    member: w.member,
                    epoch: *epoch,
                    from: op.author,
                    sealed: w.sealed.clone(),
                }));
            }
            OpBody::ShareKeys { member, sealed } => {
                self.require_member(&op.author)?;
                if !self.members.contains_key(member) {
                    return Err(MembershipError::NotMember(*member));
                }
                let received = self.shares.get(member).copied().unwrap_or(0);
                if received >= MAX_SHARES_PER_MEMBER {
                    return Err(MembershipError::TooManyShares {
                        member: *member,
                        limit: MAX_SHARES_PER_MEMBER,
                    });
                }
                self.shares.insert(*member, received + 1);
                self.grants.push(KeyGrant {
                    member: *member,
                    epoch: self.epoch,
                    from: op.author,
                    sealed: sealed.clone(),
                });
            }
        }
        self.head = Some(signed.hash());
        self.len += 1;
        Ok(())
    }

    fn invite(
        &mut self,
        author: &OrgKey,
        invite_key: &OrgKey,
        role: Role,
        expires: Timestamp,
        confirm: bool,
    ) -> Result<(), MembershipError> {
        self.require_coordinator(author)?;
        if self.invites.contains_key(invite_key) {
            return Err(MembershipError::DuplicateInvite);
        }
        self.invites.insert(
            *invite_key,
            Invite {
                role,
                expires,
                created_by: *author,
                state: InviteState::Open,
                confirm,
            },
        );
        Ok(())
    }

    fn create(
        &mut self,
        workspace: WorkspaceId,
        author: &OrgKey,
        at: Timestamp,
        coordinator: MemberProfile,
        name: &str,
    ) -> Result<(), MembershipError> {
        if self.workspace.is_some() {
            return Err(MembershipError::AlreadyCreated);
        }
        if coordinator.key != *author {
            return Err(MembershipError::CreatorMismatch);
        }
        self.workspace = Some(workspace);
        self.name = name.to_string();
        self.members.insert(
            *author,
            Member {
                profile: coordinator,
                role: Role::Coordinator,
                joined_epoch: 0,
                joined_at: at,
                confirmed: false,
            },
        );
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn redeem(
        &mut self,
        workspace: &WorkspaceId,
        author: &OrgKey,
        at: Timestamp,
        invite_key: &OrgKey,
        proof: &crate::base::Sig,
        profile: MemberProfile,
    ) -> Result<(), MembershipError> {
        if profile.key != *author {
            return Err(MembershipError::RedeemerMismatch);
        }
        let keys = MemberKeys {
            key: profile.key,
            kx: profile.kx,
        };
        let invite = self.use_invite(workspace, at, invite_key, proof, &keys, false)?;
        self.members.insert(
            *author,
            Member {
                profile,
                role: invite.role,
                joined_epoch: self.epoch,
                joined_at: at,
                confirmed: false,
            },
        );
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn redeem_pending(
        &mut self,
        workspace: &WorkspaceId,
        author: &OrgKey,
        at: Timestamp,
        invite_key: &OrgKey,
        proof: &crate::base::Sig,
        joiner: &MemberKeys,
        boxes: &[WrappedKey],
    ) -> Result<(), MembershipError> {
        if joiner.key != *author {
            return Err(MembershipError::RedeemerMismatch);
        }
        let invite = self.use_invite(workspace, at, invite_key, proof, joiner, true)?;
        self.pending.insert(
            *author,
            PendingJoin {
                keys: *joiner,
                role: invite.role,
                invite_key: *invite_key,
                at,
                boxes: boxes.to_vec(),
            },
        );
        Ok(())
    }

    /// Checks a redeem of `invite_key` by `joiner` and marks the invite used. `pending` says
    /// whether the redeem is the kind that waits for confirmation; it must match the invite.
    fn use_invite(
        &mut self,
        workspace: &WorkspaceId,
        at: Timestamp,
        invite_key: &OrgKey,
        proof: &crate::base::Sig,
        joiner: &MemberKeys,
        pending: bool,
    ) -> Result<Invite, MembershipError> {
        self.require_created()?;
        let author = &joiner.key;
        if self.removed.contains_key(author) {
            return Err(MembershipError::Removed(*author));
        }
        if self.members.contains_key(author) {
            return Err(MembershipError::AlreadyMember(*author));
        }
        if self.pending.contains_key(author) {
            return Err(MembershipError::AlreadyPending(*author));
        }
        let invite = self
            .invites
            .get_mut(invite_key)
            .ok_or(MembershipError::UnknownInvite)?;
        if !proof_holds(invite_key, proof, workspace, &joiner.key, &joiner.kx) {
            return Err(MembershipError::BadInviteProof);
        }
        match invite.state {
            InviteState::Used { by } => return Err(MembershipError::InviteUsed { by }),
            InviteState::Revoked => return Err(MembershipError::InviteRevoked),
            InviteState::Open if at > invite.expires => {
                return Err(MembershipError::InviteExpired {
                    expires: invite.expires,
                });
            }
            InviteState::Open => {}
        }
        match (invite.confirm, pending) {
            (true, false) => return Err(MembershipError::ConfirmationRequired),
            (false, true) => return Err(MembershipError::NoConfirmationAsked),
            _ => {}
        }
        invite.state = InviteState::Used { by: *author };
        Ok(invite.clone())
    }

    /// Opens the sealed names this ring has keys for: the workspace's name and the names and
    /// types of the members. Names it cannot open yet keep their placeholders
    /// ([`UNREADABLE_NAME`], [`UNREADABLE_WORKSPACE_NAME`]) and are tried again on the next call;
    /// names that open but do not belong to their member stay placeholders for good.
    pub fn open_names(&mut self, ring: &KeyRing) {
        let Some(workspace) = self.workspace else {
            return;
        };
        let mut opened = Vec::new();
        for (key, sealed) in &self.unopened {
            if !ring.epochs().any(|e| e.0 == sealed.epoch) {
                continue;
            }
            opened.push((*key, sealed.open(ring, &workspace, key)));
        }
        for (key, names) in opened {
            self.unopened.remove(&key);
            let Some(names) = names else { continue };
            if let Some(name) = names.workspace {
                self.name = name;
            }
            if let Some(member) = self.members.get_mut(&key) {
                member.profile.name = names.name;
                member.profile.org_type = names.org_type;
            }
        }
    }

    /// Whether some names are still sealed for this replica (their epoch's key is missing).
    pub fn has_unopened_names(&self) -> bool {
        !self.unopened.is_empty()
    }

    /// The workspace, once created.
    pub fn workspace(&self) -> Option<WorkspaceId> {
        self.workspace
    }

    /// The workspace's display name (empty before creation).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current members, ordered by key.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// A current member.
    pub fn member(&self, key: &OrgKey) -> Option<&Member> {
        self.members.get(key)
    }

    /// A current member's role.
    pub fn role_of(&self, key: &OrgKey) -> Option<Role> {
        self.members.get(key).map(|m| m.role)
    }

    /// The current members with the coordinator role.
    pub fn coordinators(&self) -> impl Iterator<Item = &Member> {
        self.members
            .values()
            .filter(|m| m.role == Role::Coordinator)
    }

    /// Whether the key is a current member.
    pub fn is_member(&self, key: &OrgKey) -> bool {
        self.members.contains_key(key)
    }

    /// The joiners waiting for a coordinator's confirmation, ordered by key.
    pub fn pending(&self) -> impl Iterator<Item = &PendingJoin> {
        self.pending.values()
    }

    /// Whether the key redeemed an invite that needs confirmation and is not confirmed yet.
    pub fn is_pending(&self, key: &OrgKey) -> bool {
        self.pending.contains_key(key)
    }

    /// Whether the key was removed.
    pub fn was_removed(&self, key: &OrgKey) -> bool {
        self.removed.contains_key(key)
    }

    /// How the removal of `key` ended its writing, if it was removed.
    pub fn removal(&self, key: &OrgKey) -> Option<Removal> {
        self.removed.get(key).copied()
    }

    /// The registered invites by their one-time public key.
    pub fn invites(&self) -> &BTreeMap<OrgKey, Invite> {
        &self.invites
    }

    /// Key material wrapped for a member, oldest first.
    pub fn grants_for<'a>(&'a self, key: &'a OrgKey) -> impl Iterator<Item = &'a KeyGrant> {
        self.grants.iter().filter(move |g| g.member == *key)
    }

    /// The current key epoch (0 until the first change).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The hash of the last operation: the `prev` of the next one.
    pub fn head(&self) -> Option<Hash32> {
        self.head
    }

    /// How many operations were folded.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no operation was folded yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn require_created(&self) -> Result<(), MembershipError> {
        match self.workspace {
            Some(_) => Ok(()),
            None => Err(MembershipError::NotCreated),
        }
    }

    fn require_member(&self, key: &OrgKey) -> Result<Role, MembershipError> {
        self.require_created()?;
        self.role_of(key).ok_or(MembershipError::NotMember(*key))
    }

    fn require_coordinator(&self, key: &OrgKey) -> Result<(), MembershipError> {
        match self.require_member(key)? {
            Role::Coordinator => Ok(()),
            Role::Partner => Err(MembershipError::NotCoordinator(*key)),
        }
    }
}

/// Refuses an operation above [`MAX_OP_BYTES`], or one whose names or wrapped keys are above
/// their own bounds, before anything else is looked at.
fn check_sizes(signed: &SignedOp) -> Result<(), MembershipError> {
    let size = signed.to_bytes().len();
    if size > MAX_OP_BYTES {
        return Err(MembershipError::TooLarge {
            what: "operatie",
            size,
            limit: MAX_OP_BYTES,
        });
    }
    let too_large = |what: &'static str, size: usize, limit: usize| {
        (size > limit).then_some(MembershipError::TooLarge { what, size, limit })
    };
    let found = match &signed.op.body {
        OpBody::Create { name, coordinator } => too_large("naam", name.len(), MAX_NAME_BYTES)
            .or_else(|| too_large("naam", coordinator.name.len(), MAX_NAME_BYTES)),
        OpBody::Redeem { profile, .. } => too_large("naam", profile.name.len(), MAX_NAME_BYTES),
        OpBody::CreateSealed { names, .. } | OpBody::RedeemSealed { names, .. } => too_large(
            "versleutelde namen",
            names.ciphertext.len(),
            MAX_SEALED_NAMES_BYTES,
        ),
        OpBody::KeyEpoch { wrapped, .. } => wrapped
            .iter()
            .find_map(|w| too_large("sleutelmateriaal", w.sealed.len(), MAX_WRAPPED_BYTES)),
        OpBody::ShareKeys { sealed, .. } => {
            too_large("sleutelmateriaal", sealed.len(), MAX_WRAPPED_BYTES)
        }
        OpBody::Confirm { names, .. } => too_large(
            "versleutelde namen",
            names.ciphertext.len(),
            MAX_SEALED_NAMES_BYTES,
        ),
        OpBody::RedeemPending { boxes, .. } => {
            too_large("namen voor coördinatoren", boxes.len(), MAX_NAME_BOXES).or_else(|| {
                boxes.iter().find_map(|b| {
                    too_large(
                        "namen voor een coördinator",
                        b.sealed.len(),
                        MAX_BOXED_NAMES_BYTES,
                    )
                })
            })
        }
        OpBody::Invite { .. }
        | OpBody::InviteConfirmed { .. }
        | OpBody::RevokeInvite { .. }
        | OpBody::Remove { .. } => None,
    };
    match found {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The profile of a member whose name and type are sealed, until they are opened.
fn unread_profile(keys: &MemberKeys) -> MemberProfile {
    MemberProfile {
        key: keys.key,
        name: UNREADABLE_NAME.to_string(),
        org_type: OrgType::Anders,
        kx: keys.kx,
    }
}
