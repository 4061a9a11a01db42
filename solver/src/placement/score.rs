//! The soft goals of a set of placements, evaluated from the instance alone: what the optimizer
//! minimises, computed here so that placements from any source (optimizer, greedy baseline,
//! staff by hand) compare in the same units.
//!
//! Definitions (each multiplied by its weight in [`Weights`]):
//! * hub_room_night: nights spent in a [`FacilityKind::HubEmergency`] facility;
//! * transfer: bed changes, `segments - 1` per placed request;
//! * distance_km: per segment, the straight-line distance from the person's home to the
//!   facility (a split stay travels again);
//! * unknown_facility_night: nights in a facility not in the request's `known_facilities`;
//! * load_over_share: per facility, the nights placed there beyond the fair share
//!   `S = N / K`, where `N` is the total nights requested in this batch and `K` the number of
//!   facilities that fit at least one request of the batch statically
//!   ([`fair_share_facilities`]): what each would carry if the batch's demand were spread
//!   evenly. Only this batch's placements count (existing bookings are the facilities' own
//!   business). The share is fixed by the instance rather than by what gets placed: the
//!   optimizer's load rows then stay per facility instead of all hanging on one total, which
//!   made the batch model five times slower to solve; since `unplaced` dominates, the share
//!   never decides whether a request is placed;
//! * unplaced: `urgency` of every request without segments (or without a placement).

use serde::{Deserialize, Serialize};

use super::model::*;
use super::rules::{IdMap, Index};

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct CostBreakdown {
    pub hub_room_night: f64,
    pub transfer: f64,
    pub distance_km: f64,
    pub load_over_share: f64,
    pub unknown_facility_night: f64,
    pub unplaced: f64,
    pub total: f64,
}

/// Cost of one segment of `nights` nights at `facility` for `request`: hub nights, distance
/// and unknown-facility nights (transfers and load are counted per stay and per batch).
pub fn segment_cost(w: &Weights, request: &Request, facility: &Facility, nights: u32) -> f64 {
    let n = f64::from(nights);
    let mut c = w.distance_km * facility.location.distance_km(&request.home);
    if facility.kind == FacilityKind::HubEmergency {
        c += w.hub_room_night * n;
    }
    if !request.known_facilities.contains(&facility.id) {
        c += w.unknown_facility_night * n;
    }
    c
}

/// The penalty of leaving `request` unplaced.
pub fn unplaced_cost(w: &Weights, request: &Request) -> f64 {
    w.unplaced * f64::from(request.urgency)
}

/// `K` of the fair share: facilities with at least one bed that fits at least one request.
pub fn fair_share_facilities(index: &Index) -> usize {
    let mut fits: IdMap<FacilityId, ()> = IdMap::default();
    for r in &index.instance.requests {
        for b in index.fitting(&r.needs) {
            if crate::placement::rules::too_far(r, b.facility).is_some() {
                continue;
            }
            fits.insert(b.facility.id, ());
        }
    }
    fits.len()
}

/// Every soft goal of `placements`, weighted, with the total.
pub fn breakdown(instance: &Instance, placements: &[Placement]) -> CostBreakdown {
    let index = Index::static_only(instance);
    let w = &instance.weights;
    let mut c = CostBreakdown::default();
    let mut load: IdMap<FacilityId, f64> = IdMap::default();
    for r in &instance.requests {
        let segments = placements
            .iter()
            .find(|p| p.request == r.id)
            .map(|p| p.segments.as_slice())
            .unwrap_or(&[]);
        if segments.is_empty() {
            c.unplaced += unplaced_cost(w, r);
            continue;
        }
        c.transfer += w.transfer * (segments.len() - 1) as f64;
        for s in segments {
            let Some(at) = index.bed(s.bed) else {
                continue;
            };
            let n = f64::from(s.nights.len());
            let f = at.facility;
            c.distance_km += w.distance_km * f.location.distance_km(&r.home);
            if f.kind == FacilityKind::HubEmergency {
                c.hub_room_night += w.hub_room_night * n;
            }
            if !r.known_facilities.contains(&f.id) {
                c.unknown_facility_night += w.unknown_facility_night * n;
            }
            *load.entry(f.id).or_default() += n;
        }
    }
    let k = fair_share_facilities(&index);
    if k > 0 {
        let requested: u32 = instance.requests.iter().map(|r| r.nights.len()).sum();
        let share = f64::from(requested) / k as f64;
        let mut loads: Vec<(FacilityId, f64)> = load.into_iter().collect();
        loads.sort_by_key(|&(f, _)| f);
        c.load_over_share = w.load_over_share
            * loads
                .iter()
                .map(|&(_, l)| (l - share).max(0.0))
                .sum::<f64>();
    }
    c.total = c.hub_room_night
        + c.transfer
        + c.distance_km
        + c.load_over_share
        + c.unknown_facility_night
        + c.unplaced;
    c
}

/// The weighted total of the soft goals of `placements` (what [`super::milp::place`]
/// minimises).
pub fn cost(instance: &Instance, placements: &[Placement]) -> f64 {
    breakdown(instance, placements).total
}
