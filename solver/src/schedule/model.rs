//! The meeting-calendar problem as plain data: the JSON instance format of `renkei solve`
//! and the plan it produces. Everything the planner and the validator need is in [`Instance`];
//! neither reads anything else.
//!
//! Conventions: dates are JST calendar dates, times are JST wall-clock times, periods are
//! inclusive, ids are small integers unique per kind within one instance.

use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::calendar::OpeningHours;

pub type PersonId = u32;
pub type OrgId = u32;
pub type VenueId = u32;
pub type RoomId = u32;
pub type SeriesId = u32;

/// A text for people, in both languages the product speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub ja: String,
    pub en: String,
}

impl Text {
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            ja: ja.into(),
            en: en.into(),
        }
    }
}

/// Inclusive date range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

/// Wall-clock window within a day; `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub from: NaiveTime,
    pub to: NaiveTime,
}

/// One planning problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub name: String,
    /// The days to plan (a quarter, a fiscal year, ...).
    pub period: DateRange,
    /// "Today" for lead times: an occurrence of a series with `lead_days` may not fall
    /// before `planning_date + lead_days`.
    pub planning_date: NaiveDate,
    /// Start times are multiples of this many minutes from midnight (15, 30 or 60).
    #[serde(default = "default_grain")]
    pub grain_minutes: u32,
    /// Municipality-wide extra closures (臨時休業). Holidays and 年末年始 are always closed.
    #[serde(default)]
    pub closures: Vec<NaiveDate>,
    pub people: Vec<Person>,
    #[serde(default)]
    pub organisations: Vec<Organisation>,
    pub venues: Vec<Venue>,
    pub rooms: Vec<Room>,
    /// Travel minutes between venues (symmetric); pairs not listed use `default_travel_minutes`.
    #[serde(default)]
    pub travel: Vec<Travel>,
    #[serde(default = "default_travel")]
    pub default_travel_minutes: u32,
    pub series: Vec<Series>,
    #[serde(default)]
    pub precedences: Vec<Precedence>,
    /// The calendar as published before this solve: kept where possible (fewest changes), and
    /// pinned occurrences are kept exactly (`Pin::Full`) or on their date (`Pin::Date`).
    #[serde(default)]
    pub published: Vec<PublishedOccurrence>,
    /// Meetings held by other bodies (他機関主催) that some of the people attend: fixed by
    /// their host, never planned or moved, in none of the rooms; they only keep their
    /// attendees busy (travel included). See [`HeldMeeting`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_by_others: Vec<HeldMeeting>,
    /// Counts the plan should reach (the municipality's indicators); soft, see [`Target`].
    #[serde(default)]
    pub targets: Vec<Target>,
    #[serde(default)]
    pub weights: Weights,
    /// Wall-clock limit of the MILP solve; the best plan found so far is returned with its gap.
    #[serde(default = "default_time_limit")]
    pub time_limit_seconds: f64,
}

fn default_grain() -> u32 {
    30
}
fn default_travel() -> u32 {
    30
}
fn default_time_limit() -> f64 {
    60.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    #[serde(default)]
    pub organisation: Option<OrgId>,
    /// Working days of part-time staff; empty means every day the venue is open.
    #[serde(default)]
    pub working_days: Vec<Weekday>,
    #[serde(default)]
    pub absences: Vec<DateRange>,
    /// Working hours (e.g. `mon-fri 08:30-17:30`): the person attends only meetings that lie
    /// within them. None: whenever the venue is open (on `working_days`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<OpeningHours>,
    /// At most this many meetings a day where the person is required. None: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_meetings_per_day: Option<u32>,
    /// At most this many minutes of meetings a day where the person is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_minutes_per_day: Option<u32>,
    /// An external lecturer's or supervisor's availability (外部講師・スーパーバイザーの都合):
    /// the person attends only meetings that lie within one of these windows (besides
    /// `working_days`, `hours` and `absences`). None: not restricted (staff); an empty list:
    /// available nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<Vec<Availability>>,
}

/// One window an external person said they can come in: the days of `dates` (only those
/// `weekdays`, when any are listed) from `from` to `to` (wall clock, `to` exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    pub dates: DateRange,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<Weekday>,
    pub from: NaiveTime,
    pub to: NaiveTime,
}

impl Availability {
    /// The window is open on `date` (whatever the time).
    pub fn covers_day(&self, date: NaiveDate) -> bool {
        use chrono::Datelike;
        self.dates.contains(date)
            && (self.weekdays.is_empty() || self.weekdays.contains(&date.weekday()))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    #[serde(default)]
    pub ward: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Venue {
    pub id: VenueId,
    pub name: String,
    /// Default Mon-Fri 08:30-17:30.
    #[serde(default)]
    pub hours: OpeningHours,
    /// Days this venue alone is closed.
    #[serde(default)]
    pub closures: Vec<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Room {
    pub id: RoomId,
    pub venue: VenueId,
    pub name: String,
    pub capacity: u32,
    #[serde(default)]
    pub wheelchair: bool,
    #[serde(default)]
    pub hearing_loop: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Travel {
    pub from: VenueId,
    pub to: VenueId,
    pub minutes: u32,
}

/// Kinds of meetings the center owes (see DOMAIN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingKind {
    /// 自立支援協議会 本会議
    Plenary,
    /// 運営会議
    OperatingCommittee,
    /// 専門部会
    Subcommittee,
    /// 区障がい福祉ネットワーク会議
    WardNetwork,
    /// 連絡会議 (機能強化員連絡会議, 地域支援員会議, ...)
    Liaison,
    /// GSV (グループスーパービジョン) 研修
    Gsv,
    /// 事例検討会
    CaseReview,
    /// 個別事例の支援内容の検証
    CaseVerification,
    /// 訪問による専門的指導・助言
    OfficeVisit,
    /// 研修
    Training,
    Other,
}

/// A recurring duty, described once by the coordinator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    pub id: SeriesId,
    pub title: String,
    pub kind: MeetingKind,
    pub duration_minutes: u32,
    /// Must attend every occurrence (hard).
    #[serde(default)]
    pub required: Vec<PersonId>,
    /// Invited; attendance is maximised (soft).
    #[serde(default)]
    pub optional: Vec<PersonId>,
    /// People from outside the instance (e.g. an external supervisor's team), for capacity.
    #[serde(default)]
    pub external_attendees: u32,
    #[serde(default)]
    pub needs_wheelchair: bool,
    #[serde(default)]
    pub needs_hearing_loop: bool,
    /// Allowed rooms; empty means every room that fits. An office visit lists the visited
    /// office's own room.
    #[serde(default)]
    pub rooms: Vec<RoomId>,
    pub cadence: Cadence,
    /// Earliest day is `planning_date + lead_days` (external supervisors: ~90).
    #[serde(default)]
    pub lead_days: u32,
    /// Hard window for the start time (besides the venue's opening hours).
    #[serde(default)]
    pub allowed_start: Option<TimeWindow>,
    /// Soft: weekdays and start window preferred.
    #[serde(default)]
    pub preferred_weekdays: Vec<Weekday>,
    #[serde(default)]
    pub preferred_start: Option<TimeWindow>,
    /// Series of one family (one duty expanded per ward or per visited office) are spread
    /// as one: their occurrences interleave evenly over each window instead of all aiming
    /// at its middle (40 yearly office visits over the year, 5 wards' quarterly meetings
    /// over the quarter). Members take their turn by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// How often a series meets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cadence {
    /// The window the counts apply to.
    pub per: CadencePeriod,
    pub min: u32,
    pub max: u32,
    /// If not empty, occurrences fall only in these months (1-12); with `per: month` the
    /// counts apply to each listed month ("May, October, February").
    #[serde(default)]
    pub months: Vec<u32>,
    /// Days between consecutive occurrences (hard).
    #[serde(default)]
    pub min_gap_days: Option<u32>,
    #[serde(default)]
    pub max_gap_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CadencePeriod {
    Month,
    Quarter,
    FiscalYear,
    /// The whole planning period.
    Period,
}

/// Each occurrence of `after` needs an occurrence of `before` between `max_days` and
/// `min_days` days earlier (e.g. a subcommittee reports to the plenary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Precedence {
    pub before: SeriesId,
    pub after: SeriesId,
    pub min_days: u32,
    pub max_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pin {
    /// May move (at a cost, see `Weights::change`).
    #[default]
    None,
    /// Keep date, time and room.
    Full,
    /// Keep the date; time and room may change.
    Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedOccurrence {
    #[serde(flatten)]
    pub occurrence: Occurrence,
    #[serde(default)]
    pub pin: Pin,
}

/// A meeting another body holds (the ward's council, an inter-municipal liaison) and some of
/// the people attend: its date and times are the host's. No occurrence of the plan may keep
/// one of its attendees at the same time, nor closer to it than the travel between the two
/// places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldMeeting {
    pub title: String,
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
    /// One of the instance's venues when it is held there; `None`: elsewhere (the host's own
    /// place), `default_travel_minutes` away from every venue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<VenueId>,
    pub attendees: Vec<PersonId>,
}

/// Venue id standing for "the host's own place" of a [`HeldMeeting`] without a venue: never
/// an instance venue, so travel to it is always `default_travel_minutes`.
pub const ELSEWHERE: VenueId = VenueId::MAX;

/// A count the plan should reach (an indicator of the municipality): at least `min`
/// occurrences of these series within the planning period. Soft: each missing occurrence
/// costs `Weights::target_shortfall`, so the optimizer meets every target it can.
///
/// The count is over the plan's occurrences inside `Instance::period`; what lies outside
/// the period (held before, published after) is the caller's to subtract from `min`. Ids of
/// series not in the instance are ignored; a series listed twice counts once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub name: Text,
    pub series: Vec<SeriesId>,
    pub min: u32,
}

/// Weights of the soft goals (all >= 0; 0 switches a goal off).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Weights {
    /// Per occurrence on a non-preferred weekday.
    pub weekday: f64,
    /// Per occurrence starting outside its preferred window.
    pub start_time: f64,
    /// Per day of deviation from even spacing within a cadence window.
    pub spacing: f64,
    /// Per optional invitee who cannot attend.
    pub optional_missed: f64,
    /// Per meeting above the first for one staff member in one week.
    pub weekly_load: f64,
    /// Per occurrence moved against the published calendar (date or start or room).
    pub change: f64,
    /// Per occurrence a [`Target`] falls short of its minimum.
    pub target_shortfall: f64,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights {
            weekday: 3.0,
            start_time: 2.0,
            spacing: 0.2,
            optional_missed: 1.0,
            weekly_load: 1.0,
            change: 20.0,
            target_shortfall: 100.0,
        }
    }
}

/// One scheduled meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Occurrence {
    pub series: SeriesId,
    /// 0-based ordinal within the series in this plan (by date).
    pub index: u32,
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub room: RoomId,
    /// Required attendees and the optional invitees who can come.
    pub attendees: Vec<PersonId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SolveStatus {
    /// Proven optimal (within the MIP gap tolerance).
    Optimal,
    /// Time limit reached; the plan is the best found, `gap` says how far from the bound.
    TimeLimit,
}

/// Which method produced a plan's occurrences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMethod {
    /// The optimizer's own plan (it starts from the baseline and found a better one).
    #[default]
    Optimizer,
    /// The baseline ([`crate::schedule::greedy`]): the optimizer found nothing better in time.
    Baseline,
}

/// What the planner returns when the rules can be met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub occurrences: Vec<Occurrence>,
    #[serde(default)]
    pub method: PlanMethod,
    /// When and why the optimizer stopped before proving the plan optimal.
    #[serde(default)]
    pub note: Option<Text>,
    pub status: SolveStatus,
    pub objective: f64,
    /// Best bound on the objective (minimisation).
    pub bound: f64,
    /// Relative MIP gap, (objective - bound) / max(|objective|, 1).
    pub gap: f64,
    pub solve_seconds: f64,
    pub variables: usize,
    pub constraints: usize,
    /// Occurrences that differ from the published calendar, and who must be told.
    #[serde(default)]
    pub changes: Vec<Change>,
    /// Per [`Target`] of the instance (in its order), what the plan reaches.
    #[serde(default)]
    pub targets: Vec<TargetOutcome>,
}

/// How far a plan gets towards one [`Target`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetOutcome {
    pub name: Text,
    pub min: u32,
    /// Occurrences of the target's series inside the period.
    pub planned: u32,
    pub met: bool,
    /// Why not met (None when met), in domain words, both languages.
    #[serde(default)]
    pub reason: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub series: SeriesId,
    pub before: Option<Occurrence>,
    pub after: Option<Occurrence>,
    /// Everyone invited to the old or the new occurrence.
    pub notify: Vec<PersonId>,
}

/// Why no plan exists: a small set of rules that cannot hold together, and what would help.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Infeasibility {
    pub conflicts: Vec<Conflict>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// The rules, in domain words.
    pub rules: Vec<Text>,
    /// Relaxations that would make the plan possible.
    pub relaxations: Vec<Text>,
}
