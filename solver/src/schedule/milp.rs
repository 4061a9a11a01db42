//! The MILP planner (混合整数計画による日程作成): fills the period with every series'
//! occurrences, with days, times, rooms and attendees, breaking no hard rule and minimising
//! the weighted soft goals as [`crate::schedule::score`] measures them. good_lp builds the
//! models, HiGHS solves them.
//!
//! # Why two levels
//! A binary per series × day × start time × room for a fiscal year is 10^7-10^8 columns at
//! the large size. The hard part is the days (cadence, gaps, precedence, weekly load,
//! spacing); times and rooms within one day are a small puzzle. So level 1 chooses days
//! and level 2 fills in each day, and they talk through cuts.
//!
//! **Level 1** ([`level1`]) is a MILP over days only. Variables:
//! - `y[s,d]` ∈ {0,1}: series `s` meets on candidate day `d`. Candidate days are the days
//!   of the series' cadence windows on which it could meet at all (open, allowed month,
//!   after the lead time, every required attendee available, a suitable room open with a
//!   start time, not within the minimum gap of a published occurrence just outside the
//!   period). There are no occurrence slots, hence no symmetry between them: a series meets
//!   at most once a day, and "the k-th occurrence" is implicit.
//! - `x[k,d]` ≥ 0: spacing transport (below); `z[w,n]` ∈ {0,1} and running counts, where a
//!   window's count may vary; `L[p,week]` ≥ 0, person `p`'s meetings beyond the first that
//!   week; `late[s,d]` ∈ [0,1], the share of a start-time penalty forced by clashes;
//!   `short[t]` ∈ [0, min_t], the occurrences count target `t` misses.
//!
//! Where a series belongs to a family (`Series::family`: one duty expanded per ward or per
//! visited office), its ideal dates are its turns within the family's evenly spread dates, so
//! that the family interleaves (see [`crate::schedule::score`]).
//!
//! Constraint families:
//! - window counts: `min_w ≤ Σ_{d∈w} y[s,d] ≤ max_w` (counts as [`rules::windows`] scales them);
//! - minimum gap g: at most one occurrence in any g consecutive days (clique rows);
//! - maximum gap G: an occurrence on day d with a later one beyond d+G has one within
//!   (d, d+G] (linear through the running count), also against published occurrences
//!   just outside the period;
//! - precedence: `y[after,d] ≤ Σ_{d'∈[d-max,d-min]} y[before,d']`, unless a published
//!   `before` outside the period already covers d;
//! - pins: `y[s,d] = 1` on a pinned published date (times and rooms of full pins: level 2);
//! - count targets (soft): `Σ_{s∈t} Σ_d y[s,d] + short[t] ≥ min_t` (planning mode only);
//! - one place at a time, per person (required) and per single allowed room and day: two
//!   meetings whose start windows force an overlap cannot both happen; for every time span
//!   [from, to] bounded by the meetings' earliest starts and latest ends, the meetings that
//!   must lie inside it fit, with the trips between those that cannot share a venue. Room
//!   sets: meetings that can only use rooms of a set fit in its open minutes;
//! - preferred start windows, per person (or single room), day and window: beyond as many
//!   meetings as fit in the window back to back, each pays a `late` share; and two meetings
//!   with different windows that cannot both start in their own without overlapping: one of
//!   them pays;
//! - cuts from level 2: `Σ_{(s,d)∈K} y[s,d] ≤ |K| - 1` for meetings K shown not to fit
//!   together on their day; and cost cuts: when all of K meet, their time-dependent costs
//!   are at least what level 2 proved for K alone.
//!
//! Objective = the soft goals of [`Weights`]: weekday, optional invitees absent that day,
//! change (published date not kept) and the start time a date alone forces are costs on `y`;
//! spacing in a window holding one occurrence is its distance to the middle (a cost on `y`),
//! with n fixed occurrences a transport `x` from the chosen days to the n ideal dates (whose
//! optimum is the sorted matching that [`crate::schedule::score`] uses), with a varying
//! count the integral of |running count - ideal count|; weekly load is `L`; `late` shares;
//! `target_shortfall · short[t]` per count target (exact: every chosen day is an occurrence).
//!
//! **Level 2** ([`level2`]) places each day's meetings: start time, room and which
//! optional invitees can come, by branch and bound with forward checking, respecting rooms,
//! people and travel. A group of meetings that cannot be placed is shrunk to a small
//! failing core, a cut, and level 1 is solved again; a group whose proven least cost
//! exceeds what level 1 charged it becomes a cost cut, and level 1 is solved again from the
//! current solution while time remains and the gap is open.
//!
//! # Anytime: the baseline first
//! [`plan_with`] first builds the baseline ([`crate::schedule::greedy`]); when the validator
//! accepts it, it is the incumbent and the MIP start of level 1, so a feasible instance always
//! has a plan, whatever the time limit. A level-2 plan replaces it only when it is cheaper and
//! passes the validator. `Plan::method` says which one the caller gets, `Plan::note` why the
//! run stopped before proving optimality.
//!
//! The time limit covers the baseline, the model build and the solves. HiGHS looks at the clock
//! between phases only, not within presolve and the first LP (about 30-40 µs per column on the
//! benchmark machine), so level 1 does not start when less time than that is left
//! ([`level1::Outcome::TooLittleTime`]); the baseline is the plan and its note says how long
//! the optimizer would need. Level 2 stops at the deadline.
//!
//! # Large models: neighbourhoods
//! Day-level models of [`lns::LNS_COLUMNS`] columns or more (a prefecture's year) are not
//! given to one branch and bound. On size l (226k columns, 81k binaries) HiGHS spent the whole
//! minute at the root (8 s presolve, 3 s LP, 23 s of cut rounds, then sub-MIP heuristics that
//! found a good plan only near the end), peaked at 1.8-2 GiB, overran the limit inside phases
//! it does not interrupt (pref: 64.5 s for 60; its interrupt callback is only asked where it
//! reads the clock), and returned a plan that depended on how far it had got. Instead
//! [`lns`] fixes every day at the baseline's, frees one month (then two consecutive months) at
//! a time and solves each small MIP from the incumbent, and takes the LP relaxation of the
//! whole model as the bound. Each step takes about a second, so the limit is kept, memory
//! stays under 1 GiB, and two runs give the same plan. On size m (which one branch and bound
//! solves to optimality in 2.6 s) the search ends 0.15 % above the optimum.
//!
//! # What stalled the demo (and the fixes)
//! Measured on the demo municipality's quarter (57 series, 40 office visits with travel):
//! level 1 itself solved in 0.16 s; each round then lost about 3 s in level 2, which could
//! neither place nor refute one day of 13 meetings (a group linked by shared invitees), and the
//! unproven cut it returned removed one meeting per round. Level 1 had let one person have
//! seven 90-minute office visits (each at its own office, 30 minutes apart) on that day: its
//! "durations fit in the span" row took one span for all of the person's meetings, and one of
//! them (a subcommittee free to use any room until 21:00) stretched the span to the evening,
//! while the apart set was built greedily from a meeting that could share a venue with every
//! office, so it held no visit at all. Two changes fixed it: spans per (earliest start, latest
//! end) pair over the meetings that must lie inside them, and the apart set built from the
//! meetings with fewest venues first. The quarter then solves to optimality in under a second.
//! The fiscal year had a second cause: each of the 40 yearly visits (one series per office)
//! aimed at the middle of the year, so the optimizer and the baseline crowded them into
//! September and October and the day model became a packing problem; families spread them
//! (three or four a month), which made the demo's year and the m and l benchmarks easy for
//! HiGHS (m optimal in about 3 s instead of a 1.9 % gap at 30 s). The last 1.3 % of the
//! demo's year was a February plenary preferring 14:00-15:30 and a ward meeting preferring
//! 13:30-15:00 with two people in both: the windows differ, so no per-window row saw the
//! clash; the pairwise row did, and the year is proven optimal in about 1.6 s. Building the model was
//! quadratic in venues through the travel look-ups (5 s at l); it is now linear (0.5 s).
//!
//! # Why it scales
//! Columns grow with series × candidate days (about 16k binaries at size m, 90k at size l),
//! not with times or rooms; no constraint family is quadratic in the horizon: person and
//! room rows are per day and only where a conflict is possible, load rows per person-week.
//!
//! # What is proven
//! Every level-1 term is at most the true value of its goal (time-dependent goals at their
//! best case; optional invitees count towards weekly load only when
//! `weekly_load ≤ optional_missed`, so that one busy elsewhere never saves more than level 1
//! charged), and every level-1 row holds in any valid plan, so the level-1 dual bound is a
//! lower bound for the whole problem. `Plan::objective` is the plan's exact value
//! ([`soft_cost`]) and `Plan::gap` measures it against the best such bound: the level-1 gap
//! plus whatever level 2 had to pay that level 1 did not foresee. `SolveStatus::Optimal`
//! means that whole gap is within `mip_gap`; otherwise the status is `TimeLimit` (the best
//! plan found, with its gap). A cut from a search that ran out of budget proves nothing; a
//! plan relying on one is never reported optimal. Level 2 picks a room within a venue by
//! best fit, so it is exact over venues and times but not over rooms of one venue.
//!
//! # Infeasibility
//! Before solving, cheap checks per series and window name what empties the calendar
//! (absences, part-time days, lead time, rooms, pins). If level 1 is infeasible, an
//! elastic copy (slack on window minimums, pins, precedences, maximum gaps; minimising
//! total slack) says which rules have to give, see [`crate::schedule::explain`].
//!
//! # Determinism
//! Everything is built in a fixed order (series by id, days by date), the baseline uses no
//! clock, and HiGHS is deterministic, so the same input gives the same plan, unless a time
//! limit cuts a solve short (then the plan depends on how far it got: HiGHS has no
//! deterministic work limit). On the benchmark machine the demo's quarter and year and size m
//! finish well before their limits. Large models are searched by neighbourhoods whose steps
//! each finish and run in a fixed order, so a run cut by the clock differs from another only
//! in how many steps it completed; when the search converges the plan is the same.

pub(crate) mod level1;
pub(crate) mod level2;
pub(crate) mod lns;
pub(crate) mod prepare;

use std::time::Instant;

use chrono::Duration;

use self::level1::{Cut, Mode, Outcome, Settings, Start};
use self::level2::DayResult;
use self::prepare::Prepared;
use super::explain;
use super::model::*;
use super::rules;
use super::score::soft_cost;
use super::validate::validate;

/// Solver settings; [`plan`] takes them from the instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanOptions {
    /// Wall-clock limit for the whole plan (all level-1 solves and level 2).
    pub time_limit_seconds: f64,
    /// Relative MIP gap at which HiGHS may stop, e.g. 1e-4.
    pub mip_gap: f64,
    /// HiGHS threads; `None` keeps HiGHS's default. HiGHS keeps one thread pool per
    /// process, so use one value for all solves of a process.
    pub threads: Option<u32>,
    /// Day-level models with at least this many columns are planned by neighbourhoods
    /// ([`lns`]) instead of one branch and bound.
    pub neighbourhood_columns: usize,
}

impl PlanOptions {
    pub fn for_instance(instance: &Instance) -> PlanOptions {
        PlanOptions {
            time_limit_seconds: instance.time_limit_seconds,
            mip_gap: 1e-4,
            threads: None,
            neighbourhood_columns: lns::LNS_COLUMNS,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlanError {
    /// The rules cannot all hold; what collides and what would help.
    Infeasible(Infeasibility),
    /// The instance itself is wrong (dangling ids, min above max, ...).
    InvalidInstance(Vec<Text>),
    /// The solver failed or found no plan within the time limit.
    Solver(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Infeasible(inf) => {
                write!(f, "no plan satisfies the rules")?;
                for c in &inf.conflicts {
                    for r in &c.rules {
                        write!(f, "; {}", r.en)?;
                    }
                }
                Ok(())
            }
            PlanError::InvalidInstance(problems) => {
                write!(f, "invalid instance")?;
                for p in problems {
                    write!(f, "; {}", p.en)?;
                }
                Ok(())
            }
            PlanError::Solver(message) => write!(f, "solver error: {message}"),
        }
    }
}

impl std::error::Error for PlanError {}

/// Coarse progress: `stage` is "building", "solving" or "extracting"; `fraction` in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub stage: &'static str,
    pub fraction: f64,
}

/// Plans `instance` with its own time limit and a 1e-4 relative gap.
pub fn plan(instance: &Instance) -> Result<Plan, PlanError> {
    plan_with(instance, &PlanOptions::for_instance(instance), &mut |_| {})
}

/// Plans `instance`; `progress` hears of each stage.
pub fn plan_with(
    instance: &Instance,
    options: &PlanOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Plan, PlanError> {
    let started = Instant::now();
    progress(Progress {
        stage: "building",
        fraction: 0.0,
    });
    let problems = prepare::check_instance(instance);
    if !problems.is_empty() {
        return Err(PlanError::InvalidInstance(problems));
    }
    let prep = Prepared::new(instance);
    if let Some(infeasibility) = explain::precheck(&prep) {
        return Err(PlanError::Infeasible(infeasibility));
    }
    let remaining = || options.time_limit_seconds - started.elapsed().as_secs_f64();
    let settings = |time_limit: f64| Settings {
        time_limit,
        mip_gap: options.mip_gap,
        threads: options.threads,
        neighbourhood_columns: options.neighbourhood_columns,
    };
    // The baseline is the first incumbent (so a feasible instance always has a plan) and
    // the MIP start of every level-1 solve that a cut did not make it miss.
    let mut best: Option<Best> = None;
    let mut baseline_start: Option<Start> = None;
    {
        // Half the limit at most for the baseline's pair moves (they never bind but on a
        // limit shorter than the baseline's own work).
        let baseline = super::greedy::plan_within(
            instance,
            Some(started + std::time::Duration::from_secs_f64(0.5 * options.time_limit_seconds)),
        );
        if validate(instance, &baseline).is_empty() {
            baseline_start = meetings_of(&prep, &baseline).map(Start::Meetings);
            best = Some(Best {
                objective: soft_cost(instance, &baseline).total,
                occurrences: baseline,
                method: PlanMethod::Baseline,
            });
        }
    }
    let mut cuts: Vec<Cut> = Vec::new();
    // Every cut so far was proven (a search that ran out of budget proves nothing).
    let mut proven_cuts = true;
    // Every cost is >= 0, so 0 bounds any plan.
    let mut bound = 0.0f64;
    let mut start: Option<Start> = baseline_start.clone();
    let mut size = (0, 0);
    let mut build_seconds = 0.0;
    // Set when the time limit is too short for the optimizer to start: with about what it
    // would need, when known.
    let mut too_short: Option<Option<f64>> = None;
    // The last stop was the clock's (else level 1 was solved and nothing left to learn).
    let mut timed_out = false;
    // The last level-1 solve searched neighbourhoods ([`lns`]), its bound the LP's.
    let mut neighbourhoods = false;
    // Level 2 needs about 3 ms a meeting in a hurry (a prefecture's year: 5 s).
    let meetings = f64::from(rules::required_occurrences(instance));
    let reserve = (0.003 * meetings)
        .max(1.0)
        .min(0.25 * options.time_limit_seconds);
    let deadline = started + std::time::Duration::from_secs_f64(options.time_limit_seconds);
    for round in 0.. {
        progress(Progress {
            stage: "solving",
            fraction: 0.1 + 0.8 * (1.0 - 0.5f64.powi(round)),
        });
        // A round that cannot even build its model in time would overrun the limit.
        if remaining() <= 0.0 || (best.is_some() && remaining() < 1.5 * build_seconds + 0.2) {
            if round == 0 {
                too_short = Some(None);
            }
            timed_out = true;
            break;
        }
        let budget = (remaining() - reserve).max(0.5 * remaining());
        let outcome = level1::solve(&prep, &cuts, Mode::Plan, settings(budget), start.as_ref())?;
        let solution = match outcome {
            Outcome::Solved(solution) => solution,
            Outcome::TooLittleTime { needed } if best.is_some() => {
                too_short = Some(Some(started.elapsed().as_secs_f64() + needed));
                break;
            }
            Outcome::NoSolution | Outcome::Infeasible if best.is_some() => {
                timed_out = true;
                break;
            }
            Outcome::NoSolution | Outcome::TooLittleTime { .. } => {
                return Err(PlanError::Solver(
                    "no plan found within the time limit".into(),
                ))
            }
            Outcome::Infeasible => {
                // Give the explanation its own short budget, even when the plan used it all.
                let budget = remaining().max(options.time_limit_seconds.min(10.0) / 2.0);
                let infeasibility = explain::elastic(&prep, &cuts, settings(budget))?;
                return Err(PlanError::Infeasible(infeasibility));
            }
        };
        // Each round's model holds more cuts, so its optimum can only rise; when HiGHS's
        // tolerances make a later proven optimum come out lower, that lower one is kept.
        bound = if solution.optimal {
            solution.bound.max(0.0)
        } else {
            bound.max(solution.bound)
        };
        size = (solution.variables, solution.constraints);
        neighbourhoods = solution.neighbourhoods.is_some();
        build_seconds = solution.build_seconds;
        // Close to the limit, each day's search gets a smaller budget.
        let Some(day) = timetable(&prep, &solution, remaining() < 0.5 * reserve, deadline) else {
            timed_out = true;
            break;
        };
        proven_cuts &= day.proven_cuts;
        if !day.apart.is_empty() {
            cuts.extend(day.apart);
            start = baseline_start.clone();
            continue;
        }
        let occurrences = occurrences(&prep, day.placed);
        let objective = soft_cost(instance, &occurrences).total;
        // Level 1 counts every goal at no more than its true value (see the module doc).
        debug_assert!(
            objective >= solution.objective - 1e-6 * objective.abs().max(1.0),
            "level 1 overestimates: {} > {objective}",
            solution.objective
        );
        // Only a plan the independent validator accepts may replace the incumbent (a level-2
        // bug must cost a better plan, never a valid one).
        let valid = validate(instance, &occurrences).is_empty();
        debug_assert!(valid, "level 2 produced an invalid plan");
        if valid && best.as_ref().is_none_or(|b| objective < b.objective - 1e-9) {
            best = Some(Best {
                occurrences,
                objective,
                method: PlanMethod::Optimizer,
            });
        }
        let best_objective = best.as_ref().map_or(objective, |b| b.objective);
        // Costs level 2 found that level 1 did not see: teach them and solve again, from
        // this solution, while that can still close the gap.
        let unseen: Vec<Cut> = day
            .costs
            .into_iter()
            .filter(|cut| !cuts.contains(cut))
            .filter(|cut| match cut {
                Cut::Cost { meetings, cost } => {
                    let charged: f64 = meetings.iter().filter_map(|m| solution.late.get(m)).sum();
                    *cost > charged + 1e-6
                }
                Cut::Apart(_) => false,
            })
            .collect();
        let gap = relative_gap(best_objective, bound);
        if gap <= options.mip_gap || !solution.optimal || unseen.is_empty() {
            // A converged neighbourhood search stopped by itself, not by the clock.
            timed_out |= !solution.optimal && solution.neighbourhoods != Some(true);
            break;
        }
        cuts.extend(unseen);
        start = Some(Start::Columns(solution.columns));
    }
    let Some(Best {
        occurrences,
        objective,
        method,
    }) = best
    else {
        return Err(PlanError::Solver(
            "time limit reached before every day could be timetabled".into(),
        ));
    };
    progress(Progress {
        stage: "extracting",
        fraction: 0.95,
    });
    // Rounding aside, the bound cannot exceed a plan's value.
    let bound = bound.min(objective);
    let gap = relative_gap(objective, bound);
    // The bound holds whatever stopped the solves, unless it rests on an unproven cut.
    let optimal = proven_cuts && gap <= options.mip_gap + 1e-9;
    let seconds = started.elapsed().as_secs_f64();
    let note =
        (!optimal).then(|| stop_note(options, method, gap, too_short, timed_out, neighbourhoods));
    let changes = super::repair::changes(instance, &occurrences);
    // Recounted from the final occurrences, not read off level 1.
    let targets = super::targets::outcomes(instance, &occurrences);
    progress(Progress {
        stage: "extracting",
        fraction: 1.0,
    });
    Ok(Plan {
        occurrences,
        method,
        note,
        status: if optimal {
            SolveStatus::Optimal
        } else {
            SolveStatus::TimeLimit
        },
        objective,
        bound,
        gap,
        solve_seconds: seconds,
        variables: size.0,
        constraints: size.1,
        changes,
        targets,
    })
}

/// Why a plan is not proven optimal, for the coordinator.
fn stop_note(
    options: &PlanOptions,
    method: PlanMethod,
    gap: f64,
    too_short: Option<Option<f64>>,
    timed_out: bool,
    neighbourhoods: bool,
) -> Text {
    let limit = seconds(options.time_limit_seconds);
    let pct = gap * 100.0;
    if neighbourhoods && method == PlanMethod::Optimizer && too_short.is_none() {
        return if timed_out {
            Text::new(
                format!("日単位のモデルが大きいため、1〜2か月ずつ順に最適化して改善しています。計算時間の上限（{limit}秒）に達したため、その途中の計画です（線形緩和の下限との差 {pct:.2}%）"),
                format!("the day-level model is too large for one search, so the plan was improved one or two months at a time; this is the plan at the time limit of {limit} s (gap {pct:.2}% to the LP bound)"),
            )
        } else {
            Text::new(
                format!("日単位のモデルが大きいため、1〜2か月ずつ順に最適化し、どの月もこれ以上改善できなくなるまで続けました。最適であることは証明していません（線形緩和の下限との差 {pct:.2}%）"),
                format!("the day-level model is too large for one search, so the plan was improved one or two months at a time until no month could be improved; it is not proven optimal (gap {pct:.2}% to the LP bound)"),
            )
        };
    }
    if !timed_out && too_short.is_none() {
        return Text::new(
            format!("日単位のモデルは最適まで解けましたが、開始時刻・部屋・任意参加者の費用が日単位の見積りを上回った分は避けられないと証明できていません（下限との差 {pct:.2}%）"),
            format!("the day-level model was solved to optimality; what start times, rooms and optional attendance cost beyond its estimate could not be proven unavoidable (gap {pct:.2}% to the bound)"),
        );
    }
    match (method, too_short) {
        (PlanMethod::Baseline, Some(Some(needed))) => Text::new(
            format!("計算時間の上限（{limit}秒）はこの規模の最適化には短すぎるため（約{}秒必要）、基準の計画（手作業と同じ作り方で整えた計画）を使っています", seconds(needed.ceil())),
            format!("the time limit of {limit} s is too short for the optimizer on a plan of this size (it needs about {} s); this is the baseline plan", seconds(needed.ceil())),
        ),
        (PlanMethod::Baseline, Some(None)) => Text::new(
            format!("計算時間の上限（{limit}秒）は基準の計画を作る間に尽きたため最適化は行っておらず、基準の計画（手作業と同じ作り方で整えた計画）を使っています"),
            format!("the time limit of {limit} s was used up by the baseline, so the optimizer did not run; this is the baseline plan"),
        ),
        (PlanMethod::Baseline, None) => Text::new(
            format!("計算時間の上限（{limit}秒）までに最適化で基準の計画より良い計画が見つからなかったため、基準の計画を使っています（下限との差 {pct:.2}%）"),
            format!("the optimizer found no better plan than the baseline within the time limit of {limit} s; this is the baseline (gap {pct:.2}% to the bound)"),
        ),
        _ => Text::new(
            format!("計算時間の上限（{limit}秒）に達したため、最適であることの証明前に停止しました（下限との差 {pct:.2}%）"),
            format!("stopped at the time limit of {limit} s before proving the plan optimal (gap {pct:.2}% to the bound)"),
        ),
    }
}

/// Seconds for people: whole seconds, tenths below ten.
fn seconds(s: f64) -> String {
    if s >= 10.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.1}")
    }
}

/// The plan's meetings as level-1 (series, candidate) pairs, if every occurrence falls on
/// a candidate day of its series.
fn meetings_of(prep: &Prepared, occurrences: &[Occurrence]) -> Option<Vec<(usize, usize)>> {
    occurrences
        .iter()
        .map(|o| {
            let s = *prep.position.get(&o.series)?;
            let day = prepare::day_of(prep.instance, o.date);
            Some((s, prepare::series_candidate(&prep.series, s, day)?))
        })
        .collect()
}

/// The best plan of the rounds so far.
struct Best {
    occurrences: Vec<Occurrence>,
    objective: f64,
    method: PlanMethod,
}

/// (objective - bound) / max(|objective|, 1), as `Plan::gap` defines it.
fn relative_gap(objective: f64, bound: f64) -> f64 {
    (objective - bound).max(0.0) / objective.abs().max(1.0)
}

/// Level 2 over every day of a level-1 solution.
struct Timetable {
    placed: Vec<level2::Placed>,
    /// Groups of meetings that did not fit on their day.
    apart: Vec<Cut>,
    /// Time-dependent costs level 1 may have missed.
    costs: Vec<Cut>,
    /// Every `apart` cut was proven.
    proven_cuts: bool,
}

/// `None` when the deadline passes before every day is placed.
fn timetable(
    prep: &Prepared,
    solution: &level1::Solution,
    hurry: bool,
    deadline: Instant,
) -> Option<Timetable> {
    let mut by_day: std::collections::BTreeMap<prepare::Day, Vec<(usize, usize)>> =
        Default::default();
    for (s, chosen) in solution.chosen.iter().enumerate() {
        for &c in chosen {
            by_day
                .entry(prep.series[s].candidates[c].day)
                .or_default()
                .push((s, c));
        }
    }
    let mut out = Timetable {
        placed: Vec::new(),
        apart: Vec::new(),
        costs: Vec::new(),
        proven_cuts: true,
    };
    for meetings in by_day.values() {
        if Instant::now() > deadline {
            return None;
        }
        match level2::schedule_day(prep, meetings, hurry) {
            DayResult::Placed { meetings, costs } => {
                out.placed.extend(meetings);
                out.costs.extend(costs);
            }
            DayResult::Conflict { cut, proven } => {
                out.proven_cuts &= proven;
                out.apart.push(cut);
            }
        }
    }
    Some(out)
}

/// The placed meetings as occurrences, by date, start and series, numbered per series.
fn occurrences(prep: &Prepared, placed: Vec<level2::Placed>) -> Vec<Occurrence> {
    let mut out: Vec<Occurrence> = placed
        .into_iter()
        .map(|p| {
            let data = &prep.series[p.series];
            let date = data.candidates[p.candidate].date;
            let start = rules::time_of(p.start);
            Occurrence {
                series: data.series.id,
                index: 0,
                date,
                start,
                end: start + Duration::minutes(i64::from(data.duration())),
                room: p.room,
                attendees: p.attendees,
            }
        })
        .collect();
    out.sort_by_key(|o| (o.date, o.start, o.series));
    let mut next: std::collections::HashMap<SeriesId, u32> = Default::default();
    for o in &mut out {
        let n = next.entry(o.series).or_default();
        o.index = *n;
        *n += 1;
    }
    out
}

#[cfg(test)]
mod tests;
