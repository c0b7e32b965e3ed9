//! The history of a document: every change, who made it, when, and what it changed in plain words.

use std::collections::BTreeMap;

use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, PatchAction, Prop, ROOT, ReadDoc, Value};
use similar::{ChangeTag, TextDiff};

use super::format_number;
use crate::time::Timestamp;

/// The note kompas attaches to every change it commits, as the Automerge change message (JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeNote {
    /// The id of the organisation that made the change.
    pub org_id: String,
    /// The organisation's display name at the time.
    pub org: String,
    /// What the person did, in a few words (e.g. "aangemaakt", "bijgewerkt").
    pub action: String,
}

impl ChangeNote {
    /// The note as an Automerge change message.
    pub fn to_message(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a note back from a change message; changes made by other tools have none.
    pub fn from_message(message: Option<&str>) -> Option<ChangeNote> {
        serde_json::from_str(message?).ok()
    }
}

/// One change in a document's history.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryEntry {
    /// The change hash (hex).
    pub hash: String,
    /// When the author committed it (their clock; Automerge keeps whole seconds).
    pub time: Timestamp,
    /// The organisation, if the change carries a kompas note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The organisation's id, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// The Automerge actor (one per replica), hex.
    pub actor: String,
    /// The action the author's kompas recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// What changed, one line per field, in Dutch.
    pub changes: Vec<String>,
    /// For every long text the change edited, the words it added and removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<WordEdit>,
}

/// The words one change added to and removed from a long text, as runs of adjacent words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WordEdit {
    /// The field's name.
    pub field: String,
    /// The runs of words that are new, in text order.
    pub added: Vec<String>,
    /// The runs of words that are gone, in text order.
    pub removed: Vec<String>,
}

/// Lists every change of `doc` in causal order, with what it changed.
pub fn history(doc: &mut AutoCommit) -> Vec<HistoryEntry> {
    let changes = doc.get_changes(&[]);
    let mut out = Vec::with_capacity(changes.len());
    for change in changes {
        let note = ChangeNote::from_message(change.message());
        let deps = change.deps().to_vec();
        let after = [change.hash()];
        let patches = doc.diff(&deps, &after);
        let edits = describe(doc, &patches);
        let words = edits
            .fields
            .iter()
            .filter(|(_, edit)| matches!(edit, FieldChange::Text { .. }))
            .map(|(field, _)| {
                let (added, removed) =
                    word_diff(&text_at(doc, field, &deps), &text_at(doc, field, &after));
                WordEdit {
                    field: field.clone(),
                    added,
                    removed,
                }
            })
            .collect();
        out.push(HistoryEntry {
            hash: change.hash().to_string(),
            time: Timestamp::from_change_time(change.timestamp()),
            org: note.as_ref().map(|n| n.org.clone()),
            org_id: note.as_ref().map(|n| n.org_id.clone()),
            actor: change.actor_id().to_hex_string(),
            action: note.map(|n| n.action),
            changes: edits.lines(),
            words,
        });
    }
    out
}

/// What happened to one field between two versions of a document.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "wijziging", rename_all = "kebab-case")]
pub enum FieldChange {
    /// The field got this value (shown as in the history: text quoted, numbers the Dutch way).
    Set { value: String },
    /// The field was emptied.
    Cleared,
    /// A text was edited: this many characters added and removed.
    Text { added: usize, removed: usize },
    /// Items of a list were added, removed or changed.
    ListEdited,
}

/// What changed in a document between two versions, computed from Automerge patches.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct DocChanges {
    /// The kind, when the document was created in between.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_as: Option<String>,
    /// Whether the document was deleted in between.
    pub deleted: bool,
    /// Per changed field, what happened to it.
    pub fields: BTreeMap<String, FieldChange>,
}

impl DocChanges {
    /// One Dutch line per change, as the history shows them.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(kind) = &self.created_as {
            lines.push(format!("aangemaakt als {kind}"));
        }
        if self.deleted {
            lines.push("verwijderd".into());
        }
        for (field, edit) in &self.fields {
            lines.push(match edit {
                FieldChange::Set { value } => format!("{field} = {value}"),
                FieldChange::Cleared => format!("{field} leeggemaakt"),
                FieldChange::Text { added, removed } => {
                    format!("{field}: tekst bewerkt (+{added} / -{removed} tekens)")
                }
                FieldChange::ListEdited => format!("{field}: lijst bijgewerkt"),
            });
        }
        lines
    }
}

/// What changed in `doc` from the version at `before` to the version at `after`. Both must be
/// heads the document knows (see [`knows_heads`]).
pub fn changes_between(
    doc: &mut AutoCommit,
    before: &[ChangeHash],
    after: &[ChangeHash],
) -> DocChanges {
    let patches = doc.diff(before, after);
    describe(doc, &patches)
}

/// Whether every one of `heads` is a change this document has.
pub fn knows_heads(doc: &AutoCommit, heads: &[ChangeHash]) -> bool {
    heads.iter().all(|h| doc.get_change_by_hash(h).is_some())
}

fn describe(doc: &AutoCommit, patches: &[automerge::Patch]) -> DocChanges {
    let fields_obj = match doc.get(ROOT, "fields") {
        Ok(Some((Value::Object(_), id))) => Some(id),
        _ => None,
    };
    let mut out = DocChanges::default();
    let edits = &mut out.fields;
    for patch in patches {
        if patch.obj == ROOT {
            match &patch.action {
                PatchAction::PutMap {
                    key,
                    value: (value, _),
                    ..
                } if key == "kind" => {
                    out.created_as = Some(scalar_text(value).trim_matches('"').to_string());
                }
                PatchAction::PutMap { key, .. } if key == "deleted" => out.deleted = true,
                _ => {}
            }
            continue;
        }
        let Some(field) = field_of(patch, fields_obj.as_ref()) else {
            continue;
        };
        let direct = Some(&patch.obj) == fields_obj.as_ref();
        let edit = edits.entry(field).or_insert(FieldChange::ListEdited);
        match (&patch.action, direct) {
            (
                PatchAction::PutMap {
                    value: (Value::Scalar(_), _),
                    ..
                },
                true,
            ) => {
                if let PatchAction::PutMap { value: (v, _), .. } = &patch.action {
                    *edit = FieldChange::Set {
                        value: scalar_text(v),
                    };
                }
            }
            (
                PatchAction::PutMap {
                    value: (Value::Object(automerge::ObjType::Text), _),
                    ..
                },
                true,
            ) => {
                *edit = FieldChange::Text {
                    added: 0,
                    removed: 0,
                };
            }
            (PatchAction::DeleteMap { .. }, true) => *edit = FieldChange::Cleared,
            (PatchAction::SpliceText { value, .. }, false) => {
                let n = value.make_string().chars().count();
                match edit {
                    FieldChange::Text { added, .. } => *added += n,
                    other => {
                        *other = FieldChange::Text {
                            added: n,
                            removed: 0,
                        }
                    }
                }
            }
            (PatchAction::DeleteSeq { length, .. }, false) => match edit {
                FieldChange::Text { removed, .. } => *removed += length,
                _ => {
                    if !matches!(edit, FieldChange::ListEdited) {
                        *edit = FieldChange::Text {
                            added: 0,
                            removed: *length,
                        };
                    }
                }
            },
            _ => {
                if !matches!(
                    edit,
                    FieldChange::Text { .. } | FieldChange::Set { .. } | FieldChange::Cleared
                ) {
                    *edit = FieldChange::ListEdited;
                }
            }
        }
    }
    out
}

/// The long text in `field` as it was at `heads` (empty if it was not a text then).
fn text_at(doc: &AutoCommit, field: &str, heads: &[ChangeHash]) -> String {
    let Ok(Some((Value::Object(_), fields))) = doc.get_at(ROOT, "fields", heads) else {
        return String::new();
    };
    match doc.get_at(&fields, field, heads) {
        Ok(Some((Value::Object(ObjType::Text), text))) => {
            doc.text_at(&text, heads).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// The runs of words `new` has that `old` lacks, and those `old` had that `new` lacks. Words
/// next to each other, with only spaces between them, form one run.
pub fn word_diff(old: &str, new: &str) -> (Vec<String>, Vec<String>) {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut run: Option<(ChangeTag, String)> = None;
    let mut flush = |run: &mut Option<(ChangeTag, String)>| {
        if let Some((tag, words)) = run.take() {
            let words = words.trim().to_string();
            if words.is_empty() {
                return;
            }
            match tag {
                ChangeTag::Insert => added.push(words),
                _ => removed.push(words),
            }
        }
    };
    let diff = TextDiff::from_words(old, new);
    for change in diff.iter_all_changes() {
        let token = change.value();
        match (change.tag(), run.as_mut()) {
            // Spaces both sides kept do not end a run of changed words.
            (ChangeTag::Equal, Some((_, words))) if token.trim().is_empty() => {
                words.push_str(token)
            }
            (ChangeTag::Equal, _) => flush(&mut run),
            (tag, Some((current, words))) if *current == tag => words.push_str(token),
            (tag, _) => {
                flush(&mut run);
                run = Some((tag, token.to_string()));
            }
        }
    }
    flush(&mut run);
    (added, removed)
}

/// The top-level field a patch belongs to, if it is inside `fields`.
fn field_of(patch: &automerge::Patch, fields_obj: Option<&ObjId>) -> Option<String> {
    let fields_obj = fields_obj?;
    if &patch.obj == fields_obj {
        return match &patch.action {
            PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => Some(key.clone()),
            _ => None,
        };
    }
    let pos = patch.path.iter().position(|(obj, _)| obj == fields_obj)?;
    match &patch.path[pos].1 {
        Prop::Map(key) => Some(key.clone()),
        Prop::Seq(_) => None,
    }
}

fn scalar_text(value: &Value<'_>) -> String {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => format!("{:?}", s.as_str()),
            automerge::ScalarValue::F64(n) => format_number(*n),
            other => other.to_string(),
        },
        Value::Object(_) => "(object)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::word_diff;

    #[test]
    fn word_diffs_name_whole_words_in_runs() {
        let (added, removed) = word_diff(
            "Kinderen sporten soms bij de club.",
            "Kinderen sporten elke week bij de club.",
        );
        assert_eq!(added, vec!["elke week"]);
        assert_eq!(removed, vec!["soms"]);
        let (added, removed) = word_diff("", "Nieuw verhaal");
        assert_eq!(
            (added, removed),
            (vec!["Nieuw verhaal".to_string()], vec![])
        );
        let (added, removed) = word_diff("zelfde tekst", "zelfde tekst");
        assert!(added.is_empty() && removed.is_empty());
    }
}
