//! The JSON API's edges: every bad input gets a clear, bilingual error; the OpenAPI document
//! is served and describes the routes; health endpoints answer.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::both_engines;
use crate::support::{tenant, Engine, TestApp};

/// The English half of an error response's message.
async fn message_en(res: Response) -> String {
    let body: Value = res.json().await.unwrap();
    body["message"]["en"].as_str().unwrap().to_string()
}

/// The field names of a validation error, in order.
fn field_names(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

async fn bad_input_gets_clear_errors(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let admin = app.api(&t.admin_token);
    let viewer = app.api(&t.viewer_token);
    let post = |body: String| {
        admin
            .request(Method::POST, "/api/v1/master/organisations")
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
    assert_eq!(field_names(&body), ["kind", "code", "name", "email"]);
    assert!(body["fields"][0]["message"]["ja"]
        .as_str()
        .unwrap()
        .contains("consultation_office"));

    // Room capacity out of range.
    let res = admin
        .post_json(
            "/api/v1/master/rooms",
            &json!({"code": "R", "venue_code": "V", "name": "室", "capacity": 0}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        res.json::<Value>().await.unwrap()["fields"][0]["field"],
        "capacity"
    );

    // Bad ids, unknown kinds and unknown routes.
    let res = admin.get("/api/v1/master/organisations/abc").await;
    assert_eq!(res.status(), 404);
    assert!(message_en(res).await.contains("not a number"));
    let res = admin.get("/api/v1/master/spaceships").await;
    assert_eq!(res.status(), 404);
    assert!(message_en(res).await.contains("organisations, people"));
    let res = admin.get("/api/v1/nothing-here").await;
    assert_eq!(res.status(), 404);
    assert!(message_en(res).await.contains("openapi"));
    let res = admin.get("/api/v1/calendar/holidays?from_year=2026").await;
    assert_eq!(res.status(), 400);
    let res = admin
        .get("/api/v1/calendar/holidays?from_year=2051&to_year=2051")
        .await;
    assert_eq!(res.status(), 400);

    // No token, a wrong token, a viewer writing.
    let res = app.anonymous().get("/api/v1/me").await;
    assert_eq!(res.status(), 401);
    assert!(message_en(res).await.contains("Bearer"));
    assert_eq!(app.api("rk_forged").get("/api/v1/me").await.status(), 401);
    let res = viewer
        .post_json(
            "/api/v1/master/organisations",
            &json!({"code": "V", "name": "閲覧者", "kind": "other"}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = viewer.get("/api/v1/audit").await;
    assert_eq!(res.status(), 403);
    assert_eq!(t.admin.username, "alpha-admin");
    app.stop().await;
}
both_engines!(bad_input_gets_clear_errors);

#[tokio::test]
async fn openapi_health_and_calendar() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let t = tenant(app.db(), "alpha").await;
    let anonymous = app.anonymous();
    let coordinator = app.api(&t.coordinator_token);
    let viewer = app.api(&t.viewer_token);
    assert_eq!(anonymous.get("/healthz").await.text().await.unwrap(), "ok");
    let ready: Value = anonymous.get_json("/readyz").await;
    assert_eq!(ready["status"], "ready");

    let doc: Value = anonymous.get_json("/api/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/master/organisations",
        "/api/v1/master/people/{id}",
        "/api/v1/master/rooms/import",
        "/api/v1/calendar/holidays",
        "/api/v1/jobs/{id}",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["OrganisationInput"].is_object());

    let holidays: Vec<Value> = viewer
        .get_json("/api/v1/calendar/holidays?from_year=2026&to_year=2026")
        .await;
    assert_eq!(holidays.len(), 18);
    assert!(holidays
        .iter()
        .any(|h| h["date"] == "2026-09-22" && h["kind"] == "citizens"));

    // Extra closures: a range becomes one closed day each; bad ranges are refused field by field.
    let closures = "/api/v1/calendar/closures";
    let res = coordinator
        .post_json(
            closures,
            &json!({"from": "2026/8/13", "to": "2026-08-14", "reason": "庁舎設備点検"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let ids = res.json::<Value>().await.unwrap()["ids"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(ids, 2);
    let res = coordinator
        .post_json(
            closures,
            &json!({"from": "2026-08-20", "to": "2026-08-01", "reason": ""}),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(
        field_names(&res.json::<Value>().await.unwrap()),
        ["reason", "to"]
    );
    let res = viewer
        .post_json(closures, &json!({"from": "2026-08-20", "reason": "x"}))
        .await;
    assert_eq!(res.status(), 403);
    let closed: Vec<Value> = viewer
        .get_json("/api/v1/calendar/closed?fiscal_year=令和8年度")
        .await;
    assert!(closed
        .iter()
        .any(|d| d["date"] == "2026-08-14"
            && d["reason_ja"].as_str().unwrap().contains("庁舎設備点検")));
    assert!(closed.iter().any(|d| d["date"] == "2026-08-13"));
    assert!(closed.iter().any(|d| d["date"] == "2026-12-29"));
    let res = viewer.get("/api/v1/calendar/closed?fiscal_year=next").await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "fiscal_year", "{body}");
    app.stop().await;
}

async fn absences_of_people(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let other = tenant(app.db(), "bravo").await;
    let admin = app.api(&t.admin_token);
    let viewer = app.api(&t.viewer_token);
    let other_admin = app.api(&other.admin_token);
    let person: Value = admin
        .post_json(
            "/api/v1/master/people",
            &json!({"code": "P1", "name": "中村 陽子"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let url = format!("/api/v1/people/{}/absences", person["id"]);
    let res = admin
        .post_json(
            &url,
            &json!({"from": "2026-07-01", "to": "2026-07-03", "reason": "研修出張"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let absence = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = admin.post_json(&url, &json!({"from": "7月1日"})).await;
    assert_eq!(res.status(), 422);
    let listed: Vec<Value> = viewer.get_json(&url).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0]["from"].as_str(), listed[0]["to"].as_str()),
        (Some("2026-07-01"), Some("2026-07-03"))
    );
    // Another municipality can neither see, add to, nor delete them.
    assert_eq!(other_admin.get(&url).await.status(), 404);
    let res = other_admin
        .post_json(&url, &json!({"from": "2026-07-01"}))
        .await;
    assert_eq!(res.status(), 404);
    let del = format!("/api/v1/absences/{absence}");
    assert_eq!(other_admin.delete(&del).await.status(), 404);
    assert_eq!(admin.delete(&del).await.status(), 204);
    let listed: Vec<Value> = viewer.get_json(&url).await;
    assert!(listed.is_empty());
    app.stop().await;
}
both_engines!(absences_of_people);

/// A database that does not answer (here: every pooled connection is busy) makes `/readyz`
/// say 503 within 2 s instead of waiting for the pool's acquire timeout.
async fn readyz_answers_fast_when_the_database_does_not(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let anonymous = app.anonymous();
    let t = tenant(app.db(), "busy").await;
    let admin = app.api(&t.admin_token);
    assert_eq!(anonymous.get("/readyz").await.status().as_u16(), 200);
    let pool = &app.db().pool;
    let mut held = Vec::new();
    for _ in 0..pool.options().get_max_connections() {
        held.push(pool.acquire().await.unwrap());
    }
    let started = std::time::Instant::now();
    let res = anonymous.get("/readyz").await;
    let took = started.elapsed();
    assert_eq!(res.status().as_u16(), 503);
    assert!(
        took < std::time::Duration::from_secs(2),
        "answered in {took:?}"
    );
    let body: Value = res.json().await.unwrap();
    assert!(
        body["status"].as_str().unwrap().contains("unavailable"),
        "{body}"
    );
    // An API call that cannot get a connection within the pool's acquire timeout did
    // nothing: 503 with Retry-After and a message saying so, never a 500.
    let res = admin.get("/api/v1/master/organisations").await;
    assert_eq!(res.status().as_u16(), 503);
    assert!(res.headers().contains_key("retry-after"), "{res:?}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unavailable", "{body}");
    assert!(body["message"]["ja"]
        .as_str()
        .unwrap()
        .contains("混み合っています"));
    drop(held);
    assert_eq!(anonymous.get("/readyz").await.status().as_u16(), 200);
    assert_eq!(
        admin.get("/api/v1/master/organisations").await.status(),
        200
    );
}
both_engines!(readyz_answers_fast_when_the_database_does_not);

/// Dates are bounded to 2000-01-01..2100-12-31 wherever they enter: closures, placement search
/// and board, planning periods, report months. The message names the range in both languages.
async fn dates_outside_2000_to_2100_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let admin = app.api(&t.admin_token);
    let check = |what: &'static str, field: &'static str| {
        move |(status, body): (u16, Value)| {
            assert_eq!(status, 422, "{what}: {body}");
            let fields = body["fields"].as_array().unwrap();
            let f = fields
                .iter()
                .find(|f| f["field"] == field)
                .unwrap_or_else(|| panic!("{what}: no error on {field}: {body}"));
            assert!(
                f["message"]["en"]
                    .as_str()
                    .unwrap()
                    .contains("2000-01-01 to 2100-12-31"),
                "{what}: {body}"
            );
            assert!(
                f["message"]["ja"].as_str().unwrap().contains("2100-12-31"),
                "{what}: {body}"
            );
        }
    };
    async fn sent(res: reqwest::Response) -> (u16, Value) {
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }
    check("closure", "from")(
        sent(
            admin
                .post_json(
                    "/api/v1/calendar/closures",
                    &json!({"from": "0000-01-01", "reason": "x"}),
                )
                .await,
        )
        .await,
    );
    check("closure", "from")(
        sent(
            admin
                .post_json(
                    "/api/v1/calendar/closures",
                    &json!({"from": "1999-12-31", "reason": "x"}),
                )
                .await,
        )
        .await,
    );
    check("search", "to")(
        sent(
            admin
                .post_json(
                    "/api/v1/placement/search",
                    &json!({"from": "2100-12-30", "to": "9999-12-31", "sex": "female"}),
                )
                .await,
        )
        .await,
    );
    check("board", "from")(sent(admin.get("/api/v1/placement/board?from=9999-12-01").await).await);
    check("board end", "days")(
        sent(
            admin
                .get("/api/v1/placement/board?from=2100-12-20&days=30")
                .await,
        )
        .await,
    );
    check("plan", "to")(
        sent(
            admin
                .post_json(
                    "/api/v1/plans",
                    &json!({"from": "2100-12-01", "to": "2101-01-31"}),
                )
                .await,
        )
        .await,
    );
    check("report month", "month")(
        sent(admin.get("/api/v1/reports/monthly?month=9999-01").await).await,
    );
    // Extreme years are refused (422: the range rule), not an overflow that drops the
    // connection (found by schemathesis).
    let res = admin
        .get("/api/v1/calendar/holidays?from_year=-2147483648&to_year=2147483646")
        .await;
    assert_eq!(res.status(), 422);
    // The edges themselves are fine.
    let res = admin
        .post_json(
            "/api/v1/calendar/closures",
            &json!({"from": "2100-12-31", "reason": "x"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = admin
        .get("/api/v1/placement/board?from=2000-01-01&days=3")
        .await;
    assert_eq!(res.status(), 200);
    app.stop().await;
}
both_engines!(dates_outside_2000_to_2100_are_refused);

/// The NUL character (which PostgreSQL cannot store or compare as text: a search with one was
/// a 500 there, found by schemathesis) is refused in query strings and JSON strings alike,
/// and nothing is written.
async fn the_nul_character_is_refused_before_the_database(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let admin = app.api(&t.admin_token);
    let res = admin.get("/api/v1/master/organisations?q=a%00b").await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "query", "{body}");
    let res = admin
        .post_json(
            "/api/v1/calendar/closures",
            &json!({"from": "2027-05-06", "reason": "台風\u{0}のため"}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "body", "{body}");
    let closures: Vec<Value> = admin.get_json("/api/v1/calendar/closures").await;
    assert!(closures.is_empty(), "{closures:?}");
    // A page's query string too (the error page, not a crash).
    let c = crate::support::logged_in_client(&app, "alpha-admin").await;
    let res = crate::support::get_page(&c, &app.url("/master/organisations?q=%00")).await;
    assert_eq!(res.status(), 422);
    // And a page's form: the closure form with a NUL in its reason writes nothing.
    let csrf = crate::support::csrf_token(&c, &app.url("/calendar")).await;
    let res = crate::support::post_form(
        &c,
        &app.url("/calendar/closures"),
        &[
            ("csrf", &csrf),
            ("from", "2027-05-06"),
            ("reason", "台風\u{0}"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("NUL"));
    // Without it, the same requests work.
    assert_eq!(
        admin
            .get("/api/v1/master/organisations?q=ab")
            .await
            .status(),
        200
    );
    app.stop().await;
}
both_engines!(the_nul_character_is_refused_before_the_database);
