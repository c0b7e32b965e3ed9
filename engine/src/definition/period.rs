//! Periods written as ISO-8601 durations (P14D, P6W, P6M, P1Y), added in a time zone.

use std::fmt;

use jiff::{Span, Timestamp as JiffTimestamp, tz::TimeZone};

use crate::time::Timestamp;

/// A positive calendar period such as `P6M`, kept with the text it was written as.
#[derive(Debug, Clone)]
pub struct Period {
    text: String,
    span: Span,
}

/// Why a text is not a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is geen geldige duur")]
pub struct PeriodError {
    /// What was written.
    pub text: String,
}

impl Period {
    /// Parses an ISO-8601 duration; it must start with `P` and be longer than zero.
    pub fn parse(text: &str) -> Result<Period, PeriodError> {
        let err = || PeriodError {
            text: text.to_string(),
        };
        let trimmed = text.trim();
        if !trimmed.starts_with(['P', 'p']) {
            return Err(err());
        }
        let span: Span = trimmed.parse().map_err(|_| err())?;
        if span.signum() <= 0 {
            return Err(err());
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
        for ok in ["P14D", "P6M", "P1Y", "P6W", "PT12H", "P1Y2M3D"] {
            assert_eq!(Period::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["14D", "P", "P0D", "-P1D", "twee weken", "P1X", ""] {
            assert!(Period::parse(bad).is_err(), "{bad:?} accepted");
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
