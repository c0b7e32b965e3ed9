//! What a report is computed from: documents, the round's instance, figures and the recorded
//! evaluation, all read beforehand (see [`super::gather`]) so that [`super::build`] stays pure.

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::definition::Definition;
use crate::document::{DocChanges, DocId, DocView};
use crate::figures::story::Story;
use crate::figures::{AreaCode, AreaRegistry, Indicator, ObservationTable, SuppressionPolicy};
use crate::runtime::{Fact, Round, Status};
use crate::time::Timestamp;

use super::model::{Authorship, ChangeKind};

/// Everything a round report is computed from.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// When the report is made.
    pub now: Timestamp,
    /// The organisation whose replica makes it.
    pub made_by: String,
    /// The partnership's name, if a `samenwerking` document has one.
    pub partnership: Option<String>,
    /// The instance with its computed state.
    pub round: Status,
    /// Which of the instance's rounds the report is about.
    pub part: RoundPart,
    /// The instance's verified facts.
    pub facts: Vec<Fact>,
    /// The round's definition in force.
    pub definition: Definition,
    /// The catalog of kinds in force (for labels).
    pub catalog: Catalog,
    /// Every live document of the round, oldest first, with its authors.
    pub documents: Vec<SourceDoc>,
    /// Every indicator with its protected figures and stories.
    pub indicators: Vec<IndicatorFigures>,
    /// The area registry.
    pub registry: AreaRegistry,
    /// The protection of small numbers in force.
    pub policy: SuppressionPolicy,
    /// The area asked for, if any.
    pub area: Option<AreaCode>,
    /// What changed since the last recorded evaluation, if there is one.
    pub since: Option<RecordedChanges>,
}

/// One round of an instance.
#[derive(Debug, Clone)]
pub struct RoundPart {
    /// The round.
    pub round: Round,
    /// The first step of the next round, if one started.
    pub next_step: Option<u32>,
    /// How many rounds the instance has had.
    pub of: usize,
}

impl RoundPart {
    /// Whether the instance is in this round now.
    pub fn current(&self) -> bool {
        self.next_step.is_none()
    }

    /// Whether a step (a transition count) was made in this round.
    pub fn has_step(&self, step: u32) -> bool {
        step >= self.round.first_step && self.next_step.is_none_or(|next| step < next)
    }
}

/// One document with who wrote what.
#[derive(Debug, Clone)]
pub struct SourceDoc {
    /// The document at its current heads.
    pub view: DocView,
    /// Per organisation, the fields it wrote.
    pub authors: Vec<Authorship>,
}

/// One indicator as it may be shown.
#[derive(Debug, Clone)]
pub struct IndicatorFigures {
    /// The indicator.
    pub indicator: Indicator,
    /// Its observations, protected with the policy in force.
    pub table: ObservationTable,
    /// The stories linked to it.
    pub stories: Vec<Story>,
}

/// The last recorded evaluation and what changed in each document since.
#[derive(Debug, Clone)]
pub struct RecordedChanges {
    /// When it was recorded.
    pub at: Timestamp,
    /// By whom.
    pub by: String,
    /// The documents whose heads differ from the recorded ones, or that were not covered.
    pub documents: BTreeMap<DocId, DocDelta>,
    /// How many covered documents are unchanged.
    pub unchanged: usize,
}

/// How one document changed since the evaluation.
#[derive(Debug, Clone)]
pub struct DocDelta {
    /// The document as it is now (tombstones too).
    pub view: DocView,
    /// How it stands.
    pub kind: ChangeKind,
    /// What changed, computed from the history.
    pub changes: DocChanges,
    /// The value of `status` and `uitgevoerd` at the recorded version, for actions.
    pub action_before: Option<(String, String)>,
}
