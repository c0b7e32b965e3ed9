//! Key wrapping: a workspace's key ring encrypted for one member, or for the holder of an invite.
//!
//! For a member, the wrap is an X25519 agreement between a fresh ephemeral key (its secret comes
//! from the caller) and the member's key-exchange key; the agreed secret, both public keys and the
//! workspace context are hashed into the wrapping key. Only the holder of the member's identity
//! seed can unwrap it. For an invite, the one-time secret in the invite code is the wrapping key.
//! The same box, under a key of its own, carries a pending joiner's names to each coordinator.

use super::NONCE_LEN;
use super::cipher::{decrypt, encrypt};
use super::exchange::{ExchangePublic, ExchangeSecret};
use super::key::{KeyRing, KeyRingError};

const WRAP_CONTEXT: &str = "kompas 2026-11 key ring wrap for a member v1";
const INVITE_CONTEXT: &str = "kompas 2026-11 key ring wrap for an invite v1";
const NAMES_BOX_CONTEXT: &str = "kompas 2026-12 pending joiner names box for a coordinator v1";

/// A key ring encrypted for one member's key-exchange key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WrappedRing {
    /// The key-exchange key it is wrapped for.
    pub recipient: ExchangePublic,
    /// The sender's ephemeral public key.
    pub ephemeral: ExchangePublic,
    /// The AEAD nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The encrypted ring.
    pub ciphertext: Vec<u8>,
}

/// Why a wrapped key ring could not be made or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WrapError {
    /// The recipient's key is not usable for key agreement.
    #[error("de uitwisselsleutel van de ontvanger is onbruikbaar")]
    BadRecipient,
    /// The wrap is for somebody else.
    #[error("deze sleutels zijn voor een ander lid versleuteld")]
    NotForUs,
    /// The wrap does not decrypt: wrong secret or altered bytes.
    #[error("de sleutels laten zich niet ontsleutelen")]
    Undecryptable,
    /// The decrypted bytes are not a key ring.
    #[error(transparent)]
    Ring(#[from] KeyRingError),
    /// The ring is too large to encrypt.
    #[error("de sleutelbos is te groot")]
    TooLarge,
}

impl WrappedRing {
    /// The binary form: recipient, ephemeral key, nonce (fixed sizes), then the ciphertext.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 32 + NONCE_LEN + self.ciphertext.len());
        out.extend_from_slice(&self.recipient.0);
        out.extend_from_slice(&self.ephemeral.0);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Reads the binary form written by [`WrappedRing::encode`].
    pub fn decode(bytes: &[u8]) -> Result<WrappedRing, WrapError> {
        let (recipient, rest) = bytes
            .split_first_chunk::<32>()
            .ok_or(WrapError::Undecryptable)?;
        let (ephemeral, rest) = rest
            .split_first_chunk::<32>()
            .ok_or(WrapError::Undecryptable)?;
        let (nonce, ciphertext) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(WrapError::Undecryptable)?;
        Ok(WrappedRing {
            recipient: ExchangePublic(*recipient),
            ephemeral: ExchangePublic(*ephemeral),
            nonce: *nonce,
            ciphertext: ciphertext.to_vec(),
        })
    }
}

/// Wraps `ring` for `recipient` in the context of a workspace.
pub fn wrap_ring(
    ring: &KeyRing,
    recipient: &ExchangePublic,
    workspace: &[u8],
    ephemeral_random: [u8; 32],
    nonce: [u8; NONCE_LEN],
) -> Result<WrappedRing, WrapError> {
    box_bytes(
        WRAP_CONTEXT,
        &ring.encode(),
        recipient,
        workspace,
        ephemeral_random,
        nonce,
    )
}

/// Opens a ring wrapped for `ours`.
pub fn unwrap_ring(
    wrapped: &WrappedRing,
    ours: &ExchangeSecret,
    workspace: &[u8],
) -> Result<KeyRing, WrapError> {
    Ok(KeyRing::decode(&open_box(
        WRAP_CONTEXT,
        wrapped,
        ours,
        workspace,
    )?)?)
}

/// Boxes the padded names of a joiner for one member's exchange key (a coordinator), in the
/// same way a ring is wrapped but under a key of its own; `aad` binds workspace and joiner.
pub fn box_names(
    padded: &[u8],
    recipient: &ExchangePublic,
    aad: &[u8],
    ephemeral_random: [u8; 32],
    nonce: [u8; NONCE_LEN],
) -> Result<WrappedRing, WrapError> {
    box_bytes(
        NAMES_BOX_CONTEXT,
        padded,
        recipient,
        aad,
        ephemeral_random,
        nonce,
    )
}

/// Opens names boxed with [`box_names`] for `ours`.
pub fn open_names_box(
    boxed: &WrappedRing,
    ours: &ExchangeSecret,
    aad: &[u8],
) -> Result<Vec<u8>, WrapError> {
    open_box(NAMES_BOX_CONTEXT, boxed, ours, aad)
}

fn box_bytes(
    context: &str,
    plain: &[u8],
    recipient: &ExchangePublic,
    aad: &[u8],
    ephemeral_random: [u8; 32],
    nonce: [u8; NONCE_LEN],
) -> Result<WrappedRing, WrapError> {
    let ephemeral = ExchangeSecret::from_random(ephemeral_random);
    let shared = ephemeral.agree(recipient).ok_or(WrapError::BadRecipient)?;
    let ephemeral_public = ephemeral.public();
    let key = member_wrap_key(context, &shared, &ephemeral_public, recipient, aad);
    let ciphertext = encrypt(&key, &nonce, aad, plain).map_err(|_| WrapError::TooLarge)?;
    Ok(WrappedRing {
        recipient: *recipient,
        ephemeral: ephemeral_public,
        nonce,
        ciphertext,
    })
}

fn open_box(
    context: &str,
    wrapped: &WrappedRing,
    ours: &ExchangeSecret,
    aad: &[u8],
) -> Result<Vec<u8>, WrapError> {
    let our_public = ours.public();
    if wrapped.recipient != our_public {
        return Err(WrapError::NotForUs);
    }
    let shared = ours
        .agree(&wrapped.ephemeral)
        .ok_or(WrapError::Undecryptable)?;
    let key = member_wrap_key(context, &shared, &wrapped.ephemeral, &our_public, aad);
    decrypt(&key, &wrapped.nonce, aad, &wrapped.ciphertext).map_err(|_| WrapError::Undecryptable)
}

/// Encrypts `ring` under the one-time secret of an invite; returns the ciphertext.
pub fn seal_ring_with_secret(
    ring: &KeyRing,
    secret: &[u8; 32],
    workspace: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<Vec<u8>, WrapError> {
    let key = invite_wrap_key(secret, workspace);
    encrypt(&key, &nonce, workspace, &ring.encode()).map_err(|_| WrapError::TooLarge)
}

/// Opens a ring sealed with [`seal_ring_with_secret`].
pub fn open_ring_with_secret(
    ciphertext: &[u8],
    secret: &[u8; 32],
    workspace: &[u8],
    nonce: [u8; NONCE_LEN],
) -> Result<KeyRing, WrapError> {
    let key = invite_wrap_key(secret, workspace);
    let plain =
        decrypt(&key, &nonce, workspace, ciphertext).map_err(|_| WrapError::Undecryptable)?;
    Ok(KeyRing::decode(&plain)?)
}

fn member_wrap_key(
    context: &str,
    shared: &[u8; 32],
    ephemeral: &ExchangePublic,
    recipient: &ExchangePublic,
    workspace: &[u8],
) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key(context);
    hasher.update(shared);
    hasher.update(&ephemeral.0);
    hasher.update(&recipient.0);
    hasher.update(workspace);
    *hasher.finalize().as_bytes()
}

fn invite_wrap_key(secret: &[u8; 32], workspace: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key(INVITE_CONTEXT);
    hasher.update(secret);
    hasher.update(workspace);
    *hasher.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::seal::{Epoch, WorkspaceKey};

    fn ring() -> KeyRing {
        let mut ring = KeyRing::with(Epoch(0), WorkspaceKey::from_bytes([4; 32]));
        ring.insert(Epoch(1), WorkspaceKey::from_bytes([5; 32]));
        ring
    }

    #[test]
    fn only_the_recipient_unwraps() {
        let alice = ExchangeSecret::derive(&SigningKey::from_bytes(&[1; 32]));
        let bob = ExchangeSecret::derive(&SigningKey::from_bytes(&[2; 32]));
        let wrapped = wrap_ring(&ring(), &alice.public(), b"ws", [7; 32], [8; 24]).unwrap();
        assert_eq!(WrappedRing::decode(&wrapped.encode()).unwrap(), wrapped);
        assert!(WrappedRing::decode(&wrapped.encode()[..40]).is_err());
        assert_eq!(unwrap_ring(&wrapped, &alice, b"ws").unwrap(), ring());
        assert_eq!(unwrap_ring(&wrapped, &bob, b"ws"), Err(WrapError::NotForUs));
        let stolen = WrappedRing {
            recipient: bob.public(),
            ..wrapped.clone()
        };
        assert_eq!(
            unwrap_ring(&stolen, &bob, b"ws"),
            Err(WrapError::Undecryptable)
        );
        assert_eq!(
            unwrap_ring(&wrapped, &alice, b"other"),
            Err(WrapError::Undecryptable)
        );
    }

    #[test]
    fn invite_secret_opens_its_ring_and_nothing_else() {
        let sealed = seal_ring_with_secret(&ring(), &[3; 32], b"ws", [9; 24]).unwrap();
        assert_eq!(
            open_ring_with_secret(&sealed, &[3; 32], b"ws", [9; 24]).unwrap(),
            ring()
        );
        assert_eq!(
            open_ring_with_secret(&sealed, &[4; 32], b"ws", [9; 24]),
            Err(WrapError::Undecryptable)
        );
    }
}
