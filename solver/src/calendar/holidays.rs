//! Japanese national holidays (国民の祝日) as listed by the Cabinet Office (内閣府).
//!
//! Holidays are computed from the rules of the 国民の祝日に関する法律 as amended over
//! time, plus the one-off laws for 2019 (enthronement) and 2020/2021 (Tokyo Olympics).
//! Computing instead of shipping the CSV keeps us correct for years the Cabinet Office
//! has not published yet; the equinox days use the standard approximation, which the
//! official announcement (官報, February of the previous year) has matched for decades.

use std::ops::RangeInclusive;
use std::sync::OnceLock;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Serialize;

use super::CalendarError;

/// Years for which [`holidays_in_year`] knows the rules.
pub const SUPPORTED_YEARS: RangeInclusive<i32> = 2000..=2050;

/// Why a day is a holiday. The Cabinet Office CSV names both non-national kinds just
/// "休日"; we keep them apart so screens can say which one it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum HolidayKind {
    /// 国民の祝日: a holiday named in the law (including 2019's enthronement days,
    /// which the special law treats as 国民の祝日).
    National,
    /// 振替休日: replaces a national holiday that fell on a Sunday.
    Substitute,
    /// 国民の休日: an ordinary day sandwiched between two national holidays.
    Citizens,
}

/// One holiday. Names are `&'static str` so the type stays `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Holiday {
    pub date: NaiveDate,
    /// Name as the Cabinet Office spells it; "振替休日" / "国民の休日" for the two kinds
    /// the CSV lists as "休日".
    pub name_ja: &'static str,
    pub name_en: &'static str,
    pub kind: HolidayKind,
}

type Name = (&'static str, &'static str);

const NEW_YEARS_DAY: Name = ("元日", "New Year's Day");
const COMING_OF_AGE_DAY: Name = ("成人の日", "Coming of Age Day");
const FOUNDATION_DAY: Name = ("建国記念の日", "National Foundation Day");
const EMPERORS_BIRTHDAY: Name = ("天皇誕生日", "Emperor's Birthday");
const VERNAL_EQUINOX_DAY: Name = ("春分の日", "Vernal Equinox Day");
const SHOWA_DAY: Name = ("昭和の日", "Showa Day");
const CONSTITUTION_DAY: Name = ("憲法記念日", "Constitution Memorial Day");
const GREENERY_DAY: Name = ("みどりの日", "Greenery Day");
const CHILDRENS_DAY: Name = ("こどもの日", "Children's Day");
const MARINE_DAY: Name = ("海の日", "Marine Day");
const MOUNTAIN_DAY: Name = ("山の日", "Mountain Day");
const RESPECT_FOR_THE_AGED_DAY: Name = ("敬老の日", "Respect for the Aged Day");
const AUTUMNAL_EQUINOX_DAY: Name = ("秋分の日", "Autumnal Equinox Day");
const HEALTH_AND_SPORTS_DAY: Name = ("体育の日", "Health and Sports Day");
const SPORTS_DAY: Name = ("スポーツの日", "Sports Day");
const CULTURE_DAY: Name = ("文化の日", "Culture Day");
const LABOR_THANKSGIVING_DAY: Name = ("勤労感謝の日", "Labor Thanksgiving Day");
const ENTHRONEMENT_DAY: Name = ("天皇の即位の日", "Enthronement Day");
const ENTHRONEMENT_CEREMONY_DAY: Name = ("即位礼正殿の儀の行われる日", "Enthronement Ceremony Day");
const SUBSTITUTE_HOLIDAY: Name = ("振替休日", "Substitute Holiday");
const CITIZENS_HOLIDAY: Name = ("国民の休日", "Citizens' Holiday");

/// The 2005 amendment (in force 2007-01-01) changed both the 振替休日 and the
/// 国民の休日 rules.
const AMENDMENT_2007: i32 = 2007;

/// All holidays of `year`, sorted by date.
///
/// # Errors
/// [`CalendarError::UnsupportedYear`] outside [`SUPPORTED_YEARS`].
pub fn holidays_in_year(year: i32) -> Result<Vec<Holiday>, CalendarError> {
    year_table(year)
        .map(<[Holiday]>::to_vec)
        .ok_or(CalendarError::UnsupportedYear(year))
}

/// The holiday on `date`, if any. Always `None` outside [`SUPPORTED_YEARS`], so
/// callers never have to handle an error for "is this day special?".
pub fn holiday_on(date: NaiveDate) -> Option<Holiday> {
    let holidays = year_table(date.year())?;
    holidays
        .binary_search_by_key(&date, |h| h.date)
        .ok()
        .map(|i| holidays[i])
}

/// Holidays are looked up for every day when walking a fiscal year, so each
/// supported year is computed once and kept.
fn year_table(year: i32) -> Option<&'static [Holiday]> {
    static TABLE: OnceLock<Vec<Vec<Holiday>>> = OnceLock::new();
    if !SUPPORTED_YEARS.contains(&year) {
        return None;
    }
    let table = TABLE.get_or_init(|| SUPPORTED_YEARS.map(compute_year).collect());
    let index = usize::try_from(year - SUPPORTED_YEARS.start()).ok()?;
    table.get(index).map(Vec::as_slice)
}

fn compute_year(year: i32) -> Vec<Holiday> {
    let national = national_holidays(year);
    let is_national = |date: NaiveDate| national.iter().any(|h| h.date == date);
    let mut all = national.clone();

    // 振替休日. Before 2007: the Monday after a Sunday holiday, unless that Monday is
    // itself a holiday. From 2007: the first following day that is not a national
    // holiday (e.g. 5/3 on a Sunday gives 5/6).
    for holiday in national.iter().filter(|h| h.date.weekday() == Weekday::Sun) {
        let mut day = next_day(holiday.date);
        if year >= AMENDMENT_2007 {
            while is_national(day) {
                day = next_day(day);
            }
        } else if is_national(day) {
            continue;
        }
        all.push(make(day, SUBSTITUTE_HOLIDAY, HolidayKind::Substitute));
    }

    // 国民の休日: a day that is not a national holiday but whose neighbours both are.
    // Before 2007 the law excluded Sundays and days already taken by a 振替休日; a day
    // that qualifies as both is listed once, as 振替休日.
    for holiday in &national {
        let day = next_day(holiday.date);
        let sandwiched = !is_national(day) && is_national(next_day(day));
        let taken = all.iter().any(|h| h.date == day);
        let sunday_excluded = year < AMENDMENT_2007 && day.weekday() == Weekday::Sun;
        if sandwiched && !taken && !sunday_excluded {
            all.push(make(day, CITIZENS_HOLIDAY, HolidayKind::Citizens));
        }
    }

    all.sort_by_key(|h| h.date);
    all
}

/// 国民の祝日 proper, with the rule that applied in `year`.
fn national_holidays(year: i32) -> Vec<Holiday> {
    let date = |month, day| ymd(year, month, day);
    let monday = |month, n| {
        NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, n)
            .expect("every month has at least four Mondays")
    };

    let mut days: Vec<(NaiveDate, Name)> = vec![
        (date(1, 1), NEW_YEARS_DAY),
        // Happy Monday system (ハッピーマンデー制度) from 2000.
        (monday(1, 2), COMING_OF_AGE_DAY),
        (date(2, 11), FOUNDATION_DAY),
        (date(3, vernal_equinox_day(year)), VERNAL_EQUINOX_DAY),
        (date(5, 3), CONSTITUTION_DAY),
        (date(5, 5), CHILDRENS_DAY),
        (date(9, autumnal_equinox_day(year)), AUTUMNAL_EQUINOX_DAY),
        (date(11, 3), CULTURE_DAY),
        (date(11, 23), LABOR_THANKSGIVING_DAY),
    ];

    // Emperor's birthday follows the reigning emperor: Heisei until 2018, none in
    // 2019 (Reiwa began after Feb 23 and Heisei's emperor abdicated before Dec 23).
    match year {
        ..=2018 => days.push((date(12, 23), EMPERORS_BIRTHDAY)),
        2019 => {}
        _ => days.push((date(2, 23), EMPERORS_BIRTHDAY)),
    }

    // Apr 29 was みどりの日 until 2006; from 2007 it is 昭和の日 and みどりの日 moved
    // to May 4 (previously a 国民の休日 most years).
    if year >= AMENDMENT_2007 {
        days.push((date(4, 29), SHOWA_DAY));
        days.push((date(5, 4), GREENERY_DAY));
    } else {
        days.push((date(4, 29), GREENERY_DAY));
    }

    // Olympic years moved three holidays by special law (東京オリンピック特措法).
    let (marine, sports, mountain) = match year {
        2020 => (date(7, 23), date(7, 24), Some(date(8, 10))),
        2021 => (date(7, 22), date(7, 23), Some(date(8, 8))),
        _ => {
            let marine = if year >= 2003 {
                monday(7, 3)
            } else {
                date(7, 20)
            };
            (marine, monday(10, 2), (year >= 2016).then(|| date(8, 11)))
        }
    };
    days.push((marine, MARINE_DAY));
    let sports_name = if year >= 2020 {
        SPORTS_DAY
    } else {
        HEALTH_AND_SPORTS_DAY
    };
    days.push((sports, sports_name));
    if let Some(mountain) = mountain {
        days.push((mountain, MOUNTAIN_DAY));
    }

    let aged = if year >= 2003 {
        monday(9, 3)
    } else {
        date(9, 15)
    };
    days.push((aged, RESPECT_FOR_THE_AGED_DAY));

    if year == 2019 {
        days.push((date(5, 1), ENTHRONEMENT_DAY));
        days.push((date(10, 22), ENTHRONEMENT_CEREMONY_DAY));
    }

    let mut holidays: Vec<Holiday> = days
        .into_iter()
        .map(|(d, name)| make(d, name, HolidayKind::National))
        .collect();
    holidays.sort_by_key(|h| h.date);
    holidays
}

/// 春分日 by the standard approximation, valid 1980-2099.
fn vernal_equinox_day(year: i32) -> u32 {
    equinox_day(20.8431, year)
}

/// 秋分日 by the standard approximation, valid 1980-2099.
fn autumnal_equinox_day(year: i32) -> u32 {
    equinox_day(23.2488, year)
}

fn equinox_day(base: f64, year: i32) -> u32 {
    let elapsed = year - 1980;
    let day = base + 0.242_194 * f64::from(elapsed) - f64::from(elapsed.div_euclid(4));
    // The result is always 19-24, so the cast cannot truncate.
    day.floor() as u32
}

fn make(date: NaiveDate, (name_ja, name_en): Name, kind: HolidayKind) -> Holiday {
    Holiday {
        date,
        name_ja,
        name_en,
        kind,
    }
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("holiday rules only produce real dates")
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.checked_add_days(Days::new(1))
        .expect("supported years are far from chrono's limits")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(month, day, name_ja)` as the Cabinet Office lists them; 振替休日 / 国民の休日
    /// written with our display names (the CSV says "休日").
    type Official = &'static [(u32, u32, &'static str)];

    const Y2019: Official = &[
        (1, 1, "元日"),
        (1, 14, "成人の日"),
        (2, 11, "建国記念の日"),
        (3, 21, "春分の日"),
        (4, 29, "昭和の日"),
        (4, 30, "国民の休日"),
        (5, 1, "天皇の即位の日"),
        (5, 2, "国民の休日"),
        (5, 3, "憲法記念日"),
        (5, 4, "みどりの日"),
        (5, 5, "こどもの日"),
        (5, 6, "振替休日"),
        (7, 15, "海の日"),
        (8, 11, "山の日"),
        (8, 12, "振替休日"),
        (9, 16, "敬老の日"),
        (9, 23, "秋分の日"),
        (10, 14, "体育の日"),
        (10, 22, "即位礼正殿の儀の行われる日"),
        (11, 3, "文化の日"),
        (11, 4, "振替休日"),
        (11, 23, "勤労感謝の日"),
    ];

    const Y2020: Official = &[
        (1, 1, "元日"),
        (1, 13, "成人の日"),
        (2, 11, "建国記念の日"),
        (2, 23, "天皇誕生日"),
        (2, 24, "振替休日"),
        (3, 20, "春分の日"),
        (4, 29, "昭和の日"),
        (5, 3, "憲法記念日"),
        (5, 4, "みどりの日"),
        (5, 5, "こどもの日"),
        (5, 6, "振替休日"),
        (7, 23, "海の日"),
        (7, 24, "スポーツの日"),
        (8, 10, "山の日"),
        (9, 21, "敬老の日"),
        (9, 22, "秋分の日"),
        (11, 3, "文化の日"),
        (11, 23, "勤労感謝の日"),
    ];

    const Y2021: Official = &[
        (1, 1, "元日"),
        (1, 11, "成人の日"),
        (2, 11, "建国記念の日"),
        (2, 23, "天皇誕生日"),
        (3, 20, "春分の日"),
        (4, 29, "昭和の日"),
        (5, 3, "憲法記念日"),
        (5, 4, "みどりの日"),
        (5, 5, "こどもの日"),
        (7, 22, "海の日"),
        (7, 23, "スポーツの日"),
        (8, 8, "山の日"),
        (8, 9, "振替休日"),
        (9, 20, "敬老の日"),
        (9, 23, "秋分の日"),
        (11, 3, "文化の日"),
        (11, 23, "勤労感謝の日"),
    ];

    const Y2022: Official = &[
        (1, 1, "元日"),
        (1, 10, "成人の日"),
        (2, 11, "建国記念の日"),
        (2, 23, "天皇誕生日"),
        (3, 21, "春分の日"),
        (4, 29, "昭和の日"),
        (5, 3, "憲法記念日"),
        (5, 4, "みどりの日"),
        (5, 5, "こどもの日"),
        (7, 18, "海の日"),
        (8, 11, "山の日"),
        (9, 19, "敬老の日"),
        (9, 23, "秋分の日"),
        (10, 10, "スポーツの日"),
        (11, 3, "文化の日"),
        (11, 23, "勤労感謝の日"),
    ];

    const Y2023: Official = &[
        (1, 1, "元日"),
        (1, 2, "振替休日"),
        (1, 9, "成人の日"),
        (2, 11, "建国記念の日"),
        (2, 23, "天皇誕生日"),
        (3, 21, "春分の日"),
        (4, 29, "昭和の日"),
        (5, 3, "憲法記念日"),
        (5, 4, "みどりの日"),
        (5, 5, "こどもの日"),
        (7, 17, "海の日"),
        (8, 11, "山の日"),
        (9, 18, "敬老の日"),
        (9, 23, "秋分の日"),
        (10, 9, "スポーツの日"),
        (11, 3, "文化の日"),
        (11, 23, "勤労感謝の日"),
    ];

    const Y2024: Official = &[
        (1, 1, "元日"),
        (1, 8, "成人の日"),
        (2, 11, "建国記念の日"),
        (2, 12, "振替休日"),
        (2, 23, "天皇誕生日"),
        (3, 20, "春分の日"),
        (4, 29, "昭和の日"),
        (5, 3, "憲法記念日"),
        (5, 4, "みどりの日"),
        (5, 5, "こどもの日"),
        (5, 6, "振替休日"),
        (7, 15, "海の日"),
        (8, 11, "山の日"),
        (8, 12, "振替休日"),
        (9, 16, "敬老の日"),
        (9, 22, "秋分の日"),
        (9, 23, "振替休日"),
        (10, 14, "スポーツの日"),
        (11, 3, "文化の日"),
        (11, 4, "振替休日"),
        (11, 23, "勤労感謝の日"),
    ];

    const Y2025: Official = &[
        (1, 1, "元日"),
        (1, 13, "成人の日"),
        (2, 11, "建国記念の日"),
        (2, 23, "天皇誕生日"),
        (2, 24, "振替休日"),
        (3, 20, "春分の日"),
        (4, 29, "昭和の日"),
        (5, 3, "憲法記念日"),
        (5, 4, "みどりの日"),
        (5, 5, "こどもの日"),
        (5, 6, "振替休日"),
        (7, 21, "海の日"),
        (8, 11, "山の日"),
        (9, 15, "敬老の日"),
        (9, 23, "秋分の日"),
        (10, 13, "スポーツの日"),
        (11, 3, "文化の日"),
        (11, 23, "勤労感謝の日"),
        (11, 24, "振替休日"),
    ];

    const Y2026: Official = &[
        (1, 1, "元日"),
        (1, 12, "成人の日"),
        (2, 11, "建国記念の日"),
        (2, 23, "天皇誕生日"),
        (3, 20, "春分の日"),
        (4, 29, "昭和の日"),
        (5, 3, "憲法記念日"),
        (5, 4, "みどりの日"),
        (5, 5, "こどもの日"),
        (5, 6, "振替休日"),
        (7, 20, "海の日"),
        (8, 11, "山の日"),
        (9, 21, "敬老の日"),
        (9, 22, "国民の休日"),
        (9, 23, "秋分の日"),
        (10, 12, "スポーツの日"),
        (11, 3, "文化の日"),
        (11, 23, "勤労感謝の日"),
    ];

    const Y2027: Official = &[
        (1, 1, "元日"),
        (1, 11, "成人の日"),
        (2, 11, "建国記念の日"),
        (2, 23, "天皇誕生日"),
        (3, 21, "春分の日"),
        (3, 22, "振替休日"),
        (4, 29, "昭和の日"),
        (5, 3, "憲法記念日"),
        (5, 4, "みどりの日"),
        (5, 5, "こどもの日"),
        (7, 19, "海の日"),
        (8, 11, "山の日"),
        (9, 20, "敬老の日"),
        (9, 23, "秋分の日"),
        (10, 11, "スポーツの日"),
        (11, 3, "文化の日"),
        (11, 23, "勤労感謝の日"),
    ];

    fn listed(year: i32) -> Vec<(u32, u32, &'static str)> {
        holidays_in_year(year)
            .unwrap()
            .iter()
            .map(|h| (h.date.month(), h.date.day(), h.name_ja))
            .collect()
    }

    #[test]
    fn matches_cabinet_office_list_2019_to_2027() {
        let official = [
            (2019, Y2019),
            (2020, Y2020),
            (2021, Y2021),
            (2022, Y2022),
            (2023, Y2023),
            (2024, Y2024),
            (2025, Y2025),
            (2026, Y2026),
            (2027, Y2027),
        ];
        for (year, expected) in official {
            assert_eq!(listed(year), expected.to_vec(), "holidays of {year}");
        }
    }

    /// Dates of the Cabinet Office CSV for 2000-2018, `*` marking its "休日" rows
    /// (振替休日 and 国民の休日).
    const OFFICIAL_2000_2018: [&str; 19] = [
        "1/1 1/10 2/11 3/20 4/29 5/3 5/4* 5/5 7/20 9/15 9/23 10/9 11/3 11/23 12/23",
        "1/1 1/8 2/11 2/12* 3/20 4/29 4/30* 5/3 5/4* 5/5 7/20 9/15 9/23 9/24* 10/8 11/3 11/23 12/23 12/24*",
        "1/1 1/14 2/11 3/21 4/29 5/3 5/4* 5/5 5/6* 7/20 9/15 9/16* 9/23 10/14 11/3 11/4* 11/23 12/23",
        "1/1 1/13 2/11 3/21 4/29 5/3 5/5 7/21 9/15 9/23 10/13 11/3 11/23 11/24* 12/23",
        "1/1 1/12 2/11 3/20 4/29 5/3 5/4* 5/5 7/19 9/20 9/23 10/11 11/3 11/23 12/23",
        "1/1 1/10 2/11 3/20 3/21* 4/29 5/3 5/4* 5/5 7/18 9/19 9/23 10/10 11/3 11/23 12/23",
        "1/1 1/2* 1/9 2/11 3/21 4/29 5/3 5/4* 5/5 7/17 9/18 9/23 10/9 11/3 11/23 12/23",
        "1/1 1/8 2/11 2/12* 3/21 4/29 4/30* 5/3 5/4 5/5 7/16 9/17 9/23 9/24* 10/8 11/3 11/23 12/23 12/24*",
        "1/1 1/14 2/11 3/20 4/29 5/3 5/4 5/5 5/6* 7/21 9/15 9/23 10/13 11/3 11/23 11/24* 12/23",
        "1/1 1/12 2/11 3/20 4/29 5/3 5/4 5/5 5/6* 7/20 9/21 9/22* 9/23 10/12 11/3 11/23 12/23",
        "1/1 1/11 2/11 3/21 3/22* 4/29 5/3 5/4 5/5 7/19 9/20 9/23 10/11 11/3 11/23 12/23",
        "1/1 1/10 2/11 3/21 4/29 5/3 5/4 5/5 7/18 9/19 9/23 10/10 11/3 11/23 12/23",
        "1/1 1/2* 1/9 2/11 3/20 4/29 4/30* 5/3 5/4 5/5 7/16 9/17 9/22 10/8 11/3 11/23 12/23 12/24*",
        "1/1 1/14 2/11 3/20 4/29 5/3 5/4 5/5 5/6* 7/15 9/16 9/23 10/14 11/3 11/4* 11/23 12/23",
        "1/1 1/13 2/11 3/21 4/29 5/3 5/4 5/5 5/6* 7/21 9/15 9/23 10/13 11/3 11/23 11/24* 12/23",
        "1/1 1/12 2/11 3/21 4/29 5/3 5/4 5/5 5/6* 7/20 9/21 9/22* 9/23 10/12 11/3 11/23 12/23",
        "1/1 1/11 2/11 3/20 3/21* 4/29 5/3 5/4 5/5 7/18 8/11 9/19 9/22 10/10 11/3 11/23 12/23",
        "1/1 1/2* 1/9 2/11 3/20 4/29 5/3 5/4 5/5 7/17 8/11 9/18 9/23 10/9 11/3 11/23 12/23",
        "1/1 1/8 2/11 2/12* 3/21 4/29 4/30* 5/3 5/4 5/5 7/16 8/11 9/17 9/23 9/24* 10/8 11/3 11/23 12/23 12/24*",
    ];

    #[test]
    fn matches_cabinet_office_dates_2000_to_2018() {
        for (year, official) in (2000..).zip(OFFICIAL_2000_2018) {
            let expected: Vec<String> = official.split(' ').map(str::to_string).collect();
            let actual: Vec<String> = holidays_in_year(year)
                .unwrap()
                .iter()
                .map(|h| {
                    let mark = if h.kind == HolidayKind::National {
                        ""
                    } else {
                        "*"
                    };
                    format!("{}/{}{mark}", h.date.month(), h.date.day())
                })
                .collect();
            assert_eq!(actual, expected, "holidays of {year}");
        }
    }

    #[test]
    fn kinds_follow_display_names() {
        for year in SUPPORTED_YEARS {
            for h in holidays_in_year(year).unwrap() {
                let expected = match h.name_ja {
                    "振替休日" => HolidayKind::Substitute,
                    "国民の休日" => HolidayKind::Citizens,
                    _ => HolidayKind::National,
                };
                assert_eq!(h.kind, expected, "{h:?}");
            }
        }
    }

    #[test]
    fn substitutes_are_never_on_sunday_or_another_holiday() {
        for year in SUPPORTED_YEARS {
            let list = holidays_in_year(year).unwrap();
            assert!(list.windows(2).all(|w| w[0].date < w[1].date), "{year}");
            for h in list.iter().filter(|h| h.kind != HolidayKind::National) {
                assert_ne!(h.date.weekday(), Weekday::Sun, "{h:?}");
            }
        }
    }

    #[test]
    fn equinoxes_match_official_dates() {
        let official = [
            (2019, 21, 23),
            (2020, 20, 22),
            (2021, 20, 23),
            (2022, 21, 23),
            (2023, 21, 23),
            (2024, 20, 22),
            (2025, 20, 23),
            (2026, 20, 23),
            (2027, 21, 23),
        ];
        for (year, spring, autumn) in official {
            assert_eq!(vernal_equinox_day(year), spring, "{year}");
            assert_eq!(autumnal_equinox_day(year), autumn, "{year}");
        }
    }

    #[test]
    fn year_2000_uses_old_rules() {
        let list = listed(2000);
        assert_eq!(list.len(), 15);
        assert!(list.contains(&(1, 10, "成人の日")));
        assert!(list.contains(&(4, 29, "みどりの日")));
        assert!(list.contains(&(5, 4, "国民の休日")));
        assert!(list.contains(&(7, 20, "海の日")));
        assert!(list.contains(&(9, 15, "敬老の日")));
        assert!(list.contains(&(10, 9, "体育の日")));
        assert!(list.contains(&(12, 23, "天皇誕生日")));
    }

    #[test]
    fn old_rules_skip_sunday_citizens_holiday() {
        // 2003-05-04 was a Sunday between two national holidays: no holiday then.
        assert_eq!(holiday_on(ymd(2003, 5, 4)), None);
        // 2002-05-04 was a Saturday: still a 国民の休日, and 5/6 the Monday 振替休日.
        assert_eq!(
            holiday_on(ymd(2002, 5, 4)).unwrap().kind,
            HolidayKind::Citizens
        );
        assert_eq!(
            holiday_on(ymd(2002, 5, 6)).unwrap().kind,
            HolidayKind::Substitute
        );
    }

    #[test]
    fn silver_week_citizens_holidays() {
        for (y, m, d) in [
            (2009, 9, 22),
            (2015, 9, 22),
            (2026, 9, 22),
            (2032, 9, 21),
            (2037, 9, 22),
            (2043, 9, 22),
            (2049, 9, 21),
        ] {
            let h = holiday_on(ymd(y, m, d)).unwrap_or_else(|| panic!("{y}-{m}-{d}"));
            assert_eq!(h.kind, HolidayKind::Citizens);
            assert_eq!((h.name_ja, h.name_en), CITIZENS_HOLIDAY);
        }
        assert_eq!(listed(2009).len(), 17);
        assert_eq!(listed(2015).len(), 17);
    }

    #[test]
    fn from_2007_substitute_skips_following_holidays() {
        // 2008-05-04 (みどりの日) was a Sunday; 5/5 is a holiday, so 5/6 is the 振替休日.
        let h = holiday_on(ymd(2008, 5, 6)).unwrap();
        assert_eq!(h.kind, HolidayKind::Substitute);
        assert_eq!(h.name_en, "Substitute Holiday");
    }

    #[test]
    fn year_2050() {
        // 2050-01-01 is a Saturday; 春分 (3/20) falls on a Sunday.
        let list = listed(2050);
        assert_eq!(list.len(), 17);
        assert_eq!(list.first(), Some(&(1, 1, "元日")));
        assert!(list.contains(&(3, 20, "春分の日")));
        assert!(list.contains(&(3, 21, "振替休日")));
        assert!(list.contains(&(9, 23, "秋分の日")));
    }

    #[test]
    fn unsupported_years() {
        assert_eq!(
            holidays_in_year(2051),
            Err(CalendarError::UnsupportedYear(2051))
        );
        assert_eq!(
            holidays_in_year(1999),
            Err(CalendarError::UnsupportedYear(1999))
        );
        assert_eq!(holiday_on(ymd(2051, 1, 1)), None);
        assert_eq!(holiday_on(ymd(1999, 1, 1)), None);
    }

    #[test]
    fn holiday_on_finds_english_names() {
        let h = holiday_on(ymd(2026, 11, 23)).unwrap();
        assert_eq!(h.name_ja, "勤労感謝の日");
        assert_eq!(h.name_en, "Labor Thanksgiving Day");
        assert_eq!(holiday_on(ymd(2026, 11, 24)), None);
        assert_eq!(holiday_on(ymd(2019, 12, 23)), None);
        assert_eq!(holiday_on(ymd(2018, 12, 23)).unwrap().name_ja, "天皇誕生日");
    }
}
