//! Notices through a real SMTP server (aiosmtpd, tests/support/smtp_server.py), checked with
//! parsers independent of the ones that build them (mail-parser, ical):
//! * the demo quarter published: one invitation per invitee with an address, each a complete
//!   text part with date, place and answer link, HTML, and a calendar REQUEST; an answer given
//!   through the link (GET changes nothing) shows for the coordinator; a move sends an update
//!   with a higher SEQUENCE; a cancellation sends METHOD:CANCEL;
//! * faults: the SMTP server down (nothing lost, delivered after it returns), a worker killed
//!   mid-batch (nothing lost, nothing twice), a rejected address (reported, not retried), a
//!   busy server (4xx, retried).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use renkei::auth::{create_api_token, hash_password, Role};
use renkei::config::Config;
use renkei::demo::{self, DEMO_USERNAME};
use renkei::notices::outbox::Outbox;
use serde_json::{json, Value};

use crate::both_engines;
use crate::support::smtp::{parse, parse_calendar, Parsed, SmtpServer};
use crate::support::{tenant, Api, Engine, TestApp, TestDb};

const PLANNING_DATE: &str = "2026-11-23";
const FROM: &str = "みらい市 基幹相談支援センター <kikan@mirai.example.jp>";

async fn status_json(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn plan_and_publish(api: &Api, body: Value) -> Value {
    crate::support::plan_and_publish_with(api, &body).await.1
}

/// The answer-link path in a message's text part.
fn answer_path(p: &Parsed) -> String {
    let text = p.text.as_deref().expect("a text part");
    let start = text
        .find("/answer/")
        .expect("an answer link in the text part");
    text[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

fn uid_of(p: &Parsed) -> String {
    let events = parse_calendar(p.calendar.as_deref().expect("a calendar part"));
    assert_eq!(events.len(), 1, "{:?}", p.calendar);
    events[0].uid.clone()
}

async fn answer_of(api: &Api, occurrence: i64, person: i64) -> String {
    let answers: Value = api
        .get_json(&format!("/api/v1/occurrences/{occurrence}/answers"))
        .await;
    answers
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["person_id"] == person)
        .unwrap_or_else(|| panic!("{person} is invited: {answers}"))["answer"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn publishing_a_quarter_invites_and_answers_count(engine: Engine) {
    let smtp = SmtpServer::start();
    let test_db = TestDb::new(engine).await;
    demo::load(&test_db.db).await.expect("demo loads");
    let user = test_db
        .db
        .user_by_username(DEMO_USERNAME)
        .await
        .unwrap()
        .unwrap();
    let token = create_api_token(&test_db.db, &user, "test").await.unwrap();
    let url = smtp.url();
    let app = TestApp::configured(test_db, |c: &mut Config| {
        c.smtp_url = url;
        c.mail_from = FROM.into();
    })
    .await;
    let api = app.api(&token);

    // Publish the first quarter: every invitee with an address gets one invitation.
    let summary = plan_and_publish(
        &api,
        json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "method": "greedy"}),
    )
    .await;
    let occurrences: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30")
        .await;
    // The demo's meeting held by another body is entered, not published: nobody is invited.
    let occurrences: Vec<Value> = occurrences
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["held_by"] == "")
        .cloned()
        .collect();
    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    for o in &occurrences {
        for a in o["attendees"].as_array().unwrap() {
            let email = a["email"].as_str().unwrap();
            if !email.is_empty() {
                expected.insert((o["uid"].as_str().unwrap().to_string(), email.to_string()));
            }
        }
    }
    assert!(
        expected.len() > 50,
        "the demo quarter invites many: {}",
        expected.len()
    );
    assert_eq!(
        summary["notices"].as_u64(),
        Some(expected.len() as u64),
        "{summary}"
    );
    let received = smtp.wait_for(expected.len(), Duration::from_secs(90)).await;
    let parsed: Vec<Parsed> = received.iter().map(|r| parse(&r.raw)).collect();
    let mut got: BTreeSet<(String, String)> = BTreeSet::new();
    for (r, p) in received.iter().zip(&parsed) {
        assert_eq!(r.rcpt_tos.len(), 1);
        assert_eq!(r.mail_from, "kikan@mirai.example.jp");
        assert_eq!(
            p.content_types,
            [
                "multipart/alternative",
                "text/plain",
                "text/html",
                "text/calendar"
            ],
            "{}",
            p.subject
        );
        assert_eq!(p.calendar_method_param.as_deref(), Some("REQUEST"));
        assert!(p.subject.contains("開催案内"), "{}", p.subject);
        let text = p.text.as_deref().unwrap();
        assert!(
            text.contains("2027年"),
            "the text part has the date: {text}"
        );
        assert!(text.contains("■ 場所"), "and the place: {text}");
        assert!(text.contains("http://localhost:8080/answer/"), "{text}");
        assert_eq!(
            p.auto_submitted.as_deref(),
            Some("auto-generated"),
            "auto-responders must not answer notices"
        );
        let events = parse_calendar(p.calendar.as_deref().unwrap());
        let e = &events[0];
        assert_eq!(
            e.prodids,
            1,
            "one PRODID: {}",
            p.calendar.as_deref().unwrap()
        );
        assert_eq!(e.method.as_deref(), Some("REQUEST"));
        assert_eq!(e.sequence, Some(0));
        assert_eq!(e.status.as_deref(), Some("CONFIRMED"));
        assert!(
            e.dtstart.as_deref().unwrap().ends_with('Z'),
            "UTC times: {e:?}"
        );
        assert_eq!(
            e.organizer.as_deref(),
            Some("mailto:kikan@mirai.example.jp")
        );
        assert_eq!(e.attendees.len(), 1, "only the recipient is named: {e:?}");
        let (who, params) = &e.attendees[0];
        assert_eq!(who, &format!("mailto:{}", r.rcpt_tos[0]));
        assert!(
            params.contains(&("RSVP".into(), "TRUE".into())),
            "{params:?}"
        );
        got.insert((e.uid.clone(), r.rcpt_tos[0].clone()));
    }
    assert_eq!(got, expected, "one invitation per invitee and meeting");
    let ids: BTreeSet<&str> = parsed.iter().map(|p| p.message_id.as_str()).collect();
    assert_eq!(
        ids.len(),
        parsed.len(),
        "every message has its own Message-ID"
    );
    // Nothing more arrives (no duplicates).
    smtp.assert_stays_at(expected.len(), Duration::from_secs(2))
        .await;

    // An answer through the link: GET and HEAD change nothing, POST records it.
    let first = &parsed[0];
    let uid = uid_of(first);
    let occ = occurrences
        .iter()
        .find(|o| o["uid"] == uid.as_str())
        .unwrap();
    let occurrence = occ["id"].as_i64().unwrap();
    let person = occ["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == received[0].rcpt_tos[0].as_str())
        .unwrap()["person_id"]
        .as_i64()
        .unwrap();
    let link = app.url(&answer_path(first));
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = anon.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()["referrer-policy"],
        "no-referrer",
        "the answer page sends no referrer"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(occ["title"].as_str().unwrap()), "{html}");
    assert_eq!(anon.head(&link).send().await.unwrap().status(), 200);
    assert_eq!(
        answer_of(&api, occurrence, person).await,
        "none",
        "GET and HEAD change nothing"
    );
    let res =
        crate::support::post_answer(&anon, &link, &[("answer", "deputy"), ("deputy_name", "")])
            .await;
    let html = res.text().await.unwrap();
    assert!(
        html.contains("代理出席の方のお名前を書いてください"),
        "{html}"
    );
    assert_eq!(
        answer_of(&api, occurrence, person).await,
        "none",
        "a bad answer is not stored"
    );
    let res = crate::support::post_answer(
        &anon,
        &link,
        &[("answer", "decline"), ("comment", "出張のため")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(answer_of(&api, occurrence, person).await, "decline");
    // Changeable until the deadline.
    let res = crate::support::post_answer(&anon, &link, &[("answer", "attend")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(answer_of(&api, occurrence, person).await, "attend");
    // A form opened before that change (it shows no answer yet) is stale: refused, nothing
    // changes.
    let sequence = occ["sequence"].as_i64().unwrap().to_string();
    let res = anon
        .post(&link)
        .form(&[
            ("answer", "decline"),
            ("seen_sequence", &sequence),
            ("seen_answered_at", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("読み込み直して"));
    assert_eq!(answer_of(&api, occurrence, person).await, "attend");
    let bad = anon
        .get(app.url("/answer/not-a-real-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 404);

    // A move: a required attendee of a ward network meeting is away that day; the re-plan moves
    // it and its invitees get an update with a higher SEQUENCE.
    let target = occurrences
        .iter()
        .find(|o| o["kind"] == "ward_network")
        .expect("a ward network meeting")
        .clone();
    let away = crate::support::first_required(&target).unwrap();
    let res = api
        .post_json(
            &format!("/api/v1/people/{away}/absences"),
            &json!({"from": target["date"], "reason": "出張"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let before = received.len();
    let summary = plan_and_publish(
        &api,
        json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "method": "greedy"}),
    )
    .await;
    assert!(summary["moved"].as_i64().unwrap() >= 1, "{summary}");
    let after: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30&include_cancelled=true")
        .await;
    let moved: BTreeMap<String, i64> = after
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["sequence"].as_i64().unwrap() > 0)
        .map(|o| {
            (
                o["uid"].as_str().unwrap().to_string(),
                o["sequence"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        moved.contains_key(target["uid"].as_str().unwrap()),
        "{moved:?}"
    );
    let notices = summary["notices"].as_u64().unwrap() as usize;
    assert!(notices > 0, "{summary}");
    let all = smtp
        .wait_for(before + notices, Duration::from_secs(60))
        .await;
    let updates: Vec<Parsed> = all[before..].iter().map(|r| parse(&r.raw)).collect();
    let mut saw_target = false;
    for p in &updates {
        let e = &parse_calendar(p.calendar.as_deref().unwrap())[0];
        if let Some(seq) = moved.get(&e.uid) {
            assert_eq!(e.sequence, Some(*seq as u32), "{e:?}");
            assert_eq!(e.method.as_deref(), Some("REQUEST"));
            saw_target |= e.uid == target["uid"].as_str().unwrap();
            assert!(
                p.subject.contains("変更") || p.subject.contains("開催案内"),
                "{}",
                p.subject
            );
        }
    }
    assert!(saw_target, "the moved meeting's invitees got an update");

    // A cancellation removes the event: METHOD:CANCEL, STATUS:CANCELLED, SEQUENCE raised.
    let victim = after
        .as_array()
        .unwrap()
        .iter()
        .find(|o| {
            o["status"] == "scheduled"
                && o["uid"] != uid.as_str()
                && o["attendees"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["email"] != "")
        })
        .unwrap()
        .clone();
    // A link of the victim's invitation, to try after the cancellation.
    let victim_link = parsed
        .iter()
        .find(|p| uid_of(p) == victim["uid"].as_str().unwrap())
        .map(|p| app.url(&answer_path(p)))
        .expect("an invitation to the victim");
    let vid = victim["id"].as_i64().unwrap();
    let (s, b) = status_json(
        api.post_json(
            &format!("/api/v1/occurrences/{vid}/cancel"),
            &json!({"reason": ""}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "a reason is needed: {b}");
    let (s, b) = status_json(
        api.post_json(
            &format!("/api/v1/occurrences/{vid}/cancel"),
            &json!({"reason": "台風のため"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 202, "{b}");
    let k = b["queued"].as_u64().unwrap() as usize;
    assert!(k > 0);
    let before = all.len();
    let all = smtp.wait_for(before + k, Duration::from_secs(60)).await;
    for r in &all[before..] {
        let p = parse(&r.raw);
        assert_eq!(p.calendar_method_param.as_deref(), Some("CANCEL"));
        assert!(p.subject.contains("中止"), "{}", p.subject);
        let text = p.text.as_deref().unwrap();
        assert!(
            !text.contains("/answer/"),
            "no answer link for a cancelled meeting"
        );
        // It says why, and that what is attached removes the meeting (not an invitation).
        assert!(text.contains("中止の理由: 台風のため"), "{text}");
        assert!(text.contains("Reason: 台風のため"), "{text}");
        assert!(text.contains("取り消し（iCalendar CANCEL）"), "{text}");
        assert!(!text.contains("招待（iCalendar）"), "{text}");
        assert!(
            p.html.as_deref().is_none_or(|h| h.contains("台風のため")),
            "the HTML part says why too"
        );
        let e = &parse_calendar(p.calendar.as_deref().unwrap())[0];
        assert_eq!(e.method.as_deref(), Some("CANCEL"));
        assert_eq!(e.status.as_deref(), Some("CANCELLED"));
        assert_eq!(e.prodids, 1);
        assert!(
            e.attendees
                .iter()
                .all(|(_, params)| !params.contains(&("RSVP".into(), "TRUE".into()))),
            "a cancellation asks for no answer: {:?}",
            e.attendees
        );
        assert_eq!(e.uid, victim["uid"].as_str().unwrap());
        assert_eq!(
            e.sequence,
            Some(victim["sequence"].as_u64().unwrap() as u32 + 1)
        );
    }
    let (s, _) = status_json(
        api.post_json(
            &format!("/api/v1/occurrences/{vid}/cancel"),
            &json!({"reason": "再度"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 409, "cancelling twice is refused");
    let res = anon
        .post(&victim_link)
        .form(&[("answer", "decline")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409, "a cancelled meeting takes no answers");
    // Reminders and chases (the hourly job): due ones are queued once, to the right people.
    // The meeting answered above, as it stands now (the re-plan may have moved it).
    let now_occ = after
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["uid"] == uid.as_str())
        .unwrap()
        .clone();
    let date =
        chrono::NaiveDate::parse_from_str(now_occ["date"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let today = renkei_solver::calendar::jst_date(chrono::Utc::now());
    let days = (date - today).num_days();
    // Every invitee with an address of every meeting that day (the cancelled one excepted).
    let same_day: Vec<&Value> = after
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            o["date"] == now_occ["date"] && o["id"] != victim["id"] && o["status"] == "scheduled"
        })
        .collect();
    let uids: BTreeSet<&str> = same_day
        .iter()
        .map(|o| o["uid"].as_str().unwrap())
        .collect();
    // Invitees of a meeting who have a mail address.
    let addressed = |o: &Value| {
        o["attendees"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| !a["email"].as_str().unwrap().is_empty())
            .count()
    };
    let invitees: usize = same_day.iter().map(|o| addressed(o)).sum();
    let before = smtp.messages().len();
    // The reminder goes to everyone who has not declined (the answer above is "attend"); the
    // chase only to those who have not answered.
    let reminders = app.db().queue_due_reminders(&[days], 2, 2).await.unwrap();
    assert_eq!(reminders, invitees, "one reminder per invitee that day");
    assert_eq!(
        app.db().queue_due_reminders(&[days], 2, 2).await.unwrap(),
        0,
        "queued once"
    );
    // The chase goes on the open day `c` days before the answer deadline (itself `d` days
    // before the meeting, moved back to an open day). Pick `d` and `c` so that today is this
    // meeting's chase day; every meeting whose chase day that makes today is chased too.
    let scheduled: Vec<&Value> = after
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "scheduled" && o["id"] != victim["id"])
        .collect();
    let date_of = |o: &Value| -> chrono::NaiveDate { o["date"].as_str().unwrap().parse().unwrap() };
    // On the demo municipality's calendar: its own closures move chases too.
    let calendar = app
        .db()
        .business_calendar(user.municipality_id)
        .await
        .unwrap();
    let params = (0..days)
        .flat_map(|d| (1..=3).map(move |c| (d, c)))
        .find(|&(d, c)| renkei::notices::chase_date(&calendar, date, d, c) == today);
    let mut chase_uids: BTreeSet<&str> = BTreeSet::new();
    let chases = match params {
        Some((d, c)) => {
            let chased: Vec<&&Value> = scheduled
                .iter()
                .filter(|o| renkei::notices::chase_date(&calendar, date_of(o), d, c) == today)
                .collect();
            chase_uids = chased.iter().map(|o| o["uid"].as_str().unwrap()).collect();
            let expected: usize = chased.iter().map(|o| addressed(o)).sum();
            let chases = app.db().queue_due_reminders(&[], d, c).await.unwrap();
            assert_eq!(chases, expected - 1, "no chase to the one who answered");
            chases
        }
        None => {
            // Only when today and the days after it are closed can no deadline make today
            // this meeting's chase day.
            assert!(
                !calendar.is_open(today)
                    || (1..=3).all(|c| !calendar.is_open(today + chrono::Duration::days(c))),
                "{today} is open, so some deadline puts this meeting's chase on it"
            );
            0
        }
    };
    let got = smtp
        .wait_for(before + reminders + chases, Duration::from_secs(60))
        .await;
    let mut reminded = 0;
    for r in &got[before..] {
        let p = parse(&r.raw);
        let e_uid = uid_of(&p);
        if p.subject.contains("リマインド") {
            assert!(uids.contains(e_uid.as_str()), "{e_uid}");
            reminded += 1;
        } else {
            assert!(chase_uids.contains(e_uid.as_str()), "{e_uid}");
            assert!(p.subject.contains("回答のお願い"), "{}", p.subject);
            assert!(
                !(e_uid == uid && r.rcpt_tos[0] == received[0].rcpt_tos[0]),
                "the one who answered is not chased"
            );
        }
    }
    assert_eq!(reminded, reminders);
    // The coordinator's page of the meeting lists the invitees and the notices.
    let c = crate::support::client();
    let res = crate::support::login(&c, &app, DEMO_USERNAME, demo::DEMO_PASSWORD, Some("/")).await;
    assert_eq!(res.status(), 303);
    let page =
        crate::support::get_text(&c, &app.url(&format!("/meetings/occurrences/{occurrence}")))
            .await;
    assert!(
        page.contains(&format!("data-person=\"{person}\" data-answer=\"attend\"")),
        "{page}"
    );
    let outbox = crate::support::get_text(&c, &app.url("/notices")).await;
    assert!(outbox.contains("開催案内"), "{outbox}");
    // Guessing links is rate-limited per address (a burst of 300, then 600 a minute; the rest
    // of the test used a few). Guesses are sent 16 at a time, so that the quota is used up
    // faster than it refills even on a loaded machine.
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let burst = renkei::throttle::PER_ADDRESS_BURST as usize;
    let (refused, answered, sent) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let mut guessers = Vec::new();
    for _ in 0..16 {
        let (anon, refused, answered, sent) = (
            anon.clone(),
            refused.clone(),
            answered.clone(),
            sent.clone(),
        );
        let base = app.url("/answer/guess-");
        guessers.push(tokio::spawn(async move {
            while !refused.load(Ordering::SeqCst) {
                let i = sent.fetch_add(1, Ordering::SeqCst);
                assert!(i < 20 * burst, "no 429 after {i} guesses");
                let res = anon.get(format!("{base}{i}")).send().await.unwrap();
                if res.status() == 429 {
                    let wait: u64 = res.headers()["retry-after"]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!((1..=60).contains(&wait), "{wait}");
                    refused.store(true, Ordering::SeqCst);
                    break;
                }
                assert_eq!(res.status(), 404);
                assert_eq!(res.headers()["cache-control"], "no-store");
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    for g in guessers {
        g.await.unwrap();
    }
    let answered = answered.load(Ordering::SeqCst);
    assert!(answered > burst - 50, "refused after {answered} guesses");
}
both_engines!(publishing_a_quarter_invites_and_answers_count);

// ---------------------------------------------------------------------------------------------
// Faults, driven with an explicit worker (the app's own worker is off).

struct Faults {
    app: TestApp,
    hub: String,
    beds: Vec<i64>,
    config: Config,
}

/// A tenant with a hub account and a short-stay facility of `beds` beds whose contact address
/// is `contact`; the service runs without its own workers.
async fn faults(engine: Engine, smtp: &SmtpServer, contact: &str, beds: usize) -> Faults {
    let test_db = TestDb::new(engine).await;
    let url = smtp.url();
    let app = TestApp::configured(test_db, |c: &mut Config| {
        c.smtp_url = url;
        c.mail_from = FROM.into();
        c.run_worker = false;
    })
    .await;
    let t = tenant(app.db(), "tsuchi").await;
    app.db()
        .create_user(
            t.id,
            "tsuchi-hub",
            "拠点 職員",
            &hash_password("pw-hub-staff-1").unwrap(),
            Role::HubStaff,
        )
        .await
        .unwrap();
    let hub_user = app
        .db()
        .user_by_username("tsuchi-hub")
        .await
        .unwrap()
        .unwrap();
    let hub = create_api_token(app.db(), &hub_user, "test").await.unwrap();
    let admin = app.api(&t.admin_token);
    let (s, b) = status_json(
        admin
            .post_json(
                "/api/v1/master/organisations",
                &json!({"code": "SS1", "name": "ショートステイ", "kind": "short_stay"}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let api = app.api(&hub);
    let bed_list: Vec<Value> = (0..beds)
        .map(|i| json!({"name": format!("{}", i + 1)}))
        .collect();
    let (s, f) = status_json(
        api.post_json(
            "/api/v1/placement/facilities",
            &json!({"code": "SS1-BEDS", "organisation": "SS1", "name": "はなみずき", "kind": "short_stay",
                    "disability_types": ["physical", "intellectual"], "contact_email": contact,
                    "rooms": [{"name": "個室群", "sex_policy": "any", "beds": bed_list}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{f}");
    let list: Value = api.get_json("/api/v1/placement/facilities").await;
    let beds = list[0]["rooms"][0]["beds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    let config = app.config.clone();
    Faults {
        app,
        hub,
        beds,
        config,
    }
}

/// `n` requests, each proposed on its own bed: `n` placement requests to the facility.
async fn propose(f: &Faults, n: usize) {
    let api = f.app.api(&f.hub);
    for i in 0..n {
        let (s, r) = status_json(
            api.post_json(
                "/api/v1/placement/requests",
                &json!({"case_number": format!("N-{i:03}"), "person_name": "通知 太郎", "sex": "male",
                        "from": "2027-03-01", "to": "2027-03-03", "disability_types": ["physical"], "urgency": 3}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 201, "{r}");
        let id = r["id"].as_i64().unwrap();
        let (s, p) = status_json(
            api.post_json(
                &format!("/api/v1/placement/requests/{id}/propose"),
                &json!({"segments": [{"bed_id": f.beds[i], "from": "2027-03-01", "to": "2027-03-03"}]}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 201, "{p}");
    }
}

async fn notices(f: &Faults) -> Vec<Value> {
    let list: Value = f.app.api(&f.hub).get_json("/api/v1/notices").await;
    list.as_array().unwrap().clone()
}

async fn smtp_down_loses_nothing(engine: Engine) {
    let mut smtp = SmtpServer::start();
    let f = faults(engine, &smtp, "uketsuke@hanamizuki.example.jp", 3).await;
    propose(&f, 3).await;
    smtp.stop();
    let worker = Outbox::from_config(f.app.db().clone(), &f.config).unwrap();
    assert_eq!(worker.run_once().await.unwrap(), 3);
    let list = notices(&f).await;
    assert_eq!(list.len(), 3);
    for n in &list {
        assert_eq!(n["status"], "pending", "{n}");
        assert_eq!(n["attempts"], 1, "{n}");
        assert!(n["last_error"].as_str().unwrap().contains("再送"), "{n}");
    }
    // Not due again before the backoff.
    assert_eq!(worker.run_once().await.unwrap(), 0);
    smtp.restart();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(worker.run_once().await.unwrap(), 3);
    let got = smtp.wait_for(3, Duration::from_secs(10)).await;
    smtp.assert_stays_at(3, Duration::from_millis(500)).await;
    for n in notices(&f).await {
        assert_eq!(n["status"], "sent", "{n}");
        assert_eq!(n["attempts"], 2, "{n}");
    }
    for r in &got {
        let p = parse(&r.raw);
        assert!(p.subject.contains("緊急受入れのご依頼"), "{}", p.subject);
        assert_eq!(
            p.content_types,
            ["multipart/alternative", "text/plain", "text/html"]
        );
        assert!(answer_path(&p).starts_with("/answer/"));
        assert!(p.text.as_deref().unwrap().contains("2泊"), "{:?}", p.text);
    }
    // The facility answers through the link of the first message: the hold follows.
    let p = parse(&got[0].raw);
    let link = f.app.url(&answer_path(&p));
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = anon.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("N-00"), "{page}");
    let res = anon
        .post(&link)
        .form(&[("accept", "0"), ("reason", "")])
        .send()
        .await
        .unwrap();
    assert!(
        res.text().await.unwrap().contains("理由"),
        "a decline needs a reason"
    );
    let res = anon
        .post(&link)
        .form(&[("accept", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let requests: Value = f
        .app
        .api(&f.hub)
        .get_json("/api/v1/placement/requests")
        .await;
    let accepted = requests
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "accepted")
        .count();
    assert_eq!(accepted, 1, "{requests}");
}
both_engines!(smtp_down_loses_nothing);

async fn a_killed_worker_loses_and_repeats_nothing(engine: Engine) {
    let smtp = SmtpServer::start();
    let f = faults(engine, &smtp, "uketsuke@hanamizuki.example.jp", 10).await;
    propose(&f, 10).await;
    let lease = chrono::Duration::milliseconds(1500);
    let a = Outbox::from_config(f.app.db().clone(), &f.config)
        .unwrap()
        .with_lease(lease);
    let b = Outbox::from_config(f.app.db().clone(), &f.config)
        .unwrap()
        .with_lease(lease);
    // A claims all ten, hands four to the server and dies.
    assert_eq!(a.run_limited(4).await.unwrap(), 10);
    drop(a);
    smtp.wait_for(4, Duration::from_secs(10)).await;
    // B cannot take A's notices while A's lease runs, and takes them after it.
    assert_eq!(
        b.run_once().await.unwrap(),
        0,
        "leased notices are not taken"
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(b.run_once().await.unwrap(), 6);
    let got = smtp.wait_for(10, Duration::from_secs(10)).await;
    smtp.assert_stays_at(10, Duration::from_millis(500)).await;
    let ids: BTreeSet<String> = got.iter().map(|r| parse(&r.raw).message_id).collect();
    assert_eq!(ids.len(), 10, "ten different messages, none twice");
    let list = notices(&f).await;
    assert_eq!(
        list.iter().filter(|n| n["status"] == "sent").count(),
        10,
        "{list:?}"
    );
    // Queueing is idempotent: proposing the same again is refused and queues nothing.
    assert_eq!(b.run_once().await.unwrap(), 0);
}
both_engines!(a_killed_worker_loses_and_repeats_nothing);

async fn a_rejected_address_is_reported_and_a_busy_one_retried(engine: Engine) {
    let smtp = SmtpServer::start();
    let f = faults(engine, &smtp, "reject-me@hanamizuki.example.jp", 1).await;
    propose(&f, 1).await;
    let worker = Outbox::from_config(f.app.db().clone(), &f.config).unwrap();
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let list = notices(&f).await;
    assert_eq!(list[0]["status"], "failed", "{list:?}");
    assert!(
        list[0]["last_error"].as_str().unwrap().contains("550"),
        "{list:?}"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        worker.run_once().await.unwrap(),
        0,
        "a permanent failure is not retried"
    );
    assert!(smtp.messages().is_empty());
    // The coordinator sees it on the sent-mail page.
    let c = crate::support::logged_in_client(&f.app, "tsuchi-admin").await;
    let page = crate::support::get_text(&c, &f.app.url("/notices?status=failed")).await;
    assert!(
        page.contains("reject-me@hanamizuki.example.jp") && page.contains("550"),
        "{page}"
    );

    // A busy server (451) is retried until it takes the message.
    let g = faults(engine, &smtp, "busy-desk@hanamizuki.example.jp", 1).await;
    propose(&g, 1).await;
    smtp.set_busy(true);
    let worker = Outbox::from_config(g.app.db().clone(), &g.config).unwrap();
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let list = notices(&g).await;
    assert_eq!(
        (list[0]["status"].as_str(), list[0]["attempts"].as_i64()),
        (Some("pending"), Some(1)),
        "{list:?}"
    );
    assert!(
        list[0]["last_error"].as_str().unwrap().contains("451"),
        "{list:?}"
    );
    smtp.set_busy(false);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(worker.run_once().await.unwrap(), 1);
    smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(notices(&g).await[0]["status"], "sent");
}
both_engines!(a_rejected_address_is_reported_and_a_busy_one_retried);

async fn a_facility_is_asked_to_update_its_vacancies(engine: Engine) {
    let smtp = SmtpServer::start();
    let f = faults(engine, &smtp, "uketsuke@hanamizuki.example.jp", 2).await;
    let api = f.app.api(&f.hub);
    let list: Value = api.get_json("/api/v1/placement/facilities").await;
    let facility = list[0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/placement/facilities/{facility}/vacancy-request");
    let (s, b) = status_json(api.post_json(&path, &json!({})).await).await;
    assert_eq!((s, &b["queued"]), (202, &json!(1)), "{b}");
    let (s, b) = status_json(api.post_json(&path, &json!({})).await).await;
    assert_eq!((s, &b["queued"]), (202, &json!(0)), "once a day: {b}");
    let (s, b) = status_json(
        api.post_json(
            "/api/v1/placement/facilities/999999/vacancy-request",
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 404, "{b}");
    let worker = Outbox::from_config(f.app.db().clone(), &f.config).unwrap();
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let got = smtp.wait_for(1, Duration::from_secs(10)).await;
    let p = parse(&got[0].raw);
    assert!(
        p.subject.contains("空床情報の更新のお願い"),
        "{}",
        p.subject
    );
    assert_eq!(got[0].rcpt_tos, ["uketsuke@hanamizuki.example.jp"]);
    let text = p.text.as_deref().unwrap();
    let start = text
        .find("/facility/")
        .expect("the facility's no-login link");
    let link = text[start..].split_whitespace().next().unwrap();
    let page = reqwest::get(f.app.url(link)).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("はなみずき"));
}
both_engines!(a_facility_is_asked_to_update_its_vacancies);

/// A resend queues one notice; pressing again within the minute sends nothing more and says
/// why (409); the occurrence's notices show the one resend.
async fn two_quick_resends_send_one_mail(engine: Engine) {
    let (app, token) = crate::meetings::demo_app(engine).await;
    let api = app.api(&token);
    plan_and_publish(
        &api,
        json!({"period": "2027Q1", "planning_date": "2026-11-23", "time_limit_seconds": 5, "method": "greedy"}),
    )
    .await;
    let occurrences: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30")
        .await;
    let (occurrence, person) = occurrences
        .as_array()
        .unwrap()
        .iter()
        .find_map(|o| {
            let a = o["attendees"]
                .as_array()?
                .iter()
                .find(|a| !a["email"].as_str().unwrap_or("").is_empty())?;
            Some((o["id"].as_i64()?, a["person_id"].as_i64()?))
        })
        .expect("an invitee with an address");
    let resend = || async {
        status_json(
            api.post_json(
                &format!("/api/v1/occurrences/{occurrence}/resend"),
                &json!({"person_id": person}),
            )
            .await,
        )
        .await
    };
    let (s, body) = resend().await;
    assert_eq!(s, 202, "{body}");
    assert_eq!(body["queued"], 1, "{body}");
    let (s, body) = resend().await;
    assert_eq!(s, 409, "a second resend within the minute: {body}");
    assert!(body.to_string().contains("1分以内"), "{body}");
    let notices: Value = api
        .get_json(&format!("/api/v1/occurrences/{occurrence}/notices"))
        .await;
    let to_person = notices
        .as_array()
        .unwrap_or_else(|| panic!("{notices}"))
        .iter()
        .filter(|n| n["person_id"] == person)
        .count();
    assert_eq!(to_person, 2, "the invitation and one resend: {notices}");
}

both_engines!(two_quick_resends_send_one_mail);
