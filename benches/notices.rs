//! Meeting notices on the embedded default (SQLite): publishing the demo municipality's
//! fiscal-year calendar (which queues one notice per invitee with an email, in the publishing
//! transaction), then delivering the queued notices to a real local SMTP server
//! (`tests/support/smtp_server.py`, aiosmtpd) with one mail worker, and on a copy of the
//! database with two workers. Prints the time to enqueue, the delivery rate, the number of
//! messages the server stored, and the peak RSS of this process. For comparison it then sends
//! the stored messages again straight through lettre (1 and 8 at a time, no database), and
//! runs the outbox into the local outbox folder (no SMTP) on a third copy.
//!
//!   cargo bench --bench notices
//!   RENKEI_BENCH_TIME_LIMIT=30 cargo bench --bench notices   # optimizer limit for the plan
//!
//! The plan is made in-process (the planning job on a `jobs::Worker`, no HTTP and no mail
//! worker running), so nothing is delivered before the measurement starts. The SMTP server
//! needs Python 3 with aiosmtpd: `RENKEI_TEST_PYTHON`, else `python3`, else `/usr/bin/python3`.
//!
//! Run it on a quiet machine; it reports what it measured and nothing else.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use renkei::config::Config;
use renkei::jobs::Worker;
use renkei::meetings::PlanRequestInput;
use renkei::notices::outbox::{Outbox, Transport};
use renkei::notices::Settings;
use renkei::store::tenancy::User;
use renkei::store::Db;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_server.py");
const MAIL_FROM: &str = "みらい市 基幹相談支援センター <kikan@mirai.example.jp>";
/// The planning date of the meeting tests: the fiscal year 2027 lies wholly ahead of it.
const PLANNING_DATE: &str = "2026-11-23";

fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A field of /proc/self/status in MiB (VmHWM: peak RSS, VmRSS: current RSS).
fn proc_status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn memory(label: &str) {
    match (proc_status_mib("VmHWM:"), proc_status_mib("VmRSS:")) {
        (Some(hwm), Some(rss)) => {
            println!("memory {label}: peak RSS (VmHWM) {hwm:.1} MiB, current RSS {rss:.1} MiB")
        }
        _ => println!("memory {label}: /proc/self/status not readable"),
    }
}

/// Resets VmHWM to the current RSS (Linux: `5` into /proc/self/clear_refs), so the next reading
/// is the peak of what follows. False where that is not allowed.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

fn counts(list: &[(String, i64)]) -> String {
    list.iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn count_of(list: &[(String, i64)], status: &str) -> i64 {
    list.iter()
        .filter(|(s, _)| s == status)
        .map(|(_, n)| *n)
        .sum()
}

/// A running `tests/support/smtp_server.py`.
struct SmtpServer {
    port: u16,
    dir: PathBuf,
    child: Child,
    /// Held open: the server (started with `--watch-stdin`) exits when this process is gone.
    _stdin: ChildStdin,
}

fn python() -> anyhow::Result<String> {
    let candidates: Vec<String> = match std::env::var("RENKEI_TEST_PYTHON") {
        Ok(p) if !p.is_empty() => vec![p],
        _ => vec!["python3".into(), "/usr/bin/python3".into()],
    };
    for c in &candidates {
        let ok = Command::new(c)
            .args(["-c", "import aiosmtpd"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Ok(c.clone());
        }
    }
    anyhow::bail!("none of {candidates:?} has aiosmtpd (apt-get install python3-aiosmtpd)")
}

impl SmtpServer {
    fn start(python: &str, dir: &Path) -> anyhow::Result<SmtpServer> {
        std::fs::create_dir_all(dir)?;
        let mut last = String::new();
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("server.log"))?;
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
                .spawn()?;
            let stdin = child.stdin.take().expect("piped stdin");
            let stdout = child.stdout.take().expect("piped stdout");
            let (tx, rx) = std::sync::mpsc::channel::<bool>();
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
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(true) => {
                    return Ok(SmtpServer {
                        port,
                        dir: dir.to_path_buf(),
                        child,
                        _stdin: stdin,
                    })
                }
                outcome => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    last = format!(
                        "SMTP server on port {port}: {outcome:?}, {status:?}; log: {}",
                        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
                    );
                }
            }
        }
        anyhow::bail!("the SMTP server did not start: {last}")
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Messages stored so far (`NNNNNN.eml`).
    fn eml_files(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter(|e| {
                        let name = e.file_name();
                        let name = name.to_string_lossy();
                        name.strip_suffix(".eml").is_some_and(|stem| {
                            !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit())
                        })
                    })
                    .count()
            })
            .unwrap_or(0)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes the run, timed; prints what it queued.
async fn publish(db: &Db, user: &User, run: i64, label: &str) -> anyhow::Result<i64> {
    let reset = reset_peak();
    let t = Instant::now();
    let summary = db.publish_plan_run(user, run).await?;
    let elapsed = t.elapsed();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notices")
        .fetch_one(&db.pool)
        .await?;
    let invitees: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM occurrence_attendees a JOIN occurrences o ON o.id = a.occurrence_id
         WHERE o.publication_id = $1",
    )
    .bind(summary.publication_id)
    .fetch_one(&db.pool)
    .await
    .unwrap_or(-1);
    println!(
        "publish FY2027{label}: {} occurrences, {} notices queued in {:.2} s ({:.0} notices/s; {} moved, {} cancelled, {} unchanged)",
        summary.added,
        summary.notices,
        elapsed.as_secs_f64(),
        summary.notices as f64 / elapsed.as_secs_f64(),
        summary.moved,
        summary.cancelled,
        summary.unchanged,
    );
    println!(
        "  notices rows: {rows} ({}); attendee rows of the published occurrences: {}",
        counts(&db.notice_counts(None).await?),
        if invitees >= 0 {
            invitees.to_string()
        } else {
            "n/a".into()
        }
    );
    memory(if reset {
        "after publish (peak since just before publishing)"
    } else {
        "after publish (peak of the whole process)"
    });
    Ok(rows)
}

/// Runs `workers` outboxes until none claims anything; returns the elapsed time.
async fn deliver(db: &Db, config: &Config, workers: usize) -> anyhow::Result<Duration> {
    let mut outboxes = Vec::new();
    for _ in 0..workers {
        outboxes.push(Outbox::new(
            db.clone(),
            Settings::from_config(config)?,
            Transport::from_config(config)?,
        ));
    }
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for outbox in outboxes {
        tasks.spawn(async move {
            let mut claimed = 0usize;
            loop {
                match outbox.run_once().await {
                    Ok(0) => break,
                    Ok(n) => claimed += n,
                    Err(e) => {
                        eprintln!("outbox {}: {e}", outbox.id());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            claimed
        });
    }
    while let Some(r) = tasks.join_next().await {
        r?;
    }
    Ok(t.elapsed())
}

/// Delivers every pending notice of `db` to a fresh SMTP server in `dir` and prints the rate.
async fn delivery_round(
    db: &Db,
    python: &str,
    dir: &Path,
    queued: i64,
    workers: usize,
) -> anyhow::Result<()> {
    let server = SmtpServer::start(python, dir)?;
    let config = Config {
        smtp_url: server.url(),
        mail_from: MAIL_FROM.into(),
        ..Config::default()
    };
    let reset = reset_peak();
    let elapsed = deliver(db, &config, workers).await?;
    let after = db.notice_counts(None).await?;
    let sent = count_of(&after, "sent");
    // The server writes each message before it answers 250; allow a moment all the same.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut files = server.eml_files();
    while files < sent as usize && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        files = server.eml_files();
    }
    println!(
        "delivered {sent} notices over SMTP in {:.2} s: {:.1} messages/s ({workers} worker{})",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64(),
        if workers == 1 { "" } else { "s" }
    );
    println!(
        "  notices after delivery: {}; SMTP server stored {files} .eml files (queued {queued}, sent {sent}){}",
        counts(&after),
        if files as i64 == sent && sent == queued {
            ": all match"
        } else {
            ": MISMATCH"
        }
    );
    if count_of(&after, "pending") > 0 {
        println!(
            "  {} notices still pending (backing off after a transient failure); last errors:",
            count_of(&after, "pending")
        );
        let errors: Vec<(String,)> = sqlx::query_as(
            "SELECT COALESCE(last_error, '') FROM notices WHERE status = 'pending' AND last_error IS NOT NULL LIMIT 3",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap_or_default();
        for (e,) in errors {
            println!("    {e}");
        }
    }
    memory(if reset {
        "after delivery (peak since just before delivering)"
    } else {
        "after delivery (peak of the whole process)"
    });
    drop(server);
    Ok(())
}

/// For comparison: the stored messages of `from_dir` (at most `limit`) sent again straight
/// through lettre (the same pooled transport, `concurrency` at a time), without database or
/// rendering.
async fn raw_smtp(
    python: &str,
    from_dir: &Path,
    dir: &Path,
    concurrency: usize,
    limit: usize,
) -> anyhow::Result<()> {
    use lettre::address::Envelope;
    use lettre::AsyncTransport;
    let mut raws = Vec::new();
    for e in std::fs::read_dir(from_dir)? {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "eml") {
            raws.push(std::fs::read(&path)?);
        }
    }
    raws.truncate(limit);
    let server = SmtpServer::start(python, dir)?;
    let config = Config {
        smtp_url: server.url(),
        mail_from: MAIL_FROM.into(),
        ..Config::default()
    };
    let Transport::Smtp(smtp) = Transport::from_config(&config)? else {
        anyhow::bail!("not an SMTP transport");
    };
    let envelope = Envelope::new(
        Some("kikan@mirai.example.jp".parse()?),
        vec!["someone@mirai.example.jp".parse()?],
    )?;
    let n = raws.len();
    let raws = std::sync::Arc::new(raws);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (smtp, envelope, raws, next) =
            (smtp.clone(), envelope.clone(), raws.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(raw) = raws.get(i) else { break };
                smtp.send_raw(&envelope, raw).await?;
            }
            Ok::<_, lettre::transport::smtp::Error>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let elapsed = t.elapsed();
    println!(
        "for comparison, raw SMTP (the first {n} stored messages again through lettre, {concurrency} at a time, no database): {:.2} s, {:.1} messages/s, {:.1} ms per message per connection; server stored {}",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 * concurrency as f64 / n as f64,
        server.eml_files()
    );
    Ok(())
}

/// For comparison: the outbox delivering into the local outbox folder (no SMTP).
async fn folder_round(db: &Db, dir: &Path) -> anyhow::Result<()> {
    let config = Config {
        smtp_url: String::new(),
        outbox_dir: dir.display().to_string(),
        mail_from: MAIL_FROM.into(),
        ..Config::default()
    };
    let elapsed = deliver(db, &config, 1).await?;
    let after = db.notice_counts(None).await?;
    let sent = count_of(&after, "sent");
    println!(
        "for comparison, outbox folder (no SMTP, 1 worker): {sent} notices in {:.2} s, {:.1} messages/s ({})",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64(),
        counts(&after)
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let started = Instant::now();
    let time_limit = env_f64("RENKEI_BENCH_TIME_LIMIT", 60.0);
    let python = python()?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let db = Db::connect(&url).await?;
    db.migrate().await?;

    // The demo municipality and a plan of its fiscal year 2027.
    let t = Instant::now();
    renkei::demo::load(&db).await?;
    let user = db
        .user_by_username(renkei::demo::DEMO_USERNAME)
        .await?
        .expect("the demo user");
    let people: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people WHERE municipality_id = $1")
        .bind(user.municipality_id.0)
        .fetch_one(&db.pool)
        .await?;
    let with_email: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM people WHERE municipality_id = $1 AND email <> ''",
    )
    .bind(user.municipality_id.0)
    .fetch_one(&db.pool)
    .await?;
    println!(
        "demo loaded in {:.1} s: {people} people, {with_email} with an email",
        t.elapsed().as_secs_f64()
    );
    let input = PlanRequestInput {
        period: "FY2027".into(),
        planning_date: PLANNING_DATE.into(),
        time_limit_seconds: Some(time_limit),
        ..PlanRequestInput::default()
    };
    let today = renkei_solver::calendar::jst_date(chrono::Utc::now());
    let request = input
        .parse(today, Default::default())
        .map_err(|e| anyhow::anyhow!("plan request: {e:?}"))?;
    let t = Instant::now();
    let run = renkei::meetings::start_plan(&db, &user, &request).await?;
    let mut worker = Worker::new(db.clone());
    renkei::meetings::register(&mut worker);
    let run = loop {
        let ran = worker.run_once().await?;
        let r = db.plan_run(user.municipality_id, run.id).await?;
        if r.status == "done" || r.status == "failed" {
            break r;
        }
        if !ran {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        anyhow::ensure!(
            t.elapsed() < Duration::from_secs(60 * 20),
            "the plan did not finish"
        );
    };
    let result = run.result.clone().unwrap_or_default();
    println!(
        "plan FY2027 ({} – {}, optimizer limit {time_limit:.0} s): {} in {:.1} s, valid {}, {} occurrences",
        run.period_from,
        run.period_to,
        run.status,
        t.elapsed().as_secs_f64(),
        result["valid"],
        result["occurrences"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0),
    );
    anyhow::ensure!(
        run.status == "done" && result["valid"] == true,
        "the plan cannot be published: {:?} {}",
        run.last_error,
        result["violations"]
    );
    memory("after planning (peak of the whole process: demo load and optimizer)");

    // A copy of the planned, not yet published database for the two-worker round.
    let copy_path = dir.path().join("copy.db");
    sqlx::query(&format!("VACUUM INTO '{}'", copy_path.display()))
        .execute(&db.pool)
        .await?;
    let copy = Db::connect(&format!("sqlite://{}", copy_path.display())).await?;
    let copy3_path = dir.path().join("copy3.db");
    sqlx::query(&format!("VACUUM INTO '{}'", copy3_path.display()))
        .execute(&db.pool)
        .await?;
    let copy3 = Db::connect(&format!("sqlite://{}", copy3_path.display())).await?;

    // 1. Time to enqueue.
    let queued = publish(&db, &user, run.id, "").await?;
    if queued < 1000 {
        println!(
            "  note: the demo fiscal year queues {queued} notices (fewer than 1,000); this bench generates no larger municipality"
        );
    }

    // 2. Delivery to a local SMTP server, one worker.
    delivery_round(&db, &python, &dir.path().join("smtp-1"), queued, 1).await?;

    // 2b. The same on the copy with two workers sharing the database.
    let queued_copy = publish(&copy, &user, run.id, " (copy of the database)").await?;
    delivery_round(&copy, &python, &dir.path().join("smtp-2"), queued_copy, 2).await?;

    // Where the time goes: the transport alone, and the outbox without SMTP.
    let stored = dir.path().join("smtp-1");
    raw_smtp(&python, &stored, &dir.path().join("smtp-raw-1"), 1, 100).await?;
    raw_smtp(
        &python,
        &stored,
        &dir.path().join("smtp-raw-8"),
        8,
        usize::MAX,
    )
    .await?;
    copy3.publish_plan_run(&user, run.id).await?;
    folder_round(&copy3, &dir.path().join("outbox-folder")).await?;

    memory("at the end (peak of the last phase)");
    println!("total {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
