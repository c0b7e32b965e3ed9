//! The kompas relay: passes sealed bundles between the organisations of a workspace.
//!
//! It authenticates every connection with a signed challenge, checks membership on every
//! request against the workspace's membership log, keeps per workspace an append-only log of
//! sealed bundles that it acknowledges only once flushed, pushes new bundles to subscribers and
//! can mirror another relay. It holds no workspace keys and never sees plaintext.
//!
//! Without the `server` feature the crate is the protocol core ([`protocol`]) and the client
//! side ([`client`], [`client_tls`]); the server around the core (axum, the sled store,
//! metrics, mirroring, TLS termination, the command line) comes with `server`, on by default.

pub mod client;
pub mod client_tls;
pub mod protocol;
#[cfg(test)]
mod sim;

#[cfg(feature = "server")]
pub mod admission;
#[cfg(feature = "server")]
pub mod app;
#[cfg(feature = "server")]
pub mod command_line;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
mod connection;
#[cfg(feature = "server")]
mod metered;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod mirror;
#[cfg(feature = "server")]
pub mod operator;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod state;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod tls;
#[cfg(feature = "server")]
pub mod workspace;

#[cfg(feature = "server")]
pub use app::app;
#[cfg(feature = "server")]
pub use config::RelayConfig;
#[cfg(feature = "server")]
pub use state::RelayState;
