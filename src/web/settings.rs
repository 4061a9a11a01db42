//! The municipality's settings page (自治体の設定): staff hours, minimum notice and daily
//! limits ([`crate::settings`]). Everyone may read it; administrators change it.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use minijinja::context;
use serde::Deserialize;

use super::{base, check_csrf, field_errors_view, page, word_table, PageLang, PageResult};
use crate::app::AppState;
use crate::auth::SessionUser;
use crate::error::Error;
use crate::i18n::{Lang, Msg};
use crate::master::FieldError;
use crate::settings::{Settings, SettingsInput};

pub fn routes() -> Router<AppState> {
    Router::new().route("/settings", get(settings_page).post(settings_submit))
}

/// (key, Japanese label, English label, input type, Japanese hint, English hint)
const FIELDS: [(&str, &str, &str, &str, &str, &str); 4] = [
    ("staff_hours", "職員の勤務時間", "Staff working hours", "text",
     "例: mon-fri 08:30-17:30。空欄は mon-fri 08:30-17:30。個人の勤務時間は職員の画面で。",
     "e.g. mon-fri 08:30-17:30; empty means mon-fri 08:30-17:30. A person's own hours are on their page."),
    ("min_notice_days", "最短の案内日数", "Minimum notice (days)", "number",
     "今日からこの日数より前には会議を計画しません。空欄はサービスの設定。",
     "no meeting is planned earlier than today plus this many days; empty means the service's setting."),
    ("max_meetings_per_day", "1日の会議上限(件)", "Meetings per day at most", "number",
     "必須の出席者1人あたり。1〜20、空欄はサービスの設定。",
     "per required attendee; 1-20, empty means the service's setting."),
    ("max_hours_per_day", "1日の会議上限(時間)", "Meeting hours per day at most", "number",
     "0.5〜16（30分単位）、空欄はサービスの設定。",
     "0.5-16 in half hours; empty means the service's setting."),
];

const WORDS: [(&str, &str, &str); 7] = [
    ("title", "自治体の設定", "Municipality settings"),
    ("intro", "日程作成で使う職員の勤務時間、案内の最短日数、1日の会議の上限です。次の日程作成から使われます（公開済みの会議は変わりません）。",
     "The staff hours, minimum notice and daily meeting limits that planning uses. The next plan uses them; published meetings stay as they are."),
    ("saved", "設定を保存しました。次の日程作成から使われます。", "Settings saved. The next plan uses them."),
    ("now", "現在の値", "Now"),
    ("admin_only", "変更は管理者のみできます。", "Only administrators can change these."),
    ("people_note", "個人ごとの勤務時間と上限は職員の登録画面で設定できます（空欄はこの設定）。",
     "Each person's own hours and limits are set on their page (empty means these)."),
    ("people_link", "職員の一覧", "People"),
];

fn labels() -> Vec<(&'static str, &'static str, &'static str)> {
    FIELDS.iter().map(|f| (f.0, f.1, f.2)).collect()
}

fn values_of(s: &Settings) -> HashMap<&'static str, String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    HashMap::from([
        ("staff_hours", s.staff_hours.clone()),
        (
            "min_notice_days",
            opt(s.min_notice_days.map(|n| n.to_string())),
        ),
        (
            "max_meetings_per_day",
            opt(s.max_meetings_per_day.map(|n| n.to_string())),
        ),
        (
            "max_hours_per_day",
            opt(s.max_hours_per_day.map(|h| h.to_string())),
        ),
    ])
}

/// The municipality's settings as planning sees them now.
async fn current(state: &AppState, session: &SessionUser) -> Result<Settings, Error> {
    Ok(state
        .db
        .settings(session.user.municipality_id)
        .await?
        .to_settings(state.config.plan_defaults()))
}

async fn render(
    state: &AppState,
    lang: Lang,
    session: &SessionUser,
    current: &Settings,
    values: HashMap<&'static str, String>,
    errors: &[FieldError],
    saved: bool,
) -> PageResult {
    let e = &current.effective;
    let none = || Msg::new("上限なし", "no limit").get(lang).to_string();
    let effective = HashMap::from([
        ("staff_hours", e.staff_hours.clone()),
        ("min_notice_days", e.min_notice_days.to_string()),
        (
            "max_meetings_per_day",
            e.max_meetings_per_day.map_or_else(none, |n| n.to_string()),
        ),
        (
            "max_hours_per_day",
            e.max_hours_per_day.map_or_else(none, |h| h.to_string()),
        ),
    ]);
    let fields: Vec<_> = FIELDS
        .iter()
        .map(|(key, ja, en, kind, hint_ja, hint_en)| {
            context! {
                key => key,
                label => if lang == Lang::Ja { ja } else { en },
                kind => kind,
                hint => if lang == Lang::Ja { hint_ja } else { hint_en },
                effective => effective.get(key).cloned().unwrap_or_default(),
            }
        })
        .collect();
    let b = base(state, lang, session, "settings").await?;
    page(
        "settings.html",
        b,
        context! {
            w => word_table(lang, &WORDS),
            fields => fields,
            values => values,
            errors => field_errors_view(errors, lang, &labels()),
            saved => saved,
        },
    )
}

#[derive(Deserialize)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn settings_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<SavedQuery>,
) -> PageResult {
    let current = current(&state, &session).await?;
    render(
        &state,
        lang,
        &session,
        &current,
        values_of(&current),
        &[],
        q.saved.is_some(),
    )
    .await
}

async fn settings_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    if !session.user.role.is_admin() {
        return Err(Error::Forbidden(Msg::new(
            "自治体の設定は管理者のみ変更できます",
            "only administrators may change the municipality's settings",
        ))
        .into());
    }
    let text = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    // Numbers as typed (full-width digits too); whole numbers where `whole`.
    let mut number = |k: &str, whole: bool| -> Option<f64> {
        let v = text(k);
        match crate::master::typed_number::<f64>(k, &v) {
            Ok(Some(n)) if n.is_finite() && (!whole || n.fract() == 0.0) => Some(n),
            Ok(None) => None,
            _ => {
                errors.push(FieldError::new(
                    k,
                    format!(
                        "「{v}」は{}ではありません",
                        if whole { "整数" } else { "数値" }
                    ),
                    format!(
                        "\"{v}\" is not a {}",
                        if whole { "whole number" } else { "number" }
                    ),
                ));
                None
            }
        }
    };
    let notice = number("min_notice_days", true);
    let meetings = number("max_meetings_per_day", true);
    let hours = number("max_hours_per_day", false);
    let input = SettingsInput {
        staff_hours: text("staff_hours"),
        min_notice_days: notice.map(|n| n as i64),
        // Out of range (negative, huge) becomes 0, which the check refuses with the range.
        max_meetings_per_day: meetings.map(|n| {
            if (0.0..=1000.0).contains(&n) {
                n as u32
            } else {
                0
            }
        }),
        max_hours_per_day: hours,
    };
    if errors.is_empty() {
        match input.parse(state.config.least_notice_days()) {
            Ok(valid) => {
                state.db.set_settings(&session.user, &valid).await?;
                return Ok(Redirect::to("/settings?saved=1").into_response());
            }
            Err(e) => errors = e,
        }
    }
    let values = FIELDS.iter().map(|f| (f.0, text(f.0))).collect();
    let current = current(&state, &session).await?;
    render(&state, lang, &session, &current, values, &errors, false).await
}
