//! Pages for meetings held by other bodies (他機関主催): a held series' dates (entered so far,
//! 日程未登録 while none is, and the form to enter the host's date), and changing or cancelling
//! one date from the meeting page. Every write goes through `store::held`; no mail is sent.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use minijinja::{context, Value};
use renkei_solver::calendar::{jst_date, FiscalYear};

use super::templates::render;
use super::{
    base, check_csrf, field_errors_view, form_map, form_pairs, parse_page_id, redirect_with_flash,
    require_write, Flash, PageLang, PageResult,
};
use crate::app::AppState;
use crate::auth::SessionUser;
use crate::error::Error;
use crate::i18n::Lang;
use crate::master::FieldError;
use crate::meetings::build::host_name;
use crate::meetings::held::{expected_per_year, HeldDateInput};
use crate::store::meetings::OccurrenceFilter;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/meetings/series/{id}/held",
            axum::routing::get(held_page).post(held_submit),
        )
        .route("/meetings/occurrences/{id}/held", post(change_submit))
        .route(
            "/meetings/occurrences/{id}/held/cancel",
            post(cancel_submit),
        )
}

const LABELS: [(&str, &str, &str); 7] = [
    ("date", "日付", "Date"),
    ("start", "開始", "Start"),
    ("end", "終了", "End"),
    ("place", "場所", "Place"),
    ("attendees", "出席する職員", "Our attendees"),
    ("held_by", "主催機関", "Host"),
    ("sequence", "版", "Version"),
];

pub(crate) fn words(lang: Lang) -> Value {
    super::word_table(
        lang,
        &[
            ("title", "他機関主催の日程", "Dates held by another body"),
            ("held_by", "他機関主催", "Held by another body"),
            ("host", "主催", "Host"),
            ("intro", "主催者が決めた日時を登録します。計画はこの時間に出席者の会議を入れません。会議室は予約せず、招待メールも送りません（招待は主催者から届きます）。出席者のカレンダー配信と公開カレンダーには「他機関主催」として載ります。", "Enter the date and times the host set. Plans keep the attendees free then. No room is booked and no invitation is sent (the host invites). It appears in the attendees' calendar feeds and on the published calendar as held by another body."),
            ("not_held", "このシリーズは他機関主催ではありません。シリーズの編集で主催機関を入力すると、日程を登録できます。", "This series is not held by another body. Set its host in the series editor to enter dates."),
            ("edit_series", "シリーズを編集", "Edit the series"),
            ("entered", "登録済みの日程", "Entered dates"),
            ("no_dates", "日程未登録", "No date entered yet"),
            ("this_year", "今年度", "This fiscal year"),
            ("expected", "予定回数", "Expected"),
            ("date", "日付", "Date"),
            ("time", "時間", "Time"),
            ("place", "場所", "Place"),
            ("attendees", "出席する職員", "Our attendees"),
            ("attendees_hint", "職員コードをカンマ区切りで。空欄ならシリーズの出席者", "person codes, separated by commas; empty: the series' attendees"),
            ("place_hint", "空欄ならシリーズの開催場所（なければ主催機関）", "empty: the series' usual place (else the host)"),
            ("status", "状態", "Status"),
            ("scheduled", "予定", "scheduled"),
            ("cancelled", "中止", "cancelled"),
            ("enter", "日程を登録", "Enter a date"),
            ("start", "開始", "Start"),
            ("end", "終了", "End"),
            ("save", "登録する", "Enter"),
            ("change", "日時・場所を変更", "Change the date or place"),
            ("change_hint", "主催者が日程を変えたときに入力します（メールは送りません）", "when the host moves it (no mail is sent)"),
            ("cancel", "中止として記録", "Record as cancelled"),
            ("reason", "中止の理由", "Why it is cancelled"),
        ],
    )
}

fn input_from(form: &HashMap<String, String>) -> HeldDateInput {
    let get = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    HeldDateInput {
        date: get("date"),
        start: get("start"),
        end: get("end"),
        place: get("place"),
        attendees: crate::master::split_list(&get("attendees")),
        sequence: None,
    }
}

async fn render_page(
    state: &AppState,
    lang: Lang,
    session: &SessionUser,
    id: i64,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    status: StatusCode,
) -> PageResult {
    let m = session.user.municipality_id;
    let series = state.db.get_series(m, id).await?;
    let orgs = state.db.organisation_snapshot(m).await?;
    let host = series
        .spec
        .held_by
        .as_ref()
        .map(|h| host_name(h, &orgs))
        .map(|(ja, en)| if lang == Lang::Ja { ja } else { en });
    let rows = state
        .db
        .occurrences(
            m,
            &OccurrenceFilter {
                series_id: Some(id),
                include_cancelled: true,
                ..Default::default()
            },
        )
        .await?;
    let fy = FiscalYear::of(jst_date(Utc::now()));
    let this_year = rows
        .iter()
        .filter(|o| o.status == "scheduled")
        .filter(|o| {
            chrono::NaiveDate::parse_from_str(&o.date, "%Y-%m-%d").is_ok_and(|d| fy.contains(d))
        })
        .count();
    let dates: Vec<Value> = rows
        .iter()
        .map(|o| {
            context! {
                id => o.id, date => o.date.clone(), start => o.start.clone(), end => o.end.clone(),
                place => crate::notices::place(o), cancelled => o.status == "cancelled",
                attendees => o.attendees.iter().map(|a| a.name.clone()).collect::<Vec<_>>().join("、"),
            }
        })
        .collect();
    let b = base(state, lang, session, "meetings/series").await?;
    let html = render(
        "held_dates.html",
        context! { ..b, ..context! {
            w => words(lang), id => id,
            series_title => if lang == Lang::En && !series.spec.title_en.is_empty() { series.spec.title_en.clone() } else { series.spec.title.clone() },
            host => host, dates => dates, this_year => this_year,
            fiscal_year => if lang == Lang::Ja { fy.label_ja() } else { fy.label_en() },
            expected => expected_per_year(&series.spec.cadence),
            values => values.clone(),
            errors => field_errors_view(errors, lang, &LABELS),
        }},
    )?;
    Ok((status, Html(html)).into_response())
}

async fn held_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_page_id(&id)?;
    render_page(
        &state,
        lang,
        &session,
        id,
        &HashMap::new(),
        &[],
        StatusCode::OK,
    )
    .await
}

async fn held_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let id = parse_page_id(&id)?;
    let result = match input_from(&form).parse() {
        Ok(valid) => state.db.enter_held_date(&session.user, id, &valid).await,
        Err(errors) => Err(Error::Validation(errors)),
    };
    match result {
        Ok(_) => Ok(redirect_with_flash(
            &state,
            &format!("/meetings/series/{id}/held"),
            Flash::HeldDate { change: 0 },
        )),
        Err(Error::Validation(errors)) => {
            render_page(
                &state,
                lang,
                &session,
                id,
                &form,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn sequence(form: &HashMap<String, String>) -> Result<i64, Error> {
    form.get("sequence")
        .and_then(|s| s.trim().parse::<i64>().ok())
        .ok_or_else(|| {
            Error::Validation(vec![FieldError::new(
                "sequence",
                "フォームの版（sequence）がありません。画面を読み込み直してください",
                "the form's version (sequence) is missing; reload the page",
            )])
        })
}

async fn change_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let id = parse_page_id(&id)?;
    let mut input = input_from(&form);
    input.sequence = Some(sequence(&form)?);
    let valid = input.parse().map_err(Error::Validation)?;
    state.db.change_held_date(&session.user, id, &valid).await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/meetings/occurrences/{id}"),
        Flash::HeldDate { change: 1 },
    ))
}

async fn cancel_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let id = parse_page_id(&id)?;
    let reason = crate::notices::cancel_reason(form.get("reason").map_or("", String::as_str))
        .map_err(|e| Error::Validation(vec![e]))?;
    state
        .db
        .cancel_held_date(&session.user, id, sequence(&form)?, reason)
        .await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/meetings/occurrences/{id}"),
        Flash::HeldDate { change: 2 },
    ))
}
