//! Messages that say what happened: one test per situation a user met, each asserting the exit
//! code and the Dutch text.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use kompas_engine::Store;
use kompas_tests::relay::RelayProcess;
use kompas_tests::{Kompas, open_data_dir};

fn initialised(dir: &tempfile::TempDir) -> Kompas {
    Kompas::organisation(dir.path(), "havenstad", "Gemeente Havenstad", "gemeente")
}

#[test]
fn a_folder_never_initialised_says_the_init_command_with_its_data_option() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::new(dir.path().join("andere-map"));
    let err = k.fails(5, &["doc", "list"]);
    let data = k.data().display().to_string();
    assert!(
        err.contains(&format!(
            "kompas --data {data} init --org NAAM --type SOORT"
        )),
        "{err}"
    );
    assert!(err.contains("kompas init --help"), "{err}");
}

#[test]
fn the_full_word_jeugdhulpaanbieder_is_accepted_as_a_type() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::organisation(
        dir.path(),
        "vaart",
        "Jeugdhulp De Vaart",
        "jeugdhulpaanbieder",
    );
    assert_eq!(k.json(&["whoami"])["type"], "aanbieder");
    let help = k.ok(&["init", "--help"]);
    assert!(help.contains("jeugdhulpaanbieder"), "{help}");
}

#[test]
fn a_damaged_marker_file_is_reported_as_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir);
    std::fs::write(k.data().join("kompas.json"), b"{\"kompas\": \"data-d").unwrap();
    let err = k.fails(5, &["doc", "list"]);
    assert!(err.contains("kompas.json is beschadigd"), "{err}");
    assert!(!err.contains("er staat geen kompas.json in"), "{err}");
}

#[test]
fn a_store_cut_short_exits_with_the_data_directory_code() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir);
    let id = k.json(&["doc", "new", "ambitie", "--set", "titel=Sport"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    {
        let data = open_data_dir(k.data());
        let store = data.sole_store().unwrap();
        let whole = store.load(&id).unwrap().unwrap().load().unwrap().save();
        store
            .replace_with_snapshot(&id, &whole[..whole.len() / 2], b"")
            .unwrap();
    }
    let err = k.fails(5, &["doc", "show", &id]);
    assert!(err.contains("opgeslagen gegevens zijn beschadigd"), "{err}");
}

#[test]
fn a_workflow_file_that_is_not_utf8_is_refused_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir);
    let file = dir.path().join("latin1.yaml");
    std::fs::write(&file, b"name: eigen\ntitle: caf\xe9\n").unwrap();
    let run = k.run(&["workflow", "check", file.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains(&format!("{}:2:11", file.display())), "{all}");
    assert!(all.contains("geen UTF-8-tekst"), "{all}");
}

#[test]
fn an_unknown_instance_is_no_workflow_instance() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir);
    let err = k.fails(4, &["flow", "status", "abcdefghjkmn"]);
    assert!(err.contains("geen werkstroom met id abcdefghjkmn"), "{err}");
}

#[test]
fn an_empty_title_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir);
    let err = k.fails(3, &["flow", "start", "kwaliteitskompas", "--title", " "]);
    assert!(err.contains("de titel mag niet leeg zijn"), "{err}");
    assert_eq!(k.json(&["flow", "list"]), serde_json::json!([]));
}

#[test]
fn flow_status_suggests_the_role_option_it_takes() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayProcess::start(&dir.path().join("relay"), &[]);
    let k = initialised(&dir);
    let swv = Kompas::organisation(
        dir.path(),
        "swv",
        "Samenwerkingsverband Havenstad",
        "samenwerkingsverband",
    );
    k.ok(&["workspace", "create", "Samen", "--relay", &relay.url()]);
    let code = k.invite();
    swv.ok(&["workspace", "join", &code]);
    k.ok(&["sync"]);
    let id = k.json(&["flow", "start", "kwaliteitskompas"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let human = k.ok(&["flow", "status", &id]);
    let hint = format!("(kompas flow join {id} --role ROL)");
    assert!(human.contains(&hint), "{human}");
    // And the hint works as written.
    k.ok(&["sync"]);
    swv.ok(&["sync"]);
    swv.ok(&["flow", "join", &id, "--role", "partner"]);
}

#[test]
fn an_area_without_figures_is_refused_alike_by_show_compare_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir);
    let fixtures = kompas_tests::workspace_root().join("cli/fixtures");
    k.ok(&[
        "figures",
        "import",
        fixtures
            .join("jeugdhulp-gemeenten-synthetisch.csv")
            .to_str()
            .unwrap(),
        "--indicator",
        "jeugdhulp",
        "--mapping",
        fixtures.join("jeugdhulp-mapping.json").to_str().unwrap(),
    ]);
    let svg = dir.path().join("grafiek.svg");
    for args in [
        vec!["figures", "show", "jeugdhulp", "--area", "GM0363"],
        vec!["figures", "compare", "jeugdhulp", "--area", "GM0363"],
        vec![
            "figures",
            "chart",
            "jeugdhulp",
            "--area",
            "GM0363",
            "--out",
            svg.to_str().unwrap(),
        ],
    ] {
        let err = k.fails(3, &args);
        assert!(
            err.contains("er zijn geen cijfers van GM0363"),
            "{args:?}: {err}"
        );
    }
    k.ok(&["figures", "show", "jeugdhulp", "--area", "GM9901"]);
}
