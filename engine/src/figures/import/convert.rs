//! Values into the indicator's unit. The stored value of an observation is always in its
//! indicator's unit, so a column that says it holds something else is turned into that unit
//! while the file is read: a count beside its denominator becomes a percentage or a figure per
//! 1,000 (the denominator is kept, so the number of people behind the rate, and with it
//! small-number protection, stays exact), and a rate in the other rate unit is scaled. A rate
//! is never turned back into a count.

use super::numbers::Culprit;
use crate::figures::{Observation, Unit};

/// How the values of one column become values in the indicator's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversion {
    /// The unit the column is in.
    pub from: Unit,
    /// The indicator's unit.
    pub to: Unit,
}

impl Conversion {
    /// The conversion from the unit a column says (`column`) into the indicator's (`indicator`),
    /// when they differ; an error in words when the column cannot become that unit.
    /// `denominator` tells whether the file has a denominator column.
    pub fn between(
        column_title: &str,
        column: Option<Unit>,
        indicator: Option<Unit>,
        denominator: bool,
    ) -> Result<Option<Conversion>, String> {
        let (Some(from), Some(to)) = (column, indicator) else {
            return Ok(None);
        };
        if from == to {
            return Ok(None);
        }
        match (from, to) {
            (Unit::Count, _) if !denominator => Err(format!(
                "kolom {column_title:?} geeft aantallen en de indicator is {}, maar het bestand heeft geen noemer om ze mee om te rekenen; geef de kolom met de noemer (`noemer` in de koppeling), of lees de aantallen in bij een indicator die telt",
                to.label()
            )),
            (_, Unit::Count) => Err(format!(
                "kolom {column_title:?} geeft {} en de indicator telt aantallen; van een {} wordt geen aantal gemaakt: lees de kolom in bij een indicator in {}",
                from.label(),
                from.label(),
                from.label()
            )),
            _ => Ok(Some(Conversion { from, to })),
        }
    }

    /// Whether the observation can be converted: a count needs a denominator above 0.
    pub fn check(&self, o: &Observation) -> Result<(), (Culprit, String)> {
        if self.from != Unit::Count || o.value.is_none() {
            return Ok(());
        }
        match o.denominator {
            Some(d) if d > 0.0 => Ok(()),
            Some(_) => Err((
                Culprit::Denominator,
                format!(
                    "de noemer is 0, dus het aantal kan niet {} worden",
                    self.to.label()
                ),
            )),
            None => Err((
                Culprit::Denominator,
                format!(
                    "zonder noemer kan het aantal niet {} worden",
                    self.to.label()
                ),
            )),
        }
    }

    /// The value in the indicator's unit; `denominator` is NaN when absent (only a count needs
    /// it, and [`Conversion::check`] has seen that it is there).
    pub fn apply(&self, value: f64, denominator: f64) -> f64 {
        let scale = |unit: Unit| match unit {
            Unit::Count => 1.0,
            Unit::Percentage => 100.0,
            Unit::PerThousand => 1000.0,
        };
        match self.from {
            Unit::Count => value / denominator * scale(self.to),
            from => value / scale(from) * scale(self.to),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::Breakdown;
    use crate::figures::test_support::obs;

    #[test]
    fn counts_become_rates_with_their_denominator_and_rates_are_scaled() {
        let per_1000 = Conversion::between("t", Some(Unit::Count), Some(Unit::PerThousand), true)
            .unwrap()
            .unwrap();
        assert!((per_1000.apply(59.0, 10370.0) - 5.689_488_910_318_225).abs() < 1e-12);
        let pct = Conversion::between("t", Some(Unit::Count), Some(Unit::Percentage), true)
            .unwrap()
            .unwrap();
        assert_eq!(pct.apply(25.0, 200.0), 12.5);
        let scaled =
            Conversion::between("t", Some(Unit::Percentage), Some(Unit::PerThousand), false)
                .unwrap()
                .unwrap();
        assert_eq!(scaled.apply(1.5, f64::NAN), 15.0);
        assert_eq!(
            Conversion::between("t", Some(Unit::Count), Some(Unit::Count), false),
            Ok(None)
        );
        assert_eq!(
            Conversion::between("t", None, Some(Unit::PerThousand), false),
            Ok(None),
            "a column that does not say its unit is in the indicator's"
        );
        let no_base = Conversion::between("t", Some(Unit::Count), Some(Unit::PerThousand), false)
            .unwrap_err();
        assert!(no_base.contains("geen noemer"), "{no_base}");
        let back =
            Conversion::between("t", Some(Unit::Percentage), Some(Unit::Count), true).unwrap_err();
        assert!(back.contains("geen aantal"), "{back}");
    }

    #[test]
    fn the_people_behind_a_converted_count_are_the_count_again() {
        let c = Conversion {
            from: Unit::Count,
            to: Unit::PerThousand,
        };
        for denominator in [7.0, 9.0, 13.0, 999.0, 10_370.0, 123_457.0, 99_999_989.0] {
            for count in 0..=40 {
                let count = f64::from(count);
                if count > denominator {
                    continue;
                }
                let o = Observation {
                    denominator: Some(denominator),
                    ..obs("GM0363", Breakdown::total(), c.apply(count, denominator))
                };
                assert_eq!(
                    o.people(Unit::PerThousand),
                    Some(count),
                    "{count}/{denominator}"
                );
            }
        }
        let o = obs("GM0363", Breakdown::total(), 3.0);
        assert!(c.check(&o).is_err());
    }
}
