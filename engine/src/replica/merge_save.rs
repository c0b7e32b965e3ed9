//! Saving an edit made on an older version of a document: the edit is applied on top of the
//! version it was made from and merged with whatever arrived since, so nobody's work is lost.
//!
//! A form shows a document at some heads; by the time it is saved, other organisations may have
//! changed it. Only the fields the person changed are written. A long text is merged three ways
//! by Automerge itself: the person's text is applied to a scratch copy at the old heads, that
//! copy is merged with the current document, and the merged text is then written as this
//! organisation's change, so both sides' characters survive.

use automerge::{AutoCommit, ChangeHash};

use super::{Replica, ReplicaError};
use crate::catalog::FieldType;
use crate::document::{self, Assignment, ChangeNote, DocId, DocView, FieldValue};
use crate::store::Store;
use crate::time::Timestamp;

/// A field both this organisation and another changed since the version the edit started from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConcurrentEdit {
    /// The field's name.
    pub field: String,
    /// Its value in the version the edit started from.
    pub base: Option<FieldValue>,
    /// The value the others gave it meanwhile.
    pub theirs: Option<FieldValue>,
    /// The value this organisation gave it.
    pub yours: Option<FieldValue>,
    /// The value it has now: for a long text both edits merged, otherwise this organisation's.
    pub merged: Option<FieldValue>,
}

/// What a merged save did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MergedSave {
    /// The document after the save.
    pub view: DocView,
    /// Fields that were also changed by others since the edit started.
    pub concurrent: Vec<ConcurrentEdit>,
    /// The organisations whose changes arrived after the version the edit started from.
    pub changed_by: Vec<String>,
}

impl<S: Store> Replica<S> {
    /// Applies `assignments`, made by someone looking at the document at `base` (hex heads),
    /// on top of that version and merges them with the document as it is now. Fields whose
    /// value equals their value at `base` are left alone, so a form that sends every field does
    /// not undo what others changed. Everything is checked first; a refused edit changes nothing.
    pub fn update_from(
        &self,
        id: &DocId,
        base: &[String],
        assignments: &[Assignment],
        now: Timestamp,
    ) -> Result<MergedSave, ReplicaError> {
        let mut loaded = self.load(id)?;
        let current = self.view(&mut loaded)?;
        if current.deleted.is_some() {
            return Err(ReplicaError::Deleted(id.clone()));
        }
        let kind_def = self.kind(&current.kind)?;
        let values = self.check_assignments(kind_def, assignments, Some(&current.fields))?;
        let heads = super::versions::known_heads(&mut loaded.doc, id, base)?;
        let layout = |e| ReplicaError::Layout {
            id: id.to_string(),
            source: e,
        };
        let automerge = |e: automerge::AutomergeError| layout(e.into());
        let mut at_base = loaded.doc.fork_at(&heads).map_err(automerge)?;
        let base_view = document::read_view(&mut at_base).map_err(layout)?;
        let changed_by = authors_since(&mut loaded.doc, &heads);

        let mut concurrent = Vec::new();
        for (def, yours) in values {
            let before = base_view.fields.get(&def.name);
            if yours.as_ref() == before {
                continue;
            }
            let theirs = current.fields.get(&def.name).cloned();
            let others_changed = theirs.as_ref() != before;
            let write = match (&def.ty, &yours) {
                (FieldType::LongText, Some(text)) if others_changed => {
                    let mut scratch = at_base.fork();
                    document::write_field(&mut scratch, def, Some(text)).map_err(layout)?;
                    scratch.commit();
                    let mut merged = loaded.doc.fork();
                    merged.merge(&mut scratch).map_err(automerge)?;
                    document::read_view(&mut merged)
                        .map_err(layout)?
                        .fields
                        .get(&def.name)
                        .cloned()
                }
                _ => yours.clone(),
            };
            document::write_field(&mut loaded.doc, def, write.as_ref()).map_err(layout)?;
            if others_changed && theirs != yours {
                concurrent.push(ConcurrentEdit {
                    field: def.name.clone(),
                    base: before.cloned(),
                    theirs,
                    yours,
                    merged: write,
                });
            }
        }
        self.commit(&mut loaded, "bijgewerkt", now)?;
        Ok(MergedSave {
            view: self.view(&mut loaded)?,
            concurrent,
            changed_by,
        })
    }
}

/// The organisations (by name, each once) that wrote changes after `heads`.
fn authors_since(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for change in doc.get_changes(heads) {
        if let Some(note) = ChangeNote::from_message(change.message())
            && !out.contains(&note.org)
        {
            out.push(note.org);
        }
    }
    out
}
