//! Durable storage of documents: the [`Store`] trait and its sled and in-memory implementations.
//!
//! A document is kept as one compact snapshot (an Automerge `save()`) plus a short run of
//! incremental chunks (Automerge `save_after()` output), each appended as one durable write.
//! When the run grows past [`COMPACT_AFTER_CHUNKS`], [`Store::persist`] folds it into a fresh
//! snapshot in one atomic replacement. Every write method returns only once the data is durable.
//!
//! Beside each document the store keeps its entry in the view index (bytes the replica encodes,
//! `replica/view_index.rs`), written in the same atomic step as the document's chunk or
//! snapshot, so the entry never describes another version of the document than the one stored.

mod data_dir;
mod handoff;
mod memory;
mod sled_store;
mod views_mirror;

pub use data_dir::{DataDir, DataDirError};
pub use handoff::{WatchingMark, is_knocked, is_watched, knock};
pub use memory::MemoryStore;
pub use sled_store::SledStore;
#[cfg(test)]
pub(crate) use sled_store::is_lock_busy;

use automerge::{AutoCommit, ChangeHash};

/// A document id with its view entry, shared with the store's copy in memory where it has one:
/// as long as an entry is not written again, the store hands out the same bytes (the same
/// `Arc`), so a reader may keep what it made of them beside them.
pub type ViewEntry = (std::sync::Arc<str>, std::sync::Arc<[u8]>);

/// After this many incremental chunks a document is compacted into a single snapshot.
pub const COMPACT_AFTER_CHUNKS: usize = 8;

/// What the store holds for one document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDoc {
    /// The last compact snapshot, if the document was ever compacted.
    pub snapshot: Option<Vec<u8>>,
    /// Incremental chunks written since that snapshot, oldest first.
    pub chunks: Vec<Vec<u8>>,
}

impl StoredDoc {
    /// Rebuilds the Automerge document from the snapshot and its chunks.
    ///
    /// The pieces are concatenated and loaded in one pass: Automerge reads a sequence of
    /// document and change chunks as one file, which is much cheaper than applying each chunk
    /// incrementally.
    pub fn load(&self) -> Result<AutoCommit, StoreError> {
        if self.chunks.is_empty() {
            return match &self.snapshot {
                Some(bytes) => load_joined(bytes),
                None => Ok(AutoCommit::new()),
            };
        }
        let mut all = Vec::with_capacity(self.byte_len());
        if let Some(snapshot) = &self.snapshot {
            all.extend_from_slice(snapshot);
        }
        for chunk in &self.chunks {
            all.extend_from_slice(chunk);
        }
        load_joined(&all)
    }

    /// [`StoredDoc::load`], giving up the pieces as they are concatenated: while Automerge
    /// reads the document, its bytes are held once rather than twice (a document of 10 MiB
    /// takes several times that to load, so this is the peak of opening it).
    pub fn into_doc(self) -> Result<AutoCommit, StoreError> {
        if self.chunks.is_empty() {
            return self.load();
        }
        load_joined(&self.into_joined())
    }

    /// The snapshot and then the chunks as one run of bytes, which is what Automerge loads;
    /// each piece is given up once it is copied.
    pub fn into_joined(self) -> Vec<u8> {
        let total = self.byte_len();
        let mut all = self.snapshot.unwrap_or_default();
        all.reserve_exact(total - all.len());
        for chunk in self.chunks {
            all.extend_from_slice(&chunk);
        }
        all
    }

    /// Total bytes held for this document.
    pub fn byte_len(&self) -> usize {
        self.snapshot.as_ref().map_or(0, Vec::len) + self.chunks.iter().map(Vec::len).sum::<usize>()
    }
}

/// A document from the bytes of [`Store::load_joined`]: a snapshot and its chunks in one run.
pub fn load_joined(bytes: &[u8]) -> Result<AutoCommit, StoreError> {
    AutoCommit::load(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The underlying database failed.
    #[error("opslag: {0}")]
    Backend(String),
    /// Stored bytes could not be read back as a document.
    #[error("opgeslagen gegevens zijn beschadigd: {0}")]
    Corrupt(String),
    /// A document or meta key is not valid for storage.
    #[error("ongeldige sleutel {0:?}")]
    InvalidKey(String),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// Metadata writes that [`Store::write_meta`] applies together, in order (a later write to a
/// key wins over an earlier one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaBatch {
    writes: Vec<(String, Option<Vec<u8>>)>,
}

impl MetaBatch {
    /// Sets `key` to `value`.
    pub fn put(&mut self, key: impl Into<String>, value: Vec<u8>) {
        self.writes.push((key.into(), Some(value)));
    }

    /// Removes `key` (removing an absent key changes nothing).
    pub fn delete(&mut self, key: impl Into<String>) {
        self.writes.push((key.into(), None));
    }

    /// Whether the batch holds no writes.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// The writes in order: a key and its new value, or `None` for a removal.
    pub fn writes(&self) -> &[(String, Option<Vec<u8>>)] {
        &self.writes
    }

    /// The bytes the batch writes: every key plus every value.
    pub fn byte_len(&self) -> usize {
        self.writes
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
            .sum()
    }

    /// Checks every key; a batch with a bad key is refused whole.
    pub(crate) fn check_keys(&self) -> Result<(), StoreError> {
        self.writes.iter().try_for_each(|(k, _)| check_key(k))
    }
}

/// Durable storage of documents and small metadata values.
///
/// Implementations must make every write durable before returning `Ok`: a caller may tell a
/// user "saved" as soon as a write method returns (inside [`Store::durable_together`], once
/// that returns).
pub trait Store: Send + Sync {
    /// Everything stored for the document `id`, or `None` if there is nothing.
    fn load(&self, id: &str) -> Result<Option<StoredDoc>, StoreError>;

    /// What [`Store::load`] gives, as one run of bytes (the snapshot, then the chunks): what
    /// Automerge loads ([`load_joined`]). A store that can read the pieces straight into one
    /// buffer does, so that a large document is not held twice over before it is loaded.
    fn load_joined(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.load(id)?.map(StoredDoc::into_joined))
    }

    /// Appends one incremental chunk and sets the document's view entry to `view` in the same
    /// atomic write (empty bytes say "not known": the replica computes it again from the
    /// document); returns how many chunks the document now has.
    fn append_chunk(&self, id: &str, chunk: &[u8], view: &[u8]) -> Result<usize, StoreError>;

    /// Atomically replaces everything stored for `id` with a single snapshot, and its view
    /// entry with `view` (as in [`Store::append_chunk`]).
    fn replace_with_snapshot(
        &self,
        id: &str,
        snapshot: &[u8],
        view: &[u8],
    ) -> Result<(), StoreError>;

    /// Every view entry, sorted by document id.
    fn views(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// The view entries whose bytes `keep` accepts, sorted by document id: [`Store::views`]
    /// filtered before anything is copied (a list of one kind copies only its entries).
    fn views_where(&self, keep: &dyn Fn(&[u8]) -> bool) -> Result<Vec<ViewEntry>, StoreError> {
        let views = self.views()?;
        Ok(views
            .into_iter()
            .filter(|(_, view)| keep(view))
            .map(|(id, view)| (id.into(), view.into()))
            .collect())
    }

    /// The view entry of one document.
    fn view(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Durably sets view entries without touching the documents (a rebuild or a repair).
    fn put_views(&self, views: &[(String, Vec<u8>)]) -> Result<(), StoreError>;

    /// The ids of all stored documents, sorted.
    fn ids(&self) -> Result<Vec<String>, StoreError>;

    /// A small metadata value (configuration, identity, cursors).
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Stores a small metadata value durably.
    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;

    /// Applies every write of `batch` atomically and durably: after a crash the store holds
    /// all of them or none. An empty batch writes nothing.
    fn write_meta(&self, batch: &MetaBatch) -> Result<(), StoreError>;

    /// The metadata entries whose keys start with `prefix`, in key order.
    fn scan_meta(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Bytes used on disk (or in memory) by the store as a whole.
    fn size_on_disk(&self) -> Result<u64, StoreError>;

    /// Durably marks documents as holding local edits that sync has not taken up yet. Marking
    /// a marked document again changes nothing (and need not write).
    fn mark_local_edits(&self, ids: &[&str]) -> Result<(), StoreError>;

    /// The documents marked by [`Store::mark_local_edits`] and not cleared since, sorted.
    fn local_edits(&self) -> Result<Vec<String>, StoreError>;

    /// Durably clears the marks of `ids`.
    fn clear_local_edits(&self, ids: &[&str]) -> Result<(), StoreError>;

    /// Runs `write`; the document writes it makes on this thread ([`Store::append_chunk`],
    /// [`Store::replace_with_snapshot`]) are durable once this returns `Ok`, not each as it
    /// returns: a batch of documents costs one flush instead of one each. Nothing written
    /// inside may be reported saved before this returns. By default every write is durable on
    /// its own and `write` just runs.
    fn durable_together<T, E: From<StoreError>>(
        &self,
        write: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        Self: Sized,
    {
        write()
    }

    /// Durably stores whatever `doc` holds beyond `saved_heads`, with `view` as its view entry,
    /// and returns the new saved heads.
    ///
    /// Writes an incremental chunk and, once a document has [`COMPACT_AFTER_CHUNKS`] of them,
    /// replaces them with one compact snapshot.
    fn persist(
        &self,
        id: &str,
        doc: &mut AutoCommit,
        saved_heads: &[ChangeHash],
        view: &[u8],
    ) -> Result<Vec<ChangeHash>, StoreError> {
        if doc.get_heads().as_slice() == saved_heads {
            return Ok(saved_heads.to_vec());
        }
        let chunk = doc.save_after(saved_heads);
        self.persist_chunk(id, doc, &chunk, view)
    }

    /// Like [`Store::persist`], with the changes beyond the saved heads given as `chunk` by the
    /// caller (change chunks as they were received, so they are not encoded again). `chunk`
    /// must hold exactly what `doc` holds beyond what is stored.
    fn persist_chunk(
        &self,
        id: &str,
        doc: &mut AutoCommit,
        chunk: &[u8],
        view: &[u8],
    ) -> Result<Vec<ChangeHash>, StoreError> {
        let chunks = self.append_chunk(id, chunk, view)?;
        if chunks >= COMPACT_AFTER_CHUNKS {
            self.replace_with_snapshot(id, &doc.save(), view)?;
        }
        Ok(doc.get_heads())
    }
}

/// Checks that a key is safe to use inside composite storage keys.
pub(crate) fn check_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidKey(key.to_string()))
    }
}

#[cfg(test)]
mod contract_tests;

/// A shared store is a store: replicas and sync layers may hold the same one.
impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn load(&self, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        (**self).load(id)
    }
    fn load_joined(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).load_joined(id)
    }
    fn append_chunk(&self, id: &str, chunk: &[u8], view: &[u8]) -> Result<usize, StoreError> {
        (**self).append_chunk(id, chunk, view)
    }
    fn replace_with_snapshot(
        &self,
        id: &str,
        snapshot: &[u8],
        view: &[u8],
    ) -> Result<(), StoreError> {
        (**self).replace_with_snapshot(id, snapshot, view)
    }
    fn views(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        (**self).views()
    }
    fn views_where(&self, keep: &dyn Fn(&[u8]) -> bool) -> Result<Vec<ViewEntry>, StoreError> {
        (**self).views_where(keep)
    }
    fn view(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).view(id)
    }
    fn put_views(&self, views: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        (**self).put_views(views)
    }
    fn ids(&self) -> Result<Vec<String>, StoreError> {
        (**self).ids()
    }
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get_meta(key)
    }
    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).put_meta(key, value)
    }
    fn write_meta(&self, batch: &MetaBatch) -> Result<(), StoreError> {
        (**self).write_meta(batch)
    }
    fn scan_meta(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        (**self).scan_meta(prefix)
    }
    fn size_on_disk(&self) -> Result<u64, StoreError> {
        (**self).size_on_disk()
    }
    fn mark_local_edits(&self, ids: &[&str]) -> Result<(), StoreError> {
        (**self).mark_local_edits(ids)
    }
    fn local_edits(&self) -> Result<Vec<String>, StoreError> {
        (**self).local_edits()
    }
    fn clear_local_edits(&self, ids: &[&str]) -> Result<(), StoreError> {
        (**self).clear_local_edits(ids)
    }
}
