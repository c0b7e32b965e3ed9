//! Applying, in one go, what other organisations sent for one document: the document is loaded
//! once, every piece is applied to it, and it is written once, so a page of bundles for the
//! same document costs one read and one write instead of one of each per bundle; the documents
//! of one batch are made durable together, with one flush.
//!
//! Each piece still gets its own outcome. A piece that would fail the document as a whole (it
//! does not decode, it takes the document past its budget, it belongs to another document)
//! makes the batch fall back to one piece at a time, so only that piece is refused.

use automerge::{AutoCommit, Change, ChangeHash};

use super::{LoadedDoc, Replica, ReplicaError};
use crate::document::{self, DOCUMENT_BUDGET, DocId, Size};
use crate::store::Store;

/// What another organisation sent for a document, decoded and measured by the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// Automerge changes, in the order they were sent.
    Changes(Vec<Change>),
    /// A full saved document (a snapshot).
    Save(Vec<u8>),
}

/// When a piece is applied, given whether the document holds all of it already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Apply it.
    Always,
    /// It may be a copy of something applied before: if the document holds all of it, it is
    /// [`Landed::Held`] and nothing is applied; otherwise it is applied.
    UnlessHeld,
    /// Only a copy of something applied before is let through: [`Landed::Held`] if the
    /// document holds all of it, [`Landed::NotHeld`] otherwise; nothing is applied either way.
    OnlyIfHeld,
}

/// One piece for a document, with its rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// What was sent.
    pub content: Received,
    /// When it is applied.
    pub admit: Admit,
}

/// What became of one piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landed {
    /// It is in the document, durably.
    Applied,
    /// It waits for changes it depends on that are not here yet; nothing of it was kept.
    Waiting,
    /// The document held all of it already (see [`Admit`]).
    Held,
    /// The document does not hold it and its rule let only a copy through (see [`Admit`]).
    NotHeld,
    /// It was refused (undecodable, past the document budget, another document's content).
    Refused(String),
}

impl<S: Store> Replica<S> {
    /// Applies `pieces` to document `id` in order and writes the document once, durably.
    /// Returns one outcome per piece, in the same order. The document is not marked as
    /// locally edited (see [`Replica::apply_remote`]). Errors are store failures only.
    pub fn apply_received(
        &self,
        id: &DocId,
        pieces: Vec<Incoming>,
    ) -> Result<Vec<Landed>, ReplicaError> {
        if pieces.len() > 1 {
            let mut loaded = self.load_or_new(id)?;
            if let Ok((landed, chunk)) = land_all(&mut loaded, pieces.clone())
                && checked(&mut loaded).is_ok()
            {
                self.write_as(&mut loaded, chunk.as_deref())?;
                return Ok(landed);
            }
        }
        pieces
            .into_iter()
            .map(|piece| self.apply_received_alone(id, piece))
            .collect()
    }

    /// [`Replica::apply_received`] for several documents, durable together: one flush for all
    /// of them (see [`Store::durable_together`]). Returns the outcomes per document, in order.
    pub fn apply_received_all(
        &self,
        docs: Vec<(DocId, Vec<Incoming>)>,
    ) -> Result<Vec<Vec<Landed>>, ReplicaError> {
        self.store.durable_together(|| {
            docs.into_iter()
                .map(|(id, pieces)| self.apply_received(&id, pieces))
                .collect()
        })
    }

    fn apply_received_alone(&self, id: &DocId, piece: Incoming) -> Result<Landed, ReplicaError> {
        let mut loaded = self.load_or_new(id)?;
        let landed = land_all(&mut loaded, vec![piece]).and_then(|(mut landed, chunk)| {
            checked(&mut loaded)?;
            Ok((landed.pop().unwrap_or(Landed::Waiting), chunk))
        });
        match landed {
            Ok((landed, chunk)) => {
                self.write_as(&mut loaded, chunk.as_deref())?;
                Ok(landed)
            }
            Err(e) => Ok(Landed::Refused(e.to_string())),
        }
    }

    /// The document as stored, or a new empty one if it is not here yet.
    pub(super) fn load_or_new(&self, id: &DocId) -> Result<LoadedDoc, ReplicaError> {
        match self.load(id) {
            Ok(loaded) => Ok(loaded),
            Err(ReplicaError::NotFound(_)) => Ok(LoadedDoc {
                id: id.clone(),
                doc: AutoCommit::new().with_actor(self.identity.actor_id()?),
                saved_heads: Vec::new(),
            }),
            Err(e) => Err(e),
        }
    }
}

/// Applies every piece to the document in memory and says what became of each, once all of
/// them are in (a piece that waited for a later one in the same batch counts as applied).
/// Also returns the changes that went in as they were received, one chunk after the other,
/// when nothing else went in (no save): what the store writes instead of encoding them again.
/// An error if Automerge refused one of them.
fn land_all(
    loaded: &mut LoadedDoc,
    pieces: Vec<Incoming>,
) -> Result<(Vec<Landed>, Option<Vec<u8>>), ReplicaError> {
    let refused = |e: automerge::AutomergeError| remote(&loaded.id, e.to_string());
    // Per piece: decided already (held or not), or applied and judged once all are in.
    let mut judged: Vec<Result<Landed, Option<Vec<ChangeHash>>>> = Vec::new();
    // The changes not here before, as received; `None` once a save went in.
    let mut fresh: Option<Vec<(ChangeHash, Vec<u8>)>> = Some(Vec::new());
    for piece in pieces {
        if piece.admit != Admit::Always && holds(&mut loaded.doc, &piece.content) {
            judged.push(Ok(Landed::Held));
            continue;
        }
        if piece.admit == Admit::OnlyIfHeld {
            judged.push(Ok(Landed::NotHeld));
            continue;
        }
        match piece.content {
            Received::Changes(changes) => {
                let hashes = changes.iter().map(Change::hash).collect();
                if let Some(fresh) = &mut fresh {
                    fresh.extend(
                        changes
                            .iter()
                            .filter(|c| loaded.doc.get_change_by_hash(&c.hash()).is_none())
                            .map(|c| (c.hash(), c.raw_bytes().to_vec())),
                    );
                }
                loaded.doc.apply_changes(changes).map_err(refused)?;
                judged.push(Err(Some(hashes)));
            }
            Received::Save(data) => {
                fresh = None;
                loaded.doc.load_incremental(&data).map_err(refused)?;
                judged.push(Err(None));
            }
        }
    }
    let complete = loaded.doc.get_missing_deps(&[]).is_empty();
    // Of the fresh changes, those that went in (not those still waiting), each once.
    let chunk = fresh.map(|fresh| {
        let mut seen = std::collections::BTreeSet::new();
        fresh
            .into_iter()
            .filter(|(hash, _)| loaded.doc.get_change_by_hash(hash).is_some() && seen.insert(*hash))
            .flat_map(|(_, bytes)| bytes)
            .collect()
    });
    let landed = judged
        .into_iter()
        .map(|judged| match judged {
            Ok(landed) => landed,
            Err(Some(hashes)) => {
                if hashes
                    .iter()
                    .all(|h| loaded.doc.get_change_by_hash(h).is_some())
                {
                    Landed::Applied
                } else {
                    Landed::Waiting
                }
            }
            // A save carries its whole history; it waits only if something still does.
            Err(None) if complete => Landed::Applied,
            Err(None) => Landed::Waiting,
        })
        .collect();
    Ok((landed, chunk))
}

/// Whether the document holds all of `content` already: every change, or everything a save
/// would add (neither new changes nor new ones waiting for their dependencies).
fn holds(doc: &mut AutoCommit, content: &Received) -> bool {
    match content {
        Received::Changes(changes) => changes
            .iter()
            .all(|change| doc.get_change_by_hash(&change.hash()).is_some()),
        Received::Save(data) => {
            let mut trial = doc.clone();
            let heads = trial.get_heads();
            let missing = trial.get_missing_deps(&[]);
            trial.load_incremental(data).is_ok()
                && trial.get_heads() == heads
                && trial.get_missing_deps(&[]) == missing
        }
    }
}

/// The document with what was applied stays within its budget and is still the document it
/// was loaded as.
pub(super) fn checked(loaded: &mut LoadedDoc) -> Result<(), ReplicaError> {
    if !loaded.is_dirty() {
        return Ok(());
    }
    Size::of(&loaded.doc)
        .check(&DOCUMENT_BUDGET)
        .map_err(|e| remote(&loaded.id, e.to_string()))?;
    if let Ok(view) = document::read_view(&mut loaded.doc)
        && view.id != loaded.id
    {
        return Err(remote(
            &loaded.id,
            format!("de inhoud hoort bij document {}", view.id),
        ));
    }
    Ok(())
}

/// A refusal of what another replica sent for document `id`.
pub(super) fn remote(id: &DocId, reason: String) -> ReplicaError {
    ReplicaError::Remote {
        id: id.clone(),
        reason,
    }
}
