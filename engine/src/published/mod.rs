//! Workflow definitions published to a workspace: a coordinator puts a checked definition into a
//! shared document so that every partner's replica has it after the next sync.
//!
//! A published definition is a document of kind [`PUBLISHED_KIND`] whose id follows from the
//! definition's hash, so the same text published twice is one document. Its root holds an
//! append-only list of signed publications (name, version, hash, the exact text, who and when).
//! Whether a publication counts is decided when definitions are loaded, never when they arrive:
//! its signature, hash and text must hold, and its author must be a coordinator of the workspace
//! now (see [`in_force`]). Instances keep pinning the text they started with, so what a
//! definition says can never change under a running instance.

mod document;
mod signed;
mod trust;

pub use document::{
    PUBLISHED_KIND, check_incoming, doc_id_for, owned, publications_in, read_publications,
};
pub use signed::{Publication, SignedPublication};
pub use trust::{Distrust, Found, InForce, in_force};

use crate::definition::Loaded;
use crate::document::DocId;
use crate::replica::{Replica, ReplicaError};
use crate::store::Store;
use crate::time::Timestamp;

/// Why a definition cannot be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// This version is already published with another text.
    #[error(
        "versie {version} van werkwijze {name} is al gepubliceerd met een andere inhoud (hash {other}); verhoog de versie"
    )]
    VersionTaken {
        name: String,
        version: String,
        other: String,
    },
    /// This organisation already published exactly this text.
    #[error("werkwijze {name} versie {version} is al gepubliceerd door deze organisatie")]
    AlreadyPublished { name: String, version: String },
    /// The text would put personal data into a shared document.
    #[error(transparent)]
    Privacy(#[from] crate::privacy::PrivacyError),
    /// Signing failed.
    #[error(transparent)]
    Signature(#[from] crate::signature::SignatureError),
    /// The document's layout is damaged.
    #[error(transparent)]
    Layout(#[from] crate::document::LayoutError),
    /// The replica failed.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
}

impl PublishError {
    /// Whether the error is about what the user asked.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            PublishError::VersionTaken { .. }
                | PublishError::AlreadyPublished { .. }
                | PublishError::Privacy(_)
        )
    }
}

/// Publishes a checked definition as this replica's organisation; returns the document id.
///
/// Whether this organisation may publish (it must be a coordinator) is the caller's check: the
/// engine's replica does not know the workspace. Other replicas check it again on loading.
pub fn publish<S: Store>(
    replica: &Replica<S>,
    loaded: &Loaded,
    now: Timestamp,
) -> Result<DocId, PublishError> {
    let def = &loaded.definition;
    let version = def.version.to_string();
    crate::privacy::check_text("werkwijze", &loaded.body)?;
    let me = &replica.identity().profile;
    for found in read_publications(replica)? {
        let Some(p) = &found.publication else {
            continue;
        };
        if p.name != def.name || p.version != version {
            continue;
        }
        if p.hash != loaded.hash {
            return Err(PublishError::VersionTaken {
                name: def.name.clone(),
                version,
                other: p.hash.clone(),
            });
        }
        if p.org_id == me.org_id {
            return Err(PublishError::AlreadyPublished {
                name: def.name.clone(),
                version,
            });
        }
    }
    let publication = Publication {
        name: def.name.clone(),
        version,
        hash: loaded.hash.clone(),
        body: loaded.body.clone(),
        org_id: me.org_id.clone(),
        org: me.name.clone(),
        at: now,
    };
    let signed = SignedPublication::sign(replica.identity(), publication)?;
    let id = doc_id_for(&loaded.hash);
    let mut doc = match replica.load(&id) {
        Ok(doc) => doc,
        Err(ReplicaError::NotFound(_)) => {
            let mut doc = replica.new_doc(&id)?;
            document::write_publication_doc(&mut doc.doc, &id, &def.title, now)?;
            doc
        }
        Err(e) => return Err(e.into()),
    };
    document::append_publication(&mut doc.doc, &signed)?;
    replica.commit(&mut doc, "werkwijze gepubliceerd", now)?;
    Ok(id)
}

#[cfg(test)]
mod tests;
