//! A relay rebuilt from an empty data directory (its key restored, its data lost) is filled
//! again by the replicas, with real `kompas` and `kompas-relay` processes: each organisation
//! notices that the relay holds fewer bundles than it already read from it, reads it again from
//! the start and sends it a snapshot of every document it holds. A document that only one
//! organisation had, and that the old relay had acknowledged, reaches the other one that way.

use std::time::{Duration, Instant};

use kompas_relay::store::RelayStore;
use kompas_tests::Kompas;
use kompas_tests::relay::RelayProcess;
use serde_json::Value;

/// The relay key stored in a (stopped) relay's data directory, as its secret seed.
fn key_seed(data: &std::path::Path) -> [u8; 32] {
    let store = RelayStore::open(data, 1 << 20).expect("the old relay's store opens");
    store.relay_key([0; 32]).expect("a stored key").to_bytes()
}

#[test]
fn a_relay_rebuilt_from_an_empty_directory_is_filled_again_by_the_replicas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = dir.path().join("relay");
    let relay = RelayProcess::start(&old, &[]);
    let port = relay.addr.port().to_string();
    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    let aanbieder =
        Kompas::organisation(dir.path(), "aanbieder", "Jeugdhulp De Vaart", "aanbieder");
    gemeente.ok(&["workspace", "create", "Samen", "--relay", &relay.url()]);
    let ambitie = gemeente
        .ok(&["doc", "new", "ambitie", "--set", "titel=Samen naar school"])
        .trim()
        .to_string();
    let code = gemeente.invite();
    aanbieder.ok(&["workspace", "join", &code]);
    // A history longer than the documents: every edit is a bundle of its own.
    for n in 1..=4 {
        gemeente.ok(&["doc", "set", &ambitie, &format!("toelichting=Versie {n}")]);
        gemeente.ok(&["sync"]);
    }
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Van de gemeente"]);
    gemeente.ok(&["sync"]);
    aanbieder.ok(&["sync"]);
    // The provider's document is acknowledged by the relay, but the municipality never reads it
    // there before the relay's data is lost.
    aanbieder.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Alleen bij de aanbieder",
    ]);
    let pushed = aanbieder.json(&["sync"]);
    assert_eq!(pushed["stored"], Value::from(1), "{pushed}");

    // The relay's disk is lost; the operator starts it on an empty directory with its key
    // restored, on the same address.
    assert_eq!(relay.terminate(), Some(0));
    let seed = key_seed(&old);
    std::fs::remove_dir_all(&old).unwrap();
    let rebuilt = dir.path().join("relay-nieuw");
    RelayStore::open(&rebuilt, 1 << 20)
        .and_then(|store| store.relay_key(seed))
        .expect("the key is restored into the empty directory");
    let relay = RelayProcess::start(&rebuilt, &["--listen", &format!("127.0.0.1:{port}")]);

    // The coordinator gives the relay its membership log back and refills it; the provider
    // notices the loss as well and sends what it holds, its own document included.
    let first = gemeente.run(&["sync"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(
        first.stderr.contains("mist wat het al had opgeslagen"),
        "{}",
        first.stderr
    );
    let second = aanbieder.run(&["sync"]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(
        second.stderr.contains("mist wat het al had opgeslagen"),
        "{}",
        second.stderr
    );
    let expected = [
        "Alleen bij de aanbieder",
        "Samen naar school",
        "Van de gemeente",
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    while gemeente.titles() != expected || aanbieder.titles() != expected {
        assert!(
            Instant::now() < deadline,
            "not refilled: gemeente {:?}, aanbieder {:?}",
            gemeente.titles(),
            aanbieder.titles()
        );
        gemeente.ok(&["sync"]);
        aanbieder.ok(&["sync"]);
    }
    assert_eq!(
        gemeente.json(&["doc", "list"]),
        aanbieder.json(&["doc", "list"])
    );
    // Noticed once: a later sync reads on from where it is and sends nothing again.
    let later = gemeente.run(&["sync"]);
    assert!(!later.stderr.contains("mist wat"), "{}", later.stderr);
    drop(relay);
}
