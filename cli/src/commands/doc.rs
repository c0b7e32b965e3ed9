//! `kompas doc ...`: create, edit, show, list, delete, trace, export and import documents.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use kompas_engine::document::{Assignment, HistoryEntry};
use kompas_engine::replica::ImportOutcome;
use kompas_engine::runtime::Flows;
use kompas_engine::{Catalog, DocId, DocView, FieldType, FieldValue, Replica, SledStore};

use crate::args::{DocCommand, Global};
use crate::context::{now, open_global, random};
use crate::exit::Refused;
use crate::long_value;
use crate::output::emit;

pub fn run(global: &Global, cmd: DocCommand) -> anyhow::Result<()> {
    let opened = open_global(global)?;
    let replica = &opened.replica;
    match cmd {
        DocCommand::New { kind, set, flow } => {
            let assignments = parse_assignments(&set)?;
            // The instance is checked before the document is made, so a wrong id leaves nothing.
            let flow = flow.as_deref().map(DocId::parse).transpose()?;
            let flows = Flows::new(replica, &opened.registry);
            if let Some(flow) = &flow {
                flows.status(flow, now())?;
            }
            let id = create(replica, &kind, &assignments)?;
            if let Some(flow) = &flow {
                flows.link(flow, &id, now(), random())?;
            }
            emit(global.json, &serde_json::json!({ "id": id }), |_| {
                id.to_string()
            })
        }
        DocCommand::Set { id, assignments } => {
            let id = DocId::parse(&id)?;
            let view = replica.update(&id, &parse_assignments(&assignments)?, now())?;
            emit(global.json, &view, |v| render_view(replica.catalog(), v))
        }
        DocCommand::Show { id } => {
            let view = replica.get(&DocId::parse(&id)?)?;
            emit(global.json, &view, |v| {
                render_view(replica.catalog(), &with_names(replica, v.clone()))
            })
        }
        DocCommand::List { kind, deleted } => {
            let shared = replica.list_shared(kind.as_deref(), deleted)?;
            let views: Vec<&DocView> = shared.iter().map(|v| &**v).collect();
            emit(global.json, &views, |vs| render_list(replica.catalog(), vs))
        }
        DocCommand::History { id } => {
            let entries = replica.history(&DocId::parse(&id)?)?;
            emit(global.json, &entries, |es| render_history(es))
        }
        DocCommand::Delete { id } => {
            let id = DocId::parse(&id)?;
            replica.delete(&id, now())?;
            emit(global.json, &serde_json::json!({ "deleted": id }), |_| {
                format!("Document {id} is verwijderd; het blijft zichtbaar in de geschiedenis.")
            })
        }
        DocCommand::Restore { id } => {
            let id = DocId::parse(&id)?;
            let restored = replica.restore(&id, now())?;
            emit(
                global.json,
                &serde_json::json!({ "restored": id, "was_deleted": restored }),
                |_| {
                    if restored {
                        format!("Document {id} is teruggehaald.")
                    } else {
                        format!("Document {id} was niet verwijderd.")
                    }
                },
            )
        }
        DocCommand::Export { id, file } => {
            let id = DocId::parse(&id)?;
            let bytes = replica.export(&id)?;
            write_new_file(&file, &bytes)?;
            emit(
                global.json,
                &serde_json::json!({ "id": id, "file": file, "bytes": bytes.len() }),
                |_| {
                    format!(
                        "Document {id} weggeschreven naar {} ({} bytes).",
                        file.display(),
                        bytes.len()
                    )
                },
            )
        }
        DocCommand::Import { file } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("kan {} niet lezen", file.display()))?;
            let outcome = replica
                .import(&bytes)
                .with_context(|| format!("{} is niet ingelezen", file.display()))?;
            emit(global.json, &outcome, |o| match o {
                ImportOutcome::Created(id) => format!("Document {id} ingelezen."),
                ImportOutcome::Merged(id) => {
                    format!("Document {id} bestond al; de wijzigingen zijn samengevoegd.")
                }
            })
        }
    }
}

/// Creates a document, drawing a fresh id again in the unlikely case of a collision.
pub(crate) fn create(
    replica: &Replica<SledStore>,
    kind: &str,
    assignments: &[Assignment],
) -> anyhow::Result<DocId> {
    loop {
        match replica.create(kind, assignments, now(), random()) {
            Err(kompas_engine::ReplicaError::IdTaken(_)) => continue,
            other => return Ok(other?),
        }
    }
}

/// Reads `FIELD=VALUE` arguments (`FIELD=@FILE` and `FIELD=@-` read the value from a file or
/// standard input); all must be well-formed before anything is done.
pub(crate) fn parse_assignments(raw: &[String]) -> anyhow::Result<Vec<Assignment>> {
    raw.iter()
        .map(|s| {
            let mut assignment = Assignment::parse(s)?;
            assignment.value =
                long_value::resolve(&assignment.value, &format!("veld {}", assignment.field))?;
            Ok(assignment)
        })
        .collect()
}

fn write_new_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if path.exists() {
        return Err(Refused::input(format!(
            "{} bestaat al; kies een andere bestandsnaam",
            path.display()
        )));
    }
    let tmp = path.with_extension("automerge.tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("kan {} niet schrijven", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("kan {} niet schrijven", path.display()))?;
    Ok(())
}

/// The view with each organisation field holding the organisation's name instead of its id
/// (for people; `--json` keeps the id).
fn with_names(replica: &Replica<SledStore>, mut view: DocView) -> DocView {
    let Some(kind) = replica.catalog().kind(&view.kind) else {
        return view;
    };
    for f in kind
        .fields
        .iter()
        .filter(|f| f.ty == FieldType::Organisation)
    {
        if let Some(FieldValue::Text(id)) = view.fields.get(&f.name)
            && let Ok(Some(name)) = replica.organisation_name(id)
        {
            view.fields.insert(f.name.clone(), FieldValue::Text(name));
        }
    }
    view
}

/// A document as people read it: kind and id, then each field with its label.
pub(crate) fn render_view(catalog: &Catalog, view: &DocView) -> String {
    let kind = catalog.kind(&view.kind);
    let mut out = String::new();
    let label = kind.map_or(view.kind.as_str(), |k| k.label.as_str());
    let _ = writeln!(out, "{label} {}", view.id);
    let _ = writeln!(out, "  aangemaakt: {}", view.created);
    if let Some(deleted) = view.deleted {
        let _ = writeln!(out, "  VERWIJDERD op {deleted}");
    }
    let names: Vec<(String, String)> = match kind {
        Some(k) => k
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.label.clone()))
            .collect(),
        None => view.fields.keys().map(|k| (k.clone(), k.clone())).collect(),
    };
    for (name, label) in names {
        if let Some(value) = view.fields.get(&name) {
            let text = value.to_string();
            let mut lines = text.lines();
            let _ = writeln!(out, "  {label} ({name}): {}", lines.next().unwrap_or(""));
            for line in lines {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    out
}

fn render_list(catalog: &Catalog, views: &[&DocView]) -> String {
    if views.is_empty() {
        return "Geen documenten.".into();
    }
    let mut out = String::new();
    for v in views {
        let kind = catalog.kind(&v.kind);
        let title = ["titel", "naam", "actie"]
            .iter()
            .find_map(|f| v.fields.get(*f))
            .map(ToString::to_string)
            .or_else(|| first_field(kind, v))
            .unwrap_or_default();
        let label = kind.map_or(v.kind.as_str(), |k| k.label.as_str());
        let deleted = if v.deleted.is_some() {
            " (verwijderd)"
        } else {
            ""
        };
        let _ = writeln!(out, "{}  {:<26} {title}{deleted}", v.id, label);
    }
    out
}

/// For a kind without a title field: the first filled field, as `label: value` on one line.
fn first_field(kind: Option<&kompas_engine::catalog::KindDef>, view: &DocView) -> Option<String> {
    let kind = kind?;
    let (def, value) = kind
        .fields
        .iter()
        .find_map(|f| view.fields.get(&f.name).map(|v| (f, v)))?;
    let text = value.to_string();
    let line = text.lines().next().unwrap_or("");
    let short: String = line.chars().take(60).collect();
    let more = if short.len() < text.len() { "..." } else { "" };
    Some(format!("{}: {short}{more}", def.label))
}

fn render_history(entries: &[HistoryEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        let who = e.org.as_deref().unwrap_or("buiten kompas gemaakt");
        let actor = e.actor.get(..8).unwrap_or(&e.actor);
        let _ = writeln!(
            out,
            "{}  {who} (actor {actor})  {}",
            e.time,
            e.action.as_deref().unwrap_or("")
        );
        for line in &e.changes {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}
