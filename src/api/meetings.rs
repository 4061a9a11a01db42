//! `/api/v1` for meeting calendars: series and presets, planning runs (background jobs with
//! progress), publishing, the published calendar with its exports, pins, and feed links.
//! The iCalendar feeds themselves (`/feeds/...`) need no login: their link carries a token.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use renkei_solver::calendar::jst_date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    download, json, page_of, parse_file_format, parse_id, path_error, query_error, Created, Page,
    PageQuery,
};
use crate::app::AppState;
use crate::auth::ApiUser;
use crate::error::{Error, ErrorBody, Result};
use crate::i18n::{Lang, Msg};
use crate::master::parse_date;
use crate::meetings::held::{HeldCancelInput, HeldDateInput};
use crate::meetings::ical::{feed, feed_token, token_matches, FeedKind};
use crate::meetings::presets::Preset;
use crate::meetings::spec::SeriesSpec;
use crate::meetings::{export, start_plan, PlanRequestInput, PresetOut};
use crate::store::meetings::{
    parse_pin, OccurrenceFilter, OccurrenceRow, PlanRun, PublishSummary, SeriesRow,
};
use crate::store::tenancy::{MunicipalityId, User};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/series", get(list_series).post(create_series))
        .route("/api/v1/series/presets", get(list_presets))
        .route("/api/v1/series/presets/{slug}", post(apply_preset))
        .route("/api/v1/series/{id}", get(get_series).put(update_series))
        .route("/api/v1/series/{id}/active", post(set_active))
        .route("/api/v1/plans", get(list_plans).post(create_plan))
        .route("/api/v1/plans/{id}", get(get_plan))
        .route("/api/v1/plans/{id}/publish", post(publish_plan))
        .route("/api/v1/occurrences", get(list_occurrences))
        .route("/api/v1/occurrences/export", get(export_occurrences))
        .route("/api/v1/occurrences/{id}/pin", post(pin_occurrence))
        .route("/api/v1/series/{id}/held-dates", post(enter_held_date))
        .route(
            "/api/v1/occurrences/{id}/held",
            axum::routing::put(change_held_date),
        )
        .route(
            "/api/v1/occurrences/{id}/held/cancel",
            post(cancel_held_date),
        )
        .route("/api/v1/feeds/{kind}/{id}", get(feed_link))
        .route("/feeds/{municipality}/{kind}/{id}/{file}", get(feed_file))
}

fn parse_spec(body: &[u8]) -> Result<crate::meetings::spec::ValidSeries> {
    json::<SeriesSpec>(body)?.parse().map_err(Error::Validation)
}

/// The municipality's meeting series, a page at a time.
#[utoipa::path(get, path = "/api/v1/series", params(PageQuery), responses((status = 200, body = Vec<SeriesRow>)))]
pub(crate) async fn list_series(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    query: std::result::Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response> {
    let q = query.map_err(query_error)?.0;
    let page = Page::parse(q.limit, q.offset)?;
    let series = state.db.list_series(user.municipality_id).await?;
    Ok(page_of(series, page, "/api/v1/series", &[]))
}

/// Creates a series from its description.
#[utoipa::path(post, path = "/api/v1/series", request_body = SeriesSpec,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_series(
    State(state): State<AppState>,
    user: ApiUser,
    body: Bytes,
) -> Result<Response> {
    let user = user.require_write()?;
    let v = parse_spec(&body)?;
    let id = state.db.save_series(user, None, &v).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[utoipa::path(get, path = "/api/v1/series/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = SeriesRow), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_series(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<SeriesRow>> {
    let id = parse_id(&path.map_err(path_error)?.0)?;
    Ok(Json(state.db.get_series(user.municipality_id, id).await?))
}

/// Replaces a series' description.
#[utoipa::path(put, path = "/api/v1/series/{id}", params(("id" = i64, Path)), request_body = SeriesSpec,
    responses((status = 200, body = SeriesRow), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update_series(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<SeriesRow>> {
    let user = user.require_write()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let v = parse_spec(&body)?;
    state.db.save_series(user, Some(id), &v).await?;
    Ok(Json(state.db.get_series(user.municipality_id, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActiveInput {
    active: bool,
}

/// Switches a series on or off for planning.
#[utoipa::path(post, path = "/api/v1/series/{id}/active", params(("id" = i64, Path)), request_body = ActiveInput,
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn set_active(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode> {
    let user = user.require_write()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let input: ActiveInput = json(&body)?;
    state.db.set_series_active(user, id, input.active).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn presets() -> Vec<PresetOut> {
    Preset::ALL
        .into_iter()
        .map(|p| PresetOut {
            slug: p.slug().into(),
            label: Msg::new(p.label().0, p.label().1),
            series: p.series().len(),
        })
        .collect()
}

/// Presets that reproduce the source documents' cadences.
#[utoipa::path(get, path = "/api/v1/series/presets", responses((status = 200, body = Vec<PresetOut>)))]
pub(crate) async fn list_presets(_user: ApiUser) -> Json<Vec<PresetOut>> {
    Json(presets())
}

#[derive(Serialize, ToSchema)]
pub struct PresetApplied {
    /// Series added (their codes were not taken).
    pub added: usize,
    /// Existing series given the contract year's cadence.
    pub updated: usize,
}

/// The optional body of applying a preset.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SeriesPresetInput)]
pub(crate) struct PresetInput {
    /// Contract year (1 = the year the center opened; default 1). Meguro's cadences change
    /// from the second year.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 30)]
    pub contract_year: Option<u32>,
}

/// Adds a preset's series whose codes are not taken yet; with a contract year, existing series
/// of the preset get that year's cadence.
#[utoipa::path(post, path = "/api/v1/series/presets/{slug}", params(("slug" = String, Path, description = "kumamoto, meguro, hiratsuka or sendai")),
    request_body(content = PresetInput, description = "optional"),
    responses((status = 200, body = PresetApplied), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn apply_preset(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<PresetApplied>> {
    let user = user.require_write()?;
    let input: PresetInput = if body.iter().all(u8::is_ascii_whitespace) {
        PresetInput::default()
    } else {
        json(&body)?
    };
    let applied = add_preset(
        &state,
        user,
        &path.map_err(path_error)?.0,
        input.contract_year,
    )
    .await?;
    Ok(Json(applied))
}

/// Shared by the API and the pages. `contract_year`: None is the first year, and leaves the
/// existing series as they are.
pub async fn add_preset(
    state: &AppState,
    user: &User,
    slug: &str,
    contract_year: Option<u32>,
) -> Result<PresetApplied> {
    let preset = Preset::parse(slug).ok_or_else(|| {
        Error::NotFound(Msg::new(
            format!("プリセット「{slug}」はありません（kumamoto, meguro, hiratsuka, sendai）"),
            format!("no preset \"{slug}\" (kumamoto, meguro, hiratsuka, sendai)"),
        ))
    })?;
    if let Some(year) = contract_year {
        crate::meetings::presets::check_contract_year(year)
            .map_err(|e| Error::Validation(vec![e]))?;
    }
    let specs = preset
        .series_in_year(contract_year.unwrap_or(1))
        .iter()
        .map(|s| s.parse())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::Validation)?;
    let what = match contract_year {
        Some(y) => format!("{} (contract year {y})", preset.slug()),
        None => preset.slug().to_string(),
    };
    let added = state.db.add_series(user, &specs, &what).await?;
    let updated = match contract_year {
        Some(_) if preset.by_contract_year() => state.db.set_cadences(user, &specs, &what).await?,
        _ => 0,
    };
    Ok(PresetApplied { added, updated })
}

/// Planning runs, newest first, a page at a time (each carries its plan: 20 a page unless
/// `limit` says otherwise).
#[utoipa::path(get, path = "/api/v1/plans", params(PageQuery), responses((status = 200, body = Vec<PlanRun>)))]
pub(crate) async fn list_plans(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    query: std::result::Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response> {
    let q = query.map_err(query_error)?.0;
    let page = Page::parse(q.limit.or(Some(20)), q.offset)?;
    let (runs, total) = state
        .db
        .list_plan_runs(user.municipality_id, page.limit, page.offset)
        .await?;
    Ok((page.headers(total, "/api/v1/plans", &[]), Json(runs)).into_response())
}

/// Starts planning a period in the background. Poll the run (or its job) for progress.
#[utoipa::path(post, path = "/api/v1/plans", request_body = PlanRequestInput,
    responses((status = 202, body = PlanRun), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create_plan(
    State(state): State<AppState>,
    user: ApiUser,
    body: Bytes,
) -> Result<Response> {
    let user = user.require_write()?;
    let input: PlanRequestInput = json(&body)?;
    let req = input
        .parse(
            jst_date(Utc::now()),
            state.plan_defaults(user.municipality_id).await?,
        )
        .map_err(Error::Validation)?;
    let run = start_plan(&state.db, user, &req).await?;
    Ok((StatusCode::ACCEPTED, Json(run)).into_response())
}

/// A planning run: status, progress, the best plan so far, the validated result or why no
/// plan exists.
#[utoipa::path(get, path = "/api/v1/plans/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = PlanRun), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_plan(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<PlanRun>> {
    let id = parse_id(&path.map_err(path_error)?.0)?;
    Ok(Json(state.db.plan_run(user.municipality_id, id).await?))
}

/// Publishes a finished plan: occurrences are added, moved or cancelled in one transaction.
#[utoipa::path(post, path = "/api/v1/plans/{id}/publish", params(("id" = i64, Path)),
    responses((status = 200, body = PublishSummary), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn publish_plan(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<PublishSummary>> {
    let user = user.require_write()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    Ok(Json(state.db.publish_plan_run(user, id).await?))
}

/// Which published occurrences to list or export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct OccurrenceQuery {
    /// First date, YYYY-MM-DD.
    pub from: String,
    /// Last date, YYYY-MM-DD.
    pub to: String,
    /// Person id: meetings they are invited to.
    pub person: Option<i64>,
    /// Room id.
    pub room: Option<i64>,
    /// Organisation id: meetings held there or attended by its staff.
    pub organisation: Option<i64>,
    pub ward: String,
    pub include_cancelled: bool,
    /// List: meetings per page, 1 to 1000 (default 200); the export is always whole.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// List: meetings to skip (default 0); `X-Total-Count` and `Link` headers tell the rest.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Export: csv (default) or xlsx.
    pub format: String,
    /// Export: utf-8 (default) or shift_jis.
    pub encoding: String,
    /// Export language: ja (default) or en.
    pub lang: String,
}

impl OccurrenceQuery {
    pub fn filter(&self) -> Result<OccurrenceFilter> {
        let date = |field: &str, s: &str| -> Result<Option<NaiveDate>> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            parse_date(field, s)
                .map(Some)
                .map_err(|e| Error::Validation(vec![e]))
        };
        Ok(OccurrenceFilter {
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
            person_id: self.person,
            room_id: self.room,
            organisation_id: self.organisation,
            ward: Some(self.ward.trim().to_string()).filter(|w| !w.is_empty()),
            include_cancelled: self.include_cancelled,
            id: None,
            series_id: None,
        })
    }
}

/// The published calendar, a page at a time (in date order).
#[utoipa::path(get, path = "/api/v1/occurrences", params(OccurrenceQuery),
    responses((status = 200, body = Vec<OccurrenceRow>), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_occurrences(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    query: std::result::Result<Query<OccurrenceQuery>, QueryRejection>,
) -> Result<Response> {
    let q = query.map_err(query_error)?.0;
    let page = Page::parse(q.limit, q.offset)?;
    let rows = state
        .db
        .occurrences(user.municipality_id, &q.filter()?)
        .await?;
    let (person, room, organisation) = (
        q.person.map(|v| v.to_string()).unwrap_or_default(),
        q.room.map(|v| v.to_string()).unwrap_or_default(),
        q.organisation.map(|v| v.to_string()).unwrap_or_default(),
    );
    let cancelled = if q.include_cancelled { "true" } else { "" };
    let filters = [
        ("from", q.from.as_str()),
        ("to", q.to.as_str()),
        ("person", person.as_str()),
        ("room", room.as_str()),
        ("organisation", organisation.as_str()),
        ("ward", q.ward.as_str()),
        ("include_cancelled", cancelled),
    ];
    Ok(page_of(rows, page, "/api/v1/occurrences", &filters))
}

/// The published calendar as CSV or XLSX.
#[utoipa::path(get, path = "/api/v1/occurrences/export", params(OccurrenceQuery),
    responses((status = 200, description = "the file"), (status = 400, body = ErrorBody)))]
pub(crate) async fn export_occurrences(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    query: std::result::Result<Query<OccurrenceQuery>, QueryRejection>,
) -> Result<Response> {
    let q = query.map_err(query_error)?.0;
    // The export is whole; paging values are still checked, as everywhere.
    Page::parse(q.limit, q.offset)?;
    calendar_download(&state, &user, &q).await
}

/// Shared by the API and the pages.
pub async fn calendar_download(
    state: &AppState,
    user: &User,
    q: &OccurrenceQuery,
) -> Result<Response> {
    let (format, encoding) = parse_file_format(&q.format, &q.encoding)?;
    let lang = Lang::parse(&q.lang).unwrap_or_default();
    let rows = state
        .db
        .occurrences(user.municipality_id, &q.filter()?)
        .await?;
    let bytes = export::calendar_file(&rows, format, encoding, lang)?;
    Ok(download(bytes, format, encoding, "calendar"))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PinInput {
    /// none (may move), full (keep date, time and room) or date (keep the date).
    pin: String,
}

/// Pins a published occurrence for re-planning, or releases it.
#[utoipa::path(post, path = "/api/v1/occurrences/{id}/pin", params(("id" = i64, Path)), request_body = PinInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn pin_occurrence(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode> {
    let user = user.require_write()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let input: PinInput = json(&body)?;
    let pin = parse_pin(input.pin.trim()).ok_or_else(|| {
        Error::Validation(vec![crate::master::FieldError::new(
            "pin",
            "pin は none, full, date のいずれかです",
            "pin is none, full or date",
        )])
    })?;
    state.db.pin_occurrence(user, id, pin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enters a date of a series held by another body (他機関主催): the host's date and times,
/// the place, who of our staff attends (empty: the series' attendees). It keeps them busy for
/// the planner; no room is booked and no mail is sent.
#[utoipa::path(post, path = "/api/v1/series/{id}/held-dates", params(("id" = i64, Path)), request_body = HeldDateInput,
    responses((status = 201, body = Created), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn enter_held_date(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response> {
    let user = user.require_write()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let input: HeldDateInput = json(&body)?;
    let valid = input.parse().map_err(Error::Validation)?;
    let id = state.db.enter_held_date(user, id, &valid).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

/// Changes a date of a meeting held by another body, conditional on the `sequence` read
/// (409 when it changed or was cancelled since).
#[utoipa::path(put, path = "/api/v1/occurrences/{id}/held", params(("id" = i64, Path)), request_body = HeldDateInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn change_held_date(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode> {
    let user = user.require_write()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let input: HeldDateInput = json(&body)?;
    let valid = input.parse().map_err(Error::Validation)?;
    state.db.change_held_date(user, id, &valid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Cancels a date of a meeting held by another body, conditional on the `sequence` read. The
/// results report lists it as not held; no mail is sent.
#[utoipa::path(post, path = "/api/v1/occurrences/{id}/held/cancel", params(("id" = i64, Path)), request_body = HeldCancelInput,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn cancel_held_date(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<StatusCode> {
    let user = user.require_write()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let input: HeldCancelInput = json(&body)?;
    let reason =
        crate::notices::cancel_reason(&input.reason).map_err(|e| Error::Validation(vec![e]))?;
    state
        .db
        .cancel_held_date(user, id, input.sequence, reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct FeedLink {
    /// Path of the feed; prefix the service's address (Outlook / Google: "subscribe from URL").
    pub path: String,
}

fn parse_feed_kind(s: &str) -> Result<FeedKind> {
    FeedKind::parse(s).ok_or_else(|| {
        Error::NotFound(Msg::new(
            format!("フィードの種類「{s}」はありません（person, room, organisation）"),
            format!("no feed kind \"{s}\" (person, room, organisation)"),
        ))
    })
}

/// The subscription path of a feed (shared by the API and the pages).
pub async fn feed_path(
    state: &AppState,
    m: MunicipalityId,
    kind: FeedKind,
    id: i64,
) -> Result<String> {
    let secret = state.db.feed_secret(m).await?;
    Ok(format!(
        "/feeds/{}/{}/{id}/{}.ics",
        m.0,
        kind.slug(),
        feed_token(&secret, m.0, kind, id)
    ))
}

/// The iCalendar subscription link of a person, room or organisation.
#[utoipa::path(get, path = "/api/v1/feeds/{kind}/{id}", params(("kind" = String, Path, description = "person, room or organisation"), ("id" = i64, Path)),
    responses((status = 200, body = FeedLink), (status = 404, body = ErrorBody)))]
pub(crate) async fn feed_link(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    path: std::result::Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<FeedLink>> {
    let (kind, id) = path.map_err(path_error)?.0;
    let kind = parse_feed_kind(&kind)?;
    let id = parse_id(&id)?;
    Ok(Json(FeedLink {
        path: feed_path(&state, user.municipality_id, kind, id).await?,
    }))
}

/// The feed itself: no login, the token in the link is the key.
async fn feed_file(
    State(state): State<AppState>,
    path: std::result::Result<Path<(String, String, String, String)>, PathRejection>,
) -> Result<Response> {
    let (m, kind, id, file) = path.map_err(path_error)?.0;
    let not_found = || Error::not_found("カレンダー", "calendar feed");
    let m = MunicipalityId(m.parse().map_err(|_| not_found())?);
    let kind = parse_feed_kind(&kind)?;
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let token = file.strip_suffix(".ics").ok_or_else(not_found)?;
    let secret = state.db.feed_secret(m).await.map_err(|_| not_found())?;
    if !token_matches(&feed_token(&secret, m.0, kind, id), token) {
        return Err(not_found());
    }
    let from = jst_date(Utc::now()) - chrono::Duration::days(92);
    let mut filter = OccurrenceFilter {
        from: Some(from),
        include_cancelled: true,
        ..Default::default()
    };
    match kind {
        FeedKind::Person => filter.person_id = Some(id),
        FeedKind::Room => filter.room_id = Some(id),
        FeedKind::Organisation => filter.organisation_id = Some(id),
    }
    let title = feed_title(&state, m, kind, id)
        .await
        .map_err(|_| not_found())?;
    let rows = state.db.occurrences(m, &filter).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        feed(&title, &rows),
    )
        .into_response())
}

async fn feed_title(
    state: &AppState,
    m: MunicipalityId,
    kind: FeedKind,
    id: i64,
) -> Result<String> {
    use crate::master::MasterKind;
    use crate::store::master::Record;
    let record = match kind {
        FeedKind::Person => state.db.get_record(m, MasterKind::People, id).await?,
        FeedKind::Room => state.db.get_record(m, MasterKind::Rooms, id).await?,
        FeedKind::Organisation => {
            state
                .db
                .get_record(m, MasterKind::Organisations, id)
                .await?
        }
    };
    let name = match record {
        Record::Person(p) => p.name,
        Record::Room(r) => format!("{} {}", r.venue_name, r.name),
        Record::Organisation(o) => o.name,
        Record::Venue(v) => v.name,
    };
    Ok(format!("{name} — renkei"))
}
