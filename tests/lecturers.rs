//! External lecturers and supervisors booked three months ahead (issue 18, Meguro 002:
//! 事例検討会の開催), on both engines: people with the availability they gave, a series led by
//! one of them, the planner keeping to their days, the booking task (日程調整・依頼) due three
//! months before on a business day, its reminder mail queued once and delivered through the
//! real SMTP server, the lecturer's decline through the answer link, a stale change refused,
//! and bad availability refused with the column and an example.

use std::time::Duration;

use chrono::NaiveDate;
use renkei::config::Config;
use serde_json::{json, Value};

use crate::both_engines;
use crate::meetings::{plan, publish, status_json};
use crate::support::smtp::{parse, SmtpServer};
use crate::support::{
    hidden_field, logged_in_client, tenant, Api, Engine, Tenant, TestApp, TestDb,
};

const FROM: &str = "目黒区 基幹相談支援センター <kikan@meguro.example.jp>";
const CONTACT: &str = "desk@meguro.example.jp";

fn today() -> NaiveDate {
    renkei_solver::calendar::jst_date(chrono::Utc::now())
}

/// A municipality with its core center (the host), one staff member, two external
/// supervisors (大森 with the availability given, 西條 with none), a venue and a room; the
/// service runs with the SMTP server and the contact address.
async fn meguro(engine: Engine, smtp: &SmtpServer, omori: &str) -> (TestApp, Tenant) {
    let test_db = TestDb::new(engine).await;
    let t = tenant(&test_db.db, "meguro").await;
    let url = smtp.url();
    let app = TestApp::configured(test_db, |c: &mut Config| {
        c.smtp_url = url;
        c.mail_from = FROM.into();
        c.contact_email = CONTACT.into();
    })
    .await;
    let api = app.api(&t.admin_token);
    for (path, body) in [
        (
            "organisations",
            json!({"code": "KIKAN", "name": "目黒区基幹相談支援センター", "kind": "core_center",
                   "email": "kikan@meguro.example.jp"}),
        ),
        (
            "people",
            json!({"code": "P1", "name": "山田 太郎", "email": "taro@meguro.example.jp",
                   "organisation_code": "KIKAN"}),
        ),
        (
            "people",
            json!({"code": "SV1", "name": "大森 玲子", "email": "omori@univ.example.jp",
                   "roles": ["スーパーバイザー"], "qualifications": ["精神保健福祉士"],
                   "external": true, "availability": omori}),
        ),
        (
            "people",
            json!({"code": "SV2", "name": "西條 拓也", "email": "saijo@univ.example.jp",
                   "roles": ["スーパーバイザー"], "external": true}),
        ),
        ("venues", json!({"code": "V1", "name": "総合庁舎"})),
        (
            "rooms",
            json!({"code": "R1", "venue_code": "V1", "name": "会議室", "capacity": 20}),
        ),
    ] {
        let (status, body) = status_json(
            api.post_json(&format!("/api/v1/master/{path}"), &body)
                .await,
        )
        .await;
        assert_eq!(status, 201, "{path}: {body}");
    }
    (app, t)
}

/// The case review as Meguro describes it: led by one of the municipality's supervisors.
async fn case_review(api: &Api, lecturers: Value) {
    let (status, body) = status_json(
        api.post_json(
            "/api/v1/series",
            &json!({"code": "CASE-REVIEW", "title": "事例検討会", "title_en": "Case review",
                    "kind": "case_review", "duration_minutes": 120, "hosts": ["KIKAN"],
                    "cadence": {"per": "period", "min": 1, "max": 1},
                    "required_people": ["P1"], "lecturers": lecturers}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// The planning period: four weeks from three weeks ahead (after the minimum notice), and
/// the one open day in it on which 大森 can come.
async fn period_and_day(app: &TestApp, t: &Tenant) -> (NaiveDate, NaiveDate, NaiveDate) {
    let calendar = app.db().business_calendar(t.id).await.unwrap();
    let from = today() + chrono::Duration::days(21);
    let to = from + chrono::Duration::days(28);
    let mut day = from + chrono::Duration::days(10);
    while !calendar.is_open(day) {
        day += chrono::Duration::days(1);
    }
    (from, to, day)
}

fn person_id(people: &Value, code: &str) -> i64 {
    people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == code)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// Meguro 002: 「スーパーバイザーは、常勤配置ではなく、そのときに必要となる専門性を持つ方に、
/// 行政、関係機関、外部を含め、参加(報酬)を依頼する。(計画的に企画・実施、外部講師について
/// は3か月前を目途に日程調整をおこなう。)」 — the supervisor can come on one day of the
/// period only: the case review goes there, with them. Publishing makes the booking task, due
/// three months before on a business day; the hourly job queues its reminder to the host and
/// the contact once (run twice), delivered through the SMTP server; the supervisor's decline
/// through their answer link moves the task; a change against the version read before is 409.
async fn a_supervisor_is_planned_on_their_day_and_booked_three_months_ahead(engine: Engine) {
    let smtp = SmtpServer::start();
    // 大森's day is chosen below; first the app, then her availability on that day.
    let (app, t) = meguro(engine, &smtp, "").await;
    let (from, to, day) = period_and_day(&app, &t).await;
    let api = app.api(&t.admin_token);
    let people: Value = api.get_json("/api/v1/master/people?limit=1000").await;
    let omori = person_id(&people, "SV1");
    let saijo = person_id(&people, "SV2");
    let mut record: Value = api
        .get_json(&format!("/api/v1/master/people/{omori}"))
        .await;
    assert_eq!(record["external"], true, "{record}");
    // Typed as a spreadsheet gives it: full-width digits and a Japanese range mark.
    let typed = format!(
        "{} １３：００〜１７：００; {}..{} sat 09:00-12:00",
        day.format("%Y/%m/%d"),
        from,
        to
    );
    let mut input = json!({"code": "SV1", "name": "大森 玲子", "email": "omori@univ.example.jp",
        "roles": ["スーパーバイザー"], "external": true, "availability": typed});
    let (status, body) = status_json(
        api.put_json(&format!("/api/v1/master/people/{omori}"), &input)
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    record = api
        .get_json(&format!("/api/v1/master/people/{omori}"))
        .await;
    assert_eq!(
        record["availability"],
        format!("{day} 13:00-17:00; {from}..{to} sat 09:00-12:00"),
        "stored as it is read back: {record}"
    );
    input["availability"] = record["availability"].clone();

    // One of the supervisors (a pool by role): 大森 can come, 西條 gave no day.
    case_review(&api, json!([{"role": "スーパーバイザー"}])).await;
    let (id, run) = plan(
        &api,
        &json!({"from": from.to_string(), "to": to.to_string(), "time_limit_seconds": 20}),
    )
    .await;
    let result = &run["result"];
    assert_eq!(result["valid"], true, "{run}");
    let notes = run["notes"].to_string();
    assert!(
        notes.contains("大森 玲子") && notes.contains("候補2人"),
        "the plan says whom it chose and why: {notes}"
    );
    let occ = result["occurrences"].as_array().unwrap();
    assert_eq!(occ.len(), 1, "{result}");
    assert_eq!(
        occ[0]["date"],
        day.to_string(),
        "only on 大森's day: {}",
        occ[0]
    );
    let start = occ[0]["start"].as_str().unwrap();
    let end = occ[0]["end"].as_str().unwrap();
    assert!(
        ("13:00"..="15:00").contains(&start) && end <= "17:00",
        "within her hours: {start}-{end}"
    );
    let attendees: Vec<i64> = occ[0]["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_i64().unwrap())
        .collect();
    assert!(
        attendees.contains(&omori) && !attendees.contains(&saijo),
        "{attendees:?}"
    );
    let (status, body) = publish(&api, id).await;
    assert_eq!(status, 200, "{body}");

    // The booking task: due three months before, moved back to an open day.
    let res = api.get("/api/v1/bookings?limit=10").await;
    assert_eq!(res.headers()["x-total-count"], "1");
    let tasks: Value = res.json().await.unwrap();
    let task = tasks[0].clone();
    assert_eq!(task["person_id"], omori, "{task}");
    assert_eq!(task["status"], "open", "{task}");
    let calendar = app.db().business_calendar(t.id).await.unwrap();
    let due: NaiveDate = task["due_date"].as_str().unwrap().parse().unwrap();
    assert_eq!(due, renkei::notices::answer_deadline(&calendar, day, 90));
    assert!(calendar.is_open(due), "due on a business day: {due}");
    let lead = (day - due).num_days();
    assert!(
        (90..=100).contains(&lead),
        "about three months ahead: {lead} days"
    );
    assert_eq!(task["overdue"], true, "the meeting is within three months");

    // The hourly job: one reminder to the host organisation and one to the contact, once.
    let queued = app.db().queue_booking_reminders(CONTACT).await.unwrap();
    assert_eq!(queued, 2);
    assert_eq!(
        app.db().queue_booking_reminders(CONTACT).await.unwrap(),
        0,
        "queued once"
    );
    // Invitations to 山田 and 大森, and the two reminders.
    let received = smtp.wait_for(4, Duration::from_secs(60)).await;
    let mut reminded: Vec<String> = Vec::new();
    let mut answer_link = None;
    for r in &received {
        let p = parse(&r.raw);
        let subject = p.subject.clone();
        if subject.contains("講師・SVの手配") {
            let text = p.text.as_deref().unwrap();
            assert!(
                text.contains("大森 玲子") && text.contains("3か月前"),
                "{text}"
            );
            assert!(text.contains("/meetings/bookings"), "{text}");
            reminded.extend(r.rcpt_tos.iter().cloned());
        } else if r.rcpt_tos == ["omori@univ.example.jp"] {
            let text = p.text.as_deref().unwrap();
            let at = text.find("/answer/").expect("an answer link");
            answer_link = Some(
                text[at..]
                    .split(char::is_whitespace)
                    .next()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    reminded.sort();
    assert_eq!(reminded, [CONTACT, "kikan@meguro.example.jp"]);
    smtp.assert_stays_at(4, Duration::from_secs(2)).await;

    // 大森 declines through the link in her invitation: the task is declined.
    let link = app.url(&answer_link.expect("大森 was invited"));
    let res = crate::support::post_answer(
        &crate::support::client(),
        &link,
        &[("answer", "decline"), ("comment", "学会のため")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let declined: Value = api.get_json("/api/v1/bookings?status=declined").await;
    assert_eq!(declined.as_array().unwrap().len(), 1, "{declined}");
    assert_eq!(declined[0]["id"], task["id"]);
    assert!(declined[0]["version"].as_i64() > task["version"].as_i64());

    // A coordinator who still sees the task as open is refused, and nothing changes.
    let path = format!("/api/v1/bookings/{}/status", task["id"]);
    let (status, body) = status_json(
        api.post_json(
            &path,
            &json!({"status": "requested", "version": task["version"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["message"]["ja"]
        .as_str()
        .unwrap()
        .contains("読み込み直して"));
    // From what is there now: back to open (to ask someone else), then asked.
    let (status, body) = status_json(
        api.post_json(
            &path,
            &json!({"status": "open", "version": declined[0]["version"], "note": "西條さんに打診"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "open");
    assert_eq!(body["note"], "西條さんに打診");
    let (status, body) = status_json(
        api.post_json(
            &path,
            &json!({"status": "maybe", "version": body["version"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "status");
    // Viewers read, never change.
    let viewer = app.api(&t.viewer_token);
    let (status, _) = status_json(
        viewer
            .post_json(&path, &json!({"status": "requested", "version": 1}))
            .await,
    )
    .await;
    assert_eq!(status, 403);

    // The page 「講師・SVの手配」 lists it and records that she was asked (form, CSRF, 303).
    let c = logged_in_client(&app, &format!("{}-coordinator", t.code)).await;
    let html = crate::support::get_text(&c, &app.url("/meetings/bookings")).await;
    assert!(
        html.contains("講師・SVの手配") && html.contains("大森 玲子"),
        "{html}"
    );
    let csrf = hidden_field(&html, "csrf").unwrap();
    let version = hidden_field(&html, "version").unwrap();
    let res = crate::support::post_form(
        &c,
        &app.url(&format!("/meetings/bookings/{}", task["id"])),
        &[
            ("csrf", csrf.as_str()),
            ("version", version.as_str()),
            ("status", "requested"),
            ("note", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let requested: Value = api.get_json("/api/v1/bookings?status=requested").await;
    assert_eq!(requested.as_array().unwrap().len(), 1, "{requested}");
    // Asked: no reminder any more.
    assert_eq!(app.db().queue_booking_reminders(CONTACT).await.unwrap(), 0);

    // The meeting moves a week (as a re-plan may move it): 大森 must be asked again, by the
    // new due date, and the coordinators are reminded of that one too.
    let moved = day + chrono::Duration::days(7);
    sqlx::query("UPDATE occurrences SET date = $1 WHERE id = $2")
        .bind(moved.to_string())
        .bind(task["occurrence_id"].as_i64().unwrap())
        .execute(&app.db().pool)
        .await
        .unwrap();
    let new_due = renkei::notices::answer_deadline(&calendar, moved, 90);
    assert_eq!(
        app.db().queue_booking_reminders(CONTACT).await.unwrap(),
        // (Both due dates fall back to one open day only across 年末年始.)
        if new_due != due { 2 } else { 0 },
        "a new due date, a new reminder"
    );
    let open: Value = api.get_json("/api/v1/bookings?status=open").await;
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["meeting_date"], moved.to_string());
    assert_eq!(open[0]["due_date"], new_due.to_string());
    assert_eq!(app.db().queue_booking_reminders(CONTACT).await.unwrap(), 0);
    app.stop().await;
}
both_engines!(a_supervisor_is_planned_on_their_day_and_booked_three_months_ahead);

/// Meguro 002: 「外部講師については3か月前を目途に日程調整をおこなう」 — a supervisor who gave
/// no day in the period: the case review cannot be planned, and the explanation names them,
/// says they gave no date, and suggests asking for more dates or another supervisor.
async fn a_supervisor_who_cannot_come_is_explained(engine: Engine) {
    let smtp = SmtpServer::start();
    let (app, t) = meguro(engine, &smtp, "2020-04-01..2020-04-30 mon 13:00-17:00").await;
    let (from, to, _) = period_and_day(&app, &t).await;
    let api = app.api(&t.admin_token);
    case_review(&api, json!([{"people": ["SV1"]}])).await;
    let (_, run) = plan(
        &api,
        &json!({"from": from.to_string(), "to": to.to_string(), "time_limit_seconds": 20}),
    )
    .await;
    let result = &run["result"];
    assert_eq!(result["valid"], false, "{run}");
    let conflicts = result["infeasibility"]["conflicts"].as_array().unwrap();
    let text = serde_json::to_string(conflicts).unwrap();
    assert!(text.contains("大森 玲子"), "{text}");
    assert!(
        text.contains("都合のつく日がこの期間にありません"),
        "{text}"
    );
    assert!(text.contains("gave no date they can come"), "{text}");
    assert!(text.contains("ask 大森 玲子 for more dates"), "{text}");
    assert!(
        text.contains("choose another lecturer or supervisor"),
        "{text}"
    );
    app.stop().await;
}
both_engines!(a_supervisor_who_cannot_come_is_explained);

/// Availability typed wrong is refused with the field or column and an example of how to
/// write it, in both languages: by the API (422) and by an import (the row and column).
async fn bad_availability_names_the_column_and_an_example(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "meguro").await;
    let api = app.api(&t.admin_token);
    let example = "2027-05-12 13:00-17:00; 2027-06-01..2027-06-30 mon,wed 09:00-12:00";
    for (availability, external) in [
        ("2027-05-12 17:00-13:00", true),
        ("来週の午後", true),
        ("2027-06-30..2027-06-01 09:00-12:00", true),
        ("2027-05-12 13:00-17:00", false),
    ] {
        let (status, body) = status_json(
            api.post_json(
                "/api/v1/master/people",
                &json!({"code": "SV1", "name": "大森 玲子", "external": external,
                        "availability": availability}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 422, "{availability}: {body}");
        assert_eq!(body["fields"][0]["field"], "availability", "{body}");
        if external {
            for lang in ["ja", "en"] {
                assert!(
                    body["fields"][0]["message"][lang]
                        .as_str()
                        .unwrap()
                        .contains(example),
                    "{body}"
                );
            }
        }
    }
    let csv = "code,name,external,availability\n\
SV1,大森 玲子,1,2027-05-12 13:00-17:00\n\
SV2,西條 拓也,はい,2027-05-12 午後\n\
SV3,東 まゆみ,maybe,\n\
SV4,北 健,○,2027/06/01〜2027/06/30 月・水 09:00〜12:00\n";
    let res = api
        .post_bytes("/api/v1/master/people/import", csv.as_bytes().to_vec())
        .await;
    let (status, report) = status_json(res).await;
    assert_eq!(status, 422, "{report}");
    let errors: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(3, "availability"), (4, "external")], "{report}");
    assert!(report["errors"][0]["message"]["en"]
        .as_str()
        .unwrap()
        .contains(example));
    // The good rows alone go in, read the same way (full-width marks too).
    let res = api
        .post_bytes(
            "/api/v1/master/people/import?partial=true",
            csv.as_bytes().to_vec(),
        )
        .await;
    let (status, report) = status_json(res).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 2);
    let people: Value = api.get_json("/api/v1/master/people?limit=10").await;
    let kita = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "SV4")
        .unwrap();
    assert_eq!(kita["external"], true);
    assert_eq!(
        kita["availability"],
        "2027-06-01..2027-06-30 mon,wed 09:00-12:00"
    );
    // A series' lecturer must be a registered person, or a role to choose by.
    for (lecturers, field) in [
        (json!([{"people": ["NOPE"]}]), "lecturers"),
        (json!([{"people": [], "role": " "}]), "lecturers[0]"),
    ] {
        let (status, body) = status_json(
            api.post_json(
                "/api/v1/series",
                &json!({"code": "CASE-REVIEW", "title": "事例検討会", "kind": "case_review",
                        "duration_minutes": 120, "cadence": {"per": "period", "min": 1, "max": 1},
                        "lecturers": lecturers}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["fields"][0]["field"], field, "{body}");
    }
    app.stop().await;
}
both_engines!(bad_availability_names_the_column_and_an_example);
