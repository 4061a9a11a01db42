//! The worker that runs queued jobs (see `store::jobs` for the queue's guarantees).
//!
//! Each service instance runs one `Worker` loop. Handlers are plain async functions registered
//! by job kind; they report progress through `JobContext`, which also renews the lease. CPU-heavy
//! handlers (solves) must use `spawn_blocking` so the async runtime keeps serving requests.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};

use crate::store::jobs::{Job, NewJob};
use crate::store::{instant_text, Db};

/// Why a handler failed: transient failures are retried with backoff, permanent ones are not.
#[derive(Debug)]
pub enum JobError {
    Transient(String),
    Permanent(String),
}

pub type JobResult = Result<serde_json::Value, JobError>;
type Handler =
    Arc<dyn Fn(JobContext) -> Pin<Box<dyn Future<Output = JobResult> + Send>> + Send + Sync>;

/// What a running handler gets: the job, the database, and a way to report progress.
#[derive(Clone)]
pub struct JobContext {
    pub db: Db,
    pub job: Job,
    pub worker_id: String,
    lease: Duration,
}

impl JobContext {
    /// Reports progress (0.0-1.0) with a short note and renews the lease. Returns false when the
    /// lease was lost (another worker took the job over): the handler should stop.
    pub async fn progress(&self, fraction: f64, note: &str) -> bool {
        self.db
            .job_progress(self.job.id, &self.worker_id, self.lease, fraction, note)
            .await
            .unwrap_or(false)
    }
}

pub struct Worker {
    db: Db,
    id: String,
    lease: Duration,
    poll: StdDuration,
    handlers: HashMap<&'static str, Handler>,
    /// Jobs queued every so often (kind, period): see [`Worker::every`].
    periodic: Vec<(&'static str, StdDuration)>,
}

/// Kind of the periodic housekeeping job (expired sessions, old login attempts).
pub const HOUSEKEEPING: &str = "housekeeping";

impl Worker {
    pub fn new(db: Db) -> Worker {
        let id = format!("{}-{}", hostname(), crate::auth::random_token(4));
        let mut w = Worker {
            db,
            id,
            lease: Duration::seconds(60),
            poll: StdDuration::from_millis(500),
            handlers: HashMap::new(),
            periodic: Vec::new(),
        };
        w.register(HOUSEKEEPING, |ctx| async move {
            let before = instant_text(Utc::now() - Duration::days(30));
            let purged = ctx
                .db
                .purge_expired(&before)
                .await
                .map_err(|e| JobError::Transient(e.to_string()))?;
            let failed = ctx
                .db
                .fail_abandoned_jobs()
                .await
                .map_err(|e| JobError::Transient(e.to_string()))?;
            // Holds past their expiry: free their nights and reopen their requests (reads
            // already treat them as free; this brings the requests' status along).
            let expired_holds = ctx
                .db
                .expire_all_holds()
                .await
                .map_err(|e| JobError::Transient(e.to_string()))?;
            Ok(serde_json::json!({ "purged_rows": purged, "abandoned_jobs_failed": failed, "expired_holds": expired_holds }))
        });
        w
    }

    pub fn with_lease(mut self, lease: Duration) -> Worker {
        self.lease = lease;
        self
    }

    pub fn with_poll_interval(mut self, poll: StdDuration) -> Worker {
        self.poll = poll;
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn register<F, Fut>(&mut self, kind: &'static str, f: F)
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        self.handlers
            .insert(kind, Arc::new(move |ctx| Box::pin(f(ctx))));
    }

    /// Queues a `kind` job once every `period` (at least a second). Every instance queues it
    /// under the same idempotency key per period, so one job runs per period, on whichever
    /// worker claims it.
    pub fn every(&mut self, kind: &'static str, period: StdDuration) {
        self.periodic
            .push((kind, period.max(StdDuration::from_secs(1))));
    }

    /// Claims and runs one job; false when none was due.
    pub async fn run_once(&self) -> crate::error::Result<bool> {
        let kinds: Vec<&str> = self.handlers.keys().copied().collect();
        let Some(job) = self.db.claim_job(&self.id, self.lease, &kinds).await? else {
            return Ok(false);
        };
        let handler = self.handlers[job.kind.as_str()].clone();
        let ctx = JobContext {
            db: self.db.clone(),
            job: job.clone(),
            worker_id: self.id.clone(),
            lease: self.lease,
        };
        // Renew the lease in the background while the handler runs, so slow handlers that do
        // not report progress are not taken over.
        let renew = {
            let ctx = ctx.clone();
            let every = (self.lease / 3)
                .to_std()
                .unwrap_or(StdDuration::from_secs(10));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let _ = ctx
                        .db
                        .renew_job_lease(ctx.job.id, &ctx.worker_id, ctx.lease)
                        .await;
                }
            })
        };
        let outcome = tokio::spawn(handler(ctx)).await;
        renew.abort();
        match outcome {
            Ok(Ok(result)) => {
                self.db.complete_job(job.id, &self.id, &result).await?;
                tracing::info!(job = job.id, kind = %job.kind, "job done");
            }
            Ok(Err(JobError::Transient(e))) => {
                tracing::warn!(job = job.id, kind = %job.kind, error = %e, "job failed, will retry");
                self.db.fail_job(job.id, &self.id, &e, false).await?;
            }
            Ok(Err(JobError::Permanent(e))) => {
                tracing::warn!(job = job.id, kind = %job.kind, error = %e, "job failed permanently");
                self.db.fail_job(job.id, &self.id, &e, true).await?;
            }
            Err(panic) => {
                tracing::error!(job = job.id, kind = %job.kind, "job handler panicked");
                self.db
                    .fail_job(
                        job.id,
                        &self.id,
                        &format!("handler panicked: {panic}"),
                        false,
                    )
                    .await?;
            }
        }
        Ok(true)
    }

    /// Runs until `shutdown` resolves. Also enqueues the hourly housekeeping job; its idempotency
    /// key makes that safe with several instances.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last_housekeeping = String::new();
        let mut last_periodic: Vec<i64> = vec![-1; self.periodic.len()];
        loop {
            for (i, (kind, period)) in self.periodic.iter().enumerate() {
                let slot = Utc::now().timestamp() / period.as_secs() as i64;
                if slot != last_periodic[i] {
                    let mut job = NewJob::new(kind, serde_json::json!({}));
                    job.idempotency_key = Some(format!("{kind}:{}:{slot}", period.as_secs()));
                    // Retried by the next period's job, not by backoff.
                    job.max_attempts = 1;
                    if self.db.enqueue_job(&job).await.is_ok() {
                        last_periodic[i] = slot;
                    }
                }
            }
            let hour = Utc::now().format("%Y-%m-%dT%H").to_string();
            if hour != last_housekeeping {
                let mut job = NewJob::new(HOUSEKEEPING, serde_json::json!({}));
                job.idempotency_key = Some(format!("{HOUSEKEEPING}:{hour}"));
                if self.db.enqueue_job(&job).await.is_ok() {
                    last_housekeeping = hour;
                }
            }
            let ran = match self.run_once().await {
                Ok(ran) => ran,
                Err(e) => {
                    tracing::error!(error = %e, "job worker could not claim");
                    false
                }
            };
            if ran {
                continue;
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
        tracing::info!(worker = %self.id, "job worker stopped");
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "renkei".to_string())
}
