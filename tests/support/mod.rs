//! Test harness: fresh databases on both engines, the real app on port 0, and helpers to make
//! a municipality with users and API tokens.
//!
//! PostgreSQL comes from `RENKEI_TEST_POSTGRES_URL` (an admin URL of a throwaway cluster that
//! `scripts/test.sh` starts). Without it the PostgreSQL tests fail with instructions: they are
//! never skipped silently.

#![allow(dead_code)]

pub mod dovecot;
pub mod smtp;

use std::sync::atomic::{AtomicU64, Ordering};

use renkei::app::App;
use renkei::auth::{hash_password, Role};
use renkei::config::Config;
use renkei::store::tenancy::{MunicipalityId, User};
use renkei::store::Db;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per engine, as two separately named tests.
#[macro_export]
macro_rules! both_engines {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Engine::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Engine::Postgres).await
            }
        }
    };
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    format!(
        "renkei_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        rand_suffix()
    )
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

pub fn postgres_admin_url() -> String {
    std::env::var("RENKEI_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "RENKEI_TEST_POSTGRES_URL is not set: the PostgreSQL half of the suite cannot run. \
             Run `bash scripts/test.sh`, which installs PostgreSQL and starts a throwaway cluster, \
             or point RENKEI_TEST_POSTGRES_URL at a server where the user may CREATE DATABASE."
        )
    })
}

/// A fresh, migrated database that is removed when dropped.
pub struct TestDb {
    pub db: Db,
    pub url: String,
    engine: Engine,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(engine: Engine) -> TestDb {
        let name = unique_name();
        let (url, dir) = match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                (
                    format!("sqlite://{}/{name}.db", dir.path().display()),
                    Some(dir),
                )
            }
            Engine::Postgres => {
                let admin = postgres_admin_url();
                let admin_db = Db::connect(&admin)
                    .await
                    .expect("connect to the PostgreSQL admin URL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin_db.pool)
                    .await
                    .expect("create test database");
                admin_db.pool.close().await;
                (with_database(&admin, &name), None)
            }
        };
        let db = Db::connect(&url).await.expect("connect to test database");
        db.migrate().await.expect("migrate test database");
        TestDb {
            db,
            url,
            engine,
            name,
            _dir: dir,
        }
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, name: &str) -> String {
    let mut u = url::Url::parse(url).expect("PostgreSQL URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.engine != Engine::Postgres {
            return;
        }
        let name = self.name.clone();
        let pool = self.db.pool.clone();
        // Drop runs outside async; use a private runtime on a plain thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                pool.close().await;
                if let Ok(admin) = Db::connect(&postgres_admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin.pool)
                        .await;
                    admin.pool.close().await;
                }
            })
        })
        .join();
    }
}

/// A municipality with one account per role and an API token for each.
pub struct Tenant {
    pub id: MunicipalityId,
    pub code: String,
    pub admin: User,
    pub admin_token: String,
    pub coordinator_token: String,
    pub viewer_token: String,
}

pub const PASSWORD: &str = "correct horse battery";

pub async fn tenant(db: &Db, code: &str) -> Tenant {
    let id = db
        .create_municipality(code, &format!("{code}市"), code)
        .await
        .expect("municipality");
    let hash = hash_password(PASSWORD).unwrap();
    let mut tokens = Vec::new();
    let mut admin = None;
    for role in [Role::Admin, Role::Coordinator, Role::Viewer] {
        let username = format!("{code}-{}", role.slug());
        db.create_user(
            id,
            &username,
            &format!("{code} {}", role.slug()),
            &hash,
            role,
        )
        .await
        .expect("user");
        let user = db.user_by_username(&username).await.unwrap().unwrap();
        tokens.push(
            renkei::auth::create_api_token(db, &user, "test")
                .await
                .unwrap(),
        );
        if role == Role::Admin {
            admin = Some(user);
        }
    }
    Tenant {
        id,
        code: code.to_string(),
        admin: admin.unwrap(),
        admin_token: tokens[0].clone(),
        coordinator_token: tokens[1].clone(),
        viewer_token: tokens[2].clone(),
    }
}

/// The real service on a free port, stopped when dropped.
pub struct TestApp {
    pub base: String,
    /// The settings the service runs with.
    pub config: Config,
    pub test_db: TestDb,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> TestApp {
        let test_db = TestDb::new(engine).await;
        TestApp::on(test_db).await
    }

    pub async fn on(test_db: TestDb) -> TestApp {
        TestApp::configured(test_db, |_| {}).await
    }

    /// The service on `test_db` with settings changed by `adjust` (e.g. a mail server).
    pub async fn configured(test_db: TestDb, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = Config {
            database_url: test_db.url.clone(),
            listen: "127.0.0.1:0".into(),
            // Without a mail server, messages go to a folder of this test, not the working tree.
            outbox_dir: std::env::temp_dir()
                .join(format!("renkei-outbox-{}", unique_name()))
                .display()
                .to_string(),
            ..Config::default()
        };
        adjust(&mut config);
        let app = App::with_db(config.clone(), test_db.db.clone())
            .await
            .expect("app");
        let base = format!("http://{}", app.local_addr());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.run(async {
                let _ = rx.await;
            })
            .await
            .expect("server");
        });
        TestApp {
            base,
            config,
            test_db,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    pub fn db(&self) -> &Db {
        &self.test_db.db
    }

    /// A second service instance over the same database, with its own pool and caches (what
    /// a deployment with several instances runs). Stops when dropped.
    pub async fn another_instance(&self) -> Instance {
        let db = Db::connect(&self.test_db.url)
            .await
            .expect("second instance");
        let config = Config {
            database_url: self.test_db.url.clone(),
            listen: "127.0.0.1:0".into(),
            outbox_dir: std::env::temp_dir()
                .join(format!("renkei-outbox-{}", unique_name()))
                .display()
                .to_string(),
            ..Config::default()
        };
        let app = App::with_db(config, db).await.expect("app");
        let base = format!("http://{}", app.local_addr());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = app
                .run(async {
                    let _ = rx.await;
                })
                .await;
        });
        Instance { base, _stop: tx }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A JSON API client that sends `token` as its bearer token.
    pub fn api(&self, token: &str) -> Api {
        Api {
            client: client(),
            base: self.base.clone(),
            token: Some(token.to_string()),
        }
    }

    /// An API client without a token.
    pub fn anonymous(&self) -> Api {
        Api {
            client: client(),
            base: self.base.clone(),
            token: None,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

/// A further service instance (see [`TestApp::another_instance`]).
pub struct Instance {
    pub base: String,
    _stop: oneshot::Sender<()>,
}

impl Instance {
    pub fn api(&self, token: &str) -> Api {
        Api {
            client: client(),
            base: self.base.clone(),
            token: Some(token.to_string()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs a browser-like client in through the login form; returns the client with its cookies.
pub async fn logged_in_client(app: &TestApp, username: &str) -> reqwest::Client {
    let c = client();
    let res = login(&c, app, username, PASSWORD, Some("/")).await;
    assert_eq!(res.status(), 303, "login should redirect");
    c
}

/// Submits the login form as a browser does: loads it (for a fresh CSRF token), then posts it.
pub async fn login(
    c: &reqwest::Client,
    app: &TestApp,
    username: &str,
    password: &str,
    next: Option<&str>,
) -> reqwest::Response {
    let csrf = csrf_token(c, &app.url("/login")).await;
    let mut form = vec![
        ("username", username),
        ("password", password),
        ("csrf", csrf.as_str()),
    ];
    form.extend(next.map(|next| ("next", next)));
    post_form(c, &app.url("/login"), &form).await
}

/// A GET as a browser makes it (redirects are not followed).
pub async fn get_page(c: &reqwest::Client, url: &str) -> reqwest::Response {
    c.get(url).send().await.unwrap()
}

/// The body of a GET as text, whatever the status.
pub async fn get_text(c: &reqwest::Client, url: &str) -> String {
    get_page(c, url).await.text().await.unwrap()
}

/// Posts a form, as a browser submits it.
pub async fn post_form(c: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
    c.post(url).form(form).send().await.unwrap()
}

/// Answers a meeting through its answer link as a browser does: reads the page and sends its
/// form with the hidden fields the page carries (the meeting's version and the answer shown).
pub async fn post_answer(
    c: &reqwest::Client,
    link: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let page = get_text(c, link).await;
    let sequence = hidden_field(&page, "seen_sequence")
        .unwrap_or_else(|| panic!("{link} has no answer form: {page}"));
    let answered_at = hidden_field(&page, "seen_answered_at").unwrap_or_default();
    let mut all: Vec<(&str, &str)> = form.to_vec();
    all.push(("seen_sequence", &sequence));
    all.push(("seen_answered_at", &answered_at));
    post_form(c, link, &all).await
}

/// Records an answer as the answer page does, over the meeting's current version and the
/// answer stored now (what the page would have shown).
pub async fn record_link_answer(
    db: &Db,
    m: renkei::store::tenancy::MunicipalityId,
    occurrence: i64,
    person: i64,
    answer: &renkei::store::notices::Answer,
) {
    let sequence: i64 = sqlx::query_scalar("SELECT sequence FROM occurrences WHERE id = $1")
        .bind(occurrence)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let answered_at = db
        .answer_of(occurrence, person)
        .await
        .unwrap()
        .map(|(_, at)| at);
    db.record_answer(
        m,
        occurrence,
        person,
        answer,
        renkei::store::notices::AnswerBy::Link,
        &renkei::store::notices::AnswerSeen {
            sequence,
            answered_at,
        },
    )
    .await
    .unwrap();
}

/// The CSRF token of the form on the page at `url`.
pub async fn csrf_token(c: &reqwest::Client, url: &str) -> String {
    let page = get_text(c, url).await;
    hidden_field(&page, "csrf").unwrap_or_else(|| panic!("{url} has no csrf field"))
}

/// Value of `<input type="hidden" name="NAME" value="...">` in a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_string())
}

/// Requests to the service under one bearer token (or none), with paths relative to its base.
/// Transport errors panic; the status is left to the caller except in `get_json`.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        send(self.request(Method::GET, path)).await
    }

    /// GET that must succeed (2xx), decoded from JSON.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> T {
        let res = self.get(path).await;
        let status = res.status();
        let body = res.text().await.unwrap();
        assert!(status.is_success(), "GET {path}: {status}\n{body}");
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: unexpected JSON ({e}): {body}"))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        send(self.request(Method::PUT, path).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        send(self.request(Method::DELETE, path)).await
    }

    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        send(self.request(Method::POST, path).body(body)).await
    }
}

async fn send(req: reqwest::RequestBuilder) -> reqwest::Response {
    req.send().await.expect("request reaches the test server")
}

/// A small XLSX file whose sheet inflates to about `inflated` bytes (a zip bomb): the parts of
/// a real workbook, with `xl/worksheets/sheet1.xml` replaced by one padded with blanks. Built
/// here so that no bomb is stored in the repository.
pub fn xlsx_bomb(inflated: usize) -> Vec<u8> {
    use std::io::{Cursor, Write};
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet().write_string(0, 0, "code").unwrap();
    let real = book.save_to_buffer().unwrap();
    let mut parts = zip::ZipArchive::new(Cursor::new(real)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..parts.len() {
        let entry = parts.by_index_raw(i).unwrap();
        if entry.name().unwrap() != "xl/worksheets/sheet1.xml" {
            out.raw_copy_file(entry).unwrap();
        }
    }
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(inflated as u64 >= u32::MAX as u64);
    out.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    out.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#).unwrap();
    // Blanks between tags are valid XML and deflate fastest (about 1,000 : 1).
    let chunk = vec![b' '; 1 << 20];
    let mut written = 0;
    while written < inflated {
        out.write_all(&chunk).unwrap();
        written += chunk.len();
    }
    out.write_all(b"</sheetData></worksheet>").unwrap();
    out.finish().unwrap().into_inner()
}

/// The person id of an occurrence's first required invitee, as `GET /api/v1/occurrences`
/// lists its attendees.
pub fn first_required(occurrence: &serde_json::Value) -> Option<i64> {
    occurrence["attendees"]
        .as_array()?
        .iter()
        .find(|a| a["required"] == true)?["person_id"]
        .as_i64()
}

/// Plans `period` with the greedy baseline through the API (quick), as if planned on
/// `planning_date` when given, waits for the run and publishes it; the run's id.
pub async fn plan_and_publish(api: &Api, period: &str, planning_date: Option<&str>) -> i64 {
    let mut body = serde_json::json!({
        "period": period,
        "time_limit_seconds": 5,
        "method": "greedy",
    });
    if let Some(date) = planning_date {
        body["planning_date"] = date.into();
    }
    plan_and_publish_with(api, &body).await.0
}

/// Starts a planning run with `body`, waits for it (a valid plan within 2 minutes) and
/// publishes it: the run's id and the publication's summary.
pub async fn plan_and_publish_with(api: &Api, body: &Value) -> (i64, Value) {
    let res = api.post_json("/api/v1/plans", body).await;
    let status = res.status();
    let run: Value = res.json().await.unwrap();
    assert_eq!(status, 202, "POST /api/v1/plans {body}: {run}");
    let id = run["id"].as_i64().expect("run id");
    let start = std::time::Instant::now();
    loop {
        let run: Value = api.get_json(&format!("/api/v1/plans/{id}")).await;
        match run["status"].as_str().unwrap() {
            "done" => {
                assert_eq!(run["result"]["valid"], true, "{}", run["result"]);
                break;
            }
            "failed" => panic!("plan run {id} failed: {}", run["last_error"]),
            _ => {}
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "plan run {id} did not finish: {run}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let res = api
        .post_json(
            &format!("/api/v1/plans/{id}/publish"),
            &serde_json::json!({}),
        )
        .await;
    let status = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "publish plan run {id}: {text}");
    (
        id,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
