//! The default [`Store`]: a sled database under the data directory, flushed on every write.

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sled::Transactional as _;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::views_mirror::ViewsMirror;
use super::{MetaBatch, Store, StoreError, StoredDoc, ViewEntry, check_key};

const SNAPSHOT_TAG: u8 = b'S';
const CHUNK_TAG: u8 = b'C';
/// How long to wait for sled's own file lock to be released by a store that was just dropped.
const LOCK_PATIENCE: Duration = Duration::from_secs(5);
const LOCK_RETRY: Duration = Duration::from_millis(10);
/// The most sled keeps of the database in memory (its default is 1 GiB). Documents are read
/// whole and held by the caller while in use, and the operating system caches the files, so a
/// page cache beyond a few large documents only makes a long-running process (`kompas serve`,
/// a watching sync) grow with the data.
const CACHE_BYTES: u64 = 16 << 20;

/// A [`Store`] backed by sled 0.34.
///
/// Layout: one tree `docs` keyed `id 0x00 'S'` for the snapshot and `id 0x00 'C' seq(u64 BE)` for
/// chunks, so one prefix scan yields a whole document in order; one tree `meta` for small values (written one at a time or as one atomic batch);
/// one tree `local-edits` whose keys are the ids of documents with local edits sync has not
/// taken up yet; one tree `views` keyed by document id with its view entry, written in one
/// transaction with the document's chunk or snapshot, and kept in memory as well once a list
/// asked for it (`views_mirror.rs`). Every write is followed by `flush`, so returning `Ok`
/// means the bytes are on disk.
pub struct SledStore {
    db: sled::Db,
    docs: sled::Tree,
    meta: sled::Tree,
    local_edits: sled::Tree,
    views: sled::Tree,
    mirror: ViewsMirror,
    /// How many times the database was flushed.
    flushes: AtomicUsize,
}

thread_local! {
    /// The store (by address) whose document writes on this thread wait for the flush at the
    /// end of [`Store::durable_together`].
    static DEFERRING: Cell<Option<usize>> = const { Cell::new(None) };
}

impl SledStore {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // sled takes its own file lock, and a store dropped a moment ago (in this process or one
        // that just handed over the data directory) can hold it for a few milliseconds while
        // sled's threads wind down. The data directory lock already guarantees a single owner, so
        // a busy sled lock here is always that brief overlap: wait for it, within a bound.
        let mut waited = Duration::ZERO;
        loop {
            match Self::open_once(path) {
                Err(sled::Error::Io(e)) if is_lock_busy(&e) && waited < LOCK_PATIENCE => {
                    std::thread::sleep(LOCK_RETRY);
                    waited += LOCK_RETRY;
                }
                other => return Ok(other?),
            }
        }
    }

    fn open_once(path: &Path) -> Result<Self, sled::Error> {
        // Every write flushes explicitly, so the background flusher is not needed. Smaller
        // segments than the default 512 KiB let sled reclaim the space of compacted chunks
        // sooner (see benches/store.rs).
        let db = sled::Config::new()
            .path(path)
            .flush_every_ms(None)
            .segment_size(1 << 17)
            .cache_capacity(CACHE_BYTES)
            .open()?;
        let docs = db.open_tree("docs")?;
        let meta = db.open_tree("meta")?;
        let local_edits = db.open_tree("local-edits")?;
        let views = db.open_tree("views")?;
        Ok(SledStore {
            db,
            docs,
            meta,
            local_edits,
            views,
            mirror: ViewsMirror::default(),
            flushes: AtomicUsize::new(0),
        })
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        self.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// How many times the database was flushed since it was opened.
    pub fn flushes(&self) -> usize {
        self.flushes.load(Ordering::Relaxed)
    }

    fn address(&self) -> usize {
        self as *const SledStore as usize
    }

    /// Flushes, unless this thread is inside [`Store::durable_together`] on this store.
    fn flush_document_write(&self) -> Result<(), StoreError> {
        if DEFERRING.with(Cell::get) == Some(self.address()) {
            return Ok(());
        }
        self.flush()
    }

    /// Removes the keys `remove` from `docs`, inserts `insert` there and sets the view entry of
    /// `id`, all in one transaction, then flushes (see [`SledStore::flush_document_write`]).
    fn write_doc(
        &self,
        id: &str,
        remove: &[sled::IVec],
        insert: (&[u8], &[u8]),
        view: &[u8],
    ) -> Result<(), StoreError> {
        self.mirror.write(&[(id, view)], || {
            (&self.docs, &self.views)
                .transaction(|(docs, views)| {
                    for key in remove {
                        docs.remove(key)?;
                    }
                    docs.insert(insert.0, insert.1)?;
                    views.insert(id.as_bytes(), view)?;
                    Ok::<_, ConflictableTransactionError<()>>(())
                })
                .map_err(|e| match e {
                    TransactionError::Storage(e) => StoreError::from(e),
                    TransactionError::Abort(()) => {
                        StoreError::Backend("transactie afgebroken".into())
                    }
                })
        })?;
        self.flush_document_write()
    }
}

/// sled reports a busy file lock as an `Other` I/O error with this text.
/// Whether sled could not open a database because another handle still holds its file lock.
pub(crate) fn is_lock_busy(e: &std::io::Error) -> bool {
    e.to_string().contains("could not acquire lock")
}

fn prefix(id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + 1);
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key
}

fn snapshot_key(id: &str) -> Vec<u8> {
    let mut key = prefix(id);
    key.push(SNAPSHOT_TAG);
    key
}

fn chunk_key(id: &str, seq: u64) -> Vec<u8> {
    let mut key = prefix(id);
    key.push(CHUNK_TAG);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn chunk_seq(key: &[u8], prefix_len: usize) -> Option<u64> {
    let tail = key.get(prefix_len + 1..)?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

/// A document's stored pieces as sled holds them: its snapshot and its chunks in order.
struct Pieces {
    snapshot: Option<sled::IVec>,
    chunks: Vec<sled::IVec>,
}

impl SledStore {
    /// The pieces stored for `id`, or `None` if there are none. sled hands out its own shared
    /// buffers, so nothing is copied yet.
    fn pieces(&self, id: &str) -> Result<Option<Pieces>, StoreError> {
        check_key(id)?;
        let mut pieces = Pieces {
            snapshot: None,
            chunks: Vec::new(),
        };
        let mut found = false;
        let p = prefix(id);
        for entry in self.docs.scan_prefix(&p) {
            let (key, value) = entry?;
            found = true;
            match key.get(p.len()) {
                Some(&CHUNK_TAG) => pieces.chunks.push(value),
                Some(&SNAPSHOT_TAG) => pieces.snapshot = Some(value),
                _ => {
                    return Err(StoreError::Corrupt(format!(
                        "onbekende sleutel bij document {id}"
                    )));
                }
            }
        }
        Ok(found.then_some(pieces))
    }
}

impl Store for SledStore {
    fn durable_together<T, E: From<StoreError>>(
        &self,
        write: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let outer = DEFERRING.with(Cell::get);
        if outer == Some(self.address()) {
            // Nested: the outermost call flushes.
            return write();
        }
        /// Ends the deferral however `write` ends, a panic included.
        struct Restore(Option<usize>);
        impl Drop for Restore {
            fn drop(&mut self) {
                DEFERRING.with(|d| d.set(self.0));
            }
        }
        let restore = Restore(outer);
        DEFERRING.with(|d| d.set(Some(self.address())));
        let written = write();
        drop(restore);
        let written = written?;
        self.flush()?;
        Ok(written)
    }

    fn load(&self, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        Ok(self.pieces(id)?.map(|p| StoredDoc {
            snapshot: p.snapshot.map(|s| s.to_vec()),
            chunks: p.chunks.iter().map(|c| c.to_vec()).collect(),
        }))
    }

    fn load_joined(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        // Each piece is copied once, straight into the joined bytes.
        Ok(self.pieces(id)?.map(|p| {
            let all: Vec<&sled::IVec> = p.snapshot.iter().chain(&p.chunks).collect();
            let mut joined = Vec::with_capacity(all.iter().map(|piece| piece.len()).sum());
            for piece in all {
                joined.extend_from_slice(piece);
            }
            joined
        }))
    }

    fn append_chunk(&self, id: &str, chunk: &[u8], view: &[u8]) -> Result<usize, StoreError> {
        check_key(id)?;
        let p = prefix(id);
        let mut chunk_prefix = p.clone();
        chunk_prefix.push(CHUNK_TAG);
        let mut count = 0usize;
        let mut last = None;
        for entry in self.docs.scan_prefix(&chunk_prefix).keys() {
            let key = entry?;
            count += 1;
            last = chunk_seq(&key, p.len());
        }
        let next = last.map_or(0, |s| s + 1);
        self.write_doc(id, &[], (&chunk_key(id, next), chunk), view)?;
        Ok(count + 1)
    }

    fn replace_with_snapshot(
        &self,
        id: &str,
        snapshot: &[u8],
        view: &[u8],
    ) -> Result<(), StoreError> {
        check_key(id)?;
        let old = self
            .docs
            .scan_prefix(prefix(id))
            .keys()
            .collect::<Result<Vec<_>, _>>()?;
        self.write_doc(id, &old, (&snapshot_key(id), snapshot), view)
    }

    fn views(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let all = self.views_where(&|_| true)?;
        Ok(all
            .into_iter()
            .map(|(id, view)| (id.to_string(), view.to_vec()))
            .collect())
    }

    fn views_where(&self, keep: &dyn Fn(&[u8]) -> bool) -> Result<Vec<ViewEntry>, StoreError> {
        self.mirror.select(&self.views, keep)
    }

    fn view(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(id)?;
        Ok(self.views.get(id)?.map(|v| v.to_vec()))
    }

    fn put_views(&self, views: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        if views.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for (id, view) in views {
            check_key(id)?;
            batch.insert(id.as_bytes(), view.as_slice());
        }
        let written: Vec<(&str, &[u8])> = views
            .iter()
            .map(|(id, view)| (id.as_str(), view.as_slice()))
            .collect();
        self.mirror
            .write(&written, || Ok(self.views.apply_batch(batch)?))?;
        self.flush()
    }

    fn ids(&self) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = Vec::new();
        for entry in self.docs.iter().keys() {
            let key = entry?;
            let end = key.iter().position(|&b| b == 0).unwrap_or(key.len());
            let id = String::from_utf8_lossy(&key[..end]);
            if ids.last().map(String::as_str) != Some(&*id) {
                ids.push(id.into_owned());
            }
        }
        Ok(ids)
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        Ok(self.meta.get(key)?.map(|v| v.to_vec()))
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        self.meta.insert(key, value)?;
        self.flush()
    }

    fn write_meta(&self, batch: &MetaBatch) -> Result<(), StoreError> {
        batch.check_keys()?;
        if batch.is_empty() {
            return Ok(());
        }
        let mut writes = sled::Batch::default();
        for (key, value) in batch.writes() {
            match value {
                Some(value) => writes.insert(key.as_bytes(), value.as_slice()),
                None => writes.remove(key.as_bytes()),
            }
        }
        self.meta.apply_batch(writes)?;
        self.flush()
    }

    fn scan_meta(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        check_key(prefix)?;
        self.meta
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry?;
                Ok((String::from_utf8_lossy(&key).into_owned(), value.to_vec()))
            })
            .collect()
    }

    fn mark_local_edits(&self, ids: &[&str]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        let mut new = false;
        for id in ids {
            check_key(id)?;
            if !self.local_edits.contains_key(id)? {
                batch.insert(id.as_bytes(), &[][..]);
                new = true;
            }
        }
        // The common case, an edit of a document already marked, costs a lookup and no flush.
        if !new {
            return Ok(());
        }
        self.local_edits.apply_batch(batch)?;
        self.flush()
    }

    fn local_edits(&self) -> Result<Vec<String>, StoreError> {
        self.local_edits
            .iter()
            .keys()
            .map(|key| Ok(String::from_utf8_lossy(&key?).into_owned()))
            .collect()
    }

    fn clear_local_edits(&self, ids: &[&str]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for id in ids {
            batch.remove(id.as_bytes());
        }
        self.local_edits.apply_batch(batch)?;
        self.flush()
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }
}
