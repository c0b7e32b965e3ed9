//! kompas's `.automerge` files read right by the JavaScript Automerge library, and changes made
//! there read right by kompas: change times in seconds both ways, and a change without a kompas
//! note shown as made outside kompas.
//!
//! The test installs `@automerge/automerge` from the npm registry into its own temporary folder
//! and fails (it does not skip) when node or npm is missing.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use kompas_tests::Kompas;

/// Reads a file and prints its history; or loads one, edits a field and saves it elsewhere.
const SCRIPT: &str = r#"
import * as A from "@automerge/automerge";
import { readFileSync, writeFileSync } from "node:fs";
const [mode, input, output] = process.argv.slice(2);
const doc = A.load(new Uint8Array(readFileSync(input)));
if (mode === "read") {
  const history = A.getHistory(doc).map((s) => ({ time: s.change.time, message: s.change.message }));
  console.log(JSON.stringify({ history, fields: doc.fields }));
} else {
  const edited = A.change(doc, (d) => {
    A.updateText(d, ["fields", "toelichting"], "Bewerkt met een ander programma.");
  });
  writeFileSync(output, A.save(edited));
}
"#;

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Runs a program in `dir`, insisting it exists and succeeds; returns its standard output.
fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is needed for this test (install Node.js and npm): {e}")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_export_reads_right_in_javascript_and_a_change_made_there_comes_back_dated() {
    let tmp = tempfile::tempdir().unwrap();
    let js = tmp.path().join("js");
    std::fs::create_dir(&js).unwrap();
    std::fs::write(
        js.join("package.json"),
        r#"{ "private": true, "type": "module" }"#,
    )
    .unwrap();
    std::fs::write(js.join("roundtrip.mjs"), SCRIPT).unwrap();
    run(
        &js,
        "npm",
        &[
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "@automerge/automerge@3",
        ],
    );

    let k = Kompas::organisation(tmp.path(), "havenstad", "Gemeente Havenstad", "gemeente");
    let id = k.json(&[
        "doc",
        "new",
        "ambitie",
        "--set",
        "titel=Meer kinderen sporten",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    k.ok(&["doc", "set", &id, "toelichting=Samen met de verenigingen."]);
    let exported = tmp.path().join("ambitie.automerge");
    k.ok(&["doc", "export", &id, exported.to_str().unwrap()]);

    // The JavaScript library sees kompas's changes at today's date, in seconds.
    let read: serde_json::Value = serde_json::from_str(&run(
        &js,
        "node",
        &["roundtrip.mjs", "read", exported.to_str().unwrap()],
    ))
    .unwrap();
    let history = read["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{read}");
    let now = now_seconds();
    for change in history {
        let time = change["time"].as_i64().unwrap();
        assert!(
            (now - 3600..=now + 60).contains(&time),
            "change time {time}, now {now}: {read}"
        );
        assert!(
            change["message"]
                .as_str()
                .unwrap()
                .contains("Gemeente Havenstad"),
            "{read}"
        );
    }
    assert_eq!(read["fields"]["titel"], "Meer kinderen sporten");

    // A change made there comes back with its date and without a kompas author.
    let edited = tmp.path().join("bewerkt.automerge");
    run(
        &js,
        "node",
        &[
            "roundtrip.mjs",
            "edit",
            exported.to_str().unwrap(),
            edited.to_str().unwrap(),
        ],
    );
    let elsewhere = Kompas::organisation(
        tmp.path(),
        "elders",
        "Jeugdhulp Noord",
        "jeugdhulpaanbieder",
    );
    elsewhere.ok(&["doc", "import", edited.to_str().unwrap()]);
    let shown = elsewhere.json(&["doc", "show", &id]);
    assert_eq!(
        shown["fields"]["toelichting"],
        "Bewerkt met een ander programma."
    );
    let history = elsewhere.json(&["doc", "history", &id]);
    let entries = history.as_array().unwrap();
    assert_eq!(entries.len(), 3, "{history}");
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
        .strftime("%Y-%m-%d")
        .to_string();
    let human = elsewhere.ok(&["doc", "history", &id]);
    let lines: Vec<&str> = human.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(lines.len(), 3, "{human}");
    for line in &lines[..2] {
        assert!(line.contains("Gemeente Havenstad"), "{human}");
    }
    assert!(lines[2].contains("buiten kompas gemaakt"), "{human}");
    for line in &lines {
        assert!(line.starts_with(&today), "{human}");
    }
    assert!(entries[2].get("org").is_none(), "{history}");
}
