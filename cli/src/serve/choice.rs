//! `POST /samenwerking/kiezen`: the header's choice of the samenwerking the pages are about,
//! when the data directory has several. The choice is kept in the session (on the server), so
//! every page, form and link stays as it is; the guard checks the session and the CSRF token
//! before this runs, like for every other form.

use axum::extract::{Form, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::AppError;
use super::page::MENU;
use super::security::session_id;
use super::state::AppState;

/// The choice form: the samenwerking's store number and the page to go back to.
#[derive(serde::Deserialize)]
pub struct ChoiceForm {
    #[serde(default)]
    samenwerking: Option<String>,
    #[serde(default)]
    terug: Option<String>,
}

/// Remembers the chosen samenwerking for this session and goes back to the section's start.
pub async fn choose(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ChoiceForm>,
) -> Result<Response, AppError> {
    let given = form.samenwerking.unwrap_or_default();
    let store: u32 = given.trim().parse().map_err(|_| {
        AppError::Refused(format!(
            "Het veld “samenwerking” moet een samenwerking uit de keuzelijst noemen, niet “{}”.",
            given.trim()
        ))
    })?;
    let served = state.served();
    if !served.iter().any(|s| s.store == store) {
        let names: Vec<&str> = served.iter().map(|s| s.name.as_str()).collect();
        return Err(AppError::NotFound(format!(
            "Deze kompas-map heeft geen samenwerking nummer {store}; wel: {}.",
            names.join(", ")
        )));
    }
    // The guard let the request in with this session, so it is there.
    let id = session_id(&state, &headers).ok_or(AppError::NoSession)?;
    state.choose(&id, store);
    // Back to the start of a section only, where every samenwerking has something to show.
    let back = form
        .terug
        .as_deref()
        .and_then(|wanted| MENU.into_iter().find(|(start, ..)| *start == wanted))
        .map(|(start, ..)| start)
        .unwrap_or("/");
    Ok(Redirect::to(back).into_response())
}
