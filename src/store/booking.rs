//! Booking external lecturers and supervisors (講師・SVの手配, Meguro 002: 「外部講師について
//! は3か月前を目途に日程調整をおこなう」): one task per published meeting and external required
//! invitee, due `lead_days` (default 90) before the meeting on an open day of the
//! municipality; its status moves open → requested → confirmed / declined, by the coordinator
//! (conditional writes on the status and version read, else 409) or by the lecturer's answer
//! through their answer link; an open task that is due gets one reminder mail to the
//! coordinators (the series' host organisations and the configured contact), queued by the
//! hourly job under an idempotency key.

use chrono::{NaiveDate, Utc};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use super::calendar::business_calendar_on;
use super::tenancy::{MunicipalityId, User};
use super::{now, Db};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::master::FieldError;

/// Lead time of a booking when the series has none: about three months.
pub const DEFAULT_LEAD_DAYS: i64 = 90;

/// Where a booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Not asked yet (未依頼).
    Open,
    /// Asked, no answer yet (依頼済み).
    Requested,
    /// The lecturer said yes (承諾).
    Confirmed,
    /// The lecturer said no (辞退): find someone else or move the meeting.
    Declined,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 4] = [
        BookingStatus::Open,
        BookingStatus::Requested,
        BookingStatus::Confirmed,
        BookingStatus::Declined,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            BookingStatus::Open => "open",
            BookingStatus::Requested => "requested",
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::Declined => "declined",
        }
    }

    pub fn parse(s: &str) -> Option<BookingStatus> {
        BookingStatus::ALL
            .into_iter()
            .find(|k| k.slug() == s.trim())
    }

    pub fn label(self) -> Msg {
        match self {
            BookingStatus::Open => Msg::new("未依頼", "not asked yet"),
            BookingStatus::Requested => Msg::new("依頼済み・回答待ち", "asked, awaiting answer"),
            BookingStatus::Confirmed => Msg::new("承諾", "confirmed"),
            BookingStatus::Declined => Msg::new("辞退", "declined"),
        }
    }

    /// The changes a coordinator may make: ask (open → requested), record the answer (→
    /// confirmed / declined), or start again (→ open).
    pub fn may_become(self, to: BookingStatus) -> bool {
        use BookingStatus::*;
        match (self, to) {
            (a, b) if a == b => false,
            (Open, _) => true,
            (Requested, _) => true,
            (Confirmed, Declined | Open) => true,
            (Declined, Open) => true,
            _ => false,
        }
    }
}

/// One booking task as coordinators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookingTask {
    pub id: i64,
    pub occurrence_id: i64,
    pub title: String,
    pub title_en: String,
    /// The meeting: date (YYYY-MM-DD) and times.
    pub meeting_date: String,
    pub start: String,
    pub end: String,
    pub person_id: i64,
    pub person_name: String,
    pub person_email: String,
    /// The day to have asked by: `lead_days` before the meeting, on an open day.
    pub due_date: String,
    pub status: BookingStatus,
    pub status_label: Msg,
    /// Due and still not asked or answered.
    pub overdue: bool,
    /// Send it back with a change: a change made meanwhile is refused (409).
    pub version: i64,
    pub note: String,
    pub updated_at: String,
}

/// The day a booking is due for a meeting on `date`: `lead_days` before it, moved back to the
/// previous open day of the municipality (the answer deadline's rule).
pub fn due_date(
    calendar: &renkei_solver::calendar::BusinessCalendar,
    date: NaiveDate,
    lead_days: i64,
) -> NaiveDate {
    crate::notices::answer_deadline(calendar, date, lead_days)
}

fn today() -> NaiveDate {
    renkei_solver::calendar::jst_date(Utc::now())
}

const TASK_SELECT: &str = "SELECT t.id, t.occurrence_id, o.title, o.title_en, o.date, o.start_time, o.end_time,
        t.person_id, p.name AS person_name, p.email AS person_email, t.due_date, t.status, t.version, t.note,
        t.updated_at
     FROM booking_tasks t
     JOIN occurrences o ON o.id = t.occurrence_id
     JOIN people p ON p.id = t.person_id
     WHERE t.municipality_id = $1 AND o.status = 'scheduled'
       AND EXISTS (SELECT 1 FROM occurrence_attendees a
                   WHERE a.occurrence_id = t.occurrence_id AND a.person_id = t.person_id AND a.required = 1)";

fn task_from_row(r: &sqlx::any::AnyRow, today: NaiveDate) -> Result<BookingTask> {
    let status: String = r.try_get("status")?;
    let status = BookingStatus::parse(&status)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("stored booking status {status}")))?;
    let due_date: String = r.try_get("due_date")?;
    Ok(BookingTask {
        id: r.try_get("id")?,
        occurrence_id: r.try_get("occurrence_id")?,
        title: r.try_get("title")?,
        title_en: r.try_get("title_en")?,
        meeting_date: r.try_get("date")?,
        start: r.try_get("start_time")?,
        end: r.try_get("end_time")?,
        person_id: r.try_get("person_id")?,
        person_name: r.try_get("person_name")?,
        person_email: r.try_get("person_email")?,
        overdue: matches!(status, BookingStatus::Open | BookingStatus::Requested)
            && due_date < today.to_string(),
        due_date,
        status_label: status.label(),
        status,
        version: r.try_get("version")?,
        note: r.try_get("note")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Makes the tasks of the municipality's published future meetings up to date, in the caller's
/// transaction: a task for every external required invitee who has none, and a meeting moved
/// since its task was made gets the new due date and is asked again (open). Returns how many
/// tasks were made or changed; an audit row says so when any were.
pub async fn sync_tasks(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    user_id: Option<i64>,
) -> Result<usize> {
    let today = today();
    let rows = sqlx::query(
        "SELECT o.id, o.date, s.spec, a.person_id, t.id AS task_id, t.meeting_date, t.version
         FROM occurrences o
         JOIN meeting_series s ON s.id = o.series_id
         JOIN occurrence_attendees a ON a.occurrence_id = o.id
         JOIN people p ON p.id = a.person_id
         LEFT JOIN booking_tasks t ON t.occurrence_id = o.id AND t.person_id = a.person_id
         WHERE o.municipality_id = $1 AND o.status = 'scheduled' AND o.date >= $2
           AND a.required = 1 AND p.external = 1
         ORDER BY o.id, a.person_id",
    )
    .bind(m.0)
    .bind(today.to_string())
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let calendar = business_calendar_on(conn, m).await?;
    let t = now();
    let (mut made, mut moved) = (0usize, 0usize);
    for r in &rows {
        let occurrence: i64 = r.try_get("id")?;
        let person: i64 = r.try_get("person_id")?;
        let date_text: String = r.try_get("date")?;
        let date = super::meetings::date(&date_text)?;
        let spec: String = r.try_get("spec")?;
        let lead = serde_json::from_str::<crate::meetings::spec::SeriesSpec>(&spec)
            .map(|s| i64::from(s.lead_days))
            .unwrap_or(0);
        let lead = if lead > 0 { lead } else { DEFAULT_LEAD_DAYS };
        let due = due_date(&calendar, date, lead).to_string();
        match r.try_get::<Option<i64>, _>("task_id")? {
            None => {
                made += sqlx::query(
                    "INSERT INTO booking_tasks (municipality_id, occurrence_id, person_id, meeting_date, due_date, status,
                         created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, 'open', $6, $6)
                     ON CONFLICT (occurrence_id, person_id) DO NOTHING",
                )
                .bind(m.0)
                .bind(occurrence)
                .bind(person)
                .bind(&date_text)
                .bind(&due)
                .bind(&t)
                .execute(&mut *conn)
                .await?
                .rows_affected() as usize;
            }
            Some(task) => {
                let was: String = r.try_get("meeting_date")?;
                if was != date_text {
                    let version: i64 = r.try_get("version")?;
                    moved += sqlx::query(
                        "UPDATE booking_tasks SET meeting_date = $3, due_date = $4, status = 'open', version = version + 1,
                             updated_at = $5
                         WHERE id = $1 AND municipality_id = $2 AND version = $6",
                    )
                    .bind(task)
                    .bind(m.0)
                    .bind(&date_text)
                    .bind(&due)
                    .bind(&t)
                    .bind(version)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected() as usize;
                }
            }
        }
    }
    if made + moved > 0 {
        super::audit::record(
            conn,
            Some(m),
            user_id,
            "sync",
            "booking_task",
            "",
            &format!("made {made} moved {moved}"),
        )
        .await?;
    }
    Ok(made + moved)
}

/// The lecturer answered through their answer link (attend / decline), in the answer's
/// transaction: an open or requested task becomes confirmed or declined (a conditional write on
/// those states), with its own audit row. A deputy or an answer to a meeting without a task
/// changes nothing.
pub async fn answer_moves_task(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    occurrence: i64,
    person: i64,
    answer: &str,
) -> Result<()> {
    let to = match answer {
        "attend" => BookingStatus::Confirmed,
        "decline" => BookingStatus::Declined,
        _ => return Ok(()),
    };
    let changed = sqlx::query(
        "UPDATE booking_tasks SET status = $4, version = version + 1, updated_at = $5
         WHERE municipality_id = $1 AND occurrence_id = $2 AND person_id = $3
           AND status IN ('open', 'requested')",
    )
    .bind(m.0)
    .bind(occurrence)
    .bind(person)
    .bind(to.slug())
    .bind(now())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed > 0 {
        super::audit::record(
            conn,
            Some(m),
            None,
            "answer",
            "booking_task",
            &format!("{occurrence}/{person}"),
            &format!("{} (the lecturer's answer)", to.slug()),
        )
        .await?;
    }
    Ok(())
}

/// A coordinator's change of one task.
#[derive(Debug, Clone)]
pub struct TaskChange {
    pub status: BookingStatus,
    /// The version the coordinator saw.
    pub version: i64,
    pub note: Option<String>,
}

impl TaskChange {
    /// Parses a change as the API and the page send it.
    pub fn parse(
        status: &str,
        version: i64,
        note: Option<&str>,
    ) -> std::result::Result<TaskChange, Vec<FieldError>> {
        let mut errors = Vec::new();
        let parsed = BookingStatus::parse(status);
        if parsed.is_none() {
            errors.push(FieldError::new(
                "status",
                format!("状態「{status}」はありません（open, requested, confirmed, declined）"),
                format!("unknown status \"{status}\" (open, requested, confirmed, declined)"),
            ));
        }
        let note = note.map(|n| n.trim().to_string());
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            errors.push(FieldError::new(
                "note",
                "メモは500文字以内にしてください",
                "the note is at most 500 characters",
            ));
        }
        match parsed {
            Some(status) if errors.is_empty() => Ok(TaskChange {
                status,
                version,
                note,
            }),
            _ => Err(errors),
        }
    }
}

impl Db {
    /// The municipality's booking tasks of scheduled meetings from today on whose lecturer is
    /// still invited, overdue first, then by due date; `status` narrows to one state.
    pub async fn booking_tasks(
        &self,
        m: MunicipalityId,
        status: Option<BookingStatus>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<BookingTask>, i64)> {
        let today = today();
        let filter = if status.is_some() {
            " AND t.status = $3"
        } else {
            ""
        };
        let sql = format!(
            "{TASK_SELECT} AND o.date >= $2{filter}
             ORDER BY CASE WHEN t.status IN ('open', 'requested') AND t.due_date < $2 THEN 0 ELSE 1 END,
                      t.due_date, o.date, t.id
             LIMIT {limit} OFFSET {offset}"
        );
        let mut q = sqlx::query(&sql).bind(m.0).bind(today.to_string());
        if let Some(s) = status {
            q = q.bind(s.slug());
        }
        let rows = q.fetch_all(&self.pool).await?;
        let tasks = rows
            .iter()
            .map(|r| task_from_row(r, today))
            .collect::<Result<Vec<_>>>()?;
        let count_sql =
            format!("SELECT COUNT(*) FROM ({TASK_SELECT} AND o.date >= $2{filter}) listed");
        let mut c = sqlx::query_scalar::<_, i64>(&count_sql)
            .bind(m.0)
            .bind(today.to_string());
        if let Some(s) = status {
            c = c.bind(s.slug());
        }
        let total = c.fetch_one(&self.pool).await?;
        Ok((tasks, total))
    }

    pub async fn booking_task(&self, m: MunicipalityId, id: i64) -> Result<BookingTask> {
        let sql = format!("{TASK_SELECT} AND t.id = $2");
        let row = sqlx::query(&sql)
            .bind(m.0)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::not_found("手配タスク", "booking task"))?;
        task_from_row(&row, today())
    }

    /// Changes one task's status (and note) if it is still as the coordinator saw it: a
    /// conditional write on the status and version read (else 409, nothing written), audited in
    /// the same transaction.
    pub async fn change_booking_task(
        &self,
        user: &User,
        id: i64,
        change: &TaskChange,
    ) -> Result<BookingTask> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT status, version FROM booking_tasks WHERE municipality_id = $1 AND id = $2",
        )
        .bind(m.0)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found("手配タスク", "booking task"))?;
        let status: String = row.try_get("status")?;
        let version: i64 = row.try_get("version")?;
        let stale = || {
            Error::Conflict(Msg::new(
                "この手配はほかの人か講師の回答で変更されました。一覧を読み込み直して確かめてから、もう一度操作してください",
                "this booking was changed meanwhile (by a colleague or the lecturer's answer); reload the list, check it and try again",
            ))
        };
        if version != change.version {
            return Err(stale());
        }
        let from = BookingStatus::parse(&status)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("stored booking status {status}")))?;
        if from != change.status && !from.may_become(change.status) {
            return Err(Error::Validation(vec![FieldError::new(
                "status",
                format!(
                    "「{}」から「{}」には変えられません。いったん「未依頼」に戻してください",
                    from.label().ja,
                    change.status.label().ja
                ),
                format!(
                    "cannot change \"{}\" to \"{}\"; set it back to \"not asked yet\" first",
                    from.label().en,
                    change.status.label().en
                ),
            )]));
        }
        let n = sqlx::query(
            "UPDATE booking_tasks SET status = $3, note = COALESCE($4, note), version = version + 1, updated_at = $5
             WHERE municipality_id = $1 AND id = $2 AND status = $6 AND version = $7",
        )
        .bind(m.0)
        .bind(id)
        .bind(change.status.slug())
        .bind(change.note.clone())
        .bind(now())
        .bind(&status)
        .bind(version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(stale());
        }
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "change",
            "booking_task",
            &id.to_string(),
            &format!("{status} -> {}", change.status.slug()),
        )
        .await?;
        tx.commit().await?;
        self.booking_task(m, id).await
    }

    /// The hourly job: brings every municipality's tasks up to date and queues one reminder
    /// to the coordinators for each open task that is due (its due date today or past, the
    /// meeting still ahead): to the e-mail of each host organisation of the series and to
    /// `contact_email`. The idempotency key (task, due date, recipient) makes repeated runs
    /// queue nothing twice; a meeting moved since gets a new due date and so a new reminder.
    pub async fn queue_booking_reminders(&self, contact_email: &str) -> Result<usize> {
        let today = today();
        let municipalities: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT o.municipality_id FROM occurrences o
             JOIN occurrence_attendees a ON a.occurrence_id = o.id
             JOIN people p ON p.id = a.person_id
             WHERE o.status = 'scheduled' AND o.date >= $1 AND p.external = 1
             ORDER BY o.municipality_id",
        )
        .bind(today.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut queued = 0;
        for m in municipalities.into_iter().map(MunicipalityId) {
            let mut tx = self.begin_write().await?;
            sync_tasks(&mut tx, m, None).await?;
            let due = sqlx::query(
                "SELECT t.id, t.occurrence_id, t.due_date, s.spec FROM booking_tasks t
                 JOIN occurrences o ON o.id = t.occurrence_id
                 JOIN meeting_series s ON s.id = o.series_id
                 WHERE t.municipality_id = $1 AND t.status = 'open' AND t.due_date <= $2
                   AND o.status = 'scheduled' AND o.date >= $2
                   AND EXISTS (SELECT 1 FROM occurrence_attendees a
                               WHERE a.occurrence_id = t.occurrence_id AND a.person_id = t.person_id
                                 AND a.required = 1)
                 ORDER BY t.due_date, t.id",
            )
            .bind(m.0)
            .bind(today.to_string())
            .fetch_all(&mut *tx)
            .await?;
            for r in &due {
                let task: i64 = r.try_get("id")?;
                let occurrence: i64 = r.try_get("occurrence_id")?;
                let due_date: String = r.try_get("due_date")?;
                let spec: String = r.try_get("spec")?;
                let hosts = serde_json::from_str::<crate::meetings::spec::SeriesSpec>(&spec)
                    .map(|s| s.hosts)
                    .unwrap_or_default();
                let mut recipients: Vec<(String, String)> = Vec::new();
                for code in &hosts {
                    let row = sqlx::query(
                        "SELECT name, email FROM organisations WHERE municipality_id = $1 AND code = $2",
                    )
                    .bind(m.0)
                    .bind(code)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some(row) = row {
                        let email: String = row.try_get("email")?;
                        if !email.trim().is_empty() {
                            recipients.push((email.trim().to_string(), row.try_get("name")?));
                        }
                    }
                }
                if !contact_email.trim().is_empty() {
                    recipients.push((contact_email.trim().to_string(), String::new()));
                }
                recipients.sort();
                recipients.dedup_by(|a, b| a.0.eq_ignore_ascii_case(&b.0));
                for (email, name) in recipients {
                    let key = format!(
                        "booking-reminder:{task}:{due_date}:{}",
                        email.to_lowercase()
                    );
                    if super::notices::insert_booking_reminder(
                        &mut tx, m, occurrence, task, &key, &email, &name,
                    )
                    .await?
                    {
                        queued += 1;
                    }
                }
            }
            tx.commit().await?;
        }
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use renkei_solver::calendar::BusinessCalendar;

    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Meguro 002: 「外部講師については3か月前を目途に日程調整をおこなう」 — 90 days before a
    /// meeting on Monday 2027-08-02 is 2027-05-04 (みどりの日), after 5/3 (憲法記念日) and a
    /// weekend: the booking is due on Friday 2027-04-30, the open day before.
    #[test]
    fn the_booking_is_due_three_months_ahead_on_an_open_day() {
        let cal = BusinessCalendar::default();
        assert_eq!(due_date(&cal, d("2027-08-02"), 90), d("2027-04-30"));
        // On an open day itself: exactly 90 days before.
        assert_eq!(due_date(&cal, d("2027-08-11"), 90), d("2027-05-13"));
        // The municipality's own closure moves it too.
        let mut cal = BusinessCalendar::default();
        cal.extra_closures
            .insert(d("2027-05-13"), "移転作業".into());
        assert_eq!(due_date(&cal, d("2027-08-11"), 90), d("2027-05-12"));
    }

    #[test]
    fn a_coordinator_asks_records_the_answer_or_starts_again() {
        use BookingStatus::*;
        assert!(Open.may_become(Requested) && Requested.may_become(Confirmed));
        assert!(Requested.may_become(Declined) && Declined.may_become(Open));
        assert!(!Confirmed.may_become(Requested) && !Declined.may_become(Confirmed));
        assert!(!Open.may_become(Open));
    }
}
