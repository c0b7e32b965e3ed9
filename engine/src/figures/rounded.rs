//! Figures as kompas writes them: what `figures show`, `compare` and `chart` print, for people
//! and as `--json`, is rounded first, each value to the decimals of the unit it is in
//! ([`Unit::round`]), so the text and the JSON give the same numbers. Counts and populations
//! are whole already (protection rounds them); baselines and targets are kept as they were
//! typed.

use super::Unit;
use super::benchmark::Comparison;
use super::change::Change;
use super::chart::ChartData;
use super::indicator::round_decimals;
use super::report::{AreaReport, Line};
use super::targets::IndicatorTargets;

impl Line {
    /// The line rounded: its value in the indicator's `unit`, its percentage and its figure per
    /// 1,000 in theirs.
    pub fn rounded(mut self, unit: Unit) -> Line {
        self.value = self.value.map(|v| unit.round(v));
        self.percentage = self.percentage.map(|v| Unit::Percentage.round(v));
        self.per_1000 = self.per_1000.map(|v| Unit::PerThousand.round(v));
        self
    }
}

impl Change {
    /// The change rounded: its values and difference in `measure`, the relative change as a
    /// percentage.
    pub fn rounded(mut self, measure: Unit) -> Change {
        self.from_value = measure.round(self.from_value);
        self.to_value = measure.round(self.to_value);
        self.difference = measure.round(self.difference);
        self.relative = self.relative.map(|v| Unit::Percentage.round(v));
        self
    }
}

impl AreaReport {
    /// The report rounded: its lines in the indicator's `unit`, its changes in `measure` (the
    /// unit areas are compared in, `benchmark::measure_unit`).
    pub fn rounded(mut self, unit: Unit, measure: Unit) -> AreaReport {
        for lines in [&mut self.series, &mut self.breakdowns, &mut self.parts] {
            *lines = std::mem::take(lines)
                .into_iter()
                .map(|l| l.rounded(unit))
                .collect();
        }
        self.change_previous = self.change_previous.map(|c| c.rounded(measure));
        self.change_years = self.change_years.map(|c| c.rounded(measure));
        self
    }
}

impl Comparison {
    /// The comparison rounded: the area's value, and each reference's value and difference, in
    /// `measure` (the unit the comparison is in, `benchmark::measure_unit`).
    pub fn rounded(mut self, measure: Unit) -> Comparison {
        self.value = self.value.map(|v| measure.round(v));
        for r in &mut self.references {
            r.value = r.value.map(|v| measure.round(v));
            r.difference = r.difference.map(|v| measure.round(v));
        }
        self
    }
}

impl IndicatorTargets {
    /// The targets with each result's latest value rounded in the indicator's unit.
    pub fn rounded(mut self) -> IndicatorTargets {
        let unit = self.unit;
        for r in &mut self.results {
            if let Some(latest) = &mut r.latest {
                latest.value = latest.value.map(|v| unit.round(v));
            }
        }
        self
    }
}

impl ChartData {
    /// The chart's values (lines and bars) rounded to the decimals its labels show.
    pub fn rounded(mut self) -> ChartData {
        let decimals = self.decimals;
        for s in &mut self.series {
            for v in s.values.iter_mut().flatten() {
                *v = round_decimals(*v, decimals);
            }
        }
        for (_, v) in &mut self.bars {
            *v = v.map(|v| round_decimals(v, decimals));
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::{Period, Status};

    #[test]
    fn rates_are_rounded_to_their_units_decimals_and_counts_stay_whole() {
        let line = Line {
            period: Period::year(2024),
            label: "Havenstad".into(),
            value: Some(12.345_678_901),
            denominator: Some(10_370.0),
            percentage: Some(0.578_592),
            per_1000: Some(5.785_921_6),
            status: Status::Definitief,
            note: None,
        };
        let per_1000 = line.clone().rounded(Unit::PerThousand);
        assert_eq!(per_1000.value, Some(12.3));
        assert_eq!(per_1000.denominator, Some(10_370.0));
        assert_eq!(per_1000.percentage, Some(0.6));
        assert_eq!(per_1000.per_1000, Some(5.8));
        let count = Line {
            value: Some(60.0),
            ..line
        }
        .rounded(Unit::Count);
        assert_eq!(count.value, Some(60.0));
        // Halves away from zero, negative differences too.
        assert_eq!(Unit::PerThousand.round(0.25), 0.3);
        assert_eq!(Unit::PerThousand.round(-0.25), -0.3);
        assert_eq!(Unit::Count.round(2.5), 3.0);
        assert_eq!(round_decimals(5.785_921_6, 2), 5.79);
    }
}
