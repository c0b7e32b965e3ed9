//! One workspace as the running relay shares it between connections: the core's
//! [`WorkspaceCore`] over the store's log, behind a lock, with the watches subscribers wait on.
//!
//! Writes are staged under the lock, made durable by a flush outside it, and committed under it
//! again, so a bundle or operation is acknowledged, and shown to readers, only once flushed.
//! Membership operations are written one at a time per workspace, across their flush. With a
//! store that other nodes write to as well, [`Workspace::catch_up`] reads what they added and
//! wakes the subscribers.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use kompas_engine::sync::membership::{MemberSet, SignedOp};
use kompas_engine::sync::wire::{Message, SealedBundle, Sequenced, WorkspaceId};
use tokio::sync::{Mutex, watch};

use crate::backend::{Backend, RelayLog};
use crate::postgres::Heads;
use crate::protocol::op_time::Arrival;
use crate::protocol::{Checked, Refusal, Stored, WorkspaceCore};
use crate::store::StoreError;

/// A workspace's live state.
pub struct Workspace {
    id: WorkspaceId,
    core: RwLock<WorkspaceCore<RelayLog>>,
    /// The durable bundle head; subscribers watch it.
    head: watch::Sender<u64>,
    /// The durable membership log length; subscribers watch it.
    members_len: watch::Sender<u64>,
    /// Serialises membership operations, each across its flush.
    ops: Mutex<()>,
}

impl Workspace {
    /// Loads a stored workspace, folding its membership log.
    pub fn load(id: WorkspaceId, log: RelayLog) -> Result<Workspace, StoreError> {
        let core = WorkspaceCore::load(id, log).map_err(|r| StoreError::BadRecord(r.message))?;
        Ok(Workspace::with(core))
    }

    /// Creates a workspace from its first operation; returns it and the operation's
    /// acknowledgement once it is durable.
    pub async fn create(
        store: &Backend,
        op: &SignedOp,
        arrival: Option<Arrival>,
    ) -> Result<(Workspace, Message), Refusal> {
        let log = store.log(&op.op.workspace)?;
        let (core, ack) = WorkspaceCore::create(log, op, arrival)?;
        store.flush().await?;
        Ok((Workspace::with(core), ack))
    }

    fn with(core: WorkspaceCore<RelayLog>) -> Workspace {
        Workspace {
            id: core.id(),
            head: watch::Sender::new(core.head()),
            members_len: watch::Sender::new(core.ops_len()),
            core: RwLock::new(core),
            ops: Mutex::new(()),
        }
    }

    /// Reads the core's state.
    pub fn read(&self) -> RwLockReadGuard<'_, WorkspaceCore<RelayLog>> {
        self.core
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, WorkspaceCore<RelayLog>> {
        self.core
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The workspace id.
    pub fn id(&self) -> WorkspaceId {
        self.id
    }

    /// Reads the member set.
    pub fn with_members<T>(&self, f: impl FnOnce(&MemberSet) -> T) -> T {
        f(self.read().members())
    }

    /// Bytes of the bundles stored (written, perhaps not yet flushed).
    pub fn stored_bytes(&self) -> u64 {
        self.read().stored_bytes()
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

    /// The durable membership log length.
    pub fn ops_len(&self) -> u64 {
        *self.members_len.borrow()
    }

    /// Whether `heads` (read from a shared store) are ahead of what this node shows.
    pub fn is_behind(&self, heads: &Heads) -> bool {
        heads.head > self.head() || heads.ops_len > self.ops_len()
    }

    /// Reads what other nodes added to a shared store and wakes the subscribers.
    pub fn catch_up(&self) -> Result<(), Refusal> {
        let (caught, head, len) = {
            let mut core = self.write();
            let caught = core.catch_up()?;
            (caught, core.head(), core.ops_len())
        };
        if caught.head {
            self.head.send_replace(head);
        }
        if caught.members {
            self.members_len.send_replace(len);
        }
        Ok(())
    }

    /// Checks and stores a bundle (from the mirrored relay); returns once it is durable.
    pub async fn push(&self, store: &Backend, bundle: &SealedBundle) -> Result<Stored, Refusal> {
        self.push_checked(store, &Checked::new(bundle.clone(), self.id)?)
            .await
    }

    /// Stores a checked bundle; returns once it is durable.
    pub async fn push_checked(&self, store: &Backend, bundle: &Checked) -> Result<Stored, Refusal> {
        let stored = self.stage(bundle)?;
        store.flush().await?;
        self.commit(std::slice::from_ref(&stored));
        Ok(stored)
    }

    /// Writes a checked bundle to the log, not durable yet: the caller flushes the store (a
    /// flush that starts after this returns covers it) and then calls [`Workspace::commit`].
    pub fn stage(&self, bundle: &Checked) -> Result<Stored, Refusal> {
        self.write().stage_bundle(bundle)
    }

    /// Writes checked bundles to the log in one write, not durable yet (as
    /// [`Workspace::stage`]): an answer per bundle, in order.
    pub fn stage_all(&self, bundles: &[Checked]) -> Vec<Result<Stored, Refusal>> {
        self.write().stage_bundles(bundles)
    }

    /// Shows bundles made durable to readers and wakes the subscribers, under one lock.
    pub fn commit(&self, stored: &[Stored]) {
        let (head, len) = {
            let mut core = self.write();
            for stored in stored {
                core.commit_bundle(stored);
            }
            (core.head(), core.ops_len())
        };
        self.publish(head, len);
    }

    /// Durable bundles after `after`.
    pub fn range(
        &self,
        after: u64,
        limit: usize,
        budget: usize,
    ) -> Result<Vec<Sequenced>, Refusal> {
        self.read().range(after, limit, budget)
    }

    /// The durable membership operation at `index`, if there is one.
    pub fn op_at(&self, index: u64) -> Result<Option<SignedOp>, Refusal> {
        self.read().op_at(index)
    }

    /// The whole durable membership log (for a mirror levelling two logs, not for requests).
    pub fn log(&self) -> Result<Vec<SignedOp>, Refusal> {
        self.read().all_ops()
    }

    /// Checks and appends a membership operation; returns its acknowledgement once durable.
    /// With an arrival, the operation's time is checked against the relay's clock; mirrored
    /// operations were checked upstream.
    pub async fn append_op(
        &self,
        store: &Backend,
        op: &SignedOp,
        arrival: Option<Arrival>,
    ) -> Result<Message, Refusal> {
        let _turn = self.ops.lock().await;
        let staged = self.write().stage_op(op, arrival)?;
        store.flush().await?;
        let (ack, head, len) = {
            let mut core = self.write();
            let ack = core.commit_op(staged);
            (ack, core.head(), core.ops_len())
        };
        self.publish(head, len);
        Ok(ack)
    }

    /// Wakes the subscribers of the heads that moved (a write to a shared store may have
    /// caught up with other nodes' writes on the way).
    fn publish(&self, head: u64, len: u64) {
        if head > *self.head.borrow() {
            self.head.send_replace(head);
        }
        if len > *self.members_len.borrow() {
            self.members_len.send_replace(len);
        }
    }
}
