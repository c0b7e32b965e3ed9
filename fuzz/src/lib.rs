//! Fuzz support for the kompas wire format.

mod check;

pub use check::check_frame_bytes;
