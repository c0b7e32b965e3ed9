//! Rendering computed states as text, shared by the recorded fixtures and the scenario tests.

// Each test binary uses only part of this module.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kompas_engine::Timestamp;
use kompas_engine::runtime::{InstanceState, Refusal, Status};

/// Compares `actual(case)` with the text in `expected(case)` for every case, or rewrites the
/// expected files when `UPDATE_EXPECT` is set; fails with every difference at once.
pub fn expect_each(
    cases: &[PathBuf],
    expected: impl Fn(&Path) -> PathBuf,
    actual: impl Fn(&Path) -> String,
) {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    for case in cases {
        let got = actual(case);
        let path = expected(case);
        if update {
            std::fs::write(&path, &got).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            failures.push(format!(
                "{}:\n--- expected\n{want}--- actual\n{got}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The entries of `dir` that `keep` accepts, sorted.
pub fn entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| keep(p))
        .collect();
    out.sort();
    out
}

/// An instance's id, title, pinned definition and state.
pub fn render_status(out: &mut String, s: &Status) {
    let _ = writeln!(
        out,
        "instance {} {:?} {} {} {}",
        s.id, s.title, s.definition.name, s.definition.version, s.definition.hash
    );
    let _ = writeln!(out, "rejected facts: {}", s.rejected.len());
    render_state(out, &s.state);
}

/// The parts of a computed state that later versions must keep computing the same way.
pub fn render_state(out: &mut String, st: &InstanceState) {
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
        for h in &sch.held {
            let _ = writeln!(
                out,
                "  held for {} on {} by {} with {}: {}",
                h.moment.millis(),
                h.date,
                h.recorded_by,
                h.participants.join(", "),
                h.note
            );
        }
    }
    if st.round > 1 {
        for r in &st.rounds {
            let _ = writeln!(
                out,
                "round {} {:?} from step {} started {}",
                r.number,
                r.label,
                r.first_step,
                r.started.millis()
            );
            for d in &r.documents {
                let _ = writeln!(
                    out,
                    "  document {}{}{} kept [{}]{}",
                    d.id,
                    d.from
                        .as_ref()
                        .map(|f| format!(" from {f}"))
                        .unwrap_or_default(),
                    d.carried_to
                        .as_ref()
                        .map(|t| format!(" carried to {t}"))
                        .unwrap_or_default(),
                    d.kept.join(","),
                    if d.changed_since {
                        " changed since"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    for (org, what) in &st.turn {
        let _ = writeln!(out, "turn {org}: {what}");
    }
    for i in &st.ignored {
        let _ = writeln!(out, "ignored {}: {}", i.id, i.reason);
    }
}

/// A refusal by its machine parts (the words may be reworded; these may not).
pub fn refusal(r: &Refusal) -> String {
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
