//! The greedy assignment: what a coordinator does by hand, and the optimizer's fallback.
//! Fixed referrals first (each to its chosen office while it has room), then the others in
//! input order, each to the office with room where it costs least now (its pair cost plus
//! the office's next load step; ties to the earlier office). Deterministic. It does not look
//! ahead, so an early referral may take the last place a later one needed more.

use super::model::*;
use super::score::{pair_cost, slot_cost, with_reasons};

pub fn assign(instance: &Instance) -> Vec<Assignment> {
    let w = &instance.weights;
    let mut added = vec![0u32; instance.offices.len()];
    let mut out: Vec<Option<OfficeId>> = vec![None; instance.referrals.len()];
    for (r, referral) in instance.referrals.iter().enumerate() {
        let Some(fixed) = referral.fixed else {
            continue;
        };
        if let Some(i) = instance.offices.iter().position(|o| o.id == fixed) {
            if added[i] < instance.offices[i].room() {
                added[i] += 1;
                out[r] = Some(fixed);
            }
        }
    }
    for (r, referral) in instance.referrals.iter().enumerate() {
        if referral.fixed.is_some() {
            continue;
        }
        let mut best: Option<(f64, usize)> = None;
        for (i, office) in instance.offices.iter().enumerate() {
            if added[i] >= office.room() {
                continue;
            }
            let c = pair_cost(w, referral, office) + slot_cost(w, office, added[i] + 1);
            if best.is_none_or(|(b, _)| c < b) {
                best = Some((c, i));
            }
        }
        if let Some((_, i)) = best {
            added[i] += 1;
            out[r] = Some(instance.offices[i].id);
        }
    }
    let assignments = instance
        .referrals
        .iter()
        .zip(out)
        .map(|(r, office)| Assignment {
            referral: r.id,
            office,
            reason: None,
        })
        .collect();
    with_reasons(instance, assignments)
}
