//! Watching a workflows folder (notify, debounced): every changed file is checked again; a file
//! that turns invalid keeps its last valid version in force. Long-lived commands share this.
//!
//! A file is reported once per change of its content: events that do not change what the file
//! holds (reading it, touching it) say nothing. A valid version is handed to `valid` as soon as it
//! is read, so the caller can make it the version every command uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use kompas_engine::definition::Loaded;
use notify_debouncer_mini::new_debouncer;
use notify_debouncer_mini::notify::RecursiveMode;

use crate::workflows::{check_file, files_in, is_workflow_file, shadows};

/// How long the watcher waits for a burst of file events to settle.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Watches `dir` until the process is stopped, handing one line per event to `say`; a file that turns
/// invalid keeps its last valid version in force.
pub fn watch(
    dir: &Path,
    mut say: impl FnMut(&str) -> anyhow::Result<()>,
    mut valid: impl FnMut(&Loaded) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut state = Followed::default();
    let (tx, rx) = mpsc::channel();
    let mut debouncer = new_debouncer(DEBOUNCE, tx).context("kan de map niet volgen")?;
    debouncer
        .watcher()
        .watch(dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("kan {} niet volgen", dir.display()))?;
    for path in files_in(dir)? {
        reload(&path, &mut state, &mut say, &mut valid)?;
    }
    say(&format!(
        "kompas volgt {} ({} werkwijze(n) van kracht); stop met Ctrl-C.",
        dir.display(),
        state.in_force.len()
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
                reload(&path, &mut state, &mut say, &mut valid)?;
            } else if let Some(old) = state.in_force.remove(&path) {
                state.seen.remove(&path);
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

/// What the watcher knows of the folder.
#[derive(Default)]
struct Followed {
    /// The last valid version of each file.
    in_force: BTreeMap<PathBuf, Loaded>,
    /// The hash of each file's content when it was last reported.
    seen: BTreeMap<PathBuf, String>,
}

fn reload(
    path: &Path,
    state: &mut Followed,
    say: &mut impl FnMut(&str) -> anyhow::Result<()>,
    valid: &mut impl FnMut(&Loaded) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let content = match std::fs::read(path) {
        Ok(bytes) => kompas_engine::definition::content_hash(&String::from_utf8_lossy(&bytes)),
        // The file may be gone or half-written; the next event will tell.
        Err(e) => return say(&format!("overgeslagen: {}: {e}", path.display())),
    };
    if state.seen.get(path) == Some(&content) {
        return Ok(());
    }
    state.seen.insert(path.to_path_buf(), content);
    let in_force = &mut state.in_force;
    let (loaded, diagnostics) = match check_file(path) {
        Ok(r) => r,
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
                valid(&l)?;
                lines.push(format!(
                    "geldig: {} {} uit {}; nieuwe werkstromen gebruiken deze versie.",
                    l.definition.name,
                    l.definition.version,
                    path.display()
                ));
                if let Some(note) = shadows(&l) {
                    lines.push(format!("let op: {note}"));
                }
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
