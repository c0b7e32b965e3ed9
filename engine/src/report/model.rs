//! The report of a round as data: what every rendering (JSON, HTML, PDF) shows, section by section.

use crate::document::DocId;
use crate::figures::chart::ChartData;
use crate::time::Timestamp;

/// The joint report of one round of the Kwaliteitskompas, across every member organisation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoundReport {
    /// The report's title.
    pub title: String,
    /// The partnership's name (from its `samenwerking` document, else the round's title).
    pub partnership: String,
    /// The round: the Kwaliteitskompas instance the report is about.
    pub round: RoundInfo,
    /// When the report was made.
    pub made: Timestamp,
    /// Per building block, its documents.
    pub blocks: Vec<Block>,
    /// The approvals of every member, per phase in which they were given.
    pub approvals: Vec<PhaseApprovals>,
    /// From ambitions to societal results: baseline, latest actual value, target, course.
    pub results: Vec<ResultRow>,
    /// The figures that matter, with their charts and the stories beside them.
    pub figures: Vec<FigureSection>,
    /// The conversations about figures.
    pub conversations: Vec<Conversation>,
    /// The improvement actions.
    pub actions: Vec<Action>,
    /// What changed since the last recorded evaluation, if one was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangesSince>,
    /// What is still open.
    pub open: Vec<OpenItem>,
    /// Which organisations, made when, from which version of the data.
    pub colophon: Colophon,
}

/// The round the report is about.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoundInfo {
    /// The instance.
    pub id: DocId,
    /// Its title.
    pub title: String,
    /// The definition's title and version, e.g. `Kwaliteitskompas 1.0.0`.
    pub definition: String,
    /// The title of the phase it is in now.
    pub phase: String,
    /// When it was started.
    pub started: Timestamp,
    /// Whether it has ended.
    pub finished: bool,
    /// The number of the round of the cycle the report is about, from 1.
    pub number: u32,
    /// How that round is called, e.g. `ronde 2027`.
    pub label: String,
    /// Whether the instance is in that round now.
    pub current: bool,
}

/// One building block of the cycle (one phase) with its documents.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Block {
    /// The phase's name.
    pub phase: String,
    /// Its title, e.g. `Bouwsteen 1B: Ambities`.
    pub title: String,
    /// What the block is for.
    pub description: String,
    /// Its documents, oldest first.
    pub documents: Vec<ReportDoc>,
}

/// One document as the report shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReportDoc {
    /// The document.
    pub id: DocId,
    /// Its kind.
    pub kind: String,
    /// The kind's label.
    pub kind_label: String,
    /// Its title (the `titel`, `naam` or `actie` field, else the kind's label).
    pub title: String,
    /// Its filled fields, in the kind's order.
    pub fields: Vec<ShownField>,
    /// When it was created.
    pub created: Timestamp,
    /// Which organisation wrote what.
    pub authors: Vec<Authorship>,
}

/// One field with its label and value as text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ShownField {
    /// The field's name.
    pub name: String,
    /// Its label.
    pub label: String,
    /// The value as text; lists one item per line.
    pub value: String,
    /// Whether the value is a long text (shown as paragraphs).
    pub long: bool,
}

/// One organisation's part in a document.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Authorship {
    /// The organisation's name.
    pub org: String,
    /// The labels of the fields it wrote or changed.
    pub fields: Vec<String>,
    /// Whether it created the document.
    pub created: bool,
}

/// The verdicts given in one phase.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PhaseApprovals {
    /// The step (0 is the first phase the instance was in).
    pub step: u32,
    /// The phase's name.
    pub phase: String,
    /// Its title.
    pub title: String,
    /// One verdict per organisation (the latest it gave).
    pub verdicts: Vec<MemberVerdict>,
    /// Participants who gave no verdict.
    pub missing: Vec<String>,
}

/// One organisation's verdict.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MemberVerdict {
    /// The organisation's name.
    pub org: String,
    /// Whether it agreed.
    pub approve: bool,
    /// Why not.
    pub reason: String,
    /// When.
    pub at: Timestamp,
    /// Whether a document it judged has changed since (the verdict then no longer counts).
    pub stale: bool,
}

pub use crate::figures::targets::Course;

/// One row of the table from ambitions to societal results.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResultRow {
    /// The result's document.
    pub id: DocId,
    /// The ambition it belongs to (its title).
    pub ambition: String,
    /// The result's title.
    pub title: String,
    /// The linked indicator's name, if any.
    pub indicator: String,
    /// The linked indicator's title, or the name when the indicator is not known here.
    pub indicator_title: String,
    /// What the numbers are (`%`, `per 1.000`, `aantal`).
    pub measure: String,
    /// The baseline.
    pub baseline: Option<f64>,
    /// The latest actual value, if the indicator has figures for the area.
    pub actual: Option<Actual>,
    /// The target.
    pub target: Option<f64>,
    /// The target date.
    pub target_date: String,
    /// Whether it is on course.
    pub course: Course,
    /// Why, in a few Dutch words.
    pub course_note: String,
}

/// The latest actual value of an indicator for the report's area.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Actual {
    /// The value as shown; `None` when it is secret.
    pub value: Option<f64>,
    /// The period's label.
    pub period: String,
    /// The area's label.
    pub area: String,
    /// Where the figure comes from.
    pub source: String,
    /// Whether the figure is provisional.
    pub provisional: bool,
}

/// One indicator's figures: a chart with its source line, and the stories beside it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FigureSection {
    /// The indicator's name.
    pub indicator: String,
    /// Its title.
    pub title: String,
    /// What is counted.
    pub definition: String,
    /// The chart's data (protected values only).
    pub chart: ChartData,
    /// The chart as an SVG document.
    #[serde(skip)]
    pub svg: String,
    /// The source line: source, latest period, and the date the report was made.
    pub source_line: String,
    /// Periods whose value for the area is provisional.
    pub provisional: Vec<String>,
    /// The target drawn in the chart, with the result it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Signals, experiences and personas linked to the indicator.
    pub stories: Vec<ShownStory>,
}

/// A target drawn in a chart.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Target {
    /// The target value.
    pub value: f64,
    /// The societal result's title.
    pub result: String,
    /// The target date.
    pub date: String,
}

/// A story beside the figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ShownStory {
    /// `signaal`, `ervaring` or `persona`.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// The story.
    pub text: String,
    /// For a persona, how many young people are like this one, as the policy allows it to be
    /// shown: rounded, or `None` with `count_secret` when the count is small.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub young_people: Option<f64>,
    /// Whether the count is secret.
    pub count_secret: bool,
}

/// A conversation about figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Conversation {
    /// Its document.
    pub id: DocId,
    /// Its title.
    pub title: String,
    /// The goal.
    pub goal: String,
    /// Participants with knowledge of practice.
    pub practice: String,
    /// Participants with knowledge of the data.
    pub data: String,
    /// Participants with the mandate to act.
    pub mandate: String,
    /// The figures discussed.
    pub figures: Vec<DiscussedFigure>,
    /// How the conversation was held.
    pub conduct: String,
    /// The four questions with their answers: recognise, explain, value, improve.
    pub answers: Vec<Answer>,
    /// Where we were, and where we are now.
    pub before: String,
    /// Where we are now.
    pub now: String,
    /// Who does what by when.
    pub agreements: Vec<Agreement>,
    /// The next meeting's date.
    pub next_meeting: String,
    /// Its subject.
    pub next_topic: String,
    /// How the conversation went.
    pub looking_back: String,
}

/// A figure discussed in a conversation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DiscussedFigure {
    /// The indicator (its title when known here).
    pub indicator: String,
    /// When it was collected.
    pub when: String,
    /// How.
    pub how: String,
    /// Why this figure.
    pub why: String,
}

/// One of the four interpretation questions.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Answer {
    /// The step: `Herkennen`, `Verklaren`, `Waarderen`, `Verbeteren`.
    pub step: String,
    /// The question.
    pub question: String,
    /// The answer; empty when not given yet.
    pub answer: String,
}

/// Who does what by when.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Agreement {
    /// Who.
    pub who: String,
    /// What.
    pub what: String,
    /// By when (YYYY-MM-DD), if agreed.
    pub when: String,
}

/// An improvement action.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Action {
    /// The document it lives in (a `verbeteractie`, or the `evaluatie` that lists it).
    pub id: DocId,
    /// Its place in the evaluation's list, for actions listed in an evaluation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    /// What is done.
    pub action: String,
    /// The owner.
    pub owner: String,
    /// The deadline (YYYY-MM-DD).
    pub deadline: String,
    /// The status (`gepland`, `bezig`, `uitgevoerd`, `gestopt`), if recorded.
    pub status: String,
    /// Level 1: was the action carried out?
    pub carried_out: String,
    /// Level 2: what did the action itself bring?
    pub result: String,
    /// Level 3: has the situation improved?
    pub improved: String,
    /// Whether the deadline passed while the action is not done.
    pub overdue: bool,
}

impl Action {
    /// Whether the action is done (carried out, or stopped).
    pub fn done(&self) -> bool {
        self.status == "uitgevoerd" || self.status == "gestopt" || self.carried_out == "ja"
    }
}

/// What changed since the last recorded evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ChangesSince {
    /// When the evaluation was recorded.
    pub recorded_at: Timestamp,
    /// By which organisation.
    pub recorded_by: String,
    /// Every document whose version differs from the recorded one, or that is new.
    pub documents: Vec<DocChange>,
    /// How many documents are unchanged.
    pub unchanged: usize,
}

/// How a document stands against the recorded evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// The document did not exist then (or was not covered).
    New,
    /// The document changed.
    Changed,
    /// The document was deleted since.
    Deleted,
    /// The recorded version has not reached this replica (sync first).
    Unknown,
}

impl ChangeKind {
    /// The Dutch label.
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::New => "nieuw",
            ChangeKind::Changed => "gewijzigd",
            ChangeKind::Deleted => "verwijderd",
            ChangeKind::Unknown => "vastgelegde versie hier onbekend",
        }
    }
}

/// One document's change since the evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DocChange {
    /// The document.
    pub id: DocId,
    /// Its kind's label.
    pub kind_label: String,
    /// Its title.
    pub title: String,
    /// How it changed.
    pub change: ChangeKind,
    /// What changed, one Dutch line per field (labels, not field names).
    pub lines: Vec<String>,
    /// Whether this is an improvement action that was finished since.
    pub action_finished: bool,
}

/// Something still open.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OpenItem {
    /// What is open.
    pub what: String,
    /// Who has to act (organisation names or owners), if known.
    pub who: String,
    /// By when, if known.
    pub due: String,
}

/// Where the report comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Colophon {
    /// The organisations taking part or writing documents.
    pub organisations: Vec<String>,
    /// The organisation whose replica made the report.
    pub made_by: String,
    /// When.
    pub made: Timestamp,
    /// A short code for the version of the data: BLAKE3 over every document's id and heads.
    pub data_version: String,
    /// The number of documents covered.
    pub documents: usize,
    /// The number of indicators.
    pub indicators: usize,
    /// The definition of the round, with its hash.
    pub definition: String,
    /// The area whose figures are shown.
    pub area: String,
    /// The protection of small numbers in force.
    pub policy: String,
    /// The versions of every document the report covers (document id to sorted heads).
    pub covered: crate::runtime::DocHeads,
}
