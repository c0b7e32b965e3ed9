//! Which workflow definitions are in force: the built-in ones, those a coordinator published to
//! the workspace, the last valid version of each folder definition this data directory has seen,
//! and the valid files in the workflows folder (later ones win for the same name and version).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kompas_engine::definition::{self, Diagnostic, Loaded, Registry, Source};
use kompas_engine::published::{self, InForce};
use kompas_engine::store::MetaBatch;
use kompas_engine::sync::replication::known_members;
use kompas_engine::{Replica, SledStore, Store, composition};

use crate::args::Global;

/// The meta key listing the names of cached definitions.
const CACHE_INDEX: &str = "werkwijzen";

/// The workflows folder: `--workflows`, or the data directory's `workflows/` if it exists.
pub fn folder(global: &Global) -> Option<PathBuf> {
    match &global.workflows {
        Some(dir) => Some(dir.clone()),
        None => {
            let dir = global.data.join("workflows");
            dir.is_dir().then_some(dir)
        }
    }
}

/// The `.yaml` and `.yml` files directly in `dir`, sorted by name.
pub fn files_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("kan map {} niet lezen", dir.display()))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| is_workflow_file(p))
        .collect();
    out.sort();
    Ok(out)
}

/// Whether `path` looks like a workflow file.
pub fn is_workflow_file(path: &Path) -> bool {
    path.is_file()
        && matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        )
}

/// Checks one text; returns the loaded definition if it has no errors, and every diagnostic.
pub fn check_text(name: &str, body: &str, source: Source) -> (Option<Loaded>, Vec<Diagnostic>) {
    let checked = definition::check(name, body);
    let loaded = checked.definition.map(|definition| Loaded {
        definition,
        body: body.to_string(),
        hash: definition::content_hash(body),
        source,
    });
    (loaded, checked.diagnostics)
}

/// Reads and checks one file.
pub fn check_file(path: &Path) -> anyhow::Result<(Option<Loaded>, Vec<Diagnostic>)> {
    let bytes =
        std::fs::read(path).with_context(|| format!("kan {} niet lezen", path.display()))?;
    Ok(check_bytes(&path.display().to_string(), bytes))
}

/// Checks the bytes of a file named `name` (read from disk or uploaded): text that is not
/// UTF-8 is one diagnostic at its first bad byte.
pub fn check_bytes(name: &str, bytes: Vec<u8>) -> (Option<Loaded>, Vec<Diagnostic>) {
    match String::from_utf8(bytes) {
        Ok(body) => check_text(name, &body, Source::File { path: name.into() }),
        Err(e) => (
            None,
            vec![Diagnostic::not_utf8(name, e.as_bytes(), e.utf8_error())],
        ),
    }
}

/// The built-in definitions plus the valid files of `folder`; invalid files are reported on
/// stderr and skipped.
pub fn without_data(folder: Option<&Path>) -> anyhow::Result<Registry> {
    let mut registry = composition::builtin().clone();
    for (loaded, _) in folder_definitions(folder)? {
        registry.insert(loaded);
    }
    Ok(registry)
}

/// The definitions in force for `replica`, and the publications that do not count. A valid
/// folder file is remembered in the store; when it later turns invalid, the remembered version
/// stays in force.
pub fn load(
    replica: &Replica<SledStore>,
    folder: Option<&Path>,
) -> anyhow::Result<(Registry, Vec<published::Found>)> {
    let store = replica.store();
    let mut registry = composition::builtin().clone();
    let mut refused = Vec::new();
    // A damaged sync state must not stop the documents from being read: the published
    // definitions are then left out, with a warning.
    match published_in(replica) {
        Ok(published) => {
            published
                .loaded
                .into_iter()
                .for_each(|loaded| registry.insert(loaded));
            refused = published.refused;
        }
        Err(e) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "kompas: waarschuwing: gepubliceerde werkwijzen niet gelezen: {e:#}"
            );
        }
    }
    for name in &remembered(store)? {
        if let Some(body) = store.get_meta(&cache_key(name))? {
            let body = String::from_utf8_lossy(&body).into_owned();
            let label = format!("{name} (map, laatst geldige versie)");
            if let (Some(loaded), _) = check_text(
                &label,
                &body,
                Source::File {
                    path: label.clone(),
                },
            ) {
                registry.insert(loaded);
            }
        }
    }
    for (loaded, _) in folder_definitions(folder)? {
        remember(store, &loaded)?;
        registry.insert(loaded);
    }
    Ok((registry, refused))
}

/// Remembers a valid folder definition in the store, so that it stays in force (for this data
/// directory) while its file is broken, and says so on stderr when it shadows a built-in or
/// published definition of the same name and version.
pub fn remember(store: &impl Store, loaded: &Loaded) -> anyhow::Result<()> {
    let name = loaded.definition.name.clone();
    let key = cache_key(&name);
    if store.get_meta(&key)?.as_deref() != Some(loaded.body.as_bytes()) {
        store.put_meta(&key, loaded.body.as_bytes())?;
        if let Some(note) = shadows(loaded) {
            let _ = writeln!(std::io::stderr().lock(), "kompas: let op: {note}");
        }
    }
    let mut names = remembered(store)?;
    if !names.contains(&name) {
        names.push(name);
        store.put_meta(CACHE_INDEX, &serde_json::to_vec(&names)?)?;
    }
    Ok(())
}

/// Forgets the remembered folder definition `name`; returns whether there was one.
pub fn forget(store: &impl Store, name: &str) -> anyhow::Result<bool> {
    let mut names = remembered(store)?;
    let had = names.iter().any(|n| n == name);
    names.retain(|n| n != name);
    // The index and the body go in one atomic batch.
    let mut batch = MetaBatch::default();
    batch.put(CACHE_INDEX, serde_json::to_vec(&names)?);
    batch.delete(cache_key(name));
    store.write_meta(&batch)?;
    Ok(had)
}

/// The names of the remembered folder definitions.
fn remembered(store: &impl Store) -> anyhow::Result<Vec<String>> {
    Ok(match store.get_meta(CACHE_INDEX)? {
        Some(raw) => serde_json::from_slice(&raw).unwrap_or_default(),
        None => Vec::new(),
    })
}

/// A sentence saying which built-in definition `loaded` replaces, if it replaces one: a folder
/// definition with the name and version of a built-in one but another text.
pub fn shadows(loaded: &Loaded) -> Option<String> {
    let def = &loaded.definition;
    let builtin = composition::builtin();
    let other = builtin.version(&def.name, &def.version)?;
    (other.hash != loaded.hash).then(|| {
        format!(
            "{} vervangt de ingebouwde werkwijze {} {} (zolang deze map dat doet, en daarna als laatst geldige versie; vergeet haar met `kompas workflow forget {}`)",
            source_label(&loaded.source),
            def.name,
            def.version,
            def.name
        )
    })
}

fn source_label(source: &Source) -> String {
    match source {
        Source::File { path } => path.clone(),
        Source::Builtin => "de ingebouwde versie".into(),
        Source::Published { by, .. } => format!("de publicatie van {by}"),
    }
}

/// The definitions published to the workspace, decided against its current coordinators
/// (counting this organisation's own member-list changes that wait for a relay).
pub fn published_in(replica: &Replica<SledStore>) -> anyhow::Result<InForce> {
    let coordinators: BTreeSet<String> = match known_members(replica.store())? {
        Some(members) => members
            .coordinators()
            .map(|m| m.profile.key.org_id())
            .collect(),
        None => BTreeSet::new(),
    };
    Ok(published::in_force(
        published::read_publications(replica)?,
        &coordinators,
    ))
}

fn cache_key(name: &str) -> String {
    format!("werkwijze/{name}")
}

/// The valid definitions in `folder`, warning on stderr about the invalid ones.
fn folder_definitions(folder: Option<&Path>) -> anyhow::Result<Vec<(Loaded, PathBuf)>> {
    let Some(dir) = folder else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for path in files_in(dir)? {
        let (loaded, diagnostics) = check_file(&path)?;
        match loaded {
            Some(l) => out.push((l, path)),
            None => {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(
                    err,
                    "kompas: waarschuwing: {} is ongeldig en telt niet mee (zie `kompas workflow check`):",
                    path.display()
                );
                for d in diagnostics.iter().filter(|d| d.is_error()).take(3) {
                    let _ = writeln!(err, "  {d}");
                }
            }
        }
    }
    Ok(out)
}
