//! The job queue: background work (solves, mail delivery, reminders, housekeeping) as rows
//! claimed with a lease.
//!
//! * A claim sets `lease_owner` and `lease_until`; a worker that dies simply stops renewing, and
//!   once the lease has passed any worker may claim the job again. Nothing is lost.
//! * On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so several service instances take
//!   different jobs; on SQLite the single writer gives the same guarantee.
//! * Completing, failing and renewing all check `lease_owner`, so a worker whose lease was taken
//!   over can no longer write (fencing). `complete` can run inside the transaction that stores the
//!   job's effects: the job is done exactly when its effects are committed.
//! * `idempotency_key` makes enqueueing the same work twice a no-op.

use chrono::{Duration, Utc};
use rand::Rng;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::tenancy::MunicipalityId;
use super::{instant_text, now, Backend, Db};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: i64,
    pub municipality_id: Option<i64>,
    pub kind: String,
    pub payload: String,
    /// queued, running, done or failed.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub progress: f64,
    pub progress_note: String,
    pub result: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn job_from_row(r: &AnyRow) -> Result<Job> {
    Ok(Job {
        id: r.try_get("id")?,
        municipality_id: r.try_get("municipality_id")?,
        kind: r.try_get("kind")?,
        payload: r.try_get("payload")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        progress: r.try_get("progress")?,
        progress_note: r.try_get("progress_note")?,
        result: r.try_get("result")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const JOB_COLUMNS: &str = "id, municipality_id, kind, payload, status, attempts, max_attempts, progress, progress_note, result, last_error, created_at, updated_at";

/// What to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub municipality: Option<MunicipalityId>,
    pub kind: &'a str,
    pub payload: serde_json::Value,
    pub idempotency_key: Option<String>,
    pub max_attempts: i64,
}

impl<'a> NewJob<'a> {
    pub fn new(kind: &'a str, payload: serde_json::Value) -> NewJob<'a> {
        NewJob {
            municipality: None,
            kind,
            payload,
            idempotency_key: None,
            max_attempts: 5,
        }
    }
}

/// Exponential backoff with full jitter: up to 2^attempts seconds, capped at 10 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let cap = 2i64.saturating_pow(attempts.clamp(0, 20) as u32).min(600);
    Duration::milliseconds(rand::thread_rng().gen_range(500..=cap.max(1) * 1000))
}

/// Enqueues in the caller's transaction (the transactional-outbox shape later issues rely on).
/// Returns the job id, or the existing job's id when the idempotency key was seen before.
pub async fn enqueue(conn: &mut AnyConnection, job: &NewJob<'_>) -> Result<i64> {
    let t = now();
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO jobs (municipality_id, kind, payload, idempotency_key, status, max_attempts, run_after, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'queued', $5, $6, $6, $6)
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(job.municipality.map(|m| m.0))
    .bind(job.kind)
    .bind(job.payload.to_string())
    .bind(job.idempotency_key.as_deref())
    .bind(job.max_attempts)
    .bind(&t)
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(id) => Ok(id),
        None => Ok(
            sqlx::query_scalar("SELECT id FROM jobs WHERE idempotency_key = $1")
                .bind(job.idempotency_key.as_deref())
                .fetch_one(&mut *conn)
                .await?,
        ),
    }
}

impl Db {
    /// Deletes finished (done or failed) jobs of `kind` older than `age`: periodic jobs would
    /// pile up.
    pub async fn purge_finished_jobs(&self, kind: &str, age: Duration) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM jobs WHERE kind = $1 AND status IN ('done', 'failed') AND updated_at < $2",
        )
        .bind(kind)
        .bind(instant_text(Utc::now() - age))
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    pub async fn enqueue_job(&self, job: &NewJob<'_>) -> Result<i64> {
        let mut conn = self.pool.acquire().await?;
        enqueue(&mut conn, job).await
    }

    /// Claims the next due job (or one whose lease expired) for `worker` for `lease`.
    pub async fn claim_job(
        &self,
        worker: &str,
        lease: Duration,
        kinds: &[&str],
    ) -> Result<Option<Job>> {
        let t = Utc::now();
        let now_text = instant_text(t);
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        // Kinds are our own constants, never user input; quoting them inline keeps one query text.
        let kinds_sql = kinds
            .iter()
            .map(|k| format!("'{}'", k.replace('\'', "")))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
             WHERE id = (
                SELECT id FROM jobs
                WHERE kind IN ({kinds_sql}) AND attempts < max_attempts
                  AND ((status = 'queued' AND run_after <= $3) OR (status = 'running' AND lease_until < $3))
                ORDER BY run_after, id LIMIT 1 {lock})
             RETURNING {JOB_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(worker)
            .bind(instant_text(t + lease))
            .bind(&now_text)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Renews the lease and reports progress; false when the lease was lost.
    pub async fn job_progress(
        &self,
        id: i64,
        worker: &str,
        lease: Duration,
        progress: f64,
        note: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET progress = $3, progress_note = $4, lease_until = $5, updated_at = $6
             WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(worker)
        .bind(progress.clamp(0.0, 1.0))
        .bind(note)
        .bind(instant_text(Utc::now() + lease))
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Extends the lease only (the worker's heartbeat); false when the lease was lost.
    pub async fn renew_job_lease(&self, id: i64, worker: &str, lease: Duration) -> Result<bool> {
        let done = sqlx::query("UPDATE jobs SET lease_until = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'running'")
            .bind(id)
            .bind(worker)
            .bind(instant_text(Utc::now() + lease))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn complete_job(
        &self,
        id: i64,
        worker: &str,
        result: &serde_json::Value,
    ) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        complete(&mut conn, id, worker, result).await
    }

    /// Records a failure: retried later with backoff while attempts remain, else failed for good.
    /// `permanent` failures (bad input, a rejected address) are not retried.
    pub async fn fail_job(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        permanent: bool,
    ) -> Result<bool> {
        let attempts: Option<(i64, i64)> = sqlx::query(
            "SELECT attempts, max_attempts FROM jobs WHERE id = $1 AND lease_owner = $2",
        )
        .bind(id)
        .bind(worker)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| Ok::<_, Error>((r.try_get("attempts")?, r.try_get("max_attempts")?)))
        .transpose()?;
        let Some((attempts, max)) = attempts else {
            return Ok(false);
        };
        let retry = !permanent && attempts < max;
        let done = sqlx::query(
            "UPDATE jobs SET status = $3, run_after = $4, last_error = $5, lease_owner = NULL, lease_until = NULL, updated_at = $6
             WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
        )
        .bind(id)
        .bind(worker)
        .bind(if retry { "queued" } else { "failed" })
        .bind(instant_text(Utc::now() + backoff(attempts)))
        .bind(error)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks running jobs whose lease expired after their last allowed attempt as failed, so
    /// they show up to the coordinator instead of sitting in `running` forever.
    pub async fn fail_abandoned_jobs(&self) -> Result<u64> {
        let t = now();
        let done = sqlx::query(
            "UPDATE jobs SET status = 'failed', last_error = COALESCE(last_error, 'worker stopped while running / 処理中に停止しました'),
                 lease_owner = NULL, updated_at = $1
             WHERE status = 'running' AND lease_until < $1 AND attempts >= max_attempts",
        )
        .bind(&t)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// A job as its owner may see it: tenant jobs only to their municipality.
    pub async fn job(&self, municipality: MunicipalityId, id: i64) -> Result<Job> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND municipality_id = $2"
        ))
        .bind(id)
        .bind(municipality.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::not_found("ジョブ", "job"))?;
        job_from_row(&row)
    }

    pub async fn job_by_id(&self, id: i64) -> Result<Option<Job>> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }
}

/// Completes a job inside the caller's transaction; false (and nothing written) when this
/// worker no longer holds the lease, in which case the caller must roll back its effects.
pub async fn complete(
    conn: &mut AnyConnection,
    id: i64,
    worker: &str,
    result: &serde_json::Value,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'done', progress = 1, result = $3, lease_owner = NULL, lease_until = NULL, updated_at = $4
         WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(worker)
    .bind(result.to_string())
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
