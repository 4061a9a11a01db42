//! Meeting calendars in the service: series descriptions ([`spec`], [`presets`]), the instance
//! built from master data ([`build`]), planning runs as background jobs (this file), and the
//! published calendar's feeds and exports ([`ical`], [`export`]).
//!
//! A planning run: the coordinator picks a period → the instance is built from the data as it
//! is now and stored with the run → a job solves it off the async runtime: first the greedy
//! baseline (validated, shown as "best so far" within a second), then the optimizer, with
//! progress → the report (always validated) is stored → the coordinator previews and publishes.

pub mod build;
pub mod export;
pub mod held;
pub mod ical;
pub mod presets;
pub mod spec;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::NaiveDate;
use renkei_solver::calendar::{FiscalYear, Quarter};
use renkei_solver::schedule::milp::Progress;
use renkei_solver::schedule::model::{DateRange, Instance, Pin, PublishedOccurrence, Weights};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::jobs::{JobContext, JobError, JobResult, Worker};
use crate::master::{parse_date, FieldError};
use crate::planning::{self, Method};
use crate::store::meetings::{PlanColumn, PlanRun, RunInput, PLAN_JOB};
use crate::store::tenancy::{MunicipalityId, User};
use crate::store::Db;

/// What a coordinator asks for: a period and how long the optimizer may take.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequestInput {
    /// A quarter ("2027Q1", "R9Q1", "令和9年度 第1四半期") or a fiscal year ("FY2027",
    /// "令和9年度"); or leave empty and give `from` and `to`.
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// "Today" for lead times (default: today in Japan). Days before it are not planned.
    #[serde(default)]
    pub planning_date: String,
    /// Optimizer time limit, 1-600 seconds (default 30).
    #[serde(default)]
    pub time_limit_seconds: Option<f64>,
    /// `milp` (default) or `greedy` (the hand-planning baseline).
    #[serde(default)]
    pub method: Option<String>,
    /// Only these series codes (default: every active series).
    #[serde(default)]
    pub series: Vec<String>,
    /// What the plan may do to meetings already published in the period: `none` (keep every
    /// one as it is), `affected` (default: move only those that can no longer be held on
    /// their date — a required invitee's decline or absence, a closure), `free` (move any,
    /// each move costing the change weight).
    #[serde(default)]
    pub changes: Option<String>,
    /// Soft-goal weights (default: the standard weights).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub weights: Option<Weights>,
}

/// The municipality's planning rules a request does not carry (its settings over the
/// configuration: [`crate::settings`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanDefaults {
    /// No meeting before today plus this many days.
    pub min_notice_days: i64,
    /// Every person's daily limits where they are required (None: no limit).
    pub max_meetings_per_day: Option<u32>,
    pub max_minutes_per_day: Option<u32>,
    /// Working hours of everyone without their own (Mon-Fri 8:30-17:30 unless the
    /// municipality set others).
    pub staff_hours: renkei_solver::calendar::OpeningHours,
}

impl Default for PlanDefaults {
    fn default() -> Self {
        crate::config::Config::default().plan_defaults()
    }
}

/// What a plan may do to the published meetings of its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChangeBudget {
    /// Keep every one: date, time and room.
    None,
    /// Move only those that can no longer be held on their date; keep the others' dates.
    #[default]
    Affected,
    /// Move any, at the change cost.
    Free,
}

pub struct ValidPlanRequest {
    pub label: String,
    pub period: DateRange,
    pub planning_date: NaiveDate,
    pub time_limit_seconds: f64,
    pub method: Method,
    pub series: Vec<String>,
    pub weights: Weights,
    pub changes: ChangeBudget,
    pub defaults: PlanDefaults,
}

impl PlanRequestInput {
    /// `today` is the JST date now; no meeting is planned before `today + min_notice_days`
    /// (nor before the request's planning date).
    pub fn parse(
        &self,
        today: NaiveDate,
        defaults: PlanDefaults,
    ) -> std::result::Result<ValidPlanRequest, Vec<FieldError>> {
        let min_notice_days = defaults.min_notice_days;
        let mut e = Vec::new();
        let p = self.period.trim();
        let mut label = String::new();
        let mut period = None;
        if !p.is_empty() {
            if let Ok(q) = p.parse::<Quarter>() {
                label = q.label_ja();
                period = Some(DateRange {
                    from: q.start(),
                    to: q.end(),
                });
            } else if let Ok(fy) = p.parse::<FiscalYear>() {
                label = fy.label_ja();
                period = Some(DateRange {
                    from: fy.start(),
                    to: fy.end(),
                });
            } else {
                e.push(FieldError::new(
                    "period",
                    format!("期間「{p}」が読めません。2027Q1、FY2027、令和9年度 第1四半期 のように入力してください"),
                    format!("cannot read the period \"{p}\"; write 2027Q1, FY2027 or 令和9年度 第1四半期"),
                ));
            }
        } else {
            match (parse_date("from", &self.from), parse_date("to", &self.to)) {
                (Ok(from), Ok(to)) if from <= to && (to - from).num_days() <= 400 => {
                    label = format!("{from} 〜 {to}");
                    period = Some(DateRange { from, to });
                }
                (Ok(_), Ok(_)) => e.push(FieldError::new(
                    "to",
                    "終了日は開始日以降、期間は400日以内にしてください",
                    "the end must not be before the start, and the period at most 400 days",
                )),
                (a, b) => {
                    if self.from.trim().is_empty() && self.to.trim().is_empty() {
                        e.push(FieldError::new(
                            "period",
                            "計画する期間（四半期か年度、または開始日と終了日）を指定してください",
                            "give the period to plan (a quarter or fiscal year, or from and to dates)",
                        ));
                    } else {
                        e.extend(a.err());
                        e.extend(b.err());
                    }
                }
            }
        }
        // A quarter or fiscal year far in the past or future (FY9999) is refused like a date.
        if let Some(range) = &period {
            if let Err(err) = crate::master::check_date_bounds("period", range.from)
                .and_then(|_| crate::master::check_date_bounds("period", range.to))
            {
                e.push(err);
                period = None;
            }
        }
        let planning_date = if self.planning_date.trim().is_empty() {
            today
        } else {
            match parse_date("planning_date", &self.planning_date) {
                Ok(d) => d,
                Err(err) => {
                    e.push(err);
                    today
                }
            }
        };
        let time_limit_seconds = self.time_limit_seconds.unwrap_or(30.0);
        if !(1.0..=600.0).contains(&time_limit_seconds) {
            e.push(FieldError::new(
                "time_limit_seconds",
                "計算時間の上限は1〜600秒にしてください",
                "the time limit is 1-600 seconds",
            ));
        }
        let method = match self.method.as_deref().map(str::trim) {
            None | Some("") | Some("milp") => Method::Milp,
            Some("greedy") => Method::Greedy,
            Some(other) => {
                e.push(FieldError::new(
                    "method",
                    format!("方法「{other}」はありません（milp または greedy）"),
                    format!("unknown method \"{other}\" (milp or greedy)"),
                ));
                Method::Milp
            }
        };
        let changes = match self.changes.as_deref().map(str::trim) {
            None | Some("") | Some("affected") => ChangeBudget::Affected,
            Some("none") => ChangeBudget::None,
            Some("free") => ChangeBudget::Free,
            Some(other) => {
                e.push(FieldError::new(
                    "changes",
                    format!("公開済みの会議の扱い「{other}」はありません（none: 動かさない、affected: 開催できなくなった会議だけ動かす、free: 自由に動かす）"),
                    format!("unknown change budget \"{other}\" (none: keep every published meeting, affected: move only those that can no longer be held, free: move any)"),
                ));
                ChangeBudget::Affected
            }
        };
        let weights = self.weights.unwrap_or_default();
        let w = [
            weights.weekday,
            weights.start_time,
            weights.spacing,
            weights.optional_missed,
            weights.weekly_load,
            weights.change,
        ];
        if w.iter().any(|x| !x.is_finite() || *x < 0.0 || *x > 1000.0) {
            e.push(FieldError::new(
                "weights",
                "重みは0〜1000の数にしてください",
                "weights are numbers from 0 to 1000",
            ));
        }
        let Some(mut period) = period else {
            return Err(e);
        };
        // Nothing in the past, and nothing so soon that invitees could not answer in time.
        let earliest = planning_date.max(today) + chrono::Duration::days(min_notice_days);
        if period.to < planning_date {
            e.push(FieldError::new(
                "period",
                format!("{label}は基準日（{planning_date}）より前に終わっています。これからの期間を選んでください"),
                format!("{label} ends before the planning date ({planning_date}); choose a period ahead"),
            ));
        } else if period.to < earliest {
            e.push(FieldError::new(
                "period",
                format!("{label}は、案内して回答をいただける最も早い日（{earliest}、今日から{min_notice_days}日後）より前に終わっています。その後の期間を選んでください"),
                format!("{label} ends before the earliest date invitees can still be notified and answer ({earliest}, {min_notice_days} days from today); choose a later period"),
            ));
        }
        if !e.is_empty() {
            return Err(e);
        }
        // Days already past or within the notice are not planned (their published meetings
        // stay as they are).
        period.from = period.from.max(earliest);
        Ok(ValidPlanRequest {
            label,
            period,
            planning_date,
            time_limit_seconds,
            method,
            series: self
                .series
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            weights,
            changes,
            defaults,
        })
    }
}

fn method_slug(m: Method) -> &'static str {
    match m {
        Method::Milp => "milp",
        Method::Greedy => "greedy",
    }
}

/// Builds the instance from the data as it is now, stores the run and enqueues its job.
pub async fn start_plan(db: &Db, user: &User, req: &ValidPlanRequest) -> Result<PlanRun> {
    let built = build_instance(db, user.municipality_id, req).await?;
    let instance = serde_json::to_value(&built.instance).map_err(|e| Error::Internal(e.into()))?;
    db.create_plan_run(
        user,
        &RunInput {
            method: method_slug(req.method),
            label: &req.label,
            period: (req.period.from, req.period.to),
            instance: &instance,
            series: &built.series,
            notes: &built.notes,
        },
    )
    .await
}

/// The solver instance of a plan request: the municipality's series, master data, published
/// calendar and indicator targets as they are now (what a planning run stores, and what
/// `renkei bench` plans for the demo).
pub async fn build_instance(
    db: &Db,
    municipality: MunicipalityId,
    req: &ValidPlanRequest,
) -> Result<build::Built> {
    let snap = db.planning_snapshot(municipality).await?;
    if snap.series.is_empty() {
        return Err(Error::BadRequest(Msg::new(
            "計画する会議シリーズがありません。先に「会議シリーズ」でシリーズを登録するか、プリセットを読み込んでください",
            "there are no meeting series to plan; add series or load a preset under Meeting series first",
        )));
    }
    if let Some(unknown) = req
        .series
        .iter()
        .find(|c| !snap.series.iter().any(|s| &s.valid.spec.code == *c))
    {
        return Err(Error::Validation(vec![FieldError::new(
            "series",
            format!("会議シリーズ「{unknown}」がありません（または無効です）"),
            format!("no active meeting series \"{unknown}\""),
        )]));
    }
    let (targets, target_note) = indicator_targets(db, municipality, req).await?;
    let mut built = build::build(
        &snap,
        &build::Request {
            label: req.label.clone(),
            period: req.period,
            planning_date: req.planning_date,
            time_limit_seconds: req.time_limit_seconds,
            grain_minutes: 30,
            weights: req.weights,
            only: req.series.clone(),
            targets,
            max_meetings_per_day: req.defaults.max_meetings_per_day,
            max_minutes_per_day: req.defaults.max_minutes_per_day,
            staff_hours: req.defaults.staff_hours,
        },
    );
    built.notes.extend(target_note);
    built
        .notes
        .extend(apply_change_budget(&mut built.instance, req.changes));
    Ok(built)
}

/// Pins the published meetings of the period as `budget` allows (a coordinator's own pin is
/// never weakened), and says what that means for the coordinator.
fn apply_change_budget(instance: &mut Instance, budget: ChangeBudget) -> Option<Msg> {
    let period = instance.period;
    let in_period = |p: &PublishedOccurrence| period.contains(p.occurrence.date);
    let published = instance.published.iter().filter(|p| in_period(p)).count();
    if published == 0 {
        return None;
    }
    let affected: BTreeSet<usize> = renkei_solver::schedule::repair::affected(instance)
        .into_iter()
        .collect();
    for (i, p) in instance.published.iter_mut().enumerate() {
        if !period.contains(p.occurrence.date) {
            continue;
        }
        let wanted = match budget {
            ChangeBudget::None => Pin::Full,
            ChangeBudget::Affected if affected.contains(&i) => Pin::None,
            ChangeBudget::Affected => Pin::Date,
            ChangeBudget::Free => Pin::None,
        };
        p.pin = match (p.pin, wanted) {
            (Pin::Full, _) | (_, Pin::Full) => Pin::Full,
            (Pin::Date, _) | (_, Pin::Date) => Pin::Date,
            _ => Pin::None,
        };
    }
    let n = affected.len();
    Some(match budget {
        ChangeBudget::None => Msg::new(
            format!("公開済みの会議{published}件は日時・会場とも動かしません（開催できなくなった会議が{n}件あれば、計画できない理由として示します）"),
            format!("the {published} published meetings keep their date, time and room (if any of the {n} that can no longer be held blocks the plan, it is named as the reason)"),
        ),
        ChangeBudget::Affected => Msg::new(
            format!("公開済みの会議{published}件のうち、開催できなくなった{n}件だけを動かし、ほかは日付を変えません"),
            format!("of the {published} published meetings, only the {n} that can no longer be held may move; the others keep their dates"),
        ),
        ChangeBudget::Free => Msg::new(
            format!("公開済みの会議{published}件も、全体が良くなるなら動かします（1件ごとに変更のコストがかかります）"),
            format!("the {published} published meetings may all move where that makes the whole plan better (each move costs the change weight)"),
        ),
    })
}

/// The fiscal year's indicators as counts the plan should reach, after what lies outside the
/// period (held or expected before it, published after it). Only for a period within one
/// fiscal year; otherwise a note says the indicators were left out.
async fn indicator_targets(
    db: &Db,
    municipality: MunicipalityId,
    req: &ValidPlanRequest,
) -> Result<(Vec<crate::indicators::PlanTarget>, Option<Msg>)> {
    let fy = FiscalYear::of(req.period.from);
    let defs: Vec<_> = db
        .indicators(municipality, fy)
        .await?
        .into_iter()
        .map(|i| i.def)
        .collect();
    if defs.is_empty() {
        return Ok((Vec::new(), None));
    }
    if !fy.contains(req.period.to) {
        return Ok((
            Vec::new(),
            Some(Msg::new(
                "期間が年度をまたぐため、指標の目標は計画に入れていません。年度ごとに計画してください",
                "the period spans two fiscal years, so the indicators' targets are left out; plan each fiscal year",
            )),
        ));
    }
    let data = db
        .indicator_data(municipality, fy, req.planning_date)
        .await?;
    Ok((
        crate::indicators::plan_targets(&defs, &data, req.period.from, req.period.to),
        None,
    ))
}

/// Registers the planning job with a worker.
pub fn register(worker: &mut Worker) {
    worker.register(PLAN_JOB, run_plan_job);
}

async fn run_plan_job(ctx: JobContext) -> JobResult {
    let payload: serde_json::Value = serde_json::from_str(&ctx.job.payload).unwrap_or_default();
    let run = payload["plan_run"]
        .as_i64()
        .ok_or_else(|| JobError::Permanent("payload without plan_run".into()))?;
    let method = match payload["method"].as_str() {
        Some("greedy") => Method::Greedy,
        _ => Method::Milp,
    };
    let (_, instance, _) = ctx
        .db
        .plan_run_input(run)
        .await
        .map_err(|e| JobError::Transient(e.to_string()))?;
    let instance: Instance = serde_json::from_value(instance)
        .map_err(|e| JobError::Permanent(format!("stored instance: {e}")))?;
    let instance = Arc::new(instance);
    let store = |column: PlanColumn, report: serde_json::Value| {
        let ctx = ctx.clone();
        async move {
            ctx.db
                .store_plan_result(run, ctx.job.id, &ctx.worker_id, column, &report)
                .await
                .map_err(|e| JobError::Transient(e.to_string()))
        }
    };

    // 1. The hand-planning baseline: a plan to look at within a second, if it is valid.
    ctx.progress(0.02, "greedy").await;
    let greedy = {
        let instance = instance.clone();
        tokio::task::spawn_blocking(move || planning::solve(&instance, Method::Greedy))
            .await
            .map_err(|e| JobError::Transient(e.to_string()))?
            .map_err(JobError::Permanent)?
    };
    if method == Method::Greedy {
        let report = to_json(&greedy)?;
        store(PlanColumn::Result, report).await?;
        ctx.progress(1.0, "done").await;
        return Ok(summary(&greedy));
    }
    if greedy.valid {
        store(PlanColumn::BestSoFar, to_json(&greedy)?).await?;
    }

    // 2. The optimizer on a blocking thread; progress = its stage, or the share of the time
    //    limit used, whichever is further.
    let stage = Arc::new(Mutex::new(Progress {
        stage: "building",
        fraction: 0.0,
    }));
    let limit = instance.time_limit_seconds;
    let solve = {
        let instance = instance.clone();
        let stage = stage.clone();
        tokio::task::spawn_blocking(move || {
            planning::solve_with(&instance, Method::Milp, &mut |p| {
                if let Ok(mut s) = stage.lock() {
                    *s = p;
                }
            })
        })
    };
    tokio::pin!(solve);
    let started = Instant::now();
    let report = loop {
        tokio::select! {
            r = &mut solve => match r.map_err(|e| JobError::Transient(e.to_string()))? {
                Ok(report) => break report,
                // The optimizer failed (HiGHS itself; a feasible instance always has the
                // baseline): the validated baseline is the result (its method says so), with
                // the whole run's seconds.
                Err(e) if greedy.valid => {
                    tracing::warn!(run, error = %e, "optimizer failed; the baseline is the result");
                    break planning::SolveReport {
                        seconds: greedy.seconds + started.elapsed().as_secs_f64(),
                        ..greedy
                    };
                }
                Err(e) => return Err(JobError::Permanent(e)),
            },
            _ = tokio::time::sleep(StdDuration::from_millis(500)) => {
                let p = *stage.lock().map_err(|_| JobError::Transient("progress lock".into()))?;
                let timed = 0.05 + 0.9 * (started.elapsed().as_secs_f64() / limit.max(1.0)).min(1.0);
                if !ctx.progress(p.fraction.max(timed).min(0.97), p.stage).await {
                    return Err(JobError::Transient("lease lost".into()));
                }
            }
        }
    };
    store(PlanColumn::Result, to_json(&report)?).await?;
    ctx.progress(1.0, "done").await;
    Ok(summary(&report))
}

fn to_json(r: &planning::SolveReport) -> std::result::Result<serde_json::Value, JobError> {
    serde_json::to_value(r).map_err(|e| JobError::Permanent(e.to_string()))
}

fn summary(r: &planning::SolveReport) -> serde_json::Value {
    serde_json::json!({
        "valid": r.valid,
        "occurrences": r.occurrences.len(),
        "infeasible": r.infeasibility.is_some(),
        "gap": r.plan.as_ref().map(|p| p.gap),
        "seconds": r.seconds,
    })
}

/// The period choices offered on the planning page: the quarters and years from the current
/// fiscal year to the next.
pub fn period_choices(today: NaiveDate) -> Vec<(String, String)> {
    let fy = FiscalYear::of(today);
    let mut out = Vec::new();
    for y in [fy.year(), fy.year() + 1] {
        let Ok(f) = FiscalYear::new(y) else { continue };
        for q in f.quarters() {
            if q.end() >= today {
                out.push((format!("{}Q{}", y, q.number()), q.label_ja()));
            }
        }
        if f.end() >= today {
            out.push((format!("FY{y}"), f.label_ja()));
        }
    }
    out
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PresetOut {
    pub slug: String,
    pub label: Msg,
    pub series: usize,
}
