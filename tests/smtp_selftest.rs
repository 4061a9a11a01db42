//! The test SMTP server (tests/support/smtp.rs) and its parsers, checked with lettre as the
//! client: delivery of a calendar invitation, permanent and transient refusals, and an outage.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::support::smtp::{parse, parse_calendar, SmtpServer};

const WAIT: Duration = Duration::from_secs(10);

const ICS: &str = "BEGIN:VCALENDAR\r\n\
VERSION:2.0\r\n\
PRODID:-//renkei//selftest//JA\r\n\
METHOD:REQUEST\r\n\
BEGIN:VEVENT\r\n\
UID:meeting-42@renkei.example.jp\r\n\
SEQUENCE:3\r\n\
STATUS:CONFIRMED\r\n\
DTSTAMP:20250301T000000Z\r\n\
DTSTART:20250401T010000Z\r\n\
DTEND:20250401T020000Z\r\n\
SUMMARY:サービス担当者会議\\, 第1回\r\n\
LOCATION:相談支援センター 2F\\; 会議室A\r\n\
DESCRIPTION:議題:\\n1. 近況 \r\n 2. 計画の見直し\r\n\
ORGANIZER;CN=\"相談支援専門員\":mailto:organizer@example.jp\r\n\
ATTENDEE;CN=\"山田 太郎\";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:yamada@example.jp\r\n\
ATTENDEE;RSVP=FALSE:mailto:suzuki@example.jp\r\n\
END:VEVENT\r\n\
END:VCALENDAR\r\n";

fn transport(server: &SmtpServer) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host())
        .port(server.port)
        .timeout(Some(Duration::from_secs(5)))
        .build()
}

fn mailbox(s: &str) -> Mailbox {
    s.parse().unwrap()
}

fn invitation(to: &str) -> Message {
    Message::builder()
        .from(mailbox("連携 <noreply@renkei.example.jp>"))
        .to(mailbox(to))
        .subject("【会議のご案内】サービス担当者会議（4月1日）")
        .message_id(Some("<selftest-1@renkei.example.jp>".into()))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(
                    "山田様\n\n4月1日の会議にご出席ください。\n".to_string(),
                ))
                .singlepart(
                    SinglePart::builder()
                        .header(
                            ContentType::parse("text/calendar; method=REQUEST; charset=UTF-8")
                                .unwrap(),
                        )
                        .body(ICS.to_string()),
                ),
        )
        .unwrap()
}

fn plain(to: &str) -> Message {
    Message::builder()
        .from(mailbox("noreply@renkei.example.jp"))
        .to(mailbox(to))
        .subject("テスト")
        .body("本文\n".to_string())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_a_calendar_invitation_intact() {
    let server = SmtpServer::start();
    assert_eq!(server.url(), format!("smtp://127.0.0.1:{}", server.port));
    transport(&server)
        .send(invitation("山田 太郎 <yamada@example.jp>"))
        .await
        .expect("send the invitation");

    let received = server.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.mail_from, "noreply@renkei.example.jp");
    assert_eq!(message.rcpt_tos, vec!["yamada@example.jp".to_string()]);

    let parsed = parse(&message.raw);
    assert_eq!(
        parsed.subject,
        "【会議のご案内】サービス担当者会議（4月1日）"
    );
    assert_eq!(parsed.message_id, "selftest-1@renkei.example.jp");
    assert_eq!(parsed.from.as_deref(), Some("noreply@renkei.example.jp"));
    assert_eq!(parsed.to, vec!["yamada@example.jp".to_string()]);
    assert_eq!(
        parsed.content_types,
        vec!["multipart/alternative", "text/plain", "text/calendar"]
    );
    let text = parsed.text.as_deref().expect("a text/plain part");
    assert!(text.contains("4月1日の会議にご出席ください。"), "{text}");
    assert_eq!(parsed.html, None);
    assert!(parsed.attachments.is_empty());
    assert_eq!(parsed.calendar_method_param.as_deref(), Some("REQUEST"));

    let events = parse_calendar(parsed.calendar.as_deref().expect("a text/calendar part"));
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.method.as_deref(), Some("REQUEST"));
    assert_eq!(event.uid, "meeting-42@renkei.example.jp");
    assert_eq!(event.sequence, Some(3));
    assert_eq!(event.status.as_deref(), Some("CONFIRMED"));
    assert_eq!(event.dtstart.as_deref(), Some("20250401T010000Z"));
    assert_eq!(event.dtend.as_deref(), Some("20250401T020000Z"));
    assert_eq!(event.summary.as_deref(), Some("サービス担当者会議, 第1回"));
    assert_eq!(
        event.location.as_deref(),
        Some("相談支援センター 2F; 会議室A")
    );
    // Folded lines are joined without losing the space in front of a fold.
    assert_eq!(
        event.description.as_deref(),
        Some("議題:\n1. 近況 2. 計画の見直し")
    );
    assert_eq!(
        event.organizer.as_deref(),
        Some("mailto:organizer@example.jp")
    );
    assert_eq!(event.attendees.len(), 2);
    let (value, params) = &event.attendees[0];
    assert_eq!(value, "mailto:yamada@example.jp");
    assert!(
        params.contains(&("RSVP".into(), "TRUE".into())),
        "{params:?}"
    );
    assert!(
        params.contains(&("CN".into(), "山田 太郎".into())),
        "{params:?}"
    );
    assert!(
        params.contains(&("PARTSTAT".into(), "NEEDS-ACTION".into())),
        "{params:?}"
    );
    assert_eq!(event.attendees[1].0, "mailto:suzuki@example.jp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_recipient_is_a_permanent_error() {
    let server = SmtpServer::start();
    let error = transport(&server)
        .send(plain("reject-me@example.jp"))
        .await
        .expect_err("the server refuses reject…@");
    assert!(error.is_permanent(), "{error:?}");
    assert_eq!(error.status().map(|c| c.to_string()), Some("550".into()));
    assert!(error.to_string().contains("no such user"), "{error}");
    server.assert_stays_at(0, Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_recipient_is_a_transient_error_until_it_is_not() {
    let server = SmtpServer::start();
    let mailer = transport(&server);
    server.set_busy(true);
    for _ in 0..2 {
        let error = mailer
            .send(plain("busy-1@example.jp"))
            .await
            .expect_err("busy…@ is refused while busy");
        assert!(error.is_transient(), "{error:?}");
        assert!(!error.is_permanent(), "{error:?}");
        assert_eq!(error.status().map(|c| c.to_string()), Some("451".into()));
    }
    // Other recipients are not affected.
    mailer.send(plain("other@example.jp")).await.unwrap();
    server.set_busy(false);
    server.set_busy(false); // idempotent
    mailer.send(plain("busy-1@example.jp")).await.unwrap();
    let received = server.wait_for(2, WAIT).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].rcpt_tos, vec!["other@example.jp".to_string()]);
    assert_eq!(received[1].rcpt_tos, vec!["busy-1@example.jp".to_string()]);
    assert_eq!(parse(&received[1].raw).subject, "テスト");
}

fn is_connection_refused(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        source = e.source();
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_a_connection_error_and_a_restart_recovers() {
    let mut server = SmtpServer::start();
    // One pooled transport throughout, as the application keeps one.
    let mailer = transport(&server);
    mailer.send(plain("first@example.jp")).await.unwrap();
    server.wait_for(1, WAIT).await;

    server.stop();
    assert!(!server.is_running());
    let error = mailer
        .send(plain("second@example.jp"))
        .await
        .expect_err("nobody listens after stop()");
    assert!(!error.is_permanent() && !error.is_transient(), "{error:?}");
    assert!(error.status().is_none(), "{error:?}");
    assert!(is_connection_refused(&error), "{error:?}");

    // A new server on the same port and directory: numbering continues.
    let again = SmtpServer::start_on(server.port, server.dir.clone());
    assert_eq!(again.url(), server.url());
    mailer.send(plain("third@example.jp")).await.unwrap();
    let received = again.wait_for(2, WAIT).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].rcpt_tos, vec!["third@example.jp".to_string()]);
    drop(again);

    // And the same server object, restarted in place.
    mailer.send(plain("fourth@example.jp")).await.unwrap_err();
    server.restart();
    mailer.send(plain("fifth@example.jp")).await.unwrap();
    let received = server.wait_for(3, WAIT).await;
    assert_eq!(received[2].rcpt_tos, vec!["fifth@example.jp".to_string()]);
}
