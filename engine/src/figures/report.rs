//! What `figures show` tells about one area: the series with counts and rates side by side,
//! the change against the previous period and over several years, the breakdowns and the
//! districts of the latest period.

use super::change::{Change, Span, change};
use super::{
    AreaCode, AreaRegistry, Breakdown, Indicator, Observation, ObservationTable, Period, Status,
    Unit,
};

/// One period of an area's series.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Line {
    /// The period.
    pub period: Period,
    /// The area or category this line is about.
    pub label: String,
    /// The value in the indicator's unit (`None` = secret).
    pub value: Option<f64>,
    /// The denominator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator: Option<f64>,
    /// The value as a percentage (of the denominator, for a count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentage: Option<f64>,
    /// The value per 1,000 (of the denominator, for a count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_1000: Option<f64>,
    /// Provisional or final.
    pub status: Status,
    /// A trend-break note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Line {
    fn of(o: &Observation, unit: Unit, label: String) -> Line {
        Line {
            period: o.period,
            label,
            value: o.value,
            denominator: o.denominator,
            percentage: o.percentage(unit),
            per_1000: o.per_thousand(unit),
            status: o.status,
            note: o.note.clone(),
        }
    }
}

/// Everything shown about one area.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AreaReport {
    /// The area.
    pub area: AreaCode,
    /// Its label.
    pub label: String,
    /// The measure changes are given in: `per 1.000`, `%`, `aantal`.
    pub measure: &'static str,
    /// The series of totals, oldest first.
    pub series: Vec<Line>,
    /// The change against the previous period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_previous: Option<Change>,
    /// The change over `years` years.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_years: Option<Change>,
    /// How many years `change_years` spans.
    pub years: i16,
    /// The breakdowns in the latest period.
    pub breakdowns: Vec<Line>,
    /// The districts (or neighbourhoods) in the latest period.
    pub parts: Vec<Line>,
}

/// Builds the report of `area`, up to `period` (the latest when `None`).
pub fn area_report(
    indicator: &Indicator,
    table: &ObservationTable,
    registry: &AreaRegistry,
    area: AreaCode,
    period: Option<Period>,
    years: i16,
) -> AreaReport {
    let total = Breakdown::total();
    let series: Vec<Line> = table
        .series(area, &total)
        .into_iter()
        .filter(|o| period.is_none_or(|p| o.period <= p))
        .map(|o| Line::of(o, indicator.unit, registry.label(area)))
        .collect();
    let latest = series.last().map(|l| l.period);
    let changes = |span| latest.and_then(|p| change(indicator, table, area, &total, p, span));
    AreaReport {
        area,
        label: registry.label(area),
        measure: super::benchmark::measure_label(indicator, table),
        change_previous: changes(Span::Previous),
        change_years: changes(Span::Years(years)),
        years,
        breakdowns: latest
            .map(|p| {
                table
                    .breakdowns(area, p)
                    .into_iter()
                    .map(|o| Line::of(o, indicator.unit, o.breakdown.to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        parts: latest
            .map(|p| {
                table
                    .parts_of(area, p)
                    .into_iter()
                    .map(|o| Line::of(o, indicator.unit, registry.label(o.area)))
                    .collect()
            })
            .unwrap_or_default(),
        series,
    }
}
