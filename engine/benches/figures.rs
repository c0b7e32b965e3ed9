//! Figures benchmark: streaming CSV import of a generated 1,000,000-row CBS-shaped file, and a
//! peer-group comparison of every municipality for 10 years.
//!
//! Run with `cargo bench -p kompas-engine --bench figures`. `KOMPAS_BENCH_ROWS` lowers the row
//! count for a quick look. Import is timed in its phases (reading and checking the CSV; protecting
//! and storing) and reported as rows per second; peak memory is the process's high-water mark.

use std::io::Write as _;
use std::time::Instant;

use kompas_engine::figures::benchmark::{PeerGroup, Reference, compare};
use kompas_engine::figures::codec::encode;
use kompas_engine::figures::import::{ImportOptions, read_csv};
use kompas_engine::figures::storage::{Figures, IndicatorFields};
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
    let before = peak_mib();

    let start = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(&path).expect("open csv"));
    let mut parsed = read_csv(file, &ImportOptions::default(), &mut |_| {}).expect("import");
    let read_secs = start.elapsed().as_secs_f64();
    assert_eq!(parsed.tables[0].rows.len(), rows);
    let after_read = peak_mib();

    let replica = kompas_engine::composition::init(
        MemoryStore::default(),
        Identity::new("Bench", OrgType::Gemeente, [1; 32], [1; 16]),
    )
    .expect("replica");
    let figures = Figures::new(&replica);
    let indicator = figures
        .define("bench", &IndicatorFields::default(), Timestamp(1), [1; 8])
        .expect("define");
    // A copy for timing the phases of storing separately, after the measured run.
    let copy = parsed.tables[0].rows.clone();
    let store_start = Instant::now();
    let stored = figures
        .store_observations(
            &indicator,
            std::mem::take(&mut parsed.tables[0].rows),
            Timestamp(2),
            [2; 8],
        )
        .expect("store");
    let store_secs = store_start.elapsed().as_secs_f64();
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
    if let (Some(b), Some(r), Some(p)) = (before, after_read, peak_mib()) {
        println!(
            "  peak memory: {b:.0} MiB before, {r:.0} MiB after reading, {p:.0} MiB after storing ({:.0} bytes per row)",
            (p - b) * 1048576.0 / rows as f64
        );
    }

    phases(copy);
    peer_comparison();
}

/// Times protection and encoding on their own; the rest of storing is Automerge and the store.
fn phases(mut rows: Vec<Observation>) {
    let start = Instant::now();
    protect(
        &mut rows,
        Unit::Count,
        &AreaRegistry::default(),
        &SuppressionPolicy::default(),
    );
    let protect_secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut bytes = Vec::new();
    encode(&rows, &mut bytes);
    let encode_secs = start.elapsed().as_secs_f64();
    println!(
        "  of storing: protection {protect_secs:.2} s, encoding {encode_secs:.2} s ({:.1} MiB), the rest is the Automerge commit and the store",
        bytes.len() as f64 / 1048576.0
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
