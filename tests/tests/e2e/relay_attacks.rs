//! Attacks on the real `kompas-relay` process on 127.0.0.1:0, one test per kind: slow and
//! incomplete frames, half-sent HTTP headers at a low file limit, a flood of keys that are not
//! members, floods of workspaces and uploads against the quotas, and a store that fails and
//! recovers. Each asserts the typed refusal and that a member keeps syncing meanwhile.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use kompas_engine::sync::membership::OpBody;
use kompas_engine::sync::wire::{Access, ErrorCode, WorkspaceId};
use kompas_relay::RelayConfig;
use kompas_relay::client::RelayClient;
use kompas_tests::raw_ws::RawWs;
use kompas_tests::relay::{
    InProcessRelay, Launch, Org, RelayProcess, TestWorkspace, http_get, refused, runtime, within,
};

const WS: WorkspaceId = WorkspaceId([8; 16]);

/// The member pushes a fresh bundle and reads it back: syncing works.
async fn member_syncs(url: &str, member: &Org, n: u8) {
    within("a member syncing during the attack", async {
        let (mut client, welcome) = member.connect(url, WS).await;
        assert!(matches!(welcome.access, Access::Member(_)));
        let bundle = member.seal(WS, 0, n, b"voortgang", [n; 24]);
        let acked = client.push(bundle.clone()).await.unwrap();
        let all = client.pull_all(acked.seq - 1).await.unwrap();
        assert_eq!(all[0].bundle, bundle);
    })
    .await;
}

fn throwaway(i: u32) -> SigningKey {
    let mut seed = [0xa5u8; 32];
    seed[..4].copy_from_slice(&i.to_be_bytes());
    SigningKey::from_bytes(&seed)
}

#[test]
fn slow_and_incomplete_frames_keep_memory_bounded_and_members_syncing() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(
        &dir.path().join("relay"),
        &["--max-per-ip", "0", "--frame-timeout", "3"],
    );
    let rt = runtime();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    rt.block_on(TestWorkspace::create(&relay.url(), WS, &gemeente));
    let idle = relay.rss_kib();
    // 500 connections each announce a 4 MiB frame, send 48 KiB of it and stop.
    let mut slow = Vec::new();
    for _ in 0..500 {
        let mut ws = RawWs::open(relay.addr).unwrap();
        ws.begin_frame(4 << 20, &vec![0u8; 48 * 1024]).unwrap();
        slow.push(ws);
    }
    std::thread::sleep(Duration::from_millis(500));
    let held = relay.rss_kib();
    println!("relay RSS idle {idle} KiB, with 500 incomplete frames {held} KiB");
    // The bound: 64 KiB per unvetted connection plus about 40 KiB of buffers and task each,
    // over the idle relay.
    let bound = idle + 500 * (64 + 40);
    assert!(held < bound, "RSS {held} KiB exceeds {bound} KiB");
    rt.block_on(member_syncs(&relay.url(), &gemeente, 1));
    // One that goes on past the 64 KiB a connection without membership may hold is refused.
    let mut greedy = RawWs::open(relay.addr).unwrap();
    greedy.begin_frame(4 << 20, &vec![0u8; 60 * 1024]).unwrap();
    let _ = greedy.more(&vec![0u8; 60 * 1024]);
    assert_eq!(greedy.next_error(), Some(ErrorCode::FrameTooLarge));
    // A member's connection whose frame does not complete in time is closed with `TimedOut`.
    let mut stalled = RawWs::open(relay.addr).unwrap();
    let access = stalled.authenticate(WS, &gemeente.key).unwrap();
    assert!(matches!(access, Access::Member(_)));
    stalled.begin_frame(1 << 20, &[0u8; 1024]).unwrap();
    let started = Instant::now();
    assert_eq!(stalled.next_error(), Some(ErrorCode::TimedOut));
    assert!(started.elapsed() < Duration::from_secs(10));
    // The 500 never authenticated either: the handshake deadline closes them, typed.
    assert_eq!(slow[0].next_error(), Some(ErrorCode::UnexpectedMessage));
    rt.block_on(member_syncs(&relay.url(), &gemeente, 2));
    drop(slow);
    assert_eq!(relay.get("/healthz").0, 200);
}

#[test]
fn header_slowloris_at_a_low_file_limit_does_not_shut_members_out() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("relay.log");
    let relay = RelayProcess::launch(
        &dir.path().join("relay"),
        &["--max-per-ip", "0", "--header-timeout", "120"],
        &Launch {
            file_limit: Some(256),
            stderr: Some(log.clone()),
            ..Launch::default()
        },
    );
    let rt = runtime();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    rt.block_on(TestWorkspace::create(&relay.url(), WS, &gemeente));
    // More half-sent requests than the relay has file descriptors.
    let mut loris: Vec<TcpStream> = (0..400)
        .map(|_| RawWs::half_request(relay.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    rt.block_on(member_syncs(&relay.url(), &gemeente, 1));
    // The oldest half-sent requests were closed to make room, and the log says why.
    loris[0]
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(matches!(loris[0].read(&mut buf), Ok(0) | Err(_)));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("bestandsdescriptors"), "{text}");
    let metrics = relay.get("/metrics").1;
    assert!(
        metrics.contains("kompas_relay_refused_connections_total{reason=\"files_exhausted\"}"),
        "{metrics}"
    );
    rt.block_on(member_syncs(&relay.url(), &gemeente, 2));
    loris.clear();
}

#[test]
fn a_flood_of_keys_that_are_not_members_is_evicted_and_timed_out() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(
        &dir.path().join("relay"),
        &[
            "--max-per-ip",
            "0",
            "--max-unvetted",
            "100",
            "--candidate-timeout",
            "2",
        ],
    );
    let rt = runtime();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let url = relay.url();
    rt.block_on(async {
        let _ws = TestWorkspace::create(&url, WS, &gemeente).await;
        let mut candidates = Vec::new();
        for i in 0..300 {
            let (client, welcome) = RelayClient::connect(&url, WS, &throwaway(i)).await.unwrap();
            assert_eq!(welcome.access, Access::Candidate);
            candidates.push(client);
        }
        member_syncs(&url, &gemeente, 1).await;
        let mut codes = std::collections::BTreeSet::new();
        for client in &mut candidates {
            let code = within("a candidate is told", async {
                match client.recv().await {
                    Ok(kompas_engine::sync::wire::Message::Error { code, .. }) => code,
                    other => panic!("expected an error frame, got {other:?}"),
                }
            })
            .await;
            codes.insert(code.name());
        }
        assert_eq!(
            codes.into_iter().collect::<Vec<_>>(),
            ["overloaded", "timed_out"]
        );
        member_syncs(&url, &gemeente, 2).await;
    });
}

#[test]
fn workspace_and_upload_floods_hit_their_quotas_while_members_sync() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(
        &dir.path().join("relay"),
        &[
            "--quota-workspaces-per-key",
            "3",
            "--quota-creates-per-minute",
            "10",
            "--quota-key-bytes-per-minute",
            "60000",
        ],
    );
    let rt = runtime();
    let url = relay.url();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let aanbieder = Org::new(2, "Jeugdhulp Oost");
    rt.block_on(async {
        let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
        let mut flooder = ws.add_partner(&url, &gemeente, &aanbieder, 1).await;
        // One key creating workspaces: three are allowed.
        let create = |org: &Org, id: WorkspaceId| {
            org.op(
                id,
                None,
                OpBody::Create {
                    name: "Vloed".into(),
                    coordinator: org.profile(),
                },
            )
        };
        let mut refusals = 0;
        for n in 0..5u8 {
            let id = WorkspaceId([0x40 + n; 16]);
            let (mut client, _) = aanbieder.connect(&url, id).await;
            match client.append(create(&aanbieder, id)).await {
                Ok(_) => assert!(n < 3, "workspace {n} should be over the quota"),
                Err(e) => {
                    assert_eq!(refused(Err::<(), _>(e)), ErrorCode::QuotaExceeded);
                    refusals += 1;
                }
            }
        }
        assert_eq!(refusals, 2);
        // Throwaway keys: at most ten creations a minute in all (two minutes at most here).
        let mut created = 0;
        let mut refused_flood = 0;
        for i in 0..30u32 {
            let key = throwaway(i);
            let org = Org {
                key,
                name: "Wegwerp".into(),
            };
            let id = WorkspaceId([0x60 + i as u8; 16]);
            let (mut client, _) = org.connect(&url, id).await;
            match client.append(create(&org, id)).await {
                Ok(_) => created += 1,
                Err(e) => {
                    assert_eq!(refused(Err::<(), _>(e)), ErrorCode::QuotaExceeded);
                    refused_flood += 1;
                }
            }
        }
        assert!(refused_flood > 0 && created <= 20, "{created} created");
        member_syncs(&url, &gemeente, 1).await;
        // One member pushing 10 KiB bundles hits its bytes per minute; the connection stays
        // usable and the other member keeps pushing into the same workspace.
        let mut pushed = 0;
        let code = loop {
            let bundle = aanbieder.seal(WS, 0, 100 + pushed, &[7u8; 10_000], [pushed; 24]);
            match flooder.push(bundle).await {
                Ok(_) => pushed += 1,
                Err(e) => break refused(Err::<(), _>(e)),
            }
            assert!(pushed < 20, "the quota never refused");
        };
        assert_eq!(code, ErrorCode::QuotaExceeded);
        assert!(pushed >= 4, "{pushed}");
        member_syncs(&url, &gemeente, 2).await;
        let again = aanbieder.seal(WS, 0, 99, &[7u8; 10_000], [99; 24]);
        assert_eq!(refused(flooder.push(again).await), ErrorCode::QuotaExceeded);
    });
    let metrics = relay.get("/metrics").1;
    for quota in ["workspaces_per_key", "key_bytes_per_minute"] {
        assert!(
            metrics.contains(&format!(
                "kompas_relay_quota_refusals_total{{quota=\"{quota}\"}}"
            )),
            "{quota} missing from {metrics}"
        );
    }
}

#[test]
fn a_failing_store_refuses_writes_typed_reports_it_and_recovers_without_a_restart() {
    let rt = runtime();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let relay = InProcessRelay::start(RelayConfig::new(dir.path().join("relay"))).await;
        let url = relay.url();
        let gemeente = Org::new(1, "Gemeente Zwolle");
        let aanbieder = Org::new(2, "Jeugdhulp Oost");
        let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
        let mut partner = ws.add_partner(&url, &gemeente, &aanbieder, 1).await;
        let first = gemeente.seal(WS, 0, 1, b"voor de storing", [1; 24]);
        let acked = ws.coordinator.push(first.clone()).await.unwrap();
        // The disk "fills up": writes are refused with a typed error, health says so.
        relay
            .state
            .store
            .as_sled()
            .expect("a sled relay")
            .inject_fault(true);
        let during = gemeente.seal(WS, 0, 2, b"tijdens de storing", [2; 24]);
        assert_eq!(
            refused(ws.coordinator.push(during.clone()).await),
            ErrorCode::StorageFault
        );
        let addr = relay.addr;
        let (status, body) = tokio::task::spawn_blocking(move || http_get(addr, "/healthz"))
            .await
            .unwrap();
        assert_eq!(status, 503);
        assert!(body.starts_with("opslagfout"), "{body}");
        // Reading goes on for members meanwhile.
        let read = partner.pull_all(0).await.unwrap();
        assert_eq!(read[0].bundle, first);
        // Space returns: the same push works on the same connection, no restart.
        relay
            .state
            .store
            .as_sled()
            .expect("a sled relay")
            .inject_fault(false);
        let retried = ws.coordinator.push(during.clone()).await.unwrap();
        assert!(retried.seq > acked.seq);
        let all = partner.pull_all(0).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].seq, &all[0].bundle), (acked.seq, &first));
        assert_eq!(all[1].bundle, during);
        let (status, _) = tokio::task::spawn_blocking(move || http_get(addr, "/healthz"))
            .await
            .unwrap();
        assert_eq!(status, 200);
        relay.stop().await;
    });
}

#[test]
fn a_kept_alive_http_connection_is_counted_per_request_not_in_all() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let stream = TcpStream::connect(relay.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let pad = "x".repeat(300);
    // 400 requests of some 350 bytes: twice what an unvetted connection may buffer at once.
    for n in 0..400 {
        write!(
            writer,
            "GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Opvulling: {pad}\r\n\r\n"
        )
        .unwrap();
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "request {n}: {status:?}"
        );
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        assert_eq!(body, b"ok\n");
    }
}
