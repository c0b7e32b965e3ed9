//! Workflow instances: Automerge documents holding facts, and the pure reducer over them.

/// The kind of instance documents; no definition may use it for its own kinds.
pub const INSTANCE_KIND: &str = "werkstroom";
