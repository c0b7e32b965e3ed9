//! How long the report of a round takes, as HTML and as PDF, with the real binary.
//!
//! The round has 200 documents (ambitions, results each linked to its own indicator,
//! activities, change stories, conversations, stories and 50 improvement actions) and 20
//! percentage indicators with ten years of figures each. The figure is the median of five runs of
//! `kompas rapport ronde --out FILE` per format (the whole command: opening the data directory,
//! reading, building, rendering and writing). Scale with KOMPAS_BENCH_RUNS (default 5).
//!
//! Run with: cargo bench -p kompas-tests --bench report

use std::time::Instant;

use kompas_engine::document::Assignment;
use kompas_engine::figures::storage::{Figures, IndicatorFields};
use kompas_engine::figures::{AreaCode, Breakdown, Observation, Period, Status};
use kompas_engine::runtime::{Flows, Fresh};
use kompas_engine::store::DataDir;
use kompas_engine::{Replica, Timestamp, definition};
use kompas_tests::Kompas;

const INDICATORS: usize = 20;
const ACTIONS: usize = 50;
const DOCUMENTS: usize = 200;

fn main() {
    let runs: usize = std::env::var("KOMPAS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let k = Kompas::new(dir.path().join("gemeente"));
    k.ok(&["init", "--org", "Gemeente Havenstad", "--type", "gemeente"]);
    let documents = fill(&k);

    let mut figures = Vec::new();
    for ext in ["html", "pdf"] {
        let out = dir.path().join(format!("rapport.{ext}"));
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let start = Instant::now();
                k.ok(&["rapport", "ronde", "--out", out.to_str().expect("path")]);
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        figures.push((ext, times[times.len() / 2], bytes));
    }
    println!(
        "report of a round: {documents} documents, {INDICATORS} indicators, {ACTIONS} improvement actions; median of {runs} runs"
    );
    for (ext, secs, bytes) in &figures {
        println!(
            "  {ext:<4} {:>8.1} ms   {:>8} KiB",
            secs * 1000.0,
            bytes / 1024
        );
    }
    if let [(_, html, _), (_, pdf, _)] = figures.as_slice() {
        println!("  pdf / html: {:.1}", pdf / html);
    }
}

/// Writes the round's documents straight into the replica; returns how many there are.
fn fill(k: &Kompas) -> usize {
    let data = DataDir::open(k.data()).expect("data dir");
    let replica =
        kompas_engine::composition::open(data.sole_store().expect("store")).expect("replica");
    let registry = definition::builtin_registry();
    let mut seq = 0u64;
    let mut next = || {
        seq += 1;
        (
            Timestamp(1_800_000_000_000 + seq as i64 * 1000),
            seq.to_be_bytes(),
        )
    };
    let mut create = |replica: &Replica<_>, kind: &str, fields: &[String]| {
        let set: Vec<Assignment> = fields
            .iter()
            .map(|f| Assignment::parse(f).expect("assignment"))
            .collect();
        let (at, random) = next();
        replica.create(kind, &set, at, random).expect("create")
    };
    let mut count = 0;
    let (at, random) = (Timestamp(1_800_000_000_000), [0xee; 8]);
    // The documents of the workflow's own kinds belong to the round by being linked to it.
    let mut linked = Vec::new();
    linked.push(create(
        &replica,
        "samenwerking",
        &["naam=Samen voor Havenstad".into()],
    ));
    count += 1;
    let figures = Figures::new(&replica);
    let area = AreaCode::parse("GM9901").expect("area");
    for i in 0..INDICATORS {
        let name = format!("indicator-{i}");
        let fields = IndicatorFields {
            title: Some(format!("Indicator {i}")),
            unit: Some("percentage".into()),
            better: Some("hoger".into()),
            source: Some("synthetisch".into()),
            ..Default::default()
        };
        let indicator = figures
            .define(&name, &fields, at, [i as u8 + 1; 8])
            .expect("define");
        let rows = (0..10)
            .map(|y| Observation {
                area,
                period: Period::year(2016 + y),
                breakdown: Breakdown::total(),
                value: Some(50.0 + f64::from(y) + i as f64 / 10.0),
                denominator: Some(24_000.0),
                status: if y == 9 {
                    Status::Voorlopig
                } else {
                    Status::Definitief
                },
                note: None,
            })
            .collect();
        figures
            .store_observations(&indicator, rows, at, [i as u8 + 100; 8])
            .expect("figures");
        let ambition = create(
            &replica,
            "ambitie",
            &[
                format!("titel=Ambitie {i}"),
                format!("toelichting={}", "Meer kinderen doen mee. ".repeat(8)),
            ],
        );
        linked.push(ambition.clone());
        linked.push(create(
            &replica,
            "maatschappelijk-resultaat",
            &[
                format!("titel=Resultaat {i}"),
                format!("ambitie={ambition}"),
                format!("indicator={name}"),
                "nulmeting=50".into(),
                "streefwaarde=65".into(),
                "streefdatum=2030-12-31".into(),
            ],
        ));
        create(
            &replica,
            "verhaal",
            &[
                "soort=persona".into(),
                format!("titel=Persona {i}"),
                format!("indicator={name}"),
                "tekst=Een verzonnen jongere.".into(),
                "aantal-jongeren=120".into(),
            ],
        );
        count += 3;
    }
    for i in 0..ACTIONS {
        create(
            &replica,
            "verbeteractie",
            &[
                format!("actie=Actie {i}"),
                "eigenaar=Gemeente Havenstad".into(),
                "deadline=2027-06-30".into(),
                "status=bezig".into(),
            ],
        );
        count += 1;
    }
    for i in 0..10 {
        create(
            &replica,
            "cijfergesprek",
            &[
                format!("titel=Gesprek {i}"),
                "doel=Samen de cijfers duiden.".into(),
                "herkennen=Ja.".into(),
                "verklaren=Deels.".into(),
            ],
        );
        count += 1;
    }
    while count < DOCUMENTS {
        linked.push(create(
            &replica,
            "activiteit",
            &[
                format!("titel=Activiteit {count}"),
                format!("beschrijving={}", "Wat we doen. ".repeat(10)),
            ],
        ));
        count += 1;
    }
    Flows::new(&replica, &registry)
        .start(
            "kwaliteitskompas",
            Some("Cyclus 2027"),
            &linked,
            at,
            Fresh {
                doc: random,
                fact: [0xee; 16],
            },
        )
        .expect("start");
    count
}
