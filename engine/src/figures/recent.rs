//! The last few keys looked up, with what was found for them: rows of a file come in runs of the
//! same area and a handful of breakdowns, so most look-ups end here, before any hashing.
//!
//! This is what keeps the import fast with seeded (SipHash) maps: a key that is in the list is
//! never hashed, and a key that is not is looked up in the map as usual.

/// How many keys are remembered.
const SLOTS: usize = 4;

/// The last [`SLOTS`] distinct keys put, each with its value; the oldest is forgotten first.
#[derive(Debug, Clone)]
pub struct Recent<K, V> {
    seen: [Option<(K, V)>; SLOTS],
    next: usize,
}

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent {
            seen: std::array::from_fn(|_| None),
            next: 0,
        }
    }
}

impl<K: PartialEq, V> Recent<K, V> {
    /// The value remembered for `key`, if it is among the last keys put.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: PartialEq<Q>,
        Q: ?Sized,
    {
        self.seen
            .iter()
            .flatten()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Remembers `value` for `key`, forgetting the oldest key when the list is full; a key
    /// already remembered keeps its place and takes the new value.
    pub fn put(&mut self, key: K, value: V) {
        if let Some(slot) = self.seen.iter_mut().flatten().find(|(k, _)| *k == key) {
            slot.1 = value;
            return;
        }
        self.seen[self.next] = Some((key, value));
        self.next = (self.next + 1) % SLOTS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_keys_are_remembered_and_the_oldest_forgotten() {
        let mut recent = Recent::default();
        for (k, v) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
            recent.put(k.to_string(), v);
        }
        assert_eq!(recent.get("a"), Some(&1));
        recent.put("b".to_string(), 20);
        assert_eq!(recent.get("b"), Some(&20));
        recent.put("e".to_string(), 5);
        assert_eq!(recent.get("a"), None);
        assert_eq!(recent.get("e"), Some(&5));
        assert_eq!(recent.get("d"), Some(&4));
    }
}
