//! The real `kompas-relay` binary on 127.0.0.1:0: killed with SIGKILL during uploads it loses
//! no acknowledged bundle; bad input gets typed errors while it stays up; its data files hold no
//! plaintext; SIGTERM stops it cleanly.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use kompas_engine::sync::wire::{
    ErrorCode, Hash32, Message, PROTOCOL_VERSION, WorkspaceId, encode_frame,
};
use kompas_relay::client::ClientError;
use kompas_tests::relay::{Org, RelayProcess, TestWorkspace, contains, files_under, open_sealed};
use tokio::sync::mpsc;

const WS: WorkspaceId = WorkspaceId([3; 16]);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Every bundle the relay holds, by hash, checking sequence numbers are 1..=n without gaps.
async fn stored(url: &str, org: &Org) -> BTreeMap<Hash32, u64> {
    let (mut client, _) = org.connect(url, WS).await;
    let items = client.pull_all(0).await.unwrap();
    let mut out = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item.seq, i as u64 + 1, "sequence numbers have no gaps");
        assert!(
            out.insert(item.bundle.hash(), item.seq).is_none(),
            "a bundle is stored once"
        );
    }
    out
}

#[test]
fn sigkill_during_uploads_never_loses_an_acknowledged_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay");
    let rt = runtime();
    let gemeente = Arc::new(Org::new(1, "Gemeente Zwolle"));
    let relay = RelayProcess::start(&data, &[]);
    rt.block_on(TestWorkspace::create(&relay.url(), WS, &gemeente));
    let mut relay = Some(relay);
    let acked: Arc<Mutex<BTreeMap<Hash32, u64>>> = Arc::default();
    const ROUNDS: u32 = 8;
    for round in 0..ROUNDS {
        let process = relay
            .take()
            .unwrap_or_else(|| RelayProcess::start(&data, &[]));
        let url = process.url();
        // Everything acknowledged in earlier rounds survived the kill, at the same position.
        let have = rt.block_on(stored(&url, &gemeente));
        for (hash, seq) in acked.lock().unwrap().iter() {
            assert_eq!(
                have.get(hash),
                Some(seq),
                "acknowledged bundle lost in round {round}"
            );
        }
        // Three uploaders push until the relay dies; it is killed after `target` acks.
        let target = 5 + 7 * round as usize;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let uploaders: Vec<_> = (0..3u8)
            .map(|uploader| {
                let (url, org, acked, tx) =
                    (url.clone(), gemeente.clone(), acked.clone(), tx.clone());
                rt.spawn(async move {
                    let (mut client, _) = org.connect(&url, WS).await;
                    for i in 0u32.. {
                        let mut nonce = [0u8; 24];
                        nonce[..4].copy_from_slice(&round.to_be_bytes());
                        nonce[4] = uploader;
                        nonce[5..9].copy_from_slice(&i.to_be_bytes());
                        let text = format!("ronde {round} schrijver {uploader} wijziging {i}");
                        let bundle = org.seal(WS, 0, uploader, text.as_bytes(), nonce);
                        match client.push(bundle).await {
                            Ok(ack) => {
                                acked.lock().unwrap().insert(ack.hash, ack.seq);
                                let _ = tx.send(());
                            }
                            Err(ClientError::Closed) => return,
                            Err(e) => panic!("unexpected refusal during upload: {e}"),
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        rt.block_on(async {
            for _ in 0..target {
                rx.recv().await.expect("uploads are acknowledged");
            }
        });
        process.kill();
        for task in uploaders {
            rt.block_on(task).unwrap();
        }
    }
    let process = RelayProcess::start(&data, &[]);
    let have = rt.block_on(stored(&process.url(), &gemeente));
    let acked = acked.lock().unwrap();
    assert!(acked.len() >= (0..ROUNDS).map(|r| 5 + 7 * r as usize).sum::<usize>());
    for (hash, seq) in acked.iter() {
        assert_eq!(
            have.get(hash),
            Some(seq),
            "acknowledged bundle lost after the last kill"
        );
    }
}

/// A plain HTTP GET over TCP; returns the response text.
fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn bad_input_gets_typed_errors_while_the_process_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut relay = RelayProcess::start(&dir.path().join("relay"), &["--max-frame", "65536"]);
    let rt = runtime();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let buiten = Org::new(2, "Buitenstaander");
    let url = relay.url();
    rt.block_on(async {
        let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
        let huge = gemeente.seal(WS, 0, 1, &vec![7u8; 70_000], [1; 24]);
        let frame = encode_frame(&Message::Push { bundle: huge });
        ws.coordinator.send_bytes(frame).await.unwrap();
        let refusal = ws.coordinator.recv().await.unwrap();
        assert!(
            matches!(
                refusal,
                Message::Error {
                    code: ErrorCode::FrameTooLarge,
                    ..
                }
            ),
            "{refusal:?}"
        );
        let mut garbage = vec![0x13; 40];
        garbage[..6].copy_from_slice(&[0, 0, 0, 36, PROTOCOL_VERSION, 0x13]);
        ws.coordinator.send_bytes(garbage).await.unwrap();
        let refusal = ws.coordinator.recv().await.unwrap();
        assert!(
            matches!(
                refusal,
                Message::Error {
                    code: ErrorCode::Malformed,
                    ..
                }
            ),
            "{refusal:?}"
        );
        let (mut stranger, _) = buiten.connect(&url, WS).await;
        let err = stranger
            .push(buiten.seal(WS, 0, 1, b"x", [2; 24]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::NotMember));
        let ack = ws
            .coordinator
            .push(gemeente.seal(WS, 0, 1, b"x", [3; 24]))
            .await
            .unwrap();
        assert_eq!(ack.seq, 1);
    });
    assert!(relay.is_running());
    assert!(http_get(relay.addr, "/healthz").ends_with("ok\n"));
    let metrics = http_get(relay.addr, "/metrics");
    assert!(
        metrics.contains("kompas_relay_bundles_stored_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kompas_relay_errors_total{code=\"frame_too_large\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kompas_relay_errors_total{code=\"not_member\"} 1"),
        "{metrics}"
    );
}

#[test]
fn relay_files_hold_no_plaintext_and_sigterm_stops_it_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("relay");
    let relay = RelayProcess::start(&data, &[]);
    let rt = runtime();
    let gemeente = Org::new(1, "Gemeente Zwolle");
    let aanbieder = Org::new(2, "Jeugdhulp Noord");
    let secrets: Vec<String> = (0..20)
        .map(|i| format!("Gespreksverslag {i}: leerling Sanne de Vries, zorgtraject afgerond"))
        .collect();
    let url = relay.url();
    let ciphertext = rt.block_on(async {
        let mut ws = TestWorkspace::create(&url, WS, &gemeente).await;
        let mut partner = ws.add_partner(&url, &gemeente, &aanbieder, 4).await;
        for (i, secret) in secrets.iter().enumerate() {
            let bundle = aanbieder.seal(WS, 0, i as u8, secret.as_bytes(), [i as u8; 24]);
            partner.push(bundle).await.unwrap();
        }
        let back = ws.coordinator.pull_all(0).await.unwrap();
        assert_eq!(open_sealed(&back[0].bundle).unwrap(), secrets[0].as_bytes());
        back[0].bundle.ciphertext.clone()
    });
    assert_eq!(
        relay.terminate(),
        Some(0),
        "SIGTERM ends the relay with success"
    );
    let files = files_under(&data);
    assert!(!files.is_empty());
    let mut saw_ciphertext = false;
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        saw_ciphertext |= contains(&bytes, &ciphertext[..16]);
        for needle in ["Sanne de Vries", "Gespreksverslag", "zorgtraject"] {
            assert!(
                !contains(&bytes, needle.as_bytes()),
                "{needle:?} in {}",
                file.display()
            );
        }
    }
    assert!(saw_ciphertext, "the scan read the stored bundles");
}
