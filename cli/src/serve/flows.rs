//! Werkstromen: the list of flows and starting one; a flow's page with its phases as a step
//! list, the current phase's guidance and documents, every member's approval (stale ones with
//! what changed since and by whom), and approve, reject (with a reason), advance and join. A
//! refused step is explained in words, each reason linking to the field or member it is about.
//!
//! Every decision is the engine's (`runtime::Flows`); this module only shows its results.

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kompas_engine::runtime::{FlowError, Flows, Fresh, Refusal};
use kompas_engine::{DocId, ReplicaError};

use super::dates::moment;
use super::documents::title_of;
use super::error::AppError;
use super::guidance::definition_of;
use super::overview::{FlowRow, urgency_nl};
use super::page::{Chrome, render};
use super::state::{AppState, Session};
use crate::context::{Opened, now, random};

#[derive(Template)]
#[template(path = "flows.html")]
struct FlowsPage {
    chrome: Chrome,
    flows: Vec<FlowRow>,
    definitions: Vec<(String, String)>,
    error: String,
    title: String,
}

fn flows_page(
    opened: &Opened,
    session: &Session,
    error: String,
    title: String,
) -> Result<FlowsPage, AppError> {
    let flows = Flows::new(&opened.replica, &opened.registry);
    let rows = flows.list(now())?.iter().map(FlowRow::of).collect();
    Ok(FlowsPage {
        chrome: Chrome::new(opened, session, "werkstromen", "Werkstromen"),
        flows: rows,
        definitions: opened
            .registry
            .latest_all()
            .map(|l| (l.definition.name.clone(), l.definition.title.clone()))
            .collect(),
        error,
        title,
    })
}

/// `GET /werkstromen`.
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| render(&flows_page(opened, &session, String::new(), String::new())?))
        .await
}

#[derive(serde::Deserialize)]
pub struct StartForm {
    werkwijze: String,
    #[serde(default)]
    titel: String,
}

/// `POST /werkstromen/nieuw`: starts a flow and opens its page.
pub async fn start(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<StartForm>,
) -> Result<Response, AppError> {
    let live = state.clone();
    state
        .with(move |opened| {
            let flows = Flows::new(&opened.replica, &opened.registry);
            let title = form.titel.trim();
            let started = loop {
                let fresh = Fresh {
                    doc: random(),
                    fact: random(),
                };
                match flows.start(
                    &form.werkwijze,
                    Some(title).filter(|t| !t.is_empty()),
                    &[],
                    now(),
                    fresh,
                ) {
                    Err(FlowError::Replica(ReplicaError::IdTaken(_))) => continue,
                    other => break other,
                }
            };
            match started {
                Ok(id) => {
                    super::saving::announce(&live, opened, &id);
                    Ok(Redirect::to(&format!("/werkstromen/{id}")).into_response())
                }
                Err(e) if e.is_input_error() => {
                    let page = flows_page(opened, &session, e.to_string(), form.titel.clone())?;
                    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
}

struct StepRow {
    title: String,
    current: bool,
    done: bool,
}

struct TaskRow {
    title: String,
    description: String,
    questions: Vec<String>,
}

struct DocRow {
    id: String,
    title: String,
    kind_label: String,
    filled: usize,
    required: usize,
    missing: Vec<String>,
}

struct VerdictRow {
    org: String,
    approve: bool,
    reason: String,
    at: String,
    stale: bool,
    changed: Vec<String>,
}

/// One reason a step is refused, with where to fix it.
struct Reason {
    text: String,
    href: String,
}

struct TransitionRow {
    to: String,
    label: String,
    allowed: bool,
    reasons: Vec<Reason>,
}

#[derive(Template)]
#[template(path = "flow.html")]
struct FlowPage {
    chrome: Chrome,
    id: String,
    title: String,
    definition: String,
    steps: Vec<StepRow>,
    phase_title: String,
    phase_description: String,
    finished: bool,
    deadline: String,
    urgency: (&'static str, &'static str),
    tasks: Vec<TaskRow>,
    docs: Vec<DocRow>,
    new_kinds: Vec<(String, String)>,
    participants: Vec<(String, String)>,
    not_joined: Vec<String>,
    joined: bool,
    roles: Vec<(String, String)>,
    verdicts: Vec<VerdictRow>,
    transitions: Vec<TransitionRow>,
    turn: Vec<String>,
    message: String,
    refused: String,
    reason_error: String,
    reason_input: String,
}

/// What a page shows besides the flow's state: the outcome of an action just taken.
#[derive(Default)]
struct Outcome {
    message: String,
    refused: String,
    reason_error: String,
    reason_input: String,
}

fn flow_page(
    opened: &Opened,
    session: &Session,
    id: &DocId,
    outcome: Outcome,
) -> Result<FlowPage, AppError> {
    let replica = &opened.replica;
    let flows = Flows::new(replica, &opened.registry);
    let status = flows.status(id, now())?;
    let st = &status.state;
    let def = definition_of(&status.definition).ok_or_else(|| {
        AppError::Refused(format!(
            "De werkwijze van werkstroom {} is niet meer leesbaar.",
            status.title
        ))
    })?;
    let phase = def.phases.iter().find(|p| p.name == st.phase);
    let visited: Vec<&str> = st.history.iter().map(|h| h.from.as_str()).collect();
    let steps = def
        .phases
        .iter()
        .map(|p| StepRow {
            title: p.title.clone(),
            current: p.name == st.phase,
            done: visited.contains(&p.name.as_str()) && p.name != st.phase,
        })
        .collect();
    let mut docs = Vec::new();
    let mut new_kinds = Vec::new();
    let mut changes_since: Vec<(String, Change)> = Vec::new();
    let any_stale = st.verdicts.iter().any(|v| v.stale);
    if let Some(phase) = phase {
        for kind_name in &phase.kinds {
            let kind = replica.catalog().kind(kind_name);
            if let Some(k) = kind {
                new_kinds.push((k.name.clone(), k.label.clone()));
            }
            for view in replica.list(Some(kind_name), false)? {
                let required: Vec<_> = phase
                    .required
                    .iter()
                    .filter(|(k, _)| k == kind_name)
                    .map(|(_, f)| f.clone())
                    .collect();
                let missing: Vec<String> = required
                    .iter()
                    .filter(|f| !view.fields.contains_key(*f))
                    .map(|f| {
                        kind.and_then(|k| k.field(f))
                            .map_or(f.clone(), |d| d.label.clone())
                    })
                    .collect();
                // Who changed what since an approval is shown only beside a stale one, and
                // reading a history loads the whole document: only then is it read.
                let histories = if any_stale {
                    replica.history(&view.id)?
                } else {
                    Vec::new()
                };
                for h in histories {
                    changes_since.push((
                        title_of(&view, kind),
                        Change {
                            at: h.time,
                            org: h.org.unwrap_or_default(),
                        },
                    ));
                }
                docs.push(DocRow {
                    id: view.id.to_string(),
                    title: title_of(&view, kind),
                    kind_label: kind.map_or(kind_name.clone(), |k| k.label.clone()),
                    filled: required.len() - missing.len(),
                    required: required.len(),
                    missing,
                });
            }
        }
    }
    let verdicts = st
        .verdicts
        .iter()
        .map(|v| VerdictRow {
            org: v.org.clone(),
            approve: v.approve,
            reason: v.reason.clone(),
            at: moment(v.at),
            stale: v.stale,
            changed: if v.stale {
                changes_since
                    .iter()
                    .filter(|(_, c)| c.at > v.at)
                    .map(|(doc, c)| format!("{doc}, gewijzigd door {} op {}", c.org, moment(c.at)))
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect();
    let field_label = |kind: &str, field: &str| {
        replica
            .catalog()
            .kind(kind)
            .and_then(|k| k.field(field).map(|f| (k.label.clone(), f.label.clone())))
            .unwrap_or_else(|| (kind.to_string(), field.to_string()))
    };
    let transitions = st
        .transitions
        .iter()
        .map(|t| TransitionRow {
            to: t.to.clone(),
            label: t.label.clone(),
            allowed: t.allowed(),
            reasons: t
                .refusals
                .iter()
                .map(|r| explain(r, &field_label, replica))
                .collect(),
        })
        .collect();
    let me = &replica.identity().profile;
    let joined = st.participants.iter().any(|p| p.org_id == me.org_id);
    let not_joined = kompas_engine::sync::replication::known_members(replica.store())
        .map_err(AppError::internal)?
        .map(|set| {
            set.members()
                .filter(|m| {
                    let org = m.profile.key.org_id();
                    !st.participants.iter().any(|p| p.org_id == org)
                })
                .map(|m| m.profile.name.clone())
                .collect()
        })
        .unwrap_or_default();
    Ok(FlowPage {
        chrome: Chrome::new(opened, session, "werkstromen", &status.title),
        id: id.to_string(),
        title: status.title.clone(),
        definition: status.definition_title.clone(),
        steps,
        phase_title: phase.map_or(st.phase.clone(), |p| p.title.clone()),
        phase_description: phase.map(|p| p.description.clone()).unwrap_or_default(),
        finished: st.finished,
        deadline: st
            .due
            .as_ref()
            .map(|d| moment(d.deadline))
            .unwrap_or_default(),
        urgency: st.due.as_ref().map_or(("", ""), |d| urgency_nl(d.urgency)),
        tasks: phase
            .map(|p| {
                p.tasks
                    .iter()
                    .map(|t| TaskRow {
                        title: t.title.clone(),
                        description: t.description.clone(),
                        questions: t.questions.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        docs,
        new_kinds,
        participants: st
            .participants
            .iter()
            .map(|p| (p.name.clone(), p.role.clone()))
            .collect(),
        not_joined,
        joined,
        roles: def
            .roles
            .iter()
            .map(|r| (r.name.clone(), r.description.clone()))
            .collect(),
        verdicts,
        transitions,
        turn: st
            .turn
            .iter()
            .map(|(org, what)| format!("{org}: {what}"))
            .collect(),
        message: outcome.message,
        refused: outcome.refused,
        reason_error: outcome.reason_error,
        reason_input: outcome.reason_input,
    })
}

/// A change to one of the phase's documents.
struct Change {
    at: kompas_engine::Timestamp,
    org: String,
}

/// A refusal in words, with a link to what it is about.
fn explain(
    refusal: &Refusal,
    field_label: &dyn Fn(&str, &str) -> (String, String),
    replica: &kompas_engine::Replica<kompas_engine::SledStore>,
) -> Reason {
    match refusal {
        Refusal::NoDocument { kind, .. } => {
            let (label, _) = field_label(kind, "");
            Reason {
                text: format!("Er is nog geen document van soort {label}."),
                href: format!("/documenten/nieuw?soort={kind}"),
            }
        }
        Refusal::EmptyField {
            kind, field, doc, ..
        } => {
            let (kind_label, label) = field_label(kind, field);
            let title = replica
                .get(doc)
                .map(|v| title_of(&v, replica.catalog().kind(kind)))
                .unwrap_or_else(|_| doc.to_string());
            Reason {
                text: format!("Het veld “{label}” van {kind_label} “{title}” is nog leeg."),
                href: format!("/documenten/{doc}/bewerken#veld-{field}"),
            }
        }
        Refusal::NoneFilled { fields, .. } => Reason {
            text: format!("{}.", capitalised(&refusal.to_string())),
            href: fields
                .first()
                .and_then(|f| f.split_once('.'))
                .map(|(kind, _)| format!("/documenten?soort={kind}"))
                .unwrap_or_else(|| "#documenten".into()),
        },
        Refusal::ApprovalMissing { orgs } => Reason {
            text: format!("De instemming van {} ontbreekt nog.", orgs.join(", ")),
            href: "#instemming".into(),
        },
        Refusal::Rejected { org, reason } => Reason {
            text: format!("{org} wees de stukken af: {reason}"),
            href: "#instemming".into(),
        },
        Refusal::QuorumShort { have, need } => Reason {
            text: format!("Er zijn {have} van de {need} benodigde instemmingen."),
            href: "#instemming".into(),
        },
        Refusal::NoCoordinator => Reason {
            text: "Er doet nog geen coördinator mee die kan instemmen.".into(),
            href: "#deelnemers".into(),
        },
    }
}

/// The title of phase `name` in the definition flow `id` pinned, or the name itself.
fn phase_title_of(flows: &Flows<'_, kompas_engine::SledStore>, id: &DocId, name: &str) -> String {
    flows
        .status(id, now())
        .ok()
        .and_then(|s| super::guidance::phase_titles(&s.definition).remove(name))
        .unwrap_or_else(|| name.to_string())
}

fn parse_id(id: &str) -> Result<DocId, AppError> {
    DocId::parse(id).map_err(|_| AppError::NotFound(format!("Er is geen werkstroom {id}.")))
}

/// `?gedaan=WHAT`: the action a redirect just did, for the page to confirm.
#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    pub gedaan: String,
}

/// `GET /werkstromen/{id}`.
pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Query(done): Query<DoneQuery>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let id = parse_id(&id)?;
            let message = match done.gedaan.as_str() {
                "instemming" => "Je instemming is vastgelegd.",
                "afwijzing" => "Je afwijzing is vastgelegd.",
                "verder" => "De werkstroom is naar de volgende fase gegaan.",
                "meedoen" => "Je organisatie doet nu mee.",
                _ => "",
            };
            let outcome = Outcome {
                message: message.into(),
                ..Outcome::default()
            };
            render(&flow_page(opened, &session, &id, outcome)?)
        })
        .await
}

#[derive(serde::Deserialize)]
pub struct ActionForm {
    actie: String,
    #[serde(default)]
    reden: String,
    #[serde(default)]
    naar: String,
    #[serde(default)]
    rol: String,
}

/// `POST /werkstromen/{id}`: approve, reject (with a reason), advance or join.
pub async fn act(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    let live = state.clone();
    state
        .with(move |opened| {
            let id = parse_id(&id)?;
            let flows = Flows::new(&opened.replica, &opened.registry);
            let again = |outcome: Outcome, status| {
                let page = flow_page(opened, &session, &id, outcome)?;
                Ok::<_, AppError>((status, render(&page)?).into_response())
            };
            let done = match form.actie.as_str() {
                "instemmen" => flows
                    .verdict(&id, true, "", now(), [random(), random()])
                    .map(|_| "instemming"),
                "afwijzen" => {
                    if form.reden.trim().is_empty() {
                        return again(
                            Outcome {
                                reason_error: "Schrijf waarom je afwijst, zodat de partners weten wat er anders moet.".into(),
                                ..Outcome::default()
                            },
                            StatusCode::UNPROCESSABLE_ENTITY,
                        );
                    }
                    flows
                        .verdict(&id, false, form.reden.trim(), now(), [random(), random()])
                        .map(|_| "afwijzing")
                }
                "verder" => {
                    let to = Some(form.naar.as_str()).filter(|t| !t.is_empty());
                    flows.advance(&id, to, now(), random()).map(|_| "verder")
                }
                "meedoen" => flows.join(&id, &form.rol, now(), random()).map(|_| "meedoen"),
                other => {
                    return Err(AppError::Refused(format!(
                        "Onbekende handeling “{other}”."
                    )));
                }
            };
            match done {
                Ok(what) => {
                    super::saving::announce(&live, opened, &id);
                    Ok(Redirect::to(&format!("/werkstromen/{id}?gedaan={what}")).into_response())
                }
                Err(FlowError::Refused { to, .. }) => again(
                    Outcome {
                        refused: format!(
                            "De stap naar {} kan nog niet. Hieronder staat waarom en waar je het oplost.",
                            phase_title_of(&flows, &id, &to)
                        ),
                        ..Outcome::default()
                    },
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Err(e) if e.is_input_error() => again(
                    Outcome {
                        refused: capitalise(&e.to_string()),
                        reason_input: form.reden.clone(),
                        ..Outcome::default()
                    },
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Err(e) => Err(e.into()),
            }
        })
        .await
}

/// `s` as a sentence: its first letter a capital, a full stop at the end.
pub(super) fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

/// `text` with its first letter a capital, for a sentence on its own.
pub(super) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
