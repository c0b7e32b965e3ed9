//! The relay's settings, with defaults for everything but the data directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kompas_engine::sync::wire::{MAX_FRAME_BYTES, OrgKey};

use crate::tls::TlsFiles;

/// How a relay runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Where the sled store lives.
    pub data: PathBuf,
    /// The largest frame accepted, length prefix included.
    pub max_frame: usize,
    /// Connections beyond this are refused with `Overloaded`.
    pub max_connections: usize,
    /// Bundle and membership writes in flight at once; more are refused with `Overloaded`.
    pub max_concurrent_writes: usize,
    /// The most bundles in one `Bundles` answer or subscription batch.
    pub pull_limit: usize,
    /// The most bundle bytes in one `Bundles` answer.
    pub pull_budget: usize,
    /// How long a new connection may take to authenticate.
    pub handshake_timeout: Duration,
    /// The most memory sled may use to cache pages (the relay's memory must not grow with data).
    pub cache_bytes: u64,
    /// Relay keys allowed to mirror this relay.
    pub allow_mirror: Vec<OrgKey>,
    /// Organisation keys allowed to create new workspaces here; empty lets anyone create one.
    pub allow_create: Vec<OrgKey>,
    /// The relay this one mirrors (a `ws://` URL), if any.
    pub mirror: Option<String>,
    /// Serve TLS with this certificate and key (reloaded when they change); plain HTTP if none.
    /// Shared, so the configuration stays small and cheap to clone.
    pub tls: Option<Arc<TlsFiles>>,
}

impl RelayConfig {
    /// Defaults for a relay storing its data in `data`.
    pub fn new(data: PathBuf) -> RelayConfig {
        RelayConfig {
            data,
            max_frame: MAX_FRAME_BYTES,
            max_connections: 20_000,
            max_concurrent_writes: 256,
            pull_limit: 512,
            pull_budget: 2 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(10),
            cache_bytes: 32 * 1024 * 1024,
            allow_mirror: Vec::new(),
            allow_create: Vec::new(),
            mirror: None,
            tls: None,
        }
    }

    /// Whether `key` may create a new workspace on this relay.
    pub fn may_create(&self, key: &OrgKey) -> bool {
        self.allow_create.is_empty() || self.allow_create.contains(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_an_allow_list_anyone_may_create_with_one_only_those_listed() {
        let (listed, other) = (OrgKey([1; 32]), OrgKey([2; 32]));
        let mut config = RelayConfig::new(PathBuf::from("d"));
        assert!(config.may_create(&other));
        config.allow_create = vec![listed];
        assert!(config.may_create(&listed));
        assert!(!config.may_create(&other));
    }
}
