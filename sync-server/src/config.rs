//! The relay's settings, with defaults for everything but the data directory: what it listens
//! for, the limits that keep its memory, files and time bounded whatever clients send, and the
//! quotas per key and per workspace.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kompas_engine::sync::wire::{MAX_FRAME_BYTES, OrgKey};

pub use crate::protocol::quota::Quotas;
use crate::tls::TlsFiles;

/// How a relay runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Where the sled store lives.
    pub data: PathBuf,
    /// Keep the logs in this PostgreSQL database instead (a `postgres://` URL), shared with any
    /// other nodes that name it.
    pub postgres: Option<String>,
    /// The largest frame accepted, length prefix included.
    pub max_frame: usize,
    /// Connections beyond this are refused with `Overloaded`.
    pub max_connections: usize,
    /// Writes in flight at once (a membership operation, or a connection's pushes waiting for
    /// their flush); more are refused with `Overloaded`.
    pub max_concurrent_writes: usize,
    /// The most bundles in one `Bundles` answer or subscription batch.
    pub pull_limit: usize,
    /// The most bundle bytes in one `Bundles` answer.
    pub pull_budget: usize,
    /// How long a new connection may take to authenticate.
    pub handshake_timeout: Duration,
    /// Timeouts and connection limits.
    pub limits: Limits,
    /// What one key or one workspace may use.
    pub quotas: Quotas,
    /// The most memory sled may use to cache pages (the relay's memory must not grow with data).
    pub cache_bytes: u64,
    /// Relay keys allowed to mirror this relay.
    pub allow_mirror: Vec<OrgKey>,
    /// Organisation keys allowed to create new workspaces here; empty lets anyone create one.
    pub allow_create: Vec<OrgKey>,
    /// The relay this one mirrors (a `ws://` or `wss://` URL), if any.
    pub mirror: Option<String>,
    /// The mirrored relay's own key, pinned; without it the key it shows first is pinned
    /// (and stored), and another key later is refused.
    pub mirror_key: Option<OrgKey>,
    /// A private CA for the mirrored relay's TLS certificate, beside the system's trust store.
    pub mirror_ca: Option<PathBuf>,
    /// Serve TLS with this certificate and key (reloaded when they change); plain HTTP if none.
    /// Shared, so the configuration stays small and cheap to clone.
    pub tls: Option<Arc<TlsFiles>>,
}

impl RelayConfig {
    /// Defaults for a relay storing its data in `data`.
    pub fn new(data: PathBuf) -> RelayConfig {
        RelayConfig {
            data,
            postgres: None,
            max_frame: MAX_FRAME_BYTES,
            max_connections: 20_000,
            max_concurrent_writes: 256,
            pull_limit: 512,
            // Each connection's websocket keeps a send buffer as large as the largest frame it
            // sent, for as long as it is open: with 2 MiB answers, 20 replicas syncing at once
            // held some 29 MiB of those buffers in the relay. A replica asks for its next page
            // only once it has handled one, so smaller pages cost round trips: in the
            // convergence benchmark (20 x 100 x 50) 2 MiB, 1 MiB, 512 KiB and 256 KiB converged in
            // 40, 44, 44 and 51 s with the relay peaking at 82, 63, 47 and 38 MiB.
            pull_budget: 512 * 1024,
            handshake_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            quotas: Quotas::default(),
            cache_bytes: 32 * 1024 * 1024,
            allow_mirror: Vec::new(),
            allow_create: Vec::new(),
            mirror: None,
            mirror_key: None,
            mirror_ca: None,
            tls: None,
        }
    }
}

/// Timeouts and connection limits. Together with the frame limit they bound the relay's memory:
/// bytes of frames still arriving are at most `unvetted_buffer` per connection that is not a
/// member's, at most the frame limit per member connection, and at most `buffered_total` in all.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a client may take to send its HTTP request headers.
    pub header_timeout: Duration,
    /// How long one frame may take to arrive once its first byte came.
    pub frame_timeout: Duration,
    /// A connection silent this long is closed (the relay pings after a third of it).
    pub idle_timeout: Duration,
    /// How long a key that is not a member (a candidate) may stay connected without becoming one.
    pub candidate_timeout: Duration,
    /// Connections that are not (yet) a member's: HTTP requests, handshakes and candidates.
    /// Past this the oldest of them is closed to make room.
    pub max_unvetted: usize,
    /// Connections from one IP address (0: no limit; set it to 0 behind a proxy).
    pub max_per_ip: usize,
    /// Authenticated connections of one key.
    pub max_per_key: usize,
    /// The most bytes a connection that is not a member's may have in frames still arriving.
    pub unvetted_buffer: usize,
    /// The most bytes all connections together may have in frames still arriving.
    pub buffered_total: usize,
    /// A flush that takes longer than this is reported as a storage fault.
    pub flush_timeout: Duration,
    /// Bytes kept free on the data directory's file system: below this, writes are refused
    /// (`StorageFault`) until there is room again (0: no check).
    pub min_free_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            frame_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(90),
            candidate_timeout: Duration::from_secs(30),
            max_unvetted: 1024,
            max_per_ip: 256,
            max_per_key: 16,
            unvetted_buffer: 64 * 1024,
            buffered_total: 256 * 1024 * 1024,
            flush_timeout: Duration::from_secs(30),
            min_free_bytes: 64 * 1024 * 1024,
        }
    }
}
