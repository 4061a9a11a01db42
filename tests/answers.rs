//! Attendance answers as conditional writes (issue 16's "coordinator" source, and the rule that
//! every answer is a conditional write on the state it was given over):
//! * a coordinator records an answer received by phone (API and meeting page): source
//!   `coordinator`, audited with the user, refused when the meeting or the answer changed since
//!   it was read;
//! * two service instances over one database: two coordinators answering for the same
//!   invitees from the same view keep exactly one answer each; answers racing a publish that
//!   moves their meeting never survive the move.

use std::collections::BTreeMap;

use renkei::demo::{DEMO_PASSWORD, DEMO_USERNAME};
use serde_json::{json, Value};

use crate::both_engines;
use crate::meetings::{demo_app, status_json, PLANNING_DATE};
use crate::support::{client, hidden_field, login, plan_and_publish, Api, Engine};

/// The published meetings of the demo's first quarter of FY2027.
async fn quarter(api: &Api) -> Vec<Value> {
    plan_and_publish(api, "2027Q1", Some(PLANNING_DATE)).await;
    let occurrences: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30&limit=1000")
        .await;
    occurrences.as_array().unwrap().clone()
}

/// Each invitee's (answer, source, answered_at) of a meeting.
async fn answers(api: &Api, occurrence: i64) -> BTreeMap<i64, (String, String, Option<String>)> {
    let rows: Value = api
        .get_json(&format!("/api/v1/occurrences/{occurrence}/answers"))
        .await;
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["person_id"].as_i64().unwrap(),
                (
                    r["answer"].as_str().unwrap().to_string(),
                    r["source"].as_str().unwrap().to_string(),
                    r["answered_at"].as_str().map(str::to_string),
                ),
            )
        })
        .collect()
}

fn attendees(o: &Value) -> Vec<i64> {
    o["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["person_id"].as_i64().unwrap())
        .collect()
}

async fn a_coordinator_records_an_answer_given_by_phone(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let occurrences = quarter(&api).await;
    let o = occurrences
        .iter()
        .find(|o| attendees(o).len() >= 3)
        .expect("a meeting with three invitees");
    let (id, sequence) = (o["id"].as_i64().unwrap(), o["sequence"].as_i64().unwrap());
    let people = attendees(o);
    let url = |p: i64| format!("/api/v1/occurrences/{id}/answers/{p}");

    // Through the API: recorded with its source, then a second change must name it.
    let (st, b) = status_json(
        api.put_json(
            &url(people[0]),
            &json!({"answer": "decline", "comment": "電話で連絡あり", "sequence": sequence}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(
        (b["answer"].as_str(), b["source"].as_str()),
        (Some("decline"), Some("coordinator"))
    );
    let at = b["answered_at"].as_str().unwrap().to_string();
    // From a view that showed no answer: someone answered meanwhile.
    let (st, b) = status_json(
        api.put_json(
            &url(people[0]),
            &json!({"answer": "attend", "sequence": sequence}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 409, "{b}");
    assert!(
        b["message"]["ja"]
            .as_str()
            .unwrap()
            .contains("読み込み直して"),
        "{b}"
    );
    // For an older version of the meeting.
    let (st, b) = status_json(
        api.put_json(
            &url(people[0]),
            &json!({"answer": "attend", "sequence": sequence - 1, "answered_at": at}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 409, "{b}");
    assert_eq!(
        answers(&api, id).await[&people[0]].0,
        "decline",
        "nothing changed"
    );
    let (st, b) = status_json(
        api.put_json(
            &url(people[0]),
            &json!({"answer": "attend", "sequence": sequence, "answered_at": at}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(answers(&api, id).await[&people[0]].0, "attend");

    // Bad input names the field; someone not invited is not found; viewers cannot record.
    let (st, b) = status_json(
        api.put_json(
            &url(people[1]),
            &json!({"answer": "deputy", "sequence": sequence}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 422, "{b}");
    assert_eq!(b["fields"][0]["field"], "deputy_name", "{b}");
    let stranger = occurrences
        .iter()
        .flat_map(attendees)
        .find(|p| !people.contains(p))
        .expect("someone not invited to this meeting");
    let (st, b) = status_json(
        api.put_json(
            &url(stranger),
            &json!({"answer": "attend", "sequence": sequence}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 404, "{b}");
    let viewer_user = app
        .db()
        .user_by_username("demo-viewer")
        .await
        .unwrap()
        .expect("the demo's viewer");
    let viewer = renkei::auth::create_api_token(app.db(), &viewer_user, "test")
        .await
        .unwrap();
    let (st, _) = status_json(
        app.api(&viewer)
            .put_json(
                &url(people[1]),
                &json!({"answer": "attend", "sequence": sequence}),
            )
            .await,
    )
    .await;
    assert_eq!(st, 403);

    // Through the meeting page: the form carries the version and the answer it showed.
    let c = client();
    let res = login(&c, &app, DEMO_USERNAME, DEMO_PASSWORD, Some("/")).await;
    assert_eq!(res.status(), 303);
    let page_url = app.url(&format!("/meetings/occurrences/{id}"));
    let page = crate::support::get_text(&c, &page_url).await;
    assert!(page.contains("電話等の回答を記録"), "{page}");
    let csrf = hidden_field(&page, "csrf").unwrap();
    let action = app.url(&format!("/meetings/occurrences/{id}/answers/{}", people[1]));
    let res = crate::support::post_form(
        &c,
        &action,
        &[
            ("csrf", &csrf),
            ("answer", "deputy"),
            ("deputy_name", "山田 花子"),
            ("deputy_organisation", "同事業所"),
            ("seen_sequence", &sequence.to_string()),
            ("seen_answered_at", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let page = crate::support::get_text(&c, &page_url).await;
    assert!(
        page.contains("回答を記録しました"),
        "the flash says so: {page}"
    );
    assert!(page.contains("山田 花子"), "{page}");
    let (answer, source, _) = answers(&api, id).await[&people[1]].clone();
    assert_eq!(
        (answer.as_str(), source.as_str()),
        ("deputy", "coordinator")
    );
    // The same form sent again is stale now.
    let res = crate::support::post_form(
        &c,
        &action,
        &[
            ("csrf", &csrf),
            ("answer", "decline"),
            ("seen_sequence", &sequence.to_string()),
            ("seen_answered_at", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), 409);
    assert_eq!(answers(&api, id).await[&people[1]].0, "deputy");

    // Every recorded answer is in the audit log with the coordinator who recorded it.
    let rows = sqlx::query_scalar::<_, String>(
        "SELECT detail FROM audit_log WHERE action = 'answer' AND entity_id = $1 AND user_id IS NOT NULL",
    )
    .bind(id.to_string())
    .fetch_all(&app.db().pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows.iter().all(|d| d.contains("recorded by a coordinator")),
        "{rows:?}"
    );
    app.stop().await;
}
both_engines!(a_coordinator_records_an_answer_given_by_phone);

/// Two coordinators on two service instances record answers for the same invitees from the
/// same view (no answer yet), all at once: exactly one answer per invitee is kept and the
/// other is told to reload; no invitee has two rows or a mixed answer.
async fn two_instances_keep_one_answer_per_invitee(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let other = app.another_instance().await;
    let apis = [app.api(&token), other.api(&token)];
    let occurrences = quarter(&apis[0]).await;
    let o = occurrences
        .iter()
        .max_by_key(|o| attendees(o).len())
        .unwrap();
    let (id, sequence) = (o["id"].as_i64().unwrap(), o["sequence"].as_i64().unwrap());
    let people = attendees(o);
    let mut tasks = Vec::new();
    for &p in &people {
        for (i, answer) in ["attend", "decline"].into_iter().enumerate() {
            let api = apis[i].clone();
            tasks.push(tokio::spawn(async move {
                let r = api
                    .put_json(
                        &format!("/api/v1/occurrences/{id}/answers/{p}"),
                        &json!({"answer": answer, "sequence": sequence}),
                    )
                    .await;
                (p, answer, status_json(r).await)
            }));
        }
    }
    let mut won: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for t in tasks {
        let (p, answer, (st, b)) = t.await.unwrap();
        match st {
            200 => won.entry(p).or_default().push(answer),
            409 => assert!(b["message"]["ja"].as_str().is_some(), "{b}"),
            _ => panic!("{st} {b}"),
        }
    }
    let stored = answers(&apis[0], id).await;
    for &p in &people {
        let w = won.get(&p).cloned().unwrap_or_default();
        assert_eq!(
            w.len(),
            1,
            "person {p}: exactly one of two answers kept: {w:?}"
        );
        assert_eq!(stored[&p].0, w[0], "person {p}: the kept answer is stored");
    }
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM attendance_answers WHERE occurrence_id = $1")
            .bind(id)
            .fetch_one(&app.db().pool)
            .await
            .unwrap();
    assert_eq!(rows, people.len() as i64);
    app.stop().await;
}
both_engines!(two_instances_keep_one_answer_per_invitee);

/// Answers given for a meeting's current time race a publish (on the other instance) that
/// moves the meeting: whichever lands first, no answer for the old time survives the move
/// (landed before: cleared by the publish; after: refused with 409).
async fn answers_racing_a_move_never_survive_it(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let other = app.another_instance().await;
    let apis = [app.api(&token), other.api(&token)];
    let occurrences = quarter(&apis[0]).await;
    let target = occurrences
        .iter()
        .find(|o| o["kind"] == "ward_network")
        .expect("a ward network meeting")
        .clone();
    let (id, sequence) = (
        target["id"].as_i64().unwrap(),
        target["sequence"].as_i64().unwrap(),
    );
    let away = crate::support::first_required(&target).unwrap();
    let res = apis[0]
        .post_json(
            &format!("/api/v1/people/{away}/absences"),
            &json!({"from": target["date"], "reason": "出張"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    // A plan that moves it, not yet published.
    let res = apis[0]
        .post_json(
            "/api/v1/plans",
            &json!({"period": "2027Q1", "planning_date": PLANNING_DATE, "method": "greedy"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let run: Value = res.json().await.unwrap();
    let run_id = run["id"].as_i64().unwrap();
    loop {
        let run: Value = apis[0].get_json(&format!("/api/v1/plans/{run_id}")).await;
        match run["status"].as_str().unwrap() {
            "done" => break,
            "failed" => panic!("{run}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let people: Vec<i64> = attendees(&target)
        .into_iter()
        .filter(|p| *p != away)
        .collect();
    let publisher = apis[1].clone();
    let publish = tokio::spawn(async move {
        status_json(
            publisher
                .post_json(&format!("/api/v1/plans/{run_id}/publish"), &json!({}))
                .await,
        )
        .await
    });
    let mut tasks = Vec::new();
    for &p in &people {
        let api = apis[0].clone();
        tasks.push(tokio::spawn(async move {
            let r = api
                .put_json(
                    &format!("/api/v1/occurrences/{id}/answers/{p}"),
                    &json!({"answer": "attend", "sequence": sequence}),
                )
                .await;
            status_json(r).await
        }));
    }
    let (st, b) = publish.await.unwrap();
    assert_eq!(st, 200, "{b}");
    let mut refused = 0;
    for t in tasks {
        let (st, b) = t.await.unwrap();
        assert!(st == 200 || st == 409, "{st} {b}");
        if st == 409 {
            refused += 1;
        }
    }
    let after: Value = apis[0]
        .get_json(
            "/api/v1/occurrences?from=2027-04-01&to=2027-06-30&limit=1000&include_cancelled=true",
        )
        .await;
    let moved = after
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap();
    assert!(
        moved["sequence"].as_i64().unwrap() > sequence,
        "the meeting moved: {moved}"
    );
    let left = answers(&apis[0], id).await;
    let survivors: Vec<_> = left.iter().filter(|(_, a)| a.0 != "none").collect();
    assert!(
        survivors.is_empty(),
        "answers for the old time survived the move ({refused} refused): {survivors:?}"
    );
    app.stop().await;
}
both_engines!(answers_racing_a_move_never_survive_it);
