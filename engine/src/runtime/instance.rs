//! The Automerge layout of an instance document: the usual header, the pinned definition, facts.
//!
//! Root keys beyond the document header: `definitie` (a map with `naam`, `versie`, `hash`,
//! `body`, written once at the start) and `feiten` (a list of signed facts, one JSON string each,
//! only ever appended to). The title lives in `fields.titel` so `kompas doc show` can read it.

use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};

use super::INSTANCE_KIND;

/// The root key of the list of facts.
const FACTS: &str = "feiten";
/// The root key that says which documents an instance works on. Instances that have it (with
/// [`OWN_DOCUMENTS`]) work on the documents linked to them; older instances, which lack it, on
/// every live document of their phases' kinds.
const DOCUMENTS: &str = "documenten";
/// The value of [`DOCUMENTS`] for instances that own their documents.
const OWN_DOCUMENTS: &str = "eigen";
use super::fact::{Fact, FactBody, SignedFact};
use crate::document::{self, DocId, DocView, LayoutError};
use crate::kinds::{Changes, Content, Deletion, IncomingError, KindRules, Owned};
use crate::privacy;
use crate::time::Timestamp;

/// The definition an instance started with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pinned {
    /// The definition's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// BLAKE3 of the body.
    pub hash: String,
    /// The exact text.
    #[serde(skip)]
    pub body: String,
}

/// An instance as read from its document.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The document id.
    pub id: DocId,
    /// The title.
    pub title: String,
    /// When it was started.
    pub created: Timestamp,
    /// The definition it started with.
    pub pinned: Pinned,
    /// Every verified fact.
    pub facts: Vec<Fact>,
    /// Entries that failed verification, with the reason.
    pub rejected: Vec<String>,
    /// Whether the instance works on its own documents (those linked to it) rather than on
    /// every document of its kinds (instances started before instances owned documents).
    pub owns_documents: bool,
}

/// Why a document is not a readable instance.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InstanceError {
    /// The document header is damaged.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// The document is a document, not an instance.
    #[error("document {0} is geen werkstroom")]
    NotAnInstance(DocId),
    /// A root key is missing or of the wrong type.
    #[error("werkstroom mist het onderdeel {0:?}")]
    Missing(&'static str),
}

impl From<automerge::AutomergeError> for InstanceError {
    fn from(e: automerge::AutomergeError) -> Self {
        InstanceError::Layout(LayoutError::Automerge(e.to_string()))
    }
}

impl Instance {
    /// The documents linked to the instance, in the order they were linked.
    pub fn linked(&self) -> Vec<DocId> {
        let mut facts: Vec<&Fact> = self.facts.iter().collect();
        facts.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        let mut out: Vec<DocId> = Vec::new();
        for f in facts {
            if let FactBody::Link { doc, .. } = &f.body
                && !out.contains(doc)
            {
                out.push(doc.clone());
            }
        }
        out
    }

    /// The definition in force: the body of the latest migration, or the pinned one.
    pub fn effective(&self) -> Pinned {
        let best = self
            .facts
            .iter()
            .filter_map(|f| match &f.body {
                FactBody::Migration { step, .. } => Some((*step, f.order_key(), f)),
                _ => None,
            })
            .max_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)))
            .map(|(_, _, f)| f);
        match best.map(|f| &f.body) {
            Some(FactBody::Migration {
                version,
                hash,
                body,
                ..
            }) => Pinned {
                name: self.pinned.name.clone(),
                version: version.clone(),
                hash: hash.clone(),
                body: body.clone(),
            },
            _ => self.pinned.clone(),
        }
    }
}

/// Writes a new instance document's header, title and pinned definition.
pub fn write_instance(
    doc: &mut AutoCommit,
    id: &DocId,
    title: &str,
    pinned: &Pinned,
    created: Timestamp,
) -> Result<(), InstanceError> {
    document::write_header(doc, id, INSTANCE_KIND, created)?;
    let fields = match doc.get(ROOT, "fields")? {
        Some((Value::Object(ObjType::Map), f)) => f,
        _ => return Err(InstanceError::Missing("fields")),
    };
    doc.put(&fields, "titel", title)?;
    let def = doc.put_object(ROOT, "definitie", ObjType::Map)?;
    doc.put(&def, "naam", pinned.name.as_str())?;
    doc.put(&def, "versie", pinned.version.as_str())?;
    doc.put(&def, "hash", pinned.hash.as_str())?;
    doc.put(&def, "body", pinned.body.as_str())?;
    doc.put(ROOT, DOCUMENTS, OWN_DOCUMENTS)?;
    document::create_entries(doc, FACTS)?;
    Ok(())
}

/// Appends one signed fact.
pub fn append_fact(doc: &mut AutoCommit, fact: &SignedFact) -> Result<(), InstanceError> {
    Ok(document::append_entry(doc, FACTS, &fact.to_entry())?)
}

fn str_at(doc: &AutoCommit, obj: &ObjId, key: &'static str) -> Result<String, InstanceError> {
    match doc.get(obj, key)? {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(s) => Ok(s.to_string()),
            _ => Err(InstanceError::Missing(key)),
        },
        _ => Err(InstanceError::Missing(key)),
    }
}

/// The kind of instance documents and its rules: an instance reads its own content, is never
/// deleted (it would vanish for every partner) and is listed only when asked for.
pub fn owned() -> Owned {
    Owned {
        kinds: vec![KindRules {
            name: INSTANCE_KIND,
            fields: None,
            content: Content::Own(check_incoming),
            deletion: Deletion::Never {
                reason: "is een werkstroom; die kan niet worden verwijderd (rond haar af of laat haar staan)",
            },
            listed_by_default: false,
            in_reports: false,
            changes: Changes::Anyone,
            summary: Some(summary),
        }],
        ..Owned::default()
    }
}

/// Checks an instance that arrives as a file before it is imported: it must read as an instance,
/// and neither its title nor a rejection reason may hold personal data.
pub fn check_incoming(doc: &mut AutoCommit) -> Result<(), IncomingError> {
    let instance = read_instance(doc).map_err(|e| IncomingError::Unreadable(e.to_string()))?;
    privacy::check_text("titel", &instance.title)?;
    for fact in &instance.facts {
        if let FactBody::Verdict { reason, .. } = &fact.body {
            privacy::check_text("reden", reason)?;
        }
    }
    Ok(())
}

/// Reads an instance; facts that fail verification are set aside with the reason.
pub fn read_instance(doc: &mut AutoCommit) -> Result<Instance, InstanceError> {
    let view = document::read_view(doc)?;
    if view.kind != INSTANCE_KIND {
        return Err(InstanceError::NotAnInstance(view.id));
    }
    let def = match doc.get(ROOT, "definitie")? {
        Some((Value::Object(ObjType::Map), d)) => d,
        _ => return Err(InstanceError::Missing("definitie")),
    };
    let pinned = Pinned {
        name: str_at(doc, &def, "naam")?,
        version: str_at(doc, &def, "versie")?,
        hash: str_at(doc, &def, "hash")?,
        body: str_at(doc, &def, "body")?,
    };
    let mut facts = Vec::new();
    let mut rejected = Vec::new();
    for entry in document::read_entries(doc, FACTS)? {
        match entry.map(|e| SignedFact::from_entry(&e)) {
            Ok(Ok(signed)) => facts.push(signed.fact),
            Ok(Err(e)) => rejected.push(e.to_string()),
            Err(i) => rejected.push(format!("feit {i} is geen tekst")),
        }
    }
    let owns_documents = matches!(
        doc.get(ROOT, DOCUMENTS)?,
        Some((Value::Scalar(s), _)) if s.as_str() == Some(OWN_DOCUMENTS)
    );
    Ok(Instance {
        title: title_of(&view),
        id: view.id,
        created: view.created,
        pinned,
        facts,
        rejected,
        owns_documents,
    })
}

/// The first byte of an instance's summary; another value is a summary this code does not
/// read (the instance is then read from its document).
const SUMMARY_FORMAT: u8 = 1;

/// What the view index keeps of an instance beyond its view: what [`read_instance`] reads
/// from the rest of the document, its facts already verified.
#[derive(serde::Serialize, serde::Deserialize)]
struct Summary {
    name: String,
    version: String,
    hash: String,
    body: String,
    facts: Vec<Fact>,
    rejected: Vec<String>,
    owns_documents: bool,
}

/// The instance's summary for the view index ([`crate::kinds::Summary`]), so a list of
/// instances reads neither their documents nor their signatures again; `None` for a document
/// that does not read as an instance. Computed each time the document is written, from the
/// document as it is written, so it never describes another version.
pub fn summary(doc: &mut AutoCommit) -> Option<Vec<u8>> {
    let Instance {
        pinned,
        facts,
        rejected,
        owns_documents,
        ..
    } = read_instance(doc).ok()?;
    let summary = Summary {
        name: pinned.name,
        version: pinned.version,
        hash: pinned.hash,
        body: pinned.body,
        facts,
        rejected,
        owns_documents,
    };
    let mut out = vec![SUMMARY_FORMAT];
    serde_json::to_writer(&mut out, &summary).ok()?;
    Some(out)
}

/// The instance `view` and its `summary` describe, as [`read_instance`] reads it from the
/// document; `None` when the summary does not read (the caller then reads the document).
pub fn from_summary(view: &DocView, summary: &[u8]) -> Option<Instance> {
    let (&SUMMARY_FORMAT, json) = summary.split_first()? else {
        return None;
    };
    if view.kind != INSTANCE_KIND {
        return None;
    }
    let summary: Summary = serde_json::from_slice(json).ok()?;
    Some(Instance {
        id: view.id.clone(),
        title: title_of(view),
        created: view.created,
        pinned: Pinned {
            name: summary.name,
            version: summary.version,
            hash: summary.hash,
            body: summary.body,
        },
        facts: summary.facts,
        rejected: summary.rejected,
        owns_documents: summary.owns_documents,
    })
}

/// An instance's title, kept in `fields.titel`.
fn title_of(view: &DocView) -> String {
    view.fields
        .get("titel")
        .map(ToString::to_string)
        .unwrap_or_default()
}
