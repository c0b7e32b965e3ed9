//! Targets beside the figures: for an indicator, the baseline and target of every result that
//! is measured by it (in the built-in workflows the `maatschappelijk-resultaat` documents), the
//! latest value of an area, and whether that value is on course.
//!
//! A result is any document whose kind has a field of type `cijfer` and a `streefwaarde` in that
//! field's unit (`eenheid-van`), with optionally `nulmeting` and `streefdatum`; so a partnership's
//! own definition with those fields is read the same way. Baseline, target and latest value are
//! all in the indicator's own unit: the stored value, not the per-1,000 rate a count is compared
//! in between areas.
//!
//! **On course** compares the share of the way from baseline to target covered by the latest
//! value with the share of the time from the result's creation to its target date that has
//! passed: covered at least as much of the way as of the time (and some of it) is on course. At
//! or beyond the target is reached. Without a target date, any progress is on course.

use super::{AreaCode, Breakdown, Direction, Indicator, ObservationTable, Period, Status};
use crate::catalog::{Catalog, FieldType, KindDef};
use crate::document::{DocView, FieldValue, format_number, parse_date};
use crate::{DocId, Timestamp};

/// The field names a result is read by.
const BASELINE: &str = "nulmeting";
const TARGET: &str = "streefwaarde";
const TARGET_DATE: &str = "streefdatum";

/// Whether a result is on course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Course {
    /// The latest value is at or beyond the target.
    Reached,
    /// Progress keeps pace with the time passed towards the target date.
    OnCourse,
    /// Progress lags behind the time passed, or the value moved away from the target.
    OffCourse,
    /// Baseline, target or a shown latest value is missing.
    Unknown,
}

impl Course {
    /// The Dutch words.
    pub fn label(self) -> &'static str {
        match self {
            Course::Reached => "streefwaarde bereikt",
            Course::OnCourse => "op koers",
            Course::OffCourse => "niet op koers",
            Course::Unknown => "niet te zeggen",
        }
    }
}

/// The latest value of an area, in the indicator's own unit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Latest {
    /// Its period.
    pub period: Period,
    /// The value; `None` when it is secret.
    pub value: Option<f64>,
    /// Whether the figure is provisional.
    pub provisional: bool,
}

/// One result measured by an indicator, with its baseline, target and course.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ResultTarget {
    /// The result's document.
    pub result: DocId,
    /// Its title.
    pub title: String,
    /// The baseline, in the indicator's unit.
    pub baseline: Option<f64>,
    /// The target, in the indicator's unit.
    pub target: Option<f64>,
    /// The date the target should be reached (YYYY-MM-DD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_date: Option<String>,
    /// The area's latest value (up to the period asked for), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<Latest>,
    /// Whether the latest value is on course.
    pub course: Course,
    /// Why, in a few Dutch words: "40% van de weg afgelegd, 25% van de tijd verstreken".
    pub course_note: String,
}

/// The results of one indicator.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IndicatorTargets {
    /// The indicator's name.
    pub indicator: String,
    /// The area the latest values are of.
    pub area: AreaCode,
    /// The unit of every number in `results`.
    pub unit: super::Unit,
    /// The results measured by the indicator, oldest first.
    pub results: Vec<ResultTarget>,
}

/// The field that names the indicator in a result kind: a `cijfer` field that the target is in
/// the unit of. `None` for kinds that are not results.
pub fn result_indicator_field(kind: &KindDef) -> Option<&str> {
    let target = kind.field(TARGET)?;
    let of = target.unit_of.as_deref()?;
    (kind.field(of)?.ty == FieldType::Figure).then_some(of)
}

/// The results among `docs` that are measured by `indicator`, with the latest value of `area`
/// up to `up_to` (the latest there is when `None`) and their course at `now`.
pub fn targets(
    indicator: &Indicator,
    table: &ObservationTable,
    docs: &[DocView],
    catalog: &Catalog,
    area: AreaCode,
    up_to: Option<Period>,
    now: Timestamp,
) -> IndicatorTargets {
    let latest = table
        .series(area, &Breakdown::total())
        .into_iter()
        .rfind(|o| up_to.is_none_or(|p| o.period <= p))
        .map(|o| Latest {
            period: o.period,
            value: o.value,
            provisional: o.status == Status::Voorlopig,
        });
    let mut results: Vec<(Timestamp, ResultTarget)> = docs
        .iter()
        .filter(|d| d.deleted.is_none())
        .filter(|d| {
            catalog
                .kind(&d.kind)
                .and_then(result_indicator_field)
                .and_then(|f| d.fields.get(f))
                == Some(&FieldValue::Text(indicator.name.clone()))
        })
        .map(|d| {
            let number = |name: &str| match d.fields.get(name) {
                Some(FieldValue::Number(n)) => Some(*n),
                _ => None,
            };
            let baseline = number(BASELINE);
            let target = number(TARGET);
            let target_date = match d.fields.get(TARGET_DATE) {
                Some(FieldValue::Text(s)) if !s.is_empty() => Some(s.clone()),
                _ => None,
            };
            let elapsed = target_date
                .as_deref()
                .and_then(|date| elapsed_share(d.created, date, now));
            let (course, course_note) = course(
                indicator.better,
                baseline,
                target,
                latest.as_ref().map(|l| l.value),
                elapsed,
            );
            let title = catalog
                .kind(&d.kind)
                .and_then(KindDef::title_field)
                .and_then(|f| d.fields.get(&f.name))
                .map_or_else(|| d.id.to_string(), ToString::to_string);
            let result = ResultTarget {
                result: d.id.clone(),
                title,
                baseline,
                target,
                target_date,
                latest: latest.clone(),
                course,
                course_note,
            };
            (d.created, result)
        })
        .collect();
    results.sort_by(|(a, x), (b, y)| (a, &x.result).cmp(&(b, &y.result)));
    IndicatorTargets {
        indicator: indicator.name.clone(),
        area,
        unit: indicator.unit,
        results: results.into_iter().map(|(_, r)| r).collect(),
    }
}

/// The course of a result: `latest` is `None` without a value for the area, `Some(None)` when
/// it is secret; `elapsed` is the share of the time to the target date that has passed.
pub fn course(
    better: Direction,
    baseline: Option<f64>,
    target: Option<f64>,
    latest: Option<Option<f64>>,
    elapsed: Option<f64>,
) -> (Course, String) {
    let unknown = |why: &str| (Course::Unknown, why.to_string());
    let Some(target) = target else {
        return unknown("geen streefwaarde");
    };
    let Some(latest) = latest else {
        return unknown("geen cijfers voor dit gebied");
    };
    let Some(value) = latest else {
        return unknown("het laatste cijfer is geheim");
    };
    let Some(baseline) = baseline else {
        return unknown("geen nulmeting");
    };
    let span = target - baseline;
    if span == 0.0 {
        let reached = match better {
            Direction::Higher => value >= target,
            Direction::Lower => value <= target,
            Direction::Neutral => value == target,
        };
        return if reached {
            (Course::Reached, "op de streefwaarde".into())
        } else {
            (Course::OffCourse, "van de streefwaarde af".into())
        };
    }
    let progress = (value - baseline) / span;
    if progress >= 1.0 {
        return (Course::Reached, "streefwaarde bereikt".into());
    }
    let covered = format!("{}% van de weg afgelegd", percent(progress));
    if progress <= 0.0 {
        let note = if progress < 0.0 {
            "verder van de streefwaarde dan bij de nulmeting".to_string()
        } else {
            "nog op de nulmeting".to_string()
        };
        return (Course::OffCourse, note);
    }
    match elapsed {
        Some(share) => {
            let note = format!("{covered}, {}% van de tijd verstreken", percent(share));
            if progress + 1e-9 >= share {
                (Course::OnCourse, note)
            } else {
                (Course::OffCourse, note)
            }
        }
        None => (Course::OnCourse, covered),
    }
}

fn percent(share: f64) -> String {
    format_number((share * 100.0).round())
}

/// The share (0 to 1) of the time from `start` to the end of the day `date` that has passed at
/// `now`; `None` when the date cannot be read.
fn elapsed_share(start: Timestamp, date: &str, now: Timestamp) -> Option<f64> {
    let day: jiff::civil::Date = parse_date(date)?.parse().ok()?;
    let end = day
        .tomorrow()
        .ok()?
        .in_tz("Europe/Amsterdam")
        .ok()?
        .timestamp()
        .as_millisecond();
    let total = (end - start.millis()) as f64;
    if total <= 0.0 {
        return Some(1.0);
    }
    Some(((now.millis() - start.millis()) as f64 / total).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_weighed_against_the_time_passed() {
        let c = |b: f64, t: f64, v: f64, e: Option<f64>| {
            course(Direction::Lower, Some(b), Some(t), Some(Some(v)), e).0
        };
        // From 6.5 down to 4 per 1,000, halfway in time.
        assert_eq!(c(6.5, 4.0, 5.0, Some(0.5)), Course::OnCourse);
        assert_eq!(c(6.5, 4.0, 6.0, Some(0.5)), Course::OffCourse);
        assert_eq!(c(6.5, 4.0, 7.0, Some(0.1)), Course::OffCourse, "moved away");
        assert_eq!(c(6.5, 4.0, 3.9, Some(0.9)), Course::Reached);
        assert_eq!(
            c(60.0, 70.0, 62.0, None),
            Course::OnCourse,
            "no date: progress"
        );
        assert_eq!(c(60.0, 70.0, 60.0, None), Course::OffCourse, "no progress");
        let (_, note) = course(
            Direction::Higher,
            Some(60.0),
            Some(70.0),
            Some(Some(64.0)),
            Some(0.25),
        );
        assert_eq!(note, "40% van de weg afgelegd, 25% van de tijd verstreken");
    }

    #[test]
    fn missing_pieces_leave_the_course_unknown_and_say_why() {
        let c = |b, t, v| course(Direction::Lower, b, t, v, Some(0.5));
        assert_eq!(
            c(Some(1.0), Some(0.5), Some(None)).1,
            "het laatste cijfer is geheim"
        );
        assert_eq!(
            c(Some(1.0), Some(0.5), None).1,
            "geen cijfers voor dit gebied"
        );
        assert_eq!(c(None, Some(0.5), Some(Some(1.0))).1, "geen nulmeting");
        assert_eq!(c(Some(1.0), None, Some(Some(1.0))).0, Course::Unknown);
        // A target equal to the baseline: holding the line.
        assert_eq!(
            course(
                Direction::Lower,
                Some(4.0),
                Some(4.0),
                Some(Some(3.0)),
                None
            )
            .0,
            Course::Reached
        );
    }

    #[test]
    fn time_passed_runs_from_creation_to_the_end_of_the_target_day() {
        let start = "2026-01-01T00:00:00+01:00"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond();
        let half = "2026-07-02T12:00:00+02:00"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond();
        let share = elapsed_share(Timestamp(start), "2026-12-31", Timestamp(half)).unwrap();
        assert!((share - 0.5).abs() < 0.01, "{share}");
        assert_eq!(
            elapsed_share(Timestamp(half), "2026-01-01", Timestamp(half)),
            Some(1.0)
        );
        assert_eq!(
            elapsed_share(Timestamp(start), "morgen", Timestamp(half)),
            None
        );
    }
}
