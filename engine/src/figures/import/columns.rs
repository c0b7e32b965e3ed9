//! Which column holds what: matched by title, or given by a mapping file (JSON).

use std::collections::BTreeMap;

use super::shape::{
    ObservationsShape, ValueColumn, observations_shape, take_population, value_candidates,
};
use super::{ImportError, ImportOptions};
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
    /// The value columns: one, or with `--alle` every candidate. In an `Observations` set, the
    /// `Value` column.
    pub values: Vec<ValueColumn>,
    /// The `Measure` and `ValueAttribute` columns of an OData v4 `Observations` set.
    pub measure: Option<ObservationsShape>,
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
    "samenwerkingsverband",
    "swv",
    "code",
];
const PERIOD: &[&str] = &["perioden", "periode", "jaar", "peiljaar", "schooljaar"];
const VALUE: &[&str] = &["waarde", "aantal", "value"];
const DENOMINATOR: &[&str] = &["noemer", "denominator", "populatie"];
const STATUS: &[&str] = &["status"];
const NOTE: &[&str] = &["trendbreuk", "opmerking", "toelichting"];
/// Columns that are never a value: row numbers and the texts of an `Observations` set.
const NOT_VALUES: &[&str] = &["id", "stringvalue", "bron"];
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
    /// Finds the columns in `titles`, with the mapping, the chosen value column and the table's
    /// metadata where given.
    pub fn resolve(
        titles: Vec<String>,
        options: &ImportOptions,
    ) -> Result<ColumnPlan, ImportError> {
        let mapping = options.mapping.as_ref();
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
        let mut denominator = find(&m.noemer, DENOMINATOR)?;
        let status = find(&m.status, STATUS)?;
        let note = find(&m.trendbreuk, NOTE)?;
        let breakdown: Vec<(String, usize)> = if m.uitsplitsing.is_empty() {
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
        let column = |i: usize| ValueColumn {
            index: i,
            column: titles[i].trim().to_string(),
            title: titles[i].trim().to_string(),
            unit: None,
        };
        let mut measure = None;
        let values = if let Some(title) = &m.waarde {
            vec![column(by_title(title)?)]
        } else if let Some((shape, value)) = observations_shape(&normals) {
            // The measure chosen with `--waarde` is a value of the `Measure` column, not a title.
            measure = Some(shape);
            vec![column(value)]
        } else if let Some(title) = &options.value {
            vec![column(by_title(title)?)]
        } else if let Some(i) = guess(VALUE) {
            vec![column(i)]
        } else {
            let mut taken = vec![area, period];
            taken.extend(denominator);
            taken.extend(status);
            taken.extend(note);
            taken.extend(breakdown.iter().map(|(_, i)| *i));
            let free: Vec<usize> = (0..titles.len())
                .filter(|i| !taken.contains(i) && !NOT_VALUES.contains(&normals[*i].as_str()))
                .collect();
            let mut candidates = value_candidates(&titles, &free, options.metadata.as_ref());
            if denominator.is_none() {
                denominator = take_population(&mut candidates).map(|c| c.index);
            }
            match candidates.len() {
                0 => {
                    return Err(ImportError::Header(format!(
                        "geen kolom voor de waarde gevonden (verwacht een titel als \"waarde\", \"Jongeren met jeugdhulp (aantal)\" of een CBS-sleutel als \"JongerenMetJeugdhulp_1\"); kolommen: {}; kies er een met --waarde KOLOM of geef een koppeling met --mapping",
                        listed()
                    )));
                }
                1 => candidates,
                _ if options.all_values => candidates,
                _ => {
                    return Err(ImportError::Choice(
                        candidates.iter().map(describe).collect(),
                    ));
                }
            }
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
            values,
            measure,
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
        let mut used = vec![self.area, self.period];
        used.extend(self.values.iter().map(|v| v.index));
        used.extend(self.measure.iter().map(|m| m.measure));
        used.extend(self.measure.and_then(|m| m.attribute));
        used.extend(self.denominator);
        used.extend(self.status);
        used.extend(self.note);
        used.extend(self.breakdown.iter().map(|(_, i)| *i));
        used
    }

    /// What each used column is for, in Dutch, in the order of the file.
    pub fn roles(&self) -> Vec<(String, String)> {
        let mut roles: Vec<(usize, String)> = vec![
            (self.area, "gebied".into()),
            (self.period, "periode".into()),
        ];
        for v in &self.values {
            roles.push((v.index, "waarde".into()));
        }
        if let Some(m) = self.measure {
            roles.push((m.measure, "maat (een indicator per maat)".into()));
            roles.extend(
                m.attribute
                    .map(|i| (i, "bijzonderheid van de waarde".into())),
            );
        }
        roles.extend(self.denominator.map(|i| (i, "noemer".into())));
        roles.extend(self.status.map(|i| (i, "status".into())));
        roles.extend(self.note.map(|i| (i, "trendbreuk".into())));
        for (dim, i) in &self.breakdown {
            roles.push((*i, format!("uitsplitsing {dim}")));
        }
        roles.sort();
        roles
            .into_iter()
            .map(|(i, role)| (self.titles[i].trim().to_string(), role))
            .collect()
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

/// A candidate value column as listed when the user must choose: `"Titel" (eenheid)`.
fn describe(c: &ValueColumn) -> String {
    match c.unit {
        Some(unit) => format!("{:?} ({})", c.column, unit.name()),
        None if c.title != c.column => format!("{:?} ({})", c.column, c.title),
        None => format!("{:?}", c.column),
    }
}
