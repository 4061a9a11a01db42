//! From the municipality's master data and series to a solver [`Instance`]: series are expanded
//! (one per ward, one per visited organisation), organisation-level attendance is resolved to
//! representatives, allowed venues to rooms, and the published calendar is handed over for
//! "fewest changes" and pins. Pure: the store loads a [`Snapshot`], this builds from it.
//!
//! Solver ids are the database ids (people, rooms, venues), so plans need no translation
//! table for them; a visited organisation becomes a pseudo venue and room with id
//! `VISIT_BASE + organisation id`. Series get consecutive ids; [`SeriesRef`] maps them back.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveTime, Weekday};
use renkei_solver::calendar::OpeningHours;
use renkei_solver::schedule::model::{
    self as m, DateRange, Instance, MeetingKind, Occurrence, Pin, PublishedOccurrence, Weights,
};
use serde::{Deserialize, Serialize};

use super::spec::{LecturerSpec, OrgAttendance, Repeat, ValidSeries};
use crate::i18n::Msg;
use crate::master::OrgKind;

/// Ids from here up are visited organisations (pseudo venue and room).
pub const VISIT_BASE: u32 = 2_000_000_000;

#[derive(Debug, Clone)]
pub struct SnapOrganisation {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub ward: String,
}

#[derive(Debug, Clone)]
pub struct SnapPerson {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub organisation_id: Option<i64>,
    pub roles: Vec<String>,
    pub part_time_days: Vec<Weekday>,
    pub absences: Vec<DateRange>,
    /// None: the municipality's staff hours.
    pub working_hours: Option<OpeningHours>,
    /// None: the municipality's limits.
    pub max_meetings_per_day: Option<u32>,
    pub max_minutes_per_day: Option<u32>,
    pub qualifications: Vec<String>,
    /// An external lecturer or supervisor: planned only within `availability` (none: nowhere),
    /// never on the municipality's staff hours.
    pub external: bool,
    pub availability: Vec<m::Availability>,
}

#[derive(Debug, Clone)]
pub struct SnapVenue {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub ward: String,
    pub hours: OpeningHours,
    pub closures: Vec<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct SnapRoom {
    pub id: i64,
    pub venue_id: i64,
    pub name: String,
    pub capacity: u32,
    pub wheelchair: bool,
    pub hearing_loop: bool,
}

#[derive(Debug, Clone)]
pub struct SnapSeries {
    pub id: i64,
    pub valid: ValidSeries,
}

/// A published occurrence as the store holds it.
#[derive(Debug, Clone)]
pub struct SnapOccurrence {
    pub id: i64,
    pub series_key: String,
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub room_id: Option<i64>,
    pub place_organisation_id: Option<i64>,
    pub pin: Pin,
    pub attendees: Vec<i64>,
    /// Held by another body (`occurrences.held_by` not empty): the host's date, which the
    /// planner keeps its attendees free for.
    pub held: bool,
    pub title: String,
}

/// Everything the builder reads, loaded by `Db::planning_snapshot`.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub organisations: Vec<SnapOrganisation>,
    pub people: Vec<SnapPerson>,
    pub venues: Vec<SnapVenue>,
    pub rooms: Vec<SnapRoom>,
    pub closures: Vec<NaiveDate>,
    pub series: Vec<SnapSeries>,
    pub published: Vec<SnapOccurrence>,
}

/// What a solver series stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesRef {
    pub series_id: i64,
    pub code: String,
    /// `CODE`, `CODE@ward` or `CODE@organisation code`: stable across plans.
    pub key: String,
    pub title: String,
    pub title_en: String,
    pub kind: MeetingKind,
    pub ward: String,
    /// The visited organisation (office visits are held there).
    pub place_organisation_id: Option<i64>,
    /// Required attendees, for the record of who was invited.
    pub required: Vec<i64>,
    pub optional: Vec<i64>,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub label: String,
    pub period: DateRange,
    pub planning_date: NaiveDate,
    pub time_limit_seconds: f64,
    pub grain_minutes: u32,
    pub weights: Weights,
    /// Only these series codes (empty: every active series).
    pub only: Vec<String>,
    /// The indicators' counts for this period ([`crate::indicators::plan_targets`]).
    pub targets: Vec<crate::indicators::PlanTarget>,
    /// Every person's daily limits (meetings, minutes) where they are required, unless
    /// they have their own.
    pub max_meetings_per_day: Option<u32>,
    pub max_minutes_per_day: Option<u32>,
    /// The working hours of everyone without their own.
    pub staff_hours: OpeningHours,
}

#[derive(Debug, Clone)]
pub struct Built {
    pub instance: Instance,
    pub series: Vec<SeriesRef>,
    /// What the builder had to decide or leave out, for the coordinator to read.
    pub notes: Vec<Msg>,
}

pub fn build(snap: &Snapshot, req: &Request) -> Built {
    let mut notes = Vec::new();
    let mut held_notes = Vec::new();
    let mut b = Builder {
        snap,
        req: Some(req),
        notes: &mut notes,
        load: BTreeMap::new(),
    };
    let mut series = Vec::new();
    let mut refs: Vec<SeriesRef> = Vec::new();
    // (series code, expansion ward or "") -> solver ids, for precedences
    let mut by_code: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
    let mut visited: BTreeSet<i64> = BTreeSet::new();
    for s in &snap.series {
        if !req.only.is_empty() && !req.only.contains(&s.valid.spec.code) {
            continue;
        }
        if s.valid.spec.held_by.is_some() {
            // The host sets its dates: never planned (see `held_by_others`).
            held_series_note(snap, s, req, &mut held_notes);
            continue;
        }
        let expansions = b.expand(s);
        // One duty expanded per ward or per office is spread as one family.
        let family = (expansions.len() > 1).then(|| s.valid.spec.code.clone());
        for exp in expansions {
            let id = series.len() as u32;
            if let Some(o) = exp.place_organisation_id {
                visited.insert(o);
            }
            by_code
                .entry(s.valid.spec.code.clone())
                .or_default()
                .push((id, exp.ward.clone()));
            let v = &s.valid;
            series.push(m::Series {
                id,
                title: exp.title.clone(),
                kind: v.spec.kind,
                duration_minutes: v.spec.duration_minutes,
                required: exp.required.iter().map(|p| *p as u32).collect(),
                optional: exp.optional.iter().map(|p| *p as u32).collect(),
                external_attendees: v.spec.external_attendees,
                needs_wheelchair: v.spec.needs_wheelchair,
                needs_hearing_loop: v.spec.needs_hearing_loop,
                rooms: exp.rooms.clone(),
                cadence: m::Cadence {
                    per: v.spec.cadence.per,
                    min: v.spec.cadence.min,
                    max: v.spec.cadence.max,
                    months: v.spec.cadence.months.clone(),
                    min_gap_days: v.spec.cadence.min_gap_days,
                    max_gap_days: v.spec.cadence.max_gap_days,
                },
                lead_days: v.spec.lead_days,
                allowed_start: v.allowed_start,
                preferred_weekdays: v.preferred_weekdays.clone(),
                preferred_start: v
                    .preferred_start
                    .or_else(|| default_preferred_start(&req.staff_hours)),
                family: family.clone(),
            });
            refs.push(SeriesRef {
                series_id: s.id,
                code: v.spec.code.clone(),
                key: exp.key,
                title: exp.title,
                title_en: exp.title_en,
                kind: v.spec.kind,
                ward: exp.ward,
                place_organisation_id: exp.place_organisation_id,
                required: exp.required,
                optional: exp.optional,
            });
        }
    }
    notes.append(&mut held_notes);
    let mut precedences = Vec::new();
    for s in &snap.series {
        let Some(befores) = by_code.get(&s.valid.spec.code) else {
            continue;
        };
        for p in &s.valid.spec.before {
            let Some(afters) = by_code.get(&p.series) else {
                notes.push(Msg::new(
                    format!("「{}」の前後関係の相手「{}」は今回の計画に含まれないため、前後関係を外しました", s.valid.spec.title, p.series),
                    format!("\"{}\" precedes \"{}\", which is not in this plan; the precedence is left out", s.valid.spec.title, p.series),
                ));
                continue;
            };
            for (before, bw) in befores {
                for (after, aw) in afters {
                    if bw.is_empty() || aw.is_empty() || bw == aw {
                        precedences.push(m::Precedence {
                            before: *before,
                            after: *after,
                            min_days: p.min_days,
                            max_days: p.max_days,
                        });
                    }
                }
            }
        }
    }

    let people = snap
        .people
        .iter()
        .map(|p| m::Person {
            id: p.id as u32,
            name: p.name.clone(),
            organisation: p.organisation_id.map(|o| o as u32),
            // Part-time staff on their days; everyone within their working hours (their own,
            // else the municipality's staff hours, by default the centers' contract day
            // Mon-Fri 8:30-17:30: no meeting on Saturday or in the evening even where a
            // venue is open then).
            working_days: p.part_time_days.clone(),
            absences: p.absences.clone(),
            // An external lecturer comes when they said they can, not on the staff's hours.
            hours: if p.external {
                p.working_hours
            } else {
                Some(p.working_hours.unwrap_or(req.staff_hours))
            },
            max_meetings_per_day: p.max_meetings_per_day.or(req.max_meetings_per_day),
            max_minutes_per_day: p.max_minutes_per_day.or(req.max_minutes_per_day),
            available: p.external.then(|| p.availability.clone()),
        })
        .collect();
    let organisations = snap
        .organisations
        .iter()
        .map(|o| m::Organisation {
            id: o.id as u32,
            name: o.name.clone(),
            ward: o.ward.clone(),
        })
        .collect();
    let mut venues: Vec<m::Venue> = snap
        .venues
        .iter()
        .map(|v| m::Venue {
            id: v.id as u32,
            name: v.name.clone(),
            hours: v.hours.clone(),
            closures: v.closures.clone(),
        })
        .collect();
    let mut rooms: Vec<m::Room> = snap
        .rooms
        .iter()
        .map(|r| m::Room {
            id: r.id as u32,
            venue: r.venue_id as u32,
            name: r.name.clone(),
            capacity: r.capacity,
            wheelchair: r.wheelchair,
            hearing_loop: r.hearing_loop,
        })
        .collect();
    for o in snap
        .organisations
        .iter()
        .filter(|o| visited.contains(&o.id))
    {
        let id = VISIT_BASE + o.id as u32;
        venues.push(m::Venue {
            id,
            name: o.name.clone(),
            hours: OpeningHours::default(),
            closures: Vec::new(),
        });
        // The visited office itself: its size and access are not recorded, so they never
        // rule a visit out.
        rooms.push(m::Room {
            id,
            venue: id,
            name: o.name.clone(),
            capacity: 999,
            wheelchair: true,
            hearing_loop: true,
        });
    }

    let targets = targets(req, &refs, snap, &mut notes);
    let published = published(snap, req, &refs);
    let held_by_others = held_by_others(snap, req);
    Built {
        instance: Instance {
            name: req.label.clone(),
            period: req.period,
            planning_date: req.planning_date,
            grain_minutes: req.grain_minutes,
            closures: snap.closures.clone(),
            people,
            organisations,
            venues,
            rooms,
            travel: Vec::new(),
            default_travel_minutes: 30,
            series,
            precedences,
            published,
            held_by_others,
            weights: req.weights,
            time_limit_seconds: req.time_limit_seconds,
            targets,
        },
        series: refs,
        notes,
    }
}

/// Solver room id of a stored place.
pub fn room_of(room_id: Option<i64>, place_organisation_id: Option<i64>) -> Option<u32> {
    room_id
        .map(|r| r as u32)
        .or(place_organisation_id.map(|o| VISIT_BASE + o as u32))
}

/// Stored place of a solver room id: (room, visited organisation).
pub fn place_of(room: u32) -> (Option<i64>, Option<i64>) {
    if room >= VISIT_BASE {
        (None, Some((room - VISIT_BASE) as i64))
    } else {
        (Some(room as i64), None)
    }
}

/// The published occurrences of the planned series, within a year either side of the period
/// (gaps and precedence reach across its edges), numbered per series by date.
fn published(snap: &Snapshot, req: &Request, refs: &[SeriesRef]) -> Vec<PublishedOccurrence> {
    let margin = chrono::Duration::days(366);
    let known: BTreeSet<i64> = snap.people.iter().map(|p| p.id).collect();
    let mut out: Vec<PublishedOccurrence> = Vec::new();
    for (sid, r) in refs.iter().enumerate() {
        let mut mine: Vec<&SnapOccurrence> = snap
            .published
            .iter()
            .filter(|o| o.series_key == r.key)
            .filter(|o| o.date >= req.period.from - margin && o.date <= req.period.to + margin)
            .collect();
        mine.sort_by_key(|o| (o.date, o.start));
        for (k, o) in mine.into_iter().enumerate() {
            let Some(room) = room_of(o.room_id, o.place_organisation_id) else {
                continue;
            };
            out.push(PublishedOccurrence {
                occurrence: Occurrence {
                    series: sid as u32,
                    index: k as u32,
                    date: o.date,
                    start: o.start,
                    end: o.end,
                    room,
                    attendees: o
                        .attendees
                        .iter()
                        .filter(|p| known.contains(p))
                        .map(|p| *p as u32)
                        .collect(),
                },
                pin: o.pin,
            });
        }
    }
    out
}

/// The dates of meetings held by other bodies within the period, as the solver's fixed busy
/// times of their attendees: every occurrence entered for a held series, and any scheduled
/// occurrence of a series that is held by another body now (published before it was). Their
/// place is the host's, never one of our rooms (travel: the instance's default).
fn held_by_others(snap: &Snapshot, req: &Request) -> Vec<m::HeldMeeting> {
    let held_codes: BTreeSet<&str> = snap
        .series
        .iter()
        .filter(|s| s.valid.spec.held_by.is_some())
        .map(|s| s.valid.spec.code.as_str())
        .collect();
    let known: BTreeSet<i64> = snap.people.iter().map(|p| p.id).collect();
    snap.published
        .iter()
        .filter(|o| o.held || held_codes.contains(o.series_key.as_str()))
        .filter(|o| req.period.contains(o.date))
        .map(|o| m::HeldMeeting {
            title: o.title.clone(),
            date: o.date,
            start: o.start,
            end: o.end,
            venue: None,
            attendees: o
                .attendees
                .iter()
                .filter(|p| known.contains(p))
                .map(|p| *p as u32)
                .collect(),
        })
        .collect()
}

/// A held series is not planned: the coordinator reads how many of its dates are entered in
/// the period, and 「日程未登録」 when none is.
fn held_series_note(snap: &Snapshot, s: &SnapSeries, req: &Request, notes: &mut Vec<Msg>) {
    let spec = &s.valid.spec;
    let host = spec
        .held_by
        .as_ref()
        .map(|h| host_name(h, &snap.organisations))
        .unwrap_or_default();
    let entered = snap
        .published
        .iter()
        .filter(|o| o.series_key == spec.code && req.period.contains(o.date))
        .count();
    notes.push(if entered == 0 {
        Msg::new(
            format!("「{}」は他機関主催（{}）のため計画しません。この期間は日程未登録です。主催者の日程が決まったら登録してください", spec.title, host.0),
            format!("\"{}\" is held by {} and not planned; no date is entered for this period yet. Enter the host's dates once announced", spec.title, host.1),
        )
    } else {
        Msg::new(
            format!("「{}」は他機関主催（{}）のため計画しません。登録済みの{}件の日程は出席者の予定として避けます", spec.title, host.0, entered),
            format!("\"{}\" is held by {} and not planned; its {} entered date(s) keep the attendees busy", spec.title, host.1, entered),
        )
    });
}

/// The host of a held series as shown (ja, en): its name, else its organisation's name, else
/// its code.
pub fn host_name(h: &super::spec::HeldBy, orgs: &[SnapOrganisation]) -> (String, String) {
    let org = orgs
        .iter()
        .find(|o| !h.organisation.is_empty() && o.code == h.organisation);
    let ja = if !h.name.is_empty() {
        h.name.clone()
    } else {
        org.map(|o| o.name.clone())
            .unwrap_or_else(|| h.organisation.clone())
    };
    let en = if h.name_en.is_empty() {
        ja.clone()
    } else {
        h.name_en.clone()
    };
    (ja, en)
}

/// Who of our staff attends a held series' meeting when the coordinator names nobody: the
/// series' required and optional people and organisation-level attendance, resolved as for
/// any series. (required, optional) person ids.
pub fn held_attendees(snap: &Snapshot, series: &SnapSeries) -> (Vec<i64>, Vec<i64>) {
    let mut notes = Vec::new();
    let mut b = Builder {
        snap,
        req: None,
        notes: &mut notes,
        load: BTreeMap::new(),
    };
    let spec = &series.valid.spec;
    let e = b.expansion(
        series,
        spec.code.clone(),
        spec.title.clone(),
        spec.title_en.clone(),
        "",
        None,
    );
    (e.required, e.optional)
}

/// The start a series without a preferred start of its own prefers: from an hour after the
/// staff day opens to two hours before it ends (Monday's hours; 09:30-15:30 for 8:30-17:30).
/// Starting at the opening minute is allowed but not what a coordinator picks: without this
/// the optimizer, indifferent between equal starts, put most meetings at 08:30.
fn default_preferred_start(hours: &renkei_solver::calendar::OpeningHours) -> Option<m::TimeWindow> {
    let (open, close) = hours.hours_on(chrono::Weekday::Mon)?;
    let from = open + chrono::Duration::hours(1);
    let to = close - chrono::Duration::hours(2);
    (from < to).then_some(m::TimeWindow { from, to })
}

/// One generated series.
struct Expansion {
    key: String,
    title: String,
    title_en: String,
    ward: String,
    place_organisation_id: Option<i64>,
    required: Vec<i64>,
    optional: Vec<i64>,
    rooms: Vec<u32>,
}

struct Builder<'a> {
    snap: &'a Snapshot,
    /// The plan request (None: attendees resolved outside a plan, e.g. a held series').
    req: Option<&'a Request>,
    notes: &'a mut Vec<Msg>,
    /// Meetings a year each person is invited to so far, for choosing representatives in
    /// turn: the colleague with the fewest takes the next series.
    load: BTreeMap<i64, f64>,
}

impl Builder<'_> {
    fn wards(&self) -> Vec<String> {
        let mut wards: Vec<String> = Vec::new();
        let mut orgs: Vec<&SnapOrganisation> = self.snap.organisations.iter().collect();
        orgs.sort_by_key(|o| o.id);
        for o in orgs {
            if !o.ward.is_empty() && !wards.contains(&o.ward) {
                wards.push(o.ward.clone());
            }
        }
        wards
    }

    fn expand(&mut self, s: &SnapSeries) -> Vec<Expansion> {
        let spec = &s.valid.spec;
        let title_en = if spec.title_en.is_empty() {
            spec.title.clone()
        } else {
            spec.title_en.clone()
        };
        match spec.repeat {
            Repeat::None => {
                vec![self.expansion(s, spec.code.clone(), spec.title.clone(), title_en, "", None)]
            }
            Repeat::PerWard => self
                .wards()
                .into_iter()
                .map(|w| {
                    self.expansion(
                        s,
                        format!("{}@{w}", spec.code),
                        format!("{}（{w}）", spec.title),
                        format!("{title_en} ({w})"),
                        &w,
                        None,
                    )
                })
                .collect(),
            Repeat::PerOrganisation => {
                let mut orgs: Vec<&SnapOrganisation> = self
                    .snap
                    .organisations
                    .iter()
                    .filter(|o| {
                        OrgKind::parse(&o.kind).is_some_and(|k| s.valid.repeat_kinds.contains(&k))
                    })
                    .collect();
                orgs.sort_by(|a, b| a.code.cmp(&b.code));
                orgs.into_iter()
                    .map(|o| {
                        self.expansion(
                            s,
                            format!("{}@{}", spec.code, o.code),
                            format!("{}：{}", spec.title, o.name),
                            format!("{title_en}: {}", o.name),
                            &o.ward.clone(),
                            Some(o.id),
                        )
                    })
                    .collect()
            }
        }
    }

    fn expansion(
        &mut self,
        s: &SnapSeries,
        key: String,
        title: String,
        title_en: String,
        ward: &str,
        place: Option<i64>,
    ) -> Expansion {
        let spec = &s.valid.spec;
        let yearly = yearly_meetings(&spec.cadence);
        let mut required: Vec<i64> = Vec::new();
        let mut optional: Vec<i64> = Vec::new();
        let push = |list: &mut Vec<i64>, p: i64| {
            if !list.contains(&p) {
                list.push(p);
            }
        };
        for code in &spec.required_people {
            if let Some(p) = self.snap.people.iter().find(|p| &p.code == code) {
                push(&mut required, p.id);
            }
        }
        for code in &spec.optional_people {
            if let Some(p) = self.snap.people.iter().find(|p| &p.code == code) {
                push(&mut optional, p.id);
            }
        }
        for l in &spec.lecturers {
            if let Some(p) = self.lecturer(s, l, &title, &required) {
                push(&mut required, p);
            }
        }
        for p in required.iter().chain(&optional) {
            *self.load.entry(*p).or_default() += yearly;
        }
        for a in &spec.organisations {
            for p in self.representatives(a, ward, &title, yearly) {
                if a.optional {
                    push(&mut optional, p);
                } else {
                    push(&mut required, p);
                }
            }
        }
        if let Some(o) = place {
            // The visited office's own staff member is there.
            if let Some(p) = self.first_staff(o) {
                push(&mut required, p);
            }
        }
        optional.retain(|p| !required.contains(p));
        let rooms = match place {
            Some(o) => vec![VISIT_BASE + o as u32],
            None => self.rooms(s, ward, &title),
        };
        Expansion {
            key,
            title,
            title_en,
            ward: ward.to_string(),
            place_organisation_id: place,
            required,
            optional,
            rooms,
        }
    }

    /// The lecturer or supervisor of one [`LecturerSpec`]: a named person as named; from a
    /// pool, the one with the most days they can come in this plan's period (after the lead
    /// time, in the series' months, not a holiday or closure, for the whole meeting), then the
    /// fewest meetings so far,
    /// then by code; the plan's notes say whom and why. The solver has no "one of" rule, so the
    /// choice is made here, before solving: honest, simple, and explained.
    fn lecturer(
        &mut self,
        s: &SnapSeries,
        l: &LecturerSpec,
        title: &str,
        taken: &[i64],
    ) -> Option<i64> {
        let spec = &s.valid.spec;
        let mut pool: Vec<&SnapPerson> = if l.people.is_empty() {
            let mut p: Vec<&SnapPerson> = self
                .snap
                .people
                .iter()
                .filter(|p| {
                    p.external
                        && (p.roles.iter().any(|r| r == &l.role)
                            || p.qualifications.iter().any(|q| q == &l.role))
                })
                .collect();
            p.sort_by(|a, b| a.code.cmp(&b.code));
            p
        } else {
            l.people
                .iter()
                .filter_map(|c| self.snap.people.iter().find(|p| &p.code == c))
                .collect()
        };
        pool.retain(|p| !taken.contains(&p.id));
        let single = l.people.len() == 1 && l.role.is_empty();
        if pool.is_empty() {
            let what = if l.people.is_empty() {
                l.role.clone()
            } else {
                l.people.join(", ")
            };
            self.notes.push(Msg::new(
                format!("{title}: 講師・スーパーバイザー（{what}）にあたる外部の人が登録されていないため、講師なしで計画します。人の登録で「外部講師・SV」と都合のつく日時を入力してください"),
                format!("{title}: no external person matches the lecturer or supervisor ({what}); planned without one. Register them as external with their availability"),
            ));
            return None;
        }
        let Some(req) = self.req.filter(|_| !single) else {
            return Some(pool[0].id);
        };
        let earliest = (req.planning_date + chrono::Duration::days(i64::from(spec.lead_days)))
            .max(req.period.from);
        let minutes = i64::from(spec.duration_minutes);
        let fit = |p: &SnapPerson| -> usize {
            let mut d = earliest;
            let mut n = 0;
            while d <= req.period.to {
                let in_month = spec.cadence.months.is_empty()
                    || spec.cadence.months.contains(&chrono::Datelike::month(&d));
                let free = !p.external
                    || p.availability
                        .iter()
                        .any(|w| w.covers_day(d) && (w.to - w.from).num_minutes() >= minutes);
                // Holidays, 年末年始 and the municipality's closures hold no meeting.
                let open = renkei_solver::calendar::holiday_on(d).is_none()
                    && !renkei_solver::calendar::is_year_end_closure(d)
                    && !self.snap.closures.contains(&d);
                if in_month && open && free && !p.absences.iter().any(|a| a.contains(d)) {
                    n += 1;
                }
                d += chrono::Duration::days(1);
            }
            n
        };
        let mut best: Option<(usize, f64, &SnapPerson)> = None;
        for p in &pool {
            let f = fit(p);
            let l = self.load.get(&p.id).copied().unwrap_or(0.0);
            if best.is_none_or(|(bf, bl, _)| f > bf || (f == bf && l < bl - 1e-9)) {
                best = Some((f, l, p));
            }
        }
        let (days, _, chosen) = best?;
        let names: Vec<&str> = pool.iter().map(|p| p.name.as_str()).collect();
        self.notes.push(if days == 0 {
            Msg::new(
                format!("{title}: 講師・スーパーバイザーの候補（{}）は、この期間に都合のつく日がありません。都合のつく日時を伺って登録してください", names.join("、")),
                format!("{title}: no candidate lecturer or supervisor ({}) can come in this period; ask them for dates and record them", names.join(", ")),
            )
        } else {
            Msg::new(
                format!("{title}: 講師・スーパーバイザーは候補{}人（{}）のうち、都合のつく日が最も多い{}さん（{}日）にしました", pool.len(), names.join("、"), chosen.name, days),
                format!("{title}: lecturer or supervisor {} of {} candidate(s) ({}), who can come on the most days ({days})", chosen.name, pool.len(), names.join(", ")),
            )
        });
        Some(chosen.id)
    }

    fn first_staff(&self, org: i64) -> Option<i64> {
        let mut staff: Vec<&SnapPerson> = self
            .snap
            .people
            .iter()
            .filter(|p| p.organisation_id == Some(org) && !p.external)
            .collect();
        staff.sort_by(|a, b| a.code.cmp(&b.code));
        staff.first().map(|p| p.id)
    }

    /// One person per matching organisation: among its staff with the role (else all its
    /// staff), the one with the fewest meetings so far, ties to the first by code. So the
    /// series of a year are shared out among colleagues instead of all going to one.
    fn representatives(
        &mut self,
        a: &OrgAttendance,
        ward: &str,
        title: &str,
        yearly: f64,
    ) -> Vec<i64> {
        let kinds: Vec<OrgKind> = a.kinds.iter().filter_map(|k| OrgKind::parse(k)).collect();
        let mut orgs: Vec<&SnapOrganisation> = self
            .snap
            .organisations
            .iter()
            .filter(|o| {
                a.codes.contains(&o.code)
                    || OrgKind::parse(&o.kind).is_some_and(|k| kinds.contains(&k))
            })
            .filter(|o| !a.same_ward || o.ward == ward)
            .collect();
        orgs.sort_by(|a, b| a.code.cmp(&b.code));
        let mut out = Vec::new();
        for o in orgs {
            let mut staff: Vec<&SnapPerson> = self
                .snap
                .people
                .iter()
                // An external lecturer of the organisation does not represent it.
                .filter(|p| p.organisation_id == Some(o.id) && !p.external)
                .collect();
            staff.sort_by(|a, b| a.code.cmp(&b.code));
            let load = &self.load;
            let least = |people: &mut dyn Iterator<Item = &&SnapPerson>| -> Option<i64> {
                let mut best: Option<(f64, i64)> = None;
                for p in people {
                    let l = load.get(&p.id).copied().unwrap_or(0.0);
                    if best.is_none_or(|(b, _)| l < b - 1e-9) {
                        best = Some((l, p.id));
                    }
                }
                best.map(|(_, id)| id)
            };
            let with_role = least(
                &mut staff
                    .iter()
                    .filter(|p| !a.role.is_empty() && p.roles.iter().any(|r| r == &a.role)),
            );
            let anyone = least(&mut staff.iter());
            let chosen = with_role.or(anyone);
            if let Some(p) = chosen {
                *self.load.entry(p).or_default() += yearly;
            }
            match (with_role, staff.iter().find(|p| Some(p.id) == anyone)) {
                (Some(p), _) => out.push(p),
                (None, Some(p)) => {
                    if !a.role.is_empty() {
                        self.notes.push(Msg::new(
                            format!(
                                "{title}: {}に「{}」の職員がいないため、{}さんを代表にしました",
                                o.name, a.role, p.name
                            ),
                            format!(
                                "{title}: {} has no \"{}\"; {} represents it",
                                o.name, a.role, p.name
                            ),
                        ));
                    }
                    out.push(p.id);
                }
                // Organisations without registered staff cannot be invited: said only when
                // named explicitly (kind-wide attendance skips them quietly).
                (None, None) if a.codes.contains(&o.code) => self.notes.push(Msg::new(
                    format!(
                        "{title}: {}に職員が登録されていないため招待できません",
                        o.name
                    ),
                    format!(
                        "{title}: {} has no staff registered and cannot be invited",
                        o.name
                    ),
                )),
                (None, None) => {}
            }
        }
        out
    }

    fn rooms(&mut self, s: &SnapSeries, ward: &str, title: &str) -> Vec<u32> {
        let spec = &s.valid.spec;
        if spec.venues.is_empty() && !spec.venue_in_ward {
            return Vec::new();
        }
        let venues: BTreeSet<i64> = self
            .snap
            .venues
            .iter()
            .filter(|v| spec.venues.is_empty() || spec.venues.contains(&v.code))
            .filter(|v| !spec.venue_in_ward || v.ward == ward)
            .map(|v| v.id)
            .collect();
        let rooms: Vec<u32> = self
            .snap
            .rooms
            .iter()
            .filter(|r| venues.contains(&r.venue_id))
            .map(|r| r.id as u32)
            .collect();
        if rooms.is_empty() {
            // An empty list would mean "any room" to the solver: say so instead.
            self.notes.push(Msg::new(
                format!(
                    "{title}: 指定の会場（{}）に部屋がないため、すべての会場から選びます",
                    if spec.venue_in_ward {
                        ward
                    } else {
                        "会場コード"
                    }
                ),
                format!(
                    "{title}: the allowed venues ({}) have no rooms; any venue may be used",
                    if spec.venue_in_ward {
                        ward
                    } else {
                        "venue codes"
                    }
                ),
            ));
        }
        rooms
    }
}

/// The indicators' counts as solver targets over the expanded series; a count no series of
/// this plan can serve is a note, not a target.
fn targets(
    req: &Request,
    refs: &[SeriesRef],
    snap: &Snapshot,
    notes: &mut Vec<Msg>,
) -> Vec<m::Target> {
    let held: BTreeSet<&str> = snap
        .series
        .iter()
        .filter(|s| s.valid.spec.held_by.is_some())
        .map(|s| s.valid.spec.code.as_str())
        .collect();
    let mut out = Vec::new();
    for t in &req.targets {
        let series: Vec<u32> = refs
            .iter()
            .enumerate()
            .filter(|(_, r)| t.codes.contains(&r.code) || t.kinds.contains(&r.kind))
            .filter(|(_, r)| {
                t.place_organisation_ids.is_empty()
                    || r.place_organisation_id
                        .is_some_and(|o| t.place_organisation_ids.contains(&o))
            })
            .filter(|(_, r)| t.ward.as_ref().is_none_or(|w| &r.ward == w))
            .map(|(i, _)| i as u32)
            .collect();
        if series.is_empty()
            && !t.codes.is_empty()
            && t.codes.iter().all(|c| held.contains(c.as_str()))
        {
            notes.push(Msg::new(
                format!("指標「{}」（あと{}回）は他機関主催の会議で数えます。主催者の日程を登録してください", t.name.ja, t.min),
                format!("the indicator \"{}\" ({} more needed) counts meetings held by other bodies; enter the hosts' dates", t.name.en, t.min),
            ));
            continue;
        }
        if series.is_empty() {
            notes.push(Msg::new(
                format!("指標「{}」（あと{}回）を満たす会議シリーズがこの計画にありません。シリーズを追加してください", t.name.ja, t.min),
                format!("no series of this plan serves the indicator \"{}\" ({} more needed); add a series", t.name.en, t.min),
            ));
            continue;
        }
        out.push(m::Target {
            name: m::Text::new(t.name.ja.clone(), t.name.en.clone()),
            series,
            min: t.min,
        });
    }
    out
}

/// About how many meetings a year a series' cadence asks for (the mean of min and max).
fn yearly_meetings(c: &crate::meetings::spec::CadenceSpec) -> f64 {
    use renkei_solver::schedule::model::CadencePeriod;
    let each = f64::from(c.min + c.max) / 2.0;
    match c.per {
        CadencePeriod::Month if c.months.is_empty() => 12.0 * each,
        CadencePeriod::Month => c.months.len() as f64 * each,
        CadencePeriod::Quarter => 4.0 * each,
        CadencePeriod::FiscalYear | CadencePeriod::Period => each,
    }
}
