//! What a replica remembers about its workspace between runs, kept in the store's metadata.
//!
//! The state is written after every event that changed it and before any effect that depends on
//! it is returned, so a crash never loses a queued local change or moves a cursor past a bundle
//! that was not applied.
//!
//! Layout: the small, slowly changing part (workspace, relays, membership log, pending
//! operations, keys, invite to redeem) is one JSON value under [`STATE_KEY`]; the cursors are
//! under [`CURSORS_KEY`], the sequence numbers per author under [`AUTHORS_KEY`]; every queued outgoing bundle, every parked bundle and the sealed heads
//! of every document have a key of their own (under [`OUTBOX_PREFIX`], [`PARKED_PREFIX`] and
//! [`SEALED_PREFIX`]). A save writes, in one atomic batch, the cursors, the entries that changed
//! and, only when it changed, the small part, so handling one relay acknowledgement costs the
//! same however many bundles are queued. A store written when everything was one JSON value
//! loads as before and is converted on its first save.

use crate::sync::wire::Encoded;
use crate::sync::wire::codec::{Reader, Writer};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use automerge::ChangeHash;

use super::author_seqs::AuthorSeqs;
use super::queues::{Outbox, Parked, Tracked};
use super::relay_trust::RelayTrust;
use crate::document::DocId;
use crate::identity::{hex, unhex};
use crate::seal::KeyRing;
use crate::store::{MetaBatch, Store, StoreError};
use crate::sync::membership::SignedOp;
use crate::sync::wire::{Hash32, OrgKey, SealedBundle, WireError, WorkspaceId};

/// The metadata key the small part of the state lives under.
pub const STATE_KEY: &str = "sync-workspace";
/// The metadata key of the cursors, which change far more often than the rest.
pub const CURSORS_KEY: &str = "sync-cursors";
/// Where the sequence numbers sealed and applied per author are kept.
pub const AUTHORS_KEY: &str = "sync-authors";
/// Each queued outgoing bundle lives under this prefix and its position (16 hex digits).
pub const OUTBOX_PREFIX: &str = "sync-outbox/";
/// Each parked bundle lives under this prefix and its position (16 hex digits).
pub const PARKED_PREFIX: &str = "sync-parked/";
/// The heads each document was last sealed at live under this prefix and the document id.
pub const SEALED_PREFIX: &str = "sync-sealed/";

/// A sealed bundle waiting for relays to acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The bundle's content address, as relays acknowledge it.
    pub hash: Hash32,
    /// The sealed bundle, shared: taking one relay off its waiting list copies no bytes.
    pub bundle: Arc<SealedBundle>,
    /// The relays that have not acknowledged it yet.
    pub waiting_for: BTreeSet<String>,
}

impl Outgoing {
    /// A bundle waiting for `relays`.
    pub fn new(bundle: SealedBundle, waiting_for: BTreeSet<String>) -> Outgoing {
        Outgoing {
            hash: bundle.hash(),
            bundle: Arc::new(bundle),
            waiting_for,
        }
    }

    /// The stored form: the relays still waited for, then the bundle.
    fn to_stored(&self) -> Vec<u8> {
        let relays: Vec<&String> = self.waiting_for.iter().collect();
        let mut w = Writer::new();
        w.list(&relays, |w, r| w.str(r));
        w.bytes(&self.bundle.to_bytes());
        w.into_bytes()
    }

    fn from_stored(bytes: &[u8]) -> Result<Outgoing, WireError> {
        const WHAT: &str = "wachtende wijziging";
        let mut r = Reader::new(bytes);
        let waiting_for = r.list(WHAT, |r| r.str(WHAT))?.into_iter().collect();
        let bundle = SealedBundle::from_bytes(r.bytes(WHAT)?)?;
        r.finish(WHAT)?;
        Ok(Outgoing::new(bundle, waiting_for))
    }
}

/// A queued bundle as the old single-value layout stored it (its hash is computed again).
#[derive(serde::Deserialize)]
struct OldOutgoing {
    #[serde(with = "hex_bytes")]
    bundle: Vec<u8>,
    waiting_for: BTreeSet<String>,
}

/// The replica's persistent sync state for its workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceState {
    /// The workspace id (hex).
    pub workspace: String,
    /// The relays the workspace uses, in the order they were added.
    pub relays: Vec<String>,
    /// Per relay: its pinned key and private CA, where known (a state from before pinning has
    /// none, and pins each relay's key on the next contact).
    pub relay_trust: BTreeMap<String, RelayTrust>,
    /// The membership log as the first relay confirmed it.
    pub log: Vec<SignedOp>,
    /// Operations signed here that the first relay has not confirmed yet, in order.
    pub pending: Vec<SignedOp>,
    /// Every workspace key this replica holds.
    pub ring: KeyRing,
    /// Per relay: the highest sequence number up to which every bundle was handled.
    pub cursors: BTreeMap<String, u64>,
    /// Sealed local changes not yet acknowledged by every relay.
    pub outbox: Outbox,
    /// Per document: the heads at which this replica last sealed its own changes.
    pub sealed_at: Tracked<DocId, Vec<ChangeHash>>,
    /// Bundles that could not be applied yet (missing dependencies, keys or members).
    pub parked: Parked,
    /// The token of the invite this replica still has to redeem (hex), if it is joining.
    pub redeem: Option<String>,
    /// The token of the invite this replica redeemed (hex): it proves the candidacy to a relay
    /// that has not seen the redeem yet, so that the relay lets it read the log and pass the
    /// redeem on.
    pub joined_with: Option<String>,
    /// Per author, the bundle sequence numbers sealed (own) or applied here; change it with
    /// [`WorkspaceState::record_author`], so the next save writes it.
    pub authors: AuthorSeqs,
    authors_changed: bool,
    /// Loaded from the old single-value layout: the next save writes everything anew.
    convert: bool,
    /// Keys under the entry prefixes found when the old layout was loaded: the conversion
    /// renumbers the entries, so its save deletes these first.
    stale_keys: Vec<String>,
}

/// The small part of the state as it is stored. The last three fields are only read, from
/// stores written when the whole state was this one value.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    workspace: String,
    relays: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    relay_trust: BTreeMap<String, RelayTrust>,
    #[serde(with = "hex_list")]
    log: Vec<Vec<u8>>,
    #[serde(with = "hex_list", default)]
    pending: Vec<Vec<u8>>,
    ring: KeyRing,
    redeem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    joined_with: Option<String>,
    #[serde(default, skip_serializing)]
    outbox: Vec<OldOutgoing>,
    #[serde(default, skip_serializing)]
    sealed_at: BTreeMap<DocId, Vec<ChangeHash>>,
    #[serde(with = "hex_list", default, skip_serializing)]
    parked: Vec<Vec<u8>>,
}

/// The part of the state that holds the member list, read without decoding the rest.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct MembershipView {
    #[serde(with = "hex_list")]
    log: Vec<Vec<u8>>,
    #[serde(with = "hex_list", default)]
    pending: Vec<Vec<u8>>,
    #[serde(default)]
    ring: KeyRing,
}

impl MembershipView {
    /// The key ring, which opens the names sealed in the log.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

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
            relay_trust: BTreeMap::new(),
            log: Vec::new(),
            pending: Vec::new(),
            ring,
            outbox: Outbox::default(),
            sealed_at: Tracked::default(),
            parked: Parked::default(),
            redeem: None,
            joined_with: None,
            authors: AuthorSeqs::default(),
            authors_changed: false,
            convert: false,
            stale_keys: Vec::new(),
        }
    }

    /// Reads the state from the store, if the replica belongs to a workspace.
    pub fn load(store: &impl Store) -> Result<Option<WorkspaceState>, StateError> {
        let Some(bytes) = store.get_meta(STATE_KEY)?.filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        let stored: Stored = serde_json::from_slice(&bytes).map_err(corrupt)?;
        let convert =
            !stored.outbox.is_empty() || !stored.sealed_at.is_empty() || !stored.parked.is_empty();
        let mut state = WorkspaceState {
            workspace: stored.workspace,
            relays: stored.relays,
            relay_trust: stored.relay_trust,
            log: decode_ops(&stored.log)?,
            pending: decode_ops(&stored.pending)?,
            ring: stored.ring,
            cursors: BTreeMap::new(),
            outbox: Outbox::default(),
            sealed_at: Tracked::default(),
            parked: Parked::default(),
            redeem: stored.redeem,
            joined_with: stored.joined_with,
            authors: AuthorSeqs::default(),
            authors_changed: false,
            convert,
            stale_keys: Vec::new(),
        };
        if let Some(bytes) = store.get_meta(CURSORS_KEY)? {
            state.cursors = serde_json::from_slice(&bytes).map_err(corrupt)?;
        }
        if let Some(bytes) = store.get_meta(AUTHORS_KEY)? {
            state.authors = serde_json::from_slice(&bytes).map_err(corrupt)?;
        }
        // Entries of the old layout come first; entries under their own keys can only sit
        // beside them if an older version wrote the old layout again, and are kept too (a
        // bundle sent twice is harmless, a lost one is not).
        let mut at = 0;
        for item in stored.outbox {
            let bundle = SealedBundle::from_bytes(&item.bundle)?;
            state
                .outbox
                .loaded(at, Outgoing::new(bundle, item.waiting_for));
            at += 1;
        }
        for (doc, heads) in stored.sealed_at {
            state.sealed_at.loaded(doc, heads);
        }
        let mut parked_at = 0;
        for bytes in &stored.parked {
            state
                .parked
                .loaded(parked_at, SealedBundle::from_bytes(bytes)?);
            parked_at += 1;
        }
        for (key, value) in store.scan_meta(OUTBOX_PREFIX)? {
            let seq = position(&key, OUTBOX_PREFIX)?;
            if convert {
                state.stale_keys.push(key.clone());
            }
            state
                .outbox
                .loaded(at + seq, Outgoing::from_stored(&value)?);
        }
        for (key, value) in store.scan_meta(PARKED_PREFIX)? {
            let seq = position(&key, PARKED_PREFIX)?;
            if convert {
                state.stale_keys.push(key.clone());
            }
            state
                .parked
                .loaded(parked_at + seq, SealedBundle::from_bytes(&value)?);
        }
        for (key, value) in store.scan_meta(SEALED_PREFIX)? {
            if convert {
                state.stale_keys.push(key.clone());
            }
            let doc = key
                .strip_prefix(SEALED_PREFIX)
                .and_then(|id| DocId::parse(id).ok())
                .ok_or_else(|| StateError::Corrupt(format!("onbekende sleutel {key}")))?;
            state
                .sealed_at
                .loaded(doc, serde_json::from_slice(&value).map_err(corrupt)?);
        }
        Ok(Some(state))
    }

    /// Reads only the member list part of the stored state, if there is one.
    pub fn membership_only(store: &impl Store) -> Result<Option<MembershipView>, StateError> {
        let Some(bytes) = store.get_meta(STATE_KEY)?.filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(corrupt)
    }

    /// Writes durably, in one atomic batch, what [`WorkspaceState::save_batch`] gives.
    pub fn save(&mut self, store: &impl Store, whole: bool) -> Result<(), StateError> {
        let batch = self.save_batch(whole)?;
        store.write_meta(&batch)?;
        Ok(())
    }

    /// The writes that make the state durable, to be applied as one atomic batch: the cursors,
    /// every outbox entry, parked bundle and sealed heads that changed since the last batch,
    /// and the small part of the state when `whole` is set (and always on the first batch
    /// after loading the old layout). The state counts as saved from here on: a caller whose
    /// write fails must load the state again rather than go on with this one.
    pub fn save_batch(&mut self, whole: bool) -> Result<MetaBatch, StateError> {
        let mut batch = MetaBatch::default();
        if whole || self.convert {
            batch.put(STATE_KEY, self.stored_bytes()?);
        }
        let cursors = serde_json::to_vec(&self.cursors).map_err(corrupt)?;
        batch.put(CURSORS_KEY, cursors);
        if self.authors_changed || whole || self.convert {
            batch.put(
                AUTHORS_KEY,
                serde_json::to_vec(&self.authors).map_err(corrupt)?,
            );
        }
        if self.convert {
            // The entries were renumbered while loading: clear every old key first.
            for key in std::mem::take(&mut self.stale_keys) {
                batch.delete(key);
            }
            self.outbox.entries.mark_all();
            self.parked.entries.mark_all();
            self.sealed_at.mark_all();
        }
        for (seq, item) in self.outbox.entries.changes() {
            let key = format!("{OUTBOX_PREFIX}{seq:016x}");
            match item {
                Some(item) => batch.put(key, item.to_stored()),
                None => batch.delete(key),
            }
        }
        for (seq, bundle) in self.parked.entries.changes() {
            let key = format!("{PARKED_PREFIX}{seq:016x}");
            match bundle {
                Some(bundle) => batch.put(key, bundle.to_bytes()),
                None => batch.delete(key),
            }
        }
        for (doc, heads) in self.sealed_at.changes() {
            let key = format!("{SEALED_PREFIX}{doc}");
            match heads {
                Some(heads) => batch.put(key, serde_json::to_vec(heads).map_err(corrupt)?),
                None => batch.delete(key),
            }
        }
        self.outbox.entries.saved();
        self.parked.entries.saved();
        self.sealed_at.saved();
        self.authors_changed = false;
        self.convert = false;
        Ok(batch)
    }

    /// Records that `author`'s bundle `seq` was sealed or applied here.
    pub fn record_author(&mut self, author: &OrgKey, seq: u64) {
        self.authors_changed |= self.authors.record(author, seq);
    }

    /// Whether entries changed (or the layout must be converted) since the last save.
    pub fn has_unsaved_entries(&self) -> bool {
        self.authors_changed
            || self.convert
            || self.outbox.entries.has_changes()
            || self.parked.entries.has_changes()
            || self.sealed_at.has_changes()
    }

    fn stored_bytes(&self) -> Result<Vec<u8>, StateError> {
        let stored = Stored {
            workspace: self.workspace.clone(),
            relays: self.relays.clone(),
            relay_trust: self.relay_trust.clone(),
            log: self.log.iter().map(SignedOp::to_bytes).collect(),
            pending: self.pending.iter().map(SignedOp::to_bytes).collect(),
            ring: self.ring.clone(),
            redeem: self.redeem.clone(),
            joined_with: self.joined_with.clone(),
            outbox: Vec::new(),
            sealed_at: BTreeMap::new(),
            parked: Vec::new(),
        };
        serde_json::to_vec(&stored).map_err(corrupt)
    }

    /// Forgets the workspace (after a join that did not go through).
    pub fn forget(store: &impl Store) -> Result<(), StateError> {
        let mut batch = MetaBatch::default();
        batch.put(STATE_KEY, Vec::new());
        batch.put(CURSORS_KEY, b"{}".to_vec());
        batch.put(AUTHORS_KEY, b"{}".to_vec());
        for prefix in [OUTBOX_PREFIX, PARKED_PREFIX, SEALED_PREFIX] {
            for (key, _) in store.scan_meta(prefix)? {
                batch.delete(key);
            }
        }
        store.write_meta(&batch)?;
        Ok(())
    }

    /// What this replica trusts about `relay` (nothing pinned yet if it was never told).
    pub fn trust(&self, relay: &str) -> RelayTrust {
        self.relay_trust.get(relay).cloned().unwrap_or_default()
    }

    /// The workspace id.
    pub fn workspace_id(&self) -> Result<WorkspaceId, StateError> {
        self.workspace
            .parse()
            .map_err(|e: crate::sync::wire::BadHex| StateError::Corrupt(e.to_string()))
    }
}

fn corrupt(e: serde_json::Error) -> StateError {
    StateError::Corrupt(e.to_string())
}

/// The position in a key made of `prefix` and 16 hex digits.
fn position(key: &str, prefix: &str) -> Result<u64, StateError> {
    key.strip_prefix(prefix)
        .filter(|digits| digits.len() == 16)
        .and_then(|digits| u64::from_str_radix(digits, 16).ok())
        .ok_or_else(|| StateError::Corrupt(format!("onbekende sleutel {key}")))
}

mod hex_bytes {
    use super::unhex;

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
