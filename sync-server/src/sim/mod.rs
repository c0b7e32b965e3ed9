//! A deterministic simulation of replicas and relays: virtual clock, seeded randomness, no
//! sockets, no disks.
//!
//! The relays run the relay's own protocol core (`crate::protocol`) over memory logs, hosted
//! as the server hosts it ([`relay_host`]); the replicas run the engine's real sync machine
//! over in-memory stores. So the simulation runs the relay that is deployed, not a model of
//! it. The network loses connections, reorders and duplicates messages, and replicas and
//! relays restart. Written scenarios (`scenarios/*.sim`, read by [`scenario`]) play out chosen
//! sequences beside the random sweep of `tests.rs`.
//!
//! It lives in the relay crate because the relay depends on the engine: the engine cannot
//! reach the relay's core, while this crate reaches the engine's public machine.

mod relay_host;
mod scenario;
mod world;

mod tests;
