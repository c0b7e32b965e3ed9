//! Stories beside the figures: signals, experiences and personas, linked to an indicator.

use crate::document::{DocView, FieldValue};

/// The document kind of a story.
pub const STORY_KIND: &str = crate::kinds::STORY;
/// The document kind of the workspace's suppression policy.
pub const POLICY_KIND: &str = crate::kinds::COUNT_POLICY;

/// The kinds of story.
pub const STORY_TYPES: [&str; 3] = ["signaal", "ervaring", "persona"];

/// A story as listed beside an indicator.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Story {
    /// The story document.
    pub id: crate::DocId,
    /// `signaal`, `ervaring` or `persona`.
    pub soort: String,
    /// Its title.
    pub titel: String,
    /// The area it is about, if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gebied: Option<String>,
    /// For a persona: how many young people in the area are like this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aantal_jongeren: Option<f64>,
    /// Whether that count is secret under the small-number policy.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub aantal_geheim: bool,
    /// The story itself.
    pub tekst: String,
}

impl Story {
    /// Reads a story from its document, if it is one linked to `indicator`.
    pub fn linked(view: &DocView, indicator: &str) -> Option<Story> {
        let text = |name: &str| match view.fields.get(name) {
            Some(FieldValue::Text(s)) => Some(s.clone()),
            _ => None,
        };
        if view.kind != STORY_KIND || text("indicator").as_deref() != Some(indicator) {
            return None;
        }
        Some(Story {
            id: view.id.clone(),
            soort: text("soort").unwrap_or_default(),
            titel: text("titel").unwrap_or_default(),
            gebied: text("gebied"),
            aantal_jongeren: match view.fields.get("aantal-jongeren") {
                Some(FieldValue::Number(n)) => Some(*n),
                _ => None,
            },
            aantal_geheim: false,
            tekst: text("tekst").unwrap_or_default(),
        })
    }
}
