//! Fixed-size identifiers on the wire: workspaces, organisation keys, hashes and signatures.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};

use crate::identity::{hex, unhex};

/// Text that should have been a fixed number of hex bytes but was not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} moet {len} bytes in hex zijn, niet {found:?}")]
pub struct BadHex {
    /// What was being parsed.
    pub what: &'static str,
    /// The expected number of bytes.
    pub len: usize,
    /// The text found.
    pub found: String,
}

macro_rules! fixed_bytes {
    ($(#[$doc:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex(&self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), hex(&self.0))
            }
        }

        impl FromStr for $name {
            type Err = BadHex;
            fn from_str(s: &str) -> Result<Self, BadHex> {
                unhex(s)
                    .and_then(|b| <[u8; $len]>::try_from(b).ok())
                    .map($name)
                    .ok_or_else(|| BadHex { what: $what, len: $len, found: s.to_string() })
            }
        }
    };
}

fixed_bytes!(
    /// A workspace (samenwerking) id: 16 random bytes chosen by its creator.
    WorkspaceId, 16, "samenwerkings-id"
);
fixed_bytes!(
    /// An organisation's Ed25519 public key, as raw bytes (checked when used).
    OrgKey, 32, "organisatiesleutel"
);
fixed_bytes!(
    /// An organisation's X25519 public key, used by members to wrap workspace keys for it.
    KxKey, 32, "uitwisselsleutel"
);
fixed_bytes!(
    /// A BLAKE3 hash: the content address of a bundle or membership operation.
    Hash32, 32, "hash"
);
fixed_bytes!(
    /// An opaque document address inside a workspace (replicas choose it, e.g. a keyed hash).
    DocRef, 32, "documentadres"
);
fixed_bytes!(
    /// An Ed25519 signature.
    Sig, 64, "handtekening"
);

impl OrgKey {
    /// The public key of a signing key.
    pub fn of(key: &SigningKey) -> OrgKey {
        OrgKey(key.verifying_key().to_bytes())
    }

    /// Whether `sig` is this key's strict Ed25519 signature over `message`. A key that is not a
    /// valid curve point verifies nothing.
    pub fn verifies(&self, message: &[u8], sig: &Sig) -> bool {
        match VerifyingKey::from_bytes(&self.0) {
            Ok(key) => key
                .verify_strict(message, &Signature::from_bytes(&sig.0))
                .is_ok(),
            Err(_) => false,
        }
    }

    /// The organisation id kompas shows for this key (see [`crate::identity::org_id_of`]).
    pub fn org_id(&self) -> String {
        hex(&blake3::hash(&self.0).as_bytes()[..8])
    }

    /// The short fingerprint two people compare by telephone before a coordinator confirms a
    /// join: four groups of four hex digits (64 bits), the start of the fingerprint
    /// `kompas whoami` shows.
    pub fn short_fingerprint(&self) -> String {
        crate::identity::fingerprint_of(&self.0, 8)
    }
}

impl Sig {
    /// Signs `message` with `key`.
    pub fn sign(key: &SigningKey, message: &[u8]) -> Sig {
        use ed25519_dalek::Signer;
        Sig(key.sign(message).to_bytes())
    }
}

impl Hash32 {
    /// The BLAKE3 hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Hash32 {
        Hash32(*blake3::hash(bytes).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sign_verify_and_print_as_hex() {
        let sk = SigningKey::from_bytes(&[3; 32]);
        let key = OrgKey::of(&sk);
        let sig = Sig::sign(&sk, b"hallo");
        assert!(key.verifies(b"hallo", &sig));
        assert!(!key.verifies(b"hallo!", &sig));
        assert_eq!(key.to_string().parse::<OrgKey>().unwrap(), key);
        assert!("abc".parse::<WorkspaceId>().is_err());
        assert_eq!(
            key.org_id(),
            crate::identity::org_id_of(&sk.verifying_key())
        );
    }
}
