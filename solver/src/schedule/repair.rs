//! Re-planning against a published calendar (公開済みの日程の修正): repairing it when
//! someone declines, a room closes or a meeting must move, and listing which occurrences
//! moved and who must be told.
//!
//! Any plan against a published calendar (`Instance::published`) keeps what it can, each
//! move costing `Weights::change`. [`repair`] gets there fast by re-planning only the series
//! the change touches, the other published occurrences held on their dates.

use std::collections::{BTreeMap, BTreeSet};

use super::milp::prepare::Prepared;
use super::milp::{plan_with, PlanError, PlanOptions, Progress};
use super::model::*;

/// Indexes into `instance.published` of the occurrences dated in the period that can no
/// longer be held on their date (a required invitee absent or declined, a closure, a room or
/// venue closed, ...): what a re-plan limited to "affected meetings" may move.
pub fn affected(instance: &Instance) -> Vec<usize> {
    Prepared::new(instance)
        .published
        .iter()
        .filter(|p| p.series.is_some() && p.candidate.is_none())
        .map(|p| p.index)
        .collect()
}

/// Repairs the published calendar after a change in the instance (an absence, a closed room,
/// a new pin, ...). The series with a published occurrence that can no longer be held on its
/// date, and the series tied to them by precedence, are planned afresh; every other published
/// occurrence keeps its date (its time and room may still move, at the change cost). That
/// problem is small, so this takes well under a second where [`plan_with`] re-plans the
/// whole period.
///
/// The plan's `bound`, `gap` and `status` are those of that restricted problem: `Optimal`
/// means no better plan keeps the other occurrences' dates. When the restricted problem has
/// no solution (the change needs more to move), the whole period is planned again.
pub fn repair(
    instance: &Instance,
    options: &PlanOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Plan, PlanError> {
    let mut free: BTreeSet<SeriesId> = Prepared::new(instance)
        .published
        .iter()
        .filter(|p| p.series.is_some() && p.candidate.is_none())
        .map(|p| instance.published[p.index].occurrence.series)
        .collect();
    loop {
        let before = free.len();
        for p in &instance.precedences {
            if free.contains(&p.before) || free.contains(&p.after) {
                free.extend([p.before, p.after]);
            }
        }
        if free.len() == before {
            break;
        }
    }
    let mut held = instance.clone();
    for p in &mut held.published {
        if instance.period.contains(p.occurrence.date)
            && p.pin == Pin::None
            && !free.contains(&p.occurrence.series)
        {
            p.pin = Pin::Date;
        }
    }
    let started = std::time::Instant::now();
    match plan_with(&held, options, progress) {
        // Pins do not enter the objective or the changes: both are the original's.
        Ok(plan) => Ok(plan),
        // The whole period again, in what is left of the same time limit.
        Err(PlanError::Infeasible(_)) => {
            let left = PlanOptions {
                time_limit_seconds: (options.time_limit_seconds - started.elapsed().as_secs_f64())
                    .max(0.01),
                ..*options
            };
            plan_with(instance, &left, progress)
        }
        Err(e) => Err(e),
    }
}

/// The differences between the published occurrences dated inside the period and
/// `occurrences`: one [`Change`] per moved, added or removed occurrence, by series and date.
///
/// An occurrence is unchanged when the plan has one with the same series, date, start and
/// room. Among the rest of a series, an old and a new occurrence on the same date are paired
/// first (time or room changed), then the others in date order (moved); what is left over is
/// removed (`after: None`) or added (`before: None`). `notify` is everyone invited to the old
/// or the new occurrence: the series' invitees plus the old occurrence's attendees.
pub fn changes(instance: &Instance, occurrences: &[Occurrence]) -> Vec<Change> {
    let invitees: BTreeMap<SeriesId, Vec<PersonId>> = instance
        .series
        .iter()
        .map(|s| {
            (
                s.id,
                s.required.iter().chain(&s.optional).copied().collect(),
            )
        })
        .collect();
    let mut before: BTreeMap<SeriesId, Vec<&Occurrence>> = BTreeMap::new();
    for p in &instance.published {
        if instance.period.contains(p.occurrence.date) {
            before
                .entry(p.occurrence.series)
                .or_default()
                .push(&p.occurrence);
        }
    }
    let mut after: BTreeMap<SeriesId, Vec<&Occurrence>> = BTreeMap::new();
    for o in occurrences {
        after.entry(o.series).or_default().push(o);
    }
    let ids: BTreeSet<SeriesId> = before.keys().chain(after.keys()).copied().collect();
    let mut out = Vec::new();
    for id in ids {
        let mut old = before.remove(&id).unwrap_or_default();
        let mut new = after.remove(&id).unwrap_or_default();
        old.sort_by_key(|o| exact_key(o));
        new.sort_by_key(|o| exact_key(o));
        // Unchanged occurrences drop out of both sides.
        new.retain(
            |n| match old.iter().position(|o| exact_key(o) == exact_key(n)) {
                Some(i) => {
                    old.remove(i);
                    false
                }
                None => true,
            },
        );
        let mut pairs: Vec<(Option<&Occurrence>, Option<&Occurrence>)> = Vec::new();
        old.retain(|o| match new.iter().position(|n| n.date == o.date) {
            Some(i) => {
                pairs.push((Some(o), Some(new.remove(i))));
                false
            }
            None => true,
        });
        let mut old = old.into_iter();
        let mut new = new.into_iter();
        loop {
            match (old.next(), new.next()) {
                (None, None) => break,
                pair => pairs.push(pair),
            }
        }
        for (b, a) in pairs {
            let notify: BTreeSet<PersonId> = invitees
                .get(&id)
                .into_iter()
                .flatten()
                .chain(b.iter().flat_map(|o| &o.attendees))
                .chain(a.iter().flat_map(|o| &o.attendees))
                .copied()
                .collect();
            out.push(Change {
                series: id,
                before: b.cloned(),
                after: a.cloned(),
                notify: notify.into_iter().collect(),
            });
        }
    }
    out.sort_by_key(|c| {
        let date = c.after.as_ref().or(c.before.as_ref()).map(|o| o.date);
        (date, c.series)
    });
    out
}

/// What "the same occurrence" means for stability: series, date, start and room.
fn exact_key(o: &Occurrence) -> (SeriesId, chrono::NaiveDate, chrono::NaiveTime, RoomId) {
    (o.series, o.date, o.start, o.room)
}
