//! The mail worker: claims due notices (with a lease), renders each once, delivers the stored
//! bytes over SMTP (lettre) or into the local outbox folder, and records the outcome.
//!
//! * Transient failures (SMTP 4xx, connection refused, timeouts) are retried with exponential
//!   backoff and jitter (`store::jobs::backoff`), up to [`MAX_ATTEMPTS`]; permanent ones (5xx,
//!   a malformed address) stop at once and are shown to the coordinator with the reason.
//! * A worker that dies after sending but before recording leaves the notice to be sent again
//!   after its lease: the same bytes with the same Message-ID (at-least-once; receivers and
//!   calendar clients treat the repeat as the same message). Nothing is lost.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{render, Rendered, Settings};
use crate::config::Config;
use crate::error::Result;
use crate::store::jobs::backoff;
use crate::store::notices::Claimed;
use crate::store::Db;

/// Deliveries in flight per worker (and SMTP connections in its pool). lettre 0.11 waits for
/// the server's delayed ACK on every message (about 40 ms, no TCP_NODELAY), so throughput comes
/// from messages in parallel rather than from a faster loop.
pub const DELIVERIES: usize = 32;

/// After this many failed attempts a notice is given up (about a day of backoff).
pub const MAX_ATTEMPTS: i64 = 16;

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// The local outbox: one `.eml` file per notice (the embedded default).
    Folder(PathBuf),
}

impl Transport {
    pub fn from_config(c: &Config) -> anyhow::Result<Transport> {
        if c.smtp_url.trim().is_empty() {
            return Ok(Transport::Folder(PathBuf::from(&c.outbox_dir)));
        }
        let t = AsyncSmtpTransport::<Tokio1Executor>::from_url(c.smtp_url.trim())
            .map_err(|e| anyhow::anyhow!("smtp_url cannot be used: {e} / smtp_url を使えません"))?
            .timeout(Some(StdDuration::from_secs(30)))
            .pool_config(PoolConfig::new().max_size(DELIVERIES as u32))
            .build();
        Ok(Transport::Smtp(t))
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(_) => "SMTP".into(),
            Transport::Folder(dir) => format!("folder {}", dir.display()),
        }
    }
}

/// The file of a notice in the local outbox folder.
pub fn eml_name(id: i64, kind: crate::store::notices::NoticeKind) -> String {
    format!("{id:08}-{}.eml", kind.slug())
}

/// Why a delivery failed.
pub enum Failure {
    Transient(String),
    Permanent(String),
}

async fn deliver(
    transport: &Transport,
    n: &Claimed,
    from: &str,
    raw: &str,
) -> std::result::Result<(), Failure> {
    match transport {
        Transport::Folder(dir) => {
            let write = async {
                tokio::fs::create_dir_all(dir).await?;
                let name = eml_name(n.id, n.kind);
                let tmp = dir.join(format!(".{name}.tmp"));
                tokio::fs::write(&tmp, raw.as_bytes()).await?;
                tokio::fs::rename(&tmp, dir.join(name)).await
            };
            write
                .await
                .map_err(|e| Failure::Transient(format!("outbox folder {}: {e}", dir.display())))
        }
        Transport::Smtp(smtp) => {
            let envelope = Envelope::new(
                from.parse().ok(),
                vec![n.recipient_email.trim().parse().map_err(|e| {
                    Failure::Permanent(format!("bad address {}: {e}", n.recipient_email))
                })?],
            )
            .map_err(|e| Failure::Permanent(format!("envelope: {e}")))?;
            match smtp.send_raw(&envelope, raw.as_bytes()).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(Failure::Permanent(format!(
                    "送信先のサーバーが拒否しました（再送しません） / the server refused it permanently: {e}"
                ))),
                Err(e) => Err(Failure::Transient(format!(
                    "一時的な送信失敗（自動で再送します） / temporary failure, will retry: {e}"
                ))),
            }
        }
    }
}

/// One worker of the outbox (one per service instance; several may share a database).
#[derive(Clone)]
pub struct Outbox {
    db: Db,
    settings: Arc<Settings>,
    transport: Transport,
    id: String,
    lease: Duration,
    batch: i64,
    poll: StdDuration,
}

impl Outbox {
    pub fn new(db: Db, settings: Settings, transport: Transport) -> Outbox {
        Outbox {
            db,
            settings: Arc::new(settings),
            transport,
            id: format!("mail-{}", crate::auth::random_token(6)),
            lease: Duration::seconds(120),
            batch: 100,
            poll: StdDuration::from_secs(2),
        }
    }

    pub fn from_config(db: Db, c: &Config) -> anyhow::Result<Outbox> {
        Ok(Outbox::new(
            db,
            Settings::from_config(c)?,
            Transport::from_config(c)?,
        ))
    }

    pub fn with_lease(mut self, lease: Duration) -> Outbox {
        self.lease = lease;
        self
    }

    pub fn with_batch(mut self, batch: i64) -> Outbox {
        self.batch = batch;
        self
    }

    pub fn with_poll_interval(mut self, poll: StdDuration) -> Outbox {
        self.poll = poll;
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Claims one batch and processes it (up to [`DELIVERIES`] at once). Returns how many notices
    /// it claimed.
    pub async fn run_once(&self) -> Result<usize> {
        self.run_limited(usize::MAX).await
    }

    /// [`Outbox::run_once`], but stops after `deliveries` messages have been handed to the
    /// transport, leaving the rest of the batch claimed (what a worker killed mid-batch leaves).
    pub async fn run_limited(&self, deliveries: usize) -> Result<usize> {
        let claimed = self
            .db
            .claim_notices(&self.id, self.lease, self.batch)
            .await?;
        let count = claimed.len();
        let limit = Arc::new(tokio::sync::Semaphore::new(DELIVERIES));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, n) in claimed.into_iter().enumerate() {
            if i >= deliveries {
                break;
            }
            let this = self.clone();
            let permit = limit.clone().acquire_owned().await;
            tasks.spawn(async move {
                let _permit = permit;
                if let Err(e) = this.process(&n).await {
                    tracing::warn!(notice = n.id, error = %e, "notice not processed; retried after the lease");
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        Ok(count)
    }

    async fn process(&self, n: &Claimed) -> Result<()> {
        let raw = match &n.raw {
            Some(raw) => raw.clone(),
            None => match render(&self.db, &self.settings, n).await? {
                Rendered::Message { subject, raw, link } => {
                    let link = link.as_ref().map(|(h, k, e)| (h.as_str(), *k, *e));
                    if !self
                        .db
                        .notice_rendered(n, &self.id, &subject, &raw, link)
                        .await?
                    {
                        return Ok(());
                    }
                    raw
                }
                Rendered::Superseded(why) => {
                    self.db
                        .notice_stopped(n.id, &self.id, "superseded", &why)
                        .await?;
                    return Ok(());
                }
                Rendered::Failed(why) => {
                    self.db
                        .notice_stopped(n.id, &self.id, "failed", &why)
                        .await?;
                    return Ok(());
                }
            },
        };
        let from = self.settings.from.email.to_string();
        match deliver(&self.transport, n, &from, &raw).await {
            Ok(()) => {
                self.db.notice_sent(n.id, &self.id).await?;
            }
            Err(Failure::Permanent(why)) => {
                tracing::warn!(notice = n.id, %why, "notice failed permanently");
                self.db
                    .notice_stopped(n.id, &self.id, "failed", &why)
                    .await?;
            }
            Err(Failure::Transient(why)) if n.attempts + 1 >= MAX_ATTEMPTS => {
                let why = format!(
                    "{MAX_ATTEMPTS}回試みても送れませんでした / gave up after {MAX_ATTEMPTS} attempts: {why}"
                );
                self.db
                    .notice_stopped(n.id, &self.id, "failed", &why)
                    .await?;
            }
            Err(Failure::Transient(why)) => {
                let next = Utc::now() + backoff(n.attempts + 1);
                self.db.notice_retry(n.id, &self.id, &why, next).await?;
            }
        }
        Ok(())
    }

    /// Runs until `shutdown`: a batch, then the next at once while there is work, else a pause.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tracing::info!(worker = %self.id, transport = %self.transport.describe(), "mail worker started");
        tokio::pin!(shutdown);
        loop {
            let pause = match self.run_once().await {
                Ok(n) if n > 0 => StdDuration::ZERO,
                Ok(_) => self.poll,
                Err(e) => {
                    tracing::warn!(error = %e, "mail worker: claiming failed");
                    self.poll
                }
            };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}
