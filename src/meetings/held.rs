//! Dates of meetings held by other bodies (他機関主催): the ward's council, the inter-municipal
//! liaison of core centers. The center attends; the host sets the date and times, the
//! coordinator enters them. Parsed here at the edge (pure); stored by `Db::enter_held_date`
//! and friends (`store/held.rs`) as occurrences of the held series that the planner never
//! moves, that take none of our rooms and for which renkei sends no mail.

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::master::{parse_date, FieldError};

/// One date of a held series as the coordinator enters it (API body and form).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeldDateInput {
    /// The host's date, `YYYY-MM-DD` (2000-01-01..2100-12-31).
    #[schema(example = "2026-07-15")]
    pub date: String,
    /// Start, `HH:MM`.
    #[schema(example = "14:00")]
    pub start: String,
    /// End, `HH:MM`, after the start.
    #[schema(example = "16:00")]
    pub end: String,
    /// Where it is held (free text); empty: the series' usual place, else the host.
    #[serde(default)]
    pub place: String,
    /// Our staff who attend (person codes); empty: the series' attendees.
    #[serde(default)]
    pub attendees: Vec<String>,
    /// Changing a date: the `sequence` of the meeting as read (409 when it changed since).
    #[serde(default)]
    pub sequence: Option<i64>,
}

/// Cancelling a date (the host called it off, or nobody of ours goes).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeldCancelInput {
    /// The `sequence` of the meeting as read (409 when it changed since).
    pub sequence: i64,
    /// Why, for the results report (not held).
    #[serde(default)]
    pub reason: String,
}

/// A checked date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidHeldDate {
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub place: String,
    /// Person codes (resolved in the municipality when stored).
    pub attendees: Vec<String>,
    pub sequence: Option<i64>,
}

fn time(field: &str, s: &str) -> Result<NaiveTime, FieldError> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| {
        FieldError::new(
            field,
            format!("時刻「{s}」が読めません。14:00 のように入力してください"),
            format!("cannot read the time \"{s}\"; write it like 14:00"),
        )
    })
}

impl HeldDateInput {
    pub fn parse(&self) -> Result<ValidHeldDate, Vec<FieldError>> {
        let mut e = Vec::new();
        let date = parse_date("date", &self.date).map_err(|x| e.push(x)).ok();
        let start = time("start", &self.start).map_err(|x| e.push(x)).ok();
        let end = time("end", &self.end).map_err(|x| e.push(x)).ok();
        if let (Some(s), Some(t)) = (start, end) {
            if t <= s {
                e.push(FieldError::new(
                    "end",
                    format!(
                        "終了時刻（{}）は開始時刻（{}）より後にしてください",
                        t.format("%H:%M"),
                        s.format("%H:%M")
                    ),
                    format!(
                        "the end ({}) must be after the start ({})",
                        t.format("%H:%M"),
                        s.format("%H:%M")
                    ),
                ));
            }
        }
        let place = self.place.trim().to_string();
        if place.chars().count() > 200 {
            e.push(FieldError::new(
                "place",
                "開催場所は200文字以内で入力してください",
                "the place is at most 200 characters",
            ));
        }
        let mut attendees: Vec<String> = Vec::new();
        for a in &self.attendees {
            let a = a.trim();
            if !a.is_empty() && !attendees.iter().any(|x| x == a) {
                attendees.push(a.to_string());
            }
        }
        if attendees.len() > 100 {
            e.push(FieldError::new(
                "attendees",
                "出席者は100人までです",
                "at most 100 attendees",
            ));
        }
        if let Some(s) = self.sequence.filter(|s| *s < 0) {
            e.push(FieldError::new(
                "sequence",
                format!("sequence（{s}）は0以上です"),
                format!("sequence ({s}) is 0 or more"),
            ));
        }
        match (date, start, end) {
            (Some(date), Some(start), Some(end)) if e.is_empty() => Ok(ValidHeldDate {
                date,
                start,
                end,
                place,
                attendees,
                sequence: self.sequence,
            }),
            _ => Err(e),
        }
    }
}

/// How many meetings a fiscal year the cadence of a held series announces (its minimum): what
/// the series page compares the entered dates with (日程未登録 while none is entered).
pub fn expected_per_year(c: &crate::meetings::spec::CadenceSpec) -> u32 {
    use renkei_solver::schedule::model::CadencePeriod;
    match c.per {
        CadencePeriod::Month if c.months.is_empty() => 12 * c.min,
        CadencePeriod::Month => c.months.len() as u32 * c.min,
        CadencePeriod::Quarter => 4 * c.min,
        CadencePeriod::FiscalYear | CadencePeriod::Period => c.min,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(date: &str, start: &str, end: &str) -> HeldDateInput {
        HeldDateInput {
            date: date.into(),
            start: start.into(),
            end: end.into(),
            ..HeldDateInput::default()
        }
    }

    fn fields(i: &HeldDateInput) -> Vec<String> {
        i.parse()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn reads_a_date_and_names_each_problem() {
        let ok = input("2026/7/15", "14:00", "16:00").parse().unwrap();
        assert_eq!(ok.date, NaiveDate::from_ymd_opt(2026, 7, 15).unwrap());
        assert_eq!(fields(&input("2026-07-15", "16:00", "14:00")), ["end"]);
        assert_eq!(fields(&input("2126-07-15", "14:00", "16:00")), ["date"]);
        assert_eq!(fields(&input("2026-07-15", "2pm", "16:00")), ["start"]);
    }
}
