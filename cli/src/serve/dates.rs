//! Moments and dates as the pages show them: in Dutch and on Dutch clocks (Europe/Amsterdam),
//! e.g. "26 januari 2027, 12.26 uur" and "26 januari 2027". The calendar work is jiff's.

use kompas_engine::Timestamp;
use kompas_engine::time::{dutch_date, dutch_date_text};

/// The time zone the pages speak in.
const ZONE: &str = "Europe/Amsterdam";

/// A moment as "26 januari 2027, 12.26 uur".
pub fn moment(at: Timestamp) -> String {
    let Some(ts) = at.to_jiff() else {
        return at.to_string();
    };
    let zone = jiff::tz::TimeZone::get(ZONE).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = ts.to_zoned_datetime(zone);
    format!(
        "{}, {}.{:02} uur",
        dutch_date(local.date()),
        local.hour(),
        local.minute()
    )
}

/// A stored date (`YYYY-MM-DD`) as "26 januari 2027"; anything else as it is.
pub fn day(text: &str) -> String {
    dutch_date_text(text).unwrap_or_else(|| text.to_string())
}

/// Today's date on Dutch clocks, for comparing with deadlines.
pub fn today(now: Timestamp) -> Option<jiff::civil::Date> {
    now.local_date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_and_dates_read_as_dutch() {
        // 2027-01-26 11:26 UTC is 12:26 in Amsterdam (winter time).
        let at = jiff::Timestamp::from_second(1_800_962_760).unwrap();
        assert_eq!(
            moment(Timestamp(at.as_millisecond())),
            "26 januari 2027, 12.26 uur"
        );
        // Summer time: 2026-07-01 07:05 UTC is 9.05 uur.
        let at = jiff::Timestamp::from_second(1_782_889_500).unwrap();
        assert_eq!(
            moment(Timestamp(at.as_millisecond())),
            "1 juli 2026, 9.05 uur"
        );
        assert_eq!(day("2027-03-05"), "5 maart 2027");
        assert_eq!(day("binnenkort"), "binnenkort");
    }
}
