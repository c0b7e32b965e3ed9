//! Figures: indicators and their observations, computations (percentages, per-1,000, change,
//! benchmarks), small-number suppression, CSV import, stories beside the figures and charts.
//!
//! An indicator is one shared document (kind `indicator`) in the usual layout; its observations
//! live in the same document under the root key `batches`, as compact encoded batches (see
//! [`codec`]). One document per indicator keeps thousands of rows cheap to sync, and batches
//! written on different replicas merge: per cell, the batch with the highest key wins, which is
//! the same choice on every replica.

pub mod area;
pub mod benchmark;
pub mod change;
pub mod chart;
pub mod codec;
pub mod excerpt;
pub mod import;
pub mod indicator;
pub mod kinds;
pub mod observation;
pub mod period;
pub mod period_rows;
mod recent;
pub mod registry;
pub mod report;
pub mod rounded;
pub mod shown_cache;
pub mod storage;
pub mod story;
pub mod suppression;
pub mod table;
pub mod targets;
pub mod units;

#[cfg(test)]
mod store_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

pub use area::{AreaCode, AreaCodeError, AreaLevel};
pub use indicator::{Direction, INDICATOR_KIND, Indicator, Unit};
pub use kinds::owned;
pub use observation::{Breakdown, ObsKey, Observation, Status};
pub use period::{Period, PeriodError, PeriodPart};
pub use period_rows::PeriodRows;
pub use registry::{AreaInfo, AreaRegistry, REGISTRY_KIND};
pub use suppression::{Protection, SuppressionPolicy, protect};
pub use table::ObservationTable;
