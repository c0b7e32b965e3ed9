//! Storing figures over figures already stored, and one large period: the stored table is what
//! protecting all rows at once gives, no cell is lost, and a period over the limit is refused
//! without storing anything.

use super::import::{ImportError, ImportOptions, read_csv};
use super::period_rows::MAX_PERIOD_ROWS;
use super::storage::{Figures, FiguresError, IndicatorFields};
use super::*;
use crate::identity::Identity;
use crate::{MemoryStore, OrgType, Replica, Timestamp};

fn replica() -> Replica<MemoryStore> {
    crate::composition::init(
        MemoryStore::default(),
        Identity::new("Gemeente Test", OrgType::Gemeente, [3; 32], [3; 16]),
    )
    .unwrap()
}

fn define(figures: &Figures<'_, MemoryStore>) -> Indicator {
    let fields = IndicatorFields {
        unit: Some("aantal".into()),
        ..IndicatorFields::default()
    };
    figures
        .define("jeugdhulp", &fields, Timestamp(1), [1; 8])
        .unwrap()
}

/// A CBS-shaped CSV: `municipalities` municipalities with 3 districts of 3 neighbourhoods each,
/// the given years, total and by sex; about one cell in ten is small. `seed` varies the values.
fn csv(municipalities: u32, years: &[i16], seed: u64) -> String {
    // Values that vary without a pattern that lines up with the areas: a multiplicative hash of
    // a running number.
    let mut n = seed;
    let mut next = |below: u64| {
        n += 1;
        (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % below
    };
    let mut out = String::from("RegioS;Perioden;Geslacht;Waarde\n");
    for year in years {
        for gm in 1..=municipalities {
            let mut areas = vec![format!("GM{gm:04}")];
            for wk in 0..3 {
                areas.push(format!("WK{gm:04}{wk:02}"));
                for bu in 0..3 {
                    areas.push(format!("BU{gm:04}{wk:02}{bu:02}"));
                }
            }
            for area in areas {
                let boys = if next(10) == 0 {
                    next(6)
                } else {
                    20 + next(300)
                };
                let girls = 20 + next(300);
                for (sex, value) in [
                    ("Totaal", boys + girls),
                    ("Jongens", boys),
                    ("Meisjes", girls),
                ] {
                    out.push_str(&format!("{area};{year}JJ00;{sex};{value}\n"));
                }
            }
        }
    }
    out
}

fn read(text: &str) -> PeriodRows {
    let parsed = read_csv(text.as_bytes(), &ImportOptions::default(), &mut |_| {}).unwrap();
    parsed.tables.into_iter().next().unwrap().rows
}

/// What protecting every given row at once gives, the first of equal cells winning.
fn protected_at_once(mut rows: Vec<Observation>) -> ObservationTable {
    protect(
        &mut rows,
        Unit::Count,
        &AreaRegistry::default(),
        &SuppressionPolicy::default(),
    );
    rows.into_iter().collect()
}

#[test]
fn importing_over_stored_rows_gives_the_table_of_protecting_everything_at_once() {
    let r = replica();
    let figures = Figures::new(&r);
    let ind = define(&figures);
    let years = [2021, 2022, 2023];
    let first = read(&csv(12, &years, 1));
    let cells = first.len();
    let expected = protected_at_once(first.to_vec());
    let stored = figures
        .store_rows(&ind, first.clone(), Timestamp(2), [2; 8])
        .unwrap();
    assert_eq!(stored.rows, cells);
    assert_eq!(figures.observations(&ind).unwrap(), expected);

    // The same rows again change nothing and lose nothing.
    let again = figures
        .store_rows(&ind, first, Timestamp(3), [3; 8])
        .unwrap();
    assert_eq!(again.rows, 0);
    assert_eq!(figures.observations(&ind).unwrap(), expected);

    // Other values for two of the years, and a year that was not stored: the new rows win over
    // the stored ones, and the result is what protecting the new rows with everything stored
    // would give in one go.
    let second = read(&csv(14, &[2022, 2023, 2024], 2));
    let mut together = second.to_vec();
    together.reverse();
    together.extend(expected.iter().cloned());
    let expected = protected_at_once(together);
    figures
        .store_rows(&ind, second, Timestamp(4), [4; 8])
        .unwrap();
    let table = figures.observations(&ind).unwrap();
    assert_eq!(table, expected);
    // Nothing lost: every cell of both imports is there (14 municipalities for the later years,
    // 12 for 2021), 13 areas a municipality, 3 breakdowns an area.
    assert_eq!(table.len(), (12 + 3 * 14) * 13 * 3);
    assert!(table.iter().all(|o| o.value.is_none_or(|v| v > 7.0)));
}

#[test]
fn one_large_period_is_stored_as_protecting_it_whole_would() {
    let r = replica();
    let figures = Figures::new(&r);
    let ind = define(&figures);
    let rows = read(&csv(400, &[2024], 5));
    assert_eq!(rows.periods().count(), 1);
    let expected = protected_at_once(rows.to_vec());
    let stored = figures
        .store_rows(&ind, rows, Timestamp(2), [2; 8])
        .unwrap();
    assert!(stored.protection.secondary > 0, "{stored:?}");
    let table = figures.observations(&ind).unwrap();
    assert_eq!(table.len(), 400 * 13 * 3);
    assert_eq!(table, expected);
}

#[test]
fn a_period_with_more_rows_than_can_be_protected_at_once_is_refused() {
    let mut text = String::from("RegioS;Perioden;Waarde\n");
    for i in 0..=MAX_PERIOD_ROWS {
        text.push_str(&format!("BU{:08};2024JJ00;{}\n", i, 10 + i % 90));
    }
    let err = read_csv(text.as_bytes(), &ImportOptions::default(), &mut |_| {}).unwrap_err();
    assert_eq!(
        err,
        ImportError::PeriodTooLarge {
            period: Period::year(2024),
            limit: MAX_PERIOD_ROWS
        }
    );
    assert!(err.to_string().contains("periode 2024JJ00"), "{err}");

    // Storing checks the same limit, and then stores nothing.
    let r = replica();
    let figures = Figures::new(&r);
    let ind = define(&figures);
    let rows: Vec<Observation> = (0..=MAX_PERIOD_ROWS)
        .map(|i| Observation {
            area: AreaCode::parse(&format!("BU{i:08}")).unwrap(),
            period: Period::year(2024),
            breakdown: Breakdown::total(),
            value: Some(100.0),
            denominator: None,
            status: Status::Definitief,
            note: None,
        })
        .collect();
    let err = figures
        .store_observations(&ind, rows, Timestamp(2), [2; 8])
        .unwrap_err();
    assert!(
        matches!(&err, FiguresError::PeriodTooLarge { indicator, period, .. }
            if indicator == "jeugdhulp" && *period == Period::year(2024)),
        "{err}"
    );
    assert!(err.is_input_error());
    assert!(figures.observations(&ind).unwrap().is_empty());
}

#[test]
fn the_shown_cache_is_reused_until_the_figures_or_the_policy_change() {
    let r = replica();
    let figures = Figures::new(&r);
    let ind = define(&figures);
    figures
        .store_rows(&ind, read(&csv(3, &[2022, 2023], 7)), Timestamp(2), [2; 8])
        .unwrap();
    let cache = super::shown_cache::ShownCache::default();
    let first = figures.shown_cached(&ind, &cache).unwrap();
    let (table, registry) = figures.shown_observations(&ind).unwrap();
    assert_eq!(first.table, table);
    assert_eq!(first.registry, registry);
    // Nothing changed: the same table, not computed again.
    let again = figures.shown_cached(&ind, &cache).unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &again));

    // A new batch makes a new version of the indicator, and so a fresh table.
    figures
        .store_rows(&ind, read(&csv(4, &[2024], 8)), Timestamp(3), [3; 8])
        .unwrap();
    let grown = figures.shown_cached(&ind, &cache).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &grown));
    assert_eq!(grown.table, figures.shown_observations(&ind).unwrap().0);
    assert!(grown.table.len() > first.table.len());

    // A stricter policy applies at once: counts up to the new threshold become secret.
    let stricter = SuppressionPolicy {
        threshold: 100.0,
        ..SuppressionPolicy::default()
    };
    figures.set_policy(&stricter, Timestamp(4), [4; 8]).unwrap();
    let strict = Figures::new(&r).shown_cached(&ind, &cache).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&grown, &strict));
    assert!(
        strict
            .table
            .iter()
            .all(|o| o.value.is_none_or(|v| v > 100.0)),
        "a count under the stricter threshold is shown"
    );
    assert!(
        grown
            .table
            .iter()
            .any(|o| o.value.is_some_and(|v| v <= 100.0))
    );
}
