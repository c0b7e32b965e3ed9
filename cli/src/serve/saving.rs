//! Writing documents from a form, shared by the pages that do: reading a form value, creating
//! a document under a fresh id, saving edits on top of the version a form was shown from, and
//! telling the open pages.

use kompas_engine::document::Assignment;
use kompas_engine::replica::MergedSave;
use kompas_engine::{DocId, ReplicaError};

use super::state::{AppState, LiveEvent};
use crate::context::{Opened, now, random};

/// The value of the form field `name` (empty when the form has none).
pub fn value_of(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Creates a document of `kind` with the filled `assignments`, drawing ids until one is free.
pub fn create(
    opened: &Opened,
    kind: &str,
    assignments: &[Assignment],
) -> Result<DocId, ReplicaError> {
    loop {
        match opened.replica.create(kind, assignments, now(), random()) {
            Err(ReplicaError::IdTaken(_)) => continue,
            other => return other,
        }
    }
}

/// Saves `assignments`, made on the version `heads` (the form's comma-separated Automerge
/// heads), merged with whatever arrived since.
pub fn save_from(
    opened: &Opened,
    id: &DocId,
    heads: &str,
    assignments: &[Assignment],
) -> Result<MergedSave, ReplicaError> {
    let base: Vec<String> = heads
        .split(',')
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .collect();
    opened.replica.update_from(id, &base, assignments, now())
}

/// Tells the open pages that this organisation changed document `id`.
pub fn announce(live: &AppState, opened: &Opened, id: &DocId) {
    live.changed(LiveEvent {
        store: opened.store,
        doc: Some(id.to_string()),
        org: opened.replica.identity().profile.name.clone(),
    });
}
