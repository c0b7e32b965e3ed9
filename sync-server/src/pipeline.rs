//! The pushes of one connection that are stored but not yet durable, with the flush that will
//! make them so.
//!
//! A connection does not wait for a push's flush before it reads the next frame: it stages the
//! bundle (written to the log, not durable), queues its acknowledgement here and reads on.
//! One flush at a time runs for the connection, on a task of its own, and covers every push
//! staged before it started; when it returns, those pushes are committed and acknowledged, in
//! the order they arrived, and the next flush starts for the pushes staged meanwhile. The
//! store's group commit (`store.rs`) lets the flushes of all connections share one write to
//! disk. Nothing is acknowledged before the flush that covers it has returned.
//!
//! The queue is bounded: at most [`MAX_WAITING`] pushes (a replica keeps as many in flight)
//! and, past [`MAX_WAITING_BYTES`] of their bundles, the connection stops reading until a
//! flush returns. A connection with pushes waiting holds one of the relay's write permits,
//! taken when its first push is staged and given back when the queue is empty, so the
//! relay-wide limit on writes in flight counts connections that write.

use std::collections::VecDeque;
use std::time::Instant;

use kompas_engine::sync::wire::ErrorCode;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;

use crate::backend::Backend;
use crate::protocol::{Refusal, Stored};
use crate::store::StoreError;

/// How many pushes of one connection may wait for their flush: as many as a replica keeps in
/// flight.
pub const MAX_WAITING: usize = kompas_engine::sync::replication::MAX_IN_FLIGHT;

/// Past this many bytes of waiting bundles a connection reads no more frames until a flush
/// returns (so one connection stages at most this plus one frame ahead of its flushes).
pub const MAX_WAITING_BYTES: usize = 1 << 20;

/// A push stored and waiting for the flush that makes it durable.
#[derive(Debug)]
pub struct Waiting {
    /// Where it was stored.
    pub stored: Stored,
    /// When its frame arrived (for the acknowledgement's latency).
    pub arrived: Instant,
    /// The bundle's size.
    bytes: usize,
}

/// One connection's pushes waiting for durability, in the order they arrived.
#[derive(Default)]
pub struct Pipeline {
    waiting: VecDeque<Waiting>,
    /// Bytes of the waiting bundles.
    bytes: usize,
    /// How many of the first `waiting` the running flush covers.
    covered: usize,
    /// The running flush.
    flushing: Option<JoinHandle<Result<(), StoreError>>>,
    /// The relay's write permit, held while pushes wait.
    permit: Option<OwnedSemaphorePermit>,
}

impl Pipeline {
    /// Whether no push waits.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Whether the connection may read another frame.
    pub fn has_room(&self) -> bool {
        self.waiting.len() < MAX_WAITING && self.bytes < MAX_WAITING_BYTES
    }

    /// Whether the pipeline takes `count` more pushes of `bytes` together after those
    /// waiting: at least one always, while it has room.
    pub fn has_room_for(&self, count: usize, bytes: usize) -> bool {
        self.waiting.len().saturating_add(count) < MAX_WAITING
            && self.bytes.saturating_add(bytes) < MAX_WAITING_BYTES
    }

    /// Whether the connection holds a write permit (it does while pushes wait).
    pub fn holds_permit(&self) -> bool {
        self.permit.is_some()
    }

    /// Queues a staged push; `permit` is the write permit taken for the first one.
    pub fn push(
        &mut self,
        stored: Stored,
        arrived: Instant,
        bytes: usize,
        permit: Option<OwnedSemaphorePermit>,
    ) {
        if self.permit.is_none() {
            self.permit = permit;
        }
        self.bytes = self.bytes.saturating_add(bytes);
        self.waiting.push_back(Waiting {
            stored,
            arrived,
            bytes,
        });
    }

    /// Starts a flush for every push waiting, unless one runs already.
    pub fn start(&mut self, store: &Backend) {
        if self.flushing.is_some() || self.waiting.is_empty() {
            return;
        }
        self.covered = self.waiting.len();
        let store = store.clone();
        self.flushing = Some(tokio::spawn(async move { store.flush().await }));
    }

    /// Waits for the running flush (for ever if none runs). Cancel-safe: the flush runs on
    /// its own task, and is waited for again on the next call.
    pub async fn flushed(&mut self) -> Result<(), Refusal> {
        let Some(flushing) = self.flushing.as_mut() else {
            return std::future::pending().await;
        };
        let outcome = flushing.await;
        self.flushing = None;
        match outcome {
            Ok(outcome) => outcome.map_err(Refusal::from),
            Err(e) => Err(Refusal::new(
                ErrorCode::Internal,
                format!("het wegschrijven is afgebroken: {e}; er is niets bevestigd"),
            )),
        }
    }

    /// Takes the pushes the flush that returned covered, starts the next flush for those
    /// staged meanwhile, and gives the write permit back once none waits.
    pub fn take_covered(&mut self, store: &Backend) -> Vec<Waiting> {
        let covered: Vec<Waiting> = self.waiting.drain(..self.covered).collect();
        self.covered = 0;
        let bytes: usize = covered.iter().map(|w| w.bytes).sum();
        self.bytes = self.bytes.saturating_sub(bytes);
        if self.waiting.is_empty() {
            self.permit = None;
            // A burst's queue is not kept by a connection that went quiet.
            self.waiting.shrink_to(8);
        } else {
            self.start(store);
        }
        covered
    }
}
