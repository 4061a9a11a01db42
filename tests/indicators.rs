//! Indicators through the HTTP API on the demo (みらい市, Hiratsuka's indicator table): the
//! fiscal-year plan meets every target, declining answers lower the expected figure and the
//! proposal restores it (invitations; a re-plan with the indicators as targets), the annual
//! report opens as a spreadsheet with the dashboard's numbers, and recording held meetings.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use renkei::store::notices::Answer;
use renkei::store::tenancy::MunicipalityId;
use serde_json::{json, Value};

use crate::both_engines;
use crate::meetings::{
    demo_app, field_names, plan, plan_history, publish, status_json, wait_plan, PLANNING_DATE,
};
use crate::support::{Api, Engine, TestApp};

/// The figures of a fiscal year by indicator code: (target, planned, expected, actual).
pub async fn figures(api: &Api, fy: &str) -> (HashMap<String, (u64, u64, u64, u64)>, Value) {
    let body: Value = api
        .get_json(&format!("/api/v1/indicators/figures?fiscal_year={fy}"))
        .await;
    let map = body["figures"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|f| {
            let n = |k: &str| f[k].as_u64().unwrap_or_else(|| panic!("{k} in {f}"));
            (
                f["code"].as_str().unwrap().to_string(),
                (n("target"), n("planned"), n("expected"), n("actual")),
            )
        })
        .collect();
    (map, body)
}

async fn occurrences(api: &Api) -> Vec<Value> {
    let v: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2028-03-31&limit=1000")
        .await;
    v.as_array().unwrap_or_else(|| panic!("{v}")).clone()
}

/// An invitee's answer, recorded as the answer page records it.
async fn answer(app: &TestApp, m: MunicipalityId, occurrence: i64, person: i64, answer: &str) {
    crate::support::record_link_answer(
        app.db(),
        m,
        occurrence,
        person,
        &Answer {
            answer: answer.into(),
            deputy_name: String::new(),
            deputy_organisation: String::new(),
            comment: String::new(),
        },
    )
    .await;
}

async fn decline(app: &TestApp, m: MunicipalityId, occurrence: i64, person: i64) {
    answer(app, m, occurrence, person, "decline").await;
}

/// The demo municipality's id.
async fn demo_municipality(app: &TestApp) -> MunicipalityId {
    app.db()
        .municipality_by_code(renkei::demo::data::demo_dataset().municipality_code)
        .await
        .unwrap()
        .expect("the demo is loaded")
        .id
}

/// The "done when" of the indicators, end to end on the demo. SQLite only: the fiscal-year
/// solve is the same on both engines (the store paths are covered on both below).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fiscal_year_meets_hiratsuka_and_declines_are_restored() {
    let (app, token) = demo_app(Engine::Sqlite).await;
    let api = app.api(&token);
    let m = demo_municipality(&app).await;

    // The demo carries Hiratsuka's table for FY2027, exactly.
    let defs: Value = api.get_json("/api/v1/indicators?fiscal_year=2027").await;
    let targets: Vec<(String, u64)> = defs
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["target"].as_u64().unwrap(),
            )
        })
        .collect();
    for (code, target) in [
        ("VISITS", 1),
        ("HR-SUPPORT", 1),
        ("COOPERATION", 1),
        ("VERIFICATIONS", 24),
        ("SENIOR-SPECIALISTS", 3),
        ("CASE-REVIEWS", 3),
        ("PARTICIPANTS", 18),
        ("SUBCOMMITTEES", 4),
        ("SUBCOMMITTEE-MEETINGS", 39),
    ] {
        assert!(
            targets.contains(&(code.to_string(), target)),
            "{code} ≥ {target} in {targets:?}"
        );
    }

    // Plan the fiscal year: the optimizer takes the indicators as targets and meets them all.
    let (id, run) = plan(
        &api,
        &json!({"period": "FY2027", "planning_date": PLANNING_DATE, "time_limit_seconds": 60}),
    )
    .await;
    let result = &run["result"];
    assert_eq!(result["valid"], true, "{}", result["violations"]);
    eprintln!(
        "FY2027 plan: method {}, {} occurrences, gap {}, {:.1} s",
        result["method"],
        result["occurrences"].as_array().map_or(0, |o| o.len()),
        result["plan"]["gap"],
        result["seconds"].as_f64().unwrap_or(0.0)
    );
    let outcomes = result["targets"].as_array().expect("target outcomes");
    assert!(!outcomes.is_empty(), "{result}");
    for t in outcomes {
        assert_eq!(t["met"], true, "every target the plan can meet is met: {t}");
    }
    let (s, summary) = publish(&api, id).await;
    assert_eq!(s, 200, "{summary}");

    // Hiratsuka (000): 参加事業者・機関数「18以上」 counts those taking part: an invitation is
    // not participation, so before anyone answers the reviews' optional invitees count nothing.
    let (fig, _) = figures(&api, "2027").await;
    assert_eq!(fig["PARTICIPANTS"].1, 0, "{:?}", fig["PARTICIPANTS"]);
    let occs = occurrences(&api).await;
    let reviews: Vec<&Value> = occs
        .iter()
        .filter(|o| o["series_key"] == "OFFICE-CASE-REVIEW" && o["status"] == "scheduled")
        .collect();
    assert!(reviews.len() >= 3, "{reviews:?}");
    // Optional invitees of the reviews by organisation; each says it comes.
    let mut by_org: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for r in &reviews {
        for a in r["attendees"].as_array().unwrap() {
            if a["required"] == false {
                if let Some(org) = a["organisation_id"].as_i64() {
                    by_org
                        .entry(org)
                        .or_default()
                        .push((r["id"].as_i64().unwrap(), a["person_id"].as_i64().unwrap()));
                }
            }
        }
    }
    for invitations in by_org.values() {
        for (occ, person) in invitations {
            answer(&app, m, *occ, *person, "attend").await;
        }
    }

    // The dashboard: four figures per indicator, every Hiratsuka target planned and expected.
    let (fig, body) = figures(&api, "2027").await;
    for code in [
        "VISITS",
        "HR-SUPPORT",
        "COOPERATION",
        "VERIFICATIONS",
        "SENIOR-SPECIALISTS",
        "CASE-REVIEWS",
        "PARTICIPANTS",
        "SUBCOMMITTEES",
        "SUBCOMMITTEE-MEETINGS",
    ] {
        let (target, planned, expected, actual) = fig[code];
        assert!(
            planned >= target,
            "{code}: planned {planned} < target {target}: {body}"
        );
        assert!(
            expected >= target,
            "{code}: expected {expected} < target {target}"
        );
        if code != "SENIOR-SPECIALISTS" {
            assert_eq!(actual, 0, "{code}: nothing held yet in FY2027");
        }
    }
    assert_eq!(
        fig["VISITS"].0, 40,
        "the demo has 40 consultation offices to visit"
    );
    assert!(
        body["proposals"].as_array().unwrap().is_empty(),
        "nothing to propose while on track: {}",
        body["proposals"]
    );

    // Declines: organisations that decline every case review no longer take part.
    let (_, _, expected_orgs, _) = fig["PARTICIPANTS"];
    assert!(expected_orgs >= 18);
    // Decline for enough organisations to bring the figure to 15.
    let mut orgs: Vec<i64> = by_org.keys().copied().collect();
    orgs.sort();
    let drop = (expected_orgs - 15) as usize;
    for org in orgs.iter().take(drop) {
        for (occ, person) in &by_org[org] {
            decline(&app, m, *occ, *person).await;
        }
    }
    let (fig, body) = figures(&api, "2027").await;
    let (_, planned_now, expected_now, _) = fig["PARTICIPANTS"];
    assert_eq!(
        (planned_now, expected_now),
        (15, 15),
        "a decline withdraws the organisation"
    );
    let standing = body["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "PARTICIPANTS")
        .unwrap()["standing"]
        .clone();
    assert_eq!(standing, "short");
    let proposal = body["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["indicator"] == "PARTICIPANTS")
        .unwrap_or_else(|| panic!("a proposal for PARTICIPANTS: {}", body["proposals"]))
        .clone();
    assert_eq!(proposal["action"]["type"], "invite", "{proposal}");
    assert!(
        proposal["text"]["ja"].as_str().unwrap().contains("招待"),
        "{proposal}"
    );

    // Carrying it out invites organisations that have not taken part, with invitations.
    let (s, acted) = status_json(
        api.post_json(
            "/api/v1/indicators/PARTICIPANTS/act?fiscal_year=2027",
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 202, "{acted}");
    let invited = acted["invited"].as_u64().unwrap();
    assert!(invited >= 3, "{acted}");
    let target_occ = acted["action"]["occurrence_id"].as_i64().unwrap();
    let notices: Value = api
        .get_json(&format!("/api/v1/occurrences/{target_occ}/notices"))
        .await;
    let new_invitations = notices
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "invitation")
        .count();
    assert!(new_invitations as u64 >= invited, "{notices}");
    // The new invitees count once they say they come.
    let (fig, _) = figures(&api, "2027").await;
    assert_eq!(fig["PARTICIPANTS"].2, 15, "{:?}", fig["PARTICIPANTS"]);
    for person in acted["action"]["people"].as_array().unwrap() {
        answer(&app, m, target_occ, person.as_i64().unwrap(), "attend").await;
    }
    let (fig, _) = figures(&api, "2027").await;
    assert!(
        fig["PARTICIPANTS"].2 >= 18,
        "the proposal restores the expected figure: {:?}",
        fig["PARTICIPANTS"]
    );
    // Carrying it out again adds nobody twice (the proposal is gone).
    let (s, again) = status_json(
        api.post_json(
            "/api/v1/indicators/PARTICIPANTS/act?fiscal_year=2027",
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 409, "{again}");

    // Required invitees decline case verifications until 23 are expected: the proposal is a
    // re-plan, which moves them to days the invitees can come (a decline counts as absence).
    let planned_verifications = fig["VERIFICATIONS"].1;
    let verifications: Vec<&Value> = occs
        .iter()
        .filter(|o| o["series_key"] == "VERIFICATION" && o["status"] == "scheduled")
        .collect();
    assert_eq!(verifications.len() as u64, planned_verifications);
    let mut declined: Vec<(i64, String)> = Vec::new();
    for v in verifications
        .iter()
        .take((planned_verifications - 23) as usize)
    {
        let required = crate::support::first_required(v).unwrap();
        decline(&app, m, v["id"].as_i64().unwrap(), required).await;
        declined.push((required, v["date"].as_str().unwrap().to_string()));
    }
    let (fig, body) = figures(&api, "2027").await;
    assert_eq!(fig["VERIFICATIONS"].2, 23, "{:?}", fig["VERIFICATIONS"]);
    let p = body["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["indicator"] == "VERIFICATIONS")
        .unwrap_or_else(|| panic!("{}", body["proposals"]))
        .clone();
    assert_eq!(p["action"]["type"], "replan", "{p}");
    let (s, acted) = status_json(
        api.post_json(
            "/api/v1/indicators/VERIFICATIONS/act?fiscal_year=2027",
            &json!({"time_limit_seconds": 30}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 202, "{acted}");
    let run_id = acted["plan_run_id"].as_i64().unwrap();
    let run = wait_plan(&api, run_id).await;
    assert_eq!(run["result"]["valid"], true, "{}", run["result"]);
    let (s, summary) = publish(&api, run_id).await;
    assert_eq!(s, 200, "{summary}");
    assert!(summary["moved"].as_u64().unwrap() >= 1, "{summary}");
    // The moved meetings' answers are cleared (everyone is asked again), yet each declined
    // day stays unavailable to the person in every later plan.
    let snap = app.db().planning_snapshot(m).await.unwrap();
    for (person, day) in &declined {
        let day: chrono::NaiveDate = day.parse().unwrap();
        let p = snap.people.iter().find(|p| p.id == *person).unwrap();
        assert!(
            p.absences.iter().any(|a| a.from <= day && day <= a.to),
            "{person} declined {day}: still unavailable then"
        );
    }
    let (fig, _) = figures(&api, "2027").await;
    assert!(
        fig["VERIFICATIONS"].2 >= 24,
        "the re-plan restores the expected figure: {:?}",
        fig["VERIFICATIONS"]
    );
    assert!(
        fig["PARTICIPANTS"].2 >= 18,
        "the invitations survive publishing the re-plan: {:?}",
        fig["PARTICIPANTS"]
    );

    // The annual report as a spreadsheet: the indicator sheet has the dashboard's numbers.
    let (fig, _) = figures(&api, "2027").await;
    let res = api
        .get("/api/v1/reports/annual?fiscal_year=2027&format=xlsx")
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = res.bytes().await.unwrap();
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("an XLSX file");
    let names = book.sheet_names().to_vec();
    assert_eq!(names, ["指標", "活動実績", "月別", "会議一覧"]);
    let sheet = book.worksheet_range("指標").unwrap();
    let mut seen = 0;
    for row in sheet.rows().skip(4) {
        let code = row[0].to_string();
        let num = |c: usize| match &row[c] {
            Data::Float(f) => *f as u64,
            other => panic!("{code} column {c} is a number cell: {other:?}"),
        };
        let (t, p, e, a) = fig[&code];
        assert_eq!((num(2), num(3), num(4), num(5)), (t, p, e, a), "{code}");
        seen += 1;
    }
    assert_eq!(seen, fig.len());
    app.stop().await;
}

/// Recording meetings on both engines: held with who came (default: the confirmed answers),
/// not held with a reason, cancellations; the figures, the drill-down and the monthly report
/// follow; bad input is refused with the field at fault.
async fn recording_held_meetings(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let m = demo_municipality(&app).await;
    // Last summer's verifications, planned then and published.
    let (id, run) = plan_history(&app, &api, "2026-07-01", "2026-09-30", &["VERIFICATION"]).await;
    assert_eq!(run["result"]["valid"], true, "{}", run["result"]);
    assert_eq!(run["method"], "greedy");
    assert_eq!(
        run["result_method"], "baseline",
        "a greedy run's plan is the baseline"
    );
    let (s, summary) = publish(&api, id).await;
    assert_eq!(s, 200, "{summary}");
    let v: Value = api
        .get_json("/api/v1/occurrences?from=2026-07-01&to=2026-09-30")
        .await;
    let occs = v.as_array().unwrap();
    assert!(occs.len() >= 3, "{v}");
    let (first, second, third) = (&occs[0], &occs[1], &occs[2]);
    let id1 = first["id"].as_i64().unwrap();
    let person = first["attendees"][0]["person_id"].as_i64().unwrap();

    // Held: without a list, who confirmed is who came.
    answer(&app, m, id1, person, "attend").await;
    let (s, body) = status_json(
        api.post_json(
            &format!("/api/v1/occurrences/{id1}/record"),
            &json!({"outcome": "held", "minutes_url": "https://example.jp/minutes/1", "external_participants": 2}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    // Not held, with its reason; and one cancelled (the reason is recorded too).
    let id2 = second["id"].as_i64().unwrap();
    let (s, body) = status_json(
        api.post_json(
            &format!("/api/v1/occurrences/{id2}/record"),
            &json!({"outcome": "not_held", "reason": "台風のため"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let id3 = third["id"].as_i64().unwrap();
    let (s, body) = status_json(
        api.post_json(
            &format!("/api/v1/occurrences/{id3}/cancel"),
            &json!({"reason": "講師の都合"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 202, "{body}");

    let (fig, _) = figures(&api, "2026").await;
    let (target, planned, expected, actual) = fig["VERIFICATIONS"];
    assert_eq!(target, 24);
    assert_eq!(
        planned,
        occs.len() as u64 - 1,
        "the cancelled one is off the plan"
    );
    assert_eq!(actual, 1);
    assert_eq!(
        expected,
        occs.len() as u64 - 2,
        "neither the not-held nor the cancelled"
    );
    let drill: Value = api
        .get_json("/api/v1/indicators/VERIFICATIONS/occurrences?fiscal_year=2026")
        .await;
    let states: HashMap<i64, String> = drill["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_i64().unwrap(),
                o["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(states[&id1], "held");
    assert_eq!(states[&id2], "not_held");
    assert_eq!(states[&id3], "not_held");

    // The month of the first: held 1 with 1 invitee and 2 from outside, the reasons listed.
    let month = &first["date"].as_str().unwrap()[..7];
    let r: Value = api
        .get_json(&format!("/api/v1/reports/monthly?month={month}"))
        .await;
    let k = r["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "case_verification")
        .unwrap_or_else(|| panic!("{r}"));
    assert!(k["held"].as_u64().unwrap() >= 1, "{k}");
    assert_eq!(k["participants"], 3, "{k}");
    let meeting = r["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id1)
        .unwrap();
    assert_eq!(meeting["minutes_url"], "https://example.jp/minutes/1");

    // Bad input: each names its field and changes nothing.
    for (body, field) in [
        (json!({"outcome": "maybe"}), "outcome"),
        (json!({"outcome": "not_held"}), "reason"),
        (
            json!({"outcome": "held", "minutes_url": "javascript:alert(1)"}),
            "minutes_url",
        ),
        (
            json!({"outcome": "held", "participants": [999999]}),
            "participants",
        ),
    ] {
        let (s, err) = status_json(
            api.post_json(&format!("/api/v1/occurrences/{id1}/record"), &body)
                .await,
        )
        .await;
        assert_eq!(s, 422, "{body}: {err}");
        assert_eq!(field_names(&err), [field], "{body}: {err}");
    }
    let (s, err) = status_json(
        api.post_json(
            &format!("/api/v1/occurrences/{id3}/record"),
            &json!({"outcome": "held"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 409, "a cancelled meeting was not held: {err}");
    let (fig, _) = figures(&api, "2026").await;
    assert_eq!(fig["VERIFICATIONS"].3, 1, "nothing changed");

    // A future meeting cannot be recorded yet.
    let (id4, _) = plan(
        &api,
        &json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "series": ["VERIFICATION"], "method": "greedy"}),
    )
    .await;
    publish(&api, id4).await;
    let future: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30")
        .await;
    let fid = future[0]["id"].as_i64().unwrap();
    let (s, err) = status_json(
        api.post_json(
            &format!("/api/v1/occurrences/{fid}/record"),
            &json!({"outcome": "held"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "{err}");

    // Indicator definitions are validated whole.
    let (s, err) = status_json(
        api.put_json(
            "/api/v1/indicators?fiscal_year=2026",
            &json!([{"code": "X", "name": "x", "target": 0, "rule": {"type": "occurrences", "kinds": ["nonsense"]}}]),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "{err}");
    assert_eq!(
        field_names(&err),
        ["indicators[0].target", "indicators[0].rule.kinds"]
    );
    let defs: Value = api.get_json("/api/v1/indicators?fiscal_year=2026").await;
    assert_eq!(defs.as_array().unwrap().len(), 10, "nothing replaced");
    app.stop().await;
}
both_engines!(recording_held_meetings);

/// A meeting's record is replaced only over the record that was read: the first record needs
/// none, a second one names the first one's `recorded_at` (a stale one is 409 and changes
/// nothing); two coordinators on two service instances replacing the same record at once
/// keep exactly one; the meeting page's form carries what it showed.
async fn a_record_replaces_only_what_was_read(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let other = app.another_instance().await;
    let apis = [app.api(&token), other.api(&token)];
    let (id, run) = plan_history(
        &app,
        &apis[0],
        "2026-07-01",
        "2026-09-30",
        &["VERIFICATION"],
    )
    .await;
    assert_eq!(run["result"]["valid"], true, "{}", run["result"]);
    let (s, summary) = publish(&apis[0], id).await;
    assert_eq!(s, 200, "{summary}");
    let v: Value = apis[0]
        .get_json("/api/v1/occurrences?from=2026-07-01&to=2026-09-30")
        .await;
    let occ = v[0]["id"].as_i64().unwrap();
    let url = format!("/api/v1/occurrences/{occ}/record");
    assert_eq!(
        apis[0].get(&url).await.status(),
        404,
        "nothing recorded yet"
    );
    let (s, first) = status_json(
        apis[0]
            .post_json(
                &url,
                &json!({"outcome": "not_held", "reason": "台風のため"}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 200, "{first}");
    let at = first["recorded_at"].as_str().unwrap().to_string();
    let read: Value = apis[0].get_json(&url).await;
    assert_eq!(
        (read["outcome"].as_str(), read["recorded_at"].as_str()),
        (Some("not_held"), Some(at.as_str()))
    );
    // Recorded as if nothing were there: stale.
    let (s, err) = status_json(apis[0].post_json(&url, &json!({"outcome": "held"})).await).await;
    assert_eq!(s, 409, "{err}");
    assert!(
        err["message"]["ja"]
            .as_str()
            .unwrap()
            .contains("読み込み直して"),
        "{err}"
    );
    assert_eq!(apis[0].get_json::<Value>(&url).await["outcome"], "not_held");

    // Two instances replace the same record at once.
    let mut tasks = Vec::new();
    for (i, outcome) in ["held", "not_held"].into_iter().enumerate() {
        let (api, url, at) = (apis[i].clone(), url.clone(), at.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"outcome": outcome, "reason": "振替なし", "recorded_at": at});
            (outcome, status_json(api.post_json(&url, &body).await).await)
        }));
    }
    let mut kept = Vec::new();
    for t in tasks {
        let (outcome, (s, b)) = t.await.unwrap();
        match s {
            200 => kept.push((outcome, b["recorded_at"].as_str().unwrap().to_string())),
            409 => {}
            _ => panic!("{s} {b}"),
        }
    }
    assert_eq!(kept.len(), 1, "exactly one replacement is kept: {kept:?}");
    let now: Value = apis[0].get_json(&url).await;
    assert_eq!(now["outcome"], kept[0].0);
    assert_eq!(now["recorded_at"], kept[0].1.as_str());

    // The page's form names the record it shows.
    let c = crate::support::client();
    let res = crate::support::login(
        &c,
        &app,
        renkei::demo::DEMO_USERNAME,
        renkei::demo::DEMO_PASSWORD,
        Some("/"),
    )
    .await;
    assert_eq!(res.status(), 303);
    let page =
        crate::support::get_text(&c, &app.url(&format!("/meetings/occurrences/{occ}"))).await;
    assert_eq!(
        crate::support::hidden_field(&page, "seen_recorded_at").as_deref(),
        Some(kept[0].1.as_str())
    );
    let csrf = crate::support::hidden_field(&page, "csrf").unwrap();
    let res = crate::support::post_form(
        &c,
        &app.url(&format!("/meetings/occurrences/{occ}/record")),
        &[
            ("csrf", csrf.as_str()),
            ("outcome", "held"),
            ("seen_recorded_at", kept[0].1.as_str()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(apis[0].get_json::<Value>(&url).await["outcome"], "held");
    app.stop().await;
}
both_engines!(a_record_replaces_only_what_was_read);

/// The indicator settings form loads a preset for a contract year (Meguro's targets change
/// from the second year), as the API does; a contract year that is not 1-30 is refused.
async fn the_preset_form_takes_a_contract_year(engine: Engine) {
    use renkei::indicators::presets::indicators_in_year;
    use renkei::meetings::presets::Preset;
    let app = TestApp::spawn(engine).await;
    let t = crate::support::tenant(app.db(), "meguro").await;
    let api = app.api(&t.admin_token);
    let c = crate::support::logged_in_client(&app, "meguro-admin").await;
    let csrf = crate::support::csrf_token(&c, &app.url("/indicators?fiscal_year=2027")).await;
    let load = |year: &'static str| {
        let (c, url, csrf) = (&c, app.url("/indicators/preset"), csrf.clone());
        async move {
            crate::support::post_form(
                c,
                &url,
                &[
                    ("csrf", &csrf),
                    ("fiscal_year", "2027"),
                    ("preset", "meguro"),
                    ("contract_year", year),
                ],
            )
            .await
        }
    };
    let targets = |list: Vec<Value>| -> HashMap<String, u64> {
        list.iter()
            .map(|i| {
                (
                    i["code"].as_str().unwrap().to_string(),
                    i["target"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let expected = |year| -> HashMap<String, u64> {
        indicators_in_year(Preset::Meguro, year)
            .into_iter()
            .map(|i| (i.code, u64::from(i.target)))
            .collect()
    };
    assert_ne!(expected(1), expected(2), "the preset changes in year 2");
    for (typed, year) in [("2", 2), ("", 1)] {
        let res = load(typed).await;
        assert_eq!(res.status(), 303, "contract year {typed:?}");
        let stored: Vec<Value> = api.get_json("/api/v1/indicators?fiscal_year=2027").await;
        assert_eq!(targets(stored), expected(year), "contract year {typed:?}");
    }
    for bad in ["31", "two"] {
        let res = load(bad).await;
        assert_eq!(res.status(), 422, "{bad}");
        assert!(res.text().await.unwrap().contains("契約年度"), "{bad}");
    }
    let stored: Vec<Value> = api.get_json("/api/v1/indicators?fiscal_year=2027").await;
    assert_eq!(
        targets(stored),
        expected(1),
        "a refused load changes nothing"
    );
    app.stop().await;
}
both_engines!(the_preset_form_takes_a_contract_year);
