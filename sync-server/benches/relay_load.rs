//! Relay load run: two relay nodes (separate `kompas-relay --store postgres://...` processes)
//! on one scratch PostgreSQL database, 100 workspaces of 10 members each, every member with its
//! own key and connection, the members of each workspace spread over both nodes and subscribed.
//! Every member pushes sealed bundles of 4 KiB at a paced rate: first a steady phase, then a
//! ramp of rising rates until the acknowledgement p99 passes 1 s (the knee). Per phase it
//! prints the bundles accepted per second, acknowledgement latency (push sent to `Ack`),
//! delivery latency (push sent to `Pushed` at every other member of the workspace, most of them
//! on the other node), CPU seconds of each node, of PostgreSQL and of this process (which
//! plays all the members), the database's growth and bytes per bundle; and each node's memory.
//! A refused push (other than `Overloaded` during the ramp) or a delivery that does not arrive
//! stops the run with the reason.
//!
//! Run with `cargo bench -p kompas-relay --bench relay_load`. `KOMPAS_LOAD_RATE` (bundles per
//! second over all members, default 200), `KOMPAS_LOAD_SECS` (the steady phase, default 60)
//! and `KOMPAS_LOAD_RAMP_SECS` (each ramp step, default 10) change the run.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark that cannot run should stop loudly.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kompas_engine::sync::wire::{DocRef, ErrorCode, Message, SealedBundle, WorkspaceId};
use kompas_relay::client::RelayClient;
use kompas_relay::postgres::scratch::ScratchPostgres;
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

mod support;
use support::{Relay, add_members, create_op, member_key, percentile};

const NODES: usize = 2;
const WORKSPACES: usize = 100;
const PER_WORKSPACE: usize = 10;
const MEMBERS: usize = WORKSPACES * PER_WORKSPACE;
/// Ciphertext bytes per bundle (random, so PostgreSQL cannot compress it).
const PAYLOAD: usize = 4096;
/// The ramp's rates, bundles per second over all members; it stops at the first past the knee.
const RAMP: [f64; 6] = [400.0, 800.0, 1200.0, 1600.0, 2400.0, 3200.0];
/// Past the knee: acknowledgement p99 above this.
const KNEE_P99: Duration = Duration::from_secs(1);
/// How long the deliveries of a phase may take to arrive after its last push.
const DRAIN: Duration = Duration::from_secs(30);
/// Clock ticks per second of the CPU times in `/proc/<pid>/stat` (Linux's `USER_HZ`).
const USER_HZ: f64 = 100.0;

fn env_number(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) => match v.parse::<f64>() {
            Ok(n) if n > 0.0 && n.is_finite() => n,
            _ => panic!("{name}={v:?}: expected a positive number"),
        },
    }
}

fn workspace(w: usize) -> WorkspaceId {
    let mut id = [0x5a; 16];
    id[..8].copy_from_slice(&(w as u64).to_be_bytes());
    WorkspaceId(id)
}

fn coordinator(w: usize) -> SigningKey {
    let mut seed = [0xc0; 32];
    seed[..8].copy_from_slice(&(w as u64).to_be_bytes());
    SigningKey::from_bytes(&seed)
}

/// Counters and samples all member tasks share.
struct Shared {
    start: Instant,
    acked: AtomicU64,
    delivered: AtomicU64,
    in_flight: AtomicU64,
    /// Ticks on which the member's previous push was still unacknowledged (not sent).
    behind: AtomicU64,
    /// Pushes refused with `Overloaded` (only allowed in the ramp).
    overloaded: AtomicU64,
    ramp: AtomicBool,
    acks: Mutex<Vec<Duration>>,
    deliveries: Mutex<Vec<Duration>>,
    failure: Mutex<Option<String>>,
}

impl Shared {
    fn fail(&self, why: String) {
        self.failure.lock().unwrap().get_or_insert(why);
    }
}

async fn tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// One member: subscribes, then pushes one bundle per interval the controller sets (none while
/// it is `None`), at most one unacknowledged at a time, and times every acknowledgement and
/// every other member's bundle it is sent.
async fn member(
    shared: Arc<Shared>,
    mut client: RelayClient,
    head: u64,
    ws: WorkspaceId,
    index: usize,
    mut every: watch::Receiver<Option<Duration>>,
) -> Result<(), String> {
    let key = member_key(index);
    client
        .send(&Message::Subscribe { after: head })
        .await
        .map_err(|e| format!("member {index}: subscribe: {e}"))?;
    let mut body = vec![0u8; PAYLOAD];
    rand::fill(&mut body[..]);
    let mut ticker: Option<Interval> = None;
    let mut pending: Option<Instant> = None;
    let mut count = 0u64;
    loop {
        tokio::select! {
            changed = every.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                ticker = every.borrow_and_update().map(|every| {
                    // Members spread their pushes evenly over the interval.
                    let offset = every.mul_f64(index as f64 / MEMBERS as f64);
                    let mut t = tokio::time::interval_at(tokio::time::Instant::now() + offset, every);
                    t.set_missed_tick_behavior(MissedTickBehavior::Skip);
                    t
                });
            }
            () = tick(&mut ticker) => {
                if pending.is_some() {
                    shared.behind.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                count += 1;
                let sent = Instant::now();
                body[..4].copy_from_slice(&(index as u32).to_be_bytes());
                body[4..12].copy_from_slice(&(sent.duration_since(shared.start).as_micros() as u64).to_be_bytes());
                body[12..20].copy_from_slice(&count.to_be_bytes());
                let mut nonce = [0u8; 24];
                nonce[..8].copy_from_slice(&(index as u64).to_be_bytes());
                nonce[8..16].copy_from_slice(&count.to_be_bytes());
                let doc = DocRef([(count % 32) as u8; 32]);
                let bundle = SealedBundle::sign(ws, 0, doc, nonce, body.clone(), &key);
                client
                    .send(&Message::Push { bundle })
                    .await
                    .map_err(|e| format!("member {index}: push: {e}"))?;
                pending = Some(sent);
                shared.in_flight.fetch_add(1, Ordering::Relaxed);
            }
            message = client.recv() => {
                match message.map_err(|e| format!("member {index}: connection: {e}"))? {
                    Message::Ack { duplicate, .. } => {
                        let sent = pending.take().ok_or(format!("member {index}: an Ack without a push"))?;
                        if duplicate {
                            return Err(format!("member {index}: bundle {count} stored before"));
                        }
                        shared.acks.lock().unwrap().push(sent.elapsed());
                        shared.acked.fetch_add(1, Ordering::Relaxed);
                        shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                    }
                    Message::Pushed { item } => {
                        let c = &item.bundle.ciphertext;
                        let author = u32::from_be_bytes(c[..4].try_into().unwrap()) as usize;
                        if author != index {
                            let sent = Duration::from_micros(u64::from_be_bytes(c[4..12].try_into().unwrap()));
                            shared.deliveries.lock().unwrap().push(shared.start.elapsed().saturating_sub(sent));
                            shared.delivered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Message::MembershipOps { .. } => {}
                    Message::Error { code: ErrorCode::Overloaded, .. } if shared.ramp.load(Ordering::Relaxed) && pending.is_some() => {
                        pending = None;
                        shared.overloaded.fetch_add(1, Ordering::Relaxed);
                        shared.in_flight.fetch_sub(1, Ordering::Relaxed);
                    }
                    Message::Error { code, message } => {
                        return Err(format!("member {index}: refused ({code:?}): {message}"));
                    }
                    other => return Err(format!("member {index}: unexpected {}", other.name())),
                }
            }
        }
    }
}

/// CPU seconds (user + system) of process `pid`, with those of its children it has waited
/// for when `reaped`.
fn cpu_seconds(pid: u32, reaped: bool) -> f64 {
    let Some(fields) = stat_fields(pid) else {
        return 0.0;
    };
    let ticks: u64 = fields[11..if reaped { 15 } else { 13 }]
        .iter()
        .map(|f| f.parse::<u64>().unwrap())
        .sum();
    ticks as f64 / USER_HZ
}

/// The fields of `/proc/<pid>/stat` after the command name (the state first), if it runs.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split(' ').map(str::to_string).collect())
}

/// CPU seconds of the PostgreSQL server: the postmaster with the backends it has reaped, and
/// the processes running under it now.
fn postgres_cpu(postmaster: u32) -> f64 {
    let children: f64 = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| stat_fields(pid).is_some_and(|f| f[1] == postmaster.to_string()))
        .map(|pid| cpu_seconds(pid, false))
        .sum();
    cpu_seconds(postmaster, true) + children
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split(' ')
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one phase measured.
struct Phase {
    offered: f64,
    accepted: f64,
    behind: u64,
    overloaded: u64,
    ack_p50: Duration,
    ack_p99: Duration,
    delivery_p50: Duration,
    delivery_p99: Duration,
    node_cpu: Vec<f64>,
    postgres_cpu: f64,
    bench_cpu: f64,
    db_growth: i64,
    bundles: u64,
    load: String,
}

struct Run<'a> {
    shared: Arc<Shared>,
    every: watch::Sender<Option<Duration>>,
    nodes: &'a [Relay],
    pg: &'a ScratchPostgres,
    postmaster: u32,
}

impl Run<'_> {
    async fn db_size(&self) -> i64 {
        self.pg
            .number("SELECT pg_database_size('load')")
            .await
            .unwrap()
    }

    fn check(&self) {
        if let Some(why) = self.shared.failure.lock().unwrap().as_ref() {
            panic!("load run stopped: {why}");
        }
    }

    /// Pushes at `rate` bundles per second over all members for `secs`, then waits until every
    /// push is acknowledged and delivered to every other member of its workspace.
    async fn phase(&self, rate: f64, secs: f64) -> Phase {
        let s = &self.shared;
        s.acks.lock().unwrap().clear();
        s.deliveries.lock().unwrap().clear();
        let (acked0, behind0, over0) = (
            s.acked.load(Ordering::SeqCst),
            s.behind.load(Ordering::SeqCst),
            s.overloaded.load(Ordering::SeqCst),
        );
        let db0 = self.db_size().await;
        let cpu0: Vec<f64> = self
            .nodes
            .iter()
            .map(|n| cpu_seconds(n.child.id(), false))
            .collect();
        let pg0 = postgres_cpu(self.postmaster);
        let bench0 = cpu_seconds(std::process::id(), false);
        let load = loadavg();
        let started = Instant::now();
        self.every
            .send(Some(Duration::from_secs_f64(MEMBERS as f64 / rate)))
            .unwrap();
        while started.elapsed().as_secs_f64() < secs {
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.check();
        }
        self.every.send(None).unwrap();
        let acked_in_window = s.acked.load(Ordering::SeqCst) - acked0;
        let drain = Instant::now();
        loop {
            self.check();
            let acked = s.acked.load(Ordering::SeqCst);
            let expected = acked * (PER_WORKSPACE as u64 - 1);
            let delivered = s.delivered.load(Ordering::SeqCst);
            if s.in_flight.load(Ordering::SeqCst) == 0 && delivered == expected {
                break;
            }
            assert!(
                delivered <= expected,
                "{delivered} deliveries for {expected} expected: a bundle delivered twice"
            );
            assert!(
                drain.elapsed() < DRAIN,
                "deliveries missing {DRAIN:?} after the last push at {rate} bundles/s: \
                 {delivered} of {expected} arrived, {} pushes unacknowledged",
                s.in_flight.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut acks = std::mem::take(&mut *s.acks.lock().unwrap());
        let mut deliveries = std::mem::take(&mut *s.deliveries.lock().unwrap());
        acks.sort();
        deliveries.sort();
        let bundles = s.acked.load(Ordering::SeqCst) - acked0;
        Phase {
            offered: rate,
            accepted: acked_in_window as f64 / secs,
            behind: s.behind.load(Ordering::SeqCst) - behind0,
            overloaded: s.overloaded.load(Ordering::SeqCst) - over0,
            ack_p50: percentile(&acks, 0.50),
            ack_p99: percentile(&acks, 0.99),
            delivery_p50: percentile(&deliveries, 0.50),
            delivery_p99: percentile(&deliveries, 0.99),
            node_cpu: self
                .nodes
                .iter()
                .zip(&cpu0)
                .map(|(n, c)| cpu_seconds(n.child.id(), false) - c)
                .collect(),
            postgres_cpu: postgres_cpu(self.postmaster) - pg0,
            bench_cpu: cpu_seconds(std::process::id(), false) - bench0,
            db_growth: self.db_size().await - db0,
            bundles,
            load,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn print_phase(name: &str, p: &Phase) {
    let cpu: Vec<String> = p.node_cpu.iter().map(|c| format!("{c:.1}")).collect();
    println!(
        "  {name:<8} {:>6.0} {:>8.1} {:>7} {:>5} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>11} {:>6.1} {:>6.1} {:>7.0} {:>8}  {}",
        p.offered,
        p.accepted,
        p.behind,
        p.overloaded,
        ms(p.ack_p50),
        ms(p.ack_p99),
        ms(p.delivery_p50),
        ms(p.delivery_p99),
        cpu.join(" + "),
        p.postgres_cpu,
        p.bench_cpu,
        p.db_growth as f64 / p.bundles.max(1) as f64,
        p.bundles,
        p.load,
    );
}

fn main() {
    let steady_rate = env_number("KOMPAS_LOAD_RATE", 200.0);
    let steady_secs = env_number("KOMPAS_LOAD_SECS", 60.0);
    let ramp_secs = env_number("KOMPAS_LOAD_RAMP_SECS", 10.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("load average at the start: {}", loadavg());
    let pg = ScratchPostgres::start().expect("a scratch PostgreSQL server");
    rt.block_on(load_run(&pg, steady_rate, steady_secs, ramp_secs));
}

async fn load_run(pg: &ScratchPostgres, steady_rate: f64, steady_secs: f64, ramp_secs: f64) {
    let url = pg.database("load").await.unwrap();
    // The checkpointer runs as long as the server, a child of the postmaster.
    let checkpointer = pg
        .number("SELECT pid::bigint FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
        .await
        .unwrap();
    let postmaster: u32 = stat_fields(checkpointer as u32)
        .map(|f| f[1].parse().unwrap())
        .expect("the PostgreSQL checkpointer's parent");
    let args = ["--store", url.as_str()];
    let nodes: Vec<Relay> = (0..NODES).map(|_| Relay::start(args)).collect();
    let urls: Vec<String> = nodes.iter().map(|n| n.url.clone()).collect();

    let setup = Instant::now();
    let db_empty = pg.number("SELECT pg_database_size('load')").await.unwrap();
    let creating: Vec<_> = (0..WORKSPACES)
        .map(|w| {
            let url = urls[w % NODES].clone();
            tokio::spawn(async move {
                let key = coordinator(w);
                let (mut admin, _) = RelayClient::connect(&url, workspace(w), &key)
                    .await
                    .unwrap();
                admin.append(create_op(workspace(w), &key)).await.unwrap();
                let first = w * PER_WORKSPACE;
                add_members(&mut admin, workspace(w), &key, first..first + PER_WORKSPACE).await;
            })
        })
        .collect();
    for c in creating {
        c.await.unwrap();
    }
    let db_setup = pg.number("SELECT pg_database_size('load')").await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_kib: Vec<u64> = nodes.iter().map(Relay::rss_kib).collect();
    println!(
        "setup: {WORKSPACES} workspaces of {PER_WORKSPACE} members, {} membership operations, in {:.1} s; database {:.1} MiB",
        WORKSPACES * PER_WORKSPACE * 2 + WORKSPACES,
        setup.elapsed().as_secs_f64(),
        db_setup as f64 / 1_048_576.0
    );

    let connecting: Vec<_> = (0..WORKSPACES)
        .map(|w| {
            let urls = urls.clone();
            tokio::spawn(async move {
                let mut clients = Vec::with_capacity(PER_WORKSPACE);
                for m in w * PER_WORKSPACE..(w + 1) * PER_WORKSPACE {
                    let (client, welcome) =
                        RelayClient::connect(&urls[m % NODES], workspace(w), &member_key(m))
                            .await
                            .unwrap();
                    clients.push((m, client, welcome.head));
                }
                clients
            })
        })
        .collect();
    let shared = Arc::new(Shared {
        start: Instant::now(),
        acked: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        in_flight: AtomicU64::new(0),
        behind: AtomicU64::new(0),
        overloaded: AtomicU64::new(0),
        ramp: false.into(),
        acks: Mutex::new(Vec::new()),
        deliveries: Mutex::new(Vec::new()),
        failure: Mutex::new(None),
    });
    let (every, every_rx) = watch::channel(None);
    let mut members = Vec::with_capacity(MEMBERS);
    for c in connecting {
        for (m, client, head) in c.await.unwrap() {
            let (shared, every_rx) = (shared.clone(), every_rx.clone());
            members.push(tokio::spawn(async move {
                let outcome = member(
                    shared.clone(),
                    client,
                    head,
                    workspace(m / PER_WORKSPACE),
                    m,
                    every_rx,
                )
                .await;
                if let Err(why) = &outcome {
                    shared.fail(why.clone());
                }
                outcome
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let connected_kib: Vec<u64> = nodes.iter().map(Relay::rss_kib).collect();
    println!(
        "connections held: {MEMBERS} members, {} per node, each its own key, authenticated and subscribed",
        MEMBERS / NODES
    );

    let run = Run {
        shared: shared.clone(),
        every,
        nodes: &nodes,
        pg,
        postmaster,
    };
    println!(
        "phases (bundles of {PAYLOAD} bytes of ciphertext; latencies in ms; delivery: push sent to Pushed at each \
         other member, half of them on the other node; CPU in seconds over the phase and its drain)"
    );
    println!(
        "  {:<8} {:>6} {:>8} {:>7} {:>5} {:>8} {:>8} {:>8} {:>8} {:>11} {:>6} {:>6} {:>7} {:>8}  load avg",
        "phase",
        "offer/s",
        "accept/s",
        "behind",
        "busy",
        "ack p50",
        "ack p99",
        "dlv p50",
        "dlv p99",
        "CPU nodes",
        "pg",
        "bench",
        "B/bndl",
        "bundles",
    );
    let steady = run.phase(steady_rate, steady_secs).await;
    print_phase("steady", &steady);
    shared.ramp.store(true, Ordering::SeqCst);
    let mut knee = None;
    let mut last_good = steady_rate;
    for rate in RAMP {
        let p = run.phase(rate, ramp_secs).await;
        print_phase("ramp", &p);
        let past = p.ack_p99 > KNEE_P99 || p.accepted < 0.9 * rate || p.overloaded > 0;
        if past {
            knee = Some(rate);
            break;
        }
        last_good = rate;
    }
    for m in &members {
        assert!(
            !m.is_finished(),
            "a member's connection ended during the run"
        );
    }
    match knee {
        Some(rate) => println!(
            "knee: {last_good:.0} bundles/s held; at {rate:.0} bundles/s ack p99 passed {KNEE_P99:?}, fewer than 90% were accepted or the nodes answered Overloaded"
        ),
        None => println!(
            "knee: not reached; {last_good:.0} bundles/s held with ack p99 under {KNEE_P99:?}"
        ),
    }
    let hwm: Vec<u64> = nodes.iter().map(|n| n.status_kib("VmHWM:")).collect();
    for (n, node) in nodes.iter().enumerate() {
        println!(
            "node {}: RSS {:.1} MiB idle, {:.1} MiB with its {} connections ({:.1} KiB per connection), \
             peak (VmHWM) {:.1} MiB, now {:.1} MiB",
            n + 1,
            idle_kib[n] as f64 / 1024.0,
            connected_kib[n] as f64 / 1024.0,
            MEMBERS / NODES,
            connected_kib[n].saturating_sub(idle_kib[n]) as f64 / (MEMBERS / NODES) as f64,
            hwm[n] as f64 / 1024.0,
            node.rss_kib() as f64 / 1024.0,
        );
    }
    let db_end = run.db_size().await;
    let stored = shared.acked.load(Ordering::SeqCst);
    println!(
        "database: {:.1} MiB empty, {:.1} MiB after setup, {:.1} MiB after {stored} bundles ({:.0} bytes per bundle stored)",
        db_empty as f64 / 1_048_576.0,
        db_setup as f64 / 1_048_576.0,
        db_end as f64 / 1_048_576.0,
        (db_end - db_setup) as f64 / stored.max(1) as f64
    );
    println!("load average at the end: {}", loadavg());
    drop(run);
    for m in members {
        m.await.unwrap().unwrap();
    }
}
