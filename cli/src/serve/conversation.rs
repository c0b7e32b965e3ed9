//! Het gesprek over cijfers: a conversation document (`cijfergesprek`) as a guided page, one
//! step at a time through the phases of the `gesprek-over-cijfers` definition, each step with
//! its questions and a form holding only that step's fields; the interpretation step asks the
//! four questions (recognise, explain, value, improve). Saving is the documents' merged save.
//!
//! Which fields belong to which step is not in the definition (its phases name kinds, not
//! fields), so [`STEP_FIELDS`] says it for the built-in kind; fields it does not name appear
//! in the last step, so nothing of a changed kind is out of reach.

use std::collections::BTreeMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kompas_engine::definition::Phase;
use kompas_engine::runtime::Flows;
use kompas_engine::{DocId, DocView, FieldValue, KindDef, ReplicaError};

use super::documents::{merged_page, title_of};
use super::error::AppError;
use super::flows::capitalised;
use super::form::{self, FormField, Input, Targets, Widget};
use super::page::{Chrome, render};
use super::saving;
use super::state::{AppState, Session};
use crate::context::{Opened, now};

/// The conversation's document kind.
pub const KIND: &str = "cijfergesprek";
/// The definition whose phases are the conversation's steps.
pub const DEFINITION: &str = "gesprek-over-cijfers";

/// The fields of each step (phase) of the conversation.
const STEP_FIELDS: &[(&str, &[&str])] = &[
    (
        "doel",
        &[
            "titel",
            "aanleiding",
            "doel",
            "verwachtingen",
            "opbrengst",
            "kwaliteit-los-van-geld",
        ],
    ),
    (
        "deelnemers",
        &[
            "datum",
            "plaats",
            "aanwezigen",
            "praktijkkennis",
            "datakennis",
            "mandaat",
        ],
    ),
    ("cijfers", &["cijfers"]),
    (
        "gespreksvoering",
        &["gespreksvoering", "perspectief-jongere"],
    ),
    (
        "duiding",
        &["herkennen", "verklaren", "waarderen", "verbeteren", "trots"],
    ),
    (
        "volgende-stappen",
        &[
            "waar-stonden-we",
            "waar-staan-we",
            "afspraken",
            "volgend-overleg",
            "volgend-onderwerp",
        ],
    ),
    ("evaluatie", &["terugblik"]),
];

/// One step of the conversation.
struct Step {
    name: String,
    title: String,
    /// All fields this step needs to move on are filled.
    complete: bool,
    /// The step the page shows.
    current: bool,
    /// The phase the conversation's flow is in.
    flow_phase: bool,
}

/// A conversation as the list shows it.
struct ConversationRow {
    id: String,
    title: String,
    date: String,
    done: usize,
    steps: usize,
}

#[derive(Template)]
#[template(path = "conversations.html")]
struct ConversationsPage {
    chrome: Chrome,
    conversations: Vec<ConversationRow>,
    known_kind: bool,
    title: String,
    error: String,
}

#[derive(Template)]
#[template(path = "conversation.html")]
struct ConversationPage {
    chrome: Chrome,
    id: String,
    title: String,
    steps: Vec<Step>,
    step: String,
    step_title: String,
    step_description: String,
    task_titles: Vec<String>,
    questions: Vec<String>,
    next: Option<(String, String)>,
    heads: String,
    fields: Vec<FormField>,
    problems: usize,
    saved: bool,
    flows: Vec<(String, String, String)>,
}

/// The conversation's steps: the definition's phases that are not final.
fn phases(opened: &Opened) -> Vec<Phase> {
    opened
        .registry
        .latest(DEFINITION)
        .map(|l| {
            l.definition
                .phases
                .iter()
                .filter(|p| !p.is_final)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The fields of step `step` of `kind`: those [`STEP_FIELDS`] names, and in the last step every
/// field no step names.
fn step_kind(kind: &KindDef, step: &str, last: bool) -> KindDef {
    let named = |f: &str| STEP_FIELDS.iter().any(|(_, fields)| fields.contains(&f));
    let mine: &[&str] = STEP_FIELDS
        .iter()
        .find(|(s, _)| *s == step)
        .map_or(&[], |(_, f)| f);
    KindDef {
        fields: kind
            .fields
            .iter()
            .filter(|f| mine.contains(&f.name.as_str()) || (last && !named(&f.name)))
            .cloned()
            .collect(),
        ..kind.clone()
    }
}

/// Whether every field a phase's ways out need is filled in `view`.
fn complete(phase: &Phase, view: &DocView) -> bool {
    let needed: Vec<&str> = phase
        .transitions
        .iter()
        .flat_map(|t| t.guard.fields.iter())
        .filter(|(k, _)| k == KIND)
        .map(|(_, f)| f.as_str())
        .collect();
    let filled = |f: &str| match view.fields.get(f) {
        None => false,
        Some(FieldValue::Text(t)) => !t.trim().is_empty(),
        Some(FieldValue::List(items)) => !items.is_empty(),
        Some(_) => true,
    };
    if needed.is_empty() {
        // A step without conditions counts as done once any of its fields is filled.
        return STEP_FIELDS
            .iter()
            .find(|(s, _)| *s == phase.name)
            .is_some_and(|(_, fields)| fields.iter().any(|f| filled(f)));
    }
    needed.into_iter().all(filled)
}

fn conversation_kind(opened: &Opened) -> Result<&KindDef, AppError> {
    opened.replica.catalog().kind(KIND).ok_or_else(|| {
        AppError::NotFound("De werkwijze voor het gesprek over cijfers is hier niet bekend.".into())
    })
}

fn conversations_page(
    opened: &Opened,
    session: &Session,
    title: String,
    error: String,
) -> Result<ConversationsPage, AppError> {
    let kind = opened.replica.catalog().kind(KIND);
    let steps = phases(opened);
    let mut conversations: Vec<ConversationRow> = opened
        .replica
        .list(Some(KIND), false)?
        .iter()
        .map(|view| ConversationRow {
            id: view.id.to_string(),
            title: title_of(view, kind),
            date: match view.fields.get("datum") {
                Some(FieldValue::Text(d)) => super::dates::day(d),
                _ => String::new(),
            },
            done: steps.iter().filter(|p| complete(p, view)).count(),
            steps: steps.len(),
        })
        .collect();
    conversations.sort_by_key(|c| c.title.to_lowercase());
    Ok(ConversationsPage {
        chrome: Chrome::new(opened, session, "gesprekken", "Gesprekken over cijfers"),
        conversations,
        known_kind: kind.is_some(),
        title,
        error,
    })
}

/// `GET /gesprekken`.
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            render(&conversations_page(
                opened,
                &session,
                String::new(),
                String::new(),
            )?)
        })
        .await
}

#[derive(serde::Deserialize)]
pub struct NewForm {
    #[serde(default)]
    titel: String,
}

/// `POST /gesprekken/nieuw`: a new conversation with its title, opened at its first step.
pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<NewForm>,
) -> Result<Response, AppError> {
    let live = state.clone();
    state
        .with(move |opened| {
            let kind = conversation_kind(opened)?;
            let title = form.titel.trim();
            if title.is_empty() {
                let page = conversations_page(
                    opened,
                    &session,
                    String::new(),
                    "Geef het gesprek een titel, bijvoorbeeld “Schoolverzuim voorjaar 2027”."
                        .into(),
                )?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
            }
            let assignment = kompas_engine::document::Assignment {
                field: "titel".into(),
                value: title.to_string(),
            };
            let id = match saving::create(opened, &kind.name, std::slice::from_ref(&assignment)) {
                Ok(id) => id,
                Err(e) => {
                    let Some((_, message)) = form::field_error(&e) else {
                        return Err(e.into());
                    };
                    let page = conversations_page(opened, &session, form.titel.clone(), message)?;
                    return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
                }
            };
            saving::announce(&live, opened, &id);
            Ok(Redirect::to(&format!("/gesprekken/{id}")).into_response())
        })
        .await
}

#[derive(serde::Deserialize, Default)]
pub struct StepQuery {
    #[serde(default)]
    stap: String,
    #[serde(default)]
    opgeslagen: Option<String>,
}

/// What a step page shows besides the document: the input, its problems, a save just done.
struct Shown<'a> {
    input: Option<&'a Input>,
    errors: &'a BTreeMap<String, String>,
    heads: Option<&'a str>,
    saved: bool,
}

fn step_page(
    opened: &Opened,
    session: &Session,
    view: &DocView,
    step: &str,
    shown: Shown<'_>,
) -> Result<ConversationPage, AppError> {
    let kind = conversation_kind(opened)?;
    let all = phases(opened);
    let index = all
        .iter()
        .position(|p| p.name == step)
        .or(if step.is_empty() { Some(0) } else { None })
        .ok_or_else(|| AppError::NotFound(format!("Het gesprek heeft geen stap {step}.")))?;
    let phase = &all[index];
    let sub = step_kind(kind, &phase.name, index + 1 == all.len());
    let stored;
    let input = match shown.input {
        Some(input) => input,
        None => {
            stored = form::input_of(&sub, &view.fields);
            &stored
        }
    };
    let fields = form::fields(&sub, input, shown.errors, &Targets::new())
        .into_iter()
        .map(|f| with_question(f, phase))
        .collect();
    // The flows of this definition that work on this conversation, with their phase.
    let flows = Flows::new(&opened.replica, &opened.registry);
    let mut flow_rows = Vec::new();
    let mut flow_phase = None;
    for status in flows.list(now())? {
        if status.definition.name == DEFINITION
            && status
                .guidance
                .documents
                .iter()
                .any(|d| d.id.as_ref() == Some(&view.id))
        {
            flow_phase.get_or_insert_with(|| status.state.phase.clone());
            flow_rows.push((
                status.id.to_string(),
                status.title.clone(),
                status.state.phase_title.clone(),
            ));
        }
    }
    let title = title_of(view, Some(kind));
    Ok(ConversationPage {
        chrome: Chrome::new(opened, session, "gesprekken", &title),
        id: view.id.to_string(),
        steps: all
            .iter()
            .map(|p| Step {
                name: p.name.clone(),
                title: p.title.clone(),
                complete: complete(p, view),
                current: p.name == phase.name,
                flow_phase: flow_phase.as_deref() == Some(p.name.as_str()),
            })
            .collect(),
        title,
        step: phase.name.clone(),
        step_title: phase.title.clone(),
        step_description: phase.description.clone(),
        task_titles: phase.tasks.iter().map(|t| t.title.clone()).collect(),
        questions: phase
            .tasks
            .iter()
            .flat_map(|t| t.questions.iter())
            .cloned()
            .collect(),
        next: all
            .get(index + 1)
            .map(|p| (p.name.clone(), p.title.clone())),
        heads: shown
            .heads
            .map_or_else(|| view.heads.join(","), str::to_string),
        fields,
        problems: shown.errors.len(),
        saved: shown.saved,
        flows: flow_rows,
    })
}

/// A question of the form "Herkennen: ..." belongs to the field `herkennen`.
fn question_for<'a>(field: &str, phase: &'a Phase) -> Option<&'a str> {
    phase
        .tasks
        .iter()
        .flat_map(|t| t.questions.iter())
        .find_map(|q| {
            let (head, rest) = q.split_once(':')?;
            head.trim()
                .eq_ignore_ascii_case(field)
                .then_some(rest.trim())
        })
}

/// A field whose question the phase asks gets that question as its help text.
fn with_question(mut field: FormField, phase: &Phase) -> FormField {
    if let Some(question) = question_for(&field.field, phase) {
        let question = capitalised(question);
        field.help = if field.help.is_empty() {
            question
        } else {
            format!("{question} {}", field.help)
        };
    }
    field
}

fn parse_id(id: &str) -> Result<DocId, AppError> {
    DocId::parse(id).map_err(|_| AppError::NotFound(format!("Er is geen gesprek {id}.")))
}

fn conversation(opened: &Opened, id: &str) -> Result<DocView, AppError> {
    let view = opened.replica.get(&parse_id(id)?)?;
    if view.kind != KIND {
        return Err(AppError::NotFound(format!(
            "{id} is geen gesprek over cijfers."
        )));
    }
    Ok(view)
}

/// `GET /gesprekken/{id}[?stap=NAME]`.
pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Query(query): Query<StepQuery>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let view = conversation(opened, &id)?;
            let shown = Shown {
                input: None,
                errors: &BTreeMap::new(),
                heads: None,
                saved: query.opgeslagen.is_some(),
            };
            render(&step_page(opened, &session, &view, &query.stap, shown)?)
        })
        .await
}

/// `POST /gesprekken/{id}?stap=NAME`: saves the step's fields on top of the version the form
/// showed, merged with what arrived since; bad input shows the step again and changes nothing.
pub async fn save(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Query(query): Query<StepQuery>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let live = state.clone();
    state
        .with(move |opened| {
            let view = conversation(opened, &id)?;
            let kind = conversation_kind(opened)?;
            let all = phases(opened);
            let index = all
                .iter()
                .position(|p| p.name == query.stap)
                .ok_or_else(|| {
                    AppError::NotFound(format!("Het gesprek heeft geen stap {}.", query.stap))
                })?;
            let sub = step_kind(kind, &all[index].name, index + 1 == all.len());
            let field = |name: &str| saving::value_of(&pairs, name);
            let heads = field("versie");
            let mut input = form::input_of_form(&pairs);
            let again = |input: &Input, errors: BTreeMap<String, String>, status| {
                let shown = Shown {
                    input: Some(input),
                    errors: &errors,
                    heads: Some(&heads),
                    saved: false,
                };
                let page = step_page(opened, &session, &view, &query.stap, shown)?;
                Ok::<_, AppError>((status, render(&page)?).into_response())
            };
            let action = field("actie");
            if form::row_action(&sub, &mut input, &action) {
                return again(&input, BTreeMap::new(), StatusCode::OK);
            }
            let assignments = match form::assignments(&sub, &input) {
                Ok(a) => a,
                Err(errors) => return again(&input, errors, StatusCode::UNPROCESSABLE_ENTITY),
            };
            let saved = match saving::save_from(opened, &view.id, &heads, &assignments) {
                Ok(saved) => saved,
                Err(e) => {
                    return match form::field_error(&e) {
                        Some((f, m)) => again(
                            &input,
                            BTreeMap::from([(f, m)]),
                            StatusCode::UNPROCESSABLE_ENTITY,
                        ),
                        None if matches!(e, ReplicaError::UnknownVersion(_)) => {
                            Err(AppError::Refused(
                                "Deze versie van het gesprek is hier niet bekend. Open de stap opnieuw en vul je antwoord nog eens in."
                                    .into(),
                            ))
                        }
                        None => Err(e.into()),
                    };
                }
            };
            saving::announce(&live, opened, &view.id);
            if !saved.concurrent.is_empty() {
                return merged_page(opened, &session, saved);
            }
            let to = match (action.as_str(), all.get(index + 1)) {
                ("verder", Some(next)) => &next.name,
                _ => &all[index].name,
            };
            Ok(
                Redirect::to(&format!("/gesprekken/{}?stap={to}&opgeslagen=1", view.id))
                    .into_response(),
            )
        })
        .await
}
