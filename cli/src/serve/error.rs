//! Errors as pages: every failure becomes a Dutch message that says what to do, with the right
//! HTTP status. Internal details go to the server's log, never to the page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use kompas_engine::ReplicaError;
use kompas_engine::runtime::FlowError;

/// Why a request failed, as the person using the app should hear it.
#[derive(Debug)]
pub enum AppError {
    /// What was asked for does not exist.
    NotFound(String),
    /// The input was refused; the message says why.
    Refused(String),
    /// The request is not allowed (wrong host or origin, bad form token).
    Forbidden(String),
    /// No session: log in first.
    NoSession,
    /// Another kompas command has the data directory for too long.
    Busy,
    /// Something went wrong inside; the details are in the log.
    Internal,
}

impl AppError {
    /// An unexpected failure: logged in full, shown as a plain message.
    pub fn internal(err: impl Into<anyhow::Error>) -> AppError {
        eprintln!("kompas serve: {:#}", err.into());
        AppError::Internal
    }

    fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NoSession => StatusCode::UNAUTHORIZED,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> (&'static str, String) {
        match self {
            AppError::NotFound(what) => ("Niet gevonden", what.clone()),
            AppError::Refused(why) => ("Niet opgeslagen", why.clone()),
            AppError::Forbidden(why) => ("Niet toegestaan", why.clone()),
            AppError::NoSession => (
                "Eerst inloggen",
                "Open de link met de inlogcode die `kompas serve` liet zien, of vul de code in op de inlogpagina.".into(),
            ),
            AppError::Busy => (
                "Even geduld",
                "Een ander kompas-commando gebruikt de gegevens op dit moment. Probeer het over een paar seconden opnieuw.".into(),
            ),
            AppError::Internal => (
                "Er ging iets mis",
                "Er ging iets mis in kompas. Probeer het opnieuw; lukt het niet, kijk dan in het venster waarin `kompas serve` draait.".into(),
            ),
        }
    }
}

impl From<ReplicaError> for AppError {
    fn from(e: ReplicaError) -> Self {
        match e {
            ReplicaError::NotFound(id) => AppError::NotFound(format!("Er is geen document {id}.")),
            e if e.is_input_error() => AppError::Refused(e.to_string()),
            e => AppError::internal(e),
        }
    }
}

impl From<FlowError> for AppError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Replica(r) => r.into(),
            FlowError::UnknownInstance(id) => {
                AppError::NotFound(format!("Er is geen werkstroom {id}."))
            }
            e if e.is_input_error() => AppError::Refused(e.to_string()),
            e => AppError::internal(e),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::internal(anyhow::anyhow!("pagina opbouwen mislukt: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    status: u16,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (title, message) = self.message();
        let page = ErrorPage {
            title,
            message: &message,
            status: status.as_u16(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        }
    }
}
