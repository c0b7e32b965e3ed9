//! Helpers shared by the figures tests.

use super::{AreaCode, Breakdown, Observation, Period, Status};

/// A final observation of 2023 without a denominator.
pub fn obs(area: &str, breakdown: Breakdown, value: f64) -> Observation {
    Observation {
        area: AreaCode::parse(area).unwrap(),
        period: Period::year(2023),
        breakdown,
        value: Some(value),
        denominator: None,
        status: Status::Definitief,
        note: None,
    }
}
