//! A removed member writes through a relay that has not seen its removal: real `kompas` and
//! `kompas-relay` processes on 127.0.0.1. The stale relay stores what the removed member sends,
//! and every remaining replica refuses it (reporting why) because the removal's cut-off lies
//! below the numbers of those bundles, while the legitimate members keep syncing.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::time::{Duration, Instant};

use kompas_tests::Kompas;
use kompas_tests::relay::RelayProcess;
use serde_json::Value;
use tempfile::TempDir;

/// One `kompas --json sync` run, whatever its exit code (a relay may be down): its summary.
fn sync_summary(k: &Kompas, timeout: &str) -> Value {
    let run = k.run(&["--json", "sync", "--timeout", timeout]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "sync printed no summary ({e}): {}{}",
            run.stdout, run.stderr
        )
    })
}

/// Syncs `k` until it holds a document titled `title`, or fails after a deadline.
fn until_titled(k: &Kompas, title: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !k.titles().iter().any(|t| t == title) {
        assert!(Instant::now() < deadline, "{title:?} never arrived");
        sync_summary(k, "20");
    }
}

/// The relay's count of bundles it stored since it started, from `/metrics`.
fn stored_since_start(relay: &RelayProcess) -> u64 {
    let (status, text) = relay.get("/metrics");
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix("kompas_relay_bundles_stored_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no stored-bundles counter in:\n{text}"))
}

#[test]
fn a_removed_member_writing_through_a_stale_relay_is_refused_by_every_replica() {
    let dir = TempDir::new().unwrap();
    let a_data = dir.path().join("relay-a");
    let b_data = dir.path().join("relay-b");
    let a = RelayProcess::start(&a_data, &[]);
    let b = RelayProcess::start(&b_data, &[]);
    let (a_addr, b_addr) = (a.addr.to_string(), b.addr.to_string());
    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    let swv = Kompas::organisation(
        dir.path(),
        "swv",
        "Samenwerkingsverband Havenstad",
        "samenwerkingsverband",
    );
    let aanbieder =
        Kompas::organisation(dir.path(), "aanbieder", "Jeugdhulp De Vaart", "aanbieder");
    gemeente.ok(&[
        "workspace",
        "create",
        "Samen voor de jeugd",
        "--relay",
        &a.url(),
    ]);
    gemeente.ok(&["workspace", "relays", "add", &b.url()]);
    for k in [&swv, &aanbieder] {
        k.ok(&["workspace", "join", &gemeente.invite()]);
    }
    // The coordinator brings the second relay's member list level (joins went to the first).
    gemeente.ok(&["sync"]);
    aanbieder.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Voor de verwijdering",
    ]);
    aanbieder.ok(&["sync"]);
    until_titled(&gemeente, "Voor de verwijdering");
    until_titled(&swv, "Voor de verwijdering");

    // Relay B is down while the coordinator removes the provider, so it never hears of it.
    b.kill();
    let removed = gemeente.json(&["workspace", "remove", "Jeugdhulp De Vaart"]);
    assert_eq!(removed["epoch"], Value::from(1));
    assert!(removed["cutoff"].as_u64().unwrap() >= 1, "{removed}");
    sync_summary(&swv, "20");
    let members = swv.json(&["workspace", "members"]);
    assert_eq!(members["members"].as_array().map(Vec::len), Some(2));

    // Now only the stale relay is up: the removed provider writes and it stores everything.
    a.kill();
    let b = RelayProcess::start(&b_data, &["--listen", &b_addr]);
    aanbieder.ok(&["doc", "new", "ambitie", "--set", "titel=Na de verwijdering"]);
    let docs = aanbieder.json(&["doc", "list"]);
    let first = docs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["fields"]["titel"] == "Voor de verwijdering")
        .and_then(|d| d["id"].as_str())
        .unwrap()
        .to_string();
    aanbieder.ok(&[
        "doc",
        "set",
        &first,
        "toelichting=Overschreven na de verwijdering",
    ]);
    let pushed = sync_summary(&aanbieder, "20");
    assert!(pushed["stored"].as_u64().unwrap() >= 2, "{pushed}");
    assert!(stored_since_start(&b) >= 2);

    // Both relays are up again. The remaining members read what relay B stored and refuse it.
    let a = RelayProcess::start(&a_data, &["--listen", &a_addr]);
    for k in [&swv, &gemeente] {
        let summary = sync_summary(k, "30");
        let refused: Vec<&str> = summary["refused"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            refused
                .iter()
                .filter(|r| r.contains("verwijderd lid") && r.contains("na de verwijdering"))
                .count()
                >= 2,
            "both bundles are refused and reported: {summary}"
        );
        assert_eq!(k.titles(), vec!["Voor de verwijdering"]);
        let shown = k.json(&["doc", "show", &first]);
        assert!(shown["fields"]["toelichting"].is_null(), "{shown}");
    }

    // The legitimate members keep syncing, through either relay.
    swv.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Van het samenwerkingsverband",
    ]);
    sync_summary(&swv, "20");
    until_titled(&gemeente, "Van het samenwerkingsverband");
    assert_eq!(
        gemeente.titles(),
        vec!["Van het samenwerkingsverband", "Voor de verwijdering"]
    );
    assert_eq!(gemeente.json(&["doc", "list"]), swv.json(&["doc", "list"]));
    // The stale relay learned of the removal from the others and turns the provider away.
    let stderr = aanbieder.fails(7, &["sync", "--timeout", "20"]);
    assert!(stderr.contains("verwijderd"), "{stderr}");
    drop((a, b));
}
