//! The independent validator: re-checks every hard rule of placement against a list of
//! placements, from the instance alone. It shares nothing with the search or the optimizer
//! except the rule definitions of [`super::rules`]; the service proposes a placement to a
//! facility only when this reports no violation.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::model::*;
use super::rules::{md, night_key, other, unfit, IdMap, IdSet, Index};

/// Which hard rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The request id is not in the instance.
    UnknownRequest,
    /// The request appears in more than one placement.
    DuplicateRequest,
    /// The bed id is not in the instance (or its room or facility is missing).
    UnknownBed,
    /// The segments are not consecutive, or do not cover the request's nights exactly.
    Coverage,
    /// More changes of bed than `max_transfers`.
    Transfers,
    /// The bed does not fit the person's needs.
    Fit,
    /// The bed-night is already taken in the current state.
    Taken,
    /// The bed-night is given to two placements.
    DoubleBooked,
    /// Men and women in one shared room on the same night.
    SharedRoomSex,
    /// The facility is farther from home than the request allows.
    TooFar,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub rule: Rule,
    pub request: Option<RequestId>,
    pub bed: Option<BedId>,
    pub night: Option<NaiveDate>,
    pub message: Text,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Report {
    pub violations: Vec<Violation>,
}

impl Report {
    pub fn is_valid(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Who sleeps in a shared room on a night: request, bed, sex.
type Sleeper = (RequestId, BedId, Sex);

/// Every hard-rule violation of `placements` in `instance`; an empty report means valid.
/// Requests without a placement, and placements without segments, are simply unplaced.
pub fn validate(instance: &Instance, placements: &[Placement]) -> Report {
    let span = placements
        .iter()
        .flat_map(|p| &p.segments)
        .map(|s| s.nights)
        .filter(|n| !n.is_empty())
        .reduce(|a, b| Nights::new(a.from.min(b.from), a.to.max(b.to)));
    let ix = match span {
        Some(span) => Index::within(instance, span),
        None => Index::static_only(instance),
    };
    let requests: IdMap<RequestId, &Request> =
        instance.requests.iter().map(|r| (r.id, r)).collect();
    let mut out = Vec::new();
    let mut seen: IdSet<RequestId> = IdSet::default();
    // bed-night -> the request that has it; (room, night) of shared rooms -> who sleeps there.
    let mut given: IdMap<u64, RequestId> = IdMap::default();
    let mut shared: BTreeMap<(RoomId, NaiveDate), Vec<Sleeper>> = BTreeMap::new();

    for p in placements {
        let Some(r) = requests.get(&p.request) else {
            out.push(Violation {
                rule: Rule::UnknownRequest,
                request: Some(p.request),
                bed: None,
                night: None,
                message: Text::new(
                    format!("依頼 {} は存在しない", p.request),
                    format!("unknown request {}", p.request),
                ),
            });
            continue;
        };
        if !seen.insert(r.id) {
            out.push(Violation {
                rule: Rule::DuplicateRequest,
                request: Some(r.id),
                bed: None,
                night: None,
                message: Text::new(
                    format!("依頼 {} が二度配置されている", r.label),
                    format!("request {} is placed twice", r.label),
                ),
            });
            continue;
        }
        if p.segments.is_empty() {
            continue;
        }
        if let Some(why) = coverage(r, &p.segments) {
            out.push(Violation {
                rule: Rule::Coverage,
                request: Some(r.id),
                bed: None,
                night: None,
                message: why,
            });
        }
        let transfers = p.segments.len() as u32 - 1;
        if transfers > instance.max_transfers {
            out.push(Violation {
                rule: Rule::Transfers,
                request: Some(r.id),
                bed: None,
                night: None,
                message: Text::new(
                    format!(
                        "依頼 {} のベッド移動が{}回（上限{}回）",
                        r.label, transfers, instance.max_transfers
                    ),
                    format!(
                        "request {} changes bed {} times (at most {})",
                        r.label, transfers, instance.max_transfers
                    ),
                ),
            });
        }
        for s in &p.segments {
            let Some(at) = ix.bed(s.bed) else {
                out.push(Violation {
                    rule: Rule::UnknownBed,
                    request: Some(r.id),
                    bed: Some(s.bed),
                    night: None,
                    message: Text::new(
                        format!("ベッド {} は存在しない", s.bed),
                        format!("unknown bed {}", s.bed),
                    ),
                });
                continue;
            };
            if let Some(why) = crate::placement::rules::too_far(r, at.facility) {
                out.push(Violation {
                    rule: Rule::TooFar,
                    request: Some(r.id),
                    bed: Some(s.bed),
                    night: None,
                    message: Text::new(
                        format!(
                            "依頼 {} に{}は遠すぎる：{}",
                            r.label, at.facility.name, why.ja
                        ),
                        format!(
                            "{} is too far for request {}: {}",
                            at.facility.name, r.label, why.en
                        ),
                    ),
                });
            }
            if let Some(why) = unfit(at.facility, at.room, at.bed, &r.needs) {
                out.push(Violation {
                    rule: Rule::Fit,
                    request: Some(r.id),
                    bed: Some(s.bed),
                    night: None,
                    message: Text::new(
                        format!(
                            "依頼 {} は{}の{}に合わない：{}",
                            r.label, at.facility.name, at.bed.name, why.ja
                        ),
                        format!(
                            "request {} does not fit {} at {}: {}",
                            r.label, at.bed.name, at.facility.name, why.en
                        ),
                    ),
                });
            }
            for night in s.nights.iter() {
                if ix.is_taken(s.bed, night) {
                    out.push(Violation {
                        rule: Rule::Taken,
                        request: Some(r.id),
                        bed: Some(s.bed),
                        night: Some(night),
                        message: Text::new(
                            format!(
                                "{}の{}は{}の夜すでに埋まっている",
                                at.facility.name,
                                at.bed.name,
                                md(night)
                            ),
                            format!(
                                "{} at {} is already taken on the night of {}",
                                at.bed.name, at.facility.name, night
                            ),
                        ),
                    });
                }
                if let Some(&first) = given.get(&night_key(s.bed, night)) {
                    out.push(Violation {
                        rule: Rule::DoubleBooked,
                        request: Some(r.id),
                        bed: Some(s.bed),
                        night: Some(night),
                        message: Text::new(
                            format!(
                                "{}の{}の{}の夜が依頼 {} にも割り当てられている",
                                at.facility.name,
                                at.bed.name,
                                md(night),
                                first
                            ),
                            format!(
                                "{} at {} on the night of {} is also given to request {}",
                                at.bed.name, at.facility.name, night, first
                            ),
                        ),
                    });
                } else {
                    given.insert(night_key(s.bed, night), r.id);
                }
                if at.room.sex_policy == SexPolicy::SameAsOccupants {
                    shared
                        .entry((at.room.id, night))
                        .or_default()
                        .push((r.id, s.bed, r.needs.sex));
                }
            }
        }
    }

    for ((room, night), people) in &shared {
        let present = people
            .iter()
            .fold(ix.occupants(*room, *night), |acc, &(_, _, sex)| {
                acc.with(sex)
            });
        if !(present.has(Sex::Male) && present.has(Sex::Female)) {
            continue;
        }
        let name = ix.room(*room).map(|r| r.name.as_str()).unwrap_or("");
        for &(request, bed, sex) in people {
            // Report the person who meets the other sex there: everyone, when both are placed.
            let others_here = people
                .iter()
                .any(|&(q, _, s)| q != request && s == other(sex))
                || ix.occupants(*room, *night).has(other(sex));
            if others_here {
                out.push(Violation {
                    rule: Rule::SharedRoomSex,
                    request: Some(request),
                    bed: Some(bed),
                    night: Some(*night),
                    message: Text::new(
                        format!("相部屋{}の{}の夜に男女が同室になる", name, md(*night)),
                        format!(
                            "men and women share room {} on the night of {}",
                            name, night
                        ),
                    ),
                });
            }
        }
    }
    Report { violations: out }
}

/// Why `segments` do not cover the request's nights exactly and consecutively, or `None`.
fn coverage(r: &Request, segments: &[Segment]) -> Option<Text> {
    let mut at = r.nights.from;
    for s in segments {
        if s.nights.is_empty() {
            return Some(Text::new(
                format!("依頼 {} に泊数0の区間がある", r.label),
                format!("request {} has a segment without nights", r.label),
            ));
        }
        if s.nights.from != at {
            return Some(Text::new(
                format!(
                    "依頼 {} の区間が{}の夜から続いていない（{}から始まる）",
                    r.label,
                    md(at),
                    md(s.nights.from)
                ),
                format!(
                    "request {}: a segment starts on {} instead of {}",
                    r.label, s.nights.from, at
                ),
            ));
        }
        at = s.nights.to;
    }
    if at != r.nights.to {
        return Some(Text::new(
            format!(
                "依頼 {} の区間が{}までで、{}まで泊まれない",
                r.label,
                md(at),
                md(r.nights.to)
            ),
            format!(
                "request {}: the segments end on {} instead of {}",
                r.label, at, r.nights.to
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::search::tests::{d, request, taken, town};

    fn seg(bed: BedId, from: NaiveDate, to: NaiveDate) -> Segment {
        Segment {
            bed,
            nights: Nights::new(from, to),
        }
    }

    fn placed(request: RequestId, segments: Vec<Segment>) -> Placement {
        Placement {
            request,
            segments,
            unplaced_reason: None,
        }
    }

    fn rules(report: &Report) -> Vec<Rule> {
        report.violations.iter().map(|v| v.rule).collect()
    }

    fn inst() -> Instance {
        let mut inst = town();
        inst.taken = taken(300, d(5, 2), d(5, 3), None);
        inst.taken
            .extend(taken(201, d(5, 1), d(5, 2), Some(Sex::Male)));
        let mut wheel = request(3, Sex::Male, d(5, 1), d(5, 3));
        wheel.needs.wheelchair = true;
        inst.requests = vec![
            request(1, Sex::Female, d(5, 1), d(5, 4)),
            request(2, Sex::Male, d(5, 1), d(5, 4)),
            wheel,
        ];
        inst
    }

    #[test]
    fn a_valid_plan_passes() {
        let inst = inst();
        let plan = vec![
            placed(1, vec![seg(210, d(5, 1), d(5, 4))]),
            placed(
                2,
                vec![seg(200, d(5, 1), d(5, 2)), seg(400, d(5, 2), d(5, 4))],
            ),
            placed(3, vec![seg(100, d(5, 1), d(5, 3))]),
        ];
        let report = validate(&inst, &plan);
        assert!(report.is_valid(), "{:?}", report.violations);
        // Unplaced and missing requests are fine.
        assert!(validate(&inst, &[placed(1, vec![])]).is_valid());
    }

    #[test]
    fn unknown_and_duplicate_ids() {
        let inst = inst();
        let r = validate(
            &inst,
            &[
                placed(9, vec![seg(210, d(5, 1), d(5, 4))]),
                placed(1, vec![seg(999, d(5, 1), d(5, 4))]),
                placed(1, vec![seg(210, d(5, 1), d(5, 4))]),
            ],
        );
        assert_eq!(
            rules(&r),
            vec![
                Rule::UnknownRequest,
                Rule::UnknownBed,
                Rule::DuplicateRequest
            ]
        );
        assert_eq!(r.violations[1].bed, Some(999));
    }

    #[test]
    fn coverage_gaps_overlaps_and_short_stays() {
        let inst = inst();
        let cases = [
            vec![seg(210, d(5, 1), d(5, 3))],
            vec![seg(210, d(5, 2), d(5, 4))],
            vec![seg(210, d(5, 1), d(5, 2)), seg(400, d(5, 3), d(5, 4))],
            vec![seg(210, d(5, 1), d(5, 3)), seg(400, d(5, 2), d(5, 4))],
            vec![seg(210, d(5, 1), d(5, 5))],
            vec![seg(210, d(5, 1), d(5, 1)), seg(210, d(5, 1), d(5, 4))],
        ];
        for segments in cases {
            let r = validate(&inst, &[placed(2, segments.clone())]);
            assert!(rules(&r).contains(&Rule::Coverage), "{segments:?}: {r:?}");
        }
    }

    #[test]
    fn too_many_transfers() {
        let mut inst = inst();
        inst.max_transfers = 1;
        let r = validate(
            &inst,
            &[placed(
                2,
                vec![
                    seg(200, d(5, 1), d(5, 2)),
                    seg(400, d(5, 2), d(5, 3)),
                    seg(300, d(5, 3), d(5, 4)),
                ],
            )],
        );
        assert_eq!(rules(&r), vec![Rule::Transfers]);
    }

    #[test]
    fn unfit_beds_taken_nights_and_double_booking() {
        let inst = inst();
        // A wheelchair user in a bed without access; a woman in the men's trial room.
        let r = validate(
            &inst,
            &[
                placed(3, vec![seg(400, d(5, 1), d(5, 3))]),
                placed(1, vec![seg(400, d(5, 3), d(5, 4))]),
            ],
        );
        assert!(
            rules(&r).iter().filter(|&&x| x == Rule::Fit).count() == 2,
            "{r:?}"
        );
        assert!(r.violations[0]
            .message
            .en
            .contains("no wheelchair-accessible bed"));
        // Bed 300 is taken on 5/2.
        let r = validate(&inst, &[placed(2, vec![seg(300, d(5, 1), d(5, 4))])]);
        assert_eq!(rules(&r), vec![Rule::Taken]);
        assert_eq!(r.violations[0].night, Some(d(5, 2)));
        // Two people in bed 210 on 5/3.
        let r = validate(
            &inst,
            &[
                placed(1, vec![seg(210, d(5, 1), d(5, 4))]),
                placed(
                    2,
                    vec![seg(400, d(5, 1), d(5, 3)), seg(210, d(5, 3), d(5, 4))],
                ),
            ],
        );
        assert!(rules(&r).contains(&Rule::DoubleBooked), "{r:?}");
        let v = r
            .violations
            .iter()
            .find(|v| v.rule == Rule::DoubleBooked)
            .unwrap();
        assert_eq!(
            (v.request, v.bed, v.night),
            (Some(2), Some(210), Some(d(5, 3)))
        );
    }

    #[test]
    fn shared_room_sex_with_occupants_and_between_placements() {
        let inst = inst();
        // A man is in bed 201 on 5/1: a woman in bed 200 that night breaks the room's rule.
        let r = validate(&inst, &[placed(1, vec![seg(200, d(5, 1), d(5, 4))])]);
        assert_eq!(rules(&r), vec![Rule::SharedRoomSex]);
        assert_eq!(r.violations[0].night, Some(d(5, 1)));
        // A man and a woman placed in room 20 on 5/2-5/3.
        let r = validate(
            &inst,
            &[
                placed(
                    1,
                    vec![seg(210, d(5, 1), d(5, 2)), seg(200, d(5, 2), d(5, 4))],
                ),
                placed(
                    2,
                    vec![seg(400, d(5, 1), d(5, 2)), seg(201, d(5, 2), d(5, 4))],
                ),
            ],
        );
        assert_eq!(
            rules(&r),
            vec![Rule::SharedRoomSex; 4],
            "two nights, both people: {r:?}"
        );
    }
}
