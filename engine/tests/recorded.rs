//! Recorded fixtures: instance documents and the documents they work on, saved as `.automerge`
//! files from the built-in workflows of an earlier version. Every later version must keep
//! loading and verifying them and reduce them to the same state (`state.expected` next to them,
//! computed at the moment in `now`). Refresh with `UPDATE_EXPECT=1` only for a deliberate change.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod support;

use std::fs;
use std::path::Path;

use kompas_engine::definition::builtin_registry;
use kompas_engine::identity::Identity;
use kompas_engine::runtime::{Flows, INSTANCE_KIND};
use kompas_engine::{MemoryStore, OrgType, Timestamp};

#[test]
fn recorded_instances_reduce_to_the_recorded_state() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recorded");
    let dirs = support::entries(&root, Path::is_dir);
    assert!(dirs.len() >= 3, "only {} recorded fixtures", dirs.len());
    support::expect_each(&dirs, |d| d.join("state.expected"), reduce);
}

/// Imports every file of `dir` into a fresh replica and renders the state of its instances.
fn reduce(dir: &Path) -> String {
    let replica = kompas_engine::composition::init(
        MemoryStore::default(),
        Identity::new("Lezer", OrgType::Gemeente, [9; 32], [9; 16]),
    )
    .unwrap();
    let files = support::entries(dir, |p| p.extension().is_some_and(|e| e == "automerge"));
    for f in &files {
        replica
            .import(&fs::read(f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
    let now: i64 = fs::read_to_string(dir.join("now"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let registry = builtin_registry();
    let flows = Flows::new(&replica, &registry);
    let mut out = String::new();
    for view in replica.list(Some(INSTANCE_KIND), false).unwrap() {
        let status = flows.status(&view.id, Timestamp(now)).unwrap();
        support::render_status(&mut out, &status);
    }
    out
}
