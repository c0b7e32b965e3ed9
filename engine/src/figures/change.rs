//! Change over time: against the previous period and over N years, judged against the
//! indicator's better direction, with a warning when a count moves only because the population did.

use super::{AreaCode, Breakdown, Direction, Indicator, ObservationTable, Period, Unit};

/// How a difference reads, given which direction is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
// `--json` speaks English; `label` gives the Dutch for people.
pub enum Judgement {
    /// Moved in the better direction.
    #[serde(rename = "better")]
    Beter,
    /// Moved in the worse direction.
    #[serde(rename = "worse")]
    Slechter,
    /// No difference.
    #[serde(rename = "equal")]
    Gelijk,
    /// Different, but neither direction is better.
    #[serde(rename = "different")]
    Anders,
}

impl Judgement {
    /// Judges a difference (new minus old, or area minus reference).
    pub fn of(difference: f64, better: Direction) -> Judgement {
        if difference.abs() < 1e-9 {
            return Judgement::Gelijk;
        }
        match (better, difference > 0.0) {
            (Direction::Higher, true) | (Direction::Lower, false) => Judgement::Beter,
            (Direction::Higher, false) | (Direction::Lower, true) => Judgement::Slechter,
            (Direction::Neutral, _) => Judgement::Anders,
        }
    }

    /// The Dutch word.
    pub fn label(self) -> &'static str {
        match self {
            Judgement::Beter => "beter",
            Judgement::Slechter => "slechter",
            Judgement::Gelijk => "gelijk",
            Judgement::Anders => "anders",
        }
    }
}

/// How far back to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// The period just before.
    Previous,
    /// The same period, this many years earlier.
    Years(i16),
}

/// A change between two periods, in the comparable measure of the indicator.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    /// The earlier period.
    pub from: Period,
    /// The later period.
    pub to: Period,
    /// The earlier value.
    pub from_value: f64,
    /// The later value.
    pub to_value: f64,
    /// Later minus earlier.
    pub difference: f64,
    /// The difference as a percentage of the earlier value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative: Option<f64>,
    /// How the change reads.
    pub judgement: Judgement,
    /// A warning that the count and the rate move in different directions: the population
    /// changed, not (only) the situation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population_note: Option<String>,
}

/// The change of `area` (for `breakdown`) up to period `to`; `None` when either value is missing
/// or secret.
pub fn change(
    indicator: &Indicator,
    table: &ObservationTable,
    area: AreaCode,
    breakdown: &Breakdown,
    to: Period,
    span: Span,
) -> Option<Change> {
    let from = match span {
        Span::Previous => to.previous(),
        Span::Years(n) => to.years_back(n),
    };
    let old = table.get(area, breakdown, from)?;
    let new = table.get(area, breakdown, to)?;
    let (a, b) = (
        old.comparable(indicator.unit)?,
        new.comparable(indicator.unit)?,
    );
    let difference = b - a;
    let population_note = match (indicator.unit, old.value, new.value) {
        (Unit::Count, Some(c0), Some(c1)) if old.denominator.is_some() => {
            let counted = c1 - c0;
            (counted.abs() > 1e-9 && counted.signum() != difference.signum()).then(|| {
                format!(
                    "het aantal {} ({} naar {}), maar per 1.000 {}: de groep waarover het gaat is {}",
                    if counted < 0.0 { "daalt" } else { "stijgt" },
                    c0,
                    c1,
                    if difference < 0.0 { "daalt het" } else if difference > 0.0 { "stijgt het" } else { "blijft het gelijk" },
                    if counted < 0.0 { "kleiner geworden" } else { "groter geworden" },
                )
            })
        }
        _ => None,
    };
    Some(Change {
        from,
        to,
        from_value: a,
        to_value: b,
        difference,
        relative: (a.abs() > 1e-9).then(|| difference / a * 100.0),
        judgement: Judgement::of(difference, indicator.better),
        population_note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DocId;
    use crate::figures::{Observation, Status};

    fn indicator(unit: Unit, better: Direction) -> Indicator {
        Indicator {
            id: DocId::parse("x").unwrap(),
            name: "x".into(),
            title: "x".into(),
            definition: String::new(),
            unit,
            better,
            source: String::new(),
        }
    }

    fn row(year: i16, value: f64, denominator: Option<f64>) -> Observation {
        Observation {
            area: AreaCode::parse("GM0001").unwrap(),
            period: Period::year(year),
            breakdown: Breakdown::total(),
            value: Some(value),
            denominator,
            status: Status::Definitief,
            note: None,
        }
    }

    #[test]
    fn judgement_follows_the_better_direction() {
        assert_eq!(Judgement::of(2.0, Direction::Higher), Judgement::Beter);
        assert_eq!(Judgement::of(2.0, Direction::Lower), Judgement::Slechter);
        assert_eq!(Judgement::of(-2.0, Direction::Lower), Judgement::Beter);
        assert_eq!(Judgement::of(0.0, Direction::Lower), Judgement::Gelijk);
        assert_eq!(Judgement::of(1.0, Direction::Neutral), Judgement::Anders);
    }

    #[test]
    fn a_falling_count_in_a_shrinking_population_is_flagged() {
        let table: ObservationTable =
            [row(2020, 100.0, Some(1000.0)), row(2023, 90.0, Some(800.0))]
                .into_iter()
                .collect();
        let ind = indicator(Unit::Count, Direction::Lower);
        let c = change(
            &ind,
            &table,
            AreaCode::parse("GM0001").unwrap(),
            &Breakdown::total(),
            Period::year(2023),
            Span::Years(3),
        )
        .unwrap();
        assert_eq!((c.from_value, c.to_value), (100.0, 112.5));
        assert_eq!(c.judgement, Judgement::Slechter);
        assert!(c.population_note.unwrap().contains("het aantal daalt"));
        assert!(
            change(
                &ind,
                &table,
                AreaCode::parse("GM0001").unwrap(),
                &Breakdown::total(),
                Period::year(2023),
                Span::Previous
            )
            .is_none()
        );
    }

    #[test]
    fn percentages_change_in_points() {
        let table: ObservationTable = [row(2022, 60.0, None), row(2023, 65.0, None)]
            .into_iter()
            .collect();
        let ind = indicator(Unit::Percentage, Direction::Higher);
        let c = change(
            &ind,
            &table,
            AreaCode::parse("GM0001").unwrap(),
            &Breakdown::total(),
            Period::year(2023),
            Span::Previous,
        )
        .unwrap();
        assert_eq!(c.difference, 5.0);
        assert_eq!(c.judgement, Judgement::Beter);
        assert!(c.population_note.is_none());
    }
}
