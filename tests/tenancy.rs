//! A user sees and changes only their own municipality's data, through the API and the pages.

use serde_json::{json, Value};

use crate::both_engines;
use crate::support::{get_page, get_text, logged_in_client, tenant, Engine, TestApp};

async fn municipalities_are_isolated(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let a = tenant(app.db(), "alpha").await;
    let b = tenant(app.db(), "bravo").await;
    let a_admin = app.api(&a.admin_token);
    let b_admin = app.api(&b.admin_token);

    let created: Value = a_admin
        .post_json(
            "/api/v1/master/organisations",
            &json!({"code": "SHARED", "name": "A市の事業所", "kind": "consultation_office"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let a_id = created["id"].as_i64().unwrap();
    // The same code is free in another municipality.
    let res = b_admin
        .post_json(
            "/api/v1/master/organisations",
            &json!({"code": "SHARED", "name": "B市の事業所", "kind": "consultation_office"}),
        )
        .await;
    assert_eq!(res.status(), 201);

    // B lists only its own record and cannot read, change or delete A's by id.
    let list: Vec<Value> = b_admin.get_json("/api/v1/master/organisations").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "B市の事業所");
    let url = format!("/api/v1/master/organisations/{a_id}");
    assert_eq!(b_admin.get(&url).await.status(), 404);
    let res = b_admin
        .put_json(
            &url,
            &json!({"code": "SHARED", "name": "乗っ取り", "kind": "other"}),
        )
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(b_admin.delete(&url).await.status(), 404);
    // A's record is unchanged.
    let mine: Value = a_admin.get_json(&url).await;
    assert_eq!(mine["name"], "A市の事業所");

    // B cannot attach its person to A's organisation: codes resolve within B only.
    let res = b_admin
        .post_json(
            "/api/v1/master/people",
            &json!({"code": "P1", "name": "田中 誠", "organisation_code": "SHARED"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let people: Vec<Value> = b_admin.get_json("/api/v1/master/people").await;
    assert_eq!(people[0]["organisation_name"], "B市の事業所");

    // Exports and audit logs are per municipality too.
    let csv = a_admin
        .get("/api/v1/master/organisations/export?format=csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("A市の事業所") && !csv.contains("B市の事業所"),
        "{csv}"
    );
    let audit: Vec<Value> = a_admin.get_json("/api/v1/audit").await;
    assert!(audit.iter().all(|e| e["username"] != "bravo-admin"));

    // The pages too: B's browser session gets 404 for A's record and sees only B's list.
    let browser = logged_in_client(&app, "bravo-coordinator").await;
    let res = get_page(&browser, &app.url(&format!("/master/organisations/{a_id}"))).await;
    assert_eq!(res.status(), 404);
    let page = get_text(&browser, &app.url("/master/organisations")).await;
    assert!(page.contains("B市の事業所") && !page.contains("A市の事業所"));
    app.stop().await;
}
both_engines!(municipalities_are_isolated);
