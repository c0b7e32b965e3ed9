//! The calendar as iCalendar (RFC 5545), written with the `icalendar` crate.
//!
//! Whole-day items (deadlines, agreed dates, next meetings) are dates; moments (phase
//! deadlines, planned moments) are local times in Europe/Amsterdam with a `TZID` and the
//! matching `VTIMEZONE` (the European summer-time rules that have held since 1996). Every event
//! keeps the uid the engine gives it, so importing a later export updates the same events.

use std::str::FromStr as _;

use chrono::{NaiveDate, NaiveDateTime};
use icalendar::{
    Calendar, CalendarComponent, CalendarDateTime, Component, DatePerhapsTime, Event, EventLike,
};
use kompas_engine::Timestamp;
use kompas_engine::report::{AgendaItem, When};

/// The time zone of every timed event.
pub const TZID: &str = "Europe/Amsterdam";

/// Europe/Amsterdam as a VTIMEZONE: CET in winter, CEST from the last Sunday of March to the
/// last Sunday of October.
const VTIMEZONE: &str = "BEGIN:VTIMEZONE\r
TZID:Europe/Amsterdam\r
BEGIN:STANDARD\r
DTSTART:19961027T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
TZNAME:CET\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:19810329T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
TZNAME:CEST\r
END:DAYLIGHT\r
END:VTIMEZONE\r
";

/// The calendar of `items`, made at `now` (the stamp of every event).
pub fn calendar(name: &str, items: &[AgendaItem], now: Timestamp) -> anyhow::Result<String> {
    let mut cal = Calendar::new();
    cal.name(name).timezone(TZID);
    cal.push(
        CalendarComponent::from_str(VTIMEZONE)
            .map_err(|e| anyhow::anyhow!("de tijdzone kan niet in de agenda: {e}"))?,
    );
    let stamp = chrono::DateTime::from_timestamp_millis(now.millis()).unwrap_or_default();
    for item in items {
        let mut event = Event::new();
        event
            .uid(&item.uid)
            .summary(&item.title)
            .description(&item.description)
            .timestamp(stamp);
        match &item.when {
            When::Day(d) => {
                let date = NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|e| anyhow::anyhow!("datum {d} in de agenda: {e}"))?;
                event.all_day(date);
            }
            When::At(t) => {
                let start = local(*t)?;
                let end = local(Timestamp(t.millis() + 60 * 60 * 1000))?;
                event.starts(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone {
                    date_time: start,
                    tzid: TZID.into(),
                }));
                event.ends(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone {
                    date_time: end,
                    tzid: TZID.into(),
                }));
            }
        }
        cal.push(event.done());
    }
    Ok(cal.done().to_string())
}

/// The wall-clock time in Amsterdam of a moment.
fn local(t: Timestamp) -> anyhow::Result<NaiveDateTime> {
    let ts = t
        .to_jiff()
        .ok_or_else(|| anyhow::anyhow!("tijdstip {t:?} valt buiten het bereik van de agenda"))?;
    let zoned = ts.to_zoned_datetime(jiff::tz::TimeZone::get(TZID)?);
    let text = zoned.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    Ok(NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S")?)
}
