//! Contract tests that every Store implementation must pass, run against sled and memory alike.

use automerge::{AutoCommit, ROOT, ReadDoc, transaction::Transactable};
use proptest::prelude::*;

use super::{COMPACT_AFTER_CHUNKS, MemoryStore, MetaBatch, SledStore, Store, load_joined};

fn with_each_store(check: impl Fn(&dyn Store)) {
    check(&MemoryStore::default());
    let dir = tempfile::tempdir().unwrap();
    check(&SledStore::open(dir.path()).unwrap());
}

#[test]
fn absent_documents_load_as_none() {
    with_each_store(|s| assert!(s.load("nergens").unwrap().is_none()));
}

#[test]
fn chunks_come_back_in_order_and_compaction_replaces_them() {
    with_each_store(|s| {
        for i in 0..3u8 {
            assert_eq!(
                s.append_chunk("doc-a", &[i], b"").unwrap(),
                usize::from(i) + 1
            );
        }
        let stored = s.load("doc-a").unwrap().unwrap();
        assert_eq!(stored.chunks, vec![vec![0], vec![1], vec![2]]);
        assert_eq!(stored.snapshot, None);
        s.replace_with_snapshot("doc-a", b"snap", b"").unwrap();
        let stored = s.load("doc-a").unwrap().unwrap();
        assert_eq!(stored.snapshot.as_deref(), Some(&b"snap"[..]));
        assert!(stored.chunks.is_empty());
        assert_eq!(s.append_chunk("doc-a", b"next", b"").unwrap(), 1);
    });
}

#[test]
fn ids_are_listed_once_each_and_do_not_bleed_into_each_other() {
    with_each_store(|s| {
        s.append_chunk("ab", b"1", b"").unwrap();
        s.append_chunk("ab", b"2", b"").unwrap();
        s.append_chunk("abc", b"3", b"").unwrap();
        s.replace_with_snapshot("b", b"4", b"").unwrap();
        assert_eq!(s.ids().unwrap(), vec!["ab", "abc", "b"]);
        assert_eq!(s.load("ab").unwrap().unwrap().chunks.len(), 2);
        assert_eq!(s.load("abc").unwrap().unwrap().chunks.len(), 1);
    });
}

/// Writes entries before and after a first list (which a sled store answers from a copy in
/// memory from then on) and returns every entry as listed at the end.
fn views_around_a_first_list(s: &dyn Store) -> Vec<(String, Vec<u8>)> {
    let starting = |with: &[u8]| -> Vec<(String, Vec<u8>)> {
        let kept = s.views_where(&|v| v.starts_with(with)).unwrap();
        kept.into_iter()
            .map(|(id, v)| (id.to_string(), v.to_vec()))
            .collect()
    };
    s.append_chunk("a", b"1", b"xa1").unwrap();
    assert_eq!(starting(b"x"), vec![("a".to_string(), b"xa1".to_vec())]);
    s.append_chunk("b", b"1", b"yb1").unwrap();
    s.replace_with_snapshot("a", b"snap", b"ya2").unwrap();
    s.put_views(&[("c".to_string(), b"xc".to_vec())]).unwrap();
    assert_eq!(
        starting(b"y"),
        vec![
            ("a".to_string(), b"ya2".to_vec()),
            ("b".to_string(), b"yb1".to_vec())
        ]
    );
    s.views().unwrap()
}

#[test]
fn an_entry_not_written_again_is_handed_out_as_the_same_bytes() {
    // The replica keeps what it decoded beside the bytes it came from, and trusts bytes that
    // are the same `Arc` to be the same entry.
    with_each_store(|s| {
        s.append_chunk("a", b"1", b"va1").unwrap();
        s.append_chunk("b", b"1", b"vb1").unwrap();
        let first = s.views_where(&|_| true).unwrap();
        s.append_chunk("b", b"2", b"vb2").unwrap();
        let second = s.views_where(&|_| true).unwrap();
        assert_eq!(&*first[0].0, "a");
        assert!(std::sync::Arc::ptr_eq(&first[0].1, &second[0].1));
        assert!(!std::sync::Arc::ptr_eq(&first[1].1, &second[1].1));
        assert_eq!(&*second[1].1, b"vb2");
    });
}

#[test]
fn filtered_view_lists_follow_every_write_and_match_the_disk_after_a_reopen() {
    with_each_store(|s| assert_eq!(views_around_a_first_list(s).len(), 3));
    let dir = tempfile::tempdir().unwrap();
    let listed = views_around_a_first_list(&SledStore::open(dir.path()).unwrap());
    assert_eq!(
        SledStore::open(dir.path()).unwrap().views().unwrap(),
        listed
    );
}

#[test]
fn view_entries_are_written_with_their_document_and_listed_by_id() {
    with_each_store(|s| {
        assert!(s.views().unwrap().is_empty());
        s.append_chunk("b", b"1", b"view b1").unwrap();
        s.append_chunk("a", b"1", b"view a1").unwrap();
        s.append_chunk("b", b"2", b"view b2").unwrap();
        assert_eq!(s.view("b").unwrap().as_deref(), Some(&b"view b2"[..]));
        s.replace_with_snapshot("a", b"snap", b"view a2").unwrap();
        assert_eq!(
            s.views().unwrap(),
            vec![
                ("a".to_string(), b"view a2".to_vec()),
                ("b".to_string(), b"view b2".to_vec())
            ]
        );
        s.put_views(&[("b".to_string(), b"repaired".to_vec())])
            .unwrap();
        assert_eq!(s.view("b").unwrap().as_deref(), Some(&b"repaired"[..]));
        assert_eq!(
            s.load("b").unwrap().unwrap().chunks.len(),
            2,
            "documents untouched"
        );
        assert_eq!(s.view("c").unwrap(), None);
        assert!(s.put_views(&[("bad key".to_string(), Vec::new())]).is_err());
    });
}

#[test]
fn meta_values_round_trip_and_keys_are_checked() {
    with_each_store(|s| {
        assert_eq!(s.get_meta("x").unwrap(), None);
        s.put_meta("x", b"1").unwrap();
        s.put_meta("x", b"2").unwrap();
        assert_eq!(s.get_meta("x").unwrap().as_deref(), Some(&b"2"[..]));
        assert!(s.put_meta("bad key", b"").is_err());
        assert!(s.append_chunk("", b"", b"").is_err());
        assert!(s.load("a\0b").is_err());
    });
}

#[test]
fn a_meta_batch_applies_in_order_and_a_scan_keeps_to_its_prefix() {
    with_each_store(|s| {
        s.put_meta("rij/oud", b"weg").unwrap();
        s.put_meta("rijen", b"buiten").unwrap();
        let mut batch = MetaBatch::default();
        batch.put("rij/2", b"twee".to_vec());
        batch.put("rij/1", b"eerst".to_vec());
        batch.delete("rij/oud");
        batch.put("rij/1", b"een".to_vec());
        batch.delete("rij/nooit");
        batch.put("los", b"ook".to_vec());
        s.write_meta(&batch).unwrap();
        let scanned = s.scan_meta("rij/").unwrap();
        let expected = vec![
            ("rij/1".to_string(), b"een".to_vec()),
            ("rij/2".to_string(), b"twee".to_vec()),
        ];
        assert_eq!(scanned, expected);
        assert_eq!(s.get_meta("los").unwrap().as_deref(), Some(&b"ook"[..]));
        assert_eq!(
            s.get_meta("rijen").unwrap().as_deref(),
            Some(&b"buiten"[..])
        );
        assert!(s.scan_meta("niets/").unwrap().is_empty());
        s.write_meta(&MetaBatch::default()).unwrap();
        assert_eq!(s.scan_meta("rij/").unwrap(), expected);
    });
}

#[test]
fn a_meta_batch_with_a_bad_key_writes_nothing() {
    with_each_store(|s| {
        let mut batch = MetaBatch::default();
        batch.put("goed", b"1".to_vec());
        batch.put("slecht sleutel", b"2".to_vec());
        assert!(s.write_meta(&batch).is_err());
        assert_eq!(s.get_meta("goed").unwrap(), None);
        assert!(s.scan_meta("bad key").is_err());
    });
}

#[test]
fn sled_store_keeps_meta_batches_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.put_meta("rij/weg", b"x").unwrap();
        let mut batch = MetaBatch::default();
        batch.put("rij/blijft", b"y".to_vec());
        batch.delete("rij/weg");
        s.write_meta(&batch).unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    let expected = vec![("rij/blijft".to_string(), b"y".to_vec())];
    assert_eq!(s.scan_meta("rij/").unwrap(), expected);
}

#[test]
fn persist_compacts_after_enough_chunks_and_loses_nothing() {
    with_each_store(|s| {
        let mut doc = AutoCommit::new();
        let mut saved = Vec::new();
        for i in 0..(COMPACT_AFTER_CHUNKS as i64 * 2 + 3) {
            doc.put(ROOT, "n", i).unwrap();
            doc.commit();
            saved = s.persist("teller", &mut doc, &saved, b"").unwrap();
        }
        let stored = s.load("teller").unwrap().unwrap();
        assert!(stored.snapshot.is_some(), "never compacted");
        assert!(stored.chunks.len() < COMPACT_AFTER_CHUNKS);
        assert!(!stored.chunks.is_empty(), "chunks after the snapshot");
        let mut back = stored.load().unwrap();
        assert_eq!(back.get_heads(), doc.get_heads());
        let n = back.get(ROOT, "n").unwrap().unwrap().0.as_i64();
        assert_eq!(n, Some(COMPACT_AFTER_CHUNKS as i64 * 2 + 2));
        // Giving up the pieces while loading gives the same document, and so do the pieces
        // joined by the store.
        let joined = s.load_joined("teller").unwrap().unwrap();
        assert_eq!(joined, stored.clone().into_joined());
        assert!(joined.starts_with(stored.snapshot.as_deref().unwrap()));
        let mut from_joined = load_joined(&joined).unwrap();
        assert_eq!(from_joined.save(), back.save());
        let mut given_up = stored.into_doc().unwrap();
        assert_eq!(given_up.get_heads(), doc.get_heads());
        assert_eq!(given_up.save(), back.save());
        assert_eq!(s.load_joined("nergens").unwrap(), None);
    });
}

#[test]
fn sled_store_keeps_data_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.append_chunk("blijft", b"hallo", b"").unwrap();
        s.put_meta("m", b"v").unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        s.load("blijft").unwrap().unwrap().chunks,
        vec![b"hallo".to_vec()]
    );
    assert_eq!(s.get_meta("m").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn documents_written_together_are_flushed_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        let before = s.flushes();
        s.append_chunk("alleen", b"een", b"").unwrap();
        assert_eq!(
            s.flushes(),
            before + 1,
            "a write on its own is flushed at once"
        );
        let before = s.flushes();
        let count = s
            .durable_together(|| {
                for id in ["a", "b", "c"] {
                    s.append_chunk(id, b"samen", b"")?;
                    // Nested, as a caller may: still one flush, at the end of the outer one.
                    s.durable_together(|| s.append_chunk(id, b"erbij", b""))?;
                }
                Ok::<_, super::StoreError>(3)
            })
            .unwrap();
        assert_eq!(count, 3);
        assert_eq!(s.flushes(), before + 1, "one flush for the batch");
        // A failed batch ends the deferral: the next write is flushed on its own again.
        let failed: Result<(), super::StoreError> =
            s.durable_together(|| Err(super::StoreError::Backend("kapot".into())));
        assert!(failed.is_err());
        let before = s.flushes();
        s.append_chunk("daarna", b"los", b"").unwrap();
        assert_eq!(s.flushes(), before + 1);
    }
    let s = SledStore::open(dir.path()).unwrap();
    for id in ["a", "b", "c"] {
        assert_eq!(
            s.load(id).unwrap().unwrap().chunks,
            vec![b"samen".to_vec(), b"erbij".to_vec()]
        );
    }
}

#[test]
fn local_edit_marks_are_listed_once_until_cleared() {
    with_each_store(|s| {
        assert!(s.local_edits().unwrap().is_empty());
        s.mark_local_edits(&["b", "a"]).unwrap();
        s.mark_local_edits(&["a"]).unwrap();
        assert_eq!(s.local_edits().unwrap(), vec!["a", "b"]);
        s.clear_local_edits(&["a", "niet-gemarkeerd"]).unwrap();
        assert_eq!(s.local_edits().unwrap(), vec!["b"]);
        assert!(s.mark_local_edits(&["bad key"]).is_err());
        assert_eq!(
            s.ids().unwrap(),
            Vec::<String>::new(),
            "marks are not documents"
        );
    });
}

#[test]
fn sled_store_keeps_local_edit_marks_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.mark_local_edits(&["blijft", "gaat"]).unwrap();
        s.clear_local_edits(&["gaat"]).unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(s.local_edits().unwrap(), vec!["blijft"]);
}

/// One edit in a generated sequence.
#[derive(Debug, Clone)]
enum Edit {
    Put(u8, i64),
    Delete(u8),
    Text(String),
    Save,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0u8..6, any::<i64>()).prop_map(|(k, v)| Edit::Put(k, v)),
        (0u8..6).prop_map(Edit::Delete),
        "[a-zé ]{0,12}".prop_map(Edit::Text),
        Just(Edit::Save),
    ]
}

fn apply(doc: &mut AutoCommit, edit: &Edit) {
    match edit {
        Edit::Put(k, v) => {
            doc.put(ROOT, format!("k{k}"), *v).unwrap();
        }
        Edit::Delete(k) => {
            if doc.get(ROOT, format!("k{k}")).unwrap().is_some() {
                doc.delete(ROOT, format!("k{k}")).unwrap();
            }
        }
        Edit::Text(t) => {
            let text = match doc.get(ROOT, "tekst").unwrap() {
                Some((_, id)) => id,
                None => doc
                    .put_object(ROOT, "tekst", automerge::ObjType::Text)
                    .unwrap(),
            };
            doc.update_text(&text, t).unwrap();
        }
        Edit::Save => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any sequence of edits, saved and reloaded through the sled store, gives the same document
    /// as the same sequence through the in-memory store.
    #[test]
    fn sled_and_memory_stores_give_the_same_document(edits in prop::collection::vec(edit(), 1..120)) {
        let dir = tempfile::tempdir().unwrap();
        let memory = MemoryStore::default();
        let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from([9u8; 16]));
        let (mut saved_sled, mut saved_mem) = (Vec::new(), Vec::new());
        {
            let sled = SledStore::open(dir.path()).unwrap();
            for e in &edits {
                apply(&mut doc, e);
                if matches!(e, Edit::Save) || doc.pending_ops() > 4 {
                    doc.commit();
                    saved_sled = sled.persist("d", &mut doc, &saved_sled, b"").unwrap();
                    saved_mem = memory.persist("d", &mut doc, &saved_mem, b"").unwrap();
                }
            }
            doc.commit();
            sled.persist("d", &mut doc, &saved_sled, b"").unwrap();
            memory.persist("d", &mut doc, &saved_mem, b"").unwrap();
        }
        let sled = SledStore::open(dir.path()).unwrap();
        if doc.get_heads().is_empty() {
            prop_assert!(sled.load("d").unwrap().is_none() && memory.load("d").unwrap().is_none());
            return Ok(());
        }
        let mut from_sled = sled.load("d").unwrap().unwrap().load().unwrap();
        let mut from_mem = memory.load("d").unwrap().unwrap().load().unwrap();
        prop_assert_eq!(from_sled.get_heads(), doc.get_heads());
        prop_assert_eq!(from_mem.get_heads(), doc.get_heads());
        prop_assert_eq!(from_sled.save(), from_mem.save());
    }
}

#[test]
fn sled_store_waits_briefly_for_a_lock_released_by_a_dropped_store() {
    let dir = tempfile::tempdir().unwrap();
    let first = SledStore::open(dir.path()).unwrap();
    first.put_meta("k", b"v").unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(first);
    });
    let second = SledStore::open(dir.path()).unwrap();
    assert_eq!(second.get_meta("k").unwrap().as_deref(), Some(&b"v"[..]));
    releaser.join().unwrap();
}
