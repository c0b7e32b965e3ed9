//! End-to-end tests of `kompas init` and `kompas doc ...`, each step in a new process.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use kompas_tests::{Kompas, open_data_dir};

fn initialised(dir: &tempfile::TempDir, name: &str, org: &str) -> Kompas {
    let k = Kompas::new(dir.path().join(name));
    k.ok(&["init", "--org", org, "--type", "gemeente"]);
    k
}

fn new_doc(k: &Kompas, args: &[&str]) -> String {
    let mut all = vec!["doc", "new"];
    all.extend_from_slice(args);
    k.json(&all)["id"].as_str().unwrap().to_string()
}

#[test]
fn create_set_and_show_in_separate_processes() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir, "zwolle", "Gemeente Zwolle");
    let id = new_doc(&k, &["ambitie", "--set", "titel=Meer kinderen sporten"]);
    k.ok(&[
        "doc",
        "set",
        &id,
        "toelichting=Samen met de sportverenigingen.",
        "titel=Meer kinderen sporten wekelijks",
    ]);
    let shown = k.json(&["doc", "show", &id]);
    assert_eq!(shown["kind"], "ambitie");
    assert_eq!(shown["fields"]["titel"], "Meer kinderen sporten wekelijks");
    assert_eq!(
        shown["fields"]["toelichting"],
        "Samen met de sportverenigingen."
    );
    let human = k.ok(&["doc", "show", &id]);
    assert!(
        human.contains("Titel (titel): Meer kinderen sporten wekelijks"),
        "{human}"
    );
    let list = k.json(&["doc", "list", "--kind", "ambitie"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[test]
fn history_names_the_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir, "zwolle", "Gemeente Zwolle");
    let id = new_doc(&k, &["ambitie", "--set", "titel=Eerste"]);
    k.ok(&["doc", "set", &id, "titel=Tweede"]);
    let history = k.json(&["doc", "history", &id]);
    let entries = history.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for e in entries {
        assert_eq!(e["org"], "Gemeente Zwolle");
        assert!(e["actor"].as_str().unwrap().len() == 32);
    }
    assert_eq!(entries[1]["changes"][0], "titel = \"Tweede\"");
    let human = k.ok(&["doc", "history", &id]);
    assert!(
        human.contains("Gemeente Zwolle") && human.contains("titel = \"Tweede\""),
        "{human}"
    );
}

#[test]
fn export_then_import_elsewhere_gives_the_same_document() {
    let dir = tempfile::tempdir().unwrap();
    let a = initialised(&dir, "a", "Gemeente A");
    let b = initialised(&dir, "b", "Jeugdhulp B");
    let id = new_doc(
        &a,
        &[
            "evaluatie",
            "--set",
            "datum=2026-11-01",
            "--set",
            "bevindingen=Het gaat beter.",
        ],
    );
    let file = dir.path().join("evaluatie.automerge");
    a.ok(&["doc", "export", &id, file.to_str().unwrap()]);
    let imported = b.json(&["doc", "import", file.to_str().unwrap()]);
    assert_eq!(imported["created"], id.as_str());
    assert_eq!(a.json(&["doc", "show", &id]), b.json(&["doc", "show", &id]));
    // Importing again merges and changes nothing.
    let again = b.json(&["doc", "import", file.to_str().unwrap()]);
    assert_eq!(again["merged"], id.as_str());
    assert_eq!(a.json(&["doc", "show", &id]), b.json(&["doc", "show", &id]));
    // Export refuses to overwrite an existing file.
    let err = a.fails(3, &["doc", "export", &id, file.to_str().unwrap()]);
    assert!(err.contains("bestaat al"), "{err}");
}

#[test]
fn delete_keeps_a_tombstone() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir, "zwolle", "Gemeente Zwolle");
    let id = new_doc(&k, &["ambitie", "--set", "titel=Tijdelijk"]);
    k.ok(&["doc", "delete", &id]);
    assert_eq!(k.json(&["doc", "list"]).as_array().unwrap().len(), 0);
    assert_eq!(
        k.json(&["doc", "list", "--deleted"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let history = k.json(&["doc", "history", &id]);
    assert_eq!(
        history.as_array().unwrap().last().unwrap()["changes"][0],
        "verwijderd"
    );
    let err = k.fails(3, &["doc", "set", &id, "titel=Terug"]);
    assert!(err.contains("verwijderd"), "{err}");
}

#[test]
fn a_second_process_gets_a_clear_error_while_the_store_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir, "zwolle", "Gemeente Zwolle");
    let held = open_data_dir(k.data());
    let err = k.fails(5, &["doc", "list"]);
    assert!(
        err.contains("in gebruik door een ander kompas-proces"),
        "{err}"
    );
    drop(held);
    k.ok(&["doc", "list"]);
}

#[test]
fn a_command_waits_a_moment_for_another_that_is_about_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir, "zwolle", "Gemeente Zwolle");
    let held = open_data_dir(k.data());
    let second = k
        .command(&["doc", "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    drop(held);
    let out = second.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let k = initialised(&dir, "zwolle", "Gemeente Zwolle");
    let id = new_doc(&k, &["ambitie", "--set", "titel=Vast"]);
    let before = k.json(&["doc", "list", "--deleted"]);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["doc", "new", "droom", "--set", "titel=x"],
            3,
            "onbekende documentsoort \"droom\"",
        ),
        (
            &["doc", "set", &id, "kleur=rood"],
            3,
            "heeft geen veld \"kleur\"",
        ),
        (&["doc", "set", &id, "titel"], 3, "schrijf VELD=WAARDE"),
        (
            &["doc", "set", &id, "titel=ok", "=leeg"],
            3,
            "schrijf VELD=WAARDE",
        ),
        (
            &[
                "doc",
                "new",
                "maatschappelijk-resultaat",
                "--set",
                "nulmeting=veel",
            ],
            3,
            "veld nulmeting",
        ),
        (
            &[
                "doc",
                "new",
                "maatschappelijk-resultaat",
                "--set",
                "streefwaarde=veel",
            ],
            3,
            "veld streefwaarde",
        ),
        (
            &["doc", "new", "evaluatie", "--set", "datum=31-02-2026"],
            3,
            "geen datum",
        ),
        (
            &["doc", "show", "bestaatniet"],
            4,
            "geen document met id bestaatniet",
        ),
        (&["doc", "show", "Geen Id"], 3, "geen geldig document-id"),
    ];
    for (args, code, expected) in cases {
        let err = k.fails(*code, args);
        assert!(
            err.contains(expected),
            "kompas {args:?}: expected {expected:?} in:\n{err}"
        );
        assert!(
            err.lines().count() <= 2,
            "error should be one or two sentences:\n{err}"
        );
    }
    let corrupt = dir.path().join("kapot.automerge");
    std::fs::write(&corrupt, b"\x85o\x4a\x83 dit is geen automerge").unwrap();
    let err = k.fails(3, &["doc", "import", corrupt.to_str().unwrap()]);
    assert!(
        err.contains("kapot.automerge") && err.contains("geen Automerge-bestand"),
        "{err}"
    );
    assert_eq!(
        k.json(&["doc", "list", "--deleted"]),
        before,
        "refused input must change nothing"
    );
}

#[test]
fn a_directory_that_is_not_ours_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foto's");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("vakantie.jpg"), b"jpeg").unwrap();
    let k = Kompas::new(&foreign);
    let err = k.fails(5, &["doc", "list"]);
    assert!(err.contains("geen kompas-map"), "{err}");
    let err = k.fails(5, &["init", "--org", "Gemeente X"]);
    assert!(err.contains("niet leeg"), "{err}");
    let names: Vec<_> = std::fs::read_dir(&foreign)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("vakantie.jpg")]);
    let missing = Kompas::new(dir.path().join("leeg"));
    let err = missing.fails(5, &["doc", "list"]);
    assert!(err.contains("kompas init"), "{err}");
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::new(dir.path().join("x"));
    k.fails(2, &["doc", "vliegen"]);
    let help = k.ok(&["--help"]);
    assert!(help.contains("Afsluitcodes"), "{help}");
}

#[test]
fn demo_builds_three_converged_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let k = Kompas::new(dir.path().join("unused"));
    let demo_dir = dir.path().join("demo");
    let report = k.json(&["demo", "--dir", demo_dir.to_str().unwrap()]);
    assert_eq!(report["converged"], true);
    let orgs = report["organisations"].as_array().unwrap();
    assert_eq!(orgs.len(), 3);
    let shared = report["shared_ambition"].as_str().unwrap();
    let gemeente = Kompas::new(demo_dir.join("gemeente"));
    let history = gemeente.json(&["doc", "history", shared]);
    let authors: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["org"].as_str().unwrap().to_string())
        .collect();
    assert!(
        authors.len() >= 2 && authors[0] != authors[1],
        "{authors:?}"
    );
    // The way of working the municipality published is in force at the provider too.
    assert_eq!(report["definition_everywhere"], true);
    let provider = Kompas::new(demo_dir.join("aanbieder"));
    let ways = provider.json(&["workflow", "list"]);
    let kompas = ways
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "kwaliteitskompas")
        .unwrap();
    assert_eq!(kompas["source"]["by"], "Gemeente Havenstad", "{kompas}");
    // The content holds together: the societal result is measured by an indicator the demo
    // read in, in its unit; the state of the youth lists the latest figures; every document
    // has something to show in the list.
    let results = gemeente.json(&["doc", "list", "--kind", "maatschappelijk-resultaat"]);
    let result = &results[0]["fields"];
    assert_eq!(result["indicator"], "thuiszitters", "{result}");
    let figures = gemeente.json(&["figures", "show", "thuiszitters", "--area", "GM9901"]);
    assert_eq!(figures["indicator"]["unit"], "per-1000", "{figures}");
    let baseline = result["nulmeting"].as_f64().unwrap();
    assert!(baseline > 0.0 && baseline < 20.0, "{result}");
    let state = gemeente.json(&["doc", "list", "--kind", "staat-van-de-jeugd"]);
    let listed: Vec<&str> = state[0]["fields"]["cijfers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["indicator"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["jeugdhulp", "thuiszitters"], "{state}");
    let list = gemeente.ok(&["doc", "list"]);
    for line in list.lines() {
        let columns: Vec<&str> = line.split("  ").filter(|c| !c.trim().is_empty()).collect();
        assert!(
            columns.len() >= 3,
            "a document without a title in the list: {line:?}\n{list}"
        );
    }
    let text = k.ok(&["demo", "--dir", demo_dir.to_str().unwrap()]);
    assert!(
        text.contains("figures show thuiszitters --area GM9901"),
        "{text}"
    );
    // Running the demo again replaces the earlier demo.
    k.json(&["demo", "--dir", demo_dir.to_str().unwrap()]);
}
