//! Tests of replica operations against the in-memory store.

use super::*;
use crate::identity::OrgType;
use crate::store::MemoryStore;
use automerge::ReadDoc;
use automerge::transaction::Transactable;

pub(super) const T0: Timestamp = Timestamp(1_760_000_000_000);

fn replica(name: &str, seed: u8) -> Replica<MemoryStore> {
    replica_on(MemoryStore::default(), name, seed)
}

/// A fresh replica of a municipality on `store`.
pub(super) fn replica_on<S: Store>(store: S, name: &str, seed: u8) -> Replica<S> {
    crate::composition::init(
        store,
        Identity::new(name, OrgType::Gemeente, [seed; 32], [seed; 16]),
    )
    .unwrap()
}

pub(super) fn set(pairs: &[&str]) -> Vec<Assignment> {
    pairs
        .iter()
        .map(|p| Assignment::parse(p).unwrap())
        .collect()
}

#[test]
fn create_update_and_read_back() {
    let r = replica("Gemeente A", 1);
    let id = r
        .create(
            "ambitie",
            &set(&["titel=Meer sport", "toelichting=Eerste versie"]),
            T0,
            [1; 8],
        )
        .unwrap();
    let view = r
        .update(
            &id,
            &set(&["toelichting=Tweede versie"]),
            Timestamp(T0.0 + 1),
        )
        .unwrap();
    assert_eq!(view.kind, "ambitie");
    assert_eq!(view.fields["titel"], FieldValue::Text("Meer sport".into()));
    assert_eq!(
        view.fields["toelichting"],
        FieldValue::Text("Tweede versie".into())
    );
    assert_eq!(r.get(&id).unwrap(), view);
}

#[test]
fn clearing_a_field_removes_it() {
    let r = replica("Gemeente A", 1);
    let id = r
        .create("ambitie", &set(&["titel=X", "toelichting=Y"]), T0, [1; 8])
        .unwrap();
    let view = r.update(&id, &set(&["toelichting="]), T0).unwrap();
    assert!(!view.fields.contains_key("toelichting"));
}

#[test]
fn bad_input_changes_nothing() {
    let r = replica("Gemeente A", 1);
    let id = r.create("ambitie", &set(&["titel=X"]), T0, [1; 8]).unwrap();
    let before = r.get(&id).unwrap();
    assert!(matches!(
        r.create("onbekend", &[], T0, [2; 8]),
        Err(ReplicaError::UnknownKind { .. })
    ));
    let err = r
        .update(&id, &set(&["titel=Y", "kleur=rood"]), T0)
        .unwrap_err();
    assert!(
        matches!(err, ReplicaError::UnknownField { ref field, .. } if field == "kleur"),
        "{err}"
    );
    let res = r.create(
        "maatschappelijk-resultaat",
        &set(&["titel=R", "nulmeting=veel"]),
        T0,
        [3; 8],
    );
    assert!(matches!(res, Err(ReplicaError::Value(_))));
    assert_eq!(
        r.get(&id).unwrap(),
        before,
        "a refused edit must leave the document as it was"
    );
    assert_eq!(
        r.store().ids().unwrap().len(),
        1,
        "a refused create must store nothing"
    );
}

#[test]
fn links_must_point_at_a_live_document_of_the_right_kind() {
    let r = replica("Gemeente A", 1);
    let ambitie = r.create("ambitie", &set(&["titel=A"]), T0, [1; 8]).unwrap();
    let evaluatie = r.create("evaluatie", &[], T0, [2; 8]).unwrap();
    let ok = r.create(
        "maatschappelijk-resultaat",
        &set(&[&format!("ambitie={ambitie}")]),
        T0,
        [3; 8],
    );
    assert!(ok.is_ok());
    let wrong_kind = r.create(
        "maatschappelijk-resultaat",
        &set(&[&format!("ambitie={evaluatie}")]),
        T0,
        [4; 8],
    );
    assert!(matches!(wrong_kind, Err(ReplicaError::BadLink { .. })));
    let missing = r.create(
        "maatschappelijk-resultaat",
        &set(&["ambitie=nietbestaand"]),
        T0,
        [5; 8],
    );
    assert!(matches!(missing, Err(ReplicaError::BadLink { .. })));
}

#[test]
fn delete_leaves_a_tombstone_in_history() {
    let r = replica("Gemeente A", 1);
    let id = r
        .create("ambitie", &set(&["titel=Weg"]), T0, [1; 8])
        .unwrap();
    r.delete(&id, Timestamp(T0.0 + 5)).unwrap();
    assert!(r.list(None, false).unwrap().is_empty());
    assert_eq!(r.list(None, true).unwrap().len(), 1);
    assert_eq!(r.get(&id).unwrap().deleted, Some(Timestamp(T0.0 + 5)));
    assert!(matches!(
        r.update(&id, &set(&["titel=Terug"]), T0),
        Err(ReplicaError::Deleted(_))
    ));
    let history = r.history(&id).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].changes, vec!["verwijderd".to_string()]);
}

#[test]
fn history_names_each_author_and_what_they_changed() {
    let a = replica("Gemeente A", 1);
    let b = replica("Jeugdhulp B", 2);
    let id = a
        .create("ambitie", &set(&["titel=Eerst"]), T0, [1; 8])
        .unwrap();
    b.import(&a.export(&id).unwrap()).unwrap();
    b.update(
        &id,
        &set(&["titel=Daarna", "toelichting=Uitleg"]),
        Timestamp(T0.0 + 60_000),
    )
    .unwrap();
    a.import(&b.export(&id).unwrap()).unwrap();
    let history = a.history(&id).unwrap();
    let who: Vec<_> = history.iter().map(|h| h.org.clone().unwrap()).collect();
    assert_eq!(who, vec!["Gemeente A", "Jeugdhulp B"]);
    assert_eq!(history[0].changes[0], "aangemaakt als ambitie");
    assert_eq!(history[1].time, Timestamp(T0.0 + 60_000));
    assert!(
        history[1]
            .changes
            .contains(&"titel = \"Daarna\"".to_string()),
        "{:?}",
        history[1].changes
    );
    assert!(
        history[1]
            .changes
            .iter()
            .any(|c| c.starts_with("toelichting: tekst bewerkt (+6 / -0")),
        "{:?}",
        history[1].changes
    );
}

#[test]
fn concurrent_long_text_edits_merge_instead_of_overwriting() {
    let a = replica("Gemeente A", 1);
    let b = replica("Jeugdhulp B", 2);
    let id = a
        .create(
            "ambitie",
            &set(&["titel=T", "toelichting=Kinderen sporten."]),
            T0,
            [1; 8],
        )
        .unwrap();
    b.import(&a.export(&id).unwrap()).unwrap();
    a.update(&id, &set(&["toelichting=Meer kinderen sporten."]), T0)
        .unwrap();
    b.update(&id, &set(&["toelichting=Kinderen sporten elke week."]), T0)
        .unwrap();
    a.import(&b.export(&id).unwrap()).unwrap();
    b.import(&a.export(&id).unwrap()).unwrap();
    let merged = a.get(&id).unwrap();
    assert_eq!(
        merged.fields["toelichting"],
        FieldValue::Text("Meer kinderen sporten elke week.".into())
    );
    assert_eq!(merged, b.get(&id).unwrap());
}

#[test]
fn import_refuses_foreign_or_broken_documents_and_stores_nothing() {
    let r = replica("Gemeente A", 1);
    assert!(matches!(
        r.import(b"geen automerge"),
        Err(ReplicaError::BadImport(_))
    ));
    let mut foreign = AutoCommit::new();
    foreign.put(automerge::ROOT, "iets", "anders").unwrap();
    assert!(matches!(
        r.import(&foreign.save()),
        Err(ReplicaError::BadImport(_))
    ));
    let other = replica("Gemeente B", 2);
    let id = other
        .create("ambitie", &set(&["titel=X"]), T0, [1; 8])
        .unwrap();
    let mut bytes = other.export(&id).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    assert!(r.import(&bytes).is_err());
    assert!(r.store().ids().unwrap().is_empty());
}

#[test]
fn opening_an_uninitialised_store_says_so() {
    assert!(matches!(
        crate::composition::open(MemoryStore::default()),
        Err(ReplicaError::NotInitialised)
    ));
    let r = replica("Gemeente A", 1);
    let store = MemoryStore::default();
    store
        .put_meta("identity", &serde_json::to_vec(r.identity()).unwrap())
        .unwrap();
    assert!(matches!(
        crate::composition::init(store, r.identity().clone()),
        Err(ReplicaError::AlreadyInitialised(_))
    ));
}

#[test]
fn imported_workflow_instances_are_checked_for_personal_data() {
    use crate::runtime::{Flows, Fresh};
    let registry = crate::definition::builtin_registry();
    let a = replica("Gemeente A", 1);
    let b = replica("Jeugdhulp B", 2);
    let fresh = Fresh {
        doc: [4; 8],
        fact: [5; 16],
    };
    let id = Flows::new(&a, &registry)
        .start("verbeteracties", Some("Ronde 1"), &[], T0, fresh)
        .unwrap();
    assert!(
        b.import(&a.export(&id).unwrap()).is_ok(),
        "a clean instance must import"
    );
    // Another tool writes a BSN into the title; kompas must refuse the file.
    let mut loaded = a.load(&id).unwrap();
    let fields = match loaded.doc.get(automerge::ROOT, "fields").unwrap() {
        Some((_, obj)) => obj,
        None => panic!("instance has no fields"),
    };
    loaded
        .doc
        .put(&fields, "titel", "Ronde voor 111222333")
        .unwrap();
    loaded.doc.commit();
    let other = replica("Onderwijs C", 3);
    let err = other.import(&loaded.doc.save()).unwrap_err();
    assert!(matches!(err, ReplicaError::Privacy(_)), "{err}");
    assert!(other.store().ids().unwrap().is_empty());
}

/// The documents a replica has marked as locally edited, taking them (and clearing the marks).
fn take_marked(r: &Replica<impl Store>) -> Vec<DocId> {
    r.take_local_edits(|docs| Ok::<_, ReplicaError>(docs.to_vec()))
        .unwrap()
}

#[test]
fn local_edits_are_marked_until_taken_and_remote_changes_are_not() {
    let a = replica("Gemeente A", 1);
    let b = replica("School B", 2);
    let first = a
        .create("ambitie", &set(&["titel=Een"]), T0, [1; 8])
        .unwrap();
    let second = a
        .create("ambitie", &set(&["titel=Twee"]), T0, [2; 8])
        .unwrap();
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(take_marked(&a), both);
    assert!(take_marked(&a).is_empty(), "taking clears the marks");
    a.update(&second, &set(&["titel=Twee bis"]), T0).unwrap();
    assert_eq!(take_marked(&a), vec![second.clone()]);
    // Saving a document that did not change marks nothing.
    let mut unchanged = a.load(&first).unwrap();
    a.save(&mut unchanged).unwrap();
    assert!(take_marked(&a).is_empty());

    let applied = b.apply_remote(&first, &a.export(&first).unwrap()).unwrap();
    assert!(applied.changed);
    assert!(
        take_marked(&b).is_empty(),
        "changes from elsewhere are not local edits"
    );
}

#[test]
fn marks_stay_when_taking_them_fails() {
    let a = replica("Gemeente A", 1);
    let id = a
        .create("ambitie", &set(&["titel=Een"]), T0, [1; 8])
        .unwrap();
    let failed: Result<(), ReplicaError> =
        a.take_local_edits(|_| Err(ReplicaError::NotFound(id.clone())));
    assert!(failed.is_err());
    assert_eq!(take_marked(&a), vec![id]);
}

/// A save that returned is durable, and so is its mark: the process may stop right after.
#[test]
fn a_local_edit_mark_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let store = crate::store::SledStore::open(dir.path()).unwrap();
        let r = crate::composition::init(
            store,
            Identity::new("Gemeente A", OrgType::Gemeente, [1; 32], [1; 16]),
        )
        .unwrap();
        r.create("ambitie", &set(&["titel=Een"]), T0, [1; 8])
            .unwrap()
    };
    {
        let r =
            crate::composition::open(crate::store::SledStore::open(dir.path()).unwrap()).unwrap();
        assert_eq!(take_marked(&r), vec![id]);
    }
    let r = crate::composition::open(crate::store::SledStore::open(dir.path()).unwrap()).unwrap();
    assert!(take_marked(&r).is_empty(), "cleared marks stay cleared");
}

/// A store written before local edits were marked gets every document marked once.
#[test]
fn a_store_from_before_marks_gets_every_document_marked_once() {
    let a = replica("Gemeente A", 1);
    let mut ids: Vec<DocId> = (0..3u8)
        .map(|i| a.create("ambitie", &set(&["titel=X"]), T0, [i; 8]).unwrap())
        .collect();
    ids.sort();
    let old = MemoryStore::default();
    old.put_meta(
        IDENTITY_KEY,
        &a.store().get_meta(IDENTITY_KEY).unwrap().unwrap(),
    )
    .unwrap();
    for id in &ids {
        old.replace_with_snapshot(id.as_str(), &a.export(id).unwrap(), b"")
            .unwrap();
    }
    let reopened = crate::composition::open(std::sync::Arc::new(old)).unwrap();
    assert_eq!(take_marked(&reopened), ids);
    let again = crate::composition::open(reopened.store().clone()).unwrap();
    assert!(
        take_marked(&again).is_empty(),
        "marked once, not on every open"
    );
}

#[test]
fn a_deleted_document_comes_back_and_an_instance_cannot_be_deleted() {
    use crate::runtime::{Flows, Fresh};
    let r = replica("Gemeente A", 1);
    let id = r
        .create("ambitie", &set(&["titel=Terug"]), T0, [1; 8])
        .unwrap();
    r.delete(&id, T0).unwrap();
    assert!(r.list(Some("ambitie"), false).unwrap().is_empty());
    assert!(r.restore(&id, T0).unwrap());
    let back = r.get(&id).unwrap();
    assert!(back.deleted.is_none());
    assert_eq!(back.fields["titel"].to_string(), "Terug");
    assert!(
        !r.restore(&id, T0).unwrap(),
        "a live document needs no restoring"
    );
    assert!(
        r.history(&id)
            .unwrap()
            .iter()
            .any(|h| h.action.as_deref() == Some("hersteld"))
    );

    let registry = crate::definition::builtin_registry();
    let fresh = Fresh {
        doc: [6; 8],
        fact: [6; 16],
    };
    let flow = Flows::new(&r, &registry)
        .start("verbeteracties", None, &[], T0, fresh)
        .unwrap();
    let err = r.delete(&flow, T0).unwrap_err();
    assert!(matches!(err, ReplicaError::Undeletable { .. }), "{err}");
    assert!(r.get(&flow).unwrap().deleted.is_none());
}

#[test]
fn a_save_from_an_older_version_keeps_what_others_changed_since() {
    let a = replica("Gemeente A", 1);
    let b = replica("Jeugdhulp B", 2);
    let id = a
        .create(
            "ambitie",
            &set(&["titel=T", "toelichting=Kinderen sporten."]),
            T0,
            [1; 8],
        )
        .unwrap();
    let shown = a.get(&id).unwrap().heads;
    b.import(&a.export(&id).unwrap()).unwrap();
    b.update(
        &id,
        &set(&["titel=Sport", "toelichting=Kinderen sporten elke week."]),
        T0,
    )
    .unwrap();
    a.import(&b.export(&id).unwrap()).unwrap();
    // A's form still shows the old version: its title unchanged, its text edited.
    let saved = a
        .update_from(
            &id,
            &shown,
            &set(&["titel=T", "toelichting=Meer kinderen sporten."]),
            T0,
        )
        .unwrap();
    assert_eq!(saved.view.fields["titel"], FieldValue::Text("Sport".into()));
    assert_eq!(
        saved.view.fields["toelichting"],
        FieldValue::Text("Meer kinderen sporten elke week.".into())
    );
    assert_eq!(saved.changed_by, vec!["Jeugdhulp B".to_string()]);
    assert_eq!(saved.concurrent.len(), 1);
    assert_eq!(saved.concurrent[0].field, "toelichting");
    assert_eq!(
        saved.concurrent[0].theirs,
        Some(FieldValue::Text("Kinderen sporten elke week.".into()))
    );
    // The merged text travels as A's own change and converges at B.
    b.import(&a.export(&id).unwrap()).unwrap();
    assert_eq!(b.get(&id).unwrap().fields, saved.view.fields);
    let history = a.history(&id).unwrap();
    assert_eq!(history.last().unwrap().org.as_deref(), Some("Gemeente A"));
}

#[test]
fn a_save_from_an_unknown_version_or_with_bad_input_changes_nothing() {
    let a = replica("Gemeente A", 1);
    let id = a.create("ambitie", &set(&["titel=T"]), T0, [1; 8]).unwrap();
    let before = a.get(&id).unwrap();
    let unknown = vec!["00".repeat(32)];
    assert!(matches!(
        a.update_from(&id, &unknown, &set(&["titel=X"]), T0),
        Err(ReplicaError::UnknownVersion(_))
    ));
    assert!(matches!(
        a.update_from(&id, &[], &set(&["titel=X"]), T0),
        Err(ReplicaError::UnknownVersion(_))
    ));
    assert!(
        a.update_from(&id, &before.heads, &set(&["nergens=X"]), T0)
            .is_err()
    );
    assert_eq!(a.get(&id).unwrap(), before);
}
