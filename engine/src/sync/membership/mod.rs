//! The workspace member list: an append-only log of signed operations and a pure fold over it.
//!
//! The coordinator creates the workspace, registers invites (only the public half of a one-time key),
//! revokes them, removes members and moves the workspace to a new key epoch. A joiner redeems an
//! invite by signing its own keys with the invite's one-time key, so the token never travels. Every operation names the hash of the
//! one before it, so the log is a chain; [`MemberSet`] folds it into who is a member, with which
//! role, and from which key epoch. The relay and every replica run the same fold. A removal
//! fixes a cut-off ([`Removal`]) by which every replica judges the removed member's bundles.
//! Names are sealed for members ([`SealedNames`]): the relay folds keys and roles, and a replica
//! opens the names with its key ring ([`MemberSet::open_names`]).
//! An invite may ask for confirmation: its joiner is pending ([`PendingJoin`]) until a
//! coordinator signs `Confirm` after comparing the joiner's fingerprint, and no key is shared
//! with it before.

mod error;
mod invite;
mod member_set;
mod op;
mod removal;
mod role;
mod sealed_names;

pub use error::{LogError, MembershipError};
pub use invite::{InviteToken, candidacy_holds, proof_holds};
pub use member_set::{
    Invite, InviteState, KeyGrant, MAX_BOXED_NAMES_BYTES, MAX_NAME_BOXES, MAX_SHARES_PER_MEMBER,
    Member, MemberSet, PendingJoin,
};
pub use op::{
    MAX_NAME_BYTES, MAX_OP_BYTES, MAX_WRAPPED_BYTES, MemberProfile, MembershipOp, OpBody, SignedOp,
    WrappedKey,
};
pub use removal::{AfterRemoval, Removal};
pub use role::{Role, UnknownRole};
pub use sealed_names::{
    MAX_SEALED_NAMES_BYTES, MemberKeys, NameBox, Names, PAD_BLOCK, SealedNames, UNREADABLE_NAME,
    UNREADABLE_WORKSPACE_NAME,
};

#[cfg(test)]
mod sealed_tests;
#[cfg(test)]
mod tests;
