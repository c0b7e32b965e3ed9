//! Earlier versions of a document: reading one as it was at given heads, and copying one into a
//! new document (a new round's version of a document, with the old one's content).

use std::str::FromStr;

use automerge::{AutoCommit, ChangeHash};

use super::{Replica, ReplicaError};
use crate::document::{self, DocId, DocView};
use crate::privacy;
use crate::store::Store;
use crate::time::Timestamp;

impl<S: Store> Replica<S> {
    /// The document as it was at `heads` (hex change hashes). Refused when the document does not
    /// hold one of them, or none are given.
    pub fn view_at(&self, id: &DocId, heads: &[String]) -> Result<DocView, ReplicaError> {
        let mut loaded = self.load(id)?;
        let known = known_heads(&mut loaded.doc, id, heads)?;
        let mut at = loaded
            .doc
            .fork_at(&known)
            .map_err(|e| ReplicaError::Layout {
                id: id.to_string(),
                source: e.into(),
            })?;
        let mut view = document::read_view(&mut at).map_err(|e| ReplicaError::Layout {
            id: id.to_string(),
            source: e,
        })?;
        // Whether it is deleted is a matter of now, not of the version.
        view.deleted = self.view(&mut loaded)?.deleted;
        Ok(view)
    }

    /// Creates a new document of `source`'s kind holding `source`'s fields (each checked again
    /// for personal data), its history starting with `note`. Fields its kind no longer has are
    /// left out. Returns the new id.
    pub fn copy_of(
        &self,
        source: &DocView,
        note: &str,
        now: Timestamp,
        random: [u8; 8],
    ) -> Result<DocId, ReplicaError> {
        let kind = self.kind(&source.kind)?;
        let id = DocId::generate(random);
        let mut loaded = self.new_doc(&id)?;
        let layout = |e| ReplicaError::Layout {
            id: id.to_string(),
            source: e,
        };
        document::write_header(&mut loaded.doc, &id, &source.kind, now).map_err(layout)?;
        for (name, value) in &source.fields {
            let Some(def) = kind.field(name) else {
                continue;
            };
            privacy::check_value(&def.name, value)?;
            document::write_field(&mut loaded.doc, def, Some(value)).map_err(layout)?;
        }
        self.commit(&mut loaded, note, now)?;
        Ok(id)
    }
}

/// Parses hex `heads` and checks that `doc` holds every one of them.
pub(super) fn known_heads(
    doc: &mut AutoCommit,
    id: &DocId,
    heads: &[String],
) -> Result<Vec<ChangeHash>, ReplicaError> {
    let unknown = || ReplicaError::UnknownVersion(id.clone());
    let mut out = Vec::with_capacity(heads.len());
    for hex in heads {
        let hash = ChangeHash::from_str(hex).map_err(|_| unknown())?;
        if doc.get_change_by_hash(&hash).is_none() {
            return Err(unknown());
        }
        out.push(hash);
    }
    if out.is_empty() {
        return Err(unknown());
    }
    Ok(out)
}
