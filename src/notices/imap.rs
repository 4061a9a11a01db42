//! The organizer's mailbox, read over IMAP: the replies that Outlook, Gmail and Apple Mail send
//! when an invitee presses Accept / Decline / Tentative on an invitation go to the address the
//! invitation names as ORGANIZER (`mail_from`), an ordinary mailbox of the municipality. IMAP
//! rather than a listener of our own: that mailbox already exists and receives the mail
//! (spam filtering, DMARC checks, retention and all), a municipality's network rarely lets mail
//! in to an application server, and polling keeps renkei behind its firewall.
//!
//! * The poll is a job (`calendar_replies`), queued every `imap_poll_seconds` by each instance
//!   under one idempotency key per interval and run by whichever worker claims it (with a
//!   lease). Polls that still overlap (one ran long) meet on the mailbox's own lease
//!   (`mailbox_leases`): the second reads nothing, so no message is fetched, recorded or
//!   moved by two pollers at once.
//! * Each message is fetched with `BODY.PEEK[]` (not marked read), read
//!   ([`super::replies::read`]) and recorded (`Db::record_calendar_reply`, one transaction
//!   keyed by its Message-ID); only after that commit is it marked: a calendar reply is flagged
//!   `\Seen` and `RenkeiRead` and moved to `imap_processed_folder`; other mail (out-of-office
//!   notes, people writing to the sender address) stays in the inbox, flagged `RenkeiRead` only,
//!   for a person to read. A poll that dies before marking reads the message again next time,
//!   and recording it again is a no-op: at least once, applied once.
//! * Servers that do not keep custom keywords (`\*` missing from PERMANENTFLAGS) are searched
//!   for `UNSEEN` instead, and other mail is then marked `\Seen`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_imap::types::Flag;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::replies::{self, Content};
use crate::config::Config;
use crate::jobs::{JobError, Worker};
use crate::store::Db;

/// Kind of the job that reads the mailbox.
pub const POLL_JOB: &str = "calendar_replies";

/// The keyword renkei puts on every message it has read.
pub const READ_KEYWORD: &str = "RenkeiRead";

/// Messages read in one poll at most (the rest wait for the next).
pub const BATCH: usize = 500;

/// Where the mailbox is: `imaps://user:password@host:993/INBOX` (TLS) or `imap://…:143/…`
/// (plain, for a server on this machine).
#[derive(Clone)]
pub struct MailboxUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    password: String,
    pub folder: String,
}

impl std::fmt::Debug for MailboxUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}@{}:{}/{}",
            if self.tls { "imaps" } else { "imap" },
            self.user,
            self.host,
            self.port,
            self.folder
        )
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

impl MailboxUrl {
    pub fn parse(s: &str) -> anyhow::Result<MailboxUrl> {
        let hint = "write it as imaps://user:password@host:993/INBOX (imap:// only for a server on this machine) / imaps://ユーザー:パスワード@ホスト:993/INBOX の形で書いてください";
        let u = url::Url::parse(s.trim())
            .map_err(|e| anyhow::anyhow!("imap_url is not a URL ({e}); {hint}"))?;
        let tls = match u.scheme() {
            "imaps" => true,
            "imap" => false,
            other => anyhow::bail!("imap_url: scheme {other:?} is not imaps or imap; {hint}"),
        };
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| anyhow::anyhow!("imap_url has no host; {hint}"))?
            .trim_matches(['[', ']'])
            .to_string();
        if u.username().is_empty() || u.password().is_none() {
            anyhow::bail!("imap_url needs the mailbox's user and password; {hint}");
        }
        let folder = decode(u.path().trim_start_matches('/'));
        Ok(MailboxUrl {
            tls,
            port: u.port().unwrap_or(if tls { 993 } else { 143 }),
            user: decode(u.username()),
            password: decode(u.password().unwrap_or("")),
            folder: if folder.is_empty() {
                "INBOX".into()
            } else {
                folder
            },
            host,
        })
    }

    /// A plain connection is only for a server on this machine (passwords would travel in clear).
    pub fn is_local(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// What a poll needs.
#[derive(Debug, Clone)]
pub struct PollSettings {
    pub mailbox: MailboxUrl,
    pub processed_folder: String,
    pub answer_deadline_days: i64,
}

impl PollSettings {
    /// None when no mailbox is configured.
    pub fn from_config(c: &Config) -> anyhow::Result<Option<PollSettings>> {
        if c.imap_url.trim().is_empty() {
            return Ok(None);
        }
        Ok(Some(PollSettings {
            mailbox: MailboxUrl::parse(&c.imap_url)?,
            processed_folder: c.imap_processed_folder.clone(),
            answer_deadline_days: c.answer_deadline_days,
        }))
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PollReport {
    /// Another poller was reading the mailbox: this one read nothing.
    pub busy: bool,
    /// Messages fetched.
    pub read: usize,
    /// Calendar replies recorded now, by outcome (applied, stale, forged, …).
    pub outcomes: BTreeMap<String, usize>,
    /// Replies recorded before (read again): nothing changed.
    pub repeats: usize,
    /// Other mail, left in the inbox.
    pub other_mail: usize,
}

impl PollReport {
    pub fn count(&self, outcome: &str) -> usize {
        self.outcomes.get(outcome).copied().unwrap_or(0)
    }
}

/// Registers the poll job and its period with the worker (when a mailbox is configured).
pub fn register(worker: &mut Worker, settings: PollSettings, every: StdDuration) {
    let settings = Arc::new(settings);
    worker.register(POLL_JOB, move |ctx| {
        let settings = settings.clone();
        async move {
            let report = poll(&ctx.db, &settings)
                .await
                .map_err(|e| JobError::Transient(format!("{e:#}")))?;
            // One finished poll a minute would pile up: keep a day of them.
            let _ = ctx
                .db
                .purge_finished_jobs(POLL_JOB, chrono::Duration::days(1))
                .await;
            serde_json::to_value(&report).map_err(|e| JobError::Permanent(e.to_string()))
        }
    });
    worker.every(POLL_JOB, every);
}

/// Reads the mailbox once: every message not read yet (up to [`BATCH`]). While another poller
/// reads the same mailbox this one reads nothing (`busy` in the report).
pub async fn poll(db: &Db, s: &PollSettings) -> anyhow::Result<PollReport> {
    let key = format!("{:?}", s.mailbox);
    let owner = crate::auth::random_token(12);
    // Longer than a poll may take (see the timeout below).
    if !db
        .take_mailbox_lease(&key, &owner, chrono::Duration::minutes(11))
        .await?
    {
        tracing::debug!(mailbox = %key, "another poller is reading the mailbox");
        return Ok(PollReport {
            busy: true,
            ..PollReport::default()
        });
    }
    let report = poll_leased(db, s).await;
    if let Err(e) = db.release_mailbox_lease(&key, &owner).await {
        tracing::warn!(mailbox = %key, error = %e, "releasing the mailbox lease failed; it expires by itself");
    }
    report
}

async fn poll_leased(db: &Db, s: &PollSettings) -> anyhow::Result<PollReport> {
    let m = &s.mailbox;
    let tcp = tokio::time::timeout(
        StdDuration::from_secs(30),
        TcpStream::connect((m.host.as_str(), m.port)),
    )
    .await
    .map_err(|_| anyhow::anyhow!("IMAP server {m:?} did not answer within 30 s"))?
    .map_err(|e| anyhow::anyhow!("cannot reach the IMAP server {m:?}: {e}"))?;
    let work = async {
        if m.tls {
            let stream = tls(&m.host, tcp).await?;
            session(db, s, stream).await
        } else {
            session(db, s, tcp).await
        }
    };
    // A server that stops answering mid-poll must not hold the job for ever.
    tokio::time::timeout(StdDuration::from_secs(600), work)
        .await
        .map_err(|_| anyhow::anyhow!("IMAP poll of {m:?} took over 10 minutes"))?
}

async fn tls(
    host: &str,
    tcp: TcpStream,
) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| anyhow::anyhow!("IMAP host {host:?}: {e}"))?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| anyhow::anyhow!("TLS with the IMAP server {host}: {e}"))?)
}

async fn session<T>(db: &Db, s: &PollSettings, stream: T) -> anyhow::Result<PollReport>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let m = &s.mailbox;
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await?
        .ok_or_else(|| anyhow::anyhow!("the IMAP server {m:?} closed without a greeting"))?;
    let mut session = client
        .login(&m.user, &m.password)
        .await
        .map_err(|(e, _)| anyhow::anyhow!("IMAP login as {} refused: {e}", m.user))?;
    let mailbox = session
        .select(&m.folder)
        .await
        .map_err(|e| anyhow::anyhow!("IMAP folder {:?}: {e}", m.folder))?;
    let keywords = mailbox.permanent_flags.contains(&Flag::MayCreate);
    // The folder for processed replies; NO [ALREADYEXISTS] when it is there.
    if let Err(e) = session.create(&s.processed_folder).await {
        tracing::debug!(folder = %s.processed_folder, error = %e, "IMAP CREATE (exists already?)");
    }
    let query = if keywords {
        format!("UNKEYWORD {READ_KEYWORD} UNDELETED")
    } else {
        "UNSEEN UNDELETED".to_string()
    };
    let mut uids: Vec<u32> = session.uid_search(&query).await?.into_iter().collect();
    uids.sort_unstable();
    uids.truncate(BATCH);
    let mut report = PollReport::default();
    for uid in uids {
        let raw = {
            let mut fetches = session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?;
            let mut raw = Ok(None);
            while let Some(f) = fetches.next().await {
                match f {
                    Ok(f) => {
                        if let Some(body) = f.body() {
                            raw = Ok(Some(body.to_vec()));
                        }
                    }
                    Err(e) => raw = Err(e),
                }
            }
            raw
        };
        // Moved meanwhile by another poller (no message, or NO [EXPUNGEISSUED]): nothing to do.
        let raw = match raw {
            Ok(Some(raw)) => raw,
            Ok(None) => continue,
            Err(async_imap::error::Error::No(why)) => {
                tracing::debug!(uid, %why, "IMAP message gone meanwhile");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        report.read += 1;
        let mail = replies::read(&raw);
        if matches!(mail.content, Content::NotAReply) {
            report.other_mail += 1;
            let flags = if keywords {
                format!("+FLAGS ({READ_KEYWORD})")
            } else {
                "+FLAGS (\\Seen)".to_string()
            };
            mark(&mut session, uid, &flags).await?;
            continue;
        }
        let recorded = db
            .record_calendar_reply(&mail, s.answer_deadline_days)
            .await
            .map_err(|e| anyhow::anyhow!("recording the reply {}: {e}", mail.message_key))?;
        if recorded.duplicate {
            report.repeats += 1;
        } else {
            *report
                .outcomes
                .entry(recorded.outcome.slug().to_string())
                .or_default() += 1;
            let (uid_text, attendee, sequence) = match &mail.content {
                Content::Reply(r) => (r.uid.as_str(), r.attendee.as_str(), r.sequence),
                _ => ("", "", 0),
            };
            if recorded.outcome.ignored() {
                tracing::warn!(
                    outcome = recorded.outcome.slug(), uid = uid_text, attendee, sequence,
                    sender = %mail.sender, message = %mail.message_key, detail = %recorded.detail,
                    "calendar reply ignored"
                );
            } else {
                tracing::info!(
                    outcome = recorded.outcome.slug(), uid = uid_text, attendee,
                    message = %mail.message_key, "calendar reply recorded"
                );
            }
        }
        // Recorded (committed): now mark it and move it out of the inbox.
        let flags = if keywords {
            format!("+FLAGS (\\Seen {READ_KEYWORD})")
        } else {
            "+FLAGS (\\Seen)".to_string()
        };
        mark(&mut session, uid, &flags).await?;
        if let Err(e) = session.uid_mv(uid.to_string(), &s.processed_folder).await {
            // Marked read already, so it is not read again; it only stays in the inbox.
            tracing::warn!(uid, folder = %s.processed_folder, error = %e, "IMAP MOVE failed; the reply stays in the inbox, marked read");
        }
    }
    let _ = session.logout().await;
    Ok(report)
}

/// Sets flags on one message. A NO (the message was moved meanwhile by another poller) is not
/// an error: the reply is recorded, and whoever moved it marked it.
async fn mark<T>(session: &mut async_imap::Session<T>, uid: u32, flags: &str) -> anyhow::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let mut result = Ok(());
    {
        let mut stream = session.uid_store(uid.to_string(), flags).await?;
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                result = Err(e);
            }
        }
    }
    match result {
        Ok(()) => Ok(()),
        Err(async_imap::error::Error::No(why)) => {
            tracing::debug!(uid, %why, "IMAP STORE refused (message gone meanwhile)");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_urls_are_read_and_refused_with_a_hint() {
        let m = MailboxUrl::parse("imaps://kikan%40mirai.example.jp:p%40ss@mail.example.jp/INBOX")
            .unwrap();
        assert!(m.tls);
        assert_eq!(m.port, 993);
        assert_eq!(m.user, "kikan@mirai.example.jp");
        assert_eq!(m.password, "p@ss");
        assert_eq!(m.folder, "INBOX");
        assert!(!m.is_local());
        assert!(!format!("{m:?}").contains("p@ss"), "no password in logs");
        let m = MailboxUrl::parse("imap://u:p@127.0.0.1:1143").unwrap();
        assert!(!m.tls && m.is_local() && m.port == 1143 && m.folder == "INBOX");
        for bad in ["pop3://u:p@h/", "imaps://h/INBOX", "not a url"] {
            let e = MailboxUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains("imaps://") && e.contains("書いて"), "{bad}: {e}");
        }
    }
}
