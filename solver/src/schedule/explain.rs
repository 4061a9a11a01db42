//! Why no plan exists (実行不能の説明), in domain words and in both languages: which rules
//! collide and which relaxations would help.
//!
//! Two sources. [`precheck`] runs before any solving and looks at each series alone: a
//! cadence window with fewer usable days than required meetings (and what blocks the other
//! days: absences, part-time days, lead time, rooms, months), pins that cannot be kept.
//! [`elastic`] runs when the day-level model is infeasible although every series fits on
//! its own: it solves a copy where window minimums, pins, precedences and maximum gaps may
//! give at a cost and reports those that had to.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::milp::level1::{self, Cut, Mode, Outcome, Relaxed, Settings};
use super::milp::prepare::{Prepared, SeriesData};
use super::milp::PlanError;
use super::model::*;
use super::rules::{self, Window};
use crate::calendar::weekday_ja;

/// Conflicts visible from each series alone, or `None` when every series could meet its
/// minimums and pins on its own.
pub(crate) fn precheck(prep: &Prepared) -> Option<Infeasibility> {
    let mut conflicts = Vec::new();
    for data in &prep.series {
        for (w, window) in data.windows.iter().enumerate() {
            let days: Vec<NaiveDate> = data
                .window_candidates(w)
                .map(|c| data.candidates[c].date)
                .collect();
            let fit = most_apart(&days, data.series.cadence.min_gap_days.unwrap_or(1));
            if fit < window.min {
                conflicts.push(short_window(prep, data, window, fit));
            }
        }
    }
    conflicts.extend(pin_conflicts(prep));
    (!conflicts.is_empty()).then_some(Infeasibility { conflicts })
}

/// The elastic model's verdict: the rules it had to relax.
pub(crate) fn elastic(
    prep: &Prepared,
    cuts: &[Cut],
    settings: Settings,
) -> Result<Infeasibility, PlanError> {
    let relaxed = match level1::solve(prep, cuts, Mode::Elastic, settings, None)? {
        Outcome::Solved(solution) => solution.relaxed,
        Outcome::Infeasible | Outcome::NoSolution | Outcome::TooLittleTime { .. } => Vec::new(),
    };
    let mut conflicts = Vec::new();
    let mut precedence_dates: BTreeMap<usize, Vec<NaiveDate>> = BTreeMap::new();
    for r in &relaxed {
        match *r {
            Relaxed::WindowMin {
                series,
                window,
                missing,
            } => {
                let data = &prep.series[series];
                conflicts.push(crowded_window(prep, data, &data.windows[window], missing));
            }
            Relaxed::Pin { published } => {
                conflicts.push(unkeepable_pin(prep, published, Vec::new()));
            }
            Relaxed::Precedence {
                precedence,
                candidate,
            } => {
                let after = prep.instance.precedences[precedence].after;
                if let Some(data) = prep.series.iter().find(|d| d.series.id == after) {
                    precedence_dates
                        .entry(precedence)
                        .or_default()
                        .push(data.candidates[candidate].date);
                }
            }
            Relaxed::MaxGap { series } => {
                let s = prep.series[series].series;
                let gap = s.cadence.max_gap_days.unwrap_or(0);
                conflicts.push(Conflict {
                    rules: vec![Text::new(
                        format!("「{}」の開催間隔は最大 {gap} 日", s.title),
                        format!("at most {gap} days between meetings of \"{}\"", s.title),
                    )],
                    relaxations: vec![Text::new(
                        format!("「{}」の最大間隔を延ばす", s.title),
                        format!("lengthen the maximum gap of \"{}\"", s.title),
                    )],
                });
            }
        }
    }
    for (precedence, dates) in precedence_dates {
        conflicts.push(precedence_conflict(prep, precedence, &dates));
    }
    conflicts.dedup();
    if conflicts.is_empty() {
        conflicts.push(Conflict {
            rules: vec![Text::new(
                "会議同士の時間・部屋・出席者の重なりを解消できません",
                "the meetings cannot be fitted around each other's times, rooms and attendees",
            )],
            relaxations: vec![Text::new(
                "回数の下限を減らすか、期間を延ばしてください",
                "lower some minimum counts or lengthen the period",
            )],
        });
    }
    Ok(Infeasibility { conflicts })
}

/// The most occurrences that fit on `days` (sorted) at least `gap` days apart (greedy from
/// the earliest is optimal on a line).
fn most_apart(days: &[NaiveDate], gap: u32) -> u32 {
    let mut count = 0;
    let mut last: Option<NaiveDate> = None;
    for d in days {
        if last.is_none_or(|l| (*d - l).num_days() >= i64::from(gap.max(1))) {
            count += 1;
            last = Some(*d);
        }
    }
    count
}

/// What keeps a series from meeting on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Blocker {
    /// Holiday, weekend, closure: not a rule anyone would relax for one meeting.
    Closed,
    Month,
    LeadTime,
    /// Too close to a published occurrence just outside the period.
    PublishedGap,
    /// The allowed start window does not fit the venue's hours.
    StartWindow,
    Person(PersonId),
    NoRoom,
}

fn blockers(prep: &Prepared, data: &SeriesData, date: NaiveDate) -> Vec<Blocker> {
    let s = data.series;
    let ix = &prep.ix;
    if data.rooms.is_empty() {
        return vec![Blocker::NoRoom];
    }
    let open: Vec<&&Room> = data
        .rooms
        .iter()
        .filter(|r| ix.venue_hours_on(r.venue, date).is_some())
        .collect();
    if open.is_empty() {
        return vec![Blocker::Closed];
    }
    let mut out = Vec::new();
    if !(s.cadence.months.is_empty() || s.cadence.months.contains(&date.month())) {
        out.push(Blocker::Month);
    }
    if date < ix.earliest_date(s) {
        out.push(Blocker::LeadTime);
    }
    let gap = i64::from(s.cadence.min_gap_days.unwrap_or(0));
    if data
        .outside
        .iter()
        .any(|o| (date - *o).num_days().abs() < gap)
    {
        out.push(Blocker::PublishedGap);
    }
    if open
        .iter()
        .all(|r| rules::start_times(ix, s, r, date).is_empty())
    {
        out.push(Blocker::StartWindow);
    }
    for p in &data.required {
        if !ix.person_available(*p, date) {
            out.push(Blocker::Person(*p));
        }
    }
    out
}

/// A window with fewer usable days than required meetings.
fn short_window(prep: &Prepared, data: &SeriesData, window: &Window, fit: u32) -> Conflict {
    let s = data.series;
    let label = &window.label;
    let mut rules_text = vec![Text::new(
        format!(
            "{}: 「{}」は {} 回以上必要ですが、条件を満たす日に入るのは {} 回までです",
            label.ja, s.title, window.min, fit
        ),
        format!(
            "{}: \"{}\" needs at least {} meeting(s) but only {} fit on days that meet every condition",
            label.en,
            s.title,
            window.min,
            fit
        ),
    )];
    let mut relaxations = Vec::new();
    let per_day: Vec<(NaiveDate, Vec<Blocker>)> = rules::days(window.range)
        .map(|d| (d, blockers(prep, data, d)))
        .filter(|(_, b)| !b.is_empty())
        .collect();
    for b in culprits(&per_day, window.min) {
        let (rule, relax) = describe(prep, data, window, b, &per_day);
        rules_text.push(rule);
        relaxations.extend(relax);
    }
    if s.cadence.min_gap_days.is_some_and(|g| g > 1) && fit > 0 {
        let g = s.cadence.min_gap_days.unwrap_or(0);
        rules_text.push(Text::new(
            format!("開催間隔は {g} 日以上"),
            format!("meetings at least {g} days apart"),
        ));
        relaxations.push(Text::new(
            format!("「{}」の最小間隔 {g} 日を短くする", s.title),
            format!("shorten the minimum gap of \"{}\" ({g} days)", s.title),
        ));
    }
    relaxations.push(fewer(s, window, fit));
    Conflict {
        rules: rules_text,
        relaxations,
    }
}

/// The relaxable blockers that together free enough days, most freeing first (greedy).
fn culprits(per_day: &[(NaiveDate, Vec<Blocker>)], need: u32) -> Vec<Blocker> {
    let mut all: Vec<Blocker> = per_day
        .iter()
        .flat_map(|(_, b)| b.iter().copied())
        .filter(|b| *b != Blocker::Closed)
        .collect();
    all.sort();
    all.dedup();
    if per_day.iter().any(|(_, b)| b == &[Blocker::NoRoom]) {
        return vec![Blocker::NoRoom];
    }
    let freed = |chosen: &[Blocker]| {
        per_day
            .iter()
            .filter(|(_, b)| b.iter().all(|x| chosen.contains(x)))
            .count()
    };
    let mut chosen: Vec<Blocker> = Vec::new();
    while !all.is_empty() && chosen.len() < 4 {
        let mut best = (0usize, 0usize);
        for (i, b) in all.iter().enumerate() {
            let mut with = chosen.clone();
            with.push(*b);
            let n = freed(&with);
            if n > best.0 {
                best = (n, i);
            }
        }
        if best.0 == 0 {
            // No single blocker frees a day: name the most frequent ones.
            let mut counts: BTreeMap<Blocker, usize> = BTreeMap::new();
            for (_, b) in per_day {
                for x in b.iter().filter(|x| all.contains(x)) {
                    *counts.entry(*x).or_default() += 1;
                }
            }
            let mut by_count: Vec<(usize, Blocker)> =
                counts.into_iter().map(|(b, n)| (n, b)).collect();
            by_count.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            chosen.extend(by_count.into_iter().take(2).map(|(_, b)| b));
            break;
        }
        chosen.push(all.remove(best.1));
        if freed(&chosen) as u32 >= need {
            break;
        }
    }
    chosen
}

fn describe(
    prep: &Prepared,
    data: &SeriesData,
    window: &Window,
    blocker: Blocker,
    per_day: &[(NaiveDate, Vec<Blocker>)],
) -> (Text, Vec<Text>) {
    let s = data.series;
    let title = &s.title;
    match blocker {
        Blocker::Person(p) => {
            let person = prep.ix.people.get(&p);
            let name = person.map_or_else(|| format!("#{p}"), |x| x.name.clone());
            let mut ja = Vec::new();
            let mut en = Vec::new();
            if let Some(person) = person {
                for a in person
                    .absences
                    .iter()
                    .filter(|a| a.from <= window.range.to && window.range.from <= a.to)
                {
                    ja.push(format!("{}〜{} 不在", a.from, a.to));
                    en.push(format!("absent {} to {}", a.from, a.to));
                }
                if !person.working_days.is_empty() {
                    let days_ja: Vec<&str> = person
                        .working_days
                        .iter()
                        .map(|d| weekday_ja(*d).trim_end_matches("曜日"))
                        .collect();
                    let days_en: Vec<String> = person
                        .working_days
                        .iter()
                        .map(|d| format!("{d:?}"))
                        .collect();
                    ja.push(format!("勤務日は {} のみ", days_ja.join("・")));
                    en.push(format!("works only {}", days_en.join(", ")));
                }
                if let Some(windows) = &person.available {
                    let days: Vec<NaiveDate> = rules::days(window.range)
                        .filter(|d| windows.iter().any(|w| w.covers_day(*d)))
                        .collect();
                    if days.is_empty() {
                        ja.push(
                            "外部講師・スーパーバイザーとして都合のつく日がこの期間にありません"
                                .to_string(),
                        );
                        en.push("as an external lecturer or supervisor, gave no date they can come in this window".to_string());
                    } else {
                        let shown: Vec<String> =
                            days.iter().take(5).map(|d| d.to_string()).collect();
                        let more = if days.len() > 5 { " …" } else { "" };
                        ja.push(format!("都合のつく日は {}{more} のみ", shown.join("・")));
                        en.push(format!("can come only on {}{more}", shown.join(", ")));
                    }
                }
            }
            let blocked = per_day.iter().filter(|(_, b)| b.contains(&blocker)).count();
            (
                Text::new(
                    format!(
                        "{name}(「{title}」の必須出席者): {}; {} 日出席できません",
                        ja.join("、"),
                        blocked
                    ),
                    format!(
                        "{name} (required at \"{title}\"): {}; unavailable on {blocked} day(s)",
                        en.join("; ")
                    ),
                ),
                if person.is_some_and(|x| x.available.is_some()) {
                    vec![
                        Text::new(
                            format!("{name} に都合のつく日時を追加で伺う"),
                            format!("ask {name} for more dates they can come"),
                        ),
                        Text::new(
                            format!("「{title}」の講師・スーパーバイザーを別の方にする"),
                            format!("choose another lecturer or supervisor for \"{title}\""),
                        ),
                    ]
                } else {
                    vec![Text::new(
                        format!("「{title}」の {name} を任意出席にするか代理出席を認める"),
                        format!("make {name} optional for \"{title}\" or accept a deputy"),
                    )]
                },
            )
        }
        Blocker::LeadTime => {
            let earliest = prep.ix.earliest_date(s);
            let mut rule = Text::new(
                format!(
                    "「{title}」の準備期間 {} 日: {} より前には開催できません",
                    s.lead_days, earliest
                ),
                format!(
                    "lead time of \"{title}\" is {} days: nothing before {}",
                    s.lead_days, earliest
                ),
            );
            // The longest lead time that leaves enough days, other blockers unchanged.
            let mut free: Vec<NaiveDate> = per_day
                .iter()
                .filter(|(_, b)| b == &[Blocker::LeadTime])
                .map(|(d, _)| *d)
                .chain(
                    data.candidates
                        .iter()
                        .filter(|c| window.range.contains(c.date))
                        .map(|c| c.date),
                )
                .collect();
            free.sort_by(|a, b| b.cmp(a));
            let relax = match free.get(window.min.max(1) as usize - 1) {
                Some(d) => {
                    let days = (*d - prep.instance.planning_date).num_days().max(0);
                    vec![Text::new(
                        format!("「{title}」の準備期間を {days} 日に短縮する"),
                        format!("shorten the lead time of \"{title}\" to {days} days"),
                    )]
                }
                None => {
                    rule.ja.push_str("(短縮だけでは足りません)");
                    rule.en.push_str(" (shortening it alone is not enough)");
                    vec![Text::new(
                        format!("「{title}」の準備期間を短縮する"),
                        format!("shorten the lead time of \"{title}\""),
                    )]
                }
            };
            (rule, relax)
        }
        Blocker::NoRoom => {
            let need = rules::invitee_count(s);
            let mut ja = format!("{need} 人以上");
            let mut en = format!("{need} people");
            if s.needs_wheelchair {
                ja.push_str("・車椅子対応");
                en.push_str(", wheelchair access");
            }
            if s.needs_hearing_loop {
                ja.push_str("・ヒアリングループ付き");
                en.push_str(", hearing loop");
            }
            let allowed = if s.rooms.is_empty() {
                ""
            } else {
                "(許可された部屋の中に)"
            };
            let allowed_en = if s.rooms.is_empty() {
                ""
            } else {
                " among the allowed rooms"
            };
            (
                Text::new(
                    format!("「{title}」に使える部屋({ja})がありません{allowed}"),
                    format!("no room for \"{title}\" ({en}){allowed_en}"),
                ),
                vec![Text::new(
                    format!("「{title}」に {ja} の部屋を追加する、または招待者を減らす"),
                    format!("allow a room for \"{title}\" with {en}, or invite fewer people"),
                )],
            )
        }
        Blocker::Month => {
            let months: Vec<String> = s.cadence.months.iter().map(|m| m.to_string()).collect();
            (
                Text::new(
                    format!("「{title}」は {} 月にのみ開催", months.join("・")),
                    format!("\"{title}\" meets only in month(s) {}", months.join(", ")),
                ),
                vec![Text::new(
                    format!("「{title}」の開催月を増やす"),
                    format!("allow more months for \"{title}\""),
                )],
            )
        }
        Blocker::PublishedGap => {
            let gap = s.cadence.min_gap_days.unwrap_or(0);
            (
                Text::new(
                    format!("「{title}」は期間外の公開済みの回から {gap} 日以上空ける必要があります"),
                    format!("\"{title}\" must be {gap} days away from its published meetings outside the period"),
                ),
                vec![Text::new(
                    format!("「{title}」の最小間隔を短くする"),
                    format!("shorten the minimum gap of \"{title}\""),
                )],
            )
        }
        Blocker::StartWindow => {
            let w = s.allowed_start;
            let span = w.map_or_else(String::new, |w| {
                format!("{}-{}", w.from.format("%H:%M"), w.to.format("%H:%M"))
            });
            (
                Text::new(
                    format!("「{title}」の開始可能時間 {span} と所要 {} 分が開館時間に収まりません", s.duration_minutes),
                    format!("\"{title}\": starting {span} for {} minutes does not fit the opening hours", s.duration_minutes),
                ),
                vec![Text::new(
                    format!("「{title}」の開始可能時間を広げる"),
                    format!("widen the allowed start times of \"{title}\""),
                )],
            )
        }
        Blocker::Closed => (
            Text::new(
                "土日・祝日・年末年始・休館日",
                "weekends, holidays, the year-end closure and closed days",
            ),
            Vec::new(),
        ),
    }
}

fn fewer(s: &Series, window: &Window, fit: u32) -> Text {
    Text::new(
        format!("{} の「{}」を {} 回にする", window.label.ja, s.title, fit),
        format!(
            "allow {} meeting(s) in {} for \"{}\"",
            fit, window.label.en, s.title
        ),
    )
}

/// A window whose minimum the elastic model could not meet alongside the other series.
fn crowded_window(prep: &Prepared, data: &SeriesData, window: &Window, missing: u32) -> Conflict {
    let s = data.series;
    let fit = window.min.saturating_sub(missing);
    let mut rules_text = vec![Text::new(
        format!(
            "{}: 「{}」は {} 回以上必要ですが、他の会議と合わせると {} 回しか入りません",
            window.label.ja, s.title, window.min, fit
        ),
        format!(
            "{}: \"{}\" needs at least {} meeting(s); with the other meetings only {} fit",
            window.label.en, s.title, window.min, fit
        ),
    )];
    // The days it could use at all, and who is away on the others.
    let days: Vec<String> = data
        .candidates
        .iter()
        .filter(|c| window.range.contains(c.date))
        .map(|c| c.date.to_string())
        .collect();
    if (1..=5).contains(&days.len()) {
        rules_text.push(Text::new(
            format!("使える日は {} のみ", days.join("、")),
            format!("the only possible day(s): {}", days.join(", ")),
        ));
    }
    let per_day: Vec<(NaiveDate, Vec<Blocker>)> = rules::days(window.range)
        .map(|d| (d, blockers(prep, data, d)))
        .filter(|(_, b)| !b.is_empty())
        .collect();
    let mut absent: Vec<Blocker> = per_day
        .iter()
        .flat_map(|(_, b)| b.iter().copied())
        .filter(|b| matches!(b, Blocker::Person(_)))
        .collect();
    absent.sort();
    absent.dedup();
    for b in absent.into_iter().take(3) {
        rules_text.push(describe(prep, data, window, b, &per_day).0);
    }
    // Who else needs the same people in that window.
    let mut shared: BTreeMap<PersonId, Vec<&str>> = BTreeMap::new();
    for other in &prep.series {
        if other.series.id == s.id
            || !other
                .candidates
                .iter()
                .any(|c| window.range.contains(c.date))
        {
            continue;
        }
        for p in data.required.iter().filter(|p| other.required.contains(p)) {
            shared.entry(*p).or_default().push(&other.series.title);
        }
    }
    for (p, titles) in shared.iter().take(3) {
        let name = prep
            .ix
            .people
            .get(p)
            .map_or_else(|| format!("#{p}"), |x| x.name.clone());
        let list_ja: Vec<String> = titles.iter().take(3).map(|t| format!("「{t}」")).collect();
        let list_en: Vec<String> = titles.iter().take(3).map(|t| format!("\"{t}\"")).collect();
        rules_text.push(Text::new(
            format!("{name} は {} にも必須で出席します", list_ja.join("・")),
            format!("{name} is also required at {}", list_en.join(", ")),
        ));
    }
    let c = &s.cadence;
    if let Some(g) = c.min_gap_days.filter(|g| *g > 1) {
        rules_text.push(Text::new(
            format!("「{}」の開催間隔は {g} 日以上", s.title),
            format!("meetings of \"{}\" at least {g} days apart", s.title),
        ));
    }
    for p in &prep.instance.precedences {
        if p.after == s.id || p.before == s.id {
            rules_text.push(precedence_rule(prep, p));
        }
    }
    let mut relaxations = vec![fewer(s, window, fit)];
    for (p, _) in shared.iter().take(2) {
        let name = prep
            .ix
            .people
            .get(p)
            .map_or_else(|| format!("#{p}"), |x| x.name.clone());
        relaxations.push(Text::new(
            format!(
                "「{}」の {name} を任意出席にするか代理出席を認める",
                s.title
            ),
            format!(
                "make {name} optional for \"{}\" or accept a deputy",
                s.title
            ),
        ));
    }
    Conflict {
        rules: rules_text,
        relaxations,
    }
}

fn precedence_rule(prep: &Prepared, p: &Precedence) -> Text {
    let title = |id: SeriesId| {
        prep.ix
            .series
            .get(&id)
            .map_or_else(|| format!("#{id}"), |s| s.title.clone())
    };
    let (before, after) = (title(p.before), title(p.after));
    Text::new(
        format!(
            "「{after}」の各回の {}〜{} 日前に「{before}」が必要",
            p.min_days, p.max_days
        ),
        format!(
            "every \"{after}\" needs a \"{before}\" {} to {} days earlier",
            p.min_days, p.max_days
        ),
    )
}

fn precedence_conflict(prep: &Prepared, precedence: usize, dates: &[NaiveDate]) -> Conflict {
    let p = &prep.instance.precedences[precedence];
    let mut rule = precedence_rule(prep, p);
    let list: Vec<String> = dates.iter().map(|d| d.to_string()).collect();
    rule.ja
        .push_str(&format!("({} の回に間に合いません)", list.join("、")));
    rule.en
        .push_str(&format!(" (none in time for {})", list.join(", ")));
    let before = prep
        .ix
        .series
        .get(&p.before)
        .map_or("", |s| s.title.as_str());
    let after = prep
        .ix
        .series
        .get(&p.after)
        .map_or("", |s| s.title.as_str());
    Conflict {
        rules: vec![rule],
        relaxations: vec![
            Text::new(
                format!(
                    "「{before}」から「{after}」までの日数の幅を広げる(現在 {}〜{} 日)",
                    p.min_days, p.max_days
                ),
                format!(
                    "widen the days allowed between \"{before}\" and \"{after}\" (now {} to {})",
                    p.min_days, p.max_days
                ),
            ),
            Text::new(
                format!("「{before}」→「{after}」の前後関係を外す"),
                format!("drop the rule that \"{before}\" precedes \"{after}\""),
            ),
        ],
    }
}

/// Pins that cannot be kept whatever else happens.
fn pin_conflicts(prep: &Prepared) -> Vec<Conflict> {
    let mut out = Vec::new();
    let mut per_window: BTreeMap<(usize, usize), u32> = BTreeMap::new();
    let mut full: Vec<usize> = Vec::new();
    for (i, p) in prep.published.iter().enumerate() {
        let Some(s) = p.series.filter(|_| p.pin != Pin::None) else {
            continue;
        };
        let data = &prep.series[s];
        let o = &prep.instance.published[p.index].occurrence;
        let Some(c) = p.candidate else {
            let reasons = blockers(prep, data, o.date)
                .into_iter()
                .map(|b| {
                    let window = data
                        .windows
                        .iter()
                        .find(|w| w.range.contains(o.date))
                        .cloned()
                        .unwrap_or_else(|| day_window(o.date));
                    describe(prep, data, &window, b, &[(o.date, vec![b])]).0
                })
                .collect();
            out.push(unkeepable_pin(prep, i, reasons));
            continue;
        };
        *per_window
            .entry((s, data.candidates[c].window))
            .or_default() += 1;
        if p.pin == Pin::Full {
            let cand = &data.candidates[c];
            let fits = cand.rooms.iter().any(|&r| {
                data.rooms[r].id == o.room
                    && data
                        .starts(&prep.ix, r, o.date)
                        .contains(&rules::minutes(o.start))
            });
            if fits {
                full.push(i);
            } else {
                let reason = Text::new(
                    format!("部屋 {} の {} 開始は使えません(部屋の条件・開館時間・開始可能時間)", room_name(prep, o.room), o.start.format("%H:%M")),
                    format!("room {} at {} is not possible (room needs, opening hours or allowed start)", room_name(prep, o.room), o.start.format("%H:%M")),
                );
                out.push(unkeepable_pin(prep, i, vec![reason]));
            }
        }
    }
    for ((s, w), pins) in per_window {
        let data = &prep.series[s];
        let window = &data.windows[w];
        if pins > window.max {
            out.push(Conflict {
                rules: vec![Text::new(
                    format!(
                        "{}: 「{}」は最大 {} 回ですが、固定された回が {pins} 回あります",
                        window.label.ja, data.series.title, window.max
                    ),
                    format!(
                        "{}: \"{}\" allows at most {} meeting(s) but {pins} are pinned",
                        window.label.en, data.series.title, window.max
                    ),
                )],
                relaxations: vec![Text::new(
                    format!(
                        "{} の「{}」の固定をいくつか外す",
                        window.label.ja, data.series.title
                    ),
                    format!(
                        "drop some pins of \"{}\" in {}",
                        data.series.title, window.label.en
                    ),
                )],
            });
        }
    }
    // Fully pinned meetings that collide with each other.
    for (k, &a) in full.iter().enumerate() {
        for &b in &full[k + 1..] {
            if let Some(reason) = pins_collide(prep, a, b) {
                let mut c = unkeepable_pin(prep, a, vec![reason]);
                c.relaxations
                    .extend(unkeepable_pin(prep, b, Vec::new()).relaxations);
                out.push(c);
            }
        }
    }
    out
}

fn day_window(date: NaiveDate) -> Window {
    Window {
        range: DateRange {
            from: date,
            to: date,
        },
        min: 0,
        max: 0,
        label: Text::new(date.to_string(), date.to_string()),
    }
}

fn room_name(prep: &Prepared, room: RoomId) -> String {
    prep.ix
        .rooms
        .get(&room)
        .map_or_else(|| format!("#{room}"), |r| r.name.clone())
}

/// Why two fully pinned occurrences cannot both be kept, if they cannot.
fn pins_collide(prep: &Prepared, a: usize, b: usize) -> Option<Text> {
    let oa = &prep.instance.published[prep.published[a].index].occurrence;
    let ob = &prep.instance.published[prep.published[b].index].occurrence;
    if oa.date != ob.date {
        return None;
    }
    let (sa, sb) = (prep.published[a].series?, prep.published[b].series?);
    let venue = |room: RoomId| prep.ix.rooms.get(&room).map_or(0, |r| r.venue);
    let (va, vb) = (venue(oa.room), venue(ob.room));
    let overlap = oa.start < ob.end && ob.start < oa.end;
    if oa.room == ob.room && overlap {
        return Some(Text::new(
            format!("同じ部屋 {} で時間が重なります", room_name(prep, oa.room)),
            format!(
                "both use room {} at overlapping times",
                room_name(prep, oa.room)
            ),
        ));
    }
    let apart = oa.end + Duration::minutes(i64::from(prep.ix.travel_minutes(va, vb))) <= ob.start
        || ob.end + Duration::minutes(i64::from(prep.ix.travel_minutes(vb, va))) <= oa.start;
    let shared = prep.series[sa]
        .required
        .iter()
        .find(|p| prep.series[sb].required.contains(p));
    match shared {
        Some(p) if !apart => {
            let name = prep
                .ix
                .people
                .get(p)
                .map_or_else(|| format!("#{p}"), |x| x.name.clone());
            Some(Text::new(
                format!("{name} が両方に必須出席で、時間(移動時間を含む)が重なります"),
                format!("{name} is required at both and they overlap (travel included)"),
            ))
        }
        _ => None,
    }
}

fn unkeepable_pin(prep: &Prepared, published: usize, reasons: Vec<Text>) -> Conflict {
    let p = &prep.published[published];
    let o = &prep.instance.published[p.index].occurrence;
    let title = prep
        .ix
        .series
        .get(&o.series)
        .map_or_else(|| format!("#{}", o.series), |s| s.title.clone());
    let (kind_ja, kind_en) = match p.pin {
        Pin::Full => ("日時・部屋を固定", "pinned (date, time and room)"),
        _ => ("日付を固定", "pinned to its date"),
    };
    let when = format!(
        "{} ({}) {}",
        o.date,
        weekday_short(o.date.weekday()),
        o.start.format("%H:%M")
    );
    let mut rules_text = vec![Text::new(
        format!("{kind_ja}した「{title}」{when} を守れません"),
        format!("\"{title}\" {kind_en} on {when} cannot be kept"),
    )];
    rules_text.extend(reasons);
    Conflict {
        rules: rules_text,
        relaxations: vec![Text::new(
            format!("「{title}」{} の固定を外す", o.date),
            format!("drop the pin of \"{title}\" on {}", o.date),
        )],
    }
}

fn weekday_short(d: Weekday) -> &'static str {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d.num_days_from_monday() as usize]
}
