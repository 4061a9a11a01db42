//! The greedy baseline: what a coordinator does by hand. Series in the order given, each
//! cadence window in date order, the first day, start time and room where every required
//! attendee is free; optional invitees come if they happen to be free. Kept for comparison
//! with the optimizer (objective and hard-rule failures side by side); it does not look
//! ahead, so it may miss counts, gaps or precedences that the optimizer meets. After the
//! cadence minimums it adds occurrences towards the count targets ([`Instance::targets`])
//! where the same checks and the cadence maxima allow.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};

use super::model::*;
use super::rules::{self, minutes, start_times, windows, Index};
use super::targets;

struct Booking {
    date: NaiveDate,
    start: u32,
    end: u32,
    venue: VenueId,
    room: RoomId,
    people: Vec<PersonId>,
}

pub fn plan(instance: &Instance) -> Vec<Occurrence> {
    let ix = Index::new(instance);
    let mut booked: Vec<Booking> = Vec::new();
    let mut out: Vec<Occurrence> = Vec::new();

    let person_free =
        |booked: &[Booking], p: PersonId, date: NaiveDate, start: u32, end: u32, venue: VenueId| {
            booked
                .iter()
                .filter(|b| b.date == date && b.people.contains(&p))
                .all(|b| {
                    let travel = ix.travel_minutes(b.venue, venue);
                    end + travel <= b.start || b.end + travel <= start
                })
        };
    let room_free = |booked: &[Booking], r: RoomId, date: NaiveDate, start: u32, end: u32| {
        booked
            .iter()
            .filter(|b| b.date == date && b.room == r)
            .all(|b| end <= b.start || b.end <= start)
    };

    // The first day, start and room where the room and every required attendee are free.
    let find = |booked: &[Booking],
                s: &Series,
                rooms: &[&Room],
                days: &mut dyn Iterator<Item = NaiveDate>| {
        for date in days {
            let found = rooms.iter().find_map(|room| {
                start_times(&ix, s, room, date).into_iter().find_map(|t| {
                    let (start, end) = (minutes(t), minutes(t) + s.duration_minutes);
                    let ok = room_free(booked, room.id, date, start, end)
                        && s.required
                            .iter()
                            .all(|p| person_free(booked, *p, date, start, end, room.venue));
                    ok.then_some((date, t, room.id))
                })
            });
            if found.is_some() {
                return found;
            }
        }
        None
    };
    // Books it, with the optional invitees who happen to be free.
    let book = |booked: &mut Vec<Booking>,
                out: &mut Vec<Occurrence>,
                s: &Series,
                date: NaiveDate,
                t: NaiveTime,
                room: RoomId| {
        let room = ix.rooms[&room];
        let (start, end) = (minutes(t), minutes(t) + s.duration_minutes);
        let mut attendees = s.required.clone();
        attendees.extend(s.optional.iter().filter(|p| {
            ix.person_available(**p, date) && person_free(booked, **p, date, start, end, room.venue)
        }));
        booked.push(Booking {
            date,
            start,
            end,
            venue: room.venue,
            room: room.id,
            people: attendees.clone(),
        });
        out.push(Occurrence {
            series: s.id,
            index: 0,
            date,
            start: t,
            end: t + Duration::minutes(i64::from(s.duration_minutes)),
            room: room.id,
            attendees,
        });
    };

    // Pinned occurrences first, as a coordinator keeps what is fixed.
    for p in instance.published.iter().filter(|p| p.pin == Pin::Full) {
        let o = &p.occurrence;
        if let Some(room) = ix.rooms.get(&o.room) {
            booked.push(Booking {
                date: o.date,
                start: minutes(o.start),
                end: minutes(o.end),
                venue: room.venue,
                room: room.id,
                people: o.attendees.clone(),
            });
            out.push(o.clone());
        }
    }

    for s in &instance.series {
        let rooms = ix.suitable_rooms(s);
        let mut last: Option<NaiveDate> = out
            .iter()
            .filter(|o| o.series == s.id)
            .map(|o| o.date)
            .max();
        for w in windows(&ix, s) {
            let already = out
                .iter()
                .filter(|o| o.series == s.id && w.range.contains(o.date))
                .count() as u32;
            for _ in already..w.min {
                let earliest = last
                    .map(|d| {
                        d + Duration::days(i64::from(s.cadence.min_gap_days.unwrap_or(1).max(1)))
                    })
                    .unwrap_or(w.range.from)
                    .max(w.range.from)
                    .max(ix.earliest_date(s));
                let mut days = earliest
                    .iter_days()
                    .take_while(|d| *d <= w.range.to)
                    .filter(|d| s.required.iter().all(|p| ix.person_available(*p, *d)));
                let Some((date, t, room)) = find(&booked, s, &rooms, &mut days) else {
                    break;
                };
                book(&mut booked, &mut out, s, date, t, room);
                last = Some(date);
            }
        }
    }
    // Then the count targets: round robin over each short target's series, one more
    // occurrence at a time, on the first day the rules above allow (lead time, months,
    // minimum gap to every occurrence of the series, free room and people) in a window
    // below its maximum. Series that need an earlier meeting (precedence) are left alone.
    let needs_before: BTreeSet<SeriesId> = instance.precedences.iter().map(|p| p.after).collect();
    for target in &instance.targets {
        let mut ids = BTreeSet::new();
        let series: Vec<&Series> = target
            .series
            .iter()
            .filter(|id| ids.insert(**id) && !needs_before.contains(id))
            .filter_map(|id| ix.series.get(id).copied())
            .collect();
        let short = |out: &[Occurrence]| targets::planned(instance, target, out) < target.min;
        let mut added = true;
        while added && short(&out) {
            added = false;
            for s in &series {
                if !short(&out) {
                    break;
                }
                let rooms = ix.suitable_rooms(s);
                let gap = i64::from(s.cadence.min_gap_days.unwrap_or(1).max(1));
                let held: Vec<NaiveDate> = out
                    .iter()
                    .filter(|o| o.series == s.id)
                    .map(|o| o.date)
                    .collect();
                let earliest = ix.earliest_date(s);
                let found = windows(&ix, s).into_iter().find_map(|w| {
                    let n = held.iter().filter(|d| w.range.contains(**d)).count() as u32;
                    if n >= w.max {
                        return None;
                    }
                    let mut days = rules::days(w.range).filter(|d| {
                        *d >= earliest
                            && (s.cadence.months.is_empty()
                                || s.cadence.months.contains(&d.month()))
                            && held.iter().all(|h| (*d - *h).num_days().abs() >= gap)
                            && s.required.iter().all(|p| ix.person_available(*p, *d))
                    });
                    find(&booked, s, &rooms, &mut days)
                });
                if let Some((date, t, room)) = found {
                    book(&mut booked, &mut out, s, date, t, room);
                    added = true;
                }
            }
        }
    }
    renumber(&mut out);
    out
}

/// Sets each occurrence's index to its rank by date within its series.
pub fn renumber(occurrences: &mut [Occurrence]) {
    occurrences.sort_by_key(|o| (o.series, o.date, o.start));
    let mut current = None;
    let mut next = 0;
    for o in occurrences.iter_mut() {
        if current != Some(o.series) {
            current = Some(o.series);
            next = 0;
        }
        o.index = next;
        next += 1;
    }
}
