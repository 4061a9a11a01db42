//! The soft goals of an assignment, evaluated from the assignments alone (the optimizer's
//! objective equals [`cost`] at the point it returns; the tests check it), and the reasons a
//! referral stays unassigned.

use std::collections::BTreeMap;

use super::model::*;

/// Cost of giving `referral` to `office`, without the load term.
pub fn pair_cost(w: &Weights, referral: &Referral, office: &Office) -> f64 {
    let mut c = 0.0;
    if !referral.ward.is_empty() && referral.ward != office.ward {
        c += w.outside_ward;
    }
    if referral.previous.is_some_and(|p| p != office.id) {
        c += w.no_continuity;
    }
    let missing = referral
        .needs
        .iter()
        .filter(|n| !office.specialities.iter().any(|s| s == *n))
        .count();
    c += w.missing_speciality * missing as f64;
    c
}

/// Cost of the k-th new case (k ≥ 1) of `office`: `load · (current + k) / cap`.
pub fn slot_cost(w: &Weights, office: &Office, k: u32) -> f64 {
    if office.cap == 0 {
        return w.load;
    }
    w.load * f64::from(office.current + k) / f64::from(office.cap)
}

/// Cost of leaving `referral` unassigned.
pub fn unassigned_cost(w: &Weights, referral: &Referral) -> f64 {
    if referral.fixed.is_some() {
        w.fixed_unassigned
    } else {
        w.unassigned
    }
}

/// Total cost of `assignments` (referrals missing from the list count as unassigned).
/// Unknown ids are ignored here; the validator reports them.
pub fn cost(instance: &Instance, assignments: &[Assignment]) -> f64 {
    let w = &instance.weights;
    let offices: BTreeMap<OfficeId, &Office> = instance.offices.iter().map(|o| (o.id, o)).collect();
    let given: BTreeMap<ReferralId, Option<OfficeId>> =
        assignments.iter().map(|a| (a.referral, a.office)).collect();
    let mut total = 0.0;
    let mut added: BTreeMap<OfficeId, u32> = BTreeMap::new();
    for r in &instance.referrals {
        match given
            .get(&r.id)
            .copied()
            .flatten()
            .and_then(|o| offices.get(&o))
        {
            Some(o) => {
                total += pair_cost(w, r, o);
                *added.entry(o.id).or_default() += 1;
            }
            None => total += unassigned_cost(w, r),
        }
    }
    for (id, n) in added {
        let o = offices[&id];
        total += (1..=n).map(|k| slot_cost(w, o, k)).sum::<f64>();
    }
    total
}

/// New cases per office in `assignments`.
pub fn added(assignments: &[Assignment]) -> BTreeMap<OfficeId, u32> {
    let mut out: BTreeMap<OfficeId, u32> = BTreeMap::new();
    for a in assignments {
        if let Some(o) = a.office {
            *out.entry(o).or_default() += 1;
        }
    }
    out
}

/// Why `referral` is unassigned, given what the batch assigned (`added`).
pub fn unassigned_reason(
    instance: &Instance,
    referral: &Referral,
    added: &BTreeMap<OfficeId, u32>,
) -> Text {
    if let Some(fixed) = referral.fixed {
        return match instance.office(fixed) {
            Some(o) => Text::new(
                format!(
                    "手動で指定した事業所「{}」は上限に達している（{}件／上限{}件）",
                    o.name,
                    o.current + added.get(&o.id).copied().unwrap_or(0),
                    o.cap
                ),
                format!(
                    "the office chosen by hand, {}, is at its cap ({} of {} cases)",
                    o.name,
                    o.current + added.get(&o.id).copied().unwrap_or(0),
                    o.cap
                ),
            ),
            None => Text::new(
                "手動で指定した事業所が見つからない",
                "the office chosen by hand does not exist",
            ),
        };
    }
    if instance.offices.is_empty() {
        return Text::new(
            "計画相談の事業所が登録されていない",
            "no planning-consultation office is registered",
        );
    }
    let n = instance.offices.len();
    if instance.offices.iter().all(|o| o.room() == 0) {
        return Text::new(
            format!("すべての事業所（{n}か所）が件数の上限に達している"),
            format!("every office ({n}) is at its case cap"),
        );
    }
    Text::new(
        format!(
            "空きのあった事業所はこの割当てで他の紹介を受けて上限に達した（全{n}か所が上限）"
        ),
        format!(
            "the offices that had room reached their cap with other referrals of this run (all {n} offices are full)"
        ),
    )
}

/// Fills in the reasons of unassigned referrals (and clears them on assigned ones).
pub fn with_reasons(instance: &Instance, mut assignments: Vec<Assignment>) -> Vec<Assignment> {
    let added = added(&assignments);
    let referrals: BTreeMap<ReferralId, &Referral> =
        instance.referrals.iter().map(|r| (r.id, r)).collect();
    for a in &mut assignments {
        a.reason = match (a.office, referrals.get(&a.referral)) {
            (None, Some(r)) => Some(unassigned_reason(instance, r, &added)),
            _ => None,
        };
    }
    assignments
}
