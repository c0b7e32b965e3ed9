//! Key-exchange keys: each organisation's X25519 key pair, derived from its identity seed.

use std::fmt;

use ed25519_dalek::SigningKey;
use x25519_dalek::{X25519_BASEPOINT_BYTES, x25519};

use crate::identity::hex;

/// The domain under which the X25519 secret is derived from the Ed25519 seed.
const DERIVE_CONTEXT: &str = "kompas 2026-11 x25519 key-exchange key v1";

/// An organisation's X25519 secret. Derived, never stored on its own.
#[derive(Clone)]
pub struct ExchangeSecret([u8; 32]);

/// An organisation's X25519 public key, as published in the member list.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ExchangePublic(pub [u8; 32]);

impl ExchangeSecret {
    /// The key-exchange secret belonging to an identity's signing key.
    pub fn derive(signing: &SigningKey) -> ExchangeSecret {
        ExchangeSecret(blake3::derive_key(DERIVE_CONTEXT, &signing.to_bytes()))
    }

    /// A one-off secret from caller-supplied random bytes (for ephemeral keys).
    pub fn from_random(random: [u8; 32]) -> ExchangeSecret {
        ExchangeSecret(random)
    }

    /// The matching public key.
    pub fn public(&self) -> ExchangePublic {
        ExchangePublic(x25519(self.0, X25519_BASEPOINT_BYTES))
    }

    /// The shared secret with `theirs`, or `None` if their key is a low-order point.
    pub(crate) fn agree(&self, theirs: &ExchangePublic) -> Option<[u8; 32]> {
        let shared = x25519(self.0, theirs.0);
        (shared != [0; 32]).then_some(shared)
    }
}

impl fmt::Debug for ExchangeSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExchangeSecret(..)")
    }
}

impl fmt::Debug for ExchangePublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExchangePublic({})", hex(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_and_derivation_is_stable() {
        let a = ExchangeSecret::derive(&SigningKey::from_bytes(&[1; 32]));
        let b = ExchangeSecret::derive(&SigningKey::from_bytes(&[2; 32]));
        assert_eq!(a.agree(&b.public()), b.agree(&a.public()));
        assert_eq!(
            a.public(),
            ExchangeSecret::derive(&SigningKey::from_bytes(&[1; 32])).public()
        );
        assert_ne!(a.public(), b.public());
        assert_eq!(a.agree(&ExchangePublic([0; 32])), None);
    }
}
