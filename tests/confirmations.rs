//! Issue 16 item 5 and issue 17 items 3-5, on the demo municipality with a real SMTP server:
//! * publishing shows first what it would send (counted by publishing in a rolled-back
//!   transaction), sends nothing until the "I understand" box is ticked, then sends exactly
//!   that and says so once (a flash after the redirect);
//! * cancelling a meeting on its page states how many invitees get a cancellation and asks
//!   for the same confirmation;
//! * the sent-mail page pages and filters, and every link on it works with SMTP configured;
//! * the answer page follows the link's language, keeps it, and names the organiser's contact;
//! * English pages carry no Japanese dates;
//! * XLSX exports store numbers and dates as typed cells, and import them back.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use renkei::auth::create_api_token;
use renkei::config::Config;
use renkei::demo::{self, DEMO_PASSWORD, DEMO_USERNAME};
use serde_json::{json, Value};

use crate::both_engines;
use crate::support::smtp::{parse, SmtpServer};
use crate::support::{get_page, get_text, hidden_field, post_form, Api, Engine, TestApp, TestDb};

const PLANNING_DATE: &str = "2026-11-23";
const FROM: &str = "みらい市 基幹相談支援センター <kikan@mirai.example.jp>";
const PHONE: &str = "042-123-4567";
const CONTACT_EMAIL: &str = "soudan@mirai.example.jp";

struct Demo {
    app: TestApp,
    api: Api,
    smtp: SmtpServer,
}

async fn demo_app(engine: Engine) -> Demo {
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
        c.contact_phone = PHONE.into();
        c.contact_email = CONTACT_EMAIL.into();
    })
    .await;
    let api = app.api(&token);
    Demo { app, api, smtp }
}

/// A finished (not yet published) plan of the demo's first quarter of FY2027.
async fn plan(api: &Api) -> i64 {
    let res = api
        .post_json(
            "/api/v1/plans",
            &json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "method": "greedy"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let run: Value = res.json().await.unwrap();
    let id = run["id"].as_i64().unwrap();
    let started = Instant::now();
    loop {
        let run: Value = api.get_json(&format!("/api/v1/plans/{id}")).await;
        match run["status"].as_str().unwrap() {
            "done" => return id,
            "failed" => panic!("plan failed: {run}"),
            _ => {}
        }
        assert!(started.elapsed() < Duration::from_secs(120), "{run}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn browser(app: &TestApp) -> reqwest::Client {
    let c = crate::support::client();
    let res = crate::support::login(&c, app, DEMO_USERNAME, DEMO_PASSWORD, Some("/")).await;
    assert_eq!(res.status(), 303, "the demo coordinator logs in");
    c
}

/// The number in `<… id="ID">N<`.
fn number_at(html: &str, id: &str) -> i64 {
    let marker = format!("id=\"{id}\">");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{html}"))
        + marker.len();
    html[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("#{id} is not a number"))
}

/// The text of the element with `id` (up to the next tag).
fn text_at(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{html}"))
        + marker.len();
    html[at..].split('<').next().unwrap().to_string()
}

async fn notice_total(api: &Api, query: &str) -> i64 {
    let res = api.get(&format!("/api/v1/notices?limit=1&{query}")).await;
    assert_eq!(res.status(), 200);
    res.headers()["x-total-count"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn flash_cookie_set(res: &reqwest::Response) -> bool {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("renkei_flash=published."))
}

/// Every local link (`href="/…"`) of a page.
fn local_links(html: &str) -> BTreeSet<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.starts_with('/') && !h.starts_with("//"))
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

async fn publishing_and_cancelling_state_their_mail_first(engine: Engine) {
    let d = demo_app(engine).await;
    let (app, api) = (&d.app, &d.api);
    let id = plan(api).await;
    let c = browser(app).await;

    // The plan page leads to the confirmation step; nothing is sent by looking at it.
    let page = get_text(&c, &app.url(&format!("/meetings/plans/{id}"))).await;
    assert!(
        page.contains(&format!("href=\"/meetings/plans/{id}/publish\"")),
        "the plan page leads to the confirmation step"
    );
    let confirm_url = app.url(&format!("/meetings/plans/{id}/publish"));
    let started = Instant::now();
    let res = get_page(&c, &confirm_url).await;
    assert_eq!(res.status(), 200);
    let confirm = res.text().await.unwrap();
    let preview_time = started.elapsed();
    let invitations = number_at(&confirm, "count-invitations");
    let updates = number_at(&confirm, "count-updates");
    let cancellations = number_at(&confirm, "count-cancellations");
    let recipients = number_at(&confirm, "count-recipients");
    assert!(
        invitations > 50,
        "the demo quarter invites many: {invitations}"
    );
    eprintln!(
        "{engine:?}: the publish confirmation page (a rolled-back publish of {invitations} invitations) took {preview_time:?}"
    );
    assert_eq!(
        (updates, cancellations),
        (0, 0),
        "a first publication only invites"
    );
    assert!(recipients > 10 && recipients <= invitations, "{recipients}");
    assert!(
        confirm.contains(&format!(
            "合計 {invitations}通のメールを {recipients}人に送ります"
        )),
        "the consequences are stated in words too"
    );
    assert_eq!(
        notice_total(api, "").await,
        0,
        "the preview queued nothing (its transaction was rolled back)"
    );
    let run: Value = api.get_json(&format!("/api/v1/plans/{id}")).await;
    assert!(run["published_at"].is_null(), "{run}");

    // Without the box ticked, nothing happens.
    let csrf = hidden_field(&confirm, "csrf").unwrap();
    let res = post_form(&c, &confirm_url, &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("理解しました") && body.contains("I understand"),
        "{body}"
    );
    assert_eq!(notice_total(api, "").await, 0);

    // Confirmed: exactly what was announced is queued, and the next page says so once.
    let res = post_form(&c, &confirm_url, &[("csrf", &csrf), ("understood", "1")]).await;
    assert_eq!(res.status(), 303);
    assert!(
        flash_cookie_set(&res),
        "a success message goes with the redirect"
    );
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        notice_total(api, "kind=invitation").await,
        invitations,
        "the preview's count is what publishing queued"
    );
    assert_eq!(notice_total(api, "").await, invitations);
    let mut queued: BTreeSet<String> = BTreeSet::new();
    let list: Value = api.get_json("/api/v1/notices?limit=1000").await;
    for n in list.as_array().unwrap() {
        queued.insert(n["recipient_email"].as_str().unwrap().to_lowercase());
    }
    assert_eq!(
        queued.len() as i64,
        recipients,
        "to as many people as announced"
    );
    let shown = get_text(&c, &app.url(&to)).await;
    let flash = text_at(&shown, "flash");
    assert!(
        flash.contains("公開しました")
            && flash.contains(&format!("招待 {invitations}通"))
            && flash.contains(&format!("{recipients}人に送ります")),
        "{flash}"
    );
    let again = get_text(&c, &app.url(&to)).await;
    assert!(!again.contains("id=\"flash\""), "the message is shown once");
    // A second publish of the same plan is refused; its confirmation says why.
    let res = get_page(&c, &confirm_url).await;
    assert_eq!(res.status(), 409);

    // The sent-mail page with SMTP configured: pages, filters, and every link answers.
    d.smtp.wait_for(5, Duration::from_secs(60)).await;
    let list_page = get_text(&c, &app.url("/notices")).await;
    let rows = list_page.matches("<tr>").count() - 1;
    assert_eq!(rows as i64, invitations.min(100), "100 rows a page");
    let shown = text_at(&list_page, "notices-shown");
    assert!(
        shown.contains(&format!(
            "{invitations}通中 1〜{}通目",
            invitations.min(100)
        )),
        "{shown}"
    );
    if invitations > 100 {
        assert!(list_page.contains("id=\"notices-next\""), "a next page");
        let second = get_text(&c, &app.url("/notices?offset=100")).await;
        assert!(second.contains("id=\"notices-prev\""));
        assert_eq!(
            (second.matches("<tr>").count() - 1) as i64,
            (invitations - 100).min(100)
        );
    }
    let mut checked = 0;
    // The list's own links: filters, pages, each notice, its meeting or request.
    for link in local_links(&list_page) {
        if !["/notices", "/meetings/occurrences/", "/placement/requests/"]
            .iter()
            .any(|p| link.starts_with(p))
        {
            continue;
        }
        let res = get_page(&c, &app.url(&link)).await;
        assert_eq!(res.status(), 200, "{link} answers with SMTP configured");
        checked += 1;
    }
    assert!(checked > 100, "links followed: {checked}");
    // One recipient's mail, by part of the address and by kind; a bad filter is explained.
    let someone = queued.iter().next().unwrap().clone();
    let filtered = get_text(
        &c,
        &app.url(&format!(
            "/notices?kind=invitation&q={}",
            someone.split('@').next().unwrap()
        )),
    )
    .await;
    assert!(filtered.contains(&someone), "{someone}");
    assert!(
        filtered.matches("<tr>").count() - 1 < rows,
        "the filter narrows the list"
    );
    let none = get_text(&c, &app.url("/notices?kind=cancellation")).await;
    assert_eq!(none.matches("<tr>").count() - 1, 0);
    let bad = get_page(&c, &app.url("/notices?kind=bogus&from=2027-02-30")).await;
    assert_eq!(bad.status(), 200);
    let bad = bad.text().await.unwrap();
    assert!(
        bad.contains("role=\"alert\"") && bad.contains("kind は"),
        "{bad}"
    );
    let res = api.get("/api/v1/notices?kind=bogus").await;
    assert_eq!(res.status(), 422);
    let res = api
        .get("/api/v1/notices?from=2026-01-01&to=2100-12-31")
        .await;
    assert_eq!(res.status(), 200);

    // Cancelling a meeting: its page says how many invitees are told, and asks first.
    let occurrences: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30")
        .await;
    let o = &occurrences.as_array().unwrap()[0];
    let occ = o["id"].as_i64().unwrap();
    let reachable = o["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !a["email"].as_str().unwrap().is_empty())
        .count();
    assert!(reachable > 0);
    let page_url = app.url(&format!("/meetings/occurrences/{occ}"));
    let page = get_text(&c, &page_url).await;
    let consequence = text_at(&page, "cancel-consequence");
    assert!(
        consequence.contains(&format!("招待者{reachable}人に中止のお知らせ")),
        "{consequence}"
    );
    let csrf = hidden_field(&page, "csrf").unwrap();
    let cancel_url = format!("{page_url}/cancel");
    let res = post_form(
        &c,
        &cancel_url,
        &[("csrf", &csrf), ("reason", "台風のため")],
    )
    .await;
    assert_eq!(res.status(), 422, "not cancelled without the box ticked");
    assert_eq!(notice_total(api, "kind=cancellation").await, 0);
    let res = post_form(
        &c,
        &cancel_url,
        &[
            ("csrf", &csrf),
            ("reason", "台風のため"),
            ("understood", "1"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let page = get_text(&c, &page_url).await;
    let flash = text_at(&page, "flash");
    assert!(
        flash.contains(&format!("招待者 {reachable}人に中止のお知らせ")),
        "{flash}"
    );
    assert_eq!(
        notice_total(api, "kind=cancellation").await,
        reachable as i64
    );
}
both_engines!(publishing_and_cancelling_state_their_mail_first);

/// A Japanese date (2027年5月12日, 2027年5月) on a page.
fn japanese_date(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == '年' && i > 0 && chars[i - 1].is_ascii_digit() {
            let rest: String = chars[i + 1..].iter().take(6).collect();
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            if !digits.is_empty() && rest[digits.len()..].starts_with('月') {
                let from = i.saturating_sub(6);
                return Some(chars[from..(i + 8).min(chars.len())].iter().collect());
            }
        }
    }
    None
}

async fn english_pages_and_the_answer_page_speak_english(engine: Engine) {
    let d = demo_app(engine).await;
    let (app, api) = (&d.app, &d.api);
    let id = plan(api).await;
    let res = api
        .post_json(&format!("/api/v1/plans/{id}/publish"), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let summary: Value = res.json().await.unwrap();
    assert_eq!(
        summary["invitations"], summary["notices"],
        "the API's publish returns what it queued, per kind: {summary}"
    );
    assert!(summary["recipients"].as_i64().unwrap() > 10, "{summary}");
    let occurrences: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30")
        .await;
    let occ = occurrences[0]["id"].as_i64().unwrap();

    let c = browser(app).await;
    let res = get_page(&c, &app.url("/lang/en?next=/")).await;
    assert_eq!(res.status(), 303);
    let pages = [
        "/".to_string(),
        "/meetings/plan".into(),
        format!("/meetings/plans/{id}?view=list"),
        format!("/meetings/plans/{id}"),
        "/meetings/calendar?view=list&from=2027-04-01&to=2027-06-30".into(),
        "/meetings/calendar?view=grid&from=2027-04-01&to=2027-06-30".into(),
        format!("/meetings/occurrences/{occ}"),
        "/meetings/annual?fy=2027".into(),
        "/meetings/series".into(),
        "/indicators?fiscal_year=2027".into(),
        "/notices".into(),
        "/calendar".into(),
        "/caseload".into(),
        "/account".into(),
        "/master/people".into(),
    ];
    let mut found = Vec::new();
    for p in &pages {
        let res = get_page(&c, &app.url(p)).await;
        assert_eq!(res.status(), 200, "{p}");
        let html = res.text().await.unwrap();
        assert!(html.contains("<html lang=\"en\">"), "{p} is in English");
        // The sent-mail page shows the mails' own subjects (data, in both languages).
        let html = match html.find("<table id=\"notices\">") {
            Some(at) if p == "/notices" => html[..at].to_string(),
            _ => html,
        };
        if let Some(date) = japanese_date(&html) {
            found.push(format!("{p}: …{date}…"));
        }
    }
    assert!(
        found.is_empty(),
        "Japanese dates on English pages:\n{}",
        found.join("\n")
    );

    // The answer page, through a delivered invitation's link: Japanese by default, English by
    // the link's `?lang=en` (the mail's English link), kept by the switch and the form.
    let received = d.smtp.wait_for(1, Duration::from_secs(60)).await;
    let mail = parse(&received[0].raw);
    let text = mail.text.as_deref().unwrap();
    let at = text.find("/answer/").expect("an answer link");
    let token: String = text[at + 8..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(
        text.contains(&format!("/answer/{token}?lang=en")),
        "the English part links to the English page:\n{text}"
    );
    assert!(
        text.contains(PHONE) && text.contains(CONTACT_EMAIL),
        "the mail names the contact:\n{text}"
    );
    assert!(
        text.contains("Answer by: Monday")
            || text.contains("Answer by: Tuesday")
            || text.contains("Answer by: Wednesday")
            || text.contains("Answer by: Thursday")
            || text.contains("Answer by: Friday"),
        "an English deadline on an open day:\n{text}"
    );
    let anonymous = crate::support::client();
    // A dead link says whom to contact, not just 「事務局にご連絡ください」.
    let gone = get_page(&anonymous, &app.url("/answer/not-a-real-token")).await;
    assert_eq!(gone.status(), 404);
    let gone = gone.text().await.unwrap();
    assert!(
        gone.contains(&format!(
            "みらい市 基幹相談支援センター（{PHONE}、{CONTACT_EMAIL}）にご連絡ください"
        )),
        "{gone}"
    );
    let ja = get_text(&anonymous, &app.url(&format!("/answer/{token}"))).await;
    assert!(ja.contains("<html lang=\"ja\">") && ja.contains("出欠のご回答"));
    assert!(
        ja.contains(&format!("href=\"/answer/{token}?lang=en\"")),
        "a switch"
    );
    let en = get_text(&anonymous, &app.url(&format!("/answer/{token}?lang=en"))).await;
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("Your answer"),
        "{en}"
    );
    assert!(japanese_date(&en).is_none(), "{en}");
    assert!(
        en.contains(&format!("href=\"/answer/{token}?lang=ja\"")),
        "{en}"
    );
    assert!(
        en.contains(&format!("action=\"/answer/{token}?lang=en\"")),
        "{en}"
    );
    assert_eq!(
        text_at(&en, "contact-office"),
        "みらい市 基幹相談支援センター"
    );
    assert!(en.contains(PHONE) && en.contains(&format!("mailto:{CONTACT_EMAIL}")));
    let res = crate::support::post_answer(
        &anonymous,
        &app.url(&format!("/answer/{token}?lang=en")),
        &[("answer", "attend")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("saved=1&lang=en"), "{to}");
    let saved = get_text(&anonymous, &app.url(&to)).await;
    assert!(saved.contains("Your answer is recorded"), "{saved}");
}
both_engines!(english_pages_and_the_answer_page_speak_english);

async fn xlsx_exports_have_typed_cells_and_import_back(engine: Engine) {
    use calamine::{Data, Reader};
    let d = demo_app(engine).await;
    let api = &d.api;
    let id = plan(api).await;
    let res = api
        .post_json(&format!("/api/v1/plans/{id}/publish"), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let sheet_of = |bytes: Vec<u8>| {
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
        book.worksheet_range_at(0).expect("a sheet").unwrap()
    };
    // The published calendar: its dates are date cells.
    let res = api
        .get("/api/v1/occurrences/export?format=xlsx&from=2027-04-01&to=2027-06-30")
        .await;
    assert_eq!(res.status(), 200);
    let sheet = sheet_of(res.bytes().await.unwrap().to_vec());
    assert!(sheet.height() > 20);
    for r in 1..sheet.height() {
        match sheet.get((r, 0)) {
            Some(Data::DateTime(dt)) => {
                let day = dt.as_datetime().unwrap().date();
                assert!(
                    ("2027-04-01".parse().unwrap()..="2027-06-30".parse().unwrap()).contains(&day),
                    "{day}"
                );
            }
            other => panic!("row {r}: the date is not a date cell: {other:?}"),
        }
    }
    // Rooms: capacities are numbers; the export imports back unchanged.
    let res = api.get("/api/v1/master/rooms/export?format=xlsx").await;
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap().to_vec();
    let sheet = sheet_of(bytes.clone());
    let headings: Vec<String> = (0..sheet.width())
        .map(|c| sheet.get((0, c)).unwrap().to_string())
        .collect();
    let capacity = headings
        .iter()
        .position(|h| h == "capacity")
        .unwrap_or_else(|| panic!("{headings:?}"));
    let code = headings.iter().position(|h| h == "code").unwrap();
    for r in 1..sheet.height() {
        assert!(
            matches!(sheet.get((r, capacity)), Some(Data::Float(_))),
            "row {r}: capacity {:?}",
            sheet.get((r, capacity))
        );
        assert!(
            matches!(sheet.get((r, code)), Some(Data::String(_))),
            "codes stay text: {:?}",
            sheet.get((r, code))
        );
    }
    let res = api
        .post_bytes("/api/v1/master/rooms/import?format=xlsx", bytes)
        .await;
    let status = res.status();
    let report: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["errors"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    // The annual report's meeting list: dates are dates, figures are numbers.
    let res = api
        .get("/api/v1/reports/annual?fiscal_year=2027&format=xlsx")
        .await;
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap().to_vec();
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let names = book.sheet_names().to_vec();
    let mut dates = 0;
    for name in names {
        let sheet = book.worksheet_range(&name).unwrap();
        for row in sheet.rows() {
            if let Some(Data::DateTime(_)) = row.first() {
                dates += 1;
            }
        }
    }
    assert!(dates > 20, "meeting dates as date cells: {dates}");
}
both_engines!(xlsx_exports_have_typed_cells_and_import_back);

/// A community bed that fits a woman with an intellectual disability on `from`..`to`.
async fn community_bed(api: &Api, from: &str, to: &str) -> (i64, String) {
    let res = api
        .post_json(
            "/api/v1/placement/search",
            &json!({"from": from, "to": to, "sex": "female", "disability_types": ["intellectual"]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let found: Value = res.json().await.unwrap();
    let bed = found["whole"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["hub_room"] == false)
        .unwrap_or_else(|| panic!("a community bed: {found}"));
    (
        bed["bed_id"].as_i64().unwrap(),
        bed["facility_name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// A request proposed on a community bed; returns (request, hold).
async fn proposed(api: &Api, case: &str, from: &str, to: &str) -> (i64, i64) {
    let res = api
        .post_json(
            "/api/v1/placement/requests",
            &crate::placement::request_body(case, "female", from, to, &["intellectual"]),
        )
        .await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let (bed, _) = community_bed(api, from, to).await;
    let res = api
        .post_json(
            &format!("/api/v1/placement/requests/{id}/propose"),
            &json!({"segments": [{"bed_id": bed, "from": from, "to": to}]}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let hold = res.json::<Value>().await.unwrap()["holds"][0]
        .as_i64()
        .unwrap();
    (id, hold)
}

async fn withdrawing_and_ending_placements_are_confirmed(engine: Engine) {
    let d = demo_app(engine).await;
    let app = &d.app;
    let hub_user = app
        .db()
        .user_by_username(renkei::demo::placement::DEMO_HUB_USERNAME)
        .await
        .unwrap()
        .unwrap();
    let hub = app.api(&create_api_token(app.db(), &hub_user, "test").await.unwrap());
    let c = crate::support::client();
    let res = crate::support::login(
        &c,
        app,
        renkei::demo::placement::DEMO_HUB_USERNAME,
        DEMO_PASSWORD,
        Some("/"),
    )
    .await;
    assert_eq!(res.status(), 303);

    // Withdrawing: the page names the facility whose hold is released and asks first.
    let (id, _) = proposed(&hub, "CONF-1", "2027-03-01", "2027-03-03").await;
    let url = app.url(&format!("/placement/requests/{id}"));
    let page = get_text(&c, &url).await;
    let consequence = text_at(&page, "withdraw-consequence");
    assert!(
        consequence.contains("打診中の1施設") && consequence.contains("取り下げのお知らせ"),
        "{consequence}"
    );
    let csrf = hidden_field(&page, "csrf").unwrap();
    let res = post_form(
        &c,
        &format!("{url}/withdraw"),
        &[("csrf", &csrf), ("reason", "家族が迎えに来た")],
    )
    .await;
    assert_eq!(res.status(), 422, "not withdrawn without the box ticked");
    let r: Value = hub
        .get_json(&format!("/api/v1/placement/requests/{id}"))
        .await;
    assert_ne!(r["status"], "withdrawn", "{r}");
    let res = post_form(
        &c,
        &format!("{url}/withdraw"),
        &[
            ("csrf", &csrf),
            ("reason", "家族が迎えに来た"),
            ("understood", "1"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let page = get_text(&c, &url).await;
    let told = notice_total(&hub, "kind=placement_withdrawn").await;
    assert!(
        text_at(&page, "flash").contains(&format!("{told}施設に取り下げのお知らせ")),
        "{}",
        text_at(&page, "flash")
    );
    let r: Value = hub
        .get_json(&format!("/api/v1/placement/requests/{id}"))
        .await;
    assert_eq!(r["status"], "withdrawn", "{r}");

    // Ending a stay: the page says the bed becomes free, and asks first.
    let (id, hold) = proposed(&hub, "CONF-2", "2027-03-10", "2027-03-13").await;
    let res = hub
        .post_json(
            &format!("/api/v1/placement/holds/{hold}/answer"),
            &json!({"accept": true}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let url = app.url(&format!("/placement/requests/{id}"));
    let page = get_text(&c, &url).await;
    let csrf = hidden_field(&page, "csrf").unwrap();
    let res = post_form(&c, &format!("{url}/confirm"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), 303);
    let page = get_text(&c, &url).await;
    assert!(text_at(&page, "flash").contains("入所を確定しました"));
    assert!(text_at(&page, "end-consequence").contains("退所日の夜からベッドは空きに戻り"));
    let form = [
        ("csrf", csrf.as_str()),
        ("check_out", "2027-03-12"),
        ("reason", "帰宅"),
    ];
    let res = post_form(&c, &format!("{url}/end"), &form).await;
    assert_eq!(res.status(), 422, "not ended without the box ticked");
    let mut ticked = form.to_vec();
    ticked.push(("understood", "1"));
    let res = post_form(&c, &format!("{url}/end"), &ticked).await;
    assert_eq!(res.status(), 303);
    let page = get_text(&c, &url).await;
    assert!(text_at(&page, "flash").contains("入所を終了しました"));
    let r: Value = hub
        .get_json(&format!("/api/v1/placement/requests/{id}"))
        .await;
    assert_eq!(r["status"], "ended", "{r}");

    // The facility's no-login page follows its link's language and names the contact.
    let facilities: Value = hub.get_json("/api/v1/placement/facilities").await;
    let f = facilities[0]["id"].as_i64().unwrap();
    let res = hub
        .post_json(
            &format!("/api/v1/placement/facilities/{f}/link"),
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let url = res.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let path = url[url.find("/facility/").unwrap()..].to_string();
    let anonymous = crate::support::client();
    let en = get_text(&anonymous, &app.url(&format!("{path}?lang=en"))).await;
    assert!(en.contains("<html lang=\"en\">"), "{en}");
    assert!(en.contains(&format!("href=\"{path}?lang=ja\"")), "a switch");
    assert!(
        en.contains(&format!("action=\"{path}?lang=en\"")),
        "kept by the form"
    );
    assert!(en.contains(PHONE) && en.contains(CONTACT_EMAIL), "{en}");
    let ja = get_text(&anonymous, &app.url(&path)).await;
    assert!(ja.contains("<html lang=\"ja\">") && ja.contains("お問い合わせ先"));
}
both_engines!(withdrawing_and_ending_placements_are_confirmed);
