//! The indicators in the service: the dashboard of a fiscal year (figures and proposals), the
//! drill-down, and carrying out a proposal. Pages and the API both call these.

use chrono::NaiveDate;
use renkei_solver::calendar::FiscalYear;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    evaluate, proposals, report, Action, Data, Figure, IndicatorInput, OccState, Proposal,
};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::meetings::{start_plan, ValidPlanRequest};
use crate::planning::Method;
use crate::store::tenancy::{MunicipalityId, User};
use crate::store::Db;

/// A fiscal year's indicators as the dashboard shows them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    pub fiscal_year: i32,
    pub label: Msg,
    /// The day the figures are computed for (today in Japan).
    pub today: NaiveDate,
    pub figures: Vec<Figure>,
    pub proposals: Vec<Proposal>,
}

pub async fn load(
    db: &Db,
    m: MunicipalityId,
    fy: FiscalYear,
    today: NaiveDate,
) -> Result<(Vec<IndicatorInput>, Data)> {
    let defs = db
        .indicators(m, fy)
        .await?
        .into_iter()
        .map(|i| i.def)
        .collect();
    let data = db.indicator_data(m, fy, today).await?;
    Ok((defs, data))
}

pub async fn dashboard(
    db: &Db,
    m: MunicipalityId,
    fy: FiscalYear,
    today: NaiveDate,
) -> Result<Dashboard> {
    let (defs, data) = load(db, m, fy, today).await?;
    let figures = evaluate(&defs, &data);
    let proposals = proposals(&defs, &figures, &data);
    Ok(Dashboard {
        fiscal_year: fy.year(),
        label: Msg::new(fy.label_ja(), fy.label_en()),
        today,
        figures,
        proposals,
    })
}

/// One occurrence an indicator counts, and how it stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DrillRow {
    pub id: i64,
    pub date: NaiveDate,
    pub start: String,
    pub title: String,
    pub state: OccState,
    pub state_label: Msg,
    pub invited: u32,
    /// Invitees who said attend or deputy.
    pub confirmed: u32,
    pub declined: u32,
    /// Invitees recorded as having come (held meetings).
    pub came: u32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Drill {
    pub figure: Figure,
    pub occurrences: Vec<DrillRow>,
}

pub async fn drill(
    db: &Db,
    m: MunicipalityId,
    fy: FiscalYear,
    today: NaiveDate,
    code: &str,
) -> Result<Drill> {
    let (defs, data) = load(db, m, fy, today).await?;
    let def = defs
        .iter()
        .find(|d| d.code == code)
        .ok_or_else(|| Error::not_found("指標", "indicator"))?;
    let figure = evaluate(std::slice::from_ref(def), &data).remove(0);
    let occurrences = data
        .occurrences
        .iter()
        .filter(|o| figure.occurrences.contains(&o.id))
        .map(|o| {
            let state = o.state(today);
            let answered = |a: &[&str]| {
                o.invitees
                    .iter()
                    .filter(|i| i.answer.as_deref().is_some_and(|x| a.contains(&x)))
                    .count() as u32
            };
            DrillRow {
                id: o.id,
                date: o.date,
                start: o.start.clone(),
                title: o.title.clone(),
                state,
                state_label: report::state_label(state),
                invited: o.invitees.len() as u32,
                confirmed: answered(&["attend", "deputy"]),
                declined: answered(&["decline"]),
                came: o
                    .record
                    .as_ref()
                    .map(|r| r.participants.len() as u32)
                    .unwrap_or(0),
            }
        })
        .collect();
    Ok(Drill {
        figure,
        occurrences,
    })
}

/// What carrying out a proposal did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Acted {
    pub indicator: String,
    pub action: Action,
    /// Invitees added (invitations queued for each).
    pub invited: usize,
    /// The planning run started (review and publish it as usual).
    pub plan_run_id: Option<i64>,
    pub message: Msg,
}

/// Carries out the current proposal for one indicator. The proposal is computed afresh, so a
/// repeated request does only what is still missing (invitations are never queued twice).
pub async fn act(
    db: &Db,
    user: &User,
    fy: FiscalYear,
    today: NaiveDate,
    code: &str,
    time_limit_seconds: f64,
    defaults: crate::meetings::PlanDefaults,
) -> Result<Acted> {
    let min_notice_days = defaults.min_notice_days;
    let (defs, data) = load(db, user.municipality_id, fy, today).await?;
    if !defs.iter().any(|d| d.code == code) {
        return Err(Error::not_found("指標", "indicator"));
    }
    let figures = evaluate(&defs, &data);
    let Some(p) = proposals(&defs, &figures, &data)
        .into_iter()
        .find(|p| p.indicator == code)
    else {
        return Err(Error::Conflict(Msg::new(
            "この指標は達成見込みのため、いま行う提案はありません",
            "this indicator is on track; there is no proposal to carry out",
        )));
    };
    match &p.action {
        Action::CheckStaff => Err(Error::Conflict(Msg::new(
            "人員配置は日程では解決できません。職員の名簿（資格）を更新してください",
            "staffing cannot be planned; update the staff list (qualifications)",
        ))),
        Action::Invite {
            occurrence_id,
            people,
        } => {
            let invited = db
                .invite_to_occurrence(user, *occurrence_id, people)
                .await?;
            Ok(Acted {
                indicator: code.to_string(),
                message: Msg::new(
                    format!("{invited}人を招待しました。招待メールを送ります"),
                    format!("{invited} people invited; their invitations are on the way"),
                ),
                action: p.action.clone(),
                invited,
                plan_run_id: None,
            })
        }
        Action::Replan { from, to } => {
            let earliest = today + chrono::Duration::days(min_notice_days);
            if *to < earliest {
                return Err(Error::BadRequest(Msg::new(
                    format!("年度末（{to}）までに、案内が間に合う日（{earliest}以降）がありません"),
                    format!("no day before the end of the fiscal year ({to}) leaves enough notice (from {earliest} on)"),
                )));
            }
            let run = start_plan(
                db,
                user,
                &ValidPlanRequest {
                    label: format!("指標の再計画 {from} 〜 {to}"),
                    // No meeting sooner than the notice allows.
                    period: renkei_solver::schedule::model::DateRange {
                        from: (*from).max(earliest),
                        to: *to,
                    },
                    planning_date: today,
                    time_limit_seconds,
                    method: Method::Milp,
                    series: Vec::new(),
                    weights: Default::default(),
                    // Adding meetings for an indicator moves no published one that can
                    // still be held.
                    changes: crate::meetings::ChangeBudget::Affected,
                    defaults,
                },
            )
            .await?;
            Ok(Acted {
                indicator: code.to_string(),
                message: Msg::new(
                    "再計画を始めました。結果を確認してから公開してください",
                    "re-planning started; review the result, then publish it",
                ),
                action: p.action.clone(),
                invited: 0,
                plan_run_id: Some(run.id),
            })
        }
    }
}
