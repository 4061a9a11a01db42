//! The case-load optimizer: assigns every referral of an instance at once, never over a cap,
//! minimising [`super::score::cost`]. good_lp builds the model, HiGHS solves it.
//!
//! # Formulation
//! Variables: `x[r,o]` ∈ {0, 1} (referral r goes to office o), only for offices with room
//! (for a fixed referral only its chosen office); `u[r]` ∈ \[0, 1\] (r unassigned, integral
//! through its row); `s[o,k]` ∈ \[0, 1\] (office o takes a k-th new case), k = 1..=min(room,
//! referrals that could go there).
//!
//! Rows:
//! - at most one office per referral: `Σ_o x[r,o] + u[r] = 1`;
//! - the cap: `Σ_r x[r,o] ≤ cap_o − current_o`;
//! - load steps: `Σ_k s[o,k] = Σ_r x[r,o]`.
//!
//! Objective: `Σ pair_cost(r,o) x[r,o] + Σ unassigned(r) u[r] + Σ slot_cost(o,k) s[o,k]`.
//! The step costs `load · (current + k) / cap` increase with k, so at an optimum the steps are
//! taken in order and their sum is exactly the load term of [`super::score::cost`]; the LP
//! relaxation of the steps is therefore exact, and only `x` needs to be integer.
//!
//! # Fallback and validation
//! The greedy assignment ([`super::greedy`]) is computed first. The optimizer's assignment
//! replaces it only when HiGHS returns one, it passes [`super::validate::validate`] and it
//! costs no more. Whatever is returned has passed the validator; if even the greedy
//! assignment does not (a bug), [`AssignError::Invalid`] says why and nothing is returned.

use std::collections::BTreeSet;
use std::time::Instant;

use good_lp::{
    highs, variable, Expression, ProblemVariables, Solution as _, SolutionStatus, SolverModel,
    Variable,
};

use super::greedy;
use super::model::*;
use super::score::{cost, pair_cost, slot_cost, unassigned_cost, with_reasons};
use super::validate::{validate, Violation};

#[derive(Debug, Clone, PartialEq)]
pub enum AssignError {
    /// The instance itself is wrong (duplicate ids, a fixed office that does not exist).
    InvalidInstance(Vec<Text>),
    /// No assignment passed the validator (never expected; a bug).
    Invalid(Vec<Violation>),
}

impl std::fmt::Display for AssignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AssignError::InvalidInstance(why) => {
                write!(f, "invalid case-load instance")?;
                for t in why {
                    write!(f, "; {}", t.en)?;
                }
                Ok(())
            }
            AssignError::Invalid(v) => {
                write!(f, "no valid case-load assignment")?;
                for x in v {
                    write!(f, "; {}", x.message.en)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for AssignError {}

/// Instance errors that make assigning meaningless.
pub fn check_instance(instance: &Instance) -> Vec<Text> {
    let mut why = Vec::new();
    let mut offices = BTreeSet::new();
    for o in &instance.offices {
        if !offices.insert(o.id) {
            why.push(Text::new(
                format!("事業所ID {} が重複している", o.id),
                format!("duplicate office id {}", o.id),
            ));
        }
    }
    let mut referrals = BTreeSet::new();
    for r in &instance.referrals {
        if !referrals.insert(r.id) {
            why.push(Text::new(
                format!("紹介ID {} が重複している", r.id),
                format!("duplicate referral id {}", r.id),
            ));
        }
        if let Some(f) = r.fixed {
            if !offices.contains(&f) {
                why.push(Text::new(
                    format!("紹介 {} の指定事業所 {} が存在しない", r.label, f),
                    format!("referral {} is fixed to unknown office {}", r.label, f),
                ));
            }
        }
    }
    let w = &instance.weights;
    let weights = [
        w.unassigned,
        w.fixed_unassigned,
        w.outside_ward,
        w.no_continuity,
        w.missing_speciality,
        w.load,
    ];
    if weights.iter().any(|x| !x.is_finite() || *x < 0.0) {
        why.push(Text::new(
            "重みは0以上の有限の数でなければならない",
            "weights must be finite and not negative",
        ));
    }
    why
}

/// Assigns every referral of `instance`; see the module documentation.
pub fn assign(instance: &Instance) -> Result<Solution, AssignError> {
    let started = Instant::now();
    let problems = check_instance(instance);
    if !problems.is_empty() {
        return Err(AssignError::InvalidInstance(problems));
    }
    let greedy = greedy::assign(instance);
    let greedy_report = validate(instance, &greedy);
    let greedy_objective = cost(instance, &greedy);
    let (optimized, note) = match solve(instance) {
        Ok(found) => (found, None),
        Err(e) => (
            None,
            Some(Text::new(
                format!("最適化に失敗したため貪欲法の割当てを使った（{e}）"),
                format!("the optimizer failed, the greedy assignment is used ({e})"),
            )),
        ),
    };
    let mut best: Option<(Vec<Assignment>, Method, f64)> = None;
    if greedy_report.is_valid() {
        best = Some((greedy, Method::Greedy, greedy_objective));
    }
    if let Some((assignments, optimal)) = optimized {
        let assignments = with_reasons(instance, assignments);
        if validate(instance, &assignments).is_valid() {
            let c = cost(instance, &assignments);
            if best.as_ref().is_none_or(|(_, _, b)| c <= *b + 1e-9) {
                let method = if optimal {
                    Method::Optimizer
                } else {
                    Method::OptimizerTimeLimit
                };
                best = Some((assignments, method, c));
            }
        }
    }
    match best {
        Some((assignments, method, objective)) => Ok(Solution {
            assignments,
            method,
            objective,
            greedy_objective,
            note,
            seconds: started.elapsed().as_secs_f64(),
        }),
        None => Err(AssignError::Invalid(greedy_report.violations)),
    }
}

/// The MILP's assignment (without reasons) and whether it is proven optimal; `Ok(None)` when
/// HiGHS found none in time.
fn solve(instance: &Instance) -> Result<Option<(Vec<Assignment>, bool)>, String> {
    let w = &instance.weights;
    let mut vars = ProblemVariables::new();
    let mut objective = Expression::default();
    let mut rows = Vec::new();
    let mut pairs: Vec<Vec<(usize, Variable)>> = Vec::with_capacity(instance.referrals.len());
    let mut per_office: Vec<Vec<Variable>> = vec![Vec::new(); instance.offices.len()];
    for r in &instance.referrals {
        let mut xs = Vec::new();
        let u = vars.add(variable().min(0.0).max(1.0));
        objective.add_mul(unassigned_cost(w, r), u);
        let mut one = Expression::from(u);
        for (i, o) in instance.offices.iter().enumerate() {
            if o.room() == 0 || r.fixed.is_some_and(|f| f != o.id) {
                continue;
            }
            let x = vars.add(variable().binary());
            objective.add_mul(pair_cost(w, r, o), x);
            one.add_mul(1.0, x);
            per_office[i].push(x);
            xs.push((i, x));
        }
        rows.push(one.eq(1.0));
        pairs.push(xs);
    }
    if pairs.iter().all(|xs| xs.is_empty()) {
        // Nothing can be assigned: the only point is "everyone unassigned".
        let assignments = instance
            .referrals
            .iter()
            .map(|r| Assignment {
                referral: r.id,
                office: None,
                reason: None,
            })
            .collect();
        return Ok(Some((assignments, true)));
    }
    for (o, xs) in instance.offices.iter().zip(&per_office) {
        if xs.is_empty() {
            continue;
        }
        let mut taken = Expression::default();
        for x in xs {
            taken.add_mul(1.0, *x);
        }
        rows.push(taken.clone().leq(f64::from(o.room())));
        let steps = o.room().min(xs.len() as u32);
        let mut e = Expression::default();
        for k in 1..=steps {
            let s = vars.add(variable().min(0.0).max(1.0));
            objective.add_mul(slot_cost(w, o, k), s);
            e.add_mul(1.0, s);
        }
        e.add_mul(-1.0, taken);
        rows.push(e.eq(0.0));
    }
    let mut problem = vars
        .minimise(objective)
        .using(highs)
        .set_time_limit(instance.time_limit_seconds.max(0.01));
    for row in rows {
        problem.add_constraint(row);
    }
    let solved = match problem.solve() {
        Ok(s) => s,
        Err(good_lp::ResolutionError::Infeasible) => return Err("infeasible".into()),
        Err(e) => return Err(e.to_string()),
    };
    let optimal = matches!(
        solved.status(),
        SolutionStatus::Optimal | SolutionStatus::GapLimit
    );
    let assignments = instance
        .referrals
        .iter()
        .zip(&pairs)
        .map(|(r, xs)| Assignment {
            referral: r.id,
            office: xs
                .iter()
                .find(|(_, x)| solved.value(*x) > 0.5)
                .map(|(i, _)| instance.offices[*i].id),
            reason: None,
        })
        .collect();
    Ok(Some((assignments, optimal)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caseload::validate::Rule;

    fn office(id: OfficeId, ward: &str, cap: u32, current: u32) -> Office {
        Office {
            id,
            name: format!("事業所{id}"),
            ward: ward.into(),
            cap,
            current,
            specialities: Vec::new(),
        }
    }

    fn referral(id: ReferralId, ward: &str) -> Referral {
        Referral {
            id,
            label: format!("R{id}"),
            ward: ward.into(),
            needs: Vec::new(),
            previous: None,
            fixed: None,
        }
    }

    fn office_of(s: &Solution, r: ReferralId) -> Option<OfficeId> {
        s.assignments
            .iter()
            .find(|a| a.referral == r)
            .unwrap()
            .office
    }

    /// Deterministic pseudo-random instances (no dependency on a random crate).
    fn random_instance(seed: u64, offices: u32, referrals: u32) -> Instance {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = move |n: u32| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) % u64::from(n)) as u32
        };
        let wards = ["東区", "西区", "南区", "北区", "中央区"];
        let tags = ["child", "mental", "medical_care", "behaviour"];
        let os: Vec<Office> = (1..=offices)
            .map(|id| {
                let ward = wards[next(5) as usize];
                let cap = if ward == "西区" { 75 } else { 50 };
                let mut o = office(id, ward, cap, cap - 1 - next(6));
                o.specialities = tags
                    .iter()
                    .filter(|_| next(3) == 0)
                    .map(|t| t.to_string())
                    .collect();
                o
            })
            .collect();
        let rs: Vec<Referral> = (1..=referrals)
            .map(|id| {
                let mut r = referral(id, wards[next(5) as usize]);
                r.needs = tags
                    .iter()
                    .filter(|_| next(4) == 0)
                    .map(|t| t.to_string())
                    .collect();
                if next(3) == 0 {
                    r.previous = Some(1 + next(offices));
                }
                r
            })
            .collect();
        Instance::new(os, rs)
    }

    #[test]
    fn caps_are_never_exceeded() {
        for seed in 0..12 {
            let inst = random_instance(seed, 8, 30);
            let s = assign(&inst).unwrap();
            assert!(validate(&inst, &s.assignments).is_valid(), "seed {seed}");
            let added = crate::caseload::score::added(&s.assignments);
            for o in &inst.offices {
                assert!(
                    o.current + added.get(&o.id).copied().unwrap_or(0) <= o.cap,
                    "seed {seed}: office {} over its cap",
                    o.id
                );
            }
            // Each referral at most once, and in the instance's order.
            let ids: Vec<_> = s.assignments.iter().map(|a| a.referral).collect();
            assert_eq!(ids, (1..=30).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_persons_ward_is_preferred() {
        let inst = Instance::new(
            vec![office(1, "東区", 50, 10), office(2, "西区", 75, 40)],
            vec![referral(1, "西区"), referral(2, "東区")],
        );
        let s = assign(&inst).unwrap();
        assert_eq!(office_of(&s, 1), Some(2));
        assert_eq!(office_of(&s, 2), Some(1));
        assert_eq!(s.method, Method::Optimizer);
    }

    #[test]
    fn continuity_is_preferred() {
        // Same ward; office 2 is fuller, but the person was with it before.
        let mut r = referral(1, "東区");
        r.previous = Some(2);
        let inst = Instance::new(
            vec![office(1, "東区", 50, 10), office(2, "東区", 50, 30)],
            vec![r],
        );
        let s = assign(&inst).unwrap();
        assert_eq!(office_of(&s, 1), Some(2));
    }

    #[test]
    fn a_needed_speciality_is_preferred() {
        let mut r = referral(1, "東区");
        r.needs = vec!["medical_care".into()];
        let mut skilled = office(2, "東区", 50, 30);
        skilled.specialities = vec!["medical_care".into()];
        let inst = Instance::new(vec![office(1, "東区", 50, 10), skilled], vec![r]);
        let s = assign(&inst).unwrap();
        assert_eq!(office_of(&s, 1), Some(2));
    }

    #[test]
    fn offices_near_their_cap_get_fewer() {
        // Two equal offices but one almost full: the new cases go mostly to the emptier one,
        // and the split equalises the ratios rather than filling one office first.
        let inst = Instance::new(
            vec![office(1, "東区", 50, 45), office(2, "東区", 50, 20)],
            (1..=10).map(|i| referral(i, "東区")).collect(),
        );
        let s = assign(&inst).unwrap();
        let added = crate::caseload::score::added(&s.assignments);
        assert_eq!(added.get(&2).copied(), Some(10));
        let inst = Instance::new(
            vec![office(1, "東区", 50, 30), office(2, "東区", 50, 20)],
            (1..=20).map(|i| referral(i, "東区")).collect(),
        );
        let s = assign(&inst).unwrap();
        let added = crate::caseload::score::added(&s.assignments);
        assert_eq!((added[&1], added[&2]), (5, 15));
    }

    #[test]
    fn an_override_is_kept_even_when_it_costs_more() {
        // The person lives in 東区 and was with office 1, but the coordinator chose office 2
        // (another ward, fuller).
        let mut r = referral(1, "東区");
        r.previous = Some(1);
        r.fixed = Some(2);
        let inst = Instance::new(
            vec![office(1, "東区", 50, 10), office(2, "西区", 75, 70)],
            vec![r.clone()],
        );
        let s = assign(&inst).unwrap();
        assert_eq!(office_of(&s, 1), Some(2));
        // Not over the cap, though: a full chosen office leaves the referral unassigned, with
        // the reason, while the other office has room.
        let inst = Instance::new(
            vec![office(1, "東区", 50, 10), office(2, "西区", 75, 75)],
            vec![r],
        );
        let s = assign(&inst).unwrap();
        assert_eq!(office_of(&s, 1), None);
        let why = s.assignments[0].reason.as_ref().unwrap();
        assert!(
            why.ja.contains("手動で指定した事業所「事業所2」は上限"),
            "{}",
            why.ja
        );
        assert!(why.en.contains("75 of 75"), "{}", why.en);
    }

    #[test]
    fn fixed_referrals_come_before_the_others() {
        // One place left at office 1: the fixed referral takes it although the other one is
        // listed first and would have it by ward.
        let mut fixed = referral(2, "西区");
        fixed.fixed = Some(1);
        let inst = Instance::new(
            vec![office(1, "東区", 50, 49)],
            vec![referral(1, "東区"), fixed],
        );
        let s = assign(&inst).unwrap();
        assert_eq!(office_of(&s, 2), Some(1));
        assert_eq!(office_of(&s, 1), None);
    }

    #[test]
    fn an_overfull_instance_leaves_the_right_number_unassigned_with_the_reason() {
        // Room: 2 + 1 + 0 = 3 places for 7 referrals.
        let inst = Instance::new(
            vec![
                office(1, "東区", 50, 48),
                office(2, "西区", 75, 74),
                office(3, "南区", 50, 52),
            ],
            (1..=7).map(|i| referral(i, "東区")).collect(),
        );
        let s = assign(&inst).unwrap();
        let unassigned: Vec<_> = s
            .assignments
            .iter()
            .filter(|a| a.office.is_none())
            .collect();
        assert_eq!(unassigned.len(), 4);
        for a in &unassigned {
            let why = a.reason.as_ref().expect("a reason");
            assert!(why.ja.contains("上限"), "{}", why.ja);
            assert!(why.en.contains("full"), "{}", why.en);
        }
        assert!(s.assignments.iter().all(|a| a.office != Some(3)));
        // Everyone full from the start: the other reason.
        let inst = Instance::new(vec![office(1, "東区", 50, 50)], vec![referral(1, "東区")]);
        let s = assign(&inst).unwrap();
        let why = s.assignments[0].reason.as_ref().unwrap();
        assert!(
            why.ja.contains("すべての事業所（1か所）が件数の上限"),
            "{}",
            why.ja
        );
        assert!(
            why.en.contains("every office (1) is at its case cap"),
            "{}",
            why.en
        );
    }

    #[test]
    fn milp_costs_no_more_than_greedy_and_strictly_less_when_greedy_is_short_sighted() {
        for seed in 0..12 {
            let inst = random_instance(seed, 6, 25);
            let s = assign(&inst).unwrap();
            let g = greedy::assign(&inst);
            assert!(validate(&inst, &g).is_valid(), "greedy, seed {seed}");
            let gc = cost(&inst, &g);
            assert!(
                s.objective <= gc + 1e-6,
                "seed {seed}: {} > {gc}",
                s.objective
            );
            assert!((s.objective - cost(&inst, &s.assignments)).abs() < 1e-6);
            assert!((s.greedy_objective - gc).abs() < 1e-9);
        }
        // Greedy gives R1 the only office with `child` (cheapest for it by the load step),
        // and R2, who needs it too... one place each: R1 has no need, R2 needs `child`.
        let mut skilled = office(1, "東区", 50, 49);
        skilled.specialities = vec!["child".into()];
        let mut r2 = referral(2, "東区");
        r2.needs = vec!["child".into()];
        let inst = Instance::new(
            vec![skilled, office(2, "東区", 50, 49)],
            vec![referral(1, "東区"), r2],
        );
        let g = greedy::assign(&inst);
        let s = assign(&inst).unwrap();
        assert_eq!(s.method, Method::Optimizer);
        assert_eq!(office_of(&s, 2), Some(1));
        assert_eq!(office_of(&s, 1), Some(2));
        assert!(
            s.objective < cost(&inst, &g) - 1.0,
            "{} vs {}",
            s.objective,
            cost(&inst, &g)
        );
    }

    #[test]
    fn the_validator_catches_every_broken_rule() {
        let mut fixed = referral(3, "東区");
        fixed.fixed = Some(2);
        let inst = Instance::new(
            vec![office(1, "東区", 50, 49), office(2, "東区", 50, 10)],
            vec![
                referral(1, "東区"),
                referral(2, "東区"),
                fixed,
                referral(4, "東区"),
            ],
        );
        let a = |r, o| Assignment {
            referral: r,
            office: o,
            reason: None,
        };
        let bad = vec![
            a(1, Some(1)),
            a(2, Some(1)),
            a(2, Some(2)),
            a(3, Some(1)),
            a(9, None),
            a(1, Some(7)),
        ];
        let rules: BTreeSet<Rule> = validate(&inst, &bad)
            .violations
            .iter()
            .map(|v| v.rule)
            .collect();
        for rule in [
            Rule::OverCap,
            Rule::DuplicateReferral,
            Rule::FixedMoved,
            Rule::UnknownReferral,
            Rule::UnknownOffice,
            Rule::MissingReferral,
        ] {
            assert!(rules.contains(&rule), "{rule:?} not reported: {rules:?}");
        }
        let dropped = vec![a(1, None), a(2, None), a(3, None), a(4, None)];
        let rules: BTreeSet<Rule> = validate(&inst, &dropped)
            .violations
            .iter()
            .map(|v| v.rule)
            .collect();
        assert!(rules.contains(&Rule::FixedDropped));
        assert!(rules.contains(&Rule::LeftWithRoom));
        assert!(rules.contains(&Rule::MissingReason));
    }

    #[test]
    fn bad_instances_are_refused() {
        let mut r = referral(1, "東区");
        r.fixed = Some(9);
        let inst = Instance::new(
            vec![office(1, "東区", 50, 0), office(1, "西区", 75, 0)],
            vec![r.clone(), r],
        );
        let Err(AssignError::InvalidInstance(why)) = assign(&inst) else {
            panic!("refused")
        };
        assert_eq!(why.len(), 4, "{why:?}");
    }

    #[test]
    fn nothing_to_assign_and_no_room_are_fine() {
        let s = assign(&Instance::new(vec![office(1, "東区", 50, 3)], vec![])).unwrap();
        assert!(s.assignments.is_empty());
        let s = assign(&Instance::new(vec![], vec![referral(1, "東区")])).unwrap();
        assert_eq!(s.assignments[0].office, None);
        assert!(s.assignments[0]
            .reason
            .as_ref()
            .unwrap()
            .en
            .contains("no planning"));
    }

    #[test]
    fn a_larger_instance_is_solved_quickly_and_deterministically() {
        let inst = random_instance(7, 40, 200);
        let a = assign(&inst).unwrap();
        let b = assign(&inst).unwrap();
        assert_eq!(a.assignments, b.assignments);
        assert!(a.seconds < 5.0, "{} s", a.seconds);
    }
}
