//! Configuration in layers: built-in defaults, then an optional TOML file (`renkei.toml` or the
//! file named by `RENKEI_CONFIG`), then `RENKEI_*` environment variables (and the conventional
//! `DATABASE_URL`). Unsafe settings are refused at start in production.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://renkei.db` (default, embedded) or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// Address to listen on; port 0 picks a free port (tests).
    pub listen: String,
    /// URL under which users reach the service (links in mail, cookie security).
    pub public_url: String,
    /// `development` or `production`.
    pub environment: String,
    /// Session lifetime in hours.
    pub session_hours: i64,
    /// `text` (human) or `json` (structured) logs.
    pub log_format: String,
    /// Run the background job worker in this instance.
    pub run_worker: bool,
    /// Outgoing mail server, as lettre reads it: `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (implicit TLS), `smtp://host:25` (no TLS: local
    /// relays and tests only). Empty: no mail server; messages are written to `outbox_dir` as
    /// `.eml` files and listed on the 送信メール page, so nothing is lost and the demo shows what
    /// would be sent.
    pub smtp_url: String,
    /// Sender of notices (`Name <address>` or an address); calendar invitations name it ORGANIZER.
    pub mail_from: String,
    /// The mailbox of `mail_from`, where calendar replies (Accept / Decline in Outlook, Gmail,
    /// Apple Mail) arrive: `imaps://user:password@host:993/INBOX` (`imap://` only for a server
    /// on this machine). Empty (default): replies are not read.
    pub imap_url: String,
    /// The mailbox is read this often (seconds, 10-3600).
    pub imap_poll_seconds: u64,
    /// Read calendar replies are moved to this folder of the mailbox (created when missing).
    pub imap_processed_folder: String,
    /// Folder of the local outbox (used when `smtp_url` is empty).
    pub outbox_dir: String,
    /// Reminders go this many days before a meeting (comma-separated, e.g. `7,1`; empty: none).
    pub reminder_days: String,
    /// Answers are accepted until this many days before the meeting (the answer deadline).
    pub answer_deadline_days: i64,
    /// Invitees who have not answered get a chase this many days before the answer deadline.
    pub chase_days: i64,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed (comma-separated IP
    /// addresses, e.g. `127.0.0.1,10.0.0.5`). Empty (default): the header is ignored and the
    /// peer address is the client, because anyone can write that header.
    pub trusted_proxies: String,
    /// A plan puts no meeting earlier than today plus this many days, so that invitees can
    /// answer before the answer deadline and get a chase first.
    pub min_notice_days: i64,
    /// A person is required at no more than this many meetings a day (0: no limit).
    pub max_meetings_per_day: u32,
    /// ... nor more than this many hours of meetings a day (0: no limit).
    pub max_meeting_hours_per_day: f64,
    /// The organiser's office as invitees and facilities should name it when they call or
    /// write (answer pages, facility pages, mail). Empty: the sender's name of `mail_from`.
    pub contact_office: String,
    /// The organiser's telephone number (e.g. `03-1234-5678`). Empty: none shown.
    pub contact_phone: String,
    /// The organiser's mail address for questions. Empty: the address of `mail_from`.
    pub contact_email: String,
}

/// Whom invitees and facilities contact (the configuration's `contact_*`, falling back to the
/// sender of notices).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Contact {
    pub office: String,
    pub phone: String,
    pub email: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            database_url: "sqlite://renkei.db".into(),
            listen: "127.0.0.1:8080".into(),
            public_url: "http://localhost:8080".into(),
            environment: "development".into(),
            session_hours: 12,
            log_format: "text".into(),
            run_worker: true,
            smtp_url: String::new(),
            mail_from: "renkei <renkei@localhost>".into(),
            imap_url: String::new(),
            imap_poll_seconds: 60,
            imap_processed_folder: "renkei-processed".into(),
            outbox_dir: "outbox".into(),
            reminder_days: "7,1".into(),
            answer_deadline_days: 2,
            chase_days: 2,
            trusted_proxies: String::new(),
            min_notice_days: 14,
            max_meetings_per_day: 4,
            max_meeting_hours_per_day: 6.0,
            contact_office: String::new(),
            contact_phone: String::new(),
            contact_email: String::new(),
        }
    }
}

/// Keys settable as `RENKEI_<KEY>` environment variables.
const CONFIG_KEYS: [&str; 23] = [
    "database_url",
    "listen",
    "public_url",
    "environment",
    "session_hours",
    "log_format",
    "run_worker",
    "smtp_url",
    "mail_from",
    "imap_url",
    "imap_poll_seconds",
    "imap_processed_folder",
    "outbox_dir",
    "reminder_days",
    "answer_deadline_days",
    "chase_days",
    "trusted_proxies",
    "min_notice_days",
    "max_meetings_per_day",
    "max_meeting_hours_per_day",
    "contact_office",
    "contact_phone",
    "contact_email",
];

impl Config {
    pub fn load() -> anyhow::Result<Config> {
        let file = std::env::var("RENKEI_CONFIG").unwrap_or_else(|_| "renkei.toml".into());
        let mut figment =
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::file(&file));
        if let Ok(url) = std::env::var("DATABASE_URL") {
            figment = figment.merge(("database_url", url));
        }
        let config: Config = figment
            // Only the settings' own names: other RENKEI_* variables (RENKEI_LOG,
            // RENKEI_NEW_PASSWORD, test settings) belong to other parts.
            .merge(Env::prefixed("RENKEI_").only(&CONFIG_KEYS))
            .extract()
            .map_err(|e| anyhow::anyhow!("configuration error / 設定エラー: {e}"))?;
        config.check()?;
        Ok(config)
    }

    /// The least minimum notice: the answer deadline and a chase before it must fit.
    pub fn least_notice_days(&self) -> i64 {
        self.answer_deadline_days + self.chase_days + 1
    }

    /// What a plan request does not say itself.
    pub fn plan_defaults(&self) -> crate::meetings::PlanDefaults {
        crate::meetings::PlanDefaults {
            min_notice_days: self.min_notice_days,
            max_meetings_per_day: (self.max_meetings_per_day > 0)
                .then_some(self.max_meetings_per_day),
            max_minutes_per_day: (self.max_meeting_hours_per_day > 0.0)
                .then(|| (self.max_meeting_hours_per_day * 60.0).round() as u32),
            staff_hours: renkei_solver::calendar::OpeningHours::default(),
        }
    }

    /// The trusted proxies' addresses.
    pub fn trusted_proxy_list(&self) -> anyhow::Result<Vec<std::net::IpAddr>> {
        self.trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse::<std::net::IpAddr>()
                    .map(|ip| ip.to_canonical())
                    .map_err(|_| anyhow::anyhow!(
                        "RENKEI_TRUSTED_PROXIES: {a:?} is not an IP address (list addresses, e.g. 127.0.0.1,10.0.0.5) / IPアドレスではありません"
                    ))
            })
            .collect()
    }

    /// Cookies get the `Secure` flag, and responses HSTS, whenever users reach us over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }

    /// Whom invitees and facilities contact: `contact_*`, else the sender of notices.
    pub fn contact(&self) -> Contact {
        let sender = self.mail_sender().ok();
        let office = match self.contact_office.trim() {
            "" => sender
                .as_ref()
                .and_then(|s| s.name.clone())
                .unwrap_or_default(),
            o => o.to_string(),
        };
        let email = match self.contact_email.trim() {
            "" => sender.map(|s| s.email.to_string()).unwrap_or_default(),
            e => e.to_string(),
        };
        Contact {
            office,
            phone: self.contact_phone.trim().to_string(),
            email,
        }
    }

    /// The sender of notices, parsed.
    pub fn mail_sender(&self) -> anyhow::Result<lettre::message::Mailbox> {
        self.mail_from.parse().map_err(|e| {
            anyhow::anyhow!(
                "mail_from {:?} is not a mail address ({e}); write it as `Name <name@example.jp>` / mail_from がメールアドレスではありません",
                self.mail_from
            )
        })
    }

    /// `reminder_days` as numbers, largest first.
    pub fn reminder_day_list(&self) -> anyhow::Result<Vec<i64>> {
        let mut days = Vec::new();
        for part in self
            .reminder_days
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part.parse::<i64>() {
                Ok(d) if (1..=60).contains(&d) => days.push(d),
                _ => anyhow::bail!(
                    "reminder_days must be day counts 1-60 separated by commas, e.g. 7,1 (got {:?}) / reminder_days は 7,1 のように1〜60の日数をカンマ区切りで書いてください",
                    self.reminder_days
                ),
            }
        }
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        Ok(days)
    }

    /// Refuses settings that would be unsafe or meaningless.
    pub fn check(&self) -> anyhow::Result<()> {
        if !matches!(self.environment.as_str(), "development" | "production") {
            anyhow::bail!("environment must be development or production (got {:?}) / environment は development か production にしてください", self.environment);
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            anyhow::bail!(
                "log_format must be text or json / log_format は text か json にしてください"
            );
        }
        let contact_email = self.contact_email.trim();
        if !contact_email.is_empty() && contact_email.parse::<lettre::Address>().is_err() {
            anyhow::bail!("contact_email {contact_email:?} is not a mail address (write it as name@example.jp) / contact_email がメールアドレスではありません");
        }
        if !(1..=24 * 30).contains(&self.session_hours) {
            anyhow::bail!("session_hours must be 1-720 / session_hours は1〜720にしてください");
        }
        url::Url::parse(&self.public_url).map_err(|e| {
            anyhow::anyhow!(
                "public_url {:?} is not a URL: {e} / public_url がURLではありません",
                self.public_url
            )
        })?;
        self.mail_sender()?;
        self.reminder_day_list()?;
        self.trusted_proxy_list()?;
        if !(0..=60).contains(&self.answer_deadline_days) || !(0..=60).contains(&self.chase_days) {
            anyhow::bail!("answer_deadline_days and chase_days must be 0-60 / answer_deadline_days と chase_days は0〜60にしてください");
        }
        if self.max_meetings_per_day > 20 || !(0.0..=16.0).contains(&self.max_meeting_hours_per_day)
        {
            anyhow::bail!("max_meetings_per_day must be 0-20 and max_meeting_hours_per_day 0-16 (0: no limit) / max_meetings_per_day は0〜20、max_meeting_hours_per_day は0〜16（0は上限なし）にしてください");
        }
        let least = self.least_notice_days();
        if !(least..=180).contains(&self.min_notice_days) {
            anyhow::bail!(
                "min_notice_days must be {least}-180 (answer_deadline_days + chase_days + 1 at least, so that a chase fits before the deadline) / min_notice_days は{least}〜180にしてください（回答期限と督促が間に合う日数）"
            );
        }
        if !self.smtp_url.is_empty() {
            let u = url::Url::parse(&self.smtp_url).map_err(|e| {
                anyhow::anyhow!(
                    "smtp_url {:?} is not a URL: {e} / smtp_url がURLではありません",
                    self.smtp_url
                )
            })?;
            if !matches!(u.scheme(), "smtp" | "smtps") || u.host_str().is_none() {
                anyhow::bail!("smtp_url must be smtp://host:port or smtps://host:port (got {:?}) / smtp_url は smtp:// か smtps:// で始めてください", self.smtp_url);
            }
        }
        if !self.imap_url.trim().is_empty() {
            let m = crate::notices::imap::MailboxUrl::parse(&self.imap_url)?;
            if !m.tls && !m.is_local() {
                anyhow::bail!("imap_url: imap:// sends the mailbox password in clear text; use imaps:// for {} (imap:// only for a server on this machine) / imap:// はこのマシン上のサーバー専用です。imaps:// を使ってください", m.host);
            }
        }
        if !(10..=3600).contains(&self.imap_poll_seconds) {
            anyhow::bail!(
                "imap_poll_seconds must be 10-3600 / imap_poll_seconds は10〜3600にしてください"
            );
        }
        let folder = self.imap_processed_folder.trim();
        if folder.is_empty()
            || folder.len() > 100
            || folder
                .chars()
                .any(|c| c.is_control() || c == '"' || c == '\\')
        {
            anyhow::bail!("imap_processed_folder must be a folder name (1-100 characters, no quotes or backslashes), e.g. renkei-processed / imap_processed_folder はフォルダ名（例: renkei-processed）にしてください");
        }
        if self.is_production() && !self.secure_cookies() {
            anyhow::bail!(
                "in production public_url must be https:// (session cookies would travel in clear text) / 本番環境では public_url を https:// にしてください"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mailbox_of_calendar_replies_is_checked() {
        let with = |url: &str, seconds: u64| Config {
            imap_url: url.into(),
            imap_poll_seconds: seconds,
            ..Config::default()
        };
        assert!(with("", 60).check().is_ok(), "no mailbox: replies not read");
        assert!(with("imaps://kikan:pw@mail.example.jp/INBOX", 60)
            .check()
            .is_ok());
        assert!(with("imap://kikan:pw@127.0.0.1:1143/INBOX", 60)
            .check()
            .is_ok());
        let clear = with("imap://kikan:pw@mail.example.jp/INBOX", 60)
            .check()
            .unwrap_err()
            .to_string();
        assert!(
            clear.contains("imaps://") && clear.contains("clear text"),
            "{clear}"
        );
        assert!(with("imaps://mail.example.jp/INBOX", 60).check().is_err());
        assert!(with("imaps://kikan:pw@mail.example.jp/INBOX", 5)
            .check()
            .is_err());
        let mut c = with("", 60);
        c.imap_processed_folder = "a\"b".into();
        assert!(c.check().is_err());
    }
}
