//! Sync between organisations: the wire format spoken with relays, the workspace member list,
//! and the replica's sync state machine.
//!
//! All three are pure: they encode, decode, sign, verify, fold and decide, and never touch a
//! socket, the clock or randomness. The relay and the replicas share the first two; the
//! replication machine reads and writes only the replica's own store.

pub mod membership;
pub mod replication;
pub mod wire;
