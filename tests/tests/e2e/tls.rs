//! TLS end to end with real processes: a relay terminating TLS with a certificate from a test CA
//! (made with rcgen), two organisations syncing over `wss://`, the refusals of an expired
//! certificate, a certificate for another host name, an unknown issuer and a relay with another
//! key (each with its own Dutch message and exit code 7), and a certificate replaced on disk
//! that new connections see without a restart of the relay.

use std::path::Path;
use std::time::{Duration, Instant};

use kompas_tests::Kompas;
use kompas_tests::relay::RelayProcess;
use kompas_tests::tls::{TestCa, Tls};
use tempfile::TempDir;

fn tls_relay(dir: &Path, name: &str, tls: &Tls) -> (RelayProcess, String) {
    let relay = RelayProcess::start(
        &dir.join(name),
        &[
            "--tls-cert",
            tls.cert.to_str().expect("utf-8 path"),
            "--tls-key",
            tls.key.to_str().expect("utf-8 path"),
        ],
    );
    let url = format!("wss://localhost:{}", relay.addr.port());
    (relay, url)
}

fn org(dir: &TempDir, slug: &str, name: &str, org_type: &str) -> Kompas {
    Kompas::organisation(dir.path(), slug, name, org_type)
}

/// Runs `check` until it returns true, for at most `limit`.
fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < limit,
            "{what} did not happen within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn two_organisations_sync_over_wss_and_untrusted_relays_are_refused_each_with_its_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new(&dir.path().join("certs"), "Testautoriteit Havenstad");
    let ca_arg = ca.arg();
    let good = ca.issue("relay", "localhost", 2020, 2090);
    let (relay, url) = tls_relay(dir.path(), "relay", &good);

    // Two organisations sync over wss:// with the test CA.
    let gemeente = org(&dir, "gemeente", "Gemeente Havenstad", "gemeente");
    let created = gemeente.run(&[
        "workspace",
        "create",
        "Jeugd Havenstad",
        "--relay",
        &url,
        "--ca",
        ca_arg,
    ]);
    assert_eq!(created.code, 0, "{created:?}");
    assert!(
        created.stderr.contains(&format!(
            "relaysleutel van {url} vastgelegd bij het eerste contact"
        )),
        "{}",
        created.stderr
    );
    let relays = gemeente.json(&["workspace", "relays", "list"]);
    assert_eq!(relays["trust"][&url]["key"], relay.key.as_str(), "{relays}");
    assert_eq!(relays["trust"][&url]["ca"], ca_arg, "{relays}");
    let swv = org(
        &dir,
        "swv",
        "Samenwerkingsverband Havenstad",
        "samenwerkingsverband",
    );
    let code = gemeente.invite();
    swv.ok(&["workspace", "join", &code, "--ca", ca_arg]);
    // The invite carried the relay's key: the joiner pinned it without learning it.
    let relays = swv.json(&["workspace", "relays", "list"]);
    assert_eq!(relays["trust"][&url]["key"], relay.key.as_str(), "{relays}");
    gemeente.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Meer kinderen sporten",
    ]);
    gemeente.ok(&["sync"]);
    swv.ok(&["sync"]);
    assert_eq!(swv.titles(), ["Meer kinderen sporten"]);

    // Without the private CA the issuer is unknown.
    let aanbieder = org(&dir, "aanbieder", "Jeugdhulp Noord", "aanbieder");
    let code = gemeente.invite();
    let stderr = aanbieder.fails(7, &["workspace", "join", &code]);
    assert!(
        stderr.contains("onbekende certificaatautoriteit") && stderr.contains("--ca BESTAND"),
        "{stderr}"
    );

    // An expired certificate, and one for another host name, each on a relay of its own.
    let expired = ca.issue("verlopen", "localhost", 2020, 2021);
    let (_old, old_url) = tls_relay(dir.path(), "relay-verlopen", &expired);
    let wrong = ca.issue("andere-naam", "relay.elders.example", 2020, 2090);
    let (_elsewhere, wrong_url) = tls_relay(dir.path(), "relay-andere-naam", &wrong);
    for (slug, relay_url, says) in [
        ("verlopen", &old_url, "is verlopen"),
        (
            "andere-naam",
            &wrong_url,
            "hoort niet bij de hostnaam localhost",
        ),
    ] {
        let k = org(&dir, slug, "Gemeente Elders", "gemeente");
        let created = k.run(&[
            "workspace",
            "create",
            "Elders",
            "--relay",
            relay_url,
            "--ca",
            ca_arg,
        ]);
        assert!(created.stderr.contains(says), "{slug}: {created:?}");
        let stderr = k.fails(7, &["sync"]);
        assert!(stderr.contains(says), "{slug}: {stderr}");
        assert!(!stderr.contains("niet bereikbaar"), "{slug}: {stderr}");
    }

    // A relay that answers with another key than the pinned one is refused before anything
    // is exchanged.
    let (look_alike, look_alike_url) = tls_relay(dir.path(), "relay-nep", &good);
    assert_ne!(look_alike.key, relay.key);
    swv.ok(&[
        "workspace",
        "relays",
        "add",
        &look_alike_url,
        "--ca",
        ca_arg,
        "--relay-key",
        &relay.key,
    ]);
    let stderr = swv.fails(7, &["sync"]);
    assert!(
        stderr.contains("andere relaysleutel")
            && stderr.contains(&look_alike.key)
            && stderr.contains(&relay.key),
        "{stderr}"
    );
    swv.ok(&["workspace", "relays", "remove", &look_alike_url]);
    swv.ok(&["sync"]);

    // The certificate is replaced on disk while the relay runs. A file that does not load
    // leaves the old certificate in force; a new one is seen by the next connection.
    std::fs::write(&good.cert, "geen certificaat").expect("spoil cert");
    std::thread::sleep(Duration::from_millis(2500));
    gemeente.ok(&["sync"]);
    expired.copy_over(&good);
    eventually(
        "the relay serving the expired certificate",
        Duration::from_secs(15),
        || {
            let run = gemeente.run(&["sync"]);
            run.code == 7 && run.stderr.contains("is verlopen")
        },
    );
    let renewed = ca.issue("vernieuwd", "localhost", 2024, 2090);
    renewed.copy_over(&good);
    eventually(
        "the relay serving the renewed certificate",
        Duration::from_secs(15),
        || gemeente.run(&["sync"]).code == 0,
    );
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Na de vernieuwing"]);
    gemeente.ok(&["sync"]);
    swv.ok(&["sync"]);
    assert_eq!(swv.titles(), ["Meer kinderen sporten", "Na de vernieuwing"]);
}
