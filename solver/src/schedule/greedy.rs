//! The greedy baseline: what a coordinator does by hand. Series in the order given, each
//! cadence window in date order, the first day, start time and room where every required
//! attendee is free; optional invitees come if they happen to be free. Kept for comparison
//! with the optimizer (objective and hard-rule failures side by side); it does not look
//! ahead, so it may miss counts, gaps or precedences that the optimizer meets.

use chrono::{Duration, NaiveDate};

use super::model::*;
use super::rules::{minutes, start_times, windows, Index};

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
                let found = earliest
                    .iter_days()
                    .take_while(|d| *d <= w.range.to)
                    .filter(|d| s.required.iter().all(|p| ix.person_available(*p, *d)))
                    .find_map(|date| {
                        rooms.iter().find_map(|room| {
                            start_times(&ix, s, room, date).into_iter().find_map(|t| {
                                let (start, end) = (minutes(t), minutes(t) + s.duration_minutes);
                                let ok = room_free(&booked, room.id, date, start, end)
                                    && s.required.iter().all(|p| {
                                        person_free(&booked, *p, date, start, end, room.venue)
                                    });
                                ok.then_some((date, t, *room))
                            })
                        })
                    });
                let Some((date, t, room)) = found else { break };
                let (start, end) = (minutes(t), minutes(t) + s.duration_minutes);
                let mut attendees = s.required.clone();
                attendees.extend(s.optional.iter().filter(|p| {
                    ix.person_available(**p, date)
                        && person_free(&booked, **p, date, start, end, room.venue)
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
                last = Some(date);
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
