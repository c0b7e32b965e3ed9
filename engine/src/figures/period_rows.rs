//! The observations of one table held compactly and grouped by period: what an import keeps
//! between reading a file and storing it.
//!
//! A row takes 24 bytes instead of a full [`Observation`]'s 88: its area is an index into the
//! list of distinct areas, its breakdown, note and status one index into the list of their
//! distinct combinations (a file has a handful), and an absent value or denominator is NaN
//! (read values are always finite). Every additive sum of suppression lies within one period, so the
//! rows are protected and stored one period at a time ([`PeriodRows::into_periods`]), and only
//! one period is ever held as full observations.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;

use super::recent::Recent;
use super::{AreaCode, Breakdown, Observation, Period, Status};

/// The most observations one period may have, in a file and in what is stored for an indicator.
/// Protection looks at a whole period at once (see [`PeriodRows`]), so this bounds the memory an
/// import takes: at this limit a period's working set stays well under 100 MiB.
pub const MAX_PERIOD_ROWS: usize = 400_000;

/// From this many rows on, a period's list grows by a quarter at a time (below, it doubles).
const GROW_SLOWLY_FROM: usize = 1024;

/// Where a row is: its period, and its place among that period's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowAt {
    /// The period.
    pub period: Period,
    /// The place among the period's rows, in the order they were added.
    pub index: usize,
}

/// Observations grouped by period, in the order they were added within each period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeriodRows {
    areas: Distinct<AreaCode>,
    breakdowns: Distinct<Breakdown>,
    notes: Distinct<String>,
    forms: Distinct<Form>,
    periods: BTreeMap<Period, Vec<Row>>,
    len: usize,
}

/// One observation, without its period (the key it is filed under).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    /// The value; NaN when secret.
    value: f64,
    /// The denominator; NaN when absent.
    denominator: f64,
    area: u32,
    /// The index of its [`Form`].
    form: u32,
}

/// What rows share besides their area: breakdown, note and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Form {
    breakdown: u32,
    /// The note's index plus one; 0 for none.
    note: u32,
    provisional: bool,
}

/// Distinct values, each with its index. The values come from files, so the map is seeded (std's
/// `RandomState`, a secret key per map): a file cannot be crafted so that its area codes or
/// breakdowns collide and make every look-up slow. The last few values looked up are found
/// without hashing ([`Recent`]).
#[derive(Debug, Clone)]
struct Distinct<T: Eq + Hash> {
    values: Vec<T>,
    index: HashMap<T, u32>,
    recent: Recent<T, u32>,
}

impl<T: Eq + Hash> PartialEq for Distinct<T> {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

impl<T: Eq + Hash> Default for Distinct<T> {
    fn default() -> Self {
        Distinct {
            values: Vec::new(),
            index: HashMap::new(),
            recent: Recent::default(),
        }
    }
}

impl<T: Eq + Hash + Clone> Distinct<T> {
    fn index_of(&mut self, value: &T) -> u32 {
        if let Some(i) = self.recent.get(value) {
            return *i;
        }
        let i = match self.index.get(value) {
            Some(i) => *i,
            None => {
                let i = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
                self.values.push(value.clone());
                self.index.insert(value.clone(), i);
                i
            }
        };
        self.recent.put(value.clone(), i);
        i
    }
}

fn optional(n: f64) -> Option<f64> {
    (!n.is_nan()).then_some(n)
}

impl PeriodRows {
    /// Adds an observation and tells where it went.
    pub fn push(&mut self, o: &Observation) -> RowAt {
        let form = Form {
            breakdown: self.breakdowns.index_of(&o.breakdown),
            note: o.note.as_ref().map_or(0, |n| self.notes.index_of(n) + 1),
            provisional: o.status == Status::Voorlopig,
        };
        let row = Row {
            value: o.value.unwrap_or(f64::NAN),
            denominator: o.denominator.unwrap_or(f64::NAN),
            area: self.areas.index_of(&o.area),
            form: self.forms.index_of(&form),
        };
        let rows = self.periods.entry(o.period).or_default();
        if rows.len() == rows.capacity() && rows.len() >= GROW_SLOWLY_FROM {
            // A quarter more at a time, not double: a doubling list of a large period would
            // hold up to as much room again as its rows until reading is done.
            rows.reserve_exact(rows.len() / 4);
        }
        rows.push(row);
        self.len += 1;
        RowAt {
            period: o.period,
            index: rows.len() - 1,
        }
    }

    /// Gives back the room the periods' lists grew beyond their rows (up to a fifth of it, as
    /// a large period's list grows by a quarter): reading is done once the whole file is in.
    pub fn shrink_to_fit(&mut self) {
        for rows in self.periods.values_mut() {
            rows.shrink_to_fit();
        }
    }

    /// The number of observations.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The observation at `at`, if there is one.
    pub fn get(&self, at: RowAt) -> Option<Observation> {
        let row = self.periods.get(&at.period)?.get(at.index)?;
        Some(self.observation(at.period, row))
    }

    /// Sets the value of the observation at `at`.
    pub fn set_value(&mut self, at: RowAt, value: f64) {
        if let Some(row) = self.row_mut(at) {
            row.value = value;
        }
    }

    /// Sets the denominator of the observation at `at`.
    pub fn set_denominator(&mut self, at: RowAt, denominator: f64) {
        if let Some(row) = self.row_mut(at) {
            row.denominator = denominator;
        }
    }

    /// Replaces every value that is there (not secret) by `f(value, denominator)`, the
    /// denominator being NaN when absent.
    pub fn map_values(&mut self, f: impl Fn(f64, f64) -> f64) {
        for row in self.periods.values_mut().flatten() {
            if !row.value.is_nan() {
                row.value = f(row.value, row.denominator);
            }
        }
    }

    /// Takes out the observations at the given places.
    pub fn remove(&mut self, places: &BTreeSet<RowAt>) {
        for (period, rows) in self.periods.iter_mut() {
            let mut index = 0;
            rows.retain(|_| {
                index += 1;
                !places.contains(&RowAt {
                    period: *period,
                    index: index - 1,
                })
            });
        }
        self.periods.retain(|_, rows| !rows.is_empty());
        self.len = self.periods.values().map(Vec::len).sum();
    }

    /// The number of distinct areas.
    pub fn area_count(&self) -> usize {
        let used: BTreeSet<u32> = self.periods.values().flatten().map(|r| r.area).collect();
        used.len()
    }

    /// The periods that have observations, oldest first.
    pub fn periods(&self) -> impl Iterator<Item = Period> + '_ {
        self.periods.keys().copied()
    }

    /// The observations of one period, in the order they were added.
    pub fn period(&self, period: Period) -> Vec<Observation> {
        self.periods.get(&period).map_or_else(Vec::new, |rows| {
            rows.iter().map(|r| self.observation(period, r)).collect()
        })
    }

    /// The area, breakdown and value (`None` when secret) of every observation of one period,
    /// in the order they were added, without making observations of them.
    pub fn values_in(
        &self,
        period: Period,
    ) -> impl Iterator<Item = (AreaCode, &Breakdown, Option<f64>)> + '_ {
        self.periods.get(&period).into_iter().flatten().map(|r| {
            (
                self.areas.values[r.area as usize],
                &self.breakdowns.values[self.form(r).breakdown as usize],
                optional(r.value),
            )
        })
    }

    /// Every observation, period by period.
    pub fn to_vec(&self) -> Vec<Observation> {
        self.periods
            .iter()
            .flat_map(|(p, rows)| rows.iter().map(|r| self.observation(*p, r)))
            .collect()
    }

    /// The observations period by period, oldest first; each period's compact rows are freed as
    /// its observations are handed out.
    pub fn into_periods(self) -> impl Iterator<Item = (Period, Vec<Observation>)> {
        let PeriodRows {
            areas,
            breakdowns,
            notes,
            forms,
            periods,
            ..
        } = self;
        let held = PeriodRows {
            areas,
            breakdowns,
            notes,
            forms,
            ..PeriodRows::default()
        };
        periods.into_iter().map(move |(period, rows)| {
            let out = rows.iter().map(|r| held.observation(period, r)).collect();
            (period, out)
        })
    }

    fn row_mut(&mut self, at: RowAt) -> Option<&mut Row> {
        self.periods.get_mut(&at.period)?.get_mut(at.index)
    }

    fn form(&self, r: &Row) -> Form {
        self.forms.values[r.form as usize]
    }

    fn observation(&self, period: Period, r: &Row) -> Observation {
        let form = self.form(r);
        Observation {
            area: self.areas.values[r.area as usize],
            period,
            breakdown: self.breakdowns.values[form.breakdown as usize].clone(),
            value: optional(r.value),
            denominator: optional(r.denominator),
            status: if form.provisional {
                Status::Voorlopig
            } else {
                Status::Definitief
            },
            note: form
                .note
                .checked_sub(1)
                .map(|n| self.notes.values[n as usize].clone()),
        }
    }
}

impl FromIterator<Observation> for PeriodRows {
    fn from_iter<I: IntoIterator<Item = Observation>>(iter: I) -> Self {
        let mut rows = PeriodRows::default();
        for o in iter {
            rows.push(&o);
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::test_support::obs;

    #[test]
    fn rows_come_back_as_they_went_in_grouped_by_period() {
        let mut a = obs(
            "GM0363",
            Breakdown::total().with("geslacht", "meisje"),
            12.5,
        );
        a.period = Period::year(2024);
        a.status = Status::Voorlopig;
        a.note = Some("nieuwe definitie".into());
        let mut b = obs("WK036301", Breakdown::total(), 3.0);
        b.value = None;
        b.denominator = Some(900.0);
        let c = obs("GM0363", Breakdown::total(), 40.0);
        let rows: PeriodRows = [a.clone(), b.clone(), c.clone()].into_iter().collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.area_count(), 2);
        assert_eq!(rows.to_vec(), vec![b.clone(), c.clone(), a.clone()]);
        let periods: Vec<Period> = rows.periods().collect();
        assert_eq!(periods, vec![b.period, a.period]);
        let handed: Vec<(Period, Vec<Observation>)> = rows.into_periods().collect();
        assert_eq!(handed, vec![(b.period, vec![b, c]), (a.period, vec![a])]);
    }

    #[test]
    fn the_maps_of_values_from_files_are_seeded() {
        // Every map has a secret key of its own, so one area code hashes differently in two of
        // them: a file cannot be made whose codes collide in every import.
        use std::hash::BuildHasher as _;
        let code = AreaCode::parse("GM0363").unwrap();
        let (a, b) = (
            Distinct::<AreaCode>::default(),
            Distinct::<AreaCode>::default(),
        );
        assert_ne!(
            a.index.hasher().hash_one(code),
            b.index.hasher().hash_one(code)
        );
        let mut rows = PeriodRows::default();
        rows.push(&obs("GM0363", Breakdown::total(), 12.0));
        let first = rows.areas.index.hasher().hash_one(code);
        assert_ne!(first, a.index.hasher().hash_one(code));
    }

    #[test]
    fn a_row_takes_24_bytes() {
        // What a million-row import holds until it is stored: 24 MB of rows.
        assert_eq!(std::mem::size_of::<Row>(), 24);
    }

    #[test]
    fn rows_can_be_changed_and_taken_out_where_they_are() {
        let mut rows = PeriodRows::default();
        let first = rows.push(&obs("GM0001", Breakdown::total(), 10.0));
        let second = rows.push(&obs("GM0002", Breakdown::total(), 20.0));
        rows.set_value(first, 1234.0);
        rows.set_denominator(second, 5000.0);
        assert_eq!(rows.get(first).map(|o| o.value), Some(Some(1234.0)));
        assert_eq!(rows.get(second).map(|o| o.denominator), Some(Some(5000.0)));
        rows.remove(&BTreeSet::from([first]));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows.to_vec()[0].area.as_str(), "GM0002");
        rows.remove(&BTreeSet::from([RowAt {
            period: first.period,
            index: 0,
        }]));
        assert!(rows.is_empty());
        assert_eq!(rows.periods().count(), 0);
    }
}
