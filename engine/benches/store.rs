//! Store benchmark: open-and-read cost against raw Automerge loads, disk overhead, durable write
//! latency, and reads through the view index: listing 10,000 documents and `flow todo` over 100
//! instances.
//!
//! Run with `cargo bench -p kompas-engine --bench store`. Sizes can be lowered for a quick look
//! with `KOMPAS_BENCH_DOCS`, `KOMPAS_BENCH_CHANGES`, `KOMPAS_BENCH_LIST_DOCS` and
//! `KOMPAS_BENCH_INSTANCES`. Figures are ratios measured in one run, so they hold on a noisy
//! machine.

use std::time::{Duration, Instant};

use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, transaction::Transactable};
use kompas_engine::document::Assignment;
use kompas_engine::identity::Identity;
use kompas_engine::runtime::{Flows, Fresh, todo};
use kompas_engine::store::SledStore;
use kompas_engine::{DocId, OrgType, Store, Timestamp};

/// How many changes go into one durable write while the store is being filled.
const CHANGES_PER_SAVE: usize = 5;
const WRITE_SAMPLES: usize = 300;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let docs = env_usize("KOMPAS_BENCH_DOCS", 1000);
    let changes = env_usize("KOMPAS_BENCH_CHANGES", 200);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store");
    println!(
        "store benchmark: {docs} documents x {changes} changes, {CHANGES_PER_SAVE} changes per durable write"
    );

    let fill = Instant::now();
    let mut compact_saves: Vec<Vec<u8>> = Vec::with_capacity(docs);
    let mut ids = Vec::with_capacity(docs);
    {
        let store = SledStore::open(&path).expect("open store");
        for d in 0..docs {
            let id = format!("doc{d:05}");
            let mut doc = AutoCommit::new()
                .with_actor(automerge::ActorId::from((d as u64).to_be_bytes().to_vec()));
            let mut saved = Vec::new();
            let text = doc
                .put_object(ROOT, "toelichting", ObjType::Text)
                .expect("text");
            for c in 0..changes {
                doc.put(
                    ROOT,
                    format!("veld{}", c % 12),
                    format!("waarde {c} van document {d}"),
                )
                .expect("put");
                doc.splice_text(&text, 0, 0, "Nog een zin over de jeugd. ")
                    .expect("splice");
                doc.commit_with(
                    automerge::transaction::CommitOptions::default().with_time(c as i64),
                );
                if (c + 1) % CHANGES_PER_SAVE == 0 || c + 1 == changes {
                    saved = store.persist(&id, &mut doc, &saved, b"").expect("persist");
                }
            }
            compact_saves.push(doc.save());
            ids.push(id);
        }
    }
    println!("  filled in {:.1} s", fill.elapsed().as_secs_f64());

    // Baseline: plain automerge loads of each document's compact save, from memory.
    let baseline = best_of(3, || {
        let start = Instant::now();
        for bytes in &compact_saves {
            let doc = AutoCommit::load(bytes).expect("load");
            std::hint::black_box(doc.length(ROOT));
        }
        start.elapsed()
    });

    // kompas: open the sled store from disk and read every document back.
    let ours = best_of(3, || {
        let start = Instant::now();
        let store = SledStore::open(&path).expect("reopen");
        let listed = store.ids().expect("ids");
        assert_eq!(listed.len(), docs, "store lost documents");
        for id in &listed {
            let doc = store
                .load(id)
                .expect("load")
                .expect("present")
                .load()
                .expect("decode");
            std::hint::black_box(doc.length(ROOT));
        }
        start.elapsed()
    });

    let on_disk = SledStore::open(&path)
        .expect("reopen")
        .size_on_disk()
        .expect("size");
    let compact: usize = compact_saves.iter().map(Vec::len).sum();
    println!(
        "open + read all: {:.1} ms; raw AutoCommit::load from memory: {:.1} ms; ratio {:.2}x (target <= 1.5x)",
        ms(ours),
        ms(baseline),
        ours.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "bytes on disk: {on_disk}; sum of compact saves: {compact}; ratio {:.2}x (target <= 3x)",
        on_disk as f64 / compact as f64
    );
    drop(ids);

    write_latency(&dir.path().join("latency"));
    lists_and_todo(&dir.path().join("lists"));
}

/// Listing documents from the view index (target under 50 ms for 10,000), with the views
/// copied and shared, each beside a floor measured in the same run, and beside reading every
/// document as lists did before the index; and `flow todo` over 100 instances (target under
/// 100 ms), each instance working on one document of its own.
fn lists_and_todo(path: &std::path::Path) {
    let docs = env_usize("KOMPAS_BENCH_LIST_DOCS", 10_000);
    let instances = env_usize("KOMPAS_BENCH_INSTANCES", 100);
    std::fs::create_dir_all(path).expect("dir");
    let identity = Identity::new("Gemeente Bank", OrgType::Gemeente, [3; 32], [4; 16]);
    let replica =
        kompas_engine::composition::init(SledStore::open(path).expect("open"), identity.clone())
            .expect("init");
    let fill = Instant::now();
    let mut ids = Vec::with_capacity(docs);
    for d in 0..docs {
        let set = |field: &str, value: String| Assignment {
            field: field.into(),
            value,
        };
        let fields = [
            set("titel", format!("Ambitie {d}: meer jongeren sporten")),
            set(
                "toelichting",
                format!("Toelichting bij ambitie {d}. ").repeat(10),
            ),
        ];
        let id = replica
            .create(
                "ambitie",
                &fields,
                Timestamp(d as i64),
                (d as u64 + 1).to_be_bytes(),
            )
            .expect("create");
        ids.push(id);
    }
    let registry = kompas_engine::composition::builtin();
    let flows = Flows::new(&replica, registry);
    for i in 0..instances {
        let mut fact = [0u8; 16];
        fact[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let fresh = Fresh {
            doc: (u64::MAX - i as u64).to_be_bytes(),
            fact,
        };
        flows
            .start(
                "kwaliteitskompas",
                Some(&format!("Cyclus {i}")),
                &ids[i % docs..=i % docs],
                Timestamp(docs as i64 + i as i64),
                fresh,
            )
            .expect("an instance");
    }
    println!(
        "view index: {docs} documents and {instances} instances written in {:.1} s",
        fill.elapsed().as_secs_f64()
    );
    drop(replica);
    let me = identity.profile.clone();
    let now = Timestamp(docs as i64 + instances as i64 + 1);
    // As a new process does: the store opened again, then its first list, or its first to-do.
    let reopen =
        || kompas_engine::composition::open(SledStore::open(path).expect("reopen")).expect("open");
    let first_list = {
        let replica = reopen();
        let start = Instant::now();
        assert_eq!(replica.list_shared(None, false).expect("list").len(), docs);
        start.elapsed()
    };
    let first_todo = {
        let replica = reopen();
        let start = Instant::now();
        let statuses = Flows::new(&replica, registry).list(now).expect("flow list");
        std::hint::black_box(todo(&statuses, &me.org_id, &me.name));
        start.elapsed()
    };
    let replica = reopen();
    let flows = Flows::new(&replica, registry);

    let mut list_cpu = Vec::new();
    let listed = median_of(11, || {
        let (start, cpu) = (Instant::now(), cpu_time());
        let views = replica.list(None, false).expect("list");
        assert_eq!(views.len(), docs);
        std::hint::black_box(views);
        list_cpu.extend(cpu_since(cpu));
        start.elapsed()
    });
    // What `kompas doc list` and the document pages read: the views shared, not copied.
    let mut shared_cpu = Vec::new();
    let shared = median_of(11, || {
        let (start, cpu) = (Instant::now(), cpu_time());
        let views = replica.list_shared(None, false).expect("list");
        assert_eq!(views.len(), docs);
        std::hint::black_box(views);
        shared_cpu.extend(cpu_since(cpu));
        start.elapsed()
    });
    // Floors, in the same run: copying the same 10,000 views out of memory (what any list
    // that hands out views of their own must do), and walking the same number of entries in
    // an ordered map in memory, taking a shared reference to each (what any list from an
    // index in memory must do).
    let views = replica.list(None, false).expect("list");
    let copy_floor = median_of(11, || {
        let start = Instant::now();
        std::hint::black_box(views.to_vec());
        start.elapsed()
    });
    let entries: std::collections::BTreeMap<std::sync::Arc<str>, std::sync::Arc<[u8]>> = views
        .iter()
        .map(|v| (v.id.as_str().into(), v.kind.as_bytes().into()))
        .collect();
    let walk_floor = median_of(11, || {
        let start = Instant::now();
        let walked: Vec<_> = entries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        std::hint::black_box(walked);
        start.elapsed()
    });
    drop(views);
    let by_document = best_of(1, || {
        let start = Instant::now();
        for id in &ids {
            let mut loaded = replica.load(id).expect("load");
            std::hint::black_box(replica.view(&mut loaded).expect("view"));
        }
        start.elapsed()
    });
    println!(
        "list of {docs} documents from the view index, views copied: median {:.1} ms; reading every document instead: {:.1} ms; ratio {:.1}x",
        ms(listed),
        ms(by_document),
        by_document.as_secs_f64() / listed.as_secs_f64()
    );
    println!(
        "list of {docs} documents with views shared (doc list, the document pages): median {:.2} ms (target < 50 ms), {:.1}x the floor of walking {docs} entries in memory ({:.2} ms); the first after opening the store {:.1} ms",
        ms(shared),
        shared.as_secs_f64() / walk_floor.as_secs_f64(),
        ms(walk_floor),
        ms(first_list)
    );
    println!(
        "  the list with views copied is {:.1}x the floor of copying {docs} views in memory ({:.1} ms)",
        listed.as_secs_f64() / copy_floor.as_secs_f64(),
        ms(copy_floor)
    );
    let mut todo_cpu = Vec::new();
    let todo_time = median_of(11, || {
        let (start, cpu) = (Instant::now(), cpu_time());
        let statuses = flows.list(now).expect("flow list");
        assert_eq!(statuses.len(), instances);
        std::hint::black_box(todo(&statuses, &me.org_id, &me.name));
        todo_cpu.extend(cpu_since(cpu));
        start.elapsed()
    });
    println!(
        "  of which on a CPU (median): list {}, shared list {}, flow todo {}",
        median_ms(list_cpu),
        median_ms(shared_cpu),
        median_ms(todo_cpu)
    );
    println!(
        "flow todo over {instances} instances: median {:.1} ms (target < 100 ms), the first after opening the store {:.1} ms",
        ms(todo_time),
        ms(first_todo)
    );
}

/// The time this thread has spent on a CPU, from the kernel's scheduler statistics (Linux
/// only). Beside a wall time on a loaded machine it tells work from waiting for a core.
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// The CPU time spent since `before` was read, if both readings exist.
fn cpu_since(before: Option<Duration>) -> Option<Duration> {
    Some(cpu_time()?.saturating_sub(before?))
}

/// The median of `samples` in milliseconds, or "unknown" without samples.
fn median_ms(mut samples: Vec<Duration>) -> String {
    samples.sort();
    match samples.get(samples.len() / 2) {
        Some(d) => format!("{:.2} ms", ms(*d)),
        None => "unknown".into(),
    }
}

fn median_of(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut samples: Vec<Duration> = (0..n).map(|_| f()).collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn write_latency(path: &std::path::Path) {
    std::fs::create_dir_all(path).expect("dir");
    let store = SledStore::open(path).expect("open");
    let replica = kompas_engine::composition::init(
        store,
        Identity::new("Bench", OrgType::Anders, [1; 32], [2; 16]),
    )
    .expect("init");
    let set = |v: String| {
        vec![Assignment {
            field: "titel".into(),
            value: v,
        }]
    };
    let id: DocId = replica
        .create("ambitie", &set("begin".into()), Timestamp(0), [9; 8])
        .expect("create");
    // Edits in a row: the document stays marked for sync after the first one.
    let mut samples = Vec::with_capacity(WRITE_SAMPLES);
    for i in 0..WRITE_SAMPLES {
        let start = Instant::now();
        replica
            .update(&id, &set(format!("versie {i}")), Timestamp(i as i64))
            .expect("update");
        samples.push(start.elapsed());
    }
    report_latency("durable edit (load, edit, commit, flush)", samples);
    // Each edit right after sync took the marks up: the mark is written and flushed too.
    let mut samples = Vec::with_capacity(WRITE_SAMPLES);
    for i in 0..WRITE_SAMPLES {
        replica
            .take_local_edits(|_| Ok::<_, kompas_engine::ReplicaError>(()))
            .expect("take marks");
        let start = Instant::now();
        replica
            .update(&id, &set(format!("na sync {i}")), Timestamp(i as i64))
            .expect("update");
        samples.push(start.elapsed());
    }
    report_latency("durable edit right after a sync (mark + edit)", samples);
}

fn report_latency(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let median = samples[samples.len() / 2];
    let p99 = samples[samples.len() * 99 / 100];
    println!(
        "{what} over {} edits: median {:.2} ms, p99 {:.2} ms",
        samples.len(),
        ms(median),
        ms(p99)
    );
}

fn best_of(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..n).map(|_| f()).min().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
