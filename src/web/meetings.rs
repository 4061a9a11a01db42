//! Pages of the meeting calendar: the series editor and presets, "plan this quarter / year"
//! with a progress bar and the best plan so far, the preview (month grid, list, changes
//! against the published calendar, or why no plan exists), publishing, the published calendar
//! per person / room / ward / organisation with exports and feed links, and the printable
//! annual plan (年間事業計画).

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, NaiveDate, Utc, Weekday};
use minijinja::{context, Value};
use renkei_solver::calendar::{holiday_on, is_year_end_closure, jst_date, weekday_ja, FiscalYear};
use renkei_solver::schedule::model::{Change, Infeasibility, Instance, Occurrence};
use serde::Deserialize;

use super::templates::render;
use super::{
    base, check_csrf, field_errors_view, form_map, form_pairs, page, parse_page_id as parse_id,
    plural, redirect_with_flash, require_write, Flash, PageError, PageLang, PageResult,
};
use crate::api::meetings::{add_preset, calendar_download, feed_path, OccurrenceQuery};
use crate::app::AppState;
use crate::auth::SessionUser;
use crate::error::Error;
use crate::i18n::Lang;
use crate::master::{FieldError, MasterKind, OrgKind};
use crate::meetings::build::SeriesRef;
use crate::meetings::ical::FeedKind;
use crate::meetings::presets::Preset;
use crate::meetings::spec::{
    kind_label, kind_slug, parse_kind, parse_period, period_slug, CadenceSpec, LecturerSpec,
    OrgAttendance, PrecedenceSpec, Repeat, SeriesSpec, MEETING_KINDS,
};
use crate::meetings::{export, period_choices, start_plan, PlanRequestInput};
use crate::store::master::Record;
use crate::store::meetings::{OccurrenceRow, PlanRun};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/meetings/series", get(series_list))
        .route("/meetings/series/presets", post(preset_submit))
        .route("/meetings/series/new", get(series_new).post(series_create))
        .route(
            "/meetings/series/{id}",
            get(series_edit).post(series_update),
        )
        .route("/meetings/series/{id}/active", post(series_active))
        .route("/meetings/plan", get(plan_form).post(plan_submit))
        .route("/meetings/plans/{id}", get(plan_page))
        .route(
            "/meetings/plans/{id}/publish",
            get(publish_confirm).post(publish_submit),
        )
        .route("/meetings/calendar", get(calendar_page))
        .route("/meetings/calendar/export", get(calendar_export))
        .route("/meetings/annual", get(annual_page))
        .route("/meetings/occurrences/{id}/pin", post(pin_submit))
}

fn tr(lang: Lang, ja: &str, en: &str) -> String {
    match lang {
        Lang::Ja => ja.to_string(),
        Lang::En => en.to_string(),
    }
}

fn kind_text(lang: Lang, kind: &str) -> String {
    parse_kind(kind)
        .map(|k| tr(lang, kind_label(k).0, kind_label(k).1))
        .unwrap_or_else(|| kind.to_string())
}

// ---------------------------------------------------------------------------------------
// Series list and presets

async fn series_list(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
) -> PageResult {
    let b = base(&state, lang, &session, "meetings/series").await?;
    let rows: Vec<Value> = state
        .db
        .list_series(session.user.municipality_id)
        .await?
        .into_iter()
        .map(|s| {
            context! {
                id => s.id, code => s.code, title => s.title, active => s.active,
                kind => kind_text(lang, &s.kind),
                cadence => cadence_text(lang, &s.spec.cadence),
                repeat => repeat_text(lang, s.spec.repeat),
                duration => s.spec.duration_minutes,
                held => s.spec.held_by.is_some(),
            }
        })
        .collect();
    let presets: Vec<Value> = Preset::ALL
        .into_iter()
        .map(|p| context! { slug => p.slug(), label => tr(lang, p.label().0, p.label().1), count => p.series().len() })
        .collect();
    page(
        "series_list.html",
        b,
        context! { series => rows, presets => presets },
    )
}

fn cadence_text(lang: Lang, c: &CadenceSpec) -> String {
    let per = match (c.per, lang) {
        (renkei_solver::schedule::model::CadencePeriod::Month, Lang::Ja) => "毎月",
        (renkei_solver::schedule::model::CadencePeriod::Month, Lang::En) => "per month",
        (renkei_solver::schedule::model::CadencePeriod::Quarter, Lang::Ja) => "四半期ごと",
        (renkei_solver::schedule::model::CadencePeriod::Quarter, Lang::En) => "per quarter",
        (renkei_solver::schedule::model::CadencePeriod::FiscalYear, Lang::Ja) => "年度ごと",
        (renkei_solver::schedule::model::CadencePeriod::FiscalYear, Lang::En) => "per fiscal year",
        (renkei_solver::schedule::model::CadencePeriod::Period, Lang::Ja) => "計画期間で",
        (renkei_solver::schedule::model::CadencePeriod::Period, Lang::En) => "per planned period",
    };
    let count = if c.min == c.max {
        c.min.to_string()
    } else {
        format!("{}–{}", c.min, c.max)
    };
    let months = if c.months.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = c.months.iter().map(|m| m.to_string()).collect();
        match lang {
            Lang::Ja => format!("（{}月）", list.join("・")),
            Lang::En => format!(" (months {})", list.join(", ")),
        }
    };
    match lang {
        Lang::Ja => format!("{per}{count}回{months}"),
        Lang::En => format!("{count} {per}{months}"),
    }
}

fn repeat_text(lang: Lang, r: Repeat) -> String {
    match r {
        Repeat::None => String::new(),
        Repeat::PerWard => tr(lang, "区ごと", "one per ward"),
        Repeat::PerOrganisation => tr(
            lang,
            "組織ごと（訪問先で）",
            "one per organisation (held there)",
        ),
    }
}

async fn preset_submit(
    State(state): State<AppState>,
    session: SessionUser,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let slug = form.get("preset").cloned().unwrap_or_default();
    let year = crate::meetings::presets::parse_contract_year(
        form.get("contract_year").map(String::as_str).unwrap_or(""),
    )
    .map_err(|e| Error::Validation(vec![e]))?;
    let applied = add_preset(&state, &session.user, &slug, year).await?;
    Ok(Redirect::to(&format!(
        "/meetings/series?added={}&updated={}",
        applied.added, applied.updated
    ))
    .into_response())
}

async fn series_active(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let active = form.get("active").map(String::as_str) == Some("1");
    state
        .db
        .set_series_active(&session.user, parse_id(&id)?, active)
        .await?;
    Ok(Redirect::to("/meetings/series").into_response())
}

// ---------------------------------------------------------------------------------------
// Series editor

/// The editor's raw values: single fields and checkbox groups.
#[derive(Default)]
struct EditorValues {
    single: HashMap<String, String>,
    multi: HashMap<String, Vec<String>>,
}

const ORG_ROWS: usize = 4;
const BEFORE_ROWS: usize = 2;
const LECTURER_ROWS: usize = 2;

fn values_of(spec: &SeriesSpec) -> EditorValues {
    let mut v = EditorValues::default();
    let mut set = |k: &str, val: String| {
        v.single.insert(k.to_string(), val);
    };
    set("code", spec.code.clone());
    set("title", spec.title.clone());
    set("title_en", spec.title_en.clone());
    set("kind", kind_slug(spec.kind).into());
    set("duration_minutes", spec.duration_minutes.to_string());
    set(
        "repeat",
        match spec.repeat {
            Repeat::None => "none",
            Repeat::PerWard => "per_ward",
            Repeat::PerOrganisation => "per_organisation",
        }
        .into(),
    );
    set("per", period_slug(spec.cadence.per).into());
    set("min", spec.cadence.min.to_string());
    set("max", spec.cadence.max.to_string());
    set(
        "min_gap_days",
        spec.cadence
            .min_gap_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
    );
    set(
        "max_gap_days",
        spec.cadence
            .max_gap_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
    );
    set("lead_days", spec.lead_days.to_string());
    set(
        "preferred_start",
        spec.preferred_start.clone().unwrap_or_default(),
    );
    set(
        "allowed_start",
        spec.allowed_start.clone().unwrap_or_default(),
    );
    set("required_people", spec.required_people.join(", "));
    set("optional_people", spec.optional_people.join(", "));
    set("hosts", spec.hosts.join(", "));
    if let Some(h) = &spec.held_by {
        set("held_by_organisation", h.organisation.clone());
        set("held_by_name", h.name.clone());
        set("held_by_name_en", h.name_en.clone());
        set("held_by_place", h.place.clone());
    }
    set("venues", spec.venues.join(", "));
    set("external_attendees", spec.external_attendees.to_string());
    let flag = |b: bool| if b { "1".to_string() } else { String::new() };
    set("venue_in_ward", flag(spec.venue_in_ward));
    set("needs_wheelchair", flag(spec.needs_wheelchair));
    set("needs_hearing_loop", flag(spec.needs_hearing_loop));
    for (i, a) in spec.organisations.iter().enumerate().take(ORG_ROWS) {
        set(&format!("org{i}_codes"), a.codes.join(", "));
        set(&format!("org{i}_role"), a.role.clone());
        set(&format!("org{i}_same_ward"), flag(a.same_ward));
        set(&format!("org{i}_optional"), flag(a.optional));
    }
    for (i, l) in spec.lecturers.iter().enumerate().take(LECTURER_ROWS) {
        set(&format!("lecturer{i}_people"), l.people.join(", "));
        set(&format!("lecturer{i}_role"), l.role.clone());
    }
    for (i, p) in spec.before.iter().enumerate().take(BEFORE_ROWS) {
        set(&format!("before{i}_series"), p.series.clone());
        set(&format!("before{i}_min"), p.min_days.to_string());
        set(&format!("before{i}_max"), p.max_days.to_string());
    }
    v.multi
        .insert("repeat_kinds".into(), spec.repeat_kinds.clone());
    v.multi.insert(
        "months".into(),
        spec.cadence.months.iter().map(|m| m.to_string()).collect(),
    );
    v.multi
        .insert("preferred_weekdays".into(), spec.preferred_weekdays.clone());
    for (i, a) in spec.organisations.iter().enumerate().take(ORG_ROWS) {
        v.multi.insert(format!("org{i}_kinds"), a.kinds.clone());
    }
    v
}

fn values_from_form(pairs: &[(String, String)]) -> EditorValues {
    let mut v = EditorValues::default();
    for (k, val) in pairs {
        let multi = k == "repeat_kinds"
            || k == "months"
            || k == "preferred_weekdays"
            || (k.starts_with("org") && k.ends_with("_kinds"));
        if multi {
            v.multi.entry(k.clone()).or_default().push(val.clone());
        } else {
            v.single.insert(k.clone(), val.clone());
        }
    }
    v
}

fn list(s: &str) -> Vec<String> {
    s.split([',', '、', ' ', '\n'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// The spec the form describes; numbers that cannot be read are field errors.
fn spec_from_values(v: &EditorValues) -> Result<SeriesSpec, Vec<FieldError>> {
    let mut errors = Vec::new();
    let get = |k: &str| {
        v.single
            .get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let multi = |k: &str| v.multi.get(k).cloned().unwrap_or_default();
    let flag = |k: &str| matches!(get(k).as_str(), "1" | "on" | "true");
    let mut num = |k: &str, default: Option<u32>| -> Option<u32> {
        let s = get(k);
        if s.is_empty() {
            return default;
        }
        match s.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(
                    k,
                    format!("「{s}」は0以上の整数ではありません"),
                    format!("\"{s}\" is not a whole number >= 0"),
                ));
                default
            }
        }
    };
    let duration = num("duration_minutes", Some(0)).unwrap_or(0);
    let min = num("min", Some(0)).unwrap_or(0);
    let max = num("max", Some(0)).unwrap_or(0);
    let min_gap = num("min_gap_days", None);
    let max_gap = num("max_gap_days", None);
    let lead = num("lead_days", Some(0)).unwrap_or(0);
    let external = num("external_attendees", Some(0)).unwrap_or(0);
    let mut before = Vec::new();
    for i in 0..BEFORE_ROWS {
        let series = get(&format!("before{i}_series"));
        if series.is_empty() {
            continue;
        }
        let lo = num(&format!("before{i}_min"), Some(0)).unwrap_or(0);
        let hi = num(&format!("before{i}_max"), Some(30)).unwrap_or(30);
        before.push(PrecedenceSpec {
            series,
            min_days: lo,
            max_days: hi,
        });
    }
    let kind = parse_kind(&get("kind"));
    if kind.is_none() {
        errors.push(FieldError::new(
            "kind",
            "種別を選んでください",
            "choose a kind",
        ));
    }
    let per = parse_period(&get("per"));
    if per.is_none() {
        errors.push(FieldError::new(
            "per",
            "回数の単位を選んでください",
            "choose what the counts are per",
        ));
    }
    let mut months = Vec::new();
    for m in multi("months") {
        match m.parse::<u32>() {
            Ok(n) => months.push(n),
            Err(_) => errors.push(FieldError::new(
                "months",
                format!("月「{m}」が読めません"),
                format!("cannot read month \"{m}\""),
            )),
        }
    }
    let organisations: Vec<OrgAttendance> = (0..ORG_ROWS)
        .filter_map(|i| {
            let kinds = multi(&format!("org{i}_kinds"));
            let codes = list(&get(&format!("org{i}_codes")));
            if kinds.is_empty() && codes.is_empty() {
                return None;
            }
            Some(OrgAttendance {
                kinds,
                codes,
                same_ward: flag(&format!("org{i}_same_ward")),
                role: get(&format!("org{i}_role")),
                optional: flag(&format!("org{i}_optional")),
            })
        })
        .collect();
    let lecturers: Vec<LecturerSpec> = (0..LECTURER_ROWS)
        .filter_map(|i| {
            let people = list(&get(&format!("lecturer{i}_people")));
            let role = get(&format!("lecturer{i}_role")).trim().to_string();
            (!people.is_empty() || !role.is_empty()).then_some(LecturerSpec { people, role })
        })
        .collect();
    let repeat = match get("repeat").as_str() {
        "per_ward" => Repeat::PerWard,
        "per_organisation" => Repeat::PerOrganisation,
        _ => Repeat::None,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let opt = |s: String| Some(s).filter(|s| !s.is_empty());
    Ok(SeriesSpec {
        code: get("code"),
        title: get("title"),
        title_en: get("title_en"),
        kind: kind.unwrap_or(renkei_solver::schedule::model::MeetingKind::Other),
        duration_minutes: duration,
        hosts: list(&get("hosts")),
        repeat,
        repeat_kinds: multi("repeat_kinds"),
        cadence: CadenceSpec {
            per: per.unwrap_or(renkei_solver::schedule::model::CadencePeriod::FiscalYear),
            min,
            max,
            months,
            min_gap_days: min_gap,
            max_gap_days: max_gap,
        },
        lead_days: lead,
        preferred_weekdays: multi("preferred_weekdays"),
        preferred_start: opt(get("preferred_start")),
        allowed_start: opt(get("allowed_start")),
        required_people: list(&get("required_people")),
        optional_people: list(&get("optional_people")),
        organisations,
        external_attendees: external,
        lecturers,
        needs_wheelchair: flag("needs_wheelchair"),
        needs_hearing_loop: flag("needs_hearing_loop"),
        venues: list(&get("venues")),
        venue_in_ward: flag("venue_in_ward"),
        before,
        held_by: {
            let h = crate::meetings::spec::HeldBy {
                organisation: get("held_by_organisation"),
                name: get("held_by_name"),
                name_en: get("held_by_name_en"),
                place: get("held_by_place"),
            };
            (h != crate::meetings::spec::HeldBy::default()).then_some(h)
        },
    })
}

/// Labels of the editor's fields, for the error summary.
const SERIES_LABELS: [(&str, &str, &str); 24] = [
    ("code", "コード", "Code"),
    ("title", "名称", "Title"),
    ("kind", "種別", "Kind"),
    ("duration_minutes", "所要時間（分）", "Duration (minutes)"),
    ("cadence", "回数", "Counts"),
    ("min", "最少回数", "Minimum"),
    ("max", "最多回数", "Maximum"),
    ("per", "回数の単位", "Counts per"),
    ("months", "開催月", "Months"),
    ("preferred_start", "希望の開始時間帯", "Preferred start"),
    ("allowed_start", "開始可能な時間帯", "Allowed start"),
    ("preferred_weekdays", "希望の曜日", "Preferred weekdays"),
    (
        "repeat_kinds",
        "組織ごとに作る対象",
        "Organisation kinds to repeat for",
    ),
    ("required_people", "必ず出席する人", "Required people"),
    ("venues", "会場", "Venues"),
    ("lead_days", "準備期間（日）", "Lead time (days)"),
    ("held_by", "主催機関", "Host"),
    (
        "held_by_organisation",
        "主催機関（組織コード）",
        "Host (organisation code)",
    ),
    ("held_by_name", "主催機関の名称", "Host's name"),
    (
        "held_by_name_en",
        "主催機関の名称（英語）",
        "Host's name (English)",
    ),
    ("held_by_place", "開催場所", "Place"),
    (
        "lecturers",
        "講師・スーパーバイザー",
        "Lecturers / supervisors",
    ),
    (
        "lecturers[0]",
        "講師・スーパーバイザー 1",
        "Lecturer / supervisor 1",
    ),
    (
        "lecturers[1]",
        "講師・スーパーバイザー 2",
        "Lecturer / supervisor 2",
    ),
];

async fn editor(
    state: &AppState,
    lang: Lang,
    session: &SessionUser,
    id: Option<i64>,
    values: &EditorValues,
    errors: &[FieldError],
    status: StatusCode,
) -> PageResult {
    let b = base(state, lang, session, "meetings/series").await?;
    // The spec names the host's fields `held_by.…`; the form's inputs are `held_by_…`.
    let errors: Vec<FieldError> = errors
        .iter()
        .map(|e| FieldError {
            field: e.field.replace("held_by.", "held_by_"),
            ..e.clone()
        })
        .collect();
    let errors = errors.as_slice();
    let kinds: Vec<Value> = MEETING_KINDS
        .into_iter()
        .map(|k| context! { value => kind_slug(k), label => tr(lang, kind_label(k).0, kind_label(k).1) })
        .collect();
    let org_kinds: Vec<Value> = OrgKind::ALL
        .into_iter()
        .map(|k| context! { value => k.slug(), label => k.label().get(lang).to_string() })
        .collect();
    let months: Vec<Value> = [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]
        .into_iter()
        .map(|m: u32| context! { value => m.to_string(), label => match lang { Lang::Ja => format!("{m}月"), Lang::En => chrono::Month::try_from(m as u8).map(|x| x.name()[..3].to_string()).unwrap_or_default() } })
        .collect();
    let weekdays: Vec<Value> = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat]
        .into_iter()
        .map(|d| context! { value => d.to_string().to_lowercase(), label => match lang { Lang::Ja => weekday_ja(d).to_string(), Lang::En => d.to_string() } })
        .collect();
    let pers: Vec<Value> = [
        ("month", "毎月", "per month"),
        ("quarter", "四半期ごと", "per quarter"),
        ("fiscal_year", "年度ごと", "per fiscal year"),
        ("period", "計画期間全体で", "per planned period"),
    ]
    .into_iter()
    .map(|(v, ja, en)| context! { value => v, label => tr(lang, ja, en) })
    .collect();
    let other_series: Vec<Value> = state
        .db
        .list_series(session.user.municipality_id)
        .await?
        .into_iter()
        .filter(|s| Some(s.id) != id)
        .map(|s| context! { code => s.code, title => s.title })
        .collect();
    let html = render(
        "series_form.html",
        context! { ..b, ..context! {
            id => id, values => values.single.clone(), multi => values.multi.clone(),
            errors => field_errors_view(errors, lang, &SERIES_LABELS),
            kinds => kinds, org_kinds => org_kinds, months => months, weekdays => weekdays, pers => pers,
            org_rows => (0..ORG_ROWS).collect::<Vec<_>>(), lecturer_rows => (0..LECTURER_ROWS).collect::<Vec<_>>(), before_rows => (0..BEFORE_ROWS).collect::<Vec<_>>(),
            other_series => other_series,
        }},
    )?;
    Ok((status, Html(html)).into_response())
}

async fn series_new(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
) -> PageResult {
    let mut v = EditorValues::default();
    for (k, val) in [
        ("duration_minutes", "90"),
        ("per", "fiscal_year"),
        ("min", "1"),
        ("max", "1"),
        ("lead_days", "0"),
        ("external_attendees", "0"),
        ("kind", "other"),
    ] {
        v.single.insert(k.into(), val.into());
    }
    editor(&state, lang, &session, None, &v, &[], StatusCode::OK).await
}

async fn series_edit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_id(&id)?;
    let s = state
        .db
        .get_series(session.user.municipality_id, id)
        .await?;
    editor(
        &state,
        lang,
        &session,
        Some(id),
        &values_of(&s.spec),
        &[],
        StatusCode::OK,
    )
    .await
}

async fn save_series_form(
    state: &AppState,
    lang: Lang,
    session: &SessionUser,
    id: Option<i64>,
    body: &[u8],
) -> PageResult {
    let pairs = form_pairs(body);
    check_csrf(session, &form_map(&pairs))?;
    require_write(&session.user)?;
    let values = values_from_form(&pairs);
    let parsed = spec_from_values(&values).and_then(|s| s.parse());
    let errors = match parsed {
        Ok(valid) => match state.db.save_series(&session.user, id, &valid).await {
            Ok(_) => return Ok(Redirect::to("/meetings/series?saved=1").into_response()),
            Err(Error::Validation(errors)) => errors,
            Err(Error::Conflict(m)) => vec![FieldError {
                field: "code".into(),
                message: m,
            }],
            Err(e) => return Err(e.into()),
        },
        Err(errors) => errors,
    };
    editor(
        state,
        lang,
        session,
        id,
        &values,
        &errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn series_create(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    body: Bytes,
) -> PageResult {
    save_series_form(&state, lang, &session, None, &body).await
}

async fn series_update(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let id = parse_id(&id)?;
    save_series_form(&state, lang, &session, Some(id), &body).await
}

// ---------------------------------------------------------------------------------------
// Planning

fn run_row(lang: Lang, r: &PlanRun) -> Value {
    let valid = r.result.as_ref().and_then(|v| v["valid"].as_bool());
    context! {
        id => r.id, label => r.label.clone(), period => format!("{} – {}", r.period_from, r.period_to),
        status => status_text(lang, r), created_at => r.created_at.get(..16).unwrap_or("").replace('T', " "),
        published => r.published_at.is_some(), valid => valid,
        method => r.method.clone(),
    }
}

fn status_text(lang: Lang, r: &PlanRun) -> String {
    let infeasible = r
        .result
        .as_ref()
        .is_some_and(|v| !v["infeasibility"].is_null());
    match (r.status.as_str(), infeasible, r.published_at.is_some()) {
        (_, _, true) => tr(lang, "公開済み", "published"),
        ("done", true, _) => tr(lang, "規則を満たす日程なし", "no plan meets the rules"),
        ("done", false, _) => tr(lang, "完了", "done"),
        ("failed", _, _) => tr(lang, "失敗", "failed"),
        ("running", _, _) => tr(lang, "計算中", "running"),
        _ => tr(lang, "待機中", "queued"),
    }
}

async fn plan_form(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
) -> PageResult {
    plan_form_view(&state, lang, &session, &HashMap::new(), &[], StatusCode::OK).await
}

async fn plan_form_view(
    state: &AppState,
    lang: Lang,
    session: &SessionUser,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    status: StatusCode,
) -> PageResult {
    let b = base(state, lang, session, "meetings/plan").await?;
    let today = jst_date(Utc::now());
    let selected = values.get("period").cloned().unwrap_or_default();
    let periods: Vec<Value> = period_choices(today)
        .into_iter()
        .map(|(value, label)| context! { selected => value == selected, value => value, label => label })
        .collect();
    let runs: Vec<Value> = state
        .db
        .list_plan_runs(session.user.municipality_id, 20, 0)
        .await?
        .0
        .iter()
        .map(|r| run_row(lang, r))
        .collect();
    let series = state
        .db
        .list_series(session.user.municipality_id)
        .await?
        .into_iter()
        .filter(|s| s.active)
        .count();
    let labels = [
        ("period", "期間", "Period"),
        (
            "time_limit_seconds",
            "計算時間の上限（秒）",
            "Time limit (seconds)",
        ),
        ("method", "方法", "Method"),
        ("series", "会議シリーズ", "Meeting series"),
    ];
    let html = render(
        "plan_form.html",
        context! { ..b, ..context! {
            periods => periods, runs => runs, active_series => series, values => values.clone(),
            errors => field_errors_view(errors, lang, &labels),
        }},
    )?;
    Ok((status, Html(html)).into_response())
}

async fn plan_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let limit = form
        .get("time_limit_seconds")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty());
    let mut errors = Vec::new();
    let time_limit_seconds = match limit.map(str::parse::<f64>) {
        None => None,
        Some(Ok(x)) => Some(x),
        Some(Err(_)) => {
            errors.push(FieldError::new(
                "time_limit_seconds",
                "秒数を数字で入力してください",
                "enter the seconds as a number",
            ));
            None
        }
    };
    let input = PlanRequestInput {
        period: form.get("period").cloned().unwrap_or_default(),
        time_limit_seconds,
        method: form.get("method").cloned(),
        changes: form.get("changes").cloned(),
        ..Default::default()
    };
    if errors.is_empty() {
        let defaults = state.plan_defaults(session.user.municipality_id).await?;
        match input.parse(jst_date(Utc::now()), defaults) {
            Ok(req) => match start_plan(&state.db, &session.user, &req).await {
                Ok(run) => {
                    return Ok(Redirect::to(&format!("/meetings/plans/{}", run.id)).into_response())
                }
                Err(Error::BadRequest(m)) => errors.push(FieldError {
                    field: "series".into(),
                    message: m,
                }),
                Err(Error::Validation(e)) => errors.extend(e),
                Err(e) => return Err(e.into()),
            },
            Err(e) => errors.extend(e),
        }
    }
    plan_form_view(
        &state,
        lang,
        &session,
        &form,
        &errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// The stored planning report, as much of it as the pages show.
#[derive(Deserialize)]
struct Report {
    occurrences: Vec<Occurrence>,
    #[serde(default)]
    changes: Vec<Change>,
    plan: Option<serde_json::Value>,
    infeasibility: Option<Infeasibility>,
    valid: bool,
    #[serde(default)]
    violations: Vec<serde_json::Value>,
    soft_cost: serde_json::Value,
    seconds: f64,
    required_occurrences: u32,
    #[serde(default)]
    method: String,
    #[serde(default)]
    targets: Vec<renkei_solver::schedule::model::TargetOutcome>,
}

/// Names of what a plan refers to, from the run's own instance.
struct Names {
    series: Vec<SeriesRef>,
    people: HashMap<u32, String>,
    rooms: HashMap<u32, String>,
}

impl Names {
    fn new(instance: &Instance, series: Vec<SeriesRef>) -> Names {
        let venues: HashMap<u32, &str> = instance
            .venues
            .iter()
            .map(|v| (v.id, v.name.as_str()))
            .collect();
        Names {
            series,
            people: instance
                .people
                .iter()
                .map(|p| (p.id, p.name.clone()))
                .collect(),
            rooms: instance
                .rooms
                .iter()
                .map(|r| {
                    let v = venues.get(&r.venue).copied().unwrap_or("");
                    (
                        r.id,
                        if v == r.name {
                            r.name.clone()
                        } else {
                            format!("{v} {}", r.name)
                        },
                    )
                })
                .collect(),
        }
    }
    fn title(&self, lang: Lang, series: u32) -> String {
        self.series
            .get(series as usize)
            .map(|s| {
                if lang == Lang::En {
                    s.title_en.clone()
                } else {
                    s.title.clone()
                }
            })
            .unwrap_or_default()
    }
    fn occurrence(&self, lang: Lang, o: &Occurrence) -> Value {
        let kind = self
            .series
            .get(o.series as usize)
            .map(|s| kind_slug(s.kind))
            .unwrap_or("other");
        let people: Vec<String> = o
            .attendees
            .iter()
            .filter_map(|p| self.people.get(p).cloned())
            .collect();
        context! {
            date => o.date.to_string(), weekday => weekday_label(lang, o.date),
            start => o.start.format("%H:%M").to_string(), end => o.end.format("%H:%M").to_string(),
            title => self.title(lang, o.series), kind => kind, place => self.rooms.get(&o.room).cloned().unwrap_or_default(),
            attendees => people,
        }
    }
}

fn weekday_label(lang: Lang, d: NaiveDate) -> String {
    match lang {
        Lang::Ja => weekday_ja(d.weekday()).to_string(),
        Lang::En => d.weekday().to_string(),
    }
}

/// Month grids (Monday first) of the months between `from` and `to`, with the items per day.
fn month_grids(
    lang: Lang,
    from: NaiveDate,
    to: NaiveDate,
    items: &[(NaiveDate, Value)],
) -> Vec<Value> {
    let mut by_day: BTreeMap<NaiveDate, Vec<Value>> = BTreeMap::new();
    for (d, v) in items {
        by_day.entry(*d).or_default().push(v.clone());
    }
    let mut out = Vec::new();
    let mut month = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or(from);
    while month <= to {
        let next = if month.month() == 12 {
            NaiveDate::from_ymd_opt(month.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(month.year(), month.month() + 1, 1)
        }
        .unwrap_or(to);
        let mut weeks: Vec<Vec<Value>> = Vec::new();
        let mut day = month - chrono::Duration::days(month.weekday().num_days_from_monday() as i64);
        while day < next {
            let mut week = Vec::new();
            for _ in 0..7 {
                let inside = day.month() == month.month() && day.year() == month.year();
                let closed = if let Some(h) = holiday_on(day) {
                    Some(tr(lang, h.name_ja, h.name_en))
                } else if is_year_end_closure(day) {
                    Some(tr(lang, "年末年始", "year-end closure"))
                } else {
                    None
                };
                week.push(context! {
                    day => if inside { Some(day.day()) } else { None }, date => day.to_string(),
                    weekend => day.weekday().num_days_from_monday() >= 5, closed => closed,
                    items => if inside { by_day.get(&day).cloned().unwrap_or_default() } else { Vec::new() },
                });
                day += chrono::Duration::days(1);
            }
            weeks.push(week);
        }
        out.push(context! {
            label => match lang { Lang::Ja => format!("{}年{}月", month.year(), month.month()), Lang::En => format!("{} {}", chrono::Month::try_from(month.month() as u8).map(|m| m.name()).unwrap_or(""), month.year()) },
            weeks => weeks,
        });
        month = next;
        if month == to && to.day() != 1 {
            break;
        }
    }
    out
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ViewQuery {
    view: String,
}

async fn plan_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(id): Path<String>,
    Query(q): Query<ViewQuery>,
) -> PageResult {
    let id = parse_id(&id)?;
    let m = session.user.municipality_id;
    let run = state.db.plan_run(m, id).await?;
    let (_, instance, series) = state.db.plan_run_input(id).await?;
    let instance: Instance =
        serde_json::from_value(instance).map_err(|e| Error::Internal(e.into()))?;
    let names = Names::new(&instance, series);
    let b = base(&state, lang, &session, "meetings/plan").await?;
    let finished = run.status == "done" || run.status == "failed";
    let shown = run.result.clone().or_else(|| run.best_so_far.clone());
    let report: Option<Report> = shown.and_then(|v| serde_json::from_value(v).ok());
    let view = if q.view == "list" { "list" } else { "grid" };
    let mut ctx = context! {
        run => run_row(lang, &run), finished => finished, view => view,
        progress => (run.progress * 100.0).round() as i64,
        stage => stage_text(lang, &run.progress_note),
        best_so_far => run.result.is_none() && run.best_so_far.is_some(),
        last_error => run.last_error.clone(),
        notes => run.notes.iter().map(|n| n.get(lang).to_string()).collect::<Vec<_>>(),
        can_publish => session.user.role.can_write_master() && run.published_at.is_none() && run.status == "done"
            && run.result.as_ref().and_then(|v| v["valid"].as_bool()) == Some(true),
    };
    if let Some(r) = report {
        let items: Vec<(NaiveDate, Value)> = r
            .occurrences
            .iter()
            .map(|o| (o.date, names.occurrence(lang, o)))
            .collect();
        let grids = if view == "grid" {
            month_grids(lang, instance.period.from, instance.period.to, &items)
        } else {
            Vec::new()
        };
        let changes: Vec<Value> = r
            .changes
            .iter()
            .map(|c| {
                let what = match (&c.before, &c.after) {
                    (None, Some(_)) => tr(lang, "追加", "added"),
                    (Some(_), None) => tr(lang, "中止", "cancelled"),
                    _ => tr(lang, "変更", "moved"),
                };
                let when = |o: &Option<Occurrence>| {
                    o.as_ref().map(|o| {
                        format!(
                            "{}（{}）{}–{} {}",
                            o.date,
                            weekday_label(lang, o.date),
                            o.start.format("%H:%M"),
                            o.end.format("%H:%M"),
                            names.rooms.get(&o.room).cloned().unwrap_or_default()
                        )
                    })
                };
                context! {
                    what => what, title => names.title(lang, c.series), before => when(&c.before), after => when(&c.after),
                    notify => c.notify.iter().filter_map(|p| names.people.get(p).cloned()).collect::<Vec<_>>(),
                }
            })
            .collect();
        let conflicts: Vec<Value> = r
            .infeasibility
            .as_ref()
            .map(|inf| {
                inf.conflicts
                    .iter()
                    .map(|c| {
                        let text = |t: &renkei_solver::schedule::model::Text| if lang == Lang::En { t.en.clone() } else { t.ja.clone() };
                        context! { rules => c.rules.iter().map(text).collect::<Vec<_>>(), relaxations => c.relaxations.iter().map(text).collect::<Vec<_>>() }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let per_series: Vec<Value> = {
            let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
            for o in &r.occurrences {
                *counts.entry(o.series).or_default() += 1;
            }
            counts
                .into_iter()
                .map(|(s, n)| context! { title => names.title(lang, s), count => n })
                .collect()
        };
        ctx = context! { ..ctx, ..context! {
            report => context! {
                count => r.occurrences.len(), required => r.required_occurrences, valid => r.valid,
                violations => r.violations.len(), seconds => format!("{:.1}", r.seconds),
                status => r.plan.as_ref().and_then(|p| p["status"].as_str().map(str::to_string)),
                gap => r.plan.as_ref().and_then(|p| p["gap"].as_f64()).map(|g| format!("{:.2}", g * 100.0)),
                objective => format!("{:.1}", r.soft_cost["total"].as_f64().unwrap_or(0.0)),
                infeasible => r.infeasibility.is_some(),
                // The optimizer had no whole plan by the time limit: the baseline is shown.
                fallback => (r.method == "greedy" && run.method == "milp")
                    || r.plan.as_ref().is_some_and(|p| p["method"] == "baseline"),
                note => r.plan.as_ref().and_then(|p| p["note"][if lang == Lang::En { "en" } else { "ja" }].as_str().map(str::to_string)),
                targets => r.targets.iter().map(|t| context! {
                    name => if lang == Lang::En { t.name.en.clone() } else { t.name.ja.clone() },
                    min => t.min, planned => t.planned, met => t.met,
                    reason => t.reason.as_ref().map(|x| if lang == Lang::En { x.en.clone() } else { x.ja.clone() }),
                }).collect::<Vec<_>>(),
                targets_met => r.targets.iter().filter(|t| t.met).count(),
            },
            list => items.into_iter().map(|(_, v)| v).collect::<Vec<_>>(), grids => grids, changes => changes,
            conflicts => conflicts, per_series => per_series,
        }};
    }
    let html = render("plan.html", context! { ..b, ..ctx })?;
    let mut response = Html(html).into_response();
    if !finished {
        // The page refreshes itself while the job runs (no script: the CSP forbids inline code).
        response
            .headers_mut()
            .insert(header::REFRESH, axum::http::HeaderValue::from_static("2"));
    }
    Ok(response)
}

fn stage_text(lang: Lang, stage: &str) -> String {
    match stage {
        "greedy" => tr(
            lang,
            "手作業と同じ方法で仮の日程を作成中",
            "making a first plan the way a coordinator would",
        ),
        "building" => tr(
            lang,
            "最適化モデルを作成中",
            "building the optimisation model",
        ),
        "solving" => tr(
            lang,
            "最適化中（日付を決めています）",
            "optimising (choosing the days)",
        ),
        "extracting" => tr(lang, "時間と部屋を割り当て中", "assigning times and rooms"),
        "done" => tr(lang, "完了", "done"),
        "" => tr(lang, "順番待ち", "waiting for a worker"),
        other => other.to_string(),
    }
}

/// The confirmation step before publishing: what publishing would add, move and cancel, and
/// how many invitations, updates and cancellations it would send to how many people, computed
/// by the publishing code itself in a transaction that is rolled back.
async fn publish_confirm(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(id): Path<String>,
) -> PageResult {
    require_write(&session.user)?;
    let id = parse_id(&id)?;
    let run = state.db.plan_run(session.user.municipality_id, id).await?;
    let s = state.db.preview_publish(&session.user, id).await?;
    let b = base(&state, lang, &session, "meetings/plan").await?;
    let mails = s.invitations + s.updates + s.cancellations;
    let consequences = match lang {
        Lang::Ja => vec![
            format!("会議の追加 {}件・変更 {}件・中止 {}件（変更なし {}件）", s.added, s.moved, s.cancelled, s.unchanged),
            format!("招待 {}通・変更のお知らせ {}通・中止のお知らせ {}通、合計 {}通のメールを {}人に送ります", s.invitations, s.updates, s.cancellations, mails, s.recipients),
            "変更・中止された会議のこれまでの出欠の回答は取り消され、招待者はもう一度回答します".to_string(),
        ],
        Lang::En => vec![
            format!("{} {} added, {} moved, {} cancelled ({} unchanged)", s.added, plural(s.added, "meeting", "meetings"), s.moved, s.cancelled, s.unchanged),
            format!(
                "{} {}, {} {} and {} {}: {} {} to {} {}",
                s.invitations, plural(s.invitations, "invitation", "invitations"),
                s.updates, plural(s.updates, "update", "updates"),
                s.cancellations, plural(s.cancellations, "cancellation", "cancellations"),
                mails, plural(mails, "message", "messages"),
                s.recipients, plural(s.recipients, "person", "people"),
            ),
            "Answers already given for a moved or cancelled meeting no longer count; its invitees answer again".to_string(),
        ],
    };
    page(
        "publish_confirm.html",
        b,
        context! {
            run_id => run.id, label => run.label.clone(),
            period => format!("{} – {}", run.period_from, run.period_to),
            consequences, mails, recipients => s.recipients,
            invitations => s.invitations, updates => s.updates, cancellations => s.cancellations,
            heading => tr(lang, "公開の確認", "Confirm publishing"),
            lead => tr(lang, "公開すると、次のことが起こります。", "Publishing does the following."),
            understood => match lang {
                Lang::Ja => format!("{mails}通のメールが{}人に送られることを理解しました", s.recipients),
                Lang::En => format!("I understand that {mails} {} will be sent to {} {}", plural(mails, "message", "messages"), s.recipients, plural(s.recipients, "person", "people")),
            },
            confirm => tr(lang, "公開してメールを送る", "Publish and send the mail"),
            back => tr(lang, "公開せずに計画に戻る", "Back to the plan without publishing"),
        },
    )
}

/// The box of a confirmation step ("I understand …") was not ticked.
fn not_understood() -> Error {
    Error::Validation(vec![FieldError::new(
        "understood",
        "内容を確認し、「理解しました」にチェックを入れてから実行してください",
        "read what will happen and tick the \"I understand\" box, then try again",
    )])
}

/// Whether a confirmation form's "I understand" box was ticked.
pub(super) fn understood(form: &HashMap<String, String>) -> Result<(), Error> {
    if form.get("understood").map(String::as_str) == Some("1") {
        Ok(())
    } else {
        Err(not_understood())
    }
}

async fn publish_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let id = parse_id(&id)?;
    understood(&form)?;
    let s = state.db.publish_plan_run(&session.user, id).await?;
    Ok(redirect_with_flash(
        &state,
        &format!(
            "/meetings/plans/{id}?view=list&published={}-{}-{}",
            s.added, s.moved, s.cancelled
        ),
        Flash::Published {
            added: s.added,
            moved: s.moved,
            cancelled: s.cancelled,
            invitations: s.invitations,
            updates: s.updates,
            cancellations: s.cancellations,
            recipients: s.recipients,
        },
    ))
}

// ---------------------------------------------------------------------------------------
// The published calendar

#[derive(Deserialize, Default)]
#[serde(default)]
struct CalendarPageQuery {
    from: String,
    to: String,
    person: String,
    room: String,
    organisation: String,
    ward: String,
    view: String,
}

impl CalendarPageQuery {
    fn occurrence_query(&self, fy: FiscalYear) -> OccurrenceQuery {
        let id = |s: &str| s.trim().parse::<i64>().ok();
        OccurrenceQuery {
            from: if self.from.trim().is_empty() {
                fy.start().to_string()
            } else {
                self.from.clone()
            },
            to: if self.to.trim().is_empty() {
                fy.end().to_string()
            } else {
                self.to.clone()
            },
            person: id(&self.person),
            room: id(&self.room),
            organisation: id(&self.organisation),
            ward: self.ward.clone(),
            ..Default::default()
        }
    }
}

fn occurrence_view(lang: Lang, o: &OccurrenceRow) -> Value {
    let date = NaiveDate::parse_from_str(&o.date, "%Y-%m-%d").ok();
    let place = if o.room_name == o.venue_name {
        o.venue_name.clone()
    } else {
        format!("{} {}", o.venue_name, o.room_name)
    };
    context! {
        date => o.date.clone(), weekday => date.map(|d| weekday_label(lang, d)).unwrap_or_default(),
        start => o.start.clone(), end => o.end.clone(), kind => o.kind.clone(),
        title => if lang == Lang::En && !o.title_en.is_empty() { o.title_en.clone() } else { o.title.clone() }, place => place,
        attendees => o.attendees.iter().map(|a| a.name.clone()).collect::<Vec<_>>(), ward => o.ward.clone(),
        pin => o.pin.clone(), sequence => o.sequence, id => o.id,
        held_by => o.held_by.clone(),
    }
}

async fn calendar_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    headers: HeaderMap,
    Query(q): Query<CalendarPageQuery>,
) -> PageResult {
    let m = session.user.municipality_id;
    let b = base(&state, lang, &session, "meetings/calendar").await?;
    let fy = FiscalYear::of(jst_date(Utc::now()));
    let oq = q.occurrence_query(fy);
    let filter = oq.filter()?;
    let rows = state.db.occurrences(m, &filter).await?;
    let view = if q.view == "grid" { "grid" } else { "list" };
    let (from, to) = (
        filter.from.unwrap_or(fy.start()),
        filter.to.unwrap_or(fy.end()),
    );
    let items: Vec<(NaiveDate, Value)> = rows
        .iter()
        .filter_map(|o| {
            NaiveDate::parse_from_str(&o.date, "%Y-%m-%d")
                .ok()
                .map(|d| (d, occurrence_view(lang, o)))
        })
        .collect();
    let grids = if view == "grid" && (to - from).num_days() <= 400 {
        month_grids(lang, from, to, &items)
    } else {
        Vec::new()
    };
    let options = |kind: MasterKind, records: Vec<Record>, selected: Option<i64>| -> Vec<Value> {
        records
            .into_iter()
            .map(|r| {
                let (id, label) = match r {
                    Record::Person(p) => (
                        p.id,
                        format!("{}（{}）", p.name, p.organisation_name.unwrap_or_default()),
                    ),
                    Record::Room(r) => (r.id, format!("{} {}", r.venue_name, r.name)),
                    Record::Organisation(o) => (o.id, o.name),
                    Record::Venue(v) => (v.id, v.name),
                };
                let _ = kind;
                context! { id => id, label => label, selected => Some(id) == selected }
            })
            .collect()
    };
    let people = options(
        MasterKind::People,
        state.db.list_records(m, MasterKind::People, "").await?,
        oq.person,
    );
    let rooms = options(
        MasterKind::Rooms,
        state.db.list_records(m, MasterKind::Rooms, "").await?,
        oq.room,
    );
    let orgs_records = state
        .db
        .list_records(m, MasterKind::Organisations, "")
        .await?;
    let mut wards: Vec<String> = orgs_records
        .iter()
        .filter_map(|r| {
            if let Record::Organisation(o) = r {
                Some(o.ward.clone())
            } else {
                None
            }
        })
        .filter(|w| !w.is_empty())
        .collect();
    wards.dedup();
    wards.sort();
    wards.dedup();
    let orgs = options(MasterKind::Organisations, orgs_records, oq.organisation);
    // The subscription link of the chosen person, room or organisation.
    let feed = match (oq.person, oq.room, oq.organisation) {
        (Some(id), _, _) => Some((FeedKind::Person, id)),
        (_, Some(id), _) => Some((FeedKind::Room, id)),
        (_, _, Some(id)) => Some((FeedKind::Organisation, id)),
        _ => None,
    };
    let feed_url = match feed {
        Some((kind, id)) => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let scheme = if state.config.secure_cookies() {
                "https"
            } else {
                "http"
            };
            Some(format!(
                "{scheme}://{host}{}",
                feed_path(&state, m, kind, id).await?
            ))
        }
        None => None,
    };
    let query_string = serde_urlencoded_pairs(&[
        ("from", &oq.from),
        ("to", &oq.to),
        ("person", &q.person),
        ("room", &q.room),
        ("organisation", &q.organisation),
        ("ward", &q.ward),
    ]);
    page(
        "meetings_calendar.html",
        b,
        context! {
            list => items.into_iter().map(|(_, v)| v).collect::<Vec<_>>(), grids => grids, view => view,
            from => oq.from.clone(), to => oq.to.clone(), ward => q.ward.clone(), wards => wards,
            people => people, rooms => rooms, orgs => orgs, feed_url => feed_url, query => query_string.clone(),
            count => rows.len(), fy => fy.year(), pinnable => session.user.role.can_write_master(),
            back => format!("/meetings/calendar?{query_string}&view={view}"),
        },
    )
}

fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.trim().is_empty() {
            s.append_pair(k, v.trim());
        }
    }
    s.finish()
}

async fn calendar_export(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let id = |k: &str| get(k).trim().parse::<i64>().ok();
    let oq = OccurrenceQuery {
        from: get("from"),
        to: get("to"),
        person: id("person"),
        room: id("room"),
        organisation: id("organisation"),
        ward: get("ward"),
        format: get("format"),
        encoding: get("encoding"),
        lang: lang.code().to_string(),
        ..Default::default()
    };
    Ok(calendar_download(&state, &session.user, &oq).await?)
}

/// Pins a published occurrence (entirely or its date) for re-planning, or releases it.
async fn pin_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let pin = form
        .get("pin")
        .and_then(|p| crate::store::meetings::parse_pin(p))
        .ok_or_else(|| {
            Error::BadRequest(crate::i18n::Msg::new(
                "固定の種類を選んでください",
                "choose how to pin",
            ))
        })?;
    state
        .db
        .pin_occurrence(&session.user, parse_id(&id)?, pin)
        .await?;
    let back = form
        .get("back")
        .map(String::as_str)
        .filter(|b| b.starts_with("/meetings/calendar"))
        .unwrap_or("/meetings/calendar");
    Ok(Redirect::to(back).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AnnualQuery {
    fy: String,
}

async fn annual_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<AnnualQuery>,
) -> PageResult {
    let m = session.user.municipality_id;
    let b = base(&state, lang, &session, "meetings/annual").await?;
    let today = jst_date(Utc::now());
    let fy = if q.fy.trim().is_empty() {
        FiscalYear::of(today)
    } else {
        q.fy.parse::<FiscalYear>().map_err(|e| {
            Error::BadRequest(crate::i18n::Msg::new(
                format!(
                    "年度「{}」が読めません（例: 2027, FY2027, 令和9年度）",
                    q.fy
                ),
                format!("cannot read the fiscal year \"{}\": {e}", q.fy),
            ))
        })?
    };
    let rows = state
        .db
        .occurrences(
            m,
            &crate::store::meetings::OccurrenceFilter {
                from: Some(fy.start()),
                to: Some(fy.end()),
                ..Default::default()
            },
        )
        .await?;
    let plan = export::annual_plan(fy, &rows, lang);
    let months: Vec<String> = [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]
        .iter()
        .map(|m| match lang {
            Lang::Ja => format!("{m}月"),
            Lang::En => chrono::Month::try_from(*m as u8)
                .map(|x| x.name()[..3].to_string())
                .unwrap_or_default(),
        })
        .collect();
    let years: Vec<Value> = (fy.year() - 1..=fy.year() + 1)
        .filter_map(|y| FiscalYear::new(y).ok())
        .map(|y| context! { value => y.year(), label => if lang == Lang::En { y.label_en() } else { y.label_ja() }, selected => y == fy })
        .collect();
    page(
        "annual.html",
        b,
        context! {
            fy_label => if lang == Lang::En { fy.label_en() } else { fy.label_ja() },
            rows => plan, months => months, years => years, total => rows.len(),
        },
    )
}
