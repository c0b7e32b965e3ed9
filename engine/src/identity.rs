//! Who this replica is: the organisation, its type, its signing key and its Automerge actor.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{SigningKey, VerifyingKey};

/// The kinds of organisation that take part in a partnership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrgType {
    /// A municipality.
    Gemeente,
    /// A school partnership for inclusive education.
    Samenwerkingsverband,
    /// A youth care provider.
    Aanbieder,
    /// A school or school board.
    Onderwijs,
    /// A municipal public health service.
    Ggd,
    /// Young people, as an equal partner.
    Jongeren,
    /// Parents, as an equal partner.
    Ouders,
    /// Anything else.
    Anders,
}

impl OrgType {
    /// Every type, in the order they are offered.
    pub const ALL: [OrgType; 8] = [
        OrgType::Gemeente,
        OrgType::Samenwerkingsverband,
        OrgType::Aanbieder,
        OrgType::Onderwijs,
        OrgType::Ggd,
        OrgType::Jongeren,
        OrgType::Ouders,
        OrgType::Anders,
    ];

    /// The type's name as typed and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgType::Gemeente => "gemeente",
            OrgType::Samenwerkingsverband => "samenwerkingsverband",
            OrgType::Aanbieder => "aanbieder",
            OrgType::Onderwijs => "onderwijs",
            OrgType::Ggd => "ggd",
            OrgType::Jongeren => "jongeren",
            OrgType::Ouders => "ouders",
            OrgType::Anders => "anders",
        }
    }
}

impl fmt::Display for OrgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The full word for a youth care provider, accepted beside the short `aanbieder`.
pub const JEUGDHULPAANBIEDER: &str = "jeugdhulpaanbieder";

/// An organisation type that kompas does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "onbekend organisatietype {0:?}; kies uit gemeente, samenwerkingsverband, jeugdhulpaanbieder (of aanbieder), onderwijs, ggd, jongeren, ouders, anders"
)]
pub struct UnknownOrgType(pub String);

impl FromStr for OrgType {
    type Err = UnknownOrgType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == JEUGDHULPAANBIEDER {
            return Ok(OrgType::Aanbieder);
        }
        OrgType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownOrgType(s.to_string()))
    }
}

/// The public description of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrgProfile {
    /// Display name, e.g. "Gemeente Zwolle".
    pub name: String,
    /// What kind of organisation it is.
    #[serde(rename = "type")]
    pub org_type: OrgType,
    /// A stable id derived from the public key (16 hex characters).
    pub org_id: String,
}

/// The full identity of this replica, including secrets. Kept in the local store only.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// The organisation.
    pub profile: OrgProfile,
    /// The Ed25519 secret key seed (hex).
    secret: String,
    /// The Automerge actor id this replica writes with (hex).
    pub actor: String,
}

/// Why a stored identity could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("de opgeslagen identiteit is beschadigd: {0}")]
pub struct IdentityError(pub String);

impl Identity {
    /// Creates an identity from caller-supplied randomness.
    pub fn new(name: &str, org_type: OrgType, secret_seed: [u8; 32], actor: [u8; 16]) -> Identity {
        let key = SigningKey::from_bytes(&secret_seed);
        Identity {
            profile: OrgProfile {
                name: name.to_string(),
                org_type,
                org_id: org_id_of(&key.verifying_key()),
            },
            secret: hex(&secret_seed),
            actor: hex(&actor),
        }
    }

    /// The signing key.
    pub fn signing_key(&self) -> Result<SigningKey, IdentityError> {
        let bytes = unhex(&self.secret).ok_or_else(|| IdentityError("geheime sleutel".into()))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| IdentityError("geheime sleutel heeft de verkeerde lengte".into()))?;
        Ok(SigningKey::from_bytes(&seed))
    }

    /// The public key.
    pub fn verifying_key(&self) -> Result<VerifyingKey, IdentityError> {
        Ok(self.signing_key()?.verifying_key())
    }

    /// A human-checkable fingerprint of the public key: 8 groups of 4 hex digits.
    pub fn fingerprint(&self) -> Result<String, IdentityError> {
        Ok(fingerprint(&self.verifying_key()?))
    }

    /// The Automerge actor id.
    pub fn actor_id(&self) -> Result<automerge::ActorId, IdentityError> {
        unhex(&self.actor)
            .map(automerge::ActorId::from)
            .ok_or_else(|| IdentityError("actor".into()))
    }
}

/// The organisation id for a public key: the first 8 bytes of its BLAKE3 hash, in hex.
pub fn org_id_of(key: &VerifyingKey) -> String {
    hex(&blake3::hash(key.as_bytes()).as_bytes()[..8])
}

/// The fingerprint of a public key: its BLAKE3 hash's first 16 bytes in groups of 4 hex digits.
pub fn fingerprint(key: &VerifyingKey) -> String {
    fingerprint_of(key.as_bytes(), 16)
}

/// The first `len` bytes of the BLAKE3 hash of a public key's bytes, in groups of 4 hex digits.
pub fn fingerprint_of(key: &[u8; 32], len: usize) -> String {
    let h = hex(&blake3::hash(key).as_bytes()[..len.min(32)]);
    h.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lowercase hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Bytes from lowercase or uppercase hex, or `None` if it is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => Some(digit(*hi)? << 4 | digit(*lo)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_stable_for_the_same_seed() {
        let a = Identity::new("Gemeente Zwolle", OrgType::Gemeente, [7; 32], [1; 16]);
        let b = Identity::new("Gemeente Zwolle", OrgType::Gemeente, [7; 32], [1; 16]);
        assert_eq!(a.profile.org_id, b.profile.org_id);
        assert_eq!(a.profile.org_id.len(), 16);
        assert_eq!(a.fingerprint().unwrap().split(' ').count(), 8);
        assert_eq!(a.actor_id().unwrap().to_hex_string(), "01".repeat(16));
    }

    #[test]
    fn org_types_round_trip_and_refuse_unknowns() {
        for t in OrgType::ALL {
            assert_eq!(t.as_str().parse::<OrgType>().unwrap(), t);
        }
        assert_eq!(
            JEUGDHULPAANBIEDER.parse::<OrgType>().unwrap(),
            OrgType::Aanbieder
        );
        assert!("bedrijf".parse::<OrgType>().is_err());
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(&[0, 15, 255])).unwrap(), vec![0, 15, 255]);
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }
}
