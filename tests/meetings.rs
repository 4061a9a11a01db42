//! Meeting calendars through the HTTP API, on the demo municipality (みらい市) and on fresh
//! tenants: planning a quarter and a fiscal year as background jobs, the rules a plan must keep
//! (checked here independently of the solver's validator), explanations of impossible rules,
//! input validation, publishing and re-planning, exports and iCalendar feeds, presets.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use icalendar::Component as _;
use renkei::demo::{self, DEMO_USERNAME};
use renkei::meetings::build::{room_of, SeriesRef, VISIT_BASE};
use renkei::meetings::spec::kind_slug;
use renkei_solver::calendar::{holiday_on, is_year_end_closure, jst_to_utc};
use renkei_solver::schedule::model::Occurrence;
use reqwest::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::both_engines;
use crate::support::{tenant, Api, Engine, TestApp, TestDb};

const Q1_FROM: &str = "2027-04-01";
const Q1_TO: &str = "2027-06-30";
/// "Today" for every plan: the periods below lie ahead of it.
pub(crate) const PLANNING_DATE: &str = "2026-11-23";
/// The demo has no travel matrix: moving between venues takes the default.
const DEFAULT_TRAVEL_MINUTES: i64 = 30;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn t(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap()
}

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// The demo municipality in a fresh database, the service on it, and an API token of the demo
/// administrator.
pub(crate) async fn demo_app(engine: Engine) -> (TestApp, String) {
    let test_db = TestDb::new(engine).await;
    demo::load(&test_db.db).await.expect("demo loads");
    let user = test_db
        .db
        .user_by_username(DEMO_USERNAME)
        .await
        .unwrap()
        .expect("demo user");
    let token = renkei::auth::create_api_token(&test_db.db, &user, "test")
        .await
        .unwrap();
    (TestApp::on(test_db).await, token)
}

/// Status and body (as JSON, or as a string when it is not JSON) of a response.
pub(crate) async fn status_json(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Field names of a validation error body.
pub(crate) fn field_names(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields in {body}"))
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

fn quarter_request() -> Value {
    json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "time_limit_seconds": 20})
}

/// Starts a planning run; returns its id after checking the 202 answer.
pub(crate) async fn start_plan(api: &Api, body: &Value) -> i64 {
    let (status, run) = status_json(api.post_json("/api/v1/plans", body).await).await;
    assert_eq!(status, 202, "POST /api/v1/plans {body}: {run}");
    assert!(
        ["queued", "running"].contains(&run["status"].as_str().unwrap()),
        "a new run waits for the worker: {run}"
    );
    assert!(run["result"].is_null(), "{run}");
    assert!(run["published_at"].is_null(), "{run}");
    run["id"].as_i64().expect("run id")
}

/// Polls a run until its job is done (the worker runs inside the test app).
pub(crate) async fn wait_plan(api: &Api, id: i64) -> Value {
    let started = Instant::now();
    loop {
        let run: Value = api.get_json(&format!("/api/v1/plans/{id}")).await;
        match run["status"].as_str().unwrap() {
            "done" => {
                assert!(!run["result"].is_null(), "a done run has its result: {run}");
                assert_eq!(run["progress"].as_f64(), Some(1.0), "{run}");
                return run;
            }
            "failed" => panic!("plan run {id} failed: {}", run["last_error"]),
            _ => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "plan run {id} did not finish in 120 s: {run}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// History for recording tests: a plan run over a past period (the API refuses one: nothing is
/// planned before today plus the notice), made through the library as an import of last
/// year's calendar would, then done by the worker. Returns the run id and the run.
pub(crate) async fn plan_history(
    app: &TestApp,
    api: &Api,
    from: &str,
    to: &str,
    series: &[&str],
) -> (i64, Value) {
    let user = app
        .db()
        .user_by_username(DEMO_USERNAME)
        .await
        .unwrap()
        .expect("demo user");
    let request = renkei::meetings::ValidPlanRequest {
        label: format!("{from} 〜 {to}"),
        period: renkei_solver::schedule::model::DateRange {
            from: d(from),
            to: d(to),
        },
        planning_date: d(from),
        time_limit_seconds: 10.0,
        method: renkei::planning::Method::Greedy,
        series: series.iter().map(|s| s.to_string()).collect(),
        weights: Default::default(),
        changes: Default::default(),
        defaults: Default::default(),
    };
    let run = renkei::meetings::start_plan(app.db(), &user, &request)
        .await
        .expect("history run starts");
    (run.id, wait_plan(api, run.id).await)
}

pub(crate) async fn plan(api: &Api, body: &Value) -> (i64, Value) {
    let id = start_plan(api, body).await;
    (id, wait_plan(api, id).await)
}

pub(crate) async fn publish(api: &Api, id: i64) -> (u16, Value) {
    status_json(
        api.post_json(&format!("/api/v1/plans/{id}/publish"), &json!({}))
            .await,
    )
    .await
}

/// A published occurrence as `GET /api/v1/occurrences` lists it.
#[derive(Debug, Clone, Deserialize)]
struct Row {
    id: i64,
    uid: String,
    series_key: String,
    title: String,
    kind: String,
    ward: String,
    date: String,
    start: String,
    end: String,
    room_id: Option<i64>,
    place_organisation_id: Option<i64>,
    status: String,
    sequence: i64,
    attendees: Vec<RowAttendee>,
    /// Held by another body (the demo's 地域移行・地域定着連携連絡会): not planned here.
    held_by: String,
}

#[derive(Debug, Clone, Deserialize)]
struct RowAttendee {
    person_id: i64,
    name: String,
    required: bool,
}

/// The published calendar of our own meetings (the demo's meetings held by other bodies are
/// entered, not planned: `tests/held.rs` checks them).
async fn occurrences(api: &Api, query: &str) -> Vec<Row> {
    // A whole year fits one page of the most a page holds.
    let rows: Vec<Row> = api
        .get_json(&format!("/api/v1/occurrences?{query}&limit=1000"))
        .await;
    rows.into_iter().filter(|r| r.held_by.is_empty()).collect()
}

/// One meeting, from a plan or from the published calendar, in the terms the rules speak of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Occ {
    key: String,
    date: NaiveDate,
    start: NaiveTime,
    end: NaiveTime,
    /// Solver room id (a room, or `VISIT_BASE` + a visited organisation).
    room: u32,
    attendees: BTreeSet<i64>,
    kind: String,
    ward: String,
}

/// The occurrences of a finished run, with series keys from the run's stored series map.
async fn planned(app: &TestApp, id: i64, run: &Value) -> Vec<Occ> {
    let (_, _, refs): (_, _, Vec<SeriesRef>) = app.db().plan_run_input(id).await.unwrap();
    let list: Vec<Occurrence> =
        serde_json::from_value(run["result"]["occurrences"].clone()).expect("plan occurrences");
    list.into_iter()
        .map(|o| {
            let r = &refs[o.series as usize];
            Occ {
                key: r.key.clone(),
                date: o.date,
                start: o.start,
                end: o.end,
                room: o.room,
                attendees: o.attendees.iter().map(|p| *p as i64).collect(),
                kind: kind_slug(r.kind).to_string(),
                ward: r.ward.clone(),
            }
        })
        .collect()
}

fn published(rows: &[Row]) -> Vec<Occ> {
    rows.iter()
        .map(|r| Occ {
            key: r.series_key.clone(),
            date: d(&r.date),
            start: t(&r.start),
            end: t(&r.end),
            room: room_of(r.room_id, r.place_organisation_id)
                .expect("a published meeting has a place"),
            attendees: r.attendees.iter().map(|a| a.person_id).collect(),
            kind: r.kind.clone(),
            ward: r.ward.clone(),
        })
        .collect()
}

/// What the rule checks need from the master data and the calendar.
struct World {
    /// Room id → venue id.
    venue_of: HashMap<u32, i64>,
    /// The wards of the municipality's organisations.
    wards: BTreeSet<String>,
    /// Municipality-wide extra closures.
    closures: BTreeSet<NaiveDate>,
    /// Person id → name (for messages).
    names: HashMap<i64, String>,
}

async fn world(api: &Api) -> World {
    let rooms: Vec<Value> = api.get_json("/api/v1/master/rooms?limit=1000").await;
    let orgs: Vec<Value> = api
        .get_json("/api/v1/master/organisations?limit=1000")
        .await;
    let people: Vec<Value> = api.get_json("/api/v1/master/people?limit=1000").await;
    let closures: Vec<Value> = api.get_json("/api/v1/calendar/closures").await;
    World {
        venue_of: rooms
            .iter()
            .map(|r| {
                (
                    r["id"].as_i64().unwrap() as u32,
                    r["venue_id"].as_i64().unwrap(),
                )
            })
            .collect(),
        wards: orgs
            .iter()
            .filter_map(|o| o["ward"].as_str())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect(),
        closures: closures
            .iter()
            .filter(|c| c["venue_id"].is_null())
            .map(|c| d(c["date"].as_str().unwrap()))
            .collect(),
        names: people
            .iter()
            .map(|p| {
                (
                    p["id"].as_i64().unwrap(),
                    p["name"].as_str().unwrap().to_string(),
                )
            })
            .collect(),
    }
}

impl World {
    fn venue(&self, room: u32) -> i64 {
        if room >= VISIT_BASE {
            room as i64
        } else {
            *self
                .venue_of
                .get(&room)
                .unwrap_or_else(|| panic!("room {room} is not a room of the municipality"))
        }
    }
}

fn minutes(t: NaiveTime) -> i64 {
    (t - NaiveTime::MIN).num_minutes()
}

/// The hard rules any calendar must keep, checked from dates, times, rooms and attendees alone:
/// open days only, nobody in two places at once (or without time to travel), no room booked
/// twice.
fn check_hard_rules(occs: &[Occ], w: &World) {
    for o in occs {
        let day = o.date;
        assert!(
            holiday_on(day).is_none(),
            "{} on the holiday {:?}: {o:?}",
            o.key,
            holiday_on(day)
        );
        assert!(
            !is_year_end_closure(day),
            "{} in the year-end closure: {o:?}",
            o.key
        );
        assert!(
            !(day.month() == 12 && day.day() >= 29 || day.month() == 1 && day.day() <= 3),
            "{} between Dec 29 and Jan 3: {o:?}",
            o.key
        );
        assert!(
            !w.closures.contains(&day),
            "{} on a municipal closure day: {o:?}",
            o.key
        );
        assert!(o.start < o.end, "{o:?}");
    }
    // People: per person and day, every pair of meetings apart (with travel between venues).
    let mut by_person_day: BTreeMap<(i64, NaiveDate), Vec<&Occ>> = BTreeMap::new();
    for o in occs {
        for p in &o.attendees {
            by_person_day.entry((*p, o.date)).or_default().push(o);
        }
    }
    for ((p, day), mut list) in by_person_day {
        list.sort_by_key(|o| o.start);
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                let overlap = a.start < b.end && b.start < a.end;
                assert!(
                    !overlap,
                    "{} (#{p}) is in two meetings at once on {day}: {a:?} and {b:?}",
                    w.names.get(&p).map_or("?", |s| s.as_str())
                );
                if w.venue(a.room) != w.venue(b.room) {
                    assert!(
                        minutes(b.start) >= minutes(a.end) + DEFAULT_TRAVEL_MINUTES,
                        "{} (#{p}) has no time to travel on {day}: {a:?} then {b:?}",
                        w.names.get(&p).map_or("?", |s| s.as_str())
                    );
                }
            }
        }
    }
    // Rooms: per room and day, no two meetings overlap.
    let mut by_room_day: BTreeMap<(u32, NaiveDate), Vec<&Occ>> = BTreeMap::new();
    for o in occs {
        by_room_day.entry((o.room, o.date)).or_default().push(o);
    }
    for ((room, day), list) in by_room_day {
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                assert!(
                    !(a.start < b.end && b.start < a.end),
                    "room {room} is double booked on {day}: {a:?} and {b:?}"
                );
            }
        }
    }
}

/// Meetings are held on weekdays: staff without part-time days work Monday to Friday, even
/// where a venue also opens on Saturday. Checked apart from the other rules and last in each
/// test, so that a failure here does not hide the others.
fn check_weekdays(occs: &[Occ]) {
    let weekend: Vec<&Occ> = occs
        .iter()
        .filter(|o| matches!(o.date.weekday(), Weekday::Sat | Weekday::Sun))
        .collect();
    assert!(weekend.is_empty(), "meetings on a weekend: {weekend:#?}");
}

fn count_key(occs: &[Occ], key: &str) -> usize {
    occs.iter().filter(|o| o.key == key).count()
}

/// The Kumamoto structure of the demo in one quarter: each ward's network meeting once, the
/// plenary once and in May.
fn check_demo_quarter(occs: &[Occ], w: &World) {
    assert_eq!(w.wards.len(), 5, "the demo has five wards: {:?}", w.wards);
    for ward in &w.wards {
        let key = format!("WARDNET@{ward}");
        let mine: Vec<&Occ> = occs.iter().filter(|o| o.key == key).collect();
        assert_eq!(mine.len(), 1, "{key} meets once in the quarter: {mine:?}");
        assert_eq!(mine[0].kind, "ward_network");
        assert_eq!(&mine[0].ward, ward);
        assert!(!mine[0].attendees.is_empty(), "{key} has attendees");
    }
    assert_eq!(
        occs.iter().filter(|o| o.kind == "ward_network").count(),
        5,
        "no other ward network meetings"
    );
    let plenary: Vec<&Occ> = occs.iter().filter(|o| o.key == "PLENARY").collect();
    assert_eq!(plenary.len(), 1, "{plenary:?}");
    assert_eq!(
        plenary[0].date.month(),
        5,
        "the plenary meets in May: {plenary:?}"
    );
    assert_eq!(plenary[0].kind, "plenary");
    for o in occs {
        assert!(
            o.date >= d(Q1_FROM) && o.date <= d(Q1_TO),
            "{o:?} lies outside the quarter"
        );
    }
}

/// Checks a finished quarter run of the demo; returns its occurrences.
async fn check_demo_quarter_run(
    app: &TestApp,
    api: &Api,
    id: i64,
    run: &Value,
    w: &World,
) -> Vec<Occ> {
    let result = &run["result"];
    assert_eq!(
        result["valid"], true,
        "the plan passes the validator: {}",
        result["violations"]
    );
    assert!(
        result["infeasibility"].is_null(),
        "{}",
        result["infeasibility"]
    );
    assert_eq!(result["violations"].as_array().map(Vec::len), Some(0));
    let occs = planned(app, id, run).await;
    // The cadences' minimums, and at most what the indicators' targets add (each met).
    let required = result["required_occurrences"].as_u64().unwrap();
    let targets = result["targets"].as_array().unwrap();
    let extra: u64 = targets.iter().map(|t| t["min"].as_u64().unwrap()).sum();
    assert!(
        (required..=required + extra).contains(&(occs.len() as u64)),
        "the plan holds the meetings the cadences and the indicators ask for: {} of {required} + {extra}",
        occs.len()
    );
    for t in targets {
        assert_eq!(t["met"], true, "{t}");
    }
    assert_eq!(run["period_from"], Q1_FROM);
    assert_eq!(run["period_to"], Q1_TO);
    check_demo_quarter(&occs, w);
    check_hard_rules(&occs, w);
    // The run is listed.
    let runs: Vec<Value> = api.get_json("/api/v1/plans").await;
    assert!(runs.iter().any(|r| r["id"] == id), "the run is listed");
    occs
}

/// The demo with its first quarter planned and published: (app, token, run id, rows).
async fn published_demo_quarter(engine: Engine) -> (TestApp, String, i64, Vec<Row>) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let (id, run) = plan(&api, &quarter_request()).await;
    assert_eq!(run["result"]["valid"], true, "{}", run["result"]);
    let (status, summary) = publish(&api, id).await;
    assert_eq!(status, 200, "{summary}");
    let rows = occurrences(&api, &format!("from={Q1_FROM}&to={Q1_TO}")).await;
    assert_eq!(rows.len() as i64, summary["added"].as_i64().unwrap());
    (app, token, id, rows)
}

// ---------------------------------------------------------------------------------------------
// 1. The demo end to end
// ---------------------------------------------------------------------------------------------

async fn demo_quarter_is_planned_and_published(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let w = world(&api).await;

    let (id, run) = plan(&api, &quarter_request()).await;
    let occs = check_demo_quarter_run(&app, &api, id, &run, &w).await;
    // Proven optimal (the demo's quarter takes well under a second): the optimizer's own plan,
    // or the baseline when the optimizer proved that nothing beats it.
    let figures = &run["result"]["plan"];
    assert!(
        ["optimizer", "baseline"].contains(&figures["method"].as_str().unwrap_or("")),
        "{figures}"
    );
    assert_eq!(figures["status"], "optimal", "{figures}");
    assert!(run["published_at"].is_null());
    assert!(
        run["result"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["before"].is_null()),
        "nothing was published before, so every change is an addition"
    );

    // Publishing writes exactly the plan.
    let (status, summary) = publish(&api, id).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary["added"].as_i64().unwrap(),
        occs.len() as i64,
        "{summary}"
    );
    assert_eq!(summary["moved"], 0);
    assert_eq!(summary["cancelled"], 0);
    let run: Value = api.get_json(&format!("/api/v1/plans/{id}")).await;
    assert!(run["published_at"].is_string(), "{run}");

    // Publishing the same run again is refused.
    let (status, body) = publish(&api, id).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]["en"].as_str().unwrap().contains("already"),
        "{body}"
    );

    // The published calendar is the plan, attendees included, and keeps the rules.
    let rows = occurrences(&api, &format!("from={Q1_FROM}&to={Q1_TO}")).await;
    assert_eq!(rows.len(), occs.len());
    for r in &rows {
        assert_eq!(r.status, "scheduled");
        assert_eq!(r.sequence, 0);
        assert!(!r.attendees.is_empty(), "{} has attendees", r.title);
        assert!(
            r.attendees.iter().any(|a| a.required),
            "{} has required attendees",
            r.title
        );
        assert!(r.attendees.iter().all(|a| !a.name.is_empty()));
    }
    let uids: BTreeSet<&str> = rows.iter().map(|r| r.uid.as_str()).collect();
    assert_eq!(uids.len(), rows.len(), "uids are unique");
    let mut from_api = published(&rows);
    let mut from_plan = occs.clone();
    from_api.sort();
    from_plan.sort();
    assert_eq!(from_api, from_plan, "the published calendar is the plan");
    check_demo_quarter(&from_api, &w);
    check_hard_rules(&from_api, &w);

    // Filters: one ward, one person.
    let ward = w.wards.iter().next().unwrap();
    let url_ward = url_encode(ward);
    let ward_rows = occurrences(&api, &format!("from={Q1_FROM}&to={Q1_TO}&ward={url_ward}")).await;
    assert!(ward_rows
        .iter()
        .any(|r| r.series_key == format!("WARDNET@{ward}")));
    assert!(
        ward_rows.iter().all(|r| &r.ward == ward),
        "the ward filter holds"
    );
    let person = rows[0].attendees[0].person_id;
    let mine = occurrences(&api, &format!("person={person}")).await;
    let expected = rows
        .iter()
        .filter(|r| r.attendees.iter().any(|a| a.person_id == person))
        .count();
    assert_eq!(mine.len(), expected, "the person filter holds");
    // Outside the quarter there is nothing.
    assert!(occurrences(&api, "from=2027-07-01&to=2027-09-30")
        .await
        .is_empty());
    app.stop().await;
    check_weekdays(&from_api);
}
both_engines!(demo_quarter_is_planned_and_published);

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A whole fiscal year of the demo: the plenary in May, October and February, each ward's
/// network meeting once per quarter. SQLite only: the larger solve is the same on both engines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fiscal_year_keeps_the_documented_cadences() {
    let (app, token) = demo_app(Engine::Sqlite).await;
    let api = app.api(&token);
    let w = world(&api).await;
    let (id, run) = plan(
        &api,
        &json!({"period": "FY2027", "planning_date": PLANNING_DATE, "time_limit_seconds": 60}),
    )
    .await;
    let result = &run["result"];
    assert_eq!(result["valid"], true, "{}", result["violations"]);
    assert!(result["infeasibility"].is_null());
    assert_eq!(run["period_from"], "2027-04-01");
    assert_eq!(run["period_to"], "2028-03-31");
    let occs = planned(&app, id, &run).await;
    assert_eq!(
        occs.len() as u64,
        result["required_occurrences"].as_u64().unwrap()
    );
    check_hard_rules(&occs, &w);

    let mut plenary: Vec<NaiveDate> = occs
        .iter()
        .filter(|o| o.key == "PLENARY")
        .map(|o| o.date)
        .collect();
    plenary.sort();
    let months: Vec<u32> = plenary.iter().map(|d| d.month()).collect();
    assert_eq!(
        months,
        [5, 10, 2],
        "the plenary meets in May, October and February: {plenary:?}"
    );

    assert_eq!(w.wards.len(), 5);
    for ward in &w.wards {
        let key = format!("WARDNET@{ward}");
        let mut quarters: Vec<u32> = occs
            .iter()
            .filter(|o| o.key == key)
            .map(|o| (o.date.month() + 8) % 12 / 3 + 1)
            .collect();
        quarters.sort();
        assert_eq!(quarters, [1, 2, 3, 4], "{key} meets once in each quarter");
    }
    // Monthly series: once in each month they may meet.
    for code in ["SUB-SOUDAN", "LIAISON-KYOKA"] {
        let mut months: Vec<u32> = occs
            .iter()
            .filter(|o| o.key == code)
            .map(|o| o.date.month())
            .collect();
        months.sort();
        assert_eq!(
            months,
            (1..=12).collect::<Vec<_>>(),
            "{code} meets every month"
        );
    }
    assert_eq!(
        count_key(&occs, "VERIFICATION"),
        24,
        "24 case verifications a year"
    );
    // The optimizer plans the demo's year itself (no fallback) and proves it optimal.
    assert_eq!(result["plan"]["method"], "optimizer", "{}", result["plan"]);
    assert_eq!(result["plan"]["status"], "optimal", "{}", result["plan"]);
    assert!(
        result["plan"]["note"].is_null(),
        "{}",
        result["plan"]["note"]
    );
    // The 40 office visits (one series per office, one family) are spread over the year, not
    // crowded into a few weeks: a few in every month.
    let mut visits: BTreeMap<u32, usize> = BTreeMap::new();
    for o in occs.iter().filter(|o| o.key.starts_with("VISIT@")) {
        *visits.entry(o.date.month()).or_default() += 1;
    }
    assert_eq!(visits.values().sum::<usize>(), 40, "{visits:?}");
    assert_eq!(visits.len(), 12, "visits in every month: {visits:?}");
    assert!(visits.values().all(|n| *n <= 5), "{visits:?}");
    app.stop().await;
    check_weekdays(&occs);
}

// ---------------------------------------------------------------------------------------------
// 2. Impossible rules are explained
// ---------------------------------------------------------------------------------------------

/// Every conflict names its rules and what would help, in both languages; returns all English
/// text.
fn check_explanation(result: &Value) -> String {
    assert_eq!(result["valid"], false, "{result}");
    let conflicts = result["infeasibility"]["conflicts"]
        .as_array()
        .unwrap_or_else(|| panic!("no conflicts: {result}"));
    assert!(!conflicts.is_empty(), "{result}");
    assert!(
        result["occurrences"].as_array().unwrap().is_empty(),
        "no plan is offered"
    );
    let mut en = String::new();
    for c in conflicts {
        let rules = c["rules"].as_array().unwrap();
        assert!(!rules.is_empty(), "{c}");
        for text in rules.iter().chain(c["relaxations"].as_array().unwrap()) {
            let ja = text["ja"].as_str().unwrap();
            let e = text["en"].as_str().unwrap();
            assert!(!ja.trim().is_empty() && !e.trim().is_empty(), "{c}");
            assert!(!ja.is_ascii(), "the Japanese text is Japanese: {ja}");
            en.push_str(e);
            en.push('\n');
        }
        assert!(
            !c["relaxations"].as_array().unwrap().is_empty(),
            "a relaxation is suggested: {c}"
        );
    }
    en
}

async fn impossible_rules_get_an_explanation(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let people: Vec<Value> = api.get_json("/api/v1/master/people?limit=1000").await;
    let person = &people[0];
    let (pid, code, name) = (
        person["id"].as_i64().unwrap(),
        person["code"].as_str().unwrap(),
        person["name"].as_str().unwrap(),
    );

    // A meeting whose one required person is away for the whole quarter.
    let res = api
        .post_json(
            "/api/v1/series",
            &json!({
                "code": "ABSENT-CHAIR", "title": "不在者の会議", "kind": "other", "duration_minutes": 60,
                "cadence": {"per": "quarter", "min": 1, "max": 1}, "required_people": [code]
            }),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = api
        .post_json(
            &format!("/api/v1/people/{pid}/absences"),
            &json!({"from": Q1_FROM, "to": Q1_TO, "reason": "長期研修"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let mut body = quarter_request();
    body["series"] = json!(["ABSENT-CHAIR"]);
    let (id, run) = plan(&api, &body).await;
    let en = check_explanation(&run["result"]);
    assert!(en.contains("absent"), "the absence is named: {en}");
    assert!(en.contains(name), "the person is named: {en}");
    let (status, body) = publish(&api, id).await;
    assert_eq!(
        status, 409,
        "an impossible plan cannot be published: {body}"
    );
    assert!(
        occurrences(&api, "").await.is_empty(),
        "nothing was published"
    );

    // More meetings in May than May has open days.
    let res = api
        .post_json(
            "/api/v1/series",
            &json!({
                "code": "TOO-MANY", "title": "多すぎる会議", "kind": "other", "duration_minutes": 60,
                "cadence": {"per": "month", "min": 25, "max": 25, "months": [5]},
                "organisations": [{"kinds": ["core_center"]}]
            }),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let mut body = quarter_request();
    body["series"] = json!(["TOO-MANY"]);
    let (id, run) = plan(&api, &body).await;
    let en = check_explanation(&run["result"]);
    assert!(
        en.contains("多すぎる会議") || en.contains("TOO-MANY"),
        "the series is named: {en}"
    );
    let (status, _) = publish(&api, id).await;
    assert_eq!(status, 409);
    app.stop().await;
}
both_engines!(impossible_rules_get_an_explanation);

// ---------------------------------------------------------------------------------------------
// 3. Validation and permissions
// ---------------------------------------------------------------------------------------------

fn series_body() -> Value {
    json!({
        "code": "NET", "title": "ネットワーク会議", "kind": "ward_network", "duration_minutes": 120,
        "repeat": "per_ward", "cadence": {"per": "quarter", "min": 1, "max": 1},
        "organisations": [{"kinds": ["ward_section"], "same_ward": true}],
        "preferred_start": "13:30-15:00", "preferred_weekdays": ["火", "thu"]
    })
}

async fn bad_series_and_plan_requests_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let tn = tenant(app.db(), "valid").await;
    let admin = app.api(&tn.admin_token);
    let viewer = app.api(&tn.viewer_token);

    // Unknown field: 400 naming it.
    let mut b = series_body();
    b["colour"] = json!("red");
    let (status, body) = status_json(admin.post_json("/api/v1/series", &b).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]["en"].as_str().unwrap().contains("colour"),
        "{body}"
    );

    // Unknown kind: 400 naming the value and what is allowed.
    let mut b = series_body();
    b["kind"] = json!("spaceship");
    let (status, body) = status_json(admin.post_json("/api/v1/series", &b).await).await;
    assert_eq!(status, 400, "{body}");
    let en = body["message"]["en"].as_str().unwrap();
    assert!(
        en.contains("spaceship") && en.contains("ward_network"),
        "{body}"
    );

    // Values that cannot hold: 422 listing every field.
    let mut b = series_body();
    b["cadence"]["min"] = json!(3);
    b["cadence"]["max"] = json!(2);
    b["duration_minutes"] = json!(50);
    b["code"] = json!("bad code");
    b["preferred_start"] = json!("noon");
    let (status, body) = status_json(admin.post_json("/api/v1/series", &b).await).await;
    assert_eq!(status, 422, "{body}");
    let fields = field_names(&body);
    for f in ["code", "duration_minutes", "cadence", "preferred_start"] {
        assert!(fields.iter().any(|x| x == f), "{f} missing in {fields:?}");
    }
    let cadence = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "cadence")
        .unwrap();
    assert!(!cadence["message"]["ja"].as_str().unwrap().is_empty());
    assert!(
        cadence["message"]["en"].as_str().unwrap().contains("min"),
        "{cadence}"
    );

    // Codes of records that do not exist: 422 naming the field and the code.
    let mut b = series_body();
    b["required_people"] = json!(["NOBODY-1"]);
    b["venues"] = json!(["NOWHERE"]);
    let (status, body) = status_json(admin.post_json("/api/v1/series", &b).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field_names(&body), ["required_people", "venues"]);
    assert!(body.to_string().contains("NOBODY-1"), "{body}");
    assert!(
        admin
            .get_json::<Vec<Value>>("/api/v1/series")
            .await
            .is_empty(),
        "nothing was saved"
    );

    // A good one is saved and read back; its code is then taken.
    let res = admin.post_json("/api/v1/series", &series_body()).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let row: Value = admin.get_json(&format!("/api/v1/series/{id}")).await;
    assert_eq!(row["code"], "NET");
    assert_eq!(row["kind"], "ward_network");
    assert_eq!(row["active"], true);
    assert_eq!(row["spec"]["repeat"], "per_ward");
    let (status, body) = status_json(admin.post_json("/api/v1/series", &series_body()).await).await;
    assert_eq!(status, 409, "{body}");
    // Updating with bad input is refused the same way.
    let mut b = series_body();
    b["cadence"]["max"] = json!(0);
    let (status, body) =
        status_json(admin.put_json(&format!("/api/v1/series/{id}"), &b).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field_names(&body), ["cadence"]);
    assert_eq!(admin.get("/api/v1/series/999999").await.status(), 404);

    // Plan requests.
    let plan_errors = |body: Value| {
        let admin = &admin;
        async move { status_json(admin.post_json("/api/v1/plans", &body).await).await }
    };
    let (status, body) =
        plan_errors(json!({"period": "2027Q5", "planning_date": PLANNING_DATE})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field_names(&body), ["period"]);
    assert!(body["fields"][0]["message"]["en"]
        .as_str()
        .unwrap()
        .contains("2027Q5"));
    let (status, body) = plan_errors(
        json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "time_limit_seconds": 0}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field_names(&body), ["time_limit_seconds"]);
    let (status, body) = plan_errors(
        json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "time_limit_seconds": 601}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field_names(&body), ["time_limit_seconds"]);
    let (status, body) =
        plan_errors(json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "method": "magic"}))
            .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field_names(&body), ["method"]);
    let (status, body) =
        plan_errors(json!({"period": "2025Q1", "planning_date": PLANNING_DATE})).await;
    assert_eq!(status, 422, "a period in the past: {body}");
    assert_eq!(field_names(&body), ["period"]);
    let (status, body) =
        plan_errors(json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "priority": 1}))
            .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]["en"].as_str().unwrap().contains("priority"),
        "{body}"
    );
    let (status, body) = plan_errors(
        json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "series": ["NOPE"]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field_names(&body), ["series"]);
    assert!(
        admin
            .get_json::<Vec<Value>>("/api/v1/plans")
            .await
            .is_empty(),
        "no run was started"
    );

    // Viewers read but do not write.
    assert_eq!(
        viewer
            .post_json("/api/v1/series", &series_body())
            .await
            .status(),
        403
    );
    assert_eq!(
        viewer
            .post_json("/api/v1/plans", &quarter_request())
            .await
            .status(),
        403
    );
    assert_eq!(
        viewer
            .post_json("/api/v1/series/presets/meguro", &json!({}))
            .await
            .status(),
        403
    );
    assert_eq!(viewer.get("/api/v1/series").await.status(), 200);
    assert_eq!(app.anonymous().get("/api/v1/series").await.status(), 401);

    // Another municipality's series is not found.
    let other = tenant(app.db(), "other").await;
    assert_eq!(
        app.api(&other.admin_token)
            .get(&format!("/api/v1/series/{id}"))
            .await
            .status(),
        404
    );
    app.stop().await;
}
both_engines!(bad_series_and_plan_requests_are_refused);

// ---------------------------------------------------------------------------------------------
// 4. Re-planning against the published calendar
// ---------------------------------------------------------------------------------------------

async fn replanning_moves_few_meetings_and_keeps_their_identity(engine: Engine) {
    let (app, token, first, rows) = published_demo_quarter(engine).await;
    let api = app.api(&token);
    let w = world(&api).await;

    // Someone required at one ward network meeting is away on its day; pick the attendee with
    // the fewest other meetings that day, so the change stays small.
    let target = rows
        .iter()
        .find(|r| r.kind == "ward_network")
        .expect("a ward network meeting")
        .clone();
    let busy = |p: i64| {
        rows.iter()
            .filter(|r| r.date == target.date && r.attendees.iter().any(|a| a.person_id == p))
            .count()
    };
    let person = target
        .attendees
        .iter()
        .filter(|a| a.required)
        .min_by_key(|a| (busy(a.person_id), a.person_id))
        .expect("a required attendee")
        .person_id;
    let res = api
        .post_json(
            &format!("/api/v1/people/{person}/absences"),
            &json!({"from": &target.date, "reason": "出張"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

    let (second, run) = plan(&api, &quarter_request()).await;
    let occs = check_demo_quarter_run(&app, &api, second, &run, &w).await;
    assert!(
        !occs
            .iter()
            .any(|o| o.date == d(&target.date) && o.attendees.contains(&person)),
        "the absent person has no meeting on {}",
        target.date
    );
    let (_, _, refs): (_, _, Vec<SeriesRef>) = app.db().plan_run_input(second).await.unwrap();
    let changes = run["result"]["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    assert!(
        changes.len() < 5,
        "a small repair, not a new calendar: {changes:#?}"
    );
    let moved = changes
        .iter()
        .find(|c| {
            refs[c["series"].as_u64().unwrap() as usize].key == target.series_key
                && c["before"]["date"] == target.date.as_str()
        })
        .unwrap_or_else(|| {
            panic!(
                "{} of {} is among the changes: {changes:#?}",
                target.series_key, target.date
            )
        });
    assert_ne!(moved["after"]["date"], target.date.as_str(), "{moved}");
    assert!(
        moved["notify"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_i64() == Some(person)),
        "the absent person is told: {moved}"
    );

    // A third run made now, before the second is published, goes stale by that publication.
    let third = start_plan(&api, &quarter_request()).await;
    let (status, summary) = publish(&api, second).await;
    assert_eq!(status, 200, "{summary}");
    assert!(summary["moved"].as_i64().unwrap() >= 1, "{summary}");
    // Publishing does what the plan's changes say: the moves, and (where a cadence window
    // allows one more) an added meeting.
    let kind = |c: &&Value| (c["before"].is_null(), c["after"].is_null());
    let moved_n = changes.iter().filter(|c| kind(c) == (false, false)).count();
    let added_n = changes.iter().filter(|c| kind(c) == (true, false)).count();
    assert_eq!(
        summary["moved"].as_i64().unwrap() as usize,
        moved_n,
        "{summary} {changes:#?}"
    );
    assert_eq!(
        summary["added"].as_i64().unwrap() as usize,
        added_n,
        "{summary} {changes:#?}"
    );
    assert_eq!(summary["cancelled"], 0);
    assert_eq!(
        moved_n + added_n,
        changes.len(),
        "nothing cancelled: {changes:#?}"
    );
    assert_eq!(
        summary["unchanged"].as_i64().unwrap() as usize,
        rows.len() - moved_n
    );

    let after = occurrences(&api, &format!("from={Q1_FROM}&to={Q1_TO}")).await;
    assert_eq!(after.len(), rows.len() + added_n, "moved, not cancelled");
    let same = after
        .iter()
        .find(|r| r.id == target.id)
        .expect("the occurrence is still there");
    assert_eq!(same.uid, target.uid, "a moved meeting keeps its uid");
    assert_eq!(same.sequence, 1, "and raises its sequence");
    assert_ne!(same.date, target.date);
    assert_eq!(same.date, moved["after"]["date"].as_str().unwrap());
    assert_eq!(same.status, "scheduled");
    let unchanged = after.iter().filter(|r| r.sequence == 0).count();
    assert_eq!(
        unchanged,
        rows.len() - moved_n + added_n,
        "everything else keeps sequence 0 (as do added meetings)"
    );
    check_hard_rules(&published(&after), &w);

    // The first run was published already; the third was planned against the old calendar.
    let (status, body) = publish(&api, first).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]["en"].as_str().unwrap().contains("already"),
        "{body}"
    );
    let run = wait_plan(&api, third).await;
    assert_eq!(run["result"]["valid"], true);
    let (status, body) = publish(&api, third).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]["en"]
            .as_str()
            .unwrap()
            .contains("another plan was published"),
        "{body}"
    );
    assert_eq!(
        occurrences(&api, &format!("from={Q1_FROM}&to={Q1_TO}"))
            .await
            .len(),
        after.len(),
        "refused publications change nothing"
    );
    app.stop().await;
    check_weekdays(&published(&after));
}
both_engines!(replanning_moves_few_meetings_and_keeps_their_identity);

// ---------------------------------------------------------------------------------------------
// 5. Exports and feeds
// ---------------------------------------------------------------------------------------------

async fn calendar_exports_and_feeds(engine: Engine) {
    let (app, token, _, rows) = published_demo_quarter(engine).await;
    let api = app.api(&token);
    let range = format!("from={Q1_FROM}&to={Q1_TO}");
    // The demo's meeting held by another body is exported too, marked (`tests/held.rs`).
    let listed: Vec<Value> = api
        .get_json(&format!("/api/v1/occurrences?{range}&limit=1000"))
        .await;
    let held = listed.len() - rows.len();

    // CSV: UTF-8 with a BOM (Excel), Japanese headings, one record per meeting.
    let res = api
        .get(&format!("/api/v1/occurrences/export?format=csv&{range}"))
        .await;
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a UTF-8 BOM first");
    let text = std::str::from_utf8(&bytes[3..]).expect("UTF-8");
    assert!(
        text.starts_with("日付,"),
        "{}",
        &text[..text.len().min(200)]
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headings: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        headings,
        [
            "日付",
            "曜日",
            "開始",
            "終了",
            "会議",
            "種別",
            "区",
            "会場",
            "部屋",
            "出席者",
            "状態"
        ]
    );
    let records: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| !r[4].contains("他機関主催"))
        .collect();
    assert_eq!(records.len(), rows.len(), "one line per occurrence");
    assert_eq!(
        text.lines().count(),
        rows.len() + held + 1,
        "no line breaks inside fields"
    );
    for (rec, row) in records.iter().zip(&rows) {
        assert_eq!(&rec[0], row.date);
        assert_eq!(&rec[2], row.start);
        assert_eq!(&rec[4], row.title);
        assert_eq!(&rec[10], "予定");
        assert!(rec[9].contains(&row.attendees[0].name), "{rec:?}");
    }
    // English headings on request.
    let res = api
        .get(&format!(
            "/api/v1/occurrences/export?format=csv&lang=en&{range}"
        ))
        .await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.trim_start_matches('\u{feff}')
            .starts_with("date,weekday,start"),
        "{}",
        &text[..80]
    );

    // XLSX: a zip with the same rows.
    let res = api
        .get(&format!("/api/v1/occurrences/export?format=xlsx&{range}"))
        .await;
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.contains("spreadsheetml"), "{ct}");
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX file is a zip");
    {
        use calamine::Reader;
        let mut book =
            calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let sheet = book.worksheet_range_at(0).expect("a sheet").unwrap();
        assert_eq!(sheet.height(), rows.len() + held + 1);
        assert_eq!(sheet.get((0, 0)).unwrap().to_string(), "日付");
    }
    // A bad format is refused.
    let res = api
        .get(&format!("/api/v1/occurrences/export?format=pdf&{range}"))
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    let res = api.get("/api/v1/occurrences?from=2027-13-01").await;
    assert_eq!(res.status(), 422);

    // The feed of someone with several meetings.
    let mut per_person: BTreeMap<i64, usize> = BTreeMap::new();
    for r in &rows {
        for a in &r.attendees {
            *per_person.entry(a.person_id).or_default() += 1;
        }
    }
    let (&person, &count) = per_person.iter().max_by_key(|(p, n)| (**n, -**p)).unwrap();
    assert!(count >= 2);
    let link: Value = api
        .get_json(&format!("/api/v1/feeds/person/{person}"))
        .await;
    let path = link["path"].as_str().unwrap().to_string();
    assert!(
        path.starts_with("/feeds/") && path.ends_with(".ics"),
        "{path}"
    );
    let plain = crate::support::client();
    let res = plain.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 200, "the feed needs no login");
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/calendar"), "{ct}");
    let text = res.text().await.unwrap();
    assert_eq!(text.matches("\nPRODID:").count(), 1, "one PRODID: {text}");
    let cal: icalendar::Calendar = text.parse().expect("the feed parses as iCalendar");
    // Meetings held by other bodies the person attends are in the feed too (`tests/held.rs`).
    let (held_events, events): (Vec<&icalendar::Event>, Vec<&icalendar::Event>) = cal
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .partition(|e| {
            e.get_description()
                .is_some_and(|d| d.contains("Held by another body"))
        });
    assert_eq!(
        text.matches("BEGIN:VEVENT").count(),
        count + held_events.len(),
        "{text}"
    );
    assert_eq!(events.len(), count);
    let mine: HashMap<&str, &Row> = rows
        .iter()
        .filter(|r| r.attendees.iter().any(|a| a.person_id == person))
        .map(|r| (r.uid.as_str(), r))
        .collect();
    assert_eq!(mine.len(), count);
    for e in &events {
        let uid = e.get_uid().expect("UID");
        let row = mine
            .get(uid)
            .unwrap_or_else(|| panic!("{uid} is one of the person's meetings"));
        assert_eq!(e.get_summary(), Some(row.title.as_str()));
        assert_eq!(e.get_sequence(), Some(0));
        let start = jst_to_utc(d(&row.date), t(&row.start));
        assert_eq!(
            e.get_start(),
            Some(icalendar::DatePerhapsTime::DateTime(
                icalendar::CalendarDateTime::Utc(start)
            )),
            "{uid}"
        );
    }
    // Room and organisation feeds are linked too (office visits take place at the office,
    // which is no room of the municipality's).
    let room = rows
        .iter()
        .find_map(|r| r.room_id)
        .expect("a meeting in a room");
    let link: Value = api.get_json(&format!("/api/v1/feeds/room/{room}")).await;
    let res = plain
        .get(app.url(link["path"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert_eq!(
        text.matches("BEGIN:VEVENT").count(),
        rows.iter().filter(|r| r.room_id == Some(room)).count()
    );

    // A wrong token, another person's token, an unknown kind: not found.
    let mut wrong = path.clone();
    let i = wrong.len() - ".ics".len() - 1;
    let c = if &wrong[i..i + 1] == "0" { "1" } else { "0" };
    wrong.replace_range(i..i + 1, c);
    assert_eq!(
        plain.get(app.url(&wrong)).send().await.unwrap().status(),
        404
    );
    let other = per_person.keys().find(|p| **p != person).unwrap();
    let stolen = path.replace(&format!("/person/{person}/"), &format!("/person/{other}/"));
    assert_eq!(
        plain.get(app.url(&stolen)).send().await.unwrap().status(),
        404
    );
    let no_ext = path.trim_end_matches(".ics");
    assert_eq!(
        plain.get(app.url(no_ext)).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        api.get(&format!("/api/v1/feeds/spaceship/{person}"))
            .await
            .status(),
        404
    );
    app.stop().await;
}
both_engines!(calendar_exports_and_feeds);

// ---------------------------------------------------------------------------------------------
// 6. Presets
// ---------------------------------------------------------------------------------------------

async fn presets_are_listed_and_applied_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let tn = tenant(app.db(), "fresh").await;
    let api = app.api(&tn.coordinator_token);

    let presets: Vec<Value> = api.get_json("/api/v1/series/presets").await;
    let slugs: Vec<&str> = presets
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["kumamoto", "meguro", "hiratsuka", "sendai"]);
    for p in &presets {
        assert!(p["series"].as_u64().unwrap() > 0, "{p}");
        assert!(!p["label"]["ja"].as_str().unwrap().is_empty(), "{p}");
        assert!(!p["label"]["en"].as_str().unwrap().is_empty(), "{p}");
    }
    let meguro = presets[1]["series"].as_i64().unwrap();

    // Planning with no series says what to do first.
    let (status, body) =
        status_json(api.post_json("/api/v1/plans", &quarter_request()).await).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]["en"].as_str().unwrap().contains("preset"),
        "{body}"
    );

    let (status, body) = status_json(
        api.post_json("/api/v1/series/presets/meguro", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["added"].as_i64(), Some(meguro));
    let series: Vec<Value> = api.get_json("/api/v1/series").await;
    assert_eq!(series.len() as i64, meguro);
    assert!(series
        .iter()
        .any(|s| s["code"] == "OPERATING" && s["kind"] == "operating_committee"));
    assert!(series.iter().all(|s| s["active"] == true));

    let (status, body) = status_json(
        api.post_json("/api/v1/series/presets/meguro", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["added"], 0, "applying a preset twice adds nothing");
    assert_eq!(
        api.get_json::<Vec<Value>>("/api/v1/series").await.len() as i64,
        meguro
    );
    assert!(
        !api.get_json::<Vec<Value>>("/api/v1/series")
            .await
            .iter()
            .any(|s| s["code"] == "LAWYER"),
        "Meguro (002): 弁護士による相談会「2年目～ 年2回」: none in the first year"
    );

    // The second contract year: the lawyer's day is added, the operating meeting becomes
    // three a year (「2年度～ 年3回」) and the いどばた会議 monthly (「月1回」); the rest of each
    // series stays as it was.
    let (status, body) = status_json(
        api.post_json(
            "/api/v1/series/presets/meguro",
            &json!({"contract_year": 2}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["added"].as_i64(), body["updated"].as_i64()),
        (Some(1), Some(2)),
        "{body}"
    );
    let series: Vec<Value> = api.get_json("/api/v1/series").await;
    let operating = series.iter().find(|s| s["code"] == "OPERATING").unwrap();
    let cadence = &operating["spec"]["cadence"];
    assert_eq!(
        (
            cadence["per"].as_str(),
            cadence["min"].as_i64(),
            cadence["max"].as_i64()
        ),
        (Some("fiscal_year"), Some(3), Some(3)),
        "{operating}"
    );
    let idobata = series.iter().find(|s| s["code"] == "IDOBATA").unwrap();
    assert_eq!(idobata["spec"]["cadence"]["per"], "month", "{idobata}");
    let lawyer = series
        .iter()
        .find(|s| s["code"] == "LAWYER")
        .expect("added");
    assert_eq!(lawyer["spec"]["cadence"]["min"], 2, "{lawyer}");
    let (status, body) = status_json(
        api.post_json(
            "/api/v1/series/presets/meguro",
            &json!({"contract_year": 0}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(field_names(&body), ["contract_year"], "{body}");

    let res = api
        .post_json("/api/v1/series/presets/osaka", &json!({}))
        .await;
    assert_eq!(res.status(), 404);

    // Other municipalities are untouched.
    let other = tenant(app.db(), "untouched").await;
    assert!(app
        .api(&other.admin_token)
        .get_json::<Vec<Value>>("/api/v1/series")
        .await
        .is_empty());
    app.stop().await;
}
both_engines!(presets_are_listed_and_applied_once);
