//! Overzicht: the partnership (members, relays and their sync state), the flows with their
//! phases, turns and deadlines, and this organisation's to-do list.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use kompas_engine::runtime::{Flows, Status, Urgency, todo};
use kompas_engine::sync::replication::{Machine, Mode, known_members};

use super::error::AppError;
use super::guidance::phase_titles;
use super::page::{Chrome, render};
use super::state::{AppState, Session};
use crate::commands::workspace::role_nl;
use crate::context::now;

struct MemberRow {
    name: String,
    org_type: String,
    role: &'static str,
    you: bool,
}

struct RelayRow {
    url: String,
    state: &'static str,
    last_contact: String,
    to_send: usize,
    problem: String,
}

/// A flow as the lists show it: title, definition, phase title, turn and deadline.
pub struct FlowRow {
    pub id: String,
    pub title: String,
    pub definition: String,
    pub phase: String,
    pub finished: bool,
    pub turn: String,
    pub deadline: String,
    pub urgency: (&'static str, &'static str),
}

impl FlowRow {
    /// The row of the flow whose status is `s`.
    pub fn of(s: &Status) -> FlowRow {
        let titles = phase_titles(&s.definition);
        FlowRow {
            id: s.id.to_string(),
            title: s.title.clone(),
            definition: s.definition_title.clone(),
            phase: titles
                .get(&s.state.phase)
                .cloned()
                .unwrap_or_else(|| s.state.phase.clone()),
            finished: s.state.finished,
            turn: s
                .state
                .turn
                .iter()
                .map(|(org, what)| format!("{org}: {what}"))
                .collect::<Vec<_>>()
                .join("; "),
            deadline: s
                .state
                .due
                .as_ref()
                .map(|d| d.deadline.to_string())
                .unwrap_or_default(),
            urgency: s
                .state
                .due
                .as_ref()
                .map_or(("", ""), |d| urgency_nl(d.urgency)),
        }
    }
}

struct TodoRow {
    instance: String,
    title: String,
    phase: String,
    what: String,
    at: String,
    urgency: (&'static str, &'static str),
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    chrome: Chrome,
    workspace: Option<String>,
    members: Vec<MemberRow>,
    relays: Vec<RelayRow>,
    flows: Vec<FlowRow>,
    todo: Vec<TodoRow>,
}

/// The Dutch word for where a deadline stands, and its style class.
pub fn urgency_nl(u: Urgency) -> (&'static str, &'static str) {
    match u {
        Urgency::OnTime => ("op tijd", "op-tijd"),
        Urgency::Soon => ("binnenkort", "binnenkort"),
        Urgency::Overdue => ("te laat", "te-laat"),
    }
}

/// `GET /`.
pub async fn overview(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let seen = state.relays_seen();
    state
        .with(move |opened| {
            let replica = &opened.replica;
            let me = &replica.identity().profile;
            let set = known_members(replica.store()).map_err(AppError::internal)?;
            let members = set
                .as_ref()
                .map(|set| {
                    set.members()
                        .map(|m| MemberRow {
                            name: m.profile.name.clone(),
                            org_type: m.profile.org_type.to_string(),
                            role: role_nl(m.role),
                            you: m.profile.key.org_id() == me.org_id,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let machine = Machine::load(replica, Mode::Once).map_err(AppError::internal)?;
            let relays = machine
                .as_ref()
                .map(|m| {
                    m.state()
                        .relays
                        .iter()
                        .map(|url| {
                            let s = seen.get(url).cloned().unwrap_or_default();
                            RelayRow {
                                url: url.clone(),
                                state: if s.connected {
                                    "verbonden"
                                } else {
                                    "niet verbonden"
                                },
                                last_contact: s
                                    .last_contact
                                    .map_or_else(|| "nog niet".into(), |t| t.to_string()),
                                to_send: m.state().outbox.waiting_for(url).count(),
                                problem: s.problem.unwrap_or_default(),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let flows = Flows::new(replica, &opened.registry);
            let all = flows.list(now())?;
            let flow_rows = all.iter().map(FlowRow::of).collect();
            let todo = todo(&all, &me.org_id, &me.name)
                .into_iter()
                .map(|t| TodoRow {
                    instance: t.instance.to_string(),
                    title: t.title,
                    phase: t.phase,
                    what: t.what,
                    at: t.at.map(|a| a.to_string()).unwrap_or_default(),
                    urgency: urgency_nl(t.urgency),
                })
                .collect();
            render(&Overview {
                chrome: Chrome::new(opened, &session, "overzicht", "Overzicht"),
                workspace: set.as_ref().map(|s| s.name().to_string()),
                members,
                relays,
                flows: flow_rows,
                todo,
            })
        })
        .await
}
