//! One workspace as the relay holds it: its member set, its bundle log and who to wake up.
//!
//! Appends are serialised per workspace; a bundle or operation is acknowledged, and shown to
//! readers, only after the store was flushed.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use kompas_engine::sync::membership::{MemberSet, SignedOp};
use kompas_engine::sync::wire::{
    Encoded, ErrorCode, Hash32, MAX_BUNDLE_BYTES, OrgKey, SealedBundle, Sequenced, WorkspaceId,
};
use tokio::sync::{Mutex, watch};

use crate::op_time::{self, Arrival};
use crate::refusal::Refusal;
use crate::store::{Appended, RelayStore, StoreError, WorkspaceTrees};

/// The most operation bytes in one `MembershipOps` answer. At least one operation is always
/// sent, and an operation is at most `MAX_OP_BYTES`, so an answer stays far below a frame.
pub const MEMBERSHIP_PAGE_BYTES: usize = 1024 * 1024;

/// The outcome of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The bundle's position.
    pub seq: u64,
    /// Its content address.
    pub hash: Hash32,
    /// Whether it was there already.
    pub duplicate: bool,
}

/// A workspace's live state.
pub struct Workspace {
    id: WorkspaceId,
    trees: WorkspaceTrees,
    members: RwLock<MemberSet>,
    /// The durable bundle head; subscribers watch it.
    head: watch::Sender<u64>,
    /// The durable membership log length; subscribers watch it.
    members_len: watch::Sender<u64>,
    /// Serialises appends; holds the written (perhaps not yet flushed) bundle head.
    written: Mutex<u64>,
    /// Bytes of the stored bundles (for the quota).
    stored: AtomicU64,
}

impl Workspace {
    /// Loads a stored workspace, folding its membership log.
    pub fn load(id: WorkspaceId, trees: WorkspaceTrees) -> Result<Workspace, StoreError> {
        let ops = trees.membership()?;
        let members = MemberSet::from_log(&ops)
            .map_err(|e| StoreError::BadRecord(format!("samenwerking {id}: {e}")))?;
        let head = trees.head()?;
        let stored = trees.stored_bytes()?;
        Ok(Workspace::with(id, trees, members, head, stored))
    }

    /// Creates a workspace from its first operation, durably.
    pub async fn create(
        store: &RelayStore,
        op: &SignedOp,
        arrival: Option<Arrival>,
    ) -> Result<Workspace, Refusal> {
        let mut members = MemberSet::default();
        if let Some(arrival) = &arrival {
            op_time::check(&members, op, arrival)?;
        }
        members.apply(op)?;
        store.check_space()?;
        let trees = store.trees(&op.op.workspace)?;
        trees.append_op(0, op).map_err(|e| store.noted(e))?;
        store.flush().await?;
        Ok(Workspace::with(op.op.workspace, trees, members, 0, 0))
    }

    fn with(
        id: WorkspaceId,
        trees: WorkspaceTrees,
        members: MemberSet,
        head: u64,
        stored: u64,
    ) -> Workspace {
        let len = members.len();
        Workspace {
            id,
            trees,
            members: RwLock::new(members),
            head: watch::Sender::new(head),
            members_len: watch::Sender::new(len),
            written: Mutex::new(head),
            stored: AtomicU64::new(stored),
        }
    }

    /// Bytes of the bundles stored (written, perhaps not yet flushed).
    pub fn stored_bytes(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }

    /// The workspace id.
    pub fn id(&self) -> WorkspaceId {
        self.id
    }

    /// Reads the member set.
    pub fn with_members<T>(&self, f: impl FnOnce(&MemberSet) -> T) -> T {
        match self.members.read() {
            Ok(m) => f(&m),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// The durable bundle head.
    pub fn head(&self) -> u64 {
        *self.head.borrow()
    }

    /// Watches the durable bundle head.
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    /// Watches the durable membership log length.
    pub fn watch_members(&self) -> watch::Receiver<u64> {
        self.members_len.subscribe()
    }

    /// Checks and stores a bundle; returns once it is durable.
    pub async fn push(&self, store: &RelayStore, bundle: &SealedBundle) -> Result<Stored, Refusal> {
        self.check_bundle(bundle)?;
        let hash = bundle.hash();
        store.check_space()?;
        let appended = {
            let mut written = self.written.lock().await;
            let bytes = bundle.to_bytes();
            let appended = self
                .trees
                .append(&hash, &bytes, *written)
                .map_err(|e| store.noted(e))?;
            if let Appended::New(seq) = appended {
                *written = seq;
                self.stored.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            appended
        };
        store.flush().await?;
        let (seq, duplicate) = match appended {
            Appended::New(seq) => (seq, false),
            Appended::Duplicate(seq) => (seq, true),
        };
        self.head.send_if_modified(|head| {
            let moved = seq > *head;
            *head = (*head).max(seq);
            moved
        });
        Ok(Stored {
            seq,
            hash,
            duplicate,
        })
    }

    fn check_bundle(&self, bundle: &SealedBundle) -> Result<(), Refusal> {
        if bundle.workspace != self.id {
            return Err(Refusal::new(
                ErrorCode::WrongWorkspace,
                format!(
                    "wijziging hoort bij samenwerking {}, deze verbinding bij {}",
                    bundle.workspace, self.id
                ),
            ));
        }
        if bundle.encoded_len() > MAX_BUNDLE_BYTES {
            return Err(Refusal::new(
                ErrorCode::FrameTooLarge,
                format!(
                    "wijziging van {} bytes is groter dan de grens van {MAX_BUNDLE_BYTES} bytes",
                    bundle.encoded_len()
                ),
            ));
        }
        bundle
            .verify()
            .map_err(|e| Refusal::new(ErrorCode::BadBundle, e.to_string()))?;
        self.with_members(|m| {
            if !m.is_member(&bundle.author) {
                return Err(not_member(&bundle.author));
            }
            if bundle.epoch > m.epoch() {
                return Err(Refusal::new(
                    ErrorCode::UnknownEpoch,
                    format!(
                        "wijziging gebruikt sleutelgeneratie {}, de samenwerking is bij {}",
                        bundle.epoch,
                        m.epoch()
                    ),
                ));
            }
            Ok(())
        })
    }

    /// Bundles after `after`, up to the durable head.
    pub fn range(
        &self,
        after: u64,
        limit: usize,
        budget: usize,
    ) -> Result<Vec<Sequenced>, Refusal> {
        Ok(self.trees.range(after, self.head(), limit, budget)?)
    }

    /// The durable membership log length.
    pub fn ops_len(&self) -> u64 {
        *self.members_len.borrow()
    }

    /// A page of membership operations from position `after`: at most
    /// [`MEMBERSHIP_PAGE_BYTES`] of them (at least one if there is one), read from the store
    /// from that position on, never the whole log.
    pub fn ops_page(&self, after: u64) -> Result<Vec<SignedOp>, Refusal> {
        Ok(self
            .trees
            .ops_range(after, self.ops_len(), MEMBERSHIP_PAGE_BYTES)?)
    }

    /// The durable membership operation at `index`, if there is one.
    pub fn op_at(&self, index: u64) -> Result<Option<SignedOp>, Refusal> {
        if index >= self.ops_len() {
            return Ok(None);
        }
        Ok(self
            .trees
            .ops_range(index, index + 1, 0)?
            .into_iter()
            .next())
    }

    /// The whole durable membership log (for a mirror levelling two logs, not for requests).
    pub fn log(&self) -> Result<Vec<SignedOp>, Refusal> {
        Ok(self.trees.ops_range(0, self.ops_len(), usize::MAX)?)
    }

    /// Checks and appends a membership operation; returns its index once durable. With an
    /// arrival, the operation's time is checked against the relay's clock (`op_time`);
    /// mirrored operations were checked upstream.
    pub async fn append_op(
        &self,
        store: &RelayStore,
        op: &SignedOp,
        arrival: Option<Arrival>,
    ) -> Result<u64, Refusal> {
        let _guard = self.written.lock().await;
        let mut next = self.with_members(MemberSet::clone);
        if let Some(arrival) = &arrival {
            op_time::check(&next, op, arrival)?;
        }
        let index = next.len();
        next.apply(op)?;
        store.check_space()?;
        self.trees
            .append_op(index, op)
            .map_err(|e| store.noted(e))?;
        store.flush().await?;
        match self.members.write() {
            Ok(mut m) => *m = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        self.members_len.send_replace(index + 1);
        Ok(index)
    }
}

/// The refusal for a key that is not a member.
pub fn not_member(key: &OrgKey) -> Refusal {
    Refusal::new(
        ErrorCode::NotMember,
        format!(
            "organisatie {} is geen lid van deze samenwerking",
            key.org_id()
        ),
    )
}
