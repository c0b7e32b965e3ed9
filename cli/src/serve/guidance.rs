//! The guidance of a phase (its title, description, tasks with questions) as the pages show it,
//! read from the definition an instance pinned.
//!
//! This is the one place the web app reads guidance: it takes it from the checked definition
//! model, and is where an engine guidance API would be called instead once there is one.

use std::collections::HashMap;

use kompas_engine::definition::{self, Definition};
use kompas_engine::runtime::Pinned;

/// The definition an instance pinned, checked; `None` if its text no longer checks (the flow
/// functions report that themselves).
pub fn definition_of(pinned: &Pinned) -> Option<Definition> {
    definition::check(&format!("{}@{}", pinned.name, pinned.version), &pinned.body).definition
}

/// Phase titles by phase name.
pub fn phase_titles(pinned: &Pinned) -> HashMap<String, String> {
    definition_of(pinned)
        .map(|d| d.phases.into_iter().map(|p| (p.name, p.title)).collect())
        .unwrap_or_default()
}
