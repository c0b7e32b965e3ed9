//! The opened data directory of a long-running process (a watching sync, the web app), shared
//! by its threads and lent out whole to other kompas commands when they ask for it.
//!
//! The watcher puts the opened samenwerkingen in (one replica each, all holding the same
//! locked directory); others take a reference for as long as one piece of work lasts. To lend
//! the directory out, the watcher empties the slot and waits until the last reference to every
//! samenwerking is gone, so each store is closed before the lock is released. While the slot is
//! empty, users wait for it to be filled again, up to the patience they bring.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::context::Opened;

/// How often [`Lending::take`] looks whether the last reference is gone.
const RELEASE_POLL: Duration = Duration::from_millis(5);

/// Every samenwerking of the opened data directory, in the order of their stores.
pub type Held = Vec<Arc<Opened>>;

/// The slot holding the opened data directory.
#[derive(Default)]
pub struct Lending {
    slot: Mutex<Option<Held>>,
    filled: Condvar,
}

impl Lending {
    /// Puts the freshly opened samenwerkingen of one directory in and wakes everyone waiting.
    pub fn put(&self, opened: Vec<Opened>) -> Held {
        let held: Held = opened.into_iter().map(Arc::new).collect();
        *self.lock() = Some(held.clone());
        self.filled.notify_all();
        held
    }

    /// Empties the slot and returns the samenwerkingen once `mine` holds their last references.
    pub fn take(&self, mine: Held) -> Vec<Opened> {
        self.lock().take();
        mine.into_iter()
            .map(|mut one| {
                loop {
                    match Arc::try_unwrap(one) {
                        Ok(opened) => break opened,
                        Err(still_shared) => {
                            one = still_shared;
                            std::thread::sleep(RELEASE_POLL);
                        }
                    }
                }
            })
            .collect()
    }

    /// Every opened samenwerking, waiting up to `patience` while the directory is lent out.
    pub fn all(&self, patience: Duration) -> Option<Held> {
        let deadline = Instant::now() + patience;
        let mut slot = self.lock();
        loop {
            if let Some(held) = slot.as_ref() {
                return Some(held.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            slot = self
                .filled
                .wait_timeout(slot, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// The opened samenwerking of store `store`: `None` while the directory is lent out for
    /// longer than `patience`, `Some(None)` when the directory has no such store (any more).
    pub fn get(&self, store: u32, patience: Duration) -> Option<Option<Arc<Opened>>> {
        self.all(patience)
            .map(|held| held.into_iter().find(|o| o.store == store))
    }

    /// The first opened samenwerking (the only one, in a directory with one).
    #[cfg(test)]
    pub fn first(&self, patience: Duration) -> Option<Arc<Opened>> {
        self.all(patience).and_then(|held| held.into_iter().next())
    }

    fn lock(&self) -> MutexGuard<'_, Option<Held>> {
        // The slot holds plain references; a panic elsewhere cannot leave it half-written.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
