//! Activity indicators (活動指標): the municipality's targets for a fiscal year, their four
//! figures, and what renkei proposes when one is at risk.
//!
//! An indicator is a name, a target and a [`Rule`] over the data. [`evaluate`] computes, from
//! one [`Data`] snapshot (the fiscal year's calendar, answers and records), for each indicator:
//! - **target** (for coverage: the number of organisations to reach),
//! - **planned**: from the published calendar (cancelled occurrences do not count),
//! - **expected**: what the answers leave of the plan. An occurrence recorded as held counts
//!   with the people who came; one recorded as not held or cancelled does not; any other
//!   counts unless a required invitee declined. An organisation takes part when one of its
//!   invitees has not declined (and `confirmed` counts those who said attend or deputy),
//! - **actual**: what the coordinator recorded as held, with who actually came.
//!
//! Every page, the API and the reports take their numbers from [`evaluate`], so they agree.
//! Pure: the store loads the snapshot ([`crate::store::indicators`]).

pub mod presets;
pub mod report;
pub mod service;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use renkei_solver::calendar::FiscalYear;
use renkei_solver::schedule::model::MeetingKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::i18n::Msg;
use crate::master::{FieldError, OrgKind};
use crate::meetings::spec::{kind_label, parse_kind};

/// What an indicator counts. Series are named by code, meeting kinds by slug
/// (`case_verification`, `subcommittee`, ...); an occurrence matches when its series or its
/// kind is listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// Occurrences held (≥ 24 case verifications, ≥ 39 subcommittee meetings).
    Occurrences {
        #[serde(default)]
        kinds: Vec<String>,
        #[serde(default)]
        series: Vec<String>,
    },
    /// Distinct organisations taking part (≥ 18 organisations in case reviews); only
    /// organisations of `org_kinds` when given.
    Organisations {
        #[serde(default)]
        kinds: Vec<String>,
        #[serde(default)]
        series: Vec<String>,
        #[serde(default)]
        org_kinds: Vec<String>,
    },
    /// Each organisation of `org_kinds` reached at least `target` times, by a visit or by
    /// taking part (≥ 1 visit per consultation office a year).
    Coverage {
        #[serde(default)]
        kinds: Vec<String>,
        #[serde(default)]
        series: Vec<String>,
        org_kinds: Vec<String>,
    },
    /// Each ward holds at least `target` occurrences (≥ 4 ward network meetings per ward).
    Wards {
        #[serde(default)]
        kinds: Vec<String>,
        #[serde(default)]
        series: Vec<String>,
    },
    /// Staff holding a qualification (3 主任相談支援専門員), at organisations of `org_kinds`.
    Staff {
        qualification: String,
        #[serde(default)]
        org_kinds: Vec<String>,
    },
    /// Series in existence: active and meeting in the year (≥ 4 subcommittees).
    Bodies {
        #[serde(default)]
        kinds: Vec<String>,
        #[serde(default)]
        series: Vec<String>,
    },
    /// Distinct organisations of `org_kinds` visited: an occurrence held at them (Sendai:
    /// 短期入所事業所やグループホーム等の訪問 訪問事業所数 10事業所). Unlike coverage, the target
    /// is a number of organisations, not a count per organisation.
    Visited {
        #[serde(default)]
        kinds: Vec<String>,
        #[serde(default)]
        series: Vec<String>,
        org_kinds: Vec<String>,
    },
    /// Emergency placements (緊急受入れ) of the fiscal year, at `at` (all, in the hub's own
    /// room, in community facilities): a placement counts once, in the year and at the kind of
    /// facility of its first night, a split stay included (as the placement figures count).
    Placements {
        #[serde(default)]
        at: PlacementPlace,
    },
    /// The share of the year's placements received in community facilities, in whole percent
    /// rounded down (Sendai: 地域の施設において広く緊急受入れが行えるよう; 地域の施設での受入れの
    /// 割合 ≥ N %).
    CommunityShare {},
}

/// Where a placement was received (its first night).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlacementPlace {
    #[default]
    All,
    /// The hub's own emergency room (拠点の緊急用居室).
    Hub,
    /// Any other facility (short stay, group home, ...): 地域の施設.
    Community,
}

impl PlacementPlace {
    fn takes(self, hub: bool) -> bool {
        match self {
            PlacementPlace::All => true,
            PlacementPlace::Hub => hub,
            PlacementPlace::Community => !hub,
        }
    }
}

impl Rule {
    pub fn slug(&self) -> &'static str {
        match self {
            Rule::Occurrences { .. } => "occurrences",
            Rule::Organisations { .. } => "organisations",
            Rule::Coverage { .. } => "coverage",
            Rule::Wards { .. } => "wards",
            Rule::Staff { .. } => "staff",
            Rule::Bodies { .. } => "bodies",
            Rule::Visited { .. } => "visited",
            Rule::Placements { .. } => "placements",
            Rule::CommunityShare { .. } => "community_share",
        }
    }

    /// Whether the rule counts emergency placements rather than meetings (nothing to plan or
    /// to invite to; no occurrences to drill down to).
    pub fn counts_placements(&self) -> bool {
        matches!(self, Rule::Placements { .. } | Rule::CommunityShare { .. })
    }

    /// Whether the figures are a percentage (a share), not a count: no month's due is a
    /// part of it.
    pub fn is_share(&self) -> bool {
        matches!(self, Rule::CommunityShare { .. })
    }

    /// The meeting kinds and series codes the rule counts (empty for staff).
    pub fn scope(&self) -> (&[String], &[String]) {
        match self {
            Rule::Occurrences { kinds, series }
            | Rule::Organisations { kinds, series, .. }
            | Rule::Coverage { kinds, series, .. }
            | Rule::Wards { kinds, series }
            | Rule::Visited { kinds, series, .. }
            | Rule::Bodies { kinds, series } => (kinds, series),
            Rule::Staff { .. } | Rule::Placements { .. } | Rule::CommunityShare { .. } => {
                (&[], &[])
            }
        }
    }

    fn org_kinds(&self) -> &[String] {
        match self {
            Rule::Organisations { org_kinds, .. }
            | Rule::Coverage { org_kinds, .. }
            | Rule::Visited { org_kinds, .. }
            | Rule::Staff { org_kinds, .. } => org_kinds,
            _ => &[],
        }
    }

    /// Whether an occurrence of this series (code, kind) counts.
    pub fn matches(&self, code: &str, kind: MeetingKind) -> bool {
        let (kinds, series) = self.scope();
        series.iter().any(|s| s == code)
            || kinds
                .iter()
                .any(|k| parse_kind(k).is_some_and(|k| k == kind))
    }

    fn org_matches(&self, org_kind: &str) -> bool {
        let wanted = self.org_kinds();
        wanted.is_empty() || wanted.iter().any(|k| k == org_kind)
    }

    /// The unit the figures are counted in.
    pub fn unit(&self) -> Msg {
        match self {
            Rule::Occurrences { .. } => Msg::new("回", "meetings"),
            Rule::Organisations { .. } | Rule::Coverage { .. } | Rule::Visited { .. } => {
                Msg::new("事業所・機関", "organisations")
            }
            Rule::Placements { .. } => Msg::new("件", "placements"),
            Rule::CommunityShare { .. } => Msg::new("%", "%"),
            Rule::Wards { .. } => Msg::new("区", "wards"),
            Rule::Staff { .. } => Msg::new("人", "people"),
            Rule::Bodies { .. } => Msg::new("部会", "bodies"),
        }
    }
}

/// An indicator as it is stored and edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorInput {
    /// Short key, unique in the fiscal year (A-Z, 0-9, `-`, `_`), e.g. `VERIFICATIONS`.
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// The number to reach (coverage and wards: per organisation / ward).
    pub target: u32,
    pub rule: Rule,
}

impl IndicatorInput {
    /// Checks the indicator on its own; `field` prefixes the field names (`indicators[2].`).
    pub fn parse(&self, field: &str) -> Result<IndicatorInput, Vec<FieldError>> {
        let mut e = Vec::new();
        let f = |name: &str| format!("{field}{name}");
        let mut v = self.clone();
        v.code = v.code.trim().to_string();
        v.name = v.name.trim().to_string();
        v.name_en = v.name_en.trim().to_string();
        let code_ok = !v.code.is_empty()
            && v.code.len() <= 32
            && v.code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !code_ok {
            e.push(FieldError::new(
                &f("code"),
                "コードは英数字・-・_ の32文字以内で入力してください（例: VERIFICATIONS）",
                "the code is 1-32 letters, digits, - or _ (e.g. VERIFICATIONS)",
            ));
        }
        if v.name.is_empty() || v.name.chars().count() > 200 {
            e.push(FieldError::new(
                &f("name"),
                "指標名を200文字以内で入力してください",
                "enter a name of at most 200 characters",
            ));
        }
        if v.target == 0 || v.target > 10_000 {
            e.push(FieldError::new(
                &f("target"),
                "目標は1〜10000の整数にしてください",
                "the target is a whole number from 1 to 10000",
            ));
        }
        let (kinds, series) = v.rule.scope();
        for k in kinds {
            if parse_kind(k).is_none() {
                e.push(FieldError::new(
                    &f("rule.kinds"),
                    format!("会議の種類「{k}」がありません（plenary, subcommittee, ward_network, case_review, case_verification, office_visit, training など）"),
                    format!("unknown meeting kind \"{k}\" (plenary, subcommittee, ward_network, case_review, case_verification, office_visit, training, ...)"),
                ));
            }
        }
        let counts_meetings = !matches!(v.rule, Rule::Staff { .. }) && !v.rule.counts_placements();
        if counts_meetings && kinds.is_empty() && series.is_empty() {
            e.push(FieldError::new(
                &f("rule"),
                "数える会議の種類（kinds）かシリーズのコード（series）を指定してください",
                "name the meeting kinds (kinds) or series codes (series) to count",
            ));
        }
        for k in v.rule.org_kinds() {
            if OrgKind::parse(k).is_none() {
                e.push(FieldError::new(
                    &f("rule.org_kinds"),
                    format!("組織種別「{k}」がありません（consultation_office, consultation_center, core_center, ward_section, hospital など）"),
                    format!("unknown organisation kind \"{k}\" (consultation_office, consultation_center, core_center, ward_section, hospital, ...)"),
                ));
            }
        }
        match &v.rule {
            Rule::Coverage { org_kinds, .. } | Rule::Visited { org_kinds, .. }
                if org_kinds.is_empty() =>
            {
                e.push(FieldError::new(
                    &f("rule.org_kinds"),
                    "対象の組織種別を指定してください（例: consultation_office）",
                    "name the organisation kinds to reach (e.g. consultation_office)",
                ))
            }
            Rule::CommunityShare { .. } if v.target > 100 => e.push(FieldError::new(
                &f("target"),
                "割合の目標は1〜100（%）にしてください",
                "a share's target is a percentage from 1 to 100",
            )),
            Rule::Staff { qualification, .. } if qualification.trim().is_empty() => {
                e.push(FieldError::new(
                    &f("rule.qualification"),
                    "資格名を入力してください（例: 主任相談支援専門員）",
                    "enter the qualification (e.g. 主任相談支援専門員)",
                ))
            }
            _ => {}
        }
        if e.is_empty() {
            Ok(v)
        } else {
            Err(e)
        }
    }
}

/// Checks a whole set (codes unique).
pub fn parse_all(items: &[IndicatorInput]) -> Result<Vec<IndicatorInput>, Vec<FieldError>> {
    let mut out = Vec::new();
    let mut e = Vec::new();
    let mut codes = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        match item.parse(&format!("indicators[{i}].")) {
            Ok(v) => {
                if !codes.insert(v.code.clone()) {
                    e.push(FieldError::new(
                        &format!("indicators[{i}].code"),
                        format!("コード「{}」が重複しています", v.code),
                        format!("the code \"{}\" is used twice", v.code),
                    ));
                }
                out.push(v);
            }
            Err(errs) => e.extend(errs),
        }
    }
    if e.is_empty() {
        Ok(out)
    } else {
        Err(e)
    }
}

/// What the coordinator records for a meeting that has taken place (or has not).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    /// `held` or `not_held`.
    pub outcome: String,
    /// Why it was not held (required then).
    #[serde(default)]
    pub reason: String,
    /// Link to the minutes (http or https).
    #[serde(default)]
    pub minutes_url: String,
    /// People who came from outside the lists (lecturers, citizens).
    #[serde(default)]
    pub external_participants: u32,
    /// Invitees who came (person ids); leave out to take the confirmed answers.
    #[serde(default)]
    pub participants: Option<Vec<i64>>,
    /// To replace a record: its `recorded_at` as read (`GET /api/v1/occurrences/{id}/record`);
    /// leave out for the first record. A record changed since is a 409.
    #[serde(default)]
    pub recorded_at: Option<String>,
}

/// A checked [`RecordInput`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRecord {
    pub held: bool,
    pub reason: String,
    pub minutes_url: String,
    pub external_participants: u32,
    /// Invitees who came; None: the confirmed answers (attend / deputy).
    pub participants: Option<Vec<i64>>,
    /// The record this one replaces (its `recorded_at`); None: there is none yet.
    pub replaces: Option<String>,
}

impl RecordInput {
    pub fn parse(&self) -> Result<ValidRecord, Vec<FieldError>> {
        let mut e = Vec::new();
        let held = match self.outcome.trim() {
            "held" | "開催" => true,
            "not_held" | "中止" | "未開催" => false,
            other => {
                e.push(FieldError::new(
                    "outcome",
                    format!("結果「{other}」が読めません。held（開催）か not_held（未開催）を指定してください"),
                    format!("cannot read the outcome \"{other}\"; use held or not_held"),
                ));
                true
            }
        };
        let reason = self.reason.trim().to_string();
        if !held && reason.is_empty() {
            e.push(FieldError::new(
                "reason",
                "開催しなかった理由を入力してください",
                "say why the meeting was not held",
            ));
        }
        if reason.chars().count() > 500 {
            e.push(FieldError::new(
                "reason",
                "理由は500文字以内にしてください",
                "the reason is at most 500 characters",
            ));
        }
        let minutes_url = self.minutes_url.trim().to_string();
        if !minutes_url.is_empty() {
            let ok = url::Url::parse(&minutes_url)
                .map(|u| matches!(u.scheme(), "http" | "https"))
                .unwrap_or(false);
            if !ok || minutes_url.len() > 2000 {
                e.push(FieldError::new(
                    "minutes_url",
                    "議事録のリンクは https:// で始まるURLにしてください",
                    "the minutes link is a URL starting with https://",
                ));
            }
        }
        if self.external_participants > 1000 {
            e.push(FieldError::new(
                "external_participants",
                "外部の参加者は1000人までです",
                "at most 1000 external participants",
            ));
        }
        if e.is_empty() {
            Ok(ValidRecord {
                held,
                reason,
                minutes_url,
                external_participants: self.external_participants,
                participants: self.participants.clone(),
                replaces: self
                    .recorded_at
                    .as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string),
            })
        } else {
            Err(e)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The snapshot
// ---------------------------------------------------------------------------------------------

/// An organisation as planning reads it (id, code, name, kind slug, ward).
pub use crate::meetings::build::SnapOrganisation as Org;

#[derive(Debug, Clone)]
pub struct Staff {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub email: String,
    pub organisation_id: Option<i64>,
    pub qualifications: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SeriesInfo {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub kind: MeetingKind,
    pub active: bool,
    /// The months its cadence allows (empty: any month).
    pub months: Vec<u32>,
}

#[derive(Debug, Clone)]
pub struct Invitee {
    pub person_id: i64,
    pub organisation_id: Option<i64>,
    pub required: bool,
    /// `attend`, `decline`, `deputy`, or None (no answer yet).
    pub answer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Record {
    /// `held` or `not_held`.
    pub outcome: String,
    pub reason: String,
    pub minutes_url: String,
    pub external_participants: u32,
    /// Invitees who came (person ids).
    pub participants: Vec<i64>,
    /// When it was recorded (UTC); a record that replaces it names this as `recorded_at`.
    #[serde(default)]
    pub recorded_at: String,
}

#[derive(Debug, Clone)]
pub struct Occ {
    pub id: i64,
    pub series_id: i64,
    pub series_code: String,
    pub key: String,
    pub title: String,
    pub kind: MeetingKind,
    pub ward: String,
    pub date: NaiveDate,
    pub start: String,
    pub cancelled: bool,
    pub place_organisation_id: Option<i64>,
    /// Seats of the room (None: held at a visited organisation, or by another body).
    pub capacity: Option<u32>,
    /// Held by another body (他機関主催): it counts, but nobody can be invited to it by us.
    pub held_by_others: bool,
    pub invitees: Vec<Invitee>,
    pub record: Option<Record>,
}

/// Everything [`evaluate`] reads, for one fiscal year.
#[derive(Debug, Clone)]
pub struct Data {
    pub fiscal_year: FiscalYear,
    /// Today in Japan: occurrences before it are past.
    pub today: NaiveDate,
    pub organisations: Vec<Org>,
    pub people: Vec<Staff>,
    pub series: Vec<SeriesInfo>,
    /// The fiscal year's published occurrences (cancelled ones included), by date.
    pub occurrences: Vec<Occ>,
    /// The holds of emergency placements around the fiscal year that are proposed, accepted,
    /// placed or ended (declined, expired and withdrawn ones are not placements).
    pub placements: Vec<PlacementHold>,
}

/// One hold of an emergency placement as the indicators read it: no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementHold {
    pub request_id: i64,
    /// Its first night.
    pub from: NaiveDate,
    /// In the hub's own emergency room (拠点の緊急用居室).
    pub hub: bool,
    /// `held` (proposed, waiting for the facility), `accepted`, `placed` or `ended`.
    pub status: String,
}

/// A placement of the fiscal year: one request, however many stays it is split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Placement {
    first_night: NaiveDate,
    hub: bool,
    /// 1 proposed, 2 accepted by the facility, 3 confirmed (placed or ended).
    stage: u8,
}

/// The year's placements: the holds of each request taken together (one proposal at a
/// time: a split stay's segments are one placement), at the first night's facility, at the
/// stage all its holds have reached; only those whose first night lies in the year.
fn placements(data: &Data) -> Vec<Placement> {
    let mut by_request: BTreeMap<i64, Placement> = BTreeMap::new();
    for h in &data.placements {
        let stage = match h.status.as_str() {
            "held" => 1,
            "accepted" => 2,
            "placed" | "ended" => 3,
            _ => continue,
        };
        let p = by_request.entry(h.request_id).or_insert(Placement {
            first_night: h.from,
            hub: h.hub,
            stage,
        });
        if h.from < p.first_night {
            p.first_night = h.from;
            p.hub = h.hub;
        }
        p.stage = p.stage.min(stage);
    }
    by_request
        .into_values()
        .filter(|p| data.fiscal_year.contains(p.first_night))
        .collect()
}

/// Placements counted at each stage: (planned: proposed or further, expected: accepted or
/// confirmed, actual: confirmed and begun by today).
fn placement_stages(data: &Data) -> [Vec<Placement>; 3] {
    let all = placements(data);
    let at = |min: u8| all.iter().filter(|p| p.stage >= min).copied().collect();
    let actual = all
        .iter()
        .filter(|p| p.stage >= 3 && p.first_night <= data.today)
        .copied()
        .collect();
    [at(1), at(2), actual]
}

/// The community share of placements in whole percent, rounded down (so a share shown as
/// reaching a target has reached it); 0 without placements.
fn community_percent(ps: &[Placement]) -> u32 {
    if ps.is_empty() {
        return 0;
    }
    let community = ps.iter().filter(|p| !p.hub).count() as u64;
    (community * 100 / ps.len() as u64) as u32
}

/// An indicator as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Indicator {
    pub id: i64,
    pub fiscal_year: i32,
    #[serde(flatten)]
    pub def: IndicatorInput,
}

// ---------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------

/// How an occurrence stands for the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OccState {
    /// Recorded as held.
    Held,
    /// Recorded as not held, or cancelled.
    NotHeld,
    /// Past, not recorded yet (counted as expected until recorded).
    Unrecorded,
    /// Ahead, no required invitee declined.
    Expected,
    /// Ahead, a required invitee declined (and sends no deputy).
    AtRisk,
}

impl Occ {
    pub fn state(&self, today: NaiveDate) -> OccState {
        if self.cancelled {
            return OccState::NotHeld;
        }
        match self.record.as_ref().map(|r| r.outcome.as_str()) {
            Some("held") => return OccState::Held,
            Some(_) => return OccState::NotHeld,
            None => {}
        }
        if self.date < today {
            return OccState::Unrecorded;
        }
        let declined = self
            .invitees
            .iter()
            .any(|i| i.required && i.answer.as_deref() == Some("decline"));
        if declined {
            OccState::AtRisk
        } else {
            OccState::Expected
        }
    }

    fn planned(&self) -> bool {
        !self.cancelled
    }

    fn counts_expected(&self, today: NaiveDate) -> bool {
        matches!(
            self.state(today),
            OccState::Held | OccState::Unrecorded | OccState::Expected
        )
    }

    fn held(&self) -> bool {
        !self.cancelled && self.record.as_ref().is_some_and(|r| r.outcome == "held")
    }

    /// People taking part at each stage: (planned, expected, confirmed, actual).
    fn people(&self, today: NaiveDate) -> [Vec<i64>; 4] {
        let planned: Vec<i64> = if self.planned() {
            self.invitees.iter().map(|i| i.person_id).collect()
        } else {
            Vec::new()
        };
        let held = self.held();
        let came = |i: &Invitee| {
            self.record
                .as_ref()
                .is_some_and(|r| r.participants.contains(&i.person_id))
        };
        let (expected, confirmed): (Vec<i64>, Vec<i64>) = if held {
            let c: Vec<i64> = self
                .invitees
                .iter()
                .filter(|i| came(i))
                .map(|i| i.person_id)
                .collect();
            (c.clone(), c)
        } else if self.counts_expected(today) {
            (
                self.invitees
                    .iter()
                    .filter(|i| i.answer.as_deref() != Some("decline"))
                    .map(|i| i.person_id)
                    .collect(),
                self.invitees
                    .iter()
                    .filter(|i| matches!(i.answer.as_deref(), Some("attend" | "deputy")))
                    .map(|i| i.person_id)
                    .collect(),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let actual = if held { expected.clone() } else { Vec::new() };
        [planned, expected, confirmed, actual]
    }
}

/// Where an indicator stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The actual figure reached the target.
    Met,
    /// Plan and answers reach the target.
    OnTrack,
    /// The plan reaches the target but answers (or records) have taken it below.
    AtRisk,
    /// Not even the plan reaches the target.
    Short,
}

/// An organisation or ward not reached yet (coverage), or an organisation not taking part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Missing {
    pub id: i64,
    pub name: String,
}

/// The four figures of one indicator, and what they rest on.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Figure {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub rule: Rule,
    /// The rule in words ("個別事例の検証の開催回数 年24回以上").
    pub description: Msg,
    /// The indicator's number as stored (coverage and wards: per organisation / ward).
    pub target_per: u32,
    /// The figure target: `target_per`, or the number of organisations / wards to reach.
    pub target: u32,
    pub planned: u32,
    pub expected: u32,
    pub actual: u32,
    /// Organisations whose invitees said attend or deputy (organisations rule only).
    pub confirmed: Option<u32>,
    pub unit: Msg,
    pub standing: Standing,
    /// In a monthly report: what is due by the end of its month, the year's target times the
    /// share of the fiscal year that has passed (rounded down); the standing is against it.
    pub due: Option<u32>,
    /// Past occurrences that count but are not recorded yet.
    pub unrecorded: u32,
    /// One line for people, e.g. "参加事業者・機関数：確定 15、見込み 17、目標 18".
    pub summary: Msg,
    /// Who is not reached / not taking part by the expected figure (coverage, wards,
    /// organisations).
    pub missing: Vec<Missing>,
    /// The occurrences the indicator counts (drill-down).
    pub occurrences: Vec<i64>,
}

/// Where the figures stand against `target`.
pub(crate) fn standing_of(target: u32, planned: u32, expected: u32, actual: u32) -> Standing {
    if actual >= target {
        Standing::Met
    } else if expected >= target {
        Standing::OnTrack
    } else if planned >= target {
        Standing::AtRisk
    } else {
        Standing::Short
    }
}

/// Computes every indicator's figures from one snapshot.
pub fn evaluate(defs: &[IndicatorInput], data: &Data) -> Vec<Figure> {
    defs.iter().map(|d| figure(d, data)).collect()
}

fn figure(def: &IndicatorInput, data: &Data) -> Figure {
    let today = data.today;
    let rule = &def.rule;
    let occs: Vec<&Occ> = data
        .occurrences
        .iter()
        .filter(|o| data.fiscal_year.contains(o.date) && rule.matches(&o.series_code, o.kind))
        .collect();
    let org_of: BTreeMap<i64, Option<i64>> = data
        .people
        .iter()
        .map(|p| (p.id, p.organisation_id))
        .collect();
    let orgs: BTreeMap<i64, &Org> = data.organisations.iter().map(|o| (o.id, o)).collect();
    let unrecorded = occs
        .iter()
        .filter(|o| o.state(today) == OccState::Unrecorded)
        .count() as u32;
    let mut confirmed = None;
    let mut missing = Vec::new();
    // A share's numerator and denominator at each stage (planned, expected, actual).
    let mut share_counts: Option<[(u32, u32); 3]> = None;
    let target_per = def.target;
    let (target, planned, expected, actual) = match rule {
        Rule::Occurrences { .. } => (
            def.target,
            occs.iter().filter(|o| o.planned()).count() as u32,
            occs.iter().filter(|o| o.counts_expected(today)).count() as u32,
            occs.iter().filter(|o| o.held()).count() as u32,
        ),
        Rule::Bodies { .. } => {
            let distinct = |f: &dyn Fn(&Occ) -> bool| {
                occs.iter()
                    .filter(|o| f(o))
                    .map(|o| o.series_id)
                    .collect::<BTreeSet<_>>()
                    .len() as u32
            };
            (
                def.target,
                distinct(&|o| o.planned()),
                distinct(&|o| o.counts_expected(today)),
                distinct(&|o| o.held()),
            )
        }
        Rule::Organisations { .. } => {
            // Invited (for who is missing and whom to invite) ...
            let mut sets: [BTreeSet<i64>; 4] = Default::default();
            // ... and taking part: an optional invitee counts once they said they come (or
            // came); an invitation alone is not participation (Hiratsuka: 参加事業者・機関数).
            let mut taking_part: [BTreeSet<i64>; 2] = Default::default();
            for o in &occs {
                let came = o
                    .record
                    .as_ref()
                    .filter(|_| o.held())
                    .map(|r| r.participants.as_slice());
                let comes = |p: i64| match came {
                    Some(came) => came.contains(&p),
                    None => o.invitees.iter().any(|i| {
                        i.person_id == p
                            && (i.required
                                || matches!(i.answer.as_deref(), Some("attend" | "deputy")))
                    }),
                };
                for (stage, people) in o.people(today).iter().enumerate() {
                    for p in people {
                        if let Some(org) = org_of.get(p).copied().flatten() {
                            if orgs.get(&org).is_some_and(|x| rule.org_matches(&x.kind)) {
                                sets[stage].insert(org);
                                if stage < 2 && comes(*p) {
                                    taking_part[stage].insert(org);
                                }
                            }
                        }
                    }
                }
            }
            confirmed = Some(sets[2].len() as u32);
            // Invited in the plan but not expected any more: who declined everything.
            missing = sets[0]
                .difference(&sets[1])
                .filter_map(|id| orgs.get(id))
                .map(|o| Missing {
                    id: o.id,
                    name: o.name.clone(),
                })
                .collect();
            (
                def.target,
                taking_part[0].len() as u32,
                taking_part[1].len() as u32,
                sets[3].len() as u32,
            )
        }
        Rule::Coverage { .. } => {
            let members: Vec<&Org> = data
                .organisations
                .iter()
                .filter(|o| rule.org_matches(&o.kind))
                .collect();
            let mut counts: [BTreeMap<i64, u32>; 4] = Default::default();
            for o in &occs {
                let people = o.people(today);
                let stages = [
                    o.planned(),
                    o.counts_expected(today),
                    o.counts_expected(today),
                    o.held(),
                ];
                for stage in [0, 1, 3] {
                    let mut reached: BTreeSet<i64> = BTreeSet::new();
                    if stages[stage] {
                        reached.extend(o.place_organisation_id);
                    }
                    for p in &people[stage] {
                        reached.extend(org_of.get(p).copied().flatten());
                    }
                    for org in reached {
                        *counts[stage].entry(org).or_default() += 1;
                    }
                }
            }
            let n = |stage: usize| {
                members
                    .iter()
                    .filter(|m| counts[stage].get(&m.id).copied().unwrap_or(0) >= def.target)
                    .count() as u32
            };
            missing = members
                .iter()
                .filter(|m| counts[1].get(&m.id).copied().unwrap_or(0) < def.target)
                .map(|m| Missing {
                    id: m.id,
                    name: m.name.clone(),
                })
                .collect();
            (members.len() as u32, n(0), n(1), n(3))
        }
        Rule::Wards { .. } => {
            let wards: BTreeSet<&str> = data
                .organisations
                .iter()
                .map(|o| o.ward.as_str())
                .filter(|w| !w.is_empty())
                .collect();
            let per_ward = |f: &dyn Fn(&Occ) -> bool| {
                wards
                    .iter()
                    .filter(|w| {
                        occs.iter().filter(|o| o.ward == **w && f(o)).count() as u32 >= def.target
                    })
                    .count() as u32
            };
            missing = wards
                .iter()
                .filter(|w| {
                    (occs
                        .iter()
                        .filter(|o| o.ward == **w && o.counts_expected(today))
                        .count() as u32)
                        < def.target
                })
                .enumerate()
                .map(|(i, w)| Missing {
                    id: i as i64,
                    name: w.to_string(),
                })
                .collect();
            (
                wards.len() as u32,
                per_ward(&|o| o.planned()),
                per_ward(&|o| o.counts_expected(today)),
                per_ward(&|o| o.held()),
            )
        }
        Rule::Visited { .. } => {
            let members: BTreeMap<i64, &Org> = data
                .organisations
                .iter()
                .filter(|o| rule.org_matches(&o.kind))
                .map(|o| (o.id, o))
                .collect();
            let visited = |f: &dyn Fn(&Occ) -> bool| -> BTreeSet<i64> {
                occs.iter()
                    .filter(|o| f(o))
                    .filter_map(|o| o.place_organisation_id)
                    .filter(|id| members.contains_key(id))
                    .collect()
            };
            let expected = visited(&|o| o.counts_expected(today));
            missing = members
                .values()
                .filter(|m| !expected.contains(&m.id))
                .map(|m| Missing {
                    id: m.id,
                    name: m.name.clone(),
                })
                .collect();
            (
                def.target,
                visited(&|o| o.planned()).len() as u32,
                expected.len() as u32,
                visited(&|o| o.held()).len() as u32,
            )
        }
        Rule::Placements { at } => {
            let [planned, expected, actual] = placement_stages(data)
                .map(|ps| ps.iter().filter(|p| at.takes(p.hub)).count() as u32);
            (def.target, planned, expected, actual)
        }
        Rule::CommunityShare { .. } => {
            let stages = placement_stages(data);
            let [planned, expected, actual] = stages.each_ref().map(|ps| community_percent(ps));
            share_counts = Some(
                stages.map(|ps| (ps.iter().filter(|p| !p.hub).count() as u32, ps.len() as u32)),
            );
            (def.target, planned, expected, actual)
        }
        Rule::Staff { qualification, .. } => {
            let n = data
                .people
                .iter()
                .filter(|p| p.qualifications.iter().any(|q| q == qualification))
                .filter(|p| {
                    let kind = p
                        .organisation_id
                        .and_then(|o| orgs.get(&o))
                        .map(|o| o.kind.as_str());
                    rule.org_kinds().is_empty() || kind.is_some_and(|k| rule.org_matches(k))
                })
                .count() as u32;
            (def.target, n, n, n)
        }
    };
    let standing = standing_of(target, planned, expected, actual);
    let unit = rule.unit();
    let name_en = if def.name_en.is_empty() {
        def.name.clone()
    } else {
        def.name_en.clone()
    };
    let confirmed_ja = confirmed
        .map(|c| format!("確定 {c}{}、", unit.ja))
        .unwrap_or_default();
    let confirmed_en = confirmed
        .map(|c| format!("{c} confirmed, "))
        .unwrap_or_default();
    let summary = match share_counts {
        Some([p, e, a]) => Msg::new(
            format!(
                "{}：打診を含め {planned}%（{}/{}件）、見込み {expected}%（{}/{}件）、実績 {actual}%（{}/{}件）（目標 {target}%以上）",
                def.name, p.0, p.1, e.0, e.1, a.0, a.1
            ),
            format!(
                "{name_en}: {planned}% with proposals ({}/{}), {expected}% expected ({}/{}), {actual}% received ({}/{}) (target at least {target}%)",
                p.0, p.1, e.0, e.1, a.0, a.1
            ),
        ),
        None => Msg::new(
            format!(
                "{}：{confirmed_ja}計画 {planned}、見込み {expected}、実績 {actual}（目標 {target}{}）",
                def.name, unit.ja
            ),
            format!(
                "{name_en}: {confirmed_en}{planned} planned, {expected} expected, {actual} held (target {target} {})",
                unit.en
            ),
        ),
    };
    Figure {
        code: def.code.clone(),
        name: def.name.clone(),
        name_en,
        rule: def.rule.clone(),
        description: describe(def, &data.series),
        target_per,
        target,
        planned,
        expected,
        actual,
        confirmed,
        unit,
        standing,
        due: None,
        unrecorded,
        summary,
        missing,
        occurrences: occs.iter().map(|o| o.id).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Proposals
// ---------------------------------------------------------------------------------------------

/// Something renkei can do to bring an indicator back to its target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Plan the rest of the fiscal year with the indicators as targets: the optimizer places
    /// extra occurrences (and visits) in the remaining months. The coordinator reviews and
    /// publishes the plan as usual.
    Replan { from: NaiveDate, to: NaiveDate },
    /// Invite representatives of organisations that have not taken part to an upcoming
    /// occurrence (they get an invitation by mail).
    Invite {
        occurrence_id: i64,
        people: Vec<i64>,
    },
    /// Nothing renkei can plan (staffing): the coordinator checks the staff list.
    CheckStaff,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Proposal {
    pub indicator: String,
    pub text: Msg,
    pub action: Action,
}

/// What to do for each indicator that is at risk or short; nothing for indicators on track.
pub fn proposals(defs: &[IndicatorInput], figures: &[Figure], data: &Data) -> Vec<Proposal> {
    let mut out = Vec::new();
    let fy_end = data.fiscal_year.end();
    let from = data
        .today
        .succ_opt()
        .unwrap_or(data.today)
        .max(data.fiscal_year.start());
    for (def, f) in defs.iter().zip(figures) {
        if matches!(f.standing, Standing::Met | Standing::OnTrack) || from > fy_end {
            continue;
        }
        let gap = f.target.saturating_sub(f.expected);
        match &def.rule {
            // Placements follow emergencies, not a calendar: nothing to plan or invite to (the
            // hub's visits and its report meeting, which widen the community's share, are
            // indicators of their own).
            Rule::Placements { .. } | Rule::CommunityShare { .. } => {}
            Rule::Staff { qualification, .. } => out.push(Proposal {
                indicator: f.code.clone(),
                text: Msg::new(
                    format!("{}：{qualification}があと{gap}人必要です。人員配置は日程では解決できないため、職員の名簿（資格）を確認してください", f.name),
                    format!("{}: {gap} more {qualification} needed; staffing cannot be planned, check the staff list (qualifications)", f.name_en),
                ),
                action: Action::CheckStaff,
            }),
            Rule::Organisations { .. } => {
                if let Some(p) = invite(def, f, data, gap) {
                    out.push(p);
                }
            }
            _ => {
                let what = match def.rule {
                    Rule::Coverage { .. } | Rule::Visited { .. } => Msg::new(
                        format!("未訪問の{}か所への訪問", f.missing.len()),
                        format!("visits to the {} organisations not reached", f.missing.len()),
                    ),
                    _ => Msg::new(format!("不足する{gap}回"), format!("the {gap} missing")),
                };
                out.push(Proposal {
                    indicator: f.code.clone(),
                    text: Msg::new(
                        format!(
                            "{}：見込み {}{}で目標 {}{}に届きません。{}〜{}を指標を目標に再計画し、{}を最適化で配置します",
                            f.name, f.expected, f.unit.ja, f.target, f.unit.ja, from, fy_end, what.ja
                        ),
                        format!(
                            "{}: {} {} expected, target {}. Re-plan {} to {} with the indicators as targets; the optimizer places {}",
                            f.name_en, f.expected, f.unit.en, f.target, from, fy_end, what.en
                        ),
                    ),
                    action: Action::Replan { from, to: fy_end },
                });
            }
        }
    }
    out
}

/// Seats held by invitees who have not declined.
fn seats_taken(o: &Occ) -> u32 {
    o.invitees
        .iter()
        .filter(|i| i.answer.as_deref() != Some("decline"))
        .count() as u32
}

/// Invitations to the next occurrence that has room: organisations of the rule's kinds that
/// take part in none of the year's occurrences, one representative each (staff with an
/// address, first by code).
fn invite(def: &IndicatorInput, f: &Figure, data: &Data, gap: u32) -> Option<Proposal> {
    let today = data.today;
    let taking_part: BTreeSet<i64> = data
        .occurrences
        .iter()
        .filter(|o| f.occurrences.contains(&o.id))
        .flat_map(|o| {
            let [_, expected, _, _] = o.people(today);
            expected
        })
        .filter_map(|p| {
            data.people
                .iter()
                .find(|s| s.id == p)
                .and_then(|s| s.organisation_id)
        })
        .collect();
    let next = data
        .occurrences
        .iter()
        .filter(|o| f.occurrences.contains(&o.id))
        .filter(|o| o.date > today && o.state(today) == OccState::Expected)
        .filter(|o| !o.held_by_others)
        .find(|o| o.capacity.is_none_or(|c| seats_taken(o) < c))?;
    let room = next
        .capacity
        .map(|c| c.saturating_sub(seats_taken(next)) as usize)
        .unwrap_or(usize::MAX);
    let mut people = Vec::new();
    let mut names = Vec::new();
    for org in &data.organisations {
        if people.len() >= room {
            break;
        }
        if !def.rule.org_matches(&org.kind) || taking_part.contains(&org.id) {
            continue;
        }
        if next
            .invitees
            .iter()
            .any(|i| i.organisation_id == Some(org.id))
        {
            continue;
        }
        let rep = data
            .people
            .iter()
            .filter(|p| p.organisation_id == Some(org.id) && !p.email.is_empty())
            .min_by(|a, b| a.code.cmp(&b.code));
        if let Some(rep) = rep {
            people.push(rep.id);
            names.push(org.name.clone());
        }
    }
    if people.is_empty() {
        return None;
    }
    let shown = names.iter().take(5).cloned().collect::<Vec<_>>().join("、");
    let more = if names.len() > 5 {
        format!(" ほか{}", names.len() - 5)
    } else {
        String::new()
    };
    let more_en = if names.len() > 5 {
        format!(" and {} more", names.len() - 5)
    } else {
        String::new()
    };
    Some(Proposal {
        indicator: f.code.clone(),
        text: Msg::new(
            format!(
                "{}：見込み {}（確定 {}）で目標 {}にあと{gap}足りません。まだ参加していない{}か所（{shown}{more}）を{}の「{}」に招待します",
                f.name,
                f.expected,
                f.confirmed.unwrap_or(0),
                f.target,
                people.len(),
                next.date,
                next.title
            ),
            format!(
                "{}: {} expected ({} confirmed), {gap} short of {}. Invite {} organisations not taking part yet ({}{more_en}) to \"{}\" on {}",
                f.name_en,
                f.expected,
                f.confirmed.unwrap_or(0),
                f.target,
                people.len(),
                names.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                next.title,
                next.date
            ),
        ),
        action: Action::Invite {
            occurrence_id: next.id,
            people,
        },
    })
}

/// Counts the plan should reach within `period` for each indicator: the optimizer's targets
/// ([`renkei_solver::schedule::model::Target`]). What lies outside the period and counts
/// (held or expected before it, published after it) is subtracted; a period that ends before
/// the fiscal year does gets its share of the rest, by weekdays (a first quarter: about a
/// quarter of the year's visits). Occurrence, body, coverage and ward indicators become
/// targets; organisations taking part and staff cannot be planned (see [`proposals`]).
pub fn plan_targets(
    defs: &[IndicatorInput],
    data: &Data,
    period_from: NaiveDate,
    period_to: NaiveDate,
) -> Vec<PlanTarget> {
    let fy_end = data.fiscal_year.end();
    // Weekdays in [from, to], only in `months` when the indicator's series may meet only then.
    let weekdays = |from: NaiveDate, to: NaiveDate, months: &Option<BTreeSet<u32>>| {
        from.iter_days()
            .take_while(|d| *d <= to)
            .filter(|d| d.weekday().number_from_monday() <= 5)
            .filter(|d| months.as_ref().is_none_or(|m| m.contains(&d.month())))
            .count() as f64
    };
    // The period's share of what is left of the year, counted in the days the series may
    // meet: a plenary held in May, October and February owes a July-September plan nothing.
    let share = |months: &Option<BTreeSet<u32>>| {
        if period_to >= fy_end {
            1.0
        } else {
            weekdays(period_from, period_to, months)
                / weekdays(period_from, fy_end, months).max(1.0)
        }
    };
    let outside = |o: &Occ| o.date < period_from || o.date > period_to;
    let counts_outside = |o: &Occ| outside(o) && o.counts_expected(data.today);
    let mut out = Vec::new();
    for def in defs {
        let rule = &def.rule;
        let (kinds, codes) = rule.scope();
        let kinds: Vec<MeetingKind> = kinds.iter().filter_map(|k| parse_kind(k)).collect();
        let in_year: Vec<&Occ> = data
            .occurrences
            .iter()
            .filter(|o| data.fiscal_year.contains(o.date) && rule.matches(&o.series_code, o.kind))
            .collect();
        let name = Msg::new(def.name.clone(), def.name_en.clone());
        // The months the indicator's series may meet in, when every one of them fixes them.
        let matched: Vec<&SeriesInfo> = data
            .series
            .iter()
            .filter(|s| s.active && rule.matches(&s.code, s.kind))
            .collect();
        let months: Option<BTreeSet<u32>> =
            (!matched.is_empty() && matched.iter().all(|s| !s.months.is_empty())).then(|| {
                matched
                    .iter()
                    .flat_map(|s| s.months.iter().copied())
                    .collect()
            });
        let share = share(&months);
        // Rounded: a once-a-year duty is not forced into the first quarter; the period that
        // reaches the year's end gets the whole remainder.
        let part = |need: u32| -> u32 { (f64::from(need) * share).round() as u32 };
        let target = |name: Msg, places: Vec<i64>, ward: Option<String>, min: u32| PlanTarget {
            name,
            kinds: kinds.clone(),
            codes: codes.to_vec(),
            place_organisation_ids: places,
            ward,
            min,
        };
        match rule {
            Rule::Occurrences { .. } => {
                let done = in_year.iter().filter(|o| counts_outside(o)).count() as u32;
                out.push(target(
                    name,
                    Vec::new(),
                    None,
                    part(def.target.saturating_sub(done)),
                ));
            }
            Rule::Bodies { .. } => {
                // Each body meets at least once in the year.
                for s in data
                    .series
                    .iter()
                    .filter(|s| s.active && rule.matches(&s.code, s.kind))
                {
                    if in_year
                        .iter()
                        .any(|o| o.series_id == s.id && counts_outside(o))
                    {
                        continue;
                    }
                    out.push(PlanTarget {
                        name: name.clone(),
                        kinds: Vec::new(),
                        codes: vec![s.code.clone()],
                        place_organisation_ids: Vec::new(),
                        ward: None,
                        min: part(1),
                    });
                }
            }
            Rule::Coverage { .. } => {
                // The organisations not reached enough outside the period, through the series
                // held at them (visits).
                let mut unreached = Vec::new();
                for org in data
                    .organisations
                    .iter()
                    .filter(|o| rule.org_matches(&o.kind))
                {
                    let done = in_year
                        .iter()
                        .filter(|o| counts_outside(o) && o.place_organisation_id == Some(org.id))
                        .count() as u32;
                    if done < def.target {
                        unreached.push((org, def.target - done));
                    }
                }
                if share >= 1.0 {
                    for (org, need) in unreached {
                        out.push(target(
                            Msg::new(
                                format!("{}（{}）", def.name, org.name),
                                format!("{} ({})", name.en, org.name),
                            ),
                            vec![org.id],
                            None,
                            need,
                        ));
                    }
                } else if !unreached.is_empty() {
                    let need: u32 = unreached.iter().map(|(_, n)| n).sum();
                    out.push(target(
                        name,
                        unreached.iter().map(|(o, _)| o.id).collect(),
                        None,
                        part(need),
                    ));
                }
            }
            Rule::Wards { .. } => {
                let wards: BTreeSet<&str> = data
                    .organisations
                    .iter()
                    .map(|o| o.ward.as_str())
                    .filter(|w| !w.is_empty())
                    .collect();
                for w in wards {
                    let done = in_year
                        .iter()
                        .filter(|o| counts_outside(o) && o.ward == w)
                        .count() as u32;
                    out.push(target(
                        Msg::new(format!("{}（{w}）", def.name), format!("{} ({w})", name.en)),
                        Vec::new(),
                        Some(w.to_string()),
                        part(def.target.saturating_sub(done)),
                    ));
                }
            }
            Rule::Visited { .. } => {
                // The organisations not visited outside the period; the period owes its share
                // of the organisations still to visit, at any of them.
                let visited: BTreeSet<i64> = in_year
                    .iter()
                    .filter(|o| counts_outside(o))
                    .filter_map(|o| o.place_organisation_id)
                    .collect();
                let members: Vec<&Org> = data
                    .organisations
                    .iter()
                    .filter(|o| rule.org_matches(&o.kind))
                    .collect();
                let done = members.iter().filter(|m| visited.contains(&m.id)).count() as u32;
                let unvisited: Vec<i64> = members
                    .iter()
                    .filter(|m| !visited.contains(&m.id))
                    .map(|m| m.id)
                    .collect();
                if !unvisited.is_empty() {
                    out.push(target(
                        name,
                        unvisited,
                        None,
                        part(def.target.saturating_sub(done)),
                    ));
                }
            }
            Rule::Organisations { .. }
            | Rule::Staff { .. }
            | Rule::Placements { .. }
            | Rule::CommunityShare { .. } => {}
        }
    }
    out.retain(|t| t.min > 0);
    out
}

/// A count for the optimizer, in the service's words: the series of these kinds or codes
/// (only the expansions held at `place_organisation_ids`, or in `ward`, when given).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanTarget {
    pub name: Msg,
    pub kinds: Vec<MeetingKind>,
    pub codes: Vec<String>,
    /// Only the series held at one of these organisations (empty: any).
    pub place_organisation_ids: Vec<i64>,
    pub ward: Option<String>,
    pub min: u32,
}

/// Describes a rule for people ("case verifications held", "each consultation office
/// reached at least 1 time").
pub fn describe(def: &IndicatorInput, series: &[SeriesInfo]) -> Msg {
    let (kinds, codes) = def.rule.scope();
    let mut ja: Vec<String> = kinds
        .iter()
        .filter_map(|k| parse_kind(k))
        .map(|k| kind_label(k).0.to_string())
        .collect();
    let mut en: Vec<String> = kinds
        .iter()
        .filter_map(|k| parse_kind(k))
        .map(|k| kind_label(k).1.to_string())
        .collect();
    for c in codes {
        let title = series
            .iter()
            .find(|s| &s.code == c)
            .map(|s| s.title.clone())
            .unwrap_or_else(|| c.clone());
        ja.push(title.clone());
        en.push(title);
    }
    let what_ja = ja.join("・");
    let what_en = en.join(", ");
    let t = def.target;
    match &def.rule {
        Rule::Occurrences { .. } => Msg::new(
            format!("{what_ja}の開催回数 年{t}回以上"),
            format!("{what_en} held, at least {t} a year"),
        ),
        Rule::Organisations { .. } => Msg::new(
            format!("{what_ja}に参加した事業所・機関の数 {t}以上"),
            format!("organisations taking part in {what_en}, at least {t}"),
        ),
        Rule::Coverage { org_kinds, .. } => {
            let labels: Vec<Msg> = org_kinds
                .iter()
                .filter_map(|k| OrgKind::parse(k))
                .map(|k| k.label())
                .collect();
            let k_ja: Vec<&str> = labels.iter().map(|m| m.ja.as_str()).collect();
            let k_en: Vec<&str> = labels.iter().map(|m| m.en.as_str()).collect();
            Msg::new(
                format!("{}ごとに{what_ja} 年{t}件以上", k_ja.join("・")),
                format!(
                    "{what_en}: at least {t} a year for each {}",
                    k_en.join(" / ")
                ),
            )
        }
        Rule::Wards { .. } => Msg::new(
            format!("区ごとに{what_ja} 年{t}回以上"),
            format!("{what_en}: at least {t} a year in each ward"),
        ),
        Rule::Staff { qualification, .. } => Msg::new(
            format!("{qualification}の配置数 {t}人"),
            format!("{qualification} on staff: {t}"),
        ),
        Rule::Bodies { .. } => Msg::new(
            format!("{what_ja}の設置数 {t}以上"),
            format!("{what_en} in existence, at least {t}"),
        ),
        Rule::Visited { org_kinds, .. } => {
            let labels: Vec<Msg> = org_kinds
                .iter()
                .filter_map(|k| OrgKind::parse(k))
                .map(|k| k.label())
                .collect();
            let k_ja: Vec<&str> = labels.iter().map(|m| m.ja.as_str()).collect();
            let k_en: Vec<&str> = labels.iter().map(|m| m.en.as_str()).collect();
            Msg::new(
                format!("{what_ja}で訪問した{}の数 年{t}以上", k_ja.join("・")),
                format!(
                    "{} visited by {what_en}, at least {t} a year",
                    k_en.join(" / ")
                ),
            )
        }
        Rule::Placements { at } => {
            let (ja, en) = match at {
                PlacementPlace::All => ("", ""),
                PlacementPlace::Hub => ("拠点の緊急用居室での", " in the hub's own room"),
                PlacementPlace::Community => ("地域の施設での", " in community facilities"),
            };
            Msg::new(
                format!("{ja}緊急受入れ件数 年{t}件以上（分割の受入れは1件）"),
                format!("emergency placements{en}, at least {t} a year (a split stay is one)"),
            )
        }
        Rule::CommunityShare { .. } => Msg::new(
            format!("緊急受入れのうち地域の施設（拠点の緊急用居室以外）での受入れの割合 {t}%以上"),
            format!("share of emergency placements received in community facilities (not the hub's own room), at least {t}%"),
        ),
    }
}

#[cfg(test)]
mod tests;
