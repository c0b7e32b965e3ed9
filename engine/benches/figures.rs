//! Figures benchmark: streaming CSV import of a generated 1,000,000-row CBS-shaped file, and a
//! peer-group comparison of every municipality for 10 years.
//!
//! Run with `cargo bench -p kompas-engine --bench figures`. `KOMPAS_BENCH_ROWS` lowers the row
//! count for a quick look. Import is timed in its phases (reading and checking the CSV; protecting
//! and storing) and reported as rows per second; peak memory is the process's high-water mark,
//! read right after the import (the in-memory store holds the stored document, so it counts).
//! The same file is then imported again over what is stored, and protection and encoding are
//! timed on their own. A floor, the `csv` crate reading the same file into nothing, is timed in
//! the same run, so that the import's time can be read as a ratio on a loaded machine. Last, a
//! file with all its rows in one period is imported: as many rows as a period may have, and the
//! full row count (refused when it is more). Every import's peak is its own: the high-water mark
//! is reset before it.

use std::io::Write as _;
use std::time::Instant;

use kompas_engine::figures::benchmark::{PeerGroup, Reference, compare};
use kompas_engine::figures::codec::{encode, encode_batches};
use kompas_engine::figures::import::{ImportOptions, read_csv};
use kompas_engine::figures::period_rows::MAX_PERIOD_ROWS;
use kompas_engine::figures::storage::{Figures, IndicatorFields, Stored};
use kompas_engine::figures::{
    AreaCode, AreaInfo, AreaRegistry, Breakdown, Direction, Indicator, Observation,
    ObservationTable, Period, Status, SuppressionPolicy, Unit, protect,
};
use kompas_engine::identity::Identity;
use kompas_engine::{DocId, MemoryStore, OrgType, SledStore, Store, Timestamp};

const MUNICIPALITIES: u32 = 342;
const YEARS: i16 = 10;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts the peak of resident memory again from what is resident now (Linux), so that the next
/// [`peak_mib`] is the peak of what runs in between. Memory freed earlier but kept by the
/// allocator counts as resident, and is what the next allocations use first.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The `csv` crate reading the file into nothing (one reused record): what reading cannot beat.
fn floor(path: &std::path::Path) -> (f64, u64) {
    let start = Instant::now();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(std::fs::File::open(path).expect("open csv"));
    let mut record = csv::ByteRecord::new();
    let mut records = 0u64;
    while reader.read_byte_record(&mut record).expect("csv") {
        records += 1;
    }
    (start.elapsed().as_secs_f64(), records)
}

/// The seconds this thread has run on a processor (Linux; 0 when unknown). On a loaded machine
/// the time on the clock includes waiting for a processor; this does not.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
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

/// Writes `rows` rows shaped like a StatLine download: `municipalities` municipalities, their
/// districts and neighbourhoods, `years` years, total and by sex.
fn write_csv(
    path: &std::path::Path,
    rows: usize,
    years: i16,
    municipalities: u32,
) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "\"ID\";\"Geslacht\";\"RegioS\";\"Perioden\";\"Waarde\";\"Noemer\""
    )?;
    let mut rng = Lcg(7);
    let mut written = 0usize;
    'all: for year in 2015..2015 + years {
        for gm in 1..=municipalities {
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

/// A replica in memory with one indicator, `bench`.
fn replica() -> (kompas_engine::Replica<MemoryStore>, Indicator) {
    replica_in(MemoryStore::default())
}

/// A new replica on `store` with one indicator, `bench`.
fn replica_in<S: Store>(store: S) -> (kompas_engine::Replica<S>, Indicator) {
    let replica = kompas_engine::composition::init(
        store,
        Identity::new("Bench", OrgType::Gemeente, [1; 32], [1; 16]),
    )
    .expect("replica");
    let indicator = Figures::new(&replica)
        .define("bench", &IndicatorFields::default(), Timestamp(1), [1; 8])
        .expect("define");
    (replica, indicator)
}

/// The argument with which this binary runs [`reimport_child`].
const REIMPORT: &str = "--reimport-in-new-process";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == REIMPORT) {
        let rows = args[at + 3].parse().expect("rows");
        return reimport_child(
            std::path::Path::new(&args[at + 1]),
            std::path::Path::new(&args[at + 2]),
            rows,
        );
    }
    let rows = env_usize("KOMPAS_BENCH_ROWS", 1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cijfers.csv");
    let bytes = write_csv(&path, rows, YEARS, MUNICIPALITIES).expect("write csv");
    println!(
        "figures benchmark: import of {rows} rows ({:.1} MiB CSV, {YEARS} periods)",
        bytes as f64 / 1048576.0
    );
    let cpu = cpu_secs();
    let (floor_secs, records) = floor(&path);
    let floor_cpu = cpu_secs() - cpu;
    assert_eq!(records as usize, rows);
    println!(
        "  floor: the csv crate reading the file into nothing: {floor_secs:>6.2} s  {:>9.0} rows/s  (on a processor {floor_cpu:.2} s)",
        rows as f64 / floor_secs
    );
    let (replica, indicator) = replica();
    let figures = Figures::new(&replica);
    reset_peak();
    let before = peak_mib();

    let cpu = cpu_secs();
    let (read_secs, store_secs, stored) = import(&figures, &indicator, &path, rows, 2);
    let import_cpu = cpu_secs() - cpu;
    let total = read_secs + store_secs;
    println!(
        "  read and check CSV:   {read_secs:>6.2} s  {:>9.0} rows/s  ({:.1} x the floor's time)",
        rows as f64 / read_secs,
        read_secs / floor_secs
    );
    println!(
        "  protect and store:    {store_secs:>6.2} s  {:>9.0} rows/s  ({} primary, {} secondary secret cells)",
        rows as f64 / store_secs,
        stored.protection.primary,
        stored.protection.secondary
    );
    println!(
        "  import in all:        {total:>6.2} s  {:>9.0} rows/s  ({:.1} x the floor's time; target: 500000 rows/s)",
        rows as f64 / total,
        total / floor_secs
    );
    println!(
        "  import on a processor: {import_cpu:>5.2} s  {:>9.0} rows/s  ({:.1} x the floor's time on a processor)",
        rows as f64 / import_cpu,
        import_cpu / floor_cpu
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
    reset_peak();
    let before = peak_mib().unwrap_or(0.0);
    let cpu = cpu_secs();
    let (read_again, store_again, again) = import(&figures, &indicator, &path, rows, 3);
    let again_cpu = cpu_secs() - cpu;
    println!(
        "  the same file again:  {:>6.2} s  {:>9.0} rows/s (on a processor {again_cpu:.2} s, {:.0} rows/s; {} cells changed), peak memory {:.0} MiB ({before:.0} MiB before; target: under 100 MiB)",
        read_again + store_again,
        rows as f64 / (read_again + store_again),
        rows as f64 / again_cpu,
        again.rows,
        peak_mib().unwrap_or(0.0)
    );
    drop(figures);
    drop(replica);
    reimport_in_new_process(dir.path(), &path, rows);

    phases(&path);
    one_period(dir.path(), MAX_PERIOD_ROWS);
    one_period(dir.path(), rows);
    peer_comparison();
}

/// Imports the file into a replica on disk (sled, as `kompas` keeps one), then imports it again
/// in a new process of this binary, as a second `kompas figures import` would: its peak is the
/// re-import's own, without what the allocator kept from the first import.
fn reimport_in_new_process(dir: &std::path::Path, path: &std::path::Path, rows: usize) {
    let data = dir.join("replica");
    {
        let (replica, indicator) = replica_in(SledStore::open(&data).expect("sled"));
        import(&Figures::new(&replica), &indicator, path, rows, 2);
    }
    let out = std::process::Command::new(std::env::current_exe().expect("this binary"))
        .arg(REIMPORT)
        .arg(&data)
        .arg(path)
        .arg(rows.to_string())
        .output()
        .expect("run the re-import");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

/// The re-import of [`reimport_in_new_process`], in its own process.
fn reimport_child(data: &std::path::Path, path: &std::path::Path, rows: usize) {
    let replica =
        kompas_engine::composition::open(SledStore::open(data).expect("sled")).expect("replica");
    let figures = Figures::new(&replica);
    let indicator = figures.indicator("bench").expect("indicator");
    reset_peak();
    let before = peak_mib().unwrap_or(0.0);
    let (start, cpu) = (Instant::now(), cpu_secs());
    let (_, _, again) = import(&figures, &indicator, path, rows, 3);
    println!(
        "  again on disk, in a new process: {:>6.2} s (on a processor {:.2} s; {} cells changed), peak memory {:.0} MiB ({before:.0} MiB before; target: under 100 MiB)",
        start.elapsed().as_secs_f64(),
        cpu_secs() - cpu,
        again.rows,
        peak_mib().unwrap_or(0.0)
    );
}

/// Imports a file of `rows` rows all in one period into a new replica, and prints its time and
/// peak memory, or why it was refused.
fn one_period(dir: &std::path::Path, rows: usize) {
    let path = dir.join("een-periode.csv");
    let municipalities = u32::try_from(rows.div_ceil(300)).expect("municipalities");
    let bytes = write_csv(&path, rows, 1, municipalities).expect("write csv");
    let (replica, indicator) = replica();
    let figures = Figures::new(&replica);
    reset_peak();
    let before = peak_mib().unwrap_or(0.0);
    let start = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(&path).expect("open csv"));
    let outcome = read_csv(file, &ImportOptions::default(), &mut |_| {})
        .map_err(|e| e.to_string())
        .and_then(|parsed| {
            let table = parsed.tables.into_iter().next().expect("one table");
            figures
                .store_rows(&indicator, table.rows, Timestamp(2), [2; 8])
                .map_err(|e| e.to_string())
        });
    let secs = start.elapsed().as_secs_f64();
    let peak = peak_mib().unwrap_or(0.0);
    let label = format!(
        "  {rows} rows in one period ({:.1} MiB CSV):",
        bytes as f64 / 1048576.0
    );
    match outcome {
        Ok(stored) => println!(
            "{label} {secs:.2} s, {:.0} rows/s, {} secret cells, peak memory {peak:.0} MiB ({before:.0} MiB before)",
            rows as f64 / secs,
            stored.protection.primary + stored.protection.secondary
        ),
        Err(e) => println!(
            "{label} refused after {secs:.2} s, peak memory {peak:.0} MiB ({before:.0} MiB before): {e}"
        ),
    }
}

/// Reads the CSV at `path` and stores it under `indicator`, as `kompas figures import` does: the
/// indicator's document is loaded before the file is read. The seconds of reading and of
/// storing (loading the document included), and what storing did.
fn import<S: Store>(
    figures: &Figures<'_, S>,
    indicator: &Indicator,
    path: &std::path::Path,
    rows: usize,
    at: i64,
) -> (f64, f64, Stored) {
    let start = Instant::now();
    let prepared = figures.prepare_store(indicator).expect("load indicator");
    let load_secs = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let file = std::io::BufReader::new(std::fs::File::open(path).expect("open csv"));
    let parsed = read_csv(file, &ImportOptions::default(), &mut |_| {}).expect("import");
    let read_secs = start.elapsed().as_secs_f64();
    let table = parsed.tables.into_iter().next().expect("one table");
    assert_eq!(table.rows.len(), rows);
    let start = Instant::now();
    let stored = prepared
        .store(table.rows, Timestamp(at), [at as u8; 8])
        .expect("store");
    (read_secs, load_secs + start.elapsed().as_secs_f64(), stored)
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
