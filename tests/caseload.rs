//! Case-load management (計画相談の件数管理, issue 18) through the HTTP API on both engines.
//!
//! Kumamoto's document (seeds/004), 「3 計画相談の件数制限」:
//!
//! > 【件数制限】 ・西圏域以外 事業所あたり50件まで ・西圏域のみ 事業所あたり75件まで
//!
//! Caps hold after the optimizer assigns; the 西区 office may go to 75 while the others stop at
//! 50; a coordinator's choice of a full office is refused with the reason; two service
//! instances assigning at once never give a referral two offices nor take an office over its
//! cap; bad input gets 422 with the fields at fault.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use sqlx::Row;

use crate::both_engines;
use crate::placement::status_json;
use crate::support::{
    get_text, hidden_field, logged_in_client, post_form, tenant, Api, Engine, TestApp,
};

struct Setup {
    app: TestApp,
    admin: String,
    coordinator: String,
    viewer: String,
    admin_user: renkei::store::tenancy::User,
    /// Organisation id by code.
    offices: BTreeMap<String, i64>,
}

/// A municipality with caps 50 (西区 75) and three consultation offices: W1 in 西区 with 70
/// cases, E1 in 東区 with 48, E2 in 東区 with 45 (room: 5 + 2 + 5 = 12), and a ward section
/// that is not an office.
async fn setup(engine: Engine) -> Setup {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "kumamoto").await;
    let admin = app.api(&t.admin_token);
    let mut offices = BTreeMap::new();
    for (code, name, kind, ward) in [
        ("W1", "西区相談支援センター", "consultation_center", "西区"),
        ("E1", "相談支援事業所ひがし", "consultation_office", "東区"),
        ("E2", "相談支援事業所みずほ", "consultation_office", "東区"),
        ("WS", "東区福祉課", "ward_section", "東区"),
    ] {
        let (s, b) = status_json(
            admin
                .post_json(
                    "/api/v1/master/organisations",
                    &json!({"code": code, "name": name, "kind": kind, "ward": ward}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 201, "{b}");
        offices.insert(code.to_string(), b["id"].as_i64().unwrap());
    }
    let (s, b) = status_json(
        admin
            .put_json(
                "/api/v1/caseload/caps",
                &json!({"default_cap": 50, "wards": [{"ward": "西区", "cap": 75}]}),
            )
            .await,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["wards"][0]["cap"], 75);
    let coordinator = app.api(&t.coordinator_token);
    for (code, cases, specialities) in [
        ("W1", 70, json!(["mental"])),
        ("E1", 48, json!(["child"])),
        ("E2", 45, json!([])),
    ] {
        let (s, b) = status_json(
            coordinator
                .put_json(
                    &format!("/api/v1/caseload/offices/{}", offices[code]),
                    &json!({"cases": cases, "specialities": specialities}),
                )
                .await,
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["cases"], cases);
    }
    Setup {
        app,
        admin: t.admin_token,
        coordinator: t.coordinator_token,
        viewer: t.viewer_token,
        admin_user: t.admin.clone(),
        offices,
    }
}

async fn referral(api: &Api, body: Value) -> i64 {
    let (s, b) = status_json(api.post_json("/api/v1/caseload/referrals", &body).await).await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_i64().unwrap()
}

async fn board(api: &Api) -> BTreeMap<String, Value> {
    let b: Value = api.get_json("/api/v1/caseload/board").await;
    b["offices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["code"].as_str().unwrap().to_string(), o.clone()))
        .collect()
}

/// What the database holds: cases per office code, and for each referral its status and office.
async fn stored(app: &TestApp) -> (BTreeMap<String, i64>, Vec<(i64, String, Option<i64>)>) {
    let pool = &app.db().pool;
    let cases = sqlx::query(
        "SELECT o.code, c.cases FROM caseloads c JOIN organisations o ON o.id = c.organisation_id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get::<String, _>("code"), r.get::<i64, _>("cases")))
    .collect();
    let referrals = sqlx::query("SELECT id, status, office_id FROM referrals ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get::<i64, _>("id"),
                r.get::<String, _>("status"),
                r.get::<Option<i64>, _>("office_id"),
            )
        })
        .collect();
    (cases, referrals)
}

/// 「西圏域以外 事業所あたり50件まで ・西圏域のみ 事業所あたり75件まで」: after the optimizer
/// assigns, no office is over its cap, the 西区 office holds 75 and the others stop at 50,
/// and a referral beyond every cap stays open with the reason in both languages.
async fn caps_hold_after_assign_and_the_west_office_goes_to_75(engine: Engine) {
    let s = setup(engine).await;
    let api = s.app.api(&s.coordinator);
    // 12 places; 14 referrals: 2 stay unassigned.
    let mut ids = Vec::new();
    for i in 0..14 {
        let ward = if i % 2 == 0 { "西区" } else { "東区" };
        ids.push(referral(&api, json!({"code": format!("R-{i:03}"), "ward": ward})).await);
    }
    // A person who needs `child` goes to E1 (the only office that has it) and one who was with
    // E2 before stays with it.
    let child = referral(
        &api,
        json!({"code": "R-CHILD", "ward": "東区", "needs": ["child"]}),
    )
    .await;
    let cont = referral(
        &api,
        json!({"code": "R-CONT", "ward": "東区", "previous_office_id": s.offices["E2"]}),
    )
    .await;
    let (st, out) = status_json(api.post_json("/api/v1/caseload/assign", &json!({})).await).await;
    assert_eq!(st, 200, "{out}");
    let assigned = out["assigned"].as_array().unwrap();
    let unassigned = out["unassigned"].as_array().unwrap();
    assert_eq!(assigned.len(), 12, "{out}");
    assert_eq!(unassigned.len(), 4, "{out}");
    for u in unassigned {
        assert!(u["reason"]["ja"].as_str().unwrap().contains("上限"), "{u}");
        assert!(u["reason"]["en"].as_str().unwrap().contains("cap"), "{u}");
    }
    let office_of = |id: i64| {
        assigned
            .iter()
            .find(|a| a["referral_id"] == id)
            .map(|a| a["office_id"].as_i64().unwrap())
    };
    assert_eq!(office_of(child), Some(s.offices["E1"]), "{out}");
    assert_eq!(office_of(cont), Some(s.offices["E2"]), "{out}");
    assert!(out["objective"].as_f64().unwrap() <= out["greedy_objective"].as_f64().unwrap() + 1e-6);

    let b = board(&api).await;
    assert_eq!(b["W1"]["cases"], 75, "{:?}", b["W1"]);
    assert_eq!(b["W1"]["cap"], 75);
    assert_eq!(b["W1"]["level"], "full");
    assert_eq!(b["W1"]["warning"]["ja"], "上限（新規は受けられません）");
    assert_eq!(
        (b["E1"]["cases"].clone(), b["E1"]["cap"].clone()),
        (json!(50), json!(50))
    );
    assert_eq!(b["E2"]["cases"], 50);
    assert!(!b.contains_key("WS"), "a ward section is no office");
    let (cases, referrals) = stored(&s.app).await;
    assert_eq!(cases["W1"], 75);
    assert_eq!(cases["E1"], 50);
    assert_eq!(cases["E2"], 50);
    assert_eq!(
        referrals.iter().filter(|r| r.1 == "assigned").count(),
        12,
        "{referrals:?}"
    );
    assert!(referrals.iter().all(|r| (r.1 == "open") == r.2.is_none()));

    // Nothing is open with room: a second run assigns nothing and says why.
    let (st, again) = status_json(api.post_json("/api/v1/caseload/assign", &json!({})).await).await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["assigned"].as_array().unwrap().len(), 0);
    assert_eq!(again["unassigned"].as_array().unwrap().len(), 4);
    assert!(again["unassigned"][0]["reason"]["en"]
        .as_str()
        .unwrap()
        .contains("every office (3) is at its case cap"));

    // The audit log has one entry per assignment.
    let audit: Value = s
        .app
        .api(&s.admin)
        .get_json("/api/v1/audit?limit=1000")
        .await;
    let assigns = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "assign" && e["entity"] == "referral")
        .count();
    assert_eq!(assigns, 12);
}
both_engines!(caps_hold_after_assign_and_the_west_office_goes_to_75);

/// A coordinator's choice of a full office is refused with the reason (nothing changes); a
/// choice within the cap is kept, marked manual, and moving the referral again gives the case
/// back to the first office.
async fn a_manual_choice_over_the_cap_is_refused(engine: Engine) {
    let s = setup(engine).await;
    let api = s.app.api(&s.coordinator);
    // E1 full at 50.
    let (st, b) = status_json(
        api.put_json(
            &format!("/api/v1/caseload/offices/{}", s.offices["E1"]),
            &json!({"cases": 50}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["level"], "full");
    assert_eq!(b["specialities"], json!(["child"]), "left out: unchanged");
    let id = referral(&api, json!({"code": "R-1", "ward": "東区"})).await;
    let (st, b) = status_json(
        api.put_json(
            &format!("/api/v1/caseload/referrals/{id}/office"),
            &json!({"office_id": s.offices["E1"]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 409, "{b}");
    let ja = b["message"]["ja"].as_str().unwrap();
    let en = b["message"]["en"].as_str().unwrap();
    assert!(
        ja.contains("相談支援事業所ひがし") && ja.contains("上限") && ja.contains("50件／上限50件"),
        "{ja}"
    );
    assert!(
        en.contains("at its planning-consultation cap (50 of 50 cases)"),
        "{en}"
    );
    let (cases, referrals) = stored(&s.app).await;
    assert_eq!(cases["E1"], 50);
    assert_eq!(referrals[0].1, "open");

    // The west office has room (70 of 75): kept, even though the person lives in 東区.
    let (st, b) = status_json(
        api.put_json(
            &format!("/api/v1/caseload/referrals/{id}/office"),
            &json!({"office_id": s.offices["W1"]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["status"], "assigned");
    assert_eq!(b["manual"], true);
    assert_eq!(b["office_name"], "西区相談支援センター");
    // Moved to E2: W1 gets its case back.
    let (st, b) = status_json(
        api.put_json(
            &format!("/api/v1/caseload/referrals/{id}/office"),
            &json!({"office_id": s.offices["E2"]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    let (cases, _) = stored(&s.app).await;
    assert_eq!((cases["W1"], cases["E2"]), (70, 46));
    // A ward section is no office: a field error.
    let (st, b) = status_json(
        api.put_json(
            &format!("/api/v1/caseload/referrals/{id}/office"),
            &json!({"office_id": s.offices["WS"]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 422, "{b}");
    assert_eq!(b["fields"][0]["field"], "office_id");
    // Viewers read the board but change nothing.
    let viewer = s.app.api(&s.viewer);
    let (st, _) = status_json(
        viewer
            .post_json("/api/v1/caseload/assign", &json!({}))
            .await,
    )
    .await;
    assert_eq!(st, 403);
    let (st, _) = status_json(viewer.get("/api/v1/caseload/board").await).await;
    assert_eq!(st, 200);
}
both_engines!(a_manual_choice_over_the_cap_is_refused);

/// Two service instances over one database run the optimizer at the same moment, several
/// times: no referral is reported assigned by two runs or stored twice, no office goes over
/// its cap, and the cases added equal the referrals assigned.
async fn concurrent_assigns_never_double_assign_nor_exceed_a_cap(engine: Engine) {
    let s = setup(engine).await;
    let other = s.app.another_instance().await;
    let apis = [s.app.api(&s.coordinator), other.api(&s.coordinator)];
    for i in 0..20 {
        let ward = ["西区", "東区"][i % 2];
        referral(&apis[0], json!({"code": format!("C-{i:03}"), "ward": ward})).await;
    }
    let mut tasks = Vec::new();
    for i in 0..6 {
        let api = apis[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            status_json(api.post_json("/api/v1/caseload/assign", &json!({})).await).await
        }));
    }
    let mut reported: Vec<i64> = Vec::new();
    for t in tasks {
        let (st, b) = t.await.unwrap();
        assert!(st == 200 || st == 409, "{st} {b}");
        if st == 200 {
            for a in b["assigned"].as_array().unwrap() {
                reported.push(a["referral_id"].as_i64().unwrap());
            }
        } else {
            assert!(b["message"]["ja"].as_str().is_some(), "{b}");
        }
    }
    let unique: BTreeSet<i64> = reported.iter().copied().collect();
    assert_eq!(
        unique.len(),
        reported.len(),
        "a referral assigned twice: {reported:?}"
    );
    let (cases, referrals) = stored(&s.app).await;
    assert!(
        cases["W1"] <= 75 && cases["E1"] <= 50 && cases["E2"] <= 50,
        "{cases:?}"
    );
    let assigned: Vec<_> = referrals.iter().filter(|r| r.1 == "assigned").collect();
    // 12 places for 20 referrals: the runs together fill every place, once.
    assert_eq!(assigned.len(), 12, "{referrals:?}");
    assert_eq!(cases["W1"] + cases["E1"] + cases["E2"], 70 + 48 + 45 + 12);
    let stored_ids: BTreeSet<i64> = assigned.iter().map(|r| r.0).collect();
    assert_eq!(stored_ids, unique);
}
both_engines!(concurrent_assigns_never_double_assign_nor_exceed_a_cap);

/// Bad input is a 422 naming the fields, in Japanese and English; nothing is written.
async fn bad_input_gets_422_with_the_fields(engine: Engine) {
    let s = setup(engine).await;
    let api = s.app.api(&s.coordinator);
    let fields = |b: &Value| -> Vec<String> {
        b["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                assert!(
                    f["message"]["ja"].as_str().is_some_and(|m| !m.is_empty()),
                    "{f}"
                );
                assert!(
                    f["message"]["en"].as_str().is_some_and(|m| !m.is_empty()),
                    "{f}"
                );
                f["field"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let (st, b) = status_json(
        api.post_json(
            "/api/v1/caseload/referrals",
            &json!({"code": "山田 太郎", "ward": "x".repeat(60), "needs": ["a,b"], "previous_office_id": 0}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 422, "{b}");
    assert_eq!(fields(&b), ["code", "ward", "needs", "previous_office_id"]);
    let (st, b) = status_json(
        api.post_json(
            "/api/v1/caseload/referrals",
            &json!({"code": "R-9", "previous_office_id": s.offices["WS"]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 422, "{b}");
    assert_eq!(fields(&b), ["previous_office_id"]);
    let (st, b) = status_json(
        api.put_json(
            &format!("/api/v1/caseload/offices/{}", s.offices["E1"]),
            &json!({"cases": -3}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 422, "{b}");
    assert_eq!(fields(&b), ["cases"]);
    let (st, b) = status_json(
        s.app
            .api(&s.admin)
            .put_json(
                "/api/v1/caseload/caps",
                &json!({"default_cap": 50, "wards": [{"ward": "西区", "cap": 75}, {"ward": "西区", "cap": 99999}, {"ward": "", "cap": 10}]}),
            )
            .await,
    )
    .await;
    assert_eq!(st, 422, "{b}");
    assert_eq!(
        fields(&b),
        ["wards[1].cap", "wards[1].ward", "wards[2].ward"]
    );
    // Caps are the administrators'.
    let (st, _) = status_json(
        api.put_json("/api/v1/caseload/caps", &json!({"default_cap": 60}))
            .await,
    )
    .await;
    assert_eq!(st, 403);
    // Unknown fields and a bad status filter.
    let (st, _) = status_json(
        api.post_json(
            "/api/v1/caseload/referrals",
            &json!({"code": "R-1", "name": "山田"}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 400);
    let (st, b) = status_json(api.get("/api/v1/caseload/referrals?status=closed").await).await;
    assert_eq!(st, 422, "{b}");
    assert_eq!(fields(&b), ["status"]);
    // Nothing written: the caps, counts and referrals are as before.
    let caps: Value = api.get_json("/api/v1/caseload/caps").await;
    assert_eq!(
        caps,
        json!({"default_cap": 50, "wards": [{"ward": "西区", "cap": 75}]})
    );
    let (cases, referrals) = stored(&s.app).await;
    assert_eq!(cases["E1"], 48);
    assert!(referrals.is_empty());
    // A code is used once per municipality.
    referral(&api, json!({"code": "R-1"})).await;
    let (st, b) = status_json(
        api.post_json("/api/v1/caseload/referrals", &json!({"code": "R-1"}))
            .await,
    )
    .await;
    assert_eq!(st, 409, "{b}");
}
both_engines!(bad_input_gets_422_with_the_fields);

/// The load board page: offices with cases / cap and the warnings 上限間近 and 上限, a
/// referral added through the form (a bad code named in the form), the optimizer's result
/// with the reason for what it could not assign, and the refusal of a full office chosen by
/// hand. In English too.
async fn the_load_board_page_shows_warnings_and_assigns(engine: Engine) {
    let s = setup(engine).await;
    let api = s.app.api(&s.coordinator);
    // E1 at 48 of 50 is near its cap; make E2 full.
    let (st, _) = status_json(
        api.put_json(
            &format!("/api/v1/caseload/offices/{}", s.offices["E2"]),
            &json!({"cases": 50}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200);
    let c = logged_in_client(&s.app, "kumamoto-coordinator").await;
    let page = get_text(&c, &s.app.url("/caseload")).await;
    assert!(page.contains("計画相談の件数管理"), "{page}");
    assert!(
        page.contains("48 / 50") && page.contains("上限間近（残り2件）"),
        "{page}"
    );
    assert!(page.contains("50 / 50") && page.contains("上限（新規は受けられません）"));
    assert!(page.contains("70 / 75"));
    assert!(
        page.contains("事業所あたりの上限: 50件（西区は75件）"),
        "the caps line"
    );
    assert!(!page.contains("東区福祉課"), "a ward section is no office");
    assert!(
        page.contains(r#"aria-current="page">計画相談の件数</a>"#),
        "in the navigation"
    );

    let csrf = hidden_field(&page, "csrf").unwrap();
    let res = post_form(
        &c,
        &s.app.url("/caseload/referrals"),
        &[
            ("csrf", &csrf),
            ("code", "山田"),
            ("ward", "東区"),
            ("needs", ""),
            ("previous_office_id", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains(r##"<a href="#f-code">コード: "##), "{page}");
    assert!(page.contains(r#"value="東区""#), "what was typed is kept");
    for (code, ward) in [("P-1", "東区"), ("P-2", "西区"), ("P-3", "東区")] {
        let res = post_form(
            &c,
            &s.app.url("/caseload/referrals"),
            &[
                ("csrf", &csrf),
                ("code", code),
                ("ward", ward),
                ("needs", "child, mental"),
                ("previous_office_id", ""),
            ],
        )
        .await;
        assert_eq!(res.status(), 303, "{code}");
        assert_eq!(res.headers()["location"], format!("/caseload?added={code}"));
    }
    // A full office chosen by hand: refused on the page with the reason.
    let p1 = api
        .get_json::<Value>("/api/v1/caseload/referrals?status=open")
        .await[0]["id"]
        .as_i64()
        .unwrap();
    let res = post_form(
        &c,
        &s.app.url(&format!("/caseload/referrals/{p1}/office")),
        &[("csrf", &csrf), ("office_id", &s.offices["E2"].to_string())],
    )
    .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("上限に達しているため割り当てられません（50件／上限50件）"),
        "{page}"
    );

    // The optimizer: E1 takes 2, W1 takes 5: all three are placed.
    let res = post_form(&c, &s.app.url("/caseload/assign"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("割り当てた紹介 (3)"), "{page}");
    assert!(
        page.contains("割り当てられなかった紹介と理由 (0)"),
        "{page}"
    );
    // Fill every place, then one more referral cannot be placed, and the page says why.
    api.put_json(
        &format!("/api/v1/caseload/offices/{}", s.offices["W1"]),
        &json!({"cases": 75}),
    )
    .await;
    api.put_json(
        &format!("/api/v1/caseload/offices/{}", s.offices["E1"]),
        &json!({"cases": 50}),
    )
    .await;
    referral(&api, json!({"code": "P-4"})).await;
    get_text(&c, &s.app.url("/lang/en?next=/caseload")).await;
    let res = post_form(&c, &s.app.url("/caseload/assign"), &[("csrf", &csrf)]).await;
    let page = res.text().await.unwrap();
    assert!(page.contains("Not assigned, and why (1)"), "{page}");
    assert!(
        page.contains("Cap per office: 50 cases (西区: 75)"),
        "{page}"
    );
    assert!(
        page.contains("every office (3) is at its case cap"),
        "{page}"
    );
    // Viewers see the board without the forms.
    let v = logged_in_client(&s.app, "kumamoto-viewer").await;
    let page = get_text(&v, &s.app.url("/caseload")).await;
    assert!(page.contains("75 / 75") && !page.contains("最適化で割り当てる</button>"));
}
both_engines!(the_load_board_page_shows_warnings_and_assigns);

/// The demo: Kumamoto's caps (50, 西区 75), current cases on every consultation office, some
/// near or at the cap, and referrals waiting, which the optimizer places within the caps.
async fn the_demo_has_case_loads_to_show(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    renkei::demo::load(app.db()).await.expect("demo");
    let m = app
        .db()
        .municipality_by_code(renkei::demo::data::demo_dataset().municipality_code)
        .await
        .unwrap()
        .unwrap()
        .id;
    let caps = app.db().caseload_caps(m).await.unwrap();
    assert_eq!(caps.default_cap, 50);
    assert_eq!(caps.cap_of("西区"), 75);
    let offices = app.db().caseload_offices(m).await.unwrap();
    assert!(offices.len() >= 40, "{}", offices.len());
    let west_over_50 = offices
        .iter()
        .filter(|o| o.ward == "西区" && o.cases > 50)
        .count();
    assert!(west_over_50 >= 1, "a west office above 50");
    for o in &offices {
        assert!(o.cases <= caps.cap_of(&o.ward), "{o:?}");
    }
    let near = offices
        .iter()
        .filter(|o| o.cases as f64 >= 0.9 * caps.cap_of(&o.ward) as f64)
        .count();
    assert!(near >= 5, "{near}");
    assert_eq!(
        app.db()
            .list_referrals(m, Some("open"))
            .await
            .unwrap()
            .len(),
        6
    );
    // Loading again changes nothing.
    renkei::demo::load(app.db()).await.expect("demo again");
    assert_eq!(app.db().caseload_offices(m).await.unwrap(), offices);
    assert_eq!(app.db().list_referrals(m, None).await.unwrap().len(), 6);
}
both_engines!(the_demo_has_case_loads_to_show);

/// Current counts imported from a spreadsheet (Shift_JIS CSV as Excel saves it, Japanese
/// headings): all or nothing, each bad row named; a good file updates the board and the audit.
async fn counts_are_imported_from_a_file_all_or_nothing(engine: Engine) {
    let s = setup(engine).await;
    let api = s.app.api(&s.coordinator);
    let sjis = |text: &str| encoding_rs::SHIFT_JIS.encode(text).0.into_owned();
    let bad = sjis("事業所コード,件数\r\nW1,74\r\nXX,3\r\nE1,-1\r\nE2,many\r\nW1,1\r\n");
    let (st, b) = status_json(api.post_bytes("/api/v1/caseload/offices/import", bad).await).await;
    assert_eq!(st, 422, "{b}");
    let fields: Vec<&str> = b["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "rows[3].code",
            "rows[4].cases",
            "rows[5].cases",
            "rows[6].code"
        ],
        "{b}"
    );
    assert!(b["fields"][0]["message"]["ja"]
        .as_str()
        .unwrap()
        .contains("3行目"));
    let (cases, _) = stored(&s.app).await;
    assert_eq!(cases["W1"], 70, "nothing written");
    let good = sjis("事業所コード,件数\r\nW1,74\r\nE1,49\r\n\r\n");
    let (st, b) = status_json(
        api.post_bytes("/api/v1/caseload/offices/import", good)
            .await,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b, json!({"rows": 2, "updated": 2}));
    let board = board(&api).await;
    assert_eq!(board["W1"]["cases"], 74);
    assert_eq!(board["W1"]["level"], "near");
    assert_eq!(board["E1"]["cases"], 49);
    assert_eq!(board["W1"]["specialities"], json!(["mental"]), "kept");
    let (st, b) = status_json(
        api.post_bytes(
            "/api/v1/caseload/offices/import",
            b"office,n\n1,2\n".to_vec(),
        )
        .await,
    )
    .await;
    assert_eq!(st, 422, "{b}");
    assert_eq!(b["fields"][0]["field"], "headings");
    let viewer = s.app.api(&s.viewer);
    let (st, _) = status_json(
        viewer
            .post_bytes(
                "/api/v1/caseload/offices/import",
                b"code,cases\nW1,1\n".to_vec(),
            )
            .await,
    )
    .await;
    assert_eq!(st, 403);
}
both_engines!(counts_are_imported_from_a_file_all_or_nothing);

/// The conditional writes themselves, without timing: an assignment computed from a state that
/// changed meanwhile writes nothing (a referral no longer open; an office that filled up), so
/// whichever of two instances comes second can only start again from the new state.
async fn a_stale_assignment_writes_nothing(engine: Engine) {
    use renkei::store::caseload::Applied;
    let s = setup(engine).await;
    let api = s.app.api(&s.coordinator);
    let db = s.app.db();
    let user = &s.admin_user;
    let a = referral(&api, json!({"code": "S-1"})).await;
    let b = referral(&api, json!({"code": "S-2"})).await;
    let c = referral(&api, json!({"code": "S-3"})).await;
    let e1 = s.offices["E1"]; // 48 of 50
    assert_eq!(
        db.apply_assignments(user, &[(a, e1)]).await.unwrap(),
        Applied::Done
    );
    // The same plan again (another instance's stale result): a is no longer open.
    assert_eq!(
        db.apply_assignments(user, &[(b, e1), (a, e1)])
            .await
            .unwrap(),
        Applied::Changed
    );
    let (cases, referrals) = stored(&s.app).await;
    assert_eq!(cases["E1"], 49);
    assert_eq!(
        referrals.iter().filter(|r| r.1 == "assigned").count(),
        1,
        "b rolled back too"
    );
    // Two more for E1, which has one place left: the office row refuses the second.
    assert_eq!(
        db.apply_assignments(user, &[(b, e1), (c, e1)])
            .await
            .unwrap(),
        Applied::Changed
    );
    let (cases, referrals) = stored(&s.app).await;
    assert_eq!(cases["E1"], 49);
    assert_eq!(referrals.iter().filter(|r| r.1 == "assigned").count(), 1);
    assert_eq!(
        db.apply_assignments(user, &[(b, e1)]).await.unwrap(),
        Applied::Done
    );
    let (cases, _) = stored(&s.app).await;
    assert_eq!(cases["E1"], 50);
    // The 西区 office takes c up to 75, not a ward section.
    assert_eq!(
        db.apply_assignments(user, &[(c, s.offices["WS"])])
            .await
            .unwrap(),
        Applied::Changed
    );
    assert_eq!(
        db.apply_assignments(user, &[(c, s.offices["W1"])])
            .await
            .unwrap(),
        Applied::Done
    );
    let (cases, _) = stored(&s.app).await;
    assert_eq!(cases["W1"], 71);
}
both_engines!(a_stale_assignment_writes_nothing);

/// Setting an office's count is a conditional write: a client that saw an older count (a
/// referral was assigned since) is refused with 409 and the count stays as it is.
async fn a_count_set_from_a_stale_view_is_refused(engine: Engine) {
    let s = setup(engine).await;
    let api = s.app.api(&s.coordinator);
    let office = s.offices["E1"];
    let now = board(&api).await["E1"]["cases"].as_i64().unwrap();
    let url = format!("/api/v1/caseload/offices/{office}");
    let (st, b) = status_json(
        api.put_json(&url, &json!({"cases": now + 5, "expected_cases": now + 1}))
            .await,
    )
    .await;
    assert_eq!(st, 409, "{b}");
    assert!(
        b["message"]["ja"]
            .as_str()
            .unwrap()
            .contains("読み込み直して"),
        "{b}"
    );
    assert_eq!(
        board(&api).await["E1"]["cases"].as_i64(),
        Some(now),
        "unchanged"
    );
    let (st, b) = status_json(
        api.put_json(&url, &json!({"cases": now + 5, "expected_cases": now}))
            .await,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(board(&api).await["E1"]["cases"].as_i64(), Some(now + 5));
}
both_engines!(a_count_set_from_a_stale_view_is_refused);

/// A referral is closed (withdrawn, or its consultation ended): an open one leaves the list;
/// an assigned one gives its office the case back; closing it again is 404; a reason is
/// required.
async fn a_closed_referral_gives_its_case_back(engine: Engine) {
    let s = setup(engine).await;
    let api = s.app.api(&s.coordinator);
    let open = referral(&api, json!({"code": "R-OPEN", "ward": "東区"})).await;
    let to_assign = referral(&api, json!({"code": "R-E1", "ward": "東区"})).await;
    let before = board(&api).await["E2"]["cases"].as_i64().unwrap();
    let (st, b) = status_json(
        api.put_json(
            &format!("/api/v1/caseload/referrals/{to_assign}/office"),
            &json!({"office_id": s.offices["E2"]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(board(&api).await["E2"]["cases"].as_i64(), Some(before + 1));
    let close = |id: i64, body: Value| {
        let api = &api;
        async move {
            status_json(
                api.post_json(&format!("/api/v1/caseload/referrals/{id}/close"), &body)
                    .await,
            )
            .await
        }
    };
    let (st, b) = close(to_assign, json!({"reason": ""})).await;
    assert_eq!(st, 422, "{b}");
    assert_eq!(b["fields"][0]["field"], "reason", "{b}");
    let (st, b) = close(to_assign, json!({"reason": "支援終了"})).await;
    assert_eq!(st, 204, "{b}");
    assert_eq!(
        board(&api).await["E2"]["cases"].as_i64(),
        Some(before),
        "the office gets the case back"
    );
    let (st, b) = close(open, json!({"reason": "本人が辞退"})).await;
    assert_eq!(st, 204, "{b}");
    let (st, b) = close(open, json!({"reason": "本人が辞退"})).await;
    assert_eq!(st, 404, "already closed: {b}");
    let (_, referrals) = stored(&s.app).await;
    assert!(
        referrals
            .iter()
            .all(|(id, ..)| *id != open && *id != to_assign),
        "{referrals:?}"
    );
}
both_engines!(a_closed_referral_gives_its_case_back);

/// Two service instances over one database: one closes referrals while the other moves the
/// same referrals to another office, then both set one office's count from the same view.
/// Whatever order the writes land in, every office's count is its starting count plus the
/// referrals still assigned to it (a case is given back once, taken once), and of two counts
/// set from the same view exactly one is kept.
async fn concurrent_closes_moves_and_counts_keep_every_case_once(engine: Engine) {
    let s = setup(engine).await;
    let other = s.app.another_instance().await;
    let apis = [s.app.api(&s.coordinator), other.api(&s.coordinator)];
    let start = board(&apis[0]).await;
    let cases_at_start = |code: &str| start[code]["cases"].as_i64().unwrap();
    let mut ids = Vec::new();
    for i in 0..4 {
        let id = referral(&apis[0], json!({"code": format!("R-{i}"), "ward": "東区"})).await;
        let (st, b) = status_json(
            apis[0]
                .put_json(
                    &format!("/api/v1/caseload/referrals/{id}/office"),
                    &json!({"office_id": s.offices["E2"]}),
                )
                .await,
        )
        .await;
        assert_eq!(st, 200, "{b}");
        ids.push(id);
    }
    let mut tasks = Vec::new();
    for (n, id) in ids.iter().copied().enumerate() {
        let closer = apis[n % 2].clone();
        tasks.push(tokio::spawn(async move {
            let r = closer
                .post_json(
                    &format!("/api/v1/caseload/referrals/{id}/close"),
                    &json!({"reason": "支援終了"}),
                )
                .await;
            ("close", status_json(r).await)
        }));
        let mover = apis[(n + 1) % 2].clone();
        let to = s.offices["E1"];
        tasks.push(tokio::spawn(async move {
            let r = mover
                .put_json(
                    &format!("/api/v1/caseload/referrals/{id}/office"),
                    &json!({"office_id": to}),
                )
                .await;
            ("move", status_json(r).await)
        }));
    }
    let mut closed = 0;
    for t in tasks {
        let (what, (st, b)) = t.await.unwrap();
        match (what, st) {
            ("close", 204) => closed += 1,
            ("move", 200) => {}
            (_, 404 | 409) => assert!(b["message"]["ja"].as_str().is_some(), "{what}: {b}"),
            _ => panic!("{what}: {st} {b}"),
        }
    }
    let (cases, referrals) = stored(&s.app).await;
    let still = |office: &str| {
        referrals
            .iter()
            .filter(|r| r.1 == "assigned" && r.2 == Some(s.offices[office]))
            .count() as i64
    };
    assert_eq!(
        cases["E1"],
        cases_at_start("E1") + still("E1"),
        "{cases:?} {referrals:?}"
    );
    assert_eq!(
        cases["E2"],
        cases_at_start("E2") + still("E2"),
        "{cases:?} {referrals:?}"
    );
    assert_eq!(
        referrals.len() as i64,
        4 - closed,
        "a closed referral is gone, every other one is still there: {referrals:?}"
    );

    // Two coordinators set E1's count from the same view, one on each instance.
    let now = board(&apis[0]).await["E1"]["cases"].as_i64().unwrap();
    let url = format!("/api/v1/caseload/offices/{}", s.offices["E1"]);
    let mut tasks = Vec::new();
    for (i, api) in apis.iter().enumerate() {
        let (api, url) = (api.clone(), url.clone());
        let cases = now + 1 + i as i64;
        tasks.push(tokio::spawn(async move {
            let r = api
                .put_json(&url, &json!({"cases": cases, "expected_cases": now}))
                .await;
            (cases, status_json(r).await)
        }));
    }
    let mut kept = Vec::new();
    for t in tasks {
        let (cases, (st, b)) = t.await.unwrap();
        match st {
            200 => kept.push(cases),
            409 => assert!(
                b["message"]["ja"]
                    .as_str()
                    .unwrap()
                    .contains("読み込み直して"),
                "{b}"
            ),
            _ => panic!("{st} {b}"),
        }
    }
    assert_eq!(kept.len(), 1, "exactly one count is kept: {kept:?}");
    assert_eq!(stored(&s.app).await.0["E1"], kept[0]);
}
both_engines!(concurrent_closes_moves_and_counts_keep_every_case_once);

/// The page imports counts from an uploaded file (all or nothing, row errors listed) and
/// closes a referral with a reason, each saying what it did.
async fn the_page_imports_counts_and_closes_referrals(engine: Engine) {
    let s = setup(engine).await;
    let api = s.app.api(&s.coordinator);
    let c = logged_in_client(&s.app, "kumamoto-coordinator").await;
    let page = get_text(&c, &s.app.url("/caseload")).await;
    assert!(page.contains(r#"action="/caseload/import""#), "{page}");
    let csrf = hidden_field(&page, "csrf").unwrap();
    let upload = |text: &'static str| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name("counts.csv"),
            );
        c.post(s.app.url("/caseload/import")).multipart(form).send()
    };
    // A file with a bad row changes nothing and says which row.
    let res = upload("code,cases\nW1,74\nXX,3\n").await.unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.headers().get("location"));
    let text = res.text().await.unwrap();
    assert!(text.contains("3行目") && text.contains("XX"), "{text}");
    assert_eq!(board(&api).await["W1"]["cases"], 70, "nothing written");
    let res = upload("code,cases\nW1,74\nE1,49\n").await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/caseload?imported=2");
    let page = get_text(&c, &s.app.url("/caseload?imported=2")).await;
    assert!(page.contains("件数を取り込みました（2行）"));
    let b = board(&api).await;
    assert_eq!(
        (b["W1"]["cases"].clone(), b["E1"]["cases"].clone()),
        (json!(74), json!(49))
    );

    // Closing: a reason is required; then the referral leaves the list.
    let id = referral(&api, json!({"code": "R-PAGE", "ward": "東区"})).await;
    let page = get_text(&c, &s.app.url("/caseload")).await;
    assert!(page.contains(&format!(r#"action="/caseload/referrals/{id}/close""#)));
    let close = format!("/caseload/referrals/{id}/close");
    let res = post_form(&c, &s.app.url(&close), &[("csrf", &csrf), ("reason", " ")]).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("理由を200文字以内"));
    let res = post_form(
        &c,
        &s.app.url(&close),
        &[("csrf", &csrf), ("reason", "本人が辞退")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/caseload?closed=R-PAGE");
    let text = get_text(&c, &s.app.url(&to)).await;
    assert!(text.contains("紹介を閉じました: R-PAGE"), "{text}");
    assert!(!text.contains(&format!(r#"action="/caseload/referrals/{id}/close""#)));
    let (_, referrals) = stored(&s.app).await;
    assert!(
        referrals.iter().all(|(rid, ..)| *rid != id),
        "{referrals:?}"
    );
    // Viewers see neither form.
    let v = logged_in_client(&s.app, "kumamoto-viewer").await;
    let page = get_text(&v, &s.app.url("/caseload")).await;
    assert!(!page.contains("/caseload/import") && !page.contains("/close\""));
}
both_engines!(the_page_imports_counts_and_closes_referrals);
