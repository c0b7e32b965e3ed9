//! Recorded fixtures: instance documents and the documents they work on, saved as `.automerge`
//! files from the built-in workflows of an earlier version. Every later version must keep
//! loading and verifying them and reduce them to the same state (`state.expected` next to them,
//! computed at the moment in `now`). Refresh with `UPDATE_EXPECT=1` only for a deliberate change.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use kompas_engine::definition::builtin_registry;
use kompas_engine::identity::Identity;
use kompas_engine::runtime::{Flows, INSTANCE_KIND, InstanceState, Refusal, Status};
use kompas_engine::{MemoryStore, OrgType, Replica, Timestamp};

#[test]
fn recorded_instances_reduce_to_the_recorded_state() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recorded");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 3, "only {} recorded fixtures", dirs.len());
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    for dir in dirs {
        let actual = reduce(&dir);
        let expected_path = dir.join("state.expected");
        if update {
            fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                dir.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Imports every file of `dir` into a fresh replica and renders the state of its instances.
fn reduce(dir: &Path) -> String {
    let replica = Replica::init(
        MemoryStore::default(),
        Identity::new("Lezer", OrgType::Gemeente, [9; 32], [9; 16]),
    )
    .unwrap();
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "automerge"))
        .collect();
    files.sort();
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
        render(&mut out, &status);
    }
    out
}

/// The parts of a state that later versions must keep computing the same way.
fn render(out: &mut String, s: &Status) {
    let st: &InstanceState = &s.state;
    let _ = writeln!(
        out,
        "instance {} {:?} {} {} {}",
        s.id, s.title, s.definition.name, s.definition.version, s.definition.hash
    );
    let _ = writeln!(out, "rejected facts: {}", s.rejected.len());
    let _ = writeln!(
        out,
        "phase {} step {} entered {} finished {}",
        st.phase,
        st.step,
        st.entered.millis(),
        st.finished
    );
    for p in &st.participants {
        let _ = writeln!(out, "participant {} {} {}", p.name, p.org_type, p.role);
    }
    for h in &st.history {
        let _ = writeln!(
            out,
            "step {} {} -> {} at {} by {} via {:?}",
            h.step,
            h.from,
            h.to,
            h.at.millis(),
            h.by.join(", "),
            h.via
        );
    }
    for v in &st.verdicts {
        let _ = writeln!(
            out,
            "verdict {} approve {} stale {} reason {:?}",
            v.org, v.approve, v.stale, v.reason
        );
    }
    for t in &st.transitions {
        let _ = writeln!(out, "transition to {} allowed {}", t.to, t.allowed());
        for r in &t.refusals {
            let _ = writeln!(out, "  {}", refusal(r));
        }
    }
    if let Some(d) = &st.due {
        let _ = writeln!(out, "due {} {:?}", d.deadline.millis(), d.urgency);
    }
    for sch in &st.schedules {
        let _ = writeln!(
            out,
            "schedule {} next {:?} {:?} missed {:?}",
            sch.name,
            sch.next.map(Timestamp::millis),
            sch.urgency,
            sch.missed.map(Timestamp::millis)
        );
    }
    for (org, what) in &st.turn {
        let _ = writeln!(out, "turn {org}: {what}");
    }
    for i in &st.ignored {
        let _ = writeln!(out, "ignored {}: {}", i.id, i.reason);
    }
}

fn refusal(r: &Refusal) -> String {
    match r {
        Refusal::NoDocument { kind, .. } => format!("no document of kind {kind}"),
        Refusal::EmptyField {
            kind, field, doc, ..
        } => format!("empty field {kind}.{field} in {doc}"),
        Refusal::ApprovalMissing { orgs, .. } => {
            format!("approval missing from {}", orgs.join(", "))
        }
        Refusal::Rejected { org, reason, .. } => format!("rejected by {org}: {reason}"),
        Refusal::QuorumShort { have, need, .. } => format!("quorum {have} of {need}"),
        other => format!("{other:?}"),
    }
}
