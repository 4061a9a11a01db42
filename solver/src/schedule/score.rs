//! The soft goals of a plan, evaluated from the instance alone: what the optimizer minimises,
//! computed independently so that plans from different methods (MILP, greedy, a coordinator's
//! hand) can be compared in the same units.
//!
//! Definitions (each multiplied by its weight in [`Weights`]):
//! * weekday: occurrences on a weekday not in the series' preferred weekdays (if any);
//! * start_time: occurrences starting outside the preferred start window (if any);
//! * spacing: for the k-th of n occurrences in a cadence window of L days starting at F, the
//!   distance in days from its ideal date F + (k + 1/2)·L/n (evenly spread, middle of each share);
//!   member j of a family of J series (`Series::family`) aims at F + (k·J + j + 1/2)·L/(n·J), so
//!   that the family's occurrences interleave;
//! * optional_missed: invited optional people who are not among the attendees;
//! * weekly_load: per person and ISO week, meetings beyond the first;
//! * change: published occurrences inside the period not kept with the same date, start and room;
//! * target_shortfall: per [`Target`], the occurrences of its series inside the period missing
//!   to its minimum (see [`super::targets`]).

use std::collections::HashMap;

use chrono::Datelike;
use serde::{Deserialize, Serialize};

use super::model::*;
use super::rules::{windows, Index};
use super::targets;

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SoftCost {
    pub weekday: f64,
    pub start_time: f64,
    pub spacing: f64,
    pub optional_missed: f64,
    pub weekly_load: f64,
    pub change: f64,
    #[serde(default)]
    pub target_shortfall: f64,
    pub total: f64,
}

/// Ideal date offset (in days from the window start) of the k-th of n occurrences in a window
/// of `len` days.
pub fn ideal_offset(k: u32, n: u32, len: i64) -> f64 {
    ideal_offset_in_family(k, n, len, (0, 1))
}

/// [`ideal_offset`] for member `j` of a family of `size` series (see `Series::family`): the
/// family's n·size occurrences interleave evenly, member j's k-th at slot k·size + j.
pub fn ideal_offset_in_family(k: u32, n: u32, len: i64, (j, size): (u32, u32)) -> f64 {
    let size = size.max(1);
    (f64::from(k * size + j) + 0.5) * len as f64 / f64::from(n.max(1) * size)
}

pub fn soft_cost(instance: &Instance, occurrences: &[Occurrence]) -> SoftCost {
    let ix = Index::new(instance);
    let w = instance.weights;
    let mut c = SoftCost::default();
    for o in occurrences {
        let Some(s) = ix.series.get(&o.series) else {
            continue;
        };
        if !s.preferred_weekdays.is_empty() && !s.preferred_weekdays.contains(&o.date.weekday()) {
            c.weekday += w.weekday;
        }
        if let Some(win) = s.preferred_start {
            if o.start < win.from || o.start >= win.to {
                c.start_time += w.start_time;
            }
        }
        let missed = s
            .optional
            .iter()
            .filter(|p| !o.attendees.contains(p))
            .count();
        c.optional_missed += w.optional_missed * missed as f64;
    }
    for s in &instance.series {
        for win in windows(&ix, s) {
            let mut dates: Vec<_> = occurrences
                .iter()
                .filter(|o| o.series == s.id && win.range.contains(o.date))
                .map(|o| o.date)
                .collect();
            dates.sort();
            let n = dates.len() as u32;
            let len = (win.range.to - win.range.from).num_days() + 1;
            for (k, d) in dates.iter().enumerate() {
                let offset = (*d - win.range.from).num_days() as f64;
                let ideal = ideal_offset_in_family(k as u32, n, len, ix.family_slot(s.id));
                c.spacing += w.spacing * (offset - ideal).abs();
            }
        }
    }
    let mut per_week: HashMap<(PersonId, i32, u32), u32> = HashMap::new();
    for o in occurrences {
        let week = o.date.iso_week();
        for p in &o.attendees {
            *per_week.entry((*p, week.year(), week.week())).or_default() += 1;
        }
    }
    c.weekly_load = w.weekly_load
        * per_week
            .values()
            .map(|n| f64::from(n.saturating_sub(1)))
            .sum::<f64>();
    // Published occurrences outside the period cannot be reproduced by any plan of it.
    let changed = instance
        .published
        .iter()
        .filter(|p| instance.period.contains(p.occurrence.date))
        .filter(|p| {
            let po = &p.occurrence;
            !occurrences.iter().any(|o| {
                o.series == po.series
                    && o.date == po.date
                    && o.start == po.start
                    && o.room == po.room
            })
        })
        .count();
    c.change = w.change * changed as f64;
    c.target_shortfall = w.target_shortfall
        * instance
            .targets
            .iter()
            .map(|t| f64::from(targets::shortfall(instance, t, occurrences)))
            .sum::<f64>();
    c.total = c.weekday
        + c.start_time
        + c.spacing
        + c.optional_missed
        + c.weekly_load
        + c.change
        + c.target_shortfall;
    c
}
