//! One publication of a definition, signed by the organisation that published it.

use crate::identity::Identity;
use crate::signature::{self, Detached, SignatureError};
use crate::time::Timestamp;

/// What a publication says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Publication {
    /// The definition's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// BLAKE3 of `body`, hex.
    pub hash: String,
    /// The exact text.
    pub body: String,
    /// The publishing organisation.
    pub org_id: String,
    /// Its name at the time.
    pub org: String,
    /// When it was published (the publisher's clock).
    pub at: Timestamp,
}

/// A publication with its author's key and signature.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedPublication {
    /// The publication.
    pub publication: Publication,
    /// The author's Ed25519 public key (hex).
    pub key: String,
    /// The signature over the publication's JSON (hex).
    pub sig: String,
}

impl SignedPublication {
    /// Signs `publication` as `identity`.
    pub fn sign(
        identity: &Identity,
        publication: Publication,
    ) -> Result<SignedPublication, SignatureError> {
        let Detached { key, sig } = signature::sign(identity, &publication)?;
        Ok(SignedPublication {
            publication,
            key,
            sig,
        })
    }

    /// Checks the signature and that the key is the named organisation's.
    pub fn verify(&self) -> Result<(), SignatureError> {
        let detached = Detached {
            key: self.key.clone(),
            sig: self.sig.clone(),
        };
        signature::verify(&self.publication, &self.publication.org_id, &detached)
    }

    /// The stored form: one JSON line.
    pub fn to_entry(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
