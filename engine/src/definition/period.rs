//! Periods: written as ISO-8601 durations (P14D, P6W, P6M, P1Y), short (14d, 12h, 6w) or in
//! Dutch words (14 dagen, 6 maanden), at most ten years, and added in a time zone.
//!
//! The one duration syntax of kompas: workflow files and the command line both read it here.

use std::fmt;

use jiff::{Span, Timestamp as JiffTimestamp, tz::TimeZone};

use crate::time::Timestamp;

/// The longest period accepted, in years.
pub const MAX_YEARS: i16 = 10;

/// A positive calendar period such as `P6M`, kept with the text it was written as.
#[derive(Debug, Clone)]
pub struct Period {
    text: String,
    span: Span,
}

/// Why a text is not a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Not written in any of the accepted forms, or not longer than zero.
    #[error("{0:?} is geen geldige duur; schrijf bijvoorbeeld P7D, 7d of \"7 dagen\"")]
    Unreadable(String),
    /// Longer than the limit.
    #[error("{0:?} is langer dan de grens van {MAX_YEARS} jaar")]
    TooLong(String),
}

/// Makes a span of so many of one unit.
type MakeSpan = fn(i64) -> Result<Span, jiff::Error>;

/// The units of the short and the written forms, each with the words that name it.
const UNITS: &[(&[&str], MakeSpan)] = &[
    (&["m", "min", "minuut", "minuten"], |n| {
        Span::new().try_minutes(n)
    }),
    (&["h", "u", "uur", "uren"], |n| Span::new().try_hours(n)),
    (&["d", "dag", "dagen"], |n| Span::new().try_days(n)),
    (&["w", "week", "weken"], |n| Span::new().try_weeks(n)),
    (&["mnd", "maand", "maanden"], |n| Span::new().try_months(n)),
    (&["j", "jaar", "jaren"], |n| Span::new().try_years(n)),
];

impl Period {
    /// Parses a period: an ISO-8601 duration (`P7D`), a number with a short unit (`7d`, `12h`,
    /// `30m`, `2w`) or with a Dutch word (`7 dagen`, `1 week`, `6 maanden`). It must be longer
    /// than zero and at most ten years.
    pub fn parse(text: &str) -> Result<Period, PeriodError> {
        let trimmed = text.trim();
        let unreadable = || PeriodError::Unreadable(trimmed.to_string());
        let span: Span = if trimmed.starts_with(['P', 'p']) {
            trimmed.parse().map_err(|_| unreadable())?
        } else {
            let digits = trimmed.len()
                - trimmed
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            let (number, unit) = trimmed.split_at(digits);
            let n: i64 = number.parse().map_err(|_| unreadable())?;
            let unit = unit.trim().to_lowercase();
            let (_, make) = UNITS
                .iter()
                .find(|(names, _)| names.contains(&unit.as_str()))
                .ok_or_else(unreadable)?;
            make(n).map_err(|_| PeriodError::TooLong(trimmed.to_string()))?
        };
        if span.signum() <= 0 {
            return Err(unreadable());
        }
        let start = jiff::civil::date(2000, 1, 1).at(0, 0, 0, 0);
        let limit = start.checked_add(Span::new().years(MAX_YEARS));
        match (start.checked_add(span), limit) {
            (Ok(end), Ok(limit)) if end <= limit => {}
            _ => return Err(PeriodError::TooLong(trimmed.to_string())),
        }
        Ok(Period {
            text: trimmed.to_string(),
            span,
        })
    }

    /// The period as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `at` plus this period, counted on the calendar of `tz` (so P1M keeps the day of month).
    pub fn after(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        self.shift(at, tz, false)
    }

    /// `at` minus this period, counted on the calendar of `tz`.
    pub fn before(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        self.shift(at, tz, true)
    }

    /// `at` plus `times` of this period, each counted from `at` (so P1M three times from
    /// 31 January is 30 April, not 28 April).
    pub fn after_times(&self, at: Timestamp, tz: &TimeZone, times: i64) -> Option<Timestamp> {
        let span = self.span.checked_mul(times).ok()?;
        Self::add(at, tz, span)
    }

    fn shift(&self, at: Timestamp, tz: &TimeZone, back: bool) -> Option<Timestamp> {
        let span = if back { self.span.negate() } else { self.span };
        Self::add(at, tz, span)
    }

    fn add(at: Timestamp, tz: &TimeZone, span: Span) -> Option<Timestamp> {
        let zoned = JiffTimestamp::from_millisecond(at.millis())
            .ok()?
            .to_zoned_datetime(tz.clone());
        let moved = zoned.checked_add(span).ok()?;
        Some(Timestamp(moved.timestamp().as_millisecond()))
    }
}

impl PartialEq for Period {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz() -> TimeZone {
        TimeZone::get("Europe/Amsterdam").unwrap()
    }

    #[test]
    fn parses_iso_durations_and_refuses_others() {
        for ok in ["P14D", "P6M", "P1Y", "P6W", "PT12H", "P1Y2M3D", "P10Y"] {
            assert_eq!(Period::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "P",
            "P0D",
            "-P1D",
            "twee weken",
            "P1X",
            "",
            "7",
            "7x",
            "0d",
            "-1d",
            "d",
        ] {
            assert_eq!(
                Period::parse(bad).unwrap_err(),
                PeriodError::Unreadable(bad.to_string()),
                "{bad:?}"
            );
        }
        for long in ["P11Y", "P3700D", "3700d", "99999999d", "121 maanden"] {
            assert_eq!(
                Period::parse(long).unwrap_err(),
                PeriodError::TooLong(long.to_string()),
                "{long:?}"
            );
        }
    }

    #[test]
    fn short_and_written_forms_mean_the_same_as_iso() {
        let at = Timestamp(1_780_000_000_000);
        for (iso, others) in [
            ("P7D", &["7d", "7 dagen", "1 week", "1w", " 7 Dagen "][..]),
            ("PT12H", &["12h", "12u", "12 uur"][..]),
            ("PT30M", &["30m", "30 minuten"][..]),
            ("P6M", &["6 maanden", "6mnd"][..]),
            ("P10Y", &["10 jaar", "10j", "120 maanden"][..]),
        ] {
            let expected = Period::parse(iso).unwrap().after(at, &tz());
            for other in others {
                assert_eq!(
                    Period::parse(other).unwrap().after(at, &tz()),
                    expected,
                    "{other:?}"
                );
            }
        }
    }

    #[test]
    fn months_are_calendar_months_in_the_time_zone() {
        let start: jiff::Timestamp = "2026-01-31T09:00:00+01:00".parse().unwrap();
        let at = Timestamp(start.as_millisecond());
        let p = Period::parse("P1M").unwrap();
        let end = p.after(at, &tz()).unwrap();
        let end = jiff::Timestamp::from_millisecond(end.millis())
            .unwrap()
            .to_zoned_datetime(tz());
        assert_eq!(
            end.strftime("%Y-%m-%d %H:%M").to_string(),
            "2026-02-28 09:00"
        );
        let back = p.before(p.after(at, &tz()).unwrap(), &tz()).unwrap();
        assert!(back.millis() <= at.millis());
    }
}
