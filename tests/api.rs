//! The JSON API's edges: every bad input gets a clear, bilingual error; the OpenAPI document
//! is served and describes the routes; health endpoints answer.

use serde_json::{json, Value};

use crate::both_engines;
use crate::support::{client, tenant, Engine, TestApp};

async fn bad_input_gets_clear_errors(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let c = client();
    let post = |body: String| {
        c.post(app.url("/api/v1/master/organisations"))
            .bearer_auth(&t.admin_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    // Malformed JSON: 400 naming line and column.
    let res = post("{\"code\": \"A\",".into()).await.unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "bad_request");
    assert!(
        body["message"]["en"].as_str().unwrap().contains("line 1"),
        "{body}"
    );
    assert!(
        body["message"]["ja"].as_str().unwrap().contains("JSON"),
        "{body}"
    );

    // Unknown field: 400 naming it.
    let res = post(json!({"code": "A", "name": "x", "kind": "hub", "colour": "red"}).to_string())
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("colour"));

    // Invalid values: 422 listing every field with messages in both languages.
    let res =
        post(json!({"code": "a b", "name": "", "kind": "spaceship", "email": "x@"}).to_string())
            .await
            .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["kind", "code", "name", "email"]);
    assert!(body["fields"][0]["message"]["ja"]
        .as_str()
        .unwrap()
        .contains("consultation_office"));

    // Room capacity out of range.
    let res = c
        .post(app.url("/api/v1/master/rooms"))
        .bearer_auth(&t.admin_token)
        .json(&json!({"code": "R", "venue_code": "V", "name": "室", "capacity": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["fields"][0]["field"],
        "capacity"
    );

    // Bad ids, unknown kinds and unknown routes.
    let res = c
        .get(app.url("/api/v1/master/organisations/abc"))
        .bearer_auth(&t.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = c
        .get(app.url("/api/v1/master/spaceships"))
        .bearer_auth(&t.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.json::<Value>().await.unwrap()["message"]["en"]
        .as_str()
        .unwrap()
        .contains("organisations, people"));
    let res = c
        .get(app.url("/api/v1/nothing-here"))
        .bearer_auth(&t.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res.json::<Value>().await.unwrap()["message"]["en"]
        .as_str()
        .unwrap()
        .contains("openapi"));
    let res = c
        .get(app.url("/api/v1/calendar/holidays?from_year=2026"))
        .bearer_auth(&t.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = c
        .get(app.url("/api/v1/calendar/holidays?from_year=2051&to_year=2051"))
        .bearer_auth(&t.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // No token, a wrong token, a viewer writing.
    let res = c.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.json::<Value>().await.unwrap()["message"]["en"]
        .as_str()
        .unwrap()
        .contains("Bearer"));
    assert_eq!(
        c.get(app.url("/api/v1/me"))
            .bearer_auth("rk_forged")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let res = c
        .post(app.url("/api/v1/master/organisations"))
        .bearer_auth(&t.viewer_token)
        .json(&json!({"code": "V", "name": "閲覧者", "kind": "other"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = c
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&t.viewer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(t.admin.username, "alpha-admin");
    app.stop().await;
}
both_engines!(bad_input_gets_clear_errors);

#[tokio::test]
async fn openapi_health_and_calendar() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let t = tenant(app.db(), "alpha").await;
    let c = client();
    assert_eq!(
        c.get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    let ready: Value = c
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");

    let doc: Value = c
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/master/{kind}",
        "/api/v1/master/{kind}/{id}",
        "/api/v1/master/{kind}/import",
        "/api/v1/calendar/holidays",
        "/api/v1/jobs/{id}",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["OrganisationInput"].is_object());

    let holidays: Vec<Value> = c
        .get(app.url("/api/v1/calendar/holidays?from_year=2026&to_year=2026"))
        .bearer_auth(&t.viewer_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(holidays.len(), 18);
    assert!(holidays
        .iter()
        .any(|h| h["date"] == "2026-09-22" && h["kind"] == "citizens"));

    // Extra closures: a range becomes one closed day each; bad ranges are refused field by field.
    let res = c
        .post(app.url("/api/v1/calendar/closures"))
        .bearer_auth(&t.coordinator_token)
        .json(&json!({"from": "2026/8/13", "to": "2026-08-14", "reason": "庁舎設備点検"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let ids = res.json::<Value>().await.unwrap()["ids"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(ids, 2);
    let res = c
        .post(app.url("/api/v1/calendar/closures"))
        .bearer_auth(&t.coordinator_token)
        .json(&json!({"from": "2026-08-20", "to": "2026-08-01", "reason": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let fields: Vec<String> = res.json::<Value>().await.unwrap()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["reason", "to"]);
    let res = c
        .post(app.url("/api/v1/calendar/closures"))
        .bearer_auth(&t.viewer_token)
        .json(&json!({"from": "2026-08-20", "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let closed: Vec<Value> = c
        .get(app.url("/api/v1/calendar/closed?fiscal_year=令和8年度"))
        .bearer_auth(&t.viewer_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(closed
        .iter()
        .any(|d| d["date"] == "2026-08-14"
            && d["reason_ja"].as_str().unwrap().contains("庁舎設備点検")));
    assert!(closed.iter().any(|d| d["date"] == "2026-08-13"));
    assert!(closed.iter().any(|d| d["date"] == "2026-12-29"));
    let res = c
        .get(app.url("/api/v1/calendar/closed?fiscal_year=next"))
        .bearer_auth(&t.viewer_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    app.stop().await;
}

async fn absences_of_people(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let other = tenant(app.db(), "bravo").await;
    let c = client();
    let person: Value = c
        .post(app.url("/api/v1/master/people"))
        .bearer_auth(&t.admin_token)
        .json(&json!({"code": "P1", "name": "中村 陽子"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = app.url(&format!("/api/v1/people/{}/absences", person["id"]));
    let res = c
        .post(&url)
        .bearer_auth(&t.admin_token)
        .json(&json!({"from": "2026-07-01", "to": "2026-07-03", "reason": "研修出張"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let absence = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = c
        .post(&url)
        .bearer_auth(&t.admin_token)
        .json(&json!({"from": "7月1日"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let listed: Vec<Value> = c
        .get(&url)
        .bearer_auth(&t.viewer_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0]["from"].as_str(), listed[0]["to"].as_str()),
        (Some("2026-07-01"), Some("2026-07-03"))
    );
    // Another municipality can neither see, add to, nor delete them.
    assert_eq!(
        c.get(&url)
            .bearer_auth(&other.admin_token)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let res = c
        .post(&url)
        .bearer_auth(&other.admin_token)
        .json(&json!({"from": "2026-07-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let del = app.url(&format!("/api/v1/absences/{absence}"));
    assert_eq!(
        c.delete(&del)
            .bearer_auth(&other.admin_token)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        c.delete(&del)
            .bearer_auth(&t.admin_token)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let listed: Vec<Value> = c
        .get(&url)
        .bearer_auth(&t.viewer_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty());
    app.stop().await;
}
both_engines!(absences_of_people);
