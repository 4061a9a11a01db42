//! Errors of the calendar module. Messages are shown to office staff as-is, so each
//! says what was wrong and what to type instead, in English and Japanese.

use chrono::Weekday;
use thiserror::Error;

use super::weekday_ja;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    #[error(
        "year {0} is outside the supported range 2000-2050 / \
         {0}年は対応範囲(2000〜2050年)外の年です"
    )]
    UnsupportedYear(i32),

    #[error(
        "\"{0}\" is not a fiscal year; write e.g. 2026, FY2026, R8 or 令和8年度 / \
         「{0}」は年度として読めません。2026、FY2026、R8、令和8年度のように入力してください"
    )]
    InvalidFiscalYear(String),

    #[error(
        "\"{0}\" is not a quarter; write e.g. 2026Q3 or FY2026-Q3 (Q1 = April-June) / \
         「{0}」は四半期として読めません。2026Q3、FY2026-Q3のように入力してください(第1四半期 = 4〜6月)"
    )]
    InvalidQuarter(String),

    #[error(
        "invalid opening hours \"{input}\": {problem}; write e.g. \
         \"mon-fri 08:30-17:30; sat 09:00-12:00\" / \
         開館時間「{input}」が正しくありません: {}。\
         「mon-fri 08:30-17:30; sat 09:00-12:00」のように入力してください",
        .problem.ja()
    )]
    InvalidOpeningHours {
        input: String,
        problem: HoursProblem,
    },
}

/// What exactly is wrong with an opening-hours text; see [`CalendarError::InvalidOpeningHours`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HoursProblem {
    #[error("no hours given (write \"closed\" for a venue that never opens)")]
    Empty,
    #[error("\"{0}\" has no days before the times")]
    MissingDays(String),
    #[error("\"{0}\" has no opening time range such as 08:30-17:30")]
    MissingTimes(String),
    #[error("unknown day \"{0}\" (use mon tue wed thu fri sat sun)")]
    UnknownDay(String),
    #[error(
        "day range \"{0}\" runs backwards (write it from Monday towards Sunday, e.g. mon-fri)"
    )]
    BackwardDayRange(String),
    #[error("\"{0}\" is not a time (use HH:MM between 00:00 and 23:59)")]
    BadTime(String),
    #[error("\"{0}\" must be one range open-close, e.g. 08:30-17:30")]
    BadTimeRange(String),
    #[error("opening time {0} is not before closing time {1}")]
    OpensAfterClosing(String, String),
    #[error("{0} is given twice")]
    DuplicateDay(Weekday),
}

impl HoursProblem {
    /// The same explanation in Japanese.
    pub fn ja(&self) -> String {
        match self {
            Self::Empty => "時間が指定されていません(休館のみの場合は「closed」)".into(),
            Self::MissingDays(s) => format!("「{s}」の前に曜日がありません"),
            Self::MissingTimes(s) => format!("「{s}」に08:30-17:30のような時間がありません"),
            Self::UnknownDay(s) => {
                format!("「{s}」は曜日として読めません(mon tue wed thu fri sat sun)")
            }
            Self::BackwardDayRange(s) => {
                format!("曜日の範囲「{s}」が逆順です(mon-friのように月曜から日曜の順に)")
            }
            Self::BadTime(s) => format!("「{s}」は時刻として読めません(00:00〜23:59のHH:MM)"),
            Self::BadTimeRange(s) => {
                format!("「{s}」は開始-終了の一つの範囲にしてください(例: 08:30-17:30)")
            }
            Self::OpensAfterClosing(open, close) => {
                format!("開始時刻{open}が終了時刻{close}より前ではありません")
            }
            Self::DuplicateDay(day) => format!("{}が二回指定されています", weekday_ja(*day)),
        }
    }
}
