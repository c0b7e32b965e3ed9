//! Fuzz support for the kompas wire format and membership operations.

mod check;
mod membership_check;

pub use check::check_frame_bytes;
pub use membership_check::check_membership_op_bytes;
