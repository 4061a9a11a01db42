//! The demo's meetings held by other bodies (他機関主催): Meguro's 地域移行・地域定着連携連絡会
//! (「地域移行・地域定着連携連絡会に参加」, 年3回), held by the central ward's welfare section,
//! with its dates in June, October and February of this fiscal year and the next, so the
//! calendar, the feeds and the plans show them.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use renkei_solver::calendar::{holiday_on, jst_date, FiscalYear};

use crate::error::{Error, Result};
use crate::meetings::held::ValidHeldDate;
use crate::meetings::presets::Preset;
use crate::meetings::spec::{HeldBy, ValidSeries};
use crate::store::tenancy::MunicipalityId;
use crate::store::Db;

/// The series' code (Meguro's preset code, kept stable).
pub const HELD_SERIES: &str = "TRANSITION";
/// The host: the central ward's welfare section.
const HOST: &str = "W-CHU-FUKUSHI";

/// Meguro's series, its host named by the demo's organisation code.
pub(super) fn series() -> Result<ValidSeries> {
    let mut spec = Preset::Meguro
        .series()
        .into_iter()
        .find(|s| s.code == HELD_SERIES)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("Meguro has {HELD_SERIES}")))?;
    spec.held_by = Some(HeldBy {
        organisation: HOST.into(),
        ..HeldBy::default()
    });
    spec.parse()
        .map_err(|e| Error::Internal(anyhow::anyhow!("demo held series: {e:?}")))
}

/// The second Wednesday of the month, a week later when it is a holiday.
fn second_wednesday(year: i32, month: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("first of month");
    let offset = (7 + Weekday::Wed.num_days_from_monday() as i64
        - first.weekday().num_days_from_monday() as i64)
        % 7;
    let mut d = first + Duration::days(offset + 7);
    while holiday_on(d).is_some() {
        d += Duration::days(7);
    }
    d
}

/// Enters the host's dates (as the demo's administrator: each date is audited), once.
pub(super) async fn load(db: &Db, m: MunicipalityId) -> Result<()> {
    let user = db
        .user_by_username(super::DEMO_USERNAME)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("demo user")))?;
    // A demo loaded before it had the series keeps its calendar; one whose dates are in
    // already gets none twice.
    let Some(series) = db
        .list_series(m)
        .await?
        .into_iter()
        .find(|s| s.code == HELD_SERIES)
    else {
        return Ok(());
    };
    let entered = db
        .occurrences(
            m,
            &crate::store::meetings::OccurrenceFilter {
                series_id: Some(series.id),
                include_cancelled: true,
                ..Default::default()
            },
        )
        .await?;
    if !entered.is_empty() {
        return Ok(());
    }
    let this_year = FiscalYear::of(jst_date(chrono::Utc::now()));
    let next_year = FiscalYear::of(this_year.end() + Duration::days(1));
    for fy in [this_year, next_year] {
        let y = fy.start().year();
        for (year, month) in [(y, 6), (y, 10), (y + 1, 2)] {
            let date = ValidHeldDate {
                date: second_wednesday(year, month),
                start: NaiveTime::from_hms_opt(14, 0, 0).expect("14:00"),
                end: NaiveTime::from_hms_opt(16, 0, 0).expect("16:00"),
                place: String::new(),
                attendees: Vec::new(),
                sequence: None,
            };
            db.enter_held_date(&user, series.id, &date).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_series_is_held_by_the_ward_and_meets_on_open_wednesdays() {
        let s = series().unwrap();
        assert_eq!(s.spec.held_by.unwrap().organisation, HOST);
        let d = second_wednesday(2027, 6);
        assert_eq!(d, NaiveDate::from_ymd_opt(2027, 6, 9).unwrap());
        assert!(holiday_on(second_wednesday(2027, 2)).is_none());
    }
}
