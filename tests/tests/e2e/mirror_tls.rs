//! A relay mirroring another over `wss://`: the upstream's certificate is checked against a test
//! CA given with `--mirror-ca`, the upstream's key is pinned on first contact (and stored), two
//! organisations on either relay sync through the mirror, and after a restart an upstream that
//! shows another key is refused before the mirror authenticates, with the reason in its log.

use std::path::Path;
use std::time::{Duration, Instant};

use kompas_tests::Kompas;
use kompas_tests::relay::{Launch, RelayProcess, relay_key};
use kompas_tests::tls::{TestCa, Tls};

/// A relay terminating TLS with `tls`, letting `mirror` mirror it; with its `wss://` URL.
fn tls_upstream(dir: &Path, tls: &Tls, mirror: &str) -> (RelayProcess, String) {
    let relay = RelayProcess::start(
        dir,
        &[
            "--tls-cert",
            tls.cert.to_str().expect("utf-8 path"),
            "--tls-key",
            tls.key.to_str().expect("utf-8 path"),
            "--allow-mirror",
            mirror,
        ],
    );
    let url = format!("wss://localhost:{}", relay.addr.port());
    (relay, url)
}

/// A mirror of `upstream` trusting the test CA, logging to `log`.
fn mirror(data: &Path, upstream: &str, ca: &TestCa, log: &Path) -> RelayProcess {
    RelayProcess::launch(
        data,
        &["--mirror", upstream, "--mirror-ca", ca.arg()],
        &Launch {
            stderr: Some(log.to_path_buf()),
            ..Launch::default()
        },
    )
}

/// Waits until the log file holds every one of `needles`, for at most 30 seconds.
fn log_shows(log: &Path, needles: &[&str]) -> String {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if needles.iter().all(|n| text.contains(n)) {
            return text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the log never showed {needles:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_mirror_over_wss_pins_its_upstream_and_refuses_another_key_with_a_logged_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new(&dir.path().join("certs"), "Testautoriteit Havenstad");
    let cert = ca.issue("relay", "localhost", 2020, 2090);
    let mirror_data = dir.path().join("mirror");
    let mirror_key = relay_key(&mirror_data);
    let (upstream, upstream_url) = tls_upstream(&dir.path().join("upstream"), &cert, &mirror_key);
    let first_log = dir.path().join("mirror-1.log");
    let relay = mirror(&mirror_data, &upstream_url, &ca, &first_log);

    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    let aanbieder =
        Kompas::organisation(dir.path(), "aanbieder", "Jeugdhulp De Vaart", "aanbieder");
    gemeente.ok(&[
        "workspace",
        "create",
        "Samen",
        "--relay",
        &upstream_url,
        "--ca",
        ca.arg(),
    ]);
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Van de gemeente"]);
    gemeente.ok(&["sync"]);
    let code = gemeente.invite();
    aanbieder.ok(&["workspace", "join", &code, "--ca", ca.arg()]);
    // From here on the provider talks to the mirror only (plain ws:// on loopback).
    aanbieder.ok(&["workspace", "relays", "add", &relay.url()]);
    aanbieder.ok(&["workspace", "relays", "remove", &upstream_url]);
    aanbieder.ok(&["doc", "new", "ambitie", "--set", "titel=Van de aanbieder"]);
    let both = ["Van de aanbieder", "Van de gemeente"];
    let started = Instant::now();
    while gemeente.titles() != both || aanbieder.titles() != both {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no convergence through the mirror: {:?} / {:?}",
            gemeente.titles(),
            aanbieder.titles()
        );
        aanbieder.ok(&["sync"]);
        gemeente.ok(&["sync"]);
    }
    let log = log_shows(&first_log, &["vastgelegd", &upstream.key]);
    assert!(!log.contains("spiegelen gestopt"), "{log}");

    // The mirror restarts pointed at a look-alike: the same certificate and host name, but
    // another relay with its own key. It is refused, the reason logged, and it learns nothing.
    relay.kill();
    let look_alike_data = dir.path().join("look-alike");
    let (look_alike, look_alike_url) = tls_upstream(&look_alike_data, &cert, &mirror_key);
    let second_log = dir.path().join("mirror-2.log");
    let relay = mirror(&mirror_data, &look_alike_url, &ca, &second_log);
    let log = log_shows(
        &second_log,
        &["spiegelen gestopt", &look_alike.key, &upstream.key],
    );
    assert!(
        log.contains("--mirror-key"),
        "the log says what to do: {log}"
    );
    look_alike.kill();
    let listed = std::process::Command::new(kompas_tests::binary("kompas-relay"))
        .args(["workspaces", "--json", "--data"])
        .arg(&look_alike_data)
        .output()
        .expect("kompas-relay workspaces runs");
    assert!(listed.status.success(), "{listed:?}");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.trim().is_empty(),
        "the look-alike got no workspace from the mirror: {listed}"
    );

    // The organisation on the real upstream keeps syncing.
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Nog een"]);
    gemeente.ok(&["sync"]);
    drop(relay);
}
