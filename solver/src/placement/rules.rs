//! What the hard rules of placement mean, written once and shared by the search, the
//! optimizer, the greedy baseline and the validator (as `schedule/rules.rs` is for meetings):
//!
//! - **fit** ([`unfit`]): the facility takes the person's disability types, age group, medical
//!   care, behavioural support and night-staff needs; the bed is wheelchair-accessible when
//!   needed; the room's sex policy admits the person;
//! - **one person per bed-night**: a bed-night is free when no [`Taken`] row (and no other
//!   placement) has it;
//! - **shared rooms** ([`SexPolicy::SameAsOccupants`]): on each night everybody in the room is
//!   of one sex, so a person can take a night only when nobody of the other sex is there.
//!
//! [`Index`] holds the lookups the rules need, built once per instance: the service searches
//! 2,000 beds within a 20 ms budget per request, so every lookup is a hash probe.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{Datelike, NaiveDate};

use super::model::*;

/// A fast, deterministic hasher for the integer keys of [`Index`] (ids and packed
/// bed-night keys). The std SipHash is built against hash flooding, which does not apply to
/// ids the service generated itself, and costs more than the rest of a lookup.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 ^= u64::from(i);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 ^= i;
    }
    fn write_usize(&mut self, i: usize) {
        self.0 ^= i as u64;
    }
    fn finish(&self) -> u64 {
        // murmur3's finaliser: every input bit reaches the low bits hashbrown buckets by.
        let mut z = self.0;
        z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        z = (z ^ (z >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        z ^ (z >> 33)
    }
}

pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;
pub type IdSet<K> = HashSet<K, BuildHasherDefault<IdHasher>>;

/// A bed or room id and a night packed into one hash key.
pub fn night_key(id: u32, night: NaiveDate) -> u64 {
    (u64::from(id) << 32) | u64::from(night.num_days_from_ce() as u32)
}

/// The sexes present somewhere (in a room on a night), as a two-bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sexes(u8);

impl Sexes {
    fn bit(sex: Sex) -> u8 {
        match sex {
            Sex::Male => 1,
            Sex::Female => 2,
        }
    }
    pub fn with(self, sex: Sex) -> Sexes {
        Sexes(self.0 | Sexes::bit(sex))
    }
    pub fn has(self, sex: Sex) -> bool {
        self.0 & Sexes::bit(sex) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

pub fn other(sex: Sex) -> Sex {
    match sex {
        Sex::Male => Sex::Female,
        Sex::Female => Sex::Male,
    }
}

/// A person of `sex` may sleep in a room of `policy` on a night when `present` are there
/// (other occupants; unknown sexes are not in `present`).
pub fn room_allows(policy: SexPolicy, present: Sexes, sex: Sex) -> bool {
    match policy {
        SexPolicy::Any => true,
        SexPolicy::Male => sex == Sex::Male,
        SexPolicy::Female => sex == Sex::Female,
        SexPolicy::SameAsOccupants => !present.has(other(sex)),
    }
}

pub fn disability_name(t: DisabilityType) -> (&'static str, &'static str) {
    match t {
        DisabilityType::Physical => ("身体障害", "physical disability"),
        DisabilityType::Intellectual => ("知的障害", "intellectual disability"),
        DisabilityType::Mental => ("精神障害", "mental disability"),
        DisabilityType::Developmental => ("発達障害", "developmental disability"),
        DisabilityType::IntractableDisease => ("難病", "intractable disease"),
    }
}

pub fn care_name(c: MedicalCare) -> (&'static str, &'static str) {
    match c {
        MedicalCare::Suction => ("喀痰吸引", "suction"),
        MedicalCare::TubeFeeding => ("経管栄養", "tube feeding"),
        MedicalCare::Oxygen => ("在宅酸素", "home oxygen"),
        MedicalCare::Catheter => ("導尿", "catheterisation"),
    }
}

pub fn sex_name(sex: Sex) -> (&'static str, &'static str) {
    match sex {
        Sex::Male => ("男性", "men"),
        Sex::Female => ("女性", "women"),
    }
}

/// Joins reasons into one sentence each way ("、" in Japanese, "; " in English).
pub fn join(reasons: Vec<Text>) -> Option<Text> {
    if reasons.is_empty() {
        return None;
    }
    let ja: Vec<&str> = reasons.iter().map(|t| t.ja.as_str()).collect();
    let en: Vec<&str> = reasons.iter().map(|t| t.en.as_str()).collect();
    Some(Text::new(ja.join("、"), en.join("; ")))
}

/// Why the facility as a whole cannot take a person with `needs` (every reason, joined), or
/// `None` when it can. Bed and room come on top, see [`bed_unfit`].
pub fn facility_unfit(facility: &Facility, needs: &Needs) -> Option<Text> {
    if needs.not_at.contains(&facility.id) {
        return Some(Text::new(
            "この方の受入れを辞退済み",
            "has declined this person",
        ));
    }
    let mut why = Vec::new();
    for &t in &needs.disability_types {
        if !facility.disability_types.contains(&t) {
            let (ja, en) = disability_name(t);
            why.push(Text::new(
                format!("{ja}を受け入れていない"),
                format!("does not accept {en}"),
            ));
        }
    }
    if needs.child && !facility.children {
        why.push(Text::new(
            "障害児を受け入れていない",
            "does not take children",
        ));
    }
    if !needs.child && !facility.adults {
        why.push(Text::new("成人を受け入れていない", "does not take adults"));
    }
    for &c in &needs.medical_care {
        if !facility.medical_care.contains(&c) {
            let (ja, en) = care_name(c);
            why.push(Text::new(
                format!("{ja}に対応していない"),
                format!("does not offer {en}"),
            ));
        }
    }
    if needs.behavioural_support && !facility.behavioural_support {
        why.push(Text::new(
            "強度行動障害への支援ができない",
            "no support for severe behavioural disorder",
        ));
    }
    if needs.night_staff && !facility.night_staff {
        why.push(Text::new("夜間の職員配置がない", "no night staff"));
    }
    join(why)
}

/// The bed lacks wheelchair access that is needed.
pub fn wheelchair_unfit(bed: &Bed, needs: &Needs) -> bool {
    needs.wheelchair && !bed.wheelchair
}

/// The room's policy is for the other sex only (shared rooms are decided per night).
pub fn room_sex_unfit(room: &Room, needs: &Needs) -> bool {
    matches!(
        (room.sex_policy, needs.sex),
        (SexPolicy::Male, Sex::Female) | (SexPolicy::Female, Sex::Male)
    )
}

/// Why this bed (wheelchair) or room (sex policy) does not fit, or `None`.
pub fn bed_unfit(room: &Room, bed: &Bed, needs: &Needs) -> Option<Text> {
    let mut why = Vec::new();
    if wheelchair_unfit(bed, needs) {
        why.push(Text::new(
            "車椅子対応のベッドがない",
            "no wheelchair-accessible bed",
        ));
    }
    if room_sex_unfit(room, needs) {
        let (ja, en) = sex_name(other(needs.sex));
        why.push(Text::new(
            format!("{ja}専用の部屋"),
            format!("room for {en} only"),
        ));
    }
    join(why)
}

/// Static fit: why a person with `needs` cannot use `bed` at all (whatever the night), or
/// `None` when they can. Facility reasons come first.
pub fn unfit(facility: &Facility, room: &Room, bed: &Bed, needs: &Needs) -> Option<Text> {
    match (facility_unfit(facility, needs), bed_unfit(room, bed, needs)) {
        (None, None) => None,
        (Some(f), None) => Some(f),
        (None, Some(b)) => Some(b),
        (Some(f), Some(b)) => join(vec![f, b]),
    }
}

/// A bed with its room and facility.
#[derive(Debug, Clone, Copy)]
pub struct BedAt<'a> {
    pub bed: &'a Bed,
    pub room: &'a Room,
    pub facility: &'a Facility,
}

impl BedAt<'_> {
    pub fn fits(&self, needs: &Needs) -> bool {
        facility_unfit(self.facility, needs).is_none()
            && !wheelchair_unfit(self.bed, needs)
            && !room_sex_unfit(self.room, needs)
    }
}

/// Lookups over one instance: bed → room → facility, the taken bed-nights and the sexes of
/// the occupants of every room and night. Built once ([`Index::new`]), or for a span of
/// nights only ([`Index::within`]: the rows outside do not matter to a request inside).
pub struct Index<'a> {
    pub instance: &'a Instance,
    facilities: IdMap<FacilityId, usize>,
    rooms: IdMap<RoomId, usize>,
    beds: IdMap<BedId, usize>,
    /// Beds in instance order whose room and facility exist.
    placed_beds: Vec<BedAt<'a>>,
    taken: IdSet<u64>,
    occupants: IdMap<u64, Sexes>,
}

impl<'a> Index<'a> {
    pub fn new(instance: &'a Instance) -> Index<'a> {
        Index::build(instance, None)
    }

    /// An index that knows only the taken rows of the nights in `span`: enough for anything
    /// asked about those nights, and cheaper to build on a year-long state.
    pub fn within(instance: &'a Instance, span: Nights) -> Index<'a> {
        Index::build(instance, Some(span))
    }

    /// An index of beds, rooms and facilities without any taken row (for static questions).
    pub fn static_only(instance: &'a Instance) -> Index<'a> {
        Index::build(instance, Some(Nights::new(NaiveDate::MIN, NaiveDate::MIN)))
    }

    /// An index of `instance`'s beds with the taken rows given here instead of
    /// `instance.taken` (a caller that keeps the rows elsewhere, e.g. by month, passes only
    /// the ones that matter).
    pub fn with_taken<'t>(
        instance: &'a Instance,
        rows: impl Iterator<Item = &'t Taken>,
    ) -> Index<'a> {
        let mut index = Index::build(instance, Some(Nights::new(NaiveDate::MIN, NaiveDate::MIN)));
        for t in rows {
            index.take(t.bed, t.night, t.sex);
        }
        index
    }

    fn build(instance: &'a Instance, span: Option<Nights>) -> Index<'a> {
        let facilities: IdMap<FacilityId, usize> = instance
            .facilities
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id, i))
            .collect();
        let rooms: IdMap<RoomId, usize> = instance
            .rooms
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id, i))
            .collect();
        let beds: IdMap<BedId, usize> = instance
            .beds
            .iter()
            .enumerate()
            .map(|(i, b)| (b.id, i))
            .collect();
        let placed_beds = instance
            .beds
            .iter()
            .filter_map(|bed| {
                let room = &instance.rooms[*rooms.get(&bed.room)?];
                let facility = &instance.facilities[*facilities.get(&room.facility)?];
                Some(BedAt {
                    bed,
                    room,
                    facility,
                })
            })
            .collect();
        let mut index = Index {
            instance,
            facilities,
            rooms,
            beds,
            placed_beds,
            taken: IdSet::default(),
            occupants: IdMap::default(),
        };
        let rows = instance
            .taken
            .iter()
            .filter(|t| span.is_none_or(|s| s.contains(t.night)));
        let (lower, _) = rows.size_hint();
        index.taken.reserve(lower.min(1 << 20));
        for t in rows {
            index.take(t.bed, t.night, t.sex);
        }
        index
    }

    pub fn facility(&self, id: FacilityId) -> Option<&'a Facility> {
        let instance = self.instance;
        self.facilities.get(&id).map(|&i| &instance.facilities[i])
    }

    pub fn room(&self, id: RoomId) -> Option<&'a Room> {
        let instance = self.instance;
        self.rooms.get(&id).map(|&i| &instance.rooms[i])
    }

    /// The bed with its room and facility; `None` for an unknown bed or a dangling room.
    pub fn bed(&self, id: BedId) -> Option<BedAt<'a>> {
        let instance = self.instance;
        let bed = &instance.beds[*self.beds.get(&id)?];
        let room = self.room(bed.room)?;
        let facility = self.facility(room.facility)?;
        Some(BedAt {
            bed,
            room,
            facility,
        })
    }

    /// Every bed with a known room and facility, in instance order.
    pub fn beds(&self) -> &[BedAt<'a>] {
        &self.placed_beds
    }

    /// Beds that fit `needs` statically, in instance order.
    pub fn fitting(&self, needs: &Needs) -> Vec<BedAt<'a>> {
        let mut by_facility: IdMap<FacilityId, bool> = IdMap::default();
        self.placed_beds
            .iter()
            .filter(|b| {
                *by_facility
                    .entry(b.facility.id)
                    .or_insert_with(|| facility_unfit(b.facility, needs).is_none())
                    && !wheelchair_unfit(b.bed, needs)
                    && !room_sex_unfit(b.room, needs)
            })
            .copied()
            .collect()
    }

    pub fn is_taken(&self, bed: BedId, night: NaiveDate) -> bool {
        self.taken.contains(&night_key(bed, night))
    }

    /// Sexes of the known occupants of `room` on `night`.
    pub fn occupants(&self, room: RoomId, night: NaiveDate) -> Sexes {
        self.occupants
            .get(&night_key(room, night))
            .copied()
            .unwrap_or_default()
    }

    /// The bed-night is free for a person of `sex`: not taken, and the room admits them that
    /// night. Static fit is checked separately ([`BedAt::fits`]).
    pub fn free(&self, at: &BedAt, night: NaiveDate, sex: Sex) -> bool {
        !self.is_taken(at.bed.id, night)
            && (at.room.sex_policy != SexPolicy::SameAsOccupants
                || !self.occupants(at.room.id, night).has(other(sex)))
    }

    /// For each night of `nights`, whether `at` is free for a person of `sex` (for a board).
    pub fn nights_free(&self, at: &BedAt, nights: Nights, sex: Sex) -> Vec<bool> {
        nights.iter().map(|n| self.free(at, n, sex)).collect()
    }

    /// Marks a bed-night taken (by a person of `sex`, when known): the greedy baseline uses
    /// this to place requests one after another.
    pub fn take(&mut self, bed: BedId, night: NaiveDate, sex: Option<Sex>) {
        self.taken.insert(night_key(bed, night));
        if let Some(sex) = sex {
            let instance = self.instance;
            if let Some(room) = self.beds.get(&bed).map(|&i| instance.beds[i].room) {
                let e = self.occupants.entry(night_key(room, night)).or_default();
                *e = e.with(sex);
            }
        }
    }
}

/// Why `facility` is too far from the person's home for `request` (its distance limit).
pub fn too_far(request: &Request, facility: &Facility) -> Option<Text> {
    let limit = request.max_distance_km?;
    let d = facility.location.distance_km(&request.home);
    (d > limit + 1e-9).then(|| {
        Text::new(
            format!("自宅から{d:.1}km（上限{limit}km）"),
            format!("{d:.1} km from home (at most {limit} km)"),
        )
    })
}

/// "5/3" (month/day, as written on a Japanese board).
pub fn md(night: NaiveDate) -> String {
    format!("{}/{}", night.month(), night.day())
}

/// Names nights of a stay by position: runs of consecutive missing nights as
/// "3泊目〜5泊目（5/3〜5/5）" / "3-5 (5/3-5/5)". `missing` holds 0-based positions, ascending.
pub fn describe_nights(stay: Nights, missing: &[u32]) -> Text {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &i in missing {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == i => *end = i,
            _ => runs.push((i, i)),
        }
    }
    let date = |i: u32| md(stay.from + chrono::Days::new(u64::from(i)));
    let ja: Vec<String> = runs
        .iter()
        .map(|&(a, b)| {
            if a == b {
                format!("{}泊目（{}）", a + 1, date(a))
            } else {
                format!("{}泊目〜{}泊目（{}〜{}）", a + 1, b + 1, date(a), date(b))
            }
        })
        .collect();
    let en: Vec<String> = runs
        .iter()
        .map(|&(a, b)| {
            if a == b {
                format!("{} ({})", a + 1, date(a))
            } else {
                format!("{}-{} ({}-{})", a + 1, b + 1, date(a), date(b))
            }
        })
        .collect();
    let single = missing.len() == 1;
    Text::new(
        ja.join("、"),
        format!(
            "{} {}",
            if single { "night" } else { "nights" },
            en.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn facility() -> Facility {
        Facility {
            id: 1,
            name: "ひかり短期入所".into(),
            kind: FacilityKind::ShortStay,
            location: Location::default(),
            disability_types: vec![DisabilityType::Intellectual],
            adults: true,
            children: false,
            medical_care: vec![],
            behavioural_support: false,
            night_staff: true,
        }
    }

    fn room(policy: SexPolicy) -> Room {
        Room {
            id: 10,
            facility: 1,
            name: "101".into(),
            sex_policy: policy,
        }
    }

    fn bed(wheelchair: bool) -> Bed {
        Bed {
            id: 100,
            room: 10,
            name: "A".into(),
            wheelchair,
        }
    }

    fn needs(sex: Sex) -> Needs {
        Needs {
            sex,
            child: false,
            disability_types: vec![DisabilityType::Intellectual],
            wheelchair: false,
            medical_care: vec![],
            behavioural_support: false,
            night_staff: false,
            not_at: vec![],
        }
    }

    #[test]
    fn a_facility_that_declined_is_ruled_out() {
        let mut n = needs(Sex::Male);
        n.not_at = vec![facility().id];
        let why = unfit(&facility(), &room(SexPolicy::Any), &bed(false), &n).expect("ruled out");
        assert_eq!(why.en, "has declined this person");
    }

    #[test]
    fn a_fitting_bed_has_no_reason() {
        let n = needs(Sex::Female);
        assert_eq!(
            unfit(&facility(), &room(SexPolicy::Any), &bed(false), &n),
            None
        );
    }

    #[test]
    fn each_unmet_need_is_named_in_both_languages() {
        let f = facility();
        let r = room(SexPolicy::Any);
        let b = bed(false);
        type Case = (Box<dyn Fn(&mut Needs)>, &'static str, &'static str);
        let cases: Vec<Case> = vec![
            (
                Box::new(|n| n.wheelchair = true),
                "車椅子対応のベッドがない",
                "no wheelchair-accessible bed",
            ),
            (
                Box::new(|n| n.disability_types.push(DisabilityType::Physical)),
                "身体障害を受け入れていない",
                "does not accept physical disability",
            ),
            (
                Box::new(|n| n.child = true),
                "障害児を受け入れていない",
                "does not take children",
            ),
            (
                Box::new(|n| n.medical_care.push(MedicalCare::Suction)),
                "喀痰吸引に対応していない",
                "does not offer suction",
            ),
            (
                Box::new(|n| n.behavioural_support = true),
                "強度行動障害への支援ができない",
                "no support for severe behavioural disorder",
            ),
        ];
        for (change, ja, en) in cases {
            let mut n = needs(Sex::Male);
            change(&mut n);
            let why = unfit(&f, &r, &b, &n).expect("unfit");
            assert_eq!((why.ja.as_str(), why.en.as_str()), (ja, en));
        }
        let mut no_night = facility();
        no_night.night_staff = false;
        let mut n = needs(Sex::Male);
        n.night_staff = true;
        assert_eq!(unfit(&no_night, &r, &b, &n).unwrap().en, "no night staff");
        let mut adults_off = facility();
        adults_off.adults = false;
        assert_eq!(
            unfit(&adults_off, &r, &b, &needs(Sex::Male)).unwrap().ja,
            "成人を受け入れていない"
        );
    }

    #[test]
    fn room_sex_policy_and_several_reasons_together() {
        let f = facility();
        let why = unfit(&f, &room(SexPolicy::Male), &bed(false), &needs(Sex::Female)).unwrap();
        assert_eq!(why.ja, "男性専用の部屋");
        assert_eq!(why.en, "room for men only");
        // A shared room is decided night by night, never statically.
        assert!(unfit(
            &f,
            &room(SexPolicy::SameAsOccupants),
            &bed(false),
            &needs(Sex::Female)
        )
        .is_none());
        let mut n = needs(Sex::Male);
        n.night_staff = true;
        n.wheelchair = true;
        let mut f2 = facility();
        f2.night_staff = false;
        let why = unfit(&f2, &room(SexPolicy::Female), &bed(false), &n).unwrap();
        assert_eq!(
            why.en,
            "no night staff; no wheelchair-accessible bed; room for women only"
        );
    }

    #[test]
    fn shared_rooms_admit_one_sex_per_night() {
        let inst = Instance {
            facilities: vec![facility()],
            rooms: vec![room(SexPolicy::SameAsOccupants)],
            beds: vec![
                bed(false),
                Bed {
                    id: 101,
                    room: 10,
                    name: "B".into(),
                    wheelchair: false,
                },
            ],
            taken: vec![
                Taken {
                    bed: 100,
                    night: d(5, 3),
                    sex: Some(Sex::Male),
                },
                Taken {
                    bed: 100,
                    night: d(5, 4),
                    sex: None,
                },
            ],
            requests: vec![],
            max_transfers: 2,
            weights: Weights::default(),
            time_limit_seconds: 1.0,
        };
        let ix = Index::new(&inst);
        let b = ix.bed(101).unwrap();
        assert!(ix.free(&b, d(5, 3), Sex::Male));
        assert!(!ix.free(&b, d(5, 3), Sex::Female));
        // Unknown sex does not block anybody.
        assert!(ix.free(&b, d(5, 4), Sex::Female));
        assert!(!ix.free(&ix.bed(100).unwrap(), d(5, 4), Sex::Female));
        assert_eq!(
            ix.nights_free(&b, Nights::new(d(5, 2), d(5, 5)), Sex::Female),
            vec![true, false, true]
        );
        // Restricting to a span drops the rows outside it.
        let within = Index::within(&inst, Nights::new(d(5, 4), d(5, 6)));
        assert!(within.free(&b, d(5, 3), Sex::Female));
    }

    #[test]
    fn missing_nights_are_described_as_runs() {
        let stay = Nights::new(d(5, 1), d(5, 8));
        let t = describe_nights(stay, &[2, 3, 4]);
        assert_eq!(t.ja, "3泊目〜5泊目（5/3〜5/5）");
        assert_eq!(t.en, "nights 3-5 (5/3-5/5)");
        let t = describe_nights(stay, &[0, 2, 3]);
        assert_eq!(t.ja, "1泊目（5/1）、3泊目〜4泊目（5/3〜5/4）");
        assert_eq!(t.en, "nights 1 (5/1), 3-4 (5/3-5/4)");
        assert_eq!(describe_nights(stay, &[6]).en, "night 7 (5/7)");
    }
}
