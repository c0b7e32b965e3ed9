//! Several samenwerkingen in one data directory: real `kompas` and `kompas-relay` processes on
//! 127.0.0.1. A municipality sits in two samenwerkingen with different partners through two
//! relays; the documents of each reach only its own partners and relay, one `sync` handles
//! both, and commands refuse to guess which one they concern. A directory of the first layout
//! (one store) converts on first use with its documents, sync state and local records intact.
//! A watching sync keeps both connected at once and lends the directory to other commands;
//! `kompas serve` serves both, switching between them from the header.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use kompas_engine::Store;
use kompas_engine::sync::wire::WorkspaceId;
use kompas_tests::relay::{RelayProcess, contains, files_under};
use kompas_tests::serve::Serve;
use kompas_tests::{Kompas, open_data_dir, sync_until};
use tempfile::TempDir;

const REGIO: &str = "Jeugdregio Waterland";
const SCHOOL: &str = "Schoolpartnerschap Waterland";

/// Whether any file under `dir` holds the workspace id `ws`, as bytes or as hex text.
fn holds_workspace(dir: &Path, ws: &WorkspaceId) -> bool {
    files_under(dir).iter().any(|file| {
        let bytes = std::fs::read(file).unwrap_or_default();
        contains(&bytes, &ws.0) || contains(&bytes, ws.to_string().as_bytes())
    })
}

#[test]
fn one_organisation_in_two_samenwerkingen_keeps_them_apart() {
    let dir = TempDir::new().unwrap();
    let relay_regio = RelayProcess::start(&dir.path().join("relay-regio"), &[]);
    let relay_school = RelayProcess::start(&dir.path().join("relay-school"), &[]);
    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Waterland", "gemeente");
    let aanbieder =
        Kompas::organisation(dir.path(), "aanbieder", "Jeugdhulp Het Anker", "aanbieder");
    let swv = Kompas::organisation(
        dir.path(),
        "swv",
        "Samenwerkingsverband Waterland Noord",
        "samenwerkingsverband",
    );

    // The document made before any samenwerking waits in the first one.
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Eerst gemaakt"]);
    let regio = gemeente.json(&["workspace", "create", REGIO, "--relay", &relay_regio.url()]);
    let regio_id: WorkspaceId = regio["workspace"].as_str().unwrap().parse().unwrap();
    // With one samenwerking, commands need no choice.
    let invite = gemeente.invite();
    aanbieder.ok(&["workspace", "join", &invite]);

    // A second samenwerking goes into the same directory, with the same identity.
    let school = gemeente.json(&[
        "workspace",
        "create",
        SCHOOL,
        "--relay",
        &relay_school.url(),
    ]);
    let school_id: WorkspaceId = school["workspace"].as_str().unwrap().parse().unwrap();
    assert_ne!(regio_id, school_id);
    let listed = gemeente.json(&["samenwerkingen"]);
    let names: Vec<&str> = listed["samenwerkingen"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, vec![REGIO, SCHOOL], "{listed}");
    let whoami = gemeente.json(&["whoami"]);
    assert_eq!(whoami["name"], "Gemeente Waterland", "{whoami}");
    assert_eq!(whoami["samenwerkingen"].as_array().unwrap().len(), 2);

    // Now a command that concerns one must be told which, and says what there is.
    let refused = gemeente.fails(3, &["doc", "list"]);
    assert!(refused.contains("--samenwerking"), "{refused}");
    assert!(
        refused.contains(REGIO) && refused.contains(SCHOOL),
        "{refused}"
    );
    let unknown = gemeente.fails(4, &["--samenwerking", "Elders", "doc", "list"]);
    assert!(
        unknown.contains(REGIO) && unknown.contains(SCHOOL),
        "{unknown}"
    );
    let again = gemeente.fails(
        3,
        &["workspace", "create", REGIO, "--relay", &relay_regio.url()],
    );
    assert!(again.contains("al een samenwerking"), "{again}");

    let school_invite = gemeente.json(&["--samenwerking", SCHOOL, "workspace", "invite"]);
    swv.ok(&["workspace", "join", school_invite["code"].as_str().unwrap()]);
    // The name is matched whatever its case; the environment variable chooses as well.
    gemeente.ok(&[
        "--samenwerking",
        &REGIO.to_uppercase(),
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Alleen voor de regio",
    ]);
    let run = gemeente
        .command(&[
            "doc",
            "new",
            "ambitie",
            "--set",
            "titel=Alleen voor de school",
        ])
        .env("KOMPAS_SAMENWERKING", SCHOOL)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The partners, each in one samenwerking, need no choice either.
    aanbieder.ok(&["doc", "new", "ambitie", "--set", "titel=Van de aanbieder"]);
    swv.ok(&["doc", "new", "ambitie", "--set", "titel=Van het swv"]);

    // One sync handles both samenwerkingen.
    let synced = gemeente.json(&["sync"]);
    let each = synced["samenwerkingen"].as_array().unwrap();
    assert_eq!(each.len(), 2, "{synced}");
    assert_eq!(each[0]["samenwerking"], REGIO);
    assert_eq!(each[1]["samenwerking"], SCHOOL);
    assert_eq!(synced["not_reached"], serde_json::json!([]), "{synced}");
    sync_until(&[&aanbieder, &swv, &gemeente], "both samenwerkingen", |k| {
        if k.data() == gemeente.data() {
            k.titles_in(REGIO).len() == 3 && k.titles_in(SCHOOL).len() == 2
        } else {
            k.titles().len() >= 2
        }
    });
    assert_eq!(
        gemeente.titles_in(REGIO),
        vec!["Alleen voor de regio", "Eerst gemaakt", "Van de aanbieder"]
    );
    assert_eq!(
        gemeente.titles_in(SCHOOL),
        vec!["Alleen voor de school", "Van het swv"]
    );
    assert_eq!(
        aanbieder.titles(),
        vec!["Alleen voor de regio", "Eerst gemaakt", "Van de aanbieder"]
    );
    assert_eq!(swv.titles(), vec!["Alleen voor de school", "Van het swv"]);
    // The partners' stores know only their own samenwerking.
    for (k, name) in [(&aanbieder, REGIO), (&swv, SCHOOL)] {
        let listed = k.json(&["samenwerkingen"]);
        let all = listed["samenwerkingen"].as_array().unwrap();
        assert_eq!(all.len(), 1, "{listed}");
        assert_eq!(all[0]["name"], name);
    }

    // Neither relay holds anything of the other samenwerking, in any file.
    let (regio_dir, school_dir) = (
        dir.path().join("relay-regio"),
        dir.path().join("relay-school"),
    );
    relay_regio.terminate();
    relay_school.terminate();
    assert!(holds_workspace(&regio_dir, &regio_id));
    assert!(holds_workspace(&school_dir, &school_id));
    assert!(!holds_workspace(&regio_dir, &school_id));
    assert!(!holds_workspace(&school_dir, &regio_id));
}

/// A municipality in two samenwerkingen, each with one partner and a relay of its own, all
/// synced once: the municipality, the youth care provider (regio) and the school partnership's
/// swv, with the relays.
struct TwoTables {
    gemeente: Kompas,
    aanbieder: Kompas,
    swv: Kompas,
    _relays: [RelayProcess; 2],
}

fn two_tables(dir: &Path) -> TwoTables {
    let relay_regio = RelayProcess::start(&dir.join("relay-regio"), &[]);
    let relay_school = RelayProcess::start(&dir.join("relay-school"), &[]);
    let gemeente = Kompas::organisation(dir, "gemeente", "Gemeente Waterland", "gemeente");
    let aanbieder = Kompas::organisation(dir, "aanbieder", "Jeugdhulp Het Anker", "aanbieder");
    let swv = Kompas::organisation(
        dir,
        "swv",
        "Samenwerkingsverband Waterland Noord",
        "samenwerkingsverband",
    );
    gemeente.ok(&["workspace", "create", REGIO, "--relay", &relay_regio.url()]);
    aanbieder.ok(&["workspace", "join", &gemeente.invite()]);
    gemeente.ok(&[
        "workspace",
        "create",
        SCHOOL,
        "--relay",
        &relay_school.url(),
    ]);
    let invite = gemeente.json(&["--samenwerking", SCHOOL, "workspace", "invite"]);
    swv.ok(&["workspace", "join", invite["code"].as_str().unwrap()]);
    gemeente.ok(&["sync"]);
    TwoTables {
        gemeente,
        aanbieder,
        swv,
        _relays: [relay_regio, relay_school],
    }
}

/// Waits for a line from the watcher that contains `wanted`, up to a minute.
fn wait_for_line(lines: &Receiver<String>, wanted: &str) {
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("never saw {wanted:?}; saw {seen:?}"));
        if line.contains(wanted) {
            return;
        }
        seen.push(line);
    }
}

#[test]
fn a_watching_sync_keeps_every_samenwerking_connected_and_lends_the_directory() {
    let dir = TempDir::new().unwrap();
    let t = two_tables(dir.path());
    let mut watch = t
        .gemeente
        .command(&["sync", "--watch", "--timeout", "120"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Progress lines are read on a thread, so the watcher never blocks on a full pipe.
    let stderr = watch.stderr.take().unwrap();
    let (line_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });

    // Both partners' changes arrive at the one watching process, each through its own relay,
    // named by its samenwerking.
    let from_regio = t
        .aanbieder
        .ok(&["doc", "new", "ambitie", "--set", "titel=Van de aanbieder"]);
    t.aanbieder.ok(&["sync"]);
    wait_for_line(
        &lines,
        &format!("{REGIO}: ontvangen: wijziging in {}", from_regio.trim()),
    );
    let from_school = t
        .swv
        .ok(&["doc", "new", "ambitie", "--set", "titel=Van het swv"]);
    t.swv.ok(&["sync"]);
    wait_for_line(
        &lines,
        &format!("{SCHOOL}: ontvangen: wijziging in {}", from_school.trim()),
    );

    // Commands for either samenwerking borrow the directory meanwhile; what they save goes out
    // through the watcher, to that samenwerking's partner only.
    assert_eq!(t.gemeente.titles_in(REGIO), vec!["Van de aanbieder"]);
    assert_eq!(t.gemeente.titles_in(SCHOOL), vec!["Van het swv"]);
    t.gemeente.ok(&[
        "--samenwerking",
        SCHOOL,
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Terwijl de sync meekijkt",
    ]);
    sync_until(&[&t.swv], "the watcher sends the school's document", |k| {
        k.titles().contains(&"Terwijl de sync meekijkt".to_string())
    });
    t.aanbieder.ok(&["sync"]);
    assert_eq!(t.aanbieder.titles(), vec!["Van de aanbieder"]);
    assert!(
        watch.try_wait().unwrap().is_none(),
        "the watcher keeps running"
    );

    // SIGTERM ends it cleanly with a summary per samenwerking.
    let term = std::process::Command::new("kill")
        .args(["-TERM", &watch.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = watch.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{:?}: {stdout}", out.status);
    let regio = stdout.find(&format!("Samenwerking {REGIO}:")).expect(REGIO);
    let school = stdout
        .find(&format!("Samenwerking {SCHOOL}:"))
        .expect(SCHOOL);
    assert!(regio < school, "{stdout}");
    assert!(
        stdout[regio..school].contains("1 wijziging(en) ontvangen, 0 verstuurd"),
        "{stdout}"
    );
    assert!(
        stdout[school..].contains("1 wijziging(en) ontvangen, 1 verstuurd"),
        "{stdout}"
    );
    assert!(!t.gemeente.data().join("kompas.watching").exists());
}

/// The identity, sync state and mail records, and every document, of the one store of the data directory `data`.
fn contents(data: &Path) -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>) {
    let dir = open_data_dir(data);
    let store = dir.sole_store().unwrap();
    let meta = ["identity", "sync-", "herinnering/"]
        .into_iter()
        .flat_map(|prefix| store.scan_meta(prefix).unwrap())
        .collect();
    let docs = store
        .ids()
        .unwrap()
        .into_iter()
        .map(|id| {
            let doc = store.load(&id).unwrap().unwrap().load().unwrap().save();
            (id, doc)
        })
        .collect();
    (meta, docs)
}

/// Turns a data directory back into the first layout: one `store` and marker format 1.
fn to_first_layout(data: &Path) {
    std::fs::rename(data.join("samenwerkingen").join("1"), data.join("store")).unwrap();
    std::fs::remove_dir(data.join("samenwerkingen")).unwrap();
    std::fs::write(
        data.join("kompas.json"),
        b"{\n  \"kompas\": \"data-dir\",\n  \"format\": 1\n}",
    )
    .unwrap();
}

#[test]
fn a_directory_of_the_first_layout_converts_with_everything_in_it() {
    let dir = TempDir::new().unwrap();
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Waterland", "gemeente");
    let aanbieder =
        Kompas::organisation(dir.path(), "aanbieder", "Jeugdhulp Het Anker", "aanbieder");
    gemeente.ok(&["workspace", "create", REGIO, "--relay", &relay.url()]);
    aanbieder.ok(&["workspace", "join", &gemeente.invite()]);
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Van de gemeente"]);
    gemeente.ok(&["flow", "start", "kwaliteitskompas"]);
    sync_until(&[&gemeente, &aanbieder], "the first documents", |k| {
        k.titles().contains(&"Van de gemeente".to_string())
    });
    {
        // A record of local mail, which never travels, must survive too.
        let data = open_data_dir(gemeente.data());
        data.sole_store()
            .unwrap()
            .put_meta(
                "herinnering/klaar/0123456789abcdef/deadline-1",
                b"verstuurd",
            )
            .unwrap();
    }
    let before = contents(gemeente.data());
    for key in [
        "identity",
        "sync-workspace",
        "sync-cursors",
        "herinnering/klaar/0123456789abcdef/deadline-1",
    ] {
        assert!(
            before.0.contains_key(key),
            "{key} missing: {:?}",
            before.0.keys()
        );
    }
    to_first_layout(gemeente.data());
    assert!(gemeente.data().join("store").is_dir());

    // The first command converts it: the same documents, meta values and member list.
    assert_eq!(gemeente.titles(), vec!["Van de gemeente"]);
    assert!(!gemeente.data().join("store").exists());
    assert_eq!(contents(gemeente.data()), before);
    let listed = gemeente.json(&["samenwerkingen"]);
    assert_eq!(listed["samenwerkingen"][0]["name"], REGIO, "{listed}");
    // Sync carries on from where it was: a partner's new document arrives, nothing is lost.
    aanbieder.ok(&["doc", "new", "ambitie", "--set", "titel=Na de omzetting"]);
    sync_until(
        &[&aanbieder, &gemeente],
        "the document after converting",
        |k| k.titles().len() == 2,
    );
    assert_eq!(aanbieder.titles(), gemeente.titles());
    // A second samenwerking joins the converted directory beside the first.
    let second = Kompas::organisation(dir.path(), "tweede", "Gemeente Oost", "gemeente");
    second.ok(&["workspace", "create", SCHOOL, "--relay", &relay.url()]);
    gemeente.ok(&["workspace", "join", &second.invite()]);
    assert_eq!(gemeente.titles_in(REGIO).len(), 2);
    assert!(gemeente.titles_in(SCHOOL).is_empty());
    drop(relay);
}

type Http = Client<HttpConnector, Full<Bytes>>;

/// A request to the web app with the session `cookie`: a GET, or with `form` a form POST.
/// Returns the status, the Location header and the body.
async fn ask(
    http: &Http,
    url: &str,
    cookie: &str,
    form: Option<&[(&str, &str)]>,
) -> (u16, String, String) {
    let request = match form {
        None => http::Request::get(url).body(Full::default()),
        Some(fields) => http::Request::post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields)
                    .finish(),
            ))),
    };
    let request = {
        let mut request = request.unwrap();
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
        request
    };
    let response = http.request(request).await.unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let location = header("location");
    let cookie = header("set-cookie");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8_lossy(&body).into_owned();
    // A login answers with its cookie where others answer with their body.
    (
        status,
        location,
        if body.is_empty() { cookie } else { body },
    )
}

/// The text in `html` between `before` and the next quote.
fn value_in(html: &str, before: &str) -> String {
    let at = html
        .find(before)
        .unwrap_or_else(|| panic!("{before} in {html}"))
        + before.len();
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

/// The store number the header offers for samenwerking `name`.
fn offered(html: &str, name: &str) -> String {
    let end = html
        .find(&format!(">{name}</option>"))
        .unwrap_or_else(|| panic!("{name} offered in {html}"));
    let start = html[..end].rfind("value=\"").unwrap() + "value=\"".len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

#[test]
fn kompas_serve_serves_every_samenwerking_and_switches_between_them() {
    let dir = TempDir::new().unwrap();
    let t = two_tables(dir.path());
    for (name, title) in [
        (REGIO, "Alleen voor de regio"),
        (SCHOOL, "Alleen voor de school"),
    ] {
        let set = format!("titel={title}");
        t.gemeente.ok(&[
            "--samenwerking",
            name,
            "doc",
            "new",
            "ambitie",
            "--set",
            &set,
        ]);
    }
    let serve = Serve::start(&t.gemeente);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http: Http = Client::builder(TokioExecutor::new()).build_http();
        let (status, _, cookie) = ask(&http, &serve.login, "", None).await;
        assert_eq!(status, 303, "the login link starts a session");
        let cookie = cookie.split(';').next().unwrap().to_string();
        let documents = format!("{}/documenten", serve.base);
        let page = || ask(&http, &documents, &cookie, None);

        // A new session sees the first samenwerking, and only its documents.
        let (status, _, html) = page().await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains(&format!("Samenwerking {REGIO}")), "{html}");
        assert!(html.contains("Alleen voor de regio"), "{html}");
        assert!(!html.contains("Alleen voor de school"), "{html}");

        // The header's form switches; every page follows.
        let csrf = value_in(&html, "name=\"csrf\" value=\"");
        let school = offered(&html, SCHOOL);
        let choose = format!("{}/samenwerking/kiezen", serve.base);
        let fields = [
            ("csrf", csrf.as_str()),
            ("samenwerking", school.as_str()),
            ("terug", "/documenten"),
        ];
        let (status, location, _) = ask(&http, &choose, &cookie, Some(&fields)).await;
        assert_eq!((status, location.as_str()), (303, "/documenten"));
        let (_, _, html) = page().await;
        assert!(html.contains(&format!("Samenwerking {SCHOOL}")), "{html}");
        assert!(html.contains("Alleen voor de school"), "{html}");
        assert!(!html.contains("Alleen voor de regio"), "{html}");
        let unknown = [("csrf", csrf.as_str()), ("samenwerking", "77")];
        let (status, _, html) = ask(&http, &choose, &cookie, Some(&unknown)).await;
        assert_eq!(status, 404, "{html}");
        assert!(html.contains("geen samenwerking nummer 77"), "{html}");

        // The server's own sync keeps both samenwerkingen connected: each partner's change
        // shows up in its own samenwerking's pages.
        t.swv
            .ok(&["doc", "new", "ambitie", "--set", "titel=Van het swv"]);
        t.swv.ok(&["sync"]);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !page().await.2.contains("Van het swv") {
            assert!(
                Instant::now() < deadline,
                "the school's change never arrived"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let regio = offered(&page().await.2, REGIO);
        let back = [("csrf", csrf.as_str()), ("samenwerking", regio.as_str())];
        let (status, location, _) = ask(&http, &choose, &cookie, Some(&back)).await;
        assert_eq!((status, location.as_str()), (303, "/"));
        t.aanbieder
            .ok(&["doc", "new", "ambitie", "--set", "titel=Van de aanbieder"]);
        t.aanbieder.ok(&["sync"]);
        loop {
            let (_, _, html) = page().await;
            if html.contains("Van de aanbieder") {
                assert!(!html.contains("Van het swv"), "{html}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the regio's change never arrived"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    // A command beside the server still reaches either samenwerking.
    assert_eq!(
        t.gemeente.titles_in(SCHOOL),
        vec!["Alleen voor de school", "Van het swv"]
    );
    serve.stop();
}
