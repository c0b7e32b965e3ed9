//! Points in time as the engine sees them: milliseconds since the Unix epoch, always passed in.

use std::fmt;

/// A moment in time, in milliseconds since 1970-01-01T00:00:00Z.
///
/// The engine never reads the clock; callers pass a `Timestamp` into every operation that needs
/// one, which keeps the core deterministic and testable.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// The moment a system time stands for (drivers call this with `SystemTime::now()`; the
    /// engine itself never does). Times before 1970 count as the epoch itself.
    pub fn from_system(time: std::time::SystemTime) -> Timestamp {
        let millis = time
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Timestamp(i64::try_from(millis).unwrap_or(i64::MAX))
    }

    /// The moment as an Automerge change time: whole seconds since the Unix epoch, as the
    /// Automerge libraries and their tools read it.
    pub fn change_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// The moment an Automerge change time stands for. The Automerge libraries write seconds;
    /// kompas wrote milliseconds before it wrote seconds too, so a value too large to be seconds
    /// of a plausible date (after the year 5000) is read as milliseconds.
    pub fn from_change_time(time: i64) -> Timestamp {
        /// 5000-01-01T00:00:00Z in seconds; as milliseconds it is in 1973.
        const SECONDS_UNTIL_5000: i64 = 95_617_584_000;
        if time.abs() > SECONDS_UNTIL_5000 {
            Timestamp(time)
        } else {
            Timestamp(time.saturating_mul(1000))
        }
    }

    /// The calendar year of this moment (in UTC).
    pub fn year(self) -> Option<i16> {
        Some(
            self.to_jiff()?
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .year(),
        )
    }

    /// The same moment as a `jiff` timestamp, when it lies in the range jiff supports.
    pub fn to_jiff(self) -> Option<jiff::Timestamp> {
        jiff::Timestamp::from_millisecond(self.0).ok()
    }
}

/// The Dutch names of the months, January first.
pub const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// A calendar date the Dutch way: `31 december 2026`.
pub fn dutch_date(date: jiff::civil::Date) -> String {
    let month = MONTHS[usize::from(date.month().unsigned_abs()).clamp(1, 12) - 1];
    format!("{} {month} {}", date.day(), date.year())
}

/// A date written `YYYY-MM-DD` the Dutch way; `None` when it is no such date.
pub fn dutch_date_text(date: &str) -> Option<String> {
    date.trim()
        .parse::<jiff::civil::Date>()
        .ok()
        .map(dutch_date)
}

impl Timestamp {
    /// The moment as people in the Netherlands write it, in Dutch time (Europe/Amsterdam):
    /// `8 december 2026 om 12.26 uur`.
    pub fn dutch(self) -> String {
        let zoned = self.to_jiff().and_then(|ts| {
            let tz = jiff::tz::TimeZone::get("Europe/Amsterdam").ok()?;
            Some(ts.to_zoned_datetime(tz))
        });
        match zoned {
            Some(z) => format!(
                "{} {} {} om {}.{:02} uur",
                z.day(),
                MONTHS[usize::try_from(z.month() - 1).unwrap_or(0)],
                z.year(),
                z.hour(),
                z.minute()
            ),
            None => "een tijdstip buiten de kalender".to_string(),
        }
    }

    /// The calendar day of this moment in Dutch local time (Europe/Amsterdam).
    pub fn local_date(self) -> Option<jiff::civil::Date> {
        let tz = jiff::tz::TimeZone::get("Europe/Amsterdam").ok()?;
        Some(self.to_jiff()?.to_zoned_datetime(tz).date())
    }
}

impl fmt::Display for Timestamp {
    /// Formats as local Dutch time (Europe/Amsterdam), e.g. `2026-11-23 17:05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_jiff() {
            Some(ts) => match jiff::tz::TimeZone::get("Europe/Amsterdam") {
                Ok(tz) => write!(f, "{}", ts.to_zoned_datetime(tz).strftime("%Y-%m-%d %H:%M")),
                Err(_) => write!(f, "{}", ts.strftime("%Y-%m-%d %H:%M UTC")),
            },
            None => write!(f, "@{}ms", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_the_dutch_way() {
        assert_eq!(
            dutch_date(jiff::civil::date(2026, 12, 31)),
            "31 december 2026"
        );
        assert_eq!(dutch_date(jiff::civil::date(2027, 3, 1)), "1 maart 2027");
        assert_eq!(
            dutch_date_text("2027-01-26").as_deref(),
            Some("26 januari 2027")
        );
        assert_eq!(dutch_date_text("morgen"), None);
        // Midnight in Amsterdam is still the day before in UTC.
        let t = "2026-12-01T00:30:00+01:00"
            .parse::<jiff::Timestamp>()
            .unwrap();
        assert_eq!(
            Timestamp(t.as_millisecond()).local_date(),
            Some(jiff::civil::date(2026, 12, 1))
        );
    }
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn moments_read_as_dutch_dates_in_dutch_time() {
        // 2026-12-08T11:26:00Z is 12.26 in Amsterdam (winter time).
        assert_eq!(
            Timestamp(1_796_729_160_000).dutch(),
            "8 december 2026 om 12.26 uur"
        );
        assert_eq!(
            Timestamp(i64::MAX).dutch(),
            "een tijdstip buiten de kalender"
        );
    }

    #[test]
    fn system_times_become_milliseconds_and_never_go_before_the_epoch() {
        let t = UNIX_EPOCH + Duration::from_millis(1_780_000_000_123);
        assert_eq!(Timestamp::from_system(t), Timestamp(1_780_000_000_123));
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(Timestamp::from_system(before), Timestamp(0));
    }

    #[test]
    fn change_times_are_written_in_seconds_and_read_in_either_unit() {
        let t = Timestamp(1_780_000_000_123);
        assert_eq!(t.change_seconds(), 1_780_000_000);
        assert_eq!(
            Timestamp::from_change_time(1_780_000_000),
            Timestamp(1_780_000_000_000)
        );
        // What kompas wrote before: milliseconds.
        assert_eq!(Timestamp::from_change_time(1_780_000_000_123), t);
        assert_eq!(Timestamp::from_change_time(0), Timestamp(0));
        assert_eq!(Timestamp(-1).change_seconds(), -1);
    }
}
