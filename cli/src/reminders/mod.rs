//! Reminder mail: the deadlines, reminders and planned moments of the organisation's to-do list,
//! sent through its own SMTP server as one digest per recipient, each reminder once
//! (docs/reminders.md). The configuration is local (`config.rs`), the record of what was sent
//! lives in the replica's local metadata (`ledger.rs`); `setup.rs` writes the configuration.

pub mod config;
pub mod digest;
pub mod ledger;
pub mod mailer;
pub mod round;
pub mod schedule;
pub mod setup;
