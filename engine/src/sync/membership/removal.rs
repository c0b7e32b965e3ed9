//! What a removal leaves of a member's writing: the rule every replica applies to each bundle
//! of a removed member, whichever relay or mirror brings it.
//!
//! A removal fixes two bounds. The key epoch in force when the member was removed: its bundles
//! of later epochs never count (it has no key for them anyway). And, inside the sealed payload
//! that only members can read and only the author can sign, the member's own bundle sequence
//! number: the `Remove` names the highest one that counts (the highest the removing
//! coordinator's replica held). A relay that has not seen the removal may still store what the
//! member writes afterwards, numbered above the cut-off, and no replica applies it. Numbers at
//! or below the cut-off count once: a second, different bundle under a number a replica already
//! applied is refused, so the member cannot replace what it wrote before.

/// How a removal ended one member's writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    /// The key epoch in force when the member was removed.
    pub epoch: u64,
    /// The highest of the member's bundle sequence numbers that counts; `None` for a removal
    /// written before cut-offs existed, which bounds the epoch only.
    pub cutoff: Option<u64>,
}

/// Why a removed member's bundle does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AfterRemoval {
    /// Sealed in a key epoch after the removal.
    #[error("versleuteld in sleuteltijdvak {epoch}, na de verwijdering (in tijdvak {last})")]
    LaterEpoch { epoch: u64, last: u64 },
    /// Numbered above the removal's cut-off: written after it.
    #[error(
        "wijziging {seq} is geschreven na de verwijdering, die telt tot en met wijziging {cutoff}"
    )]
    AfterCutoff { seq: u64, cutoff: u64 },
    /// Without a sequence number (an older format), so it cannot be placed before the cut-off.
    #[error(
        "wijziging zonder volgnummer; na de verwijdering tellen alleen wijzigingen tot en met nummer {cutoff}"
    )]
    Unnumbered { cutoff: u64 },
    /// A second, different bundle under a number that was applied here already.
    #[error("een tweede, andere wijziging {seq}; de eerste is hier al toegepast")]
    Second { seq: u64 },
}

impl Removal {
    /// Whether a bundle of the removed member, sealed in `epoch` under sequence number `seq`
    /// (0: none), still counts. `held` says whether this replica applied a bundle of the member
    /// with that number already (and the new one is not a copy of it).
    pub fn admits(&self, epoch: u64, seq: u64, held: bool) -> Result<(), AfterRemoval> {
        if epoch > self.epoch {
            return Err(AfterRemoval::LaterEpoch {
                epoch,
                last: self.epoch,
            });
        }
        let Some(cutoff) = self.cutoff else {
            return Ok(());
        };
        if seq == 0 {
            return Err(AfterRemoval::Unnumbered { cutoff });
        }
        if seq > cutoff {
            return Err(AfterRemoval::AfterCutoff { seq, cutoff });
        }
        if held {
            return Err(AfterRemoval::Second { seq });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// A bundle counts exactly when it is of the removal's epoch or earlier, numbered, at or
        /// below the cut-off, and the first under its number; a removal without a cut-off bounds
        /// the epoch alone.
        #[test]
        fn the_rule_is_exactly_epoch_number_and_first(
            last in 0u64..4, cutoff in proptest::option::of(0u64..50),
            epoch in 0u64..6, seq in 0u64..60, held in any::<bool>(),
        ) {
            let removal = Removal { epoch: last, cutoff };
            let counts = epoch <= last
                && cutoff.is_none_or(|c| seq != 0 && seq <= c && !held);
            prop_assert_eq!(removal.admits(epoch, seq, held).is_ok(), counts);
            if epoch > last {
                prop_assert_eq!(
                    removal.admits(epoch, seq, held),
                    Err(AfterRemoval::LaterEpoch { epoch, last })
                );
            }
        }
    }

    #[test]
    fn each_refusal_says_why() {
        let removal = Removal {
            epoch: 1,
            cutoff: Some(7),
        };
        assert_eq!(removal.admits(1, 7, false), Ok(()));
        assert_eq!(
            removal.admits(1, 8, false),
            Err(AfterRemoval::AfterCutoff { seq: 8, cutoff: 7 })
        );
        assert_eq!(
            removal.admits(0, 3, true),
            Err(AfterRemoval::Second { seq: 3 })
        );
        assert_eq!(
            removal.admits(1, 0, false),
            Err(AfterRemoval::Unnumbered { cutoff: 7 })
        );
        assert_eq!(
            removal.admits(1, 8, false).unwrap_err().to_string(),
            "wijziging 8 is geschreven na de verwijdering, die telt tot en met wijziging 7"
        );
        let old = Removal {
            epoch: 0,
            cutoff: None,
        };
        assert_eq!(old.admits(0, 0, true), Ok(()));
        assert!(old.admits(1, 1, false).is_err());
    }
}
