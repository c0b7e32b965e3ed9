//! `kompas flow ...`: start, follow and move workflow instances with the partners.

use std::fmt::Write as _;

use kompas_engine::DocId;
use kompas_engine::runtime::{Flows, Fresh, Status, Todo, Urgency, Via, todo};

use crate::args::{FlowCommand, Global};
use kompas_engine::sync::replication::known_members;

use crate::context::{Opened, now, open_global, random};
use crate::output::emit;

pub fn run(global: &Global, cmd: FlowCommand) -> anyhow::Result<()> {
    let opened = open_global(global)?;
    let flows = Flows::new(&opened.replica, &opened.registry);
    match cmd {
        FlowCommand::Start { name, title } => {
            let id = loop {
                let fresh = Fresh {
                    doc: random(),
                    fact: random(),
                };
                match flows.start(&name, title.as_deref(), now(), fresh) {
                    Err(kompas_engine::runtime::FlowError::Replica(
                        kompas_engine::ReplicaError::IdTaken(_),
                    )) => continue,
                    other => break other?,
                }
            };
            let status = with_members(&opened, flows.status(&id, now())?)?;
            emit(global.json, &status, |s| {
                let s = &s.status;
                format!(
                    "{id}\nWerkstroom \"{}\" gestart volgens {} {}; fase: {}.",
                    s.title, s.definition.name, s.definition.version, s.state.phase
                )
            })
        }
        FlowCommand::Status { id } => {
            let status = flows.status(&DocId::parse(&id)?, now())?;
            show(global, &opened, status)
        }
        FlowCommand::Join { id, role } => {
            let status = flows.join(&DocId::parse(&id)?, &role, now(), random())?;
            show(global, &opened, status)
        }
        FlowCommand::Advance { id, to } => {
            let status = flows.advance(&DocId::parse(&id)?, to.as_deref(), now(), random())?;
            show(global, &opened, status)
        }
        FlowCommand::Approve { id } => {
            let status =
                flows.verdict(&DocId::parse(&id)?, true, "", now(), [random(), random()])?;
            show(global, &opened, status)
        }
        FlowCommand::Reject { id, reason } => {
            let status = flows.verdict(
                &DocId::parse(&id)?,
                false,
                &reason,
                now(),
                [random(), random()],
            )?;
            show(global, &opened, status)
        }
        FlowCommand::List => {
            let all = flows.list(now())?;
            emit(global.json, &all, |all| {
                if all.is_empty() {
                    return "Geen werkstromen.".into();
                }
                let mut out = String::new();
                for s in all {
                    let _ = writeln!(
                        out,
                        "{}  {:<28} {} {}  fase {}{}",
                        s.id,
                        s.title,
                        s.definition.name,
                        s.definition.version,
                        s.state.phase,
                        if s.state.finished { " (klaar)" } else { "" }
                    );
                }
                out
            })
        }
        FlowCommand::Todo => {
            let me = &opened.replica.identity().profile;
            let list = todo(&flows.list(now())?, &me.org_id, &me.name);
            emit(global.json, &list, |list| render_todo(&me.name, list))
        }
        FlowCommand::Migrate { id, to } => {
            let status = flows.migrate(&DocId::parse(&id)?, &to, now(), random())?;
            show(global, &opened, status)
        }
    }
}

fn urgency(u: Urgency) -> &'static str {
    match u {
        Urgency::OnTime => "op tijd",
        Urgency::Soon => "binnenkort",
        Urgency::Overdue => "TE LAAT",
    }
}

/// The to-do list as people read it.
fn render_todo(org: &str, list: &[Todo]) -> String {
    if list.is_empty() {
        return format!("Niets te doen voor {org} in de werkstromen.");
    }
    let mut out = format!("Te doen voor {org} ({}):\n", list.len());
    for t in list {
        let at = t.at.map(|a| a.to_string()).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "  {:<11} {:<16}  {} ({}, fase {}): {}",
            urgency(t.urgency),
            at,
            t.title,
            t.instance,
            t.phase,
            t.what
        );
    }
    out
}

/// An instance's status with the workspace members who have not joined it (yet).
#[derive(serde::Serialize)]
struct Shown {
    #[serde(flatten)]
    status: Status,
    /// Members of the workspace that take no part in the instance, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_joined: Vec<String>,
}

fn with_members(opened: &Opened, status: Status) -> anyhow::Result<Shown> {
    let mut not_joined: Vec<String> = match known_members(opened.replica.store())? {
        Some(members) => members
            .members()
            .filter(|m| {
                let id = m.profile.key.org_id();
                !status.state.participants.iter().any(|p| p.org_id == id)
            })
            .map(|m| m.profile.name.clone())
            .collect(),
        None => Vec::new(),
    };
    not_joined.sort();
    Ok(Shown { status, not_joined })
}

fn show(global: &Global, opened: &Opened, status: Status) -> anyhow::Result<()> {
    emit(global.json, &with_members(opened, status)?, render)
}

/// An instance as people read it: where it is, what blocks it, what is due, whose turn it is.
fn render(shown: &Shown) -> String {
    let s = &shown.status;
    let st = &s.state;
    let mut out = String::new();
    let _ = writeln!(out, "Werkstroom {}  \"{}\"", s.id, s.title);
    let _ = writeln!(
        out,
        "  werkwijze: {} {} ({}), vastgelegd met hash {}",
        s.definition.name,
        s.definition.version,
        s.definition_title,
        s.definition.hash.get(..12).unwrap_or(&s.definition.hash)
    );
    let _ = writeln!(
        out,
        "  fase: {}{} (sinds {}, stap {})",
        st.phase,
        if st.finished { ", klaar" } else { "" },
        st.entered,
        st.step
    );
    if let Some(due) = &st.due {
        let _ = writeln!(
            out,
            "  termijn: {} ({})",
            due.deadline,
            urgency(due.urgency)
        );
    }
    if !st.participants.is_empty() {
        let names: Vec<String> = st
            .participants
            .iter()
            .map(|p| format!("{} ({})", p.name, p.role))
            .collect();
        let _ = writeln!(out, "  deelnemers: {}", names.join(", "));
    }
    if !shown.not_joined.is_empty() {
        let _ = writeln!(
            out,
            "  nog niet aangesloten: {} (kompas flow join {} --role ROL)",
            shown.not_joined.join(", "),
            s.id
        );
    }
    for v in &st.verdicts {
        let what = if v.approve { "stemde in" } else { "wees af" };
        let stale = if v.stale {
            " — VEROUDERD: een document is sindsdien gewijzigd, dit telt niet meer"
        } else {
            ""
        };
        let reason = if v.reason.is_empty() {
            String::new()
        } else {
            format!(": {}", v.reason)
        };
        let _ = writeln!(out, "  {} {what} op {}{reason}{stale}", v.org, v.at);
    }
    if let Some(c) = &st.conflict {
        let _ = writeln!(
            out,
            "  CONFLICT: partners vroegen tegelijk om verschillende fasen:"
        );
        for (to, orgs) in &c.candidates {
            let _ = writeln!(out, "    naar {to}: {}", orgs.join(", "));
        }
        let _ = writeln!(
            out,
            "    beslis met: kompas flow advance {} --to FASE",
            s.id
        );
    }
    for t in &st.transitions {
        if t.allowed() {
            let _ = writeln!(out, "  naar {}: kan nu", t.to);
        } else {
            let _ = writeln!(out, "  naar {}: kan nog niet", t.to);
            for r in &t.refusals {
                let _ = writeln!(out, "    - {r}");
            }
        }
    }
    for sch in &st.schedules {
        let next = sch
            .next
            .map(|t| t.to_string())
            .unwrap_or_else(|| "-".into());
        let missed = sch
            .missed
            .map(|t| format!(", gemist op {t}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  gepland: {} (fase {}), volgende keer {next} ({}{missed})",
            if sch.title.is_empty() {
                &sch.name
            } else {
                &sch.title
            },
            sch.phase,
            urgency(sch.urgency)
        );
    }
    if !st.turn.is_empty() {
        let turn: Vec<String> = st.turn.iter().map(|(o, w)| format!("{o}: {w}")).collect();
        let _ = writeln!(out, "  aan de beurt: {}", turn.join("; "));
    }
    if !st.history.is_empty() {
        let _ = writeln!(out, "  verloop:");
        for h in &st.history {
            let via = match h.via {
                Via::Request => "",
                Via::Precedence => " (conflict, beslist door voorrang)",
                Via::Decision => " (conflict, beslist)",
            };
            let _ = writeln!(
                out,
                "    {}  {} -> {}  door {}{via}",
                h.at,
                h.from,
                h.to,
                h.by.join(", ")
            );
        }
    }
    for r in &s.rejected {
        let _ = writeln!(out, "  genegeerd: {r}");
    }
    out
}
