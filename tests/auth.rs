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

async fn login_attempts_are_rate_limited(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    tenant(app.db(), "alpha").await;
    let c = client();
    // Each attempt as a browser makes it: load the form (fresh CSRF token), then post.
    for _ in 0..renkei::auth::MAX_FAILED_LOGINS {
        let res = login(&c, &app, "alpha-admin", "guess", None).await;
        assert_eq!(res.status(), 400);
    }
    // Now even the right password is refused for a while, with a clear message.
    let res = login(&c, &app, "alpha-admin", PASSWORD, None).await;
    assert_eq!(res.status(), 429);
    assert!(res.text().await.unwrap().contains("試行回数が多すぎます"));
    // Other accounts are not affected.
    logged_in_client(&app, "alpha-viewer").await;
    app.stop().await;
}
both_engines!(login_attempts_are_rate_limited);

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
