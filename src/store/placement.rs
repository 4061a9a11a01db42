//! Emergency placement: facilities with rooms and beds, taken bed-nights, requests and their
//! status flow, holds.
//!
//! * A bed-night is given once: `bed_nights` has one row per taken (bed, night) under its primary
//!   key, and every booking inserts those rows in the transaction that records it. Of two
//!   bookings of the same bed-night the second fails on the key and changes nothing.
//! * An expired hold frees its nights: it is marked `expired` and its rows are deleted before
//!   any booking or state read that could see it ([`Db::expire_holds`]).
//! * A request and its holds change state one transition at a time: each transition locks the
//!   request row first (`lock_request`), changes statuses only conditionally on what it read
//!   (0 rows: 409, nothing done) and runs again from the start when the database reports a
//!   deadlock or serialization failure ([`Db::retrying`]). A proposal re-checks the fit and
//!   room rules in its transaction (`Db::check_fit`).
//! * Personal data of requesters is read only through [`Db::request_detail`], which writes an
//!   audit row for every read.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate, Utc};
use renkei_solver::placement::model as pm;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use super::notices::NoticeKind;
use super::tenancy::{MunicipalityId, User};
use super::{instant_text, now, Db};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::master::FieldError;
use crate::placement::{
    facility_kind_label, parse_slug, parse_slugs, slug, slugs, ValidFacility, ValidOccupancy,
    ValidRequest, STALE_AFTER_DAYS,
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BedRow {
    pub id: i64,
    pub name: String,
    pub wheelchair: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoomRow {
    pub id: i64,
    pub name: String,
    pub sex_policy: String,
    pub beds: Vec<BedRow>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FacilityRow {
    pub id: i64,
    pub code: String,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub name: String,
    pub kind: String,
    pub kind_label: Msg,
    pub x_km: f64,
    pub y_km: f64,
    pub disability_types: Vec<String>,
    pub adults: bool,
    pub children: bool,
    pub medical_care: Vec<String>,
    pub behavioural_support: bool,
    pub night_staff: bool,
    pub contact_email: String,
    /// When and by whom the vacancies were last confirmed.
    pub vacancy_confirmed_at: Option<String>,
    pub vacancy_confirmed_by: String,
    /// Not confirmed within the last week (or never): free nights may not be free.
    pub stale: bool,
    pub rooms: Vec<RoomRow>,
}

impl FacilityRow {
    pub fn beds(&self) -> impl Iterator<Item = (&RoomRow, &BedRow)> {
        self.rooms
            .iter()
            .flat_map(|r| r.beds.iter().map(move |b| (r, b)))
    }
    pub fn bed_count(&self) -> usize {
        self.rooms.iter().map(|r| r.beds.len()).sum()
    }
}

/// A taken bed-night, for the board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BedNightRow {
    pub bed_id: i64,
    pub night: String,
    /// occupied, held or placed
    pub state: String,
    pub hold_id: Option<i64>,
    pub case_number: Option<String>,
    pub expires_at: Option<String>,
}

/// A request without personal data: what every role may see.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestSummary {
    pub id: i64,
    pub case_number: String,
    pub status: String,
    pub status_label: Msg,
    pub status_reason: String,
    pub from: String,
    pub to: String,
    pub nights: u32,
    pub urgency: i64,
    pub sex: String,
    pub child: bool,
    pub disability_types: Vec<String>,
    pub wheelchair: bool,
    pub medical_care: Vec<String>,
    pub behavioural_support: bool,
    pub night_staff: bool,
    pub preregistered: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldRow {
    pub id: i64,
    pub request_id: i64,
    pub case_number: String,
    pub bed_id: i64,
    pub bed_name: String,
    pub room_name: String,
    pub facility_id: i64,
    pub facility_name: String,
    pub facility_kind: String,
    pub from: String,
    pub to: String,
    pub status: String,
    pub expires_at: String,
    pub answered_at: Option<String>,
    pub answer_reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventRow {
    pub at: String,
    pub username: Option<String>,
    pub from_status: String,
    pub to_status: String,
    pub reason: String,
}

/// A request with the requester's personal data (hub staff only; every read is audited).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub summary: RequestSummary,
    pub person_name: String,
    pub person_kana: String,
    pub contact: String,
    pub notes: String,
    pub home_x_km: f64,
    pub home_y_km: f64,
    pub referrer: Option<String>,
    pub known_facilities: Vec<String>,
    pub holds: Vec<HoldRow>,
    pub events: Vec<EventRow>,
}

/// The status of a request (see `crate::placement`).
pub fn status_label(s: &str) -> Msg {
    match s {
        "consultation" => Msg::new("相談受付", "consultation"),
        "proposed" => Msg::new("施設に打診中", "proposed to a facility"),
        "accepted" => Msg::new("施設が受入れ可", "accepted by the facility"),
        "declined" => Msg::new("施設が辞退", "declined by the facility"),
        "placed" => Msg::new("入所中（確定）", "placed"),
        "ended" => Msg::new("終了", "ended"),
        "withdrawn" => Msg::new("取り下げ", "withdrawn"),
        other => Msg::new(other, other),
    }
}

/// Statuses from which a new proposal may be made.
pub const OPEN_STATUSES: [&str; 2] = ["consultation", "declined"];

fn b(r: &AnyRow, col: &str) -> Result<bool> {
    Ok(r.try_get::<i64, _>(col)? != 0)
}

fn list(s: String) -> Vec<String> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn request_summary(r: &AnyRow) -> Result<RequestSummary> {
    let from: String = r.try_get("from_night")?;
    let to: String = r.try_get("to_night")?;
    let nights = match (
        NaiveDate::parse_from_str(&from, "%Y-%m-%d"),
        NaiveDate::parse_from_str(&to, "%Y-%m-%d"),
    ) {
        (Ok(f), Ok(t)) => pm::Nights::new(f, t).len(),
        _ => 0,
    };
    let status: String = r.try_get("status")?;
    Ok(RequestSummary {
        id: r.try_get("id")?,
        case_number: r.try_get("case_number")?,
        status_label: status_label(&status),
        status,
        status_reason: r.try_get("status_reason")?,
        from,
        to,
        nights,
        urgency: r.try_get("urgency")?,
        sex: r.try_get("sex")?,
        child: b(r, "child")?,
        disability_types: list(r.try_get("disability_types")?),
        wheelchair: b(r, "wheelchair")?,
        medical_care: list(r.try_get("medical_care")?),
        behavioural_support: b(r, "behavioural_support")?,
        night_staff: b(r, "night_staff")?,
        preregistered: b(r, "preregistered")?,
        created_at: r.try_get("created_at")?,
    })
}

const REQUEST_COLUMNS: &str = "id, case_number, status, status_reason, from_night, to_night, urgency, sex, child,
    disability_types, wheelchair, medical_care, behavioural_support, night_staff, preregistered, created_at";

/// The engine's view of a stored request (no personal data: the label is the case number).
fn engine_request(r: &AnyRow) -> Result<pm::Request> {
    let s = request_summary(r)?;
    let date = |t: &str| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored night {t}: {e}")))
    };
    Ok(pm::Request {
        id: s.id as u32,
        label: s.case_number.clone(),
        needs: pm::Needs {
            sex: parse_slug(&s.sex).unwrap_or(pm::Sex::Female),
            child: s.child,
            disability_types: parse_slugs(&s.disability_types.join(",")),
            wheelchair: s.wheelchair,
            medical_care: parse_slugs(&s.medical_care.join(",")),
            behavioural_support: s.behavioural_support,
            night_staff: s.night_staff,
            not_at: Vec::new(),
        },
        nights: pm::Nights::new(date(&s.from)?, date(&s.to)?),
        home: pm::Location {
            x_km: r.try_get("home_x_km")?,
            y_km: r.try_get("home_y_km")?,
        },
        known_facilities: list(r.try_get("known_facilities")?)
            .iter()
            .filter_map(|v| v.parse().ok())
            .collect(),
        urgency: s.urgency.clamp(1, 5) as u8,
        max_distance_km: r.try_get("max_distance_km")?,
    })
}

/// Who changes occupancy: a logged-in user, or a facility through its link.
#[derive(Debug, Clone)]
pub enum Actor<'a> {
    User(&'a User),
    FacilityLink { facility_name: String },
}

impl Actor<'_> {
    fn user_id(&self) -> Option<i64> {
        match self {
            Actor::User(u) => Some(u.id),
            Actor::FacilityLink { .. } => None,
        }
    }
    fn name(&self) -> String {
        match self {
            Actor::User(u) => u.display_name.clone(),
            Actor::FacilityLink { facility_name } => format!("{facility_name}（施設リンク）"),
        }
    }
}

/// What a booking that lost to another one is told.
fn taken_message(case: &str) -> Msg {
    Msg::new(
        format!("{case}: 選んだベッドの一部の夜は、たった今ほかの予約で埋まりました。下の空きから選び直してください"),
        format!("{case}: some of the chosen bed-nights were just taken by another booking; pick again from the vacancies below"),
    )
}

async fn event(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    request: i64,
    user: Option<i64>,
    from: &str,
    to: &str,
    reason: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO placement_events (municipality_id, request_id, at, user_id, from_status, to_status, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(m.0)
    .bind(request)
    .bind(now())
    .bind(user)
    .bind(from)
    .bind(to)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    // Conditional on the status the caller read (under the lock of [`lock_request`]): a
    // transition that another one overtook changes nothing and rolls back whole.
    let changed = sqlx::query("UPDATE placement_requests SET status = $1, status_reason = $2, updated_at = $3 WHERE municipality_id = $4 AND id = $5 AND status = $6")
        .bind(to)
        .bind(reason)
        .bind(now())
        .bind(m.0)
        .bind(request)
        // A new request is inserted with its first status; its event changes nothing.
        .bind(if from.is_empty() { to } else { from })
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if changed != 1 {
        return Err(changed_meanwhile(&format!("#{request}")));
    }
    Ok(())
}

/// What the loser of two concurrent transitions of one request or hold is told.
fn changed_meanwhile(case: &str) -> Error {
    Error::Conflict(Msg::new(
        format!("{case} の状態は、たった今ほかの操作で変わりました。この操作は行っていません。画面を読み込み直して現在の状態を確かめてから、必要ならもう一度操作してください"),
        format!("{case} was changed by another action just now, so this one was not done; reload it, check its current state and try again if still needed"),
    ))
}

/// The nights of a stored hold (`from_night`, `to_night`).
fn stored_nights(row: &AnyRow) -> Result<pm::Nights> {
    let date = |col: &str| -> Result<NaiveDate> {
        let t: String = row.try_get(col)?;
        NaiveDate::parse_from_str(&t, "%Y-%m-%d")
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored night {t}: {e}")))
    };
    Ok(pm::Nights::new(date("from_night")?, date("to_night")?))
}

fn request_not_found() -> Error {
    Error::not_found("相談（緊急受入れ）", "placement request")
}

fn wrong_status(case: &str, status: &str, wanted: &str, wanted_en: &str) -> Error {
    let l = status_label(status);
    Error::Conflict(Msg::new(
        format!(
            "{case} は「{}」のため、この操作はできません（{wanted}の相談のみ）。ほかの操作で変わったばかりかもしれません。画面を読み込み直して確かめてください",
            l.ja
        ),
        format!(
            "{case} is {}, so this cannot be done (only for {wanted_en} requests); it may have just been changed by another action, so reload it and check",
            l.en
        ),
    ))
}

/// Takes the request's row lock before anything of the request is read, then reads its case
/// number and status. Every transition of a request or of its holds starts here, so two of
/// them run one after the other on both engines: on PostgreSQL (READ COMMITTED) the second
/// `UPDATE` waits for the first transaction to end, and its next statements read what that one
/// committed; on SQLite `BEGIN IMMEDIATE` already serializes writers.
async fn lock_request(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    id: i64,
) -> Result<(String, String)> {
    let locked = sqlx::query(
        "UPDATE placement_requests SET updated_at = $1 WHERE municipality_id = $2 AND id = $3",
    )
    .bind(now())
    .bind(m.0)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if locked == 0 {
        return Err(request_not_found());
    }
    request_status(conn, m, id).await
}

async fn request_status(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    id: i64,
) -> Result<(String, String)> {
    let row = sqlx::query(
        "SELECT case_number, status FROM placement_requests WHERE municipality_id = $1 AND id = $2",
    )
    .bind(m.0)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(request_not_found)?;
    Ok((row.try_get("case_number")?, row.try_get("status")?))
}

/// Frees the bed-nights of the given holds and sets their status.
async fn release_holds(
    conn: &mut AnyConnection,
    hold_ids: &[i64],
    status: &str,
    reason: &str,
) -> Result<()> {
    for h in hold_ids {
        // Only an active hold is released: one that another transition ended keeps its state.
        let released = sqlx::query("UPDATE placement_holds SET status = $1, answer_reason = CASE WHEN answer_reason = '' THEN $2 ELSE answer_reason END WHERE id = $3 AND status IN ('held', 'accepted', 'placed')")
            .bind(status)
            .bind(reason)
            .bind(h)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if released == 1 {
            sqlx::query("DELETE FROM bed_nights WHERE hold_id = $1")
                .bind(h)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

async fn active_holds(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    request: i64,
) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT id, status FROM placement_holds WHERE municipality_id = $1 AND request_id = $2 AND status IN ('held', 'accepted', 'placed')",
    )
    .bind(m.0)
    .bind(request)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("status")?)))
        .collect()
}

/// Queues a placement notice to each facility of `holds` (in the caller's transaction); the
/// first hold at a facility tells proposals apart.
async fn notify_facilities(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    request: i64,
    holds: &[i64],
    kind: NoticeKind,
) -> Result<usize> {
    let mut first_at: BTreeMap<i64, i64> = BTreeMap::new();
    for h in holds {
        let facility: i64 = sqlx::query_scalar(
            "SELECT r.facility_id FROM placement_holds h JOIN beds b ON b.id = h.bed_id
             JOIN placement_rooms r ON r.id = b.room_id WHERE h.municipality_id = $1 AND h.id = $2",
        )
        .bind(m.0)
        .bind(h)
        .fetch_one(&mut *conn)
        .await?;
        let e = first_at.entry(facility).or_insert(*h);
        *e = (*e).min(*h);
    }
    let mut queued = 0;
    for (facility, first) in first_at {
        if super::notices::queue_placement(conn, m, kind, Some(request), facility, first).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

impl Db {
    /// Every hold of a request at one facility, whatever its status (for notices).
    pub async fn request_holds_at(
        &self,
        m: MunicipalityId,
        request: i64,
        facility: i64,
    ) -> Result<Vec<HoldRow>> {
        let mut conn = self.pool.acquire().await?;
        Ok(holds_where(&mut conn, m, "f.id = $2", Some(facility))
            .await?
            .into_iter()
            .filter(|h| h.request_id == request)
            .collect())
    }

    // ----------------------------------------------------------------------------------------
    // Facilities
    // ----------------------------------------------------------------------------------------

    /// Creates a facility with its rooms and beds in one transaction.
    pub async fn create_facility(&self, user: &User, f: &ValidFacility) -> Result<i64> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let org = self
            .organisation_id(&mut tx, m, "organisation", &f.organisation)
            .await?;
        let t = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO placement_facilities (municipality_id, organisation_id, code, name, kind, x_km, y_km,
                disability_types, adults, children, medical_care, behavioural_support, night_staff, contact_email,
                created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id",
        )
        .bind(m.0)
        .bind(org)
        .bind(&f.code)
        .bind(&f.name)
        .bind(slug(&f.kind))
        .bind(f.location.x_km)
        .bind(f.location.y_km)
        .bind(slugs(&f.disability_types))
        .bind(i64::from(f.adults))
        .bind(i64::from(f.children))
        .bind(slugs(&f.medical_care))
        .bind(i64::from(f.behavioural_support))
        .bind(i64::from(f.night_staff))
        .bind(&f.contact_email)
        .bind(&t)
        .fetch_one(&mut *tx)
        .await
        .map_err(facility_conflict)?;
        for (name, policy, beds) in &f.rooms {
            let room: i64 = sqlx::query_scalar(
                "INSERT INTO placement_rooms (municipality_id, facility_id, name, sex_policy) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(m.0)
            .bind(id)
            .bind(name)
            .bind(slug(policy))
            .fetch_one(&mut *tx)
            .await?;
            for (bed, wheelchair) in beds {
                sqlx::query("INSERT INTO beds (municipality_id, room_id, name, wheelchair) VALUES ($1, $2, $3, $4)")
                    .bind(m.0)
                    .bind(room)
                    .bind(bed)
                    .bind(i64::from(*wheelchair))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "create",
            "placement_facility",
            &id.to_string(),
            &f.code,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Replaces a facility's attributes (rooms and beds stay).
    pub async fn update_facility(&self, user: &User, id: i64, f: &ValidFacility) -> Result<()> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let org = self
            .organisation_id(&mut tx, m, "organisation", &f.organisation)
            .await?;
        let n = sqlx::query(
            "UPDATE placement_facilities SET organisation_id = $1, code = $2, name = $3, kind = $4, x_km = $5, y_km = $6,
                disability_types = $7, adults = $8, children = $9, medical_care = $10, behavioural_support = $11,
                night_staff = $12, contact_email = $13, updated_at = $14
             WHERE municipality_id = $15 AND id = $16",
        )
        .bind(org)
        .bind(&f.code)
        .bind(&f.name)
        .bind(slug(&f.kind))
        .bind(f.location.x_km)
        .bind(f.location.y_km)
        .bind(slugs(&f.disability_types))
        .bind(i64::from(f.adults))
        .bind(i64::from(f.children))
        .bind(slugs(&f.medical_care))
        .bind(i64::from(f.behavioural_support))
        .bind(i64::from(f.night_staff))
        .bind(&f.contact_email)
        .bind(now())
        .bind(m.0)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(facility_conflict)?
        .rows_affected();
        if n == 0 {
            return Err(facility_not_found());
        }
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "update",
            "placement_facility",
            &id.to_string(),
            &f.code,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn organisation_id(
        &self,
        conn: &mut AnyConnection,
        m: MunicipalityId,
        field: &str,
        code: &str,
    ) -> Result<i64> {
        sqlx::query_scalar("SELECT id FROM organisations WHERE municipality_id = $1 AND code = $2")
            .bind(m.0)
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| {
                Error::Validation(vec![FieldError::new(
                    field,
                    format!(
                        "組織コード「{code}」は登録されていません。組織の一覧で確かめてください"
                    ),
                    format!(
                        "no organisation has the code \"{code}\"; check the organisations list"
                    ),
                )])
            })
    }

    /// Every facility with its rooms and beds, hub rooms first.
    pub async fn list_facilities(&self, m: MunicipalityId) -> Result<Vec<FacilityRow>> {
        let rows = sqlx::query(
            "SELECT f.*, o.name AS organisation_name FROM placement_facilities f
             JOIN organisations o ON o.id = f.organisation_id
             WHERE f.municipality_id = $1
             ORDER BY CASE f.kind WHEN 'hub_emergency' THEN 0 WHEN 'short_stay' THEN 1 ELSE 2 END, f.code",
        )
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        let rooms = sqlx::query("SELECT id, facility_id, name, sex_policy FROM placement_rooms WHERE municipality_id = $1 ORDER BY id")
            .bind(m.0)
            .fetch_all(&self.pool)
            .await?;
        let beds = sqlx::query(
            "SELECT id, room_id, name, wheelchair FROM beds WHERE municipality_id = $1 ORDER BY id",
        )
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        let mut beds_of: HashMap<i64, Vec<BedRow>> = HashMap::new();
        for r in &beds {
            beds_of
                .entry(r.try_get("room_id")?)
                .or_default()
                .push(BedRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    wheelchair: b(r, "wheelchair")?,
                });
        }
        let mut rooms_of: HashMap<i64, Vec<RoomRow>> = HashMap::new();
        for r in &rooms {
            let id: i64 = r.try_get("id")?;
            rooms_of
                .entry(r.try_get("facility_id")?)
                .or_default()
                .push(RoomRow {
                    id,
                    name: r.try_get("name")?,
                    sex_policy: r.try_get("sex_policy")?,
                    beds: beds_of.remove(&id).unwrap_or_default(),
                });
        }
        let stale_before = instant_text(Utc::now() - Duration::days(STALE_AFTER_DAYS));
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let kind: String = r.try_get("kind")?;
                let confirmed: Option<String> = r.try_get("vacancy_confirmed_at")?;
                Ok(FacilityRow {
                    id,
                    code: r.try_get("code")?,
                    organisation_id: r.try_get("organisation_id")?,
                    organisation_name: r.try_get("organisation_name")?,
                    name: r.try_get("name")?,
                    kind_label: parse_slug(&kind)
                        .map(facility_kind_label)
                        .unwrap_or_else(|| Msg::new(&kind, &kind)),
                    kind,
                    x_km: r.try_get("x_km")?,
                    y_km: r.try_get("y_km")?,
                    disability_types: list(r.try_get("disability_types")?),
                    adults: b(r, "adults")?,
                    children: b(r, "children")?,
                    medical_care: list(r.try_get("medical_care")?),
                    behavioural_support: b(r, "behavioural_support")?,
                    night_staff: b(r, "night_staff")?,
                    contact_email: r.try_get("contact_email")?,
                    stale: confirmed
                        .as_deref()
                        .is_none_or(|c| c < stale_before.as_str()),
                    vacancy_confirmed_at: confirmed,
                    vacancy_confirmed_by: r.try_get("vacancy_confirmed_by")?,
                    rooms: rooms_of.remove(&id).unwrap_or_default(),
                })
            })
            .collect()
    }

    pub async fn facility(&self, m: MunicipalityId, id: i64) -> Result<FacilityRow> {
        self.list_facilities(m)
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or_else(facility_not_found)
    }

    /// A new no-login link for the facility (the old one stops working). Returns the secret.
    pub async fn renew_facility_link(&self, user: &User, facility: i64) -> Result<String> {
        self.rotate_facility_link(user.municipality_id, Some(user.id), facility)
            .await
    }

    /// A new no-login link for a facility (the previous one stops working), by a user or by
    /// the mail worker (a vacancy-update request carries a fresh link).
    pub async fn rotate_facility_link(
        &self,
        m: MunicipalityId,
        user_id: Option<i64>,
        facility: i64,
    ) -> Result<String> {
        let token = crate::auth::random_token(18);
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE placement_facilities SET link_token_hash = $1 WHERE municipality_id = $2 AND id = $3")
            .bind(crate::auth::sha256_hex(&token))
            .bind(m.0)
            .bind(facility)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(facility_not_found());
        }
        super::audit::record(
            &mut tx,
            Some(m),
            user_id,
            "renew_link",
            "placement_facility",
            &facility.to_string(),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The facility a no-login link belongs to.
    pub async fn facility_by_link(&self, token: &str) -> Result<Option<(MunicipalityId, i64)>> {
        let row = sqlx::query(
            "SELECT municipality_id, id FROM placement_facilities WHERE link_token_hash = $1",
        )
        .bind(crate::auth::sha256_hex(token))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok((
                MunicipalityId(r.try_get("municipality_id")?),
                r.try_get("id")?,
            ))
        })
        .transpose()
    }

    // ----------------------------------------------------------------------------------------
    // Occupancy
    // ----------------------------------------------------------------------------------------

    /// Sets bed-nights of one facility as taken by regular bookings or free again, and records
    /// that its vacancies were confirmed now by `actor`. Nights held or given to an emergency
    /// placement are not changed: they are reported as a conflict and nothing is written.
    pub async fn set_occupancy(
        &self,
        m: MunicipalityId,
        actor: Actor<'_>,
        facility: i64,
        items: &[ValidOccupancy],
    ) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let beds: Vec<i64> = sqlx::query_scalar(
            "SELECT b.id FROM beds b JOIN placement_rooms r ON r.id = b.room_id
             WHERE b.municipality_id = $1 AND r.facility_id = $2",
        )
        .bind(m.0)
        .bind(facility)
        .fetch_all(&mut *tx)
        .await?;
        if beds.is_empty() {
            return Err(facility_not_found());
        }
        let mut errors = Vec::new();
        let mut changed = 0usize;
        let t = now();
        for (i, item) in items.iter().enumerate() {
            if !beds.contains(&item.bed_id) {
                errors.push(FieldError::new(
                    &format!("[{i}].bed_id"),
                    format!("ベッド {} はこの施設のものではありません", item.bed_id),
                    format!("bed {} does not belong to this facility", item.bed_id),
                ));
                continue;
            }
            for night in item.nights.iter() {
                let night = night.to_string();
                if item.occupied {
                    let n = sqlx::query(
                        "INSERT INTO bed_nights (bed_id, night, municipality_id, state, occupant_sex, updated_at)
                         VALUES ($1, $2, $3, 'occupied', $4, $5)
                         ON CONFLICT (bed_id, night) DO UPDATE SET occupant_sex = excluded.occupant_sex, updated_at = excluded.updated_at
                         WHERE bed_nights.state = 'occupied'",
                    )
                    .bind(item.bed_id)
                    .bind(&night)
                    .bind(m.0)
                    .bind(item.sex.map(|s| slug(&s)))
                    .bind(&t)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if n == 0 {
                        errors.push(FieldError::new(
                            &format!("[{i}]"),
                            format!("{night} の夜は緊急受入れに押さえられているため変更できません。拠点に連絡してください"),
                            format!("the night of {night} is held for an emergency placement and cannot be changed; contact the hub"),
                        ));
                    }
                    changed += n as usize;
                } else {
                    changed += sqlx::query("DELETE FROM bed_nights WHERE bed_id = $1 AND night = $2 AND state = 'occupied'")
                        .bind(item.bed_id)
                        .bind(&night)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected() as usize;
                }
            }
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        sqlx::query("UPDATE placement_facilities SET vacancy_confirmed_at = $1, vacancy_confirmed_by = $2 WHERE municipality_id = $3 AND id = $4")
            .bind(&t)
            .bind(actor.name())
            .bind(m.0)
            .bind(facility)
            .execute(&mut *tx)
            .await?;
        super::audit::record(
            &mut tx,
            Some(m),
            actor.user_id(),
            "set_occupancy",
            "placement_facility",
            &facility.to_string(),
            &format!("{changed} bed-nights; {}", actor.name()),
        )
        .await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Records that a facility's vacancies are as shown, without changing them.
    pub async fn confirm_vacancies(
        &self,
        m: MunicipalityId,
        actor: Actor<'_>,
        facility: i64,
    ) -> Result<()> {
        self.set_occupancy(m, actor, facility, &[])
            .await
            .map(|_| ())
    }

    /// One attempt of [`Db::expire_holds`] (see [`Db::retrying`]).
    async fn expire_holds_once(&self, m: MunicipalityId) -> Result<usize> {
        let t = now();
        let any: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM placement_holds WHERE municipality_id = $1 AND status = 'held' AND expires_at < $2 LIMIT 1",
        )
        .bind(m.0)
        .bind(&t)
        .fetch_optional(&self.pool)
        .await?;
        if any.is_none() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        // Requests in id order, each locked before its holds are read (as every transition
        // does), so an expiry and a confirmation of the same request run one after the other.
        let requests: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT request_id FROM placement_holds WHERE municipality_id = $1 AND status = 'held' AND expires_at < $2 ORDER BY request_id",
        )
        .bind(m.0)
        .bind(&t)
        .fetch_all(&mut *tx)
        .await?;
        let mut expired = 0;
        for request in requests {
            let (_, status) = lock_request(&mut tx, m, request).await?;
            let due: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM placement_holds WHERE municipality_id = $1 AND request_id = $2 AND status = 'held' AND expires_at < $3",
            )
            .bind(m.0)
            .bind(request)
            .bind(&t)
            .fetch_all(&mut *tx)
            .await?;
            if due.is_empty() {
                continue; // answered or released meanwhile
            }
            expired += due.len();
            // Other segments of the same proposal go with it: a stay is proposed whole.
            let others: Vec<i64> = active_holds(&mut tx, m, request)
                .await?
                .into_iter()
                .filter(|(_, s)| s != "placed")
                .map(|(h, _)| h)
                .collect();
            release_holds(
                &mut tx,
                &others,
                "expired",
                "回答期限切れ / no answer before the hold expired",
            )
            .await?;
            if matches!(status.as_str(), "proposed" | "accepted") {
                event(
                    &mut tx,
                    m,
                    request,
                    None,
                    &status,
                    "consultation",
                    "仮押さえの期限切れ / the hold expired",
                )
                .await?;
            }
        }
        super::audit::record(
            &mut tx,
            Some(m),
            None,
            "expire",
            "placement_hold",
            "",
            &format!("{expired} holds"),
        )
        .await?;
        tx.commit().await?;
        Ok(expired)
    }

    /// [`Db::expire_holds`] for every municipality (the hourly housekeeping job).
    pub async fn expire_all_holds(&self) -> Result<usize> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT municipality_id FROM placement_holds WHERE status = 'held' AND expires_at < $1",
        )
        .bind(now())
        .fetch_all(&self.pool)
        .await?;
        let mut n = 0;
        for id in ids {
            n += self.expire_holds(MunicipalityId(id)).await?;
        }
        Ok(n)
    }

    /// Bed-nights taken within `nights`, for the engine (expired holds do not count).
    pub async fn taken_bed_nights(
        &self,
        m: MunicipalityId,
        nights: pm::Nights,
    ) -> Result<Vec<pm::Taken>> {
        let rows = sqlx::query(
            "SELECT bed_id, night, occupant_sex FROM bed_nights
             WHERE municipality_id = $1 AND night >= $2 AND night < $3 AND (state <> 'held' OR expires_at >= $4)",
        )
        .bind(m.0)
        .bind(nights.from.to_string())
        .bind(nights.to.to_string())
        .bind(now())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let night: String = r.try_get("night")?;
                let sex: Option<String> = r.try_get("occupant_sex")?;
                Ok(pm::Taken {
                    bed: r.try_get::<i64, _>("bed_id")? as u32,
                    night: NaiveDate::parse_from_str(&night, "%Y-%m-%d")
                        .map_err(|e| Error::Internal(anyhow::anyhow!("stored night: {e}")))?,
                    sex: sex.as_deref().and_then(parse_slug),
                })
            })
            .collect()
    }

    /// The board: every taken bed-night within `nights`, with the case it is held or placed for.
    pub async fn board(&self, m: MunicipalityId, nights: pm::Nights) -> Result<Vec<BedNightRow>> {
        let rows = sqlx::query(
            "SELECT n.bed_id, n.night, n.state, n.hold_id, n.expires_at, q.case_number
             FROM bed_nights n
             LEFT JOIN placement_holds h ON h.id = n.hold_id
             LEFT JOIN placement_requests q ON q.id = h.request_id
             WHERE n.municipality_id = $1 AND n.night >= $2 AND n.night < $3 AND (n.state <> 'held' OR n.expires_at >= $4)",
        )
        .bind(m.0)
        .bind(nights.from.to_string())
        .bind(nights.to.to_string())
        .bind(now())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BedNightRow {
                    bed_id: r.try_get("bed_id")?,
                    night: r.try_get("night")?,
                    state: r.try_get("state")?,
                    hold_id: r.try_get("hold_id")?,
                    case_number: r.try_get("case_number")?,
                    expires_at: r.try_get("expires_at")?,
                })
            })
            .collect()
    }

    /// The engine's instance of the current state within `nights` (no requests yet).
    pub async fn placement_state(
        &self,
        m: MunicipalityId,
        nights: pm::Nights,
    ) -> Result<(pm::Instance, Vec<FacilityRow>)> {
        let facilities = self.list_facilities(m).await?;
        let taken = self.taken_bed_nights(m, nights).await?;
        Ok((engine_instance(&facilities, taken), facilities))
    }

    // ----------------------------------------------------------------------------------------
    // Requests
    // ----------------------------------------------------------------------------------------

    pub async fn create_request(&self, user: &User, r: &ValidRequest) -> Result<i64> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let referrer = if r.referrer.is_empty() {
            None
        } else {
            Some(
                self.organisation_id(&mut tx, m, "referrer", &r.referrer)
                    .await?,
            )
        };
        let mut known = Vec::new();
        let mut errors = Vec::new();
        for code in &r.known_facilities {
            let id: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM placement_facilities WHERE municipality_id = $1 AND code = $2",
            )
            .bind(m.0)
            .bind(code)
            .fetch_optional(&mut *tx)
            .await?;
            match id {
                Some(id) => known.push(id.to_string()),
                None => errors.push(FieldError::new(
                    "known_facilities",
                    format!("施設コード「{code}」は登録されていません"),
                    format!("no facility has the code \"{code}\""),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let t = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO placement_requests (municipality_id, case_number, person_name, person_kana, contact, notes,
                preregistered, sex, child, disability_types, wheelchair, medical_care, behavioural_support, night_staff,
                from_night, to_night, urgency, home_x_km, home_y_km, known_facilities, referrer_id, status, created_by,
                created_at, updated_at, max_distance_km)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                'consultation', $22, $23, $23, $24) RETURNING id",
        )
        .bind(m.0)
        .bind(&r.case_number)
        .bind(&r.person_name)
        .bind(&r.person_kana)
        .bind(&r.contact)
        .bind(&r.notes)
        .bind(i64::from(r.preregistered))
        .bind(slug(&r.needs.sex))
        .bind(i64::from(r.needs.child))
        .bind(slugs(&r.needs.disability_types))
        .bind(i64::from(r.needs.wheelchair))
        .bind(slugs(&r.needs.medical_care))
        .bind(i64::from(r.needs.behavioural_support))
        .bind(i64::from(r.needs.night_staff))
        .bind(r.nights.from.to_string())
        .bind(r.nights.to.to_string())
        .bind(i64::from(r.urgency))
        .bind(r.home.x_km)
        .bind(r.home.y_km)
        .bind(known.join(","))
        .bind(referrer)
        .bind(user.id)
        .bind(&t)
        .bind(r.max_distance_km)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match Error::from(e) {
            Error::Conflict(_) => Error::Validation(vec![FieldError::new(
                "case_number",
                format!("ケース番号「{}」は既に使われています", r.case_number),
                format!("case number \"{}\" is already in use", r.case_number),
            )]),
            other => other,
        })?;
        event(&mut tx, m, id, Some(user.id), "", "consultation", "").await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "create",
            "placement_request",
            &id.to_string(),
            &r.case_number,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Requests without personal data, open ones first, newest first.
    pub async fn list_requests(
        &self,
        m: MunicipalityId,
        status: Option<&str>,
    ) -> Result<Vec<RequestSummary>> {
        Ok(self.requests_page(m, status, i64::MAX, 0).await?.0)
    }

    /// One page of [`Db::list_requests`] and how many requests match.
    pub async fn requests_page(
        &self,
        m: MunicipalityId,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<RequestSummary>, i64)> {
        let rows = sqlx::query(&format!(
            "SELECT {REQUEST_COLUMNS} FROM placement_requests WHERE municipality_id = $1 AND ($2 = '' OR status = $2)
             ORDER BY CASE WHEN status IN ('ended', 'withdrawn') THEN 1 ELSE 0 END, urgency DESC, id DESC
             LIMIT $3 OFFSET $4"
        ))
        .bind(m.0)
        .bind(status.unwrap_or(""))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM placement_requests WHERE municipality_id = $1 AND ($2 = '' OR status = $2)",
        )
        .bind(m.0)
        .bind(status.unwrap_or(""))
        .fetch_one(&self.pool)
        .await?;
        Ok((
            rows.iter().map(request_summary).collect::<Result<_>>()?,
            total,
        ))
    }

    /// A request with the requester's personal data; the read is audited.
    pub async fn request_detail(&self, user: &User, id: i64) -> Result<RequestDetail> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "SELECT q.*, o.name AS referrer_name FROM placement_requests q LEFT JOIN organisations o ON o.id = q.referrer_id
             WHERE q.municipality_id = $1 AND q.id = $2",
        )
        .bind(m.0)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(request_not_found)?;
        let summary = request_summary(&r)?;
        let holds = holds_where(&mut tx, m, "h.request_id = $2", Some(id)).await?;
        let events = sqlx::query(
            "SELECT e.at, u.username, e.from_status, e.to_status, e.reason FROM placement_events e
             LEFT JOIN users u ON u.id = e.user_id WHERE e.municipality_id = $1 AND e.request_id = $2 ORDER BY e.id",
        )
        .bind(m.0)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|e| {
            Ok(EventRow {
                at: e.try_get("at")?,
                username: e.try_get("username")?,
                from_status: e.try_get("from_status")?,
                to_status: e.try_get("to_status")?,
                reason: e.try_get("reason")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let known_ids = list(r.try_get("known_facilities")?);
        let mut known = Vec::new();
        for k in known_ids {
            let name: Option<String> = sqlx::query_scalar(
                "SELECT name FROM placement_facilities WHERE municipality_id = $1 AND id = $2",
            )
            .bind(m.0)
            .bind(k.parse::<i64>().unwrap_or(0))
            .fetch_optional(&mut *tx)
            .await?;
            known.extend(name);
        }
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "read",
            "placement_request",
            &id.to_string(),
            &summary.case_number,
        )
        .await?;
        let detail = RequestDetail {
            summary,
            person_name: r.try_get("person_name")?,
            person_kana: r.try_get("person_kana")?,
            contact: r.try_get("contact")?,
            notes: r.try_get("notes")?,
            home_x_km: r.try_get("home_x_km")?,
            home_y_km: r.try_get("home_y_km")?,
            referrer: r.try_get("referrer_name")?,
            known_facilities: known,
            holds,
            events,
        };
        tx.commit().await?;
        Ok(detail)
    }

    /// The engine's view of requests (by id, or every open one when `ids` is empty).
    pub async fn engine_requests(
        &self,
        m: MunicipalityId,
        ids: &[i64],
    ) -> Result<Vec<pm::Request>> {
        let rows = sqlx::query(&format!(
            "SELECT {REQUEST_COLUMNS}, home_x_km, home_y_km, known_facilities, max_distance_km FROM placement_requests
             WHERE municipality_id = $1 ORDER BY id"
        ))
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        // A facility that declined a request is not proposed for it again.
        let declined = sqlx::query(
            "SELECT DISTINCT h.request_id, r.facility_id FROM placement_holds h
             JOIN beds b ON b.id = h.bed_id JOIN placement_rooms r ON r.id = b.room_id
             WHERE h.municipality_id = $1 AND h.status = 'declined'",
        )
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        let mut not_at: HashMap<i64, Vec<u32>> = HashMap::new();
        for d in &declined {
            not_at
                .entry(d.try_get("request_id")?)
                .or_default()
                .push(d.try_get::<i64, _>("facility_id")? as u32);
        }
        let mut out = Vec::new();
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let status: String = r.try_get("status")?;
            let wanted = if ids.is_empty() {
                OPEN_STATUSES.contains(&status.as_str())
            } else {
                ids.contains(&id)
            };
            if wanted {
                let mut request = engine_request(r)?;
                request.needs.not_at = not_at.remove(&id).unwrap_or_default();
                out.push(request);
            }
        }
        if let Some(missing) = ids
            .iter()
            .find(|i| !out.iter().any(|r| i64::from(r.id) == **i))
        {
            return Err(Error::NotFound(Msg::new(
                format!("相談 {missing} が見つかりません"),
                format!("placement request {missing} not found"),
            )));
        }
        Ok(out)
    }

    /// One attempt of [`Db::propose`] (see [`Db::retrying`]).
    async fn propose_once(
        &self,
        user: &User,
        request: i64,
        segments: &[pm::Segment],
        hold_hours: i64,
    ) -> Result<Vec<i64>> {
        let m = user.municipality_id;
        self.expire_holds(m).await?;
        let mut tx = self.begin_write().await?;
        let (case, status) = lock_request(&mut tx, m, request).await?;
        if !OPEN_STATUSES.contains(&status.as_str()) {
            return Err(wrong_status(
                &case,
                &status,
                "受付中・辞退後",
                "open (consultation or declined)",
            ));
        }
        let t = now();
        let expires = instant_text(Utc::now() + Duration::hours(hold_hours));
        let mut holds = Vec::new();
        let needs = request_needs(&mut tx, m, request).await?;
        for (i, s) in segments.iter().enumerate() {
            let bed_ok: Option<i64> =
                sqlx::query_scalar("SELECT id FROM beds WHERE municipality_id = $1 AND id = $2")
                    .bind(m.0)
                    .bind(i64::from(s.bed))
                    .fetch_optional(&mut *tx)
                    .await?;
            if bed_ok.is_none() {
                return Err(Error::not_found("ベッド", "bed"));
            }
            self.check_fit(&mut tx, m, &needs, s, i, &t).await?;
            let hold: i64 = sqlx::query_scalar(
                "INSERT INTO placement_holds (municipality_id, request_id, bed_id, from_night, to_night, status, expires_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'held', $6, $7) RETURNING id",
            )
            .bind(m.0)
            .bind(request)
            .bind(i64::from(s.bed))
            .bind(s.nights.from.to_string())
            .bind(s.nights.to.to_string())
            .bind(&expires)
            .bind(&t)
            .fetch_one(&mut *tx)
            .await?;
            for night in s.nights.iter() {
                let inserted = sqlx::query(
                    "INSERT INTO bed_nights (bed_id, night, municipality_id, state, occupant_sex, hold_id, expires_at, updated_at)
                     SELECT $1, $2, $3, 'held', sex, $4, $5, $6 FROM placement_requests WHERE id = $7",
                )
                .bind(i64::from(s.bed))
                .bind(night.to_string())
                .bind(m.0)
                .bind(hold)
                .bind(&expires)
                .bind(&t)
                .bind(request)
                .execute(&mut *tx)
                .await;
                match inserted {
                    Ok(_) => {}
                    Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                        return Err(Error::Taken {
                            message: taken_message(&case),
                            alternatives: serde_json::Value::Null,
                        })
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            holds.push(hold);
        }
        event(&mut tx, m, request, Some(user.id), &status, "proposed", "").await?;
        notify_facilities(&mut tx, m, request, &holds, NoticeKind::PlacementRequest).await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "propose",
            "placement_request",
            &request.to_string(),
            &format!("{case}: holds {holds:?}"),
        )
        .await?;
        tx.commit().await?;
        Ok(holds)
    }

    /// One attempt of [`Db::answer_hold`] (see [`Db::retrying`]).
    async fn answer_hold_once(
        &self,
        m: MunicipalityId,
        actor: Actor<'_>,
        hold: i64,
        accept: bool,
        reason: &str,
        decline: Option<crate::placement::declines::DeclineReason>,
    ) -> Result<()> {
        self.expire_holds(m).await?;
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT request_id, status FROM placement_holds WHERE municipality_id = $1 AND id = $2",
        )
        .bind(m.0)
        .bind(hold)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found("仮押さえ", "hold"))?;
        let request: i64 = row.try_get("request_id")?;
        let (case, status) = lock_request(&mut tx, m, request).await?;
        // Read again under the request's lock: another answer may have come meanwhile.
        let hold_status: String =
            sqlx::query_scalar("SELECT status FROM placement_holds WHERE id = $1")
                .bind(hold)
                .fetch_one(&mut *tx)
                .await?;
        if hold_status != "held" || !matches!(status.as_str(), "proposed" | "accepted") {
            return Err(Error::Conflict(Msg::new(
                format!(
                    "{case} の打診は既に回答済みか期限切れです（{}）",
                    status_label(&status).ja
                ),
                format!(
                    "the proposal for {case} has already been answered or has expired ({})",
                    status_label(&status).en
                ),
            )));
        }
        let t = now();
        if accept {
            let changed = sqlx::query("UPDATE placement_holds SET status = 'accepted', answered_at = $1, answer_reason = $2 WHERE id = $3 AND status = 'held'")
                .bind(&t)
                .bind(reason)
                .bind(hold)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed != 1 {
                return Err(changed_meanwhile(&case));
            }
            let waiting = active_holds(&mut tx, m, request)
                .await?
                .iter()
                .filter(|(_, s)| s == "held")
                .count();
            if waiting == 0 {
                event(
                    &mut tx,
                    m,
                    request,
                    actor.user_id(),
                    &status,
                    "accepted",
                    reason,
                )
                .await?;
            }
        } else {
            let decline = decline.unwrap_or(crate::placement::declines::DeclineReason::Other);
            let changed = sqlx::query(
                "UPDATE placement_holds SET answered_at = $1, answer_reason = $2, decline_reason = $3 WHERE id = $4 AND status = 'held'",
            )
            .bind(&t)
            .bind(reason)
            .bind(decline.slug())
            .bind(hold)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed != 1 {
                return Err(changed_meanwhile(&case));
            }
            let all: Vec<i64> = active_holds(&mut tx, m, request)
                .await?
                .into_iter()
                .map(|(h, _)| h)
                .collect();
            release_holds(&mut tx, &all, "declined", reason).await?;
            event(
                &mut tx,
                m,
                request,
                actor.user_id(),
                &status,
                "declined",
                reason,
            )
            .await?;
        }
        super::audit::record(
            &mut tx,
            Some(m),
            actor.user_id(),
            if accept { "accept" } else { "decline" },
            "placement_hold",
            &hold.to_string(),
            &format!("{case}; {}", actor.name()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One attempt of [`Db::confirm_placement`] (see [`Db::retrying`]).
    async fn confirm_placement_once(&self, user: &User, request: i64) -> Result<()> {
        let m = user.municipality_id;
        self.expire_holds(m).await?;
        let mut tx = self.begin_write().await?;
        let (case, status) = lock_request(&mut tx, m, request).await?;
        if status != "accepted" {
            return Err(wrong_status(
                &case,
                &status,
                "施設が受入れ可と回答した",
                "accepted",
            ));
        }
        let placed: Vec<i64> = active_holds(&mut tx, m, request)
            .await?
            .into_iter()
            .map(|(h, _)| h)
            .collect();
        if placed.is_empty() {
            return Err(changed_meanwhile(&case));
        }
        notify_facilities(&mut tx, m, request, &placed, NoticeKind::PlacementConfirmed).await?;
        for h in placed {
            // Only an accepted hold with every one of its nights becomes the placement.
            let row = sqlx::query("SELECT from_night, to_night FROM placement_holds WHERE id = $1")
                .bind(h)
                .fetch_one(&mut *tx)
                .await?;
            let nights = stored_nights(&row)?.len() as u64;
            let changed = sqlx::query(
                "UPDATE placement_holds SET status = 'placed' WHERE id = $1 AND status = 'accepted'",
            )
            .bind(h)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let kept = sqlx::query("UPDATE bed_nights SET state = 'placed', expires_at = NULL, updated_at = $1 WHERE hold_id = $2")
                .bind(now())
                .bind(h)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed != 1 || kept != nights {
                return Err(changed_meanwhile(&case));
            }
        }
        event(&mut tx, m, request, Some(user.id), &status, "placed", "").await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "place",
            "placement_request",
            &request.to_string(),
            &case,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One attempt of [`Db::end_placement`] (see [`Db::retrying`]).
    async fn end_placement_once(
        &self,
        user: &User,
        request: i64,
        check_out: NaiveDate,
        reason: &str,
    ) -> Result<()> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let (case, status) = lock_request(&mut tx, m, request).await?;
        if status != "placed" {
            return Err(wrong_status(&case, &status, "入所中", "placed"));
        }
        let check_out = check_out.to_string();
        for (h, _) in active_holds(&mut tx, m, request).await? {
            sqlx::query("DELETE FROM bed_nights WHERE hold_id = $1 AND night >= $2")
                .bind(h)
                .bind(&check_out)
                .execute(&mut *tx)
                .await?;
            // The stay now ends at check-out: a segment wholly after it was never used.
            let changed = sqlx::query(
                "UPDATE placement_holds SET
                    status = CASE WHEN from_night >= $1 THEN 'withdrawn' ELSE 'ended' END,
                    to_night = CASE WHEN to_night > $1 AND from_night < $1 THEN $1 ELSE to_night END
                 WHERE id = $2 AND status = 'placed'",
            )
            .bind(&check_out)
            .bind(h)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed != 1 {
                return Err(changed_meanwhile(&case));
            }
        }
        event(&mut tx, m, request, Some(user.id), &status, "ended", reason).await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "end",
            "placement_request",
            &request.to_string(),
            &case,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// One attempt of [`Db::withdraw_request`] (see [`Db::retrying`]).
    async fn withdraw_request_once(
        &self,
        user: &User,
        request: i64,
        reason: &str,
    ) -> Result<usize> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let (case, status) = lock_request(&mut tx, m, request).await?;
        if matches!(status.as_str(), "ended" | "withdrawn" | "placed") {
            return Err(wrong_status(&case, &status, "入所前", "not yet placed"));
        }
        let all: Vec<i64> = active_holds(&mut tx, m, request)
            .await?
            .into_iter()
            .map(|(h, _)| h)
            .collect();
        release_holds(&mut tx, &all, "withdrawn", reason).await?;
        let told =
            notify_facilities(&mut tx, m, request, &all, NoticeKind::PlacementWithdrawn).await?;
        event(
            &mut tx,
            m,
            request,
            Some(user.id),
            &status,
            "withdrawn",
            reason,
        )
        .await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "withdraw",
            "placement_request",
            &request.to_string(),
            &case,
        )
        .await?;
        tx.commit().await?;
        Ok(told)
    }

    /// Holds waiting for a facility's answer, or every hold of one facility.
    pub async fn facility_holds(&self, m: MunicipalityId, facility: i64) -> Result<Vec<HoldRow>> {
        let mut conn = self.pool.acquire().await?;
        holds_where(
            &mut conn,
            m,
            "f.id = $2 AND h.status IN ('held', 'accepted', 'placed')",
            Some(facility),
        )
        .await
    }

    /// Confirmed stays (placed or ended) with a night in `[from, to)` (for the figures).
    pub async fn placed_stays(
        &self,
        m: MunicipalityId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<HoldRow>> {
        let mut conn = self.pool.acquire().await?;
        let rows = holds_where(&mut conn, m, "h.status IN ('placed', 'ended')", None).await?;
        Ok(rows
            .into_iter()
            .filter(|h| h.from < to.to_string() && h.to > from.to_string())
            .collect())
    }

    /// Every request's date of receipt (JST) and status (for the figures).
    pub async fn requests_created(&self, m: MunicipalityId) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT created_at, status FROM placement_requests WHERE municipality_id = $1",
        )
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let at: String = r.try_get("created_at")?;
                let date = super::parse_instant(&at)
                    .map(|t| renkei_solver::calendar::jst_date(t).to_string())
                    .unwrap_or_default();
                Ok((date, r.try_get("status")?))
            })
            .collect()
    }
}

impl Db {
    // Every transition of a request or hold runs as one transaction, again from the start when
    // the database asks for it (deadlock, serialization failure): see [`Db::retrying`].

    /// Proposes a stay: holds every bed-night of `segments` for the request until
    /// `hold_hours` from now, in one transaction. A bed-night already taken (by anyone, even a
    /// moment ago) makes the whole proposal fail with `Error::Taken` (without alternatives: the
    /// caller adds them) and leaves nothing behind.
    pub async fn propose(
        &self,
        user: &User,
        request: i64,
        segments: &[pm::Segment],
        hold_hours: i64,
    ) -> Result<Vec<i64>> {
        self.retrying(|| self.propose_once(user, request, segments, hold_hours))
            .await
    }

    /// The facility's answer to one hold. A decline releases the whole proposal; it counts as
    /// declined for `other` reasons (see [`Db::answer_hold_with`]).
    pub async fn answer_hold(
        &self,
        m: MunicipalityId,
        actor: Actor<'_>,
        hold: i64,
        accept: bool,
        reason: &str,
    ) -> Result<()> {
        let decline = (!accept).then_some(crate::placement::declines::DeclineReason::Other);
        self.retrying(|| self.answer_hold_once(m, actor.clone(), hold, accept, reason, decline))
            .await
    }

    /// The facility's answer with its fixed decline reason
    /// ([`crate::placement::declines::parse_answer`]), written on the declining hold only.
    pub async fn answer_hold_with(
        &self,
        m: MunicipalityId,
        actor: Actor<'_>,
        hold: i64,
        answer: &crate::placement::declines::ValidAnswer,
    ) -> Result<()> {
        self.retrying(|| {
            self.answer_hold_once(
                m,
                actor.clone(),
                hold,
                answer.accept,
                &answer.reason,
                answer.decline,
            )
        })
        .await
    }

    /// Confirms an accepted proposal: its bed-nights become the placement.
    pub async fn confirm_placement(&self, user: &User, request: i64) -> Result<()> {
        self.retrying(|| self.confirm_placement_once(user, request))
            .await
    }

    /// Ends a placement on `check_out`: later nights are freed.
    pub async fn end_placement(
        &self,
        user: &User,
        request: i64,
        check_out: NaiveDate,
        reason: &str,
    ) -> Result<()> {
        self.retrying(|| self.end_placement_once(user, request, check_out, reason))
            .await
    }

    /// Withdraws a request that has not ended; its holds are released. Returns how many
    /// facilities are told by mail.
    pub async fn withdraw_request(&self, user: &User, request: i64, reason: &str) -> Result<usize> {
        self.retrying(|| self.withdraw_request_once(user, request, reason))
            .await
    }

    /// Marks holds past their expiry as expired and frees their nights; requests left with no
    /// active hold go back to consultation. Returns how many holds expired.
    pub async fn expire_holds(&self, m: MunicipalityId) -> Result<usize> {
        self.retrying(|| self.expire_holds_once(m)).await
    }
}

/// The engine's needs of a stored request, with the facilities that declined it.
async fn request_needs(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    request: i64,
) -> Result<pm::Needs> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS}, home_x_km, home_y_km, known_facilities, max_distance_km FROM placement_requests
         WHERE municipality_id = $1 AND id = $2"
    ))
    .bind(m.0)
    .bind(request)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(request_not_found)?;
    let mut needs = engine_request(&row)?.needs;
    needs.not_at = sqlx::query_scalar::<_, i64>(
        "SELECT DISTINCT r.facility_id FROM placement_holds h
         JOIN beds b ON b.id = h.bed_id JOIN placement_rooms r ON r.id = b.room_id
         WHERE h.municipality_id = $1 AND h.request_id = $2 AND h.status = 'declined'",
    )
    .bind(m.0)
    .bind(request)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|f| f as u32)
    .collect();
    Ok(needs)
}

impl Db {
    /// The fit and room rules of the engine (`renkei_solver::placement::rules`), checked in the
    /// booking transaction whatever the client sent: the facility takes the person, the bed and
    /// room fit, and a shared room has nobody of the other sex on any of the nights. On
    /// PostgreSQL a shared room's row is locked first (`FOR UPDATE`), so two bookings into one
    /// shared room check its occupants one after the other (SQLite's writers already do).
    async fn check_fit(
        &self,
        conn: &mut AnyConnection,
        m: MunicipalityId,
        needs: &pm::Needs,
        segment: &pm::Segment,
        index: usize,
        at: &str,
    ) -> Result<()> {
        use renkei_solver::placement::rules;
        let r = sqlx::query(
            "SELECT f.id AS facility_id, f.name AS facility_name, f.kind, f.x_km, f.y_km, f.disability_types,
                    f.adults, f.children, f.medical_care, f.behavioural_support, f.night_staff,
                    r.id AS room_id, r.name AS room_name, r.sex_policy, b.name AS bed_name, b.wheelchair
             FROM beds b JOIN placement_rooms r ON r.id = b.room_id
             JOIN placement_facilities f ON f.id = r.facility_id
             WHERE b.municipality_id = $1 AND b.id = $2",
        )
        .bind(m.0)
        .bind(i64::from(segment.bed))
        .fetch_one(&mut *conn)
        .await?;
        let facility = pm::Facility {
            id: r.try_get::<i64, _>("facility_id")? as u32,
            name: r.try_get("facility_name")?,
            kind: parse_slug(&r.try_get::<String, _>("kind")?)
                .unwrap_or(pm::FacilityKind::ShortStay),
            location: pm::Location {
                x_km: r.try_get("x_km")?,
                y_km: r.try_get("y_km")?,
            },
            disability_types: parse_slugs(&r.try_get::<String, _>("disability_types")?),
            adults: b(&r, "adults")?,
            children: b(&r, "children")?,
            medical_care: parse_slugs(&r.try_get::<String, _>("medical_care")?),
            behavioural_support: b(&r, "behavioural_support")?,
            night_staff: b(&r, "night_staff")?,
        };
        let room_id: i64 = r.try_get("room_id")?;
        let room = pm::Room {
            id: room_id as u32,
            facility: facility.id,
            name: r.try_get("room_name")?,
            sex_policy: parse_slug(&r.try_get::<String, _>("sex_policy")?)
                .unwrap_or(pm::SexPolicy::Any),
        };
        let bed = pm::Bed {
            id: segment.bed,
            room: room.id,
            name: r.try_get("bed_name")?,
            wheelchair: b(&r, "wheelchair")?,
        };
        let field = format!("segments[{index}].bed_id");
        if let Some(why) = rules::unfit(&facility, &room, &bed, needs) {
            return Err(Error::Validation(vec![FieldError::new(
                &field,
                format!(
                    "{} {} {}: この方には合いません（{}）。検索結果から選んでください",
                    facility.name, room.name, bed.name, why.ja
                ),
                format!(
                    "{} {} {} does not fit this person ({}); choose from the search results",
                    facility.name, room.name, bed.name, why.en
                ),
            )]));
        }
        if room.sex_policy == pm::SexPolicy::SameAsOccupants {
            if self.backend == super::Backend::Postgres {
                sqlx::query("SELECT id FROM placement_rooms WHERE id = $1 FOR UPDATE")
                    .bind(room_id)
                    .fetch_one(&mut *conn)
                    .await?;
            }
            let other = slug(&rules::other(needs.sex));
            let clash: Option<String> = sqlx::query_scalar(
                "SELECT MIN(n.night) FROM bed_nights n JOIN beds b ON b.id = n.bed_id
                 WHERE b.room_id = $1 AND n.bed_id <> $2 AND n.night >= $3 AND n.night < $4
                   AND n.occupant_sex = $5 AND (n.state <> 'held' OR n.expires_at >= $6)",
            )
            .bind(room_id)
            .bind(i64::from(segment.bed))
            .bind(segment.nights.from.to_string())
            .bind(segment.nights.to.to_string())
            .bind(&other)
            .bind(at)
            .fetch_one(&mut *conn)
            .await?;
            if let Some(night) = clash {
                let (ja, en) = rules::sex_name(rules::other(needs.sex));
                return Err(Error::Validation(vec![FieldError::new(
                    &field,
                    format!("{} {}は相部屋で、{night} の夜は{ja}が利用しています（相部屋は同性のみ）。別の部屋を選んでください", facility.name, room.name),
                    format!("{} {} is a shared room with {en} in it on the night of {night} (a shared room is for one sex); choose another room", facility.name, room.name),
                )]));
            }
        }
        Ok(())
    }
}

/// Holds matching `filter`, which may use `$2` for `arg`.
async fn holds_where(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    filter: &str,
    arg: Option<i64>,
) -> Result<Vec<HoldRow>> {
    let sql = format!(
        "SELECT h.id, h.request_id, q.case_number, h.bed_id, b.name AS bed_name, r.name AS room_name, f.id AS facility_id,
                f.name AS facility_name, f.kind AS facility_kind, h.from_night, h.to_night, h.status, h.expires_at,
                h.answered_at, h.answer_reason
         FROM placement_holds h
         JOIN placement_requests q ON q.id = h.request_id
         JOIN beds b ON b.id = h.bed_id
         JOIN placement_rooms r ON r.id = b.room_id
         JOIN placement_facilities f ON f.id = r.facility_id
         WHERE h.municipality_id = $1 AND {filter} ORDER BY h.from_night, h.id"
    );
    let mut query = sqlx::query(&sql).bind(m.0);
    if let Some(arg) = arg {
        query = query.bind(arg);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(HoldRow {
                id: r.try_get("id")?,
                request_id: r.try_get("request_id")?,
                case_number: r.try_get("case_number")?,
                bed_id: r.try_get("bed_id")?,
                bed_name: r.try_get("bed_name")?,
                room_name: r.try_get("room_name")?,
                facility_id: r.try_get("facility_id")?,
                facility_name: r.try_get("facility_name")?,
                facility_kind: r.try_get("facility_kind")?,
                from: r.try_get("from_night")?,
                to: r.try_get("to_night")?,
                status: r.try_get("status")?,
                expires_at: r.try_get("expires_at")?,
                answered_at: r.try_get("answered_at")?,
                answer_reason: r.try_get("answer_reason")?,
            })
        })
        .collect()
}

/// The engine's instance of the facilities and taken bed-nights (requests are added by the caller).
pub fn engine_instance(facilities: &[FacilityRow], taken: Vec<pm::Taken>) -> pm::Instance {
    let mut inst = pm::Instance {
        facilities: Vec::new(),
        rooms: Vec::new(),
        beds: Vec::new(),
        taken,
        requests: Vec::new(),
        max_transfers: 2,
        weights: pm::Weights::default(),
        time_limit_seconds: 10.0,
    };
    for f in facilities {
        inst.facilities.push(pm::Facility {
            id: f.id as u32,
            name: f.name.clone(),
            kind: parse_slug(&f.kind).unwrap_or(pm::FacilityKind::ShortStay),
            location: pm::Location {
                x_km: f.x_km,
                y_km: f.y_km,
            },
            disability_types: parse_slugs(&f.disability_types.join(",")),
            adults: f.adults,
            children: f.children,
            medical_care: parse_slugs(&f.medical_care.join(",")),
            behavioural_support: f.behavioural_support,
            night_staff: f.night_staff,
        });
        for r in &f.rooms {
            inst.rooms.push(pm::Room {
                id: r.id as u32,
                facility: f.id as u32,
                name: r.name.clone(),
                sex_policy: parse_slug(&r.sex_policy).unwrap_or(pm::SexPolicy::Any),
            });
            for b in &r.beds {
                inst.beds.push(pm::Bed {
                    id: b.id as u32,
                    room: r.id as u32,
                    name: b.name.clone(),
                    wheelchair: b.wheelchair,
                });
            }
        }
    }
    inst
}

fn facility_not_found() -> Error {
    Error::not_found("施設", "facility")
}

fn facility_conflict(e: sqlx::Error) -> Error {
    match Error::from(e) {
        Error::Conflict(_) => Error::Validation(vec![FieldError::new(
            "code",
            "この施設コードは既に使われています。別のコードにしてください",
            "this facility code is already in use; choose another",
        )]),
        other => other,
    }
}

/// A preventive-support action (予防的支援) for a person at risk of an emergency.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreventiveAction {
    pub id: i64,
    pub request_id: Option<i64>,
    pub case_number: Option<String>,
    pub on_date: String,
    pub kind: String,
    pub note: String,
}

impl Db {
    /// Logs a preventive-support action, optionally for a registered request (case).
    pub async fn add_preventive_action(
        &self,
        user: &User,
        request: Option<i64>,
        on_date: NaiveDate,
        kind: &str,
        note: &str,
    ) -> Result<i64> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        if let Some(r) = request {
            request_status(&mut tx, m, r).await?;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO preventive_actions (municipality_id, request_id, on_date, kind, note, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(m.0)
        .bind(request)
        .bind(on_date.to_string())
        .bind(kind)
        .bind(note)
        .bind(user.id)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "create",
            "preventive_action",
            &id.to_string(),
            kind,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Preventive-support actions, newest first.
    pub async fn preventive_actions(&self, m: MunicipalityId) -> Result<Vec<PreventiveAction>> {
        let rows = sqlx::query(
            "SELECT a.id, a.request_id, q.case_number, a.on_date, a.kind, a.note FROM preventive_actions a
             LEFT JOIN placement_requests q ON q.id = a.request_id
             WHERE a.municipality_id = $1 ORDER BY a.on_date DESC, a.id DESC",
        )
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PreventiveAction {
                    id: r.try_get("id")?,
                    request_id: r.try_get("request_id")?,
                    case_number: r.try_get("case_number")?,
                    on_date: r.try_get("on_date")?,
                    kind: r.try_get("kind")?,
                    note: r.try_get("note")?,
                })
            })
            .collect()
    }
}
