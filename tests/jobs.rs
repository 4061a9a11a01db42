//! The job queue on both engines: idempotent enqueue, exclusive claims under concurrency,
//! lease expiry after a crash, fencing of a worker that lost its lease, retries and failure.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use renkei::jobs::{JobError, Worker};
use renkei::store::jobs::NewJob;
use serde_json::json;
use tokio::sync::Mutex;

use crate::both_engines;
use crate::support::{tenant, Engine, TestDb};

const KIND: &str = "test.echo";

fn job(n: i64) -> NewJob<'static> {
    NewJob::new(KIND, json!({ "n": n }))
}

async fn enqueue_is_idempotent(engine: Engine) {
    let t = TestDb::new(engine).await;
    let mut a = job(1);
    a.idempotency_key = Some("publish:42:v1".into());
    let first = t.db.enqueue_job(&a).await.unwrap();
    let second = t.db.enqueue_job(&a).await.unwrap();
    assert_eq!(first, second);
    let other = t.db.enqueue_job(&job(2)).await.unwrap();
    assert_ne!(other, first);
    let unkeyed = t.db.enqueue_job(&job(2)).await.unwrap();
    assert_ne!(unkeyed, other, "jobs without a key are never merged");
}
both_engines!(enqueue_is_idempotent);

async fn concurrent_workers_claim_each_job_once(engine: Engine) {
    let t = TestDb::new(engine).await;
    const JOBS: i64 = 60;
    for n in 0..JOBS {
        t.db.enqueue_job(&job(n)).await.unwrap();
    }
    let claims: Arc<Mutex<HashMap<i64, Vec<String>>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..6 {
        let db = t.db.clone();
        let claims = claims.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            while let Some(j) = db
                .claim_job(&worker, Duration::minutes(5), &[KIND])
                .await
                .unwrap()
            {
                claims
                    .lock()
                    .await
                    .entry(j.id)
                    .or_default()
                    .push(worker.clone());
                assert!(db
                    .complete_job(j.id, &worker, &json!({"ok": true}))
                    .await
                    .unwrap());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let claims = claims.lock().await;
    assert_eq!(claims.len() as i64, JOBS, "every job was claimed");
    let doubles: Vec<_> = claims.iter().filter(|(_, w)| w.len() > 1).collect();
    assert!(doubles.is_empty(), "jobs claimed twice: {doubles:?}");
    let workers: std::collections::HashSet<&String> = claims.values().flatten().collect();
    assert!(workers.len() > 1, "the work was shared between workers");
}
both_engines!(concurrent_workers_claim_each_job_once);

async fn crashed_worker_loses_nothing_and_is_fenced(engine: Engine) {
    let t = TestDb::new(engine).await;
    let id = t.db.enqueue_job(&job(7)).await.unwrap();
    // Worker A claims with a lease that has already run out, then "crashes" (never finishes).
    let a =
        t.db.claim_job("A", Duration::milliseconds(-1), &[KIND])
            .await
            .unwrap()
            .unwrap();
    assert_eq!(a.id, id);
    // Worker B takes the job over once the lease has passed.
    let b =
        t.db.claim_job("B", Duration::minutes(5), &[KIND])
            .await
            .unwrap()
            .expect("expired lease is claimable");
    assert_eq!(b.id, id);
    assert_eq!(b.attempts, 2);
    // A comes back to life: it can neither report progress, nor complete, nor fail the job.
    assert!(!t
        .db
        .job_progress(id, "A", Duration::minutes(1), 0.5, "")
        .await
        .unwrap());
    assert!(!t
        .db
        .complete_job(id, "A", &json!({"by": "A"}))
        .await
        .unwrap());
    assert!(!t.db.fail_job(id, "A", "late", false).await.unwrap());
    assert!(t
        .db
        .complete_job(id, "B", &json!({"by": "B"}))
        .await
        .unwrap());
    let done = t.db.job_by_id(id).await.unwrap().unwrap();
    assert_eq!(done.status, "done");
    assert_eq!(done.result.as_deref(), Some(r#"{"by":"B"}"#));
    assert!(t
        .db
        .claim_job("C", Duration::minutes(5), &[KIND])
        .await
        .unwrap()
        .is_none());
}
both_engines!(crashed_worker_loses_nothing_and_is_fenced);

async fn failures_retry_with_backoff_then_stop(engine: Engine) {
    let t = TestDb::new(engine).await;
    let mut j = job(1);
    j.max_attempts = 2;
    let id = t.db.enqueue_job(&j).await.unwrap();
    t.db.claim_job("W", Duration::minutes(1), &[KIND])
        .await
        .unwrap()
        .unwrap();
    assert!(t.db.fail_job(id, "W", "smtp 421", false).await.unwrap());
    let after_first = t.db.job_by_id(id).await.unwrap().unwrap();
    assert_eq!(after_first.status, "queued");
    assert_eq!(after_first.last_error.as_deref(), Some("smtp 421"));
    // Backoff: not claimable right away.
    assert!(t
        .db
        .claim_job("W", Duration::minutes(1), &[KIND])
        .await
        .unwrap()
        .is_none());
    // Make it due and fail it again: the last attempt is final.
    sqlx::query("UPDATE jobs SET run_after = '2000-01-01T00:00:00.000000Z' WHERE id = $1")
        .bind(id)
        .execute(&t.db.pool)
        .await
        .unwrap();
    t.db.claim_job("W", Duration::minutes(1), &[KIND])
        .await
        .unwrap()
        .unwrap();
    assert!(t
        .db
        .fail_job(id, "W", "smtp 421 again", false)
        .await
        .unwrap());
    assert_eq!(t.db.job_by_id(id).await.unwrap().unwrap().status, "failed");

    // A permanent failure is not retried even with attempts left.
    let id = t.db.enqueue_job(&job(2)).await.unwrap();
    t.db.claim_job("W", Duration::minutes(1), &[KIND])
        .await
        .unwrap()
        .unwrap();
    t.db.fail_job(id, "W", "550 no such user", true)
        .await
        .unwrap();
    assert_eq!(t.db.job_by_id(id).await.unwrap().unwrap().status, "failed");
}
both_engines!(failures_retry_with_backoff_then_stop);

async fn worker_runs_handlers_with_progress(engine: Engine) {
    let t = TestDb::new(engine).await;
    let tenant = tenant(&t.db, "gamma").await;
    let mut worker = Worker::new(t.db.clone());
    worker.register(KIND, |ctx| async move {
        let n = serde_json::from_str::<serde_json::Value>(&ctx.job.payload).unwrap()["n"]
            .as_i64()
            .unwrap();
        assert!(ctx.progress(0.5, "halfway / 半分").await, "lease is held");
        if n < 0 {
            return Err(JobError::Permanent("negative input / 負の値".into()));
        }
        Ok(json!({ "double": n * 2 }))
    });
    let mut ok = job(21);
    ok.municipality = Some(tenant.id);
    let ok_id = t.db.enqueue_job(&ok).await.unwrap();
    let bad_id = t.db.enqueue_job(&job(-1)).await.unwrap();
    assert!(worker.run_once().await.unwrap());
    assert!(worker.run_once().await.unwrap());
    let done = t.db.job(tenant.id, ok_id).await.unwrap();
    assert_eq!(
        (done.status.as_str(), done.result.as_deref()),
        ("done", Some(r#"{"double":42}"#))
    );
    assert_eq!(done.progress, 1.0);
    let failed = t.db.job_by_id(bad_id).await.unwrap().unwrap();
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.attempts, 1);
    // Another municipality cannot see the job.
    let other = tenant_other(&t).await;
    assert!(t.db.job(other, ok_id).await.is_err());
}
both_engines!(worker_runs_handlers_with_progress);

async fn tenant_other(t: &TestDb) -> renkei::store::tenancy::MunicipalityId {
    t.db.create_municipality("other", "他市", "").await.unwrap()
}
