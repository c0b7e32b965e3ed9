//! A Mermaid state diagram of a definition's phases and transitions.

use std::fmt::Write as _;

use super::model::{Approval, Definition, Guard};

/// The definition as a Mermaid `stateDiagram-v2`.
pub fn mermaid(def: &Definition) -> String {
    let mut out = format!("---\ntitle: {}\n---\nstateDiagram-v2\n", clean(&def.title));
    let id = |name: &str| {
        def.phases
            .iter()
            .position(|p| p.name == name)
            .map_or_else(|| "onbekend".to_string(), |i| format!("f{i}"))
    };
    for (i, p) in def.phases.iter().enumerate() {
        let _ = writeln!(out, "    state \"{}\" as f{i}", clean(&p.title));
    }
    let _ = writeln!(out, "    [*] --> {}", id(&def.start));
    for p in &def.phases {
        for t in &p.transitions {
            let mut label = clean(&t.label);
            let guard = describe(&t.guard);
            if !guard.is_empty() {
                if !label.is_empty() {
                    label.push(' ');
                }
                label.push_str(&format!("[{guard}]"));
            }
            if label.is_empty() {
                let _ = writeln!(out, "    {} --> {}", id(&p.name), id(&t.to));
            } else {
                let _ = writeln!(out, "    {} --> {} : {label}", id(&p.name), id(&t.to));
            }
        }
        if p.is_final {
            let _ = writeln!(out, "    {} --> [*]", id(&p.name));
        }
    }
    for s in &def.schedules {
        let when = match &s.recurrence {
            super::model::Recurrence::Every(p) => format!("elke {p}"),
            super::model::Recurrence::Cron(c) => format!("cron {c}"),
        };
        let _ = writeln!(
            out,
            "    note right of {} : {} ({when})",
            id(&s.phase),
            clean(&s.title)
        );
    }
    out
}

fn describe(g: &Guard) -> String {
    let mut parts = Vec::new();
    if g.required_fields {
        parts.push("verplichte velden".to_string());
    }
    for (k, f) in &g.fields {
        parts.push(format!("{k}.{f}"));
    }
    match g.approval {
        Some(Approval::EveryPartner) => parts.push("akkoord iedere partner".into()),
        Some(Approval::Coordinator) => parts.push("akkoord coordinator".into()),
        Some(Approval::Quorum(n)) => parts.push(format!("akkoord van {n}")),
        None => {}
    }
    parts.join(", ")
}

/// Keeps text from breaking Mermaid's syntax.
fn clean(s: &str) -> String {
    s.replace(':', " -")
        .replace([';', '"', '\n', '{', '}', '#'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
