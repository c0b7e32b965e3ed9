//! Publishing a workflow definition file uploaded on the Samenwerking page (coordinators only):
//! the file is checked with the engine's diagnostics, a refusal lists each one with its line,
//! column and message as `kompas workflow check` gives them, and a good file is published the
//! way `kompas workflow publish FILE` does it, by the server's own running sync.

use axum::Extension;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kompas_engine::definition::Diagnostic;

use super::error::AppError;
use super::page::render;
use super::partnership::{partnership_page, publish_loaded, require_coordinator};
use super::state::{AppState, Session};
use super::uploads::{multipart_error, read_limited};
use crate::workflows::check_bytes;

/// The largest definition file accepted; the built-in ones are a few dozen KiB.
pub const DEFINITION_LIMIT: usize = 1024 * 1024;

/// One diagnostic as the page lists it.
pub struct DiagnosticRow {
    /// `line:column`.
    pub at: String,
    pub message: String,
    pub hint: String,
    pub warning: bool,
}

impl From<&Diagnostic> for DiagnosticRow {
    fn from(d: &Diagnostic) -> Self {
        DiagnosticRow {
            at: format!("{}:{}", d.position.line, d.position.column),
            message: d.message.clone(),
            hint: d.hint.clone(),
            warning: !d.is_error(),
        }
    }
}

/// What the upload form shows after a refused file.
#[derive(Default)]
pub struct UploadResult {
    /// The file's name as the browser gave it.
    pub file: String,
    /// What is wrong with the form itself (no file, an empty one).
    pub error: String,
    /// The file's diagnostics, errors first.
    pub diagnostics: Vec<DiagnosticRow>,
}

/// `POST /samenwerking/publiceren-bestand?csrf=...` (multipart: `bestand`): checks the file and
/// publishes it, or shows the page again with what is wrong.
pub async fn publish_file(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    require_coordinator(&state).await?;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, too_large))?
    {
        if field.name() != Some("bestand") {
            continue;
        }
        let name = field
            .file_name()
            .map(base_name)
            .unwrap_or_default()
            .to_string();
        let bytes = read_limited(&mut field, DEFINITION_LIMIT)
            .await
            .map_err(|e| multipart_error(e, too_large))?
            .ok_or_else(too_large)?;
        file = Some((name, bytes));
    }
    let mut result = UploadResult::default();
    match file {
        None => result.error = "Kies een werkwijzebestand (YAML).".into(),
        Some((name, bytes)) if bytes.is_empty() => {
            result.error = format!("Het gekozen bestand {name} is leeg.");
            result.file = name;
        }
        Some((name, bytes)) => {
            let name = if name.is_empty() {
                "werkwijze.yaml".to_string()
            } else {
                name
            };
            let (loaded, mut diagnostics) = check_bytes(&name, bytes);
            if let Some(loaded) = loaded {
                publish_loaded(&state, loaded).await?;
                return Ok(Redirect::to("/samenwerking?gedaan=gepubliceerd").into_response());
            }
            diagnostics.sort_by_key(|d| (!d.is_error(), d.position));
            result.diagnostics = diagnostics.iter().map(DiagnosticRow::from).collect();
            result.file = name;
        }
    }
    state
        .with(move |opened| {
            let mut page = partnership_page(opened, &session, None, String::new(), String::new())?;
            page.upload = result;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        })
        .await
}

/// The last part of a file name a browser sent (some send a whole path).
fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn too_large() -> AppError {
    AppError::TooLarge(format!(
        "Het bestand is groter dan {} MiB; een werkwijze is veel kleiner. Kies het goede bestand.",
        DEFINITION_LIMIT / (1024 * 1024)
    ))
}
