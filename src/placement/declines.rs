//! Why facilities decline proposals (Sendai 003: 「地域の施設において広く緊急受入れが行えるよう
//! …受入れ先となり得る施設、受入れに係る課題等の把握を進めていく」): per facility, the proposals
//! of a fiscal year and what became of them (accepted, declined, expired, waiting, other), the
//! decline reasons counted by fixed reason (満床, 医療的ケアに対応できない, …) and each decline with
//! its date and the request's needs. No personal data of requesters: the case number and the
//! needs only, as the lists and the figures carry them (see `Db::request_detail`).
//!
//! A facility declines with one of [`DeclineReason`] and, if it likes, a free text; a decline
//! without a fixed reason (the API before the reasons, free text only) counts as `other`.
//! Pure: the store reads the answers ([`crate::store::placement_declines`]).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use renkei_solver::calendar::FiscalYear;
use renkei_solver::placement::model::{DisabilityType, FacilityKind, MedicalCare, Sex};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{care_label, disability_label, facility_kind_label, parse_slug, sex_label};
use crate::error::Result;
use crate::i18n::{Lang, Msg};
use crate::master::FieldError;
use crate::store::placement::RequestSummary;
use crate::transfer::{write_table, FileFormat, TextEncoding};

/// A facility's reason for declining a proposal, fixed so that reasons can be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    /// 満床
    Full,
    /// 医療的ケアに対応できない
    MedicalCare,
    /// 強度行動障害に対応できない
    Behaviour,
    /// 性別（相部屋）
    Sex,
    /// 職員体制
    Staffing,
    /// その他 (with a free text)
    Other,
}

impl DeclineReason {
    pub const ALL: [DeclineReason; 6] = [
        DeclineReason::Full,
        DeclineReason::MedicalCare,
        DeclineReason::Behaviour,
        DeclineReason::Sex,
        DeclineReason::Staffing,
        DeclineReason::Other,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            DeclineReason::Full => "full",
            DeclineReason::MedicalCare => "medical_care",
            DeclineReason::Behaviour => "behaviour",
            DeclineReason::Sex => "sex",
            DeclineReason::Staffing => "staffing",
            DeclineReason::Other => "other",
        }
    }

    pub fn label(self) -> Msg {
        match self {
            DeclineReason::Full => Msg::new("満床", "no bed free"),
            DeclineReason::MedicalCare => Msg::new(
                "医療的ケアに対応できない",
                "cannot provide the medical care",
            ),
            DeclineReason::Behaviour => Msg::new(
                "強度行動障害に対応できない",
                "cannot support severe behavioural needs",
            ),
            DeclineReason::Sex => Msg::new("性別（相部屋）", "sex (shared room)"),
            DeclineReason::Staffing => Msg::new("職員体制", "staffing"),
            DeclineReason::Other => Msg::new("その他", "other"),
        }
    }

    /// A slug or the Japanese label.
    pub fn parse(s: &str) -> Option<DeclineReason> {
        let s = s.trim();
        DeclineReason::ALL
            .into_iter()
            .find(|r| r.slug() == s || r.label().ja == s)
    }
}

/// A facility's answer, checked: accept, or decline with a fixed reason and a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAnswer {
    pub accept: bool,
    /// What the request's history and the hold say: the free text, the reason's label
    /// without one, `label：text` with both.
    pub reason: String,
    /// The fixed reason of a decline (`other` when only a text was given).
    pub decline: Option<DeclineReason>,
}

/// Checks an answer: `reason_code` is one of [`DeclineReason`] (or empty) and only with a
/// decline; a decline needs a reason code or a text, and `other` needs a text; the text is at
/// most 500 characters.
pub fn parse_answer(
    accept: bool,
    reason_code: &str,
    text: &str,
) -> std::result::Result<ValidAnswer, Vec<FieldError>> {
    let mut e = Vec::new();
    let text = text.trim().to_string();
    if text.chars().count() > 500 {
        e.push(FieldError::new(
            "reason",
            "理由は500文字以内にしてください",
            "keep the reason within 500 characters",
        ));
    }
    let code = match reason_code.trim() {
        "" => None,
        c => match DeclineReason::parse(c) {
            Some(r) => Some(r),
            None => {
                e.push(FieldError::new(
                    "reason_code",
                    format!("お断りの理由「{c}」がありません（full, medical_care, behaviour, sex, staffing, other）"),
                    format!("unknown decline reason \"{c}\" (full, medical_care, behaviour, sex, staffing, other)"),
                ));
                None
            }
        },
    };
    if accept && code.is_some() {
        e.push(FieldError::new(
            "reason_code",
            "お断りの理由は、お断りするときだけ選んでください",
            "a decline reason goes with a decline only",
        ));
    }
    let decline = (!accept).then(|| code.unwrap_or(DeclineReason::Other));
    if decline == Some(DeclineReason::Other) && text.is_empty() && e.is_empty() {
        e.push(FieldError::new(
            "reason",
            "お断りの理由を選ぶか、理由を入力してください（その他は理由の記入が必要です）",
            "choose a decline reason or give one in words (other needs words)",
        ));
    }
    if !e.is_empty() {
        return Err(e);
    }
    let reason = match decline {
        Some(DeclineReason::Other) | None => text,
        Some(r) if text.is_empty() => r.label().ja,
        Some(r) => format!("{}：{text}", r.label().ja),
    };
    Ok(ValidAnswer {
        accept,
        reason,
        decline,
    })
}

/// One hold of a proposal as the view reads it (no personal data).
#[derive(Debug, Clone)]
pub struct ProposalHold {
    pub request_id: i64,
    pub facility_id: i64,
    pub facility_name: String,
    pub facility_kind: String,
    pub from: String,
    pub to: String,
    pub status: String,
    /// When the proposal was made (UTC instant, as stored): the holds of one proposal share it.
    pub created_at: String,
    /// The day it was made, in Japan.
    pub proposed_on: NaiveDate,
    /// The day the facility answered, in Japan.
    pub answered_on: Option<NaiveDate>,
    pub answer_reason: String,
    /// Set on the hold whose facility declined (empty on the segments released with it).
    pub decline_reason: Option<DeclineReason>,
}

/// What became of a proposal at one facility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    Declined,
    Expired,
    /// Still waiting for the facility's answer.
    Waiting,
    /// Withdrawn by the hub, or released with another facility's decline, before this one
    /// answered.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReasonCount {
    pub reason: DeclineReason,
    pub label: Msg,
    pub count: u32,
}

/// One decline with its date and what the request needed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Decline {
    /// The day the facility answered (JST), `YYYY-MM-DD`.
    pub answered_on: String,
    pub case_number: String,
    pub reason: DeclineReason,
    pub reason_label: Msg,
    /// The facility's own words, if any.
    pub note: String,
    /// The nights proposed (first night, check-out day).
    pub from: String,
    pub to: String,
    /// The request's needs in words ("女性・成人・知的障害・車椅子・医療的ケア（喀痰吸引）").
    pub needs: Msg,
}

/// A facility's answers over the year.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FacilityAnswers {
    pub facility_id: i64,
    pub facility: String,
    pub kind: String,
    pub kind_label: Msg,
    pub proposals: u32,
    pub accepted: u32,
    pub declined: u32,
    pub expired: u32,
    pub waiting: u32,
    pub other: u32,
    /// Declines by reason, most frequent first (reasons never given are left out).
    pub reasons: Vec<ReasonCount>,
    /// Every decline, by date.
    pub declines: Vec<Decline>,
}

/// The year's view: facilities with proposals (most declines first, then by name) and the
/// reasons over all of them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeclineView {
    pub fiscal_year: String,
    pub facilities: Vec<FacilityAnswers>,
    pub reasons: Vec<ReasonCount>,
    pub proposals: u32,
    pub declined: u32,
}

/// The request's needs in words, from what every role may see.
pub fn needs_of(r: &RequestSummary) -> Msg {
    let mut parts: Vec<Msg> = Vec::new();
    if let Some(s) = parse_slug::<Sex>(&r.sex) {
        parts.push(sex_label(s));
    }
    parts.push(if r.child {
        Msg::new("児童", "child")
    } else {
        Msg::new("成人", "adult")
    });
    parts.extend(
        r.disability_types
            .iter()
            .filter_map(|d| parse_slug::<DisabilityType>(d))
            .map(disability_label),
    );
    if r.wheelchair {
        parts.push(Msg::new("車椅子", "wheelchair"));
    }
    let care: Vec<Msg> = r
        .medical_care
        .iter()
        .filter_map(|c| parse_slug::<MedicalCare>(c))
        .map(care_label)
        .collect();
    if !care.is_empty() {
        parts.push(Msg::new(
            format!(
                "医療的ケア（{}）",
                care.iter()
                    .map(|c| c.ja.as_str())
                    .collect::<Vec<_>>()
                    .join("・")
            ),
            format!(
                "medical care ({})",
                care.iter()
                    .map(|c| c.en.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if r.behavioural_support {
        parts.push(Msg::new("行動障害への支援", "behavioural support"));
    }
    if r.night_staff {
        parts.push(Msg::new("夜間の職員配置", "night staff"));
    }
    Msg::new(
        parts
            .iter()
            .map(|p| p.ja.as_str())
            .collect::<Vec<_>>()
            .join("・"),
        parts
            .iter()
            .map(|p| p.en.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    )
}

fn counted(by: &BTreeMap<DeclineReason, u32>) -> Vec<ReasonCount> {
    let mut v: Vec<ReasonCount> = by
        .iter()
        .map(|(r, n)| ReasonCount {
            reason: *r,
            label: r.label(),
            count: *n,
        })
        .collect();
    // Most frequent first; ties in the order of the reasons.
    v.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    v
}

/// The view of the proposals made in `fy` (by the day they were made, in Japan). A proposal
/// counts once per facility, however many beds or segments it holds there.
pub fn compute(fy: FiscalYear, holds: &[ProposalHold], requests: &[RequestSummary]) -> DeclineView {
    let requests: BTreeMap<i64, &RequestSummary> = requests.iter().map(|r| (r.id, r)).collect();
    // (facility, request, made at) -> its holds there.
    let mut proposals: BTreeMap<(i64, i64, &str), Vec<&ProposalHold>> = BTreeMap::new();
    for h in holds.iter().filter(|h| fy.contains(h.proposed_on)) {
        proposals
            .entry((h.facility_id, h.request_id, h.created_at.as_str()))
            .or_default()
            .push(h);
    }
    let mut facilities: BTreeMap<i64, FacilityAnswers> = BTreeMap::new();
    let mut reasons: BTreeMap<i64, BTreeMap<DeclineReason, u32>> = BTreeMap::new();
    let mut all_reasons: BTreeMap<DeclineReason, u32> = BTreeMap::new();
    for ((facility_id, request_id, _), hs) in &proposals {
        let first = hs[0];
        let f = facilities
            .entry(*facility_id)
            .or_insert_with(|| FacilityAnswers {
                facility_id: *facility_id,
                facility: first.facility_name.clone(),
                kind: first.facility_kind.clone(),
                kind_label: parse_slug::<FacilityKind>(&first.facility_kind)
                    .map(facility_kind_label)
                    .unwrap_or_else(|| Msg::new(&first.facility_kind, &first.facility_kind)),
                proposals: 0,
                accepted: 0,
                declined: 0,
                expired: 0,
                waiting: 0,
                other: 0,
                reasons: Vec::new(),
                declines: Vec::new(),
            });
        f.proposals += 1;
        let declined = hs.iter().find(|h| h.decline_reason.is_some());
        let outcome = if declined.is_some() {
            Outcome::Declined
        } else if hs.iter().any(|h| h.answered_on.is_some()) {
            Outcome::Accepted
        } else if hs.iter().any(|h| h.status == "expired") {
            Outcome::Expired
        } else if hs.iter().any(|h| h.status == "held") {
            Outcome::Waiting
        } else {
            Outcome::Other
        };
        match outcome {
            Outcome::Accepted => f.accepted += 1,
            Outcome::Declined => f.declined += 1,
            Outcome::Expired => f.expired += 1,
            Outcome::Waiting => f.waiting += 1,
            Outcome::Other => f.other += 1,
        }
        let Some(h) = declined else { continue };
        let reason = h.decline_reason.unwrap_or(DeclineReason::Other);
        *reasons
            .entry(*facility_id)
            .or_default()
            .entry(reason)
            .or_default() += 1;
        *all_reasons.entry(reason).or_default() += 1;
        let label = reason.label();
        // The words the facility added: the stored reason without the label it starts with.
        let note = h
            .answer_reason
            .strip_prefix(&format!("{}：", label.ja))
            .unwrap_or(&h.answer_reason);
        let note = if note == label.ja { "" } else { note };
        let from = hs.iter().map(|h| h.from.as_str()).min().unwrap_or_default();
        let to = hs.iter().map(|h| h.to.as_str()).max().unwrap_or_default();
        let request = requests.get(request_id);
        f.declines.push(Decline {
            answered_on: h.answered_on.map(|d| d.to_string()).unwrap_or_default(),
            case_number: request.map(|r| r.case_number.clone()).unwrap_or_default(),
            reason,
            reason_label: label,
            note: note.to_string(),
            from: from.to_string(),
            to: to.to_string(),
            needs: request
                .map(|r| needs_of(r))
                .unwrap_or_else(|| Msg::new("", "")),
        });
    }
    let mut facilities: Vec<FacilityAnswers> = facilities
        .into_values()
        .map(|mut f| {
            f.reasons = counted(&reasons.remove(&f.facility_id).unwrap_or_default());
            f.declines.sort_by(|a, b| {
                (&a.answered_on, &a.case_number).cmp(&(&b.answered_on, &b.case_number))
            });
            f
        })
        .collect();
    facilities.sort_by(|a, b| {
        b.declined
            .cmp(&a.declined)
            .then(a.facility.cmp(&b.facility))
    });
    DeclineView {
        fiscal_year: fy.label_ja(),
        proposals: facilities.iter().map(|f| f.proposals).sum(),
        declined: facilities.iter().map(|f| f.declined).sum(),
        facilities,
        reasons: counted(&all_reasons),
    }
}

/// The view as one sheet: a row per facility with its counts and reasons, then a row per
/// decline (facility, date, case, reason, words, nights, needs).
pub fn export(
    v: &DeclineView,
    lang: Lang,
    format: FileFormat,
    encoding: TextEncoding,
) -> Result<Vec<u8>> {
    let headings: [&str; 14] = match lang {
        Lang::Ja => [
            "区分",
            "施設",
            "施設の種類",
            "打診",
            "受諾",
            "お断り",
            "期限切れ",
            "回答待ち",
            "その他",
            "回答日",
            "相談番号",
            "お断りの理由",
            "施設の記入",
            "必要な支援",
        ],
        Lang::En => [
            "row",
            "facility",
            "facility kind",
            "proposals",
            "accepted",
            "declined",
            "expired",
            "waiting",
            "other",
            "answered on",
            "case",
            "decline reason",
            "facility's words",
            "needs",
        ],
    };
    let pick = |m: &Msg| m.get(lang).to_string();
    let (facility_row, decline_row) = match lang {
        Lang::Ja => ("施設別", "お断り"),
        Lang::En => ("facility", "decline"),
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    for f in &v.facilities {
        let reasons = f
            .reasons
            .iter()
            .map(|r| format!("{} {}", pick(&r.label), r.count))
            .collect::<Vec<_>>()
            .join(if lang == Lang::Ja { "、" } else { ", " });
        rows.push(vec![
            facility_row.into(),
            f.facility.clone(),
            pick(&f.kind_label),
            f.proposals.to_string(),
            f.accepted.to_string(),
            f.declined.to_string(),
            f.expired.to_string(),
            f.waiting.to_string(),
            f.other.to_string(),
            String::new(),
            String::new(),
            reasons,
            String::new(),
            String::new(),
        ]);
    }
    for f in &v.facilities {
        for d in &f.declines {
            let mut row = vec![
                decline_row.to_string(),
                f.facility.clone(),
                pick(&f.kind_label),
            ];
            row.extend(std::iter::repeat_n(String::new(), 6));
            row.extend([
                d.answered_on.clone(),
                d.case_number.clone(),
                pick(&d.reason_label),
                d.note.clone(),
                pick(&d.needs),
            ]);
            rows.push(row);
        }
    }
    write_table(&v.fiscal_year, &headings, &rows, format, encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed_with_fixed_reasons_and_free_text() {
        let a = parse_answer(false, "full", "").unwrap();
        assert_eq!(
            (a.decline, a.reason.as_str()),
            (Some(DeclineReason::Full), "満床")
        );
        let a = parse_answer(false, "医療的ケアに対応できない", "吸引の夜間対応なし").unwrap();
        assert_eq!(a.decline, Some(DeclineReason::MedicalCare));
        assert_eq!(a.reason, "医療的ケアに対応できない：吸引の夜間対応なし");
        // Free text alone still works: counted as other.
        let a = parse_answer(false, "", "送迎ができない").unwrap();
        assert_eq!(
            (a.decline, a.reason.as_str()),
            (Some(DeclineReason::Other), "送迎ができない")
        );
        let fields = |r: std::result::Result<ValidAnswer, Vec<FieldError>>| -> Vec<String> {
            r.unwrap_err().into_iter().map(|e| e.field).collect()
        };
        assert_eq!(fields(parse_answer(false, "other", " ")), ["reason"]);
        assert_eq!(fields(parse_answer(false, "", "")), ["reason"]);
        assert_eq!(fields(parse_answer(false, "busy", "x")), ["reason_code"]);
        assert_eq!(fields(parse_answer(true, "full", "")), ["reason_code"]);
        let a = parse_answer(true, "", "").unwrap();
        assert_eq!((a.accept, a.decline), (true, None));
    }
}
