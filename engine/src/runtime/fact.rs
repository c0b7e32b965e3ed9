//! Facts: the signed, append-only entries of an instance from which its state is computed.

use std::collections::BTreeMap;

use crate::document::DocId;
use crate::identity::{Identity, OrgType};
use crate::signature::{self, Detached, SignatureError};
use crate::time::Timestamp;

/// The heads (hex change hashes, sorted) of each document a fact is based on.
pub type DocHeads = BTreeMap<DocId, Vec<String>>;

/// One fact, as written by one organisation at one moment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fact {
    /// A random id (hex) that makes the fact unique.
    pub id: String,
    /// The organisation that wrote it.
    pub org_id: String,
    /// The organisation's name at the time.
    pub org: String,
    /// The organisation's type.
    pub org_type: OrgType,
    /// When it was written (the author's clock).
    pub at: Timestamp,
    /// What it says.
    #[serde(flatten)]
    pub body: FactBody,
}

/// What a fact says.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "feit", rename_all = "kebab-case")]
pub enum FactBody {
    /// The organisation takes part in the instance with this role.
    Join {
        /// The role, e.g. `coordinator` or `partner`.
        role: String,
    },
    /// The organisation asks to move from `from` (at `step`) to `to`.
    Request {
        /// The number of transitions made before this one.
        step: u32,
        /// The phase it moves from.
        from: String,
        /// The phase it moves to.
        to: String,
        /// The versions of the phase's documents the request was made on.
        based_on: DocHeads,
        /// Whether this request decides a conflict between earlier requests.
        #[serde(default)]
        decides: bool,
    },
    /// The organisation approves or rejects the documents of `phase` at `step`.
    Verdict {
        /// The step the verdict is for.
        step: u32,
        /// The phase the verdict is for.
        phase: String,
        /// Whether the organisation agrees.
        approve: bool,
        /// Why not, for a rejection.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
        /// The versions of the documents that were judged.
        docs: DocHeads,
    },
    /// The partners recorded a joint evaluation: the versions of the documents it covered, so
    /// a later report can show what changed since. It does not move the instance.
    Evaluation {
        /// The step at which it was recorded.
        step: u32,
        /// The phase the instance was in.
        phase: String,
        /// The versions of every document the evaluation covered.
        covered: DocHeads,
    },
    /// The document belongs to the instance: it is one of the documents its phases work on.
    Link {
        /// The document.
        doc: DocId,
        /// The round of the cycle it belongs to (from 1; left out for the first, so links
        /// written before rounds existed read and verify as they were).
        #[serde(default = "first_round", skip_serializing_if = "is_first_round")]
        round: u32,
        /// The document of the previous round it was carried over from, as a new version of it
        /// (left out for a document that did not come from an earlier round).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<DocId>,
    },
    /// A planned moment (a schedule's occurrence) took place.
    Held {
        /// The schedule's name.
        schedule: String,
        /// The planned moment it was held for.
        moment: Timestamp,
        /// The day it was held (YYYY-MM-DD).
        date: String,
        /// Who took part.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        participants: Vec<String>,
        /// A note.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// The instance moves to another version of its definition, staying in `phase` at `step`.
    Migration {
        /// The step at which it moved.
        step: u32,
        /// The phase it was in.
        phase: String,
        /// The new version.
        version: String,
        /// BLAKE3 of the new body.
        hash: String,
        /// The new definition's text.
        body: String,
        /// The round it was in (left out for the first).
        #[serde(default = "first_round", skip_serializing_if = "is_first_round")]
        round: u32,
    },
}

/// A fact with the public key and signature of the organisation that wrote it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignedFact {
    /// The fact.
    pub fact: Fact,
    /// The author's Ed25519 public key (hex).
    pub key: String,
    /// The signature over the fact's canonical JSON (hex).
    pub sig: String,
}

/// Why a stored fact is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactError {
    /// The entry is not a fact at all.
    #[error("feit is onleesbaar: {0}")]
    Unreadable(String),
    /// The signature does not match the fact or the key.
    #[error("feit {0} heeft geen geldige handtekening")]
    BadSignature(String),
    /// The key does not belong to the organisation the fact names.
    #[error("feit {0} is ondertekend met de sleutel van een andere organisatie")]
    WrongOrganisation(String),
    /// The local identity cannot sign.
    #[error("kan niet ondertekenen: {0}")]
    Identity(String),
}

impl SignedFact {
    /// Signs `fact` as `identity`.
    pub fn sign(identity: &Identity, fact: Fact) -> Result<SignedFact, FactError> {
        let signed = signature::sign(identity, &fact).map_err(|e| match e {
            SignatureError::Identity(e) => FactError::Identity(e),
            other => FactError::Unreadable(other.to_string()),
        })?;
        Ok(SignedFact {
            fact,
            key: signed.key,
            sig: signed.sig,
        })
    }

    /// Checks the signature and that the key is the named organisation's.
    pub fn verify(&self) -> Result<(), FactError> {
        let detached = Detached {
            key: self.key.clone(),
            sig: self.sig.clone(),
        };
        signature::verify(&self.fact, &self.fact.org_id, &detached).map_err(|e| match e {
            SignatureError::WrongOrganisation => FactError::WrongOrganisation(self.fact.id.clone()),
            SignatureError::Unreadable(e) => FactError::Unreadable(e),
            SignatureError::Bad | SignatureError::Identity(_) => {
                FactError::BadSignature(self.fact.id.clone())
            }
        })
    }

    /// The stored form: one JSON line.
    pub fn to_entry(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads and verifies a stored entry.
    pub fn from_entry(entry: &str) -> Result<SignedFact, FactError> {
        let signed: SignedFact =
            serde_json::from_str(entry).map_err(|e| FactError::Unreadable(e.to_string()))?;
        signed.verify()?;
        Ok(signed)
    }
}

fn first_round() -> u32 {
    1
}

fn is_first_round(round: &u32) -> bool {
    *round == 1
}

impl Fact {
    /// A fact written now by the organisation of `identity`, with a random id.
    pub fn by(identity: &Identity, body: FactBody, at: Timestamp, id: [u8; 16]) -> Fact {
        let me = &identity.profile;
        Fact {
            id: crate::identity::hex(&id),
            org_id: me.org_id.clone(),
            org: me.name.clone(),
            org_type: me.org_type,
            at,
            body,
        }
    }

    /// The order facts are replayed in: time, then organisation, then id. It is a total order on
    /// distinct facts, so every replica replays the same set the same way.
    pub fn order_key(&self) -> (Timestamp, &str, &str) {
        (self.at, &self.org_id, &self.id)
    }
}
