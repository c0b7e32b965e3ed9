//! The workspace member list: an append-only log of signed operations and a pure fold over it.
//!
//! The coordinator creates the workspace, registers invites (only the public half of a one-time key),
//! revokes them, removes members and moves the workspace to a new key epoch. A joiner redeems an
//! invite by signing its own keys with the invite's one-time key, so the token never travels. Every operation names the hash of the
//! one before it, so the log is a chain; [`MemberSet`] folds it into who is a member, with which
//! role, and from which key epoch. The relay and every replica run the same fold.

mod error;
mod invite;
mod member_set;
mod op;
mod role;

pub use error::{LogError, MembershipError};
pub use invite::{InviteToken, proof_holds};
pub use member_set::{Invite, InviteState, KeyGrant, MAX_SHARES_PER_MEMBER, Member, MemberSet};
pub use op::{
    MAX_NAME_BYTES, MAX_OP_BYTES, MAX_WRAPPED_BYTES, MemberProfile, MembershipOp, OpBody, SignedOp,
    WrappedKey,
};
pub use role::{Role, UnknownRole};

#[cfg(test)]
mod tests;
