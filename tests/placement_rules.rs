//! The fit and room rules hold on every booking path whatever the client sends (a proposal
//! into an unfit bed is a 422 naming the rule), and a batch needs an explicit body (400).

use serde_json::{json, Value};

use crate::both_engines;
use crate::placement::{bed_ids, create_request, facilities, request_body, setup, status_json};
use crate::support::{Api, Engine};

async fn propose(api: &Api, request: i64, bed: i64, from: &str, to: &str) -> (u16, Value) {
    status_json(
        api.post_json(
            &format!("/api/v1/placement/requests/{request}/propose"),
            &json!({"segments": [{"bed_id": bed, "from": from, "to": to}]}),
        )
        .await,
    )
    .await
}

/// A request with `extra` needs on top of `request_body`.
async fn request_with(api: &Api, case: &str, sex: &str, types: &[&str], extra: Value) -> i64 {
    let mut body = request_body(case, sex, "2027-08-01", "2027-08-03", types);
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    create_request(api, &body).await
}

/// The proposal is refused with 422 on the bed, naming the rule in both languages.
fn refused_for(result: &(u16, Value), rule_en: &str, rule_ja: &str) {
    let (s, b) = result;
    assert_eq!(*s, 422, "{b}");
    let field = &b["fields"][0];
    assert_eq!(field["field"], "segments[0].bed_id", "{b}");
    assert!(
        field["message"]["en"].as_str().unwrap().contains(rule_en),
        "names the rule {rule_en}: {b}"
    );
    assert!(
        field["message"]["ja"].as_str().unwrap().contains(rule_ja),
        "names the rule {rule_ja}: {b}"
    );
}

async fn a_proposal_into_an_unfit_bed_names_the_rule(engine: Engine) {
    let (app, hub, _, _) = setup(engine).await;
    let api = app.api(&hub);
    facilities(&api).await;
    let beds = bed_ids(&api).await;
    let (from, to) = ("2027-08-01", "2027-08-03");

    let man = request_with(&api, "F-1", "male", &["intellectual"], json!({})).await;
    refused_for(
        &propose(&api, man, beds["SS1-BEDS/3"], from, to).await,
        "room for women only",
        "女性専用の部屋",
    );
    let child = request_with(
        &api,
        "F-2",
        "female",
        &["intellectual"],
        json!({"child": true}),
    )
    .await;
    refused_for(
        &propose(&api, child, beds["GH1-TRIAL/体験"], from, to).await,
        "does not take children",
        "障害児を受け入れていない",
    );
    let oxygen = request_with(
        &api,
        "F-3",
        "female",
        &["physical"],
        json!({"medical_care": ["oxygen"]}),
    )
    .await;
    refused_for(
        &propose(&api, oxygen, beds["SS1-BEDS/1"], from, to).await,
        "does not offer home oxygen",
        "在宅酸素に対応していない",
    );
    let wheelchair = request_with(
        &api,
        "F-4",
        "female",
        &["physical"],
        json!({"wheelchair": true}),
    )
    .await;
    refused_for(
        &propose(&api, wheelchair, beds["SS1-BEDS/1"], from, to).await,
        "no wheelchair-accessible bed",
        "車椅子対応のベッドがない",
    );
    let physical = request_with(&api, "F-5", "male", &["physical"], json!({})).await;
    refused_for(
        &propose(&api, physical, beds["GH1-TRIAL/体験"], from, to).await,
        "does not accept physical disability",
        "身体障害を受け入れていない",
    );
    // Refused proposals hold nothing and leave the request open.
    let (s, b) = propose(&api, wheelchair, beds["SS1-BEDS/3"], from, to).await;
    assert_eq!(s, 201, "the women's wheelchair room fits her: {b}");

    // A shared room: a man holds bed 1, so a woman cannot take bed 2 on those nights, only on others.
    let (s, b) = propose(&api, man, beds["SS1-BEDS/1"], from, to).await;
    assert_eq!(s, 201, "{b}");
    let woman = request_with(&api, "F-6", "female", &["intellectual"], json!({})).await;
    refused_for(
        &propose(&api, woman, beds["SS1-BEDS/2"], from, to).await,
        "shared room with men in it on the night of 2027-08-01",
        "男性が利用しています",
    );
    let later = create_request(
        &api,
        &request_body(
            "F-7",
            "female",
            "2027-08-03",
            "2027-08-05",
            &["intellectual"],
        ),
    )
    .await;
    let (s, b) = propose(&api, later, beds["SS1-BEDS/2"], "2027-08-03", "2027-08-05").await;
    assert_eq!(s, 201, "the room is free of men from the 3rd: {b}");
    let nights: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM bed_nights n JOIN placement_holds h ON h.id = n.hold_id WHERE h.request_id = $1",
    )
    .bind(woman)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(nights, 0, "a refused proposal holds nothing");
}
both_engines!(a_proposal_into_an_unfit_bed_names_the_rule);

async fn a_batch_needs_an_explicit_body(engine: Engine) {
    let (app, hub, _, _) = setup(engine).await;
    let api = app.api(&hub);
    facilities(&api).await;
    let id = create_request(
        &api,
        &request_body("B-1", "male", "2027-09-01", "2027-09-03", &["intellectual"]),
    )
    .await;
    for body in [
        Vec::new(),
        b"{}".to_vec(),
        br#"{"request_ids": []}"#.to_vec(),
        format!(r#"{{"request_ids": [{id}], "all_open": true}}"#).into_bytes(),
    ] {
        let res = api
            .request(reqwest::Method::POST, "/api/v1/placement/batch")
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let (s, b) = status_json(res).await;
        // The cross-field rule is a 422 naming request_ids (the body itself is well-formed).
        assert_eq!(s, 422, "{} -> {b}", String::from_utf8_lossy(&body));
        assert_eq!(b["fields"][0]["field"], "request_ids", "{b}");
        let message = &b["fields"][0]["message"];
        assert!(
            message["en"].as_str().unwrap().contains("all_open")
                && message["ja"].as_str().unwrap().contains("all_open"),
            "{b}"
        );
    }
    let holds: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM placement_holds")
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    assert_eq!(holds, 0, "a refused batch proposes nothing");
    let (s, b) = status_json(
        api.post_json("/api/v1/placement/batch", &json!({"request_ids": [id]}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["proposed"], 1, "{b}");
}
both_engines!(a_batch_needs_an_explicit_body);

/// Sendai (003): a request's distance limit keeps facilities farther from home out of the
/// search (each named with the reason) and out of the batch; a bad limit names its field.
async fn a_distance_limit_keeps_far_facilities_out(engine: Engine) {
    let (app, hub, _, _) = setup(engine).await;
    let api = app.api(&hub);
    facilities(&api).await;
    let search = json!({"from": "2027-08-01", "to": "2027-08-03", "sex": "female",
        "disability_types": ["intellectual"], "home_x_km": 1.0, "home_y_km": 1.0});
    let (s, all) = status_json(api.post_json("/api/v1/placement/search", &search).await).await;
    assert_eq!(s, 200, "{all}");
    let mut distances: Vec<f64> = all["whole"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["distance_km"].as_f64().unwrap())
        .collect();
    distances.sort_by(f64::total_cmp);
    distances.dedup();
    assert!(
        distances.len() >= 2,
        "facilities at different distances: {all}"
    );
    // A limit between the nearest and the farthest.
    let limit = (distances[0] + distances[distances.len() - 1]) / 2.0;
    let mut limited = search.clone();
    limited["max_distance_km"] = json!(limit);
    let (s, near) = status_json(api.post_json("/api/v1/placement/search", &limited).await).await;
    assert_eq!(s, 200, "{near}");
    let whole = near["whole"].as_array().unwrap();
    assert!(!whole.is_empty(), "{near}");
    assert!(
        whole
            .iter()
            .all(|b| b["distance_km"].as_f64().unwrap() <= limit),
        "{near}"
    );
    assert!(
        near["misses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["reason"]["ja"]
                .as_str()
                .unwrap()
                .contains(&format!("上限{limit}km"))),
        "the far facilities are named with the limit: {}",
        near["misses"]
    );
    // The batch keeps the limit too.
    let id = request_with(
        &api,
        "D-1",
        "female",
        &["intellectual"],
        json!({"home_x_km": 1.0, "home_y_km": 1.0, "max_distance_km": limit}),
    )
    .await;
    let (s, out) = status_json(
        api.post_json("/api/v1/placement/batch", &json!({"request_ids": [id]}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{out}");
    for seg in out["items"][0]["segments"].as_array().unwrap() {
        assert!(seg["distance_km"].as_f64().unwrap() <= limit, "{out}");
    }
    let mut bad = search.clone();
    bad["max_distance_km"] = json!(0);
    let (s, body) = status_json(api.post_json("/api/v1/placement/search", &bad).await).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "max_distance_km", "{body}");

    // The search page takes the home and the limit as typed (full-width digits too), and
    // names a value that is not a number instead of searching without it.
    let c = crate::support::logged_in_client(&app, "kyoten-admin").await;
    let query = |limit: &str| {
        format!(
            "/placement/search?from=2027-08-01&to=2027-08-03&sex=female&disability_types=intellectual&home_x_km=%EF%BC%91&home_y_km=1&max_distance_km={limit}"
        )
    };
    let page = crate::support::get_text(&c, &app.url(&query("abc"))).await;
    assert!(page.contains("「abc」は数値ではありません"), "{page}");
    assert!(page.contains(r#"value="abc""#), "what was typed is kept");
    let page = crate::support::get_text(&c, &app.url(&query(&limit.to_string()))).await;
    assert!(page.contains(&format!("上限{limit}km")), "{page}");
    assert!(page.contains(r#"id="home_x_km" name="home_x_km""#));
}
both_engines!(a_distance_limit_keeps_far_facilities_out);
