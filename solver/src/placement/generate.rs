//! Deterministic placement instances for tests and the benchmark, shaped like a city's
//! emergency network (DOMAIN.md, Sendai's hub):
//! * the hub (地域生活支援拠点) with 2 emergency rooms of one bed each, nearly always free;
//! * short-stay facilities (短期入所) of 4-20 beds: single rooms, shared rooms of 2 or 4
//!   ([`SexPolicy::SameAsOccupants`] or men's / women's rooms), wheelchair beds mostly where
//!   physical disability is accepted, some with medical care, behavioural support, children;
//! * group-home trial rooms (体験室): one bed, one sex, adults;
//! * regular bookings take about two thirds of the community bed-nights, in blocks of 1-10
//!   nights; a shared room's occupants change sex in blocks of one to three weeks;
//! * requests of 1-14 nights (mostly short), ~10 % wheelchair, ~10 % medical care, ~10 %
//!   behavioural support, ~15 % children, homes spread over 20 × 20 km.
//!
//! Sizes: [`Size::SearchState`] is 2,000 beds × 365 nights (the state a search runs on),
//! [`Size::Batch`] 200 requests over 500 beds × 30 nights, [`Size::Small`] 60 × 120 × 21.
//! The same arguments always give the same instance (a small SplitMix64 generator, no
//! dependency whose output could change between versions).

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::model::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// 60 requests, 120 beds, 21 nights.
    Small,
    /// 200 requests over 500 beds × 30 nights.
    Batch,
    /// 2,000 beds × 365 nights, 1,000 requests to search for.
    SearchState,
}

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Size, String> {
        match s.to_ascii_lowercase().as_str() {
            "small" => Ok(Size::Small),
            "batch" => Ok(Size::Batch),
            "search" | "search_state" => Ok(Size::SearchState),
            _ => Err(format!(
                "size must be small, batch or search (got {s:?}) / サイズは small, batch, search のいずれかです"
            )),
        }
    }
}

pub fn sized(size: Size, seed: u64) -> Instance {
    match size {
        Size::Small => instance(120, 21, 60, seed),
        Size::Batch => instance(500, 30, 200, seed),
        Size::SearchState => instance(2000, 365, 1000, seed),
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn km(&mut self) -> f64 {
        (self.below(2001) as f64) / 100.0
    }
    fn sex(&mut self) -> Sex {
        if self.chance(50) {
            Sex::Male
        } else {
            Sex::Female
        }
    }
}

const PLACES: [&str; 12] = [
    "ひかり",
    "あおば",
    "みどり",
    "さくら",
    "つばさ",
    "やまびこ",
    "こもれび",
    "ひだまり",
    "せせらぎ",
    "かがやき",
    "すずらん",
    "なないろ",
];

/// The first night of every generated instance (start of 令和8年度).
pub fn first_night() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, 1).expect("valid date")
}

/// An instance with `beds` beds (at least the hub's 2), `nights` nights of bookings from
/// [`first_night`] and `requests` requests inside them.
pub fn instance(beds: usize, nights: u32, requests: usize, seed: u64) -> Instance {
    let mut rng = Rng(seed ^ 0x0000_DD5E_ED50_FBED_u64);
    let start = first_night();
    let mut facilities = Vec::new();
    let mut rooms: Vec<Room> = Vec::new();
    let mut bed_list: Vec<Bed> = Vec::new();
    let all_types = vec![
        DisabilityType::Physical,
        DisabilityType::Intellectual,
        DisabilityType::Mental,
        DisabilityType::Developmental,
        DisabilityType::IntractableDisease,
    ];

    // The hub: two emergency rooms, one wheelchair bed.
    facilities.push(Facility {
        id: 1,
        name: "地域生活支援拠点 緊急用居室".into(),
        kind: FacilityKind::HubEmergency,
        location: Location {
            x_km: 10.0,
            y_km: 10.0,
        },
        disability_types: all_types.clone(),
        adults: true,
        children: true,
        medical_care: vec![MedicalCare::Suction, MedicalCare::TubeFeeding],
        behavioural_support: true,
        night_staff: true,
    });
    for i in 0..2u32 {
        rooms.push(Room {
            id: i + 1,
            facility: 1,
            name: format!("緊急用居室{}", i + 1),
            sex_policy: SexPolicy::Any,
        });
        bed_list.push(Bed {
            id: i + 1,
            room: i + 1,
            name: format!("緊急{}", i + 1),
            wheelchair: i == 0,
        });
    }

    let mut remaining = beds.saturating_sub(2);
    while remaining > 0 {
        let id = facilities.len() as u32 + 1;
        let place = PLACES[rng.below(PLACES.len() as u64) as usize];
        let location = Location {
            x_km: rng.km(),
            y_km: rng.km(),
        };
        if rng.chance(10) {
            // A group-home trial room: one bed, one sex, adults.
            let mut types = vec![DisabilityType::Intellectual];
            if rng.chance(50) {
                types.push(DisabilityType::Mental);
            }
            facilities.push(Facility {
                id,
                name: format!("グループホーム{place}{id} 体験室"),
                kind: FacilityKind::GroupHomeTrial,
                location,
                disability_types: types,
                adults: true,
                children: false,
                medical_care: vec![],
                behavioural_support: rng.chance(10),
                night_staff: rng.chance(50),
            });
            let room = rooms.len() as u32 + 1;
            rooms.push(Room {
                id: room,
                facility: id,
                name: "体験室".into(),
                sex_policy: if rng.chance(50) {
                    SexPolicy::Male
                } else {
                    SexPolicy::Female
                },
            });
            bed_list.push(Bed {
                id: bed_list.len() as u32 + 1,
                room,
                name: "体験室".into(),
                wheelchair: rng.chance(15),
            });
            remaining -= 1;
            continue;
        }
        let size = (4 + rng.below(17) as usize).min(remaining);
        let mut types = Vec::new();
        for (t, p) in [
            (DisabilityType::Physical, 60),
            (DisabilityType::Intellectual, 80),
            (DisabilityType::Mental, 40),
            (DisabilityType::Developmental, 50),
            (DisabilityType::IntractableDisease, 20),
        ] {
            if rng.chance(p) {
                types.push(t);
            }
        }
        if types.is_empty() {
            types.push(DisabilityType::Intellectual);
        }
        let children = rng.chance(30);
        let adults = !children || rng.chance(70);
        let mut medical_care = Vec::new();
        if rng.chance(25) {
            for (c, p) in [
                (MedicalCare::Suction, 80),
                (MedicalCare::TubeFeeding, 60),
                (MedicalCare::Oxygen, 50),
                (MedicalCare::Catheter, 40),
            ] {
                if rng.chance(p) {
                    medical_care.push(c);
                }
            }
        }
        let physical = types.contains(&DisabilityType::Physical);
        facilities.push(Facility {
            id,
            name: format!("短期入所{place}{id}"),
            kind: FacilityKind::ShortStay,
            location,
            disability_types: types,
            adults,
            children,
            medical_care,
            behavioural_support: rng.chance(25),
            night_staff: rng.chance(85),
        });
        let mut left = size;
        while left > 0 {
            let room_size = match rng.below(100) {
                0..=34 => 1,
                35..=69 => 2,
                _ => 4,
            }
            .min(left);
            let policy = if room_size == 1 {
                match rng.below(100) {
                    0..=69 => SexPolicy::Any,
                    70..=84 => SexPolicy::Male,
                    _ => SexPolicy::Female,
                }
            } else {
                match rng.below(100) {
                    0..=49 => SexPolicy::SameAsOccupants,
                    50..=74 => SexPolicy::Male,
                    _ => SexPolicy::Female,
                }
            };
            let room = rooms.len() as u32 + 1;
            rooms.push(Room {
                id: room,
                facility: id,
                name: format!("{}号室", 100 + room),
                sex_policy: policy,
            });
            for k in 0..room_size {
                bed_list.push(Bed {
                    id: bed_list.len() as u32 + 1,
                    room,
                    name: format!("{}号室{}", 100 + room, ["A", "B", "C", "D"][k]),
                    wheelchair: rng.chance(if physical { 40 } else { 5 }),
                });
            }
            left -= room_size;
        }
        remaining -= size;
    }

    // Regular bookings.
    let mut taken = Vec::new();
    let night = |i: u32| start + Days::new(u64::from(i));
    // The sex of each shared room's occupants, night by night, in blocks of 7-21 nights.
    let mut room_sex: Vec<Vec<Sex>> = Vec::with_capacity(rooms.len());
    for _ in &rooms {
        let mut line = Vec::with_capacity(nights as usize);
        while line.len() < nights as usize {
            let sex = rng.sex();
            let len = 7 + rng.below(15) as usize;
            line.extend(std::iter::repeat_n(sex, len));
        }
        line.truncate(nights as usize);
        room_sex.push(line);
    }
    for b in &bed_list {
        let room = &rooms[b.room as usize - 1];
        let hub = room.facility == 1;
        let mut i = 0u32;
        let mut booked = rng.chance(if hub { 5 } else { 69 });
        while i < nights {
            let len = if booked {
                if hub {
                    1 + rng.below(2) as u32
                } else {
                    1 + rng.below(10) as u32
                }
            } else if hub {
                10 + rng.below(30) as u32
            } else {
                1 + rng.below(4) as u32
            };
            let end = (i + len).min(nights);
            if booked {
                let person = match room.sex_policy {
                    SexPolicy::Male => Some(Sex::Male),
                    SexPolicy::Female => Some(Sex::Female),
                    SexPolicy::Any => (!rng.chance(10)).then(|| rng.sex()),
                    SexPolicy::SameAsOccupants => None,
                };
                for k in i..end {
                    let sex = if room.sex_policy == SexPolicy::SameAsOccupants {
                        Some(room_sex[room.id as usize - 1][k as usize])
                    } else {
                        person
                    };
                    taken.push(Taken {
                        bed: b.id,
                        night: night(k),
                        sex,
                    });
                }
            }
            i = end;
            booked = !booked;
        }
    }

    // Requests.
    let community: Vec<FacilityId> = facilities.iter().skip(1).map(|f| f.id).collect();
    let requests = (0..requests as u32)
        .map(|k| {
            let len = match rng.below(100) {
                0..=49 => 1 + rng.below(3),
                50..=79 => 4 + rng.below(4),
                _ => 8 + rng.below(7),
            } as u32;
            let len = len.min(nights.max(1));
            let from = rng.below(u64::from(nights.saturating_sub(len)) + 1) as u32;
            let child = rng.chance(15);
            let mut disability_types = Vec::new();
            if child {
                disability_types.push(if rng.chance(60) {
                    DisabilityType::Developmental
                } else {
                    DisabilityType::Intellectual
                });
            } else {
                disability_types.push(match rng.below(100) {
                    0..=44 => DisabilityType::Intellectual,
                    45..=64 => DisabilityType::Physical,
                    65..=89 => DisabilityType::Mental,
                    _ => DisabilityType::IntractableDisease,
                });
                if rng.chance(20) {
                    let t = all_types[rng.below(all_types.len() as u64) as usize];
                    if !disability_types.contains(&t) {
                        disability_types.push(t);
                    }
                }
            }
            let wheelchair = rng.chance(10);
            if wheelchair && !disability_types.contains(&DisabilityType::Physical) {
                disability_types.push(DisabilityType::Physical);
            }
            let mut medical_care = Vec::new();
            if rng.chance(10) {
                medical_care.push(match rng.below(4) {
                    0 => MedicalCare::Suction,
                    1 => MedicalCare::TubeFeeding,
                    2 => MedicalCare::Oxygen,
                    _ => MedicalCare::Catheter,
                });
            }
            let mut known_facilities = Vec::new();
            if rng.chance(30) && !community.is_empty() {
                for _ in 0..1 + rng.below(2) {
                    let f = community[rng.below(community.len() as u64) as usize];
                    if !known_facilities.contains(&f) {
                        known_facilities.push(f);
                    }
                }
            }
            Request {
                id: k + 1,
                label: format!("R-{:04}", k + 1),
                needs: Needs {
                    sex: rng.sex(),
                    child,
                    disability_types,
                    wheelchair,
                    medical_care,
                    behavioural_support: rng.chance(10),
                    night_staff: rng.chance(30),
                    not_at: Vec::new(),
                },
                nights: Nights::new(night(from), night(from + len)),
                home: Location {
                    x_km: rng.km(),
                    y_km: rng.km(),
                },
                known_facilities,
                urgency: 1 + rng.below(5) as u8,
                max_distance_km: None,
            }
        })
        .collect();

    Instance {
        facilities,
        rooms,
        beds: bed_list,
        taken,
        requests,
        max_transfers: 2,
        weights: Weights::default(),
        time_limit_seconds: 10.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placement::rules::Index;
    use crate::placement::validate::validate;

    #[test]
    fn instances_are_deterministic_and_shaped_as_documented() {
        let a = instance(500, 30, 200, 1);
        assert_eq!(a, instance(500, 30, 200, 1));
        assert_ne!(a, instance(500, 30, 200, 2));
        assert_eq!(a.beds.len(), 500);
        assert_eq!(a.requests.len(), 200);
        let hub: Vec<_> = a
            .facilities
            .iter()
            .filter(|f| f.kind == FacilityKind::HubEmergency)
            .collect();
        assert_eq!(hub.len(), 1);
        assert_eq!(
            a.rooms.iter().filter(|r| r.facility == hub[0].id).count(),
            2
        );
        assert!(a
            .rooms
            .iter()
            .any(|r| r.sex_policy == SexPolicy::SameAsOccupants));
        assert!(a
            .facilities
            .iter()
            .any(|f| f.kind == FacilityKind::GroupHomeTrial));
        let community_beds = a.beds.len() - 2;
        let community_taken = a.taken.iter().filter(|t| t.bed > 2).count();
        let share = community_taken as f64 / (community_beds as f64 * 30.0);
        assert!((0.6..=0.75).contains(&share), "taken share {share}");
        let pct = |f: &dyn Fn(&Request) -> bool| {
            a.requests.iter().filter(|r| f(r)).count() as f64 / a.requests.len() as f64
        };
        assert!((0.05..0.2).contains(&pct(&|r| r.needs.wheelchair)));
        assert!((0.08..0.25).contains(&pct(&|r| r.needs.child)));
        assert!(a
            .requests
            .iter()
            .all(|r| (1..=14).contains(&r.nights.len())));
        // The state itself is valid: no shared room holds both sexes on a night.
        let ix = Index::new(&a);
        for r in a
            .rooms
            .iter()
            .filter(|r| r.sex_policy == SexPolicy::SameAsOccupants)
        {
            for n in Nights::new(first_night(), first_night() + Days::new(30)).iter() {
                let s = ix.occupants(r.id, n);
                assert!(!(s.has(Sex::Male) && s.has(Sex::Female)));
            }
        }
        assert!(validate(&a, &[]).is_valid());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!("batch".parse::<Size>(), Ok(Size::Batch));
        assert_eq!("search".parse::<Size>(), Ok(Size::SearchState));
        assert!("xl".parse::<Size>().is_err());
    }
}
