//! How long it takes organisations to converge through one relay, with real processes.
//!
//! Each organisation first writes its documents locally (each document edited many times), then
//! every organisation runs `kompas sync` at the same time, round after round, until every
//! replica lists every document with the same heads. The figure is the time from the first sync
//! to convergence. In the same run it measures the floor: the same number of replicas, in this
//! process and on every core, each applying the other organisations' changes from memory with
//! plain Automerge (no sealing, network or disk), and prints the ratio. Scale with
//! KOMPAS_BENCH_ORGS, KOMPAS_BENCH_DOCS and KOMPAS_BENCH_EDITS (defaults 20, 100 and 50).
//!
//! Run with: cargo bench -p kompas-tests --bench sync_convergence

use std::process::Child;
use std::time::Instant;

use automerge::transaction::CommitOptions;
use kompas_engine::document::{self, Assignment};
use kompas_engine::store::DataDir;
use kompas_engine::{FieldValue, Timestamp};
use kompas_tests::Kompas;
use kompas_tests::relay::RelayProcess;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let orgs = env("KOMPAS_BENCH_ORGS", 20);
    let docs = env("KOMPAS_BENCH_DOCS", 100);
    let edits = env("KOMPAS_BENCH_EDITS", 50).max(1);
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
    let start = Instant::now();
    let mut rounds = 0;
    loop {
        rounds += 1;
        let children: Vec<Child> = members
            .iter()
            .map(|k| {
                k.command(&["sync", "--timeout", "1200"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("kompas sync starts")
            })
            .collect();
        for mut child in children {
            let status = child.wait().expect("kompas sync ends");
            assert!(status.success(), "kompas sync failed in round {rounds}");
        }
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
    let secs = start.elapsed().as_secs_f64();
    let floor = floor_secs(orgs, docs, &changes);
    let total_edits = orgs * docs * edits;
    let relay_bytes = dir_size(&dir.path().join("relay"));
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
        expected,
        expected as f64 / secs
    );
    println!(
        "  edits converged per second        : {:.0}",
        total_edits as f64 / secs
    );
    println!(
        "  relay data on disk                : {:.1} MiB",
        relay_bytes as f64 / 1_048_576.0
    );
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
