//! The bytes a connecting organisation signs to answer the relay's challenge.

use ed25519_dalek::SigningKey;

use super::codec::Writer;
use super::keys::{OrgKey, Sig, WorkspaceId};

/// Length of the relay's random challenge.
pub const CHALLENGE_LEN: usize = 32;

/// Domain separation for challenge answers.
const AUTH_CONTEXT: &[u8] = b"kompas/auth/v1\0";

/// The canonical bytes signed in `Auth`: bound to this relay's key, this challenge, the workspace
/// and the signer, so an answer cannot be replayed on another connection, relay or workspace.
pub fn auth_signed_bytes(
    relay: &OrgKey,
    nonce: &[u8; CHALLENGE_LEN],
    workspace: &WorkspaceId,
    key: &OrgKey,
) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(AUTH_CONTEXT);
    w.fixed(&relay.0);
    w.fixed(nonce);
    w.fixed(&workspace.0);
    w.fixed(&key.0);
    w.into_bytes()
}

/// Signs a challenge answer.
pub fn sign_auth(
    relay: &OrgKey,
    nonce: &[u8; CHALLENGE_LEN],
    workspace: &WorkspaceId,
    key: &SigningKey,
) -> Sig {
    Sig::sign(
        key,
        &auth_signed_bytes(relay, nonce, workspace, &OrgKey::of(key)),
    )
}

/// Checks a challenge answer.
pub fn verify_auth(
    relay: &OrgKey,
    nonce: &[u8; CHALLENGE_LEN],
    workspace: &WorkspaceId,
    key: &OrgKey,
    sig: &Sig,
) -> bool {
    key.verifies(&auth_signed_bytes(relay, nonce, workspace, key), sig)
}
