//! Rapport: for every round of the Kwaliteitskompas its report as HTML and as PDF, the minutes
//! of every conversation about figures, and the partnership's calendar as an .ics file.
//!
//! Every output is offered as a download: the files are made for people who do not use
//! kompas (mailed, printed, imported into a calendar), and the HTML report carries its own
//! style sheet, which the web app's strict content policy would not apply inside the app.

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kompas_engine::DocId;
use kompas_engine::report;
use kompas_engine::runtime::Flows;

use super::documents::title_of;
use super::error::AppError;
use super::overview::FlowRow;
use super::page::{Chrome, render};
use super::state::{AppState, Session};
use crate::commands::{agenda, rapport};
use crate::context::{Opened, now};
use crate::render::html::{self, MinutesHeader};
use crate::render::{pdf, view};

/// The routes of the page and its downloads.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rapport", get(page))
        .route("/rapport/agenda.ics", get(calendar))
        .route("/rapport/ronde/{id}/{file}", get(round))
        .route("/rapport/gesprek/{id}", get(minutes))
}

struct ConversationRow {
    id: String,
    title: String,
    next: String,
}

#[derive(Template)]
#[template(path = "rapport.html")]
struct RapportPage {
    chrome: Chrome,
    rounds: Vec<FlowRow>,
    conversations: Vec<ConversationRow>,
}

/// `GET /rapport`.
async fn page(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let all = Flows::new(&opened.replica, &opened.registry).list(now())?;
            let mut rounds: Vec<_> = all
                .iter()
                .filter(|s| s.definition.name == rapport::ROUND_DEFINITION)
                .collect();
            rounds.sort_by_key(|s| std::cmp::Reverse(s.created));
            let catalog = opened.replica.catalog();
            let conversations = opened
                .replica
                .list(Some(report::CONVERSATION_KIND), false)?
                .into_iter()
                .map(|d| ConversationRow {
                    id: d.id.to_string(),
                    title: title_of(&d, catalog.kind(&d.kind)),
                    next: d
                        .fields
                        .get("volgend-overleg")
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                })
                .collect();
            render(&RapportPage {
                chrome: Chrome::new(opened, &session, "rapport", "Rapport"),
                rounds: rounds.into_iter().map(FlowRow::of).collect(),
                conversations,
            })
        })
        .await
}

fn parse_id(id: &str) -> Result<DocId, AppError> {
    DocId::parse(id).map_err(|_| AppError::NotFound(format!("Er is geen document {id}.")))
}

fn refused(e: impl Into<anyhow::Error>) -> AppError {
    match e.into().downcast::<kompas_engine::ReplicaError>() {
        Ok(r) => r.into(),
        Err(e) => AppError::Refused(e.to_string()),
    }
}

/// A file to save, under `name`.
fn download(bytes: Vec<u8>, mime: &'static str, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /rapport/ronde/{id}/rapport.html` and `.../rapport.pdf`.
async fn round(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let round = parse_id(&id)?;
            let pdf = match file.as_str() {
                "rapport.html" => false,
                "rapport.pdf" => true,
                _ => return Err(AppError::NotFound("Dit rapport bestaat niet.".into())),
            };
            let made = rapport::make(opened, &round, &Default::default()).map_err(refused)?;
            // A file name without spaces: the date as digits.
            let name = format!(
                "rapport-{}.{}",
                made.made
                    .local_date()
                    .map_or_else(|| made.made.millis().to_string(), |d| d.to_string()),
                if pdf { "pdf" } else { "html" }
            );
            if pdf {
                let bytes = pdf::round(&made).map_err(AppError::internal)?;
                Ok(download(bytes, "application/pdf", &name))
            } else {
                let page = html::round(&made).map_err(AppError::internal)?;
                report::check_output("rapport", &page)
                    .map_err(|e| AppError::Refused(e.to_string()))?;
                Ok(download(
                    page.into_bytes(),
                    "text/html; charset=utf-8",
                    &name,
                ))
            }
        })
        .await
}

/// `GET /rapport/gesprek/{id}`: the minutes as a self-contained HTML file.
async fn minutes(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    state
        .with(move |opened: &Opened| {
            let id = parse_id(&id)?;
            opened.replica.get(&id)?;
            let conversation = report::conversation(&opened.replica, &id).map_err(refused)?;
            let header = MinutesHeader {
                partnership: rapport::partnership(opened).map_err(AppError::internal)?,
                made: view::moment(now()),
                made_by: opened.replica.identity().profile.name.clone(),
            };
            let text = html::minutes(&conversation, &header, true).map_err(AppError::internal)?;
            report::check_output("verslag", &text).map_err(|e| AppError::Refused(e.to_string()))?;
            Ok(download(
                text.into_bytes(),
                "text/html; charset=utf-8",
                "verslag.html",
            ))
        })
        .await
}

/// `GET /rapport/agenda.ics`.
async fn calendar(State(state): State<AppState>) -> Result<Response, AppError> {
    state
        .with(move |opened| {
            let (_, text) = agenda::calendar(opened, now()).map_err(refused)?;
            Ok(download(
                text.into_bytes(),
                "text/calendar; charset=utf-8",
                "kompas.ics",
            ))
        })
        .await
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};

    use super::super::tests::{Fixture, get, text};

    #[tokio::test]
    async fn the_report_page_offers_the_round_minutes_and_calendar_as_downloads() {
        let f = Fixture::new().await;
        let started = f
            .post(
                "/werkstromen/nieuw",
                &[("werkwijze", "kwaliteitskompas"), ("titel", "Cyclus 2027")],
            )
            .await;
        assert_eq!(started.status(), StatusCode::SEE_OTHER);
        let round = started.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .trim_start_matches("/werkstromen/")
            .to_string();
        let saved = f
            .post(
                "/documenten/nieuw",
                &[
                    ("soort", "cijfergesprek"),
                    ("veld.titel", "Sport in Havenstad"),
                    ("veld.doel", "Begrijpen waarom sportdeelname achterblijft."),
                    ("veld.volgend-overleg", "2027-03-15"),
                    ("actie", "opslaan"),
                ],
            )
            .await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
        let talk = saved.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .trim_start_matches("/documenten/")
            .trim_end_matches("?opgeslagen=1")
            .to_string();

        let (status, html) = f.page("/rapport").await;
        assert_eq!(status, StatusCode::OK);
        for link in [
            format!("/rapport/ronde/{round}/rapport.html"),
            format!("/rapport/ronde/{round}/rapport.pdf"),
            format!("/rapport/gesprek/{talk}"),
            "/rapport/agenda.ics".to_string(),
        ] {
            assert!(html.contains(&link), "the page links {link}: {html}");
        }
        assert!(html.contains("Cyclus 2027") && html.contains("Sport in Havenstad"));
        assert!(
            html.contains("aria-current=\"page\""),
            "the menu marks Rapport"
        );

        let fetch = |path: String| {
            let cookie = f.cookie.clone();
            let f = &f;
            async move {
                let mut request = get(&path);
                request
                    .headers_mut()
                    .insert(header::COOKIE, cookie.parse().unwrap());
                f.send(request).await
            }
        };
        let html = fetch(format!("/rapport/ronde/{round}/rapport.html")).await;
        assert_eq!(html.status(), StatusCode::OK);
        assert!(
            html.headers()[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename=\"rapport-")
        );
        let body = text(html).await;
        assert!(body.contains("Cyclus 2027") && body.contains("Colofon"));

        let pdf = fetch(format!("/rapport/ronde/{round}/rapport.pdf")).await;
        assert_eq!(pdf.status(), StatusCode::OK);
        assert_eq!(pdf.headers()[header::CONTENT_TYPE], "application/pdf");
        let bytes = http_body_util::BodyExt::collect(pdf.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert!(bytes.starts_with(b"%PDF-"));

        let minutes = fetch(format!("/rapport/gesprek/{talk}")).await;
        assert_eq!(minutes.status(), StatusCode::OK);
        assert!(
            text(minutes)
                .await
                .contains("Begrijpen waarom sportdeelname achterblijft.")
        );

        let ics = fetch("/rapport/agenda.ics".into()).await;
        assert_eq!(ics.status(), StatusCode::OK);
        assert!(
            ics.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/calendar")
        );
        let calendar = text(ics).await;
        assert!(calendar.starts_with("BEGIN:VCALENDAR") && calendar.contains("2027"));
        assert!(
            calendar.contains("Volgend gesprek over cijfers"),
            "{calendar}"
        );

        let unknown = fetch(format!("/rapport/ronde/{round}/rapport.docx")).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        let (status, _) = f.page("/rapport/gesprek/onbekend").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
