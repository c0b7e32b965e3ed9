//! `kompas flow ...`: start, follow and move workflow instances with the partners.

use std::fmt::Write as _;

use kompas_engine::DocId;
use kompas_engine::catalog::Catalog;
use kompas_engine::runtime::{
    ActionFresh, Agreement, Carried, Flows, Fresh, Guidance, RoundArchive, Status, Todo, Urgency,
    Via, todo,
};

use crate::args::{FlowCommand, Global};
use kompas_engine::sync::replication::known_members;

use crate::context::{Opened, now, open_global, random};
use crate::output::emit;

pub fn run(global: &Global, cmd: FlowCommand) -> anyhow::Result<()> {
    let opened = open_global(global)?;
    let flows = Flows::new(&opened.replica, &opened.registry);
    match cmd {
        FlowCommand::Start {
            name,
            title,
            documents,
        } => {
            let documents = documents
                .iter()
                .map(|d| DocId::parse(d))
                .collect::<Result<Vec<_>, _>>()?;
            let id = loop {
                let fresh = Fresh {
                    doc: random(),
                    fact: random(),
                };
                match flows.start(&name, title.as_deref(), &documents, now(), fresh) {
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
                    "{id}\nWerkstroom \"{}\" gestart volgens {} (versie {}); fase: {}.",
                    s.title, s.definition_title, s.definition.version, s.state.phase_title
                )
            })
        }
        FlowCommand::Link { id, documents } => {
            let id = DocId::parse(&id)?;
            let mut status = None;
            for doc in &documents {
                status = Some(flows.link(&id, &DocId::parse(doc)?, now(), random())?);
            }
            match status {
                Some(status) => show(global, &opened, status),
                None => Ok(()),
            }
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
                        "{}  {:<28} {} {}  fase ‘{}’{}",
                        s.id,
                        s.title,
                        s.definition.name,
                        s.definition.version,
                        s.state.phase_title,
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
        FlowCommand::Agreements { document } => {
            let list = flows.agreements(&DocId::parse(&document)?)?;
            emit(global.json, &list, |l| render_agreements(l))
        }
        FlowCommand::Action {
            document,
            number,
            owner,
            deadline,
            list,
        } => {
            let source = DocId::parse(&document)?;
            let made = loop {
                let fresh = ActionFresh {
                    doc: random(),
                    flow: Fresh {
                        doc: random(),
                        fact: random(),
                    },
                };
                match flows.make_action(
                    &source,
                    list.as_deref(),
                    number,
                    owner.as_deref(),
                    deadline.as_deref(),
                    now(),
                    fresh,
                ) {
                    Err(kompas_engine::runtime::FlowError::Replica(
                        kompas_engine::ReplicaError::IdTaken(_),
                    )) => continue,
                    other => break other?,
                }
            };
            emit(global.json, &made, |m| {
                let what = if m.existed {
                    "Bestaande verbeteractie"
                } else {
                    "Verbeteractie"
                };
                format!(
                    "{}\n{what} voor {}, uiterlijk klaar {}; gevolgd in werkstroom {}.",
                    m.action, m.owner, m.deadline, m.flow
                )
            })
        }
        FlowCommand::Rounds { id, round } => {
            let rounds = flows.rounds(&DocId::parse(&id)?, round, now())?;
            // One round is shown with its documents' content.
            let catalog = round.map(|_| opened.replica.catalog());
            emit(global.json, &rounds, |r| render_rounds(r, catalog))
        }
        FlowCommand::Carry { id, documents } => {
            let id = DocId::parse(&id)?;
            let documents = documents
                .iter()
                .map(|d| DocId::parse(d))
                .collect::<Result<Vec<_>, _>>()?;
            let carried = loop {
                let fresh: Vec<Fresh> = documents
                    .iter()
                    .map(|_| Fresh {
                        doc: random(),
                        fact: random(),
                    })
                    .collect();
                match flows.carry_over(&id, &documents, now(), &fresh) {
                    Err(kompas_engine::runtime::FlowError::Replica(
                        kompas_engine::ReplicaError::IdTaken(_),
                    )) => continue,
                    other => break other?,
                }
            };
            emit(global.json, &carried, |c| render_carried(c))
        }
        FlowCommand::Held {
            id,
            moment,
            date,
            participants,
            note,
        } => {
            let status = flows.held(
                &DocId::parse(&id)?,
                &moment,
                &date,
                &participants,
                &note,
                now(),
                random(),
            )?;
            show(global, &opened, status)
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

/// The documents carried into a new round, one line each.
fn render_carried(carried: &[Carried]) -> String {
    let mut out = String::new();
    for c in carried {
        let title = if c.title.is_empty() {
            String::new()
        } else {
            format!(" ‘{}’", c.title)
        };
        let _ = writeln!(
            out,
            "{}\nNieuwe versie van{title} ({}) in de huidige ronde.",
            c.to, c.from
        );
    }
    out
}

/// The rounds of an instance as people read them: an archive per round. With `catalog`, every
/// document's fields are shown too, by their labels.
fn render_rounds(rounds: &[RoundArchive], catalog: Option<&Catalog>) -> String {
    let mut out = String::new();
    for r in rounds {
        let now = if r.current { ", de huidige" } else { "" };
        let _ = writeln!(
            out,
            "Ronde {} ({}, begonnen {}{now})",
            r.round.number, r.round.label, r.round.started
        );
        if r.documents.is_empty() {
            let _ = writeln!(out, "  nog geen documenten");
        }
        for d in &r.documents {
            let title = if d.title.is_empty() {
                String::new()
            } else {
                format!(" ‘{}’", d.title)
            };
            let mut notes = Vec::new();
            if d.missing {
                notes.push("verwijderd of nog niet hier".to_string());
            }
            if let Some(from) = &d.from {
                notes.push(format!("nieuwe versie van {from}"));
            }
            if let Some(to) = &d.carried_to {
                notes.push(format!("meegenomen als {to}"));
            }
            if d.changed_since {
                notes
                    .push("daarna nog gewijzigd; hier de versie waarover de ronde besliste".into());
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            };
            let _ = writeln!(out, "  {}{title} ({}){notes}", d.kind_label, d.id);
            if let Some(kind) = catalog.and_then(|c| c.kind(&d.kind)) {
                for f in &kind.fields {
                    if let Some(value) = d.fields.get(&f.name) {
                        let _ = writeln!(out, "    {}: {}", f.label, value);
                    }
                }
            }
        }
        for s in &r.steps {
            let _ = writeln!(
                out,
                "  {}  van ‘{}’ naar ‘{}’, door {}",
                s.at,
                s.from_title,
                s.to_title,
                s.by.join(", ")
            );
        }
        for v in &r.verdicts {
            let what = if v.approve {
                "stemde in met"
            } else {
                "wees af"
            };
            let reason = if v.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", v.reason)
            };
            let _ = writeln!(
                out,
                "  {} {what} ‘{}’ op {}{reason}",
                v.org, v.phase_title, v.at
            );
        }
    }
    out
}

/// A document's agreements as people read them, numbered as `flow action` takes them.
fn render_agreements(list: &[Agreement]) -> String {
    if list.is_empty() {
        return "Geen afspraken die een verbeteractie kunnen worden.".into();
    }
    let mut out = String::new();
    for a in list {
        let who = a
            .who
            .as_deref()
            .map(|w| format!(", {w}"))
            .unwrap_or_default();
        let by = a
            .deadline
            .as_deref()
            .map(|d| format!(", uiterlijk {d}"))
            .unwrap_or_default();
        let state = match (&a.action, &a.flow) {
            (Some(action), Some(flow)) => format!("verbeteractie {action}, werkstroom {flow}"),
            (Some(action), None) => {
                format!("verbeteractie {action}, nog zonder werkstroom")
            }
            _ => format!(
                "nog geen verbeteractie (kompas flow action {} {})",
                a.origin.doc, a.origin.item
            ),
        };
        let _ = writeln!(
            out,
            "  {}. {}{who}{by} [{}]: {state}",
            a.origin.item, a.text, a.field_label
        );
    }
    out
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
            "  {:<11} {:<16}  {} ({}, fase ‘{}’): {}",
            urgency(t.urgency),
            at,
            t.title,
            t.instance,
            t.phase_title,
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

/// How a role is shown to people.
fn role_label(role: &str) -> String {
    match role {
        "coordinator" => "coördinator".to_string(),
        other => other.replace('-', " "),
    }
}

/// An instance as people read it: where it is, what it asks, what blocks it, what is due and
/// whose turn it is. Ids and hashes are in `--json`.
fn render(shown: &Shown) -> String {
    let s = &shown.status;
    let st = &s.state;
    let g = &s.guidance;
    let mut out = String::new();
    let _ = writeln!(out, "Werkstroom \"{}\" ({})", s.title, s.id);
    let _ = writeln!(
        out,
        "  werkwijze: {} (versie {})",
        s.definition_title, s.definition.version
    );
    if st.round > 1 {
        let label = st
            .rounds
            .last()
            .map(|r| r.label.clone())
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  ronde {} ({label}); eerdere rondes: kompas flow rounds {}",
            st.round, s.id
        );
        if st.rounds.last().is_some_and(|r| r.documents.is_empty()) {
            let _ = writeln!(
                out,
                "  neem documenten van de vorige ronde mee met `kompas flow carry {} DOCUMENT...`",
                s.id
            );
        }
    }
    let _ = writeln!(
        out,
        "  fase: {}{} (sinds {})",
        g.title,
        if st.finished { ", klaar" } else { "" },
        st.entered
    );
    if !g.description.is_empty() {
        let _ = writeln!(out, "  {}", g.description.trim());
    }
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
            .map(|p| format!("{} ({})", p.name, role_label(&p.role)))
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
    render_guidance(&mut out, g);
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
    for t in &g.transitions {
        let label = if t.label.is_empty() {
            String::new()
        } else {
            format!(" ({})", t.label)
        };
        if t.allowed {
            let _ = writeln!(out, "  naar ‘{}’{label}: kan nu", t.to_title);
        } else {
            let _ = writeln!(out, "  naar ‘{}’{label}: kan nog niet", t.to_title);
            for m in &t.missing {
                let _ = writeln!(out, "    - {m}");
            }
        }
    }
    for sch in &st.schedules {
        let when = match (sch.missed, sch.next) {
            (Some(m), Some(n)) => format!("gemist op {m}; volgende keer {n}"),
            (Some(m), None) => format!("gemist op {m}"),
            (None, Some(n)) => format!("volgende keer {n} ({})", urgency(sch.urgency)),
            (None, None) => "geen volgende keer".to_string(),
        };
        let _ = writeln!(
            out,
            "  gepland: {} (fase ‘{}’): {when}",
            sch.title, sch.phase_title
        );
        for h in &sch.held {
            let who = if h.participants.is_empty() {
                String::new()
            } else {
                format!(" met {}", h.participants.join(", "))
            };
            let note = if h.note.is_empty() {
                String::new()
            } else {
                format!(": {}", h.note)
            };
            let _ = writeln!(
                out,
                "    gehouden op {} (voor {}){who}{note}",
                h.date, h.moment
            );
        }
    }
    for a in &s.actions {
        let _ = writeln!(
            out,
            "  actie ‘{}’: eigenaar {}, uiterlijk {} ({})",
            a.title,
            a.owner,
            a.deadline,
            urgency(a.urgency)
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
                "    {}  van ‘{}’ naar ‘{}’, door {}{via}",
                h.at,
                h.from_title,
                h.to_title,
                h.by.join(", ")
            );
        }
    }
    for r in &s.rejected {
        let _ = writeln!(out, "  genegeerd: {r}");
    }
    out
}

/// The phase's tasks with their questions, and its documents with their fields.
fn render_guidance(out: &mut String, g: &Guidance) {
    if g.finished {
        return;
    }
    for t in &g.tasks {
        let _ = writeln!(out, "  taak: {}", t.title);
        if !t.description.is_empty() {
            let _ = writeln!(out, "    {}", t.description.trim());
        }
        for q in &t.questions {
            let _ = writeln!(out, "    - {q}");
        }
    }
    for d in &g.documents {
        match &d.id {
            None => {
                let _ = writeln!(
                    out,
                    "  document: {}: nog geen (kompas doc new {})",
                    d.kind_label, d.kind
                );
            }
            Some(id) => {
                let title = if d.title.is_empty() {
                    String::new()
                } else {
                    format!(" ‘{}’", d.title)
                };
                let _ = writeln!(out, "  document: {}{title} ({id})", d.kind_label);
            }
        }
        for f in &d.fields {
            let mark = if f.filled { "[x]" } else { "[ ]" };
            let required = if f.required { " (nodig)" } else { "" };
            let _ = writeln!(out, "    {mark} {}{required}", f.label);
            if !f.help.is_empty() && !f.filled {
                let _ = writeln!(out, "        {}", f.help.trim());
            }
        }
    }
}
