//! The kompas relay: passes sealed bundles between the organisations of a workspace.
//!
//! It authenticates every connection with a signed challenge, checks membership on every
//! request against the workspace's membership log, keeps per workspace an append-only log of
//! sealed bundles that it acknowledges only once flushed, pushes new bundles to subscribers and
//! can mirror another relay. It holds no workspace keys and never sees plaintext.
//!
//! Without the `server` feature the crate is the protocol core ([`protocol`]) and the client
//! side ([`client`], [`client_tls`]); the server around the core (axum, the sled or PostgreSQL
//! store, metrics, mirroring, TLS termination, the command line) comes with `server`, on by default.

pub mod client;
pub mod client_tls;
pub mod protocol;
#[cfg(test)]
mod sim;

cfg_if::cfg_if! {
    if #[cfg(feature = "server")] {
        pub mod admission;
        pub mod app;
        pub mod backend;
        pub mod command_line;
        pub mod config;
        mod connection;
        mod metered;
        pub mod moving;
        pub mod metrics;
        pub mod mirror;
        pub mod operator;
        mod pipeline;
        pub mod postgres;
        pub mod server;
        pub mod state;
        pub mod store;
        pub mod tls;
        pub mod workspace;
        pub use app::app;
        pub use config::RelayConfig;
        pub use state::RelayState;
    }
}
