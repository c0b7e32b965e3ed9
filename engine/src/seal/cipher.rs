//! The AEAD cipher every sealed thing uses: XChaCha20-Poly1305 with a caller-supplied nonce.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::NONCE_LEN;

/// Encryption failed: only possible for inputs far beyond any frame limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("te veel gegevens om te versleutelen")]
pub struct TooLarge;

/// Decryption failed: wrong key, wrong associated data, or altered ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ontsleutelen mislukt")]
pub struct Undecryptable;

/// Encrypts `plaintext` bound to `aad`.
pub(crate) fn encrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, TooLarge> {
    XChaCha20Poly1305::new(&(*key).into())
        .encrypt(
            &XNonce::from(*nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| TooLarge)
}

/// Decrypts and authenticates `ciphertext` bound to `aad`.
pub(crate) fn decrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, Undecryptable> {
    XChaCha20Poly1305::new(&(*key).into())
        .decrypt(
            &XNonce::from(*nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| Undecryptable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypts_only_with_the_same_key_nonce_and_aad() {
        let sealed = encrypt(&[1; 32], &[2; 24], b"ctx", b"hallo").unwrap();
        assert_eq!(
            decrypt(&[1; 32], &[2; 24], b"ctx", &sealed).unwrap(),
            b"hallo"
        );
        assert!(decrypt(&[9; 32], &[2; 24], b"ctx", &sealed).is_err());
        assert!(decrypt(&[1; 32], &[3; 24], b"ctx", &sealed).is_err());
        assert!(decrypt(&[1; 32], &[2; 24], b"ander", &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[0] ^= 1;
        assert!(decrypt(&[1; 32], &[2; 24], b"ctx", &flipped).is_err());
    }
}
