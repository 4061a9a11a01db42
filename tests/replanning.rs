//! Re-planning against the published calendar, on both engines: the demo's fiscal year planned
//! and published quarter by quarter has the counts of the year planned whole.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::both_engines;
use crate::meetings::{demo_app, plan, publish, PLANNING_DATE};
use crate::support::{Api, Engine};

/// Scheduled occurrences of FY2027 per series key.
async fn counts(api: &Api) -> BTreeMap<String, usize> {
    let v: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2028-03-31")
        .await;
    let mut out = BTreeMap::new();
    for o in v.as_array().unwrap_or_else(|| panic!("{v}")) {
        if o["status"] == "scheduled" {
            *out.entry(o["series_key"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    out
}

async fn plan_and_publish(api: &Api, period: &str, seconds: u32) -> Value {
    let (id, run) = plan(
        api,
        &json!({"period": period, "planning_date": PLANNING_DATE, "time_limit_seconds": seconds}),
    )
    .await;
    let result = &run["result"];
    assert_eq!(result["valid"], true, "{period}: {}", result["violations"]);
    // The run says whose plan it holds: the demo's quarters and year are proven optimal
    // (the optimizer's plan, or the baseline when the optimizer proved nothing beats it).
    assert_eq!(
        result["plan"]["status"], "optimal",
        "{period}: {}",
        result["plan"]
    );
    assert!(
        ["optimizer", "baseline"].contains(&run["result_method"].as_str().unwrap_or("")),
        "{period}: {} {}",
        run["result_method"],
        result["plan"]
    );
    assert!(
        run["result_note"].is_null(),
        "{period}: {}",
        run["result_note"]
    );
    let (status, summary) = publish(api, id).await;
    assert_eq!(status, 200, "{period}: {summary}");
    run
}

async fn quarter_by_quarter_is_the_whole_year(engine: Engine) {
    let (whole_app, token) = demo_app(engine).await;
    let whole_api = whole_app.api(&token);
    plan_and_publish(&whole_api, "FY2027", 60).await;
    let whole = counts(&whole_api).await;

    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    for q in ["2027Q1", "2027Q2", "2027Q3", "2027Q4"] {
        plan_and_publish(&api, q, 30).await;
    }
    let by_quarters = counts(&api).await;
    let differ: Vec<String> = whole
        .keys()
        .chain(by_quarters.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| whole.get(*k) != by_quarters.get(*k))
        .map(|k| {
            format!(
                "{k}: year {:?}, quarters {:?}",
                whole.get(k),
                by_quarters.get(k)
            )
        })
        .collect();
    eprintln!(
        "{engine:?}: {} occurrences planned whole, {} quarter by quarter, {} series differ",
        whole.values().sum::<usize>(),
        by_quarters.values().sum::<usize>(),
        differ.len()
    );
    assert!(differ.is_empty(), "{differ:#?}");
}

both_engines!(quarter_by_quarter_is_the_whole_year);

/// No meeting before today plus the minimum notice (14 days by default), whatever planning
/// date the request names; a period that ends sooner is refused with the earliest date.
async fn nothing_before_the_notice(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let today = (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive();
    let earliest = today + chrono::Duration::days(14);
    let (_, run) = plan(
        &api,
        &json!({
            "from": today.to_string(),
            "to": (today + chrono::Duration::days(45)).to_string(),
            "planning_date": (today - chrono::Duration::days(30)).to_string(),
            "time_limit_seconds": 10,
        }),
    )
    .await;
    let occurrences = run["result"]["occurrences"]
        .as_array()
        .unwrap_or_else(|| panic!("{run}"));
    assert!(
        !occurrences.is_empty(),
        "the weeks after the notice get meetings: {run}"
    );
    for o in occurrences {
        let date: chrono::NaiveDate = o["date"].as_str().unwrap().parse().unwrap();
        assert!(
            date >= earliest,
            "{date} is before today + 14 days ({earliest}): {o}"
        );
    }
    let (status, body) = crate::meetings::status_json(
        api.post_json(
            "/api/v1/plans",
            &json!({"from": today.to_string(), "to": (today + chrono::Duration::days(10)).to_string()}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let text = body.to_string();
    assert!(
        text.contains(&earliest.to_string()),
        "names the earliest date: {text}"
    );
}

both_engines!(nothing_before_the_notice);

/// The change budget after an absence hits a published meeting: `affected` (the default)
/// moves that meeting only, `none` moves nothing and says why no plan exists, `free` may
/// move more; an unknown budget is refused.
async fn the_change_budget_decides_what_moves(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    plan_and_publish(&api, "2027Q1", 20).await;
    let rows: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30")
        .await;
    let rows = rows.as_array().unwrap();
    // A mid-quarter meeting of a monthly series and one of its required invitees.
    let target = rows
        .iter()
        .filter(|o| o["date"].as_str().unwrap() >= "2027-05-10")
        .find(|o| crate::support::first_required(o).is_some())
        .expect("a published meeting with a required invitee");
    let person = crate::support::first_required(target).unwrap();
    let date = target["date"].as_str().unwrap();
    let res = api
        .post_json(
            &format!("/api/v1/people/{person}/absences"),
            &json!({"from": date, "reason": "研修"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

    let request = |changes: &str| json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "time_limit_seconds": 20, "changes": changes});
    // affected: only the hit meeting changes its date; every other keeps its date.
    let (_, run) = plan(&api, &request("affected")).await;
    let result = &run["result"];
    assert_eq!(result["valid"], true, "{}", result["violations"]);
    let changes = result["changes"].as_array().unwrap();
    let moved: Vec<&Value> = changes
        .iter()
        .filter(|c| c["before"]["date"] != c["after"]["date"])
        .collect();
    assert_eq!(moved.len(), 1, "only the hit meeting moves: {changes:#?}");
    assert_eq!(moved[0]["before"]["date"], date, "{changes:#?}");
    let notes = run["notes"].to_string();
    assert!(notes.contains("開催できなくなった1件だけ"), "{notes}");

    // none: nothing may move, so no plan, and the reason names the meeting that cannot be held.
    let (_, run) = plan(&api, &request("none")).await;
    assert!(
        !run["result"]["infeasibility"].is_null(),
        "keeping every meeting is impossible after the absence: {}",
        run["result"]
    );

    // free: a valid plan.
    let (_, run) = plan(&api, &request("free")).await;
    assert_eq!(
        run["result"]["valid"], true,
        "{}",
        run["result"]["violations"]
    );

    let (status, body) =
        crate::meetings::status_json(api.post_json("/api/v1/plans", &request("sometimes")).await)
            .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        crate::meetings::field_names(&body).contains(&"changes".to_string()),
        "{body}"
    );

    // Publishing the `affected` plan moves the meeting and keeps what it was, so that its
    // update mail shows before → after (issue 16).
    let (id, _) = plan(&api, &request("affected")).await;
    let (status, body) = publish(&api, id).await;
    assert_eq!(status, 200, "{body}");
    let moved_id = target["id"].as_i64().unwrap();
    let now: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30")
        .await;
    let row = now
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == moved_id)
        .expect("the meeting is still published");
    assert_ne!(row["date"], date, "it moved: {row}");
    let m = app
        .db()
        .municipality_by_code(renkei::demo::data::demo_dataset().municipality_code)
        .await
        .unwrap()
        .unwrap()
        .id;
    let before = app
        .db()
        .occurrence_before(m, moved_id, row["sequence"].as_i64().unwrap())
        .await
        .unwrap()
        .expect("what it was is kept");
    assert_eq!(before.0, date);
    assert_eq!(before.1, target["start"].as_str().unwrap());
}

both_engines!(the_change_budget_decides_what_moves);

/// A municipality's settings and a person's own hours and limits reach the plan: the staff
/// day (here 9:30-16:00), two meetings a day for everyone, and one person who works Monday to
/// Thursday afternoons with one meeting a day. Bad settings name each field at fault.
async fn hours_and_limits_per_person_and_municipality(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let s: Value = api.get_json("/api/v1/settings").await;
    assert_eq!(s["effective"]["staff_hours"], "mon-fri 08:30-17:30", "{s}");
    assert_eq!(s["effective"]["min_notice_days"], 14, "{s}");
    assert_eq!(s["effective"]["max_meetings_per_day"], 4, "{s}");
    assert!(s["min_notice_days"].is_null(), "nothing set yet: {s}");

    let put = |body: Value| {
        let api = &api;
        async move { crate::meetings::status_json(api.put_json("/api/v1/settings", &body).await).await }
    };
    let (status, body) = put(json!({"staff_hours": "月-金 9時から", "min_notice_days": 1,
        "max_meetings_per_day": 0, "max_hours_per_day": 2.25}))
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        crate::meetings::field_names(&body),
        [
            "staff_hours",
            "min_notice_days",
            "max_meetings_per_day",
            "max_hours_per_day"
        ],
        "{body}"
    );
    let unchanged: Value = api.get_json("/api/v1/settings").await;
    assert_eq!(unchanged, s, "a refused body changes nothing");
    let (status, body) =
        put(json!({"staff_hours": "mon-fri 09:30-16:00", "max_meetings_per_day": 2})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["effective"]["staff_hours"], "mon-fri 09:30-16:00",
        "{body}"
    );
    assert_eq!(body["effective"]["max_meetings_per_day"], 2, "{body}");
    assert_eq!(
        body["effective"]["max_hours_per_day"], 6.0,
        "the service's: {body}"
    );

    // The person required most often in the quarter gets their own hours and limit.
    let (_, first) = plan(
        &api,
        &json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "time_limit_seconds": 20}),
    )
    .await;
    let mut often: BTreeMap<i64, usize> = BTreeMap::new();
    for o in first["result"]["occurrences"]
        .as_array()
        .unwrap_or_else(|| panic!("{first}"))
    {
        for a in o["attendees"].as_array().unwrap() {
            *often.entry(a.as_i64().unwrap()).or_default() += 1;
        }
    }
    let (&person, _) = often
        .iter()
        .max_by_key(|(id, n)| (**n, -**id))
        .expect("attendees");
    let mut record: Value = api
        .get_json(&format!("/api/v1/master/people/{person}"))
        .await;
    let record = record.as_object_mut().unwrap();
    for k in ["id", "organisation_id", "organisation_name"] {
        record.remove(k);
    }
    record.insert("working_hours".into(), json!("mon-thu 13:00-17:00"));
    record.insert("max_meetings_per_day".into(), json!(1));
    record.insert("max_hours_per_day".into(), json!(null));
    if record["organisation_code"].is_null() {
        record.insert("organisation_code".into(), json!(""));
    }
    let res = api
        .put_json(
            &format!("/api/v1/master/people/{person}"),
            &Value::Object(record.clone()),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let back: Value = api
        .get_json(&format!("/api/v1/master/people/{person}"))
        .await;
    assert_eq!(back["working_hours"], "mon-thu 13:00-17:00", "{back}");
    assert_eq!(back["max_meetings_per_day"], 1, "{back}");

    plan_and_publish(&api, "2027Q1", 30).await;
    let rows: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30")
        .await;
    let mut per_day: BTreeMap<(i64, String), usize> = BTreeMap::new();
    let mut theirs = 0;
    for o in rows.as_array().unwrap() {
        let date: chrono::NaiveDate = o["date"].as_str().unwrap().parse().unwrap();
        let (start, end) = (o["start"].as_str().unwrap(), o["end"].as_str().unwrap());
        for a in o["attendees"].as_array().unwrap() {
            if a["required"] != true {
                continue;
            }
            let id = a["person_id"].as_i64().unwrap();
            *per_day
                .entry((id, o["date"].as_str().unwrap().into()))
                .or_default() += 1;
            use chrono::Datelike;
            let weekday = date.weekday().num_days_from_monday();
            let (days, from, to) = if id == person {
                theirs += 1;
                (3, "13:00", "17:00")
            } else {
                (4, "09:30", "16:00")
            };
            assert!(
                weekday <= days && start >= from && end <= to,
                "person {id} at {date} {start}-{end} outside their hours: {o}"
            );
        }
    }
    assert!(theirs > 0, "the person still has meetings");
    for ((id, date), n) in per_day {
        let limit = if id == person { 1 } else { 2 };
        assert!(
            n <= limit,
            "person {id} is required at {n} meetings on {date}"
        );
    }
}

both_engines!(hours_and_limits_per_person_and_municipality);

/// The settings page: shows what planning uses, keeps what was typed and says what is wrong,
/// saves and says so.
async fn the_settings_page_saves_and_explains(engine: Engine) {
    use renkei::demo::{DEMO_PASSWORD, DEMO_USERNAME};
    let (app, token) = demo_app(engine).await;
    let c = crate::support::client();
    let res = crate::support::login(&c, &app, DEMO_USERNAME, DEMO_PASSWORD, Some("/")).await;
    assert_eq!(res.status(), 303);
    let url = app.url("/settings");
    let page = crate::support::get_text(&c, &url).await;
    assert!(page.contains("自治体の設定"), "{page}");
    assert!(
        page.contains("mon-fri 08:30-17:30"),
        "the effective hours: {page}"
    );
    let csrf = crate::support::csrf_token(&c, &url).await;
    let bad = [
        ("csrf", csrf.as_str()),
        ("staff_hours", "mon-fri 09:00-16:00"),
        ("min_notice_days", "二週間"),
        ("max_meetings_per_day", "3"),
        ("max_hours_per_day", ""),
    ];
    let res = crate::support::post_form(&c, &url, &bad).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("「二週間」は整数ではありません"), "{page}");
    assert!(
        page.contains("value=\"mon-fri 09:00-16:00\""),
        "what was typed stays: {page}"
    );
    let api = app.api(&token);
    let s: Value = api.get_json("/api/v1/settings").await;
    assert_eq!(
        s["staff_hours"], "mon-fri 08:30-17:30",
        "nothing saved: {s}"
    );

    let good = [
        ("csrf", csrf.as_str()),
        ("staff_hours", "mon-fri 09:00-16:00"),
        ("min_notice_days", "21"),
        ("max_meetings_per_day", "3"),
        ("max_hours_per_day", "4.5"),
    ];
    let res = crate::support::post_form(&c, &url, &good).await;
    assert_eq!(res.status(), 303);
    let page = crate::support::get_text(&c, &app.url("/settings?saved=1")).await;
    assert!(page.contains("設定を保存しました"), "{page}");
    let s: Value = api.get_json("/api/v1/settings").await;
    assert_eq!(s["staff_hours"], "mon-fri 09:00-16:00", "{s}");
    assert_eq!(s["min_notice_days"], 21, "{s}");
    assert_eq!(s["max_hours_per_day"], 4.5, "{s}");
    let audit: Value = api.get_json("/api/v1/audit?limit=5").await;
    assert!(
        audit.to_string().contains("notice 21"),
        "the change is audited: {audit}"
    );
}

both_engines!(the_settings_page_saves_and_explains);
