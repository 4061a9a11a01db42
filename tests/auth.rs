//! Logins, sessions, CSRF protection, the login rate limit and roles on the pages.

use crate::both_engines;
use crate::support::{
    client, csrf_token, get_page, get_text, logged_in_client, login, post_form, tenant, Engine,
    TestApp, PASSWORD,
};

async fn login_sessions_and_csrf(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    tenant(app.db(), "alpha").await;

    // Pages need a session: the visitor is sent to the login page and back afterwards.
    let c = client();
    let res = get_page(&c, &app.url("/master/people?q=x")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/login?next=%2Fmaster%2Fpeople%3Fq%3Dx"
    );

    // Wrong password: the form comes back with a message, no session.
    let res = login(&c, &app, "alpha-coordinator", "wrong password", None).await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("ユーザー名またはパスワードが違います"));

    // A login form without the matching CSRF cookie is refused.
    let res = client()
        .post(app.url("/login"))
        .form(&[
            ("username", "alpha-coordinator"),
            ("password", PASSWORD),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // A real login: cookie flags, the page, then a CSRF-protected write.
    let res = login(
        &c,
        &app,
        "alpha-coordinator",
        PASSWORD,
        Some("/master/people"),
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/master/people");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("renkei_session="))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let new_org = app.url("/master/organisations/new");
    let csrf = csrf_token(&c, &new_org).await;
    let fields = [
        ("code", "O-1"),
        ("name", "相談支援事業所そら"),
        ("kind", "consultation_office"),
    ];
    let res = post_form(&c, &new_org, &fields).await;
    assert_eq!(res.status(), 403, "missing CSRF token");
    let mut with_csrf = fields.to_vec();
    with_csrf.push(("csrf", &csrf));
    let res = post_form(&c, &new_org, &with_csrf).await;
    assert_eq!(res.status(), 303);
    let list = get_text(&c, &app.url("/master/organisations?q=そら")).await;
    assert!(list.contains("相談支援事業所そら"));

    // Invalid form input comes back with the fields marked and a summary linking to them.
    let bad = [
        ("code", "O 2"),
        ("name", ""),
        ("kind", "hub"),
        ("csrf", &csrf),
    ];
    let res = post_form(&c, &new_org, &bad).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("href=\"#f-code\"") && html.contains("aria-invalid=\"true\""),
        "{html}"
    );
    assert!(html.contains("value=\"O 2\""), "the user's input is kept");

    // HTML is escaped: a name with markup is shown as text.
    let xss = [
        ("code", "O-3"),
        ("name", "<script>alert(1)</script>"),
        ("kind", "other"),
        ("csrf", &csrf),
    ];
    post_form(&c, &new_org, &xss).await;
    let list = get_text(&c, &app.url("/master/organisations")).await;
    assert!(!list.contains("<script>alert(1)</script>") && list.contains("&lt;script&gt;"));

    // Logout ends the session on the server.
    let res = post_form(&c, &app.url("/logout"), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(get_page(&c, &app.url("/")).await.status(), 303);
    app.stop().await;
}
both_engines!(login_sessions_and_csrf);

/// A browser-like client whose requests come, through the trusted proxy 127.0.0.1, from
/// `address`.
fn client_from(address: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", address.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Failed logins slow down the address they came from, with growing delays and Retry-After;
/// the owner logging in from another address is never refused, not even while a stranger
/// keeps guessing.
async fn login_attempts_are_throttled_per_address(engine: Engine) {
    let test_db = crate::support::TestDb::new(engine).await;
    let app = TestApp::configured(test_db, |c| c.trusted_proxies = "127.0.0.1".into()).await;
    tenant(app.db(), "alpha").await;
    let stranger = client_from("203.0.113.66");
    for _ in 0..renkei::auth::FREE_FAILURES {
        let res = login(&stranger, &app, "alpha-admin", "guess", None).await;
        assert_eq!(res.status(), 400);
    }
    // The next attempt from that address must wait, right password or not (not even checked).
    let res = login(&stranger, &app, "alpha-admin", PASSWORD, None).await;
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(wait, 1, "the first delay is one second");
    assert!(res.text().await.unwrap().contains("試行回数が多すぎます"));
    // The owner, from their own address, logs in at once.
    let owner = client_from("198.51.100.7");
    let res = login(&owner, &app, "alpha-admin", PASSWORD, Some("/")).await;
    assert_eq!(res.status(), 303, "the owner is not locked out");
    // The stranger's delays grow: after waiting, one more failure doubles the wait.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let res = login(&stranger, &app, "alpha-admin", "guess-again", None).await;
    assert_eq!(res.status(), 400);
    let res = login(&stranger, &app, "alpha-admin", "guess-3", None).await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "2");
    // Without a trusted proxy the header is not believed: every client is the peer itself.
    let other_db = crate::support::TestDb::new(engine).await;
    let plain = TestApp::on(other_db).await;
    tenant(plain.db(), "bravo").await;
    for i in 0..renkei::auth::FREE_FAILURES {
        let c = client_from(&format!("192.0.2.{}", i + 1));
        assert_eq!(
            login(&c, &plain, "bravo-admin", "guess", None)
                .await
                .status(),
            400
        );
    }
    let c = client_from("192.0.2.99");
    let res = login(&c, &plain, "bravo-admin", "guess", None).await;
    assert_eq!(
        res.status(),
        429,
        "X-Forwarded-For from an untrusted peer changes nothing"
    );
    assert!(res.headers().contains_key("retry-after"));
    plain.stop().await;
    app.stop().await;
}
both_engines!(login_attempts_are_throttled_per_address);

#[tokio::test]
async fn viewers_read_but_do_not_write_and_language_switches() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    tenant(app.db(), "alpha").await;
    let c = logged_in_client(&app, "alpha-viewer").await;
    let home = get_text(&c, &app.url("/")).await;
    assert!(home.contains("<html lang=\"ja\">") && home.contains("閲覧のみ"));
    assert!(!home.contains("/audit\""), "no audit link for viewers");
    let list = get_text(&c, &app.url("/master/people")).await;
    assert!(!list.contains("/master/people/new"));
    assert_eq!(
        get_page(&c, &app.url("/master/people/new")).await.status(),
        403
    );
    assert_eq!(get_page(&c, &app.url("/audit")).await.status(), 403);

    let res = get_page(&c, &app.url("/lang/en?next=/master/people")).await;
    assert_eq!(res.headers()["location"], "/master/people");
    let list = get_text(&c, &app.url("/master/people")).await;
    assert!(
        list.contains("<html lang=\"en\">") && list.contains("<h1>People</h1>"),
        "{list}"
    );
    // Open redirects are refused.
    let res = get_page(&c, &app.url("/lang/ja?next=//evil.example")).await;
    assert_eq!(res.headers()["location"], "/");
    // Security headers on every page.
    let res = get_page(&c, &app.url("/")).await;
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    assert!(res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'self'"));
    app.stop().await;
}

/// HSTS only where the public URL is https; answer and facility links are never cached and
/// are limited per link (a burst, then 429 with Retry-After), other links unaffected.
async fn link_pages_are_limited_per_link_and_not_cached(engine: Engine) {
    let test_db = crate::support::TestDb::new(engine).await;
    let app = TestApp::configured(test_db, |c| {
        c.public_url = "https://renkei.example.jp".into()
    })
    .await;
    let c = client();
    let res = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let burst = renkei::throttle::PER_LINK_BURST;
    for _ in 0..burst {
        let res = c.get(app.url("/answer/some-token")).send().await.unwrap();
        assert_eq!(res.status(), 404);
        assert_eq!(res.headers()["cache-control"], "no-store");
    }
    let res = c.get(app.url("/answer/some-token")).send().await.unwrap();
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=renkei::throttle::PER_LINK_PERIOD.as_secs()).contains(&wait),
        "{wait}"
    );
    let res = c
        .get(app.url("/answer/another-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "another link is not affected");
    let res = c
        .get(app.url("/facility/a-facility-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["cache-control"], "no-store");
    app.stop().await;

    let plain = TestApp::spawn(engine).await;
    let res = c.get(plain.url("/healthz")).send().await.unwrap();
    assert!(
        !res.headers().contains_key("strict-transport-security"),
        "no HSTS over http"
    );
    plain.stop().await;
}
both_engines!(link_pages_are_limited_per_link_and_not_cached);
