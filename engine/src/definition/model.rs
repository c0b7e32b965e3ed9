//! The checked model of a workflow definition, as the runtime uses it.

use jiff::tz::TimeZone;

use super::cron::CronRule;
use super::period::Period;
use crate::catalog::{Catalog, KindDef};

/// The time zone used when a definition names none.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Amsterdam";

/// A checked workflow definition.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Definition {
    /// Short name, e.g. `kwaliteitskompas`.
    pub name: String,
    /// Semver version.
    #[serde(serialize_with = "as_text")]
    pub version: semver::Version,
    /// Title shown to people.
    pub title: String,
    /// What the workflow is for.
    pub description: String,
    /// IANA time zone name for deadlines and schedules.
    pub time_zone: String,
    /// Roles organisations can have.
    pub roles: Vec<Role>,
    /// Document kinds.
    pub kinds: Vec<KindDef>,
    /// Phases in their usual order.
    pub phases: Vec<Phase>,
    /// The phase a new instance starts in.
    pub start: String,
    /// Recurring moments.
    pub schedules: Vec<Schedule>,
    /// How concurrent conflicting transition requests resolve.
    pub conflicts: ConflictRule,
}

/// A role such as `coordinator` or `partner`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Role {
    /// The role's name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Organisation types allowed to hold it; empty means all.
    pub org_types: Vec<crate::identity::OrgType>,
}

/// A phase (building block, step).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Phase {
    /// The phase's name.
    pub name: String,
    /// Title shown to people.
    pub title: String,
    /// What happens in it.
    pub description: String,
    /// Kinds of the documents worked on in this phase.
    pub kinds: Vec<String>,
    /// The required fields of those kinds, as `(kind, field)`.
    pub required: Vec<(String, String)>,
    /// Roles that may move the phase on; empty means everyone.
    pub actors: Vec<String>,
    /// Tasks with guidance questions.
    pub tasks: Vec<Task>,
    /// Allowed transitions.
    pub transitions: Vec<Transition>,
    /// How long the phase may take.
    pub deadline: Option<Period>,
    /// How long before the deadline a reminder is due.
    pub reminder: Option<Period>,
    /// Whether an instance ends here.
    pub is_final: bool,
}

/// A task within a phase.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Task {
    /// What to do.
    pub title: String,
    /// Explanation.
    pub description: String,
    /// Guidance questions.
    pub questions: Vec<String>,
    /// Roles that pick it up; empty means everyone.
    pub roles: Vec<String>,
}

/// An allowed move to another phase.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Transition {
    /// The target phase.
    pub to: String,
    /// What the move is called.
    pub label: String,
    /// What it needs.
    pub guard: Guard,
    /// Whether it starts a new round of the cycle (with documents of its own).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub new_round: bool,
}

/// What a transition needs before it is allowed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Guard {
    /// `(kind, field)` pairs that must be filled in every document of the kind.
    pub fields: Vec<(String, String)>,
    /// `(kind, field)` pairs of which at least one must be filled, in some document of its kind.
    pub any_of: Vec<(String, String)>,
    /// Whether every required field of the phase's kinds must be filled.
    pub required_fields: bool,
    /// Whose approval is needed.
    pub approval: Option<Approval>,
    /// Roles every holder of which must approve too, where the partnership has them.
    pub role_approvals: Vec<String>,
}

/// Whose approval a transition needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "rule", content = "count")]
pub enum Approval {
    /// Every participating organisation.
    EveryPartner,
    /// Every organisation with the coordinator role.
    Coordinator,
    /// At least this many organisations.
    Quorum(u32),
}

/// A recurring moment, such as the joint evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Schedule {
    /// The moment's name.
    pub name: String,
    /// Title shown to people.
    pub title: String,
    /// The phase that is due at that moment.
    pub phase: String,
    /// When it recurs.
    pub recurrence: Recurrence,
    /// How long before it a reminder is due.
    pub reminder: Option<Period>,
}

/// How a schedule recurs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recurrence {
    /// Every period, counted from the instance's start.
    Every(Period),
    /// At the moments a cron expression names.
    Cron(Box<CronRule>),
}

/// How concurrent conflicting transition requests resolve.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "rule", content = "order")]
pub enum ConflictRule {
    /// The target phase earliest in this list wins.
    Precedence(Vec<String>),
    /// The conflict is shown; people decide with a new request.
    Surface,
}

impl Definition {
    /// The phase called `name`.
    pub fn phase(&self, name: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.name == name)
    }

    /// The title of the phase called `name`, or the name itself when there is no such phase
    /// (a migration may have removed it) or it has no title.
    pub fn phase_title(&self, name: &str) -> String {
        match self.phase(name) {
            Some(p) if !p.title.is_empty() => p.title.clone(),
            _ => name.to_string(),
        }
    }

    /// The label of the kind called `name`, or the name itself.
    pub fn kind_label(&self, name: &str) -> String {
        match self.kind(name) {
            Some(k) if !k.label.is_empty() => k.label.clone(),
            _ => name.to_string(),
        }
    }

    /// The label of `field` of kind `kind`, or the field's name.
    pub fn field_label(&self, kind: &str, field: &str) -> String {
        match self.kind(kind).and_then(|k| k.field(field)) {
            Some(f) if !f.label.is_empty() => f.label.clone(),
            _ => field.to_string(),
        }
    }

    /// The kind called `name`.
    pub fn kind(&self, name: &str) -> Option<&KindDef> {
        self.kinds.iter().find(|k| k.name == name)
    }

    /// The time zone (checked when the definition was read).
    pub fn tz(&self) -> TimeZone {
        TimeZone::get(&self.time_zone).unwrap_or(TimeZone::UTC)
    }

    /// The definition's kinds as a catalog.
    pub fn catalog(&self) -> Catalog {
        Catalog::from_kinds(self.kinds.iter().cloned())
    }
}

impl Phase {
    /// The transition to `target`, if allowed.
    pub fn transition(&self, target: &str) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.to == target)
    }
}

/// The kinds of all `definitions` in one catalog; a later definition's kind replaces an earlier one.
/// The engine's own kinds are added where the catalog in force is put together (`composition`).
pub fn catalog_of<'a>(definitions: impl IntoIterator<Item = &'a Definition>) -> Catalog {
    let mut catalog = Catalog::default();
    for d in definitions {
        for k in &d.kinds {
            catalog.insert(k.clone());
        }
    }
    catalog
}

fn as_text<S: serde::Serializer>(v: &semver::Version, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}
