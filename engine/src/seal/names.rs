//! Sealing the short texts of the membership log (names) for members only.
//!
//! The nonce is not random but derived from the key, the associated data and the plaintext
//! (a synthetic nonce): the same name sealed twice for the same subject gives the same bytes,
//! and two different texts never share a nonce under one key. That lets a replica seal while
//! it signs an operation, without a source of randomness at hand.

use super::NONCE_LEN;
use super::cipher::{decrypt, encrypt};
use super::key::{Epoch, KeyRing};

/// Domain separation for the synthetic nonce.
const NONCE_CONTEXT: &[u8] = b"kompas/names/nonce/v1\0";

/// Encrypts `plaintext` bound to `aad` with the names key of `epoch`; `None` when the ring
/// does not hold that epoch or the text is too large to encrypt.
pub fn seal_text(
    ring: &KeyRing,
    epoch: Epoch,
    aad: &[u8],
    plaintext: &[u8],
) -> Option<([u8; NONCE_LEN], Vec<u8>)> {
    let key = ring.names_key(epoch)?;
    let mut hasher = blake3::Hasher::new_keyed(&key);
    hasher.update(NONCE_CONTEXT);
    hasher.update(&(aad.len() as u64).to_be_bytes());
    hasher.update(aad);
    hasher.update(plaintext);
    let mut nonce = [0; NONCE_LEN];
    nonce.copy_from_slice(&hasher.finalize().as_bytes()[..NONCE_LEN]);
    let ciphertext = encrypt(&key, &nonce, aad, plaintext).ok()?;
    Some((nonce, ciphertext))
}

/// Decrypts what [`seal_text`] sealed; `None` without the epoch's key or when the bytes do
/// not open (another key, other associated data, altered).
pub fn open_text(
    ring: &KeyRing,
    epoch: Epoch,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Option<Vec<u8>> {
    let key = ring.names_key(epoch)?;
    decrypt(&key, nonce, aad, ciphertext).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::WorkspaceKey;

    #[test]
    fn opens_only_with_the_epoch_key_and_the_same_aad() {
        let mut ring = KeyRing::with(Epoch(0), WorkspaceKey::from_bytes([1; 32]));
        ring.insert(Epoch(1), WorkspaceKey::from_bytes([2; 32]));
        let (nonce, sealed) = seal_text(&ring, Epoch(1), b"wie", b"Gemeente Zwolle").unwrap();
        assert_eq!(
            seal_text(&ring, Epoch(1), b"wie", b"Gemeente Zwolle")
                .unwrap()
                .0,
            nonce
        );
        assert_ne!(
            seal_text(&ring, Epoch(1), b"wie", b"Gemeente Kampen")
                .unwrap()
                .0,
            nonce
        );
        assert_eq!(
            open_text(&ring, Epoch(1), &nonce, b"wie", &sealed).unwrap(),
            b"Gemeente Zwolle"
        );
        assert!(open_text(&ring, Epoch(0), &nonce, b"wie", &sealed).is_none());
        assert!(open_text(&ring, Epoch(1), &nonce, b"ander", &sealed).is_none());
        assert!(open_text(&ring, Epoch(7), &nonce, b"wie", &sealed).is_none());
        assert!(seal_text(&ring, Epoch(7), b"wie", b"x").is_none());
    }
}
