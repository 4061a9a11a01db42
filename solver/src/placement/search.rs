//! Vacancy search for one request (空床検索): what hub staff look at when a call comes in.
//!
//! - `whole`: every bed that fits and is free for all nights, community beds first (the hub's
//!   emergency room is the reserve, offered last whatever it costs), then by the stay's soft
//!   cost ([`super::score::segment_cost`]: hub nights, distance from home, unknown facility);
//! - `split`: only when no bed covers all nights, the stay with the fewest changes of bed
//!   (at most `max_transfers`), cheapest among those;
//! - `misses`: for every facility without a whole-stay bed, why not, in plain words: a static
//!   reason (does not take children, no wheelchair bed for women, ...) or the nights on which
//!   none of its fitting beds is free.
//!
//! The load-over-share goal is a batch goal and not part of a single search's cost.

use serde::{Deserialize, Serialize};

use super::model::*;
use super::rules::{self, describe_nights, BedAt, Index};
use super::score::segment_cost;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BedOption {
    pub bed: BedId,
    pub room: RoomId,
    pub facility: FacilityId,
    /// Soft cost of the whole stay in this bed.
    pub cost: f64,
    pub distance_km: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitStay {
    pub segments: Vec<Segment>,
    /// Changes of bed: `segments.len() - 1`.
    pub transfers: u32,
    /// Soft cost of the segments plus the transfers.
    pub cost: f64,
}

/// Why a facility has no bed for the whole stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FacilityMiss {
    pub facility: FacilityId,
    pub reason: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    pub whole: Vec<BedOption>,
    pub split: Option<SplitStay>,
    pub misses: Vec<FacilityMiss>,
}

/// A statically fitting bed and, for every night position `i` of the stay, where the run of
/// free nights starting there ends (`run_end[i] == i` when night `i` is not free).
#[derive(Clone)]
pub(crate) struct FitBed<'a> {
    pub at: BedAt<'a>,
    pub run_end: Vec<u32>,
    /// `seg_cost[len]`: [`segment_cost`] of `len` nights in this bed (index 0 unused).
    pub seg_cost: Vec<f64>,
}

impl FitBed<'_> {
    pub fn whole(&self) -> bool {
        !self.run_end.is_empty() && self.run_end[0] as usize == self.run_end.len()
    }
}

/// The statically fitting beds with their free runs over the request's nights.
pub(crate) fn fit_beds<'a>(index: &Index<'a>, request: &Request, w: &Weights) -> Vec<FitBed<'a>> {
    let n = request.nights.len() as usize;
    let nights: Vec<_> = request.nights.iter().collect();
    index
        .fitting(&request.needs)
        .into_iter()
        .filter(|at| rules::too_far(request, at.facility).is_none())
        .map(|at| {
            let mut run_end = vec![0u32; n];
            let mut end = n as u32;
            for i in (0..n).rev() {
                if index.free(&at, nights[i], request.needs.sex) {
                    run_end[i] = end;
                } else {
                    run_end[i] = i as u32;
                    end = i as u32;
                }
            }
            let seg_cost = (0..=n as u32)
                .map(|len| segment_cost(w, request, at.facility, len))
                .collect();
            FitBed {
                at,
                run_end,
                seg_cost,
            }
        })
        .collect()
}

/// A stay as positions: (bed in `beds`, first night position, end position exclusive).
pub(crate) type Path = Vec<(usize, u32, u32)>;

pub(crate) fn to_segments(beds: &[FitBed], request: &Request, path: &Path) -> Vec<Segment> {
    let day = |i: u32| request.nights.from + chrono::Days::new(u64::from(i));
    path.iter()
        .map(|&(b, from, to)| Segment {
            bed: beds[b].at.bed.id,
            nights: Nights::new(day(from), day(to)),
        })
        .collect()
}

/// The stay with the fewest segments (at most `max_segments`), cheapest among those, over
/// nights `0..n`; a DP over night positions, lexicographic in (segments, cost).
pub(crate) fn fewest_segments(
    beds: &[FitBed],
    n: usize,
    transfer: f64,
    max_segments: u32,
) -> Option<(Path, f64)> {
    #[derive(Clone, Copy)]
    struct Best {
        segments: u32,
        cost: f64,
        prev: usize,
        bed: usize,
    }
    let mut best: Vec<Option<Best>> = vec![None; n + 1];
    best[0] = Some(Best {
        segments: 0,
        cost: 0.0,
        prev: 0,
        bed: 0,
    });
    for i in 0..n {
        let Some(here) = best[i] else { continue };
        if here.segments >= max_segments {
            continue;
        }
        let change = if i > 0 { transfer } else { 0.0 };
        for (b, fb) in beds.iter().enumerate() {
            #[allow(clippy::needless_range_loop)] // j is a night position, not just an index
            for j in i + 1..=fb.run_end[i] as usize {
                let cand = Best {
                    segments: here.segments + 1,
                    cost: here.cost + change + fb.seg_cost[j - i],
                    prev: i,
                    bed: b,
                };
                let better = match best[j] {
                    None => true,
                    Some(old) => (cand.segments, cand.cost) < (old.segments, old.cost),
                };
                if better {
                    best[j] = Some(cand);
                }
            }
        }
    }
    let last = best[n]?;
    let mut path = Vec::new();
    let mut j = n;
    while j > 0 {
        let b = best[j].expect("reached");
        path.push((b.bed, b.prev as u32, j as u32));
        j = b.prev;
    }
    path.reverse();
    Some((path, last.cost))
}

/// Search with an index built for the request's nights only (cheap on a year-long state).
pub fn search(instance: &Instance, request: &Request) -> SearchResult {
    let index = Index::within(instance, request.nights);
    search_in(&index, request)
}

/// Search against a prepared index (the greedy baseline keeps one and updates it).
pub fn search_in(index: &Index, request: &Request) -> SearchResult {
    let instance = index.instance;
    let w = &instance.weights;
    let n = request.nights.len() as usize;
    let beds = fit_beds(index, request, w);
    let mut whole: Vec<(bool, BedOption)> = beds
        .iter()
        .filter(|fb| n > 0 && fb.whole())
        .map(|fb| {
            (
                fb.at.facility.kind.is_community(),
                BedOption {
                    bed: fb.at.bed.id,
                    room: fb.at.room.id,
                    facility: fb.at.facility.id,
                    cost: fb.seg_cost[n],
                    distance_km: fb.at.facility.location.distance_km(&request.home),
                },
            )
        })
        .collect();
    whole.sort_by(|(ca, a), (cb, b)| {
        cb.cmp(ca)
            .then(a.cost.total_cmp(&b.cost))
            .then(a.distance_km.total_cmp(&b.distance_km))
            .then(a.bed.cmp(&b.bed))
    });
    // A split stay where no community bed covers the stay: over every bed when nothing does,
    // over community beds only when the hub's own room would (the aim is to spread stays to
    // community short-stay and group homes, Sendai; the hub's room is the reserve).
    let community_whole = whole.iter().any(|(community, _)| *community);
    let whole: Vec<BedOption> = whole.into_iter().map(|(_, o)| o).collect();
    let pool: Vec<FitBed> = if whole.is_empty() {
        beds.clone()
    } else {
        beds.iter()
            .filter(|b| b.at.facility.kind.is_community())
            .cloned()
            .collect()
    };
    let split = if !community_whole && n > 1 {
        fewest_segments(&pool, n, w.transfer, instance.max_transfers + 1)
            .filter(|(path, _)| path.len() > 1)
            .map(|(path, cost)| SplitStay {
                transfers: path.len() as u32 - 1,
                segments: to_segments(&pool, request, &path),
                cost,
            })
    } else {
        None
    };
    let misses = if n == 0 {
        Vec::new()
    } else {
        facility_misses(index, request, &beds)
    };
    SearchResult {
        whole,
        split,
        misses,
    }
}

/// For every facility without a whole-stay bed, why not.
fn facility_misses(index: &Index, request: &Request, beds: &[FitBed]) -> Vec<FacilityMiss> {
    let needs = &request.needs;
    let n = request.nights.len() as usize;
    let mut out = Vec::new();
    for f in &index.instance.facilities {
        let fitting: Vec<&FitBed> = beds.iter().filter(|b| b.at.facility.id == f.id).collect();
        if fitting.iter().any(|b| b.whole()) {
            continue;
        }
        let reason = if !fitting.is_empty() {
            let night = |i: u32| request.nights.from + chrono::Days::new(u64::from(i));
            // A bed that is not taken but may not be given: a shared room with someone of
            // the other sex that night (the rule, not a lack of beds).
            let by_sex = |b: &FitBed, i: u32| {
                !index.is_taken(b.at.bed.id, night(i)) && !index.free(&b.at, night(i), needs.sex)
            };
            let (sex_ja, sex_en) = rules::sex_name(rules::other(needs.sex));
            let shared = |nights: &Text| {
                Text::new(
                    format!(
                        "{}は空いているベッドが相部屋で、{sex_ja}の利用者がいる（同性のみの部屋）",
                        nights.ja
                    ),
                    format!(
                        "on {} the free beds are in a shared room with {sex_en} (same sex only)",
                        nights.en
                    ),
                )
            };
            let missing: Vec<u32> = (0..n)
                .filter(|&i| fitting.iter().all(|b| b.run_end[i] as usize == i))
                .map(|i| i as u32)
                .collect();
            if missing.is_empty() {
                // Some bed each night. A bed not taken on any night, refused on some by the
                // shared-room rule, is the reason; else only a change of bed would do.
                let untaken = fitting
                    .iter()
                    .find(|b| (0..n as u32).all(|i| !index.is_taken(b.at.bed.id, night(i))));
                match untaken {
                    Some(b) => {
                        let blocked: Vec<u32> = (0..n as u32).filter(|&i| by_sex(b, i)).collect();
                        shared(&describe_nights(request.nights, &blocked))
                    }
                    None => Text::new(
                        "全泊を通して空いているベッドがない（途中でベッドの移動が必要）",
                        "no bed is free for all nights (a change of bed would be needed)",
                    ),
                }
            } else {
                let (sex_rule, full): (Vec<u32>, Vec<u32>) = missing
                    .iter()
                    .partition(|&&i| fitting.iter().any(|b| by_sex(b, i)));
                let full_text = |nights: &Text| {
                    Text::new(
                        format!("{}に空きがない", nights.ja),
                        format!("no free bed on {}", nights.en),
                    )
                };
                match (full.is_empty(), sex_rule.is_empty()) {
                    (false, true) => full_text(&describe_nights(request.nights, &full)),
                    (true, _) => shared(&describe_nights(request.nights, &sex_rule)),
                    (false, false) => {
                        let a = full_text(&describe_nights(request.nights, &full));
                        let b = shared(&describe_nights(request.nights, &sex_rule));
                        Text::new(format!("{}。{}", a.ja, b.ja), format!("{}; {}", a.en, b.en))
                    }
                }
            }
        } else if let Some(why) = rules::too_far(request, f) {
            why
        } else if let Some(why) = rules::facility_unfit(f, needs) {
            why
        } else {
            let own: Vec<&BedAt> = index
                .beds()
                .iter()
                .filter(|b| b.facility.id == f.id)
                .collect();
            let any_wheelchair = own.iter().any(|b| b.bed.wheelchair);
            let any_sex = own.iter().any(|b| !rules::room_sex_unfit(b.room, needs));
            let (sex_ja, sex_en) = rules::sex_name(needs.sex);
            if own.is_empty() {
                Text::new("ベッドが登録されていない", "no beds registered")
            } else if needs.wheelchair && !any_wheelchair {
                Text::new("車椅子対応のベッドがない", "no wheelchair-accessible bed")
            } else if !any_sex && !needs.wheelchair {
                Text::new(
                    format!("{sex_ja}が利用できるベッドがない"),
                    format!("no bed for {sex_en}"),
                )
            } else {
                Text::new(
                    format!("{sex_ja}が利用できる車椅子対応ベッドがない"),
                    format!("no wheelchair-accessible bed for {sex_en}"),
                )
            }
        };
        out.push(FacilityMiss {
            facility: f.id,
            reason,
        });
    }
    out
}

/// Why a request cannot be placed at all (no candidate stay), in plain words.
pub(crate) fn why_unplaceable(request: &Request, beds: &[FitBed], max_transfers: u32) -> Text {
    let n = request.nights.len() as usize;
    if n == 0 {
        return Text::new("泊数が0", "the stay has no nights");
    }
    if beds.is_empty() {
        if let Some(limit) = request.max_distance_km {
            return Text::new(
                format!("自宅から{limit}km以内に条件に合うベッドがない"),
                format!("no bed that fits the needs within {limit} km of home"),
            );
        }
        return Text::new(
            "条件に合うベッドがどの事業所にもない",
            "no facility has a bed that fits the needs",
        );
    }
    let missing: Vec<u32> = (0..n)
        .filter(|&i| beds.iter().all(|b| b.run_end[i] as usize == i))
        .map(|i| i as u32)
        .collect();
    if !missing.is_empty() {
        let nights = describe_nights(request.nights, &missing);
        return Text::new(
            format!("{}は条件に合う空きがどこにもない", nights.ja),
            format!("no fitting bed is free anywhere on {}", nights.en),
        );
    }
    Text::new(
        format!("ベッドの移動{max_transfers}回以内では全泊をまかなえない"),
        format!("the nights cannot be covered with at most {max_transfers} changes of bed"),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::NaiveDate;

    pub fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    pub fn facility(id: FacilityId, kind: FacilityKind, x_km: f64) -> Facility {
        Facility {
            id,
            name: format!("事業所{id}"),
            kind,
            location: Location { x_km, y_km: 0.0 },
            disability_types: vec![
                DisabilityType::Physical,
                DisabilityType::Intellectual,
                DisabilityType::Mental,
            ],
            adults: true,
            children: false,
            medical_care: vec![],
            behavioural_support: false,
            night_staff: true,
        }
    }

    pub fn room(id: RoomId, facility: FacilityId, sex_policy: SexPolicy) -> Room {
        Room {
            id,
            facility,
            name: format!("{id}号室"),
            sex_policy,
        }
    }

    pub fn bed(id: BedId, room: RoomId, wheelchair: bool) -> Bed {
        Bed {
            id,
            room,
            name: format!("ベッド{id}"),
            wheelchair,
        }
    }

    pub fn request(id: RequestId, sex: Sex, from: NaiveDate, to: NaiveDate) -> Request {
        Request {
            id,
            label: format!("R{id}"),
            needs: Needs {
                sex,
                child: false,
                disability_types: vec![DisabilityType::Intellectual],
                wheelchair: false,
                medical_care: vec![],
                behavioural_support: false,
                night_staff: false,
                not_at: vec![],
            },
            nights: Nights::new(from, to),
            home: Location::default(),
            known_facilities: vec![],
            urgency: 3,
            max_distance_km: None,
        }
    }

    pub fn taken(bed: BedId, from: NaiveDate, to: NaiveDate, sex: Option<Sex>) -> Vec<Taken> {
        Nights::new(from, to)
            .iter()
            .map(|night| Taken { bed, night, sex })
            .collect()
    }

    /// A hub room next door (0 km), two short-stay facilities 5 and 12 km away, one with a
    /// shared room, one group-home trial room.
    pub fn town() -> Instance {
        Instance {
            facilities: vec![
                facility(1, FacilityKind::HubEmergency, 0.0),
                facility(2, FacilityKind::ShortStay, 5.0),
                facility(3, FacilityKind::ShortStay, 12.0),
                facility(4, FacilityKind::GroupHomeTrial, 8.0),
            ],
            rooms: vec![
                room(10, 1, SexPolicy::Any),
                room(20, 2, SexPolicy::SameAsOccupants),
                room(21, 2, SexPolicy::Female),
                room(30, 3, SexPolicy::Any),
                room(40, 4, SexPolicy::Male),
            ],
            beds: vec![
                bed(100, 10, true),
                bed(200, 20, false),
                bed(201, 20, false),
                bed(210, 21, false),
                bed(300, 30, true),
                bed(400, 40, false),
            ],
            taken: vec![],
            requests: vec![],
            max_transfers: 2,
            weights: Weights::default(),
            time_limit_seconds: 10.0,
        }
    }

    #[test]
    fn community_beds_come_before_the_hub_room() {
        let inst = town();
        let r = request(1, Sex::Female, d(5, 1), d(5, 4));
        let res = search(&inst, &r);
        let order: Vec<BedId> = res.whole.iter().map(|o| o.bed).collect();
        // Hub (0 km) is cheapest by distance but is the reserve: last.
        assert_eq!(order, vec![200, 201, 210, 300, 100]);
        assert_eq!(res.whole[0].facility, 2);
        assert!((res.whole[0].cost - (5.0 + 3.0 * 3.0)).abs() < 1e-9);
        assert!((res.whole[4].cost - (20.0 * 3.0 + 3.0 * 3.0)).abs() < 1e-9);
        assert!(res.split.is_none());
        // The male-only trial room is a miss for a woman.
        assert_eq!(res.misses.len(), 1);
        assert_eq!(res.misses[0].facility, 4);
        assert_eq!(res.misses[0].reason.ja, "女性が利用できるベッドがない");
    }

    #[test]
    fn known_facilities_are_cheaper() {
        let inst = town();
        let mut r = request(1, Sex::Female, d(5, 1), d(5, 4));
        r.known_facilities = vec![3];
        let res = search(&inst, &r);
        assert_eq!(res.whole[0].facility, 3);
    }

    #[test]
    fn a_woman_cannot_join_men_in_a_shared_room() {
        let mut inst = town();
        inst.taken = taken(200, d(5, 2), d(5, 3), Some(Sex::Male));
        let r = request(1, Sex::Female, d(5, 1), d(5, 4));
        let res = search(&inst, &r);
        let beds: Vec<BedId> = res.whole.iter().map(|o| o.bed).collect();
        assert!(!beds.contains(&200) && !beds.contains(&201));
        let man = request(2, Sex::Male, d(5, 1), d(5, 4));
        let beds: Vec<BedId> = search(&inst, &man).whole.iter().map(|o| o.bed).collect();
        assert!(beds.contains(&201) && !beds.contains(&200));
    }

    /// Sendai (003): a shared room is used by one sex at a time; when that rule refuses a bed
    /// that is free, the reason says so ("no vacancy" would be wrong).
    #[test]
    fn a_bed_refused_by_the_shared_room_rule_is_explained_by_the_rule() {
        let mut inst = town();
        // Facility 2: a man in bed 200 on 5/2 only; bed 201 is free every night, and the
        // women's room's bed 210 is taken all along.
        let mut t = taken(200, d(5, 2), d(5, 3), Some(Sex::Male));
        t.extend(taken(210, d(5, 1), d(5, 5), None));
        inst.taken = t;
        let r = request(1, Sex::Female, d(5, 1), d(5, 4));
        let res = search(&inst, &r);
        let miss = res
            .misses
            .iter()
            .find(|m| m.facility == 2)
            .expect("facility 2 is a miss");
        assert_eq!(
            miss.reason.ja,
            "2泊目（5/2）は空いているベッドが相部屋で、男性の利用者がいる（同性のみの部屋）"
        );
        assert!(
            miss.reason.en.contains("shared room with men"),
            "{}",
            miss.reason.en
        );
        // Bed 201 taken on 5/3 as well: night 2 is the rule's, night 3 has no bed at all.
        inst.taken.extend(taken(201, d(5, 3), d(5, 4), None));
        inst.taken.extend(taken(200, d(5, 3), d(5, 4), None));
        let res = search(&inst, &r);
        let miss = res.misses.iter().find(|m| m.facility == 2).unwrap();
        assert_eq!(
            miss.reason.ja,
            "3泊目（5/3）に空きがない。2泊目（5/2）は空いているベッドが相部屋で、男性の利用者がいる（同性のみの部屋）"
        );
    }

    /// Sendai (003) aims to spread stays to community short-stay and group homes: where only
    /// the hub's own room covers the stay, a community split stay is offered as well.
    #[test]
    fn a_community_split_is_offered_when_only_the_hub_room_covers_the_stay() {
        let mut inst = town();
        let mut t = Vec::new();
        t.extend(taken(200, d(5, 3), d(5, 8), None));
        t.extend(taken(201, d(5, 1), d(5, 8), None));
        t.extend(taken(210, d(5, 1), d(5, 3), None));
        t.extend(taken(300, d(5, 2), d(5, 8), None));
        inst.taken = t;
        let r = request(1, Sex::Female, d(5, 1), d(5, 6));
        let res = search(&inst, &r);
        let whole: Vec<BedId> = res.whole.iter().map(|o| o.bed).collect();
        assert_eq!(whole, vec![100], "only the hub's room covers 5/1-5/5");
        let split = res.split.expect("a community split stay as well");
        let beds: Vec<BedId> = split.segments.iter().map(|s| s.bed).collect();
        assert_eq!(beds, vec![200, 210]);
        assert!(split.cost > 0.0);
    }

    /// Sendai (003): a trial bed 80 km away must not rank ahead of the hub's room next door;
    /// a request's distance limit keeps far facilities out, and says why.
    #[test]
    fn a_distance_limit_keeps_far_facilities_out() {
        let inst = town();
        let mut r = request(1, Sex::Female, d(5, 1), d(5, 4));
        r.max_distance_km = Some(10.0);
        let res = search(&inst, &r);
        let facilities: Vec<FacilityId> = res.whole.iter().map(|o| o.facility).collect();
        assert!(!facilities.contains(&3), "12 km is too far: {facilities:?}");
        assert!(
            facilities.contains(&2) && facilities.contains(&1),
            "{facilities:?}"
        );
        let miss = res.misses.iter().find(|m| m.facility == 3).unwrap();
        assert_eq!(miss.reason.ja, "自宅から12.0km（上限10km）");
        // The validator refuses a placement beyond the limit.
        let mut inst = town();
        inst.requests = vec![r.clone()];
        let far = crate::placement::model::Placement {
            request: 1,
            segments: vec![Segment {
                bed: 300,
                nights: r.nights,
            }],
            unplaced_reason: None,
        };
        let report = crate::placement::validate::validate(&inst, &[far]);
        assert!(
            report
                .violations
                .iter()
                .any(|v| v.rule == crate::placement::validate::Rule::TooFar),
            "{:?}",
            report.violations
        );
    }

    #[test]
    fn split_stay_has_the_fewest_transfers() {
        // Seven nights 5/1-5/7 (no hub). Bed 200 is free 5/1-5/3, bed 210 from 5/3 on,
        // bed 300 on 5/1-5/2 and 5/4-5/5 only: the best split is 200 then 210 (one
        // transfer); 300 would need more.
        let mut inst = town();
        inst.facilities.retain(|f| f.id != 1);
        let mut t = Vec::new();
        t.extend(taken(200, d(5, 4), d(5, 8), None));
        t.extend(taken(201, d(5, 1), d(5, 8), None));
        t.extend(taken(210, d(5, 1), d(5, 3), None));
        t.extend(taken(300, d(5, 3), d(5, 4), None));
        t.extend(taken(300, d(5, 6), d(5, 8), None));
        inst.taken = t;
        let r = request(1, Sex::Female, d(5, 1), d(5, 8));
        let res = search(&inst, &r);
        assert!(res.whole.is_empty());
        let split = res.split.expect("a split stay");
        assert_eq!(split.transfers, 1);
        assert_eq!(split.segments.len(), 2);
        assert_eq!(split.segments[0].nights.from, d(5, 1));
        assert_eq!(split.segments.last().unwrap().nights.to, d(5, 8));
        assert_eq!(split.segments[0].nights.to, split.segments[1].nights.from);
        // Both at facility 2 (5 km): cheaper than 300 (12 km) then 210.
        assert_eq!(split.segments[0].bed, 200);
        assert_eq!(split.segments[1].bed, 210);
        let cost = 2.0 * 5.0 + 7.0 * 3.0 + 30.0;
        assert!((split.cost - cost).abs() < 1e-9, "{}", split.cost);
        // With no transfer allowed there is nothing.
        inst.max_transfers = 0;
        assert!(search(&inst, &r).split.is_none());
    }

    #[test]
    fn misses_name_the_missing_nights_and_static_reasons() {
        let mut inst = town();
        let mut t = Vec::new();
        // Facility 3's only bed is taken 5/3-5/5 (nights 3-5 of a stay from 5/1).
        t.extend(taken(300, d(5, 3), d(5, 6), None));
        inst.taken = t;
        let mut r = request(1, Sex::Female, d(5, 1), d(5, 7));
        r.needs.wheelchair = true;
        let res = search(&inst, &r);
        let miss = |f| res.misses.iter().find(|m| m.facility == f).unwrap();
        assert_eq!(miss(3).reason.ja, "3泊目〜5泊目（5/3〜5/5）に空きがない");
        assert_eq!(miss(3).reason.en, "no free bed on nights 3-5 (5/3-5/5)");
        assert_eq!(miss(2).reason.ja, "車椅子対応のベッドがない");
        assert_eq!(miss(4).reason.ja, "車椅子対応のベッドがない");
        // The hub has a wheelchair bed free all along.
        assert_eq!(res.whole.len(), 1);
        assert_eq!(res.whole[0].bed, 100);

        // A wheelchair bed only in a men's room, for a woman.
        let mut inst = town();
        inst.beds.push(bed(401, 40, true));
        let res = search(&inst, &r);
        let m4 = res.misses.iter().find(|m| m.facility == 4).unwrap();
        assert_eq!(m4.reason.ja, "女性が利用できる車椅子対応ベッドがない");
        assert_eq!(m4.reason.en, "no wheelchair-accessible bed for women");

        // A child at an adults-only facility.
        let mut r = request(2, Sex::Male, d(5, 1), d(5, 2));
        r.needs.child = true;
        let res = search(&inst, &r);
        assert!(res.whole.is_empty());
        assert!(res
            .misses
            .iter()
            .all(|m| m.reason.en == "does not take children"));
    }

    #[test]
    fn results_serialize_as_json() {
        let inst = town();
        let r = request(1, Sex::Male, d(5, 1), d(5, 3));
        let json = serde_json::to_value(search(&inst, &r)).unwrap();
        assert!(json["whole"].as_array().unwrap().len() > 1);
        assert!(json["whole"][0]["distance_km"].is_number());
    }
}
