//! Change-count bombs for the document budget tests (small in bytes, enormous to load), and
//! reading the peak memory the `max-rss` helper reports for the command it ran.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use kompas_engine::document::write_header;
use kompas_engine::{DocId, Timestamp};

/// A document `id` in the kompas layout with `changes` tiny changes, saved as Automerge does:
/// the columnar format compresses such a history into a small file.
pub fn change_bomb(id: &DocId, changes: u64) -> Vec<u8> {
    let mut doc = AutoCommit::new();
    write_header(&mut doc, id, "ambitie", Timestamp(1_780_000_000_000)).expect("header");
    doc.commit();
    for n in 0..changes {
        doc.put(ROOT, "teller", n as i64).expect("put");
        doc.commit();
    }
    doc.save()
}

/// The peak resident memory in MiB that `max-rss` reported on standard error.
pub fn peak_mib(stderr: &str) -> u64 {
    peak_kib(stderr) / 1024
}

/// The peak resident memory in KiB that `max-rss` reported on standard error.
pub fn peak_kib(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("max-rss "))
        .unwrap_or_else(|| panic!("no max-rss line in:\n{stderr}"));
    line.trim().parse::<u64>().expect("a number of KiB")
}
