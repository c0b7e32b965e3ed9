//! What a command runs with: the data directory, the output mode, and the system clock and randomness.
//!
//! The engine never reads the clock or randomness itself; this module is where the CLI supplies them.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use kompas_engine::definition::Registry;
use kompas_engine::store::DataDir;
use kompas_engine::{Replica, SledStore, Timestamp};

use crate::args::Global;
use crate::workflows;

/// The current time from the system clock.
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Timestamp(i64::try_from(millis).unwrap_or(i64::MAX))
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
    _dir: DataDir,
}

/// Opens the replica in `dir`, holding its lock.
pub fn open(dir: &Path, folder: Option<&Path>) -> anyhow::Result<Opened> {
    let data = DataDir::open(dir)?;
    let store = data
        .store()
        .with_context(|| format!("kan de opslag in {} niet openen", dir.display()))?;
    let mut replica = Replica::open(store)?;
    let registry = workflows::load(&replica, folder)?;
    replica.set_catalog(registry.catalog());
    Ok(Opened {
        replica,
        registry,
        _dir: data,
    })
}

/// Opens the replica named by the global `--data` option, with the workflows in force.
pub fn open_global(global: &Global) -> anyhow::Result<Opened> {
    open(&global.data, workflows::folder(global).as_deref())
}
