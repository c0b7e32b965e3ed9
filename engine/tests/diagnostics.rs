//! Data-driven diagnostics tests: every `tests/diagnostics/*.yaml` is a broken definition, and the
//! `.expected` file next to it holds the exact diagnostics (`file:line:column: message` + hint).
//! Run with `UPDATE_EXPECT=1` to rewrite the expected files after a deliberate change.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::fs;
use std::path::Path;

use kompas_engine::definition::check;

#[test]
fn broken_definitions_give_the_expected_diagnostics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} fixtures", files.len());
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let source = fs::read_to_string(&path).unwrap();
        let checked = check(&name, &source);
        assert!(checked.definition.is_none(), "{name} has no errors");
        let actual: String = checked
            .diagnostics
            .iter()
            .map(|d| format!("{d}\n"))
            .collect();
        let expected_path = path.with_extension("expected");
        if update {
            fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{name}:\n--- expected\n{expected}--- actual\n{actual}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
