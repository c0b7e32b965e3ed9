//! A deterministic simulation of replicas and relays: virtual clock, seeded randomness, no sockets.
//!
//! The relay here is a small model of the real one (authentication, membership checks, an
//! append-only bundle log with sequence numbers, deduplication, subscriptions); the replicas run
//! the real [`super::Machine`] over in-memory stores. The network loses connections, reorders
//! and duplicates messages, and replicas and relays restart. Written scenarios (`scenarios/*.sim`,
//! read by [`scenario`]) play out chosen sequences beside the random sweep.

mod relay;
pub(crate) mod rng;
mod scenario;
mod world;

#[cfg(test)]
mod tests;
