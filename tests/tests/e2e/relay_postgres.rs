//! Relay nodes on one PostgreSQL database (`kompas-relay --store postgres://...`), as real
//! processes: organisations syncing through different nodes converge; a bundle pushed through
//! one node reaches a subscriber of the other live; concurrent pushes through both get dense,
//! unique sequence numbers; a node killed with SIGKILL during uploads loses nothing it
//! acknowledged; a database that restarts gives typed refusals and the nodes recover by
//! themselves.
//!
//! Each test starts its own scratch PostgreSQL server (the machine's `initdb` and `pg_ctl`;
//! `.ci/run` installs Debian's `postgresql`); without PostgreSQL the tests fail and say so.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use kompas_engine::sync::wire::{ErrorCode, Hash32, Message, WorkspaceId};
use kompas_relay::client::ClientError;
use kompas_relay::postgres::scratch::ScratchPostgres;
use kompas_tests::relay::{Org, RelayProcess, TestWorkspace, refused, runtime, within};
use kompas_tests::tls::TestCa;
use kompas_tests::{Kompas, binary};

const WS: WorkspaceId = WorkspaceId([21; 16]);

fn database() -> ScratchPostgres {
    ScratchPostgres::start().unwrap_or_else(|e| panic!("{e}"))
}

/// Two nodes on the scratch server's `postgres` database.
fn two_nodes(pg: &ScratchPostgres) -> (RelayProcess, RelayProcess) {
    let one = RelayProcess::on_postgres(&pg.url(), &[]);
    let two = RelayProcess::on_postgres(&pg.url(), &[]);
    assert_eq!(
        one.key, two.key,
        "the nodes of one database share one relay key"
    );
    (one, two)
}

/// Waits for the next pushed bundle, skipping membership news.
async fn next_pushed(client: &mut kompas_relay::client::RelayClient) -> Hash32 {
    loop {
        match client.recv().await.unwrap() {
            Message::Pushed { item } => return item.bundle.hash(),
            Message::MembershipOps { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn organisations_syncing_through_different_nodes_converge() {
    let pg = database();
    let (one, two) = two_nodes(&pg);
    let dir = tempfile::tempdir().unwrap();
    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    gemeente.ok(&[
        "workspace",
        "create",
        "Jeugd Havenstad",
        "--relay",
        &one.url(),
    ]);
    let swv = Kompas::organisation(
        dir.path(),
        "swv",
        "Samenwerkingsverband Havenstad",
        "samenwerkingsverband",
    );
    let code = gemeente.invite();
    swv.ok(&["workspace", "join", &code]);
    // The partner moves to the other node; the key it pinned is the same.
    swv.ok(&["workspace", "relays", "add", &two.url()]);
    swv.ok(&["workspace", "relays", "remove", &one.url()]);

    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Via knooppunt een"]);
    gemeente.ok(&["sync"]);
    swv.ok(&["sync"]);
    swv.ok(&["doc", "new", "ambitie", "--set", "titel=Via knooppunt twee"]);
    swv.ok(&["sync"]);
    gemeente.ok(&["sync"]);
    for org in [&gemeente, &swv] {
        let docs = org.json(&["doc", "list"]);
        let mut titles: Vec<&str> = docs
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|d| d["fields"]["titel"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        titles.sort_unstable();
        assert_eq!(titles, ["Via knooppunt een", "Via knooppunt twee"]);
    }
}

#[test]
fn a_bundle_pushed_through_one_node_reaches_a_subscriber_of_the_other_live() {
    let pg = database();
    let (one, two) = two_nodes(&pg);
    runtime().block_on(async {
        let gemeente = Org::new(1, "Gemeente Havenstad");
        let aanbieder = Org::new(2, "Jeugdhulp Havenstad");
        let mut ws = TestWorkspace::create(&one.url(), WS, &gemeente).await;
        // The partner joins through the other node, which learns of the workspace from the
        // database.
        let mut partner = ws.add_partner(&two.url(), &gemeente, &aanbieder, 9).await;
        partner
            .send(&Message::Subscribe { after: 0 })
            .await
            .unwrap();
        let mut worst = Duration::ZERO;
        for i in 0..20u8 {
            let bundle = gemeente.seal(WS, 0, i, b"cijfers van de wijk", [i; 24]);
            let sent = Instant::now();
            ws.coordinator.push(bundle.clone()).await.unwrap();
            let hash = within("the push reaches the other node", next_pushed(&mut partner)).await;
            assert_eq!(hash, bundle.hash());
            worst = worst.max(sent.elapsed());
        }
        eprintln!("slowest push from node one to a subscriber of node two: {worst:?}");
        // Within a second (the sweep's period), with room for a loaded machine.
        assert!(
            worst < Duration::from_millis(1500),
            "a push took {worst:?} to cross nodes"
        );
    });
}

#[test]
fn concurrent_pushes_through_both_nodes_get_dense_unique_sequence_numbers() {
    let pg = database();
    let (one, two) = two_nodes(&pg);
    runtime().block_on(async {
        let gemeente = Org::new(1, "Gemeente Havenstad");
        let aanbieder = Org::new(2, "Jeugdhulp Havenstad");
        let mut ws = TestWorkspace::create(&one.url(), WS, &gemeente).await;
        let partner = ws.add_partner(&two.url(), &gemeente, &aanbieder, 9).await;
        drop(partner);
        let mut writers = Vec::new();
        for (w, (org_seed, url)) in [
            (1u8, one.url()),
            (2, two.url()),
            (1, two.url()),
            (2, one.url()),
        ]
        .into_iter()
        .enumerate()
        {
            writers.push(tokio::spawn(async move {
                let org = Org::new(org_seed, "schrijver");
                let (mut client, _) = org.connect(&url, WS).await;
                let mut seqs = Vec::new();
                for i in 0..50u8 {
                    let bundle = org.seal(WS, 0, i, &[w as u8, i], [w as u8 * 64 + i % 64; 24]);
                    seqs.push(client.push(bundle).await.unwrap().seq);
                }
                seqs
            }));
        }
        let mut all = Vec::new();
        for writer in writers {
            all.extend(writer.await.unwrap());
        }
        let unique: HashSet<u64> = all.iter().copied().collect();
        assert_eq!(unique.len(), 200, "a sequence number was given twice");
        assert_eq!(
            unique,
            (1..=200).collect(),
            "the sequence numbers have gaps"
        );
        let (mut reader, _) = gemeente.connect(&two.url(), WS).await;
        let stored = reader.pull_all(0).await.unwrap();
        assert_eq!(
            stored.iter().map(|s| s.seq).collect::<Vec<_>>(),
            (1..=200).collect::<Vec<_>>()
        );
    });
}

#[test]
fn a_node_killed_during_uploads_loses_nothing_it_acknowledged() {
    let pg = database();
    let (one, two) = two_nodes(&pg);
    let rt = runtime();
    let url_one = one.url();
    let gemeente = Org::new(1, "Gemeente Havenstad");
    let ws = rt.block_on(TestWorkspace::create(&url_one, WS, &gemeente));
    drop(ws);
    let uploads = rt.spawn(async move {
        let org = Org::new(1, "Gemeente Havenstad");
        let (mut client, _) = org.connect(&url_one, WS).await;
        let mut acked = Vec::new();
        for i in 0..10_000u32 {
            let bytes = i.to_be_bytes();
            let mut nonce = [0u8; 24];
            nonce[..4].copy_from_slice(&bytes);
            let bundle = org.seal(WS, 0, (i % 200) as u8, &bytes, nonce);
            match client.push(bundle.clone()).await {
                Ok(ack) => acked.push((ack.seq, bundle.hash())),
                Err(ClientError::Refused { code, message }) => {
                    panic!("refused {code:?}: {message}")
                }
                // The node died under the connection.
                Err(_) => break,
            }
        }
        acked
    });
    rt.block_on(async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
    });
    one.kill();
    let acked = rt.block_on(uploads).unwrap();
    assert!(
        acked.len() > 10,
        "only {} uploads were acknowledged before the kill",
        acked.len()
    );
    rt.block_on(async {
        let (mut client, welcome) = gemeente.connect(&two.url(), WS).await;
        let stored = client.pull_all(0).await.unwrap();
        assert!(welcome.head >= acked.len() as u64);
        let hashes: HashSet<Hash32> = stored.iter().map(|s| s.bundle.hash()).collect();
        for (seq, hash) in &acked {
            assert!(hashes.contains(hash), "acknowledged bundle {seq} is gone");
            assert_eq!(stored[(*seq - 1) as usize].bundle.hash(), *hash);
        }
        // The members carry on through the other node from their cursors.
        let next = gemeente.seal(WS, 0, 250, b"verder", [250; 24]);
        let ack = client.push(next).await.unwrap();
        // A write the killed node sent but never acknowledged may still have committed after
        // the read above; the log stays dense either way.
        assert!(
            ack.seq > stored.len() as u64,
            "{} after {}",
            ack.seq,
            stored.len()
        );
        let all = client.pull_all(0).await.unwrap();
        let seqs: Vec<u64> = all.iter().map(|s| s.seq).collect();
        assert_eq!(seqs, (1..=ack.seq).collect::<Vec<_>>());
    });
    eprintln!(
        "{} uploads acknowledged before SIGKILL, all kept",
        acked.len()
    );
}

#[test]
fn a_database_restart_gives_typed_refusals_and_the_nodes_recover_by_themselves() {
    let pg = database();
    let (one, two) = two_nodes(&pg);
    runtime().block_on(async {
        let gemeente = Org::new(1, "Gemeente Havenstad");
        let mut ws = TestWorkspace::create(&one.url(), WS, &gemeente).await;
        let first = gemeente.seal(WS, 0, 1, b"voor", [1; 24]);
        ws.coordinator.push(first).await.unwrap();

        pg.stop().unwrap();
        let during = gemeente.seal(WS, 0, 2, b"tijdens", [2; 24]);
        match ws.coordinator.push(during.clone()).await {
            Err(ClientError::Refused { code, .. }) => assert_eq!(code, ErrorCode::StorageFault),
            other => panic!("a write without a database was answered {other:?}"),
        }
        let (status, body) = one.get("/healthz");
        assert_eq!(status, 503, "{body}");

        pg.restart().unwrap();
        // The same connection's next write goes through once the pool has reconnected.
        let stored = within("the node writes again", async {
            loop {
                match ws.coordinator.push(during.clone()).await {
                    Ok(ack) => return ack,
                    Err(ClientError::Refused {
                        code: ErrorCode::StorageFault,
                        ..
                    }) => tokio::time::sleep(Duration::from_millis(200)).await,
                    Err(e) => panic!("unexpected {e}"),
                }
            }
        })
        .await;
        assert_eq!(stored.seq, 2);
        let (status, body) = one.get("/healthz");
        assert_eq!(status, 200, "{body}");
        // The other node serves what was written, after following the database again.
        let (mut reader, _) = gemeente.connect(&two.url(), WS).await;
        let all = within("the other node reads both", async {
            loop {
                let all = reader.pull_all(0).await.unwrap();
                if all.len() == 2 {
                    return all;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .await;
        assert_eq!(all[1].bundle, during);
    });
}

/// Runs `kompas-relay move --from FROM --to TO` and returns what it printed.
fn move_store(from: &str, to: &str) -> String {
    relay_command(&["move", "--from", from, "--to", to])
}

/// Runs `kompas-relay` with `args`, which must succeed, and returns what it printed.
fn relay_command(args: &[&str]) -> String {
    let out = std::process::Command::new(binary("kompas-relay"))
        .env_clear()
        .args(args)
        .output()
        .expect("kompas-relay runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn a_workspace_moves_from_sled_to_postgres_and_back_without_replicas_noticing() {
    let pg = database();
    let dir = tempfile::tempdir().unwrap();
    let sled_dir = dir.path().join("relay");
    let rt = runtime();
    let gemeente = Org::new(1, "Gemeente Havenstad");
    let aanbieder = Org::new(2, "Jeugdhulp Havenstad");
    let relay = RelayProcess::start(&sled_dir, &[]);
    let key = relay.key.clone();
    let sent = rt.block_on(async {
        let mut ws = TestWorkspace::create(&relay.url(), WS, &gemeente).await;
        let mut partner = ws.add_partner(&relay.url(), &gemeente, &aanbieder, 9).await;
        let mut sent = Vec::new();
        for i in 0..5u8 {
            let bundle = aanbieder.seal(WS, 0, i, b"voor de verhuizing", [i; 24]);
            assert_eq!(
                partner.push(bundle.clone()).await.unwrap().seq,
                u64::from(i) + 1
            );
            sent.push(bundle);
        }
        sent
    });
    assert_eq!(relay.terminate(), Some(0));

    let printed = move_store(sled_dir.to_str().unwrap(), &pg.url());
    assert!(
        printed.contains("1 samenwerking(en) verplaatst"),
        "{printed}"
    );
    // Moving again is refused: the workspace is there already, and nothing is written twice.
    let again = std::process::Command::new(kompas_tests::binary("kompas-relay"))
        .args([
            "move",
            "--from",
            sled_dir.to_str().unwrap(),
            "--to",
            &pg.url(),
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("staat al in het doel"));

    let node = RelayProcess::on_postgres(&pg.url(), &[]);
    assert_eq!(node.key, key, "the moved relay keeps its key");
    rt.block_on(async {
        // The partner carries on from its cursor: the same numbers, the same bundles.
        let (mut partner, welcome) = aanbieder.connect(&node.url(), WS).await;
        assert_eq!(welcome.head, 5);
        let rest = partner.pull_all(3).await.unwrap();
        assert_eq!(rest.iter().map(|s| s.seq).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(rest[0].bundle, sent[3]);
        let next = aanbieder.seal(WS, 0, 9, b"na de verhuizing", [9; 24]);
        assert_eq!(partner.push(next).await.unwrap().seq, 6);
    });
    assert_eq!(node.terminate(), Some(0));

    // And back to a new sled directory.
    let back = dir.path().join("terug");
    move_store(&pg.url(), back.to_str().unwrap());
    let relay = RelayProcess::start(&back, &[]);
    assert_eq!(relay.key, key);
    rt.block_on(async {
        let (mut gemeente_client, welcome) = gemeente.connect(&relay.url(), WS).await;
        assert_eq!(welcome.head, 6);
        let all = gemeente_client.pull_all(0).await.unwrap();
        assert_eq!(all.len(), 6);
        assert_eq!(all[4].bundle, sent[4]);
    });
}

#[test]
fn a_node_reaches_its_database_over_verified_tls_and_refuses_an_untrusted_one() {
    let pg = database();
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(&dir.path().join("ca"), "Database-CA Havenstad");
    let server = ca.issue("db", "127.0.0.1", 2024, 2099);
    pg.enable_tls(&server.cert, &server.key).unwrap();

    let url = format!("{}?sslmode=verify-full&sslrootcert={}", pg.url(), ca.arg());
    let node = RelayProcess::on_postgres(&url, &[]);
    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    gemeente.ok(&[
        "workspace",
        "create",
        "Jeugd Havenstad",
        "--relay",
        &node.url(),
    ]);
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Over TLS"]);
    gemeente.ok(&["sync"]);
    let rt = runtime();
    // The database itself says the node's connections are encrypted, and that it stored a bundle.
    let encrypted = rt
        .block_on(pg.number(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE ssl AND application_name = 'kompas-relay'",
        ))
        .unwrap();
    assert!(encrypted >= 1, "{encrypted} encrypted connections");
    let plain = rt
        .block_on(pg.number(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE NOT ssl AND application_name = 'kompas-relay'",
        ))
        .unwrap();
    assert_eq!(plain, 0, "every connection of the node is encrypted");
    let stored = rt
        .block_on(pg.number("SELECT count(*) FROM kompas.bundles"))
        .unwrap();
    assert!(stored >= 1, "{stored} bundles");
    assert_eq!(node.terminate(), Some(0));

    // Without the private CA the server's certificate is not trusted: the node does not start,
    // and says why.
    let untrusted = std::process::Command::new(binary("kompas-relay"))
        .env_clear()
        .args(["--listen", "127.0.0.1:0", "--store"])
        .arg(format!("{}?sslmode=verify-full", pg.url()))
        .output()
        .unwrap();
    assert!(!untrusted.status.success());
    let said = String::from_utf8_lossy(&untrusted.stderr);
    assert!(
        said.contains("certificaat") && said.contains("sslrootcert"),
        "{said}"
    );
}

/// Runs an operator's command of `kompas-relay` on the database at `url` and returns what it
/// printed.
fn operator(url: &str, args: &[&str]) -> String {
    relay_command(&[args, &["--store", url]].concat())
}

/// Tries `attempt` every 100 ms until it gives a refusal, which it returns, failing after
/// three seconds (the nodes read the marks every second).
async fn refused_soon<
    T: std::fmt::Debug,
    F: std::future::Future<Output = Result<T, ClientError>>,
>(
    what: &str,
    mut attempt: impl FnMut(u8) -> F,
) -> ErrorCode {
    let started = Instant::now();
    for i in 0u8.. {
        match attempt(i).await {
            Err(e) => return e.code().unwrap_or_else(|| panic!("{what}: {e}")),
            Ok(_) => assert!(
                started.elapsed() < Duration::from_secs(3),
                "{what}: still taken after {:?}",
                started.elapsed()
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    unreachable!("the loop returns or fails")
}

#[test]
fn operator_commands_on_the_database_hold_on_running_nodes_within_a_second() {
    let pg = database();
    let (one, two) = two_nodes(&pg);
    let url = pg.url();
    let rt = runtime();
    let gemeente = Org::new(1, "Gemeente Havenstad");
    let aanbieder = Org::new(2, "Jeugdhulp Havenstad");
    rt.block_on(async {
        let mut ws = TestWorkspace::create(&one.url(), WS, &gemeente).await;
        let mut partner = ws.add_partner(&two.url(), &gemeente, &aanbieder, 9).await;
        let first = aanbieder.seal(WS, 0, 1, b"voor het bevriezen", [1; 24]);
        assert_eq!(partner.push(first).await.unwrap().seq, 1);
    });

    // One JSON line per workspace.
    let listed = operator(&url, &["workspaces", "--json"]);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let row: serde_json::Value = serde_json::from_str(listed.trim()).unwrap();
    assert_eq!(row["workspace"], WS.to_string(), "{row}");
    assert_eq!(row["creator"], gemeente.public().to_string(), "{row}");
    assert_eq!(
        (row["members"].as_u64(), row["bundles"].as_u64()),
        (Some(2), Some(1)),
        "{row}"
    );
    assert_eq!(row["frozen"], false);

    // Frozen through the database: the node the partner writes through refuses it.
    operator(&url, &["freeze", &WS.to_string()]);
    let code = rt.block_on(refused_soon("a write after freeze", |i| {
        let bundle = aanbieder.seal(WS, 0, 10 + i, b"na het bevriezen", [2; 24]);
        let node = two.url();
        let aanbieder = &aanbieder;
        async move {
            let (mut client, _) = aanbieder.connect(&node, WS).await;
            client.push(bundle).await
        }
    }));
    assert_eq!(code, ErrorCode::Frozen);
    operator(&url, &["freeze", &WS.to_string(), "--undo"]);

    // Banned: the other node refuses the key at authentication.
    let key = aanbieder.public().to_string();
    operator(&url, &["ban", &key]);
    let code = rt.block_on(refused_soon("a connection after ban", |_| {
        let node = one.url();
        let signer = aanbieder.key.clone();
        async move {
            kompas_relay::client::RelayClient::connect(&node, WS, &signer)
                .await
                .map(|(_, welcome)| welcome)
        }
    }));
    assert_eq!(code, ErrorCode::Banned);
    operator(&url, &["ban", &key, "--undo"]);
    rt.block_on(async {
        // Thawed and readmitted, the partner writes again.
        let started = Instant::now();
        loop {
            let bundle = aanbieder.seal(WS, 0, 99, b"weer open", [3; 24]);
            let pushed =
                match kompas_relay::client::RelayClient::connect(&one.url(), WS, &aanbieder.key)
                    .await
                {
                    Ok((mut client, _)) => client.push(bundle).await,
                    Err(e) => Err(e),
                };
            match pushed {
                Ok(stored) => break assert!(stored.seq >= 2),
                Err(e) => assert!(started.elapsed() < Duration::from_secs(3), "{e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    // Deleted: gone from the list, and frozen on the nodes that still hold it.
    assert!(operator(&url, &["delete", &WS.to_string()]).contains("verwijderd"));
    assert_eq!(operator(&url, &["workspaces", "--json"]).trim(), "");
    let left = rt
        .block_on(pg.number("SELECT count(*) FROM kompas.bundles"))
        .unwrap();
    assert_eq!(left, 0);
    assert!(operator(&url, &["freeze", &WS.to_string(), "--undo"]).contains("ontdooid"));
}

#[test]
fn a_keys_per_minute_quota_holds_for_both_nodes_together() {
    let pg = database();
    let quota = ["--quota-key-bundles-per-minute", "10"];
    let one = RelayProcess::on_postgres(&pg.url(), &quota);
    let two = RelayProcess::on_postgres(&pg.url(), &quota);
    // The quota counts per minute: start early in one, so the run stays inside it.
    let into_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if into_minute > 45 {
        std::thread::sleep(Duration::from_secs(61 - into_minute));
    }
    runtime().block_on(async {
        let gemeente = Org::new(1, "Gemeente Havenstad");
        let mut ws = TestWorkspace::create(&one.url(), WS, &gemeente).await;
        for i in 0..6u8 {
            let bundle = gemeente.seal(WS, 0, i, b"via knooppunt een", [i; 24]);
            ws.coordinator.push(bundle).await.unwrap();
        }
        // Both nodes sweep once a second: after that, node two knows of the six.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let (mut other, _) = gemeente.connect(&two.url(), WS).await;
        for i in 6..10u8 {
            let bundle = gemeente.seal(WS, 0, i, b"via knooppunt twee", [i; 24]);
            other.push(bundle).await.unwrap();
        }
        let over = gemeente.seal(WS, 0, 10, b"een te veel", [10; 24]);
        assert_eq!(refused(other.push(over).await), ErrorCode::QuotaExceeded);
    });
}
