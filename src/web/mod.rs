//! Server-rendered pages: login, home, master data with search, calendar, import/export,
//! audit log and API tokens. Japanese by default, English by a switch; usable by keyboard and
//! screen reader (landmarks, labels, error summaries linked to fields, no colour-only signals).
//!
//! Every state-changing form carries the session's CSRF token; the login form, which has no
//! session yet, uses a double-submit cookie.

mod booking;
mod caseload;
mod held;
mod indicators;
mod meetings;
mod notices;
mod placement;
mod settings;
pub mod templates;

pub use placement::BOARD_PAGE_FACILITIES;

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Datelike, Utc};
use minijinja::{context, Value};
use renkei_solver::calendar::{jst_date, wareki, FiscalYear, Quarter};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{cookie_value, random_token, session_cookie_name, SessionUser};
use crate::error::Error;
use crate::i18n::{Lang, Msg};
use crate::master::{
    DateRangeInput, FieldError, Fields, InputKind, MasterKind, OrgKind, ValidRecord,
};
use crate::store::master::Record;
use crate::store::tenancy::User;
use crate::transfer::{FileFormat, TextEncoding};
use templates::{render, word};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(switch_lang))
        .route("/static/nav.js", get(nav_script))
        .route("/static/app.css", get(stylesheet))
        .route("/static/live-refresh.js", get(live_refresh))
        .route("/master/{kind}", get(list_page))
        .route("/master/{kind}/new", get(new_form).post(create_submit))
        .route("/master/{kind}/export", get(export_download))
        .route("/master/{kind}/{id}", get(edit_form).post(update_submit))
        .route("/master/{kind}/{id}/delete", post(delete_submit))
        .route("/calendar", get(calendar_page))
        .route("/calendar/closures", post(add_closure_submit))
        .route(
            "/calendar/closures/{id}/delete",
            post(delete_closure_submit),
        )
        .route("/people/{id}/absences", post(add_absence_submit))
        .route(
            "/people/{id}/absences/{absence}/delete",
            post(delete_absence_submit),
        )
        .route(
            "/transfer",
            get(transfer_page)
                .post(import_submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    // The file and the form's few fields.
                    crate::transfer::limits::FILE_BYTES + 64 * 1024,
                )),
        )
        .route("/audit", get(audit_page))
        .route("/account", get(account_page).post(create_token_submit))
        .merge(meetings::routes())
        .merge(held::routes())
        .merge(placement::routes())
        .merge(notices::routes())
        .merge(booking::routes())
        .merge(indicators::routes())
        .merge(settings::routes())
        .merge(caseload::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(clear_flash))
}

/// The cookie that carries a success message across the redirect after a form (post, redirect,
/// get). Its value is a code ([`Flash`]), so nothing a visitor writes is ever shown by it.
pub const FLASH_COOKIE: &str = "renkei_flash";

/// A success message after an action, shown once at the top of the next page
/// (`templates/base.html`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flash {
    /// A plan was published: added, moved, cancelled meetings; invitations, updates and
    /// cancellations queued; distinct recipients.
    Published {
        added: i64,
        moved: i64,
        cancelled: i64,
        invitations: i64,
        updates: i64,
        cancellations: i64,
        recipients: i64,
    },
    /// A meeting was cancelled; this many cancellations were queued.
    MeetingCancelled { notices: i64 },
    /// A notice was queued again.
    Resent { notices: i64 },
    /// A placement request was withdrawn; this many facilities are told.
    RequestWithdrawn { facilities: i64 },
    /// A placement was confirmed.
    PlacementConfirmed,
    /// A placement ended.
    PlacementEnded,
    /// A coordinator recorded an invitee's answer (given by phone or in person).
    AnswerRecorded,
    /// A date of a meeting held by another body was entered, changed or cancelled (no mail).
    HeldDate { change: i64 },
    /// A booking task of a lecturer or supervisor was changed.
    BookingChanged,
}

impl Flash {
    /// The cookie value: a kind and numbers, `[a-z0-9.-]` only.
    pub fn code(self) -> String {
        match self {
            Flash::Published {
                added,
                moved,
                cancelled,
                invitations,
                updates,
                cancellations,
                recipients,
            } => format!(
                "published.{added}.{moved}.{cancelled}.{invitations}.{updates}.{cancellations}.{recipients}"
            ),
            Flash::MeetingCancelled { notices } => format!("cancelled.{notices}"),
            Flash::Resent { notices } => format!("resent.{notices}"),
            Flash::RequestWithdrawn { facilities } => format!("withdrawn.{facilities}"),
            Flash::PlacementConfirmed => "confirmed".into(),
            Flash::PlacementEnded => "ended".into(),
            Flash::AnswerRecorded => "answer".into(),
            Flash::HeldDate { change } => format!("held.{change}"),
            Flash::BookingChanged => "booking".into(),
        }
    }

    /// Reads a cookie value back; anything else is no message.
    pub fn parse(code: &str) -> Option<Flash> {
        let mut parts = code.split('.');
        let kind = parts.next()?;
        let n: Vec<i64> = parts
            .map(|p| p.parse::<i64>().ok().filter(|n| *n >= 0))
            .collect::<Option<Vec<_>>>()?;
        Some(match (kind, n.as_slice()) {
            (
                "published",
                &[added, moved, cancelled, invitations, updates, cancellations, recipients],
            ) => Flash::Published {
                added,
                moved,
                cancelled,
                invitations,
                updates,
                cancellations,
                recipients,
            },
            ("cancelled", &[notices]) => Flash::MeetingCancelled { notices },
            ("resent", &[notices]) => Flash::Resent { notices },
            ("withdrawn", &[facilities]) => Flash::RequestWithdrawn { facilities },
            ("confirmed", &[]) => Flash::PlacementConfirmed,
            ("ended", &[]) => Flash::PlacementEnded,
            ("answer", &[]) => Flash::AnswerRecorded,
            ("held", &[change]) if change <= 2 => Flash::HeldDate { change },
            ("booking", &[]) => Flash::BookingChanged,
            _ => return None,
        })
    }

    pub fn message(self, lang: Lang) -> String {
        let msg = match self {
            Flash::Published {
                added,
                moved,
                cancelled,
                invitations,
                updates,
                cancellations,
                recipients,
            } => Msg::new(
                format!(
                    "公開しました（追加 {added}件・変更 {moved}件・中止 {cancelled}件）。招待 {invitations}通・変更のお知らせ {updates}通・中止のお知らせ {cancellations}通を {recipients}人に送ります。"
                ),
                format!(
                    "Published ({added} added, {moved} moved, {cancelled} cancelled). {invitations} {}, {updates} {} and {cancellations} {} are being sent to {recipients} {}.",
                    plural(invitations, "invitation", "invitations"),
                    plural(updates, "update", "updates"),
                    plural(cancellations, "cancellation", "cancellations"),
                    plural(recipients, "person", "people"),
                ),
            ),
            Flash::MeetingCancelled { notices } => Msg::new(
                format!("会議を中止しました。招待者 {notices}人に中止のお知らせを送ります。"),
                format!(
                    "The meeting is cancelled. A cancellation is being sent to {notices} {}.",
                    plural(notices, "invitee", "invitees")
                ),
            ),
            Flash::AnswerRecorded => Msg::new(
                "回答を記録しました（事務局が記録した回答として表示されます）。",
                "The answer is recorded (shown as recorded by a coordinator).",
            ),
            Flash::Resent { notices } => Msg::new(
                format!("通知を再送します（{notices}通）。"),
                format!(
                    "The notice is being sent again ({notices} {}).",
                    plural(notices, "message", "messages")
                ),
            ),
            Flash::RequestWithdrawn { facilities } => Msg::new(
                format!(
                    "依頼を取り下げました。仮押さえを解除し、{facilities}施設に取り下げのお知らせを送ります。"
                ),
                format!(
                    "The request is withdrawn. Its held beds are released and {facilities} {} told by mail.",
                    plural(facilities, "facility is", "facilities are")
                ),
            ),
            Flash::PlacementConfirmed => Msg::new(
                "入所を確定しました。施設に確定のお知らせを送ります。",
                "The placement is confirmed; the facility is told by mail.",
            ),
            Flash::PlacementEnded => Msg::new(
                "入所を終了しました。退所日からのベッドは空きに戻りました。",
                "The placement has ended; the bed is free again from the check-out day.",
            ),
            Flash::HeldDate { change } => match change {
                0 => Msg::new(
                    "他機関主催の会議の日程を登録しました。出席者の予定として計画で避けます（招待メールは送りません）。",
                    "The date of the meeting held by another body is entered; plans keep its attendees free then (no invitation is sent).",
                ),
                1 => Msg::new(
                    "他機関主催の会議の日程を変更しました（メールは送りません）。",
                    "The date of the meeting held by another body is changed (no mail is sent).",
                ),
                _ => Msg::new(
                    "他機関主催の会議を中止として記録しました（メールは送りません）。",
                    "The meeting held by another body is recorded as cancelled (no mail is sent).",
                ),
            },
            Flash::BookingChanged => Msg::new(
                "講師・SVの手配を更新しました。",
                "The lecturer booking is updated.",
            ),
        };
        msg.get(lang).to_string()
    }
}

/// `1 person`, `2 people`: English counts read right.
pub fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 { one } else { many }.to_string()
}

/// The redirect after a form, carrying its success message to the next page.
fn redirect_with_flash(state: &AppState, to: &str, flash: Flash) -> Response {
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookie(state, FLASH_COOKIE, &flash.code(), Some(300)),
    );
    res
}

/// A page that showed the success message clears it, so that it is shown once.
async fn clear_flash(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let had = cookie_value(req.headers(), FLASH_COOKIE).is_some();
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let sets_it = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(FLASH_COOKIE.as_bytes()));
    if had && html && res.status() == StatusCode::OK && !sets_it {
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("renkei_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        );
    }
    res
}

/// Error of a page handler: unauthenticated visitors go to the login page, other errors get
/// an error page in both languages (the page language is not known at this point).
pub enum PageError {
    /// Not logged in: go to the login page, then back to `next`.
    Login {
        next: String,
    },
    Failed(Error),
}

impl From<Error> for PageError {
    fn from(e: Error) -> PageError {
        PageError::Failed(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = match self {
            PageError::Login { next } => {
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                return Redirect::to(&format!("/login?next={next}")).into_response();
            }
            PageError::Failed(Error::Unauthenticated) => {
                return Redirect::to("/login").into_response()
            }
            PageError::Failed(e) => e,
        };
        let status = e.status();
        let body = e.body();
        let html = render(
            "error.html",
            context! { lang => "ja", status => status.as_u16(), message => body.message, fields => body.fields },
        )
        .unwrap_or_else(|_| "error".into());
        let mut res = (status, Html(html)).into_response();
        if let Error::RateLimited { retry_after_secs } | Error::Unavailable { retry_after_secs } = e
        {
            res.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
        }
        res
    }
}

type PageResult = Result<Response, PageError>;

async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::api::api_not_found(uri).await.into_response();
    }
    PageError::Failed(Error::NotFound(Msg::new(
        "ページが見つかりません。メニューから選び直してください",
        "page not found; choose again from the menu",
    )))
    .into_response()
}

/// The page language: the `lang` cookie, else Japanese.
pub struct PageLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PageLang(
            cookie_value(&parts.headers, "lang")
                .as_deref()
                .and_then(Lang::parse)
                .unwrap_or_default(),
        ))
    }
}

/// The language of a no-login link page (answer, facility): `?lang=` in the link (kept by its
/// language switch and forms), else the `lang` cookie, else Japanese.
pub struct LinkLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for LinkLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let asked = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(&v));
        let PageLang(cookie) = PageLang::from_request_parts(parts, state).await?;
        Ok(LinkLang(asked.unwrap_or(cookie)))
    }
}

/// Context every page shares (layout, navigation, CSRF token).
async fn base(
    state: &AppState,
    lang: Lang,
    session: &SessionUser,
    current: &str,
) -> Result<Value, Error> {
    let m = state.db.municipality(session.user.municipality_id).await?;
    let today = jst_date(Utc::now());
    let fy = FiscalYear::of(today);
    Ok(context! {
        lang => lang.code(),
        other_lang => match lang { Lang::Ja => "en", Lang::En => "ja" },
        current => current,
        current_path => match current {
            "home" => "/".to_string(),
            k if MasterKind::parse(k).is_some() => format!("/master/{k}"),
            other => format!("/{other}"),
        },
        user => context! {
            name => session.user.display_name.clone(),
            username => session.user.username.clone(),
            role => session.user.role.label().get(lang).to_string(),
            is_admin => session.user.role.is_admin(),
            can_write => session.user.role.can_write_master(),
        },
        municipality => match lang { Lang::Ja => m.name.clone(), Lang::En => if m.name_en.is_empty() { m.name.clone() } else { m.name_en.clone() } },
        csrf => session.csrf.clone(),
        fiscal_year_ja => fy.label_ja(),
        fiscal_year_en => fy.label_en(),
        flash => session.flash.as_deref().and_then(Flash::parse).map(|f| f.message(lang)),
    })
}

fn page(name: &str, base: Value, extra: Value) -> PageResult {
    let html = render(name, context! { ..base, ..extra })?;
    Ok(Html(html).into_response())
}

/// A page's words in `lang`, from (key, Japanese, English) triples, for templates (`w.key`).
fn word_table(lang: Lang, pairs: &[(&str, &str, &str)]) -> Value {
    let map: HashMap<&str, &str> = pairs
        .iter()
        .map(|(k, ja, en)| (*k, if lang == Lang::Ja { *ja } else { *en }))
        .collect();
    Value::from_serialize(&map)
}

/// A form body with repeated keys (checkbox groups) kept.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The last value of each key.
fn form_map(pairs: &[(String, String)]) -> HashMap<String, String> {
    pairs.iter().cloned().collect()
}

/// An id in a page's path; anything else is a page that does not exist.
fn parse_page_id(s: &str) -> Result<i64, Error> {
    s.parse().map_err(|_| Error::not_found("ページ", "page"))
}

fn check_csrf(session: &SessionUser, form: &HashMap<String, String>) -> Result<(), Error> {
    session.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))
}

fn require_write(user: &User) -> Result<(), Error> {
    if user.role.can_write_master() {
        Ok(())
    } else {
        Err(Error::forbidden_write())
    }
}

fn parse_kind(kind: &str) -> Result<MasterKind, Error> {
    MasterKind::parse(kind).ok_or_else(|| Error::not_found("ページ", "page"))
}

/// Only local paths are followed after login or a language switch (no open redirects).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

fn cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}"
    ))
    .expect("cookie values are URL-safe base64")
}

// ----- login -----

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

const LOGIN_CSRF: &str = "renkei_login_csrf";

async fn login_form(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    Query(q): Query<NextQuery>,
) -> PageResult {
    login_page(&state, lang, q.next.as_deref(), None, "", StatusCode::OK)
}

fn login_page(
    state: &AppState,
    lang: Lang,
    next: Option<&str>,
    error: Option<Msg>,
    username: &str,
    status: StatusCode,
) -> PageResult {
    let token = random_token(24);
    let html = render(
        "login.html",
        context! {
            lang => lang.code(), other_lang => match lang { Lang::Ja => "en", Lang::En => "ja" },
            csrf => token.clone(), next => safe_next(next), username => username,
            error => error.map(|m| m.get(lang).to_string()),
        },
    )?;
    let mut res = (status, Html(html)).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookie(state, LOGIN_CSRF, &token, Some(3600)),
    );
    Ok(res)
}

async fn login_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let cookie_token = cookie_value(&headers, LOGIN_CSRF);
    if cookie_token.as_deref() != Some(get("csrf")) || get("csrf").is_empty() {
        let msg = Msg::new(
            "ログイン画面の有効期限が切れました。もう一度入力してください",
            "the login form expired; please enter your details again",
        );
        return login_page(
            &state,
            lang,
            Some(get("next")),
            Some(msg),
            get("username"),
            StatusCode::FORBIDDEN,
        );
    }
    let address = state.client_address(peer, &headers).to_string();
    match crate::auth::login(&state.db, get("username"), get("password"), &address).await {
        Ok(user) => {
            let (secret, _) =
                crate::auth::start_session(&state.db, &user, state.config.session_hours).await?;
            let name = session_cookie_name(state.config.secure_cookies());
            let mut res = Redirect::to(&safe_next(Some(get("next")))).into_response();
            let h = res.headers_mut();
            h.append(
                header::SET_COOKIE,
                cookie(
                    &state,
                    name,
                    &secret,
                    Some(state.config.session_hours * 3600),
                ),
            );
            h.append(header::SET_COOKIE, cookie(&state, LOGIN_CSRF, "", Some(0)));
            Ok(res)
        }
        Err(e @ (Error::BadRequest(_) | Error::RateLimited { .. })) => {
            let status = e.status();
            let msg = e.body().message;
            let mut res = login_page(
                &state,
                lang,
                Some(get("next")),
                Some(msg),
                get("username"),
                status,
            )?;
            if let Error::RateLimited { retry_after_secs } = e {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, retry_after_secs.into());
            }
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout(
    State(state): State<AppState>,
    session: SessionUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    state.db.delete_session(&session.session_hash).await?;
    let name = session_cookie_name(state.config.secure_cookies());
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, cookie(&state, name, "", Some(0)));
    Ok(res)
}

async fn switch_lang(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    let mut res = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        cookie(&state, "lang", lang.code(), Some(365 * 24 * 3600)),
    );
    res
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
}

/// Closes the navigation's menus on Escape or a click elsewhere (they open without it).
async fn nav_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/nav.js"),
    )
}

async fn live_refresh() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/live-refresh.js"),
    )
}

// ----- home -----

async fn home(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
) -> PageResult {
    let b = base(&state, lang, &session, "home").await?;
    let m = session.user.municipality_id;
    let mut counts = Vec::new();
    for kind in MasterKind::ALL {
        counts.push(context! { slug => kind.slug(), label => kind.label().get(lang).to_string(), count => state.db.count_records(m, kind).await? });
    }
    let today = jst_date(Utc::now());
    let cal = state
        .db
        .business_calendar(session.user.municipality_id)
        .await?;
    let fy = FiscalYear::of(today);
    let upcoming: Vec<Value> = cal
        .closed_weekdays(fy)
        .into_iter()
        .chain(
            FiscalYear::new(fy.year() + 1)
                .map(|n| cal.closed_weekdays(n))
                .unwrap_or_default(),
        )
        .filter(|(d, _)| *d >= today)
        .take(5)
        .map(|(d, r)| closed_row(lang, d, &r))
        .collect();
    let q = Quarter::of(today);
    let staffing: Vec<Value> = crate::staffing::of(&state.db, m)
        .await?
        .into_iter()
        .flat_map(|c| c.findings)
        .map(|f| context! { severity => f.severity, message => f.message.get(lang).to_string() })
        .collect();
    page(
        "home.html",
        b,
        context! {
            staffing => staffing,
            counts => counts,
            today => match lang { Lang::Ja => format!("{}({})", wareki(today), weekday_short(lang, today.weekday())), Lang::En => today.format("%a %-d %B %Y").to_string() },
            quarter => match lang { Lang::Ja => q.label_ja(), Lang::En => q.label_en() },
            upcoming => upcoming,
        },
    )
}

fn weekday_short(lang: Lang, d: chrono::Weekday) -> &'static str {
    const JA: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
    const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let i = d.num_days_from_monday() as usize;
    match lang {
        Lang::Ja => JA[i],
        Lang::En => EN[i],
    }
}

fn closed_row(
    lang: Lang,
    d: chrono::NaiveDate,
    r: &renkei_solver::calendar::ClosedReason,
) -> Value {
    context! {
        date => d.to_string(),
        date_label => match lang { Lang::Ja => wareki(d), Lang::En => d.format("%-d %b %Y").to_string() },
        weekday => weekday_short(lang, d.weekday()),
        reason => match lang { Lang::Ja => r.label_ja(), Lang::En => r.label_en() },
    }
}

// ----- master data -----

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: String,
    /// Page number, from 1.
    #[serde(default)]
    page: Option<u32>,
}

/// Records per page of a master-data list page (and of the audit log's page).
const LIST_PAGE_SIZE: i64 = 200;

/// The previous/next links of page `page_number` (from 1) of `total` rows, `LIST_PAGE_SIZE` a
/// page; none when everything fits one page.
fn paging_view(page_number: i64, total: i64) -> Option<Value> {
    let pages = (total + LIST_PAGE_SIZE - 1) / LIST_PAGE_SIZE;
    (pages > 1).then(|| {
        context! {
            page => page_number, pages => pages,
            prev => (page_number > 1).then(|| page_number - 1),
            next => (page_number < pages).then(|| page_number + 1),
        }
    })
}

#[derive(Deserialize)]
struct PageNumberQuery {
    /// Page number, from 1.
    #[serde(default)]
    page: Option<u32>,
}

fn column_views(kind: MasterKind, lang: Lang) -> Vec<Value> {
    kind.columns()
        .iter()
        .map(|c| {
            context! {
                key => c.key,
                label => match lang { Lang::Ja => c.ja, Lang::En => c.en },
                hint => match lang { Lang::Ja => c.hint_ja, Lang::En => c.hint_en },
                required => c.required,
                input => c.input,
            }
        })
        .collect()
}

/// Column headings of the list, matching `display_cells` (names where the form has codes).
fn display_headings(kind: MasterKind, lang: Lang) -> Vec<String> {
    kind.columns()
        .iter()
        .map(|c| {
            let (ja, en) = match c.key {
                "organisation_code" => ("所属機関", "Organisation"),
                "venue_code" => ("会場", "Venue"),
                _ => (c.ja, c.en),
            };
            match lang {
                Lang::Ja => ja,
                Lang::En => en,
            }
            .to_string()
        })
        .collect()
}

/// Cells for display: kinds and flags in words rather than codes.
fn display_cells(record: &Record, lang: Lang) -> Vec<String> {
    let mut cells = record.to_fields();
    match record {
        Record::Organisation(o) => cells[3] = o.kind.label().get(lang).to_string(),
        Record::Room(r) => {
            cells[1] = r.venue_name.clone();
            cells[4] = word(lang, if r.wheelchair { "yes" } else { "no" }).to_string();
            cells[5] = word(lang, if r.hearing_loop { "yes" } else { "no" }).to_string();
        }
        Record::Person(p) => {
            let sep = match lang {
                Lang::Ja => "、",
                Lang::En => ", ",
            };
            cells[4] = p.organisation_name.clone().unwrap_or_default();
            cells[5] = p.roles.join(sep);
            cells[6] = p.qualifications.join(sep);
            cells[7] = p
                .part_time_days
                .iter()
                .filter_map(|d| crate::master::parse_weekday(d))
                .map(|d| weekday_short(lang, d))
                .collect::<Vec<_>>()
                .join(sep);
        }
        Record::Venue(_) => {}
    }
    cells
}

async fn list_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(kind): Path<String>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let kind = parse_kind(&kind)?;
    let b = base(&state, lang, &session, kind.slug()).await?;
    let page_number = i64::from(q.page.unwrap_or(1).max(1));
    let (records, total) = state
        .db
        .list_records_page(
            session.user.municipality_id,
            kind,
            &q.q,
            LIST_PAGE_SIZE,
            (page_number - 1) * LIST_PAGE_SIZE,
        )
        .await?;
    let paging = paging_view(page_number, total);
    let rows: Vec<Value> = records
        .iter()
        .map(|r| context! { id => r.id(), cells => display_cells(r, lang) })
        .collect();
    let notice = match q.done.as_str() {
        "saved" => Some(word(lang, "saved")),
        "deleted" => Some(word(lang, "deleted")),
        _ => None,
    };
    page(
        "list.html",
        b,
        context! {
            kind => kind.slug(), title => kind.label().get(lang).to_string(), columns => display_headings(kind, lang),
            rows => rows, q => q.q, notice => notice, total => total, paging => paging,
        },
    )
}

fn org_kind_options(lang: Lang) -> Vec<Value> {
    OrgKind::ALL
        .iter()
        .map(|k| context! { value => k.slug(), label => k.label().get(lang).to_string() })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    b: Value,
    lang: Lang,
    kind: MasterKind,
    id: Option<i64>,
    values: HashMap<String, String>,
    errors: &[FieldError],
    status: StatusCode,
) -> PageResult {
    let errors: Vec<Value> = errors
        .iter()
        .map(|e| {
            let label = kind.columns().iter().find(|c| c.key == e.field).map(|c| match lang {
                Lang::Ja => c.ja,
                Lang::En => c.en,
            });
            context! { field => e.field.clone(), label => label.unwrap_or(&e.field), message => e.message.get(lang).to_string() }
        })
        .collect();
    let title = format!(
        "{}: {}",
        kind.label().get(lang),
        word(lang, if id.is_some() { "edit" } else { "new" })
    );
    let html = render(
        "form.html",
        context! {
            ..b, ..context! {
                kind => kind.slug(), id => id, title => title, columns => column_views(kind, lang), values => values,
                errors => errors, org_kinds => org_kind_options(lang),
            }
        },
    )?;
    Ok((status, Html(html)).into_response())
}

async fn new_form(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(kind): Path<String>,
) -> PageResult {
    let kind = parse_kind(&kind)?;
    require_write(&session.user)?;
    let b = base(&state, lang, &session, kind.slug()).await?;
    form_page(b, lang, kind, None, HashMap::new(), &[], StatusCode::OK)
}

async fn edit_form(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path((kind, id)): Path<(String, String)>,
) -> PageResult {
    let kind = parse_kind(&kind)?;
    let id: i64 = id
        .parse()
        .map_err(|_| Error::not_found("データ", "record"))?;
    edit_view(
        &state,
        &session,
        lang,
        kind,
        id,
        &[],
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

/// The edit page of a stored record; for people with their absences (and the absence form's
/// errors and values when it was just submitted).
#[allow(clippy::too_many_arguments)]
async fn edit_view(
    state: &AppState,
    session: &SessionUser,
    lang: Lang,
    kind: MasterKind,
    id: i64,
    absence_errors: &[FieldError],
    absence_values: HashMap<String, String>,
    status: StatusCode,
) -> PageResult {
    let m = session.user.municipality_id;
    let record = state.db.get_record(m, kind, id).await?;
    let values = kind
        .columns()
        .iter()
        .map(|c| c.key.to_string())
        .zip(record.to_fields())
        .collect();
    let absences = if kind == MasterKind::People {
        Some(state.db.absences(m, id).await?)
    } else {
        None
    };
    let extra = context! {
        absences => absences,
        absence_errors => field_errors_view(absence_errors, lang, &DATE_RANGE_LABELS),
        absence_values => absence_values,
    };
    let b = base(state, lang, session, kind.slug()).await?;
    form_page(
        context! { ..b, ..extra },
        lang,
        kind,
        Some(id),
        values,
        &[],
        status,
    )
}

/// Form fields to text fields; checkboxes that are absent mean "no".
fn form_fields(kind: MasterKind, form: &HashMap<String, String>) -> Fields {
    Fields(
        kind.columns()
            .iter()
            .map(|c| {
                let v = form.get(c.key).cloned().unwrap_or_default();
                let v = if c.input == InputKind::Checkbox && v.is_empty() {
                    "0".into()
                } else {
                    v
                };
                (c.key.to_string(), v)
            })
            .collect(),
    )
}

async fn save_from_form(
    state: AppState,
    lang: Lang,
    session: SessionUser,
    kind: MasterKind,
    id: Option<i64>,
    form: HashMap<String, String>,
) -> PageResult {
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let fields = form_fields(kind, &form);
    let result = match ValidRecord::from_fields(kind, &fields) {
        Ok(record) => state.db.save_record(&session.user, id, &record).await,
        Err(errors) => Err(Error::Validation(errors)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/master/{}?done=saved", kind.slug())).into_response()),
        Err(Error::Validation(errors)) => {
            let b = base(&state, lang, &session, kind.slug()).await?;
            form_page(
                b,
                lang,
                kind,
                id,
                fields.0,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(Error::Conflict(m)) => {
            let b = base(&state, lang, &session, kind.slug()).await?;
            let errors = [FieldError {
                field: "code".into(),
                message: m,
            }];
            form_page(b, lang, kind, id, fields.0, &errors, StatusCode::CONFLICT)
        }
        Err(e) => Err(e.into()),
    }
}

async fn create_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(kind): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let kind = parse_kind(&kind)?;
    save_from_form(state, lang, session, kind, None, form).await
}

async fn update_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path((kind, id)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let kind = parse_kind(&kind)?;
    let id: i64 = id
        .parse()
        .map_err(|_| Error::not_found("データ", "record"))?;
    save_from_form(state, lang, session, kind, Some(id), form).await
}

async fn delete_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path((kind, id)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let kind = parse_kind(&kind)?;
    let id: i64 = id
        .parse()
        .map_err(|_| Error::not_found("データ", "record"))?;
    state.db.delete_record(&session.user, kind, id).await?;
    Ok(Redirect::to(&format!("/master/{}?done=deleted", kind.slug())).into_response())
}

#[derive(Deserialize)]
struct ExportQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    encoding: String,
}

async fn export_download(
    State(state): State<AppState>,
    session: SessionUser,
    Path(kind): Path<String>,
    Query(q): Query<ExportQuery>,
) -> PageResult {
    let kind = parse_kind(&kind)?;
    Ok(crate::api::export_response(&state, &session.user, kind, &q.format, &q.encoding).await?)
}

// ----- calendar -----

#[derive(Deserialize)]
struct CalendarQuery {
    fy: Option<String>,
}

async fn calendar_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<CalendarQuery>,
) -> PageResult {
    calendar_view(
        &state,
        lang,
        &session,
        q.fy.as_deref(),
        &[],
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

async fn calendar_view(
    state: &AppState,
    lang: Lang,
    session: &SessionUser,
    fy: Option<&str>,
    errors: &[FieldError],
    values: HashMap<String, String>,
    status: StatusCode,
) -> PageResult {
    let b = base(state, lang, session, "calendar").await?;
    let today = jst_date(Utc::now());
    let (fy, error) = match fy.filter(|s| !s.trim().is_empty()) {
        None => (FiscalYear::of(today), None),
        Some(s) => match s.parse::<FiscalYear>() {
            Ok(fy) => (fy, None),
            Err(e) => (FiscalYear::of(today), Some(e.to_string())),
        },
    };
    let m = session.user.municipality_id;
    let cal = state.db.business_calendar(m).await?;
    let days: Vec<Value> = cal
        .closed_weekdays(fy)
        .iter()
        .map(|(d, r)| closed_row(lang, *d, r))
        .collect();
    let years: Vec<Value> = (fy.year() - 2..=fy.year() + 2)
        .filter_map(|y| FiscalYear::new(y).ok())
        .map(|y| context! { value => y.year(), label => format!("{} ({})", y.label_ja(), y.label_en()), selected => y == fy })
        .collect();
    let closures: Vec<Value> = state
        .db
        .closures(m)
        .await?
        .into_iter()
        .filter(|c| c.date.parse().is_ok_and(|d| fy.contains(d)))
        .map(|c| context! { id => c.id, date => c.date, reason => c.reason })
        .collect();
    let html = render(
        "calendar.html",
        context! { ..b, ..context! {
            fy_label => format!("{} / {}", fy.label_ja(), fy.label_en()), fy => fy.year(), days => days, years => years,
            error => error, period => format!("{} – {}", fy.start(), fy.end()), closures => closures,
            errors => field_errors_view(errors, lang, &DATE_RANGE_LABELS), values => values,
        } },
    )?;
    Ok((status, Html(html)).into_response())
}

/// Labels of the date-range form fields (closures and absences).
const DATE_RANGE_LABELS: [(&str, &str, &str); 3] = [
    ("from", "開始日", "First day"),
    ("to", "終了日", "Last day"),
    ("reason", "理由", "Reason"),
];

fn field_errors_view(
    errors: &[FieldError],
    lang: Lang,
    labels: &[(&str, &str, &str)],
) -> Vec<Value> {
    errors
        .iter()
        .map(|e| {
            let label = labels.iter().find(|(k, _, _)| *k == e.field).map(|(_, ja, en)| match lang {
                Lang::Ja => *ja,
                Lang::En => *en,
            });
            context! { field => e.field.clone(), label => label.unwrap_or(&e.field), message => e.message.get(lang).to_string() }
        })
        .collect()
}

fn date_range_input(form: &HashMap<String, String>) -> DateRangeInput {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    DateRangeInput {
        from: get("from"),
        to: get("to"),
        reason: get("reason"),
    }
}

async fn add_closure_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let fy = form.get("fy").cloned().unwrap_or_default();
    match date_range_input(&form).parse(true) {
        Ok((range, reason)) => {
            state.db.add_closure(&session.user, range, &reason).await?;
            Ok(Redirect::to(&format!(
                "/calendar?fy={}",
                FiscalYear::of(range.from).year()
            ))
            .into_response())
        }
        Err(errors) => {
            calendar_view(
                &state,
                lang,
                &session,
                Some(&fy),
                &errors,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn delete_closure_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let id: i64 = id
        .parse()
        .map_err(|_| Error::not_found("休業日", "closure"))?;
    state.db.delete_closure(&session.user, id).await?;
    let fy = form.get("fy").cloned().unwrap_or_default();
    Ok(Redirect::to(&format!(
        "/calendar?fy={}",
        form_urlencoded::byte_serialize(fy.as_bytes()).collect::<String>()
    ))
    .into_response())
}

async fn add_absence_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let person: i64 = id.parse().map_err(|_| Error::not_found("人", "person"))?;
    match date_range_input(&form).parse(false) {
        Ok((range, reason)) => {
            state
                .db
                .add_absence(&session.user, person, range, &reason)
                .await?;
            Ok(Redirect::to(&format!("/master/people/{person}#absences")).into_response())
        }
        Err(errors) => {
            edit_view(
                &state,
                &session,
                lang,
                MasterKind::People,
                person,
                &errors,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn delete_absence_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path((person, absence)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let absence: i64 = absence
        .parse()
        .map_err(|_| Error::not_found("休暇", "absence"))?;
    state.db.delete_absence(&session.user, absence).await?;
    let person: i64 = person
        .parse()
        .map_err(|_| Error::not_found("人", "person"))?;
    Ok(Redirect::to(&format!("/master/people/{person}#absences")).into_response())
}

// ----- import / export -----

async fn transfer_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
) -> PageResult {
    let b = base(&state, lang, &session, "transfer").await?;
    transfer_view(b, lang, None, StatusCode::OK)
}

fn transfer_view(b: Value, lang: Lang, report: Option<Value>, status: StatusCode) -> PageResult {
    let kinds: Vec<Value> = MasterKind::ALL
        .iter()
        .map(|k| context! { value => k.slug(), label => k.label().get(lang).to_string() })
        .collect();
    let html = render(
        "transfer.html",
        context! { ..b, ..context! { kinds => kinds, report => report } },
    )?;
    Ok((status, Html(html)).into_response())
}

/// A page's upload form read whole: its text fields, and the file of the field `file` (name
/// and bytes), or an error asking for a file when none (or an empty one) was chosen.
pub(crate) async fn read_upload(
    multipart: &mut Multipart,
) -> Result<(HashMap<String, String>, Result<(String, Vec<u8>), Error>), Error> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        Error::BadRequest(Msg::new(
            format!("アップロードを読めません: {e}"),
            format!("cannot read the upload: {e}"),
        ))
    };
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("").to_string();
            file = Some((file_name, field.bytes().await.map_err(bad)?.to_vec()));
        } else {
            fields.insert(name, field.text().await.map_err(bad)?);
        }
    }
    let file = file.filter(|(_, b)| !b.is_empty()).ok_or_else(|| {
        Error::BadRequest(Msg::new(
            "ファイルを選んでください",
            "choose a file to import",
        ))
    });
    Ok((fields, file))
}

async fn import_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    mut multipart: Multipart,
) -> PageResult {
    let (fields, file) = read_upload(&mut multipart).await?;
    check_csrf(&session, &fields)?;
    require_write(&session.user)?;
    let kind = parse_kind(fields.get("kind").map(String::as_str).unwrap_or(""))?;
    let (file_name, bytes) = file?;
    let encoding = TextEncoding::parse(fields.get("encoding").map(String::as_str).unwrap_or(""))
        .unwrap_or_default();
    let partial = fields.get("partial").is_some_and(|v| !v.is_empty());
    let b = base(&state, lang, &session, "transfer").await?;
    let format = FileFormat::sniff(&file_name, &bytes);
    let outcome = match crate::transfer::read_table(&bytes, format, encoding) {
        Ok(table) => crate::transfer::import(&state.db, &session.user, kind, table, partial).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(report) => {
            let errors: Vec<Value> = report
                .errors
                .iter()
                .map(|e| context! { row => e.row, column => e.heading.clone(), value => e.value.clone(), message => e.message.get(lang).to_string() })
                .collect();
            let status = if report.applied {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let view = context! {
                file_name => file_name, kind => kind.label().get(lang).to_string(), rows => report.rows, created => report.created,
                updated => report.updated, applied => report.applied, errors => errors, encoding => report.encoding,
                ignored_columns => report.ignored_columns,
            };
            transfer_view(b, lang, Some(view), status)
        }
        // The file cannot be read (not XLSX, not the encoding asked for): say why.
        Err(e @ (Error::BadRequest(_) | Error::Validation(_))) => {
            let status = e.status();
            let body = e.body();
            let failure = match body.fields.as_slice() {
                [] => body.message.get(lang).to_string(),
                fields => fields
                    .iter()
                    .map(|f| f.message.get(lang).to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            let view = context! { file_name => file_name, kind => kind.label().get(lang).to_string(), failure => failure, applied => false };
            transfer_view(b, lang, Some(view), status)
        }
        Err(e) => Err(e.into()),
    }
}

// ----- audit log and account -----

async fn audit_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<PageNumberQuery>,
) -> PageResult {
    if !session.user.role.is_admin() {
        return Err(Error::Forbidden(Msg::new(
            "監査ログは管理者のみ閲覧できます",
            "only administrators may read the audit log",
        ))
        .into());
    }
    let b = base(&state, lang, &session, "audit").await?;
    let m = session.user.municipality_id;
    let page_number = i64::from(q.page.unwrap_or(1).max(1));
    let entries = state
        .db
        .audit_page(m, LIST_PAGE_SIZE, (page_number - 1) * LIST_PAGE_SIZE)
        .await?;
    let total = state.db.count_audit_entries(m).await?;
    page(
        "audit.html",
        b,
        context! { entries => entries, total => total, paging => paging_view(page_number, total) },
    )
}

async fn account_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
) -> PageResult {
    let b = base(&state, lang, &session, "account").await?;
    page(
        "account.html",
        b,
        context! { token => Option::<String>::None },
    )
}

async fn create_token_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    let name = form.get("name").map(|s| s.trim()).unwrap_or("");
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::Validation(vec![FieldError::new(
            "name",
            "用途を100文字以内で入力してください",
            "enter a purpose of up to 100 characters",
        )])
        .into());
    }
    let token = crate::auth::create_api_token(&state.db, &session.user, name).await?;
    let b = base(&state, lang, &session, "account").await?;
    page(
        "account.html",
        b,
        context! { token => token, token_name => name },
    )
}
