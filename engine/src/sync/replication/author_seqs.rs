//! Per author, which of its own bundle sequence numbers this replica sealed or applied.
//!
//! Every bundle carries its author's sequence number inside the sealed payload. The replica
//! keeps, for each author, the numbers it has, as ranges (an author's bundles mostly arrive in
//! order, so this stays a range or two per author). A coordinator removing a member reads the
//! member's highest number here as the removal's cut-off; every replica then refuses that
//! member's bundles above the cut-off, and any second bundle under a number it already has.

use std::collections::BTreeMap;

use crate::sync::wire::OrgKey;

/// The sequence numbers of one author, as inclusive ranges keyed by their start.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SeqRanges(BTreeMap<u64, u64>);

impl SeqRanges {
    /// Whether `seq` is held.
    pub fn contains(&self, seq: u64) -> bool {
        self.0
            .range(..=seq)
            .next_back()
            .is_some_and(|(_, end)| seq <= *end)
    }

    /// Adds `seq`, merging it with the ranges beside it.
    pub fn insert(&mut self, seq: u64) {
        if self.contains(seq) {
            return;
        }
        let mut start = seq;
        let mut end = seq;
        if let Some((&s, &e)) = self.0.range(..seq).next_back()
            && e.checked_add(1) == Some(seq)
        {
            start = s;
        }
        if let Some(next) = seq.checked_add(1)
            && let Some(e) = self.0.remove(&next)
        {
            end = e;
        }
        self.0.insert(start, end);
    }

    /// The highest number held, or 0.
    pub fn highest(&self) -> u64 {
        self.0.values().next_back().copied().unwrap_or(0)
    }

    /// How many ranges there are.
    pub fn ranges(&self) -> usize {
        self.0.len()
    }
}

/// Every author's sequence numbers, keyed by the author's key in hex.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct AuthorSeqs(BTreeMap<String, SeqRanges>);

impl AuthorSeqs {
    /// The numbers held of `author`.
    pub fn of(&self, author: &OrgKey) -> Option<&SeqRanges> {
        self.0.get(&author.to_string())
    }

    /// Records that `author`'s bundle `seq` was applied (or sealed, for this replica's own).
    /// Number 0 (a bundle from before sequence numbers) is not recorded.
    /// Returns whether anything changed.
    pub fn record(&mut self, author: &OrgKey, seq: u64) -> bool {
        if seq == 0 || self.contains(author, seq) {
            return false;
        }
        self.0.entry(author.to_string()).or_default().insert(seq);
        true
    }

    /// The highest number held of `author`, or 0.
    pub fn highest(&self, author: &OrgKey) -> u64 {
        self.of(author).map_or(0, SeqRanges::highest)
    }

    /// Whether `author`'s bundle `seq` is held.
    pub fn contains(&self, author: &OrgKey, seq: u64) -> bool {
        self.of(author).is_some_and(|r| r.contains(seq))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// The ranges hold exactly the numbers inserted, merged as far as they touch.
        #[test]
        fn ranges_hold_exactly_what_was_inserted(seqs in proptest::collection::vec(1u64..200, 0..120)) {
            let mut ranges = SeqRanges::default();
            let mut plain = BTreeSet::new();
            for seq in &seqs {
                ranges.insert(*seq);
                plain.insert(*seq);
            }
            for n in 0..210 {
                prop_assert_eq!(ranges.contains(n), plain.contains(&n), "{}", n);
            }
            prop_assert_eq!(ranges.highest(), plain.last().copied().unwrap_or(0));
            let runs = plain.iter().filter(|n| !plain.contains(&(**n - 1))).count();
            prop_assert_eq!(ranges.ranges(), runs);
        }
    }

    #[test]
    fn in_order_numbers_stay_one_range_and_zero_is_not_recorded() {
        let author = OrgKey([3; 32]);
        let mut seqs = AuthorSeqs::default();
        for n in 1..=1000 {
            assert!(seqs.record(&author, n));
        }
        assert!(!seqs.record(&author, 0));
        assert!(!seqs.record(&author, 5));
        assert_eq!(seqs.of(&author).unwrap().ranges(), 1);
        assert_eq!(seqs.highest(&author), 1000);
        assert!(!seqs.contains(&author, 0));
        assert_eq!(seqs.highest(&OrgKey([4; 32])), 0);
        seqs.record(&author, u64::MAX);
        assert!(seqs.contains(&author, u64::MAX));
        let json = serde_json::to_string(&seqs).unwrap();
        assert_eq!(serde_json::from_str::<AuthorSeqs>(&json).unwrap(), seqs);
    }
}
