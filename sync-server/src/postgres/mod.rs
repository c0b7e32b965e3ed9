//! The relay's logs in PostgreSQL (`kompas-relay --store postgres://...`), so that several relay
//! nodes can serve the same workspaces from one database, and backups and replication are the
//! database's own.
//!
//! A write is one call of a function in the database ([`schema`]), committed before it returns
//! (PostgreSQL's default `synchronous_commit`): what a node acknowledges is durable, and a node
//! killed at any moment loses nothing it acknowledged. The functions serialise writes per
//! workspace with its row lock, so sequence numbers stay dense and unique with any number of
//! nodes, and refuse a write made against an outdated membership log as stale (the core then
//! catches up and checks again). Other nodes learn of a write through `NOTIFY`, with a periodic
//! read of every workspace's heads as the catch-up that makes a missed notification harmless
//! ([`listen`]).
//!
//! The core reads its log synchronously (the protocol core is sans-I/O and its log trait is
//! blocking), under its workspace's lock. So every query runs on a runtime of the store's own
//! ([`PgStore::run`]), whose threads never wait for a workspace's lock: a query made under the
//! lock always progresses, however many of the relay's own threads wait for that lock. A
//! failure of the database is a storage fault: the write is refused with `StorageFault`,
//! `/healthz` says so, and the pool connects again by itself once the database is back.

pub mod listen;
pub mod log;
pub mod schema;
pub mod scratch;
#[cfg(test)]
mod tests;
pub mod tls;
pub mod usage;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use ed25519_dalek::SigningKey;
use kompas_engine::sync::wire::{ErrorCode, OrgKey, WorkspaceId};

pub use self::log::PgLog;
use crate::protocol::Refusal;
use crate::protocol::quota::{Exceeded, Quotas};

/// Why the PostgreSQL store failed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The database reported an error, or the connection to it failed.
    #[error("PostgreSQL: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// No connection could be had from the pool (the database is down or unreachable).
    #[error("PostgreSQL is niet bereikbaar: {0}")]
    Unreachable(String),
    /// The URL does not parse.
    #[error("ongeldige PostgreSQL-URL: {0}")]
    BadUrl(String),
    /// The database holds a newer schema than this relay knows.
    #[error(
        "het schema in de database is versie {found}, deze relay kent tot versie {known}: \
         werk de relay bij"
    )]
    SchemaTooNew {
        /// The version found.
        found: i32,
        /// The newest version this relay knows.
        known: i32,
    },
    /// A stored value did not decode, or a row is missing that must be there.
    #[error("relay-opslag in PostgreSQL is beschadigd bij {0}")]
    Corrupt(String),
    /// A total kept for all nodes together would be passed.
    #[error("{}", .0.refusal.message)]
    Quota(Exceeded),
}

impl PgError {
    /// Whether the database failed (rather than the stored data being damaged).
    pub fn is_fault(&self) -> bool {
        matches!(self, PgError::Db(_) | PgError::Unreachable(_))
    }
}

impl From<PgError> for Refusal {
    fn from(e: PgError) -> Refusal {
        match e {
            PgError::Quota(exceeded) => exceeded.into(),
            e if e.is_fault() => Refusal::new(
                ErrorCode::StorageFault,
                format!("{e}; er is niets opgeslagen, probeer het later opnieuw"),
            ),
            e => Refusal::new(ErrorCode::Internal, e.to_string()),
        }
    }
}

/// The store's own runtime, where every query and every connection to the database runs.
struct DbRuntime(Option<tokio::runtime::Runtime>);

impl Drop for DbRuntime {
    fn drop(&mut self) {
        // Dropped from wherever the last store goes, an async context included.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The totals the database keeps for all nodes together.
#[derive(Debug, Clone, Copy, Default)]
pub struct SharedQuotas {
    /// Bytes of sealed bundles one workspace may store (0: no limit).
    pub workspace_bytes: u64,
    /// Membership operations one workspace's log may hold (0: no limit).
    pub workspace_ops: u64,
    /// Workspaces one key may create (0: no limit).
    pub workspaces_per_key: u64,
}

impl From<&Quotas> for SharedQuotas {
    fn from(q: &Quotas) -> SharedQuotas {
        SharedQuotas {
            workspace_bytes: q.workspace_bytes,
            workspace_ops: q.workspace_ops,
            workspaces_per_key: q.workspaces_per_key,
        }
    }
}

/// The relay's store in PostgreSQL: a pool of connections and what the node noticed of the
/// database's health.
#[derive(Clone)]
pub struct PgStore {
    handle: tokio::runtime::Handle,
    _runtime: Arc<DbRuntime>,
    pool: Pool,
    config: Arc<tokio_postgres::Config>,
    tls: tls::Tls,
    /// This node among those that share the database (for `kompas.usage`).
    node: i64,
    quotas: Arc<Quotas>,
    health: Arc<Health>,
}

#[derive(Default)]
struct Health {
    /// The last failure, until a query succeeds again.
    last: Mutex<Option<String>>,
    /// The database's size as last read (for `/metrics`).
    size: AtomicU64,
}

/// One workspace's heads in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heads {
    /// The workspace.
    pub id: WorkspaceId,
    /// Its bundle head.
    pub head: u64,
    /// Its membership log length.
    pub ops_len: u64,
}

impl PgStore {
    /// Connects to the database at `url` (with TLS if it asks for it, [`tls`]) and brings its
    /// schema up to date. `quotas` gives the totals the database enforces for every node
    /// together. Callable from synchronous code and from any runtime.
    pub fn open(url: &str, quotas: &Quotas) -> Result<PgStore, PgError> {
        let tls::Settings {
            mut config,
            tls,
            encrypted,
        } = tls::settings(url)?;
        config.connect_timeout(Duration::from_secs(5));
        config.application_name("kompas-relay");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kompas-pg")
            .enable_all()
            .build()
            .map_err(|e| PgError::Unreachable(e.to_string()))?;
        let handle = runtime.handle().clone();
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(32)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| PgError::Unreachable(e.to_string()))?;
        let store = PgStore {
            handle,
            _runtime: Arc::new(DbRuntime(Some(runtime))),
            pool,
            config: Arc::new(config),
            tls,
            node: rand::random(),
            quotas: Arc::new(quotas.clone()),
            health: Arc::default(),
        };
        store.run(async {
            let mut client = store.client().await?;
            schema::migrate(&mut client).await
        })?;
        tracing::info!(tls = encrypted, "verbonden met PostgreSQL");
        Ok(store)
    }

    /// Runs `f` on the store's runtime and waits for it: from a thread of a multi-threaded
    /// runtime (which goes on with its other tasks meanwhile), from a single-threaded one
    /// (through a helper thread) or from outside any runtime.
    pub fn run<F>(&self, f: F) -> F::Output
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        use tokio::runtime::{Handle, RuntimeFlavor};
        match Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(RuntimeFlavor::MultiThread) => {
                tokio::task::block_in_place(|| self.handle.block_on(f))
            }
            Ok(_) => {
                std::thread::scope(
                    |scope| match scope.spawn(|| self.handle.block_on(f)).join() {
                        Ok(output) => output,
                        Err(panic) => std::panic::resume_unwind(panic),
                    },
                )
            }
            Err(_) => self.handle.block_on(f),
        }
    }

    /// Starts `f` on the store's runtime (for the task that follows the other nodes).
    pub fn spawn<F>(&self, f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(f)
    }

    /// The connection settings (for the listener's own connection).
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// This node's number among those that share the database, drawn when the store opens.
    pub fn node(&self) -> i64 {
        self.node
    }

    /// The connector for a connection of its own (the listener's), encrypted as the pool's are.
    pub fn tls(&self) -> tls::Tls {
        self.tls.clone()
    }

    /// The totals the database enforces.
    pub fn shared_quotas(&self) -> SharedQuotas {
        SharedQuotas::from(self.quotas.as_ref())
    }

    /// The error for a total the database refused to pass.
    pub fn over_quota(&self, quota: &'static str) -> PgError {
        PgError::Quota(self.quotas.exceeded_total(quota))
    }

    /// A connection from the pool.
    pub async fn client(&self) -> Result<deadpool_postgres::Object, PgError> {
        let got = self
            .pool
            .get()
            .await
            .map_err(|e| PgError::Unreachable(tls::explain(&e)));
        self.noted(got)
    }

    /// Records the outcome of a query: a failure of the database is the store's fault until a
    /// query succeeds again.
    pub fn noted<T>(&self, outcome: Result<T, PgError>) -> Result<T, PgError> {
        let mut last = self
            .health
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &outcome {
            Ok(_) => {
                if last.take().is_some() {
                    tracing::info!("PostgreSQL is weer bereikbaar");
                }
            }
            Err(e) if e.is_fault() => {
                if last.is_none() {
                    tracing::error!(error = %e, "PostgreSQL faalt: schrijven wordt geweigerd");
                }
                *last = Some(e.to_string());
            }
            Err(_) => {}
        }
        outcome
    }

    /// Why the store cannot write now, if it cannot.
    pub fn fault(&self) -> Option<String> {
        self.health
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The database's size as last read.
    pub fn size(&self) -> u64 {
        self.health.size.load(Ordering::Relaxed)
    }

    /// Reads the database's size (for `/metrics`).
    pub async fn refresh_size(&self) -> Result<(), PgError> {
        let client = self.client().await?;
        let row = self.noted(
            client
                .query_one("SELECT pg_database_size(current_database())", &[])
                .await
                .map_err(PgError::from),
        )?;
        let size: i64 = row.get(0);
        self.health
            .size
            .store(u64::try_from(size).unwrap_or(0), Ordering::Relaxed);
        Ok(())
    }

    async fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, PgError> {
        let client = self.client().await?;
        let row = self.noted(
            client
                .query_opt("SELECT value FROM kompas.meta WHERE name = $1", &[&name])
                .await
                .map_err(PgError::from),
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn set_meta(&self, name: &str, value: &[u8]) -> Result<(), PgError> {
        let client = self.client().await?;
        self.noted(
            client
                .execute(
                    "INSERT INTO kompas.meta (name, value) VALUES ($1, $2)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    &[&name, &value],
                )
                .await
                .map_err(PgError::from),
        )?;
        Ok(())
    }

    /// The relay's signing key, shared by every node on this database: the first node to ask
    /// stores `fresh`, every node then reads the same key.
    pub async fn relay_key(&self, fresh: [u8; 32]) -> Result<SigningKey, PgError> {
        let client = self.client().await?;
        self.noted(
            client
                .execute(
                    "INSERT INTO kompas.meta (name, value) VALUES ('relay_key', $1)
                     ON CONFLICT (name) DO NOTHING",
                    &[&&fresh[..]],
                )
                .await
                .map_err(PgError::from),
        )?;
        let seed = self
            .meta("relay_key")
            .await?
            .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
            .ok_or_else(|| PgError::Corrupt("relay_key".into()))?;
        Ok(SigningKey::from_bytes(&seed))
    }

    /// The key of the relay this relay mirrors, once pinned.
    pub async fn mirrored_key(&self) -> Result<Option<OrgKey>, PgError> {
        match self.meta("mirrored_relay_key").await? {
            None => Ok(None),
            Some(v) => <[u8; 32]>::try_from(v.as_slice())
                .map(|k| Some(OrgKey(k)))
                .map_err(|_| PgError::Corrupt("mirrored_relay_key".into())),
        }
    }

    /// Pins the key of the relay this relay mirrors.
    pub async fn pin_mirrored_key(&self, key: &OrgKey) -> Result<(), PgError> {
        self.set_meta("mirrored_relay_key", &key.0).await
    }

    /// A bookkeeping number (mirror cursors).
    pub async fn cursor(&self, name: &str) -> Result<u64, PgError> {
        Ok(self
            .meta(&format!("cursor/{name}"))
            .await?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    /// Sets a bookkeeping number.
    pub async fn set_cursor(&self, name: &str, value: u64) -> Result<(), PgError> {
        self.set_meta(&format!("cursor/{name}"), &value.to_be_bytes())
            .await
    }

    /// Deletes workspace `id` (its bundles and membership log go with its row) and its mirror
    /// cursors, and freezes it, in one transaction: a node that still holds it in memory then
    /// refuses every write to it from its next sweep on. Returns whether it was there.
    pub async fn delete_workspace(&self, id: &WorkspaceId) -> Result<bool, PgError> {
        let mut client = self.client().await?;
        let done = async {
            let tx = client.transaction().await?;
            let gone = tx
                .execute("DELETE FROM kompas.workspaces WHERE id = $1", &[&&id.0[..]])
                .await?;
            let cursors = [
                format!("cursor/mirror-down/{id}"),
                format!("cursor/mirror-up/{id}"),
            ];
            tx.execute(
                "DELETE FROM kompas.meta WHERE name = ANY($1)",
                &[&&cursors[..]],
            )
            .await?;
            if gone > 0 {
                tx.execute(
                    "INSERT INTO kompas.marks (name) VALUES ($1) ON CONFLICT DO NOTHING",
                    &[&format!("frozen/{id}")],
                )
                .await?;
            }
            tx.commit().await?;
            Ok::<_, tokio_postgres::Error>(gone > 0)
        }
        .await;
        self.noted(done.map_err(PgError::from))
    }

    /// The operator's marks (`frozen/<workspace>`, `banned/<key>`).
    pub async fn marks(&self) -> Result<Vec<String>, PgError> {
        let client = self.client().await?;
        let rows = self.noted(
            client
                .query("SELECT name FROM kompas.marks ORDER BY name", &[])
                .await
                .map_err(PgError::from),
        )?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    /// Sets or clears an operator's mark.
    pub async fn set_mark(&self, name: &str, on: bool) -> Result<(), PgError> {
        let client = self.client().await?;
        let sql = if on {
            "INSERT INTO kompas.marks (name) VALUES ($1) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM kompas.marks WHERE name = $1"
        };
        self.noted(client.execute(sql, &[&name]).await.map_err(PgError::from))?;
        Ok(())
    }

    /// Every workspace's heads (those with a membership log).
    pub async fn heads(&self) -> Result<Vec<Heads>, PgError> {
        let client = self.client().await?;
        let rows = self.noted(
            client
                .query(
                    "SELECT id, head, ops_len FROM kompas.workspaces WHERE ops_len > 0",
                    &[],
                )
                .await
                .map_err(PgError::from),
        )?;
        rows.into_iter()
            .map(|row| {
                let id: Vec<u8> = row.get(0);
                let head: i64 = row.get(1);
                let ops_len: i64 = row.get(2);
                Ok(Heads {
                    id: workspace_id(&id)?,
                    head: u64::try_from(head).unwrap_or(0),
                    ops_len: u64::try_from(ops_len).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Whether the database holds workspace `id`.
    pub async fn has(&self, id: &WorkspaceId) -> Result<bool, PgError> {
        let client = self.client().await?;
        let row = self.noted(
            client
                .query_opt(
                    "SELECT 1 FROM kompas.workspaces WHERE id = $1 AND ops_len > 0",
                    &[&&id.0[..]],
                )
                .await
                .map_err(PgError::from),
        )?;
        Ok(row.is_some())
    }

    /// Removes a workspace with everything stored of it.
    pub async fn delete(&self, id: &WorkspaceId) -> Result<bool, PgError> {
        let client = self.client().await?;
        let n = self.noted(
            client
                .execute("DELETE FROM kompas.workspaces WHERE id = $1", &[&&id.0[..]])
                .await
                .map_err(PgError::from),
        )?;
        Ok(n > 0)
    }

    /// Workspace `id`'s log.
    pub fn log(&self, id: &WorkspaceId) -> PgLog {
        PgLog::new(self.clone(), *id)
    }
}

fn workspace_id(bytes: &[u8]) -> Result<WorkspaceId, PgError> {
    <[u8; 16]>::try_from(bytes)
        .map(WorkspaceId)
        .map_err(|_| PgError::Corrupt("samenwerkings-id".into()))
}
