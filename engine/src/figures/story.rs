//! Stories beside the figures: signals, experiences and personas, linked to an indicator, and the
//! document kinds figures use.

use crate::catalog::{FieldDef, FieldType, KindDef};
use crate::document::{DocView, FieldValue};

/// The document kind of a story.
pub const STORY_KIND: &str = "verhaal";
/// The document kind of the workspace's suppression policy.
pub const POLICY_KIND: &str = "cijferbeleid";

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

/// The document kinds of figures: indicator, story, area registry and suppression policy.
pub fn kinds() -> Vec<KindDef> {
    let field = |name: &str, label: &str, ty: FieldType, required: bool, help: &str| FieldDef {
        name: name.into(),
        label: label.into(),
        ty,
        required,
        help: help.into(),
        actions: None,
        unit_of: None,
    };
    let choice = |options: &[&str]| FieldType::Choice {
        options: options.iter().map(|s| s.to_string()).collect(),
    };
    vec![
        KindDef {
            action: None,
            name: super::INDICATOR_KIND.into(),
            label: "Indicator".into(),
            description:
                "Een cijfer dat de partners volgen, met zijn waarnemingen per gebied en periode."
                    .into(),
            fields: vec![
                field(
                    "naam",
                    "Korte naam",
                    FieldType::Text,
                    true,
                    "bijvoorbeeld jeugdhulp-jongeren",
                ),
                field("titel", "Titel", FieldType::Text, false, ""),
                field(
                    "definitie",
                    "Definitie",
                    FieldType::LongText,
                    false,
                    "wat telt mee, en van wie",
                ),
                field("eenheid", "Eenheid", choice(&super::Unit::NAMES), false, ""),
                field(
                    "beter",
                    "Welke richting is beter",
                    choice(&super::Direction::NAMES),
                    false,
                    "",
                ),
                field(
                    "bron",
                    "Bron",
                    FieldType::Text,
                    false,
                    "bijvoorbeeld een tabelnummer van CBS StatLine",
                ),
            ],
        },
        KindDef {
            action: None,
            name: STORY_KIND.into(),
            label: "Verhaal".into(),
            description: "Een signaal, ervaring of persona dat naast de cijfers hoort.".into(),
            fields: vec![
                field("soort", "Soort verhaal", choice(&STORY_TYPES), true, ""),
                field("titel", "Titel", FieldType::Text, true, ""),
                field(
                    "tekst",
                    "Verhaal",
                    FieldType::LongText,
                    false,
                    "zonder namen, geboortedata of andere gegevens van echte personen",
                ),
                field(
                    "indicator",
                    "Hoort bij indicator",
                    FieldType::Figure,
                    false,
                    "",
                ),
                field(
                    "gebied",
                    "Gebied",
                    FieldType::Text,
                    false,
                    "gebiedscode, bijvoorbeeld GM0363",
                ),
                field(
                    "aantal-jongeren",
                    "Aantal jongeren zoals deze persona",
                    FieldType::Count,
                    false,
                    "",
                ),
            ],
        },
        KindDef {
            action: None,
            name: super::REGISTRY_KIND.into(),
            label: "Gebiedsindeling".into(),
            description: "Namen, regio's en grootteklassen van gebieden.".into(),
            fields: vec![field("naam", "Naam", FieldType::Text, false, "")],
        },
        KindDef {
            action: None,
            name: POLICY_KIND.into(),
            label: "Beleid voor kleine aantallen".into(),
            description: "Hoe cijfers worden beschermd voordat ze worden gedeeld of getoond."
                .into(),
            fields: vec![
                field(
                    "drempel",
                    "Aantallen tot en met deze waarde zijn geheim",
                    FieldType::Number,
                    false,
                    "",
                ),
                field(
                    "afronden",
                    "Aantallen afronden op een veelvoud van",
                    FieldType::Number,
                    false,
                    "",
                ),
                field(
                    "secundair",
                    "Secundaire onderdrukking",
                    choice(&["ja", "nee"]),
                    false,
                    "",
                ),
            ],
        },
    ]
}
