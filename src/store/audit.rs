//! Audit log (監査ログ): who changed what, when. Rows are written inside the transaction of the
//! change they describe, so the log can neither miss a committed change nor record a rolled-back one.

use serde::Serialize;
use sqlx::{AnyConnection, Row};

use super::tenancy::MunicipalityId;
use super::{now, Db};
use crate::error::Result;

pub async fn record(
    conn: &mut AnyConnection,
    municipality: Option<MunicipalityId>,
    user_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (municipality_id, user_id, at, action, entity, entity_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(municipality.map(|m| m.0))
    .bind(user_id)
    .bind(now())
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at: String,
    pub username: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub detail: String,
}

impl Db {
    pub async fn audit_entries(
        &self,
        municipality: MunicipalityId,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        self.audit_page(municipality, limit, 0).await
    }

    /// How many audit entries the municipality has.
    pub async fn count_audit_entries(&self, municipality: MunicipalityId) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE municipality_id = $1")
                .bind(municipality.0)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Entries newest first: `limit` after `offset`.
    pub async fn audit_page(
        &self,
        municipality: MunicipalityId,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT a.at, u.username, a.action, a.entity, a.entity_id, a.detail
             FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
             WHERE a.municipality_id = $1 ORDER BY a.id DESC LIMIT $2 OFFSET $3",
        )
        .bind(municipality.0)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: r.try_get("at")?,
                    username: r.try_get("username")?,
                    action: r.try_get("action")?,
                    entity: r.try_get("entity")?,
                    entity_id: r.try_get("entity_id")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
