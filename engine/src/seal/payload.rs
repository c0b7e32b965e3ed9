//! The plaintext inside a sealed bundle: which document, and its Automerge changes or snapshot.

use crate::document::DocId;

/// The version byte of the payload encoding.
const PAYLOAD_VERSION: u8 = 1;

/// What the Automerge bytes of a payload are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayloadForm {
    /// Incremental changes (`save_after` output), applied with `load_incremental`.
    Changes,
    /// A full save of the document, for replicas that catch up.
    Snapshot,
}

/// The decrypted content of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The document the bytes belong to.
    pub doc: DocId,
    /// Whether the bytes are changes or a snapshot.
    pub form: PayloadForm,
    /// Automerge bytes.
    pub data: Vec<u8>,
}

/// Why decrypted bytes are not a payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The payload was written by a newer kompas.
    #[error("inhoud in versie {0}, die deze kompas niet kent")]
    Version(u8),
    /// The bytes are cut short or malformed.
    #[error("inhoud onleesbaar: {0}")]
    Malformed(String),
}

impl Payload {
    /// The binary form: version, form, id length, id, Automerge bytes.
    pub fn encode(&self) -> Vec<u8> {
        let id = self.doc.as_str().as_bytes();
        let mut out = Vec::with_capacity(3 + id.len() + self.data.len());
        out.push(PAYLOAD_VERSION);
        out.push(match self.form {
            PayloadForm::Changes => 1,
            PayloadForm::Snapshot => 2,
        });
        // Document ids are at most 64 bytes long, so their length fits a byte.
        out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(id);
        out.extend_from_slice(&self.data);
        out
    }

    /// Reads the binary form written by [`Payload::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Payload, PayloadError> {
        let malformed = |what: &str| PayloadError::Malformed(what.to_string());
        let [version, form, id_len, rest @ ..] = bytes else {
            return Err(malformed("te kort"));
        };
        if *version != PAYLOAD_VERSION {
            return Err(PayloadError::Version(*version));
        }
        let form = match form {
            1 => PayloadForm::Changes,
            2 => PayloadForm::Snapshot,
            _ => return Err(malformed("onbekende vorm")),
        };
        let (id, data) = rest
            .split_at_checked(usize::from(*id_len))
            .ok_or_else(|| malformed("document-id afgekapt"))?;
        let id = std::str::from_utf8(id).map_err(|_| malformed("document-id geen tekst"))?;
        let doc = DocId::parse(id).map_err(|e| PayloadError::Malformed(e.to_string()))?;
        Ok(Payload {
            doc,
            form,
            data: data.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn payloads_round_trip(id in "[a-z0-9]{1,64}", data in proptest::collection::vec(any::<u8>(), 0..200), snap in any::<bool>()) {
            let payload = Payload {
                doc: DocId::parse(&id).unwrap(),
                form: if snap { PayloadForm::Snapshot } else { PayloadForm::Changes },
                data,
            };
            prop_assert_eq!(Payload::decode(&payload.encode()).unwrap(), payload);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Payload::decode(&bytes);
        }
    }

    #[test]
    fn unknown_versions_are_named() {
        assert_eq!(
            Payload::decode(&[9, 1, 1, b'a']),
            Err(PayloadError::Version(9))
        );
    }
}
