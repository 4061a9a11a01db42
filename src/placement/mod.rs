//! Emergency placement (緊急受入れ) in the service: what hub staff enter (facilities with rooms
//! and beds, occupancy, requests), parsed at the edge into validated values, and the glue
//! between the store and the pure engine (`renkei_solver::placement`): vacancy search and the
//! batch optimizer, whose every result passes the engine's validator before it becomes holds.
//!
//! The request flow: consultation (相談) → proposed (a hold on bed-nights, with an expiry) →
//! accepted or declined by the facility → placed (confirmed) → ended; withdrawn at any point
//! before it ends. Every step is a row in `placement_events` with its reason.

pub mod declines;
pub mod engine;
pub mod figures;

use chrono::NaiveDate;
use renkei_solver::placement::model::{
    DisabilityType, FacilityKind, Location, MedicalCare, Needs, Nights, Sex, SexPolicy,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::i18n::Msg;
use crate::master::{parse_date, Check, FieldError};

/// The longest stay one request may ask for (a month and a half): longer is not an emergency
/// stay and is most likely a typing error.
pub const MAX_NIGHTS: u32 = 45;
/// Default lifetime of a hold on a proposal.
pub const DEFAULT_HOLD_HOURS: i64 = 24;
/// A facility's vacancies are stale when not confirmed for this many days.
pub const STALE_AFTER_DAYS: i64 = 7;

/// The slug an engine enum is written as (its serde name), for storage and forms.
pub fn slug<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Reads a slug back; `None` when it is not one of the enum's names.
pub fn parse_slug<T: DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_string())).ok()
}

/// A comma-separated list of slugs, as stored.
pub fn slugs<T: Serialize>(items: &[T]) -> String {
    items.iter().map(slug).collect::<Vec<_>>().join(",")
}

/// Reads a stored list; unknown entries (none are ever written) are skipped.
pub fn parse_slugs<T: DeserializeOwned>(s: &str) -> Vec<T> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .filter_map(parse_slug)
        .collect()
}

pub fn facility_kind_label(k: FacilityKind) -> Msg {
    match k {
        FacilityKind::HubEmergency => Msg::new("拠点の緊急用居室", "Hub emergency room"),
        FacilityKind::ShortStay => Msg::new("短期入所", "Short stay"),
        FacilityKind::GroupHomeTrial => Msg::new("グループホーム体験室", "Group-home trial room"),
    }
}

pub fn disability_label(d: DisabilityType) -> Msg {
    match d {
        DisabilityType::Physical => Msg::new("身体障害", "physical"),
        DisabilityType::Intellectual => Msg::new("知的障害", "intellectual"),
        DisabilityType::Mental => Msg::new("精神障害", "mental"),
        DisabilityType::Developmental => Msg::new("発達障害", "developmental"),
        DisabilityType::IntractableDisease => Msg::new("難病", "intractable disease"),
    }
}

pub fn care_label(c: MedicalCare) -> Msg {
    match c {
        MedicalCare::Suction => Msg::new("喀痰吸引", "suction"),
        MedicalCare::TubeFeeding => Msg::new("経管栄養", "tube feeding"),
        MedicalCare::Oxygen => Msg::new("在宅酸素", "oxygen"),
        MedicalCare::Catheter => Msg::new("導尿", "catheter"),
    }
}

pub fn sex_label(s: Sex) -> Msg {
    match s {
        Sex::Male => Msg::new("男性", "male"),
        Sex::Female => Msg::new("女性", "female"),
    }
}

pub fn sex_policy_label(p: SexPolicy) -> Msg {
    match p {
        SexPolicy::Male => Msg::new("男性のみ", "men only"),
        SexPolicy::Female => Msg::new("女性のみ", "women only"),
        SexPolicy::Any => Msg::new("性別を問わない（個室）", "anyone (single room)"),
        SexPolicy::SameAsOccupants => Msg::new("相部屋（同性のみ）", "shared, one sex at a time"),
    }
}

/// Parses a stay given as first night and check-out date (both `YYYY-MM-DD`).
pub fn parse_nights(
    from_field: &str,
    from: &str,
    to_field: &str,
    to: &str,
) -> Result<Nights, Vec<FieldError>> {
    let mut errors = Vec::new();
    let f = parse_date(from_field, from)
        .map_err(|e| errors.push(e))
        .ok();
    let t = parse_date(to_field, to).map_err(|e| errors.push(e)).ok();
    if let (Some(f), Some(t)) = (f, t) {
        let nights = Nights::new(f, t);
        if t <= f {
            errors.push(FieldError::new(
                to_field,
                "退所日（チェックアウト）は初日より後の日付にしてください（1泊なら翌日）",
                "the check-out date must be after the first night (the next day for one night)",
            ));
        } else if nights.len() > MAX_NIGHTS {
            errors.push(FieldError::new(
                to_field,
                format!(
                    "{}泊は長すぎます。緊急の短期入所は{MAX_NIGHTS}泊までです",
                    nights.len()
                ),
                format!(
                    "{} nights is too long; an emergency stay is at most {MAX_NIGHTS} nights",
                    nights.len()
                ),
            ));
        }
        if errors.is_empty() {
            return Ok(nights);
        }
    }
    Err(errors)
}

/// What a person needs, as entered (forms and JSON).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NeedsInput {
    /// `male` or `female`.
    pub sex: String,
    #[serde(default)]
    pub child: bool,
    /// physical, intellectual, mental, developmental, intractable_disease
    #[serde(default)]
    pub disability_types: Vec<String>,
    #[serde(default)]
    pub wheelchair: bool,
    /// suction, tube_feeding, oxygen, catheter
    #[serde(default)]
    pub medical_care: Vec<String>,
    #[serde(default)]
    pub behavioural_support: bool,
    #[serde(default)]
    pub night_staff: bool,
}

fn parse_list<T: DeserializeOwned + PartialEq>(
    errors: &mut Vec<FieldError>,
    field: &str,
    items: &[String],
    allowed: &str,
) -> Vec<T> {
    let mut out = Vec::new();
    for item in items.iter().filter(|i| !i.trim().is_empty()) {
        match parse_slug::<T>(item) {
            Some(v) if !out.contains(&v) => out.push(v),
            Some(_) => {}
            None => errors.push(FieldError::new(
                field,
                format!("「{item}」は選べません。次のいずれかです: {allowed}"),
                format!("\"{item}\" is not one of: {allowed}"),
            )),
        }
    }
    out
}

impl NeedsInput {
    pub fn parse(&self, errors: &mut Vec<FieldError>) -> Option<Needs> {
        let sex = parse_slug::<Sex>(&self.sex);
        if sex.is_none() {
            errors.push(FieldError::new(
                "sex",
                "性別を male（男性）か female（女性）で指定してください",
                "give the sex as male or female",
            ));
        }
        let disability_types = parse_list(
            errors,
            "disability_types",
            &self.disability_types,
            "physical, intellectual, mental, developmental, intractable_disease",
        );
        let medical_care = parse_list(
            errors,
            "medical_care",
            &self.medical_care,
            "suction, tube_feeding, oxygen, catheter",
        );
        Some(Needs {
            sex: sex?,
            child: self.child,
            disability_types,
            wheelchair: self.wheelchair,
            medical_care,
            behavioural_support: self.behavioural_support,
            night_staff: self.night_staff,
            not_at: Vec::new(),
        })
    }
}

/// A vacancy search: nights and needs (and optionally where the person lives).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// First night, `YYYY-MM-DD`.
    pub from: String,
    /// Check-out date (the morning after the last night), `YYYY-MM-DD`.
    pub to: String,
    #[serde(flatten)]
    pub needs: NeedsInput,
    #[serde(default)]
    pub home_x_km: f64,
    #[serde(default)]
    pub home_y_km: f64,
    /// No facility farther from home than this (km, 0.5-500); none: any distance.
    #[serde(default)]
    pub max_distance_km: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct ValidSearch {
    pub nights: Nights,
    pub needs: Needs,
    pub home: Location,
    pub max_distance_km: Option<f64>,
}

fn parse_distance_limit(errors: &mut Vec<FieldError>, km: Option<f64>) -> Option<f64> {
    let km = km?;
    if !km.is_finite() || !(0.5..=500.0).contains(&km) {
        errors.push(FieldError::new(
            "max_distance_km",
            format!("距離の上限は0.5〜500kmで入力してください（入力値: {km}）"),
            format!("the distance limit must be 0.5 to 500 km (got {km})"),
        ));
        return None;
    }
    Some(km)
}

impl SearchInput {
    pub fn parse(&self) -> Result<ValidSearch, Vec<FieldError>> {
        let mut errors = Vec::new();
        let nights = parse_nights("from", &self.from, "to", &self.to)
            .map_err(|e| errors.extend(e))
            .ok();
        let needs = self.needs.parse(&mut errors);
        let home = parse_location(&mut errors, "home", self.home_x_km, self.home_y_km);
        let max_distance_km = parse_distance_limit(&mut errors, self.max_distance_km);
        match (nights, needs) {
            (Some(nights), Some(needs)) if errors.is_empty() => Ok(ValidSearch {
                nights,
                needs,
                home,
                max_distance_km,
            }),
            _ => Err(errors),
        }
    }
}

fn parse_location(errors: &mut Vec<FieldError>, field: &str, x: f64, y: f64) -> Location {
    if !x.is_finite() || !y.is_finite() || x.abs() > 500.0 || y.abs() > 500.0 {
        errors.push(FieldError::new(
            field,
            "位置は市の基準点から東西・南北のkm（±500以内）で入力してください",
            "give the location as km east and north of the city's reference point (within ±500)",
        ));
    }
    Location { x_km: x, y_km: y }
}

/// A new request (consultation), as hub staff enter it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    /// The case number everyone but hub staff sees, e.g. `2026-0042`.
    pub case_number: String,
    pub person_name: String,
    #[serde(default)]
    pub person_kana: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub notes: String,
    /// 事前登録 (registered in advance with consent).
    #[serde(default)]
    pub preregistered: bool,
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub needs: NeedsInput,
    /// 1 (can wait) .. 5 (tonight, no alternative).
    #[serde(default = "default_urgency")]
    pub urgency: i64,
    #[serde(default)]
    pub home_x_km: f64,
    #[serde(default)]
    pub home_y_km: f64,
    /// Codes of facilities the person knows.
    #[serde(default)]
    pub known_facilities: Vec<String>,
    /// Code of the referring organisation.
    #[serde(default)]
    pub referrer: String,
    /// No facility farther from home than this (km, 0.5-500); none: any distance.
    #[serde(default)]
    pub max_distance_km: Option<f64>,
}

fn default_urgency() -> i64 {
    3
}

#[derive(Debug, Clone)]
pub struct ValidRequest {
    pub case_number: String,
    pub person_name: String,
    pub person_kana: String,
    pub contact: String,
    pub notes: String,
    pub preregistered: bool,
    pub nights: Nights,
    pub needs: Needs,
    pub urgency: u8,
    pub home: Location,
    pub known_facilities: Vec<String>,
    pub referrer: String,
    pub max_distance_km: Option<f64>,
}

impl RequestInput {
    pub fn parse(&self) -> Result<ValidRequest, Vec<FieldError>> {
        let mut c = Check::default();
        let case_number = c.code("case_number", &self.case_number);
        let person_name = c.required("person_name", "氏名", &self.person_name, 100);
        let person_kana = c.kana("person_kana", &self.person_kana);
        let contact = c.optional("contact", &self.contact, 200);
        let notes = self.notes.trim().to_string();
        if notes.chars().count() > 2000 {
            c.0.push(FieldError::new(
                "notes",
                "メモは2000文字以内にしてください",
                "keep notes within 2000 characters",
            ));
        }
        let known_facilities = c.list("known_facilities", &self.known_facilities);
        let referrer = c.optional("referrer", &self.referrer, 32);
        let mut errors = c.0;
        let nights = parse_nights("from", &self.from, "to", &self.to)
            .map_err(|e| errors.extend(e))
            .ok();
        let needs = self.needs.parse(&mut errors);
        if !(1..=5).contains(&self.urgency) {
            errors.push(FieldError::new(
                "urgency",
                "緊急度は1（待てる）から5（今夜・他に手段なし）で指定してください",
                "urgency is 1 (can wait) to 5 (tonight, no alternative)",
            ));
        }
        let home = parse_location(&mut errors, "home", self.home_x_km, self.home_y_km);
        let max_distance_km = parse_distance_limit(&mut errors, self.max_distance_km);
        match (nights, needs) {
            (Some(nights), Some(needs)) if errors.is_empty() => Ok(ValidRequest {
                max_distance_km,
                case_number,
                person_name,
                person_kana,
                contact,
                notes,
                preregistered: self.preregistered,
                nights,
                needs,
                urgency: self.urgency as u8,
                home,
                known_facilities,
                referrer,
            }),
            _ => Err(errors),
        }
    }
}

/// A facility with its rooms and beds, as entered.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FacilityInput {
    pub code: String,
    /// Code of the organisation that runs it (a short-stay facility, group home or the hub).
    pub organisation: String,
    pub name: String,
    /// hub_emergency, short_stay or group_home_trial
    pub kind: String,
    #[serde(default)]
    pub x_km: f64,
    #[serde(default)]
    pub y_km: f64,
    pub disability_types: Vec<String>,
    #[serde(default = "yes")]
    pub adults: bool,
    #[serde(default)]
    pub children: bool,
    #[serde(default)]
    pub medical_care: Vec<String>,
    #[serde(default)]
    pub behavioural_support: bool,
    #[serde(default)]
    pub night_staff: bool,
    #[serde(default)]
    pub contact_email: String,
    /// Rooms and their beds; only read when the facility is created.
    #[serde(default)]
    pub rooms: Vec<RoomInput>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PlacementRoomInput)]
pub struct RoomInput {
    pub name: String,
    /// male, female, any or same_as_occupants
    pub sex_policy: String,
    pub beds: Vec<BedInput>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BedInput {
    pub name: String,
    #[serde(default)]
    pub wheelchair: bool,
}

#[derive(Debug, Clone)]
pub struct ValidFacility {
    pub code: String,
    pub organisation: String,
    pub name: String,
    pub kind: FacilityKind,
    pub location: Location,
    pub disability_types: Vec<DisabilityType>,
    pub adults: bool,
    pub children: bool,
    pub medical_care: Vec<MedicalCare>,
    pub behavioural_support: bool,
    pub night_staff: bool,
    pub contact_email: String,
    pub rooms: Vec<(String, SexPolicy, Vec<(String, bool)>)>,
}

impl FacilityInput {
    pub fn parse(&self) -> Result<ValidFacility, Vec<FieldError>> {
        let mut c = Check::default();
        let code = c.code("code", &self.code);
        let organisation = c.code("organisation", &self.organisation);
        let name = c.required("name", "名称", &self.name, 100);
        let contact_email = c.email("contact_email", &self.contact_email);
        let mut rooms = Vec::new();
        for (i, r) in self.rooms.iter().enumerate() {
            let field = format!("rooms[{i}]");
            let rname = c.required(&format!("{field}.name"), "部屋名", &r.name, 50);
            let beds: Vec<(String, bool)> = r
                .beds
                .iter()
                .enumerate()
                .map(|(j, b)| {
                    (
                        c.required(&format!("{field}.beds[{j}].name"), "ベッド名", &b.name, 50),
                        b.wheelchair,
                    )
                })
                .collect();
            if beds.is_empty() {
                c.0.push(FieldError::new(
                    &field,
                    "部屋にはベッドが1つ以上必要です",
                    "a room needs at least one bed",
                ));
            }
            match parse_slug::<SexPolicy>(&r.sex_policy) {
                Some(p) => rooms.push((rname, p, beds)),
                None => c.0.push(FieldError::new(
                    &format!("{field}.sex_policy"),
                    "性別の扱いは male, female, any, same_as_occupants のいずれかです",
                    "sex_policy is one of male, female, any, same_as_occupants",
                )),
            }
        }
        let mut errors = c.0;
        let kind = parse_slug::<FacilityKind>(&self.kind);
        if kind.is_none() {
            errors.push(FieldError::new(
                "kind",
                "種別は hub_emergency（拠点の緊急用居室）, short_stay（短期入所）, group_home_trial（体験室）のいずれかです",
                "kind is one of hub_emergency, short_stay, group_home_trial",
            ));
        }
        let disability_types = parse_list(
            &mut errors,
            "disability_types",
            &self.disability_types,
            "physical, intellectual, mental, developmental, intractable_disease",
        );
        if disability_types.is_empty() {
            errors.push(FieldError::new(
                "disability_types",
                "受け入れる障害種別を1つ以上選んでください",
                "choose at least one disability type the facility takes",
            ));
        }
        if !self.adults && !self.children {
            errors.push(FieldError::new(
                "adults",
                "成人・児童の少なくとも一方を受け入れる必要があります",
                "the facility must take adults, children or both",
            ));
        }
        let medical_care = parse_list(
            &mut errors,
            "medical_care",
            &self.medical_care,
            "suction, tube_feeding, oxygen, catheter",
        );
        let location = parse_location(&mut errors, "x_km", self.x_km, self.y_km);
        match kind {
            Some(kind) if errors.is_empty() => Ok(ValidFacility {
                code,
                organisation,
                name,
                kind,
                location,
                disability_types,
                adults: self.adults,
                children: self.children,
                medical_care,
                behavioural_support: self.behavioural_support,
                night_staff: self.night_staff,
                contact_email,
                rooms,
            }),
            _ => Err(errors),
        }
    }
}

/// One bed-night a facility or hub staff sets as taken by a regular booking, or frees.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OccupancyInput {
    pub bed_id: i64,
    /// First night, `YYYY-MM-DD`.
    pub from: String,
    /// Morning after the last night, `YYYY-MM-DD`.
    pub to: String,
    /// true: taken by a regular booking; false: free again.
    pub occupied: bool,
    /// The occupant's sex (needed for shared rooms): male or female.
    #[serde(default)]
    pub sex: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ValidOccupancy {
    pub bed_id: i64,
    pub nights: Nights,
    pub occupied: bool,
    pub sex: Option<Sex>,
}

pub fn parse_occupancy(items: &[OccupancyInput]) -> Result<Vec<ValidOccupancy>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (i, o) in items.iter().enumerate() {
        let f = format!("[{i}]");
        let nights = match parse_nights(&format!("{f}.from"), &o.from, &format!("{f}.to"), &o.to) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        let sex = match o.sex.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => match parse_slug::<Sex>(s) {
                Some(s) => Some(s),
                None => {
                    errors.push(FieldError::new(
                        &format!("{f}.sex"),
                        "性別は male か female です",
                        "sex is male or female",
                    ));
                    None
                }
            },
        };
        if let Some(nights) = nights {
            out.push(ValidOccupancy {
                bed_id: o.bed_id,
                nights,
                occupied: o.occupied,
                sex,
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Where the stay in one bed goes, as proposed (from a search result or the optimizer).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    pub bed_id: i64,
    pub from: String,
    pub to: String,
}

/// The nights of a date range, for the board.
pub fn nights_from(from: NaiveDate, days: u32) -> Nights {
    Nights::new(from, from + chrono::Days::new(u64::from(days)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RequestInput {
        RequestInput {
            case_number: "2026-0001".into(),
            person_name: "山田 太郎".into(),
            from: "2026-12-05".into(),
            to: "2026-12-08".into(),
            needs: NeedsInput {
                sex: "male".into(),
                disability_types: vec!["intellectual".into()],
                ..Default::default()
            },
            urgency: 4,
            ..Default::default()
        }
    }

    #[test]
    fn a_good_request_parses() {
        let v = request().parse().unwrap();
        assert_eq!(v.nights.len(), 3);
        assert_eq!(v.needs.sex, Sex::Male);
        assert_eq!(v.needs.disability_types, vec![DisabilityType::Intellectual]);
    }

    #[test]
    fn every_problem_is_named_by_field() {
        let mut r = request();
        r.case_number = "".into();
        r.to = "2026-12-05".into();
        r.needs.sex = "x".into();
        r.needs.medical_care = vec!["magic".into()];
        r.urgency = 9;
        let fields: Vec<String> = r
            .parse()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        for f in ["case_number", "to", "sex", "medical_care", "urgency"] {
            assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
        }
    }

    #[test]
    fn too_long_stays_are_refused() {
        let mut r = request();
        r.to = "2027-03-01".into();
        let e = r.parse().unwrap_err();
        assert!(e[0].message.en.contains("at most 45 nights"), "{e:?}");
    }

    #[test]
    fn slugs_round_trip() {
        assert_eq!(slug(&FacilityKind::GroupHomeTrial), "group_home_trial");
        assert_eq!(
            parse_slug::<SexPolicy>("same_as_occupants"),
            Some(SexPolicy::SameAsOccupants)
        );
        assert_eq!(
            parse_slugs::<MedicalCare>("suction,tube_feeding"),
            vec![MedicalCare::Suction, MedicalCare::TubeFeeding]
        );
        assert_eq!(parse_slug::<Sex>("robot"), None);
    }
}
