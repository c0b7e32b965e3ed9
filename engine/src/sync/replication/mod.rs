//! The replica side of sync: a sans-I/O state machine per workspace that talks to every relay.
//!
//! [`Machine::react`] takes the time, a source of randomness and one [`Event`] (a connection
//! opened or closed, a message from a relay, a timer, local edits) and returns a [`Step`]: the
//! batch of state writes to make durable first, the received changes to apply to documents
//! (whose outcomes come back as [`Event::Delivered`]), the reads it asks for (local edits,
//! snapshots), and the [`Effect`]s for the driver to carry out (connect, send, close, wake me
//! at, report). It keeps per relay a cursor (the highest contiguous sequence number handled),
//! an outgoing queue of sealed local changes that survives restarts, and a backoff for
//! reconnecting. Incoming bundles are opened (membership, signature, key, decryption) by the
//! machine and applied by the driver; refusals are reported and never applied, duplicates are
//! harmless, and bundles that wait for dependencies, keys or member-list operations are parked
//! and retried.
//!
//! The sync core does no storage I/O: it reads documents only as data handed in with events,
//! and writes only by asking in its steps. [`Machine::handle`] (`on_replica.rs`) is the
//! driver's side: it commits each step's batch and applies what the step asks before any
//! effect goes on. No sockets, no clock, no randomness of its own.

mod author_seqs;
mod backoff;
mod confirmation;
mod conversation;
mod entropy;
mod event;
mod ingest;
mod invite_code;
mod link;
mod local_ops;
mod machine;
mod membership_sync;
mod on_replica;
mod outbox;
mod queues;
mod relay_trust;
mod roster;
mod sim_rng;
mod state;

pub use author_seqs::{AuthorSeqs, SeqRanges};
pub use backoff::Backoff;
pub use confirmation::PendingView;
pub use entropy::{Entropy, random};
pub use event::{Delivery, Effect, Event, LocalEdit, Report, Step};
pub use invite_code::{InviteCode, InviteCodeError};
pub use machine::{MAX_IN_FLIGHT, Machine, Mode, ONCE_ATTEMPTS, PULL_LIMIT, SyncError};
pub use queues::{Outbox, Parked, Tracked};
pub use relay_trust::{RelayRefusal, RelayTrust};
pub use roster::{Members, known_members};
pub use sim_rng::SimRng;
pub use state::{
    AUTHORS_KEY, CURSORS_KEY, MembershipView, OUTBOX_PREFIX, Outgoing, PARKED_PREFIX,
    SEALED_PREFIX, STATE_KEY, StateError, WorkspaceState,
};

#[cfg(test)]
mod ingest_tests;
#[cfg(test)]
mod persistence_tests;
#[cfg(test)]
mod sealing_tests;
#[cfg(test)]
mod test_store;
