//! Document ids: short, lowercase, safe to type and to use as storage keys.

use std::fmt;

/// The alphabet of generated ids: Crockford's base32 in lowercase (no i, l, o or u).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The id of a document, e.g. `k7q3m9x2a0bd`.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct DocId(String);

/// Why a string is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is geen geldig document-id (1 tot 64 tekens: kleine letters, cijfers en -)")]
pub struct DocIdError(pub String);

impl DocId {
    /// Generates a 12-character id from 8 random bytes supplied by the caller.
    pub fn generate(random: [u8; 8]) -> DocId {
        let mut bits = u64::from_be_bytes(random);
        let mut out = String::with_capacity(12);
        for _ in 0..12 {
            out.push(char::from(ALPHABET[(bits & 31) as usize]));
            bits >>= 5;
        }
        DocId(out)
    }

    /// Checks a typed or stored id.
    pub fn parse(s: &str) -> Result<DocId, DocIdError> {
        if is_valid(s) {
            Ok(DocId(s.to_string()))
        } else {
            Err(DocIdError(s.to_string()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DocId {
    type Error = DocIdError;
    /// Checks an id as [`DocId::parse`] does, keeping the string instead of copying it.
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if is_valid(&s) {
            Ok(DocId(s))
        } else {
            Err(DocIdError(s))
        }
    }
}

/// Whether `s` is a document id: 1 to 64 lowercase letters, digits and dashes, not starting
/// with a dash.
fn is_valid(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

impl From<DocId> for String {
    fn from(id: DocId) -> String {
        id.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_differ() {
        let a = DocId::generate([1, 2, 3, 4, 5, 6, 7, 8]);
        let b = DocId::generate([1, 2, 3, 4, 5, 6, 7, 9]);
        assert_eq!(a.as_str().len(), 12);
        assert_ne!(a, b);
        assert_eq!(DocId::parse(a.as_str()).unwrap(), a);
        assert_eq!(DocId::try_from(a.to_string()).unwrap(), a);
    }

    #[test]
    fn ids_refuse_unsafe_characters() {
        for bad in ["", "A", "a b", "a/b", "-a", &"x".repeat(65)] {
            assert!(DocId::parse(bad).is_err(), "{bad:?} accepted");
            assert!(
                DocId::try_from(bad.to_string()).is_err(),
                "{bad:?} accepted"
            );
        }
    }
}
