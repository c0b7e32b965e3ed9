//! An in-memory [`Store`] for tests and simulations; "durable" means "in the map".

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{MetaBatch, Store, StoreError, StoredDoc, ViewEntry, check_key};

/// A [`Store`] that keeps everything in process memory.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    docs: BTreeMap<String, StoredDoc>,
    meta: BTreeMap<String, Vec<u8>>,
    local_edits: BTreeSet<String>,
    /// Shared with the lists that read them, as the sled store's copy in memory is.
    views: BTreeMap<Arc<str>, Arc<[u8]>>,
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated: every update is a
        // single insert or push, so the data is still consistent and we may keep using it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    fn load(&self, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        check_key(id)?;
        Ok(self.lock().docs.get(id).cloned())
    }

    fn append_chunk(&self, id: &str, chunk: &[u8], view: &[u8]) -> Result<usize, StoreError> {
        check_key(id)?;
        let mut inner = self.lock();
        inner.views.insert(Arc::from(id), Arc::from(view));
        let doc = inner.docs.entry(id.to_string()).or_default();
        doc.chunks.push(chunk.to_vec());
        Ok(doc.chunks.len())
    }

    fn replace_with_snapshot(
        &self,
        id: &str,
        snapshot: &[u8],
        view: &[u8],
    ) -> Result<(), StoreError> {
        check_key(id)?;
        let doc = StoredDoc {
            snapshot: Some(snapshot.to_vec()),
            chunks: Vec::new(),
        };
        let mut inner = self.lock();
        inner.docs.insert(id.to_string(), doc);
        inner.views.insert(Arc::from(id), Arc::from(view));
        Ok(())
    }

    fn views(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .views
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect())
    }

    fn views_where(&self, keep: &dyn Fn(&[u8]) -> bool) -> Result<Vec<ViewEntry>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .views
            .iter()
            .filter(|(_, v)| keep(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn view(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(id)?;
        Ok(self.lock().views.get(id).map(|v| v.to_vec()))
    }

    fn put_views(&self, views: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        for (id, _) in views {
            check_key(id)?;
        }
        let mut inner = self.lock();
        for (id, view) in views {
            inner
                .views
                .insert(Arc::from(id.as_str()), Arc::from(view.as_slice()));
        }
        Ok(())
    }

    fn ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.lock().docs.keys().cloned().collect())
    }

    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        Ok(self.lock().meta.get(key).cloned())
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        self.lock().meta.insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn write_meta(&self, batch: &MetaBatch) -> Result<(), StoreError> {
        batch.check_keys()?;
        let mut inner = self.lock();
        for (key, value) in batch.writes() {
            match value {
                Some(value) => inner.meta.insert(key.clone(), value.clone()),
                None => inner.meta.remove(key),
            };
        }
        Ok(())
    }

    fn scan_meta(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        check_key(prefix)?;
        let inner = self.lock();
        Ok(inner
            .meta
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn mark_local_edits(&self, ids: &[&str]) -> Result<(), StoreError> {
        for id in ids {
            check_key(id)?;
        }
        let mut inner = self.lock();
        inner
            .local_edits
            .extend(ids.iter().map(|id| id.to_string()));
        Ok(())
    }

    fn local_edits(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.lock().local_edits.iter().cloned().collect())
    }

    fn clear_local_edits(&self, ids: &[&str]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for id in ids {
            inner.local_edits.remove(*id);
        }
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        let inner = self.lock();
        let docs: usize = inner.docs.values().map(StoredDoc::byte_len).sum();
        let meta: usize = inner.meta.values().map(Vec::len).sum();
        let views: usize = inner.views.values().map(|v| v.len()).sum();
        Ok((docs + meta + views) as u64)
    }
}
