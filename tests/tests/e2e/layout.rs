//! The end-to-end tests stay one binary: every file in this folder is a module of `main.rs`, and
//! no test file sits directly in `tests/tests/` (cargo would build it as a binary of its own).

#![allow(clippy::unwrap_used)] // In tests a failed unwrap is a failed test, with its message.

use std::path::Path;

use kompas_tests::workspace_root;

/// The `.rs` files directly in `dir`, without their extension, sorted.
fn rust_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .filter_map(|path| path.file_stem()?.to_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

#[test]
fn every_end_to_end_test_is_a_module_of_the_one_binary() {
    let tests = workspace_root().join("tests").join("tests");
    let strays = rust_files(&tests);
    assert!(
        strays.is_empty(),
        "move {strays:?} from tests/tests/ to tests/tests/e2e/ and add a `mod` line to its main.rs"
    );
    let main = std::fs::read_to_string(tests.join("e2e").join("main.rs")).unwrap();
    let declared: Vec<&str> = main
        .lines()
        .filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';'))
        .collect();
    let missing: Vec<String> = rust_files(&tests.join("e2e"))
        .into_iter()
        .filter(|name| name != "main" && !declared.contains(&name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "tests/tests/e2e/main.rs lacks `mod` lines for {missing:?}"
    );
}

#[test]
fn the_programs_under_test_are_the_ones_cargo_built_for_this_binary() {
    assert_eq!(
        kompas_tests::binary("kompas"),
        Path::new(env!("CARGO_BIN_EXE_e2e-kompas"))
    );
    assert_eq!(
        kompas_tests::binary("kompas-relay"),
        Path::new(env!("CARGO_BIN_EXE_e2e-kompas-relay"))
    );
}
