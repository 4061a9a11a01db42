//! The placement optimizer (緊急受入れの一括配置): places every request of an instance at once
//! into the current state of the beds, breaking no hard rule of [`super::rules`] and
//! minimising the soft goals as [`super::score`] measures them. good_lp builds the model,
//! HiGHS solves it.
//!
//! # Formulation: candidate stays
//! A binary per request × bed × night would be 200 × 500 × 30 = 3·10^6 columns for a batch
//! and would need flow rows to keep stays contiguous. Instead each request gets a list of
//! **candidate stays**, each a complete, valid stay on its own (fitting beds, free nights,
//! sex of existing occupants respected, contiguous segments covering its nights exactly, at
//! most `max_transfers` changes of bed), and the model only chooses among them:
//!
//! - **whole stays**: every fitting bed free for all the request's nights (all of them);
//! - **split stays** (when `max_transfers > 0` and the stay has 2+ nights), from two DPs
//!   over night positions with "exactly k segments" tables from the front and from the back:
//!   the cheapest stay with exactly k segments for every k = 2..=max_transfers+1, and for
//!   every fitting bed and every maximal free run of it inside the stay (an *anchor*), the
//!   cheapest stay that uses exactly that run; the cheapest [`PlaceOptions::split_candidates`]
//!   distinct ones are kept.
//!
//! Variables: `x[r,s]` ∈ {0, 1} (request r takes candidate s); `u[r]` ∈ \[0, 1\] (r unplaced;
//! integral through the row below); `z[room,night]` ∈ {0, 1} (the shared room is men's that
//! night), only for room-nights of a [`SexPolicy::SameAsOccupants`] room on which candidates
//! of both sexes could sleep; `e[f]` ≥ 0 (nights of facility f above the fair share), only
//! when the load goal has a weight.
//!
//! Rows:
//! - one choice per request: `Σ_s x[r,s] + u[r] = 1`;
//! - one person per bed-night: `Σ x ≤ 1` over candidates of different requests using the
//!   bed-night (a request's own candidates already exclude each other);
//! - shared rooms, where contested: per bed of the room and night,
//!   `Σ_{male} x ≤ z` and `Σ_{female} x ≤ 1 - z` (which also gives one person per bed-night);
//! - load: `e[f] ≥ Σ nights_f(s) x[r,s] - S` with the fair share `S = N / K` (`N` nights
//!   requested in the batch, `K` facilities that fit at least one request,
//!   [`super::score::fair_share_facilities`]); `e[f]` is the exact `max(0, load - S)` of
//!   [`super::score`] at any optimum since it is minimised. A share that moved with the
//!   nights actually placed (`P / K`) is also linear, but its row holds every column of the
//!   model and made the 200-request batch five times slower to solve.
//!
//! Objective: `Σ cost(s) x[r,s] + Σ unplaced·urgency(r) u[r] + load_over_share · Σ e[f]`,
//! where `cost(s)` is [`super::score::segment_cost`] of its segments plus `transfer` per change.
//!
//! # What "optimal" means
//! `SolveStatus::Optimal`: no other choice among the candidate stays costs less (within
//! HiGHS's gap tolerances, [`PlaceOptions::mip_gap`] relative and 1e-6 absolute). Whole stays
//! are all candidates, so with `max_transfers = 0` this is the optimum of the whole problem;
//! split stays are a bounded, generated subset, so a plan needing an unusual split may exist
//! that is cheaper. `bound` is HiGHS's dual bound over the same candidates.
//! `Solution::objective` is the model's objective evaluated at the chosen integer point
//! (equal to [`super::score::cost`] of the placements; the tests check it).
//!
//! # One request
//! With a single request nothing competes, so every candidate is evaluated exactly (its cost
//! plus its load term) and the cheapest is taken: the same optimum over the same candidates,
//! without a model (the service places one request into a 2,000-bed state within 50 ms).
//!
//! # Determinism
//! Requests in input order, beds in instance order, rows in sorted key order; HiGHS is
//! deterministic. The same input gives the same placements unless the time limit cuts the
//! solve short.

use std::collections::BTreeMap;
use std::time::Instant;

use good_lp::{
    highs, variable, Expression, ProblemVariables, SolverModel, Variable, VariableDefinition,
};

use super::model::*;
use super::rules::{night_key, IdMap, IdSet, Index, Sexes};
use super::score::{fair_share_facilities, unplaced_cost};
use super::search::{fit_beds, to_segments, why_unplaceable, FitBed, Path};

/// Optimizer settings; [`place`] takes them from the instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaceOptions {
    pub time_limit_seconds: f64,
    /// Relative MIP gap at which HiGHS may stop.
    pub mip_gap: f64,
    /// HiGHS threads; `None` keeps HiGHS's default (one pool per process: use one value).
    pub threads: Option<u32>,
    /// Split-stay candidates kept per request (the cheapest distinct ones).
    pub split_candidates: usize,
}

impl PlaceOptions {
    pub fn for_instance(instance: &Instance) -> PlaceOptions {
        PlaceOptions {
            time_limit_seconds: instance.time_limit_seconds,
            mip_gap: 1e-7,
            threads: None,
            split_candidates: 24,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlaceError {
    /// The instance itself is wrong (duplicate or dangling ids, empty stays).
    InvalidInstance(Vec<Text>),
    /// The solver failed.
    Solver(String),
}

impl std::fmt::Display for PlaceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlaceError::InvalidInstance(why) => {
                write!(f, "invalid placement instance")?;
                for t in why {
                    write!(f, "; {}", t.en)?;
                }
                Ok(())
            }
            PlaceError::Solver(e) => write!(f, "placement solver failed: {e}"),
        }
    }
}

impl std::error::Error for PlaceError {}

/// Places all requests of `instance`; see the module documentation.
pub fn place(instance: &Instance) -> Result<Solution, PlaceError> {
    place_with(instance, PlaceOptions::for_instance(instance))
}

/// Instance errors that make placing meaningless.
pub fn check_instance(instance: &Instance) -> Vec<Text> {
    let mut why = Vec::new();
    let mut dup = |kind_ja: &str, kind_en: &str, ids: Vec<u32>| {
        let mut seen = IdSet::default();
        for id in ids {
            if !seen.insert(id) {
                why.push(Text::new(
                    format!("{kind_ja}ID {id} が重複している"),
                    format!("duplicate {kind_en} id {id}"),
                ));
            }
        }
    };
    dup(
        "事業所",
        "facility",
        instance.facilities.iter().map(|f| f.id).collect(),
    );
    dup(
        "部屋",
        "room",
        instance.rooms.iter().map(|r| r.id).collect(),
    );
    dup(
        "ベッド",
        "bed",
        instance.beds.iter().map(|b| b.id).collect(),
    );
    dup(
        "依頼",
        "request",
        instance.requests.iter().map(|r| r.id).collect(),
    );
    let facilities: IdSet<FacilityId> = instance.facilities.iter().map(|f| f.id).collect();
    let rooms: IdSet<RoomId> = instance.rooms.iter().map(|r| r.id).collect();
    for r in &instance.rooms {
        if !facilities.contains(&r.facility) {
            why.push(Text::new(
                format!("部屋 {} の事業所 {} が存在しない", r.id, r.facility),
                format!("room {} refers to unknown facility {}", r.id, r.facility),
            ));
        }
    }
    for b in &instance.beds {
        if !rooms.contains(&b.room) {
            why.push(Text::new(
                format!("ベッド {} の部屋 {} が存在しない", b.id, b.room),
                format!("bed {} refers to unknown room {}", b.id, b.room),
            ));
        }
    }
    for r in &instance.requests {
        if r.nights.is_empty() {
            why.push(Text::new(
                format!("依頼 {} の泊数が0", r.label),
                format!("request {} has no nights", r.label),
            ));
        }
    }
    why
}

/// One bed-night a candidate uses.
#[derive(Clone, Copy)]
struct Use {
    bed_night: u64,
    /// `Some(room-night key)` in a shared ([`SexPolicy::SameAsOccupants`]) room.
    shared_room_night: Option<u64>,
}

struct Candidate {
    path: Path,
    /// Segment costs plus transfers (without the batch's load term).
    cost: f64,
    uses: Vec<Use>,
    /// Nights per facility (index into `instance.facilities`), sorted by facility.
    facility_nights: Vec<(usize, u32)>,
}

struct Prepared<'a> {
    beds: Vec<FitBed<'a>>,
    candidates: Vec<Candidate>,
}

/// The stays with exactly k segments covering nights `[0, j)` (front) or `[i, n)` (back):
/// `cost[k][pos]` with back-pointers, for k = 0..=max_segments.
struct Table {
    cost: Vec<Vec<f64>>,
    /// (other end position, bed) of the segment ending (front) / starting (back) at `pos`.
    step: Vec<Vec<(u32, u32)>>,
}

fn front_table(beds: &[FitBed], n: usize, max_segments: usize) -> Table {
    let mut cost = vec![vec![f64::INFINITY; n + 1]; max_segments + 1];
    let mut step = vec![vec![(0, 0); n + 1]; max_segments + 1];
    cost[0][0] = 0.0;
    for k in 1..=max_segments {
        for i in 0..n {
            let here = cost[k - 1][i];
            if !here.is_finite() {
                continue;
            }
            for (b, fb) in beds.iter().enumerate() {
                for j in i + 1..=fb.run_end[i] as usize {
                    let c = here + fb.seg_cost[j - i];
                    if c < cost[k][j] {
                        cost[k][j] = c;
                        step[k][j] = (i as u32, b as u32);
                    }
                }
            }
        }
    }
    Table { cost, step }
}

fn back_table(beds: &[FitBed], n: usize, max_segments: usize) -> Table {
    let mut cost = vec![vec![f64::INFINITY; n + 1]; max_segments + 1];
    let mut step = vec![vec![(0, 0); n + 1]; max_segments + 1];
    cost[0][n] = 0.0;
    for k in 1..=max_segments {
        for i in (0..n).rev() {
            for (b, fb) in beds.iter().enumerate() {
                for j in i + 1..=fb.run_end[i] as usize {
                    let rest = cost[k - 1][j];
                    if !rest.is_finite() {
                        continue;
                    }
                    let c = rest + fb.seg_cost[j - i];
                    if c < cost[k][i] {
                        cost[k][i] = c;
                        step[k][i] = (j as u32, b as u32);
                    }
                }
            }
        }
    }
    Table { cost, step }
}

fn front_path(t: &Table, k: usize, j: usize) -> Path {
    let mut path = Vec::with_capacity(k);
    let (mut k, mut j) = (k, j as u32);
    while k > 0 {
        let (i, b) = t.step[k][j as usize];
        path.push((b as usize, i, j));
        j = i;
        k -= 1;
    }
    path.reverse();
    path
}

fn back_path(t: &Table, k: usize, i: usize) -> Path {
    let mut path = Vec::with_capacity(k);
    let (mut k, mut i) = (k, i as u32);
    while k > 0 {
        let (j, b) = t.step[k][i as usize];
        path.push((b as usize, i, j));
        i = j;
        k -= 1;
    }
    path
}

/// Candidate paths for one request: all whole stays, then the bounded split stays.
fn candidate_paths(
    beds: &[FitBed],
    n: usize,
    w: &Weights,
    max_transfers: u32,
    cap: usize,
) -> Vec<(Path, f64)> {
    let mut out: Vec<(Path, f64)> = beds
        .iter()
        .enumerate()
        .filter(|(_, fb)| fb.whole())
        .map(|(b, fb)| (vec![(b, 0, n as u32)], fb.seg_cost[n]))
        .collect();
    if max_transfers == 0 || n < 2 || cap == 0 {
        return out;
    }
    let max_segments = (max_transfers as usize + 1).min(n);
    let front = front_table(beds, n, max_segments);
    let back = back_table(beds, n, max_segments);
    let mut splits: Vec<(Path, f64)> = Vec::new();
    for k in 2..=max_segments {
        let c = front.cost[k][n];
        if c.is_finite() {
            splits.push((front_path(&front, k, n), c + w.transfer * (k - 1) as f64));
        }
    }
    // Anchors: each maximal free run [a, c) of each bed, short of the whole stay.
    for (b, fb) in beds.iter().enumerate() {
        let mut a = 0;
        while a < n {
            let c = fb.run_end[a] as usize;
            if c == a {
                a += 1;
                continue;
            }
            if !(a == 0 && c == n) {
                let mut best: Option<(f64, usize, usize)> = None;
                let k1s: Vec<usize> = if a == 0 {
                    vec![0]
                } else {
                    (1..max_segments).collect()
                };
                for &k1 in &k1s {
                    let k2s: Vec<usize> = if c == n {
                        vec![0]
                    } else {
                        (1..max_segments).collect()
                    };
                    for &k2 in &k2s {
                        if k1 + k2 + 1 > max_segments {
                            continue;
                        }
                        let total = front.cost[k1][a]
                            + fb.seg_cost[c - a]
                            + back.cost[k2][c]
                            + w.transfer * (k1 + k2) as f64;
                        if total.is_finite() && best.is_none_or(|(t, _, _)| total < t) {
                            best = Some((total, k1, k2));
                        }
                    }
                }
                if let Some((total, k1, k2)) = best {
                    let mut path = front_path(&front, k1, a);
                    path.push((b, a as u32, c as u32));
                    path.extend(back_path(&back, k2, c));
                    splits.push((path, total));
                }
            }
            a = c;
        }
    }
    splits.sort_by(|x, y| x.1.total_cmp(&y.1).then_with(|| x.0.cmp(&y.0)));
    splits.dedup_by(|x, y| x.0 == y.0);
    // Segments in the same bed back to back are a stay with a pointless transfer.
    splits.retain(|(p, _)| p.windows(2).all(|s| s[0].0 != s[1].0));
    splits.truncate(cap);
    out.extend(splits);
    out
}

fn prepare<'a>(
    index: &Index<'a>,
    facility_pos: &IdMap<FacilityId, usize>,
    request: &Request,
    options: &PlaceOptions,
) -> Prepared<'a> {
    let instance = index.instance;
    let w = &instance.weights;
    let n = request.nights.len() as usize;
    let beds = fit_beds(index, request, w);
    let paths = candidate_paths(
        &beds,
        n,
        w,
        instance.max_transfers,
        options.split_candidates,
    );
    let nights: Vec<_> = request.nights.iter().collect();
    let candidates = paths
        .into_iter()
        .map(|(path, cost)| {
            let mut uses = Vec::with_capacity(n);
            let mut per_facility: BTreeMap<usize, u32> = BTreeMap::new();
            for &(b, from, to) in &path {
                let at = &beds[b].at;
                *per_facility
                    .entry(facility_pos[&at.facility.id])
                    .or_default() += to - from;
                for night in &nights[from as usize..to as usize] {
                    uses.push(Use {
                        bed_night: night_key(at.bed.id, *night),
                        shared_room_night: (at.room.sex_policy == SexPolicy::SameAsOccupants)
                            .then(|| night_key(at.room.id, *night)),
                    });
                }
            }
            Candidate {
                path,
                cost,
                uses,
                facility_nights: per_facility.into_iter().collect(),
            }
        })
        .collect();
    Prepared { beds, candidates }
}

/// The fair share of one facility: the nights requested in the batch over `k` facilities.
fn fair_share(instance: &Instance, k: usize) -> f64 {
    let requested: u32 = instance.requests.iter().map(|r| r.nights.len()).sum();
    f64::from(requested) / k as f64
}

/// Load term of chosen stays: `load_over_share · Σ_f max(0, nights_f - S)`.
fn load_term(instance: &Instance, k: usize, loads: &BTreeMap<usize, f64>) -> f64 {
    let w = &instance.weights;
    if k == 0 || w.load_over_share == 0.0 {
        return 0.0;
    }
    let share = fair_share(instance, k);
    w.load_over_share * loads.values().map(|&l| (l - share).max(0.0)).sum::<f64>()
}

/// The model's objective at a choice (`choice[r]`: candidate index or unplaced).
fn objective_at(
    instance: &Instance,
    prepared: &[Prepared],
    choice: &[Option<usize>],
    k: usize,
) -> f64 {
    let w = &instance.weights;
    let mut total = 0.0;
    let mut loads: BTreeMap<usize, f64> = BTreeMap::new();
    for ((r, p), c) in instance.requests.iter().zip(prepared).zip(choice) {
        match c {
            None => total += unplaced_cost(w, r),
            Some(s) => {
                let cand = &p.candidates[*s];
                total += cand.cost;
                for &(f, nights) in &cand.facility_nights {
                    *loads.entry(f).or_default() += f64::from(nights);
                }
            }
        }
    }
    total + load_term(instance, k, &loads)
}

/// Requests by urgency, each taking its cheapest candidate that clashes with nothing taken
/// so far: HiGHS's first incumbent, so a time limit always leaves a good plan.
fn greedy_choice(instance: &Instance, prepared: &[Prepared]) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..instance.requests.len()).collect();
    order.sort_by_key(|&r| std::cmp::Reverse(instance.requests[r].urgency));
    let mut used: IdSet<u64> = IdSet::default();
    let mut room_sexes: IdMap<u64, Sexes> = IdMap::default();
    let mut choice = vec![None; prepared.len()];
    for r in order {
        let sex = instance.requests[r].needs.sex;
        let mut by_cost: Vec<usize> = (0..prepared[r].candidates.len()).collect();
        by_cost.sort_by(|&a, &b| {
            prepared[r].candidates[a]
                .cost
                .total_cmp(&prepared[r].candidates[b].cost)
        });
        for s in by_cost {
            let cand = &prepared[r].candidates[s];
            let ok = cand.uses.iter().all(|u| {
                !used.contains(&u.bed_night)
                    && u.shared_room_night.is_none_or(|rn| {
                        !room_sexes
                            .get(&rn)
                            .is_some_and(|x| x.has(super::rules::other(sex)))
                    })
            });
            if ok {
                for u in &cand.uses {
                    used.insert(u.bed_night);
                    if let Some(rn) = u.shared_room_night {
                        let e = room_sexes.entry(rn).or_default();
                        *e = e.with(sex);
                    }
                }
                choice[r] = Some(s);
                break;
            }
        }
    }
    choice
}

/// [`place`] with explicit settings.
pub fn place_with(instance: &Instance, options: PlaceOptions) -> Result<Solution, PlaceError> {
    let started = Instant::now();
    let problems = check_instance(instance);
    if !problems.is_empty() {
        return Err(PlaceError::InvalidInstance(problems));
    }
    let span = instance
        .requests
        .iter()
        .map(|r| r.nights)
        .reduce(|a, b| Nights::new(a.from.min(b.from), a.to.max(b.to)));
    let Some(span) = span else {
        return Ok(Solution {
            placements: Vec::new(),
            status: SolveStatus::Optimal,
            objective: 0.0,
            bound: 0.0,
            gap: 0.0,
            seconds: started.elapsed().as_secs_f64(),
        });
    };
    let index = Index::within(instance, span);
    let facility_pos: IdMap<FacilityId, usize> = instance
        .facilities
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id, i))
        .collect();
    let k = fair_share_facilities(&index);
    let mut prepared: Vec<Prepared> = instance
        .requests
        .iter()
        .map(|r| prepare(&index, &facility_pos, r, &options))
        .collect();

    let (choice, status, bound) = if instance.requests.len() == 1 {
        // Nothing competes: evaluate every candidate exactly.
        let mut best = (None, objective_at(instance, &prepared, &[None], k));
        for s in 0..prepared[0].candidates.len() {
            let v = objective_at(instance, &prepared, &[Some(s)], k);
            if v < best.1 {
                best = (Some(s), v);
            }
        }
        (vec![best.0], SolveStatus::Optimal, best.1)
    } else {
        prune_dominated(instance, &mut prepared);
        solve_model(instance, &prepared, k, &options, started)?
    };

    let objective = objective_at(instance, &prepared, &choice, k);
    let bound = bound.min(objective);
    let gap = if objective.abs() < 1e-9 {
        0.0
    } else {
        ((objective - bound) / objective.abs()).max(0.0)
    };
    let placements = instance
        .requests
        .iter()
        .zip(&prepared)
        .zip(&choice)
        .map(|((r, p), c)| match c {
            Some(s) => Placement {
                request: r.id,
                segments: to_segments(&p.beds, r, &p.candidates[*s].path),
                unplaced_reason: None,
            },
            None => Placement {
                request: r.id,
                segments: Vec::new(),
                unplaced_reason: Some(if p.candidates.is_empty() {
                    why_unplaceable(r, &p.beds, instance.max_transfers)
                } else {
                    Text::new(
                        "条件に合う空きベッドはこの一括配置の他の依頼に割り当てた",
                        "every fitting free bed went to other requests of this batch",
                    )
                }),
            },
        })
        .collect();
    Ok(Solution {
        placements,
        status,
        objective,
        bound,
        gap,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Drops candidates that cannot be needed: when two candidates of one request are both
/// *uncontested* (no other request has a candidate on any of their bed-nights, and none of
/// their shared room-nights could see both sexes) and spend the same nights at the same
/// facilities, the dearer one can always be swapped for the cheaper one without touching
/// anybody else or the load term. The optimum over the candidates is unchanged; the model
/// loses most of the columns nobody competes for.
fn prune_dominated(instance: &Instance, prepared: &mut [Prepared]) {
    let mut users: IdMap<u64, (usize, bool)> = IdMap::default();
    let mut room_sexes: IdMap<u64, Sexes> = IdMap::default();
    for (r, p) in prepared.iter().enumerate() {
        let sex = instance.requests[r].needs.sex;
        for c in &p.candidates {
            for us in &c.uses {
                let e = users.entry(us.bed_night).or_insert((r, false));
                if e.0 != r {
                    e.1 = true;
                }
                if let Some(rn) = us.shared_room_night {
                    let e = room_sexes.entry(rn).or_default();
                    *e = e.with(sex);
                }
            }
        }
    }
    let contested = |c: &Candidate| {
        c.uses.iter().any(|us| {
            users.get(&us.bed_night).is_some_and(|&(_, shared)| shared)
                || us.shared_room_night.is_some_and(|rn| {
                    room_sexes
                        .get(&rn)
                        .is_some_and(|s| s.has(Sex::Male) && s.has(Sex::Female))
                })
        })
    };
    for p in prepared.iter_mut() {
        let mut cheapest: BTreeMap<Vec<(usize, u32)>, (f64, usize)> = BTreeMap::new();
        let free: Vec<bool> = p.candidates.iter().map(|c| !contested(c)).collect();
        for (s, c) in p.candidates.iter().enumerate() {
            if free[s] {
                let e = cheapest
                    .entry(c.facility_nights.clone())
                    .or_insert((c.cost, s));
                if c.cost < e.0 {
                    *e = (c.cost, s);
                }
            }
        }
        let keep: IdSet<usize> = cheapest.values().map(|&(_, s)| s).collect();
        let mut s = 0;
        p.candidates.retain(|_| {
            let k = !free[s] || keep.contains(&s);
            s += 1;
            k
        });
    }
}

type Choice = (Vec<Option<usize>>, SolveStatus, f64);

/// A model variable and its HiGHS column (good_lp keeps the column index private; columns
/// are numbered in the order variables are added).
#[derive(Clone, Copy)]
struct Col {
    var: Variable,
    at: usize,
}

fn add(vars: &mut ProblemVariables, def: VariableDefinition) -> Col {
    let at = vars.len();
    Col {
        var: vars.add(def),
        at,
    }
}

fn solve_model(
    instance: &Instance,
    prepared: &[Prepared],
    k: usize,
    options: &PlaceOptions,
    started: Instant,
) -> Result<Choice, PlaceError> {
    let w = &instance.weights;
    let mut vars = ProblemVariables::new();
    let mut objective = Expression::default();
    let mut rows = Vec::new();

    // x columns first, request by request: x[r][s] is column first_x[r] + s.
    let mut x: Vec<Vec<Col>> = Vec::with_capacity(prepared.len());
    for p in prepared {
        let xs: Vec<Col> = p
            .candidates
            .iter()
            .map(|c| {
                let v = add(&mut vars, variable().binary());
                objective.add_mul(c.cost, v.var);
                v
            })
            .collect();
        x.push(xs);
    }
    let mut u = Vec::with_capacity(prepared.len());
    for (r, xs) in instance.requests.iter().zip(&x) {
        let ur = add(&mut vars, variable().min(0.0).max(1.0));
        objective.add_mul(unplaced_cost(w, r), ur.var);
        let mut e = Expression::from(ur.var);
        for v in xs {
            e.add_mul(1.0, v.var);
        }
        rows.push(e.eq(1.0));
        u.push(ur);
    }

    // Who could use each bed-night, and which shared room-nights see both sexes.
    let mut bed_nights: BTreeMap<u64, Vec<(usize, usize)>> = BTreeMap::new();
    let mut room_nights: IdMap<u64, Sexes> = IdMap::default();
    let mut bed_room_night: IdMap<u64, u64> = IdMap::default();
    for (r, p) in prepared.iter().enumerate() {
        let sex = instance.requests[r].needs.sex;
        for (s, c) in p.candidates.iter().enumerate() {
            for us in &c.uses {
                bed_nights.entry(us.bed_night).or_default().push((r, s));
                if let Some(rn) = us.shared_room_night {
                    let e = room_nights.entry(rn).or_default();
                    *e = e.with(sex);
                    bed_room_night.insert(us.bed_night, rn);
                }
            }
        }
    }
    let mut contested: BTreeMap<u64, Col> = BTreeMap::new();
    let mut contested_keys: Vec<u64> = room_nights
        .iter()
        .filter(|(_, s)| s.has(Sex::Male) && s.has(Sex::Female))
        .map(|(&k, _)| k)
        .collect();
    contested_keys.sort_unstable();
    for key in contested_keys {
        contested.insert(key, add(&mut vars, variable().binary()));
    }
    for (bn, users) in &bed_nights {
        let z = bed_room_night.get(bn).and_then(|rn| contested.get(rn));
        if let Some(&z) = z {
            let mut men = Expression::default();
            let mut women = Expression::default();
            let (mut any_men, mut any_women) = (false, false);
            for &(r, s) in users {
                if instance.requests[r].needs.sex == Sex::Male {
                    men.add_mul(1.0, x[r][s].var);
                    any_men = true;
                } else {
                    women.add_mul(1.0, x[r][s].var);
                    any_women = true;
                }
            }
            if any_men {
                men.add_mul(-1.0, z.var);
                rows.push(men.leq(0.0));
            }
            if any_women {
                women.add_mul(1.0, z.var);
                rows.push(women.leq(1.0));
            }
        } else if users.windows(2).any(|p| p[0].0 != p[1].0) {
            let mut e = Expression::with_capacity(users.len());
            for &(r, s) in users {
                e.add_mul(1.0, x[r][s].var);
            }
            rows.push(e.leq(1.0));
        }
    }

    // Load over the fair share S = (nights requested in the batch) / K, a constant.
    let mut load_columns: Vec<(usize, Col)> = Vec::new();
    if k > 0 && w.load_over_share > 0.0 {
        let share = fair_share(instance, k);
        let mut per_facility: BTreeMap<usize, Expression> = BTreeMap::new();
        for (r, p) in prepared.iter().enumerate() {
            for (s, c) in p.candidates.iter().enumerate() {
                for &(f, nights) in &c.facility_nights {
                    per_facility
                        .entry(f)
                        .or_default()
                        .add_mul(f64::from(nights), x[r][s].var);
                }
            }
        }
        for (f, load) in per_facility {
            let excess = add(&mut vars, variable().min(0.0));
            load_columns.push((f, excess));
            objective.add_mul(w.load_over_share, excess.var);
            // excess >= load - S
            let mut e = Expression::from(excess.var);
            e.add_mul(-1.0, load);
            rows.push(e.geq(-share));
        }
    }

    let columns = vars.len();
    let start = greedy_choice(instance, prepared);
    let start_columns = start_columns(
        instance,
        prepared,
        &start,
        Columns {
            x: &x,
            u: &u,
            contested: &contested,
            load: &load_columns,
            count: columns,
        },
        k,
    );

    let mut problem = vars.minimise(objective).using(highs);
    for row in rows {
        problem.add_constraint(row);
    }
    // good_lp's own `solve` keeps neither the dual bound nor the gap, so the HiGHS model
    // is taken over and run here; its info values give both.
    let mut model = problem
        .try_into_inner()
        .map_err(|e| PlaceError::Solver(e.to_string()))?;
    let option_error = |name: &str| PlaceError::Solver(format!("HiGHS rejected option {name}"));
    let remaining = (options.time_limit_seconds - started.elapsed().as_secs_f64()).max(0.01);
    model
        .try_set_option("time_limit", remaining)
        .map_err(|_| option_error("time_limit"))?;
    model
        .try_set_option("mip_rel_gap", options.mip_gap.max(0.0))
        .map_err(|_| option_error("mip_rel_gap"))?;
    model
        .try_set_option("mip_abs_gap", 1e-6)
        .map_err(|_| option_error("mip_abs_gap"))?;
    if let Some(threads) = options.threads {
        model
            .try_set_option("threads", threads as i32)
            .map_err(|_| option_error("threads"))?;
    }
    let _ = model.try_set_solution(Some(&start_columns), None, None, None);
    let solved = model.try_solve().map_err(|e| {
        PlaceError::Solver(format!(
            "HiGHS failed ({e:?}); if `threads` changed between solves, use one value per process"
        ))
    })?;
    // The status enum lives in the `highs` crate, which good_lp does not re-export: its
    // Debug name is what is reachable.
    let status = format!("{:?}", solved.status());
    let feasible = solved.int_info_value(c"primal_solution_status") == Ok(2);
    match status.as_str() {
        "ModelEmpty" => return Ok((vec![None; prepared.len()], SolveStatus::Optimal, 0.0)),
        "Optimal"
        | "ReachedTimeLimit"
        | "ReachedIterationLimit"
        | "ReachedSolutionLimit"
        | "ReachedInterrupt"
        | "ReachedMemoryLimit"
        | "ObjectiveBound"
        | "ObjectiveTarget" => {}
        other => {
            return Err(PlaceError::Solver(format!(
                "HiGHS ended with status {other}"
            )))
        }
    }
    let bound = solved
        .double_info_value(c"mip_dual_bound")
        .unwrap_or(f64::NEG_INFINITY);
    let solve_status = if status == "Optimal" {
        SolveStatus::Optimal
    } else {
        SolveStatus::TimeLimit
    };
    if !feasible {
        // No incumbent at all (HiGHS refused the start): the greedy choice is valid.
        return Ok((start, SolveStatus::TimeLimit, bound));
    }
    let solution = solved.get_solution();
    let cols = solution.columns();
    let choice = x
        .iter()
        .map(|xs| xs.iter().position(|v| cols[v.at] > 0.5))
        .collect();
    Ok((choice, solve_status, bound))
}

/// The model's columns, for [`start_columns`].
struct Columns<'c> {
    x: &'c [Vec<Col>],
    u: &'c [Col],
    contested: &'c BTreeMap<u64, Col>,
    load: &'c [(usize, Col)],
    count: usize,
}

/// Column values of a choice, for HiGHS's start (every row holds at these values).
fn start_columns(
    instance: &Instance,
    prepared: &[Prepared],
    choice: &[Option<usize>],
    columns: Columns,
    k: usize,
) -> Vec<f64> {
    let mut col = vec![0.0; columns.count];
    let mut loads: BTreeMap<usize, f64> = BTreeMap::new();
    for (r, c) in choice.iter().enumerate() {
        match c {
            None => col[columns.u[r].at] = 1.0,
            Some(s) => {
                col[columns.x[r][*s].at] = 1.0;
                let cand = &prepared[r].candidates[*s];
                if instance.requests[r].needs.sex == Sex::Male {
                    for us in &cand.uses {
                        if let Some(z) = us
                            .shared_room_night
                            .and_then(|rn| columns.contested.get(&rn))
                        {
                            col[z.at] = 1.0;
                        }
                    }
                }
                for &(f, n) in &cand.facility_nights {
                    *loads.entry(f).or_default() += f64::from(n);
                }
            }
        }
    }
    let share = fair_share(instance, k.max(1));
    for (f, e) in columns.load {
        let load = loads.get(f).copied().unwrap_or(0.0);
        col[e.at] = (load - share).max(0.0);
    }
    col
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::score::cost;
    use crate::placement::search::tests::{bed, d, request, taken, town};
    use crate::placement::validate::validate;

    fn assert_sound(inst: &Instance, sol: &Solution) {
        let report = validate(inst, &sol.placements);
        assert!(report.is_valid(), "{:?}", report.violations);
        let c = cost(inst, &sol.placements);
        assert!(
            (sol.objective - c).abs() < 1e-6,
            "objective {} vs cost {}",
            sol.objective,
            c
        );
        assert_eq!(sol.placements.len(), inst.requests.len());
        for (p, r) in sol.placements.iter().zip(&inst.requests) {
            assert_eq!(p.request, r.id);
            assert_eq!(p.segments.is_empty(), p.unplaced_reason.is_some());
        }
    }

    #[test]
    fn community_beds_are_preferred_and_the_result_is_optimal() {
        let mut inst = town();
        inst.requests = vec![
            request(1, Sex::Female, d(5, 1), d(5, 4)),
            request(2, Sex::Male, d(5, 2), d(5, 5)),
            request(3, Sex::Female, d(5, 1), d(5, 3)),
        ];
        let sol = place(&inst).unwrap();
        assert_sound(&inst, &sol);
        assert_eq!(sol.status, SolveStatus::Optimal);
        assert!(sol.gap < 1e-6, "gap {}", sol.gap);
        // Six community beds for three people: nobody in the hub room.
        for p in &sol.placements {
            assert!(!p.segments.is_empty());
            assert!(p.segments.iter().all(|s| s.bed != 100), "{p:?}");
        }
    }

    #[test]
    fn shared_rooms_stay_single_sex_and_beds_are_never_double_booked() {
        // Only the shared room 20 (beds 200, 201) and the hub bed: a man and a woman on the
        // same nights cannot both be in room 20.
        let mut inst = town();
        inst.facilities.retain(|f| f.id <= 2);
        inst.rooms.retain(|r| r.id == 10 || r.id == 20);
        inst.beds.retain(|b| [100, 200, 201].contains(&b.id));
        inst.requests = vec![
            request(1, Sex::Female, d(5, 1), d(5, 4)),
            request(2, Sex::Male, d(5, 1), d(5, 4)),
            request(3, Sex::Female, d(5, 2), d(5, 3)),
        ];
        let sol = place(&inst).unwrap();
        assert_sound(&inst, &sol);
        assert_eq!(sol.status, SolveStatus::Optimal);
        // The two women share room 20, the man goes to the hub.
        let bed_of = |id: usize| sol.placements[id].segments[0].bed;
        assert_eq!(bed_of(1), 100);
        assert!([200, 201].contains(&bed_of(0)) && [200, 201].contains(&bed_of(2)));
        assert_ne!(bed_of(0), bed_of(2));
    }

    #[test]
    fn existing_occupants_keep_their_room_single_sex() {
        let mut inst = town();
        inst.taken = taken(200, d(5, 1), d(5, 10), Some(Sex::Male));
        inst.requests = vec![
            request(1, Sex::Female, d(5, 1), d(5, 4)),
            request(2, Sex::Female, d(5, 1), d(5, 4)),
        ];
        let sol = place(&inst).unwrap();
        assert_sound(&inst, &sol);
        for p in &sol.placements {
            assert!(p.segments.iter().all(|s| s.bed != 201));
        }
    }

    #[test]
    fn unplaceable_requests_say_why_and_urgent_ones_win() {
        let mut inst = town();
        // Only bed 300 (wheelchair) and the hub bed fit wheelchair users; three of them.
        let mut a = request(1, Sex::Male, d(5, 1), d(5, 3));
        a.needs.wheelchair = true;
        a.urgency = 1;
        let mut b = a.clone();
        b.id = 2;
        b.urgency = 5;
        let mut c = a.clone();
        c.id = 3;
        c.urgency = 4;
        let mut child = request(4, Sex::Male, d(5, 1), d(5, 2));
        child.needs.child = true;
        inst.requests = vec![a, b, c, child];
        let sol = place(&inst).unwrap();
        assert_sound(&inst, &sol);
        assert!(sol.placements[0].segments.is_empty());
        assert!(!sol.placements[1].segments.is_empty());
        assert!(!sol.placements[2].segments.is_empty());
        assert_eq!(
            sol.placements[0].unplaced_reason.as_ref().unwrap().en,
            "every fitting free bed went to other requests of this batch"
        );
        assert_eq!(
            sol.placements[3].unplaced_reason.as_ref().unwrap().en,
            "no facility has a bed that fits the needs"
        );
    }

    #[test]
    fn a_split_stay_is_used_when_no_bed_is_free_throughout() {
        let mut inst = town();
        inst.facilities.retain(|f| f.id != 1);
        inst.rooms.retain(|r| r.facility != 1);
        inst.beds.retain(|b| b.room != 10);
        let mut t = Vec::new();
        t.extend(taken(200, d(5, 4), d(5, 8), None));
        t.extend(taken(201, d(5, 1), d(5, 8), None));
        t.extend(taken(210, d(5, 1), d(5, 3), None));
        t.extend(taken(300, d(5, 1), d(5, 8), None));
        inst.taken = t;
        inst.requests = vec![
            request(1, Sex::Female, d(5, 1), d(5, 8)),
            request(2, Sex::Male, d(5, 9), d(5, 10)),
        ];
        let sol = place(&inst).unwrap();
        assert_sound(&inst, &sol);
        assert_eq!(sol.placements[0].segments.len(), 2);
        // And with one request only (the short cut): the same stay.
        inst.requests.truncate(1);
        let one = place(&inst).unwrap();
        assert_sound(&inst, &one);
        assert_eq!(one.placements[0].segments, sol.placements[0].segments);
    }

    #[test]
    fn invalid_instances_are_refused() {
        let mut inst = town();
        inst.beds.push(bed(999, 77, false));
        inst.requests = vec![
            request(1, Sex::Male, d(5, 1), d(5, 2)),
            request(1, Sex::Male, d(5, 2), d(5, 2)),
        ];
        let Err(PlaceError::InvalidInstance(why)) = place(&inst) else {
            panic!("accepted")
        };
        assert_eq!(why.len(), 3, "{why:?}");
    }

    #[test]
    fn generated_batches_are_valid_and_beat_greedy() {
        for seed in [1, 2, 3] {
            let inst = crate::placement::generate::instance(120, 21, 60, seed);
            let sol = place(&inst).unwrap();
            assert_sound(&inst, &sol);
            assert_eq!(sol.status, SolveStatus::Optimal, "seed {seed}");
            let greedy = crate::placement::greedy::place(&inst);
            let report = validate(&inst, &greedy);
            assert!(report.is_valid(), "greedy: {:?}", report.violations);
            let g = cost(&inst, &greedy);
            assert!(
                sol.objective <= g + 1e-6,
                "seed {seed}: milp {} greedy {g}",
                sol.objective
            );
        }
    }

    #[test]
    fn the_same_input_gives_the_same_placements() {
        let inst = crate::placement::generate::instance(80, 14, 30, 7);
        let a = place(&inst).unwrap();
        let b = place(&inst).unwrap();
        assert_eq!(a.placements, b.placements);
    }
}
