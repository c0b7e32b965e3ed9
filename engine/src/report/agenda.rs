//! The partnership's calendar as data: action deadlines, agreed dates, next meetings, planned
//! moments and phase deadlines, each with a stable id so a calendar that imports the export
//! again updates its events instead of adding them twice.

use crate::document::{DocView, FieldValue, parse_date};
use crate::runtime::Status;
use crate::time::Timestamp;

use super::build::{ACTION_KIND, CONVERSATION_KIND, EVALUATION_KIND, text};

/// When an agenda item takes place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    /// A whole day (YYYY-MM-DD).
    Day(String),
    /// A moment.
    At(Timestamp),
}

/// One calendar entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AgendaItem {
    /// A stable id, the same in every export and on every replica.
    pub uid: String,
    /// The title (Dutch).
    pub title: String,
    /// More about it (Dutch).
    pub description: String,
    /// When.
    pub when: When,
}

/// The domain part of every uid.
const UID_DOMAIN: &str = "kompas.samenwerking";

/// Every agenda item of the running instances and of the documents, by date.
pub fn agenda(statuses: &[Status], documents: &[DocView]) -> Vec<AgendaItem> {
    let mut out = Vec::new();
    for s in statuses.iter().filter(|s| !s.state.finished) {
        if let Some(due) = &s.state.due {
            out.push(AgendaItem {
                uid: format!("fase-{}-{}@{UID_DOMAIN}", s.id, s.state.step),
                title: format!("Deadline fase {}: {}", s.state.phase, s.title),
                description: format!(
                    "De fase {} van {} ({}) moet dan klaar zijn.",
                    s.state.phase, s.title, s.definition_title
                ),
                when: When::At(due.deadline),
            });
        }
        for sch in &s.state.schedules {
            if let Some(next) = sch.next {
                out.push(AgendaItem {
                    uid: format!("planning-{}-{}@{UID_DOMAIN}", s.id, sch.name),
                    title: format!("{} ({})", sch.title, s.title),
                    description: format!("Gepland moment van {}.", s.definition_title),
                    when: When::At(next),
                });
            }
        }
    }
    for v in documents.iter().filter(|v| v.deleted.is_none()) {
        let day = |f: &str| text(v, f).and_then(|d| parse_date(&d));
        match v.kind.as_str() {
            ACTION_KIND => {
                if let Some(d) = day("deadline") {
                    out.push(AgendaItem {
                        uid: format!("verbeteractie-{}@{UID_DOMAIN}", v.id),
                        title: format!(
                            "Verbeteractie klaar: {}",
                            text(v, "actie").unwrap_or_default()
                        ),
                        description: format!(
                            "Eigenaar: {}.",
                            text(v, "eigenaar").unwrap_or_else(|| "onbekend".into())
                        ),
                        when: When::Day(d),
                    });
                }
            }
            EVALUATION_KIND => {
                for (i, item) in list(v, "verbeteracties").iter().enumerate() {
                    let Some(d) = item_day(item, "deadline") else {
                        continue;
                    };
                    out.push(AgendaItem {
                        uid: format!("evaluatie-{}-actie-{i}@{UID_DOMAIN}", v.id),
                        title: format!("Verbeteractie klaar: {}", item_text(item, "actie")),
                        description: format!("Eigenaar: {}.", item_text(item, "eigenaar")),
                        when: When::Day(d),
                    });
                }
            }
            CONVERSATION_KIND => {
                let title = text(v, "titel").unwrap_or_default();
                if let Some(d) = day("volgend-overleg") {
                    let topic = text(v, "volgend-onderwerp").unwrap_or_default();
                    out.push(AgendaItem {
                        uid: format!("gesprek-{}-volgende@{UID_DOMAIN}", v.id),
                        title: format!("Volgend gesprek over cijfers: {title}"),
                        description: if topic.is_empty() {
                            "Vervolg van het gesprek over cijfers.".into()
                        } else {
                            format!("Onderwerp: {topic}.")
                        },
                        when: When::Day(d),
                    });
                }
                for (i, item) in list(v, "afspraken").iter().enumerate() {
                    let Some(d) = item_day(item, "wanneer") else {
                        continue;
                    };
                    out.push(AgendaItem {
                        uid: format!("gesprek-{}-afspraak-{i}@{UID_DOMAIN}", v.id),
                        title: format!(
                            "Afspraak: {} ({})",
                            item_text(item, "wat"),
                            item_text(item, "wie")
                        ),
                        description: format!("Afgesproken in het gesprek over cijfers {title}."),
                        when: When::Day(d),
                    });
                }
            }
            _ => {}
        }
    }
    out.sort_by_key(sort_key);
    out
}

fn sort_key(item: &AgendaItem) -> (String, String) {
    let when = match &item.when {
        When::Day(d) => d.clone(),
        When::At(t) => t.to_string(),
    };
    (when, item.uid.clone())
}

type Item = std::collections::BTreeMap<String, FieldValue>;

fn list(v: &DocView, field: &str) -> Vec<Item> {
    match v.fields.get(field) {
        Some(FieldValue::List(items)) => items.clone(),
        _ => Vec::new(),
    }
}

fn item_text(item: &Item, field: &str) -> String {
    item.get(field).map(ToString::to_string).unwrap_or_default()
}

fn item_day(item: &Item, field: &str) -> Option<String> {
    parse_date(&item_text(item, field))
}
