//! The workspace member list: an append-only log of signed operations and a pure fold over it.
//!
//! The coordinator creates the workspace, registers invites (only the hash of a one-time token),
//! revokes them, removes members and moves the workspace to a new key epoch. A joiner redeems an
//! invite with the token itself, signed with its own key. Every operation names the hash of the
//! one before it, so the log is a chain; [`MemberSet`] folds it into who is a member, with which
//! role, and from which key epoch. The relay and every replica run the same fold.

mod error;
mod invite;
mod member_set;
mod op;
mod role;

pub use error::{LogError, MembershipError};
pub use invite::{InviteToken, invite_token_hash};
pub use member_set::{Invite, InviteState, KeyGrant, Member, MemberSet};
pub use op::{MemberProfile, MembershipOp, OpBody, SignedOp, WrappedKey};
pub use role::{Role, UnknownRole};

#[cfg(test)]
mod tests;
