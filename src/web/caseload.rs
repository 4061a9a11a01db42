//! The load board page (計画相談の件数管理, `/caseload`): each consultation office's cases
//! against its cap (上限間近 at 90 %, 上限 at the cap), the caps, the referrals waiting for an
//! office with a choice of office by hand, a form to add a referral, and the optimizer's
//! assignment with the reason for every referral it could not place.

use std::collections::HashMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use serde::Deserialize;

use super::{
    base, check_csrf, field_errors_view, page, parse_page_id, require_write, word_table, PageLang,
    PageResult,
};
use crate::app::AppState;
use crate::auth::SessionUser;
use crate::caseload::{self, AssignOut, Level, ReferralInput};
use crate::error::Error;
use crate::i18n::{Lang, Msg};
use crate::master::{split_list, FieldError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/caseload", get(caseload_page))
        .route("/caseload/referrals", post(add_referral_submit))
        .route("/caseload/assign", post(assign_submit))
        .route("/caseload/referrals/{id}/office", post(override_submit))
        .route("/caseload/referrals/{id}/close", post(close_submit))
        .route(
            "/caseload/import",
            post(import_submit).layer(axum::extract::DefaultBodyLimit::max(
                // The file and the form's token.
                crate::transfer::limits::FILE_BYTES + 64 * 1024,
            )),
        )
}

const WORDS: [(&str, &str, &str); 41] = [
    ("title", "計画相談の件数管理", "Planning-consultation case loads"),
    ("intro", "相談支援事業所ごとの計画相談の件数と上限です。新しい紹介は、上限を超えないように最適化で割り当てます（本人の区、前の事業所、必要な専門性、余裕のある事業所を優先）。",
     "Each consultation office's planning-consultation cases against its cap. New referrals are assigned by the optimizer without any office going over its cap (preferring the person's ward, their previous office, the specialities they need, and offices with room)."),
    ("caps_text", "事業所あたりの上限", "Cap per office"),
    ("board", "事業所ごとの件数", "Cases per office"),
    ("office", "事業所", "Office"),
    ("ward", "区・圏域", "Ward / area"),
    ("cases", "件数／上限", "Cases / cap"),
    ("load", "負荷", "Load"),
    ("state", "状態", "State"),
    ("specialities", "専門性", "Specialities"),
    ("room_ok", "余裕あり", "has room"),
    ("total", "合計", "Total"),
    ("no_offices", "相談支援事業所が登録されていません。機関の一覧で種別「相談支援事業所」の機関を登録してください。",
     "No consultation office is registered; add organisations of kind \"Consultation office\" first."),
    ("referrals", "割当て待ちの紹介", "Referrals waiting for an office"),
    ("no_referrals", "割当て待ちの紹介はありません。", "No referral is waiting."),
    ("code", "コード", "Code"),
    ("needs", "必要な専門性", "Needs"),
    ("previous", "前の事業所", "Previous office"),
    ("choose", "事業所を手動で選ぶ", "Choose an office by hand"),
    ("choose_button", "割り当てる", "Assign"),
    ("add", "紹介を追加", "Add a referral"),
    ("add_hint_code", "例: R-2027-001（英数字・-・_）。氏名は入力しないでください。", "e.g. R-2027-001 (letters, digits, - and _). Do not enter names."),
    ("add_hint_needs", "例: child, mental（カンマ区切り、事業所の専門性と同じ言葉）", "e.g. child, mental (comma-separated, the words the offices' specialities use)"),
    ("none", "なし", "none"),
    ("add_button", "追加する", "Add"),
    ("assign", "最適化で割り当てる", "Assign with the optimizer"),
    ("assign_hint", "割当て待ちの紹介すべてを、上限を超えないように割り当てます。", "Assigns every waiting referral without any office going over its cap."),
    ("result", "割当ての結果", "Result of the assignment"),
    ("result_assigned", "割り当てた紹介", "Assigned"),
    ("result_unassigned", "割り当てられなかった紹介と理由", "Not assigned, and why"),
    ("reason", "理由", "Reason"),
    ("nothing_open", "割当て待ちの紹介はありませんでした。", "No referral was waiting."),
    ("viewer", "閲覧者は変更できません。", "Viewers cannot change anything."),
    ("close", "取り下げ・終了", "Withdraw or end"),
    ("close_reason", "理由", "Reason"),
    ("close_hint", "例: 本人が辞退、支援終了。割り当て済みなら事業所の件数が1件戻ります。", "e.g. withdrawn, consultation ended. An assigned referral gives its office the case back."),
    ("close_button", "閉じる", "Close"),
    ("import", "件数を取り込む", "Import the counts"),
    ("import_hint", "CSVまたはXLSX。1行目に見出し「事業所コード」と「件数」（または code と cases）。1行でも誤りがあれば何も変わりません。", "CSV or XLSX with the headings code and cases (or 事業所コード and 件数) in row 1. If any row is wrong, nothing changes."),
    ("import_file", "ファイル", "File"),
    ("import_button", "取り込む", "Import"),
];

fn labels() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        ("code", "コード", "Code"),
        ("ward", "区・圏域", "Ward"),
        ("needs", "必要な専門性", "Needs"),
        ("previous_office_id", "前の事業所", "Previous office"),
        ("office_id", "事業所", "Office"),
        ("reason", "理由", "Reason"),
        ("file", "ファイル", "File"),
        ("headings", "見出し", "Headings"),
    ]
}

/// What a page view shows besides the board.
#[derive(Default)]
struct Extra {
    values: HashMap<String, String>,
    errors: Vec<FieldError>,
    /// A message at the top (added, assigned by hand) or a refusal.
    notice: Option<Msg>,
    alert: Option<Msg>,
    result: Option<AssignOut>,
}

async fn render(state: &AppState, lang: Lang, session: &SessionUser, extra: Extra) -> PageResult {
    let board = caseload::board(&state.db, &session.user).await?;
    let text = |m: &Msg| m.get(lang).to_string();
    let offices: Vec<_> = board
        .offices
        .iter()
        .map(|o| {
            context! {
                id => o.organisation_id,
                code => o.code.clone(),
                name => o.name.clone(),
                ward => o.ward.clone(),
                cases => o.cases,
                cap => o.cap,
                percent => o.percent,
                near_at => (o.cap as f64 * caseload::NEAR_RATIO).ceil() as i64,
                level => match o.level { Level::Ok => "ok", Level::Near => "near", Level::Full => "full", Level::Over => "over" },
                warning => o.warning.as_ref().map(text),
                specialities => o.specialities.join(", "),
            }
        })
        .collect();
    let referrals: Vec<_> = board
        .open_referrals
        .iter()
        .map(|r| {
            context! {
                id => r.id,
                code => r.code.clone(),
                ward => r.ward.clone(),
                needs => r.needs.join(", "),
                previous => r.previous_office_name.clone(),
            }
        })
        .collect();
    // 「50件（西区は75件）」 / "50 cases (西区: 75)".
    let caps_line = {
        let wards: Vec<String> = board
            .caps
            .wards
            .iter()
            .map(|w| match lang {
                Lang::Ja => format!("{}は{}件", w.ward, w.cap),
                Lang::En => format!("{}: {}", w.ward, w.cap),
            })
            .collect();
        let mut s = match lang {
            Lang::Ja => format!("{}件", board.caps.default_cap),
            Lang::En => format!("{} cases", board.caps.default_cap),
        };
        if !wards.is_empty() {
            let sep = if lang == Lang::Ja { "、" } else { ", " };
            s.push_str(&match lang {
                Lang::Ja => format!("（{}）", wards.join(sep)),
                Lang::En => format!(" ({})", wards.join(sep)),
            });
        }
        s
    };
    let result = extra.result.as_ref().map(|r| {
        context! {
            assigned => r.assigned.iter().map(|a| context! { code => a.code.clone(), office => a.office_name.clone() }).collect::<Vec<_>>(),
            unassigned => r.unassigned.iter().map(|u| context! { code => u.code.clone(), reason => text(&u.reason) }).collect::<Vec<_>>(),
            note => r.note.as_ref().map(text),
            empty => r.method.is_none(),
        }
    });
    let b = base(state, lang, session, "caseload").await?;
    page(
        "caseload.html",
        b,
        context! {
            w => word_table(lang, &WORDS),
            offices => offices,
            referrals => referrals,
            caps_line => caps_line,
            total_cases => board.total_cases,
            total_cap => board.total_cap,
            values => extra.values,
            errors => field_errors_view(&extra.errors, lang, &labels()),
            notice => extra.notice.as_ref().map(text),
            alert => extra.alert.as_ref().map(text),
            result => result,
        },
    )
}

#[derive(Deserialize)]
struct ShownQuery {
    #[serde(default)]
    added: Option<String>,
    #[serde(default)]
    chosen: Option<String>,
    #[serde(default)]
    closed: Option<String>,
    #[serde(default)]
    imported: Option<usize>,
}

async fn caseload_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<ShownQuery>,
) -> PageResult {
    let notice = if let Some(code) = q.added {
        Some(Msg::new(
            format!("紹介を追加しました: {code}"),
            format!("Referral added: {code}"),
        ))
    } else if let Some(code) = q.closed {
        Some(Msg::new(
            format!("紹介を閉じました: {code}"),
            format!("Referral closed: {code}"),
        ))
    } else if let Some(n) = q.imported {
        Some(Msg::new(
            format!("件数を取り込みました（{n}行）"),
            format!("Counts imported ({n} rows)"),
        ))
    } else {
        q.chosen.map(|code| {
            Msg::new(
                format!("手動で割り当てました: {code}"),
                format!("Assigned by hand: {code}"),
            )
        })
    };
    render(
        &state,
        lang,
        &session,
        Extra {
            notice,
            ..Extra::default()
        },
    )
    .await
}

async fn add_referral_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let text = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let previous = text("previous_office_id");
    let previous_office_id = if previous.is_empty() {
        None
    } else {
        match previous.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                // 0 is refused by the check with the field's message.
                Some(0)
            }
        }
    };
    let input = ReferralInput {
        code: text("code"),
        ward: text("ward"),
        needs: split_list(&text("needs")),
        previous_office_id,
    };
    match input.parse() {
        Ok(v) => match state.db.create_referral(&session.user, &v).await {
            Ok(_) => {
                let to = format!(
                    "/caseload?added={}",
                    form_urlencoded::byte_serialize(v.code.as_bytes()).collect::<String>()
                );
                return Ok(Redirect::to(&to).into_response());
            }
            Err(Error::Validation(e)) => errors = e,
            Err(Error::Conflict(_)) => errors.push(FieldError::new(
                "code",
                format!(
                    "コード「{}」は既に使われています。別のコードにしてください",
                    v.code
                ),
                format!("code \"{}\" is already in use; choose another", v.code),
            )),
            Err(e) => return Err(e.into()),
        },
        Err(e) => errors = e,
    }
    let values = ["code", "ward", "needs", "previous_office_id"]
        .iter()
        .map(|k| (k.to_string(), text(k)))
        .collect();
    render(
        &state,
        lang,
        &session,
        Extra {
            values,
            errors,
            ..Extra::default()
        },
    )
    .await
}

async fn assign_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let extra = match caseload::assign_open(&state.db, &session.user).await {
        Ok(result) => Extra {
            result: Some(result),
            ..Extra::default()
        },
        Err(Error::Conflict(m)) => Extra {
            alert: Some(m),
            ..Extra::default()
        },
        Err(e) => return Err(e.into()),
    };
    render(&state, lang, &session, extra).await
}

async fn override_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    path: Result<Path<String>, PathRejection>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let id = parse_page_id(&path.map_err(|_| Error::not_found("ページ", "page"))?.0)?;
    let office = form
        .get("office_id")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let alert = match state.db.override_referral(&session.user, id, office).await {
        Ok(r) => {
            let to = format!(
                "/caseload?chosen={}",
                form_urlencoded::byte_serialize(r.code.as_bytes()).collect::<String>()
            );
            return Ok(Redirect::to(&to).into_response());
        }
        Err(Error::Conflict(m)) => m,
        Err(Error::Validation(e)) => e
            .into_iter()
            .next()
            .map(|f| f.message)
            .unwrap_or_else(|| Msg::new("事業所を選んでください", "choose an office")),
        Err(e) => return Err(e.into()),
    };
    render(
        &state,
        lang,
        &session,
        Extra {
            alert: Some(alert),
            ..Extra::default()
        },
    )
    .await
}

/// Closes a referral (withdrawn, consultation ended) with a reason; an assigned one gives its
/// office the case back. Conditional on the referral as it was read (409 otherwise).
async fn close_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    path: Result<Path<String>, PathRejection>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let id = parse_page_id(&path.map_err(|_| Error::not_found("ページ", "page"))?.0)?;
    let reason = form.get("reason").map(String::as_str).unwrap_or("");
    let outcome = match caseload::close_reason(reason) {
        Ok(reason) => {
            let code = state
                .db
                .referral(session.user.municipality_id, id)
                .await?
                .code;
            match state.db.close_referral(&session.user, id, reason).await {
                Ok(()) => {
                    let to = format!(
                        "/caseload?closed={}",
                        form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>()
                    );
                    return Ok(Redirect::to(&to).into_response());
                }
                Err(Error::Conflict(m)) => Extra {
                    alert: Some(m),
                    ..Extra::default()
                },
                Err(Error::Validation(errors)) => Extra {
                    errors,
                    ..Extra::default()
                },
                Err(e) => return Err(e.into()),
            }
        }
        Err(errors) => Extra {
            errors,
            ..Extra::default()
        },
    };
    render(&state, lang, &session, outcome).await
}

/// Imports the offices' counts from a CSV or XLSX upload: all rows or none.
async fn import_submit(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    mut multipart: Multipart,
) -> PageResult {
    let (fields, file) = super::read_upload(&mut multipart).await?;
    check_csrf(&session, &fields)?;
    require_write(&session.user)?;
    let outcome = match file {
        Ok((name, bytes)) => caseload::import_counts(&state.db, &session.user, &name, &bytes).await,
        Err(e) => Err(e),
    };
    let extra = match outcome {
        Ok(done) => {
            return Ok(Redirect::to(&format!("/caseload?imported={}", done.rows)).into_response())
        }
        Err(Error::Validation(errors)) => Extra {
            errors,
            ..Extra::default()
        },
        Err(Error::BadRequest(m) | Error::Conflict(m) | Error::TooLarge(m)) => Extra {
            alert: Some(m),
            ..Extra::default()
        },
        Err(e) => return Err(e.into()),
    };
    render(&state, lang, &session, extra).await
}
