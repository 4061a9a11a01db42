//! Figures for reports (実績): consultations, placements and nights per month of a fiscal year,
//! and per facility, with the share of nights in the hub's own emergency room against
//! community facilities (the Sendai report's question). Exported as CSV/XLSX.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use renkei_solver::calendar::FiscalYear;
use renkei_solver::placement::model::Nights;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Result;
use crate::i18n::Lang;
use crate::store::placement::HoldRow;
use crate::store::tenancy::MunicipalityId;
use crate::store::Db;
use crate::transfer::{write_table, FileFormat, TextEncoding};

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Row {
    /// `2026-04` for a month, the facility's name for a facility row, `合計` / `total`.
    pub label: String,
    pub consultations: u32,
    /// Preventive-support actions (予防的支援) for people at risk.
    pub preventive: u32,
    /// Placements (people received), each counted once: in the month of its first night and
    /// at the facility of its first night, so that facilities sum to the total.
    pub placements: u32,
    /// Placements received in the hub's own room / in community facilities (first night).
    pub hub_placements: u32,
    pub community_placements: u32,
    pub nights: u32,
    pub hub_nights: u32,
    pub community_nights: u32,
    /// Share of nights in community facilities, 0..1 (None without nights).
    pub community_share: Option<f64>,
    /// Share of placements received in community facilities, 0..1 (None without any).
    pub community_placement_share: Option<f64>,
}

impl Row {
    fn add_nights(&mut self, n: u32, hub: bool) {
        self.nights += n;
        if hub {
            self.hub_nights += n;
        } else {
            self.community_nights += n;
        }
    }
    fn add_placement(&mut self, hub: bool) {
        self.placements += 1;
        if hub {
            self.hub_placements += 1;
        } else {
            self.community_placements += 1;
        }
    }
    fn finish(mut self) -> Row {
        self.community_share =
            (self.nights > 0).then(|| f64::from(self.community_nights) / f64::from(self.nights));
        self.community_placement_share = (self.placements > 0)
            .then(|| f64::from(self.community_placements) / f64::from(self.placements));
        self
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    pub fiscal_year: String,
    pub months: Vec<Row>,
    pub facilities: Vec<Row>,
    pub total: Row,
}

/// The figures of one fiscal year. A placement counts in the month of its first night; its
/// nights count in the month of each night; consultations in the month they were received.
pub async fn figures(db: &Db, m: MunicipalityId, fy: FiscalYear) -> Result<Figures> {
    let stays = db
        .placed_stays(m, fy.start(), fy.end().succ_opt().unwrap_or(fy.end()))
        .await?;
    let created = db.requests_created(m).await?;
    let preventive: Vec<String> = db
        .preventive_actions(m)
        .await?
        .into_iter()
        .map(|a| a.on_date)
        .collect();
    Ok(compute(fy, &stays, &created, &preventive))
}

fn compute(
    fy: FiscalYear,
    stays: &[HoldRow],
    created: &[(String, String)],
    preventive: &[String],
) -> Figures {
    let month_key = |d: NaiveDate| format!("{:04}-{:02}", d.year(), d.month());
    let mut months: BTreeMap<String, Row> = BTreeMap::new();
    let mut d = fy.start();
    while d <= fy.end() {
        months.entry(month_key(d)).or_insert_with(|| Row {
            label: month_key(d),
            ..Row::default()
        });
        d = d
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(fy.end().succ_opt().unwrap_or(d));
    }
    let mut total = Row {
        label: "合計 / total".into(),
        ..Row::default()
    };
    for (date, _) in created {
        if let Ok(day) = NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            if fy.contains(day) {
                if let Some(row) = months.get_mut(&month_key(day)) {
                    row.consultations += 1;
                    total.consultations += 1;
                }
            }
        }
    }
    for date in preventive {
        if let Ok(day) = NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            if let Some(row) = months.get_mut(&month_key(day)).filter(|_| fy.contains(day)) {
                row.preventive += 1;
                total.preventive += 1;
            }
        }
    }
    let mut facilities: BTreeMap<String, Row> = BTreeMap::new();
    // Per request: its first night, and the facility and kind of that night.
    let mut first_night: BTreeMap<i64, (NaiveDate, String, bool)> = BTreeMap::new();
    for s in stays {
        let (Ok(from), Ok(to)) = (
            NaiveDate::parse_from_str(&s.from, "%Y-%m-%d"),
            NaiveDate::parse_from_str(&s.to, "%Y-%m-%d"),
        ) else {
            continue;
        };
        let hub = s.facility_kind == "hub_emergency";
        let frow = facilities
            .entry(s.facility_name.clone())
            .or_insert_with(|| Row {
                label: s.facility_name.clone(),
                ..Row::default()
            });
        for night in Nights::new(from, to).iter().filter(|n| fy.contains(*n)) {
            frow.add_nights(1, hub);
            total.add_nights(1, hub);
            if let Some(row) = months.get_mut(&month_key(night)) {
                row.add_nights(1, hub);
            }
        }
        let first = first_night
            .entry(s.request_id)
            .or_insert_with(|| (from, s.facility_name.clone(), hub));
        if from < first.0 {
            *first = (from, s.facility_name.clone(), hub);
        }
    }
    // A placement counts once (a split stay is one placement): in the month and at the
    // facility of its first night.
    for (first, facility, hub) in first_night.values().filter(|(d, ..)| fy.contains(*d)) {
        if let Some(row) = months.get_mut(&month_key(*first)) {
            row.add_placement(*hub);
            total.add_placement(*hub);
        }
        if let Some(row) = facilities.get_mut(facility) {
            row.add_placement(*hub);
        }
    }
    Figures {
        fiscal_year: fy.label_ja(),
        months: months.into_values().map(Row::finish).collect(),
        facilities: facilities.into_values().map(Row::finish).collect(),
        total: total.finish(),
    }
}

/// The figures as one sheet: months, then facilities, then the total.
pub fn export(
    f: &Figures,
    lang: Lang,
    format: FileFormat,
    encoding: TextEncoding,
) -> Result<Vec<u8>> {
    let headings: [&str; 12] = match lang {
        Lang::Ja => [
            "区分",
            "項目",
            "相談件数",
            "予防的支援",
            "受入れ件数",
            "拠点居室での受入れ",
            "地域の施設での受入れ",
            "地域の施設での受入れの割合(%)",
            "延べ泊数",
            "拠点居室の泊数",
            "地域の施設の泊数",
            "地域の施設の割合(%)",
        ],
        Lang::En => [
            "group",
            "item",
            "consultations",
            "preventive support",
            "placements",
            "hub room placements",
            "community placements",
            "community placement share (%)",
            "nights",
            "hub room nights",
            "community nights",
            "community share (%)",
        ],
    };
    let (month, facility, total) = match lang {
        Lang::Ja => ("月別", "施設別", "合計"),
        Lang::En => ("month", "facility", "total"),
    };
    let row = |group: &str, r: &Row| {
        vec![
            group.to_string(),
            r.label.clone(),
            r.consultations.to_string(),
            r.preventive.to_string(),
            r.placements.to_string(),
            r.hub_placements.to_string(),
            r.community_placements.to_string(),
            r.community_placement_share
                .map(|s| format!("{:.1}", s * 100.0))
                .unwrap_or_default(),
            r.nights.to_string(),
            r.hub_nights.to_string(),
            r.community_nights.to_string(),
            r.community_share
                .map(|s| format!("{:.1}", s * 100.0))
                .unwrap_or_default(),
        ]
    };
    let mut rows: Vec<Vec<String>> = f.months.iter().map(|r| row(month, r)).collect();
    rows.extend(f.facilities.iter().map(|r| row(facility, r)));
    rows.push(row(total, &f.total));
    write_table(&f.fiscal_year, &headings, &rows, format, encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stay(id: i64, request: i64, facility: &str, kind: &str, from: &str, to: &str) -> HoldRow {
        HoldRow {
            id,
            request_id: request,
            case_number: format!("C-{request}"),
            bed_id: 1,
            bed_name: String::new(),
            room_name: String::new(),
            facility_id: 1,
            facility_name: facility.into(),
            facility_kind: kind.into(),
            from: from.into(),
            to: to.into(),
            status: "placed".into(),
            expires_at: String::new(),
            answered_at: None,
            answer_reason: String::new(),
        }
    }

    #[test]
    fn nights_and_placements_count_per_month_and_facility() {
        let fy = FiscalYear::new(2026).unwrap();
        let stays = [
            // 3 nights in the hub room from 30 April: 1 in April, 2 in May.
            stay(1, 1, "拠点", "hub_emergency", "2026-04-30", "2026-05-03"),
            // A split stay: 2 nights short stay then 1 in the hub room.
            stay(2, 2, "やすらぎ", "short_stay", "2026-05-10", "2026-05-12"),
            stay(3, 2, "拠点", "hub_emergency", "2026-05-12", "2026-05-13"),
        ];
        let created = vec![
            ("2026-04-29".to_string(), "placed".to_string()),
            ("2026-05-09".into(), "placed".into()),
            ("2026-05-20".into(), "ended".into()),
        ];
        let f = compute(
            fy,
            &stays,
            &created,
            &["2026-05-01".to_string(), "2025-05-01".to_string()],
        );
        assert_eq!(
            (f.months[1].preventive, f.total.preventive),
            (1, 1),
            "only actions within the year count"
        );
        assert_eq!(f.months.len(), 12);
        let april = &f.months[0];
        assert_eq!(
            (april.consultations, april.placements, april.nights),
            (1, 1, 1)
        );
        let may = &f.months[1];
        assert_eq!(
            (
                may.consultations,
                may.placements,
                may.nights,
                may.hub_nights
            ),
            (2, 1, 5, 3)
        );
        assert_eq!(
            (f.total.placements, f.total.nights, f.total.community_nights),
            (2, 6, 2)
        );
        assert!((f.total.community_share.unwrap() - 2.0 / 6.0).abs() < 1e-9);
        // Sendai (003) counts placements (people received): a split stay is one placement,
        // at the facility of its first night, so the facilities sum to the total.
        let hub = f.facilities.iter().find(|r| r.label == "拠点").unwrap();
        assert_eq!((hub.placements, hub.nights), (1, 4));
        let short = f.facilities.iter().find(|r| r.label == "やすらぎ").unwrap();
        assert_eq!(short.placements, 1);
        assert_eq!(
            f.facilities.iter().map(|r| r.placements).sum::<u32>(),
            f.total.placements
        );
        assert_eq!(
            (f.total.hub_placements, f.total.community_placements),
            (1, 1)
        );
        assert_eq!(f.total.community_placement_share, Some(0.5));
    }
}
