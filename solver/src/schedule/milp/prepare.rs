//! The instance read once into the shape both levels work on: per series its windows and
//! candidate days (with the rooms open that day and the day-level costs), and the published
//! occurrences mapped onto them. Everything is in a fixed order (series by id, days by date,
//! rooms by id) so the models built from it are the same for the same input.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate, Weekday};

use crate::schedule::model::*;
use crate::schedule::rules::{self, Index, Window};

/// Day number within the planning period (0 = `period.from`).
pub(crate) type Day = u32;

pub(crate) struct Prepared<'a> {
    pub instance: &'a Instance,
    pub ix: Index<'a>,
    /// Number of days in the period.
    pub days: u32,
    /// By series id.
    pub series: Vec<SeriesData<'a>>,
    /// Published occurrences dated inside the period (in `instance.published` order).
    pub published: Vec<PublishedData>,
    /// The shortest travel between two different venues: any change of venue costs at least
    /// this, whatever the route.
    pub min_travel: u32,
    /// Venues named in `Instance::travel` (all others are the default apart).
    pub travel_venues: BTreeSet<VenueId>,
    /// Position in `series` of each series id.
    pub position: HashMap<SeriesId, usize>,
}

pub(crate) struct SeriesData<'a> {
    pub series: &'a Series,
    /// Sorted, deduplicated.
    pub required: Vec<PersonId>,
    /// Sorted, deduplicated, without the required people.
    pub optional: Vec<PersonId>,
    /// Suitable rooms (capacity, accessibility, allowed list), by id.
    pub rooms: Vec<&'a Room>,
    /// The venues of those rooms, sorted.
    pub venues: Vec<VenueId>,
    pub windows: Vec<Window>,
    /// Days the series may meet on, by date; each lies in one window.
    pub candidates: Vec<Candidate>,
    /// Published occurrences of this series dated outside the period: context for gaps
    /// and precedence, never re-planned.
    pub outside: Vec<NaiveDate>,
}

/// One day a series may meet on, with what the day-level model needs to know about it.
pub(crate) struct Candidate {
    pub date: NaiveDate,
    pub day: Day,
    pub window: usize,
    /// Indices into `SeriesData::rooms` of the rooms open with at least one start time.
    pub rooms: Vec<usize>,
    /// Earliest start and latest start over those rooms (minutes from midnight).
    pub earliest_start: u32,
    pub latest_start: u32,
    /// Soft costs known from the date alone (lower bounds of the exact ones for time-based
    /// goals): a non-preferred weekday; no room offers a start in the preferred window; how
    /// many optional invitees are absent or off that day.
    pub off_weekday: bool,
    pub no_preferred_start: bool,
    pub optional_absent: u32,
}

pub(crate) struct PublishedData {
    /// Index into `instance.published`.
    pub index: usize,
    /// Position in `Prepared::series`, `None` for a series no longer in the instance.
    pub series: Option<usize>,
    pub day: Day,
    /// The candidate on the published date, if the series can still meet that day.
    pub candidate: Option<usize>,
    pub pin: Pin,
}

impl<'a> Prepared<'a> {
    pub fn new(instance: &'a Instance) -> Prepared<'a> {
        let ix = Index::new(instance);
        let days = (instance.period.to - instance.period.from).num_days() as u32 + 1;
        let mut by_id: Vec<&Series> = instance.series.iter().collect();
        by_id.sort_by_key(|s| s.id);
        let mut outside: HashMap<SeriesId, Vec<NaiveDate>> = HashMap::new();
        for p in &instance.published {
            if !instance.period.contains(p.occurrence.date) {
                outside
                    .entry(p.occurrence.series)
                    .or_default()
                    .push(p.occurrence.date);
            }
        }
        let series_data: Vec<SeriesData> = by_id
            .into_iter()
            .map(|s| {
                let mut out = outside.remove(&s.id).unwrap_or_default();
                out.sort();
                out.dedup();
                SeriesData::new(&ix, s, out)
            })
            .collect();
        let position: HashMap<SeriesId, usize> = series_data
            .iter()
            .enumerate()
            .map(|(i, s)| (s.series.id, i))
            .collect();
        let published = instance
            .published
            .iter()
            .enumerate()
            .filter(|(_, p)| instance.period.contains(p.occurrence.date))
            .map(|(index, p)| {
                let day = day_of(instance, p.occurrence.date);
                let series = position.get(&p.occurrence.series).copied();
                let candidate = series.and_then(|s| series_candidate(&series_data, s, day));
                PublishedData {
                    index,
                    series,
                    day,
                    candidate,
                    pin: p.pin,
                }
            })
            .collect();
        let min_travel = instance
            .travel
            .iter()
            .filter(|t| t.from != t.to)
            .map(|t| t.minutes)
            .chain([instance.default_travel_minutes])
            .min()
            .unwrap_or(0);
        Prepared {
            instance,
            ix,
            days,
            series: series_data,
            published,
            min_travel,
            travel_venues: instance
                .travel
                .iter()
                .flat_map(|t| [t.from, t.to])
                .collect(),
            position,
        }
    }

    pub fn date(&self, day: Day) -> NaiveDate {
        self.instance.period.from + chrono::Duration::days(i64::from(day))
    }
}

/// The candidate of series `s` on `day`, if it may meet that day.
pub(crate) fn series_candidate(series: &[SeriesData], s: usize, day: Day) -> Option<usize> {
    series[s]
        .candidates
        .binary_search_by_key(&day, |c| c.day)
        .ok()
}

pub(crate) fn day_of(instance: &Instance, date: NaiveDate) -> Day {
    (date - instance.period.from).num_days() as Day
}

impl<'a> SeriesData<'a> {
    fn new(ix: &Index<'a>, s: &'a Series, outside: Vec<NaiveDate>) -> SeriesData<'a> {
        let instance = ix.instance;
        let required: Vec<PersonId> = sorted_unique(&s.required);
        let optional: Vec<PersonId> = sorted_unique(&s.optional)
            .into_iter()
            .filter(|p| required.binary_search(p).is_err())
            .collect();
        let mut rooms = ix.suitable_rooms(s);
        rooms.sort_by_key(|r| r.id);
        let windows = rules::windows(ix, s);
        let earliest = ix.earliest_date(s);
        let min_gap = i64::from(s.cadence.min_gap_days.unwrap_or(0));
        // Start times depend on the venue's hours of that weekday only (closed days aside).
        let mut starts_cache: HashMap<(VenueId, Weekday), Vec<u32>> = HashMap::new();
        let mut candidates = Vec::new();
        for (w, window) in windows.iter().enumerate() {
            for date in rules::days(window.range) {
                if date < earliest
                    || !(s.cadence.months.is_empty() || s.cadence.months.contains(&date.month()))
                    || !s.required.iter().all(|p| ix.person_available(*p, date))
                    || outside
                        .iter()
                        .any(|o| (date - *o).num_days().abs() < min_gap)
                {
                    continue;
                }
                let mut open = Vec::new();
                let (mut first, mut last) = (u32::MAX, 0);
                for (r, room) in rooms.iter().enumerate() {
                    if ix.venue_hours_on(room.venue, date).is_none() {
                        continue;
                    }
                    let starts = starts_cache
                        .entry((room.venue, date.weekday()))
                        .or_insert_with(|| {
                            rules::start_times(ix, s, room, date)
                                .into_iter()
                                .map(rules::minutes)
                                .collect()
                        });
                    if let (Some(a), Some(b)) = (starts.first(), starts.last()) {
                        open.push(r);
                        first = first.min(*a);
                        last = last.max(*b);
                    }
                }
                if open.is_empty() {
                    continue;
                }
                let off_weekday = !s.preferred_weekdays.is_empty()
                    && !s.preferred_weekdays.contains(&date.weekday());
                let no_preferred_start = s.preferred_start.is_some_and(|w| {
                    !open.iter().any(|&r| {
                        starts_cache[&(rooms[r].venue, date.weekday())]
                            .iter()
                            .any(|&t| in_window(w, t))
                    })
                });
                let optional_absent = optional
                    .iter()
                    .filter(|p| !ix.person_available(**p, date))
                    .count() as u32;
                candidates.push(Candidate {
                    date,
                    day: day_of(instance, date),
                    window: w,
                    rooms: open,
                    earliest_start: first,
                    latest_start: last,
                    off_weekday,
                    no_preferred_start,
                    optional_absent,
                });
            }
        }
        let venues = rooms
            .iter()
            .map(|r| r.venue)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        SeriesData {
            series: s,
            required,
            optional,
            rooms,
            venues,
            windows,
            candidates,
            outside,
        }
    }

    /// Candidates lying in window `w`, as a range of indices (candidates are by date and
    /// windows are disjoint and in order).
    pub fn window_candidates(&self, w: usize) -> std::ops::Range<usize> {
        let from = self.candidates.partition_point(|c| c.window < w);
        let to = self.candidates.partition_point(|c| c.window <= w);
        from..to
    }

    /// Start times of this series in room `r` (index into `rooms`) on `date`.
    pub fn starts(&self, ix: &Index, r: usize, date: NaiveDate) -> Vec<u32> {
        rules::start_times(ix, self.series, self.rooms[r], date)
            .into_iter()
            .map(rules::minutes)
            .collect()
    }

    pub fn duration(&self) -> u32 {
        self.series.duration_minutes
    }
}

/// The least travel between two meetings of series `a` and `b` held at different places:
/// zero when they could share a venue, else the shortest trip between their venues (never
/// more than `Prepared::min_travel`, which bounds detours through other venues).
pub(crate) fn travel_between(prep: &Prepared, a: &SeriesData, b: &SeriesData) -> u32 {
    // Both lists are sorted: a shared venue means no trip.
    let (mut i, mut j) = (0, 0);
    while i < a.venues.len() && j < b.venues.len() {
        match a.venues[i].cmp(&b.venues[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return 0,
        }
    }
    // Pairs without a listed trip take the default, which is >= min_travel: only venues
    // with listed trips can go lower.
    let mut best = prep.min_travel;
    for u in a.venues.iter().filter(|u| prep.travel_venues.contains(u)) {
        for v in b.venues.iter().filter(|v| prep.travel_venues.contains(v)) {
            best = best.min(prep.ix.travel_minutes(*u, *v));
        }
    }
    best
}

pub(crate) fn in_window(w: TimeWindow, minute: u32) -> bool {
    rules::minutes(w.from) <= minute && minute < rules::minutes(w.to)
}

fn sorted_unique(ids: &[u32]) -> Vec<u32> {
    ids.iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Problems in the instance itself (dangling ids, impossible numbers), before any solving.
pub(crate) fn check_instance(instance: &Instance) -> Vec<Text> {
    let mut problems = Vec::new();
    let mut say = |ja: String, en: String| problems.push(Text::new(ja, en));
    if instance.period.from > instance.period.to {
        say(
            format!(
                "計画期間の開始日 {} が終了日 {} より後です",
                instance.period.from, instance.period.to
            ),
            format!(
                "the period starts ({}) after it ends ({})",
                instance.period.from, instance.period.to
            ),
        );
    }
    if instance.grain_minutes == 0 || 60 % instance.grain_minutes != 0 {
        say(
            format!(
                "時間の刻み {} 分は 60 の約数である必要があります",
                instance.grain_minutes
            ),
            format!(
                "the time grain of {} minutes must divide 60",
                instance.grain_minutes
            ),
        );
    }
    if !(instance.time_limit_seconds > 0.0 && instance.time_limit_seconds.is_finite()) {
        say(
            "計算時間の上限は正の数である必要があります".into(),
            "the time limit must be a positive number of seconds".into(),
        );
    }
    let w = instance.weights;
    let weights = [
        w.weekday,
        w.start_time,
        w.spacing,
        w.optional_missed,
        w.weekly_load,
        w.change,
        w.target_shortfall,
    ];
    if weights.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
        say(
            "重みは 0 以上の数である必要があります".into(),
            "weights must be numbers >= 0".into(),
        );
    }
    let dupes = |ids: Vec<u32>| {
        let mut seen = BTreeSet::new();
        ids.into_iter()
            .filter(|id| !seen.insert(*id))
            .collect::<BTreeSet<_>>()
    };
    for (kind_ja, kind_en, ids) in [
        (
            "職員",
            "person",
            instance.people.iter().map(|p| p.id).collect(),
        ),
        (
            "会場",
            "venue",
            instance.venues.iter().map(|v| v.id).collect(),
        ),
        (
            "部屋",
            "room",
            instance.rooms.iter().map(|r| r.id).collect(),
        ),
        (
            "会議シリーズ",
            "series",
            instance.series.iter().map(|s| s.id).collect(),
        ),
    ] {
        for id in dupes(ids) {
            say(
                format!("{kind_ja} ID {id} が重複しています"),
                format!("{kind_en} id {id} is used twice"),
            );
        }
    }
    let people: BTreeSet<PersonId> = instance.people.iter().map(|p| p.id).collect();
    let venues: BTreeSet<VenueId> = instance.venues.iter().map(|v| v.id).collect();
    let rooms: BTreeSet<RoomId> = instance.rooms.iter().map(|r| r.id).collect();
    let series: BTreeMap<SeriesId, &Series> = instance.series.iter().map(|s| (s.id, s)).collect();
    for r in &instance.rooms {
        if !venues.contains(&r.venue) {
            say(
                format!("部屋「{}」の会場 ID {} がありません", r.name, r.venue),
                format!("room \"{}\" refers to unknown venue {}", r.name, r.venue),
            );
        }
    }
    for s in &instance.series {
        let t = &s.title;
        for p in s.required.iter().chain(&s.optional) {
            if !people.contains(p) {
                say(
                    format!("「{t}」の出席者 ID {p} がいません"),
                    format!("\"{t}\" invites unknown person {p}"),
                );
            }
        }
        for r in &s.rooms {
            if !rooms.contains(r) {
                say(
                    format!("「{t}」の部屋 ID {r} がありません"),
                    format!("\"{t}\" allows unknown room {r}"),
                );
            }
        }
        let c = &s.cadence;
        if c.min > c.max {
            say(
                format!(
                    "「{t}」の回数の下限 {} が上限 {} を超えています",
                    c.min, c.max
                ),
                format!("\"{t}\": minimum count {} exceeds maximum {}", c.min, c.max),
            );
        }
        if c.months.iter().any(|m| !(1..=12).contains(m)) {
            say(
                format!("「{t}」の月の指定は 1〜12 である必要があります"),
                format!("\"{t}\": months must be 1-12"),
            );
        }
        if let (Some(lo), Some(hi)) = (c.min_gap_days, c.max_gap_days) {
            if lo > hi {
                say(
                    format!("「{t}」の最小間隔 {lo} 日が最大間隔 {hi} 日を超えています"),
                    format!("\"{t}\": minimum gap {lo} days exceeds maximum gap {hi} days"),
                );
            }
        }
        if c.max_gap_days == Some(0) {
            say(
                format!("「{t}」の最大間隔は 1 日以上である必要があります"),
                format!("\"{t}\": the maximum gap must be at least 1 day"),
            );
        }
        if s.duration_minutes == 0 || s.duration_minutes > 24 * 60 {
            say(
                format!("「{t}」の所要時間 {} 分は不正です", s.duration_minutes),
                format!(
                    "\"{t}\": duration of {} minutes is invalid",
                    s.duration_minutes
                ),
            );
        }
    }
    for p in &instance.precedences {
        for id in [p.before, p.after] {
            if !series.contains_key(&id) {
                say(
                    format!("前後関係が存在しない会議シリーズ {id} を参照しています"),
                    format!("a precedence refers to unknown series {id}"),
                );
            }
        }
        if p.min_days > p.max_days {
            say(
                format!(
                    "前後関係の最小日数 {} が最大日数 {} を超えています",
                    p.min_days, p.max_days
                ),
                format!(
                    "a precedence's minimum of {} days exceeds its maximum of {}",
                    p.min_days, p.max_days
                ),
            );
        }
        if p.before == p.after {
            say(
                format!(
                    "会議シリーズ {} が自分自身より前に来るよう指定されています",
                    p.before
                ),
                format!("series {} is set to precede itself", p.before),
            );
        }
    }
    for p in &instance.published {
        let o = &p.occurrence;
        if p.pin != Pin::None && !series.contains_key(&o.series) {
            say(
                format!(
                    "固定された公開済み会議 {} が存在しない会議シリーズ {} のものです",
                    o.date, o.series
                ),
                format!(
                    "the pinned published meeting on {} belongs to unknown series {}",
                    o.date, o.series
                ),
            );
        }
        if p.pin == Pin::Full && !rooms.contains(&o.room) {
            say(
                format!(
                    "固定された公開済み会議 {} の部屋 ID {} がありません",
                    o.date, o.room
                ),
                format!(
                    "the pinned published meeting on {} uses unknown room {}",
                    o.date, o.room
                ),
            );
        }
    }
    problems
}
