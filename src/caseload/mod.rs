//! Case-load management in the service (計画相談の件数管理, issue 18): the inputs parsed at
//! the edge, the load board, and assigning open referrals with the optimizer of
//! `renkei_solver::caseload` (validated before anything is written).
//!
//! Kumamoto: 「計画相談の件数制限 ・西圏域以外 事業所あたり50件まで ・西圏域のみ 事業所あたり
//! 75件まで」. The cap is a municipality setting: a default (50) and overrides per ward (西区 →
//! 75). Offices are the organisations of kind `consultation_office` (指定特定相談支援事業所) and
//! `consultation_center` (委託の相談支援センター, whose own case-holding Kumamoto caps).

use std::collections::BTreeMap;

use renkei_solver::caseload::{self as engine, validate::validate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::master::{Check, FieldError};
use crate::store::caseload::{Applied, OfficeLoad, ReferralRow};
use crate::store::tenancy::User;
use crate::store::Db;

/// The cap where the municipality set none (Kumamoto, outside the west area).
pub const DEFAULT_CAP: i64 = 50;
/// Highest cap and count accepted (far above any real office).
pub const MAX_CASES: i64 = 10_000;
/// At this share of its cap an office is "near its cap" (上限間近).
pub const NEAR_RATIO: f64 = 0.9;
/// The organisation kinds that hold planning-consultation cases.
pub const OFFICE_KINDS: [&str; 2] = ["consultation_office", "consultation_center"];

/// The caps: the municipality's default and its overrides per ward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Caps {
    /// Cases per office where no ward override applies (default 50).
    pub default_cap: i64,
    /// Overrides per ward, e.g. 西区 → 75.
    pub wards: Vec<WardCap>,
}

impl Default for Caps {
    fn default() -> Caps {
        Caps {
            default_cap: DEFAULT_CAP,
            wards: Vec::new(),
        }
    }
}

impl Caps {
    /// The cap of an office in `ward`.
    pub fn cap_of(&self, ward: &str) -> i64 {
        self.wards
            .iter()
            .find(|w| w.ward == ward)
            .map(|w| w.cap)
            .unwrap_or(self.default_cap)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WardCap {
    pub ward: String,
    pub cap: i64,
}

/// Body of `PUT /api/v1/caseload/caps`: replaces the default and every ward override.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapsInput {
    pub default_cap: i64,
    #[serde(default)]
    pub wards: Vec<WardCap>,
}

fn check_count(c: &mut Check, field: &str, label_ja: &str, v: i64) {
    if !(0..=MAX_CASES).contains(&v) {
        c.0.push(FieldError::new(
            field,
            format!("{label_ja}は0〜{MAX_CASES}件で入力してください（入力値: {v}）"),
            format!("{field} must be 0 to {MAX_CASES} cases (got {v})"),
        ));
    }
}

impl CapsInput {
    pub fn parse(&self) -> Result<Caps, Vec<FieldError>> {
        let mut c = Check::default();
        check_count(&mut c, "default_cap", "上限（既定）", self.default_cap);
        let mut wards: Vec<WardCap> = Vec::new();
        for (i, w) in self.wards.iter().enumerate() {
            let field = format!("wards[{i}].ward");
            let ward = c.required(&field, "区・圏域", &w.ward, 50);
            check_count(&mut c, &format!("wards[{i}].cap"), "上限", w.cap);
            if !ward.is_empty() && wards.iter().any(|x| x.ward == ward) {
                c.0.push(FieldError::new(
                    &field,
                    format!("区・圏域「{ward}」が2回指定されています"),
                    format!("ward \"{ward}\" is given twice"),
                ));
            }
            wards.push(WardCap { ward, cap: w.cap });
        }
        wards.sort_by(|a, b| a.ward.cmp(&b.ward));
        c.finish(Caps {
            default_cap: self.default_cap,
            wards,
        })
    }
}

/// Body of `PUT /api/v1/caseload/offices/{id}`: the office's current planning-consultation
/// cases, and optionally its specialities (left out: unchanged).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountInput {
    pub cases: i64,
    #[serde(default)]
    pub specialities: Option<Vec<String>>,
    /// The count the client saw (optional): the change is refused with 409 when the count is
    /// no longer that (a referral was assigned meanwhile).
    #[serde(default)]
    pub expected_cases: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidCount {
    pub cases: i64,
    pub specialities: Option<Vec<String>>,
    pub expected_cases: Option<i64>,
}

/// Tags (specialities, needs): trimmed, no commas, at most 20 of 50 characters each.
fn tags(c: &mut Check, field: &str, items: &[String]) -> Vec<String> {
    let list = c.list(field, items);
    if list.iter().any(|t| t.contains(',') || t.contains('、')) {
        c.0.push(FieldError::new(
            field,
            "項目ごとに分けて入力してください（カンマは使えません）",
            "give each item separately (no commas)",
        ));
    }
    if list.len() > 20 {
        c.0.push(FieldError::new(
            field,
            "20項目以内で入力してください",
            "use at most 20 items",
        ));
    }
    list
}

impl CountInput {
    pub fn parse(&self) -> Result<ValidCount, Vec<FieldError>> {
        let mut c = Check::default();
        check_count(&mut c, "cases", "件数", self.cases);
        let specialities = self
            .specialities
            .as_ref()
            .map(|s| tags(&mut c, "specialities", s));
        c.finish(ValidCount {
            cases: self.cases,
            specialities,
            expected_cases: self.expected_cases,
        })
    }
}

/// Headings accepted for the office code and the count of an imported file.
const CODE_HEADINGS: [&str; 5] = [
    "code",
    "office_code",
    "事業所コード",
    "コード",
    "機関コード",
];
const CASES_HEADINGS: [&str; 4] = ["cases", "件数", "計画相談件数", "計画相談の件数"];

/// The answer of `POST /api/v1/caseload/offices/import`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountsImported {
    /// Rows read.
    pub rows: usize,
    /// Offices whose count changed.
    pub updated: usize,
}

/// The reason given for closing a referral: required, at most 200 characters.
pub fn close_reason(reason: &str) -> Result<&str, Vec<FieldError>> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(vec![FieldError::new(
            "reason",
            "理由を200文字以内で入力してください（例: 本人が辞退、支援終了）",
            "give a reason of up to 200 characters (e.g. withdrawn, consultation ended)",
        )]);
    }
    Ok(reason)
}

/// Imports a file of (office code, cases), CSV or XLSX (guessed from the name and bytes): all
/// rows checked, then every count written in one conditional write, or nothing.
pub async fn import_counts(
    db: &Db,
    user: &User,
    file_name: &str,
    bytes: &[u8],
) -> Result<CountsImported> {
    let format = crate::transfer::FileFormat::sniff(file_name, bytes);
    let table = crate::transfer::read_table(bytes, format, crate::transfer::TextEncoding::Auto)?;
    let offices = db.caseload_offices(user.municipality_id).await?;
    let counts = parse_counts(&table, &offices).map_err(Error::Validation)?;
    let updated = db.set_caseload_counts(user, &counts).await?;
    Ok(CountsImported {
        rows: counts.len(),
        updated,
    })
}

/// Reads an imported table of (office code, cases): every row checked, all or nothing.
/// Field names say the file's row (`rows[2].cases`, the heading being row 1).
pub fn parse_counts(
    table: &crate::transfer::Table,
    offices: &[OfficeLoad],
) -> Result<Vec<(i64, i64)>, Vec<FieldError>> {
    let find = |names: &[&str]| {
        table
            .headings
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let (Some(code_at), Some(cases_at)) = (find(&CODE_HEADINGS), find(&CASES_HEADINGS)) else {
        return Err(vec![FieldError::new(
            "headings",
            "1行目に見出し「事業所コード」と「件数」（または code と cases）を入れてください",
            "the first row must hold the headings code and cases (or 事業所コード and 件数)",
        )]);
    };
    let by_code: BTreeMap<&str, i64> = offices
        .iter()
        .map(|o| (o.code.as_str(), o.organisation_id))
        .collect();
    let mut c = Check::default();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (i, row) in table.rows.iter().enumerate() {
        let line = i + 2;
        let cell = |at: usize| row.get(at).map(|s| s.trim()).unwrap_or("");
        if row.iter().all(|s| s.trim().is_empty()) {
            continue;
        }
        let code = cell(code_at);
        let id = by_code.get(code).copied();
        if id.is_none() {
            c.0.push(FieldError::new(
                &format!("rows[{line}].code"),
                format!("{line}行目: 事業所コード「{code}」の相談支援事業所はありません"),
                format!("row {line}: no consultation office has the code \"{code}\""),
            ));
        }
        let text = cell(cases_at);
        let cases = match text.parse::<i64>() {
            Ok(n) => {
                check_count(
                    &mut c,
                    &format!("rows[{line}].cases"),
                    &format!("{line}行目の件数"),
                    n,
                );
                n
            }
            Err(_) => {
                c.0.push(FieldError::new(
                    &format!("rows[{line}].cases"),
                    format!("{line}行目: 件数「{text}」は整数ではありません"),
                    format!("row {line}: cases \"{text}\" is not a whole number"),
                ));
                0
            }
        };
        if let Some(id) = id {
            if out.iter().any(|(o, _)| *o == id) {
                c.0.push(FieldError::new(
                    &format!("rows[{line}].code"),
                    format!("{line}行目: 事業所コード「{code}」が2回あります"),
                    format!("row {line}: office code \"{code}\" appears twice"),
                ));
            }
            out.push((id, cases));
        }
    }
    c.finish(out)
}

/// Body of `POST /api/v1/caseload/referrals`: a person who needs a planning-consultation
/// office, by code only (no name).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    /// A code such as R-2027-001 (letters, digits, - and _).
    pub code: String,
    /// The ward the person lives in.
    #[serde(default)]
    pub ward: String,
    /// Specialities the person needs (tags as in an office's specialities).
    #[serde(default)]
    pub needs: Vec<String>,
    /// The office that supported the person before (continuity).
    #[serde(default)]
    pub previous_office_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidReferral {
    pub code: String,
    pub ward: String,
    pub needs: Vec<String>,
    pub previous_office_id: Option<i64>,
}

impl ReferralInput {
    pub fn parse(&self) -> Result<ValidReferral, Vec<FieldError>> {
        let mut c = Check::default();
        let code = c.code("code", &self.code);
        let ward = c.optional("ward", &self.ward, 50);
        let needs = tags(&mut c, "needs", &self.needs);
        if self.previous_office_id.is_some_and(|id| id <= 0) {
            c.0.push(FieldError::new(
                "previous_office_id",
                "前の事業所を一覧から選んでください",
                "pick the previous office from the list",
            ));
        }
        c.finish(ValidReferral {
            code,
            ward,
            needs,
            previous_office_id: self.previous_office_id,
        })
    }
}

/// Body of `PUT /api/v1/caseload/referrals/{id}/office`: a coordinator's choice.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideInput {
    pub office_id: i64,
}

/// How full an office is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    /// ≥ 90 % of the cap (上限間近).
    Near,
    /// At the cap (上限).
    Full,
    /// Above the cap (a count entered by hand; it takes nobody new).
    Over,
}

/// One office on the load board.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardRow {
    pub organisation_id: i64,
    pub code: String,
    pub name: String,
    pub ward: String,
    pub cases: i64,
    pub cap: i64,
    /// cases / cap (1.0 at the cap; cap 0 counts as full).
    pub ratio: f64,
    /// The ratio in whole percent, for display.
    pub percent: i64,
    pub level: Level,
    /// 「上限間近」/「上限」 and so on; absent when there is room.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<Msg>,
    pub specialities: Vec<String>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Board {
    pub caps: Caps,
    pub offices: Vec<BoardRow>,
    /// Referrals waiting for an office.
    pub open_referrals: Vec<ReferralRow>,
    /// Total cases and total cap over all offices.
    pub total_cases: i64,
    pub total_cap: i64,
}

pub fn level(cases: i64, cap: i64) -> Level {
    if cases > cap {
        Level::Over
    } else if cases == cap {
        Level::Full
    } else if cases as f64 >= NEAR_RATIO * cap as f64 {
        Level::Near
    } else {
        Level::Ok
    }
}

pub fn board_row(o: &OfficeLoad, caps: &Caps) -> BoardRow {
    let cap = caps.cap_of(&o.ward);
    let ratio = if cap > 0 {
        o.cases as f64 / cap as f64
    } else {
        1.0
    };
    let level = level(o.cases, cap);
    let warning = match level {
        Level::Ok => None,
        Level::Near => Some(Msg::new(
            format!("上限間近（残り{}件）", cap - o.cases),
            format!("near its cap ({} left)", cap - o.cases),
        )),
        Level::Full => Some(Msg::new(
            "上限（新規は受けられません）",
            "at its cap (takes nobody new)",
        )),
        Level::Over => Some(Msg::new(
            format!("上限超過（{}件超過、新規は受けられません）", o.cases - cap),
            format!("over its cap by {} (takes nobody new)", o.cases - cap),
        )),
    };
    BoardRow {
        organisation_id: o.organisation_id,
        code: o.code.clone(),
        name: o.name.clone(),
        ward: o.ward.clone(),
        cases: o.cases,
        cap,
        ratio,
        percent: (ratio * 100.0).round() as i64,
        level,
        warning,
        specialities: o.specialities.clone(),
        updated_at: o.updated_at.clone(),
    }
}

pub async fn board(db: &Db, user: &User) -> Result<Board> {
    let m = user.municipality_id;
    let caps = db.caseload_caps(m).await?;
    let offices: Vec<BoardRow> = db
        .caseload_offices(m)
        .await?
        .iter()
        .map(|o| board_row(o, &caps))
        .collect();
    let open_referrals = db.list_referrals(m, Some("open")).await?;
    Ok(Board {
        total_cases: offices.iter().map(|o| o.cases).sum(),
        total_cap: offices.iter().map(|o| o.cap).sum(),
        caps,
        offices,
        open_referrals,
    })
}

/// One referral the optimizer gave an office.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignedItem {
    pub referral_id: i64,
    pub code: String,
    pub office_id: i64,
    pub office_name: String,
}

/// One referral left without an office, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnassignedItem {
    pub referral_id: i64,
    pub code: String,
    pub reason: Msg,
}

/// The answer of `POST /api/v1/caseload/assign`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssignOut {
    pub assigned: Vec<AssignedItem>,
    pub unassigned: Vec<UnassignedItem>,
    /// `optimizer`, `optimizer_time_limit` or `greedy`; absent when nothing was open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The assignment's cost and the greedy assignment's (lower is better).
    pub objective: f64,
    pub greedy_objective: f64,
    /// When the greedy assignment was used because the optimizer failed, why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<Msg>,
}

/// Tries of an assignment whose conditional writes found the state changed meanwhile.
const ASSIGN_ATTEMPTS: u32 = 4;

fn solver_id(id: i64) -> Result<u32> {
    u32::try_from(id)
        .map_err(|_| Error::Internal(anyhow::anyhow!("id {id} out of the solver's range")))
}

/// Runs the optimizer over all open referrals, validates its assignment and writes it with
/// conditional writes. When another instance changed the state meanwhile (a referral no longer
/// open, an office filled up), nothing of this attempt remains and it starts again from the
/// new state.
pub async fn assign_open(db: &Db, user: &User) -> Result<AssignOut> {
    let m = user.municipality_id;
    for _ in 0..ASSIGN_ATTEMPTS {
        let caps = db.caseload_caps(m).await?;
        let offices = db.caseload_offices(m).await?;
        let referrals = db.list_referrals(m, Some("open")).await?;
        if referrals.is_empty() {
            return Ok(AssignOut {
                assigned: Vec::new(),
                unassigned: Vec::new(),
                method: None,
                objective: 0.0,
                greedy_objective: 0.0,
                note: None,
            });
        }
        let mut instance = engine::Instance::new(Vec::new(), Vec::new());
        for o in &offices {
            let cap = caps.cap_of(&o.ward);
            instance.offices.push(engine::Office {
                id: solver_id(o.organisation_id)?,
                name: o.name.clone(),
                ward: o.ward.clone(),
                cap: cap.clamp(0, MAX_CASES) as u32,
                current: o.cases.clamp(0, MAX_CASES) as u32,
                specialities: o.specialities.clone(),
            });
        }
        let known: BTreeMap<i64, &OfficeLoad> =
            offices.iter().map(|o| (o.organisation_id, o)).collect();
        for r in &referrals {
            instance.referrals.push(engine::Referral {
                id: solver_id(r.id)?,
                label: r.code.clone(),
                ward: r.ward.clone(),
                needs: r.needs.clone(),
                // A previous office that is no longer a consultation office is no continuity.
                previous: r
                    .previous_office_id
                    .filter(|p| known.contains_key(p))
                    .map(solver_id)
                    .transpose()?,
                fixed: None,
            });
        }
        let inst = instance.clone();
        let solution = tokio::task::spawn_blocking(move || engine::assign(&inst))
            .await
            .map_err(|e| Error::Internal(anyhow::anyhow!("case-load solve panicked: {e}")))?
            .map_err(|e| Error::Internal(anyhow::anyhow!("case-load solve failed: {e}")))?;
        let report = validate(&instance, &solution.assignments);
        if !report.is_valid() {
            return Err(Error::Internal(anyhow::anyhow!(
                "the case-load assignment failed validation: {:?}",
                report.violations
            )));
        }
        let pairs: Vec<(i64, i64)> = solution
            .assignments
            .iter()
            .filter_map(|a| a.office.map(|o| (i64::from(a.referral), i64::from(o))))
            .collect();
        match db.apply_assignments(user, &pairs).await? {
            Applied::Changed => continue,
            Applied::Done => {}
        }
        let by_id: BTreeMap<i64, &ReferralRow> = referrals.iter().map(|r| (r.id, r)).collect();
        let mut out = AssignOut {
            assigned: Vec::new(),
            unassigned: Vec::new(),
            method: Some(
                match solution.method {
                    engine::Method::Optimizer => "optimizer",
                    engine::Method::OptimizerTimeLimit => "optimizer_time_limit",
                    engine::Method::Greedy => "greedy",
                }
                .to_string(),
            ),
            objective: solution.objective,
            greedy_objective: solution.greedy_objective,
            note: solution.note.map(|t| Msg::new(t.ja, t.en)),
        };
        for a in &solution.assignments {
            let id = i64::from(a.referral);
            let code = by_id.get(&id).map(|r| r.code.clone()).unwrap_or_default();
            match a.office {
                Some(o) => out.assigned.push(AssignedItem {
                    referral_id: id,
                    code,
                    office_id: i64::from(o),
                    office_name: known
                        .get(&i64::from(o))
                        .map(|x| x.name.clone())
                        .unwrap_or_default(),
                }),
                None => {
                    let why = a.reason.clone().unwrap_or_else(|| {
                        renkei_solver::caseload::Text::new("理由不明", "no reason given")
                    });
                    out.unassigned.push(UnassignedItem {
                        referral_id: id,
                        code,
                        reason: Msg::new(why.ja, why.en),
                    });
                }
            }
        }
        return Ok(out);
    }
    Err(Error::Conflict(Msg::new(
        "他の操作と重なったため割当てを完了できませんでした。何も変更していません。もう一度「割当て」を押してください",
        "other changes kept overlapping, so nothing was assigned; press assign again",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_caps() {
        assert_eq!(level(44, 50), Level::Ok);
        assert_eq!(level(45, 50), Level::Near);
        assert_eq!(level(50, 50), Level::Full);
        assert_eq!(level(51, 50), Level::Over);
        assert_eq!(level(67, 75), Level::Ok);
        assert_eq!(level(68, 75), Level::Near);
        let caps = CapsInput {
            default_cap: 50,
            wards: vec![WardCap {
                ward: " 西区 ".into(),
                cap: 75,
            }],
        }
        .parse()
        .unwrap();
        assert_eq!(caps.cap_of("西区"), 75);
        assert_eq!(caps.cap_of("東区"), 50);
    }

    #[test]
    fn bad_inputs_name_their_fields() {
        let bad = CapsInput {
            default_cap: -1,
            wards: vec![
                WardCap {
                    ward: "西区".into(),
                    cap: 75,
                },
                WardCap {
                    ward: "西区".into(),
                    cap: 20_000,
                },
                WardCap {
                    ward: " ".into(),
                    cap: 10,
                },
            ],
        }
        .parse()
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "default_cap",
                "wards[1].cap",
                "wards[1].ward",
                "wards[2].ward"
            ]
        );
        let bad = ReferralInput {
            code: "山田 太郎".into(),
            ward: "x".repeat(51),
            needs: vec!["a,b".into()],
            previous_office_id: Some(0),
        }
        .parse()
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["code", "ward", "needs", "previous_office_id"]);
    }
}
