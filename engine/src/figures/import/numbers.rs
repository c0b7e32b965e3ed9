//! The number convention of a file, decided per column (and for the file as a whole) from the
//! values that show it, and the checks that refuse impossible values.
//!
//! `12,5` shows a decimal comma, `9.9` a decimal point, `1.234.567` and `1.234,5` thousands
//! dots. `1.234` shows nothing: it is read as its column's convention says (or, when the column
//! has shown none, the file's), once the whole file is read; when nothing in the file decides it,
//! it is refused with its row and column. A column that shows both conventions is refused at the
//! first value that contradicts the earlier ones.

use std::collections::{BTreeMap, HashMap};

use crate::document::number::Written;
use crate::figures::period_rows::PeriodRows;
use crate::figures::{AreaCode, Breakdown, Observation, Period, Unit};

/// The largest count (or population) accepted: more than the people of any country in the
/// figures, so a larger value is a mistake (such as `1e23` or a misplaced separator).
pub const MAX_COUNT: f64 = 100_000_000.0;

/// The conventions seen so far.
#[derive(Debug, Default)]
pub struct Conventions {
    /// Per column: the decimal separator and the row that showed it (a handful of columns).
    columns: BTreeMap<usize, (char, u64)>,
    /// For the file: the first decimal separator any column showed.
    file: Option<char>,
}

/// A number read so far: its value, or left open until the file is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Read {
    /// The value.
    Value(f64),
    /// Ambiguous, and its column has not shown a convention yet.
    Open(Written),
}

impl Conventions {
    /// Reads a written number of `column` in `row`, learning the convention it shows.
    pub fn read(&mut self, column: usize, row: u64, written: Written) -> Result<Read, String> {
        match written {
            Written::Sure { value, decimal } => {
                if let Some(d) = decimal {
                    match self.columns.get(&column) {
                        Some((seen, at)) if *seen != d => {
                            return Err(format!(
                                "{} gebruikt een decimale {}, maar rij {at} in deze kolom een decimale {}",
                                show(value, d),
                                name(d),
                                name(*seen)
                            ));
                        }
                        Some(_) => {}
                        None => {
                            self.columns.insert(column, (d, row));
                        }
                    }
                    self.file.get_or_insert(d);
                }
                Ok(Read::Value(value))
            }
            Written::Ambiguous { .. } => match self.columns.get(&column) {
                Some((d, _)) => Ok(written
                    .under(Some(*d))
                    .map_or(Read::Open(written), Read::Value)),
                None => Ok(Read::Open(written)),
            },
        }
    }

    /// The value of a number left open, now that the whole file is read.
    pub fn settle(&self, column: usize, written: Written) -> Result<f64, String> {
        let decimal = self.columns.get(&column).map(|(d, _)| *d).or(self.file);
        written.under(decimal).ok_or_else(|| match written {
            Written::Ambiguous {
                separator,
                as_decimal,
                as_thousands,
            } => format!(
                "{:?} is dubbelzinnig: {as_thousands} of {}? Niets in het bestand laat zien of de {} decimalen of duizendtallen scheidt; schrijf {as_thousands} of {}",
                show(as_decimal, separator),
                show(as_decimal, ','),
                name(separator),
                show(as_decimal, ',')
            ),
            Written::Sure { .. } => "geen getal".into(),
        })
    }
}

fn name(separator: char) -> &'static str {
    if separator == ',' { "komma" } else { "punt" }
}

fn show(value: f64, decimal: char) -> String {
    let text = value.to_string();
    if decimal == ',' {
        text.replace('.', ",")
    } else {
        text
    }
}

/// Which cell of a row an impossible value is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Culprit {
    /// The value.
    Value,
    /// The denominator.
    Denominator,
}

/// Checks that an observation's numbers can be what its unit says.
pub fn check_values(o: &Observation, unit: Unit) -> Result<(), (Culprit, String)> {
    if let Some(d) = o.denominator {
        if d < 0.0 {
            return Err((
                Culprit::Denominator,
                "een noemer kan niet negatief zijn".into(),
            ));
        }
        if d > MAX_COUNT {
            return Err((Culprit::Denominator, too_large(d)));
        }
        if d == 0.0 && o.value.is_some_and(|v| v != 0.0) {
            return Err((
                Culprit::Denominator,
                "de noemer is 0, maar er is wel een waarde".into(),
            ));
        }
    }
    let Some(v) = o.value else { return Ok(()) };
    let bad = |problem: String| Err((Culprit::Value, problem));
    match unit {
        Unit::Count => {
            if v < 0.0 {
                return bad(format!("een aantal kan niet negatief zijn ({v})"));
            }
            if v > MAX_COUNT {
                return bad(too_large(v));
            }
            if let Some(d) = o.denominator
                && v > d
            {
                return bad(format!("het aantal ({v}) is groter dan de noemer ({d})"));
            }
        }
        Unit::Percentage if !(0.0..=100.0).contains(&v) => {
            return bad(format!("een percentage ligt tussen 0 en 100, niet {v}"));
        }
        Unit::PerThousand if !(0.0..=1000.0).contains(&v) => {
            return bad(format!(
                "een cijfer per 1.000 ligt tussen 0 en 1000, niet {v}"
            ));
        }
        _ => {}
    }
    Ok(())
}

fn too_large(v: f64) -> String {
    format!("{v:e} is groter dan een aantal mensen kan zijn (meer dan 100 miljoen)")
}

/// Checks that a period lies between 1900 and a year after `current_year`.
pub fn check_period(period: Period, current_year: Option<i16>) -> Result<(), String> {
    if period.year < 1900 {
        return Err(format!("periode {period} ligt voor 1900"));
    }
    if let Some(now) = current_year
        && period.year > now.saturating_add(1)
    {
        return Err(format!(
            "periode {period} ligt meer dan een jaar in de toekomst"
        ));
    }
    Ok(())
}

/// How many breakdowns above their total are listed.
const LISTED: usize = 20;

/// The breakdowns (in one dimension) whose categories add up to more than their total, allowing
/// for rounding to multiples of 5: `GM0363 2023JJ00: geslacht telt op tot 1240, het totaal is 1200`.
/// Looks at one period at a time, since totals and their breakdowns share their period.
pub fn breakdowns_above_total(rows: &PeriodRows) -> Vec<String> {
    let mut found = Vec::new();
    for period in rows.periods() {
        found.extend(
            above_total(rows.values_in(period))
                .into_iter()
                .map(|(area, dim, sum, total)| (area, period, dim, sum, total)),
        );
    }
    found.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
    let count = found.len();
    let mut out: Vec<String> = found
        .into_iter()
        .take(LISTED)
        .map(|(area, period, dim, sum, total)| {
            format!("{area} {period}: {dim} telt op tot {sum}, meer dan het totaal {total}")
        })
        .collect();
    if count > LISTED {
        out.push(format!("... en nog {} uitsplitsingen", count - LISTED));
    }
    out
}

/// The breakdowns above their total among the (area, breakdown, value) of one period: area,
/// dimension, sum and total. The keys come from the file, so the maps are seeded.
fn above_total<'a>(
    rows: impl Iterator<Item = (AreaCode, &'a Breakdown, Option<f64>)>,
) -> Vec<(AreaCode, String, f64, f64)> {
    let mut totals: HashMap<AreaCode, f64> = HashMap::new();
    let mut sums: HashMap<(AreaCode, &str), (f64, usize)> = HashMap::new();
    for (area, breakdown, value) in rows {
        let Some(v) = value else { continue };
        let mut dims = breakdown.iter();
        match (dims.next(), dims.next()) {
            (None, _) => {
                totals.insert(area, v);
            }
            (Some((dim, _)), None) => {
                let entry = sums.entry((area, dim)).or_default();
                entry.0 += v;
                entry.1 += 1;
            }
            _ => {}
        }
    }
    sums.into_iter()
        .filter_map(|((area, dim), (sum, parts))| {
            let total = *totals.get(&area)?;
            (sum > total + 2.5 * parts as f64).then(|| (area, dim.to_string(), sum, total))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::number::read_written;

    #[test]
    fn a_column_decides_its_ambiguous_values() {
        let mut c = Conventions::default();
        let open = c.read(2, 2, read_written("1.234").unwrap()).unwrap();
        assert!(matches!(open, Read::Open(_)));
        assert_eq!(
            c.read(2, 3, read_written("12,5").unwrap()),
            Ok(Read::Value(12.5))
        );
        assert_eq!(c.settle(2, read_written("1.234").unwrap()), Ok(1234.0));
        assert_eq!(
            c.read(2, 4, read_written("2.345").unwrap()),
            Ok(Read::Value(2345.0))
        );
        let err = c.read(2, 5, read_written("9.5").unwrap()).unwrap_err();
        assert!(err.contains("rij 3"), "{err}");
    }

    #[test]
    fn without_a_convention_ambiguous_values_are_refused() {
        let c = Conventions::default();
        let err = c.settle(2, read_written("1.234").unwrap()).unwrap_err();
        assert!(err.contains("dubbelzinnig: 1234 of 1,234"), "{err}");
    }
}
