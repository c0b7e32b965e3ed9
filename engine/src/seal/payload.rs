//! The plaintext inside a sealed bundle: which document, its author's own sequence number, and
//! its Automerge changes or snapshot, padded to a size class so that a ciphertext's length tells
//! a relay only roughly how much changed.

use crate::document::DocId;

/// The version byte of the payload encoding written now: with the author's sequence number,
/// padded to a size class.
const PAYLOAD_VERSION: u8 = 3;
/// Padded, without a sequence number; still read.
const PAYLOAD_VERSION_PADDED: u8 = 2;
/// The unpadded encoding of the first version, still read.
const PAYLOAD_VERSION_UNPADDED: u8 = 1;
/// The smallest size class.
const MIN_CLASS: usize = 256;
/// Up to this size classes are powers of two; above it, multiples of it.
const LARGE_CLASS: usize = 256 * 1024;

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
    /// The author's own sequence number for this bundle: 1 for the first bundle it sealed in
    /// the workspace, then one more for each. `0` in payloads of versions 1 and 2, which have
    /// none. A removal fixes the last number of the removed member that counts
    /// (see the member list's `Remove` operation).
    pub seq: u64,
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
    /// The binary form: version, form, the sequence number (`u64`), id length, id, the
    /// Automerge bytes' length (`u32`), the Automerge bytes, then zeros up to the size class
    /// (see [`size_class`]).
    pub fn encode(&self) -> Vec<u8> {
        let id = self.doc.as_str().as_bytes();
        let len = 15 + id.len() + self.data.len();
        let mut out = Vec::with_capacity(size_class(len));
        out.push(PAYLOAD_VERSION);
        out.push(match self.form {
            PayloadForm::Changes => 1,
            PayloadForm::Snapshot => 2,
        });
        out.extend_from_slice(&self.seq.to_be_bytes());
        // Document ids are at most 64 bytes long, so their length fits a byte.
        out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(id);
        out.extend_from_slice(
            &u32::try_from(self.data.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        out.extend_from_slice(&self.data);
        out.resize(size_class(len), 0);
        out
    }

    /// Reads the binary form written by [`Payload::encode`], or those of versions 1 and 2.
    pub fn decode(bytes: &[u8]) -> Result<Payload, PayloadError> {
        let malformed = |what: &str| PayloadError::Malformed(what.to_string());
        let [version, form, rest @ ..] = bytes else {
            return Err(malformed("te kort"));
        };
        if ![
            PAYLOAD_VERSION,
            PAYLOAD_VERSION_PADDED,
            PAYLOAD_VERSION_UNPADDED,
        ]
        .contains(version)
        {
            return Err(PayloadError::Version(*version));
        }
        let form = match form {
            1 => PayloadForm::Changes,
            2 => PayloadForm::Snapshot,
            _ => return Err(malformed("onbekende vorm")),
        };
        let (seq, rest) = if *version == PAYLOAD_VERSION {
            let (seq, rest) = rest
                .split_first_chunk::<8>()
                .ok_or_else(|| malformed("volgnummer afgekapt"))?;
            (u64::from_be_bytes(*seq), rest)
        } else {
            (0, rest)
        };
        let [id_len, rest @ ..] = rest else {
            return Err(malformed("te kort"));
        };
        let (id, rest) = rest
            .split_at_checked(usize::from(*id_len))
            .ok_or_else(|| malformed("document-id afgekapt"))?;
        let id = std::str::from_utf8(id).map_err(|_| malformed("document-id geen tekst"))?;
        let doc = DocId::parse(id).map_err(|e| PayloadError::Malformed(e.to_string()))?;
        let data = if *version == PAYLOAD_VERSION_UNPADDED {
            rest
        } else {
            let (len, rest) = rest
                .split_first_chunk::<4>()
                .ok_or_else(|| malformed("lengte afgekapt"))?;
            let len = usize::try_from(u32::from_be_bytes(*len)).unwrap_or(usize::MAX);
            let (data, padding) = rest
                .split_at_checked(len)
                .ok_or_else(|| malformed("inhoud afgekapt"))?;
            if padding.iter().any(|b| *b != 0) {
                return Err(malformed("opvulling bevat gegevens"));
            }
            data
        };
        Ok(Payload {
            doc,
            form,
            data: data.to_vec(),
            seq,
        })
    }
}

/// The size a payload of `len` bytes is padded to: the next power of two from 256 bytes up to
/// 256 KiB, above that the next multiple of 256 KiB (so padding adds at most 256 KiB, and a
/// bundle of at most 1 MiB of changes stays far below the bundle limit).
pub fn size_class(len: usize) -> usize {
    if len <= LARGE_CLASS {
        len.max(MIN_CLASS).next_power_of_two()
    } else {
        len.div_ceil(LARGE_CLASS).saturating_mul(LARGE_CLASS)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn payloads_round_trip(id in "[a-z0-9]{1,64}", data in proptest::collection::vec(any::<u8>(), 0..200), snap in any::<bool>(), seq in any::<u64>()) {
            let payload = Payload {
                doc: DocId::parse(&id).unwrap(),
                form: if snap { PayloadForm::Snapshot } else { PayloadForm::Changes },
                data,
                seq,
            };
            let encoded = payload.encode();
            prop_assert_eq!(encoded.len(), size_class(encoded.len()));
            prop_assert_eq!(Payload::decode(&encoded).unwrap(), payload);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Payload::decode(&bytes);
        }
    }

    #[test]
    fn size_classes_and_the_unpadded_version_one() {
        assert_eq!(
            [1, 256, 257, 4000, 262_144, 262_145, 1_048_700].map(size_class),
            [256, 256, 512, 4096, 262_144, 524_288, 1_310_720]
        );
        let old = [1, 1, 3, b'a', b'b', b'c', 0xde, 0xad];
        let payload = Payload::decode(&old).unwrap();
        assert_eq!(payload.doc.as_str(), "abc");
        assert_eq!(payload.data, [0xde, 0xad]);
        assert_eq!(payload.seq, 0);
        let mut padded = payload.encode();
        let last = padded.len() - 1;
        padded[last] = 1;
        assert!(matches!(
            Payload::decode(&padded),
            Err(PayloadError::Malformed(_))
        ));
    }

    #[test]
    fn version_two_reads_without_a_sequence_number() {
        let mut old = vec![2, 2, 3, b'a', b'b', b'c', 0, 0, 0, 1, 0x42];
        old.resize(256, 0);
        let payload = Payload::decode(&old).unwrap();
        assert_eq!(
            (payload.form, payload.data, payload.seq),
            (PayloadForm::Snapshot, vec![0x42], 0)
        );
        assert!(matches!(
            Payload::decode(&[3, 1, 0, 0, 0]),
            Err(PayloadError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_versions_are_named() {
        assert_eq!(
            Payload::decode(&[9, 1, 1, b'a']),
            Err(PayloadError::Version(9))
        );
    }
}
