//! Tests of how the sync state is kept: what one acknowledgement writes, what a restart finds,
//! and stores written in the old single-value layout.

use automerge::ChangeHash;
use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;

use super::SimRng;
use super::test_store::{T0, Watched, replica_with, welcomed};
use super::{
    CURSORS_KEY, Effect, Event, Machine, Mode, OUTBOX_PREFIX, Outgoing, PARKED_PREFIX, Report,
    SEALED_PREFIX, STATE_KEY, WorkspaceState,
};
use crate::document::DocId;
use crate::replica::Replica;
use crate::store::{MemoryStore, Store};
use crate::sync::wire::{
    DocRef, Encoded, Hash32, Message, NONCE_LEN, SealedBundle, Sequenced, WorkspaceId,
};

const FIRST: &str = "ws://eerste.invalid";
const SECOND: &str = "ws://tweede.invalid";

/// A machine on two relays with `docs` documents sealed and queued for both.
fn queued_machine(docs: usize, rng: &mut SimRng) -> (Replica<Watched>, Machine) {
    let (replica, _) = replica_with(docs, 1);
    let relays = vec![FIRST.to_string(), SECOND.to_string()];
    let mut machine = Machine::create(&replica, "Samen", relays, T0, rng).unwrap();
    machine
        .handle(&replica, T0, rng, Event::LocalChanges)
        .unwrap();
    assert_eq!(machine.queued(), docs);
    for relay in [FIRST, SECOND] {
        welcomed(&mut machine, &replica, rng, relay);
    }
    (replica, machine)
}

fn receive(
    machine: &mut Machine,
    replica: &Replica<Watched>,
    rng: &mut SimRng,
    relay: &str,
    message: Message,
) {
    let event = Event::Received {
        relay: relay.to_string(),
        message: Box::new(message),
    };
    machine.handle(replica, T0, rng, event).unwrap();
}

fn ack(machine: &mut Machine, replica: &Replica<Watched>, rng: &mut SimRng, relay: &str, n: usize) {
    let hash: Hash32 = machine
        .state()
        .outbox
        .waiting_for(relay)
        .next()
        .unwrap()
        .hash;
    let message = Message::Ack {
        seq: n as u64 + 1,
        hash,
        duplicate: false,
    };
    receive(machine, replica, rng, relay, message);
}

/// A bundle from an organisation this replica has never heard of: it is parked.
fn stranger_bundle(workspace: WorkspaceId, seed: u8) -> SealedBundle {
    SealedBundle::sign(
        workspace,
        0,
        DocRef([seed; 32]),
        [seed; NONCE_LEN],
        vec![seed; 40],
        &SigningKey::from_bytes(&[seed; 32]),
    )
}

fn park(machine: &mut Machine, replica: &Replica<Watched>, rng: &mut SimRng, seq: u64) {
    let bundle = stranger_bundle(machine.workspace(), 100 + seq as u8);
    let message = Message::Pushed {
        item: Sequenced { seq, bundle },
    };
    receive(machine, replica, rng, FIRST, message);
}

/// What a restart must find again, in order: outbox, sealed heads, parked bundles.
type Entries = (
    Vec<Outgoing>,
    Vec<(DocId, Vec<ChangeHash>)>,
    Vec<SealedBundle>,
);

fn entries(state: &WorkspaceState) -> Entries {
    (
        state.outbox.iter().cloned().collect(),
        state
            .sealed_at
            .iter()
            .map(|(d, h)| (d.clone(), h.clone()))
            .collect(),
        state.parked.iter().cloned().collect(),
    )
}

#[test]
fn one_acknowledgement_writes_the_same_few_bytes_however_many_bundles_are_queued() {
    const DOCS: usize = 300;
    let mut rng = SimRng::new(1);
    let (replica, mut machine) = queued_machine(DOCS, &mut rng);
    let largest = machine
        .state()
        .outbox
        .iter()
        .map(|o| o.bundle.encoded_len())
        .max();
    let largest = largest.unwrap();
    replica.store().written();

    // The first relay acknowledges everything: each bundle still waits for the second.
    let mut rewrites = Vec::new();
    for n in 0..DOCS {
        ack(&mut machine, &replica, &mut rng, FIRST, n);
        rewrites.push(replica.store().written());
    }
    assert_eq!(machine.queued(), DOCS);
    // The second relay acknowledges everything: each bundle leaves the queue.
    let mut removals = Vec::new();
    for n in 0..DOCS {
        ack(&mut machine, &replica, &mut rng, SECOND, n);
        removals.push(replica.store().written());
    }
    assert_eq!(machine.queued(), 0);

    // With 299 others queued or with none, an acknowledgement rewrites its own entry only.
    assert!(
        rewrites.iter().all(|w| *w <= largest + 200),
        "at most one bundle of {largest} bytes, its relays, key and the cursors: {rewrites:?}"
    );
    assert!(
        removals.iter().all(|w| *w == removals[0]) && removals[0] < 100,
        "a removal writes one key and the cursors, whatever is queued: {removals:?}"
    );
}

#[test]
fn a_restarted_machine_finds_the_same_outbox_sealed_heads_and_parked_bundles() {
    let mut rng = SimRng::new(2);
    let (replica, mut machine) = queued_machine(6, &mut rng);
    ack(&mut machine, &replica, &mut rng, FIRST, 0);
    ack(&mut machine, &replica, &mut rng, FIRST, 1);
    ack(&mut machine, &replica, &mut rng, SECOND, 0);
    park(&mut machine, &replica, &mut rng, 1);
    park(&mut machine, &replica, &mut rng, 2);
    assert_eq!(
        machine.queued(),
        5,
        "the first bundle left, acknowledged by both"
    );
    assert_eq!(machine.state().parked.len(), 2);
    assert_eq!(machine.state().sealed_at.len(), 6);

    let restarted = Machine::load(&replica, Mode::Once).unwrap().unwrap();
    assert_eq!(entries(restarted.state()), entries(machine.state()));
    assert_eq!(restarted.state().cursors, machine.state().cursors);
    assert_eq!(
        restarted.state().cursors[FIRST],
        2,
        "past the parked bundles"
    );

    // The restarted machine goes on where the first stopped, and so does a third.
    let mut restarted = restarted;
    ack(&mut restarted, &replica, &mut rng, SECOND, 1);
    ack(&mut restarted, &replica, &mut rng, FIRST, 2);
    park(&mut restarted, &replica, &mut rng, 3);
    let again = Machine::load(&replica, Mode::Once).unwrap().unwrap();
    assert_eq!(again.queued(), 4);
    assert_eq!(entries(again.state()), entries(restarted.state()));
    let waiting_first: Vec<&Hash32> = again
        .state()
        .outbox
        .waiting_for(FIRST)
        .map(|o| &o.hash)
        .collect();
    assert_eq!(waiting_first.len(), 3);
}

#[test]
fn a_state_in_the_single_value_layout_loads_and_is_converted_on_its_first_save() {
    let mut rng = SimRng::new(3);
    let (replica, mut machine) = queued_machine(4, &mut rng);
    ack(&mut machine, &replica, &mut rng, FIRST, 0);
    park(&mut machine, &replica, &mut rng, 1);
    let state = machine.state();
    let expected = entries(state);

    // The same state as the old layout wrote it: everything in one value, bundles in hex.
    let blob = replica.store().get_meta(STATE_KEY).unwrap().unwrap();
    let mut old: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&blob).unwrap();
    assert!(
        !old.contains_key("outbox"),
        "the new layout keeps entries apart"
    );
    let outbox: Vec<serde_json::Value> = state
        .outbox
        .iter()
        .map(|o| {
            serde_json::json!({
                "hash": o.hash.to_string(),
                "bundle": crate::identity::hex(&o.bundle.to_bytes()),
                "waiting_for": o.waiting_for,
            })
        })
        .collect();
    let sealed_at: BTreeMap<&DocId, &Vec<ChangeHash>> = state.sealed_at.iter().collect();
    let parked: Vec<String> = state
        .parked
        .iter()
        .map(|b| crate::identity::hex(&b.to_bytes()))
        .collect();
    old.insert("outbox".into(), serde_json::to_value(outbox).unwrap());
    old.insert("sealed_at".into(), serde_json::to_value(sealed_at).unwrap());
    old.insert("parked".into(), serde_json::to_value(parked).unwrap());
    let old_blob = serde_json::to_vec(&old).unwrap();
    let store = MemoryStore::default();
    store.put_meta(STATE_KEY, &old_blob).unwrap();
    let cursors = replica.store().get_meta(CURSORS_KEY).unwrap().unwrap();
    store.put_meta(CURSORS_KEY, &cursors).unwrap();

    let members = WorkspaceState::membership_only(&store).unwrap().unwrap();
    assert_eq!(members.log_ops().unwrap().len(), state.log.len());
    assert_eq!(members.pending_ops().unwrap().len(), state.pending.len());
    let mut loaded = WorkspaceState::load(&store).unwrap().unwrap();
    assert_eq!(entries(&loaded), expected);
    assert_eq!(loaded.cursors, state.cursors);
    assert_eq!(loaded.ring, state.ring);

    loaded.save(&store, false).unwrap();
    let converted = store.get_meta(STATE_KEY).unwrap().unwrap();
    assert!(
        converted.len() < old_blob.len() / 2,
        "the bundles left the single value"
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&converted).unwrap(),
        serde_json::from_slice::<serde_json::Value>(&blob).unwrap()
    );
    assert_eq!(store.scan_meta(OUTBOX_PREFIX).unwrap().len(), 4);
    assert_eq!(store.scan_meta(SEALED_PREFIX).unwrap().len(), 4);
    assert_eq!(store.scan_meta(PARKED_PREFIX).unwrap().len(), 1);
    let reloaded = WorkspaceState::load(&store).unwrap().unwrap();
    assert_eq!(entries(&reloaded), expected);
    assert_eq!(reloaded.log, state.log);
    let members = WorkspaceState::membership_only(&store).unwrap().unwrap();
    assert_eq!(members.log_ops().unwrap().len(), state.log.len());
}

#[test]
fn forgetting_the_workspace_leaves_no_entries_behind() {
    let mut rng = SimRng::new(4);
    let (replica, mut machine) = queued_machine(3, &mut rng);
    park(&mut machine, &replica, &mut rng, 1);
    WorkspaceState::forget(replica.store()).unwrap();
    assert!(WorkspaceState::load(replica.store()).unwrap().is_none());
    for prefix in [OUTBOX_PREFIX, PARKED_PREFIX, SEALED_PREFIX] {
        assert!(replica.store().scan_meta(prefix).unwrap().is_empty());
    }
}

#[test]
fn a_full_park_stops_the_cursor_instead_of_dropping_bundles() {
    let mut rng = SimRng::new(7);
    let (replica, mut machine) = queued_machine(1, &mut rng);
    machine.parked_limit = 3;
    let mut reports = Vec::new();
    for seq in 1..=5u64 {
        let bundle = stranger_bundle(machine.workspace(), 100 + seq as u8);
        let event = Event::Received {
            relay: FIRST.to_string(),
            message: Box::new(Message::Pushed {
                item: Sequenced { seq, bundle },
            }),
        };
        reports.extend(machine.handle(&replica, T0, &mut rng, event).unwrap());
    }
    // Three are parked; the fourth could not be, so the cursor stays before it and the fifth.
    assert_eq!(machine.state().parked.len(), 3);
    assert_eq!(machine.cursor(FIRST), 3);
    let full: Vec<_> = reports
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::Report(Report::ParkedFull {
                    seq: 4,
                    limit: 3,
                    ..
                })
            )
        })
        .collect();
    assert_eq!(full.len(), 1, "{reports:?}");
    // The cursor that stopped is durable as it is: a restart reads from bundle 4 again.
    let again = Machine::load(&replica, Mode::Once).unwrap().unwrap();
    assert_eq!(again.cursor(FIRST), 3);

    // Once there is room, reading goes on where it stopped.
    machine.parked_limit = 10;
    machine.retry = Some(FIRST.to_string());
    machine.handle(&replica, T0, &mut rng, Event::Tick).unwrap();
    park(&mut machine, &replica, &mut rng, 4);
    park(&mut machine, &replica, &mut rng, 5);
    assert_eq!(machine.cursor(FIRST), 5);
    assert_eq!(machine.state().parked.len(), 5);
}
