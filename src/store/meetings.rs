//! Meeting series, planning runs, publications and the published calendar.
//!
//! * A plan run stores the instance as it was built when the coordinator asked, so the result
//!   always belongs to the data it was computed from.
//! * Publishing is one transaction: the new publication row, every occurrence added, moved or
//!   cancelled (with its iCalendar `sequence` raised), the attendees, the audit row. A run
//!   planned against an older publication is refused, so two coordinators cannot overwrite
//!   each other's calendar; publishing the same run twice is refused too.

use std::collections::{BTreeMap, HashMap};

use chrono::{NaiveDate, NaiveTime};
use renkei_solver::schedule::model::{Occurrence, Pin};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use super::jobs::{enqueue, NewJob};
use super::notices::{Audience, NoticeKind};
use super::tenancy::{MunicipalityId, User};
use super::{now, Db};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::master::{parse_weekday, FieldError, MasterKind};
use crate::meetings::build::{
    place_of, SeriesRef, SnapOccurrence, SnapOrganisation, SnapPerson, SnapRoom, SnapSeries,
    SnapVenue, Snapshot,
};
use crate::meetings::spec::{kind_slug, SeriesSpec, ValidSeries};
use crate::store::master::Record;

/// Job kind of a planning run.
pub const PLAN_JOB: &str = "plan_calendar";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesRow {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub kind: String,
    pub active: bool,
    pub spec: SeriesSpec,
}

fn series_from_row(r: &AnyRow) -> Result<SeriesRow> {
    let spec: String = r.try_get("spec")?;
    Ok(SeriesRow {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        title: r.try_get("title")?,
        kind: r.try_get("kind")?,
        active: r.try_get::<i64, _>("active")? != 0,
        spec: serde_json::from_str(&spec)
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored series spec: {e}")))?,
    })
}

/// A planning run and the state of its job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanRun {
    pub id: i64,
    pub job_id: Option<i64>,
    pub method: String,
    pub period_from: String,
    pub period_to: String,
    pub label: String,
    /// queued, running, done or failed (the job's status).
    pub status: String,
    pub progress: f64,
    pub progress_note: String,
    pub last_error: Option<String>,
    /// What the builder decided or left out.
    #[schema(value_type = Vec<Object>)]
    pub notes: Vec<Msg>,
    /// The planning report (see `planning::SolveReport`) once done; null before.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// The greedy plan shown while the optimizer runs; null before and when there is none.
    #[schema(value_type = Option<Object>)]
    pub best_so_far: Option<serde_json::Value>,
    /// Once done: which method produced the result's plan — `optimizer`, `baseline` (the
    /// optimizer found nothing better, or `greedy` was asked for) — whatever `method` asked.
    pub result_method: Option<String>,
    /// Once done, when the optimizer stopped before proving its plan optimal: why (ja/en).
    #[schema(value_type = Option<Object>)]
    pub result_note: Option<serde_json::Value>,
    pub base_publication: i64,
    pub created_at: String,
    pub published_at: Option<String>,
}

/// What a planning run needs besides its id.
pub struct RunInput<'a> {
    pub method: &'a str,
    pub label: &'a str,
    pub period: (NaiveDate, NaiveDate),
    pub instance: &'a serde_json::Value,
    pub series: &'a [SeriesRef],
    pub notes: &'a [Msg],
}

/// One published occurrence with names resolved, for views and exports.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OccurrenceRow {
    pub id: i64,
    pub uid: String,
    pub series_id: i64,
    pub series_key: String,
    pub title: String,
    pub title_en: String,
    pub kind: String,
    pub ward: String,
    pub date: String,
    pub start: String,
    pub end: String,
    pub room_id: Option<i64>,
    pub room_name: String,
    pub venue_name: String,
    pub venue_address: String,
    pub place_organisation_id: Option<i64>,
    pub status: String,
    pub pin: String,
    pub sequence: i64,
    pub updated_at: String,
    pub attendees: Vec<Attendee>,
    /// Held by another body (他機関主催): the host as shown; empty for the center's own.
    pub held_by: String,
    /// The host organisation, when it is in the master data.
    pub host_organisation_id: Option<i64>,
}

impl OccurrenceRow {
    /// Held by another body: no room of ours, no invitations.
    pub fn is_held_by_others(&self) -> bool {
        !self.held_by.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attendee {
    pub person_id: i64,
    pub name: String,
    pub email: String,
    pub organisation_id: Option<i64>,
    pub organisation_name: String,
    pub required: bool,
}

/// Which occurrences to list.
#[derive(Debug, Clone, Default)]
pub struct OccurrenceFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub person_id: Option<i64>,
    pub room_id: Option<i64>,
    /// Occurrences held at the organisation or attended by its staff.
    pub organisation_id: Option<i64>,
    pub ward: Option<String>,
    pub include_cancelled: bool,
    /// One occurrence only.
    pub id: Option<i64>,
    /// The occurrences of one series only.
    pub series_id: Option<i64>,
}

/// What publishing changed.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct PublishSummary {
    pub publication_id: i64,
    pub added: i64,
    pub moved: i64,
    pub cancelled: i64,
    pub unchanged: i64,
    /// Notices queued (invitations, updates, cancellations), in the same transaction.
    pub notices: i64,
    /// Of them: invitations (new meetings, and invitees added to a meeting).
    pub invitations: i64,
    /// Of them: updates of moved meetings.
    pub updates: i64,
    /// Of them: cancellations.
    pub cancellations: i64,
    /// How many people (distinct addresses) the notices go to.
    pub recipients: i64,
}

/// Queues meeting notices in the publishing transaction.
async fn notify(
    tx: &mut AnyConnection,
    m: MunicipalityId,
    occurrence: i64,
    kind: NoticeKind,
    audience: Audience,
    tally: &mut super::notices::QueuedTally,
) -> Result<i64> {
    Ok(
        super::notices::queue_occurrence_counted(tx, m, occurrence, kind, audience, None, tally)
            .await? as i64,
    )
}

/// A stored `YYYY-MM-DD` date.
pub(super) fn date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored date {s}: {e}")))
}

fn time(s: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M")
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored time {s}: {e}")))
}

pub fn pin_slug(p: Pin) -> &'static str {
    match p {
        Pin::None => "none",
        Pin::Full => "full",
        Pin::Date => "date",
    }
}

pub fn parse_pin(s: &str) -> Option<Pin> {
    match s {
        "none" => Some(Pin::None),
        "full" => Some(Pin::Full),
        "date" => Some(Pin::Date),
        _ => None,
    }
}

fn series_not_found() -> Error {
    Error::not_found("会議シリーズ", "meeting series")
}

impl Db {
    pub async fn list_series(&self, m: MunicipalityId) -> Result<Vec<SeriesRow>> {
        let rows = sqlx::query(
            "SELECT id, code, title, kind, spec, active FROM meeting_series WHERE municipality_id = $1 ORDER BY id",
        )
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(series_from_row).collect()
    }

    pub async fn get_series(&self, m: MunicipalityId, id: i64) -> Result<SeriesRow> {
        let row = sqlx::query(
            "SELECT id, code, title, kind, spec, active FROM meeting_series WHERE municipality_id = $1 AND id = $2",
        )
        .bind(m.0)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(series_from_row)
            .transpose()?
            .ok_or_else(series_not_found)
    }
}

/// Checks the codes a series refers to (people, organisations, venues, other series).
async fn series_references(
    conn: &mut sqlx::AnyConnection,
    m: MunicipalityId,
    v: &ValidSeries,
) -> Result<Vec<FieldError>> {
    let mut errors = Vec::new();
    async fn exists(
        conn: &mut sqlx::AnyConnection,
        table: &str,
        m: MunicipalityId,
        code: &str,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} WHERE municipality_id = $1 AND code = $2"
        ))
        .bind(m.0)
        .bind(code)
        .fetch_one(&mut *conn)
        .await?;
        Ok(n > 0)
    }
    let s = &v.spec;
    let checks: Vec<(&str, &str, &str, &str, Vec<&String>)> = vec![
        (
            "required_people",
            "people",
            "職員",
            "person",
            s.required_people.iter().collect(),
        ),
        (
            "optional_people",
            "people",
            "職員",
            "person",
            s.optional_people.iter().collect(),
        ),
        (
            "lecturers",
            "people",
            "人",
            "person",
            s.lecturers.iter().flat_map(|l| l.people.iter()).collect(),
        ),
        (
            "hosts",
            "organisations",
            "組織",
            "organisation",
            s.hosts.iter().collect(),
        ),
        (
            "venues",
            "venues",
            "会場",
            "venue",
            s.venues.iter().collect(),
        ),
        (
            "held_by.organisation",
            "organisations",
            "主催機関の組織",
            "host organisation",
            s.held_by
                .iter()
                .map(|h| &h.organisation)
                .filter(|c| !c.is_empty())
                .collect(),
        ),
        (
            "organisations",
            "organisations",
            "組織",
            "organisation",
            s.organisations
                .iter()
                .flat_map(|a| a.codes.iter())
                .collect(),
        ),
        (
            "before",
            "meeting_series",
            "会議シリーズ",
            "meeting series",
            s.before.iter().map(|b| &b.series).collect(),
        ),
    ];
    for (field, table, ja, en, codes) in checks {
        for code in codes {
            if !exists(conn, table, m, code.trim()).await? {
                errors.push(FieldError::new(
                        field,
                        format!("{ja}コード「{code}」が見つかりません。先に登録するか、コードを確かめてください"),
                        format!("no {en} with code \"{code}\"; register it first or check the code"),
                    ));
            }
        }
    }
    Ok(errors)
}

impl Db {
    /// Creates (`id` None) or updates a series, with its audit row.
    pub async fn save_series(&self, user: &User, id: Option<i64>, v: &ValidSeries) -> Result<i64> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let errors = series_references(&mut tx, m, v).await?;
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let spec = serde_json::to_string(&v.spec).map_err(|e| Error::Internal(e.into()))?;
        let t = now();
        let saved = match id {
            None => sqlx::query_scalar(
                "INSERT INTO meeting_series (municipality_id, code, title, kind, spec, active, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING id",
            )
            .bind(m.0)
            .bind(&v.spec.code)
            .bind(&v.spec.title)
            .bind(kind_slug(v.spec.kind))
            .bind(&spec)
            .bind(&t)
            .fetch_one(&mut *tx)
            .await?,
            Some(id) => {
                let n = sqlx::query(
                    "UPDATE meeting_series SET code = $3, title = $4, kind = $5, spec = $6, updated_at = $7
                     WHERE municipality_id = $1 AND id = $2",
                )
                .bind(m.0)
                .bind(id)
                .bind(&v.spec.code)
                .bind(&v.spec.title)
                .bind(kind_slug(v.spec.kind))
                .bind(&spec)
                .bind(&t)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(series_not_found());
                }
                id
            }
        };
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            if id.is_some() { "update" } else { "create" },
            "meeting_series",
            &saved.to_string(),
            &v.spec.code,
        )
        .await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Switches a series on or off for planning (published occurrences stay).
    pub async fn set_series_active(&self, user: &User, id: i64, active: bool) -> Result<()> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE meeting_series SET active = $3, updated_at = $4 WHERE municipality_id = $1 AND id = $2")
            .bind(m.0)
            .bind(id)
            .bind(active as i64)
            .bind(now())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(series_not_found());
        }
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            if active { "activate" } else { "deactivate" },
            "meeting_series",
            &id.to_string(),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds the series of a preset whose codes are not taken yet; returns how many were added.
    pub async fn add_series(
        &self,
        user: &User,
        specs: &[ValidSeries],
        what: &str,
    ) -> Result<usize> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let added = insert_series(&mut tx, m, specs).await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "create",
            "meeting_series",
            "",
            &format!("{what}: {added} series"),
        )
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Gives the existing series with these codes the cadence of `specs` (a preset applied
    /// for another contract year), and the preset's host where it says the series is held by
    /// another body and the stored one names none, keeping everything else a coordinator
    /// edited. Returns how many changed.
    pub async fn set_cadences(
        &self,
        user: &User,
        specs: &[ValidSeries],
        what: &str,
    ) -> Result<usize> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let mut changed = Vec::new();
        for v in specs {
            let row = sqlx::query(
                "SELECT id, spec FROM meeting_series WHERE municipality_id = $1 AND code = $2",
            )
            .bind(m.0)
            .bind(&v.spec.code)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { continue };
            let id: i64 = row.try_get("id")?;
            let mut stored: serde_json::Value =
                serde_json::from_str(&row.try_get::<String, _>("spec")?)
                    .map_err(|e| Error::Internal(e.into()))?;
            let cadence =
                serde_json::to_value(&v.spec.cadence).map_err(|e| Error::Internal(e.into()))?;
            // A series the preset now says is held by another body (Meguro's TRANSITION and
            // KIKAN-LIAISON) becomes so, unless the coordinator named its host already.
            let held_by = match (&v.spec.held_by, stored.get("held_by")) {
                (Some(h), None | Some(serde_json::Value::Null)) => {
                    Some(serde_json::to_value(h).map_err(|e| Error::Internal(e.into()))?)
                }
                _ => None,
            };
            if stored["cadence"] == cadence && held_by.is_none() {
                continue;
            }
            stored["cadence"] = cadence;
            if let Some(h) = held_by {
                stored["held_by"] = h;
            }
            sqlx::query(
                "UPDATE meeting_series SET spec = $3, updated_at = $4 WHERE municipality_id = $1 AND id = $2",
            )
            .bind(m.0)
            .bind(id)
            .bind(stored.to_string())
            .bind(now())
            .execute(&mut *tx)
            .await?;
            changed.push(v.spec.code.clone());
        }
        if !changed.is_empty() {
            super::audit::record(
                &mut tx,
                Some(m),
                Some(user.id),
                "update",
                "meeting_series",
                "",
                &format!("{what}: cadence (and host) of {}", changed.join(", ")),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(changed.len())
    }

    /// What a meeting was before the move that gave it `sequence` (date, start, end, place).
    pub async fn occurrence_before(
        &self,
        m: MunicipalityId,
        occurrence: i64,
        sequence: i64,
    ) -> Result<Option<(String, String, String, String)>> {
        let row = sqlx::query(
            "SELECT date, start_time, end_time, place FROM occurrence_changes
             WHERE municipality_id = $1 AND occurrence_id = $2 AND sequence = $3",
        )
        .bind(m.0)
        .bind(occurrence)
        .bind(sequence)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok((
                r.try_get("date")?,
                r.try_get("start_time")?,
                r.try_get("end_time")?,
                r.try_get("place")?,
            ))
        })
        .transpose()
    }

    /// Everything the instance builder reads, for the active series.
    /// The municipality's organisations as planning and the indicators read them.
    pub async fn organisation_snapshot(&self, m: MunicipalityId) -> Result<Vec<SnapOrganisation>> {
        Ok(self
            .list_records(m, MasterKind::Organisations, "")
            .await?
            .into_iter()
            .filter_map(|r| match r {
                Record::Organisation(o) => Some(SnapOrganisation {
                    id: o.id,
                    code: o.code,
                    name: o.name,
                    kind: o.kind.slug().to_string(),
                    ward: o.ward,
                }),
                _ => None,
            })
            .collect())
    }

    pub async fn planning_snapshot(&self, m: MunicipalityId) -> Result<Snapshot> {
        let mut snap = Snapshot {
            organisations: self.organisation_snapshot(m).await?,
            ..Snapshot::default()
        };
        let absence_rows = sqlx::query(
            "SELECT person_id, from_date, to_date FROM absences WHERE municipality_id = $1",
        )
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        let mut absences: HashMap<i64, Vec<renkei_solver::schedule::model::DateRange>> =
            HashMap::new();
        for r in &absence_rows {
            absences.entry(r.try_get("person_id")?).or_default().push(
                renkei_solver::schedule::model::DateRange {
                    from: date(&r.try_get::<String, _>("from_date")?)?,
                    to: date(&r.try_get::<String, _>("to_date")?)?,
                },
            );
        }
        // A required invitee who declined a published meeting cannot come that day: a re-plan
        // moves the meeting rather than keep it without them.
        let declined = sqlx::query(
            "SELECT aa.person_id, o.date FROM attendance_answers aa
             JOIN occurrences o ON o.id = aa.occurrence_id
             JOIN occurrence_attendees a ON a.occurrence_id = aa.occurrence_id AND a.person_id = aa.person_id
             WHERE o.municipality_id = $1 AND o.status = 'scheduled' AND aa.answer = 'decline' AND a.required = 1",
        )
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        // ... and so does a decline whose meeting has moved since (its answer was cleared).
        let kept =
            sqlx::query("SELECT person_id, date FROM declined_dates WHERE municipality_id = $1")
                .bind(m.0)
                .fetch_all(&self.pool)
                .await?;
        for r in declined.iter().chain(&kept) {
            let day = date(&r.try_get::<String, _>("date")?)?;
            absences
                .entry(r.try_get("person_id")?)
                .or_default()
                .push(renkei_solver::schedule::model::DateRange { from: day, to: day });
        }
        for r in self.list_records(m, MasterKind::People, "").await? {
            if let Record::Person(p) = r {
                snap.people.push(SnapPerson {
                    id: p.id,
                    code: p.code,
                    name: p.name,
                    organisation_id: p.organisation_id,
                    roles: p.roles,
                    part_time_days: p
                        .part_time_days
                        .iter()
                        .filter_map(|d| parse_weekday(d))
                        .collect(),
                    absences: absences.remove(&p.id).unwrap_or_default(),
                    // '' is the municipality's hours (stored text was checked on the way in).
                    working_hours: match p.working_hours.trim() {
                        "" => None,
                        text => text.parse().ok(),
                    },
                    max_meetings_per_day: p.max_meetings_per_day,
                    max_minutes_per_day: p.max_hours_per_day.map(|h| (h * 60.0).round() as u32),
                    qualifications: p.qualifications,
                    external: p.external,
                    // Checked on the way in; '' is no window.
                    availability: crate::master::parse_availability(
                        "availability",
                        &p.availability,
                    )
                    .unwrap_or_default(),
                });
            }
        }
        let closure_rows =
            sqlx::query("SELECT venue_id, date FROM closures WHERE municipality_id = $1")
                .bind(m.0)
                .fetch_all(&self.pool)
                .await?;
        let mut venue_closures: HashMap<i64, Vec<NaiveDate>> = HashMap::new();
        for r in &closure_rows {
            let d = date(&r.try_get::<String, _>("date")?)?;
            match r.try_get::<Option<i64>, _>("venue_id")? {
                None => snap.closures.push(d),
                Some(v) => venue_closures.entry(v).or_default().push(d),
            }
        }
        for r in self.list_records(m, MasterKind::Venues, "").await? {
            if let Record::Venue(v) = r {
                snap.venues.push(SnapVenue {
                    id: v.id,
                    hours: v.opening_hours.parse().unwrap_or_default(),
                    closures: venue_closures.remove(&v.id).unwrap_or_default(),
                    code: v.code,
                    name: v.name,
                    ward: v.ward,
                });
            }
        }
        for r in self.list_records(m, MasterKind::Rooms, "").await? {
            if let Record::Room(r) = r {
                snap.rooms.push(SnapRoom {
                    id: r.id,
                    venue_id: r.venue_id,
                    name: r.name,
                    capacity: r.capacity.max(0) as u32,
                    wheelchair: r.wheelchair,
                    hearing_loop: r.hearing_loop,
                });
            }
        }
        for s in self.list_series(m).await?.into_iter().filter(|s| s.active) {
            // A stored spec always parsed when it was saved; one that no longer does (a rule
            // tightened) is left out rather than planned wrongly.
            if let Ok(valid) = s.spec.parse() {
                snap.series.push(SnapSeries { id: s.id, valid });
            }
        }
        let attendee_rows = sqlx::query(
            "SELECT a.occurrence_id, a.person_id FROM occurrence_attendees a JOIN occurrences o ON o.id = a.occurrence_id
             WHERE o.municipality_id = $1 AND o.status = 'scheduled'",
        )
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        let mut attendees: HashMap<i64, Vec<i64>> = HashMap::new();
        for r in &attendee_rows {
            attendees
                .entry(r.try_get("occurrence_id")?)
                .or_default()
                .push(r.try_get("person_id")?);
        }
        let rows = sqlx::query(
            "SELECT id, series_key, date, start_time, end_time, room_id, place_organisation_id, pin, held_by, title FROM occurrences
             WHERE municipality_id = $1 AND status = 'scheduled' ORDER BY date, start_time",
        )
        .bind(m.0)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            snap.published.push(SnapOccurrence {
                id,
                series_key: r.try_get("series_key")?,
                date: date(&r.try_get::<String, _>("date")?)?,
                start: time(&r.try_get::<String, _>("start_time")?)?,
                end: time(&r.try_get::<String, _>("end_time")?)?,
                room_id: r.try_get("room_id")?,
                place_organisation_id: r.try_get("place_organisation_id")?,
                pin: parse_pin(&r.try_get::<String, _>("pin")?).unwrap_or_default(),
                attendees: attendees.remove(&id).unwrap_or_default(),
                held: !r.try_get::<String, _>("held_by")?.is_empty(),
                title: r.try_get("title")?,
            });
        }
        Ok(snap)
    }

    pub(super) async fn latest_publication(
        &self,
        conn: &mut sqlx::AnyConnection,
        m: MunicipalityId,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MAX(id) FROM publications WHERE municipality_id = $1",
        )
        .bind(m.0)
        .fetch_one(&mut *conn)
        .await?
        .unwrap_or(0))
    }

    /// Stores a planning run and enqueues its job, in one transaction.
    pub async fn create_plan_run(&self, user: &User, input: &RunInput<'_>) -> Result<PlanRun> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let base = self.latest_publication(&mut tx, m).await?;
        let t = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO plan_runs (municipality_id, method, period_from, period_to, label, instance, mapping, notes, base_publication, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(m.0)
        .bind(input.method)
        .bind(input.period.0.to_string())
        .bind(input.period.1.to_string())
        .bind(input.label)
        .bind(input.instance.to_string())
        .bind(serde_json::to_string(input.series).map_err(|e| Error::Internal(e.into()))?)
        .bind(serde_json::to_string(input.notes).map_err(|e| Error::Internal(e.into()))?)
        .bind(base)
        .bind(user.id)
        .bind(&t)
        .fetch_one(&mut *tx)
        .await?;
        let mut job = NewJob::new(
            PLAN_JOB,
            serde_json::json!({ "plan_run": id, "method": input.method }),
        );
        job.municipality = Some(m);
        // A solve that fails is not worth repeating five times.
        job.max_attempts = 2;
        let job_id = enqueue(&mut tx, &job).await?;
        sqlx::query("UPDATE plan_runs SET job_id = $2 WHERE id = $1")
            .bind(id)
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "create",
            "plan_run",
            &id.to_string(),
            input.label,
        )
        .await?;
        tx.commit().await?;
        self.plan_run(m, id).await
    }

    pub async fn plan_run(&self, m: MunicipalityId, id: i64) -> Result<PlanRun> {
        let row = sqlx::query(&format!("{PLAN_RUN_SELECT} AND r.id = $2"))
            .bind(m.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(plan_run_from_row)
            .transpose()?
            .ok_or_else(|| Error::not_found("計画", "plan run"))
    }

    /// Planning runs, newest first: `limit` after `offset`, and how many there are.
    pub async fn list_plan_runs(
        &self,
        m: MunicipalityId,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<PlanRun>, i64)> {
        let rows = sqlx::query(&format!(
            "{PLAN_RUN_SELECT} ORDER BY r.id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(m.0)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM plan_runs WHERE municipality_id = $1 AND method <> 'held_entry'",
        )
        .bind(m.0)
        .fetch_one(&self.pool)
        .await?;
        Ok((
            rows.iter().map(plan_run_from_row).collect::<Result<_>>()?,
            total,
        ))
    }

    /// The stored instance and series map of a run (for the job and for publishing).
    pub async fn plan_run_input(
        &self,
        id: i64,
    ) -> Result<(MunicipalityId, serde_json::Value, Vec<SeriesRef>)> {
        let row =
            sqlx::query("SELECT municipality_id, instance, mapping FROM plan_runs WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| Error::not_found("計画", "plan run"))?;
        let instance: String = row.try_get("instance")?;
        let mapping: String = row.try_get("mapping")?;
        Ok((
            MunicipalityId(row.try_get("municipality_id")?),
            serde_json::from_str(&instance).map_err(|e| Error::Internal(e.into()))?,
            serde_json::from_str(&mapping).map_err(|e| Error::Internal(e.into()))?,
        ))
    }

    /// Stores the run's result; only the worker holding the job's lease may.
    pub async fn store_plan_result(
        &self,
        run: i64,
        job: i64,
        worker: &str,
        column: PlanColumn,
        value: &serde_json::Value,
    ) -> Result<bool> {
        let col = match column {
            PlanColumn::BestSoFar => "best_so_far",
            PlanColumn::Result => "result",
        };
        let n = sqlx::query(&format!(
            "UPDATE plan_runs SET {col} = $1 WHERE id = $2 AND job_id = $3
             AND EXISTS (SELECT 1 FROM jobs WHERE id = $3 AND lease_owner = $4 AND status = 'running')"
        ))
        .bind(value.to_string())
        .bind(run)
        .bind(job)
        .bind(worker)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Publishes a finished, valid run: see the module doc.
    pub async fn publish_plan_run(&self, user: &User, id: i64) -> Result<PublishSummary> {
        self.publish_or_preview(user, id, true).await
    }

    /// What publishing `id` now would do and send, computed by publishing it in a transaction
    /// that is rolled back: the counts are those of the very code that publishes (the
    /// confirmation step before publishing shows them).
    pub async fn preview_publish(&self, user: &User, id: i64) -> Result<PublishSummary> {
        self.publish_or_preview(user, id, false).await
    }

    async fn publish_or_preview(
        &self,
        user: &User,
        id: i64,
        commit: bool,
    ) -> Result<PublishSummary> {
        let m = user.municipality_id;
        let mut tally = super::notices::QueuedTally::default();
        let run = self.plan_run(m, id).await?;
        let (_, _, refs) = self.plan_run_input(id).await?;
        let occurrences = publishable(&run)?;
        let period = (date(&run.period_from)?, date(&run.period_to)?);
        let mut tx = self.begin_write().await?;
        let published: Option<String> =
            sqlx::query_scalar("SELECT published_at FROM plan_runs WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if published.is_some() {
            return Err(Error::Conflict(Msg::new(
                "この計画は公開済みです",
                "this plan has already been published",
            )));
        }
        if self.latest_publication(&mut tx, m).await? != run.base_publication {
            return Err(Error::Conflict(Msg::new(
                "この計画の作成後に別の計画が公開されたか、他機関主催の会議の日程が登録・変更されました。最新のカレンダーに対してもう一度計画してください",
                "another plan was published, or a date of a meeting held by another body was entered or changed, after this plan was made; plan again against the current calendar",
            )));
        }
        let t = now();
        let publication: i64 = sqlx::query_scalar(
            "INSERT INTO publications (municipality_id, plan_run_id, published_by, published_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(m.0)
        .bind(id)
        .bind(user.id)
        .bind(&t)
        .fetch_one(&mut *tx)
        .await?;
        let mut summary = PublishSummary {
            publication_id: publication,
            ..Default::default()
        };
        // New occurrences by series key.
        let mut planned: BTreeMap<&str, Vec<&Occurrence>> = BTreeMap::new();
        for o in &occurrences {
            let r = refs.get(o.series as usize).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("plan names unknown series {}", o.series))
            })?;
            planned.entry(r.key.as_str()).or_default().push(o);
        }
        for (sid, r) in refs.iter().enumerate() {
            let rows = sqlx::query(
                "SELECT id, date, start_time, room_id, place_organisation_id FROM occurrences
                 WHERE municipality_id = $1 AND series_key = $2 AND status = 'scheduled' AND date >= $3 AND date <= $4
                 ORDER BY date, start_time",
            )
            .bind(m.0)
            .bind(&r.key)
            .bind(period.0.to_string())
            .bind(period.1.to_string())
            .fetch_all(&mut *tx)
            .await?;
            let mut old: Vec<OldOccurrence> = Vec::new();
            for row in &rows {
                old.push((
                    row.try_get("id")?,
                    date(&row.try_get::<String, _>("date")?)?,
                    time(&row.try_get::<String, _>("start_time")?)?,
                    crate::meetings::build::room_of(
                        row.try_get("room_id")?,
                        row.try_get("place_organisation_id")?,
                    ),
                ));
            }
            let mut new: Vec<&Occurrence> = planned.remove(r.key.as_str()).unwrap_or_default();
            new.retain(|o| o.series as usize == sid);
            // Pair like `repair::changes`: identical first, then same date, then by order.
            let mut pairs: Vec<(Option<i64>, Option<&Occurrence>)> = Vec::new();
            pair_off(&mut pairs, &mut old, &mut new, |o, n| {
                o.1 == n.date && o.2 == n.start && o.3 == Some(n.room)
            });
            pair_off(&mut pairs, &mut old, &mut new, |o, n| o.1 == n.date);
            pair_off(&mut pairs, &mut old, &mut new, |_, _| true);
            for o in old {
                pairs.push((Some(o.0), None));
            }
            for n in new {
                pairs.push((None, Some(n)));
            }
            for (old_id, new_occ) in pairs {
                match (old_id, new_occ) {
                    (Some(old_id), Some(n)) => {
                        // The meeting first, then its answers: an answer being written now
                        // either lands before this and is cleared below, or waits and then
                        // finds the meeting changed (`notices::lock_occurrence`).
                        super::notices::lock_occurrence(&mut tx, m, old_id).await?;
                        let (room, org) = place_of(n.room);
                        // Moved to another day or time: the invitees are asked again (the
                        // update notice), so their answers for the old time no longer count.
                        // The audit log keeps every answer given, and a required invitee's
                        // decline keeps its day unavailable to them in later plans.
                        sqlx::query(
                            "INSERT INTO declined_dates (municipality_id, person_id, date)
                             SELECT o.municipality_id, aa.person_id, o.date FROM attendance_answers aa
                             JOIN occurrences o ON o.id = aa.occurrence_id
                             JOIN occurrence_attendees a ON a.occurrence_id = aa.occurrence_id AND a.person_id = aa.person_id
                             WHERE aa.occurrence_id = $1 AND aa.answer = 'decline' AND a.required = 1
                               AND (o.date <> $2 OR o.start_time <> $3)
                             ON CONFLICT DO NOTHING",
                        )
                        .bind(old_id)
                        .bind(n.date.to_string())
                        .bind(n.start.format("%H:%M").to_string())
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "DELETE FROM attendance_answers WHERE occurrence_id = $1 AND EXISTS (
                                 SELECT 1 FROM occurrences o WHERE o.id = $1 AND (o.date <> $2 OR o.start_time <> $3))",
                        )
                        .bind(old_id)
                        .bind(n.date.to_string())
                        .bind(n.start.format("%H:%M").to_string())
                        .execute(&mut *tx)
                        .await?;
                        // What it was, for the update mail's before → after.
                        let before = sqlx::query(
                            "SELECT o.date, o.start_time, o.end_time, o.sequence,
                                    COALESCE(v.name || ' ' || r.name, g.name, '') AS place
                             FROM occurrences o
                             LEFT JOIN rooms r ON r.id = o.room_id
                             LEFT JOIN venues v ON v.id = r.venue_id
                             LEFT JOIN organisations g ON g.id = o.place_organisation_id
                             WHERE o.municipality_id = $1 AND o.id = $2",
                        )
                        .bind(m.0)
                        .bind(old_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        let changed = sqlx::query(
                            "UPDATE occurrences SET date = $3, start_time = $4, end_time = $5, room_id = $6, place_organisation_id = $7,
                                 sequence = sequence + 1, publication_id = $8, updated_at = $9
                             WHERE municipality_id = $1 AND id = $2
                               AND NOT (date = $3 AND start_time = $4 AND end_time = $5
                                        AND COALESCE(room_id, 0) = COALESCE($6, 0) AND COALESCE(place_organisation_id, 0) = COALESCE($7, 0))",
                        )
                        .bind(m.0)
                        .bind(old_id)
                        .bind(n.date.to_string())
                        .bind(n.start.format("%H:%M").to_string())
                        .bind(n.end.format("%H:%M").to_string())
                        .bind(room)
                        .bind(org)
                        .bind(publication)
                        .bind(&t)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                        write_attendees(&mut tx, old_id, r, n).await?;
                        if changed > 0 {
                            sqlx::query(
                                "INSERT INTO occurrence_changes (municipality_id, occurrence_id, sequence, date, start_time,
                                     end_time, place, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            )
                            .bind(m.0)
                            .bind(old_id)
                            .bind(before.try_get::<i64, _>("sequence")? + 1)
                            .bind(before.try_get::<String, _>("date")?)
                            .bind(before.try_get::<String, _>("start_time")?)
                            .bind(before.try_get::<String, _>("end_time")?)
                            .bind(before.try_get::<String, _>("place")?)
                            .bind(&t)
                            .execute(&mut *tx)
                            .await?;
                            summary.moved += 1;
                            summary.notices += notify(
                                &mut tx,
                                m,
                                old_id,
                                NoticeKind::Update,
                                Audience::All,
                                &mut tally,
                            )
                            .await?;
                        } else {
                            summary.unchanged += 1;
                            // Invitees added to an unchanged meeting get their invitation.
                            summary.notices += notify(
                                &mut tx,
                                m,
                                old_id,
                                NoticeKind::Invitation,
                                Audience::NotYetInvited,
                                &mut tally,
                            )
                            .await?;
                        }
                    }
                    (Some(old_id), None) => {
                        sqlx::query(
                            "UPDATE occurrences SET status = 'cancelled', sequence = sequence + 1, publication_id = $3, updated_at = $4
                             WHERE municipality_id = $1 AND id = $2",
                        )
                        .bind(m.0)
                        .bind(old_id)
                        .bind(publication)
                        .bind(&t)
                        .execute(&mut *tx)
                        .await?;
                        summary.cancelled += 1;
                        summary.notices += notify(
                            &mut tx,
                            m,
                            old_id,
                            NoticeKind::Cancellation,
                            Audience::All,
                            &mut tally,
                        )
                        .await?;
                    }
                    (None, Some(n)) => {
                        let (room, org) = place_of(n.room);
                        let uid = format!("{}@renkei", crate::auth::random_token(12));
                        let new_id: i64 = sqlx::query_scalar(
                            "INSERT INTO occurrences (municipality_id, uid, series_id, series_key, title, title_en, kind, ward, date, start_time, end_time,
                                 room_id, place_organisation_id, status, pin, sequence, publication_id, created_at, updated_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'scheduled', 'none', 0, $14, $15, $15) RETURNING id",
                        )
                        .bind(m.0)
                        .bind(&uid)
                        .bind(r.series_id)
                        .bind(&r.key)
                        .bind(&r.title)
                        .bind(&r.title_en)
                        .bind(kind_slug(r.kind))
                        .bind(&r.ward)
                        .bind(n.date.to_string())
                        .bind(n.start.format("%H:%M").to_string())
                        .bind(n.end.format("%H:%M").to_string())
                        .bind(room)
                        .bind(org)
                        .bind(publication)
                        .bind(&t)
                        .fetch_one(&mut *tx)
                        .await?;
                        write_attendees(&mut tx, new_id, r, n).await?;
                        summary.added += 1;
                        summary.notices += notify(
                            &mut tx,
                            m,
                            new_id,
                            NoticeKind::Invitation,
                            Audience::All,
                            &mut tally,
                        )
                        .await?;
                    }
                    (None, None) => {}
                }
            }
        }
        sqlx::query("UPDATE publications SET added = $2, moved = $3, cancelled = $4 WHERE id = $1")
            .bind(publication)
            .bind(summary.added)
            .bind(summary.moved)
            .bind(summary.cancelled)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE plan_runs SET published_at = $2 WHERE id = $1")
            .bind(id)
            .bind(&t)
            .execute(&mut *tx)
            .await?;
        // Published meetings with an external lecturer get their booking tasks (講師・SVの手配).
        super::booking::sync_tasks(&mut tx, m, Some(user.id)).await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "publish",
            "plan_run",
            &id.to_string(),
            &format!(
                "added {} moved {} cancelled {}",
                summary.added, summary.moved, summary.cancelled
            ),
        )
        .await?;
        summary.invitations = tally.invitations;
        summary.updates = tally.updates;
        summary.cancellations = tally.cancellations;
        summary.recipients = tally.recipients.len() as i64;
        if commit {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(summary)
    }

    /// Pins a published occurrence (entirely or its date) or releases it.
    pub async fn pin_occurrence(&self, user: &User, id: i64, pin: Pin) -> Result<()> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE occurrences SET pin = $3, updated_at = $4 WHERE municipality_id = $1 AND id = $2 AND status = 'scheduled'")
            .bind(m.0)
            .bind(id)
            .bind(pin_slug(pin))
            .bind(now())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::not_found("予定", "occurrence"));
        }
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "pin",
            "occurrence",
            &id.to_string(),
            pin_slug(pin),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The published calendar, with places and attendees resolved.
    pub async fn occurrences(
        &self,
        m: MunicipalityId,
        f: &OccurrenceFilter,
    ) -> Result<Vec<OccurrenceRow>> {
        let rows = sqlx::query(
            "SELECT o.id, o.uid, o.series_id, o.series_key, o.title, o.title_en, o.kind, o.ward, o.date, o.start_time, o.end_time,
                    o.room_id, o.place_organisation_id, o.status, o.pin, o.sequence, o.updated_at,
                    o.held_by, o.host_organisation_id,
                    COALESCE(r.name, po.name, '') AS room_name,
                    COALESCE(v.name, po.name, NULLIF(o.place, ''), ho.name, '') AS venue_name,
                    COALESCE(v.address, po.address, CASE WHEN o.place = '' THEN ho.address END, '') AS venue_address
             FROM occurrences o
             LEFT JOIN rooms r ON r.id = o.room_id
             LEFT JOIN venues v ON v.id = r.venue_id
             LEFT JOIN organisations po ON po.id = o.place_organisation_id
             LEFT JOIN organisations ho ON ho.id = o.host_organisation_id
             WHERE o.municipality_id = $1
               AND ($2 = '' OR o.date >= $2) AND ($3 = '' OR o.date <= $3)
               AND ($4 = 0 OR o.room_id = $4)
               AND ($5 = '' OR o.ward = $5)
               AND ($6 = 1 OR o.status = 'scheduled')
               AND ($7 = 0 OR EXISTS (SELECT 1 FROM occurrence_attendees a WHERE a.occurrence_id = o.id AND a.person_id = $7))
               AND ($8 = 0 OR o.place_organisation_id = $8 OR EXISTS (
                    SELECT 1 FROM occurrence_attendees a JOIN people p ON p.id = a.person_id
                    WHERE a.occurrence_id = o.id AND p.organisation_id = $8))
               AND ($9 = 0 OR o.id = $9)
               AND ($10 = 0 OR o.series_id = $10)
             ORDER BY o.date, o.start_time, o.id",
        )
        .bind(m.0)
        .bind(f.from.map(|d| d.to_string()).unwrap_or_default())
        .bind(f.to.map(|d| d.to_string()).unwrap_or_default())
        .bind(f.room_id.unwrap_or(0))
        .bind(f.ward.clone().unwrap_or_default())
        .bind(f.include_cancelled as i64)
        .bind(f.person_id.unwrap_or(0))
        .bind(f.organisation_id.unwrap_or(0))
        .bind(f.id.unwrap_or(0))
        .bind(f.series_id.unwrap_or(0))
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<OccurrenceRow> = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(OccurrenceRow {
                id: r.try_get("id")?,
                uid: r.try_get("uid")?,
                series_id: r.try_get("series_id")?,
                series_key: r.try_get("series_key")?,
                title: r.try_get("title")?,
                title_en: r.try_get("title_en")?,
                kind: r.try_get("kind")?,
                ward: r.try_get("ward")?,
                date: r.try_get("date")?,
                start: r.try_get("start_time")?,
                end: r.try_get("end_time")?,
                room_id: r.try_get("room_id")?,
                room_name: r.try_get("room_name")?,
                venue_name: r.try_get("venue_name")?,
                venue_address: r.try_get("venue_address")?,
                place_organisation_id: r.try_get("place_organisation_id")?,
                status: r.try_get("status")?,
                pin: r.try_get("pin")?,
                sequence: r.try_get("sequence")?,
                updated_at: r.try_get("updated_at")?,
                attendees: Vec::new(),
                held_by: r.try_get("held_by")?,
                host_organisation_id: r.try_get("host_organisation_id")?,
            });
        }
        if out.is_empty() {
            return Ok(out);
        }
        let (lo, hi) = (
            out.first().map(|o| o.date.clone()).unwrap_or_default(),
            out.last().map(|o| o.date.clone()).unwrap_or_default(),
        );
        let rows = sqlx::query(
            "SELECT a.occurrence_id, a.person_id, a.required, p.name, p.email, p.organisation_id, COALESCE(org.name, '') AS organisation_name
             FROM occurrence_attendees a JOIN occurrences o ON o.id = a.occurrence_id JOIN people p ON p.id = a.person_id
             LEFT JOIN organisations org ON org.id = p.organisation_id
             WHERE o.municipality_id = $1 AND o.date >= $2 AND o.date <= $3
             ORDER BY a.required DESC, p.kana, p.code",
        )
        .bind(m.0)
        .bind(lo)
        .bind(hi)
        .fetch_all(&self.pool)
        .await?;
        let index: HashMap<i64, usize> = out.iter().enumerate().map(|(i, o)| (o.id, i)).collect();
        for r in &rows {
            let oid: i64 = r.try_get("occurrence_id")?;
            if let Some(&i) = index.get(&oid) {
                out[i].attendees.push(Attendee {
                    person_id: r.try_get("person_id")?,
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                    organisation_id: r.try_get("organisation_id")?,
                    organisation_name: r.try_get("organisation_name")?,
                    required: r.try_get::<i64, _>("required")? != 0,
                });
            }
        }
        Ok(out)
    }

    /// One published occurrence (cancelled ones too) with its attendees.
    pub async fn occurrence(&self, m: MunicipalityId, id: i64) -> Result<OccurrenceRow> {
        self.occurrences(
            m,
            &OccurrenceFilter {
                id: Some(id),
                include_cancelled: true,
                ..Default::default()
            },
        )
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("会議", "meeting"))
    }

    /// The municipality's secret for calendar-feed links, created on first use.
    pub async fn feed_secret(&self, m: MunicipalityId) -> Result<String> {
        if let Some(s) = sqlx::query_scalar::<_, String>(
            "SELECT secret FROM feed_keys WHERE municipality_id = $1",
        )
        .bind(m.0)
        .fetch_optional(&self.pool)
        .await?
        {
            return Ok(s);
        }
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO feed_keys (municipality_id, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (municipality_id) DO NOTHING")
            .bind(m.0)
            .bind(crate::auth::random_token(24))
            .bind(now())
            .execute(&mut *tx)
            .await?;
        let s = sqlx::query_scalar("SELECT secret FROM feed_keys WHERE municipality_id = $1")
            .bind(m.0)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(s)
    }
}

type OldOccurrence = (i64, NaiveDate, NaiveTime, Option<u32>);

/// Moves the first matching old/new pairs (in order) from `old` and `new` into `pairs`.
fn pair_off<'a>(
    pairs: &mut Vec<(Option<i64>, Option<&'a Occurrence>)>,
    old: &mut Vec<OldOccurrence>,
    new: &mut Vec<&'a Occurrence>,
    matches: impl Fn(&OldOccurrence, &Occurrence) -> bool,
) {
    let mut i = 0;
    while i < old.len() {
        if let Some(j) = new.iter().position(|n| matches(&old[i], n)) {
            pairs.push((Some(old[i].0), Some(new.remove(j))));
            old.remove(i);
        } else {
            i += 1;
        }
    }
}

/// Inserts the series whose codes are not taken yet (in the caller's transaction); references
/// between them (precedence) are checked once all are in. Returns how many were added.
pub(crate) async fn insert_series(
    conn: &mut sqlx::AnyConnection,
    m: MunicipalityId,
    specs: &[ValidSeries],
) -> Result<usize> {
    let t = now();
    let mut added = 0;
    for v in specs {
        let taken: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM meeting_series WHERE municipality_id = $1 AND code = $2",
        )
        .bind(m.0)
        .bind(&v.spec.code)
        .fetch_one(&mut *conn)
        .await?;
        if taken > 0 {
            continue;
        }
        sqlx::query(
            "INSERT INTO meeting_series (municipality_id, code, title, kind, spec, active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        )
        .bind(m.0)
        .bind(&v.spec.code)
        .bind(&v.spec.title)
        .bind(kind_slug(v.spec.kind))
        .bind(serde_json::to_string(&v.spec).map_err(|e| Error::Internal(e.into()))?)
        .bind(&t)
        .execute(&mut *conn)
        .await?;
        added += 1;
    }
    for v in specs {
        let errors = series_references(conn, m, v).await?;
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
    }
    Ok(added)
}

async fn write_attendees(
    tx: &mut sqlx::AnyConnection,
    occurrence: i64,
    r: &SeriesRef,
    n: &Occurrence,
) -> Result<()> {
    // Invitees added by hand (an indicator's invitation) stay; the planned ones are rewritten.
    sqlx::query("DELETE FROM occurrence_attendees WHERE occurrence_id = $1 AND added = 0")
        .bind(occurrence)
        .execute(&mut *tx)
        .await?;
    for p in &n.attendees {
        let p = *p as i64;
        sqlx::query("INSERT INTO occurrence_attendees (occurrence_id, person_id, required) VALUES ($1, $2, $3)
                     ON CONFLICT (occurrence_id, person_id) DO UPDATE SET required = $3")
            .bind(occurrence)
            .bind(p)
            .bind(r.required.contains(&p) as i64)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// The occurrences of a run that may be published: done, with a plan that passed the validator.
fn publishable(run: &PlanRun) -> Result<Vec<Occurrence>> {
    let not_ready = || {
        Error::Conflict(Msg::new(
            "この計画はまだ公開できません（計算中、失敗、または規則を満たす日程がありません）",
            "this plan cannot be published (still running, failed, or no plan meets the rules)",
        ))
    };
    let result = run
        .result
        .as_ref()
        .filter(|_| run.status == "done")
        .ok_or_else(not_ready)?;
    if result.get("valid").and_then(|v| v.as_bool()) != Some(true) {
        return Err(not_ready());
    }
    serde_json::from_value(result["occurrences"].clone()).map_err(|e| Error::Internal(e.into()))
}

#[derive(Debug, Clone, Copy)]
pub enum PlanColumn {
    BestSoFar,
    Result,
}

/// Runs of the planner only: a date entered for a meeting held by another body is a
/// publication of its own (`HELD_ENTRY`), not a plan.
const PLAN_RUN_SELECT: &str = "SELECT r.id, r.job_id, r.method, r.period_from, r.period_to, r.label, r.notes, r.result, r.best_so_far,
        r.base_publication, r.created_at, r.published_at,
        COALESCE(j.status, 'queued') AS status, COALESCE(j.progress, 0) AS progress, COALESCE(j.progress_note, '') AS progress_note, j.last_error
    FROM plan_runs r LEFT JOIN jobs j ON j.id = r.job_id WHERE r.municipality_id = $1 AND r.method <> 'held_entry'";

fn plan_run_from_row(r: &AnyRow) -> Result<PlanRun> {
    let json = |s: Option<String>| -> Option<serde_json::Value> {
        s.and_then(|s| serde_json::from_str(&s).ok())
    };
    let notes: String = r.try_get("notes")?;
    let result = json(r.try_get("result")?);
    let plan = result.as_ref().map(|r| &r["plan"]);
    let result_method = result.as_ref().map(|r| {
        plan.and_then(|p| p["method"].as_str())
            .unwrap_or(if r["method"] == "greedy" {
                "baseline"
            } else {
                "none"
            })
            .to_string()
    });
    let result_note = plan.map(|p| p["note"].clone()).filter(|n| !n.is_null());
    Ok(PlanRun {
        id: r.try_get("id")?,
        job_id: r.try_get("job_id")?,
        method: r.try_get("method")?,
        period_from: r.try_get("period_from")?,
        period_to: r.try_get("period_to")?,
        label: r.try_get("label")?,
        status: r.try_get("status")?,
        progress: r.try_get("progress")?,
        progress_note: r.try_get("progress_note")?,
        last_error: r.try_get("last_error")?,
        notes: serde_json::from_str(&notes).unwrap_or_default(),
        result,
        best_so_far: json(r.try_get("best_so_far")?),
        result_method,
        result_note,
        base_publication: r.try_get("base_publication")?,
        created_at: r.try_get("created_at")?,
        published_at: r.try_get("published_at")?,
    })
}
