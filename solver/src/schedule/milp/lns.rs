//! Large-neighbourhood search for day-level models too large for one HiGHS branch and bound
//! within the time limit (a prefecture's or a large city's fiscal year, [`LNS_COLUMNS`]).
//!
//! On such models HiGHS spends the whole limit at the root (size l: 8 s presolve, 3 s LP,
//! 23 s of cut rounds, then sub-MIP heuristics that reach a good plan only near the end),
//! takes 1.8 GiB doing it, overruns the limit inside a phase it cannot interrupt, and what
//! it returns depends on how far it got when the clock stopped it. So instead:
//!
//! 1. the incumbent's days (the baseline's) are fixed and the continuous columns completed
//!    (an LP after presolve removed every binary);
//! 2. the LP relaxation of the whole model gives the lower bound (valid for the whole
//!    problem, like the MIP's dual bound, see the module doc of `milp`);
//! 3. neighbourhoods, one calendar month and then two consecutive months, are freed in turn
//!    with every other day fixed at the incumbent, and each small MIP is solved to its gap
//!    from the incumbent as MIP start; a cheaper result becomes the incumbent;
//! 4. passes repeat until one brings no improvement or the time is up.
//!
//! Each step's result depends only on the incumbent and the neighbourhood, and the steps
//! run in a fixed order, so the same input gives the same plan whenever the search ends
//! by converging rather than by the clock. No step holds more than one month or two of
//! binaries in HiGHS's search, which keeps memory and the time of any single phase small.

use std::time::Instant;

use chrono::{Datelike, NaiveDate};
use highs_sys::HighsInt;

use super::level1::Settings;
use crate::schedule::milp::PlanError;

/// Models with at least this many columns are planned by neighbourhoods. The benchmark
/// families: the demo's year 23k, m 45k, city 42k (one branch and bound, optimal or close
/// in seconds); l 226k, pref 210k.
pub(crate) const LNS_COLUMNS: usize = 100_000;

pub(crate) struct Improved {
    pub columns: Vec<f64>,
    pub objective: f64,
    /// The LP relaxation's optimum (0 when it could not be solved in time).
    pub bound: f64,
    /// The search converged (a whole pass without improvement) before the time limit.
    pub converged: bool,
}

/// `days[i]` is the date of day-column `cols[i]`; `start` a full column vector whose day
/// columns are the incumbent's (the others are recomputed).
pub(crate) fn improve(
    model: highs::Model,
    cols: &[usize],
    days: &[NaiveDate],
    start: &[f64],
    settings: Settings,
) -> Result<Option<Improved>, PlanError> {
    let started = Instant::now();
    let remaining = || settings.time_limit - started.elapsed().as_secs_f64();
    let mut search = Search {
        model: Some(model),
        cols,
        fixed: vec![None; cols.len()],
    };
    // 1. The incumbent itself, every day fixed.
    let all_fixed: Vec<bool> = vec![false; cols.len()];
    let Some(first) = search.solve(&all_fixed, start, remaining())? else {
        return Ok(None);
    };
    let mut best = first;
    // 2. The lower bound.
    let bound = search.relaxation(remaining())?.unwrap_or(0.0);
    // 3-4. Neighbourhoods: months, then pairs of consecutive months.
    let months: Vec<(i32, u32)> = {
        let mut m: Vec<(i32, u32)> = days.iter().map(|d| (d.year(), d.month())).collect();
        m.sort();
        m.dedup();
        m
    };
    let month_of: Vec<usize> = days
        .iter()
        .map(|d| months.binary_search(&(d.year(), d.month())).unwrap_or(0))
        .collect();
    let mut neighbourhoods: Vec<(usize, usize)> = (0..months.len()).map(|m| (m, m)).collect();
    neighbourhoods.extend((1..months.len()).map(|m| (m - 1, m)));
    let mut converged = false;
    'passes: loop {
        let mut improved = false;
        for &(from, to) in &neighbourhoods {
            if remaining() <= 0.0 {
                break 'passes;
            }
            let free: Vec<bool> = month_of.iter().map(|m| (from..=to).contains(m)).collect();
            match search.solve(&free, &best.columns, remaining())? {
                Some(step)
                    if step.objective < best.objective - 1e-6 * best.objective.abs().max(1.0) =>
                {
                    best = step;
                    improved = true;
                }
                Some(step) if !step.finished => break 'passes,
                None => break 'passes,
                _ => {}
            }
        }
        if !improved {
            converged = true;
            break;
        }
    }
    Ok(Some(Improved {
        columns: best.columns,
        objective: best.objective,
        bound: bound.min(best.objective),
        converged,
    }))
}

struct Step {
    columns: Vec<f64>,
    objective: f64,
    /// Solved to its gap (not stopped by the clock).
    finished: bool,
}

struct Search<'a> {
    /// Always `Some` between solves (HiGHS's solve takes the model by value).
    model: Option<highs::Model>,
    cols: &'a [usize],
    /// The bound each day column has in the model now: `Some(v)` fixed at v, `None` free.
    fixed: Vec<Option<f64>>,
}

impl Search<'_> {
    /// Fixes every day column not in `free` at its value in `incumbent`, frees the others,
    /// and solves from `incumbent`. `None` when no solution came back.
    fn solve(
        &mut self,
        free: &[bool],
        incumbent: &[f64],
        time: f64,
    ) -> Result<Option<Step>, PlanError> {
        if time <= 0.0 {
            return Ok(None);
        }
        let mut set = Vec::new();
        let mut lower = Vec::new();
        let mut upper = Vec::new();
        for (i, &col) in self.cols.iter().enumerate() {
            let want = (!free[i]).then(|| incumbent[col].round());
            if want != self.fixed[i] {
                set.push(col as HighsInt);
                lower.push(want.unwrap_or(0.0));
                upper.push(want.unwrap_or(1.0));
                self.fixed[i] = want;
            }
        }
        let mut model = self.bounds(&set, &lower, &upper)?;
        set_time(&mut model, time)?;
        // The incumbent is feasible whatever is freed; HiGHS completes its other columns.
        let _ = model.try_set_solution(Some(incumbent), None, None, None);
        let solved = model
            .try_solve()
            .map_err(|e| PlanError::Solver(format!("HiGHS failed ({e:?})")))?;
        let status = format!("{:?}", solved.status());
        let feasible = solved.int_info_value(c"primal_solution_status") == Ok(2);
        let step = feasible.then(|| Step {
            columns: solved.get_solution().columns().to_vec(),
            objective: solved.objective_value(),
            finished: status == "Optimal",
        });
        self.model = Some(solved.into());
        Ok(step)
    }

    /// Takes the model out (HiGHS's solve takes it by value) with new bounds on the columns
    /// `set`; on failure it stays in place.
    fn bounds(
        &mut self,
        set: &[HighsInt],
        lower: &[f64],
        upper: &[f64],
    ) -> Result<highs::Model, PlanError> {
        let mut model = self.model.take().expect("model between solves");
        // SAFETY: the pointer is the live HiGHS instance owned by `model`; the three arrays
        // have `set.len()` entries each and every index is a column of the model.
        let status = unsafe {
            highs_sys::Highs_changeColsBoundsBySet(
                model.as_mut_ptr(),
                set.len() as HighsInt,
                set.as_ptr(),
                lower.as_ptr(),
                upper.as_ptr(),
            )
        };
        if status < 0 {
            self.model = Some(model);
            return Err(PlanError::Solver("HiGHS refused new column bounds".into()));
        }
        Ok(model)
    }

    /// The LP relaxation of the whole model (every day column free): a lower bound.
    fn relaxation(&mut self, time: f64) -> Result<Option<f64>, PlanError> {
        if time <= 0.0 {
            return Ok(None);
        }
        let mut set = Vec::new();
        for (i, &col) in self.cols.iter().enumerate() {
            if self.fixed[i].is_some() {
                set.push(col as HighsInt);
                self.fixed[i] = None;
            }
        }
        let (lower, upper) = (vec![0.0; set.len()], vec![1.0; set.len()]);
        let mut model = self.bounds(&set, &lower, &upper)?;
        set_time(&mut model, time)?;
        option(&mut model, "solve_relaxation", true)?;
        let solved = model
            .try_solve()
            .map_err(|e| PlanError::Solver(format!("HiGHS failed ({e:?})")))?;
        let optimal = format!("{:?}", solved.status()) == "Optimal";
        let value = solved.objective_value();
        let mut model: highs::Model = solved.into();
        option(&mut model, "solve_relaxation", false)?;
        self.model = Some(model);
        Ok(optimal.then_some(value))
    }
}

fn set_time(model: &mut highs::Model, time: f64) -> Result<(), PlanError> {
    model
        .try_set_option("time_limit", time.max(0.01))
        .map_err(|_| PlanError::Solver("HiGHS rejected option time_limit".into()))
}

fn option(model: &mut highs::Model, name: &str, value: bool) -> Result<(), PlanError> {
    model
        .try_set_option(name, value)
        .map_err(|_| PlanError::Solver(format!("HiGHS rejected option {name}")))
}
