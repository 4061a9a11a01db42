//! Deterministic benchmark instances (`renkei bench-instance --size s|m|l --seed N`), shaped
//! like the documents in DOMAIN.md:
//! * **s**: one center, one quarter: ~45 occurrences, 30 people, 5 rooms;
//! * **m**: a city like Kumamoto, one fiscal year: 9 centers over 5 wards, ~400 occurrences,
//!   ~150 people, 15 meeting venues plus the 40 consultation offices that are visited;
//! * **l**: prefecture scale, one fiscal year: 5 such cities (~2,000 occurrences, ~600 people)
//!   sharing external supervisors.
//!
//! The same size and seed always give the same instance (a small SplitMix64 generator, no
//! dependency whose output could change between versions).

use chrono::{Duration, NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use super::model::*;
use crate::calendar::{FiscalYear, OpeningHours, Quarter};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    S,
    M,
    L,
    /// m with what real municipalities have on top: see [`realism`].
    City,
    /// l with the same.
    Pref,
}

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Size, String> {
        match s.to_ascii_lowercase().as_str() {
            "s" => Ok(Size::S),
            "m" => Ok(Size::M),
            "l" => Ok(Size::L),
            "city" => Ok(Size::City),
            "pref" => Ok(Size::Pref),
            _ => Err(format!(
                "size must be s, m, l, city or pref (got {s:?}) / サイズは s, m, l, city, pref のいずれかです"
            )),
        }
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
}

const WARDS: [&str; 5] = ["中央区", "東区", "西区", "南区", "北区"];
const FAMILY: [&str; 24] = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
];
const GIVEN: [&str; 16] = [
    "陽子",
    "誠",
    "美穂",
    "健一",
    "由美",
    "大輔",
    "恵",
    "拓也",
    "直美",
    "翔",
    "真由美",
    "浩二",
    "愛",
    "亮",
    "千尋",
    "修",
];

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

struct Builder {
    rng: Rng,
    inst: Instance,
}

impl Builder {
    fn person(&mut self, org: Option<OrgId>, part_time: bool) -> PersonId {
        let id = self.inst.people.len() as PersonId + 1;
        let name = format!(
            "{} {}",
            FAMILY[self.rng.below(FAMILY.len() as u64) as usize],
            GIVEN[self.rng.below(GIVEN.len() as u64) as usize]
        );
        let working_days = if part_time {
            let all = [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ];
            let skip = self.rng.below(5) as usize;
            all.iter()
                .enumerate()
                .filter(|(i, _)| *i != skip && *i != (skip + 2) % 5)
                .map(|(_, d)| *d)
                .collect()
        } else {
            Vec::new()
        };
        let mut absences = Vec::new();
        let period = self.inst.period;
        let len = (period.to - period.from).num_days().max(1) as u64;
        for _ in 0..self.rng.below(3) {
            let from = period.from + Duration::days(self.rng.below(len) as i64);
            let to = from + Duration::days(self.rng.below(5) as i64);
            absences.push(DateRange { from, to });
        }
        self.inst.people.push(Person {
            id,
            name: format!("{name} ({id})"),
            organisation: org,
            working_days,
            absences,
            hours: None,
            max_meetings_per_day: None,
            max_minutes_per_day: None,
            available: None,
        });
        id
    }

    fn org(&mut self, name: String, ward: &str) -> OrgId {
        let id = self.inst.organisations.len() as OrgId + 1;
        self.inst.organisations.push(Organisation {
            id,
            name,
            ward: ward.to_string(),
        });
        id
    }

    fn venue(&mut self, name: String, rooms: &[(&str, u32)]) -> Vec<RoomId> {
        let id = self.inst.venues.len() as VenueId + 1;
        self.inst.venues.push(Venue {
            id,
            name,
            hours: OpeningHours::default(),
            closures: Vec::new(),
        });
        rooms
            .iter()
            .map(|(name, capacity)| {
                let rid = self.inst.rooms.len() as RoomId + 1;
                let wheelchair = *capacity >= 10 || self.rng.chance(50);
                let hearing_loop = *capacity >= 40;
                self.inst.rooms.push(Room {
                    id: rid,
                    venue: id,
                    name: name.to_string(),
                    capacity: *capacity,
                    wheelchair,
                    hearing_loop,
                });
                rid
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn series(
        &mut self,
        title: String,
        kind: MeetingKind,
        duration: u32,
        required: Vec<PersonId>,
        optional: Vec<PersonId>,
        cadence: Cadence,
        rooms: Vec<RoomId>,
    ) -> SeriesId {
        let id = self.inst.series.len() as SeriesId + 1;
        let afternoon = self.rng.chance(60);
        let preferred_start = Some(if afternoon {
            TimeWindow {
                from: t(13, 30),
                to: t(15, 1),
            }
        } else {
            TimeWindow {
                from: t(9, 30),
                to: t(10, 31),
            }
        });
        let preferred_weekdays = match self.rng.below(4) {
            0 => vec![Weekday::Tue, Weekday::Thu],
            1 => vec![Weekday::Wed],
            2 => vec![Weekday::Mon, Weekday::Wed, Weekday::Fri],
            _ => vec![],
        };
        self.inst.series.push(Series {
            id,
            title,
            kind,
            duration_minutes: duration,
            required,
            optional,
            external_attendees: 0,
            // Only where an allowed room has it: the generator makes feasible instances.
            needs_wheelchair: self.rng.chance(30)
                && (rooms.is_empty()
                    || rooms
                        .iter()
                        .any(|r| self.inst.rooms[*r as usize - 1].wheelchair)),
            needs_hearing_loop: false,
            rooms,
            cadence,
            lead_days: if kind == MeetingKind::CaseReview {
                90
            } else {
                0
            },
            allowed_start: Some(TimeWindow {
                from: t(9, 0),
                to: t(16, 1),
            }),
            preferred_weekdays,
            preferred_start,
            family: None,
        });
        id
    }

    /// Marks the series `ids` as one family (one duty per ward or per office).
    fn family(&mut self, name: String, ids: &[SeriesId]) {
        for s in self.inst.series.iter_mut().filter(|s| ids.contains(&s.id)) {
            s.family = Some(name.clone());
        }
    }
}

fn cadence(per: CadencePeriod, min: u32, max: u32, months: &[u32]) -> Cadence {
    Cadence {
        per,
        min,
        max,
        months: months.to_vec(),
        min_gap_days: None,
        max_gap_days: None,
    }
}

fn monthly() -> Cadence {
    Cadence {
        min_gap_days: Some(14),
        ..cadence(CadencePeriod::Month, 1, 1, &[])
    }
}

/// One city's network and duties. `supervisors` are shared across cities (prefecture scale).
fn city(b: &mut Builder, city: usize, supervisors: &[PersonId]) {
    let tag = if city == 0 {
        String::new()
    } else {
        format!("{}市 ", ["", "北", "南", "東", "西"][city % 5])
    };
    // Meeting venues: core center, city hall, welfare center, 5 ward offices, others.
    let core_rooms = b.venue(
        format!("{tag}基幹相談支援センター"),
        &[("相談室", 8), ("会議室", 20)],
    );
    let hall = b.venue(
        format!("{tag}市役所"),
        &[("大会議室", 120), ("会議室A", 30), ("会議室B", 16)],
    );
    let welfare = b.venue(
        format!("{tag}総合福祉センター"),
        &[("研修室", 60), ("会議室", 24)],
    );
    let ward_rooms: Vec<Vec<RoomId>> = WARDS
        .iter()
        .map(|w| b.venue(format!("{tag}{w}役所"), &[("会議室", 30)]))
        .collect();
    for extra in [
        "男女共同参画センター",
        "市民会館",
        "保健所",
        "教育センター",
        "障害者スポーツセンター",
        "地域交流センター",
        "こども総合相談所",
    ] {
        b.venue(format!("{tag}{extra}"), &[("会議室", 24)]);
    }
    let core = b.org(format!("{tag}基幹相談支援センター"), "中央区");
    let core_staff: Vec<PersonId> = (0..8).map(|i| b.person(Some(core), i == 7)).collect();
    // 9 centers over 5 wards (2,2,2,2,1), each with a function-strengthening and a community-support worker.
    let mut centers: Vec<(usize, Vec<PersonId>)> = Vec::new();
    for c in 0..9 {
        let ward = c % 5;
        let org = b.org(format!("{tag}障害者相談支援センター{}", c + 1), WARDS[ward]);
        let staff = (0..4).map(|i| b.person(Some(org), i == 3)).collect();
        centers.push((ward, staff));
    }
    let mut ward_sections: Vec<Vec<PersonId>> = Vec::new();
    for w in WARDS {
        let welfare_org = b.org(format!("{tag}{w}役所 福祉課"), w);
        let health_org = b.org(format!("{tag}{w}役所 保健子ども課"), w);
        let people = vec![
            b.person(Some(welfare_org), false),
            b.person(Some(health_org), false),
            b.person(Some(welfare_org), false),
            b.person(Some(health_org), true),
        ];
        ward_sections.push(people);
    }
    // 40 consultation offices, 8 per ward; each is a venue of its own (visits happen there).
    let mut offices: Vec<(usize, PersonId, RoomId)> = Vec::new();
    for o in 0..40 {
        let ward = o % 5;
        let org = b.org(format!("{tag}相談支援事業所{}", o + 1), WARDS[ward]);
        let part_time = b.rng.chance(15);
        let staff = b.person(Some(org), part_time);
        b.person(Some(org), false);
        let room = b.venue(format!("{tag}相談支援事業所{}", o + 1), &[("相談室", 4)])[0];
        offices.push((ward, staff, room));
    }

    let function_staff: Vec<PersonId> = centers.iter().map(|(_, s)| s[0]).collect();
    let community_staff: Vec<PersonId> = centers.iter().map(|(_, s)| s[1]).collect();
    let big = vec![hall[0], welfare[0]];

    let plenary = b.series(
        format!("{tag}自立支援協議会 本会議"),
        MeetingKind::Plenary,
        120,
        [
            &core_staff[..2],
            &ward_sections.iter().map(|s| s[0]).collect::<Vec<_>>()[..],
        ]
        .concat(),
        function_staff.clone(),
        cadence(CadencePeriod::Month, 1, 1, &[5, 10, 2]),
        big.clone(),
    );
    b.series(
        format!("{tag}運営会議"),
        MeetingKind::OperatingCommittee,
        90,
        core_staff[..3].to_vec(),
        vec![],
        cadence(CadencePeriod::Month, 1, 1, &[4, 6, 8, 10, 12, 2]),
        vec![hall[1], core_rooms[1]],
    );
    for (i, name) in ["就労", "子ども", "相談支援", "地域移行"]
        .iter()
        .enumerate()
    {
        let required = centers
            .iter()
            .map(|(_, s)| s[if i % 2 == 0 { 2 } else { 1 }])
            .take(5)
            .chain([core_staff[2 + i]])
            .collect();
        let sub = b.series(
            format!("{tag}専門部会({name})"),
            MeetingKind::Subcommittee,
            90,
            required,
            vec![],
            monthly(),
            vec![],
        );
        b.inst.precedences.push(Precedence {
            before: sub,
            after: plenary,
            min_days: 7,
            max_days: 60,
        });
    }
    let mut ward_networks = Vec::new();
    for (w, ward) in WARDS.iter().enumerate() {
        let mut required: Vec<PersonId> = centers
            .iter()
            .filter(|(cw, _)| *cw == w)
            .map(|(_, s)| s[0])
            .collect();
        required.extend(&ward_sections[w]);
        required.push(core_staff[3]);
        let optional = offices
            .iter()
            .filter(|(ow, _, _)| *ow == w)
            .map(|(_, p, _)| *p)
            .collect();
        let id = b.series(
            format!("{tag}{ward}障がい福祉ネットワーク会議"),
            MeetingKind::WardNetwork,
            120,
            required,
            optional,
            Cadence {
                min_gap_days: Some(45),
                ..cadence(CadencePeriod::Quarter, 1, 1, &[])
            },
            [ward_rooms[w].clone(), vec![welfare[1]]].concat(),
        );
        ward_networks.push(id);
    }
    b.family(format!("{tag}WARDNET"), &ward_networks);
    b.series(
        format!("{tag}相談支援機能強化員連絡会議"),
        MeetingKind::Liaison,
        90,
        function_staff,
        vec![],
        monthly(),
        vec![hall[1], welfare[1]],
    );
    b.series(
        format!("{tag}地域支援員会議"),
        MeetingKind::Liaison,
        90,
        community_staff,
        vec![],
        monthly(),
        vec![hall[1], welfare[1]],
    );
    let gsv_optional: Vec<PersonId> = offices.iter().step_by(3).map(|(_, p, _)| *p).collect();
    let sv = supervisors[city % supervisors.len()];
    b.series(
        format!("{tag}GSV研修"),
        MeetingKind::Gsv,
        120,
        vec![core_staff[1], sv],
        gsv_optional,
        monthly(),
        vec![welfare[0], welfare[1]],
    );
    b.series(
        format!("{tag}事例検討会"),
        MeetingKind::CaseReview,
        150,
        vec![
            core_staff[0],
            core_staff[4],
            supervisors[(city + 1) % supervisors.len()],
        ],
        offices.iter().step_by(2).map(|(_, p, _)| *p).collect(),
        Cadence {
            min_gap_days: Some(60),
            ..cadence(CadencePeriod::FiscalYear, 3, 3, &[])
        },
        vec![welfare[0]],
    );
    b.series(
        format!("{tag}個別事例の支援内容の検証"),
        MeetingKind::CaseVerification,
        60,
        vec![core_staff[5]],
        vec![core_staff[6]],
        Cadence {
            min_gap_days: Some(5),
            ..cadence(CadencePeriod::FiscalYear, 24, 24, &[])
        },
        core_rooms.clone(),
    );
    b.series(
        format!("{tag}研修会"),
        MeetingKind::Training,
        180,
        vec![core_staff[0], core_staff[1]],
        vec![],
        cadence(CadencePeriod::FiscalYear, 3, 3, &[]),
        vec![welfare[0]],
    );
    for (w, ward) in WARDS.iter().enumerate() {
        let center_staff: Vec<PersonId> = centers
            .iter()
            .filter(|(cw, _)| *cw == w)
            .map(|(_, s)| s[1])
            .collect();
        b.series(
            format!("{tag}{ward}ケース会議"),
            MeetingKind::Other,
            90,
            [center_staff, vec![ward_sections[w][2]]].concat(),
            vec![ward_sections[w][3]],
            monthly(),
            ward_rooms[w].clone(),
        );
    }
    for (title, kind, per, n, req) in [
        (
            "いどばた会議",
            MeetingKind::Other,
            CadencePeriod::Month,
            1,
            7,
        ),
        (
            "基幹相談連絡会",
            MeetingKind::Liaison,
            CadencePeriod::FiscalYear,
            4,
            0,
        ),
        (
            "権利擁護研修",
            MeetingKind::Training,
            CadencePeriod::FiscalYear,
            1,
            4,
        ),
        (
            "弁護士相談会",
            MeetingKind::Other,
            CadencePeriod::FiscalYear,
            2,
            4,
        ),
        (
            "虐待防止研修",
            MeetingKind::Training,
            CadencePeriod::FiscalYear,
            1,
            5,
        ),
        (
            "地域移行・地域定着連携連絡会",
            MeetingKind::Liaison,
            CadencePeriod::FiscalYear,
            3,
            6,
        ),
    ] {
        let c = if per == CadencePeriod::Month {
            monthly()
        } else {
            cadence(per, n, n, &[])
        };
        b.series(
            format!("{tag}{title}"),
            kind,
            90,
            vec![core_staff[req]],
            vec![],
            c,
            vec![],
        );
    }
    for name in ["就労", "子ども", "相談支援", "地域移行"] {
        let required = vec![core_staff[2], centers[0].1[2], centers[1].1[3]];
        b.series(
            format!("{tag}専門部会ワーキング({name})"),
            MeetingKind::Subcommittee,
            60,
            required,
            vec![],
            cadence(CadencePeriod::Quarter, 1, 1, &[]),
            vec![],
        );
    }
    for (c, (_, staff)) in centers.clone().iter().enumerate() {
        b.series(
            format!("{tag}センター{}内部会議", c + 1),
            MeetingKind::Other,
            60,
            staff.clone(),
            vec![],
            monthly(),
            vec![],
        );
    }
    let mut visits = Vec::new();
    for (o, (_, staff, room)) in offices.clone().iter().enumerate() {
        let visitor = core_staff[(o % 3) + 1];
        let id = b.series(
            format!("{tag}訪問指導: 相談支援事業所{}", o + 1),
            MeetingKind::OfficeVisit,
            60,
            vec![visitor, *staff],
            vec![],
            cadence(CadencePeriod::FiscalYear, 1, 1, &[]),
            vec![*room],
        );
        visits.push(id);
    }
    b.family(format!("{tag}VISIT"), &visits);
}

/// A deterministic instance of the given size.
pub fn instance(size: Size, seed: u64) -> Instance {
    let fy = FiscalYear::new(2026).expect("FY2026 is supported");
    let period = match size {
        Size::S => {
            let q = Quarter::new(fy, 1).expect("Q1");
            DateRange {
                from: q.start(),
                to: q.end(),
            }
        }
        Size::M | Size::L | Size::City | Size::Pref => DateRange {
            from: fy.start(),
            to: fy.end(),
        },
    };
    let mut b = Builder {
        rng: Rng(seed ^ 0x5EED_0000 ^ size as u64),
        inst: Instance {
            name: format!("bench-{size:?}-{seed}").to_lowercase(),
            period,
            planning_date: period.from - Duration::days(30),
            grain_minutes: 30,
            closures: vec![NaiveDate::from_ymd_opt(2026, 8, 14).expect("date")],
            people: Vec::new(),
            organisations: Vec::new(),
            venues: Vec::new(),
            rooms: Vec::new(),
            travel: Vec::new(),
            default_travel_minutes: 30,
            series: Vec::new(),
            precedences: Vec::new(),
            published: Vec::new(),
            held_by_others: Vec::new(),
            targets: Vec::new(),
            weights: Weights::default(),
            time_limit_seconds: match size {
                Size::S => 10.0,
                Size::M | Size::City => 30.0,
                Size::L | Size::Pref => 60.0,
            },
        },
    };
    match size {
        Size::S => small(&mut b),
        Size::M | Size::City => {
            let sv: Vec<PersonId> = (0..2).map(|_| b.person(None, false)).collect();
            city(&mut b, 0, &sv);
        }
        Size::L | Size::Pref => {
            let sv: Vec<PersonId> = (0..3).map(|_| b.person(None, false)).collect();
            for c in 0..5 {
                city(&mut b, c, &sv);
            }
        }
    }
    if matches!(size, Size::City | Size::Pref) {
        realism(&mut b);
    }
    b.inst
}

/// What a generated city lacks next to a real one, added on top (sizes city and pref):
/// * travel: each office 10-45 minutes from the meeting venues, 10-20 from offices of its ward;
/// * venue hours: the welfare center open until 21:00 and on Saturday mornings;
/// * varying counts and indicator targets (Hiratsuka's table): subcommittees meet 0-1 times a
///   month with a target of 39 a year, case verifications 20-30 a year with a target of 24,
///   a visit to every office;
/// * maximum gaps: GSV at most 75 days apart, the peer gathering at most 45;
/// * a published calendar: the first quarter as the baseline plans it, the plenary pinned,
///   every fifth meeting pinned to its date;
/// * declines: every seventh unpinned published meeting has a required invitee who can no
///   longer come that day (an absence), so the plan must move it.
fn realism(b: &mut Builder) {
    let venue_of = |name: &str, inst: &Instance| -> Vec<VenueId> {
        inst.venues
            .iter()
            .filter(|v| v.name.contains(name))
            .map(|v| v.id)
            .collect()
    };
    let offices = venue_of("相談支援事業所", &b.inst);
    let meeting_venues: Vec<VenueId> = b
        .inst
        .venues
        .iter()
        .filter(|v| !v.name.contains("相談支援事業所"))
        .map(|v| v.id)
        .collect();
    for &o in &offices {
        for &v in &meeting_venues {
            let minutes = 10 + 5 * b.rng.below(8) as u32;
            b.inst.travel.push(Travel {
                from: o,
                to: v,
                minutes,
            });
        }
    }
    // Offices of one ward (numbered o % 5 within each city) are near each other.
    for (i, &a) in offices.iter().enumerate() {
        for &c in offices[i + 1..].iter().skip(4).step_by(5).take(3) {
            let minutes = 10 + 5 * b.rng.below(3) as u32;
            b.inst.travel.push(Travel {
                from: a,
                to: c,
                minutes,
            });
        }
    }
    for v in b
        .inst
        .venues
        .iter_mut()
        .filter(|v| v.name.contains("総合福祉センター"))
    {
        v.hours = "mon-fri 08:30-21:00; sat 09:00-12:00"
            .parse()
            .expect("hours");
    }
    let ids = |b: &Builder, kind: MeetingKind, title: &str| -> Vec<SeriesId> {
        b.inst
            .series
            .iter()
            .filter(|s| s.kind == kind && s.title.contains(title))
            .map(|s| s.id)
            .collect()
    };
    // Per city (titles carry the city's tag): subcommittees, verifications, visits.
    let cities: Vec<String> = b
        .inst
        .series
        .iter()
        .filter(|s| s.kind == MeetingKind::Plenary)
        .map(|s| s.title.replace("自立支援協議会 本会議", ""))
        .collect();
    for tag in &cities {
        let in_city = |b: &Builder, list: Vec<SeriesId>| -> Vec<SeriesId> {
            list.into_iter()
                .filter(|id| {
                    let t = &b.inst.series[*id as usize - 1].title;
                    if tag.is_empty() {
                        !t.contains("市 ")
                    } else {
                        t.starts_with(tag.as_str())
                    }
                })
                .collect()
        };
        let subs = in_city(b, ids(b, MeetingKind::Subcommittee, "専門部会("));
        for id in &subs {
            b.inst.series[*id as usize - 1].cadence.min = 0;
        }
        let verifications = in_city(b, ids(b, MeetingKind::CaseVerification, ""));
        for id in &verifications {
            let c = &mut b.inst.series[*id as usize - 1].cadence;
            c.min = 20;
            c.max = 30;
        }
        let visits = in_city(b, ids(b, MeetingKind::OfficeVisit, ""));
        for (name, series, min) in [
            ("専門部会の実施回数", subs, 39),
            ("個別事例の支援内容の検証の実施回数", verifications, 24),
            (
                "訪問による専門的指導・助言件数",
                visits.clone(),
                visits.len() as u32,
            ),
        ] {
            b.inst.targets.push(Target {
                name: Text::new(format!("{tag}{name}"), format!("{tag}{name}")),
                series,
                min,
            });
        }
        for (title, gap) in [("GSV研修", 75), ("いどばた会議", 45)] {
            for id in in_city(b, ids(b, MeetingKind::Gsv, title))
                .into_iter()
                .chain(in_city(b, ids(b, MeetingKind::Other, title)))
            {
                b.inst.series[id as usize - 1].cadence.max_gap_days = Some(gap);
            }
        }
    }
    // The first quarter as published, with pins and declines.
    let q1 = Quarter::new(FiscalYear::of(b.inst.period.from), 1).expect("Q1");
    let published: Vec<PublishedOccurrence> = super::greedy::plan(&b.inst)
        .into_iter()
        .filter(|o| o.date <= q1.end())
        .enumerate()
        .map(|(i, o)| {
            let pin = if b.inst.series[o.series as usize - 1].kind == MeetingKind::Plenary {
                Pin::Full
            } else if i % 5 == 0 {
                Pin::Date
            } else {
                Pin::None
            };
            PublishedOccurrence { occurrence: o, pin }
        })
        .collect();
    // A decline must not fall on a day the same person has a pinned meeting.
    let pinned: std::collections::BTreeSet<(PersonId, NaiveDate)> = published
        .iter()
        .filter(|p| p.pin != Pin::None)
        .flat_map(|p| {
            p.occurrence
                .attendees
                .iter()
                .map(|a| (*a, p.occurrence.date))
        })
        .collect();
    for p in published
        .iter()
        .filter(|p| p.pin == Pin::None)
        .skip(6)
        .step_by(7)
    {
        let o = &p.occurrence;
        let who = b.inst.series[o.series as usize - 1].required[0];
        if !pinned.contains(&(who, o.date)) {
            b.inst.people[who as usize - 1].absences.push(DateRange {
                from: o.date,
                to: o.date,
            });
        }
    }
    b.inst.published = published;
}

/// One center, one quarter: its own duties and the ward-level ones it hosts.
fn small(b: &mut Builder) {
    let rooms = b.venue(
        "基幹相談支援センター".into(),
        &[("相談室", 6), ("会議室", 20)],
    );
    let hall = b.venue("区役所".into(), &[("会議室A", 30), ("会議室B", 12)]);
    let welfare = b.venue("福祉センター".into(), &[("研修室", 50)]);
    let core = b.org("基幹相談支援センター".into(), "中央区");
    let staff: Vec<PersonId> = (0..8).map(|i| b.person(Some(core), i >= 6)).collect();
    let ward = b.org("中央区役所 福祉課".into(), "中央区");
    let ward_staff: Vec<PersonId> = (0..4).map(|_| b.person(Some(ward), false)).collect();
    let offices: Vec<PersonId> = (0..18)
        .map(|i| {
            let o = b.org(format!("相談支援事業所{}", i + 1), "中央区");
            b.person(Some(o), i % 6 == 0)
        })
        .collect();
    b.series(
        "中央区障がい福祉ネットワーク会議".into(),
        MeetingKind::WardNetwork,
        120,
        vec![staff[0], staff[1], ward_staff[0], ward_staff[1]],
        offices[..8].to_vec(),
        cadence(CadencePeriod::Quarter, 1, 1, &[]),
        vec![hall[0], welfare[0]],
    );
    b.series(
        "運営会議".into(),
        MeetingKind::OperatingCommittee,
        90,
        staff[..3].to_vec(),
        vec![],
        cadence(CadencePeriod::Month, 1, 1, &[4, 6]),
        vec![],
    );
    b.series(
        "専門部会(相談支援)".into(),
        MeetingKind::Subcommittee,
        90,
        vec![staff[2], ward_staff[2]],
        offices[8..12].to_vec(),
        monthly(),
        vec![],
    );
    b.series(
        "専門部会(地域移行)".into(),
        MeetingKind::Subcommittee,
        90,
        vec![staff[3], ward_staff[3]],
        offices[12..15].to_vec(),
        monthly(),
        vec![],
    );
    b.series(
        "GSV研修".into(),
        MeetingKind::Gsv,
        120,
        vec![staff[1], staff[4]],
        offices[..10].to_vec(),
        monthly(),
        vec![welfare[0], hall[0]],
    );
    b.series(
        "個別事例の支援内容の検証".into(),
        MeetingKind::CaseVerification,
        60,
        vec![staff[5]],
        vec![staff[6]],
        Cadence {
            min_gap_days: Some(5),
            ..cadence(CadencePeriod::Quarter, 6, 6, &[])
        },
        rooms.clone(),
    );
    b.series(
        "センター内部会議".into(),
        MeetingKind::Other,
        60,
        staff[..6].to_vec(),
        vec![staff[6], staff[7]],
        Cadence {
            min_gap_days: Some(10),
            ..cadence(CadencePeriod::Month, 2, 2, &[])
        },
        vec![],
    );
    let mut visits = Vec::new();
    for (i, p) in offices.iter().enumerate().take(12) {
        visits.push(b.series(
            format!("訪問指導: 相談支援事業所{}", i + 1),
            MeetingKind::OfficeVisit,
            60,
            vec![staff[(i % 3) + 1], *p],
            vec![],
            cadence(CadencePeriod::Quarter, 1, 1, &[]),
            vec![rooms[0]],
        ));
    }
    b.family("VISIT".into(), &visits);
    b.series(
        "地域支援員会議".into(),
        MeetingKind::Liaison,
        90,
        vec![staff[3], staff[4], ward_staff[1]],
        vec![],
        monthly(),
        vec![],
    );
    b.series(
        "いどばた会議".into(),
        MeetingKind::Other,
        90,
        vec![staff[4]],
        offices[4..16].to_vec(),
        monthly(),
        vec![welfare[0], hall[0]],
    );
    b.series(
        "事例検討会".into(),
        MeetingKind::CaseReview,
        150,
        vec![staff[0], staff[2]],
        offices[..14].to_vec(),
        cadence(CadencePeriod::Quarter, 1, 1, &[]),
        vec![welfare[0]],
    );
    b.series(
        "研修会".into(),
        MeetingKind::Training,
        180,
        vec![staff[0], staff[1]],
        offices[..12].to_vec(),
        cadence(CadencePeriod::Quarter, 1, 1, &[]),
        vec![welfare[0]],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::rules::required_occurrences;

    #[test]
    fn sizes_have_the_documented_shape_and_are_deterministic() {
        let s = instance(Size::S, 1);
        assert_eq!(s, instance(Size::S, 1));
        let absences = |i: &Instance| {
            i.people
                .iter()
                .map(|p| p.absences.clone())
                .collect::<Vec<_>>()
        };
        assert_ne!(
            absences(&s),
            absences(&instance(Size::S, 2)),
            "the seed matters"
        );
        let (n, p) = (required_occurrences(&s), s.people.len());
        assert!(
            (38..=55).contains(&n) && (28..=34).contains(&p) && s.rooms.len() == 5,
            "s: {n} occurrences, {p} people, {} rooms",
            s.rooms.len()
        );
        let m = instance(Size::M, 1);
        let (n, p) = (required_occurrences(&m), m.people.len());
        assert!(
            (340..=460).contains(&n) && (130..=170).contains(&p),
            "m: {n} occurrences, {p} people"
        );
        let l = instance(Size::L, 1);
        let (n, p) = (required_occurrences(&l), l.people.len());
        assert!(
            (1700..=2300).contains(&n) && (550..=800).contains(&p),
            "l: {n} occurrences, {p} people"
        );
        // The JSON form round-trips.
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Instance>(&json).unwrap(), m);
    }
}
