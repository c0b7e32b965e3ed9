//! `kompas workflow ...`: check definitions, print their schema or diagram, list them, watch a folder.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use kompas_engine::definition::{self, Diagnostic, Loaded, Registry, Severity};
use notify_debouncer_mini::new_debouncer;
use notify_debouncer_mini::notify::RecursiveMode;

use crate::args::{Global, WorkflowCommand};
use crate::exit::{self, Refused};
use crate::output::emit;
use crate::workflows::{self, check_file, check_text, files_in, folder, is_workflow_file};

/// How long the watcher waits for a burst of file events to settle.
const DEBOUNCE: Duration = Duration::from_millis(200);

pub fn run(global: &Global, cmd: WorkflowCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        WorkflowCommand::Check { paths } => check(global, &paths),
        WorkflowCommand::Schema => {
            let schema = definition::json_schema();
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(ExitCode::SUCCESS)
        }
        WorkflowCommand::Diagram { name } => {
            let registry = workflows::without_data(folder(global).as_deref())?;
            let loaded = find(&registry, &name)?;
            let text = definition::mermaid(&loaded.definition);
            emit(
                global.json,
                &serde_json::json!({ "name": name, "mermaid": text }),
                |_| text.clone(),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        WorkflowCommand::List => {
            let registry = workflows::without_data(folder(global).as_deref())?;
            let rows: Vec<_> = registry
                .latest_all()
                .map(|l| {
                    serde_json::json!({
                        "name": l.definition.name,
                        "version": l.definition.version.to_string(),
                        "title": l.definition.title,
                        "hash": l.hash,
                        "source": l.source,
                    })
                })
                .collect();
            emit(global.json, &rows, |_| {
                let mut out = String::new();
                for l in registry.latest_all() {
                    let from = match &l.source {
                        definition::Source::Builtin => "ingebouwd".to_string(),
                        definition::Source::File(f) => f.clone(),
                    };
                    let _ = writeln!(
                        out,
                        "{:<24} {:<8} {}  ({from})",
                        l.definition.name, l.definition.version, l.definition.title
                    );
                }
                out
            })?;
            Ok(ExitCode::SUCCESS)
        }
        WorkflowCommand::Watch { dir } => {
            let dir = dir.or_else(|| folder(global)).ok_or_else(|| {
                Refused::input("geen werkwijzenmap; geef een map op of gebruik --workflows")
            })?;
            watch(&dir)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn find<'r>(registry: &'r Registry, name: &str) -> anyhow::Result<&'r Loaded> {
    registry.latest(name).ok_or_else(|| {
        Refused {
            message: format!(
                "onbekende werkwijze {name:?}; bekende werkwijzen: {}",
                registry.names().collect::<Vec<_>>().join(", ")
            ),
            code: exit::NOT_FOUND,
        }
        .into()
    })
}

#[derive(serde::Serialize)]
struct CheckReport {
    files: Vec<CheckedFile>,
    diagnostics: Vec<Diagnostic>,
    errors: usize,
    warnings: usize,
}

#[derive(serde::Serialize)]
struct CheckedFile {
    file: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

fn check(global: &Global, paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut results: Vec<(String, Option<Loaded>, Vec<Diagnostic>)> = Vec::new();
    if paths.is_empty() {
        for (file, body) in definition::BUILTIN {
            let (l, d) = check_text(file, body, definition::Source::Builtin);
            results.push((format!("(ingebouwd) {file}"), l, d));
        }
        if let Some(dir) = folder(global) {
            for path in files_in(&dir)? {
                let (l, d) = check_file(&path)?;
                results.push((path.display().to_string(), l, d));
            }
        }
    } else {
        for p in paths {
            let files = if p.is_dir() {
                files_in(p)?
            } else if p.exists() {
                vec![p.clone()]
            } else {
                return Err(Refused {
                    message: format!("{} bestaat niet", p.display()),
                    code: exit::NOT_FOUND,
                }
                .into());
            };
            for f in files {
                let (l, d) = check_file(&f)?;
                results.push((f.display().to_string(), l, d));
            }
        }
    }
    let report = CheckReport {
        files: results
            .iter()
            .map(|(file, l, d)| CheckedFile {
                file: file.clone(),
                ok: !d.iter().any(Diagnostic::is_error),
                name: l.as_ref().map(|l| l.definition.name.clone()),
                version: l.as_ref().map(|l| l.definition.version.to_string()),
            })
            .collect(),
        diagnostics: results.iter().flat_map(|r| r.2.iter().cloned()).collect(),
        errors: count(&results, Severity::Error),
        warnings: count(&results, Severity::Warning),
    };
    emit(global.json, &report, |r| {
        let mut out = String::new();
        for d in &r.diagnostics {
            let _ = writeln!(out, "{d}");
        }
        let _ = writeln!(
            out,
            "{} bestand(en) gecontroleerd: {} fout(en), {} waarschuwing(en).",
            r.files.len(),
            r.errors,
            r.warnings
        );
        out
    })?;
    Ok(if report.errors > 0 {
        ExitCode::from(exit::INVALID_INPUT)
    } else {
        ExitCode::SUCCESS
    })
}

fn count(results: &[(String, Option<Loaded>, Vec<Diagnostic>)], s: Severity) -> usize {
    results
        .iter()
        .flat_map(|r| &r.2)
        .filter(|d| d.severity == s)
        .count()
}

/// Watches `dir` until the process is stopped. Prints one line per event; a file that turns
/// invalid keeps its last valid version in force.
fn watch(dir: &Path) -> anyhow::Result<()> {
    let mut in_force: BTreeMap<PathBuf, Loaded> = BTreeMap::new();
    let (tx, rx) = mpsc::channel();
    let mut debouncer = new_debouncer(DEBOUNCE, tx).context("kan de map niet volgen")?;
    debouncer
        .watcher()
        .watch(dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("kan {} niet volgen", dir.display()))?;
    for path in files_in(dir)? {
        reload(&path, &mut in_force)?;
    }
    say(&format!(
        "kompas volgt {} ({} werkwijze(n) van kracht); stop met Ctrl-C.",
        dir.display(),
        in_force.len()
    ))?;
    for events in rx {
        let events = events.context("fout bij het volgen van de map")?;
        let mut paths: Vec<PathBuf> = events
            .into_iter()
            .map(|e| e.path)
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        paths.sort();
        paths.dedup();
        for path in paths {
            if is_workflow_file(&path) {
                reload(&path, &mut in_force)?;
            } else if let Some(old) = in_force.remove(&path) {
                say(&format!(
                    "verwijderd: {} ({} {} geldt niet meer)",
                    path.display(),
                    old.definition.name,
                    old.definition.version
                ))?;
            }
        }
    }
    Ok(())
}

fn reload(path: &Path, in_force: &mut BTreeMap<PathBuf, Loaded>) -> anyhow::Result<()> {
    let (loaded, diagnostics) = match check_file(path) {
        Ok(r) => r,
        // The file may be gone or half-written; the next event will tell.
        Err(e) => return say(&format!("overgeslagen: {e:#}")),
    };
    let mut lines = Vec::new();
    for d in &diagnostics {
        lines.push(d.to_string());
    }
    match loaded {
        Some(l) => {
            let unchanged = in_force.get(path).is_some_and(|old| old.hash == l.hash);
            if !unchanged {
                lines.push(format!(
                    "geldig: {} {} uit {}; nieuwe werkstromen gebruiken deze versie.",
                    l.definition.name,
                    l.definition.version,
                    path.display()
                ));
                in_force.insert(path.to_path_buf(), l);
            }
        }
        None => lines.push(match in_force.get(path) {
            Some(old) => format!(
                "ongeldig: {}; de laatst geldige versie blijft van kracht: {} {}.",
                path.display(),
                old.definition.name,
                old.definition.version
            ),
            None => format!(
                "ongeldig: {}; er is geen eerdere geldige versie.",
                path.display()
            ),
        }),
    }
    for line in lines {
        say(&line)?;
    }
    Ok(())
}

/// Prints one line and flushes, so that whoever reads the output sees it at once.
fn say(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}
