//! The placement benchmark (`cargo test --release -p renkei-solver bench_placement --
//! --ignored --nocapture`): vacancy search on a year-long 2,000-bed state, one request placed
//! into it, and a 200-request batch optimised and compared with the greedy baseline.

use std::time::Instant;

use super::generate::{instance, sized, Size};
use super::model::*;
use super::rules::Index;
use super::search::{search, search_in};
use super::{greedy, milp, score, validate};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[test]
#[ignore]
fn bench_placement() {
    let t = Instant::now();
    let state = sized(Size::SearchState, 1);
    println!(
        "search state: {} facilities, {} beds, {} taken bed-nights, {} requests (generated in {:.2} s)",
        state.facilities.len(),
        state.beds.len(),
        state.taken.len(),
        state.requests.len(),
        t.elapsed().as_secs_f64()
    );

    // search(): index of the request's nights built per call (what a service call does).
    let mut ms = Vec::new();
    let (mut whole, mut split, mut none) = (0, 0, 0);
    for r in &state.requests {
        let t = Instant::now();
        let res = search(&state, r);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        if !res.whole.is_empty() {
            whole += 1;
        } else if res.split.is_some() {
            split += 1;
        } else {
            none += 1;
        }
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "search (per call, index of the request's nights from the 365-night state): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} whole, {} split only, {} none",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().unwrap(),
        whole,
        split,
        none
    );

    // The same on an instance holding only the request's nights (what the service loads).
    let mut ms = Vec::new();
    for r in state.requests.iter().take(200) {
        let mut small = state.clone();
        small.taken.retain(|t| r.nights.contains(t.night));
        small.requests = vec![r.clone()];
        let t = Instant::now();
        let _ = search(&small, r);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "search (instance with only the request's nights, 200 requests): p50 {:.2} ms, p99 {:.2} ms",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99)
    );

    // search_in(): one prebuilt index of the whole year.
    let t = Instant::now();
    let index = Index::new(&state);
    let build = t.elapsed().as_secs_f64() * 1e3;
    let mut ms = Vec::new();
    for r in &state.requests {
        let t = Instant::now();
        let _ = search_in(&index, r);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "search_in (prebuilt index of all 365 nights, built in {:.1} ms): p50 {:.2} ms, p99 {:.2} ms",
        build,
        percentile(&ms, 0.5),
        percentile(&ms, 0.99)
    );

    // One request placed into the 2,000-bed state.
    let mut ms = Vec::new();
    let mut statuses = Vec::new();
    for r in state.requests.iter().take(20) {
        let mut one = state.clone();
        one.requests = vec![r.clone()];
        let t = Instant::now();
        let sol = milp::place(&one).expect("placed");
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        let report = validate::validate(&one, &sol.placements);
        assert!(report.is_valid(), "{:?}", report.violations);
        statuses.push(sol.status);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "place one request into the 2,000 x 365 state (20 requests): p50 {:.1} ms, max {:.1} ms, all optimal: {}, all valid",
        percentile(&ms, 0.5),
        ms.last().unwrap(),
        statuses.iter().all(|s| *s == SolveStatus::Optimal)
    );

    // The batch.
    for seed in [1, 2, 3] {
        let batch = instance(500, 30, 200, seed);
        let t = Instant::now();
        let sol = milp::place(&batch).expect("solved");
        let secs = t.elapsed().as_secs_f64();
        let milp_violations = validate::validate(&batch, &sol.placements).violations.len();
        let t = Instant::now();
        let g = greedy::place(&batch);
        let greedy_secs = t.elapsed().as_secs_f64();
        let greedy_violations = validate::validate(&batch, &g).violations.len();
        let placed = |ps: &[Placement]| ps.iter().filter(|p| !p.segments.is_empty()).count();
        let hub = |ps: &[Placement]| {
            ps.iter()
                .flat_map(|p| &p.segments)
                .filter(|s| s.bed <= 2)
                .map(|s| s.nights.len())
                .sum::<u32>()
        };
        let mb = score::breakdown(&batch, &sol.placements);
        let gb = score::breakdown(&batch, &g);
        println!(
            "batch seed {seed} (200 requests, 500 beds x 30 nights, {} taken): milp status {:?}, gap {:.2e}, {:.2} s, objective {:.2} (bound {:.2}), {} placed, {} hub nights, {} violations | greedy objective {:.2} in {:.3} s, {} placed, {} hub nights, {} violations",
            batch.taken.len(),
            sol.status,
            sol.gap,
            secs,
            sol.objective,
            sol.bound,
            placed(&sol.placements),
            hub(&sol.placements),
            milp_violations,
            score::cost(&batch, &g),
            greedy_secs,
            placed(&g),
            hub(&g),
            greedy_violations
        );
        println!("  milp   {mb:?}\n  greedy {gb:?}");
    }
}
