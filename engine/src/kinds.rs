//! The kinds the engine owns, and the seam through which their owners give their rules.
//!
//! Most document kinds come from workflow definitions and follow the catalog alone. A few belong
//! to the engine itself: workflow instances, published definitions, and the documents figures
//! live in. Their names are listed here, at the bottom of the engine, so that the workflow
//! language can keep them free without knowing who owns them. Their rules ([`KindRules`]: how an
//! arriving document is checked, who may delete one, whether it is listed by default, whether a
//! report covers it, whose changes count) come from their owners (`runtime`, `published`, `figures`, each as an
//! [`Owned`]) and are put together with the kinds of the definitions in force in one place,
//! `composition`. The replica asks these rules and names no kind itself.
//!
//! This module imports the catalog, documents and the privacy errors, never an owner.

use std::collections::BTreeMap;

use automerge::AutoCommit;

use crate::catalog::{Catalog, KindDef};
use crate::document::{DocView, FieldValue, ValueError};
use crate::privacy::PrivacyError;

/// Workflow instances (owned by `runtime`).
pub const INSTANCE: &str = "werkstroom";
/// Published workflow definitions (owned by `published`).
pub const PUBLISHED: &str = "werkwijze";
/// Indicators with their observations (owned by `figures`).
pub const INDICATOR: &str = "indicator";
/// Stories beside the figures (owned by `figures`).
pub const STORY: &str = "verhaal";
/// The names and groupings of areas (owned by `figures`).
pub const AREA_REGISTRY: &str = "gebiedsindeling";
/// The workspace's small-number policy (owned by `figures`).
pub const COUNT_POLICY: &str = "cijferbeleid";

/// Every kind the engine owns; no workflow definition may declare one of them.
pub const ENGINE_OWNED: [&str; 6] = [
    INSTANCE,
    PUBLISHED,
    INDICATOR,
    STORY,
    AREA_REGISTRY,
    COUNT_POLICY,
];

/// Whether `name` is a kind the engine owns.
pub fn is_engine_owned(name: &str) -> bool {
    ENGINE_OWNED.contains(&name)
}

/// Why an arriving document of an engine-owned kind is refused.
#[derive(Debug, thiserror::Error)]
pub enum IncomingError {
    /// Its content cannot be read as what its kind holds.
    #[error("{0}")]
    Unreadable(String),
    /// It holds personal data.
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
}

/// How the content of an arriving document (an imported file) is checked.
#[derive(Debug, Clone, Copy)]
pub enum Content {
    /// Its fields are checked against the kind's fields in the catalog.
    Catalog,
    /// The owner reads the whole document itself; the catalog does not hold the kind.
    Own(fn(&mut AutoCommit) -> Result<(), IncomingError>),
}

/// Who may delete a document of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// Within a workspace, the organisation that created it or a coordinator; without one,
    /// anybody.
    CreatorOrCoordinator,
    /// Nobody: a delete is refused with `reason` (a phrase after "document ID"), and a tombstone
    /// that arrives anyway does not count.
    Never {
        /// Why, in Dutch: "is een ...; die kan niet worden verwijderd (...)".
        reason: &'static str,
    },
}

/// Whose changes to a document's fields count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    /// Everybody's.
    Anyone,
    /// The document is the workspace's small-number policy: within a workspace only
    /// coordinators' changes count, and never below the floor.
    CountPolicy,
}

/// The rules of one engine-owned kind.
#[derive(Debug, Clone)]
pub struct KindRules {
    /// The kind's name, one of [`ENGINE_OWNED`].
    pub name: &'static str,
    /// The kind's fields, when its documents keep them in the usual layout and the catalog holds
    /// them; these always replace what a definition might say.
    pub fields: Option<KindDef>,
    /// How an arriving document is checked.
    pub content: Content,
    /// Who may delete one.
    pub deletion: Deletion,
    /// Whether its documents are listed when no kind is asked for.
    pub listed_by_default: bool,
    /// Whether the report of a round covers its documents as documents (indicators and their
    /// kin are shown as figures instead, instances and definitions not at all).
    pub in_reports: bool,
    /// Whose changes count.
    pub changes: Changes,
    /// What the owner keeps of each document in the view index beside its view, if anything.
    pub summary: Option<Summary>,
}

/// What an owner keeps of a document of its kind in the view index (`replica/view_index/`),
/// computed from the document whenever its entry is: bytes its own lists read back instead of
/// loading every document. `None` when the document holds nothing to keep (it does not read as
/// what its kind holds). The bytes are the owner's; the replica only stores and returns them.
pub type Summary = fn(&mut AutoCommit) -> Option<Vec<u8>>;

/// The rules of a kind from a workflow definition.
static ORDINARY: KindRules = KindRules {
    name: "",
    fields: None,
    content: Content::Catalog,
    deletion: Deletion::CreatorOrCoordinator,
    listed_by_default: true,
    in_reports: true,
    changes: Changes::Anyone,
    summary: None,
};

/// A check every arriving document passes, whatever its kind (given as its second argument);
/// the error says what is wrong.
pub type DocumentCheck = fn(&AutoCommit, &str) -> Result<(), String>;

/// Checks a document's fields once an edit is applied: the kind, the fields after the edit,
/// which fields it changed, and every live document of the replica.
pub type FieldsCheck = fn(
    &KindDef,
    &BTreeMap<String, FieldValue>,
    &dyn Fn(&str) -> bool,
    &[DocView],
) -> Result<(), ValueError>;

/// A check an owner adds to edits of documents of any kind whose fields it is about.
#[derive(Debug, Clone, Copy)]
pub struct EditCheck {
    /// Whether edits of this kind need the check (so others need not read documents for it).
    pub applies: fn(&KindDef) -> bool,
    /// Checks a document's fields once an edit is applied (`after`), for the fields the edit
    /// `changed`, given every live document of the replica.
    pub check: FieldsCheck,
}

/// What one owner gives: its kinds with their rules, and its checks on every document.
#[derive(Debug, Clone, Default)]
pub struct Owned {
    /// The kinds it owns.
    pub kinds: Vec<KindRules>,
    /// Checks on every arriving document.
    pub incoming: Vec<DocumentCheck>,
    /// Checks on edits.
    pub edits: Vec<EditCheck>,
}

/// The kinds in force: the catalog (the definitions' kinds plus the engine's kinds that keep
/// fields) and the rules of the engine-owned kinds.
#[derive(Debug, Clone, Default)]
pub struct Kinds {
    catalog: Catalog,
    rules: BTreeMap<&'static str, KindRules>,
    incoming: Vec<DocumentCheck>,
    edits: Vec<EditCheck>,
}

impl Kinds {
    /// The kinds of `definitions` together with what the `owners` give; an owner's fields
    /// replace a definition's kind of the same name.
    pub fn new(definitions: Catalog, owners: impl IntoIterator<Item = Owned>) -> Kinds {
        let mut kinds = Kinds {
            catalog: definitions,
            ..Kinds::default()
        };
        for owned in owners {
            for rules in owned.kinds {
                if let Some(fields) = &rules.fields {
                    kinds.catalog.insert(fields.clone());
                }
                kinds.rules.insert(rules.name, rules);
            }
            kinds.incoming.extend(owned.incoming);
            kinds.edits.extend(owned.edits);
        }
        kinds
    }

    /// The catalog of kinds with fields.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The rules of `kind`: its owner's, or those of a definition's kind.
    pub fn rules(&self, kind: &str) -> &KindRules {
        self.rules.get(kind).unwrap_or(&ORDINARY)
    }

    /// Whether `kind` is known here: in the catalog or owned by the engine.
    pub fn knows(&self, kind: &str) -> bool {
        self.rules.contains_key(kind) || self.catalog.kind(kind).is_some()
    }

    /// The kinds whose changes follow `changes`.
    pub fn with_changes(&self, changes: Changes) -> impl Iterator<Item = &'static str> + '_ {
        self.rules
            .values()
            .filter(move |r| r.changes == changes)
            .map(|r| r.name)
    }

    /// The checks every arriving document passes.
    pub fn incoming_checks(&self) -> &[DocumentCheck] {
        &self.incoming
    }

    /// The edit checks that apply to `kind`.
    pub fn edit_checks<'a>(&'a self, kind: &'a KindDef) -> impl Iterator<Item = &'a EditCheck> {
        self.edits.iter().filter(move |c| (c.applies)(kind))
    }
}
