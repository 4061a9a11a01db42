//! iCalendar feeds (RFC 5545) of the published calendar, per person, room or organisation, to
//! subscribe from Outlook, Google Calendar or a phone. Built with the `icalendar` crate.
//!
//! Times are written in UTC (`DTSTART:20270512T050000Z`), which every client reads without a
//! VTIMEZONE block; the calendar says `X-WR-TIMEZONE:Asia/Tokyo` for display. A moved meeting
//! keeps its UID and raises SEQUENCE; a cancelled one stays in the feed as STATUS:CANCELLED so
//! subscribers drop it. Feed links carry a token derived from the municipality's secret, so
//! calendar apps (which cannot log in) can read them and nobody can guess them.

use chrono::{NaiveDate, NaiveTime, Utc};
use icalendar::{Attendee, Calendar, Component, EventLike, EventStatus};
use renkei_solver::calendar::jst_to_utc;
use sha2::{Digest, Sha256};

use crate::store::meetings::OccurrenceRow;
use crate::store::parse_instant;

/// What a feed is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    Person,
    Room,
    Organisation,
}

impl FeedKind {
    pub fn slug(self) -> &'static str {
        match self {
            FeedKind::Person => "person",
            FeedKind::Room => "room",
            FeedKind::Organisation => "organisation",
        }
    }
    pub fn parse(s: &str) -> Option<FeedKind> {
        [FeedKind::Person, FeedKind::Room, FeedKind::Organisation]
            .into_iter()
            .find(|k| k.slug() == s)
    }
}

/// The secret part of a feed link (64 bits would do; 128 is cheap).
pub fn feed_token(secret: &str, municipality: i64, kind: FeedKind, id: i64) -> String {
    let digest = Sha256::digest(format!("{secret}:{municipality}:{}:{id}", kind.slug()));
    hex::encode(&digest[..16])
}

/// Constant-time comparison of a presented token.
pub fn token_matches(expected: &str, presented: &str) -> bool {
    expected.len() == presented.len()
        && expected
            .bytes()
            .zip(presented.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// An empty calendar with renkei's PRODID as its only one (RFC 5545 allows one;
/// `Calendar::new` would add the library's own as well).
pub fn calendar(prodid: &str) -> Calendar {
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"));
    cal.append_property(("PRODID", prodid));
    cal.append_property(("CALSCALE", "GREGORIAN"));
    cal
}

/// The feed for `name`: every occurrence given, cancelled ones marked so.
pub fn feed(name: &str, occurrences: &[OccurrenceRow]) -> String {
    let mut cal = calendar("-//renkei//meeting calendar//JA");
    cal.name(name).timezone("Asia/Tokyo");
    for o in occurrences {
        let (Some(start), Some(end)) = (instant(&o.date, &o.start), instant(&o.date, &o.end))
        else {
            continue;
        };
        let mut e = icalendar::Event::new();
        e.uid(&o.uid)
            .summary(&o.title)
            .starts(start)
            .ends(end)
            .sequence(o.sequence.max(0) as u32)
            .timestamp(parse_instant(&o.updated_at).unwrap_or_else(Utc::now))
            .status(if o.status == "cancelled" {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            });
        let place = crate::notices::place(o);
        let location = if o.venue_address.is_empty() {
            place
        } else {
            format!("{place}（{}）", o.venue_address)
        };
        e.location(&location);
        let names: Vec<String> = o
            .attendees
            .iter()
            .map(|a| {
                if a.organisation_name.is_empty() {
                    a.name.clone()
                } else {
                    format!("{}（{}）", a.name, a.organisation_name)
                }
            })
            .collect();
        if o.is_held_by_others() {
            // Another body's meeting: say who holds it; no ATTENDEE lines, so no calendar
            // offers to answer renkei for it (the host invites, not us).
            e.description(&format!(
                "他機関主催 / Held by another body: {}\n{}\n出席者 / Attendees: {}",
                o.held_by,
                o.title_en,
                names.join("、")
            ));
            e.add_property("CATEGORIES", "他機関主催,HELD-BY-OTHERS");
            cal.push(e.done());
            continue;
        }
        e.description(&format!(
            "{}\n出席者 / Attendees: {}",
            o.title_en,
            names.join("、")
        ));
        for a in o.attendees.iter().filter(|a| !a.email.is_empty()) {
            let mut att = Attendee::new(format!("mailto:{}", a.email));
            att.cn = Some(a.name.clone());
            att.role = Some(if a.required {
                icalendar::Role::ReqParticipant
            } else {
                icalendar::Role::OptParticipant
            });
            e.attendee(att);
        }
        cal.push(e.done());
    }
    cal.done().to_string()
}

fn instant(date: &str, time: &str) -> Option<chrono::DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let t = NaiveTime::parse_from_str(time, "%H:%M").ok()?;
    Some(jst_to_utc(d, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::meetings::Attendee as A;

    fn occ(status: &str) -> OccurrenceRow {
        OccurrenceRow {
            id: 1,
            uid: "abc@renkei".into(),
            series_id: 1,
            series_key: "WARDNET@東区".into(),
            title: "区ネットワーク会議（東区）".into(),
            title_en: "Ward network meeting (東区)".into(),
            kind: "ward_network".into(),
            ward: "東区".into(),
            date: "2027-05-12".into(),
            start: "14:00".into(),
            end: "16:00".into(),
            room_id: Some(3),
            room_name: "会議室A".into(),
            venue_name: "東区役所".into(),
            venue_address: "みらい市東区日の出町3-1-1".into(),
            place_organisation_id: None,
            status: status.into(),
            pin: "none".into(),
            sequence: 2,
            updated_at: "2026-11-23T01:02:03.000000Z".into(),
            attendees: vec![A {
                person_id: 7,
                name: "山田 花子".into(),
                email: "hanako.yamada@example.jp".into(),
                organisation_id: None,
                organisation_name: String::new(),
                required: true,
            }],
            held_by: String::new(),
            host_organisation_id: None,
        }
    }

    #[test]
    fn writes_utc_times_sequence_and_status_and_parses_back() {
        let text = feed("東区の会議", &[occ("scheduled"), occ("cancelled")]);
        assert!(text.contains("DTSTART:20270512T050000Z"), "{text}");
        assert!(text.contains("DTEND:20270512T070000Z"));
        assert!(text.contains("SEQUENCE:2"));
        assert!(text.contains("STATUS:CANCELLED"));
        // Long lines are folded at 75 octets (RFC 5545 3.1): read the content lines unfolded.
        let unfolded = text.replace("\r\n ", "").replace("\r\n\t", "");
        assert!(
            unfolded.contains("ROLE=REQ-PARTICIPANT:mailto:hanako.yamada@example.jp"),
            "{unfolded}"
        );
        assert!(
            text.lines().all(|l| l.len() <= 75),
            "every content line is folded: {text}"
        );
        let parsed: Calendar = text.parse().expect("the feed parses as iCalendar");
        assert_eq!(parsed.components.len(), 2);
    }

    /// Sendai (003): 「区障害者自立支援協議会への参画」— the host's meeting is in the attendee's
    /// feed, saying who holds it, with no ATTENDEE to answer.
    #[test]
    fn a_meeting_held_by_others_says_who_holds_it() {
        let mut o = occ("scheduled");
        o.held_by = "区障害者自立支援協議会".into();
        let text = feed("山田 花子", &[o]);
        let unfolded = text.replace("\r\n ", "").replace("\r\n\t", "");
        assert!(
            unfolded.contains("他機関主催 / Held by another body: 区障害者自立支援協議会"),
            "{unfolded}"
        );
        assert!(!unfolded.contains("ATTENDEE"), "{unfolded}");
        assert!(!unfolded.contains("METHOD:") && !unfolded.contains("ORGANIZER"));
        let parsed: Calendar = text.parse().expect("the feed parses as iCalendar");
        assert_eq!(parsed.components.len(), 1);
    }

    #[test]
    fn tokens_differ_per_feed_and_compare_exactly() {
        let a = feed_token("s", 1, FeedKind::Person, 7);
        assert_ne!(a, feed_token("s", 1, FeedKind::Room, 7));
        assert_ne!(a, feed_token("t", 1, FeedKind::Person, 7));
        assert!(token_matches(&a, &a.clone()));
        assert!(!token_matches(&a, &a[..31]));
    }
}
