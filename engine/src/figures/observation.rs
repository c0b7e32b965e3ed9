//! Observations: one value of an indicator for one area, period and breakdown.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::{AreaCode, Period, Unit};

/// The breakdown of an observation: dimension to category, such as `geslacht=meisje`.
/// Empty means the total. Cheap to clone and to compare: the map is shared, and two handles to
/// the same map are equal without looking inside.
#[derive(Debug, Clone, Default, Eq)]
pub struct Breakdown(Arc<BTreeMap<String, String>>);

impl PartialEq for Breakdown {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl std::hash::Hash for Breakdown {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal breakdowns have equal maps, so hashing the map agrees with `eq`.
        self.0.hash(state);
    }
}

impl Ord for Breakdown {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            return std::cmp::Ordering::Equal;
        }
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for Breakdown {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Breakdown {
    /// The total: no breakdown.
    pub fn total() -> Breakdown {
        Breakdown::default()
    }

    /// A breakdown from its dimensions and categories.
    pub fn from_map(map: BTreeMap<String, String>) -> Breakdown {
        Breakdown(Arc::new(map))
    }

    /// Whether both are the same shared map (not only equal ones): a check without looking
    /// inside.
    pub fn shares_map(&self, other: &Breakdown) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Whether this is the total.
    pub fn is_total(&self) -> bool {
        self.0.is_empty()
    }

    /// The dimensions and their categories, sorted by dimension.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// This breakdown with one more dimension.
    pub fn with(&self, dimension: &str, category: &str) -> Breakdown {
        let mut map = (*self.0).clone();
        map.insert(dimension.to_string(), category.to_string());
        Breakdown::from_map(map)
    }

    /// This breakdown without `dimension`.
    pub fn without(&self, dimension: &str) -> Breakdown {
        let mut map = (*self.0).clone();
        map.remove(dimension);
        Breakdown::from_map(map)
    }

    /// Parses `dim=cat, dim=cat` (as typed after `--breakdown`); empty is the total.
    pub fn parse(s: &str) -> Option<Breakdown> {
        let mut map = BTreeMap::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=')?;
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
        Some(Breakdown::from_map(map))
    }
}

impl serde::Serialize for Breakdown {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl fmt::Display for Breakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("totaal");
        }
        let parts: Vec<String> = self.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// Whether a figure may still change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Final.
    Definitief,
    /// Provisional: the source may still revise it.
    Voorlopig,
}

impl Status {
    /// Reads CBS's words: `Definitief`, `Voorlopig`, `Nader voorlopig`.
    pub fn parse(s: &str) -> Option<Status> {
        let t = s.trim().to_lowercase();
        match t.as_str() {
            "" | "definitief" | "d" => Some(Status::Definitief),
            "voorlopig" | "nader voorlopig" | "v" | "*" => Some(Status::Voorlopig),
            _ => None,
        }
    }
}

/// One observation. `value` is `None` when the cell is secret (suppressed).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Observation {
    /// The area.
    pub area: AreaCode,
    /// The period.
    pub period: Period,
    /// The breakdown; empty for the total.
    pub breakdown: Breakdown,
    /// The value, or `None` when it is secret.
    pub value: Option<f64>,
    /// The population the value is a part of (for percentages and per-1,000 figures).
    pub denominator: Option<f64>,
    /// Provisional or final.
    pub status: Status,
    /// A note about a break in the series (a changed definition or source).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where an observation sits in its table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObsKey {
    /// The area.
    pub area: AreaCode,
    /// The breakdown.
    pub breakdown: Breakdown,
    /// The period.
    pub period: Period,
}

impl Observation {
    /// The key of this observation.
    pub fn key(&self) -> ObsKey {
        ObsKey {
            area: self.area,
            breakdown: self.breakdown.clone(),
            period: self.period,
        }
    }

    /// The value as a percentage: of the denominator for a count, the value itself for a
    /// percentage, a tenth of it for a figure per 1,000.
    pub fn percentage(&self, unit: Unit) -> Option<f64> {
        match unit {
            Unit::Count => ratio(self.value?, self.denominator?).map(|r| r * 100.0),
            Unit::Percentage => self.value,
            Unit::PerThousand => self.value.map(|v| v / 10.0),
        }
    }

    /// The value per 1,000: of the denominator for a count, ten times the value for a
    /// percentage, the value itself for a figure per 1,000.
    pub fn per_thousand(&self, unit: Unit) -> Option<f64> {
        match unit {
            Unit::Count => ratio(self.value?, self.denominator?).map(|r| r * 1000.0),
            Unit::Percentage => self.value.map(|v| v * 10.0),
            Unit::PerThousand => self.value,
        }
    }

    /// The number of people behind the value, where it can be known: the value itself for
    /// counts, and the rate applied to the denominator for percentages and per-1,000 figures,
    /// as a whole number (people come whole; the rate of an imported count gives the count
    /// back exactly, without the rounding error of the division).
    pub fn people(&self, unit: Unit) -> Option<f64> {
        match unit.per() {
            None => self.value,
            Some(per) => Some((self.value? * self.denominator? / per).round()),
        }
    }

    /// The value that can be compared between areas of different size: per 1,000 for counts with
    /// a denominator, and the value itself otherwise.
    pub fn comparable(&self, unit: Unit) -> Option<f64> {
        match unit {
            Unit::Count if self.denominator.is_some() => self.per_thousand(unit),
            _ => self.value,
        }
    }
}

fn ratio(value: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| value / denominator)
}
