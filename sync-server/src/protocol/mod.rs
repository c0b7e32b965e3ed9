//! The relay's core: the per-workspace protocol as a state machine without sockets, disks or
//! clocks.
//!
//! [`Session`] is one connection (handshake, authentication, requests, subscriptions),
//! [`WorkspaceCore`] one workspace (member set, durable heads, checks and two-step writes),
//! over a [`WorkspaceLog`] (sled in the server, [`MemoryLog`] in the simulation). [`Rules`]
//! holds what every session answers to (the relay's key, the operator's marks, quotas, answer
//! sizes). Time and randomness are arguments; effects are returned as data ([`Action`]), and the
//! adapter makes every write durable before it is committed and acknowledged. The relay's
//! server (`server` feature) and the simulation of replicas and relays both run this core.

pub mod log;
pub mod op_time;
pub mod quota;
pub mod refusal;
pub mod rules;
pub mod session;
pub mod workspace;

pub use log::{Appended, MemoryLog, OpWritten, WorkspaceLog};
pub use refusal::Refusal;
pub use rules::{AnswerLimits, Marks, Rules};
pub use session::{Action, Session};
pub use workspace::{Admitted, CaughtUp, Checked, StagedOp, Stored, WorkspaceCore};

#[cfg(test)]
mod session_tests;
