//! Import and export through the API: UTF-8 and Shift_JIS CSV, XLSX, row-level error reports,
//! all-or-nothing by default and partial on request.

use serde_json::{json, Value};

use crate::both_engines;
use crate::support::{tenant, Api, Engine, TestApp};

const ORGS_CSV: &str = "コード,名称,フリガナ,種別,区・圏域,住所,電話番号,メールアドレス\r\n\
O-01,相談支援事業所ひだまり,ソウダンシエンジギョウショヒダマリ,相談支援事業所,中央区,みらい市中央区本町1-2-3,099-011-0001,hidamari@example.jp\r\n\
O-02,ケアプランセンターあおば,ケアプランセンターアオバ,consultation_office,東区,,,\r\n\
HUB,地域生活支援拠点ささえ,,hub,西区,,,\r\n";

async fn import(api: &Api, kind: &str, query: &str, body: &[u8]) -> (u16, Value) {
    let res = api
        .post_bytes(
            &format!("/api/v1/master/{kind}/import{query}"),
            body.to_vec(),
        )
        .await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

async fn count(api: &Api, kind: &str) -> usize {
    let list: Vec<Value> = api.get_json(&format!("/api/v1/master/{kind}")).await;
    list.len()
}

fn shift_jis(text: &str) -> Vec<u8> {
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!bad);
    bytes.into_owned()
}

async fn csv_in_utf8_and_shift_jis(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let coordinator = app.api(&t.coordinator_token);
    // Shift_JIS as Excel writes it, detected automatically; headings in Japanese.
    let (status, report) = import(&coordinator, "organisations", "", &shift_jis(ORGS_CSV)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["applied"].as_bool()),
        (Some(3), Some(true))
    );
    assert_eq!(report["encoding"], "shift_jis");
    // Re-importing the same rows in UTF-8 with a BOM updates instead of duplicating.
    let mut utf8 = b"\xEF\xBB\xBF".to_vec();
    utf8.extend_from_slice(ORGS_CSV.replace("ひだまり,", "ひだまり中央,").as_bytes());
    let (status, report) = import(&coordinator, "organisations", "?encoding=utf-8", &utf8).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(count(&app.api(&t.admin_token), "organisations").await, 3);

    // Export as Shift_JIS decodes back to the same names.
    let bytes = app
        .api(&t.viewer_token)
        .get("/api/v1/master/organisations/export?format=csv&encoding=shift_jis")
        .await
        .bytes()
        .await
        .unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    assert!(text.contains("相談支援事業所ひだまり中央"), "{text}");
    assert!(text.starts_with("code,name,kana,kind"));
    app.stop().await;
}
both_engines!(csv_in_utf8_and_shift_jis);

async fn bad_rows_are_reported_and_nothing_is_imported(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let admin = app.api(&t.admin_token);
    import(&admin, "organisations", "", ORGS_CSV.as_bytes()).await;
    let people = "code,name,kana,email,organisation_code,roles,qualifications,part_time_days\n\
P1,山田 太郎,ヤマダ タロウ,taro@example.jp,O-01,機能強化員,主任相談支援専門員,\n\
P2,,ヤマダ,bad-email,O-01,,,\n\
P3,佐藤 花子,サトウ ハナコ,,NOPE,,,\n\
P4,鈴木 一郎,スズキ イチロウ,,O-02,,,月;火;祝\n\
P1,山田 二郎,ヤマダ ジロウ,,O-01,,,\n";
    let (status, report) = import(&admin, "people", "", people.as_bytes()).await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(report["applied"], false);
    let errors: Vec<(u64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (3, "name".to_string()),
            (3, "email".to_string()),
            (4, "organisation_code".to_string()),
            (5, "part_time_days".to_string()),
            (6, "code".to_string()),
        ],
        "{report}"
    );
    let row4 = &report["errors"][2];
    assert_eq!(row4["value"], "NOPE");
    assert!(row4["message"]["ja"].as_str().unwrap().contains("NOPE"));
    assert_eq!(count(&admin, "people").await, 0, "nothing imported");

    // With partial=true the good row goes in and the bad ones are still reported.
    let (status, report) = import(&admin, "people", "?partial=true", people.as_bytes()).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 1);
    assert_eq!(report["errors"].as_array().unwrap().len(), 5);
    assert_eq!(count(&admin, "people").await, 1);
    app.stop().await;
}
both_engines!(bad_rows_are_reported_and_nothing_is_imported);

async fn xlsx_round_trip_and_file_level_errors(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let admin = app.api(&t.admin_token);
    let venues = "code,name,ward,address,opening_hours\nV1,福祉センター,中央区,,mon-sat 09:00-21:00\nV2,区役所,東区,,\n";
    import(&admin, "venues", "", venues.as_bytes()).await;
    let rooms = "code,venue_code,name,capacity,wheelchair,hearing_loop\nR1,V1,大会議室,80,○,×\nR2,V2,会議室A,12,はい,1\n";
    let (status, report) = import(&admin, "rooms", "", rooms.as_bytes()).await;
    assert_eq!(status, 200, "{report}");

    let xlsx = admin
        .get("/api/v1/master/rooms/export?format=xlsx")
        .await
        .bytes()
        .await
        .unwrap();
    assert!(xlsx.starts_with(b"PK"), "an XLSX file is a zip archive");
    // Import the exported workbook into a second municipality that has the same venues.
    let other = tenant(app.db(), "bravo").await;
    let other_admin = app.api(&other.admin_token);
    import(&other_admin, "venues", "", venues.as_bytes()).await;
    let (status, report) = import(&other_admin, "rooms", "", &xlsx).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 2);
    let listed: Vec<Value> = other_admin.get_json("/api/v1/master/rooms").await;
    let r1 = listed.iter().find(|r| r["code"] == "R1").unwrap();
    assert_eq!(
        (
            r1["capacity"].as_i64(),
            r1["wheelchair"].as_bool(),
            r1["hearing_loop"].as_bool()
        ),
        (Some(80), Some(true), Some(false))
    );

    // File-level problems: missing required columns, a file that is not XLSX, bad Shift_JIS.
    // A readable file without the required columns: the report names them (row 1), nothing
    // is applied.
    let (status, body) = import(&admin, "rooms", "", b"code,name\nR9,x\n").await;
    assert_eq!(status, 422);
    assert_eq!(body["applied"], false, "{body}");
    assert_eq!(body["errors"][0]["row"], 1, "{body}");
    assert!(
        body["errors"][0]["message"]["en"]
            .as_str()
            .unwrap()
            .contains("venue_code"),
        "{body}"
    );
    // Files that cannot be read as what they claim to be: 422 naming the file.
    let (status, body) = import(&admin, "rooms", "?format=xlsx", b"not a workbook").await;
    assert_eq!(
        (status, &body["fields"][0]["field"]),
        (422, &json!("file")),
        "{body}"
    );
    let (status, body) = import(&admin, "rooms", "?encoding=shift_jis", &[0x82, 0xff, 0xff]).await;
    assert_eq!(
        (status, &body["fields"][0]["field"]),
        (422, &json!("file")),
        "{body}"
    );
    // Viewers may export but not import.
    let (status, _) = import(&app.api(&t.viewer_token), "rooms", "", rooms.as_bytes()).await;
    assert_eq!(status, 403);
    app.stop().await;
}
both_engines!(xlsx_round_trip_and_file_level_errors);

/// Rows of the audit log and of the four master-data tables of one municipality, read straight
/// from the database.
async fn footprint(app: &TestApp, t: &crate::support::Tenant) -> [i64; 5] {
    let mut out = [0; 5];
    for (i, table) in ["audit_log", "organisations", "people", "venues", "rooms"]
        .iter()
        .enumerate()
    {
        out[i] = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} WHERE municipality_id = $1"
        ))
        .bind(t.id.0)
        .fetch_one(&app.db().pool)
        .await
        .unwrap();
    }
    out
}

fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

/// One good and one bad row: nothing is written, not the good row and not an audit entry,
/// whether the bad row fails parsing (a kind that does not exist) or only its reference (an
/// organisation code nobody registered), in CSV and XLSX. The same file with partial=true
/// keeps the good row.
async fn a_mixed_file_writes_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let admin = app.api(&t.admin_token);
    let (status, report) = import(&admin, "organisations", "", ORGS_CSV.as_bytes()).await;
    assert_eq!(status, 200, "{report}");
    let before = footprint(&app, &t).await;
    assert_eq!(before[1], 3, "three organisations to start with");

    let mixed_orgs =
        "code,name,kind\nN-01,相談支援事業所あさひ,consultation_office\nN-02,謎の機関,宇宙港\n";
    let mixed_people = "code,name,organisation_code\nP1,山田 太郎,O-01\nP2,佐藤 花子,NOPE\n";
    let cases: [(&str, &str, Vec<u8>, (u64, &str)); 4] = [
        (
            "organisations",
            "csv, bad kind",
            mixed_orgs.as_bytes().to_vec(),
            (3, "kind"),
        ),
        (
            "people",
            "csv, unknown organisation",
            mixed_people.as_bytes().to_vec(),
            (3, "organisation_code"),
        ),
        (
            "organisations",
            "xlsx, bad kind",
            xlsx(&[
                &["code", "name", "kind"],
                &["N-01", "相談支援事業所あさひ", "consultation_office"],
                &["N-02", "謎の機関", "宇宙港"],
            ]),
            (3, "kind"),
        ),
        (
            "people",
            "xlsx, unknown organisation",
            xlsx(&[
                &["code", "name", "organisation_code"],
                &["P1", "山田 太郎", "O-01"],
                &["P2", "佐藤 花子", "NOPE"],
            ]),
            (3, "organisation_code"),
        ),
    ];
    for (kind, what, body, (row, column)) in &cases {
        let (status, report) = import(&admin, kind, "", body).await;
        assert_eq!(status, 422, "{what}: {report}");
        assert_eq!(
            (report["applied"].as_bool(), report["created"].as_u64()),
            (Some(false), Some(0)),
            "{what}: {report}"
        );
        let errors = report["errors"].as_array().unwrap();
        assert_eq!(
            errors.len(),
            1,
            "{what}: only the bad row is reported: {report}"
        );
        assert_eq!(
            (errors[0]["row"].as_u64(), errors[0]["column"].as_str()),
            (Some(*row), Some(*column)),
            "{what}: {report}"
        );
        assert_eq!(
            footprint(&app, &t).await,
            before,
            "{what}: the tables and the audit log are unchanged"
        );
    }

    // Partial import of the same file keeps the good row, with one audit entry.
    let (status, report) = import(
        &admin,
        "organisations",
        "?partial=true",
        mixed_orgs.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 1);
    let after = footprint(&app, &t).await;
    assert_eq!((after[0], after[1]), (before[0] + 1, before[1] + 1));
    app.stop().await;
}
both_engines!(a_mixed_file_writes_nothing);

/// Exported CSV cannot run formulas in a spreadsheet (OWASP: a leading `'`), in UTF-8 and in
/// Shift_JIS; Shift_JIS writes 〜 as CP932 does; the exported file imports back unchanged.
async fn csv_export_is_safe_in_spreadsheets_and_cp932(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let admin = app.api(&t.admin_token);
    let orgs = "code,name,kind,address\n\
F-1,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",other,@SUM(A1)\n\
F-2,相談室 9:00〜17:00,other,-2+3\n";
    let (status, report) = import(&admin, "organisations", "", orgs.as_bytes()).await;
    assert_eq!(status, 200, "{report}");
    for encoding in ["utf-8", "shift_jis"] {
        let res = admin
            .get(&format!(
                "/api/v1/master/organisations/export?format=csv&encoding={encoding}"
            ))
            .await;
        assert_eq!(res.status(), 200, "{encoding}");
        let bytes = res.bytes().await.unwrap().to_vec();
        let text = if encoding == "shift_jis" {
            assert!(
                bytes.windows(2).any(|w| w == [0x81, 0x60]),
                "〜 is written as 0x8160"
            );
            encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned()
        } else {
            String::from_utf8(bytes.clone()).unwrap()
        };
        assert!(
            text.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""),
            "{encoding}: {text}"
        );
        assert!(text.contains(",'@SUM(A1),"), "{encoding}: {text}");
        assert!(text.contains(",'-2+3,"), "{encoding}: {text}");
        // The file imports back to the same values.
        let (status, report) = import(&admin, "organisations", "", &bytes).await;
        assert_eq!(
            (status, report["updated"].as_u64()),
            (200, Some(2)),
            "{report}"
        );
        let listed: Vec<Value> = admin.get_json("/api/v1/master/organisations").await;
        let f1 = listed.iter().find(|o| o["code"] == "F-1").unwrap();
        assert_eq!(f1["name"], "=HYPERLINK(\"http://evil.example\",\"x\")");
        assert_eq!(f1["address"], "@SUM(A1)");
    }
    app.stop().await;
}
both_engines!(csv_export_is_safe_in_spreadsheets_and_cp932);

/// Limits before work: a zip bomb is refused from its directory (413, JSON error), as are too
/// many rows, a body over the limit and a JSON endpoint sent something that is not JSON.
async fn limits_are_checked_before_the_work(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let admin = app.api(&t.admin_token);
    let before = footprint(&app, &t).await;

    let bomb = crate::support::xlsx_bomb(256 * 1024 * 1024);
    assert!(
        bomb.len() < 4 * 1024 * 1024,
        "the bomb is small: {} bytes",
        bomb.len()
    );
    let started = std::time::Instant::now();
    let (status, body) = import(&admin, "organisations", "", &bomb).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("too_large")),
        "{body}"
    );
    assert!(
        body["message"]["en"].as_str().unwrap().contains("64 MB"),
        "{body}"
    );
    assert!(
        body["message"]["ja"].as_str().unwrap().contains("XLSX"),
        "{body}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "refused without inflating 256 MB: {:?}",
        started.elapsed()
    );

    // One row over the row limit (CSV).
    let mut csv = String::from("code,name,kind\n");
    for i in 0..=renkei::transfer::limits::ROWS {
        csv.push_str(&format!("C{i},機関{i},other\n"));
    }
    let (status, body) = import(&admin, "organisations", "", csv.as_bytes()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("too_large")),
        "{body}"
    );
    assert!(
        body["message"]["en"].as_str().unwrap().contains("50000"),
        "{body}"
    );

    // A file over the size limit, and a JSON body over its limit: the JSON error, not text.
    let big = vec![b'a'; renkei::transfer::limits::FILE_BYTES + 1];
    let (status, body) = import(&admin, "organisations", "", &big).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("too_large")),
        "{body}"
    );
    let huge = serde_json::json!({"code": "A", "name": "x".repeat(3 * 1024 * 1024), "kind": "hub"});
    let res = admin.post_json("/api/v1/master/organisations", &huge).await;
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.expect("a JSON error body");
    assert_eq!(body["error"], "too_large", "{body}");
    assert!(
        body["message"]["ja"].as_str().unwrap().contains("MB"),
        "{body}"
    );

    // The server answers an oversized body without reading it and closes that connection;
    // a fresh client does not reuse it for the next request.
    let admin = app.api(&t.admin_token);
    // A JSON endpoint refuses a body that does not say it is JSON (415), and names the fix.
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut req = admin
            .request(reqwest::Method::POST, "/api/v1/master/organisations")
            .body(r#"{"code":"A","name":"x","kind":"hub"}"#);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 415, "{content_type:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "unsupported_media_type");
        assert!(
            body["message"]["en"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{body}"
        );
    }
    let res = admin
        .request(reqwest::Method::POST, "/api/v1/master/organisations")
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"code":"A","name":"x","kind":"hub"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let after = footprint(&app, &t).await;
    assert_eq!(
        after[1],
        before[1] + 1,
        "only the last, well-formed request wrote"
    );
    app.stop().await;
}
both_engines!(limits_are_checked_before_the_work);

/// Lists that grow with the municipality are paged: 200 records by default, at most 1,000, the
/// total and the next page in headers; bad paging values are 422 naming the field.
async fn master_lists_are_paged(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let admin = app.api(&t.admin_token);
    let mut csv = String::from("code,name,kind\n");
    for i in 0..450 {
        csv.push_str(&format!("C{i:04},機関{i},other\n"));
    }
    let (status, report) = import(&admin, "organisations", "", csv.as_bytes()).await;
    assert_eq!(status, 200, "{report}");

    let res = admin.get("/api/v1/master/organisations").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-total-count"], "450");
    let link = res.headers()["link"].to_str().unwrap().to_string();
    assert_eq!(
        link,
        "</api/v1/master/organisations?limit=200&offset=200>; rel=\"next\""
    );
    let first: Vec<Value> = res.json().await.unwrap();
    assert_eq!(first.len(), 200);
    // Following the links visits every record once.
    let mut seen: Vec<String> = first
        .iter()
        .map(|o| o["code"].as_str().unwrap().to_string())
        .collect();
    let mut next = Some(link);
    while let Some(link) = next {
        let url = link
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .to_string();
        let res = admin.get(&url).await;
        next = res
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        let page: Vec<Value> = res.json().await.unwrap();
        seen.extend(page.iter().map(|o| o["code"].as_str().unwrap().to_string()));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 450);

    let all: Vec<Value> = admin
        .get_json("/api/v1/master/organisations?limit=1000")
        .await;
    assert_eq!(all.len(), 450);
    let res = admin
        .get("/api/v1/master/organisations?q=C01&limit=5&offset=5")
        .await;
    assert_eq!(res.headers()["x-total-count"], "100", "C0100..C0199");
    let page: Vec<Value> = res.json().await.unwrap();
    assert_eq!(page[0]["code"], "C0105");
    assert!(
        res_link_absent(
            &admin,
            "/api/v1/master/organisations?q=C01&limit=100&offset=0"
        )
        .await
    );

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("offset=-1", "offset"),
    ] {
        for path in ["/api/v1/master/organisations", "/api/v1/notices"] {
            let res = admin.get(&format!("{path}?{query}")).await;
            assert_eq!(res.status(), 422, "{path}?{query}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["fields"][0]["field"], field, "{body}");
            assert!(body["fields"][0]["message"]["en"]
                .as_str()
                .unwrap()
                .contains(if field == "limit" {
                    "1000"
                } else {
                    "0 or more"
                }));
        }
    }
    // The list page shows 200 a page, the total, and links to the other pages.
    let c = crate::support::logged_in_client(&app, "alpha-admin").await;
    let page1 = crate::support::get_text(&c, &app.url("/master/organisations")).await;
    assert!(page1.contains("450 件"), "the total is shown");
    assert_eq!(page1.matches("<th scope=\"row\">").count(), 200);
    assert!(
        page1.contains("rel=\"next\" href=\"/master/organisations?page=2\""),
        "{page1}"
    );
    let page3 = crate::support::get_text(&c, &app.url("/master/organisations?page=3")).await;
    assert_eq!(page3.matches("<th scope=\"row\">").count(), 50);
    assert!(page3.contains("rel=\"prev\" href=\"/master/organisations?page=2\""));
    assert!(!page3.contains("rel=\"next\""));

    // The audit log and the placement requests are paged the same way.
    let audit_rows = footprint(&app, &t).await[0];
    let res = admin.get("/api/v1/audit?limit=1").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["x-total-count"],
        audit_rows.to_string().as_str()
    );
    assert_eq!(
        res.headers()["link"],
        "</api/v1/audit?limit=1&offset=1>; rel=\"next\""
    );
    assert_eq!(res.json::<Vec<Value>>().await.unwrap().len(), 1);
    // The audit page too: 200 entries a page, the total, links to the other pages. (An import
    // is one entry: 210 one-day closures make the log longer than a page.)
    let first_day = chrono::NaiveDate::from_ymd_opt(2027, 1, 4).unwrap();
    for i in 0..210 {
        let day = first_day + chrono::Duration::days(i);
        let range = renkei::master::ValidDateRange { from: day, to: day };
        app.db().add_closure(&t.admin, range, "点検").await.unwrap();
    }
    let audit_rows = footprint(&app, &t).await[0];
    assert!(audit_rows > 210, "{audit_rows} audit entries");
    let audit1 = crate::support::get_text(&c, &app.url("/audit")).await;
    assert_eq!(audit1.matches("<time datetime=").count(), 200);
    assert!(audit1.contains(&format!("({audit_rows})")), "the total");
    assert!(audit1.contains(r#"rel="next" href="/audit?page=2""#));
    let last = (audit_rows + 199) / 200;
    let audit_last = crate::support::get_text(&c, &app.url(&format!("/audit?page={last}"))).await;
    assert_eq!(
        audit_last.matches("<time datetime=").count() as i64,
        audit_rows - 200 * (last - 1)
    );
    assert!(!audit_last.contains(r#"rel="next""#));
    for path in [
        "/api/v1/audit?limit=5000",
        "/api/v1/placement/requests?offset=-3",
    ] {
        assert_eq!(admin.get(path).await.status(), 422, "{path}");
    }
    // The largest offset is an empty page, not an overflow (found by schemathesis).
    for path in [
        "/api/v1/master/organisations",
        "/api/v1/audit",
        "/api/v1/notices",
        "/api/v1/placement/requests",
    ] {
        let res = admin
            .get(&format!("{path}?limit=1&offset=9223372036854775807"))
            .await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.json::<Vec<Value>>().await.unwrap().len(), 0, "{path}");
    }
    let res = admin.get("/api/v1/placement/requests?limit=5").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-total-count"], "0");
    let res = admin.get("/api/v1/notices?limit=10").await;
    assert_eq!(
        (
            res.status().as_u16(),
            res.headers()["x-total-count"].to_str().unwrap()
        ),
        (200, "0")
    );
    app.stop().await;
}
both_engines!(master_lists_are_paged);

async fn res_link_absent(api: &Api, path: &str) -> bool {
    let res = api.get(path).await;
    assert_eq!(res.status(), 200);
    res.headers().get("link").is_none()
}

/// The import page (a browser's upload) is all-or-nothing too: a mixed file is refused with
/// the bad row named, and nothing, not the good row and not an audit entry, is written.
async fn the_import_page_writes_nothing_of_a_mixed_file(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let t = tenant(app.db(), "alpha").await;
    let c = crate::support::logged_in_client(&app, "alpha-admin").await;
    let before = footprint(&app, &t).await;
    let mixed =
        "code,name,kind\nN-01,相談支援事業所あさひ,consultation_office\nN-02,謎の機関,宇宙港\n";
    let upload = |partial: bool| {
        let c = c.clone();
        let url = app.url("/transfer");
        async move {
            let csrf = crate::support::csrf_token(&c, &url).await;
            let mut form = reqwest::multipart::Form::new()
                .text("csrf", csrf)
                .text("kind", "organisations")
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(mixed.as_bytes().to_vec())
                        .file_name("orgs.csv"),
                );
            if partial {
                form = form.text("partial", "on");
            }
            let res = c.post(&url).multipart(form).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, page) = upload(false).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("宇宙港"), "the bad value is shown");
    assert_eq!(footprint(&app, &t).await, before, "nothing written");
    let (status, page) = upload(true).await;
    assert_eq!(status, 200, "{page}");
    let after = footprint(&app, &t).await;
    assert_eq!(
        (after[0], after[1]),
        (before[0] + 1, before[1] + 1),
        "the good row and one audit entry"
    );
    app.stop().await;
}
both_engines!(the_import_page_writes_nothing_of_a_mixed_file);
