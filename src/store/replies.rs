//! Calendar replies (iTIP `METHOD:REPLY`) turned into invitees' answers.
//!
//! * A reply is matched by its UID (the occurrence; UIDs are unique across municipalities, and
//!   the occurrence says whose it is), its SEQUENCE (older than the meeting's: the meeting moved
//!   since, the reply is stale) and its ATTENDEE address (case-insensitive) among the meeting's
//!   invitees. The sender (`From`) must be that attendee or their `SENT-BY`, and the receiving
//!   server must not have found DMARC failed; otherwise the reply is forged.
//! * Idempotent: each message is recorded once in `calendar_replies` under its Message-ID, in
//!   the transaction that writes the answer. A message read again finds its row and changes
//!   nothing; two pollers reading one message at once meet on that unique key (the second
//!   waits for the first and then writes nothing).
//! * The answer is a conditional write on the answer it read (`INSERT … ON CONFLICT DO NOTHING`
//!   when there was none, `UPDATE … WHERE answered_at = $read AND answer = $read` otherwise);
//!   when another writer was faster the whole transaction is rolled back and read again.
//! * The latest answer by the attendee's own clock wins: a calendar answer is stamped with the
//!   reply's `DTSTAMP` (never later than now), and a reply written before the current answer
//!   was given (e.g. Accept in Outlook, then Decline on the answer page, then the Outlook mail
//!   arrives) is `superseded`.
//! * Tentative is not an answer: renkei's answers are firm (attend, decline, deputy) and
//!   planning and chases rely on them, so a tentative reply is recorded here for the
//!   coordinator to see, and the invitee still counts as unanswered (and is chased) unless
//!   they had answered firmly before, which stays.
//! * After the answer deadline, or for a cancelled meeting, a reply changes nothing, as the
//!   answer page refuses then (`after_deadline`, `cancelled`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;

use super::tenancy::MunicipalityId;
use super::{instant_text, now, Db};
use crate::error::{Error, Result};
use crate::i18n::Msg;
use crate::notices::replies::{CalendarReply, Content, PartStat, ReplyMail};

/// What became of a calendar reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    Unchanged,
    Tentative,
    Stale,
    Forged,
    UnknownMeeting,
    UnknownAttendee,
    Cancelled,
    AfterDeadline,
    Superseded,
    NoAnswer,
    Malformed,
}

impl Outcome {
    pub const ALL: [Outcome; 12] = [
        Outcome::Applied,
        Outcome::Unchanged,
        Outcome::Tentative,
        Outcome::Stale,
        Outcome::Forged,
        Outcome::UnknownMeeting,
        Outcome::UnknownAttendee,
        Outcome::Cancelled,
        Outcome::AfterDeadline,
        Outcome::Superseded,
        Outcome::NoAnswer,
        Outcome::Malformed,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Unchanged => "unchanged",
            Outcome::Tentative => "tentative",
            Outcome::Stale => "stale",
            Outcome::Forged => "forged",
            Outcome::UnknownMeeting => "unknown_meeting",
            Outcome::UnknownAttendee => "unknown_attendee",
            Outcome::Cancelled => "cancelled",
            Outcome::AfterDeadline => "after_deadline",
            Outcome::Superseded => "superseded",
            Outcome::NoAnswer => "no_answer",
            Outcome::Malformed => "malformed",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.slug() == s)
    }

    /// Ignored: the reply changed nothing and tells nothing the coordinator should count.
    pub fn ignored(self) -> bool {
        !matches!(
            self,
            Outcome::Applied | Outcome::Unchanged | Outcome::Tentative
        )
    }

    pub fn label(self) -> Msg {
        let (ja, en) = match self {
            Outcome::Applied => ("回答に反映", "recorded as the answer"),
            Outcome::Unchanged => (
                "回答済み（変更なし）",
                "same as the answer already recorded",
            ),
            Outcome::Tentative => (
                "仮承諾（回答としては数えません）",
                "tentative (not counted as an answer)",
            ),
            Outcome::Stale => (
                "無視: 変更前の案内への返信",
                "ignored: a reply to an earlier version of the meeting",
            ),
            Outcome::Forged => (
                "無視: 送信者が招待者本人ではありません",
                "ignored: not sent by the invitee",
            ),
            Outcome::UnknownMeeting => {
                ("無視: 該当する会議がありません", "ignored: no such meeting")
            }
            Outcome::UnknownAttendee => (
                "無視: 招待者にないアドレス",
                "ignored: not an invitee's address",
            ),
            Outcome::Cancelled => ("無視: 会議は中止", "ignored: the meeting is cancelled"),
            Outcome::AfterDeadline => ("無視: 回答期限後", "ignored: after the answer deadline"),
            Outcome::Superseded => (
                "無視: その後に別の回答あり",
                "ignored: a later answer was given",
            ),
            Outcome::NoAnswer => ("無視: 出欠の回答なし", "ignored: no answer in it"),
            Outcome::Malformed => ("無視: 読み取れない返信", "ignored: unreadable reply"),
        };
        Msg::new(ja, en)
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerSource {
    /// The invitee's personal answer page.
    Link,
    /// Accept / Decline in the invitee's calendar (an iTIP reply).
    Calendar,
    /// Entered by the coordinator.
    Coordinator,
}

impl AnswerSource {
    pub fn slug(self) -> &'static str {
        match self {
            AnswerSource::Link => "link",
            AnswerSource::Calendar => "calendar",
            AnswerSource::Coordinator => "coordinator",
        }
    }

    pub fn label(source: &str) -> Msg {
        match source {
            "calendar" => Msg::new("カレンダーから", "from the calendar"),
            "coordinator" => Msg::new("事務局が入力", "entered by the office"),
            _ => Msg::new("回答ページから", "from the answer page"),
        }
    }
}

/// A calendar reply as coordinators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplyRow {
    pub id: i64,
    pub occurrence_id: Option<i64>,
    pub person_id: Option<i64>,
    /// The invitee's name (empty when no invitee matched).
    pub person_name: String,
    pub uid: String,
    pub sequence: Option<i64>,
    pub attendee: String,
    pub sender: String,
    /// ACCEPTED, DECLINED, TENTATIVE, DELEGATED, NEEDS-ACTION.
    pub partstat: String,
    /// The calendar program that sent it (PRODID).
    pub client: String,
    pub outcome: Outcome,
    pub outcome_label: Msg,
    pub ignored: bool,
    pub detail: String,
    pub received_at: String,
}

/// What recording one message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub outcome: Outcome,
    /// The message had been recorded before (read again): nothing was written.
    pub duplicate: bool,
    pub occurrence_id: Option<i64>,
    pub detail: String,
}

/// Longest stored texts, as on the answer page.
const DEPUTY_NAME_MAX: usize = 100;
const COMMENT_MAX: usize = 1000;

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

struct Meeting {
    id: i64,
    municipality: MunicipalityId,
    sequence: i64,
    status: String,
    date: String,
}

/// What the checks decided before any answer is written.
enum Decision {
    Ignore(Outcome, String),
    Tentative,
    Answer {
        answer: &'static str,
        deputy_name: String,
    },
}

fn decide(
    mail: &ReplyMail,
    r: &CalendarReply,
    meeting: &Meeting,
    deadline: Option<chrono::NaiveDate>,
    today: chrono::NaiveDate,
) -> Decision {
    let sender_ok = mail.sender == r.attendee || r.sent_by.as_deref() == Some(&mail.sender);
    if mail.dmarc_failed {
        return Decision::Ignore(
            Outcome::Forged,
            format!(
                "the receiving server found DMARC failed for {}",
                mail.sender
            ),
        );
    }
    if !sender_ok {
        return Decision::Ignore(
            Outcome::Forged,
            format!(
                "sent by {} for {}",
                if mail.sender.is_empty() {
                    "(no From)"
                } else {
                    &mail.sender
                },
                r.attendee
            ),
        );
    }
    if r.sequence < meeting.sequence {
        return Decision::Ignore(
            Outcome::Stale,
            format!(
                "SEQUENCE {} is older than the meeting's {}",
                r.sequence, meeting.sequence
            ),
        );
    }
    if meeting.status == "cancelled" {
        return Decision::Ignore(Outcome::Cancelled, String::new());
    }
    if let Some(deadline) = deadline.filter(|d| today > *d) {
        return Decision::Ignore(Outcome::AfterDeadline, format!("deadline {deadline}"));
    }
    match r.partstat {
        PartStat::Accepted => Decision::Answer {
            answer: "attend",
            deputy_name: String::new(),
        },
        PartStat::Declined => Decision::Answer {
            answer: "decline",
            deputy_name: String::new(),
        },
        PartStat::Delegated => {
            let d = r.delegate.clone();
            let name = d
                .map(|d| if d.name.is_empty() { d.address } else { d.name })
                .unwrap_or_default();
            if name.is_empty() {
                Decision::Ignore(
                    Outcome::Malformed,
                    "delegated without naming the delegate".into(),
                )
            } else {
                Decision::Answer {
                    answer: "deputy",
                    deputy_name: cut(&name, DEPUTY_NAME_MAX),
                }
            }
        }
        PartStat::Tentative => Decision::Tentative,
        PartStat::Other => Decision::Ignore(Outcome::NoAnswer, String::new()),
    }
}

/// The instant a calendar answer is stamped with: when the attendee answered (`DTSTAMP`, else
/// the mail's `Date`), never later than now.
fn answered_at(mail: &ReplyMail, r: &CalendarReply) -> DateTime<Utc> {
    let t = Utc::now();
    r.stamp.or(mail.date).map(|s| s.min(t)).unwrap_or(t)
}

impl Db {
    /// Records one message of the organizer's mailbox that holds a calendar reply (or a
    /// malformed one): the answer it gives, or why it was ignored. Idempotent per Message-ID.
    pub async fn record_calendar_reply(
        &self,
        mail: &ReplyMail,
        answer_deadline_days: i64,
    ) -> Result<Recorded> {
        // A conditional write that found the answer changed rolls back and reads again; a few
        // rounds are plenty (each loser sees the winner's answer the next time).
        for _ in 0..5 {
            let attempt = self
                .retrying(|| self.try_record_calendar_reply(mail, answer_deadline_days))
                .await?;
            if let Some(recorded) = attempt {
                return Ok(recorded);
            }
        }
        Err(Error::busy())
    }

    async fn try_record_calendar_reply(
        &self,
        mail: &ReplyMail,
        deadline_days: i64,
    ) -> Result<Option<Recorded>> {
        let mut tx = self.begin_write().await?;
        let seen: Option<String> =
            sqlx::query_scalar("SELECT outcome FROM calendar_replies WHERE message_key = $1")
                .bind(&mail.message_key)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(outcome) = seen {
            return Ok(Some(Recorded {
                outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Malformed),
                duplicate: true,
                occurrence_id: None,
                detail: String::new(),
            }));
        }
        let r = match &mail.content {
            Content::Reply(r) => r,
            Content::Malformed(why) => {
                let row = RowInput::new(mail, None, Outcome::Malformed, why);
                return finish(tx, row, None).await;
            }
            Content::NotAReply => {
                return Err(Error::Internal(anyhow::anyhow!(
                    "not a calendar reply: {}",
                    mail.message_key
                )))
            }
        };
        // The meeting's row is locked before its version is read, like every writer of its
        // answers (`notices::lock_occurrence`): a publish moving it now is waited for.
        sqlx::query("UPDATE occurrences SET sequence = sequence WHERE uid = $1")
            .bind(&r.uid)
            .execute(&mut *tx)
            .await?;
        let meeting = sqlx::query(
            "SELECT id, municipality_id, sequence, status, date FROM occurrences WHERE uid = $1",
        )
        .bind(&r.uid)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| -> Result<Meeting> {
            Ok(Meeting {
                id: row.try_get("id")?,
                municipality: MunicipalityId(row.try_get("municipality_id")?),
                sequence: row.try_get("sequence")?,
                status: row.try_get("status")?,
                date: row.try_get("date")?,
            })
        })
        .transpose()?;
        let Some(meeting) = meeting else {
            let row = RowInput::new(mail, Some(r), Outcome::UnknownMeeting, "");
            return finish(tx, row, None).await;
        };
        let people: Vec<i64> = sqlx::query_scalar(
            "SELECT p.id FROM occurrence_attendees a JOIN people p ON p.id = a.person_id
             WHERE a.occurrence_id = $1 AND p.municipality_id = $2 AND LOWER(p.email) = $3
             ORDER BY p.id",
        )
        .bind(meeting.id)
        .bind(meeting.municipality.0)
        .bind(&r.attendee)
        .fetch_all(&mut *tx)
        .await?;
        let mut row = RowInput::new(mail, Some(r), Outcome::UnknownAttendee, "");
        row.municipality = Some(meeting.municipality);
        row.occurrence = Some(meeting.id);
        row.person = people.first().copied();
        if people.is_empty() {
            return finish(tx, row, Some(meeting.id)).await;
        }
        let today = renkei_solver::calendar::jst_date(Utc::now());
        // The answer page's deadline: on the municipality's calendar (its closures too).
        let calendar = super::calendar::business_calendar_on(&mut tx, meeting.municipality).await?;
        let deadline = chrono::NaiveDate::parse_from_str(&meeting.date, "%Y-%m-%d")
            .ok()
            .map(|d| crate::notices::answer_deadline(&calendar, d, deadline_days));
        let (answer, deputy_name) = match decide(mail, r, &meeting, deadline, today) {
            Decision::Ignore(outcome, detail) => {
                row.outcome = outcome;
                row.detail = detail;
                return finish(tx, row, Some(meeting.id)).await;
            }
            Decision::Tentative => {
                row.outcome = Outcome::Tentative;
                return finish(tx, row, Some(meeting.id)).await;
            }
            Decision::Answer {
                answer,
                deputy_name,
            } => (answer, deputy_name),
        };
        let stamp = instant_text(answered_at(mail, r));
        let comment = cut(&r.comment, COMMENT_MAX);
        row.outcome = Outcome::Unchanged;
        for &person in &people {
            let current = sqlx::query(
                "SELECT answer, deputy_name, comment, answered_at FROM attendance_answers
                 WHERE occurrence_id = $1 AND person_id = $2",
            )
            .bind(meeting.id)
            .bind(person)
            .fetch_optional(&mut *tx)
            .await?;
            let current = current
                .map(|c| -> Result<(String, String, String, String)> {
                    Ok((
                        c.try_get("answer")?,
                        c.try_get("deputy_name")?,
                        c.try_get("comment")?,
                        c.try_get("answered_at")?,
                    ))
                })
                .transpose()?;
            let written = match &current {
                Some((a, d, c, _)) if a == answer && *d == deputy_name && *c == comment => {
                    continue;
                }
                Some((_, _, _, at)) if *at > stamp => {
                    if row.outcome == Outcome::Unchanged {
                        row.outcome = Outcome::Superseded;
                        row.detail = format!("answered again at {at}");
                    }
                    continue;
                }
                None => sqlx::query(
                    "INSERT INTO attendance_answers (occurrence_id, person_id, municipality_id, answer, deputy_name,
                         deputy_organisation, comment, answered_at, source)
                     VALUES ($1, $2, $3, $4, $5, '', $6, $7, 'calendar')
                     ON CONFLICT (occurrence_id, person_id) DO NOTHING",
                )
                .bind(meeting.id)
                .bind(person)
                .bind(meeting.municipality.0)
                .bind(answer)
                .bind(&deputy_name)
                .bind(&comment)
                .bind(&stamp)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                Some((a, _, _, at)) => sqlx::query(
                    "UPDATE attendance_answers SET answer = $3, deputy_name = $4, deputy_organisation = '',
                         comment = $5, answered_at = $6, source = 'calendar'
                     WHERE occurrence_id = $1 AND person_id = $2 AND answer = $7 AND answered_at = $8",
                )
                .bind(meeting.id)
                .bind(person)
                .bind(answer)
                .bind(&deputy_name)
                .bind(&comment)
                .bind(&stamp)
                .bind(a)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            if written != 1 {
                // Another writer answered meanwhile: roll back and read again.
                return Ok(None);
            }
            row.outcome = Outcome::Applied;
            row.detail.clear();
            let via = match &r.sent_by {
                Some(s) => format!(" sent by {s}"),
                None => String::new(),
            };
            super::audit::record(
                &mut tx,
                Some(meeting.municipality),
                None,
                "answer",
                "occurrence",
                &meeting.id.to_string(),
                &format!(
                    "person {person}: {answer} (calendar reply{via} from {}, {}, message {})",
                    mail.sender, r.prodid, mail.message_key
                ),
            )
            .await?;
            // A lecturer's Accept / Decline moves their booking task like the answer page.
            super::booking::answer_moves_task(
                &mut tx,
                meeting.municipality,
                meeting.id,
                person,
                answer,
            )
            .await?;
        }
        finish(tx, row, Some(meeting.id)).await
    }

    /// Takes the lease on reading `mailbox` for `owner` until `lease` from now; false while
    /// another poller holds an unexpired one.
    pub async fn take_mailbox_lease(
        &self,
        mailbox: &str,
        owner: &str,
        lease: chrono::Duration,
    ) -> Result<bool> {
        let t = Utc::now();
        let n = sqlx::query(
            "INSERT INTO mailbox_leases (mailbox, lease_owner, lease_until) VALUES ($1, $2, $3)
             ON CONFLICT (mailbox) DO UPDATE SET lease_owner = $2, lease_until = $3
             WHERE mailbox_leases.lease_until < $4",
        )
        .bind(mailbox)
        .bind(owner)
        .bind(instant_text(t + lease))
        .bind(instant_text(t))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Gives the lease back (only its holder can).
    pub async fn release_mailbox_lease(&self, mailbox: &str, owner: &str) -> Result<()> {
        sqlx::query("DELETE FROM mailbox_leases WHERE mailbox = $1 AND lease_owner = $2")
            .bind(mailbox)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The calendar replies read for one meeting, newest first.
    pub async fn occurrence_calendar_replies(
        &self,
        m: MunicipalityId,
        occurrence: i64,
    ) -> Result<Vec<ReplyRow>> {
        let rows = sqlx::query(&format!(
            "{REPLY_SELECT} WHERE r.municipality_id = $1 AND r.occurrence_id = $2 ORDER BY r.id DESC"
        ))
        .bind(m.0)
        .bind(occurrence)
        .fetch_all(&self.pool)
        .await?;
        reply_rows(&rows)
    }

    /// The municipality's calendar replies, newest first, a page at a time: all, those of one
    /// outcome, or every ignored one.
    pub async fn list_calendar_replies(
        &self,
        m: MunicipalityId,
        filter: ReplyFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ReplyRow>> {
        let rows = sqlx::query(&format!(
            "{REPLY_SELECT} WHERE r.municipality_id = $1 AND {} ORDER BY r.id DESC LIMIT $2 OFFSET $3",
            filter.sql()
        ))
        .bind(m.0)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        reply_rows(&rows)
    }

    /// How many replies [`Db::list_calendar_replies`] pages through.
    pub async fn count_calendar_replies(
        &self,
        m: MunicipalityId,
        filter: ReplyFilter,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM calendar_replies r WHERE r.municipality_id = $1 AND {}",
            filter.sql()
        ))
        .bind(m.0)
        .fetch_one(&self.pool)
        .await?)
    }
}

/// Which calendar replies a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyFilter {
    All,
    Ignored,
    Outcome(Outcome),
}

impl ReplyFilter {
    /// The condition, built only from the fixed outcome words (never from input text).
    fn sql(self) -> String {
        let list = |outcomes: Vec<Outcome>| {
            outcomes
                .iter()
                .map(|o| format!("'{}'", o.slug()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            ReplyFilter::All => "1 = 1".into(),
            ReplyFilter::Ignored => format!(
                "r.outcome IN ({})",
                list(Outcome::ALL.into_iter().filter(|o| o.ignored()).collect())
            ),
            ReplyFilter::Outcome(o) => format!("r.outcome IN ({})", list(vec![o])),
        }
    }
}

const REPLY_SELECT: &str =
    "SELECT r.id, r.occurrence_id, r.person_id, COALESCE(p.name, '') AS person_name, r.uid, r.sequence,
            r.attendee, r.sender, r.partstat, r.client, r.outcome, r.detail, r.received_at
     FROM calendar_replies r LEFT JOIN people p ON p.id = r.person_id";

fn reply_rows(rows: &[sqlx::any::AnyRow]) -> Result<Vec<ReplyRow>> {
    rows.iter()
        .map(|r| {
            let outcome: String = r.try_get("outcome")?;
            let outcome = Outcome::parse(&outcome).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("stored reply outcome {outcome}"))
            })?;
            Ok(ReplyRow {
                id: r.try_get("id")?,
                occurrence_id: r.try_get("occurrence_id")?,
                person_id: r.try_get("person_id")?,
                person_name: r.try_get("person_name")?,
                uid: r.try_get("uid")?,
                sequence: r.try_get("sequence")?,
                attendee: r.try_get("attendee")?,
                sender: r.try_get("sender")?,
                partstat: r.try_get("partstat")?,
                client: r.try_get("client")?,
                outcome,
                outcome_label: outcome.label(),
                ignored: outcome.ignored(),
                detail: r.try_get("detail")?,
                received_at: r.try_get("received_at")?,
            })
        })
        .collect()
}

/// The `calendar_replies` row of one message.
struct RowInput {
    message_key: String,
    municipality: Option<MunicipalityId>,
    occurrence: Option<i64>,
    person: Option<i64>,
    uid: String,
    sequence: Option<i64>,
    attendee: String,
    sender: String,
    partstat: String,
    client: String,
    outcome: Outcome,
    detail: String,
}

impl RowInput {
    fn new(
        mail: &ReplyMail,
        r: Option<&CalendarReply>,
        outcome: Outcome,
        detail: &str,
    ) -> RowInput {
        RowInput {
            message_key: mail.message_key.clone(),
            municipality: None,
            occurrence: None,
            person: None,
            uid: r.map(|r| r.uid.clone()).unwrap_or_default(),
            sequence: r.map(|r| r.sequence),
            attendee: r.map(|r| r.attendee.clone()).unwrap_or_default(),
            sender: mail.sender.clone(),
            partstat: r.map(|r| r.partstat.slug().to_string()).unwrap_or_default(),
            client: r.map(|r| cut(&r.prodid, 200)).unwrap_or_default(),
            outcome,
            detail: cut(detail, 500),
        }
    }
}

/// Writes the reply's row and commits; a row another poller wrote first means this one was a
/// repeat, and everything is rolled back.
async fn finish(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    row: RowInput,
    occurrence: Option<i64>,
) -> Result<Option<Recorded>> {
    let inserted = insert_row(&mut tx, &row).await?;
    if !inserted {
        // Another poller recorded it meanwhile: report what it recorded.
        let stored: Option<String> =
            sqlx::query_scalar("SELECT outcome FROM calendar_replies WHERE message_key = $1")
                .bind(&row.message_key)
                .fetch_optional(&mut *tx)
                .await?;
        tx.rollback().await?;
        return Ok(Some(Recorded {
            outcome: stored
                .as_deref()
                .and_then(Outcome::parse)
                .unwrap_or(row.outcome),
            duplicate: true,
            occurrence_id: occurrence,
            detail: String::new(),
        }));
    }
    tx.commit().await?;
    Ok(Some(Recorded {
        outcome: row.outcome,
        duplicate: false,
        occurrence_id: occurrence,
        detail: row.detail,
    }))
}

async fn insert_row(conn: &mut AnyConnection, row: &RowInput) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO calendar_replies (message_key, municipality_id, occurrence_id, person_id, uid, sequence, attendee,
             sender, partstat, client, outcome, detail, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (message_key) DO NOTHING",
    )
    .bind(&row.message_key)
    .bind(row.municipality.map(|m| m.0))
    .bind(row.occurrence)
    .bind(row.person)
    .bind(&row.uid)
    .bind(row.sequence)
    .bind(&row.attendee)
    .bind(&row.sender)
    .bind(&row.partstat)
    .bind(&row.client)
    .bind(row.outcome.slug())
    .bind(&row.detail)
    .bind(now())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}
