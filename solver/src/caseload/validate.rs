//! The independent validator: re-checks the hard rules of an assignment from the instance
//! alone. It shares nothing with the optimizer or the greedy assignment; [`super::assign`]
//! returns nothing that fails it, and the service writes nothing that fails it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::model::*;

/// Which hard rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The referral id is not in the instance.
    UnknownReferral,
    /// The office id is not in the instance.
    UnknownOffice,
    /// The referral appears more than once (it would get two offices).
    DuplicateReferral,
    /// A referral of the instance has no entry.
    MissingReferral,
    /// Current cases plus new ones exceed the office's cap.
    OverCap,
    /// A referral fixed by hand went to another office.
    FixedMoved,
    /// A referral fixed by hand stayed unassigned while its office had room.
    FixedDropped,
    /// A referral stayed unassigned while some office had room.
    LeftWithRoom,
    /// An unassigned referral without a reason.
    MissingReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub rule: Rule,
    pub referral: Option<ReferralId>,
    pub office: Option<OfficeId>,
    pub message: Text,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Report {
    pub violations: Vec<Violation>,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Every hard-rule violation of `assignments` in `instance`; an empty report means valid.
pub fn validate(instance: &Instance, assignments: &[Assignment]) -> Report {
    let mut out = Vec::new();
    let offices: BTreeMap<OfficeId, &Office> = instance.offices.iter().map(|o| (o.id, o)).collect();
    let referrals: BTreeMap<ReferralId, &Referral> =
        instance.referrals.iter().map(|r| (r.id, r)).collect();
    let mut seen: BTreeSet<ReferralId> = BTreeSet::new();
    let mut load: BTreeMap<OfficeId, u64> = BTreeMap::new();
    for a in assignments {
        if !seen.insert(a.referral) {
            out.push(Violation {
                rule: Rule::DuplicateReferral,
                referral: Some(a.referral),
                office: a.office,
                message: Text::new(
                    format!("紹介 {} が2回以上割り当てられている", a.referral),
                    format!("referral {} appears more than once", a.referral),
                ),
            });
        }
        let Some(referral) = referrals.get(&a.referral) else {
            out.push(Violation {
                rule: Rule::UnknownReferral,
                referral: Some(a.referral),
                office: a.office,
                message: Text::new(
                    format!("紹介 {} は存在しない", a.referral),
                    format!("referral {} does not exist", a.referral),
                ),
            });
            continue;
        };
        if let Some(o) = a.office {
            if !offices.contains_key(&o) {
                out.push(Violation {
                    rule: Rule::UnknownOffice,
                    referral: Some(a.referral),
                    office: Some(o),
                    message: Text::new(
                        format!("事業所 {o} は存在しない"),
                        format!("office {o} does not exist"),
                    ),
                });
                continue;
            }
            *load.entry(o).or_default() += 1;
            if referral.fixed.is_some_and(|f| f != o) {
                out.push(Violation {
                    rule: Rule::FixedMoved,
                    referral: Some(a.referral),
                    office: Some(o),
                    message: Text::new(
                        format!(
                            "紹介 {} は手動で指定した事業所以外に割り当てられた",
                            referral.label
                        ),
                        format!(
                            "referral {} went to another office than the one chosen by hand",
                            referral.label
                        ),
                    ),
                });
            }
        } else if a.reason.is_none() {
            out.push(Violation {
                rule: Rule::MissingReason,
                referral: Some(a.referral),
                office: None,
                message: Text::new(
                    format!("未割当ての紹介 {} に理由がない", referral.label),
                    format!("unassigned referral {} has no reason", referral.label),
                ),
            });
        }
    }
    for r in &instance.referrals {
        if !seen.contains(&r.id) {
            out.push(Violation {
                rule: Rule::MissingReferral,
                referral: Some(r.id),
                office: None,
                message: Text::new(
                    format!("紹介 {} の結果がない", r.label),
                    format!("referral {} has no result", r.label),
                ),
            });
        }
    }
    // Caps, in u64 so that no sum can wrap.
    let has_room = |o: &Office| {
        u64::from(o.current) + load.get(&o.id).copied().unwrap_or(0) < u64::from(o.cap)
    };
    for o in &instance.offices {
        let new = load.get(&o.id).copied().unwrap_or(0);
        if new > 0 && u64::from(o.current) + new > u64::from(o.cap) {
            out.push(Violation {
                rule: Rule::OverCap,
                referral: None,
                office: Some(o.id),
                message: Text::new(
                    format!(
                        "事業所「{}」が上限を超える（{}件＋新規{}件 > 上限{}件）",
                        o.name, o.current, new, o.cap
                    ),
                    format!(
                        "office {} goes over its cap ({} cases + {} new > {})",
                        o.name, o.current, new, o.cap
                    ),
                ),
            });
        }
    }
    let any_room = instance.offices.iter().any(has_room);
    for a in assignments {
        if a.office.is_some() {
            continue;
        }
        let Some(referral) = referrals.get(&a.referral) else {
            continue;
        };
        match referral.fixed {
            Some(f) if offices.get(&f).is_some_and(|o| has_room(o)) => out.push(Violation {
                rule: Rule::FixedDropped,
                referral: Some(a.referral),
                office: Some(f),
                message: Text::new(
                    format!(
                        "紹介 {} は手動で指定した事業所に空きがあるのに未割当て",
                        referral.label
                    ),
                    format!(
                        "referral {} is unassigned although the office chosen by hand has room",
                        referral.label
                    ),
                ),
            }),
            Some(_) => {}
            None if any_room => out.push(Violation {
                rule: Rule::LeftWithRoom,
                referral: Some(a.referral),
                office: None,
                message: Text::new(
                    format!(
                        "紹介 {} は空きのある事業所があるのに未割当て",
                        referral.label
                    ),
                    format!(
                        "referral {} is unassigned although an office has room",
                        referral.label
                    ),
                ),
            }),
            None => {}
        }
    }
    Report { violations: out }
}
