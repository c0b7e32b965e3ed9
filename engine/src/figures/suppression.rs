//! Small-number suppression, the way CBS protects youth-care tables.
//!
//! 1. Primary: a count from 0 up to the threshold (default 7) is secret ("geheim"), and so is a
//!    percentage or per-1,000 figure that stands for that few people or rests on that small a
//!    population.
//! 2. Secondary: counts add up (a total is the sum of its breakdown categories; a municipality the
//!    sum of its districts; a district of its neighbourhoods; a region or the country of its
//!    municipalities). Wherever a secret cell could be worked out from such sums and the cells
//!    that are shown, more cells are made secret: first by the simple rule (no sum may have
//!    exactly one secret cell), then by an exact check that no secret cell is determined by all
//!    the sums together (linear algebra on the secret cells).
//! 3. Every count that is shown is rounded to a multiple of 5, and so is every denominator; a
//!    rate with a denominator is shown as the rounded count behind it over the rounded
//!    denominator, so that it gives no count back more exactly than the count is shown.
//!
//! The result depends only on the rows and the policy, not on their order, so every replica
//! protects a table the same way.

use std::collections::HashMap;

use super::recent::Recent;
use super::{AreaCode, AreaLevel, AreaRegistry, Breakdown, Observation, Period, Unit};

pub use crate::privacy::SuppressionPolicy;

/// Components with more secret cells than this get the simple rule only (the exact check grows
/// with the cube of their number). Reported in [`Protection::unchecked_groups`].
const EXACT_CHECK_LIMIT: usize = 600;

/// What protecting a table did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Protection {
    /// Cells made secret because they are small.
    pub primary: usize,
    /// Cells made secret so that no secret cell can be worked out.
    pub secondary: usize,
    /// Groups of linked sums too large for the exact check (protected by the simple rule).
    pub unchecked_groups: usize,
}

/// Protects `rows` (of one indicator) in place and reports what was hidden.
pub fn protect(
    rows: &mut Vec<Observation>,
    unit: Unit,
    registry: &AreaRegistry,
    policy: &SuppressionPolicy,
) -> Protection {
    sort_cells(rows);
    let mut report = Protection::default();
    // The original values, for choosing the smallest cell to hide next.
    let weight: Vec<f64> = rows.iter().map(|o| o.value.unwrap_or(0.0)).collect();
    let mut hidden: Vec<bool> = rows.iter().map(|o| o.value.is_none()).collect();
    for (i, o) in rows.iter_mut().enumerate() {
        let small_people = o.people(unit).is_some_and(|p| p <= policy.threshold);
        let small_base = o.denominator.is_some_and(|d| d <= policy.threshold);
        if !hidden[i] && (small_people || small_base) {
            hidden[i] = true;
            report.primary += 1;
        }
        if small_base {
            o.denominator = None;
        }
    }
    if unit.is_count() && policy.secondary {
        let sums = additive_sums(rows, registry);
        let before = hidden.iter().filter(|h| **h).count();
        report.unchecked_groups = secondary(&sums, &weight, &mut hidden);
        report.secondary = hidden.iter().filter(|h| **h).count() - before;
    }
    for (o, h) in rows.iter_mut().zip(&hidden) {
        if *h {
            o.value = None;
        } else if unit.is_count() {
            o.value = o.value.map(|v| round_to(v, policy.round_to));
        } else {
            o.value = rate_of_rounded(o, unit, policy.round_to);
        }
        o.denominator = o.denominator.map(|d| round_to(d, policy.round_to));
    }
    report
}

/// A shown rate, protected as its count is: the people behind it rounded as a count is, over
/// the rounded denominator. So the rate times the shown denominator gives the rounded count
/// back, never the exact one. A rate on a denominator that rounds to nothing is secret; a rate
/// without a denominator is kept as it is (without the population it gives no count back).
fn rate_of_rounded(o: &Observation, unit: Unit, step: f64) -> Option<f64> {
    let (Some(per), Some(denominator)) = (unit.per(), o.denominator) else {
        return o.value;
    };
    let people = round_to(o.people(unit)?, step);
    let denominator = round_to(denominator, step);
    (denominator > 0.0).then(|| people / denominator * per)
}

/// Rounds to the nearest multiple of `step` (halves away from zero).
pub fn round_to(value: f64, step: f64) -> f64 {
    if step <= 1.0 {
        return value.round();
    }
    (value / step).round() * step
}

/// One additive relation: `rows[total] = sum of rows[parts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sum {
    /// The index of the total.
    pub total: usize,
    /// The indices of its parts.
    pub parts: Vec<usize>,
}

impl Sum {
    fn members(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.total).chain(self.parts.iter().copied())
    }
}

/// The place of a cell in the order protection works in: area, the breakdown's rank among the
/// distinct breakdowns (in their own order), period. Comparing ranks instead of breakdown maps
/// keeps sorting and searching a large period cheap.
type CellKey = (AreaCode, u32, Period);

/// The distinct breakdowns of some rows, each with its rank in breakdown order. Breakdowns come
/// from files, so the map is seeded (std's `RandomState`); rows mostly share a few breakdown
/// maps, and those seen last are found without hashing ([`Recent`]).
struct Ranks(HashMap<Breakdown, u32>);

impl Ranks {
    fn of(rows: &[Observation]) -> Ranks {
        let mut distinct: HashMap<Breakdown, u32> = HashMap::new();
        let mut recent = Recent::default();
        for o in rows {
            if recent.get(&o.breakdown).is_none() {
                if !distinct.contains_key(&o.breakdown) {
                    distinct.insert(o.breakdown.clone(), 0);
                }
                recent.put(o.breakdown.clone(), 0);
            }
        }
        let mut sorted: Vec<Breakdown> = distinct.keys().cloned().collect();
        sorted.sort();
        for (rank, b) in sorted.into_iter().enumerate() {
            distinct.insert(b, rank as u32);
        }
        Ranks(distinct)
    }

    fn get(&self, b: &Breakdown) -> Option<u32> {
        self.0.get(b).copied()
    }

    fn key(&self, o: &Observation, recent: &mut Recent<Breakdown, u32>) -> CellKey {
        let rank = match recent.get(&o.breakdown) {
            Some(rank) => *rank,
            None => {
                let rank = self.get(&o.breakdown).unwrap_or(u32::MAX);
                recent.put(o.breakdown.clone(), rank);
                rank
            }
        };
        (o.area, rank, o.period)
    }

    fn keys(&self, rows: &[Observation]) -> impl Iterator<Item = CellKey> {
        let mut recent = Recent::default();
        rows.iter().map(move |o| self.key(o, &mut recent))
    }
}

/// Sorts the rows by (area, breakdown, period), stably, and keeps the first of equal cells.
pub(crate) fn sort_cells(rows: &mut Vec<Observation>) {
    let ranks = Ranks::of(rows);
    // With its place as the last part of the key, an unstable sort keeps equal cells in order.
    let mut keyed: Vec<(CellKey, u32)> = ranks
        .keys(rows)
        .enumerate()
        .map(|(i, key)| (key, i as u32))
        .collect();
    keyed.sort_unstable();
    // Keep the first of each run of equal keys, then move the rows into their places.
    let keep: Vec<bool> = (0..keyed.len())
        .map(|k| k == 0 || keyed[k - 1].0 != keyed[k].0)
        .collect();
    let order: Vec<u32> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut placed = vec![false; rows.len()];
    for start in 0..rows.len() {
        let mut at = start;
        while !placed[at] {
            placed[at] = true;
            let from = order[at] as usize;
            if from == start {
                break;
            }
            rows.swap(at, from);
            at = from;
        }
    }
    let mut k = 0;
    rows.retain(|_| {
        k += 1;
        keep[k - 1]
    });
}

/// The places of cells among rows sorted by cell without duplicates (as [`sort_cells`] and
/// [`protect`] leave them), for looking up rows read from elsewhere. Stored rows are decoded in
/// the order they were sorted in when stored, so each look-up first tries the place after the
/// last one found: reading a period back against its own rows costs one comparison a row, and
/// any other order falls back to a binary search.
pub(crate) struct CellIndex {
    ranks: Ranks,
    keys: Vec<CellKey>,
    recent: Recent<Breakdown, u32>,
    next: usize,
}

impl CellIndex {
    /// The index of `sorted`, which must be sorted by cell without duplicates.
    pub(crate) fn of(sorted: &[Observation]) -> CellIndex {
        let ranks = Ranks::of(sorted);
        let keys: Vec<CellKey> = ranks.keys(sorted).collect();
        debug_assert!(keys.is_sorted_by(|a, b| a < b), "rows not sorted by cell");
        CellIndex {
            ranks,
            keys,
            recent: Recent::default(),
            next: 0,
        }
    }

    /// The place of the row with the cell of `o`, if there is one.
    pub(crate) fn find(&mut self, o: &Observation) -> Option<usize> {
        let key = self.ranks.key(o, &mut self.recent);
        let at = if self.keys.get(self.next) == Some(&key) {
            self.next
        } else {
            self.keys.binary_search(&key).ok()?
        };
        self.next = at + 1;
        Some(at)
    }
}

/// Every additive relation between the rows: breakdowns within an area and period, and areas
/// within their parent area for the same period and breakdown. The rows must be sorted by
/// (area, breakdown, period) without duplicates, as [`protect`] leaves them.
pub fn additive_sums(rows: &[Observation], registry: &AreaRegistry) -> Vec<Sum> {
    let ranks = Ranks::of(rows);
    // Sorted without duplicates, as the rows are: a cell is found by binary search.
    let keys: Vec<CellKey> = ranks.keys(rows).collect();
    debug_assert!(keys.is_sorted_by(|a, b| a < b), "rows not sorted by cell");
    let find = |key: CellKey| keys.binary_search(&key).ok();
    // (total, relation, part): the relation is a breakdown dimension, or GEOGRAPHY.
    const GEOGRAPHY: u32 = u32::MAX;
    let mut links: Vec<(u32, u32, u32)> = Vec::new();
    let mut dims: Vec<String> = Vec::new();
    // Each distinct breakdown's parents that occur: the same breakdown without one dimension,
    // with the dimension's index.
    // Ranks run from 0 to the number of distinct breakdowns, so a list indexed by rank holds them.
    let mut parents: Vec<Option<Vec<(u32, u32)>>> = vec![None; ranks.0.len()];
    let national: Vec<AreaCode> = rows
        .iter()
        .map(|o| o.area)
        .filter(|a| a.level() == AreaLevel::National)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for (i, (o, &(area, rank, period))) in rows.iter().zip(&keys).enumerate() {
        if !o.breakdown.is_total() {
            let up = parents[rank as usize].get_or_insert_with(|| {
                o.breakdown
                    .iter()
                    .filter_map(|(dim, _)| {
                        let d = dims.iter().position(|x| x == dim).unwrap_or_else(|| {
                            dims.push(dim.to_string());
                            dims.len() - 1
                        });
                        Some((d as u32, ranks.get(&o.breakdown.without(dim))?))
                    })
                    .collect()
            });
            for (d, parent) in up.iter() {
                if let Some(p) = find((area, *parent, period)) {
                    links.push((p as u32, *d, i as u32));
                }
            }
        }
        let (up, region, country): (Option<AreaCode>, Option<AreaCode>, &[AreaCode]) =
            match o.area.level() {
                AreaLevel::District | AreaLevel::Neighbourhood => (o.area.parent(), None, &[]),
                AreaLevel::Municipality => (None, registry.region_of(o.area), &national),
                _ => (None, None, &[]),
            };
        for parent in up.into_iter().chain(region).chain(country.iter().copied()) {
            if let Some(p) = find((parent, rank, period)) {
                links.push((p as u32, GEOGRAPHY, i as u32));
            }
        }
    }
    links.sort_unstable();
    let mut sums: Vec<Sum> = Vec::new();
    for chunk in links.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        sums.push(Sum {
            total: chunk[0].0 as usize,
            parts: chunk.iter().map(|l| l.2 as usize).collect(),
        });
    }
    sums
}

/// Hides more cells until no hidden cell is determined by the sums; returns how many groups were
/// too large for the exact check.
pub fn secondary(sums: &[Sum], weight: &[f64], hidden: &mut [bool]) -> usize {
    let member_of = Memberships::of(sums, hidden.len());
    loop {
        simple_rule(sums, weight, hidden);
        let (determined, unchecked) = determined_cells(sums, hidden);
        let mut changed = false;
        for cell in determined {
            // Hide the smallest shown cell in a sum that holds the determined cell.
            let pick = member_of
                .of_cell(cell)
                .iter()
                .flat_map(|s| sums[*s as usize].members())
                .filter(|m| !hidden[*m])
                .min_by(|a, b| weight[*a].total_cmp(&weight[*b]).then(a.cmp(b)));
            if let Some(m) = pick {
                hidden[m] = true;
                changed = true;
            }
        }
        // Without a change, every sum around a determined cell is hidden, which cannot be.
        if !changed {
            return unchecked;
        }
    }
}

/// For every cell, the sums it takes part in, in one flat list (a list per cell would cost an
/// allocation per cell in a large period).
struct Memberships {
    /// Where each cell's sums start in `sums`; one more entry than cells.
    starts: Vec<u32>,
    sums: Vec<u32>,
}

impl Memberships {
    fn of(sums: &[Sum], cells: usize) -> Memberships {
        let mut starts = vec![0u32; cells + 1];
        for sum in sums {
            for m in sum.members() {
                starts[m + 1] += 1;
            }
        }
        for i in 0..cells {
            starts[i + 1] += starts[i];
        }
        let mut next = starts.clone();
        let mut flat = vec![0u32; starts[cells] as usize];
        for (s, sum) in sums.iter().enumerate() {
            for m in sum.members() {
                flat[next[m] as usize] = s as u32;
                next[m] += 1;
            }
        }
        Memberships { starts, sums: flat }
    }

    fn of_cell(&self, cell: usize) -> &[u32] {
        &self.sums[self.starts[cell] as usize..self.starts[cell + 1] as usize]
    }
}

/// No sum may have exactly one hidden cell: hide its smallest shown cell until that holds.
fn simple_rule(sums: &[Sum], weight: &[f64], hidden: &mut [bool]) {
    let mut changed = true;
    while changed {
        changed = false;
        for sum in sums {
            if sum.members().filter(|m| hidden[*m]).count() != 1 {
                continue;
            }
            let pick = sum
                .members()
                .filter(|m| !hidden[*m])
                .min_by(|a, b| weight[*a].total_cmp(&weight[*b]).then(a.cmp(b)));
            if let Some(m) = pick {
                hidden[m] = true;
                changed = true;
            }
        }
    }
}

/// One determined hidden cell per group of linked sums that has one, and how many groups were
/// too large to check.
fn determined_cells(sums: &[Sum], hidden: &[bool]) -> (Vec<usize>, usize) {
    // Group the sums into connected components over their hidden cells.
    let mut parent: Vec<usize> = (0..hidden.len()).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut relevant = Vec::new();
    for (s, sum) in sums.iter().enumerate() {
        let mut members = sum.members().filter(|m| hidden[*m]);
        let Some(first) = members.next() else {
            continue;
        };
        relevant.push(s);
        for m in members {
            let (a, b) = (find(&mut parent, first), find(&mut parent, m));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut components: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for s in relevant {
        let first = sums[s].members().find(|m| hidden[*m]).unwrap_or(0);
        let root = find(&mut parent, first);
        components.entry(root).or_default().push(s);
    }
    let mut unchecked = 0;
    let mut found = Vec::new();
    for group in components.values() {
        let mut cells: Vec<usize> = group
            .iter()
            .flat_map(|s| sums[*s].members())
            .filter(|m| hidden[*m])
            .collect();
        cells.sort_unstable();
        cells.dedup();
        if cells.len() > EXACT_CHECK_LIMIT {
            unchecked += 1;
            continue;
        }
        let column: HashMap<usize, usize> =
            cells.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        let mut matrix: Vec<Vec<f64>> = group
            .iter()
            .map(|s| {
                let mut row = vec![0.0; cells.len()];
                let sum = &sums[*s];
                if let Some(&c) = column.get(&sum.total) {
                    row[c] -= 1.0;
                }
                for p in &sum.parts {
                    if let Some(&c) = column.get(p) {
                        row[c] += 1.0;
                    }
                }
                row
            })
            .collect();
        if let Some(c) = single_entry_row(&mut matrix) {
            found.push(cells[c]);
        }
    }
    (found, unchecked)
}

/// Reduces the matrix to reduced row echelon form and returns the column of a row with a single
/// non-zero entry: that unknown is determined by the rows.
fn single_entry_row(m: &mut [Vec<f64>]) -> Option<usize> {
    const EPS: f64 = 1e-9;
    let cols = m.first().map_or(0, Vec::len);
    let mut pivot_row = 0;
    for col in 0..cols {
        let Some(best) = (pivot_row..m.len())
            .filter(|r| m[*r][col].abs() > EPS)
            .max_by(|a, b| m[*a][col].abs().total_cmp(&m[*b][col].abs()))
        else {
            continue;
        };
        m.swap(pivot_row, best);
        let p = m[pivot_row][col];
        for v in m[pivot_row].iter_mut() {
            *v /= p;
        }
        let pivot = m[pivot_row].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != pivot_row && row[col].abs() > EPS {
                let f = row[col];
                for (v, pv) in row.iter_mut().zip(&pivot) {
                    *v -= f * pv;
                }
            }
        }
        pivot_row += 1;
        if pivot_row == m.len() {
            break;
        }
    }
    m.iter().find_map(|row| {
        let mut nonzero = row.iter().enumerate().filter(|(_, v)| v.abs() > EPS);
        match (nonzero.next(), nonzero.next()) {
            (Some((c, _)), None) => Some(c),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests;
