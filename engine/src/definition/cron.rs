//! Cron expressions (parsed by croner) evaluated in a time zone with jiff.

use std::cmp::Ordering;
use std::fmt;

use croner::{CivilDate, CivilDateTime, CivilTime, Cron, CronDateTime, Resolution, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, ZonedDateTime as Zoned, civil::DateTime};

use crate::time::Timestamp;

/// A parsed cron expression, kept with the text it was written as.
#[derive(Debug, Clone)]
pub struct CronRule {
    text: String,
    cron: Cron,
}

impl PartialEq for CronRule {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// Why a text is not a cron expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is geen geldige cron-uitdrukking ({reason})")]
pub struct CronRuleError {
    /// What was written.
    pub text: String,
    /// What croner said.
    pub reason: String,
}

impl CronRule {
    /// Parses a five- or six-part cron expression.
    pub fn parse(text: &str) -> Result<CronRule, CronRuleError> {
        let cron: Cron = text
            .parse()
            .map_err(|e: croner::errors::CronError| CronRuleError {
                text: text.to_string(),
                reason: e.to_string(),
            })?;
        Ok(CronRule {
            text: text.trim().to_string(),
            cron,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first moment strictly after `at` that matches, on the clock of `tz`.
    pub fn next_after(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        self.find(at, tz, true)
    }

    /// The last moment at or before `at` that matches, on the clock of `tz`.
    pub fn previous_at_or_before(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        self.find(at, tz, false)
    }

    fn find(&self, at: Timestamp, tz: &TimeZone, forward: bool) -> Option<Timestamp> {
        let start = ZonedTime(
            jiff::Timestamp::from_millisecond(at.millis())
                .ok()?
                .to_zoned_datetime(tz.clone()),
        );
        let found = if forward {
            self.cron.find_next_occurrence(&start, false)
        } else {
            self.cron.find_previous_occurrence(&start, true)
        };
        found
            .ok()
            .map(|z| Timestamp(z.0.timestamp().as_millisecond()))
    }
}

impl fmt::Display for CronRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for CronRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// A jiff zoned time that croner can search over.
#[derive(Clone)]
struct ZonedTime(Zoned);

fn to_civil(dt: DateTime) -> CivilDateTime {
    CivilDateTime::new(
        CivilDate::from_parts_unchecked(
            i32::from(dt.year()),
            u32::try_from(dt.month()).unwrap_or(1),
            u32::try_from(dt.day()).unwrap_or(1),
        ),
        CivilTime::from_parts_unchecked(
            u32::try_from(dt.hour()).unwrap_or(0),
            u32::try_from(dt.minute()).unwrap_or(0),
            u32::try_from(dt.second()).unwrap_or(0),
        ),
    )
}

fn to_jiff(civil: CivilDateTime) -> Result<DateTime, croner::errors::CronError> {
    let invalid = |_| croner::errors::CronError::InvalidDate;
    DateTime::new(
        i16::try_from(civil.year()).map_err(invalid)?,
        i8::try_from(civil.month()).map_err(invalid)?,
        i8::try_from(civil.day()).map_err(invalid)?,
        i8::try_from(civil.hour()).map_err(invalid)?,
        i8::try_from(civil.minute()).map_err(invalid)?,
        i8::try_from(civil.second()).map_err(invalid)?,
        0,
    )
    .map_err(|_| croner::errors::CronError::InvalidDate)
}

impl CronDateTime for ZonedTime {
    fn to_civil(&self) -> CivilDateTime {
        to_civil(self.0.datetime())
    }

    fn civil_weekday(&self) -> Weekday {
        Weekday::from_days_from_sunday(
            u32::try_from(self.0.weekday().to_sunday_zero_offset()).unwrap_or(0),
        )
    }

    fn resolve_civil(
        &self,
        civil: CivilDateTime,
    ) -> Result<Resolution<Self>, croner::errors::CronError> {
        let invalid = |_| croner::errors::CronError::InvalidTime;
        let ambiguous = self
            .0
            .time_zone()
            .to_ambiguous_zoned_datetime(to_jiff(civil)?);
        Ok(match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => {
                Resolution::Single(ZonedTime(ambiguous.unambiguous().map_err(invalid)?))
            }
            AmbiguousOffset::Fold { .. } => Resolution::Ambiguous(
                ZonedTime(ambiguous.clone().earlier().map_err(invalid)?),
                ZonedTime(ambiguous.later().map_err(invalid)?),
            ),
            AmbiguousOffset::Gap { .. } => Resolution::Gap,
        })
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(SignedDuration::from_secs(seconds))
            .ok()
            .map(ZonedTime)
    }

    fn cmp_instant(&self, other: &Self) -> Ordering {
        self.0.timestamp().cmp(&other.0.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_occurrence_is_on_the_dutch_clock() {
        let tz = TimeZone::get("Europe/Amsterdam").unwrap();
        let rule = CronRule::parse("0 9 1 3,9 *").unwrap();
        let at: jiff::Timestamp = "2026-04-10T12:00:00Z".parse().unwrap();
        let next = rule
            .next_after(Timestamp(at.as_millisecond()), &tz)
            .unwrap();
        let next = jiff::Timestamp::from_millisecond(next.millis())
            .unwrap()
            .to_zoned_datetime(tz.clone());
        assert_eq!(
            next.strftime("%Y-%m-%d %H:%M %z").to_string(),
            "2026-09-01 09:00 +0200"
        );
        let prev = rule
            .previous_at_or_before(Timestamp(at.as_millisecond()), &tz)
            .unwrap();
        let prev = jiff::Timestamp::from_millisecond(prev.millis())
            .unwrap()
            .to_zoned_datetime(tz);
        assert_eq!(
            prev.strftime("%Y-%m-%d %H:%M %z").to_string(),
            "2026-03-01 09:00 +0100"
        );
    }

    #[test]
    fn bad_expressions_are_refused() {
        for bad in ["", "elke maand", "61 * * * *", "* * * *"] {
            assert!(CronRule::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_date_that_never_comes_gives_no_moment_instead_of_hanging() {
        let tz = TimeZone::get("Europe/Amsterdam").unwrap();
        let rule = CronRule::parse("0 0 31 2 *").unwrap();
        assert_eq!(rule.next_after(Timestamp(0), &tz), None);
        assert_eq!(
            rule.previous_at_or_before(Timestamp(1_780_000_000_000), &tz),
            None
        );
    }
}
