//! Running the meeting planner from the service and the CLI: solve an instance with the MILP or
//! the greedy baseline, check the result with the independent validator, and report. A plan
//! that fails validation is never returned as a plan.

use std::time::Instant;

use renkei_solver::schedule::milp::{PlanOptions, Progress};
use renkei_solver::schedule::model::{
    Change, Infeasibility, Instance, Occurrence, Plan, PlanMethod, TargetOutcome, Text,
};
use renkei_solver::schedule::score::{soft_cost, SoftCost};
use renkei_solver::schedule::validate::{validate, Violation};
use renkei_solver::schedule::{greedy, repair, rules};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Milp,
    Greedy,
}

/// What `renkei solve` writes: the plan (if any), its validation and its soft cost.
#[derive(Debug, Clone, Serialize)]
pub struct SolveReport {
    pub instance: String,
    pub method: Method,
    /// Occurrences the cadences ask for (sum of the windows' minimums).
    pub required_occurrences: u32,
    pub occurrences: Vec<Occurrence>,
    /// What differs from the published calendar, and who must be told.
    pub changes: Vec<Change>,
    /// Solver figures (MILP only).
    pub plan: Option<PlanFigures>,
    pub infeasibility: Option<Infeasibility>,
    pub valid: bool,
    pub violations: Vec<Violation>,
    /// Per indicator target of the instance: what the plan reaches, and why not when short.
    pub targets: Vec<TargetOutcome>,
    pub soft_cost: SoftCost,
    pub seconds: f64,
    /// Peak resident memory of this process, MiB (Linux; 0 elsewhere).
    pub peak_memory_mib: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlanFigures {
    /// What produced the occurrences: the optimizer or the baseline.
    pub method: PlanMethod,
    /// When and why the optimizer stopped before proving optimality (ja / en).
    pub note: Option<Text>,
    pub status: renkei_solver::schedule::model::SolveStatus,
    pub objective: f64,
    pub bound: f64,
    pub gap: f64,
    pub variables: usize,
    pub constraints: usize,
}

impl From<&Plan> for PlanFigures {
    fn from(p: &Plan) -> PlanFigures {
        PlanFigures {
            method: p.method,
            note: p.note.clone(),
            status: p.status,
            objective: p.objective,
            bound: p.bound,
            gap: p.gap,
            variables: p.variables,
            constraints: p.constraints,
        }
    }
}

/// Solves and validates. Blocking and CPU-heavy: call from a blocking thread.
pub fn solve(instance: &Instance, method: Method) -> Result<SolveReport, String> {
    solve_with(instance, method, &mut |_| {})
}

/// [`solve`], telling `progress` of each stage of the optimizer.
pub fn solve_with(
    instance: &Instance,
    method: Method,
    progress: &mut dyn FnMut(Progress),
) -> Result<SolveReport, String> {
    let started = Instant::now();
    let (occurrences, plan, infeasibility) = match method {
        Method::Greedy => (greedy::plan(instance), None, None),
        Method::Milp => match plan_or_repair(instance, progress) {
            Ok(plan) => (
                plan.occurrences.clone(),
                Some(PlanFigures::from(&plan)),
                None,
            ),
            Err(renkei_solver::schedule::milp::PlanError::Infeasible(why)) => {
                (Vec::new(), None, Some(why))
            }
            Err(e) => return Err(format!("{e}")),
        },
    };
    let seconds = started.elapsed().as_secs_f64();
    let violations = if infeasibility.is_some() {
        Vec::new()
    } else {
        validate(instance, &occurrences)
    };
    Ok(SolveReport {
        instance: instance.name.clone(),
        method,
        changes: repair::changes(instance, &occurrences),
        required_occurrences: rules::required_occurrences(instance),
        soft_cost: soft_cost(instance, &occurrences),
        targets: if infeasibility.is_some() {
            Vec::new()
        } else {
            renkei_solver::schedule::targets::outcomes(instance, &occurrences)
        },
        valid: infeasibility.is_none() && violations.is_empty(),
        occurrences,
        plan,
        infeasibility,
        violations,
        seconds,
        peak_memory_mib: peak_memory_mib(),
    })
}

/// With published occurrences in the period, re-planning repairs the calendar (only the series
/// a change touches move); otherwise the whole period is planned.
fn plan_or_repair(
    instance: &Instance,
    progress: &mut dyn FnMut(Progress),
) -> Result<Plan, renkei_solver::schedule::milp::PlanError> {
    let options = PlanOptions::for_instance(instance);
    if instance
        .published
        .iter()
        .any(|p| instance.period.contains(p.occurrence.date))
    {
        repair::repair(instance, &options, progress)
    } else {
        renkei_solver::schedule::milp::plan_with(instance, &options, progress)
    }
}

/// Peak resident set size of this process (VmHWM), in MiB.
pub fn peak_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}
