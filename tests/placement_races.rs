//! Races of the placement flow on both engines, against two service instances over one
//! database (what a deployment with several instances runs): confirm against withdraw, many
//! accepts and confirms of one proposal, one request proposed into several beds at once. Each
//! ends with a check of the stored state: no active hold without its nights, no night of an
//! inactive hold, at most one active proposal per request, request statuses that agree with
//! their holds, and one event per transition that won.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde_json::{json, Value};
use sqlx::Row;

use crate::both_engines;
use crate::placement::{bed_ids, create_request, facilities, request_body, setup, status_json};
use crate::support::{Api, Engine, TestApp};

/// Statuses of `n` concurrent posts of `body` to `path`, alternating between the two instances.
async fn storm(apis: &[Api; 2], n: usize, path: String, body: Value) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let api = apis[i % 2].clone();
        let (path, body) = (path.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            status_json(api.post_json(&path, &body).await).await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn count(results: &[(u16, Value)], status: u16) -> usize {
    results.iter().filter(|(s, _)| *s == status).count()
}

/// Every result is a win (`win`) or a 409 that says why; exactly one wins.
fn one_winner(results: &[(u16, Value)], win: u16) {
    assert_eq!(count(results, win), 1, "exactly one wins: {results:?}");
    for (s, b) in results {
        assert!(*s == win || *s == 409, "only wins and conflicts: {s} {b}");
        if *s == 409 {
            assert!(
                b["message"]["ja"].as_str().is_some() && b["message"]["en"].as_str().is_some(),
                "{b}"
            );
        }
    }
}

fn nights(from: &str, to: &str) -> BTreeSet<String> {
    let (mut d, to) = (
        NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap(),
        NaiveDate::parse_from_str(to, "%Y-%m-%d").unwrap(),
    );
    let mut out = BTreeSet::new();
    while d < to {
        out.insert(d.to_string());
        d = d.succ_opt().unwrap();
    }
    out
}

/// The stored state agrees with itself (see the module doc).
async fn check_state(app: &TestApp) {
    let pool = &app.db().pool;
    let holds = sqlx::query(
        "SELECT id, request_id, bed_id, from_night, to_night, status FROM placement_holds",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut by_hold: BTreeMap<i64, BTreeSet<(i64, String)>> = BTreeMap::new();
    for r in sqlx::query("SELECT hold_id, bed_id, night FROM bed_nights WHERE hold_id IS NOT NULL")
        .fetch_all(pool)
        .await
        .unwrap()
    {
        by_hold
            .entry(r.get("hold_id"))
            .or_default()
            .insert((r.get("bed_id"), r.get("night")));
    }
    let mut active_by_request: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
    for h in &holds {
        let id: i64 = h.get("id");
        let status: String = h.get("status");
        let bed: i64 = h.get("bed_id");
        let (from, to): (String, String) = (h.get("from_night"), h.get("to_night"));
        let stored = by_hold.remove(&id).unwrap_or_default();
        if matches!(status.as_str(), "held" | "accepted" | "placed") {
            let want: BTreeSet<(i64, String)> =
                nights(&from, &to).into_iter().map(|n| (bed, n)).collect();
            assert_eq!(
                stored, want,
                "active hold {id} ({status}) has exactly its nights"
            );
            active_by_request
                .entry(h.get("request_id"))
                .or_default()
                .push((from, status));
        } else {
            assert!(stored.is_empty(), "hold {id} ({status}) keeps no nights");
        }
    }
    assert!(
        by_hold.is_empty(),
        "no nights of unknown holds: {by_hold:?}"
    );
    for r in sqlx::query("SELECT id, status, from_night FROM placement_requests")
        .fetch_all(pool)
        .await
        .unwrap()
    {
        let id: i64 = r.get("id");
        let status: String = r.get("status");
        let from: String = r.get("from_night");
        let active = active_by_request.remove(&id).unwrap_or_default();
        assert!(
            active.iter().filter(|(f, _)| *f == from).count() <= 1,
            "request {id} is in at most one proposal: {active:?}"
        );
        let expected = match status.as_str() {
            "proposed" => active.iter().any(|(_, s)| s == "held"),
            "accepted" => !active.is_empty() && active.iter().all(|(_, s)| s == "accepted"),
            "placed" => !active.is_empty() && active.iter().all(|(_, s)| s == "placed"),
            _ => active.is_empty(),
        };
        assert!(
            expected,
            "request {id} is {status} with active holds {active:?}"
        );
        let events: Vec<String> =
            sqlx::query_scalar("SELECT to_status FROM placement_events WHERE request_id = $1")
                .bind(id)
                .fetch_all(pool)
                .await
                .unwrap();
        for once in ["placed", "withdrawn"] {
            assert!(
                events.iter().filter(|e| *e == once).count() <= 1,
                "request {id}: {events:?}"
            );
        }
        assert!(
            !(events.contains(&"placed".to_string()) && events.contains(&"withdrawn".to_string())),
            "request {id} was placed and withdrawn: {events:?}"
        );
    }
}

async fn propose(api: &Api, request: i64, bed: i64, from: &str, to: &str) -> i64 {
    let (s, b) = status_json(
        api.post_json(
            &format!("/api/v1/placement/requests/{request}/propose"),
            &json!({"segments": [{"bed_id": bed, "from": from, "to": to}]}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{b}");
    b["holds"][0].as_i64().unwrap()
}

async fn accept(api: &Api, hold: i64) {
    let res = api
        .post_json(
            &format!("/api/v1/placement/holds/{hold}/answer"),
            &json!({"accept": true}),
        )
        .await;
    assert_eq!(res.status().as_u16(), 204);
}

// ---------------------------------------------------------------------------------------------

async fn confirm_and_withdraw_race_has_one_winner(engine: Engine) {
    let (app, hub, _, _) = setup(engine).await;
    let other = app.another_instance().await;
    let apis = [app.api(&hub), other.api(&hub)];
    facilities(&apis[0]).await;
    let bed = bed_ids(&apis[0]).await["HUB-ER/A"];
    const ROUNDS: u32 = 6;
    let mut confirmed = 0;
    for round in 0..ROUNDS {
        let (from, to) = (
            format!("2027-05-{:02}", 1 + 3 * round),
            format!("2027-05-{:02}", 3 + 3 * round),
        );
        let id = create_request(
            &apis[0],
            &request_body(&format!("R-{round}"), "female", &from, &to, &["physical"]),
        )
        .await;
        let hold = propose(&apis[0], id, bed, &from, &to).await;
        accept(&apis[1], hold).await;
        // Confirm on one instance, withdraw on the other, at the same moment.
        let (c, w) = (
            apis[round as usize % 2].clone(),
            apis[1 - round as usize % 2].clone(),
        );
        let confirm = tokio::spawn(async move {
            status_json(
                c.post_json(
                    &format!("/api/v1/placement/requests/{id}/confirm"),
                    &json!({}),
                )
                .await,
            )
            .await
        });
        let withdraw = tokio::spawn(async move {
            status_json(
                w.post_json(
                    &format!("/api/v1/placement/requests/{id}/withdraw"),
                    &json!({"reason": "race"}),
                )
                .await,
            )
            .await
        });
        let results = vec![confirm.await.unwrap(), withdraw.await.unwrap()];
        one_winner(&results, 204);
        if results[0].0 == 204 {
            confirmed += 1;
        }
        let status: String =
            sqlx::query_scalar("SELECT status FROM placement_requests WHERE id = $1")
                .bind(id)
                .fetch_one(&app.db().pool)
                .await
                .unwrap();
        let winner = if results[0].0 == 204 {
            "placed"
        } else {
            "withdrawn"
        };
        assert_eq!(status, winner, "round {round}");
    }
    eprintln!("{engine:?}: confirm won {confirmed} of {ROUNDS} rounds");
    check_state(&app).await;
}
both_engines!(confirm_and_withdraw_race_has_one_winner);

async fn many_accepts_and_confirms_of_one_hold_have_one_winner(engine: Engine) {
    let (app, hub, _, _) = setup(engine).await;
    let other = app.another_instance().await;
    let apis = [app.api(&hub), other.api(&hub)];
    facilities(&apis[0]).await;
    let bed = bed_ids(&apis[0]).await["GH1-TRIAL/体験"];
    let id = create_request(
        &apis[0],
        &request_body("A-1", "male", "2027-06-01", "2027-06-04", &["intellectual"]),
    )
    .await;
    let hold = propose(&apis[0], id, bed, "2027-06-01", "2027-06-04").await;
    let accepts = storm(
        &apis,
        12,
        format!("/api/v1/placement/holds/{hold}/answer"),
        json!({"accept": true}),
    )
    .await;
    one_winner(&accepts, 204);
    let confirms = storm(
        &apis,
        12,
        format!("/api/v1/placement/requests/{id}/confirm"),
        json!({}),
    )
    .await;
    one_winner(&confirms, 204);
    let events: Vec<String> = sqlx::query_scalar(
        "SELECT to_status FROM placement_events WHERE request_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        vec!["consultation", "proposed", "accepted", "placed"],
        "one event per transition"
    );
    check_state(&app).await;
}
both_engines!(many_accepts_and_confirms_of_one_hold_have_one_winner);

async fn one_request_proposed_into_several_beds_at_once_gets_one(engine: Engine) {
    let (app, hub, _, _) = setup(engine).await;
    let other = app.another_instance().await;
    let apis = [app.api(&hub), other.api(&hub)];
    facilities(&apis[0]).await;
    let beds = bed_ids(&apis[0]).await;
    let id = create_request(
        &apis[0],
        &request_body(
            "P-1",
            "female",
            "2027-07-01",
            "2027-07-03",
            &["intellectual"],
        ),
    )
    .await;
    // Every bed the woman fits, each proposed twice, from both instances at once.
    let mut tasks = Vec::new();
    for (i, key) in [
        "HUB-ER/A",
        "GH1-TRIAL/体験",
        "SS1-BEDS/1",
        "SS1-BEDS/2",
        "SS1-BEDS/3",
    ]
    .iter()
    .cycle()
    .take(10)
    .enumerate()
    {
        let api = apis[i % 2].clone();
        let body =
            json!({"segments": [{"bed_id": beds[*key], "from": "2027-07-01", "to": "2027-07-03"}]});
        tasks.push(tokio::spawn(async move {
            status_json(
                api.post_json(&format!("/api/v1/placement/requests/{id}/propose"), &body)
                    .await,
            )
            .await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    one_winner(&results, 201);
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM placement_holds WHERE request_id = $1 AND status IN ('held', 'accepted', 'placed')",
    )
    .bind(id)
    .fetch_one(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(active, 1, "one bed for one person");
    check_state(&app).await;
}
both_engines!(one_request_proposed_into_several_beds_at_once_gets_one);

async fn decline_expire_accept_withdraw_and_propose_race_without_5xx(engine: Engine) {
    let (app, hub, _, _) = setup(engine).await;
    let other = app.another_instance().await;
    let apis = [app.api(&hub), other.api(&hub)];
    facilities(&apis[0]).await;
    let beds = bed_ids(&apis[0]).await;
    const ROUNDS: u32 = 4;
    for round in 0..ROUNDS {
        let (from, to) = (
            format!("2027-10-{:02}", 1 + 3 * round),
            format!("2027-10-{:02}", 3 + 3 * round),
        );
        let id = create_request(
            &apis[0],
            &request_body(&format!("E-{round}"), "male", &from, &to, &["intellectual"]),
        )
        .await;
        let hold = propose(&apis[0], id, beds["HUB-ER/A"], &from, &to).await;
        // The hold is past its expiry: the expiry races the answers, a withdrawal and a new
        // proposal of the same request into another bed.
        for table in [
            "placement_holds SET expires_at = $1 WHERE id = $2",
            "bed_nights SET expires_at = $1 WHERE hold_id = $2",
        ] {
            sqlx::query(&format!("UPDATE {table}"))
                .bind("2020-01-01T00:00:00.000000Z")
                .bind(hold)
                .execute(&app.db().pool)
                .await
                .unwrap();
        }
        let post = |i: usize, path: String, body: Value| {
            let api = apis[i].clone();
            tokio::spawn(async move { status_json(api.post_json(&path, &body).await).await })
        };
        let tasks = vec![
            post(
                0,
                format!("/api/v1/placement/holds/{hold}/answer"),
                json!({"accept": true}),
            ),
            post(
                1,
                format!("/api/v1/placement/holds/{hold}/answer"),
                json!({"accept": false, "reason": "満床"}),
            ),
            post(
                0,
                format!("/api/v1/placement/requests/{id}/withdraw"),
                json!({"reason": "race"}),
            ),
            post(
                1,
                format!("/api/v1/placement/requests/{id}/propose"),
                json!({"segments": [{"bed_id": beds["GH1-TRIAL/体験"], "from": from, "to": to}]}),
            ),
        ];
        let db = app.db().clone();
        let expired = tokio::spawn(async move { db.expire_all_holds().await });
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        expired
            .await
            .unwrap()
            .expect("the housekeeping expiry never fails on contention");
        for (s, b) in &results {
            assert!(
                matches!(s, 201 | 204 | 409),
                "no 5xx, no other failure: {s} {b}"
            );
        }
        // An expired hold is never accepted or declined.
        assert_eq!(results[0].0, 409, "{results:?}");
        assert_eq!(results[1].0, 409, "{results:?}");
        let status: String = sqlx::query_scalar("SELECT status FROM placement_holds WHERE id = $1")
            .bind(hold)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
        assert!(
            matches!(status.as_str(), "expired" | "withdrawn"),
            "released by the expiry or the withdrawal, never answered: {status}"
        );
    }
    check_state(&app).await;
}
both_engines!(decline_expire_accept_withdraw_and_propose_race_without_5xx);

/// What the database says when it asks for a transaction to be run again: a deadlock on
/// PostgreSQL (two transactions locking two rows in opposite order), a busy SQLite (a second
/// writer that may not wait).
async fn contention_error(app: &TestApp, engine: Engine) -> renkei::error::Error {
    use sqlx::Executor;
    let pool = &app.db().pool;
    let (mut a, mut b) = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
    match engine {
        Engine::Postgres => {
            let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM municipalities ORDER BY id")
                .fetch_all(pool)
                .await
                .unwrap();
            let lock = "UPDATE municipalities SET name = name WHERE id = $1";
            a.execute("BEGIN").await.unwrap();
            b.execute("BEGIN").await.unwrap();
            sqlx::query(lock)
                .bind(ids[0])
                .execute(&mut *a)
                .await
                .unwrap();
            sqlx::query(lock)
                .bind(ids[1])
                .execute(&mut *b)
                .await
                .unwrap();
            let (ra, rb) = tokio::join!(
                sqlx::query(lock).bind(ids[1]).execute(&mut *a),
                sqlx::query(lock).bind(ids[0]).execute(&mut *b),
            );
            let e = match (ra, rb) {
                (Err(e), _) | (_, Err(e)) => e,
                _ => panic!("no deadlock"),
            };
            a.execute("ROLLBACK").await.unwrap();
            b.execute("ROLLBACK").await.unwrap();
            e.into()
        }
        Engine::Sqlite => {
            b.execute("PRAGMA busy_timeout = 0").await.unwrap();
            a.execute("BEGIN IMMEDIATE").await.unwrap();
            let e = b.execute("BEGIN IMMEDIATE").await.unwrap_err();
            a.execute("ROLLBACK").await.unwrap();
            b.execute("PRAGMA busy_timeout = 10000").await.unwrap();
            e.into()
        }
    }
}

async fn contention_is_retried_a_bounded_number_of_times(engine: Engine) {
    let (app, _, _, _) = setup(engine).await;
    crate::support::tenant(app.db(), "second").await;
    let attempts = renkei::store::WRITE_ATTEMPTS as usize;
    let mut errors = Vec::new();
    for _ in 0..=attempts {
        let e = contention_error(&app, engine).await;
        assert!(e.is_retryable(), "{e:?}");
        assert_eq!(e.status().as_u16(), 500, "as such it would be a 500");
        errors.push(e);
    }
    let not_retryable = renkei::error::Error::not_found("相談", "request");
    assert!(!not_retryable.is_retryable());

    // Fails once on contention, then succeeds: the caller sees the success.
    let tries = std::sync::atomic::AtomicUsize::new(0);
    let mut first = vec![errors.pop().unwrap()];
    let out = app
        .db()
        .retrying(|| {
            tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let e = first.pop();
            async move { e.map_or(Ok(7), Err) }
        })
        .await;
    assert_eq!(out.unwrap(), 7);
    assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), 2);

    // Contention on every try: bounded, and a 409 asking to send again, never a 500.
    let tries = std::sync::atomic::AtomicUsize::new(0);
    let mut errors = errors;
    let out: renkei::error::Result<i32> = app
        .db()
        .retrying(|| {
            tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let e = errors
                .pop()
                .unwrap_or_else(|| panic!("more tries than WRITE_ATTEMPTS"));
            async move { Err(e) }
        })
        .await;
    let e = out.unwrap_err();
    assert_eq!(e.status().as_u16(), 409, "{e:?}");
    assert!(e.body().message.en.contains("send it again"), "{e:?}");
    assert_eq!(tries.load(std::sync::atomic::Ordering::SeqCst), attempts);
}
both_engines!(contention_is_retried_a_bounded_number_of_times);
