//! Answers given with the calendar's own buttons: iTIP replies (RFC 5546, `METHOD:REPLY`) as
//! Outlook, Gmail and Apple Mail send them to the organizer address of an invitation. Pure:
//! the bytes of one message in, what it says out. Reading the mailbox is in [`super::imap`],
//! matching a reply to a meeting and an invitee and recording it in `store::replies`.
//!
//! What is read, wherever the client puts it:
//! * the calendar part: every `text/calendar` part, and attachments named `*.ics` or typed
//!   `application/ics` (Gmail sends both, Outlook sometimes only the attachment); the first one
//!   whose `METHOD` is `REPLY` counts;
//! * in its VEVENT: `UID`, `SEQUENCE` (absent = 0), `DTSTAMP`, `COMMENT`, and the replying
//!   `ATTENDEE` with `PARTSTAT`, `CN`, `SENT-BY`, `DELEGATED-TO` (a second ATTENDEE with
//!   `DELEGATED-FROM` names the delegate);
//! * of the message: `Message-ID` (the key that makes reprocessing a no-op; a hash of the bytes
//!   when it has none), `From`, `Date`, and the topmost `Authentication-Results` (added by the
//!   receiving server, the only one that can be believed): `dmarc=fail` marks it forged.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use mail_parser::{MessageParser, MimeHeaders};

/// The attendee's participation status in a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartStat {
    Accepted,
    Declined,
    Tentative,
    Delegated,
    /// NEEDS-ACTION or anything else: no answer.
    Other,
}

impl PartStat {
    fn parse(s: &str) -> PartStat {
        match s.trim().to_ascii_uppercase().as_str() {
            "ACCEPTED" => PartStat::Accepted,
            "DECLINED" => PartStat::Declined,
            "TENTATIVE" => PartStat::Tentative,
            "DELEGATED" => PartStat::Delegated,
            _ => PartStat::Other,
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            PartStat::Accepted => "ACCEPTED",
            PartStat::Declined => "DECLINED",
            PartStat::Tentative => "TENTATIVE",
            PartStat::Delegated => "DELEGATED",
            PartStat::Other => "NEEDS-ACTION",
        }
    }
}

/// Who the attendee sent in their place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegate {
    pub address: String,
    pub name: String,
}

/// What the calendar part of a reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarReply {
    pub uid: String,
    pub sequence: i64,
    /// The replying attendee's address, lower case, without `mailto:`.
    pub attendee: String,
    pub attendee_name: String,
    pub partstat: PartStat,
    /// `SENT-BY` of the attendee (a secretary answering for them), lower case.
    pub sent_by: Option<String>,
    pub delegate: Option<Delegate>,
    pub comment: String,
    /// When the attendee answered (`DTSTAMP`).
    pub stamp: Option<DateTime<Utc>>,
    /// The client that wrote it (`PRODID`).
    pub prodid: String,
}

/// One message of the organizer's mailbox.
#[derive(Debug, Clone)]
pub struct ReplyMail {
    /// `Message-ID` without brackets, or `sha256:<hex>` of the bytes when there is none.
    pub message_key: String,
    /// The `From` address, lower case (empty when there is none).
    pub sender: String,
    pub date: Option<DateTime<Utc>>,
    /// The receiving server found the sender's domain does not vouch for it (DMARC failed).
    pub dmarc_failed: bool,
    pub content: Content,
}

#[derive(Debug, Clone)]
pub enum Content {
    /// No calendar reply in it (ordinary mail, an out-of-office note, a bounce): not ours.
    NotAReply,
    /// A calendar reply renkei cannot read (no UID, no attendee, broken iCalendar).
    Malformed(String),
    Reply(CalendarReply),
}

/// Strips `mailto:` (any case) and lower-cases an address.
pub fn address_of(value: &str) -> String {
    let v = value.trim().trim_matches('"');
    let v = if v.len() >= 7 && v[..7].eq_ignore_ascii_case("mailto:") {
        &v[7..]
    } else {
        v
    };
    v.trim().to_lowercase()
}

/// Reads one message.
pub fn read(raw: &[u8]) -> ReplyMail {
    let Some(message) = MessageParser::default().parse(raw) else {
        return ReplyMail {
            message_key: hash_key(raw),
            sender: String::new(),
            date: None,
            dmarc_failed: false,
            content: Content::Malformed("not a mail message".into()),
        };
    };
    let message_key = message
        .message_id()
        .map(|id| id.trim().trim_matches(['<', '>']).to_string())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| hash_key(raw));
    let sender = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(address_of)
        .unwrap_or_default();
    let date = message
        .date()
        .and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single());
    // Only the topmost Authentication-Results is the receiving server's own; lower ones may
    // have been written by anybody.
    let dmarc_failed = message
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("Authentication-Results"))
        .and_then(|h| raw.get(h.offset_start() as usize..h.offset_end() as usize))
        .is_some_and(|v| {
            String::from_utf8_lossy(v)
                .to_ascii_lowercase()
                .contains("dmarc=fail")
        });
    let mut content = Content::NotAReply;
    for part in &message.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let ctype = ct.ctype().to_ascii_lowercase();
        let subtype = ct.subtype().unwrap_or("").to_ascii_lowercase();
        let named_ics = part
            .attachment_name()
            .is_some_and(|n| n.to_ascii_lowercase().ends_with(".ics"));
        let calendar = (ctype == "text" && subtype == "calendar")
            || (ctype == "application" && subtype == "ics")
            || named_ics;
        if !calendar {
            continue;
        }
        let text = String::from_utf8_lossy(part.contents());
        match read_calendar(&text) {
            Ok(Some(reply)) => {
                content = Content::Reply(reply);
                break;
            }
            Ok(None) => {}
            Err(why) => {
                if matches!(content, Content::NotAReply) {
                    content = Content::Malformed(why);
                }
            }
        }
    }
    ReplyMail {
        message_key,
        sender,
        date,
        dmarc_failed,
        content,
    }
}

fn hash_key(raw: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(raw)))
}

/// The reply in a calendar part; `Ok(None)` when the part is not a REPLY (a forwarded
/// invitation, a CANCEL).
pub fn read_calendar(text: &str) -> Result<Option<CalendarReply>, String> {
    let unfolded = icalendar::parser::unfold(text);
    let cal = icalendar::parser::read_calendar(&unfolded)
        .map_err(|e| format!("the calendar part does not parse: {e}"))?;
    let method = cal
        .properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case("METHOD"))
        .map(|p| p.val.as_str().trim().to_ascii_uppercase());
    if method.as_deref() != Some("REPLY") {
        return Ok(None);
    }
    let prodid = cal
        .properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case("PRODID"))
        .map(|p| p.val.as_str().trim().to_string())
        .unwrap_or_default();
    let event = cal
        .components
        .iter()
        .find(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT"))
        .ok_or("the reply has no VEVENT")?;
    let prop = |name: &str| {
        event
            .properties
            .iter()
            .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
            .map(|p| p.val.as_str().trim().to_string())
    };
    let uid = prop("UID")
        .filter(|u| !u.is_empty())
        .ok_or("the reply has no UID")?;
    let sequence = match prop("SEQUENCE") {
        None => 0,
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| format!("SEQUENCE {s:?} is not a number"))?,
    };
    let param = |p: &icalendar::parser::Property<'_>, key: &str| {
        p.params
            .iter()
            .find(|x| x.key.as_str().eq_ignore_ascii_case(key))
            .and_then(|x| x.val.as_ref())
            .map(|v| v.as_str().trim().trim_matches('"').to_string())
    };
    let attendees: Vec<&icalendar::parser::Property<'_>> = event
        .properties
        .iter()
        .filter(|p| p.name.as_str().eq_ignore_ascii_case("ATTENDEE"))
        .collect();
    // The replying attendee: the one that is not a delegate (no DELEGATED-FROM).
    let me = attendees
        .iter()
        .find(|p| param(p, "DELEGATED-FROM").is_none())
        .or(attendees.first())
        .ok_or("the reply names no ATTENDEE")?;
    let attendee = address_of(me.val.as_str());
    if attendee.is_empty() {
        return Err("the ATTENDEE has no address".into());
    }
    let mut partstat = PartStat::parse(&param(me, "PARTSTAT").unwrap_or_default());
    let delegated_to = param(me, "DELEGATED-TO").map(|d| address_of(&d));
    let delegate = match delegated_to {
        Some(address) if !address.is_empty() => {
            partstat = PartStat::Delegated;
            let name = attendees
                .iter()
                .find(|p| address_of(p.val.as_str()) == address)
                .and_then(|p| param(p, "CN"))
                .unwrap_or_default();
            Some(Delegate { address, name })
        }
        _ => None,
    };
    let comment = event
        .properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case("COMMENT"))
        .map(|p| p.val.clone().unescape_text().as_str().trim().to_string())
        .unwrap_or_default();
    Ok(Some(CalendarReply {
        uid,
        sequence,
        attendee,
        attendee_name: param(me, "CN").unwrap_or_default(),
        partstat,
        sent_by: param(me, "SENT-BY")
            .map(|s| address_of(&s))
            .filter(|s| !s.is_empty()),
        delegate,
        comment,
        stamp: prop("DTSTAMP").as_deref().and_then(utc_stamp),
        prodid,
    }))
}

/// `20270512T050000Z` (DTSTAMP is always UTC, RFC 5545 3.8.7.2).
fn utc_stamp(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s.trim_end_matches(['Z', 'z']), "%Y%m%dT%H%M%S")
        .ok()
        .map(|t| Utc.from_utc_datetime(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str = "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nATTENDEE;PARTSTAT=DECLINED;CN=\"山田 花子\":MAILTO:Hanako.Yamada@Example.JP\r\nCOMMENT;LANGUAGE=ja-JP:出張のため欠席します\\, すみません\r\nUID:occ-1@renkei\r\nSEQUENCE:2\r\nDTSTAMP:20270501T010203Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn reads_the_attendee_status_comment_and_stamp() {
        let r = read_calendar(REPLY).unwrap().unwrap();
        assert_eq!(r.uid, "occ-1@renkei");
        assert_eq!(r.sequence, 2);
        assert_eq!(r.attendee, "hanako.yamada@example.jp");
        assert_eq!(r.attendee_name, "山田 花子");
        assert_eq!(r.partstat, PartStat::Declined);
        assert_eq!(r.comment, "出張のため欠席します, すみません");
        assert_eq!(
            r.stamp,
            Some(Utc.with_ymd_and_hms(2027, 5, 1, 1, 2, 3).unwrap())
        );
        assert_eq!(r.prodid, "Microsoft Exchange Server 2010");
    }

    #[test]
    fn a_request_or_cancel_is_not_a_reply_and_broken_ones_say_why() {
        assert_eq!(
            read_calendar(&REPLY.replace("METHOD:REPLY", "METHOD:REQUEST")).unwrap(),
            None
        );
        // Outlook's "propose new time" is for a person to read, not an answer.
        assert_eq!(
            read_calendar(&REPLY.replace("METHOD:REPLY", "METHOD:COUNTER")).unwrap(),
            None
        );
        let no_uid = REPLY.replace("UID:occ-1@renkei\r\n", "");
        assert!(read_calendar(&no_uid).unwrap_err().contains("UID"));
        let bad_seq = REPLY.replace("SEQUENCE:2", "SEQUENCE:two");
        assert!(read_calendar(&bad_seq).unwrap_err().contains("SEQUENCE"));
    }

    #[test]
    fn a_delegation_names_the_delegate() {
        let text = REPLY.replace(
            "ATTENDEE;PARTSTAT=DECLINED;CN=\"山田 花子\":MAILTO:Hanako.Yamada@Example.JP\r\n",
            "ATTENDEE;PARTSTAT=DELEGATED;DELEGATED-TO=\"mailto:jiro@example.jp\":mailto:hanako.yamada@example.jp\r\nATTENDEE;DELEGATED-FROM=\"mailto:hanako.yamada@example.jp\";CN=佐藤 次郎;PARTSTAT=NEEDS-ACTION:mailto:jiro@example.jp\r\n",
        );
        let r = read_calendar(&text).unwrap().unwrap();
        assert_eq!(r.attendee, "hanako.yamada@example.jp");
        assert_eq!(r.partstat, PartStat::Delegated);
        assert_eq!(
            r.delegate,
            Some(Delegate {
                address: "jiro@example.jp".into(),
                name: "佐藤 次郎".into()
            })
        );
    }

    #[test]
    fn a_message_without_a_calendar_is_not_a_reply() {
        let raw =
            b"From: a@example.jp\r\nMessage-ID: <x1@example.jp>\r\nSubject: hello\r\n\r\nhello\r\n";
        let m = read(raw);
        assert_eq!(m.message_key, "x1@example.jp");
        assert_eq!(m.sender, "a@example.jp");
        assert!(matches!(m.content, Content::NotAReply));
        let no_id = read(b"From: a@example.jp\r\nSubject: hello\r\n\r\nhello\r\n");
        assert!(no_id.message_key.starts_with("sha256:"));
    }

    #[test]
    fn only_the_topmost_authentication_result_counts() {
        let raw = format!(
            "Authentication-Results: mx.example.jp; spf=pass; dmarc=fail header.from=example.jp\r\nAuthentication-Results: evil; dmarc=pass\r\nFrom: a@example.jp\r\nMessage-ID: <x2@example.jp>\r\nContent-Type: text/calendar; method=REPLY; charset=utf-8\r\n\r\n{REPLY}"
        );
        let m = read(raw.as_bytes());
        assert!(m.dmarc_failed);
        assert!(matches!(m.content, Content::Reply(_)));
        let raw = raw.replacen("dmarc=fail", "dmarc=pass", 1);
        assert!(!read(raw.as_bytes()).dmarc_failed);
    }
}
