//! Business days (開庁日) of an office: which dates it is open, and why not when closed.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::{holiday_on, weekday_ja, FiscalYear, Holiday, HolidayKind, OpeningHours};

/// Why an office is closed on a date; labels are ready for screens and printouts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ClosedReason {
    /// Saturday or Sunday (土日) with no opening hours that day.
    Weekend(Weekday),
    /// National holiday, 振替休日 or 国民の休日.
    Holiday(Holiday),
    /// 年末年始 (December 29 - January 3), when municipal offices close by ordinance.
    YearEnd,
    /// One-off closure (臨時休業) with the reason staff gave.
    Extra(String),
    /// A weekday on which the venue never opens (休館日), e.g. every Wednesday.
    NotOpen(Weekday),
}

impl ClosedReason {
    /// "土曜日", "祝日: 文化の日", "振替休日", "年末年始休業", "臨時休業: 研修", "休館日(水曜日)".
    pub fn label_ja(&self) -> String {
        match self {
            Self::Weekend(day) => weekday_ja(*day).to_string(),
            Self::Holiday(h) if h.kind == HolidayKind::National => format!("祝日: {}", h.name_ja),
            Self::Holiday(h) => h.name_ja.to_string(),
            Self::YearEnd => "年末年始休業".to_string(),
            Self::Extra(reason) => format!("臨時休業: {reason}"),
            Self::NotOpen(day) => format!("休館日({})", weekday_ja(*day)),
        }
    }

    /// "Saturday", "Holiday: Culture Day", "Substitute Holiday", "Year-end closure",
    /// "Closed: training", "Closed on Wednesdays".
    pub fn label_en(&self) -> String {
        match self {
            Self::Weekend(day) => weekday_en(*day).to_string(),
            Self::Holiday(h) if h.kind == HolidayKind::National => {
                format!("Holiday: {}", h.name_en)
            }
            Self::Holiday(h) => h.name_en.to_string(),
            Self::YearEnd => "Year-end closure".to_string(),
            Self::Extra(reason) => format!("Closed: {reason}"),
            Self::NotOpen(day) => format!("Closed on {}s", weekday_en(*day)),
        }
    }
}

/// Year-end closure (年末年始): December 29 to January 3, as in most municipal
/// ordinances (地方自治法 4条の2 and the 休日条例 based on it).
pub fn is_year_end_closure(date: NaiveDate) -> bool {
    matches!((date.month(), date.day()), (12, 29..=31) | (1, 1..=3))
}

/// An office's calendar: weekly hours plus one-off closures, on top of the national
/// holidays and the year-end closure that apply to every office.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessCalendar {
    pub hours: OpeningHours,
    /// Dates the office is closed in addition to the rules, with a reason to show.
    pub extra_closures: BTreeMap<NaiveDate, String>,
}

impl BusinessCalendar {
    /// Why the office is closed on `date`, or `None` if it is open.
    ///
    /// When several reasons apply the first wins, in this order: year-end closure,
    /// holiday, weekend, regular closing day, extra closure. So 1月1日 reports
    /// [`ClosedReason::YearEnd`] rather than 元日: the office would be closed even if
    /// it were not a holiday, and the label matches the notice offices post.
    pub fn closed_reason(&self, date: NaiveDate) -> Option<ClosedReason> {
        let weekday = date.weekday();
        let open_that_weekday = self.hours.is_open_on(weekday);
        if is_year_end_closure(date) {
            Some(ClosedReason::YearEnd)
        } else if let Some(holiday) = holiday_on(date) {
            Some(ClosedReason::Holiday(holiday))
        } else if !open_that_weekday && matches!(weekday, Weekday::Sat | Weekday::Sun) {
            Some(ClosedReason::Weekend(weekday))
        } else if !open_that_weekday {
            Some(ClosedReason::NotOpen(weekday))
        } else {
            self.extra_closures
                .get(&date)
                .map(|reason| ClosedReason::Extra(reason.clone()))
        }
    }

    pub fn is_open(&self, date: NaiveDate) -> bool {
        self.closed_reason(date).is_none()
    }

    /// Open dates from `from` to `to_inclusive`, in order; empty if `from` is later.
    pub fn open_days(
        &self,
        from: NaiveDate,
        to_inclusive: NaiveDate,
    ) -> impl Iterator<Item = NaiveDate> + '_ {
        from.iter_days()
            .take_while(move |day| *day <= to_inclusive)
            .filter(move |day| self.is_open(*day))
    }

    /// Every Monday-Friday of `fiscal_year` closed for a calendar reason (holiday,
    /// year-end, extra closure), sorted by date. Weekdays the venue never opens are
    /// left out: they are part of its regular hours, not news for the annual plan.
    pub fn closed_weekdays(&self, fiscal_year: FiscalYear) -> Vec<(NaiveDate, ClosedReason)> {
        fiscal_year
            .start()
            .iter_days()
            .take_while(|day| *day <= fiscal_year.end())
            .filter(|day| !matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
            .filter_map(|day| Some((day, self.closed_reason(day)?)))
            .filter(|(_, reason)| {
                !matches!(reason, ClosedReason::NotOpen(_) | ClosedReason::Weekend(_))
            })
            .collect()
    }
}

fn weekday_en(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn year_end_closure_bounds() {
        assert!(!is_year_end_closure(ymd(2026, 12, 28)));
        assert!(is_year_end_closure(ymd(2026, 12, 29)));
        assert!(is_year_end_closure(ymd(2026, 12, 31)));
        assert!(is_year_end_closure(ymd(2027, 1, 3)));
        assert!(!is_year_end_closure(ymd(2027, 1, 4)));
    }

    #[test]
    fn default_calendar_reasons_and_labels() {
        let cal = BusinessCalendar::default();
        assert!(cal.is_open(ymd(2026, 11, 24)));

        let sat = cal.closed_reason(ymd(2026, 11, 21)).unwrap();
        assert_eq!(sat, ClosedReason::Weekend(Weekday::Sat));
        assert_eq!(
            (sat.label_ja(), sat.label_en()),
            ("土曜日".into(), "Saturday".into())
        );

        let culture = cal.closed_reason(ymd(2026, 11, 3)).unwrap();
        assert_eq!(culture.label_ja(), "祝日: 文化の日");
        assert_eq!(culture.label_en(), "Holiday: Culture Day");

        let substitute = cal.closed_reason(ymd(2026, 5, 6)).unwrap();
        assert_eq!(substitute.label_ja(), "振替休日");
        assert_eq!(substitute.label_en(), "Substitute Holiday");

        let citizens = cal.closed_reason(ymd(2026, 9, 22)).unwrap();
        assert_eq!(citizens.label_ja(), "国民の休日");

        // A holiday on a Sunday is reported as the holiday, not the weekend.
        let sunday_holiday = cal.closed_reason(ymd(2026, 5, 3)).unwrap();
        assert_eq!(sunday_holiday.label_ja(), "祝日: 憲法記念日");

        // Year-end wins over 元日.
        let new_year = cal.closed_reason(ymd(2027, 1, 1)).unwrap();
        assert_eq!(new_year, ClosedReason::YearEnd);
        assert_eq!(new_year.label_ja(), "年末年始休業");
        assert_eq!(new_year.label_en(), "Year-end closure");
    }

    #[test]
    fn custom_hours_and_extra_closures() {
        let mut cal = BusinessCalendar {
            hours: "mon,tue,thu,fri 09:00-17:00; sat 09:00-12:00"
                .parse()
                .unwrap(),
            extra_closures: BTreeMap::new(),
        };
        cal.extra_closures
            .insert(ymd(2026, 6, 5), "職員研修".into());
        cal.extra_closures
            .insert(ymd(2026, 6, 10), "設備点検".into());

        // Saturday with hours is open; Sunday is still a weekend.
        assert!(cal.is_open(ymd(2026, 6, 6)));
        assert_eq!(
            cal.closed_reason(ymd(2026, 6, 7)),
            Some(ClosedReason::Weekend(Weekday::Sun))
        );

        let wed = cal.closed_reason(ymd(2026, 6, 3)).unwrap();
        assert_eq!(wed, ClosedReason::NotOpen(Weekday::Wed));
        assert_eq!(wed.label_ja(), "休館日(水曜日)");
        assert_eq!(wed.label_en(), "Closed on Wednesdays");

        let extra = cal.closed_reason(ymd(2026, 6, 5)).unwrap();
        assert_eq!(extra.label_ja(), "臨時休業: 職員研修");
        assert_eq!(extra.label_en(), "Closed: 職員研修");
        // Regular closing day takes priority over an extra closure on the same date.
        assert_eq!(
            cal.closed_reason(ymd(2026, 6, 10)),
            Some(ClosedReason::NotOpen(Weekday::Wed))
        );

        // Holidays close a Saturday that would otherwise be open.
        let open_saturday_holiday = BusinessCalendar {
            hours: "mon-sat 09:00-17:00".parse().unwrap(),
            extra_closures: BTreeMap::new(),
        };
        assert!(open_saturday_holiday.is_open(ymd(2023, 9, 16)));
        let h = open_saturday_holiday
            .closed_reason(ymd(2023, 9, 23))
            .unwrap();
        assert_eq!(h.label_ja(), "祝日: 秋分の日");
    }

    #[test]
    fn open_days_in_golden_week() {
        let cal = BusinessCalendar::default();
        let days: Vec<_> = cal.open_days(ymd(2026, 4, 27), ymd(2026, 5, 8)).collect();
        assert_eq!(
            days,
            [
                ymd(2026, 4, 27),
                ymd(2026, 4, 28),
                ymd(2026, 4, 30),
                ymd(2026, 5, 1),
                ymd(2026, 5, 7),
                ymd(2026, 5, 8),
            ]
        );
        assert_eq!(cal.open_days(ymd(2026, 5, 8), ymd(2026, 5, 7)).count(), 0);
    }

    #[test]
    fn closed_weekdays_of_fy2026() {
        let mut cal = BusinessCalendar::default();
        cal.extra_closures
            .insert(ymd(2026, 8, 14), "夏季一斉休業".into());
        cal.extra_closures
            .insert(ymd(2026, 8, 15), "土曜日なので出ない".into());
        let fy = FiscalYear::new(2026).unwrap();
        let closed = cal.closed_weekdays(fy);
        let dates: Vec<NaiveDate> = closed.iter().map(|(d, _)| *d).collect();
        assert_eq!(
            dates,
            [
                ymd(2026, 4, 29),
                ymd(2026, 5, 4),
                ymd(2026, 5, 5),
                ymd(2026, 5, 6),
                ymd(2026, 7, 20),
                ymd(2026, 8, 11),
                ymd(2026, 8, 14),
                ymd(2026, 9, 21),
                ymd(2026, 9, 22),
                ymd(2026, 9, 23),
                ymd(2026, 10, 12),
                ymd(2026, 11, 3),
                ymd(2026, 11, 23),
                ymd(2026, 12, 29),
                ymd(2026, 12, 30),
                ymd(2026, 12, 31),
                ymd(2027, 1, 1),
                ymd(2027, 1, 11),
                ymd(2027, 2, 11),
                ymd(2027, 2, 23),
                ymd(2027, 3, 22),
            ]
        );
        let reason_of = |d| {
            closed
                .iter()
                .find(|(day, _)| *day == d)
                .map(|(_, r)| r.clone())
        };
        assert_eq!(reason_of(ymd(2027, 1, 1)), Some(ClosedReason::YearEnd));
        assert_eq!(reason_of(ymd(2026, 12, 29)), Some(ClosedReason::YearEnd));
        assert_eq!(
            reason_of(ymd(2026, 8, 14)),
            Some(ClosedReason::Extra("夏季一斉休業".into()))
        );
        assert_eq!(reason_of(ymd(2027, 3, 22)).unwrap().label_ja(), "振替休日");
    }

    #[test]
    fn closed_weekdays_skip_regular_closing_days() {
        let cal = BusinessCalendar {
            hours: "mon,tue,thu,fri 08:30-17:30".parse().unwrap(),
            extra_closures: BTreeMap::new(),
        };
        let closed = cal.closed_weekdays(FiscalYear::new(2026).unwrap());
        assert!(closed
            .iter()
            .all(|(_, r)| !matches!(r, ClosedReason::NotOpen(_))));
        // A holiday on the venue's closing day is still listed, as the holiday.
        assert!(closed.iter().any(|(d, _)| *d == ymd(2026, 9, 23)));
    }
}
