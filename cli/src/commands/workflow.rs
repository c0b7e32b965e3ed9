//! `kompas workflow ...`: check definitions, print their schema or diagram, list them, publish
//! them to the workspace, watch a folder.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use kompas_engine::definition::{self, Diagnostic, Loaded, Registry, Severity, Source};
use kompas_engine::published;
use kompas_engine::store::DataDirError;
use kompas_engine::sync::replication::{Machine, Mode, SyncError};

use super::sync::drive;
use super::workspace::{AFTER_CHANGE_LIMIT, not_synced_note};
use crate::args::{Global, WorkflowCommand};
use crate::context::{now, open_global};
use crate::exit::{self, Refused};
use crate::output::emit;
use crate::workflows::{self, check_file, check_text, files_in, folder};

pub fn run(global: &Global, cmd: WorkflowCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        WorkflowCommand::Check { paths } => check(global, &paths),
        WorkflowCommand::Schema => {
            let schema = definition::json_schema();
            say(&serde_json::to_string_pretty(&schema)?)?;
            Ok(ExitCode::SUCCESS)
        }
        WorkflowCommand::Diagram { name } => {
            let registry = in_force(global)?;
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
            let registry = in_force(global)?;
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
                    let _ = writeln!(
                        out,
                        "{:<24} {:<8} {}  ({}; hash {})",
                        l.definition.name,
                        l.definition.version,
                        l.definition.title,
                        source_nl(&l.source),
                        l.hash.get(..12).unwrap_or(&l.hash)
                    );
                }
                out
            })?;
            Ok(ExitCode::SUCCESS)
        }
        WorkflowCommand::Publish { definition } => publish(global, &definition),
        WorkflowCommand::Watch { dir } => {
            let dir = dir.or_else(|| folder(global)).ok_or_else(|| {
                Refused::input(format!(
                    "geen werkwijzenmap; geef een map op (`kompas workflow watch MAP`), gebruik --workflows MAP, of maak de map {}",
                    global.data.join("workflows").display()
                ))
            })?;
            let data = global.data.clone();
            crate::watcher::watch(&dir, say, |loaded| remember_in(&data, loaded))?;
            Ok(ExitCode::SUCCESS)
        }
        WorkflowCommand::Forget { name } => {
            // The workflow folder belongs to the organisation: forgotten in every samenwerking.
            let dir = crate::context::lock(&global.data)?;
            let mut had = false;
            for store in dir.stores()? {
                had |= workflows::forget(&dir.store(store)?, &name)?;
            }
            emit(
                global.json,
                &serde_json::json!({ "name": name, "forgotten": had }),
                |_| {
                    if had {
                        format!("De onthouden versie van {name} is vergeten.")
                    } else {
                        format!("Er was geen onthouden versie van {name}.")
                    }
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The definitions in force: with the data directory's published and remembered ones when it
/// exists, otherwise the built-in ones and the workflows folder. Published definitions that do
/// not count are reported on stderr.
fn in_force(global: &Global) -> anyhow::Result<Registry> {
    match open_global(global) {
        Ok(opened) => {
            warn_refused(&opened.refused_publications);
            Ok(opened.registry)
        }
        Err(e) if matches!(e.downcast_ref(), Some(DataDirError::Missing(_))) => {
            workflows::without_data(folder(global).as_deref())
        }
        Err(e) => Err(e),
    }
}

fn warn_refused(refused: &[published::Found]) {
    let mut err = std::io::stderr().lock();
    for found in refused {
        let what = match &found.publication {
            Some(p) => format!("werkwijze {} {} van {}", p.name, p.version, p.org),
            None => format!("een publicatie in {}", found.doc),
        };
        let why = found
            .problem
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let _ = writeln!(err, "kompas: waarschuwing: {what} telt niet mee: {why}");
    }
}

/// Where a definition in force comes from, in Dutch.
pub fn source_nl(source: &Source) -> String {
    match source {
        Source::Builtin => "ingebouwd".to_string(),
        Source::File { path } => path.clone(),
        Source::Published { by, .. } => format!("gepubliceerd door {by}"),
    }
}

/// `kompas workflow publish`: checks the definition, publishes it and syncs once.
fn publish(global: &Global, what: &str) -> anyhow::Result<ExitCode> {
    let opened = open_global(global)?;
    let replica = &opened.replica;
    let mut machine = Machine::load(replica, Mode::Once)?.ok_or(SyncError::NoWorkspace)?;
    if !machine.is_coordinator() {
        return Err(SyncError::NotCoordinator.into());
    }
    let path = std::path::Path::new(what);
    let loaded = if path.is_file() {
        let (loaded, diagnostics) = check_file(path)?;
        match loaded {
            Some(l) => l,
            None => {
                let mut message =
                    format!("{what} is geen geldige werkwijze en wordt niet gepubliceerd:");
                for d in diagnostics.iter().filter(|d| d.is_error()) {
                    let _ = write!(message, "\n  {d}");
                }
                return Err(Refused::input(message));
            }
        }
    } else if matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    ) || what.contains(std::path::MAIN_SEPARATOR)
    {
        return Err(Refused {
            message: format!("{what} bestaat niet of is geen werkwijzebestand"),
            code: exit::NOT_FOUND,
        }
        .into());
    } else {
        find(&opened.registry, what)?.clone()
    };
    let id = published::publish(replica, &loaded, now())?;
    let summary = drive(
        replica,
        &mut machine,
        Some(AFTER_CHANGE_LIMIT),
        super::sync::progress(global),
    )?;
    let def = &loaded.definition;
    let value = serde_json::json!({
        "id": id.as_str(),
        "name": def.name,
        "version": def.version.to_string(),
        "hash": loaded.hash,
        "synced": summary.complete(),
    });
    emit(global.json, &value, |_| {
        format!(
            "Werkwijze {} {} gepubliceerd ({id}); de partners krijgen haar bij hun volgende sync.{}",
            def.name,
            def.version,
            not_synced_note(&summary)
        )
    })?;
    Ok(ExitCode::SUCCESS)
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

/// Makes a valid version the watcher read the one every command of the data directory `data`
/// uses, in each of its samenwerkingen, even when its file breaks afterwards. Without a data directory there is nothing to
/// remember in.
fn remember_in(data: &std::path::Path, loaded: &Loaded) -> anyhow::Result<()> {
    let dir = match crate::context::lock(data) {
        Ok(dir) => dir,
        Err(DataDirError::Missing(_)) => return Ok(()),
        Err(e) => {
            return say(&format!(
                "waarschuwing: {} {} niet onthouden in {}: {e}",
                loaded.definition.name,
                loaded.definition.version,
                data.display()
            ));
        }
    };
    // The workflow folder belongs to the organisation: remembered in every samenwerking.
    for store in dir.stores()? {
        workflows::remember(&dir.store(store)?, loaded)?;
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
