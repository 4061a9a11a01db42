//! The emergency-placement problem (緊急受入れ) as plain data: beds of the hub's emergency rooms
//! (緊急用居室), short-stay facilities (短期入所) and group-home trial rooms (体験室), what is
//! already taken on which night, and the requests to place. Everything the search, the
//! optimizer and the validator need is in [`Instance`]; none of them reads anything else.
//!
//! Conventions: a *night* is the JST calendar date on which it begins (the night of 5 May runs
//! into the morning of 6 May). A stay is half-open: `[from, to)` covers the nights `from`,
//! `from + 1`, ..., `to - 1` (check-in on `from`, check-out on the morning of `to`). Ids are
//! the service's database ids.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use crate::schedule::model::Text;

pub type FacilityId = u32;
pub type RoomId = u32;
pub type BedId = u32;
pub type RequestId = u32;

/// Half-open range of nights `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Nights {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Nights {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Nights {
        Nights { from, to }
    }
    /// Number of nights (0 when `to <= from`).
    pub fn len(&self) -> u32 {
        (self.to - self.from).num_days().max(0) as u32
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn contains(&self, night: NaiveDate) -> bool {
        self.from <= night && night < self.to
    }
    /// Every night in order.
    pub fn iter(&self) -> impl Iterator<Item = NaiveDate> {
        let from = self.from;
        (0..self.len()).map(move |i| from + chrono::Days::new(u64::from(i)))
    }
    pub fn overlaps(&self, other: &Nights) -> bool {
        self.from < other.to && other.from < self.to
    }
}

/// Where a facility is, or where a person lives: kilometres east and north of a fixed point of
/// the municipality (enough for "shortest distance from home"; no geocoding).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Location {
    pub x_km: f64,
    pub y_km: f64,
}

impl Location {
    pub fn distance_km(&self, other: &Location) -> f64 {
        ((self.x_km - other.x_km).powi(2) + (self.y_km - other.y_km).powi(2)).sqrt()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityKind {
    /// 地域生活支援拠点の緊急用居室: the hub's reserve, kept free for the next crisis.
    HubEmergency,
    /// 短期入所 (ショートステイ)
    ShortStay,
    /// グループホーム体験室
    GroupHomeTrial,
}

impl FacilityKind {
    /// Community beds are everything but the hub's own reserve.
    pub fn is_community(self) -> bool {
        self != FacilityKind::HubEmergency
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

/// Who a room takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SexPolicy {
    Male,
    Female,
    Any,
    /// A shared room: anyone, but on each night everybody in the room is of one sex.
    SameAsOccupants,
}

/// 障害種別
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisabilityType {
    /// 身体障害
    Physical,
    /// 知的障害
    Intellectual,
    /// 精神障害
    Mental,
    /// 発達障害
    Developmental,
    /// 難病
    IntractableDisease,
}

/// 医療的ケア
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MedicalCare {
    /// 喀痰吸引
    Suction,
    /// 経管栄養
    TubeFeeding,
    /// 在宅酸素
    Oxygen,
    /// 導尿
    Catheter,
}

/// What a facility offers; rooms and beds add sex policy and wheelchair access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facility {
    pub id: FacilityId,
    pub name: String,
    pub kind: FacilityKind,
    #[serde(default)]
    pub location: Location,
    /// Disability types accepted; empty accepts none (a facility must say whom it takes).
    pub disability_types: Vec<DisabilityType>,
    #[serde(default = "yes")]
    pub adults: bool,
    #[serde(default)]
    pub children: bool,
    #[serde(default)]
    pub medical_care: Vec<MedicalCare>,
    /// 強度行動障害への支援ができる
    #[serde(default)]
    pub behavioural_support: bool,
    /// 夜間の職員配置がある
    #[serde(default)]
    pub night_staff: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Room {
    pub id: RoomId,
    pub facility: FacilityId,
    pub name: String,
    pub sex_policy: SexPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bed {
    pub id: BedId,
    pub room: RoomId,
    pub name: String,
    #[serde(default)]
    pub wheelchair: bool,
}

/// A bed-night that is already taken: a regular booking of the facility, a hold on a proposal,
/// or a confirmed placement. Taken bed-nights are never given again. `sex` is the occupant's,
/// where known; it matters for rooms with [`SexPolicy::SameAsOccupants`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taken {
    pub bed: BedId,
    pub night: NaiveDate,
    #[serde(default)]
    pub sex: Option<Sex>,
}

/// The needs of one person, which decide where they can go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Needs {
    pub sex: Sex,
    /// 障害児: a child needs a facility that takes children; an adult one that takes adults.
    #[serde(default)]
    pub child: bool,
    /// Every type listed must be accepted by the facility.
    #[serde(default)]
    pub disability_types: Vec<DisabilityType>,
    #[serde(default)]
    pub wheelchair: bool,
    /// Every kind of care listed must be offered.
    #[serde(default)]
    pub medical_care: Vec<MedicalCare>,
    #[serde(default)]
    pub behavioural_support: bool,
    #[serde(default)]
    pub night_staff: bool,
    /// Facilities that must not be proposed again: they declined this person (or the person
    /// must not go there). Not a need of the person, but it rules facilities out the same way.
    #[serde(default)]
    pub not_at: Vec<FacilityId>,
}

/// One person to place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub id: RequestId,
    /// A label for messages (a case number, never the person's name).
    pub label: String,
    pub needs: Needs,
    pub nights: Nights,
    #[serde(default)]
    pub home: Location,
    /// Facilities the person already knows (has stayed at): preferred.
    #[serde(default)]
    pub known_facilities: Vec<FacilityId>,
    /// 1 (can wait) .. 5 (tonight, no alternative); more urgent requests are placed first when
    /// not all can be.
    #[serde(default = "default_urgency")]
    pub urgency: u8,
    /// No facility farther from `home` than this (km); none: any distance.
    #[serde(default)]
    pub max_distance_km: Option<f64>,
}

fn default_urgency() -> u8 {
    3
}

/// Weights of the soft goals; every term is a cost to minimise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    /// Per night spent in a hub emergency room (keep the reserve free; prefer community beds).
    pub hub_room_night: f64,
    /// Per change of bed during a stay.
    pub transfer: f64,
    /// Per kilometre between home and facility, per stay segment.
    pub distance_km: f64,
    /// Per night above the fair share of a facility (load spread across facilities).
    pub load_over_share: f64,
    /// Per night in a facility the person does not know yet.
    pub unknown_facility_night: f64,
    /// Per urgency point of a request left unplaced (must dominate everything else).
    pub unplaced: f64,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights {
            hub_room_night: 20.0,
            transfer: 30.0,
            distance_km: 1.0,
            load_over_share: 2.0,
            unknown_facility_night: 3.0,
            unplaced: 10_000.0,
        }
    }
}

/// One placement problem: the current state of the beds and the requests to place into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub facilities: Vec<Facility>,
    pub rooms: Vec<Room>,
    pub beds: Vec<Bed>,
    /// Bed-nights already taken (regular bookings, holds, confirmed placements).
    #[serde(default)]
    pub taken: Vec<Taken>,
    pub requests: Vec<Request>,
    /// A stay may change bed at most this many times (0: one bed for the whole stay).
    #[serde(default = "default_max_transfers")]
    pub max_transfers: u32,
    #[serde(default)]
    pub weights: Weights,
    #[serde(default = "default_time_limit")]
    pub time_limit_seconds: f64,
}

fn default_max_transfers() -> u32 {
    2
}
fn default_time_limit() -> f64 {
    10.0
}

/// Part of a stay in one bed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub bed: BedId,
    pub nights: Nights,
}

/// Where one request goes: consecutive segments covering its nights exactly, or nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    pub request: RequestId,
    /// Empty when the request could not be placed.
    pub segments: Vec<Segment>,
    /// Why not, when `segments` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unplaced_reason: Option<Text>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SolveStatus {
    Optimal,
    /// Stopped at the time limit with the best placement found; see `gap`.
    TimeLimit,
}

/// The optimizer's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    pub placements: Vec<Placement>,
    pub status: SolveStatus,
    pub objective: f64,
    pub bound: f64,
    /// Relative MIP gap, (objective - bound) / |objective|; 0 when proven optimal.
    pub gap: f64,
    pub seconds: f64,
}
