//! The Automerge layout of a published definition: the usual header with the definition's title
//! in `fields.titel`, and `publicaties`, an append-only list of signed publications (JSON).

use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, Value, transaction::Transactable};

use super::signed::SignedPublication;
use super::trust::Found;
use crate::document::{self, DocId, LayoutError};
use crate::kinds::{Changes, Content, Deletion, IncomingError, KindRules, Owned};
use crate::replica::{Replica, ReplicaError};
use crate::store::Store;
use crate::time::Timestamp;

/// The kind of published-definition documents; no definition may use it for its own kinds.
pub const PUBLISHED_KIND: &str = crate::kinds::PUBLISHED;

/// The root key of the list of publications.
const PUBLICATIONS: &str = "publicaties";

/// The document id of the definition text with this hash.
pub fn doc_id_for(hash: &str) -> DocId {
    let short: String = hash
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(24)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    DocId::parse(&format!("{PUBLISHED_KIND}-{short}")).unwrap_or_else(|_| DocId::generate([0; 8]))
}

/// Writes a new published-definition document's header and its empty list.
pub(super) fn write_publication_doc(
    doc: &mut AutoCommit,
    id: &DocId,
    title: &str,
    created: Timestamp,
) -> Result<(), LayoutError> {
    document::write_header(doc, id, PUBLISHED_KIND, created)?;
    match doc.get(ROOT, "fields")? {
        Some((Value::Object(ObjType::Map), fields)) => doc.put(&fields, "titel", title)?,
        _ => return Err(LayoutError::Missing("fields")),
    }
    document::create_entries(doc, PUBLICATIONS)
}

/// Appends one signed publication.
pub(super) fn append_publication(
    doc: &mut AutoCommit,
    signed: &SignedPublication,
) -> Result<(), LayoutError> {
    document::append_entry(doc, PUBLICATIONS, &signed.to_entry())
}

/// Every publication in one document, as stored; entries that are not publications at all are
/// returned as problems.
pub fn publications_in(
    doc: &AutoCommit,
) -> Result<Vec<Result<SignedPublication, String>>, LayoutError> {
    Ok(document::read_entries(doc, PUBLICATIONS)?
        .into_iter()
        .map(|entry| match entry {
            Ok(text) => serde_json::from_str::<SignedPublication>(&text)
                .map_err(|e| format!("publicatie is onleesbaar: {e}")),
            Err(i) => Err(format!("publicatie {i} is geen tekst")),
        })
        .collect())
}

/// Checks a published-definition document that arrives as a file before it is imported: its
/// list must be readable, and no published text may hold personal data. (Whether a publication
/// counts is decided later, like for every other publication.)
pub fn check_incoming(doc: &AutoCommit) -> Result<(), IncomingError> {
    let entries = publications_in(doc).map_err(|e| IncomingError::Unreadable(e.to_string()))?;
    for signed in entries.into_iter().flatten() {
        crate::privacy::check_text("werkwijze", &signed.publication.body)?;
    }
    Ok(())
}

/// The kind of published-definition documents and its rules: a published definition reads its
/// own content, is never deleted and is listed only when asked for.
pub fn owned() -> Owned {
    Owned {
        kinds: vec![KindRules {
            name: PUBLISHED_KIND,
            fields: None,
            content: Content::Own(|doc| check_incoming(doc)),
            // Whether a publication counts rests on its signature and its author's role; a
            // tombstone would change nothing and suggest otherwise.
            deletion: Deletion::Never {
                reason: "is een gepubliceerde werkwijze; die kan niet worden verwijderd (publiceer een nieuwe versie, of laat de coördinator die haar publiceerde uit de samenwerking gaan)",
            },
            listed_by_default: false,
            in_reports: false,
            changes: Changes::Anyone,
            summary: None,
        }],
        ..Owned::default()
    }
}

/// Every publication on the replica, each with what is wrong with it on its own (signature,
/// hash, text); whether its author may publish is [`super::in_force`]'s question.
///
/// Only documents whose id has the published-definition prefix are opened, so this stays cheap
/// on a replica with many documents. A tombstone does not hide a publication: whether one counts
/// rests on its signature alone, and no partner can withdraw a coordinator's publication.
pub fn read_publications<S: Store>(replica: &Replica<S>) -> Result<Vec<Found>, ReplicaError> {
    let prefix = format!("{PUBLISHED_KIND}-");
    let mut out = Vec::new();
    for raw in replica.store().ids()? {
        if !raw.starts_with(&prefix) {
            continue;
        }
        let Ok(id) = DocId::parse(&raw) else { continue };
        let mut loaded = replica.load(&id)?;
        let layout = |e| ReplicaError::Layout {
            id: id.to_string(),
            source: e,
        };
        if document::read_view(&mut loaded.doc).map_err(layout)?.kind != PUBLISHED_KIND {
            continue;
        }
        for entry in publications_in(&loaded.doc).map_err(layout)? {
            match entry {
                Ok(signed) => out.push(Found::check(id.clone(), signed)),
                Err(problem) => out.push(Found::unreadable(id.clone(), problem)),
            }
        }
    }
    Ok(out)
}
