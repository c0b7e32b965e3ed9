//! The report as the printed page sees it: every value already formatted in Dutch (decimal
//! commas, dates, "geheim", yes/no words), so the HTML templates and the PDF layout only place
//! text. Both renderings read this one value.

use kompas_engine::document::format_number;
use kompas_engine::figures::Unit;
use kompas_engine::report::{ChangeKind, Course, RoundReport};
use kompas_engine::{FieldType, Timestamp};

/// The whole report, formatted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct View {
    pub title: String,
    pub partnership: String,
    pub subtitle: String,
    pub made: String,
    pub made_by: String,
    pub blocks: Vec<BlockV>,
    pub approvals: Vec<ApprovalsV>,
    pub results: Vec<ResultV>,
    pub figures: Vec<FigureV>,
    pub conversations: Vec<ConversationV>,
    pub actions: Vec<ActionV>,
    pub changes: Option<ChangesV>,
    pub open: Vec<OpenV>,
    pub colophon: Vec<Pair>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Pair {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BlockV {
    pub title: String,
    pub description: String,
    pub docs: Vec<DocV>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DocV {
    pub title: String,
    pub kind: String,
    pub created: String,
    pub authors: String,
    pub fields: Vec<FieldV>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FieldV {
    pub label: String,
    pub paragraphs: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ApprovalsV {
    pub title: String,
    pub rows: Vec<VerdictV>,
    pub missing: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct VerdictV {
    pub org: String,
    pub verdict: String,
    pub at: String,
    pub stale: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ResultV {
    pub ambition: String,
    pub title: String,
    pub indicator: String,
    pub baseline: String,
    pub actual: String,
    pub actual_note: String,
    pub target: String,
    pub course: String,
    pub course_class: String,
    pub course_note: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct FigureV {
    pub title: String,
    pub definition: String,
    pub chart_file: String,
    #[serde(skip)]
    pub svg: String,
    pub source_line: String,
    pub notes: Vec<String>,
    pub stories: Vec<StoryV>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StoryV {
    pub kind: String,
    pub title: String,
    pub text: String,
    pub count: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ConversationV {
    pub title: String,
    pub goal: String,
    pub participants: Vec<Pair>,
    pub figures: Vec<String>,
    pub conduct: String,
    pub answers: Vec<AnswerV>,
    pub before: String,
    pub now: String,
    pub agreements: Vec<AgreementV>,
    pub next: String,
    pub looking_back: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AnswerV {
    pub step: String,
    pub question: String,
    pub answer: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AgreementV {
    pub who: String,
    pub what: String,
    pub when: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ActionV {
    pub action: String,
    pub owner: String,
    pub deadline: String,
    pub status: String,
    pub carried_out: String,
    pub result: String,
    pub improved: String,
    pub overdue: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangesV {
    pub intro: String,
    pub docs: Vec<ChangeV>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ChangeV {
    pub title: String,
    pub kind: String,
    pub change: String,
    pub lines: Vec<String>,
    pub finished: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenV {
    pub what: String,
    pub who: String,
    pub due: String,
}

/// A moment as a Dutch date and time: `26 januari 2027 om 12.26 uur`.
pub fn moment(t: Timestamp) -> String {
    t.dutch()
}

/// A moment's date only: `26 januari 2027`.
pub fn day(t: Timestamp) -> String {
    t.local_date()
        .map_or_else(|| t.to_string(), kompas_engine::time::dutch_date)
}

/// A stored date (`2027-01-26`) as `26 januari 2027`; other text as it is.
fn date(s: &str) -> String {
    crate::commands::figures::format::dutch_date(s)
}

/// A value or a dash.
fn or_dash(s: &str) -> String {
    if s.trim().is_empty() {
        "–".into()
    } else {
        s.to_string()
    }
}

/// A value in `measure` (a unit's label; a percentage when it names none), rounded to that
/// unit's decimals as every output writes it ([`Unit::round`]).
fn number(v: Option<f64>, measure: &str) -> String {
    let unit = Unit::parse(measure).unwrap_or(Unit::Percentage);
    match v {
        Some(n) if unit == Unit::Percentage => format!("{}%", format_number(unit.round(n))),
        Some(n) => format!("{} {measure}", format_number(unit.round(n))),
        None => "–".into(),
    }
}

/// A text as paragraphs (blank lines and line breaks both separate them).
pub fn paragraphs(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

impl View {
    /// Formats the report.
    pub fn of(r: &RoundReport) -> View {
        View {
            title: r.title.clone(),
            partnership: r.partnership.clone(),
            subtitle: format!("{} · volgens {}", r.round.title, r.round.definition),
            made: moment(r.made),
            made_by: r.colophon.made_by.clone(),
            blocks: r
                .blocks
                .iter()
                .map(|b| BlockV {
                    title: b.title.clone(),
                    description: b.description.clone(),
                    docs: b
                        .documents
                        .iter()
                        .map(|d| DocV {
                            title: d.title.clone(),
                            kind: d.kind_label.clone(),
                            created: day(d.created),
                            authors: d
                                .authors
                                .iter()
                                .map(|a| {
                                    let what = if a.created {
                                        "maakte het document".to_string()
                                    } else if a.fields.is_empty() {
                                        "wijzigde het document".to_string()
                                    } else {
                                        format!("schreef aan {}", a.fields.join(", ").to_lowercase())
                                    };
                                    let what = if a.created && !a.fields.is_empty() {
                                        format!(
                                            "{what} en schreef {}",
                                            a.fields.join(", ").to_lowercase()
                                        )
                                    } else {
                                        what
                                    };
                                    format!("{} {what}", a.org)
                                })
                                .collect::<Vec<_>>()
                                .join("; "),
                            fields: d
                                .fields
                                .iter()
                                .map(|f| FieldV {
                                    label: f.label.clone(),
                                    paragraphs: paragraphs(&f.value),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
            approvals: r
                .approvals
                .iter()
                .map(|a| ApprovalsV {
                    title: a.title.clone(),
                    rows: a
                        .verdicts
                        .iter()
                        .map(|v| VerdictV {
                            org: v.org.clone(),
                            verdict: match (v.approve, v.stale) {
                                (true, false) => "ingestemd".into(),
                                (true, true) => "ingestemd, maar verouderd: een document is sindsdien gewijzigd".into(),
                                (false, _) => format!("afgewezen: {}", v.reason),
                            },
                            at: moment(v.at),
                            stale: v.stale,
                        })
                        .collect(),
                    missing: a.missing.join(", "),
                })
                .collect(),
            results: r
                .results
                .iter()
                .map(|x| {
                    // Baseline and target are in the indicator's unit; a result without an
                    // indicator has percentages.
                    let unit = if x.measure.is_empty() { "%" } else { x.measure.as_str() };
                    ResultV {
                    ambition: or_dash(&x.ambition),
                    title: x.title.clone(),
                    indicator: or_dash(&x.indicator_title),
                    baseline: number(x.baseline, unit),
                    actual: match &x.actual {
                        Some(a) if a.value.is_none() => "geheim".into(),
                        Some(a) => number(a.value, &x.measure),
                        None => "–".into(),
                    },
                    actual_note: x.actual.as_ref().map_or_else(String::new, |a| {
                        format!(
                            "{}, {}{}; bron: {}",
                            a.area,
                            a.period,
                            if a.provisional { " (voorlopig)" } else { "" },
                            or_dash(&a.source)
                        )
                    }),
                    target: if x.target_date.is_empty() {
                        number(x.target, unit)
                    } else {
                        format!("{} uiterlijk {}", number(x.target, unit), date(&x.target_date))
                    },
                    course: x.course.label().into(),
                    course_class: match x.course {
                        Course::Reached | Course::OnCourse => "goed",
                        Course::OffCourse => "slecht",
                        Course::Unknown => "onbekend",
                    }
                    .into(),
                    course_note: x.course_note.clone(),
                    }
                })
                .collect(),
            figures: r
                .figures
                .iter()
                .enumerate()
                .map(|(i, f)| FigureV {
                    title: f.title.clone(),
                    definition: f.definition.clone(),
                    chart_file: format!("grafiek-{}.svg", i + 1),
                    svg: f.svg.clone(),
                    source_line: f.source_line.clone(),
                    notes: figure_notes(f),
                    stories: f
                        .stories
                        .iter()
                        .map(|s| StoryV {
                            kind: s.kind.clone(),
                            title: s.title.clone(),
                            text: s.text.clone(),
                            count: match (s.young_people, s.count_secret) {
                                (_, true) => "Aantal jongeren zoals deze: geheim (te klein om te tonen)".into(),
                                (Some(n), _) => format!("Ongeveer {} jongeren zoals deze", format_number(n)),
                                (None, false) => String::new(),
                            },
                        })
                        .collect(),
                })
                .collect(),
            conversations: r.conversations.iter().map(conversation).collect(),
            actions: r
                .actions
                .iter()
                .map(|a| ActionV {
                    action: a.action.clone(),
                    owner: or_dash(&a.owner),
                    deadline: or_dash(&date(&a.deadline)),
                    status: if a.status.is_empty() { "nog niet gevolgd".into() } else { FieldType::option_shown(&a.status) },
                    carried_out: or_dash(&FieldType::option_shown(&a.carried_out)),
                    result: or_dash(&a.result),
                    improved: or_dash(&FieldType::option_shown(&a.improved)),
                    overdue: a.overdue,
                })
                .collect(),
            changes: r.changes.as_ref().map(|c| ChangesV {
                intro: format!(
                    "Sinds de evaluatie die {} vastlegde op {}: {} documenten gewijzigd of nieuw, {} ongewijzigd.",
                    c.recorded_by,
                    moment(c.recorded_at),
                    c.documents.len(),
                    c.unchanged
                ),
                docs: c
                    .documents
                    .iter()
                    .map(|d| ChangeV {
                        title: d.title.clone(),
                        kind: d.kind_label.clone(),
                        change: match d.change {
                            ChangeKind::Changed if d.action_finished => "gewijzigd; actie afgerond".into(),
                            other => other.label().into(),
                        },
                        lines: d.lines.clone(),
                        finished: d.action_finished,
                    })
                    .collect(),
            }),
            open: r
                .open
                .iter()
                .map(|o| OpenV {
                    what: o.what.clone(),
                    who: or_dash(&o.who),
                    due: or_dash(&date(&o.due)),
                })
                .collect(),
            colophon: vec![
                pair("Organisaties", r.colophon.organisations.join(", ")),
                pair("Gemaakt door", r.colophon.made_by.clone()),
                pair("Gemaakt op", moment(r.colophon.made)),
                pair("Versie van de gegevens", r.colophon.data_version.clone()),
                pair("Documenten", r.colophon.documents.to_string()),
                pair("Indicatoren", r.colophon.indicators.to_string()),
                pair("Werkwijze", r.colophon.definition.clone()),
                pair("Gebied van de cijfers", r.colophon.area.clone()),
                pair("Kleine aantallen", r.colophon.policy.clone()),
            ],
        }
    }
}

fn pair(label: &str, value: String) -> Pair {
    Pair {
        label: label.into(),
        value,
    }
}

fn figure_notes(f: &kompas_engine::report::FigureSection) -> Vec<String> {
    let mut notes = Vec::new();
    if !f.provisional.is_empty() {
        notes.push(format!("Voorlopige cijfers: {}.", f.provisional.join(", ")));
    }
    if !f.chart.secret_periods.is_empty() {
        let periods: Vec<String> = f.chart.secret_periods.iter().map(|p| p.label()).collect();
        notes.push(format!(
            "Geheim (te kleine aantallen): {}.",
            periods.join(", ")
        ));
    }
    if let Some(t) = &f.target {
        notes.push(format!(
            "Streefwaarde {} ({}{}).",
            format_number(t.value),
            t.result,
            if t.date.is_empty() {
                String::new()
            } else {
                format!(", uiterlijk {}", date(&t.date))
            }
        ));
    }
    notes
}

/// One conversation, formatted (the report and the minutes both use it).
pub fn conversation(c: &kompas_engine::report::Conversation) -> ConversationV {
    ConversationV {
        title: c.title.clone(),
        goal: c.goal.clone(),
        participants: [
            ("Kennis van de praktijk", &c.practice),
            ("Kennis van de data", &c.data),
            ("Mandaat om te handelen", &c.mandate),
        ]
        .into_iter()
        .map(|(l, v)| pair(l, or_dash(v)))
        .collect(),
        figures: c
            .figures
            .iter()
            .map(|f| {
                let mut parts = vec![f.indicator.clone()];
                for (label, v) in [("verzameld", &f.when), ("hoe", &f.how), ("waarom", &f.why)] {
                    if !v.is_empty() {
                        parts.push(format!("{label}: {v}"));
                    }
                }
                parts.join("; ")
            })
            .collect(),
        conduct: c.conduct.clone(),
        answers: c
            .answers
            .iter()
            .map(|a| AnswerV {
                step: a.step.clone(),
                question: a.question.clone(),
                answer: if a.answer.is_empty() {
                    "Nog niet besproken.".into()
                } else {
                    a.answer.clone()
                },
            })
            .collect(),
        before: c.before.clone(),
        now: c.now.clone(),
        agreements: c
            .agreements
            .iter()
            .map(|a| AgreementV {
                who: a.who.clone(),
                what: a.what.clone(),
                when: or_dash(&date(&a.when)),
            })
            .collect(),
        next: match (c.next_meeting.is_empty(), c.next_topic.is_empty()) {
            (true, _) => "Nog niet afgesproken.".into(),
            (false, true) => date(&c.next_meeting),
            (false, false) => format!("{}: {}", date(&c.next_meeting), c.next_topic),
        },
        looking_back: c.looking_back.clone(),
    }
}
