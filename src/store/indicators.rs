//! Indicators of a fiscal year, the snapshot their figures are computed from, what the
//! coordinator records for a held (or not held) meeting, and invitations added to a meeting.

use std::collections::HashMap;

use chrono::NaiveDate;
use renkei_solver::calendar::FiscalYear;
use sqlx::Row;

use super::meetings::date;
use super::notices::{queue_occurrence, Audience, NoticeKind};
use super::tenancy::{MunicipalityId, User};
use super::{now, Db};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::indicators::{
    Data, Indicator, IndicatorInput, Invitee, Occ, PlacementHold, Record, SeriesInfo, Staff,
    ValidRecord,
};
use crate::master::{FieldError, MasterKind};
use crate::meetings::spec::parse_kind;
use crate::store::master::Record as MasterRecord;

impl Db {
    /// The indicators of a fiscal year, in their order.
    pub async fn indicators(&self, m: MunicipalityId, fy: FiscalYear) -> Result<Vec<Indicator>> {
        let rows = sqlx::query(
            "SELECT id, fiscal_year, code, name, name_en, target, rule FROM indicators
             WHERE municipality_id = $1 AND fiscal_year = $2 ORDER BY position, id",
        )
        .bind(m.0)
        .bind(i64::from(fy.year()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let rule: String = r.try_get("rule")?;
                Ok(Indicator {
                    id: r.try_get("id")?,
                    fiscal_year: r.try_get::<i64, _>("fiscal_year")? as i32,
                    def: IndicatorInput {
                        code: r.try_get("code")?,
                        name: r.try_get("name")?,
                        name_en: r.try_get("name_en")?,
                        target: r.try_get::<i64, _>("target")?.max(0) as u32,
                        rule: serde_json::from_str(&rule).map_err(|e| {
                            Error::Internal(anyhow::anyhow!("stored indicator rule: {e}"))
                        })?,
                    },
                })
            })
            .collect()
    }

    /// Replaces the fiscal year's indicators with `list` (checked by
    /// [`crate::indicators::parse_all`]), in one transaction with an audit row.
    pub async fn replace_indicators(
        &self,
        user: &User,
        fy: FiscalYear,
        list: &[IndicatorInput],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        replace_indicators(&mut tx, user.municipality_id, fy, list).await?;
        super::audit::record(
            &mut tx,
            Some(user.municipality_id),
            Some(user.id),
            "replace",
            "indicators",
            &fy.year().to_string(),
            &format!("{} indicators", list.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Everything the figures of a fiscal year are computed from.
    pub async fn indicator_data(
        &self,
        m: MunicipalityId,
        fy: FiscalYear,
        today: NaiveDate,
    ) -> Result<Data> {
        let mut data = Data {
            fiscal_year: fy,
            today,
            organisations: self.organisation_snapshot(m).await?,
            people: Vec::new(),
            series: Vec::new(),
            occurrences: Vec::new(),
            placements: Vec::new(),
        };
        for r in self.list_records(m, MasterKind::People, "").await? {
            if let MasterRecord::Person(p) = r {
                // An external lecturer or supervisor is nobody's staff: they neither make their
                // organisation take part nor count as its specialist, and are not invited for it.
                if p.external {
                    continue;
                }
                data.people.push(Staff {
                    id: p.id,
                    code: p.code,
                    name: p.name,
                    email: p.email,
                    organisation_id: p.organisation_id,
                    qualifications: p.qualifications,
                });
            }
        }
        for s in self.list_series(m).await? {
            let Some(kind) = parse_kind(&s.kind) else {
                continue;
            };
            data.series.push(SeriesInfo {
                id: s.id,
                code: s.code,
                title: s.title,
                kind,
                active: s.active,
                months: s.spec.cadence.months.clone(),
            });
        }
        let (from, to) = (fy.start().to_string(), fy.end().to_string());
        let in_year = "o.municipality_id = $1 AND o.date >= $2 AND o.date <= $3";
        let mut invitees: HashMap<i64, Vec<Invitee>> = HashMap::new();
        for r in sqlx::query(&format!(
            "SELECT a.occurrence_id, a.person_id, a.required, p.organisation_id, aa.answer
             FROM occurrence_attendees a
             JOIN occurrences o ON o.id = a.occurrence_id
             JOIN people p ON p.id = a.person_id
             LEFT JOIN attendance_answers aa ON aa.occurrence_id = a.occurrence_id AND aa.person_id = a.person_id
             WHERE {in_year} ORDER BY a.occurrence_id, a.person_id"
        ))
        .bind(m.0)
        .bind(&from)
        .bind(&to)
        .fetch_all(&self.pool)
        .await?
        {
            invitees
                .entry(r.try_get("occurrence_id")?)
                .or_default()
                .push(Invitee {
                    person_id: r.try_get("person_id")?,
                    organisation_id: r.try_get("organisation_id")?,
                    required: r.try_get::<i64, _>("required")? != 0,
                    answer: r.try_get("answer")?,
                });
        }
        let mut participants: HashMap<i64, Vec<i64>> = HashMap::new();
        for r in sqlx::query(&format!(
            "SELECT x.occurrence_id, x.person_id FROM occurrence_participants x
             JOIN occurrences o ON o.id = x.occurrence_id WHERE {in_year} ORDER BY x.person_id"
        ))
        .bind(m.0)
        .bind(&from)
        .bind(&to)
        .fetch_all(&self.pool)
        .await?
        {
            participants
                .entry(r.try_get("occurrence_id")?)
                .or_default()
                .push(r.try_get("person_id")?);
        }
        let mut records: HashMap<i64, Record> = HashMap::new();
        for r in sqlx::query(&format!(
            "SELECT x.occurrence_id, x.outcome, x.reason, x.minutes_url, x.external_participants, x.recorded_at
             FROM occurrence_records x JOIN occurrences o ON o.id = x.occurrence_id WHERE {in_year}"
        ))
        .bind(m.0)
        .bind(&from)
        .bind(&to)
        .fetch_all(&self.pool)
        .await?
        {
            let id: i64 = r.try_get("occurrence_id")?;
            records.insert(
                id,
                Record {
                    outcome: r.try_get("outcome")?,
                    reason: r.try_get("reason")?,
                    minutes_url: r.try_get("minutes_url")?,
                    external_participants: r.try_get::<i64, _>("external_participants")?.max(0)
                        as u32,
                    participants: participants.remove(&id).unwrap_or_default(),
                    recorded_at: r.try_get("recorded_at")?,
                },
            );
        }
        for r in sqlx::query(&format!(
            "SELECT o.id, o.series_id, s.code, o.series_key, o.title, o.kind, o.ward, o.date, o.start_time,
                    o.status, o.place_organisation_id, r.capacity, o.held_by
             FROM occurrences o JOIN meeting_series s ON s.id = o.series_id
             LEFT JOIN rooms r ON r.id = o.room_id
             WHERE {in_year} ORDER BY o.date, o.start_time, o.id"
        ))
        .bind(m.0)
        .bind(&from)
        .bind(&to)
        .fetch_all(&self.pool)
        .await?
        {
            let id: i64 = r.try_get("id")?;
            let Some(kind) = parse_kind(&r.try_get::<String, _>("kind")?) else {
                continue;
            };
            data.occurrences.push(Occ {
                id,
                series_id: r.try_get("series_id")?,
                series_code: r.try_get("code")?,
                key: r.try_get("series_key")?,
                title: r.try_get("title")?,
                kind,
                ward: r.try_get("ward")?,
                date: date(&r.try_get::<String, _>("date")?)?,
                start: r.try_get("start_time")?,
                cancelled: r.try_get::<String, _>("status")? == "cancelled",
                place_organisation_id: r.try_get("place_organisation_id")?,
                held_by_others: !r.try_get::<String, _>("held_by")?.is_empty(),
                capacity: r
                    .try_get::<Option<i64>, _>("capacity")?
                    .map(|c| c.max(0) as u32),
                invitees: invitees.remove(&id).unwrap_or_default(),
                record: records.remove(&id),
            });
        }
        // The placements' holds: from the longest stay before the year (a split stay whose
        // first night is in the year may go on after it; one whose first night is before it
        // is last year's) to the year's end.
        let earliest = fy.start() - chrono::Days::new(u64::from(crate::placement::MAX_NIGHTS));
        for r in sqlx::query(
            "SELECT h.request_id, h.from_night, h.status, f.kind
             FROM placement_holds h
             JOIN beds b ON b.id = h.bed_id
             JOIN placement_rooms r ON r.id = b.room_id
             JOIN placement_facilities f ON f.id = r.facility_id
             WHERE h.municipality_id = $1 AND h.status IN ('held', 'accepted', 'placed', 'ended')
               AND h.from_night >= $2 AND h.from_night <= $3
             ORDER BY h.request_id, h.from_night",
        )
        .bind(m.0)
        .bind(earliest.to_string())
        .bind(&to)
        .fetch_all(&self.pool)
        .await?
        {
            data.placements.push(PlacementHold {
                request_id: r.try_get("request_id")?,
                from: date(&r.try_get::<String, _>("from_night")?)?,
                hub: r.try_get::<String, _>("kind")? == "hub_emergency",
                status: r.try_get("status")?,
            });
        }
        Ok(data)
    }

    /// The record of one meeting, if any (participants by person id).
    pub async fn occurrence_record(
        &self,
        m: MunicipalityId,
        occurrence: i64,
    ) -> Result<Option<Record>> {
        let Some(r) = sqlx::query(
            "SELECT outcome, reason, minutes_url, external_participants, recorded_at FROM occurrence_records
             WHERE municipality_id = $1 AND occurrence_id = $2",
        )
        .bind(m.0)
        .bind(occurrence)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let participants = sqlx::query_scalar(
            "SELECT person_id FROM occurrence_participants WHERE occurrence_id = $1 ORDER BY person_id",
        )
        .bind(occurrence)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(Record {
            outcome: r.try_get("outcome")?,
            reason: r.try_get("reason")?,
            minutes_url: r.try_get("minutes_url")?,
            external_participants: r.try_get::<i64, _>("external_participants")?.max(0) as u32,
            participants,
            recorded_at: r.try_get("recorded_at")?,
        }))
    }

    /// Records what happened at a meeting (replacing an earlier record), with an audit row.
    /// Participants must be invitees; without a list, the invitees who confirmed (attend or
    /// deputy) are recorded.
    pub async fn record_occurrence(
        &self,
        user: &User,
        occurrence: i64,
        today: NaiveDate,
        rec: &ValidRecord,
    ) -> Result<()> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        // The meeting's row first (a cancellation in flight is waited for); below, its record
        // must still be the one the form showed (none, or `rec.replaces`).
        super::notices::lock_occurrence(&mut tx, m, occurrence).await?;
        let row = sqlx::query(
            "SELECT date, status FROM occurrences WHERE municipality_id = $1 AND id = $2",
        )
        .bind(m.0)
        .bind(occurrence)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found("会議", "meeting"))?;
        let day = date(&row.try_get::<String, _>("date")?)?;
        let status: String = row.try_get("status")?;
        if rec.held && status == "cancelled" {
            return Err(Error::Conflict(Msg::new(
                "中止した会議は「開催した」と記録できません",
                "a cancelled meeting cannot be recorded as held",
            )));
        }
        if day > today {
            return Err(Error::Validation(vec![FieldError::new(
                "outcome",
                format!("この会議は{day}の予定で、まだ開催日前です。開催前にやめる場合は「中止」を使ってください"),
                format!("this meeting is on {day}, which has not come yet; to call it off beforehand, cancel it"),
            )]));
        }
        let invitees: Vec<(i64, Option<String>, String)> = sqlx::query(
            "SELECT a.person_id, aa.answer, COALESCE(aa.deputy_name, '') AS deputy_name FROM occurrence_attendees a
             LEFT JOIN attendance_answers aa ON aa.occurrence_id = a.occurrence_id AND aa.person_id = a.person_id
             WHERE a.occurrence_id = $1 ORDER BY a.person_id",
        )
        .bind(occurrence)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("person_id")?,
                r.try_get("answer")?,
                r.try_get("deputy_name")?,
            ))
        })
        .collect::<Result<_>>()?;
        let came: Vec<(i64, String)> = if !rec.held {
            Vec::new()
        } else {
            match &rec.participants {
                Some(list) => {
                    if let Some(bad) = list.iter().find(|p| !invitees.iter().any(|i| i.0 == **p)) {
                        return Err(Error::Validation(vec![FieldError::new(
                            "participants",
                            format!("参加者（ID {bad}）はこの会議の招待者ではありません。招待者の中から選んでください"),
                            format!("participant {bad} is not invited to this meeting; choose among the invitees"),
                        )]));
                    }
                    invitees
                        .iter()
                        .filter(|i| list.contains(&i.0))
                        .map(|i| (i.0, i.2.clone()))
                        .collect()
                }
                None => invitees
                    .iter()
                    .filter(|i| matches!(i.1.as_deref(), Some("attend" | "deputy")))
                    .map(|i| (i.0, i.2.clone()))
                    .collect(),
            }
        };
        let current: Option<String> = sqlx::query_scalar(
            "SELECT recorded_at FROM occurrence_records WHERE municipality_id = $1 AND occurrence_id = $2",
        )
        .bind(m.0)
        .bind(occurrence)
        .fetch_optional(&mut *tx)
        .await?;
        if current != rec.replaces {
            return Err(Error::Conflict(Msg::new(
                "この会議の記録は画面を開いた後に変更されました。画面を読み込み直して、今の記録を確かめてから記録してください",
                "the meeting's record changed after the page was opened; reload the page, check the current record and record again",
            )));
        }
        write_record(
            &mut tx,
            m,
            occurrence,
            Some(user.id),
            rec.held,
            &rec.reason,
            &rec.minutes_url,
            rec.external_participants,
        )
        .await?;
        sqlx::query("DELETE FROM occurrence_participants WHERE occurrence_id = $1")
            .bind(occurrence)
            .execute(&mut *tx)
            .await?;
        for (person, deputy) in &came {
            sqlx::query(
                "INSERT INTO occurrence_participants (occurrence_id, person_id, deputy_name) VALUES ($1, $2, $3)",
            )
            .bind(occurrence)
            .bind(person)
            .bind(deputy)
            .execute(&mut *tx)
            .await?;
        }
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "record",
            "occurrence",
            &occurrence.to_string(),
            &if rec.held {
                format!("held, {} participants", came.len())
            } else {
                format!("not held: {}", rec.reason)
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds people as optional invitees of a scheduled meeting and queues their invitations,
    /// one transaction. People already invited are skipped; returns how many were added.
    pub async fn invite_to_occurrence(
        &self,
        user: &User,
        occurrence: i64,
        people: &[i64],
    ) -> Result<usize> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let status: Option<String> = sqlx::query_scalar(
            "SELECT CASE WHEN held_by <> '' THEN 'held_by_others' ELSE status END
             FROM occurrences WHERE municipality_id = $1 AND id = $2",
        )
        .bind(m.0)
        .bind(occurrence)
        .fetch_optional(&mut *tx)
        .await?;
        match status.as_deref() {
            None => return Err(Error::not_found("会議", "meeting")),
            Some("cancelled") => {
                return Err(Error::Conflict(Msg::new(
                    "この会議は中止されています。招待できません",
                    "this meeting is cancelled; nobody can be invited",
                )))
            }
            // The host invites to its own meeting, not renkei.
            Some("held_by_others") => {
                return Err(Error::Validation(vec![FieldError::new(
                    "occurrence",
                    "他機関主催の会議です。招待は主催者が行うため、ここからは招待できません",
                    "this meeting is held by another body; its host invites, renkei cannot",
                )]))
            }
            Some(_) => {}
        }
        let mut added = 0;
        for p in people {
            let known: Option<i64> =
                sqlx::query_scalar("SELECT id FROM people WHERE municipality_id = $1 AND id = $2")
                    .bind(m.0)
                    .bind(p)
                    .fetch_optional(&mut *tx)
                    .await?;
            if known.is_none() {
                return Err(Error::Validation(vec![FieldError::new(
                    "people",
                    format!("職員（ID {p}）が見つかりません"),
                    format!("no person with id {p}"),
                )]));
            }
            added += sqlx::query(
                "INSERT INTO occurrence_attendees (occurrence_id, person_id, required, added) VALUES ($1, $2, 0, 1)
                 ON CONFLICT (occurrence_id, person_id) DO NOTHING",
            )
            .bind(occurrence)
            .bind(p)
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
        }
        queue_occurrence(
            &mut tx,
            m,
            occurrence,
            NoticeKind::Invitation,
            Audience::NotYetInvited,
            None,
        )
        .await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "invite",
            "occurrence",
            &occurrence.to_string(),
            &format!("{added} invitees added"),
        )
        .await?;
        tx.commit().await?;
        Ok(added)
    }
}

/// Replaces a fiscal year's indicators in the caller's transaction (the demo loader uses it).
pub async fn replace_indicators(
    conn: &mut sqlx::AnyConnection,
    m: MunicipalityId,
    fy: FiscalYear,
    list: &[IndicatorInput],
) -> Result<()> {
    sqlx::query("DELETE FROM indicators WHERE municipality_id = $1 AND fiscal_year = $2")
        .bind(m.0)
        .bind(i64::from(fy.year()))
        .execute(&mut *conn)
        .await?;
    let t = now();
    for (i, d) in list.iter().enumerate() {
        let rule = serde_json::to_string(&d.rule).map_err(|e| Error::Internal(e.into()))?;
        sqlx::query(
            "INSERT INTO indicators (municipality_id, fiscal_year, code, name, name_en, target, rule, position, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(m.0)
        .bind(i64::from(fy.year()))
        .bind(&d.code)
        .bind(&d.name)
        .bind(&d.name_en)
        .bind(i64::from(d.target))
        .bind(&rule)
        .bind(i as i64)
        .bind(&t)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes (or replaces) an occurrence's record in the caller's transaction; cancelling a
/// meeting records it as not held with the reason.
#[allow(clippy::too_many_arguments)]
pub async fn write_record(
    conn: &mut sqlx::AnyConnection,
    m: MunicipalityId,
    occurrence: i64,
    user: Option<i64>,
    held: bool,
    reason: &str,
    minutes_url: &str,
    external: u32,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO occurrence_records (occurrence_id, municipality_id, outcome, reason, minutes_url, external_participants, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (occurrence_id) DO UPDATE SET outcome = $3, reason = $4, minutes_url = $5,
             external_participants = $6, recorded_by = $7, recorded_at = $8",
    )
    .bind(occurrence)
    .bind(m.0)
    .bind(if held { "held" } else { "not_held" })
    .bind(reason)
    .bind(minutes_url)
    .bind(i64::from(external))
    .bind(user)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
