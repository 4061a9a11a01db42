//! Municipalities (tenants), staff accounts, sessions, API tokens and login attempts.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use sqlx::AnyConnection;

use super::{now, Db};
use crate::auth::Role;
use crate::error::{Error, Result};
use crate::i18n::Msg;

/// Id of the municipality (tenant) a request acts for. Only built from an authenticated user
/// or from the CLI's explicit `--municipality`, never from request input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct MunicipalityId(pub i64);

#[derive(Debug, Clone, Serialize)]
pub struct Municipality {
    pub id: MunicipalityId,
    pub code: String,
    pub name: String,
    pub name_en: String,
}

/// A staff account as the rest of the service sees it (no password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    #[schema(value_type = i64)]
    pub municipality_id: MunicipalityId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub locale: String,
}

fn municipality_from_row(r: &AnyRow) -> Result<Municipality> {
    Ok(Municipality {
        id: MunicipalityId(r.try_get("id")?),
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        name_en: r.try_get("name_en")?,
    })
}

fn user_from_row(r: &AnyRow) -> Result<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        municipality_id: MunicipalityId(r.try_get("municipality_id")?),
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role)
            .ok_or_else(|| anyhow::anyhow!("stored role {role:?} is unknown"))?,
        locale: r.try_get("locale")?,
    })
}

const USER_COLUMNS: &str = "u.id, u.municipality_id, u.username, u.display_name, u.role, u.locale";

impl Db {
    pub async fn create_municipality(
        &self,
        code: &str,
        name: &str,
        name_en: &str,
    ) -> Result<MunicipalityId> {
        let mut conn = self.pool.acquire().await?;
        create_municipality(&mut conn, code, name, name_en).await
    }

    pub async fn municipality(&self, id: MunicipalityId) -> Result<Municipality> {
        let row = sqlx::query("SELECT id, code, name, name_en FROM municipalities WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::not_found("自治体", "municipality"))?;
        municipality_from_row(&row)
    }

    pub async fn municipality_by_code(&self, code: &str) -> Result<Option<Municipality>> {
        let row = sqlx::query("SELECT id, code, name, name_en FROM municipalities WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(municipality_from_row).transpose()
    }

    /// The municipality's own planning rules ([`crate::settings`]).
    pub async fn settings(&self, m: MunicipalityId) -> Result<crate::settings::ValidSettings> {
        let r = sqlx::query(
            "SELECT staff_hours, min_notice_days, max_meetings_per_day, max_minutes_per_day
             FROM municipalities WHERE id = $1",
        )
        .bind(m.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::not_found("自治体", "municipality"))?;
        let hours: String = r.try_get("staff_hours")?;
        Ok(crate::settings::ValidSettings {
            // Written only after parsing; a hand-edited bad value falls back to the default.
            staff_hours: hours.parse().unwrap_or_default(),
            min_notice_days: r.try_get("min_notice_days")?,
            max_meetings_per_day: r
                .try_get::<Option<i64>, _>("max_meetings_per_day")?
                .map(|n| n as u32),
            max_minutes_per_day: r
                .try_get::<Option<i64>, _>("max_minutes_per_day")?
                .map(|n| n as u32),
        })
    }

    /// Replaces the municipality's planning rules (audited with what they were).
    pub async fn set_settings(
        &self,
        user: &User,
        v: &crate::settings::ValidSettings,
    ) -> Result<()> {
        let m = user.municipality_id;
        let before = self.settings(m).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE municipalities SET staff_hours = $2, min_notice_days = $3, max_meetings_per_day = $4,
                 max_minutes_per_day = $5 WHERE id = $1",
        )
        .bind(m.0)
        .bind(v.staff_hours.to_string())
        .bind(v.min_notice_days)
        .bind(v.max_meetings_per_day.map(i64::from))
        .bind(v.max_minutes_per_day.map(i64::from))
        .execute(&mut *tx)
        .await?;
        let show = |s: &crate::settings::ValidSettings| {
            let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            format!(
                "hours {}, notice {}, meetings/day {}, minutes/day {}",
                s.staff_hours,
                opt(s.min_notice_days.map(|n| n.to_string())),
                opt(s.max_meetings_per_day.map(|n| n.to_string())),
                opt(s.max_minutes_per_day.map(|n| n.to_string())),
            )
        };
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "update",
            "settings",
            &m.0.to_string(),
            &format!("{} -> {}", show(&before), show(v)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn municipality_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM municipalities")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn create_user(
        &self,
        municipality: MunicipalityId,
        username: &str,
        display_name: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id = create_user(
            &mut tx,
            municipality,
            username,
            display_name,
            password_hash,
            role,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The account and its password hash, for login. Disabled accounts are not returned.
    pub async fn user_for_login(&self, username: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1 AND u.disabled = 0"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some((user_from_row(&r)?, r.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        Ok(self.user_for_login(username).await?.map(|(u, _)| u))
    }

    pub async fn list_users(&self, municipality: MunicipalityId) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.municipality_id = $1 ORDER BY u.username"
        ))
        .bind(municipality.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn set_user_locale(&self, user_id: i64, locale: &str) -> Result<()> {
        sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
            .bind(locale)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ----- sessions -----

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf: &str,
        expires_at: &str,
    ) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash)
            .bind(user_id)
            .bind(csrf)
            .bind(now())
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user and CSRF token of a live session.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0"
        ))
        .bind(token_hash)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some((user_from_row(&r)?, r.try_get("csrf_token")?))),
            None => Ok(None),
        }
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ----- API tokens -----

    pub async fn create_api_token(&self, user: &User, name: &str, token_hash: &str) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user.id)
        .bind(name)
        .bind(token_hash)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        super::audit::record(
            &mut tx,
            Some(user.municipality_id),
            Some(user.id),
            "create",
            "api_token",
            &id.to_string(),
            name,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    // ----- login attempts -----

    pub async fn record_login_attempt(
        &self,
        username: &str,
        address: &str,
        success: bool,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if success {
            // A success clears this address's failures for the username.
            sqlx::query(
                "DELETE FROM login_attempts WHERE username = $1 AND address = $2 AND success = 0",
            )
            .bind(username)
            .bind(address)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO login_attempts (username, address, at, success) VALUES ($1, $2, $3, $4)",
        )
        .bind(username)
        .bind(address)
        .bind(now())
        .bind(i64::from(success))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Failed attempts from the client `address` since `since` (UTC text), for one username or
    /// (None) for all, and the latest of them.
    pub async fn failed_logins_from(
        &self,
        username: Option<&str>,
        address: &str,
        since: &str,
    ) -> Result<(i64, Option<String>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MAX(at) AS last FROM login_attempts
             WHERE address = $1 AND ($2 = '' OR username = $2) AND success = 0 AND at > $3",
        )
        .bind(address)
        .bind(username.unwrap_or(""))
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("last")?))
    }

    /// Housekeeping: drops expired sessions and old login attempts.
    pub async fn purge_expired(&self, login_attempts_before: &str) -> Result<u64> {
        let a = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now())
            .execute(&self.pool)
            .await?;
        let b = sqlx::query("DELETE FROM login_attempts WHERE at < $1")
            .bind(login_attempts_before)
            .execute(&self.pool)
            .await?;
        Ok(a.rows_affected() + b.rows_affected())
    }
}

/// Creates a municipality inside the caller's transaction.
pub async fn create_municipality(
    conn: &mut AnyConnection,
    code: &str,
    name: &str,
    name_en: &str,
) -> Result<MunicipalityId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO municipalities (code, name, name_en, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .bind(name_en)
    .bind(now())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| match Error::from(e) {
        Error::Conflict(_) => Error::Conflict(Msg::new(
            format!("自治体コード「{code}」は既に登録されています"),
            format!("municipality code \"{code}\" already exists"),
        )),
        other => other,
    })?;
    Ok(MunicipalityId(id))
}

/// Creates an account (and its audit row) inside the caller's transaction.
pub async fn create_user(
    conn: &mut AnyConnection,
    municipality: MunicipalityId,
    username: &str,
    display_name: &str,
    password_hash: &str,
    role: Role,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (municipality_id, username, display_name, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(municipality.0)
    .bind(username)
    .bind(display_name)
    .bind(password_hash)
    .bind(role.slug())
    .bind(now())
    .fetch_one(&mut *conn)
    .await?;
    super::audit::record(
        conn,
        Some(municipality),
        None,
        "create",
        "user",
        &id.to_string(),
        username,
    )
    .await?;
    Ok(id)
}
