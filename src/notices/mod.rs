//! Notices by email: what a notice says (rendered from the templates in `templates/mail/`, one
//! subject, text and HTML file per kind) and the calendar invitation it carries. Delivery is in
//! [`outbox`]; queueing is in `store::notices`.
//!
//! Every message is `multipart/alternative`: a complete `text/plain` part (many municipal
//! networks strip HTML and attachments, so the text alone carries date, time, place and the
//! answer link), `text/html`, and for meetings `text/calendar; method=REQUEST` (or `CANCEL`)
//! with a stable UID, the occurrence's SEQUENCE, UTC times, ORGANIZER and the recipient as
//! ATTENDEE with RSVP. The Message-ID is derived from the notice's idempotency key, so a retry
//! sends the same message.

pub mod imap;
pub mod outbox;
pub mod replies;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc};
use icalendar::{Component, EventLike, EventStatus, Property};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use minijinja::context;
use renkei_solver::calendar::BusinessCalendar;
use renkei_solver::calendar::{jst_date, jst_to_utc, weekday_ja};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::meetings::OccurrenceRow;
use crate::store::notices::{Answer, Claimed, NoticeKind};
use crate::store::Db;

/// What the mail worker needs from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub public_url: String,
    pub from: Mailbox,
    pub answer_deadline_days: i64,
    /// Whom recipients contact (shown in every notice).
    pub contact: crate::config::Contact,
}

impl Settings {
    pub fn from_config(c: &Config) -> anyhow::Result<Settings> {
        Ok(Settings {
            public_url: c.public_url.trim_end_matches('/').to_string(),
            from: c.mail_sender()?,
            answer_deadline_days: c.answer_deadline_days,
            contact: c.contact(),
        })
    }

    fn domain(&self) -> &str {
        self.from.email.domain()
    }

    pub fn message_id(&self, key: &str) -> String {
        format!("<{key}@{}>", self.domain())
    }
}

/// The last day answers are accepted for a meeting on `date`: `days` before it, moved back to
/// the previous open day (weekends, national holidays and 年末年始 are not deadlines).
pub fn answer_deadline(calendar: &BusinessCalendar, date: NaiveDate, days: i64) -> NaiveDate {
    open_on_or_before(calendar, date - Duration::days(days))
}

/// The day a chase goes to those who have not answered: `chase_days` before the answer
/// deadline, on an open day.
pub fn chase_date(
    calendar: &BusinessCalendar,
    date: NaiveDate,
    answer_deadline_days: i64,
    chase_days: i64,
) -> NaiveDate {
    open_on_or_before(
        calendar,
        answer_deadline(calendar, date, answer_deadline_days) - Duration::days(chase_days),
    )
}

/// `day`, or the open day before it in the municipality's calendar (Monday to Friday, not a
/// holiday, 年末年始 or one of its own closures).
fn open_on_or_before(calendar: &BusinessCalendar, mut day: NaiveDate) -> NaiveDate {
    // Bounded: 年末年始 with a weekend is under two weeks; a municipality's own closure (a
    // relocation) may add a few weeks more.
    for _ in 0..90 {
        if calendar.is_open(day) {
            break;
        }
        day -= Duration::days(1);
    }
    day
}

/// The signature of a notice: the municipality and the sender's name, the municipality only
/// once when the name already carries it (「みらい市 基幹相談支援センター」).
pub fn signature(municipality: &str, from: Option<&str>) -> String {
    match from.map(str::trim).filter(|f| !f.is_empty()) {
        None => municipality.to_string(),
        Some(f) if f.contains(municipality) => f.to_string(),
        Some(f) => format!("{municipality} {f}"),
    }
}

/// 2027年5月12日（水）
pub fn date_ja(d: NaiveDate) -> String {
    format!(
        "{}年{}月{}日（{}）",
        d.year(),
        d.month(),
        d.day(),
        weekday_ja(d.weekday())
    )
}

/// Saturday, 5 December 2027 (the English pages' and mails' date).
pub fn date_en(d: NaiveDate) -> String {
    d.format("%A, %-d %B %Y").to_string()
}

/// A date as a page in `lang` writes it.
pub fn date_in(lang: crate::i18n::Lang, d: NaiveDate) -> String {
    match lang {
        crate::i18n::Lang::Ja => date_ja(d),
        crate::i18n::Lang::En => date_en(d),
    }
}

pub fn answer_label(answer: &str) -> (&'static str, &'static str) {
    match answer {
        "attend" => ("出席", "attending"),
        "decline" => ("欠席", "not attending"),
        "deputy" => ("代理出席", "sending a deputy"),
        _ => ("未回答", "no answer yet"),
    }
}

/// What rendering a claimed notice gives.
pub enum Rendered {
    Message {
        subject: String,
        raw: String,
        /// (token hash, link kind, expires) of the answer link the message carries.
        link: Option<(String, &'static str, NaiveDate)>,
    },
    /// A newer notice replaces this one (the meeting moved again, was cancelled, was answered).
    Superseded(String),
    /// It can never be sent (e.g. the address is malformed).
    Failed(String),
}

/// Where a meeting is held: the venue, and the room when it has its own name.
pub fn place(o: &OccurrenceRow) -> String {
    if o.room_name == o.venue_name || o.room_name.is_empty() {
        o.venue_name.clone()
    } else {
        format!("{} {}", o.venue_name, o.room_name)
    }
}

fn time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

/// The calendar part of a meeting notice.
pub fn meeting_ics(
    o: &OccurrenceRow,
    kind: NoticeKind,
    settings: &Settings,
    recipient: &Mailbox,
    description: &str,
) -> Result<String> {
    let date = NaiveDate::parse_from_str(&o.date, "%Y-%m-%d")
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored date: {e}")))?;
    let (Some(start), Some(end)) = (time(&o.start), time(&o.end)) else {
        return Err(Error::Internal(anyhow::anyhow!("stored times of {}", o.id)));
    };
    let cancel = kind == NoticeKind::Cancellation || o.status == "cancelled";
    let mut cal = crate::meetings::ical::calendar("-//renkei//notices//JA");
    cal.append_property(("METHOD", if cancel { "CANCEL" } else { "REQUEST" }));
    let mut e = icalendar::Event::new();
    let mut organizer = Property::new("ORGANIZER", format!("mailto:{}", settings.from.email));
    if let Some(name) = &settings.from.name {
        organizer.add_parameter("CN", name);
    }
    let mut attendee = Property::new("ATTENDEE", format!("mailto:{}", recipient.email));
    if let Some(name) = &recipient.name {
        attendee.add_parameter("CN", name);
    }
    attendee
        .add_parameter("ROLE", "REQ-PARTICIPANT")
        .add_parameter("PARTSTAT", "NEEDS-ACTION");
    // A cancellation asks for no answer.
    if !cancel {
        attendee.add_parameter("RSVP", "TRUE");
    }
    let location = if o.venue_address.is_empty() {
        place(o)
    } else {
        format!("{}（{}）", place(o), o.venue_address)
    };
    e.uid(&o.uid)
        .summary(&o.title)
        .starts(jst_to_utc(date, start))
        .ends(jst_to_utc(date, end))
        .sequence(o.sequence.max(0) as u32)
        .timestamp(Utc::now())
        .location(&location)
        .description(description)
        .status(if cancel {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        })
        .append_property(organizer.done())
        .append_multi_property(attendee.done());
    cal.push(e.done());
    Ok(cal.done().to_string())
}

fn templates(kind: NoticeKind, ctx: minijinja::Value) -> Result<(String, String, String)> {
    let name = kind.slug();
    let subject = crate::web::templates::render(&format!("mail/{name}.subject.txt"), ctx.clone())?;
    let text = crate::web::templates::render(&format!("mail/{name}.txt"), ctx.clone())?;
    let html = crate::web::templates::render(&format!("mail/{name}.html"), ctx)?;
    Ok((subject.trim().replace(['\r', '\n'], " "), text, html))
}

fn build(
    settings: &Settings,
    n: &Claimed,
    to: Mailbox,
    subject: &str,
    text: String,
    html: String,
    ics: Option<(String, bool)>,
) -> Result<String> {
    let mut alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(text))
        .singlepart(SinglePart::html(html));
    if let Some((ics, cancel)) = ics {
        let method = if cancel { "CANCEL" } else { "REQUEST" };
        let ct = ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
            .map_err(|e| Error::Internal(anyhow::anyhow!("content type: {e}")))?;
        alternative = alternative.singlepart(SinglePart::builder().header(ct).body(ics));
    }
    let message = Message::builder()
        .header(AutoSubmitted)
        .from(settings.from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(settings.message_id(&n.message_key)))
        .multipart(alternative)
        .map_err(|e| Error::Internal(anyhow::anyhow!("building the message: {e}")))?;
    let raw = String::from_utf8(message.formatted())
        .map_err(|e| Error::Internal(anyhow::anyhow!("message is not UTF-8: {e}")))?;
    Ok(fold_header_lines(&raw))
}

/// Folds the message's header lines that are longer than 78 characters (RFC 5322 2.1.1 and
/// 2.2.3: a CRLF before whitespace). lettre encodes a long display name as several encoded
/// words on their own lines, but leaves the last of them and the address on one line, which
/// with a long name and address passes 78 characters (issue 16: `To` lines). The break goes
/// before the last space that keeps the line within the limit; a line with no such space
/// (one long address) stays whole, well within the hard limit of 998.
fn fold_header_lines(raw: &str) -> String {
    const LIMIT: usize = 78;
    let Some(end) = raw.find("\r\n\r\n") else {
        return raw.to_string();
    };
    let (head, body) = raw.split_at(end);
    let mut out = String::with_capacity(raw.len() + 16);
    for (i, line) in head.split("\r\n").enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let mut rest = line;
        while rest.len() > LIMIT && rest.is_ascii() {
            // Header text is ASCII once encoded; a space at byte 1.. (never the line's own
            // leading fold space) within the limit.
            match rest[..=LIMIT].rfind(' ').filter(|at| *at > 0) {
                Some(at) => {
                    out.push_str(&rest[..at]);
                    out.push_str("\r\n");
                    rest = &rest[at..];
                }
                None => break,
            }
        }
        out.push_str(rest);
    }
    out.push_str(body);
    out
}

/// `Auto-Submitted: auto-generated` (RFC 3834): auto-responders do not answer notices.
#[derive(Clone)]
struct AutoSubmitted;

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        let value = "auto-generated".to_string();
        lettre::message::header::HeaderValue::dangerous_new_pre_encoded(
            Self::name(),
            value.clone(),
            value,
        )
    }
}

fn recipient(n: &Claimed) -> std::result::Result<Mailbox, String> {
    let address = n.recipient_email.trim().parse().map_err(|e| {
        format!(
            "宛先「{}」はメールアドレスではありません。名簿のメールアドレスを直してください / \"{}\" is not a mail address ({e}); correct it in the directory",
            n.recipient_email, n.recipient_email
        )
    })?;
    Ok(Mailbox::new(
        Some(n.recipient_name.clone()).filter(|s| !s.is_empty()),
        address,
    ))
}

/// Renders a claimed notice from the current state: a meeting notice from the occurrence, a
/// placement notice from the request and its holds.
pub async fn render(db: &Db, settings: &Settings, n: &Claimed) -> Result<Rendered> {
    let to = match recipient(n) {
        Ok(to) => to,
        Err(why) => return Ok(Rendered::Failed(why)),
    };
    let municipality = db.municipality(n.municipality_id).await?;
    if let Some(task) = n.booking_task_id {
        return render_booking_reminder(db, settings, n, to, &municipality.name, task).await;
    }
    if n.kind.is_meeting() {
        render_meeting(db, settings, n, to, &municipality.name).await
    } else {
        render_placement(db, settings, n, to, &municipality.name).await
    }
}

async fn render_meeting(
    db: &Db,
    settings: &Settings,
    n: &Claimed,
    to: Mailbox,
    municipality: &str,
) -> Result<Rendered> {
    let (Some(occurrence), Some(person)) = (n.occurrence_id, n.person_id) else {
        return Ok(Rendered::Failed(
            "会議の通知に会議がありません / no meeting".into(),
        ));
    };
    let o = db.occurrence(n.municipality_id, occurrence).await?;
    let answer = db.answer_of(occurrence, person).await?;
    let cancelled = o.status == "cancelled";
    let superseded = match n.kind {
        NoticeKind::Invitation | NoticeKind::Update => cancelled || o.sequence > n.version,
        NoticeKind::Cancellation => !cancelled,
        NoticeKind::Reminder => {
            cancelled || answer.as_ref().is_some_and(|(a, _)| a.answer == "decline")
        }
        NoticeKind::Chase => cancelled || answer.is_some(),
        _ => false,
    };
    if superseded {
        return Ok(Rendered::Superseded(
            "新しい通知に置き換えられました / replaced by a newer notice".into(),
        ));
    }
    // Nothing is queued for a meeting held by another body; the worker checks again, so no
    // path can make renkei write to its attendees as if it were the organiser.
    if o.is_held_by_others() {
        return Ok(Rendered::Superseded(
            "他機関主催の会議です（招待は主催者が送ります） / held by another body (its host invites)".into(),
        ));
    }
    let date = NaiveDate::parse_from_str(&o.date, "%Y-%m-%d")
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored date: {e}")))?;
    let calendar = db.business_calendar(n.municipality_id).await?;
    let deadline = answer_deadline(&calendar, date, settings.answer_deadline_days);
    let deadline_passed = jst_date(Utc::now()) > deadline;
    // After the deadline a notice informs; it offers no answer link.
    let (link, url) = if cancelled || deadline_passed {
        (None, String::new())
    } else {
        let token = crate::auth::random_token(16);
        (
            Some((
                crate::auth::sha256_hex(&token),
                "attendance",
                date + Duration::days(1),
            )),
            format!("{}/answer/{token}", settings.public_url),
        )
    };
    let current = answer
        .as_ref()
        .map(|(a, _)| a.answer.as_str())
        .unwrap_or("none");
    // A cancellation says why (the reason the coordinator entered, kept in the record).
    let reason = if n.kind == NoticeKind::Cancellation {
        db.occurrence_record(n.municipality_id, occurrence)
            .await?
            .map(|r| r.reason)
            .unwrap_or_default()
    } else {
        String::new()
    };
    // An update says what the meeting was before.
    let before = if n.kind == NoticeKind::Update {
        db.occurrence_before(n.municipality_id, occurrence, n.version)
            .await?
            .and_then(|(d, start, end, place)| {
                let day = NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()?;
                Some(context! { date => date_ja(day), date_en => date_en(day), date_iso => d, start => start, end => end, place => place })
            })
    } else {
        None
    };
    let ctx = context! {
        municipality => municipality,
        reason => reason,
        before => before,
        recipient => n.recipient_name,
        title => o.title,
        title_en => o.title_en,
        date => date_ja(date),
        date_en => date_en(date),
        date_iso => o.date,
        start => o.start,
        end => o.end,
        place => place(&o),
        address => o.venue_address,
        // The English part's link opens the answer page in English.
        answer_url_en => if url.is_empty() { String::new() } else { format!("{url}?lang=en") },
        answer_url => url,
        deadline => date_ja(deadline),
        deadline_en => date_en(deadline),
        contact => settings.contact.clone(),
        deadline_passed => deadline_passed,
        answer => answer_label(current).0,
        answer_en => answer_label(current).1,
        answered => answer.is_some(),
        sequence => o.sequence,
        signature => signature(municipality, settings.from.name.as_deref()),
    };
    let (subject, text, html) = templates(n.kind, ctx)?;
    let description = if url.is_empty() {
        format!("{}\n{}", o.title, o.title_en)
    } else {
        format!("出欠のご回答 / Please answer: {url}")
    };
    let ics = meeting_ics(&o, n.kind, settings, &to, &description)?;
    let raw = build(
        settings,
        n,
        to,
        &subject,
        text,
        html,
        Some((ics, cancelled)),
    )?;
    Ok(Rendered::Message { subject, raw, link })
}

/// The reminder to a coordinator that a booking task is due (`store::booking`): superseded
/// when the lecturer was asked or answered meanwhile, or the meeting was cancelled.
async fn render_booking_reminder(
    db: &Db,
    settings: &Settings,
    n: &Claimed,
    to: Mailbox,
    municipality: &str,
    task: i64,
) -> Result<Rendered> {
    let t = match db.booking_task(n.municipality_id, task).await {
        Ok(t) => t,
        Err(Error::NotFound(_)) => {
            return Ok(Rendered::Superseded(
                "会議は中止されました / the meeting was cancelled".into(),
            ))
        }
        Err(e) => return Err(e),
    };
    if t.status != crate::store::booking::BookingStatus::Open {
        return Ok(Rendered::Superseded(
            "講師・SVには依頼済みです / the lecturer was asked meanwhile".into(),
        ));
    }
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let (date, due) = (day(&t.meeting_date), day(&t.due_date));
    let ctx = context! {
        municipality => municipality,
        recipient => n.recipient_name,
        title => t.title,
        title_en => t.title_en,
        date => date.map(date_ja).unwrap_or_else(|| t.meeting_date.clone()),
        date_en => date.map(date_en).unwrap_or_else(|| t.meeting_date.clone()),
        start => t.start,
        end => t.end,
        lecturer => t.person_name,
        lecturer_email => t.person_email,
        due => due.map(date_ja).unwrap_or_else(|| t.due_date.clone()),
        due_en => due.map(date_en).unwrap_or_else(|| t.due_date.clone()),
        tasks_url => format!("{}/meetings/bookings", settings.public_url),
        contact => settings.contact.clone(),
        signature => signature(municipality, settings.from.name.as_deref()),
    };
    let subject = crate::web::templates::render("mail/booking_reminder.subject.txt", ctx.clone())?;
    let text = crate::web::templates::render("mail/booking_reminder.txt", ctx.clone())?;
    let html = crate::web::templates::render("mail/booking_reminder.html", ctx)?;
    let subject = subject.trim().replace(['\r', '\n'], " ");
    let raw = build(settings, n, to, &subject, text, html, None)?;
    Ok(Rendered::Message {
        subject,
        raw,
        link: None,
    })
}

async fn render_placement(
    db: &Db,
    settings: &Settings,
    n: &Claimed,
    to: Mailbox,
    municipality: &str,
) -> Result<Rendered> {
    let Some(facility) = n.facility_id else {
        return Ok(Rendered::Failed("施設がありません / no facility".into()));
    };
    let m = n.municipality_id;
    let f = db.facility(m, facility).await?;
    let holds: Vec<_> = match n.request_id {
        Some(r) => db
            .request_holds_at(m, r, facility)
            .await?
            .into_iter()
            .filter(|h| h.id >= n.version)
            .collect(),
        None => Vec::new(),
    };
    let mut link = None;
    let mut url = String::new();
    match n.kind {
        NoticeKind::PlacementRequest => {
            let held: Vec<_> = holds.iter().filter(|h| h.status == "held").collect();
            if held.is_empty() {
                return Ok(Rendered::Superseded(
                    "提案は既に回答・取り下げ・期限切れです / the proposal was answered, withdrawn or expired".into(),
                ));
            }
            let token = crate::auth::random_token(16);
            let expires = held
                .iter()
                .filter_map(|h| crate::store::parse_instant(&h.expires_at))
                .max()
                .map(jst_date)
                .unwrap_or_else(|| jst_date(Utc::now()))
                + Duration::days(1);
            link = Some((crate::auth::sha256_hex(&token), "placement", expires));
            url = format!("{}/answer/{token}", settings.public_url);
        }
        NoticeKind::VacancyRequest => {
            let token = db.rotate_facility_link(m, None, facility).await?;
            url = format!("{}/facility/{token}", settings.public_url);
        }
        _ => {}
    }
    let stays: Vec<minijinja::Value> = holds
        .iter()
        .filter(|h| match n.kind {
            NoticeKind::PlacementRequest => h.status == "held",
            NoticeKind::PlacementConfirmed => h.status == "placed" || h.status == "accepted",
            NoticeKind::PlacementWithdrawn => h.status == "withdrawn",
            _ => true,
        })
        .map(|h| {
            let nights = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
            let (from, to) = (nights(&h.from), nights(&h.to));
            context! {
                case_number => h.case_number,
                bed => format!("{} {}", h.room_name, h.bed_name),
                from => from.map(date_ja).unwrap_or_else(|| h.from.clone()),
                to => to.map(date_ja).unwrap_or_else(|| h.to.clone()),
                from_en => from.map(date_en).unwrap_or_else(|| h.from.clone()),
                to_en => to.map(date_en).unwrap_or_else(|| h.to.clone()),
                nights => match (from, to) { (Some(a), Some(b)) => (b - a).num_days(), _ => 0 },
                expires => crate::store::local_time(&h.expires_at),
            }
        })
        .collect();
    let case_number = holds
        .first()
        .map(|h| h.case_number.clone())
        .unwrap_or_default();
    let ctx = context! {
        municipality => municipality,
        facility => f.name,
        recipient => n.recipient_name,
        case_number => case_number,
        stays => stays,
        answer_url_en => if url.is_empty() { String::new() } else { format!("{url}?lang=en") },
        answer_url => url,
        contact => settings.contact.clone(),
        signature => signature(municipality, settings.from.name.as_deref()),
    };
    let (subject, text, html) = templates(n.kind, ctx)?;
    let raw = build(settings, n, to, &subject, text, html, None)?;
    Ok(Rendered::Message { subject, raw, link })
}

/// What an invitee may send through the answer page.
/// Why a meeting (ours or one held by another body) is cancelled: required, at most 500
/// characters; said in the cancellation mail and kept as the record's reason.
pub fn cancel_reason(text: &str) -> std::result::Result<&str, crate::master::FieldError> {
    let reason = text.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(crate::master::FieldError::new(
            "reason",
            "中止の理由を500文字以内で書いてください",
            "write why it is cancelled (at most 500 characters)",
        ));
    }
    Ok(reason)
}

pub fn parse_answer(
    answer: &str,
    deputy_name: &str,
    deputy_organisation: &str,
    comment: &str,
) -> std::result::Result<Answer, Vec<crate::master::FieldError>> {
    use crate::master::FieldError;
    let mut errors = Vec::new();
    let answer = answer.trim();
    if !matches!(answer, "attend" | "decline" | "deputy") {
        errors.push(FieldError::new(
            "answer",
            "出席・欠席・代理出席のどれかを選んでください",
            "choose attend, decline or deputy",
        ));
    }
    let deputy_name = deputy_name.trim();
    if answer == "deputy" && deputy_name.is_empty() {
        errors.push(FieldError::new(
            "deputy_name",
            "代理出席の方のお名前を書いてください",
            "write the name of your deputy",
        ));
    }
    for (field, value, max) in [
        ("deputy_name", deputy_name, 100),
        ("deputy_organisation", deputy_organisation.trim(), 200),
        ("comment", comment.trim(), 1000),
    ] {
        if value.chars().count() > max {
            errors.push(FieldError::new(
                field,
                format!("{max}文字以内にしてください"),
                format!("at most {max} characters"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let deputy = answer == "deputy";
    Ok(Answer {
        answer: answer.to_string(),
        deputy_name: if deputy {
            deputy_name.to_string()
        } else {
            String::new()
        },
        deputy_organisation: if deputy {
            deputy_organisation.trim().to_string()
        } else {
            String::new()
        },
        comment: comment.trim().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn deadlines_and_chases_fall_on_open_days() {
        let cal = BusinessCalendar::default();
        // Two days before Monday is a Saturday: the Friday before.
        assert_eq!(answer_deadline(&cal, d("2027-05-10"), 2), d("2027-05-07"));
        // Its chase two days earlier would be こどもの日 (5/5): the open day before Golden Week.
        assert_eq!(chase_date(&cal, d("2027-05-10"), 2, 2), d("2027-04-30"));
        // Golden Week: 5/4 みどりの日, 5/3 憲法記念日, then the weekend: Friday 4/30.
        assert_eq!(answer_deadline(&cal, d("2027-05-06"), 2), d("2027-04-30"));
        // 年末年始: a meeting on 1/5 is answered by Monday 12/28.
        assert_eq!(answer_deadline(&cal, d("2027-01-05"), 2), d("2026-12-28"));
        // An open day stays.
        assert_eq!(answer_deadline(&cal, d("2027-05-13"), 2), d("2027-05-11"));
    }

    /// The municipality's own closures (臨時休業) move deadlines and chases like holidays.
    #[test]
    fn a_municipality_closure_moves_the_deadline_and_the_chase() {
        let mut cal = BusinessCalendar::default();
        cal.extra_closures
            .insert(d("2027-05-11"), "庁舎設備点検".to_string());
        cal.extra_closures
            .insert(d("2027-05-12"), "庁舎設備点検".to_string());
        // A Friday meeting, deadline Wednesday 5/12, closed with Tuesday: Monday 5/10.
        assert_eq!(answer_deadline(&cal, d("2027-05-14"), 2), d("2027-05-10"));
        // Its chase two days earlier is Saturday 5/8: Friday 5/7.
        assert_eq!(chase_date(&cal, d("2027-05-14"), 2, 2), d("2027-05-07"));
        // Without the closure both stay where the national calendar puts them.
        let national = BusinessCalendar::default();
        assert_eq!(
            answer_deadline(&national, d("2027-05-14"), 2),
            d("2027-05-12")
        );
    }

    /// Issue 16: an update shows before → after; a cancellation says why and that it attaches
    /// a CANCEL.
    #[test]
    fn updates_show_before_and_cancellations_say_why() {
        let ctx = |before: Option<minijinja::Value>, reason: &str| {
            minijinja::context! {
                municipality => "みらい市", recipient => "山田 太郎", title => "事例検討会",
                title_en => "", date => "2027年6月10日（木）", date_iso => "2027-06-10",
                start => "14:00", end => "16:00", place => "福祉センター 研修室A", address => "",
                answer_url => "", deadline => "", deadline_passed => false, answer => "未回答",
                answer_en => "none", answered => false, sequence => 2, signature => "みらい市",
                reason => reason, before => before,
            }
        };
        let before = minijinja::context! {
            date => "2027年6月3日（木）", date_iso => "2027-06-03", start => "10:00",
            end => "12:00", place => "市役所 第1会議室",
        };
        let (_, text, html) = templates(NoticeKind::Update, ctx(Some(before), "")).unwrap();
        assert!(
            text.contains("■ 変更前 / Before\n  2027年6月3日（木） 10:00〜12:00"),
            "{text}"
        );
        assert!(text.contains("市役所 第1会議室"), "{text}");
        assert!(
            text.contains("2027年6月10日（木） 14:00〜16:00"),
            "after: {text}"
        );
        assert!(html.contains("変更前"), "{html}");
        let (_, text, _) = templates(NoticeKind::Update, ctx(None, "")).unwrap();
        assert!(
            !text.contains("変更前"),
            "no before known, none shown: {text}"
        );
        let (_, text, _) = templates(NoticeKind::Cancellation, ctx(None, "台風のため")).unwrap();
        assert!(text.contains("中止の理由: 台風のため"), "{text}");
        assert!(text.contains("iCalendar CANCEL"), "{text}");
    }

    #[test]
    fn the_signature_names_the_municipality_once() {
        assert_eq!(
            signature("みらい市", Some("みらい市 基幹相談支援センター")),
            "みらい市 基幹相談支援センター"
        );
        assert_eq!(
            signature("みらい市", Some("基幹相談支援センター")),
            "みらい市 基幹相談支援センター"
        );
        assert_eq!(signature("みらい市", None), "みらい市");
        assert_eq!(signature("みらい市", Some(" ")), "みらい市");
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;

    fn claimed(name: &str, email: &str) -> Claimed {
        Claimed {
            id: 1,
            municipality_id: crate::store::tenancy::MunicipalityId(1),
            kind: NoticeKind::Invitation,
            occurrence_id: Some(1),
            person_id: Some(1),
            request_id: None,
            facility_id: None,
            version: 0,
            message_key: "occ:1:person:1:request:0".into(),
            recipient_email: email.into(),
            recipient_name: name.into(),
            raw: None,
            attempts: 0,
            booking_task_id: None,
        }
    }

    /// Issue 16: header lines stay within 78 characters (RFC 5322 2.1.1), also with a long
    /// Japanese display name, a long address and a long subject.
    #[test]
    fn to_and_other_headers_are_folded() {
        let settings = Settings {
            public_url: "http://localhost:8080".into(),
            from: "みらい市 基幹相談支援センター 地域生活支援拠点コーディネーター室 <kikan-center-coordination@mirai-city.example.jp>"
                .parse()
                .unwrap(),
            answer_deadline_days: 2,
            contact: crate::config::Contact {
                office: String::new(),
                phone: String::new(),
                email: String::new(),
            },
        };
        let n = claimed(
            "社会福祉法人みらい福祉会 指定特定相談支援事業所 みらい相談室 主任相談支援専門員 山田 太郎",
            "yamada.taro.shunin-soudan-shien@mirai-fukushikai-soudanshitsu.example.jp",
        );
        let to = recipient(&n).unwrap();
        let raw = build(
            &settings,
            &n,
            to,
            "【開催案内】区障がい福祉ネットワーク会議（東区・第3四半期・事例検討を含む） 2027年6月10日（木） 14:00〜 / Invitation",
            "本文".into(),
            "<p>本文</p>".into(),
            None,
        )
        .unwrap();
        let head = raw.split("\r\n\r\n").next().unwrap();
        for line in head.split("\r\n") {
            assert!(
                line.chars().count() <= 78,
                "header line over 78 characters ({}): {line}\n{head}",
                line.chars().count()
            );
        }
        assert!(head.contains("\r\nTo: "), "{head}");
    }
}
