//! Presets that reproduce the cadences of the source documents (see `DOMAIN.md`), so a new
//! municipality starts from them. They refer to organisation kinds and roles, never to named
//! people, so they fit any municipality's master data.

use renkei_solver::schedule::model::{CadencePeriod, MeetingKind};

use super::spec::{
    CadenceSpec, HeldBy, LecturerSpec, OrgAttendance, PrecedenceSpec, Repeat, SeriesSpec,
};
use crate::master::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Kumamoto: council (plenary May/Oct/Feb, 4 subcommittees monthly), ward network meetings
    /// per ward each quarter, monthly liaison meetings of the centers' staff.
    Kumamoto,
    /// Meguro: the core center's duty table (operating meeting, trainings, case reviews with
    /// external lecturers booked 3 months ahead, rights-advocacy events).
    Meguro,
    /// Hiratsuka: the indicator-driven series (24 case verifications, a visit per office,
    /// case reviews with offices, GSV).
    Hiratsuka,
    /// Sendai's community life support hub (地域生活支援拠点): its network work with the
    /// facilities that could take emergency placements (visits to short-stay and group-home
    /// organisations, the 拠点実践報告会 training for them, the 拠点運営会議).
    Sendai,
}

/// A contract year (1 = the year the center opened; Meguro's cadences and targets change from
/// the second): 1 to 30.
pub fn check_contract_year(year: u32) -> Result<u32, FieldError> {
    if (1..=30).contains(&year) {
        Ok(year)
    } else {
        Err(FieldError::new(
            "contract_year",
            format!("契約年度は1〜30で入力してください（開所の年度が1。入力値: {year}）"),
            format!(
                "the contract year must be 1 to 30 (1 is the year the center opened; got {year})"
            ),
        ))
    }
}

/// A contract year typed into a form: empty is none.
pub fn parse_contract_year(text: &str) -> Result<Option<u32>, FieldError> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse::<u32>()
            .map_err(|_| {
                FieldError::new(
                    "contract_year",
                    format!("契約年度「{text}」は整数ではありません"),
                    format!("contract year \"{text}\" is not a whole number"),
                )
            })
            .and_then(check_contract_year)
            .map(Some),
    }
}

impl Preset {
    pub const ALL: [Preset; 4] = [
        Preset::Kumamoto,
        Preset::Meguro,
        Preset::Hiratsuka,
        Preset::Sendai,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Preset::Kumamoto => "kumamoto",
            Preset::Meguro => "meguro",
            Preset::Hiratsuka => "hiratsuka",
            Preset::Sendai => "sendai",
        }
    }

    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Preset::Kumamoto => (
                "熊本型：協議会（本会議5・10・2月、専門部会毎月）・区ネットワーク会議（四半期ごと）・連絡会議",
                "Kumamoto: council (plenary May/Oct/Feb, monthly subcommittees), ward network meetings each quarter, liaison meetings",
            ),
            Preset::Meguro => (
                "目黒型：基幹運営会議・研修・事例検討（講師3か月前手配）・権利擁護",
                "Meguro: operating meeting, trainings, case reviews (lecturers 3 months ahead), rights advocacy",
            ),
            Preset::Hiratsuka => (
                "平塚型：指標に基づく事例検証（年24回）・事業所訪問（各年1回）・事例検討・GSV・専門部会4（年40回）",
                "Hiratsuka: indicator-driven case verification (24 a year), a visit per office, case reviews, GSV, 4 subcommittees (40 a year)",
            ),
            Preset::Sendai => (
                "仙台型（地域生活支援拠点）：短期入所事業所・グループホーム等の訪問（指標で年10事業所）・拠点実践報告会（年1回）・拠点運営会議（四半期ごと）",
                "Sendai (community life support hub): visits to short-stay and group-home facilities (10 a year by the indicator), the hub's practice report meeting (once a year), hub operating meetings (each quarter)",
            ),
        }
    }

    pub fn parse(s: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.slug() == s.trim())
    }

    /// The series of the first contract year.
    pub fn series(self) -> Vec<SeriesSpec> {
        self.series_in_year(1)
    }

    /// The series of contract year `year` (1 = the year the center opened): Meguro's duty
    /// table changes from the second year (運営会議「初年度 2月に1回／2年度～ 年3回」,
    /// 弁護士相談会「2年目～ 年2回」); the other presets are the same every year.
    pub fn series_in_year(self, year: u32) -> Vec<SeriesSpec> {
        match self {
            Preset::Kumamoto => kumamoto(),
            Preset::Meguro => meguro(year.max(1)),
            Preset::Hiratsuka => hiratsuka(),
            Preset::Sendai => sendai(),
        }
    }

    /// Whether the preset's cadences depend on the contract year.
    pub fn by_contract_year(self) -> bool {
        self == Preset::Meguro
    }
}

/// The demo municipality's series: Kumamoto's council and ward structure, with Hiratsuka's
/// indicator-driven series (case verifications, a visit to each office, case reviews with
/// the offices, GSV, human-resource support, cooperation), so that the demo's fiscal-year plan
/// can meet Hiratsuka's indicators.
pub fn demo_series() -> Vec<SeriesSpec> {
    let mut out = Preset::Kumamoto.series();
    // Kumamoto's four monthly subcommittees already are the demo council's; Hiratsuka's own
    // would make a second council.
    out.extend(
        Preset::Hiratsuka
            .series()
            .into_iter()
            .filter(|s| s.kind != MeetingKind::Subcommittee),
    );
    // The case reviews with the offices are led by one of the demo's external supervisors
    // (Meguro's 事例検討会 with a スーパーバイザー), so the demo shows their booking.
    for s in out.iter_mut().filter(|s| s.code == "OFFICE-CASE-REVIEW") {
        s.lecturers = vec![lecturer_with_role("スーパーバイザー")];
    }
    out
}

fn cadence(per: CadencePeriod, min: u32, max: u32, months: &[u32]) -> CadenceSpec {
    CadenceSpec {
        per,
        min,
        max,
        months: months.to_vec(),
        min_gap_days: None,
        max_gap_days: None,
    }
}

fn org(kinds: &[&str], role: &str) -> OrgAttendance {
    OrgAttendance {
        kinds: kinds.iter().map(|k| k.to_string()).collect(),
        codes: Vec::new(),
        same_ward: false,
        role: role.to_string(),
        optional: false,
    }
}

fn ward_org(kinds: &[&str], role: &str) -> OrgAttendance {
    OrgAttendance {
        same_ward: true,
        ..org(kinds, role)
    }
}

fn optional(a: OrgAttendance) -> OrgAttendance {
    OrgAttendance {
        optional: true,
        ..a
    }
}

/// One external lecturer of the municipality with `role` (the planner picks who).
fn lecturer_with_role(role: &str) -> LecturerSpec {
    LecturerSpec {
        people: Vec::new(),
        role: role.to_string(),
    }
}

fn series(
    code: &str,
    title: &str,
    title_en: &str,
    kind: MeetingKind,
    minutes: u32,
    c: CadenceSpec,
) -> SeriesSpec {
    SeriesSpec {
        code: code.into(),
        title: title.into(),
        title_en: title_en.into(),
        kind,
        duration_minutes: minutes,
        hosts: Vec::new(),
        repeat: Repeat::None,
        repeat_kinds: Vec::new(),
        cadence: c,
        lead_days: 0,
        preferred_weekdays: Vec::new(),
        preferred_start: None,
        allowed_start: None,
        required_people: Vec::new(),
        optional_people: Vec::new(),
        organisations: Vec::new(),
        external_attendees: 0,
        lecturers: Vec::new(),
        needs_wheelchair: false,
        needs_hearing_loop: false,
        venues: Vec::new(),
        venue_in_ward: false,
        before: Vec::new(),
        held_by: None,
    }
}

/// A host named only (presets know no organisation codes); the coordinator may name the
/// host organisation once it is in the master data.
fn held_by(name: &str, name_en: &str) -> HeldBy {
    HeldBy {
        name: name.into(),
        name_en: name_en.into(),
        ..HeldBy::default()
    }
}

fn kumamoto() -> Vec<SeriesSpec> {
    use CadencePeriod::*;
    let centers = ["core_center", "consultation_center"];
    let mut out = Vec::new();
    let mut plenary = series(
        "PLENARY",
        "自立支援協議会 本会議",
        "Council plenary",
        MeetingKind::Plenary,
        120,
        cadence(Month, 1, 1, &[5, 10, 2]),
    );
    plenary.organisations = vec![
        org(&["core_center"], "センター長"),
        org(&["consultation_center"], ""),
        optional(org(&["hospital", "hub"], "")),
    ];
    plenary.external_attendees = 10;
    plenary.needs_wheelchair = true;
    plenary.preferred_start = Some("14:00-15:30".into());
    out.push(plenary);
    for (code, title, en, role) in [
        (
            "SUB-SOUDAN",
            "専門部会（相談支援部会）",
            "Subcommittee: consultation support",
            "機能強化員",
        ),
        (
            "SUB-CHIIKI",
            "専門部会（地域移行部会）",
            "Subcommittee: community transition",
            "地域支援員",
        ),
        (
            "SUB-KODOMO",
            "専門部会（こども部会）",
            "Subcommittee: children",
            "地域支援員",
        ),
        (
            "SUB-SHURO",
            "専門部会（就労部会）",
            "Subcommittee: employment",
            "地域支援員",
        ),
    ] {
        let mut s = series(
            code,
            title,
            en,
            MeetingKind::Subcommittee,
            90,
            cadence(Month, 1, 1, &[]),
        );
        // Each center sends one person; the consultation subcommittee gets the
        // function-strengthening staff and a consultation worker of each center (Kumamoto:
        // 「相談支援部会には、相談支援専門員のスキルアップの観点から、センターから機能強化員、
        // 相談員が参加する」).
        s.organisations = vec![org(&centers, role)];
        if code == "SUB-SOUDAN" {
            s.organisations
                .push(org(&["consultation_center"], "相談員"));
        }
        s.cadence.min_gap_days = Some(14);
        s.preferred_start = Some("10:00-12:00".into());
        // Each subcommittee reports to the plenary: it meets 1-6 weeks before.
        s.before = vec![PrecedenceSpec {
            series: "PLENARY".into(),
            min_days: 7,
            max_days: 42,
        }];
        out.push(s);
    }
    let mut ward = series(
        "WARDNET",
        "区障がい福祉ネットワーク会議",
        "Ward disability-welfare network meeting",
        MeetingKind::WardNetwork,
        120,
        cadence(Quarter, 1, 1, &[]),
    );
    ward.repeat = Repeat::PerWard;
    ward.organisations = vec![
        ward_org(&["ward_section"], ""),
        ward_org(&["consultation_center"], "機能強化員"),
        ward_org(&["consultation_office"], ""),
        optional(org(&["core_center"], "機能強化員")),
    ];
    // Seats for the service providers and other bodies invited as needed (Kumamoto:
    // 「※必要に応じて、障害福祉サービス事業所、その他の関係機関」).
    ward.external_attendees = 4;
    ward.venue_in_ward = true;
    ward.preferred_start = Some("13:30-15:00".into());
    ward.cadence.min_gap_days = Some(45);
    out.push(ward);
    let mut kyoka = series(
        "LIAISON-KYOKA",
        "相談支援機能強化員連絡会議",
        "Liaison meeting of function-strengthening staff",
        MeetingKind::Liaison,
        90,
        cadence(Month, 1, 1, &[]),
    );
    kyoka.organisations = vec![org(&centers, "機能強化員")];
    kyoka.cadence.min_gap_days = Some(14);
    out.push(kyoka);
    let mut chiiki = series(
        "LIAISON-CHIIKI",
        "地域支援員会議",
        "Meeting of community-support staff",
        MeetingKind::Liaison,
        90,
        cadence(Month, 1, 1, &[]),
    );
    chiiki.organisations = vec![org(&centers, "地域支援員")];
    chiiki.cadence.min_gap_days = Some(14);
    out.push(chiiki);
    out
}

fn meguro(year: u32) -> Vec<SeriesSpec> {
    use CadencePeriod::*;
    let core = || org(&["core_center"], "");
    let mut out = Vec::new();
    // 「初年度～ 2年度～ | 2月に1回 年3回 3月に1回」: every other month in the first year,
    // then three a year about three months apart.
    let mut op = series(
        "OPERATING",
        "基幹運営会議",
        "Core center operating meeting",
        MeetingKind::OperatingCommittee,
        90,
        if year == 1 {
            cadence(Month, 1, 1, &[4, 6, 8, 10, 12, 2])
        } else {
            cadence(FiscalYear, 3, 3, &[])
        },
    );
    if year > 1 {
        op.cadence.min_gap_days = Some(84);
    }
    // 「関係機関の代表を含む…基幹運営会議」「アドバイザーとして外部有識者を1名置き、必要に
    // 応じ会議に参加する」: representatives of the related bodies are invited, and a seat is
    // kept for the external advisor.
    op.organisations = vec![
        core(),
        org(&["ward_section"], "係長"),
        optional(org(&["consultation_office", "hub", "hospital"], "")),
    ];
    op.external_attendees = 1;
    out.push(op);
    let mut training = series(
        "TRAINING",
        "研修会",
        "Training",
        MeetingKind::Training,
        180,
        cadence(FiscalYear, 2, 3, &[]),
    );
    training.organisations = vec![core(), optional(org(&["consultation_office"], ""))];
    training.external_attendees = 20;
    // 研修会 with a lecturer from outside, booked about three months ahead like the
    // supervisors (the booking task's default lead); the seats are for the participants.
    training.lecturers = vec![lecturer_with_role("外部講師")];
    training.cadence.min_gap_days = Some(60);
    out.push(training);
    let mut review = series(
        "CASE-REVIEW",
        "事例検討会",
        "Case review",
        MeetingKind::CaseReview,
        120,
        cadence(FiscalYear, 2, 3, &[]),
    );
    review.organisations = vec![core(), optional(org(&["consultation_office"], ""))];
    // 「スーパーバイザーは、常勤配置ではなく、そのときに必要となる専門性を持つ方に、行政、
    // 関係機関、外部を含め、参加(報酬)を依頼する。(…外部講師については3か月前を目途に日程
    // 調整をおこなう。)」: one supervisor of the municipality's external people with the role
    // スーパーバイザー (the one whose availability fits best), booked about three months ahead.
    review.lead_days = 90;
    review.lecturers = vec![lecturer_with_role("スーパーバイザー")];
    review.cadence.min_gap_days = Some(60);
    out.push(review);
    let mut transition = series(
        "TRANSITION",
        "地域移行・地域定着連携連絡会",
        "Community transition liaison meeting",
        MeetingKind::Liaison,
        90,
        cadence(FiscalYear, 3, 3, &[]),
    );
    // 「地域移行・地域定着連携連絡会に参加」: the center attends the ward's liaison meeting
    // (held by the ward, 年3回); its dates are the ward's.
    transition.organisations = vec![core()];
    transition.held_by = Some(held_by(
        "区（障害福祉課）",
        "the ward (disability welfare section)",
    ));
    out.push(transition);
    for (code, title, en, n) in [
        (
            "ADVOCACY-TRAINING",
            "権利擁護研修",
            "Rights-advocacy training",
            1,
        ),
        (
            "LAWYER",
            "弁護士相談会",
            "Consultation day with a lawyer",
            2,
        ),
        (
            "ABUSE-PREVENTION",
            "虐待防止研修",
            "Abuse-prevention training",
            1,
        ),
    ] {
        // 弁護士による権利擁護に係る相談会「2年目～ 年2回」: none in the first year.
        if code == "LAWYER" && year == 1 {
            continue;
        }
        let mut s = series(
            code,
            title,
            en,
            MeetingKind::Training,
            120,
            cadence(FiscalYear, n, n, &[]),
        );
        s.organisations = vec![org(&["core_center"], "権利擁護担当")];
        // 虐待防止研修 is for the service providers: their staff are invited.
        if code == "ABUSE-PREVENTION" {
            s.organisations.push(optional(org(
                &["consultation_office", "short_stay", "group_home"],
                "",
            )));
        }
        s.external_attendees = 15;
        s.lead_days = 60;
        out.push(s);
    }
    // 当事者活動の推進「初年度～ 2年目～ | 年2回 … 月1回」「月1回提供することを目指す」: twice in
    // the first year, then every month.
    let mut idobata = series(
        "IDOBATA",
        "いどばた会議",
        "Peer gathering (idobata)",
        MeetingKind::Other,
        60,
        if year == 1 {
            cadence(FiscalYear, 2, 2, &[])
        } else {
            cadence(Month, 1, 1, &[])
        },
    );
    if year == 1 {
        idobata.cadence.min_gap_days = Some(90);
    }
    idobata.organisations = vec![org(&["core_center"], "地域支援員")];
    out.push(idobata);
    // 相談支援ガイドラインの改定「各相談支援事業所…の訪問、意見交換を行い、現場の状況を把握
    // する」: a visit to each consultation office a year.
    let mut visit = series(
        "OFFICE-VISIT",
        "相談支援事業所の訪問・意見交換",
        "Visit and exchange with a consultation office",
        MeetingKind::OfficeVisit,
        90,
        cadence(FiscalYear, 1, 1, &[]),
    );
    visit.repeat = Repeat::PerOrganisation;
    visit.repeat_kinds = vec!["consultation_office".into()];
    visit.organisations = vec![core()];
    out.push(visit);
    // 相談支援従事者研修の開催「5年目～ 年1回」(the ward is designated by Tokyo a year before and
    // commissions the center), with a lecturer from outside.
    if year >= 5 {
        let mut s = series(
            "PRACTITIONER-TRAINING",
            "相談支援従事者研修",
            "Training of consultation-support practitioners",
            MeetingKind::Training,
            360,
            cadence(FiscalYear, 1, 1, &[]),
        );
        s.organisations = vec![core(), optional(org(&["consultation_office"], ""))];
        s.external_attendees = 30;
        s.lecturers = vec![lecturer_with_role("外部講師")];
        s.lead_days = 90;
        out.push(s);
    }
    let mut kikan = series(
        "KIKAN-LIAISON",
        "基幹相談連絡会",
        "Inter-municipal core center liaison",
        MeetingKind::Liaison,
        120,
        cadence(Quarter, 1, 1, &[]),
    );
    // 「基幹相談連絡会（年4回）…他の区市町村基幹相談支援センターとの意見交換」: held by the
    // core centers' inter-municipal liaison, not by the center.
    kikan.organisations = vec![org(&["core_center"], "センター長")];
    kikan.held_by = Some(held_by(
        "区市町村基幹相談支援センター連絡会",
        "the inter-municipal liaison of core centers",
    ));
    out.push(kikan);
    out
}

fn hiratsuka() -> Vec<SeriesSpec> {
    use CadencePeriod::*;
    let mut out = Vec::new();
    let mut verification = series(
        "VERIFICATION",
        "個別事例の支援内容の検証",
        "Verification of individual cases",
        MeetingKind::CaseVerification,
        60,
        cadence(FiscalYear, 24, 24, &[]),
    );
    verification.organisations = vec![org(&["core_center"], "機能強化員")];
    verification.cadence.min_gap_days = Some(7);
    out.push(verification);
    let mut visit = series(
        "VISIT",
        "訪問による専門的指導・助言",
        "Visit with expert guidance",
        MeetingKind::OfficeVisit,
        90,
        cadence(FiscalYear, 1, 1, &[]),
    );
    visit.repeat = Repeat::PerOrganisation;
    visit.repeat_kinds = vec!["consultation_office".into()];
    visit.organisations = vec![org(&["core_center"], "機能強化員")];
    out.push(visit);
    let mut review = series(
        "OFFICE-CASE-REVIEW",
        "相談支援事業所の参画による事例検討",
        "Case review with consultation offices",
        MeetingKind::CaseReview,
        120,
        cadence(FiscalYear, 3, 3, &[]),
    );
    review.organisations = vec![
        org(&["core_center"], "機能強化員"),
        optional(org(&["consultation_office", "consultation_center"], "")),
    ];
    review.cadence.min_gap_days = Some(60);
    out.push(review);
    let mut gsv = series(
        "GSV",
        "GSV研修（計画相談事業所連絡会）",
        "GSV group supervision (planning-consultation liaison)",
        MeetingKind::Gsv,
        120,
        cadence(Month, 1, 1, &[5, 7, 9, 11, 1, 3]),
    );
    gsv.organisations = vec![
        org(&["core_center"], "機能強化員"),
        optional(org(&["consultation_office"], "")),
    ];
    out.push(gsv);
    out.extend(hiratsuka_subcommittees());
    for (code, title, en) in [
        (
            "HR-SUPPORT",
            "人材育成の支援",
            "Human-resource development support",
        ),
        ("COOPERATION", "連携強化の取組", "Strengthening cooperation"),
    ] {
        let mut s = series(
            code,
            title,
            en,
            MeetingKind::Training,
            120,
            cadence(FiscalYear, 1, 1, &[]),
        );
        s.organisations = vec![
            org(&["core_center"], ""),
            optional(org(&["consultation_center"], "")),
        ];
        out.push(s);
    }
    out
}

/// Hiratsuka's council bodies. The plan's indicators are 「専門部会の設置数 4以上」 and
/// 「専門部会の実施回数 年39回以上」 (FY2022: 4 bodies, 41 meetings), and it names two bodies:
/// 「自立支援協議会の企画運営部会の中にある計画相談分科会における個別事例の支援内容の検証」.
/// The other two are named after the center's duties that the plan ties to the council and to
/// the related bodies (「3 地域移行・地域定着促進への取組」「4 権利擁護・虐待防止…自立支援協議会
/// 等を通じた、普及啓発」); a council with other bodies renames them in the series editor. Ten
/// meetings each (about monthly, three weeks apart at least) make 40 ≥ 39.
fn hiratsuka_subcommittees() -> Vec<SeriesSpec> {
    let core = |role: &str| org(&["core_center"], role);
    let mut out = Vec::new();
    for (code, title, en, organisations) in [
        (
            "SUB-KIKAKU",
            "専門部会（企画運営部会）",
            "Subcommittee: planning and operation",
            vec![
                core(""),
                org(&["consultation_center"], ""),
                optional(org(&["ward_section"], "")),
            ],
        ),
        (
            "SUB-KEIKAKU",
            "専門部会（計画相談分科会）",
            "Subcommittee: planning consultation",
            vec![
                core("機能強化員"),
                org(&["consultation_center"], ""),
                optional(org(&["consultation_office"], "")),
            ],
        ),
        (
            "SUB-IKOU",
            "専門部会（地域移行部会）",
            "Subcommittee: community transition",
            vec![
                core(""),
                org(&["consultation_center"], ""),
                optional(org(&["hospital", "group_home", "hub"], "")),
            ],
        ),
        (
            "SUB-KENRI",
            "専門部会（権利擁護部会）",
            "Subcommittee: rights advocacy and abuse prevention",
            vec![
                core(""),
                org(&["consultation_center"], ""),
                optional(org(&["ward_section"], "")),
            ],
        ),
    ] {
        let mut s = series(
            code,
            title,
            en,
            MeetingKind::Subcommittee,
            90,
            cadence(CadencePeriod::FiscalYear, 10, 10, &[]),
        );
        s.organisations = organisations;
        s.cadence.min_gap_days = Some(21);
        out.push(s);
    }
    out
}

/// The organisation kinds of the facilities that could take emergency placements (Sendai:
/// 「短期入所事業所やグループホーム等」).
pub const SENDAI_FACILITY_KINDS: [&str; 2] = ["short_stay", "group_home"];

/// Sendai (003), the hub's network work with the facilities (「（3）緊急受入れ施設とのネットワーク
/// 形成」) and its operating meeting:
/// - `HUB-VISIT`: 「① 短期入所事業所やグループホーム等の訪問（訪問事業所数 10事業所）」. One series
///   per short-stay / group-home organisation, each visited at most once a fiscal year
///   (cadence 0..1) by the hub's staff. How many are visited is the indicator's business
///   (`HUB-VISITS`, 10 organisations a year, [`crate::indicators::presets`]): planned with the
///   indicators as targets, the optimizer visits 10 of those not visited yet this year. A
///   minimum of 1 per organisation would visit every facility every year (all 10 of the demo,
///   but 60 in a city with 60 facilities), which is not what the document counts.
/// - `HUB-REPORT`: 「② 緊急受入れに係る技術的な支援（拠点実践報告会開催回数1回 参加者数14名）
///   …短期入所事業所やグループホーム等を対象に…研修を実施」: once a year, the hub runs it and
///   every short-stay and group-home organisation is invited (optional: they choose to come).
/// - `HUB-OPERATING`: 「拠点の取組みについて、評価・検証を行うため拠点運営会議を実施」. The
///   document gives no frequency; each quarter is assumed (the hub's work evaluated four times
///   a year), with the core center invited (optional).
fn sendai() -> Vec<SeriesSpec> {
    use CadencePeriod::*;
    let hub = || org(&["hub"], "");
    let mut out = Vec::new();
    let mut visit = series(
        "HUB-VISIT",
        "短期入所事業所・グループホーム等の訪問",
        "Visit to a short-stay or group-home facility",
        MeetingKind::OfficeVisit,
        90,
        cadence(FiscalYear, 0, 1, &[]),
    );
    visit.repeat = Repeat::PerOrganisation;
    visit.repeat_kinds = SENDAI_FACILITY_KINDS
        .iter()
        .map(|k| k.to_string())
        .collect();
    visit.organisations = vec![hub()];
    out.push(visit);
    let mut report = series(
        "HUB-REPORT",
        "拠点実践報告会",
        "Hub practice report meeting (training for facilities)",
        MeetingKind::Training,
        120,
        cadence(FiscalYear, 1, 1, &[]),
    );
    report.organisations = vec![hub(), optional(org(&SENDAI_FACILITY_KINDS, ""))];
    report.preferred_start = Some("13:30-15:00".into());
    out.push(report);
    let mut operating = series(
        "HUB-OPERATING",
        "拠点運営会議",
        "Hub operating meeting",
        MeetingKind::OperatingCommittee,
        90,
        cadence(Quarter, 1, 1, &[]),
    );
    operating.organisations = vec![hub(), optional(org(&["core_center"], ""))];
    operating.cadence.min_gap_days = Some(45);
    out.push(operating);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_codes_are_unique() {
        for p in Preset::ALL {
            let specs = p.series();
            assert!(!specs.is_empty());
            let mut codes = std::collections::HashSet::new();
            for s in &specs {
                s.parse()
                    .unwrap_or_else(|e| panic!("{} {}: {e:?}", p.slug(), s.code));
                assert!(codes.insert(s.code.clone()), "duplicate {}", s.code);
                for b in &s.before {
                    assert!(
                        specs.iter().any(|o| o.code == b.series),
                        "{} precedes unknown {}",
                        s.code,
                        b.series
                    );
                }
            }
        }
    }

    /// Meguro (002): 基幹運営会議「初年度～ 2年度～ | 2月に1回 年3回」 and 弁護士による相談会
    /// 「2年目～ 年2回」.
    #[test]
    fn meguro_changes_from_the_second_contract_year() {
        let find = |year: u32, code: &str| {
            Preset::Meguro
                .series_in_year(year)
                .into_iter()
                .find(|s| s.code == code)
        };
        let first = find(1, "OPERATING").unwrap();
        assert_eq!(first.cadence.months, vec![4, 6, 8, 10, 12, 2]);
        let second = find(2, "OPERATING").unwrap();
        assert_eq!(
            (second.cadence.per, second.cadence.min, second.cadence.max),
            (CadencePeriod::FiscalYear, 3, 3)
        );
        assert!(
            find(1, "LAWYER").is_none(),
            "no lawyer's day in the first year"
        );
        let lawyer = find(3, "LAWYER").unwrap();
        assert_eq!((lawyer.cadence.min, lawyer.cadence.max), (2, 2));
        for year in 1..=3 {
            for s in Preset::Meguro.series_in_year(year) {
                s.parse()
                    .unwrap_or_else(|e| panic!("year {year} {}: {e:?}", s.code));
            }
        }
    }

    /// Hiratsuka (000): 「専門部会の設置数 4以上」「専門部会の実施回数 年39回以上」 and
    /// 「自立支援協議会の企画運営部会の中にある計画相談分科会」: the preset alone has four
    /// subcommittees, the two the plan names among them, whose cadences add up to at least 39
    /// meetings a year; the demo (Kumamoto's council) does not get a second council.
    #[test]
    fn hiratsuka_alone_has_its_subcommittees() {
        let subs: Vec<SeriesSpec> = Preset::Hiratsuka
            .series()
            .into_iter()
            .filter(|s| s.kind == MeetingKind::Subcommittee)
            .collect();
        assert!(subs.len() >= 4, "{subs:?}");
        let titles: Vec<&str> = subs.iter().map(|s| s.title.as_str()).collect();
        assert!(
            titles.iter().any(|t| t.contains("企画運営部会")),
            "{titles:?}"
        );
        assert!(
            titles.iter().any(|t| t.contains("計画相談分科会")),
            "{titles:?}"
        );
        let per_year: u32 = subs
            .iter()
            .map(|s| {
                assert_eq!(s.cadence.per, CadencePeriod::FiscalYear, "{}", s.code);
                s.cadence.min
            })
            .sum();
        assert!(per_year >= 39, "{per_year} subcommittee meetings a year");
        for s in &subs {
            s.parse().unwrap_or_else(|e| panic!("{}: {e:?}", s.code));
        }
        let demo = demo_series();
        let demo_subs: Vec<&str> = demo
            .iter()
            .filter(|s| s.kind == MeetingKind::Subcommittee)
            .map(|s| s.code.as_str())
            .collect();
        assert_eq!(
            demo_subs,
            ["SUB-SOUDAN", "SUB-CHIIKI", "SUB-KODOMO", "SUB-SHURO"],
            "the demo keeps Kumamoto's council only"
        );
    }

    /// Meguro (002): 「各相談支援事業所…の訪問、意見交換を行い、現場の状況を把握する」,
    /// 相談支援従事者研修の開催「5年目～ 年1回」, 虐待防止研修 for the providers, and いどばた会議
    /// 「初年度～ 2年目～ | 年2回 … 月1回」「月1回提供することを目指す」.
    #[test]
    fn meguro_visits_offices_trains_practitioners_from_year_five_and_meets_monthly() {
        let find = |year: u32, code: &str| {
            Preset::Meguro
                .series_in_year(year)
                .into_iter()
                .find(|s| s.code == code)
        };
        let visit = find(1, "OFFICE-VISIT").expect("office visits from the first year");
        assert_eq!(visit.repeat, Repeat::PerOrganisation);
        assert_eq!(visit.repeat_kinds, ["consultation_office"]);
        assert_eq!((visit.cadence.min, visit.cadence.max), (1, 1));
        assert!(find(4, "PRACTITIONER-TRAINING").is_none());
        let t = find(5, "PRACTITIONER-TRAINING").expect("from the fifth year");
        assert_eq!(
            (t.cadence.per, t.cadence.min),
            (CadencePeriod::FiscalYear, 1)
        );
        assert!(!t.lecturers.is_empty(), "a lecturer from outside");
        let abuse = find(1, "ABUSE-PREVENTION").unwrap();
        assert!(
            abuse.organisations.iter().any(|o| o.optional
                && o.kinds.iter().any(|k| k == "short_stay")
                && o.kinds.iter().any(|k| k == "consultation_office")),
            "providers are invited: {:?}",
            abuse.organisations
        );
        let first = find(1, "IDOBATA").unwrap();
        assert_eq!(
            (first.cadence.per, first.cadence.min, first.cadence.max),
            (CadencePeriod::FiscalYear, 2, 2)
        );
        let later = find(2, "IDOBATA").unwrap();
        assert_eq!(
            (later.cadence.per, later.cadence.min, later.cadence.max),
            (CadencePeriod::Month, 1, 1),
            "monthly from the second year, not 0-1"
        );
        for year in [1, 2, 5] {
            for s in Preset::Meguro.series_in_year(year) {
                s.parse()
                    .unwrap_or_else(|e| panic!("year {year} {}: {e:?}", s.code));
            }
        }
        // The indicator presets follow: the idobata target, the visits, the training.
        use crate::indicators::presets::indicators_in_year;
        let target = |year: u32, code: &str| {
            indicators_in_year(Preset::Meguro, year)
                .into_iter()
                .find(|i| i.code == code)
                .map(|i| i.target)
        };
        assert_eq!(target(1, "IDOBATA"), Some(2));
        assert_eq!(target(2, "IDOBATA"), Some(12));
        assert_eq!(target(1, "OFFICE-VISITS"), Some(1));
        assert_eq!(target(4, "PRACTITIONER-TRAINING"), None);
        assert_eq!(target(5, "PRACTITIONER-TRAINING"), Some(1));
    }

    #[test]
    fn kumamoto_has_the_documented_cadences() {
        let specs = Preset::Kumamoto.series();
        let plenary = specs.iter().find(|s| s.code == "PLENARY").unwrap();
        assert_eq!(plenary.cadence.months, vec![5, 10, 2]);
        let ward = specs.iter().find(|s| s.code == "WARDNET").unwrap();
        assert_eq!(ward.repeat, Repeat::PerWard);
        assert_eq!(
            (ward.cadence.per, ward.cadence.min),
            (CadencePeriod::Quarter, 1)
        );
        assert_eq!(
            specs
                .iter()
                .filter(|s| s.kind == MeetingKind::Subcommittee)
                .count(),
            4
        );
    }
}
