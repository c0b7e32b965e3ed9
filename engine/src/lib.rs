//! The kompas engine: an organisation's replica of shared Automerge documents and the rules around it.
//!
//! The core modules decide and return values; they never read the clock, randomness, files or
//! sockets themselves. Time and random bytes come in as arguments. The [`store`] module is the one
//! seam to durable storage: a [`store::Store`] trait with a sled and an in-memory implementation.

pub mod base;
pub mod catalog;
pub mod composition;
pub mod definition;
pub mod document;
pub mod figures;
pub mod identity;
pub mod kinds;
pub mod privacy;
pub mod published;
pub mod replica;
pub mod report;
pub mod runtime;
pub mod seal;
pub mod signature;
pub mod store;
pub mod sync;
pub mod time;

pub use catalog::{ActionFields, ActionSource, Catalog, FieldDef, FieldType, KindDef};
pub use document::{DocId, DocView, FieldValue};
pub use identity::{OrgProfile, OrgType};
pub use replica::{Replica, ReplicaError};
pub use store::{MemoryStore, SledStore, Store, StoreError};
pub use time::Timestamp;
