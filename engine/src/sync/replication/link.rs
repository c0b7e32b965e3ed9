//! The state of one connection to one relay.

use std::collections::{BTreeMap, BTreeSet};

use super::backoff::Backoff;
use crate::sync::wire::{Access, CHALLENGE_LEN, Hash32, OrgKey, SealedBundle};
use crate::time::Timestamp;

/// Where the conversation with a relay stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// No connection; the next attempt may start at `retry_at` (now if `None`).
    Down,
    /// Waiting for the driver to open the connection.
    Connecting,
    /// `Hello` sent, waiting for the challenge.
    Hello,
    /// `Auth` sent, waiting for the welcome.
    Auth,
    /// Authenticated.
    Ready,
}

/// One relay as the machine sees it.
#[derive(Debug, Clone)]
pub struct Link {
    pub phase: Phase,
    pub backoff: Backoff,
    pub retry_at: Option<Timestamp>,
    /// The relay refused something a retry cannot fix soon (a quota, a frozen workspace): no
    /// new connection before this moment, however short the backoff.
    pub hold_until: Option<Timestamp>,
    /// What the relay lets this connection do.
    pub access: Option<Access>,
    /// The highest sequence number the relay reported.
    pub relay_head: u64,
    /// How many membership operations the relay holds, as far as known.
    pub relay_log: u64,
    /// How many membership operations the relay held when it welcomed this connection: the
    /// access it gave was decided on that log.
    pub welcomed_log: u64,
    /// The membership log was pulled on this connection.
    pub log_pulled: bool,
    /// Confirmed operations up to this index were sent on this connection.
    pub ops_sent: u64,
    /// The pending local operations were sent on this connection (first relay only).
    pub pending_sent: bool,
    /// Bundles pushed on this connection and not acknowledged yet.
    pub in_flight: BTreeSet<Hash32>,
    /// Bundles were requested (pull or subscribe) on this connection.
    pub requested: bool,
    /// A pull is outstanding.
    pub pulling: bool,
    /// Every bundle up to the relay's head was handled.
    pub caught_up: bool,
    /// Bundles that arrived ahead of a gap, by sequence number.
    pub ahead: BTreeMap<u64, SealedBundle>,
    /// One-off sync with this relay is over (done or given up).
    pub finished: bool,
    /// The random bytes sent in this connection's `Hello`, which the relay must sign.
    pub hello_nonce: [u8; CHALLENGE_LEN],
    /// The parked bundles reached their limit: the cursor stays before the bundle that could
    /// not be parked, and nothing more is read from this relay until parked bundles move.
    pub stalled: bool,
    /// The relay's key and challenge on this connection, which a candidacy proof signs.
    pub challenge: Option<(OrgKey, [u8; CHALLENGE_LEN])>,
    /// A candidacy proof was sent on this connection.
    pub candidacy_sent: bool,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            phase: Phase::Down,
            backoff: Backoff::default(),
            retry_at: None,
            hold_until: None,
            access: None,
            relay_head: 0,
            relay_log: 0,
            welcomed_log: 0,
            log_pulled: false,
            ops_sent: 0,
            pending_sent: false,
            in_flight: BTreeSet::new(),
            requested: false,
            pulling: false,
            caught_up: false,
            ahead: BTreeMap::new(),
            finished: false,
            hello_nonce: [0; CHALLENGE_LEN],
            stalled: false,
            challenge: None,
            candidacy_sent: false,
        }
    }
}

impl Link {
    /// Forgets everything that belonged to the connection that ended.
    pub fn reset_connection(&mut self) {
        *self = Link {
            backoff: self.backoff,
            hold_until: self.hold_until,
            finished: self.finished,
            ..Link::default()
        };
    }
}
