//! The results table (baseline, latest actual value, target, course) and the figure sections
//! (charts with a source line, the target drawn, stories beside them).
//!
//! Latest values, courses and the targets drawn in the charts come from `figures::targets`, the
//! one on-course rule of the project; the charts and their source lines from `figures::chart`.

use std::collections::BTreeMap;

use crate::document::DocView;
use crate::figures::benchmark::{PeerGroup, Reference};
use crate::figures::chart::{ChartData, chart_data, render_svg};
use crate::figures::suppression::round_to;
use crate::figures::targets::targets;
use crate::figures::{AreaCode, AreaLevel, Breakdown, Status};
use crate::time::dutch_date;

use super::build::{Docs, number, text};
use super::input::{IndicatorFigures, ReportInput};
use super::model::{Actual, Course, FigureSection, ResultRow, ShownStory, Target};

/// The kind of a societal result.
pub const RESULT_KIND: &str = "maatschappelijk-resultaat";

/// The area whose figures the report shows: the one asked for; else the area most stories are
/// about; else the first municipality that has figures.
pub fn choose_area(input: &ReportInput) -> Option<AreaCode> {
    if input.area.is_some() {
        return input.area;
    }
    let mut counts: BTreeMap<AreaCode, usize> = BTreeMap::new();
    for i in &input.indicators {
        for s in &i.stories {
            if let Some(a) = s.gebied.as_deref().and_then(|g| AreaCode::parse(g).ok()) {
                *counts.entry(a).or_default() += 1;
            }
        }
    }
    if let Some((area, _)) = counts
        .iter()
        .max_by_key(|(a, n)| (**n, std::cmp::Reverse(**a)))
    {
        return Some(*area);
    }
    input
        .indicators
        .iter()
        .flat_map(|i| i.table.areas())
        .filter(|a| a.level() == AreaLevel::Municipality)
        .min()
}

/// One row per societal result, in the order of the ambitions they belong to. The latest value
/// and the course are those of [`targets`], so the report and the figures agree.
pub(super) fn results(
    input: &ReportInput,
    docs: &Docs<'_>,
    area: Option<AreaCode>,
) -> Vec<ResultRow> {
    let mut rows: Vec<(usize, ResultRow)> = docs
        .of_kind(RESULT_KIND)
        .map(|d| {
            let view = &d.view;
            let ambition_doc = text(view, "ambitie").and_then(|id| docs.get(&id));
            let order = ambition_doc
                .and_then(|a| input.documents.iter().position(|x| x.view.id == a.view.id))
                .unwrap_or(usize::MAX);
            let indicator = text(view, "indicator").unwrap_or_default();
            let figures = input
                .indicators
                .iter()
                .find(|i| i.indicator.name == indicator);
            let found = figures.zip(area).and_then(|(f, a)| {
                let of = targets(
                    &f.indicator,
                    &f.table,
                    std::slice::from_ref(view),
                    &input.catalog,
                    a,
                    None,
                    input.now,
                );
                // Rounded as every output writes it: in the indicator's unit.
                of.rounded().results.into_iter().next().map(|r| (f, a, r))
            });
            let (actual, course, course_note) = match &found {
                Some((f, a, r)) => (
                    r.latest.as_ref().map(|l| Actual {
                        value: l.value,
                        period: l.period.label(),
                        area: input.registry.label(*a),
                        source: f.indicator.source.clone(),
                        provisional: l.provisional,
                    }),
                    r.course,
                    r.course_note.clone(),
                ),
                None if figures.is_none() => (
                    None,
                    Course::Unknown,
                    "de indicator heeft hier geen cijfers".into(),
                ),
                None => (None, Course::Unknown, "geen cijfer voor dit gebied".into()),
            };
            let row = ResultRow {
                id: view.id.clone(),
                ambition: ambition_doc
                    .map(|a| docs.title(&a.view))
                    .unwrap_or_default(),
                title: docs.title(view),
                indicator_title: docs.indicator_title(&indicator),
                // Baseline, target and latest value are all in the indicator's own unit.
                measure: figures.map_or_else(|| "%".into(), |f| f.indicator.unit.label().into()),
                indicator,
                baseline: number(view, "nulmeting"),
                actual,
                target: number(view, "streefwaarde"),
                target_date: text(view, "streefdatum").unwrap_or_default(),
                course,
                course_note,
            };
            (order, row)
        })
        .collect();
    rows.sort_by_key(|(order, _)| *order);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// The indicators that matter: those linked from results, conversations and the state of the
/// youth, and those with stories beside them; each with its chart for the report's area.
pub(super) fn sections(
    input: &ReportInput,
    results: &[ResultRow],
    area: Option<AreaCode>,
) -> Vec<FigureSection> {
    let Some(area) = area else {
        return Vec::new();
    };
    let linked = linked_indicators(input);
    input
        .indicators
        .iter()
        .filter(|f| linked.contains(&f.indicator.name) || !f.stories.is_empty())
        .filter_map(|f| {
            let target = results
                .iter()
                .find(|r| r.indicator == f.indicator.name)
                .and_then(|r| {
                    Some(Target {
                        value: r.target?,
                        result: r.title.clone(),
                        date: r.target_date.clone(),
                    })
                });
            let (chart, svg) = chart_with_targets(input, f, area)?;
            let provisional = f
                .table
                .series(area, &Breakdown::total())
                .iter()
                .filter(|o| o.status == Status::Voorlopig)
                .map(|o| o.period.label())
                .collect();
            let stories = f
                .stories
                .iter()
                .map(|s| {
                    let shown = s.aantal_jongeren.map(|n| shown_count(n, input));
                    ShownStory {
                        kind: s.soort.clone(),
                        title: s.titel.clone(),
                        text: s.tekst.clone(),
                        young_people: shown.flatten(),
                        count_secret: matches!(shown, Some(None)),
                    }
                })
                .collect();
            Some(FigureSection {
                indicator: f.indicator.name.clone(),
                title: f.indicator.title.clone(),
                definition: f.indicator.definition.clone(),
                source_line: chart.source_line(),
                provisional,
                target,
                chart,
                svg,
                stories,
            })
        })
        .collect()
}

/// A persona's count as the policy allows it to be shown: `None` when it is small enough to be
/// secret, else rounded.
fn shown_count(n: f64, input: &ReportInput) -> Option<f64> {
    (n > input.policy.threshold).then(|| round_to(n, input.policy.round_to))
}

/// The names of the indicators that results, conversations and the state of the youth link to.
fn linked_indicators(input: &ReportInput) -> Vec<String> {
    let mut names = Vec::new();
    for d in &input.documents {
        let view: &DocView = &d.view;
        if let Some(name) = text(view, "indicator") {
            names.push(name);
        }
        if let Some(crate::document::FieldValue::List(items)) = view.fields.get("cijfers") {
            for item in items {
                if let Some(crate::document::FieldValue::Text(name)) = item.get("indicator") {
                    names.push(name.clone());
                }
            }
        }
    }
    names
}

/// The trend of `area` against the national value and its region, with the targets of the
/// round's results drawn by the chart itself and its source line dated in Dutch.
fn chart_with_targets(
    input: &ReportInput,
    f: &IndicatorFigures,
    area: AreaCode,
) -> Option<(ChartData, String)> {
    let views: Vec<DocView> = input.documents.iter().map(|d| d.view.clone()).collect();
    let of = targets(
        &f.indicator,
        &f.table,
        &views,
        &input.catalog,
        area,
        None,
        input.now,
    );
    let mut data = chart_data(
        &f.indicator,
        &f.table,
        &input.registry,
        area,
        &[Reference::National, Reference::Region],
        &PeerGroup::default(),
    )
    .ok()?
    .with_targets(&of)
    // Rounded as every output writes it, so the JSON, the HTML and the chart agree.
    .rounded();
    data.made_on = input.now.local_date().map(dutch_date);
    let svg = render_svg(&data).ok()?;
    Some((data, svg))
}
