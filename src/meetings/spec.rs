//! A meeting series as the coordinator describes it once (会議シリーズ): kind, cadence,
//! attendance by person or by organisation, venue needs, precedence. Stored as JSON in
//! `meeting_series.spec`; [`SeriesSpec::parse`] checks everything that can be checked without
//! the database, [`crate::meetings::build`] resolves the codes against the master data.

use chrono::{NaiveTime, Weekday};
use renkei_solver::schedule::model::{CadencePeriod, MeetingKind, TimeWindow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::master::{parse_weekday, FieldError, OrgKind};

/// One recurring duty. Codes refer to people, organisations and venues of the municipality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesSpec {
    /// Short key, unique in the municipality (A-Z, 0-9, `-`, `_`), e.g. `PLENARY`.
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub title_en: String,
    /// plenary, operating_committee, subcommittee, ward_network, liaison, gsv, case_review,
    /// case_verification, office_visit, training, other.
    #[schema(value_type = String, example = "ward_network")]
    pub kind: MeetingKind,
    pub duration_minutes: u32,
    /// Organisations that host the meeting (codes); shown on the calendar.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// `none`: one series. `per_ward`: one series per ward (attendance with `same_ward` and
    /// `venue_in_ward` narrow to that ward). `per_organisation`: one series per organisation of
    /// `repeat_kinds`, held at that organisation (office visits).
    #[serde(default)]
    pub repeat: Repeat,
    #[serde(default)]
    pub repeat_kinds: Vec<String>,
    pub cadence: CadenceSpec,
    /// Earliest occurrence: this many days after the planning date (external lecturers: ~90).
    #[serde(default)]
    pub lead_days: u32,
    /// Preferred weekdays (mon..fri or 月..金); soft.
    #[serde(default)]
    pub preferred_weekdays: Vec<String>,
    /// Preferred start window `HH:MM-HH:MM`; soft.
    #[serde(default)]
    pub preferred_start: Option<String>,
    /// Allowed start window `HH:MM-HH:MM`; hard.
    #[serde(default)]
    pub allowed_start: Option<String>,
    /// People who must attend every occurrence (person codes).
    #[serde(default)]
    pub required_people: Vec<String>,
    /// Invited people whose attendance is maximised (person codes).
    #[serde(default)]
    pub optional_people: Vec<String>,
    /// Organisation-level attendance: one representative of each matching organisation.
    #[serde(default)]
    pub organisations: Vec<OrgAttendance>,
    /// Seats for people outside the municipality's lists (lecturers, citizens).
    #[serde(default)]
    pub external_attendees: u32,
    /// External lecturers or supervisors who lead the meeting (講師・スーパーバイザー): each
    /// entry is one lecturer, required at every occurrence, so the meeting is planned only
    /// when they can come; a booking task asks for them `lead_days` ahead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lecturers: Vec<LecturerSpec>,
    #[serde(default)]
    pub needs_wheelchair: bool,
    #[serde(default)]
    pub needs_hearing_loop: bool,
    /// Allowed venues (codes); empty means any venue.
    #[serde(default)]
    pub venues: Vec<String>,
    /// With `per_ward`: only venues in the series' ward.
    #[serde(default)]
    pub venue_in_ward: bool,
    /// This series meets between `min_days` and `max_days` before each occurrence of another
    /// (a subcommittee reports to the plenary).
    #[serde(default)]
    pub before: Vec<PrecedenceSpec>,
    /// Held by another body (他機関主催: the ward's council, an inter-municipal liaison): the
    /// center attends. The planner never plans it; its dates are the host's, entered by the
    /// coordinator, and keep the attendees (required and optional people, organisation-level
    /// attendance resolved like any series) busy. No room, no invitations. The cadence says
    /// how many the year should have (日程未登録 until they are entered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<HeldBy>,
}

/// The host of a series held by another body: an organisation of the municipality (its
/// code), or a name only (a body outside the master data).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeldBy {
    /// Code of the host organisation, when it is in the master data.
    #[serde(default)]
    pub organisation: String,
    /// The host as shown (「目黒区 障害福祉課」); empty: the organisation's name.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// Where it is usually held (free text); empty: at the host organisation.
    #[serde(default)]
    pub place: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Repeat {
    #[default]
    None,
    PerWard,
    PerOrganisation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CadenceSpec {
    /// month, quarter, fiscal_year or period.
    #[schema(value_type = String, example = "quarter")]
    pub per: CadencePeriod,
    pub min: u32,
    pub max: u32,
    /// Months (1-12) the series may meet in; with `per: month` the counts apply to each.
    #[serde(default)]
    pub months: Vec<u32>,
    #[serde(default)]
    pub min_gap_days: Option<u32>,
    #[serde(default)]
    pub max_gap_days: Option<u32>,
}

/// "One representative of each consultation office in the ward".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgAttendance {
    /// Organisation kinds (core_center, consultation_center, consultation_office, ward_section,
    /// hospital, short_stay, group_home, hub, other).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Or named organisations (codes).
    #[serde(default)]
    pub codes: Vec<String>,
    /// Only organisations in the series' ward (with `repeat: per_ward`).
    #[serde(default)]
    pub same_ward: bool,
    /// The representative's role (e.g. 機能強化員); otherwise the organisation's first staff
    /// member by code.
    #[serde(default)]
    pub role: String,
    /// Invited, not required.
    #[serde(default)]
    pub optional: bool,
}

/// One lecturer or supervisor of a series: a named person (one code), or one of a pool (several
/// codes, or every external person with `role` among their roles or qualifications), of
/// whom the planner takes the one whose availability fits the period best.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LecturerSpec {
    /// Person codes: one for a named lecturer, several for "one of these".
    #[serde(default)]
    pub people: Vec<String>,
    /// Or any external person with this role or qualification (e.g. スーパーバイザー).
    #[serde(default)]
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrecedenceSpec {
    /// Code of the later series.
    pub series: String,
    pub min_days: u32,
    pub max_days: u32,
}

pub const MEETING_KINDS: [MeetingKind; 11] = [
    MeetingKind::Plenary,
    MeetingKind::OperatingCommittee,
    MeetingKind::Subcommittee,
    MeetingKind::WardNetwork,
    MeetingKind::Liaison,
    MeetingKind::Gsv,
    MeetingKind::CaseReview,
    MeetingKind::CaseVerification,
    MeetingKind::OfficeVisit,
    MeetingKind::Training,
    MeetingKind::Other,
];

/// The kind's slug (as in JSON) and its labels.
pub fn kind_slug(kind: MeetingKind) -> &'static str {
    match kind {
        MeetingKind::Plenary => "plenary",
        MeetingKind::OperatingCommittee => "operating_committee",
        MeetingKind::Subcommittee => "subcommittee",
        MeetingKind::WardNetwork => "ward_network",
        MeetingKind::Liaison => "liaison",
        MeetingKind::Gsv => "gsv",
        MeetingKind::CaseReview => "case_review",
        MeetingKind::CaseVerification => "case_verification",
        MeetingKind::OfficeVisit => "office_visit",
        MeetingKind::Training => "training",
        MeetingKind::Other => "other",
    }
}

pub fn kind_label(kind: MeetingKind) -> (&'static str, &'static str) {
    match kind {
        MeetingKind::Plenary => ("自立支援協議会 本会議", "council plenary"),
        MeetingKind::OperatingCommittee => ("運営会議", "operating committee"),
        MeetingKind::Subcommittee => ("専門部会", "subcommittee"),
        MeetingKind::WardNetwork => ("区ネットワーク会議", "ward network meeting"),
        MeetingKind::Liaison => ("連絡会議", "liaison meeting"),
        MeetingKind::Gsv => ("GSV研修", "GSV group supervision"),
        MeetingKind::CaseReview => ("事例検討会", "case review"),
        MeetingKind::CaseVerification => ("個別事例の検証", "case verification"),
        MeetingKind::OfficeVisit => ("訪問による指導・助言", "office visit"),
        MeetingKind::Training => ("研修", "training"),
        MeetingKind::Other => ("その他", "other"),
    }
}

pub fn parse_kind(s: &str) -> Option<MeetingKind> {
    let s = s.trim();
    MEETING_KINDS
        .into_iter()
        .find(|k| kind_slug(*k) == s || kind_label(*k).0 == s)
}

pub fn period_slug(p: CadencePeriod) -> &'static str {
    match p {
        CadencePeriod::Month => "month",
        CadencePeriod::Quarter => "quarter",
        CadencePeriod::FiscalYear => "fiscal_year",
        CadencePeriod::Period => "period",
    }
}

pub fn parse_period(s: &str) -> Option<CadencePeriod> {
    match s.trim() {
        "month" | "月" | "毎月" => Some(CadencePeriod::Month),
        "quarter" | "四半期" => Some(CadencePeriod::Quarter),
        "fiscal_year" | "年度" => Some(CadencePeriod::FiscalYear),
        "period" | "期間" => Some(CadencePeriod::Period),
        _ => None,
    }
}

/// A checked series: the spec plus its parsed weekdays and windows.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSeries {
    pub spec: SeriesSpec,
    pub preferred_weekdays: Vec<Weekday>,
    pub preferred_start: Option<TimeWindow>,
    pub allowed_start: Option<TimeWindow>,
    pub repeat_kinds: Vec<OrgKind>,
}

fn parse_window(field: &str, s: &str, errors: &mut Vec<FieldError>) -> Option<TimeWindow> {
    let t = s.trim().replace(['〜', '~', '－', '–'], "-");
    let parsed = t.split_once('-').and_then(|(a, b)| {
        let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
        let b = NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?;
        (a < b).then_some(TimeWindow { from: a, to: b })
    });
    if parsed.is_none() {
        errors.push(FieldError::new(
            field,
            format!("時間帯「{s}」が読めません。10:00-12:00 のように開始-終了で入力してください"),
            format!("cannot read the time window \"{s}\"; write start-end like 10:00-12:00"),
        ));
    }
    parsed
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl SeriesSpec {
    /// Checks the spec on its own (codes of other records are checked when it is saved).
    pub fn parse(&self) -> Result<ValidSeries, Vec<FieldError>> {
        let mut e: Vec<FieldError> = Vec::new();
        let mut spec = self.clone();
        spec.code = spec.code.trim().to_string();
        spec.title = spec.title.trim().to_string();
        if !is_code(&spec.code) {
            e.push(FieldError::new(
                "code",
                "コードは英数字・-・_ の32文字以内で入力してください（例: PLENARY）",
                "the code is 1-32 letters, digits, - or _ (e.g. PLENARY)",
            ));
        }
        if spec.title.is_empty() || spec.title.chars().count() > 100 {
            e.push(FieldError::new(
                "title",
                "名称を100文字以内で入力してください",
                "enter a title of at most 100 characters",
            ));
        }
        if !(15..=480).contains(&spec.duration_minutes) || spec.duration_minutes % 15 != 0 {
            e.push(FieldError::new(
                "duration_minutes",
                "所要時間は15分単位で15〜480分にしてください",
                "the duration is 15-480 minutes in steps of 15",
            ));
        }
        let c = &spec.cadence;
        if c.max == 0 || c.min > c.max {
            e.push(FieldError::new(
                "cadence",
                format!(
                    "回数は最小 ≤ 最大、最大は1以上にしてください（最小 {}、最大 {}）",
                    c.min, c.max
                ),
                format!(
                    "counts need min <= max and max >= 1 (min {}, max {})",
                    c.min, c.max
                ),
            ));
        }
        if c.max > 60 {
            e.push(FieldError::new(
                "cadence",
                "1つの期間の回数は60回までです",
                "at most 60 occurrences per window",
            ));
        }
        if let Some(m) = c.months.iter().find(|m| !(1..=12).contains(*m)) {
            e.push(FieldError::new(
                "cadence",
                format!("月「{m}」は1〜12で指定してください"),
                format!("month {m} must be 1-12"),
            ));
        }
        if let (Some(a), Some(b)) = (c.min_gap_days, c.max_gap_days) {
            if a > b {
                e.push(FieldError::new(
                    "cadence",
                    "最小間隔が最大間隔を超えています",
                    "the minimum gap exceeds the maximum gap",
                ));
            }
        }
        if spec.lead_days > 365 {
            e.push(FieldError::new(
                "lead_days",
                "準備期間は365日以内にしてください",
                "the lead time is at most 365 days",
            ));
        }
        if spec.external_attendees > 500 {
            e.push(FieldError::new(
                "external_attendees",
                "外部参加者は500人までです",
                "at most 500 external attendees",
            ));
        }
        let mut preferred_weekdays = Vec::new();
        for d in &spec.preferred_weekdays {
            match parse_weekday(d) {
                Some(w) if !preferred_weekdays.contains(&w) => preferred_weekdays.push(w),
                Some(_) => {}
                None => e.push(FieldError::new(
                    "preferred_weekdays",
                    format!("曜日「{d}」が読めません。mon〜sun または 月〜日 で指定してください"),
                    format!("cannot read weekday \"{d}\"; use mon..sun or 月..日"),
                )),
            }
        }
        let preferred_start = spec
            .preferred_start
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| parse_window("preferred_start", s, &mut e));
        let allowed_start = spec
            .allowed_start
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| parse_window("allowed_start", s, &mut e));
        let mut repeat_kinds = Vec::new();
        for k in &spec.repeat_kinds {
            match OrgKind::parse(k) {
                Some(k) => repeat_kinds.push(k),
                None => e.push(unknown_kind("repeat_kinds", k)),
            }
        }
        if spec.repeat == Repeat::PerOrganisation && repeat_kinds.is_empty() {
            e.push(FieldError::new(
                "repeat_kinds",
                "組織ごとに作る場合は、対象の組織種別を指定してください（例: consultation_office）",
                "with repeat per_organisation, name the organisation kinds (e.g. consultation_office)",
            ));
        }
        for (i, a) in spec.organisations.iter().enumerate() {
            let field = format!("organisations[{i}]");
            for k in &a.kinds {
                if OrgKind::parse(k).is_none() {
                    e.push(unknown_kind(&field, k));
                }
            }
            if a.kinds.is_empty() && a.codes.is_empty() {
                e.push(FieldError::new(
                    &field,
                    "組織種別か組織コードを指定してください",
                    "name organisation kinds or organisation codes",
                ));
            }
            if a.same_ward && spec.repeat != Repeat::PerWard {
                e.push(FieldError::new(
                    &field,
                    "「同じ区」は区ごとに作るシリーズでだけ使えます",
                    "same_ward needs repeat per_ward",
                ));
            }
        }
        for (i, p) in spec.before.iter().enumerate() {
            if p.min_days > p.max_days || p.max_days > 365 {
                e.push(FieldError::new(
                    &format!("before[{i}]"),
                    "日数は 最小 ≤ 最大 ≤ 365 にしてください",
                    "days need min <= max <= 365",
                ));
            }
            if p.series.trim() == spec.code {
                e.push(FieldError::new(
                    &format!("before[{i}]"),
                    "自分自身より前には置けません",
                    "a series cannot precede itself",
                ));
            }
        }
        if let Some(h) = spec.held_by.as_mut() {
            h.organisation = h.organisation.trim().to_string();
            h.name = h.name.trim().to_string();
            h.name_en = h.name_en.trim().to_string();
            h.place = h.place.trim().to_string();
            if h.organisation.is_empty() && h.name.is_empty() {
                e.push(FieldError::new(
                    "held_by",
                    "主催機関の組織コードか名称を入力してください",
                    "name the host: its organisation code or its name",
                ));
            }
            if !h.organisation.is_empty() && !is_code(&h.organisation) {
                e.push(FieldError::new(
                    "held_by.organisation",
                    format!(
                        "主催機関のコード「{}」は英数字・-・_ の32文字以内で入力してください",
                        h.organisation
                    ),
                    format!(
                        "the host's code \"{}\" is 1-32 letters, digits, - or _",
                        h.organisation
                    ),
                ));
            }
            for (field, text) in [
                ("held_by.name", &h.name),
                ("held_by.name_en", &h.name_en),
                ("held_by.place", &h.place),
            ] {
                if text.chars().count() > 100 {
                    e.push(FieldError::new(
                        field,
                        "100文字以内で入力してください",
                        "at most 100 characters",
                    ));
                }
            }
            // The host's meeting is one meeting: not one per ward or office, not tied to
            // our venues or to the order of our own series.
            if spec.repeat != Repeat::None {
                e.push(FieldError::new(
                    "repeat",
                    "他機関主催の会議は区ごと・組織ごとに展開できません（repeat は none にしてください）",
                    "a meeting held by another body is not repeated per ward or organisation (repeat: none)",
                ));
            }
            if !spec.venues.is_empty() || spec.venue_in_ward {
                e.push(FieldError::new(
                    "venues",
                    "他機関主催の会議には会場を指定できません（場所は日程ごとに入力します）",
                    "a meeting held by another body takes none of our venues (enter the place with each date)",
                ));
            }
            if !spec.before.is_empty() {
                e.push(FieldError::new(
                    "before",
                    "他機関主催の会議の日程は主催者が決めるため、前後関係は指定できません",
                    "the host sets the dates of a meeting held by another body; it cannot precede a series",
                ));
            }
        }
        if spec.lecturers.len() > 5 {
            e.push(FieldError::new(
                "lecturers",
                "講師・スーパーバイザーは5人までです",
                "at most 5 lecturers or supervisors",
            ));
        }
        for (i, l) in spec.lecturers.iter_mut().enumerate() {
            l.role = l.role.trim().to_string();
            l.people = l
                .people
                .iter()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            if l.people.is_empty() && l.role.is_empty() {
                e.push(FieldError::new(
                    &format!("lecturers[{i}]"),
                    "講師・スーパーバイザーの人コードか役割・資格(例: スーパーバイザー)を入力してください",
                    "name the lecturer's person code(s) or a role or qualification (e.g. スーパーバイザー)",
                ));
            }
        }
        if spec.venue_in_ward && spec.repeat != Repeat::PerWard {
            e.push(FieldError::new(
                "venue_in_ward",
                "「区内の会場」は区ごとに作るシリーズでだけ使えます",
                "venue_in_ward needs repeat per_ward",
            ));
        }
        if !e.is_empty() {
            return Err(e);
        }
        Ok(ValidSeries {
            spec,
            preferred_weekdays,
            preferred_start,
            allowed_start,
            repeat_kinds,
        })
    }
}

fn unknown_kind(field: &str, k: &str) -> FieldError {
    FieldError::new(
        field,
        format!("組織種別「{k}」がありません（core_center, consultation_center, consultation_office, ward_section, hospital, short_stay, group_home, hub, other）"),
        format!("unknown organisation kind \"{k}\" (core_center, consultation_center, consultation_office, ward_section, hospital, short_stay, group_home, hub, other)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SeriesSpec {
        serde_json::from_value(serde_json::json!({
            "code": "WARDNET", "title": "区ネットワーク会議", "kind": "ward_network",
            "duration_minutes": 120, "repeat": "per_ward",
            "cadence": {"per": "quarter", "min": 1, "max": 1},
            "organisations": [{"kinds": ["ward_section"], "same_ward": true}],
            "preferred_start": "13:30-15:00", "preferred_weekdays": ["火", "thu"]
        }))
        .unwrap()
    }

    #[test]
    fn parses_a_ward_series() {
        let v = spec().parse().unwrap();
        assert_eq!(v.preferred_weekdays, vec![Weekday::Tue, Weekday::Thu]);
        assert_eq!(
            v.preferred_start.unwrap().from,
            NaiveTime::from_hms_opt(13, 30, 0).unwrap()
        );
    }

    #[test]
    fn names_every_problem() {
        let mut s = spec();
        s.code = "bad code".into();
        s.duration_minutes = 50;
        s.cadence.min = 3;
        s.cadence.max = 2;
        s.repeat = Repeat::None;
        s.preferred_start = Some("noon".into());
        let fields: Vec<String> = s
            .parse()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        for f in [
            "code",
            "duration_minutes",
            "cadence",
            "preferred_start",
            "organisations[0]",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} missing in {fields:?}");
        }
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let r: Result<SeriesSpec, _> = serde_json::from_value(serde_json::json!({
            "code": "X", "title": "x", "kind": "other", "duration_minutes": 60,
            "cadence": {"per": "month", "min": 1, "max": 1}, "colour": "red"
        }));
        assert!(r.unwrap_err().to_string().contains("colour"));
    }
}
