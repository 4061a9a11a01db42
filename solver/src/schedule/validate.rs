//! The independent validator: re-checks every hard rule of an [`Instance`] against a list of
//! occurrences, from the instance alone. It shares no code with the planner except the rule
//! definitions in [`super::rules`]; a plan is published only when this returns no violation.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, Duration, Timelike};
use serde::{Deserialize, Serialize};

use super::model::*;
use super::rules::{invitee_count, minutes, windows, Index};

/// Which hard rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Series, room or person id not in the instance.
    UnknownReference,
    /// Outside the planning period or before the lead time.
    Period,
    /// The venue is closed that day (weekend, holiday, 年末年始, closure).
    Closed,
    /// Start not on the grain, wrong end time, outside opening hours or the allowed window.
    Time,
    /// Room not allowed, too small or not accessible as needed.
    Room,
    /// A required person is missing, or an attendee was not invited.
    Attendees,
    /// An attendee does not work that day or is absent.
    Availability,
    /// A person is in two places at once, or cannot travel between them in time.
    PersonOverlap,
    /// A person is required at more meetings, or more minutes of them, in a day than allowed.
    DailyLoad,
    /// A room holds two meetings at once.
    RoomOverlap,
    /// Too few or too many occurrences in a cadence window, or outside the allowed months.
    Cadence,
    /// Consecutive occurrences too close together or too far apart.
    Gap,
    /// A meeting lacks its required earlier meeting.
    Precedence,
    /// A pinned occurrence was moved.
    Pin,
    /// Occurrence indexes are not 0..n in date order.
    Index,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub rule: Rule,
    /// (series, index) of the occurrences involved.
    pub occurrences: Vec<(SeriesId, u32)>,
    pub message: Text,
}

fn v(rule: Rule, occ: &[&Occurrence], ja: String, en: String) -> Violation {
    Violation {
        rule,
        occurrences: occ.iter().map(|o| (o.series, o.index)).collect(),
        message: Text::new(ja, en),
    }
}

/// An external person's availability: the whole meeting lies in one window they gave, on a
/// day the window covers. Staff (no windows) always pass here.
fn within_availability(person: Option<&Person>, o: &Occurrence) -> bool {
    let Some(windows) = person.and_then(|p| p.available.as_ref()) else {
        return true;
    };
    windows.iter().any(|w| {
        w.dates.from <= o.date
            && o.date <= w.dates.to
            && (w.weekdays.is_empty() || w.weekdays.contains(&o.date.weekday()))
            && w.from <= o.start
            && o.end <= w.to
    })
}

/// All hard-rule violations of `occurrences` for `instance`; empty means the plan is valid.
pub fn validate(instance: &Instance, occurrences: &[Occurrence]) -> Vec<Violation> {
    let ix = Index::new(instance);
    let mut out = Vec::new();
    let title = |id: SeriesId| {
        ix.series
            .get(&id)
            .map(|s| s.title.clone())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let pname = |id: PersonId| {
        ix.people
            .get(&id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| format!("#{id}"))
    };

    for o in occurrences {
        let t = title(o.series);
        let (Some(s), Some(room)) = (ix.series.get(&o.series), ix.rooms.get(&o.room)) else {
            out.push(v(
                Rule::UnknownReference,
                &[o],
                format!("{t}: 系列または部屋 #{} が存在しません", o.room),
                format!("{t}: unknown series or room #{}", o.room),
            ));
            continue;
        };
        let when = format!("{} {}", o.date, o.start.format("%H:%M"));
        // Period and lead time.
        if !instance.period.contains(o.date) {
            out.push(v(
                Rule::Period,
                &[o],
                format!("{t} {when}: 計画期間外です"),
                format!("{t} {when}: outside the planning period"),
            ));
        } else if o.date < ix.earliest_date(s) {
            out.push(v(
                Rule::Period,
                &[o],
                format!("{t} {when}: 準備期間({}日)より前です", s.lead_days),
                format!(
                    "{t} {when}: earlier than the lead time of {} days",
                    s.lead_days
                ),
            ));
        }
        // Open day and hours.
        match ix.venue_hours_on(room.venue, o.date) {
            None => out.push(v(
                Rule::Closed,
                &[o],
                format!("{t} {when}: 会場の休業日です"),
                format!("{t} {when}: the venue is closed that day"),
            )),
            Some((open, close)) => {
                if o.start < open || o.end > close {
                    out.push(v(
                        Rule::Time,
                        &[o],
                        format!("{t} {when}: 開館時間外です"),
                        format!("{t} {when}: outside opening hours"),
                    ));
                }
            }
        }
        let grain = instance.grain_minutes.max(1);
        if !minutes(o.start).is_multiple_of(grain) || o.start.second() != 0 {
            out.push(v(
                Rule::Time,
                &[o],
                format!("{t} {when}: 開始時刻が{grain}分単位ではありません"),
                format!("{t} {when}: start is not on the {grain}-minute grid"),
            ));
        }
        if o.end <= o.start || minutes(o.end) - minutes(o.start) != s.duration_minutes {
            out.push(v(
                Rule::Time,
                &[o],
                format!(
                    "{t} {when}: 所要時間が{}分ではありません",
                    s.duration_minutes
                ),
                format!("{t} {when}: duration is not {} minutes", s.duration_minutes),
            ));
        }
        if let Some(w) = s.allowed_start {
            if o.start < w.from || o.start >= w.to {
                out.push(v(
                    Rule::Time,
                    &[o],
                    format!("{t} {when}: 許可された開始時間帯の外です"),
                    format!("{t} {when}: start outside the allowed window"),
                ));
            }
        }
        // Room.
        if !s.rooms.is_empty() && !s.rooms.contains(&room.id) {
            out.push(v(
                Rule::Room,
                &[o],
                format!("{t} {when}: 部屋「{}」は使えません", room.name),
                format!("{t} {when}: room {} is not allowed", room.name),
            ));
        }
        if room.capacity < invitee_count(s) {
            out.push(v(
                Rule::Room,
                &[o],
                format!(
                    "{t} {when}: 部屋「{}」の定員{}人では{}人が入れません",
                    room.name,
                    room.capacity,
                    invitee_count(s)
                ),
                format!(
                    "{t} {when}: room {} seats {}, {} are invited",
                    room.name,
                    room.capacity,
                    invitee_count(s)
                ),
            ));
        }
        if (s.needs_wheelchair && !room.wheelchair) || (s.needs_hearing_loop && !room.hearing_loop)
        {
            out.push(v(
                Rule::Room,
                &[o],
                format!(
                    "{t} {when}: 部屋「{}」はバリアフリー要件を満たしません",
                    room.name
                ),
                format!(
                    "{t} {when}: room {} lacks the accessibility needed",
                    room.name
                ),
            ));
        }
        // Attendees.
        let invited: HashSet<PersonId> = s.required.iter().chain(&s.optional).copied().collect();
        for p in &s.required {
            if !o.attendees.contains(p) {
                out.push(v(
                    Rule::Attendees,
                    &[o],
                    format!("{t} {when}: 必須出席者 {} がいません", pname(*p)),
                    format!("{t} {when}: required attendee {} is missing", pname(*p)),
                ));
            }
        }
        let mut seen = HashSet::new();
        for p in &o.attendees {
            if !invited.contains(p) || !seen.insert(*p) {
                out.push(v(
                    Rule::Attendees,
                    &[o],
                    format!(
                        "{t} {when}: {} は招待されていないか重複しています",
                        pname(*p)
                    ),
                    format!("{t} {when}: {} is not invited or listed twice", pname(*p)),
                ));
            } else if !within_availability(ix.people.get(p).copied(), o) {
                // Checked from the person's windows directly, not through the rules' helpers.
                out.push(v(
                    Rule::Availability,
                    &[o],
                    format!(
                        "{t} {when}: {} の都合のつく日時(外部講師・スーパーバイザーの予定)の外です",
                        pname(*p)
                    ),
                    format!(
                        "{t} {when}: outside the times {} said they can come",
                        pname(*p)
                    ),
                ));
            } else if !ix.person_available(*p, o.date) {
                out.push(v(
                    Rule::Availability,
                    &[o],
                    format!(
                        "{t} {when}: {} はこの日に出席できません(休暇・勤務日外)",
                        pname(*p)
                    ),
                    format!(
                        "{t} {when}: {} is absent or not working that day",
                        pname(*p)
                    ),
                ));
            } else if !ix.within_hours(*p, o.date, minutes(o.start), minutes(o.end)) {
                out.push(v(
                    Rule::Availability,
                    &[o],
                    format!("{t} {when}: {} の勤務時間外です", pname(*p)),
                    format!("{t} {when}: outside {}'s working hours", pname(*p)),
                ));
            }
            // Meetings held by others the person attends: no overlap, time to travel.
            for h in instance
                .held_by_others
                .iter()
                .filter(|h| h.date == o.date && h.attendees.contains(p))
            {
                let there = h.venue.unwrap_or(ELSEWHERE);
                let to = ix.travel_minutes(room.venue, there);
                let back = ix.travel_minutes(there, room.venue);
                let apart = minutes(o.end) + to <= minutes(h.start)
                    || minutes(h.end) + back <= minutes(o.start);
                if !apart {
                    out.push(v(
                        Rule::PersonOverlap,
                        &[o],
                        format!(
                            "{t} {when}: {} は他機関主催の「{}」（{}〜{}）に出席するため出られません（移動{}分）",
                            pname(*p),
                            h.title,
                            h.start.format("%H:%M"),
                            h.end.format("%H:%M"),
                            to.max(back)
                        ),
                        format!(
                            "{t} {when}: {} attends {} ({}-{}), held by another body (travel {} minutes)",
                            pname(*p),
                            h.title,
                            h.start.format("%H:%M"),
                            h.end.format("%H:%M"),
                            to.max(back)
                        ),
                    ));
                }
            }
        }
    }

    // Overlaps: per day, every pair sharing a person or a room.
    let mut by_day: BTreeMap<chrono::NaiveDate, Vec<&Occurrence>> = BTreeMap::new();
    for o in occurrences
        .iter()
        .filter(|o| ix.rooms.contains_key(&o.room))
    {
        by_day.entry(o.date).or_default().push(o);
    }
    for day in by_day.values() {
        for (i, a) in day.iter().enumerate() {
            for b in &day[i + 1..] {
                let (ra, rb) = (ix.rooms[&a.room], ix.rooms[&b.room]);
                let (first, second) = if a.start <= b.start { (a, b) } else { (b, a) };
                let overlap = second.start < first.end;
                if a.room == b.room && overlap {
                    out.push(v(
                        Rule::RoomOverlap,
                        &[a, b],
                        format!(
                            "{} {}: 部屋「{}」で「{}」と「{}」が重なっています",
                            a.date,
                            second.start.format("%H:%M"),
                            ra.name,
                            title(a.series),
                            title(b.series)
                        ),
                        format!(
                            "{} {}: room {} holds both {} and {}",
                            a.date,
                            second.start.format("%H:%M"),
                            ra.name,
                            title(a.series),
                            title(b.series)
                        ),
                    ));
                }
                let travel = ix.travel_minutes(ra.venue, rb.venue);
                let too_close = overlap || minutes(second.start) < minutes(first.end) + travel;
                if too_close {
                    for p in a.attendees.iter().filter(|p| b.attendees.contains(p)) {
                        out.push(v(
                            Rule::PersonOverlap,
                            &[a, b],
                            format!("{} {}: {} が「{}」と「{}」に同時に(または移動時間{}分なしで)出席することになります", a.date, second.start.format("%H:%M"), pname(*p), title(a.series), title(b.series), travel),
                            format!("{} {}: {} would attend {} and {} at once (or without {} minutes to travel)", a.date, second.start.format("%H:%M"), pname(*p), title(a.series), title(b.series), travel),
                        ));
                    }
                }
            }
        }
    }

    // Daily limits of the people required at the day's meetings.
    for (date, day) in &by_day {
        let mut load: BTreeMap<PersonId, (u32, u32, Vec<&Occurrence>)> = BTreeMap::new();
        for o in day {
            let Some(s) = ix.series.get(&o.series) else {
                continue;
            };
            for p in &s.required {
                let e = load.entry(*p).or_default();
                e.0 += 1;
                e.1 += minutes(o.end).saturating_sub(minutes(o.start));
                e.2.push(o);
            }
        }
        for (p, (n, total, occ)) in load {
            let Some(person) = ix.people.get(&p) else {
                continue;
            };
            if let Some(max) = person.max_meetings_per_day.filter(|m| n > *m) {
                out.push(v(
                    Rule::DailyLoad,
                    &occ,
                    format!(
                        "{date}: {} の会議が{n}件あり、1日の上限{max}件を超えています",
                        pname(p)
                    ),
                    format!(
                        "{date}: {} has {n} meetings, more than the {max} a day allowed",
                        pname(p)
                    ),
                ));
            }
            if let Some(max) = person.max_minutes_per_day.filter(|m| total > *m) {
                out.push(v(
                    Rule::DailyLoad,
                    &occ,
                    format!("{date}: {} の会議が計{total}分あり、1日の上限{max}分を超えています", pname(p)),
                    format!("{date}: {} has {total} minutes of meetings, more than the {max} a day allowed", pname(p)),
                ));
            }
        }
    }

    // Per series: indexes, cadence windows, months, gaps.
    let mut per_series: BTreeMap<SeriesId, Vec<&Occurrence>> = BTreeMap::new();
    for o in occurrences {
        per_series.entry(o.series).or_default().push(o);
    }
    for s in &instance.series {
        let mut occ = per_series.remove(&s.id).unwrap_or_default();
        occ.sort_by_key(|o| (o.date, o.start, o.index));
        let indexes: Vec<u32> = occ.iter().map(|o| o.index).collect();
        if indexes != (0..occ.len() as u32).collect::<Vec<_>>() {
            out.push(v(
                Rule::Index,
                &occ,
                format!("{}: 番号が日付順の0..nになっていません", s.title),
                format!("{}: indexes are not 0..n in date order", s.title),
            ));
        }
        for o in &occ {
            if !s.cadence.months.is_empty() && !s.cadence.months.contains(&o.date.month()) {
                out.push(v(
                    Rule::Cadence,
                    &[o],
                    format!("{} {}: 開催月ではありません", s.title, o.date),
                    format!("{} {}: not in an allowed month", s.title, o.date),
                ));
            }
        }
        for w in windows(&ix, s) {
            let n = occ.iter().filter(|o| w.range.contains(o.date)).count() as u32;
            if n < w.min || n > w.max {
                let want = if w.min == w.max {
                    w.min.to_string()
                } else {
                    format!("{}〜{}", w.min, w.max)
                };
                out.push(v(
                    Rule::Cadence,
                    &occ.iter()
                        .copied()
                        .filter(|o| w.range.contains(o.date))
                        .collect::<Vec<_>>(),
                    format!("{} {}: {}回のところ{}回です", w.label.ja, s.title, want, n),
                    format!(
                        "{} {}: {} occurrence(s) required, {} planned",
                        w.label.en,
                        s.title,
                        want.replace('〜', "-"),
                        n
                    ),
                ));
            }
        }
        for pair in occ.windows(2) {
            let gap = (pair[1].date - pair[0].date).num_days();
            if s.cadence.min_gap_days.is_some_and(|g| gap < i64::from(g))
                || s.cadence.max_gap_days.is_some_and(|g| gap > i64::from(g))
            {
                out.push(v(
                    Rule::Gap,
                    &[pair[0], pair[1]],
                    format!(
                        "{}: {}と{}の間隔{}日が規定外です",
                        s.title, pair[0].date, pair[1].date, gap
                    ),
                    format!(
                        "{}: {} days between {} and {} is outside the allowed gap",
                        s.title, gap, pair[0].date, pair[1].date
                    ),
                ));
            }
        }
    }
    for (id, occ) in per_series {
        out.push(v(
            Rule::UnknownReference,
            &occ,
            format!("系列 #{id} は存在しません"),
            format!("series #{id} does not exist"),
        ));
    }

    // Precedence: each `after` needs a `before` between max_days and min_days earlier.
    for pr in &instance.precedences {
        for a in occurrences.iter().filter(|o| o.series == pr.after) {
            let lo = a.date - Duration::days(i64::from(pr.max_days));
            let hi = a.date - Duration::days(i64::from(pr.min_days));
            // A published `before` outside the period (planning Q3 after September's
            // subcommittee) counts too.
            let outside = instance
                .published
                .iter()
                .map(|p| &p.occurrence)
                .filter(|b| !instance.period.contains(b.date));
            let ok = occurrences
                .iter()
                .chain(outside)
                .any(|b| b.series == pr.before && lo <= b.date && b.date <= hi);
            if !ok {
                out.push(v(
                    Rule::Precedence,
                    &[a],
                    format!(
                        "{} {}: {}〜{}日前に「{}」が必要です",
                        title(a.series),
                        a.date,
                        pr.min_days,
                        pr.max_days,
                        title(pr.before)
                    ),
                    format!(
                        "{} {}: needs {} {}-{} days before",
                        title(a.series),
                        a.date,
                        title(pr.before),
                        pr.min_days,
                        pr.max_days
                    ),
                ));
            }
        }
    }

    // Pins.
    // Pins outside the period are not this plan's to keep.
    for p in instance
        .published
        .iter()
        .filter(|p| instance.period.contains(p.occurrence.date))
    {
        let po = &p.occurrence;
        let kept = match p.pin {
            Pin::None => true,
            Pin::Full => occurrences.iter().any(|o| {
                o.series == po.series
                    && o.date == po.date
                    && o.start == po.start
                    && o.room == po.room
            }),
            Pin::Date => occurrences
                .iter()
                .any(|o| o.series == po.series && o.date == po.date),
        };
        if !kept {
            out.push(v(
                Rule::Pin,
                &[po],
                format!(
                    "{} {}: 固定された予定が動かされています",
                    title(po.series),
                    po.date
                ),
                format!(
                    "{} {}: a pinned occurrence was moved",
                    title(po.series),
                    po.date
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::generate::{instance, Size};
    use crate::schedule::greedy;
    use chrono::{NaiveDate, NaiveTime};

    fn rules(v: &[Violation]) -> Vec<Rule> {
        let mut r: Vec<Rule> = v.iter().map(|v| v.rule).collect();
        r.sort_by_key(|r| format!("{r:?}"));
        r.dedup();
        r
    }

    #[test]
    fn greedy_plan_of_the_small_instance_is_valid() {
        let inst = instance(Size::S, 7);
        let plan = greedy::plan(&inst);
        assert!(plan.len() >= 40, "{} occurrences", plan.len());
        let violations = validate(&inst, &plan);
        assert!(violations.is_empty(), "{violations:#?}");
    }

    #[test]
    fn count_targets_are_soft_for_the_validator() {
        let mut inst = instance(Size::S, 7);
        let plan = greedy::plan(&inst);
        let all: Vec<SeriesId> = inst.series.iter().map(|s| s.id).collect();
        // One target the plan meets, one no plan of the quarter can meet.
        inst.targets = vec![
            Target {
                name: Text::new("全会議", "all meetings"),
                series: all.clone(),
                min: 1,
            },
            Target {
                name: Text::new("無理な目標", "impossible"),
                series: all,
                min: 100_000,
            },
        ];
        let violations = validate(&inst, &plan);
        assert!(violations.is_empty(), "{violations:#?}");
        let out = crate::schedule::targets::outcomes(&inst, &plan);
        assert!(out[0].met && !out[1].met, "{out:?}");
        assert!(out[1].reason.is_some());
    }

    #[test]
    fn each_broken_rule_is_reported() {
        let inst = instance(Size::S, 7);
        let plan = greedy::plan(&inst);
        let mut broken = plan.clone();
        // On a holiday (Showa Day), starting off the grid, in a room too small.
        let o = &mut broken[0];
        o.date = NaiveDate::from_ymd_opt(2026, 4, 29).unwrap();
        o.start = NaiveTime::from_hms_opt(10, 10, 0).unwrap();
        let v = validate(&inst, &broken);
        assert!(rules(&v).contains(&Rule::Closed), "{v:#?}");
        assert!(rules(&v).contains(&Rule::Time), "{v:#?}");

        // Two meetings of one required person at the same time.
        let mut clash = plan.clone();
        let (a, b) = {
            let mut found = None;
            'outer: for (i, x) in plan.iter().enumerate() {
                for (j, y) in plan.iter().enumerate() {
                    if i != j
                        && x.series != y.series
                        && x.attendees.iter().any(|p| y.attendees.contains(p))
                    {
                        found = Some((i, j));
                        break 'outer;
                    }
                }
            }
            found.expect("two series share someone")
        };
        clash[b].date = clash[a].date;
        clash[b].start = clash[a].start;
        clash[b].end = clash[b].start
            + chrono::Duration::minutes(i64::from(
                inst.series
                    .iter()
                    .find(|s| s.id == clash[b].series)
                    .unwrap()
                    .duration_minutes,
            ));
        let v = validate(&inst, &clash);
        assert!(rules(&v).contains(&Rule::PersonOverlap), "{v:#?}");

        // A missing occurrence breaks its cadence; a missing required attendee is named.
        let mut short = plan.clone();
        let removed = short.remove(0);
        greedy::renumber(&mut short);
        let v = validate(&inst, &short);
        assert!(v.iter().any(|v| v.rule == Rule::Cadence), "{v:#?}");
        let mut absent = plan.clone();
        let s = inst
            .series
            .iter()
            .find(|s| s.id == absent[0].series)
            .unwrap();
        absent[0].attendees.retain(|p| *p != s.required[0]);
        let v = validate(&inst, &absent);
        assert!(
            v.iter()
                .any(|v| v.rule == Rule::Attendees && v.message.en.contains("required")),
            "{v:#?}"
        );
        let _ = removed;
    }
}
