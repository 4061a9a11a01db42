//! `/api/v1/caseload` for case-load management (計画相談の件数管理): the load board, an
//! office's current count, the caps per ward, referrals, assigning open referrals with the
//! optimizer, and a coordinator's choice of office. Referrals carry a code only, no personal
//! data; everyone logged in reads, coordinators and administrators change, administrators set
//! the caps.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{json, parse_id, path_error, query_error, Created};
use crate::app::AppState;
use crate::auth::ApiUser;
use crate::caseload::{
    self, AssignOut, Board, BoardRow, Caps, CapsInput, CountInput, CountsImported, OverrideInput,
    ReferralInput,
};
use crate::error::{Error, ErrorBody, Result};
use crate::i18n::Msg;
use crate::store::caseload::ReferralRow;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/caseload/board", get(board))
        .route("/api/v1/caseload/offices/{id}", put(set_count))
        .route(
            "/api/v1/caseload/offices/import",
            post(import_counts).layer(axum::extract::DefaultBodyLimit::max(
                crate::transfer::limits::FILE_BYTES,
            )),
        )
        .route("/api/v1/caseload/caps", get(get_caps).put(put_caps))
        .route(
            "/api/v1/caseload/referrals",
            get(list_referrals).post(create_referral),
        )
        .route("/api/v1/caseload/referrals/{id}/office", put(set_office))
        .route(
            "/api/v1/caseload/referrals/{id}/close",
            post(close_referral),
        )
        .route("/api/v1/caseload/assign", post(assign))
}

fn id_of(path: std::result::Result<Path<String>, PathRejection>) -> Result<i64> {
    parse_id(&path.map_err(path_error)?.0)
}

/// The load board: every consultation office with its cases, cap, ratio and a warning at
/// 90 % of the cap (上限間近) or at it (上限); the caps; the referrals waiting for an office.
#[utoipa::path(get, path = "/api/v1/caseload/board", responses((status = 200, body = Board)))]
pub(crate) async fn board(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<Board>> {
    Ok(Json(caseload::board(&state.db, &user).await?))
}

/// Sets an office's current planning-consultation cases (e.g. from the monthly count), and its
/// specialities when given. A count above the cap is accepted (it is what the office holds);
/// the office then takes nobody new.
#[utoipa::path(put, path = "/api/v1/caseload/offices/{id}", params(("id" = i64, Path, description = "organisation id of the office")),
    request_body = CountInput,
    responses((status = 200, body = BoardRow), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn set_count(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<BoardRow>> {
    let user = user.require_write()?;
    let id = id_of(path)?;
    let v = json::<CountInput>(&body)?
        .parse()
        .map_err(Error::Validation)?;
    state.db.set_caseload(user, id, &v).await?;
    let m = user.municipality_id;
    let caps = state.db.caseload_caps(m).await?;
    let office = state.db.caseload_office(m, id).await?;
    Ok(Json(caseload::board_row(&office, &caps)))
}

/// The caps: the default per office (50 unless set) and the overrides per ward (西区 → 75).
#[utoipa::path(get, path = "/api/v1/caseload/caps", responses((status = 200, body = Caps)))]
pub(crate) async fn get_caps(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Json<Caps>> {
    Ok(Json(state.db.caseload_caps(user.municipality_id).await?))
}

/// Replaces the caps (administrators only). Offices above a new cap keep their cases and
/// take nobody new.
#[utoipa::path(put, path = "/api/v1/caseload/caps", request_body = CapsInput,
    responses((status = 200, body = Caps), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn put_caps(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    body: Bytes,
) -> Result<Json<Caps>> {
    if !user.role.is_admin() {
        return Err(Error::Forbidden(Msg::new(
            "件数の上限は管理者のみ変更できます",
            "only administrators may change the case caps",
        )));
    }
    let caps = json::<CapsInput>(&body)?
        .parse()
        .map_err(Error::Validation)?;
    state.db.set_caseload_caps(&user, &caps).await?;
    Ok(Json(state.db.caseload_caps(user.municipality_id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReferralQuery {
    /// Only referrals with this status: `open` or `assigned`.
    #[serde(default)]
    status: String,
    /// Referrals per page: 1 to 1000, default 200.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// Referrals to skip (default 0); `X-Total-Count` and `Link` headers tell the rest.
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// Referrals, oldest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/caseload/referrals", params(ReferralQuery),
    responses((status = 200, body = Vec<ReferralRow>), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_referrals(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    query: std::result::Result<Query<ReferralQuery>, QueryRejection>,
) -> Result<Response> {
    let q = query.map_err(query_error)?.0;
    let page = crate::api::Page::parse(q.limit, q.offset)?;
    let status = Some(q.status.trim()).filter(|s| !s.is_empty());
    if let Some(s) = status {
        if s != "open" && s != "assigned" {
            return Err(Error::Validation(vec![crate::master::FieldError::new(
                "status",
                format!("状態「{s}」はありません。open（割当て待ち）か assigned（割当て済み）です"),
                format!("no status \"{s}\"; use open or assigned"),
            )]));
        }
    }
    let (rows, total) = state
        .db
        .referrals_page(user.municipality_id, status, page.limit, page.offset)
        .await?;
    let headers = page.headers(
        total,
        "/api/v1/caseload/referrals",
        &[("status", status.unwrap_or(""))],
    );
    Ok((headers, Json(rows)).into_response())
}

/// Records a referral waiting for a planning-consultation office (a code, never a name).
#[utoipa::path(post, path = "/api/v1/caseload/referrals", request_body = ReferralInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_referral(
    State(state): State<AppState>,
    user: ApiUser,
    body: Bytes,
) -> Result<Response> {
    let user = user.require_write()?;
    let v = json::<ReferralInput>(&body)?
        .parse()
        .map_err(Error::Validation)?;
    let id = state.db.create_referral(user, &v).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

/// A coordinator's choice of office for a referral (open, or moved from its office). Refused
/// with 409 and the reason when the office is at its cap.
#[utoipa::path(put, path = "/api/v1/caseload/referrals/{id}/office", params(("id" = i64, Path)),
    request_body = OverrideInput,
    responses((status = 200, body = ReferralRow), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn set_office(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<ReferralRow>> {
    let user = user.require_write()?;
    let id = id_of(path)?;
    let input = json::<OverrideInput>(&body)?;
    Ok(Json(
        state
            .db
            .override_referral(user, id, input.office_id)
            .await?,
    ))
}

/// The body of closing a referral.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloseInput {
    /// Why (withdrawn, consultation ended, ...), for the audit log.
    pub reason: String,
}

/// Closes a referral: withdrawn, or its planning consultation ended. An office it was
/// assigned to gets the case back. 409 when it changed since it was read.
#[utoipa::path(post, path = "/api/v1/caseload/referrals/{id}/close", params(("id" = i64, Path)),
    request_body = CloseInput,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn close_referral(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode> {
    let user = user.require_write()?;
    let id = id_of(path)?;
    let input = json::<CloseInput>(&body)?;
    let reason = caseload::close_reason(&input.reason).map_err(Error::Validation)?;
    state.db.close_referral(user, id, reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assigns every open referral with the optimizer (caps are hard; it prefers the person's
/// ward, their previous office, the specialities they need, and offices far from their cap),
/// validates the assignment and writes it. Says what was assigned and, for the rest, why not.
#[utoipa::path(post, path = "/api/v1/caseload/assign",
    responses((status = 200, body = AssignOut), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn assign(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<AssignOut>> {
    let user = user.require_write()?;
    Ok(Json(caseload::assign_open(&state.db, user).await?))
}

/// Imports the current cases of many offices from a CSV (UTF-8 or Shift_JIS) or XLSX file
/// (the raw body) with the headings 事業所コード / code and 件数 / cases. Every row is checked
/// and nothing is written when any is wrong (422 naming each row's field).
#[utoipa::path(post, path = "/api/v1/caseload/offices/import",
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses((status = 200, body = CountsImported), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn import_counts(
    State(state): State<AppState>,
    user: ApiUser,
    body: Bytes,
) -> Result<Json<CountsImported>> {
    let user = user.require_write()?;
    Ok(Json(
        caseload::import_counts(&state.db, user, "", &body).await?,
    ))
}
