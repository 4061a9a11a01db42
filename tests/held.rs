//! Meetings held by other bodies (issue 18, Meguro 002 / Sendai 003): the center attends
//! meetings others hold. Their dates are the host's, entered by the coordinator; they keep
//! the attendees busy for the planner, take none of our rooms, cause no mail, show in the feed
//! and on the calendar as held by others, and count for the indicators.

use chrono::{NaiveDate, NaiveTime};
use serde_json::{json, Value};

use crate::both_engines;
use crate::meetings::{demo_app, field_names, plan, publish, status_json, PLANNING_DATE};
use crate::support::{login, Api, Engine};

fn t(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap()
}

/// A staff member of the demo's core center with an address (so a meeting of ours would
/// mail them): (id, code).
async fn core_staff(api: &Api) -> (i64, String) {
    let orgs: Value = api
        .get_json("/api/v1/master/organisations?limit=1000")
        .await;
    let core = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "core_center")
        .expect("a core center")["id"]
        .as_i64()
        .unwrap();
    let people: Value = api.get_json("/api/v1/master/people?limit=1000").await;
    let p = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["organisation_id"] == core && p["email"] != "")
        .expect("core center staff with an address");
    (
        p["id"].as_i64().unwrap(),
        p["code"].as_str().unwrap().to_string(),
    )
}

/// A series held by another body with `person` attending; its id.
async fn held_series(api: &Api, code: &str, person: &str) -> i64 {
    let (s, body) = status_json(
        api.post_json(
            "/api/v1/series",
            &json!({
                "code": code, "title": "区障害者自立支援協議会", "title_en": "Ward council",
                "kind": "liaison", "duration_minutes": 120,
                "cadence": {"per": "fiscal_year", "min": 10, "max": 10},
                "required_people": [person],
                "held_by": {"name": "仙台市青葉区", "name_en": "Aoba ward"}
            }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn enter(api: &Api, series: i64, body: &Value) -> (u16, Value) {
    status_json(
        api.post_json(&format!("/api/v1/series/{series}/held-dates"), body)
            .await,
    )
    .await
}

async fn occurrence(api: &Api, id: i64) -> Value {
    let rows: Value = api
        .get_json(
            "/api/v1/occurrences?include_cancelled=true&limit=1000&from=2026-04-01&to=2028-03-31",
        )
        .await;
    rows.as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("occurrence {id} in {rows}"))
        .clone()
}

/// Sendai (003): 「区障害者自立支援協議会への参画（参加回数 38回）」 and Meguro (002):
/// 「地域移行・地域定着連携連絡会に参加」— the host's date keeps our attendee busy: where our
/// own meeting would have gone, at that time, the planner puts it elsewhere (and a plan made
/// before the date was entered cannot be published over it). The host's meeting has no room,
/// causes no mail, and shows as held by another body in the feed and on the calendar.
async fn a_held_date_blocks_its_attendee_and_sends_nothing(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let (person, code) = core_staff(&api).await;
    // Our meeting: the person is required, one in May, starting 13:30.
    let (s, body) = status_json(
        api.post_json(
            "/api/v1/series",
            &json!({
                "code": "SHARED-CASE", "title": "合同事例検討", "kind": "case_review",
                "duration_minutes": 90, "cadence": {"per": "period", "min": 1, "max": 1, "months": [5]},
                "allowed_start": "13:30-14:00", "preferred_weekdays": ["wed"],
                "required_people": [code]
            }),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let request = json!({"period": "2027Q1", "planning_date": PLANNING_DATE,
                         "time_limit_seconds": 20, "series": ["SHARED-CASE"]});
    let (before_id, before) = plan(&api, &request).await;
    assert_eq!(before["result"]["valid"], true, "{}", before["result"]);
    let first = &before["result"]["occurrences"][0];
    let day = first["date"].as_str().unwrap().to_string();
    assert_eq!(first["start"].as_str().unwrap()[..5], *"13:30", "{first}");

    // The ward council meets that day 13:00-15:00, and the person goes.
    let council = held_series(&api, "WARD-COUNCIL", &code).await;
    let (s, body) = enter(
        &api,
        council,
        &json!({"date": day, "start": "13:00", "end": "15:00", "place": "青葉区役所 4階会議室"}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let held_id = body["id"].as_i64().unwrap();

    // The plan made before cannot be published over it.
    let (s, body) = publish(&api, before_id).await;
    assert_eq!(s, 409, "{body}");
    assert!(
        body["message"]["ja"]
            .as_str()
            .unwrap()
            .contains("他機関主催"),
        "{body}"
    );

    // Planned again: not at that time, nor without 30 minutes to travel.
    let (after_id, after) = plan(&api, &request).await;
    assert_eq!(after["result"]["valid"], true, "{}", after["result"]);
    let o = &after["result"]["occurrences"][0];
    let (start, end) = (
        t(&o["start"].as_str().unwrap()[..5]),
        t(&o["end"].as_str().unwrap()[..5]),
    );
    assert!(
        o["date"] != day.as_str()
            || end + chrono::Duration::minutes(30) <= t("13:00")
            || t("15:00") + chrono::Duration::minutes(30) <= start,
        "our meeting {o} overlaps the council on {day} 13:00-15:00"
    );
    let (s, summary) = publish(&api, after_id).await;
    assert_eq!(s, 200, "{summary}");
    assert_eq!(
        summary["added"], 1,
        "only our meeting is published: {summary}"
    );
    assert!(summary["invitations"].as_i64().unwrap() >= 1, "{summary}");

    // No room, held by the host, pinned, its attendee listed.
    let held = occurrence(&api, held_id).await;
    assert!(held["room_id"].is_null(), "{held}");
    assert_eq!(held["held_by"], "仙台市青葉区", "{held}");
    assert_eq!(held["venue_name"], "青葉区役所 4階会議室", "{held}");
    assert_eq!(held["attendees"][0]["person_id"], person, "{held}");
    // No mail: none queued for it, by publishing or by the reminder job.
    app.db()
        .queue_due_reminders(&[0, 1, 7], 7, 2)
        .await
        .unwrap();
    let notices: Value = api
        .get_json(&format!("/api/v1/occurrences/{held_id}/notices"))
        .await;
    assert_eq!(notices.as_array().unwrap().len(), 0, "{notices}");
    let all: Value = api.get_json("/api/v1/notices?limit=1000").await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|n| n["occurrence_id"] != held_id),
        "{all}"
    );
    // Resending to the attendee sends nothing either.
    let (s, body) = status_json(
        api.post_json(
            &format!("/api/v1/occurrences/{held_id}/resend"),
            &json!({"person_id": person}),
        )
        .await,
    )
    .await;
    assert!(s == 200 || s == 422, "{s} {body}");
    let notices: Value = api
        .get_json(&format!("/api/v1/occurrences/{held_id}/notices"))
        .await;
    assert_eq!(notices.as_array().unwrap().len(), 0, "{notices}");

    // The attendee's feed has it, saying who holds it, with nobody to answer.
    let link: Value = api
        .get_json(&format!("/api/v1/feeds/person/{person}"))
        .await;
    let ics = app
        .anonymous()
        .get(link["path"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    let unfolded = ics.replace("\r\n ", "");
    let event = unfolded
        .split("BEGIN:VEVENT")
        .find(|e| e.contains(held["uid"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("the held meeting in the feed: {unfolded}"));
    assert!(
        event.contains("他機関主催 / Held by another body: 仙台市青葉区"),
        "{event}"
    );
    assert!(
        !event.contains("ATTENDEE") && !event.contains("ORGANIZER"),
        "{event}"
    );
    assert!(!unfolded.contains("METHOD:"), "{unfolded}");

    // The published calendar and the export mark it.
    let c = crate::support::client();
    let res = login(
        &c,
        &app,
        renkei::demo::DEMO_USERNAME,
        renkei::demo::DEMO_PASSWORD,
        Some("/"),
    )
    .await;
    assert_eq!(res.status(), 303);
    let page = c
        .get(app.url(&format!("/meetings/calendar?from={day}&to={day}&view=list")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("他機関主催: 仙台市青葉区"), "{page}");
    let csv = api
        .get(&format!(
            "/api/v1/occurrences/export?from={day}&to={day}&format=csv"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("（他機関主催：仙台市青葉区）"), "{csv}");
    // The series page counts the entered dates.
    let page = c
        .get(app.url(&format!("/meetings/series/{council}/held")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("held-dates") && page.contains(&day), "{page}");
}
both_engines!(a_held_date_blocks_its_attendee_and_sends_nothing);

/// Sendai (003): 「重層的支援会議や、ひきこもり支援連絡協議会等への参加（会議体への参加回数
/// 10回）」— the meetings attended count like any occurrence: an indicator over the held series
/// (`occurrences`, scoped to the series) has them planned when entered and held once recorded.
async fn held_dates_count_for_the_indicator_of_meetings_attended(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let (_, code) = core_staff(&api).await;
    let council = held_series(&api, "JUSOTEKI", &code).await;
    // This fiscal year (the record form takes meetings on or before today).
    let today = renkei_solver::calendar::jst_date(chrono::Utc::now());
    let fy = renkei_solver::calendar::FiscalYear::of(today);
    let past = (fy.start().max(today - chrono::Duration::days(60)))
        .max(NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
    let fy_param = fy.start().format("%Y").to_string();
    let body = json!([{
        "code": "ATTENDED", "name": "会議体への参加回数", "name_en": "Meetings attended",
        "target": 10, "rule": {"type": "occurrences", "series": ["JUSOTEKI"]}
    }]);
    let res = api
        .put_json(&format!("/api/v1/indicators?fiscal_year={fy_param}"), &body)
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let figure = |v: &Value| -> (u64, u64) {
        let f = v["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "ATTENDED")
            .unwrap()
            .clone();
        (
            f["planned"].as_u64().unwrap(),
            f["actual"].as_u64().unwrap(),
        )
    };
    let url = format!("/api/v1/indicators/figures?fiscal_year={fy_param}");
    assert_eq!(figure(&api.get_json(&url).await), (0, 0));

    let (s, body) = enter(
        &api,
        council,
        &json!({"date": past.to_string(), "start": "10:00", "end": "12:00"}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    // Entered: planned. Its attendees are the series' (no list given).
    assert_eq!(figure(&api.get_json(&url).await), (1, 0));
    assert_eq!(
        occurrence(&api, id).await["attendees"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (s, body) = status_json(
        api.post_json(
            &format!("/api/v1/occurrences/{id}/record"),
            &json!({"outcome": "held"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(figure(&api.get_json(&url).await), (1, 1));
}
both_engines!(held_dates_count_for_the_indicator_of_meetings_attended);

/// Meguro (002): 「基幹相談連絡会（年4回）…他の区市町村基幹相談支援センターとの意見交換」— the
/// coordinator enters the host's dates; wrong input is refused naming the field, and changing
/// or cancelling a date is conditional on what was read (409 when stale) and audited.
async fn held_dates_refuse_bad_input_and_stale_writes(engine: Engine) {
    let (app, token) = demo_app(engine).await;
    let api = app.api(&token);
    let (_, code) = core_staff(&api).await;

    // Unknown host organisation.
    let (s, body) = status_json(
        api.post_json(
            "/api/v1/series",
            &json!({"code": "KIKAN-LIAISON", "title": "基幹相談連絡会", "kind": "liaison",
                    "duration_minutes": 120, "cadence": {"per": "quarter", "min": 1, "max": 1},
                    "held_by": {"organisation": "NO-SUCH-ORG"}}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(field_names(&body), ["held_by.organisation"]);
    // No host at all, and repeated per ward: both named.
    let (s, body) = status_json(
        api.post_json(
            "/api/v1/series",
            &json!({"code": "KIKAN-LIAISON", "title": "基幹相談連絡会", "kind": "liaison",
                    "duration_minutes": 120, "cadence": {"per": "quarter", "min": 1, "max": 1},
                    "repeat": "per_ward", "held_by": {}}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 422, "{body}");
    let fields = field_names(&body);
    assert!(
        fields.contains(&"held_by".to_string()) && fields.contains(&"repeat".to_string()),
        "{fields:?}"
    );

    let series = held_series(&api, "KIKAN-LIAISON", &code).await;
    for (input, field) in [
        (
            json!({"date": "2027-05-12", "start": "15:00", "end": "14:00"}),
            "end",
        ),
        (
            json!({"date": "2101-01-05", "start": "14:00", "end": "16:00"}),
            "date",
        ),
        (
            json!({"date": "2027-05-12", "start": "14:00", "end": "16:00", "attendees": ["NOBODY"]}),
            "attendees",
        ),
    ] {
        let (s, body) = enter(&api, series, &input).await;
        assert_eq!(s, 422, "{input}: {body}");
        assert_eq!(field_names(&body), [field], "{input}: {body}");
    }
    // An attendee that is an organisation's code, not a person's.
    let orgs: Value = api.get_json("/api/v1/master/organisations?limit=1").await;
    let org_code = orgs[0]["code"].as_str().unwrap();
    let (s, body) = enter(
        &api,
        series,
        &json!({"date": "2027-05-12", "start": "14:00", "end": "16:00", "attendees": [org_code]}),
    )
    .await;
    assert_eq!(
        (s, field_names(&body)),
        (422, vec!["attendees".to_string()]),
        "{body}"
    );
    // Our own series takes no entered dates.
    let own: Vec<Value> = api.get_json("/api/v1/series?limit=1000").await;
    let own = own.iter().find(|s| s["spec"]["held_by"].is_null()).unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, body) = enter(
        &api,
        own,
        &json!({"date": "2027-05-12", "start": "14:00", "end": "16:00"}),
    )
    .await;
    assert_eq!(
        (s, field_names(&body)),
        (422, vec!["held_by".to_string()]),
        "{body}"
    );

    let (s, body) = enter(
        &api,
        series,
        &json!({"date": "2027-05-12", "start": "14:00", "end": "16:00", "attendees": [code]}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let id = body["id"].as_i64().unwrap();
    let read = occurrence(&api, id).await;
    assert_eq!(read["sequence"], 0);
    let change = json!({"date": "2027-05-19", "start": "14:00", "end": "16:30", "sequence": 0});
    let (s, body) = status_json(
        api.put_json(&format!("/api/v1/occurrences/{id}/held"), &change)
            .await,
    )
    .await;
    assert_eq!(s, 204, "{body}");
    // The same change again was read before the first: stale.
    let (s, body) = status_json(
        api.put_json(&format!("/api/v1/occurrences/{id}/held"), &change)
            .await,
    )
    .await;
    assert_eq!(s, 409, "{body}");
    let moved = occurrence(&api, id).await;
    assert_eq!(
        (
            moved["date"].as_str(),
            moved["end"].as_str(),
            moved["sequence"].as_i64()
        ),
        (Some("2027-05-19"), Some("16:30"), Some(1))
    );
    // A change without the sequence read is refused naming it.
    let (s, body) = status_json(
        api.put_json(
            &format!("/api/v1/occurrences/{id}/held"),
            &json!({"date": "2027-05-19", "start": "14:00", "end": "16:30"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (s, field_names(&body)),
        (422, vec!["sequence".to_string()]),
        "{body}"
    );
    // Cancelling: stale first, then as read, then again (already cancelled).
    let cancel = |seq: i64| json!({"sequence": seq, "reason": "主催者の都合で中止"});
    let url = format!("/api/v1/occurrences/{id}/held/cancel");
    assert_eq!(api.post_json(&url, &cancel(0)).await.status(), 409);
    assert_eq!(api.post_json(&url, &cancel(1)).await.status(), 204);
    assert_eq!(api.post_json(&url, &cancel(2)).await.status(), 409);
    assert_eq!(occurrence(&api, id).await["status"], "cancelled");
    // Nobody was mailed, and every write is in the audit log.
    let notices: Value = api
        .get_json(&format!("/api/v1/occurrences/{id}/notices"))
        .await;
    assert_eq!(notices.as_array().unwrap().len(), 0, "{notices}");
    let audit: Value = api.get_json("/api/v1/audit?limit=1000").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["entity"] == "held_occurrence"
                && e["entity_id"].as_str() == Some(id.to_string().as_str())
        })
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    let mut sorted = actions.clone();
    sorted.sort();
    assert_eq!(sorted, ["cancel", "create", "update"], "{audit}");
    // An occurrence of ours is not changed through this path.
    let (s, _) = status_json(
        api.put_json("/api/v1/occurrences/999999/held", &change)
            .await,
    )
    .await;
    assert_eq!(s, 404);
}
both_engines!(held_dates_refuse_bad_input_and_stale_writes);

/// Meguro (002): 「地域移行・地域定着連携連絡会に参加」(年3回) and 「基幹相談連絡会（年4回）」— the
/// preset makes both held by other bodies under their stable codes; applying it for another
/// contract year gives the host to such a series stored without one, and keeps a host the
/// coordinator named.
async fn meguro_preset_holds_transition_and_kikan_liaison_elsewhere(engine: Engine) {
    let app = crate::support::TestApp::spawn(engine).await;
    let tn = crate::support::tenant(app.db(), "meguro").await;
    let api = app.api(&tn.coordinator_token);
    let (s, body) = status_json(
        api.post_json("/api/v1/series/presets/meguro", &json!({}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let series: Vec<Value> = api.get_json("/api/v1/series?limit=1000").await;
    let find = |series: &[Value], code: &str| -> Value {
        series
            .iter()
            .find(|s| s["code"] == code)
            .unwrap_or_else(|| panic!("{code}"))
            .clone()
    };
    for code in ["TRANSITION", "KIKAN-LIAISON"] {
        assert!(
            find(&series, code)["spec"]["held_by"]["name"].is_string(),
            "{code} is held by another body"
        );
    }
    assert!(find(&series, "OPERATING")["spec"]["held_by"].is_null());
    // A series stored before (no host), and one whose host the coordinator named.
    let mut kikan = find(&series, "KIKAN-LIAISON");
    kikan["spec"].as_object_mut().unwrap().remove("held_by");
    let res = api
        .put_json(&format!("/api/v1/series/{}", kikan["id"]), &kikan["spec"])
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let mut transition = find(&series, "TRANSITION");
    transition["spec"]["held_by"] = json!({"name": "目黒区 障害福祉課"});
    let res = api
        .put_json(
            &format!("/api/v1/series/{}", transition["id"]),
            &transition["spec"],
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());

    let (s, body) = status_json(
        api.post_json(
            "/api/v1/series/presets/meguro",
            &json!({"contract_year": 2}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let series: Vec<Value> = api.get_json("/api/v1/series?limit=1000").await;
    assert_eq!(
        find(&series, "KIKAN-LIAISON")["spec"]["held_by"]["name"],
        "区市町村基幹相談支援センター連絡会"
    );
    assert_eq!(
        find(&series, "TRANSITION")["spec"]["held_by"]["name"],
        "目黒区 障害福祉課"
    );
    app.stop().await;
}
both_engines!(meguro_preset_holds_transition_and_kikan_liaison_elsewhere);
