//! A replica: this organisation's copy of the shared documents, on top of any [`Store`].
//!
//! The replica checks every edit against the catalog of kinds before it touches a document, and
//! reports an edit as done only after the store has made it durable.

use std::sync::{Arc, Mutex, MutexGuard};

use automerge::{AutoCommit, ChangeHash, transaction::CommitOptions};

use crate::catalog::{Catalog, KindDef};
use crate::document::{
    self, Assignment, BudgetError, ChangeNote, DocId, DocView, FieldValue, HistoryEntry,
    LayoutError, ValueError,
};
use crate::identity::{Identity, IdentityError};
use crate::kinds::Kinds;
use crate::privacy::{self, PrivacyError};
use crate::store::{Store, StoreError};
use crate::time::Timestamp;

const IDENTITY_KEY: &str = "identity";
/// Present once every local edit of the store is marked (see [`Replica::take_local_edits`]);
/// stores made before marks existed get every document marked once when they are opened.
const MARKS_KEPT_KEY: &str = "local-edits-marked";

/// Errors of replica operations, each naming what it is about.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The store has no identity: `init` was never run on it.
    #[error("deze kompas-map heeft nog geen organisatie; voer eerst `kompas init --org NAAM` uit")]
    NotInitialised,
    /// `init` on a store that already has an identity.
    #[error("deze kompas-map is al ingericht voor {0}")]
    AlreadyInitialised(String),
    /// The kind is not in the catalog.
    #[error("onbekende documentsoort {kind:?}; bekende soorten: {known}")]
    UnknownKind { kind: String, known: String },
    /// The field is not part of the kind.
    #[error("documentsoort {kind} heeft geen veld {field:?}; velden: {known}")]
    UnknownField {
        kind: String,
        field: String,
        known: String,
    },
    /// A value does not fit its field.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// No document with this id.
    #[error("geen document met id {0}")]
    NotFound(DocId),
    /// The document is deleted and cannot be edited.
    #[error("document {0} is verwijderd en kan niet meer worden bewerkt")]
    Deleted(DocId),
    /// The document's kind is never deleted (a workflow instance, a published definition);
    /// `reason` comes from the kind's rules.
    #[error("document {id} {reason}")]
    Undeletable { id: DocId, reason: &'static str },
    /// A link points at a missing document or one of the wrong kind.
    #[error("veld {field}: {target} is geen document van soort {expected}")]
    BadLink {
        field: String,
        target: String,
        expected: String,
    },
    /// A file handed to import is not an Automerge document in the kompas layout.
    #[error("dit is geen bruikbaar kompas-document: {0}")]
    BadImport(String),
    /// The document would be larger than the budget of one document; nothing was saved.
    #[error(transparent)]
    OverBudget(#[from] BudgetError),
    /// Generated id collided with an existing document.
    #[error("document-id {0} bestaat al")]
    IdTaken(DocId),
    /// The document in the store does not have the kompas layout.
    #[error("document {id}: {source}")]
    Layout { id: String, source: LayoutError },
    /// Bytes received from another replica could not be applied to a document.
    #[error("document {id}: ontvangen wijzigingen zijn onbruikbaar: {reason}")]
    Remote { id: DocId, reason: String },
    /// The stored identity is damaged.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// A value holds personal data (a BSN, a date of birth); nothing was saved.
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
    /// An edit names a version of the document this replica does not have.
    #[error(
        "document {0}: de versie waarop deze wijziging gebaseerd is, is hier onbekend; open het document opnieuw"
    )]
    UnknownVersion(DocId),
    /// An `organisatie` field names an organisation that is not a member of the workspace.
    #[error("veld {field}: {who:?} is geen organisatie van de samenwerking; kies uit: {known}")]
    NotAMember {
        field: String,
        who: String,
        known: String,
    },
    /// This organisation may not delete the document.
    #[error(
        "document {id} kan alleen worden verwijderd door {creator}, die het maakte, of door een coördinator"
    )]
    MayNotDelete { id: DocId, creator: String },
    /// A change of the small-number policy that is not allowed.
    #[error("{0}")]
    PolicyRefused(String),
    /// The member list of the workspace cannot be read.
    #[error("de ledenlijst van de samenwerking is niet leesbaar: {0}")]
    Members(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ReplicaError {
    /// Whether the error is about what the user asked (as opposed to the machine or the store).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            ReplicaError::UnknownKind { .. }
                | ReplicaError::UnknownField { .. }
                | ReplicaError::Value(_)
                | ReplicaError::Deleted(_)
                | ReplicaError::Undeletable { .. }
                | ReplicaError::BadLink { .. }
                | ReplicaError::BadImport(_)
                | ReplicaError::OverBudget(_)
                | ReplicaError::Privacy(_)
                | ReplicaError::UnknownVersion(_)
                | ReplicaError::NotAMember { .. }
                | ReplicaError::MayNotDelete { .. }
                | ReplicaError::PolicyRefused(_)
        )
    }
}

/// A document loaded for editing, with the heads the store already has.
pub struct LoadedDoc {
    /// The document's id.
    pub id: DocId,
    /// The Automerge document, writing as this replica's actor.
    pub doc: AutoCommit,
    saved_heads: Vec<ChangeHash>,
}

impl LoadedDoc {
    /// Whether the document has changes the store does not have yet.
    pub fn is_dirty(&mut self) -> bool {
        self.doc.get_heads() != self.saved_heads
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportOutcome {
    /// The document was new here.
    Created(DocId),
    /// The document existed; the file's changes were merged in.
    Merged(DocId),
}

/// This organisation's replica.
pub struct Replica<S: Store> {
    store: S,
    identity: Identity,
    kinds: Kinds,
    /// Held while a local edit is marked and written, and while sync takes up the marked
    /// documents, so an edit never lands between sync reading a document and clearing its mark.
    local_edits: Mutex<()>,
    /// Held while a document and its view entry are written, and while an entry is computed
    /// again from its document, so a repair never writes the view of an older version.
    writes: Mutex<()>,
    /// The view index as lists decoded it (`view_index.rs`).
    decoded: view_index::Decoded,
}

impl<S: Store> Replica<S> {
    /// Sets up a fresh store for the organisation described by `identity`, with `kinds` in
    /// force (`composition` is where replicas are made).
    pub(crate) fn init(store: S, identity: Identity, kinds: Kinds) -> Result<Self, ReplicaError> {
        if let Some(existing) = read_identity(&store)? {
            return Err(ReplicaError::AlreadyInitialised(existing.profile.name));
        }
        // The organisation's name travels in every change note and the member list.
        privacy::check_text("naam van de organisatie", &identity.profile.name)?;
        let body = serde_json::to_vec(&identity).map_err(|e| StoreError::Backend(e.to_string()))?;
        store.put_meta(IDENTITY_KEY, &body)?;
        store.put_meta(MARKS_KEPT_KEY, b"1")?;
        let replica = Replica {
            store,
            identity,
            kinds,
            local_edits: Mutex::new(()),
            writes: Mutex::new(()),
            decoded: view_index::Decoded::default(),
        };
        replica.ensure_view_index()?;
        Ok(replica)
    }

    /// Opens a store that `init` has set up, with `kinds` in force.
    pub(crate) fn open(store: S, kinds: Kinds) -> Result<Self, ReplicaError> {
        let identity = read_identity(&store)?.ok_or(ReplicaError::NotInitialised)?;
        if store.get_meta(MARKS_KEPT_KEY)?.is_none() {
            // Written before local edits were marked: any document may hold some.
            let ids = store.ids()?;
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            store.mark_local_edits(&ids)?;
            store.put_meta(MARKS_KEPT_KEY, b"1")?;
        }
        let replica = Replica {
            store,
            identity,
            kinds,
            local_edits: Mutex::new(()),
            writes: Mutex::new(()),
            decoded: view_index::Decoded::default(),
        };
        replica.ensure_view_index()?;
        Ok(replica)
    }

    /// Puts other kinds in force (the definitions in force, once they are read).
    pub(crate) fn set_kinds(&mut self, kinds: Kinds) {
        self.kinds = kinds;
    }

    /// The catalog in force.
    pub fn catalog(&self) -> &Catalog {
        self.kinds.catalog()
    }

    /// The kinds in force with their rules.
    pub fn kinds(&self) -> &Kinds {
        &self.kinds
    }

    /// Who this replica is.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Creates a document of `kind` with the given fields and returns its id.
    pub fn create(
        &self,
        kind: &str,
        assignments: &[Assignment],
        now: Timestamp,
        random: [u8; 8],
    ) -> Result<DocId, ReplicaError> {
        let kind_def = self.kind(kind)?;
        let values = self.check_assignments(kind_def, assignments, None)?;
        let id = DocId::generate(random);
        if self.store.load(id.as_str())?.is_some() {
            return Err(ReplicaError::IdTaken(id));
        }
        let mut doc = AutoCommit::new().with_actor(self.identity.actor_id()?);
        let layout = |e| ReplicaError::Layout {
            id: id.to_string(),
            source: e,
        };
        document::write_header(&mut doc, &id, kind, now).map_err(layout)?;
        for (def, value) in &values {
            if value.is_some() {
                document::write_field(&mut doc, def, value.as_ref()).map_err(layout)?;
            }
        }
        let mut loaded = LoadedDoc {
            id: id.clone(),
            doc,
            saved_heads: Vec::new(),
        };
        self.commit(&mut loaded, "aangemaakt", now)?;
        Ok(id)
    }

    /// Sets or clears fields of an existing document and returns its new state.
    pub fn update(
        &self,
        id: &DocId,
        assignments: &[Assignment],
        now: Timestamp,
    ) -> Result<DocView, ReplicaError> {
        let mut loaded = self.load(id)?;
        let view = self.view(&mut loaded)?;
        if view.deleted.is_some() {
            return Err(ReplicaError::Deleted(id.clone()));
        }
        let kind_def = self.kind(&view.kind)?;
        let values = self.check_assignments(kind_def, assignments, Some(&view.fields))?;
        for (def, value) in &values {
            document::write_field(&mut loaded.doc, def, value.as_ref()).map_err(|e| {
                ReplicaError::Layout {
                    id: id.to_string(),
                    source: e,
                }
            })?;
        }
        self.commit(&mut loaded, "bijgewerkt", now)?;
        self.view(&mut loaded)
    }

    /// The current state of a document (deleted documents too, marked as such), read from the
    /// view index (`view_index.rs`).
    pub fn get(&self, id: &DocId) -> Result<DocView, ReplicaError> {
        self.indexed_one(id)?
            .ok_or_else(|| ReplicaError::NotFound(id.clone()))
    }

    /// The current state of a document read from the document itself.
    fn get_loaded(&self, id: &DocId) -> Result<DocView, ReplicaError> {
        let mut loaded = self.load(id)?;
        self.view(&mut loaded)
    }

    /// All documents, optionally of one kind, sorted by creation time; tombstones only if asked.
    /// Read from the view index, not from the documents.
    /// Each view is a copy of its own; [`Replica::list_shared`] gives the same list without
    /// copying the views.
    pub fn list(
        &self,
        kind: Option<&str>,
        include_deleted: bool,
    ) -> Result<Vec<DocView>, ReplicaError> {
        self.listed(kind, include_deleted, |found| {
            Arc::unwrap_or_clone(found.view)
        })
    }

    /// What [`Replica::list`] lists, each view shared with the replica's copy of the decoded
    /// index instead of copied: a list of 10,000 documents then costs little more than
    /// walking the index in memory. `kompas doc list` and the document pages read this.
    pub fn list_shared(
        &self,
        kind: Option<&str>,
        include_deleted: bool,
    ) -> Result<Vec<Arc<DocView>>, ReplicaError> {
        self.listed(kind, include_deleted, |found| found.view)
    }

    /// The live documents of `kind` as [`Replica::list`] gives them, each with the summary the
    /// kind's owner keeps of it in the view index ([`crate::kinds::Summary`]); `None` where the
    /// index holds none for a document (its owner then reads the document itself).
    pub fn list_summarised(&self, kind: &str) -> Result<Vec<Indexed>, ReplicaError> {
        self.listed(Some(kind), false, |found| Indexed {
            view: Arc::unwrap_or_clone(found.view),
            summary: found.summary.map(|s| s.to_vec()),
        })
    }

    /// What [`Replica::list`] lists, each made into what the caller wants by `take`.
    fn listed<T>(
        &self,
        kind: Option<&str>,
        include_deleted: bool,
        take: impl Fn(Shared) -> T,
    ) -> Result<Vec<T>, ReplicaError> {
        if let Some(kind) = kind
            && !self.kinds.knows(kind)
        {
            self.kind(kind)?;
        }
        // Some kinds (workflow instances, published definitions) are documents too, but are
        // listed only when asked for.
        let wanted = |k: &str| match kind {
            Some(wanted) => wanted == k,
            None => self.kinds.rules(k).listed_by_default,
        };
        let found = self.indexed(&wanted)?;
        // The index gives the views in id order, so sorting their positions by creation time
        // orders them by (created, id); the views themselves move once, not at every step of
        // the sort.
        let mut order: Vec<(Timestamp, usize)> = found
            .iter()
            .enumerate()
            .filter(|(_, found)| include_deleted || found.view.deleted.is_none())
            .map(|(at, found)| (found.view.created, at))
            .collect();
        order.sort_unstable();
        let mut found: Vec<Option<Shared>> = found.into_iter().map(Some).collect();
        Ok(order
            .into_iter()
            .filter_map(|(_, at)| found.get_mut(at).and_then(Option::take))
            .map(take)
            .collect())
    }

    /// Marks a document deleted. Its content and history stay, so the deletion itself syncs.
    pub fn delete(&self, id: &DocId, now: Timestamp) -> Result<(), ReplicaError> {
        let mut loaded = self.load(id)?;
        let view = self.view(&mut loaded)?;
        self.check_delete(id, &mut loaded.doc, &view.kind)?;
        if view.deleted.is_some() {
            return Ok(());
        }
        document::write_tombstone(&mut loaded.doc, now).map_err(|e| ReplicaError::Layout {
            id: id.to_string(),
            source: e,
        })?;
        self.commit(&mut loaded, "verwijderd", now)
    }

    /// Brings a deleted document back with the content it had; its history shows who did.
    /// Returns whether it was deleted.
    pub fn restore(&self, id: &DocId, now: Timestamp) -> Result<bool, ReplicaError> {
        let mut loaded = self.load(id)?;
        if self.view(&mut loaded)?.deleted.is_none() {
            return Ok(false);
        }
        document::clear_tombstone(&mut loaded.doc).map_err(|e| ReplicaError::Layout {
            id: id.to_string(),
            source: e,
        })?;
        self.commit(&mut loaded, "hersteld", now)?;
        Ok(true)
    }

    /// Every change of a document with its author and what it changed.
    pub fn history(&self, id: &DocId) -> Result<Vec<HistoryEntry>, ReplicaError> {
        let mut loaded = self.load(id)?;
        Ok(document::history(&mut loaded.doc))
    }

    /// The document as a standard `.automerge` file.
    pub fn export(&self, id: &DocId) -> Result<Vec<u8>, ReplicaError> {
        Ok(self.load(id)?.doc.save())
    }

    /// A new, empty document writing as this replica's actor, for other engine layers to fill
    /// and then [`Replica::commit`].
    pub fn new_doc(&self, id: &DocId) -> Result<LoadedDoc, ReplicaError> {
        if self.store.load(id.as_str())?.is_some() {
            return Err(ReplicaError::IdTaken(id.clone()));
        }
        Ok(LoadedDoc {
            id: id.clone(),
            doc: AutoCommit::new().with_actor(self.identity.actor_id()?),
            saved_heads: Vec::new(),
        })
    }

    /// Loads a document for editing by other engine layers (workflows, sync).
    pub fn load(&self, id: &DocId) -> Result<LoadedDoc, ReplicaError> {
        let joined = self
            .store
            .load_joined(id.as_str())?
            .ok_or_else(|| ReplicaError::NotFound(id.clone()))?;
        let mut doc = crate::store::load_joined(&joined)?;
        drop(joined);
        doc.set_actor(self.identity.actor_id()?);
        let saved_heads = doc.get_heads();
        Ok(LoadedDoc {
            id: id.clone(),
            doc,
            saved_heads,
        })
    }

    /// Commits pending operations with this organisation's note and saves durably.
    pub fn commit(
        &self,
        loaded: &mut LoadedDoc,
        action: &str,
        now: Timestamp,
    ) -> Result<(), ReplicaError> {
        let note = ChangeNote {
            org_id: self.identity.profile.org_id.clone(),
            org: self.identity.profile.name.clone(),
            action: action.to_string(),
        };
        loaded.doc.commit_with(
            CommitOptions::default()
                .with_message(note.to_message())
                .with_time(now.change_seconds()),
        );
        self.save(loaded)
    }

    /// Durably saves whatever the document holds beyond what the store has, as a local edit:
    /// the document is marked for sync to take up (see [`Replica::take_local_edits`]).
    pub fn save(&self, loaded: &mut LoadedDoc) -> Result<(), ReplicaError> {
        let _edits = self.lock_local_edits();
        if loaded.is_dirty() {
            // The mark is durable before the edit is: a crash in between leaves a mark on a
            // document without new edits, which sync reads once and finds nothing in.
            self.store.mark_local_edits(&[loaded.id.as_str()])?;
        }
        self.write(loaded)
    }

    /// Durably saves whatever the document holds beyond what the store has, without marking
    /// it (changes that came from other organisations), with its view entry in the same write.
    fn write(&self, loaded: &mut LoadedDoc) -> Result<(), ReplicaError> {
        self.write_as(loaded, None)
    }

    /// Like [`Replica::write`]; `chunk`, if given, holds exactly the changes the document has
    /// beyond what is stored, as they were received (see [`Store::persist_chunk`]).
    fn write_as(&self, loaded: &mut LoadedDoc, chunk: Option<&[u8]>) -> Result<(), ReplicaError> {
        if !loaded.is_dirty() {
            return Ok(());
        }
        let _writes = self.lock_writes();
        let entry = self.index_entry(&loaded.id, &mut loaded.doc);
        let id = loaded.id.as_str();
        loaded.saved_heads = match chunk {
            Some(chunk) => self
                .store
                .persist_chunk(id, &mut loaded.doc, chunk, &entry)?,
            None => self
                .store
                .persist(id, &mut loaded.doc, &loaded.saved_heads, &entry)?,
        };
        Ok(())
    }

    /// Hands the documents with local edits that were not taken up yet to `take`, and clears
    /// their marks once it succeeds. `take` must have made durable whatever it needs of those
    /// edits before it returns `Ok`; if it fails, the marks stay for the next call. Local edits
    /// wait while `take` runs, so `take` must not save documents of this replica itself.
    ///
    /// Only edits saved through [`Replica::save`] (and so `create`, `update`, `delete`,
    /// `commit`, `import`) are marked; changes applied by [`Replica::apply_remote`] are not.
    pub fn take_local_edits<T, E: From<ReplicaError>>(
        &self,
        take: impl FnOnce(&[DocId]) -> Result<T, E>,
    ) -> Result<T, E> {
        let _edits = self.lock_local_edits();
        let marked = self.store.local_edits().map_err(ReplicaError::from)?;
        // A mark that is not a document id can only be cleared.
        let docs: Vec<DocId> = marked.iter().filter_map(|m| DocId::parse(m).ok()).collect();
        let out = take(&docs)?;
        let marked: Vec<&str> = marked.iter().map(String::as_str).collect();
        self.store
            .clear_local_edits(&marked)
            .map_err(ReplicaError::from)?;
        Ok(out)
    }

    fn lock_writes(&self) -> MutexGuard<'_, ()> {
        // Like `local_edits`, it guards the order of writes, not data.
        self.writes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_local_edits(&self) -> MutexGuard<'_, ()> {
        // The lock guards no data, only the order of writes; a panic elsewhere cannot spoil it.
        self.local_edits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The typed view of a loaded document.
    /// A tombstone counts only when an organisation that may delete the document wrote it
    /// (`rights.rs`), so a forged delete that arrived by sync shows the document as it was.
    pub fn view(&self, loaded: &mut LoadedDoc) -> Result<DocView, ReplicaError> {
        let mut view = document::read_view(&mut loaded.doc).map_err(|e| ReplicaError::Layout {
            id: loaded.id.to_string(),
            source: e,
        })?;
        if view.deleted.is_some() && !self.tombstone_counts(&mut loaded.doc, &view.kind)? {
            view.deleted = None;
        }
        Ok(view)
    }

    pub(super) fn kind(&self, kind: &str) -> Result<&KindDef, ReplicaError> {
        self.catalog()
            .kind(kind)
            .ok_or_else(|| ReplicaError::UnknownKind {
                kind: kind.to_string(),
                known: self
                    .catalog()
                    .kinds()
                    .map(|k| k.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Checks every assignment before anything is written: all of them pass, or nothing changes.
    /// Every value also passes the privacy guard: no BSN or date of birth enters a shared document.
    /// `existing` holds the document's fields before the edit (`None` for a new document), so
    /// that numbers in an indicator's unit are checked against the indicator the document names.
    fn check_assignments<'k>(
        &self,
        kind: &'k KindDef,
        assignments: &[Assignment],
        existing: Option<&std::collections::BTreeMap<String, FieldValue>>,
    ) -> Result<Vec<(&'k crate::catalog::FieldDef, Option<FieldValue>)>, ReplicaError> {
        let mut out = Vec::with_capacity(assignments.len());
        for a in assignments {
            let def = kind
                .field(&a.field)
                .ok_or_else(|| ReplicaError::UnknownField {
                    kind: kind.name.clone(),
                    field: a.field.clone(),
                    known: field_names(kind),
                })?;
            if a.value.trim().is_empty() {
                out.push((def, None));
                continue;
            }
            let mut value = def.parse_value(&a.value)?;
            privacy::check_value(&def.name, &value)?;
            if def.ty.holds_count() {
                let policy = self.small_number_policy()?;
                value = privacy::check_counts(
                    &def.name,
                    &def.ty,
                    value,
                    policy.threshold,
                    policy.round_to,
                )?;
            }
            if let (crate::catalog::FieldType::Organisation, FieldValue::Text(who)) =
                (&def.ty, &value)
            {
                value = FieldValue::Text(self.organisation_id(&def.name, who)?);
            }
            if let (
                crate::catalog::FieldType::Link { kind: target_kind },
                FieldValue::Text(target),
            ) = (&def.ty, &value)
            {
                self.check_link(&def.name, target, target_kind)?;
            }
            out.push((def, Some(value)));
        }
        let checks: Vec<_> = self.kinds.edit_checks(kind).collect();
        if !checks.is_empty() {
            let mut after = existing.cloned().unwrap_or_default();
            for (def, value) in &out {
                match value {
                    Some(v) => after.insert(def.name.clone(), v.clone()),
                    None => after.remove(&def.name),
                };
            }
            let changed = |name: &str| out.iter().any(|(def, _)| def.name == name);
            let docs = self.list(None, false)?;
            for check in checks {
                (check.check)(kind, &after, &changed, &docs)?;
            }
        }
        Ok(out)
    }

    fn check_link(&self, field: &str, target: &str, expected: &str) -> Result<(), ReplicaError> {
        let bad = || ReplicaError::BadLink {
            field: field.to_string(),
            target: target.to_string(),
            expected: expected.to_string(),
        };
        let id = DocId::parse(target).map_err(|_| bad())?;
        match self.get(&id) {
            Ok(view) if view.kind == expected && view.deleted.is_none() => Ok(()),
            Ok(_) | Err(ReplicaError::NotFound(_)) => Err(bad()),
            Err(e) => Err(e),
        }
    }
}

pub(super) fn field_names(kind: &KindDef) -> String {
    kind.fields
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_identity<S: Store>(store: &S) -> Result<Option<Identity>, ReplicaError> {
    match store.get_meta(IDENTITY_KEY)? {
        None => Ok(None),
        Some(body) => serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| ReplicaError::Identity(IdentityError(e.to_string()))),
    }
}

mod count_policy;
mod floor;
mod import;
mod merge_save;
mod organisations;
mod received;
mod remote;
mod rights;
mod versions;
mod view_index;

pub use merge_save::{ConcurrentEdit, MergedSave};
pub use organisations::Organisation;
pub use received::{Admit, Incoming, Landed, Received};
pub use remote::{OwnChanges, RemoteApply};
pub use rights::POLICY_FLOOR;
pub use view_index::Indexed;
use view_index::Shared;

#[cfg(test)]
mod tests;
