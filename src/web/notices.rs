//! Pages of notices: the invitee's answer page (no login; the link is the key), the
//! coordinator's view of one meeting (answers live, notices with their state, resend), and the
//! list of sent mail (with the `.eml` files of the local outbox).
//!
//! The answer page: GET shows and never changes anything (mail scanners fetch links; HEAD is
//! answered like GET without a body), POST records the answer. Every response of these routes
//! sends no referrer (the app-wide `Referrer-Policy: no-referrer`) and is never cached
//! (`Cache-Control: no-store`), and requests are rate-limited per link and per client address
//! (`app::no_login_links`, `throttle::LinkLimiter`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use chrono::{NaiveDate, Utc};
use minijinja::context;
use renkei_solver::calendar::jst_date;
use serde::Deserialize;

use super::{
    base, check_csrf, form_map, form_pairs, page, parse_page_id, plural, redirect_with_flash,
    require_write, Flash, LinkLang, PageLang, PageResult,
};
use crate::app::AppState;
use crate::auth::SessionUser;
use crate::error::Error;
use crate::i18n::{Lang, Msg};
use crate::notices::outbox::eml_name;
use crate::notices::{answer_deadline, answer_label, date_in, parse_answer};
use crate::store::local_time;
use crate::store::notices::{
    AnswerBy, AnswerLink, AnswerSeen, NoticeFilter, NoticeKind, NoticeRow,
};
use crate::store::placement::Actor;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/answer/{token}", get(answer_page).post(answer_submit))
        .route("/meetings/occurrences/{id}", get(occurrence_page))
        .route("/meetings/occurrences/{id}/resend", post(resend_submit))
        .route(
            "/meetings/occurrences/{id}/answers/{person}",
            post(record_answer_submit),
        )
        .route("/meetings/occurrences/{id}/cancel", post(cancel_submit))
        .route("/notices", get(notices_page))
        .route("/notices/{id}", get(notice_page))
        .route("/notices/{id}/message", get(notice_message))
}

fn words(lang: Lang) -> minijinja::Value {
    let pairs: &[(&str, &str, &str)] = &[
        ("answer_title", "出欠のご回答", "Your answer"),
        ("record_answer", "電話等の回答を記録", "Record an answer"),
        ("record_answer_hint", "電話や対面で受けた回答を、事務局の記録として残します（回答期限後も記録できます）。", "An answer given by phone or in person, kept as recorded by a coordinator (also after the deadline)."),
        ("record_answer_save", "記録する", "Record"),
        ("answer_attend", "出席", "Attends"),
        ("answer_decline", "欠席", "Declines"),
        ("answer_deputy", "代理出席", "A deputy attends"),
        ("deputy_name_label", "代理出席者の氏名", "Deputy's name"),
        ("deputy_organisation_label", "代理出席者の所属", "Deputy's organisation"),
        ("comment_label", "連絡事項", "Message"),
        ("placement_title", "緊急受入れのご依頼", "Placement request"),
        ("meeting", "会議", "Meeting"),
        ("date", "日時", "Date and time"),
        ("place", "場所", "Place"),
        ("attendee", "ご回答者", "Answering for"),
        ("current", "現在の回答", "Current answer"),
        ("deadline", "回答期限", "Answer by"),
        ("attend", "出席します", "I will attend"),
        ("decline", "欠席します", "I cannot attend"),
        ("deputy", "代理の者が出席します", "A deputy will attend"),
        ("deputy_name", "代理出席者のお名前", "Deputy's name"),
        ("deputy_organisation", "代理出席者の所属", "Deputy's organisation"),
        ("comment", "連絡事項（任意）", "Message (optional)"),
        ("send", "回答を送る", "Send answer"),
        ("saved", "回答を受け付けました。期限までは何度でも変更できます。", "Your answer is recorded. You can change it until the deadline."),
        ("closed", "回答期限を過ぎたため、このページでは変更できません。変更は下記の連絡先にご連絡ください。", "The answer deadline has passed; to change your answer, contact the organiser below."),
        ("contact", "お問い合わせ先", "Contact"),
        ("contact_office", "担当", "Office"),
        ("contact_phone", "電話", "Telephone"),
        ("contact_email", "メール", "Mail"),
        ("other_lang", "English", "日本語"),
        ("cancelled", "この会議は中止になりました。", "This meeting is cancelled."),
        ("expired", "このリンクは有効期限切れか、新しいリンクに置き換えられています。", "This link has expired or was replaced by a newer one."),
        ("accept", "受け入れます", "We can take them"),
        ("refuse", "受け入れできません", "We cannot take them"),
        ("reason", "できない理由", "Reason"),
        ("case", "ケース番号", "Case"),
        ("bed", "居室・ベッド", "Room / bed"),
        ("nights", "期間", "Nights"),
        ("hold_until", "仮押さえの期限", "Held until"),
        ("no_holds", "回答待ちの依頼はありません（回答済み・取り下げ・期限切れ）。", "Nothing is waiting for your answer (answered, withdrawn or expired)."),
        ("answers", "出欠の回答", "Answers"),
        ("name", "氏名", "Name"),
        ("organisation", "所属", "Organisation"),
        ("required", "必須", "Required"),
        ("answer", "回答", "Answer"),
        ("answered_at", "回答日時", "Answered"),
        ("mail", "通知", "Notice"),
        ("resend", "再送", "Resend"),
        ("not_answered", "未回答", "Not answered"),
        ("orgs", "参加する機関", "Organisations taking part"),
        ("notices", "通知の記録", "Notices"),
        ("kind", "種類", "Kind"),
        ("to", "宛先", "To"),
        ("status", "状態", "Status"),
        ("attempts", "試行", "Attempts"),
        ("error", "理由", "Reason"),
        ("replan", "必須の出席者が欠席です。この会議を含む期間を再計画できます", "A required attendee declined; you can re-plan the period of this meeting"),
        ("replan_link", "再計画する", "Re-plan"),
        ("sent_mail", "送信メール", "Sent mail"),
        ("outbox_folder", "SMTPサーバーが設定されていないため、メールは送信されずにフォルダに保存されています", "No SMTP server is configured: messages are kept in the outbox folder instead of being sent"),
        ("view", "表示", "View"),
        ("subject", "件名", "Subject"),
        ("created", "作成", "Created"),
        ("sent_at", "送信", "Sent"),
        ("no_email", "メールアドレス未登録", "no address"),
        ("all", "すべて", "all"),
        ("cancel_meeting", "この会議を中止する（招待者全員に中止の通知が送られます）", "Cancel this meeting (every invitee is told)"),
        ("cancel_reason", "中止の理由", "Reason"),
        ("cancel", "中止する", "Cancel meeting"),
        ("source", "回答の経路", "Answered via"),
        ("replies", "カレンダーからの返信", "Replies from calendars"),
        ("replies_hint", "Outlook・Gmail・Apple メールなどの「承諾」「辞退」「仮承諾」ボタンで返信されたものです。無視した返信は理由とともに表示します。", "Sent with the Accept / Decline / Tentative buttons of Outlook, Gmail, Apple Mail and the like; ignored replies are shown with the reason."),
        ("no_replies", "まだありません。", "None yet."),
        ("reply_from", "送信者", "From"),
        ("reply_status", "返信内容", "Reply"),
        ("outcome", "扱い", "Outcome"),
        ("client", "ソフト", "Client"),
        ("received", "受信", "Read"),
        ("filter", "絞り込む", "Filter"),
        ("search", "宛先・件名", "Recipient or subject"),
        ("from", "作成日（から）", "Queued from"),
        ("until", "作成日（まで）", "Queued until"),
        ("prev", "前へ", "Previous"),
        ("next", "次へ", "Next"),
        ("pages", "ページ", "Pages"),
        ("notice", "通知", "Notice"),
        ("about", "対象", "About"),
        ("open_meeting", "会議を開く", "Open the meeting"),
        ("open_request", "依頼を開く", "Open the request"),
        ("message", "メール本文", "Message"),
        ("not_kept", "SMTPで送信したメールの本文は保存していません（個人用の回答リンクを含むため）", "Messages sent over SMTP are not kept (they carry a personal answer link)"),
        ("back_to_list", "送信メールの一覧に戻る", "Back to the sent mail"),
    ];
    super::word_table(lang, pairs)
}

fn status_label(lang: Lang, status: &str) -> String {
    let (ja, en) = match status {
        "pending" => ("送信待ち", "waiting"),
        "sent" => ("送信済み", "sent"),
        "failed" => ("送信失敗", "failed"),
        "superseded" => ("差し替え", "replaced"),
        _ => ("—", "—"),
    };
    if lang == Lang::Ja { ja } else { en }.to_string()
}

/// Whom to contact, in both languages ("みらい市 基幹相談支援センター（電話 042-123-4567、
/// soudan@mirai.example.jp）"), for the errors of the no-login pages.
fn contact_text(c: &crate::config::Contact) -> (String, String) {
    let means: Vec<&str> = [c.phone.as_str(), c.email.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let office = if c.office.is_empty() {
        "事務局"
    } else {
        c.office.as_str()
    };
    let office_en = if c.office.is_empty() {
        "the organiser"
    } else {
        c.office.as_str()
    };
    if means.is_empty() {
        (office.to_string(), office_en.to_string())
    } else {
        (
            format!("{office}（{}）", means.join("、")),
            format!("{office_en} ({})", means.join(", ")),
        )
    }
}

fn link_gone_for(c: &crate::config::Contact) -> Error {
    let (ja, en) = contact_text(c);
    Error::NotFound(Msg::new(
        format!("このリンクは無効です（期限切れか、新しいリンクに置き換えられています）。{ja}にご連絡ください"),
        format!("this link is not valid (expired or replaced by a newer one); contact {en}"),
    ))
}

async fn link_of(state: &AppState, token: &str) -> Result<AnswerLink, Error> {
    // Tokens are URL-safe base64 of 16 bytes; anything else is not one of ours.
    if token.len() > 64
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(link_gone_for(&state.config.contact()));
    }
    match state.db.answer_link(token).await? {
        Some(l) if !l.expired => Ok(l),
        _ => Err(link_gone_for(&state.config.contact())),
    }
}

fn meeting_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

async fn answer_page(
    State(state): State<AppState>,
    LinkLang(lang): LinkLang,
    Path(token): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let link = link_of(&state, &token).await?;
    render_answer(&state, lang, &token, &link, q.contains_key("saved"), None).await
}

/// What an answer form showed (hidden fields `seen_sequence`, `seen_answered_at`): a form
/// without them is from before the meeting could change under it, so it is treated as stale.
pub(crate) fn seen_answer(sequence: &str, answered_at: &str) -> Result<AnswerSeen, Error> {
    let sequence = sequence.trim().parse::<i64>().map_err(|_| {
        Error::Conflict(Msg::new(
            "画面が古いため回答を保存できませんでした。画面を読み込み直してください",
            "the page is out of date and the answer was not saved; reload the page",
        ))
    })?;
    let answered_at = Some(answered_at.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Ok(AnswerSeen {
        sequence,
        answered_at,
    })
}

async fn render_answer(
    state: &AppState,
    lang: Lang,
    token: &str,
    link: &AnswerLink,
    saved: bool,
    errors: Option<Vec<crate::master::FieldError>>,
) -> PageResult {
    let w = words(lang);
    let m = link.municipality_id;
    let muni = state.db.municipality(m).await?;
    let municipality = match lang {
        Lang::En if !muni.name_en.is_empty() => muni.name_en,
        _ => muni.name,
    };
    let contact = state.config.contact();
    let other_lang = match lang {
        Lang::Ja => "en",
        Lang::En => "ja",
    };
    let errors: Vec<String> = errors
        .unwrap_or_default()
        .iter()
        .map(|e| e.message.get(lang).to_string())
        .collect();
    if link.kind == "placement" {
        let (Some(request), Some(facility)) = (link.request_id, link.facility_id) else {
            return Err(link_gone_for(&state.config.contact()).into());
        };
        let f = state.db.facility(m, facility).await?;
        let holds: Vec<minijinja::Value> = state
            .db
            .request_holds_at(m, request, facility)
            .await?
            .into_iter()
            .filter(|h| h.status == "held")
            .map(|h| {
                context! { case => h.case_number, bed => format!("{} {}", h.room_name, h.bed_name),
                from => h.from, to => h.to,
                expires => local_time(&h.expires_at) }
            })
            .collect();
        let html = super::templates::render(
            "answer.html",
            context! { lang => lang.code(), other_lang, contact, w, token, municipality, placement => true, facility => f.name, holds, saved, errors },
        )?;
        return Ok(axum::response::Html(html).into_response());
    }
    let (Some(occurrence), Some(person)) = (link.occurrence_id, link.person_id) else {
        return Err(link_gone_for(&state.config.contact()).into());
    };
    let o = state.db.occurrence(m, occurrence).await?;
    let (answer, answered_at) = match state.db.answer_of(occurrence, person).await? {
        Some((a, at)) => (Some(a), at),
        None => (None, String::new()),
    };
    let who = o
        .attendees
        .iter()
        .find(|a| a.person_id == person)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let date = meeting_date(&o.date).ok_or_else(|| Error::not_found("会議", "meeting"))?;
    let calendar = state.db.business_calendar(m).await?;
    let deadline = answer_deadline(&calendar, date, state.config.answer_deadline_days);
    let open = jst_date(Utc::now()) <= deadline && o.status != "cancelled";
    let current = answer.as_ref().map(|a| a.answer.as_str()).unwrap_or("none");
    let (ja, en) = answer_label(current);
    let html = super::templates::render(
        "answer.html",
        context! {
            lang => lang.code(), other_lang, contact, w, token, municipality, placement => false,
            title => if lang == Lang::En && !o.title_en.is_empty() { o.title_en.clone() } else { o.title.clone() },
            date => date_in(lang, date), start => o.start, end => o.end,
            place => crate::notices::place(&o),
            address => o.venue_address, who,
            cancelled => o.status == "cancelled",
            current => current, current_label => if lang == Lang::Ja { ja } else { en },
            deputy_name => answer.as_ref().map(|a| a.deputy_name.clone()).unwrap_or_default(),
            deputy_organisation => answer.as_ref().map(|a| a.deputy_organisation.clone()).unwrap_or_default(),
            comment => answer.as_ref().map(|a| a.comment.clone()).unwrap_or_default(),
            deadline => date_in(lang, deadline), open, saved, errors,
            sequence => o.sequence, answered_at,
        },
    )?;
    Ok(axum::response::Html(html).into_response())
}

async fn answer_submit(
    State(state): State<AppState>,
    LinkLang(lang): LinkLang,
    Path(token): Path<String>,
    body: Bytes,
) -> PageResult {
    let link = link_of(&state, &token).await?;
    let form = form_map(&form_pairs(&body));
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let m = link.municipality_id;
    if link.kind == "placement" {
        let (Some(request), Some(facility)) = (link.request_id, link.facility_id) else {
            return Err(link_gone_for(&state.config.contact()).into());
        };
        let accept = field("accept") == "1";
        let reason = field("reason").trim().to_string();
        if !accept && reason.is_empty() {
            let errors = vec![crate::master::FieldError::new(
                "reason",
                "受け入れできない理由を書いてください",
                "write why you cannot take them",
            )];
            return render_answer(&state, lang, &token, &link, false, Some(errors)).await;
        }
        let f = state.db.facility(m, facility).await?;
        let held: Vec<i64> = state
            .db
            .request_holds_at(m, request, facility)
            .await?
            .into_iter()
            .filter(|h| h.status == "held")
            .map(|h| h.id)
            .collect();
        // A decline of one hold releases the whole proposal; an acceptance is per hold.
        let held = if accept {
            held
        } else {
            held.into_iter().take(1).collect()
        };
        for hold in held {
            state
                .db
                .answer_hold(
                    m,
                    Actor::FacilityLink {
                        facility_name: f.name.clone(),
                    },
                    hold,
                    accept,
                    &reason,
                )
                .await?;
        }
        return Ok(
            Redirect::to(&format!("/answer/{token}?saved=1&lang={}", lang.code())).into_response(),
        );
    }
    let (Some(occurrence), Some(person)) = (link.occurrence_id, link.person_id) else {
        return Err(link_gone_for(&state.config.contact()).into());
    };
    let o = state.db.occurrence(m, occurrence).await?;
    let date = meeting_date(&o.date).ok_or_else(|| Error::not_found("会議", "meeting"))?;
    let calendar = state.db.business_calendar(m).await?;
    if o.status == "cancelled"
        || jst_date(Utc::now())
            > answer_deadline(&calendar, date, state.config.answer_deadline_days)
    {
        let (ja, en) = contact_text(&state.config.contact());
        return Err(Error::Conflict(Msg::new(
            format!("回答期限を過ぎたか、会議が中止されたため変更できません。{ja}にご連絡ください"),
            format!("the answer deadline has passed or the meeting is cancelled; contact {en}"),
        ))
        .into());
    }
    match parse_answer(
        field("answer"),
        field("deputy_name"),
        field("deputy_organisation"),
        field("comment"),
    ) {
        Ok(a) => {
            let seen = seen_answer(field("seen_sequence"), field("seen_answered_at"))?;
            state
                .db
                .record_answer(m, occurrence, person, &a, AnswerBy::Link, &seen)
                .await?;
            Ok(
                Redirect::to(&format!("/answer/{token}?saved=1&lang={}", lang.code()))
                    .into_response(),
            )
        }
        Err(errors) => render_answer(&state, lang, &token, &link, false, Some(errors)).await,
    }
}

async fn occurrence_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(id): Path<String>,
) -> PageResult {
    let m = session.user.municipality_id;
    let id = parse_page_id(&id)?;
    let o = state.db.occurrence(m, id).await?;
    let answers = state.db.occurrence_answers(m, id).await?;
    let notices = state.db.occurrence_notices(m, id).await?;
    let replies = state.db.occurrence_calendar_replies(m, id).await?;
    let mut orgs: Vec<String> = answers
        .iter()
        .filter(|a| matches!(a.answer.as_str(), "attend" | "deputy"))
        .map(|a| a.organisation_name.clone())
        .filter(|o| !o.is_empty())
        .collect();
    orgs.sort();
    orgs.dedup();
    let record = state.db.occurrence_record(m, id).await?;
    let required_declined = answers.iter().any(|a| a.required && a.answer == "decline");
    let count = |k: &str| answers.iter().filter(|a| a.answer == k).count();
    let date = meeting_date(&o.date);
    let fy = date.map(renkei_solver::calendar::FiscalYear::of);
    let rows: Vec<minijinja::Value> = answers
        .iter()
        .map(|a| {
            let (ja, en) = answer_label(&a.answer);
            // The record's participants, or before any record the confirmed answers.
            let came = match &record {
                Some(r) => r.participants.contains(&a.person_id),
                None => matches!(a.answer.as_str(), "attend" | "deputy"),
            };
            context! {
                person_id => a.person_id, came, name => a.name, organisation => a.organisation_name, required => a.required,
                has_email => !a.email.is_empty(),
                answer => a.answer, answer_label => if lang == Lang::Ja { ja } else { en },
                source => a.source, source_label => a.source_label.get(lang),
                deputy => if a.answer == "deputy" { format!("{}（{}）", a.deputy_name, a.deputy_organisation) } else { String::new() },
                comment => a.comment, answered_at => a.answered_at.as_deref().map(local_time).unwrap_or_default(),
                answered_raw => a.answered_at.clone().unwrap_or_default(),
                deputy_name => a.deputy_name, deputy_organisation => a.deputy_organisation,
                notice => a.notice_status.as_deref().map(|s| status_label(lang, s)).unwrap_or_default(),
                notice_error => a.notice_error,
            }
        })
        .collect();
    let notice_rows: Vec<minijinja::Value> = notices
        .iter()
        .rev()
        .map(|n| context! {
            id => n.id, kind => n.kind_label.get(lang), to => format!("{} <{}>", n.recipient_name, n.recipient_email),
            status => n.status, status_label => status_label(lang, &n.status), attempts => n.attempts, error => n.last_error,
            at => n.sent_at.as_deref().map(local_time).unwrap_or_else(|| local_time(&n.created_at)),
        })
        .collect();
    let reply_rows: Vec<minijinja::Value> = replies
        .iter()
        .map(|r| context! {
            name => r.person_name, attendee => r.attendee, sender => r.sender, partstat => r.partstat,
            sequence => r.sequence, client => r.client, outcome => r.outcome.slug(),
            outcome_label => r.outcome_label.get(lang), ignored => r.ignored, detail => r.detail,
            at => local_time(&r.received_at),
        })
        .collect();
    let can_record = date.is_some_and(|d| d <= jst_date(Utc::now())) && o.status != "cancelled";
    // What cancelling does, said before it is done: who gets the cancellation mail.
    let reachable = answers.iter().filter(|a| !a.email.is_empty()).count() as i64;
    let unreachable = answers.len() as i64 - reachable;
    let cancel_consequence = match lang {
        Lang::Ja => format!(
            "中止すると、招待者{reachable}人に中止のお知らせ（理由つき）がメールで送られ、予定表から削除されます。{}この会議は開催されなかったものとして記録されます。",
            if unreachable > 0 { format!("メールアドレスのない{unreachable}人には届きません。") } else { String::new() }
        ),
        Lang::En => format!(
            "Cancelling sends a cancellation (with the reason) by mail to {reachable} {}, and removes it from their calendars.{} The meeting is recorded as not held.",
            plural(reachable, "invitee", "invitees"),
            if unreachable > 0 { format!(" {unreachable} {} without a mail address {} not told.", plural(unreachable, "invitee", "invitees"), if unreachable == 1 { "is" } else { "are" }) } else { String::new() }
        ),
    };
    let cancel_understood = match lang {
        Lang::Ja => format!("{reachable}人に中止のお知らせが送られることを理解しました"),
        Lang::En => format!(
            "I understand that {reachable} {} will be told the meeting is cancelled",
            plural(reachable, "invitee", "invitees")
        ),
    };
    let base = base(&state, lang, &session, "published_calendar").await?;
    let response = page(
        "occurrence.html",
        base,
        context! {
            w => words(lang), o => context! {
                id => o.id, title => if lang == Lang::En && !o.title_en.is_empty() { o.title_en.clone() } else { o.title.clone() }, date => date.map(|d| date_in(lang, d)).unwrap_or_else(|| o.date.clone()), start => o.start, end => o.end,
                place => crate::notices::place(&o),
                cancelled => o.status == "cancelled", sequence => o.sequence,
                held_by => o.held_by.clone(), iso_date => o.date.clone(),
            },
            hw => super::held::words(lang),
            rows, notices => notice_rows, orgs, replies => reply_rows,
            counts => context! { attend => count("attend"), deputy => count("deputy"), decline => count("decline"), none => count("none") },
            required_declined,
            replan => match (date, fy) { (Some(d), Some(fy)) => format!("/meetings/plan?from={}&to={}", d, fy.end()), _ => "/meetings/plan".into() },
            can_write => session.user.role.can_write_master(),
            rw => super::indicators::record_words(lang),
            record => super::indicators::record_value(record.as_ref(), lang),
            can_record, cancel_consequence, cancel_understood,
        },
    )?;
    // Answers arrive while the coordinator watches: the page reloads itself every 30 seconds
    // (static/live-refresh.js), never while a form has input.
    Ok(response)
}

async fn resend_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let id = parse_page_id(&id)?;
    let person: i64 = form
        .get("person")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| {
            Error::BadRequest(Msg::new(
                "再送先を選んでください",
                "choose whom to resend to",
            ))
        })?;
    let queued = state.db.resend_notice(&session.user, id, person).await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/meetings/occurrences/{id}"),
        Flash::Resent {
            notices: queued as i64,
        },
    ))
}

/// A coordinator records an invitee's answer given by phone or in person (source
/// `coordinator`), also after the answer deadline; a conditional write on the meeting's
/// version and the answer the page showed (`Db::record_answer`).
async fn record_answer_submit(
    State(state): State<AppState>,
    session: SessionUser,
    Path((id, person)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let form = form_map(&form_pairs(&body));
    check_csrf(&session, &form)?;
    require_write(&session.user)?;
    let id = parse_page_id(&id)?;
    let person = parse_page_id(&person)?;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let a = parse_answer(
        field("answer"),
        field("deputy_name"),
        field("deputy_organisation"),
        field("comment"),
    )
    .map_err(Error::Validation)?;
    let seen = seen_answer(field("seen_sequence"), field("seen_answered_at"))?;
    state
        .db
        .record_answer(
            session.user.municipality_id,
            id,
            person,
            &a,
            AnswerBy::Coordinator {
                user_id: session.user.id,
            },
            &seen,
        )
        .await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/meetings/occurrences/{id}"),
        Flash::AnswerRecorded,
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
    super::meetings::understood(&form)?;
    let queued = state
        .db
        .cancel_occurrence(&session.user, id, reason)
        .await?;
    Ok(redirect_with_flash(
        &state,
        &format!("/meetings/occurrences/{id}"),
        Flash::MeetingCancelled {
            notices: queued as i64,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NoticeQuery {
    status: String,
    kind: String,
    q: String,
    from: String,
    to: String,
    limit: Option<i64>,
    offset: Option<i64>,
}

/// Rows per page of the sent-mail page (the API's paging, `limit` up to 1,000).
const NOTICES_PER_PAGE: i64 = 100;

fn notice_view(lang: Lang, n: &NoticeRow, folder: bool) -> minijinja::Value {
    context! {
        id => n.id, kind => n.kind_label.get(lang), to => format!("{} <{}>", n.recipient_name, n.recipient_email),
        subject => n.subject, status => n.status, status_label => status_label(lang, &n.status), attempts => n.attempts,
        error => n.last_error, created => local_time(&n.created_at),
        sent => n.sent_at.as_deref().map(local_time).unwrap_or_default(),
        occurrence => n.occurrence_id, request => n.request_id,
        viewable => folder && n.status == "sent",
    }
}

async fn notices_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Query(q): Query<NoticeQuery>,
) -> PageResult {
    let m = session.user.municipality_id;
    let page_of = crate::api::Page::parse(Some(q.limit.unwrap_or(NOTICES_PER_PAGE)), q.offset);
    let filter = NoticeFilter::parse(&q.status, &q.kind, &q.q, &q.from, &q.to);
    let (list, total, errors, paging) = match (filter, page_of) {
        (Ok(f), Ok(p)) => {
            let list = state.db.filtered_notices(m, &f, p.limit, p.offset).await?;
            let total = state.db.count_filtered_notices(m, &f).await?;
            (list, total, Vec::new(), p)
        }
        (f, p) => {
            let mut errors: Vec<String> = f
                .err()
                .unwrap_or_default()
                .iter()
                .map(|e| e.message.get(lang).to_string())
                .collect();
            if let Err(e) = p {
                errors.push(e.body().message.get(lang).to_string());
            }
            let p = crate::api::Page {
                limit: NOTICES_PER_PAGE,
                offset: 0,
            };
            (Vec::new(), 0, errors, p)
        }
    };
    let counts = state.db.notice_counts(Some(m)).await?;
    let folder = state.config.smtp_url.trim().is_empty();
    let rows: Vec<minijinja::Value> = list.iter().map(|n| notice_view(lang, n, folder)).collect();
    // Links to other pages keep the filters.
    let link = |offset: i64| {
        let mut u = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("status", &q.status),
            ("kind", &q.kind),
            ("q", &q.q),
            ("from", &q.from),
            ("to", &q.to),
        ] {
            if !v.trim().is_empty() {
                u.append_pair(k, v.trim());
            }
        }
        if paging.limit != NOTICES_PER_PAGE {
            u.append_pair("limit", &paging.limit.to_string());
        }
        if offset > 0 {
            u.append_pair("offset", &offset.to_string());
        }
        let query = u.finish();
        if query.is_empty() {
            "/notices".to_string()
        } else {
            format!("/notices?{query}")
        }
    };
    let first = if total == 0 { 0 } else { paging.offset + 1 };
    let last = (paging.offset + rows.len() as i64).min(total);
    let shown = match lang {
        Lang::Ja => format!("{total}通中 {first}〜{last}通目"),
        Lang::En => format!(
            "{first}–{last} of {total} {}",
            plural(total, "message", "messages")
        ),
    };
    let prev = (paging.offset > 0).then(|| link((paging.offset - paging.limit).max(0)));
    let next = (paging.offset.saturating_add(paging.limit) < total)
        .then(|| link(paging.offset + paging.limit));
    let kinds: Vec<minijinja::Value> = NoticeKind::ALL
        .iter()
        .map(|k| context! { slug => k.slug(), label => k.label().get(lang).to_string() })
        .collect();
    let base = base(&state, lang, &session, "notices").await?;
    page(
        "notices.html",
        base,
        context! {
            w => words(lang), rows, folder, outbox_dir => state.config.outbox_dir.clone(),
            status => q.status.trim(), kind => q.kind.trim(), q => q.q.trim(), from => q.from.trim(), to => q.to.trim(),
            kinds, errors, total, shown, prev, next,
            statuses => ["pending", "sent", "failed", "superseded"].iter().map(|s| context! { status => s, label => status_label(lang, s) }).collect::<Vec<_>>(),
            counts => counts.iter().map(|(s, n)| context! { status => s, label => status_label(lang, s), n => n }).collect::<Vec<_>>(),
        },
    )
}

/// One notice: to whom, what, its state and what it is about; with the local outbox, a link
/// to the message itself (with a mail server the message is not kept: it carried a personal
/// answer link).
async fn notice_page(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    session: SessionUser,
    Path(id): Path<String>,
) -> PageResult {
    let m = session.user.municipality_id;
    let id = parse_page_id(&id)?;
    let n = state.db.notice(m, id).await?;
    let folder = state.config.smtp_url.trim().is_empty();
    let base = base(&state, lang, &session, "notices").await?;
    page(
        "notice.html",
        base,
        context! { w => words(lang), n => notice_view(lang, &n, folder), folder },
    )
}

/// The `.eml` file of a notice in the local outbox, as text (what would have been sent).
async fn notice_message(
    State(state): State<AppState>,
    session: SessionUser,
    Path(id): Path<String>,
) -> PageResult {
    let m = session.user.municipality_id;
    let id = parse_page_id(&id)?;
    let n = state.db.notice(m, id).await?;
    let path = std::path::Path::new(&state.config.outbox_dir).join(eml_name(n.id, n.kind));
    let text = tokio::fs::read_to_string(&path).await.map_err(|_| {
        Error::NotFound(Msg::new(
            "このメールのファイルは送信フォルダにありません（SMTPで送信されたか、削除されました）",
            "this message is not in the outbox folder (sent over SMTP, or removed)",
        ))
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}
