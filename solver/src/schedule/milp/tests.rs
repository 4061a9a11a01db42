//! The planner on small hand-made instances (each checked by the independent validator),
//! and a timing run on the generated benchmark sizes.

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};

use super::*;
use crate::schedule::generate::{instance, Size};
use crate::schedule::score::soft_cost;
use crate::schedule::validate::validate;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn person(id: PersonId, name: &str) -> Person {
    Person {
        id,
        name: name.into(),
        organisation: None,
        working_days: vec![],
        absences: vec![],
        hours: None,
        max_meetings_per_day: None,
        max_minutes_per_day: None,
        available: None,
    }
}

fn room(id: RoomId, venue: VenueId, name: &str, capacity: u32) -> Room {
    Room {
        id,
        venue,
        name: name.into(),
        capacity,
        wheelchair: true,
        hearing_loop: false,
    }
}

/// A center with two venues (30 minutes apart) and six staff.
fn center(from: NaiveDate, to: NaiveDate) -> Instance {
    let names = [
        "山田 太郎",
        "佐藤 花子",
        "鈴木 一郎",
        "高橋 美穂",
        "田中 誠",
        "伊藤 恵",
    ];
    Instance {
        name: "test".into(),
        period: DateRange { from, to },
        planning_date: from,
        grain_minutes: 30,
        closures: vec![],
        people: names
            .iter()
            .enumerate()
            .map(|(i, n)| person(i as PersonId + 1, n))
            .collect(),
        organisations: vec![],
        venues: vec![
            Venue {
                id: 1,
                name: "基幹相談支援センター".into(),
                hours: Default::default(),
                closures: vec![],
            },
            Venue {
                id: 2,
                name: "総合福祉センター".into(),
                hours: Default::default(),
                closures: vec![],
            },
        ],
        rooms: vec![
            room(1, 1, "会議室", 12),
            room(2, 1, "相談室", 6),
            room(3, 2, "研修室", 40),
        ],
        travel: vec![],
        default_travel_minutes: 30,
        series: vec![],
        precedences: vec![],
        published: vec![],
        held_by_others: Vec::new(),
        targets: vec![],
        weights: Weights::default(),
        time_limit_seconds: 20.0,
    }
}

fn series(id: SeriesId, title: &str, per: CadencePeriod, n: u32, required: &[PersonId]) -> Series {
    Series {
        id,
        title: title.into(),
        kind: MeetingKind::Other,
        duration_minutes: 90,
        required: required.to_vec(),
        optional: vec![],
        external_attendees: 0,
        needs_wheelchair: false,
        needs_hearing_loop: false,
        rooms: vec![],
        cadence: Cadence {
            per,
            min: n,
            max: n,
            months: vec![],
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

fn q1() -> Instance {
    center(d(2026, 4, 1), d(2026, 6, 30))
}

fn fy2026() -> Instance {
    center(d(2026, 4, 1), d(2027, 3, 31))
}

/// Plans `inst`, and checks the plan with the independent validator and the objective
/// against the shared soft-goal ruler.
fn solve(inst: &Instance) -> Plan {
    let plan = plan(inst).unwrap_or_else(|e| panic!("{e}"));
    let violations = validate(inst, &plan.occurrences);
    assert!(violations.is_empty(), "{violations:#?}");
    let cost = soft_cost(inst, &plan.occurrences);
    assert!(
        (plan.objective - cost.total).abs() < 1e-6,
        "{} vs {cost:?}",
        plan.objective
    );
    assert!(plan.bound <= plan.objective + 1e-9 && plan.gap >= 0.0);
    plan
}

fn of(plan: &Plan, series: SeriesId) -> Vec<&Occurrence> {
    plan.occurrences
        .iter()
        .filter(|o| o.series == series)
        .collect()
}

#[test]
fn a_small_quarter_is_planned_optimally_and_obeys_the_rules() {
    let mut inst = q1();
    let mut liaison = series(1, "地域支援員会議", CadencePeriod::Month, 1, &[1, 2]);
    liaison.optional = vec![5];
    let mut network = series(
        2,
        "北区障がい福祉ネットワーク会議",
        CadencePeriod::Quarter,
        1,
        &[2, 3],
    );
    network.duration_minutes = 120;
    network.preferred_weekdays = vec![Weekday::Wed];
    network.preferred_start = Some(TimeWindow {
        from: t(13, 30),
        to: t(15, 0),
    });
    inst.series = vec![liaison, network];
    let plan = solve(&inst);
    assert_eq!(plan.status, SolveStatus::Optimal, "{plan:?}");
    assert!(plan.gap <= 1e-4);
    let months: Vec<u32> = of(&plan, 1).iter().map(|o| o.date.month()).collect();
    assert_eq!(months, [4, 5, 6]);
    let network = of(&plan, 2);
    assert_eq!(network.len(), 1);
    assert_eq!(network[0].date.weekday(), Weekday::Wed);
    assert!((t(13, 30)..t(15, 0)).contains(&network[0].start));
    for o in &plan.occurrences {
        assert!(o.date.weekday().num_days_from_monday() < 5, "{o:?}");
        assert!(o.start >= t(8, 30) && o.end <= t(17, 30), "{o:?}");
    }
    // The optional invitee is free, so she is listed.
    assert!(of(&plan, 1).iter().all(|o| o.attendees.contains(&5)));
    assert_eq!(
        plan.occurrences
            .iter()
            .map(|o| o.index)
            .collect::<Vec<_>>()
            .len(),
        4
    );
}

#[test]
fn a_fiscal_year_with_monthly_quarterly_and_plenary_series() {
    let mut inst = fy2026();
    let sub = series(1, "専門部会(相談支援)", CadencePeriod::Month, 1, &[1, 4]);
    let ward = series(
        2,
        "北区障がい福祉ネットワーク会議",
        CadencePeriod::Quarter,
        1,
        &[2, 3],
    );
    let mut plenary = series(
        3,
        "自立支援協議会 本会議",
        CadencePeriod::Month,
        1,
        &[1, 2, 3],
    );
    plenary.cadence.months = vec![5, 10, 2];
    plenary.duration_minutes = 120;
    plenary.rooms = vec![3];
    inst.series = vec![sub, ward, plenary];
    inst.precedences = vec![Precedence {
        before: 1,
        after: 3,
        min_days: 7,
        max_days: 60,
    }];
    let plan = solve(&inst);
    assert_eq!(of(&plan, 1).len(), 12);
    let months: std::collections::BTreeSet<u32> =
        of(&plan, 1).iter().map(|o| o.date.month()).collect();
    assert_eq!(months.len(), 12);
    let quarters: Vec<u32> = of(&plan, 2)
        .iter()
        .map(|o| (o.date.month() + 8) % 12 / 3)
        .collect();
    assert_eq!(quarters, [0, 1, 2, 3]);
    let plenary_months: Vec<u32> = of(&plan, 3).iter().map(|o| o.date.month()).collect();
    assert_eq!(plenary_months, [5, 10, 2]);
    for p in of(&plan, 3) {
        assert!(of(&plan, 1)
            .iter()
            .any(|s| (7..=60).contains(&(p.date - s.date).num_days())));
        assert_eq!(p.room, 3);
    }
}

#[test]
fn two_series_sharing_a_person_are_never_double_booked() {
    let mut inst = q1();
    // Both want Wednesday mornings at 10:00 in April; 佐藤 (2) is in both. The second is
    // only allowed at 10:00, so at most one fits a Wednesday morning at a time.
    let mut a = series(1, "運営会議", CadencePeriod::Month, 1, &[1, 2]);
    let mut b = series(2, "GSV研修", CadencePeriod::Month, 1, &[2, 3]);
    for s in [&mut a, &mut b] {
        s.cadence.months = vec![4];
        s.preferred_weekdays = vec![Weekday::Wed];
        s.preferred_start = Some(TimeWindow {
            from: t(10, 0),
            to: t(10, 30),
        });
        s.allowed_start = Some(TimeWindow {
            from: t(9, 0),
            to: t(12, 0),
        });
    }
    inst.series = vec![a, b];
    let plan = solve(&inst);
    let (a, b) = (of(&plan, 1)[0], of(&plan, 2)[0]);
    assert!(
        a.date != b.date || a.end <= b.start || b.end <= a.start,
        "{a:?} {b:?}"
    );
    // Each gets its preferred Wednesday 10:00 (different Wednesdays).
    assert_eq!(plan.objective, soft_cost(&inst, &plan.occurrences).total);
    assert_eq!((a.start, b.start), (t(10, 0), t(10, 0)));
}

#[test]
fn back_to_back_meetings_leave_time_to_travel() {
    let mut inst = q1();
    inst.period.to = d(2026, 4, 30);
    inst.venues.push(Venue {
        id: 3,
        name: "北区役所".into(),
        hours: Default::default(),
        closures: vec![],
    });
    inst.rooms.push(room(4, 3, "会議室", 20));
    // Three meetings of 山田 in April, each at its own venue; he can only come on 04-15.
    inst.series = [(1, 1), (2, 3), (3, 4)]
        .into_iter()
        .map(|(id, room)| {
            let mut s = series(id, &format!("会議{id}"), CadencePeriod::Month, 1, &[1]);
            s.duration_minutes = 170;
            s.rooms = vec![room];
            s
        })
        .collect();
    inst.people[0].absences = vec![
        DateRange {
            from: d(2026, 4, 1),
            to: d(2026, 4, 14),
        },
        DateRange {
            from: d(2026, 4, 16),
            to: d(2026, 4, 30),
        },
    ];
    // 3 x 170 minutes fit in 08:30-17:30, but not with two 30-minute trips between them.
    match plan(&inst) {
        Err(PlanError::Infeasible(inf)) => {
            let text = format!("{inf:?}");
            assert!(text.contains("山田 太郎"), "{text}");
        }
        other => panic!("expected infeasible, got {other:?}"),
    }
    // Shorter meetings fit, with time to travel between the venues.
    for s in &mut inst.series {
        s.duration_minutes = 150;
    }
    let plan = solve(&inst);
    let mut day: Vec<&Occurrence> = plan.occurrences.iter().collect();
    day.sort_by_key(|o| o.start);
    assert_eq!(day.len(), 3);
    for pair in day.windows(2) {
        assert!(
            pair[0].end + chrono::Duration::minutes(30) <= pair[1].start,
            "{day:?}"
        );
    }
}

#[test]
fn preferred_weekdays_are_honoured_when_possible() {
    let mut inst = q1();
    let mut s = series(
        1,
        "相談支援機能強化員連絡会議",
        CadencePeriod::Month,
        1,
        &[1, 2, 3],
    );
    s.preferred_weekdays = vec![Weekday::Thu];
    inst.series = vec![s];
    let plan = solve(&inst);
    assert_eq!(plan.occurrences.len(), 3);
    assert!(plan
        .occurrences
        .iter()
        .all(|o| o.date.weekday() == Weekday::Thu));
    // 高橋 works Mondays only: then Thursday is impossible and the plan says so in its cost.
    inst.people[0].working_days = vec![Weekday::Mon];
    let plan = solve(&inst);
    assert!(plan
        .occurrences
        .iter()
        .all(|o| o.date.weekday() == Weekday::Mon));
    assert_eq!(soft_cost(&inst, &plan.occurrences).weekday, 3.0 * 3.0);
}

#[test]
fn pinned_occurrences_are_kept() {
    let mut inst = q1();
    let mut s = series(1, "運営会議", CadencePeriod::Month, 1, &[1, 2]);
    s.preferred_weekdays = vec![Weekday::Wed];
    inst.series = vec![s];
    // Pinned on a Tuesday afternoon in the small room, against the preference.
    let pinned = Occurrence {
        series: 1,
        index: 0,
        date: d(2026, 4, 7),
        start: t(15, 0),
        end: t(16, 30),
        room: 2,
        attendees: vec![1, 2],
    };
    // Only the date of the June meeting is pinned (a Friday).
    let dated = Occurrence {
        date: d(2026, 6, 5),
        start: t(9, 0),
        end: t(10, 30),
        index: 2,
        ..pinned.clone()
    };
    inst.published = vec![
        PublishedOccurrence {
            occurrence: pinned.clone(),
            pin: Pin::Full,
        },
        PublishedOccurrence {
            occurrence: dated.clone(),
            pin: Pin::Date,
        },
    ];
    let plan = solve(&inst);
    let kept = of(&plan, 1);
    assert_eq!(kept.len(), 3);
    assert_eq!(
        (kept[0].date, kept[0].start, kept[0].room),
        (pinned.date, pinned.start, pinned.room)
    );
    assert_eq!(kept[2].date, dated.date);
    assert_eq!(kept[1].date.weekday(), Weekday::Wed);
}

#[test]
fn a_required_person_absent_all_quarter_is_explained() {
    let mut inst = center(d(2026, 10, 1), d(2026, 12, 31));
    inst.series = vec![
        series(
            1,
            "北区障がい福祉ネットワーク会議",
            CadencePeriod::Quarter,
            1,
            &[2, 3],
        ),
        series(2, "地域支援員会議", CadencePeriod::Month, 1, &[1]),
    ];
    inst.people[2].absences = vec![DateRange {
        from: d(2026, 9, 20),
        to: d(2027, 1, 10),
    }];
    let Err(PlanError::Infeasible(inf)) = plan(&inst) else {
        panic!("expected an explanation");
    };
    assert_eq!(inf.conflicts.len(), 1, "{inf:#?}");
    let c = &inf.conflicts[0];
    let rules_ja: String = c.rules.iter().map(|r| r.ja.as_str()).collect();
    let rules_en: String = c.rules.iter().map(|r| r.en.as_str()).collect();
    for text in [&rules_ja, &rules_en] {
        assert!(text.contains("北区障がい福祉ネットワーク会議"), "{text}");
        assert!(text.contains("鈴木 一郎"), "{text}");
        assert!(text.contains("2026-09-20"), "{text}");
    }
    assert!(rules_en.contains("FY2026 Q3"), "{rules_en}");
    let relax: Vec<&str> = c.relaxations.iter().map(|r| r.en.as_str()).collect();
    assert!(
        relax
            .iter()
            .any(|r| r.contains("鈴木 一郎") && r.contains("deputy")),
        "{relax:?}"
    );
    assert!(
        relax
            .iter()
            .any(|r| r.contains("allow 0 meeting(s) in FY2026 Q3")),
        "{relax:?}"
    );
}

#[test]
fn rules_that_only_clash_together_get_an_elastic_explanation() {
    let mut inst = q1();
    inst.period.to = d(2026, 4, 30);
    // 山田 can only come on 2026-04-15, and both monthly meetings need him all morning.
    let mut a = series(1, "運営会議", CadencePeriod::Month, 1, &[1, 2]);
    let mut b = series(2, "専門部会(子ども)", CadencePeriod::Month, 1, &[1, 3]);
    for s in [&mut a, &mut b] {
        s.duration_minutes = 180;
        s.allowed_start = Some(TimeWindow {
            from: t(9, 0),
            to: t(9, 30),
        });
    }
    inst.series = vec![a, b];
    inst.people[0].absences = vec![
        DateRange {
            from: d(2026, 4, 1),
            to: d(2026, 4, 14),
        },
        DateRange {
            from: d(2026, 4, 16),
            to: d(2026, 4, 30),
        },
    ];
    let Err(PlanError::Infeasible(inf)) = plan(&inst) else {
        panic!("expected an explanation");
    };
    let all: String = inf
        .conflicts
        .iter()
        .flat_map(|c| c.rules.iter().chain(&c.relaxations))
        .map(|t| format!("{} / {}\n", t.ja, t.en))
        .collect();
    assert!(all.contains("with the other meetings only 0 fit"), "{all}");
    assert!(all.contains("山田 太郎 is also required at"), "{all}");
    assert!(all.contains("allow 0 meeting(s) in Apr 2026"), "{all}");
}

#[test]
fn repair_moves_only_the_occurrence_an_absence_hits() {
    let mut inst = q1();
    let mut a = series(1, "運営会議", CadencePeriod::Month, 1, &[1, 2]);
    a.optional = vec![6];
    a.preferred_weekdays = vec![Weekday::Wed];
    let b = series(2, "地域支援員会議", CadencePeriod::Month, 1, &[3, 4]);
    let c = series(
        3,
        "北区障がい福祉ネットワーク会議",
        CadencePeriod::Quarter,
        1,
        &[2, 5],
    );
    inst.series = vec![a, b, c];
    let first = solve(&inst);
    inst.published = first
        .occurrences
        .iter()
        .map(|o| PublishedOccurrence {
            occurrence: o.clone(),
            pin: Pin::None,
        })
        .collect();
    let before = solve(&inst);
    assert!(before.changes.is_empty(), "{:?}", before.changes);
    assert_eq!(before.occurrences, first.occurrences);
    // 佐藤 (2) now cannot come on the day of the May 運営会議.
    let hit = of(&first, 1)[1].clone();
    inst.people[1].absences = vec![DateRange {
        from: hit.date,
        to: hit.date,
    }];
    let options = PlanOptions::for_instance(&inst);
    let after = crate::schedule::repair::repair(&inst, &options, &mut |_| {}).unwrap();
    assert!(validate(&inst, &after.occurrences).is_empty());
    // The whole re-plan agrees: nothing else is worth moving.
    assert_eq!(solve(&inst).occurrences, after.occurrences);
    assert_eq!(after.changes.len(), 1, "{:#?}", after.changes);
    let change = &after.changes[0];
    assert_eq!(change.series, 1);
    assert_eq!(change.before.as_ref(), Some(&hit));
    let moved = change.after.as_ref().expect("moved, not dropped");
    assert_ne!(moved.date, hit.date);
    assert_eq!(moved.date.month(), 5);
    assert_eq!(change.notify, [1, 2, 6]);
    let unchanged = |o: &&Occurrence| (o.series, o.date) != (1, moved.date);
    let kept: Vec<_> = after
        .occurrences
        .iter()
        .filter(unchanged)
        .map(|o| (o.series, o.date, o.start, o.room))
        .collect();
    let was: Vec<_> = first
        .occurrences
        .iter()
        .filter(|o| **o != hit)
        .map(|o| (o.series, o.date, o.start, o.room))
        .collect();
    assert_eq!(kept, was);
    assert_eq!(
        soft_cost(&inst, &after.occurrences).change,
        inst.weights.change
    );
}

#[test]
fn the_same_input_gives_the_same_plan() {
    let mut inst = q1();
    inst.series = vec![
        series(1, "運営会議", CadencePeriod::Month, 1, &[1, 2]),
        series(2, "地域支援員会議", CadencePeriod::Month, 1, &[2, 3]),
        series(3, "研修会", CadencePeriod::Quarter, 2, &[1, 3]),
    ];
    let a = solve(&inst);
    let b = solve(&inst);
    assert_eq!(a.occurrences, b.occurrences);
    assert_eq!((a.objective, a.bound), (b.objective, b.bound));
}

#[test]
fn gaps_between_occurrences_are_respected() {
    let mut inst = q1();
    let mut s = series(
        1,
        "個別事例の支援内容の検証",
        CadencePeriod::Quarter,
        4,
        &[1],
    );
    s.cadence.min_gap_days = Some(18);
    s.cadence.max_gap_days = Some(30);
    inst.series = vec![s];
    let plan = solve(&inst);
    let dates: Vec<NaiveDate> = plan.occurrences.iter().map(|o| o.date).collect();
    assert_eq!(dates.len(), 4);
    for w in dates.windows(2) {
        assert!((18..=30).contains(&(w[1] - w[0]).num_days()), "{dates:?}");
    }
}

#[test]
fn an_invalid_instance_is_refused_with_reasons() {
    let mut inst = q1();
    let mut s = series(1, "運営会議", CadencePeriod::Month, 2, &[1, 99]);
    s.cadence.max = 1;
    inst.series = vec![s];
    let Err(PlanError::InvalidInstance(problems)) = plan(&inst) else {
        panic!("expected invalid");
    };
    let en: Vec<&str> = problems.iter().map(|p| p.en.as_str()).collect();
    assert!(en.iter().any(|p| p.contains("unknown person 99")), "{en:?}");
    assert!(
        en.iter()
            .any(|p| p.contains("minimum count 2 exceeds maximum 1")),
        "{en:?}"
    );
}

#[test]
fn nothing_to_plan_is_an_empty_optimal_plan() {
    let plan = solve(&q1());
    assert!(plan.occurrences.is_empty());
    assert_eq!((plan.status, plan.objective), (SolveStatus::Optimal, 0.0));
}

fn target(name: &str, series: &[SeriesId], min: u32) -> Target {
    Target {
        name: Text::new(name, name),
        series: series.to_vec(),
        min,
    }
}

#[test]
fn a_count_target_lifts_a_varying_cadence() {
    let mut inst = q1();
    let mut s = series(1, "専門部会(就労)", CadencePeriod::Month, 0, &[1, 2]);
    s.cadence.max = 2;
    inst.series = vec![s];
    let without = solve(&inst);
    assert!(without.occurrences.is_empty(), "{:?}", without.occurrences);
    assert!(without.targets.is_empty());

    inst.targets = vec![target("専門部会の開催", &[1], 4)];
    let plan = solve(&inst);
    assert_eq!(plan.status, SolveStatus::Optimal, "{plan:?}");
    assert!(plan.occurrences.len() >= 4, "{:?}", plan.occurrences);
    assert_eq!(plan.targets.len(), 1);
    assert!(plan.targets[0].met, "{:?}", plan.targets);
    assert_eq!(plan.targets[0].planned, plan.occurrences.len() as u32);
    assert_eq!(plan.targets[0].reason, None);
    assert_eq!(soft_cost(&inst, &plan.occurrences).target_shortfall, 0.0);
    // No month above its maximum.
    for m in [4, 5, 6] {
        assert!(of(&plan, 1).iter().filter(|o| o.date.month() == m).count() <= 2);
    }
    // The greedy baseline also works towards the target, within the rules.
    let greedy = crate::schedule::greedy::plan(&inst);
    assert!(validate(&inst, &greedy).is_empty());
    assert_eq!(greedy.len(), 4, "{greedy:?}");
}

#[test]
fn a_target_beyond_the_cadence_maxima_is_reported_with_its_bound() {
    let mut inst = q1();
    let mut a = series(1, "専門部会(相談支援)", CadencePeriod::Month, 0, &[1]);
    a.cadence.max = 1;
    let mut b = series(2, "専門部会(地域移行)", CadencePeriod::Month, 0, &[2]);
    b.cadence.max = 1;
    inst.series = vec![a, b];
    inst.targets = vec![target("専門部会の開催", &[1, 2, 7], 8)];
    let plan = solve(&inst);
    assert_eq!(plan.occurrences.len(), 6, "{:?}", plan.occurrences);
    assert_eq!(plan.status, SolveStatus::Optimal, "{plan:?}");
    let outcome = &plan.targets[0];
    assert_eq!((outcome.planned, outcome.min, outcome.met), (6, 8, false));
    let reason = outcome.reason.as_ref().expect("a reason");
    assert!(reason.ja.contains("最大 6 回"), "{}", reason.ja);
    assert!(reason.en.contains("at most 6 times"), "{}", reason.en);
    assert_eq!(
        soft_cost(&inst, &plan.occurrences).target_shortfall,
        2.0 * inst.weights.target_shortfall
    );
    // The shortfall is soft: the plan is valid, and the bound is still proven.
    assert!(validate(&inst, &plan.occurrences).is_empty());
    assert!(
        plan.bound >= 2.0 * inst.weights.target_shortfall - 1e-6,
        "{plan:?}"
    );
}

#[test]
fn a_target_out_of_reach_of_the_possible_days_says_so() {
    let mut inst = q1();
    let mut s = series(1, "専門部会(就労)", CadencePeriod::Month, 0, &[1]);
    s.cadence.max = 2;
    inst.series = vec![s];
    // Staff 1 is away from mid-April to the end of June: 2 meetings fit, not 4.
    inst.people[0].absences = vec![DateRange {
        from: d(2026, 4, 15),
        to: d(2026, 6, 30),
    }];
    inst.targets = vec![target("専門部会の開催", &[1], 4)];
    let plan = solve(&inst);
    assert_eq!(plan.occurrences.len(), 2, "{:?}", plan.occurrences);
    let outcome = &plan.targets[0];
    assert!(!outcome.met);
    let reason = outcome.reason.as_ref().unwrap();
    assert!(reason.en.contains("at most 2 times"), "{}", reason.en);
}

#[test]
fn a_target_the_hard_rules_block_blames_them() {
    let mut inst = q1();
    let mut s = series(1, "専門部会(就労)", CadencePeriod::Month, 0, &[1]);
    s.cadence.max = 2;
    // Each subcommittee reports to the one operating committee of the quarter within a week.
    let committee = series(2, "運営会議", CadencePeriod::Quarter, 1, &[2]);
    inst.series = vec![s, committee];
    inst.precedences = vec![Precedence {
        before: 2,
        after: 1,
        min_days: 1,
        max_days: 7,
    }];
    inst.targets = vec![target("専門部会の開催", &[1], 5)];
    let plan = solve(&inst);
    let outcome = &plan.targets[0];
    assert!(!outcome.met && outcome.planned < 5, "{outcome:?}");
    assert!(outcome.planned >= 2, "{outcome:?}");
    let reason = outcome.reason.as_ref().unwrap();
    assert!(reason.en.contains("hard rules"), "{}", reason.en);
    assert!(reason.ja.contains("必須条件"), "{}", reason.ja);
}

#[test]
fn instances_without_targets_still_parse() {
    let mut inst = q1();
    inst.series = vec![series(1, "運営会議", CadencePeriod::Month, 1, &[1])];
    let mut json = serde_json::to_value(&inst).unwrap();
    let object = json.as_object_mut().unwrap();
    assert!(object.remove("targets").is_some());
    object["weights"]
        .as_object_mut()
        .unwrap()
        .remove("target_shortfall");
    let parsed: Instance = serde_json::from_value(json).unwrap();
    assert_eq!(parsed, inst);
    assert_eq!(parsed.weights.target_shortfall, 100.0);
    // And a plan from before targets existed.
    let plan = solve(&inst);
    let mut json = serde_json::to_value(&plan).unwrap();
    json.as_object_mut().unwrap().remove("targets");
    let parsed: Plan = serde_json::from_value(json).unwrap();
    assert!(parsed.targets.is_empty());
    // Targets in JSON.
    let with: Instance = serde_json::from_str(&serde_json::to_string(&inst).unwrap().replace(
        r#""targets":[]"#,
        r#""targets":[{"name":{"ja":"部会","en":"subcommittees"},"series":[1],"min":3}]"#,
    ))
    .unwrap();
    assert_eq!(with.targets[0].min, 3);
}

#[test]
fn the_optimizer_starts_from_the_baseline_and_says_which_plan_it_returns() {
    let inst = instance(Size::S, 1);
    let baseline = crate::schedule::greedy::plan(&inst);
    assert!(
        validate(&inst, &baseline).is_empty(),
        "the baseline is valid"
    );
    let plan = solve(&inst);
    assert_eq!(plan.status, SolveStatus::Optimal);
    assert_eq!(plan.method, PlanMethod::Optimizer);
    assert!(plan.note.is_none(), "a proven plan needs no note");
    assert!(plan.objective <= soft_cost(&inst, &baseline).total + 1e-9);
}

#[test]
fn a_time_limit_too_short_for_the_optimizer_keeps_the_baseline_and_says_why() {
    let mut inst = instance(Size::M, 1);
    inst.time_limit_seconds = 0.05;
    let started = std::time::Instant::now();
    let plan = plan(&inst).expect("a feasible instance always has a plan");
    assert!(
        started.elapsed().as_secs_f64() < 0.05 + 1.0,
        "the limit is kept"
    );
    assert_eq!(plan.method, PlanMethod::Baseline);
    assert_eq!(plan.status, SolveStatus::TimeLimit);
    assert!(validate(&inst, &plan.occurrences).is_empty());
    let note = plan.note.expect("a note says why");
    assert!(note.en.contains("did not run"), "{}", note.en);
    assert!(note.ja.contains("最適化は行っておらず"), "{}", note.ja);
    // The baseline without its pair moves (the half of 0.05 s it may spend on them had passed
    // before they began).
    assert_eq!(
        plan.occurrences,
        crate::schedule::greedy::plan_within(&inst, Some(std::time::Instant::now()))
            .into_iter()
            .map(|mut o| {
                o.index = 0;
                o
            })
            .zip(&plan.occurrences)
            .map(|(mut g, p)| {
                g.index = p.index;
                g
            })
            .collect::<Vec<_>>(),
        "the plan is the baseline itself"
    );
}

#[test]
fn a_limit_shorter_than_presolve_does_not_start_highs() {
    // Size m needs about 2 s of HiGHS before it first looks at the clock.
    let mut inst = instance(Size::M, 1);
    inst.time_limit_seconds = 1.5;
    let started = std::time::Instant::now();
    let plan = plan(&inst).expect("a plan");
    assert!(
        started.elapsed().as_secs_f64() < 1.5 + 1.0,
        "the limit is kept"
    );
    assert_eq!(plan.method, PlanMethod::Baseline);
    let note = plan.note.expect("a note says why").en;
    // "too short" when the baseline left time to build the model, else "did not run".
    assert!(
        note.contains("too short") || note.contains("did not run"),
        "{note}"
    );
}

#[test]
fn a_model_planned_by_neighbourhoods_improves_the_baseline_deterministically() {
    // Size s (a quarter) is small enough for one branch and bound; forced through the
    // neighbourhood search it must still improve the baseline, stay valid, keep a valid
    // bound (at most the proven optimum) and give the same plan twice. (On size m it ends
    // 0.15 % above the optimum; s keeps the suite quick.)
    let inst = instance(Size::S, 1);
    let baseline = soft_cost(&inst, &crate::schedule::greedy::plan(&inst)).total;
    let exact = solve(&inst);
    let options = PlanOptions {
        neighbourhood_columns: 0,
        ..PlanOptions::for_instance(&inst)
    };
    let by_months = || {
        let plan = plan_with(&inst, &options, &mut |_| {}).expect("a plan");
        let violations = validate(&inst, &plan.occurrences);
        assert!(violations.is_empty(), "{violations:#?}");
        assert!((plan.objective - soft_cost(&inst, &plan.occurrences).total).abs() < 1e-6);
        plan
    };
    let a = by_months();
    assert_eq!(a.method, PlanMethod::Optimizer);
    assert!(
        a.objective < baseline - 1.0,
        "{} vs baseline {baseline}",
        a.objective
    );
    assert!(
        a.bound <= exact.objective + 1e-6,
        "the LP bound is a lower bound"
    );
    assert!(a.objective >= exact.objective - 1e-6);
    assert!(
        a.objective <= exact.objective * 1.02,
        "{} vs optimum {}",
        a.objective,
        exact.objective
    );
    let note = a.note.clone().expect("not proven optimal, so a note");
    assert!(note.en.contains("month"), "{}", note.en);
    assert!(note.ja.contains("か月"), "{}", note.ja);
    let b = by_months();
    assert_eq!(a.occurrences, b.occurrences, "same input, same plan");
}

#[test]
fn a_year_planned_quarter_by_quarter_has_the_counts_of_the_whole_year() {
    // "n a year" duties planned and published one quarter at a time: what earlier quarters
    // hold counts, the last quarter takes what is left, so the year gets n, as planned whole.
    let yearly = [
        (1, "権利擁護研修", 1),
        (2, "事例検討", 3),
        (3, "弁護士相談会", 2),
        (4, "事例検証", 24),
    ];
    let whole = {
        let mut inst = fy2026();
        inst.series = yearly
            .iter()
            .map(|&(id, title, n)| series(id, title, CadencePeriod::FiscalYear, n, &[1, 2]))
            .collect();
        solve(&inst)
    };
    let mut published: Vec<PublishedOccurrence> = Vec::new();
    for (from, to) in [
        (d(2026, 4, 1), d(2026, 6, 30)),
        (d(2026, 7, 1), d(2026, 9, 30)),
        (d(2026, 10, 1), d(2026, 12, 31)),
        (d(2027, 1, 1), d(2027, 3, 31)),
    ] {
        let mut inst = center(from, to);
        inst.series = yearly
            .iter()
            .map(|&(id, title, n)| series(id, title, CadencePeriod::FiscalYear, n, &[1, 2]))
            .collect();
        inst.published = published.clone();
        let plan = solve(&inst);
        published.extend(
            plan.occurrences
                .into_iter()
                .map(|occurrence| PublishedOccurrence {
                    occurrence,
                    pin: Pin::None,
                }),
        );
    }
    for &(id, title, n) in &yearly {
        let by_quarters = published
            .iter()
            .filter(|p| p.occurrence.series == id)
            .count();
        assert_eq!(by_quarters, n as usize, "{title}: quarter by quarter");
        assert_eq!(of(&whole, id).len(), n as usize, "{title}: the whole year");
    }
    // Re-planning the second quarter with the whole year published keeps the year's count.
    let mut inst = center(d(2026, 7, 1), d(2026, 9, 30));
    inst.series = yearly
        .iter()
        .map(|&(id, title, n)| series(id, title, CadencePeriod::FiscalYear, n, &[1, 2]))
        .collect();
    inst.published = published.clone();
    let again = solve(&inst);
    for &(id, title, n) in &yearly {
        let elsewhere = published
            .iter()
            .filter(|p| p.occurrence.series == id && !inst.period.contains(p.occurrence.date))
            .count();
        assert_eq!(
            elsewhere + of(&again, id).len(),
            n as usize,
            "{title}: Q2 re-planned"
        );
    }
}

#[test]
fn a_persons_daily_limits_hold_in_the_plan_and_the_baseline() {
    // Four short meetings in one week, all needing 山田 (limited to two meetings and 120
    // minutes a day) and preferring Monday.
    let mut inst = center(d(2026, 4, 6), d(2026, 4, 10));
    inst.people[0].max_meetings_per_day = Some(2);
    inst.people[0].max_minutes_per_day = Some(120);
    inst.series = (1..=4)
        .map(|id| {
            let mut s = series(id, &format!("会議{id}"), CadencePeriod::Period, 1, &[1]);
            s.duration_minutes = 60;
            s.preferred_weekdays = vec![chrono::Weekday::Mon];
            s
        })
        .collect();
    let plan = solve(&inst);
    let baseline = crate::schedule::greedy::plan(&inst);
    for occurrences in [&plan.occurrences, &baseline] {
        assert!(validate(&inst, occurrences).is_empty());
        let mut per_day: std::collections::BTreeMap<NaiveDate, u32> = Default::default();
        for o in occurrences.iter() {
            *per_day.entry(o.date).or_default() += 1;
        }
        assert!(per_day.values().all(|n| *n <= 2), "{per_day:?}");
        assert_eq!(occurrences.len(), 4);
    }
    // Three on one day break the limit, and the validator says so.
    let mut crowded = plan.occurrences.clone();
    let day = crowded[0].date;
    for (i, o) in crowded.iter_mut().enumerate().take(3) {
        o.date = day;
        o.start = t(9 + 2 * i as u32, 0);
        o.end = t(10 + 2 * i as u32, 0);
    }
    let violations = validate(&inst, &crowded);
    assert!(
        violations
            .iter()
            .any(|v| v.rule == crate::schedule::validate::Rule::DailyLoad
                && v.message.en.contains("more than the 2 a day")),
        "{violations:#?}"
    );
}

#[test]
fn a_family_interleaves_instead_of_crowding_the_middle() {
    // Four offices visited once a year by the same person: alone, each would aim at the
    // middle of the year; as a family they take their turns, a quarter apart.
    let mut inst = fy2026();
    inst.series = (1..=4)
        .map(|id| Series {
            family: Some("VISIT".into()),
            ..series(id, &format!("訪問{id}"), CadencePeriod::FiscalYear, 1, &[1])
        })
        .collect();
    let plan = solve(&inst);
    let mut dates: Vec<NaiveDate> = plan.occurrences.iter().map(|o| o.date).collect();
    dates.sort();
    assert_eq!(dates.len(), 4);
    for pair in dates.windows(2) {
        assert!(
            (pair[1] - pair[0]).num_days() >= 60,
            "visits a quarter apart, not crowded: {dates:?}"
        );
    }
    // The baseline spreads them the same way.
    let mut base: Vec<NaiveDate> = crate::schedule::greedy::plan(&inst)
        .iter()
        .map(|o| o.date)
        .collect();
    base.sort();
    assert!(
        base.windows(2).all(|p| (p[1] - p[0]).num_days() >= 60),
        "{base:?}"
    );
}

#[test]
fn a_meeting_starts_only_when_its_venue_is_open() {
    // Two venues open at different hours: a start good at one is not good at the other.
    let mut inst = q1();
    inst.venues[0].hours = "mon-fri 10:00-17:30".parse().unwrap();
    inst.series = vec![Series {
        rooms: vec![1, 3],
        ..series(1, "連絡会", CadencePeriod::Month, 1, &[1, 2])
    }];
    let plan = solve(&inst);
    for o in &plan.occurrences {
        let venue = inst.rooms.iter().find(|r| r.id == o.room).unwrap().venue;
        if venue == 1 {
            assert!(o.start >= t(10, 0), "{o:?} starts before its venue opens");
        }
    }
}

#[test]
fn staff_hours_keep_meetings_out_of_the_evening_and_the_weekend() {
    // The venue is open until 21:00 and on Saturdays; its staff work Mon-Fri 8:30-17:30.
    let mut inst = q1();
    inst.venues[0].hours = "mon-fri 08:30-21:00; sat 09:00-17:00".parse().unwrap();
    for p in &mut inst.people {
        p.hours = Some(Default::default());
    }
    inst.series = vec![Series {
        rooms: vec![1],
        // Allowed only from 16:30: a 90-minute meeting then fits nobody's working day...
        allowed_start: Some(TimeWindow {
            from: t(16, 30),
            to: t(21, 0),
        }),
        ..series(1, "夜の会", CadencePeriod::Period, 1, &[1, 2])
    }];
    assert!(
        matches!(plan(&inst), Err(PlanError::Infeasible(_))),
        "no start within everyone's hours"
    );
    // ... from 14:00 it does, and never on a Saturday or after 17:30.
    inst.series[0].allowed_start = Some(TimeWindow {
        from: t(14, 0),
        to: t(21, 0),
    });
    let plan = solve(&inst);
    let o = &plan.occurrences[0];
    assert!(o.end <= t(17, 30), "{o:?}");
    assert!(o.date.weekday().num_days_from_monday() < 5, "{o:?}");
    // The validator refuses a meeting past a required attendee's hours.
    let mut late = plan.occurrences.clone();
    late[0].start = t(17, 0);
    late[0].end = t(18, 30);
    assert!(validate(&inst, &late)
        .iter()
        .any(|v| v.message.en.contains("working hours")));
}

#[test]
fn a_busy_day_does_not_take_more_visits_than_fit_with_travel() {
    // One person visits six offices (each its own venue, 30 minutes apart, 90 minutes each)
    // in one week, and also has a meeting free to run into the evening: level 1 must not put
    // more visits on a day than fit between 8:30 and 17:30 with the trips.
    let mut inst = center(d(2026, 4, 6), d(2026, 4, 10));
    inst.venues[1].hours = "mon-fri 08:30-21:00".parse().unwrap();
    for o in 0..6u32 {
        inst.venues.push(Venue {
            id: 10 + o,
            name: format!("事業所{o}"),
            hours: Default::default(),
            closures: vec![],
        });
        inst.rooms.push(room(10 + o, 10 + o, "相談室", 4));
    }
    inst.series = (0..6u32)
        .map(|o| Series {
            rooms: vec![10 + o],
            ..series(o + 1, &format!("訪問{o}"), CadencePeriod::Period, 1, &[1])
        })
        .chain([Series {
            rooms: vec![3],
            ..series(7, "夜の部会", CadencePeriod::Period, 1, &[1])
        }])
        .collect();
    let plan = solve(&inst);
    assert_eq!(plan.status, SolveStatus::Optimal);
    let mut per_day: std::collections::BTreeMap<NaiveDate, u32> = Default::default();
    for o in plan.occurrences.iter().filter(|o| o.series <= 6) {
        *per_day.entry(o.date).or_default() += 1;
    }
    assert!(per_day.values().all(|n| *n <= 4), "{per_day:?}");
}

/// Plans generated instances and prints status, objective, bound, gap and time.
/// `BENCH=s1,m1` picks sizes and seeds, `BENCH_LIMIT` overrides the time limit.
#[test]
#[ignore = "timing; run in release: cargo test --release -p renkei-solver bench_sizes -- --ignored --nocapture"]
fn bench_sizes() {
    let sizes: Vec<(Size, u64)> = std::env::var("BENCH")
        .unwrap_or_else(|_| "s7,m7".into())
        .split(',')
        .map(|x| (x[..1].parse().unwrap(), x[1..].parse().unwrap()))
        .collect();
    for (size, seed) in sizes {
        let mut inst = instance(size, seed);
        if let Some(limit) = std::env::var("BENCH_LIMIT")
            .ok()
            .and_then(|l| l.parse().ok())
        {
            inst.time_limit_seconds = limit;
        }
        let t = std::time::Instant::now();
        let result = plan_with(&inst, &PlanOptions::for_instance(&inst), &mut |p| {
            eprintln!(
                "  {:?} {:.2} at {:.2}s",
                p.stage,
                p.fraction,
                t.elapsed().as_secs_f64()
            )
        });
        match result {
            Ok(plan) => {
                let violations = validate(&inst, &plan.occurrences);
                eprintln!(
                    "{size:?}: {} occurrences, status {:?}, objective {:.2}, bound {:.2}, gap {:.5}, {:.2}s, {} vars, {} rows, {} violations",
                    plan.occurrences.len(), plan.status, plan.objective, plan.bound, plan.gap,
                    plan.solve_seconds, plan.variables, plan.constraints, violations.len()
                );
                eprintln!(
                    "   {:?}",
                    crate::schedule::score::soft_cost(&inst, &plan.occurrences)
                );
                for v in violations.iter().take(10) {
                    eprintln!("   {}", v.message.en);
                }
                // Repair after one decline: publish, then the first required attendee of
                // the middle occurrence cannot come that day.
                let mut after = inst.clone();
                after.published = plan
                    .occurrences
                    .iter()
                    .map(|o| PublishedOccurrence {
                        occurrence: o.clone(),
                        pin: Pin::None,
                    })
                    .collect();
                let hit = &plan.occurrences[plan.occurrences.len() / 2];
                let series = inst.series.iter().find(|s| s.id == hit.series).unwrap();
                let person = after
                    .people
                    .iter_mut()
                    .find(|p| p.id == series.required[0])
                    .unwrap();
                person.absences.push(DateRange {
                    from: hit.date,
                    to: hit.date,
                });
                let options = PlanOptions::for_instance(&after);
                let repaired = crate::schedule::repair::repair(&after, &options, &mut |_| {});
                match repaired {
                    Ok(r) => eprintln!(
                        "   repair: {} change(s), status {:?}, gap {:.5}, {:.2}s, {} violations",
                        r.changes.len(),
                        r.status,
                        r.gap,
                        r.solve_seconds,
                        validate(&after, &r.occurrences).len()
                    ),
                    Err(e) => eprintln!("   repair: error {e}"),
                }
            }
            Err(e) => eprintln!("{size:?}: error {e}"),
        }
    }
}

/// Meguro (002): 「地域移行・地域定着連携連絡会に参加」— a meeting another body holds keeps
/// its attendees busy: no plan puts them elsewhere at the same time, nor without the time to
/// travel there; an optional invitee held elsewhere is not listed.
#[test]
fn meetings_held_by_others_keep_their_attendees_busy() {
    // Monday 1 June to Friday 5 June 2026.
    let mut inst = center(d(2026, 6, 1), d(2026, 6, 5));
    let mut s = series(1, "事例検討会", CadencePeriod::Period, 1, &[1, 2]);
    s.optional = vec![3];
    s.allowed_start = Some(TimeWindow {
        from: t(13, 30),
        to: t(14, 0),
    });
    s.preferred_weekdays = vec![Weekday::Wed, Weekday::Thu];
    inst.series = vec![s];
    let held = |date: NaiveDate, from: NaiveTime, to: NaiveTime, who: &[PersonId]| HeldMeeting {
        title: "区障害者自立支援協議会".into(),
        date,
        start: from,
        end: to,
        venue: None,
        attendees: who.to_vec(),
    };
    // Without meetings held by others: a preferred day.
    let free = solve(&inst);
    assert!(
        [Weekday::Wed, Weekday::Thu].contains(&free.occurrences[0].date.weekday()),
        "{free:?}"
    );
    inst.held_by_others = vec![
        // Wednesday: at the same time.
        held(d(2026, 6, 3), t(13, 0), t(15, 0), &[1]),
        // Thursday: 15:00, no time to travel after a meeting that ends then.
        held(d(2026, 6, 4), t(15, 0), t(16, 0), &[2]),
    ];
    inst.held_by_others
        .extend((1..=5).map(|day| held(d(2026, 6, day), t(12, 0), t(17, 0), &[3])));
    let plan = solve(&inst);
    let o = &plan.occurrences[0];
    assert!(
        ![Weekday::Wed, Weekday::Thu].contains(&o.date.weekday()),
        "{o:?}"
    );
    assert!(!o.attendees.contains(&3), "{o:?}");
    let baseline = crate::schedule::greedy::plan(&inst);
    assert!(validate(&inst, &baseline).is_empty());
    // The validator names the clash when a plan ignores it.
    let mut clash = plan.occurrences.clone();
    clash[0].date = d(2026, 6, 3);
    clash[0].start = t(13, 30);
    clash[0].end = t(15, 0);
    let v = validate(&inst, &clash);
    assert!(
        v.iter()
            .any(|v| v.rule == crate::schedule::validate::Rule::PersonOverlap
                && v.message.ja.contains("他機関主催")),
        "{v:#?}"
    );
}

/// Meguro 002: 「外部講師については3か月前を目途に日程調整をおこなう」 — an external supervisor
/// gives the days and hours they can come; the case review goes only there, and the
/// validator refuses anything else on its own.
#[test]
fn an_external_lecturer_is_planned_only_within_the_availability_they_gave() {
    let mut inst = center(d(2026, 10, 1), d(2026, 12, 31));
    let mut sv = person(7, "外部 SV");
    sv.available = Some(vec![
        Availability {
            dates: DateRange {
                from: d(2026, 11, 18),
                to: d(2026, 11, 18),
            },
            weekdays: vec![],
            from: t(13, 0),
            to: t(17, 0),
        },
        // Mondays of December, mornings only: too short for a two-hour meeting at 9:00-10:30.
        Availability {
            dates: DateRange {
                from: d(2026, 12, 1),
                to: d(2026, 12, 31),
            },
            weekdays: vec![Weekday::Mon],
            from: t(9, 0),
            to: t(10, 30),
        },
    ]);
    inst.people.push(sv);
    let mut review = series(1, "事例検討会", CadencePeriod::Quarter, 1, &[1, 7]);
    review.duration_minutes = 120;
    inst.series = vec![review];
    let plan = solve(&inst);
    let o = of(&plan, 1);
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].date, d(2026, 11, 18));
    assert!(o[0].start >= t(13, 0) && o[0].end <= t(17, 0), "{:?}", o[0]);
    // Moved to a day the lecturer did not give: the validator names the rule itself.
    let mut moved = plan.occurrences.clone();
    moved[0].date = d(2026, 11, 19);
    let v = validate(&inst, &moved);
    assert!(
        v.iter()
            .any(|x| x.rule == crate::schedule::validate::Rule::Availability
                && x.message.en.contains("外部 SV")
                && x.message.en.contains("said they can come")),
        "{v:?}"
    );
}

/// An external person without availability is available nowhere: the meeting cannot be
/// planned, and the explanation names the lecturer and what to do.
#[test]
fn a_lecturer_without_a_free_date_is_explained() {
    let mut inst = center(d(2026, 10, 1), d(2026, 12, 31));
    let mut sv = person(7, "外部 SV");
    sv.available = Some(vec![]);
    inst.people.push(sv);
    inst.series = vec![series(1, "事例検討会", CadencePeriod::Quarter, 1, &[1, 7])];
    let Err(PlanError::Infeasible(inf)) = plan(&inst) else {
        panic!("expected an explanation");
    };
    let rules_ja: String = inf.conflicts[0]
        .rules
        .iter()
        .map(|r| r.ja.as_str())
        .collect();
    let rules_en: String = inf.conflicts[0]
        .rules
        .iter()
        .map(|r| r.en.as_str())
        .collect();
    assert!(
        rules_ja.contains("外部 SV") && rules_ja.contains("都合のつく日がこの期間にありません"),
        "{rules_ja}"
    );
    assert!(
        rules_en.contains("gave no date they can come"),
        "{rules_en}"
    );
    let relax: Vec<&str> = inf.conflicts[0]
        .relaxations
        .iter()
        .map(|r| r.en.as_str())
        .collect();
    assert!(
        relax
            .iter()
            .any(|r| r.contains("ask 外部 SV for more dates")),
        "{relax:?}"
    );
}
