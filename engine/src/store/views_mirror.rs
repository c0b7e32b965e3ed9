//! A copy in memory of a [`super::SledStore`]'s view index, so that lists do not walk sled's
//! tree: sled 0.34 searches the tree again for every step of an iteration, which was most of
//! the time of listing 10,000 documents (see BENCHMARKS.md).
//!
//! The copy is read whole from the tree the first time a list asks for it (so a process that
//! never lists holds none). Every later write of entries goes through [`ViewsMirror::write`],
//! which holds the copy's lock across the write to the tree and then updates the copy, so the
//! copy takes writes in the order the tree took them; a write that fails drops the copy, to be
//! read again. The tree stays the only thing written to disk. The copy is as large as the
//! index: per document its view (kind, heads, fields, and an owner's summary), not its history.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{StoreError, ViewEntry};

/// The entries of the view index by document id, once read.
#[derive(Default)]
pub(super) struct ViewsMirror {
    entries: Mutex<Option<Entries>>,
}

/// The view entries by document id.
type Entries = BTreeMap<Arc<str>, Arc<[u8]>>;

impl ViewsMirror {
    /// Runs `apply`, which writes `written` to the tree, and then puts them in the copy.
    pub(super) fn write(
        &self,
        written: &[(&str, &[u8])],
        apply: impl FnOnce() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut entries = self.lock();
        if let Err(e) = apply() {
            // What the tree holds now is not known here: read it again when next asked.
            *entries = None;
            return Err(e);
        }
        if let Some(entries) = entries.as_mut() {
            for (id, view) in written {
                entries.insert(Arc::from(*id), Arc::from(*view));
            }
        }
        Ok(())
    }

    /// The entries whose bytes `keep` accepts, in id order, sharing their bytes with the
    /// copy; the tree is read the first time.
    pub(super) fn select(
        &self,
        tree: &sled::Tree,
        keep: &dyn Fn(&[u8]) -> bool,
    ) -> Result<Vec<ViewEntry>, StoreError> {
        let mut entries = self.lock();
        if entries.is_none() {
            // The tree gives its entries in key order, so the map is built from them in one
            // pass rather than searched for every insert.
            let read = tree
                .iter()
                .map(|entry| {
                    let (key, value) = entry?;
                    Ok((
                        Arc::from(String::from_utf8_lossy(&key)),
                        Arc::from(&value[..]),
                    ))
                })
                .collect::<Result<BTreeMap<_, _>, StoreError>>()?;
            *entries = Some(read);
        }
        Ok(entries
            .iter()
            .flatten()
            .filter(|(_, view)| keep(view))
            .map(|(id, view)| (id.clone(), view.clone()))
            .collect())
    }

    fn lock(&self) -> MutexGuard<'_, Option<Entries>> {
        // A panic while the lock was held may have come between a write to the tree and the
        // copy: the copy is dropped, to be read from the tree again.
        self.entries.lock().unwrap_or_else(|poisoned| {
            let mut entries = poisoned.into_inner();
            *entries = None;
            entries
        })
    }
}
