//! Figures through a replica: storing protects, batches from two replicas merge the same way on
//! both, stories are listed beside their indicator, and damaged or personal batches are refused.

use super::storage::{Figures, IndicatorFields};
use super::test_support::obs as row;
use super::*;
use crate::document::Assignment;
use crate::identity::Identity;
use crate::{MemoryStore, OrgType, Replica, ReplicaError, Timestamp};

fn replica(seed: u8) -> Replica<MemoryStore> {
    crate::composition::init(
        MemoryStore::default(),
        Identity::new("Gemeente Test", OrgType::Gemeente, [seed; 32], [seed; 16]),
    )
    .unwrap()
}

fn define(figures: &Figures<'_, MemoryStore>) -> Indicator {
    let fields = IndicatorFields {
        unit: Some("aantal".into()),
        better: Some("lager".into()),
        ..IndicatorFields::default()
    };
    figures
        .define("jeugdhulp", &fields, Timestamp(1), [1; 8])
        .unwrap()
}

#[test]
fn stored_figures_are_protected_before_they_are_saved() {
    let r = replica(1);
    let figures = Figures::new(&r);
    let ind = define(&figures);
    let rows = vec![
        row("GM0001", Breakdown::total(), 101.0),
        row("GM0001", Breakdown::total().with("geslacht", "meisje"), 4.0),
        row(
            "GM0001",
            Breakdown::total().with("geslacht", "jongen"),
            97.0,
        ),
    ];
    let stored = figures
        .store_observations(&ind, rows, Timestamp(2), [2; 8])
        .unwrap();
    assert_eq!(
        (stored.protection.primary, stored.protection.secondary),
        (1, 1)
    );
    let table = figures.observations(&ind).unwrap();
    let values: Vec<_> = table.iter().map(|o| o.value).collect();
    assert_eq!(values, vec![Some(100.0), None, None]);
    // The raw small number is nowhere in the saved document's batches.
    let loaded = r.load(&ind.id).unwrap();
    let batches = storage::read_batches(&loaded.doc).unwrap();
    assert_eq!(batches.len(), 1);
    let stored = codec::decode(&batches[0]).unwrap();
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().all(|o| o.value != Some(4.0)), "{stored:?}");
}

#[test]
fn batches_from_two_replicas_merge_to_the_same_table() {
    let (a, b) = (replica(1), replica(2));
    let ind = define(&Figures::new(&a));
    b.import(&a.export(&ind.id).unwrap()).unwrap();
    Figures::new(&a)
        .store_observations(
            &ind,
            vec![row("GM0001", Breakdown::total(), 50.0)],
            Timestamp(5),
            [5; 8],
        )
        .unwrap();
    Figures::new(&b)
        .store_observations(
            &ind,
            vec![
                row("GM0001", Breakdown::total(), 80.0),
                row("GM0002", Breakdown::total(), 20.0),
            ],
            Timestamp(6),
            [6; 8],
        )
        .unwrap();
    a.import(&b.export(&ind.id).unwrap()).unwrap();
    b.import(&a.export(&ind.id).unwrap()).unwrap();
    let ta = Figures::new(&a).observations(&ind).unwrap();
    let tb = Figures::new(&b).observations(&ind).unwrap();
    assert_eq!(ta, tb);
    // The later batch wins for GM0001.
    let gm1 = ta.get(
        AreaCode::parse("GM0001").unwrap(),
        &Breakdown::total(),
        Period::year(2023),
    );
    assert_eq!(gm1.and_then(|o| o.value), Some(80.0));
    assert_eq!(ta.len(), 2);
}

#[test]
fn stories_policy_and_registry_are_read_back() {
    let r = replica(1);
    let figures = Figures::new(&r);
    let ind = define(&figures);
    let set = |f: &str, v: &str| Assignment {
        field: f.into(),
        value: v.into(),
    };
    r.create(
        "verhaal",
        &[
            set("soort", "persona"),
            set("titel", "Noor, 15"),
            set("indicator", "jeugdhulp"),
            set("aantal-jongeren", "140"),
        ],
        Timestamp(3),
        [3; 8],
    )
    .unwrap();
    let stories = figures.stories(&ind).unwrap();
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0].aantal_jongeren, Some(140.0));
    let policy = SuppressionPolicy {
        threshold: 10.0,
        round_to: 1.0,
        secondary: false,
    };
    figures.set_policy(&policy, Timestamp(4), [4; 8]).unwrap();
    assert_eq!(figures.policy().unwrap(), policy);
    let mut registry = AreaRegistry::default();
    registry.insert(
        AreaCode::parse("GM0001").unwrap(),
        AreaInfo {
            name: "Havenstad".into(),
            region: AreaCode::parse("JZ01").ok(),
            size_class: Some("4".into()),
            province: None,
        },
    );
    figures
        .store_registry(&registry, Timestamp(5), [5; 8])
        .unwrap();
    assert_eq!(figures.registry().unwrap(), registry);
    assert!(matches!(
        figures.indicator("onbekend"),
        Err(storage::FiguresError::UnknownIndicator { .. })
    ));
}

#[test]
fn an_incoming_indicator_with_a_bsn_in_a_batch_is_refused() {
    let a = replica(1);
    let ind = define(&Figures::new(&a));
    let mut loaded = a.load(&ind.id).unwrap();
    use automerge::{ObjType, ROOT, ScalarValue, transaction::Transactable};
    let map = loaded
        .doc
        .put_object(ROOT, storage::BATCHES, ObjType::Map)
        .unwrap();
    loaded
        .doc
        .put(
            &map,
            "0-x-0000",
            ScalarValue::Bytes(b"GM0001\t2023JJ00\t50\t\td\tgroep=111222333\t\n".to_vec()),
        )
        .unwrap();
    a.commit(&mut loaded, "cijfers", Timestamp(9)).unwrap();
    let b = replica(2);
    let err = b.import(&a.export(&ind.id).unwrap()).unwrap_err();
    assert!(
        matches!(err, ReplicaError::BadImport(ref m) if m.contains("burgerservicenummer")),
        "{err}"
    );
}

mod merge_order {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// Three partners each store figures for overlapping cells; whatever order the documents
        /// travel in, every replica ends with the same table.
        #[test]
        fn every_arrival_order_gives_the_same_table(
            values in prop::collection::vec((0u8..4, 10u32..200), 3),
            order in Just([0usize, 1, 2]).prop_shuffle(),
        ) {
            let replicas: Vec<_> = (1..=3).map(replica).collect();
            let ind = define(&Figures::new(&replicas[0]));
            let first = replicas[0].export(&ind.id).unwrap();
            for r in &replicas[1..] {
                r.import(&first).unwrap();
            }
            for (i, (r, (cell, value))) in replicas.iter().zip(&values).enumerate() {
                let area = format!("GM000{cell}");
                Figures::new(r)
                    .store_observations(&ind, vec![row(&area, Breakdown::total(), f64::from(*value))], Timestamp(10 + i as i64), [i as u8; 8])
                    .unwrap();
            }
            let exports: Vec<Vec<u8>> = replicas.iter().map(|r| r.export(&ind.id).unwrap()).collect();
            let fresh = replica(9);
            for i in order {
                fresh.import(&exports[i]).unwrap();
            }
            for r in &replicas {
                for e in &exports {
                    r.import(e).unwrap();
                }
            }
            let expected = Figures::new(&fresh).observations(&ind).unwrap();
            for r in &replicas {
                prop_assert_eq!(&Figures::new(r).observations(&ind).unwrap(), &expected);
            }
        }
    }
}

fn assign(pairs: &[(&str, &str)]) -> Vec<Assignment> {
    pairs
        .iter()
        .map(|(f, v)| Assignment {
            field: (*f).into(),
            value: (*v).into(),
        })
        .collect()
}

fn rate(figures: &Figures<'_, MemoryStore>, name: &str, unit: &str) -> Indicator {
    let fields = IndicatorFields {
        unit: Some(unit.into()),
        better: Some("lager".into()),
        ..IndicatorFields::default()
    };
    let random = [name.len() as u8; 8];
    figures.define(name, &fields, Timestamp(1), random).unwrap()
}

#[test]
fn a_result_names_an_existing_indicator_and_keeps_to_its_unit() {
    let r = replica(1);
    let figures = Figures::new(&r);
    let result = |pairs: &[(&str, &str)]| {
        r.create(
            "maatschappelijk-resultaat",
            &assign(pairs),
            Timestamp(5),
            [9; 8],
        )
    };
    let err = result(&[
        ("titel", "Minder thuiszitters"),
        ("indicator", "thuiszitters"),
    ])
    .unwrap_err();
    assert!(
        matches!(&err, ReplicaError::Value(v) if v.field == "indicator"),
        "{err}"
    );
    rate(&figures, "thuiszitters", "per-1000");
    rate(&figures, "sport", "percentage");
    // Per 1,000: above 100 is fine; a count would be whole.
    let id = result(&[
        ("titel", "Minder thuiszitters"),
        ("indicator", "thuiszitters"),
        ("nulmeting", "6,5"),
        ("streefwaarde", "240"),
    ])
    .unwrap();
    let err = result(&[("indicator", "sport"), ("streefwaarde", "140")]).unwrap_err();
    assert!(
        matches!(&err, ReplicaError::Value(v) if v.field == "streefwaarde"),
        "{err}"
    );
    // Moving the result to the percentage indicator checks the numbers it already has.
    let err = r
        .update(&id, &assign(&[("indicator", "sport")]), Timestamp(6))
        .unwrap_err();
    assert!(
        matches!(&err, ReplicaError::Value(v) if v.field == "streefwaarde"),
        "{err}"
    );
    // Other edits of the result are not held up.
    r.update(
        &id,
        &assign(&[("titel", "Minder thuiszitters, ook in de wijken")]),
        Timestamp(7),
    )
    .unwrap();
}

#[test]
fn targets_give_each_result_its_latest_value_and_course() {
    let r = replica(1);
    let figures = Figures::new(&r);
    let ind = rate(&figures, "thuiszitters", "per-1000");
    let year = |y: i16, v: f64| Observation {
        period: Period::year(y),
        denominator: Some(20_000.0),
        ..row("GM0001", Breakdown::total(), v)
    };
    figures
        .store_observations(
            &ind,
            vec![year(2023, 6.5), year(2024, 5.0)],
            Timestamp(2),
            [2; 8],
        )
        .unwrap();
    // Created at the start of 2025 with a target for the end of 2026; asked about in mid-2025.
    let start = "2025-01-01T00:00:00+01:00"
        .parse::<jiff::Timestamp>()
        .unwrap();
    r.create(
        "maatschappelijk-resultaat",
        &assign(&[
            ("titel", "Minder thuiszitters"),
            ("indicator", "thuiszitters"),
            ("nulmeting", "6,5"),
            ("streefwaarde", "4"),
            ("streefdatum", "2026-12-31"),
        ]),
        Timestamp(start.as_millisecond()),
        [9; 8],
    )
    .unwrap();
    let figures = Figures::new(&r);
    let area = AreaCode::parse("GM0001").unwrap();
    let now = Timestamp(start.as_millisecond() + 182 * 86_400_000);
    let all = figures.all_targets(area, now).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].indicator, "thuiszitters");
    let t = &all[0].results[0];
    assert_eq!((t.baseline, t.target), (Some(6.5), Some(4.0)));
    let latest = t.latest.as_ref().unwrap();
    assert_eq!(
        (latest.period, latest.value),
        (Period::year(2024), Some(5.0))
    );
    // 60% of the way in 25% of the time.
    assert_eq!(t.course, targets::Course::OnCourse, "{}", t.course_note);
    assert_eq!(
        t.course_note,
        "60% van de weg afgelegd, 25% van de tijd verstreken"
    );
    // Up to 2023 the value is still the baseline.
    let (table, _) = figures.shown_observations(&ind).unwrap();
    let then = figures
        .targets(&ind, &table, area, Some(Period::year(2023)), now)
        .unwrap();
    assert_eq!(then.results[0].course, targets::Course::OffCourse);
}
