//! A user sees and changes only their own municipality's data, through the API and the pages.

use serde_json::json;

use crate::both_engines;
use crate::support::{client, logged_in_client, tenant, Engine, TestApp};

async fn municipalities_are_isolated(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let a = tenant(app.db(), "alpha").await;
    let b = tenant(app.db(), "bravo").await;
    let c = client();

    let created: serde_json::Value = c
        .post(app.url("/api/v1/master/organisations"))
        .bearer_auth(&a.admin_token)
        .json(&json!({"code": "SHARED", "name": "A市の事業所", "kind": "consultation_office"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let a_id = created["id"].as_i64().unwrap();
    // The same code is free in another municipality.
    let res = c
        .post(app.url("/api/v1/master/organisations"))
        .bearer_auth(&b.admin_token)
        .json(&json!({"code": "SHARED", "name": "B市の事業所", "kind": "consultation_office"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // B lists only its own record and cannot read, change or delete A's by id.
    let list: Vec<serde_json::Value> = c
        .get(app.url("/api/v1/master/organisations"))
        .bearer_auth(&b.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "B市の事業所");
    let url = app.url(&format!("/api/v1/master/organisations/{a_id}"));
    assert_eq!(
        c.get(&url)
            .bearer_auth(&b.admin_token)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let res = c
        .put(&url)
        .bearer_auth(&b.admin_token)
        .json(&json!({"code": "SHARED", "name": "乗っ取り", "kind": "other"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(
        c.delete(&url)
            .bearer_auth(&b.admin_token)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // A's record is unchanged.
    let mine: serde_json::Value = c
        .get(&url)
        .bearer_auth(&a.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["name"], "A市の事業所");

    // B cannot attach its person to A's organisation: codes resolve within B only.
    let res = c
        .post(app.url("/api/v1/master/people"))
        .bearer_auth(&b.admin_token)
        .json(&json!({"code": "P1", "name": "田中 誠", "organisation_code": "SHARED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let people: Vec<serde_json::Value> = c
        .get(app.url("/api/v1/master/people"))
        .bearer_auth(&b.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(people[0]["organisation_name"], "B市の事業所");

    // Exports and audit logs are per municipality too.
    let csv = c
        .get(app.url("/api/v1/master/organisations/export?format=csv"))
        .bearer_auth(&a.admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("A市の事業所") && !csv.contains("B市の事業所"),
        "{csv}"
    );
    let audit: Vec<serde_json::Value> = c
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&a.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(audit.iter().all(|e| e["username"] != "bravo-admin"));

    // The pages too: B's browser session gets 404 for A's record and sees only B's list.
    let browser = logged_in_client(&app, "bravo-coordinator").await;
    let res = browser
        .get(app.url(&format!("/master/organisations/{a_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let page = browser
        .get(app.url("/master/organisations"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("B市の事業所") && !page.contains("A市の事業所"));
    app.stop().await;
}
both_engines!(municipalities_are_isolated);
