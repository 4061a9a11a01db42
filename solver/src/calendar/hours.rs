//! Weekly opening hours (開館時間) of an office or venue, stored and edited as a short
//! text such as "mon-fri 08:30-17:30; sat 09:00-12:00" so staff can type it in one field.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveTime, Weekday};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::fiscal::normalize;
use super::{CalendarError, HoursProblem};

/// Opening and closing time of one day; closing is exclusive in spirit (a 17:30 close
/// means a slot may end at 17:30).
pub type DayHours = (NaiveTime, NaiveTime);

/// Per weekday, the hours the venue is open, or `None` when it is closed that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpeningHours {
    days: [Option<DayHours>; 7],
}

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

impl OpeningHours {
    /// Never open; build on it with [`OpeningHours::set`].
    pub const fn closed() -> Self {
        Self { days: [None; 7] }
    }

    /// Sets or clears (`None`) one weekday.
    ///
    /// # Errors
    /// [`CalendarError::InvalidOpeningHours`] when opening is not before closing.
    pub fn set(&mut self, weekday: Weekday, hours: Option<DayHours>) -> Result<(), CalendarError> {
        if let Some((open, close)) = hours {
            if open >= close {
                return Err(CalendarError::InvalidOpeningHours {
                    input: format!("{} {}", day_code(weekday), format_range((open, close))),
                    problem: HoursProblem::OpensAfterClosing(hhmm(open), hhmm(close)),
                });
            }
        }
        self.days[index(weekday)] = hours;
        Ok(())
    }

    pub fn hours_on(&self, weekday: Weekday) -> Option<DayHours> {
        self.days[index(weekday)]
    }

    pub fn is_open_on(&self, weekday: Weekday) -> bool {
        self.hours_on(weekday).is_some()
    }

    /// Whether `start..end` on `weekday` lies within opening hours.
    pub fn contains(&self, weekday: Weekday, start: NaiveTime, end: NaiveTime) -> bool {
        matches!(self.hours_on(weekday), Some((open, close)) if open <= start && start <= end && end <= close)
    }
}

/// Typical municipal office hours: weekdays 08:30-17:30.
impl Default for OpeningHours {
    fn default() -> Self {
        let office = Some((time(8, 30), time(17, 30)));
        let mut days = [None; 7];
        days[..5].fill(office);
        Self { days }
    }
}

/// Compact form: days with the same hours grouped, runs of three or more days as
/// ranges ("mon-fri"), shorter ones as lists ("sat,sun"); "closed" if never open.
impl fmt::Display for OpeningHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Groups of weekday indices sharing the same hours, in order of first day.
        let mut groups: Vec<(DayHours, Vec<usize>)> = Vec::new();
        for (i, hours) in self.days.iter().enumerate() {
            let Some(hours) = *hours else { continue };
            match groups.iter_mut().find(|(h, _)| *h == hours) {
                Some((_, days)) => days.push(i),
                None => groups.push((hours, vec![i])),
            }
        }
        if groups.is_empty() {
            return f.write_str("closed");
        }
        for (n, (hours, days)) in groups.iter().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", format_days(days), format_range(*hours))?;
        }
        Ok(())
    }
}

/// Parses the compact form: `;`-separated segments of days and a time range. Days are
/// mon tue wed thu fri sat sun (or full names, or 月火水木金土日), as comma lists and
/// forward ranges; "closed" means never open.
impl FromStr for OpeningHours {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |problem| CalendarError::InvalidOpeningHours {
            input: s.to_string(),
            problem,
        };
        let text = normalize(s);
        if text.eq_ignore_ascii_case("closed") {
            return Ok(Self::closed());
        }
        let mut result = Self::closed();
        let segments: Vec<&str> = text
            .split(';')
            .map(str::trim)
            .filter(|seg| !seg.is_empty())
            .collect();
        if segments.is_empty() {
            return Err(fail(HoursProblem::Empty));
        }
        for segment in segments {
            let at = segment
                .find(|c: char| c.is_ascii_digit())
                .ok_or_else(|| fail(HoursProblem::MissingTimes(segment.to_string())))?;
            let (day_part, time_part) = segment.split_at(at);
            if day_part.trim().is_empty() {
                return Err(fail(HoursProblem::MissingDays(segment.to_string())));
            }
            let hours = parse_time_range(time_part).map_err(fail)?;
            for weekday in parse_days(day_part).map_err(fail)? {
                if result.is_open_on(weekday) {
                    return Err(fail(HoursProblem::DuplicateDay(weekday)));
                }
                result.days[index(weekday)] = Some(hours);
            }
        }
        Ok(result)
    }
}

impl Serialize for OpeningHours {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OpeningHours {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

fn parse_days(text: &str) -> Result<Vec<Weekday>, HoursProblem> {
    let mut days = Vec::new();
    for item in text.split([',', '、']).map(str::trim) {
        match item.split_once(['-', '~', '〜']) {
            Some((from, to)) => {
                let (from, to) = (parse_day(from)?, parse_day(to)?);
                if index(from) > index(to) {
                    return Err(HoursProblem::BackwardDayRange(item.to_string()));
                }
                days.extend(&WEEK[index(from)..=index(to)]);
            }
            None => days.push(parse_day(item)?),
        }
    }
    Ok(days)
}

fn parse_day(text: &str) -> Result<Weekday, HoursProblem> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let ja = text.trim_end_matches("曜日").trim_end_matches('曜');
    let day = match (lower.as_str(), ja) {
        ("mon" | "monday", _) | (_, "月") => Weekday::Mon,
        ("tue" | "tues" | "tuesday", _) | (_, "火") => Weekday::Tue,
        ("wed" | "wednesday", _) | (_, "水") => Weekday::Wed,
        ("thu" | "thur" | "thurs" | "thursday", _) | (_, "木") => Weekday::Thu,
        ("fri" | "friday", _) | (_, "金") => Weekday::Fri,
        ("sat" | "saturday", _) | (_, "土") => Weekday::Sat,
        ("sun" | "sunday", _) | (_, "日") => Weekday::Sun,
        _ => return Err(HoursProblem::UnknownDay(text.to_string())),
    };
    Ok(day)
}

fn parse_time_range(text: &str) -> Result<DayHours, HoursProblem> {
    let compact: String = text.split_whitespace().collect();
    let parts: Vec<&str> = compact.split(['-', '~', '〜']).collect();
    let [open, close] = parts[..] else {
        return Err(HoursProblem::BadTimeRange(text.trim().to_string()));
    };
    let (open, close) = (parse_time(open)?, parse_time(close)?);
    if open >= close {
        return Err(HoursProblem::OpensAfterClosing(hhmm(open), hhmm(close)));
    }
    Ok((open, close))
}

/// "8:30" or "08:30"; chrono alone would also accept odd forms like "8:3".
fn parse_time(text: &str) -> Result<NaiveTime, HoursProblem> {
    let bad = || HoursProblem::BadTime(text.to_string());
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let digits = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(h, 1..=2) || !digits(m, 2..=2) {
        return Err(bad());
    }
    let (h, m) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(bad)
}

fn format_days(days: &[usize]) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &day in days {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == day => *end = day,
            _ => runs.push((day, day)),
        }
    }
    let mut parts = Vec::new();
    for (start, end) in runs {
        if end - start >= 2 {
            parts.push(format!("{}-{}", day_code(WEEK[start]), day_code(WEEK[end])));
        } else {
            parts.extend((start..=end).map(|d| day_code(WEEK[d]).to_string()));
        }
    }
    parts.join(",")
}

fn format_range((open, close): DayHours) -> String {
    format!("{}-{}", hhmm(open), hhmm(close))
}

fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn day_code(weekday: Weekday) -> &'static str {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][index(weekday)]
}

fn index(weekday: Weekday) -> usize {
    weekday.num_days_from_monday() as usize
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> OpeningHours {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn problem(s: &str) -> HoursProblem {
        match s.parse::<OpeningHours>() {
            Err(CalendarError::InvalidOpeningHours { input, problem }) => {
                assert_eq!(input, s);
                problem
            }
            other => panic!("{s}: expected an opening-hours error, got {other:?}"),
        }
    }

    #[test]
    fn default_is_weekday_office_hours() {
        let hours = OpeningHours::default();
        assert_eq!(hours.to_string(), "mon-fri 08:30-17:30");
        assert_eq!(parse("mon-fri 08:30-17:30"), hours);
        assert_eq!(
            hours.hours_on(Weekday::Wed),
            Some((time(8, 30), time(17, 30)))
        );
        assert_eq!(hours.hours_on(Weekday::Sat), None);
    }

    #[test]
    fn parses_segments_lists_and_ranges() {
        let hours = parse("mon-fri 08:30-17:30; sat 09:00-12:00");
        assert_eq!(
            hours.hours_on(Weekday::Sat),
            Some((time(9, 0), time(12, 0)))
        );
        assert_eq!(hours.hours_on(Weekday::Sun), None);
        assert_eq!(hours.to_string(), "mon-fri 08:30-17:30; sat 09:00-12:00");

        let hours = parse("mon,wed,fri 9:00-16:00");
        assert!(hours.is_open_on(Weekday::Wed) && !hours.is_open_on(Weekday::Tue));
        assert_eq!(hours.to_string(), "mon,wed,fri 09:00-16:00");

        let hours = parse(" Mon-Tue, Thu-Fri 08:30 - 17:15 ;");
        assert_eq!(hours.to_string(), "mon,tue,thu,fri 08:30-17:15");

        let hours = parse("月-金 8:30〜17:30");
        assert_eq!(hours, OpeningHours::default());

        let hours = parse("sat 10:00-15:00; sun 10:00-15:00; mon-wed 09:00-17:00");
        assert_eq!(
            hours.to_string(),
            "mon-wed 09:00-17:00; sat,sun 10:00-15:00"
        );
        assert_eq!(parse(&hours.to_string()), hours);

        assert_eq!(parse("closed"), OpeningHours::closed());
        assert_eq!(OpeningHours::closed().to_string(), "closed");
    }

    #[test]
    fn reports_what_is_wrong() {
        assert_eq!(problem(""), HoursProblem::Empty);
        assert_eq!(problem(" ; "), HoursProblem::Empty);
        assert_eq!(
            problem("mon-fri"),
            HoursProblem::MissingTimes("mon-fri".into())
        );
        assert_eq!(
            problem("08:30-17:30"),
            HoursProblem::MissingDays("08:30-17:30".into())
        );
        assert_eq!(
            problem("mon-fry 08:30-17:30"),
            HoursProblem::UnknownDay("fry".into())
        );
        assert_eq!(
            problem("fri-mon 08:30-17:30"),
            HoursProblem::BackwardDayRange("fri-mon".into())
        );
        assert_eq!(
            problem("mon 8.30-17:30"),
            HoursProblem::BadTime("8.30".into())
        );
        assert_eq!(
            problem("mon 24:00-25:00"),
            HoursProblem::BadTime("24:00".into())
        );
        assert_eq!(
            problem("mon 08:30"),
            HoursProblem::BadTimeRange("08:30".into())
        );
        assert_eq!(
            problem("mon 17:30-08:30"),
            HoursProblem::OpensAfterClosing("17:30".into(), "08:30".into())
        );
        assert_eq!(
            problem("mon-fri 08:30-17:30; wed 09:00-12:00"),
            HoursProblem::DuplicateDay(Weekday::Wed)
        );
    }

    #[test]
    fn error_message_is_bilingual_and_actionable() {
        let message = "mon-fry 08:30-17:30"
            .parse::<OpeningHours>()
            .unwrap_err()
            .to_string();
        assert!(message.contains("unknown day \"fry\""), "{message}");
        assert!(
            message.contains("「fry」は曜日として読めません"),
            "{message}"
        );
        assert!(
            message.contains("mon-fri 08:30-17:30; sat 09:00-12:00"),
            "{message}"
        );
    }

    #[test]
    fn contains_checks_the_whole_interval() {
        let hours = OpeningHours::default();
        let mon = Weekday::Mon;
        assert!(hours.contains(mon, time(8, 30), time(17, 30)));
        assert!(hours.contains(mon, time(10, 0), time(11, 0)));
        assert!(!hours.contains(mon, time(8, 0), time(9, 0)));
        assert!(!hours.contains(mon, time(17, 0), time(18, 0)));
        assert!(!hours.contains(mon, time(11, 0), time(10, 0)));
        assert!(!hours.contains(Weekday::Sun, time(10, 0), time(11, 0)));
    }

    #[test]
    fn set_validates() {
        let mut hours = OpeningHours::closed();
        hours
            .set(Weekday::Sat, Some((time(9, 0), time(12, 0))))
            .unwrap();
        assert_eq!(hours.to_string(), "sat 09:00-12:00");
        assert!(hours
            .set(Weekday::Sat, Some((time(12, 0), time(9, 0))))
            .is_err());
        hours.set(Weekday::Sat, None).unwrap();
        assert_eq!(hours, OpeningHours::closed());
    }

    #[test]
    fn serde_as_text() {
        use serde::de::{value, IntoDeserializer};

        let parsed: Result<OpeningHours, value::Error> =
            OpeningHours::deserialize("mon-fri 08:30-17:30".into_deserializer());
        assert_eq!(parsed, Ok(OpeningHours::default()));
        let bad: Result<OpeningHours, value::Error> =
            OpeningHours::deserialize("every day".into_deserializer());
        assert!(bad.is_err());
    }
}
