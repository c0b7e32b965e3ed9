//! Which publications count: each must hold on its own (signature, hash, a definition without
//! errors that has the name and version it claims) and its author must be a coordinator now.
//! When one version was published with two different texts, the earliest publication counts.

use std::collections::{BTreeMap, BTreeSet};

use super::signed::{Publication, SignedPublication};
use crate::definition::{self, Definition, Loaded, Source};
use crate::document::DocId;

/// Why a publication does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Distrust {
    /// The entry is not a publication.
    #[error("{0}")]
    Unreadable(String),
    /// The signature does not hold.
    #[error("handtekening klopt niet: {0}")]
    BadSignature(String),
    /// The text does not have the hash the publication names.
    #[error("de tekst past niet bij de vermelde hash")]
    HashMismatch,
    /// The text is not a valid definition, or not the one it claims to be.
    #[error("de tekst is geen geldige werkwijze: {0}")]
    Invalid(String),
    /// The author is not a coordinator of the workspace.
    #[error("{org} is geen coördinator van de samenwerking")]
    NotCoordinator { org: String },
    /// The same version was published earlier with another text.
    #[error("deze versie was al eerder gepubliceerd met een andere inhoud (hash {hash})")]
    Superseded { hash: String },
}

/// One publication found on the replica, with what is wrong with it, if anything.
#[derive(Debug, Clone)]
pub struct Found {
    /// The document it is in.
    pub doc: DocId,
    /// The publication, if the entry could be read.
    pub publication: Option<Publication>,
    /// Why it does not count; `None` when it holds on its own (authority is checked later).
    pub problem: Option<Distrust>,
    definition: Option<Definition>,
}

impl Found {
    /// Checks a signed publication on its own.
    pub(super) fn check(doc: DocId, signed: SignedPublication) -> Found {
        let (definition, problem) = match verify(&signed) {
            Ok(def) => (Some(def), None),
            Err(problem) => (None, Some(problem)),
        };
        Found {
            doc,
            publication: Some(signed.publication),
            problem,
            definition,
        }
    }

    /// An entry that could not be read as a publication.
    pub(super) fn unreadable(doc: DocId, problem: String) -> Found {
        Found {
            doc,
            publication: None,
            problem: Some(Distrust::Unreadable(problem)),
            definition: None,
        }
    }
}

fn verify(signed: &SignedPublication) -> Result<Definition, Distrust> {
    signed
        .verify()
        .map_err(|e| Distrust::BadSignature(e.to_string()))?;
    let p = &signed.publication;
    if definition::content_hash(&p.body) != p.hash {
        return Err(Distrust::HashMismatch);
    }
    let checked = definition::check(&p.name, &p.body);
    let Some(def) = checked.definition else {
        let first = checked
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(Distrust::Invalid(first));
    };
    if def.name != p.name || def.version.to_string() != p.version {
        return Err(Distrust::Invalid(format!(
            "de tekst is {} versie {}, de publicatie noemt {} versie {}",
            def.name, def.version, p.name, p.version
        )));
    }
    Ok(def)
}

/// The publications that count and the ones that do not.
#[derive(Debug, Clone, Default)]
pub struct InForce {
    /// One definition per published name and version.
    pub loaded: Vec<Loaded>,
    /// Every publication that does not count, with the reason.
    pub refused: Vec<Found>,
}

/// Decides which publications count, given the organisation ids of the workspace's current
/// coordinators. The outcome depends only on the set of publications, not on their order.
pub fn in_force(found: Vec<Found>, coordinators: &BTreeSet<String>) -> InForce {
    let mut out = InForce::default();
    // Per name and version, the candidates ordered by (time, organisation, hash).
    let mut candidates: BTreeMap<(String, String), Vec<Found>> = BTreeMap::new();
    for mut f in found {
        match (&f.problem, &f.publication) {
            (None, Some(p)) if coordinators.contains(&p.org_id) => {
                candidates
                    .entry((p.name.clone(), p.version.clone()))
                    .or_default()
                    .push(f);
            }
            (None, Some(p)) => {
                f.problem = Some(Distrust::NotCoordinator { org: p.org.clone() });
                out.refused.push(f);
            }
            _ => out.refused.push(f),
        }
    }
    for (_, mut list) in candidates {
        list.sort_by(|a, b| order(a).cmp(&order(b)));
        let mut list = list.into_iter();
        let Some(first) = list.next() else { continue };
        let (Some(p), Some(def)) = (first.publication, first.definition) else {
            continue;
        };
        for mut other in list {
            if other.publication.as_ref().map(|o| &o.hash) != Some(&p.hash) {
                other.problem = Some(Distrust::Superseded {
                    hash: p.hash.clone(),
                });
                out.refused.push(other);
            }
        }
        out.loaded.push(Loaded {
            definition: def,
            source: Source::Published {
                by: p.org.clone(),
                org_id: p.org_id.clone(),
            },
            hash: p.hash,
            body: p.body,
        });
    }
    out
}

fn order(f: &Found) -> (crate::time::Timestamp, &str, &str) {
    match &f.publication {
        Some(p) => (p.at, p.org_id.as_str(), p.hash.as_str()),
        None => (crate::time::Timestamp(i64::MAX), "", ""),
    }
}
