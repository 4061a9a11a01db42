//! Level 2: exact start times, rooms and optional attendance for the meetings level 1 put on
//! one day. A depth-first branch and bound over (venue, start time) per meeting, the room
//! within the venue taken by best fit (the smallest free suitable room; the published one
//! when the meeting stays put). Required attendees and rooms are hard (one place at a time,
//! travel between venues); the cost is the time-dependent part of the soft goals: starts
//! outside the preferred window, moves against the published time or room, and optional
//! invitees who are busy elsewhere.
//!
//! Meetings that share nobody are independent except for rooms, so the day is split into
//! groups of meetings linked by a common invitee and each group is searched on its own,
//! rooms booked by earlier groups taken as given. When a group cannot be placed, a deletion
//! filter shrinks it to a small set of meetings that cannot all happen that day: level 1
//! gets it as a cut.

use std::collections::{BTreeMap, BTreeSet};

use super::level1::Cut;
use super::prepare::{in_window, Prepared};
use crate::schedule::model::{PersonId, Pin, RoomId, VenueId};
use crate::schedule::rules;

/// Search budget per group (nodes); beyond it the best plan found so far is kept.
const NODE_LIMIT: u64 = 50_000;
/// Budget of each feasibility probe while shrinking a conflict.
const PROBE_LIMIT: u64 = 20_000;

pub(crate) struct Placed {
    pub series: usize,
    pub candidate: usize,
    pub room: RoomId,
    pub start: u32,
    pub attendees: Vec<PersonId>,
}

pub(crate) enum DayResult {
    /// `costs` holds a `Cut::Cost` for each group of meetings whose time-dependent cost,
    /// proven minimal for the group alone, exceeds what their dates alone force.
    Placed {
        meetings: Vec<Placed>,
        costs: Vec<Cut>,
    },
    /// `proven` when the meetings were shown not to fit (not just not found to fit).
    Conflict { cut: Cut, proven: bool },
}

/// Places the meetings `(series, candidate)` of one day. In a `hurry` (time is up) each
/// search gets a smaller budget.
pub(crate) fn schedule_day(prep: &Prepared, meetings: &[(usize, usize)], hurry: bool) -> DayResult {
    let budget = Budget::place(prep, if hurry { PROBE_LIMIT } else { NODE_LIMIT });
    let all: Vec<Meeting> = meetings.iter().map(|&m| Meeting::new(prep, m)).collect();
    let groups = groups(&all);
    // Rooms that are some meeting's only room: others take them last.
    let reserved: BTreeSet<RoomId> = all
        .iter()
        .filter_map(|m| match &m.venues[..] {
            [(_, rooms)] if rooms.len() == 1 => Some(rooms[0]),
            _ => None,
        })
        .collect();
    let mut rooms = Bookings::default();
    let mut placed: Vec<Option<(Opt, Vec<PersonId>)>> = vec![None; all.len()];
    let mut costs = Vec::new();
    for group in &groups {
        match search(prep, &all, group, &rooms, &reserved, budget) {
            Found::Best(best, _) => {
                let forced: f64 = group.iter().map(|&m| all[m].date_cost).sum();
                if best.cost > forced + 1e-6 {
                    costs.extend(group_cost(prep, &all, group, &reserved, forced));
                }
                for (&m, (opt, attendees)) in group.iter().zip(best.assignment) {
                    rooms.add(opt.room, opt.start, opt.end);
                    placed[m] = Some((opt, attendees));
                }
            }
            Found::None(_) => {
                // Try the group with rooms free: if it still fails, the group itself is the
                // conflict; otherwise rooms are short that day and every meeting takes part.
                let none = Bookings::default();
                let alone = search(prep, &all, group, &none, &reserved, Budget::probe());
                let suspects: Vec<usize> = match alone {
                    Found::Best(..) => (0..all.len()).collect(),
                    Found::None(_) => group.clone(),
                };
                if suspects.len() == all.len() {
                    // One search over the whole day may still fit everything: the cheapest
                    // placement, else any (the shortcuts of the first may have missed it).
                    let everyone: Vec<usize> = (0..all.len()).collect();
                    let found = match search(prep, &all, &everyone, &none, &reserved, budget) {
                        Found::None(_) => {
                            search(prep, &all, &everyone, &none, &reserved, Budget::probe())
                        }
                        found => found,
                    };
                    if let Found::Best(best, _) = found {
                        let meetings = everyone
                            .iter()
                            .zip(best.assignment)
                            .map(|(&m, (opt, attendees))| placed_of(&all[m], opt, attendees))
                            .collect();
                        return DayResult::Placed { meetings, costs };
                    }
                }
                let (core, proven) = shrink(prep, &all, suspects, &reserved);
                return DayResult::Conflict {
                    cut: Cut::Apart(core.iter().map(|&m| all[m].key).collect()),
                    proven,
                };
            }
        }
    }
    let meetings = all
        .iter()
        .zip(placed)
        .map(|(m, p)| {
            let (opt, attendees) = p.expect("every group placed");
            placed_of(m, opt, attendees)
        })
        .collect();
    DayResult::Placed { meetings, costs }
}

/// A `Cut::Cost` for `group` when its least time-dependent cost on its own (rooms free, so
/// it holds whatever else meets that day) is proven and exceeds what the dates force.
/// Optional invitees who cannot come count net of the weekly load level 1 charged them.
fn group_cost(
    prep: &Prepared,
    all: &[Meeting],
    group: &[usize],
    reserved: &BTreeSet<RoomId>,
    forced: f64,
) -> Option<Cut> {
    let w = prep.instance.weights;
    let credit = if w.weekly_load <= w.optional_missed {
        w.weekly_load
    } else {
        0.0
    };
    let net = Budget {
        nodes: NODE_LIMIT,
        optimize: true,
        miss_weight: w.optional_missed - credit,
        complete: true,
    };
    let none = Bookings::default();
    let Found::Best(best, true) = search(prep, all, group, &none, reserved, net) else {
        return None;
    };
    let cost = best.cost - forced;
    (cost > 1e-6).then(|| Cut::Cost {
        meetings: group.iter().map(|&m| all[m].key).collect(),
        cost,
    })
}

fn placed_of(m: &Meeting, opt: Opt, attendees: Vec<PersonId>) -> Placed {
    Placed {
        series: m.key.0,
        candidate: m.key.1,
        room: opt.room,
        start: opt.start,
        attendees,
    }
}

/// Deletion filter: drop each meeting whose absence still leaves the rest unplaceable.
/// Returns the remaining core and whether its infeasibility was proven.
fn shrink(
    prep: &Prepared,
    all: &[Meeting],
    mut core: Vec<usize>,
    reserved: &BTreeSet<RoomId>,
) -> (Vec<usize>, bool) {
    let none = Bookings::default();
    let proven = matches!(
        search(prep, all, &core, &none, reserved, Budget::probe()),
        Found::None(true)
    );
    let mut i = 0;
    while i < core.len() && core.len() > 1 {
        let mut rest = core.clone();
        rest.remove(i);
        match search(prep, all, &rest, &none, reserved, Budget::probe()) {
            Found::None(true) => core = rest,
            _ => i += 1,
        }
    }
    (core, proven)
}

/// Groups of meetings linked by a common invitee (required or available optional).
fn groups(all: &[Meeting]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..all.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first: BTreeMap<PersonId, usize> = BTreeMap::new();
    for (i, m) in all.iter().enumerate() {
        for p in m.required.iter().chain(&m.optional) {
            match first.get(p) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a.max(b)] = a.min(b);
                }
                None => {
                    first.insert(*p, i);
                }
            }
        }
    }
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..all.len() {
        let r = root(&mut parent, i);
        by_root.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = by_root.into_values().collect();
    // Least flexible groups first (then larger ones): they get the first pick of rooms.
    let choices = |m: &Meeting| m.starts.len() * m.venues.len();
    groups.sort_by_key(|g| {
        let tightest = g.iter().map(|&m| choices(&all[m])).min().unwrap_or(0);
        (tightest, std::cmp::Reverse(g.len()), g[0])
    });
    groups
}

/// One meeting to place.
struct Meeting {
    key: (usize, usize),
    duration: u32,
    required: Vec<PersonId>,
    /// Optional invitees available that day.
    optional: Vec<PersonId>,
    /// Start times with their cost before a room is chosen, cheapest then earliest first.
    starts: Vec<(u32, f64)>,
    /// Venues in the order tried (the published one first), each with its suitable rooms
    /// in best-fit order (smallest capacity first).
    venues: Vec<(VenueId, Vec<RoomId>)>,
    /// Per venue (as in `venues`), the start times its hours allow that day: venues open at
    /// different hours, so a start of `starts` is not good everywhere.
    venue_starts: Vec<BTreeSet<u32>>,
    /// The published room and start this meeting would keep (not for full pins).
    published: Option<(RoomId, u32)>,
    change: f64,
    /// A lower bound on the meeting's cost.
    floor: f64,
    /// The start-time cost its date alone forces (no preferred start possible that day).
    date_cost: f64,
}

impl Meeting {
    fn new(prep: &Prepared, (s, c): (usize, usize)) -> Meeting {
        let data = &prep.series[s];
        let cand = &data.candidates[c];
        let w = prep.instance.weights;
        let published = prep
            .published
            .iter()
            .find(|p| p.series == Some(s) && p.day == cand.day)
            .map(|p| (p.pin, &prep.instance.published[p.index].occurrence));
        let start_cost = |t: u32| match data.series.preferred_start {
            Some(pref) if !in_window(pref, t) => w.start_time,
            _ => 0.0,
        };
        let mut venues: Vec<(VenueId, Vec<RoomId>)> = Vec::new();
        let mut starts: BTreeSet<u32> = BTreeSet::new();
        let mut starts_at: BTreeMap<VenueId, BTreeSet<u32>> = BTreeMap::new();
        let mut kept = None;
        match published {
            Some((Pin::Full, o)) => {
                let venue = prep.ix.rooms.get(&o.room).map_or(0, |r| r.venue);
                venues.push((venue, vec![o.room]));
                starts.insert(rules::minutes(o.start));
                starts_at.insert(venue, [rules::minutes(o.start)].into());
            }
            _ => {
                if let Some((_, o)) = published {
                    kept = Some((o.room, rules::minutes(o.start)));
                }
                let mut by_fit: Vec<(u32, RoomId, usize)> = cand
                    .rooms
                    .iter()
                    .map(|&r| (data.rooms[r].capacity, data.rooms[r].id, r))
                    .collect();
                by_fit.sort();
                for (_, id, r) in by_fit {
                    let venue = data.rooms[r].venue;
                    match venues.iter_mut().find(|(v, _)| *v == venue) {
                        Some((_, rooms)) => rooms.push(id),
                        None => {
                            // Rooms of one venue share its hours, hence its start times.
                            let at: BTreeSet<u32> =
                                data.starts(&prep.ix, r, cand.date).into_iter().collect();
                            starts.extend(at.iter().copied());
                            starts_at.insert(venue, at);
                            venues.push((venue, vec![id]));
                        }
                    }
                }
                venues.sort_by_key(|(v, _)| *v);
                if let Some(kept_venue) = kept
                    .and_then(|(r, _)| prep.ix.rooms.get(&r))
                    .map(|r| r.venue)
                {
                    if let Some(i) = venues.iter().position(|(v, _)| *v == kept_venue) {
                        let published_venue = venues.remove(i);
                        venues.insert(0, published_venue);
                    }
                }
            }
        }
        let change = if kept.is_some() { w.change } else { 0.0 };
        // A start other than the published one is a change whatever the room.
        let mut starts: Vec<(u32, f64)> = starts
            .into_iter()
            .map(|t| {
                let moved = kept.is_some_and(|(_, k)| k != t);
                (t, start_cost(t) + if moved { change } else { 0.0 })
            })
            .collect();
        starts.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let floor = starts.first().map_or(0.0, |s| s.1);
        let venue_starts = venues
            .iter()
            .map(|(v, _)| starts_at.remove(v).unwrap_or_default())
            .collect();
        Meeting {
            venue_starts,
            key: (s, c),
            duration: data.duration(),
            required: data.required.clone(),
            optional: data
                .optional
                .iter()
                .copied()
                .filter(|p| prep.ix.person_available(*p, cand.date))
                .collect(),
            starts,
            venues,
            published: kept,
            change,
            floor,
            date_cost: if cand.no_preferred_start {
                w.start_time
            } else {
                0.0
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Opt {
    room: RoomId,
    venue: VenueId,
    start: u32,
    end: u32,
    cost: f64,
}

/// Busy intervals per room.
#[derive(Default, Clone)]
struct Bookings(BTreeMap<RoomId, Vec<(u32, u32)>>);

impl Bookings {
    fn free(&self, room: RoomId, start: u32, end: u32) -> bool {
        self.0
            .get(&room)
            .is_none_or(|b| b.iter().all(|&(s, e)| end <= s || e <= start))
    }
    fn add(&mut self, room: RoomId, start: u32, end: u32) {
        self.0.entry(room).or_default().push((start, end));
    }
    fn remove_last(&mut self, room: RoomId) {
        if let Some(b) = self.0.get_mut(&room) {
            b.pop();
        }
    }
}

struct Best {
    cost: f64,
    /// Per meeting of the group (in the group's order): its option and attendees.
    assignment: Vec<(Opt, Vec<PersonId>)>,
}

enum Found {
    /// The best plan found; `true` when the search finished (so it is optimal).
    Best(Best, bool),
    /// Nothing found; `true` when the search finished (so nothing exists).
    None(bool),
}

/// How far a search goes and what it minimises.
#[derive(Debug, Clone, Copy)]
struct Budget {
    nodes: u64,
    /// False: stop at the first plan (a feasibility probe).
    optimize: bool,
    /// Cost of an optional invitee who cannot come.
    miss_weight: f64,
    /// Try every venue and room, so that "nothing found" and "best found" are proofs.
    complete: bool,
}

impl Budget {
    fn place(prep: &Prepared, nodes: u64) -> Budget {
        Budget {
            nodes,
            optimize: true,
            miss_weight: prep.instance.weights.optional_missed,
            complete: false,
        }
    }

    fn probe() -> Budget {
        Budget {
            nodes: PROBE_LIMIT,
            optimize: false,
            miss_weight: 0.0,
            complete: true,
        }
    }
}

/// Branch and bound over the meetings `group` of `all`, rooms in `rooms` already taken.
fn search(
    prep: &Prepared,
    all: &[Meeting],
    group: &[usize],
    rooms: &Bookings,
    reserved: &BTreeSet<RoomId>,
    budget: Budget,
) -> Found {
    let floor: f64 = group.iter().map(|&m| all[m].floor).sum();
    // Venues a meeting may want to share: those of the nearly fixed meetings (a few venues
    // at most) of the same people.
    let anchors = group
        .iter()
        .map(|&m| {
            let mut venues = BTreeSet::new();
            for &o in group {
                let other = &all[o];
                if o != m
                    && other.venues.len() <= 3
                    && other.required.iter().any(|p| all[m].required.contains(p))
                {
                    venues.extend(other.venues.iter().map(|(v, _)| *v));
                }
            }
            venues
        })
        .collect();
    // The meetings held by others that the group's people attend that day keep them busy
    // like the group's own meetings do.
    let mut people: BTreeMap<PersonId, Vec<(u32, u32, VenueId)>> = BTreeMap::new();
    if let Some(&first) = group.first() {
        let (s, c) = all[first].key;
        let date = prep.series[s].candidates[c].date;
        for &m in group {
            for p in all[m].required.iter().chain(&all[m].optional) {
                let held = prep.ix.held_by_others(*p, date);
                if !held.is_empty() {
                    people.entry(*p).or_insert_with(|| held.to_vec());
                }
            }
        }
    }
    let mut state = Search {
        prep,
        all,
        group,
        anchors,
        floor,
        rooms: rooms.clone(),
        reserved,
        people,
        choice: vec![None; group.len()],
        best: None,
        nodes: 0,
        budget,
    };
    let finished = state.dfs(0.0);
    match state.best {
        Some(best) => Found::Best(best, finished),
        None => Found::None(finished),
    }
}

struct Search<'p, 'a, 'm> {
    prep: &'p Prepared<'a>,
    all: &'m [Meeting],
    group: &'m [usize],
    /// Per meeting of the group, venues worth trying on their own (see `venue_options`).
    anchors: Vec<BTreeSet<VenueId>>,
    /// The sum of the meetings' own floors: no plan costs less.
    floor: f64,
    rooms: Bookings,
    reserved: &'m BTreeSet<RoomId>,
    people: BTreeMap<PersonId, Vec<(u32, u32, VenueId)>>,
    choice: Vec<Option<Opt>>,
    best: Option<Best>,
    nodes: u64,
    budget: Budget,
}

impl Search<'_, '_, '_> {
    /// Depth-first with forward checking: at each node every unplaced meeting's options are
    /// filtered against what is booked, which detects dead ends early and gives a bound (the
    /// sum of their cheapest options); the meeting with the fewest cheapest options goes
    /// next. Returns false when stopped by the node limit.
    fn dfs(&mut self, cost: f64) -> bool {
        if self.choice.iter().all(Option::is_some) {
            self.leaf(cost);
            return true;
        }
        self.nodes += 1;
        if self.nodes > self.budget.nodes {
            return false;
        }
        let mut bound = cost;
        let mut next: Option<(usize, Vec<Opt>, (usize, usize))> = None;
        for i in 0..self.group.len() {
            if self.choice[i].is_some() {
                continue;
            }
            let opts = self.options(i);
            let Some(cheapest) = opts.first().map(|o| o.cost) else {
                return true;
            };
            bound += cheapest;
            let key = (
                opts.iter()
                    .take_while(|o| o.cost <= cheapest + 1e-9)
                    .count(),
                opts.len(),
            );
            if next.as_ref().is_none_or(|n| key < n.2) {
                next = Some((i, opts, key));
            }
        }
        if let Some(best) = &self.best {
            if !self.budget.optimize || bound >= best.cost - 1e-9 {
                return true;
            }
        }
        let Some((i, opts, _)) = next else {
            return true;
        };
        let m = &self.all[self.group[i]];
        for opt in opts {
            self.book(m, opt);
            self.choice[i] = Some(opt);
            let complete = self.dfs(cost + opt.cost);
            self.choice[i] = None;
            self.unbook(m, opt);
            if !complete {
                return false;
            }
            if let Some(best) = &self.best {
                // Nothing beats the floor; a first plan is enough when only probing.
                if !self.budget.optimize || best.cost <= self.floor + 1e-9 {
                    return true;
                }
            }
        }
        true
    }

    /// The placements of the group's `i`-th meeting still possible, cheapest then earliest
    /// first.
    fn options(&self, i: usize) -> Vec<Opt> {
        let m = &self.all[self.group[i]];
        let mut out = Vec::new();
        for &(start, start_cost) in &m.starts {
            let end = start + m.duration;
            for (venue, room) in self.venue_options(i, start, end) {
                // The published room at the published start is no change; another room is.
                let change = match m.published {
                    Some((kept, t)) if t == start && kept != room => m.change,
                    _ => 0.0,
                };
                out.push(Opt {
                    room,
                    venue,
                    start,
                    end,
                    cost: start_cost + change,
                });
            }
        }
        // Stable: equal costs keep the start order.
        out.sort_by(|a, b| a.cost.total_cmp(&b.cost));
        out
    }

    /// Where the group's `i`-th meeting could go at `start`: one venue per kind of place.
    /// Venues where its people already are today, or where their nearly fixed meetings
    /// may be, count on their own (meeting there saves travel) and come first; any other
    /// venues with the same travel times to those are taken as interchangeable, so only the
    /// first with a free room is tried. Each comes with its room (see `room_for`). These
    /// shortcuts lose completeness (a room or venue left to others could matter later), so
    /// searches that must prove something (`Budget::complete`) try every venue and room.
    fn venue_options(&self, i: usize, start: u32, end: u32) -> Vec<(VenueId, RoomId)> {
        let m = &self.all[self.group[i]];
        let mut relevant = self.anchors[i].clone();
        for p in &m.required {
            for b in self.people.get(p).into_iter().flatten() {
                relevant.insert(b.2);
            }
        }
        let mut seen: Vec<Vec<u32>> = Vec::new();
        let (mut near, mut far) = (Vec::new(), Vec::new());
        for ((venue, rooms), allowed) in m.venues.iter().zip(&m.venue_starts) {
            if !allowed.contains(&start) || !self.people_free(m, *venue, start, end) {
                continue;
            }
            if self.budget.complete {
                // Proofs try every venue and room.
                let free = rooms.iter().filter(|r| self.rooms.free(**r, start, end));
                near.extend(free.map(|r| (*venue, *r)));
                continue;
            }
            let Some(room) = self.room_for(m, rooms, start, end) else {
                continue;
            };
            if relevant.contains(venue) {
                near.push((*venue, room));
                continue;
            }
            let travel: Vec<u32> = relevant
                .iter()
                .map(|u| self.prep.ix.travel_minutes(*venue, *u))
                .collect();
            if !seen.contains(&travel) {
                seen.push(travel);
                far.push((*venue, room));
            }
        }
        near.extend(far);
        near
    }

    fn people_free(&self, m: &Meeting, venue: VenueId, start: u32, end: u32) -> bool {
        m.required.iter().all(|p| {
            self.people.get(p).is_none_or(|busy| {
                busy.iter()
                    .all(|b| apart(self.prep, (start, end, venue), *b))
            })
        })
    }

    /// The published room when it is free and the meeting keeps its start, else the
    /// smallest free suitable room of the venue.
    fn room_for(&self, m: &Meeting, rooms: &[RoomId], start: u32, end: u32) -> Option<RoomId> {
        if let Some((room, t)) = m.published {
            if t == start && rooms.contains(&room) && self.rooms.free(room, start, end) {
                return Some(room);
            }
        }
        // Rooms someone else can only use go last.
        let free = |r: &&RoomId| self.rooms.free(**r, start, end);
        let (open, reserved): (Vec<&RoomId>, Vec<&RoomId>) =
            rooms.iter().partition(|r| !self.reserved.contains(r));
        open.into_iter()
            .find(free)
            .or_else(|| reserved.into_iter().find(free))
            .copied()
    }

    fn book(&mut self, m: &Meeting, o: Opt) {
        self.rooms.add(o.room, o.start, o.end);
        for p in &m.required {
            self.people
                .entry(*p)
                .or_default()
                .push((o.start, o.end, o.venue));
        }
    }

    fn unbook(&mut self, m: &Meeting, o: Opt) {
        self.rooms.remove_last(o.room);
        for p in &m.required {
            if let Some(b) = self.people.get_mut(p) {
                b.pop();
            }
        }
    }

    /// A complete placement: settle optional attendance and keep it if it is the best.
    fn leaf(&mut self, cost: f64) {
        let opts: Vec<Opt> = self.choice.iter().map(|o| o.expect("placed")).collect();
        let mut attendees: Vec<Vec<PersonId>> = self
            .group
            .iter()
            .map(|&m| self.all[m].required.clone())
            .collect();
        let mut missed = 0usize;
        let mut invited: BTreeMap<PersonId, Vec<usize>> = BTreeMap::new();
        for (i, &m) in self.group.iter().enumerate() {
            for p in &self.all[m].optional {
                invited.entry(*p).or_default().push(i);
            }
        }
        for (p, meetings) in invited {
            let busy: Vec<(u32, u32, VenueId)> = self.people.get(&p).cloned().unwrap_or_default();
            // Only meetings within their working hours.
            let date = self.prep.series[self.all[self.group[0]].key.0].candidates
                [self.all[self.group[0]].key.1]
                .date;
            let invited = meetings.len();
            let meetings: Vec<usize> = meetings
                .into_iter()
                .filter(|&i| {
                    self.prep
                        .ix
                        .within_hours(p, date, opts[i].start, opts[i].end)
                })
                .collect();
            let attend = best_attendance(self.prep, &busy, &meetings, &opts);
            missed += invited - attend.len();
            for i in attend {
                attendees[i].push(p);
            }
        }
        let total = cost + self.budget.miss_weight * missed as f64;
        if self.best.as_ref().is_none_or(|b| total < b.cost - 1e-9) {
            let assignment = opts
                .into_iter()
                .zip(attendees)
                .map(|(o, mut a)| {
                    a.sort();
                    (o, a)
                })
                .collect();
            self.best = Some(Best {
                cost: total,
                assignment,
            });
        }
    }
}

/// Two stays, (start, end, venue), leave time to travel from one to the other.
fn apart(prep: &Prepared, a: (u32, u32, VenueId), b: (u32, u32, VenueId)) -> bool {
    a.1 + prep.ix.travel_minutes(a.2, b.2) <= b.0 || b.1 + prep.ix.travel_minutes(b.2, a.2) <= a.0
}

/// The largest set of `meetings` (indices into `opts`) an optional invitee can attend
/// around their fixed commitments `busy`: exact for up to 12 meetings, else greedy by end.
fn best_attendance(
    prep: &Prepared,
    busy: &[(u32, u32, VenueId)],
    meetings: &[usize],
    opts: &[Opt],
) -> Vec<usize> {
    let stay = |i: usize| (opts[i].start, opts[i].end, opts[i].venue);
    let usable: Vec<usize> = meetings
        .iter()
        .copied()
        .filter(|&i| busy.iter().all(|b| apart(prep, stay(i), *b)))
        .collect();
    let compatible = |set: &[usize]| {
        set.iter()
            .enumerate()
            .all(|(k, &a)| set[k + 1..].iter().all(|&b| apart(prep, stay(a), stay(b))))
    };
    if compatible(&usable) {
        return usable;
    }
    if usable.len() <= 12 {
        let mut best: Vec<usize> = Vec::new();
        for mask in 1u32..(1 << usable.len()) {
            if mask.count_ones() as usize <= best.len() {
                continue;
            }
            let set: Vec<usize> = (0..usable.len())
                .filter(|b| mask & (1 << b) != 0)
                .map(|b| usable[b])
                .collect();
            if compatible(&set) {
                best = set;
            }
        }
        return best;
    }
    let mut by_end = usable;
    by_end.sort_by_key(|&i| (opts[i].end, i));
    let mut chosen: Vec<usize> = Vec::new();
    for i in by_end {
        if chosen.iter().all(|&c| apart(prep, stay(i), stay(c))) {
            chosen.push(i);
        }
    }
    chosen.sort();
    chosen
}
