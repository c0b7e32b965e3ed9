//! CBS period codes: 2023JJ00 (a year), 2023KW01 (a quarter), 2023MM03 (a month).

use std::fmt;

/// The part of a year a period covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeriodPart {
    /// The whole year.
    Year,
    /// A quarter, 1 to 4.
    Quarter(u8),
    /// A month, 1 to 12.
    Month(u8),
}

/// A reporting period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    /// The year.
    pub year: i16,
    /// Which part of it.
    pub part: PeriodPart,
}

/// Why a text is not a period code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is geen periode; gebruik 2023JJ00 (jaar), 2023KW01 (kwartaal), 2023MM03 (maand) of 2023"
)]
pub struct PeriodError(pub String);

use crate::time::MONTHS;

impl Period {
    /// A whole year.
    pub fn year(year: i16) -> Period {
        Period {
            year,
            part: PeriodPart::Year,
        }
    }

    /// Parses a code; a trailing `*` (CBS's mark for provisional figures) is reported as `true`.
    pub fn parse_marked(raw: &str) -> Result<(Period, bool), PeriodError> {
        let t = raw.trim();
        let (t, provisional) = match t.strip_suffix('*') {
            Some(rest) => (rest.trim_end(), true),
            None => (t, false),
        };
        let err = || PeriodError(super::excerpt::excerpt(raw));
        let b = t.as_bytes();
        if b.len() < 4 || !b[..4].iter().all(u8::is_ascii_digit) {
            return Err(err());
        }
        let year: i16 = t[..4].parse().map_err(|_| err())?;
        let part = match b.len() {
            4 => PeriodPart::Year,
            8 if b[6..].iter().all(u8::is_ascii_digit) => {
                let n: u8 = t[6..].parse().map_err(|_| err())?;
                match (b[4].to_ascii_uppercase(), b[5].to_ascii_uppercase(), n) {
                    (b'J', b'J', 0) => PeriodPart::Year,
                    (b'K', b'W', 1..=4) => PeriodPart::Quarter(n),
                    (b'M', b'M', 1..=12) => PeriodPart::Month(n),
                    _ => return Err(err()),
                }
            }
            _ => return Err(err()),
        };
        Ok((Period { year, part }, provisional))
    }

    /// Parses a code without a provisional mark.
    pub fn parse(raw: &str) -> Result<Period, PeriodError> {
        match Period::parse_marked(raw)? {
            (p, false) => Ok(p),
            (_, true) => Err(PeriodError(super::excerpt::excerpt(raw))),
        }
    }

    /// The period just before this one, of the same length.
    pub fn previous(self) -> Period {
        let part = match self.part {
            PeriodPart::Year => return Period::year(self.year - 1),
            PeriodPart::Quarter(1) => return self.with(self.year - 1, PeriodPart::Quarter(4)),
            PeriodPart::Month(1) => return self.with(self.year - 1, PeriodPart::Month(12)),
            PeriodPart::Quarter(q) => PeriodPart::Quarter(q - 1),
            PeriodPart::Month(m) => PeriodPart::Month(m - 1),
        };
        self.with(self.year, part)
    }

    /// The same part of the year, `years` years earlier.
    pub fn years_back(self, years: i16) -> Period {
        self.with(self.year - years, self.part)
    }

    fn with(self, year: i16, part: PeriodPart) -> Period {
        Period { year, part }
    }

    /// A Dutch label: `2023`, `2023 kw. 1`, `maart 2023`.
    pub fn label(&self) -> String {
        match self.part {
            PeriodPart::Year => self.year.to_string(),
            PeriodPart::Quarter(q) => format!("{} kw. {q}", self.year),
            PeriodPart::Month(m) => {
                format!("{} {}", MONTHS[usize::from(m.clamp(1, 12)) - 1], self.year)
            }
        }
    }
}

impl Period {
    /// Appends the code (`2023JJ00`, `2023KW01`, `2023MM03`) to `out`, as [`fmt::Display`]
    /// writes it, without the formatting machinery (encoding writes one per stored row).
    pub fn write_code(&self, out: &mut String) {
        let (letters, n) = match self.part {
            PeriodPart::Year => ("JJ", 0),
            PeriodPart::Quarter(q) => ("KW", q),
            PeriodPart::Month(m) => ("MM", m),
        };
        if !(0..10_000).contains(&self.year) || n >= 100 {
            out.push_str(&self.to_string());
            return;
        }
        let year = self.year as u16;
        for d in [year / 1000, year / 100 % 10, year / 10 % 10, year % 10] {
            out.push(char::from(b'0' + d as u8));
        }
        out.push_str(letters);
        out.push(char::from(b'0' + n / 10));
        out.push(char::from(b'0' + n % 10));
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.part {
            PeriodPart::Year => write!(f, "{:04}JJ00", self.year),
            PeriodPart::Quarter(q) => write!(f, "{:04}KW{q:02}", self.year),
            PeriodPart::Month(m) => write!(f, "{:04}MM{m:02}", self.year),
        }
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_are_written_as_they_are_displayed() {
        let mut periods = vec![Period::year(-5), Period::year(12_345)];
        for year in [0, 7, 1900, 2023, 9999] {
            periods.push(Period::year(year));
            periods.extend((1..=4).map(|q| Period {
                year,
                part: PeriodPart::Quarter(q),
            }));
            periods.extend((1..=12).map(|m| Period {
                year,
                part: PeriodPart::Month(m),
            }));
        }
        periods.push(Period {
            year: 2023,
            part: PeriodPart::Month(200),
        });
        for p in periods {
            let mut written = String::from("x");
            p.write_code(&mut written);
            assert_eq!(written, format!("x{p}"));
        }
    }

    #[test]
    fn cbs_codes_parse() {
        assert_eq!(Period::parse("2023JJ00").unwrap(), Period::year(2023));
        assert_eq!(Period::parse("2023").unwrap(), Period::year(2023));
        assert_eq!(
            Period::parse(" 2023kw01 ").unwrap().part,
            PeriodPart::Quarter(1)
        );
        assert_eq!(Period::parse("2023MM03").unwrap().label(), "maart 2023");
        assert_eq!(
            Period::parse_marked("2024JJ00*").unwrap(),
            (Period::year(2024), true)
        );
        for bad in [
            "", "23", "2023KW05", "2023MM13", "2023JJ01", "2023XX01", "abcdJJ00", "2023*x",
        ] {
            assert!(Period::parse_marked(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn previous_crosses_year_boundaries() {
        assert_eq!(
            Period::parse("2023KW01").unwrap().previous().to_string(),
            "2022KW04"
        );
        assert_eq!(
            Period::parse("2023MM01").unwrap().previous().to_string(),
            "2022MM12"
        );
        assert_eq!(Period::year(2023).previous(), Period::year(2022));
    }

    fn any_period() -> impl Strategy<Value = Period> {
        (1990i16..2100, 0u8..17).prop_map(|(year, k)| Period {
            year,
            part: match k {
                0 => PeriodPart::Year,
                1..=4 => PeriodPart::Quarter(k),
                _ => PeriodPart::Month(k - 4),
            },
        })
    }

    proptest! {
        #[test]
        fn codes_round_trip_and_previous_is_earlier(p in any_period()) {
            prop_assert_eq!(Period::parse(&p.to_string()).unwrap(), p);
            prop_assert!(p.previous() < p);
            prop_assert_eq!(p.years_back(1).part, p.part);
        }
    }
}
