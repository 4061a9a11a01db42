//! Definitions shared by the planner, the validator and the greedy baseline: which days and
//! start times a series may use, the cadence windows and their counts, travel times. These are
//! the rules' meaning, written once; how they are enforced (MILP, greedy) and how they are
//! checked (validator) live elsewhere.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Timelike};

use super::model::*;
use crate::calendar::{holiday_on, is_year_end_closure, FiscalYear, Quarter};

/// Lookup tables over one instance.
pub struct Index<'a> {
    pub instance: &'a Instance,
    pub people: HashMap<PersonId, &'a Person>,
    pub venues: HashMap<VenueId, &'a Venue>,
    pub rooms: HashMap<RoomId, &'a Room>,
    pub series: HashMap<SeriesId, &'a Series>,
    closures: BTreeSet<NaiveDate>,
    travel: HashMap<(VenueId, VenueId), u32>,
    /// Per series of a family: (its turn, the family's size).
    families: HashMap<SeriesId, (u32, u32)>,
    /// Per (person, date): the meetings held by others they attend, (start, end, venue) in
    /// minutes; the venue is [`ELSEWHERE`] when not one of ours.
    held: HeldByPerson,
}

/// Per (person, date): the meetings held by others they attend, (start, end, venue).
type HeldByPerson = HashMap<(PersonId, NaiveDate), Vec<(u32, u32, VenueId)>>;

impl<'a> Index<'a> {
    pub fn new(instance: &'a Instance) -> Index<'a> {
        let mut travel = HashMap::new();
        for t in &instance.travel {
            travel.insert((t.from, t.to), t.minutes);
            travel.insert((t.to, t.from), t.minutes);
        }
        Index {
            instance,
            people: instance.people.iter().map(|p| (p.id, p)).collect(),
            venues: instance.venues.iter().map(|v| (v.id, v)).collect(),
            rooms: instance.rooms.iter().map(|r| (r.id, r)).collect(),
            series: instance.series.iter().map(|s| (s.id, s)).collect(),
            closures: instance.closures.iter().copied().collect(),
            travel,
            families: family_slots(instance),
            held: held_by_person(instance),
        }
    }

    /// Meetings held by others that `person` attends on `date`: (start, end, venue).
    pub fn held_by_others(&self, person: PersonId, date: NaiveDate) -> &[(u32, u32, VenueId)] {
        self.held
            .get(&(person, date))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// `person` can be at `venue` from `start` to `end` (minutes) on `date` as far as the
    /// meetings held by others they attend go: none overlaps, and the travel between the two
    /// places fits in between.
    pub fn free_of_held(
        &self,
        person: PersonId,
        date: NaiveDate,
        start: u32,
        end: u32,
        venue: VenueId,
    ) -> bool {
        self.held_by_others(person, date).iter().all(|&(s, e, v)| {
            end + self.travel_minutes(venue, v) <= s || e + self.travel_minutes(v, venue) <= start
        })
    }

    /// Series `s`'s turn within its family and the family's size; (0, 1) when alone.
    pub fn family_slot(&self, s: SeriesId) -> (u32, u32) {
        self.families.get(&s).copied().unwrap_or((0, 1))
    }

    /// Minutes needed to get from one venue to another (0 within a venue).
    pub fn travel_minutes(&self, from: VenueId, to: VenueId) -> u32 {
        if from == to {
            0
        } else {
            self.travel
                .get(&(from, to))
                .copied()
                .unwrap_or(self.instance.default_travel_minutes)
        }
    }

    /// The municipality is open on `date` (no holiday, 年末年始 or extra closure). Weekends
    /// depend on the venue's hours, see [`Index::venue_hours_on`].
    pub fn municipality_open(&self, date: NaiveDate) -> bool {
        !is_year_end_closure(date) && holiday_on(date).is_none() && !self.closures.contains(&date)
    }

    /// The hours `venue` is open on `date`, or `None` when it is closed that day.
    pub fn venue_hours_on(
        &self,
        venue: VenueId,
        date: NaiveDate,
    ) -> Option<(NaiveTime, NaiveTime)> {
        let v = self.venues.get(&venue)?;
        if !self.municipality_open(date) || v.closures.contains(&date) {
            return None;
        }
        v.hours.hours_on(date.weekday())
    }

    /// Rooms a series may use: allowed, big enough and accessible as needed.
    pub fn suitable_rooms(&self, s: &Series) -> Vec<&'a Room> {
        let need = invitee_count(s);
        self.instance
            .rooms
            .iter()
            .filter(|r| s.rooms.is_empty() || s.rooms.contains(&r.id))
            .filter(|r| r.capacity >= need)
            .filter(|r| {
                (!s.needs_wheelchair || r.wheelchair) && (!s.needs_hearing_loop || r.hearing_loop)
            })
            .collect()
    }

    /// A person can attend on `date`: a working day (and within their hours, if set, open
    /// that weekday), not absent and, for an external person, on a day they said they can come.
    pub fn person_available(&self, person: PersonId, date: NaiveDate) -> bool {
        match self.people.get(&person) {
            None => false,
            Some(p) => {
                (p.working_days.is_empty() || p.working_days.contains(&date.weekday()))
                    && p.hours
                        .as_ref()
                        .is_none_or(|h| h.is_open_on(date.weekday()))
                    && !p.absences.iter().any(|a| a.contains(date))
                    && p.available
                        .as_ref()
                        .is_none_or(|w| w.iter().any(|a| a.covers_day(date)))
            }
        }
    }

    /// A meeting from `start` to `end` (minutes) on `date` lies within the person's working
    /// hours (always, when they have none) and, for an external person, within one window of
    /// their availability.
    pub fn within_hours(&self, person: PersonId, date: NaiveDate, start: u32, end: u32) -> bool {
        let Some(p) = self.people.get(&person) else {
            return true;
        };
        p.hours.as_ref().is_none_or(|h| {
            h.hours_on(date.weekday())
                .is_some_and(|(open, close)| minutes(open) <= start && end <= minutes(close))
        }) && p.available.as_ref().is_none_or(|w| {
            w.iter()
                .any(|a| a.covers_day(date) && minutes(a.from) <= start && end <= minutes(a.to))
        })
    }

    /// First day an occurrence of `s` may fall on.
    pub fn earliest_date(&self, s: &Series) -> NaiveDate {
        (self.instance.planning_date + Duration::days(i64::from(s.lead_days)))
            .max(self.instance.period.from)
    }

    /// Days of the period on which `s` could meet in `room`, ignoring other meetings:
    /// open, in an allowed month, after the lead time, every required attendee available.
    pub fn candidate_days(&self, s: &Series, room: &Room) -> Vec<NaiveDate> {
        let earliest = self.earliest_date(s);
        days(self.instance.period)
            .filter(|d| *d >= earliest)
            .filter(|d| s.cadence.months.is_empty() || s.cadence.months.contains(&d.month()))
            .filter(|d| !start_times(self, s, room, *d).is_empty())
            .filter(|d| s.required.iter().all(|p| self.person_available(*p, *d)))
            .collect()
    }
}

fn held_by_person(instance: &Instance) -> HeldByPerson {
    let mut out = HeldByPerson::new();
    for h in &instance.held_by_others {
        for p in &h.attendees {
            out.entry((*p, h.date)).or_default().push((
                minutes(h.start),
                minutes(h.end),
                h.venue.unwrap_or(ELSEWHERE),
            ));
        }
    }
    out
}

/// Turns within each family (members by id) and the family's size.
fn family_slots(instance: &Instance) -> HashMap<SeriesId, (u32, u32)> {
    let mut families: HashMap<&str, Vec<SeriesId>> = HashMap::new();
    for s in &instance.series {
        if let Some(f) = &s.family {
            families.entry(f.as_str()).or_default().push(s.id);
        }
    }
    let mut out = HashMap::new();
    for mut members in families.into_values() {
        members.sort();
        members.dedup();
        let size = members.len() as u32;
        for (j, id) in members.into_iter().enumerate() {
            out.insert(id, (j as u32, size));
        }
    }
    out
}

/// Capacity a series needs: every invitee plus external attendees.
pub fn invitee_count(s: &Series) -> u32 {
    (s.required.len() + s.optional.len()) as u32 + s.external_attendees
}

/// All days of an inclusive range.
pub fn days(range: DateRange) -> impl Iterator<Item = NaiveDate> {
    range.from.iter_days().take_while(move |d| *d <= range.to)
}

pub fn minutes(t: NaiveTime) -> u32 {
    t.hour() * 60 + t.minute()
}

pub fn time_of(minutes: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).expect("minutes within a day")
}

/// Start times for `s` in `room` on `date`: on the grain, inside the venue's hours (the meeting
/// ends by closing time), inside the series' allowed window, within every required
/// attendee's working hours and clear of the meetings held by others they attend (travel
/// included). Empty when the venue is closed.
pub fn start_times(ix: &Index, s: &Series, room: &Room, date: NaiveDate) -> Vec<NaiveTime> {
    let Some((open, close)) = ix.venue_hours_on(room.venue, date) else {
        return Vec::new();
    };
    let grain = ix.instance.grain_minutes.max(1);
    let first = minutes(open).div_ceil(grain) * grain;
    let last_end = minutes(close);
    let mut out = Vec::new();
    let mut t = first;
    while t + s.duration_minutes <= last_end {
        let ok = s
            .allowed_start
            .is_none_or(|w| minutes(w.from) <= t && t < minutes(w.to))
            && s.required.iter().all(|p| {
                ix.within_hours(*p, date, t, t + s.duration_minutes)
                    && ix.free_of_held(*p, date, t, t + s.duration_minutes, room.venue)
            });
        if ok {
            out.push(time_of(t));
        }
        t += grain;
    }
    out
}

/// One cadence window: the days it covers (within the period) and how many occurrences of
/// the series must fall in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub range: DateRange,
    pub min: u32,
    pub max: u32,
    /// e.g. "2026年10月" / "Oct 2026", "令和8年度 第3四半期" / "FY2026 Q3".
    pub label: Text,
}

/// The cadence windows of a series over the planning period.
///
/// A window that lies only partly inside the period (planning one quarter of a yearly duty)
/// has its counts scaled by the share of its open weekdays inside the period: `min` rounded
/// to nearest, `max` rounded up, so "≥ 24 a year" asks 6 of a quarter.
pub fn windows(ix: &Index, s: &Series) -> Vec<Window> {
    let period = ix.instance.period;
    let c = &s.cadence;
    let mut full: Vec<(DateRange, Text)> = Vec::new();
    match c.per {
        CadencePeriod::Period => full.push((period, Text::new("計画期間", "planning period"))),
        CadencePeriod::Month => {
            let mut d = NaiveDate::from_ymd_opt(period.from.year(), period.from.month(), 1)
                .expect("first of month");
            while d <= period.to {
                let next = if d.month() == 12 {
                    NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
                }
                .expect("first of next month");
                if c.months.is_empty() || c.months.contains(&d.month()) {
                    let label = Text::new(
                        format!("{}年{}月", d.year(), d.month()),
                        d.format("%b %Y").to_string(),
                    );
                    full.push((
                        DateRange {
                            from: d,
                            to: next - Duration::days(1),
                        },
                        label,
                    ));
                }
                d = next;
            }
        }
        CadencePeriod::Quarter => {
            let mut q = Quarter::of(period.from);
            while q.start() <= period.to {
                full.push((
                    DateRange {
                        from: q.start(),
                        to: q.end(),
                    },
                    Text::new(q.label_ja(), q.label_en()),
                ));
                let next = q.end() + Duration::days(1);
                q = Quarter::of(next);
            }
        }
        CadencePeriod::FiscalYear => {
            let mut fy = FiscalYear::of(period.from);
            while fy.start() <= period.to {
                full.push((
                    DateRange {
                        from: fy.start(),
                        to: fy.end(),
                    },
                    Text::new(fy.label_ja(), fy.label_en()),
                ));
                fy = FiscalYear::of(fy.end() + Duration::days(1));
            }
        }
    }
    let in_months = |d: &NaiveDate| c.months.is_empty() || c.months.contains(&d.month());
    let weekdays = |r: DateRange| {
        days(r)
            .filter(|d| {
                d.weekday().num_days_from_monday() < 5 && ix.municipality_open(*d) && in_months(d)
            })
            .count()
    };
    full.into_iter()
        .filter_map(|(w, label)| {
            let inside = DateRange {
                from: w.from.max(period.from),
                to: w.to.min(period.to),
            };
            if inside.from > inside.to {
                return None;
            }
            let (min, max) = if inside == w {
                (c.min, c.max)
            } else {
                // The window is one budget: what is published in it outside the period
                // counts, and the rest is shared over the part of the window still open. A
                // part before or after the period is closed when the calendar there is made
                // (anything published there); an empty part is open, as when the year began
                // before renkei was used (its share is assumed done elsewhere). Planning a
                // year quarter by quarter thus gives the year's counts: each quarter takes its
                // share of what is left, the last quarter all of it.
                let published = &ix.instance.published;
                let made = |from: NaiveDate, to: NaiveDate| {
                    published
                        .iter()
                        .any(|p| p.occurrence.date >= from && p.occurrence.date <= to)
                };
                let held = published
                    .iter()
                    .map(|p| &p.occurrence)
                    .filter(|o| o.series == s.id && w.contains(o.date))
                    .filter(|o| o.date < period.from || o.date > period.to)
                    .count() as u32;
                let mut open = weekdays(inside);
                if w.from < period.from {
                    let before = (w.from, period.from - Duration::days(1));
                    if !made(before.0, before.1) {
                        open += weekdays(DateRange {
                            from: before.0,
                            to: before.1,
                        });
                    }
                }
                if w.to > period.to {
                    let after = (period.to + Duration::days(1), w.to);
                    if !made(after.0, after.1) {
                        open += weekdays(DateRange {
                            from: after.0,
                            to: after.1,
                        });
                    }
                }
                let share = weekdays(inside) as f64 / open.max(1) as f64;
                let min = (f64::from(c.min.saturating_sub(held)) * share).round() as u32;
                let max = ((f64::from(c.max.saturating_sub(held)) * share).ceil() as u32).max(min);
                (min, max)
            };
            (max > 0).then_some(Window {
                range: inside,
                min,
                max,
                label,
            })
        })
        .collect()
}

/// Occurrences the cadences ask for over the period: the sum of every window's minimum.
pub fn required_occurrences(instance: &Instance) -> u32 {
    let ix = Index::new(instance);
    instance
        .series
        .iter()
        .flat_map(|s| windows(&ix, s))
        .map(|w| w.min)
        .sum()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One venue with one room over `period`, no series (other modules' tests use it too).
    pub(crate) fn instance(period: (NaiveDate, NaiveDate)) -> Instance {
        Instance {
            name: "t".into(),
            period: DateRange {
                from: period.0,
                to: period.1,
            },
            planning_date: period.0,
            grain_minutes: 30,
            closures: vec![],
            people: vec![],
            organisations: vec![],
            venues: vec![Venue {
                id: 1,
                name: "v".into(),
                hours: Default::default(),
                closures: vec![],
            }],
            rooms: vec![Room {
                id: 1,
                venue: 1,
                name: "r".into(),
                capacity: 10,
                wheelchair: true,
                hearing_loop: false,
            }],
            travel: vec![],
            default_travel_minutes: 30,
            series: vec![],
            precedences: vec![],
            published: vec![],
            held_by_others: Vec::new(),
            targets: vec![],
            weights: Weights::default(),
            time_limit_seconds: 10.0,
        }
    }

    pub(crate) fn series(per: CadencePeriod, min: u32, max: u32, months: Vec<u32>) -> Series {
        Series {
            id: 1,
            title: "s".into(),
            kind: MeetingKind::Other,
            duration_minutes: 120,
            required: vec![],
            optional: vec![],
            external_attendees: 0,
            needs_wheelchair: false,
            needs_hearing_loop: false,
            rooms: vec![],
            cadence: Cadence {
                per,
                min,
                max,
                months,
                min_gap_days: None,
                max_gap_days: None,
            },
            lead_days: 0,
            allowed_start: None,
            preferred_weekdays: vec![],
            preferred_start: None,
            family: None,
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn plenary_in_listed_months_of_a_fiscal_year() {
        let inst = instance((d(2026, 4, 1), d(2027, 3, 31)));
        let ix = Index::new(&inst);
        let w = windows(&ix, &series(CadencePeriod::Month, 1, 1, vec![5, 10, 2]));
        let starts: Vec<NaiveDate> = w.iter().map(|w| w.range.from).collect();
        assert_eq!(starts, [d(2026, 5, 1), d(2026, 10, 1), d(2027, 2, 1)]);
        assert!(w.iter().all(|w| (w.min, w.max) == (1, 1)));
        assert_eq!(w[1].label.ja, "2026年10月");
    }

    #[test]
    fn yearly_counts_are_scaled_to_a_quarter() {
        let inst = instance((d(2026, 10, 1), d(2026, 12, 31)));
        let ix = Index::new(&inst);
        let w = windows(&ix, &series(CadencePeriod::FiscalYear, 24, 30, vec![]));
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[0].range,
            DateRange {
                from: d(2026, 10, 1),
                to: d(2026, 12, 31)
            }
        );
        assert_eq!((w[0].min, w[0].max), (6, 8));
        let q = windows(&ix, &series(CadencePeriod::Quarter, 1, 1, vec![]));
        assert_eq!(
            (q.len(), q[0].min, q[0].label.en.as_str()),
            (1, 1, "FY2026 Q3")
        );
    }

    #[test]
    fn start_times_respect_hours_grain_and_holidays() {
        let inst = instance((d(2026, 11, 1), d(2026, 11, 30)));
        let ix = Index::new(&inst);
        let s = series(CadencePeriod::Month, 1, 1, vec![]);
        let room = &inst.rooms[0];
        // 2026-11-23 is 勤労感謝の日, 11-21 a Saturday.
        assert!(start_times(&ix, &s, room, d(2026, 11, 23)).is_empty());
        assert!(start_times(&ix, &s, room, d(2026, 11, 21)).is_empty());
        let t = start_times(&ix, &s, room, d(2026, 11, 24));
        assert_eq!(t.first().copied(), Some(time_of(8 * 60 + 30)));
        assert_eq!(
            t.last().copied(),
            Some(time_of(15 * 60 + 30)),
            "a 2-hour meeting ends by 17:30"
        );
        assert_eq!(t.len(), 15);
    }
}
