//! What changed since the last recorded evaluation, computed from each document's history: the
//! Automerge diff between the heads the evaluation covered and the heads now.

use automerge::{AutoCommit, ChangeHash, ROOT, ReadDoc, Value};

use crate::document::{DocChanges, DocView, FieldChange, changes_between, knows_heads};

use super::build::{ACTION_KIND, Docs};
use super::input::{DocDelta, RecordedChanges, ReportInput};
use super::model::{ChangeKind, ChangesSince, DocChange};

/// How one document stands against the heads an evaluation covered (`None`: not covered).
/// Returns `None` when the heads are the same: the document did not change.
pub fn delta(
    doc: &mut AutoCommit,
    view: &DocView,
    covered: Option<&Vec<String>>,
) -> Option<DocDelta> {
    let Some(covered) = covered else {
        return Some(DocDelta {
            view: view.clone(),
            kind: ChangeKind::New,
            changes: {
                let heads = doc.get_heads();
                changes_between(doc, &[], &heads)
            },
            action_before: None,
        });
    };
    if covered == &view.heads {
        return None;
    }
    let before: Option<Vec<ChangeHash>> = covered.iter().map(|h| h.parse().ok()).collect();
    let before = before.filter(|b| knows_heads(doc, b));
    let Some(before) = before else {
        return Some(DocDelta {
            view: view.clone(),
            kind: ChangeKind::Unknown,
            changes: DocChanges::default(),
            action_before: None,
        });
    };
    let heads = doc.get_heads();
    let changes = changes_between(doc, &before, &heads);
    let kind = if view.deleted.is_some() {
        ChangeKind::Deleted
    } else {
        ChangeKind::Changed
    };
    let action_before = (view.kind == ACTION_KIND).then(|| {
        (
            field_at(doc, "status", &before),
            field_at(doc, "uitgevoerd", &before),
        )
    });
    Some(DocDelta {
        view: view.clone(),
        kind,
        changes,
        action_before,
    })
}

/// A scalar text field's value at `heads`.
fn field_at(doc: &AutoCommit, field: &str, heads: &[ChangeHash]) -> String {
    let Ok(Some((Value::Object(_), fields))) = doc.get_at(ROOT, "fields", heads) else {
        return String::new();
    };
    match doc.get_at(&fields, field, heads) {
        Ok(Some((Value::Scalar(s), _))) => s.as_str().unwrap_or_default().to_string(),
        _ => String::new(),
    }
}

/// The section: every document that is new or whose heads differ, with its changes in words.
pub(super) fn since(input: &ReportInput, recorded: &RecordedChanges) -> ChangesSince {
    let docs = Docs::of(input);
    let mut documents: Vec<DocChange> = recorded
        .documents
        .values()
        .map(|d| describe(&docs, d))
        .collect();
    documents.sort_by_key(|d| (d.change as u8, d.kind_label.clone(), d.title.clone()));
    ChangesSince {
        recorded_at: recorded.at,
        recorded_by: recorded.by.clone(),
        documents,
        unchanged: recorded.unchanged,
    }
}

fn describe(docs: &Docs<'_>, d: &DocDelta) -> DocChange {
    let kind = &d.view.kind;
    let lines = d
        .changes
        .fields
        .iter()
        .map(|(field, change)| {
            let label = docs.field_label(kind, field);
            match change {
                FieldChange::Set { value } => format!("{label} is nu {value}"),
                FieldChange::Cleared => format!("{label} is leeggemaakt"),
                FieldChange::Text { added, removed } => {
                    format!("{label}: {added} tekens toegevoegd, {removed} tekens weggehaald")
                }
                FieldChange::ListEdited => format!("{label}: lijst bijgewerkt"),
            }
        })
        .collect();
    let finished = |status: &str, done: &str| status == "uitgevoerd" || done == "ja";
    let action_finished = kind == ACTION_KIND
        && finished(
            super::build::text(&d.view, "status")
                .as_deref()
                .unwrap_or(""),
            super::build::text(&d.view, "uitgevoerd")
                .as_deref()
                .unwrap_or(""),
        )
        && !d
            .action_before
            .as_ref()
            .is_some_and(|(s, u)| finished(s, u));
    DocChange {
        id: d.view.id.clone(),
        kind_label: docs.kind_label(kind),
        title: docs.title(&d.view),
        change: d.kind,
        lines,
        action_finished,
    }
}
