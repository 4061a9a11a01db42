//! The demo's emergency-placement side: the hub's two emergency rooms, the five short-stay
//! facilities and the five group homes' trial rooms of みらい市 with their beds, regular
//! bookings over the coming weeks (deterministic, about two thirds of the short-stay
//! bed-nights), a hub-staff account, and a few open requests shaped like Sendai's cases.
//!
//! Loaded after the master data, through the same store methods the service uses; it runs only
//! while the municipality has no facility, so an interrupted load is completed by the next start.

use chrono::{Days, NaiveDate, Utc};
use renkei_solver::calendar::jst_date;

use crate::auth::{hash_password, Role};
use crate::error::Result;
use crate::placement::{
    BedInput, FacilityInput, NeedsInput, OccupancyInput, RequestInput, RoomInput,
};
use crate::store::placement::Actor;
use crate::store::tenancy::MunicipalityId;
use crate::store::Db;

/// The hub-staff login of the demo.
pub const DEMO_HUB_USERNAME: &str = "demo-hub";

fn beds(names: &[&str], wheelchair: &[usize]) -> Vec<BedInput> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| BedInput {
            name: n.to_string(),
            wheelchair: wheelchair.contains(&i),
        })
        .collect()
}

fn room(name: &str, policy: &str, bed_names: &[&str], wheelchair: &[usize]) -> RoomInput {
    RoomInput {
        name: name.into(),
        sex_policy: policy.into(),
        beds: beds(bed_names, wheelchair),
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn facilities() -> Vec<FacilityInput> {
    let all = s(&["physical", "intellectual", "mental", "developmental"]);
    let mut out = vec![FacilityInput {
        code: "HUB-ER".into(),
        organisation: "HUB".into(),
        name: "ささえ 緊急用居室".into(),
        kind: "hub_emergency".into(),
        x_km: 0.0,
        y_km: 0.0,
        disability_types: s(&[
            "physical",
            "intellectual",
            "mental",
            "developmental",
            "intractable_disease",
        ]),
        adults: true,
        children: true,
        medical_care: s(&["suction"]),
        behavioural_support: true,
        night_staff: true,
        contact_email: "kyoten@sasae.example.jp".into(),
        rooms: vec![
            room("緊急用居室1", "any", &["1"], &[0]),
            room("緊急用居室2", "any", &["2"], &[]),
        ],
    }];
    // (org code, name, x, y, types, children, care, behavioural, rooms)
    let short_stays: [(
        &str,
        &str,
        f64,
        f64,
        Vec<String>,
        bool,
        Vec<String>,
        bool,
        Vec<RoomInput>,
    ); 5] = [
        (
            "SS-01",
            "はなみずき",
            -4.0,
            3.0,
            all.clone(),
            false,
            s(&[]),
            false,
            vec![
                room("2人部屋A", "same_as_occupants", &["A1", "A2"], &[]),
                room("2人部屋B", "same_as_occupants", &["B1", "B2"], &[]),
                room("個室1", "any", &["C1"], &[0]),
            ],
        ),
        (
            "SS-02",
            "やすらぎ",
            5.0,
            2.0,
            s(&["physical", "intellectual"]),
            false,
            s(&["suction", "tube_feeding"]),
            false,
            vec![
                room("男性室", "male", &["M1", "M2"], &[0]),
                room("女性室", "female", &["F1", "F2"], &[0]),
                room("個室", "any", &["S1"], &[]),
            ],
        ),
        (
            "SS-03",
            "あけぼの",
            1.0,
            -5.0,
            all.clone(),
            true,
            s(&["suction", "tube_feeding", "oxygen"]),
            true,
            vec![
                room("医療対応室", "any", &["1"], &[0]),
                room("児童室", "same_as_occupants", &["2", "3"], &[]),
                room("個室", "any", &["4"], &[]),
            ],
        ),
        (
            "SS-04",
            "なのはな",
            -6.0,
            -3.0,
            s(&["intellectual", "developmental"]),
            true,
            s(&[]),
            true,
            vec![
                room("行動支援室", "any", &["1"], &[]),
                room("2人部屋", "same_as_occupants", &["2", "3"], &[]),
            ],
        ),
        (
            "SS-05",
            "しらさぎ",
            7.0,
            6.0,
            s(&["mental", "intellectual"]),
            false,
            s(&[]),
            false,
            vec![
                room("女性室", "female", &["1", "2"], &[]),
                room("男性室", "male", &["3", "4"], &[]),
            ],
        ),
    ];
    for (code, name, x, y, types, children, care, behavioural, rooms) in short_stays {
        out.push(FacilityInput {
            code: format!("{code}-SS"),
            organisation: code.into(),
            name: format!("ショートステイ {name}"),
            kind: "short_stay".into(),
            x_km: x,
            y_km: y,
            disability_types: types,
            adults: true,
            children,
            medical_care: care,
            behavioural_support: behavioural,
            night_staff: true,
            contact_email: format!("uketsuke.{}@shortstay.example.jp", code.to_lowercase()),
            rooms,
        });
    }
    let group_homes = [
        ("GH-01", "ひなた", -2.0, 5.0, "any"),
        ("GH-02", "もみじ", 4.0, -2.0, "female"),
        ("GH-03", "かえで", -5.0, -6.0, "male"),
        ("GH-04", "つくし", 6.0, -6.0, "any"),
        ("GH-05", "さざなみ", 2.0, 8.0, "female"),
    ];
    for (code, name, x, y, policy) in group_homes {
        out.push(FacilityInput {
            code: format!("{code}-TRIAL"),
            organisation: code.into(),
            name: format!("グループホーム {name} 体験室"),
            kind: "group_home_trial".into(),
            x_km: x,
            y_km: y,
            disability_types: s(&["intellectual", "mental", "developmental"]),
            adults: true,
            children: false,
            medical_care: Vec::new(),
            behavioural_support: false,
            night_staff: code != "GH-03",
            contact_email: format!("taiken.{}@gh.example.jp", code.to_lowercase()),
            rooms: vec![room("体験室", policy, &["体験"], &[])],
        });
    }
    out
}

/// A small deterministic generator (the demo must look the same at every start).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn request(
    case: &str,
    name: &str,
    sex: &str,
    from: NaiveDate,
    nights: u64,
    types: &[&str],
    wheelchair: bool,
    urgency: i64,
    x: f64,
    y: f64,
) -> RequestInput {
    RequestInput {
        case_number: case.into(),
        person_name: name.into(),
        from: from.to_string(),
        to: (from + Days::new(nights)).to_string(),
        needs: NeedsInput {
            sex: sex.into(),
            disability_types: s(types),
            wheelchair,
            ..NeedsInput::default()
        },
        urgency,
        home_x_km: x,
        home_y_km: y,
        preregistered: urgency < 4,
        notes: "デモ用の架空の相談です".into(),
        ..RequestInput::default()
    }
}

/// Loads the placement side of the demo into municipality `m` unless it has facilities.
pub async fn load(db: &Db, m: MunicipalityId) -> Result<()> {
    if !db.list_facilities(m).await?.is_empty() {
        return Ok(());
    }
    let hub = match db.user_by_username(DEMO_HUB_USERNAME).await? {
        Some(u) => u,
        None => {
            let hash = hash_password(super::DEMO_PASSWORD)?;
            db.create_user(m, DEMO_HUB_USERNAME, "デモ 拠点職員", &hash, Role::HubStaff)
                .await?;
            db.user_by_username(DEMO_HUB_USERNAME)
                .await?
                .ok_or_else(|| anyhow::anyhow!("demo hub user"))?
        }
    };
    let today = jst_date(Utc::now());
    let mut rng = Lcg(2026);
    for f in facilities() {
        let valid = f.parse().map_err(crate::error::Error::Validation)?;
        let id = db.create_facility(&hub, &valid).await?;
        let row = db.facility(m, id).await?;
        if row.kind == "hub_emergency" {
            db.confirm_vacancies(m, Actor::User(&hub), id).await?;
            continue;
        }
        // Regular bookings: stays of 2-6 nights over the next four weeks.
        let mut items = Vec::new();
        for (room, bed) in row.beds() {
            let mut day = 0u64;
            while day < 28 {
                let gap = rng.next() % 4;
                let len = 2 + rng.next() % 5;
                day += gap;
                let sex = match room.sex_policy.as_str() {
                    "male" => "male",
                    "female" => "female",
                    _ if rng.next() % 2 == 0 => "male",
                    _ => "female",
                };
                items.push(OccupancyInput {
                    bed_id: bed.id,
                    from: (today + Days::new(day)).to_string(),
                    to: (today + Days::new((day + len).min(28))).to_string(),
                    occupied: true,
                    sex: Some(sex.into()),
                });
                day += len + 1;
            }
        }
        let items: Vec<_> = items.into_iter().filter(|i| i.from < i.to).collect();
        let valid =
            crate::placement::parse_occupancy(&items).map_err(crate::error::Error::Validation)?;
        db.set_occupancy(m, Actor::User(&hub), id, &valid).await?;
    }
    let requests = [
        request(
            "2026-D001",
            "みらい 太郎",
            "male",
            today,
            3,
            &["intellectual"],
            false,
            5,
            -3.0,
            2.0,
        ),
        request(
            "2026-D002",
            "みらい 花子",
            "female",
            today + Days::new(1),
            5,
            &["physical"],
            true,
            4,
            4.0,
            1.0,
        ),
        request(
            "2026-D003",
            "あおば 次郎",
            "male",
            today + Days::new(2),
            2,
            &["mental"],
            false,
            3,
            6.0,
            5.0,
        ),
        request(
            "2026-D004",
            "ひかり 三郎",
            "male",
            today + Days::new(3),
            7,
            &["intellectual", "developmental"],
            false,
            3,
            -5.0,
            -4.0,
        ),
        request(
            "2026-D005",
            "さくら 涼子",
            "female",
            today + Days::new(5),
            4,
            &["mental"],
            false,
            2,
            2.0,
            7.0,
        ),
    ];
    for r in requests {
        let valid = r.parse().map_err(crate::error::Error::Validation)?;
        db.create_request(&hub, &valid).await?;
    }
    Ok(())
}
