//! Testable start-up: `App::build` connects, migrates and binds the listener (port 0 picks a
//! free port), `App::run` serves until the shutdown future resolves, then drains requests and
//! stops the job worker.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::jobs::Worker;
use crate::store::Db;

/// Shared state of every request handler.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// Rate limits of the no-login links (answer and facility pages), per link and address.
    pub link_limiter: Arc<crate::throttle::LinkLimiter>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`Config::trusted_proxies`).
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
}

impl AppState {
    /// The client's address (see `throttle::client_address`).
    pub fn client_address(
        &self,
        peer: SocketAddr,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        crate::throttle::client_address(&self.trusted_proxies, peer, headers)
    }

    /// The planning rules of municipality `m`: its settings over the configuration.
    pub async fn plan_defaults(
        &self,
        m: crate::store::tenancy::MunicipalityId,
    ) -> crate::error::Result<crate::meetings::PlanDefaults> {
        Ok(self
            .db
            .settings(m)
            .await?
            .plan_defaults(self.config.plan_defaults()))
    }
}

pub struct App {
    listener: TcpListener,
    state: AppState,
}

impl App {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        App::with_db(config, db).await
    }

    pub async fn with_db(config: Config, db: Db) -> anyhow::Result<App> {
        let listener = TcpListener::bind(&config.listen).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {} ({e}) / {} で待ち受けできません",
                config.listen,
                config.listen
            )
        })?;
        let trusted_proxies = config.trusted_proxy_list()?.into();
        let state = AppState {
            db,
            config: Arc::new(config),
            link_limiter: Default::default(),
            trusted_proxies,
        };
        Ok(App { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves; in-flight requests finish, then the worker stops.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = if self.state.config.run_worker {
            let mut worker = Worker::new(self.state.db.clone());
            crate::meetings::register(&mut worker);
            // Calendar replies from the organizer's mailbox, when one is configured.
            if let Some(replies) =
                crate::notices::imap::PollSettings::from_config(&self.state.config)?
            {
                tracing::info!(mailbox = ?replies.mailbox, "reading calendar replies");
                crate::notices::imap::register(
                    &mut worker,
                    replies,
                    Duration::from_secs(self.state.config.imap_poll_seconds),
                );
            }
            let mut rx = stop_rx.clone();
            Some(tokio::spawn(worker.run(async move {
                let _ = rx.wait_for(|stopped| *stopped).await;
            })))
        } else {
            None
        };
        let mut mail = None;
        if self.state.config.run_worker {
            let outbox = crate::notices::outbox::Outbox::from_config(
                self.state.db.clone(),
                &self.state.config,
            )?;
            let mut rx = stop_rx.clone();
            mail = Some(tokio::spawn(outbox.run(async move {
                let _ = rx.wait_for(|stopped| *stopped).await;
            })));
            // Reminders and chases: queued hourly (idempotent, so every instance may do it).
            let db = self.state.db.clone();
            let config = self.state.config.clone();
            let mut rx = stop_rx.clone();
            tokio::spawn(async move {
                let days = config.reminder_day_list().unwrap_or_default();
                loop {
                    match db
                        .queue_due_reminders(&days, config.answer_deadline_days, config.chase_days)
                        .await
                    {
                        Ok(n) if n > 0 => tracing::info!(queued = n, "reminders queued"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "queueing reminders failed"),
                    }
                    // Lecturers and supervisors to book (講師・SVの手配): one reminder per due task.
                    match db.queue_booking_reminders(&config.contact().email).await {
                        Ok(n) if n > 0 => tracing::info!(queued = n, "booking reminders queued"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "queueing booking reminders failed"),
                    }
                    tokio::select! {
                        _ = rx.wait_for(|stopped| *stopped) => break,
                        _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                    }
                }
            });
        }
        let router = router(self.state.clone());
        let mut rx = stop_rx;
        let server = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        });
        let trigger = tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight / 終了処理中");
            let _ = stop_tx.send(true);
        });
        server.await?;
        trigger.abort();
        if let Some(worker) = worker {
            let _ = tokio::time::timeout(Duration::from_secs(30), worker).await;
        }
        if let Some(mail) = mail {
            let _ = tokio::time::timeout(Duration::from_secs(30), mail).await;
        }
        Ok(())
    }
}

pub fn router(state: AppState) -> Router {
    let security_headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    ];
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(crate::api::routes())
        .merge(crate::web::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            no_login_links,
        ))
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(api_content_type))
        .layer(axum::middleware::from_fn(no_nul_in_query))
        .layer(axum::middleware::from_fn(uniform_rejections))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            20 * 1024 * 1024,
        ));
    for (name, value) in security_headers {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    // Browsers that reached the service over https keep to https (a year); over http the
    // header means nothing and is not sent.
    if state.config.secure_cookies() {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    app
}

/// The no-login links (an invitee's answer page, a facility's page, calendar feeds): each
/// request counts against its link's and its client address's quota (`throttle::LinkLimiter`;
/// over it: 429 with `Retry-After`), and answer and facility pages are never stored by
/// browsers or proxies (`Cache-Control: no-store`): they carry personal data and the link is
/// the key.
async fn no_login_links(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = req.uri().path();
    let Some(rest) = ["/answer/", "/facility/", "/feeds/"]
        .iter()
        .find_map(|p| path.strip_prefix(p).map(|rest| (*p, rest)))
    else {
        return next.run(req).await;
    };
    let (prefix, token) = rest;
    let link = format!("{prefix}{token}");
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let address = state.client_address(peer, req.headers());
    if let Err(wait) = state.link_limiter.check(&link, address) {
        let e = crate::error::Error::RateLimited {
            retry_after_secs: wait,
        };
        return crate::web::PageError::Failed(e).into_response();
    }
    let mut res = next.run(req).await;
    if prefix != "/feeds/" {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Largest JSON request body (axum's default extractor limit, stated here so that the error
/// message can name it). Imports take files up to `transfer::limits::FILE_BYTES`.
pub const JSON_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Answers what axum's extractors and tower-http answer in plain text, a body over the limit
/// (413), in the project's error format: JSON under `/api/`, the error page elsewhere. Errors
/// the handlers raise themselves already have that format and pass untouched.
async fn uniform_rejections(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if res.status() != StatusCode::PAYLOAD_TOO_LARGE || !plain {
        return res;
    }
    let e = crate::error::Error::TooLarge(crate::i18n::Msg::new(
        format!(
            "送信された内容が大きすぎます(JSONは{} MBまで、取り込むファイルは{} MBまで)。小さく分けて送ってください",
            JSON_BODY_BYTES / 1_048_576,
            crate::transfer::limits::FILE_BYTES / 1_048_576
        ),
        format!(
            "the request body is too large (JSON at most {} MB, imported files at most {} MB); send it in smaller parts",
            JSON_BODY_BYTES / 1_048_576,
            crate::transfer::limits::FILE_BYTES / 1_048_576
        ),
    ));
    if api {
        e.into_response()
    } else {
        crate::web::PageError::Failed(e).into_response()
    }
}

/// The NUL character cannot be stored or compared as text in PostgreSQL (the query fails) and
/// is never meaningful in a search or a value: a query string or a page's form carrying one
/// (`%00`) is refused with a 422 naming it, on the API and the pages alike, before any handler
/// sees it. (JSON bodies are checked where they are parsed, `api::json`.)
async fn no_nul_in_query(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let has_nul = |text: &[u8]| text.windows(3).any(|w| w.eq_ignore_ascii_case(b"%00"));
    let mut field = None;
    if req.uri().query().is_some_and(|q| has_nul(q.as_bytes())) {
        field = Some("query");
    }
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let req = if form && field.is_none() {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, JSON_BODY_BYTES).await else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        if has_nul(&bytes) {
            field = Some("form");
        }
        axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))
    } else {
        req
    };
    let Some(field) = field else {
        return next.run(req).await;
    };
    let e = crate::error::Error::Validation(vec![crate::master::FieldError::new(
        field,
        "NUL文字(%00)は使えません。取り除いてください",
        "the NUL character (%00) cannot be used; remove it",
    )]);
    if req.uri().path().starts_with("/api/") {
        e.into_response()
    } else {
        crate::web::PageError::Failed(e).into_response()
    }
}

/// JSON endpoints take JSON only: a body sent to `/api/` (other than a file to import) must
/// say `Content-Type: application/json` (or a `+json` type), else 415 with the JSON error. A
/// body of another type is never guessed to be JSON.
async fn api_content_type(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = req.uri().path();
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .map_or(req.headers().contains_key(header::TRANSFER_ENCODING), |n| {
            n.trim() != "0"
        });
    if !path.starts_with("/api/") || path.ends_with("/import") || !has_body {
        return next.run(req).await;
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        return next.run(req).await;
    }
    let shown = if content_type.is_empty() {
        "(none)"
    } else {
        content_type
    };
    crate::error::Error::UnsupportedMediaType(crate::i18n::Msg::new(
        format!("本文はJSONで送り、Content-Type: application/json を付けてください(送られた種類: {shown})"),
        format!("send the body as JSON with Content-Type: application/json (got: {shown})"),
    ))
    .into_response()
}

async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    // A database that does not answer must not hold the probe for the pool's acquire timeout.
    let answered =
        tokio::time::timeout(std::time::Duration::from_millis(1500), state.db.ping()).await;
    match answered {
        Ok(Ok(())) => (StatusCode::OK, Json(serde_json::json!({"status": "ready"}))),
        Ok(Err(_)) | Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                serde_json::json!({"status": "database unavailable / データベースに接続できません"}),
            ),
        ),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
