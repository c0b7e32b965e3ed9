//! Tests of the view index: it follows every write, and a missing, damaged or half-built index
//! is rebuilt from the documents.

use super::{FORMAT_KEY, is_marked_complete};
use crate::document::{DocId, DocView, FieldValue};
use crate::replica::tests::{T0, replica_on, set};
use crate::replica::{ImportOutcome, Replica, ReplicaError};
use crate::store::{MemoryStore, SledStore, Store};

/// Every document as read from the document itself, in the order lists give.
fn from_documents<S: Store>(r: &Replica<S>) -> Vec<DocView> {
    let mut views: Vec<DocView> = r
        .store()
        .ids()
        .unwrap()
        .iter()
        .map(|raw| r.get_loaded(&DocId::parse(raw).unwrap()).unwrap())
        .filter(|v| r.kinds().rules(&v.kind).listed_by_default)
        .collect();
    views.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    views
}

/// The index says what the documents say, for lists and for single documents.
fn agrees<S: Store>(r: &Replica<S>) {
    let documents = from_documents(r);
    assert_eq!(r.list(None, true).unwrap(), documents);
    let shared: Vec<DocView> = r
        .list_shared(None, true)
        .unwrap()
        .into_iter()
        .map(std::sync::Arc::unwrap_or_clone)
        .collect();
    assert_eq!(shared, documents);
    for view in &documents {
        assert_eq!(&r.get(&view.id).unwrap(), view);
        let entry = r.store().view(view.id.as_str()).unwrap().unwrap();
        assert!(
            matches!(
                super::decode(&view.id, &entry),
                Ok(super::Entry::View { .. })
            ),
            "the entry of {} reads back as a view",
            view.id
        );
    }
}

#[test]
fn the_index_follows_every_kind_of_write() {
    let a = replica_on(MemoryStore::default(), "Gemeente A", 1);
    let b = replica_on(MemoryStore::default(), "School B", 2);
    let first = a
        .create(
            "ambitie",
            &set(&["titel=Een", "toelichting=Eerst"]),
            T0,
            [1; 8],
        )
        .unwrap();
    let second = a
        .create("ambitie", &set(&["titel=Twee"]), T0, [2; 8])
        .unwrap();
    agrees(&a);
    a.update(&first, &set(&["toelichting=Daarna"]), T0).unwrap();
    assert_eq!(
        a.list(None, false).unwrap()[0].fields["toelichting"],
        FieldValue::Text("Daarna".into())
    );
    agrees(&a);
    a.delete(&second, T0).unwrap();
    assert_eq!(a.list(None, false).unwrap().len(), 1);
    assert!(a.get(&second).unwrap().deleted.is_some());
    agrees(&a);
    assert!(a.restore(&second, T0).unwrap());
    assert_eq!(a.list(None, false).unwrap().len(), 2);
    agrees(&a);

    // A change from elsewhere, and an imported file.
    let applied = b.apply_remote(&first, &a.export(&first).unwrap()).unwrap();
    assert!(applied.changed);
    assert_eq!(b.list(None, false).unwrap().len(), 1);
    agrees(&b);
    a.update(&first, &set(&["titel=Een, herzien"]), T0).unwrap();
    b.apply_remote(&first, &a.export(&first).unwrap()).unwrap();
    assert_eq!(
        b.get(&first).unwrap().fields["titel"],
        FieldValue::Text("Een, herzien".into())
    );
    assert_eq!(
        b.import(&a.export(&second).unwrap()).unwrap(),
        ImportOutcome::Created(second.clone())
    );
    agrees(&b);
    assert_eq!(b.list(None, false).unwrap(), a.list(None, false).unwrap());

    // Enough writes to compact the document into a snapshot keep its entry right too.
    for i in 0..(crate::store::COMPACT_AFTER_CHUNKS + 2) {
        a.update(&first, &set(&[&format!("toelichting=Versie {i}")]), T0)
            .unwrap();
    }
    assert!(
        a.store()
            .load(first.as_str())
            .unwrap()
            .unwrap()
            .snapshot
            .is_some()
    );
    agrees(&a);
}

#[test]
fn a_missing_index_is_rebuilt_from_the_documents() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<DocId> = {
        let r = replica_on(SledStore::open(dir.path()).unwrap(), "Gemeente A", 1);
        (0..5u8)
            .map(|i| {
                r.create(
                    "ambitie",
                    &set(&[&format!("titel=Ambitie {i}")]),
                    T0,
                    [i; 8],
                )
                .unwrap()
            })
            .collect()
    };
    {
        let db = raw_sled(dir.path());
        assert!(db.drop_tree("views").unwrap(), "the index was there");
        db.flush().unwrap();
    }
    let r = crate::composition::open(SledStore::open(dir.path()).unwrap()).unwrap();
    assert!(is_marked_complete(r.store()));
    let listed: Vec<DocId> = r
        .list(None, false)
        .unwrap()
        .into_iter()
        .map(|v| v.id)
        .collect();
    let mut expected = ids.clone();
    expected.sort();
    let mut got = listed.clone();
    got.sort();
    assert_eq!(got, expected);
    agrees(&r);
}

#[test]
fn a_damaged_or_unknown_entry_is_computed_again_from_its_document() {
    let r = replica_on(MemoryStore::default(), "Gemeente A", 1);
    let damaged = r
        .create("ambitie", &set(&["titel=Beschadigd"]), T0, [1; 8])
        .unwrap();
    let unknown = r
        .create("ambitie", &set(&["titel=Onbekend"]), T0, [2; 8])
        .unwrap();
    let right = from_documents(&r);
    r.store()
        .put_views(&[
            (damaged.to_string(), vec![1, 0, 0, 0, 99]),
            (unknown.to_string(), Vec::new()),
        ])
        .unwrap();
    assert_eq!(r.list(None, false).unwrap(), right);
    let repaired = r.store().view(damaged.as_str()).unwrap().unwrap();
    assert_ne!(repaired, vec![1, 0, 0, 0, 99], "the repair is written");
    assert!(
        !r.store()
            .view(unknown.as_str())
            .unwrap()
            .unwrap()
            .is_empty()
    );
    agrees(&r);
}

/// Opens the sled database of a store as the store opens it (sled refuses another segment
/// size), to change what it holds behind the store's back. Like the store, it waits while the
/// store dropped a moment ago still holds sled's file lock.
fn raw_sled(dir: &std::path::Path) -> sled::Db {
    let config = sled::Config::new().path(dir).segment_size(1 << 17);
    for _ in 0..500 {
        match config.open() {
            Err(sled::Error::Io(e)) if crate::store::is_lock_busy(&e) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other.unwrap(),
        }
    }
    panic!(
        "sled's lock on {} was not given up within 5 s",
        dir.display()
    );
}

#[test]
fn a_damaged_entry_on_disk_is_repaired_when_the_store_is_opened_again() {
    let dir = tempfile::tempdir().unwrap();
    let (damaged, right) = {
        let r = replica_on(SledStore::open(dir.path()).unwrap(), "Gemeente A", 1);
        let ids: Vec<DocId> = (0..4u8)
            .map(|i| {
                let title = format!("titel=Ambitie {i}");
                r.create("ambitie", &set(&[&title]), T0, [i; 8]).unwrap()
            })
            .collect();
        r.delete(&ids[3], T0).unwrap();
        (ids[1].clone(), from_documents(&r))
    };
    {
        let db = raw_sled(dir.path());
        let views = db.open_tree("views").unwrap();
        // Cut short, as a torn write would leave it: the kind's name is there, the rest not.
        let whole = views.get(damaged.as_str()).unwrap().unwrap();
        views.insert(damaged.as_str(), &whole[..12]).unwrap();
        db.flush().unwrap();
    }
    let r = crate::composition::open(SledStore::open(dir.path()).unwrap()).unwrap();
    assert_eq!(r.list(None, true).unwrap(), right);
    assert_eq!(r.list(None, false).unwrap().len(), 3);
    agrees(&r);
    drop(r);
    let repaired = raw_sled(dir.path())
        .open_tree("views")
        .unwrap()
        .get(damaged.as_str())
        .unwrap()
        .unwrap();
    assert!(repaired.len() > 12, "the repaired entry is on disk");
}

#[test]
fn lists_read_the_index_and_load_no_document() {
    // Each document's body is replaced by bytes that do not load, while its index entry stays
    // as it was: lists and single views still show every document, so they read no body.
    let dir = tempfile::tempdir().unwrap();
    let right = {
        let r = replica_on(SledStore::open(dir.path()).unwrap(), "Gemeente A", 1);
        for i in 0..3u8 {
            let title = format!("titel=Ambitie {i}");
            r.create("ambitie", &set(&[&title]), T0, [i; 8]).unwrap();
        }
        from_documents(&r)
    };
    {
        let db = raw_sled(dir.path());
        let docs = db.open_tree("docs").unwrap();
        for key in docs.iter().keys() {
            docs.insert(key.unwrap(), &b"geen automerge"[..]).unwrap();
        }
        db.flush().unwrap();
    }
    let r = crate::composition::open(SledStore::open(dir.path()).unwrap()).unwrap();
    for view in &right {
        let body = r.store().load(view.id.as_str()).unwrap().unwrap();
        assert!(body.load().is_err(), "the body of {} is damaged", view.id);
        assert_eq!(&r.get(&view.id).unwrap(), view);
    }
    assert_eq!(r.list(None, false).unwrap(), right);
    let shared = r.list_shared(Some("ambitie"), false).unwrap();
    assert_eq!(shared.len(), 3);
    assert_eq!(
        shared[0].fields["titel"],
        FieldValue::Text("Ambitie 0".into())
    );
}

#[test]
fn a_rebuild_cut_short_by_a_crash_is_done_again_at_the_next_open() {
    let store = std::sync::Arc::new(MemoryStore::default());
    let r = replica_on(store.clone(), "Gemeente A", 1);
    let ids: Vec<DocId> = (0..4u8)
        .map(|i| {
            r.create(
                "ambitie",
                &set(&[&format!("titel=Ambitie {i}")]),
                T0,
                [i; 8],
            )
            .unwrap()
        })
        .collect();
    let right = from_documents(&r);
    drop(r);
    // As if a rebuild stopped halfway: entries for some documents only, some from an older
    // version of the document, and no mark that the index is complete.
    let stale = {
        let other = replica_on(MemoryStore::default(), "Gemeente A", 1);
        other
            .create("ambitie", &set(&["titel=Oud"]), T0, [0; 8])
            .unwrap();
        other.store().view(ids[0].as_str()).unwrap().unwrap()
    };
    store
        .put_views(&[
            (ids[0].to_string(), stale),
            (FORMAT_KEY.to_string(), vec![0]),
        ])
        .unwrap();
    let reopened = crate::composition::open(store.clone()).unwrap();
    assert!(is_marked_complete(reopened.store()));
    assert_eq!(reopened.list(None, false).unwrap(), right);
    agrees(&reopened);
}

#[test]
fn a_document_that_does_not_load_is_reported_by_the_list_as_before() {
    let r = replica_on(MemoryStore::default(), "Gemeente A", 1);
    let id = r
        .create("ambitie", &set(&["titel=Heel"]), T0, [1; 8])
        .unwrap();
    let whole = r.export(&id).unwrap();
    r.store()
        .replace_with_snapshot(id.as_str(), &whole[..whole.len() / 2], b"")
        .unwrap();
    assert!(matches!(
        r.list(None, false),
        Err(ReplicaError::Store(crate::store::StoreError::Corrupt(_)))
    ));
    assert!(r.get(&id).is_err());
}

/// The statuses of every instance, as JSON: as `Flows::list` reads them from the index, and as
/// reading each instance's document gives them.
fn statuses<S: Store>(r: &Replica<S>) -> (serde_json::Value, serde_json::Value) {
    use crate::runtime::Flows;
    let flows = Flows::new(r, crate::composition::builtin());
    let listed = flows.list(T0).unwrap();
    let loaded: Vec<_> = listed
        .iter()
        .map(|s| flows.status(&s.id, T0).unwrap())
        .collect();
    (
        serde_json::to_value(&listed).unwrap(),
        serde_json::to_value(&loaded).unwrap(),
    )
}

#[test]
fn instances_are_listed_from_their_summaries_as_their_documents_read() {
    use crate::runtime::{Flows, Fresh, INSTANCE_KIND};
    let a = replica_on(MemoryStore::default(), "Gemeente A", 1);
    let b = replica_on(MemoryStore::default(), "Jeugdhulp B", 2);
    let doc = a
        .create("ambitie", &set(&["titel=Meer sport"]), T0, [1; 8])
        .unwrap();
    let flows = Flows::new(&a, crate::composition::builtin());
    let fresh = |n: u8| Fresh {
        doc: [n; 8],
        fact: [n; 16],
    };
    let linked = flows
        .start(
            "kwaliteitskompas",
            None,
            std::slice::from_ref(&doc),
            T0,
            fresh(2),
        )
        .unwrap();
    let plain = flows
        .start("verbeteracties", Some("Ronde 1"), &[], T0, fresh(3))
        .unwrap();
    let (listed, loaded) = statuses(&a);
    assert_eq!(listed, loaded);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let summarised = a.list_summarised(INSTANCE_KIND).unwrap();
    assert!(
        summarised.iter().all(|found| found.summary.is_some()),
        "every instance has a summary"
    );

    // A partner that imports the instance and joins, and the join arriving back by sync.
    b.import(&a.export(&doc).unwrap()).unwrap();
    b.import(&a.export(&linked).unwrap()).unwrap();
    Flows::new(&b, crate::composition::builtin())
        .join(&linked, "partner", T0, [7; 16])
        .unwrap();
    let (listed, loaded) = statuses(&b);
    assert_eq!(listed, loaded);
    a.apply_remote(&linked, &b.export(&linked).unwrap())
        .unwrap();
    let (listed, loaded) = statuses(&a);
    assert_eq!(listed, loaded);
    assert!(
        listed.to_string().contains("Jeugdhulp B"),
        "the join from elsewhere is in the summary: {listed}"
    );

    // A summary this code does not read: the instance is read from its document instead.
    let view = a.get(&plain).unwrap();
    a.store()
        .put_views(&[(
            plain.to_string(),
            super::encode(&view, None, Some(&[99, 1, 2])),
        )])
        .unwrap();
    let (again, loaded) = statuses(&a);
    assert_eq!(again, loaded);
    assert_eq!(again, listed);
}
