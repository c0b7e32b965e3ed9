//! The budget of one document, end to end: an `.automerge` file holding far more changes than a
//! document may have is refused by `kompas doc import` with exit code 3 and a Dutch message,
//! before Automerge builds it, so the process stays small and the store is untouched.
#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::process::Command;

use kompas_engine::DocId;
use kompas_engine::document::DOCUMENT_BUDGET;
use kompas_tests::bomb::{change_bomb, peak_mib};
use kompas_tests::{Kompas, binary};

#[test]
fn an_import_past_the_change_budget_is_refused_small_and_leaves_the_store_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let k = Kompas::organisation(tmp.path(), "havenstad", "Gemeente Havenstad", "gemeente");
    let bomb = change_bomb(
        &DocId::parse("0123456789abcdef").unwrap(),
        DOCUMENT_BUDGET.changes + 50_000,
    );
    assert!(
        bomb.len() < 2 * 1024 * 1024,
        "the file is small: {} bytes",
        bomb.len()
    );
    let file = tmp.path().join("bom.automerge");
    std::fs::write(&file, &bomb).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_max-rss"))
        .arg(binary("kompas"))
        .arg("--data")
        .arg(k.data())
        .args(["doc", "import"])
        .arg(&file)
        .env_clear()
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("het document is te groot: meer dan 100000 wijzigingen"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bom.automerge is niet ingelezen"),
        "{stderr}"
    );
    // Loading this history takes Automerge hundreds of MiB; refusing it takes what kompas
    // needs to start (a debug build), with room to spare.
    let peak = peak_mib(&stderr);
    eprintln!(
        "peak memory while refusing {} bytes: {peak} MiB",
        bomb.len()
    );
    assert!(peak < 150, "kompas held {peak} MiB while refusing the file");

    // Nothing was stored, and the store still takes an ordinary import.
    assert_eq!(k.json(&["doc", "list"]), serde_json::json!([]));
    let id = k.json(&["doc", "new", "ambitie", "--set", "titel=Gewoon"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let small = tmp.path().join("klein.automerge");
    k.ok(&["doc", "export", &id, small.to_str().unwrap()]);
    let other = Kompas::organisation(tmp.path(), "elders", "Gemeente Elders", "gemeente");
    other.ok(&["doc", "import", small.to_str().unwrap()]);
}
