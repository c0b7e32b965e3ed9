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

/// Domain separation for the relay's proof of its key.
const RELAY_PROOF_CONTEXT: &[u8] = b"kompas/relay/v2\0";

/// The canonical bytes a relay signs in `Challenge`: the client's nonce from `Hello` (so the
/// proof is fresh and cannot be recorded from another connection), the relay's key and the
/// challenge it sends back.
pub fn relay_proof_bytes(
    hello_nonce: &[u8; CHALLENGE_LEN],
    relay: &OrgKey,
    challenge: &[u8; CHALLENGE_LEN],
) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(RELAY_PROOF_CONTEXT);
    w.fixed(hello_nonce);
    w.fixed(&relay.0);
    w.fixed(challenge);
    w.into_bytes()
}

/// Signs the relay's proof of its key.
pub fn sign_relay_proof(
    hello_nonce: &[u8; CHALLENGE_LEN],
    challenge: &[u8; CHALLENGE_LEN],
    relay: &SigningKey,
) -> Sig {
    Sig::sign(
        relay,
        &relay_proof_bytes(hello_nonce, &OrgKey::of(relay), challenge),
    )
}

/// Checks the relay's proof of its key.
pub fn verify_relay_proof(
    hello_nonce: &[u8; CHALLENGE_LEN],
    relay: &OrgKey,
    challenge: &[u8; CHALLENGE_LEN],
    proof: &Sig,
) -> bool {
    relay.verifies(&relay_proof_bytes(hello_nonce, relay, challenge), proof)
}
