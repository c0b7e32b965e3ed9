//! Workflow definitions: the YAML language, its checks and diagnostics, its schema and diagram.
//!
//! [`check`] reads one file and returns the checked [`Definition`] or every problem found, each
//! with its line and column and a hint. Reading never panics and never stops at the first meaning
//! problem; a YAML syntax or type error does stop the meaning checks of that one file.

mod builtin;
mod cron;
mod diagnostic;
mod diagram;
mod model;
mod period;
mod raw;
mod registry;
mod schema;
mod validate;
mod yaml_error;

pub use builtin::{BUILTIN, builtin_registry};
pub use cron::{CronRule, CronRuleError};
pub use diagnostic::{Diagnostic, Position, Severity};
pub use diagram::mermaid;
pub use model::{
    Approval, ConflictRule, DEFAULT_TIME_ZONE, Definition, Guard, Phase, Recurrence, Role,
    Schedule, Task, Transition, catalog_of,
};
pub use period::{Period, PeriodError};
pub use registry::{Loaded, Registry, Source};
pub use schema::json_schema;

use diagnostic::Sink;

/// The result of checking one file.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The definition, if the file has no errors.
    pub definition: Option<Definition>,
    /// Every problem found (errors and warnings), in file order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks the workflow file `file` with contents `source`.
pub fn check(file: &str, source: &str) -> Checked {
    let mut sink = Sink::new(file);
    let definition = match serde_saphyr::from_str::<raw::RawDefinition>(source) {
        Ok(raw) => validate::validate(&raw, &mut sink),
        Err(err) => {
            yaml_error::report(&err, &mut sink);
            None
        }
    };
    Checked {
        definition,
        diagnostics: sink.finish(),
    }
}

/// The content hash that pins a definition body: BLAKE3, hex.
pub fn content_hash(source: &str) -> String {
    blake3::hash(source.as_bytes()).to_hex().to_string()
}

#[cfg(test)]
mod tests;
