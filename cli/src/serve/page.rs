//! What every page shares: the organisation's name and the samenwerking it is about in the
//! header (with the choice of another when the data directory has several), the active
//! section of the menu and the session's CSRF token for its forms; and how a rendered template
//! is answered.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use kompas_engine::sync::replication::known_members;

use super::error::AppError;
use super::state::Session;
use crate::context::Opened;

/// The menu: each section's start, its label and its name.
pub const MENU: [(&str, &str, &str); 8] = [
    ("/", "Overzicht", "overzicht"),
    ("/werkstromen", "Werkstromen", "werkstromen"),
    ("/documenten", "Documenten", "documenten"),
    ("/gesprekken", "Gesprekken", "gesprekken"),
    ("/verbeteracties", "Verbeteracties", "verbeteracties"),
    ("/samenwerking", "Samenwerking", "samenwerking"),
    ("/cijfers", "Cijfers", "cijfers"),
    ("/rapport", "Rapport", "rapport"),
];

/// The parts of the page around its content.
pub struct Chrome {
    /// The page title.
    pub title: String,
    /// The organisation using the app.
    pub org: String,
    /// The samenwerking every page is about (a data directory may have several; the session
    /// chooses which), once the organisation is in one.
    pub samenwerking: Option<String>,
    /// The samenwerkingen the header offers to choose from, each with whether it is the one
    /// shown (empty when there is only one).
    pub choices: Vec<Choice>,
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
            choices: session
                .offered
                .iter()
                .map(|served| Choice {
                    store: served.store,
                    name: served.name.clone(),
                    current: session.chosen == Some(served.store),
                })
                .collect(),
            section,
            csrf: session.csrf.clone(),
        }
    }

    /// Where the header's choice of a samenwerking leads back to: the start of this section,
    /// since a document of one samenwerking is not in another.
    pub fn section_start(&self) -> &'static str {
        self.menu()
            .into_iter()
            .find(|(_, _, active)| *active)
            .map_or("/", |(href, _, _)| href)
    }

    /// The menu, each entry with whether it is the active one.
    pub fn menu(&self) -> Vec<(&'static str, &'static str, bool)> {
        MENU.into_iter()
            .map(|(href, label, section)| (href, label, section == self.section))
            .collect()
    }
}

/// A samenwerking the header offers.
pub struct Choice {
    /// The number of its store, which the choice form sends.
    pub store: u32,
    /// Its name.
    pub name: String,
    /// Whether the page is about this one.
    pub current: bool,
}

/// Renders a page template into a response.
pub fn render(page: &impl Template) -> Result<Response, AppError> {
    Ok(Html(page.render()?).into_response())
}
