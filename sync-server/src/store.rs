//! The relay's durable storage: per workspace an append-only bundle log with a hash index, and
//! the membership log, in one sled database. Everything stored is sealed or public: no keys and
//! no plaintext of documents.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ed25519_dalek::SigningKey;
use kompas_engine::sync::membership::SignedOp;
use kompas_engine::sync::wire::{
    Encoded, ErrorCode, Hash32, OrgKey, SealedBundle, Sequenced, WireError, WorkspaceId,
};
use sled::Transactional;

pub use crate::protocol::log::Appended;
use crate::protocol::log::{OpWritten, WorkspaceLog, page_takes};
use crate::protocol::refusal::Refusal;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an error.
    #[error("relay-opslag: {0}")]
    Sled(#[from] sled::Error),
    /// A stored value did not decode: the data directory is damaged.
    #[error("relay-opslag is beschadigd bij {what}: {source}")]
    Corrupt {
        /// Which record.
        what: String,
        /// The decoding error.
        source: WireError,
    },
    /// A stored key or value had the wrong size.
    #[error("relay-opslag is beschadigd bij {0}")]
    BadRecord(String),
    /// Writing failed on purpose: a fault switched on with [`RelayStore::inject_fault`].
    #[error("relay-opslag: schrijven mislukt (opgewekte storing)")]
    Injected,
    /// A flush did not return in time (for example a disk that stopped answering).
    #[error("relay-opslag: wegschrijven duurde langer dan {0} s")]
    FlushTimeout(u64),
    /// The PostgreSQL store failed.
    #[error(transparent)]
    Postgres(#[from] crate::postgres::PgError),
    /// The file system holding the data directory has less room than the relay keeps free.
    #[error("relay-opslag: de schijf is vol ({free} bytes vrij, de relay houdt er {reserve} vrij)")]
    DiskFull {
        /// Bytes available.
        free: u64,
        /// Bytes the relay keeps free (`--min-free-bytes`).
        reserve: u64,
    },
}

impl StoreError {
    /// Whether the storage itself failed (a full disk, an I/O error, a hung flush), so that a
    /// later attempt may work, rather than the stored data being damaged.
    pub fn is_fault(&self) -> bool {
        match self {
            StoreError::Postgres(e) => e.is_fault(),
            e => matches!(
                e,
                StoreError::Sled(_)
                    | StoreError::Injected
                    | StoreError::FlushTimeout(_)
                    | StoreError::DiskFull { .. }
            ),
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        if let StoreError::Postgres(e) = e {
            return e.into();
        }
        if e.is_fault() {
            Refusal::new(
                ErrorCode::StorageFault,
                format!("{e}; er is niets opgeslagen, probeer het later opnieuw"),
            )
        } else {
            Refusal::new(ErrorCode::Internal, e.to_string())
        }
    }
}

const META: &str = "meta";
const RELAY_KEY: &[u8] = b"relay_key";
const MIRRORED_KEY: &[u8] = b"mirrored_relay_key";
/// In a workspace's hash tree (whose other keys are 32-byte hashes): the bytes of its bundles.
const STORED_BYTES: &[u8] = b"size";

/// The relay's sled database.
///
/// A full disk must never reach sled: after an I/O error sled refuses every later write until
/// the database is opened again, and a failed database cannot even be closed (its last flush
/// waits for ever), so only a restart would help. The store therefore keeps a reserve free on
/// the data directory's file system ([`RelayStore::check_space`], before every write): below
/// it, writes are refused as a storage fault, and they are taken again as soon as there is
/// room, without a restart. An I/O error that reaches sled all the same (a failing disk, or a
/// burst larger than the reserve) is reported as a fault until the relay is restarted.
#[derive(Clone)]
pub struct RelayStore {
    dir: std::path::PathBuf,
    db: sled::Db,
    flushes: Arc<GroupFlush>,
    fault: Arc<Fault>,
}

/// The storage's health: the last write failure, and a switch for drills and tests.
#[derive(Default)]
struct Fault {
    injected: std::sync::atomic::AtomicBool,
    last: std::sync::Mutex<Option<String>>,
    /// Bytes to keep free on the data directory's file system (0: no check).
    reserve: AtomicU64,
    /// Why writes are refused for lack of room, while they are.
    full: std::sync::Mutex<Option<String>>,
    /// An I/O error sled reported: sled takes no writes after one until it is opened again,
    /// which a running relay cannot do (dropping a failed sled database does not return).
    broken: std::sync::Mutex<Option<String>>,
}

fn locked<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Group commit: writers that wait for durability at the same time share one flush.
#[derive(Default)]
struct GroupFlush {
    /// Serialises flushes.
    lock: tokio::sync::Mutex<()>,
    /// Flushes started so far.
    started: AtomicU64,
    /// Flushes finished so far (flush `n` starts only after flush `n - 1` finished).
    finished: AtomicU64,
    /// How long a flush (with its wait for the turn) may take, in milliseconds (0: 30 s).
    timeout_ms: AtomicU64,
}

/// The trees of one workspace.
#[derive(Clone)]
pub struct WorkspaceTrees {
    bundles: sled::Tree,
    hashes: sled::Tree,
    members: sled::Tree,
}

impl RelayStore {
    /// Opens (or creates) the store in `dir`, caching at most `cache_bytes` of pages.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<RelayStore, StoreError> {
        let db = sled::Config::new()
            .path(dir.join("relay.sled"))
            .cache_capacity(cache_bytes)
            .open()?;
        Ok(RelayStore {
            dir: dir.to_path_buf(),
            db,
            flushes: Arc::default(),
            fault: Arc::default(),
        })
    }

    /// Sets how long a flush may take before it counts as a storage fault.
    pub fn set_flush_timeout(&self, limit: std::time::Duration) {
        let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        self.flushes.timeout_ms.store(ms, Ordering::Relaxed);
    }

    /// Makes every flush fail (`true`) as a full disk would, or work again (`false`): for
    /// tests and fire drills of what members see while the relay cannot store.
    pub fn inject_fault(&self, on: bool) {
        self.fault.injected.store(on, Ordering::SeqCst);
    }

    /// Sets how many bytes must stay free on the data directory's file system (0: no check).
    pub fn set_reserve(&self, bytes: u64) {
        self.fault.reserve.store(bytes, Ordering::Relaxed);
    }

    /// Refuses a write while the data directory's file system has less room than the reserve,
    /// so that sled never meets a full disk; clears the refusal once there is room again.
    pub fn check_space(&self) -> Result<(), StoreError> {
        let reserve = self.fault.reserve.load(Ordering::Relaxed);
        let refused = match fs2::available_space(&self.dir) {
            Ok(free) if free < reserve => Some(StoreError::DiskFull { free, reserve }),
            Ok(_) => None,
            // The file system cannot say: sled's own errors are the only guide then.
            Err(_) => None,
        };
        let mut full = locked(&self.fault.full);
        match refused {
            Some(e) => {
                if full.is_none() {
                    tracing::error!(error = %e, "schrijven geweigerd: schijf vol");
                }
                *full = Some(e.to_string());
                Err(e)
            }
            None => {
                if full.take().is_some() {
                    tracing::info!("weer ruimte op de schijf: schrijven gaat door");
                }
                Ok(())
            }
        }
    }

    /// Remembers an I/O error from sled (after which it takes no writes) and passes it on.
    pub fn noted(&self, e: StoreError) -> StoreError {
        if let StoreError::Sled(sled::Error::Io(io)) = &e {
            let mut broken = locked(&self.fault.broken);
            if broken.is_none() {
                tracing::error!(error = %io, "relay-opslag neemt geen schrijfopdrachten meer aan");
                *broken = Some(format!("relay-opslag: {io}"));
            }
        }
        e
    }

    /// Why the store cannot write now: an I/O error sled reported (until a restart), a full
    /// disk (until there is room), or the last flush failing (until one succeeds).
    pub fn fault(&self) -> Option<String> {
        if let Some(broken) = locked(&self.fault.broken).clone() {
            return Some(format!(
                "{broken}; sled neemt na een schrijffout niets meer aan: start de relay opnieuw \
                 (alles wat bevestigd is, staat op schijf)"
            ));
        }
        if let Some(full) = locked(&self.fault.full).clone() {
            return Some(full);
        }
        locked(&self.fault.last).clone()
    }

    fn record(&self, outcome: &Result<(), StoreError>) {
        let mut last = self
            .fault
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = outcome.as_ref().err().map(ToString::to_string);
    }

    /// A tree by name, for the operator's commands (`crate::operator`).
    pub(crate) fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }

    /// Removes a tree and what it holds.
    pub(crate) fn drop_tree(&self, name: &str) -> Result<(), StoreError> {
        self.db.drop_tree(name)?;
        Ok(())
    }

    /// The relay's own signing key, created from `fresh` on first use and flushed.
    pub fn relay_key(&self, fresh: [u8; 32]) -> Result<SigningKey, StoreError> {
        let meta = self.db.open_tree(META)?;
        let stored = meta.compare_and_swap(RELAY_KEY, None::<&[u8]>, Some(&fresh[..]))?;
        let seed = match stored {
            Ok(()) => {
                meta.flush()?;
                fresh
            }
            Err(current) => current
                .current
                .and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok())
                .ok_or_else(|| StoreError::BadRecord("relay_key".into()))?,
        };
        Ok(SigningKey::from_bytes(&seed))
    }

    /// The key of the relay this relay mirrors, once pinned.
    pub fn mirrored_key(&self) -> Result<Option<OrgKey>, StoreError> {
        let meta = self.db.open_tree(META)?;
        match meta.get(MIRRORED_KEY)? {
            None => Ok(None),
            Some(v) => <[u8; 32]>::try_from(v.as_ref())
                .map(|k| Some(OrgKey(k)))
                .map_err(|_| StoreError::BadRecord("mirrored_relay_key".into())),
        }
    }

    /// Pins the key of the relay this relay mirrors, durably.
    pub fn pin_mirrored_key(&self, key: &OrgKey) -> Result<(), StoreError> {
        let meta = self.db.open_tree(META)?;
        meta.insert(MIRRORED_KEY, &key.0)?;
        meta.flush()?;
        Ok(())
    }

    /// The workspaces that have a membership log.
    pub fn workspaces(&self) -> Result<Vec<WorkspaceId>, StoreError> {
        Ok(self
            .db
            .tree_names()
            .into_iter()
            .filter_map(|name| {
                let hex = std::str::from_utf8(name.strip_prefix(b"m/")?).ok()?;
                hex.parse().ok()
            })
            .collect())
    }

    /// The trees of a workspace (created empty if new).
    pub fn trees(&self, ws: &WorkspaceId) -> Result<WorkspaceTrees, StoreError> {
        Ok(WorkspaceTrees {
            bundles: self.db.open_tree(format!("b/{ws}"))?,
            hashes: self.db.open_tree(format!("h/{ws}"))?,
            members: self.db.open_tree(format!("m/{ws}"))?,
        })
    }

    /// A workspace's log as the relay's core writes it (created empty if new).
    pub fn log(&self, ws: &WorkspaceId) -> Result<SledLog, StoreError> {
        Ok(SledLog {
            trees: self.trees(ws)?,
            store: self.clone(),
        })
    }

    /// A small record for bookkeeping (mirror cursors).
    pub fn cursor(&self, name: &str) -> Result<u64, StoreError> {
        let meta = self.db.open_tree(META)?;
        Ok(meta
            .get(name.as_bytes())?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    /// Sets a bookkeeping record (durable at the next flush).
    pub fn set_cursor(&self, name: &str, value: u64) -> Result<(), StoreError> {
        let meta = self.db.open_tree(META)?;
        meta.insert(name.as_bytes(), &value.to_be_bytes())?;
        Ok(())
    }

    /// Makes everything written so far durable. Callers waiting together share one flush: a
    /// flush that started after this call began covers every write made before it.
    ///
    /// A flush that fails or takes longer than the flush timeout returns an error (and the
    /// store reports the fault until a flush succeeds again); it never leaves later writers
    /// waiting behind it for ever.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let ms = match self.flushes.timeout_ms.load(Ordering::Relaxed) {
            0 => 30_000,
            ms => ms,
        };
        let limit = std::time::Duration::from_millis(ms);
        let outcome = match tokio::time::timeout(limit, self.flush_in_turn()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::FlushTimeout(ms / 1000)),
        };
        self.record(&outcome);
        outcome
    }

    async fn flush_in_turn(&self) -> Result<(), StoreError> {
        let seen = self.flushes.started.load(Ordering::SeqCst);
        let _turn = self.flushes.lock.lock().await;
        if self.fault.injected.load(Ordering::SeqCst) {
            return Err(StoreError::Injected);
        }
        if self.flushes.finished.load(Ordering::SeqCst) > seen {
            return Ok(());
        }
        let n = self.flushes.started.fetch_add(1, Ordering::SeqCst) + 1;
        self.db
            .flush_async()
            .await
            .map_err(|e| self.noted(e.into()))?;
        self.flushes.finished.store(n, Ordering::SeqCst);
        Ok(())
    }

    /// Bytes the database takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

impl WorkspaceTrees {
    /// The highest stored sequence number (0 if none).
    pub fn head(&self) -> Result<u64, StoreError> {
        match self.bundles.last()? {
            None => Ok(0),
            Some((k, _)) => seq_of(&k),
        }
    }

    /// Appends a bundle unless its hash is stored already. The caller serialises appends per
    /// workspace and flushes before acknowledging.
    pub fn append(&self, hash: &Hash32, bundle: &[u8], head: u64) -> Result<Appended, StoreError> {
        let answers = self.append_all(&[(*hash, bundle)], head)?;
        answers
            .first()
            .copied()
            .ok_or_else(|| StoreError::BadRecord("afgebroken transactie".into()))
    }

    /// Appends bundles in order, each unless its hash is stored already (or came earlier in
    /// the same call), numbered on from `head`, in one transaction: sled writes a transaction
    /// to its log as one piece, so a batch costs one write where bundles one by one would
    /// cost one each. The caller serialises appends per workspace and flushes before
    /// acknowledging.
    pub fn append_all(
        &self,
        bundles: &[(Hash32, &[u8])],
        head: u64,
    ) -> Result<Vec<Appended>, StoreError> {
        if bundles.is_empty() {
            return Ok(Vec::new());
        }
        (&self.bundles, &self.hashes)
            .transaction(|(stored_bundles, hashes)| {
                let mut answers = Vec::with_capacity(bundles.len());
                let mut seq = head;
                let mut added = 0u64;
                for (hash, bundle) in bundles {
                    if let Some(found) = hashes.get(hash.as_bytes())? {
                        let found = <[u8; 8]>::try_from(found.as_ref())
                            .map(u64::from_be_bytes)
                            .map_err(|_| {
                                sled::transaction::ConflictableTransactionError::Abort(())
                            })?;
                        answers.push(Appended::Duplicate(found));
                        continue;
                    }
                    seq += 1;
                    stored_bundles.insert(&seq.to_be_bytes(), *bundle)?;
                    hashes.insert(hash.as_bytes(), &seq.to_be_bytes())?;
                    added = added.saturating_add(bundle.len() as u64);
                    answers.push(Appended::New(seq));
                }
                if added > 0 {
                    let stored = hashes
                        .get(STORED_BYTES)?
                        .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
                        .map_or(0, u64::from_be_bytes);
                    let stored = stored.saturating_add(added);
                    hashes.insert(STORED_BYTES, &stored.to_be_bytes())?;
                }
                Ok(answers)
            })
            .map_err(|e: sled::transaction::TransactionError<()>| match e {
                sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
                sled::transaction::TransactionError::Abort(()) => {
                    StoreError::BadRecord("volgnummer in de hash-index".into())
                }
            })
    }

    /// The bytes of the stored bundles. Stores written before this total was kept count once
    /// (here) and keep it from then on.
    pub fn stored_bytes(&self) -> Result<u64, StoreError> {
        if let Some(v) = self.hashes.get(STORED_BYTES)? {
            return seq_of(&v);
        }
        let mut total = 0u64;
        for entry in self.bundles.iter() {
            total = total.saturating_add(entry?.1.len() as u64);
        }
        if total > 0 {
            self.hashes.insert(STORED_BYTES, &total.to_be_bytes())?;
        }
        Ok(total)
    }

    /// Up to `limit` bundles with `after < seq <= upto`, stopping once `budget` bytes are
    /// reached (at least one bundle is returned if there is one).
    pub fn range(
        &self,
        after: u64,
        upto: u64,
        limit: usize,
        budget: usize,
    ) -> Result<Vec<Sequenced>, StoreError> {
        let mut out = Vec::new();
        let mut bytes = 0;
        if after >= upto {
            return Ok(out);
        }
        for entry in self
            .bundles
            .range((after + 1).to_be_bytes()..=upto.to_be_bytes())
        {
            let (k, v) = entry?;
            if !page_takes(out.len(), bytes, v.len(), limit, budget) {
                break;
            }
            bytes += v.len();
            let seq = seq_of(&k)?;
            let bundle = SealedBundle::from_bytes(&v).map_err(|source| StoreError::Corrupt {
                what: format!("wijziging {seq}"),
                source,
            })?;
            out.push(Sequenced { seq, bundle });
        }
        Ok(out)
    }

    /// The membership log.
    pub fn membership(&self) -> Result<Vec<SignedOp>, StoreError> {
        self.members
            .iter()
            .map(|entry| {
                let (k, v) = entry?;
                SignedOp::from_bytes(&v).map_err(|source| StoreError::Corrupt {
                    what: format!("lidmaatschapsoperatie {}", seq_of(&k).unwrap_or(u64::MAX)),
                    source,
                })
            })
            .collect()
    }

    /// The membership operations with `after <= index < upto`, stopping once `budget` bytes
    /// are reached (at least one operation is returned if there is one). Only that range is
    /// read and decoded.
    pub fn ops_range(
        &self,
        after: u64,
        upto: u64,
        budget: usize,
    ) -> Result<Vec<SignedOp>, StoreError> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        if after >= upto {
            return Ok(out);
        }
        for entry in self.members.range(after.to_be_bytes()..upto.to_be_bytes()) {
            let (k, v) = entry?;
            if !out.is_empty() && bytes.saturating_add(v.len()) > budget {
                break;
            }
            bytes = bytes.saturating_add(v.len());
            out.push(
                SignedOp::from_bytes(&v).map_err(|source| StoreError::Corrupt {
                    what: format!("lidmaatschapsoperatie {}", seq_of(&k).unwrap_or(u64::MAX)),
                    source,
                })?,
            );
        }
        Ok(out)
    }

    /// Appends a membership operation at `index` (not yet flushed).
    pub fn append_op(&self, index: u64, op: &SignedOp) -> Result<(), StoreError> {
        self.members.insert(index.to_be_bytes(), op.to_bytes())?;
        Ok(())
    }
}

/// A workspace's log in sled, for the relay's core: writes check the free space first and note
/// a failure as the store's fault; nothing is durable before [`RelayStore::flush`].
#[derive(Clone)]
pub struct SledLog {
    trees: WorkspaceTrees,
    store: RelayStore,
}

impl WorkspaceLog for SledLog {
    type Error = StoreError;

    fn append(
        &mut self,
        hash: &Hash32,
        bundle: &SealedBundle,
        head: u64,
        _members: u64,
    ) -> Result<Appended, StoreError> {
        self.store.check_space()?;
        self.trees
            .append(hash, &bundle.to_bytes(), head)
            .map_err(|e| self.store.noted(e))
    }

    fn append_all(
        &mut self,
        bundles: &[(Hash32, &SealedBundle)],
        head: u64,
        _members: u64,
    ) -> Result<Vec<Appended>, StoreError> {
        self.store.check_space()?;
        let encoded: Vec<(Hash32, Vec<u8>)> = bundles
            .iter()
            .map(|(hash, bundle)| (*hash, bundle.to_bytes()))
            .collect();
        let items: Vec<(Hash32, &[u8])> = encoded
            .iter()
            .map(|(hash, bytes)| (*hash, bytes.as_slice()))
            .collect();
        self.trees
            .append_all(&items, head)
            .map_err(|e| self.store.noted(e))
    }

    fn bundles(
        &self,
        after: u64,
        upto: u64,
        limit: usize,
        budget: usize,
    ) -> Result<Vec<Sequenced>, StoreError> {
        self.trees.range(after, upto, limit, budget)
    }

    fn head(&self) -> Result<u64, StoreError> {
        self.trees.head()
    }

    fn stored_bytes(&self) -> Result<u64, StoreError> {
        self.trees.stored_bytes()
    }

    fn append_op(&mut self, index: u64, op: &SignedOp) -> Result<OpWritten, StoreError> {
        self.store.check_space()?;
        self.trees
            .append_op(index, op)
            .map_err(|e| self.store.noted(e))?;
        Ok(OpWritten::Written)
    }

    fn ops_len(&self) -> Result<u64, StoreError> {
        match self.trees.members.last()? {
            None => Ok(0),
            Some((k, _)) => Ok(seq_of(&k)? + 1),
        }
    }

    fn ops(&self, after: u64, upto: u64, budget: usize) -> Result<Vec<SignedOp>, StoreError> {
        self.trees.ops_range(after, upto, budget)
    }
}

fn seq_of(bytes: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::BadRecord("volgnummer".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use kompas_engine::sync::wire::{DocRef, NONCE_LEN};

    fn bundle(i: u8, size: usize) -> SealedBundle {
        SealedBundle::sign(
            WorkspaceId([1; 16]),
            0,
            DocRef([i; 32]),
            [i; NONCE_LEN],
            vec![i; size],
            &SigningKey::from_bytes(&[1; 32]),
        )
    }

    #[tokio::test]
    async fn appends_are_numbered_deduplicated_and_read_back_within_a_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path(), 1 << 20).unwrap();
        let trees = store.trees(&WorkspaceId([1; 16])).unwrap();
        let mut head = 0;
        for i in 0..5 {
            let b = bundle(i, 1000);
            match trees.append(&b.hash(), &b.to_bytes(), head).unwrap() {
                Appended::New(seq) => head = seq,
                other => panic!("new bundle stored as {other:?}"),
            }
        }
        let again = bundle(2, 1000);
        assert_eq!(
            trees
                .append(&again.hash(), &again.to_bytes(), head)
                .unwrap(),
            Appended::Duplicate(3)
        );
        store.flush().await.unwrap();
        assert_eq!(trees.head().unwrap(), 5);
        let all = trees.range(0, 5, 100, usize::MAX).unwrap();
        assert_eq!(
            all.iter().map(|s| s.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
        assert_eq!(all[2].bundle, again);
        // A budget of 2.5 bundles gives 2; a budget below one bundle still gives one.
        assert_eq!(trees.range(0, 5, 100, 2500).unwrap().len(), 2);
        assert_eq!(trees.range(3, 5, 100, 10).unwrap()[0].seq, 4);
        assert_eq!(trees.range(1, 3, 100, usize::MAX).unwrap().len(), 2);
        assert!(trees.range(5, 5, 100, usize::MAX).unwrap().is_empty());
    }

    #[test]
    fn membership_pages_stop_at_the_budget_and_read_only_their_range() {
        use kompas_engine::Timestamp;
        use kompas_engine::sync::membership::OpBody;
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path(), 1 << 20).unwrap();
        let trees = store.trees(&WorkspaceId([1; 16])).unwrap();
        let key = SigningKey::from_bytes(&[1; 32]);
        let ops: Vec<SignedOp> = (0..6u8)
            .map(|i| {
                let body = OpBody::ShareKeys {
                    member: kompas_engine::sync::wire::OrgKey([i; 32]),
                    sealed: vec![i; 1000],
                };
                SignedOp::sign(WorkspaceId([1; 16]), None, Timestamp(0), body, &key)
            })
            .collect();
        for (i, op) in ops.iter().enumerate() {
            trees.append_op(i as u64, op).unwrap();
        }
        let size = ops[0].to_bytes().len();
        assert_eq!(trees.ops_range(0, 6, usize::MAX).unwrap(), ops);
        // A budget of two and a half operations gives two; below one operation still one.
        assert_eq!(trees.ops_range(0, 6, size * 5 / 2).unwrap(), ops[..2]);
        assert_eq!(trees.ops_range(4, 6, 1).unwrap(), ops[4..5]);
        // Only up to the durable length, never past it.
        assert_eq!(trees.ops_range(3, 5, usize::MAX).unwrap(), ops[3..5]);
        assert!(trees.ops_range(6, 6, usize::MAX).unwrap().is_empty());
        // A damaged record outside the range does not stop reading inside it.
        trees
            .members
            .insert(5u64.to_be_bytes(), &b"kapot"[..])
            .unwrap();
        assert_eq!(trees.ops_range(0, 5, usize::MAX).unwrap().len(), 5);
        assert!(matches!(
            trees.ops_range(0, 6, usize::MAX),
            Err(StoreError::Corrupt { .. })
        ));
    }
}

#[cfg(test)]
mod fault_tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_flush_is_reported_until_one_succeeds_and_stored_bytes_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let store = RelayStore::open(dir.path(), 1 << 20).unwrap();
        let trees = store.trees(&WorkspaceId([1; 16])).unwrap();
        assert_eq!(trees.stored_bytes().unwrap(), 0);
        trees.append(&Hash32([1; 32]), &[0; 300], 0).unwrap();
        store.inject_fault(true);
        let failed = store.flush().await.unwrap_err();
        assert!(failed.is_fault());
        assert!(store.fault().is_some());
        trees.append(&Hash32([2; 32]), &[0; 200], 1).unwrap();
        store.inject_fault(false);
        store.flush().await.unwrap();
        assert_eq!(store.fault(), None);
        assert_eq!(trees.stored_bytes().unwrap(), 500);
        assert_eq!(trees.head().unwrap(), 2);
    }
}
