//! Storage: one schema on SQLite (embedded default) and PostgreSQL (several instances over one
//! database), reached through sqlx's `Any` driver so every query is written once.
//!
//! Rules every query here follows (see also the header of the migrations):
//! * `$1, $2, ...` placeholders (SQLite accepts them too);
//! * tenant-owned rows are always filtered by `municipality_id`, which comes from the
//!   authenticated user, never from the request body;
//! * instants are UTC text from [`now`], dates are `YYYY-MM-DD` text;
//! * a write and its audit-log row are committed in one transaction.

pub mod audit;
pub mod backup;
pub mod booking;
pub mod calendar;
pub mod caseload;
pub mod held;
pub mod indicators;
pub mod jobs;
pub mod master;
pub mod meetings;
pub mod notices;
pub mod placement;
pub mod placement_declines;
pub mod placement_index;
pub mod replies;
pub mod tenancy;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

use crate::error::Result;

/// Tries of a write transaction that the database asked to retry (see [`Db::retrying`]).
pub const WRITE_ATTEMPTS: u32 = 5;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database handle passed around the service (cheap to clone).
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// This instance's cache of the placement state (see [`placement_index`]).
    placement_index: std::sync::Arc<placement_index::PlacementIndex>,
}

impl Db {
    /// Connects to `sqlite://path` (file created if missing, WAL mode) or `postgres://...`.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!(
                "DATABASE_URL must start with sqlite: or postgres: (got {:?}) / DATABASE_URL は sqlite: か postgres: で始めてください",
                url.split(':').next().unwrap_or("")
            );
        };
        let url = if backend == Backend::Sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let options = AnyConnectOptions::from_str(&url)
            .context("DATABASE_URL cannot be parsed / DATABASE_URL を解釈できません")?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let pool_options = match backend {
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(8)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // WAL lets readers proceed during a write; the busy timeout makes concurrent
                        // writers wait for each other instead of failing.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        Ok(())
                    })
                }),
            Backend::Postgres => AnyPoolOptions::new().max_connections(16),
        };
        let pool = pool_options
            .acquire_timeout(Duration::from_secs(15))
            .connect_with(options)
            .await
            .with_context(|| {
                format!("cannot connect to the {backend:?} database / データベースに接続できません")
            })?;
        Ok(Db {
            pool,
            backend,
            placement_index: Default::default(),
        })
    }

    /// Applies pending migrations (idempotent; safe when several instances start at once,
    /// because sqlx takes an advisory lock on PostgreSQL).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("database migration failed / マイグレーションに失敗しました")?;
        Ok(())
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later cannot wait
    /// for another writer and fails at once with "database is locked", whereas an immediate one
    /// waits for the busy timeout like any other writer.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Runs `attempt` (one whole write transaction) again when the database asks for it: a
    /// deadlock or serialization failure on PostgreSQL, a busy SQLite. At most
    /// [`WRITE_ATTEMPTS`] tries with a short jittered pause between them; contention that
    /// outlasts them is a 409 asking to try again, never a 500.
    pub async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await {
                Err(e) if e.is_retryable() => {
                    if tries >= WRITE_ATTEMPTS {
                        tracing::warn!(error = %e, tries, "write transaction kept failing on contention");
                        return Err(crate::error::Error::busy());
                    }
                    use rand::Rng;
                    let base = 10u64 << tries;
                    let pause = rand::thread_rng().gen_range(base / 2..=base);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                other => return other,
            }
        }
    }

    /// For `/readyz`: the database answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Current instant in the stored text form.
pub fn now() -> String {
    instant_text(Utc::now())
}

/// Fixed-width UTC text, so that comparisons of the text agree with comparisons of the instants.
pub fn instant_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A stored instant as people read it: Japan time, to the minute (the text itself if it is not
/// an instant).
pub fn local_time(instant: &str) -> String {
    parse_instant(instant)
        .map(|t| {
            t.with_timezone(&chrono_tz::Asia::Tokyo)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| instant.to_string())
}

pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'` and wraps the text as a substring match.
pub fn like_pattern(q: &str) -> String {
    let mut p = String::with_capacity(q.len() + 2);
    p.push('%');
    for c in q.trim().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}
