//! Documents: lists per kind by title, search over titles and texts, a document's page, its
//! generated edit form and saving it (merged from the version the form was shown from), and
//! its history.

use std::collections::BTreeMap;

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kompas_engine::replica::{ConcurrentEdit, MergedSave};
use kompas_engine::{DocId, DocView, FieldType, FieldValue, KindDef, ReplicaError, SledStore};

use super::dates::moment;
use super::error::AppError;
use super::form::{self, FormField, Input, Targets, Widget};
use super::page::{Chrome, render};
use super::saving;
use super::state::{AppState, Session};
use crate::context::Opened;

type Replica = kompas_engine::Replica<SledStore>;

/// The title of a document: its `titel` field, else its first text, else its kind and id.
pub fn title_of(view: &DocView, kind: Option<&KindDef>) -> String {
    if let Some(FieldValue::Text(t)) = view.fields.get("titel")
        && !t.trim().is_empty()
    {
        return t.clone();
    }
    let first_text = kind.and_then(|k| {
        k.fields
            .iter()
            .find_map(|f| match (&f.ty, view.fields.get(&f.name)) {
                (FieldType::Text, Some(FieldValue::Text(t))) if !t.trim().is_empty() => {
                    Some(t.clone())
                }
                _ => None,
            })
    });
    first_text.unwrap_or_else(|| {
        let label = kind.map_or(view.kind.as_str(), |k| k.label.as_str());
        format!("{label} {}", view.id)
    })
}

struct DocRow {
    id: String,
    title: String,
    created: String,
}

struct KindGroup {
    name: String,
    label: String,
    docs: Vec<DocRow>,
}

#[derive(Template)]
#[template(path = "documents.html")]
struct DocumentsPage {
    chrome: Chrome,
    query: String,
    kind: String,
    kinds: Vec<(String, String)>,
    groups: Vec<KindGroup>,
    found: usize,
}

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    soort: String,
}

/// `GET /documenten[?q=...&soort=...]`.
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let catalog = opened.replica.catalog();
            let needle = query.q.trim().to_lowercase();
            let mut groups: BTreeMap<String, KindGroup> = BTreeMap::new();
            let mut found = 0;
            for view in opened.replica.list_shared(None, false)? {
                if !query.soort.is_empty() && view.kind != query.soort {
                    continue;
                }
                let kind = catalog.kind(&view.kind);
                let title = title_of(&view, kind);
                if !needle.is_empty() && !matches_search(&view, &title, &needle) {
                    continue;
                }
                found += 1;
                let group = groups
                    .entry(view.kind.clone())
                    .or_insert_with(|| KindGroup {
                        name: view.kind.clone(),
                        label: kind.map_or(view.kind.clone(), |k| k.label.clone()),
                        docs: Vec::new(),
                    });
                group.docs.push(DocRow {
                    id: view.id.to_string(),
                    title,
                    created: moment(view.created),
                });
            }
            let mut groups: Vec<KindGroup> = groups.into_values().collect();
            for g in &mut groups {
                g.docs.sort_by_key(|d| d.title.to_lowercase());
            }
            groups.sort_by_key(|g| g.label.to_lowercase());
            render(&DocumentsPage {
                chrome: Chrome::new(opened, &session, "documenten", "Documenten"),
                query: query.q.clone(),
                kind: query.soort.clone(),
                kinds: catalog
                    .kinds()
                    .map(|k| (k.name.clone(), k.label.clone()))
                    .collect(),
                groups,
                found,
            })
        })
        .await
}

/// Whether the title or any text of the document contains `needle` (lowercase).
fn matches_search(view: &DocView, title: &str, needle: &str) -> bool {
    title.to_lowercase().contains(needle)
        || view
            .fields
            .values()
            .any(|v| v.to_string().to_lowercase().contains(needle))
}

struct ShownField {
    label: String,
    value: String,
    link: Option<String>,
    long: bool,
}

#[derive(Template)]
#[template(path = "document.html")]
struct DocumentPage {
    chrome: Chrome,
    id: String,
    title: String,
    kind_label: String,
    deleted: bool,
    fields: Vec<ShownField>,
    saved: bool,
    merged: Vec<MergedField>,
    changed_by: String,
}

/// A field both sides changed, as the page shows it after a save.
struct MergedField {
    label: String,
    theirs: String,
    yours: String,
    merged: String,
    both_kept: bool,
}

#[derive(serde::Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    opgeslagen: Option<String>,
}

/// `GET /documenten/{id}`.
pub async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Query(saved): Query<SavedQuery>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let id = parse_id(&id)?;
            let view = opened.replica.get(&id)?;
            render(&document_page(
                opened,
                &session,
                &view,
                saved.opgeslagen.is_some(),
                Vec::new(),
                Vec::new(),
            )?)
        })
        .await
}

fn document_page(
    opened: &Opened,
    session: &Session,
    view: &DocView,
    saved: bool,
    concurrent: Vec<ConcurrentEdit>,
    changed_by: Vec<String>,
) -> Result<DocumentPage, AppError> {
    let replica = &opened.replica;
    let kind = replica.catalog().kind(&view.kind);
    let title = title_of(view, kind);
    let label_of = |name: &str| {
        kind.and_then(|k| k.field(name))
            .map_or(name.to_string(), |f| f.label.clone())
    };
    let mut fields = Vec::new();
    if let Some(kind) = kind {
        for def in &kind.fields {
            let Some(value) = view.fields.get(&def.name) else {
                continue;
            };
            let (text, link) = match (&def.ty, value) {
                (FieldType::Link { .. }, FieldValue::Text(target)) => {
                    let shown = DocId::parse(target)
                        .ok()
                        .and_then(|t| replica.get(&t).ok())
                        .map(|t| title_of(&t, replica.catalog().kind(&t.kind)))
                        .unwrap_or_else(|| target.clone());
                    (shown, Some(format!("/documenten/{target}")))
                }
                (_, v) => (form::shown_as(def, v), None),
            };
            fields.push(ShownField {
                label: def.label.clone(),
                value: text,
                link,
                long: matches!(def.ty, FieldType::LongText),
            });
        }
    }
    let merged = concurrent
        .iter()
        .map(|c| {
            let def = kind.and_then(|k| k.field(&c.field));
            let shown = |v: &Option<FieldValue>| match (def, v) {
                (Some(def), Some(v)) => form::shown_as(def, v),
                (None, Some(v)) => form::shown(v),
                (_, None) => String::new(),
            };
            (c, shown(&c.theirs), shown(&c.yours), shown(&c.merged))
        })
        .map(|(c, theirs, yours, merged)| MergedField {
            label: label_of(&c.field),
            theirs,
            yours,
            merged,
            both_kept: c.merged != c.yours,
        })
        .collect();
    Ok(DocumentPage {
        chrome: Chrome::new(opened, session, "documenten", &title),
        id: view.id.to_string(),
        kind_label: kind.map_or(view.kind.clone(), |k| k.label.clone()),
        title,
        deleted: view.deleted.is_some(),
        fields,
        saved,
        merged,
        changed_by: changed_by.join(", "),
    })
}

fn parse_id(id: &str) -> Result<DocId, AppError> {
    DocId::parse(id).map_err(|_| AppError::NotFound(format!("Er is geen document {id}.")))
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    chrome: Chrome,
    heading: String,
    action: String,
    doc: String,
    kind: String,
    heads: String,
    fields: Vec<FormField>,
    problems: usize,
    notice: String,
}

/// The documents each link field of `kind` may point at, by target kind.
fn targets(replica: &Replica, kind: &KindDef) -> Result<Targets, ReplicaError> {
    let mut out = Targets::new();
    let mut want: Vec<&str> = Vec::new();
    for def in &kind.fields {
        match &def.ty {
            FieldType::Link { kind } => want.push(kind),
            FieldType::List { fields } => want.extend(fields.iter().filter_map(|f| match &f.ty {
                FieldType::Link { kind } => Some(kind.as_str()),
                _ => None,
            })),
            _ => {}
        }
    }
    for target in want {
        if out.contains_key(target) || replica.catalog().kind(target).is_none() {
            continue;
        }
        let target_kind = replica.catalog().kind(target);
        let mut docs: Vec<(String, String)> = replica
            .list(Some(target), false)?
            .iter()
            .map(|v| (v.id.to_string(), title_of(v, target_kind)))
            .collect();
        docs.sort_by_key(|(_, t)| t.to_lowercase());
        out.insert(target.to_string(), docs);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn edit_page(
    opened: &Opened,
    session: &Session,
    kind: &KindDef,
    doc: Option<&DocView>,
    heads: &str,
    input: &Input,
    errors: &BTreeMap<String, String>,
    notice: String,
) -> Result<EditPage, AppError> {
    let targets = targets(&opened.replica, kind)?;
    let (heading, action, doc_id) = match doc {
        Some(view) => (
            format!("{} bewerken", title_of(view, Some(kind))),
            format!("/documenten/{}/bewerken", view.id),
            view.id.to_string(),
        ),
        None => (
            format!("Nieuw document: {}", kind.label),
            "/documenten/nieuw".to_string(),
            String::new(),
        ),
    };
    Ok(EditPage {
        chrome: Chrome::new(opened, session, "documenten", &heading),
        heading,
        action,
        doc: doc_id,
        kind: kind.name.clone(),
        heads: heads.to_string(),
        fields: form::fields(kind, input, errors, &targets),
        problems: errors.len(),
        notice,
    })
}

#[derive(serde::Deserialize)]
pub struct NewQuery {
    soort: String,
}

/// `GET /documenten/nieuw?soort=KIND`: an empty form.
pub async fn new_form(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<NewQuery>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let kind = kind_named(opened, &query.soort)?;
            render(&edit_page(
                opened,
                &session,
                kind,
                None,
                "",
                &Input::new(),
                &BTreeMap::new(),
                String::new(),
            )?)
        })
        .await
}

fn kind_named<'a>(opened: &'a Opened, name: &str) -> Result<&'a KindDef, AppError> {
    opened
        .replica
        .catalog()
        .kind(name)
        .ok_or_else(|| AppError::NotFound(format!("Er is geen documentsoort {name}.")))
}

/// `POST /documenten/nieuw`: creates the document, or shows the form again with the problems.
pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let live = state.clone();
    state
        .with(move |opened| {
            let field = |name: &str| saving::value_of(&pairs, name);
            let kind = kind_named(opened, &field("soort"))?;
            let mut input = form::input_of_form(&pairs);
            let again = |input: &Input, errors: BTreeMap<String, String>, status| {
                let page = edit_page(
                    opened,
                    &session,
                    kind,
                    None,
                    "",
                    input,
                    &errors,
                    String::new(),
                )?;
                Ok::<_, AppError>((status, render(&page)?).into_response())
            };
            if form::row_action(kind, &mut input, &field("actie")) {
                return again(&input, BTreeMap::new(), StatusCode::OK);
            }
            let assignments = match form::assignments(kind, &input) {
                Ok(a) => a,
                Err(errors) => return again(&input, errors, StatusCode::UNPROCESSABLE_ENTITY),
            };
            let filled: Vec<_> = assignments
                .into_iter()
                .filter(|a| !a.value.is_empty())
                .collect();
            let id = match saving::create(opened, &kind.name, &filled) {
                Ok(id) => id,
                Err(e) => {
                    return match form::field_error(&e) {
                        Some((f, m)) => again(
                            &input,
                            BTreeMap::from([(f, m)]),
                            StatusCode::UNPROCESSABLE_ENTITY,
                        ),
                        None => Err(e.into()),
                    };
                }
            };
            saving::announce(&live, opened, &id);
            Ok(Redirect::to(&format!("/documenten/{id}?opgeslagen=1")).into_response())
        })
        .await
}

/// `GET /documenten/{id}/bewerken`: the form, carrying the version it shows.
pub async fn edit_form(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let id = parse_id(&id)?;
            let view = opened.replica.get(&id)?;
            let kind = kind_named(opened, &view.kind)?;
            if view.deleted.is_some() {
                return Err(ReplicaError::Deleted(id).into());
            }
            let input = form::input_of(kind, &view.fields);
            render(&edit_page(
                opened,
                &session,
                kind,
                Some(&view),
                &view.heads.join(","),
                &input,
                &BTreeMap::new(),
                String::new(),
            )?)
        })
        .await
}

/// `POST /documenten/{id}/bewerken`: saves the edits on top of the version the form showed
/// and merges them with what arrived since; bad input shows the form again and changes nothing.
pub async fn save(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let live = state.clone();
    state
        .with(move |opened| {
            let id = parse_id(&id)?;
            let view = opened.replica.get(&id)?;
            let kind = kind_named(opened, &view.kind)?;
            let field = |name: &str| saving::value_of(&pairs, name);
            let heads = field("versie");
            let mut input = form::input_of_form(&pairs);
            let again = |input: &Input, errors: BTreeMap<String, String>, status, notice| {
                let page = edit_page(
                    opened,
                    &session,
                    kind,
                    Some(&view),
                    &heads,
                    input,
                    &errors,
                    notice,
                )?;
                Ok::<_, AppError>((status, render(&page)?).into_response())
            };
            if form::row_action(kind, &mut input, &field("actie")) {
                return again(&input, BTreeMap::new(), StatusCode::OK, String::new());
            }
            let assignments = match form::assignments(kind, &input) {
                Ok(a) => a,
                Err(errors) => {
                    return again(
                        &input,
                        errors,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        String::new(),
                    );
                }
            };
            let saved = match saving::save_from(opened, &id, &heads, &assignments) {
                Ok(saved) => saved,
                Err(e) => {
                    return match form::field_error(&e) {
                        Some((f, m)) => again(
                            &input,
                            BTreeMap::from([(f, m)]),
                            StatusCode::UNPROCESSABLE_ENTITY,
                            String::new(),
                        ),
                        None if matches!(e, ReplicaError::UnknownVersion(_)) => {
                            again(&input, BTreeMap::new(), StatusCode::CONFLICT, e.to_string())
                        }
                        None => Err(e.into()),
                    };
                }
            };
            saving::announce(&live, opened, &id);
            if saved.concurrent.is_empty() {
                return Ok(Redirect::to(&format!("/documenten/{id}?opgeslagen=1")).into_response());
            }
            merged_page(opened, &session, saved)
        })
        .await
}

/// The document's page after a save that merged with what others changed meanwhile: who,
/// and per field their version, yours and what is saved now.
pub fn merged_page(
    opened: &Opened,
    session: &Session,
    saved: MergedSave,
) -> Result<Response, AppError> {
    render(&document_page(
        opened,
        session,
        &saved.view,
        true,
        saved.concurrent,
        saved.changed_by,
    )?)
}

struct HistoryRow {
    time: String,
    org: String,
    action: String,
    changes: Vec<String>,
    words: Vec<WordsRow>,
}

/// The words one change added to and removed from a long text.
struct WordsRow {
    label: String,
    added: Vec<String>,
    removed: Vec<String>,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    chrome: Chrome,
    id: String,
    title: String,
    rows: Vec<HistoryRow>,
}

/// `GET /documenten/{id}/geschiedenis`: every change, newest first, with its organisation.
pub async fn history(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let id = parse_id(&id)?;
            let view = opened.replica.get(&id)?;
            let kind = opened.replica.catalog().kind(&view.kind);
            let title = title_of(&view, kind);
            let label_of = |line: &str| -> String {
                // The engine names fields by their name; people read labels.
                let Some(kind) = kind else {
                    return line.to_string();
                };
                kind.fields
                    .iter()
                    .find_map(|f| {
                        let rest = line.strip_prefix(f.name.as_str())?;
                        // A choice set to an option reads as the option's label.
                        let option = match &f.ty {
                            FieldType::Choice { options } => rest
                                .strip_prefix(" = \"")
                                .and_then(|o| o.strip_suffix('"'))
                                .filter(|o| options.iter().any(|x| x == o)),
                            _ => None,
                        };
                        Some(match option {
                            Some(o) => format!("{} = {}", f.label, FieldType::option_shown(o)),
                            None => format!("{}{rest}", f.label),
                        })
                    })
                    .unwrap_or_else(|| line.to_string())
            };
            let mut rows: Vec<HistoryRow> = opened
                .replica
                .history(&id)?
                .into_iter()
                .map(|h| {
                    // A long text's line counts characters; the words say more.
                    let in_words = |line: &&String| {
                        h.words
                            .iter()
                            .any(|w| line.starts_with(&format!("{}: ", w.field)))
                    };
                    HistoryRow {
                        time: moment(h.time),
                        org: h.org.unwrap_or_else(|| "onbekende organisatie".into()),
                        action: h.action.unwrap_or_default(),
                        changes: h
                            .changes
                            .iter()
                            .filter(|c| !in_words(c))
                            .map(|c| label_of(c))
                            .collect(),
                        words: h
                            .words
                            .iter()
                            .map(|w| WordsRow {
                                label: label_of(&w.field),
                                added: w.added.clone(),
                                removed: w.removed.clone(),
                            })
                            .collect(),
                    }
                })
                .collect();
            rows.reverse();
            render(&HistoryPage {
                chrome: Chrome::new(
                    opened,
                    &session,
                    "documenten",
                    &format!("Geschiedenis van {title}"),
                ),
                id: id.to_string(),
                title,
                rows,
            })
        })
        .await
}
