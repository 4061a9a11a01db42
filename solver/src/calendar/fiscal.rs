//! Fiscal years (年度), quarters (四半期) and Japanese era dates (和暦).
//!
//! Municipal budgets, plans and reports all run on the April-March fiscal year, and
//! official documents date things in the Japanese era, so both are first-class here.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{CalendarError, SUPPORTED_YEARS};

/// A fiscal year (年度), April 1 to March 31, named by the western year it starts in:
/// FY2026 runs 2026-04-01..=2027-03-31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct FiscalYear(i32);

impl FiscalYear {
    /// Validated constructor for user input: only [`SUPPORTED_YEARS`] have holiday data.
    ///
    /// # Errors
    /// [`CalendarError::UnsupportedYear`] outside [`SUPPORTED_YEARS`].
    pub fn new(year: i32) -> Result<Self, CalendarError> {
        if SUPPORTED_YEARS.contains(&year) {
            Ok(Self(year))
        } else {
            Err(CalendarError::UnsupportedYear(year))
        }
    }

    /// The fiscal year `date` belongs to. Never fails: every date has a fiscal year,
    /// even outside [`SUPPORTED_YEARS`] (where there is just no holiday data).
    pub fn of(date: NaiveDate) -> Self {
        if date.month() >= 4 {
            Self(date.year())
        } else {
            Self(date.year() - 1)
        }
    }

    /// The western year the fiscal year starts in.
    pub fn year(self) -> i32 {
        self.0
    }

    /// April 1.
    pub fn start(self) -> NaiveDate {
        ymd(self.0, 4, 1)
    }

    /// March 31 of the following calendar year (inclusive).
    pub fn end(self) -> NaiveDate {
        ymd(self.0 + 1, 3, 31)
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        Self::of(date) == self
    }

    pub fn quarters(self) -> [Quarter; 4] {
        [1, 2, 3, 4].map(|number| Quarter {
            fiscal_year: self,
            number,
        })
    }

    /// "令和8年度". The era is the one in force for most of the year, so FY2019 is
    /// 令和元年度 although April 2019 was still 平成.
    pub fn label_ja(self) -> String {
        let (era, year) = match self.0 {
            2019.. => ("令和", self.0 - 2018),
            1989.. => ("平成", self.0 - 1988),
            _ => ("昭和", self.0 - 1925),
        };
        format!("{era}{}年度", era_year(year))
    }

    /// "FY2026".
    pub fn label_en(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for FiscalYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FY{}", self.0)
    }
}

impl From<FiscalYear> for i32 {
    fn from(fy: FiscalYear) -> Self {
        fy.0
    }
}

impl TryFrom<i32> for FiscalYear {
    type Error = CalendarError;

    fn try_from(year: i32) -> Result<Self, Self::Error> {
        Self::new(year)
    }
}

/// Accepts "2026", "FY2026", "R8", "令和8", "令和8年度", "令和元年度", "H30", "平成30年度",
/// with full-width digits and letters as typed by Japanese IMEs.
impl FromStr for FiscalYear {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || CalendarError::InvalidFiscalYear(s.to_string());
        let text = normalize(s);
        let text = text
            .strip_suffix("年度")
            .or_else(|| text.strip_suffix('年'))
            .unwrap_or(&text)
            .trim();

        let era_offset = |rest: &str| -> Option<i32> {
            let n = if rest.trim() == "元" {
                1
            } else {
                parse_digits(rest.trim())?
            };
            (n >= 1).then_some(n)
        };
        let year = if let Some(rest) = strip_prefix_ci(text, "FY") {
            parse_digits(rest.trim()).filter(|_| rest.trim().len() == 4)
        } else if let Some(rest) = text
            .strip_prefix("令和")
            .or_else(|| strip_prefix_ci(text, "R"))
        {
            era_offset(rest).map(|n| 2018 + n)
        } else if let Some(rest) = text
            .strip_prefix("平成")
            .or_else(|| strip_prefix_ci(text, "H"))
        {
            era_offset(rest).map(|n| 1988 + n)
        } else {
            parse_digits(text).filter(|_| text.len() == 4)
        };
        Self::new(year.ok_or_else(invalid)?)
    }
}

/// A fiscal quarter (四半期): Q1 April-June, Q2 July-September, Q3 October-December,
/// Q4 January-March of the following calendar year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Quarter {
    fiscal_year: FiscalYear,
    number: u8,
}

impl Quarter {
    /// # Errors
    /// [`CalendarError::InvalidQuarter`] unless `number` is 1..=4.
    pub fn new(fiscal_year: FiscalYear, number: u8) -> Result<Self, CalendarError> {
        if (1..=4).contains(&number) {
            Ok(Self {
                fiscal_year,
                number,
            })
        } else {
            Err(CalendarError::InvalidQuarter(format!(
                "{fiscal_year}-Q{number}"
            )))
        }
    }

    pub fn of(date: NaiveDate) -> Self {
        let months_into_year = (date.month() + 12 - 4) % 12;
        Self {
            fiscal_year: FiscalYear::of(date),
            number: u8::try_from(months_into_year / 3 + 1).expect("1..=4"),
        }
    }

    pub fn fiscal_year(self) -> FiscalYear {
        self.fiscal_year
    }

    /// 1..=4.
    pub fn number(self) -> u8 {
        self.number
    }

    pub fn start(self) -> NaiveDate {
        let offset = Months::new(3 * u32::from(self.number - 1));
        self.fiscal_year
            .start()
            .checked_add_months(offset)
            .expect("fiscal years are far from chrono's limits")
    }

    /// Last day of the quarter (inclusive).
    pub fn end(self) -> NaiveDate {
        self.start()
            .checked_add_months(Months::new(3))
            .and_then(|next| next.pred_opt())
            .expect("fiscal years are far from chrono's limits")
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        Self::of(date) == self
    }

    /// "令和8年度 第3四半期".
    pub fn label_ja(self) -> String {
        format!("{} 第{}四半期", self.fiscal_year.label_ja(), self.number)
    }

    /// "FY2026 Q3".
    pub fn label_en(self) -> String {
        format!("{} Q{}", self.fiscal_year, self.number)
    }
}

/// "FY2026-Q3": one token, so it works in URLs, file names and JSON.
impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.fiscal_year, self.number)
    }
}

impl From<Quarter> for String {
    fn from(q: Quarter) -> Self {
        q.to_string()
    }
}

impl TryFrom<String> for Quarter {
    type Error = CalendarError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Accepts "2026Q3", "FY2026-Q3", "FY2026 Q3", "R8Q3" and "令和8年度 第3四半期".
impl FromStr for Quarter {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || CalendarError::InvalidQuarter(s.to_string());
        let text = normalize(s);
        let (year_part, number_part) = if let Some(rest) = text.strip_suffix("四半期") {
            rest.rsplit_once('第').ok_or_else(invalid)?
        } else {
            let at = text.rfind(['Q', 'q']).ok_or_else(invalid)?;
            (&text[..at], &text[at + 1..])
        };
        let number: u8 = number_part.trim().parse().map_err(|_| invalid())?;
        let year_part = year_part.trim().trim_end_matches(['-', '_', ' ', '/']);
        let fiscal_year = year_part.parse::<FiscalYear>().map_err(|e| match e {
            CalendarError::UnsupportedYear(_) => e,
            _ => invalid(),
        })?;
        Self::new(fiscal_year, number).map_err(|_| invalid())
    }
}

/// Eras (元号) with the first day they are used for and their first western year.
/// Meiji starts at 1873-01-01, when Japan adopted the Gregorian calendar.
const ERAS: [(&str, (i32, u32, u32), i32); 5] = [
    ("令和", (2019, 5, 1), 2019),
    ("平成", (1989, 1, 8), 1989),
    ("昭和", (1926, 12, 25), 1926),
    ("大正", (1912, 7, 30), 1912),
    ("明治", (1873, 1, 1), 1868),
];

/// The date in the Japanese era (和暦), as official documents write it:
/// "令和8年11月23日", "令和元年5月1日", "平成31年4月30日".
pub fn wareki(date: NaiveDate) -> String {
    let era = ERAS
        .iter()
        .find(|(_, (y, m, d), _)| date >= ymd(*y, *m, *d));
    let (month, day) = (date.month(), date.day());
    match era {
        Some((name, _, first_year)) => {
            let year = era_year(date.year() - first_year + 1);
            format!("{name}{year}年{month}月{day}日")
        }
        // Before the Gregorian calendar the lunisolar calendar applies; not our concern.
        None => format!("{}年{month}月{day}日", date.year()),
    }
}

/// Year 1 of an era is written 元 (元年).
fn era_year(n: i32) -> String {
    if n == 1 {
        "元".to_string()
    } else {
        n.to_string()
    }
}

/// Full-width ASCII (as typed with a Japanese IME) to half-width, and trimmed.
pub(crate) fn normalize(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFF01 + 0x21).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn parse_digits(s: &str) -> Option<i32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 4 {
        return None;
    }
    s.parse().ok()
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid calendar date")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fy(year: i32) -> FiscalYear {
        FiscalYear::new(year).unwrap()
    }

    #[test]
    fn fiscal_year_of_dates() {
        assert_eq!(FiscalYear::of(ymd(2027, 3, 31)), fy(2026));
        assert_eq!(FiscalYear::of(ymd(2026, 4, 1)), fy(2026));
        assert_eq!(FiscalYear::of(ymd(2026, 3, 31)), fy(2025));
        assert_eq!(fy(2026).start(), ymd(2026, 4, 1));
        assert_eq!(fy(2026).end(), ymd(2027, 3, 31));
        assert!(fy(2026).contains(ymd(2027, 1, 15)));
        assert!(!fy(2026).contains(ymd(2027, 4, 1)));
    }

    #[test]
    fn fiscal_year_range_is_checked() {
        assert_eq!(
            FiscalYear::new(2051),
            Err(CalendarError::UnsupportedYear(2051))
        );
        assert_eq!(
            FiscalYear::new(1999),
            Err(CalendarError::UnsupportedYear(1999))
        );
        assert!(FiscalYear::new(2000).is_ok() && FiscalYear::new(2050).is_ok());
    }

    #[test]
    fn fiscal_year_labels() {
        assert_eq!(fy(2026).label_ja(), "令和8年度");
        assert_eq!(fy(2019).label_ja(), "令和元年度");
        assert_eq!(fy(2018).label_ja(), "平成30年度");
        assert_eq!(fy(2000).label_ja(), "平成12年度");
        assert_eq!(fy(2026).label_en(), "FY2026");
        assert_eq!(fy(2026).to_string(), "FY2026");
    }

    #[test]
    fn fiscal_year_parsing() {
        for text in [
            "2026",
            "FY2026",
            "fy2026",
            " FY 2026 ",
            "R8",
            "r8",
            "令和8",
            "令和8年度",
            "令和８年度",
            "Ｒ８",
            "２０２６年度",
        ] {
            assert_eq!(text.parse::<FiscalYear>(), Ok(fy(2026)), "{text}");
        }
        assert_eq!("令和元年度".parse::<FiscalYear>(), Ok(fy(2019)));
        assert_eq!("H30".parse::<FiscalYear>(), Ok(fy(2018)));
        assert_eq!("平成30年度".parse::<FiscalYear>(), Ok(fy(2018)));
        for bad in [
            "",
            "FY",
            "20266",
            "26",
            "令和",
            "R0",
            "next year",
            "FY-2026",
        ] {
            assert_eq!(
                bad.parse::<FiscalYear>(),
                Err(CalendarError::InvalidFiscalYear(bad.to_string())),
                "{bad}"
            );
        }
        assert_eq!(
            "R40".parse::<FiscalYear>(),
            Err(CalendarError::UnsupportedYear(2058))
        );
        let message = "2051".parse::<FiscalYear>().unwrap_err().to_string();
        assert_eq!(
            message,
            "year 2051 is outside the supported range 2000-2050 / \
             2051年は対応範囲(2000〜2050年)外の年です"
        );
    }

    #[test]
    fn quarters_of_fiscal_year() {
        let quarters = fy(2026).quarters();
        assert_eq!(quarters.map(Quarter::number), [1, 2, 3, 4]);
        assert!(quarters.iter().all(|q| q.fiscal_year() == fy(2026)));
    }

    #[test]
    fn serde_forms() {
        use serde::de::{value, Deserialize, IntoDeserializer};

        let de = |n: i32| FiscalYear::deserialize(n.into_deserializer());
        let parsed: Result<FiscalYear, value::Error> = de(2026);
        assert_eq!(parsed, Ok(fy(2026)));
        let out_of_range: Result<FiscalYear, value::Error> = de(2051);
        assert!(out_of_range.is_err());
        assert_eq!(i32::from(fy(2026)), 2026);

        let q: Result<Quarter, value::Error> =
            Quarter::deserialize("FY2026-Q3".into_deserializer());
        assert_eq!(q, Ok(Quarter::new(fy(2026), 3).unwrap()));
        assert_eq!(String::from(q.unwrap()), "FY2026-Q3");
    }

    #[test]
    fn quarters_cover_the_year() {
        let [q1, q2, q3, q4] = fy(2026).quarters();
        assert_eq!((q1.start(), q1.end()), (ymd(2026, 4, 1), ymd(2026, 6, 30)));
        assert_eq!((q2.start(), q2.end()), (ymd(2026, 7, 1), ymd(2026, 9, 30)));
        assert_eq!(
            (q3.start(), q3.end()),
            (ymd(2026, 10, 1), ymd(2026, 12, 31))
        );
        assert_eq!((q4.start(), q4.end()), (ymd(2027, 1, 1), ymd(2027, 3, 31)));
        assert_eq!(Quarter::of(ymd(2026, 4, 1)), q1);
        assert_eq!(Quarter::of(ymd(2026, 9, 30)), q2);
        assert_eq!(Quarter::of(ymd(2026, 12, 31)), q3);
        assert_eq!(Quarter::of(ymd(2027, 2, 28)), q4);
        assert!(q4.contains(ymd(2027, 3, 31)) && !q4.contains(ymd(2026, 3, 31)));
        assert!(q1 < q2 && q4 < Quarter::of(ymd(2027, 4, 1)));
    }

    #[test]
    fn quarter_labels_and_parsing() {
        let q3 = Quarter::new(fy(2026), 3).unwrap();
        assert_eq!(q3.label_ja(), "令和8年度 第3四半期");
        assert_eq!(q3.label_en(), "FY2026 Q3");
        assert_eq!(q3.to_string(), "FY2026-Q3");
        for text in [
            "2026Q3",
            "2026q3",
            "FY2026-Q3",
            "FY2026 Q3",
            "2026-Q3",
            "R8Q3",
            "令和8年度 第3四半期",
            "２０２６Ｑ３",
        ] {
            assert_eq!(text.parse::<Quarter>(), Ok(q3), "{text}");
        }
        for bad in ["2026Q5", "2026Q0", "2026", "Q3", "FY2026-Q", "2026Q3x"] {
            assert_eq!(
                bad.parse::<Quarter>(),
                Err(CalendarError::InvalidQuarter(bad.to_string())),
                "{bad}"
            );
        }
        assert_eq!(
            "2051Q1".parse::<Quarter>(),
            Err(CalendarError::UnsupportedYear(2051))
        );
        assert!(Quarter::new(fy(2026), 5).is_err());
    }

    #[test]
    fn wareki_dates() {
        assert_eq!(wareki(ymd(2026, 11, 23)), "令和8年11月23日");
        assert_eq!(wareki(ymd(2019, 5, 1)), "令和元年5月1日");
        assert_eq!(wareki(ymd(2019, 4, 30)), "平成31年4月30日");
        assert_eq!(wareki(ymd(1989, 1, 8)), "平成元年1月8日");
        assert_eq!(wareki(ymd(1989, 1, 7)), "昭和64年1月7日");
        assert_eq!(wareki(ymd(2000, 1, 1)), "平成12年1月1日");
    }
}
