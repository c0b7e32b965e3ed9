//! How long it takes organisations to converge through one relay, with real processes.
//!
//! Each organisation first writes its documents locally (each document edited many times), then
//! every organisation runs `kompas sync` at the same time, round after round, until every
//! replica lists every document with the same heads. The figure is the time the sync rounds
//! took until convergence (the checks between rounds not counted). In the same run it measures
//! the floor: the same number of replicas, in this process and on every core, each applying
//! the other organisations' changes from memory with plain Automerge (no sealing, network or
//! disk), and prints the ratio; and the peak resident memory of the relay process and of the
//! largest `kompas sync` process (through the `max-rss` helper).
//!
//! It runs 20 organisations x 100 documents x 50 edits, then 50 x 100 x 20. KOMPAS_BENCH_ORGS,
//! KOMPAS_BENCH_DOCS and KOMPAS_BENCH_EDITS run one scenario of that size instead (defaults
//! 20, 100 and 50 for the ones not given).
//!
//! Run with: cargo bench -p kompas-tests --bench sync_convergence

use std::process::{Command, Stdio};
use std::time::Instant;

use automerge::transaction::CommitOptions;
use kompas_engine::document::{self, Assignment};
use kompas_engine::store::DataDir;
use kompas_engine::{FieldValue, Timestamp};
use kompas_tests::relay::RelayProcess;
use kompas_tests::{Kompas, binary, bomb};

/// The replicas' and the relay's memory targets, in MiB.
const REPLICA_TARGET_MIB: u64 = 32;
const RELAY_TARGET_MIB: u64 = 64;

fn env(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    let names = [
        "KOMPAS_BENCH_ORGS",
        "KOMPAS_BENCH_DOCS",
        "KOMPAS_BENCH_EDITS",
    ];
    let scenarios = if names.iter().any(|n| env(n).is_some()) {
        vec![(
            env(names[0]).unwrap_or(20),
            env(names[1]).unwrap_or(100),
            env(names[2]).unwrap_or(50).max(1),
        )]
    } else {
        vec![(20, 100, 50), (50, 100, 20)]
    };
    for (orgs, docs, edits) in scenarios {
        converge(orgs, docs, edits);
    }
}

/// Runs one scenario and prints its figures.
fn converge(orgs: usize, docs: usize, edits: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);

    let setup = Instant::now();
    let members: Vec<Kompas> = (0..orgs)
        .map(|i| {
            let k = Kompas::new(dir.path().join(format!("org-{i:02}")));
            k.ok(&["init", "--org", &format!("Organisatie {i}")]);
            k
        })
        .collect();
    members[0].ok(&["workspace", "create", "Benchmark", "--relay", &relay.url()]);
    for k in &members[1..] {
        let code = members[0].json(&["workspace", "invite"])["code"]
            .as_str()
            .expect("code")
            .to_string();
        k.ok(&["workspace", "join", &code]);
    }
    let mut changes = Vec::with_capacity(orgs * docs);
    for (i, k) in members.iter().enumerate() {
        changes.extend(write_documents(k, i, docs, edits));
    }
    let setup_secs = setup.elapsed().as_secs_f64();

    let expected = orgs * docs;
    let mut secs = 0.0;
    let mut rounds = 0;
    let mut replica_peak_kib = 0;
    loop {
        rounds += 1;
        let round = Instant::now();
        let children: Vec<_> = members
            .iter()
            .map(|k| {
                measured(k.command(&["sync", "--timeout", "1200"]))
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("kompas sync starts")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().expect("kompas sync ends");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "kompas sync failed in round {rounds}:\n{stderr}"
            );
            replica_peak_kib = replica_peak_kib.max(bomb::peak_kib(&stderr));
        }
        secs += round.elapsed().as_secs_f64();
        let lists: Vec<String> = members
            .iter()
            .map(|k| k.ok(&["--json", "doc", "list"]))
            .collect();
        let complete = lists.iter().all(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v.as_array().map(Vec::len))
                == Some(expected)
        });
        if complete && lists.windows(2).all(|w| w[0] == w[1]) {
            break;
        }
        assert!(rounds < 10, "no convergence after {rounds} rounds");
    }
    let relay_peak_kib = relay.peak_kib();
    let floor = floor_secs(orgs, docs, &changes);
    let total_edits = orgs * docs * edits;
    let relay_bytes = dir_size(&dir.path().join("relay"));
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("sync convergence through one relay (real processes, one machine)");
    println!(
        "  organisations x documents x edits : {orgs} x {docs} x {edits} = {total_edits} edits"
    );
    println!("  setup (init, invites, local edits): {setup_secs:.1} s (not counted)");
    println!("  time until every replica converged: {secs:.1} s in {rounds} sync round(s)");
    println!(
        "  floor, plain Automerge in memory  : {floor:.2} s ({orgs} replicas each applying the other organisations' documents, on every core)"
    );
    println!(
        "  ratio convergence / floor         : {:.1}x (target at most 2x)",
        secs / floor
    );
    println!(
        "  documents applied per replica     : {} ({:.0} documents/s per replica)",
        expected - docs,
        (expected - docs) as f64 / secs
    );
    println!(
        "  edits converged per second        : {:.0}",
        total_edits as f64 / secs
    );
    println!(
        "  relay peak memory                 : {:.1} MiB (target under {RELAY_TARGET_MIB})",
        mib(relay_peak_kib)
    );
    println!(
        "  largest replica peak memory       : {:.1} MiB (of every kompas sync; target under {REPLICA_TARGET_MIB})",
        mib(replica_peak_kib)
    );
    println!(
        "  relay data on disk                : {:.1} MiB",
        relay_bytes as f64 / 1_048_576.0
    );
}

/// The same command run under `max-rss`, which prints its peak memory on standard error.
fn measured(command: Command) -> Command {
    let mut wrapped = Command::new(binary("max-rss"));
    wrapped
        .env_clear()
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .arg(command.get_program())
        .args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

/// Seconds for `replicas` replicas, spread over the machine's cores, each to apply the changes of
/// every other organisation's documents into fresh documents (`changes`: each document's change
/// chunks concatenated, organisation after organisation, `docs` each), as sync has them do.
fn floor_secs(replicas: usize, docs: usize, changes: &[Vec<u8>]) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for core in 0..cores {
            scope.spawn(move || {
                for replica in (core..replicas).step_by(cores) {
                    let own = replica * docs..(replica + 1) * docs;
                    for (_, doc) in changes.iter().enumerate().filter(|(i, _)| !own.contains(i)) {
                        let mut applied = automerge::AutoCommit::new();
                        applied.load_incremental(doc).expect("changes apply");
                    }
                }
            });
        }
    });
    start.elapsed().as_secs_f64()
}

/// Writes `docs` documents, each edited `edits` times, straight into the organisation's store;
/// returns each document's changes, their chunks concatenated.
fn write_documents(k: &Kompas, org: usize, docs: usize, edits: usize) -> Vec<Vec<u8>> {
    let mut changes = Vec::with_capacity(docs);
    let data = DataDir::open(k.data()).expect("data dir");
    let replica =
        kompas_engine::composition::open(data.sole_store().expect("store")).expect("replica");
    let def = replica
        .catalog()
        .kind("ambitie")
        .and_then(|kind| kind.field("toelichting"))
        .expect("ambitie has toelichting")
        .clone();
    for d in 0..docs {
        let now = Timestamp(1_800_000_000_000 + d as i64);
        let mut random = [0u8; 8];
        rand::fill(&mut random[..]);
        let id = replica
            .create(
                "ambitie",
                &[
                    Assignment::parse(&format!("titel=Ambitie {d} van organisatie {org}"))
                        .expect("assignment"),
                ],
                now,
                random,
            )
            .expect("create");
        let mut loaded = replica.load(&id).expect("load");
        for e in 1..edits {
            let text = FieldValue::Text(format!("Toelichting, versie {e}, van organisatie {org}."));
            document::write_field(&mut loaded.doc, &def, Some(&text)).expect("write");
            loaded
                .doc
                .commit_with(CommitOptions::default().with_time(now.change_seconds()));
        }
        replica.save(&mut loaded).expect("save");
        let chunks = loaded.doc.get_changes(&[]);
        changes.push(chunks.iter().flat_map(|c| c.raw_bytes().to_vec()).collect());
    }
    changes
}

fn dir_size(dir: &std::path::Path) -> u64 {
    kompas_tests::relay::files_under(dir)
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}
