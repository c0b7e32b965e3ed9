//! The computed state of an instance: where it is, what blocks it, what is due and whose turn it is.

use std::collections::BTreeSet;
use std::fmt;

use crate::document::DocId;
use crate::identity::OrgType;
use crate::time::Timestamp;

/// What the reducer needs to know about one document right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocSnapshot {
    /// The document's kind.
    pub kind: String,
    /// Its current heads (hex, sorted).
    pub heads: Vec<String>,
    /// The names of its fields that hold a value.
    pub filled: BTreeSet<String>,
    /// Its title (or name), as people know it; empty when it has none.
    pub title: String,
}

/// An organisation taking part in an instance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Participant {
    /// Its id.
    pub org_id: String,
    /// Its name.
    pub name: String,
    /// Its type.
    pub org_type: OrgType,
    /// Its role in this instance.
    pub role: String,
}

/// A member organisation of the workspace, as approvals count it: "iedere partner" means every
/// member, and a quorum is counted over members. A member counts for a step from the moment it
/// joined the workspace; a member that was removed is no longer listed and no longer counts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    /// Its id.
    pub org_id: String,
    /// Its name.
    pub name: String,
    /// Its type.
    pub org_type: OrgType,
    /// When it joined the workspace.
    pub since: Timestamp,
}

/// How a past transition came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// Every request agreed.
    Request,
    /// Requests disagreed; the definition's precedence list decided.
    Precedence,
    /// Requests disagreed; a later request decided.
    Decision,
}

/// One transition made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// Its number (0 is the first transition).
    pub step: u32,
    /// From which phase.
    pub from: String,
    /// To which phase.
    pub to: String,
    /// The titles of the two phases, as people know them.
    pub from_title: String,
    /// See `from_title`.
    pub to_title: String,
    /// When (the earliest winning request).
    pub at: Timestamp,
    /// Who asked, by name.
    pub by: Vec<String>,
    /// How it was decided.
    pub via: Via,
}

/// Concurrent requests for different phases that the definition leaves to people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conflict {
    /// The step at which the requests disagree.
    pub step: u32,
    /// Each target with the organisations that asked for it.
    pub candidates: Vec<(String, Vec<String>)>,
}

/// One organisation's verdict on the current phase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerdictStatus {
    /// The organisation's name.
    pub org: String,
    /// Its id.
    pub org_id: String,
    /// Whether it agrees.
    pub approve: bool,
    /// Why not.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// When.
    pub at: Timestamp,
    /// Whether a document changed since (the verdict then no longer counts).
    pub stale: bool,
}

/// Why a transition is not allowed now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "refusal", rename_all = "kebab-case")]
pub enum Refusal {
    /// No document of a kind the guard needs.
    NoDocument {
        kind: String,
        /// The kind's label.
        #[serde(default)]
        kind_label: String,
    },
    /// A field is empty in a document.
    EmptyField {
        kind: String,
        field: String,
        doc: DocId,
        /// The field's label.
        #[serde(default)]
        field_label: String,
        /// The document's title, or the kind's label when it has none.
        #[serde(default)]
        doc_title: String,
    },
    /// None of these fields is filled in any document of its kind.
    NoneFilled {
        /// `kind.field` of each.
        fields: Vec<String>,
        /// Their labels.
        labels: Vec<String>,
    },
    /// These organisations have not approved (or their approval is stale).
    ApprovalMissing { orgs: Vec<String> },
    /// An organisation rejected the documents.
    Rejected { org: String, reason: String },
    /// Too few approvals for the quorum.
    QuorumShort { have: u32, need: u32 },
    /// The instance has no participant with the coordinator role.
    NoCoordinator,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NoDocument { kind, kind_label } => {
                write!(f, "er is nog geen document ‘{}’", or_name(kind_label, kind))
            }
            Refusal::EmptyField {
                field,
                field_label,
                doc_title,
                doc,
                ..
            } => write!(
                f,
                "‘{}’ is nog leeg in ‘{}’",
                or_name(field_label, field),
                or_name(doc_title, doc.as_str())
            ),
            Refusal::NoneFilled { labels, .. } => {
                let quoted: Vec<String> = labels.iter().map(|l| format!("‘{l}’")).collect();
                write!(f, "vul minstens één van deze in: {}", quoted.join(", "))
            }
            Refusal::ApprovalMissing { orgs } => {
                write!(f, "instemming ontbreekt van {}", orgs.join(", "))
            }
            Refusal::Rejected { org, reason } => write!(f, "{org} wees af: {reason}"),
            Refusal::QuorumShort { have, need } => {
                write!(f, "{have} van de {need} benodigde instemmingen")
            }
            Refusal::NoCoordinator => write!(f, "er is geen coördinator die kan instemmen"),
        }
    }
}

/// A label, or the machine name when the label is empty.
fn or_name<'a>(label: &'a str, name: &'a str) -> &'a str {
    if label.is_empty() { name } else { label }
}

/// Whether a transition from the current phase is allowed now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TransitionStatus {
    /// The target phase.
    pub to: String,
    /// The target phase's title.
    pub to_title: String,
    /// The transition's label.
    pub label: String,
    /// Why it is not allowed; empty when it is.
    pub refusals: Vec<Refusal>,
}

impl TransitionStatus {
    /// Whether the transition may be made now.
    pub fn allowed(&self) -> bool {
        self.refusals.is_empty()
    }
}

/// Where the current phase stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Urgency {
    /// Before the reminder.
    OnTime,
    /// Within the reminder period before the deadline.
    Soon,
    /// Past the deadline.
    Overdue,
}

/// The deadline of the current phase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Due {
    /// When the phase should be done.
    pub deadline: Timestamp,
    /// From when a reminder is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remind_from: Option<Timestamp>,
    /// Where it stands now.
    pub urgency: Urgency,
}

/// Where a recurring moment stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScheduleStatus {
    /// Its name.
    pub name: String,
    /// Its title.
    pub title: String,
    /// The phase it calls for.
    pub phase: String,
    /// That phase's title.
    pub phase_title: String,
    /// The next moment after now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Timestamp>,
    /// Where it stands: on time, soon (within the reminder), or overdue (a moment passed
    /// without the instance entering the phase since).
    pub urgency: Urgency,
    /// The moment that passed while the instance was in the phase, without being recorded as
    /// held, when overdue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed: Option<Timestamp>,
    /// The moments recorded as held, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<HeldMoment>,
}

/// A planned moment recorded as held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HeldMoment {
    /// The planned moment it was held for.
    pub moment: Timestamp,
    /// The day it was held (YYYY-MM-DD).
    pub date: String,
    /// Who took part.
    pub participants: Vec<String>,
    /// A note.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The organisation that recorded it.
    pub recorded_by: String,
}

/// A fact that took no effect, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ignored {
    /// The fact's id.
    pub id: String,
    /// Why (Dutch).
    pub reason: String,
}

/// The state of an instance, computed from its definition, facts, documents and the time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstanceState {
    /// The current phase.
    pub phase: String,
    /// Its title, as people know it.
    pub phase_title: String,
    /// The number of transitions made.
    pub step: u32,
    /// When the current phase was entered.
    pub entered: Timestamp,
    /// Whether the instance is in a final phase.
    pub finished: bool,
    /// The organisations taking part.
    pub participants: Vec<Participant>,
    /// The transitions made, oldest first.
    pub history: Vec<Step>,
    /// A conflict people must decide, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
    /// Verdicts on the current phase, one per organisation.
    pub verdicts: Vec<VerdictStatus>,
    /// The ways out of the current phase and what blocks them.
    pub transitions: Vec<TransitionStatus>,
    /// The current phase's deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<Due>,
    /// The recurring moments.
    pub schedules: Vec<ScheduleStatus>,
    /// Whose turn it is (organisation names) and for what.
    pub turn: Vec<(String, String)>,
    /// Facts that took no effect.
    pub ignored: Vec<Ignored>,
    /// The round of the cycle the instance is in (from 1); its phases work on the documents
    /// linked in this round.
    pub round: u32,
    /// Every round so far, oldest first.
    pub rounds: Vec<Round>,
}

/// One round of the cycle: started by the start of the instance or by a transition marked
/// `nieuwe-ronde`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Round {
    /// Its number, from 1.
    pub number: u32,
    /// When it started.
    pub started: Timestamp,
    /// The first step (transition count) that belongs to it.
    pub first_step: u32,
    /// How people call it, e.g. "ronde 2027".
    pub label: String,
    /// The documents linked in it, in the order they were linked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<RoundDoc>,
}

/// A document of a round, and the version of it the round's archive shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoundDoc {
    /// The document.
    pub id: DocId,
    /// The document of the previous round it is a new version of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DocId>,
    /// The document of the next round that is its new version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carried_to: Option<DocId>,
    /// For a closed round, the heads the round last judged it at (an approval, a rejection or a
    /// request to move on), which the archive shows; empty while the round runs, or when the
    /// round never judged it (the archive then shows it as it is now).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
    /// Whether it changed after the version the archive shows.
    pub changed_since: bool,
}
