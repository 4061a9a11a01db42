//! The source documents (`../shared/seeds/`), line by line (issue 18): what a municipality
//! following them expects of the demo and of the presets, on both engines.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::both_engines;
use crate::meetings::{demo_app, plan, publish, PLANNING_DATE};
use crate::support::Engine;

/// Kumamoto (004): 「相談支援部会には、相談支援専門員のスキルアップの観点から、センターから
/// 機能強化員、相談員が参加する」 and, for the ward network meetings, 「※必要に応じて、障害福祉
/// サービス事業所、その他の関係機関」: every consultation subcommittee has a 相談員 of each
/// consultation center among its required invitees, and every ward meeting's room has seats
/// for the bodies invited as needed.
async fn kumamoto_subcommittee_has_soudanin_and_ward_meetings_have_seats(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let (id, run) = plan(
        &api,
        &json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "time_limit_seconds": 20,
                "series": ["SUB-SOUDAN", "WARDNET"]}),
    )
    .await;
    assert_eq!(
        run["result"]["valid"], true,
        "{}",
        run["result"]["violations"]
    );
    let (status, body) = publish(&api, id).await;
    assert_eq!(status, 200, "{body}");

    let people: Value = api.get_json("/api/v1/master/people?limit=1000").await;
    let mut soudanin: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new(); // center -> people
    for p in people.as_array().unwrap() {
        if p["roles"].as_array().unwrap().iter().any(|r| r == "相談員") {
            soudanin
                .entry(p["organisation_id"].as_i64().unwrap())
                .or_default()
                .insert(p["id"].as_i64().unwrap());
        }
    }
    let orgs: Value = api
        .get_json("/api/v1/master/organisations?limit=1000")
        .await;
    let centers: Vec<i64> = orgs
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "consultation_center")
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(centers.len(), 8);
    assert!(
        centers.iter().all(|c| soudanin.contains_key(c)),
        "every center has a 相談員 in the demo: {soudanin:?}"
    );
    let rooms: Value = api.get_json("/api/v1/master/rooms?limit=1000").await;
    let capacity: BTreeMap<i64, i64> = rooms
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["capacity"].as_i64().unwrap()))
        .collect();

    let rows: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30")
        .await;
    let (mut subcommittees, mut ward_meetings) = (0, 0);
    for o in rows.as_array().unwrap() {
        let required: BTreeSet<i64> = o["attendees"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["required"] == true)
            .map(|a| a["person_id"].as_i64().unwrap())
            .collect();
        match o["series_key"].as_str().unwrap() {
            "SUB-SOUDAN" => {
                subcommittees += 1;
                for (center, staff) in &soudanin {
                    assert!(
                        staff.iter().any(|p| required.contains(p)),
                        "center {center}'s 相談員 is not invited to {o}"
                    );
                }
            }
            key if key.starts_with("WARDNET") => {
                ward_meetings += 1;
                let seats = capacity[&o["room_id"].as_i64().unwrap()];
                let people = o["attendees"].as_array().unwrap().len() as i64;
                assert!(
                    seats >= people + 4,
                    "{people} invitees and 4 seats for others in a room of {seats}: {o}"
                );
            }
            _ => {}
        }
    }
    assert_eq!(subcommittees, 3, "monthly");
    assert_eq!(ward_meetings, 5, "one per ward in the quarter");
}

both_engines!(kumamoto_subcommittee_has_soudanin_and_ward_meetings_have_seats);

/// Kumamoto (004): 「各センターに地域支援員を1名ずつ配置」「西区のみ相談員1名増」「相談員の
/// 配置ができない場合は減算扱いとなる（機能強化員、地域支援員は必置）」: the demo's centers are
/// fully staffed (西区's first center with two 相談員); a center that loses its 地域支援員 is
/// reported as missing a mandatory role, on the API and the home page.
async fn kumamoto_staffing_of_each_center(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let staffing: Value = api.get_json("/api/v1/staffing").await;
    let centers = staffing.as_array().unwrap();
    assert_eq!(centers.len(), 8, "{staffing}");
    for c in centers {
        assert!(c["findings"].as_array().unwrap().is_empty(), "{c}");
    }
    let west = centers.iter().find(|c| c["code"] == "C-NIS-1").unwrap();
    assert_eq!(
        west["roles"][2],
        json!({"role": "相談員", "people": 2}),
        "{west}"
    );

    // Take the 地域支援員 of one center away (their role, not the person).
    let people: Value = api.get_json("/api/v1/master/people?limit=1000").await;
    let chiiki = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["organisation_code"] == "C-CHU-1"
                && p["roles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r == "地域支援員")
        })
        .expect("C-CHU-1 has a 地域支援員")
        .clone();
    let mut body = chiiki.as_object().unwrap().clone();
    for k in ["id", "organisation_id", "organisation_name"] {
        body.remove(k);
    }
    body.insert("roles".into(), json!(["相談支援専門員"]));
    let res = api
        .put_json(
            &format!("/api/v1/master/people/{}", chiiki["id"]),
            &Value::Object(body),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let staffing: Value = api.get_json("/api/v1/staffing").await;
    let chu = staffing
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "C-CHU-1")
        .unwrap();
    assert_eq!(chu["findings"][0]["severity"], "mandatory", "{chu}");
    assert_eq!(chu["findings"][0]["role"], "地域支援員", "{chu}");
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
    let home = crate::support::get_text(&c, &app.url("/")).await;
    assert!(
        home.contains("地域支援員がいません（必置）"),
        "the home page says what is missing: {home}"
    );
}

both_engines!(kumamoto_staffing_of_each_center);

/// Hiratsuka (000): 「専門部会の設置数 4以上」「専門部会の実施回数 年39回以上」, and the plan's
/// own bodies 「企画運営部会の中にある計画相談分科会」. Applying Hiratsuka's preset gives a
/// municipality its four subcommittees, and a fiscal year planned from them alone meets both
/// indicators (the demo's Kumamoto subcommittees are left out of the plan).
async fn hiratsuka_preset_alone_meets_its_subcommittee_indicators(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let (status, body) = crate::placement::status_json(
        api.post_json("/api/v1/series/presets/hiratsuka", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["added"], 4, "the four subcommittees are new: {body}");
    let hiratsuka = ["SUB-IKOU", "SUB-KEIKAKU", "SUB-KENRI", "SUB-KIKAKU"];
    let series: Value = api.get_json("/api/v1/series?limit=1000").await;
    let subs: BTreeSet<&str> = series
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "subcommittee")
        .map(|s| s["code"].as_str().unwrap())
        .filter(|c| hiratsuka.contains(c))
        .collect();
    assert_eq!(subs.len(), 4, "{series}");
    let (id, run) = plan(
        &api,
        &json!({"period": "FY2027", "planning_date": PLANNING_DATE, "time_limit_seconds": 30,
                "series": hiratsuka}),
    )
    .await;
    assert_eq!(
        run["result"]["valid"], true,
        "{}",
        run["result"]["violations"]
    );
    let (status, body) = publish(&api, id).await;
    assert_eq!(status, 200, "{body}");
    let (figures, body) = crate::indicators::figures(&api, "2027").await;
    let (target, planned, _, _) = figures["SUBCOMMITTEES"];
    assert_eq!(target, 4, "{body}");
    assert_eq!(planned, 4, "four bodies meet: {body}");
    let (target, planned, _, _) = figures["SUBCOMMITTEE-MEETINGS"];
    assert_eq!(target, 39, "{body}");
    assert!(
        planned >= 39,
        "{planned} subcommittee meetings planned: {body}"
    );
    app.stop().await;
}
both_engines!(hiratsuka_preset_alone_meets_its_subcommittee_indicators);
