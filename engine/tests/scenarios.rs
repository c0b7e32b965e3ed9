//! Scenario tests of the reducer. Every `tests/scenarios/*.scenario` is a plain-text file: a
//! definition (a built-in name, or an inline one between `definition inline` and `end`), the
//! organisations and workspace members, document snapshots, a fact log written one line per
//! fact, the moment the instance started and "now". The state (and the guidance of its phase)
//! is rendered as text and compared with the `.expected` file next to it; refresh those with
//! `UPDATE_EXPECT=1` after a deliberate change.
//!
//! Lines (times are `YYYY-MM-DD HH:MM` in Europe/Amsterdam; words with spaces in quotes):
//!
//! ```text
//! definition builtin verbeteracties
//! started 2027-01-04 09:00
//! now 2027-01-20 09:00
//! org g "Gemeente Havenstad" gemeente
//! member g 2026-12-01 09:00
//! doc d1 verbeteractie h1 "Uitnodigingen versturen" actie,eigenaar
//! owns-documents
//! fact 2027-01-04 09:00 g join coordinator
//! fact 2027-01-04 09:00 g link d1
//! fact 2028-01-04 09:00 g link d2 round 2
//! fact 2028-01-04 09:00 g link d3 round 2 from d1
//! fact 2027-01-05 10:00 g approve 0 plannen d1=h1
//! fact 2027-01-05 11:00 g reject 0 plannen "te vaag" d1=h1
//! fact 2027-01-06 10:00 g request 0 plannen uitvoeren d1=h1
//! fact 2027-04-02 10:00 g held kwartaalcheck 2027-04-01 09:00 2027-04-01 "Gemeente,SWV" "notitie"
//! ```

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use kompas_engine::definition::{Definition, builtin_registry, check};
use kompas_engine::runtime::{
    DocHeads, DocSnapshot, Fact, FactBody, Guidance, Input, Member, documents_in, guidance, state,
};
use kompas_engine::{DocId, OrgType, Timestamp};

#[test]
fn scenarios_reduce_to_their_expected_state() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let files = support::entries(&dir, |p| p.extension().is_some_and(|e| e == "scenario"));
    assert!(files.len() >= 3, "only {} scenarios", files.len());
    support::expect_each(
        &files,
        |f| f.with_extension("expected"),
        |f| {
            let name = f.file_name().unwrap_or_default().to_string_lossy();
            run(&name, &fs::read_to_string(f).unwrap())
        },
    );
}

/// One organisation of a scenario.
struct Org {
    name: String,
    org_type: OrgType,
}

fn run(file: &str, text: &str) -> String {
    let mut definition: Option<Definition> = None;
    let mut started = None;
    let mut now = None;
    let mut orgs: BTreeMap<String, Org> = BTreeMap::new();
    let mut members: Option<Vec<Member>> = None;
    let mut documents: BTreeMap<DocId, DocSnapshot> = BTreeMap::new();
    let mut facts = Vec::new();
    let mut owns_documents = false;
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let at = format!("{file}:{}", n + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = shlex::split(line).unwrap_or_else(|| panic!("{at}: bad quoting"));
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        match w.as_slice() {
            ["definition", "builtin", name] => {
                let registry = builtin_registry();
                definition = Some(registry.latest(name).unwrap().definition.clone());
            }
            ["definition", "inline"] => {
                let mut body = String::new();
                for (_, l) in lines.by_ref() {
                    if l.trim() == "end" {
                        break;
                    }
                    body.push_str(l);
                    body.push('\n');
                }
                let checked = check(file, &body);
                definition = Some(
                    checked
                        .definition
                        .unwrap_or_else(|| panic!("{at}: {:#?}", checked.diagnostics)),
                );
            }
            ["owns-documents"] => owns_documents = true,
            ["started", d, t] => started = Some(time(&at, d, t)),
            ["now", d, t] => now = Some(time(&at, d, t)),
            ["org", key, name, ty] => {
                let org_type: OrgType = serde_json::from_value(serde_json::json!(ty))
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
                orgs.insert(
                    key.to_string(),
                    Org {
                        name: name.to_string(),
                        org_type,
                    },
                );
            }
            ["member", key, d, t] => {
                let org = &orgs[*key];
                members.get_or_insert_with(Vec::new).push(Member {
                    org_id: key.to_string(),
                    name: org.name.clone(),
                    org_type: org.org_type,
                    since: time(&at, d, t),
                });
            }
            ["doc", id, kind, head, title, filled] => {
                documents.insert(
                    DocId::parse(id).unwrap(),
                    DocSnapshot {
                        kind: kind.to_string(),
                        heads: vec![head.to_string()],
                        filled: filled
                            .split(',')
                            .filter(|f| !f.is_empty() && *f != "-")
                            .map(String::from)
                            .collect::<BTreeSet<_>>(),
                        title: title.to_string(),
                    },
                );
            }
            ["fact", d, t, key, rest @ ..] => {
                let org = orgs
                    .get(*key)
                    .unwrap_or_else(|| panic!("{at}: unknown org {key}"));
                facts.push(Fact {
                    id: format!("f{:03}", facts.len() + 1),
                    org_id: key.to_string(),
                    org: org.name.clone(),
                    org_type: org.org_type,
                    at: time(&at, d, t),
                    body: fact_body(&at, rest),
                });
            }
            _ => panic!("{at}: cannot read {line:?}"),
        }
    }
    let definition = definition.unwrap_or_else(|| panic!("{file}: no definition"));
    let now = now.unwrap_or_else(|| panic!("{file}: no now"));
    let st = state(&Input {
        definition: &definition,
        created: started.unwrap_or_else(|| panic!("{file}: no started")),
        facts: &facts,
        documents: &documents,
        now,
        members: members.as_deref(),
        owns_documents,
    });
    let mut out = String::new();
    support::render_state(&mut out, &st);
    let worked_on = if owns_documents {
        documents_in(&facts, &documents, st.round)
    } else {
        documents
    };
    render_words(&mut out, &guidance(&definition, &st, &worked_on));
    out
}

fn fact_body(at: &str, words: &[&str]) -> FactBody {
    match words {
        ["join", role] => FactBody::Join {
            role: role.to_string(),
        },
        ["link", doc] => FactBody::Link {
            doc: DocId::parse(doc).unwrap(),
            round: 1,
            from: None,
        },
        ["link", doc, "round", round] => FactBody::Link {
            doc: DocId::parse(doc).unwrap(),
            round: round.parse().unwrap(),
            from: None,
        },
        ["link", doc, "round", round, "from", from] => FactBody::Link {
            doc: DocId::parse(doc).unwrap(),
            round: round.parse().unwrap(),
            from: Some(DocId::parse(from).unwrap()),
        },
        ["request", step, from, to, docs @ ..] => FactBody::Request {
            step: step.parse().unwrap(),
            from: from.to_string(),
            to: to.to_string(),
            based_on: heads(docs),
            decides: false,
        },
        ["approve", step, phase, docs @ ..] => FactBody::Verdict {
            step: step.parse().unwrap(),
            phase: phase.to_string(),
            approve: true,
            reason: String::new(),
            docs: heads(docs),
        },
        ["reject", step, phase, reason, docs @ ..] => FactBody::Verdict {
            step: step.parse().unwrap(),
            phase: phase.to_string(),
            approve: false,
            reason: reason.to_string(),
            docs: heads(docs),
        },
        ["held", schedule, d, t, date, participants, note] => FactBody::Held {
            schedule: schedule.to_string(),
            moment: time(at, d, t),
            date: date.to_string(),
            participants: participants.split(',').map(String::from).collect(),
            note: note.to_string(),
        },
        _ => panic!("{at}: cannot read fact {words:?}"),
    }
}

fn heads(words: &[&str]) -> DocHeads {
    words
        .iter()
        .map(|w| {
            let (id, head) = w.split_once('=').unwrap();
            (DocId::parse(id).unwrap(), vec![head.to_string()])
        })
        .collect()
}

fn time(at: &str, date: &str, clock: &str) -> Timestamp {
    let civil: jiff::civil::DateTime = format!("{date}T{clock}")
        .parse()
        .unwrap_or_else(|e| panic!("{at}: {e}"));
    let zoned = civil.in_tz("Europe/Amsterdam").unwrap();
    Timestamp(zoned.timestamp().as_millisecond())
}

/// The guidance as people read it: titles, tasks, fields and what is missing, in words.
fn render_words(out: &mut String, g: &Guidance) {
    let _ = writeln!(out, "-- guidance: {} ({})", g.title, g.phase);
    if !g.description.is_empty() {
        let _ = writeln!(out, "description: {}", g.description.trim());
    }
    for t in &g.tasks {
        let _ = writeln!(out, "task: {}", t.title);
        for q in &t.questions {
            let _ = writeln!(out, "  question: {q}");
        }
    }
    for d in &g.documents {
        let id = d.id.as_ref().map(DocId::as_str).unwrap_or("(nog geen)");
        let _ = writeln!(out, "document {id}: {} {:?}", d.kind_label, d.title);
        for f in &d.fields {
            let _ = writeln!(
                out,
                "  {} {:?}{}{}",
                if f.filled { "[x]" } else { "[ ]" },
                f.label,
                if f.required { " required" } else { "" },
                if f.help.is_empty() {
                    String::new()
                } else {
                    format!(" help {:?}", f.help)
                }
            );
        }
    }
    for t in &g.transitions {
        let _ = writeln!(
            out,
            "to {:?} ({}): {}",
            t.to_title,
            t.label,
            if t.allowed { "allowed" } else { "not yet" }
        );
        for m in &t.missing {
            let _ = writeln!(out, "  missing: {m}");
        }
    }
    for m in &g.missing {
        let _ = writeln!(out, "missing: {m}");
    }
}
