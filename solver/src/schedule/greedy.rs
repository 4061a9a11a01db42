//! The baseline (基準の計画): a plan built the way a careful coordinator would, then polished
//! by moving one meeting, then two meetings, at a time. It is the fallback when the optimizer
//! has no better plan and the optimizer's starting point, so it has to be a plan people would
//! publish.
//!
//! 1. **Keep what is published.** Pinned occurrences stay as they are; unpinned published
//!    occurrences are kept on their date, time and room wherever the rules still allow.
//! 2. **Spread each series over its windows.** Series are taken in precedence order (a
//!    meeting that needs an earlier one comes after it), the least flexible first. Each
//!    missing occurrence goes to the day, start and room with the least added soft cost:
//!    distance to the ideal dates the spacing goal uses, weekday, start window, optional
//!    invitees who cannot come, each person's weekly load. Hard rules are checked as it goes
//!    (rooms, people and travel, working hours, gaps, precedence, lead time, months,
//!    availability), and nobody gets more than [`DAILY_CAP`] meetings a day while another day
//!    will do. Where only the earlier meeting a precedence needs is missing (a subcommittee
//!    that may skip a month still precedes the plenary), it is added first.
//! 3. **Count targets** ([`Instance::targets`]) get extra occurrences, cheapest first, where
//!    the cadence maxima allow.
//! 4. **Polish.** Every movable occurrence is taken out and put back at its best place
//!    (another day of its window, time or room) while that lowers the exact soft cost, for a
//!    bounded number of passes: deterministic, no clock involved.
//! 5. **Move pairs.** Where one meeting alone cannot move without costing more than it saves
//!    (two councils of the same members both want the middle of the month, two yearly
//!    duties of one person the same week), two occurrences that share a person are taken out
//!    together and put back at their best places, in both orders; kept where the exact cost
//!    falls. Partners are the meetings in the weeks where the first one would be cheaper;
//!    the dearest occurrences go first, within a budget of tries that shrinks as the plan
//!    grows ([`PAIR_WORK`]), then one more polish. On the demo's year this takes the
//!    baseline from 11.9 % to 3.7 % above the optimum.
//!
//! The baseline does not look ahead, so on a tight instance it may still miss a count, a gap
//! or a precedence; the validator then says so and the optimizer's plan is used.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, Duration};

use super::milp::prepare::{check_instance, Day, Prepared};
use super::model::*;
use super::rules;
use super::score::ideal_offset_in_family;
use super::targets;

/// Meetings per person and day the baseline plans before it accepts more.
pub const DAILY_CAP: u32 = 3;
/// Polishing passes over all occurrences.
const PASSES: usize = 8;
/// Pairs of occurrences tried together (see `State::pair_moves`), the most promising first,
/// at most this divided by the number of occurrences (a try costs more where more meet): on
/// the demo's year the gains end after about 100 tries; 2,000 meetings get 600, about half a
/// second, where all that gain would take ten times as long for a few per cent more.
const PAIR_WORK: usize = 1_200_000;

pub fn plan(instance: &Instance) -> Vec<Occurrence> {
    plan_within(instance, None)
}

/// [`plan`], with the pair moves (step 5) stopped at `deadline`: a planning run whose whole
/// time limit is shorter than the baseline's own work keeps its limit. Without a deadline, or
/// with one that does not bind, the same plan as [`plan`].
pub fn plan_within(instance: &Instance, deadline: Option<std::time::Instant>) -> Vec<Occurrence> {
    if !check_instance(instance).is_empty() {
        return Vec::new();
    }
    let prep = Prepared::new(instance);
    let mut state = State::new(&prep);
    state.keep_published();
    for s in state.order() {
        state.fill_series(s);
    }
    state.fill_targets();
    state.polish(PASSES);
    if state.pair_moves(PASSES, deadline) {
        state.polish(PASSES);
    }
    let mut out = state.occurrences();
    renumber(&mut out);
    out
}

/// Sets each occurrence's index to its rank by date within its series.
pub fn renumber(occurrences: &mut [Occurrence]) {
    occurrences.sort_by_key(|o| (o.series, o.date, o.start));
    let mut current = None;
    let mut next = 0;
    for o in occurrences.iter_mut() {
        if current != Some(o.series) {
            current = Some(o.series);
            next = 0;
        }
        o.index = next;
        next += 1;
    }
}

/// Start times (minutes from midnight) of one series in one room on one weekday, shared.
type StartTimes = std::rc::Rc<[u32]>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fixed {
    /// May move to any day of its window.
    No,
    /// Keeps its date (published, `Pin::Date`).
    Date,
    /// Keeps date, time and room (published, `Pin::Full`).
    Full,
}

#[derive(Debug, Clone)]
struct Booking {
    series: usize,
    day: Day,
    /// Candidate index; `None` only for a full pin on a day the series can no longer use.
    candidate: Option<usize>,
    start: u32,
    end: u32,
    room: RoomId,
    venue: VenueId,
    attendees: Vec<PersonId>,
    fixed: Fixed,
}

/// A start time and room for a meeting on one day, with its time-dependent cost.
#[derive(Debug, Clone)]
struct Choice {
    start: u32,
    room: RoomId,
    venue: VenueId,
    attendees: Vec<PersonId>,
    cost: f64,
}

struct State<'p, 'a> {
    prep: &'p Prepared<'a>,
    w: Weights,
    bookings: Vec<Option<Booking>>,
    by_day: Vec<Vec<usize>>,
    /// Per series, its bookings' (day, booking) sorted by day.
    of_series: Vec<Vec<(Day, usize)>>,
    /// Meetings per (person, week) and (person, day).
    week: HashMap<(PersonId, i64), u32>,
    daily: HashMap<(PersonId, Day), u32>,
    /// Meetings and minutes per (person, day) where the person is required, against
    /// `limits` (the people's own daily limits, hard).
    required_daily: HashMap<(PersonId, Day), (u32, u32)>,
    limits: HashMap<PersonId, (Option<u32>, Option<u32>)>,
    /// Wanted count per (series, window).
    wanted: Vec<Vec<u32>>,
    /// Start times per series, (room index, weekday), filled when first asked.
    starts: Vec<HashMap<(usize, u32), StartTimes>>,
    /// Per series, its preferred start window in minutes.
    preferred: Vec<Option<(u32, u32)>>,
    /// Series positions that must come before / after others.
    afters: Vec<Vec<(usize, u32, u32)>>,
    befores: Vec<Vec<(usize, u32, u32)>>,
    /// Published (start, room) per (series, day) inside the period.
    published: HashMap<(usize, Day), (u32, RoomId)>,
    cap: u32,
}

impl<'p, 'a> State<'p, 'a> {
    fn new(prep: &'p Prepared<'a>) -> Self {
        let n = prep.series.len();
        // befores[a]: (before series, min, max) that each occurrence of a needs;
        // afters[b]: (after series, min, max) that rely on b.
        let mut befores = vec![Vec::new(); n];
        let mut afters = vec![Vec::new(); n];
        for p in &prep.instance.precedences {
            if let (Some(&b), Some(&a)) =
                (prep.position.get(&p.before), prep.position.get(&p.after))
            {
                befores[a].push((b, p.min_days, p.max_days));
                afters[b].push((a, p.min_days, p.max_days));
            }
        }
        State {
            prep,
            w: prep.instance.weights,
            bookings: Vec::new(),
            by_day: vec![Vec::new(); prep.days as usize],
            of_series: vec![Vec::new(); n],
            week: HashMap::new(),
            daily: HashMap::new(),
            required_daily: HashMap::new(),
            limits: prep
                .instance
                .people
                .iter()
                .filter(|p| p.max_meetings_per_day.is_some() || p.max_minutes_per_day.is_some())
                .map(|p| (p.id, (p.max_meetings_per_day, p.max_minutes_per_day)))
                .collect(),
            wanted: prep
                .series
                .iter()
                .map(|s| s.windows.iter().map(|w| w.min).collect())
                .collect(),
            starts: vec![HashMap::new(); n],
            preferred: prep
                .series
                .iter()
                .map(|s| {
                    s.series
                        .preferred_start
                        .map(|w| (rules::minutes(w.from), rules::minutes(w.to)))
                })
                .collect(),
            afters,
            befores,
            published: prep
                .published
                .iter()
                .filter_map(|p| {
                    let o = &prep.instance.published[p.index].occurrence;
                    Some(((p.series?, p.day), (rules::minutes(o.start), o.room)))
                })
                .collect(),
            cap: DAILY_CAP,
        }
    }

    fn week_of(&self, day: Day) -> i64 {
        let date = self.prep.date(day);
        i64::from(day) - i64::from(date.weekday().num_days_from_monday())
    }

    // ----- bookings -------------------------------------------------------------------

    fn add(&mut self, b: Booking) -> usize {
        let id = self.bookings.len();
        self.bookings.push(None);
        self.restore(id, b);
        id
    }

    /// Puts booking `b` in slot `id` (empty, as left by [`Self::remove`]).
    fn restore(&mut self, id: usize, b: Booking) {
        debug_assert!(self.bookings[id].is_none());
        let week = self.week_of(b.day);
        for p in &b.attendees {
            *self.week.entry((*p, week)).or_default() += 1;
            *self.daily.entry((*p, b.day)).or_default() += 1;
        }
        let minutes = b.end - b.start;
        for p in &self.prep.series[b.series].required {
            // Only the people with limits are counted (most instances have none).
            if self.limits.contains_key(p) {
                let e = self.required_daily.entry((*p, b.day)).or_default();
                e.0 += 1;
                e.1 += minutes;
            }
        }
        self.by_day[b.day as usize].push(id);
        let list = &mut self.of_series[b.series];
        let at = list.partition_point(|(d, _)| *d <= b.day);
        list.insert(at, (b.day, id));
        self.bookings[id] = Some(b);
    }

    fn remove(&mut self, id: usize) -> Booking {
        let b = self.bookings[id].take().expect("booking present");
        let week = self.week_of(b.day);
        for p in &b.attendees {
            if let Some(n) = self.week.get_mut(&(*p, week)) {
                *n -= 1;
            }
            if let Some(n) = self.daily.get_mut(&(*p, b.day)) {
                *n -= 1;
            }
        }
        for p in &self.prep.series[b.series].required {
            if let Some(e) = self.required_daily.get_mut(&(*p, b.day)) {
                e.0 -= 1;
                e.1 -= b.end - b.start;
            }
        }
        self.by_day[b.day as usize].retain(|x| *x != id);
        self.of_series[b.series].retain(|(_, x)| *x != id);
        b
    }

    fn occurrences(&self) -> Vec<Occurrence> {
        self.bookings
            .iter()
            .flatten()
            .map(|b| {
                let data = &self.prep.series[b.series];
                let start = rules::time_of(b.start);
                Occurrence {
                    series: data.series.id,
                    index: 0,
                    date: self.prep.date(b.day),
                    start,
                    end: start + Duration::minutes(i64::from(data.duration())),
                    room: b.room,
                    attendees: b.attendees.clone(),
                }
            })
            .collect()
    }

    // ----- what may go where ----------------------------------------------------------

    /// Start times of series `s` in its room `r` on `day` (cached by weekday: hours depend
    /// on the weekday once the venue is open).
    fn start_times(&mut self, s: usize, r: usize, day: Day) -> StartTimes {
        let date = self.prep.date(day);
        let key = (r, date.weekday().num_days_from_monday());
        let prep = self.prep;
        self.starts[s]
            .entry(key)
            .or_insert_with(|| prep.series[s].starts(&prep.ix, r, date).into())
            .clone()
    }

    fn load_cost(&self, p: PersonId, day: Day) -> f64 {
        let n = self.week.get(&(p, self.week_of(day))).copied().unwrap_or(0);
        if n >= 1 {
            self.w.weekly_load
        } else {
            0.0
        }
    }

    /// The cheapest start and room for series `s` on its candidate `c`, people and rooms
    /// as booked now; `exact` limits it to one start and room (a kept occurrence).
    fn choose(&mut self, s: usize, c: usize, exact: Option<(u32, RoomId)>) -> Option<Choice> {
        let prep = self.prep;
        let data = &prep.series[s];
        let cand = &data.candidates[c];
        let day = cand.day;
        let dur = data.duration();
        let w = self.w;
        // The published occurrence of this series on this day, kept exactly, saves a change.
        let published = self.published.get(&(s, day)).copied();
        let capped =
            |st: &Self, p: PersonId| st.daily.get(&(p, day)).copied().unwrap_or(0) >= st.cap;
        if data.required.iter().any(|p| capped(self, *p)) {
            return None;
        }
        // The people's own daily limits hold even where the cap is lifted.
        let over_limit = |p: &PersonId| {
            let Some((max_n, max_minutes)) = self.limits.get(p) else {
                return false;
            };
            let (n, minutes) = self
                .required_daily
                .get(&(*p, day))
                .copied()
                .unwrap_or((0, 0));
            max_n.is_some_and(|m| n + 1 > m) || max_minutes.is_some_and(|m| minutes + dur > m)
        };
        if data.required.iter().any(over_limit) {
            return None;
        }
        let required_load: f64 = data.required.iter().map(|p| self.load_cost(*p, day)).sum();
        // Per optional invitee, what does not depend on the start: free that day at all (and
        // within which of their hours), and the weekly load they would add.
        let optional: Vec<(PersonId, Option<(u32, u32)>, f64)> = data
            .optional
            .iter()
            .map(|&p| {
                let hours = (prep.ix.person_available(p, cand.date) && !capped(self, p))
                    .then(|| {
                        let person = prep.ix.people.get(&p)?;
                        match &person.hours {
                            None => Some((0, u32::MAX)),
                            Some(h) => h
                                .hours_on(cand.date.weekday())
                                .map(|(open, close)| (rules::minutes(open), rules::minutes(close))),
                        }
                    })
                    .flatten();
                (p, hours, self.load_cost(p, day))
            })
            .collect();
        // Rooms by best fit (smallest capacity first), then id.
        let mut rooms: Vec<usize> = cand.rooms.clone();
        rooms.sort_by_key(|&r| (data.rooms[r].capacity, data.rooms[r].id));
        let starts: Vec<(usize, StartTimes)> = rooms
            .iter()
            .filter(|&&r| exact.is_none_or(|(_, er)| er == data.rooms[r].id))
            .map(|&r| (r, self.start_times(s, r, day)))
            .collect();
        // The day's other bookings, each with whether it holds a required invitee.
        let today: Vec<(&Booking, bool)> = self.by_day[day as usize]
            .iter()
            .map(|&id| {
                let b = self.bookings[id].as_ref().expect("live booking");
                (b, b.attendees.iter().any(|p| data.required.contains(p)))
            })
            .collect();
        // `p` (every required invitee when `None`) can be at `venue` from `t` to `end`.
        let free = |p: Option<PersonId>, t: u32, end: u32, venue: VenueId| {
            today.iter().all(|(b, required)| {
                let involved = match p {
                    None => *required,
                    Some(p) => b.attendees.contains(&p),
                };
                if !involved {
                    return true;
                }
                let travel = prep.ix.travel_minutes(b.venue, venue);
                end + travel <= b.start || b.end + travel <= t
            })
        };
        let room_free = |room: RoomId, t: u32, end: u32| {
            today
                .iter()
                .all(|(b, _)| b.room != room || end <= b.start || b.end <= t)
        };
        // No choice costs less than this: every optional invitee who could come does.
        let floor = required_load
            + optional
                .iter()
                .map(|&(_, hours, load)| {
                    if hours.is_some() && load <= w.optional_missed {
                        load
                    } else {
                        w.optional_missed
                    }
                })
                .sum::<f64>()
            - if published.is_some() { w.change } else { 0.0 };
        let mut best: Option<Choice> = None;
        let preferred = self.preferred[s];
        for (r, times) in starts {
            if best.as_ref().is_some_and(|b| b.cost <= floor + 1e-9) {
                break;
            }
            let room = data.rooms[r];
            for &t in times.iter() {
                if exact.is_some_and(|(et, _)| et != t) {
                    continue;
                }
                let mut cost = required_load;
                if let Some((from, to)) = preferred {
                    if t < from || t >= to {
                        cost += w.start_time;
                    }
                }
                if published.is_some_and(|k| k == (t, room.id)) {
                    cost -= w.change;
                }
                if best.as_ref().is_some_and(|b| b.cost <= cost) {
                    continue;
                }
                let end = t + dur;
                if !room_free(room.id, t, end) || !free(None, t, end, room.venue) {
                    continue;
                }
                let mut attendees = data.required.clone();
                for &(p, hours, load) in &optional {
                    let can = hours.is_some_and(|(open, close)| open <= t && end <= close)
                        && load <= w.optional_missed
                        && free(Some(p), t, end, room.venue)
                        && prep.ix.free_of_held(p, cand.date, t, end, room.venue);
                    if can {
                        attendees.push(p);
                        cost += load;
                    } else {
                        cost += w.optional_missed;
                    }
                }
                if best.as_ref().is_none_or(|b| cost < b.cost) {
                    best = Some(Choice {
                        start: t,
                        room: room.id,
                        venue: room.venue,
                        attendees,
                        cost,
                    });
                }
            }
        }
        best
    }

    /// Hard rules between occurrences of one series and across precedences, for series `s`
    /// meeting on `day` with its other bookings as they are.
    fn day_allowed(&self, s: usize, day: Day) -> bool {
        let prep = self.prep;
        let data = &prep.series[s];
        let cadence = &data.series.cadence;
        let date = prep.date(day);
        let mut dates: Vec<chrono::NaiveDate> = self.of_series[s]
            .iter()
            .map(|(d, _)| prep.date(*d))
            .chain(data.outside.iter().copied())
            .collect();
        if dates.contains(&date) {
            return false;
        }
        let min_gap = i64::from(cadence.min_gap_days.unwrap_or(1).max(1));
        if dates.iter().any(|d| (*d - date).num_days().abs() < min_gap) {
            return false;
        }
        if let Some(max_gap) = cadence.max_gap_days {
            dates.push(date);
            dates.sort();
            let i = dates.binary_search(&date).expect("just inserted");
            let ok = |a: usize, b: usize| (dates[b] - dates[a]).num_days() <= i64::from(max_gap);
            if (i > 0 && !ok(i - 1, i)) || (i + 1 < dates.len() && !ok(i, i + 1)) {
                return false;
            }
        }
        // Its own earlier meetings.
        for &(b, min, max) in &self.befores[s] {
            if !self.covered(b, date, min, max) {
                return false;
            }
        }
        true
    }

    /// Series `b` meets between `max` and `min` days before `date` (booked or published
    /// outside the period).
    fn covered(&self, b: usize, date: chrono::NaiveDate, min: u32, max: u32) -> bool {
        let lo = date - Duration::days(i64::from(max));
        let hi = date - Duration::days(i64::from(min));
        let prep = self.prep;
        self.of_series[b]
            .iter()
            .map(|(d, _)| prep.date(*d))
            .chain(prep.series[b].outside.iter().copied())
            .any(|d| lo <= d && d <= hi)
    }

    /// Every occurrence that relies on series `s` (precedence) is still covered.
    fn dependants_covered(&self, s: usize) -> bool {
        let prep = self.prep;
        self.afters[s].iter().all(|&(a, min, max)| {
            self.of_series[a]
                .iter()
                .all(|(d, _)| self.covered(s, prep.date(*d), min, max))
        })
    }

    // ----- costs ------------------------------------------------------------------------

    /// The spacing cost of window `wi` of series `s` holding `days`, when it is to hold
    /// `n`: the least order-keeping match of the days to the n ideal dates (the sorted
    /// matching of `score` when all n are there).
    fn spacing(&self, s: usize, wi: usize, days: &[Day], n: u32) -> f64 {
        if self.w.spacing == 0.0 || days.is_empty() {
            return 0.0;
        }
        let prep = self.prep;
        let window = &prep.series[s].windows[wi];
        let len = (window.range.to - window.range.from).num_days() + 1;
        let from = super::milp::prepare::day_of(prep.instance, window.range.from);
        let n = n.max(days.len() as u32) as usize;
        let offs: Vec<f64> = days.iter().map(|d| f64::from(*d - from)).collect();
        let slot = prep.ix.family_slot(prep.series[s].series.id);
        let ideal: Vec<f64> = (0..n as u32)
            .map(|k| ideal_offset_in_family(k, n as u32, len, slot))
            .collect();
        let m = offs.len();
        if m == n {
            return self.w.spacing
                * offs
                    .iter()
                    .zip(&ideal)
                    .map(|(a, b)| (a - b).abs())
                    .sum::<f64>();
        }
        // best[j]: cost of matching the first i days into the first j ideals.
        let mut prev = vec![0.0f64; n + 1];
        for (i, off) in offs.iter().enumerate() {
            let mut cur = vec![f64::INFINITY; n + 1];
            for j in (i + 1)..=n {
                let take = prev[j - 1] + (off - ideal[j - 1]).abs();
                cur[j] = cur[j - 1].min(take);
            }
            prev = cur;
        }
        self.w.spacing * prev[n]
    }

    fn window_days(&self, s: usize, wi: usize) -> Vec<Day> {
        let data = &self.prep.series[s];
        let range = data.windows[wi].range;
        self.of_series[s]
            .iter()
            .map(|(d, _)| *d)
            .filter(|d| range.contains(self.prep.date(*d)))
            .collect()
    }

    fn day_cost(&self, s: usize, c: usize) -> f64 {
        let cand = &self.prep.series[s].candidates[c];
        if cand.off_weekday {
            self.w.weekday
        } else {
            0.0
        }
    }

    /// The cheapest new occurrence of series `s` in window `wi` (to hold `n`): candidate,
    /// choice and added cost. `fixed_day` restricts it to one day.
    fn best_in_window(
        &mut self,
        s: usize,
        wi: usize,
        n: u32,
        only_day: Option<Day>,
    ) -> Option<(usize, Choice, f64)> {
        let range = self.prep.series[s].window_candidates(wi);
        let mut days = self.window_days(s, wi);
        let base = self.spacing(s, wi, &days, n);
        // What the date alone costs (spacing and weekday; the rest is >= 0 except the
        // refund of a kept published occurrence), cheapest first: the search stops once no
        // day left can beat the best found.
        let mut by_floor: Vec<(f64, usize)> = Vec::new();
        for c in range {
            let day = self.prep.series[s].candidates[c].day;
            if only_day.is_some_and(|d| d != day) || !self.day_allowed(s, day) {
                continue;
            }
            let at = days.partition_point(|d| *d < day);
            days.insert(at, day);
            let spacing = self.spacing(s, wi, &days, n) - base;
            days.remove(at);
            let refund = if self.published_on(s, day) {
                self.w.change
            } else {
                0.0
            };
            by_floor.push((spacing + self.day_cost(s, c) - refund, c));
        }
        by_floor.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut best: Option<(usize, Choice, f64)> = None;
        for (floor, c) in by_floor {
            if best.as_ref().is_some_and(|b| floor >= b.2 - 1e-9) {
                break;
            }
            let Some(choice) = self.choose(s, c, None) else {
                continue;
            };
            let day = self.prep.series[s].candidates[c].day;
            let refund = if self.published_on(s, day) {
                self.w.change
            } else {
                0.0
            };
            let total = floor + refund + choice.cost;
            if best.as_ref().is_none_or(|b| total < b.2 - 1e-9) {
                best = Some((c, choice, total));
            }
        }
        best
    }

    /// Series `s` has a published occurrence on `day` (keeping it exactly saves a change).
    fn published_on(&self, s: usize, day: Day) -> bool {
        self.published.contains_key(&(s, day))
    }

    fn book(&mut self, s: usize, c: usize, choice: Choice, fixed: Fixed) -> usize {
        let day = self.prep.series[s].candidates[c].day;
        self.add(Booking {
            series: s,
            day,
            candidate: Some(c),
            start: choice.start,
            end: choice.start + self.prep.series[s].duration(),
            room: choice.room,
            venue: choice.venue,
            attendees: choice.attendees,
            fixed,
        })
    }

    // ----- the steps --------------------------------------------------------------------

    /// Pinned occurrences as they are; unpinned and date-pinned ones on their date, at
    /// their time and room where still possible.
    fn keep_published(&mut self) {
        let prep = self.prep;
        let mut order: Vec<usize> = (0..prep.published.len()).collect();
        // Full pins first, then date pins, then the rest.
        order.sort_by_key(|&i| match prep.published[i].pin {
            Pin::Full => 0,
            Pin::Date => 1,
            Pin::None => 2,
        });
        for i in order {
            let p = &prep.published[i];
            let Some(s) = p.series else { continue };
            let o = &prep.instance.published[p.index].occurrence;
            if p.pin == Pin::Full {
                let venue = prep.ix.rooms.get(&o.room).map_or(0, |r| r.venue);
                let attendees = o
                    .attendees
                    .iter()
                    .copied()
                    .filter(|a| {
                        prep.series[s].required.contains(a) || prep.series[s].optional.contains(a)
                    })
                    .collect();
                self.add(Booking {
                    series: s,
                    day: p.day,
                    candidate: p.candidate,
                    start: rules::minutes(o.start),
                    end: rules::minutes(o.start) + prep.series[s].duration(),
                    room: o.room,
                    venue,
                    attendees,
                    fixed: Fixed::Full,
                });
                continue;
            }
            let Some(c) = p.candidate else { continue };
            let fixed = if p.pin == Pin::Date {
                Fixed::Date
            } else {
                Fixed::No
            };
            let wi = prep.series[s].candidates[c].window;
            let already = self.window_days(s, wi).len() as u32;
            if fixed == Fixed::No
                && (already >= prep.series[s].windows[wi].max || !self.day_allowed(s, p.day))
            {
                continue;
            }
            let exact = (rules::minutes(o.start), o.room);
            let choice = self
                .choose(s, c, Some(exact))
                .or_else(|| self.choose(s, c, None));
            match choice {
                Some(choice) => {
                    self.book(s, c, choice, fixed);
                }
                None if fixed == Fixed::Date => {
                    // Keep the date even over the daily cap.
                    if let Some(choice) = self.uncapped(|st| st.choose(s, c, None)) {
                        self.book(s, c, choice, fixed);
                    }
                }
                None => {}
            }
        }
    }

    /// `f` with the daily cap lifted.
    fn uncapped<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let cap = std::mem::replace(&mut self.cap, u32::MAX);
        let out = f(self);
        self.cap = cap;
        out
    }

    /// Series in precedence order (a series after those it needs), least flexible first.
    fn order(&self) -> Vec<usize> {
        let n = self.prep.series.len();
        let slack = |s: usize| {
            let data = &self.prep.series[s];
            let need: u32 = data.windows.iter().map(|w| w.min).sum();
            (data.candidates.len() as f64 / f64::from(need.max(1)), s)
        };
        let mut depth = vec![0usize; n];
        // Longest chain of befores (precedence graphs are small and acyclic in practice;
        // n rounds bound it when not).
        for _ in 0..n.min(16) {
            let mut changed = false;
            for a in 0..n {
                for &(b, _, _) in &self.befores[a] {
                    if depth[a] < depth[b] + 1 {
                        depth[a] = depth[b] + 1;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            depth[a]
                .cmp(&depth[b])
                .then(slack(a).0.total_cmp(&slack(b).0))
                .then(a.cmp(&b))
        });
        order
    }

    /// Each window of series `s` up to its wanted count.
    fn fill_series(&mut self, s: usize) {
        for wi in 0..self.prep.series[s].windows.len() {
            let n = self.wanted[s][wi];
            while (self.window_days(s, wi).len() as u32) < n {
                // Over the daily cap rather than not at all.
                let found = self
                    .best_in_window(s, wi, n, None)
                    .or_else(|| self.uncapped(|st| st.best_in_window(s, wi, n, None)));
                match found {
                    Some((c, choice, _)) => {
                        self.book(s, c, choice, Fixed::No);
                    }
                    // Maybe only an earlier meeting it needs is missing (a series that may
                    // skip a month still has to precede the plenary).
                    None if self.place_with_befores(s, wi, n) => {}
                    None => break,
                }
            }
        }
    }

    /// Places one occurrence of series `s` in window `wi` (to hold `n`) together with the
    /// extra occurrences of the series it needs before it (precedence), where their
    /// cadence maxima allow: the first day, by spacing, where that works.
    fn place_with_befores(&mut self, s: usize, wi: usize, n: u32) -> bool {
        let prep = self.prep;
        if self.befores[s].is_empty() {
            return false;
        }
        let mut days = self.window_days(s, wi);
        let base = self.spacing(s, wi, &days, n);
        let mut order: Vec<(f64, usize)> = Vec::new();
        for c in prep.series[s].window_candidates(wi) {
            let day = prep.series[s].candidates[c].day;
            let at = days.partition_point(|d| *d < day);
            days.insert(at, day);
            order.push((self.spacing(s, wi, &days, n) - base, c));
            days.remove(at);
        }
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (_, c) in order {
            let date = prep.series[s].candidates[c].date;
            let mut added: Vec<usize> = Vec::new();
            for (b, min, max) in self.befores[s].clone() {
                if self.covered(b, date, min, max) {
                    continue;
                }
                let lo = date - Duration::days(i64::from(max));
                let hi = date - Duration::days(i64::from(min));
                let found = (0..prep.series[b].windows.len()).find_map(|wb| {
                    let have = self.window_days(b, wb).len() as u32;
                    if have >= prep.series[b].windows[wb].max {
                        return None;
                    }
                    prep.series[b].window_candidates(wb).find_map(|cb| {
                        let cand = &prep.series[b].candidates[cb];
                        if cand.date < lo || cand.date > hi || !self.day_allowed(b, cand.day) {
                            return None;
                        }
                        self.choose(b, cb, None).map(|choice| (cb, choice))
                    })
                });
                match found {
                    Some((cb, choice)) => added.push(self.book(b, cb, choice, Fixed::No)),
                    None => break,
                }
            }
            let day = prep.series[s].candidates[c].day;
            if self.day_allowed(s, day) {
                if let Some(choice) = self.choose(s, c, None) {
                    self.book(s, c, choice, Fixed::No);
                    return true;
                }
            }
            for id in added {
                self.remove(id);
            }
        }
        false
    }

    /// Extra occurrences for count targets that the minimums leave short, the cheapest
    /// first, within the cadence maxima.
    fn fill_targets(&mut self) {
        let prep = self.prep;
        if self.w.target_shortfall <= 0.0 {
            return;
        }
        for target in &prep.instance.targets {
            let members: BTreeSet<usize> = target
                .series
                .iter()
                .filter_map(|id| prep.position.get(id).copied())
                .collect();
            loop {
                if targets::planned(prep.instance, target, &self.occurrences()) >= target.min {
                    break;
                }
                let mut best: Option<(usize, usize, usize, Choice, f64)> = None;
                for &s in &members {
                    for wi in 0..prep.series[s].windows.len() {
                        let have = self.window_days(s, wi);
                        if have.len() as u32 >= prep.series[s].windows[wi].max {
                            continue;
                        }
                        let n = have.len() as u32 + 1;
                        // best_in_window prices against the window holding n already.
                        let shift =
                            self.spacing(s, wi, &have, n) - self.spacing(s, wi, &have, n - 1);
                        if let Some((c, choice, cost)) = self.best_in_window(s, wi, n, None) {
                            let added = cost + shift;
                            if best.as_ref().is_none_or(|b| added < b.4 - 1e-9) {
                                best = Some((s, wi, c, choice, added));
                            }
                        }
                    }
                }
                let Some((s, wi, c, choice, added)) = best else {
                    break;
                };
                if added >= self.w.target_shortfall {
                    break;
                }
                self.wanted[s][wi] =
                    self.wanted[s][wi].max(self.window_days(s, wi).len() as u32 + 1);
                self.book(s, c, choice, Fixed::No);
            }
        }
    }

    /// Takes each movable occurrence out and puts it back where it costs least.
    fn polish(&mut self, passes: usize) {
        for _ in 0..passes {
            let mut improved = false;
            let ids: Vec<usize> = (0..self.bookings.len())
                .filter(|&id| self.movable(id))
                .collect();
            for id in ids {
                let Some(b) = self.bookings[id].clone() else {
                    continue;
                };
                let s = b.series;
                let Some((wi, n)) = self.window_count(&b) else {
                    continue;
                };
                let removed = self.remove(id);
                let only_day = (b.fixed == Fixed::Date).then_some(b.day);
                // The current place, priced like any other (exact choice).
                let current = self.cost_in_place(&removed, n);
                let candidate = self.best_in_window(s, wi, n, only_day);
                let moved = match (&candidate, current) {
                    (Some((_, _, cost)), Some(cur)) => *cost < cur - 1e-6,
                    _ => false,
                };
                if moved {
                    let (nc, choice, _) = candidate.expect("checked");
                    let new_id = self.book(s, nc, choice, b.fixed);
                    if !self.dependants_covered(s) {
                        self.remove(new_id);
                        self.add(removed);
                    } else {
                        improved = true;
                    }
                } else {
                    self.add(removed);
                }
            }
            if !improved {
                break;
            }
        }
    }

    /// The exact added cost of booking `b` back where it was (same day, start and room),
    /// the rest as booked now; `None` where that place is no longer free.
    fn cost_in_place(&mut self, b: &Booking, n: u32) -> Option<f64> {
        let s = b.series;
        let c = b.candidate?;
        let wi = self.prep.series[s].candidates[c].window;
        let days = self.window_days(s, wi);
        let base = self.spacing(s, wi, &days, n);
        let mut with = days;
        let at = with.partition_point(|d| *d < b.day);
        with.insert(at, b.day);
        let spacing = self.spacing(s, wi, &with, n) - base;
        let choice = self.choose(s, c, Some((b.start, b.room)))?;
        Some(spacing + self.day_cost(s, c) + choice.cost)
    }

    /// Occurrences in a window of `b`'s series, `b` included.
    fn window_count(&self, b: &Booking) -> Option<(usize, u32)> {
        let c = b.candidate?;
        let wi = self.prep.series[b.series].candidates[c].window;
        Some((wi, self.window_days(b.series, wi).len() as u32))
    }

    /// Coordinated moves of two occurrences that share a person in one week (where one
    /// meeting alone cannot move without costing more than it saves): both are taken out
    /// and put back at their best places, one order then the other; kept where the exact
    /// cost falls. Deterministic, bounded passes. Returns whether anything moved.
    fn pair_moves(&mut self, passes: usize, deadline: Option<std::time::Instant>) -> bool {
        let late = || deadline.is_some_and(|d| std::time::Instant::now() >= d);
        let live = self.bookings.iter().flatten().count();
        let budget = PAIR_WORK / live.max(1);
        let mut tries = 0usize;
        let mut any = false;
        for _ in 0..passes {
            let mut improved = false;
            // The dearest occurrences (furthest above what their date alone would cost)
            // first, each with its partners in its best weeks first.
            if late() {
                return any;
            }
            let mut work: Vec<(f64, usize, Vec<usize>)> = Vec::new();
            for a in 0..self.bookings.len() {
                if self.movable(a) {
                    let (excess, partners) = self.partners(a);
                    if !partners.is_empty() {
                        work.push((excess, a, partners));
                    }
                }
            }
            work.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            for (_, a, partners) in work {
                for b in partners {
                    if tries >= budget || late() {
                        return any;
                    }
                    if !self.movable(a) || !self.movable(b) {
                        break;
                    }
                    tries += 1;
                    if self.try_pair(a, b) {
                        improved = true;
                        any = true;
                        break;
                    }
                }
            }
            if !improved {
                break;
            }
        }
        any
    }

    fn movable(&self, id: usize) -> bool {
        self.bookings[id]
            .as_ref()
            .is_some_and(|b| b.fixed != Fixed::Full && b.candidate.is_some())
    }

    /// Movable bookings sharing an attendee with `a` in the weeks where `a` would cost
    /// less than it does now if nothing stood in its way (spacing and weekday alone): the
    /// meetings it could trade places, times or weeks with.
    fn partners(&mut self, a: usize) -> (f64, Vec<usize>) {
        let Some(ba) = self.bookings[a].clone() else {
            return (0.0, Vec::new());
        };
        let Some((wi, n)) = self.window_count(&ba) else {
            return (0.0, Vec::new());
        };
        let s = ba.series;
        let ra = self.remove(a);
        let current = self.cost_in_place(&ra, n);
        // Week -> the least date cost in it.
        let mut weeks: HashMap<i64, f64> = HashMap::new();
        let mut least = f64::INFINITY;
        if let Some(current) = current {
            let mut days = self.window_days(s, wi);
            let base = self.spacing(s, wi, &days, n);
            for c in self.prep.series[s].window_candidates(wi) {
                let day = self.prep.series[s].candidates[c].day;
                if ra.fixed == Fixed::Date && day != ra.day {
                    continue;
                }
                let at = days.partition_point(|d| *d < day);
                days.insert(at, day);
                let floor = self.spacing(s, wi, &days, n) - base + self.day_cost(s, c);
                days.remove(at);
                if floor < current - 1e-6 {
                    let e = weeks.entry(self.week_of(day)).or_insert(f64::INFINITY);
                    *e = e.min(floor);
                    least = least.min(floor);
                }
            }
        }
        self.restore(a, ra);
        let people: BTreeSet<PersonId> = ba
            .attendees
            .iter()
            .chain(&self.prep.series[s].required)
            .copied()
            .collect();
        let mut weeks: Vec<(i64, f64)> = weeks.into_iter().collect();
        weeks.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)));
        let mut out = Vec::new();
        for (week, _) in weeks {
            for d in week.max(0)..(week + 7).min(i64::from(self.prep.days)) {
                for &id in &self.by_day[d as usize] {
                    if id == a || !self.movable(id) {
                        continue;
                    }
                    let b = self.bookings[id].as_ref().expect("live booking");
                    if b.attendees.iter().any(|p| people.contains(p)) {
                        out.push(id);
                    }
                }
            }
        }
        let mut seen = BTreeSet::new();
        out.retain(|id| seen.insert(*id));
        let excess = current.map_or(0.0, |c| c - least);
        (excess, out)
    }

    /// Re-places bookings `a` and `b` together where that lowers the exact cost.
    fn try_pair(&mut self, a: usize, b: usize) -> bool {
        let (Some(ba), Some(bb)) = (self.bookings[a].clone(), self.bookings[b].clone()) else {
            return false;
        };
        let (Some((wa, na)), Some((wb, nb))) = (self.window_count(&ba), self.window_count(&bb))
        else {
            return false;
        };
        let ra = self.remove(a);
        let rb = self.remove(b);
        // The current cost: a back in place, then b.
        let old = self.cost_in_place(&ra, na).and_then(|ca| {
            self.restore(a, ra.clone());
            let cb = self.cost_in_place(&rb, nb);
            self.remove(a);
            cb.map(|cb| ca + cb)
        });
        let Some(old) = old else {
            self.restore(a, ra);
            self.restore(b, rb);
            return false;
        };
        let only = |x: &Booking| (x.fixed == Fixed::Date).then_some(x.day);
        let mut best: Option<(f64, [(usize, usize, Choice, Fixed); 2])> = None;
        let items = [(&ra, wa, na), (&rb, wb, nb)];
        for order in [[0, 1], [1, 0]] {
            let (x, wx, nx) = items[order[0]];
            let (y, wy, ny) = items[order[1]];
            let Some((cx, chx, costx)) = self.best_in_window(x.series, wx, nx, only(x)) else {
                continue;
            };
            let idx = self.book(x.series, cx, chx.clone(), x.fixed);
            let second = self.best_in_window(y.series, wy, ny, only(y));
            if let Some((cy, chy, costy)) = second {
                let idy = self.book(y.series, cy, chy.clone(), y.fixed);
                let total = costx + costy;
                let ok = self.dependants_covered(x.series) && self.dependants_covered(y.series);
                if ok && total < old - 1e-6 && best.as_ref().is_none_or(|b| total < b.0 - 1e-9) {
                    best = Some((
                        total,
                        [(x.series, cx, chx, x.fixed), (y.series, cy, chy, y.fixed)],
                    ));
                }
                self.remove(idy);
            }
            self.remove(idx);
        }
        match best {
            Some((_, placements)) => {
                for (s, c, choice, fixed) in placements {
                    self.book(s, c, choice, fixed);
                }
                true
            }
            None => {
                self.restore(a, ra);
                self.restore(b, rb);
                false
            }
        }
    }
}
