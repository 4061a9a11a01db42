//! The demo's case loads (計画相談の件数管理): Kumamoto's caps (50 per office, 75 in the west
//! area, here 西区), plausible current cases for every consultation office and center of
//! みらい市 (some near or at the cap), their specialities, and a few referrals waiting for an
//! office, so that the load board shows something.
//!
//! One transaction, and only while the municipality has no caps yet, so an interrupted load is
//! completed by the next start and a loaded one is never touched again.

use sqlx::Row;

use crate::caseload::OFFICE_KINDS;
use crate::error::Result;
use crate::store::tenancy::MunicipalityId;
use crate::store::{audit, now, Db};

/// Specialities cycled over the offices (every office has one or two).
const TAGS: [&str; 5] = [
    "child",
    "mental",
    "medical_care",
    "behaviour",
    "elderly_transition",
];

/// Open referrals: (code, ward, needs, index of the previous office in board order or none).
#[rustfmt::skip]
const REFERRALS: [(&str, &str, &[&str], Option<usize>); 6] = [
    ("R-DEMO-001", "西区", &["mental"], None),
    ("R-DEMO-002", "東区", &["child"], Some(9)),
    ("R-DEMO-003", "中央区", &[], None),
    ("R-DEMO-004", "西区", &["medical_care", "child"], None),
    ("R-DEMO-005", "南区", &["behaviour"], Some(30)),
    ("R-DEMO-006", "北区", &[], None),
];

/// Deterministic cases for the i-th office: spread 20..=cap, every seventh at or near the cap.
fn cases(i: usize, cap: i64) -> i64 {
    match i % 7 {
        0 => cap,
        3 => cap - 2,
        5 => cap - 4,
        _ => 20 + ((i as i64 * 13) % (cap - 25)),
    }
}

pub async fn load(db: &Db, m: MunicipalityId) -> Result<()> {
    if !db.caseload_caps(m).await?.wards.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    let at = now();
    for (ward, cap) in [("", 50i64), ("西区", 75)] {
        sqlx::query(
            "INSERT INTO caseload_caps (municipality_id, ward, cap) VALUES ($1, $2, $3)
             ON CONFLICT (municipality_id, ward) DO NOTHING",
        )
        .bind(m.0)
        .bind(ward)
        .bind(cap)
        .execute(&mut *tx)
        .await?;
    }
    let offices = sqlx::query(&format!(
        "SELECT id, ward FROM organisations WHERE municipality_id = $1 AND kind IN ('{}', '{}')
         ORDER BY ward, code",
        OFFICE_KINDS[0], OFFICE_KINDS[1]
    ))
    .bind(m.0)
    .fetch_all(&mut *tx)
    .await?;
    let mut ids = Vec::new();
    for (i, r) in offices.iter().enumerate() {
        let id: i64 = r.try_get("id")?;
        let ward: String = r.try_get("ward")?;
        let cap = if ward == "西区" { 75 } else { 50 };
        let mut tags = vec![TAGS[i % TAGS.len()]];
        if i % 3 == 0 {
            tags.push(TAGS[(i + 2) % TAGS.len()]);
        }
        sqlx::query(
            "INSERT INTO caseloads (organisation_id, municipality_id, cases, specialities, updated_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (organisation_id) DO NOTHING",
        )
        .bind(id)
        .bind(m.0)
        .bind(cases(i, cap))
        .bind(tags.join(","))
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        ids.push(id);
    }
    for (code, ward, needs, previous) in REFERRALS {
        sqlx::query(
            "INSERT INTO referrals (municipality_id, code, ward, needs, previous_office_id, status,
                 office_id, manual, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'open', NULL, 0, $6, $6)
             ON CONFLICT (municipality_id, code) DO NOTHING",
        )
        .bind(m.0)
        .bind(code)
        .bind(ward)
        .bind(needs.join(","))
        .bind(previous.and_then(|p| ids.get(p).copied()))
        .bind(&at)
        .execute(&mut *tx)
        .await?;
    }
    audit::record(
        &mut tx,
        Some(m),
        None,
        "create",
        "demo",
        "caseload",
        "demo case loads, caps and referrals loaded",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_counts_stay_within_the_caps_and_some_are_near() {
        for cap in [50, 75] {
            let all: Vec<i64> = (0..48).map(|i| super::cases(i, cap)).collect();
            assert!(all.iter().all(|&c| (20..=cap).contains(&c)), "{all:?}");
            assert!(all.iter().filter(|&&c| c == cap).count() >= 5);
            assert!(
                all.iter()
                    .filter(|&&c| c < cap && c as f64 >= 0.9 * cap as f64)
                    .count()
                    >= 5
            );
        }
    }
}
