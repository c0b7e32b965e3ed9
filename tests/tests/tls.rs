//! TLS end to end with real processes: a relay terminating TLS with a certificate from a test CA
//! (made with rcgen), two organisations syncing over `wss://`, the refusals of an expired
//! certificate, a certificate for another host name, an unknown issuer and a relay with another
//! key (each with its own Dutch message and exit code 7), and a certificate replaced on disk
//! that new connections see without a restart of the relay.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kompas_tests::Kompas;
use kompas_tests::relay::RelayProcess;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};
use tempfile::TempDir;

/// A certificate authority of our own, issuing relay certificates.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("ca key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("ca certificate"),
        }
    }

    /// Writes the CA certificate to `path`.
    fn write(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.issuer.pem()).expect("write ca");
        path.to_path_buf()
    }

    /// A relay certificate for `host`, valid from `from` to `until` (years), as PEM files
    /// `<name>.crt` and `<name>.key` in `dir`.
    fn issue(&self, dir: &Path, name: &str, host: &str, from: i32, until: i32) -> Tls {
        let mut params = CertificateParams::new(vec![host.to_string()]).expect("params");
        params.not_before = date_time_ymd(from, 1, 1);
        params.not_after = date_time_ymd(until, 1, 1);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("certificate");
        let tls = Tls {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        };
        std::fs::write(&tls.cert, cert.pem()).expect("write cert");
        std::fs::write(&tls.key, key.serialize_pem()).expect("write key");
        tls
    }
}

/// A certificate and its key on disk.
struct Tls {
    cert: PathBuf,
    key: PathBuf,
}

impl Tls {
    /// Copies this pair over `to` (the files a running relay reads), key first.
    fn copy_over(&self, to: &Tls) {
        std::fs::copy(&self.key, &to.key).expect("copy key");
        std::fs::copy(&self.cert, &to.cert).expect("copy cert");
    }
}

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

fn titles(k: &Kompas) -> Vec<String> {
    let docs = k.json(&["doc", "list"]);
    docs.as_array()
        .map(|list| {
            list.iter()
                .filter_map(|d| d["fields"]["titel"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
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
    let certs = dir.path().join("certs");
    std::fs::create_dir_all(&certs).expect("certs dir");
    let ca = TestCa::new("Testautoriteit Havenstad");
    let ca_file = ca.write(&certs.join("ca.pem"));
    let ca_arg = ca_file.to_str().expect("utf-8 path");
    let good = ca.issue(&certs, "relay", "localhost", 2020, 2090);
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
    assert_eq!(titles(&swv), ["Meer kinderen sporten"]);

    // Without the private CA the issuer is unknown.
    let aanbieder = org(&dir, "aanbieder", "Jeugdhulp Noord", "aanbieder");
    let code = gemeente.invite();
    let stderr = aanbieder.fails(7, &["workspace", "join", &code]);
    assert!(
        stderr.contains("onbekende certificaatautoriteit") && stderr.contains("--ca BESTAND"),
        "{stderr}"
    );

    // An expired certificate, and one for another host name, each on a relay of its own.
    let expired = ca.issue(&certs, "verlopen", "localhost", 2020, 2021);
    let (_old, old_url) = tls_relay(dir.path(), "relay-verlopen", &expired);
    let wrong = ca.issue(&certs, "andere-naam", "relay.elders.example", 2020, 2090);
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
    let renewed = ca.issue(&certs, "vernieuwd", "localhost", 2024, 2090);
    renewed.copy_over(&good);
    eventually(
        "the relay serving the renewed certificate",
        Duration::from_secs(15),
        || gemeente.run(&["sync"]).code == 0,
    );
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Na de vernieuwing"]);
    gemeente.ok(&["sync"]);
    swv.ok(&["sync"]);
    let mut seen = titles(&swv);
    seen.sort();
    assert_eq!(seen, ["Meer kinderen sporten", "Na de vernieuwing"]);
}
