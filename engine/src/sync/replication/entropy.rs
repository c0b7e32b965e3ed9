//! Randomness as an argument: the machine asks its caller for random bytes, never the system.

/// A source of random bytes supplied by the caller (the OS in the driver, a seeded RNG in tests).
pub trait Entropy {
    /// Fills `out` with random bytes.
    fn fill(&mut self, out: &mut [u8]);
}

/// `N` random bytes from `entropy`.
pub fn random<const N: usize>(entropy: &mut dyn Entropy) -> [u8; N] {
    let mut out = [0u8; N];
    entropy.fill(&mut out);
    out
}
