//! Dates of meetings held by other bodies (他機関主催, `meetings::held`): entered, changed and
//! cancelled by the coordinator, each in one write transaction with its audit row.
//!
//! * They are occurrences of the held series (`held_by` = the host as shown), with no room,
//!   pinned (`pin = 'full'`: nothing of ours moves them) and never touched by publishing, which
//!   only handles the series of its plan.
//! * Entering or changing one is a publication of its own (a `plan_runs` row with method
//!   `held_entry`, hidden from the list of plans, and its `publications` row): a plan made
//!   before did not keep its attendees free then, so publishing it is refused (409).
//!   Cancelling only frees time and publishes nothing.
//! * Changing and cancelling are conditional on the `sequence` read (409 when the meeting
//!   changed meanwhile, and when it is cancelled already).
//! * No notice is queued: the host invites (`store::notices::queue_occurrence` refuses them too).

use sqlx::AnyConnection;

use super::tenancy::{MunicipalityId, User};
use super::{now, Db};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::master::FieldError;
use crate::meetings::build::{held_attendees, host_name, SnapSeries};
use crate::meetings::held::ValidHeldDate;
use crate::meetings::spec::{kind_slug, HeldBy, SeriesSpec};

/// The method of the `plan_runs` row that stands for an entered date.
pub const HELD_ENTRY: &str = "held_entry";

/// A held series as the store reads it.
struct HeldSeries {
    id: i64,
    spec: SeriesSpec,
    held_by: HeldBy,
}

fn not_held(field: &str) -> Error {
    Error::Validation(vec![FieldError::new(
        field,
        "この会議シリーズは他機関主催ではありません。主催機関（held_by）を登録してから日程を入力してください。センター主催の会議は計画して公開します",
        "this series is not held by another body; set its host (held_by) first. The center's own meetings are planned and published",
    )])
}

fn changed_meanwhile() -> Error {
    Error::Conflict(Msg::new(
        "この会議は読み込んだ後に変更または中止されました。画面を読み込み直してからもう一度操作してください",
        "this meeting was changed or cancelled after you read it; reload and try again",
    ))
}

impl Db {
    async fn held_series(&self, m: MunicipalityId, series_id: i64) -> Result<HeldSeries> {
        let row = self.get_series(m, series_id).await?;
        let held_by = row
            .spec
            .held_by
            .clone()
            .ok_or_else(|| not_held("held_by"))?;
        Ok(HeldSeries {
            id: row.id,
            spec: row.spec,
            held_by,
        })
    }

    /// Person codes to ids within the municipality; an unknown code is a 422 naming
    /// `attendees`. Empty: the series' attendees (required, optional) as the planner would
    /// resolve them.
    async fn held_attendee_ids(
        &self,
        m: MunicipalityId,
        series: &HeldSeries,
        codes: &[String],
    ) -> Result<Vec<(i64, bool)>> {
        if codes.is_empty() {
            let snap = self.planning_snapshot(m).await?;
            let valid = series.spec.parse().map_err(Error::Validation)?;
            let (required, optional) = held_attendees(
                &snap,
                &SnapSeries {
                    id: series.id,
                    valid,
                },
            );
            return Ok(required
                .into_iter()
                .map(|p| (p, true))
                .chain(optional.into_iter().map(|p| (p, false)))
                .collect());
        }
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for code in codes {
            let id: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM people WHERE municipality_id = $1 AND code = $2",
            )
            .bind(m.0)
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
            match id {
                Some(id) => out.push((id, true)),
                None => errors.push(FieldError::new(
                    "attendees",
                    format!("職員コード「{code}」が見つかりません。出席者は登録済みの人のコードで指定してください"),
                    format!("no person with code \"{code}\"; name attendees by the codes of registered people"),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        Ok(out)
    }

    /// The host organisation's id (a 422 naming `held_by.organisation` when its code is gone).
    async fn host_organisation(
        &self,
        conn: &mut AnyConnection,
        m: MunicipalityId,
        h: &HeldBy,
    ) -> Result<Option<i64>> {
        if h.organisation.is_empty() {
            return Ok(None);
        }
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM organisations WHERE municipality_id = $1 AND code = $2",
        )
        .bind(m.0)
        .bind(&h.organisation)
        .fetch_optional(&mut *conn)
        .await?;
        id.map(Some).ok_or_else(|| {
            Error::Validation(vec![FieldError::new(
                "held_by.organisation",
                format!("主催機関の組織コード「{}」が見つかりません", h.organisation),
                format!(
                    "no organisation with the host's code \"{}\"",
                    h.organisation
                ),
            )])
        })
    }

    /// The publication an entered or changed date makes (see the module doc).
    async fn held_publication(
        &self,
        conn: &mut AnyConnection,
        user: &User,
        d: &ValidHeldDate,
        label: &str,
    ) -> Result<i64> {
        let m = user.municipality_id;
        let base = self.latest_publication(conn, m).await?;
        let t = now();
        let run: i64 = sqlx::query_scalar(
            "INSERT INTO plan_runs (municipality_id, method, period_from, period_to, label, instance, mapping, notes, base_publication, created_by, created_at, published_at)
             VALUES ($1, $2, $3, $3, $4, '{}', '[]', '[]', $5, $6, $7, $7) RETURNING id",
        )
        .bind(m.0)
        .bind(HELD_ENTRY)
        .bind(d.date.to_string())
        .bind(label)
        .bind(base)
        .bind(user.id)
        .bind(&t)
        .fetch_one(&mut *conn)
        .await?;
        Ok(sqlx::query_scalar(
            "INSERT INTO publications (municipality_id, plan_run_id, published_by, published_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(m.0)
        .bind(run)
        .bind(user.id)
        .bind(&t)
        .fetch_one(&mut *conn)
        .await?)
    }

    /// Enters a date of a held series; returns the new occurrence's id.
    pub async fn enter_held_date(
        &self,
        user: &User,
        series_id: i64,
        d: &ValidHeldDate,
    ) -> Result<i64> {
        let m = user.municipality_id;
        let series = self.held_series(m, series_id).await?;
        let attendees = self.held_attendee_ids(m, &series, &d.attendees).await?;
        let orgs = self.organisation_snapshot(m).await?;
        let (host, _) = host_name(&series.held_by, &orgs);
        let place = if d.place.is_empty() {
            series.held_by.place.clone()
        } else {
            d.place.clone()
        };
        let spec = &series.spec;
        let title_en = if spec.title_en.is_empty() {
            spec.title.clone()
        } else {
            spec.title_en.clone()
        };
        let mut tx = self.begin_write().await?;
        let host_org = self.host_organisation(&mut tx, m, &series.held_by).await?;
        let publication = self
            .held_publication(&mut tx, user, d, &format!("他機関主催: {}", spec.title))
            .await?;
        let t = now();
        let uid = format!("{}@renkei", crate::auth::random_token(12));
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO occurrences (municipality_id, uid, series_id, series_key, title, title_en, kind, ward, date, start_time, end_time,
                 room_id, place_organisation_id, status, pin, sequence, publication_id, created_at, updated_at,
                 held_by, host_organisation_id, place)
             VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8, $9, $10, NULL, NULL, 'scheduled', 'full', 0, $11, $12, $12, $13, $14, $15)
             RETURNING id",
        )
        .bind(m.0)
        .bind(&uid)
        .bind(series.id)
        .bind(&spec.code)
        .bind(&spec.title)
        .bind(&title_en)
        .bind(kind_slug(spec.kind))
        .bind(d.date.to_string())
        .bind(d.start.format("%H:%M").to_string())
        .bind(d.end.format("%H:%M").to_string())
        .bind(publication)
        .bind(&t)
        .bind(&host)
        .bind(host_org)
        .bind(&place)
        .fetch_one(&mut *tx)
        .await?;
        write_held_attendees(&mut tx, id, &attendees).await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "create",
            "held_occurrence",
            &id.to_string(),
            &format!(
                "{} {} {}-{} held by {host}",
                spec.code,
                d.date,
                d.start.format("%H:%M"),
                d.end.format("%H:%M")
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a held date (date, times, place, and the attendees when named), conditional
    /// on the sequence read.
    pub async fn change_held_date(&self, user: &User, id: i64, d: &ValidHeldDate) -> Result<()> {
        let m = user.municipality_id;
        let Some(expected) = d.sequence else {
            return Err(Error::Validation(vec![FieldError::new(
                "sequence",
                "変更には読み込んだ時点の sequence が必要です",
                "a change needs the sequence you read",
            )]));
        };
        let o = self.occurrence(m, id).await?;
        if !o.is_held_by_others() {
            return Err(not_held("id"));
        }
        let series = self.held_series(m, o.series_id).await?;
        let attendees = if d.attendees.is_empty() {
            None
        } else {
            Some(self.held_attendee_ids(m, &series, &d.attendees).await?)
        };
        let place = if d.place.is_empty() {
            series.held_by.place.clone()
        } else {
            d.place.clone()
        };
        let mut tx = self.begin_write().await?;
        let publication = self
            .held_publication(&mut tx, user, d, &format!("他機関主催: {}", o.title))
            .await?;
        let n = sqlx::query(
            "UPDATE occurrences SET date = $4, start_time = $5, end_time = $6, place = $7,
                 sequence = sequence + 1, publication_id = $8, updated_at = $9
             WHERE municipality_id = $1 AND id = $2 AND held_by <> '' AND status = 'scheduled' AND sequence = $3",
        )
        .bind(m.0)
        .bind(id)
        .bind(expected)
        .bind(d.date.to_string())
        .bind(d.start.format("%H:%M").to_string())
        .bind(d.end.format("%H:%M").to_string())
        .bind(&place)
        .bind(publication)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(changed_meanwhile());
        }
        if let Some(a) = &attendees {
            write_held_attendees(&mut tx, id, a).await?;
        }
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "update",
            "held_occurrence",
            &id.to_string(),
            &format!(
                "{} → {} {}-{} (sequence {expected})",
                o.date,
                d.date,
                d.start.format("%H:%M"),
                d.end.format("%H:%M")
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cancels a held date, conditional on the sequence read; the results report lists it as
    /// not held with the reason. No notice.
    pub async fn cancel_held_date(
        &self,
        user: &User,
        id: i64,
        expected: i64,
        reason: &str,
    ) -> Result<()> {
        let m = user.municipality_id;
        let o = self.occurrence(m, id).await?;
        if !o.is_held_by_others() {
            return Err(not_held("id"));
        }
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE occurrences SET status = 'cancelled', sequence = sequence + 1, updated_at = $4
             WHERE municipality_id = $1 AND id = $2 AND held_by <> '' AND status = 'scheduled' AND sequence = $3",
        )
        .bind(m.0)
        .bind(id)
        .bind(expected)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(changed_meanwhile());
        }
        super::indicators::write_record(&mut tx, m, id, Some(user.id), false, reason, "", 0)
            .await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "cancel",
            "held_occurrence",
            &id.to_string(),
            reason,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn write_held_attendees(
    tx: &mut AnyConnection,
    occurrence: i64,
    attendees: &[(i64, bool)],
) -> Result<()> {
    sqlx::query("DELETE FROM occurrence_attendees WHERE occurrence_id = $1")
        .bind(occurrence)
        .execute(&mut *tx)
        .await?;
    for (p, required) in attendees {
        sqlx::query(
            "INSERT INTO occurrence_attendees (occurrence_id, person_id, required) VALUES ($1, $2, $3)
             ON CONFLICT (occurrence_id, person_id) DO NOTHING",
        )
        .bind(occurrence)
        .bind(p)
        .bind(*required as i64)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
