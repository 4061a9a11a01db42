//! Backup and restore of an embedded (SQLite) database: `renkei backup --out FILE` and
//! `renkei restore --from FILE`. PostgreSQL has its own tools (`pg_dump` / `pg_restore`,
//! README), so both commands refuse a `postgres://` database and name them.
//!
//! **Backup** is `VACUUM INTO`: SQLite copies the database as one read transaction sees it,
//! WAL included, into a fresh compact file. In WAL mode a reader blocks no writer, so the
//! service keeps serving; the copy holds exactly the transactions committed when it started
//! (a plain file copy of `renkei.db` misses what is still in `renkei.db-wal`). The copy is
//! written to `FILE.partial` and renamed when complete, so `FILE` is never half a backup.
//!
//! **Restore** replaces the database file with a backup, after checking that the backup is a
//! sound renkei database (`PRAGMA integrity_check`, the migrations table). The service must be
//! stopped first: it keeps its database open. The old file is kept as `renkei.db.before-restore`
//! (with its WAL checkpointed into it) unless there was none. The restored database is migrated
//! to this version of renkei.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};

use super::{Backend, Db};

/// The file of a `sqlite:` database URL (`sqlite://renkei.db`, `sqlite:renkei.db?mode=rwc`).
pub fn sqlite_file(database_url: &str) -> anyhow::Result<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .with_context(|| postgres_hint(database_url))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        bail!("the database URL names no file / データベースのファイルが指定されていません");
    }
    Ok(PathBuf::from(path))
}

fn postgres_hint(url: &str) -> String {
    format!(
        "backup and restore handle the embedded SQLite database only (got {:?}); for PostgreSQL use \
         pg_dump -Fc -f renkei.dump DATABASE and pg_restore --clean -d DATABASE renkei.dump (see README) / \
         PostgreSQL では pg_dump と pg_restore を使ってください",
        url.split(':').next().unwrap_or("")
    )
}

/// What a backup or restore wrote.
#[derive(Debug, Clone)]
pub struct Copied {
    pub file: PathBuf,
    pub bytes: u64,
}

/// Writes a consistent copy of the live SQLite database to `out` (see the module doc).
pub async fn backup(db: &Db, out: &Path) -> anyhow::Result<Copied> {
    if db.backend != Backend::Sqlite {
        bail!(postgres_hint("postgres"));
    }
    if out.exists() {
        bail!(
            "{} exists already; choose a new file name / {} は既にあります。別のファイル名にしてください",
            out.display(),
            out.display()
        );
    }
    let partial = with_suffix(out, ".partial");
    let _ = std::fs::remove_file(&partial);
    let target = partial
        .to_str()
        .context("the backup file name must be valid UTF-8 / ファイル名が不正です")?
        .to_string();
    let result = sqlx::query("VACUUM INTO $1")
        .bind(&target)
        .execute(&db.pool)
        .await;
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(anyhow::Error::new(e).context(format!(
            "the backup into {} failed / バックアップに失敗しました",
            out.display()
        )));
    }
    std::fs::rename(&partial, out)
        .with_context(|| format!("cannot move the backup to {}", out.display()))?;
    let bytes = std::fs::metadata(out)?.len();
    Ok(Copied {
        file: out.to_path_buf(),
        bytes,
    })
}

/// Checks that `file` is an intact SQLite database written by renkei (read-only).
async fn check_backup(file: &Path) -> anyhow::Result<()> {
    let options = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .immutable(true);
    let mut conn = options.connect().await.with_context(|| {
        format!(
            "{} cannot be opened as a SQLite database / SQLiteのデータベースとして開けません",
            file.display()
        )
    })?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .with_context(|| {
            format!(
                "{} is not a SQLite database / SQLiteのデータベースではありません",
                file.display()
            )
        })?;
    if integrity != "ok" {
        bail!(
            "{} is damaged ({integrity}); take another backup / バックアップが壊れています",
            file.display()
        );
    }
    let migrations: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('_sqlx_migrations', 'municipalities')",
    )
    .fetch_one(&mut conn)
    .await?;
    if migrations != 2 {
        bail!(
            "{} is not a renkei database / renkei のデータベースではありません",
            file.display()
        );
    }
    conn.close().await?;
    Ok(())
}

/// Replaces the database of `database_url` with the backup `from` (see the module doc).
/// Returns where the previous database was kept, if there was one.
pub async fn restore(from: &Path, database_url: &str) -> anyhow::Result<(Copied, Option<PathBuf>)> {
    let target = sqlite_file(database_url)?;
    check_backup(from).await?;
    // Copy next to the target first, so that the final step is one rename.
    let incoming = with_suffix(&target, ".restoring");
    std::fs::copy(from, &incoming)
        .with_context(|| format!("cannot copy {} to {}", from.display(), incoming.display()))?;
    let kept = if target.exists() {
        // Fold the old WAL into the old file, then keep that file aside.
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", target.display()))?
            .journal_mode(SqliteJournalMode::Wal);
        let mut conn = options.connect().await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let kept = with_suffix(&target, ".before-restore");
        std::fs::rename(&target, &kept)?;
        Some(kept)
    } else {
        None
    };
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&target, suffix));
    }
    std::fs::rename(&incoming, &target)?;
    let db = Db::connect(database_url).await?;
    db.migrate().await?;
    db.pool.close().await;
    let bytes = std::fs::metadata(&target)?.len();
    Ok((
        Copied {
            file: target,
            bytes,
        },
        kept,
    ))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
