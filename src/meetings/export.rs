//! The published calendar as a spreadsheet (CSV / XLSX, through `transfer::write_table`) and
//! as the annual plan (年間事業計画): one row per series, one column per month of the fiscal
//! year, the days it meets in each cell.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use renkei_solver::calendar::{weekday_ja, FiscalYear};
use serde::Serialize;

use super::spec::{kind_label, parse_kind};
use crate::error::Result;
use crate::i18n::Lang;
use crate::store::meetings::OccurrenceRow;
use crate::transfer::{write_table, FileFormat, TextEncoding};

pub const HEADINGS_JA: [&str; 11] = [
    "日付",
    "曜日",
    "開始",
    "終了",
    "会議",
    "種別",
    "区",
    "会場",
    "部屋",
    "出席者",
    "状態",
];
pub const HEADINGS_EN: [&str; 11] = [
    "date",
    "weekday",
    "start",
    "end",
    "meeting",
    "kind",
    "ward",
    "venue",
    "room",
    "attendees",
    "status",
];

fn kind_text(kind: &str, lang: Lang) -> String {
    parse_kind(kind)
        .map(|k| match lang {
            Lang::Ja => kind_label(k).0,
            Lang::En => kind_label(k).1,
        })
        .unwrap_or(kind)
        .to_string()
}

/// The title as exports show it: a meeting held by another body says so and by whom
/// (「他機関主催：…」 / "held by …").
fn titled(o: &OccurrenceRow, lang: Lang) -> String {
    let title = match lang {
        Lang::Ja => o.title.clone(),
        Lang::En => o.title_en.clone(),
    };
    match (o.is_held_by_others(), lang) {
        (false, _) => title,
        (true, Lang::Ja) => format!("{title}（他機関主催：{}）", o.held_by),
        (true, Lang::En) => format!("{title} (held by {})", o.held_by),
    }
}

pub fn calendar_rows(occurrences: &[OccurrenceRow], lang: Lang) -> Vec<Vec<String>> {
    occurrences
        .iter()
        .map(|o| {
            let weekday = NaiveDate::parse_from_str(&o.date, "%Y-%m-%d")
                .map(|d| match lang {
                    Lang::Ja => weekday_ja(d.weekday()).to_string(),
                    Lang::En => d.weekday().to_string(),
                })
                .unwrap_or_default();
            let status = match (o.status.as_str(), lang) {
                ("cancelled", Lang::Ja) => "中止",
                ("cancelled", Lang::En) => "cancelled",
                (_, Lang::Ja) => "予定",
                (_, Lang::En) => "scheduled",
            };
            vec![
                o.date.clone(),
                weekday,
                o.start.clone(),
                o.end.clone(),
                titled(o, lang),
                kind_text(&o.kind, lang),
                o.ward.clone(),
                o.venue_name.clone(),
                o.room_name.clone(),
                o.attendees
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
                status.to_string(),
            ]
        })
        .collect()
}

pub fn calendar_file(
    occurrences: &[OccurrenceRow],
    format: FileFormat,
    encoding: TextEncoding,
    lang: Lang,
) -> Result<Vec<u8>> {
    let headings: &[&str] = match lang {
        Lang::Ja => &HEADINGS_JA,
        Lang::En => &HEADINGS_EN,
    };
    write_table(
        "calendar",
        headings,
        &calendar_rows(occurrences, lang),
        format,
        encoding,
    )
}

/// One line of the annual plan.
#[derive(Debug, Clone, Serialize)]
pub struct AnnualRow {
    pub title: String,
    pub kind: String,
    pub total: usize,
    /// April..March: the days of the month it meets ("12, 26").
    pub months: Vec<String>,
}

/// The annual plan of a fiscal year from its scheduled occurrences, series in order of first
/// appearance of their kind (plenary first) then title.
pub fn annual_plan(fy: FiscalYear, occurrences: &[OccurrenceRow], lang: Lang) -> Vec<AnnualRow> {
    let mut rows: BTreeMap<(usize, String), AnnualRow> = BTreeMap::new();
    for o in occurrences.iter().filter(|o| o.status == "scheduled") {
        let Ok(d) = NaiveDate::parse_from_str(&o.date, "%Y-%m-%d") else {
            continue;
        };
        if !fy.contains(d) {
            continue;
        }
        let order = parse_kind(&o.kind)
            .and_then(|k| super::spec::MEETING_KINDS.iter().position(|x| *x == k))
            .unwrap_or(99);
        let title = titled(o, lang);
        let row = rows
            .entry((order, title.clone()))
            .or_insert_with(|| AnnualRow {
                title,
                kind: kind_text(&o.kind, lang),
                total: 0,
                months: vec![String::new(); 12],
            });
        // April is column 0.
        let col = (d.month() as usize + 8) % 12;
        if !row.months[col].is_empty() {
            row.months[col].push_str(", ");
        }
        row.months[col].push_str(&d.day().to_string());
        row.total += 1;
    }
    rows.into_values().collect()
}
