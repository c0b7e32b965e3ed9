//! Relay benchmark: throughput against a plain axum websocket echo measured in the same run
//! with the same client pattern, twice: with 64 messages in flight per client (as a replica
//! pushes; with acknowledgement latency p50/p99) and with each client waiting for every answer
//! (with the default limits and quotas, and with every limit that can be switched off switched
//! off), resident memory with 1,000 members of one workspace connected (each with its own key),
//! under a slow-frame attack of 500 connections, and whether memory grows with stored data.
//! Beside the sled relay's push rate and acknowledgement latency it measures the same with one
//! relay node on PostgreSQL and with two nodes on one database (a scratch server; without
//! PostgreSQL installed it says why and measures the rest).
//!
//! Run with `cargo bench --workspace --locked --bench relay`
//! (or build with `--no-run` and run the printed binary with `--bench`). All figures are printed as measured
//! here; throughput is also given as a ratio to the echo server, which is the number to compare
//! across machines.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark that cannot run should stop loudly.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use ed25519_dalek::SigningKey;
use futures_util::{SinkExt, StreamExt};
use kompas_engine::sync::wire::{DocRef, Message, SealedBundle, WorkspaceId, encode_frame};
use kompas_relay::client::RelayClient;
use kompas_relay::config::Quotas;
use kompas_relay::postgres::scratch::ScratchPostgres;
use kompas_relay::{RelayConfig, RelayState};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as TMessage;

mod support;
use support::{Relay, add_members, create_op, member_key, percentile};

const WS: WorkspaceId = WorkspaceId([5; 16]);
const CLIENTS: usize = 8;
const PER_CLIENT: usize = 400;
const PAYLOAD: usize = 1024;
/// Pushes (or echo messages) each client keeps in flight in the windowed rounds; a replica
/// keeps up to 256.
const WINDOW: usize = 64;
/// Messages per client in the windowed rounds (each client pushes with its own key, so the
/// default per-key quota of 10,000 a minute holds).
const WINDOWED_PER_CLIENT: usize = 3000;
/// Members of the workspace, each connected with its own key in the memory phase.
const MEMBERS: usize = 1000;
const SLOW_CONNECTIONS: usize = 500;
/// The relay's push rate as a ratio to the echo server before the connection limits and quotas
/// existed, from BENCHMARKS.md, to compare this run's ratio with.
const RATIO_BEFORE_LIMITS: f64 = 0.080;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let key = SigningKey::from_bytes(&[1; 32]);
    let bundles = make_bundles(&key, CLIENTS * PER_CLIENT, PAYLOAD);
    let frame_bytes = encode_frame(&Message::Push {
        bundle: bundles[0].clone(),
    })
    .len();

    let windowed_bundles = make_bundles(&key, CLIENTS * WINDOWED_PER_CLIENT, PAYLOAD);
    let echo_windowed = rt.block_on(echo_windowed(frame_bytes));
    let unlimited_windowed = rt.block_on(relay_windowed(
        &key,
        windowed_bundles.clone(),
        without_limits,
    ));
    let relay_windowed = rt.block_on(relay_windowed(&key, windowed_bundles, |_| {}));
    if std::env::var("QUICK").is_ok() {
        println!(
            "echo {:.0} relay {:.0} unlimited {:.0} ratio {:.3} p50 {:?} p99 {:?}",
            echo_windowed.rate,
            relay_windowed.rate,
            unlimited_windowed.rate,
            relay_windowed.rate / echo_windowed.rate,
            relay_windowed.p50,
            relay_windowed.p99
        );
        return;
    }
    let echo = rt.block_on(echo_throughput(frame_bytes));
    let unlimited = rt.block_on(relay_throughput(&key, bundles.clone(), without_limits));
    let relay = rt.block_on(relay_throughput(&key, bundles.clone(), |_| {}));
    // The PostgreSQL server starts before it is measured, and stays for both of its rounds.
    let postgres = ScratchPostgres::start()
        .map_err(|e| e.to_string())
        .map(|pg| {
            let one = rt.block_on(postgres_throughput(
                &pg,
                "one_node",
                1,
                &key,
                bundles.clone(),
            ));
            let two = rt.block_on(postgres_throughput(&pg, "two_nodes", 2, &key, bundles));
            (one, two)
        });
    println!(
        "relay throughput, {CLIENTS} clients x {WINDOWED_PER_CLIENT} messages of {frame_bytes} bytes, {WINDOW} in flight per client \
         (latency: from sending to the answer)"
    );
    println!(
        "  {:<34} {:>9} {:>7} {:>8} {:>8} {:>8}",
        "", "msg/s", "MB/s", "/ echo", "p50 ms", "p99 ms"
    );
    let windowed_row = |name: &str, p: &Pushes| {
        println!(
            "  {:<34} {:>9.0} {:>7.2} {:>8.3} {:>8.2} {:>8.2}",
            name,
            p.rate,
            p.mb_s,
            p.rate / echo_windowed.rate,
            p.p50.as_secs_f64() * 1000.0,
            p.p99.as_secs_f64() * 1000.0
        );
    };
    windowed_row("axum websocket echo", &echo_windowed);
    windowed_row("kompas-relay push (durable acks)", &relay_windowed);
    windowed_row("same, limits and quotas off", &unlimited_windowed);
    println!(
        "  ratio relay / echo  : {:.3} (limits and quotas off: {:.3})",
        relay_windowed.rate / echo_windowed.rate,
        unlimited_windowed.rate / echo_windowed.rate
    );
    println!(
        "relay throughput, {CLIENTS} clients x {PER_CLIENT} messages of {frame_bytes} bytes, each waiting for its answer"
    );
    println!(
        "  axum websocket echo : {:>8.0} msg/s  {:>6.2} MB/s",
        echo.0, echo.1
    );
    println!(
        "  kompas-relay push   : {:>8.0} bundles/s  {:>6.2} MB/s  (durable: flushed before every ack)",
        relay.rate, relay.mb_s
    );
    println!(
        "  same, limits and quotas off: {:>8.0} bundles/s  {:>6.2} MB/s",
        unlimited.rate, unlimited.mb_s
    );
    println!("  ratio relay / echo  : {:.3}", relay.rate / echo.0);
    println!(
        "  cost of the limits  : {:.3}x the rate with them off, {:.2}x the ratio to echo before they existed ({RATIO_BEFORE_LIMITS})",
        relay.rate / unlimited.rate,
        relay.rate / echo.0 / RATIO_BEFORE_LIMITS
    );

    println!(
        "relay push by store, same {CLIENTS} clients x {PER_CLIENT} bundles, default limits and quotas \
         (latency: from sending a push to its acknowledgement)"
    );
    println!(
        "  {:<34} {:>9} {:>7} {:>11} {:>8} {:>8}",
        "store", "bundles/s", "MB/s", "/ echo", "p50 ms", "p99 ms"
    );
    let row = |name: &str, p: &Pushes| {
        let sum: f64 = p.per_node.iter().sum();
        println!(
            "  {:<34} {:>9.0} {:>7.2} {:>11.3} {:>8.2} {:>8.2}",
            name,
            sum,
            p.mb_s * sum / p.rate,
            sum / echo.0,
            p.p50.as_secs_f64() * 1000.0,
            p.p99.as_secs_f64() * 1000.0
        );
    };
    row("sled, one node", &relay);
    match &postgres {
        Err(why) => println!("  PostgreSQL: not measured, no scratch server: {why}"),
        Ok((one, two)) => {
            match one {
                Ok(p) => row("PostgreSQL, one node", p),
                Err(why) => println!("  PostgreSQL, one node: not measured: {why}"),
            }
            match two {
                Ok(p) => {
                    row("PostgreSQL, two nodes (sum)", p);
                    let nodes: Vec<String> = p.per_node.iter().map(|r| format!("{r:.0}")).collect();
                    println!(
                        "    each node, half the clients    : {} bundles/s; both together over the whole run {:.0} bundles/s",
                        nodes.join(" + "),
                        p.rate
                    );
                }
                Err(why) => println!("  PostgreSQL, two nodes: not measured: {why}"),
            }
        }
    }

    let memory = rt.block_on(memory_per_connection(&key));
    println!("relay resident memory (separate process)");
    println!(
        "  idle, no connections          : {:>8} KiB",
        memory.base_kib
    );
    println!(
        "  with {MEMBERS} members connected  : {:>8} KiB  ({:.1} KiB per connection, target <= 16; each its own key, authenticated, one pull answered)",
        memory.loaded_kib,
        (memory.loaded_kib.saturating_sub(memory.base_kib)) as f64 / MEMBERS as f64
    );
    println!(
        "  with {SLOW_CONNECTIONS} slow-frame attackers   : {:>8} KiB  ({:.1} KiB per connection; each sent 48 KiB of a 4 MiB frame and stopped)",
        memory.slow_kib,
        (memory.slow_kib.saturating_sub(memory.base_kib)) as f64 / SLOW_CONNECTIONS as f64
    );
    println!(
        "  after storing {:>3} MB of bundles : {:>8} KiB",
        memory.stored_mb[0], memory.after_data_kib[0]
    );
    println!(
        "  after storing {:>3} MB of bundles : {:>8} KiB",
        memory.stored_mb[1], memory.after_data_kib[1]
    );
    println!(
        "  restarted on that data, idle   : {:>8} KiB  (grows with stored data: {})",
        memory.restarted_kib,
        if memory.restarted_kib > memory.base_kib * 2 {
            "yes"
        } else {
            "no"
        }
    );
}

fn make_bundles(key: &SigningKey, n: usize, size: usize) -> Vec<SealedBundle> {
    (0..n)
        .map(|i| {
            let mut nonce = [0u8; 24];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let ciphertext: Vec<u8> = (0..size).map(|j| (i * 31 + j * 7) as u8).collect();
            SealedBundle::sign(WS, 0, DocRef([(i % 100) as u8; 32]), nonce, ciphertext, key)
        })
        .collect()
}

/// Starts a plain axum websocket echo on a free port; returns its URL.
async fn start_echo() -> String {
    async fn echo(mut socket: WebSocket) {
        while let Some(Ok(message)) = socket.recv().await {
            if let WsMessage::Binary(b) = message
                && socket.send(WsMessage::Binary(b)).await.is_err()
            {
                return;
            }
        }
    }
    let app = Router::new().route(
        "/ws",
        get(|upgrade: WebSocketUpgrade| async { upgrade.on_upgrade(echo) }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("ws://{addr}/ws")
}

/// Messages per second and MB/s through a plain axum websocket echo.
async fn echo_throughput(frame_bytes: usize) -> (f64, f64) {
    let url = start_echo().await;
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
                    .await
                    .unwrap();
                let payload = vec![0x42u8; frame_bytes];
                for _ in 0..PER_CLIENT {
                    socket
                        .send(TMessage::Binary(payload.clone().into()))
                        .await
                        .unwrap();
                    socket.next().await.unwrap().unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    rates(start.elapsed(), CLIENTS * PER_CLIENT, frame_bytes)
}

/// The same through the echo with `WINDOW` messages in flight per client, as a replica pushes:
/// the rate, and how long each message waited for its echo.
async fn echo_windowed(frame_bytes: usize) -> Pushes {
    let url = start_echo().await;
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
                    .await
                    .unwrap();
                let payload = vec![0x42u8; frame_bytes];
                let mut sent = std::collections::VecDeque::with_capacity(WINDOW);
                let mut waits = Vec::with_capacity(WINDOWED_PER_CLIENT);
                let mut left = WINDOWED_PER_CLIENT;
                loop {
                    while sent.len() < WINDOW && left > 0 {
                        socket
                            .send(TMessage::Binary(payload.clone().into()))
                            .await
                            .unwrap();
                        sent.push_back(Instant::now());
                        left -= 1;
                    }
                    let Some(at) = sent.pop_front() else { break };
                    socket.next().await.unwrap().unwrap();
                    waits.push(at.elapsed());
                }
                waits
            })
        })
        .collect();
    let mut waits = Vec::with_capacity(CLIENTS * WINDOWED_PER_CLIENT);
    for t in tasks {
        waits.extend(t.await.unwrap());
    }
    pushes(start.elapsed(), waits, frame_bytes, Vec::new())
}

/// Bundles per second pushed through an in-process relay on sled with `WINDOW` pushes in
/// flight per client, each client a member with its own key, every acknowledgement durable.
async fn relay_windowed(
    key: &SigningKey,
    bundles: Vec<SealedBundle>,
    adjust: impl FnOnce(&mut RelayConfig),
) -> Pushes {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(dir.path().to_path_buf());
    adjust(&mut config);
    let state = RelayState::open(config, [9; 32]).unwrap();
    let (url, _stop) = serve_node(state).await;
    let (mut admin, _) = RelayClient::connect(&url, WS, key).await.unwrap();
    admin.append(create_op(WS, key)).await.unwrap();
    add_members(&mut admin, WS, key, 0..CLIENTS).await;
    let bytes = bundles[0].encoded_len() + 6;
    let count = bundles.len();
    let mut it = bundles.into_iter();
    let chunks: Vec<Vec<SealedBundle>> = (0..CLIENTS)
        .map(|_| it.by_ref().take(count / CLIENTS).collect())
        .collect();
    let start = Instant::now();
    let tasks: Vec<_> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let url = url.clone();
            tokio::spawn(async move {
                let (mut client, _) = RelayClient::connect(&url, WS, &member_key(i))
                    .await
                    .unwrap();
                let mut sent = std::collections::VecDeque::with_capacity(WINDOW);
                let mut waits = Vec::with_capacity(chunk.len());
                let mut chunk = chunk.into_iter();
                loop {
                    while sent.len() < WINDOW {
                        let Some(bundle) = chunk.next() else { break };
                        let hash = bundle.hash();
                        client.send(&Message::Push { bundle }).await.unwrap();
                        sent.push_back((hash, Instant::now()));
                    }
                    let Some((hash, at)) = sent.pop_front() else {
                        break;
                    };
                    match client.recv().await.unwrap() {
                        Message::Ack { hash: acked, .. } if acked == hash => {}
                        other => panic!("expected the ack of {hash}, got {other:?}"),
                    }
                    waits.push(at.elapsed());
                }
                waits
            })
        })
        .collect();
    let mut waits = Vec::with_capacity(count);
    for t in tasks {
        waits.extend(t.await.unwrap());
    }
    pushes(start.elapsed(), waits, bytes, Vec::new())
}

/// The figures of a round of `waits.len()` messages of `bytes` that took `elapsed`.
fn pushes(elapsed: Duration, mut waits: Vec<Duration>, bytes: usize, per_node: Vec<f64>) -> Pushes {
    waits.sort();
    let (rate, mb_s) = rates(elapsed, waits.len(), bytes);
    Pushes {
        rate,
        mb_s,
        per_node,
        p50: percentile(&waits, 0.50),
        p99: percentile(&waits, 0.99),
    }
}

/// One measured round of pushes: the rate over all nodes together, each node's own rate (its
/// clients' bundles over the time until its last client finished), and how long each push
/// waited for its acknowledgement.
struct Pushes {
    rate: f64,
    mb_s: f64,
    per_node: Vec<f64>,
    p50: Duration,
    p99: Duration,
}

/// Serves `state` on a free port of 127.0.0.1 until the returned sender is dropped.
async fn serve_node(state: Arc<RelayState>) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(kompas_relay::server::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

/// Bundles per second and MB/s pushed through an in-process relay on sled, each acknowledged
/// durably.
async fn relay_throughput(
    key: &SigningKey,
    bundles: Vec<SealedBundle>,
    adjust: impl FnOnce(&mut RelayConfig),
) -> Pushes {
    let dir = tempfile::tempdir().unwrap();
    let mut config = RelayConfig::new(dir.path().to_path_buf());
    adjust(&mut config);
    let state = RelayState::open(config, [9; 32]).unwrap();
    let (url, _stop) = serve_node(state).await;
    let (mut admin, _) = RelayClient::connect(&url, WS, key).await.unwrap();
    admin.append(create_op(WS, key)).await.unwrap();
    push_through(&[url], key, bundles).await
}

/// The same through `nodes` in-process relays on one new PostgreSQL database `db` (default
/// limits and quotas), the clients spread evenly over the nodes. The workspace is created
/// through the first node before the others open, so they load it.
async fn postgres_throughput(
    pg: &ScratchPostgres,
    db: &str,
    nodes: usize,
    key: &SigningKey,
    bundles: Vec<SealedBundle>,
) -> Result<Pushes, String> {
    let url = pg
        .database(db)
        .await
        .map_err(|e| format!("database {db}: {e}"))?;
    let dirs: Vec<_> = (0..nodes).map(|_| tempfile::tempdir().unwrap()).collect();
    let open = |n: usize| {
        let mut config = RelayConfig::new(dirs[n].path().to_path_buf());
        config.postgres = Some(url.clone());
        RelayState::open(config, [9; 32]).map_err(|e| format!("node {}: {e}", n + 1))
    };
    let (first, stop) = serve_node(open(0)?).await;
    let (mut admin, _) = RelayClient::connect(&first, WS, key)
        .await
        .map_err(|e| format!("node 1: {e}"))?;
    admin
        .append(create_op(WS, key))
        .await
        .map_err(|e| format!("node 1, create: {e}"))?;
    let mut urls = vec![first];
    let mut stops = vec![stop];
    for n in 1..nodes {
        let (url, stop) = serve_node(open(n)?).await;
        urls.push(url);
        stops.push(stop);
    }
    let pushes = push_through(&urls, key, bundles).await;
    // The nodes stop (and their followers with them) before the database goes.
    drop(stops);
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(pushes)
}

/// Pushes `bundles` from `CLIENTS` connections, client `i` through `urls[i % urls.len()]`, each
/// waiting for its acknowledgement before the next push.
async fn push_through(urls: &[String], key: &SigningKey, bundles: Vec<SealedBundle>) -> Pushes {
    let bytes = bundles[0].encoded_len() + 6;
    let count = bundles.len();
    let key = Arc::new(key.clone());
    let mut chunks: Vec<Vec<SealedBundle>> = Vec::new();
    let mut it = bundles.into_iter();
    for _ in 0..CLIENTS {
        chunks.push(it.by_ref().take(count / CLIENTS).collect());
    }
    let start = Instant::now();
    let tasks: Vec<_> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let node = i % urls.len();
            let (url, key) = (urls[node].clone(), key.clone());
            tokio::spawn(async move {
                let (mut client, _) = RelayClient::connect(&url, WS, &key).await.unwrap();
                let mut waits = Vec::with_capacity(chunk.len());
                for bundle in chunk {
                    let sent = Instant::now();
                    client.push(bundle).await.unwrap();
                    waits.push(sent.elapsed());
                }
                (node, waits, start.elapsed())
            })
        })
        .collect();
    let mut waits = Vec::with_capacity(count);
    let mut node_pushes = vec![0usize; urls.len()];
    let mut node_time = vec![Duration::ZERO; urls.len()];
    for t in tasks {
        let (node, client_waits, finished) = t.await.unwrap();
        node_pushes[node] += client_waits.len();
        node_time[node] = node_time[node].max(finished);
        waits.extend(client_waits);
    }
    let elapsed = start.elapsed();
    waits.sort();
    let (rate, mb_s) = rates(elapsed, waits.len(), bytes);
    Pushes {
        rate,
        mb_s,
        per_node: node_pushes
            .iter()
            .zip(&node_time)
            .map(|(&n, t)| n as f64 / t.as_secs_f64())
            .collect(),
        p50: percentile(&waits, 0.50),
        p99: percentile(&waits, 0.99),
    }
}

/// Every quota off and the connection limits out of the way. What cannot be switched off (the
/// admission ticket and the byte count per read) stays.
fn without_limits(config: &mut RelayConfig) {
    config.quotas = Quotas {
        workspaces_per_key: 0,
        creates_per_minute: 0,
        workspace_bytes: 0,
        key_bundles_per_minute: 0,
        key_bytes_per_minute: 0,
        workspace_bundles_per_minute: 0,
        workspace_bytes_per_minute: 0,
        key_ops_per_minute: 0,
        workspace_ops: 0,
    };
    config.limits.max_per_ip = 0;
    config.limits.max_per_key = 0;
    config.limits.buffered_total = usize::MAX;
    config.limits.min_free_bytes = 0;
}

fn rates(elapsed: Duration, count: usize, bytes: usize) -> (f64, f64) {
    let secs = elapsed.as_secs_f64();
    (
        count as f64 / secs,
        (count * bytes) as f64 / secs / 1_000_000.0,
    )
}

struct Memory {
    base_kib: u64,
    loaded_kib: u64,
    slow_kib: u64,
    stored_mb: [usize; 2],
    after_data_kib: [u64; 2],
    restarted_kib: u64,
}

/// The options that give a relay process its sled store in `data`.
fn data_args(data: &std::path::Path) -> [&std::ffi::OsStr; 2] {
    ["--data".as_ref(), data.as_os_str()]
}

async fn memory_per_connection(key: &SigningKey) -> Memory {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(data_args(dir.path()));
    let (mut admin, _) = RelayClient::connect(&relay.url, WS, key).await.unwrap();
    admin.append(create_op(WS, key)).await.unwrap();
    add_members(&mut admin, WS, key, 0..MEMBERS).await;
    let base_kib = relay.rss_kib();
    let mut connected = Vec::with_capacity(MEMBERS);
    for n in 0..MEMBERS {
        let (mut client, _) = RelayClient::connect(&relay.url, WS, &member_key(n))
            .await
            .unwrap();
        client.pull(0, 1).await.unwrap();
        connected.push(client);
    }
    let loaded_kib = relay.rss_kib();
    drop(connected);
    let slow_kib = slow_frames(&relay).await;

    let mut after_data_kib = [0; 2];
    let stored_mb = [16, 64];
    let mut pushed = 0usize;
    for (i, mb) in stored_mb.iter().enumerate() {
        let target = mb * 1_000_000 / 4096;
        let batch = make_bundles(key, target, 4096);
        for bundle in batch.into_iter().skip(pushed) {
            admin.push(bundle).await.unwrap();
        }
        pushed = target;
        after_data_kib[i] = relay.rss_kib();
    }
    drop(admin);
    drop(relay);
    let restarted = Relay::start(data_args(dir.path()));
    let (mut client, _) = RelayClient::connect(&restarted.url, WS, key).await.unwrap();
    client.pull(0, 1).await.unwrap();
    Memory {
        base_kib,
        loaded_kib,
        slow_kib,
        stored_mb,
        after_data_kib,
        restarted_kib: restarted.rss_kib(),
    }
}

/// The relay's RSS while `SLOW_CONNECTIONS` connections each hold the start of a 4 MiB frame
/// that never completes (48 KiB of it, under the 64 KiB an unauthenticated connection may hold).
async fn slow_frames(relay: &Relay) -> u64 {
    use tokio::io::AsyncWriteExt as _;
    let addr = relay.url.trim_start_matches("ws://").to_string();
    let mut held = Vec::with_capacity(SLOW_CONNECTIONS);
    let mut frame = vec![0x82u8, 0x80 | 127];
    frame.extend_from_slice(&(4u64 << 20).to_be_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&vec![0u8; 48 * 1024]);
    for _ in 0..SLOW_CONNECTIONS {
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp)
            .await
            .unwrap();
        ws.get_mut().write_all(&frame).await.unwrap();
        held.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let kib = relay.rss_kib();
    drop(held);
    kib
}
