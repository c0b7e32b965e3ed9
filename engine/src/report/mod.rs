//! The joint evaluation as a report: everything a round of the cycle produced, across every
//! member organisation, as one serialisable [`RoundReport`].
//!
//! [`gather`] reads what a report needs from the replica (documents with their authors, the
//! round's instance and facts, protected figures, the last recorded evaluation); [`build`] is
//! the pure function from that [`ReportInput`] to the report. Rendering (HTML, PDF, iCalendar,
//! minutes) is the caller's business. [`record_evaluation`] keeps the versions (Automerge heads)
//! of the documents an evaluation covered, as a signed fact on the round's instance, so the next
//! report can show what changed since, computed from the documents' history.

mod actions;
mod agenda;
mod approvals;
mod build;
mod changes;
mod evaluation;
mod figures;
mod gather;
mod guard;
mod input;
mod model;
mod open;
mod scope;
#[cfg(test)]
mod tests;

pub use actions::FOUR_QUESTIONS;
pub use agenda::{AgendaItem, When, agenda};
pub use build::{
    ACTION_KIND, CONVERSATION_KIND, EVALUATION_KIND, PARTNERSHIP_KIND, build, is_report_kind,
};
pub use changes::delta;
pub use evaluation::{Recorded, record_evaluation};
pub use figures::{RESULT_KIND, choose_area};
pub use gather::{Options, agenda_of, conversation, gather, partnership_name};
pub use guard::{check_agenda, check_output, check_report};
pub use input::{DocDelta, IndicatorFigures, RecordedChanges, ReportInput, RoundPart, SourceDoc};
pub use model::*;

use crate::document::DocView;
use crate::runtime::DocHeads;

/// Errors of making a report or recording an evaluation, each naming what it is about.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The round's instance could not be read or its state computed.
    #[error(transparent)]
    Flow(#[from] crate::runtime::FlowError),
    /// The instance document is damaged.
    #[error(transparent)]
    Instance(#[from] crate::runtime::InstanceError),
    /// The figures could not be read.
    #[error(transparent)]
    Figures(#[from] crate::figures::storage::FiguresError),
    /// The replica failed.
    #[error(transparent)]
    Replica(#[from] crate::replica::ReplicaError),
    /// A document could not be read.
    #[error("document {id}: {source}")]
    Layout {
        id: String,
        source: crate::document::LayoutError,
    },
    /// Something about to go out holds personal data; nothing was written.
    #[error("het rapport gaat niet de deur uit: {0}")]
    Privacy(#[from] crate::privacy::PrivacyError),
    /// The document is no conversation about figures.
    #[error("document {0} is geen gesprek over cijfers")]
    NotAConversation(String),
    /// Signing the evaluation record failed.
    #[error(transparent)]
    Fact(#[from] crate::runtime::FactError),
    /// This organisation may not record the evaluation now.
    #[error("{0}")]
    NotNow(String),
}

impl ReportError {
    /// Whether the error is about what the user asked.
    pub fn is_input_error(&self) -> bool {
        match self {
            ReportError::Flow(e) => e.is_input_error(),
            ReportError::Figures(e) => e.is_input_error(),
            ReportError::Replica(e) => e.is_input_error(),
            ReportError::Privacy(_) | ReportError::NotAConversation(_) | ReportError::NotNow(_) => {
                true
            }
            _ => false,
        }
    }
}

/// The versions of the given documents, by id: what a report or an evaluation covers.
pub fn covered<'a>(views: impl IntoIterator<Item = &'a DocView>) -> DocHeads {
    views
        .into_iter()
        .map(|v| (v.id.clone(), v.heads.clone()))
        .collect()
}

/// A short code for a version of the data: the first 16 hex digits of BLAKE3 over the covered
/// documents' ids and heads in order.
pub fn data_version(covered: &DocHeads) -> String {
    let mut hasher = blake3::Hasher::new();
    for (id, heads) in covered {
        hasher.update(id.as_str().as_bytes());
        for h in heads {
            hasher.update(b" ");
            hasher.update(h.as_bytes());
        }
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex()[..16].to_string()
}
