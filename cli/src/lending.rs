//! The opened data directory of a long-running process (a watching sync, the web app), shared
//! by its threads and lent out whole to other kompas commands when they ask for it.
//!
//! The watcher puts the opened directory in; others take a reference for as long as one piece
//! of work lasts. To lend the directory out, the watcher empties the slot and waits until the
//! last reference is gone, so the store is closed before the lock is released. While the slot
//! is empty, users wait for it to be filled again, up to the patience they bring.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::context::Opened;

/// How often [`Lending::take`] looks whether the last reference is gone.
const RELEASE_POLL: Duration = Duration::from_millis(5);

/// The slot holding the opened data directory.
#[derive(Default)]
pub struct Lending {
    slot: Mutex<Option<Arc<Opened>>>,
    filled: Condvar,
}

impl Lending {
    /// Puts a freshly opened directory in and wakes everyone waiting for it.
    pub fn put(&self, opened: Opened) -> Arc<Opened> {
        let opened = Arc::new(opened);
        *self.lock() = Some(opened.clone());
        self.filled.notify_all();
        opened
    }

    /// Empties the slot and returns the directory once `mine` is its last reference.
    pub fn take(&self, mine: Arc<Opened>) -> Opened {
        self.lock().take();
        let mut mine = mine;
        loop {
            match Arc::try_unwrap(mine) {
                Ok(opened) => return opened,
                Err(still_shared) => {
                    mine = still_shared;
                    std::thread::sleep(RELEASE_POLL);
                }
            }
        }
    }

    /// The opened directory, waiting up to `patience` while it is lent out.
    pub fn get(&self, patience: Duration) -> Option<Arc<Opened>> {
        let deadline = Instant::now() + patience;
        let mut slot = self.lock();
        loop {
            if let Some(opened) = slot.as_ref() {
                return Some(opened.clone());
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

    fn lock(&self) -> MutexGuard<'_, Option<Arc<Opened>>> {
        // The slot holds a plain reference; a panic elsewhere cannot leave it half-written.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
