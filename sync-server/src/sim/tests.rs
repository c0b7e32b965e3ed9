//! The simulation runs: many seeds, each must converge.

use kompas_engine::sync::wire::ErrorCode;

use super::world::World;

/// Actions per seed before the network heals.
const STEPS: usize = 60;

/// One run: random edits, partitions, restarts, duplicates and reordering, then healing.
fn run(seed: u64, steps: usize) -> World {
    let mut w = World::new(seed, 5, 2);
    let mut edited = false;
    for _ in 0..steps {
        let roll = w.rng.below(100);
        match roll {
            0..=54 => {
                w.deliver_one();
            }
            55..=66 => {
                let i = w.rng.below(w.nodes.len());
                w.edit(i);
                edited = true;
            }
            67..=72 => {
                let i = w.rng.below(w.nodes.len());
                let r = w.rng.below(w.relays.len());
                w.toggle_partition(i, r);
            }
            73..=74 => {
                let i = w.rng.below(w.nodes.len());
                w.restart_replica(i);
            }
            75 => {
                let r = w.rng.below(w.relays.len());
                w.restart_relay(r);
            }
            _ => {
                let ms = w.rng.below(3000) as i64;
                w.advance(ms);
            }
        }
    }
    // About one seed in two thousand rolls no edit at all; a world without documents shows
    // nothing, so one organisation edits before the network heals.
    if !edited {
        let i = w.rng.below(w.nodes.len());
        w.edit(i);
    }
    w.heal_and_settle();
    w
}

pub(super) fn assert_converged(seed: u64, w: &World) {
    let first = w.snapshot(0);
    assert!(!first.is_empty(), "seed {seed}: no documents at all");
    for i in 1..w.nodes.len() {
        let other = w.snapshot(i);
        assert_eq!(
            first
                .iter()
                .map(|(id, v)| (id, &v.heads))
                .collect::<Vec<_>>(),
            other
                .iter()
                .map(|(id, v)| (id, &v.heads))
                .collect::<Vec<_>>(),
            "seed {seed}: replica {i} has other heads than replica 0"
        );
        assert_eq!(first, other, "seed {seed}: replica {i} differs in content");
    }
    for i in 0..w.nodes.len() {
        assert_eq!(
            w.queued(i),
            0,
            "seed {seed}: replica {i} still has queued bundles"
        );
    }
    assert!(
        w.refusals.is_empty(),
        "seed {seed}: refusals {:?}",
        w.refusals
    );
    let out_of_turn: Vec<_> = w
        .relay_errors
        .iter()
        .filter(|(code, _)| !expected_from_relay(*code))
        .collect();
    assert!(
        out_of_turn.is_empty(),
        "seed {seed}: the relays refused what a replica should never send: {out_of_turn:?}"
    );
}

/// The refusals a replica meets in a faulty network and still converges: a key that is not
/// a member yet (or no longer), a bundle of an epoch a relay has not reached, a member-list
/// operation that lost a race with another (or an invite used already), a candidate that
/// stayed too long. Any other refusal means a replica spoke out of turn, or a relay failed.
fn expected_from_relay(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NotMember
            | ErrorCode::Removed
            | ErrorCode::UnknownEpoch
            | ErrorCode::MembershipRefused
            | ErrorCode::TimedOut
    )
}

/// The seeds to run: `KOMPAS_SIM_SEEDS` of them (100 unless set) from `KOMPAS_SIM_SEED_OFFSET`
/// (0 unless set), so that a long sweep in a release build and a short one in every `cargo test`
/// can cover different windows.
fn seed_window() -> std::ops::Range<u64> {
    let var = |name: &str, default: u64| {
        std::env::var(name).map_or(default, |s| {
            s.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name} must be a whole number, not {s:?}"))
        })
    };
    let count = var("KOMPAS_SIM_SEEDS", 100);
    let offset = var("KOMPAS_SIM_SEED_OFFSET", 0);
    offset..offset.saturating_add(count)
}

#[test]
fn five_replicas_two_relays_converge_on_every_seed() {
    let seeds = seed_window();
    assert!(
        !seeds.is_empty(),
        "KOMPAS_SIM_SEEDS is 0: no seed would run"
    );
    // Two threads share the seeds; each seed is a whole, independent world. A failing seed does
    // not stop the sweep: every failure is listed at the end.
    let workers: Vec<_> = (0..2usize)
        .map(|worker| {
            let seeds = seeds.clone();
            std::thread::spawn(move || {
                let mut failed = Vec::new();
                for seed in seeds.skip(worker).step_by(2) {
                    let outcome = std::panic::catch_unwind(|| {
                        let w = run(seed, STEPS);
                        assert_converged(seed, &w);
                    });
                    if outcome.is_err() {
                        failed.push(seed);
                    }
                }
                failed
            })
        })
        .collect();
    let mut failed: Vec<u64> = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok(seeds) => failed.extend(seeds),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    failed.sort_unstable();
    assert!(failed.is_empty(), "seeds that did not converge: {failed:?}");
}

#[test]
fn a_restarted_replica_resends_what_it_queued_offline() {
    let mut w = World::new(7, 2, 1);
    w.heal_and_settle();
    w.faults = true;
    w.toggle_partition(1, 0);
    for _ in 0..5 {
        w.edit(1);
    }
    w.restart_replica(1);
    assert!(w.queued(1) > 0, "offline edits were not queued");
    assert!(w.snapshot(0).len() < w.snapshot(1).len());
    w.heal_and_settle();
    assert_converged(7, &w);
    assert_eq!(w.snapshot(0).len(), w.snapshot(1).len());
}

#[test]
fn a_removed_member_cannot_open_what_is_written_after_removal() {
    use kompas_engine::document::DocId;
    use kompas_engine::seal::{Epoch, OpenError, Payload, PayloadForm, open, seal};

    let mut w = World::new(11, 3, 1);
    w.heal_and_settle();
    w.remove(0, 2);
    w.heal_and_settle();
    let ring_of = |w: &World, i: usize| w.nodes[i].machine.as_ref().unwrap().state().ring.clone();
    assert_eq!(ring_of(&w, 0).current().unwrap().0, Epoch(1));
    assert_eq!(ring_of(&w, 1).current().unwrap().0, Epoch(1));
    assert_eq!(ring_of(&w, 2).current().unwrap().0, Epoch(0));

    let author = w.nodes[0].replica.identity().signing_key().unwrap();
    let workspace = w.nodes[0].machine.as_ref().unwrap().workspace();
    let payload = Payload {
        doc: DocId::parse("geheim").unwrap(),
        form: PayloadForm::Changes,
        data: b"na de verwijdering".to_vec(),
        seq: 1,
    };
    let bundle = seal(&author, workspace, &ring_of(&w, 0), &payload, [7; 24]).unwrap();
    let member = w.nodes[1].machine.as_ref().unwrap();
    assert_eq!(
        open(&bundle, member.members(), &ring_of(&w, 1)).unwrap(),
        payload
    );
    // Even if a relay handed it over, the removed member lacks the key.
    struct Anyone;
    impl kompas_engine::seal::Roster for Anyone {
        fn may_write(&self, _: &kompas_engine::sync::wire::OrgKey, _: Epoch) -> bool {
            true
        }
    }
    assert_eq!(
        open(&bundle, &Anyone, &ring_of(&w, 2)),
        Err(OpenError::UnknownEpoch(Epoch(1)))
    );

    // What the removed member seals cannot claim the new epoch: it is not a writer there.
    let outsider = w.nodes[2].replica.identity().signing_key().unwrap();
    let mut forged = seal(&outsider, workspace, &ring_of(&w, 2), &payload, [8; 24]).unwrap();
    forged.epoch = 1;
    assert!(matches!(
        open(&forged, member.members(), &ring_of(&w, 1)),
        Err(OpenError::NotAMember { .. })
    ));
}

/// Delivers and lets time pass until nothing moves, without healing any partition.
fn settle_as_is(w: &mut World) {
    for _ in 0..40 {
        while w.deliver_one() {}
        w.advance(31_000);
    }
}

#[test]
fn a_removed_member_writing_through_a_stale_relay_is_refused_by_every_replica() {
    let mut w = World::new(5, 3, 2);
    w.edit(2);
    w.heal_and_settle();
    let agreed = w.snapshot(0);
    assert_eq!(
        agreed,
        w.snapshot(2),
        "the member's early edit reached everyone"
    );

    // Relay 1 hears nothing from the coordinator and the remaining member, so it never learns
    // of the removal; the removed member reaches only relay 1.
    w.toggle_partition(0, 1);
    w.toggle_partition(1, 1);
    w.toggle_partition(2, 0);
    w.remove(0, 2);
    settle_as_is(&mut w);
    let member = w.nodes[1].machine.as_ref().unwrap();
    assert!(
        member
            .members()
            .set()
            .was_removed(&w.nodes[2].machine.as_ref().unwrap().me())
    );
    for _ in 0..4 {
        w.edit(2);
    }
    settle_as_is(&mut w);
    assert_ne!(w.snapshot(2), agreed, "the removed member wrote something");

    // The stale relay now serves what it stored to the others: nobody applies it.
    let refused_before = w.refusals.len();
    w.heal_and_settle();
    assert_eq!(w.snapshot(0), agreed);
    assert_eq!(w.snapshot(1), agreed);
    let after: Vec<_> = w.refusals[refused_before..].to_vec();
    assert!(
        after.iter().any(|r| r.contains("na de verwijdering")),
        "the refusals are reported: {after:?}"
    );
    // Legitimate members keep syncing with each other through both relays.
    w.edit(1);
    w.heal_and_settle();
    assert_eq!(w.snapshot(0), w.snapshot(1));
    assert_ne!(w.snapshot(0), agreed);
}

#[test]
fn a_removed_member_cannot_replace_what_it_wrote_before_and_copies_change_nothing() {
    use kompas_engine::document::{Assignment, DocId};
    use kompas_engine::seal::{Payload, PayloadForm, seal};

    let mut w = World::new(9, 3, 2);
    w.edit(2);
    w.heal_and_settle();
    let agreed = w.snapshot(1);
    let removed = w.nodes[2].machine.as_ref().unwrap().me();
    let genuine = w.relays[0]
        .stored()
        .iter()
        .find(|b| b.author == removed)
        .cloned()
        .unwrap();
    assert!(
        w.nodes[1]
            .machine
            .as_ref()
            .unwrap()
            .state()
            .authors
            .contains(&removed, 1)
    );
    w.remove(0, 2);
    w.heal_and_settle();

    // The removed member writes other content and seals it in the old epoch under the number
    // of its first bundle; a relay stores that, and a copy of the genuine first bundle.
    let (id, view) = agreed[0].clone();
    let doc = DocId::parse(&id).unwrap();
    let replica = &w.nodes[2].replica;
    replica
        .update(&doc, &[Assignment::parse("titel=vervalst").unwrap()], w.now)
        .unwrap();
    let since: Vec<_> = view.heads.iter().map(|h| h.parse().unwrap()).collect();
    let changes = replica
        .own_changes_since(&doc, &since)
        .unwrap()
        .changes
        .concat();
    let ring = w.nodes[2].machine.as_ref().unwrap().state().ring.clone();
    let payload = Payload {
        doc,
        form: PayloadForm::Changes,
        data: changes,
        seq: 1,
    };
    let signing = replica.identity().signing_key().unwrap();
    let workspace = w.nodes[0].machine.as_ref().unwrap().workspace();
    let forged = seal(&signing, workspace, &ring, &payload, [9; 24]).unwrap();
    w.toggle_partition(1, 1);
    w.restart_replica(1);
    w.relays[1].store_unchecked(genuine);
    w.relays[1].store_unchecked(forged);
    let refused_before = w.refusals.len();
    w.heal_and_settle();
    assert_eq!(w.snapshot(1), agreed);
    assert_eq!(w.snapshot(0), agreed);
    let after: Vec<_> = w.refusals[refused_before..].to_vec();
    assert!(
        after
            .iter()
            .all(|r| r.contains("een tweede, andere wijziging 1"))
            && !after.is_empty(),
        "only the forgery is refused, the copy is not reported: {after:?}"
    );
}

#[test]
fn a_membership_change_reaching_a_relay_twice_is_acknowledged_not_refused() {
    // Every member passes on what it learns of the member list to both relays, so a removal
    // reaches each relay from the coordinator and again from the others. In a calm network
    // nothing of that is refused: a relay acknowledges an operation it already holds, and a
    // replica does not send back what a relay gave it.
    for seed in [3, 21, 40] {
        let mut w = World::new(seed, 4, 2);
        w.faults = false;
        w.heal_and_settle();
        w.relay_errors.clear();
        w.edit(1);
        w.remove(0, 3);
        w.heal_and_settle();
        let refused: Vec<_> = w
            .relay_errors
            .iter()
            .filter(|(code, _)| *code == ErrorCode::MembershipRefused)
            .collect();
        assert!(
            refused.is_empty(),
            "seed {seed}: a member-list operation was refused: {refused:?}"
        );
        let ops = |i: usize| w.nodes[i].machine.as_ref().unwrap().state().log.len();
        assert!(ops(1) > 0 && ops(1) == ops(0) && ops(2) == ops(0));
    }
}
