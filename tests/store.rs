//! Store suite: the same cases on SQLite and PostgreSQL.

use renkei::error::Error;
use renkei::master::{
    MasterKind, OrganisationInput, PersonInput, RoomInput, ValidRecord, VenueInput,
};
use renkei::store::master::Record;

use crate::both_engines;
use crate::support::{tenant, Engine, TestDb};

fn org(code: &str, name: &str) -> ValidRecord {
    ValidRecord::Organisation(
        OrganisationInput {
            code: code.into(),
            name: name.into(),
            kana: "ソウダン".into(),
            kind: "consultation_office".into(),
            ward: "中央区".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    )
}

async fn master_data_round_trip(engine: Engine) {
    let t = TestDb::new(engine).await;
    let db = &t.db;
    let tenant = tenant(db, "alpha").await;
    let user = &tenant.admin;

    let org_id = db
        .save_record(user, None, &org("O-1", "相談支援事業所ひだまり"))
        .await
        .unwrap();
    let person = PersonInput {
        code: "P-1".into(),
        name: "山田 花子".into(),
        kana: "ヤマダ ハナコ".into(),
        email: "hanako@example.jp".into(),
        organisation_code: "O-1".into(),
        roles: vec!["機能強化員".into()],
        qualifications: vec!["主任相談支援専門員".into(), "社会福祉士".into()],
        part_time_days: vec!["月".into(), "thu".into()],
        working_hours: "mon,thu 09:00-15:00".into(),
        max_meetings_per_day: Some(2),
        max_hours_per_day: Some(4.5),
        external: false,
        availability: String::new(),
    };
    let person_id = db
        .save_record(user, None, &ValidRecord::Person(person.parse().unwrap()))
        .await
        .unwrap();
    let Record::Person(p) = db
        .get_record(tenant.id, MasterKind::People, person_id)
        .await
        .unwrap()
    else {
        panic!("expected a person")
    };
    assert_eq!(p.organisation_id, Some(org_id));
    assert_eq!(
        p.organisation_name.as_deref(),
        Some("相談支援事業所ひだまり")
    );
    assert_eq!(p.qualifications, ["主任相談支援専門員", "社会福祉士"]);
    assert_eq!(p.part_time_days, ["mon", "thu"]);
    assert_eq!(p.working_hours, "mon,thu 09:00-15:00");
    assert_eq!(p.max_meetings_per_day, Some(2));
    assert_eq!(p.max_hours_per_day, Some(4.5));

    let venue = VenueInput {
        code: "V-1".into(),
        name: "福祉センター".into(),
        opening_hours: "mon-sat 09:00-21:00".into(),
        ..Default::default()
    };
    db.save_record(user, None, &ValidRecord::Venue(venue.parse().unwrap()))
        .await
        .unwrap();
    let room = RoomInput {
        code: "R-1".into(),
        venue_code: "V-1".into(),
        name: "大会議室".into(),
        capacity: 60,
        wheelchair: true,
        hearing_loop: false,
    };
    let room_id = db
        .save_record(user, None, &ValidRecord::Room(room.parse().unwrap()))
        .await
        .unwrap();
    let Record::Room(r) = db
        .get_record(tenant.id, MasterKind::Rooms, room_id)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (
            r.capacity,
            r.wheelchair,
            r.hearing_loop,
            r.venue_name.as_str()
        ),
        (60, true, false, "福祉センター")
    );

    // Search by kana, by part of the name, by qualification; LIKE wildcards are literal.
    let hits = db
        .list_records(tenant.id, MasterKind::People, "ヤマダ")
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        db.list_records(tenant.id, MasterKind::People, "主任")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(db
        .list_records(tenant.id, MasterKind::People, "%")
        .await
        .unwrap()
        .is_empty());
    assert!(db
        .list_records(tenant.id, MasterKind::People, "佐藤")
        .await
        .unwrap()
        .is_empty());

    // Update keeps the id; a duplicate code is a conflict in domain words, not a driver error.
    db.save_record(user, Some(org_id), &org("O-1", "相談支援事業所ひだまり北"))
        .await
        .unwrap();
    let Record::Organisation(o) = db
        .get_record(tenant.id, MasterKind::Organisations, org_id)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(o.name, "相談支援事業所ひだまり北");
    let err = db
        .save_record(user, None, &org("O-1", "二重登録"))
        .await
        .unwrap_err();
    let Error::Conflict(m) = err else {
        panic!("expected a conflict, got {err:?}")
    };
    assert!(m.en.contains("code is already in use"), "{m}");

    // An organisation that people belong to cannot be deleted; the person can.
    let err = db
        .delete_record(user, MasterKind::Organisations, org_id)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    db.delete_record(user, MasterKind::People, person_id)
        .await
        .unwrap();
    db.delete_record(user, MasterKind::Organisations, org_id)
        .await
        .unwrap();
    let err = db
        .get_record(tenant.id, MasterKind::Organisations, org_id)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)));

    // A reference to a code that does not exist is a field error naming the field.
    let orphan = PersonInput {
        code: "P-2".into(),
        name: "佐藤 一郎".into(),
        organisation_code: "NOPE".into(),
        ..Default::default()
    };
    let err = db
        .save_record(user, None, &ValidRecord::Person(orphan.parse().unwrap()))
        .await
        .unwrap_err();
    let Error::Validation(fields) = err else {
        panic!("expected validation error")
    };
    assert_eq!(fields[0].field, "organisation_code");

    // Every write is in the audit log, newest first, with who did it.
    let audit = db.audit_entries(tenant.id, 100).await.unwrap();
    let actions: Vec<(&str, &str)> = audit
        .iter()
        .map(|a| (a.action.as_str(), a.entity.as_str()))
        .collect();
    assert_eq!(actions[0], ("delete", "organisations"));
    assert_eq!(actions[1], ("delete", "people"));
    assert!(actions.contains(&("update", "organisations")));
    assert!(actions.contains(&("create", "rooms")));
    assert!(audit
        .iter()
        .filter(|a| a.entity != "user" && a.entity != "api_token")
        .all(|a| a.username.as_deref() == Some("alpha-admin")));
}
both_engines!(master_data_round_trip);

async fn failed_writes_leave_no_audit_row(engine: Engine) {
    let t = TestDb::new(engine).await;
    let tenant = tenant(&t.db, "beta").await;
    let before = t.db.audit_entries(tenant.id, 1000).await.unwrap().len();
    t.db.save_record(&tenant.admin, None, &org("X", "一"))
        .await
        .unwrap();
    t.db.save_record(&tenant.admin, None, &org("X", "二"))
        .await
        .unwrap_err();
    t.db.save_record(&tenant.admin, Some(999_999), &org("Y", "三"))
        .await
        .unwrap_err();
    let after = t.db.audit_entries(tenant.id, 1000).await.unwrap().len();
    assert_eq!(after, before + 1, "only the committed write is audited");
}
both_engines!(failed_writes_leave_no_audit_row);

async fn migrations_are_idempotent(engine: Engine) {
    let t = TestDb::new(engine).await;
    t.db.migrate().await.unwrap();
    t.db.migrate().await.unwrap();
    t.db.ping().await.unwrap();
}
both_engines!(migrations_are_idempotent);
