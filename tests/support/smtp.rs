//! A real SMTP server for the tests: `tests/support/smtp_server.py` (aiosmtpd) in a child
//! process, on a free port of 127.0.0.1, storing every message it accepts in a directory.
//!
//! Recipients steer it by their local part: `reject…` gets `550 5.1.1` at RCPT, `busy…` gets
//! `451 4.3.0` while [`SmtpServer::set_busy`] is on, anything else is accepted.
//!
//! The parsers here ([`parse`], [`parse_calendar`]) are deliberately independent of the
//! production code: `mail-parser` for MIME and the `ical` crate for iCalendar, where the
//! application builds mail with lettre and calendars with the `icalendar` crate.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders, PartType};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_server.py");
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Exit code of smtp_server.py when it cannot bind its port (someone took the free port).
const EXIT_CANNOT_LISTEN: i32 = 2;

/// A running (or stopped) test SMTP server.
pub struct SmtpServer {
    pub port: u16,
    /// Where the server stores messages (`NNNNNN.eml` + `NNNNNN.json`), its `busy` flag file
    /// and its log (`server.log`).
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    child: Option<Child>,
    /// Held open so that the server (started with `--watch-stdin`) exits if this process dies
    /// without running `Drop`.
    _stdin: Option<ChildStdin>,
}

/// One message as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The exact bytes after DATA (dot-unstuffed, CRLF line ends as sent).
    pub raw: Vec<u8>,
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
}

impl Received {
    pub fn parsed(&self) -> Parsed {
        parse(&self.raw)
    }
}

impl SmtpServer {
    /// Starts a server on a free port with a fresh temporary directory.
    pub fn start() -> SmtpServer {
        let tmp = tempfile::tempdir().expect("temp dir for the SMTP server");
        let dir = tmp.path().to_path_buf();
        let mut last_error = String::new();
        // The free port is released before the server binds it, so another test may take it in
        // between: then try another one.
        for _ in 0..5 {
            let port = free_port();
            match spawn(port, &dir) {
                Ok((child, stdin)) => {
                    return SmtpServer {
                        port,
                        dir,
                        _tmp: Some(tmp),
                        child: Some(child),
                        _stdin: Some(stdin),
                    }
                }
                Err(SpawnError::CannotListen(e)) => last_error = e,
                Err(SpawnError::Other(e)) => panic!("{e}"),
            }
        }
        panic!("the test SMTP server found no free port: {last_error}");
    }

    /// Starts a server on the given port and directory, e.g. to bring one back after
    /// [`stop`](Self::stop) (the directory is not deleted afterwards; keep the stopped
    /// `SmtpServer` alive if it owns it). Numbering of stored messages continues.
    pub fn start_on(port: u16, dir: impl Into<PathBuf>) -> SmtpServer {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).expect("SMTP server directory");
        let (child, stdin) = spawn_on_port(port, &dir);
        SmtpServer {
            port,
            dir,
            _tmp: None,
            child: Some(child),
            _stdin: Some(stdin),
        }
    }

    /// Starts this (stopped) server again on the same port and directory.
    pub fn restart(&mut self) {
        self.stop();
        let (child, stdin) = spawn_on_port(self.port, &self.dir);
        self.child = Some(child);
        self._stdin = Some(stdin);
    }

    /// Kills the server and waits for it: afterwards connections to the port are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self._stdin = None;
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// `smtp://127.0.0.1:PORT` (plain SMTP, no TLS, no AUTH).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// While on, recipients whose local part starts with `busy` get `451 4.3.0` at RCPT.
    pub fn set_busy(&self, on: bool) {
        let flag = self.dir.join("busy");
        if on {
            std::fs::write(&flag, b"").expect("create the busy flag");
        } else {
            match std::fs::remove_file(&flag) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("remove the busy flag: {e}"),
            }
        }
    }

    /// Every message received so far (also by earlier runs on the same directory), in arrival
    /// order.
    pub fn messages(&self) -> Vec<Received> {
        read_messages(&self.dir)
    }

    /// Waits until at least `n` messages have arrived and returns all of them; panics with the
    /// count after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if Instant::now() >= deadline {
                panic!(
                    "waited {timeout:?} for {n} message(s) on the test SMTP server, got {}{}",
                    messages.len(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// [`wait_for`](Self::wait_for) for code outside an async runtime.
    pub fn wait_for_blocking(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if Instant::now() >= deadline {
                panic!(
                    "waited {timeout:?} for {n} message(s) on the test SMTP server, got {}{}",
                    messages.len(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Watches for `duration` that no more than `n` messages arrive (e.g. no duplicate after a
    /// retry); returns the messages.
    pub async fn assert_stays_at(&self, n: usize, duration: Duration) -> Vec<Received> {
        let deadline = Instant::now() + duration;
        loop {
            let messages = self.messages();
            assert!(
                messages.len() <= n,
                "expected at most {n} message(s) on the test SMTP server, got {}",
                messages.len()
            );
            if Instant::now() >= deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        log_tail(&self.dir)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

enum SpawnError {
    CannotListen(String),
    Other(String),
}

fn spawn_on_port(port: u16, dir: &Path) -> (Child, ChildStdin) {
    // Right after a stop the port can be briefly unavailable; retry for a few seconds.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match spawn(port, dir) {
            Ok(started) => return started,
            Err(SpawnError::CannotListen(e)) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(SpawnError::CannotListen(e)) | Err(SpawnError::Other(e)) => panic!("{e}"),
        }
    }
}

/// The Python interpreter that has aiosmtpd: `RENKEI_TEST_PYTHON` if set, else the first of
/// `python3` on PATH and `/usr/bin/python3` (a pyenv or venv `python3` on PATH does not see
/// Debian's python3-aiosmtpd).
fn python() -> Result<&'static str, String> {
    static PYTHON: OnceLock<Result<String, String>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let candidates: Vec<String> = match std::env::var("RENKEI_TEST_PYTHON") {
                Ok(p) if !p.is_empty() => vec![p],
                _ => vec!["python3".into(), "/usr/bin/python3".into()],
            };
            for candidate in &candidates {
                let ok = Command::new(candidate)
                    .args(["-c", "import aiosmtpd"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false);
                if ok {
                    return Ok(candidate.clone());
                }
            }
            Err(format!(
                "the test SMTP server needs Python 3 with aiosmtpd, and none of {candidates:?} \
                 has it: run `bash scripts/test.sh`, which installs python3-aiosmtpd (or \
                 `apt-get install python3-aiosmtpd`; RENKEI_TEST_PYTHON picks the interpreter)"
            ))
        })
        .as_ref()
        .map(|s| s.as_str())
        .map_err(|e| e.clone())
}

fn spawn(port: u16, dir: &Path) -> Result<(Child, ChildStdin), SpawnError> {
    let python = python().map_err(SpawnError::Other)?;
    let log_path = dir.join("server.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| SpawnError::Other(format!("open {}: {e}", log_path.display())))?;
    let mut child = Command::new(python)
        .arg(SCRIPT)
        .arg("--port")
        .arg(port.to_string())
        .arg("--dir")
        .arg(dir)
        .arg("--watch-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| {
            SpawnError::Other(format!(
                "cannot run {python} {SCRIPT}: {e}; run `bash scripts/test.sh`, which installs \
                 python3-aiosmtpd"
            ))
        })?;
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel::<bool>();
    std::thread::spawn(move || {
        let mut ready = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !ready && line.trim() == "READY" {
                ready = true;
                let _ = tx.send(true);
            }
        }
        if !ready {
            let _ = tx.send(false);
        }
    });
    match rx.recv_timeout(READY_TIMEOUT) {
        Ok(true) => Ok((child, stdin)),
        outcome => {
            let _ = child.kill();
            let status = child.wait().ok();
            let tail = log_tail(dir);
            let what = match outcome {
                Err(_) => format!("did not print READY within {READY_TIMEOUT:?}"),
                _ => format!("exited before READY ({status:?})"),
            };
            let message = format!(
                "the test SMTP server ({python} {SCRIPT} --port {port}) {what}; run `bash \
                 scripts/test.sh`, which installs python3-aiosmtpd{tail}"
            );
            if status.and_then(|s| s.code()) == Some(EXIT_CANNOT_LISTEN) {
                Err(SpawnError::CannotListen(message))
            } else {
                Err(SpawnError::Other(message))
            }
        }
    }
}

fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(20);
    format!("\n--- server.log ---\n{}", lines[start..].join("\n"))
}

fn read_messages(dir: &Path) -> Vec<Received> {
    let mut numbered: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let stem = name.strip_suffix(".eml")?;
            if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((stem.parse().ok()?, path))
        })
        .collect();
    numbered.sort();
    numbered
        .into_iter()
        .map(|(_, eml)| {
            let raw = std::fs::read(&eml).unwrap_or_else(|e| panic!("read {}: {e}", eml.display()));
            let json_path = eml.with_extension("json");
            let meta: serde_json::Value = serde_json::from_slice(
                &std::fs::read(&json_path)
                    .unwrap_or_else(|e| panic!("read {}: {e}", json_path.display())),
            )
            .unwrap_or_else(|e| panic!("parse {}: {e}", json_path.display()));
            Received {
                raw,
                mail_from: meta["mail_from"].as_str().unwrap_or_default().to_string(),
                rcpt_tos: meta["rcpt_tos"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// A message taken apart by `mail-parser`.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// Without the angle brackets.
    pub message_id: String,
    /// Decoded (RFC 2047 encoded words resolved).
    pub subject: String,
    pub from: Option<String>,
    /// The addresses of the To header (no display names).
    pub to: Vec<String>,
    /// The first text/plain part that is not an attachment, decoded.
    pub text: Option<String>,
    /// The first text/html part that is not an attachment, decoded.
    pub html: Option<String>,
    /// The first text/calendar part, decoded.
    pub calendar: Option<String>,
    /// The `method=` parameter of that part's Content-Type.
    pub calendar_method_param: Option<String>,
    /// Every MIME part's content type, lowercase, in order (root first), e.g.
    /// `multipart/alternative`, `text/plain`, `text/calendar`.
    pub content_types: Vec<String>,
    /// Parts with `Content-Disposition: attachment`.
    pub attachments: Vec<Attachment>,
    /// The `Auto-Submitted` header, trimmed.
    pub auto_submitted: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub content_type: String,
    pub filename: Option<String>,
    pub content: Vec<u8>,
}

/// Parses a raw message with `mail-parser`; panics if it is not one.
pub fn parse(raw: &[u8]) -> Parsed {
    let message = MessageParser::default().parse(raw).unwrap_or_else(|| {
        panic!(
            "mail-parser cannot parse this message:\n{}",
            String::from_utf8_lossy(raw)
        )
    });
    let mut parsed = Parsed {
        message_id: message.message_id().unwrap_or_default().to_string(),
        subject: message.subject().unwrap_or_default().to_string(),
        from: message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_string),
        to: message
            .to()
            .map(|a| {
                a.iter()
                    .filter_map(|a| a.address().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        text: None,
        html: None,
        calendar: None,
        calendar_method_param: None,
        content_types: Vec::new(),
        attachments: Vec::new(),
        auto_submitted: message
            .header_raw("Auto-Submitted")
            .map(|v| v.trim().to_string()),
    };
    for part in &message.parts {
        let (content_type, method) = match part.content_type() {
            Some(ct) => (
                match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                }
                .to_ascii_lowercase(),
                ct.attribute("method").map(str::to_string),
            ),
            None => ("text/plain".to_string(), None),
        };
        parsed.content_types.push(content_type.clone());
        let is_attachment = part
            .content_disposition()
            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
        if is_attachment {
            parsed.attachments.push(Attachment {
                content_type: content_type.clone(),
                filename: part.attachment_name().map(str::to_string),
                content: part.contents().to_vec(),
            });
        }
        let text = match &part.body {
            PartType::Text(t) | PartType::Html(t) => t.to_string(),
            _ => continue,
        };
        match content_type.as_str() {
            "text/plain" if !is_attachment && parsed.text.is_none() => parsed.text = Some(text),
            "text/html" if !is_attachment && parsed.html.is_none() => parsed.html = Some(text),
            "text/calendar" if parsed.calendar.is_none() => {
                parsed.calendar = Some(text);
                parsed.calendar_method_param = method;
            }
            _ => {}
        }
    }
    parsed
}

/// One VEVENT, taken apart by the `ical` crate.
#[derive(Debug, Clone, Default)]
pub struct Event {
    /// The METHOD of the enclosing VCALENDAR.
    pub method: Option<String>,
    /// How many PRODID properties the enclosing VCALENDAR has (RFC 5545: exactly one).
    pub prodids: usize,
    pub uid: String,
    pub sequence: Option<u32>,
    pub status: Option<String>,
    /// Raw values, e.g. `20250401T010000Z` (parameters such as TZID are in `properties`).
    pub dtstart: Option<String>,
    pub dtend: Option<String>,
    /// The value, e.g. `mailto:someone@example.jp`.
    pub organizer: Option<String>,
    /// Value (e.g. `mailto:x@example.jp`) and parameters (e.g. `("RSVP", "TRUE")`,
    /// `("CN", "山田 太郎")`; names upper case, several values joined with `,`).
    pub attendees: Vec<(String, Vec<(String, String)>)>,
    /// TEXT values with RFC 5545 escapes (`\,` `\;` `\n` `\\`) resolved.
    pub location: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    /// Every property of the VEVENT as (name, parameters, raw value), for anything else.
    pub properties: Vec<(String, Vec<(String, String)>, String)>,
}

/// Parses iCalendar text with the `ical` crate into its VEVENTs; panics if it is not valid.
pub fn parse_calendar(text: &str) -> Vec<Event> {
    // Unfold here: the ical crate trims each physical line before joining folded lines, which
    // would drop a space that sits right at a fold.
    let unfolded = text
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\n ", "")
        .replace("\n\t", "");
    let mut events = Vec::new();
    for calendar in ical::IcalParser::new(BufReader::new(unfolded.as_bytes())) {
        let calendar = calendar.unwrap_or_else(|e| panic!("invalid iCalendar ({e}):\n{text}"));
        let method = calendar
            .properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case("METHOD"))
            .and_then(|p| p.value.clone());
        let prodids = calendar
            .properties
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case("PRODID"))
            .count();
        for vevent in calendar.events {
            let mut event = Event {
                method: method.clone(),
                prodids,
                ..Event::default()
            };
            for property in vevent.properties {
                let name = property.name.to_ascii_uppercase();
                let params: Vec<(String, String)> = property
                    .params
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_uppercase(), v.join(",")))
                    .collect();
                let value = property.value.unwrap_or_default();
                match name.as_str() {
                    "UID" => event.uid = value.clone(),
                    "SEQUENCE" => {
                        event.sequence = Some(
                            value
                                .trim()
                                .parse()
                                .unwrap_or_else(|e| panic!("SEQUENCE {value:?}: {e}")),
                        )
                    }
                    "STATUS" => event.status = Some(value.clone()),
                    "DTSTART" => event.dtstart = Some(value.clone()),
                    "DTEND" => event.dtend = Some(value.clone()),
                    "ORGANIZER" => event.organizer = Some(value.clone()),
                    "ATTENDEE" => event.attendees.push((value.clone(), params.clone())),
                    "LOCATION" => event.location = Some(unescape_text(&value)),
                    "SUMMARY" => event.summary = Some(unescape_text(&value)),
                    "DESCRIPTION" => event.description = Some(unescape_text(&value)),
                    _ => {}
                }
                event.properties.push((name, params, value));
            }
            events.push(event);
        }
    }
    events
}

/// Resolves the escapes of an iCalendar TEXT value.
pub fn unescape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') | Some('N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
