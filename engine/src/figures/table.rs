//! The observations of one indicator, merged from all batches: the later batch wins per cell.

use std::collections::{BTreeMap, BTreeSet};

use super::{AreaCode, AreaLevel, Breakdown, ObsKey, Observation, Period, PeriodPart};

/// All observations of one indicator, one per (area, breakdown, period).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservationTable {
    rows: BTreeMap<ObsKey, Observation>,
}

impl ObservationTable {
    /// Adds an observation, replacing the one with the same key.
    pub fn insert(&mut self, obs: Observation) {
        self.rows.insert(obs.key(), obs);
    }

    /// The number of observations.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The observations in key order, taken out of the table.
    pub fn into_rows(self) -> Vec<Observation> {
        self.rows.into_values().collect()
    }

    /// All observations in key order (area, breakdown, period).
    pub fn iter(&self) -> impl Iterator<Item = &Observation> {
        self.rows.values()
    }

    /// The observation of one cell.
    pub fn get(
        &self,
        area: AreaCode,
        breakdown: &Breakdown,
        period: Period,
    ) -> Option<&Observation> {
        self.rows.get(&ObsKey {
            area,
            breakdown: breakdown.clone(),
            period,
        })
    }

    /// The series of an area for one breakdown, oldest period first.
    pub fn series(&self, area: AreaCode, breakdown: &Breakdown) -> Vec<&Observation> {
        let from = ObsKey {
            area,
            breakdown: breakdown.clone(),
            period: Period {
                year: i16::MIN,
                part: PeriodPart::Year,
            },
        };
        let to = ObsKey {
            area,
            breakdown: breakdown.clone(),
            period: Period {
                year: i16::MAX,
                part: PeriodPart::Month(12),
            },
        };
        self.rows.range(from..=to).map(|(_, o)| o).collect()
    }

    /// The latest period with a total for `area`.
    pub fn latest_period(&self, area: AreaCode) -> Option<Period> {
        self.series(area, &Breakdown::total())
            .last()
            .map(|o| o.period)
    }

    /// Every period that occurs, sorted.
    pub fn periods(&self) -> BTreeSet<Period> {
        self.rows.keys().map(|k| k.period).collect()
    }

    /// Every area that occurs, sorted.
    pub fn areas(&self) -> BTreeSet<AreaCode> {
        self.rows.keys().map(|k| k.area).collect()
    }

    /// All observations of an area in a period except the total: its breakdowns.
    pub fn breakdowns(&self, area: AreaCode, period: Period) -> Vec<&Observation> {
        self.rows
            .range(
                ObsKey {
                    area,
                    breakdown: Breakdown::total(),
                    period,
                }..,
            )
            .take_while(|(k, _)| k.area == area)
            .filter(|(k, _)| k.period == period && !k.breakdown.is_total())
            .map(|(_, o)| o)
            .collect()
    }

    /// The totals of the districts (or, for a district, the neighbourhoods) within `area`.
    pub fn parts_of(&self, area: AreaCode, period: Period) -> Vec<&Observation> {
        let level = match area.level() {
            AreaLevel::Municipality => AreaLevel::District,
            AreaLevel::District => AreaLevel::Neighbourhood,
            _ => return Vec::new(),
        };
        self.rows
            .iter()
            .filter(|(k, _)| {
                k.period == period
                    && k.breakdown.is_total()
                    && k.area.level() == level
                    && k.area.parent() == Some(area)
            })
            .map(|(_, o)| o)
            .collect()
    }

    /// The totals of all areas in one period.
    pub fn cross_section(&self, period: Period) -> Vec<&Observation> {
        self.rows
            .iter()
            .filter(|(k, _)| k.period == period && k.breakdown.is_total())
            .map(|(_, o)| o)
            .collect()
    }
}

impl FromIterator<Observation> for ObservationTable {
    fn from_iter<I: IntoIterator<Item = Observation>>(iter: I) -> Self {
        let mut t = ObservationTable::default();
        for o in iter {
            t.insert(o);
        }
        t
    }
}
