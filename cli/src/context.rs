//! What a command runs with: the data directory, the output mode, and the system clock and randomness.
//!
//! The engine never reads the clock or randomness itself; this module is where the CLI supplies them.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use kompas_engine::definition::Registry;
use kompas_engine::published::Found;
use kompas_engine::store::{self, DataDir, DataDirError};
use kompas_engine::{Replica, SledStore, Timestamp, composition};

use crate::args::Global;
use crate::{partnerships, workflows};

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

/// An opened data directory with its replica; the directory lock lives as long as this does.
pub struct Opened {
    pub replica: Replica<SledStore>,
    /// The workflow definitions in force; the replica's catalog holds their kinds.
    pub registry: Registry,
    /// Published definitions that do not count, each with the reason.
    pub refused_publications: Vec<Found>,
    /// The locked data directory, shared by every samenwerking opened in it.
    pub dir: Arc<DataDir>,
    /// The number of the replica's store in the data directory: which samenwerking it is.
    pub store: u32,
}

/// How long a command waits for a watching sync to hand over the data directory.
const HANDOFF_PATIENCE: Duration = Duration::from_secs(30);
/// How long a command waits for another command that holds the data directory to end: long
/// enough for a command started right after another one (a script's next line) or a lock copied
/// for an instant into a starting child process, short enough that a long-running holder is
/// reported without keeping anyone waiting.
const BUSY_PATIENCE: Duration = Duration::from_secs(2);
/// How often a waiting command looks whether the lock is free.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// Locks the data directory `dir`. When a watching sync (`kompas sync --watch`) holds it, asks
/// that process for a turn and waits for it; any other holder gets a moment to finish and is
/// then reported.
pub fn lock(dir: &Path) -> Result<DataDir, DataDirError> {
    let started = Instant::now();
    let mut knocked = false;
    loop {
        match DataDir::open(dir) {
            Ok(data) => {
                if knocked {
                    data.clear_knock();
                }
                return Ok(data);
            }
            Err(DataDirError::InUse(_))
                if store::is_watched(dir) && started.elapsed() < HANDOFF_PATIENCE =>
            {
                store::knock(dir)?;
                if !knocked {
                    crate::output::note(
                        "kompas: wacht tot de lopende synchronisatie (`kompas sync --watch` of `kompas serve`) de map even vrijgeeft...",
                    );
                    knocked = true;
                }
                std::thread::sleep(LOCK_POLL);
            }
            Err(DataDirError::InUse(_)) if started.elapsed() < BUSY_PATIENCE => {
                std::thread::sleep(LOCK_POLL);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Opens the replica of the samenwerking `wanted` names (or the only one) in `dir`, holding the
/// directory's lock.
pub fn open(dir: &Path, wanted: Option<&str>, folder: Option<&Path>) -> anyhow::Result<Opened> {
    let data = lock(dir)?;
    let store = partnerships::choose(&data, wanted)?;
    open_locked(data, store, folder)
}

/// Opens the replica of store `store` in an already locked data directory.
pub fn open_locked(data: DataDir, store: u32, folder: Option<&Path>) -> anyhow::Result<Opened> {
    open_shared(Arc::new(data), store, folder)
}

/// Opens the replica of store `store` in a locked data directory that other opened
/// samenwerkingen may share; the lock lasts until the last of them is dropped.
pub fn open_shared(
    data: Arc<DataDir>,
    store: u32,
    folder: Option<&Path>,
) -> anyhow::Result<Opened> {
    let (replica, registry, refused_publications) = replica_in(&data, store, folder)?;
    Ok(Opened {
        replica,
        registry,
        refused_publications,
        dir: data,
        store,
    })
}

/// Opens the samenwerking `wanted` names in a locked data directory, or without a name every
/// samenwerking it has, in the order of their stores.
pub fn open_every(
    data: Arc<DataDir>,
    wanted: Option<&str>,
    folder: Option<&Path>,
) -> anyhow::Result<Vec<Opened>> {
    let stores = match wanted {
        Some(_) => vec![partnerships::choose(&data, wanted)?],
        None => data.stores()?,
    };
    if stores.is_empty() {
        return Err(kompas_engine::ReplicaError::NotInitialised.into());
    }
    stores
        .into_iter()
        .map(|store| open_shared(data.clone(), store, folder))
        .collect()
}

/// Opens the replica of store `store` in a locked data directory that stays with the caller,
/// with the definitions in force and the published ones that do not count.
pub fn replica_in(
    data: &DataDir,
    store: u32,
    folder: Option<&Path>,
) -> anyhow::Result<(Replica<SledStore>, Registry, Vec<Found>)> {
    let dir = data.root();
    crate::output::detail(&format!("kompas-map: {}", dir.display()));
    let sled = data
        .store(store)
        .with_context(|| format!("kan de opslag in {} niet openen", dir.display()))?;
    composition::open_with(sled, |replica| workflows::load(replica, folder))
}

/// Opens the replica of the samenwerking the global `--samenwerking` option names (or the only
/// one) in the `--data` directory, with the workflows in force.
pub fn open_global(global: &Global) -> anyhow::Result<Opened> {
    open(
        &global.data,
        global.samenwerking.as_deref(),
        workflows::folder(global).as_deref(),
    )
}
