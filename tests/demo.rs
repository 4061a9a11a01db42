//! The demo municipality (みらい市) loaded by `renkei serve --demo`: its shape in the database,
//! its logins, and that loading is idempotent and all-or-nothing. Both engines.

use renkei::auth::{hash_password, Role};
use renkei::demo::{self, DEMO_PASSWORD, DEMO_USERNAME};
use renkei::error::Error;
use renkei::master::MasterKind;
use renkei::store::tenancy::MunicipalityId;
use renkei::store::Db;

use crate::both_engines;
use crate::support::{Engine, TestDb};

/// The documented shape of the demo data (see the header of src/demo/data.rs): 1 core center,
/// 8 consultation-support centers, 5 wards x 2 sections, 5 x 8 consultation offices,
/// 2 hospitals, 1 hub and 10 short-stay / group-home facilities; 89 staff and 2 external
/// supervisors (Meguro 002: 「スーパーバイザーは…外部を含め、参加(報酬)を依頼する」); 5 venues plus
/// 5 ward offices; 20 rooms; 3 extra closures in FY2026.
const ORGANISATIONS: i64 = 1 + 8 + 10 + 40 + 2 + 1 + 10;
const PEOPLE: i64 = 91;
const VENUES: i64 = 10;
const ROOMS: i64 = 20;
const CLOSURES: usize = 3;

const VIEWER_USERNAME: &str = "demo-viewer";

async fn counts(db: &Db, m: MunicipalityId) -> [i64; 4] {
    let mut out = [0; 4];
    for (slot, kind) in out.iter_mut().zip([
        MasterKind::Organisations,
        MasterKind::People,
        MasterKind::Venues,
        MasterKind::Rooms,
    ]) {
        *slot = db.count_records(m, kind).await.expect("count records");
    }
    out
}

/// The municipality-wide extra closures as (date, reason), straight from the table.
async fn closures_of(db: &Db, m: MunicipalityId) -> Vec<(String, String)> {
    sqlx::query_as("SELECT date, reason FROM closures WHERE municipality_id = $1 ORDER BY date")
        .bind(m.0)
        .fetch_all(&db.pool)
        .await
        .expect("list closures")
}

async fn users_of(db: &Db, m: MunicipalityId) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE municipality_id = $1")
        .bind(m.0)
        .fetch_one(&db.pool)
        .await
        .expect("count users")
}

async fn loads_the_documented_shape_once(engine: Engine) {
    let t = TestDb::new(engine).await;
    let db = &t.db;
    assert_eq!(
        db.municipality_count().await.unwrap(),
        0,
        "a fresh database has no municipality"
    );

    let loaded = demo::load(db).await.expect("load the demo");
    assert!(
        loaded.created,
        "the first load on an empty database creates the demo"
    );
    assert_eq!(loaded.municipality_name, "みらい市");

    let m = db
        .municipality_by_code("demo")
        .await
        .unwrap()
        .expect("the demo municipality exists under code `demo`");
    assert_eq!(m.name, "みらい市");
    assert_eq!(m.name_en, "Mirai City (demo)");
    let m = m.id;

    // The numbers the documentation promises, and exactly the dataset the code defines.
    assert_eq!(
        counts(db, m).await,
        [ORGANISATIONS, PEOPLE, VENUES, ROOMS],
        "organisations, people, venues, rooms"
    );
    let data = demo::data::demo_dataset();
    assert_eq!(
        [
            data.organisations.len(),
            data.people.len(),
            data.venues.len(),
            data.rooms.len()
        ]
        .map(|n| n as i64),
        [ORGANISATIONS, PEOPLE, VENUES, ROOMS],
        "the dataset in src/demo/data.rs changed shape"
    );
    let closures = closures_of(db, m).await;
    assert_eq!(closures.len(), CLOSURES, "{closures:?}");
    assert!(
        closures
            .iter()
            .any(|(d, r)| d == "2026-08-14" && r.contains("停電")),
        "{closures:?}"
    );

    // Records are stored as given, with their references resolved.
    let sato = db
        .list_records(m, MasterKind::People, "佐藤")
        .await
        .unwrap();
    assert_eq!(sato.len(), 1, "exactly one 佐藤 in the demo");
    assert_eq!(
        sato[0].to_fields()[..5],
        [
            "P001",
            "佐藤 美穂",
            "サトウ ミホ",
            "miho.sato@mirai-kikan.example.jp",
            "CORE"
        ]
    );
    let rooms = db
        .list_records(m, MasterKind::Rooms, "大会議室")
        .await
        .unwrap();
    assert!(
        rooms
            .iter()
            .any(|r| r.to_fields()[..4] == ["R-CITY-1", "V-CITY", "大会議室", "120"]),
        "{:?}",
        rooms.iter().map(|r| r.to_fields()).collect::<Vec<_>>()
    );

    // The two demo logins exist with their roles and work through the real login path.
    let admin = db
        .user_by_username(DEMO_USERNAME)
        .await
        .unwrap()
        .expect("demo admin");
    assert_eq!((admin.municipality_id, admin.role), (m, Role::Admin));
    let viewer = db
        .user_by_username(VIEWER_USERNAME)
        .await
        .unwrap()
        .expect("demo viewer");
    assert_eq!((viewer.municipality_id, viewer.role), (m, Role::Viewer));
    let hub = db
        .user_by_username(renkei::demo::placement::DEMO_HUB_USERNAME)
        .await
        .unwrap()
        .expect("demo hub staff");
    assert_eq!((hub.municipality_id, hub.role), (m, Role::HubStaff));
    assert_eq!(
        users_of(db, m).await,
        3,
        "the demo creates exactly three accounts"
    );
    // The placement side: the hub's rooms, five short stays, five trial rooms, open requests.
    let facilities = db.list_facilities(m).await.unwrap();
    let kinds: Vec<&str> = facilities.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "hub_emergency").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "short_stay").count(), 5);
    assert_eq!(
        kinds.iter().filter(|k| **k == "group_home_trial").count(),
        5
    );
    assert!(facilities.iter().all(|f| f.bed_count() > 0));
    assert_eq!(
        db.list_requests(m, Some("consultation"))
            .await
            .unwrap()
            .len(),
        5
    );
    let logged_in = renkei::auth::login(db, DEMO_USERNAME, DEMO_PASSWORD, "test")
        .await
        .expect("demo admin can log in");
    assert_eq!(logged_in.id, admin.id);
    let logged_in = renkei::auth::login(db, VIEWER_USERNAME, DEMO_PASSWORD, "test")
        .await
        .expect("demo viewer can log in");
    assert_eq!(logged_in.id, viewer.id);
    match renkei::auth::login(db, DEMO_USERNAME, "not-the-demo-password", "test").await {
        Err(Error::BadRequest(_)) => {}
        other => panic!(
            "a wrong password must be refused, got {:?}",
            other.map(|u| u.username)
        ),
    }

    // A second load (every `serve --demo` start) changes nothing.
    let again = demo::load(db).await.expect("second load");
    assert!(
        !again.created,
        "the second load must report created = false"
    );
    assert_eq!(again.municipality_name, "みらい市");
    assert_eq!(
        db.municipality_count().await.unwrap(),
        1,
        "no second municipality"
    );
    assert_eq!(
        counts(db, m).await,
        [ORGANISATIONS, PEOPLE, VENUES, ROOMS],
        "no duplicated records"
    );
    assert_eq!(
        closures_of(db, m).await.len(),
        CLOSURES,
        "no duplicated closures"
    );
    assert_eq!(users_of(db, m).await, 3, "no duplicated accounts");
    let admin_again = db.user_by_username(DEMO_USERNAME).await.unwrap().unwrap();
    assert_eq!(admin_again.id, admin.id, "the demo admin was not recreated");
    renkei::auth::login(db, DEMO_USERNAME, DEMO_PASSWORD, "test")
        .await
        .expect("the demo password still works after a second load");
}
both_engines!(loads_the_documented_shape_once);

/// `demo::load` promises "all or nothing". When it cannot finish (here: the username `demo`
/// is already taken by an account of another municipality, and usernames are unique across
/// the service) it must fail and leave no half-loaded demo behind; otherwise the next start
/// would see the municipality, report created = false and run without any demo login.
async fn a_failed_load_leaves_nothing_behind(engine: Engine) {
    let t = TestDb::new(engine).await;
    let db = &t.db;
    let other = db
        .create_municipality("other", "ほか市", "Other City")
        .await
        .unwrap();
    let hash = hash_password("someone else's password").unwrap();
    db.create_user(other, DEMO_USERNAME, "別の自治体の職員", &hash, Role::Admin)
        .await
        .unwrap();

    let result = demo::load(db).await;
    assert!(
        result.is_err(),
        "loading the demo must fail when its username is taken"
    );

    let demo_municipality = db.municipality_by_code("demo").await.unwrap();
    let left = match &demo_municipality {
        Some(m) => format!(
            "municipality {:?} with {:?} records",
            m.code,
            counts(db, m.id).await
        ),
        None => String::new(),
    };
    assert!(
        demo_municipality.is_none(),
        "a failed demo load left a half-loaded demo behind: {left}"
    );
    assert_eq!(
        db.municipality_count().await.unwrap(),
        1,
        "only the pre-existing municipality remains"
    );
    let owner = db.user_by_username(DEMO_USERNAME).await.unwrap().unwrap();
    assert_eq!(
        owner.municipality_id, other,
        "the existing account is untouched"
    );
}
both_engines!(a_failed_load_leaves_nothing_behind);
