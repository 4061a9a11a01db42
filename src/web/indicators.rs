//! Pages of the indicators: the dashboard of a fiscal year (chart, table, proposals with a
//! button that carries them out, presets and targets), the drill-down to the meetings an
//! indicator counts, the printable monthly and annual reports (and their XLSX), and recording
//! a held meeting on the meeting's page.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use minijinja::{context, Value};
use renkei_solver::calendar::FiscalYear;
use serde::Deserialize;

use super::{
    base, check_csrf, form_map, form_pairs, page, parse_page_id, require_write, PageLang,
    PageResult,
};
use crate::api::indicators::{parse_month, report_response, today};
use crate::api::placement::parse_fiscal_year;
use crate::app::AppState;
use crate::auth::SessionUser;
use crate::error::Error;
use crate::i18n::{Lang, Msg};
use crate::indicators::report::{self, standing_label, Report};
use crate::indicators::service;
use crate::indicators::{parse_all, presets, Action, Figure, RecordInput, Standing};
use crate::master::FieldError;
use crate::meetings::presets::Preset;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/indicators", get(dashboard_page))
        .route("/indicators/preset", post(preset_submit))
        .route("/indicators/targets", post(targets_submit))
        .route("/indicators/{code}", get(drill_page))
        .route("/indicators/{code}/act", post(act_submit))
        .route("/reports/annual", get(annual_page))
        .route("/reports/monthly", get(monthly_page))
        .route("/meetings/occurrences/{id}/record", post(record_submit))
}

fn words(lang: Lang) -> Value {
    let pairs: &[(&str, &str, &str)] = &[
        ("title", "指標の達成状況", "Indicator attainment"),
        ("fiscal_year", "年度", "Fiscal year"),
        ("show", "表示", "Show"),
        ("indicator", "指標", "Indicator"),
        ("rule", "数え方", "What counts"),
        ("target", "目標", "Target"),
        ("planned", "計画", "Planned"),
        ("expected", "見込み", "Expected"),
        ("actual", "実績", "Actual"),
        ("confirmed", "確定", "Confirmed"),
        ("standing", "状況", "Standing"),
        ("due", "今月末までの目安", "Due by month end"),
        ("details", "内訳", "Details"),
        ("chart", "目標・計画・見込み・実績", "Target, planned, expected and actual"),
        ("chart_hint", "棒の長さは目標に対する割合です。目標は枠、計画は斜線、見込みは点、実績は塗りつぶしで示し、数値も添えています。", "Bars are shares of the target: target outlined, planned hatched, expected dotted, actual filled; each carries its number."),
        ("proposals", "達成に向けた提案", "Proposals to reach the targets"),
        ("no_proposals", "すべての指標が達成済みか達成見込みです", "Every indicator is met or on track"),
        ("carry_out", "実行する", "Carry it out"),
        ("unrecorded", "記録待ち", "not recorded yet"),
        ("missing", "未達の対象", "Not reached"),
        ("reports", "報告書", "Reports"),
        ("annual_report", "実績報告（年度）", "Annual results report"),
        ("monthly_report", "月次報告", "Monthly report"),
        ("month", "月", "Month"),
        ("print", "印刷用ページ", "Printable page"),
        ("download", "ダウンロード", "download"),
        ("settings", "指標の設定", "Indicator settings"),
        ("preset", "プリセットを読み込む（この年度の指標を置き換えます）", "Load a preset (replaces this year's indicators)"),
        ("load", "読み込む", "Load"),
        ("contract_year_hint", "空欄は1年目。目黒型は2年目から目標が変わります（運営会議 年3回、弁護士相談会 年2回）。", "Empty is the first year. Meguro's targets change from the second year (operating meeting 3 times, lawyer's day twice a year)."),
        ("save_targets", "目標を保存", "Save targets"),
        ("none_yet", "この年度の指標はまだありません。プリセットを読み込んでください。", "No indicators for this fiscal year yet; load a preset."),
        ("date", "日付", "Date"),
        ("meeting", "会議", "Meeting"),
        ("state", "状態", "State"),
        ("invited", "招待", "Invited"),
        ("declined", "欠席", "Declined"),
        ("came", "出席者", "Came"),
        ("back", "指標の一覧へ", "Back to the indicators"),
        ("activities", "活動実績", "Activities"),
        ("activity", "種類", "Activity"),
        ("held", "開催", "Held"),
        ("not_held", "中止・未開催", "Not held"),
        ("participants", "参加者延べ人数", "Participant-visits"),
        ("organisations", "参加事業所・機関数", "Organisations"),
        ("by_month", "月別の開催回数", "Meetings held per month"),
        ("total", "合計", "Total"),
        ("meetings", "会議一覧", "Meetings"),
        ("outcome", "結果", "Outcome"),
        ("minutes", "議事録", "Minutes"),
        ("reason", "理由", "Reason"),
        ("unit", "単位", "Unit"),
        ("code", "コード", "Code"),
    ];
    super::word_table(lang, pairs)
}

#[derive(Deserialize, Default)]
struct YearQuery {
    #[serde(default)]
    fiscal_year: String,
    #[serde(default)]
    done: String,
}

fn fy_label(fy: FiscalYear, lang: Lang) -> String {
    match lang {
        Lang::Ja => fy.label_ja(),
        Lang::En => fy.label_en(),
    }
}

/// `s` cut to `n` characters with an ellipsis (chart labels; the table has the whole name).
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('…')).collect()
    }
}

/// One indicator for the pages: its figures, the bar widths of the chart (share of the
/// target, 0-100, capped at 120 so a surplus shows), and its standing in words.
fn figure_value(f: &Figure, lang: Lang) -> Value {
    let scale = f.target.max(1) as f64;
    let w = |v: u32| ((f64::from(v) / scale) * 100.0).min(120.0).round() as u32;
    context! {
        code => f.code, name => if lang == Lang::Ja { &f.name } else { &f.name_en },
        short_name => short(if lang == Lang::Ja { &f.name } else { &f.name_en }, if lang == Lang::Ja { 20 } else { 36 }),
        description => f.description.get(lang), unit => f.unit.get(lang),
        target => f.target, planned => f.planned, expected => f.expected, actual => f.actual,
        confirmed => f.confirmed, target_per => f.target_per,
        per_member => matches!(f.rule, crate::indicators::Rule::Coverage { .. } | crate::indicators::Rule::Wards { .. }),
        standing => match f.standing { Standing::Met => "met", Standing::OnTrack => "on_track", Standing::AtRisk => "at_risk", Standing::Short => "short" },
        standing_label => standing_label(f.standing).get(lang),
        summary => f.summary.get(lang), unrecorded => f.unrecorded,
        missing => f.missing.iter().take(12).map(|m| m.name.clone()).collect::<Vec<_>>(),
        missing_more => f.missing.len().saturating_sub(12),
        bars => [("target", f.target), ("planned", f.planned), ("expected", f.expected), ("actual", f.actual)]
            .iter().enumerate().map(|(i, (k, v))| context! { kind => k, value => v, width => w(*v) * 3, bar => (w(*v) * 3).max(1), y => i * 14 }).collect::<Vec<_>>(),
    }
}

async fn dashboard_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<YearQuery>,
) -> PageResult {
    let fy = parse_fiscal_year(&q.fiscal_year)?;
    let m = session.user.municipality_id;
    let d = service::dashboard(&state.db, m, fy, today()).await?;
    let b = base(&state, lang, &session, "indicators").await?;
    let figures: Vec<Value> = d.figures.iter().map(|f| figure_value(f, lang)).collect();
    // Every re-plan proposal starts the same run (all indicators are its targets): one item
    // with one button, listing what it is for; invitations and staffing stay one per indicator.
    let mut proposals: Vec<Value> = Vec::new();
    let replans: Vec<&crate::indicators::Proposal> = d
        .proposals
        .iter()
        .filter(|p| matches!(p.action, Action::Replan { .. }))
        .collect();
    if let Some(first) = replans.first() {
        let Action::Replan { from, to } = first.action else {
            unreachable!("filtered to re-plans")
        };
        let short: Vec<String> = replans
            .iter()
            .filter_map(|p| d.figures.iter().find(|f| f.code == p.indicator))
            .map(|f| match lang {
                Lang::Ja => format!("{}（見込み {}／目標 {}）", f.name, f.expected, f.target),
                Lang::En => format!(
                    "{} ({} expected, target {})",
                    f.name_en, f.expected, f.target
                ),
            })
            .collect();
        let text = match lang {
            Lang::Ja => format!(
                "{from}〜{to}を指標を目標に再計画し、不足する会議・訪問を最適化で配置します（結果を確認してから公開します）。対象: {}",
                short.join("、")
            ),
            Lang::En => format!(
                "Re-plan {from} to {to} with the indicators as targets; the optimizer places the missing meetings and visits (review, then publish). For: {}",
                short.join("; ")
            ),
        };
        proposals.push(context! { indicator => first.indicator, text, can_act => true });
    }
    for p in d
        .proposals
        .iter()
        .filter(|p| !matches!(p.action, Action::Replan { .. }))
    {
        proposals.push(context! {
            indicator => p.indicator, text => p.text.get(lang),
            can_act => !matches!(p.action, Action::CheckStaff),
        });
    }
    let presets: Vec<Value> = Preset::ALL
        .iter()
        .map(|p| context! { slug => p.slug(), label => p.label().0 })
        .collect();
    page(
        "indicators.html",
        b,
        context! {
            w => words(lang), fiscal_year => fy.year(), label => fy_label(fy, lang), today => d.today.to_string(),
            figures, proposals, presets, chart_height => d.figures.len() * 80 + 40,
            month => d.today.format("%Y-%m").to_string(), done => q.done,
            can_write => session.user.role.can_write_master(),
        },
    )
}

async fn preset_submit(
    State(state): State<AppState>,
    session: SessionUser,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let fy = parse_fiscal_year(form.get("fiscal_year").map(String::as_str).unwrap_or(""))?;
    let preset = form
        .get("preset")
        .and_then(|p| Preset::parse(p))
        .ok_or_else(|| {
            Error::Validation(vec![FieldError::new(
                "preset",
                "プリセットを選んでください",
                "choose a preset",
            )])
        })?;
    let year = crate::meetings::presets::parse_contract_year(
        form.get("contract_year").map(String::as_str).unwrap_or(""),
    )
    .map_err(|e| Error::Validation(vec![e]))?;
    state
        .db
        .replace_indicators(
            &session.user,
            fy,
            &presets::indicators_in_year(preset, year.unwrap_or(1)),
        )
        .await?;
    Ok(Redirect::to(&format!("/indicators?fiscal_year={}", fy.year())).into_response())
}

/// Saves the targets typed into the table (fields `target_{code}`); the rules stay.
async fn targets_submit(
    State(state): State<AppState>,
    session: SessionUser,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let fy = parse_fiscal_year(form.get("fiscal_year").map(String::as_str).unwrap_or(""))?;
    let m = session.user.municipality_id;
    let mut list: Vec<_> = state
        .db
        .indicators(m, fy)
        .await?
        .into_iter()
        .map(|i| i.def)
        .collect();
    let mut errors = Vec::new();
    for d in &mut list {
        let field = format!("target_{}", d.code);
        if let Some(v) = form.get(&field) {
            match v.trim().parse::<u32>() {
                Ok(n) => d.target = n,
                Err(_) => errors.push(FieldError::new(
                    &field,
                    format!("「{}」の目標「{v}」は整数で入力してください", d.name),
                    format!("the target \"{v}\" of \"{}\" is a whole number", d.name_en),
                )),
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors).into());
    }
    let list = parse_all(&list).map_err(Error::Validation)?;
    state
        .db
        .replace_indicators(&session.user, fy, &list)
        .await?;
    Ok(Redirect::to(&format!("/indicators?fiscal_year={}", fy.year())).into_response())
}

async fn drill_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(code): Path<String>,
    Query(q): Query<YearQuery>,
) -> PageResult {
    let fy = parse_fiscal_year(&q.fiscal_year)?;
    let d = service::drill(&state.db, session.user.municipality_id, fy, today(), &code).await?;
    let rows: Vec<Value> = d
        .occurrences
        .iter()
        .map(|o| context! {
            id => o.id, date => o.date.to_string(), start => o.start, title => o.title,
            state => serde_json::to_value(o.state).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(), state_label => o.state_label.get(lang),
            invited => o.invited, confirmed => o.confirmed, declined => o.declined, came => o.came,
        })
        .collect();
    let b = base(&state, lang, &session, "indicators").await?;
    page(
        "indicator.html",
        b,
        context! {
            w => words(lang), fiscal_year => fy.year(), label => fy_label(fy, lang),
            f => figure_value(&d.figure, lang), rows,
        },
    )
}

async fn act_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(code): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let fy = parse_fiscal_year(form.get("fiscal_year").map(String::as_str).unwrap_or(""))?;
    let acted = service::act(
        &state.db,
        &session.user,
        fy,
        today(),
        &code,
        60.0,
        state.plan_defaults(session.user.municipality_id).await?,
    )
    .await?;
    Ok(match acted.plan_run_id {
        Some(id) => Redirect::to(&format!("/meetings/plans/{id}")),
        None => Redirect::to(&format!(
            "/indicators?fiscal_year={}&done={}",
            fy.year(),
            acted.invited
        )),
    }
    .into_response())
}

#[derive(Deserialize, Default)]
struct ReportQuery {
    #[serde(default)]
    fiscal_year: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    format: String,
}

fn report_value(r: &Report, lang: Lang) -> Value {
    context! {
        kind => r.kind, title => r.title.get(lang), period => r.period.get(lang),
        figures => r.figures.iter().map(|f| figure_value(f, lang)).collect::<Vec<_>>(),
        kinds => r.kinds.iter().map(|k| context! { label => k.label.get(lang), planned => k.planned, held => k.held, not_held => k.not_held, participants => k.participants, organisations => k.organisations }).collect::<Vec<_>>(),
        kind_labels => r.kinds.iter().map(|k| k.label.get(lang).to_string()).collect::<Vec<_>>(),
        months => r.months.iter().map(|m| context! { label => m.label.get(lang), held => m.held, total => m.total }).collect::<Vec<_>>(),
        meetings => r.meetings.iter().map(|m| context! { id => m.id, date => m.date, start => m.start, title => m.title, kind => m.kind.get(lang), state_label => m.state_label.get(lang), participants => m.participants, organisations => m.organisations, minutes_url => m.minutes_url, reason => m.reason }).collect::<Vec<_>>(),
    }
}

async fn report_page(
    state: &AppState,
    lang: Lang,
    session: &SessionUser,
    r: Report,
    xlsx_href: String,
) -> PageResult {
    let b = base(state, lang, session, "indicators").await?;
    page(
        "report.html",
        b,
        context! { w => words(lang), r => report_value(&r, lang), xlsx_href },
    )
}

async fn annual_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<ReportQuery>,
) -> PageResult {
    let fy = parse_fiscal_year(&q.fiscal_year)?;
    let (defs, data) = service::load(&state.db, session.user.municipality_id, fy, today()).await?;
    let r = report::annual(&defs, &data);
    if !q.format.is_empty() {
        return Ok(report_response(&state, &session.user, r, &q.format, lang).await?);
    }
    let href = format!("/reports/annual?fiscal_year={}&format=xlsx", fy.year());
    report_page(&state, lang, &session, r, href).await
}

async fn monthly_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<ReportQuery>,
) -> PageResult {
    let month = parse_month(&q.month)?;
    let fy = FiscalYear::of(month);
    let (defs, data) = service::load(&state.db, session.user.municipality_id, fy, today()).await?;
    let r = report::monthly(&defs, &data, month);
    if !q.format.is_empty() {
        return Ok(report_response(&state, &session.user, r, &q.format, lang).await?);
    }
    let href = format!(
        "/reports/monthly?month={}&format=xlsx",
        month.format("%Y-%m")
    );
    report_page(&state, lang, &session, r, href).await
}

/// The record form of the meeting page: held (checked invitees came) or not held (reason).
async fn record_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let pairs = form_pairs(&body);
    let form = form_map(&pairs);
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let id = parse_page_id(&id)?;
    let participants: Vec<i64> = pairs
        .iter()
        .filter(|(k, _)| k == "came")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let external = form
        .get("external_participants")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<u32>().map_err(|_| {
                Error::Validation(vec![FieldError::new(
                    "external_participants",
                    "外部の参加者数は整数で入力してください",
                    "the number of external participants is a whole number",
                )])
            })
        })
        .transpose()?
        .unwrap_or(0);
    let input = RecordInput {
        outcome: form.get("outcome").cloned().unwrap_or_default(),
        reason: form.get("reason").cloned().unwrap_or_default(),
        minutes_url: form.get("minutes_url").cloned().unwrap_or_default(),
        external_participants: external,
        participants: Some(participants),
        recorded_at: form.get("seen_recorded_at").cloned(),
    };
    let rec = input.parse().map_err(Error::Validation)?;
    state
        .db
        .record_occurrence(&session.user, id, today(), &rec)
        .await?;
    Ok(Redirect::to(&format!("/meetings/occurrences/{id}?recorded=1")).into_response())
}

/// Words of the record form on the meeting page.
pub(super) fn record_words(lang: Lang) -> Value {
    let pairs: &[(&str, &str, &str)] = &[
        ("record", "開催の記録", "Record of the meeting"),
        ("held", "開催した", "Held"),
        ("not_held", "開催しなかった", "Not held"),
        (
            "came",
            "出席した人（回答に基づいて選ばれています）",
            "Who came (preselected from the answers)",
        ),
        (
            "external",
            "名簿外の参加者数（講師・市民など）",
            "Participants not on the lists (lecturers, citizens)",
        ),
        ("minutes", "議事録のリンク", "Link to the minutes"),
        ("reason", "開催しなかった理由", "Why it was not held"),
        ("save", "記録する", "Save the record"),
        ("recorded", "記録済み", "Recorded"),
        (
            "not_yet",
            "開催日の後に記録できます",
            "Can be recorded once the day has come",
        ),
    ];
    super::word_table(lang, pairs)
}

/// The current record of a meeting for its page, in words.
pub(super) fn record_value(rec: Option<&crate::indicators::Record>, lang: Lang) -> Value {
    match rec {
        None => Value::from(()),
        Some(r) => context! {
            held => r.outcome == "held",
            outcome => if r.outcome == "held" { Msg::new("開催", "held") } else { Msg::new("開催せず", "not held") }.get(lang),
            reason => r.reason, minutes_url => r.minutes_url, external => r.external_participants,
            participants => r.participants, recorded_at => r.recorded_at,
        },
    }
}
