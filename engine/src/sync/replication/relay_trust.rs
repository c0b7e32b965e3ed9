//! What a replica trusts about each relay: the relay's own key, pinned, and the private
//! certificate authority its TLS certificate is checked against, if any.
//!
//! The key comes from the invite, from `--relay-key`, or is learnt on the first contact (trust
//! on first use) and pinned from then on: a relay that answers with another key, or cannot prove
//! it holds the pinned one, is refused ([`RelayRefusal`]). The CA is a file path the driver
//! reads; the machine only remembers it.

use crate::sync::wire::OrgKey;

/// The trust settings of one relay.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RelayTrust {
    /// The relay's Ed25519 public key (hex), once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A PEM file with the private CA that signed the relay's TLS certificate, trusted beside
    /// the system's trust store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
}

impl RelayTrust {
    /// The pinned key, if one is known and readable.
    pub fn pinned(&self) -> Option<OrgKey> {
        self.key.as_deref().and_then(|k| k.parse().ok())
    }
}

/// Why a relay was refused before this replica said who it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayRefusal {
    /// The relay answered with another key than the pinned one.
    #[error(
        "relay {relay} antwoordt met een andere relaysleutel ({found}) dan de vastgelegde \
         ({pinned}); dit is niet de relay van de samenwerking, of de sleutel is vervangen. \
         Er is niets uitgewisseld. Vraag de beheerder van de relay om de sleutel \
         (`kompas-relay key`) en haal de relay weg en voeg hem opnieuw toe met --relay-key \
         als de nieuwe sleutel klopt"
    )]
    KeyMismatch {
        /// The relay's address.
        relay: String,
        /// The key this replica pinned.
        pinned: OrgKey,
        /// The key the relay presented.
        found: OrgKey,
    },
    /// The relay did not prove it holds the key it presented.
    #[error(
        "relay {relay} bewijst niet dat hij de relaysleutel {found} bezit (de handtekening in \
         de handdruk klopt niet); er is niets uitgewisseld"
    )]
    NoProof {
        /// The relay's address.
        relay: String,
        /// The key the relay presented.
        found: OrgKey,
    },
}
