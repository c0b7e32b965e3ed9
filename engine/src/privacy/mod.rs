//! Personal-data checks: nothing that identifies a person may enter a shared document.
//!
//! Shared documents hold only aggregates. This module finds what should never be there: citizen
//! service numbers (BSN, recognised by the elfproef) in free text, and dates of birth next to names
//! (in free text and in imported rows). [`guard`] turns findings into a refusal that names the
//! field and the reason; callers refuse the whole edit, so nothing is saved.

mod birth_date;
mod elfproef;
mod guard;
mod policy;

pub use birth_date::{
    find_birth_date, find_name_with_date, is_birth_date_title, is_name_title, looks_like_date,
};
pub use elfproef::{find_bsn, is_valid_bsn};
pub use guard::{
    Finding, PrivacyError, check_count, check_counts, check_row, check_text, check_value,
};
pub use policy::SuppressionPolicy;

#[cfg(test)]
mod tests;
