//! Property tests of suppression: small cells are secret, shown counts are rounded, and no secret
//! cell can be worked out from the shown cells and the sums (checked with an exact rank test
//! written here, independent of the engine's elimination).

use proptest::prelude::*;

use super::*;
use crate::figures::Breakdown;
use crate::figures::test_support::obs;

/// The rank of an integer matrix, by fraction-free elimination in exact arithmetic.
fn rank(mut m: Vec<Vec<i128>>) -> usize {
    let cols = m.first().map_or(0, Vec::len);
    let mut rank = 0;
    for col in 0..cols {
        let Some(p) = (rank..m.len()).find(|r| m[*r][col] != 0) else {
            continue;
        };
        m.swap(rank, p);
        for r in 0..m.len() {
            if r != rank && m[r][col] != 0 {
                let (a, b) = (m[rank][col], m[r][col]);
                let pivot = m[rank].clone();
                for (v, pv) in m[r].iter_mut().zip(&pivot) {
                    *v = *v * a - pv * b;
                }
                let g = m[r].iter().fold(0i128, |g, v| gcd(g, v.abs()));
                if g > 1 {
                    m[r].iter_mut().for_each(|v| *v /= g);
                }
            }
        }
        rank += 1;
    }
    rank
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Whether a hidden cell is determined: removing its column lowers the rank of the sums
/// restricted to hidden cells.
fn determined_cells(sums: &[Sum], hidden: &[bool]) -> Vec<usize> {
    let cells: Vec<usize> = (0..hidden.len()).filter(|i| hidden[*i]).collect();
    let matrix = |skip: Option<usize>| -> Vec<Vec<i128>> {
        sums.iter()
            .map(|s| {
                cells
                    .iter()
                    .filter(|c| Some(**c) != skip)
                    .map(|c| {
                        if *c == s.total {
                            -1
                        } else {
                            i128::from(s.parts.contains(c))
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let full = rank(matrix(None));
    cells
        .iter()
        .copied()
        .filter(|c| rank(matrix(Some(*c))) < full)
        .collect()
}

fn check_protected(mut rows: Vec<Observation>, expected_sums: usize) -> Result<(), TestCaseError> {
    let registry = AreaRegistry::default();
    let policy = SuppressionPolicy::default();
    rows.sort_by_cached_key(Observation::key);
    let original = rows.clone();
    let sums = additive_sums(&rows, &registry);
    prop_assert_eq!(sums.len(), expected_sums);
    protect(&mut rows, Unit::Count, &registry, &policy);
    prop_assert_eq!(rows.len(), original.len());
    let hidden: Vec<bool> = rows.iter().map(|o| o.value.is_none()).collect();
    for (before, after) in original.iter().zip(&rows) {
        prop_assert_eq!(before.key(), after.key());
        match (before.value, after.value) {
            (Some(v), Some(shown)) => {
                prop_assert!(v > policy.threshold, "{} shown", v);
                prop_assert_eq!(shown % 5.0, 0.0);
                prop_assert!((shown - v).abs() <= 2.5);
            }
            (_, None) => {}
            (None, Some(_)) => prop_assert!(false, "a secret cell became visible"),
        }
    }
    for sum in &sums {
        prop_assert!(sum.members().filter(|m| hidden[*m]).count() != 1);
    }
    prop_assert_eq!(determined_cells(&sums, &hidden), Vec::<usize>::new());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn one_way_tables_hide_nothing_derivable(parts in prop::collection::vec(0u32..60, 2..7)) {
        let total: u32 = parts.iter().sum();
        let mut rows = vec![obs("GM0001", Breakdown::total(), f64::from(total))];
        for (i, v) in parts.iter().enumerate() {
            rows.push(obs("GM0001", Breakdown::total().with("groep", &format!("g{i}")), f64::from(*v)));
        }
        check_protected(rows, 1)?;
    }

    #[test]
    fn two_way_tables_hide_nothing_derivable(cells in prop::collection::vec(prop::collection::vec(0u32..40, 2..5), 2..5)) {
        let cols = cells.iter().map(Vec::len).min().unwrap_or(2);
        let mut rows = Vec::new();
        let (mut total, mut col_totals) = (0, vec![0; cols]);
        for (r, line) in cells.iter().enumerate() {
            let line = &line[..cols];
            let row_total: u32 = line.iter().sum();
            total += row_total;
            let by_row = Breakdown::total().with("leeftijd", &format!("l{r}"));
            rows.push(obs("GM0001", by_row.clone(), f64::from(row_total)));
            for (c, v) in line.iter().enumerate() {
                col_totals[c] += v;
                rows.push(obs("GM0001", by_row.with("geslacht", &format!("s{c}")), f64::from(*v)));
            }
        }
        for (c, v) in col_totals.iter().enumerate() {
            rows.push(obs("GM0001", Breakdown::total().with("geslacht", &format!("s{c}")), f64::from(*v)));
        }
        rows.push(obs("GM0001", Breakdown::total(), f64::from(total)));
        check_protected(rows, cells.len() + cols + 2)?;
    }

    #[test]
    fn districts_and_breakdowns_hide_nothing_derivable(districts in prop::collection::vec((0u32..30, 0u32..30), 2..6)) {
        let mut rows = Vec::new();
        let (mut girls, mut boys) = (0, 0);
        for (i, (g, b)) in districts.iter().enumerate() {
            let wk = format!("WK0001{i:02}");
            rows.push(obs(&wk, Breakdown::total(), f64::from(g + b)));
            rows.push(obs(&wk, Breakdown::total().with("geslacht", "meisje"), f64::from(*g)));
            rows.push(obs(&wk, Breakdown::total().with("geslacht", "jongen"), f64::from(*b)));
            girls += g;
            boys += b;
        }
        rows.push(obs("GM0001", Breakdown::total(), f64::from(girls + boys)));
        rows.push(obs("GM0001", Breakdown::total().with("geslacht", "meisje"), f64::from(girls)));
        rows.push(obs("GM0001", Breakdown::total().with("geslacht", "jongen"), f64::from(boys)));
        // One breakdown sum per area, plus three geographic sums (total, girls, boys).
        check_protected(rows, districts.len() + 1 + 3)?;
    }

    #[test]
    fn cells_are_sorted_as_by_their_full_keys_and_the_first_of_equal_cells_stays(
        cells in prop::collection::vec((0u8..4, 0u8..4, 0u8..3, 0u32..50), 0..80),
    ) {
        let categories = ["meisje", "jongen", "0-11", "12-17"];
        let rows: Vec<Observation> = cells
            .iter()
            .map(|(area, category, year, value)| {
                let breakdown = match category {
                    0 => Breakdown::total(),
                    c => Breakdown::total().with(
                        if *c == 1 { "geslacht" } else { "leeftijd" },
                        categories[usize::from(*c)],
                    ),
                };
                let mut o = obs(&format!("GM000{area}"), breakdown, f64::from(*value));
                o.period = Period::year(2020 + i16::from(*year));
                o
            })
            .collect();
        let mut plain = rows.clone();
        plain.sort_by(|a, b| (a.area, &a.breakdown, a.period).cmp(&(b.area, &b.breakdown, b.period)));
        plain.dedup_by(|a, b| a.area == b.area && a.period == b.period && a.breakdown == b.breakdown);
        let mut ranked = rows;
        sort_cells(&mut ranked);
        prop_assert_eq!(ranked, plain);
    }

    #[test]
    fn the_cell_index_finds_a_cell_where_a_search_of_every_row_does(
        cells in prop::collection::vec((0u8..4, 0u8..4, 0u8..3), 0..60),
        looked_up in prop::collection::vec((0u8..5, 0u8..5, 0u8..3), 0..60),
        in_stored_order in any::<bool>(),
    ) {
        let categories = ["meisje", "jongen", "0-11", "12-17", "18-22"];
        // Every row gets a breakdown map of its own, as rows decoded from another batch have.
        let row = |(area, category, year): (u8, u8, u8)| {
            let breakdown = match category {
                0 => Breakdown::total(),
                c => Breakdown::total().with(
                    if c == 1 { "geslacht" } else { "leeftijd" },
                    categories[usize::from(c)],
                ),
            };
            let mut o = obs(&format!("GM000{area}"), breakdown, 1.0);
            o.period = Period::year(2020 + i16::from(year));
            o
        };
        let mut sorted: Vec<Observation> = cells.into_iter().map(row).collect();
        sort_cells(&mut sorted);
        // Looked up as stored (the sorted rows again, some left out) or in any order.
        let wanted: Vec<Observation> = if in_stored_order {
            sorted.iter().enumerate().filter(|(i, _)| i % 3 != 1).map(|(_, o)| o.clone()).collect()
        } else {
            looked_up.into_iter().map(row).collect()
        };
        let mut index = CellIndex::of(&sorted);
        for o in &wanted {
            let plain = sorted
                .iter()
                .position(|s| s.area == o.area && s.breakdown == o.breakdown && s.period == o.period);
            prop_assert_eq!(index.find(o), plain);
        }
    }
}

#[test]
fn a_single_small_part_takes_a_second_cell_with_it() {
    let mut rows = vec![
        obs("GM0001", Breakdown::total(), 100.0),
        obs("GM0001", Breakdown::total().with("geslacht", "meisje"), 3.0),
        obs(
            "GM0001",
            Breakdown::total().with("geslacht", "jongen"),
            97.0,
        ),
    ];
    let report = protect(
        &mut rows,
        Unit::Count,
        &AreaRegistry::default(),
        &SuppressionPolicy::default(),
    );
    assert_eq!((report.primary, report.secondary), (1, 1));
    // Sorted by key: the total, then jongen and meisje.
    let values: Vec<_> = rows.iter().map(|o| o.value).collect();
    assert_eq!(values, vec![Some(100.0), None, None]);
}

#[test]
fn percentages_on_small_groups_are_secret_and_others_follow_the_rounded_count() {
    let mut small = obs("GM0001", Breakdown::total(), 50.0);
    small.denominator = Some(10.0);
    // 12.3% of 1234 is 152 people: shown as 150 of 1235.
    let mut large = obs("GM0002", Breakdown::total(), 12.3);
    large.denominator = Some(1234.0);
    let mut no_base = obs("GM0003", Breakdown::total(), 12.3);
    no_base.denominator = None;
    let mut rows = vec![small, large, no_base];
    protect(
        &mut rows,
        Unit::Percentage,
        &AreaRegistry::default(),
        &SuppressionPolicy::default(),
    );
    assert_eq!(rows[0].value, None);
    assert_eq!(rows[1].value, Some(150.0 / 1235.0 * 100.0));
    assert_eq!(rows[1].denominator, Some(1235.0));
    assert_eq!(rows[2].value, Some(12.3));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A shown rate times its shown denominator is the count behind it rounded as counts are,
    /// never the exact count; and protecting again (as every output does) changes nothing.
    #[test]
    fn shown_rates_give_back_only_the_rounded_count(
        cells in prop::collection::vec((0u32..5_000, 0u32..=1000, any::<bool>()), 1..30),
    ) {
        let policy = SuppressionPolicy::default();
        for unit in [Unit::Percentage, Unit::PerThousand] {
            let per = unit.per().unwrap();
            let mut rows: Vec<Observation> = cells
                .iter()
                .enumerate()
                .map(|(i, (denominator, share, exact))| {
                    let denominator = f64::from(*denominator);
                    // A count over the denominator, as a file of rates would give it (exactly, or
                    // written with one decimal).
                    let people = (denominator * f64::from(*share) / 1000.0).floor();
                    let rate = people / denominator.max(1.0) * per;
                    let mut o = obs(
                        &format!("GM{:04}", i + 1),
                        Breakdown::total(),
                        if *exact { rate } else { (rate * 10.0).round() / 10.0 },
                    );
                    o.denominator = Some(denominator);
                    o
                })
                .collect();
            protect(&mut rows, unit, &AreaRegistry::default(), &policy);
            for o in &rows {
                let Some(value) = o.value else { continue };
                let denominator = o.denominator.expect("a shown rate keeps its denominator");
                prop_assert_eq!(denominator % policy.round_to, 0.0);
                let count = value * denominator / per;
                let rounded = (count / policy.round_to).round() * policy.round_to;
                prop_assert!((count - rounded).abs() < 1e-6, "{} {} gives {}", value, denominator, count);
                prop_assert!(rounded > policy.threshold);
            }
            let once = rows.clone();
            protect(&mut rows, unit, &AreaRegistry::default(), &policy);
            prop_assert_eq!(rows, once);
        }
    }
}

#[test]
fn rounding_goes_to_the_nearest_multiple() {
    assert_eq!(round_to(12.0, 5.0), 10.0);
    assert_eq!(round_to(12.5, 5.0), 15.0);
    assert_eq!(round_to(13.0, 1.0), 13.0);
}
