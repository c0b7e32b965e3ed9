//! Figures benchmark: streaming CSV import of a generated 1,000,000-row CBS-shaped file, and a
//! peer-group comparison of every municipality for 10 years.
//!
//! Run with `cargo bench -p kompas-engine --bench figures`. `KOMPAS_BENCH_ROWS` lowers the row
//! count for a quick look. Import is timed in its phases (reading and checking the CSV; protecting
//! and storing) and reported as rows per second; peak memory is the process's high-water mark,
//! read right after the import (the in-memory store holds the stored document, so it counts).
//! The same file is then imported again over what is stored, and protection and encoding are
//! timed on their own.

use std::io::Write as _;
use std::time::Instant;

use kompas_engine::figures::benchmark::{PeerGroup, Reference, compare};
use kompas_engine::figures::codec::{encode, encode_batches};
use kompas_engine::figures::import::{ImportOptions, read_csv};
use kompas_engine::figures::storage::{Figures, IndicatorFields, Stored};
use kompas_engine::figures::{
    AreaCode, AreaInfo, AreaRegistry, Breakdown, Direction, Indicator, Observation,
    ObservationTable, Period, Status, SuppressionPolicy, Unit, protect,
};
use kompas_engine::identity::Identity;
use kompas_engine::{DocId, MemoryStore, OrgType, Timestamp};

const MUNICIPALITIES: u32 = 342;
const YEARS: i16 = 10;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process in MiB (Linux), if known.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A cheap deterministic pseudo-random sequence.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Writes `rows` rows shaped like a StatLine download: municipalities, their districts and
/// neighbourhoods, 10 years, total and by sex.
fn write_csv(path: &std::path::Path, rows: usize) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "\"ID\";\"Geslacht\";\"RegioS\";\"Perioden\";\"Waarde\";\"Noemer\""
    )?;
    let mut rng = Lcg(7);
    let mut written = 0usize;
    'all: for year in 2015..2015 + YEARS {
        for gm in 1..=MUNICIPALITIES {
            let mut areas = vec![format!("GM{gm:04}  ")];
            for wk in 0..10 {
                areas.push(format!("WK{gm:04}{wk:02}"));
                for bu in 0..9 {
                    areas.push(format!("BU{gm:04}{wk:02}{bu:02}"));
                }
            }
            for area in &areas {
                let base = rng.next(400);
                for (sex, share) in [("Totaal", 100), ("Jongens", 52), ("Meisjes", 48)] {
                    let value = base * share / 100;
                    let denominator = value * 10 + rng.next(50);
                    writeln!(
                        out,
                        "\"{written}\";\"{sex}\";\"{area}\";\"{year}JJ00\";\"{value}\";\"{denominator},0\""
                    )?;
                    written += 1;
                    if written == rows {
                        break 'all;
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn main() {
    let rows = env_usize("KOMPAS_BENCH_ROWS", 1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cijfers.csv");
    let bytes = write_csv(&path, rows).expect("write csv");
    println!(
        "figures benchmark: import of {rows} rows ({:.1} MiB CSV)",
        bytes as f64 / 1048576.0
    );
    let replica = kompas_engine::composition::init(
        MemoryStore::default(),
        Identity::new("Bench", OrgType::Gemeente, [1; 32], [1; 16]),
    )
    .expect("replica");
    let figures = Figures::new(&replica);
    let indicator = figures
        .define("bench", &IndicatorFields::default(), Timestamp(1), [1; 8])
        .expect("define");
    let before = peak_mib();

    let (read_secs, store_secs, stored) = import(&figures, &indicator, &path, rows, 2);
    let total = read_secs + store_secs;
    println!(
        "  read and check CSV:   {read_secs:>6.2} s  {:>9.0} rows/s",
        rows as f64 / read_secs
    );
    println!(
        "  protect and store:    {store_secs:>6.2} s  {:>9.0} rows/s  ({} primary, {} secondary secret cells)",
        rows as f64 / store_secs,
        stored.protection.primary,
        stored.protection.secondary
    );
    println!(
        "  import in all:        {total:>6.2} s  {:>9.0} rows/s  (target: 500000 rows/s)",
        rows as f64 / total
    );
    let peak = peak_mib();
    if let (Some(b), Some(p)) = (before, peak) {
        println!("  peak memory: {p:.0} MiB ({b:.0} MiB before the import; target: under 100 MiB)");
    }
    let document = replica.export(&indicator.id).expect("export").len();
    println!(
        "  stored document: {:.1} MiB, {:.1} bytes per row (the in-memory store holds it too)",
        document as f64 / 1048576.0,
        document as f64 / rows as f64
    );

    // The same file again: every period is protected together with what is stored for it.
    let (read_again, store_again, again) = import(&figures, &indicator, &path, rows, 3);
    println!(
        "  the same file again:  {:>6.2} s  {:>9.0} rows/s  ({} cells changed), peak memory {:.0} MiB",
        read_again + store_again,
        rows as f64 / (read_again + store_again),
        again.rows,
        peak_mib().unwrap_or(0.0)
    );

    phases(&path);
    peer_comparison();
}

/// Reads the CSV at `path` and stores it under `indicator`: the seconds of reading and of
/// storing, and what storing did.
fn import(
    figures: &Figures<'_, MemoryStore>,
    indicator: &Indicator,
    path: &std::path::Path,
    rows: usize,
    at: i64,
) -> (f64, f64, Stored) {
    let start = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("open csv"));
    let parsed = read_csv(file, &ImportOptions::default(), &mut |_| {}).expect("import");
    let read_secs = start.elapsed().as_secs_f64();
    let table = parsed.tables.into_iter().next().expect("one table");
    assert_eq!(table.rows.len(), rows);
    let start = Instant::now();
    let stored = figures
        .store_rows(indicator, table.rows, Timestamp(at), [at as u8; 8])
        .expect("store");
    (read_secs, start.elapsed().as_secs_f64(), stored)
}

/// Times protection and encoding on their own, period by period as storing does them; the rest
/// of storing is the Automerge commit and the store.
fn phases(path: &std::path::Path) {
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("open csv"));
    let parsed = read_csv(file, &ImportOptions::default(), &mut |_| {}).expect("import");
    let table = parsed.tables.into_iter().next().expect("one table");
    let (mut protect_secs, mut encode_secs, mut plain, mut compressed) = (0.0, 0.0, 0, 0);
    for (_, mut rows) in table.rows.into_periods() {
        let start = Instant::now();
        protect(
            &mut rows,
            Unit::Count,
            &AreaRegistry::default(),
            &SuppressionPolicy::default(),
        );
        protect_secs += start.elapsed().as_secs_f64();
        let mut text = Vec::new();
        encode(&rows, &mut text);
        plain += text.len();
        let start = Instant::now();
        compressed += encode_batches(&rows)
            .expect("encode")
            .iter()
            .map(Vec::len)
            .sum::<usize>();
        encode_secs += start.elapsed().as_secs_f64();
    }
    println!(
        "  of storing: protection {protect_secs:.2} s, encoding and compressing {encode_secs:.2} s ({:.1} MiB of lines to {:.1} MiB), the rest is the Automerge commit and the store",
        plain as f64 / 1048576.0,
        compressed as f64 / 1048576.0
    );
}

/// Every municipality against the country, its region and its size class, for every year.
fn peer_comparison() {
    let mut rng = Lcg(11);
    let mut registry = AreaRegistry::default();
    let mut table = ObservationTable::default();
    for gm in 1..=MUNICIPALITIES {
        let code = AreaCode::parse(&format!("GM{gm:04}")).expect("code");
        registry.insert(
            code,
            AreaInfo {
                name: format!("Gemeente {gm}"),
                region: AreaCode::parse(&format!("JZ{:02}", gm % 42 + 1)).ok(),
                size_class: Some((1 + rng.next(7)).to_string()),
                province: None,
            },
        );
        for year in 2015..2015 + YEARS {
            let denominator = 1000.0 + rng.next(50_000) as f64;
            table.insert(Observation {
                area: code,
                period: Period::year(year),
                breakdown: Breakdown::total(),
                value: Some((denominator * (0.08 + rng.next(60) as f64 / 1000.0)).round()),
                denominator: Some(denominator),
                status: Status::Definitief,
                note: None,
            });
        }
    }
    let indicator = Indicator {
        id: DocId::parse("bench").expect("id"),
        name: "bench".into(),
        title: "bench".into(),
        definition: String::new(),
        unit: Unit::Count,
        better: Direction::Lower,
        source: String::new(),
    };
    let references = [Reference::National, Reference::Region, Reference::Peers];
    let start = Instant::now();
    let mut compared = 0;
    for gm in 1..=MUNICIPALITIES {
        let code = AreaCode::parse(&format!("GM{gm:04}")).expect("code");
        for year in 2015..2015 + YEARS {
            let c = compare(
                &indicator,
                &table,
                &registry,
                code,
                Period::year(year),
                &references,
                &PeerGroup::SizeClass,
            );
            assert!(c.value.is_some());
            compared += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "peer-group comparison: {compared} comparisons ({MUNICIPALITIES} municipalities x {YEARS} years, national + region + peers) in {:.3} s, {:.0} µs each",
        secs,
        secs * 1e6 / f64::from(compared)
    );
}
