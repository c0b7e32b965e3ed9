//! Retry timing as data: how long to wait before the next connection attempt to a relay.

use crate::time::Timestamp;

/// The first retry waits about this long.
const BASE_MILLIS: i64 = 250;
/// No retry waits longer than this.
const MAX_MILLIS: i64 = 30_000;

/// Failed attempts in a row and the moment the next one may start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backoff {
    /// Failed attempts since the last success.
    pub failures: u32,
}

impl Backoff {
    /// Records a failure and returns when to try again. `jitter` spreads replicas out: the wait
    /// is between half and all of the exponential delay.
    pub fn failed(&mut self, now: Timestamp, jitter: u16) -> Timestamp {
        self.failures = self.failures.saturating_add(1);
        let exp = BASE_MILLIS.saturating_mul(1i64 << self.failures.min(20));
        let full = exp.min(MAX_MILLIS);
        let spread = full / 2 * i64::from(jitter) / i64::from(u16::MAX);
        Timestamp(now.0.saturating_add(full / 2 + spread))
    }

    /// Records a success: the next failure starts from the shortest wait again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_are_capped_and_reset() {
        let mut b = Backoff::default();
        let first = b.failed(Timestamp(0), u16::MAX).0;
        let second = b.failed(Timestamp(0), u16::MAX).0;
        assert!(second > first, "{first} {second}");
        for _ in 0..40 {
            assert!(b.failed(Timestamp(0), u16::MAX).0 <= MAX_MILLIS);
        }
        assert!(b.failed(Timestamp(0), 0).0 >= MAX_MILLIS / 2);
        b.succeeded();
        assert_eq!(b.failed(Timestamp(0), 0).0, BASE_MILLIS);
    }
}
