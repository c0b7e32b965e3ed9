//! Verbeteracties: every improvement action with its owner, deadline and status, and the three
//! levels it is followed on (carried out? what did the action yield? is the situation better?),
//! sorted by deadline, with overdue ones marked. Editing goes through the document form.

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use kompas_engine::sync::replication::known_members;
use kompas_engine::{DocView, FieldType, FieldValue};

use super::dates::{day, today};
use super::documents::title_of;
use super::error::AppError;
use super::page::{Chrome, render};
use super::state::{AppState, Session};
use crate::context::now;

/// The kind of an improvement action.
pub const KIND: &str = "verbeteractie";
/// Days before its deadline an action that is not done counts as due soon.
const SOON_DAYS: i32 = 14;
/// The longest excerpt of a text the list shows.
const EXCERPT: usize = 160;

/// One action as the list shows it.
struct ActionRow {
    id: String,
    title: String,
    owner: String,
    deadline: String,
    status: String,
    carried_out: String,
    result: String,
    improved: String,
    /// Where the deadline stands: label and style class, empty when it does not matter.
    urgency: (&'static str, &'static str),
}

#[derive(Template)]
#[template(path = "actions.html")]
struct ActionsPage {
    chrome: Chrome,
    actions: Vec<ActionRow>,
    overdue: usize,
    known_kind: bool,
}

/// `GET /verbeteracties`.
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let replica = &opened.replica;
            let kind = replica.catalog().kind(KIND);
            let members = known_members(replica.store())
                .map_err(AppError::internal)?
                .map(|set| {
                    set.members()
                        .map(|m| (m.profile.key.org_id(), m.profile.name.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let today = today(now());
            let mut rows: Vec<(Option<jiff::civil::Date>, ActionRow)> = replica
                .list(Some(KIND), false)?
                .iter()
                .map(|view| {
                    let deadline =
                        text(view, "deadline").and_then(|d| d.parse::<jiff::civil::Date>().ok());
                    let owner = text(view, "eigenaar").map(|o| {
                        // An owner may be named by organisation id; people read names.
                        members
                            .iter()
                            .find(|(id, _)| *id == o)
                            .map_or(o.clone(), |(_, name)| name.clone())
                    });
                    let row = ActionRow {
                        id: view.id.to_string(),
                        title: title_of(view, kind),
                        owner: owner.unwrap_or_else(|| "nog niemand".into()),
                        deadline: text(view, "deadline").map(|d| day(&d)).unwrap_or_default(),
                        status: FieldType::option_shown(
                            &text(view, "status").unwrap_or_else(|| "gepland".into()),
                        ),
                        carried_out: option_of(view, "uitgevoerd"),
                        result: text(view, "resultaat-actie")
                            .map(|r| excerpt(&r))
                            .unwrap_or_default(),
                        improved: option_of(view, "situatie-verbeterd"),
                        urgency: urgency(view, deadline, today),
                    };
                    (deadline, row)
                })
                .collect();
            // By deadline, those without one last; then by title.
            rows.sort_by(|(a, ra), (b, rb)| {
                (a.is_none(), a, ra.title.to_lowercase()).cmp(&(
                    b.is_none(),
                    b,
                    rb.title.to_lowercase(),
                ))
            });
            let actions: Vec<ActionRow> = rows.into_iter().map(|(_, r)| r).collect();
            render(&ActionsPage {
                chrome: Chrome::new(opened, &session, "verbeteracties", "Verbeteracties"),
                overdue: actions.iter().filter(|a| a.urgency.1 == "te-laat").count(),
                actions,
                known_kind: kind.is_some(),
            })
        })
        .await
}

/// A field's value as text, if it is filled.
fn text(view: &DocView, field: &str) -> Option<String> {
    match view.fields.get(field)? {
        FieldValue::Text(t) if t.trim().is_empty() => None,
        value => Some(value.to_string()),
    }
}

/// A choice field's option by its label, or nothing when it is not chosen.
fn option_of(view: &DocView, field: &str) -> String {
    text(view, field)
        .map(|o| FieldType::option_shown(&o))
        .unwrap_or_default()
}

/// Whether an action that is not finished is past its deadline or close to it.
fn urgency(
    view: &DocView,
    deadline: Option<jiff::civil::Date>,
    today: Option<jiff::civil::Date>,
) -> (&'static str, &'static str) {
    let finished = matches!(
        text(view, "status").as_deref(),
        Some("uitgevoerd" | "gestopt")
    ) || text(view, "uitgevoerd").as_deref() == Some("ja");
    let (Some(deadline), Some(today), false) = (deadline, today, finished) else {
        return ("", "");
    };
    if deadline < today {
        ("te laat", "te-laat")
    } else if today
        .checked_add(jiff::Span::new().days(SOON_DAYS))
        .is_ok_and(|soon| deadline <= soon)
    {
        ("binnenkort", "binnenkort")
    } else {
        ("", "")
    }
}

/// The start of a long text, cut at a word.
fn excerpt(text: &str) -> String {
    if text.chars().count() <= EXCERPT {
        return text.to_string();
    }
    let cut: String = text.chars().take(EXCERPT).collect();
    let at = cut.rfind(' ').unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end())
}
