//! A smoke test in a real browser (headless Chromium through ChromeDriver): log in to the demo
//! municipality, open the people list, search it and switch the language.
//!
//! Chromium and ChromeDriver must be installed (`bash scripts/test.sh` installs them); without
//! them this test fails rather than being skipped.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tempfile::TempDir;

use crate::support::{smtp, Api, Engine, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A person of the demo dataset (src/demo/data.rs, P001) and their family name, which no
/// other demo person, organisation, role or qualification contains.
const PERSON: &str = "佐藤 美穂";
const FAMILY_NAME: &str = "佐藤";
/// 89 staff and 2 external supervisors.
const DEMO_PEOPLE: usize = 91;

/// ChromeDriver on a free port, killed (with the browser it started) when dropped, also when
/// the test panics.
struct ChromeDriver {
    child: Child,
    port: u16,
    log: PathBuf,
    /// The browser profile (`--user-data-dir`) and the driver's log; removed after the kill.
    dir: TempDir,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing, so the browser test cannot run. Run `bash scripts/test.sh`, which installs \
                 the {package} package (or install it with apt-get) and runs the whole suite."
            );
        }
        let port = free_port();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("chromedriver.log");
        let out = File::create(&log).expect("chromedriver log file");
        let err = out.try_clone().expect("chromedriver log file");
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // Its own process group, so that the browser it launches can be killed with it.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start {CHROMEDRIVER}: {e}; run `bash scripts/test.sh`")
        });
        let mut driver = ChromeDriver {
            child,
            port,
            log,
            dir,
        };
        driver.wait_until_listening(Duration::from_secs(30));
        driver
    }

    fn wait_until_listening(&mut self, limit: Duration) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let start = Instant::now();
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "chromedriver exited early ({status}); its log:\n{}",
                    self.log_text()
                );
            }
            assert!(
                start.elapsed() < limit,
                "chromedriver did not listen on port {} within {limit:?}; its log:\n{}",
                self.port,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn profile_dir(&self) -> PathBuf {
        self.dir.path().join("profile")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The process group is the driver's pid (process_group(0)); it holds the driver and the
        // browser it launched, and nothing else.
        let pid = self.child.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().unwrap().port()
}

async fn connect(driver: &ChromeDriver) -> Client {
    let profile = driver.profile_dir();
    std::fs::create_dir_all(&profile).unwrap();
    let caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
            ],
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::rustls()
        .expect("TLS roots for the WebDriver client")
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot open a Chromium session: {e}; chromedriver log:\n{}",
                driver.log_text()
            )
        })
}

/// Polls the current URL until `ready` accepts it.
async fn wait_for_url(client: &Client, what: &str, ready: impl Fn(&url::Url) -> bool) -> url::Url {
    let start = Instant::now();
    loop {
        let url = client.current_url().await.expect("current URL");
        if ready(&url) {
            return url;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "waited in vain for {what}; the browser is at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(client: &Client, css: &str) -> String {
    // Pages that refresh themselves (the planning progress) can replace the element between
    // finding and reading it: find it again until the deadline.
    let start = Instant::now();
    loop {
        let el = client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"));
        match el.text().await {
            Ok(t) => return t.trim().to_string(),
            Err(_) if start.elapsed() < Duration::from_secs(15) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("text of {css}: {e}"),
        }
    }
}

/// The names column (second cell) of the list table, row by row.
async fn listed_names(client: &Client) -> Vec<String> {
    let mut names = Vec::new();
    for cell in client
        .find_all(Locator::Css("main table tbody tr > :nth-child(2)"))
        .await
        .unwrap()
    {
        names.push(cell.text().await.unwrap().trim().to_string());
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_browse_people_search_and_switch_to_english() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let loaded = renkei::demo::load(app.db()).await.expect("load the demo");
    assert!(loaded.created);

    let driver = ChromeDriver::start();
    let client = connect(&driver).await;
    let result = tokio::time::timeout(Duration::from_secs(180), session(&client, &app)).await;
    // Ends the browser session cleanly; the driver guard kills whatever is left.
    let _ = client.close().await;
    drop(driver);
    result.expect("the browser session took more than 3 minutes");
    app.stop().await;
}

async fn session(client: &Client, app: &TestApp) {
    client
        .set_window_size(1280, 1000)
        .await
        .expect("window size");

    // Not logged in: the home page sends the visitor to the login form, remembering where to go.
    client.goto(&app.url("/")).await.expect("open /");
    let url = wait_for_url(client, "the login page", |u| u.path() == "/login").await;
    assert_eq!(url.query(), Some("next=%2F"), "{url}");
    assert_eq!(text_of(client, "main h1").await, "ログイン");

    // Fields found by the ids their labels point to.
    for (id, label) in [("username", "ユーザー名"), ("password", "パスワード")] {
        assert_eq!(text_of(client, &format!("label[for='{id}']")).await, label);
    }
    client
        .find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(renkei::demo::DEMO_USERNAME)
        .await
        .unwrap();
    client
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(renkei::demo::DEMO_PASSWORD)
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action='/login'] button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The home page of みらい市.
    wait_for_url(client, "the home page after logging in", |u| {
        u.path() == "/"
    })
    .await;
    assert_eq!(
        text_of(client, "main h1").await,
        "みらい市",
        "the home page names the municipality"
    );
    assert_eq!(text_of(client, "header .muni").await, "みらい市");
    let tile = text_of(client, "main ul.tiles a[href='/master/people']").await;
    assert_eq!(
        tile.split_whitespace().collect::<Vec<_>>(),
        [DEMO_PEOPLE.to_string().as_str(), "人"],
        "the people tile counts the demo people"
    );

    // The navigation link to the people list, in the master-data menu (closed until opened).
    click(client, "nav details summary").await;
    let people_link = client
        .find(Locator::Css("nav a[href='/master/people']"))
        .await
        .expect("nav link to people");
    assert_eq!(people_link.text().await.unwrap().trim(), "人");
    people_link.click().await.unwrap();
    wait_for_url(client, "the people list", |u| u.path() == "/master/people").await;
    assert_eq!(text_of(client, "main h1").await, "人");
    let current = client
        .find(Locator::Css("nav a[aria-current='page']"))
        .await
        .expect("current nav item");
    assert_eq!(
        current.attr("href").await.unwrap().as_deref(),
        Some("/master/people")
    );
    assert_eq!(text_of(client, "#count").await, format!("{DEMO_PEOPLE} 件"));
    let names = listed_names(client).await;
    assert_eq!(names.len(), DEMO_PEOPLE, "{names:?}");
    assert!(
        names.iter().any(|n| n == PERSON),
        "{PERSON} should be listed: {names:?}"
    );

    save_screenshot(client, "people.png").await;

    // Search by family name: the list narrows to that one person.
    let q = client.find(Locator::Id("q")).await.expect("search box #q");
    assert_eq!(text_of(client, "label[for='q']").await, "検索");
    q.send_keys(FAMILY_NAME).await.unwrap();
    client
        .find(Locator::Css("form[role='search'] button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(client, "the search result", |u| {
        u.query_pairs().any(|(k, v)| k == "q" && v == FAMILY_NAME)
    })
    .await;
    assert_eq!(text_of(client, "#count").await, "1 件");
    assert_eq!(listed_names(client).await, [PERSON]);
    assert!(
        text_of(client, "main table caption")
            .await
            .contains(FAMILY_NAME),
        "the caption repeats the search"
    );
    let kept = client
        .find(Locator::Id("q"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some(FAMILY_NAME),
        "the search box keeps the query"
    );

    // Switch to English with the header link: the same page comes back in English.
    let switch = client
        .find(Locator::Css("header a[hreflang='en']"))
        .await
        .expect("language link in the header");
    assert_eq!(switch.text().await.unwrap().trim(), "English");
    switch.click().await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("html[lang='en']"))
        .await
        .expect("the page turns English");
    let url = client.current_url().await.unwrap();
    assert_eq!(
        url.path(),
        "/master/people",
        "switching the language should return to the page it was chosen on, not to {url} \
         (the header link is /lang/en?next=<current_path>)"
    );
    assert_eq!(text_of(client, "main h1").await, "People");
    // In the closed master-data menu: its text, not its rendering.
    let people_link = client
        .find(Locator::Css("nav a[href='/master/people']"))
        .await
        .unwrap();
    assert_eq!(
        people_link.prop("textContent").await.unwrap().as_deref(),
        Some("People")
    );
    assert_eq!(text_of(client, "label[for='q']").await, "Search");

    // A person's page in English: the edit form with the absences section, reached by keyboard
    // users through the code link in the first column.
    client
        .find(Locator::Css("main table tbody th a"))
        .await
        .expect("the person's code links to the edit page")
        .click()
        .await
        .unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Id("absences"))
        .await
        .expect("the edit page shows the absences section");
    assert_eq!(
        text_of(client, "label[for='f-name']").await,
        "Name (required)"
    );
    save_screenshot(client, "person.png").await;
    client.goto(&app.url("/calendar?fy=2026")).await.unwrap();
    assert!(text_of(client, "main h1").await.contains("FY2026"));
    save_screenshot(client, "calendar.png").await;
}

/// For humans: what a page looks like, under the target's temporary directory.
async fn save_screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&shot, &png).unwrap_or_else(|e| panic!("write {}: {e}", shot.display()));
}

/// The coordinator's round trip on the demo: plan the next fiscal year's first quarter from
/// the planning page, watch it finish, check the preview, publish, and see the calendar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_a_quarter_preview_and_publish() {
    on_the_demo_in_a_browser(
        Duration::from_secs(240),
        "the planning round trip",
        plan_and_publish,
    )
    .await;
}

/// Runs `steps` in a fresh browser against the demo municipality, within `limit`; the browser
/// and its driver are closed whatever happens.
async fn on_the_demo_in_a_browser(
    limit: Duration,
    what: &str,
    steps: impl AsyncFnOnce(&Client, &TestApp),
) {
    let app = TestApp::spawn(Engine::Sqlite).await;
    renkei::demo::load(app.db()).await.expect("load the demo");
    let driver = ChromeDriver::start();
    let client = connect(&driver).await;
    let result = tokio::time::timeout(limit, steps(&client, &app)).await;
    let _ = client.close().await;
    drop(driver);
    result.unwrap_or_else(|_| panic!("{what} took more than {limit:?}"));
    app.stop().await;
}

async fn log_in(client: &Client, app: &TestApp, next: &str) {
    client
        .goto(&app.url(&format!("/login?next={next}")))
        .await
        .expect("open the login page");
    for (id, value) in [
        ("username", renkei::demo::DEMO_USERNAME),
        ("password", renkei::demo::DEMO_PASSWORD),
    ] {
        client
            .wait()
            .for_element(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    client
        .find(Locator::Css("form[action='/login'] button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(client, next, |u| u.path() == next).await;
}

async fn plan_and_publish(client: &Client, app: &TestApp) {
    client
        .set_window_size(1280, 1000)
        .await
        .expect("window size");
    log_in(client, app, "/meetings/plan").await;
    assert_eq!(text_of(client, "main h1").await, "日程計画");
    // The next fiscal year's Q1 is always offered and always ahead of today.
    let options = client
        .find_all(Locator::Css("#f-period option[value$='Q1']"))
        .await
        .unwrap();
    let q1 = options.last().expect("a first quarter is offered");
    let value = q1.attr("value").await.unwrap().unwrap();
    q1.click().await.unwrap();
    let limit = client
        .find(Locator::Id("f-time_limit_seconds"))
        .await
        .unwrap();
    limit.clear().await.unwrap();
    limit.send_keys("20").await.unwrap();
    client
        .find(Locator::Css(
            "form[action='/meetings/plan'] button[type='submit']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let url = wait_for_url(client, "the plan page", |u| {
        u.path().starts_with("/meetings/plans/")
    })
    .await;
    // The page refreshes itself until the job is done.
    let start = Instant::now();
    loop {
        let status = text_of(client, "#run-status").await;
        if status == "完了" {
            break;
        }
        assert!(
            status == "計算中" || status == "待機中",
            "unexpected status {status} for {value}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(150),
            "the plan did not finish"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let figures = text_of(client, "dl.figures").await;
    assert!(figures.contains("規則違反なし"), "{figures}");
    // The indicators' targets for the quarter, each met or explained.
    let targets = text_of(client, "#targets summary").await;
    assert!(targets.starts_with("指標の目標"), "{targets}");
    let (met, all) = targets
        .rsplit_once(": ")
        .and_then(|(_, n)| n.split_once(" / "))
        .unwrap_or_else(|| panic!("{targets}"));
    assert_eq!(
        all.split_whitespace().next(),
        Some(met),
        "every target of the quarter is met: {targets}"
    );
    save_screenshot(client, "plan-grid.png").await;

    // The list view: every ward network meeting once in the quarter.
    client
        .goto(&format!(
            "{}?view=list",
            url.as_str().split('?').next().unwrap()
        ))
        .await
        .unwrap();
    let rows = client
        .find_all(Locator::Css("main table tbody tr > :nth-child(3)"))
        .await
        .unwrap();
    let mut ward_meetings = Vec::new();
    for r in rows {
        let t = r.text().await.unwrap();
        if t.starts_with("区障がい福祉ネットワーク会議") {
            ward_meetings.push(t);
        }
    }
    ward_meetings.sort();
    ward_meetings.dedup();
    assert_eq!(ward_meetings.len(), 5, "{ward_meetings:?}");

    client
        .find(Locator::Id("publish"))
        .await
        .expect("a publish button")
        .click()
        .await
        .unwrap();
    // The confirmation step says what publishing sends, and publishes only once understood.
    wait_for_url(client, "the publish confirmation", |u| {
        u.path().ends_with("/publish")
    })
    .await;
    let consequences = text_of(client, "#consequences").await;
    assert!(
        consequences.contains("通のメールを") && consequences.contains("人に送ります"),
        "{consequences}"
    );
    click(client, "#understood").await;
    click(client, "#publish-confirm").await;
    wait_for_url(client, "the published notice", |u| {
        u.query().is_some_and(|q| q.contains("published="))
    })
    .await;
    let notice = text_of(client, "#flash").await;
    assert!(
        notice.contains("公開しました") && notice.contains("人に送ります"),
        "{notice}"
    );
    assert!(
        client.find(Locator::Id("publish")).await.is_err(),
        "a published plan offers no second publish"
    );

    let year = value.trim_end_matches("Q1");
    client
        .goto(&app.url(&format!(
            "/meetings/calendar?view=grid&from={year}-04-01&to={year}-06-30"
        )))
        .await
        .unwrap();
    let events = client
        .find_all(Locator::Css("table.month .ev"))
        .await
        .unwrap();
    assert!(
        events.len() >= 20,
        "the month grid shows the published meetings ({})",
        events.len()
    );
    save_screenshot(client, "published-calendar.png").await;
}

/// Hub staff on the demo: open the most urgent request, propose the first fitting bed the
/// page offers, record the facility's acceptance, confirm, and see the stay on the board.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_staff_place_a_person_and_the_board_shows_it() {
    on_the_demo_in_a_browser(
        Duration::from_secs(120),
        "the placement round trip",
        place_on_the_demo,
    )
    .await;
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits until the page's heading ends with `suffix` (a form's redirect reloads the same URL).
async fn wait_for_heading(client: &Client, suffix: &str) {
    let start = Instant::now();
    loop {
        // The page may be replaced between finding the heading and reading it: try again.
        let heading = match client.find(Locator::Css("main h1")).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if heading.trim().ends_with(suffix) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "heading {heading:?} does not end with {suffix:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn place_on_the_demo(client: &Client, app: &TestApp) {
    client
        .set_window_size(1400, 1000)
        .await
        .expect("window size");
    let next = "/placement/requests";
    client
        .goto(&app.url(&format!("/login?next={next}")))
        .await
        .unwrap();
    for (id, value) in [
        ("username", renkei::demo::placement::DEMO_HUB_USERNAME),
        ("password", renkei::demo::DEMO_PASSWORD),
    ] {
        client
            .wait()
            .for_element(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    click(client, "form[action='/login'] button[type='submit']").await;
    wait_for_url(client, next, |u| u.path() == next).await;
    // The most urgent request is listed first.
    let first = text_of(client, "main table tbody tr:first-child td:first-child").await;
    assert_eq!(first, "2026-D001");
    click(client, "main table tbody tr:first-child td:first-child a").await;
    wait_for_url(client, "the request page", |u| {
        u.path().starts_with("/placement/requests/")
    })
    .await;
    let personal = text_of(client, "#personal-h").await;
    assert!(personal.contains("個人情報"), "{personal}");
    // Propose the first bed of the ranked list: a community bed, not the hub's room.
    let first_bed = text_of(client, "#whole-h + .scroll table tbody tr:first-child").await;
    assert!(
        !first_bed.contains("拠点の居室"),
        "a community bed comes first: {first_bed}"
    );
    save_screenshot(client, "placement-request.png").await;
    click(
        client,
        "#whole-h + .scroll table tbody tr:first-child form button",
    )
    .await;
    wait_for_heading(client, "施設に打診中").await;
    // The facility said yes on the phone: record it, then confirm the placement.
    click(
        client,
        "form[action$='/answer'] input[name='accept'][value='1'] ~ button",
    )
    .await;
    wait_for_heading(client, "施設が受入れ可").await;
    click(client, "form[action$='/confirm'] button").await;
    wait_for_heading(client, "入所中（確定）").await;

    client.goto(&app.url("/placement")).await.unwrap();
    let placed = client
        .find_all(Locator::Css("table.board td.placed"))
        .await
        .unwrap();
    assert_eq!(placed.len(), 3, "three nights of 2026-D001 on the board");
    let title = placed[0].attr("title").await.unwrap().unwrap_or_default();
    assert_eq!(title, "緊急入所 2026-D001");
    assert!(
        placed[0].text().await.unwrap().contains("2026-D001"),
        "hub staff see the case on the board"
    );
    client
        .execute(
            "document.querySelector('td.placed').scrollIntoView({block: 'center'})",
            vec![],
        )
        .await
        .expect("scroll to the stay");
    save_screenshot(client, "placement-board.png").await;
}

/// The invitee's side of a published meeting: the invitation in the local outbox carries a
/// personal answer link; opening it (by a mail scanner or in the browser) changes nothing, and
/// answering "a deputy will attend" through its form shows on the coordinator's meeting page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitee_answers_through_the_link_and_the_coordinator_sees_it() {
    on_the_demo_in_a_browser(
        Duration::from_secs(240),
        "the answer round trip",
        answer_through_the_link,
    )
    .await;
}

/// The deputy the invitee names and their organisation (neither is in the demo data), and a
/// message to the office.
const DEPUTY_NAME: &str = "森本 和香";
const DEPUTY_ORGANISATION: &str = "こども発達支援室すくすく";
const ANSWER_COMMENT: &str = "資料は事前に拝見します";

/// Plans the next fiscal year's Q1 of the demo through the API (the quick greedy method) and
/// publishes it, which queues an invitation per invitee with a mail address.

/// The first invitation the mail worker writes to the local outbox (the folder is empty
/// before the publication): its file name and raw message.
async fn first_invitation(outbox: &Path) -> (String, Vec<u8>) {
    let start = Instant::now();
    loop {
        // The worker writes a hidden temporary file and renames it: a listed `.eml` is whole.
        let mut names: Vec<String> = std::fs::read_dir(outbox)
            .map(|dir| {
                dir.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with("-invitation.eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        if let Some(name) = names.into_iter().next() {
            let raw = std::fs::read(outbox.join(&name)).expect("read the invitation");
            return (name, raw);
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no invitation in {} within 60 s of publishing",
            outbox.display()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The answer of one invitee as the API reports it.
async fn answer_by_api(api: &Api, occurrence: i64, person: i64) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = api
        .get_json(&format!("/api/v1/occurrences/{occurrence}/answers"))
        .await;
    rows.into_iter()
        .find(|r| r["person_id"] == person)
        .unwrap_or_else(|| panic!("person {person} is not among the answers of {occurrence}"))
}

async fn answer_through_the_link(client: &Client, app: &TestApp) {
    client
        .set_window_size(1280, 1000)
        .await
        .expect("window size");
    let admin = app
        .db()
        .user_by_username(renkei::demo::DEMO_USERNAME)
        .await
        .unwrap()
        .expect("the demo administrator");
    let token = renkei::auth::create_api_token(app.db(), &admin, "browser test")
        .await
        .unwrap();
    let api = app.api(&token);
    crate::support::plan_and_publish(&api, "2027Q1", Some("2026-11-23")).await;

    // The invitation: its answer link, the meeting (by the calendar UID) and the invitee (by
    // the recipient's address).
    let (file, raw) = first_invitation(Path::new(&app.config.outbox_dir)).await;
    let mail = smtp::parse(&raw);
    let text = mail
        .text
        .as_deref()
        .unwrap_or_else(|| panic!("{file} has no text/plain part"));
    let prefix = format!("{}/answer/", app.config.public_url);
    let at = text
        .find(&prefix)
        .unwrap_or_else(|| panic!("{file} has no answer link {prefix}…:\n{text}"));
    let answer_token: String = text[at + prefix.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert!(answer_token.len() >= 16, "{file}: token {answer_token:?}");
    let link = app.url(&format!("/answer/{answer_token}"));
    let events = smtp::parse_calendar(
        mail.calendar
            .as_deref()
            .unwrap_or_else(|| panic!("{file} has no text/calendar part")),
    );
    let uid = &events.first().expect("a VEVENT").uid;
    let rows: Vec<serde_json::Value> = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30")
        .await;
    let occurrence = rows
        .iter()
        .find(|r| r["uid"] == uid.as_str())
        .unwrap_or_else(|| panic!("{file}: no published meeting has UID {uid}"));
    let occurrence_id = occurrence["id"].as_i64().unwrap();
    let title = occurrence["title"].as_str().unwrap().to_string();
    let [recipient] = mail.to.as_slice() else {
        panic!("{file} should have one recipient: {:?}", mail.to)
    };
    let answers: Vec<serde_json::Value> = api
        .get_json(&format!("/api/v1/occurrences/{occurrence_id}/answers"))
        .await;
    let person = answers
        .iter()
        .find(|a| a["email"].as_str() == Some(recipient.as_str()))
        .unwrap_or_else(|| panic!("{recipient} is not invited to {uid}: {answers:?}"))["person_id"]
        .as_i64()
        .unwrap();
    assert!(
        occurrence["attendees"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["person_id"] == person),
        "the recipient is an attendee of {uid}: {occurrence}"
    );
    assert_eq!(
        answer_by_api(&api, occurrence_id, person).await["answer"],
        "none"
    );

    // A plain GET, as a mail scanner fetches links, shows the page and records nothing.
    let res = crate::support::client().get(&link).send().await.unwrap();
    assert_eq!(res.status(), 200, "GET {link}");
    let page = res.text().await.unwrap();
    assert!(page.contains(&title), "the answer page names {title}");
    assert_eq!(
        answer_by_api(&api, occurrence_id, person).await["answer"],
        "none",
        "a GET of the answer link must not answer"
    );

    // The invitee opens the link: the meeting, not answered yet.
    client.goto(&link).await.expect("open the answer link");
    assert_eq!(text_of(client, "#meeting-title").await, title);
    assert_eq!(text_of(client, "#current-answer").await, "未回答");
    save_screenshot(client, "answer-page.png").await;
    assert_eq!(
        answer_by_api(&api, occurrence_id, person).await["answer"],
        "none",
        "opening the answer page in a browser must not answer"
    );

    // A deputy will attend.
    click(client, "#a-deputy").await;
    for (id, value) in [
        ("deputy_name", DEPUTY_NAME),
        ("deputy_organisation", DEPUTY_ORGANISATION),
        ("comment", ANSWER_COMMENT),
    ] {
        client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"))
            .send_keys(value)
            .await
            .unwrap();
    }
    click(client, "#send").await;
    wait_for_url(client, "the saved answer", |u| {
        u.path() == format!("/answer/{answer_token}")
            && u.query().is_some_and(|q| q.starts_with("saved=1"))
    })
    .await;
    let saved = text_of(client, "#saved").await;
    assert!(saved.contains("回答を受け付けました"), "{saved}");
    assert_eq!(text_of(client, "#current-answer").await, "代理出席");
    let kept = client
        .find(Locator::Id("deputy_name"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some(DEPUTY_NAME),
        "the form shows the deputy"
    );
    save_screenshot(client, "answer-saved.png").await;
    let recorded = answer_by_api(&api, occurrence_id, person).await;
    assert_eq!(recorded["answer"], "deputy", "{recorded}");
    assert_eq!(recorded["deputy_name"], DEPUTY_NAME, "{recorded}");
    assert_eq!(
        recorded["deputy_organisation"], DEPUTY_ORGANISATION,
        "{recorded}"
    );

    // The coordinator's page of the meeting shows the answer.
    let meeting_page = format!("/meetings/occurrences/{occurrence_id}");
    log_in(client, app, &meeting_page).await;
    assert_eq!(text_of(client, "main h1").await, title);
    let row_css = format!("#answers tr[data-person='{person}']");
    let row = client
        .find(Locator::Css(&row_css))
        .await
        .unwrap_or_else(|e| panic!("{row_css}: {e}"));
    assert_eq!(
        row.attr("data-answer").await.unwrap().as_deref(),
        Some("deputy")
    );
    let row_text = row.text().await.unwrap();
    assert!(
        row_text.contains(&format!("{DEPUTY_NAME}（{DEPUTY_ORGANISATION}）")),
        "the row names the deputy: {row_text}"
    );
    assert!(row_text.contains(ANSWER_COMMENT), "{row_text}");
    let counts = text_of(client, "#answer-counts").await;
    assert!(
        counts.contains("代理の者が出席します: 1"),
        "one deputy counted: {counts}"
    );
    save_screenshot(client, "answer-coordinator.png").await;

    // The page reloads itself for new answers, but never over a half-written cancel reason.
    // The page's own timer is 30 s; a second copy of the script at 1 s shows both sides fast.
    let speed_up = r#"
        document.querySelector('[data-refresh]').setAttribute('data-refresh', '1');
        window.__before_reload = true;
        var s = document.createElement('script');
        s.src = '/static/live-refresh.js';
        document.body.appendChild(s);
    "#;
    client.execute(speed_up, vec![]).await.expect("speed up");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let reloaded = client
        .execute("return window.__before_reload === undefined;", vec![])
        .await
        .unwrap();
    assert_eq!(
        reloaded,
        serde_json::Value::Bool(true),
        "an idle page reloads"
    );
    wait_for_heading(client, &title).await;
    client.execute(speed_up, vec![]).await.expect("speed up");
    let reason = client.find(Locator::Css("#cancel-reason")).await.unwrap();
    reason.send_keys("台風のため").await.unwrap();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let kept = client
        .execute(
            "return [window.__before_reload === true, document.getElementById('cancel-reason').value];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        kept,
        serde_json::json!([true, "台風のため"]),
        "no reload while a form has input"
    );
}

/// The coordinator records last summer's case verification as held on the meeting's page, and
/// the indicator dashboard shows it: the chart (an SVG with a bar per figure, each with its
/// number), the table's actual figure, the drill-down, and the printable annual report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_a_meeting_and_read_the_indicator_dashboard() {
    on_the_demo_in_a_browser(
        Duration::from_secs(240),
        "the indicator round trip",
        record_and_read_indicators,
    )
    .await;
}

async fn record_and_read_indicators(client: &Client, app: &TestApp) {
    client
        .set_window_size(1280, 1400)
        .await
        .expect("window size");
    let admin = app
        .db()
        .user_by_username(renkei::demo::DEMO_USERNAME)
        .await
        .unwrap()
        .expect("the demo administrator");
    let token = renkei::auth::create_api_token(app.db(), &admin, "browser test")
        .await
        .unwrap();
    let api = app.api(&token);
    // Last summer's verifications, planned then and published.
    let (id, _) =
        crate::meetings::plan_history(app, &api, "2026-07-01", "2026-09-30", &["VERIFICATION"])
            .await;
    let res = api
        .post_json(&format!("/api/v1/plans/{id}/publish"), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let occs: serde_json::Value = api
        .get_json("/api/v1/occurrences?from=2026-07-01&to=2026-09-30")
        .await;
    let occ = occs[0]["id"].as_i64().expect("a published verification");

    log_in(client, app, &format!("/meetings/occurrences/{occ}")).await;
    // Held (the default choice), everyone invited came, with the minutes link.
    for el in client
        .find_all(Locator::Css("#record input[name='came']"))
        .await
        .unwrap()
    {
        if !el.is_selected().await.unwrap() {
            el.click().await.unwrap();
        }
    }
    client
        .find(Locator::Id("rec-minutes"))
        .await
        .unwrap()
        .send_keys("https://example.jp/minutes/verification-1")
        .await
        .unwrap();
    click(client, "#record button[type='submit']").await;
    wait_for_url(client, "the meeting page again", |u| {
        u.query().is_some_and(|q| q.contains("recorded=1"))
    })
    .await;
    assert!(
        text_of(client, "#record-state").await.contains("開催"),
        "the record shows on the meeting's page"
    );

    client
        .goto(&app.url("/indicators?fiscal_year=2026"))
        .await
        .unwrap();
    let actual = text_of(
        client,
        "#indicator-table tr[data-indicator='VERIFICATIONS'] td[data-figure='actual']",
    )
    .await;
    assert_eq!(actual, "1", "one verification held");
    let target = text_of(
        client,
        "#indicator-table tr[data-indicator='VERIFICATIONS'] td[data-figure='target']",
    )
    .await;
    assert!(target.starts_with("24"), "{target}");
    // The chart: four bars per indicator, each labelled with its figure (not colour alone).
    let bars = client
        .find_all(Locator::Css(
            "#indicator-chart g[data-indicator='VERIFICATIONS'] rect",
        ))
        .await
        .unwrap();
    assert_eq!(bars.len(), 4);
    let labels = client
        .find(Locator::Css(
            "#indicator-chart g[data-indicator='VERIFICATIONS']",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for word in ["目標 24", "実績 1"] {
        assert!(labels.contains(word), "{word} in {labels:?}");
    }
    save_screenshot(client, "indicators.png").await;

    // Drill down to the meetings that count.
    click(
        client,
        "#indicator-table tr[data-indicator='VERIFICATIONS'] a",
    )
    .await;
    let state = text_of(
        client,
        &format!("#drill tr[data-occurrence='{occ}'] td:nth-child(3)"),
    )
    .await;
    assert_eq!(state, "開催");

    // The printable annual report carries the same figure.
    client
        .goto(&app.url("/reports/annual?fiscal_year=2026"))
        .await
        .unwrap();
    let actual = text_of(
        client,
        "#report-indicators tr[data-indicator='VERIFICATIONS'] td[data-figure='actual']",
    )
    .await;
    assert_eq!(actual, "1");
}

// ---------------------------------------------------------------------------------------------
// The vacancy board as one grid, and the navigation on one line at 1280 px.

/// The height of the whole document (what a reader scrolls through), in CSS pixels.
async fn page_height(client: &Client) -> i64 {
    client
        .execute(
            "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight);",
            vec![],
        )
        .await
        .expect("page height")
        .as_i64()
        .expect("a number")
}

/// A Chromium DevTools command through ChromeDriver's `goog/cdp/execute` endpoint.
#[derive(Debug)]
struct DevTools {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// Renders the page as for `media` ("print"; "" for the screen again).
async fn emulate_media(client: &Client, media: &str) {
    client
        .issue_cmd(DevTools {
            cmd: "Emulation.setEmulatedMedia",
            params: json!({ "media": media }),
        })
        .await
        .unwrap_or_else(|e| panic!("emulate {media:?} media: {e}"));
}

/// Logs `username` (password [`renkei::demo::DEMO_PASSWORD`] or `password`) in through the form
/// and waits for `next`.
async fn log_in_as(client: &Client, app: &TestApp, username: &str, password: &str, next: &str) {
    // Forget the previous session (on a blank start page there is nothing to forget).
    let _ = client.delete_all_cookies().await;
    let login: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    client
        .goto(&app.url(&format!("/login?{login}")))
        .await
        .expect("open the login page");
    for (id, value) in [("username", username), ("password", password)] {
        client
            .wait()
            .for_element(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    click(client, "form[action='/login'] button[type='submit']").await;
    let path = next.split('?').next().unwrap().to_string();
    wait_for_url(client, next, |u| u.path() == path).await;
}

/// The navigation's top items all stand on one line (the same top), and the nav is one line
/// high; returns the nav's height.
async fn assert_nav_on_one_line(client: &Client, what: &str) -> f64 {
    let out = client
        .execute(
            "const items = Array.from(document.querySelectorAll('nav.nav > ul > li'));
             return [items.length, new Set(items.map(li => Math.round(li.getBoundingClientRect().top))).size,
                     document.querySelector('nav.nav').getBoundingClientRect().height,
                     parseFloat(getComputedStyle(document.querySelector('nav.nav a')).lineHeight)];",
            vec![],
        )
        .await
        .expect("nav geometry");
    let items = out[0].as_u64().unwrap();
    let lines = out[1].as_u64().unwrap();
    let height = out[2].as_f64().unwrap();
    let line = out[3].as_f64().unwrap();
    assert!(items >= 7, "{what}: {items} nav items");
    assert_eq!(
        lines, 1,
        "{what}: the nav's {items} items stand on {lines} lines"
    );
    // One line of text plus the links' padding (.5em above and below) and the border.
    assert!(
        height < line * 2.0,
        "{what}: the nav is {height} px high, more than one line ({line} px a line)"
    );
    height
}

/// Hub staff read the demo's vacancy board at 1280 px: one grid (one table), its night header
/// and bed column stay in view while it scrolls, the labels do not break inside names, the
/// region scrolls from the keyboard, the print stylesheet turns it into A4 landscape pages; the
/// page's height is printed (the old board of cards was 13,241 px). The navigation fits one
/// line in both languages and its menus open from the keyboard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vacancy_board_is_one_grid_and_the_nav_one_line() {
    on_the_demo_in_a_browser(
        Duration::from_secs(180),
        "the vacancy board",
        read_the_board,
    )
    .await;
}

async fn read_the_board(client: &Client, app: &TestApp) {
    client
        .set_window_size(1280, 1000)
        .await
        .expect("window size");
    log_in_as(
        client,
        app,
        renkei::demo::placement::DEMO_HUB_USERNAME,
        renkei::demo::DEMO_PASSWORD,
        "/placement",
    )
    .await;
    let height = page_height(client).await;
    let tables = client
        .find_all(Locator::Css("main table"))
        .await
        .unwrap()
        .len();
    println!(
        "vacancy board (demo, 14 nights, 1280 px): page height {height} px, {tables} table(s)"
    );
    save_screenshot(client, "board-grid.png").await;
    assert_eq!(tables, 1, "the board is one grid");
    assert!(
        height <= 2000,
        "the board page is {height} px tall; the grid scrolls in its own region"
    );
    let region = client
        .find(Locator::Css(".board-scroll"))
        .await
        .expect("the grid's scroll region");
    assert_eq!(region.attr("tabindex").await.unwrap().as_deref(), Some("0"));
    assert_eq!(
        region.attr("role").await.unwrap().as_deref(),
        Some("region")
    );
    assert!(!region
        .attr("aria-label")
        .await
        .unwrap()
        .unwrap_or_default()
        .is_empty());
    // Each of the demo's facilities (the hub's, five short stays, five group homes) is a group of rows, with its rooms and beds under it.
    let facilities = client
        .find_all(Locator::Css("table.board tr.fac"))
        .await
        .unwrap()
        .len();
    assert_eq!(facilities, 11, "the demo's 11 facilities");
    // No name breaks inside: every room and bed name is one line box (one client rect), and
    // the hub's emergency room keeps its name on one line.
    let broken: Vec<serde_json::Value> = client
        .execute(
            "return Array.from(document.querySelectorAll('table.board .nm, table.board .fac-name'))
                 .filter(e => e.getClientRects().length > 1).map(e => e.textContent);",
            vec![],
        )
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    assert!(broken.is_empty(), "names broken over lines: {broken:?}");
    let widest = client
        .execute(
            "const e = Array.from(document.querySelectorAll('table.board th.bed .nm')).find(e => e.textContent.includes('緊急用居室'));
             const r = e.getBoundingClientRect(); return [r.width, r.height, parseFloat(getComputedStyle(e).lineHeight)];",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        widest[1].as_f64().unwrap() < widest[2].as_f64().unwrap() * 1.5,
        "緊急用居室 stands on one line: {widest}"
    );
    // Keyboard: focus the region and page down and right; it scrolls.
    region
        .send_keys(&format!(
            "{}{}{}",
            char::from(fantoccini::key::Key::PageDown),
            char::from(fantoccini::key::Key::End),
            char::from(fantoccini::key::Key::Right)
        ))
        .await
        .expect("keys to the region");
    // Keyboard scrolling is animated: wait for it (up to 3 s).
    let start = Instant::now();
    let scrolled = loop {
        let scrolled = client
            .execute(
                "const r = document.querySelector('.board-scroll');
                 return [document.activeElement === r, r.scrollTop, r.scrollHeight > r.clientHeight];",
                vec![],
            )
            .await
            .unwrap();
        if scrolled[1].as_f64().unwrap_or(0.0) > 0.0 || start.elapsed() > Duration::from_secs(3) {
            break scrolled;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(scrolled[0], true, "the region has the focus: {scrolled}");
    assert_eq!(
        scrolled[2], true,
        "the grid is taller than its region: {scrolled}"
    );
    assert!(
        scrolled[1].as_f64().unwrap() > 0.0,
        "PageDown scrolled the region: {scrolled}"
    );
    save_screenshot(client, "board-grid-keyboard.png").await;
    // Sticky: a month of nights is wider than the window; scrolled down and right, the night
    // header still sits at the region's top and the bed column at its left.
    client.goto(&app.url("/placement?days=31")).await.unwrap();
    let sticky = client
        .execute(
            "const r = document.querySelector('.board-scroll');
             r.scrollTop = r.scrollHeight; r.scrollLeft = 300;
             const top = r.getBoundingClientRect();
             const head = document.querySelector('table.board thead th.night').getBoundingClientRect();
             const rows = Array.from(document.querySelectorAll('table.board th.bed'));
             const last = rows[rows.length - 1].getBoundingClientRect();
             r.scrollIntoView();
             return [Math.round(head.top - top.top), Math.round(last.left - top.left), r.scrollLeft, r.scrollTop];",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        sticky[0].as_f64().unwrap().abs() <= 2.0,
        "the night header stays at the top: {sticky}"
    );
    assert!(
        sticky[1].as_f64().unwrap().abs() <= 2.0,
        "the bed column stays at the left: {sticky}"
    );
    assert!(
        sticky[2].as_f64().unwrap() > 0.0 && sticky[3].as_f64().unwrap() > 0.0,
        "the region scrolled right and down: {sticky}"
    );
    save_screenshot(client, "board-grid-scrolled.png").await;
    // Only the grid scrolls sideways, never the page.
    let wide = client
        .execute(
            "const w = document.documentElement.clientWidth;
             const out = Array.from(document.querySelectorAll('body *'))
               .filter(e => !e.closest('.board-scroll') && e.getBoundingClientRect().right > w + 1)
               .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
             return [document.documentElement.scrollWidth, w, out.slice(0, 10)];",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        wide[0].as_f64().unwrap() <= wide[1].as_f64().unwrap(),
        "the page scrolls sideways (scroll width, window width, elements past the edge): {wide}"
    );
    // The legend shows each symbol on its colour, with its word.
    let legend = text_of(client, "ul.legend").await;
    for word in [
        "○ 空き",
        "？ 空き（未確認）",
        "△ 仮押さえ",
        "● 緊急入所",
        "× 利用中",
    ] {
        assert!(legend.contains(word), "{word} in the legend: {legend}");
    }
    // Print: an A4 landscape page rule, and the grid unrolled (no scroll region, nothing sticky).
    let print = client
        .execute(
            "const rules = [];
             for (const s of document.styleSheets) for (const r of s.cssRules)
               if (r.media && Array.from(r.media).includes('print')) for (const x of r.cssRules) rules.push(x.cssText);
             return rules.join('\\n');",
            vec![],
        )
        .await
        .unwrap();
    let print = print.as_str().unwrap().to_lowercase();
    assert!(print.contains("size: a4 landscape"), "{print}");
    assert!(
        print.contains(".board-scroll { overflow: visible; max-height: none;"),
        "{print}"
    );

    // Rendered for print, the grid of 14 nights, and of a month, fits the width of an A4
    // landscape page (297 mm less the 10 mm margins: 277 mm, 1,047 CSS px) and is one
    // unrolled table.
    for (path, nights) in [("/placement", 14), ("/placement?days=31", 31)] {
        client.goto(&app.url(path)).await.unwrap();
        emulate_media(client, "print").await;
        let printed = client
            .execute(
                "const r = document.querySelector('.board-scroll');
                 const t = document.querySelector('table.board');
                 return [t.getBoundingClientRect().width, getComputedStyle(r).overflowY,
                         getComputedStyle(document.querySelector('table.board thead th')).position,
                         getComputedStyle(document.querySelector('nav.nav')).display,
                         getComputedStyle(document.querySelector('form.board-filters')).display];",
                vec![],
            )
            .await
            .unwrap();
        if nights == 31 {
            save_screenshot(client, "board-print-31-nights.png").await;
        }
        emulate_media(client, "").await;
        println!(
            "vacancy board printed, {nights} nights: table {} px wide (A4 landscape: 1047 px)",
            printed[0]
        );
        assert!(
            printed[0].as_f64().unwrap() <= 1047.0,
            "the printed grid of {nights} nights is wider than A4 landscape: {printed}"
        );
        assert_eq!(
            printed,
            json!([printed[0], "visible", "static", "none", "none"]),
            "printed: unrolled, nothing sticky, no menu or filters"
        );
    }

    // The navigation: one line at 1280 px, for the administrator (who has every item) in both
    // languages; its menus open and are followed from the keyboard.
    log_in_as(
        client,
        app,
        renkei::demo::DEMO_USERNAME,
        renkei::demo::DEMO_PASSWORD,
        "/placement",
    )
    .await;
    let ja = assert_nav_on_one_line(client, "Japanese, 1280 px").await;
    save_screenshot(client, "nav-ja.png").await;
    client
        .goto(&app.url("/lang/en?next=%2Fplacement"))
        .await
        .unwrap();
    wait_for_heading(client, "Vacancy board").await;
    let en = assert_nav_on_one_line(client, "English, 1280 px").await;
    println!("navigation at 1280 px: {ja} px high in Japanese, {en} px in English");
    let summary = client
        .find(Locator::Css("nav.nav details summary"))
        .await
        .unwrap();
    // Space on a focused summary toggles it; WebDriver's element send_keys focuses it first.
    summary.send_keys(" ").await.unwrap();
    let open = client
        .execute(
            "return document.querySelector('nav.nav details').open;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(open, true, "the menu opens from the keyboard");
    save_screenshot(client, "nav-en-open.png").await;
    // Escape closes it and leaves the focus on its button (static/nav.js); Space opens it again.
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(&char::from(fantoccini::key::Key::Escape).to_string())
        .await
        .unwrap();
    let closed = client
        .execute(
            "const d = document.querySelector('nav.nav details');
             return [d.open, document.activeElement === d.querySelector('summary')];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(closed, json!([false, true]), "Escape closes the menu");
    summary.send_keys(" ").await.unwrap();
    client
        .execute(
            "document.querySelector('nav.nav details ul a').focus();",
            vec![],
        )
        .await
        .unwrap();
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
        .await
        .unwrap();
    wait_for_url(client, "the first master-data list", |u| {
        u.path() == "/master/organisations"
    })
    .await;
}

/// A generated municipality of 2,000 beds (the engine's benchmark generator, four weeks of
/// bookings) loaded through the store; returns the number of facilities.
async fn load_2000_beds(db: &renkei::store::Db, user: &renkei::store::tenancy::User) -> usize {
    use renkei::placement::{BedInput, FacilityInput, RoomInput, ValidOccupancy};
    use renkei_solver::placement::generate;
    use renkei_solver::placement::model::Nights;
    let inst = generate::instance(2000, 28, 10, 7);
    for f in &inst.facilities {
        let org = format!("ORG-{}", f.id);
        sqlx::query("INSERT INTO organisations (municipality_id, code, name, kind, created_at, updated_at) VALUES ($1, $2, $3, 'short_stay', '', '')")
            .bind(user.municipality_id.0)
            .bind(&org)
            .bind(&f.name)
            .execute(&db.pool)
            .await
            .unwrap();
        let rooms: Vec<_> = inst.rooms.iter().filter(|r| r.facility == f.id).collect();
        let input = FacilityInput {
            code: format!("F-{}", f.id),
            organisation: org,
            name: f.name.clone(),
            kind: renkei::placement::slug(&f.kind),
            x_km: f.location.x_km,
            y_km: f.location.y_km,
            disability_types: f
                .disability_types
                .iter()
                .map(renkei::placement::slug)
                .collect(),
            adults: f.adults,
            children: f.children,
            medical_care: f.medical_care.iter().map(renkei::placement::slug).collect(),
            behavioural_support: f.behavioural_support,
            night_staff: f.night_staff,
            contact_email: String::new(),
            rooms: rooms
                .iter()
                .map(|r| RoomInput {
                    name: r.name.clone(),
                    sex_policy: renkei::placement::slug(&r.sex_policy),
                    beds: inst
                        .beds
                        .iter()
                        .filter(|b| b.room == r.id)
                        .map(|b| BedInput {
                            name: b.name.clone(),
                            wheelchair: b.wheelchair,
                        })
                        .collect(),
                })
                .collect(),
        };
        let valid = input.parse().unwrap_or_else(|e| panic!("{e:?}"));
        let id = db.create_facility(user, &valid).await.unwrap();
        let row = db.facility(user.municipality_id, id).await.unwrap();
        // Beds are created in the order given, so they pair up with the generator's.
        let generated: Vec<u32> = rooms
            .iter()
            .flat_map(|r| inst.beds.iter().filter(|b| b.room == r.id).map(|b| b.id))
            .collect();
        let mut items = Vec::new();
        for ((_, bed), gid) in row.beds().zip(generated) {
            let mut nights: Vec<_> = inst.taken.iter().filter(|t| t.bed == gid).collect();
            nights.sort_by_key(|t| t.night);
            for t in nights {
                items.push(ValidOccupancy {
                    bed_id: bed.id,
                    nights: Nights::new(t.night, t.night.succ_opt().unwrap()),
                    occupied: true,
                    sex: t.sex,
                });
            }
        }
        db.set_occupancy(
            user.municipality_id,
            renkei::store::placement::Actor::User(user),
            id,
            &items,
        )
        .await
        .unwrap();
    }
    inst.facilities.len()
}

/// A municipality with 2,000 beds: the board answers a page of facilities at a time; the time
/// to answer, the page's size and height are printed, and bounded so that it stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_of_2000_beds_stays_usable() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let t = crate::support::tenant(app.db(), "big").await;
    app.db()
        .create_user(
            t.id,
            "big-hub",
            "大規模 拠点",
            &renkei::auth::hash_password(crate::support::PASSWORD).unwrap(),
            renkei::auth::Role::HubStaff,
        )
        .await
        .unwrap();
    let hub = app.db().user_by_username("big-hub").await.unwrap().unwrap();
    let started = Instant::now();
    let facilities = load_2000_beds(app.db(), &hub).await;
    println!(
        "2,000 beds in {facilities} facilities loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let pages = facilities.div_ceil(renkei::web::BOARD_PAGE_FACILITIES);
    let web = crate::support::logged_in_client(&app, "big-hub").await;
    let from = renkei_solver::placement::generate::first_night();
    for (q, what) in [("", "first page"), ("&sex=female&wheelchair=1", "filtered")] {
        let url = app.url(&format!("/placement?from={from}&days=14{q}"));
        // The first answer warms the connection and the templates; the second is timed.
        let _ = crate::support::get_text(&web, &url).await;
        let t0 = Instant::now();
        let res = crate::support::get_page(&web, &url).await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        let took = t0.elapsed();
        let rows = html.matches("<th scope=\"row\" class=\"bed\">").count();
        println!(
            "2,000-bed board, {what}, 14 nights: answered in {} ms, {} KiB of HTML, {rows} bed rows of {} facilities, {pages} pages",
            took.as_millis(),
            html.len() / 1024,
            html.matches("<tr class=\"fac\">").count()
        );
        assert!(html.len() < 1024 * 1024, "{} bytes", html.len());
        assert!(took < Duration::from_secs(5), "{what} took {took:?}");
        assert!(
            html.contains("rel=\"next\""),
            "a link to the next facilities"
        );
    }
    let driver = ChromeDriver::start();
    let client = connect(&driver).await;
    let result = tokio::time::timeout(Duration::from_secs(120), async {
        client.set_window_size(1280, 1000).await.unwrap();
        let next = format!("/placement?from={from}&days=14");
        log_in_as(&client, &app, "big-hub", crate::support::PASSWORD, &next).await;
        for (page, shot) in [(1, "board-2000-beds.png"), (pages, "board-2000-beds-last.png")] {
            let t0 = Instant::now();
            client
                .goto(&app.url(&format!("{next}&page={page}")))
                .await
                .unwrap();
            let load = t0.elapsed();
            let height = page_height(&client).await;
            let grid = client
                .execute(
                    "return document.querySelector('.board-scroll').scrollHeight;",
                    vec![],
                )
                .await
                .unwrap();
            println!(
                "2,000-bed board in the browser, page {page} of {pages}: loaded in {} ms, page height {height} px, grid {grid} px inside its region",
                load.as_millis()
            );
            save_screenshot(&client, shot).await;
            assert!(height <= 2000, "page {page}: page height {height} px");
        }
    })
    .await;
    let _ = client.close().await;
    drop(driver);
    result.expect("the 2,000-bed board in the browser took more than 2 minutes");
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Accessibility as a test: axe-core on every page, for every role.

/// axe-core 4.14.1 by Deque Systems (npm `axe-core`), vendored unmodified under its licence,
/// MPL-2.0, which allows shipping the file as is with its notice (`tests/support/axe/`).
const AXE_SOURCE: &str = include_str!("support/axe/axe.min.js");

/// The rules of WCAG 2.0 and 2.1, levels A and AA.
const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// One axe violation on one page.
struct Violation {
    page: String,
    role: String,
    rule: String,
    impact: String,
    help: String,
    nodes: u64,
    targets: Vec<String>,
}

/// Runs axe-core on the current document and returns its violations. The script is injected
/// through WebDriver, which the page's Content-Security-Policy does not govern.
async fn axe_violations(client: &Client, page: &str, role: &str) -> Vec<Violation> {
    let loaded = client
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .expect("ask for axe");
    if loaded != json!(true) {
        let script = [AXE_SOURCE, "\n;return typeof window.axe;"].concat();
        let kind = client
            .execute(&script, vec![])
            .await
            .unwrap_or_else(|e| panic!("inject axe-core into {page}: {e}"));
        assert_eq!(kind, "object", "axe-core did not load on {page}");
    }
    let out = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag', values: arguments[0] }, resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact || 'none', help: v.help,
                      nodes: v.nodes.length, targets: v.nodes.slice(0, 6).map(n => n.target.join(' ')) }))))
               .catch(e => done({ error: String(e) }));",
            vec![json!(AXE_TAGS)],
        )
        .await
        .unwrap_or_else(|e| panic!("axe.run on {page}: {e}"));
    let Some(list) = out.as_array() else {
        panic!("axe.run failed on {page}: {out}")
    };
    list.iter()
        .map(|v| Violation {
            page: page.to_string(),
            role: role.to_string(),
            rule: v["id"].as_str().unwrap_or_default().to_string(),
            impact: v["impact"].as_str().unwrap_or_default().to_string(),
            help: v["help"].as_str().unwrap_or_default().to_string(),
            nodes: v["nodes"].as_u64().unwrap_or_default(),
            targets: v["targets"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// The route a link leads to, with ids as `{n}` and query values dropped (`/placement/requests/{n}`,
/// `/calendar?fy`): each is checked once per role.
fn route_of(url: &url::Url) -> String {
    let path: Vec<String> = url
        .path_segments()
        .map(|s| {
            s.map(|seg| {
                if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) {
                    "{n}".to_string()
                } else {
                    seg.to_string()
                }
            })
            .collect()
        })
        .unwrap_or_default();
    let mut keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    keys.sort();
    keys.dedup();
    format!("/{}?{}", path.join("/"), keys.join("&"))
}

/// Links the crawl does not follow: downloads (CSV, XLSX, iCalendar, raw mail), the language
/// switch and logging out (they change the session), the API and static files.
fn is_page_link(url: &url::Url) -> bool {
    let p = url.path();
    !(p.starts_with("/api/")
        || p.starts_with("/static/")
        || p.starts_with("/lang/")
        || p.starts_with("/feeds/")
        || p == "/logout"
        || p.ends_with("/export")
        || p.ends_with("/message")
        || p.ends_with(".ics")
        || url.query_pairs().any(|(k, v)| k == "format" && v != "html"))
}

/// Every page `role` reaches by links from `start` (one per route), each checked by axe.
async fn axe_every_page(
    client: &Client,
    app: &TestApp,
    role: &str,
    start: &[&str],
    found: &mut Vec<Violation>,
) -> usize {
    let origin = url::Url::parse(&app.url("/")).unwrap().origin();
    let mut queue: std::collections::VecDeque<String> =
        start.iter().map(|s| s.to_string()).collect();
    let mut seen: std::collections::HashSet<String> = queue
        .iter()
        .map(|s| route_of(&url::Url::parse(&app.url(s)).unwrap()))
        .collect();
    let mut pages = 0;
    while let Some(path) = queue.pop_front() {
        client.goto(&app.url(&path)).await.unwrap();
        let url = client.current_url().await.unwrap();
        assert_ne!(
            url.path(),
            "/login",
            "{role}: {path} sent the browser to the login page"
        );
        found.extend(axe_violations(client, &path, role).await);
        pages += 1;
        assert!(
            pages <= 120,
            "{role}: more than 120 routes; is the crawl looping?"
        );
        let links = client
            .execute(
                "return Array.from(document.querySelectorAll('a[href]'), a => a.href);",
                vec![],
            )
            .await
            .unwrap();
        for link in links.as_array().unwrap() {
            let Ok(mut next) = url::Url::parse(link.as_str().unwrap_or_default()) else {
                continue;
            };
            next.set_fragment(None);
            if next.origin() != origin || !is_page_link(&next) {
                continue;
            }
            if seen.insert(route_of(&next)) {
                let mut target = next.path().to_string();
                if let Some(q) = next.query() {
                    target = format!("{target}?{q}");
                }
                queue.push_back(target);
            }
        }
    }
    pages
}

/// axe-core (WCAG 2.0/2.1 A and AA) on every page each role reaches from the home page by
/// links (administrator, coordinator, hub staff, viewer), on the login and error pages, on an
/// invitee's answer page and on a facility's no-login page. Any serious or critical
/// violation fails the test with its page, rule, impact and elements.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_no_serious_violation_on_any_page_for_any_role() {
    on_the_demo_in_a_browser(
        Duration::from_secs(900),
        "axe on every page",
        axe_on_the_demo,
    )
    .await;
}

async fn axe_on_the_demo(client: &Client, app: &TestApp) {
    client
        .set_window_size(1280, 1000)
        .await
        .expect("window size");
    let db = app.db();
    let admin = db
        .user_by_username(renkei::demo::DEMO_USERNAME)
        .await
        .unwrap()
        .expect("the demo administrator");
    let hash = renkei::auth::hash_password(renkei::demo::DEMO_PASSWORD).unwrap();
    for (username, role) in [
        ("axe-coordinator", renkei::auth::Role::Coordinator),
        ("axe-viewer", renkei::auth::Role::Viewer),
    ] {
        db.create_user(admin.municipality_id, username, username, &hash, role)
            .await
            .unwrap();
    }
    // A published quarter, so that plan, meeting and answer pages exist.
    let token = renkei::auth::create_api_token(db, &admin, "axe")
        .await
        .unwrap();
    let api = app.api(&token);
    crate::support::plan_and_publish(&api, "2027Q1", Some("2026-11-23")).await;
    let facility_url = {
        let facilities: Vec<serde_json::Value> = api.get_json("/api/v1/placement/facilities").await;
        let id = facilities[0]["id"].as_i64().unwrap();
        let link: serde_json::Value = api
            .post_json(
                &format!("/api/v1/placement/facilities/{id}/link"),
                &json!({}),
            )
            .await
            .json()
            .await
            .unwrap();
        let url = link["url"].as_str().expect("a facility link").to_string();
        url[url.find("/facility/").unwrap()..].to_string()
    };

    let mut found = Vec::new();
    let mut checked: Vec<(String, usize)> = Vec::new();
    for (role, username) in [
        ("admin", renkei::demo::DEMO_USERNAME),
        ("coordinator", "axe-coordinator"),
        ("hub_staff", renkei::demo::placement::DEMO_HUB_USERNAME),
        ("viewer", "axe-viewer"),
    ] {
        log_in_as(client, app, username, renkei::demo::DEMO_PASSWORD, "/").await;
        let pages = axe_every_page(client, app, role, &["/"], &mut found).await;
        checked.push((role.to_string(), pages));
    }
    // An administrator's pages in English too (the words differ, so may the problems).
    log_in_as(
        client,
        app,
        renkei::demo::DEMO_USERNAME,
        renkei::demo::DEMO_PASSWORD,
        "/",
    )
    .await;
    // The navigation's menus open (closed, axe does not look inside them).
    client
        .execute(
            "document.querySelectorAll('nav.nav details').forEach(d => d.open = true);",
            vec![],
        )
        .await
        .unwrap();
    found.extend(axe_violations(client, "/ (menus open)", "admin").await);
    checked.push(("admin, menus open".to_string(), 1));
    client.goto(&app.url("/lang/en?next=%2F")).await.unwrap();
    let pages = axe_every_page(client, app, "admin (English)", &["/"], &mut found).await;
    checked.push(("admin (English)".to_string(), pages));

    // No login: the login page, an unknown page, the invitee's answer page, the facility's page.
    client.delete_all_cookies().await.unwrap();
    let (_, raw) = first_invitation(Path::new(&app.config.outbox_dir)).await;
    let text = smtp::parse(&raw).text.expect("the invitation's text");
    let at = text.find("/answer/").expect("an answer link");
    let answer: String = text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '>')
        .collect();
    let mut anonymous = 0;
    for path in ["/login", "/no-such-page", &answer, &facility_url] {
        client.goto(&app.url(path)).await.unwrap();
        let shown = if path.starts_with("/answer/") {
            "/answer/{token}"
        } else if path.starts_with("/facility/") {
            "/facility/{token}"
        } else {
            path
        };
        found.extend(axe_violations(client, shown, "no login").await);
        anonymous += 1;
    }
    checked.push(("no login".to_string(), anonymous));

    // The figures, then the serious and critical violations in full.
    let total: usize = checked.iter().map(|(_, n)| n).sum();
    println!(
        "axe-core {} (WCAG 2.0/2.1 A, AA): {total} page checks",
        json!(AXE_TAGS)
    );
    for (role, n) in &checked {
        println!("  {role}: {n} pages");
    }
    for impact in ["critical", "serious", "moderate", "minor"] {
        let of: Vec<&Violation> = found.iter().filter(|v| v.impact == impact).collect();
        let nodes: u64 = of.iter().map(|v| v.nodes).sum();
        println!("  {impact}: {} violations on {} elements", of.len(), nodes);
    }
    let mut report = String::new();
    for v in &found {
        report.push_str(&format!(
            "\n  [{}] {} ({}) on {} as {}: {} element(s): {}",
            v.impact,
            v.rule,
            v.help,
            v.page,
            v.role,
            v.nodes,
            v.targets.join(" | ")
        ));
    }
    if !report.is_empty() {
        println!("axe violations:{report}");
    }
    let serious: Vec<&Violation> = found
        .iter()
        .filter(|v| v.impact == "serious" || v.impact == "critical")
        .collect();
    assert!(
        serious.is_empty(),
        "{} serious or critical axe violations (all listed above):{}",
        serious.len(),
        serious
            .iter()
            .map(|v| format!(
                "\n  [{}] {} on {} as {}: {}",
                v.impact,
                v.rule,
                v.page,
                v.role,
                v.targets.join(" | ")
            ))
            .collect::<String>()
    );
}
