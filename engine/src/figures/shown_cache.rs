//! The protected observations of the last few indicator versions shown, so that a page which
//! shows an indicator again does not decode and protect all its observations again.
//!
//! An entry is keyed by everything the protected table is computed from: the indicator
//! document's heads (its batches and its unit), the area registry document's heads and the
//! small-number policy in force now. A new batch, a new registry or a stricter policy is a new
//! key and so a fresh computation; small-number protection is never weakened by an old entry.
//! Heads are content hashes, so one cache can serve the replicas of several samenwerkingen.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::{AreaRegistry, ObservationTable, SuppressionPolicy};
use crate::document::DocId;

/// How many indicator versions a cache keeps by default: each holds a whole protected table.
pub const DEFAULT_ENTRIES: usize = 2;

/// An indicator's observations as they may be shown, with the registry they were protected by.
#[derive(Debug)]
pub struct Shown {
    /// The protected observations.
    pub table: ObservationTable,
    /// The area registry in force when they were protected.
    pub registry: AreaRegistry,
}

/// What a protected table is computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ShownKey {
    pub(super) indicator: (DocId, Vec<String>),
    pub(super) registry: Option<(DocId, Vec<String>)>,
    /// The policy's threshold and rounding as bits, and whether secondary suppression is on.
    pub(super) policy: (u64, u64, bool),
}

impl ShownKey {
    pub(super) fn policy(policy: &SuppressionPolicy) -> (u64, u64, bool) {
        (
            policy.threshold.to_bits(),
            policy.round_to.to_bits(),
            policy.secondary,
        )
    }
}

/// The last few protected tables, newest first; cheap to share between threads.
#[derive(Debug)]
pub struct ShownCache {
    capacity: usize,
    entries: Mutex<VecDeque<(ShownKey, Arc<Shown>)>>,
}

impl Default for ShownCache {
    fn default() -> Self {
        ShownCache::with_capacity(DEFAULT_ENTRIES)
    }
}

impl ShownCache {
    /// A cache keeping at most `capacity` tables (at least one).
    pub fn with_capacity(capacity: usize) -> ShownCache {
        ShownCache {
            capacity: capacity.max(1),
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// The table stored under `key`, which becomes the newest.
    pub(super) fn get(&self, key: &ShownKey) -> Option<Arc<Shown>> {
        let mut entries = self.lock();
        let at = entries.iter().position(|(k, _)| k == key)?;
        let entry = entries.remove(at)?;
        let shown = entry.1.clone();
        entries.push_front(entry);
        Some(shown)
    }

    /// Keeps `shown` under `key`, forgetting the oldest table beyond the capacity and any
    /// older version of the same indicator.
    pub(super) fn put(&self, key: ShownKey, shown: Arc<Shown>) {
        let mut entries = self.lock();
        entries.retain(|(k, _)| k.indicator.0 != key.indicator.0);
        entries.push_front((key, shown));
        entries.truncate(self.capacity);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(ShownKey, Arc<Shown>)>> {
        // Each change is one push or removal of whole entries; a panic elsewhere cannot leave
        // an entry half-written.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
