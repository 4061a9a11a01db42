//! Re-planning against a published calendar (公開済みの日程の修正): which occurrences a new
//! plan moves, adds or removes, and who must be told.
//!
//! Repairing itself is planning: pass the published calendar in `Instance::published` (pins
//! for what must not move) and the planner keeps every other occurrence where it can, each
//! move costing `Weights::change`. This module turns the result into the list of changes.

use std::collections::{BTreeMap, BTreeSet};

use super::model::*;

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
