//! The real `renkei` binary: the calendar commands, and an administrator's round trip of
//! `migrate`, `municipality add`, `user add`, `import` (Shift_JIS CSV as Excel writes it) and
//! `export`. Every run gets its own working directory and a temporary SQLite database, and
//! inherits no `RENKEI_*` settings from the developer's shell.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::{Datelike, NaiveDate};
use tempfile::TempDir;

/// A scratch working directory with a database URL inside it.
struct Sandbox {
    dir: TempDir,
    db_file: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_file = dir.path().join("cli-test.db");
        Sandbox { dir, db_file }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn db_url(&self) -> String {
        format!("sqlite://{}", self.db_file.display())
    }

    /// `renkei ARGS` in the sandbox, configured only through the variables set here.
    fn renkei(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_renkei"));
        for (key, _) in std::env::vars_os() {
            if let Some(key) = key.to_str() {
                if key.starts_with("RENKEI_") || key == "DATABASE_URL" {
                    cmd.env_remove(key);
                }
            }
        }
        cmd.args(args)
            .current_dir(self.path())
            .env("RENKEI_DATABASE_URL", self.db_url())
            .stdin(Stdio::null());
        cmd
    }
}

struct Run {
    args: String,
    output: Output,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8(self.output.stdout.clone())
            .unwrap_or_else(|e| panic!("`renkei {}` printed non-UTF-8: {e}", self.args))
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    fn describe(&self) -> String {
        format!(
            "`renkei {}` exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args,
            self.output.status,
            String::from_utf8_lossy(&self.output.stdout),
            self.stderr()
        )
    }
    /// Asserts success; returns standard output.
    fn ok(&self) -> String {
        assert!(
            self.output.status.success(),
            "expected success: {}",
            self.describe()
        );
        self.stdout()
    }
    /// Asserts failure; returns standard error.
    fn fails(&self) -> String {
        assert!(
            !self.output.status.success(),
            "expected a failure: {}",
            self.describe()
        );
        assert_ne!(
            self.output.status.code(),
            None,
            "killed by a signal: {}",
            self.describe()
        );
        self.stderr()
    }
}

fn run(mut cmd: Command) -> Run {
    let args = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start `renkei {args}`: {e}"));
    Run { args, output }
}

fn renkei(sandbox: &Sandbox, args: &[&str]) -> Run {
    run(sandbox.renkei(args))
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

/// The Cabinet Office's list (内閣府「国民の祝日について」) for 2026 and 2027.
const HOLIDAYS_2026_2027: [&str; 35] = [
    "2026-01-01 元日",
    "2026-01-12 成人の日",
    "2026-02-11 建国記念の日",
    "2026-02-23 天皇誕生日",
    "2026-03-20 春分の日",
    "2026-04-29 昭和の日",
    "2026-05-03 憲法記念日",
    "2026-05-04 みどりの日",
    "2026-05-05 こどもの日",
    "2026-05-06 振替休日",
    "2026-07-20 海の日",
    "2026-08-11 山の日",
    "2026-09-21 敬老の日",
    "2026-09-22 国民の休日",
    "2026-09-23 秋分の日",
    "2026-10-12 スポーツの日",
    "2026-11-03 文化の日",
    "2026-11-23 勤労感謝の日",
    "2027-01-01 元日",
    "2027-01-11 成人の日",
    "2027-02-11 建国記念の日",
    "2027-02-23 天皇誕生日",
    "2027-03-21 春分の日",
    "2027-03-22 振替休日",
    "2027-04-29 昭和の日",
    "2027-05-03 憲法記念日",
    "2027-05-04 みどりの日",
    "2027-05-05 こどもの日",
    "2027-07-19 海の日",
    "2027-08-11 山の日",
    "2027-09-20 敬老の日",
    "2027-09-23 秋分の日",
    "2027-10-11 スポーツの日",
    "2027-11-03 文化の日",
    "2027-11-23 勤労感謝の日",
];

#[test]
fn calendar_holidays_match_the_cabinet_office_list() {
    let sb = Sandbox::new();
    let out = renkei(
        &sb,
        &[
            "calendar",
            "holidays",
            "--from-year",
            "2026",
            "--to-year",
            "2027",
        ],
    )
    .ok();
    assert_eq!(lines(&out), HOLIDAYS_2026_2027, "full output:\n{out}");

    // One year alone is the same slice of the list.
    let out = renkei(
        &sb,
        &[
            "calendar",
            "holidays",
            "--from-year",
            "2027",
            "--to-year",
            "2027",
        ],
    )
    .ok();
    assert_eq!(lines(&out), HOLIDAYS_2026_2027[18..], "full output:\n{out}");
}

#[test]
fn calendar_holidays_outside_the_supported_range_fail_with_the_range() {
    let sb = Sandbox::new();
    let err = renkei(
        &sb,
        &[
            "calendar",
            "holidays",
            "--from-year",
            "2051",
            "--to-year",
            "2051",
        ],
    )
    .fails();
    assert!(
        err.contains("2051") && err.contains("2000-2050"),
        "the message should name the year and the range 2000-2050:\n{err}"
    );

    let err = renkei(
        &sb,
        &[
            "calendar",
            "holidays",
            "--from-year",
            "2027",
            "--to-year",
            "2026",
        ],
    )
    .fails();
    assert!(
        err.contains("--from-year"),
        "a reversed range should be explained:\n{err}"
    );
}

/// Every closed weekday of FY2026 (令和8年度): holidays that fall on Monday-Friday, and the
/// year-end closure (Dec 29 - Jan 3; it wins over 元日). Weekends are not listed: 2026-05-03
/// and 2027-03-21 are Sundays, 2027-01-02/03 a weekend.
const CLOSED_FY2026: [&str; 20] = [
    "2026-04-29 祝日: 昭和の日",
    "2026-05-04 祝日: みどりの日",
    "2026-05-05 祝日: こどもの日",
    "2026-05-06 振替休日",
    "2026-07-20 祝日: 海の日",
    "2026-08-11 祝日: 山の日",
    "2026-09-21 祝日: 敬老の日",
    "2026-09-22 国民の休日",
    "2026-09-23 祝日: 秋分の日",
    "2026-10-12 祝日: スポーツの日",
    "2026-11-03 祝日: 文化の日",
    "2026-11-23 祝日: 勤労感謝の日",
    "2026-12-29 年末年始休業",
    "2026-12-30 年末年始休業",
    "2026-12-31 年末年始休業",
    "2027-01-01 年末年始休業",
    "2027-01-11 祝日: 成人の日",
    "2027-02-11 祝日: 建国記念の日",
    "2027-02-23 祝日: 天皇誕生日",
    "2027-03-22 振替休日",
];

#[test]
fn calendar_closed_lists_the_closed_weekdays_of_a_fiscal_year() {
    let sb = Sandbox::new();
    let out = renkei(&sb, &["calendar", "closed", "--fiscal-year", "2026"]).ok();
    let got = lines(&out);

    let year_end = ["2026-12-29", "2026-12-30", "2026-12-31", "2027-01-01"];
    for day in year_end {
        assert!(
            got.contains(&format!("{day} 年末年始休業").as_str()),
            "{day} should be a year-end closure:\n{out}"
        );
    }
    assert!(
        got.contains(&"2026-11-23 祝日: 勤労感謝の日"),
        "Labour Thanksgiving Day missing:\n{out}"
    );

    let mut previous = None;
    for line in &got {
        let (date, reason) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("line {line:?} is not `date reason`"));
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .unwrap_or_else(|e| panic!("line {line:?}: {e}"));
        assert!(!reason.trim().is_empty(), "line {line:?} has no reason");
        assert!(
            date.weekday().num_days_from_monday() < 5,
            "{line:?} is a {} (weekends are not listed)",
            date.weekday()
        );
        assert!(
            (NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
                ..=NaiveDate::from_ymd_opt(2027, 3, 31).unwrap())
                .contains(&date),
            "{line:?} is outside FY2026"
        );
        assert!(
            previous < Some(date),
            "dates must be ascending and unique, {line:?} is not"
        );
        previous = Some(date);
    }
    assert_eq!(got, CLOSED_FY2026, "full output:\n{out}");

    // The Japanese era and other spellings name the same fiscal year.
    for spelling in ["令和8年度", "FY2026", "R8"] {
        let other = renkei(&sb, &["calendar", "closed", "--fiscal-year", spelling]).ok();
        assert_eq!(
            other, out,
            "--fiscal-year {spelling} should print the same as 2026"
        );
    }

    // Without --municipality the database is not needed: nothing was created, here or in the
    // working directory.
    assert!(
        !sb.db_file.exists(),
        "calendar closed created the database {}",
        sb.db_file.display()
    );
    let left: Vec<_> = std::fs::read_dir(sb.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "calendar closed left files in the working directory: {left:?}"
    );
}

#[test]
fn calendar_closed_with_an_unreadable_fiscal_year_explains_what_to_type() {
    let sb = Sandbox::new();
    let err = renkei(&sb, &["calendar", "closed", "--fiscal-year", "abc"]).fails();
    assert!(
        err.contains("abc"),
        "the message should quote the input:\n{err}"
    );
    assert!(
        err.contains("2026") && err.contains("令和8年度"),
        "the message should show how to write a fiscal year:\n{err}"
    );
}

/// The organisations file as Japanese Excel saves it: Shift_JIS, CRLF, Japanese headings and
/// the kind written as its Japanese label.
const ORGANISATIONS_CSV: &str = "コード,名称,フリガナ,種別,区・圏域,住所,電話番号,メールアドレス\r\n\
O-T-01,相談支援事業所ひだまり,ソウダンシエンジギョウショヒダマリ,相談支援事業所,中央区,テスト市中央区本町1-2-3,099-011-1234,info@hidamari.example.jp\r\n\
H-T-01,テスト市立病院,テストシリツビョウイン,病院,北区,,099-012-0000,\r\n";

/// What `export --kind organisations --format csv` prints for that file (UTF-8 with a BOM,
/// column keys as headings, kinds as codes, sorted by kind, ward and code).
const ORGANISATIONS_EXPORT: [&str; 3] = [
    "code,name,kana,kind,ward,address,phone,email",
    "O-T-01,相談支援事業所ひだまり,ソウダンシエンジギョウショヒダマリ,consultation_office,中央区,テスト市中央区本町1-2-3,099-011-1234,info@hidamari.example.jp",
    "H-T-01,テスト市立病院,テストシリツビョウイン,hospital,北区,,099-012-0000,",
];

fn shift_jis(text: &str) -> Vec<u8> {
    let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(
        !had_errors,
        "the test text must be representable in Shift_JIS"
    );
    let bytes = bytes.into_owned();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the Shift_JIS file must not also be valid UTF-8"
    );
    bytes
}

#[test]
fn administrator_round_trip_migrate_municipality_user_import_export() {
    let sb = Sandbox::new();
    const CODE: &str = "cli-city";
    const USER: &str = "cli-admin";
    const PASSWORD: &str = "a long enough password";

    // migrate creates the database where RENKEI_DATABASE_URL says, and can run again.
    let out = renkei(&sb, &["migrate"]).ok();
    assert!(out.contains("migrations applied"), "{out}");
    assert!(
        sb.db_file.exists(),
        "migrate did not create {}",
        sb.db_file.display()
    );
    renkei(&sb, &["migrate"]).ok();

    let out = renkei(
        &sb,
        &[
            "municipality",
            "add",
            "--code",
            CODE,
            "--name",
            "テスト市",
            "--name-en",
            "Test City",
        ],
    )
    .ok();
    assert!(
        out.contains(&format!("municipality {CODE} created")),
        "{out}"
    );
    let err = renkei(
        &sb,
        &["municipality", "add", "--code", CODE, "--name", "二重市"],
    )
    .fails();
    assert!(
        err.contains(CODE) && err.contains("already exists"),
        "a duplicate code should be refused by name:\n{err}"
    );

    // user add reads the password from RENKEI_NEW_PASSWORD; a short one is refused.
    let user_add = |password: &str| {
        let mut cmd = sb.renkei(&[
            "user",
            "add",
            "--municipality",
            CODE,
            "--username",
            USER,
            "--name",
            "テスト 管理者",
            "--role",
            "admin",
        ]);
        cmd.env("RENKEI_NEW_PASSWORD", password);
        run(cmd)
    };
    let err = user_add("short").fails();
    assert!(
        err.contains("at least 10 characters") && err.contains("10文字以上"),
        "a too-short password should be refused with the rule:\n{err}"
    );
    let out = user_add(PASSWORD).ok();
    assert!(
        out.contains(&format!("user {USER} created (admin)")),
        "{out}"
    );
    let err = user_add(PASSWORD).fails();
    assert!(
        !err.is_empty(),
        "a second account with the same username should be refused with a message"
    );

    // The account works through the service's own login and belongs to the new municipality.
    let url = sb.db_url();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = renkei::store::Db::connect(&url).await.unwrap();
        let user = renkei::auth::login(&db, USER, PASSWORD, "cli-test")
            .await
            .expect("the new account can log in");
        assert_eq!(user.role, renkei::auth::Role::Admin);
        let m = db
            .municipality_by_code(CODE)
            .await
            .unwrap()
            .expect("municipality");
        assert_eq!(
            (m.name.as_str(), m.name_en.as_str()),
            ("テスト市", "Test City")
        );
        assert_eq!(user.municipality_id, m.id);
        db.pool.close().await;
    });

    // Import a Shift_JIS file by a path relative to the working directory (encoding detected).
    std::fs::write(
        sb.path().join("organisations.csv"),
        shift_jis(ORGANISATIONS_CSV),
    )
    .unwrap();
    let import = || {
        renkei(
            &sb,
            &[
                "import",
                "--as",
                USER,
                "--kind",
                "organisations",
                "--file",
                "organisations.csv",
            ],
        )
    };
    let out = import().ok();
    assert!(
        out.contains("2 rows: 2 created, 0 updated, 0 problems; applied"),
        "{out}"
    );

    let export = || {
        renkei(
            &sb,
            &[
                "export",
                "--municipality",
                CODE,
                "--kind",
                "organisations",
                "--format",
                "csv",
            ],
        )
    };
    let out = export().ok();
    let text = out
        .strip_prefix('\u{feff}')
        .unwrap_or_else(|| panic!("a UTF-8 CSV export starts with a BOM for Excel: {out:?}"));
    assert!(
        text.ends_with("\r\n") && !text.replace("\r\n", "").contains('\n'),
        "CSV lines end in CRLF: {text:?}"
    );
    assert_eq!(lines(text), ORGANISATIONS_EXPORT);

    // The same file again updates rather than duplicates.
    let out = import().ok();
    assert!(
        out.contains("2 rows: 0 created, 2 updated, 0 problems; applied"),
        "{out}"
    );
    assert_eq!(
        lines(export().ok().trim_start_matches('\u{feff}')),
        ORGANISATIONS_EXPORT
    );

    // A file with a bad row imports nothing and says which row and column are wrong.
    // The file also holds a new, good row: it must not be written either.
    let bad = format!(
        "{ORGANISATIONS_CSV}X-T-08,相談支援事業所あさひ,,相談支援事業所,,,,\r\nX-T-09,謎の機関,,宇宙港,,,,\r\n"
    );
    std::fs::write(sb.path().join("bad.csv"), shift_jis(&bad)).unwrap();
    let r = renkei(
        &sb,
        &[
            "import",
            "--as",
            USER,
            "--kind",
            "organisations",
            "--file",
            "bad.csv",
        ],
    );
    let err = r.fails();
    assert!(
        err.contains("row 5") && err.contains("種別") && err.contains("宇宙港"),
        "the bad row should be named:\n{err}"
    );
    assert!(r.stdout().contains("nothing imported"), "{}", r.describe());
    assert_eq!(
        lines(export().ok().trim_start_matches('\u{feff}')),
        ORGANISATIONS_EXPORT,
        "nothing of the bad file was written"
    );

    // Nothing but the database and the input files was written to the working directory.
    let mut left: Vec<String> = std::fs::read_dir(sb.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("cli-test.db"))
        .collect();
    left.sort();
    assert_eq!(left, ["bad.csv", "organisations.csv"]);
}

#[test]
fn user_add_without_any_password_source_is_refused() {
    // No RENKEI_NEW_PASSWORD and an empty standard input: an empty password, refused.
    let sb = Sandbox::new();
    renkei(
        &sb,
        &[
            "municipality",
            "add",
            "--code",
            "nopw",
            "--name",
            "パスワードなし市",
        ],
    )
    .ok();
    let err = renkei(
        &sb,
        &[
            "user",
            "add",
            "--municipality",
            "nopw",
            "--username",
            "nopw-admin",
            "--name",
            "x",
            "--role",
            "admin",
        ],
    )
    .fails();
    assert!(err.contains("at least 10 characters"), "{err}");
    let err = renkei(
        &sb,
        &[
            "user",
            "add",
            "--municipality",
            "nopw",
            "--username",
            "u",
            "--name",
            "x",
            "--role",
            "owner",
        ],
    )
    .fails();
    assert!(
        err.contains("owner") && err.contains("coordinator"),
        "an unknown role should list the roles:\n{err}"
    );
}

/// `renkei ARGS` with its data segment limited to `limit_mib` (RLIMIT_DATA: heap and private
/// writable mappings, so an allocation beyond it fails instead of succeeding), and the peak
/// resident memory it reached (VmHWM, polled from /proc while it runs; the kernel's rusage of a
/// child would count the test process it was forked from).
fn run_limited(sandbox: &Sandbox, args: &[&str], limit_mib: u64) -> (f64, Run) {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let mut cmd = sandbox.renkei(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let bytes = limit_mib * 1024 * 1024;
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_DATA, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("renkei starts");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    let output = Output {
        status,
        stdout: out,
        stderr: err,
    };
    (
        peak_kib as f64 / 1024.0,
        Run {
            args: args.join(" "),
            output,
        },
    )
}

/// An XLSX bomb (about 1 MB that inflates to 1 GiB) is refused from its zip directory by a
/// process whose data segment is limited to 256 MiB: the import fails with the limit named,
/// not with an allocation failure.
#[test]
fn xlsx_bomb_is_refused_with_bounded_memory() {
    let sb = Sandbox::new();
    renkei(&sb, &["migrate"]).ok();
    renkei(
        &sb,
        &["municipality", "add", "--code", "bomb", "--name", "爆弾市"],
    )
    .ok();
    let mut cmd = sb.renkei(&[
        "user",
        "add",
        "--municipality",
        "bomb",
        "--username",
        "b-admin",
        "--name",
        "管理者",
        "--role",
        "admin",
    ]);
    cmd.env("RENKEI_NEW_PASSWORD", "a long enough password");
    run(cmd).ok();
    let bomb = crate::support::xlsx_bomb(1024 * 1024 * 1024);
    std::fs::write(sb.path().join("bomb.xlsx"), &bomb).unwrap();
    let (peak_mib, r) = run_limited(
        &sb,
        &[
            "import",
            "--as",
            "b-admin",
            "--kind",
            "organisations",
            "--file",
            "bomb.xlsx",
        ],
        256,
    );
    let err = r.fails();
    assert!(
        err.contains("64 MB") && err.contains("XLSX"),
        "{}",
        r.describe()
    );
    eprintln!(
        "xlsx bomb: {:.1} MB file inflating to 1024 MiB refused; peak RSS of `renkei import` {peak_mib:.0} MiB",
        bomb.len() as f64 / 1e6
    );
    assert!(peak_mib < 256.0, "peak {peak_mib:.0} MiB");
}

/// `renkei backup` while four writers commit rows as fast as they can, then `renkei restore`
/// into another database: every row committed before the backup started is there, and nothing
/// that was never committed. Restoring over an existing database keeps the old file aside.
#[test]
fn backup_under_write_load_restores_every_committed_row() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let sb = Sandbox::new();
    renkei(&sb, &["migrate"]).ok();
    renkei(
        &sb,
        &["municipality", "add", "--code", "bk", "--name", "控市"],
    )
    .ok();
    let url = sb.db_url();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (before, committed, backup_secs) = rt.block_on(async {
        let db = renkei::store::Db::connect(&url).await.unwrap();
        let m = db.municipality_by_code("bk").await.unwrap().unwrap().id;
        let stop = Arc::new(AtomicBool::new(false));
        // (code, when its commit returned)
        let log: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
        let mut writers = Vec::new();
        for w in 0..4 {
            let (db, stop, log) = (db.clone(), stop.clone(), log.clone());
            writers.push(tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let code = format!("W{w}-{i:06}");
                    let mut tx = db.begin_write().await.unwrap();
                    sqlx::query(
                        "INSERT INTO organisations (municipality_id, code, name, kana, kind, ward, address, phone, email, created_at, updated_at)
                         VALUES ($1, $2, $3, '', 'other', '', '', '', '', '2026-12-03T00:00:00Z', '2026-12-03T00:00:00Z')",
                    )
                    .bind(m.0)
                    .bind(&code)
                    .bind(format!("機関 {code} {}", "x".repeat(200)))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                    tx.commit().await.unwrap();
                    log.lock().unwrap().push((code, Instant::now()));
                    i += 1;
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = Instant::now();
        let backup_dir = sb.path().to_path_buf();
        let db_url = url.clone();
        let out = tokio::task::spawn_blocking(move || {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_renkei"));
            cmd.args(["backup", "--out", "backup.db"])
                .current_dir(&backup_dir)
                .env_remove("DATABASE_URL")
                .env("RENKEI_DATABASE_URL", db_url)
                .stdin(Stdio::null());
            run(cmd)
        })
        .await
        .unwrap();
        let backup_secs = started.elapsed().as_secs_f64();
        out.ok();
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.await.unwrap();
        }
        let log = log.lock().unwrap();
        let before: Vec<String> = log
            .iter()
            .filter(|(_, at)| *at < started)
            .map(|(c, _)| c.clone())
            .collect();
        let committed: std::collections::HashSet<String> =
            log.iter().map(|(c, _)| c.clone()).collect();
        assert!(
            committed.len() > before.len(),
            "the writers kept writing during the backup"
        );
        db.pool.close().await;
        (before, committed, backup_secs)
    });
    assert!(
        before.len() > 20,
        "rows were committed before the backup: {}",
        before.len()
    );

    // Restore into a second sandbox (no database there yet).
    let target = Sandbox::new();
    std::fs::copy(sb.path().join("backup.db"), target.path().join("backup.db")).unwrap();
    let out = renkei(&target, &["restore", "--from", "backup.db"]).ok();
    assert!(out.contains("restored"), "{out}");
    let restored: std::collections::HashSet<String> = rt.block_on(async {
        let db = renkei::store::Db::connect(&target.db_url()).await.unwrap();
        let codes: Vec<String> = sqlx::query_scalar("SELECT code FROM organisations")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        db.pool.close().await;
        codes.into_iter().collect()
    });
    let missing: Vec<&String> = before.iter().filter(|c| !restored.contains(*c)).collect();
    assert!(
        missing.is_empty(),
        "{} committed rows missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(restored.is_subset(&committed), "only committed rows");
    eprintln!(
        "backup under load: {} rows committed before it started, {} restored, {} committed in all; backup took {backup_secs:.2} s",
        before.len(),
        restored.len(),
        committed.len()
    );

    // Restoring over an existing database keeps the old one aside; the data is the backup's.
    let out = renkei(&sb, &["restore", "--from", "backup.db"]).ok();
    assert!(out.contains("before-restore"), "{out}");
    assert!(sb.path().join("cli-test.db.before-restore").exists());
    // A file that is not a renkei database is refused, and nothing is replaced.
    std::fs::write(sb.path().join("junk.db"), b"not a database").unwrap();
    let err = renkei(&sb, &["restore", "--from", "junk.db"]).fails();
    assert!(err.contains("junk.db"), "{err}");
    // A backup never overwrites a file.
    let err = renkei(&sb, &["backup", "--out", "backup.db"]).fails();
    assert!(err.contains("exists already"), "{err}");
}

/// PostgreSQL databases are backed up with pg_dump: the commands say so instead of failing
/// obscurely.
#[test]
fn backup_of_postgres_points_to_pg_dump() {
    let sb = Sandbox::new();
    let mut cmd = sb.renkei(&["backup", "--out", "x.db"]);
    cmd.env("RENKEI_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none");
    let err = run(cmd).fails();
    assert!(err.contains("pg_dump"), "{err}");
    let mut cmd = sb.renkei(&["restore", "--from", "x.db"]);
    cmd.env("RENKEI_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none");
    let err = run(cmd).fails();
    assert!(err.contains("pg_restore"), "{err}");
}

/// The target for the baseline, on what users plan first: the demo municipality's
/// next fiscal year as a planning run builds it. The baseline (the fallback and the
/// optimizer's start) is valid and within 10 % of the optimizer's plan; the optimizer's plan
/// is never dearer than the baseline it starts from.
#[test]
fn the_baseline_is_within_ten_percent_of_the_optimizer_on_the_demo_year() {
    let sandbox = Sandbox::new();
    let instance = sandbox.path().join("demo-fy.json");
    let instance = instance.to_str().expect("UTF-8 path");
    renkei(
        &sandbox,
        &["bench-instance", "--size", "demo-fy", "--out", instance],
    )
    .ok();
    let cost = |greedy: bool| {
        let out = sandbox
            .path()
            .join(format!("plan-{greedy}.json"))
            .display()
            .to_string();
        let mut args = vec!["solve", "--instance", instance, "--out", &out];
        if greedy {
            args.push("--greedy");
        }
        renkei(&sandbox, &args).ok();
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("plan written"))
                .expect("plan is JSON");
        assert_eq!(
            result["valid"], true,
            "greedy {greedy}: {}",
            result["violations"]
        );
        let planned = result["occurrences"].as_array().map_or(0, Vec::len) as u64;
        let required = result["required_occurrences"].as_u64().expect("count");
        assert!(
            required > 100 && planned >= required,
            "greedy {greedy}: {planned} planned of {required} required"
        );
        result["soft_cost"]["total"].as_f64().expect("soft cost")
    };
    let baseline = cost(true);
    let optimizer = cost(false);
    assert!(
        optimizer <= baseline + 1e-6,
        "optimizer {optimizer} vs its start {baseline}"
    );
    assert!(
        baseline <= optimizer * 1.10,
        "baseline {baseline} is more than 10 % above the optimizer's {optimizer}"
    );
}
