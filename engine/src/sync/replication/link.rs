//! One relay as the machine sees it: what outlives a connection, and where the current
//! connection stands, each stage holding only what belongs to it.

use std::collections::{BTreeMap, BTreeSet};

use super::backoff::Backoff;
use crate::sync::wire::{Access, CHALLENGE_LEN, Hash32, OrgKey, SealedBundle};
use crate::time::Timestamp;

/// One relay as the machine sees it.
#[derive(Debug, Clone, Default)]
pub struct Link {
    /// Where the connection stands.
    pub conn: Conn,
    pub backoff: Backoff,
    /// The relay refused something a retry cannot fix soon (a quota, a frozen workspace): no
    /// new connection before this moment, however short the backoff.
    pub hold_until: Option<Timestamp>,
    /// One-off sync with this relay is over (done or given up).
    pub finished: bool,
}

/// The life of one connection to a relay.
#[derive(Debug, Clone)]
pub enum Conn {
    /// No connection; the next attempt may start at `retry_at` (now if `None`).
    Down { retry_at: Option<Timestamp> },
    /// Waiting for the driver to open the connection.
    Connecting,
    /// `Hello` sent with these random bytes, which the relay must sign; waiting for the
    /// challenge.
    Hello { nonce: [u8; CHALLENGE_LEN] },
    /// `Auth` sent, waiting for the welcome.
    Auth(Handshake),
    /// Welcomed: the conversation proper.
    Ready(Box<Session>),
}

impl Default for Conn {
    fn default() -> Self {
        Conn::Down { retry_at: None }
    }
}

/// What the relay proved in the handshake, kept for a candidacy proof.
#[derive(Debug, Clone, Copy)]
pub struct Handshake {
    /// The random bytes sent in this connection's `Hello`, which the relay signed.
    pub hello_nonce: [u8; CHALLENGE_LEN],
    /// The relay's key and challenge on this connection, which a candidacy proof signs.
    pub challenge: (OrgKey, [u8; CHALLENGE_LEN]),
    /// A candidacy proof was sent on this connection.
    pub candidacy_sent: bool,
}

/// A welcomed connection.
#[derive(Debug, Clone)]
pub struct Session {
    /// The handshake it came from.
    pub handshake: Handshake,
    /// What the relay lets this connection do.
    pub access: Access,
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
    /// The parked bundles reached their limit: the cursor stays before the bundle that could
    /// not be parked, and nothing more is read from this relay until parked bundles move.
    pub stalled: bool,
}

impl Session {
    /// A connection just welcomed with `access` on a log of `membership_len` operations.
    pub fn welcomed(handshake: Handshake, access: Access, head: u64, membership_len: u64) -> Self {
        Session {
            handshake,
            access,
            relay_head: head,
            relay_log: membership_len,
            welcomed_log: membership_len,
            log_pulled: false,
            ops_sent: membership_len,
            pending_sent: false,
            in_flight: BTreeSet::new(),
            requested: false,
            pulling: false,
            caught_up: false,
            ahead: BTreeMap::new(),
            stalled: false,
        }
    }
}

impl Link {
    /// The welcomed connection, if there is one.
    pub fn session(&self) -> Option<&Session> {
        match &self.conn {
            Conn::Ready(session) => Some(session),
            _ => None,
        }
    }

    /// The welcomed connection, if there is one, to change.
    pub fn session_mut(&mut self) -> Option<&mut Session> {
        match &mut self.conn {
            Conn::Ready(session) => Some(session),
            _ => None,
        }
    }

    /// The handshake of the current connection, once the relay proved its key.
    pub fn handshake(&self) -> Option<&Handshake> {
        match &self.conn {
            Conn::Auth(handshake) => Some(handshake),
            Conn::Ready(session) => Some(&session.handshake),
            _ => None,
        }
    }

    /// The handshake of the current connection, to change.
    pub fn handshake_mut(&mut self) -> Option<&mut Handshake> {
        match &mut self.conn {
            Conn::Auth(handshake) => Some(handshake),
            Conn::Ready(session) => Some(&mut session.handshake),
            _ => None,
        }
    }

    /// The random bytes this connection's `Hello` sent, once it was sent.
    pub fn hello_nonce(&self) -> Option<[u8; CHALLENGE_LEN]> {
        match &self.conn {
            Conn::Hello { nonce } => Some(*nonce),
            _ => self.handshake().map(|h| h.hello_nonce),
        }
    }

    /// Whether there is no connection.
    pub fn is_down(&self) -> bool {
        matches!(self.conn, Conn::Down { .. })
    }

    /// Forgets everything that belonged to the connection that ended.
    pub fn reset_connection(&mut self) {
        self.conn = Conn::Down { retry_at: None };
    }
}
