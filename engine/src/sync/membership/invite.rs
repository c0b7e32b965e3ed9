//! One-time invite secrets: the token is the seed of a key pair used once, to prove a join.
//!
//! The coordinator registers only the invite's public key in the log. The joiner proves it holds
//! the token by signing its own identity and exchange key with the invite key; the token itself
//! never travels. A redeem seen on the wire or by a relay is therefore bound to the joiner it
//! names: replaying it makes nobody else a member, and it cannot be redirected to another key.
//! The same key also proves, per connection, that a key which is not a member yet holds an open
//! invite (a candidacy): only then does a relay let it read the membership log.

use ed25519_dalek::SigningKey;

use crate::base::codec::Writer;
use crate::base::{CHALLENGE_LEN, KxKey, OrgKey, Sig, WorkspaceId};

/// Domain separation for deriving the one-time key from the token.
const KEY_CONTEXT: &str = "kompas 2026 invite one-time key v2";
/// Domain separation for the redeem proof.
const PROOF_CONTEXT: &[u8] = b"kompas/redeem/v2\0";
/// Domain separation for the candidacy proof.
const CANDIDACY_CONTEXT: &[u8] = b"kompas/candidacy/v1\0";

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

    /// The proof, for one connection, that its key holds this invite: the invite key's
    /// signature over the relay's key and challenge, the workspace and the connecting key.
    /// A relay lets a key that is not a member read the membership log only with it.
    pub fn prove_candidacy(
        &self,
        relay: &OrgKey,
        challenge: &[u8; CHALLENGE_LEN],
        workspace: &WorkspaceId,
        joiner: &OrgKey,
    ) -> Sig {
        Sig::sign(
            &self.signing_key(),
            &candidacy_bytes(relay, challenge, workspace, joiner),
        )
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

/// Whether `proof` is the invite key's candidacy proof for this connection, see
/// [`InviteToken::prove_candidacy`].
pub fn candidacy_holds(
    invite: &OrgKey,
    proof: &Sig,
    relay: &OrgKey,
    challenge: &[u8; CHALLENGE_LEN],
    workspace: &WorkspaceId,
    joiner: &OrgKey,
) -> bool {
    invite.verifies(&candidacy_bytes(relay, challenge, workspace, joiner), proof)
}

fn candidacy_bytes(
    relay: &OrgKey,
    challenge: &[u8; CHALLENGE_LEN],
    workspace: &WorkspaceId,
    joiner: &OrgKey,
) -> Vec<u8> {
    let mut w = Writer::new();
    w.fixed(CANDIDACY_CONTEXT);
    w.fixed(&relay.0);
    w.fixed(challenge);
    w.fixed(&workspace.0);
    w.fixed(&joiner.0);
    w.into_bytes()
}
