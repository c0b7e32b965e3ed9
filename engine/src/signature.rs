//! Detached Ed25519 signatures over the JSON form of a value, as workflow facts and published
//! definitions carry them: the author's public key and signature travel next to the value, and
//! the key must belong to the organisation the value names.

use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};

use crate::identity::{Identity, hex, org_id_of, unhex};

/// A public key and a signature, both hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detached {
    /// The author's Ed25519 public key.
    pub key: String,
    /// The signature over the value's JSON.
    pub sig: String,
}

/// Why a signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The value cannot be put into JSON.
    #[error("onleesbaar: {0}")]
    Unreadable(String),
    /// The local identity cannot sign.
    #[error("kan niet ondertekenen: {0}")]
    Identity(String),
    /// The key or signature is malformed or does not match.
    #[error("geen geldige handtekening")]
    Bad,
    /// The key is not the key of the organisation the value names.
    #[error("ondertekend met de sleutel van een andere organisatie")]
    WrongOrganisation,
}

/// Signs the JSON form of `value` as `identity`.
pub fn sign<T: serde::Serialize>(
    identity: &Identity,
    value: &T,
) -> Result<Detached, SignatureError> {
    let key = identity
        .signing_key()
        .map_err(|e| SignatureError::Identity(e.to_string()))?;
    let sig = key.sign(&canonical(value)?);
    Ok(Detached {
        key: hex(key.verifying_key().as_bytes()),
        sig: hex(&sig.to_bytes()),
    })
}

/// Checks that `detached` signs the JSON form of `value` with the key of organisation `org_id`.
pub fn verify<T: serde::Serialize>(
    value: &T,
    org_id: &str,
    detached: &Detached,
) -> Result<(), SignatureError> {
    let key_bytes: [u8; 32] = unhex(&detached.key)
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::Bad)?;
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| SignatureError::Bad)?;
    if org_id_of(&key) != org_id {
        return Err(SignatureError::WrongOrganisation);
    }
    let sig_bytes: [u8; 64] = unhex(&detached.sig)
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::Bad)?;
    key.verify(&canonical(value)?, &Signature::from_bytes(&sig_bytes))
        .map_err(|_| SignatureError::Bad)
}

fn canonical<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, SignatureError> {
    serde_json::to_vec(value).map_err(|e| SignatureError::Unreadable(e.to_string()))
}
