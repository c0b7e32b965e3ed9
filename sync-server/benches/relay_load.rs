//! Relay load run: two relay processes on one scratch PostgreSQL, 100 workspaces of 10 members
//! (1,000 members, each its own key and connection, the members of a workspace spread over both
//! nodes), every member subscribed and pushing sealed bundles at a paced rate: a steady phase,
//! then a ramp that doubles the rate until the acknowledgement p99 exceeds 1 s (the knee).
//! Prints connections held, bundles/s accepted, acknowledgement and delivery latency (a push to
//! every other member of its workspace, also across nodes), each node's memory and CPU time,
//! the CPU time of PostgreSQL, the database's growth per bundle and the load average. Fails
//! loudly if a push in the steady phase is refused or a delivery is missing.
//!
//! Run with `cargo bench -p kompas-relay --bench relay_load`. `KOMPAS_LOAD_SECS` (default 60)
//! sets the steady phase's length, `KOMPAS_LOAD_RATE` (default 200) its bundles per second over
//! all members, `KOMPAS_LOAD_BYTES` (default 2048) the ciphertext per bundle,
//! `KOMPAS_LOAD_STEP_SECS` (default 12) each ramp step's length.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark that cannot run should stop loudly.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kompas_engine::sync::wire::{DocRef, Message, SealedBundle, WorkspaceId};
use kompas_relay::client::RelayClient;
use kompas_relay::postgres::scratch::ScratchPostgres;
use tokio::sync::{mpsc, oneshot};

#[allow(dead_code)] // Each benchmark uses part of it.
mod support;
use support::{
    Relay, add_members, cpu_seconds, create_op, load_average, member_key, parent_of, percentile,
    status_kib,
};

const WORKSPACES: usize = 100;
const PER_WORKSPACE: usize = 10;
const MEMBERS: usize = WORKSPACES * PER_WORKSPACE;
const NODES: usize = 2;
/// The ramp stops once the acknowledgement p99 exceeds this.
const KNEE_P99: Duration = Duration::from_secs(1);
const MAX_STEPS: usize = 5;
/// Bytes at the start of every ciphertext the benchmark reads back: push time (microseconds
/// since the run started), pusher, phase.
const HEADER: usize = 8 + 2 + 1;

fn workspace(w: usize) -> WorkspaceId {
    let mut id = [0x77; 16];
    id[..8].copy_from_slice(&(w as u64).to_be_bytes());
    WorkspaceId(id)
}

fn env_or(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is no whole number")),
    }
}

/// What a member measured in one phase.
#[derive(Default)]
struct PhaseStats {
    acks: Vec<Duration>,
    deliveries: Vec<Duration>,
    across: Vec<Duration>,
    refused: Vec<String>,
    unacked: usize,
}

enum Command {
    /// Push one bundle every `interval`, the first at `first`, until `until`, as phase `phase`.
    Run {
        phase: u8,
        first: Instant,
        interval: Duration,
        until: Instant,
    },
    /// Hand over phase `phase`'s figures.
    Report(u8, oneshot::Sender<PhaseStats>),
    /// Hand over the sequence numbers acknowledged to this member and those delivered to it.
    Seqs(oneshot::Sender<(Vec<u64>, HashSet<u64>)>),
}

struct Member {
    id: usize,
    node: usize,
    key: SigningKey,
    ws: WorkspaceId,
    client: RelayClient,
    size: usize,
    start: Instant,
}

impl Member {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        self.client
            .send(&Message::Subscribe { after: 0 })
            .await
            .unwrap();
        let mut stats: Vec<PhaseStats> = Vec::new();
        let mut in_flight: VecDeque<(Instant, u8)> = VecDeque::new();
        let mut acked = Vec::new();
        let mut delivered = HashSet::new();
        let mut plan: Option<(u8, Instant, Duration, Instant)> = None;
        let mut counter = 0u64;
        loop {
            let next = plan.map(|(_, at, _, _)| at);
            tokio::select! {
                command = commands.recv() => match command {
                    None => return,
                    Some(Command::Run { phase, first, interval, until }) => {
                        plan = Some((phase, first, interval, until));
                    }
                    Some(Command::Report(phase, reply)) => {
                        let mut s = std::mem::take(stats_of(&mut stats, phase));
                        s.unacked = in_flight.iter().filter(|(_, p)| *p == phase).count();
                        let _ = reply.send(s);
                    }
                    Some(Command::Seqs(reply)) => {
                        let _ = reply.send((acked.clone(), delivered.clone()));
                    }
                },
                () = sleep_until(next) => {
                    let (phase, at, interval, until) = plan.unwrap();
                    counter += 1;
                    let bundle = self.bundle(counter, at, phase);
                    self.client.send(&Message::Push { bundle }).await.unwrap();
                    in_flight.push_back((at, phase));
                    let following = at + interval;
                    plan = (following < until).then_some((phase, following, interval, until));
                }
                message = self.client.recv() => match message.unwrap() {
                    Message::Ack { seq, duplicate, .. } => {
                        assert!(!duplicate, "member {}: a fresh bundle was a duplicate", self.id);
                        let (sent, phase) = in_flight.pop_front().expect("an ack for no push");
                        stats_of(&mut stats, phase).acks.push(sent.elapsed());
                        acked.push(seq);
                    }
                    Message::Pushed { item } => {
                        let c = &item.bundle.ciphertext;
                        let pusher = u16::from_be_bytes([c[8], c[9]]) as usize;
                        delivered.insert(item.seq);
                        if pusher != self.id {
                            let sent = self.start
                                + Duration::from_micros(u64::from_be_bytes(c[..8].try_into().unwrap()));
                            let took = sent.elapsed();
                            let s = stats_of(&mut stats, c[10]);
                            s.deliveries.push(took);
                            if pusher % NODES != self.node {
                                s.across.push(took);
                            }
                        }
                    }
                    Message::Error { code, message } => {
                        let (_, phase) = in_flight.pop_front().expect("a refusal for no push");
                        stats_of(&mut stats, phase).refused.push(format!("{code:?}: {message}"));
                    }
                    other => panic!("member {}: unexpected {}", self.id, other.name()),
                },
            }
        }
    }

    /// A bundle whose ciphertext starts with the time it is due, its pusher and its phase.
    fn bundle(&self, n: u64, due: Instant, phase: u8) -> SealedBundle {
        let mut ciphertext = vec![0u8; self.size.max(HEADER)];
        let micros = due.duration_since(self.start).as_micros() as u64;
        ciphertext[..8].copy_from_slice(&micros.to_be_bytes());
        ciphertext[8..10].copy_from_slice(&(self.id as u16).to_be_bytes());
        ciphertext[10] = phase;
        for (j, b) in ciphertext[HEADER..].iter_mut().enumerate() {
            *b = (n as usize * 31 + j * 7 + self.id) as u8;
        }
        let mut nonce = [0u8; 24];
        nonce[..8].copy_from_slice(&(self.id as u64).to_be_bytes());
        nonce[8..16].copy_from_slice(&n.to_be_bytes());
        let doc = DocRef([(n % 50) as u8; 32]);
        SealedBundle::sign(self.ws, 0, doc, nonce, ciphertext, &self.key)
    }
}

fn stats_of(stats: &mut Vec<PhaseStats>, phase: u8) -> &mut PhaseStats {
    let i = phase as usize;
    while stats.len() <= i {
        stats.push(PhaseStats::default());
    }
    &mut stats[i]
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// The database's size, its commits so far and its data directory.
async fn database(client: &tokio_postgres::Client) -> (i64, i64) {
    let row = client
        .query_one(
            "SELECT pg_database_size(current_database()), \
             (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// CPU seconds of the PostgreSQL server: the postmaster with its finished children, and every
/// live child.
fn postgres_cpu(postmaster: u32) -> f64 {
    let mut total = cpu_seconds(postmaster, true).unwrap_or(0.0);
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
            && parent_of(pid) == Some(postmaster)
        {
            total += cpu_seconds(pid, false).unwrap_or(0.0);
        }
    }
    total
}

fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

struct Row {
    name: String,
    target: f64,
    accepted: f64,
    ack: (Duration, Duration),
    delivery: (Duration, Duration),
    across: (Duration, Duration),
    refused: usize,
    cpu: Vec<f64>,
    commits: f64,
    bytes_per_bundle: f64,
    load: String,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let secs = env_or("KOMPAS_LOAD_SECS", 60);
    let rate = env_or("KOMPAS_LOAD_RATE", 200) as f64;
    let size = env_or("KOMPAS_LOAD_BYTES", 2048) as usize;
    let step_secs = env_or("KOMPAS_LOAD_STEP_SECS", 12);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pg = ScratchPostgres::start().unwrap_or_else(|e| panic!("no scratch PostgreSQL: {e}"));
    rt.block_on(run(&pg, secs, rate, size, step_secs));
}

async fn run(pg: &ScratchPostgres, secs: u64, rate: f64, size: usize, step_secs: u64) {
    let load_before = load_average();
    let url = pg.database("relay_load").await.unwrap();
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let data_dir: String = db
        .query_one("SHOW data_directory", &[])
        .await
        .unwrap()
        .get(0);
    let postmaster: u32 = std::fs::read_to_string(format!("{data_dir}/postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let args = [
        "--store",
        url.as_str(),
        // Every connection comes from 127.0.0.1, as behind a proxy.
        "--max-per-ip",
        "0",
        // A hundred workspaces are created within a few seconds.
        "--quota-creates-per-minute",
        "0",
    ];
    // The first node creates the schema before the second starts.
    let nodes: Vec<Relay> = (0..NODES).map(|_| Relay::start(args)).collect();

    // Each workspace is created by its first member, through node w % 2.
    let setup = Instant::now();
    let tasks: Vec<_> = (0..WORKSPACES)
        .map(|w| {
            let url = nodes[w % NODES].url.clone();
            tokio::spawn(async move {
                let ws = workspace(w);
                let coordinator = member_key(w * PER_WORKSPACE);
                let (mut admin, _) = RelayClient::connect(&url, ws, &coordinator).await.unwrap();
                admin.append(create_op(ws, &coordinator)).await.unwrap();
                let others = (1..PER_WORKSPACE).map(|m| {
                    let n = w * PER_WORKSPACE + m;
                    (n, member_key(n))
                });
                add_members(&mut admin, ws, &coordinator, others).await;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let setup_took = setup.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle: Vec<u64> = nodes.iter().map(Relay::rss_kib).collect();

    let start = Instant::now();
    let mut senders = Vec::with_capacity(MEMBERS);
    let mut members = Vec::with_capacity(MEMBERS);
    for id in 0..MEMBERS {
        let node = id % NODES;
        let key = member_key(id);
        let ws = workspace(id / PER_WORKSPACE);
        let (client, _) = RelayClient::connect(&nodes[node].url, ws, &key)
            .await
            .unwrap_or_else(|e| panic!("member {id} could not connect to node {node}: {e}"));
        members.push(Member {
            id,
            node,
            key,
            ws,
            client,
            size,
            start,
        });
    }
    for member in members {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.push(tx);
        tokio::spawn(member.run(rx));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected: Vec<u64> = nodes.iter().map(Relay::rss_kib).collect();
    let sockets: Vec<usize> = nodes.iter().map(|n| open_sockets(n.pid())).collect();

    let mut rows = Vec::new();
    let mut phase = 0u8;
    let mut target = rate;
    let mut duration = Duration::from_secs(secs);
    let mut knee = None;
    loop {
        let cpu0: Vec<f64> = nodes
            .iter()
            .map(|n| cpu_seconds(n.pid(), false).unwrap())
            .collect();
        let pg0 = postgres_cpu(postmaster);
        let (size0, commits0) = database(&db).await;
        let load = load_average();
        let interval = Duration::from_secs_f64(MEMBERS as f64 / target);
        let begin = Instant::now() + Duration::from_millis(100);
        for (id, tx) in senders.iter().enumerate() {
            // Members start spread over one interval.
            let first = begin + interval.mul_f64(id as f64 / MEMBERS as f64);
            tx.send(Command::Run {
                phase,
                first,
                interval,
                until: begin + duration,
            })
            .unwrap();
        }
        tokio::time::sleep_until((begin + duration).into()).await;
        // Acknowledgements of the last pushes come within a second at a sustainable rate; what
        // is still unacknowledged then counts against the step.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut merged = PhaseStats::default();
        for tx in &senders {
            let (reply, answer) = oneshot::channel();
            tx.send(Command::Report(phase, reply)).unwrap();
            let s = answer.await.unwrap();
            merged.acks.extend(s.acks);
            merged.deliveries.extend(s.deliveries);
            merged.across.extend(s.across);
            merged.refused.extend(s.refused);
            merged.unacked += s.unacked;
        }
        let wall = duration.as_secs_f64();
        let cpu: Vec<f64> = nodes
            .iter()
            .zip(&cpu0)
            .map(|(n, c0)| cpu_seconds(n.pid(), false).unwrap() - c0)
            .collect();
        let pg_cpu = postgres_cpu(postmaster) - pg0;
        let (size1, commits1) = database(&db).await;
        for v in [&mut merged.acks, &mut merged.deliveries, &mut merged.across] {
            v.sort();
        }
        let accepted = merged.acks.len();
        let mut cpu_all = cpu.clone();
        cpu_all.push(pg_cpu);
        let row = Row {
            name: if phase == 0 {
                "steady".into()
            } else {
                format!("ramp {phase}")
            },
            target,
            accepted: accepted as f64 / wall,
            ack: (
                percentile(&merged.acks, 0.5),
                percentile(&merged.acks, 0.99),
            ),
            delivery: (
                percentile(&merged.deliveries, 0.5),
                percentile(&merged.deliveries, 0.99),
            ),
            across: (
                percentile(&merged.across, 0.5),
                percentile(&merged.across, 0.99),
            ),
            refused: merged.refused.len(),
            cpu: cpu_all.iter().map(|c| c / wall).collect(),
            commits: (commits1 - commits0) as f64 / wall,
            bytes_per_bundle: (size1 - size0) as f64 / accepted.max(1) as f64,
            load,
        };
        let p99 = row.ack.1;
        if phase == 0 {
            assert!(
                merged.refused.is_empty(),
                "steady phase: {} pushes refused, the first: {}",
                merged.refused.len(),
                merged.refused[0]
            );
        }
        let unacked = merged.unacked;
        rows.push(row);
        if phase > 0 && (p99 > KNEE_P99 || !merged.refused.is_empty() || unacked > 0) {
            knee = Some(format!(
                "at {target:.0} bundles/s: ack p99 {:.0} ms, {} refused{}, {unacked} not acknowledged at the end of the step",
                ms(p99),
                merged.refused.len(),
                merged
                    .refused
                    .first()
                    .map(|r| format!(" (first: {r})"))
                    .unwrap_or_default()
            ));
            break;
        }
        if usize::from(phase) == MAX_STEPS {
            break;
        }
        phase += 1;
        target = rate * 2f64.powi(i32::from(phase));
        duration = Duration::from_secs(step_secs);
    }

    // Every bundle must reach every other member of its workspace.
    let deadline = Instant::now() + Duration::from_secs(30);
    let missing = loop {
        let mut seqs = Vec::with_capacity(MEMBERS);
        for tx in &senders {
            let (reply, answer) = oneshot::channel();
            tx.send(Command::Seqs(reply)).unwrap();
            seqs.push(answer.await.unwrap());
        }
        let mut missing = 0usize;
        let mut pushed = 0usize;
        for w in 0..WORKSPACES {
            let group = &seqs[w * PER_WORKSPACE..(w + 1) * PER_WORKSPACE];
            let all: Vec<u64> = group.iter().flat_map(|(a, _)| a.iter().copied()).collect();
            pushed += all.len();
            for (own, got) in group {
                let own: HashSet<u64> = own.iter().copied().collect();
                missing += all
                    .iter()
                    .filter(|s| !own.contains(s) && !got.contains(s))
                    .count();
            }
        }
        if missing == 0 || Instant::now() > deadline {
            break (missing, pushed);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(
        missing.0,
        0,
        "{} of {} deliveries missing 30 s after the last push",
        missing.0,
        missing.1 * (PER_WORKSPACE - 1)
    );

    let hwm: Vec<u64> = nodes
        .iter()
        .map(|n| status_kib(n.pid(), "VmHWM:"))
        .collect();
    let (db_size, _) = database(&db).await;
    println!(
        "relay load: {NODES} relay processes on one scratch PostgreSQL (fsync on), {WORKSPACES} workspaces x {PER_WORKSPACE} members = {MEMBERS} connections (each its own key), bundles of {size} bytes of ciphertext, every member subscribed"
    );
    println!("  load average before: {load_before}");
    println!(
        "  setup: {WORKSPACES} workspaces created and {} members invited and redeemed in {:.1} s",
        WORKSPACES * (PER_WORKSPACE - 1),
        setup_took.as_secs_f64()
    );
    for n in 0..NODES {
        println!(
            "  node {}: {} sockets open with {} members connected; RSS {} KiB idle, {} KiB connected ({:.1} KiB per connection), peak (VmHWM) {} KiB",
            n + 1,
            sockets[n],
            MEMBERS / NODES,
            rss_idle[n],
            rss_connected[n],
            rss_connected[n].saturating_sub(rss_idle[n]) as f64 / (MEMBERS / NODES) as f64,
            hwm[n]
        );
    }
    println!(
        "  latency from a push's due time: ack = its acknowledgement, delivery = its arrival at each other member, across = only members on the other node"
    );
    println!(
        "  {:<8} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>6} {:>6} {:>6} {:>9} {:>9}  load",
        "phase",
        "target",
        "accepted",
        "ack p50",
        "ack p99",
        "dlv p50",
        "dlv p99",
        "acr p50",
        "acr p99",
        "refused",
        "cpu 1",
        "cpu 2",
        "cpu pg",
        "commits/s",
        "B/bundle"
    );
    for r in &rows {
        println!(
            "  {:<8} {:>7.0} {:>9.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>7} {:>6.2} {:>6.2} {:>6.2} {:>9.0} {:>9.0}  {}",
            r.name,
            r.target,
            r.accepted,
            ms(r.ack.0),
            ms(r.ack.1),
            ms(r.delivery.0),
            ms(r.delivery.1),
            ms(r.across.0),
            ms(r.across.1),
            r.refused,
            r.cpu[0],
            r.cpu[1],
            r.cpu[2],
            r.commits,
            r.bytes_per_bundle,
            r.load
        );
    }
    println!(
        "  (latencies in ms; cpu = CPU seconds per second of the phase, per node and for PostgreSQL)"
    );
    match knee {
        Some(k) => println!("  knee: {k}"),
        None => println!(
            "  knee: not reached within {MAX_STEPS} doublings (ack p99 stayed under {} ms)",
            KNEE_P99.as_millis()
        ),
    }
    println!(
        "  database: {} MiB at the end; every delivery arrived ({} bundles x {} other members)",
        db_size / (1 << 20),
        missing.1,
        PER_WORKSPACE - 1
    );
    println!("  load average after: {}", load_average());
    // The members stop before their nodes do, so no connection breaks under them.
    drop(senders);
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(nodes);
}
