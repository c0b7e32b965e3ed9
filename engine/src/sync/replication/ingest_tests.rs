//! Tests of how received bundles go into documents: the machine asks for them to be applied
//! and moves nothing before the outcomes are back, and the replica applies a page for one
//! document with one read and one write.

use std::sync::atomic::Ordering;

use super::SimRng;
use super::test_store::{T0, Watched, replica_with, reports, title, welcomed};
use super::{Effect, Event, Machine, Mode, Report};
use crate::document::{self, DocId};
use crate::replica::{Admit, Incoming, Landed, Received, Replica};
use crate::sync::wire::{Message, Sequenced};

const RELAY: &str = "ws://relay.invalid";

/// A machine welcomed by one relay with `docs` documents sealed, and its sealed bundles as
/// the relay would hand them out, numbered from 1.
fn machine_with_bundles(docs: usize) -> (Replica<Watched>, Machine, Vec<Sequenced>, SimRng) {
    let mut rng = SimRng::new(5);
    let (replica, _) = replica_with(docs, 1);
    let mut machine =
        Machine::create(&replica, "Samen", vec![RELAY.to_string()], T0, &mut rng).unwrap();
    welcomed(&mut machine, &replica, &mut rng, RELAY);
    // The relay orders the workspace's creation: this organisation is a member from then on.
    let pending = machine.state().pending.clone();
    for (index, op) in (0..).zip(pending) {
        let ack = Message::MembershipAck {
            index,
            hash: op.hash(),
        };
        let event = Event::Received {
            relay: RELAY.to_string(),
            message: Box::new(ack),
        };
        machine.handle(&replica, T0, &mut rng, event).unwrap();
    }
    assert_eq!(machine.pending_operations(), 0);
    machine
        .handle(&replica, T0, &mut rng, Event::LocalChanges)
        .unwrap();
    let items: Vec<Sequenced> = machine
        .state()
        .outbox
        .iter()
        .zip(1..)
        .map(|(out, seq)| Sequenced {
            seq,
            bundle: (*out.bundle).clone(),
        })
        .collect();
    assert_eq!(items.len(), docs);
    (replica, machine, items, rng)
}

fn page(items: Vec<Sequenced>) -> Event {
    let head = items.len() as u64;
    Event::Received {
        relay: RELAY.to_string(),
        message: Box::new(Message::Bundles { items, head }),
    }
}

#[test]
fn received_bundles_are_asked_for_and_the_cursor_moves_only_once_they_are_applied() {
    let (_replica, mut machine, items, mut rng) = machine_with_bundles(3);
    let step = machine.react(T0, &mut rng, page(items)).unwrap();
    assert_eq!(step.deliver.len(), 3, "one piece per bundle: {step:?}");
    assert!(
        step.deliver
            .iter()
            .all(|d| matches!(d.incoming.content, Received::Changes(_))
                && d.incoming.admit == Admit::Always)
    );
    assert_eq!(
        machine.cursor(RELAY),
        0,
        "nothing moves before the outcomes"
    );
    assert!(reports(&step.effects).is_empty(), "{:?}", step.effects);
    assert!(
        !step
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Send { .. })),
        "no next page is asked for before this one is handled: {:?}",
        step.effects
    );

    // While the batch is out, more bundles wait in the inbox instead of a second batch.
    let again = machine.react(T0, &mut rng, page(Vec::new())).unwrap();
    assert!(again.deliver.is_empty());

    let landed = vec![
        Landed::Applied,
        Landed::Waiting,
        Landed::Refused("kapot".to_string()),
    ];
    let step = machine
        .react(T0, &mut rng, Event::Delivered(landed))
        .unwrap();
    assert_eq!(machine.cursor(RELAY), 3);
    assert!(step.save.is_some(), "the moved cursor is written");
    assert_eq!(machine.state().parked.len(), 1, "the waiting one is parked");
    let reports = reports(&step.effects);
    assert!(
        reports.iter().any(|r| matches!(r, Report::Applied { .. })),
        "{reports:?}"
    );
    assert!(
        reports
            .iter()
            .any(|r| matches!(r, Report::Refused { seq: 3, reason, .. } if reason == "kapot")),
        "{reports:?}"
    );
    // Something went in while one waits: the parked one is asked for again.
    assert_eq!(step.deliver.len(), 1, "{:?}", step.deliver);
}

#[test]
fn a_machine_on_a_replica_applies_a_page_and_reads_each_document_once() {
    let (replica, mut machine, items, mut rng) = machine_with_bundles(4);
    // A second copy of the page after the first: the copies are skipped, not applied again.
    let mut twice = items.clone();
    twice.extend(items.iter().map(|i| Sequenced {
        seq: i.seq + 4,
        bundle: i.bundle.clone(),
    }));
    replica.store().loads();
    let effects = machine.handle(&replica, T0, &mut rng, page(twice)).unwrap();
    assert_eq!(machine.cursor(RELAY), 8);
    assert_eq!(replica.store().loads(), 4, "one read per document");
    let applied = reports(&effects)
        .into_iter()
        .filter(|r| matches!(r, Report::Applied { .. }))
        .count();
    assert_eq!(applied, 4, "{effects:?}");
    // The cursor that moved is durable.
    let again = Machine::load(&replica, Mode::Once).unwrap().unwrap();
    assert_eq!(again.cursor(RELAY), 8);
}

#[test]
fn a_large_page_goes_to_the_documents_in_batches_of_bounded_size() {
    let (_replica, mut machine, items, mut rng) = machine_with_bundles(3);
    machine.batch_bytes = 1;
    let step = machine.react(T0, &mut rng, page(items)).unwrap();
    assert_eq!(step.deliver.len(), 1, "one bundle fills a batch");
    let step = machine
        .react(T0, &mut rng, Event::Delivered(vec![Landed::Applied]))
        .unwrap();
    assert_eq!(machine.cursor(RELAY), 1);
    assert_eq!(step.deliver.len(), 1, "the next batch follows");
    // On a replica the batches follow each other until the page is handled.
    let (replica, mut machine, items, mut rng) = machine_with_bundles(3);
    machine.batch_bytes = 1;
    machine.handle(&replica, T0, &mut rng, page(items)).unwrap();
    assert_eq!(machine.cursor(RELAY), 3);
}

/// A document of a second organisation's replica with three edits, as the changes of each
/// edit, and the save of another document of that replica (written by the same actor, so
/// Automerge refuses it in this one).
struct Edits {
    doc: DocId,
    pieces: Vec<Vec<automerge::Change>>,
    foreign: Vec<u8>,
    heads: Vec<automerge::ChangeHash>,
}

fn three_edits() -> Edits {
    let (other, ids) = replica_with(2, 2);
    let doc = ids[0].clone();
    let mut pieces = Vec::new();
    let mut since = Vec::new();
    for round in 0..3 {
        if round > 0 {
            other
                .update(&doc, &title(&format!("versie {round}")), T0)
                .unwrap();
        }
        let own = other.own_changes_since(&doc, &since).unwrap();
        since = own.heads;
        let data = own.changes.concat();
        pieces.push(document::parse_changes(&data).unwrap());
    }
    Edits {
        doc,
        pieces,
        foreign: other.export(&ids[1]).unwrap(),
        heads: since,
    }
}

/// The heads of `doc` as the store holds it, read back from its bytes.
fn stored_heads(replica: &Replica<Watched>, doc: &DocId) -> Vec<automerge::ChangeHash> {
    let mut back = automerge::AutoCommit::load(&replica.export(doc).unwrap()).unwrap();
    back.get_heads()
}

fn incoming(changes: Vec<automerge::Change>, admit: Admit) -> Incoming {
    Incoming {
        content: Received::Changes(changes),
        admit,
    }
}

#[test]
fn pieces_for_one_document_go_in_with_one_read_and_one_write_in_any_order() {
    let Edits {
        doc,
        mut pieces,
        heads,
        ..
    } = three_edits();
    let (replica, _) = replica_with(0, 1);
    replica.store().loads();
    let appended = replica.store().appended.load(Ordering::SeqCst);
    // The last edit first: it waits for the other two, which come in the same batch.
    pieces.rotate_right(1);
    let landed = replica
        .apply_received(
            &doc,
            pieces
                .into_iter()
                .map(|c| incoming(c, Admit::Always))
                .collect(),
        )
        .unwrap();
    assert_eq!(landed, vec![Landed::Applied; 3]);
    assert_eq!(replica.store().loads(), 1);
    assert_eq!(stored_heads(&replica, &doc), heads, "all of it is stored");
    assert_eq!(
        replica.store().appended.load(Ordering::SeqCst),
        appended + 1
    );
    assert_eq!(
        replica.get(&doc).unwrap().fields["titel"].to_string(),
        "versie 2"
    );
}

#[test]
fn a_piece_missing_what_it_depends_on_waits_and_nothing_of_it_is_kept() {
    let Edits { doc, pieces, .. } = three_edits();
    let (replica, _) = replica_with(0, 1);
    let first = pieces[0].clone();
    let last = pieces[2].clone();
    let landed = replica
        .apply_received(
            &doc,
            vec![
                incoming(first, Admit::Always),
                incoming(last, Admit::Always),
            ],
        )
        .unwrap();
    assert_eq!(landed, vec![Landed::Applied, Landed::Waiting]);
    assert_eq!(
        replica.get(&doc).unwrap().fields["titel"].to_string(),
        "ambitie 0"
    );
}

#[test]
fn a_broken_piece_is_refused_alone_and_the_others_go_in() {
    let Edits {
        doc,
        pieces,
        foreign,
        ..
    } = three_edits();
    let (replica, _) = replica_with(0, 1);
    let landed = replica
        .apply_received(
            &doc,
            vec![
                incoming(pieces[0].clone(), Admit::Always),
                Incoming {
                    content: Received::Save(foreign),
                    admit: Admit::Always,
                },
                incoming(pieces[1].clone(), Admit::Always),
            ],
        )
        .unwrap();
    assert_eq!(landed[0], Landed::Applied);
    assert!(matches!(&landed[1], Landed::Refused(_)), "{landed:?}");
    assert_eq!(landed[2], Landed::Applied);
    assert_eq!(
        replica.get(&doc).unwrap().fields["titel"].to_string(),
        "versie 1"
    );
}

#[test]
fn copies_are_told_apart_from_new_pieces_by_their_rule() {
    let Edits { doc, pieces, .. } = three_edits();
    let (replica, _) = replica_with(0, 1);
    replica
        .apply_received(&doc, vec![incoming(pieces[0].clone(), Admit::Always)])
        .unwrap();
    let appended = replica.store().appended.load(Ordering::SeqCst);
    let landed = replica
        .apply_received(
            &doc,
            vec![
                incoming(pieces[0].clone(), Admit::UnlessHeld),
                incoming(pieces[0].clone(), Admit::OnlyIfHeld),
                incoming(pieces[1].clone(), Admit::OnlyIfHeld),
                incoming(pieces[1].clone(), Admit::UnlessHeld),
            ],
        )
        .unwrap();
    assert_eq!(
        landed,
        vec![Landed::Held, Landed::Held, Landed::NotHeld, Landed::Applied]
    );
    assert_eq!(
        replica.store().appended.load(Ordering::SeqCst),
        appended + 1
    );
}
