//! Tests of sealing local edits: only documents edited here are read, and no edit is lost.

use std::sync::atomic::Ordering;

use automerge::ChangeHash;

use super::SimRng;
use super::test_store::{T0, Watched, replica_with, title};
use super::{Event, Machine, Mode};
use crate::document::DocId;
use crate::replica::Replica;
use crate::store::Store;

fn look_for_edits(machine: &mut Machine, replica: &Replica<Watched>, rng: &mut SimRng) {
    machine
        .handle(replica, T0, rng, Event::LocalChanges)
        .unwrap();
}

fn sealed_at(machine: &Machine, doc: &DocId) -> Vec<ChangeHash> {
    machine.state().sealed_at.get(doc).unwrap().clone()
}

#[test]
fn looking_for_edits_reads_only_the_documents_edited_here() {
    const DOCS: usize = 200;
    let mut rng = SimRng::new(1);
    let (replica, ids) = replica_with(DOCS, 1);
    let relays = vec!["ws://relay.invalid".to_string()];
    let mut machine = Machine::create(&replica, "Samen", relays, T0, &mut rng).unwrap();
    look_for_edits(&mut machine, &replica, &mut rng);
    assert_eq!(machine.queued(), DOCS, "every document sealed once");

    replica.store().loads();
    look_for_edits(&mut machine, &replica, &mut rng);
    assert_eq!(replica.store().loads(), 0, "nothing changed, nothing read");
    assert_eq!(machine.queued(), DOCS);

    // Changes from another organisation are not this one's to seal.
    let (other, theirs) = replica_with(1, 2);
    let bytes = other.export(&theirs[0]).unwrap();
    replica.apply_remote(&theirs[0], &bytes).unwrap();
    replica.store().loads();
    look_for_edits(&mut machine, &replica, &mut rng);
    assert_eq!(
        replica.store().loads(),
        0,
        "a remote change is not a local edit"
    );
    assert_eq!(machine.queued(), DOCS);

    let before = machine.state().sealed_at.clone();
    let edited = &ids[DOCS / 3];
    replica.update(edited, &title("bijgewerkt"), T0).unwrap();
    replica.store().loads();
    look_for_edits(&mut machine, &replica, &mut rng);
    assert_eq!(
        replica.store().loads(),
        1,
        "only the edited document is read"
    );
    assert_eq!(machine.queued(), DOCS + 1, "and sealed");
    let mut edited_heads = replica.load(edited).unwrap().doc.get_heads();
    edited_heads.sort();
    let mut sealed = sealed_at(&machine, edited);
    sealed.sort();
    assert_eq!(sealed, edited_heads);
    let after = &machine.state().sealed_at;
    let moved: Vec<&DocId> = after
        .keys()
        .filter(|d| after.get(*d) != before.get(*d))
        .collect();
    assert_eq!(moved, vec![edited]);
}

/// The marks go only once the bundles sealed from them are durable: a stop before that leaves
/// them, and the next run seals the edit.
#[test]
fn an_edit_is_sealed_after_a_stop_before_its_bundle_was_durable() {
    let mut rng = SimRng::new(2);
    let (replica, ids) = replica_with(3, 1);
    let relays = vec!["ws://relay.invalid".to_string()];
    let mut machine = Machine::create(&replica, "Samen", relays, T0, &mut rng).unwrap();
    look_for_edits(&mut machine, &replica, &mut rng);
    assert_eq!(machine.queued(), 3);

    replica.update(&ids[1], &title("bijgewerkt"), T0).unwrap();
    replica.store().refuse_state.store(true, Ordering::SeqCst);
    let stopped = machine.handle(&replica, T0, &mut rng, Event::LocalChanges);
    assert!(stopped.is_err(), "the state could not be written");
    assert_eq!(
        replica.store().local_edits().unwrap(),
        vec![ids[1].to_string()],
        "the mark stays while the bundle is not durable"
    );

    replica.store().refuse_state.store(false, Ordering::SeqCst);
    let mut restarted = Machine::load(&replica, Mode::Once).unwrap().unwrap();
    assert_eq!(restarted.queued(), 3, "the lost bundle was never durable");
    look_for_edits(&mut restarted, &replica, &mut rng);
    assert_eq!(
        restarted.queued(),
        4,
        "the edit is sealed after the restart"
    );
    assert!(replica.store().local_edits().unwrap().is_empty());
}
