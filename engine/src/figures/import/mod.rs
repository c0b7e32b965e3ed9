//! Streaming CSV import of observations, as CBS StatLine and Dutch spreadsheets write them.
//!
//! `;` or `,` (or tab) delimiters are detected from the header line; decimal commas, space-padded
//! codes, CBS period codes (with `*` for provisional), region codes and area labels (through the
//! area registry) are understood; columns are matched by their titles and by the shapes CBS
//! delivers ([`shape`]), or by a mapping. Rows are read one at a time; the caller gets progress
//! as rows and bytes. A bad row is reported with its line number and column; without
//! `skip_bad_rows` one bad row means nothing is imported. The observations are held compactly,
//! grouped by period ([`PeriodRows`]), so that storing can protect them a period at a time.

mod areas;
mod bounded;
mod cell;
mod columns;
mod convert;
mod numbers;
mod reader;
pub mod shape;
mod text;

pub use areas::read_areas;
pub use cell::{Cell, parse_cell};
pub use columns::{ColumnMapping, ColumnPlan};
pub use convert::Conversion;
pub use reader::{open_csv, read_csv};
pub use shape::TableMetadata;

use std::fmt;

use super::period_rows::PeriodRows;
use super::{AreaRegistry, Period, Unit};

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Which column holds what; without it, columns are matched by their titles.
    pub mapping: Option<ColumnMapping>,
    /// Import the good rows and list the bad ones, instead of refusing the whole file.
    pub skip_bad_rows: bool,
    /// The value column (or, in an OData v4 `Observations` set, the measure) to import when
    /// several could be the value.
    pub value: Option<String>,
    /// Import every value column (or measure) as a table of its own.
    pub all_values: bool,
    /// The area registry, to translate labels such as `Groningen (gemeente)` into codes.
    pub areas: AreaRegistry,
    /// The CBS table's metadata, for the titles and units of OData keys.
    pub metadata: Option<TableMetadata>,
    /// The unit of values whose column does not tell it (the indicator's); counts otherwise.
    pub unit: Option<Unit>,
    /// This year: periods more than a year after it are refused.
    pub current_year: Option<i16>,
}

/// The observations of one value column (or measure).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedTable {
    /// Where the values come from: the column title, or the measure's code.
    pub source: String,
    /// A title for people, from the column title or the table's metadata.
    pub title: String,
    /// The unit of the values held: the indicator's when they were converted, else the one
    /// the file tells, if it does.
    pub unit: Option<Unit>,
    /// How the column's values were turned into the indicator's unit, if they were.
    pub conversion: Option<Conversion>,
    /// The denominator column, if any.
    pub denominator: Option<String>,
    /// The observations of the good rows, held compactly by period.
    pub rows: PeriodRows,
}

/// How far the import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportProgress {
    /// Rows read so far.
    pub rows: u64,
    /// Bytes read so far.
    pub bytes: u64,
}

/// One bad row: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// The line number in the file (the header is line 1).
    pub row: u64,
    /// The column title, when the problem is in one cell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "rij {}, kolom {c}: {}", self.row, self.problem),
            None => write!(f, "rij {}: {}", self.row, self.problem),
        }
    }
}

/// The rows read from a file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// One table per value column (or measure) imported, in the order of the file.
    pub tables: Vec<ParsedTable>,
    /// What each used column is for: (title, role).
    pub columns: Vec<(String, String)>,
    /// The bad rows (only when skipping them was asked for).
    pub bad_rows: Vec<RowError>,
    /// Rows without a value (empty or `.`), left out.
    pub without_value: u64,
    /// Data rows read.
    pub read: u64,
    /// Columns that were not used.
    pub ignored_columns: Vec<String>,
    /// Doubts that do not refuse the file: breakdowns larger than their total.
    pub warnings: Vec<String>,
}

/// How many bad rows an error message lists before it summarises.
const LISTED: usize = 20;

/// Why a file was not imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The header cannot be used.
    #[error("kopregel: {0}")]
    Header(String),
    /// The file is not readable CSV at some point.
    #[error("rij {row}: {problem}")]
    Csv { row: u64, problem: String },
    /// Some rows are bad, and skipping them was not asked for.
    #[error("{}", bad_rows_message(.0))]
    BadRows(Vec<RowError>),
    /// The mapping file cannot be used.
    #[error("koppeling van kolommen: {0}")]
    Mapping(String),
    /// More than one column (or measure) could be the value, and none was chosen.
    #[error(
        "meer dan een kolom kan de waarde zijn: {}; kies er een met --waarde KOLOM, of maak met --alle een indicator per kolom",
        .0.join(", ")
    )]
    Choice(Vec<String>),
    /// One period has more observations than can be protected at once.
    #[error(
        "periode {period} heeft meer dan {limit} cijfers; kleine aantallen worden per periode in hun geheel beschermd, en meer cijfers in een periode kan kompas niet tegelijk vasthouden; lees minder gebieden of uitsplitsingen voor deze periode in"
    )]
    PeriodTooLarge { period: Period, limit: usize },
}

impl Parsed {
    /// All observations of all tables.
    pub fn observations(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }
}

fn bad_rows_message(errors: &[RowError]) -> String {
    let mut out = format!(
        "{} {} niet goed, dus er is niets ingelezen (met --skip-bad-rows worden de goede rijen wel ingelezen):",
        errors.len(),
        if errors.len() == 1 {
            "rij is"
        } else {
            "rijen zijn"
        }
    );
    for e in errors.iter().take(LISTED) {
        out.push_str(&format!("\n  {e}"));
    }
    if errors.len() > LISTED {
        out.push_str(&format!("\n  ... en nog {} rijen", errors.len() - LISTED));
    }
    out
}

#[cfg(test)]
mod tests;
