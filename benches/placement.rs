//! Vacancy search over HTTP on the embedded default (SQLite): 2,000 beds × 365 nights of
//! bookings from the engine's deterministic generator, loaded through the store; then 32
//! concurrent clients on loopback search random stays and needs; prints p50 / p99 / max
//! latency and throughput. Then one request is placed into that state through the batch
//! endpoint (optimizer + validator + holds), and timed.
//!
//!   cargo bench --bench placement            # defaults: 2000 beds, 365 nights, 32 clients
//!   RENKEI_BENCH_BEDS=500 cargo bench --bench placement
//!
//! Run it on a quiet machine; it reports what it measured and nothing else.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use renkei::app::App;
use renkei::auth::{create_api_token, hash_password, Role};
use renkei::config::Config;
use renkei::placement::{BedInput, FacilityInput, RoomInput};
use renkei::store::placement::Actor;
use renkei::store::Db;
use renkei_solver::placement::generate;
use renkei_solver::placement::model::{Nights, Request};
use serde_json::json;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn slug<T: serde::Serialize>(v: &T) -> String {
    renkei::placement::slug(v)
}

/// A search for a random stay of 1-14 nights with the needs of one of the generated requests.
fn search_body(
    requests: &[Request],
    first: chrono::NaiveDate,
    nights: u32,
    seed: u64,
) -> serde_json::Value {
    let r = &requests[(seed >> 33) as usize % requests.len()];
    let start =
        first + chrono::Days::new((seed >> 20) % u64::from(nights.saturating_sub(15).max(1)));
    let len = 1 + (seed >> 45) % 14;
    json!({
        "from": start.to_string(), "to": (start + chrono::Days::new(len)).to_string(),
        "sex": slug(&r.needs.sex), "child": r.needs.child, "wheelchair": r.needs.wheelchair,
        "disability_types": r.needs.disability_types.iter().map(slug).collect::<Vec<_>>(),
        "medical_care": r.needs.medical_care.iter().map(slug).collect::<Vec<_>>(),
        "behavioural_support": r.needs.behavioural_support, "night_staff": r.needs.night_staff,
        "home_x_km": r.home.x_km, "home_y_km": r.home.y_km,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let beds = env_usize("RENKEI_BENCH_BEDS", 2000);
    let nights = env_usize("RENKEI_BENCH_NIGHTS", 365) as u32;
    let clients = env_usize("RENKEI_BENCH_CLIENTS", 32);
    let per_client = env_usize("RENKEI_BENCH_SEARCHES", 40);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let db = Db::connect(&url).await?;
    db.migrate().await?;

    // The state: the generator's facilities, rooms, beds and taken bed-nights.
    let started = Instant::now();
    let inst = generate::instance(beds, nights, 200, 7);
    let m = db.create_municipality("bench", "ベンチ市", "Bench").await?;
    db.create_user(
        m,
        "bench-hub",
        "ベンチ",
        &hash_password("bench-password-1")?,
        Role::HubStaff,
    )
    .await?;
    let user = db.user_by_username("bench-hub").await?.expect("user");
    let token = create_api_token(&db, &user, "bench").await?;
    let mut bed_map: HashMap<u32, i64> = HashMap::new();
    let mut taken_by_bed: HashMap<u32, Vec<&renkei_solver::placement::model::Taken>> =
        HashMap::new();
    for t in &inst.taken {
        taken_by_bed.entry(t.bed).or_default().push(t);
    }
    for f in &inst.facilities {
        let org = format!("ORG-{}", f.id);
        sqlx::query("INSERT INTO organisations (municipality_id, code, name, kind, created_at, updated_at) VALUES ($1, $2, $3, 'short_stay', '', '')")
            .bind(m.0)
            .bind(&org)
            .bind(&f.name)
            .execute(&db.pool)
            .await?;
        let rooms: Vec<_> = inst.rooms.iter().filter(|r| r.facility == f.id).collect();
        let input = FacilityInput {
            code: format!("F-{}", f.id),
            organisation: org,
            name: f.name.clone(),
            kind: slug(&f.kind),
            x_km: f.location.x_km,
            y_km: f.location.y_km,
            disability_types: f.disability_types.iter().map(slug).collect(),
            adults: f.adults,
            children: f.children,
            medical_care: f.medical_care.iter().map(slug).collect(),
            behavioural_support: f.behavioural_support,
            night_staff: f.night_staff,
            contact_email: String::new(),
            rooms: rooms
                .iter()
                .map(|r| RoomInput {
                    name: r.name.clone(),
                    sex_policy: slug(&r.sex_policy),
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
        let valid = input.parse().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let id = db.create_facility(&user, &valid).await?;
        let row = db.facility(m, id).await?;
        // Beds are created in the order given, so they pair up with the generator's.
        let generated: Vec<u32> = rooms
            .iter()
            .flat_map(|r| inst.beds.iter().filter(|b| b.room == r.id).map(|b| b.id))
            .collect();
        let mut items = Vec::new();
        for ((_, bed), gid) in row.beds().zip(generated) {
            bed_map.insert(gid, bed.id);
            let mut list: Vec<_> = taken_by_bed.remove(&gid).unwrap_or_default();
            list.sort_by_key(|t| t.night);
            for t in list {
                items.push(renkei::placement::ValidOccupancy {
                    bed_id: bed.id,
                    nights: Nights::new(t.night, t.night.succ_opt().unwrap()),
                    occupied: true,
                    sex: t.sex,
                });
            }
        }
        db.set_occupancy(m, Actor::User(&user), id, &items).await?;
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bed_nights")
        .fetch_one(&db.pool)
        .await?;
    println!(
        "state: {} facilities, {} beds, {} nights, {rows} taken bed-nights, loaded in {:.1} s",
        inst.facilities.len(),
        bed_map.len(),
        nights,
        started.elapsed().as_secs_f64()
    );

    let config = Config {
        database_url: url.clone(),
        listen: "127.0.0.1:0".into(),
        run_worker: false,
        ..Config::default()
    };
    let app = App::with_db(config, db.clone()).await?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run(async {
            let _ = stopped.await;
        })
        .await
    });

    // Searches: random stays of 1-14 nights with the generator's requests' needs.
    let requests = inst.requests.clone();
    let first = generate::first_night();
    // One client first: the service time of a search without queueing. The very first search
    // of a stay finds the in-memory index empty and loads its months from the database.
    {
        let client = reqwest::Client::new();
        let body = search_body(&requests, first, nights, 0x5DEE_CE66_D1CE_4E5Bu64);
        let t = Instant::now();
        let res = client
            .post(format!("{base}/api/v1/placement/search"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?;
        let _ = res.bytes().await?;
        println!(
            "first search (cold index: loads the static chunk and the stay's months): {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        let mut lat = Vec::new();
        for i in 0..50u64 {
            let body = search_body(
                &requests,
                first,
                nights,
                0x2545_F491_4F6C_DD1Du64.wrapping_mul(i + 1),
            );
            let t = Instant::now();
            let res = client
                .post(format!("{base}/api/v1/placement/search"))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await?;
            let _ = res.bytes().await?;
            lat.push(t.elapsed());
        }
        lat.sort();
        println!(
            "vacancy search over HTTP (SQLite, 1 client, 50 searches): p50 {:.1} ms, p99 {:.1} ms",
            percentile(&lat, 0.50).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3
        );
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let base = base.clone();
        let token = token.clone();
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut lat = Vec::with_capacity(per_client);
            let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + 1);
            for _ in 0..per_client {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let body = search_body(&requests, first, nights, seed);
                let t = Instant::now();
                let res = client
                    .post(format!("{base}/api/v1/placement/search"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .expect("search");
                assert_eq!(
                    res.status().as_u16(),
                    200,
                    "{}",
                    res.text().await.unwrap_or_default()
                );
                let _ = res.bytes().await.expect("body");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let wall = started.elapsed();
    all.sort();
    println!(
        "vacancy search over HTTP (SQLite, {clients} concurrent clients, {} searches): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {:.0} searches/s",
        all.len(),
        percentile(&all, 0.50).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all.last().unwrap().as_secs_f64() * 1e3,
        all.len() as f64 / wall.as_secs_f64()
    );

    // One new request placed into that state (optimizer, validator, holds), five times.
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for (i, r) in requests.iter().take(5).enumerate() {
        let body = json!({
            "case_number": format!("B-{i}"), "person_name": "ベンチ", "from": r.nights.from.to_string(), "to": r.nights.to.to_string(),
            "sex": slug(&r.needs.sex), "child": r.needs.child, "wheelchair": r.needs.wheelchair,
            "disability_types": r.needs.disability_types.iter().map(slug).collect::<Vec<_>>(),
            "medical_care": r.needs.medical_care.iter().map(slug).collect::<Vec<_>>(),
            "behavioural_support": r.needs.behavioural_support, "night_staff": r.needs.night_staff,
        });
        let res = client
            .post(format!("{base}/api/v1/placement/requests"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?;
        let id = res.json::<serde_json::Value>().await?["id"]
            .as_i64()
            .expect("id");
        let t = Instant::now();
        let res = client
            .post(format!("{base}/api/v1/placement/batch"))
            .bearer_auth(&token)
            .json(&json!({"request_ids": [id]}))
            .send()
            .await?;
        let elapsed = t.elapsed();
        let out: serde_json::Value = res.json().await?;
        times.push(elapsed);
        // The booking changed the months of the stay: the next search there reloads them.
        let search = search_body(&requests, first, nights, 0);
        let mut search = search.clone();
        search["from"] = json!(r.nights.from.to_string());
        search["to"] = json!(r.nights.to.to_string());
        let t = Instant::now();
        let res = client
            .post(format!("{base}/api/v1/placement/search"))
            .bearer_auth(&token)
            .json(&search)
            .send()
            .await?;
        let _ = res.bytes().await?;
        let after = t.elapsed();
        println!(
            "place one request into the state over HTTP: {:.1} ms ({} proposed, solver {:.1} ms); next search of those nights (reloads their months) {:.1} ms",
            elapsed.as_secs_f64() * 1e3,
            out["proposed"],
            out["seconds"].as_f64().unwrap_or(0.0) * 1e3,
            after.as_secs_f64() * 1e3
        );
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}
