//! Answers given with the calendar's own buttons: iTIP replies delivered to a real IMAP server
//! (Dovecot, tests/support/dovecot.rs), shaped as Outlook, Gmail and Apple Mail send them, read
//! by renkei's poll (src/notices/imap.rs) and recorded (src/store/replies.rs):
//! * Accept / Decline / Delegate become the invitee's answer with the source `calendar`, an
//!   audit entry each, shown on the coordinator's meeting page and in the API; Tentative is
//!   recorded as a reply, not an answer;
//! * a stale SEQUENCE, a forged sender (From, or DMARC failed), an unknown attendee or UID, a
//!   reply older than the answer given since: ignored, visible with the reason;
//! * processed replies are marked read and moved to `renkei-processed`; other mail stays in the
//!   inbox; a second poll (and a message delivered twice) changes nothing;
//! * the worker polls by itself when `imap_url` is set;
//! * two pollers (two instances over one database) reading one mailbox at once apply each
//!   reply once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{Duration as ChronoDuration, Utc};
use renkei::config::Config;
use renkei::notices::imap::{poll, MailboxUrl, PollSettings};
use renkei::store::Db;
use serde_json::{json, Value};

use crate::both_engines;
use crate::support::dovecot::Dovecot;
use crate::support::{Api, Engine, TestApp};

const ORGANIZER: &str = "kikan@mirai.example.jp";
const PROCESSED: &str = "renkei-processed";

/// One invitation as a calendar client knows it.
#[derive(Debug, Clone)]
struct Invite {
    occurrence: i64,
    uid: String,
    sequence: i64,
    title: String,
    person: i64,
    name: String,
    email: String,
}

async fn status_json(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The demo municipality with its first quarter published (greedy: quick); every invitee
/// with an address, one per meeting.
async fn published(app: &TestApp, api: &Api) -> Vec<Invite> {
    crate::support::plan_and_publish(api, "2027Q1", Some("2026-11-23")).await;
    let occurrences: Value = api
        .get_json("/api/v1/occurrences?from=2027-04-01&to=2027-06-30")
        .await;
    let _ = app;
    let mut invites = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for o in occurrences.as_array().unwrap() {
        for a in o["attendees"].as_array().unwrap() {
            let email = a["email"].as_str().unwrap().to_string();
            // One invitee per address, so that a reply names one person.
            if email.is_empty() || !seen.insert(email.clone()) {
                continue;
            }
            invites.push(Invite {
                occurrence: o["id"].as_i64().unwrap(),
                uid: o["uid"].as_str().unwrap().to_string(),
                sequence: o["sequence"].as_i64().unwrap(),
                title: o["title"].as_str().unwrap().to_string(),
                person: a["person_id"].as_i64().unwrap(),
                name: a["name"].as_str().unwrap().to_string(),
                email,
            });
        }
    }
    assert!(invites.len() >= 12, "enough invitees: {}", invites.len());
    invites
}

fn stamp(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    raw.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// Folds a content line at 75 octets (RFC 5545 3.1), on character boundaries.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 74 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out
}

fn ics(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| fold(l))
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

/// What a reply says, before a client shapes it.
struct Reply<'a> {
    invite: &'a Invite,
    partstat: &'a str,
    sequence: i64,
    /// The `From` of the mail (the attendee unless a test forges it).
    from: String,
    message_id: String,
    comment: &'a str,
    delegate: Option<(&'a str, &'a str)>,
    /// A secretary answering for the attendee (Outlook's SENT-BY).
    sent_by: Option<&'a str>,
    answered: chrono::DateTime<Utc>,
    extra_headers: String,
}

impl<'a> Reply<'a> {
    fn new(invite: &'a Invite, partstat: &'a str, n: usize) -> Reply<'a> {
        Reply {
            invite,
            partstat,
            sequence: invite.sequence,
            from: invite.email.clone(),
            message_id: format!("reply-{n}-{}@client.example", invite.person),
            comment: "",
            delegate: None,
            sent_by: None,
            answered: Utc::now() - ChronoDuration::minutes(1),
            extra_headers: String::new(),
        }
    }
}

/// Outlook (Exchange): `multipart/alternative` with a text part and
/// `text/calendar; method=REPLY` in base64, Windows time zone names, X-MICROSOFT-CDO lines,
/// the answer with an optional COMMENT; Outlook also attaches the same calendar.
fn outlook(r: &Reply) -> String {
    let i = r.invite;
    let verb = match r.partstat {
        "ACCEPTED" => "承諾",
        "DECLINED" => "辞退",
        "TENTATIVE" => "仮承諾",
        _ => "回答",
    };
    let mut attendee = format!(
        "ATTENDEE;PARTSTAT={};CN={}{}:mailto:{}",
        r.partstat,
        i.name,
        r.sent_by
            .map(|s| format!(";SENT-BY=\"mailto:{s}\""))
            .unwrap_or_default(),
        i.email.to_uppercase()
    );
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "METHOD:REPLY".into(),
        "PRODID:Microsoft Exchange Server 2010".into(),
        "VERSION:2.0".into(),
        "BEGIN:VTIMEZONE".into(),
        "TZID:Tokyo Standard Time".into(),
        "BEGIN:STANDARD".into(),
        "DTSTART:16010101T000000".into(),
        "TZOFFSETFROM:+0900".into(),
        "TZOFFSETTO:+0900".into(),
        "END:STANDARD".into(),
        "BEGIN:DAYLIGHT".into(),
        "DTSTART:16010101T000000".into(),
        "TZOFFSETFROM:+0900".into(),
        "TZOFFSETTO:+0900".into(),
        "END:DAYLIGHT".into(),
        "END:VTIMEZONE".into(),
        "BEGIN:VEVENT".into(),
    ];
    if let Some((name, address)) = r.delegate {
        attendee = format!(
            "ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"mailto:{address}\";CN={}:mailto:{}",
            i.name, i.email
        );
        lines.push(attendee.clone());
        lines.push(format!(
            "ATTENDEE;PARTSTAT=NEEDS-ACTION;DELEGATED-FROM=\"mailto:{}\";CN={name}:mailto:{address}",
            i.email
        ));
    } else {
        lines.push(attendee);
    }
    if !r.comment.is_empty() {
        lines.push(format!("COMMENT;LANGUAGE=ja-JP:{}", r.comment));
    }
    lines.extend([
        format!("SUMMARY;LANGUAGE=ja-JP:{verb}: {}", i.title),
        "DTSTART;TZID=Tokyo Standard Time:20270512T140000".into(),
        "DTEND;TZID=Tokyo Standard Time:20270512T160000".into(),
        format!("UID:{}", i.uid),
        "CLASS:PUBLIC".into(),
        "PRIORITY:5".into(),
        format!("DTSTAMP:{}", stamp(r.answered)),
        "TRANSP:OPAQUE".into(),
        "STATUS:CONFIRMED".into(),
        format!("SEQUENCE:{}", r.sequence),
        format!("X-MICROSOFT-CDO-APPT-SEQUENCE:{}", r.sequence),
        format!("X-MICROSOFT-CDO-REPLYTIME:{}", stamp(r.answered)),
        "X-MICROSOFT-CDO-BUSYSTATUS:BUSY".into(),
        "X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY".into(),
        "X-MICROSOFT-CDO-ALLDAYEVENT:FALSE".into(),
        "X-MICROSOFT-CDO-IMPORTANCE:1".into(),
        "X-MICROSOFT-CDO-INSTTYPE:0".into(),
        "X-MICROSOFT-DONOTFORWARDMEETING:FALSE".into(),
        "X-MICROSOFT-DISALLOW-COUNTER:FALSE".into(),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ]);
    let calendar = ics(&lines);
    format!(
        "From: =?utf-8?B?{name}?= <{from}>\r\n\
To: =?utf-8?B?{org}?= <{ORGANIZER}>\r\n\
Subject: =?utf-8?B?{subject}?=\r\n\
Thread-Topic: reply\r\n\
Date: {date}\r\n\
Message-ID: <{mid}>\r\n\
Accept-Language: ja-JP, en-US\r\n\
Content-Language: ja-JP\r\n\
X-MS-Has-Attach: yes\r\n\
X-MS-TNEF-Correlator:\r\n\
{extra}MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"_002_outlook_\"\r\n\
\r\n\
--_002_outlook_\r\n\
Content-Type: multipart/alternative; boundary=\"_000_outlook_\"\r\n\
\r\n\
--_000_outlook_\r\n\
Content-Type: text/plain; charset=\"utf-8\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
{text}\r\n\
--_000_outlook_\r\n\
Content-Type: text/calendar; charset=\"utf-8\"; method=REPLY\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
{cal}\r\n\
--_000_outlook_--\r\n\
\r\n\
--_002_outlook_\r\n\
Content-Type: application/ics; name=\"invite.ics\"\r\n\
Content-Description: invite.ics\r\n\
Content-Disposition: attachment; filename=\"invite.ics\"; size=1024\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
{cal}\r\n\
--_002_outlook_--\r\n",
        name = b64(&r.invite.name).replace("\r\n", ""),
        from = r.from,
        org = b64("みらい市 基幹相談支援センター").replace("\r\n", ""),
        subject = b64(&format!("{verb}: {}", i.title)).replace("\r\n", ""),
        date = r.answered.to_rfc2822(),
        mid = r.message_id,
        extra = r.extra_headers,
        text = b64(if r.comment.is_empty() { " " } else { r.comment }),
        cal = b64(&calendar),
    )
}

/// Gmail (Google Calendar): `multipart/mixed` of `multipart/alternative` (text, HTML and
/// `text/calendar; method=REPLY`, 7bit) and `application/ics` "invite.ics" in base64; UTC
/// times, CUTYPE/ROLE/X-NUM-GUESTS on the attendee, Google's PRODID.
fn gmail(r: &Reply) -> String {
    let i = r.invite;
    let calendar = ics(&[
        "BEGIN:VCALENDAR".to_string(),
        "PRODID:-//Google Inc//Google Calendar 70.9054//EN".into(),
        "VERSION:2.0".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:REPLY".into(),
        "BEGIN:VEVENT".into(),
        "DTSTART:20270512T050000Z".into(),
        "DTEND:20270512T070000Z".into(),
        format!("DTSTAMP:{}", stamp(r.answered)),
        format!("ORGANIZER;CN=みらい市 基幹相談支援センター:mailto:{ORGANIZER}"),
        format!("UID:{}", i.uid),
        format!(
            "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={};CN={};X-NUM-GUESTS=0:mailto:{}",
            r.partstat, i.email, i.email
        ),
        "CREATED:20261123T000000Z".into(),
        "DESCRIPTION:-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-".into(),
        format!("LAST-MODIFIED:{}", stamp(r.answered)),
        "LOCATION:".into(),
        format!("SEQUENCE:{}", r.sequence),
        "STATUS:CONFIRMED".into(),
        format!("SUMMARY:{}", i.title),
        "TRANSP:OPAQUE".into(),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ]);
    let verb = match r.partstat {
        "ACCEPTED" => "Accepted",
        "DECLINED" => "Declined",
        _ => "Tentatively Accepted",
    };
    format!(
        "MIME-Version: 1.0\r\n\
Date: {date}\r\n\
Reply-To: {from}\r\n\
Sender: Google Calendar <calendar-notification@google.com>\r\n\
Message-ID: <{mid}>\r\n\
Subject: {verb}: {subject} @ Wed May 12, 2027 2pm - 4pm (JST) ({ORGANIZER})\r\n\
From: {from}\r\n\
To: {ORGANIZER}\r\n\
{extra}Content-Type: multipart/mixed; boundary=\"000000000000aaaa\"\r\n\
\r\n\
--000000000000aaaa\r\n\
Content-Type: multipart/alternative; boundary=\"000000000000bbbb\"\r\n\
\r\n\
--000000000000bbbb\r\n\
Content-Type: text/plain; charset=\"UTF-8\"; format=flowed; delsp=yes\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
{text}\r\n\
--000000000000bbbb\r\n\
Content-Type: text/html; charset=\"UTF-8\"\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
<span itemscope itemtype=3D\"http://schema.org/InformAction\"></span>{verb}\r\n\
--000000000000bbbb\r\n\
Content-Type: text/calendar; charset=\"UTF-8\"; method=REPLY\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
{calendar}\r\n\
--000000000000bbbb--\r\n\
--000000000000aaaa\r\n\
Content-Type: application/ics; name=\"invite.ics\"\r\n\
Content-Disposition: attachment; filename=\"invite.ics\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
{attachment}\r\n\
--000000000000aaaa--\r\n",
        date = r.answered.to_rfc2822(),
        from = r.from,
        mid = r.message_id,
        subject = i.title,
        extra = r.extra_headers,
        text = b64(&format!("{} has {verb} this invitation.", i.email)),
        attachment = b64(&calendar),
    )
}

/// Apple Mail / Calendar (macOS): `multipart/alternative` of a text part and
/// `text/calendar; method=REPLY; name=iCal-….ics` in quoted-printable, attendee with quoted CN,
/// EMAIL and CUTYPE, ORGANIZER, X-APPLE lines, local times with a TZID.
fn apple(r: &Reply) -> String {
    let i = r.invite;
    let calendar = ics(&[
        "BEGIN:VCALENDAR".to_string(),
        "METHOD:REPLY".into(),
        "VERSION:2.0".into(),
        "PRODID:-//Apple Inc.//macOS 14.1//EN".into(),
        "BEGIN:VTIMEZONE".into(),
        "TZID:Asia/Tokyo".into(),
        "BEGIN:STANDARD".into(),
        "DTSTART:19510909T000000".into(),
        "TZOFFSETFROM:+1000".into(),
        "TZOFFSETTO:+0900".into(),
        "TZNAME:JST".into(),
        "END:STANDARD".into(),
        "END:VTIMEZONE".into(),
        "BEGIN:VEVENT".into(),
        format!(
            "ATTENDEE;CN=\"{}\";CUTYPE=INDIVIDUAL;EMAIL=\"{}\";PARTSTAT={}:mailto:{}",
            i.name, i.email, r.partstat, i.email
        ),
        format!("DTEND;TZID=Asia/Tokyo:20270512T160000"),
        "TRANSP:OPAQUE".into(),
        "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC".into(),
        format!("UID:{}", i.uid),
        format!("DTSTAMP:{}", stamp(r.answered)),
        format!("SEQUENCE:{}", r.sequence),
        format!("SUMMARY:{}", i.title),
        "DTSTART;TZID=Asia/Tokyo:20270512T140000".into(),
        "X-APPLE-CREATOR-IDENTITY:com.apple.calendar".into(),
        format!("ORGANIZER;CN=\"みらい市 基幹相談支援センター\":mailto:{ORGANIZER}"),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ]);
    format!(
        "From: \"{name}\" <{from}>\r\n\
Content-Type: multipart/alternative; boundary=\"Apple-Mail=_1A2B3C4D\"\r\n\
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.200.91.1.1\\))\r\n\
Subject: =?utf-8?B?{subject}?=\r\n\
Date: {date}\r\n\
Message-Id: <{mid}>\r\n\
To: {ORGANIZER}\r\n\
{extra}X-Mailer: Apple Mail (2.3774.200.91.1.1)\r\n\
\r\n\
\r\n\
--Apple-Mail=_1A2B3C4D\r\n\
Content-Transfer-Encoding: 7bit\r\n\
Content-Type: text/plain;\r\n\
\tcharset=us-ascii\r\n\
\r\n\
{partstat}\r\n\
\r\n\
--Apple-Mail=_1A2B3C4D\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
Content-Type: text/calendar;\r\n\
\tcharset=utf-8;\r\n\
\tmethod=REPLY;\r\n\
\tname=iCal-20261203-100000.ics\r\n\
\r\n\
{calendar}\r\n\
--Apple-Mail=_1A2B3C4D--\r\n",
        name = i.name,
        from = r.from,
        subject = b64(&format!("招待の返信: {}", i.title)).replace("\r\n", ""),
        date = r.answered.to_rfc2822(),
        mid = r.message_id,
        extra = r.extra_headers,
        partstat = r.partstat,
        calendar = quoted_printable(&calendar),
    )
}

/// Quoted-printable (RFC 2045) with soft breaks at 76 characters, as Apple Mail writes it.
fn quoted_printable(s: &str) -> String {
    let mut out = String::new();
    for line in s.split("\r\n") {
        let mut width = 0;
        for b in line.bytes() {
            let piece = if (b == b'=' || !(32..=126).contains(&b)) && b != b'\t' {
                format!("={b:02X}")
            } else {
                (b as char).to_string()
            };
            if width + piece.len() > 75 {
                out.push_str("=\r\n");
                width = 0;
            }
            width += piece.len();
            out.push_str(&piece);
        }
        out.push_str("\r\n");
    }
    out
}

/// A person writing to the sender address: no calendar in it.
fn plain_mail(n: usize) -> String {
    format!(
        "From: someone@example.jp\r\nTo: {ORGANIZER}\r\nSubject: =?utf-8?B?{}?=\r\nMessage-ID: <plain-{n}@example.jp>\r\nDate: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n",
        b64("会議の資料について").replace("\r\n", ""),
        Utc::now().to_rfc2822()
    )
}

fn settings(imap: &Dovecot) -> PollSettings {
    PollSettings {
        mailbox: MailboxUrl::parse(&imap.url()).unwrap(),
        processed_folder: PROCESSED.into(),
        answer_deadline_days: 2,
    }
}

/// (answer, source, deputy_name, comment) of each invitee of a meeting, by person.
async fn answers(api: &Api, occurrence: i64) -> BTreeMap<i64, (String, String, String, String)> {
    let rows: Value = api
        .get_json(&format!("/api/v1/occurrences/{occurrence}/answers"))
        .await;
    rows.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["person_id"].as_i64().unwrap(),
                (
                    a["answer"].as_str().unwrap().to_string(),
                    a["source"].as_str().unwrap().to_string(),
                    a["deputy_name"].as_str().unwrap().to_string(),
                    a["comment"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

async fn answer_of(api: &Api, i: &Invite) -> (String, String, String, String) {
    answers(api, i.occurrence)
        .await
        .remove(&i.person)
        .unwrap_or_else(|| panic!("{} is invited to {}", i.person, i.occurrence))
}

async fn replies_of(api: &Api, occurrence: i64) -> Vec<Value> {
    let v: Value = api
        .get_json(&format!(
            "/api/v1/occurrences/{occurrence}/calendar-replies"
        ))
        .await;
    v.as_array().unwrap().clone()
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

/// Every kind of reply through the real mailbox, then the same mailbox read again.
async fn replies_from_outlook_gmail_and_apple_become_answers(engine: Engine) {
    let imap = Dovecot::start().await;
    let (app, token) = crate::meetings::demo_app(engine).await;
    let api = app.api(&token);
    let invites = published(&app, &api).await;
    let db = app.db();
    let s = settings(&imap);

    // A meeting that moved since its first invitation (SEQUENCE 1 now): a reply to the
    // version before it is stale. (Moving a meeting through a re-plan is tested elsewhere;
    // here only its SEQUENCE matters.)
    let others: Vec<i64> = invites[..11].iter().map(|i| i.occurrence).collect();
    let moved = invites[11..]
        .iter()
        .find(|i| !others.contains(&i.occurrence))
        .expect("an invitee of another meeting")
        .clone();
    sqlx::query("UPDATE occurrences SET sequence = 1 WHERE id = $1")
        .bind(moved.occurrence)
        .execute(&db.pool)
        .await
        .unwrap();
    let mut moved_now = moved.clone();
    moved_now.sequence = 1;

    let [accept, decline, tentative, delegate, forged, dmarc, _, unknown_attendee, superseded, apple_accept, ..] =
        &invites[..]
    else {
        unreachable!()
    };
    // A link answer given after the attendee wrote their (late-arriving) calendar reply.
    crate::support::record_link_answer(
        db,
        renkei::store::tenancy::MunicipalityId(
            sqlx::query_scalar::<_, i64>("SELECT municipality_id FROM occurrences WHERE id = $1")
                .bind(superseded.occurrence)
                .fetch_one(&db.pool)
                .await
                .unwrap(),
        ),
        superseded.occurrence,
        superseded.person,
        &renkei::store::notices::Answer {
            answer: "decline".into(),
            deputy_name: String::new(),
            deputy_organisation: String::new(),
            comment: "体調不良".into(),
        },
    )
    .await;

    let mut r = Reply::new(accept, "ACCEPTED", 1);
    r.comment = "少し遅れて参加します";
    imap.deliver(&outlook(&r)).await;
    imap.deliver(&gmail(&Reply::new(decline, "DECLINED", 2)))
        .await;
    imap.deliver(&apple(&Reply::new(tentative, "TENTATIVE", 3)))
        .await;
    let mut r = Reply::new(delegate, "DELEGATED", 4);
    r.delegate = Some(("佐藤 代理", "dairi@example.jp"));
    imap.deliver(&outlook(&r)).await;
    let mut r = Reply::new(forged, "DECLINED", 5);
    r.from = "prankster@example.com".into();
    imap.deliver(&gmail(&r)).await;
    let mut r = Reply::new(dmarc, "DECLINED", 6);
    r.extra_headers = "Authentication-Results: mx.mirai.example.jp; spf=fail smtp.mailfrom=example.jp; dmarc=fail (p=NONE) header.from=example.jp\r\n".into();
    imap.deliver(&outlook(&r)).await;
    imap.deliver(&apple(&Reply::new(&moved, "ACCEPTED", 7)))
        .await;
    let mut stranger = unknown_attendee.clone();
    stranger.email = "stranger@example.jp".into();
    stranger.uid = unknown_attendee.uid.clone();
    let mut r = Reply::new(&stranger, "ACCEPTED", 8);
    r.from = stranger.email.clone();
    imap.deliver(&gmail(&r)).await;
    let mut nowhere = accept.clone();
    nowhere.uid = "no-such-meeting@elsewhere".into();
    imap.deliver(&outlook(&Reply::new(&nowhere, "ACCEPTED", 9)))
        .await;
    let mut r = Reply::new(superseded, "ACCEPTED", 10);
    r.answered = Utc::now() - ChronoDuration::hours(3);
    imap.deliver(&gmail(&r)).await;
    imap.deliver(&apple(&Reply::new(apple_accept, "ACCEPTED", 11)))
        .await;
    // The moved meeting answered again, to its current version.
    imap.deliver(&outlook(&Reply::new(&moved_now, "DECLINED", 12)))
        .await;
    imap.deliver(&plain_mail(1)).await;
    let audit_before = count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'answer'").await;

    let report = poll(db, &s).await.expect("the poll reads the mailbox");
    assert_eq!(report.read, 13, "{report:?}");
    assert_eq!(report.other_mail, 1, "{report:?}");
    assert_eq!(report.repeats, 0, "{report:?}");
    let expected: BTreeMap<String, usize> = [
        ("applied", 5),
        ("tentative", 1),
        ("forged", 2),
        ("stale", 1),
        ("unknown_attendee", 1),
        ("unknown_meeting", 1),
        ("superseded", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(report.outcomes, expected, "{report:?}");

    // The answers, with their source.
    let a = answer_of(&api, accept).await;
    assert_eq!(
        a,
        (
            "attend".into(),
            "calendar".into(),
            String::new(),
            "少し遅れて参加します".into()
        ),
        "Outlook's Accept with a comment"
    );
    assert_eq!(
        answer_of(&api, decline).await.0,
        "decline",
        "Gmail's Decline"
    );
    assert_eq!(answer_of(&api, decline).await.1, "calendar");
    assert_eq!(
        answer_of(&api, apple_accept).await.0,
        "attend",
        "Apple's Accept"
    );
    let t = answer_of(&api, tentative).await;
    assert_eq!(
        (t.0.as_str(), t.1.as_str()),
        ("none", "none"),
        "tentative is not an answer"
    );
    let d = answer_of(&api, delegate).await;
    assert_eq!(
        (d.0.as_str(), d.1.as_str(), d.2.as_str()),
        ("deputy", "calendar", "佐藤 代理"),
        "a delegation is a deputy"
    );
    assert_eq!(answer_of(&api, forged).await.0, "none", "forged From");
    assert_eq!(answer_of(&api, dmarc).await.0, "none", "DMARC failed");
    assert_eq!(
        answer_of(&api, &moved).await.0,
        "decline",
        "the reply to the current version counts, the stale one does not"
    );
    let s_answer = answer_of(&api, superseded).await;
    assert_eq!(
        (s_answer.0.as_str(), s_answer.1.as_str()),
        ("decline", "link"),
        "an older calendar reply does not overwrite a later answer"
    );

    // One audit entry per recorded answer, naming the calendar reply.
    let audit_after = count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'answer'").await;
    assert_eq!(audit_after - audit_before, 5);
    let detail: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'answer' AND entity_id = $1 AND detail LIKE $2",
    )
    .bind(accept.occurrence.to_string())
    .bind(format!("person {}:%", accept.person))
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        detail.contains("attend")
            && detail.contains("calendar reply")
            && detail.contains("Microsoft Exchange"),
        "{detail}"
    );

    // The coordinator sees every reply of a meeting, ignored ones with the reason.
    let moved_replies = replies_of(&api, moved.occurrence).await;
    let outcomes: Vec<&str> = moved_replies
        .iter()
        .filter(|r| r["person_id"] == moved.person)
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["applied", "stale"],
        "newest first: {moved_replies:?}"
    );
    let stale = moved_replies
        .iter()
        .find(|r| r["outcome"] == "stale")
        .unwrap();
    assert_eq!(stale["ignored"], true);
    assert!(
        stale["detail"].as_str().unwrap().contains("SEQUENCE 0"),
        "{stale}"
    );
    let forged_reply = replies_of(&api, forged.occurrence)
        .await
        .into_iter()
        .find(|r| r["attendee"] == forged.email.as_str())
        .unwrap();
    assert_eq!(forged_reply["outcome"], "forged");
    assert_eq!(forged_reply["sender"], "prankster@example.com");
    let unknown = replies_of(&api, unknown_attendee.occurrence)
        .await
        .into_iter()
        .find(|r| r["attendee"] == "stranger@example.jp")
        .unwrap();
    assert_eq!(unknown["outcome"], "unknown_attendee");
    let stored_unknown_meeting = count(
        db,
        "SELECT COUNT(*) FROM calendar_replies WHERE outcome = 'unknown_meeting' AND uid = 'no-such-meeting@elsewhere'",
    )
    .await;
    assert_eq!(stored_unknown_meeting, 1);

    // Across meetings: the municipality's ignored replies, a page at a time (the unknown UID
    // belongs to no municipality and is only logged).
    let ignored: Vec<Value> = api
        .get_json("/api/v1/calendar-replies?outcome=ignored&limit=1000")
        .await;
    let mut kinds: Vec<&str> = ignored
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "forged",
            "forged",
            "stale",
            "superseded",
            "unknown_attendee"
        ],
        "{ignored:?}"
    );
    let res = api
        .get("/api/v1/calendar-replies?outcome=ignored&limit=2")
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-total-count"], "5");
    let link = res.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.contains("outcome=ignored")
            && link.contains("offset=2")
            && link.contains("rel=\"next\""),
        "{link}"
    );
    let first_page: Vec<Value> = res.json().await.unwrap();
    assert_eq!(first_page.len(), 2);
    assert_eq!(first_page[0]["id"], ignored[0]["id"], "newest first");
    let all: Vec<Value> = api.get_json("/api/v1/calendar-replies").await;
    assert_eq!(all.len(), 11, "every reply of the municipality: {all:?}");
    let tentative_only: Vec<Value> = api
        .get_json("/api/v1/calendar-replies?outcome=tentative")
        .await;
    assert_eq!(tentative_only.len(), 1);
    assert_eq!(tentative_only[0]["person_id"], tentative.person);
    let (code, body) = status_json(api.get("/api/v1/calendar-replies?outcome=maybe").await).await;
    assert_eq!(code, 400, "{body}");
    assert!(
        body.to_string().contains("ignored"),
        "names the choices: {body}"
    );

    // The meeting page shows the source and the replies.
    let c = logged_in_client_demo(&app).await;
    let page = crate::support::get_text(
        &c,
        &app.url(&format!("/meetings/occurrences/{}", moved.occurrence)),
    )
    .await;
    assert!(page.contains("カレンダーからの返信"), "{page}");
    assert!(page.contains("data-outcome=\"stale\""), "{page}");
    assert!(page.contains("変更前の案内への返信"), "{page}");
    assert!(page.contains("class=\"source-calendar\""), "{page}");
    crate::support::get_text(&c, &app.url("/lang/en?next=/")).await;
    let page_en = crate::support::get_text(
        &c,
        &app.url(&format!("/meetings/occurrences/{}", accept.occurrence)),
    )
    .await;
    assert!(page_en.contains("Replies from calendars"), "{page_en}");
    assert!(page_en.contains("from the calendar"), "{page_en}");

    // Processed replies are read and moved; the other mail stays, unread, in the inbox.
    let inbox = imap.messages("INBOX").await;
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert_eq!(inbox[0].1, "plain-1@example.jp");
    assert!(
        !inbox[0].0.iter().any(|f| f == "Seen"),
        "other mail is left unread for a person: {inbox:?}"
    );
    let processed = imap.messages(PROCESSED).await;
    assert_eq!(processed.len(), 12, "{processed:?}");
    assert!(processed.iter().all(|(f, _)| f.iter().any(|f| f == "Seen")));

    // Polling again changes nothing; a reply delivered twice (same Message-ID) is a repeat.
    let replies_before = count(db, "SELECT COUNT(*) FROM calendar_replies").await;
    let again = poll(db, &s).await.unwrap();
    assert_eq!(again.read, 0, "{again:?}");
    imap.deliver(&gmail(&Reply::new(decline, "DECLINED", 2)))
        .await;
    let repeat = poll(db, &s).await.unwrap();
    assert_eq!(repeat.read, 1, "{repeat:?}");
    assert_eq!(repeat.repeats, 1, "{repeat:?}");
    assert!(repeat.outcomes.is_empty(), "{repeat:?}");
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM calendar_replies").await,
        replies_before
    );
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'answer'").await,
        audit_after,
        "nothing audited twice"
    );
    assert_eq!(answer_of(&api, decline).await.0, "decline");

    // A secretary answering for the attendee (SENT-BY); a cancelled meeting; a meeting past its
    // answer deadline; a reply without an answer (NEEDS-ACTION); one without a UID.
    let used: Vec<i64> = invites[..12].iter().map(|i| i.occurrence).collect();
    let mut spare: Vec<Invite> = Vec::new();
    for i in &invites[12..] {
        if !used.contains(&i.occurrence)
            && i.occurrence != moved.occurrence
            && !spare.iter().any(|x| x.occurrence == i.occurrence)
        {
            spare.push(i.clone());
        }
    }
    assert!(spare.len() >= 3, "meetings of their own: {}", spare.len());
    let (secretary, cancelled, late) = (&spare[0], &spare[1], &spare[2]);
    let (s_code, body) = status_json(
        api.post_json(
            &format!("/api/v1/occurrences/{}/cancel", cancelled.occurrence),
            &json!({"reason": "台風のため"}),
        )
        .await,
    )
    .await;
    assert!(s_code < 300, "{body}");
    let mut cancelled_now = cancelled.clone();
    cancelled_now.sequence += 1;
    // Its answer deadline (two days before, on an open day) has passed.
    sqlx::query("UPDATE occurrences SET date = $1 WHERE id = $2")
        .bind((Utc::now().date_naive() + ChronoDuration::days(1)).to_string())
        .bind(late.occurrence)
        .execute(&db.pool)
        .await
        .unwrap();
    let mut r = Reply::new(secretary, "ACCEPTED", 30);
    r.sent_by = Some("hisho@example.jp");
    r.from = "hisho@example.jp".into();
    imap.deliver(&outlook(&r)).await;
    imap.deliver(&gmail(&Reply::new(&cancelled_now, "ACCEPTED", 31)))
        .await;
    imap.deliver(&apple(&Reply::new(late, "DECLINED", 32)))
        .await;
    imap.deliver(&outlook(&Reply::new(apple_accept, "NEEDS-ACTION", 33)))
        .await;
    // A reply whose calendar has no UID.
    let mut no_uid = apple_accept.clone();
    no_uid.uid = String::new();
    let broken = outlook(&Reply::new(&no_uid, "DECLINED", 34));
    imap.deliver(&broken).await;
    let report = poll(db, &s).await.unwrap();
    let expected: BTreeMap<String, usize> = [
        ("applied", 1),
        ("cancelled", 1),
        ("after_deadline", 1),
        ("no_answer", 1),
        ("malformed", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(report.outcomes, expected, "{report:?}");
    assert_eq!(answer_of(&api, secretary).await.0, "attend", "SENT-BY");
    let audit: String = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'answer' AND detail LIKE '%hisho@example.jp%'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(audit.contains("sent by hisho@example.jp"), "{audit}");
    assert_eq!(answer_of(&api, &cancelled_now).await.0, "none");
    assert_eq!(
        answer_of(&api, late).await.0,
        "none",
        "the link is closed too"
    );
    assert_eq!(answer_of(&api, apple_accept).await.0, "attend");

    // A later reply changes the answer (Decline, then Accept in Gmail).
    let mut later = Reply::new(decline, "ACCEPTED", 20);
    later.answered = Utc::now();
    imap.deliver(&gmail(&later)).await;
    let report = poll(db, &s).await.unwrap();
    assert_eq!(report.count("applied"), 1, "{report:?}");
    assert_eq!(answer_of(&api, decline).await.0, "attend");
}
both_engines!(replies_from_outlook_gmail_and_apple_become_answers);

async fn logged_in_client_demo(app: &TestApp) -> reqwest::Client {
    let c = crate::support::client();
    let res = crate::support::login(
        &c,
        app,
        renkei::demo::DEMO_USERNAME,
        renkei::demo::DEMO_PASSWORD,
        Some("/"),
    )
    .await;
    assert_eq!(res.status(), 303, "demo login");
    c
}

/// The whole loop with the service's own workers: renkei mails an invitation through a real
/// SMTP server, the invitee's client answers the calendar part it received (its UID, SEQUENCE,
/// ATTENDEE, to its ORGANIZER), the reply lands in the real mailbox, and the worker reads it
/// by itself because `imap_url` is set.
async fn the_worker_reads_the_mailbox_by_itself(engine: Engine) {
    let imap = Dovecot::start().await;
    let smtp = crate::support::smtp::SmtpServer::start();
    let test_db = crate::support::TestDb::new(engine).await;
    renkei::demo::load(&test_db.db).await.expect("demo loads");
    let user = test_db
        .db
        .user_by_username(renkei::demo::DEMO_USERNAME)
        .await
        .unwrap()
        .unwrap();
    let token = renkei::auth::create_api_token(&test_db.db, &user, "test")
        .await
        .unwrap();
    let (imap_url, smtp_url) = (imap.url(), smtp.url());
    let app = TestApp::configured(test_db, |c: &mut Config| {
        c.imap_url = imap_url;
        c.imap_poll_seconds = 10;
        c.smtp_url = smtp_url;
        c.mail_from = format!("みらい市 基幹相談支援センター <{ORGANIZER}>");
    })
    .await;
    let api = app.api(&token);
    let invites = published(&app, &api).await;
    let invitee = &invites[0];

    // The invitation as the invitee's client received it.
    let started = Instant::now();
    let invitation = loop {
        let found = smtp.messages().into_iter().find_map(|m| {
            let p = m.parsed();
            let events = crate::support::smtp::parse_calendar(p.calendar.as_deref()?);
            let e = events.into_iter().next()?;
            (m.rcpt_tos == [invitee.email.clone()] && e.uid == invitee.uid).then_some(e)
        });
        if let Some(e) = found {
            break e;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no invitation to {} arrived",
            invitee.email
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(invitation.method.as_deref(), Some("REQUEST"));
    assert_eq!(
        invitation.organizer.as_deref(),
        Some(format!("mailto:{ORGANIZER}").as_str()),
        "replies go to the mailbox renkei reads"
    );
    let (attendee, params) = &invitation.attendees[0];
    assert!(params.contains(&("RSVP".into(), "TRUE".into())));
    let answered = Invite {
        uid: invitation.uid.clone(),
        sequence: invitation.sequence.expect("SEQUENCE") as i64,
        email: attendee.trim_start_matches("mailto:").to_string(),
        ..invitee.clone()
    };
    imap.deliver(&apple(&Reply::new(&answered, "DECLINED", 1)))
        .await;
    let started = Instant::now();
    loop {
        if answer_of(&api, invitee).await.0 == "decline" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "the worker did not read the reply within 40 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(answer_of(&api, invitee).await.1, "calendar");
    let jobs = count(
        app.db(),
        "SELECT COUNT(*) FROM jobs WHERE kind = 'calendar_replies' AND status = 'done'",
    )
    .await;
    assert!(jobs >= 1, "polls run as jobs: {jobs}");
    assert_eq!(imap.messages(PROCESSED).await.len(), 1);
}
both_engines!(the_worker_reads_the_mailbox_by_itself);

/// Two instances over one database read one mailbox at the same moment: one reads it, the
/// other finds it leased and reads nothing; every reply is recorded, answered, audited and
/// moved once. Below the lease, one message recorded by several writers at once (a lease that
/// expired under a slow poller) is still recorded once.
async fn two_pollers_apply_each_reply_once(engine: Engine) {
    let imap = Dovecot::start().await;
    let (app, token) = crate::meetings::demo_app(engine).await;
    let api = app.api(&token);
    let invites = published(&app, &api).await;
    let n = 10;
    for (k, i) in invites.iter().take(n).enumerate() {
        let partstat = if k % 2 == 0 { "ACCEPTED" } else { "DECLINED" };
        let r = Reply::new(i, partstat, 100 + k);
        let raw = match k % 3 {
            0 => outlook(&r),
            1 => gmail(&r),
            _ => apple(&r),
        };
        imap.deliver(&raw).await;
    }
    let s = settings(&imap);
    let other = Db::connect(&app.test_db.url).await.unwrap();
    let audit_before = count(
        app.db(),
        "SELECT COUNT(*) FROM audit_log WHERE action = 'answer'",
    )
    .await;
    let (a, b) = tokio::join!(poll(app.db(), &s), poll(&other, &s));
    let (a, b) = (a.expect("first poller"), b.expect("second poller"));
    assert!(a.busy != b.busy, "one reads, one waits: {a:?} {b:?}");
    assert_eq!(a.read + b.read, n, "{a:?} {b:?}");
    assert_eq!(a.count("applied") + b.count("applied"), n, "{a:?} {b:?}");
    assert_eq!(
        count(app.db(), "SELECT COUNT(*) FROM calendar_replies").await,
        n as i64
    );
    assert_eq!(
        count(
            app.db(),
            "SELECT COUNT(*) FROM audit_log WHERE action = 'answer'"
        )
        .await
            - audit_before,
        n as i64,
        "each answer audited once"
    );
    for (k, i) in invites.iter().take(n).enumerate() {
        let want = if k % 2 == 0 { "attend" } else { "decline" };
        assert_eq!(answer_of(&api, i).await.0, want, "{i:?}");
    }
    assert!(imap.messages("INBOX").await.is_empty());
    let moved: std::collections::BTreeSet<String> = imap
        .messages(PROCESSED)
        .await
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(moved.len(), n, "each reply moved once: {moved:?}");
    // The lease was given back: the next poll reads (nothing new).
    let third = poll(app.db(), &s).await.unwrap();
    assert!(!third.busy && third.read == 0, "{third:?}");

    // Eight writers record one new reply at once, over two connection pools.
    let i = &invites[n];
    let mail = renkei::notices::replies::read(gmail(&Reply::new(i, "DECLINED", 999)).as_bytes());
    let writers = (0..8).map(|k| {
        let db = if k % 2 == 0 {
            app.db().clone()
        } else {
            other.clone()
        };
        let mail = mail.clone();
        tokio::spawn(async move { db.record_calendar_reply(&mail, 2).await })
    });
    let results: Vec<_> = futures_util::future::join_all(writers)
        .await
        .into_iter()
        .map(|r| r.unwrap().expect("recorded"))
        .collect();
    assert_eq!(
        results.iter().filter(|r| !r.duplicate).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| r.outcome == renkei::store::replies::Outcome::Applied));
    assert_eq!(
        count(
            app.db(),
            "SELECT COUNT(*) FROM audit_log WHERE action = 'answer'"
        )
        .await
            - audit_before,
        n as i64 + 1,
    );
    assert_eq!(answer_of(&api, i).await.0, "decline");
}
both_engines!(two_pollers_apply_each_reply_once);
