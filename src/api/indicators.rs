//! `/api/v1` for indicators: definitions per fiscal year (and presets), the four figures with
//! proposals, the drill-down, carrying out a proposal, recording a held meeting, and the
//! monthly and annual reports (JSON or XLSX).

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use renkei_solver::calendar::{jst_date, FiscalYear};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::placement::parse_fiscal_year;
use super::{json, parse_id, path_error, query_error};
use crate::app::AppState;
use crate::auth::ApiUser;
use crate::error::{Error, ErrorBody, Result};
use crate::i18n::Lang;
use crate::indicators::report::{self, Report};
use crate::indicators::service::{self, Acted, Dashboard, Drill};
use crate::indicators::{parse_all, presets, Indicator, IndicatorInput, RecordInput};
use crate::master::FieldError;
use crate::meetings::presets::Preset;
use crate::transfer::{FileFormat, TextEncoding};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/indicators",
            get(list_indicators).put(replace_indicators),
        )
        .route("/api/v1/indicators/preset", post(apply_preset))
        .route("/api/v1/indicators/figures", get(figures))
        .route("/api/v1/indicators/{code}/occurrences", get(drill))
        .route("/api/v1/indicators/{code}/act", post(act))
        .route(
            "/api/v1/occurrences/{id}/record",
            get(get_record).post(record),
        )
        .route("/api/v1/reports/annual", get(annual))
        .route("/api/v1/reports/monthly", get(monthly))
}

pub(crate) fn today() -> NaiveDate {
    jst_date(Utc::now())
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// 2026, FY2026, R8 or 令和8年度 (default: the current fiscal year).
    #[serde(default)]
    pub fiscal_year: String,
}

/// The fiscal year's indicators.
#[utoipa::path(get, path = "/api/v1/indicators", params(YearQuery),
    responses((status = 200, body = Vec<Indicator>), (status = 422, body = ErrorBody)))]
pub(crate) async fn list_indicators(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    q: std::result::Result<Query<YearQuery>, QueryRejection>,
) -> Result<Json<Vec<Indicator>>> {
    let fy = parse_fiscal_year(&q.map_err(query_error)?.0.fiscal_year)?;
    Ok(Json(state.db.indicators(user.municipality_id, fy).await?))
}

/// Replaces the fiscal year's indicators with the list (all checked first; nothing changes
/// if one is wrong).
#[utoipa::path(put, path = "/api/v1/indicators", params(YearQuery), request_body = Vec<IndicatorInput>,
    responses((status = 200, body = Vec<Indicator>), (status = 422, body = ErrorBody)))]
pub(crate) async fn replace_indicators(
    State(state): State<AppState>,
    user: ApiUser,
    q: std::result::Result<Query<YearQuery>, QueryRejection>,
    body: Bytes,
) -> Result<Json<Vec<Indicator>>> {
    let user = user.require_write()?;
    let fy = parse_fiscal_year(&q.map_err(query_error)?.0.fiscal_year)?;
    let list: Vec<IndicatorInput> = json(&body)?;
    let list = parse_all(&list).map_err(Error::Validation)?;
    state.db.replace_indicators(user, fy, &list).await?;
    Ok(Json(state.db.indicators(user.municipality_id, fy).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresetInput {
    /// hiratsuka, kumamoto, meguro or sendai.
    pub preset: String,
    /// Default: the current fiscal year.
    #[serde(default)]
    pub fiscal_year: String,
    /// Contract year (1 = the year the center opened; default 1): Meguro's targets change
    /// from the second year.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 30)]
    pub contract_year: Option<u32>,
}

/// Replaces the fiscal year's indicators with a preset's (Hiratsuka's table, Kumamoto's,
/// Meguro's cadences, Sendai's hub).
#[utoipa::path(post, path = "/api/v1/indicators/preset", request_body = PresetInput,
    responses((status = 200, body = Vec<Indicator>), (status = 422, body = ErrorBody)))]
pub(crate) async fn apply_preset(
    State(state): State<AppState>,
    user: ApiUser,
    body: Bytes,
) -> Result<Json<Vec<Indicator>>> {
    let user = user.require_write()?;
    let input: PresetInput = json(&body)?;
    let fy = parse_fiscal_year(&input.fiscal_year)?;
    let preset = Preset::parse(&input.preset).ok_or_else(|| {
        Error::Validation(vec![FieldError::new(
            "preset",
            format!(
                "プリセット「{}」はありません（hiratsuka, kumamoto, meguro, sendai）",
                input.preset
            ),
            format!(
                "no preset \"{}\" (hiratsuka, kumamoto, meguro, sendai)",
                input.preset
            ),
        )])
    })?;
    let year = crate::meetings::presets::check_contract_year(input.contract_year.unwrap_or(1))
        .map_err(|e| Error::Validation(vec![e]))?;
    state
        .db
        .replace_indicators(user, fy, &presets::indicators_in_year(preset, year))
        .await?;
    Ok(Json(state.db.indicators(user.municipality_id, fy).await?))
}

/// Target, planned, expected and actual of every indicator, with proposals for those at risk.
#[utoipa::path(get, path = "/api/v1/indicators/figures", params(YearQuery),
    responses((status = 200, body = Dashboard), (status = 422, body = ErrorBody)))]
pub(crate) async fn figures(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    q: std::result::Result<Query<YearQuery>, QueryRejection>,
) -> Result<Json<Dashboard>> {
    let fy = parse_fiscal_year(&q.map_err(query_error)?.0.fiscal_year)?;
    Ok(Json(
        service::dashboard(&state.db, user.municipality_id, fy, today()).await?,
    ))
}

/// The occurrences one indicator counts, and how each stands.
#[utoipa::path(get, path = "/api/v1/indicators/{code}/occurrences", params(("code" = String, Path), YearQuery),
    responses((status = 200, body = Drill), (status = 404, body = ErrorBody)))]
pub(crate) async fn drill(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    q: std::result::Result<Query<YearQuery>, QueryRejection>,
) -> Result<Json<Drill>> {
    let code = path.map_err(path_error)?.0;
    let fy = parse_fiscal_year(&q.map_err(query_error)?.0.fiscal_year)?;
    Ok(Json(
        service::drill(&state.db, user.municipality_id, fy, today(), &code).await?,
    ))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ActInput {
    /// Optimizer time limit of a re-plan, 1-600 seconds (default 60).
    #[serde(default)]
    pub time_limit_seconds: Option<f64>,
}

/// Carries out the indicator's current proposal: invitations to organisations not taking part,
/// or a re-plan of the rest of the fiscal year with the indicators as targets (a planning run
/// to review and publish).
#[utoipa::path(post, path = "/api/v1/indicators/{code}/act", params(("code" = String, Path), YearQuery), request_body = ActInput,
    responses((status = 202, body = Acted), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn act(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    q: std::result::Result<Query<YearQuery>, QueryRejection>,
    body: Bytes,
) -> Result<(StatusCode, Json<Acted>)> {
    let user = user.require_write()?;
    let code = path.map_err(path_error)?.0;
    let fy = parse_fiscal_year(&q.map_err(query_error)?.0.fiscal_year)?;
    let input: ActInput = if body.is_empty() {
        ActInput::default()
    } else {
        json(&body)?
    };
    let limit = input.time_limit_seconds.unwrap_or(60.0);
    if !(1.0..=600.0).contains(&limit) {
        return Err(Error::Validation(vec![FieldError::new(
            "time_limit_seconds",
            "計算時間の上限は1〜600秒にしてください",
            "the time limit is 1-600 seconds",
        )]));
    }
    let acted = service::act(
        &state.db,
        user,
        fy,
        today(),
        &code,
        limit,
        state.plan_defaults(user.municipality_id).await?,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(acted)))
}

#[derive(Serialize, ToSchema)]
pub struct Recorded {
    pub occurrence_id: i64,
    pub outcome: String,
    /// When it was recorded: send it as `recorded_at` to replace this record.
    pub recorded_at: String,
}

/// What was recorded for a meeting (held or not, who came, the minutes link, when); 404 while
/// nothing is recorded. Its `recorded_at` is what a record replacing it must name.
#[utoipa::path(get, path = "/api/v1/occurrences/{id}/record", params(("id" = i64, Path)),
    responses((status = 200, body = crate::indicators::Record), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_record(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
) -> Result<Json<crate::indicators::Record>> {
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let m = user.0.municipality_id;
    state.db.occurrence(m, id).await?;
    let rec = state
        .db
        .occurrence_record(m, id)
        .await?
        .ok_or_else(|| Error::not_found("会議の記録", "meeting record"))?;
    Ok(Json(rec))
}

/// Records what happened at a meeting: held (who came: invitees' ids, or the confirmed
/// answers when left out; people from outside the lists; the minutes link) or not held (why).
#[utoipa::path(post, path = "/api/v1/occurrences/{id}/record", params(("id" = i64, Path)), request_body = RecordInput,
    responses((status = 200, body = Recorded), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn record(
    State(state): State<AppState>,
    user: ApiUser,
    path: std::result::Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Json<Recorded>> {
    let user = user.require_write()?;
    let id = parse_id(&path.map_err(path_error)?.0)?;
    let input: RecordInput = json(&body)?;
    let rec = input.parse().map_err(Error::Validation)?;
    state.db.record_occurrence(user, id, today(), &rec).await?;
    let stored = state
        .db
        .occurrence_record(user.municipality_id, id)
        .await?
        .ok_or_else(|| Error::not_found("会議の記録", "meeting record"))?;
    Ok(Json(Recorded {
        occurrence_id: id,
        outcome: stored.outcome,
        recorded_at: stored.recorded_at,
    }))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Annual report: 2026, FY2026, R8 or 令和8年度 (default: the current fiscal year).
    #[serde(default)]
    pub fiscal_year: String,
    /// Monthly report: `YYYY-MM` (default: the current month).
    #[serde(default)]
    pub month: String,
    /// `json` (default) or `xlsx`.
    #[serde(default)]
    pub format: String,
    /// Language of the XLSX file: ja (default) or en.
    #[serde(default)]
    pub lang: String,
}

pub(crate) fn parse_month(s: &str) -> Result<NaiveDate> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(today());
    }
    let month = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").map_err(|_| {
        Error::Validation(vec![FieldError::new(
            "month",
            format!("月「{s}」が読めません。2026-10 のように年-月で指定してください"),
            format!("cannot read the month \"{s}\"; write year-month like 2026-10"),
        )])
    })?;
    crate::master::check_date_bounds("month", month).map_err(|e| Error::Validation(vec![e]))
}

/// A report as JSON or as an XLSX download named after it.
pub(crate) async fn report_response(
    state: &AppState,
    user: &crate::store::tenancy::User,
    r: Report,
    format: &str,
    lang: Lang,
) -> Result<Response> {
    match format.trim() {
        "" | "json" => Ok(Json(r).into_response()),
        "xlsx" => {
            let name = state.db.municipality(user.municipality_id).await?.name;
            let bytes = report::xlsx(&r, &name, lang)?;
            Ok(super::download(
                bytes,
                FileFormat::Xlsx,
                TextEncoding::Auto,
                &format!("{}-{}", r.kind, r.from.format("%Y-%m")),
            ))
        }
        other => Err(Error::Validation(vec![FieldError::new(
            "format",
            format!("形式「{other}」はありません（json または xlsx）"),
            format!("unknown format \"{other}\" (json or xlsx)"),
        )])),
    }
}

fn lang_of(s: &str) -> Lang {
    Lang::parse(s.trim()).unwrap_or_default()
}

/// The annual results report (実績報告): the indicators, each activity's meetings held,
/// participant-visits and organisations, per month, and every meeting.
#[utoipa::path(get, path = "/api/v1/reports/annual", params(ReportQuery),
    responses((status = 200, description = "JSON report or XLSX file"), (status = 422, body = ErrorBody)))]
pub(crate) async fn annual(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    q: std::result::Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response> {
    let q = q.map_err(query_error)?.0;
    let fy = parse_fiscal_year(&q.fiscal_year)?;
    let (defs, data) = service::load(&state.db, user.municipality_id, fy, today()).await?;
    let r = report::annual(&defs, &data);
    report_response(&state, &user, r, &q.format, lang_of(&q.lang)).await
}

/// The monthly report (月次報告): the month's meetings and the indicators up to its end.
#[utoipa::path(get, path = "/api/v1/reports/monthly", params(ReportQuery),
    responses((status = 200, description = "JSON report or XLSX file"), (status = 422, body = ErrorBody)))]
pub(crate) async fn monthly(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    q: std::result::Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response> {
    let q = q.map_err(query_error)?.0;
    let month = parse_month(&q.month)?;
    let fy = FiscalYear::of(month);
    let (defs, data) = service::load(&state.db, user.municipality_id, fy, today()).await?;
    let r = report::monthly(&defs, &data, month);
    report_response(&state, &user, r, &q.format, lang_of(&q.lang)).await
}
