//! Who may hold a connection: every TCP connection, from accept to close, holds a [`Ticket`]
//! that counts it against the relay's limits (in all, per IP address, per key) and measures the
//! bytes of frames it has still arriving.
//!
//! Connections that are not a member's (HTTP requests, handshakes, candidates) are "unvetted":
//! they may buffer only a little, and when there are too many of them, or the relay runs out of
//! file descriptors, the oldest is closed to make room. A member's connection, once welcomed,
//! is never closed for a newcomer, so a flood of half-open connections or throwaway keys cannot
//! shut members out.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kompas_engine::sync::wire::OrgKey;
use tokio::sync::watch;

use crate::config::Limits;

/// Connections let in past `max_connections` only to be refused with a typed answer.
const OVER_GRACE: usize = 64;

/// Why the relay cut a connection short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Closed to make room for a newer connection that is not a member's either.
    Evicted,
    /// It had more bytes of unfinished frames than it may.
    Buffer,
}

/// Connection counts and buffered bytes of a running relay.
pub struct Admission {
    limits: Limits,
    max_connections: usize,
    member_buffer: usize,
    counts: Mutex<Counts>,
    buffered: AtomicUsize,
    next_id: AtomicU64,
    epoch: Instant,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    per_key: HashMap<OrgKey, usize>,
    /// Unvetted connections by ticket id, oldest first, with the way to cut each.
    unvetted: BTreeMap<u64, watch::Sender<Option<Cut>>>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The relay holds its maximum number of connections, all of them members'.
    #[error("de relay heeft het maximum van {0} verbindingen bereikt")]
    Full(usize),
    /// This IP address holds its maximum.
    #[error("te veel verbindingen vanaf {ip} (grens {limit})")]
    PerIp {
        /// The address.
        ip: IpAddr,
        /// The limit.
        limit: usize,
    },
    /// This key holds its maximum.
    #[error("te veel verbindingen met sleutel {key} (grens {limit})")]
    PerKey {
        /// The key.
        key: OrgKey,
        /// The limit.
        limit: usize,
    },
}

/// A snapshot of the counts, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    /// TCP connections held.
    pub total: usize,
    /// Of which not (yet) a member's.
    pub unvetted: usize,
    /// Bytes of frames still arriving, over all connections.
    pub buffered: usize,
}

impl Admission {
    /// Limits for a relay that holds at most `max_connections` and accepts frames of
    /// `max_frame` bytes.
    pub fn new(limits: Limits, max_connections: usize, max_frame: usize) -> Arc<Admission> {
        Arc::new(Admission {
            // A member's frame may be the largest frame, plus one websocket read of slack.
            member_buffer: max_frame + 64 * 1024,
            limits,
            max_connections,
            counts: Mutex::default(),
            buffered: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            epoch: Instant::now(),
        })
    }

    /// Admits a new TCP connection from `ip`, closing the oldest unvetted one if that makes
    /// room. The returned ticket releases everything when its last clone is dropped.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Refused> {
        let mut counts = self.lock();
        // Past the limit, with no unvetted connection to close, a few more are let in only to
        // hear a typed `Overloaded` and be closed.
        let mut over = false;
        if counts.total >= self.max_connections && !evict_oldest(&mut counts) {
            if counts.total >= self.max_connections + OVER_GRACE {
                return Err(Refused::Full(self.max_connections));
            }
            over = true;
        }
        let limit = self.limits.max_per_ip;
        let from_ip = counts.per_ip.get(&ip).copied().unwrap_or(0);
        if limit > 0 && from_ip >= limit {
            return Err(Refused::PerIp { ip, limit });
        }
        if counts.unvetted.len() >= self.limits.max_unvetted {
            evict_oldest(&mut counts);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let cut = watch::Sender::new(None);
        if !over {
            counts.unvetted.insert(id, cut.clone());
        }
        counts.total += 1;
        *counts.per_ip.entry(ip).or_default() += 1;
        Ok(Ticket(Arc::new(TicketInner {
            id,
            ip,
            admission: self.clone(),
            key: Mutex::new(None),
            cut,
            limit: AtomicUsize::new(self.limits.unvetted_buffer),
            inflight: AtomicUsize::new(0),
            first_byte: AtomicU64::new(0),
            over,
        })))
    }

    /// Closes the oldest unvetted connection, when the system has no file descriptors left.
    /// Returns whether there was one.
    pub fn shed_unvetted(&self) -> bool {
        evict_oldest(&mut self.lock())
    }

    /// Closes every unvetted connection (on shutdown).
    pub fn shed_all_unvetted(&self) {
        let mut counts = self.lock();
        while evict_oldest(&mut counts) {}
    }

    /// The counts now.
    pub fn census(&self) -> Census {
        let counts = self.lock();
        Census {
            total: counts.total,
            unvetted: counts.unvetted.len(),
            buffered: self.buffered.load(Ordering::Relaxed),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

fn evict_oldest(counts: &mut Counts) -> bool {
    match counts.unvetted.pop_first() {
        Some((_, cut)) => {
            cut.send_replace(Some(Cut::Evicted));
            true
        }
        None => false,
    }
}

/// One admitted connection. Clones share it; the counts are released when the last goes.
#[derive(Clone)]
pub struct Ticket(Arc<TicketInner>);

struct TicketInner {
    id: u64,
    ip: IpAddr,
    admission: Arc<Admission>,
    key: Mutex<Option<OrgKey>>,
    cut: watch::Sender<Option<Cut>>,
    /// The most bytes of unfinished frames this connection may hold.
    limit: AtomicUsize,
    /// Bytes read since the last complete message.
    inflight: AtomicUsize,
    /// When the first of those bytes came, in milliseconds since the admission's epoch, plus
    /// one (0: none).
    first_byte: AtomicU64,
    /// Admitted past the connection limit, only to be told so.
    over: bool,
}

impl Ticket {
    /// The client's address.
    pub fn ip(&self) -> IpAddr {
        self.0.ip
    }

    /// Whether the connection came in past the connection limit and is to be refused.
    pub fn is_over(&self) -> bool {
        self.0.over
    }

    /// Counts the connection against its key's limit once authenticated.
    pub fn authenticated(&self, key: OrgKey) -> Result<(), Refused> {
        let admission = &self.0.admission;
        let mut counts = admission.lock();
        let limit = admission.limits.max_per_key;
        let held = counts.per_key.get(&key).copied().unwrap_or(0);
        if limit > 0 && held >= limit {
            return Err(Refused::PerKey { key, limit });
        }
        *counts.per_key.entry(key).or_default() += 1;
        *self
            .0
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(key);
        Ok(())
    }

    /// The connection is a member's (or a mirror's): it is no longer closed for newcomers and
    /// may buffer a whole frame.
    pub fn vetted(&self) {
        let admission = &self.0.admission;
        admission.lock().unvetted.remove(&self.0.id);
        self.0
            .limit
            .store(admission.member_buffer, Ordering::Relaxed);
    }

    /// Completes when the relay cuts this connection short, with the reason.
    pub async fn cut(&self) -> Cut {
        let mut rx = self.0.cut.subscribe();
        let cut = rx.wait_for(Option::is_some).await.ok().and_then(|cut| *cut);
        match cut {
            Some(cut) => cut,
            None => std::future::pending().await,
        }
    }

    /// Whether the connection may read more bytes now; if not, it is cut for its buffer.
    pub(crate) fn may_read(&self) -> bool {
        let inflight = self.0.inflight.load(Ordering::Relaxed);
        let admission = &self.0.admission;
        let over_total = inflight > 0
            && admission.buffered.load(Ordering::Relaxed) >= admission.limits.buffered_total;
        if inflight >= self.0.limit.load(Ordering::Relaxed) || over_total {
            self.0.cut.send_replace(Some(Cut::Buffer));
            return false;
        }
        true
    }

    /// Records `n` bytes read from the socket.
    pub(crate) fn read(&self, n: usize) {
        if n == 0 {
            return;
        }
        let admission = &self.0.admission;
        admission.buffered.fetch_add(n, Ordering::Relaxed);
        if self.0.inflight.fetch_add(n, Ordering::Relaxed) == 0 {
            self.0
                .first_byte
                .store(admission.millis() + 1, Ordering::Relaxed);
        }
    }

    /// A complete message arrived: what was read so far is no longer waiting.
    pub fn consumed(&self) {
        let n = self.0.inflight.swap(0, Ordering::Relaxed);
        self.0.first_byte.store(0, Ordering::Relaxed);
        self.0.admission.buffered.fetch_sub(n, Ordering::Relaxed);
    }

    /// How long the bytes of the frame now arriving have been coming in, if any came.
    pub fn frame_age(&self) -> Option<Duration> {
        let first = self.0.first_byte.load(Ordering::Relaxed);
        (first > 0)
            .then(|| Duration::from_millis(self.0.admission.millis().saturating_sub(first - 1)))
    }
}

impl Drop for TicketInner {
    fn drop(&mut self) {
        let admission = &self.admission;
        admission
            .buffered
            .fetch_sub(*self.inflight.get_mut(), Ordering::Relaxed);
        let key = *self.key.get_mut().unwrap_or_else(|e| e.into_inner());
        let mut counts = admission.lock();
        counts.total = counts.total.saturating_sub(1);
        counts.unvetted.remove(&self.id);
        release(&mut counts.per_ip, self.ip);
        if let Some(key) = key {
            release(&mut counts.per_key, key);
        }
    }
}

fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: K) {
    if let Some(n) = map.get_mut(&key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(max: usize, unvetted: usize, per_ip: usize) -> Arc<Admission> {
        let limits = Limits {
            max_unvetted: unvetted,
            max_per_ip: per_ip,
            max_per_key: 2,
            unvetted_buffer: 100,
            buffered_total: 1000,
            ..Limits::default()
        };
        Admission::new(limits, max, 500)
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[tokio::test]
    async fn the_oldest_unvetted_connection_makes_room_and_members_are_never_evicted() {
        let a = admission(3, 2, 0);
        let member = a.admit(ip(1)).unwrap();
        member.vetted();
        let first = a.admit(ip(2)).unwrap();
        let second = a.admit(ip(3)).unwrap();
        // A third unvetted one evicts the first, and the relay is then full of two members'
        // worth of room: the count drops only when the evicted connection closes.
        let third = a.admit(ip(4)).unwrap();
        assert_eq!(first.cut().await, Cut::Evicted);
        drop(first);
        assert_eq!(a.census().total, 3);
        // Full: another newcomer evicts the oldest unvetted (second), never the member.
        let fourth = a.admit(ip(5)).unwrap();
        assert_eq!(second.cut().await, Cut::Evicted);
        drop((second, third, fourth));
        let census = a.census();
        assert_eq!((census.total, census.unvetted), (1, 0));
        // With only members left and the relay full, a newcomer is let in only to be refused,
        // and past a margin not even that.
        let a = admission(1, 2, 0);
        let member = a.admit(ip(1)).unwrap();
        member.vetted();
        assert!(!member.is_over());
        let mut told = Vec::new();
        for _ in 0..OVER_GRACE {
            let t = a.admit(ip(2)).unwrap();
            assert!(t.is_over());
            told.push(t);
        }
        assert_eq!(a.admit(ip(2)).err(), Some(Refused::Full(1)));
    }

    #[test]
    fn addresses_and_keys_have_their_own_limits_released_on_close() {
        let a = admission(10, 10, 2);
        let one = a.admit(ip(1)).unwrap();
        let two = a.admit(ip(1)).unwrap();
        assert!(matches!(a.admit(ip(1)), Err(Refused::PerIp { .. })));
        let other = a.admit(ip(2)).unwrap();
        let key = OrgKey([7; 32]);
        one.authenticated(key).unwrap();
        two.authenticated(key).unwrap();
        assert!(matches!(
            other.authenticated(key),
            Err(Refused::PerKey { .. })
        ));
        drop(one);
        other.authenticated(key).unwrap();
        assert!(a.admit(ip(1)).is_ok());
    }

    #[tokio::test]
    async fn bytes_of_unfinished_frames_are_bounded_per_connection_and_in_total() {
        let a = admission(10, 10, 0);
        let t = a.admit(ip(1)).unwrap();
        assert!(t.may_read());
        t.read(60);
        assert!(t.frame_age().is_some());
        t.read(60);
        assert!(!t.may_read(), "120 bytes exceed the unvetted 100");
        assert_eq!(t.cut().await, Cut::Buffer);
        t.consumed();
        assert_eq!(t.frame_age(), None);
        assert_eq!(a.census().buffered, 0);
        let a = Admission::new(
            Limits {
                buffered_total: 200_000,
                ..Limits::default()
            },
            10,
            500,
        );
        let member = a.admit(ip(2)).unwrap();
        member.vetted();
        member.read(60_000);
        assert!(member.may_read(), "a member may buffer a whole frame");
        let other = a.admit(ip(3)).unwrap();
        other.vetted();
        other.read(70_000);
        assert!(!other.may_read(), "over the frame limit and its slack");
        drop(other);
        assert_eq!(a.census().buffered, 60_000);
        let (third, fourth) = (a.admit(ip(4)).unwrap(), a.admit(ip(5)).unwrap());
        third.vetted();
        fourth.vetted();
        third.read(66_000);
        fourth.read(66_000);
        member.read(10_000);
        assert!(
            !member.may_read(),
            "202,000 bytes in all exceed the total of 200,000"
        );
    }
}
