//! Case-load tables (計画相談の件数管理): each consultation office's current cases and
//! specialities (`caseloads`), the caps per ward (`caseload_caps`), and the referrals waiting
//! for an office (`referrals`).
//!
//! Every state change is a conditional write on the state it was decided from, with the row
//! count checked: a referral is assigned only `WHERE status = 'open'`, and an office takes a
//! case only `WHERE cases + 1 <= cap` (the cap looked up in the same statement). Two service
//! instances assigning at once therefore never give a referral two offices nor take an office
//! over its cap: the loser's transaction rolls back whole and is tried again from the new
//! state. Writes lock referral rows first (by id) and office rows after (by id), so two
//! assignments cannot wait on each other in a circle.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use super::tenancy::{MunicipalityId, User};
use super::{audit, now, Db};
use crate::caseload::{Caps, ValidCount, ValidReferral, WardCap, DEFAULT_CAP, OFFICE_KINDS};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::master::{split_list, FieldError};

/// An office's load as stored (the cap is applied by [`crate::caseload::board_row`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OfficeLoad {
    pub organisation_id: i64,
    pub code: String,
    pub name: String,
    pub ward: String,
    pub cases: i64,
    pub specialities: Vec<String>,
    pub updated_at: Option<String>,
}

/// A referral as read back.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReferralRow {
    pub id: i64,
    pub code: String,
    pub ward: String,
    pub needs: Vec<String>,
    pub previous_office_id: Option<i64>,
    pub previous_office_name: Option<String>,
    /// `open` or `assigned`.
    pub status: String,
    pub office_id: Option<i64>,
    pub office_name: Option<String>,
    /// The office was chosen by hand (a coordinator's override).
    pub manual: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// Outcome of [`Db::apply_assignments`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// A conditional write found the state changed; nothing was written.
    Changed,
}

/// The cap of organisation `$2` (ward override, else the municipality's default, else 50),
/// as an SQL expression over `organisations o`.
const CAP_SQL: &str = "COALESCE(
        (SELECT c.cap FROM caseload_caps c WHERE c.municipality_id = $1 AND c.ward = o.ward),
        (SELECT c.cap FROM caseload_caps c WHERE c.municipality_id = $1 AND c.ward = ''),
        50)";

fn join_tags(tags: &[String]) -> String {
    tags.join(",")
}

fn referral_from_row(r: &AnyRow) -> Result<ReferralRow> {
    Ok(ReferralRow {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        ward: r.try_get("ward")?,
        needs: split_list(&r.try_get::<String, _>("needs")?),
        previous_office_id: r.try_get("previous_office_id")?,
        previous_office_name: r.try_get("previous_office_name")?,
        status: r.try_get("status")?,
        office_id: r.try_get("office_id")?,
        office_name: r.try_get("office_name")?,
        manual: r.try_get::<i64, _>("manual")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const REFERRAL_SELECT: &str = "SELECT r.id, r.code, r.ward, r.needs, r.previous_office_id,
        p.name AS previous_office_name, r.status, r.office_id, o.name AS office_name, r.manual,
        r.created_at, r.updated_at
     FROM referrals r
     LEFT JOIN organisations p ON p.id = r.previous_office_id
     LEFT JOIN organisations o ON o.id = r.office_id
     WHERE r.municipality_id = $1";

/// An office's count changed between reading and writing it (a referral was assigned).
fn count_changed(code: &str) -> Error {
    Error::Conflict(Msg::new(
        format!("{code}の件数がちょうど変わりました（紹介が割り当てられました）。画面を読み込み直して、もう一度入力してください"),
        format!("the count of {code} changed just now (a referral was assigned); reload and enter it again"),
    ))
}

/// Takes one case off office `organisation` (a referral moved away or closed).
async fn give_case_back(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    organisation: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE caseloads SET cases = cases - 1, updated_at = $3
         WHERE organisation_id = $2 AND municipality_id = $1 AND cases > 0",
    )
    .bind(m.0)
    .bind(organisation)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets office `office`'s count (and specialities), conditional on the count being `expected`
/// (what was read, or what the client saw): an assignment landing in between is not lost.
async fn write_count(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    office: &OfficeLoad,
    cases: i64,
    specialities: &[String],
    expected: i64,
) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO caseloads (organisation_id, municipality_id, cases, specialities, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (organisation_id) DO UPDATE
         SET cases = excluded.cases, specialities = excluded.specialities,
             updated_at = excluded.updated_at
         WHERE caseloads.cases = $6",
    )
    .bind(office.organisation_id)
    .bind(m.0)
    .bind(cases)
    .bind(join_tags(specialities))
    .bind(now())
    .bind(expected)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Err(count_changed(&office.code));
    }
    Ok(())
}

/// Adds one case to office `organisation` if it stays within its cap; false when it would not
/// (or the office is not a consultation office of the municipality).
async fn take_case(conn: &mut AnyConnection, m: MunicipalityId, organisation: i64) -> Result<bool> {
    let at = now();
    sqlx::query(&format!(
        "INSERT INTO caseloads (organisation_id, municipality_id, cases, specialities, updated_at)
         SELECT o.id, o.municipality_id, 0, '', $3 FROM organisations o
         WHERE o.id = $2 AND o.municipality_id = $1 AND o.kind IN ('{}', '{}')
         ON CONFLICT (organisation_id) DO NOTHING",
        OFFICE_KINDS[0], OFFICE_KINDS[1]
    ))
    .bind(m.0)
    .bind(organisation)
    .bind(&at)
    .execute(&mut *conn)
    .await?;
    let sql = format!(
        "UPDATE caseloads SET cases = cases + 1, updated_at = $3
         WHERE organisation_id = $2 AND municipality_id = $1
           AND cases + 1 <= (SELECT {CAP_SQL} FROM organisations o
                             WHERE o.id = $2 AND o.municipality_id = $1
                               AND o.kind IN ('{}', '{}'))",
        OFFICE_KINDS[0], OFFICE_KINDS[1]
    );
    let done = sqlx::query(&sql)
        .bind(m.0)
        .bind(organisation)
        .bind(&at)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

impl Db {
    /// Every consultation office of the municipality with its cases (0 without a row).
    pub async fn caseload_offices(&self, m: MunicipalityId) -> Result<Vec<OfficeLoad>> {
        let rows = sqlx::query(&format!(
            "SELECT o.id, o.code, o.name, o.ward, COALESCE(c.cases, 0) AS cases,
                    COALESCE(c.specialities, '') AS specialities, c.updated_at
             FROM organisations o LEFT JOIN caseloads c ON c.organisation_id = o.id
             WHERE o.municipality_id = $1 AND o.kind IN ('{}', '{}')
             ORDER BY o.ward, o.code",
            OFFICE_KINDS[0], OFFICE_KINDS[1]
        ))
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OfficeLoad {
                    organisation_id: r.try_get("id")?,
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    ward: r.try_get("ward")?,
                    cases: r.try_get("cases")?,
                    specialities: split_list(&r.try_get::<String, _>("specialities")?),
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// One consultation office, or 404.
    pub async fn caseload_office(&self, m: MunicipalityId, id: i64) -> Result<OfficeLoad> {
        self.caseload_offices(m)
            .await?
            .into_iter()
            .find(|o| o.organisation_id == id)
            .ok_or_else(|| Error::not_found("相談支援事業所", "consultation office"))
    }

    pub async fn caseload_caps(&self, m: MunicipalityId) -> Result<Caps> {
        let rows = sqlx::query(
            "SELECT ward, cap FROM caseload_caps WHERE municipality_id = $1 ORDER BY ward",
        )
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        let mut caps = Caps {
            default_cap: DEFAULT_CAP,
            wards: Vec::new(),
        };
        for r in rows {
            let ward: String = r.try_get("ward")?;
            let cap: i64 = r.try_get("cap")?;
            if ward.is_empty() {
                caps.default_cap = cap;
            } else {
                caps.wards.push(WardCap { ward, cap });
            }
        }
        Ok(caps)
    }

    /// Replaces the caps (audited with what they were).
    pub async fn set_caseload_caps(&self, user: &User, caps: &Caps) -> Result<()> {
        let m = user.municipality_id;
        let before = self.caseload_caps(m).await?;
        let show = |c: &Caps| {
            let mut s = format!("default {}", c.default_cap);
            for w in &c.wards {
                s.push_str(&format!(", {} {}", w.ward, w.cap));
            }
            s
        };
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM caseload_caps WHERE municipality_id = $1")
            .bind(m.0)
            .execute(&mut *tx)
            .await?;
        let rows = std::iter::once(("", caps.default_cap))
            .chain(caps.wards.iter().map(|w| (w.ward.as_str(), w.cap)));
        for (ward, cap) in rows {
            sqlx::query(
                "INSERT INTO caseload_caps (municipality_id, ward, cap) VALUES ($1, $2, $3)",
            )
            .bind(m.0)
            .bind(ward)
            .bind(cap)
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "update",
            "caseload_caps",
            &m.0.to_string(),
            &format!("{} -> {}", show(&before), show(caps)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets an office's current cases (and specialities, when given), audited.
    pub async fn set_caseload(&self, user: &User, id: i64, v: &ValidCount) -> Result<()> {
        let m = user.municipality_id;
        let office = self.caseload_office(m, id).await?;
        let specialities = v
            .specialities
            .clone()
            .unwrap_or_else(|| office.specialities.clone());
        if v.expected_cases.is_some_and(|e| e != office.cases) {
            return Err(count_changed(&office.code));
        }
        let mut tx = self.begin_write().await?;
        write_count(
            &mut tx,
            m,
            &office,
            v.cases,
            &specialities,
            v.expected_cases.unwrap_or(office.cases),
        )
        .await?;
        audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "update",
            "caseload",
            &id.to_string(),
            &format!(
                "{}: cases {} -> {}, specialities [{}] -> [{}]",
                office.code,
                office.cases,
                v.cases,
                join_tags(&office.specialities),
                join_tags(&specialities)
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the current cases of several offices at once (an imported file): one transaction,
    /// one audit row per office whose count changed. `counts` are (organisation id, cases) of
    /// consultation offices already checked to belong to the municipality.
    pub async fn set_caseload_counts(&self, user: &User, counts: &[(i64, i64)]) -> Result<usize> {
        let m = user.municipality_id;
        let before: std::collections::BTreeMap<i64, OfficeLoad> = self
            .caseload_offices(m)
            .await?
            .into_iter()
            .map(|o| (o.organisation_id, o))
            .collect();
        let mut tx = self.begin_write().await?;
        let mut changed = 0;
        for &(id, cases) in counts {
            let Some(office) = before.get(&id) else {
                return Err(Error::not_found("相談支援事業所", "consultation office"));
            };
            if office.cases == cases && office.updated_at.is_some() {
                continue;
            }
            write_count(
                &mut tx,
                m,
                office,
                cases,
                &office.specialities,
                office.cases,
            )
            .await?;
            audit::record(
                &mut tx,
                Some(m),
                Some(user.id),
                "update",
                "caseload",
                &id.to_string(),
                &format!(
                    "{}: cases {} -> {} (import)",
                    office.code, office.cases, cases
                ),
            )
            .await?;
            changed += 1;
        }
        tx.commit().await?;
        Ok(changed)
    }

    pub async fn list_referrals(
        &self,
        m: MunicipalityId,
        status: Option<&str>,
    ) -> Result<Vec<ReferralRow>> {
        let rows = match status {
            Some(s) => {
                sqlx::query(&format!(
                    "{REFERRAL_SELECT} AND r.status = $2 ORDER BY r.id"
                ))
                .bind(m.0)
                .bind(s)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!("{REFERRAL_SELECT} ORDER BY r.id"))
                    .bind(m.0)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(referral_from_row).collect()
    }

    /// Referrals with `status` (all when `None`), oldest first: `limit` after `offset`, and
    /// how many there are.
    pub async fn referrals_page(
        &self,
        m: MunicipalityId,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ReferralRow>, i64)> {
        let rows = sqlx::query(&format!(
            "{REFERRAL_SELECT} AND ($2 = '' OR r.status = $2) ORDER BY r.id LIMIT $3 OFFSET $4"
        ))
        .bind(m.0)
        .bind(status.unwrap_or(""))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM referrals WHERE municipality_id = $1 AND ($2 = '' OR status = $2)",
        )
        .bind(m.0)
        .bind(status.unwrap_or(""))
        .fetch_one(&self.pool)
        .await?;
        Ok((
            rows.iter().map(referral_from_row).collect::<Result<_>>()?,
            total,
        ))
    }

    pub async fn referral(&self, m: MunicipalityId, id: i64) -> Result<ReferralRow> {
        let row = sqlx::query(&format!("{REFERRAL_SELECT} AND r.id = $2"))
            .bind(m.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::not_found("紹介", "referral"))?;
        referral_from_row(&row)
    }

    /// Records a new open referral; a previous office must be a consultation office of the
    /// municipality (else a field error).
    pub async fn create_referral(&self, user: &User, v: &ValidReferral) -> Result<i64> {
        let m = user.municipality_id;
        if let Some(p) = v.previous_office_id {
            if self.caseload_office(m, p).await.is_err() {
                return Err(Error::Validation(vec![FieldError::new(
                    "previous_office_id",
                    format!("前の事業所（ID {p}）はこの自治体の相談支援事業所ではありません。一覧から選んでください"),
                    format!("previous office {p} is not a consultation office of this municipality; pick it from the list"),
                )]));
            }
        }
        let at = now();
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO referrals (municipality_id, code, ward, needs, previous_office_id, status,
                 office_id, manual, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'open', NULL, 0, $6, $6) RETURNING id",
        )
        .bind(m.0)
        .bind(&v.code)
        .bind(&v.ward)
        .bind(join_tags(&v.needs))
        .bind(v.previous_office_id)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "create",
            "referral",
            &id.to_string(),
            &format!("{} ward {} needs [{}]", v.code, v.ward, join_tags(&v.needs)),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Writes an optimizer's assignment: each referral from open to its office, each office
    /// one case up within its cap, one audit row per referral, all in one transaction.
    /// [`Applied::Changed`] (and nothing written) when any conditional write found the state
    /// changed since the assignment was computed.
    pub async fn apply_assignments(&self, user: &User, pairs: &[(i64, i64)]) -> Result<Applied> {
        let m = user.municipality_id;
        let mut pairs = pairs.to_vec();
        pairs.sort_unstable();
        self.retrying(|| {
            let pairs = pairs.clone();
            async move {
                let mut tx = self.begin_write().await?;
                let at = now();
                for &(referral, office) in &pairs {
                    let done = sqlx::query(
                        "UPDATE referrals SET status = 'assigned', office_id = $3, manual = 0,
                             updated_at = $4
                         WHERE id = $2 AND municipality_id = $1 AND status = 'open'",
                    )
                    .bind(m.0)
                    .bind(referral)
                    .bind(office)
                    .bind(&at)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        tx.rollback().await?;
                        return Ok(Applied::Changed);
                    }
                }
                let mut offices: Vec<i64> = pairs.iter().map(|p| p.1).collect();
                offices.sort_unstable();
                for office in offices {
                    if !take_case(&mut tx, m, office).await? {
                        tx.rollback().await?;
                        return Ok(Applied::Changed);
                    }
                }
                for &(referral, office) in &pairs {
                    audit::record(
                        &mut tx,
                        Some(m),
                        Some(user.id),
                        "assign",
                        "referral",
                        &referral.to_string(),
                        &format!("office {office} (optimizer)"),
                    )
                    .await?;
                }
                tx.commit().await?;
                Ok(Applied::Done)
            }
        })
        .await
    }

    /// A coordinator's choice: gives the referral to `office` (open or moved from another
    /// office, whose count goes down by one), refused when the office is full.
    pub async fn override_referral(
        &self,
        user: &User,
        id: i64,
        office: i64,
    ) -> Result<ReferralRow> {
        let m = user.municipality_id;
        let before = self.referral(m, id).await?;
        let target = self.caseload_office(m, office).await.map_err(|_| {
            Error::Validation(vec![FieldError::new(
                "office_id",
                format!("事業所（ID {office}）はこの自治体の相談支援事業所ではありません。一覧から選んでください"),
                format!("office {office} is not a consultation office of this municipality; pick it from the list"),
            )])
        })?;
        if before.office_id == Some(office) {
            return Ok(before);
        }
        let caps = self.caseload_caps(m).await?;
        let cap = caps.cap_of(&target.ward);
        let full = || {
            Error::Conflict(Msg::new(
                format!(
                    "事業所「{}」は計画相談の件数が上限に達しているため割り当てられません（{}件／上限{}件）。他の事業所を選ぶか、件数を見直してください",
                    target.name, target.cases, cap
                ),
                format!(
                    "{} is at its planning-consultation cap ({} of {} cases), so the referral cannot go there; choose another office or correct its count",
                    target.name, target.cases, cap
                ),
            ))
        };
        if target.cases >= cap {
            return Err(full());
        }
        let changed = || {
            Error::Conflict(Msg::new(
                "この紹介はたった今ほかの操作で変更されました。画面を読み込み直して確かめてください",
                "this referral was just changed elsewhere; reload it and check",
            ))
        };
        let outcome = self
            .retrying(|| {
                let before = before.clone();
                async move {
                    let mut tx = self.begin_write().await?;
                    let at = now();
                    let done = sqlx::query(
                        "UPDATE referrals SET status = 'assigned', office_id = $3, manual = 1,
                             updated_at = $4
                         WHERE id = $2 AND municipality_id = $1 AND status = $5
                           AND COALESCE(office_id, 0) = $6",
                    )
                    .bind(m.0)
                    .bind(id)
                    .bind(office)
                    .bind(&at)
                    .bind(&before.status)
                    .bind(before.office_id.unwrap_or(0))
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        tx.rollback().await?;
                        return Ok(Err(changed()));
                    }
                    if let Some(old) = before.office_id {
                        give_case_back(&mut tx, m, old).await?;
                    }
                    if !take_case(&mut tx, m, office).await? {
                        tx.rollback().await?;
                        return Ok(Err(full()));
                    }
                    audit::record(
                        &mut tx,
                        Some(m),
                        Some(user.id),
                        "assign",
                        "referral",
                        &id.to_string(),
                        &format!(
                            "office {} -> {office} (by hand)",
                            before
                                .office_id
                                .map(|o| o.to_string())
                                .unwrap_or_else(|| "-".into())
                        ),
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(Ok(()))
                }
            })
            .await?;
        outcome?;
        self.referral(m, id).await
    }

    /// Closes a referral (withdrawn, or its planning consultation ended): it leaves the list,
    /// and an office it was assigned to gets the case back. Conditional on the state just
    /// read, so a referral assigned meanwhile is not closed blind (409).
    pub async fn close_referral(&self, user: &User, id: i64, reason: &str) -> Result<()> {
        let m = user.municipality_id;
        let before = self.referral(m, id).await?;
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "DELETE FROM referrals WHERE id = $2 AND municipality_id = $1 AND status = $3
               AND COALESCE(office_id, 0) = $4",
        )
        .bind(m.0)
        .bind(id)
        .bind(&before.status)
        .bind(before.office_id.unwrap_or(0))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(Error::Conflict(Msg::new(
                "この紹介はたった今ほかの操作で変更されました。画面を読み込み直して確かめてください",
                "this referral was just changed elsewhere; reload it and check",
            )));
        }
        if let Some(office) = before.office_id {
            give_case_back(&mut tx, m, office).await?;
        }
        audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "close",
            "referral",
            &id.to_string(),
            &format!(
                "{} ({}, office {}): {reason}",
                before.code,
                before.status,
                before.office_name.as_deref().unwrap_or("-")
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
