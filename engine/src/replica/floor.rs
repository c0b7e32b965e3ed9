//! The floor a workspace sets under its small-number policy: the weakest policy any coordinator
//! may choose. Without a choice it is CBS's rule ([`POLICY_FLOOR`]: 0 to 7 secret, rounding to 5,
//! secondary suppression on).
//!
//! The floor is held in the policy document, beside the policy, under its own root keys. Only
//! coordinators set it, and it only ever rises: its value is the highest a coordinator ever
//! wrote, read from the document's whole history wherever it is read, so a lower value written
//! later (by a coordinator's own tool, or one that arrived concurrently with a raise) has no
//! effect, and neither does any value a partner wrote. Why it never falls: partners share their
//! figures trusting the floor in force, and a maximum over every coordinator's writes is the one
//! rule every replica computes alike whatever order changes arrive in. A partnership that wants a
//! lower floor agrees on it in a new samenwerking.

use automerge::{AutoCommit, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable};

use super::rights::POLICY_FLOOR;
use super::{Replica, ReplicaError};
use crate::document::{ChangeNote, author_of_op};
use crate::privacy::SuppressionPolicy;
use crate::store::Store;

/// The root key of the floor's threshold.
const THRESHOLD_KEY: &str = "ondergrens-drempel";
/// The root key of the floor's rounding.
const ROUND_KEY: &str = "ondergrens-afronden";

/// No floor at all (a replica outside a workspace protects only by the policy it chose).
const NO_FLOOR: SuppressionPolicy = SuppressionPolicy {
    threshold: 0.0,
    round_to: 1.0,
    secondary: false,
};

impl<S: Store> Replica<S> {
    /// The floor the policy document `doc` holds (see the module notes); CBS's rule within a
    /// workspace when none was set, no floor outside one.
    pub fn floor_in(
        &self,
        doc: Option<&mut AutoCommit>,
    ) -> Result<SuppressionPolicy, ReplicaError> {
        let Some(coordinators) = self.coordinators()? else {
            return Ok(NO_FLOOR);
        };
        let mut floor = POLICY_FLOOR;
        if let Some(doc) = doc {
            let allowed = |org: &str| coordinators.contains(org);
            if let Some(n) = highest(doc, THRESHOLD_KEY, &allowed) {
                floor.threshold = floor.threshold.max(n);
            }
            if let Some(n) = highest(doc, ROUND_KEY, &allowed) {
                floor.round_to = floor.round_to.max(n);
            }
        }
        Ok(floor)
    }

    /// Writes `floor` into the policy document `doc` (to be committed by the caller), after
    /// [`Replica::check_floor`].
    pub fn write_floor(
        &self,
        doc: &mut AutoCommit,
        floor: &SuppressionPolicy,
        current: &SuppressionPolicy,
    ) -> Result<(), ReplicaError> {
        self.check_floor(floor, current)?;
        let automerge = |e: automerge::AutomergeError| ReplicaError::PolicyRefused(e.to_string());
        doc.put(ROOT, THRESHOLD_KEY, floor.threshold)
            .map_err(automerge)?;
        doc.put(ROOT, ROUND_KEY, floor.round_to)
            .map_err(automerge)?;
        Ok(())
    }

    /// Refuses a floor this organisation may not set: only a coordinator sets one, and never
    /// below `current` (the floor in force).
    pub fn check_floor(
        &self,
        floor: &SuppressionPolicy,
        current: &SuppressionPolicy,
    ) -> Result<(), ReplicaError> {
        let refused = |why: String| Err(ReplicaError::PolicyRefused(why));
        let Some(coordinators) = self.coordinators()? else {
            return refused(
                "een ondergrens hoort bij een samenwerking; deze kompas-map hoort bij geen enkele"
                    .into(),
            );
        };
        if !coordinators.contains(&self.identity().profile.org_id) {
            return refused(
                "alleen een coördinator van de samenwerking kan de ondergrens voor kleine aantallen wijzigen".into(),
            );
        }
        if !floor.threshold.is_finite() || floor.threshold < 0.0 || floor.threshold > 1e6 {
            return refused(format!(
                "drempel {} kan niet; kies een aantal van 0 tot en met 1000000",
                floor.threshold
            ));
        }
        if !floor.round_to.is_finite() || floor.round_to < 1.0 || floor.round_to > 1e6 {
            return refused(format!(
                "afronden op {} kan niet; kies een aantal van 1 tot en met 1000000",
                floor.round_to
            ));
        }
        if floor.threshold < current.threshold || floor.round_to < current.round_to {
            return refused(format!(
                "de ondergrens kan alleen omhoog: nu zijn aantallen van 0 tot en met {} geheim en wordt afgerond op {}; partners delen hun cijfers in vertrouwen op die ondergrens",
                current.threshold, current.round_to
            ));
        }
        Ok(())
    }
}

/// The highest number any change by an `allowed` organisation left under the root key `key`,
/// over the document's whole history.
fn highest(doc: &mut AutoCommit, key: &str, allowed: &dyn Fn(&str) -> bool) -> Option<f64> {
    let by_allowed: Vec<_> = doc
        .get_changes_meta(&[])
        .into_iter()
        .filter(|m| {
            ChangeNote::from_message(m.message.as_deref()).is_some_and(|n| allowed(&n.org_id))
        })
        .map(|m| m.hash)
        .collect();
    let mut best: Option<f64> = None;
    for hash in by_allowed {
        let Ok(values) = doc.get_all_at(ROOT, key, &[hash]) else {
            continue;
        };
        let values: Vec<_> = values
            .into_iter()
            .map(|(v, op)| (v.into_owned(), op))
            .collect();
        for (value, op) in values {
            let n = match value {
                Value::Scalar(s) => match s.as_ref() {
                    ScalarValue::F64(n) => *n,
                    ScalarValue::Int(n) => *n as f64,
                    ScalarValue::Uint(n) => *n as f64,
                    _ => continue,
                },
                Value::Object(_) => continue,
            };
            // Only the value an allowed organisation wrote itself counts, and only a sane one.
            if n.is_finite()
                && author_of_op(doc, &op).is_some_and(|(a, _)| a.as_deref().is_some_and(allowed))
            {
                best = Some(best.map_or(n, |b: f64| b.max(n)));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use automerge::transaction::CommitOptions;

    use super::*;
    use crate::figures::storage::Figures;
    use crate::identity::{Identity, OrgType};
    use crate::store::MemoryStore;
    use crate::sync::replication::{Entropy, Machine};
    use crate::time::Timestamp;

    struct Counter(u8);

    impl Entropy for Counter {
        fn fill(&mut self, out: &mut [u8]) {
            for b in out {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
    }

    const T0: i64 = 1_780_000_000_000;

    fn policy(threshold: f64, round_to: f64) -> SuppressionPolicy {
        SuppressionPolicy {
            threshold,
            round_to,
            secondary: true,
        }
    }

    /// Writes the floor's threshold into the policy document as `org_id`'s change, the way
    /// another tool (or a hostile partner's replica) could.
    fn forge(
        replica: &Replica<MemoryStore>,
        figures: &Figures<'_, MemoryStore>,
        org_id: &str,
        n: f64,
    ) {
        let id = replica
            .list(Some(crate::figures::story::POLICY_KIND), false)
            .unwrap()
            .remove(0)
            .id;
        let mut loaded = replica.load(&id).unwrap();
        loaded.doc.put(ROOT, THRESHOLD_KEY, n).unwrap();
        let note = ChangeNote {
            org_id: org_id.into(),
            org: "Iemand".into(),
            action: "ondergrens".into(),
        };
        loaded
            .doc
            .commit_with(CommitOptions::default().with_message(note.to_message()));
        replica.save(&mut loaded).unwrap();
        let _ = figures.floor();
    }

    #[test]
    fn the_floor_is_cbs_rule_until_a_coordinator_raises_it_and_it_never_falls() {
        let replica = crate::composition::init(
            MemoryStore::default(),
            Identity::new("Gemeente Havenstad", OrgType::Gemeente, [1; 32], [1; 16]),
        )
        .unwrap();
        let figures = Figures::new(&replica);
        // Outside a workspace there is no floor.
        assert_eq!(figures.floor().unwrap(), NO_FLOOR);
        Machine::create(
            &replica,
            "Jeugd Havenstad",
            vec!["ws://127.0.0.1:1".into()],
            Timestamp(T0),
            &mut Counter(0),
        )
        .unwrap();
        assert_eq!(figures.floor().unwrap(), POLICY_FLOOR);
        let err = figures
            .set_policy(&policy(3.0, 5.0), Timestamp(T0), [2; 8])
            .unwrap_err();
        assert!(err.to_string().contains("ondergrens"), "{err}");

        // Raised to 10: the policy follows at once, and a policy below it is refused.
        let floor = figures
            .set_floor(&policy(10.0, 5.0), Timestamp(T0 + 1), [3; 8])
            .unwrap();
        assert_eq!(floor, policy(10.0, 5.0));
        assert_eq!(figures.policy().unwrap().threshold, 10.0);
        let err = figures
            .set_policy(&policy(9.0, 5.0), Timestamp(T0 + 2), [4; 8])
            .unwrap_err();
        assert!(err.to_string().contains("0 tot en met 10"), "{err}");
        figures
            .set_policy(&policy(12.0, 10.0), Timestamp(T0 + 2), [4; 8])
            .unwrap();

        // Lowering is refused by the command, and has no effect when written anyway.
        let err = figures
            .set_floor(&policy(8.0, 5.0), Timestamp(T0 + 3), [5; 8])
            .unwrap_err();
        assert!(err.to_string().contains("alleen omhoog"), "{err}");
        let me = replica.identity().profile.org_id.clone();
        forge(&replica, &figures, &me, 0.0);
        assert_eq!(figures.floor().unwrap().threshold, 10.0);

        // A partner's value counts neither way.
        forge(&replica, &figures, "partner", 50.0);
        assert_eq!(figures.floor().unwrap().threshold, 10.0);
        forge(&replica, &figures, "partner", 1.0);
        assert_eq!(figures.floor().unwrap().threshold, 10.0);
        assert_eq!(figures.policy().unwrap(), policy(12.0, 10.0));

        // Raising further works; nonsense is refused.
        let floor = figures
            .set_floor(&policy(15.0, 10.0), Timestamp(T0 + 4), [6; 8])
            .unwrap();
        assert_eq!(floor, policy(15.0, 10.0));
        assert_eq!(figures.policy().unwrap(), policy(15.0, 10.0));
        for bad in [policy(f64::NAN, 10.0), policy(20.0, 0.0), policy(2e6, 10.0)] {
            assert!(
                figures.set_floor(&bad, Timestamp(T0 + 5), [7; 8]).is_err(),
                "{bad:?}"
            );
        }
    }
}
