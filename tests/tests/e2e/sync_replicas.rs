//! End-to-end sync between organisations: real `kompas` and `kompas-relay` processes on
//! 127.0.0.1, invites, offline edits, removal with key rotation, and two mirroring relays.
//!
//! Nothing here sleeps to synchronise: every wait is a `kompas sync` run whose output is
//! checked, repeated until the expected state is observed or a deadline passes.

use std::time::{Duration, Instant};

use kompas_tests::Kompas;
use kompas_tests::relay::{RelayProcess, relay_key};
use serde_json::Value;
use tempfile::TempDir;

/// An organisation's data directory, initialised.
fn org(dir: &TempDir, slug: &str, name: &str, org_type: &str) -> Kompas {
    Kompas::organisation(dir.path(), slug, name, org_type)
}

/// Every document with its heads and fields, as `kompas doc list --json` prints them.
fn documents(k: &Kompas) -> Value {
    k.json(&["doc", "list", "--deleted"])
}

/// Syncs `orgs` in turn until every one lists the same documents, or fails after a deadline.
fn sync_until_converged(orgs: &[&Kompas]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for k in orgs {
            k.ok(&["sync"]);
        }
        let first = documents(orgs[0]);
        if orgs.iter().all(|k| documents(k) == first) {
            return first;
        }
        assert!(
            Instant::now() < deadline,
            "replicas did not converge:\n{}",
            orgs.iter()
                .map(|k| documents(k).to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// Syncs `k` until it has a document titled `title`, or fails after a deadline.
fn sync_until_titled(k: &Kompas, title: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        k.ok(&["sync"]);
        if titles(&documents(k)).iter().any(|t| t == title) {
            return;
        }
        assert!(Instant::now() < deadline, "{title:?} never arrived");
    }
}

fn titles(docs: &Value) -> Vec<String> {
    let mut t: Vec<String> = docs
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["fields"]["titel"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    t.sort();
    t
}

/// A workspace on one relay with three organisations that have all joined and synced.
struct Partnership {
    dir: TempDir,
    relay: Option<RelayProcess>,
    gemeente: Kompas,
    swv: Kompas,
    aanbieder: Kompas,
    ambitie: String,
}

impl Partnership {
    fn new() -> Partnership {
        let dir = TempDir::new().expect("tempdir");
        let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
        let gemeente = org(&dir, "gemeente", "Gemeente Havenstad", "gemeente");
        let swv = org(
            &dir,
            "swv",
            "Samenwerkingsverband Havenstad",
            "samenwerkingsverband",
        );
        let aanbieder = org(&dir, "aanbieder", "Jeugdhulp De Vaart", "aanbieder");
        gemeente.ok(&[
            "workspace",
            "create",
            "Samen voor de jeugd",
            "--relay",
            &relay.url(),
        ]);
        let ambitie = gemeente
            .ok(&[
                "doc",
                "new",
                "ambitie",
                "--set",
                "titel=Meer kinderen gaan graag naar school",
            ])
            .trim()
            .to_string();
        for k in [&swv, &aanbieder] {
            let code = gemeente.invite();
            k.ok(&["workspace", "join", &code]);
        }
        Partnership {
            dir,
            relay: Some(relay),
            gemeente,
            swv,
            aanbieder,
            ambitie,
        }
    }

    fn all(&self) -> [&Kompas; 3] {
        [&self.gemeente, &self.swv, &self.aanbieder]
    }
}

#[test]
fn three_organisations_edit_offline_and_converge_when_the_relay_returns() {
    let mut p = Partnership::new();
    let before = sync_until_converged(&p.all());
    assert_eq!(
        titles(&before),
        vec!["Meer kinderen gaan graag naar school"]
    );
    let members = p.aanbieder.json(&["workspace", "members"]);
    assert_eq!(members["members"].as_array().map(Vec::len), Some(3));

    let relay = p.relay.take().expect("relay");
    let addr = relay.addr;
    relay.kill();

    // Everyone edits the same ambition and adds a document of its own while the relay is down.
    for (k, who) in [
        (&p.gemeente, "gemeente"),
        (&p.swv, "swv"),
        (&p.aanbieder, "aanbieder"),
    ] {
        k.ok(&[
            "doc",
            "set",
            &p.ambitie,
            &format!("toelichting=Aanvulling van {who}."),
        ]);
        k.ok(&[
            "doc",
            "new",
            "ambitie",
            "--set",
            &format!("titel=Ambitie van {who}"),
        ]);
        let stderr = k.fails(7, &["sync", "--timeout", "20"]);
        assert!(stderr.contains("onvolledig"), "{stderr}");
    }

    let restarted = RelayProcess::start(
        &p.dir.path().join("relay"),
        &["--listen", &addr.to_string()],
    );
    assert_eq!(restarted.addr, addr);
    let after = sync_until_converged(&p.all());
    assert_eq!(
        titles(&after),
        vec![
            "Ambitie van aanbieder",
            "Ambitie van gemeente",
            "Ambitie van swv",
            "Meer kinderen gaan graag naar school",
        ]
    );
    // Identical heads and content on all three replicas (compared whole above); the shared
    // ambition holds one merged explanation.
    let shared = p.swv.json(&["doc", "show", &p.ambitie]);
    let text = shared["fields"]["toelichting"]
        .as_str()
        .expect("merged text");
    assert!(text.contains("Aanvulling van"), "{text}");
    for k in p.all() {
        assert_eq!(k.json(&["doc", "show", &p.ambitie]), shared);
    }
}

#[test]
fn a_removed_member_reads_nothing_new_and_its_bundles_are_refused() {
    let p = Partnership::new();
    sync_until_converged(&p.all());

    let removed = p
        .gemeente
        .json(&["workspace", "remove", "Jeugdhulp De Vaart"]);
    assert_eq!(removed["synced"], Value::Bool(true));
    assert_eq!(removed["epoch"], Value::from(1));
    p.gemeente
        .ok(&["doc", "new", "ambitie", "--set", "titel=Na de verwijdering"]);
    p.gemeente.ok(&["sync"]);

    // The removed organisation is turned away and receives nothing written afterwards.
    let stderr = p.aanbieder.fails(7, &["sync", "--timeout", "20"]);
    assert!(stderr.contains("verwijderd"), "{stderr}");
    assert!(!titles(&documents(&p.aanbieder)).contains(&"Na de verwijdering".to_string()));

    // What it writes now never reaches the others.
    p.aanbieder.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Na verwijdering van de aanbieder",
    ]);
    p.aanbieder.fails(7, &["sync", "--timeout", "20"]);

    let remaining = sync_until_converged(&[&p.gemeente, &p.swv]);
    let t = titles(&remaining);
    assert!(t.contains(&"Na de verwijdering".to_string()), "{t:?}");
    assert!(
        !t.contains(&"Na verwijdering van de aanbieder".to_string()),
        "{t:?}"
    );
    let members = p.swv.json(&["workspace", "members"]);
    assert_eq!(members["members"].as_array().map(Vec::len), Some(2));
    assert_eq!(members["epoch"], Value::from(1));
}

#[test]
fn organisations_on_two_mirroring_relays_converge() {
    let dir = TempDir::new().expect("tempdir");
    let mirror_data = dir.path().join("relay-b");
    let mirror_key = relay_key(&mirror_data);
    let upstream = RelayProcess::start(
        &dir.path().join("relay-a"),
        &["--allow-mirror", &mirror_key],
    );
    let mirror = RelayProcess::start(&mirror_data, &["--mirror", &upstream.url()]);

    let gemeente = org(&dir, "gemeente", "Gemeente Havenstad", "gemeente");
    let aanbieder = org(&dir, "aanbieder", "Jeugdhulp De Vaart", "aanbieder");
    gemeente.ok(&["workspace", "create", "Samen", "--relay", &upstream.url()]);
    gemeente.ok(&["doc", "new", "ambitie", "--set", "titel=Van de gemeente"]);
    // A workflow definition only the coordinator has on disk travels pinned in the instance.
    let own = dir.path().join("werkwijzen");
    std::fs::create_dir_all(&own).expect("workflow dir");
    let builtin = std::fs::read_to_string(
        kompas_tests::workspace_root().join("workflows/verbeteracties.yaml"),
    )
    .expect("built-in workflow");
    let renamed = builtin
        .replacen("naam: verbeteracties", "naam: eigen-acties", 1)
        .replacen(
            "titel: Verbeteracties volgen",
            "titel: Onze eigen acties",
            1,
        );
    std::fs::write(own.join("eigen-acties.yaml"), renamed).expect("write workflow");
    let own_dir = own.to_string_lossy().to_string();
    gemeente.ok(&[
        "--workflows",
        &own_dir,
        "flow",
        "start",
        "eigen-acties",
        "--title",
        "Acties 2027",
    ]);
    let code = gemeente.invite();
    aanbieder.ok(&["workspace", "join", &code]);
    // From now on the provider talks to the mirror only.
    aanbieder.ok(&["workspace", "relays", "add", &mirror.url()]);
    aanbieder.ok(&["workspace", "relays", "remove", &upstream.url()]);
    let relays = aanbieder.json(&["workspace", "relays", "list"]);
    assert_eq!(relays["relays"], serde_json::json!([mirror.url()]));
    aanbieder.ok(&["doc", "new", "ambitie", "--set", "titel=Van de aanbieder"]);

    let docs = sync_until_converged(&[&gemeente, &aanbieder]);
    assert_eq!(titles(&docs), vec!["Van de aanbieder", "Van de gemeente"]);
    let flows = aanbieder.json(&["flow", "list"]);
    assert_eq!(flows[0]["definition"]["name"], "eigen-acties", "{flows}");
    assert_eq!(flows[0]["definition_title"], "Onze eigen acties");
    assert_eq!(
        flows,
        gemeente.json(&["--workflows", &own_dir, "flow", "list"])
    );
}

#[test]
fn a_watching_replica_sends_what_waited_and_receives_changes_live() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let p = Partnership::new();
    sync_until_converged(&p.all());
    // Written while nobody synced: it waits in the queue and goes out when the watch starts.
    p.gemeente.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Gemaakt voor het kijken",
    ]);

    let mut watch = p
        .gemeente
        .command(&["sync", "--watch", "--timeout", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kompas sync --watch starts");
    // Progress lines are read on a thread, so the watcher never blocks on a full pipe.
    let stderr = watch.stderr.take().expect("stderr");
    let (line_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });

    // The waiting document reaches the others through the watching process.
    sync_until_titled(&p.swv, "Gemaakt voor het kijken");

    // A change made elsewhere shows up in the watching process as it arrives.
    let id = p
        .swv
        .ok(&["doc", "new", "ambitie", "--set", "titel=Live ontvangen"])
        .trim()
        .to_string();
    p.swv.ok(&["sync"]);
    let wanted = format!("ontvangen: wijziging in {id}");
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("never saw {wanted:?}; saw {seen:?}"));
        if line.contains(&wanted) {
            break;
        }
        seen.push(line);
    }
    assert!(
        seen.iter().all(|l| !l.contains("GEWEIGERD")),
        "refusals while watching: {seen:?}"
    );

    // Other commands keep working on the watched data directory: the watcher lends it to them,
    // then sends what they saved without anyone running `kompas sync` here.
    assert!(titles(&documents(&p.gemeente)).contains(&"Live ontvangen".to_string()));
    p.gemeente.ok(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Gemaakt terwijl de sync meekijkt",
    ]);
    sync_until_titled(&p.swv, "Gemaakt terwijl de sync meekijkt");
    // A knock left by a command that was stopped while it waited is withdrawn by the watcher,
    // which then keeps watching instead of stepping aside at every look.
    let knock = p.gemeente.data().join("kompas.knock");
    std::fs::write(&knock, b"").expect("a stale knock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while knock.exists() {
        assert!(Instant::now() < deadline, "the stale knock stayed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let id = p
        .swv
        .ok(&["doc", "new", "ambitie", "--set", "titel=Na de oude klop"])
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    p.swv.ok(&["sync"]);
    let wanted = format!("ontvangen: wijziging in {id}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the watcher stopped receiving after the stale knock"));
        if line.contains(&wanted) {
            break;
        }
    }
    assert!(
        titles(&documents(&p.gemeente))
            .iter()
            .any(|t| t == "Na de oude klop")
    );

    // One watcher per data directory.
    let err = p.gemeente.fails(5, &["sync", "--watch", "--timeout", "5"]);
    assert!(err.contains("loopt al een `kompas sync --watch`"), "{err}");
    assert!(
        watch.try_wait().expect("the watcher's status").is_none(),
        "the watcher stopped"
    );
    // A service manager's SIGTERM stops the watcher cleanly: exit 0, and its mark is gone.
    let term = std::process::Command::new("kill")
        .args(["-TERM", &watch.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(term.success());
    let exit = watch.wait().expect("the watcher ends");
    assert!(exit.success(), "the watcher ended with {exit:?}");
    assert!(!p.gemeente.data().join("kompas.watching").exists());
}

#[test]
fn invites_are_single_use_and_can_be_revoked() {
    let dir = TempDir::new().expect("tempdir");
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let gemeente = org(&dir, "gemeente", "Gemeente Havenstad", "gemeente");
    let swv = org(
        &dir,
        "swv",
        "Samenwerkingsverband Havenstad",
        "samenwerkingsverband",
    );
    let aanbieder = org(&dir, "aanbieder", "Jeugdhulp De Vaart", "aanbieder");
    gemeente.ok(&["workspace", "create", "Samen", "--relay", &relay.url()]);

    let used = gemeente.invite();
    swv.ok(&["workspace", "join", &used]);
    let stderr = aanbieder.fails(7, &["workspace", "join", &used]);
    assert!(stderr.contains("al gebruikt"), "{stderr}");

    let revoked = gemeente.invite();
    gemeente.ok(&["workspace", "revoke", &revoked]);
    let stderr = aanbieder.fails(7, &["workspace", "join", &revoked]);
    assert!(stderr.contains("ingetrokken"), "{stderr}");

    let last = if revoked.ends_with('0') { '1' } else { '0' };
    let damaged = format!("{}{last}", &revoked[..revoked.len() - 1]);
    let stderr = aanbieder.fails(3, &["workspace", "join", &damaged]);
    assert!(stderr.contains("beschadigd"), "{stderr}");

    // The refusals left the provider free to join with a good invite.
    let good = gemeente.invite();
    aanbieder.ok(&["workspace", "join", &good]);
    gemeente.ok(&["sync"]);
    let members = gemeente.json(&["workspace", "members"]);
    assert_eq!(members["members"].as_array().map(Vec::len), Some(3));
}

/// The public key `kompas whoami --json` shows, checked against its human output.
fn public_key(k: &Kompas) -> String {
    let key = k.json(&["whoami"])["public_key"]
        .as_str()
        .expect("whoami shows the public key")
        .to_string();
    assert_eq!(key.len(), 64, "{key}");
    assert!(k.ok(&["whoami"]).contains(&key), "human whoami lacks {key}");
    key
}

#[test]
fn a_relay_with_an_allow_list_creates_workspaces_only_for_the_organisations_on_it() {
    let dir = TempDir::new().expect("tempdir");
    let gemeente = org(&dir, "gemeente", "Gemeente Havenstad", "gemeente");
    let school = org(&dir, "school", "Stichting Onderwijs Havenstad", "onderwijs");
    let own = public_key(&gemeente);
    let other = public_key(&school);
    assert_ne!(own, other);

    // A relay that lets only another organisation create workspaces refuses, and says what to do.
    let mut closed = RelayProcess::start(&dir.path().join("closed"), &["--allow-create", &other]);
    let stderr = gemeente.fails(
        7,
        &["workspace", "create", "Samen", "--relay", &closed.url()],
    );
    for part in [
        "Samen is niet aangemaakt",
        "vraag de beheerder",
        "--allow-create",
        "kompas whoami",
        own.as_str(),
    ] {
        assert!(stderr.contains(part), "{part:?} missing from:\n{stderr}");
    }
    assert!(closed.is_running());
    // Nothing half-made stays behind: the same command can be run again.
    assert!(gemeente.json(&["whoami"]).get("workspace").is_none());

    // Listed by its own key, it creates the workspace; an organisation that is not listed still
    // joins it by invite.
    let open = RelayProcess::start(&dir.path().join("open"), &["--allow-create", &own]);
    let created = gemeente.json(&["workspace", "create", "Samen", "--relay", &open.url()]);
    assert_eq!(created["synced"], true, "{created}");
    school.ok(&["workspace", "join", &gemeente.invite()]);
    assert_eq!(school.json(&["whoami"])["workspace"]["role"], "partner");
}
