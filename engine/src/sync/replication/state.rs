//! What a replica remembers about its workspace between runs, kept in the store's metadata.
//!
//! The state is written after every event that changed it and before any effect that depends on
//! it is returned, so a crash never loses a queued local change or moves a cursor past a bundle
//! that was not applied.

use crate::sync::wire::Encoded;
use std::collections::{BTreeMap, BTreeSet};

use crate::document::DocId;
use crate::identity::{hex, unhex};
use crate::seal::KeyRing;
use crate::store::{Store, StoreError};
use crate::sync::membership::SignedOp;
use crate::sync::wire::{SealedBundle, WireError, WorkspaceId};

/// The metadata key the state lives under.
pub const STATE_KEY: &str = "sync-workspace";
/// The metadata key of the cursors, which change far more often than the rest.
pub const CURSORS_KEY: &str = "sync-cursors";

/// A sealed bundle waiting for relays to acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Outgoing {
    /// The bundle's content address (hex), as relays acknowledge it.
    pub hash: String,
    /// The encoded bundle (hex).
    #[serde(with = "hex_bytes")]
    pub bundle: Vec<u8>,
    /// The relays that have not acknowledged it yet.
    pub waiting_for: BTreeSet<String>,
}

/// The replica's persistent sync state for its workspace.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkspaceState {
    /// The workspace id (hex).
    pub workspace: String,
    /// The relays the workspace uses, in the order they were added.
    pub relays: Vec<String>,
    /// The membership log as the first relay confirmed it, each operation encoded (hex).
    #[serde(with = "hex_list")]
    pub log: Vec<Vec<u8>>,
    /// Operations signed here that the first relay has not confirmed yet, in order (hex).
    #[serde(with = "hex_list", default)]
    pub pending: Vec<Vec<u8>>,
    /// Every workspace key this replica holds.
    pub ring: KeyRing,
    /// Per relay: the highest sequence number up to which every bundle was handled (kept
    /// under its own key).
    #[serde(skip)]
    pub cursors: BTreeMap<String, u64>,
    /// Sealed local changes not yet acknowledged by every relay.
    pub outbox: Vec<Outgoing>,
    /// Per document: the heads at which this replica last sealed its own changes (hex).
    pub sealed_at: BTreeMap<DocId, Vec<String>>,
    /// Bundles that could not be applied yet (missing dependencies, keys or members), hex.
    #[serde(with = "hex_list")]
    pub parked: Vec<Vec<u8>>,
    /// The token of the invite this replica still has to redeem (hex), if it is joining.
    pub redeem: Option<String>,
}

/// The part of the state that holds the member list, read without decoding the rest.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct MembershipView {
    #[serde(with = "hex_list")]
    log: Vec<Vec<u8>>,
    #[serde(with = "hex_list", default)]
    pending: Vec<Vec<u8>>,
}

impl MembershipView {
    /// The membership log, decoded.
    pub fn log_ops(&self) -> Result<Vec<SignedOp>, StateError> {
        decode_ops(&self.log)
    }

    /// The pending local operations, decoded.
    pub fn pending_ops(&self) -> Result<Vec<SignedOp>, StateError> {
        decode_ops(&self.pending)
    }
}

fn decode_ops(raw: &[Vec<u8>]) -> Result<Vec<SignedOp>, StateError> {
    Ok(raw
        .iter()
        .map(|b| SignedOp::from_bytes(b))
        .collect::<Result<_, _>>()?)
}

/// Why the stored state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored text is not a workspace state.
    #[error("de opgeslagen synchronisatiestatus is beschadigd: {0}")]
    Corrupt(String),
    /// A stored operation or bundle does not decode.
    #[error("de opgeslagen synchronisatiestatus is beschadigd: {0}")]
    Wire(#[from] WireError),
}

impl WorkspaceState {
    /// A state for a workspace with nothing synced yet.
    pub fn new(workspace: WorkspaceId, relays: Vec<String>, ring: KeyRing) -> WorkspaceState {
        WorkspaceState {
            workspace: workspace.to_string(),
            cursors: relays.iter().map(|r| (r.clone(), 0)).collect(),
            relays,
            log: Vec::new(),
            pending: Vec::new(),
            ring,
            outbox: Vec::new(),
            sealed_at: BTreeMap::new(),
            parked: Vec::new(),
            redeem: None,
        }
    }

    /// Reads the state from the store, if the replica belongs to a workspace.
    pub fn load(store: &impl Store) -> Result<Option<WorkspaceState>, StateError> {
        let corrupt = |e: serde_json::Error| StateError::Corrupt(e.to_string());
        let Some(bytes) = store.get_meta(STATE_KEY)?.filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        let mut state: WorkspaceState = serde_json::from_slice(&bytes).map_err(corrupt)?;
        if let Some(bytes) = store.get_meta(CURSORS_KEY)? {
            state.cursors = serde_json::from_slice(&bytes).map_err(corrupt)?;
        }
        Ok(Some(state))
    }

    /// Reads only the member list part of the stored state, if there is one.
    pub fn membership_only(store: &impl Store) -> Result<Option<MembershipView>, StateError> {
        let Some(bytes) = store.get_meta(STATE_KEY)?.filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::Corrupt(e.to_string()))
    }

    /// Writes the whole state durably.
    pub fn save(&self, store: &impl Store) -> Result<(), StateError> {
        let bytes = serde_json::to_vec(self).map_err(|e| StateError::Corrupt(e.to_string()))?;
        store.put_meta(STATE_KEY, &bytes)?;
        self.save_cursors(store)
    }

    /// Forgets the workspace (after a join that did not go through).
    pub fn forget(store: &impl Store) -> Result<(), StateError> {
        store.put_meta(STATE_KEY, b"")?;
        store.put_meta(CURSORS_KEY, b"{}")?;
        Ok(())
    }

    /// Writes only the cursors durably.
    pub fn save_cursors(&self, store: &impl Store) -> Result<(), StateError> {
        let bytes =
            serde_json::to_vec(&self.cursors).map_err(|e| StateError::Corrupt(e.to_string()))?;
        store.put_meta(CURSORS_KEY, &bytes)?;
        Ok(())
    }

    /// The workspace id.
    pub fn workspace_id(&self) -> Result<WorkspaceId, StateError> {
        self.workspace
            .parse()
            .map_err(|e: crate::sync::wire::BadHex| StateError::Corrupt(e.to_string()))
    }

    /// The membership log, decoded.
    pub fn log_ops(&self) -> Result<Vec<SignedOp>, StateError> {
        decode_ops(&self.log)
    }

    /// The pending local operations, decoded.
    pub fn pending_ops(&self) -> Result<Vec<SignedOp>, StateError> {
        decode_ops(&self.pending)
    }

    /// The parked bundles, decoded.
    pub fn parked_bundles(&self) -> Result<Vec<SealedBundle>, StateError> {
        Ok(self
            .parked
            .iter()
            .map(|b| SealedBundle::from_bytes(b))
            .collect::<Result<_, _>>()?)
    }
}

mod hex_bytes {
    use super::{hex, unhex};

    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex(v))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        unhex(&text).ok_or_else(|| serde::de::Error::custom("geen hex"))
    }
}

mod hex_list {
    use super::{hex, unhex};

    pub fn serialize<S: serde::Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|b| hex(b)))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let texts: Vec<String> = serde::Deserialize::deserialize(d)?;
        texts
            .iter()
            .map(|t| unhex(t).ok_or_else(|| serde::de::Error::custom("geen hex")))
            .collect()
    }
}
