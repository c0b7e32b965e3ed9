//! Importing figures from an uploaded CSV file: the upload form, a preview of the columns and
//! of what would be imported (the machinery of `kompas figures import --proef`), a choice of
//! columns where the file is ambiguous, the bad rows with their row and column, and storing
//! only when the person confirms. The file waits on the server under a token (`uploads.rs`).

use askama::Template;
use axum::Extension;
use axum::extract::{Form, Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kompas_engine::SledStore;
use kompas_engine::figures::Period;
use kompas_engine::figures::import::{ColumnMapping, ImportError, ImportOptions, open_csv};
use kompas_engine::figures::storage::{Figures, FiguresError, IndicatorFields};

use super::error::AppError;
use super::page::{Chrome, render};
use super::state::{AppState, LiveEvent, Session};
use super::uploads::{FILE_LIMIT, Upload, multipart_error, read_limited};
use crate::commands::figures::format::thousands;
use crate::commands::figures::import::{Report, Target, import_from, options_for};

/// The value of the `waarde` choice that imports every value column as its own indicator.
const ALL_VALUES: &str = "*alle*";
/// The longest indicator name accepted.
const NAME_LIMIT: usize = 60;
/// The longest title kept.
const TITLE_LIMIT: usize = 200;

fn limited_title(title: &str) -> String {
    title.trim().chars().take(TITLE_LIMIT).collect()
}

#[derive(Template)]
#[template(path = "figures_upload.html")]
struct UploadPage {
    chrome: Chrome,
    indicator: String,
    title: String,
    known: Vec<String>,
    indicator_error: String,
    file_error: String,
    limit: String,
}

#[derive(serde::Deserialize, Default)]
pub struct UploadQuery {
    #[serde(default)]
    indicator: String,
}

/// `GET /inlezen[?indicator=NAME]`: the upload form.
pub async fn form(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<UploadQuery>,
) -> Result<Response, AppError> {
    let names = (query.indicator, String::new());
    upload_page(&state, session, names, String::new(), String::new()).await
}

async fn upload_page(
    state: &AppState,
    session: Session,
    (indicator, title): (String, String),
    indicator_error: String,
    file_error: String,
) -> Result<Response, AppError> {
    let refused = !indicator_error.is_empty() || !file_error.is_empty();
    let page = state
        .with(move |opened| {
            let known = Figures::new(&opened.replica)
                .indicators()?
                .into_iter()
                .map(|i| i.name)
                .collect();
            render(&UploadPage {
                chrome: Chrome::new(opened, &session, "cijfers", "Cijfers inlezen"),
                indicator,
                title,
                known,
                indicator_error,
                file_error,
                limit: limit_nl(),
            })
        })
        .await?;
    Ok(if refused {
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    } else {
        page
    })
}

fn limit_nl() -> String {
    format!("{} MB", FILE_LIMIT / (1024 * 1024))
}

/// Why an indicator name cannot be used, if it cannot.
fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("Vul de naam van de indicator in.".into());
    }
    if name.chars().count() > NAME_LIMIT
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some(format!(
            "Een naam bestaat uit kleine letters, cijfers en streepjes, hoogstens {NAME_LIMIT} tekens, bijvoorbeeld jeugdhulp-jongeren."
        ));
    }
    None
}

/// Which columns the person chose; empty means: let kompas find it.
#[derive(serde::Deserialize, Default, Clone)]
pub struct Choice {
    #[serde(default)]
    gebied: String,
    #[serde(default)]
    periode: String,
    #[serde(default)]
    waarde: String,
    #[serde(default)]
    noemer: String,
}

impl Choice {
    fn apply(&self, options: &mut ImportOptions) {
        let given = |s: &str| (!s.is_empty()).then(|| s.to_string());
        if self.waarde == ALL_VALUES {
            options.all_values = true;
        } else {
            options.value = given(&self.waarde);
        }
        let mapping = ColumnMapping {
            gebied: given(&self.gebied),
            periode: given(&self.periode),
            noemer: given(&self.noemer),
            ..ColumnMapping::default()
        };
        if mapping != ColumnMapping::default() {
            options.mapping = Some(mapping);
        }
    }
}

struct TableView {
    indicator: String,
    source: String,
    unit: String,
    denominator: String,
    observations: String,
    areas: usize,
    periods: String,
    exists: bool,
}

struct BadRow {
    row: u64,
    column: String,
    problem: String,
}

/// What the preview shows of a file that can be read.
struct ReportView {
    rows_read: String,
    observations: String,
    without_value: String,
    columns: Vec<(String, String)>,
    ignored: String,
    warnings: Vec<String>,
    tables: Vec<TableView>,
    bad_rows: Vec<BadRow>,
}

#[derive(Template)]
#[template(path = "figures_preview.html")]
struct PreviewPage {
    chrome: Chrome,
    token: String,
    file: String,
    indicator: String,
    /// The title a new indicator gets (empty: the column's).
    title: String,
    titles: Vec<String>,
    choice: Choice,
    all_values: &'static str,
    /// Why the file cannot be imported as it is (the engine's words).
    problem: String,
    /// Whether choosing other columns can help with `problem`.
    choose: bool,
    report: Option<ReportView>,
    skip_error: String,
}

impl PreviewPage {
    fn chosen(&self, role: &str, title: &str) -> bool {
        let c = &self.choice;
        let value = match role {
            "gebied" => &c.gebied,
            "periode" => &c.periode,
            "waarde" => &c.waarde,
            _ => &c.noemer,
        };
        value == title
    }
}

/// The options for importing `upload` into `indicator` with `choice`.
fn options(
    figures: &Figures<'_, SledStore>,
    indicator: &str,
    choice: &Choice,
    skip_bad_rows: bool,
) -> Result<ImportOptions, FiguresError> {
    let mut options = ImportOptions {
        skip_bad_rows,
        ..options_for(figures, indicator, None)?
    };
    choice.apply(&mut options);
    Ok(options)
}

fn report_view(figures: &Figures<'_, SledStore>, r: Report) -> ReportView {
    let label = |code: &str| Period::parse(code).map_or_else(|_| code.to_string(), |p| p.label());
    ReportView {
        rows_read: thousands(r.rows_read),
        observations: thousands(r.observations as u64),
        without_value: thousands(r.without_value),
        columns: r.columns.into_iter().map(|c| (c.column, c.role)).collect(),
        ignored: r.ignored_columns.join(", "),
        warnings: r.warnings,
        tables: r
            .indicators
            .into_iter()
            .map(|t| TableView {
                exists: figures.indicator(&t.indicator).is_ok(),
                indicator: t.indicator,
                source: t.source,
                unit: match (t.converted_from, t.unit) {
                    (Some(from), Some(to)) => format!("{from} omgerekend naar {to}"),
                    (_, unit) => unit.unwrap_or("").to_string(),
                },
                denominator: t.denominator.unwrap_or_default(),
                observations: thousands(t.observations as u64),
                areas: t.areas,
                periods: t.periods.map_or_else(String::new, |(a, b)| {
                    if a == b {
                        label(&a)
                    } else {
                        format!("{} tot en met {}", label(&a), label(&b))
                    }
                }),
            })
            .collect(),
        bad_rows: r
            .bad_rows
            .into_iter()
            .map(|e| BadRow {
                row: e.row,
                column: e.column.unwrap_or_default(),
                problem: e.problem,
            })
            .collect(),
    }
}

/// Builds the preview of `upload`: a try-out import that lists the bad rows instead of
/// refusing the file, so the person sees all of them at once.
fn preview(
    figures: &Figures<'_, SledStore>,
    chrome: Chrome,
    token: String,
    upload: &Upload,
    (indicator, title): (String, String),
    choice: Choice,
) -> Result<(StatusCode, PreviewPage), AppError> {
    let titles = open_csv(upload.bytes.as_slice())
        .map(|(_, titles)| titles.iter().map(|t| t.trim().to_string()).collect())
        .unwrap_or_default();
    let target = Target {
        name: &indicator,
        fields: &IndicatorFields::default(),
        dry_run: true,
    };
    let options = options(figures, &indicator, &choice, true)?;
    let tried = import_from(
        figures,
        upload.bytes.as_slice(),
        &options,
        &target,
        &mut |_| {},
    );
    let (status, problem, choose, report) = match tried {
        Ok(report) => (
            StatusCode::OK,
            String::new(),
            false,
            Some(report_view(figures, report)),
        ),
        Err(e) => {
            let (problem, choose) = match e.downcast_ref::<ImportError>() {
                Some(ImportError::Choice(columns)) => (
                    format!(
                        "Meer dan een kolom kan de waarde zijn: {}. Kies hieronder de kolom met de waarde, of maak een indicator per kolom.",
                        columns.join(", ")
                    ),
                    true,
                ),
                Some(e @ (ImportError::Header(_) | ImportError::Mapping(_))) => {
                    (format!("{e}. Kies hieronder welke kolom wat is."), true)
                }
                Some(e) => (format!("{e}."), false),
                None => return Err(import_failure(e)),
            };
            (StatusCode::UNPROCESSABLE_ENTITY, problem, choose, None)
        }
    };
    Ok((
        status,
        PreviewPage {
            chrome,
            token,
            file: upload.name.clone(),
            indicator,
            title,
            titles,
            choice,
            all_values: ALL_VALUES,
            problem,
            choose,
            report,
            skip_error: String::new(),
        },
    ))
}

/// A failure of an import that is not about the file.
fn import_failure(e: anyhow::Error) -> AppError {
    match e.downcast::<FiguresError>() {
        Ok(e) => e.into(),
        Err(e) => AppError::internal(e),
    }
}

/// `POST /inlezen?csrf=...` (multipart: `indicator`, `bestand`): keeps the file and shows its
/// preview. Nothing is stored in the data directory.
pub async fn upload(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let mut indicator = String::new();
    let mut title = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut too_large = false;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, too_large_error))?
    {
        match field.name().unwrap_or_default() {
            "indicator" => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| multipart_error(e, too_large_error))?;
                indicator = text.trim().chars().take(NAME_LIMIT + 1).collect();
            }
            "titel" => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| multipart_error(e, too_large_error))?;
                title = limited_title(&text);
            }
            "bestand" => {
                let name = field.file_name().unwrap_or_default().to_string();
                match read_limited(&mut field, FILE_LIMIT)
                    .await
                    .map_err(|e| multipart_error(e, too_large_error))?
                {
                    Some(bytes) => file = Some((name, bytes)),
                    None => too_large = true,
                }
            }
            _ => {}
        }
    }
    if too_large {
        return Err(too_large_error());
    }
    let indicator_error = name_problem(&indicator).unwrap_or_default();
    let file_error = match &file {
        None => "Kies een CSV-bestand.".to_string(),
        Some((_, bytes)) if bytes.is_empty() => "Het gekozen bestand is leeg.".to_string(),
        Some(_) => String::new(),
    };
    let Some((name, bytes)) = file.filter(|_| indicator_error.is_empty() && file_error.is_empty())
    else {
        let names = (indicator, title);
        return upload_page(&state, session, names, indicator_error, file_error).await;
    };
    let token = state.uploads().keep(&session.csrf, name, bytes);
    show_preview(
        &state,
        session,
        token,
        (indicator, title),
        Choice::default(),
    )
    .await
}

fn too_large_error() -> AppError {
    AppError::TooLarge(format!(
        "Het bestand is groter dan {}. Lees het in met `kompas figures import BESTAND --indicator NAAM`, of splits het in kleinere bestanden.",
        limit_nl()
    ))
}

fn kept(state: &AppState, session: &Session, token: &str) -> Result<Upload, AppError> {
    state.uploads().get(&session.csrf, token).ok_or_else(|| {
        AppError::NotFound(
            "Het bestand is niet meer bewaard: het wacht een half uur op je bevestiging. Lees het opnieuw in."
                .into(),
        )
    })
}

async fn show_preview(
    state: &AppState,
    session: Session,
    token: String,
    names: (String, String),
    choice: Choice,
) -> Result<Response, AppError> {
    let upload = kept(state, &session, &token)?;
    state
        .with(move |opened| {
            let figures = Figures::new(&opened.replica);
            let chrome = Chrome::new(opened, &session, "cijfers", "Voorbeeld van het inlezen");
            let (status, page) = preview(&figures, chrome, token, &upload, names, choice)?;
            Ok((status, render(&page)?).into_response())
        })
        .await
}

/// The fields of the preview's forms.
#[derive(serde::Deserialize)]
pub struct PreviewForm {
    token: String,
    indicator: String,
    #[serde(default)]
    titel: String,
    #[serde(flatten)]
    choice: Choice,
    #[serde(default)]
    overslaan: String,
}

/// `POST /inlezen/voorbeeld`: the preview again, with other columns chosen.
pub async fn again(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<PreviewForm>,
) -> Result<Response, AppError> {
    if let Some(problem) = name_problem(&form.indicator) {
        return Err(AppError::Refused(problem));
    }
    let names = (form.indicator, limited_title(&form.titel));
    show_preview(&state, session, form.token, names, form.choice).await
}

/// `POST /inlezen/bevestigen`: imports the kept file as previewed. With bad rows, only when
/// the person ticked that they are skipped; otherwise the preview comes back with the
/// question at that box, and nothing is stored.
pub async fn confirm(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Form(form): Form<PreviewForm>,
) -> Result<Response, AppError> {
    if let Some(problem) = name_problem(&form.indicator) {
        return Err(AppError::Refused(problem));
    }
    let upload = kept(&state, &session, &form.token)?;
    let token = form.token.clone();
    let done = state
        .with(move |opened| {
            let figures = Figures::new(&opened.replica);
            let skip = form.overslaan == "ja";
            let options = options(&figures, &form.indicator, &form.choice, skip)?;
            let title = limited_title(&form.titel);
            let fields = IndicatorFields {
                title: (!title.is_empty()).then(|| title.clone()),
                ..IndicatorFields::default()
            };
            let target = Target {
                name: &form.indicator,
                fields: &fields,
                dry_run: false,
            };
            match import_from(
                &figures,
                upload.bytes.as_slice(),
                &options,
                &target,
                &mut |_| {},
            ) {
                Ok(report) => {
                    let name = opened.replica.identity().profile.name.clone();
                    Ok(Ok((report, name)))
                }
                Err(e) if matches!(e.downcast_ref(), Some(ImportError::BadRows(_))) => {
                    let chrome =
                        Chrome::new(opened, &session, "cijfers", "Voorbeeld van het inlezen");
                    let (_, mut page) = preview(
                        &figures,
                        chrome,
                        form.token,
                        &upload,
                        (form.indicator, title),
                        form.choice,
                    )?;
                    page.skip_error = "Er zijn foute rijen. Vink aan dat ze worden overgeslagen, of verbeter het bestand en lees het opnieuw in.".into();
                    Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response()))
                }
                Err(e) => match e.downcast::<ImportError>() {
                    Ok(e) => Err(AppError::Refused(format!("Niets ingelezen: {e}."))),
                    Err(e) => Err(import_failure(e)),
                },
            }
        })
        .await?;
    let (report, name) = match done {
        Ok(done) => done,
        Err(refused) => return Ok(refused),
    };
    state.uploads().forget(&token);
    state.changed(LiveEvent {
        store: state.chosen_store(),
        doc: None,
        org: name,
    });
    Ok(match report.indicators.as_slice() {
        [one] => Redirect::to(&format!(
            "/cijfers/{}?ingelezen={}",
            one.indicator, report.observations
        )),
        _ => Redirect::to("/cijfers"),
    }
    .into_response())
}

#[cfg(test)]
#[path = "figures_import_tests.rs"]
mod tests;
