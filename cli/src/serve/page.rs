//! What every page shares: the organisation's name and the samenwerking served in the header,
//! the active section of the menu and the session's CSRF token for its forms; and how a
//! rendered template is answered.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use kompas_engine::sync::replication::known_members;

use super::error::AppError;
use super::state::Session;
use crate::context::Opened;

/// The parts of the page around its content.
pub struct Chrome {
    /// The page title.
    pub title: String,
    /// The organisation using the app.
    pub org: String,
    /// The samenwerking every page is about (a data directory may have several; the app serves
    /// the one `kompas serve --samenwerking` chose), once the organisation is in one.
    pub samenwerking: Option<String>,
    /// The active section of the menu.
    pub section: &'static str,
    /// The CSRF token the page's forms carry.
    pub csrf: String,
}

impl Chrome {
    /// The chrome of a page in `section` titled `title`.
    pub fn new(opened: &Opened, session: &Session, section: &'static str, title: &str) -> Chrome {
        Chrome {
            title: title.to_string(),
            org: opened.replica.identity().profile.name.clone(),
            samenwerking: known_members(opened.replica.store())
                .ok()
                .flatten()
                .map(|set| set.name().to_string()),
            section,
            csrf: session.csrf.clone(),
        }
    }

    /// The menu, each entry with whether it is the active one.
    pub fn menu(&self) -> Vec<(&'static str, &'static str, bool)> {
        [
            ("/", "Overzicht", "overzicht"),
            ("/werkstromen", "Werkstromen", "werkstromen"),
            ("/documenten", "Documenten", "documenten"),
            ("/gesprekken", "Gesprekken", "gesprekken"),
            ("/verbeteracties", "Verbeteracties", "verbeteracties"),
            ("/samenwerking", "Samenwerking", "samenwerking"),
            ("/cijfers", "Cijfers", "cijfers"),
            ("/rapport", "Rapport", "rapport"),
        ]
        .into_iter()
        .map(|(href, label, section)| (href, label, section == self.section))
        .collect()
    }
}

/// Renders a page template into a response.
pub fn render(page: &impl Template) -> Result<Response, AppError> {
    Ok(Html(page.render()?).into_response())
}
