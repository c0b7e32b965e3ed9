//! Relay benchmark: throughput against a plain axum websocket echo measured in the same run,
//! resident memory per idle authenticated connection, and whether memory grows with stored data.
//!
//! Run with `cargo bench -p kompas-relay --bench relay`. All figures are printed as measured
//! here; throughput is also given as a ratio to the echo server, which is the number to compare
//! across machines.
#![allow(clippy::unwrap_used, clippy::expect_used)] // A benchmark that cannot run should stop loudly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::routing::get;
use ed25519_dalek::SigningKey;
use futures_util::{SinkExt, StreamExt};
use kompas_engine::Timestamp;
use kompas_engine::identity::OrgType;
use kompas_engine::sync::membership::{MemberProfile, OpBody, SignedOp};
use kompas_engine::sync::wire::{
    DocRef, KxKey, Message, OrgKey, SealedBundle, WorkspaceId, encode_frame,
};
use kompas_relay::client::RelayClient;
use kompas_relay::{RelayConfig, RelayState};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as TMessage;

const WS: WorkspaceId = WorkspaceId([5; 16]);
const CLIENTS: usize = 8;
const PER_CLIENT: usize = 400;
const PAYLOAD: usize = 1024;
const IDLE_CONNECTIONS: usize = 1000;

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

    let echo = rt.block_on(echo_throughput(frame_bytes));
    let relay = rt.block_on(relay_throughput(&key, bundles));
    println!(
        "relay throughput, {CLIENTS} clients x {PER_CLIENT} messages of {frame_bytes} bytes, each waiting for its answer"
    );
    println!(
        "  axum websocket echo : {:>8.0} msg/s  {:>6.2} MB/s",
        echo.0, echo.1
    );
    println!(
        "  kompas-relay push   : {:>8.0} bundles/s  {:>6.2} MB/s  (durable: flushed before every ack)",
        relay.0, relay.1
    );
    println!("  ratio relay / echo  : {:.3}", relay.0 / echo.0);

    let memory = rt.block_on(memory_per_connection(&key));
    println!("relay resident memory (separate process)");
    println!(
        "  idle, no connections          : {:>8} KiB",
        memory.base_kib
    );
    println!(
        "  with {IDLE_CONNECTIONS} idle connections      : {:>8} KiB  ({:.1} KiB per connection, target <= 16)",
        memory.loaded_kib,
        (memory.loaded_kib.saturating_sub(memory.base_kib)) as f64 / IDLE_CONNECTIONS as f64
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

fn create_op(key: &SigningKey) -> SignedOp {
    let now = Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    SignedOp::sign(
        WS,
        None,
        now,
        OpBody::Create {
            name: "Bank".into(),
            coordinator: MemberProfile {
                key: OrgKey::of(key),
                name: "Gemeente".into(),
                org_type: OrgType::Gemeente,
                kx: KxKey([0; 32]),
            },
        },
        key,
    )
}

/// Messages per second and MB/s through a plain axum websocket echo.
async fn echo_throughput(frame_bytes: usize) -> (f64, f64) {
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
    let url = format!("ws://{addr}/ws");
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

/// Bundles per second and MB/s pushed through an in-process relay, each acknowledged durably.
async fn relay_throughput(key: &SigningKey, bundles: Vec<SealedBundle>) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let state = RelayState::open(RelayConfig::new(dir.path().to_path_buf()), [9; 32]).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(kompas_relay::server::serve(
        listener,
        state.clone(),
        std::future::pending(),
    ));
    let (mut admin, _) = RelayClient::connect(&url, WS, key).await.unwrap();
    admin.append(create_op(key)).await.unwrap();
    let bytes = bundles[0].encoded_len() + 6;
    let key = Arc::new(key.clone());
    let mut chunks: Vec<Vec<SealedBundle>> = Vec::new();
    let mut it = bundles.into_iter();
    for _ in 0..CLIENTS {
        chunks.push(it.by_ref().take(PER_CLIENT).collect());
    }
    let start = Instant::now();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (url, key) = (url.clone(), key.clone());
            tokio::spawn(async move {
                let (mut client, _) = RelayClient::connect(&url, WS, &key).await.unwrap();
                for bundle in chunk {
                    client.push(bundle).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    rates(start.elapsed(), CLIENTS * PER_CLIENT, bytes)
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
    stored_mb: [usize; 2],
    after_data_kib: [u64; 2],
    restarted_kib: u64,
}

/// A relay process and its address.
struct Relay {
    child: Child,
    url: String,
}

impl Relay {
    fn start(data: &std::path::Path) -> Relay {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kompas-relay"))
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.trim().rsplit(' ').next().unwrap().to_string();
        Relay {
            child,
            url: format!("ws://{addr}"),
        }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn memory_per_connection(key: &SigningKey) -> Memory {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(dir.path());
    let (mut admin, _) = RelayClient::connect(&relay.url, WS, key).await.unwrap();
    admin.append(create_op(key)).await.unwrap();
    let base_kib = relay.rss_kib();
    let mut idle = Vec::with_capacity(IDLE_CONNECTIONS);
    for _ in 0..IDLE_CONNECTIONS {
        idle.push(RelayClient::connect(&relay.url, WS, key).await.unwrap().0);
    }
    // Every connection is authenticated; one round trip on the last proves the relay is idle.
    idle.last_mut().unwrap().pull(0, 1).await.unwrap();
    let loaded_kib = relay.rss_kib();
    drop(idle);

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
    let restarted = Relay::start(dir.path());
    let (mut client, _) = RelayClient::connect(&restarted.url, WS, key).await.unwrap();
    client.pull(0, 1).await.unwrap();
    Memory {
        base_kib,
        loaded_kib,
        stored_mb,
        after_data_kib,
        restarted_kib: restarted.rss_kib(),
    }
}
