//! The kompas relay: passes sealed bundles between the organisations of a workspace.
//!
//! It authenticates every connection with a signed challenge, checks membership on every
//! request against the workspace's membership log, keeps per workspace an append-only log of
//! sealed bundles that it acknowledges only once flushed, pushes new bundles to subscribers and
//! can mirror another relay. It holds no workspace keys and never sees plaintext.

pub mod admission;
pub mod app;
pub mod client;
pub mod client_tls;
pub mod command_line;
pub mod config;
mod connection;
mod metered;
pub mod metrics;
pub mod mirror;
pub mod operator;
pub mod protocol;
pub mod server;
#[cfg(test)]
mod sim;
pub mod state;
pub mod store;
pub mod tls;
pub mod workspace;

pub use app::app;
pub use config::RelayConfig;
pub use state::RelayState;
