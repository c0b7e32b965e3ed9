//! What every connection of a running relay shares: store, key, workspaces, metrics, limits,
//! quotas and the operator's marks.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use ed25519_dalek::SigningKey;
use kompas_engine::Timestamp;
use kompas_engine::sync::membership::SignedOp;
use kompas_engine::sync::wire::{Message, OrgKey, WorkspaceId};
use tokio::sync::{Mutex, Semaphore, mpsc, watch};

use crate::admission::Admission;
use crate::backend::Backend;
use crate::config::RelayConfig;
use crate::metrics::Metrics;
use crate::postgres::{Heads, PgStore};
use crate::protocol::op_time::Arrival;
use crate::protocol::quota::QuotaBook;
use crate::protocol::{AnswerLimits, Refusal, Rules};
use crate::store::{RelayStore, StoreError};
use crate::workspace::Workspace;

/// The shared state of a relay.
pub struct RelayState {
    /// Settings.
    pub config: RelayConfig,
    /// Durable storage.
    pub store: Backend,
    /// Counters.
    pub metrics: Metrics,
    /// The relay's key, the operator's marks, who may mirror and create, quotas and answer
    /// sizes: what the protocol core answers to.
    pub rules: Rules,
    workspaces: RwLock<HashMap<WorkspaceId, Arc<Workspace>>>,
    create_lock: Mutex<()>,
    shutdown: watch::Sender<bool>,
    /// Permits for writes in flight (load shedding): one per membership write, and one per
    /// connection while pushes of it wait for their flush.
    pub writes: Arc<Semaphore>,
    /// Connection counts and buffered bytes.
    pub admission: Arc<Admission>,
    mirror_requests: RwLock<Option<mpsc::UnboundedSender<WorkspaceId>>>,
    added: watch::Sender<u64>,
    levelled: RwLock<HashSet<WorkspaceId>>,
}

impl RelayState {
    /// Opens the store (sled in the data directory, or the PostgreSQL database the
    /// configuration names) and loads every workspace in it. `fresh_key` becomes the relay's
    /// key if it has none yet.
    pub fn open(config: RelayConfig, fresh_key: [u8; 32]) -> Result<Arc<RelayState>, StoreError> {
        let store = match &config.postgres {
            Some(url) => Backend::Postgres(PgStore::open(url, &config.quotas)?),
            None => {
                let store = RelayStore::open(&config.data, config.cache_bytes)?;
                store.set_flush_timeout(config.limits.flush_timeout);
                store.set_reserve(config.limits.min_free_bytes);
                Backend::Sled(store)
            }
        };
        let key = store.relay_key(fresh_key)?;
        let mut workspaces = HashMap::new();
        let mut created: HashMap<OrgKey, u64> = HashMap::new();
        for id in store.workspaces()? {
            let ws = Workspace::load(id, store.log(&id)?)?;
            let creator = ws
                .op_at(0)
                .map_err(|r| StoreError::BadRecord(r.message))?
                .and_then(|op| op.op.body.creates().then_some(op.op.author));
            if ws.with_members(|m| !m.is_empty()) {
                workspaces.insert(id, Arc::new(ws));
                if let Some(creator) = creator {
                    *created.entry(creator).or_default() += 1;
                }
            }
        }
        let writes = Arc::new(Semaphore::new(config.max_concurrent_writes));
        let admission = Admission::new(
            config.limits.clone(),
            config.max_connections,
            config.max_frame,
        );
        let mut rules = Rules::new(key, QuotaBook::new(config.quotas.clone(), created));
        rules.set_marks(store.marks()?);
        rules.mirrors = config.allow_mirror.clone();
        rules.creators = config.allow_create.clone();
        rules.answers = AnswerLimits {
            pull_limit: config.pull_limit,
            pull_budget: config.pull_budget,
            ..AnswerLimits::default()
        };
        Ok(Arc::new(RelayState {
            metrics: Metrics::new(&config.quotas),
            config,
            store,
            admission,
            rules,
            workspaces: RwLock::new(workspaces),
            create_lock: Mutex::new(()),
            shutdown: watch::Sender::new(false),
            writes,
            mirror_requests: RwLock::new(None),
            added: watch::Sender::new(0),
            levelled: RwLock::new(HashSet::new()),
        }))
    }

    /// The relay's signing key (for mirroring another relay).
    pub fn signing_key(&self) -> &SigningKey {
        self.rules.signing_key()
    }

    /// The relay's public key.
    pub fn relay_key(&self) -> OrgKey {
        self.rules.relay_key()
    }

    /// A known workspace. With a shared store, one that another node created is loaded from
    /// it.
    pub fn workspace(&self, id: &WorkspaceId) -> Option<Arc<Workspace>> {
        let known = self.workspaces.read().ok().and_then(|w| w.get(id).cloned());
        if known.is_some() || !self.store.is_shared() {
            return known;
        }
        self.load_shared(id)
    }

    /// Loads a workspace another node created in the shared store, if it is there.
    fn load_shared(&self, id: &WorkspaceId) -> Option<Arc<Workspace>> {
        let Backend::Postgres(pg) = &self.store else {
            return None;
        };
        match pg.run(pg.has(id)) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                tracing::warn!(workspace = %id, error = %e, "samenwerking niet te lezen");
                return None;
            }
        }
        let loaded = self.store.log(id).and_then(|log| Workspace::load(*id, log));
        let ws = match loaded {
            Ok(ws) if ws.with_members(|m| !m.is_empty()) => Arc::new(ws),
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!(workspace = %id, error = %e, "samenwerking niet te laden");
                return None;
            }
        };
        let mut map = self.workspaces.write().ok()?;
        let ws = map.entry(*id).or_insert(ws).clone();
        drop(map);
        self.added.send_modify(|n| *n += 1);
        Some(ws)
    }

    /// Handles what a shared store says another node wrote: a known workspace that is behind
    /// catches up (and wakes its subscribers); an unknown one is loaded.
    pub fn observe(&self, heads: Heads) {
        let known = self
            .workspaces
            .read()
            .ok()
            .and_then(|w| w.get(&heads.id).cloned());
        match known {
            Some(ws) if ws.is_behind(&heads) => {
                if let Err(e) = ws.catch_up() {
                    tracing::warn!(workspace = %heads.id, error = %e.message, "bijwerken mislukt");
                }
            }
            Some(_) => {}
            None if heads.ops_len > 0 => {
                self.load_shared(&heads.id);
            }
            None => {}
        }
    }

    /// Every known workspace id.
    pub fn workspace_ids(&self) -> Vec<WorkspaceId> {
        self.workspaces
            .read()
            .map(|w| w.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Creates a workspace from its `Create` operation, or appends to it if another connection
    /// created it first (which the log then refuses as a second `Create`).
    pub async fn create_workspace(
        &self,
        op: &SignedOp,
        arrival: Option<Arrival>,
    ) -> Result<(Arc<Workspace>, Message), Refusal> {
        let _guard = self.create_lock.lock().await;
        if let Some(ws) = self.workspace(&op.op.workspace) {
            let ack = ws.append_op(&self.store, op, arrival).await?;
            return Ok((ws, ack));
        }
        let (ws, ack) = Workspace::create(&self.store, op, arrival).await?;
        let ws = Arc::new(ws);
        if let Ok(mut map) = self.workspaces.write() {
            map.insert(ws.id(), ws.clone());
        }
        self.added.send_modify(|n| *n += 1);
        self.request_mirror(ws.id());
        Ok((ws, ack))
    }

    /// Watches workspaces being created or brought level with the mirrored relay.
    pub fn watch_workspaces(&self) -> watch::Receiver<u64> {
        self.added.subscribe()
    }

    /// Records that the mirror brought this workspace's membership log level with upstream.
    pub fn mark_levelled(&self, id: WorkspaceId) {
        if let Ok(mut set) = self.levelled.write() {
            set.insert(id);
        }
        self.added.send_modify(|n| *n += 1);
    }

    /// Whether the mirror has brought this workspace level at least once.
    pub fn is_levelled(&self, id: &WorkspaceId) -> bool {
        self.levelled.read().is_ok_and(|set| set.contains(id))
    }

    /// Asks the mirror task (if any) to mirror this workspace.
    pub fn request_mirror(&self, id: WorkspaceId) {
        if let Ok(tx) = self.mirror_requests.read()
            && let Some(tx) = tx.as_ref()
        {
            let _ = tx.send(id);
        }
    }

    /// Installs the channel the mirror task listens on.
    pub fn set_mirror_requests(&self, tx: mpsc::UnboundedSender<WorkspaceId>) {
        if let Ok(mut slot) = self.mirror_requests.write() {
            *slot = Some(tx);
        }
    }

    /// Tells every connection and task to stop.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Watches for shutdown.
    pub fn watch_shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Whether shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// The Prometheus text for `/metrics`.
    pub fn render_metrics(&self) -> String {
        self.metrics.render(
            self.workspace_ids().len(),
            self.store.size_on_disk(),
            self.admission.census(),
            self.store.fault().is_some(),
        )
    }
}

/// The current time from the system clock.
pub fn now() -> Timestamp {
    Timestamp::from_system(SystemTime::now())
}

/// Random bytes from the operating system.
pub fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::fill(&mut out[..]);
    out
}
