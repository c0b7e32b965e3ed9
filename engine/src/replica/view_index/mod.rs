//! The view index: per document its view (kind, created, deleted, fields, heads) as bytes beside
//! the document in the store, so lists and pages read small entries instead of loading and
//! reading every Automerge document.
//!
//! - Every write of a document goes through [`Replica::write`], which computes the entry from the
//!   document it saves and hands both to the store in one atomic write (`Store::persist`), so an
//!   entry never describes another version than the stored one.
//! - An entry that cannot be read back (damaged, empty, or of another format) is computed again
//!   from its document and written when it is met; a missing index (no format mark, as in a
//!   store written before the index existed, or one whose rebuild a crash interrupted) is rebuilt
//!   whole from the documents when the replica opens.
//! - Whether a tombstone counts depends on who the coordinators are now (`rights.rs`). The entry
//!   keeps the verdict with a fingerprint of the coordinator set it was decided under; a verdict
//!   under another set is decided again from the document. A kind that is never deleted is
//!   decided from the kinds in force when the entry is read.
//!
//! - A kind's owner may keep a summary of each of its documents beside the view
//!   ([`crate::kinds::Summary`], as workflow instances keep their verified facts), computed in
//!   the same step as the view, so its lists need not load the documents either.
//!
//! Entries use the project's byte codec (`sync::wire::codec`): a list of 10,000 entries must
//! decode in a few milliseconds, which a text format does not.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::AutoCommit;

use super::{Replica, ReplicaError};
use crate::document::{self, DocId, DocView, FieldValue};
use crate::store::Store;
use crate::sync::wire::WireError;
use crate::sync::wire::codec::{Reader, Writer};
use crate::time::Timestamp;

/// The index entry that marks the index as complete in this format; not a document id, so lists
/// never take it for one. A change of the entries' shape changes [`FORMAT`], and a store with
/// another mark is rebuilt.
const FORMAT_KEY: &str = "_views-format";
const FORMAT: u8 = 2;
/// The first byte of an entry holding a view.
const VIEW: u8 = 1;
/// The first byte of an entry for a document without the kompas layout: lists read the
/// document itself, to report it as before.
const UNREADABLE: u8 = 2;

/// Whether a tombstone counts, decided under a coordinator set (its fingerprint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verdict {
    rights: [u8; 32],
    counts: bool,
}

/// A view read from the index, with the summary of its kind's owner when that was asked for
/// and the entry holds one.
#[derive(Debug, Clone, PartialEq)]
pub struct Indexed {
    /// The document's view.
    pub view: DocView,
    /// What its kind's owner keeps of it ([`crate::kinds::Summary`]), if at hand.
    pub summary: Option<Vec<u8>>,
}

/// A view read from the index as lists hand it on: shared with the replica's decoded entries
/// (see [`Decoded`]) unless its tombstone had to be judged again.
pub(super) struct Shared {
    /// The document's view.
    pub(super) view: Arc<DocView>,
    /// What its kind's owner keeps of it, if the entry holds it.
    pub(super) summary: Option<Arc<[u8]>>,
}

/// One entry read back whole.
enum Entry {
    /// The view as the document holds it (its tombstone not yet judged), the verdict on the
    /// tombstone, if it has one, and the summary its kind's owner keeps, if any.
    View {
        view: Arc<DocView>,
        verdict: Option<Verdict>,
        summary: Option<Arc<[u8]>>,
    },
    /// The document (this one) does not have the kompas layout.
    Unreadable(DocId),
}

/// The entries lists decoded, each beside the bytes it was decoded from, so the next list
/// decodes only the entries written since. The store hands out the same bytes (the same
/// `Arc`) until an entry is written again, so an entry whose bytes are the ones kept here is
/// decoded already; the kept `Arc` keeps those bytes alive, so their address cannot be taken
/// by other bytes meanwhile. As large as the decoded index: one view per listed document.
#[derive(Default)]
pub(super) struct Decoded {
    entries: Mutex<DecodedEntries>,
}

/// Per document id: the entry's bytes as the store handed them out, and what they decoded to.
type DecodedEntries = HashMap<Arc<str>, (Arc<[u8]>, Arc<Entry>)>;

impl Decoded {
    fn lock(&self) -> MutexGuard<'_, DecodedEntries> {
        // Every update is one insert of a whole entry, so what a panic left is still right.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<S: Store> Replica<S> {
    /// The index entry for `doc` as it is now.
    pub(super) fn index_entry(&self, id: &DocId, doc: &mut AutoCommit) -> Vec<u8> {
        let Ok(view) = document::read_view(doc) else {
            return vec![UNREADABLE];
        };
        if view.id != *id {
            return vec![UNREADABLE];
        }
        // A failure to read the member list leaves the verdict open: it is decided when read.
        let verdict = match view.deleted {
            Some(_) => self.rights_fingerprint().ok().and_then(|rights| {
                let counts = self.tombstone_by_deleter(doc).ok()?;
                Some(Verdict { rights, counts })
            }),
            None => None,
        };
        let summary = self
            .kinds()
            .rules(&view.kind)
            .summary
            .and_then(|summarise| summarise(doc));
        encode(&view, verdict, summary.as_deref())
    }

    /// Rebuilds the index from the documents unless it is complete in this format.
    pub(super) fn ensure_view_index(&self) -> Result<(), ReplicaError> {
        if self.store.view(FORMAT_KEY)?.as_deref() == Some(&[FORMAT]) {
            return Ok(());
        }
        let _writes = self.lock_writes();
        let mut entries = Vec::new();
        for raw in self.store.ids()? {
            let Ok(id) = DocId::parse(&raw) else { continue };
            let Some(stored) = self.store.load(&raw)? else {
                continue;
            };
            // A document that does not load is listed as unreadable, as a damaged entry of it
            // would be; reading it reports the damage.
            let entry = match stored.load() {
                Ok(mut doc) => self.index_entry(&id, &mut doc),
                Err(_) => vec![UNREADABLE],
            };
            entries.push((raw, entry));
        }
        self.store.put_views(&entries)?;
        // The mark goes last: a crash before it leaves a store that is rebuilt again.
        self.store
            .put_views(&[(FORMAT_KEY.to_string(), vec![FORMAT])])?;
        Ok(())
    }

    /// The views of the indexed documents whose kind `wanted` accepts, tombstones judged as
    /// [`Replica::view`] judges them, in id order, each with the summary its kind's owner
    /// keeps if the entry holds one. Entries decoded by an earlier list are not decoded again.
    pub(super) fn indexed(
        &self,
        wanted: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<Shared>, ReplicaError> {
        let listed = self
            .store
            .views_where(&|bytes| may_be_wanted(bytes, wanted))?;
        let mut rights = None;
        let mut out = Vec::with_capacity(listed.len());
        let mut decoded = self.decoded.lock();
        for (raw, bytes) in listed {
            let entry = match decoded.get(&*raw) {
                Some((kept, entry)) if Arc::ptr_eq(kept, &bytes) => entry.clone(),
                _ => {
                    let Ok(id) = DocId::parse(&raw) else { continue };
                    match decode(&id, &bytes) {
                        Ok(entry) => {
                            let entry = Arc::new(entry);
                            decoded.insert(raw, (bytes, entry.clone()));
                            entry
                        }
                        // Repaired and written: the next list decodes and keeps the repair.
                        Err(_) => match self.reindexed(&id)? {
                            Some(entry) => Arc::new(entry),
                            None => continue,
                        },
                    }
                }
            };
            if let Some(found) = self.judged(&entry, wanted, &mut rights)? {
                out.push(found);
            }
        }
        Ok(out)
    }

    /// The view of one document from the index; `None` when there is no such document.
    pub(super) fn indexed_one(&self, id: &DocId) -> Result<Option<DocView>, ReplicaError> {
        let entry = match self.store.view(id.as_str())? {
            Some(bytes) => match decode(id, &bytes) {
                Ok(entry) => Some(entry),
                Err(_) => self.reindexed(id)?,
            },
            // Never written since the index is complete: no such document, unless it is
            // in the store without an entry, which is then computed and written.
            None => self.reindexed(id)?,
        };
        let Some(entry) = entry else { return Ok(None) };
        Ok(self
            .judged(&entry, &|_| true, &mut None)?
            .map(|found| Arc::unwrap_or_clone(found.view)))
    }

    /// The entry of `id` computed again from its document, written, and read back; `None`
    /// when the document is not in the store.
    fn reindexed(&self, id: &DocId) -> Result<Option<Entry>, ReplicaError> {
        Ok(self
            .reindex(id)?
            .map(|fresh| decode(id, &fresh).unwrap_or_else(|_| Entry::Unreadable(id.clone()))))
    }

    /// Judges one entry: its view with the tombstone judged, `None` for a kind not `wanted`.
    /// An unreadable document is read itself, which reports its damage. A view read from the
    /// document itself comes without a summary.
    fn judged(
        &self,
        entry: &Entry,
        wanted: &dyn Fn(&str) -> bool,
        rights: &mut Option<[u8; 32]>,
    ) -> Result<Option<Shared>, ReplicaError> {
        let from_document = |view: DocView| Shared {
            view: Arc::new(view),
            summary: None,
        };
        let (view, verdict, summary) = match entry {
            Entry::Unreadable(id) => {
                let view = self.get_loaded(id)?;
                return Ok(wanted(&view.kind).then(|| from_document(view)));
            }
            Entry::View {
                view,
                verdict,
                summary,
            } => (view, verdict, summary),
        };
        if !wanted(&view.kind) {
            return Ok(None);
        }
        let mut view = view.clone();
        if view.deleted.is_some() {
            let never = matches!(
                self.kinds().rules(&view.kind).deletion,
                crate::kinds::Deletion::Never { .. }
            );
            let now = match rights {
                Some(r) => *r,
                None => *rights.insert(self.rights_fingerprint()?),
            };
            let counts = match verdict {
                _ if never => false,
                Some(v) if v.rights == now => v.counts,
                // Decided under other coordinators, or not decided: ask the document.
                _ => return Ok(Some(from_document(self.get_loaded(&view.id)?))),
            };
            if !counts {
                Arc::make_mut(&mut view).deleted = None;
            }
        }
        Ok(Some(Shared {
            view,
            summary: summary.clone(),
        }))
    }

    /// Computes the entry of `id` again from its document and writes it; `None` when the
    /// document is not in the store.
    fn reindex(&self, id: &DocId) -> Result<Option<Vec<u8>>, ReplicaError> {
        let _writes = self.lock_writes();
        let Some(stored) = self.store.load(id.as_str())? else {
            return Ok(None);
        };
        let entry = match stored.load() {
            Ok(mut doc) => self.index_entry(id, &mut doc),
            Err(_) => vec![UNREADABLE],
        };
        self.store
            .put_views(&[(id.as_str().to_string(), entry.clone())])?;
        Ok(Some(entry))
    }

    /// A fingerprint of who may delete documents now: the coordinator set, or none without a
    /// workspace.
    fn rights_fingerprint(&self) -> Result<[u8; 32], ReplicaError> {
        let mut hasher = blake3::Hasher::new();
        match self.coordinators()? {
            None => {
                hasher.update(b"geen samenwerking");
            }
            Some(orgs) => {
                for org in orgs {
                    hasher.update(org.as_bytes());
                    hasher.update(&[0]);
                }
            }
        }
        Ok(*hasher.finalize().as_bytes())
    }
}

fn encode(view: &DocView, verdict: Option<Verdict>, summary: Option<&[u8]>) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(VIEW);
    w.str(&view.kind);
    w.i64(view.created.0);
    w.option(view.deleted.as_ref(), |w, t| w.i64(t.0));
    w.option(verdict.as_ref(), |w, v| {
        w.fixed(&v.rights);
        w.bool(v.counts);
    });
    w.list(&view.heads, |w, h| w.str(h));
    encode_fields(&mut w, &view.fields);
    w.option(summary.as_ref(), |w, s| w.bytes(s));
    w.into_bytes()
}

fn encode_fields(w: &mut Writer, fields: &BTreeMap<String, FieldValue>) {
    let fields: Vec<_> = fields.iter().collect();
    w.list(&fields, |w, (name, value)| {
        w.str(name);
        match value {
            FieldValue::Text(s) => {
                w.u8(0);
                w.str(s);
            }
            FieldValue::Number(n) => {
                w.u8(1);
                w.u64(n.to_bits());
            }
            FieldValue::List(items) => {
                w.u8(2);
                w.list(items, encode_fields);
            }
        }
    });
}

/// Whether an entry may be of a kind `wanted` accepts, from its first bytes only: an entry
/// that does not read that far, or is not a view, is kept, to be repaired or reported when it
/// is read whole.
fn may_be_wanted(bytes: &[u8], wanted: &dyn Fn(&str) -> bool) -> bool {
    let mut r = Reader::new(bytes);
    if r.u8("soort vermelding").ok() != Some(VIEW) {
        return true;
    }
    match r.bytes("soort").map(std::str::from_utf8) {
        Ok(Ok(kind)) => wanted(kind),
        _ => true,
    }
}

fn decode(id: &DocId, bytes: &[u8]) -> Result<Entry, WireError> {
    let mut r = Reader::new(bytes);
    match r.u8("soort vermelding")? {
        VIEW => {}
        UNREADABLE => {
            r.finish("vermelding")?;
            return Ok(Entry::Unreadable(id.clone()));
        }
        value => {
            return Err(WireError::BadTag {
                what: "soort vermelding",
                value,
            });
        }
    }
    let kind = r.str("soort")?;
    let created = Timestamp(r.i64("gemaakt")?);
    let deleted = r.option("verwijderd", |r| r.i64("verwijderd").map(Timestamp))?;
    let verdict = r.option("oordeel", |r| {
        Ok(Verdict {
            rights: r.array("rechten")?,
            counts: r.bool("telt")?,
        })
    })?;
    let heads = r.list("heads", |r| r.str("head"))?;
    let fields = decode_fields(&mut r, 0)?;
    let summary = r.option("samenvatting", |r| r.bytes("samenvatting").map(Arc::from))?;
    r.finish("vermelding")?;
    Ok(Entry::View {
        view: Arc::new(DocView {
            id: id.clone(),
            kind,
            created,
            deleted,
            fields,
            heads,
        }),
        verdict,
        summary,
    })
}

/// How deep lists of items may nest in an entry (fields hold lists of items of plain values).
const MAX_DEPTH: usize = 4;

fn decode_fields(
    r: &mut Reader<'_>,
    depth: usize,
) -> Result<BTreeMap<String, FieldValue>, WireError> {
    let mut fields = BTreeMap::new();
    r.for_each("velden", |r| {
        let name = r.str("veldnaam")?;
        let value = match r.u8("soort waarde")? {
            0 => FieldValue::Text(r.str("tekst")?),
            1 => FieldValue::Number(f64::from_bits(r.u64("getal")?)),
            2 if depth < MAX_DEPTH => {
                FieldValue::List(r.list("lijst", |r| decode_fields(r, depth + 1))?)
            }
            value => {
                return Err(WireError::BadTag {
                    what: "soort waarde",
                    value,
                });
            }
        };
        fields.insert(name, value);
        Ok(())
    })?;
    Ok(fields)
}

/// Whether the index of `store` is marked complete in this format (for the index tests).
#[cfg(test)]
fn is_marked_complete<S: Store>(store: &S) -> bool {
    store.view(FORMAT_KEY).ok().flatten().as_deref() == Some(&[FORMAT])
}

#[cfg(test)]
mod tests;
