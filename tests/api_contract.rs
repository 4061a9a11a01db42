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
