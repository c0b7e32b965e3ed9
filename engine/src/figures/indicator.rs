//! Indicators: what a figure measures, in which unit, which direction is better, and its source.

use crate::DocId;
use crate::document::{DocView, FieldValue};

/// The document kind that holds an indicator and its observations.
pub const INDICATOR_KIND: &str = crate::kinds::INDICATOR;

/// The unit of an indicator's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Unit {
    /// A number of young people, households, ...: `aantal`.
    #[serde(rename = "aantal")]
    Count,
    /// A percentage: `percentage`.
    #[serde(rename = "percentage")]
    Percentage,
    /// Per 1,000 of a population: `per-1000`.
    #[serde(rename = "per-1000")]
    PerThousand,
}

impl Unit {
    /// The names used in documents and on the command line.
    pub const NAMES: [&'static str; 3] = ["aantal", "percentage", "per-1000"];

    /// Reads a unit from its Dutch name.
    pub fn parse(s: &str) -> Option<Unit> {
        match s.trim() {
            "aantal" => Some(Unit::Count),
            "percentage" | "%" => Some(Unit::Percentage),
            "per-1000" | "per 1000" | "per 1.000" => Some(Unit::PerThousand),
            _ => None,
        }
    }

    /// The Dutch name.
    pub fn name(self) -> &'static str {
        Unit::NAMES[self as usize]
    }

    /// How a value in this unit is labelled: `aantal`, `%`, `per 1.000`.
    pub fn label(self) -> &'static str {
        match self {
            Unit::Count => "aantal",
            Unit::Percentage => "%",
            Unit::PerThousand => "per 1.000",
        }
    }

    /// For a rate, how many of the population its value is out of: 100 for a percentage, 1,000
    /// for a figure per 1,000; `None` for counts.
    pub fn per(self) -> Option<f64> {
        match self {
            Unit::Count => None,
            Unit::Percentage => Some(100.0),
            Unit::PerThousand => Some(1000.0),
        }
    }

    /// How many decimals a value in this unit is written with: none for a count, one for a
    /// rate (`5,0 per 1.000`, not `5`).
    pub fn decimals(self) -> usize {
        if self.is_count() { 0 } else { 1 }
    }

    /// A value in this unit as kompas writes it, for people and in `--json` alike: rounded to
    /// [`Unit::decimals`] decimals ([`round_decimals`]).
    pub fn round(self, value: f64) -> f64 {
        round_decimals(value, self.decimals())
    }

    /// Whether values are counts that add up (and so are rounded and suppressed as counts).
    pub fn is_count(self) -> bool {
        self == Unit::Count
    }
}

/// `value` rounded to `decimals` decimals, halves away from zero: the one rounding of the
/// figures kompas writes (text, charts and `--json`).
pub fn round_decimals(value: f64, decimals: usize) -> f64 {
    // Beyond 15 decimals an f64 holds nothing more to round.
    let scale = 10f64.powi(decimals.min(15) as i32);
    (value * scale).round() / scale
}

/// Which direction of change is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Direction {
    /// Higher is better (for example: young people with a starting qualification).
    #[serde(rename = "hoger")]
    Higher,
    /// Lower is better (for example: young people at home without school).
    #[serde(rename = "lager")]
    Lower,
    /// Neither is better in itself (for example: the use of youth care).
    #[serde(rename = "geen")]
    Neutral,
}

impl Direction {
    /// The names used in documents and on the command line.
    pub const NAMES: [&'static str; 3] = ["hoger", "lager", "geen"];

    /// Reads a direction from its Dutch name.
    pub fn parse(s: &str) -> Option<Direction> {
        match s.trim() {
            "hoger" => Some(Direction::Higher),
            "lager" => Some(Direction::Lower),
            "geen" => Some(Direction::Neutral),
            _ => None,
        }
    }

    /// The Dutch name.
    pub fn name(self) -> &'static str {
        Direction::NAMES[self as usize]
    }
}

/// An indicator as read from its document.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Indicator {
    /// The document holding it.
    pub id: DocId,
    /// Its short name, as typed on the command line: `jeugdhulp-jongeren`.
    pub name: String,
    /// A readable title.
    pub title: String,
    /// What exactly is counted, and of whom.
    pub definition: String,
    /// The unit of the values.
    pub unit: Unit,
    /// Which direction is better.
    pub better: Direction,
    /// Where the figures come from, such as a CBS StatLine table id.
    pub source: String,
}

impl Indicator {
    /// Reads an indicator from its document view; missing fields get neutral defaults.
    pub fn from_view(view: &DocView) -> Indicator {
        let text = |name: &str| match view.fields.get(name) {
            Some(FieldValue::Text(s)) => s.clone(),
            _ => String::new(),
        };
        let name = text("naam");
        Indicator {
            id: view.id.clone(),
            title: Some(text("titel"))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| name.clone()),
            name,
            definition: text("definitie"),
            unit: Unit::parse(&text("eenheid")).unwrap_or(Unit::Count),
            better: Direction::parse(&text("beter")).unwrap_or(Direction::Neutral),
            source: text("bron"),
        }
    }
}
