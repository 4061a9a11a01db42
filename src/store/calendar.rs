//! Dates on which people or places are unavailable: absences of people (休暇・出張) and extra
//! closures (臨時休業) of the municipality or of one venue. The planners read both.

use renkei_solver::calendar::BusinessCalendar;
use serde::Serialize;
use sqlx::Row;

use super::tenancy::{MunicipalityId, User};
use super::Db;
use crate::error::{Error, Result};
use crate::master::ValidDateRange;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Absence {
    pub id: i64,
    pub person_id: i64,
    pub from: String,
    pub to: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Closure {
    pub id: i64,
    pub date: String,
    pub reason: String,
}

impl Db {
    pub async fn absences(&self, m: MunicipalityId, person_id: i64) -> Result<Vec<Absence>> {
        let rows = sqlx::query(
            "SELECT id, person_id, from_date, to_date, reason FROM absences WHERE municipality_id = $1 AND person_id = $2 ORDER BY from_date",
        )
        .bind(m.0)
        .bind(person_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Absence {
                    id: r.try_get("id")?,
                    person_id: r.try_get("person_id")?,
                    from: r.try_get("from_date")?,
                    to: r.try_get("to_date")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }

    pub async fn add_absence(
        &self,
        user: &User,
        person_id: i64,
        range: ValidDateRange,
        reason: &str,
    ) -> Result<i64> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM people WHERE municipality_id = $1 AND id = $2")
                .bind(m.0)
                .bind(person_id)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(Error::not_found("人", "person"));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO absences (municipality_id, person_id, from_date, to_date, reason) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(m.0)
        .bind(person_id)
        .bind(range.from.to_string())
        .bind(range.to.to_string())
        .bind(reason)
        .fetch_one(&mut *tx)
        .await?;
        let detail = format!("person {person_id}: {} - {} {reason}", range.from, range.to);
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "create",
            "absence",
            &id.to_string(),
            &detail,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn delete_absence(&self, user: &User, id: i64) -> Result<()> {
        self.delete_dated(
            user,
            "absences",
            "absence",
            id,
            Error::not_found("休暇", "absence"),
        )
        .await
    }

    /// Extra closures of the whole municipality, by date.
    pub async fn closures(&self, m: MunicipalityId) -> Result<Vec<Closure>> {
        let rows = sqlx::query("SELECT id, date, reason FROM closures WHERE municipality_id = $1 AND venue_id IS NULL ORDER BY date")
            .bind(m.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Closure {
                    id: r.try_get("id")?,
                    date: r.try_get("date")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }

    /// The municipality's business calendar: default opening hours, holidays, 年末年始 and
    /// its extra closures.
    pub async fn business_calendar(&self, m: MunicipalityId) -> Result<BusinessCalendar> {
        let mut conn = self.pool.acquire().await?;
        business_calendar_on(&mut conn, m).await
    }

    /// Closes the municipality's offices on every day of `range` (one row per day, so the
    /// calendar can look days up directly).
    pub async fn add_closure(
        &self,
        user: &User,
        range: ValidDateRange,
        reason: &str,
    ) -> Result<Vec<i64>> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let mut ids = Vec::new();
        for day in range.from.iter_days().take_while(|d| *d <= range.to) {
            let id: i64 = sqlx::query_scalar("INSERT INTO closures (municipality_id, date, reason) VALUES ($1, $2, $3) RETURNING id")
                .bind(m.0)
                .bind(day.to_string())
                .bind(reason)
                .fetch_one(&mut *tx)
                .await?;
            super::audit::record(
                &mut tx,
                Some(m),
                Some(user.id),
                "create",
                "closure",
                &id.to_string(),
                &format!("{day} {reason}"),
            )
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn delete_closure(&self, user: &User, id: i64) -> Result<()> {
        self.delete_dated(
            user,
            "closures",
            "closure",
            id,
            Error::not_found("休業日", "closure"),
        )
        .await
    }

    async fn delete_dated(
        &self,
        user: &User,
        table: &str,
        entity: &str,
        id: i64,
        missing: Error,
    ) -> Result<()> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(&format!(
            "DELETE FROM {table} WHERE municipality_id = $1 AND id = $2"
        ))
        .bind(m.0)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(missing);
        }
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "delete",
            entity,
            &id.to_string(),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The municipality's business calendar read on `conn` (inside a transaction that holds the
/// connection, so that no second one is taken from the pool).
pub(crate) async fn business_calendar_on(
    conn: &mut sqlx::AnyConnection,
    m: MunicipalityId,
) -> Result<BusinessCalendar> {
    let rows = sqlx::query(
        "SELECT date, reason FROM closures WHERE municipality_id = $1 AND venue_id IS NULL ORDER BY date",
    )
    .bind(m.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut extra_closures = std::collections::BTreeMap::new();
    for r in &rows {
        let date: String = r.try_get("date")?;
        let parsed = date
            .parse()
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored closure date {date:?}: {e}")))?;
        extra_closures.insert(parsed, r.try_get("reason")?);
    }
    Ok(BusinessCalendar {
        extra_closures,
        ..BusinessCalendar::default()
    })
}
