//! Meeting calendars on the demo municipality: building the instance from master data, planning
//! a quarter and a fiscal year, the rules the documents set, publishing and re-planning.

use chrono::{Datelike, NaiveDate};
use renkei::demo;
use renkei::meetings::build::{build, Request};
use renkei::planning::{self, Method};
use renkei::store::Db;
use renkei_solver::schedule::model::{DateRange, Weights};

use crate::support::{Engine, TestDb};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn demo_db(engine: Engine) -> (TestDb, renkei::store::tenancy::MunicipalityId) {
    let t = TestDb::new(engine).await;
    demo::load(&t.db).await.expect("demo loads");
    let m = t.db.municipality_by_code("demo").await.unwrap().unwrap().id;
    (t, m)
}

async fn solve_period(db: &Db, m: renkei::store::tenancy::MunicipalityId, from: &str, to: &str, limit: f64) -> planning::SolveReport {
    let snap = db.planning_snapshot(m).await.unwrap();
    let built = build(
        &snap,
        &Request {
            label: format!("{from}..{to}"),
            period: DateRange { from: d(from), to: d(to) },
            planning_date: d("2026-11-23"),
            time_limit_seconds: limit,
            grain_minutes: 30,
            weights: Weights::default(),
            only: Vec::new(),
        },
    );
    for n in &built.notes {
        eprintln!("note: {}", n.en);
    }
    let instance = built.instance;
    tokio::task::spawn_blocking(move || planning::solve(&instance, Method::Milp).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_quarter_experiment() {
    let (t, m) = demo_db(Engine::Sqlite).await;
    let r = solve_period(&t.db, m, "2027-04-01", "2027-06-30", 20.0).await;
    eprintln!("Q1: valid {} occ {} req {} seconds {:.1} plan {:?} infeasible {:?}", r.valid, r.occurrences.len(), r.required_occurrences, r.seconds, r.plan, r.infeasibility);
    let r = solve_period(&t.db, m, "2027-04-01", "2028-03-31", 60.0).await;
    eprintln!("FY: valid {} occ {} req {} seconds {:.1} plan {:?} infeasible {:?}", r.valid, r.occurrences.len(), r.required_occurrences, r.seconds, r.plan, r.infeasibility);
    let _ = r.occurrences.iter().map(|o| o.date.month()).count();
}
