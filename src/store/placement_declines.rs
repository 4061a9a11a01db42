//! The facilities' answers to proposals, for the decline view ([`crate::placement::declines`]):
//! holds with their facility, status, answer and fixed decline reason, and nothing of the
//! requester (the view takes the needs from [`RequestSummary`], which every role may see).

use sqlx::Row;

use super::placement::RequestSummary;
use super::tenancy::MunicipalityId;
use super::{parse_instant, Db};
use crate::error::Result;
use crate::placement::declines::{DeclineReason, ProposalHold};
use renkei_solver::calendar::{jst_date, FiscalYear};

impl Db {
    /// The holds of proposals made in `fy` (by the day in Japan) and the summaries of their
    /// requests.
    pub async fn proposal_answers(
        &self,
        m: MunicipalityId,
        fy: FiscalYear,
    ) -> Result<(Vec<ProposalHold>, Vec<RequestSummary>)> {
        // Instants are stored in UTC: from a day before the year (JST is ahead) to its end.
        let from = (fy.start() - chrono::Days::new(1)).to_string();
        let to = (fy.end() + chrono::Days::new(1)).to_string();
        let rows = sqlx::query(
            "SELECT h.request_id, f.id AS facility_id, f.name AS facility_name, f.kind AS facility_kind,
                    h.from_night, h.to_night, h.status, h.created_at, h.answered_at, h.answer_reason,
                    h.decline_reason
             FROM placement_holds h
             JOIN beds b ON b.id = h.bed_id
             JOIN placement_rooms r ON r.id = b.room_id
             JOIN placement_facilities f ON f.id = r.facility_id
             WHERE h.municipality_id = $1 AND h.created_at >= $2 AND h.created_at < $3
             ORDER BY h.created_at, h.id",
        )
        .bind(m.0)
        .bind(&from)
        .bind(&to)
        .fetch_all(&self.pool)
        .await?;
        let day = |at: &str| parse_instant(at).map(jst_date);
        let mut holds = Vec::with_capacity(rows.len());
        for r in &rows {
            let created_at: String = r.try_get("created_at")?;
            let Some(proposed_on) = day(&created_at) else {
                continue;
            };
            let answered_at: Option<String> = r.try_get("answered_at")?;
            holds.push(ProposalHold {
                request_id: r.try_get("request_id")?,
                facility_id: r.try_get("facility_id")?,
                facility_name: r.try_get("facility_name")?,
                facility_kind: r.try_get("facility_kind")?,
                from: r.try_get("from_night")?,
                to: r.try_get("to_night")?,
                status: r.try_get("status")?,
                created_at,
                proposed_on,
                answered_on: answered_at.as_deref().and_then(day),
                answer_reason: r.try_get("answer_reason")?,
                decline_reason: DeclineReason::parse(&r.try_get::<String, _>("decline_reason")?),
            });
        }
        let requests = self.list_requests(m, None).await?;
        Ok((holds, requests))
    }
}
