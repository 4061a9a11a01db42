//! The page 「講師・SVの手配」 (`/meetings/bookings`): booking tasks of external lecturers
//! and supervisors, overdue first, with a form per task to record that they were asked or
//! what they answered (`store::booking`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use serde::Deserialize;

use super::{
    base, check_csrf, form_map, form_pairs, page, parse_page_id, redirect_with_flash,
    require_write, Flash, PageLang, PageResult,
};
use crate::app::AppState;
use crate::auth::SessionUser;
use crate::error::Error;
use crate::i18n::{Lang, Msg};
use crate::store::booking::{BookingStatus, TaskChange};

/// Tasks a page.
const BOOKINGS_PER_PAGE: i64 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/meetings/bookings", get(bookings_page))
        .route("/meetings/bookings/{id}", post(booking_submit))
}

#[derive(Deserialize, Default)]
struct BookingsQuery {
    #[serde(default)]
    status: String,
    offset: Option<i64>,
}

/// A word of the page in the reader's language.
fn w(lang: Lang, ja: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Ja => ja,
        Lang::En => en,
    }
}

async fn bookings_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<BookingsQuery>,
) -> PageResult {
    let m = session.user.municipality_id;
    let status = BookingStatus::parse(&q.status);
    let paging = crate::api::Page::parse(Some(BOOKINGS_PER_PAGE), q.offset)?;
    let (tasks, total) = state
        .db
        .booking_tasks(m, status, paging.limit, paging.offset)
        .await?;
    let rows: Vec<minijinja::Value> = tasks
        .iter()
        .map(|t| {
            context! {
                id => t.id, occurrence => t.occurrence_id,
                title => if lang == Lang::En && !t.title_en.is_empty() { t.title_en.clone() } else { t.title.clone() },
                date => t.meeting_date, start => t.start, end => t.end,
                person => t.person_name, email => t.person_email,
                due => t.due_date, overdue => t.overdue,
                status => t.status.slug(), status_label => t.status.label().get(lang).to_string(),
                version => t.version, note => t.note,
                next => BookingStatus::ALL.iter().filter(|s| t.status.may_become(**s))
                    .map(|s| context! { slug => s.slug(), label => s.label().get(lang).to_string() })
                    .collect::<Vec<_>>(),
            }
        })
        .collect();
    let link = |offset: i64| {
        let mut u = form_urlencoded::Serializer::new(String::new());
        if let Some(s) = status {
            u.append_pair("status", s.slug());
        }
        if offset > 0 {
            u.append_pair("offset", &offset.to_string());
        }
        let query = u.finish();
        if query.is_empty() {
            "/meetings/bookings".to_string()
        } else {
            format!("/meetings/bookings?{query}")
        }
    };
    let prev = (paging.offset > 0).then(|| link((paging.offset - paging.limit).max(0)));
    let next = (paging.offset.saturating_add(paging.limit) < total)
        .then(|| link(paging.offset + paging.limit));
    let statuses: Vec<minijinja::Value> = BookingStatus::ALL
        .iter()
        .map(|s| context! { slug => s.slug(), label => s.label().get(lang).to_string() })
        .collect();
    let words = context! {
        heading => w(lang, "講師・SVの手配", "Lecturer and supervisor bookings"),
        intro => w(lang, "外部講師・スーパーバイザーには、会議の3か月前を目途に日程調整・依頼をします。期限を過ぎて未依頼・回答待ちのものが先頭です。講師が案内メールのリンクで出欠を回答すると、承諾・辞退に変わります。",
            "External lecturers and supervisors are asked about three months before the meeting. Overdue tasks (not asked or not answered by their due date) come first. When the lecturer answers through the link in their invitation, the task becomes confirmed or declined."),
        all => w(lang, "すべて", "All"),
        meeting => w(lang, "会議", "Meeting"),
        date => w(lang, "日時", "Date"),
        lecturer => w(lang, "講師・SV", "Lecturer"),
        due => w(lang, "依頼期限", "Book by"),
        status => w(lang, "状態", "Status"),
        note => w(lang, "メモ", "Note"),
        change => w(lang, "変更", "Change"),
        save => w(lang, "更新", "Update"),
        overdue => w(lang, "期限超過", "overdue"),
        none => w(lang, "手配の必要な会議はありません。会議シリーズに講師・スーパーバイザーを指定し、外部の人として登録して計画・公開すると、ここに表示されます。",
            "No meeting needs a booking. Name a lecturer or supervisor in a meeting series, register them as an external person, then plan and publish."),
        pages => w(lang, "ページ", "Pages"),
        prev => w(lang, "前へ", "Previous"),
        next => w(lang, "次へ", "Next"),
        filter => w(lang, "絞り込み", "Filter"),
        shown => match lang {
            Lang::Ja => format!("{total}件"),
            Lang::En => format!("{total} task(s)"),
        },
    };
    let base = base(&state, lang, &session, "bookings").await?;
    page(
        "bookings.html",
        base,
        context! { w => words, rows, statuses, current_status => status.map(|s| s.slug()).unwrap_or(""), prev, next },
    )
}

async fn booking_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let id = parse_page_id(&id)?;
    let version: i64 = form
        .get("version")
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            Error::BadRequest(Msg::new(
                "手配一覧を読み込み直してから操作してください",
                "reload the bookings page and try again",
            ))
        })?;
    let change = TaskChange::parse(
        form.get("status").map(String::as_str).unwrap_or(""),
        version,
        form.get("note").map(String::as_str),
    )
    .map_err(Error::Validation)?;
    state
        .db
        .change_booking_task(&session.user, id, &change)
        .await?;
    Ok(redirect_with_flash(
        &state,
        "/meetings/bookings",
        Flash::BookingChanged,
    ))
}
