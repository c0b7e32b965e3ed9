//! The results table (baseline, latest actual value, target, course) and the figure sections
//! (charts with a source line, the target drawn, stories beside them).
//!
//! The chart is made with today's chart API of `figures::chart` through the adapters at the end
//! of this file ([`chart_with_target`], [`source_line`]), so that richer charts (source line,
//! date, provisional marks and target drawn by the chart itself) change only those functions.

use std::collections::BTreeMap;

use crate::document::{DocView, format_number, parse_date};
use crate::figures::benchmark::{PeerGroup, Reference, measure_label};
use crate::figures::chart::{ChartData, Series, chart_data, render_svg};
use crate::figures::suppression::round_to;
use crate::figures::{AreaCode, AreaLevel, Breakdown, Period, Status, Unit};
use crate::time::Timestamp;

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

/// One row per societal result, in the order of the ambitions they belong to.
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
            let actual = figures.and_then(|f| area.and_then(|a| latest(input, f, a)));
            let baseline = number(view, "nulmeting");
            let target = number(view, "streefwaarde");
            let target_date = text(view, "streefdatum").unwrap_or_default();
            let (course, course_note) = course(
                baseline,
                target,
                actual.as_ref(),
                view.created,
                &target_date,
                input.now,
                figures.is_some(),
            );
            let row = ResultRow {
                id: view.id.clone(),
                ambition: ambition_doc
                    .map(|a| docs.title(&a.view))
                    .unwrap_or_default(),
                title: docs.title(view),
                indicator_title: docs.indicator_title(&indicator),
                measure: figures.map_or_else(
                    || "%".into(),
                    |f| measure_label(&f.indicator, &f.table).to_string(),
                ),
                indicator,
                baseline,
                actual,
                target,
                target_date,
                course,
                course_note,
            };
            (order, row)
        })
        .collect();
    rows.sort_by_key(|(order, _)| *order);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// The latest total of `area` for an indicator, as it may be shown.
fn latest(input: &ReportInput, f: &IndicatorFigures, area: AreaCode) -> Option<Actual> {
    let o = f.table.series(area, &Breakdown::total()).last().copied()?;
    Some(Actual {
        value: o.comparable(f.indicator.unit),
        period: o.period.label(),
        area: input.registry.label(area),
        source: f.indicator.source.clone(),
        provisional: o.status == Status::Voorlopig,
    })
}

/// Whether a result is on course: the share of the way from baseline to target covered so far
/// against the share of the time from the result's creation to its target date that has passed.
/// Without a target date, any progress counts as on course.
fn course(
    baseline: Option<f64>,
    target: Option<f64>,
    actual: Option<&Actual>,
    start: Timestamp,
    target_date: &str,
    now: Timestamp,
    indicator_known: bool,
) -> (Course, String) {
    let unknown = |why: &str| (Course::Unknown, why.to_string());
    let Some(baseline) = baseline else {
        return unknown("geen nulmeting");
    };
    let Some(target) = target else {
        return unknown("geen streefwaarde");
    };
    if !indicator_known {
        return unknown("de indicator heeft hier geen cijfers");
    }
    let Some(actual) = actual else {
        return unknown("geen cijfer voor dit gebied");
    };
    let Some(value) = actual.value else {
        return unknown("het laatste cijfer is geheim");
    };
    let span = target - baseline;
    let progress = if span == 0.0 {
        if value == target { 1.0 } else { 0.0 }
    } else {
        (value - baseline) / span
    };
    if progress >= 1.0 {
        return (Course::Reached, "streefwaarde bereikt".into());
    }
    let elapsed = elapsed_share(start, target_date, now);
    let covered = format!("{}% van de weg afgelegd", format_number(percent(progress)));
    match elapsed {
        Some(share) => {
            let note = format!(
                "{covered}, {}% van de tijd verstreken",
                format_number(percent(share))
            );
            if progress > 0.0 && progress + 1e-9 >= share {
                (Course::OnCourse, note)
            } else {
                (Course::OffCourse, note)
            }
        }
        None if progress > 0.0 => (Course::OnCourse, covered),
        None => (Course::OffCourse, covered),
    }
}

fn percent(share: f64) -> f64 {
    (share * 100.0).round()
}

/// The share (0 to 1) of the time from `start` to the date `target` that has passed at `now`.
fn elapsed_share(start: Timestamp, target: &str, now: Timestamp) -> Option<f64> {
    let date: jiff::civil::Date = parse_date(target)?.parse().ok()?;
    let end = date
        .in_tz("Europe/Amsterdam")
        .ok()?
        .timestamp()
        .as_millisecond();
    let total = (end - start.0) as f64;
    if total <= 0.0 {
        return Some(1.0);
    }
    Some(((now.0 - start.0) as f64 / total).clamp(0.0, 1.0))
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
            let (chart, svg) = chart_with_target(input, f, area, target.as_ref())?;
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
                source_line: source_line(input, f, &chart),
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

/// Adapter to the chart API: the trend of `area` against the national value and its region,
/// with the target as a flat line when it is in the chart's measure (a percentage target on a
/// percentage indicator).
fn chart_with_target(
    input: &ReportInput,
    f: &IndicatorFigures,
    area: AreaCode,
    target: Option<&Target>,
) -> Option<(ChartData, String)> {
    let mut data = chart_data(
        &f.indicator,
        &f.table,
        &input.registry,
        area,
        &[Reference::National, Reference::Region],
        &PeerGroup::default(),
    )
    .ok()?;
    if let Some(t) = target
        && f.indicator.unit == Unit::Percentage
    {
        data.series.push(Series {
            label: format!("Streefwaarde {}", format_number(t.value)),
            values: vec![Some(t.value); data.periods.len()],
        });
    }
    let svg = render_svg(&data).ok()?;
    Some((data, svg))
}

/// Adapter for the source line under a chart: source, latest period (provisional marked) and
/// the date the report was made.
fn source_line(input: &ReportInput, f: &IndicatorFigures, chart: &ChartData) -> String {
    let source = if f.indicator.source.is_empty() {
        "onbekend".to_string()
    } else {
        f.indicator.source.clone()
    };
    let latest = chart.periods.last().map(Period::label).unwrap_or_default();
    let date = input
        .now
        .to_string()
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    format!("Bron: {source}. Laatste periode: {latest}. Stand van {date}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_780_000_000_000;
    const DAY: i64 = 86_400_000;

    fn actual(v: Option<f64>) -> Actual {
        Actual {
            value: v,
            period: "2027".into(),
            area: "Havenstad".into(),
            source: "CBS".into(),
            provisional: false,
        }
    }

    #[test]
    fn course_compares_progress_with_the_time_passed() {
        let (start, half, date) = (Timestamp(T0), Timestamp(T0 + 365 * DAY), "2028-06-01");
        let c = |b: f64, t: f64, v: Option<f64>| {
            course(Some(b), Some(t), Some(&actual(v)), start, date, half, true)
        };
        // From 60 to 70, about halfway in time.
        assert_eq!(c(60.0, 70.0, Some(71.0)).0, Course::Reached);
        assert_eq!(c(60.0, 70.0, Some(66.0)).0, Course::OnCourse);
        assert_eq!(c(60.0, 70.0, Some(62.0)).0, Course::OffCourse);
        assert_eq!(c(60.0, 70.0, Some(58.0)).0, Course::OffCourse, "moved away");
        assert_eq!(c(60.0, 70.0, None).0, Course::Unknown, "secret value");
        // A falling target: from 20 down to 10.
        let down = c(20.0, 10.0, Some(12.0));
        assert_eq!(down.0, Course::OnCourse, "{}", down.1);
        assert_eq!(
            course(
                None,
                Some(70.0),
                Some(&actual(Some(1.0))),
                start,
                date,
                half,
                true
            )
            .0,
            Course::Unknown
        );
    }
}
