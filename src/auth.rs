//! Staff authentication: roles, argon2 password hashes, browser sessions with CSRF tokens, API
//! tokens for scripts, and the login rate limit.
//!
//! Secrets (session cookies, API tokens) are random 128+-bit strings; the database keeps only
//! their SHA-256, so a leaked database does not leak live credentials.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::store::tenancy::User;
use crate::store::{instant_text, parse_instant, Db};

/// Staff roles. Admins manage accounts; coordinators and hub staff change master data (later
/// issues narrow hub staff to placements); viewers only read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Coordinator,
    HubStaff,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Coordinator, Role::HubStaff, Role::Viewer];
    pub fn slug(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::HubStaff => "hub_staff",
            Role::Viewer => "viewer",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.slug() == s)
    }
    pub fn label(self) -> Msg {
        match self {
            Role::Admin => Msg::new("管理者", "Administrator"),
            Role::Coordinator => Msg::new("コーディネーター", "Coordinator"),
            Role::HubStaff => Msg::new("拠点職員", "Hub staff"),
            Role::Viewer => Msg::new("閲覧者", "Viewer"),
        }
    }
    /// Hub staff (and administrators) handle emergency requests and see requesters' data.
    pub fn can_handle_placements(self) -> bool {
        matches!(self, Role::HubStaff | Role::Admin)
    }
    pub fn can_write_master(self) -> bool {
        !matches!(self, Role::Viewer)
    }
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

/// `n` random bytes as URL-safe base64 without padding.
pub fn random_token(n: usize) -> String {
    use base64::Engine;
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(anyhow::anyhow!("argon2: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Minimum password rules, checked where passwords are set.
pub fn check_new_password(password: &str) -> Result<()> {
    if password.chars().count() < 10 {
        return Err(Error::BadRequest(Msg::new(
            "パスワードは10文字以上にしてください",
            "the password must have at least 10 characters",
        )));
    }
    Ok(())
}

/// Login throttling. A failed login slows down only the address it came from: the owner of an
/// account, logging in from another address, is never refused because a stranger guessed.
///
/// An address may try a username [`FREE_FAILURES`] times; after its n-th failure for that
/// username it must wait 2^(n − FREE_FAILURES) seconds (1 s, 2 s, 4 s, … at most
/// [`MAX_DELAY_SECS`]) before the next attempt. Password spraying from one address (many
/// usernames) is slowed the same way after [`FREE_FAILURES_PER_ADDRESS`] failures over all
/// usernames. Failures count for [`THROTTLE_HOURS`], and a successful login from the address
/// clears its failures for that username. An attempt made too early is answered 429 with
/// `Retry-After` without checking the password, so guesses made while throttled are worthless.
/// Everything is counted in the database, so the throttle holds across service instances.
pub const FREE_FAILURES: i64 = 3;
pub const FREE_FAILURES_PER_ADDRESS: i64 = 10;
pub const MAX_DELAY_SECS: i64 = 15 * 60;
pub const THROTTLE_HOURS: i64 = 24;

/// Seconds to wait after `failures` failures, of which `free` cost nothing.
pub fn login_delay_secs(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let exponent = (failures - free).min(20) as u32;
    (1i64 << exponent).min(MAX_DELAY_SECS)
}

/// Checks the password of `username` tried from the client `address`, enforcing the throttle
/// above.
pub async fn login(db: &Db, username: &str, password: &str, address: &str) -> Result<User> {
    let username = username.trim();
    let now = Utc::now();
    let since = instant_text(now - Duration::hours(THROTTLE_HOURS));
    let (per_user, last_user) = db
        .failed_logins_from(Some(username), address, &since)
        .await?;
    let (per_address, last_address) = db.failed_logins_from(None, address, &since).await?;
    let wait_until = |failures: i64, free: i64, last: &Option<String>| {
        last.as_deref()
            .and_then(parse_instant)
            .map(|at| at + Duration::seconds(login_delay_secs(failures, free)))
    };
    let until = [
        wait_until(per_user, FREE_FAILURES, &last_user),
        wait_until(per_address, FREE_FAILURES_PER_ADDRESS, &last_address),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(until) = until.filter(|u| *u > now) {
        let millis = (until - now).num_milliseconds().max(1);
        return Err(Error::RateLimited {
            retry_after_secs: (millis as u64).div_ceil(1000),
        });
    }
    let found = db.user_for_login(username).await?;
    let password = password.to_string();
    // Verify against a dummy hash when the user does not exist, so timing does not reveal names.
    let hash = found
        .as_ref()
        .map(|(_, h)| h.clone())
        .unwrap_or_else(|| DUMMY_HASH.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    let ok = ok && found.is_some();
    db.record_login_attempt(username, address, ok).await?;
    match found {
        Some((user, _)) if ok => Ok(user),
        _ => Err(Error::BadRequest(Msg::new(
            "ユーザー名またはパスワードが違います",
            "wrong username or password",
        ))),
    }
}

#[cfg(test)]
mod throttle_tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let delays: Vec<i64> = (0..8).map(|n| login_delay_secs(n, FREE_FAILURES)).collect();
        assert_eq!(delays, [0, 0, 0, 1, 2, 4, 8, 16]);
        assert_eq!(login_delay_secs(40, FREE_FAILURES), MAX_DELAY_SECS);
        assert_eq!(login_delay_secs(9, FREE_FAILURES_PER_ADDRESS), 0);
        assert_eq!(login_delay_secs(10, FREE_FAILURES_PER_ADDRESS), 1);
    }
}

/// Hash of a random string nobody knows; only used to spend the same time on unknown users.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&random_token(16)).unwrap_or_default());

/// Name of the session cookie. `__Host-` is used when cookies are secure, binding it to the host.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-renkei_session"
    } else {
        "renkei_session"
    }
}

/// Starts a session; returns the cookie value (the secret) and its CSRF token.
pub async fn start_session(db: &Db, user: &User, hours: i64) -> Result<(String, String)> {
    let secret = random_token(32);
    let csrf = random_token(24);
    let expires = instant_text(Utc::now() + Duration::hours(hours));
    db.create_session(&sha256_hex(&secret), user.id, &csrf, &expires)
        .await?;
    Ok((secret, csrf))
}

/// Creates an API token for `user`; the token is shown once and stored only as a hash.
pub async fn create_api_token(db: &Db, user: &User, name: &str) -> Result<String> {
    let token = format!("rk_{}", random_token(32));
    db.create_api_token(user, name, &sha256_hex(&token)).await?;
    Ok(token)
}

/// A logged-in browser user with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub csrf: String,
    pub session_hash: String,
    /// The success message of the action just done (`renkei_flash` cookie, set with the
    /// redirect after a form and cleared by the page that shows it): a code, never free text.
    pub flash: Option<String>,
}

impl SessionUser {
    pub fn check_csrf(&self, submitted: &str) -> Result<()> {
        use subtle_eq::ct_eq;
        if ct_eq(self.csrf.as_bytes(), submitted.as_bytes()) {
            Ok(())
        } else {
            Err(Error::Forbidden(Msg::new(
                "フォームの有効期限が切れました。ページを再読み込みしてからもう一度送信してください",
                "this form has expired; reload the page and send it again",
            )))
        }
    }
}

mod subtle_eq {
    /// Constant-time comparison for secrets of public length.
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Value of the cookie `name` in the request headers.
pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Extractor: the session user of a page request, or `Error::Unauthenticated` (pages turn that
/// into a redirect to the login page).
impl FromRequestParts<AppState> for SessionUser {
    type Rejection = crate::web::PageError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        let login = || crate::web::PageError::Login {
            next: parts
                .uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "/".into()),
        };
        let name = session_cookie_name(state.config.secure_cookies());
        let secret = cookie_value(&parts.headers, name).ok_or_else(login)?;
        let hash = sha256_hex(&secret);
        let (user, csrf) = state.db.session_user(&hash).await?.ok_or_else(login)?;
        Ok(SessionUser {
            user,
            csrf,
            session_hash: hash,
            flash: cookie_value(&parts.headers, crate::web::FLASH_COOKIE),
        })
    }
}

/// Extractor for the JSON API: `Authorization: Bearer rk_...`.
#[derive(Debug, Clone)]
pub struct ApiUser(pub User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(Error::Unauthenticated)?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or(Error::Unauthenticated)?
            .trim();
        let user = state
            .db
            .api_token_user(&sha256_hex(token))
            .await?
            .ok_or(Error::Unauthenticated)?;
        Ok(ApiUser(user))
    }
}

impl ApiUser {
    /// Emergency placement with requesters' personal data: hub staff and administrators.
    pub fn require_hub(&self) -> Result<&User> {
        self.0.require_hub()
    }
    pub fn require_write(&self) -> Result<&User> {
        if self.0.role.can_write_master() {
            Ok(&self.0)
        } else {
            Err(Error::forbidden_write())
        }
    }
}

impl User {
    /// Refuses everyone but hub staff and administrators (requesters' personal data).
    pub fn require_hub(&self) -> Result<&User> {
        if self.role.can_handle_placements() {
            Ok(self)
        } else {
            Err(Error::Forbidden(Msg::new(
                "緊急受入れの相談（個人情報）は拠点職員と管理者だけが扱えます",
                "emergency requests (personal data) are for hub staff and administrators only",
            )))
        }
    }
}
