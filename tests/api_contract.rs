//! The OpenAPI document is the API: schemathesis (`--checks all`: no server error, every
//! response and status code and content type as documented, every schema-valid request
//! accepted, every schema-violating one refused) over the demo municipality, on both engines.
//!
//! schemathesis is a Python program; `scripts/test.sh` installs it (a pinned version in a
//! virtual environment under the build cache) and passes its path in `RENKEI_SCHEMATHESIS`.
//! Without it this test fails: it never skips. Its configuration is `tests/schemathesis.toml`
//! (why 422 counts as a correct refusal is written there).

use std::path::PathBuf;
use std::process::Stdio;

use renkei::demo::{self, DEMO_USERNAME};

use crate::both_engines;
use crate::support::{Engine, TestApp, TestDb};

fn schemathesis() -> PathBuf {
    let path = std::env::var_os("RENKEI_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("schemathesis"));
    let found = std::process::Command::new(&path)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "schemathesis is missing ({}): run the suite with scripts/test.sh, which installs it, \
         or set RENKEI_SCHEMATHESIS to its path",
        path.display()
    );
    path
}

async fn schemathesis_finds_no_failure(engine: Engine) {
    let program = schemathesis();
    let t = TestDb::new(engine).await;
    demo::load(&t.db).await.expect("demo");
    // The demo's administrator: every operation is allowed, so refusals are the input's fault.
    let user =
        t.db.user_by_username(DEMO_USERNAME)
            .await
            .unwrap()
            .expect("demo user");
    assert!(user.role.is_admin(), "the demo user administers");
    let token = renkei::auth::create_api_token(&t.db, &user, "schemathesis")
        .await
        .unwrap();
    let app = TestApp::on(t).await;
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
    let report = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(program)
        .args([
            "--config-file",
            config,
            "run",
            &app.url("/api/openapi.json"),
        ])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // A fixed seed: a failure here is found again by the same command.
        .args([
            "--checks",
            "all",
            "--max-examples",
            "10",
            "--seed",
            "20261203",
        ])
        .args(["--workers", "1", "--no-color"])
        .arg("--report-dir")
        .arg(report.path())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&output.stdout);
    let summary: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .collect();
    eprintln!("schemathesis ({engine:?}):\n{}", summary.join("\n"));
    // It really ran: every operation of the document was tested, and cases passed.
    assert!(
        text.contains("Tested: ") && text.contains(" passed"),
        "schemathesis did not run the operations:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found failures ({engine:?}; reproduce with the command above and \
         `st replay <id>`):\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    app.stop().await;
}
both_engines!(schemathesis_finds_no_failure);

/// Follows `Link: rel="next"` from `first` to the end: every page's items' ids, and the
/// `X-Total-Count` of the first page.
async fn walk_pages(api: &crate::support::Api, first: &str) -> (Vec<i64>, i64) {
    let mut ids = Vec::new();
    let mut total = None;
    let mut next = Some(first.to_string());
    while let Some(url) = next {
        let res = api.get(&url).await;
        assert_eq!(res.status(), 200, "{url}");
        let count: i64 = res.headers()["x-total-count"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        total.get_or_insert(count);
        next = res.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with("; rel=\"next\""), "{l}");
            l.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .to_string()
        });
        let page: Vec<serde_json::Value> = res.json().await.unwrap();
        assert!(
            !page.is_empty() || ids.is_empty(),
            "an empty page after {url}"
        );
        ids.extend(page.iter().map(|v| v["id"].as_i64().unwrap()));
    }
    (ids, total.unwrap())
}

/// Series, facilities, plan runs and the published calendar are paged like the master data:
/// `limit`/`offset`, `X-Total-Count`, a `Link` to the next page that keeps the filters, and
/// following the links visits every item once.
async fn every_list_is_paged(engine: Engine) {
    let t = TestDb::new(engine).await;
    demo::load(&t.db).await.expect("demo");
    let user = t.db.user_by_username(DEMO_USERNAME).await.unwrap().unwrap();
    let token = renkei::auth::create_api_token(&t.db, &user, "paging")
        .await
        .unwrap();
    let app = TestApp::on(t).await;
    let api = app.api(&token);
    crate::support::plan_and_publish(&api, "2027Q1", None).await;
    let second_run = crate::support::plan_and_publish(&api, "2027Q2", None).await;

    for (whole, first) in [
        ("/api/v1/series?limit=1000", "/api/v1/series?limit=4"),
        (
            "/api/v1/placement/facilities?limit=1000",
            "/api/v1/placement/facilities?limit=3",
        ),
        ("/api/v1/plans?limit=1000", "/api/v1/plans?limit=1"),
        (
            "/api/v1/occurrences?from=2027-04-01&to=2027-06-30&limit=1000",
            "/api/v1/occurrences?from=2027-04-01&to=2027-06-30&limit=7",
        ),
    ] {
        let all: Vec<serde_json::Value> = api.get_json(whole).await;
        let mut expected: Vec<i64> = all.iter().map(|v| v["id"].as_i64().unwrap()).collect();
        assert!(expected.len() > 1, "{whole}: {} items", expected.len());
        let (mut ids, total) = walk_pages(&api, first).await;
        assert_eq!(total, expected.len() as i64, "{first}");
        assert_eq!(ids, expected, "{first}: the pages in the list's order");
        ids.sort();
        ids.dedup();
        expected.sort();
        assert_eq!(ids, expected, "{first}: each once");
    }
    // The calendar's pages keep the filter: only the first quarter (April-June), though the second is
    // published too.
    let res = api
        .get("/api/v1/occurrences?from=2027-04-01&to=2027-06-30&limit=2")
        .await;
    let link = res.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.starts_with("</api/v1/occurrences?from=2027-04-01&to=2027-06-30&limit=2&offset=2>"),
        "{link}"
    );
    // Plan runs: newest first, 20 a page by default.
    let runs: Vec<serde_json::Value> = api.get_json("/api/v1/plans").await;
    assert_eq!(runs[0]["id"].as_i64(), Some(second_run));
    // The lists that grow over the years without a filter are paged too.
    for path in ["/api/v1/calendar/closures", "/api/v1/placement/preventive"] {
        let res = api.get(&format!("{path}?limit=1")).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.headers().contains_key("x-total-count"), "{path}");
        assert!(res.json::<Vec<serde_json::Value>>().await.unwrap().len() <= 1);
    }
    for path in [
        "/api/v1/calendar/closures?offset=-1",
        "/api/v1/placement/preventive?limit=0",
        "/api/v1/series?limit=0",
        "/api/v1/plans?offset=-1",
        "/api/v1/placement/facilities?limit=1001",
        "/api/v1/occurrences?limit=0",
        "/api/v1/occurrences/export?limit=0",
    ] {
        assert_eq!(api.get(path).await.status(), 422, "{path}");
    }
    app.stop().await;
}
both_engines!(every_list_is_paged);
