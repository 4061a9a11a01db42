//! Notices (the outbox), answer links and attendance answers.
//!
//! * A notice is queued in the transaction of the change that causes it ([`queue_occurrence`],
//!   [`queue_placement`]); its idempotency key (subject, recipient, kind, version) is unique, so
//!   a change that is retried, or a housekeeping run that repeats, never queues it twice.
//! * A worker claims due notices with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
//!   instances never claim the same row), renders a notice once ([`Db::notice_rendered`]: the
//!   message and its answer link in one transaction) and sends exactly those bytes until it is
//!   delivered or fails permanently. Only the lease holder may change a claimed notice.
//! * Answer tokens are stored only as SHA-256; the raw token lives in the rendered message until
//!   it is delivered, and is cleared then.

use chrono::{Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use super::tenancy::MunicipalityId;
use super::{instant_text, now, Backend, Db};
use crate::error::{Error, Result};
use crate::i18n::Msg;

/// What a notice tells its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Invitation,
    Update,
    Cancellation,
    Reminder,
    Chase,
    PlacementRequest,
    PlacementConfirmed,
    PlacementWithdrawn,
    VacancyRequest,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 9] = [
        NoticeKind::Invitation,
        NoticeKind::Update,
        NoticeKind::Cancellation,
        NoticeKind::Reminder,
        NoticeKind::Chase,
        NoticeKind::PlacementRequest,
        NoticeKind::PlacementConfirmed,
        NoticeKind::PlacementWithdrawn,
        NoticeKind::VacancyRequest,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            NoticeKind::Invitation => "invitation",
            NoticeKind::Update => "update",
            NoticeKind::Cancellation => "cancellation",
            NoticeKind::Reminder => "reminder",
            NoticeKind::Chase => "chase",
            NoticeKind::PlacementRequest => "placement_request",
            NoticeKind::PlacementConfirmed => "placement_confirmed",
            NoticeKind::PlacementWithdrawn => "placement_withdrawn",
            NoticeKind::VacancyRequest => "vacancy_request",
        }
    }

    pub fn parse(s: &str) -> Option<NoticeKind> {
        NoticeKind::ALL.into_iter().find(|k| k.slug() == s)
    }

    pub fn label(self) -> Msg {
        let (ja, en) = match self {
            NoticeKind::Invitation => ("開催案内", "invitation"),
            NoticeKind::Update => ("変更のお知らせ", "update"),
            NoticeKind::Cancellation => ("中止のお知らせ", "cancellation"),
            NoticeKind::Reminder => ("リマインド", "reminder"),
            NoticeKind::Chase => ("回答のお願い", "answer reminder"),
            NoticeKind::PlacementRequest => ("受入れのご依頼", "placement request"),
            NoticeKind::PlacementConfirmed => ("受入れ確定", "placement confirmed"),
            NoticeKind::PlacementWithdrawn => ("依頼の取り下げ", "placement withdrawn"),
            NoticeKind::VacancyRequest => ("空床更新のお願い", "vacancy update request"),
        };
        Msg::new(ja, en)
    }

    /// Notices about a meeting (the others are about placements and facilities).
    pub fn is_meeting(self) -> bool {
        matches!(
            self,
            NoticeKind::Invitation
                | NoticeKind::Update
                | NoticeKind::Cancellation
                | NoticeKind::Reminder
                | NoticeKind::Chase
        )
    }
}

/// A stable, unique local part of the Message-ID of the notice with `key`.
fn message_key(key: &str) -> String {
    crate::auth::sha256_hex(key)[..32].to_string()
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    kind: NoticeKind,
    subject: (Option<i64>, Option<i64>, Option<i64>, Option<i64>),
    version: i64,
    key: &str,
    email: &str,
    name: &str,
) -> Result<bool> {
    let (occurrence, person, request, facility) = subject;
    let t = now();
    let n = sqlx::query(
        "INSERT INTO notices (municipality_id, kind, occurrence_id, person_id, request_id, facility_id, version,
             idempotency_key, message_id, recipient_email, recipient_name, status, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $12)
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(m.0)
    .bind(kind.slug())
    .bind(occurrence)
    .bind(person)
    .bind(request)
    .bind(facility)
    .bind(version)
    .bind(key)
    .bind(message_key(key))
    .bind(email)
    .bind(name)
    .bind(&t)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Queues the reminder to a coordinator about a booking task that is due
/// (`store::booking`), in the caller's transaction: kind `reminder` about the meeting, marked
/// by `booking_task_id`, under `key`. False when it was queued before.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_booking_reminder(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    occurrence: i64,
    task: i64,
    key: &str,
    email: &str,
    name: &str,
) -> Result<bool> {
    let fresh = insert(
        conn,
        m,
        NoticeKind::Reminder,
        (Some(occurrence), None, None, None),
        0,
        key,
        email,
        name,
    )
    .await?;
    if fresh {
        sqlx::query("UPDATE notices SET booking_task_id = $2 WHERE idempotency_key = $1")
            .bind(key)
            .bind(task)
            .execute(&mut *conn)
            .await?;
    }
    Ok(fresh)
}

/// Which invitees of an occurrence a meeting notice goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every invitee with an address.
    All,
    /// Invitees who have not had an invitation or update yet (added to an unchanged meeting).
    NotYetInvited,
    /// Invitees who have not declined (reminders).
    NotDeclined,
    /// Invitees who have not answered (chases).
    Unanswered,
    /// One invitee (a resend).
    Person(i64),
}

/// Queues `kind` for the invitees of `occurrence` in the caller's transaction. Versions:
/// invitations, updates and cancellations carry the occurrence's SEQUENCE; reminders the number
/// of days before the meeting; a resend the number of notices the invitee already has. Returns
/// how many notices were queued (those queued before are not queued again).
pub async fn queue_occurrence(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    occurrence: i64,
    kind: NoticeKind,
    audience: Audience,
    version: Option<i64>,
) -> Result<usize> {
    let mut tally = QueuedTally::default();
    queue_occurrence_counted(conn, m, occurrence, kind, audience, version, &mut tally).await
}

/// What one transaction queued, per kind, and to how many distinct addresses (publishing
/// reports it, and its preview computes it by publishing in a transaction it rolls back).
#[derive(Debug, Clone, Default)]
pub struct QueuedTally {
    pub invitations: i64,
    pub updates: i64,
    pub cancellations: i64,
    pub recipients: std::collections::BTreeSet<String>,
}

impl QueuedTally {
    fn add(&mut self, kind: NoticeKind, email: &str) {
        match kind {
            NoticeKind::Invitation => self.invitations += 1,
            NoticeKind::Update => self.updates += 1,
            NoticeKind::Cancellation => self.cancellations += 1,
            _ => {}
        }
        self.recipients.insert(email.trim().to_lowercase());
    }
}

/// [`queue_occurrence`], counting what it queued into `tally`.
pub async fn queue_occurrence_counted(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    occurrence: i64,
    kind: NoticeKind,
    audience: Audience,
    version: Option<i64>,
    tally: &mut QueuedTally,
) -> Result<usize> {
    let row = sqlx::query(
        "SELECT sequence, held_by FROM occurrences WHERE municipality_id = $1 AND id = $2",
    )
    .bind(m.0)
    .bind(occurrence)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found("会議", "meeting"))?;
    let sequence: i64 = row.try_get("sequence")?;
    // A meeting held by another body: its host invites, renkei sends nothing (no invitation,
    // update, cancellation, reminder or chase), whichever path asks.
    if !row.try_get::<String, _>("held_by")?.is_empty() {
        return Ok(0);
    }
    let rows = sqlx::query(
        "SELECT p.id, p.email, p.name,
                (SELECT answer FROM attendance_answers aa WHERE aa.occurrence_id = a.occurrence_id AND aa.person_id = p.id) AS answer,
                (SELECT COUNT(*) FROM notices n WHERE n.occurrence_id = a.occurrence_id AND n.person_id = p.id
                   AND n.kind IN ('invitation', 'update')) AS invited,
                (SELECT COUNT(*) FROM notices n WHERE n.occurrence_id = a.occurrence_id AND n.person_id = p.id) AS notices
         FROM occurrence_attendees a JOIN people p ON p.id = a.person_id
         WHERE a.occurrence_id = $1 AND p.municipality_id = $2 AND p.email <> ''
         ORDER BY p.id",
    )
    .bind(occurrence)
    .bind(m.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut queued = 0;
    for r in &rows {
        let person: i64 = r.try_get("id")?;
        let answer: Option<String> = r.try_get("answer")?;
        let invited: i64 = r.try_get("invited")?;
        let notices: i64 = r.try_get("notices")?;
        let wanted = match audience {
            Audience::All => true,
            Audience::NotYetInvited => invited == 0,
            Audience::NotDeclined => answer.as_deref() != Some("decline"),
            Audience::Unanswered => answer.is_none(),
            Audience::Person(p) => p == person,
        };
        if !wanted {
            continue;
        }
        // Someone who never had an invitation gets one, not an "update" of it.
        let kind = if kind == NoticeKind::Update && invited == 0 {
            NoticeKind::Invitation
        } else {
            kind
        };
        let (version, key) = match (kind, audience) {
            (_, Audience::Person(_)) => {
                let v = version.unwrap_or(sequence);
                (
                    v,
                    format!(
                        "occ:{occurrence}:person:{person}:{}:{v}:resend:{notices}",
                        kind.slug()
                    ),
                )
            }
            (NoticeKind::Invitation | NoticeKind::Update, _) => (
                sequence,
                format!("occ:{occurrence}:person:{person}:request:{sequence}"),
            ),
            (NoticeKind::Cancellation, _) => (
                sequence,
                format!("occ:{occurrence}:person:{person}:cancel:{sequence}"),
            ),
            (NoticeKind::Reminder, _) => {
                let days = version.unwrap_or(0);
                (
                    days,
                    format!("occ:{occurrence}:person:{person}:reminder:{days}"),
                )
            }
            (NoticeKind::Chase, _) => (0, format!("occ:{occurrence}:person:{person}:chase")),
            _ => {
                return Err(Error::Internal(anyhow::anyhow!(
                    "{} is not a meeting notice",
                    kind.slug()
                )))
            }
        };
        let email: String = r.try_get("email")?;
        let name: String = r.try_get("name")?;
        if insert(
            conn,
            m,
            kind,
            (Some(occurrence), Some(person), None, None),
            version,
            &key,
            &email,
            &name,
        )
        .await?
        {
            queued += 1;
            tally.add(kind, &email);
        }
    }
    Ok(queued)
}

/// Queues a placement notice to a facility's contact address, in the caller's transaction.
/// `version` tells proposals apart (the first hold of the proposal). No address, or the hub's
/// own emergency room: nothing queued.
pub async fn queue_placement(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    kind: NoticeKind,
    request: Option<i64>,
    facility: i64,
    version: i64,
) -> Result<bool> {
    let row = sqlx::query(
        "SELECT contact_email, name, kind FROM placement_facilities WHERE municipality_id = $1 AND id = $2",
    )
    .bind(m.0)
    .bind(facility)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::not_found("施設", "facility"))?;
    let email: String = row.try_get("contact_email")?;
    let facility_kind: String = row.try_get("kind")?;
    // The hub's own emergency room is answered by the hub staff themselves, on the request page.
    if email.trim().is_empty()
        || (facility_kind == "hub_emergency" && kind != NoticeKind::VacancyRequest)
    {
        return Ok(false);
    }
    let name: String = row.try_get("name")?;
    let key = format!(
        "placement:{}:facility:{facility}:{}:{version}",
        request.unwrap_or(0),
        kind.slug()
    );
    insert(
        conn,
        m,
        kind,
        (None, None, request, Some(facility)),
        version,
        &key,
        &email,
        &name,
    )
    .await
}

/// A notice as the worker claims it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub municipality_id: MunicipalityId,
    pub kind: NoticeKind,
    pub occurrence_id: Option<i64>,
    pub person_id: Option<i64>,
    pub request_id: Option<i64>,
    pub facility_id: Option<i64>,
    pub version: i64,
    pub message_key: String,
    pub recipient_email: String,
    pub recipient_name: String,
    pub raw: Option<String>,
    pub attempts: i64,
    /// A reminder to the coordinators about this booking task (`store::booking`).
    pub booking_task_id: Option<i64>,
}

/// A notice as coordinators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NoticeRow {
    pub id: i64,
    pub kind: NoticeKind,
    pub kind_label: Msg,
    pub occurrence_id: Option<i64>,
    pub person_id: Option<i64>,
    pub request_id: Option<i64>,
    pub facility_id: Option<i64>,
    pub recipient_email: String,
    pub recipient_name: String,
    pub subject: String,
    /// pending (waiting or retrying), sent, failed (permanently: see `last_error`), superseded
    /// (a newer notice replaced it before it went out).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: String,
    pub created_at: String,
    pub sent_at: Option<String>,
}

/// Which notices a list shows (the sent-mail page and `GET /api/v1/notices`); empty fields
/// filter nothing.
#[derive(Debug, Clone, Default)]
pub struct NoticeFilter {
    /// pending, sent, failed or superseded.
    pub status: String,
    /// A notice kind's slug (`invitation`, `placement_request`, ...).
    pub kind: String,
    /// Part of the recipient's address or name, or of the subject (case-insensitive).
    pub search: String,
    /// Queued on or after this day (Japan time).
    pub from: Option<NaiveDate>,
    /// Queued on or before this day (Japan time).
    pub to: Option<NaiveDate>,
}

/// The filter's condition: `$2` status, `$3` kind, `$4` search pattern, `$5`/`$6` the UTC
/// instants of the first and the day after the last day (fixed-width text compares as instants).
const NOTICE_FILTER: &str = "($2 = '' OR status = $2) AND ($3 = '' OR kind = $3)
     AND ($4 = '' OR LOWER(recipient_email) LIKE $4 ESCAPE '\\' OR LOWER(recipient_name) LIKE $4 ESCAPE '\\'
          OR LOWER(subject) LIKE $4 ESCAPE '\\')
     AND created_at >= $5 AND created_at < $6";

impl NoticeFilter {
    /// Parses a list's query fields (empty: no filter), with a bilingual error per bad field.
    pub fn parse(
        status: &str,
        kind: &str,
        search: &str,
        from: &str,
        to: &str,
    ) -> std::result::Result<NoticeFilter, Vec<crate::master::FieldError>> {
        use crate::master::FieldError;
        let mut errors = Vec::new();
        let status = status.trim();
        if !matches!(status, "" | "pending" | "sent" | "failed" | "superseded") {
            errors.push(FieldError::new(
                "status",
                "status は pending, sent, failed, superseded のいずれかです（空欄ならすべて）",
                "status is pending, sent, failed or superseded (empty: all)",
            ));
        }
        let kind = kind.trim();
        if !kind.is_empty() && NoticeKind::parse(kind).is_none() {
            let kinds: Vec<&str> = NoticeKind::ALL.iter().map(|k| k.slug()).collect();
            errors.push(FieldError::new(
                "kind",
                format!(
                    "kind は {} のいずれかです（空欄ならすべて）",
                    kinds.join(", ")
                ),
                format!("kind is one of {} (empty: all)", kinds.join(", ")),
            ));
        }
        let search = search.trim();
        if search.chars().count() > 200 {
            errors.push(FieldError::new(
                "q",
                "検索語は200文字までにしてください",
                "write at most 200 characters to search for",
            ));
        }
        let mut date = |field: &str, s: &str| {
            if s.trim().is_empty() {
                return None;
            }
            crate::master::parse_date(field, s)
                .map_err(|e| errors.push(e))
                .ok()
        };
        let from = date("from", from);
        let to = date("to", to);
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                errors.push(FieldError::new(
                    "to",
                    "終了日は開始日以降の日付にしてください",
                    "the last day must not be before the first day",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NoticeFilter {
            status: status.to_string(),
            kind: kind.to_string(),
            search: search.to_string(),
            from,
            to,
        })
    }

    fn bind<'q>(
        &self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        let search = self.search.trim().to_lowercase();
        let pattern = if search.is_empty() {
            String::new()
        } else {
            super::like_pattern(&search)
        };
        // Japan has no daylight saving: a JST day starts at 15:00 UTC the day before.
        let start = |d: NaiveDate| {
            instant_text(renkei_solver::calendar::jst_to_utc(
                d,
                chrono::NaiveTime::MIN,
            ))
        };
        let from = self.from.map(start).unwrap_or_default();
        let to = self
            .to
            .and_then(|d| d.succ_opt())
            .map(start)
            .unwrap_or_else(|| "9999".into());
        q.bind(self.status.clone())
            .bind(self.kind.clone())
            .bind(pattern)
            .bind(from)
            .bind(to)
    }
}

const NOTICE_COLUMNS: &str =
    "id, kind, occurrence_id, person_id, request_id, facility_id, recipient_email, recipient_name,
    subject, status, attempts, next_attempt_at, last_error, created_at, sent_at";

fn notice_row(r: &sqlx::any::AnyRow) -> Result<NoticeRow> {
    let kind: String = r.try_get("kind")?;
    let kind = NoticeKind::parse(&kind)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("stored notice kind {kind}")))?;
    Ok(NoticeRow {
        id: r.try_get("id")?,
        kind,
        kind_label: kind.label(),
        occurrence_id: r.try_get("occurrence_id")?,
        person_id: r.try_get("person_id")?,
        request_id: r.try_get("request_id")?,
        facility_id: r.try_get("facility_id")?,
        recipient_email: r.try_get("recipient_email")?,
        recipient_name: r.try_get("recipient_name")?,
        subject: r.try_get("subject")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        sent_at: r.try_get("sent_at")?,
    })
}

/// A personal answer link, as found by its token.
#[derive(Debug, Clone)]
pub struct AnswerLink {
    pub municipality_id: MunicipalityId,
    pub kind: String,
    pub occurrence_id: Option<i64>,
    pub person_id: Option<i64>,
    pub request_id: Option<i64>,
    pub facility_id: Option<i64>,
    pub expired: bool,
}

/// An invitee's current answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnswerRow {
    pub person_id: i64,
    pub name: String,
    pub email: String,
    pub organisation_name: String,
    pub required: bool,
    /// attend, decline, deputy, or none (not answered yet).
    pub answer: String,
    pub deputy_name: String,
    pub deputy_organisation: String,
    pub comment: String,
    pub answered_at: Option<String>,
    /// Where the answer came from: link (the answer page), calendar (Accept / Decline in the
    /// invitee's calendar, an iTIP reply) or coordinator; none when not answered yet.
    pub source: String,
    /// The same in words.
    pub source_label: Msg,
    /// The latest notice to this invitee about the meeting: its status and error.
    pub notice_status: Option<String>,
    pub notice_error: String,
}

/// Who records an answer: the invitee through their link, or a coordinator (by phone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerBy {
    Link,
    Coordinator { user_id: i64 },
}

impl AnswerBy {
    /// The `attendance_answers.source` word (see `replies::AnswerSource`).
    pub fn source(self) -> &'static str {
        match self {
            AnswerBy::Link => "link",
            AnswerBy::Coordinator { .. } => "coordinator",
        }
    }
}

/// What the form that changes an answer showed: the meeting's version (`occurrences.sequence`)
/// and when the answer it showed was given (none: it showed no answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerSeen {
    pub sequence: i64,
    pub answered_at: Option<String>,
}

/// Locks a meeting's row for the rest of the transaction (a no-op update: PostgreSQL's row
/// lock; SQLite's writers are serialized by `BEGIN IMMEDIATE` already) and reads its version
/// and status after the lock. Every writer of a meeting's answers (the answer link, a
/// coordinator, a calendar reply, publishing) takes it before touching them, in that order
/// (meeting, then answers), so they never deadlock and none reads a version another is changing.
pub async fn lock_occurrence(
    conn: &mut AnyConnection,
    m: MunicipalityId,
    occurrence: i64,
) -> Result<Option<(i64, String)>> {
    sqlx::query(
        "UPDATE occurrences SET sequence = sequence WHERE municipality_id = $1 AND id = $2",
    )
    .bind(m.0)
    .bind(occurrence)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(
        "SELECT sequence, status FROM occurrences WHERE municipality_id = $1 AND id = $2",
    )
    .bind(m.0)
    .bind(occurrence)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((r.try_get("sequence")?, r.try_get("status")?)))
        .transpose()
}

/// What an invitee answers through the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub answer: String,
    pub deputy_name: String,
    pub deputy_organisation: String,
    pub comment: String,
}

impl Db {
    /// Claims up to `limit` due notices for `worker` for `lease`.
    pub async fn claim_notices(
        &self,
        worker: &str,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<Claimed>> {
        let t = Utc::now();
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE notices SET lease_owner = $1, lease_until = $2
             WHERE id IN (
                SELECT id FROM notices
                WHERE status = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
                ORDER BY next_attempt_at, id LIMIT $4 {lock})
             RETURNING id, municipality_id, kind, occurrence_id, person_id, request_id, facility_id, version,
                       message_id, recipient_email, recipient_name, raw, attempts, booking_task_id"
        );
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(&sql)
            .bind(worker)
            .bind(instant_text(t + lease))
            .bind(instant_text(t))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut out = rows
            .iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(Claimed {
                    id: r.try_get("id")?,
                    municipality_id: MunicipalityId(r.try_get("municipality_id")?),
                    kind: NoticeKind::parse(&kind).ok_or_else(|| {
                        Error::Internal(anyhow::anyhow!("stored notice kind {kind}"))
                    })?,
                    occurrence_id: r.try_get("occurrence_id")?,
                    person_id: r.try_get("person_id")?,
                    request_id: r.try_get("request_id")?,
                    facility_id: r.try_get("facility_id")?,
                    version: r.try_get("version")?,
                    message_key: r.try_get("message_id")?,
                    recipient_email: r.try_get("recipient_email")?,
                    recipient_name: r.try_get("recipient_name")?,
                    raw: r.try_get("raw")?,
                    attempts: r.try_get("attempts")?,
                    booking_task_id: r.try_get("booking_task_id")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|c| c.id);
        Ok(out)
    }

    /// Stores the rendered message of a claimed notice and, when it has one, its answer link
    /// (one transaction). False when the lease was lost (another worker owns it now).
    #[allow(clippy::too_many_arguments)]
    pub async fn notice_rendered(
        &self,
        n: &Claimed,
        worker: &str,
        subject: &str,
        raw: &str,
        link: Option<(&str, &str, NaiveDate)>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let ok = sqlx::query(
            "UPDATE notices SET subject = $3, raw = $4 WHERE id = $1 AND lease_owner = $2 AND raw IS NULL",
        )
        .bind(n.id)
        .bind(worker)
        .bind(subject)
        .bind(raw)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if !ok {
            return Ok(false);
        }
        if let Some((token_hash, kind, expires)) = link {
            sqlx::query(
                "INSERT INTO answer_links (token_hash, municipality_id, kind, occurrence_id, person_id, request_id, facility_id,
                     notice_id, expires_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(token_hash)
            .bind(n.municipality_id.0)
            .bind(kind)
            .bind(n.occurrence_id)
            .bind(n.person_id)
            .bind(n.request_id)
            .bind(n.facility_id)
            .bind(n.id)
            .bind(expires.to_string())
            .bind(now())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Delivered: the message body (with its answer link) is not kept.
    pub async fn notice_sent(&self, id: i64, worker: &str) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE notices SET status = 'sent', sent_at = $3, raw = NULL, lease_owner = NULL, lease_until = NULL,
                 attempts = attempts + 1, last_error = ''
             WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
        )
        .bind(id)
        .bind(worker)
        .bind(now())
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }

    /// A transient failure: try again at `next`.
    pub async fn notice_retry(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        next: chrono::DateTime<Utc>,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE notices SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
        )
        .bind(id)
        .bind(worker)
        .bind(error)
        .bind(instant_text(next))
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }

    /// A permanent failure (rejected address, a message that cannot be built): shown to the
    /// coordinator, not retried. `superseded` instead when a newer notice replaces this one.
    pub async fn notice_stopped(
        &self,
        id: i64,
        worker: &str,
        status: &str,
        error: &str,
    ) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE notices SET status = $3, attempts = attempts + 1, last_error = $4, raw = NULL, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
        )
        .bind(id)
        .bind(worker)
        .bind(status)
        .bind(error)
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }

    /// The municipality's notices, newest first (optionally of one status).
    pub async fn list_notices(
        &self,
        m: MunicipalityId,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<NoticeRow>> {
        let filter = NoticeFilter {
            status: status.unwrap_or("").to_string(),
            ..NoticeFilter::default()
        };
        self.filtered_notices(m, &filter, limit, offset).await
    }

    /// The municipality's notices that pass `filter`, newest first, a page at a time.
    pub async fn filtered_notices(
        &self,
        m: MunicipalityId,
        filter: &NoticeFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<NoticeRow>> {
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM notices WHERE municipality_id = $1 AND {NOTICE_FILTER}
             ORDER BY id DESC LIMIT $7 OFFSET $8"
        );
        let rows = filter
            .bind(sqlx::query(&sql).bind(m.0))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(notice_row).collect()
    }

    /// How many of the municipality's notices pass `filter`.
    pub async fn count_filtered_notices(
        &self,
        m: MunicipalityId,
        filter: &NoticeFilter,
    ) -> Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM notices WHERE municipality_id = $1 AND {NOTICE_FILTER}"
        );
        let row = filter
            .bind(sqlx::query(&sql).bind(m.0))
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// One notice of the municipality.
    pub async fn notice(&self, m: MunicipalityId, id: i64) -> Result<NoticeRow> {
        let row = sqlx::query(&format!(
            "SELECT {NOTICE_COLUMNS} FROM notices WHERE municipality_id = $1 AND id = $2"
        ))
        .bind(m.0)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| Error::not_found("通知", "notice"))?;
        notice_row(&row)
    }

    /// Notices about one meeting, oldest first.
    pub async fn occurrence_notices(
        &self,
        m: MunicipalityId,
        occurrence: i64,
    ) -> Result<Vec<NoticeRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {NOTICE_COLUMNS} FROM notices WHERE municipality_id = $1 AND occurrence_id = $2 ORDER BY id"
        ))
        .bind(m.0)
        .bind(occurrence)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(notice_row).collect()
    }

    /// How many notices of the municipality (optionally of one status) there are.
    pub async fn count_notices(&self, m: MunicipalityId, status: Option<&str>) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM notices WHERE municipality_id = $1 AND ($2 = '' OR status = $2)",
        )
        .bind(m.0)
        .bind(status.unwrap_or(""))
        .fetch_one(&self.pool)
        .await?)
    }

    /// Counts of notices by status (for the outbox page and the benchmark).
    pub async fn notice_counts(&self, m: Option<MunicipalityId>) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM notices WHERE ($1 = 0 OR municipality_id = $1) GROUP BY status ORDER BY status",
        )
        .bind(m.map(|m| m.0).unwrap_or(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
            .collect()
    }

    /// The link behind a presented token (hash compared in the database, never the token).
    pub async fn answer_link(&self, token: &str) -> Result<Option<AnswerLink>> {
        let row = sqlx::query(
            "SELECT municipality_id, kind, occurrence_id, person_id, request_id, facility_id, expires_at, revoked_at
             FROM answer_links WHERE token_hash = $1",
        )
        .bind(crate::auth::sha256_hex(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let expires: String = r.try_get("expires_at")?;
        let revoked: Option<String> = r.try_get("revoked_at")?;
        let today = renkei_solver::calendar::jst_date(Utc::now()).to_string();
        Ok(Some(AnswerLink {
            municipality_id: MunicipalityId(r.try_get("municipality_id")?),
            kind: r.try_get("kind")?,
            occurrence_id: r.try_get("occurrence_id")?,
            person_id: r.try_get("person_id")?,
            request_id: r.try_get("request_id")?,
            facility_id: r.try_get("facility_id")?,
            expired: revoked.is_some() || expires < today,
        }))
    }

    /// Every answer link of an invitee stops working (before a resend with a fresh one).
    pub async fn revoke_answer_links(
        &self,
        conn: &mut AnyConnection,
        m: MunicipalityId,
        occurrence: i64,
        person: i64,
    ) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE answer_links SET revoked_at = $4 WHERE municipality_id = $1 AND occurrence_id = $2 AND person_id = $3 AND revoked_at IS NULL",
        )
        .bind(m.0)
        .bind(occurrence)
        .bind(person)
        .bind(now())
        .execute(&mut *conn)
        .await?
        .rows_affected())
    }

    /// Records an invitee's answer (replacing an earlier one) with an audit row, given through
    /// the answer link or by a coordinator (an answer received by phone or in person).
    ///
    /// A conditional write on what the form showed: the meeting's row is locked first (so a
    /// publish that moves the meeting and clears its answers waits for this answer, or this
    /// answer waits for the publish and then finds the meeting changed), the meeting must still
    /// have the version `seen.sequence` and not be cancelled, and the stored answer must still be
    /// the one `seen.answered_at` names (none: no answer yet). Anything else is a 409 that asks
    /// to read the page again, and nothing is written.
    pub async fn record_answer(
        &self,
        m: MunicipalityId,
        occurrence: i64,
        person: i64,
        a: &Answer,
        by: AnswerBy,
        seen: &AnswerSeen,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let state = lock_occurrence(&mut tx, m, occurrence).await?;
        let Some((sequence, status)) = state else {
            return Err(Error::not_found("会議", "meeting"));
        };
        if status == "cancelled" || sequence != seen.sequence {
            return Err(Error::Conflict(Msg::new(
                "この会議は画面を開いた後に日時が変わったか中止されました。画面を読み込み直して、今の日時に回答してください",
                "the meeting was moved or cancelled after the page was opened; reload the page and answer for its current time",
            )));
        }
        let invited: Option<i64> = sqlx::query_scalar(
            "SELECT person_id FROM occurrence_attendees WHERE occurrence_id = $1 AND person_id = $2",
        )
        .bind(occurrence)
        .bind(person)
        .fetch_optional(&mut *tx)
        .await?;
        if invited.is_none() {
            return Err(Error::not_found("招待者", "invitee"));
        }
        let t = now();
        let written = match &seen.answered_at {
            None => sqlx::query(
                "INSERT INTO attendance_answers (occurrence_id, person_id, municipality_id, answer, deputy_name, deputy_organisation, comment, answered_at, source)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (occurrence_id, person_id) DO NOTHING",
            )
            .bind(occurrence)
            .bind(person)
            .bind(m.0)
            .bind(&a.answer)
            .bind(&a.deputy_name)
            .bind(&a.deputy_organisation)
            .bind(&a.comment)
            .bind(&t)
            .bind(by.source())
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            Some(at) => sqlx::query(
                "UPDATE attendance_answers SET answer = $3, deputy_name = $4, deputy_organisation = $5,
                     comment = $6, answered_at = $7, source = $8
                 WHERE occurrence_id = $1 AND person_id = $2 AND answered_at = $9",
            )
            .bind(occurrence)
            .bind(person)
            .bind(&a.answer)
            .bind(&a.deputy_name)
            .bind(&a.deputy_organisation)
            .bind(&a.comment)
            .bind(&t)
            .bind(by.source())
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
        };
        if written != 1 {
            return Err(Error::Conflict(Msg::new(
                "この回答は画面を開いた後に変更されました（本人のリンク、カレンダーの返信、事務局の記録のいずれか）。画面を読み込み直して、今の回答を確かめてください",
                "the answer changed after the page was opened (through the link, a calendar reply or a coordinator); reload the page and check the current answer",
            )));
        }
        let (user, how) = match by {
            AnswerBy::Link => (None, "answer page".to_string()),
            AnswerBy::Coordinator { user_id } => {
                (Some(user_id), "recorded by a coordinator".to_string())
            }
        };
        super::audit::record(
            &mut tx,
            Some(m),
            user,
            "answer",
            "occurrence",
            &occurrence.to_string(),
            &format!("person {person}: {} ({how})", a.answer),
        )
        .await?;
        // A lecturer's answer moves their booking task (承諾 / 辞退).
        super::booking::answer_moves_task(&mut tx, m, occurrence, person, &a.answer).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One invitee's answer, if any, with when it was given (what a form that changes it
    /// carries back as `AnswerSeen::answered_at`).
    pub async fn answer_of(
        &self,
        occurrence: i64,
        person: i64,
    ) -> Result<Option<(Answer, String)>> {
        let row = sqlx::query(
            "SELECT answer, deputy_name, deputy_organisation, comment, answered_at FROM attendance_answers WHERE occurrence_id = $1 AND person_id = $2",
        )
        .bind(occurrence)
        .bind(person)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok((
                Answer {
                    answer: r.try_get("answer")?,
                    deputy_name: r.try_get("deputy_name")?,
                    deputy_organisation: r.try_get("deputy_organisation")?,
                    comment: r.try_get("comment")?,
                },
                r.try_get("answered_at")?,
            ))
        })
        .transpose()
    }

    /// Every invitee of a meeting with their answer and the state of their latest notice.
    pub async fn occurrence_answers(
        &self,
        m: MunicipalityId,
        occurrence: i64,
    ) -> Result<Vec<AnswerRow>> {
        let rows = sqlx::query(
            "SELECT p.id, p.name, p.email, COALESCE(org.name, '') AS organisation_name, a.required,
                    aa.answer, aa.deputy_name, aa.deputy_organisation, aa.comment, aa.answered_at, aa.source,
                    (SELECT n.status FROM notices n WHERE n.occurrence_id = a.occurrence_id AND n.person_id = p.id ORDER BY n.id DESC LIMIT 1) AS notice_status,
                    (SELECT n.last_error FROM notices n WHERE n.occurrence_id = a.occurrence_id AND n.person_id = p.id ORDER BY n.id DESC LIMIT 1) AS notice_error
             FROM occurrence_attendees a
             JOIN occurrences o ON o.id = a.occurrence_id
             JOIN people p ON p.id = a.person_id
             LEFT JOIN organisations org ON org.id = p.organisation_id
             LEFT JOIN attendance_answers aa ON aa.occurrence_id = a.occurrence_id AND aa.person_id = p.id
             WHERE o.municipality_id = $1 AND a.occurrence_id = $2
             ORDER BY a.required DESC, p.kana, p.code",
        )
        .bind(m.0)
        .bind(occurrence)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let answer: Option<String> = r.try_get("answer")?;
                let source = match &answer {
                    Some(_) => r
                        .try_get::<Option<String>, _>("source")?
                        .unwrap_or_else(|| "link".into()),
                    None => "none".into(),
                };
                Ok(AnswerRow {
                    source_label: match source.as_str() {
                        "none" => Msg::new("—", "—"),
                        s => super::replies::AnswerSource::label(s),
                    },
                    source,
                    person_id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                    organisation_name: r.try_get("organisation_name")?,
                    required: r.try_get::<i64, _>("required")? != 0,
                    answer: answer.unwrap_or_else(|| "none".into()),
                    deputy_name: r
                        .try_get::<Option<String>, _>("deputy_name")?
                        .unwrap_or_default(),
                    deputy_organisation: r
                        .try_get::<Option<String>, _>("deputy_organisation")?
                        .unwrap_or_default(),
                    comment: r
                        .try_get::<Option<String>, _>("comment")?
                        .unwrap_or_default(),
                    answered_at: r.try_get("answered_at")?,
                    notice_status: r.try_get("notice_status")?,
                    notice_error: r
                        .try_get::<Option<String>, _>("notice_error")?
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Queues a fresh copy of the latest meeting notice for one invitee (their old links stop
    /// working). Returns how many notices were queued (0: no address).
    pub async fn resend_notice(
        &self,
        user: &super::tenancy::User,
        occurrence: i64,
        person: i64,
    ) -> Result<usize> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let status: Option<String> = sqlx::query_scalar(
            "SELECT status FROM occurrences WHERE municipality_id = $1 AND id = $2",
        )
        .bind(m.0)
        .bind(occurrence)
        .fetch_optional(&mut *tx)
        .await?;
        let kind = match status.as_deref() {
            None => return Err(Error::not_found("会議", "meeting")),
            Some("cancelled") => NoticeKind::Cancellation,
            Some(_) => NoticeKind::Invitation,
        };
        // A second press within a minute (or a second coordinator) sends nothing more. The
        // check and the insert share this write transaction, so two at once cannot both pass.
        let recent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notices WHERE municipality_id = $1 AND occurrence_id = $2 AND person_id = $3
             AND idempotency_key LIKE '%:resend:%' AND created_at > $4",
        )
        .bind(m.0)
        .bind(occurrence)
        .bind(person)
        .bind(super::instant_text(Utc::now() - Duration::seconds(60)))
        .fetch_one(&mut *tx)
        .await?;
        if recent > 0 {
            return Err(Error::Conflict(Msg::new(
                "この方には1分以内に再送したばかりです。届くまで少しお待ちください（同じメールを二重に送らないようにしています）",
                "this person was sent the notice again less than a minute ago; give it a moment to arrive (renkei does not send the same mail twice)",
            )));
        }
        self.revoke_answer_links(&mut tx, m, occurrence, person)
            .await?;
        let n =
            queue_occurrence(&mut tx, m, occurrence, kind, Audience::Person(person), None).await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "resend",
            "occurrence",
            &occurrence.to_string(),
            &format!("person {person}"),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Cancels one published meeting: status cancelled, SEQUENCE raised, a cancellation to every
    /// invitee, one transaction. Returns how many notices were queued.
    pub async fn cancel_occurrence(
        &self,
        user: &super::tenancy::User,
        occurrence: i64,
        reason: &str,
    ) -> Result<usize> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE occurrences SET status = 'cancelled', sequence = sequence + 1, updated_at = $3
             WHERE municipality_id = $1 AND id = $2 AND status = 'scheduled'",
        )
        .bind(m.0)
        .bind(occurrence)
        .bind(now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            let exists: Option<String> = sqlx::query_scalar(
                "SELECT status FROM occurrences WHERE municipality_id = $1 AND id = $2",
            )
            .bind(m.0)
            .bind(occurrence)
            .fetch_optional(&mut *tx)
            .await?;
            return Err(match exists {
                None => Error::not_found("会議", "meeting"),
                Some(_) => Error::Conflict(Msg::new(
                    "この会議は既に中止されています",
                    "this meeting is already cancelled",
                )),
            });
        }
        let queued = queue_occurrence(
            &mut tx,
            m,
            occurrence,
            NoticeKind::Cancellation,
            Audience::All,
            None,
        )
        .await?;
        // The results report lists it as not held, with the reason.
        super::indicators::write_record(
            &mut tx,
            m,
            occurrence,
            Some(user.id),
            false,
            reason,
            "",
            0,
        )
        .await?;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "cancel",
            "occurrence",
            &occurrence.to_string(),
            reason,
        )
        .await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// Queues a vacancy-update request to a facility (at most one per facility and day).
    pub async fn request_vacancy_update(
        &self,
        user: &super::tenancy::User,
        facility: i64,
    ) -> Result<usize> {
        let m = user.municipality_id;
        let mut tx = self.begin_write().await?;
        let day: i64 = renkei_solver::calendar::jst_date(Utc::now())
            .format("%Y%m%d")
            .to_string()
            .parse()
            .unwrap_or(0);
        let contact: String = sqlx::query_scalar(
            "SELECT contact_email FROM placement_facilities WHERE municipality_id = $1 AND id = $2",
        )
        .bind(m.0)
        .bind(facility)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found("施設", "facility"))?;
        if contact.trim().is_empty() {
            return Err(Error::Validation(vec![crate::master::FieldError::new(
                "contact_email",
                "この施設には連絡先メールアドレスがありません。施設の情報に登録してください",
                "this facility has no contact address; add one to the facility",
            )]));
        }
        let queued = queue_placement(&mut tx, m, NoticeKind::VacancyRequest, None, facility, day)
            .await? as usize;
        super::audit::record(
            &mut tx,
            Some(m),
            Some(user.id),
            "vacancy_request",
            "placement_facility",
            &facility.to_string(),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// Reminders and chases due today (the hourly housekeeping job): for each scheduled meeting
    /// `d` days ahead (`d` in `reminder_days`), a reminder to invitees who have not declined; for
    /// each meeting whose answer deadline is `chase_days` ahead, a chase to those who have not
    /// answered. Idempotency keys make repeated runs queue nothing new.
    pub async fn queue_due_reminders(
        &self,
        reminder_days: &[i64],
        answer_deadline_days: i64,
        chase_days: i64,
    ) -> Result<usize> {
        let today = renkei_solver::calendar::jst_date(Utc::now());
        let wanted: Vec<(NaiveDate, NoticeKind, Audience, Option<i64>)> = reminder_days
            .iter()
            .map(|d| {
                (
                    today + Duration::days(*d),
                    NoticeKind::Reminder,
                    Audience::NotDeclined,
                    Some(*d),
                )
            })
            .collect();
        let mut queued = 0;
        for (date, kind, audience, version) in wanted {
            let rows = sqlx::query(
                "SELECT id, municipality_id FROM occurrences WHERE status = 'scheduled' AND held_by = '' AND date = $1 ORDER BY id",
            )
            .bind(date.to_string())
            .fetch_all(&self.pool)
            .await?;
            queued += self.queue_for(&rows, kind, audience, version).await?;
        }
        // Chases: meetings whose chase day (an open day of their municipality before the
        // answer deadline, itself moved back to an open day) is today. Several meeting days can
        // share one chase day (a Monday's and the weekend before Golden Week's).
        let horizon = today + Duration::days(answer_deadline_days + chase_days + 90);
        let municipalities: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT municipality_id FROM occurrences
             WHERE status = 'scheduled' AND date >= $1 AND date <= $2 ORDER BY municipality_id",
        )
        .bind(today.to_string())
        .bind(horizon.to_string())
        .fetch_all(&self.pool)
        .await?;
        for m in municipalities {
            let calendar = self.business_calendar(MunicipalityId(m)).await?;
            let mut day = today;
            while day <= horizon {
                if crate::notices::chase_date(&calendar, day, answer_deadline_days, chase_days)
                    == today
                {
                    let rows = sqlx::query(
                        "SELECT id, municipality_id FROM occurrences
                         WHERE status = 'scheduled' AND held_by = '' AND date = $1 AND municipality_id = $2 ORDER BY id",
                    )
                    .bind(day.to_string())
                    .bind(m)
                    .fetch_all(&self.pool)
                    .await?;
                    queued += self
                        .queue_for(&rows, NoticeKind::Chase, Audience::Unanswered, None)
                        .await?;
                }
                day += Duration::days(1);
            }
        }
        Ok(queued)
    }

    /// Queues one kind of notice for each of the occurrences `rows` (id, municipality_id),
    /// each in its own transaction.
    async fn queue_for(
        &self,
        rows: &[AnyRow],
        kind: NoticeKind,
        audience: Audience,
        version: Option<i64>,
    ) -> Result<usize> {
        let mut queued = 0;
        for r in rows {
            let mut tx = self.begin_write().await?;
            queued += queue_occurrence(
                &mut tx,
                MunicipalityId(r.try_get("municipality_id")?),
                r.try_get("id")?,
                kind,
                audience,
                version,
            )
            .await?;
            tx.commit().await?;
        }
        Ok(queued)
    }
}
