//! Error policy.
//!
//! * One `Error` type for the service layer. Store, auth and import code return it; HTTP status
//!   codes are assigned in exactly one place, `Error::status` below.
//! * 4xx errors are the user's to fix: their body says what was wrong and how to fix it, in
//!   Japanese and English, and lists the fields at fault.
//! * 5xx errors are ours: the detail is logged with a reference id and never sent to the client.
//! * Database driver errors never travel upward as such: `Error::from(sqlx::Error)` turns a
//!   named constraint violation into a 409 and anything else into `Internal`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::i18n::Msg;
use crate::master::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("bad request: {0}")]
    BadRequest(Msg),
    #[error("not found: {0}")]
    NotFound(Msg),
    #[error("conflict: {0}")]
    Conflict(Msg),
    /// A booking lost a bed-night to another one; `alternatives` is what is free now.
    #[error("bed-night taken: {message}")]
    Taken {
        message: Msg,
        alternatives: serde_json::Value,
    },
    /// The request (or a file in it) is larger than a limit: body size, file size, XLSX
    /// unpacked size, rows. Nothing was done.
    #[error("too large: {0}")]
    TooLarge(Msg),
    /// A body in a format this endpoint does not take (e.g. JSON endpoints without
    /// `Content-Type: application/json`).
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(Msg),
    #[error("unauthenticated")]
    Unauthenticated,
    #[error("forbidden: {0}")]
    Forbidden(Msg),
    #[error("rate limited, retry after {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    /// Every database connection stayed busy for the pool's acquire timeout (a load peak):
    /// the request did nothing and may be sent again.
    #[error("busy, retry after {retry_after_secs}s")]
    Unavailable { retry_after_secs: u64 },
    #[error("internal: {0:#}")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// JSON body of every API error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `validation`, `not_found`.
    pub error: &'static str,
    pub message: Msg,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// For `taken`: the vacancies free now, to choose again from.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub alternatives: Option<serde_json::Value>,
}

impl Error {
    pub fn not_found(what_ja: &str, what_en: &str) -> Error {
        Error::NotFound(Msg::new(
            format!("{what_ja}が見つかりません。一覧から選び直してください"),
            format!("{what_en} not found; pick it again from the list"),
        ))
    }

    pub fn forbidden_write() -> Error {
        Error::Forbidden(Msg::new(
            "この操作の権限がありません(閲覧者は変更できません)。管理者に依頼してください",
            "your role may not do this (viewers cannot change data); ask an administrator",
        ))
    }

    /// Contention that outlasted the retries (see `Db::retrying`): the client may simply
    /// send the same request again.
    pub fn busy() -> Error {
        Error::Conflict(Msg::new(
            "同じ相談・ベッドへの操作が重なり、処理できませんでした。少し待ってからもう一度送信してください",
            "too many simultaneous changes of the same request or beds; wait a moment and send it again",
        ))
    }

    /// The database asked for the whole transaction to be run again: a serialization failure
    /// (SQLSTATE 40001) or deadlock (40P01) on PostgreSQL, a busy or locked SQLite (5, 6).
    pub fn is_retryable(&self) -> bool {
        let Error::Internal(e) = self else {
            return false;
        };
        e.downcast_ref::<sqlx::Error>()
            .and_then(|e| e.as_database_error())
            .and_then(|d| d.code())
            .is_some_and(|c| matches!(c.as_ref(), "40001" | "40P01" | "5" | "6" | "517"))
    }

    /// The single table from error to HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) | Error::Taken { .. } => StatusCode::CONFLICT,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unauthenticated => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Error::Validation(_) => "validation",
            Error::BadRequest(_) => "bad_request",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Taken { .. } => "taken",
            Error::TooLarge(_) => "too_large",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::Unauthenticated => "unauthenticated",
            Error::Forbidden(_) => "forbidden",
            Error::RateLimited { .. } => "rate_limited",
            Error::Unavailable { .. } => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// What the user is told. Internal errors are logged here and reduced to a reference.
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            Error::Validation(fields) => Msg::new(
                format!("入力に{}件の問題があります。各項目を直してから再度送信してください", fields.len()),
                format!("{} problem(s) in the input; fix each field and send again", fields.len()),
            ),
            Error::BadRequest(m)
            | Error::NotFound(m)
            | Error::Conflict(m)
            | Error::Forbidden(m)
            | Error::TooLarge(m)
            | Error::UnsupportedMediaType(m)
            | Error::Taken { message: m, .. } => m.clone(),
            Error::Unauthenticated => Msg::new(
                "ログインが必要です。ログインするか、Authorization: Bearer <APIトークン> を付けてください",
                "authentication required: log in, or send Authorization: Bearer <API token>",
            ),
            Error::RateLimited { retry_after_secs } if *retry_after_secs < 60 => Msg::new(
                format!("試行回数が多すぎます。{retry_after_secs}秒後にもう一度お試しください"),
                format!("too many attempts; try again in {retry_after_secs} s"),
            ),
            Error::RateLimited { retry_after_secs } => Msg::new(
                format!("試行回数が多すぎます。{}分後にもう一度お試しください", retry_after_secs.div_ceil(60)),
                format!("too many attempts; try again in {} minute(s)", retry_after_secs.div_ceil(60)),
            ),
            Error::Unavailable { retry_after_secs } => Msg::new(
                format!("ただいま混み合っています。処理は行っていません。{retry_after_secs}秒後にもう一度お試しください"),
                format!("the service is busy and did nothing; try again in {retry_after_secs} s"),
            ),
            Error::Internal(e) => {
                let reference = crate::auth::random_token(6);
                tracing::error!(reference = %reference, error = %format!("{e:#}"), "internal error");
                Msg::new(
                    format!("サーバー内部でエラーが発生しました(参照番号 {reference})。時間をおいて再度お試しください"),
                    format!("internal server error (reference {reference}); please try again later"),
                )
            }
        };
        let fields = match self {
            Error::Validation(f) => f.clone(),
            _ => Vec::new(),
        };
        let alternatives = match self {
            Error::Taken { alternatives, .. } => Some(alternatives.clone()),
            _ => None,
        };
        ErrorBody {
            error: self.code(),
            message,
            fields,
            alternatives,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut res = (status, axum::Json(self.body())).into_response();
        if let Error::RateLimited { retry_after_secs } | Error::Unavailable { retry_after_secs } =
            self
        {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        if matches!(e, sqlx::Error::PoolTimedOut) {
            return Error::Unavailable {
                retry_after_secs: 5,
            };
        }
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return Error::Conflict(conflict_message(db.constraint(), db.message()));
            }
            if db.is_foreign_key_violation() {
                return Error::Conflict(Msg::new(
                    "他のデータから参照されているため変更・削除できません。参照しているデータを先に変更してください",
                    "other records refer to this one; change or remove them first",
                ));
            }
        }
        Error::Internal(anyhow::Error::new(e))
    }
}

/// Names the violated uniqueness rule in domain words. SQLite reports no constraint name, only
/// the columns, so both forms are matched.
fn conflict_message(constraint: Option<&str>, message: &str) -> Msg {
    let on = |name: &str, cols: &str| constraint == Some(name) || message.contains(cols);
    if on(
        "organisations_code_unique",
        "organisations.municipality_id, organisations.code",
    ) || on("people_code_unique", "people.municipality_id, people.code")
        || on("venues_code_unique", "venues.municipality_id, venues.code")
        || on("rooms_code_unique", "rooms.municipality_id, rooms.code")
    {
        Msg::new(
            "このコードは既に使われています。別のコードにするか、既存のデータを編集してください",
            "this code is already in use; choose another code or edit the existing record",
        )
    } else if on(
        "placement_holds_one_active_proposal",
        "placement_holds.request_id, placement_holds.from_night",
    ) {
        Msg::new(
            "この相談は、たった今ほかの打診が行われたため、重ねて打診できません（1件の相談に有効な打診は1つまで）。画面を読み込み直して現在の打診を確かめてください",
            "this request was just proposed elsewhere, and a request has at most one active proposal; reload it and check the current proposal",
        )
    } else if on("users_username_key", "users.username") {
        Msg::new(
            "このユーザー名は既に使われています。別の名前にしてください",
            "this username is taken; choose another",
        )
    } else {
        Msg::new(
            "同じデータが既に登録されています",
            "the same record already exists",
        )
    }
}
