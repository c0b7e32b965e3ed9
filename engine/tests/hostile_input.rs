//! Damaged and hostile input from outside never panics: `.automerge` files given to import,
//! change bytes received from other replicas, workflow files and CSV files. Each test starts
//! from valid input and damages it (flipped bytes, cuts, insertions), so the damage reaches deep
//! into the parsers instead of stopping at the first byte.
#![allow(clippy::unwrap_used)]

use kompas_engine::definition::{self, BUILTIN};
use kompas_engine::document::Assignment;
use kompas_engine::figures::import::{ImportOptions, read_csv};
use kompas_engine::identity::{Identity, OrgType};
use kompas_engine::{DocId, MemoryStore, Replica, Timestamp};
use proptest::prelude::*;

/// One way of damaging bytes.
#[derive(Debug, Clone)]
enum Damage {
    Flip { at: usize, mask: u8 },
    Cut { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Remove { at: usize, len: usize },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Damage::Flip { at, mask }),
        any::<usize>().prop_map(|at| Damage::Cut { at }),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Damage::Insert { at, bytes }),
        (any::<usize>(), 1..16usize).prop_map(|(at, len)| Damage::Remove { at, len }),
    ]
}

fn apply(mut bytes: Vec<u8>, damages: &[Damage]) -> Vec<u8> {
    for d in damages {
        if bytes.is_empty() {
            break;
        }
        let n = bytes.len();
        match d {
            Damage::Flip { at, mask } => bytes[at % n] ^= mask,
            Damage::Cut { at } => bytes.truncate(at % n),
            Damage::Insert { at, bytes: extra } => {
                let at = at % n;
                bytes.splice(at..at, extra.iter().copied());
            }
            Damage::Remove { at, len } => {
                let at = at % n;
                let end = (at + len).min(n);
                bytes.drain(at..end);
            }
        }
    }
    bytes
}

fn replica(seed: u8) -> Replica<MemoryStore> {
    kompas_engine::composition::init(
        MemoryStore::default(),
        Identity::new("Gemeente Zwolle", OrgType::Gemeente, [seed; 32], [seed; 16]),
    )
    .unwrap()
}

/// A document with a few edits, exported, and the raw bytes of its last edit.
fn sample() -> (DocId, Vec<u8>, Vec<u8>) {
    let r = replica(1);
    let set = |text: &str| vec![Assignment::parse(text).unwrap()];
    let id = r
        .create(
            "ambitie",
            &set("titel=Meer kinderen sporten"),
            Timestamp(1_780_000_000_000),
            [7; 8],
        )
        .unwrap();
    for i in 0..3 {
        r.update(
            &id,
            &set(&format!("toelichting=Samen met de clubs, ronde {i}.")),
            Timestamp(1_780_000_000_000 + i),
        )
        .unwrap();
    }
    let export = r.export(&id).unwrap();
    let own = r.own_changes_since(&id, &[]).unwrap();
    let last = own.changes.last().cloned().unwrap();
    (id, export, last)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn a_damaged_automerge_file_is_imported_or_refused_never_a_panic(
        damages in proptest::collection::vec(damage(), 1..4)
    ) {
        let (_, export, _) = sample();
        let r = replica(2);
        let _ = r.import(&apply(export, &damages));
        // Whatever happened, the replica still reads.
        prop_assert!(r.list(None, true).is_ok());
    }

    #[test]
    fn damaged_changes_from_another_replica_are_applied_or_refused_never_a_panic(
        damages in proptest::collection::vec(damage(), 1..4)
    ) {
        let (id, export, last) = sample();
        let r = replica(3);
        r.import(&export).unwrap();
        let _ = r.apply_remote(&id, &apply(last.clone(), &damages));
        let _ = r.apply_remote(&DocId::parse("nieuw-document").unwrap(), &apply(last, &damages));
        prop_assert!(r.list(None, true).is_ok());
    }

    #[test]
    fn a_damaged_workflow_file_gets_diagnostics_never_a_panic(
        which in 0..BUILTIN.len(),
        damages in proptest::collection::vec(damage(), 1..4)
    ) {
        let (file, body) = BUILTIN[which];
        let bytes = apply(body.as_bytes().to_vec(), &damages);
        let text = String::from_utf8_lossy(&bytes);
        let checked = definition::check(file, &text);
        // Either a definition or at least one error that names a place in the file.
        prop_assert!(
            checked.definition.is_some()
                || checked.diagnostics.iter().any(|d| d.is_error())
        );
    }

    #[test]
    fn a_damaged_csv_file_is_read_or_refused_never_a_panic(
        damages in proptest::collection::vec(damage(), 1..4),
        skip_bad_rows in any::<bool>()
    ) {
        let csv = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../cli/fixtures/jeugdhulp-gemeenten-synthetisch.csv"),
        )
        .unwrap();
        let options = ImportOptions { skip_bad_rows, ..ImportOptions::default() };
        let _ = read_csv(apply(csv, &damages).as_slice(), &options, &mut |_| {});
    }
}
