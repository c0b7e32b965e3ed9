//! The invariants of the kinds seam, checked on the engine's own source: the replica knows no
//! kind by name, the workflow language and the seam know no owner of a kind, and a definition
//! that declares a kind the engine owns is told so at the place of its name. Beside them, the
//! layers below sync: the base types import neither sealing nor sync, sealing imports no sync,
//! and the member list imports neither the wire format nor the replication machine.

use std::path::{Path, PathBuf};

use kompas_engine::composition;
use kompas_engine::definition::{self, Severity};
use kompas_engine::kinds::ENGINE_OWNED;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir` with its text, without the unit tests (`tests.rs` files and
/// everything from a `#[cfg(test)]` on), which may name kinds to exercise the code.
fn code_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "tests.rs")
            {
                let text = std::fs::read_to_string(&path).expect("a source file");
                let code = match text.find("#[cfg(test)]") {
                    Some(at) => text[..at].to_string(),
                    None => text,
                };
                out.push((path, code));
            }
        }
    }
    assert!(!out.is_empty(), "no source under {}", dir.display());
    out
}

/// Whether `code` refers to the crate module `module` (by path or in a grouped `use`).
fn refers_to(code: &str, module: &str) -> bool {
    let by_path = format!("crate::{module}");
    if code.contains(&by_path) {
        return true;
    }
    code.match_indices("crate::{").any(|(at, _)| {
        let group = &code[at..];
        let group = &group[..group.find('}').unwrap_or(group.len())];
        group
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .any(|word| word == module)
    })
}

#[test]
fn the_replica_knows_no_kind_by_name() {
    let builtin = composition::builtin().catalog();
    let mut names: Vec<String> = ENGINE_OWNED.iter().map(|k| k.to_string()).collect();
    names.extend(builtin.kinds().map(|k| k.name.clone()));
    assert!(
        names.len() > ENGINE_OWNED.len(),
        "no built-in kinds: {names:?}"
    );
    for (path, code) in code_under(&src().join("replica")) {
        for name in &names {
            for literal in [format!("\"{name}\""), format!("\"{name}-")] {
                assert!(
                    !code.contains(&literal),
                    "{} writes the kind name {literal}",
                    path.display()
                );
            }
        }
        for owner in [
            "runtime",
            "published",
            "figures",
            "report",
            "definition",
            "composition",
        ] {
            assert!(
                !refers_to(&code, owner),
                "{} refers to crate::{owner}",
                path.display()
            );
        }
        assert!(
            !code.contains("_KIND"),
            "{} names a kind constant",
            path.display()
        );
    }
}

#[test]
fn the_definition_language_knows_no_owner() {
    for (path, code) in code_under(&src().join("definition")) {
        for owner in [
            "runtime",
            "published",
            "figures",
            "replica",
            "report",
            "composition",
        ] {
            assert!(
                !refers_to(&code, owner),
                "{} refers to crate::{owner}",
                path.display()
            );
        }
    }
}

#[test]
fn the_seam_and_the_catalog_sit_below_every_owner() {
    for file in ["kinds.rs", "catalog.rs"] {
        let code = std::fs::read_to_string(src().join(file)).expect("a source file");
        for module in [
            "runtime",
            "published",
            "figures",
            "definition",
            "replica",
            "report",
            "composition",
            "sync",
        ] {
            // The module notes may name the owners; the code may not use them.
            let code: String = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                !refers_to(&code, module),
                "{file} refers to crate::{module}"
            );
        }
    }
}

#[test]
fn a_definition_declaring_an_engine_kind_is_told_where() {
    for name in ENGINE_OWNED {
        let text = format!(
            "naam: eigen\nversie: 1.0.0\ntitel: Eigen werkwijze\nsoorten:\n  - naam: notitie\n    label: Notitie\n    velden:\n      - naam: titel\n        type: tekst\n  - naam: {name}\n    label: Eigen\n    velden:\n      - naam: titel\n        type: tekst\nfasen:\n  - naam: begin\n    titel: Begin\n    soorten: [notitie]\n    eind: true\n"
        );
        let checked = definition::check("eigen.yaml", &text);
        assert!(checked.definition.is_none(), "{name} was accepted");
        let found: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error && d.message.contains("voorbehouden"))
            .collect();
        assert_eq!(found.len(), 1, "{name}: {:?}", checked.diagnostics);
        let d = found[0];
        assert_eq!(d.file, "eigen.yaml");
        assert_eq!(
            (d.position.line, d.position.column),
            (10, 11),
            "{name}: {d:?}"
        );
        assert!(d.message.contains(name), "{d:?}");
    }
}

#[test]
fn the_base_types_sit_below_sealing_the_member_list_and_the_wire() {
    let layers: [(&str, &[&str]); 3] = [
        ("base", &["seal", "sync"]),
        ("seal", &["sync"]),
        ("sync/membership", &["sync::wire", "sync::replication"]),
    ];
    let mut found = Vec::new();
    for (dir, above) in layers {
        for (path, code) in code_under(&src().join(dir)) {
            for module in above {
                if refers_to(&code, module) {
                    found.push(format!("{} uses crate::{module}", path.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "imports against the layers: {found:#?}");
}
