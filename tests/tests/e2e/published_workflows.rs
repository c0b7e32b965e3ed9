//! End-to-end: a coordinator publishes a workflow definition to the workspace, and it reaches
//! the partners through the relay; publications by anyone else count nowhere. Real `kompas` and
//! `kompas-relay` processes on 127.0.0.1; every wait is a `kompas sync` whose outcome is checked.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use kompas_tests::relay::RelayProcess;
use kompas_tests::{Kompas, sync_until};
use serde_json::Value;
use tempfile::TempDir;

/// Writes a definition derived from a built-in one under a new name and title; returns its path.
fn own_definition(dir: &Path, name: &str, title: &str, version: &str) -> PathBuf {
    let builtin = std::fs::read_to_string(
        kompas_tests::workspace_root().join("workflows/verbeteracties.yaml"),
    )
    .unwrap();
    let text = builtin
        .replacen("naam: verbeteracties", &format!("naam: {name}"), 1)
        .replacen(
            "titel: Verbeteracties volgen",
            &format!("titel: {title}"),
            1,
        );
    let text = match text.lines().find(|l| l.starts_with("versie:")) {
        Some(line) => text.replacen(line, &format!("versie: {version}"), 1),
        None => panic!("the built-in definition has no version line"),
    };
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{name}-{version}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The definitions in force as `kompas workflow list --json` prints them.
fn definitions(k: &Kompas) -> Vec<Value> {
    k.json(&["workflow", "list"]).as_array().unwrap().clone()
}

fn definition<'a>(list: &'a [Value], name: &str) -> Option<&'a Value> {
    list.iter().find(|d| d["name"] == name)
}

struct Workspace {
    dir: TempDir,
    _relay: RelayProcess,
    gemeente: Kompas,
    swv: Kompas,
    aanbieder: Kompas,
}

fn workspace() -> Workspace {
    let dir = TempDir::new().unwrap();
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let gemeente = Kompas::organisation(dir.path(), "gemeente", "Gemeente Havenstad", "gemeente");
    let swv = Kompas::organisation(
        dir.path(),
        "swv",
        "Samenwerkingsverband Havenstad",
        "samenwerkingsverband",
    );
    let aanbieder =
        Kompas::organisation(dir.path(), "aanbieder", "Jeugdhulp De Vaart", "aanbieder");
    gemeente.ok(&["workspace", "create", "Samen", "--relay", &relay.url()]);
    for k in [&swv, &aanbieder] {
        let code = gemeente.invite();
        k.ok(&["workspace", "join", &code]);
    }
    Workspace {
        dir,
        _relay: relay,
        gemeente,
        swv,
        aanbieder,
    }
}

#[test]
fn a_published_definition_reaches_the_partners_who_can_start_it() {
    let w = workspace();
    let files = w.dir.path().join("eigen-werkwijzen");
    let path = own_definition(&files, "wijkaanpak", "Wijkaanpak Havenstad", "1.0.0");
    let path = path.to_str().unwrap();
    assert!(definition(&definitions(&w.swv), "wijkaanpak").is_none());

    let published = w.gemeente.json(&["workflow", "publish", path]);
    assert_eq!(published["name"], "wijkaanpak");
    assert_eq!(published["version"], "1.0.0");
    assert_eq!(published["synced"], true, "{published}");
    let hash = published["hash"].as_str().unwrap().to_string();

    sync_until(&[&w.swv, &w.aanbieder], "partners see wijkaanpak", |k| {
        definition(&definitions(k), "wijkaanpak").is_some()
    });
    let org_id = w.gemeente.json(&["whoami"])["org_id"].clone();
    for k in [&w.swv, &w.aanbieder] {
        let list = definitions(k);
        let d = definition(&list, "wijkaanpak").unwrap();
        assert_eq!(d["title"], "Wijkaanpak Havenstad");
        assert_eq!(d["hash"], hash.as_str());
        assert_eq!(
            d["source"],
            serde_json::json!({"type": "published", "by": "Gemeente Havenstad", "org_id": org_id})
        );
        let human = k.ok(&["workflow", "list"]);
        assert!(
            human.contains("gepubliceerd door Gemeente Havenstad"),
            "{human}"
        );
    }
    // A partner starts an instance of it; the instance pins exactly the published text.
    let started = w
        .swv
        .json(&["flow", "start", "wijkaanpak", "--title", "Wijkaanpak 2027"]);
    let id = started["id"].as_str().unwrap().to_string();
    let status = w.swv.json(&["flow", "status", &id]);
    assert_eq!(status["definition"]["hash"], hash.as_str(), "{status}");
    // Workspace members who have not joined the instance are named.
    let not_joined = status["not_joined"].as_array().unwrap();
    assert!(
        not_joined.contains(&"Gemeente Havenstad".into()),
        "{status}"
    );
    assert!(
        !not_joined.contains(&"Samenwerkingsverband Havenstad".into()),
        "{status}"
    );
    let human = w.swv.ok(&["flow", "status", &id]);
    assert!(
        human.contains("nog niet aangesloten: Gemeente Havenstad, Jeugdhulp De Vaart"),
        "{human}"
    );
    let diagram = w.aanbieder.ok(&["workflow", "diagram", "wijkaanpak"]);
    assert!(
        diagram.contains("flowchart") || diagram.contains("stateDiagram"),
        "{diagram}"
    );

    // Publishing again: the same text is already there; another text needs another version.
    let err = w.gemeente.fails(3, &["workflow", "publish", path]);
    assert!(
        err.contains("al gepubliceerd door deze organisatie"),
        "{err}"
    );
    let changed = own_definition(&files, "wijkaanpak", "Wijkaanpak, herzien", "1.0.0");
    let err = w
        .gemeente
        .fails(3, &["workflow", "publish", changed.to_str().unwrap()]);
    assert!(
        err.contains("al gepubliceerd met een andere inhoud"),
        "{err}"
    );
    assert!(err.contains("verhoog de versie"), "{err}");
    let next = own_definition(&files, "wijkaanpak", "Wijkaanpak, herzien", "1.1.0");
    w.gemeente
        .ok(&["workflow", "publish", next.to_str().unwrap()]);
    // A built-in definition can be published by name.
    w.gemeente.ok(&["workflow", "publish", "kwaliteitskompas"]);
    sync_until(&[&w.swv], "the partner sees version 1.1.0", |k| {
        definition(&definitions(k), "wijkaanpak").is_some_and(|d| d["version"] == "1.1.0")
    });
    let list = definitions(&w.swv);
    assert_eq!(
        definition(&list, "kwaliteitskompas").unwrap()["source"]["type"],
        "published"
    );
    // The running instance keeps the text it started with.
    let status = w.swv.json(&["flow", "status", &id]);
    assert_eq!(status["definition"]["version"], "1.0.0");

    // Each organisation's to-do list: the starter has its turn, the others are asked to look.
    let todo = w.swv.json(&["flow", "todo"]);
    let mine: Vec<&Value> = todo.as_array().unwrap().iter().collect();
    assert!(
        mine.iter()
            .any(|t| t["instance"] == id.as_str() && t["urgency"] == "on-time"),
        "{todo}"
    );
    sync_until(&[&w.gemeente], "the municipality has the instance", |k| {
        k.json(&["flow", "list"])
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    let todo = w.gemeente.json(&["flow", "todo"]);
    assert!(
        todo.as_array()
            .unwrap()
            .iter()
            .any(|t| t["instance"] == id.as_str()
                && t["what"]
                    .as_str()
                    .unwrap()
                    .starts_with("nog niet aangesloten")),
        "{todo}"
    );
    let human = w.gemeente.ok(&["flow", "todo"]);
    assert!(
        human.starts_with("Te doen voor Gemeente Havenstad"),
        "{human}"
    );
}

#[test]
fn only_a_current_coordinators_publications_count() {
    let w = workspace();
    let files = w.dir.path().join("eigen-werkwijzen");
    let path = own_definition(&files, "eigen-plan", "Ons eigen plan", "1.0.0");
    let path = path.to_str().unwrap();

    // A partner may not publish.
    let err = w.swv.fails(3, &["workflow", "publish", path]);
    assert!(err.contains("alleen een coördinator"), "{err}");
    // An invalid file is refused with where the problem is.
    let broken = files.join("kapot.yaml");
    std::fs::write(&broken, "naam: kapot\nversie: 1.0.0\nfasen: 12\n").unwrap();
    let err = w
        .gemeente
        .fails(3, &["workflow", "publish", broken.to_str().unwrap()]);
    assert!(err.contains("geen geldige werkwijze"), "{err}");
    assert!(err.contains("kapot.yaml:"), "{err}");
    let missing = files.join("bestaat-niet.yaml");
    let err = w
        .gemeente
        .fails(4, &["workflow", "publish", missing.to_str().unwrap()]);
    assert!(err.contains("bestaat niet"), "{err}");
    // Without a workspace there is nobody to publish to.
    let alone = Kompas::organisation(w.dir.path(), "alleen", "Gemeente Elders", "gemeente");
    let err = alone.fails(3, &["workflow", "publish", path]);
    assert!(err.contains("geen samenwerking"), "{err}");

    // The partner imports a publication made where it is coordinator itself (its own
    // workspace): on its replica the publication is there, but it does not count.
    let relay_url = w.gemeente.json(&["workspace", "relays", "list"])["relays"][0]
        .as_str()
        .unwrap()
        .to_string();
    let own = Kompas::organisation(w.dir.path(), "eigen", "Eigen Stichting", "anders");
    own.ok(&["workspace", "create", "Eigen", "--relay", &relay_url]);
    let made = own.json(&["workflow", "publish", path]);
    let file = w.dir.path().join("gesmokkeld.automerge");
    let id = made["id"].as_str().unwrap();
    own.ok(&["doc", "export", id, file.to_str().unwrap()]);
    w.swv.ok(&["doc", "import", file.to_str().unwrap()]);
    assert!(definition(&definitions(&w.swv), "eigen-plan").is_none());
    let run = w.swv.run(&["workflow", "list"]);
    assert!(
        run.stderr
            .contains("werkwijze eigen-plan 1.0.0 van Eigen Stichting telt niet mee"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("geen coördinator"), "{}", run.stderr);
    let err = w.swv.fails(4, &["flow", "start", "eigen-plan"]);
    assert!(err.contains("onbekende werkwijze"), "{err}");

    // A second coordinator publishes; once it is removed, its publication stops counting for
    // new instances everywhere.
    let tweede = Kompas::organisation(w.dir.path(), "tweede", "Gemeente Buurdorp", "gemeente");
    let code = w
        .gemeente
        .json(&["workspace", "invite", "--role", "coordinator"])["code"]
        .as_str()
        .unwrap()
        .to_string();
    tweede.ok(&["workspace", "join", &code]);
    let other = own_definition(&files, "buurplan", "Plan van Buurdorp", "1.0.0");
    tweede.ok(&["workflow", "publish", other.to_str().unwrap()]);
    sync_until(&[&w.swv, &w.aanbieder], "partners see buurplan", |k| {
        definition(&definitions(k), "buurplan").is_some()
    });
    sync_until(
        &[&w.gemeente],
        "the coordinator knows the new member",
        |k| {
            k.ok(&["workspace", "members"])
                .contains("Gemeente Buurdorp")
        },
    );
    w.gemeente.ok(&["workspace", "remove", "Gemeente Buurdorp"]);
    sync_until(&[&w.swv, &w.aanbieder], "buurplan stops counting", |k| {
        definition(&definitions(k), "buurplan").is_none()
    });
    let run = w.aanbieder.run(&["workflow", "list"]);
    assert!(
        run.stderr.contains(
            "werkwijze buurplan 1.0.0 van Gemeente Buurdorp telt niet mee: Gemeente Buurdorp is geen coördinator"
        ),
        "{}",
        run.stderr
    );
}
