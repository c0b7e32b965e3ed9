//! End-to-end: a workflow definition that a coordinator publishes while a partner's
//! `kompas serve` runs reaches that server by its own continuous sync and takes effect there
//! without a restart: the partner's flows page offers it, and a flow started from that page
//! pins exactly the published text. Real `kompas` and `kompas-relay` processes on 127.0.0.1.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use kompas_tests::Kompas;
use kompas_tests::lines::Lines;
use kompas_tests::relay::RelayProcess;
use kompas_tests::serve::Serve;
use kompas_tests::web::WebSession;

/// How long the published definition may take to reach the running server.
const PATIENCE: Duration = Duration::from_secs(60);

/// A definition derived from a built-in one under its own name, title and version.
fn own_definition(dir: &std::path::Path) -> std::path::PathBuf {
    let builtin = std::fs::read_to_string(
        kompas_tests::workspace_root().join("workflows/verbeteracties.yaml"),
    )
    .unwrap();
    let text = builtin
        .replacen("naam: verbeteracties", "naam: wijkaanpak", 1)
        .replacen(
            "titel: Verbeteracties volgen",
            "titel: Wijkaanpak Havenstad",
            1,
        );
    assert!(text.contains("naam: wijkaanpak"), "the built-in name moved");
    assert!(
        text.contains("titel: Wijkaanpak Havenstad"),
        "the built-in title moved"
    );
    let path = dir.join("wijkaanpak.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_definition_published_elsewhere_takes_effect_in_a_running_server() {
    let dir = tempfile::TempDir::new().unwrap();
    let (_relay, gemeente, swv) = partnership(dir.path());

    let serve = Serve::start(&swv);
    let web = WebSession::login(&serve);
    let flows = web.get("/werkstromen");
    assert_eq!(flows.status, 200, "{}", flows.body);
    assert!(
        !flows.body.contains("value=\"wijkaanpak\""),
        "not offered before it is published"
    );

    let path = own_definition(dir.path());
    let published = gemeente.json(&["workflow", "publish", path.to_str().unwrap()]);
    assert_eq!(published["synced"], true, "{published}");
    let hash = published["hash"].as_str().unwrap().to_string();

    // The server's own sync receives it and puts it in force; nothing else is run on the
    // partner's side.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let page = web.get("/werkstromen");
        assert_eq!(page.status, 200, "{}", page.body);
        if page
            .body
            .contains("<option value=\"wijkaanpak\">Wijkaanpak Havenstad</option>")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the running server never offered the published definition: {}",
            page.body
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let partnership = web.get("/samenwerking");
    assert_eq!(partnership.status, 200, "{}", partnership.body);
    assert!(
        partnership.body.contains("Wijkaanpak Havenstad"),
        "the definitions in force name it: {}",
        partnership.body
    );

    // A flow started in the browser runs on exactly the published text.
    let started = web.post_form(
        "/werkstromen",
        "/werkstromen/nieuw",
        &[("werkwijze", "wijkaanpak"), ("titel", "Wijkaanpak 2027")],
    );
    assert_eq!(started.status, 303, "{}", started.body);
    let location = started.location.unwrap();
    let page = web.get(&location);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Wijkaanpak 2027"), "{}", page.body);
    assert!(page.body.contains("Wijkaanpak Havenstad"), "{}", page.body);
    let id = location.trim_start_matches("/werkstromen/");
    // Another command borrows the data directory from the running server.
    let status = swv.json(&["flow", "status", id]);
    assert_eq!(status["definition"]["name"], "wijkaanpak", "{status}");
    assert_eq!(status["definition"]["hash"], hash.as_str(), "{status}");
    serve.stop();
}

/// Two organisations in one workspace on a fresh relay; the partner's data directory is the
/// second.
fn partnership(dir: &std::path::Path) -> (RelayProcess, Kompas, Kompas) {
    let relay = RelayProcess::start(&dir.join("relay"), &[]);
    let gemeente = Kompas::organisation(dir, "gemeente", "Gemeente Havenstad", "gemeente");
    let swv = Kompas::organisation(
        dir,
        "swv",
        "Samenwerkingsverband Havenstad",
        "samenwerkingsverband",
    );
    gemeente.ok(&["workspace", "create", "Samen", "--relay", &relay.url()]);
    swv.ok(&["workspace", "join", &gemeente.invite()]);
    (relay, gemeente, swv)
}

/// Regression: SIGTERM that arrives while the server's sync thread reopens the data
/// directory, to put a definition that arrived by sync in force, ended the web server but not
/// that thread, so the process never ended. The signal is sent the moment the reopening
/// starts (the verbose line naming the data directory).
#[test]
fn a_server_ends_on_sigterm_while_it_puts_a_synced_definition_in_force() {
    let dir = tempfile::TempDir::new().unwrap();
    let (_relay, gemeente, swv) = partnership(dir.path());
    let serve = Serve::start_watched(&swv);
    serve.stderr().forget();

    let path = own_definition(dir.path());
    let published = gemeente.json(&["workflow", "publish", path.to_str().unwrap()]);
    assert_eq!(published["synced"], true, "{published}");
    let reopening = serve.stderr().until("kompas-map:", PATIENCE);
    assert!(
        reopening.is_some(),
        "the server never reopened its data directory for the arriving definition"
    );
    let took = serve.stop();
    assert!(took < Duration::from_secs(5), "ended only after {took:?}");
}

/// The same stop for a watching sync: SIGTERM the moment it opens the data directory again
/// after lending it to another command ends it with exit code 0.
#[test]
fn a_watching_sync_ends_on_sigterm_while_it_opens_the_directory_again() {
    let dir = tempfile::TempDir::new().unwrap();
    let (_relay, _gemeente, swv) = partnership(dir.path());
    let mut watching = swv
        .command(&["-v", "sync", "--watch"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Lines::read(watching.stderr.take().unwrap(), "kompas sync --watch");
    assert!(
        lines.until("verbonden met", PATIENCE).is_some(),
        "the watching sync connects"
    );
    // Another command borrows the directory; when it is done the watcher opens it again.
    swv.ok(&["doc", "list"]);
    assert!(
        lines.until("kompas-map:", PATIENCE).is_some(),
        "the watcher opens the directory again"
    );
    let sent = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &watching.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = watching.try_wait().unwrap() {
            break status;
        }
        if sent.elapsed() > Duration::from_secs(10) {
            let _ = watching.kill();
            panic!("kompas sync --watch did not end within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "{status}");
}
