//! The document kinds figures own (indicator, story, area registry, small-number policy) with
//! their fields and rules, for `composition` to put in force.

use std::collections::BTreeMap;

use super::story::{POLICY_KIND, STORY_KIND, STORY_TYPES};
use super::{Direction, INDICATOR_KIND, Indicator, REGISTRY_KIND, Unit, storage, units};
use crate::catalog::{FieldDef, FieldType, KindDef};
use crate::document::{DocView, FieldValue, ValueError};
use crate::kinds::{Changes, Content, Deletion, EditCheck, KindRules, Owned};

/// The kinds figures own and their rules: their fields are in the catalog, only indicators and
/// the area registry hold batches of figures, numbers in an indicator's unit are checked on
/// every edit, and only coordinators set the small-number policy.
pub fn owned() -> Owned {
    let defs = kinds();
    Owned {
        kinds: [INDICATOR_KIND, STORY_KIND, REGISTRY_KIND, POLICY_KIND]
            .into_iter()
            .map(|name| KindRules {
                name,
                fields: defs.iter().find(|k| k.name == name).cloned(),
                content: Content::Catalog,
                deletion: Deletion::CreatorOrCoordinator,
                listed_by_default: true,
                // Stories stand in the report beside the figures; the figures themselves are
                // drawn from the indicators, not listed as documents.
                in_reports: name == STORY_KIND,
                changes: if name == POLICY_KIND {
                    Changes::CountPolicy
                } else {
                    Changes::Anyone
                },
                summary: None,
            })
            .collect(),
        incoming: vec![storage::verify_incoming],
        edits: vec![EditCheck {
            applies: |kind| units::has_unit_rules(&kind.fields),
            check: check_units,
        }],
    }
}

fn check_units(
    kind: &KindDef,
    after: &BTreeMap<String, FieldValue>,
    changed: &dyn Fn(&str) -> bool,
    docs: &[DocView],
) -> Result<(), ValueError> {
    let indicators: Vec<Indicator> = docs
        .iter()
        .filter(|v| v.kind == INDICATOR_KIND)
        .map(Indicator::from_view)
        .collect();
    units::check_units(&kind.fields, after, changed, &indicators)
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
            name: INDICATOR_KIND.into(),
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
                field("eenheid", "Eenheid", choice(&Unit::NAMES), false, ""),
                field(
                    "beter",
                    "Welke richting is beter",
                    choice(&Direction::NAMES),
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
            name: REGISTRY_KIND.into(),
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
