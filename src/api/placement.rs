//! `/api/v1/placement` for emergency placement (緊急受入れ): facilities and beds, occupancy,
//! the vacancy board and search, requests and their flow (propose → answer → confirm → end),
//! batch placement by the optimizer, and the figures for reports.
//!
//! Requests carry personal data: only hub staff and administrators reach them, and every read
//! of one is audited. Facilities, the board, search and figures carry none.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use renkei_solver::calendar::{jst_date, FiscalYear};
use renkei_solver::placement::model::{Nights, Segment};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{download, json, parse_file_format, parse_id, path_error, query_error, Created};
use crate::app::AppState;
use crate::auth::ApiUser;
use crate::error::{Error, ErrorBody, Result};
use crate::i18n::Lang;
use crate::master::{parse_date, FieldError};
use crate::placement::declines::{self, parse_answer, DeclineReason, DeclineView, FacilityAnswers};
use crate::placement::engine::{self, BatchOut, SearchOut};
use crate::placement::figures::{self, Figures};
use crate::placement::{
    nights_from, parse_nights, parse_occupancy, FacilityInput, OccupancyInput, RequestInput,
    SearchInput, SegmentInput, DEFAULT_HOLD_HOURS,
};
use crate::store::placement::{
    Actor, BedNightRow, FacilityRow, PreventiveAction, RequestDetail, RequestSummary,
};
use crate::store::tenancy::{MunicipalityId, User};
use crate::store::Db;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/placement/facilities",
            get(list_facilities).post(create_facility),
        )
        .route(
            "/api/v1/placement/facilities/{id}",
            get(get_facility).put(update_facility),
        )
        .route(
            "/api/v1/placement/facilities/{id}/occupancy",
            post(set_occupancy),
        )
        .route("/api/v1/placement/facilities/{id}/link", post(renew_link))
        .route("/api/v1/placement/board", get(board))
        .route("/api/v1/placement/search", post(search))
        .route(
            "/api/v1/placement/requests",
            get(list_requests).post(create_request),
        )
        .route("/api/v1/placement/requests/{id}", get(get_request))
        .route(
            "/api/v1/placement/requests/{id}/search",
            get(request_search),
        )
        .route("/api/v1/placement/requests/{id}/propose", post(propose))
        .route("/api/v1/placement/requests/{id}/confirm", post(confirm))
        .route("/api/v1/placement/requests/{id}/end", post(end))
        .route("/api/v1/placement/requests/{id}/withdraw", post(withdraw))
        .route("/api/v1/placement/holds/{id}/answer", post(answer_hold))
        .route("/api/v1/placement/batch", post(batch))
        .route("/api/v1/placement/figures", get(get_figures))
        .route("/api/v1/placement/declines", get(get_declines))
        .route(
            "/api/v1/placement/preventive",
            get(list_preventive).post(add_preventive),
        )
}

fn id_of(path: std::result::Result<Path<String>, PathRejection>) -> Result<i64> {
    parse_id(&path.map_err(path_error)?.0)
}

/// Facilities with rooms and beds, and when their vacancies were last confirmed, a page at a
/// time.
#[utoipa::path(get, path = "/api/v1/placement/facilities", params(crate::api::PageQuery), responses((status = 200, body = Vec<FacilityRow>)))]
pub(crate) async fn list_facilities(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    query: std::result::Result<Query<crate::api::PageQuery>, QueryRejection>,
) -> Result<Response> {
    let q = query.map_err(query_error)?.0;
    let page = crate::api::Page::parse(q.limit, q.offset)?;
    let facilities = state.db.list_facilities(user.municipality_id).await?;
    Ok(crate::api::page_of(
        facilities,
        page,
        "/api/v1/placement/facilities",
        &[],
    ))
}

/// Creates a facility with its rooms and beds.
#[utoipa::path(post, path = "/api/v1/placement/facilities", request_body = FacilityInput,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_facility(
    State(state): State<AppState>,
    user: ApiUser,
    body: Bytes,
) -> Result<Response> {
    let user = user.require_hub()?;
    let v = json::<FacilityInput>(&body)?
        .parse()
        .map_err(Error::Validation)?;
    let id = state.db.create_facility(user, &v).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[utoipa::path(get, path = "/api/v1/placement/facilities/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = FacilityRow), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_facility(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<FacilityRow>> {
    Ok(Json(
        state
            .db
            .facility(user.municipality_id, id_of(path)?)
            .await?,
    ))
}

/// Replaces a facility's attributes (its rooms and beds stay as they are).
#[utoipa::path(put, path = "/api/v1/placement/facilities/{id}", params(("id" = i64, Path)), request_body = FacilityInput,
    responses((status = 200, body = FacilityRow), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_facility(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<FacilityRow>> {
    let user = user.require_hub()?;
    let id = id_of(path)?;
    let v = json::<FacilityInput>(&body)?
        .parse()
        .map_err(Error::Validation)?;
    state.db.update_facility(user, id, &v).await?;
    Ok(Json(state.db.facility(user.municipality_id, id).await?))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Changed {
    changed: usize,
}

/// Sets bed-nights taken by the facility's regular bookings (or frees them) and records that
/// its vacancies were confirmed now. An empty list only confirms.
#[utoipa::path(post, path = "/api/v1/placement/facilities/{id}/occupancy", params(("id" = i64, Path)), request_body = Vec<OccupancyInput>,
    responses((status = 200, body = Changed), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn set_occupancy(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Changed>> {
    let user = user.require_hub()?;
    let id = id_of(path)?;
    let items = parse_occupancy(&json::<Vec<OccupancyInput>>(&body)?).map_err(Error::Validation)?;
    let changed = state
        .db
        .set_occupancy(user.municipality_id, Actor::User(user), id, &items)
        .await?;
    Ok(Json(Changed { changed }))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct FacilityLink {
    /// The no-login page where the facility confirms its vacancies and answers proposals.
    url: String,
}

/// A new no-login link for the facility (the previous one stops working).
#[utoipa::path(post, path = "/api/v1/placement/facilities/{id}/link", params(("id" = i64, Path)),
    responses((status = 200, body = FacilityLink), (status = 404, body = ErrorBody)))]
pub(crate) async fn renew_link(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<FacilityLink>> {
    let user = user.require_hub()?;
    let token = state.db.renew_facility_link(user, id_of(path)?).await?;
    Ok(Json(FacilityLink {
        url: format!(
            "{}/facility/{token}",
            state.config.public_url.trim_end_matches('/')
        ),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct BoardQuery {
    /// First night (default today, JST).
    #[serde(default)]
    from: String,
    /// Number of nights (default 14, at most 62).
    #[serde(default)]
    days: Option<u32>,
}

pub fn parse_board_query(from: &str, days: Option<u32>) -> Result<Nights> {
    let first = if from.trim().is_empty() {
        jst_date(Utc::now())
    } else {
        parse_date("from", from).map_err(|e| Error::Validation(vec![e]))?
    };
    let days = days.unwrap_or(14);
    if !(1..=62).contains(&days) {
        return Err(Error::Validation(vec![FieldError::new(
            "days",
            "日数は1から62で指定してください",
            "days is 1 to 62",
        )]));
    }
    let last = first + chrono::Days::new(u64::from(days) - 1);
    crate::master::check_date_bounds("days", last).map_err(|e| Error::Validation(vec![e]))?;
    Ok(nights_from(first, days))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct BoardOut {
    from: String,
    to: String,
    facilities: Vec<FacilityRow>,
    /// Taken bed-nights; every other bed-night of the range is free.
    taken: Vec<BedNightRow>,
}

/// The vacancy board: every taken bed-night of the range (free is what is not listed).
#[utoipa::path(get, path = "/api/v1/placement/board", params(BoardQuery), responses((status = 200, body = BoardOut)))]
pub(crate) async fn board(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    query: std::result::Result<Query<BoardQuery>, QueryRejection>,
) -> Result<Json<BoardOut>> {
    let q = query.map_err(query_error)?.0;
    let nights = parse_board_query(&q.from, q.days)?;
    let m = user.municipality_id;
    Ok(Json(BoardOut {
        from: nights.from.to_string(),
        to: nights.to.to_string(),
        facilities: state.db.list_facilities(m).await?,
        taken: state.db.board(m, nights).await?,
    }))
}

/// Searches beds for nights and needs: fitting beds, the best split stay where no bed covers
/// every night, and for each other facility the reason it does not fit.
#[utoipa::path(post, path = "/api/v1/placement/search", request_body = SearchInput,
    responses((status = 200, body = SearchOut), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn search(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    body: Bytes,
) -> Result<Json<SearchOut>> {
    let q = json::<SearchInput>(&body)?
        .parse()
        .map_err(Error::Validation)?;
    Ok(Json(
        engine::search_vacancies(&state.db, user.municipality_id, &q, &[]).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestQuery {
    /// Only requests with this status.
    #[serde(default)]
    status: String,
    /// Requests per page: 1 to 1000, default 200.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// Requests to skip (default 0); `X-Total-Count` and `Link` headers tell the rest.
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// Requests (without personal data), open ones first, a page at a time.
#[utoipa::path(get, path = "/api/v1/placement/requests", params(RequestQuery), responses((status = 200, body = Vec<RequestSummary>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_requests(
    State(state): State<AppState>,
    user: ApiUser,
    query: std::result::Result<Query<RequestQuery>, QueryRejection>,
) -> Result<Response> {
    let user = user.require_hub()?;
    let q = query.map_err(query_error)?.0;
    let page = crate::api::Page::parse(q.limit, q.offset)?;
    let status = Some(q.status.trim()).filter(|s| !s.is_empty());
    let (requests, total) = state
        .db
        .requests_page(user.municipality_id, status, page.limit, page.offset)
        .await?;
    let headers = page.headers(
        total,
        "/api/v1/placement/requests",
        &[("status", status.unwrap_or(""))],
    );
    Ok((headers, Json(requests)).into_response())
}

/// Records a new request (consultation).
#[utoipa::path(post, path = "/api/v1/placement/requests", request_body = RequestInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_request(
    State(state): State<AppState>,
    user: ApiUser,
    body: Bytes,
) -> Result<Response> {
    let user = user.require_hub()?;
    let v = json::<RequestInput>(&body)?
        .parse()
        .map_err(Error::Validation)?;
    let id = state.db.create_request(user, &v).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

/// One request with the requester's personal data, its holds and its history (audited).
#[utoipa::path(get, path = "/api/v1/placement/requests/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = RequestDetail), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_request(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<RequestDetail>> {
    let user = user.require_hub()?;
    let id = id_of(path)?;
    Ok(Json(state.db.request_detail(user, id).await?))
}

/// Vacancies for a stored request's nights and needs.
#[utoipa::path(get, path = "/api/v1/placement/requests/{id}/search", params(("id" = i64, Path)),
    responses((status = 200, body = SearchOut), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn request_search(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<SearchOut>> {
    let user = user.require_hub()?;
    Ok(Json(
        engine::alternatives(&state.db, user.municipality_id, id_of(path)?).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProposeInput {
    /// The stay: one segment per bed, consecutive, covering the request's nights.
    segments: Vec<SegmentInput>,
    /// How long the facility has to answer (default 24 hours, 1 to 168).
    #[serde(default)]
    hold_hours: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Proposed {
    holds: Vec<i64>,
}

fn parse_hold_hours(h: Option<i64>) -> Result<i64> {
    let h = h.unwrap_or(DEFAULT_HOLD_HOURS);
    if (1..=168).contains(&h) {
        Ok(h)
    } else {
        Err(Error::Validation(vec![FieldError::new(
            "hold_hours",
            "仮押さえの時間は1〜168時間です",
            "hold_hours is 1 to 168",
        )]))
    }
}

/// Checks the segments of a proposal against the request: consecutive, covering its nights.
fn parse_segments(items: &[SegmentInput], request_nights: Nights) -> Result<Vec<Segment>> {
    let mut errors = Vec::new();
    let mut out: Vec<Segment> = Vec::new();
    for (i, s) in items.iter().enumerate() {
        match parse_nights(
            &format!("segments[{i}].from"),
            &s.from,
            &format!("segments[{i}].to"),
            &s.to,
        ) {
            Ok(n) => match u32::try_from(s.bed_id) {
                Ok(bed) => out.push(Segment { bed, nights: n }),
                Err(_) => errors.push(FieldError::new(
                    &format!("segments[{i}].bed_id"),
                    "ベッドIDが正しくありません",
                    "bed_id is not valid",
                )),
            },
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        let covers = !out.is_empty()
            && out.first().map(|s| s.nights.from) == Some(request_nights.from)
            && out.last().map(|s| s.nights.to) == Some(request_nights.to)
            && out.windows(2).all(|w| w[0].nights.to == w[1].nights.from);
        if !covers {
            errors.push(FieldError::new(
                "segments",
                format!(
                    "区間は {} から {} までの夜を隙間なく順に覆ってください",
                    request_nights.from, request_nights.to
                ),
                format!(
                    "the segments must cover the nights from {} to {} in order without gaps",
                    request_nights.from, request_nights.to
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Error::Validation(errors))
    }
}

/// Proposes a stay to the facility: holds its bed-nights until the facility answers. If a
/// bed-night was taken meanwhile, nothing is held and the answer is 409 with the vacancies
/// free now.
#[utoipa::path(post, path = "/api/v1/placement/requests/{id}/propose", params(("id" = i64, Path)), request_body = ProposeInput,
    responses((status = 201, body = Proposed), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn propose(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response> {
    let user = user.require_hub()?;
    let id = id_of(path)?;
    let input: ProposeInput = json(&body)?;
    let hours = parse_hold_hours(input.hold_hours)?;
    let request = state
        .db
        .engine_requests(user.municipality_id, &[id])
        .await?
        .remove(0);
    let segments = parse_segments(&input.segments, request.nights)?;
    let holds = propose_or_alternatives(&state.db, user, id, &segments, hours).await?;
    Ok((StatusCode::CREATED, Json(Proposed { holds })).into_response())
}

/// Shared by the API and the pages: a lost bed-night comes back with the vacancies free now.
pub async fn propose_or_alternatives(
    db: &Db,
    user: &User,
    id: i64,
    segments: &[Segment],
    hours: i64,
) -> Result<Vec<i64>> {
    match db.propose(user, id, segments, hours).await {
        Err(Error::Taken { message: msg, .. }) => {
            let alternatives = engine::alternatives(db, user.municipality_id, id).await?;
            Err(Error::Taken {
                message: msg,
                alternatives: serde_json::to_value(alternatives)
                    .map_err(|e| Error::Internal(e.into()))?,
            })
        }
        other => other,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnswerInput {
    accept: bool,
    /// A decline's fixed reason: full (満床), medical_care (医療的ケアに対応できない), behaviour
    /// (強度行動障害に対応できない), sex (性別・相部屋), staffing (職員体制) or other (with a
    /// `reason` in words). Without one, a decline needs a `reason` and counts as other.
    #[serde(default)]
    #[schema(value_type = Option<DeclineReason>)]
    reason_code: Option<String>,
    #[serde(default)]
    reason: String,
}

/// Records a facility's answer to a hold (accept, or decline with a reason).
#[utoipa::path(post, path = "/api/v1/placement/holds/{id}/answer", params(("id" = i64, Path)), request_body = AnswerInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn answer_hold(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode> {
    let user = user.require_hub()?;
    let id = id_of(path)?;
    let input: AnswerInput = json(&body)?;
    let answer = parse_answer(
        input.accept,
        input.reason_code.as_deref().unwrap_or(""),
        &input.reason,
    )
    .map_err(Error::Validation)?;
    state
        .db
        .answer_hold_with(user.municipality_id, Actor::User(user), id, &answer)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A reason, required where the flow needs one (declines, withdrawals, ends).
pub fn reason_of(reason: &str, required: bool) -> Result<String> {
    let r = reason.trim();
    if required && r.is_empty() {
        return Err(Error::Validation(vec![FieldError::new(
            "reason",
            "理由を入力してください",
            "give a reason",
        )]));
    }
    if r.chars().count() > 500 {
        return Err(Error::Validation(vec![FieldError::new(
            "reason",
            "理由は500文字以内にしてください",
            "keep the reason within 500 characters",
        )]));
    }
    Ok(r.to_string())
}

/// Confirms an accepted proposal as the placement.
#[utoipa::path(post, path = "/api/v1/placement/requests/{id}/confirm", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn confirm(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<StatusCode> {
    let user = user.require_hub()?;
    state.db.confirm_placement(user, id_of(path)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndInput {
    /// The morning the person leaves (`YYYY-MM-DD`); later nights are freed.
    check_out: String,
    reason: String,
}

/// Ends a placement; the nights from `check_out` on are free again.
#[utoipa::path(post, path = "/api/v1/placement/requests/{id}/end", params(("id" = i64, Path)), request_body = EndInput,
    responses((status = 204), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn end(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode> {
    let user = user.require_hub()?;
    let id = id_of(path)?;
    let input: EndInput = json(&body)?;
    let check_out =
        parse_date("check_out", &input.check_out).map_err(|e| Error::Validation(vec![e]))?;
    let reason = reason_of(&input.reason, true)?;
    state.db.end_placement(user, id, check_out, &reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonInput {
    reason: String,
}

/// Withdraws a request that is not placed yet; its holds are released.
#[utoipa::path(post, path = "/api/v1/placement/requests/{id}/withdraw", params(("id" = i64, Path)), request_body = ReasonInput,
    responses((status = 204), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn withdraw(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode> {
    let user = user.require_hub()?;
    let id = id_of(path)?;
    let input: ReasonInput = json(&body)?;
    state
        .db
        .withdraw_request(user, id, &reason_of(&input.reason, true)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchInput {
    /// Requests to place (or `all_open`).
    #[serde(default)]
    request_ids: Vec<i64>,
    /// Place every open request (consultation or declined) instead of `request_ids`.
    #[serde(default)]
    all_open: bool,
    #[serde(default)]
    hold_hours: Option<i64>,
}

/// Places open requests at once with the optimizer (community beds preferred, the hub's room
/// kept free where possible) and proposes each placed stay.
#[utoipa::path(post, path = "/api/v1/placement/batch", request_body = BatchInput,
    responses((status = 200, body = BatchOut), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn batch(
    State(state): State<AppState>,
    user: ApiUser,
    body: Bytes,
) -> Result<Json<BatchOut>> {
    let user = user.require_hub()?;
    // A batch proposes holds, so it is never implied: an empty body is refused.
    let input: BatchInput = if body.iter().all(u8::is_ascii_whitespace) {
        BatchInput::default()
    } else {
        json(&body)?
    };
    if input.request_ids.is_empty() != input.all_open {
        return Err(Error::Validation(vec![FieldError::new(
            "request_ids",
            "どの相談を配置するかを指定してください: {\"request_ids\": [相談ID, ...]} か、受付中の相談すべてなら {\"all_open\": true} を送ってください（両方は指定できません）",
            "say which requests to place: send {\"request_ids\": [request id, ...]}, or {\"all_open\": true} for every open request (not both)",
        )]));
    }
    let hours = parse_hold_hours(input.hold_hours)?;
    Ok(Json(
        engine::place_batch(&state.db, user, &input.request_ids, hours).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FiguresQuery {
    /// Fiscal year: 2026, FY2026, R8 or 令和8年度 (default: the current one).
    #[serde(default)]
    fiscal_year: String,
    /// json (default), csv or xlsx.
    #[serde(default)]
    format: String,
    #[serde(default)]
    encoding: String,
    #[serde(default)]
    lang: String,
}

pub fn parse_fiscal_year(s: &str) -> Result<FiscalYear> {
    if s.trim().is_empty() {
        return Ok(FiscalYear::of(jst_date(Utc::now())));
    }
    let fy = s.parse::<FiscalYear>().map_err(|_| {
        Error::Validation(vec![FieldError::new(
            "fiscal_year",
            format!("年度「{s}」が読めません（例: 2026, R8, 令和8年度）"),
            format!("cannot read the fiscal year \"{s}\" (e.g. 2026, FY2026, R8)"),
        )])
    })?;
    crate::master::check_date_bounds("fiscal_year", fy.start())
        .and_then(|_| crate::master::check_date_bounds("fiscal_year", fy.end()))
        .map_err(|e| Error::Validation(vec![e]))?;
    Ok(fy)
}

/// Figures of a fiscal year: consultations, placements, nights, hub room vs community share,
/// per month and per facility; as JSON or as a CSV/XLSX download.
#[utoipa::path(get, path = "/api/v1/placement/figures", params(FiguresQuery), responses((status = 200, body = Figures)))]
pub(crate) async fn get_figures(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    query: std::result::Result<Query<FiguresQuery>, QueryRejection>,
) -> Result<Response> {
    let q = query.map_err(query_error)?.0;
    let fy = parse_fiscal_year(&q.fiscal_year)?;
    figures_response(
        &state.db,
        user.municipality_id,
        fy,
        &q.format,
        &q.encoding,
        Lang::parse(&q.lang).unwrap_or_default(),
    )
    .await
}

/// Shared by the API and the pages.
pub async fn figures_response(
    db: &Db,
    m: MunicipalityId,
    fy: FiscalYear,
    format: &str,
    encoding: &str,
    lang: Lang,
) -> Result<Response> {
    let json = format.is_empty() || format == "json";
    // The encoding is checked whatever the format, so that a wrong one is never ignored.
    let (format, encoding) = parse_file_format(if json { "" } else { format }, encoding)?;
    let f = figures::figures(db, m, fy).await?;
    if json {
        return Ok(Json(f).into_response());
    }
    let bytes = figures::export(&f, lang, format, encoding)?;
    Ok(download(
        bytes,
        format,
        encoding,
        &format!("placement-figures-{}", fy.year()),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeclinesQuery {
    /// Fiscal year: 2026, FY2026, R8 or 令和8年度 (default: the current one).
    #[serde(default)]
    fiscal_year: String,
    /// json (default: a page of facilities), csv or xlsx (the whole year).
    #[serde(default)]
    format: String,
    #[serde(default)]
    encoding: String,
    #[serde(default)]
    lang: String,
    /// Facilities per page (JSON): 1 to 1000, default 200.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// Facilities to skip (default 0); `X-Total-Count` and `Link` headers tell the rest.
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// Per facility, the proposals of a fiscal year and what became of them (accepted, declined,
/// expired, waiting, other), the decline reasons counted, and each decline with its date and
/// the request's needs (no personal data); facilities with the most declines first, a page at
/// a time, or the whole year as CSV/XLSX. Hub staff and administrators (the facilities' words).
#[utoipa::path(get, path = "/api/v1/placement/declines", params(DeclinesQuery),
    responses((status = 200, body = Vec<FacilityAnswers>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn get_declines(
    State(state): State<AppState>,
    user: ApiUser,
    query: std::result::Result<Query<DeclinesQuery>, QueryRejection>,
) -> Result<Response> {
    let user = user.require_hub()?;
    let q = query.map_err(query_error)?.0;
    let fy = parse_fiscal_year(&q.fiscal_year)?;
    let page = crate::api::Page::parse(q.limit, q.offset)?;
    let json = q.format.is_empty() || q.format == "json";
    let (format, encoding) = parse_file_format(if json { "" } else { &q.format }, &q.encoding)?;
    let v = declines_of(&state.db, user.municipality_id, fy).await?;
    if json {
        let year = fy.year().to_string();
        return Ok(crate::api::page_of(
            v.facilities,
            page,
            "/api/v1/placement/declines",
            &[("fiscal_year", &year)],
        ));
    }
    let lang = Lang::parse(&q.lang).unwrap_or_default();
    Ok(download(
        declines::export(&v, lang, format, encoding)?,
        format,
        encoding,
        &format!("placement-declines-{}", fy.year()),
    ))
}

/// The decline view of a fiscal year (shared by the API and the page).
pub async fn declines_of(db: &Db, m: MunicipalityId, fy: FiscalYear) -> Result<DeclineView> {
    let (holds, requests) = db.proposal_answers(m, fy).await?;
    Ok(declines::compute(fy, &holds, &requests))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreventiveInput {
    /// The registered case it concerns, if any.
    #[serde(default)]
    request_id: Option<i64>,
    /// `YYYY-MM-DD`
    on_date: String,
    /// What was done: e.g. 訪問, 電話, 関係機関との調整, 短期入所の体験利用.
    kind: String,
    #[serde(default)]
    note: String,
}

/// Preventive-support actions (予防的支援) for people at risk of an emergency, a page at a
/// time.
#[utoipa::path(get, path = "/api/v1/placement/preventive", params(crate::api::PageQuery), responses((status = 200, body = Vec<PreventiveAction>), (status = 403, body = ErrorBody)))]
pub(crate) async fn list_preventive(
    State(state): State<AppState>,
    user: ApiUser,
    query: std::result::Result<Query<crate::api::PageQuery>, QueryRejection>,
) -> Result<Response> {
    let user = user.require_hub()?;
    let q = query.map_err(query_error)?.0;
    let page = crate::api::Page::parse(q.limit, q.offset)?;
    let actions = state.db.preventive_actions(user.municipality_id).await?;
    Ok(crate::api::page_of(
        actions,
        page,
        "/api/v1/placement/preventive",
        &[],
    ))
}

/// Logs a preventive-support action.
#[utoipa::path(post, path = "/api/v1/placement/preventive", request_body = PreventiveInput,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn add_preventive(
    State(state): State<AppState>,
    user: ApiUser,
    body: Bytes,
) -> Result<Response> {
    let user = user.require_hub()?;
    let input: PreventiveInput = json(&body)?;
    let mut errors = Vec::new();
    let on_date = parse_date("on_date", &input.on_date)
        .map_err(|e| errors.push(e))
        .ok();
    let kind = input.kind.trim();
    if kind.is_empty() || kind.chars().count() > 50 {
        errors.push(FieldError::new(
            "kind",
            "支援の種類を50文字以内で入力してください（例: 訪問、電話）",
            "give the kind of support in up to 50 characters (e.g. visit, call)",
        ));
    }
    let note = reason_of(&input.note, false)
        .map_err(|_| {
            errors.push(FieldError::new(
                "note",
                "メモは500文字以内にしてください",
                "keep the note within 500 characters",
            ))
        })
        .ok();
    match (on_date, note) {
        (Some(on_date), Some(note)) if errors.is_empty() => {
            let id = state
                .db
                .add_preventive_action(user, input.request_id, on_date, kind, &note)
                .await?;
            Ok((StatusCode::CREATED, Json(Created { id })).into_response())
        }
        _ => Err(Error::Validation(errors)),
    }
}
