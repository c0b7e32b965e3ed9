//! Typed documents on top of Automerge: ids, field values, the document layout, and history.
//!
//! Every document is one Automerge document with this layout at its root:
//! `kompas` (layout version), `id`, `kind`, `created` (timestamp), `fields` (a map from field
//! name to value), and `deleted` (a timestamp, present once the document is a tombstone).
//! Long texts are Automerge text objects so concurrent edits merge; lists are lists of maps.

mod assignment;
mod authorship;
mod budget;
mod chunks;
mod entries;
mod history;
mod id;
mod layout;
pub mod number;
mod value;

pub use assignment::{Assignment, AssignmentError};
pub use authorship::{allowed_value, author_of_op, check_change_notes};
pub use budget::{Budget, BudgetError, DOCUMENT_BUDGET, Size, measure};
pub use chunks::parse_changes;
pub use entries::{append_entry, create_entries, read_entries};
pub use history::{
    ChangeNote, DocChanges, FieldChange, HistoryEntry, WordEdit, changes_between, history,
    knows_heads, word_diff,
};
pub use id::{DocId, DocIdError};
pub use layout::{
    DocView, LayoutError, clear_tombstone, read_view, write_field, write_header, write_tombstone,
};
pub use value::{FieldValue, ValueError, format_number, parse_date, parse_number};
