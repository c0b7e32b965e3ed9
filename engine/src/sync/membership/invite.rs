//! One-time invite secrets: the token is the seed of a key pair used once, to prove a join.
//!
//! The coordinator registers only the invite's public key in the log. The joiner proves it holds
//! the token by signing its own identity and exchange key with the invite key; the token itself
//! never travels. A redeem seen on the wire or by a relay is therefore bound to the joiner it
//! names: replaying it makes nobody else a member, and it cannot be redirected to another key.

use ed25519_dalek::SigningKey;

use crate::sync::wire::{KxKey, OrgKey, Sig, WorkspaceId};

/// Domain separation for deriving the one-time key from the token.
const KEY_CONTEXT: &str = "kompas 2026 invite one-time key v2";
/// Domain separation for the redeem proof.
const PROOF_CONTEXT: &[u8] = b"kompas/redeem/v2\0";

/// The secret of an invite, handed to the joiner inside the invite code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct InviteToken(pub [u8; 32]);

impl InviteToken {
    /// The one-time public key the coordinator registers in the log.
    pub fn public(&self) -> OrgKey {
        OrgKey::of(&self.signing_key())
    }

    /// The proof that the holder of this token lets `joiner` (with exchange key `kx`) join.
    pub fn prove(&self, workspace: &WorkspaceId, joiner: &OrgKey, kx: &KxKey) -> Sig {
        Sig::sign(&self.signing_key(), &proof_bytes(workspace, joiner, kx))
    }

    fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(&blake3::derive_key(KEY_CONTEXT, &self.0))
    }
}

/// Whether `proof` is the invite key's signature admitting `joiner` with exchange key `kx`.
pub fn proof_holds(
    invite: &OrgKey,
    proof: &Sig,
    workspace: &WorkspaceId,
    joiner: &OrgKey,
    kx: &KxKey,
) -> bool {
    invite.verifies(&proof_bytes(workspace, joiner, kx), proof)
}

fn proof_bytes(workspace: &WorkspaceId, joiner: &OrgKey, kx: &KxKey) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(PROOF_CONTEXT.len() + 16 + 64);
    bytes.extend_from_slice(PROOF_CONTEXT);
    bytes.extend_from_slice(&workspace.0);
    bytes.extend_from_slice(&joiner.0);
    bytes.extend_from_slice(&kx.0);
    bytes
}
