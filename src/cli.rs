//! Command line: `renkei serve [--demo]`, `migrate`, `municipality add`, `user add`,
//! `token create`, `import`, `export`, `calendar holidays|closed`.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use renkei_solver::calendar::{holidays_in_year, BusinessCalendar, FiscalYear};

use crate::app::{shutdown_signal, App};
use crate::auth::{check_new_password, hash_password, Role};
use crate::config::Config;
use crate::master::MasterKind;
use crate::planning::Method;
use crate::store::Db;
use crate::transfer::{FileFormat, TextEncoding};
use renkei_solver::schedule::generate::{self, Size};

#[derive(Parser)]
#[command(
    name = "renkei",
    version,
    about = "renkei (連携): scheduling and coordination for disability consultation-support networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web service (migrates the database first).
    Serve {
        /// On an empty database, load the fictional demo municipality (みらい市) and print a login.
        #[arg(long)]
        demo: bool,
        /// Address to listen on, e.g. 127.0.0.1:8080 (overrides the configuration).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage municipalities (tenants).
    Municipality {
        #[command(subcommand)]
        command: MunicipalityCommand,
    },
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens for scripts.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Import master data from CSV (UTF-8 or Shift_JIS) or XLSX. Nothing is written if any row is bad, unless --partial.
    Import {
        /// Act as this user (their municipality; recorded in the audit log).
        #[arg(long = "as")]
        as_user: String,
        /// organisations, people, venues or rooms.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        file: std::path::PathBuf,
        /// auto, utf-8 or shift_jis (CSV only).
        #[arg(long, default_value = "auto")]
        encoding: String,
        /// Import the good rows even if some rows are bad.
        #[arg(long)]
        partial: bool,
    },
    /// Write a consistent copy of the SQLite database to FILE, safe while the service runs
    /// (PostgreSQL: use pg_dump, see README).
    Backup {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Replace the SQLite database with a backup (stop the service first; the previous
    /// database is kept as *.before-restore). PostgreSQL: use pg_restore, see README.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Export master data as CSV or XLSX.
    Export {
        /// Municipality code.
        #[arg(long)]
        municipality: String,
        #[arg(long)]
        kind: String,
        /// csv or xlsx.
        #[arg(long, default_value = "csv")]
        format: String,
        /// utf-8 or shift_jis (CSV only).
        #[arg(long, default_value = "utf-8")]
        encoding: String,
        /// Output file; standard output when omitted.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Plan a meeting calendar from a JSON instance (docs/instance-format.md) and write the
    /// plan with its validation report as JSON.
    Solve {
        #[arg(long)]
        instance: std::path::PathBuf,
        /// Output file; standard output when omitted.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Use the greedy baseline instead of the optimizer.
        #[arg(long)]
        greedy: bool,
        /// Override the instance's time limit (seconds).
        #[arg(long)]
        time_limit: Option<f64>,
    },
    /// Write a benchmark instance: demo-q / demo-fy (the demo municipality's next fiscal
    /// year's first quarter / whole year, as a planning run builds it) or a deterministic
    /// generated one (s: one center, one quarter; m: a city, one fiscal year; l: a
    /// prefecture, one fiscal year).
    BenchInstance {
        #[arg(long)]
        size: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Solve the benchmark instances with the optimizer and the greedy baseline and print the table.
    Bench {
        /// Comma-separated sizes.
        #[arg(long, default_value = "s,m,l")]
        sizes: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The Japanese calendar: holidays and closed days.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
}

#[derive(Subcommand)]
enum MunicipalityCommand {
    Add {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        name_en: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from RENKEI_NEW_PASSWORD or standard input.
    Add {
        #[arg(long)]
        municipality: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// admin, coordinator, hub_staff or viewer.
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token (printed once) for a user.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Print one `YYYY-MM-DD name` line per national holiday.
    Holidays {
        #[arg(long)]
        from_year: i32,
        #[arg(long)]
        to_year: i32,
    },
    /// Print every closed weekday (Mon-Fri) of a fiscal year with its reason.
    Closed {
        /// e.g. 2026, FY2026, R8 or 令和8年度.
        #[arg(long)]
        fiscal_year: String,
        /// Include this municipality's extra closures (reads the database).
        #[arg(long)]
        municipality: Option<String>,
        /// Print reasons in English.
        #[arg(long)]
        english: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e:#}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error / エラー: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("RENKEI_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log_format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

async fn connect(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    Ok(db)
}

async fn run(command: Command, mut config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo, listen } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            let db = connect(&config).await?;
            let mut demo_login = None;
            if demo {
                let loaded = crate::demo::load(&db).await?;
                if loaded.created {
                    tracing::info!("demo municipality {} loaded", loaded.municipality_name);
                }
                if db
                    .user_by_username(crate::demo::DEMO_USERNAME)
                    .await?
                    .is_some()
                {
                    demo_login = Some(loaded.municipality_name);
                }
            }
            let app = App::with_db(config, db).await?;
            let addr = app.local_addr();
            let url = format!("http://{addr}/");
            println!("renkei is running at {url} / renkei を起動しました: {url}");
            if let Some(name) = demo_login {
                println!(
                    "demo ({name}): user {} / password {} (viewer: demo-viewer, hub staff: demo-hub, same password)",
                    crate::demo::DEMO_USERNAME,
                    crate::demo::DEMO_PASSWORD
                );
            }
            println!("stop with Ctrl-C / 終了は Ctrl-C");
            app.run(shutdown_signal()).await
        }
        Command::Backup { out } => {
            // PostgreSQL is refused (pg_dump) before anything is connected.
            crate::store::backup::sqlite_file(&config.database_url)?;
            // No migration: a backup copies the database as it is.
            let db = Db::connect(&config.database_url).await?;
            let copied = crate::store::backup::backup(&db, &out).await?;
            db.pool.close().await;
            println!(
                "backup written to {} ({} bytes) / バックアップを書き出しました",
                copied.file.display(),
                copied.bytes
            );
            Ok(())
        }
        Command::Restore { from } => {
            let (restored, kept) =
                crate::store::backup::restore(&from, &config.database_url).await?;
            println!(
                "{} restored from {} / バックアップから復元しました",
                restored.file.display(),
                from.display()
            );
            if let Some(kept) = kept {
                println!(
                    "the previous database is kept as {} / 以前のデータベースは {} に残してあります",
                    kept.display(),
                    kept.display()
                );
            }
            Ok(())
        }
        Command::Migrate => {
            connect(&config).await?;
            println!("migrations applied / マイグレーションを適用しました");
            Ok(())
        }
        Command::Municipality {
            command:
                MunicipalityCommand::Add {
                    code,
                    name,
                    name_en,
                },
        } => {
            let db = connect(&config).await?;
            let id = db
                .create_municipality(&code, &name, &name_en)
                .await
                .map_err(user_error)?;
            println!("municipality {code} created (id {})", id.0);
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    municipality,
                    username,
                    name,
                    role,
                },
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: use admin, coordinator, hub_staff or viewer")
            })?;
            let password = match std::env::var("RENKEI_NEW_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("password (from standard input) / パスワードを標準入力から読みます:");
                    let mut p = String::new();
                    std::io::stdin().read_to_string(&mut p)?;
                    p.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            check_new_password(&password).map_err(user_error)?;
            let db = connect(&config).await?;
            let m = db
                .municipality_by_code(&municipality)
                .await
                .map_err(user_error)?
                .with_context(|| format!("no municipality with code {municipality:?}; create it with `renkei municipality add`"))?;
            db.create_user(
                m.id,
                &username,
                &name,
                &hash_password(&password).map_err(user_error)?,
                role,
            )
            .await
            .map_err(user_error)?;
            println!("user {username} created ({})", role.slug());
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { username, name },
        } => {
            let db = connect(&config).await?;
            let user = db
                .user_by_username(&username)
                .await
                .map_err(user_error)?
                .with_context(|| format!("no user {username:?}"))?;
            let token = crate::auth::create_api_token(&db, &user, &name)
                .await
                .map_err(user_error)?;
            println!("{token}");
            eprintln!("keep this token secret; it is shown only once / このトークンは一度しか表示されません");
            Ok(())
        }
        Command::Import {
            as_user,
            kind,
            file,
            encoding,
            partial,
        } => {
            let kind = parse_kind(&kind)?;
            let encoding = TextEncoding::parse(&encoding)
                .context("encoding must be auto, utf-8 or shift_jis")?;
            // A file over the limit is refused before it is read into memory.
            let len = std::fs::metadata(&file)
                .with_context(|| format!("cannot read {}", file.display()))?
                .len();
            crate::transfer::check_file_size(len).map_err(user_error)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let format = FileFormat::sniff(&file.to_string_lossy(), &bytes);
            let db = connect(&config).await?;
            let user = db
                .user_by_username(&as_user)
                .await
                .map_err(user_error)?
                .with_context(|| format!("no user {as_user:?}"))?;
            let table =
                crate::transfer::read_table(&bytes, format, encoding).map_err(user_error)?;
            let report = crate::transfer::import(&db, &user, kind, table, partial)
                .await
                .map_err(user_error)?;
            for e in &report.errors {
                eprintln!(
                    "row {} column {} ({:?}): {}",
                    e.row, e.heading, e.value, e.message
                );
            }
            println!(
                "{} rows: {} created, {} updated, {} problems; {}",
                report.rows,
                report.created,
                report.updated,
                report.errors.len(),
                if report.applied {
                    "applied / 取り込みました"
                } else {
                    "nothing imported / 取り込んでいません"
                }
            );
            if report.applied {
                Ok(())
            } else {
                bail!("fix the rows above and import again, or pass --partial / 上の行を直して再度取り込むか --partial を付けてください")
            }
        }
        Command::Export {
            municipality,
            kind,
            format,
            encoding,
            out,
        } => {
            let kind = parse_kind(&kind)?;
            let format = FileFormat::parse(&format).context("format must be csv or xlsx")?;
            let encoding =
                TextEncoding::parse(&encoding).context("encoding must be utf-8 or shift_jis")?;
            let db = connect(&config).await?;
            let m = db
                .municipality_by_code(&municipality)
                .await
                .map_err(user_error)?
                .with_context(|| format!("no municipality with code {municipality:?}"))?;
            let records = db.list_records(m.id, kind, "").await.map_err(user_error)?;
            let bytes =
                crate::transfer::export(kind, &records, format, encoding).map_err(user_error)?;
            match out {
                Some(path) => std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
            }
            Ok(())
        }
        Command::Calendar { command } => calendar(command, &config).await,
        Command::Solve {
            instance,
            out,
            greedy,
            time_limit,
        } => {
            let text = std::fs::read_to_string(&instance)
                .with_context(|| format!("cannot read {}", instance.display()))?;
            let mut parsed: renkei_solver::schedule::model::Instance = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{} is not a valid instance (line {}, column {}): {e} / インスタンスの形式が正しくありません(docs/instance-format.md を参照)",
                    instance.display(),
                    e.line(),
                    e.column()
                )
            })?;
            if let Some(limit) = time_limit {
                parsed.time_limit_seconds = limit;
            }
            let method = if greedy { Method::Greedy } else { Method::Milp };
            let report =
                tokio::task::spawn_blocking(move || crate::planning::solve(&parsed, method))
                    .await?
                    .map_err(anyhow::Error::msg)?;
            let json = serde_json::to_string_pretty(&report)?;
            match out {
                Some(path) => std::fs::write(&path, json)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => println!("{json}"),
            }
            eprintln!(
                "{}: {} occurrences ({} required), valid: {}, {} violations, soft cost {:.1}, {:.2} s",
                report.instance,
                report.occurrences.len(),
                report.required_occurrences,
                report.valid,
                report.violations.len(),
                report.soft_cost.total,
                report.seconds
            );
            if let Some(why) = &report.infeasibility {
                for c in &why.conflicts {
                    for r in &c.rules {
                        eprintln!("  × {} / {}", r.ja, r.en);
                    }
                    for r in &c.relaxations {
                        eprintln!("  → {} / {}", r.ja, r.en);
                    }
                }
                bail!("no plan satisfies the rules (see above) / 条件をすべて満たす計画はありません(上記参照)");
            }
            if !report.valid {
                bail!("the plan breaks hard rules (see violations) / 計画が必須条件を満たしていません");
            }
            Ok(())
        }
        Command::BenchInstance { size, seed, out } => {
            let dir = tempfile_dir()?;
            let instance = bench_instance(&size, seed, &dir).await;
            let _ = std::fs::remove_dir_all(&dir);
            let json = serde_json::to_string_pretty(&instance?)?;
            match out {
                Some(path) => std::fs::write(&path, json)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => println!("{json}"),
            }
            Ok(())
        }
        Command::Bench { sizes, seed } => bench(&sizes, seed).await,
    }
}

/// The instance of one benchmark family: `demo-q` / `demo-fy` (the demo municipality's next
/// fiscal year's first quarter / whole year, built as a planning run builds it, indicator
/// targets included) or a generated size (`s`, `m`, `l`, `city`, `pref`).
async fn bench_instance(
    family: &str,
    seed: u64,
    dir: &std::path::Path,
) -> anyhow::Result<renkei_solver::schedule::model::Instance> {
    let demo_period = match family {
        "demo-q" => Some("Q1"),
        "demo-fy" => Some(""),
        _ => None,
    };
    let Some(quarter) = demo_period else {
        let size: Size = family.parse().map_err(anyhow::Error::msg)?;
        return Ok(generate::instance(size, seed));
    };
    let db = Db::connect(&format!("sqlite://{}", dir.join("demo.db").display())).await?;
    db.migrate().await?;
    crate::demo::load(&db).await?;
    let m = db
        .municipality_by_code(crate::demo::data::demo_dataset().municipality_code)
        .await
        .map_err(user_error)?
        .context("the demo municipality did not load")?;
    let today = crate::api::indicators::today();
    let next = FiscalYear::of(today).year() + 1;
    let input = crate::meetings::PlanRequestInput {
        period: if quarter.is_empty() {
            format!("FY{next}")
        } else {
            format!("{next}{quarter}")
        },
        time_limit_seconds: Some(if quarter.is_empty() { 30.0 } else { 10.0 }),
        ..Default::default()
    };
    let req = input
        .parse(today, Default::default())
        .map_err(|e| anyhow::anyhow!("bench request: {e:?}"))?;
    let built = crate::meetings::build_instance(&db, m.id, &req)
        .await
        .map_err(user_error)?;
    let mut instance = built.instance;
    instance.name = format!("{family} ({})", req.label);
    Ok(instance)
}

/// A fresh folder for one benchmark's files.
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("renkei-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Runs `renkei solve` in a child process per instance family and method (so that peak memory
/// is each solve's own) and prints a Markdown table.
async fn bench(sizes: &str, seed: u64) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let dir = tempfile_dir()?;
    println!("| instance | plan | occurrences (required) | people | rooms | variables | status | objective | bound | gap | soft cost | violations | seconds | peak MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for size_text in sizes.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let instance = bench_instance(size_text, seed, &dir).await?;
        let path = dir.join(format!("{size_text}.json"));
        std::fs::write(&path, serde_json::to_string(&instance)?)?;
        for greedy in [false, true] {
            let out = dir.join(format!("{size_text}-{greedy}.out.json"));
            let mut cmd = std::process::Command::new(&exe);
            cmd.args(["solve", "--instance"])
                .arg(&path)
                .arg("--out")
                .arg(&out);
            if greedy {
                cmd.arg("--greedy");
            }
            let status = cmd.stderr(std::process::Stdio::null()).status()?;
            let report: serde_json::Value = std::fs::read_to_string(&out)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(serde_json::Value::Null);
            let plan = &report["plan"];
            let num = |v: &serde_json::Value, digits: usize| {
                v.as_f64()
                    .map(|x| format!("{x:.digits$}"))
                    .unwrap_or_else(|| "-".into())
            };
            println!(
                "| {size_text} | {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                // The optimizer's row says whose plan it returned (its own or the baseline).
                if greedy {
                    "baseline alone".to_string()
                } else {
                    format!("optimizer run → {}", plan["method"].as_str().unwrap_or("-"))
                },
                report["occurrences"].as_array().map(|a| a.len()).unwrap_or(0),
                report["required_occurrences"],
                instance.people.len(),
                instance.rooms.len(),
                plan["variables"].as_u64().map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                plan["status"].as_str().unwrap_or(if report["infeasibility"].is_null() { if status.success() || greedy { "-" } else { "error" } } else { "infeasible" }),
                num(&plan["objective"], 1),
                num(&plan["bound"], 1),
                plan["gap"].as_f64().map(|g| format!("{:.3}%", g * 100.0)).unwrap_or_else(|| "-".into()),
                num(&report["soft_cost"]["total"], 1),
                report["violations"].as_array().map(|a| a.len()).unwrap_or(0),
                num(&report["seconds"], 2),
                num(&report["peak_memory_mib"], 0),
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn calendar(command: CalendarCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        CalendarCommand::Holidays { from_year, to_year } => {
            if from_year > to_year {
                bail!("--from-year must not be after --to-year / 開始年が終了年より後です");
            }
            let mut out = String::new();
            for year in from_year..=to_year {
                for h in holidays_in_year(year)? {
                    out.push_str(&format!("{} {}\n", h.date, h.name_ja));
                }
            }
            print!("{out}");
            Ok(())
        }
        CalendarCommand::Closed {
            fiscal_year,
            municipality,
            english,
        } => {
            let fy: FiscalYear = fiscal_year.parse()?;
            let cal = match municipality {
                Some(code) => {
                    let db = connect(config).await?;
                    let m = db
                        .municipality_by_code(&code)
                        .await
                        .map_err(user_error)?
                        .with_context(|| format!("no municipality with code {code:?}"))?;
                    db.business_calendar(m.id).await.map_err(user_error)?
                }
                None => BusinessCalendar::default(),
            };
            let mut out = String::new();
            for (date, reason) in cal.closed_weekdays(fy) {
                let label = if english {
                    reason.label_en()
                } else {
                    reason.label_ja()
                };
                out.push_str(&format!("{date} {label}\n"));
            }
            print!("{out}");
            Ok(())
        }
    }
}

fn parse_kind(kind: &str) -> anyhow::Result<MasterKind> {
    MasterKind::parse(kind).with_context(|| {
        format!("unknown kind {kind:?}: use organisations, people, venues or rooms")
    })
}

/// Service errors carry bilingual messages; on the command line show them as they are.
fn user_error(e: crate::error::Error) -> anyhow::Error {
    let body = e.body();
    let mut text = body.message.to_string();
    for f in body.fields {
        text.push_str(&format!("\n  {}: {}", f.field, f.message));
    }
    anyhow::anyhow!(text)
}
