//! The glue between the store and the pure engine: vacancy search and batch placement. Every
//! optimizer result passes `renkei_solver::placement::validate` before any hold is taken.

use std::collections::HashMap;

use renkei_solver::placement::model::{self as pm, Nights};
use renkei_solver::placement::rules::Index;
use renkei_solver::placement::{milp, search, validate};
use serde::Serialize;
use utoipa::ToSchema;

use super::ValidSearch;
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::store::placement::FacilityRow;
use crate::store::tenancy::{MunicipalityId, User};
use crate::store::Db;

/// A search lists at most this many whole-stay beds (the best ones): nobody reads further.
pub const MAX_WHOLE: usize = 30;

/// One bed in a search answer, named for people.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BedChoice {
    pub bed_id: i64,
    pub bed_name: String,
    pub room_name: String,
    pub facility_id: i64,
    pub facility_name: String,
    pub facility_kind: String,
    pub kind_label: Msg,
    /// The hub's own emergency room (kept free where a community bed fits).
    pub hub_room: bool,
    pub wheelchair: bool,
    pub distance_km: f64,
    pub cost: f64,
    /// The facility has not confirmed its vacancies within a week: call before relying on it.
    pub stale: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentChoice {
    #[serde(flatten)]
    pub bed: BedChoice,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SplitChoice {
    pub segments: Vec<SegmentChoice>,
    pub transfers: u32,
    pub cost: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FacilityReason {
    pub facility_id: i64,
    pub facility_name: String,
    pub reason: Msg,
}

/// The answer to a vacancy search.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchOut {
    pub from: String,
    pub to: String,
    pub nights: u32,
    /// Beds free for every night, best first (community beds before the hub's room); the
    /// best [`MAX_WHOLE`] of them.
    pub whole: Vec<BedChoice>,
    /// How many beds are free for every night in all.
    pub whole_total: usize,
    /// Where no single bed covers the stay: the split with the fewest transfers.
    pub split: Option<SplitChoice>,
    /// Each facility that has no fitting bed for the whole stay, and why.
    pub misses: Vec<FacilityReason>,
}

struct Names<'a> {
    beds: HashMap<u32, (&'a FacilityRow, &'a str, &'a str, bool)>,
}

impl<'a> Names<'a> {
    fn new(facilities: &'a [FacilityRow]) -> Names<'a> {
        let mut beds = HashMap::new();
        for f in facilities {
            for (r, b) in f.beds() {
                beds.insert(
                    b.id as u32,
                    (f, r.name.as_str(), b.name.as_str(), b.wheelchair),
                );
            }
        }
        Names { beds }
    }
    fn bed(&self, bed: u32, distance_km: f64, cost: f64) -> Option<BedChoice> {
        let (f, room, name, wheelchair) = self.beds.get(&bed)?;
        Some(BedChoice {
            bed_id: i64::from(bed),
            bed_name: name.to_string(),
            room_name: room.to_string(),
            facility_id: f.id,
            facility_name: f.name.clone(),
            facility_kind: f.kind.clone(),
            kind_label: f.kind_label.clone(),
            hub_room: f.kind == "hub_emergency",
            wheelchair: *wheelchair,
            distance_km: (distance_km * 10.0).round() / 10.0,
            cost,
            stale: f.stale,
        })
    }
}

fn text(t: &pm::Text) -> Msg {
    Msg::new(&t.ja, &t.en)
}

/// Names a search result of the engine.
pub fn describe(
    result: &search::SearchResult,
    nights: Nights,
    facilities: &[FacilityRow],
    home: pm::Location,
) -> SearchOut {
    let names = Names::new(facilities);
    let by_id: HashMap<u32, &FacilityRow> = facilities.iter().map(|f| (f.id as u32, f)).collect();
    let location_of: HashMap<u32, pm::Location> = facilities
        .iter()
        .map(|f| {
            (
                f.id as u32,
                pm::Location {
                    x_km: f.x_km,
                    y_km: f.y_km,
                },
            )
        })
        .collect();
    let split = result.split.as_ref().map(|s| SplitChoice {
        segments: s
            .segments
            .iter()
            .filter_map(|seg| {
                let facility = names.beds.get(&seg.bed).map(|(f, ..)| f.id as u32)?;
                let d = location_of
                    .get(&facility)
                    .map(|l| l.distance_km(&home))
                    .unwrap_or(0.0);
                Some(SegmentChoice {
                    bed: names.bed(seg.bed, d, 0.0)?,
                    from: seg.nights.from.to_string(),
                    to: seg.nights.to.to_string(),
                })
            })
            .collect(),
        transfers: s.transfers,
        cost: s.cost,
    });
    SearchOut {
        from: nights.from.to_string(),
        to: nights.to.to_string(),
        nights: nights.len(),
        whole_total: result.whole.len(),
        whole: result
            .whole
            .iter()
            .take(MAX_WHOLE)
            .filter_map(|o| names.bed(o.bed, o.distance_km, o.cost))
            .collect(),
        split,
        misses: result
            .misses
            .iter()
            .filter_map(|m| {
                let f = by_id.get(&m.facility)?;
                Some(FacilityReason {
                    facility_id: f.id,
                    facility_name: f.name.clone(),
                    reason: text(&m.reason),
                })
            })
            .collect(),
    }
}

/// Searches vacancies for nights and needs (from the in-memory index: one small read of
/// versions, and the engine's work).
pub async fn search_vacancies(
    db: &Db,
    m: MunicipalityId,
    q: &ValidSearch,
    known: &[u32],
) -> Result<SearchOut> {
    let request = pm::Request {
        id: 0,
        label: String::new(),
        needs: q.needs.clone(),
        nights: q.nights,
        home: q.home,
        known_facilities: known.to_vec(),
        urgency: 3,
        max_distance_km: q.max_distance_km,
    };
    search_request(db, m, &request).await
}

/// Searches vacancies for a stored request (what a lost booking is offered instead).
pub async fn alternatives(db: &Db, m: MunicipalityId, request: i64) -> Result<SearchOut> {
    let r = db.engine_requests(m, &[request]).await?.remove(0);
    search_request(db, m, &r).await
}

async fn search_request(db: &Db, m: MunicipalityId, request: &pm::Request) -> Result<SearchOut> {
    let snapshot = db.placement_snapshot(m, request.nights).await?;
    let statics = &snapshot.statics;
    let index = Index::with_taken(&statics.instance, snapshot.taken(request.nights));
    let result = search::search_in(&index, request);
    Ok(describe(
        &result,
        request.nights,
        &statics.facilities,
        request.home,
    ))
}

/// What happened to one request of a batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchItem {
    pub request_id: i64,
    pub case_number: String,
    /// proposed (holds taken), unplaced, or conflict (a bed-night was taken meanwhile).
    pub outcome: String,
    pub segments: Vec<SegmentChoice>,
    pub reason: Option<Msg>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchOut {
    pub requests: usize,
    pub proposed: usize,
    pub unplaced: usize,
    /// Nights placed in community facilities and in the hub's emergency room.
    pub community_nights: u32,
    pub hub_nights: u32,
    pub status: String,
    pub objective: f64,
    pub gap: f64,
    pub seconds: f64,
    pub items: Vec<BatchItem>,
}

/// Places every open request (or the ones named) with the optimizer, checks the result with the
/// validator, and proposes each placed stay (holds with `hold_hours`).
pub async fn place_batch(db: &Db, user: &User, ids: &[i64], hold_hours: i64) -> Result<BatchOut> {
    let m = user.municipality_id;
    db.expire_holds(m).await?;
    let requests = db.engine_requests(m, ids).await?;
    if requests.is_empty() {
        return Err(Error::BadRequest(Msg::new(
            "配置する相談がありません（受付中・辞退後の相談が対象です）",
            "there is no request to place (open requests: consultation or declined)",
        )));
    }
    let window = Nights::new(
        requests
            .iter()
            .map(|r| r.nights.from)
            .min()
            .unwrap_or_default(),
        requests
            .iter()
            .map(|r| r.nights.to)
            .max()
            .unwrap_or_default(),
    );
    let (mut instance, facilities) = db.placement_state(m, window).await?;
    instance.requests = requests;
    let inst = instance.clone();
    let solution = tokio::task::spawn_blocking(move || milp::place(&inst))
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("placement solve panicked: {e}")))?
        .map_err(|e| Error::Internal(anyhow::anyhow!("placement solve failed: {e:?}")))?;
    let report = validate::validate(&instance, &solution.placements);
    if !report.violations.is_empty() {
        return Err(Error::Internal(anyhow::anyhow!(
            "the placement failed validation: {:?}",
            report.violations
        )));
    }
    let names = Names::new(&facilities);
    let mut out = BatchOut {
        requests: instance.requests.len(),
        proposed: 0,
        unplaced: 0,
        community_nights: 0,
        hub_nights: 0,
        status: format!("{:?}", solution.status).to_lowercase(),
        objective: solution.objective,
        gap: solution.gap,
        seconds: solution.seconds,
        items: Vec::new(),
    };
    // Each bed's facility, for the distance and cost of each segment.
    let room_facility: HashMap<u32, &pm::Facility> = instance
        .rooms
        .iter()
        .filter_map(|room| {
            let f = instance.facilities.iter().find(|f| f.id == room.facility)?;
            Some((room.id, f))
        })
        .collect();
    let bed_facility: HashMap<u32, &pm::Facility> = instance
        .beds
        .iter()
        .filter_map(|b| Some((b.id, *room_facility.get(&b.room)?)))
        .collect();
    for (p, r) in solution.placements.iter().zip(&instance.requests) {
        let segments: Vec<SegmentChoice> = p
            .segments
            .iter()
            .filter_map(|s| {
                let (distance, cost) = bed_facility.get(&s.bed).map_or((0.0, 0.0), |f| {
                    (
                        f.location.distance_km(&r.home),
                        renkei_solver::placement::score::segment_cost(
                            &instance.weights,
                            r,
                            f,
                            s.nights.len(),
                        ),
                    )
                });
                Some(SegmentChoice {
                    bed: names.bed(s.bed, distance, cost)?,
                    from: s.nights.from.to_string(),
                    to: s.nights.to.to_string(),
                })
            })
            .collect();
        let mut item = BatchItem {
            request_id: i64::from(p.request),
            case_number: r.label.clone(),
            outcome: "unplaced".into(),
            segments,
            reason: p.unplaced_reason.as_ref().map(text),
        };
        if p.segments.is_empty() {
            out.unplaced += 1;
        } else {
            match db
                .propose(user, i64::from(p.request), &p.segments, hold_hours)
                .await
            {
                Ok(_) => {
                    item.outcome = "proposed".into();
                    out.proposed += 1;
                    for (s, c) in p.segments.iter().zip(&item.segments) {
                        if c.bed.hub_room {
                            out.hub_nights += s.nights.len();
                        } else {
                            out.community_nights += s.nights.len();
                        }
                    }
                }
                Err(Error::Taken { message: msg, .. }) | Err(Error::Conflict(msg)) => {
                    item.outcome = "conflict".into();
                    item.reason = Some(msg);
                }
                Err(e) => return Err(e),
            }
        }
        out.items.push(item);
    }
    Ok(out)
}
