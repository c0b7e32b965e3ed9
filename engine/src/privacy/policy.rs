//! The small-number policy as a value: which counts are secret and how shown counts are rounded.
//! Figures apply it to tables (`figures::suppression`), the replica to counts in fields.

/// How figures are protected; configurable per workspace.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SuppressionPolicy {
    /// Counts up to and including this are secret.
    pub threshold: f64,
    /// Shown counts are rounded to a multiple of this (1 = no rounding).
    pub round_to: f64,
    /// Whether secondary suppression is applied.
    pub secondary: bool,
}

impl Default for SuppressionPolicy {
    fn default() -> Self {
        SuppressionPolicy {
            threshold: 7.0,
            round_to: 5.0,
            secondary: true,
        }
    }
}
