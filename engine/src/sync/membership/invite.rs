//! One-time invite tokens: the joiner holds the token, the log holds only its hash.

use crate::sync::wire::Hash32;

/// Domain separation for invite token hashes.
const TOKEN_CONTEXT: &[u8] = b"kompas/invite/v1\0";

/// The secret of an invite, handed to the joiner inside the invite code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct InviteToken(pub [u8; 32]);

impl InviteToken {
    /// The hash the coordinator registers in the log.
    pub fn hash(&self) -> Hash32 {
        invite_token_hash(&self.0)
    }
}

/// The registered hash of an invite token.
pub fn invite_token_hash(token: &[u8; 32]) -> Hash32 {
    let mut input = Vec::with_capacity(TOKEN_CONTEXT.len() + 32);
    input.extend_from_slice(TOKEN_CONTEXT);
    input.extend_from_slice(token);
    Hash32::of(&input)
}
