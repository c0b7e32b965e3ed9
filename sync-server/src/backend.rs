//! Where a running relay keeps its logs: the embedded sled store in its data directory (the
//! default, one node), or PostgreSQL (`--store postgres://...`, any number of nodes on one
//! database). The rest of the server sees one [`Backend`] and one [`RelayLog`] type; each call
//! goes to the store that is in use.

use ed25519_dalek::SigningKey;
use kompas_engine::sync::membership::SignedOp;
use kompas_engine::sync::wire::{Hash32, OrgKey, SealedBundle, Sequenced, WorkspaceId};

use crate::operator::Marks;
use crate::postgres::{PgLog, PgStore};
use crate::protocol::log::{Appended, OpWritten, WorkspaceLog};
use crate::store::{RelayStore, SledLog, StoreError};

/// The store of a running relay.
#[derive(Clone)]
pub enum Backend {
    /// The embedded sled store.
    Sled(RelayStore),
    /// PostgreSQL, possibly shared with other nodes.
    Postgres(PgStore),
}

/// One workspace's log in the store in use.
#[derive(Clone)]
pub enum RelayLog {
    /// In sled.
    Sled(SledLog),
    /// In PostgreSQL.
    Postgres(PgLog),
}

impl Backend {
    /// Whether other nodes may write to the same logs (so the relay must follow them).
    pub fn is_shared(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }

    /// The sled store, if that is the one in use (for drills of its faults).
    pub fn as_sled(&self) -> Option<&RelayStore> {
        match self {
            Backend::Sled(s) => Some(s),
            Backend::Postgres(_) => None,
        }
    }

    /// The relay's signing key, created from `fresh` on first use.
    pub fn relay_key(&self, fresh: [u8; 32]) -> Result<SigningKey, StoreError> {
        match self {
            Backend::Sled(s) => s.relay_key(fresh),
            Backend::Postgres(p) => Ok(p.run(p.relay_key(fresh))?),
        }
    }

    /// The key of the relay this relay mirrors, once pinned.
    pub fn mirrored_key(&self) -> Result<Option<OrgKey>, StoreError> {
        match self {
            Backend::Sled(s) => s.mirrored_key(),
            Backend::Postgres(p) => Ok(p.run(p.mirrored_key())?),
        }
    }

    /// Pins the key of the relay this relay mirrors, durably.
    pub fn pin_mirrored_key(&self, key: &OrgKey) -> Result<(), StoreError> {
        match self {
            Backend::Sled(s) => s.pin_mirrored_key(key),
            Backend::Postgres(p) => Ok(p.run(p.pin_mirrored_key(key))?),
        }
    }

    /// The workspaces that have a membership log.
    pub fn workspaces(&self) -> Result<Vec<WorkspaceId>, StoreError> {
        match self {
            Backend::Sled(s) => s.workspaces(),
            Backend::Postgres(p) => Ok(p.run(p.heads())?.into_iter().map(|h| h.id).collect()),
        }
    }

    /// A workspace's log (created empty if new).
    pub fn log(&self, ws: &WorkspaceId) -> Result<RelayLog, StoreError> {
        match self {
            Backend::Sled(s) => Ok(RelayLog::Sled(s.log(ws)?)),
            Backend::Postgres(p) => Ok(RelayLog::Postgres(p.log(ws))),
        }
    }

    /// The operator's marks.
    pub fn marks(&self) -> Result<Marks, StoreError> {
        match self {
            Backend::Sled(s) => Marks::load(s),
            Backend::Postgres(p) => Ok(Marks::from_names(&p.run(p.marks())?)),
        }
    }

    /// Sets or clears an operator's mark (with sled, durable at the next flush).
    pub fn set_mark(&self, name: &str, on: bool) -> Result<(), StoreError> {
        match self {
            Backend::Sled(s) => crate::operator::set_mark(s, name, on),
            Backend::Postgres(p) => Ok(p.run(p.set_mark(name, on))?),
        }
    }

    /// A bookkeeping number (mirror cursors).
    pub fn cursor(&self, name: &str) -> Result<u64, StoreError> {
        match self {
            Backend::Sled(s) => s.cursor(name),
            Backend::Postgres(p) => Ok(p.run(p.cursor(name))?),
        }
    }

    /// Sets a bookkeeping number (with sled, durable at the next flush).
    pub fn set_cursor(&self, name: &str, value: u64) -> Result<(), StoreError> {
        match self {
            Backend::Sled(s) => s.set_cursor(name, value),
            Backend::Postgres(p) => Ok(p.run(p.set_cursor(name, value))?),
        }
    }

    /// Makes everything written so far durable (PostgreSQL's writes are durable already).
    pub async fn flush(&self) -> Result<(), StoreError> {
        match self {
            Backend::Sled(s) => s.flush().await,
            Backend::Postgres(_) => Ok(()),
        }
    }

    /// Why the store cannot write now, if it cannot.
    pub fn fault(&self) -> Option<String> {
        match self {
            Backend::Sled(s) => s.fault(),
            Backend::Postgres(p) => p.fault(),
        }
    }

    /// Bytes the store takes on disk (for PostgreSQL: the database, as last read).
    pub fn size_on_disk(&self) -> u64 {
        match self {
            Backend::Sled(s) => s.size_on_disk(),
            Backend::Postgres(p) => p.size(),
        }
    }
}

impl WorkspaceLog for RelayLog {
    type Error = StoreError;

    fn append(
        &mut self,
        hash: &Hash32,
        bundle: &SealedBundle,
        head: u64,
        members: u64,
    ) -> Result<Appended, StoreError> {
        match self {
            RelayLog::Sled(l) => l.append(hash, bundle, head, members),
            RelayLog::Postgres(l) => Ok(l.append(hash, bundle, head, members)?),
        }
    }

    fn append_all(
        &mut self,
        bundles: &[(Hash32, &SealedBundle)],
        head: u64,
        members: u64,
    ) -> Result<Vec<Appended>, StoreError> {
        match self {
            RelayLog::Sled(l) => l.append_all(bundles, head, members),
            RelayLog::Postgres(l) => Ok(l.append_all(bundles, head, members)?),
        }
    }

    fn bundles(
        &self,
        after: u64,
        upto: u64,
        limit: usize,
        budget: usize,
    ) -> Result<Vec<Sequenced>, StoreError> {
        match self {
            RelayLog::Sled(l) => l.bundles(after, upto, limit, budget),
            RelayLog::Postgres(l) => Ok(l.bundles(after, upto, limit, budget)?),
        }
    }

    fn head(&self) -> Result<u64, StoreError> {
        match self {
            RelayLog::Sled(l) => l.head(),
            RelayLog::Postgres(l) => Ok(l.head()?),
        }
    }

    fn stored_bytes(&self) -> Result<u64, StoreError> {
        match self {
            RelayLog::Sled(l) => l.stored_bytes(),
            RelayLog::Postgres(l) => Ok(l.stored_bytes()?),
        }
    }

    fn append_op(&mut self, index: u64, op: &SignedOp) -> Result<OpWritten, StoreError> {
        match self {
            RelayLog::Sled(l) => l.append_op(index, op),
            RelayLog::Postgres(l) => Ok(l.append_op(index, op)?),
        }
    }

    fn ops(&self, after: u64, upto: u64, budget: usize) -> Result<Vec<SignedOp>, StoreError> {
        match self {
            RelayLog::Sled(l) => l.ops(after, upto, budget),
            RelayLog::Postgres(l) => Ok(l.ops(after, upto, budget)?),
        }
    }

    fn ops_len(&self) -> Result<u64, StoreError> {
        match self {
            RelayLog::Sled(l) => l.ops_len(),
            RelayLog::Postgres(l) => Ok(l.ops_len()?),
        }
    }
}
