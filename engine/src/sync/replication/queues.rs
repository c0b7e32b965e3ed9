//! The large, fast-changing parts of the sync state, each remembering which entries changed
//! since they were last saved, so a save writes those entries and nothing else.

use std::collections::{BTreeMap, BTreeSet};

use super::state::Outgoing;
use crate::sync::wire::{Hash32, SealedBundle};

/// A sorted map that records which keys were inserted or removed since the last save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked<K: Ord + Clone, V> {
    items: BTreeMap<K, V>,
    changed: BTreeSet<K>,
}

impl<K: Ord + Clone, V> Default for Tracked<K, V> {
    fn default() -> Self {
        Tracked {
            items: BTreeMap::new(),
            changed: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Clone, V> Tracked<K, V> {
    /// The value under `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.items.get(key)
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.items.iter()
    }

    /// Every key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.items.keys()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sets `key`, to be written on the next save.
    pub(super) fn insert(&mut self, key: K, value: V) {
        self.changed.insert(key.clone());
        self.items.insert(key, value);
    }

    /// Removes `key`, to be deleted on the next save.
    pub(super) fn remove(&mut self, key: &K) -> Option<V> {
        let removed = self.items.remove(key);
        if removed.is_some() {
            self.changed.insert(key.clone());
        }
        removed
    }

    /// Sets `key` as it is already stored (while loading).
    pub(super) fn loaded(&mut self, key: K, value: V) {
        self.items.insert(key, value);
    }

    /// Marks every entry as changed, so the next save writes them all.
    pub(super) fn mark_all(&mut self) {
        self.changed.extend(self.items.keys().cloned());
    }

    /// The keys changed since the last save, each with its value or `None` once removed.
    pub(super) fn changes(&self) -> impl Iterator<Item = (&K, Option<&V>)> {
        self.changed.iter().map(|k| (k, self.items.get(k)))
    }

    /// Whether anything changed since the last save.
    pub(super) fn has_changes(&self) -> bool {
        !self.changed.is_empty()
    }

    /// Forgets the changes once they are durable.
    pub(super) fn saved(&mut self) {
        self.changed.clear();
    }
}

/// Sealed bundles waiting for relays to acknowledge them, in the order they were sealed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    /// By position: the order bundles were sealed in, and the suffix of their storage keys.
    pub(super) entries: Tracked<u64, Outgoing>,
    next: u64,
    by_hash: BTreeMap<Hash32, BTreeSet<u64>>,
    by_relay: BTreeMap<String, BTreeSet<u64>>,
}

impl Outbox {
    /// How many bundles wait.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every waiting bundle, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Outgoing> {
        self.entries.iter().map(|(_, o)| o)
    }

    /// The bundles `relay` has not acknowledged yet, oldest first.
    pub fn waiting_for<'a>(&'a self, relay: &str) -> impl Iterator<Item = &'a Outgoing> + 'a {
        self.by_relay
            .get(relay)
            .into_iter()
            .flatten()
            .filter_map(|seq| self.entries.get(seq))
    }

    /// Whether `relay` has bundles to acknowledge.
    pub fn any_waiting_for(&self, relay: &str) -> bool {
        self.by_relay.get(relay).is_some_and(|s| !s.is_empty())
    }

    /// Queues a bundle after every other.
    pub(super) fn push(&mut self, item: Outgoing) {
        let seq = self.next;
        self.index(seq, &item);
        self.entries.insert(seq, item);
    }

    /// Adds a bundle at the position it is stored under (while loading).
    pub(super) fn loaded(&mut self, seq: u64, item: Outgoing) {
        self.index(seq, &item);
        self.entries.loaded(seq, item);
    }

    fn index(&mut self, seq: u64, item: &Outgoing) {
        self.next = self.next.max(seq + 1);
        self.by_hash.entry(item.hash).or_default().insert(seq);
        for relay in &item.waiting_for {
            self.by_relay.entry(relay.clone()).or_default().insert(seq);
        }
    }

    /// `relay` acknowledged the bundle with this hash: it no longer waits for that relay, and
    /// leaves the queue once no relay is left. Returns whether anything changed.
    pub(super) fn acknowledged(&mut self, relay: &str, hash: &Hash32) -> bool {
        let seqs: Vec<u64> = self
            .by_hash
            .get(hash)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        let mut changed = false;
        for seq in seqs {
            changed |= self.release(seq, relay);
        }
        changed
    }

    /// Stops waiting for `relay` altogether (it left the relay list).
    pub(super) fn forget_relay(&mut self, relay: &str) {
        let seqs = self.by_relay.remove(relay).unwrap_or_default();
        for seq in seqs {
            self.release(seq, relay);
        }
    }

    /// Takes `relay` off one bundle's waiting list, dropping the bundle once the list is empty.
    fn release(&mut self, seq: u64, relay: &str) -> bool {
        let Some(item) = self.entries.get(&seq) else {
            return false;
        };
        if !item.waiting_for.contains(relay) {
            return false;
        }
        if let Some(seqs) = self.by_relay.get_mut(relay) {
            seqs.remove(&seq);
        }
        let mut item = item.clone();
        item.waiting_for.remove(relay);
        if !item.waiting_for.is_empty() {
            self.entries.insert(seq, item);
            return true;
        }
        self.entries.remove(&seq);
        if let Some(seqs) = self.by_hash.get_mut(&item.hash) {
            seqs.remove(&seq);
            if seqs.is_empty() {
                self.by_hash.remove(&item.hash);
            }
        }
        true
    }
}

/// Bundles that could not be applied yet, in the order they arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parked {
    /// By position: arrival order, and the suffix of their storage keys.
    pub(super) entries: Tracked<u64, SealedBundle>,
    next: u64,
    hashes: BTreeSet<Hash32>,
}

impl Parked {
    /// How many bundles wait.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every parked bundle, in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = &SealedBundle> {
        self.entries.iter().map(|(_, b)| b)
    }

    /// Parks a bundle after every other, unless it is parked already. Returns `false`, and
    /// parks nothing, when `limit` bundles are parked: the caller must then keep the bundle
    /// (its cursor stays before it) instead of dropping it.
    pub(super) fn park(&mut self, bundle: SealedBundle, limit: usize) -> bool {
        let hash = bundle.hash();
        if self.hashes.contains(&hash) {
            return true;
        }
        if self.entries.len() >= limit {
            return false;
        }
        self.hashes.insert(hash);
        self.entries.insert(self.next, bundle);
        self.next += 1;
        true
    }

    /// Adds a bundle at the position it is stored under (while loading).
    pub(super) fn loaded(&mut self, seq: u64, bundle: SealedBundle) {
        self.next = self.next.max(seq + 1);
        self.hashes.insert(bundle.hash());
        self.entries.loaded(seq, bundle);
    }

    /// The parked bundles with their positions, in order.
    pub(super) fn positions(&self) -> Vec<u64> {
        self.entries.keys().copied().collect()
    }

    /// The bundle at `seq`.
    pub(super) fn get(&self, seq: u64) -> Option<&SealedBundle> {
        self.entries.get(&seq)
    }

    /// The bundle at `seq` was applied or refused: it leaves the park.
    pub(super) fn unpark(&mut self, seq: u64) {
        if let Some(bundle) = self.entries.remove(&seq) {
            self.hashes.remove(&bundle.hash());
        }
    }
}
