//! The Japanese calendar every other part of renkei schedules against: Japan time
//! (JST), national holidays (祝日), fiscal years (年度) and quarters, era dates (和暦),
//! and office business days (開庁日).
//!
//! Everything is computed in Japan time: an office's "today" is the JST date, whatever
//! the server's clock says.

mod business;
mod error;
mod fiscal;
mod holidays;
mod hours;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

pub use business::{is_year_end_closure, BusinessCalendar, ClosedReason};
pub use error::{CalendarError, HoursProblem};
pub use fiscal::{wareki, FiscalYear, Quarter};
pub use holidays::{holiday_on, holidays_in_year, Holiday, HolidayKind, SUPPORTED_YEARS};
pub use hours::{DayHours, OpeningHours};

/// Japan Standard Time (日本標準時).
pub const JST: Tz = chrono_tz::Asia::Tokyo;

pub fn to_jst(t: DateTime<Utc>) -> DateTime<Tz> {
    t.with_timezone(&JST)
}

/// The calendar date in Japan at instant `t`.
pub fn jst_date(t: DateTime<Utc>) -> NaiveDate {
    to_jst(t).date_naive()
}

/// The instant of wall-clock `time` on `date` in Japan.
pub fn jst_to_utc(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    // Japan has had no daylight saving time since 1951, so the local time is always
    // unambiguous; fall back to the fixed +09:00 offset for the DST years.
    JST.from_local_datetime(&local).earliest().map_or_else(
        || (local - chrono::TimeDelta::hours(9)).and_utc(),
        |t| t.with_timezone(&Utc),
    )
}

/// "月曜日" .. "日曜日".
pub fn weekday_ja(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "月曜日",
        Weekday::Tue => "火曜日",
        Weekday::Wed => "水曜日",
        Weekday::Thu => "木曜日",
        Weekday::Fri => "金曜日",
        Weekday::Sat => "土曜日",
        Weekday::Sun => "日曜日",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jst_conversions() {
        // 2026-03-31 15:00 UTC is already April 1 in Japan: a new fiscal year.
        let t = Utc.with_ymd_and_hms(2026, 3, 31, 15, 0, 0).unwrap();
        assert_eq!(jst_date(t), NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
        assert_eq!(to_jst(t).to_rfc3339(), "2026-04-01T00:00:00+09:00");
        assert_eq!(FiscalYear::of(jst_date(t)).year(), 2026);

        let date = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
        let time = NaiveTime::from_hms_opt(0, 0, 0).unwrap();
        assert_eq!(jst_to_utc(date, time), t);
        assert_eq!(jst_date(jst_to_utc(date, time)), date);
    }

    #[test]
    fn weekday_names() {
        assert_eq!(weekday_ja(Weekday::Sat), "土曜日");
        assert_eq!(weekday_ja(Weekday::Wed), "水曜日");
    }
}
