//! Level 1: the day-level MILP. One binary per (series, candidate day) says the series meets
//! that day; the model places every series' occurrences on days so that all cadence, gap,
//! precedence and pin rules hold, no person or room is overbooked on any day, and the soft
//! goals are as good as possible. Times and rooms come later (level 2); the soft-goal terms
//! that depend on them are counted here at their best possible value, so the optimum of this
//! model is a lower bound on the optimum of the whole problem.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration};
use good_lp::{highs, variable, Constraint, Expression, ProblemVariables, SolverModel, Variable};

use super::lns;
use super::prepare::{travel_between, Day, Prepared};
use super::PlanError;
use crate::schedule::model::{Pin, RoomId};
use crate::schedule::rules;
use crate::schedule::score::{ideal_offset_in_family, soft_cost};

/// What level 2 taught level 1 about a set of (series, candidate) meetings on one day.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cut {
    /// They cannot all take place: at least one must go.
    Apart(Vec<(usize, usize)>),
    /// When they all take place, their time-dependent costs (starts outside the preferred
    /// window beyond what the date alone forces, moved times or rooms, optional invitees
    /// busy elsewhere net of the load they no longer add) come to at least `cost`.
    Cost {
        meetings: Vec<(usize, usize)>,
        cost: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The planning model: hard rules hard, soft goals in the objective.
    Plan,
    /// For explanations: window minimums, pins, precedences and maximum gaps may be broken
    /// at a cost (their slack); the objective is the total slack.
    Elastic,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub time_limit: f64,
    pub mip_gap: f64,
    pub threads: Option<u32>,
    pub neighbourhood_columns: usize,
}

/// A rule the elastic model had to break.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Relaxed {
    WindowMin {
        series: usize,
        window: usize,
        missing: u32,
    },
    /// `published` indexes `Prepared::published`.
    Pin {
        published: usize,
    },
    /// The occurrence of the `after` series on `candidate` has no `before` in range.
    Precedence {
        precedence: usize,
        candidate: usize,
    },
    MaxGap {
        series: usize,
    },
}

pub(crate) enum Outcome {
    Solved(Solution),
    Infeasible,
    /// Stopped (time limit) before any feasible point was found.
    NoSolution,
    /// Not started: HiGHS would need about `needed` more seconds before it can stop.
    TooLittleTime {
        needed: f64,
    },
}

pub(crate) struct Solution {
    /// Per series, the chosen candidate indices (by date).
    pub chosen: Vec<Vec<usize>>,
    pub objective: f64,
    pub bound: f64,
    /// HiGHS proved optimality (within the gap tolerance).
    pub optimal: bool,
    pub variables: usize,
    pub constraints: usize,
    pub relaxed: Vec<Relaxed>,
    /// Every column's value, to warm-start the next solve.
    pub columns: Vec<f64>,
    /// The time-dependent cost level 1 charged to each meeting beyond its date's own
    /// (`w_start_time * late + extra`), by (series, candidate).
    pub late: BTreeMap<(usize, usize), f64>,
    /// Seconds spent building the model before HiGHS started.
    pub build_seconds: f64,
    /// Planned by neighbourhoods ([`super::lns`]), with whether the search converged; the
    /// bound is then the LP relaxation's.
    pub neighbourhoods: Option<bool>,
}

/// Seconds HiGHS may spend per column before it first looks at the clock (measured on the
/// 2-core benchmark machine, with a margin).
const PRESOLVE_SECONDS_PER_COLUMN: f64 = 40e-6;

/// A MIP start for the day-level model.
#[derive(Debug, Clone)]
pub(crate) enum Start {
    /// A previous solution's columns: models that only gained cuts keep their columns'
    /// order (new columns come last).
    Columns(Vec<f64>),
    /// The meetings (series, candidate) of a plan, e.g. the baseline's; the builder sets
    /// the integer columns that follow from them and HiGHS completes the rest.
    Meetings(Vec<(usize, usize)>),
}

/// Solves the day-level model, warm-started from `start` when it is still feasible.
pub(crate) fn solve(
    prep: &Prepared,
    cuts: &[Cut],
    mode: Mode,
    settings: Settings,
    start: Option<&Start>,
) -> Result<Outcome, PlanError> {
    // The time limit covers building the model too (seconds on a prefecture's year).
    let started = std::time::Instant::now();
    match Builder::new(prep, mode).build(cuts) {
        Some(model) => {
            let built = started.elapsed().as_secs_f64();
            let outcome = model.solve(
                Settings {
                    time_limit: settings.time_limit - built,
                    ..settings
                },
                start,
            )?;
            Ok(match outcome {
                Outcome::Solved(solution) => Outcome::Solved(Solution {
                    build_seconds: built,
                    ..solution
                }),
                other => other,
            })
        }
        None => Ok(Outcome::Infeasible),
    }
}

struct Builder<'p, 'a> {
    prep: &'p Prepared<'a>,
    mode: Mode,
    vars: ProblemVariables,
    objective: Expression,
    rows: Vec<Constraint>,
    /// y[s][c]: series s meets on its candidate c. Columns are numbered in creation order,
    /// and these are created first: y[s][c] is column `y_col[s] + c`.
    y: Vec<Vec<Variable>>,
    y_col: Vec<usize>,
    /// Running counts per series, made when a rule needs them.
    cums: Vec<Option<Vec<Variable>>>,
    /// Per meeting, its `late` variable and column.
    late: BTreeMap<(usize, usize), (Variable, usize)>,
    /// Per meeting, its `extra` variable (cost cuts) and column.
    extra: BTreeMap<(usize, usize), (Variable, usize)>,
    /// Column numbers of the elastic slacks.
    slacks: Vec<(usize, Relaxed)>,
    /// Count choices of windows whose count may vary: (series, window, counts, columns).
    count_choices: Vec<(usize, usize, Vec<u32>, Vec<usize>)>,
}

impl<'p, 'a> Builder<'p, 'a> {
    fn new(prep: &'p Prepared<'a>, mode: Mode) -> Self {
        let mut vars = ProblemVariables::new();
        let mut y_col = Vec::with_capacity(prep.series.len());
        let y = prep
            .series
            .iter()
            .map(|s| {
                y_col.push(vars.len());
                s.candidates
                    .iter()
                    .map(|_| vars.add(variable().binary()))
                    .collect()
            })
            .collect();
        Builder {
            prep,
            mode,
            vars,
            objective: Expression::default(),
            rows: Vec::new(),
            y,
            y_col,
            cums: vec![None; prep.series.len()],
            late: BTreeMap::new(),
            extra: BTreeMap::new(),
            slacks: Vec::new(),
            count_choices: Vec::new(),
        }
    }

    fn plan(&self) -> bool {
        self.mode == Mode::Plan
    }

    /// A slack variable in [0, max] costing 1 per unit in the elastic objective.
    fn slack(&mut self, max: f64, integer: bool, why: Relaxed) -> Variable {
        let mut def = variable().min(0).max(max);
        if integer {
            def = def.integer();
        }
        let col = self.vars.len();
        let v = self.vars.add(def);
        self.objective += v;
        self.slacks.push((col, why));
        v
    }

    /// Running counts of series `s`: cum[i] = y[s][0] + ... + y[s][i].
    fn cum(&mut self, s: usize) -> Vec<Variable> {
        if let Some(cum) = &self.cums[s] {
            return cum.clone();
        }
        let mut cum: Vec<Variable> = Vec::with_capacity(self.y[s].len());
        for i in 0..self.y[s].len() {
            let v = self.vars.add(variable().min(0));
            let mut e = Expression::from(v) - self.y[s][i];
            if i > 0 {
                e -= cum[i - 1];
            }
            self.rows.push(e.eq(0.0));
            cum.push(v);
        }
        self.cums[s] = Some(cum.clone());
        cum
    }

    fn sum(&self, s: usize, cands: impl IntoIterator<Item = usize>) -> Expression {
        let mut e = Expression::default();
        for c in cands {
            e += self.y[s][c];
        }
        e
    }

    /// `None` when a hard rule already fails (only in planning mode; the caller explains).
    fn build(mut self, cuts: &[Cut]) -> Option<Self> {
        self.pins()?;
        self.day_costs();
        for s in 0..self.prep.series.len() {
            self.windows(s)?;
            self.min_gap(s);
            self.max_gap(s);
        }
        self.precedences();
        self.resources();
        self.room_sets();
        if self.plan() {
            self.weekly_load();
            self.targets();
        }
        // Last, so that the columns made before keep their numbers from one round to the next.
        for cut in cuts {
            self.cut(cut);
        }
        Some(self)
    }

    fn cut(&mut self, cut: &Cut) {
        match cut {
            Cut::Apart(meetings) => {
                let mut e = Expression::default();
                for &(s, c) in meetings {
                    e += self.y[s][c];
                }
                self.rows.push(e.leq(meetings.len() as f64 - 1.0));
            }
            Cut::Cost { meetings, cost } if self.plan() => {
                // sum over K of (extra + w * late) >= cost * (sum(y) - |K| + 1): binding only
                // when all of K meet that day. `extra` is per meeting, not per cut, so that
                // overlapping cuts (K and K ∪ {m} from a later round) share it instead of
                // each charging its whole cost: a meeting's time-dependent cost is paid once.
                let w = self.prep.instance.weights.start_time;
                let mut e = Expression::default();
                for &(s, c) in meetings {
                    e += self.extra(s, c);
                    if w > 0.0 {
                        e += w * self.late(s, c);
                    }
                    e -= *cost * self.y[s][c];
                }
                self.rows.push(e.geq(*cost * (1.0 - meetings.len() as f64)));
            }
            Cut::Cost { .. } => {}
        }
    }

    /// Pinned published occurrences keep their date.
    fn pins(&mut self) -> Option<()> {
        let prep = self.prep;
        for (i, p) in prep.published.iter().enumerate() {
            let (Some(s), true) = (p.series, p.pin != Pin::None) else {
                continue;
            };
            match (self.mode, p.candidate) {
                (Mode::Plan, Some(c)) => self.rows.push(Expression::from(self.y[s][c]).geq(1.0)),
                (Mode::Plan, None) => return None,
                (Mode::Elastic, c) => {
                    let slack = self.slack(1.0, false, Relaxed::Pin { published: i });
                    let mut e = Expression::from(slack);
                    if let Some(c) = c {
                        e += self.y[s][c];
                    }
                    self.rows.push(e.geq(1.0));
                }
            }
        }
        Some(())
    }

    /// Costs known from the date alone, and the change penalty of unpinned published
    /// occurrences (a constant, refunded when the date is kept).
    fn day_costs(&mut self) {
        let prep = self.prep;
        if !self.plan() {
            return;
        }
        let w = prep.instance.weights;
        // What the ruler (`score`) charges for changes when nothing is planned, less the
        // pinned occurrences, which level 2 keeps as published.
        let pinned = prep
            .published
            .iter()
            .filter(|p| p.series.is_some() && p.pin != Pin::None)
            .count();
        let constant = soft_cost(prep.instance, &[]).change - w.change * pinned as f64;
        for p in &prep.published {
            if let (Some(s), Pin::None, Some(c)) = (p.series, p.pin, p.candidate) {
                // Refunded when the published date is kept.
                self.objective -= w.change * self.y[s][c];
            }
        }
        for (s, data) in prep.series.iter().enumerate() {
            for (c, cand) in data.candidates.iter().enumerate() {
                let window = &data.windows[cand.window];
                let mut cost = w.weekday * f64::from(u8::from(cand.off_weekday))
                    + w.start_time * f64::from(u8::from(cand.no_preferred_start))
                    + w.optional_missed * f64::from(cand.optional_absent);
                if window.max <= 1 {
                    // One occurrence: its spacing is its distance to the window's middle.
                    let offset = (cand.date - window.range.from).num_days() as f64;
                    let slot = prep.ix.family_slot(data.series.id);
                    let ideal = ideal_offset_in_family(0, 1, window_len(window), slot);
                    cost += w.spacing * (offset - ideal).abs();
                }
                if cost != 0.0 {
                    self.objective += cost * self.y[s][c];
                }
            }
        }
        if constant != 0.0 {
            // A column fixed at 1 carries the constant, so HiGHS reports (and measures its
            // relative gap against) the true objective.
            let one = self.vars.add(variable().min(1).max(1));
            self.objective += constant * one;
        }
    }

    /// Count bounds per cadence window and the even-spacing deviation.
    fn windows(&mut self, s: usize) -> Option<()> {
        let prep = self.prep;
        let data = &prep.series[s];
        let spacing = prep.instance.weights.spacing;
        for (w, window) in data.windows.iter().enumerate() {
            let range = data.window_candidates(w);
            let count = self.sum(s, range.clone());
            let available = range.len() as u32;
            if available > window.max {
                self.rows.push(count.clone().leq(f64::from(window.max)));
            }
            if window.min > 0 {
                match self.mode {
                    Mode::Plan if available < window.min => return None,
                    Mode::Plan => self.rows.push(count.clone().geq(f64::from(window.min))),
                    Mode::Elastic => {
                        let why = Relaxed::WindowMin {
                            series: s,
                            window: w,
                            missing: 0,
                        };
                        let slack = self.slack(f64::from(window.min), true, why);
                        self.rows
                            .push((count.clone() + slack).geq(f64::from(window.min)));
                    }
                }
            }
            if self.plan() && spacing > 0.0 && window.max >= 2 && !range.is_empty() {
                if window.min == window.max.min(available) {
                    self.spacing_fixed(s, w, window.min);
                } else {
                    let cum = self.cum(s);
                    self.spacing(s, w, &cum, count);
                }
            }
        }
        Some(())
    }

    /// Even spacing in a window that holds exactly `n` occurrences: a transport from the
    /// chosen days to the `n` ideal dates, x[k][c] the share of ideal date k served by
    /// candidate c at |day - ideal| per unit. Its optimum pairs the k-th occurrence with the
    /// k-th ideal date (sorted matching is optimal on a line), which is the definition in
    /// `score`; the transport polytope is integral for integral y, so x can be continuous.
    fn spacing_fixed(&mut self, s: usize, w: usize, n: u32) {
        let prep = self.prep;
        let data = &prep.series[s];
        let window = &data.windows[w];
        let weight = prep.instance.weights.spacing;
        let len = window_len(window);
        let range = data.window_candidates(w);
        let mut served: Vec<Expression> = range
            .clone()
            .map(|c| -Expression::from(self.y[s][c]))
            .collect();
        for k in 0..n {
            let ideal = ideal_offset_in_family(k, n, len, prep.ix.family_slot(data.series.id));
            let mut share = Expression::default();
            for (i, c) in range.clone().enumerate() {
                let offset = (data.candidates[c].date - window.range.from).num_days() as f64;
                let x = self.vars.add(variable().min(0).max(1));
                self.objective += weight * (offset - ideal).abs() * x;
                share += x;
                served[i] += x;
            }
            self.rows.push(share.eq(1.0));
        }
        for e in served {
            self.rows.push(e.eq(0.0));
        }
    }

    /// Even spacing in a window whose count may vary: the integral over the window of
    /// |C(t) - I(t)|, C counting occurrences up to t and I the ideal dates up to t. This
    /// equals the sum over k of |date_k - ideal_k| (the 1-D transport distance), the
    /// definition in `score`, and is linear: C is a running sum of the binaries and I is
    /// fixed once the count n is, which binaries z_n choose.
    fn spacing(&mut self, s: usize, w: usize, cum: &[Variable], count: Expression) {
        let prep = self.prep;
        let data = &prep.series[s];
        let window = &data.windows[w];
        let weight = prep.instance.weights.spacing;
        let range = data.window_candidates(w);
        let from: Day = super::prepare::day_of(prep.instance, window.range.from);
        let len = window_len(window);
        let counts: Vec<u32> = (window.min..=window.max.min(range.len() as u32)).collect();
        // z[n]: the window holds counts[n] occurrences (a constant when only one count fits).
        let z: Vec<Expression> = if counts.len() == 1 {
            vec![Expression::from(1.0)]
        } else {
            let first = self.vars.len();
            let z: Vec<Variable> = counts
                .iter()
                .map(|_| self.vars.add(variable().binary()))
                .collect();
            self.count_choices
                .push((s, w, counts.clone(), (first..first + z.len()).collect()));
            let mut one = Expression::default();
            let mut total = Expression::default();
            for (n, v) in counts.iter().zip(&z) {
                one += *v;
                total += f64::from(*n) * *v;
            }
            self.rows.push(one.eq(1.0));
            self.rows.push(count.eq(total));
            z.into_iter().map(Expression::from).collect()
        };
        // Ideal dates are fractional (the middle of each share), so positions are reals:
        // days since the period's start.
        let ideals: Vec<Vec<f64>> = counts
            .iter()
            .map(|&n| {
                (0..n)
                    .map(|k| {
                        let slot = prep.ix.family_slot(data.series.id);
                        f64::from(from) + ideal_offset_in_family(k, n, len, slot)
                    })
                    .collect()
            })
            .collect();
        let cand_days: Vec<f64> = range
            .clone()
            .map(|c| f64::from(data.candidates[c].day))
            .collect();
        let mut points: Vec<f64> = cand_days
            .iter()
            .copied()
            .chain(ideals.iter().flatten().copied())
            .collect();
        points.sort_by(f64::total_cmp);
        points.dedup();
        let end = f64::from(from) + len as f64;
        // Before the window's first candidate the running sum is zero; `base` is the running
        // sum of the series just before this window.
        let base = range.start.checked_sub(1).map(|c| cum[c]);
        for (j, &t) in points.iter().enumerate() {
            let next = points.get(j + 1).copied().unwrap_or(end);
            let last = j + 1 == points.len();
            if last {
                // From the last breakpoint on, C = n = I.
                break;
            }
            let seen = cand_days.partition_point(|d| *d <= t);
            let mut diff = Expression::default();
            if seen > 0 {
                diff += cum[range.start + seen - 1];
                if let Some(b) = base {
                    diff -= b;
                }
            }
            for (zn, ideal) in z.iter().zip(&ideals) {
                let i = ideal.partition_point(|d| *d <= t) as f64;
                if i != 0.0 {
                    diff -= i * zn.clone();
                }
            }
            let dev = self.vars.add(variable().min(0));
            self.rows
                .push((Expression::from(dev) - diff.clone()).geq(0.0));
            self.rows.push((Expression::from(dev) + diff).geq(0.0));
            self.objective += weight * (next - t) * dev;
        }
    }

    /// At least `min_gap_days` between occurrences: no two in any run of that many days.
    fn min_gap(&mut self, s: usize) {
        let prep = self.prep;
        let data = &prep.series[s];
        let Some(gap) = data.series.cadence.min_gap_days.filter(|g| *g >= 2) else {
            return;
        };
        let days: Vec<Day> = data.candidates.iter().map(|c| c.day).collect();
        let mut covered = 0;
        for i in 0..days.len() {
            let end = days.partition_point(|d| *d < days[i] + gap);
            if end - i >= 2 && end > covered {
                let e = self.sum(s, i..end);
                self.rows.push(e.leq(1.0));
                covered = end;
            }
        }
    }

    /// At most `max_gap_days` between consecutive occurrences: for every occurrence that
    /// has a later one beyond the gap, there is one within it. With the running count C,
    /// "a later one beyond day d + G" is (C_total - C(d + G)) / N > 0 for N an upper bound
    /// on the count, which keeps the row linear and exact for integer solutions.
    fn max_gap(&mut self, s: usize) {
        let prep = self.prep;
        let data = &prep.series[s];
        let Some(gap) = data.series.cadence.max_gap_days else {
            return;
        };
        let m = data.candidates.len();
        if m == 0 {
            return;
        }
        let days: Vec<Day> = data.candidates.iter().map(|c| c.day).collect();
        let bound: f64 = data
            .windows
            .iter()
            .map(|w| f64::from(w.max))
            .sum::<f64>()
            .max(1.0);
        let cum = self.cum(s);
        let total = cum[m - 1];
        for i in 0..m {
            let k = days.partition_point(|d| *d <= days[i] + gap) - 1;
            if k + 1 == m {
                continue;
            }
            // (C_k - C_i) - y_i - (C_total - C_k) / N >= -1
            let mut e = Expression::from(cum[k]) - cum[i] - self.y[s][i];
            e -= (1.0 / bound) * (Expression::from(total) - cum[k]);
            self.elastic_geq(e, -1.0, Relaxed::MaxGap { series: s });
        }
        // Published occurrences just outside the period are neighbours too.
        let period = prep.instance.period;
        let g = Duration::days(i64::from(gap));
        if let Some(prev) = data.outside.iter().filter(|d| **d < period.from).max() {
            let within = data
                .candidates
                .iter()
                .take_while(|c| c.date <= *prev + g)
                .count();
            let e = self.sum(s, 0..within) - (1.0 / bound) * total;
            self.elastic_geq(e, 0.0, Relaxed::MaxGap { series: s });
        }
        if let Some(next) = data.outside.iter().filter(|d| **d > period.to).min() {
            let from = data.candidates.partition_point(|c| c.date < *next - g);
            let e = self.sum(s, from..m) - (1.0 / bound) * total;
            self.elastic_geq(e, 0.0, Relaxed::MaxGap { series: s });
        }
    }

    fn elastic_geq(&mut self, e: Expression, rhs: f64, why: Relaxed) {
        match self.mode {
            Mode::Plan => self.rows.push(e.geq(rhs)),
            Mode::Elastic => {
                let slack = self.slack(f64::INFINITY, false, why);
                self.rows.push((e + slack).geq(rhs));
            }
        }
    }

    /// Each occurrence of `after` has an occurrence of `before` between `max_days` and
    /// `min_days` days earlier (planned, or published outside the period).
    fn precedences(&mut self) {
        let prep = self.prep;
        let position = &prep.position;
        for (pi, p) in prep.instance.precedences.iter().enumerate() {
            let (Some(&b), Some(&a)) = (position.get(&p.before), position.get(&p.after)) else {
                continue;
            };
            let before = &prep.series[b];
            for c in 0..prep.series[a].candidates.len() {
                let date = prep.series[a].candidates[c].date;
                let lo = date - Duration::days(i64::from(p.max_days));
                let hi = date - Duration::days(i64::from(p.min_days));
                if before.outside.iter().any(|d| lo <= *d && *d <= hi) {
                    continue;
                }
                let from = before.candidates.partition_point(|x| x.date < lo);
                let to = before.candidates.partition_point(|x| x.date <= hi);
                let e = Expression::from(self.y[a][c]) - self.sum(b, from..to);
                match self.mode {
                    Mode::Plan => self.rows.push(e.leq(0.0)),
                    Mode::Elastic => {
                        let why = Relaxed::Precedence {
                            precedence: pi,
                            candidate: c,
                        };
                        let slack = self.slack(1.0, false, why);
                        self.rows.push((e - slack).leq(0.0));
                    }
                }
            }
        }
    }

    /// People (required attendees) and single allowed rooms hold one meeting at a time. Per
    /// day: two meetings whose start windows force an overlap cannot both happen, and the
    /// durations must fit in the span the meetings could occupy. Travel and exact times are
    /// level 2's; these rows are the necessary part, cheap and valid.
    fn resources(&mut self) {
        let prep = self.prep;
        let mut users: BTreeMap<(u8, u32), Vec<usize>> = BTreeMap::new();
        for (s, data) in prep.series.iter().enumerate() {
            for p in &data.required {
                users.entry((0, *p)).or_default().push(s);
            }
            if let [room] = data.rooms[..] {
                users.entry((1, room.id)).or_default().push(s);
            }
        }
        for series in users.values() {
            if series.len() < 2 {
                continue;
            }
            let mut by_day: BTreeMap<Day, Vec<(usize, usize)>> = BTreeMap::new();
            for &s in series {
                for (c, cand) in prep.series[s].candidates.iter().enumerate() {
                    by_day.entry(cand.day).or_default().push((s, c));
                }
            }
            for meetings in by_day.values().filter(|m| m.len() >= 2) {
                self.one_at_a_time(meetings);
                self.preferred_starts(meetings);
            }
        }
        self.daily_limits();
    }

    /// A person's daily limits: meetings and minutes where they are required, per day.
    fn daily_limits(&mut self) {
        let prep = self.prep;
        for person in &prep.instance.people {
            if person.max_meetings_per_day.is_none() && person.max_minutes_per_day.is_none() {
                continue;
            }
            let mut by_day: BTreeMap<Day, Vec<(usize, usize)>> = BTreeMap::new();
            for (s, data) in prep.series.iter().enumerate() {
                if data.required.contains(&person.id) {
                    for (c, cand) in data.candidates.iter().enumerate() {
                        by_day.entry(cand.day).or_default().push((s, c));
                    }
                }
            }
            for meetings in by_day.values() {
                if let Some(max) = person.max_meetings_per_day {
                    if meetings.len() > max as usize {
                        let mut e = Expression::default();
                        for &(s, c) in meetings {
                            e += self.y[s][c];
                        }
                        self.rows.push(e.leq(f64::from(max)));
                    }
                }
                if let Some(max) = person.max_minutes_per_day {
                    let total: u32 = meetings
                        .iter()
                        .map(|(s, _)| prep.series[*s].duration())
                        .sum();
                    if total > max {
                        let mut e = Expression::default();
                        for &(s, c) in meetings {
                            e += f64::from(prep.series[s].duration()) * self.y[s][c];
                        }
                        self.rows.push(e.leq(f64::from(max)));
                    }
                }
            }
        }
    }

    fn one_at_a_time(&mut self, meetings: &[(usize, usize)]) {
        let prep = self.prep;
        let span = |&(s, c): &(usize, usize)| {
            let cand = &prep.series[s].candidates[c];
            let dur = prep.series[s].duration();
            (cand.earliest_start, cand.latest_start, dur)
        };
        let travel = |a: &(usize, usize), b: &(usize, usize)| {
            travel_between(prep, &prep.series[a.0], &prep.series[b.0])
        };
        for (i, a) in meetings.iter().enumerate() {
            let (ea, la, da) = span(a);
            for b in &meetings[i + 1..] {
                let (eb, lb, db) = span(b);
                let t = travel(a, b);
                if ea + da + t > lb && eb + db + t > la {
                    let e = Expression::from(self.y[a.0][a.1]) + self.y[b.0][b.1];
                    self.rows.push(e.leq(1.0));
                }
            }
        }
        // Durations fit in the time they can occupy; meetings that cannot share a venue
        // (pairwise) also need the trips between them. Taken per time span [from, to]
        // bounded by the meetings' own earliest starts and latest ends, over the meetings
        // that must lie inside it: one span for the whole day is weak when one meeting may
        // run into the evening and the others must end by 17:30.
        let mut froms: Vec<u32> = meetings.iter().map(|m| span(m).0).collect();
        let mut tos: Vec<u32> = meetings.iter().map(|m| span(m).1 + span(m).2).collect();
        froms.sort();
        froms.dedup();
        tos.sort();
        tos.dedup();
        let mut seen: std::collections::BTreeSet<(Vec<(usize, usize)>, u32)> = Default::default();
        for &from in &froms {
            for &to in tos.iter().filter(|t| **t > from) {
                let mut inside: Vec<&(usize, usize)> = meetings
                    .iter()
                    .filter(|m| {
                        let (e, l, d) = span(m);
                        e >= from && l + d <= to
                    })
                    .collect();
                if inside.len() < 2 {
                    continue;
                }
                // Meetings with the fewest places first, so that the apart set is large.
                inside.sort_by_key(|m| (prep.series[m.0].venues.len(), **m));
                let mut apart: Vec<&(usize, usize)> = Vec::new();
                for m in &inside {
                    if apart.iter().all(|x| travel(x, m) > 0) {
                        apart.push(m);
                    }
                }
                let trip = apart
                    .iter()
                    .enumerate()
                    .flat_map(|(i, a)| apart[i + 1..].iter().map(move |b| (a, b)))
                    .map(|(a, b)| travel(a, b))
                    .min()
                    .unwrap_or(0);
                for (subset, trip) in [(inside.clone(), 0), (apart, trip)] {
                    if subset.len() < 2 {
                        continue;
                    }
                    let total: u32 = subset.iter().map(|m| span(m).2 + trip).sum();
                    if total <= to - from + trip {
                        continue;
                    }
                    let mut key: Vec<(usize, usize)> = subset.iter().map(|m| **m).collect();
                    key.sort();
                    if !seen.insert((key, to - from + trip)) {
                        continue;
                    }
                    let mut e = Expression::default();
                    for m in subset {
                        e += f64::from(span(m).2 + trip) * self.y[m.0][m.1];
                    }
                    self.rows.push(e.leq(f64::from(to - from + trip)));
                }
            }
        }
    }

    /// Meetings of one person (or one room) on one day that prefer the same start window
    /// cannot all start in it when their durations do not allow: those beyond what fits
    /// (shortest first, back to back) pay the start-time cost, through `late` variables.
    /// This keeps level 1's start-time term a lower bound while seeing most clashes that
    /// level 2 would otherwise pay for.
    fn preferred_starts(&mut self, meetings: &[(usize, usize)]) {
        let prep = self.prep;
        if !self.plan() || prep.instance.weights.start_time <= 0.0 {
            return;
        }
        let grain = prep.instance.grain_minutes.max(1);
        let mut classes: BTreeMap<(u32, u32), Vec<(usize, usize)>> = BTreeMap::new();
        for &(s, c) in meetings {
            let data = &prep.series[s];
            if let (Some(w), false) = (
                data.series.preferred_start,
                data.candidates[c].no_preferred_start,
            ) {
                classes
                    .entry((rules::minutes(w.from), rules::minutes(w.to)))
                    .or_default()
                    .push((s, c));
            }
        }
        for ((from, to), members) in classes {
            if members.len() < 2 || to == 0 {
                continue;
            }
            let first = from.div_ceil(grain) * grain;
            let last = (to - 1) / grain * grain;
            let mut durations: Vec<u32> = members
                .iter()
                .map(|(s, _)| prep.series[*s].duration())
                .collect();
            durations.sort();
            // Members that cannot share a venue also travel between them.
            let trip = members
                .iter()
                .enumerate()
                .flat_map(|(i, a)| members[i + 1..].iter().map(move |b| (a, b)))
                .map(|(a, b)| travel_between(prep, &prep.series[a.0], &prep.series[b.0]))
                .min()
                .unwrap_or(0);
            let mut fit = 0;
            let mut at = first;
            for d in durations {
                if at > last {
                    break;
                }
                fit += 1;
                at = (at + d + trip).div_ceil(grain) * grain;
            }
            if members.len() <= fit {
                continue;
            }
            let mut e = Expression::default();
            for &(s, c) in &members {
                e += self.y[s][c];
                e -= self.late(s, c);
            }
            self.rows.push(e.leq(fit as f64));
        }
        // Pairs with different but overlapping windows (the plenary at 14:00-15:30 and a
        // ward meeting at 13:30-15:00 sharing two people): when no start of each in its own
        // window keeps them apart, one of them is late.
        let windows: Vec<((usize, usize), u32, u32)> = meetings
            .iter()
            .filter_map(|&(s, c)| {
                let data = &prep.series[s];
                let cand = &data.candidates[c];
                let w = data
                    .series
                    .preferred_start
                    .filter(|_| !cand.no_preferred_start)?;
                let first =
                    (rules::minutes(w.from).div_ceil(grain) * grain).max(cand.earliest_start);
                let last =
                    (rules::minutes(w.to).checked_sub(1)? / grain * grain).min(cand.latest_start);
                (first <= last).then_some(((s, c), first, last))
            })
            .collect();
        for (i, &(a, fa, la)) in windows.iter().enumerate() {
            for &(b, fb, lb) in &windows[i + 1..] {
                let trip = travel_between(prep, &prep.series[a.0], &prep.series[b.0]);
                let (da, db) = (prep.series[a.0].duration(), prep.series[b.0].duration());
                if fa + da + trip <= lb || fb + db + trip <= la {
                    continue;
                }
                let e = Expression::from(self.y[a.0][a.1]) + self.y[b.0][b.1]
                    - self.late(a.0, a.1)
                    - self.late(b.0, b.1);
                self.rows.push(e.leq(1.0));
            }
        }
    }

    /// Share of meeting (s, c) in the start-time cost of preferred-window clashes.
    fn late(&mut self, s: usize, c: usize) -> Variable {
        if let Some((v, _)) = self.late.get(&(s, c)) {
            return *v;
        }
        let col = self.vars.len();
        let v = self.vars.add(variable().min(0).max(1));
        self.objective += self.prep.instance.weights.start_time * v;
        self.late.insert((s, c), (v, col));
        v
    }

    /// What meeting (s, c)'s time-dependent costs (start time, optional invitees kept away)
    /// exceed its late share by, as cost cuts from level 2 prove it.
    fn extra(&mut self, s: usize, c: usize) -> Variable {
        if let Some((v, _)) = self.extra.get(&(s, c)) {
            return *v;
        }
        let col = self.vars.len();
        let v = self.vars.add(variable().min(0));
        self.objective += v;
        self.extra.insert((s, c), (v, col));
        v
    }

    /// Meetings that can only use rooms of a set S fit in S's opening minutes that day.
    fn room_sets(&mut self) {
        let prep = self.prep;
        let mut sets: Vec<Vec<RoomId>> = self
            .prep
            .series
            .iter()
            .map(|d| d.rooms.iter().map(|r| r.id).collect::<Vec<_>>())
            .filter(|r| r.len() >= 2)
            .collect();
        sets.sort();
        sets.dedup();
        if sets.is_empty() {
            return;
        }
        let mut by_day: Vec<Vec<(usize, usize)>> = vec![Vec::new(); prep.days as usize];
        for (s, data) in prep.series.iter().enumerate() {
            for (c, cand) in data.candidates.iter().enumerate() {
                by_day[cand.day as usize].push((s, c));
            }
        }
        for set in &sets {
            let inside: Vec<bool> = self
                .prep
                .series
                .iter()
                .map(|d| {
                    !d.rooms.is_empty() && d.rooms.iter().all(|r| set.binary_search(&r.id).is_ok())
                })
                .collect();
            for (day, meetings) in by_day.iter().enumerate() {
                let members: Vec<&(usize, usize)> =
                    meetings.iter().filter(|(s, _)| inside[*s]).collect();
                if members.len() < 2 {
                    continue;
                }
                let date = prep.date(day as Day);
                let capacity: i64 = set
                    .iter()
                    .filter_map(|r| {
                        let venue = prep.ix.rooms[r].venue;
                        prep.ix.venue_hours_on(venue, date)
                    })
                    .map(|(open, close)| (close - open).num_minutes())
                    .sum();
                let total: i64 = members
                    .iter()
                    .map(|(s, _)| i64::from(prep.series[*s].duration()))
                    .sum();
                if total > capacity {
                    let mut e = Expression::default();
                    for (s, c) in members {
                        e += f64::from(prep.series[*s].duration()) * self.y[*s][*c];
                    }
                    self.rows.push(e.leq(capacity as f64));
                }
            }
        }
    }

    /// Meetings beyond the first per person and week. Optional invitees count on days they
    /// are available; when a missed optional invitee costs less than a load unit, level 2
    /// might drop one to save load, so they are left out to keep this a lower bound.
    fn weekly_load(&mut self) {
        let prep = self.prep;
        let w = prep.instance.weights;
        if w.weekly_load <= 0.0 {
            return;
        }
        let with_optional = w.weekly_load <= w.optional_missed;
        let mut weeks: BTreeMap<(u32, Day), Vec<(usize, usize)>> = BTreeMap::new();
        for (s, data) in prep.series.iter().enumerate() {
            for (c, cand) in data.candidates.iter().enumerate() {
                let monday =
                    cand.day as i64 - i64::from(cand.date.weekday().num_days_from_monday());
                // Weeks are keyed by their Monday's offset; shift so it stays unsigned.
                let week = (monday + 7) as Day;
                for p in &data.required {
                    weeks.entry((*p, week)).or_default().push((s, c));
                }
                if with_optional {
                    for p in &data.optional {
                        if prep.ix.person_available(*p, cand.date) {
                            weeks.entry((*p, week)).or_default().push((s, c));
                        }
                    }
                }
            }
        }
        for meetings in weeks.values().filter(|m| m.len() >= 2) {
            let extra = self.vars.add(variable().min(0));
            let mut e = Expression::from(extra);
            for (s, c) in meetings {
                e -= self.y[*s][*c];
            }
            self.rows.push(e.geq(-1.0));
            self.objective += w.weekly_load * extra;
        }
    }
}

impl Builder<'_, '_> {
    /// Count targets: `Σ_{s∈t} Σ_d y[s,d] + short_t ≥ min_t`, `short_t ∈ [0, min_t]` at
    /// `target_shortfall` each. Every candidate day lies in the period and every chosen day
    /// becomes one occurrence, so at the optimum `short_t` is the plan's exact shortfall
    /// (`score`'s), whether the windows' counts are fixed or vary (their `z` and running
    /// counts are sums of the same `y`). Soft, so not in the elastic model.
    fn targets(&mut self) {
        let prep = self.prep;
        let weight = prep.instance.weights.target_shortfall;
        if weight <= 0.0 {
            return;
        }
        let position = &prep.position;
        for t in prep.instance.targets.iter().filter(|t| t.min > 0) {
            let members: std::collections::BTreeSet<usize> = t
                .series
                .iter()
                .filter_map(|id| position.get(id).copied())
                .collect();
            let min = f64::from(t.min);
            let short = self.vars.add(variable().min(0).max(min));
            self.objective += weight * short;
            let mut e = Expression::from(short);
            for s in members {
                e += self.sum(s, 0..self.y[s].len());
            }
            self.rows.push(e.geq(min));
        }
    }
}

fn window_len(w: &crate::schedule::rules::Window) -> i64 {
    (w.range.to - w.range.from).num_days() + 1
}

impl Builder<'_, '_> {
    fn solve(self, settings: Settings, start: Option<&Start>) -> Result<Outcome, PlanError> {
        let Builder {
            prep,
            mode,
            vars,
            objective,
            rows,
            y,
            y_col,
            late,
            extra,
            slacks,
            count_choices,
            ..
        } = self;
        let variables = vars.len();
        let constraints = rows.len();
        // HiGHS checks its time limit between phases, not within presolve and the first LP,
        // which take about 30-40 µs per column here (a prefecture's year: 6 s). Without that
        // much time left the solve would overrun the limit, so it does not start.
        let needed = PRESOLVE_SECONDS_PER_COLUMN * variables as f64;
        if settings.time_limit < needed {
            return Ok(Outcome::TooLittleTime { needed });
        }
        let mut problem = vars.minimise(objective).using(highs);
        for row in rows {
            problem.add_constraint(row);
        }
        // good_lp's own `solve` keeps neither the dual bound nor the gap, so the HiGHS model
        // is taken over and run here; its info values give both.
        let mut model = problem
            .try_into_inner()
            .map_err(|e| PlanError::Solver(e.to_string()))?;
        let option_error = |name: &str| PlanError::Solver(format!("HiGHS rejected option {name}"));
        model
            .try_set_option("time_limit", settings.time_limit.max(0.01))
            .map_err(|_| option_error("time_limit"))?;
        model
            .try_set_option("mip_rel_gap", settings.mip_gap.max(0.0))
            .map_err(|_| option_error("mip_rel_gap"))?;
        if let Some(threads) = settings.threads {
            model
                .try_set_option("threads", threads as i32)
                .map_err(|_| option_error("threads"))?;
        }
        let start = start.map(|start| {
            let mut columns = match start {
                Start::Columns(columns) => columns.clone(),
                Start::Meetings(meetings) => {
                    let mut columns = vec![0.0; variables];
                    for &(s, c) in meetings {
                        columns[y_col[s] + c] = 1.0;
                    }
                    for (s, w, counts, cols) in &count_choices {
                        let range = prep.series[*s].window_candidates(*w);
                        let n = meetings
                            .iter()
                            .filter(|(ms, mc)| ms == s && range.contains(mc))
                            .count() as u32;
                        if let Some(i) = counts.iter().position(|k| *k == n) {
                            columns[cols[i]] = 1.0;
                        }
                    }
                    columns
                }
            };
            columns.resize(variables, 0.0);
            columns
        });
        let finish = Finish {
            prep,
            mode,
            y: &y,
            y_col: &y_col,
            late,
            extra,
            slacks,
            variables,
            constraints,
        };
        // Too large for one branch and bound: neighbourhoods around the start.
        if let (Mode::Plan, true, Some(start)) =
            (mode, variables >= settings.neighbourhood_columns, &start)
        {
            let (cols, days): (Vec<usize>, Vec<_>) = prep
                .series
                .iter()
                .enumerate()
                .flat_map(|(s, data)| {
                    let first = y_col[s];
                    data.candidates
                        .iter()
                        .enumerate()
                        .map(move |(c, cand)| (first + c, cand.date))
                })
                .unzip();
            return Ok(match lns::improve(model, &cols, &days, start, settings)? {
                None => Outcome::NoSolution,
                Some(found) => {
                    let optimal = found.converged
                        && found.objective - found.bound
                            <= settings.mip_gap * found.objective.abs().max(1e-9);
                    Outcome::Solved(Solution {
                        neighbourhoods: Some(found.converged),
                        ..finish.solution(found.columns, found.objective, found.bound, optimal)
                    })
                }
            });
        }
        if let Some(columns) = &start {
            // HiGHS fixes the integer columns and solves for the others; a start that the
            // new cuts made infeasible is dropped, which only costs the head start.
            let _ = model.try_set_solution(Some(columns), None, None, None);
        }
        let solved = model.try_solve().map_err(|e| {
            // The usual cause: HiGHS keeps one thread pool per process, and refuses a
            // `threads` value other than the one it started with.
            PlanError::Solver(format!(
                "HiGHS failed ({e:?}); if `threads` changed between solves, use one value per process"
            ))
        })?;
        // The status enum lives in the `highs` crate, which good_lp does not re-export (and
        // it is #[non_exhaustive], so no cast): its Debug name is what is reachable.
        let status = format!("{:?}", solved.status());
        // HiGHS's primal_solution_status: 2 = a feasible solution is available.
        let feasible = solved.int_info_value(c"primal_solution_status") == Ok(2);
        match status.as_str() {
            "Infeasible" | "UnboundedOrInfeasible" => return Ok(Outcome::Infeasible),
            // No columns at all: nothing can or needs to be placed.
            "ModelEmpty" => {
                return Ok(Outcome::Solved(Solution {
                    chosen: vec![Vec::new(); y.len()],
                    objective: 0.0,
                    bound: 0.0,
                    optimal: true,
                    variables,
                    constraints,
                    relaxed: Vec::new(),
                    columns: Vec::new(),
                    late: BTreeMap::new(),
                    build_seconds: 0.0,
                    neighbourhoods: None,
                }))
            }
            "Optimal"
            | "ReachedTimeLimit"
            | "ReachedIterationLimit"
            | "ReachedSolutionLimit"
            | "ReachedInterrupt"
            | "ReachedMemoryLimit"
            | "ObjectiveBound"
            | "ObjectiveTarget" => {}
            other => {
                return Err(PlanError::Solver(format!(
                    "HiGHS ended with status {other}"
                )))
            }
        }
        if !feasible {
            return Ok(Outcome::NoSolution);
        }
        let objective = solved.objective_value();
        let bound = solved
            .double_info_value(c"mip_dual_bound")
            .unwrap_or(f64::NEG_INFINITY);
        let columns = solved.get_solution().columns().to_vec();
        Ok(Outcome::Solved(finish.solution(
            columns,
            objective,
            bound,
            status == "Optimal",
        )))
    }
}

/// What turns a solve's columns into a [`Solution`].
struct Finish<'p, 'a> {
    prep: &'p Prepared<'a>,
    mode: Mode,
    y: &'p [Vec<Variable>],
    y_col: &'p [usize],
    late: BTreeMap<(usize, usize), (Variable, usize)>,
    extra: BTreeMap<(usize, usize), (Variable, usize)>,
    slacks: Vec<(usize, Relaxed)>,
    variables: usize,
    constraints: usize,
}

impl Finish<'_, '_> {
    fn solution(self, columns: Vec<f64>, objective: f64, bound: f64, optimal: bool) -> Solution {
        let value = |col: usize| columns[col];
        let chosen = self
            .y
            .iter()
            .zip(self.y_col)
            .map(|(ys, &first)| (0..ys.len()).filter(|c| value(first + c) > 0.5).collect())
            .collect();
        let mut relaxed = Vec::new();
        if self.mode == Mode::Elastic {
            for (v, why) in self.slacks {
                let amount = value(v);
                if amount > 1e-6 {
                    relaxed.push(match why {
                        Relaxed::WindowMin { series, window, .. } => Relaxed::WindowMin {
                            series,
                            window,
                            missing: amount.round().max(1.0) as u32,
                        },
                        other => other,
                    });
                }
            }
            relaxed.dedup();
        }
        let w = self.prep.instance.weights.start_time;
        let mut late: BTreeMap<(usize, usize), f64> = self
            .late
            .into_iter()
            .map(|(key, (_, col))| (key, w * value(col)))
            .collect();
        for (key, (_, col)) in self.extra {
            *late.entry(key).or_default() += value(col);
        }
        Solution {
            chosen,
            objective,
            bound: bound.min(objective),
            optimal,
            variables: self.variables,
            constraints: self.constraints,
            relaxed,
            late,
            columns,
            build_seconds: 0.0,
            neighbourhoods: None,
        }
    }
}
