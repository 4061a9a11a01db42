//! Sendai's community life support hub (地域生活支援拠点, `../shared/seeds/003_…`), issue 18:
//! placement indicators with a community-share target, the facilities' decline reasons, and
//! the hub's network work (visits to short-stay and group-home facilities, the 拠点実践報告会,
//! the 拠点運営会議) as planned meetings, on both engines.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use calamine::{Data, Reader};
use chrono::NaiveDate;
use renkei::indicators::presets::indicators as indicator_preset;
use renkei::meetings::presets::Preset;
use renkei_solver::calendar::FiscalYear;
use serde_json::{json, Value};

use crate::both_engines;
use crate::meetings::{demo_app, plan, publish, PLANNING_DATE};
use crate::placement::{bed_ids, create_request, facilities, request_body, setup, status_json};
use crate::support::{client, post_form, Api, Engine, TestApp};

/// The figures of a fiscal year by indicator code: (target, planned, expected, actual).
async fn figures(api: &Api, fy: &str) -> (HashMap<String, (u64, u64, u64, u64)>, Value) {
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

async fn propose(api: &Api, request: i64, segments: Value) -> Vec<i64> {
    let (s, p) = status_json(
        api.post_json(
            &format!("/api/v1/placement/requests/{request}/propose"),
            &json!({ "segments": segments }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{p}");
    p["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_i64().unwrap())
        .collect()
}

async fn answer(api: &Api, hold: i64, body: Value) {
    let res = api
        .post_json(&format!("/api/v1/placement/holds/{hold}/answer"), &body)
        .await;
    let status = res.status().as_u16();
    assert_eq!(status, 204, "{}", res.text().await.unwrap());
}

async fn confirm(api: &Api, request: i64) {
    let res = api
        .post_json(
            &format!("/api/v1/placement/requests/{request}/confirm"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 204);
}

/// FY2026, nights in February and March 2027: a placement in the hub's room (A), one in the
/// group home (B), a split stay that starts in the short stay and moves to the hub's room (C),
/// a proposal the short stay declines as full (D), one the group home declines through its
/// no-login page for severe behavioural needs, with words (E), and one still waiting (F).
/// Returns the app, the hub's, the administrator's and the coordinator's tokens.
async fn scenario(engine: Engine) -> (TestApp, String, String, String) {
    let (app, hub, admin, coordinator) = setup(engine).await;
    let api = app.api(&hub);
    let ids = facilities(&api).await;
    let beds = bed_ids(&api).await;
    let man =
        |case: &str, from: &str, to: &str| request_body(case, "male", from, to, &["intellectual"]);
    let a = create_request(&api, &man("H-A", "2027-02-01", "2027-02-03")).await;
    let holds = propose(
        &api,
        a,
        json!([{"bed_id": beds["HUB-ER/A"], "from": "2027-02-01", "to": "2027-02-03"}]),
    )
    .await;
    answer(&api, holds[0], json!({"accept": true})).await;
    confirm(&api, a).await;

    let b = create_request(&api, &man("H-B", "2027-02-05", "2027-02-07")).await;
    let holds = propose(
        &api,
        b,
        json!([{"bed_id": beds["GH1-TRIAL/体験"], "from": "2027-02-05", "to": "2027-02-07"}]),
    )
    .await;
    answer(&api, holds[0], json!({"accept": true})).await;
    confirm(&api, b).await;

    let c = create_request(&api, &man("H-C", "2027-02-10", "2027-02-12")).await;
    let holds = propose(
        &api,
        c,
        json!([
            {"bed_id": beds["SS1-BEDS/1"], "from": "2027-02-10", "to": "2027-02-11"},
            {"bed_id": beds["HUB-ER/A"], "from": "2027-02-11", "to": "2027-02-12"}
        ]),
    )
    .await;
    assert_eq!(holds.len(), 2);
    for h in holds {
        answer(&api, h, json!({"accept": true})).await;
    }
    confirm(&api, c).await;

    let d = create_request(&api, &man("H-D", "2027-02-20", "2027-02-21")).await;
    let holds = propose(
        &api,
        d,
        json!([{"bed_id": beds["SS1-BEDS/2"], "from": "2027-02-20", "to": "2027-02-21"}]),
    )
    .await;
    // A fixed reason that is not one is refused, naming the field.
    let (s, e) = status_json(
        api.post_json(
            &format!("/api/v1/placement/holds/{}/answer", holds[0]),
            &json!({"accept": false, "reason_code": "busy"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["fields"][0]["field"], "reason_code", "{e}");
    answer(
        &api,
        holds[0],
        json!({"accept": false, "reason_code": "full"}),
    )
    .await;

    let e_request = create_request(&api, &man("H-E", "2027-02-22", "2027-02-23")).await;
    let holds = propose(
        &api,
        e_request,
        json!([{"bed_id": beds["GH1-TRIAL/体験"], "from": "2027-02-22", "to": "2027-02-23"}]),
    )
    .await;
    // The group home answers on its own page, with a fixed reason and its words.
    let link: Value = api
        .post_json(
            &format!("/api/v1/placement/facilities/{}/link", ids["gh"]),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    let url = link["url"].as_str().unwrap();
    let path = &url[url.find("/facility/").unwrap()..];
    let anonymous = client();
    let page = crate::support::get_text(&anonymous, &app.url(path)).await;
    assert!(
        page.contains("name=\"reason_code\"") && page.contains("強度行動障害に対応できない"),
        "the answer form offers the fixed reasons: {page}"
    );
    let hold = holds[0].to_string();
    let res = post_form(
        &anonymous,
        &app.url(path),
        &[
            ("hold", hold.as_str()),
            ("accept", "0"),
            ("reason_code", "behaviour"),
            ("reason", "夜間の見守り体制がない"),
        ],
    )
    .await;
    assert!(
        res.status().is_redirection() || res.status().is_success(),
        "{}",
        res.status()
    );

    let f = create_request(&api, &man("H-F", "2027-03-01", "2027-03-02")).await;
    propose(
        &api,
        f,
        json!([{"bed_id": beds["SS1-BEDS/2"], "from": "2027-03-01", "to": "2027-03-02"}]),
    )
    .await;
    (app, hub, admin, coordinator)
}

/// Sendai (003): 「② 拠点における緊急用居室における受入れ（受入れ件数 36件）」「緊急受入れの
/// ニーズに対しては、適切に対応がなされているが、そのほとんどが、拠点における緊急用居室における
/// 受け入れとなっている」: the Sendai indicators count placements (a split stay once, at its
/// first night's facility; declined and waiting proposals are no placement) and the share
/// received in community facilities, in percent.
async fn sendai_placement_indicators_count_placements_once(engine: Engine) {
    let (app, hub, admin, _) = scenario(engine).await;
    let admin_api = app.api(&admin);
    let (s, b) = status_json(
        admin_api
            .post_json(
                "/api/v1/indicators/preset",
                &json!({"preset": "sendai", "fiscal_year": "2026"}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b.as_array().unwrap().len(),
        5,
        "placements, community share, visits, report meeting, operating meeting: {b}"
    );
    // Through the snapshot at the end of the year: every confirmed stay has begun.
    let user = app
        .db()
        .user_by_username("kyoten-hub")
        .await
        .unwrap()
        .unwrap();
    let fy = FiscalYear::new(2026).unwrap();
    let end = NaiveDate::from_ymd_opt(2027, 3, 31).unwrap();
    let data = app
        .db()
        .indicator_data(user.municipality_id, fy, end)
        .await
        .unwrap();
    let defs = indicator_preset(Preset::Sendai);
    let f = renkei::indicators::evaluate(&defs, &data);
    let four = |code: &str| {
        let f = f.iter().find(|f| f.code == code).unwrap();
        (f.target, f.planned, f.expected, f.actual)
    };
    // A, B, C placed (C once, though split), F proposed; D and E declined.
    assert_eq!(four("PLACEMENTS"), (36, 4, 3, 3));
    // Community: B and C (C's first night is in the short stay) of 3; with F 3 of 4.
    assert_eq!(four("COMMUNITY-SHARE"), (30, 75, 66, 66));
    let share = f.iter().find(|f| f.code == "COMMUNITY-SHARE").unwrap();
    assert_eq!(share.unit.ja, "%");
    assert_eq!(share.standing, renkei::indicators::Standing::Met);

    // Through the API today (December 2026): nothing of February has begun, so nothing is
    // received yet; expected and planned are the same.
    let (fig, body) = figures(&app.api(&hub), "2026").await;
    assert_eq!(fig["PLACEMENTS"], (36, 4, 3, 0), "{body}");
    assert_eq!(fig["COMMUNITY-SHARE"], (30, 75, 66, 0), "{body}");
    let shown = body["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "COMMUNITY-SHARE")
        .unwrap();
    assert_eq!(shown["unit"]["ja"], "%", "{shown}");
    // No proposal for placements: they follow emergencies, not a calendar.
    assert!(
        body["proposals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| !["PLACEMENTS", "COMMUNITY-SHARE"].contains(&p["indicator"].as_str().unwrap())),
        "{}",
        body["proposals"]
    );
    // The dashboard shows the share in percent.
    let c = crate::support::logged_in_client(&app, "kyoten-admin").await;
    let page = crate::support::get_text(&c, &app.url("/indicators?fiscal_year=2026")).await;
    assert!(page.contains("30 %"), "the target in percent: {page}");
    // A share over 100 % is refused with the field named.
    let (s, e) = status_json(
        admin_api
            .put_json(
                "/api/v1/indicators?fiscal_year=2026",
                &json!([{"code": "S", "name": "割合", "target": 120, "rule": {"type": "community_share"}}]),
            )
            .await,
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["fields"][0]["field"], "indicators[0].target", "{e}");
    app.stop().await;
}

both_engines!(sendai_placement_indicators_count_placements_once);

/// Sendai (003): 「地域の施設において広く緊急受入れが行えるよう…受入れ先となり得る施設、受入れ
/// に係る課題等の把握を進めていく」: per facility, the proposals and what became of them, the
/// decline reasons counted with their dates and the request's needs (no personal data), as
/// JSON (paged), on the page and in CSV/XLSX.
async fn sendai_decline_reasons_per_facility(engine: Engine) {
    let (app, hub, _, coordinator) = scenario(engine).await;
    let api = app.api(&hub);
    let res = api
        .get("/api/v1/placement/declines?fiscal_year=2026&limit=2")
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-total-count"], "3");
    assert!(res.headers().contains_key("link"), "a next page");
    let page: Value = res.json().await.unwrap();
    let rows = page.as_array().unwrap();
    // Most declines first, then by name: the short stay, the group home (one each).
    let counts = |f: &Value| {
        [
            "proposals",
            "accepted",
            "declined",
            "expired",
            "waiting",
            "other",
        ]
        .map(|k| f[k].as_u64().unwrap())
    };
    assert_eq!(rows[0]["facility"], "はなみずき", "{page}");
    assert_eq!(counts(&rows[0]), [3, 1, 1, 0, 1, 0], "C, D, F: {}", rows[0]);
    assert_eq!(rows[0]["reasons"][0]["reason"], "full");
    assert_eq!(rows[0]["declines"][0]["case_number"], "H-D");
    assert_eq!(rows[1]["facility"], "ひなた 体験室");
    assert_eq!(counts(&rows[1]), [2, 1, 1, 0, 0, 0], "B, E: {}", rows[1]);
    let e = &rows[1]["declines"][0];
    assert_eq!(e["reason"], "behaviour", "{e}");
    assert_eq!(e["note"], "夜間の見守り体制がない", "{e}");
    assert_eq!(
        (e["from"].as_str(), e["to"].as_str()),
        (Some("2027-02-22"), Some("2027-02-23"))
    );
    let needs = e["needs"]["ja"].as_str().unwrap();
    assert!(needs.contains("男性") && needs.contains("知的"), "{needs}");
    assert!(!e.to_string().contains("さん"), "no requester's name: {e}");
    let rest: Value = api
        .get_json("/api/v1/placement/declines?fiscal_year=2026&limit=2&offset=2")
        .await;
    assert_eq!(rest[0]["facility"], "拠点 緊急用居室");
    assert_eq!(
        counts(&rest[0]),
        [2, 2, 0, 0, 0, 0],
        "A and C's second night"
    );

    // The CSV reads back: a row per facility, a row per decline.
    let csv = api
        .get("/api/v1/placement/declines?fiscal_year=2026&format=csv&encoding=utf-8")
        .await;
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    let mut reader =
        csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[11], "お断りの理由", "{headers:?}");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 5, "3 facilities, 2 declines: {text}");
    let d = records
        .iter()
        .find(|r| &r[0] == "お断り" && &r[10] == "H-D")
        .expect("D's decline");
    assert_eq!((&d[1], &d[11], &d[12]), ("はなみずき", "満床", ""));
    // The XLSX in English: the same rows.
    let xlsx = api
        .get("/api/v1/placement/declines?fiscal_year=2026&format=xlsx&lang=en")
        .await;
    assert_eq!(xlsx.status(), 200);
    let bytes = xlsx.bytes().await.unwrap().to_vec();
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(sheet.height(), 6);
    let cell = |r: usize, c: usize| match sheet.get((r, c)) {
        Some(Data::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    assert_eq!(cell(0, 11), "decline reason");
    let e_row = (1..6).find(|r| cell(*r, 10) == "H-E").expect("E's decline");
    assert_eq!(cell(e_row, 11), "cannot support severe behavioural needs");
    assert_eq!(cell(e_row, 12), "夜間の見守り体制がない");

    // The page, linked from the figures page for hub staff.
    let c = crate::support::logged_in_client(&app, "kyoten-admin").await;
    let figures =
        crate::support::get_text(&c, &app.url("/placement/figures?fiscal_year=2026")).await;
    assert!(
        figures.contains("/placement/declines?fiscal_year=2026"),
        "{figures}"
    );
    let html = crate::support::get_text(&c, &app.url("/placement/declines?fiscal_year=2026")).await;
    for text in [
        "はなみずき",
        "満床 1",
        "強度行動障害に対応できない",
        "夜間の見守り体制がない",
        "H-E",
    ] {
        assert!(html.contains(text), "{text} on the page: {html}");
    }
    // Only hub staff and administrators see the facilities' words.
    let res = app
        .api(&coordinator)
        .get("/api/v1/placement/declines?fiscal_year=2026")
        .await;
    assert_eq!(res.status(), 403);
    app.stop().await;
}

both_engines!(sendai_decline_reasons_per_facility);

/// Sendai (003): 「① 短期入所事業所やグループホーム等の訪問（訪問事業所数 10事業所）」「② 緊急
/// 受入れに係る技術的な支援（拠点実践報告会開催回数1回 参加者数14名）…短期入所事業所やグループ
/// ホーム等を対象に…研修を実施」「拠点の取組みについて、評価・検証を行うため拠点運営会議を実施」:
/// with the Sendai presets the demo's year is planned with 10 facilities visited by the hub
/// (short-stay and group-home organisations only, each once), the report meeting inviting
/// every one of them, and an operating meeting each quarter; the indicators' meeting targets
/// are met by the plan, and the placement indicators are not planned (no series serves them).
async fn sendai_presets_plan_the_hubs_year(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let (s, added) = status_json(
        api.post_json("/api/v1/series/presets/sendai", &json!({}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{added}");
    assert_eq!(added["added"], 3, "{added}");
    let presets: Value = api.get_json("/api/v1/series/presets").await;
    assert!(
        presets
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["slug"] == "sendai"),
        "{presets}"
    );
    let (s, b) = status_json(
        api.post_json(
            "/api/v1/indicators/preset",
            &json!({"preset": "sendai", "fiscal_year": "2027"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // Every series the indicator preset names is one of the series preset's.
    let series_codes: BTreeSet<String> = Preset::Sendai
        .series()
        .into_iter()
        .map(|s| s.code)
        .collect();
    for i in indicator_preset(Preset::Sendai) {
        for code in i.rule.scope().1 {
            assert!(series_codes.contains(code), "{} names {code}", i.code);
        }
    }

    let (id, run) = plan(
        &api,
        &json!({"period": "FY2027", "planning_date": PLANNING_DATE, "time_limit_seconds": 30,
                "series": ["HUB-VISIT", "HUB-REPORT", "HUB-OPERATING"]}),
    )
    .await;
    let result = &run["result"];
    assert_eq!(result["valid"], true, "{}", result["violations"]);
    let outcomes = result["targets"].as_array().expect("target outcomes");
    assert!(!outcomes.is_empty(), "{result}");
    for t in outcomes {
        assert_eq!(t["met"], true, "{t}");
    }
    let (status, body) = publish(&api, id).await;
    assert_eq!(status, 200, "{body}");

    let orgs: Value = api
        .get_json("/api/v1/master/organisations?limit=1000")
        .await;
    let kind_of: BTreeMap<i64, String> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_i64().unwrap(),
                o["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let facilities: BTreeSet<i64> = kind_of
        .iter()
        .filter(|(_, k)| ["short_stay", "group_home"].contains(&k.as_str()))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(facilities.len(), 10, "the demo's SS-01..05 and GH-01..05");
    let rows: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2028-03-31")
        .await;
    let mut visited = Vec::new();
    let (mut reports, mut operating) = (Vec::new(), Vec::new());
    for o in rows.as_array().unwrap() {
        let key = o["series_key"].as_str().unwrap();
        let attendee_kinds: BTreeSet<&str> = o["attendees"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["organisation_id"].as_i64())
            .map(|id| kind_of[&id].as_str())
            .collect();
        if key.starts_with("HUB-VISIT") {
            let at = o["place_organisation_id"]
                .as_i64()
                .expect("held at the facility");
            visited.push(at);
            // The hub's staff visit; the facility's own staff receive them.
            let visitors: BTreeSet<&str> = o["attendees"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a["organisation_id"].as_i64())
                .filter(|id| *id != at)
                .map(|id| kind_of[&id].as_str())
                .collect();
            assert_eq!(visitors, BTreeSet::from(["hub"]), "the hub visits: {o}");
            assert!(attendee_kinds.contains("hub"), "{o}");
        } else if key == "HUB-REPORT" {
            reports.push(o.clone());
        } else if key == "HUB-OPERATING" {
            operating.push(o["date"].as_str().unwrap().to_string());
            assert!(attendee_kinds.contains("hub"), "{o}");
        }
    }
    let distinct: BTreeSet<i64> = visited.iter().copied().collect();
    assert_eq!(visited.len(), 10, "10 visits: {visited:?}");
    assert_eq!(distinct.len(), 10, "to 10 facilities, once each");
    assert!(
        distinct.is_subset(&facilities),
        "short-stay and group-home only"
    );
    assert_eq!(reports.len(), 1, "拠点実践報告会 once a year");
    let invited: BTreeSet<i64> = reports[0]["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["organisation_id"].as_i64())
        .collect();
    assert!(
        facilities.is_subset(&invited),
        "every short-stay and group-home organisation is invited: {}",
        reports[0]
    );
    let quarters: Vec<u32> = operating
        .iter()
        .map(|d| {
            let m: u32 = d[5..7].parse().unwrap();
            (m + 8) % 12 / 3 + 1
        })
        .collect();
    assert_eq!(
        quarters.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([1, 2, 3, 4]),
        "one operating meeting each quarter: {operating:?}"
    );

    // The dashboard: the meeting indicators are planned to their targets; placements have
    // no plan (the placements of FY2027 are still to come).
    let (fig, body) = figures(&api, "2027").await;
    for code in ["HUB-VISITS", "HUB-REPORT", "HUB-OPERATING"] {
        let (target, planned, expected, _) = fig[code];
        assert!(planned >= target && expected >= target, "{code}: {body}");
    }
    assert_eq!(fig["HUB-VISITS"].0, 10);
    assert_eq!(fig["PLACEMENTS"].1, 0, "{body}");
    app.stop().await;
}

both_engines!(sendai_presets_plan_the_hubs_year);
