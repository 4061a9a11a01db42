//! The booking storm of issue 14: two service instances (two `App`s on loopback ports) over
//! one database, and many concurrent clients running the booking flow on overlapping beds and
//! nights: create a request, search vacancies, propose a bed (a hold), accept, confirm; 10 %
//! of proposals are declined and proposed again, 5 % of accepted ones withdrawn, and every
//! step may be preceded by a racing step on another client's request (withdraw, decline,
//! accept, confirm, propose into another bed) sent to either instance. Prints one Markdown
//! row per engine (throughput, p50 / p99 / max latency, 5xx, 409) and a row per endpoint,
//! then checks the stored state and exits non-zero if an invariant is broken:
//!
//! - no bed-night is given twice (two active holds — held, accepted, placed — on one night
//!   of one bed), and no `bed_nights` row of a hold that is not active;
//! - every active hold has exactly its bed-night rows;
//! - no request has both a `placed` and a `withdrawn` event (nor two of either);
//! - at most one active proposal per request (no two active holds of a request on one night),
//!   and each request's status agrees with its holds.
//!
//!   bash scripts/bench-storm.sh                                  # both engines, throwaway PostgreSQL
//!   RENKEI_BENCH_ENGINES=sqlite cargo bench --bench storm        # SQLite only
//!   RENKEI_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench storm
//!
//! Settings (environment): `RENKEI_BENCH_ENGINES` (`sqlite,postgres`), `RENKEI_BENCH_CLIENTS`
//! (150), `RENKEI_BENCH_SECONDS` (25: clients start no new flow after that), `RENKEI_BENCH_FLOWS`
//! (0 = no limit: flows per client), `RENKEI_BENCH_BEDS` (24, in facilities of 6), `RENKEI_BENCH_RACE`
//! (0.2: chance of a racing step before each step), `RENKEI_BENCH_POSTGRES_URL` (a URL whose
//! user may CREATE DATABASE; the bench makes and drops its own database). PostgreSQL asked for
//! without a URL is an error, never a skip.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use renkei::app::App;
use renkei::auth::{create_api_token, hash_password, Role};
use renkei::config::Config;
use renkei::placement::{BedInput, FacilityInput, RoomInput};
use renkei::store::Db;
use serde_json::{json, Value};
use sqlx::Row;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} cannot be parsed")),
        _ => default,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        }
    }
}

struct Settings {
    clients: usize,
    seconds: f64,
    flows: usize,
    beds: usize,
    race: f64,
}

/// One HTTP answer as the client saw it: which endpoint, the status (0: no answer at all),
/// and how long it took.
struct Sample {
    op: &'static str,
    status: u16,
    latency: Duration,
}

/// A request another client may race: its id, and its latest hold if it has one.
#[derive(Clone, Copy)]
struct Shared {
    request: i64,
    hold: Option<i64>,
}

/// The latest requests of all clients (a ring), for racing steps.
#[derive(Default)]
struct Registry {
    entries: Vec<Shared>,
    next: usize,
}

const REGISTRY: usize = 64;

impl Registry {
    fn put(&mut self, s: Shared) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.request == s.request) {
            *e = s;
        } else if self.entries.len() < REGISTRY {
            self.entries.push(s);
        } else {
            self.entries[self.next] = s;
            self.next = (self.next + 1) % REGISTRY;
        }
    }
    fn pick(&self, rng: &mut StdRng) -> Option<Shared> {
        if self.entries.is_empty() {
            None
        } else {
            Some(self.entries[rng.gen_range(0..self.entries.len())])
        }
    }
}

struct Client {
    http: reqwest::Client,
    bases: Arc<Vec<String>>,
    token: Arc<String>,
    samples: Vec<Sample>,
    rng: StdRng,
}

impl Client {
    /// Posts `body` to `path` on a random instance; records the sample.
    async fn post(&mut self, op: &'static str, path: &str, body: &Value) -> (u16, Value) {
        let base = &self.bases[self.rng.gen_range(0..self.bases.len())];
        let t = Instant::now();
        let res = self
            .http
            .post(format!("{base}{path}"))
            .bearer_auth(self.token.as_str())
            .json(body)
            .send()
            .await;
        let (status, value) = match res {
            Ok(res) => {
                let status = res.status().as_u16();
                let bytes = res.bytes().await.unwrap_or_default();
                (
                    status,
                    serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                )
            }
            Err(e) => {
                eprintln!("{op}: no answer: {e}");
                (0, Value::Null)
            }
        };
        self.samples.push(Sample {
            op,
            status,
            latency: t.elapsed(),
        });
        if status >= 500 && self.samples.iter().filter(|s| s.status >= 500).count() <= 3 {
            eprintln!("{op} {path}: {status} {value}");
        }
        (status, value)
    }
}

struct World {
    beds: Vec<i64>,
    first: NaiveDate,
    registry: Mutex<Registry>,
    deadline: Instant,
    settings: Settings,
}

const WINDOW_NIGHTS: u64 = 7;

/// A racing step on another client's request.
async fn race(c: &mut Client, w: &World) {
    let Some(s) = w.registry.lock().unwrap().pick(&mut c.rng) else {
        return;
    };
    let r = s.request;
    match (c.rng.gen_range(0..5), s.hold) {
        (0, _) => {
            c.post(
                "withdraw",
                &format!("/api/v1/placement/requests/{r}/withdraw"),
                &json!({"reason": "storm: race"}),
            )
            .await;
        }
        (1, Some(h)) => {
            c.post(
                "decline",
                &format!("/api/v1/placement/holds/{h}/answer"),
                &json!({"accept": false, "reason": "storm: race"}),
            )
            .await;
        }
        (2, Some(h)) => {
            c.post(
                "accept",
                &format!("/api/v1/placement/holds/{h}/answer"),
                &json!({"accept": true}),
            )
            .await;
        }
        (3, _) => {
            c.post(
                "confirm",
                &format!("/api/v1/placement/requests/{r}/confirm"),
                &json!({}),
            )
            .await;
        }
        _ => {
            // Into a random bed, for nights the request may not have: the service decides.
            let bed = w.beds[c.rng.gen_range(0..w.beds.len())];
            let row = racing_stay(c, w);
            c.post(
                "propose",
                &format!("/api/v1/placement/requests/{r}/propose"),
                &json!({"segments": [{"bed_id": bed, "from": row.0, "to": row.1}]}),
            )
            .await;
        }
    }
}

/// Some stay in the current windows (for racing proposals, which may well not match the
/// request's own nights: a 422 or 409 then).
fn racing_stay(c: &mut Client, w: &World) -> (String, String) {
    let from = w.first + chrono::Days::new(c.rng.gen_range(0..WINDOW_NIGHTS * 3));
    (
        from.to_string(),
        (from + chrono::Days::new(c.rng.gen_range(1..=3))).to_string(),
    )
}

async fn maybe_race(c: &mut Client, w: &World) {
    if c.rng.gen_bool(w.settings.race) {
        race(c, w).await;
    }
}

/// One booking flow: request, search, propose (up to 3 tries), maybe decline and propose
/// again, accept, maybe withdraw, confirm.
async fn flow(c: &mut Client, w: &World, id: usize, k: usize) {
    let start = w.first
        + chrono::Days::new(k as u64 * WINDOW_NIGHTS + c.rng.gen_range(0..WINDOW_NIGHTS - 1));
    let len = c.rng.gen_range(1..=3u64);
    let (from, to) = (
        start.to_string(),
        (start + chrono::Days::new(len)).to_string(),
    );
    let sex = if c.rng.gen_bool(0.5) {
        "female"
    } else {
        "male"
    };
    let types = if c.rng.gen_bool(0.5) {
        ["intellectual"]
    } else {
        ["physical"]
    };
    let (s, b) = c
        .post(
            "create",
            "/api/v1/placement/requests",
            &json!({"case_number": format!("S-{id}-{k}"), "person_name": "ストーム", "sex": sex,
                    "from": from, "to": to, "disability_types": types, "urgency": 3}),
        )
        .await;
    let Some(request) = b["id"].as_i64().filter(|_| s == 201) else {
        return;
    };
    w.registry.lock().unwrap().put(Shared {
        request,
        hold: None,
    });
    for _ in 0..3 {
        maybe_race(c, w).await;
        let (s, found) = c
            .post(
                "search",
                "/api/v1/placement/search",
                &json!({"from": from, "to": to, "sex": sex, "disability_types": types}),
            )
            .await;
        let offered: Vec<i64> = if s == 200 {
            found["whole"]
                .as_array()
                .map(|a| a.iter().filter_map(|b| b["bed_id"].as_i64()).collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        // Mostly one of the first three offers (which everybody else also sees), sometimes any
        // bed at all (the service re-checks the rules: 422 for a misfit).
        let bed = if !offered.is_empty() && c.rng.gen_bool(0.8) {
            offered[c.rng.gen_range(0..offered.len().min(3))]
        } else {
            w.beds[c.rng.gen_range(0..w.beds.len())]
        };
        maybe_race(c, w).await;
        let (s, b) = c
            .post(
                "propose",
                &format!("/api/v1/placement/requests/{request}/propose"),
                &json!({"segments": [{"bed_id": bed, "from": from, "to": to}]}),
            )
            .await;
        if s != 201 {
            continue;
        }
        let Some(hold) = b["holds"][0].as_i64() else {
            continue;
        };
        w.registry.lock().unwrap().put(Shared {
            request,
            hold: Some(hold),
        });
        maybe_race(c, w).await;
        if c.rng.gen_bool(0.1) {
            c.post(
                "decline",
                &format!("/api/v1/placement/holds/{hold}/answer"),
                &json!({"accept": false, "reason": "満床"}),
            )
            .await;
            continue;
        }
        let (s, _) = c
            .post(
                "accept",
                &format!("/api/v1/placement/holds/{hold}/answer"),
                &json!({"accept": true}),
            )
            .await;
        if s != 204 {
            continue;
        }
        maybe_race(c, w).await;
        if c.rng.gen_bool(0.05) {
            c.post(
                "withdraw",
                &format!("/api/v1/placement/requests/{request}/withdraw"),
                &json!({"reason": "家族が対応"}),
            )
            .await;
            return;
        }
        let (s, _) = c
            .post(
                "confirm",
                &format!("/api/v1/placement/requests/{request}/confirm"),
                &json!({}),
            )
            .await;
        if s == 204 {
            return;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

/// Four facilities' worth of rooms per 24 beds: a room for anyone, a shared room (one sex a
/// night), a women's room, each of two beds; all take every disability type.
async fn load_facilities(db: &Db, beds: usize) -> anyhow::Result<(String, Vec<i64>)> {
    let m = db
        .create_municipality("storm", "ストーム市", "Storm")
        .await?;
    db.create_user(
        m,
        "storm-hub",
        "ストーム",
        &hash_password("storm-password-1")?,
        Role::HubStaff,
    )
    .await?;
    let user = db.user_by_username("storm-hub").await?.expect("user");
    let token = create_api_token(db, &user, "storm").await?;
    let facilities = beds.div_ceil(6).max(1);
    for f in 0..facilities {
        let org = format!("ORG-{f}");
        sqlx::query("INSERT INTO organisations (municipality_id, code, name, kind, created_at, updated_at) VALUES ($1, $2, $3, 'short_stay', '', '')")
            .bind(m.0)
            .bind(&org)
            .bind(format!("ショートステイ {f}"))
            .execute(&db.pool)
            .await?;
        let room = |name: &str, policy: &str| RoomInput {
            name: name.into(),
            sex_policy: policy.into(),
            beds: vec![
                BedInput {
                    name: "1".into(),
                    wheelchair: false,
                },
                BedInput {
                    name: "2".into(),
                    wheelchair: true,
                },
            ],
        };
        let input = FacilityInput {
            code: format!("F-{f}"),
            organisation: org,
            name: format!("ショートステイ {f}"),
            kind: "short_stay".into(),
            x_km: f as f64,
            y_km: 0.0,
            disability_types: ["physical", "intellectual", "mental", "developmental"]
                .map(String::from)
                .to_vec(),
            adults: true,
            children: false,
            medical_care: Vec::new(),
            behavioural_support: true,
            night_staff: true,
            contact_email: format!("facility-{f}@example.jp"),
            rooms: vec![
                room("個室", "any"),
                room("2人部屋", "same_as_occupants"),
                room("女性室", "female"),
            ],
        };
        let valid = input.parse().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        db.create_facility(&user, &valid).await?;
    }
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM beds ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    Ok((token, ids))
}

fn nights(from: &str, to: &str) -> Vec<String> {
    let (mut d, to) = (
        NaiveDate::parse_from_str(from, "%Y-%m-%d").expect("date"),
        NaiveDate::parse_from_str(to, "%Y-%m-%d").expect("date"),
    );
    let mut out = Vec::new();
    while d < to {
        out.push(d.to_string());
        d = d.succ_opt().unwrap();
    }
    out
}

/// The invariants, each with how many times it is broken, read from the database after the
/// storm; and a line on how the requests ended.
async fn check(db: &Db) -> anyhow::Result<(Vec<(&'static str, usize)>, String)> {
    let pool = &db.pool;
    let holds = sqlx::query(
        "SELECT id, request_id, bed_id, from_night, to_night, status FROM placement_holds",
    )
    .fetch_all(pool)
    .await?;
    let mut rows_of: HashMap<i64, BTreeSet<(i64, String)>> = HashMap::new();
    for r in sqlx::query("SELECT hold_id, bed_id, night FROM bed_nights WHERE hold_id IS NOT NULL")
        .fetch_all(pool)
        .await?
    {
        rows_of
            .entry(r.try_get("hold_id")?)
            .or_default()
            .insert((r.try_get("bed_id")?, r.try_get("night")?));
    }
    let mut given: HashMap<(i64, String), usize> = HashMap::new();
    let mut missing_rows = 0;
    let mut stale_rows = 0;
    let mut request_nights: HashMap<i64, Vec<String>> = HashMap::new();
    let mut active_of: HashMap<i64, Vec<String>> = HashMap::new();
    for h in &holds {
        let id: i64 = h.try_get("id")?;
        let status: String = h.try_get("status")?;
        let bed: i64 = h.try_get("bed_id")?;
        let request: i64 = h.try_get("request_id")?;
        let (from, to): (String, String) = (h.try_get("from_night")?, h.try_get("to_night")?);
        let stored = rows_of.remove(&id).unwrap_or_default();
        if matches!(status.as_str(), "held" | "accepted" | "placed") {
            let want: BTreeSet<(i64, String)> =
                nights(&from, &to).into_iter().map(|n| (bed, n)).collect();
            if stored != want {
                missing_rows += 1;
            }
            for n in nights(&from, &to) {
                *given.entry((bed, n.clone())).or_default() += 1;
                request_nights.entry(request).or_default().push(n);
            }
            active_of.entry(request).or_default().push(status);
        } else if !stored.is_empty() {
            stale_rows += 1;
        }
    }
    stale_rows += rows_of.len();
    let twice = given.values().filter(|n| **n > 1).count();
    let one_person_twice = request_nights
        .values()
        .filter(|n| n.iter().collect::<BTreeSet<_>>().len() != n.len())
        .count();
    let mut events: HashMap<i64, Vec<String>> = HashMap::new();
    for r in sqlx::query("SELECT request_id, to_status FROM placement_events")
        .fetch_all(pool)
        .await?
    {
        events
            .entry(r.try_get("request_id")?)
            .or_default()
            .push(r.try_get("to_status")?);
    }
    let mut placed_and_withdrawn = 0;
    let mut disagree = 0;
    let mut ended: BTreeMap<String, usize> = BTreeMap::new();
    for r in sqlx::query("SELECT id, status FROM placement_requests")
        .fetch_all(pool)
        .await?
    {
        let id: i64 = r.try_get("id")?;
        let status: String = r.try_get("status")?;
        let ev = events.remove(&id).unwrap_or_default();
        let n = |s: &str| ev.iter().filter(|e| *e == s).count();
        if (n("placed") > 0 && n("withdrawn") > 0) || n("placed") > 1 || n("withdrawn") > 1 {
            placed_and_withdrawn += 1;
        }
        let active = active_of.remove(&id).unwrap_or_default();
        let agrees = match status.as_str() {
            "proposed" => active.iter().any(|s| s == "held"),
            "accepted" => !active.is_empty() && active.iter().all(|s| s == "accepted"),
            "placed" => !active.is_empty() && active.iter().all(|s| s == "placed"),
            _ => active.is_empty(),
        };
        if !agrees {
            disagree += 1;
        }
        *ended.entry(status).or_default() += 1;
    }
    let summary = ended
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok((
        vec![
            (
                "no bed-night given twice (two active holds on one bed-night)",
                twice,
            ),
            (
                "every active hold has exactly its bed-night rows",
                missing_rows,
            ),
            (
                "no bed-night rows of an inactive or unknown hold",
                stale_rows,
            ),
            (
                "no request with both a placed and a withdrawn event (or two of either)",
                placed_and_withdrawn,
            ),
            (
                "at most one active proposal per request (no request in two beds on one night)",
                one_person_twice,
            ),
            ("every request's status agrees with its holds", disagree),
        ],
        summary,
    ))
}

struct Outcome {
    engine: Engine,
    requests: usize,
    wall: Duration,
    lat: Vec<Duration>,
    s5xx: usize,
    s409: usize,
    s4xx: usize,
    no_answer: usize,
    flows: usize,
    per_op: BTreeMap<&'static str, Vec<Sample>>,
    invariants: Vec<(&'static str, usize)>,
    ended: String,
    /// Connections per instance's pool.
    pool: u32,
}

/// A fresh database of `engine`: its URL, and what removes it afterwards.
async fn fresh_database(
    engine: Engine,
    dir: &std::path::Path,
) -> anyhow::Result<(String, Option<(String, String)>)> {
    match engine {
        Engine::Sqlite => Ok((format!("sqlite://{}", dir.join("storm.db").display()), None)),
        Engine::Postgres => {
            let admin = std::env::var("RENKEI_BENCH_POSTGRES_URL").map_err(|_| {
                anyhow::anyhow!(
                    "RENKEI_BENCH_POSTGRES_URL is not set, but PostgreSQL was asked for \
                     (RENKEI_BENCH_ENGINES defaults to sqlite,postgres). Run `bash scripts/bench-storm.sh`, \
                     which starts a throwaway cluster, or set RENKEI_BENCH_POSTGRES_URL to a URL whose user \
                     may CREATE DATABASE, or RENKEI_BENCH_ENGINES=sqlite."
                )
            })?;
            let name = format!("renkei_storm_{}", std::process::id());
            let db = Db::connect(&admin).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&db.pool)
                .await?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&db.pool)
                .await?;
            db.pool.close().await;
            let mut u = url::Url::parse(&admin)?;
            u.set_path(&format!("/{name}"));
            Ok((u.to_string(), Some((admin, name))))
        }
    }
}

async fn run(engine: Engine, settings: Settings) -> anyhow::Result<Outcome> {
    let dir = tempfile::tempdir()?;
    let (url, drop_after) = fresh_database(engine, dir.path()).await?;
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    let (token, beds) = load_facilities(&db, settings.beds).await?;

    // Two instances, each with its own pool and vacancy index, as two processes would have.
    let mut bases = Vec::new();
    let mut stops = Vec::new();
    let mut servers = Vec::new();
    for i in 0..2 {
        let db = if i == 0 {
            db.clone()
        } else {
            Db::connect(&url).await?
        };
        let config = Config {
            database_url: url.clone(),
            listen: "127.0.0.1:0".into(),
            run_worker: false,
            outbox_dir: dir.path().join(format!("outbox-{i}")).display().to_string(),
            ..Config::default()
        };
        let app = App::with_db(config, db).await?;
        bases.push(format!("http://{}", app.local_addr()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        servers.push(tokio::spawn(async move {
            app.run(async {
                let _ = stopped.await;
            })
            .await
        }));
    }
    let bases = Arc::new(bases);
    let token = Arc::new(token);
    let clients = settings.clients;
    let world = Arc::new(World {
        beds,
        // Far enough ahead that no stay is in the past, whenever the bench runs.
        first: NaiveDate::from_ymd_opt(2031, 4, 1).unwrap(),
        registry: Mutex::new(Registry::default()),
        deadline: Instant::now() + Duration::from_secs_f64(settings.seconds),
        settings,
    });
    let started = Instant::now();
    let mut tasks = Vec::new();
    for id in 0..clients {
        let (bases, token, world) = (bases.clone(), token.clone(), world.clone());
        tasks.push(tokio::spawn(async move {
            let mut c = Client {
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(120))
                    .build()
                    .expect("client"),
                bases,
                token,
                samples: Vec::new(),
                rng: StdRng::seed_from_u64(0x5EED_0000 + id as u64),
            };
            let mut k = 0;
            while Instant::now() < world.deadline
                && (world.settings.flows == 0 || k < world.settings.flows)
            {
                flow(&mut c, &world, id, k).await;
                k += 1;
            }
            (c.samples, k)
        }));
    }
    let mut samples = Vec::new();
    let mut flows = 0;
    for t in tasks {
        let (s, k) = t.await?;
        samples.extend(s);
        flows += k;
    }
    let wall = started.elapsed();
    for s in stops {
        let _ = s.send(());
    }
    for s in servers {
        s.await??;
    }
    let pool = db.pool.options().get_max_connections();
    let (invariants, ended) = check(&db).await?;
    db.pool.close().await;
    if let Some((admin, name)) = drop_after {
        let admin = Db::connect(&admin).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&admin.pool)
            .await?;
        admin.pool.close().await;
    }
    let mut lat: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    lat.sort();
    let count = |f: &dyn Fn(u16) -> bool| samples.iter().filter(|s| f(s.status)).count();
    let (s5xx, s409, no_answer) = (
        count(&|s| s >= 500),
        count(&|s| s == 409),
        count(&|s| s == 0),
    );
    let s4xx = count(&|s| (400..500).contains(&s) && s != 409);
    let mut per_op: BTreeMap<&'static str, Vec<Sample>> = BTreeMap::new();
    for s in samples {
        per_op.entry(s.op).or_default().push(s);
    }
    Ok(Outcome {
        engine,
        requests: lat.len(),
        wall,
        lat,
        s5xx,
        s409,
        s4xx,
        no_answer,
        flows,
        per_op,
        invariants,
        ended,
        pool,
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let engines: Vec<Engine> = env_or("RENKEI_BENCH_ENGINES", "sqlite,postgres".to_string())
        .split(',')
        .map(|e| match e.trim().to_ascii_lowercase().as_str() {
            "sqlite" => Engine::Sqlite,
            "postgres" | "postgresql" | "pg" => Engine::Postgres,
            other => panic!("RENKEI_BENCH_ENGINES: unknown engine {other:?} (sqlite, postgres)"),
        })
        .collect();
    // Fail before the first storm, not after it, when PostgreSQL cannot run.
    if engines.contains(&Engine::Postgres) && std::env::var("RENKEI_BENCH_POSTGRES_URL").is_err() {
        anyhow::bail!(
            "RENKEI_BENCH_POSTGRES_URL is not set, but PostgreSQL was asked for (RENKEI_BENCH_ENGINES \
             defaults to sqlite,postgres). Run `bash scripts/bench-storm.sh`, which starts a throwaway \
             cluster, or set RENKEI_BENCH_POSTGRES_URL, or RENKEI_BENCH_ENGINES=sqlite."
        );
    }
    let settings = || Settings {
        clients: env_or("RENKEI_BENCH_CLIENTS", 150),
        seconds: env_or("RENKEI_BENCH_SECONDS", 25.0),
        flows: env_or("RENKEI_BENCH_FLOWS", 0),
        beds: env_or("RENKEI_BENCH_BEDS", 24),
        race: env_or("RENKEI_BENCH_RACE", 0.2),
    };
    let s = settings();
    println!(
        "storm: 2 instances, {} clients, {} s{}, {} beds, racing step chance {}",
        s.clients,
        s.seconds,
        if s.flows > 0 {
            format!(" or {} flows per client", s.flows)
        } else {
            String::new()
        },
        s.beds,
        s.race
    );
    let mut outcomes = Vec::new();
    for e in engines {
        eprintln!("storm on {} ...", e.name());
        outcomes.push(run(e, settings()).await?);
    }

    println!();
    println!("| engine | instances | clients | flows | requests | throughput (req/s) | p50 ms | p99 ms | max ms | 5xx | 409 | other 4xx | no answer | pool |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let clients = settings().clients;
    for o in &outcomes {
        println!(
            "| {} | 2 | {clients} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | 2 × {} |",
            o.engine.name(),
            o.flows,
            o.requests,
            o.requests as f64 / o.wall.as_secs_f64(),
            ms(percentile(&o.lat, 0.50)),
            ms(percentile(&o.lat, 0.99)),
            ms(o.lat.last().copied().unwrap_or_default()),
            o.s5xx,
            o.s409,
            o.s4xx,
            o.no_answer,
            o.pool,
        );
    }
    println!();
    println!(
        "| engine | endpoint | requests | p50 ms | p99 ms | max ms | 2xx | 409 | other 4xx | 5xx |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for o in &outcomes {
        for (op, list) in &o.per_op {
            let mut lat: Vec<Duration> = list.iter().map(|s| s.latency).collect();
            lat.sort();
            let n = |f: &dyn Fn(u16) -> bool| list.iter().filter(|s| f(s.status)).count();
            println!(
                "| {} | {op} | {} | {} | {} | {} | {} | {} | {} | {} |",
                o.engine.name(),
                list.len(),
                ms(percentile(&lat, 0.50)),
                ms(percentile(&lat, 0.99)),
                ms(lat.last().copied().unwrap_or_default()),
                n(&|s| (200..300).contains(&s)),
                n(&|s| s == 409),
                n(&|s| (400..500).contains(&s) && s != 409),
                n(&|s| s >= 500),
            );
        }
    }
    let mut broken = false;
    for o in &outcomes {
        println!();
        println!(
            "{}: requests ended {}; invariants:",
            o.engine.name(),
            o.ended
        );
        for (what, n) in &o.invariants {
            println!(
                "- {} {what}{}",
                if *n == 0 { "ok" } else { "BROKEN" },
                if *n == 0 {
                    String::new()
                } else {
                    format!(": {n} violations")
                }
            );
            broken |= *n > 0;
        }
    }
    if broken {
        eprintln!("storm: an invariant is broken");
        std::process::exit(1);
    }
    Ok(())
}
