//! The shapes CBS delivers tables in, recognised without a mapping: which columns could hold the
//! value, in which unit, and which one is the population the others are a part of.
//!
//! * A StatLine download titles its topics with their unit: `Jongeren met jeugdhulp (aantal)`,
//!   `Jongeren met jeugdhulp (%)`, `Jeugdhulptrajecten per 1 000 jongeren`.
//! * An OData TypedDataSet names them by key: `JongerenMetJeugdhulp_1`; the table's metadata
//!   (its `DataProperties`) gives their titles and units when it is supplied.
//! * An OData v4 `Observations` set has one row per value, with a `Measure` column naming the
//!   topic and the number in `Value` (see [`ObservationsShape`]).

use std::collections::HashMap;

use super::ImportError;
use crate::figures::Unit;

/// A topic of a table, from its metadata: title and unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// The title, such as `Jongeren met jeugdhulp`.
    pub title: String,
    /// The unit as CBS writes it, such as `aantal` or `%`.
    pub unit: String,
}

/// The metadata of a CBS table: its topics by key (from the OData `DataProperties`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableMetadata {
    /// Topics by key, such as `JongerenMetJeugdhulp_1`.
    pub topics: HashMap<String, Topic>,
}

impl TableMetadata {
    /// Reads `DataProperties` JSON as the OData feed gives it: `{"value": [...]}` or a bare list
    /// of `{"Key", "Title", "Unit", "Type"}` objects. Only topics are kept.
    pub fn from_json(text: &str) -> Result<TableMetadata, ImportError> {
        let bad =
            |problem: String| ImportError::Mapping(format!("metadata van de tabel: {problem}"));
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let list = match &json {
            serde_json::Value::Array(list) => list,
            serde_json::Value::Object(map) => match map.get("value") {
                Some(serde_json::Value::Array(list)) => list,
                _ => return Err(bad("verwacht een lijst onder \"value\"".into())),
            },
            _ => return Err(bad("verwacht een lijst van eigenschappen".into())),
        };
        let mut topics = HashMap::new();
        for item in list {
            let text = |name: &str| item.get(name).and_then(|v| v.as_str()).unwrap_or("");
            if text("Type") == "Topic" && !text("Key").is_empty() {
                topics.insert(
                    text("Key").to_string(),
                    Topic {
                        title: text("Title").trim().to_string(),
                        unit: text("Unit").trim().to_string(),
                    },
                );
            }
        }
        Ok(TableMetadata { topics })
    }
}

/// A column that could hold the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueColumn {
    /// Its position.
    pub index: usize,
    /// Its title as in the file.
    pub column: String,
    /// A title for people: the StatLine title without its unit, or the metadata's title.
    pub title: String,
    /// The unit, when the shape tells it.
    pub unit: Option<Unit>,
}

/// The columns of an OData v4 `Observations` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservationsShape {
    /// The `Measure` column: which topic a row holds.
    pub measure: usize,
    /// The `ValueAttribute` column: `None`, or why there is no value (`Confidential`, ...).
    pub attribute: Option<usize>,
}

/// Finds the `Observations` shape: a `Measure` and a `Value` column. Returns the shape and the
/// position of `Value`.
pub fn observations_shape(normals: &[String]) -> Option<(ObservationsShape, usize)> {
    let at = |name: &str| normals.iter().position(|n| n == name);
    Some((
        ObservationsShape {
            measure: at("measure")?,
            attribute: at("valueattribute"),
        },
        at("value")?,
    ))
}

/// The unit a StatLine title announces, and the title without it.
fn statline_unit(title: &str) -> Option<(String, Unit)> {
    let t = title.trim();
    let lower = t.to_lowercase();
    for (suffix, unit) in [("(aantal)", Unit::Count), ("(%)", Unit::Percentage)] {
        if let Some(stem) = lower.strip_suffix(suffix) {
            return Some((t[..stem.trim_end().len()].to_string(), unit));
        }
    }
    let per_thousand = ["per 1 000", "per 1000", "per 1.000", "per 1\u{a0}000"];
    per_thousand
        .iter()
        .any(|p| lower.contains(p))
        .then(|| (t.to_string(), Unit::PerThousand))
}

/// The unit of a topic as CBS metadata writes it.
fn metadata_unit(unit: &str) -> Option<Unit> {
    let u = unit.trim().to_lowercase();
    if u == "aantal" || u == "x 1 000" {
        // `x 1 000` counts are counts too, but in thousands: not a count of people as written.
        return (u == "aantal").then_some(Unit::Count);
    }
    if u == "%" || u == "procent" {
        return Some(Unit::Percentage);
    }
    (u.starts_with("per 1 000") || u.starts_with("per 1000")).then_some(Unit::PerThousand)
}

/// Whether a title is an OData key: letters and digits, then `_` and a number.
fn is_odata_key(title: &str) -> bool {
    let t = title.trim();
    match t.rsplit_once('_') {
        Some((stem, n)) => {
            !stem.is_empty()
                && stem.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && stem.chars().all(|c| c.is_ascii_alphanumeric())
                && !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// `JongerenTot18Jaar_2` as words: `Jongeren tot 18 jaar`.
fn key_words(key: &str) -> String {
    let stem = key.trim().rsplit_once('_').map_or(key.trim(), |(s, _)| s);
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in stem.chars() {
        let boundary = match previous {
            Some(p) => {
                (c.is_ascii_uppercase() && !p.is_ascii_uppercase())
                    || (c.is_ascii_digit() != p.is_ascii_digit())
            }
            None => false,
        };
        if boundary {
            out.push(' ');
        }
        out.push(if out.is_empty() {
            c
        } else {
            c.to_ascii_lowercase()
        });
        previous = Some(c);
    }
    out
}

/// The columns among `free` (positions not used for anything else) that could hold the value,
/// by the shapes above.
pub fn value_candidates(
    titles: &[String],
    free: &[usize],
    metadata: Option<&TableMetadata>,
) -> Vec<ValueColumn> {
    let mut out = Vec::new();
    for &i in free {
        let column = titles[i].trim();
        let found = if let Some((title, unit)) = statline_unit(column) {
            Some((title, Some(unit)))
        } else if let Some(topic) = metadata.and_then(|m| m.topics.get(column)) {
            Some((topic.title.clone(), metadata_unit(&topic.unit)))
        } else if is_odata_key(column) {
            Some((key_words(column), None))
        } else {
            None
        };
        if let Some((title, unit)) = found {
            out.push(ValueColumn {
                index: i,
                column: column.to_string(),
                title,
                unit,
            });
        }
    }
    out
}

/// Words that start the title of a population: the denominator of the other topics.
const POPULATION: &[&str] = &[
    "inwoners",
    "bevolking",
    "aantalinwoners",
    "jongerentot",
    "jongerenvan",
    "kinderentot",
    "kinderenvan",
    "personentot",
    "leerlingen",
    "populatie",
];

/// Takes the one candidate whose title names a population (`Jongeren tot 18 jaar (aantal)`,
/// `Inwoners 0 tot 18 jaar`) out of `candidates`, when there is exactly one and at least one
/// other candidate remains.
pub fn take_population(candidates: &mut Vec<ValueColumn>) -> Option<ValueColumn> {
    let normal = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let population: Vec<usize> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.unit.is_none_or(Unit::is_count)
                && POPULATION.iter().any(|p| normal(&c.title).starts_with(p))
        })
        .map(|(i, _)| i)
        .collect();
    match population[..] {
        [one] if candidates.len() > 1 => Some(candidates.remove(one)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statline_titles_tell_their_unit() {
        assert_eq!(
            statline_unit("Jongeren met jeugdhulp (aantal)"),
            Some(("Jongeren met jeugdhulp".into(), Unit::Count))
        );
        assert_eq!(
            statline_unit("Jongeren met jeugdhulp (%)"),
            Some(("Jongeren met jeugdhulp".into(), Unit::Percentage))
        );
        assert_eq!(
            statline_unit("Jeugdhulptrajecten per 1 000 jongeren").map(|(_, u)| u),
            Some(Unit::PerThousand)
        );
        assert_eq!(statline_unit("Bron"), None);
    }

    #[test]
    fn odata_keys_are_read_as_words() {
        assert!(is_odata_key("JongerenMetJeugdhulp_1"));
        assert!(!is_odata_key("RegioS"));
        assert!(!is_odata_key("_1"));
        assert_eq!(key_words("JongerenTot18Jaar_2"), "Jongeren tot 18 jaar");
    }

    #[test]
    fn metadata_is_read_from_data_properties() {
        let meta = TableMetadata::from_json(
            r#"{"value":[{"Key":"","Type":"TopicGroup","Title":"Jeugdhulp"},
              {"Key":"JongerenMetJeugdhulp_1","Type":"Topic","Title":"Jongeren met jeugdhulp","Unit":"aantal"},
              {"Key":"RegioS","Type":"GeoDimension","Title":"Regio's"}]}"#,
        )
        .unwrap();
        assert_eq!(meta.topics.len(), 1);
        assert_eq!(meta.topics["JongerenMetJeugdhulp_1"].unit, "aantal");
        assert!(TableMetadata::from_json("{}").is_err());
    }
}
