//! Importing `.automerge` files: a document from elsewhere is checked whole before the store
//! is touched, then stored as new or merged into the copy that is already here.

use automerge::AutoCommit;

use super::{ImportOutcome, LoadedDoc, Replica, ReplicaError, field_names};
use crate::document::{self, BudgetError, DOCUMENT_BUDGET, DocView, Size};
use crate::kinds::{Content, IncomingError};
use crate::privacy;
use crate::store::Store;

impl<S: Store> Replica<S> {
    /// Imports an `.automerge` file: stores it if new, merges it if the document exists.
    ///
    /// The file must hold a document in the kompas layout whose kind and fields the catalog
    /// knows; anything else is refused before the store is touched.
    ///
    /// The file is measured against the document budget before Automerge loads it, and the
    /// merged document again before it is saved.
    pub fn import(&self, bytes: &[u8]) -> Result<ImportOutcome, ReplicaError> {
        document::measure(bytes, &DOCUMENT_BUDGET).map_err(|e| match e {
            BudgetError::Exceeded { .. } => ReplicaError::OverBudget(e),
            BudgetError::Unreadable(_) => {
                ReplicaError::BadImport(format!("geen Automerge-bestand ({e})"))
            }
        })?;
        let mut incoming = AutoCommit::load(bytes)
            .map_err(|e| ReplicaError::BadImport(format!("geen Automerge-bestand ({e})")))?;
        let view = document::read_view(&mut incoming)
            .map_err(|e| ReplicaError::BadImport(e.to_string()))?;
        // Some kinds the engine owns check their own content; every other kind is checked
        // against the catalog. Then every document passes the checks the owners add for all.
        match self.kinds().rules(&view.kind).content {
            Content::Own(check) => check(&mut incoming).map_err(|e| match e {
                IncomingError::Unreadable(reason) => ReplicaError::BadImport(reason),
                IncomingError::Privacy(e) => ReplicaError::Privacy(e),
            })?,
            Content::Catalog => self.check_imported_fields(&view)?,
        }
        for check in self.kinds().incoming_checks() {
            check(&incoming, &view.kind).map_err(ReplicaError::BadImport)?;
        }
        let id = view.id;
        match self.store.load(id.as_str())? {
            Some(_) => {
                let mut loaded = self.load(&id)?;
                let before = self.view(&mut loaded)?;
                if before.kind != view.kind {
                    return Err(ReplicaError::BadImport(format!(
                        "document {id} bestaat hier al als {}, het bestand zegt {}",
                        before.kind, view.kind
                    )));
                }
                loaded
                    .doc
                    .merge(&mut incoming)
                    .map_err(|e| ReplicaError::BadImport(e.to_string()))?;
                Size::of(&loaded.doc).check(&DOCUMENT_BUDGET)?;
                self.save(&mut loaded)?;
                Ok(ImportOutcome::Merged(id))
            }
            None => {
                let mut loaded = LoadedDoc {
                    id: id.clone(),
                    doc: incoming,
                    saved_heads: Vec::new(),
                };
                self.save(&mut loaded)?;
                Ok(ImportOutcome::Created(id))
            }
        }
    }

    /// Checks the fields of an imported document against the catalog.
    fn check_imported_fields(&self, view: &DocView) -> Result<(), ReplicaError> {
        let kind_def = self.kind(&view.kind)?;
        for (name, value) in &view.fields {
            let def = kind_def
                .field(name)
                .ok_or_else(|| ReplicaError::UnknownField {
                    kind: view.kind.clone(),
                    field: name.clone(),
                    known: field_names(kind_def),
                })?;
            def.check_value(value)?;
            privacy::check_value(name, value)?;
            if def.ty.holds_count() {
                let policy = self.small_number_policy()?;
                privacy::check_counts(
                    name,
                    &def.ty,
                    value.clone(),
                    policy.threshold,
                    policy.round_to,
                )?;
            }
        }
        Ok(())
    }
}
