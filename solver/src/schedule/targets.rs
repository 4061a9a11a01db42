//! Count targets (目標回数): the municipality's indicators as rules of the plan. A
//! [`Target`] asks for at least `min` occurrences of a set of series inside the period; it is
//! soft (each missing occurrence costs `Weights::target_shortfall`), so a plan meets every
//! target it can, and for one it cannot meet says which and why: the series cannot meet that
//! often at all (cadence maxima, possible days, gaps), or the hard rules leave no room.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};

use super::model::*;
use super::rules::{windows, Index};

/// The distinct series of `target` that exist in the instance, in the target's order.
fn target_series<'a>(ix: &Index<'a>, target: &Target) -> Vec<&'a Series> {
    let mut seen = BTreeSet::new();
    target
        .series
        .iter()
        .filter(|id| seen.insert(**id))
        .filter_map(|id| ix.series.get(id).copied())
        .collect()
}

/// Occurrences of the target's series inside the period (unknown series ignored).
pub fn planned(instance: &Instance, target: &Target, occurrences: &[Occurrence]) -> u32 {
    let ids: BTreeSet<SeriesId> = target
        .series
        .iter()
        .copied()
        .filter(|id| instance.series.iter().any(|s| s.id == *id))
        .collect();
    occurrences
        .iter()
        .filter(|o| ids.contains(&o.series) && instance.period.contains(o.date))
        .count() as u32
}

/// Missing occurrences of `target` in a plan: `min - planned`, or 0.
pub fn shortfall(instance: &Instance, target: &Target, occurrences: &[Occurrence]) -> u32 {
    target
        .min
        .saturating_sub(planned(instance, target, occurrences))
}

/// What the plan reaches per target (in the instance's order), with the reason for each
/// target it misses.
pub fn outcomes(instance: &Instance, occurrences: &[Occurrence]) -> Vec<TargetOutcome> {
    if instance.targets.is_empty() {
        return Vec::new();
    }
    let ix = Index::new(instance);
    instance
        .targets
        .iter()
        .map(|t| {
            let planned = planned(instance, t, occurrences);
            let met = planned >= t.min;
            let reason = (!met).then(|| reason(&ix, t, planned));
            TargetOutcome {
                name: t.name.clone(),
                min: t.min,
                planned,
                met,
                reason,
            }
        })
        .collect()
}

fn reason(ix: &Index, t: &Target, planned: u32) -> Text {
    let (name, min) = (&t.name, t.min);
    let per_series: Vec<(&Series, u32)> = target_series(ix, t)
        .into_iter()
        .map(|s| (s, series_upper_bound(ix, s)))
        .collect();
    let bound: u32 = per_series.iter().map(|(_, n)| n).sum();
    if bound < min {
        let (ja, en) = if per_series.is_empty() {
            (
                "対象のシリーズがありません".to_string(),
                "no series of the target is in the instance".to_string(),
            )
        } else {
            (
                per_series
                    .iter()
                    .map(|(s, n)| format!("「{}」最大 {n} 回", s.title))
                    .collect::<Vec<_>>()
                    .join("、"),
                per_series
                    .iter()
                    .map(|(s, n)| format!("\"{}\" at most {n}", s.title))
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        };
        // A rule that fixes the months (the plenary in May, October and February) is not to
        // be broken to reach a count: say so instead of advising a higher maximum.
        let fixed: Vec<&Series> = per_series
            .iter()
            .map(|(s, _)| *s)
            .filter(|s| !s.cadence.months.is_empty())
            .collect();
        let months = |s: &Series| {
            s.cadence
                .months
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
        };
        let (advice_ja, advice_en) = if !fixed.is_empty() && fixed.len() == per_series.len() {
            (
                format!(
                    "開催月が決まっているため（{}）、この期間にはこれ以上開けません。残りは他の期間で開かれます",
                    fixed
                        .iter()
                        .map(|s| format!("「{}」{}月", s.title, months(s).join("・")))
                        .collect::<Vec<_>>()
                        .join("、")
                ),
                format!(
                    "the series meet only in their fixed months ({}), so this period allows no more; the rest falls in other periods",
                    fixed
                        .iter()
                        .map(|s| format!("\"{}\" months {}", s.title, months(s).join(", ")))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )
        } else if !fixed.is_empty() {
            (
                "開催月が決まっていないシリーズの周期の最大回数を増やすか、シリーズを追加してください（開催月の決まったシリーズはその月のみ）".to_string(),
                "raise the cadence maximum of a series without fixed months or add a series (series with fixed months meet only then)".to_string(),
            )
        } else {
            (
                "周期の最大回数を増やすか、シリーズを追加してください".to_string(),
                "raise the cadence maximum or add a series".to_string(),
            )
        };
        Text::new(
            format!(
                "{}：対象のシリーズは周期の上限と開催可能日から最大 {bound} 回で、目標 {min} 回に届きません（{ja}）。{advice_ja}",
                name.ja
            ),
            format!(
                "{}: the series can meet at most {bound} times (cadence maxima and possible days), short of the target {min} ({en}); {advice_en}",
                name.en
            ),
        )
    } else {
        Text::new(
            format!(
                "{}：計画は {planned} 回で目標 {min} 回に届きません。出席者の都合・会場・間隔などの必須条件が妨げています",
                name.ja
            ),
            format!(
                "{}: the plan reaches {planned} of {min}; the hard rules (attendees' availability, rooms, gaps) leave no room for more",
                name.en
            ),
        )
    }
}

/// The most occurrences the target's series could have in the period, each series alone
/// (other meetings, precedences and pins ignored): never below what any plan reaches.
pub fn upper_bound(instance: &Instance, target: &Target) -> u32 {
    let ix = Index::new(instance);
    target_series(&ix, target)
        .into_iter()
        .map(|s| series_upper_bound(&ix, s))
        .sum()
}

/// The most occurrences series `s` could have in the period, alone: per cadence window at
/// most its (scaled) maximum and at most the days it could meet on that lie at least
/// `min_gap_days` apart; over the period at most such days overall. Meetings are at most one
/// a day per series, as the planner places them.
pub fn series_upper_bound(ix: &Index, s: &Series) -> u32 {
    let mut possible: BTreeSet<NaiveDate> = BTreeSet::new();
    for room in ix.suitable_rooms(s) {
        possible.extend(ix.candidate_days(s, room));
    }
    let gap = s.cadence.min_gap_days.unwrap_or(0);
    let mut all: Vec<NaiveDate> = Vec::new();
    let mut per_window = 0;
    for w in windows(ix, s) {
        let days: Vec<NaiveDate> = possible.range(w.range.from..=w.range.to).copied().collect();
        per_window += w.max.min(spaced(&days, gap));
        all.extend(days);
    }
    per_window.min(spaced(&all, gap))
}

/// The most of the sorted `days` that lie pairwise at least `gap` days apart (earliest
/// first is optimal on a line).
fn spaced(days: &[NaiveDate], gap: u32) -> u32 {
    if gap <= 1 {
        return days.len() as u32;
    }
    let gap = Duration::days(i64::from(gap));
    let mut last: Option<NaiveDate> = None;
    let mut n = 0;
    for d in days {
        if last.is_none_or(|l| *d >= l + gap) {
            last = Some(*d);
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// One venue and room, Q1 of FY2026, series `ids` meeting per month `min`-`max` times.
    fn instance(ids: &[SeriesId], min: u32, max: u32) -> Instance {
        let mut instance = crate::schedule::rules::tests::instance((d(2026, 4, 1), d(2026, 6, 30)));
        instance.series = ids
            .iter()
            .map(|id| Series {
                id: *id,
                title: format!("部会{id}"),
                kind: MeetingKind::Subcommittee,
                duration_minutes: 90,
                ..crate::schedule::rules::tests::series(CadencePeriod::Month, min, max, vec![])
            })
            .collect();
        instance
    }

    fn target(series: &[SeriesId], min: u32) -> Target {
        Target {
            name: Text::new("専門部会の開催", "subcommittee meetings"),
            series: series.to_vec(),
            min,
        }
    }

    fn occ(series: SeriesId, date: NaiveDate) -> Occurrence {
        let start = NaiveTime::from_hms_opt(10, 0, 0).unwrap();
        Occurrence {
            series,
            index: 0,
            date,
            start,
            end: start + Duration::minutes(90),
            room: 1,
            attendees: vec![],
        }
    }

    #[test]
    fn a_target_met_by_the_cadence_minimums() {
        let mut inst = instance(&[1, 2], 1, 1);
        inst.targets = vec![target(&[1, 2], 6)];
        let occurrences: Vec<Occurrence> = [1, 2]
            .iter()
            .flat_map(|s| [4, 5, 6].map(|m| occ(*s, d(2026, m, 10 + *s))))
            .collect();
        let out = outcomes(&inst, &occurrences);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].planned, out[0].met), (6, true));
        assert_eq!(out[0].reason, None);
        assert_eq!(upper_bound(&inst, &inst.targets[0]), 6);
    }

    #[test]
    fn a_target_above_the_cadence_maxima_names_the_bound() {
        let mut inst = instance(&[1, 2], 0, 1);
        inst.targets = vec![target(&[1, 2], 8)];
        assert_eq!(upper_bound(&inst, &inst.targets[0]), 6);
        let out = outcomes(&inst, &[occ(1, d(2026, 4, 10))]);
        assert!(!out[0].met);
        let reason = out[0].reason.as_ref().unwrap();
        assert!(reason.ja.contains("最大 6 回"), "{}", reason.ja);
        assert!(reason.ja.contains("「部会1」最大 3 回"), "{}", reason.ja);
        assert!(reason.en.contains("at most 6 times"), "{}", reason.en);
        assert!(reason.en.contains("target 8"), "{}", reason.en);
    }

    #[test]
    fn a_reachable_target_missed_blames_the_hard_rules() {
        let mut inst = instance(&[1], 0, 2);
        inst.targets = vec![target(&[1], 4)];
        let out = outcomes(&inst, &[occ(1, d(2026, 4, 10))]);
        let reason = out[0].reason.as_ref().unwrap();
        assert!(reason.en.contains("reaches 1 of 4"), "{}", reason.en);
    }

    #[test]
    fn unknown_series_and_duplicates_are_ignored() {
        let mut inst = instance(&[1], 0, 1);
        inst.targets = vec![target(&[1, 1, 99], 3)];
        assert_eq!(upper_bound(&inst, &inst.targets[0]), 3);
        let occurrences = [occ(1, d(2026, 4, 10)), occ(99, d(2026, 4, 13))];
        let out = outcomes(&inst, &occurrences);
        assert_eq!(out[0].planned, 1);
        // Outside the period does not count.
        let out = outcomes(&inst, &[occ(1, d(2026, 7, 10))]);
        assert_eq!(out[0].planned, 0);
    }

    #[test]
    fn a_fixed_month_rule_is_never_advised_away() {
        // The plenary meets in May, October and February: a Q1 target of 2 cannot be met,
        // and the reason says why instead of advising a higher maximum.
        let mut inst = instance(&[1], 1, 1);
        inst.series[0].cadence.months = vec![5, 10, 2];
        inst.targets = vec![target(&[1], 2)];
        let out = outcomes(&inst, &[occ(1, d(2026, 5, 12))]);
        let reason = out[0].reason.as_ref().expect("missed");
        assert!(!out[0].met);
        assert!(reason.en.contains("fixed months"), "{}", reason.en);
        assert!(!reason.en.contains("raise"), "{}", reason.en);
        assert!(reason.ja.contains("開催月が決まっている"), "{}", reason.ja);
        assert!(!reason.ja.contains("増やす"), "{}", reason.ja);
    }

    #[test]
    fn minimum_gaps_cap_the_bound() {
        let mut inst = instance(&[1], 0, 100);
        inst.series[0].cadence.per = CadencePeriod::Period;
        inst.series[0].cadence.min_gap_days = Some(30);
        let t = target(&[1], 10);
        // 91 days, at least 30 apart: Apr 1, May 1, Jun 1 (all open weekdays in 2026).
        assert_eq!(upper_bound(&inst, &t), 3);
        inst.series[0].cadence.min_gap_days = None;
        // Every open weekday of the quarter.
        let ix = Index::new(&inst);
        let open = crate::schedule::rules::days(inst.period)
            .filter(|d| ix.venue_hours_on(1, *d).is_some())
            .count() as u32;
        assert_eq!(upper_bound(&inst, &t), open);
    }
}
