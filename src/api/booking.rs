//! `/api/v1/bookings`: booking external lecturers and supervisors (講師・SVの手配,
//! `store::booking`): the tasks, overdue first, a page at a time, and a change of one task's
//! status conditional on the version read (409 when it changed meanwhile).

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{json, parse_id, path_error, query_error};
use crate::app::AppState;
use crate::auth::ApiUser;
use crate::error::{Error, ErrorBody, Result};
use crate::i18n::Msg;
use crate::store::booking::{BookingStatus, BookingTask, TaskChange};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/bookings", get(list_bookings))
        .route("/api/v1/bookings/{id}/status", post(change_booking))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct BookingQuery {
    /// open, requested, confirmed or declined; absent: all.
    pub status: Option<String>,
    /// Tasks per page: 1 to 1000, default 200.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Tasks to skip (default 0); `X-Total-Count` and `Link` headers tell the rest.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// The booking tasks of published meetings with an external lecturer or supervisor: overdue
/// first (due and not yet answered), then by due date.
#[utoipa::path(get, path = "/api/v1/bookings", params(BookingQuery),
    responses((status = 200, body = Vec<BookingTask>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_bookings(
    State(state): State<AppState>,
    user: ApiUser,
    q: std::result::Result<Query<BookingQuery>, QueryRejection>,
) -> Result<Response> {
    let q = q.map_err(query_error)?.0;
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(BookingStatus::parse(s).ok_or_else(|| {
            Error::BadRequest(Msg::new(
                "status は open, requested, confirmed, declined のいずれかです（すべてなら status を付けません）",
                "status is one of open, requested, confirmed, declined (leave it out for all)",
            ))
        })?),
    };
    let page = crate::api::Page::parse(q.limit, q.offset)?;
    let (tasks, total) = state
        .db
        .booking_tasks(user.0.municipality_id, status, page.limit, page.offset)
        .await?;
    let headers = page.headers(
        total,
        "/api/v1/bookings",
        &[("status", status.map(|s| s.slug()).unwrap_or(""))],
    );
    Ok((headers, Json(tasks)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingChangeInput {
    /// open, requested, confirmed or declined.
    #[schema(example = "requested")]
    pub status: String,
    /// The task's `version` as read: a task changed since is not changed (409).
    pub version: i64,
    /// A note (who was asked, the fee, …), up to 500 characters; absent keeps the note.
    #[serde(default)]
    pub note: Option<String>,
}

/// Changes a booking task's status: asked (requested), the lecturer's yes or no (confirmed /
/// declined), or back to open. Refused with 409 when the task changed since `version`.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/status", params(("id" = i64, Path)), request_body = BookingChangeInput,
    responses((status = 200, body = BookingTask), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn change_booking(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<BookingTask>> {
    let user = user.require_write()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let input: BookingChangeInput = json(&body)?;
    let change = TaskChange::parse(&input.status, input.version, input.note.as_deref())
        .map_err(Error::Validation)?;
    Ok(Json(state.db.change_booking_task(user, id, &change).await?))
}
