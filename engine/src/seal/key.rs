//! Workspace keys and epochs: the symmetric keys that seal a workspace's bundles, one per epoch.

use std::collections::BTreeMap;
use std::fmt;

use crate::identity::{hex, unhex};

const DOC_REF_CONTEXT: &str = "kompas 2026-12 document address key per epoch v2";
const NAMES_CONTEXT: &str = "kompas 2026-12 member names key per epoch v1";

/// A key generation of a workspace. Epoch 0 is the key the workspace was created with; every
/// removal of a member starts the next one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Epoch(pub u64);

impl Epoch {
    /// The epoch after this one.
    pub fn next(self) -> Epoch {
        Epoch(self.0.saturating_add(1))
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A 256-bit symmetric workspace key. Its bytes are random and come from the caller.
#[derive(Clone, PartialEq, Eq)]
pub struct WorkspaceKey([u8; 32]);

impl WorkspaceKey {
    /// A key from 32 random bytes supplied by the caller.
    pub fn from_bytes(random: [u8; 32]) -> WorkspaceKey {
        WorkspaceKey(random)
    }

    /// The raw key.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for WorkspaceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WorkspaceKey(..)")
    }
}

/// Every workspace key a member knows, by epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRing {
    keys: BTreeMap<Epoch, WorkspaceKey>,
}

/// Why bytes or text are not a key ring.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRingError {
    /// The encoding is cut short or has trailing bytes.
    #[error("sleutelbos: {0}")]
    Malformed(&'static str),
}

impl KeyRing {
    /// A ring holding one key.
    pub fn with(epoch: Epoch, key: WorkspaceKey) -> KeyRing {
        let mut ring = KeyRing::default();
        ring.insert(epoch, key);
        ring
    }

    /// Adds (or replaces) the key of an epoch.
    pub fn insert(&mut self, epoch: Epoch, key: WorkspaceKey) {
        self.keys.insert(epoch, key);
    }

    /// Adds every key of `other` this ring does not have yet.
    pub fn absorb(&mut self, other: &KeyRing) {
        for (epoch, key) in &other.keys {
            self.keys.entry(*epoch).or_insert_with(|| key.clone());
        }
    }

    /// The key of an epoch, if known.
    pub fn get(&self, epoch: Epoch) -> Option<&WorkspaceKey> {
        self.keys.get(&epoch)
    }

    /// The newest epoch and its key.
    pub fn current(&self) -> Option<(Epoch, &WorkspaceKey)> {
        self.keys.iter().next_back().map(|(e, k)| (*e, k))
    }

    /// The known epochs, oldest first.
    pub fn epochs(&self) -> impl Iterator<Item = Epoch> + '_ {
        self.keys.keys().copied()
    }

    /// The key that addresses documents towards relays in `epoch`: derived from that epoch's
    /// key, so a document's address changes with every key epoch and relays cannot link the
    /// bundles of one document across a key change. Every member that can open the epoch's
    /// bundles computes the same address.
    pub fn doc_ref_key(&self, epoch: Epoch) -> Option<[u8; 32]> {
        self.keys
            .get(&epoch)
            .map(|k| blake3::derive_key(DOC_REF_CONTEXT, k.as_bytes()))
    }

    /// The key that seals names in the membership log (the workspace's and the organisations')
    /// in `epoch`: derived from that epoch's key, so only members can read them.
    pub fn names_key(&self, epoch: Epoch) -> Option<[u8; 32]> {
        self.keys
            .get(&epoch)
            .map(|k| blake3::derive_key(NAMES_CONTEXT, k.as_bytes()))
    }

    /// Whether the ring holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The binary form: a count (u16, big endian) then per key its epoch (u64) and 32 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.keys.len() * 40);
        let count = u16::try_from(self.keys.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for (epoch, key) in self.keys.iter().take(usize::from(count)) {
            out.extend_from_slice(&epoch.0.to_be_bytes());
            out.extend_from_slice(key.as_bytes());
        }
        out
    }

    /// Reads the binary form written by [`KeyRing::encode`].
    pub fn decode(bytes: &[u8]) -> Result<KeyRing, KeyRingError> {
        let (count, mut rest) = bytes
            .split_first_chunk::<2>()
            .ok_or(KeyRingError::Malformed("geen lengte"))?;
        let mut ring = KeyRing::default();
        for _ in 0..u16::from_be_bytes(*count) {
            let (epoch, after) = rest
                .split_first_chunk::<8>()
                .ok_or(KeyRingError::Malformed("tijdvak ontbreekt"))?;
            let (key, after) = after
                .split_first_chunk::<32>()
                .ok_or(KeyRingError::Malformed("sleutel ontbreekt"))?;
            ring.insert(Epoch(u64::from_be_bytes(*epoch)), WorkspaceKey(*key));
            rest = after;
        }
        if !rest.is_empty() {
            return Err(KeyRingError::Malformed("bytes na het einde"));
        }
        Ok(ring)
    }

    /// The ring as hex text, for local storage.
    pub fn to_hex(&self) -> String {
        hex(&self.encode())
    }

    /// Reads the hex text written by [`KeyRing::to_hex`].
    pub fn from_hex(text: &str) -> Result<KeyRing, KeyRingError> {
        KeyRing::decode(&unhex(text).ok_or(KeyRingError::Malformed("geen hex"))?)
    }
}

impl serde::Serialize for KeyRing {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for KeyRing {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        KeyRing::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_round_trips_and_reports_the_newest_epoch() {
        let mut ring = KeyRing::with(Epoch(0), WorkspaceKey::from_bytes([1; 32]));
        ring.insert(Epoch(2), WorkspaceKey::from_bytes([3; 32]));
        let back = KeyRing::decode(&ring.encode()).unwrap();
        assert_eq!(back, ring);
        assert_eq!(back.current().unwrap().0, Epoch(2));
        assert_eq!(KeyRing::from_hex(&ring.to_hex()).unwrap(), ring);
    }

    #[test]
    fn truncated_rings_are_refused() {
        let ring = KeyRing::with(Epoch(0), WorkspaceKey::from_bytes([1; 32]));
        let bytes = ring.encode();
        for cut in 0..bytes.len() {
            assert!(KeyRing::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(KeyRing::decode(&long).is_err());
    }
}
