//! A municipality's own planning rules (自治体の設定): its staff's working hours, the minimum
//! notice before a planned meeting, and each person's daily limits. Each one left empty falls
//! back to the service's configuration (`RENKEI_MIN_NOTICE_DAYS`,
//! `RENKEI_MAX_MEETINGS_PER_DAY`, `RENKEI_MAX_MEETING_HOURS_PER_DAY`); a person's own hours
//! and limits (master data) come before the municipality's.

use renkei_solver::calendar::OpeningHours;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::master::{check_daily_limits, parse_working_hours, Check, FieldError};
use crate::meetings::PlanDefaults;

/// The settings as read back (empty values: the service's configuration applies).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Settings {
    /// The staff's working hours, e.g. "mon-fri 08:30-17:30".
    pub staff_hours: String,
    /// No meeting is planned earlier than today plus this many days.
    pub min_notice_days: Option<i64>,
    /// A person is required at no more meetings a day than this.
    pub max_meetings_per_day: Option<u32>,
    /// ... nor more hours of meetings a day than this.
    pub max_hours_per_day: Option<f64>,
    /// What planning uses now, the configuration filled in.
    pub effective: Effective,
}

/// The rules a plan uses, after the fallbacks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Effective {
    pub staff_hours: String,
    pub min_notice_days: i64,
    /// None: no limit.
    pub max_meetings_per_day: Option<u32>,
    pub max_hours_per_day: Option<f64>,
}

/// The body of `PUT /api/v1/settings` and of the settings form: every field optional, empty
/// or missing meaning the service's configuration (staff hours: Mon-Fri 8:30-17:30).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    #[serde(default)]
    pub staff_hours: String,
    #[serde(default)]
    pub min_notice_days: Option<i64>,
    #[serde(default)]
    pub max_meetings_per_day: Option<u32>,
    #[serde(default)]
    pub max_hours_per_day: Option<f64>,
}

/// Checked settings, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ValidSettings {
    pub staff_hours: OpeningHours,
    pub min_notice_days: Option<i64>,
    pub max_meetings_per_day: Option<u32>,
    pub max_minutes_per_day: Option<u32>,
}

impl SettingsInput {
    /// `least_notice`: the answer deadline and a chase must fit before the first meeting.
    pub fn parse(&self, least_notice: i64) -> Result<ValidSettings, Vec<FieldError>> {
        let mut c = Check::default();
        let staff_hours =
            parse_working_hours(&mut c, "staff_hours", &self.staff_hours).unwrap_or_default();
        if let Some(n) = self.min_notice_days {
            if !(least_notice..=180).contains(&n) {
                c.0.push(FieldError::new(
                    "min_notice_days",
                    format!("最短の案内日数は{least_notice}〜180日で入力してください（回答期限と督促が間に合う日数。入力値: {n}）"),
                    format!("the minimum notice must be {least_notice} to 180 days (so that the answer deadline and a chase fit; got {n})"),
                ));
            }
        }
        let (max_meetings_per_day, max_minutes_per_day) =
            check_daily_limits(&mut c, self.max_meetings_per_day, self.max_hours_per_day);
        c.finish(ValidSettings {
            staff_hours,
            min_notice_days: self.min_notice_days,
            max_meetings_per_day,
            max_minutes_per_day,
        })
    }
}

impl ValidSettings {
    /// The configuration's defaults with this municipality's own settings over them.
    pub fn plan_defaults(&self, config: PlanDefaults) -> PlanDefaults {
        PlanDefaults {
            min_notice_days: self.min_notice_days.unwrap_or(config.min_notice_days),
            max_meetings_per_day: self.max_meetings_per_day.or(config.max_meetings_per_day),
            max_minutes_per_day: self.max_minutes_per_day.or(config.max_minutes_per_day),
            staff_hours: self.staff_hours,
        }
    }

    pub fn to_settings(&self, config: PlanDefaults) -> Settings {
        let effective = self.plan_defaults(config);
        let hours = |m: Option<u32>| m.map(|m| f64::from(m) / 60.0);
        Settings {
            staff_hours: self.staff_hours.to_string(),
            min_notice_days: self.min_notice_days,
            max_meetings_per_day: self.max_meetings_per_day,
            max_hours_per_day: hours(self.max_minutes_per_day),
            effective: Effective {
                staff_hours: effective.staff_hours.to_string(),
                min_notice_days: effective.min_notice_days,
                max_meetings_per_day: effective.max_meetings_per_day,
                max_hours_per_day: hours(effective.max_minutes_per_day),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_settings_keep_the_configuration_and_bad_ones_name_their_field() {
        let config = PlanDefaults::default();
        let empty = SettingsInput::default().parse(5).unwrap();
        assert_eq!(empty.plan_defaults(config), config);
        let own = SettingsInput {
            staff_hours: "mon-fri 09:00-16:00".into(),
            min_notice_days: Some(21),
            max_meetings_per_day: Some(2),
            max_hours_per_day: Some(3.5),
        }
        .parse(5)
        .unwrap();
        let d = own.plan_defaults(config);
        assert_eq!(d.min_notice_days, 21);
        assert_eq!(d.max_meetings_per_day, Some(2));
        assert_eq!(d.max_minutes_per_day, Some(210));
        assert_eq!(d.staff_hours.to_string(), "mon-fri 09:00-16:00");
        let bad = SettingsInput {
            staff_hours: "月-金 9時から".into(),
            min_notice_days: Some(2),
            max_meetings_per_day: Some(0),
            max_hours_per_day: Some(2.25),
        }
        .parse(5)
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "staff_hours",
                "min_notice_days",
                "max_meetings_per_day",
                "max_hours_per_day"
            ]
        );
    }
}
