//! The reports owed to the municipality: the monthly report (月次報告) and the annual results
//! report (実績報告), shaped like the documents' results lists (Sendai: per activity the
//! meetings held, the participant-visits, the organisations taking part), with the indicators
//! first. One [`Report`] feeds both the printable page and the XLSX file; its indicator rows
//! are [`super::evaluate`]'s figures, so they agree with the dashboard.

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate};
use renkei_solver::schedule::model::MeetingKind;
use serde::Serialize;

use super::{evaluate, Data, Figure, IndicatorInput, OccState, Standing};
use crate::error::{Error, Result};
use crate::i18n::{Lang, Msg};
use crate::meetings::spec::{kind_label, MEETING_KINDS};

/// One activity (meeting kind) in the period.
#[derive(Debug, Clone, Serialize)]
pub struct KindRow {
    pub kind: String,
    pub label: Msg,
    pub planned: u32,
    pub held: u32,
    pub not_held: u32,
    /// Participant-visits: invitees who came, plus people from outside the lists.
    pub participants: u32,
    /// Distinct organisations whose people came.
    pub organisations: u32,
}

/// One meeting in the period and what happened.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingRow {
    pub id: i64,
    pub date: String,
    pub start: String,
    pub title: String,
    pub kind: Msg,
    pub state: OccState,
    pub state_label: Msg,
    pub participants: u32,
    pub organisations: u32,
    pub minutes_url: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `annual` or `monthly`.
    pub kind: &'static str,
    pub title: Msg,
    pub period: Msg,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The indicators as of the end of the period (the annual report: as the dashboard).
    pub figures: Vec<Figure>,
    pub kinds: Vec<KindRow>,
    /// Held meetings per month (April first) and kind, for the annual report.
    pub months: Vec<MonthRow>,
    pub meetings: Vec<MeetingRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthRow {
    pub label: Msg,
    /// Held per kind, in the order of `Report::kinds`.
    pub held: Vec<u32>,
    pub total: u32,
}

pub fn state_label(s: OccState) -> Msg {
    match s {
        OccState::Held => Msg::new("開催", "held"),
        OccState::NotHeld => Msg::new("中止・未開催", "not held"),
        OccState::Unrecorded => Msg::new("記録待ち", "not recorded yet"),
        OccState::Expected => Msg::new("予定", "planned"),
        OccState::AtRisk => Msg::new(
            "要調整（必須の出席者が欠席）",
            "at risk (a required invitee declined)",
        ),
    }
}

pub fn standing_label(s: Standing) -> Msg {
    match s {
        Standing::Met => Msg::new("達成", "met"),
        Standing::OnTrack => Msg::new("達成見込み", "on track"),
        Standing::AtRisk => Msg::new("要注意", "at risk"),
        Standing::Short => Msg::new("計画不足", "plan short"),
    }
}

/// The annual results report of the snapshot's fiscal year.
pub fn annual(defs: &[IndicatorInput], data: &Data) -> Report {
    let fy = data.fiscal_year;
    let mut r = build(
        data,
        fy.start(),
        fy.end(),
        Msg::new(
            format!("{} 実績報告", fy.label_ja()),
            format!("Annual results report {}", fy.label_en()),
        ),
        Msg::new(
            format!("{} 〜 {}", fy.start(), fy.end()),
            format!("{} to {}", fy.start(), fy.end()),
        ),
    );
    r.kind = "annual";
    r.figures = evaluate(defs, data);
    let mut month = fy.start();
    while month <= fy.end() {
        let next = next_month(month);
        let held: Vec<u32> = r
            .kinds
            .iter()
            .map(|k| {
                data.occurrences
                    .iter()
                    .filter(|o| {
                        o.date >= month
                            && o.date < next
                            && crate::meetings::spec::kind_slug(o.kind) == k.kind
                            && o.state(data.today) == OccState::Held
                    })
                    .count() as u32
            })
            .collect();
        r.months.push(MonthRow {
            label: Msg::new(
                format!("{}年{}月", month.year(), month.month()),
                month.format("%b %Y").to_string(),
            ),
            total: held.iter().sum(),
            held,
        });
        month = next;
    }
    r
}

/// The monthly report of `month` (any day of it): that month's meetings, and the indicators
/// with what happened up to the month's end.
pub fn monthly(defs: &[IndicatorInput], data: &Data, month: NaiveDate) -> Report {
    let from = month.with_day(1).unwrap_or(month);
    let to = next_month(from) - Duration::days(1);
    let mut r = build(
        data,
        from,
        to,
        Msg::new(
            format!("{}年{}月 月次報告", from.year(), from.month()),
            format!("Monthly report {}", from.format("%B %Y")),
        ),
        Msg::new(format!("{from} 〜 {to}"), format!("{from} to {to}")),
    );
    r.kind = "monthly";
    let mut upto = data.clone();
    upto.occurrences.retain(|o| o.date <= to);
    upto.placements.retain(|p| p.from <= to);
    r.figures = evaluate(defs, &upto);
    // Against what is due by the month's end, not the whole year's target: two operating
    // meetings of six by June is on schedule (Meguro: every other month).
    let fy = data.fiscal_year;
    let year_days = (fy.end() - fy.start()).num_days() + 1;
    let passed = ((to.min(fy.end()) - fy.start()).num_days() + 1).clamp(0, year_days);
    for f in &mut r.figures {
        // A share is due whole every month: no part of a percentage is "done by June".
        let due = if f.rule.is_share() {
            f.target
        } else {
            (u64::from(f.target) * passed as u64 / year_days as u64) as u32
        };
        f.due = Some(due);
        f.standing = super::standing_of(due, f.planned, f.expected, f.actual);
    }
    r
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("first of month")
}

fn build(data: &Data, from: NaiveDate, to: NaiveDate, title: Msg, period: Msg) -> Report {
    let today = data.today;
    let org_of = |p: i64| {
        data.people
            .iter()
            .find(|s| s.id == p)
            .and_then(|s| s.organisation_id)
    };
    let in_period: Vec<&super::Occ> = data
        .occurrences
        .iter()
        .filter(|o| o.date >= from && o.date <= to)
        .collect();
    let came = |o: &super::Occ| -> (u32, BTreeSet<i64>) {
        match (&o.record, o.state(today)) {
            (Some(rec), OccState::Held) => (
                rec.participants.len() as u32 + rec.external_participants,
                rec.participants.iter().filter_map(|p| org_of(*p)).collect(),
            ),
            _ => (0, BTreeSet::new()),
        }
    };
    let mut kinds = Vec::new();
    for k in MEETING_KINDS {
        let of_kind: Vec<&&super::Occ> = in_period.iter().filter(|o| o.kind == k).collect();
        if of_kind.is_empty() {
            continue;
        }
        let mut orgs = BTreeSet::new();
        let mut participants = 0;
        for o in &of_kind {
            let (n, set) = came(o);
            participants += n;
            orgs.extend(set);
        }
        kinds.push(KindRow {
            kind: crate::meetings::spec::kind_slug(k).to_string(),
            label: label(k),
            planned: of_kind.iter().filter(|o| !o.cancelled).count() as u32,
            held: of_kind
                .iter()
                .filter(|o| o.state(today) == OccState::Held)
                .count() as u32,
            not_held: of_kind
                .iter()
                .filter(|o| o.state(today) == OccState::NotHeld)
                .count() as u32,
            participants,
            organisations: orgs.len() as u32,
        });
    }
    let meetings = in_period
        .iter()
        .map(|o| {
            let (n, orgs) = came(o);
            let state = o.state(today);
            MeetingRow {
                id: o.id,
                date: o.date.to_string(),
                start: o.start.clone(),
                title: o.title.clone(),
                kind: label(o.kind),
                state,
                state_label: state_label(state),
                participants: n,
                organisations: orgs.len() as u32,
                minutes_url: o
                    .record
                    .as_ref()
                    .map(|r| r.minutes_url.clone())
                    .unwrap_or_default(),
                reason: o
                    .record
                    .as_ref()
                    .map(|r| r.reason.clone())
                    .unwrap_or_default(),
            }
        })
        .collect();
    Report {
        kind: "",
        title,
        period,
        from,
        to,
        figures: Vec::new(),
        kinds,
        months: Vec::new(),
        meetings,
    }
}

fn label(k: MeetingKind) -> Msg {
    let (ja, en) = kind_label(k);
    Msg::new(ja, en)
}

fn pick(m: &Msg, lang: Lang) -> &str {
    m.get(lang)
}

/// The report as a workbook: 指標 (indicators), 活動実績 (per activity), 月別 (per month,
/// annual report only), 会議一覧 (every meeting). Counts are number cells.
pub fn xlsx(r: &Report, municipality: &str, lang: Lang) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let xl = |e: rust_xlsxwriter::XlsxError| Error::Internal(e.into());
    let t = |ja: &'static str, en: &'static str| if lang == Lang::Ja { ja } else { en };
    let bold = Format::new().set_bold();
    let title_fmt = Format::new().set_bold().set_font_size(14);
    let mut book = Workbook::new();

    let sheet = book.add_worksheet();
    sheet.set_name(t("指標", "Indicators")).map_err(xl)?;
    sheet
        .write_string_with_format(0, 0, pick(&r.title, lang), &title_fmt)
        .map_err(xl)?;
    sheet
        .write_string(1, 0, format!("{municipality}　{}", pick(&r.period, lang)))
        .map_err(xl)?;
    let heads = [
        t("コード", "Code"),
        t("指標", "Indicator"),
        t("目標", "Target"),
        t("計画", "Planned"),
        t("見込み", "Expected"),
        t("実績", "Actual"),
        t("単位", "Unit"),
        t("状況", "Standing"),
    ];
    for (c, h) in heads.iter().enumerate() {
        sheet
            .write_string_with_format(3, c as u16, *h, &bold)
            .map_err(xl)?;
    }
    for (i, f) in r.figures.iter().enumerate() {
        let row = 4 + i as u32;
        sheet.write_string(row, 0, &f.code).map_err(xl)?;
        sheet
            .write_string(
                row,
                1,
                if lang == Lang::Ja {
                    &f.name
                } else {
                    &f.name_en
                },
            )
            .map_err(xl)?;
        for (c, v) in [f.target, f.planned, f.expected, f.actual]
            .iter()
            .enumerate()
        {
            sheet
                .write_number(row, 2 + c as u16, f64::from(*v))
                .map_err(xl)?;
        }
        sheet
            .write_string(row, 6, pick(&f.unit, lang))
            .map_err(xl)?;
        sheet
            .write_string(row, 7, pick(&standing_label(f.standing), lang))
            .map_err(xl)?;
    }
    sheet.set_column_width(1, 60).map_err(xl)?;
    sheet.set_column_width(0, 22).map_err(xl)?;

    let sheet = book.add_worksheet();
    sheet.set_name(t("活動実績", "Activities")).map_err(xl)?;
    let heads = [
        t("種類", "Activity"),
        t("計画", "Planned"),
        t("開催", "Held"),
        t("中止・未開催", "Not held"),
        t("参加者延べ人数", "Participant-visits"),
        t("参加事業所・機関数", "Organisations"),
    ];
    for (c, h) in heads.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(xl)?;
    }
    for (i, k) in r.kinds.iter().enumerate() {
        let row = 1 + i as u32;
        sheet
            .write_string(row, 0, pick(&k.label, lang))
            .map_err(xl)?;
        for (c, v) in [
            k.planned,
            k.held,
            k.not_held,
            k.participants,
            k.organisations,
        ]
        .iter()
        .enumerate()
        {
            sheet
                .write_number(row, 1 + c as u16, f64::from(*v))
                .map_err(xl)?;
        }
    }
    sheet.set_column_width(0, 30).map_err(xl)?;

    if !r.months.is_empty() {
        let sheet = book.add_worksheet();
        sheet.set_name(t("月別", "By month")).map_err(xl)?;
        sheet
            .write_string_with_format(0, 0, t("月", "Month"), &bold)
            .map_err(xl)?;
        for (c, k) in r.kinds.iter().enumerate() {
            sheet
                .write_string_with_format(0, 1 + c as u16, pick(&k.label, lang), &bold)
                .map_err(xl)?;
        }
        let total_col = 1 + r.kinds.len() as u16;
        sheet
            .write_string_with_format(0, total_col, t("合計", "Total"), &bold)
            .map_err(xl)?;
        for (i, m) in r.months.iter().enumerate() {
            let row = 1 + i as u32;
            sheet
                .write_string(row, 0, pick(&m.label, lang))
                .map_err(xl)?;
            for (c, v) in m.held.iter().enumerate() {
                sheet
                    .write_number(row, 1 + c as u16, f64::from(*v))
                    .map_err(xl)?;
            }
            sheet
                .write_number(row, total_col, f64::from(m.total))
                .map_err(xl)?;
        }
    }

    let sheet = book.add_worksheet();
    sheet.set_name(t("会議一覧", "Meetings")).map_err(xl)?;
    let heads = [
        t("日付", "Date"),
        t("開始", "Start"),
        t("会議", "Meeting"),
        t("種類", "Activity"),
        t("結果", "Outcome"),
        t("参加者数", "Participants"),
        t("参加事業所・機関数", "Organisations"),
        t("議事録", "Minutes"),
        t("理由", "Reason"),
    ];
    for (c, h) in heads.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(xl)?;
    }
    // Dates are date cells (a spreadsheet sorts and filters them), shown as yyyy-mm-dd.
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    for (i, m) in r.meetings.iter().enumerate() {
        let row = 1 + i as u32;
        match chrono::NaiveDate::parse_from_str(&m.date, "%Y-%m-%d") {
            Ok(d) => {
                use chrono::Datelike;
                let date = rust_xlsxwriter::ExcelDateTime::from_ymd(
                    d.year() as u16,
                    d.month() as u8,
                    d.day() as u8,
                )
                .map_err(xl)?;
                sheet
                    .write_date_with_format(row, 0, &date, &date_format)
                    .map_err(xl)?
            }
            Err(_) => sheet.write_string(row, 0, &m.date).map_err(xl)?,
        };
        sheet.write_string(row, 1, &m.start).map_err(xl)?;
        sheet.write_string(row, 2, &m.title).map_err(xl)?;
        sheet
            .write_string(row, 3, pick(&m.kind, lang))
            .map_err(xl)?;
        sheet
            .write_string(row, 4, pick(&m.state_label, lang))
            .map_err(xl)?;
        sheet
            .write_number(row, 5, f64::from(m.participants))
            .map_err(xl)?;
        sheet
            .write_number(row, 6, f64::from(m.organisations))
            .map_err(xl)?;
        sheet.write_string(row, 7, &m.minutes_url).map_err(xl)?;
        sheet.write_string(row, 8, &m.reason).map_err(xl)?;
    }
    sheet.set_column_width(2, 40).map_err(xl)?;
    sheet.set_freeze_panes(1, 0).map_err(xl)?;
    book.save_to_buffer().map_err(xl)
}
