//! Which column holds what: matched by title, or given by a mapping file (JSON).

use std::collections::BTreeMap;

use super::ImportError;
use crate::privacy::{is_birth_date_title, is_name_title};

/// A mapping from roles to column titles, as written in a `--mapping` file:
///
/// ```json
/// { "gebied": "RegioS", "periode": "Perioden", "waarde": "Jongeren met jeugdhulp",
///   "noemer": "Jongeren tot 18 jaar", "status": "Status", "trendbreuk": "Opmerking",
///   "uitsplitsing": { "geslacht": "Geslacht" } }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    /// The column with area codes.
    pub gebied: Option<String>,
    /// The column with period codes.
    pub periode: Option<String>,
    /// The column with the values.
    pub waarde: Option<String>,
    /// The column with the denominators.
    pub noemer: Option<String>,
    /// The column with provisional/final.
    pub status: Option<String>,
    /// The column with trend-break notes.
    pub trendbreuk: Option<String>,
    /// Breakdown dimensions and their columns.
    #[serde(default)]
    pub uitsplitsing: BTreeMap<String, String>,
}

impl ColumnMapping {
    /// Reads a mapping from JSON text.
    pub fn from_json(text: &str) -> Result<ColumnMapping, ImportError> {
        serde_json::from_str(text).map_err(|e| ImportError::Mapping(e.to_string()))
    }
}

/// Column positions for each role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPlan {
    /// Titles as in the file.
    pub titles: Vec<String>,
    /// Area codes.
    pub area: usize,
    /// Period codes.
    pub period: usize,
    /// Values.
    pub value: usize,
    /// Denominators.
    pub denominator: Option<usize>,
    /// Status.
    pub status: Option<usize>,
    /// Trend-break notes.
    pub note: Option<usize>,
    /// Breakdown dimensions and their columns.
    pub breakdown: Vec<(String, usize)>,
    /// Whether any column's title suggests personal data, so every row must be checked.
    pub personal: bool,
}

// `codering` comes before `wijkenenbuurten`: in CBS key figures by district the latter holds names.
const AREA: &[&str] = &[
    "codering",
    "regios",
    "regio",
    "gebiedscode",
    "gemeentecode",
    "regiocode",
    "gebied",
    "wijkenenbuurten",
    "code",
];
const PERIOD: &[&str] = &["perioden", "periode", "jaar", "peiljaar"];
const VALUE: &[&str] = &["waarde", "aantal", "value"];
const DENOMINATOR: &[&str] = &["noemer", "denominator", "populatie"];
const STATUS: &[&str] = &["status"];
const NOTE: &[&str] = &["trendbreuk", "opmerking", "toelichting"];
const DIMENSIONS: &[&str] = &[
    "geslacht",
    "leeftijd",
    "leeftijdsklasse",
    "leeftijdsgroep",
    "onderwijsniveau",
    "schoolniveau",
    "schoolsoort",
    "migratieachtergrond",
    "herkomst",
];

/// Lowercase letters and digits only: `Regio's` becomes `regios`.
fn normal(title: &str) -> String {
    title
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl ColumnPlan {
    /// Finds the columns in `titles`, with the mapping where given.
    pub fn resolve(
        titles: Vec<String>,
        mapping: Option<&ColumnMapping>,
    ) -> Result<ColumnPlan, ImportError> {
        let normals: Vec<String> = titles.iter().map(|t| normal(t)).collect();
        let listed = || {
            titles
                .iter()
                .map(|t| format!("{:?}", t.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let by_title = |wanted: &str| -> Result<usize, ImportError> {
            normals
                .iter()
                .position(|n| *n == normal(wanted))
                .ok_or_else(|| {
                    ImportError::Mapping(format!(
                        "kolom {wanted:?} staat niet in het bestand; kolommen: {}",
                        listed()
                    ))
                })
        };
        let guess = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| normals.iter().position(|t| t == n))
        };
        let find = |given: &Option<String>, names: &[&str]| -> Result<Option<usize>, ImportError> {
            match given {
                Some(title) => by_title(title).map(Some),
                None => Ok(guess(names)),
            }
        };
        let none = ColumnMapping::default();
        let m = mapping.unwrap_or(&none);
        let required = |given: &Option<String>,
                        names: &[&str],
                        role: &str|
         -> Result<usize, ImportError> {
            find(given, names)?.ok_or_else(|| {
                ImportError::Header(format!(
                    "geen kolom voor {role} gevonden (verwacht een titel als {}); kolommen: {}; geef anders een koppeling met --mapping",
                    names.iter().take(3).map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "),
                    listed()
                ))
            })
        };
        let area = required(&m.gebied, AREA, "het gebied")?;
        let period = required(&m.periode, PERIOD, "de periode")?;
        let value = required(&m.waarde, VALUE, "de waarde")?;
        let denominator = find(&m.noemer, DENOMINATOR)?;
        let status = find(&m.status, STATUS)?;
        let note = find(&m.trendbreuk, NOTE)?;
        let breakdown = if m.uitsplitsing.is_empty() {
            normals
                .iter()
                .enumerate()
                .filter(|(_, n)| DIMENSIONS.contains(&n.as_str()))
                .map(|(i, n)| (n.clone(), i))
                .collect()
        } else {
            m.uitsplitsing
                .iter()
                .map(|(dim, title)| by_title(title).map(|i| (normal(dim), i)))
                .collect::<Result<Vec<_>, _>>()?
        };
        let personal = titles.iter().any(|t| {
            is_name_title(t)
                || is_birth_date_title(t)
                || ["bsn", "burgerservicenummer", "sofinummer"].contains(&normal(t).as_str())
        });
        let plan = ColumnPlan {
            titles,
            area,
            period,
            value,
            denominator,
            status,
            note,
            breakdown,
            personal,
        };
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = plan.used().into_iter().find(|i| !seen.insert(*i)) {
            return Err(ImportError::Mapping(format!(
                "kolom {:?} is voor twee dingen gekozen",
                plan.titles[dup]
            )));
        }
        Ok(plan)
    }

    /// The positions of the columns in use (a column chosen twice appears twice).
    fn used(&self) -> Vec<usize> {
        let mut used = vec![self.area, self.period, self.value];
        used.extend(self.denominator);
        used.extend(self.status);
        used.extend(self.note);
        used.extend(self.breakdown.iter().map(|(_, i)| *i));
        used
    }

    /// The titles of columns that are not used.
    pub fn ignored(&self) -> Vec<String> {
        let used = self.used();
        self.titles
            .iter()
            .enumerate()
            .filter(|(i, _)| !used.contains(i))
            .map(|(_, t)| t.trim().to_string())
            .collect()
    }
}
