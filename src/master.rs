//! Master data (基本情報): organisations, people, venues and rooms.
//!
//! Inputs arrive from three edges (JSON API, HTML forms, CSV/XLSX rows) and all go through the
//! same `parse` functions here, so a value is checked once and the same way everywhere. The
//! `*Input` types are what a user sends; `Valid*` types are what the store accepts.

use std::collections::HashMap;

use chrono::Weekday;
use renkei_solver::calendar::OpeningHours;
use renkei_solver::schedule::model::{Availability, DateRange};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::i18n::Msg;

/// The four kinds of master data, in the order they must be imported (later ones refer to
/// earlier ones by code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MasterKind {
    Organisations,
    People,
    Venues,
    Rooms,
}

impl MasterKind {
    pub const ALL: [MasterKind; 4] = [
        MasterKind::Organisations,
        MasterKind::People,
        MasterKind::Venues,
        MasterKind::Rooms,
    ];
    pub fn parse(s: &str) -> Option<MasterKind> {
        MasterKind::ALL.into_iter().find(|k| k.slug() == s)
    }
    pub fn slug(self) -> &'static str {
        match self {
            MasterKind::Organisations => "organisations",
            MasterKind::People => "people",
            MasterKind::Venues => "venues",
            MasterKind::Rooms => "rooms",
        }
    }
    pub fn label(self) -> Msg {
        match self {
            MasterKind::Organisations => Msg::new("機関", "Organisations"),
            MasterKind::People => Msg::new("人", "People"),
            MasterKind::Venues => Msg::new("会場", "Venues"),
            MasterKind::Rooms => Msg::new("部屋", "Rooms"),
        }
    }
    /// Columns of the CSV/XLSX form, also the fields of the HTML form, in order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            MasterKind::Organisations => ORGANISATION_COLUMNS,
            MasterKind::People => PERSON_COLUMNS,
            MasterKind::Venues => VENUE_COLUMNS,
            MasterKind::Rooms => ROOM_COLUMNS,
        }
    }
}

/// One column of a master-data table: its key (CSV header), labels and how a form shows it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Column {
    pub key: &'static str,
    pub ja: &'static str,
    pub en: &'static str,
    pub input: InputKind,
    pub required: bool,
    pub hint_ja: &'static str,
    pub hint_en: &'static str,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    Text,
    Email,
    Number,
    Checkbox,
    OrgKind,
}

const fn col(key: &'static str, ja: &'static str, en: &'static str, input: InputKind) -> Column {
    Column {
        key,
        ja,
        en,
        input,
        required: false,
        hint_ja: "",
        hint_en: "",
    }
}
const fn req(mut c: Column) -> Column {
    c.required = true;
    c
}
const fn hint(mut c: Column, ja: &'static str, en: &'static str) -> Column {
    c.hint_ja = ja;
    c.hint_en = en;
    c
}

const CODE_HINT_JA: &str = "半角英数字・ハイフン・アンダースコア(最大32文字)";
const CODE_HINT_EN: &str = "letters, digits, - and _ (up to 32)";

static ORGANISATION_COLUMNS: &[Column] = &[
    hint(
        req(col("code", "コード", "Code", InputKind::Text)),
        CODE_HINT_JA,
        CODE_HINT_EN,
    ),
    req(col("name", "名称", "Name", InputKind::Text)),
    hint(
        col("kana", "フリガナ", "Kana", InputKind::Text),
        "カタカナまたはひらがな",
        "katakana or hiragana",
    ),
    req(col("kind", "種別", "Kind", InputKind::OrgKind)),
    hint(
        col("ward", "区・圏域", "Ward / area", InputKind::Text),
        "例: 中央区",
        "e.g. 中央区",
    ),
    col("address", "住所", "Address", InputKind::Text),
    col("phone", "電話番号", "Phone", InputKind::Text),
    col("email", "メールアドレス", "Email", InputKind::Email),
];

static PERSON_COLUMNS: &[Column] = &[
    hint(
        req(col("code", "コード", "Code", InputKind::Text)),
        CODE_HINT_JA,
        CODE_HINT_EN,
    ),
    req(col("name", "氏名", "Name", InputKind::Text)),
    hint(
        col("kana", "フリガナ", "Kana", InputKind::Text),
        "カタカナまたはひらがな",
        "katakana or hiragana",
    ),
    col("email", "メールアドレス", "Email", InputKind::Email),
    hint(
        col(
            "organisation_code",
            "所属機関コード",
            "Organisation code",
            InputKind::Text,
        ),
        "登録済みの機関のコード",
        "code of a registered organisation",
    ),
    hint(
        col("roles", "役割", "Roles", InputKind::Text),
        "「;」区切り 例: 機能強化員;地域支援員",
        "separated by ; e.g. 機能強化員;地域支援員",
    ),
    hint(
        col("qualifications", "資格", "Qualifications", InputKind::Text),
        "「;」区切り 例: 主任相談支援専門員;社会福祉士",
        "separated by ; e.g. 主任相談支援専門員",
    ),
    hint(
        col(
            "part_time_days",
            "勤務曜日(非常勤)",
            "Working days (part-time)",
            InputKind::Text,
        ),
        "常勤は空欄。例: mon;wed;fri または 月;水;金",
        "empty for full-time; e.g. mon;wed;fri or 月;水;金",
    ),
    hint(
        col(
            "working_hours",
            "勤務時間",
            "Working hours",
            InputKind::Text,
        ),
        "空欄は自治体の職員の勤務時間。例: mon-fri 09:00-16:00",
        "empty means the municipality's staff hours; e.g. mon-fri 09:00-16:00",
    ),
    hint(
        col(
            "max_meetings_per_day",
            "1日の会議上限(件)",
            "Meetings per day at most",
            InputKind::Number,
        ),
        "空欄は自治体の既定。1〜20",
        "empty means the municipality's default; 1-20",
    ),
    hint(
        col(
            "max_hours_per_day",
            "1日の会議上限(時間)",
            "Meeting hours per day at most",
            InputKind::Number,
        ),
        "空欄は自治体の既定。0.5〜16（30分単位）",
        "empty means the municipality's default; 0.5-16 (half hours)",
    ),
    hint(
        col(
            "external",
            "外部講師・SV",
            "External lecturer / supervisor",
            InputKind::Checkbox,
        ),
        "行政・関係機関・外部から依頼する講師・スーパーバイザー。専門は役割・資格に",
        "a lecturer or supervisor asked from outside; their speciality in roles or qualifications",
    ),
    hint(
        col(
            "availability",
            "都合のつく日時(外部)",
            "Availability (external)",
            InputKind::Text,
        ),
        "外部の方だけ。空欄はどの日も不可。例: 2027-05-12 13:00-17:00; 2027-06-01..2027-06-30 月,水 09:00-12:00",
        "external people only; empty means no day. e.g. 2027-05-12 13:00-17:00; 2027-06-01..2027-06-30 mon,wed 09:00-12:00",
    ),
];

static VENUE_COLUMNS: &[Column] = &[
    hint(
        req(col("code", "コード", "Code", InputKind::Text)),
        CODE_HINT_JA,
        CODE_HINT_EN,
    ),
    req(col("name", "名称", "Name", InputKind::Text)),
    col("ward", "区・圏域", "Ward / area", InputKind::Text),
    col("address", "住所", "Address", InputKind::Text),
    hint(
        col(
            "opening_hours",
            "開館時間",
            "Opening hours",
            InputKind::Text,
        ),
        "空欄は mon-fri 08:30-17:30。例: mon-fri 09:00-17:00; sat 09:00-12:00",
        "empty means mon-fri 08:30-17:30; e.g. mon-fri 09:00-17:00; sat 09:00-12:00",
    ),
];

static ROOM_COLUMNS: &[Column] = &[
    hint(
        req(col("code", "コード", "Code", InputKind::Text)),
        CODE_HINT_JA,
        CODE_HINT_EN,
    ),
    hint(
        req(col(
            "venue_code",
            "会場コード",
            "Venue code",
            InputKind::Text,
        )),
        "登録済みの会場のコード",
        "code of a registered venue",
    ),
    req(col("name", "名称", "Name", InputKind::Text)),
    hint(
        req(col("capacity", "定員", "Capacity", InputKind::Number)),
        "1〜1000の整数",
        "a whole number 1-1000",
    ),
    col(
        "wheelchair",
        "車いす対応",
        "Wheelchair access",
        InputKind::Checkbox,
    ),
    col(
        "hearing_loop",
        "ヒアリングループ",
        "Hearing loop",
        InputKind::Checkbox,
    ),
];

/// Kind of organisation (機関種別).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// 基幹相談支援センター
    CoreCenter,
    /// 障害者相談支援センター (委託相談)
    ConsultationCenter,
    /// 指定特定・一般相談支援事業所
    ConsultationOffice,
    /// 区役所の課 (福祉課, 保健子ども課, ...)
    WardSection,
    /// 病院
    Hospital,
    /// 短期入所事業所
    ShortStay,
    /// グループホーム
    GroupHome,
    /// 地域生活支援拠点
    Hub,
    /// その他
    Other,
}

impl OrgKind {
    pub const ALL: [OrgKind; 9] = [
        OrgKind::CoreCenter,
        OrgKind::ConsultationCenter,
        OrgKind::ConsultationOffice,
        OrgKind::WardSection,
        OrgKind::Hospital,
        OrgKind::ShortStay,
        OrgKind::GroupHome,
        OrgKind::Hub,
        OrgKind::Other,
    ];
    pub fn slug(self) -> &'static str {
        match self {
            OrgKind::CoreCenter => "core_center",
            OrgKind::ConsultationCenter => "consultation_center",
            OrgKind::ConsultationOffice => "consultation_office",
            OrgKind::WardSection => "ward_section",
            OrgKind::Hospital => "hospital",
            OrgKind::ShortStay => "short_stay",
            OrgKind::GroupHome => "group_home",
            OrgKind::Hub => "hub",
            OrgKind::Other => "other",
        }
    }
    pub fn label(self) -> Msg {
        let (ja, en) = match self {
            OrgKind::CoreCenter => ("基幹相談支援センター", "Core consultation-support center"),
            OrgKind::ConsultationCenter => {
                ("障害者相談支援センター", "Consultation-support center")
            }
            OrgKind::ConsultationOffice => ("相談支援事業所", "Consultation office"),
            OrgKind::WardSection => ("区役所(課)", "Ward office section"),
            OrgKind::Hospital => ("病院", "Hospital"),
            OrgKind::ShortStay => ("短期入所事業所", "Short-stay facility"),
            OrgKind::GroupHome => ("グループホーム", "Group home"),
            OrgKind::Hub => ("地域生活支援拠点", "Community life support hub"),
            OrgKind::Other => ("その他", "Other"),
        };
        Msg::new(ja, en)
    }
    /// Accepts the slug or either label, so a spreadsheet may say 相談支援事業所.
    pub fn parse(s: &str) -> Option<OrgKind> {
        let s = s.trim();
        OrgKind::ALL.into_iter().find(|k| {
            let l = k.label();
            k.slug() == s || l.ja == s || l.en.eq_ignore_ascii_case(s)
        })
    }
}

/// A validation problem with one field, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: Msg,
}

impl FieldError {
    pub fn new(field: &str, ja: impl Into<String>, en: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_string(),
            message: Msg::new(ja, en),
        }
    }
}

/// Collects field errors while a value is parsed.
#[derive(Default)]
pub(crate) struct Check(pub(crate) Vec<FieldError>);

impl Check {
    pub(crate) fn code(&mut self, field: &str, v: &str) -> String {
        let v = v.trim();
        if v.is_empty() {
            self.0.push(FieldError::new(
                field,
                "コードを入力してください",
                "enter a code",
            ));
        } else if v.len() > 32
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.0.push(FieldError::new(
                field,
                format!("コード「{v}」は使えません: {CODE_HINT_JA}"),
                format!("code \"{v}\" is not allowed: use {CODE_HINT_EN}"),
            ));
        }
        v.to_string()
    }
    pub(crate) fn required(&mut self, field: &str, label_ja: &str, v: &str, max: usize) -> String {
        let v = v.trim();
        if v.is_empty() {
            self.0.push(FieldError::new(
                field,
                format!("{label_ja}を入力してください"),
                format!("{field} is required"),
            ));
        }
        self.optional(field, v, max)
    }
    pub(crate) fn optional(&mut self, field: &str, v: &str, max: usize) -> String {
        let v = v.trim();
        if v.chars().count() > max {
            self.0.push(FieldError::new(
                field,
                format!("{max}文字以内で入力してください"),
                format!("use at most {max} characters"),
            ));
        }
        if v.chars().any(|c| c.is_control()) {
            self.0.push(FieldError::new(
                field,
                "制御文字は使えません",
                "control characters are not allowed",
            ));
        }
        v.to_string()
    }
    pub(crate) fn kana(&mut self, field: &str, v: &str) -> String {
        let v = self.optional(field, v, 100);
        let ok = v.chars().all(|c| {
            matches!(c, '\u{3040}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}' | '\u{FF65}'..='\u{FF9F}' | ' ' | '\u{3000}')
        });
        if !ok {
            self.0.push(FieldError::new(
                field,
                "フリガナはカタカナまたはひらがなで入力してください",
                "kana must be written in katakana or hiragana",
            ));
        }
        v
    }
    pub(crate) fn email(&mut self, field: &str, v: &str) -> String {
        let v = v.trim();
        if !v.is_empty() && !is_plausible_email(v) {
            self.0.push(FieldError::new(
                field,
                format!("メールアドレス「{v}」の形式が正しくありません(例: name@example.jp)"),
                format!("\"{v}\" is not an email address (e.g. name@example.jp)"),
            ));
        }
        v.to_string()
    }
    pub(crate) fn list(&mut self, field: &str, items: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for item in items {
            let item = self.optional(field, item, 50);
            if !item.is_empty() && !out.contains(&item) {
                out.push(item);
            }
        }
        out
    }
    pub(crate) fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

/// Deliberately simple: one @, a dot in the domain, no spaces. Delivery proves the rest.
pub fn is_plausible_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && v.len() <= 254
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Parses a list written in one cell: `;`, `、`, `,` or newlines separate items.
pub fn split_list(v: &str) -> Vec<String> {
    v.split([';', '；', '、', ',', '，', '\n'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

pub fn weekday_slug(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// Accepts mon/Monday/月/月曜/月曜日 (any case; English names may be shortened to 3+ letters).
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let days = [
        (Weekday::Mon, "月", "monday"),
        (Weekday::Tue, "火", "tuesday"),
        (Weekday::Wed, "水", "wednesday"),
        (Weekday::Thu, "木", "thursday"),
        (Weekday::Fri, "金", "friday"),
        (Weekday::Sat, "土", "saturday"),
        (Weekday::Sun, "日", "sunday"),
    ];
    days.into_iter().find_map(|(d, ja, en)| {
        let ok = (lower.len() >= 3 && en.starts_with(&lower))
            || s.strip_prefix(ja)
                .is_some_and(|rest| matches!(rest, "" | "曜" | "曜日"));
        ok.then_some(d)
    })
}

// ----- organisations -----

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub kana: String,
    /// One of core_center, consultation_center, consultation_office, ward_section, hospital,
    /// short_stay, group_home, hub, other (or the Japanese label).
    pub kind: String,
    #[serde(default)]
    pub ward: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidOrganisation {
    pub code: String,
    pub name: String,
    pub kana: String,
    pub kind: OrgKind,
    pub ward: String,
    pub address: String,
    pub phone: String,
    pub email: String,
}

impl OrganisationInput {
    pub fn parse(&self) -> Result<ValidOrganisation, Vec<FieldError>> {
        let mut c = Check::default();
        let kind = OrgKind::parse(&self.kind);
        if kind.is_none() {
            let allowed: Vec<String> = OrgKind::ALL
                .iter()
                .map(|k| format!("{} ({})", k.slug(), k.label().ja))
                .collect();
            c.0.push(FieldError::new(
                "kind",
                format!(
                    "種別「{}」は不明です。次のいずれかを指定してください: {}",
                    self.kind.trim(),
                    allowed.join(", ")
                ),
                format!(
                    "unknown kind \"{}\"; use one of: {}",
                    self.kind.trim(),
                    allowed.join(", ")
                ),
            ));
        }
        let v = ValidOrganisation {
            code: c.code("code", &self.code),
            name: c.required("name", "名称", &self.name, 100),
            kana: c.kana("kana", &self.kana),
            kind: kind.unwrap_or(OrgKind::Other),
            ward: c.optional("ward", &self.ward, 50),
            address: c.optional("address", &self.address, 200),
            phone: c.optional("phone", &self.phone, 30),
            email: c.email("email", &self.email),
        };
        c.finish(v)
    }
    pub fn from_fields(f: &Fields) -> OrganisationInput {
        OrganisationInput {
            code: f.get("code"),
            name: f.get("name"),
            kana: f.get("kana"),
            kind: f.get("kind"),
            ward: f.get("ward"),
            address: f.get("address"),
            phone: f.get("phone"),
            email: f.get("email"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Organisation {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kana: String,
    pub kind: OrgKind,
    pub ward: String,
    pub address: String,
    pub phone: String,
    pub email: String,
}

impl Organisation {
    pub fn to_fields(&self) -> Vec<String> {
        vec![
            self.code.clone(),
            self.name.clone(),
            self.kana.clone(),
            self.kind.slug().to_string(),
            self.ward.clone(),
            self.address.clone(),
            self.phone.clone(),
            self.email.clone(),
        ]
    }
}

// ----- people -----

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub kana: String,
    #[serde(default)]
    pub email: String,
    /// Code of the organisation the person belongs to (empty for none).
    #[serde(default)]
    pub organisation_code: String,
    /// Roles in the network, e.g. 機能強化員, 地域支援員.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Qualifications, e.g. 主任相談支援専門員.
    #[serde(default)]
    pub qualifications: Vec<String>,
    /// Working days of part-time staff (mon..sun); empty for full-time.
    #[serde(default)]
    pub part_time_days: Vec<String>,
    /// Working hours as "mon-fri 09:00-16:00"; empty for the municipality's staff hours.
    #[serde(default)]
    pub working_hours: String,
    /// Meetings a day at most where the person is required (1-20); none: the municipality's.
    #[serde(default)]
    pub max_meetings_per_day: Option<u32>,
    /// Meeting hours a day at most (0.5-16, half hours); none: the municipality's.
    #[serde(default)]
    pub max_hours_per_day: Option<f64>,
    /// An external lecturer or supervisor (外部講師・スーパーバイザー), asked from outside
    /// for a meeting; planned only within their `availability`.
    #[serde(default)]
    pub external: bool,
    /// When an external person can come, e.g.
    /// `2027-05-12 13:00-17:00; 2027-06-01..2027-06-30 mon,wed 09:00-12:00`; empty: no day.
    #[serde(default)]
    pub availability: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidPerson {
    pub code: String,
    pub name: String,
    pub kana: String,
    pub email: String,
    pub organisation_code: Option<String>,
    pub roles: Vec<String>,
    pub qualifications: Vec<String>,
    pub part_time_days: Vec<Weekday>,
    /// None: the municipality's staff hours.
    pub working_hours: Option<OpeningHours>,
    pub max_meetings_per_day: Option<u32>,
    pub max_minutes_per_day: Option<u32>,
    pub external: bool,
    /// Only for external people: the windows they can come in.
    pub availability: Vec<Availability>,
}

/// A person's or a municipality's working hours: empty for `None`.
pub(crate) fn parse_working_hours(c: &mut Check, field: &str, text: &str) -> Option<OpeningHours> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<OpeningHours>() {
        Ok(h) => Some(h),
        Err(e) => {
            c.0.push(FieldError::new(
                field,
                format!("勤務時間「{text}」が読めません: {e}"),
                format!("cannot read working hours \"{text}\": {e}"),
            ));
            None
        }
    }
}

/// Daily limits: meetings 1-20, hours 0.5-16 in half hours (as minutes).
pub(crate) fn check_daily_limits(
    c: &mut Check,
    meetings: Option<u32>,
    hours: Option<f64>,
) -> (Option<u32>, Option<u32>) {
    if let Some(n) = meetings {
        if !(1..=20).contains(&n) {
            c.0.push(FieldError::new(
                "max_meetings_per_day",
                format!("1日の会議上限は1〜20件で入力してください(入力値: {n})"),
                format!("meetings per day must be 1 to 20 (got {n})"),
            ));
        }
    }
    let minutes = hours.and_then(|h| {
        let half_hours = h * 2.0;
        if h.is_finite()
            && (0.5..=16.0).contains(&h)
            && (half_hours - half_hours.round()).abs() < 1e-9
        {
            Some((half_hours.round() as u32) * 30)
        } else {
            c.0.push(FieldError::new(
                "max_hours_per_day",
                format!(
                    "1日の会議時間の上限は0.5〜16時間（30分単位）で入力してください(入力値: {h})"
                ),
                format!("meeting hours per day must be 0.5 to 16 in half hours (got {h})"),
            ));
            None
        }
    });
    (meetings, minutes)
}

/// An optional number typed in a cell: empty for `None`.
fn optional_number<T: std::str::FromStr>(
    errors: &mut Vec<FieldError>,
    f: &Fields,
    key: &str,
) -> Option<T> {
    typed_number(key, &f.get(key)).unwrap_or_else(|e| {
        errors.push(e);
        None
    })
}

/// A number typed into a form or a spreadsheet cell, as Japanese input gives it too
/// (full-width digits, `．`, `－`): empty is none; anything else not a number of type `T`
/// (e.g. `1.5` for a whole number) is an error on `key`.
pub fn typed_number<T: std::str::FromStr>(key: &str, text: &str) -> Result<Option<T>, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let normalised: String = text
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '．' => '.',
            '－' | '−' => '-',
            c => c,
        })
        .collect();
    normalised.parse::<T>().map(Some).map_err(|_| {
        FieldError::new(
            key,
            format!("「{text}」は数値ではありません"),
            format!("\"{text}\" is not a number"),
        )
    })
}

impl PersonInput {
    pub fn parse(&self) -> Result<ValidPerson, Vec<FieldError>> {
        let mut c = Check::default();
        let mut days = Vec::new();
        for d in &self.part_time_days {
            match parse_weekday(d) {
                Some(w) if !days.contains(&w) => days.push(w),
                Some(_) => {}
                None => c.0.push(FieldError::new(
                    "part_time_days",
                    format!(
                        "曜日「{}」が読めません。mon〜sun または 月〜日 で指定してください",
                        d.trim()
                    ),
                    format!(
                        "cannot read weekday \"{}\"; use mon..sun or 月..日",
                        d.trim()
                    ),
                )),
            }
        }
        days.sort_by_key(|d| d.num_days_from_monday());
        let limits = check_daily_limits(&mut c, self.max_meetings_per_day, self.max_hours_per_day);
        let org = self.organisation_code.trim();
        let organisation_code = if org.is_empty() {
            None
        } else {
            Some(c.code("organisation_code", org))
        };
        let v = ValidPerson {
            code: c.code("code", &self.code),
            name: c.required("name", "氏名", &self.name, 100),
            kana: c.kana("kana", &self.kana),
            email: c.email("email", &self.email),
            organisation_code,
            roles: c.list("roles", &self.roles),
            qualifications: c.list("qualifications", &self.qualifications),
            part_time_days: days,
            working_hours: parse_working_hours(&mut c, "working_hours", &self.working_hours),
            max_meetings_per_day: limits.0,
            max_minutes_per_day: limits.1,
            external: self.external,
            availability: match parse_availability("availability", &self.availability) {
                Ok(w) => w,
                Err(e) => {
                    c.0.extend(e);
                    Vec::new()
                }
            },
        };
        if !v.external && !v.availability.is_empty() {
            c.0.push(FieldError::new(
                "availability",
                "都合のつく日時は外部講師・SVにだけ入力します。「外部講師・SV」にチェックを入れるか、空欄にしてください",
                "availability is for external lecturers and supervisors only: tick \"external\" or leave it empty",
            ));
        }
        c.finish(v)
    }
    /// From text cells: the limits are parsed here, so their errors name the field.
    pub fn from_fields(f: &Fields) -> Result<PersonInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let max_meetings_per_day = optional_number(&mut errors, f, "max_meetings_per_day");
        let max_hours_per_day = optional_number(&mut errors, f, "max_hours_per_day");
        let external = parse_flag(&f.get("external")).unwrap_or_else(|| {
            errors.push(FieldError::new(
                "external",
                format!(
                    "「{}」は はい/いいえ(1/0, yes/no, ○/×)で入力してください",
                    f.get("external").trim()
                ),
                format!(
                    "\"{}\" must be yes/no (1/0, true/false, ○/×)",
                    f.get("external").trim()
                ),
            ));
            false
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PersonInput {
            external,
            availability: f.get("availability"),
            working_hours: f.get("working_hours"),
            max_meetings_per_day,
            max_hours_per_day,
            code: f.get("code"),
            name: f.get("name"),
            kana: f.get("kana"),
            email: f.get("email"),
            organisation_code: f.get("organisation_code"),
            roles: split_list(&f.get("roles")),
            qualifications: split_list(&f.get("qualifications")),
            part_time_days: split_list(&f.get("part_time_days")),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Person {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kana: String,
    pub email: String,
    pub organisation_id: Option<i64>,
    pub organisation_code: Option<String>,
    pub organisation_name: Option<String>,
    pub roles: Vec<String>,
    pub qualifications: Vec<String>,
    pub part_time_days: Vec<String>,
    /// Empty: the municipality's staff hours.
    pub working_hours: String,
    pub max_meetings_per_day: Option<u32>,
    pub max_hours_per_day: Option<f64>,
    /// An external lecturer or supervisor.
    pub external: bool,
    /// Their availability as stored (empty: no day).
    pub availability: String,
}

impl Person {
    pub fn to_fields(&self) -> Vec<String> {
        vec![
            self.code.clone(),
            self.name.clone(),
            self.kana.clone(),
            self.email.clone(),
            self.organisation_code.clone().unwrap_or_default(),
            self.roles.join(";"),
            self.qualifications.join(";"),
            self.part_time_days.join(";"),
            self.working_hours.clone(),
            self.max_meetings_per_day
                .map(|n| n.to_string())
                .unwrap_or_default(),
            self.max_hours_per_day
                .map(|h| h.to_string())
                .unwrap_or_default(),
            if self.external { "1" } else { "0" }.to_string(),
            self.availability.clone(),
        ]
    }
}

// ----- availability of external lecturers and supervisors -----

/// How availability is written; every error shows it.
pub const AVAILABILITY_EXAMPLE: &str =
    "2027-05-12 13:00-17:00; 2027-06-01..2027-06-30 mon,wed 09:00-12:00";

/// At most this many windows per person.
const MAX_AVAILABILITY_WINDOWS: usize = 200;

/// An external person's availability (外部講師・スーパーバイザーの都合), typed as a spreadsheet
/// cell or a form field: windows separated by `;` (or a new line), each a date or a date range
/// (`..`, `~`, `〜`), optionally weekdays (`mon,wed`, `月・水`), and a time window
/// (`13:00-17:00`, `13:00〜17:00`). Full-width digits and punctuation are read as
/// half-width. Empty is no window (available nowhere).
pub fn parse_availability(field: &str, text: &str) -> Result<Vec<Availability>, Vec<FieldError>> {
    let normalised: String = text
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '：' => ':',
            '／' => '/',
            '－' | '−' | '–' | '‐' => '-',
            '〜' | '～' | '~' => '~',
            '；' | '\n' | '\r' => ';',
            '，' | '、' | '・' => ',',
            '．' => '.',
            '\u{3000}' => ' ',
            c => c,
        })
        .collect();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for entry in normalised
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        match availability_window(entry) {
            Ok(w) => out.push(w),
            Err((ja, en)) => errors.push(FieldError::new(
                field,
                format!("都合のつく日時「{entry}」が読めません: {ja}。「{AVAILABILITY_EXAMPLE}」のように、日付(または 開始日..終了日)、必要なら曜日、時間帯を「;」で区切って入力してください"),
                format!("cannot read the availability \"{entry}\": {en}; write a date (or first..last), weekdays if needed and the hours, separated by \";\", e.g. \"{AVAILABILITY_EXAMPLE}\""),
            )),
        }
    }
    if out.len() > MAX_AVAILABILITY_WINDOWS {
        errors.push(FieldError::new(
            field,
            format!("都合のつく日時は{MAX_AVAILABILITY_WINDOWS}件までです(入力: {}件)。期間と曜日でまとめてください(例: 2027-06-01..2027-06-30 mon,wed 09:00-12:00)", out.len()),
            format!("at most {MAX_AVAILABILITY_WINDOWS} windows (got {}); combine them with a range and weekdays, e.g. 2027-06-01..2027-06-30 mon,wed 09:00-12:00", out.len()),
        ));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn availability_window(entry: &str) -> Result<Availability, (String, String)> {
    // Spaces around the range and time separators do not split a part.
    let mut e = entry.to_string();
    for sep in ["..", "~"] {
        while e.contains(&format!(" {sep}")) || e.contains(&format!("{sep} ")) {
            e = e
                .replace(&format!(" {sep}"), sep)
                .replace(&format!("{sep} "), sep);
        }
    }
    let mut dates: Option<DateRange> = None;
    let mut time: Option<(chrono::NaiveTime, chrono::NaiveTime)> = None;
    let mut weekdays: Vec<Weekday> = Vec::new();
    for part in e.split_whitespace() {
        if part.contains(':') {
            if time.is_some() {
                return Err(("時間帯が2つあります".into(), "two time windows".into()));
            }
            let (a, b) = part.split_once(['-', '~']).ok_or_else(|| {
                (
                    format!("時間帯「{part}」は 13:00-17:00 の形で"),
                    format!("write the hours \"{part}\" as 13:00-17:00"),
                )
            })?;
            let read = |t: &str| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").ok();
            match (read(a), read(b)) {
                (Some(a), Some(b)) if a < b => time = Some((a, b)),
                (Some(_), Some(_)) => {
                    return Err((
                        format!("時間帯「{part}」の終了が開始より前です"),
                        format!("the hours \"{part}\" end before they start"),
                    ))
                }
                _ => {
                    return Err((
                        format!("時間帯「{part}」は 13:00-17:00 の形で"),
                        format!("write the hours \"{part}\" as 13:00-17:00"),
                    ))
                }
            }
        } else if part.starts_with(|c: char| c.is_ascii_digit()) {
            if dates.is_some() {
                return Err((
                    "日付が2つあります(期間は 開始日..終了日)".into(),
                    "two dates (a range is first..last)".into(),
                ));
            }
            let (a, b) = match part.split_once("..").or_else(|| part.split_once('~')) {
                Some((a, b)) => (a, b),
                None => (part, part),
            };
            let read =
                |d: &str| parse_date("availability", d).map_err(|e| (e.message.ja, e.message.en));
            let (from, to) = (read(a)?, read(b)?);
            if to < from {
                return Err((
                    format!("期間「{part}」の終了日が開始日より前です"),
                    format!("the range \"{part}\" ends before it starts"),
                ));
            }
            dates = Some(DateRange { from, to });
        } else {
            for d in part
                .split([',', '/'])
                .map(str::trim)
                .filter(|d| !d.is_empty())
            {
                match parse_weekday(d) {
                    Some(w) if !weekdays.contains(&w) => weekdays.push(w),
                    Some(_) => {}
                    None => {
                        return Err((
                            format!("曜日「{d}」が読めません(mon〜sun または 月〜日)"),
                            format!("cannot read the weekday \"{d}\" (mon..sun or 月..日)"),
                        ))
                    }
                }
            }
        }
    }
    let Some(dates) = dates else {
        return Err(("日付がありません".into(), "no date".into()));
    };
    let Some((from, to)) = time else {
        return Err(("時間帯がありません".into(), "no hours".into()));
    };
    weekdays.sort_by_key(|d| d.num_days_from_monday());
    Ok(Availability {
        dates,
        weekdays,
        from,
        to,
    })
}

/// Availability as stored and shown: the form [`parse_availability`] reads.
pub fn availability_text(windows: &[Availability]) -> String {
    windows
        .iter()
        .map(|w| {
            let mut s = if w.dates.from == w.dates.to {
                w.dates.from.to_string()
            } else {
                format!("{}..{}", w.dates.from, w.dates.to)
            };
            if !w.weekdays.is_empty() {
                let days: Vec<&str> = w.weekdays.iter().map(|d| weekday_slug(*d)).collect();
                s.push(' ');
                s.push_str(&days.join(","));
            }
            s.push_str(&format!(
                " {}-{}",
                w.from.format("%H:%M"),
                w.to.format("%H:%M")
            ));
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

// ----- venues -----

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub ward: String,
    #[serde(default)]
    pub address: String,
    /// e.g. "mon-fri 08:30-17:30; sat 09:00-12:00"; empty means the default Mon-Fri 8:30-17:30.
    #[serde(default)]
    pub opening_hours: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidVenue {
    pub code: String,
    pub name: String,
    pub ward: String,
    pub address: String,
    pub opening_hours: OpeningHours,
}

impl VenueInput {
    pub fn parse(&self) -> Result<ValidVenue, Vec<FieldError>> {
        let mut c = Check::default();
        let hours = self.opening_hours.trim();
        let opening_hours = if hours.is_empty() {
            OpeningHours::default()
        } else {
            hours.parse::<OpeningHours>().unwrap_or_else(|e| {
                c.0.push(FieldError::new(
                    "opening_hours",
                    format!("開館時間「{hours}」が読めません: {e}"),
                    format!("cannot read opening hours \"{hours}\": {e}"),
                ));
                OpeningHours::default()
            })
        };
        let v = ValidVenue {
            code: c.code("code", &self.code),
            name: c.required("name", "名称", &self.name, 100),
            ward: c.optional("ward", &self.ward, 50),
            address: c.optional("address", &self.address, 200),
            opening_hours,
        };
        c.finish(v)
    }
    pub fn from_fields(f: &Fields) -> VenueInput {
        VenueInput {
            code: f.get("code"),
            name: f.get("name"),
            ward: f.get("ward"),
            address: f.get("address"),
            opening_hours: f.get("opening_hours"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Venue {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub ward: String,
    pub address: String,
    pub opening_hours: String,
}

impl Venue {
    pub fn to_fields(&self) -> Vec<String> {
        vec![
            self.code.clone(),
            self.name.clone(),
            self.ward.clone(),
            self.address.clone(),
            self.opening_hours.clone(),
        ]
    }
}

// ----- rooms -----

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomInput {
    pub code: String,
    pub venue_code: String,
    pub name: String,
    pub capacity: i64,
    #[serde(default)]
    pub wheelchair: bool,
    #[serde(default)]
    pub hearing_loop: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidRoom {
    pub code: String,
    pub venue_code: String,
    pub name: String,
    pub capacity: i64,
    pub wheelchair: bool,
    pub hearing_loop: bool,
}

impl RoomInput {
    pub fn parse(&self) -> Result<ValidRoom, Vec<FieldError>> {
        let mut c = Check::default();
        if !(1..=1000).contains(&self.capacity) {
            c.0.push(FieldError::new(
                "capacity",
                format!(
                    "定員は1〜1000の整数で入力してください(入力値: {})",
                    self.capacity
                ),
                format!(
                    "capacity must be a whole number from 1 to 1000 (got {})",
                    self.capacity
                ),
            ));
        }
        let v = ValidRoom {
            code: c.code("code", &self.code),
            venue_code: c.code("venue_code", &self.venue_code),
            name: c.required("name", "名称", &self.name, 100),
            capacity: self.capacity,
            wheelchair: self.wheelchair,
            hearing_loop: self.hearing_loop,
        };
        c.finish(v)
    }
    /// From text cells: capacity and the flags are parsed here, so their errors name the field.
    pub fn from_fields(f: &Fields) -> Result<RoomInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let capacity_text = f.get("capacity");
        let capacity = capacity_text.trim().parse::<i64>().unwrap_or_else(|_| {
            errors.push(FieldError::new(
                "capacity",
                format!("定員「{}」は整数ではありません", capacity_text.trim()),
                format!(
                    "capacity \"{}\" is not a whole number",
                    capacity_text.trim()
                ),
            ));
            0
        });
        let mut flag = |key: &str| match parse_flag(&f.get(key)) {
            Some(b) => b,
            None => {
                errors.push(FieldError::new(
                    key,
                    format!(
                        "「{}」は はい/いいえ(1/0, yes/no, ○/×)で入力してください",
                        f.get(key).trim()
                    ),
                    format!(
                        "\"{}\" must be yes/no (1/0, true/false, ○/×)",
                        f.get(key).trim()
                    ),
                ));
                false
            }
        };
        let wheelchair = flag("wheelchair");
        let hearing_loop = flag("hearing_loop");
        let input = RoomInput {
            code: f.get("code"),
            venue_code: f.get("venue_code"),
            name: f.get("name"),
            capacity,
            wheelchair,
            hearing_loop,
        };
        if errors.is_empty() {
            Ok(input)
        } else {
            // Report the other fields' problems too, in one pass.
            if let Err(more) = input.parse() {
                errors.extend(more.into_iter().filter(|e| e.field != "capacity"));
            }
            Err(errors)
        }
    }
}

/// Yes/no cells as Japanese spreadsheets write them. Empty means no.
pub fn parse_flag(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "n" | "off" | "×" | "✕" | "いいえ" | "無" | "なし" | "-" => {
            Some(false)
        }
        "1" | "true" | "yes" | "y" | "on" | "○" | "〇" | "◯" | "はい" | "有" | "あり" => {
            Some(true)
        }
        _ => None,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Room {
    pub id: i64,
    pub code: String,
    pub venue_id: i64,
    pub venue_code: String,
    pub venue_name: String,
    pub name: String,
    pub capacity: i64,
    pub wheelchair: bool,
    pub hearing_loop: bool,
}

impl Room {
    pub fn to_fields(&self) -> Vec<String> {
        let yn = |b: bool| if b { "1" } else { "0" }.to_string();
        vec![
            self.code.clone(),
            self.venue_code.clone(),
            self.name.clone(),
            self.capacity.to_string(),
            yn(self.wheelchair),
            yn(self.hearing_loop),
        ]
    }
}

/// Text fields of one form submission or spreadsheet row, keyed by column key.
#[derive(Debug, Clone, Default)]
pub struct Fields(pub HashMap<String, String>);

impl Fields {
    pub fn get(&self, key: &str) -> String {
        self.0.get(key).cloned().unwrap_or_default()
    }
}

/// A master-data row of any kind, validated, as the importer and the forms hand it to the store.
#[derive(Debug, Clone, PartialEq)]
pub enum ValidRecord {
    Organisation(ValidOrganisation),
    Person(ValidPerson),
    Venue(ValidVenue),
    Room(ValidRoom),
}

impl ValidRecord {
    pub fn code(&self) -> &str {
        match self {
            ValidRecord::Organisation(v) => &v.code,
            ValidRecord::Person(v) => &v.code,
            ValidRecord::Venue(v) => &v.code,
            ValidRecord::Room(v) => &v.code,
        }
    }
    /// Parses text fields of the given kind: the one path shared by forms and spreadsheet rows.
    pub fn from_fields(kind: MasterKind, f: &Fields) -> Result<ValidRecord, Vec<FieldError>> {
        match kind {
            MasterKind::Organisations => OrganisationInput::from_fields(f)
                .parse()
                .map(ValidRecord::Organisation),
            MasterKind::People => PersonInput::from_fields(f)?
                .parse()
                .map(ValidRecord::Person),
            MasterKind::Venues => VenueInput::from_fields(f).parse().map(ValidRecord::Venue),
            MasterKind::Rooms => RoomInput::from_fields(f)?.parse().map(ValidRecord::Room),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_errors_name_each_field() {
        let input = OrganisationInput {
            code: "bad code!".into(),
            name: " ".into(),
            kana: "abc".into(),
            kind: "spaceship".into(),
            email: "not-an-email".into(),
            ..Default::default()
        };
        let errors = input.parse().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["kind", "code", "name", "kana", "email"]);
    }

    #[test]
    fn org_kind_accepts_japanese_label() {
        assert_eq!(
            OrgKind::parse("相談支援事業所"),
            Some(OrgKind::ConsultationOffice)
        );
        assert_eq!(OrgKind::parse("hub"), Some(OrgKind::Hub));
        assert_eq!(OrgKind::parse("Hospital"), Some(OrgKind::Hospital));
        assert_eq!(OrgKind::parse("病棟"), None);
    }

    #[test]
    fn weekdays_in_both_languages() {
        assert_eq!(parse_weekday("月"), Some(Weekday::Mon));
        assert_eq!(parse_weekday("水曜日"), Some(Weekday::Wed));
        assert_eq!(parse_weekday("Fri"), Some(Weekday::Fri));
        assert_eq!(parse_weekday("thursday"), Some(Weekday::Thu));
        assert_eq!(parse_weekday("th"), None);
        assert_eq!(parse_weekday("x"), None);
    }

    #[test]
    fn room_cells_report_number_and_flag_problems() {
        let mut f = Fields::default();
        for (k, v) in [
            ("code", "R1"),
            ("venue_code", "V1"),
            ("name", "会議室"),
            ("capacity", "十"),
            ("wheelchair", "maybe"),
        ] {
            f.0.insert(k.into(), v.into());
        }
        let errors = RoomInput::from_fields(&f).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["capacity", "wheelchair"]);
    }

    #[test]
    fn lists_split_on_japanese_separators() {
        assert_eq!(
            split_list("機能強化員、地域支援員; 機能強化員"),
            ["機能強化員", "地域支援員", "機能強化員"]
        );
        let p = PersonInput {
            code: "p1".into(),
            name: "山田 太郎".into(),
            roles: split_list("機能強化員、地域支援員; 機能強化員"),
            part_time_days: vec!["水".into(), "mon".into()],
            ..Default::default()
        };
        let v = p.parse().unwrap();
        assert_eq!(v.roles, ["機能強化員", "地域支援員"]);
        assert_eq!(v.part_time_days, [Weekday::Mon, Weekday::Wed]);
    }

    /// Meguro 002: 「外部講師については3か月前を目途に日程調整をおこなう」 — the dates and
    /// hours a lecturer gave, typed as a spreadsheet gives them (full-width too).
    #[test]
    fn availability_is_read_as_typed_and_written_back_the_same() {
        let w = parse_availability(
            "availability",
            "２０２７／０５／１２　１３：００〜１７：００；2027-06-01 〜 2027-06-30 月・水 09:00-12:00",
        )
        .unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].weekdays, [Weekday::Mon, Weekday::Wed]);
        let text = availability_text(&w);
        assert_eq!(text, AVAILABILITY_EXAMPLE);
        assert_eq!(parse_availability("availability", &text).unwrap(), w);
        assert!(parse_availability("availability", " ").unwrap().is_empty());
        for bad in [
            "2027-05-12",
            "13:00-17:00",
            "2027-05-12 17:00-13:00",
            "2027-13-01 13:00-17:00",
            "2027-06-30..2027-06-01 09:00-12:00",
            "2027-06-01..2027-06-30 funday 09:00-12:00",
        ] {
            let e = parse_availability("availability", bad).unwrap_err();
            assert_eq!(e[0].field, "availability");
            assert!(
                e[0].message.ja.contains(AVAILABILITY_EXAMPLE),
                "{bad}: {:?}",
                e[0]
            );
            assert!(
                e[0].message.en.contains(AVAILABILITY_EXAMPLE),
                "{bad}: {:?}",
                e[0]
            );
        }
        // Availability is only for external people.
        let staff = PersonInput {
            code: "p1".into(),
            name: "山田 太郎".into(),
            availability: "2027-05-12 13:00-17:00".into(),
            ..Default::default()
        };
        assert_eq!(staff.parse().unwrap_err()[0].field, "availability");
    }
}

/// The dates renkei plans, books and reports for: 2000-01-01 to 2100-12-31. Every date that
/// enters (placement nights, planning periods, absences, closures, report months) is parsed by
/// [`parse_date`] or checked by [`check_date_bounds`], so no date outside reaches the store or
/// the engine (a 0000-01-01 or 9999-12-31 would make year-long boards and plans meaningless).
pub const FIRST_DATE: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};
pub const LAST_DATE: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// Refuses a date outside [`FIRST_DATE`]..=[`LAST_DATE`] with a message naming the range.
pub fn check_date_bounds(
    field: &str,
    date: chrono::NaiveDate,
) -> Result<chrono::NaiveDate, FieldError> {
    if (FIRST_DATE..=LAST_DATE).contains(&date) {
        return Ok(date);
    }
    Err(FieldError::new(
        field,
        format!(
            "日付 {date} は扱えません。2000-01-01 から 2100-12-31 までの日付を入力してください"
        ),
        format!("the date {date} is out of range; enter a date from 2000-01-01 to 2100-12-31"),
    ))
}

/// A calendar date as users type it: 2026-08-14, 2026/8/14 or 2026年8月14日, within
/// 2000-01-01..=2100-12-31.
pub fn parse_date(field: &str, s: &str) -> Result<chrono::NaiveDate, FieldError> {
    let t = s.trim();
    let normalised = t.replace(['/', '年', '月'], "-").replace('日', "");
    let date = chrono::NaiveDate::parse_from_str(&normalised, "%Y-%m-%d").map_err(|_| {
        FieldError::new(
            field,
            format!("日付「{t}」が読めません。2026-08-14 の形で入力してください"),
            format!("cannot read the date \"{t}\"; write it as 2026-08-14"),
        )
    })?;
    check_date_bounds(field, date)
}

/// An absence (休暇・出張) or a closure (臨時休業): an inclusive date range with a reason.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DateRangeInput {
    /// First day, e.g. 2026-08-14.
    pub from: String,
    /// Last day (inclusive); empty means the same as `from`.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidDateRange {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
}

impl DateRangeInput {
    /// Checks the range; `reason_required` for closures, whose reason is shown to everyone.
    pub fn parse(
        &self,
        reason_required: bool,
    ) -> Result<(ValidDateRange, String), Vec<FieldError>> {
        let mut c = Check::default();
        let from = parse_date("from", &self.from).map_err(|e| c.0.push(e)).ok();
        let to = if self.to.trim().is_empty() {
            from
        } else {
            parse_date("to", &self.to).map_err(|e| c.0.push(e)).ok()
        };
        let reason = if reason_required {
            c.required("reason", "理由", &self.reason, 100)
        } else {
            c.optional("reason", &self.reason, 100)
        };
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                c.0.push(FieldError::new(
                    "to",
                    "終了日が開始日より前です",
                    "the last day is before the first day",
                ));
            } else if (t - f).num_days() > 366 {
                c.0.push(FieldError::new(
                    "to",
                    "期間は1年以内にしてください",
                    "the range must not exceed one year",
                ));
            }
        }
        match (from, to) {
            (Some(from), Some(to)) if c.0.is_empty() => Ok((ValidDateRange { from, to }, reason)),
            _ => Err(c.0),
        }
    }
}
