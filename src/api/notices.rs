//! `/api/v1` for notices: the answers of a meeting, resending, cancelling a meeting (which
//! notifies its invitees), the outbox list, and the vacancy-update request to a facility.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{json, parse_id, path_error, query_error};
use crate::app::AppState;
use crate::auth::ApiUser;
use crate::error::{Error, ErrorBody, Result};
use crate::i18n::Msg;
use crate::master::FieldError;
use crate::store::notices::{AnswerBy, AnswerRow, AnswerSeen, NoticeFilter, NoticeRow};
use crate::store::replies::{Outcome, ReplyFilter, ReplyRow};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/occurrences/{id}/answers", get(answers))
        .route(
            "/api/v1/occurrences/{id}/answers/{person_id}",
            axum::routing::put(record_answer),
        )
        .route("/api/v1/occurrences/{id}/notices", get(occurrence_notices))
        .route(
            "/api/v1/occurrences/{id}/calendar-replies",
            get(calendar_replies),
        )
        .route("/api/v1/calendar-replies", get(list_calendar_replies))
        .route("/api/v1/occurrences/{id}/resend", post(resend))
        .route("/api/v1/occurrences/{id}/cancel", post(cancel))
        .route("/api/v1/notices", get(list_notices))
        .route(
            "/api/v1/placement/facilities/{id}/vacancy-request",
            post(vacancy_request),
        )
}

/// Everyone invited to a meeting with their answer (attend / decline / deputy / none) and the
/// state of their latest notice.
#[utoipa::path(get, path = "/api/v1/occurrences/{id}/answers", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AnswerRow>), (status = 404, body = ErrorBody)))]
pub(crate) async fn answers(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<AnswerRow>>> {
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let m = user.0.municipality_id;
    state.db.occurrence(m, id).await?;
    Ok(Json(state.db.occurrence_answers(m, id).await?))
}

/// An answer a coordinator records for an invitee (given by phone or in person).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordAnswerInput {
    /// attend, decline or deputy.
    pub answer: String,
    /// The deputy's name (required with deputy).
    #[serde(default)]
    pub deputy_name: String,
    #[serde(default)]
    pub deputy_organisation: String,
    #[serde(default)]
    pub comment: String,
    /// The meeting's SEQUENCE the answer was given for (the occurrence's `sequence`): a meeting
    /// moved or cancelled since is a 409.
    pub sequence: i64,
    /// `answered_at` of the answer this one replaces, as read from the answers list; null when
    /// there was none. An answer changed since (link, calendar reply, another coordinator) is a
    /// 409.
    #[serde(default)]
    pub answered_at: Option<String>,
}

/// Records an invitee's answer given by phone or in person (its source is `coordinator`),
/// also after the answer deadline. A conditional write: on a meeting moved or cancelled, or an
/// answer changed since it was read, nothing is written and the answer is 409.
#[utoipa::path(put, path = "/api/v1/occurrences/{id}/answers/{person_id}",
    params(("id" = i64, Path), ("person_id" = i64, Path)), request_body = RecordAnswerInput,
    responses((status = 200, body = AnswerRow), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn record_answer(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Result<Json<AnswerRow>> {
    let user = user.require_write()?;
    let (id, person) = path.map_err(path_error)?.0;
    let (id, person) = (parse_id(&id)?, parse_id(&person)?);
    let input: RecordAnswerInput = json(&body)?;
    let a = crate::notices::parse_answer(
        &input.answer,
        &input.deputy_name,
        &input.deputy_organisation,
        &input.comment,
    )
    .map_err(Error::Validation)?;
    let m = user.municipality_id;
    let seen = AnswerSeen {
        sequence: input.sequence,
        answered_at: input.answered_at.filter(|t| !t.trim().is_empty()),
    };
    state
        .db
        .record_answer(
            m,
            id,
            person,
            &a,
            AnswerBy::Coordinator { user_id: user.id },
            &seen,
        )
        .await?;
    let row = state
        .db
        .occurrence_answers(m, id)
        .await?
        .into_iter()
        .find(|r| r.person_id == person)
        .ok_or_else(|| Error::not_found("招待者", "invitee"))?;
    Ok(Json(row))
}

/// The notices about one meeting, oldest first.
#[utoipa::path(get, path = "/api/v1/occurrences/{id}/notices", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<NoticeRow>), (status = 404, body = ErrorBody)))]
pub(crate) async fn occurrence_notices(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<NoticeRow>>> {
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let m = user.0.municipality_id;
    state.db.occurrence(m, id).await?;
    Ok(Json(state.db.occurrence_notices(m, id).await?))
}

/// The calendar replies (Accept / Decline / Tentative pressed in Outlook, Gmail, Apple Mail)
/// read for one meeting, newest first: what each became (recorded as the answer, tentative,
/// or ignored and why: a reply to an older version of the meeting, not sent by the invitee,
/// not an invitee's address, after the deadline, …).
#[utoipa::path(get, path = "/api/v1/occurrences/{id}/calendar-replies", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ReplyRow>), (status = 404, body = ErrorBody)))]
pub(crate) async fn calendar_replies(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<ReplyRow>>> {
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let m = user.0.municipality_id;
    state.db.occurrence(m, id).await?;
    Ok(Json(state.db.occurrence_calendar_replies(m, id).await?))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ReplyQuery {
    /// `ignored` (every reply that changed nothing: stale, forged, unknown_meeting,
    /// unknown_attendee, cancelled, after_deadline, superseded, no_answer, malformed) or one
    /// outcome (applied, unchanged, tentative, or one of those); absent: all.
    pub outcome: Option<String>,
    /// Replies per page: 1 to 1000, default 200.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Replies to skip (default 0); `X-Total-Count` and `Link` headers tell the rest.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// The municipality's calendar replies, newest first, one page at a time: where to find the
/// replies that were ignored (and why) across all meetings.
#[utoipa::path(get, path = "/api/v1/calendar-replies", params(ReplyQuery),
    responses((status = 200, body = Vec<ReplyRow>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_calendar_replies(
    State(state): State<AppState>,
    user: ApiUser,
    q: std::result::Result<Query<ReplyQuery>, QueryRejection>,
) -> Result<Response> {
    let q = q.map_err(query_error)?.0;
    let outcome = q.outcome.as_deref();
    let filter = match outcome {
        None => ReplyFilter::All,
        Some("ignored") => ReplyFilter::Ignored,
        Some(other) => ReplyFilter::Outcome(Outcome::parse(other).ok_or_else(|| {
            Error::BadRequest(Msg::new(
                "outcome は ignored か、applied, unchanged, tentative, stale, forged, unknown_meeting, unknown_attendee, cancelled, after_deadline, superseded, no_answer, malformed のいずれかです（すべてなら outcome を付けません）",
                "outcome is ignored, or one of applied, unchanged, tentative, stale, forged, unknown_meeting, unknown_attendee, cancelled, after_deadline, superseded, no_answer, malformed (leave it out for all)",
            ))
        })?),
    };
    let page = crate::api::Page::parse(q.limit, q.offset)?;
    let m = user.0.municipality_id;
    let replies = state
        .db
        .list_calendar_replies(m, filter, page.limit, page.offset)
        .await?;
    let total = state.db.count_calendar_replies(m, filter).await?;
    let headers = page.headers(
        total,
        "/api/v1/calendar-replies",
        &[("outcome", outcome.unwrap_or(""))],
    );
    Ok((headers, Json(replies)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendInput {
    /// The invitee to send the latest notice to again (with a new answer link).
    pub person_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Queued {
    pub queued: usize,
}

/// Sends the latest notice of a meeting to one invitee again; their earlier links stop working.
#[utoipa::path(post, path = "/api/v1/occurrences/{id}/resend", params(("id" = i64, Path)), request_body = ResendInput,
    responses((status = 202, body = Queued), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn resend(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<(StatusCode, Json<Queued>)> {
    let user = user.require_write()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let input: ResendInput = json(&body)?;
    let queued = state.db.resend_notice(user, id, input.person_id).await?;
    if queued == 0 {
        return Err(Error::Validation(vec![FieldError::new(
            "person_id",
            "この方はこの会議の招待者ではないか、メールアドレスが登録されていません",
            "this person is not invited to the meeting or has no mail address",
        )]));
    }
    Ok((StatusCode::ACCEPTED, Json(Queued { queued })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// Why the meeting is cancelled (kept in the audit log).
    pub reason: String,
}

/// Cancels one published meeting: its SEQUENCE is raised and every invitee gets a cancellation
/// (METHOD:CANCEL), in the same transaction.
#[utoipa::path(post, path = "/api/v1/occurrences/{id}/cancel", params(("id" = i64, Path)), request_body = CancelInput,
    responses((status = 202, body = Queued), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<(StatusCode, Json<Queued>)> {
    let user = user.require_write()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let input: CancelInput = json(&body)?;
    let reason =
        crate::notices::cancel_reason(&input.reason).map_err(|e| Error::Validation(vec![e]))?;
    let queued = state.db.cancel_occurrence(user, id, reason).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { queued })))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct NoticeQuery {
    /// pending, sent, failed or superseded; empty: all.
    #[serde(default)]
    pub status: String,
    /// invitation, update, cancellation, reminder, chase, placement_request,
    /// placement_confirmed, placement_withdrawn or vacancy_request; empty: all.
    #[serde(default)]
    pub kind: String,
    /// Part of the recipient's address or name, or of the subject; empty: all.
    #[serde(default)]
    pub q: String,
    /// Queued on or after this day (YYYY-MM-DD, Japan time); empty: no bound.
    #[serde(default)]
    pub from: String,
    /// Queued on or before this day (YYYY-MM-DD, Japan time); empty: no bound.
    #[serde(default)]
    pub to: String,
    /// Notices per page: 1 to 1000, default 200.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Notices to skip (default 0); `X-Total-Count` and `Link` headers tell the rest.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// The municipality's notices, newest first, one page at a time, filtered by status, kind,
/// recipient or subject, and the day they were queued.
#[utoipa::path(get, path = "/api/v1/notices", params(NoticeQuery),
    responses((status = 200, body = Vec<NoticeRow>), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_notices(
    State(state): State<AppState>,
    user: ApiUser,
    q: std::result::Result<Query<NoticeQuery>, QueryRejection>,
) -> Result<Response> {
    let q = q.map_err(query_error)?.0;
    let filter =
        NoticeFilter::parse(&q.status, &q.kind, &q.q, &q.from, &q.to).map_err(Error::Validation)?;
    let page = crate::api::Page::parse(q.limit, q.offset)?;
    let m = user.0.municipality_id;
    let notices = state
        .db
        .filtered_notices(m, &filter, page.limit, page.offset)
        .await?;
    let total = state.db.count_filtered_notices(m, &filter).await?;
    let headers = page.headers(
        total,
        "/api/v1/notices",
        &[
            ("status", q.status.trim()),
            ("kind", q.kind.trim()),
            ("q", q.q.trim()),
            ("from", q.from.trim()),
            ("to", q.to.trim()),
        ],
    );
    Ok((headers, Json(notices)).into_response())
}

/// Asks a facility by mail to confirm or update its vacancies (the mail carries a fresh
/// no-login link; earlier links stop working). Once a day at most.
#[utoipa::path(post, path = "/api/v1/placement/facilities/{id}/vacancy-request", params(("id" = i64, Path)),
    responses((status = 202, body = Queued), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn vacancy_request(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<Queued>)> {
    let user = user.require_hub()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let queued = state.db.request_vacancy_update(user, id).await?;
    Ok((StatusCode::ACCEPTED, Json(Queued { queued })))
}
