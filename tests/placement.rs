//! Emergency placement through the HTTP API on both engines: a bed-night is never given twice
//! (many concurrent bookings of one bed-night, exactly one wins), the request flow (search →
//! propose → answer → confirm → end) with the board and the figures following it, batch
//! placement preferring community beds, input validation, and personal data kept to hub staff.

use std::collections::BTreeMap;

use renkei::auth::{create_api_token, hash_password, Role};
use serde_json::{json, Value};

use crate::both_engines;
use crate::support::{tenant, Api, Engine, TestApp};

pub(crate) async fn status_json(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// A tenant with a hub-staff account; returns the app, the hub token and the admin token.
pub(crate) async fn setup(engine: Engine) -> (TestApp, String, String, String) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "kyoten").await;
    app.db()
        .create_user(
            t.id,
            "kyoten-hub",
            "拠点 職員",
            &hash_password("pw-hub-staff-1").unwrap(),
            Role::HubStaff,
        )
        .await
        .unwrap();
    let hub_user = app
        .db()
        .user_by_username("kyoten-hub")
        .await
        .unwrap()
        .unwrap();
    let hub = create_api_token(app.db(), &hub_user, "test").await.unwrap();
    let admin = app.api(&t.admin_token);
    for (code, name, kind) in [
        ("HUB", "地域生活支援拠点", "hub"),
        ("SS1", "ショートステイ はなみずき", "short_stay"),
        ("GH1", "グループホーム ひなた", "group_home"),
    ] {
        let (s, b) = status_json(
            admin
                .post_json(
                    "/api/v1/master/organisations",
                    &json!({"code": code, "name": name, "kind": kind}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 201, "{b}");
    }
    (app, hub, t.admin_token, t.coordinator_token)
}

async fn create_facility(api: &Api, body: Value) -> i64 {
    let (s, b) = status_json(api.post_json("/api/v1/placement/facilities", &body).await).await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_i64().unwrap()
}

/// The hub's emergency room (1 bed, anyone), a short stay with a shared room of two beds and
/// a women-only wheelchair room, and a group-home trial room.
pub(crate) async fn facilities(api: &Api) -> BTreeMap<&'static str, i64> {
    let mut ids = BTreeMap::new();
    ids.insert(
        "hub",
        create_facility(api, json!({
            "code": "HUB-ER", "organisation": "HUB", "name": "拠点 緊急用居室", "kind": "hub_emergency",
            "disability_types": ["physical", "intellectual", "mental", "developmental"], "children": true,
            "night_staff": true, "behavioural_support": true, "x_km": 0.0, "y_km": 0.0,
            "rooms": [{"name": "緊急用居室", "sex_policy": "any", "beds": [{"name": "A", "wheelchair": true}]}]
        }))
        .await,
    );
    ids.insert(
        "ss",
        create_facility(api, json!({
            "code": "SS1-BEDS", "organisation": "SS1", "name": "はなみずき", "kind": "short_stay",
            "disability_types": ["physical", "intellectual"], "night_staff": true, "x_km": 3.0, "y_km": 4.0,
            "rooms": [
                {"name": "2人部屋", "sex_policy": "same_as_occupants", "beds": [{"name": "1"}, {"name": "2"}]},
                {"name": "女性個室", "sex_policy": "female", "beds": [{"name": "3", "wheelchair": true}]}
            ]
        }))
        .await,
    );
    ids.insert(
        "gh",
        create_facility(api, json!({
            "code": "GH1-TRIAL", "organisation": "GH1", "name": "ひなた 体験室", "kind": "group_home_trial",
            "disability_types": ["intellectual", "mental"], "x_km": -2.0, "y_km": 1.0,
            "rooms": [{"name": "体験室", "sex_policy": "any", "beds": [{"name": "体験"}]}]
        }))
        .await,
    );
    ids
}

pub(crate) async fn bed_ids(api: &Api) -> BTreeMap<String, i64> {
    let list: Value = api.get_json("/api/v1/placement/facilities").await;
    let mut out = BTreeMap::new();
    for f in list.as_array().unwrap() {
        for r in f["rooms"].as_array().unwrap() {
            for b in r["beds"].as_array().unwrap() {
                out.insert(
                    format!(
                        "{}/{}",
                        f["code"].as_str().unwrap(),
                        b["name"].as_str().unwrap()
                    ),
                    b["id"].as_i64().unwrap(),
                );
            }
        }
    }
    out
}

pub(crate) fn request_body(case: &str, sex: &str, from: &str, to: &str, types: &[&str]) -> Value {
    json!({"case_number": case, "person_name": format!("{case} さん"), "sex": sex, "from": from, "to": to,
           "disability_types": types, "urgency": 3})
}

pub(crate) async fn create_request(api: &Api, body: &Value) -> i64 {
    let (s, b) = status_json(api.post_json("/api/v1/placement/requests", body).await).await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_i64().unwrap()
}

async fn bed_night_rows(app: &TestApp, bed: i64, night: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM bed_nights WHERE bed_id = $1 AND night = $2")
        .bind(bed)
        .bind(night)
        .fetch_one(&app.db().pool)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------

async fn concurrent_bookings_of_one_bed_night_have_one_winner(engine: Engine) {
    let (app, hub, _, _) = setup(engine).await;
    let api = app.api(&hub);
    facilities(&api).await;
    let bed = bed_ids(&api).await["GH1-TRIAL/体験"];
    const ATTEMPTS: usize = 24;
    let mut requests = Vec::new();
    for i in 0..ATTEMPTS {
        requests.push(
            create_request(
                &api,
                &request_body(
                    &format!("C-{i:03}"),
                    "male",
                    "2027-01-10",
                    "2027-01-12",
                    &["intellectual"],
                ),
            )
            .await,
        );
    }
    let mut tasks = Vec::new();
    for id in requests.clone() {
        let api = app.api(&hub);
        tasks.push(tokio::spawn(async move {
            let body =
                json!({"segments": [{"bed_id": bed, "from": "2027-01-10", "to": "2027-01-12"}]});
            let res = api
                .post_json(&format!("/api/v1/placement/requests/{id}/propose"), &body)
                .await;
            (id, status_json(res).await)
        }));
    }
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for t in tasks {
        let (id, (status, body)) = t.await.unwrap();
        match status {
            201 => winners.push(id),
            409 => {
                conflicts += 1;
                assert_eq!(body["error"], "taken", "{body}");
                assert!(
                    body["message"]["ja"]
                        .as_str()
                        .unwrap()
                        .contains("選び直して"),
                    "{body}"
                );
                let alternatives = &body["alternatives"];
                assert!(
                    alternatives["whole"].is_array(),
                    "a lost booking is offered what is free: {body}"
                );
                // The trial bed is gone; the hub's room (which takes intellectual disability) is offered.
                assert!(
                    alternatives["whole"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|b| b["bed_id"] != bed),
                    "the taken bed is not offered again: {body}"
                );
            }
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    eprintln!(
        "concurrent bookings ({engine:?}): attempts {ATTEMPTS}, winners {}, conflicts {conflicts}",
        winners.len()
    );
    assert_eq!(winners.len(), 1, "exactly one booking wins");
    assert_eq!(conflicts, ATTEMPTS - 1);
    for night in ["2027-01-10", "2027-01-11"] {
        assert_eq!(
            bed_night_rows(&app, bed, night).await,
            1,
            "one row for {night}"
        );
    }
    // Nothing lost: the winner is proposed, every other request is still open for a new try.
    let list: Value = api.get_json("/api/v1/placement/requests").await;
    let statuses: BTreeMap<i64, String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), ATTEMPTS);
    for id in &requests {
        let want = if winners.contains(id) {
            "proposed"
        } else {
            "consultation"
        };
        assert_eq!(statuses[id], want, "request {id}");
    }
    let holds: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM placement_holds")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(holds, 1, "the losers left no hold behind");
}
both_engines!(concurrent_bookings_of_one_bed_night_have_one_winner);

async fn search_and_the_request_flow(engine: Engine) {
    let (app, hub, admin_token, _) = setup(engine).await;
    let api = app.api(&hub);
    let ids = facilities(&api).await;
    let beds = bed_ids(&api).await;
    // A man already sleeps in the shared room's bed 1 on 2027-02-01.
    let (s, b) = status_json(
        api.post_json(
            &format!("/api/v1/placement/facilities/{}/occupancy", ids["ss"]),
            &json!([{"bed_id": beds["SS1-BEDS/1"], "from": "2027-02-01", "to": "2027-02-02", "occupied": true, "sex": "male"}]),
        )
        .await,
    )
    .await;
    assert_eq!((s, &b["changed"]), (200, &json!(1)), "{b}");

    // A woman in a wheelchair with a physical disability, two nights.
    let search = json!({"from": "2027-02-01", "to": "2027-02-03", "sex": "female", "wheelchair": true, "disability_types": ["physical"]});
    let (s, found) = status_json(api.post_json("/api/v1/placement/search", &search).await).await;
    assert_eq!(s, 200, "{found}");
    let whole: Vec<i64> = found["whole"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bed_id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        whole,
        vec![beds["SS1-BEDS/3"], beds["HUB-ER/A"]],
        "community bed first, the hub's room last: {found}"
    );
    assert_eq!(found["whole"][1]["hub_room"], true);
    assert_eq!(
        found["whole"][0]["stale"], false,
        "just confirmed by the occupancy update"
    );
    let misses = found["misses"].as_array().unwrap();
    let gh = misses
        .iter()
        .find(|m| m["facility_id"] == ids["gh"])
        .expect("the group home is explained");
    assert!(
        !gh["reason"]["ja"].as_str().unwrap().is_empty()
            && !gh["reason"]["en"].as_str().unwrap().is_empty(),
        "{gh}"
    );

    // Record the request, propose the community bed, the facility accepts, confirm, end.
    let mut body = request_body(
        "R-0001",
        "female",
        "2027-02-01",
        "2027-02-03",
        &["physical"],
    );
    body["wheelchair"] = json!(true);
    let id = create_request(&api, &body).await;
    let bed = beds["SS1-BEDS/3"];
    let propose = json!({"segments": [{"bed_id": bed, "from": "2027-02-01", "to": "2027-02-03"}], "hold_hours": 12});
    let (s, p) = status_json(
        api.post_json(
            &format!("/api/v1/placement/requests/{id}/propose"),
            &propose,
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let hold = p["holds"][0].as_i64().unwrap();
    // Proposing again while the proposal is out is refused.
    let (s, again) = status_json(
        api.post_json(
            &format!("/api/v1/placement/requests/{id}/propose"),
            &propose,
        )
        .await,
    )
    .await;
    assert_eq!(s, 409, "{again}");

    let board: Value = api
        .get_json("/api/v1/placement/board?from=2027-02-01&days=3")
        .await;
    let held: Vec<&Value> = board["taken"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["bed_id"] == bed)
        .collect();
    assert_eq!(held.len(), 2, "{board}");
    assert!(held
        .iter()
        .all(|n| n["state"] == "held" && n["case_number"] == "R-0001"));

    // The facility cannot mark a held night as a regular booking.
    let (s, e) = status_json(
        api.post_json(
            &format!("/api/v1/placement/facilities/{}/occupancy", ids["ss"]),
            &json!([{"bed_id": bed, "from": "2027-02-02", "to": "2027-02-03", "occupied": true}]),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "{e}");

    let (s, _) = status_json(
        api.post_json(
            &format!("/api/v1/placement/requests/{id}/confirm"),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 409, "not accepted yet");
    let res = api
        .post_json(
            &format!("/api/v1/placement/holds/{hold}/answer"),
            &json!({"accept": true}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 204);
    let res = api
        .post_json(
            &format!("/api/v1/placement/requests/{id}/confirm"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 204);
    let board: Value = api
        .get_json("/api/v1/placement/board?from=2027-02-01&days=3")
        .await;
    assert!(
        board["taken"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["bed_id"] == bed)
            .all(|n| n["state"] == "placed"),
        "{board}"
    );

    // The same search now leaves only the hub's room.
    let (_, found) = status_json(api.post_json("/api/v1/placement/search", &search).await).await;
    let whole: Vec<i64> = found["whole"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bed_id"].as_i64().unwrap())
        .collect();
    assert_eq!(whole, vec![beds["HUB-ER/A"]], "{found}");

    // She leaves a night early: the second night is free again.
    let res = api
        .post_json(
            &format!("/api/v1/placement/requests/{id}/end"),
            &json!({"check_out": "2027-02-02", "reason": "帰宅"}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(bed_night_rows(&app, bed, "2027-02-01").await, 1);
    assert_eq!(bed_night_rows(&app, bed, "2027-02-02").await, 0);

    let detail: Value = api
        .get_json(&format!("/api/v1/placement/requests/{id}"))
        .await;
    let flow: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        flow,
        vec!["consultation", "proposed", "accepted", "placed", "ended"],
        "{detail}"
    );
    assert_eq!(detail["person_name"], "R-0001 さん");

    // A preventive-support call logged for the same case, and a bad one refused.
    let (s, p) = status_json(
        api.post_json(
            "/api/v1/placement/preventive",
            &json!({"request_id": id, "on_date": "2027-01-20", "kind": "電話"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let (s, e) = status_json(
        api.post_json(
            "/api/v1/placement/preventive",
            &json!({"on_date": "someday", "kind": ""}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["fields"].as_array().unwrap().len(), 2, "{e}");
    let actions: Value = api.get_json("/api/v1/placement/preventive").await;
    assert_eq!(actions[0]["case_number"], "R-0001");

    // Figures of FY2026 (April 2026 - March 2027): one placement, one night left, community.
    let figures: Value = app
        .api(&admin_token)
        .get_json("/api/v1/placement/figures?fiscal_year=2026")
        .await;
    assert_eq!(figures["total"]["placements"], 1, "{figures}");
    assert_eq!(figures["total"]["nights"], 1, "{figures}");
    assert_eq!(figures["total"]["community_nights"], 1);
    assert_eq!(figures["total"]["preventive"], 1);
    let feb = figures["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["label"] == "2027-02")
        .unwrap();
    assert_eq!(feb["nights"], 1);
    let csv = app
        .api(&admin_token)
        .get("/api/v1/placement/figures?fiscal_year=2026&format=csv")
        .await;
    assert_eq!(csv.status().as_u16(), 200);
    let text = String::from_utf8_lossy(&csv.bytes().await.unwrap()).to_string();
    assert!(
        text.contains("受入れ件数") && text.contains("はなみずき"),
        "{text}"
    );
}
both_engines!(search_and_the_request_flow);

/// Each instance keeps the placement state in memory for searches; a booking, an occupancy
/// update or a facility edit made through one instance shows in the other's next search.
async fn two_instances_see_each_others_changes(engine: Engine) {
    let (app, hub, _, _) = setup(engine).await;
    let a = app.api(&hub);
    let other = app.another_instance().await;
    let b = other.api(&hub);
    let ids = facilities(&a).await;
    let beds = bed_ids(&a).await;
    let search = json!({"from": "2027-03-30", "to": "2027-04-02", "sex": "female", "wheelchair": true, "disability_types": ["physical"]});
    async fn whole(api: &Api, search: &Value) -> Vec<i64> {
        let (s, found) = status_json(api.post_json("/api/v1/placement/search", search).await).await;
        assert_eq!(s, 200, "{found}");
        found["whole"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["bed_id"].as_i64().unwrap())
            .collect()
    }
    let both = vec![beds["SS1-BEDS/3"], beds["HUB-ER/A"]];
    assert_eq!(whole(&a, &search).await, both, "instance A before");
    assert_eq!(whole(&b, &search).await, both, "instance B before");

    // B proposes the community bed (nights in March and April): A no longer offers it.
    let mut body = request_body(
        "R-0100",
        "female",
        "2027-03-30",
        "2027-04-02",
        &["physical"],
    );
    body["wheelchair"] = json!(true);
    let id = create_request(&b, &body).await;
    let propose = json!({"segments": [{"bed_id": beds["SS1-BEDS/3"], "from": "2027-03-30", "to": "2027-04-02"}]});
    let (s, p) = status_json(
        b.post_json(
            &format!("/api/v1/placement/requests/{id}/propose"),
            &propose,
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(
        whole(&a, &search).await,
        vec![beds["HUB-ER/A"]],
        "A after B's hold"
    );

    // A records the hub room occupied on one night in April: B sees no whole-stay bed.
    let (s, o) = status_json(
        a.post_json(
            &format!("/api/v1/placement/facilities/{}/occupancy", ids["hub"]),
            &json!([{"bed_id": beds["HUB-ER/A"], "from": "2027-04-01", "to": "2027-04-02", "occupied": true, "sex": "male"}]),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(
        whole(&b, &search).await,
        Vec::<i64>::new(),
        "B after A's occupancy"
    );

    // Withdrawing the request on A frees bed 3 for B's search.
    let (s, w) = status_json(
        a.post_json(
            &format!("/api/v1/placement/requests/{id}/withdraw"),
            &json!({"reason": "家族が対応"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 204, "{w}");
    assert_eq!(
        whole(&b, &search).await,
        vec![beds["SS1-BEDS/3"]],
        "B after A's withdrawal"
    );

    // B edits the short stay to take intellectual disabilities only: A no longer offers it.
    let (s, f) = status_json(
        b.put_json(
            &format!("/api/v1/placement/facilities/{}", ids["ss"]),
            &json!({
                "code": "SS1-BEDS", "organisation": "SS1", "name": "はなみずき", "kind": "short_stay",
                "disability_types": ["intellectual"], "night_staff": true, "x_km": 3.0, "y_km": 4.0, "rooms": []
            }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{f}");
    assert_eq!(
        whole(&a, &search).await,
        Vec::<i64>::new(),
        "A after B's facility edit"
    );
}
both_engines!(two_instances_see_each_others_changes);

async fn a_decline_frees_the_nights_and_a_batch_prefers_community_beds(engine: Engine) {
    let (app, hub, _, _) = setup(engine).await;
    let api = app.api(&hub);
    facilities(&api).await;
    let beds = bed_ids(&api).await;
    // Three men with intellectual disabilities for the same two nights: the shared room takes
    // two, the trial room one; the hub's room stays free.
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            create_request(
                &api,
                &request_body(
                    &format!("B-{i}"),
                    "male",
                    "2027-03-01",
                    "2027-03-03",
                    &["intellectual"],
                ),
            )
            .await,
        );
    }
    let (s, out) = status_json(
        api.post_json("/api/v1/placement/batch", &json!({"all_open": true}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["proposed"], 3, "{out}");
    assert_eq!(out["hub_nights"], 0, "the hub's room is kept free: {out}");
    assert_eq!(out["community_nights"], 6);
    let first_items = out["items"].clone();
    // Sendai (003): each segment says how far it is from home and what it costs (the batch
    // once printed 0.0 km and 0.0 on every segment).
    for item in out["items"].as_array().unwrap() {
        for seg in item["segments"].as_array().unwrap() {
            assert!(seg["distance_km"].as_f64().unwrap() > 0.0, "{seg}");
            assert!(seg["cost"].as_f64().unwrap() > 0.0, "{seg}");
        }
    }
    let hub_bed = beds["HUB-ER/A"];
    assert_eq!(bed_night_rows(&app, hub_bed, "2027-03-01").await, 0);

    // The group home declines its guest: the nights are free, the request is open again.
    let declined = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["segments"][0]["facility_name"] == "ひなた 体験室")
        .unwrap();
    let rid = declined["request_id"].as_i64().unwrap();
    let detail: Value = api
        .get_json(&format!("/api/v1/placement/requests/{rid}"))
        .await;
    let hold = detail["holds"][0]["id"].as_i64().unwrap();
    let (s, e) = status_json(
        api.post_json(
            &format!("/api/v1/placement/holds/{hold}/answer"),
            &json!({"accept": false}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "a decline needs a reason: {e}");
    let res = api
        .post_json(
            &format!("/api/v1/placement/holds/{hold}/answer"),
            &json!({"accept": false, "reason": "職員不足"}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(
        bed_night_rows(&app, beds["GH1-TRIAL/体験"], "2027-03-01").await,
        0
    );
    let detail: Value = api
        .get_json(&format!("/api/v1/placement/requests/{rid}"))
        .await;
    assert_eq!(detail["status"], "declined");
    assert_eq!(detail["holds"][0]["answer_reason"], "職員不足");

    // A second batch places the declined request where something is left: the hub's room.
    let (s, out) = status_json(
        api.post_json("/api/v1/placement/batch", &json!({"request_ids": [rid]}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["proposed"], 1, "{out}");
    assert_eq!(out["items"][0]["segments"][0]["bed_id"], hub_bed, "{out}");
    // A proposal nobody answers expires: its nights are free at once, and housekeeping
    // reopens the request.
    let other = first_items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["request_id"].as_i64().unwrap())
        .find(|r| *r != rid)
        .unwrap();
    let other_bed = first_items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["request_id"] == other)
        .unwrap()["segments"][0]["bed_id"]
        .as_i64()
        .unwrap();
    sqlx::query("UPDATE placement_holds SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE request_id = $1")
        .bind(other)
        .execute(&app.db().pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE bed_nights SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE bed_id = $1",
    )
    .bind(other_bed)
    .execute(&app.db().pool)
    .await
    .unwrap();
    let board: Value = api
        .get_json("/api/v1/placement/board?from=2027-03-01&days=2")
        .await;
    assert!(
        board["taken"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["bed_id"] != other_bed),
        "an expired hold is free: {board}"
    );
    assert_eq!(app.db().expire_all_holds().await.unwrap(), 1);
    let detail: Value = api
        .get_json(&format!("/api/v1/placement/requests/{other}"))
        .await;
    assert_eq!(detail["status"], "consultation", "{detail}");
    assert_eq!(detail["holds"][0]["status"], "expired");
    assert_eq!(bed_night_rows(&app, other_bed, "2027-03-01").await, 0);
    let (s, _) = status_json(
        api.post_json(
            &format!("/api/v1/placement/requests/{other}/withdraw"),
            &json!({"reason": "家族が対応"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 204);
}
both_engines!(a_decline_frees_the_nights_and_a_batch_prefers_community_beds);

async fn bad_input_and_personal_data(engine: Engine) {
    let (app, hub, admin_token, coordinator_token) = setup(engine).await;
    let api = app.api(&hub);
    facilities(&api).await;
    // Every field at fault is named.
    let (s, e) = status_json(
        api.post_json("/api/v1/placement/requests", &json!({"case_number": "", "person_name": "", "sex": "x", "from": "2027-01-05", "to": "2027-01-05", "urgency": 7})).await,
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let fields: Vec<&str> = e["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in ["case_number", "person_name", "sex", "to", "urgency"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let (s, e) = status_json(
        api.post_json(
            "/api/v1/placement/search",
            &json!({"from": "2027-01-05", "to": "2027-01-06", "sex": "female", "color": "red"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 400, "unknown fields are refused: {e}");
    let (s, e) = status_json(
        api.post_json("/api/v1/placement/facilities", &json!({"code": "X", "organisation": "NOPE", "name": "x", "kind": "castle", "disability_types": []})).await,
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let id = create_request(
        &api,
        &request_body("P-1", "female", "2027-01-05", "2027-01-07", &["mental"]),
    )
    .await;
    let (s, e) = status_json(
        api.post_json(
            "/api/v1/placement/requests",
            &request_body("P-1", "female", "2027-01-05", "2027-01-07", &["mental"]),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, e["fields"][0]["field"].as_str()),
        (422, Some("case_number")),
        "{e}"
    );
    // Segments that do not cover the stay are refused before anything is held.
    let beds = bed_ids(&api).await;
    let (s, e) = status_json(
        api.post_json(&format!("/api/v1/placement/requests/{id}/propose"), &json!({"segments": [{"bed_id": beds["HUB-ER/A"], "from": "2027-01-05", "to": "2027-01-06"}]})).await,
    )
    .await;
    assert_eq!(s, 422, "{e}");

    // Coordinators and viewers see neither the requests nor the people in them.
    let coordinator = app.api(&coordinator_token);
    for path in [
        "/api/v1/placement/requests".to_string(),
        format!("/api/v1/placement/requests/{id}"),
    ] {
        let (s, e) = status_json(coordinator.get(&path).await).await;
        assert_eq!(s, 403, "{path}: {e}");
    }
    // The board shows no names to anyone.
    let board = coordinator
        .get("/api/v1/placement/board?from=2027-01-05&days=3")
        .await
        .text()
        .await
        .unwrap();
    assert!(!board.contains("P-1 さん"));
    // Each read of a request by hub staff is in the audit log.
    let before: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'read' AND entity = 'placement_request'",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    let _: Value = api
        .get_json(&format!("/api/v1/placement/requests/{id}"))
        .await;
    let _: Value = app
        .api(&admin_token)
        .get_json(&format!("/api/v1/placement/requests/{id}"))
        .await;
    let after: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'read' AND entity = 'placement_request'",
    )
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(after - before, 2);
}
both_engines!(bad_input_and_personal_data);

/// The board page is one grid (one table, a focusable labelled scroll region) and is read a
/// page of facilities at a time: 25 facilities give 20 and 5, the filters stay in the paging
/// links, and a page out of range is a bilingual 422 (as a bad `days` is) naming the range.
async fn the_board_page_is_one_grid_paged_by_facility(engine: Engine) {
    let (app, hub, _admin, _coordinator) = setup(engine).await;
    let api = app.api(&hub);
    for i in 1..=25 {
        create_facility(&api, json!({
            "code": format!("SS-{i:02}"), "organisation": "SS1", "name": format!("ショートステイ {i:02}"), "kind": "short_stay",
            "disability_types": ["physical"], "x_km": 1.0, "y_km": 1.0,
            "rooms": [{"name": format!("緊急用居室{i}"), "sex_policy": "any", "beds": [{"name": "A"}, {"name": "B"}]}]
        }))
        .await;
    }
    let web = crate::support::logged_in_client(&app, "kyoten-admin").await;
    let page = |q: &str| app.url(&format!("/placement?from=2027-01-05&days=7{q}"));
    let first = crate::support::get_text(&web, &page("&sex=female")).await;
    assert_eq!(
        first.matches("<table class=\"board\"").count(),
        1,
        "{first}"
    );
    assert!(
        first.contains(r#"<div class="board-scroll" tabindex="0" role="region" aria-label="#),
        "the grid is a focusable, labelled scroll region"
    );
    assert_eq!(first.matches("<tr class=\"fac\">").count(), 20);
    assert_eq!(
        first.matches("<th scope=\"row\" class=\"bed\">").count(),
        40
    );
    // Seven nights: seven cells in each bed row, one night header each.
    assert_eq!(first.matches("<th scope=\"col\" class=\"night").count(), 7);
    assert_eq!(first.matches("<td class=\"cell ").count(), 40 * 7);
    assert!(
        first.contains("施設 1〜20（全25施設、1ページ20施設）・ベッド40床"),
        "{first}"
    );
    assert!(first.contains("ショートステイ 20") && !first.contains("ショートステイ 21"));
    // The next page keeps the nights and the filter.
    // (minijinja escapes the slash too.)
    let next = "&#x2f;placement?from=2027-01-05&amp;sex=female&amp;days=7&amp;page=2";
    assert!(first.contains(next), "{first}");
    let second = crate::support::get_text(&web, &page("&sex=female&page=2")).await;
    assert_eq!(second.matches("<tr class=\"fac\">").count(), 5);
    assert!(second.contains("ショートステイ 21") && !second.contains("ショートステイ 20<"));
    assert!(second.contains("施設 21〜25（全25施設、1ページ20施設）・ベッド10床"));
    assert!(
        second.contains("<option value=\"female\" selected>"),
        "the filter is kept"
    );
    for bad in ["&page=3", "&page=0"] {
        let res = crate::support::get_page(&web, &page(bad)).await;
        assert_eq!(res.status(), 422, "{bad}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains("ページは1から2で指定してください") && body.contains("page is 1 to 2"),
            "{body}"
        );
    }
    app.stop().await;
}
both_engines!(the_board_page_is_one_grid_paged_by_facility);
