//! A real IMAP server for the tests: Dovecot (Debian's `dovecot-imapd`, installed by
//! `scripts/test.sh`), started per test with a throwaway configuration in a temporary
//! directory: plain IMAP on a free port of 127.0.0.1, one passwd-file user, maildir storage in
//! the directory. Dovecot refuses to run its login processes or to store mail as root, so they
//! run as Debian's `dovenull` and `dovecot` users (the package creates them) and the directory
//! is opened to them.
//!
//! The server runs under a small shell that stops it when its standard input closes, so that
//! a test process that dies without `Drop` leaves no server behind.

#![allow(dead_code)]

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::net::TcpStream;

pub const USER: &str = "kikan";
pub const PASSWORD: &str = "imap-test-secret";

pub struct Dovecot {
    pub port: u16,
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn config(dir: &std::path::Path, port: u16) -> String {
    let d = dir.display();
    format!(
        r#"protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
instance_name = renkei-test-{port}
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
# Debian's dovecot user (the mail owner here) has a system uid, below the default limit of 500.
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"#
    )
}

impl Dovecot {
    /// Starts a server; panics (never skips) when Dovecot is not installed.
    pub async fn start() -> Dovecot {
        let binary = ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or_else(|| {
                panic!(
                    "Dovecot is not installed: the calendar-reply tests need a real IMAP server. \
                     Run `bash scripts/test.sh` (it installs dovecot-imapd) or `apt-get install dovecot-imapd`."
                )
            });
        let mut last_log = String::new();
        // A free port can be taken between our probe and Dovecot's bind: try a few.
        for _ in 0..3 {
            let tmp = tempfile::tempdir().expect("temp dir for Dovecot");
            let dir = tmp.path().to_path_buf();
            // The login and mail processes run as dovenull / dovecot: let them in.
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            for sub in ["run", "state"] {
                std::fs::create_dir(dir.join(sub)).unwrap();
            }
            std::fs::create_dir(dir.join("mail")).unwrap();
            std::fs::set_permissions(dir.join("mail"), std::fs::Permissions::from_mode(0o777))
                .unwrap();
            std::fs::write(dir.join("users"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
            let port = free_port();
            let conf = dir.join("dovecot.conf");
            std::fs::write(&conf, config(&dir, port)).unwrap();
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(r#""$0" -F -c "$1" & d=$!; read -r _; kill $d; wait $d"#)
                .arg(binary)
                .arg(&conf)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start Dovecot");
            let stdin = child.stdin.take();
            let mut server = Dovecot {
                port,
                dir: dir.clone(),
                _tmp: tmp,
                child: Some(child),
                stdin,
            };
            if server.wait_ready(Duration::from_secs(20)).await {
                return server;
            }
            last_log = std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default();
            if let Some(mut c) = server.child.take() {
                server.stdin = None;
                let _ = c.wait();
                let mut err = String::new();
                if let Some(mut e) = c.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                last_log.push_str(&err);
            }
        }
        panic!("Dovecot did not start; its log:\n{last_log}");
    }

    async fn wait_ready(&mut self, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                return false;
            }
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", self.port)).await {
                let mut client = async_imap::Client::new(stream);
                if let Ok(Ok(Some(_))) =
                    tokio::time::timeout(Duration::from_secs(5), client.read_response()).await
                {
                    if let Ok(mut s) = client.login(USER, PASSWORD).await {
                        // Logged in and the mail store usable.
                        let usable = s.select("INBOX").await.is_ok();
                        let _ = s.logout().await;
                        if usable {
                            return true;
                        }
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    }

    /// The `imap_url` of the test mailbox.
    pub fn url(&self) -> String {
        format!("imap://{USER}:{PASSWORD}@127.0.0.1:{}/INBOX", self.port)
    }

    async fn session(&self) -> async_imap::Session<TcpStream> {
        let stream = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect to Dovecot");
        let mut client = async_imap::Client::new(stream);
        client.read_response().await.unwrap().expect("greeting");
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("login to Dovecot")
    }

    /// Delivers a message into the inbox (IMAP APPEND, as a mail server's delivery would).
    pub async fn deliver(&self, raw: &str) {
        let mut s = self.session().await;
        if let Err(e) = s.append("INBOX", None, None, raw.as_bytes()).await {
            panic!(
                "APPEND to the inbox: {e}; Dovecot's log:\n{}",
                std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
            );
        }
        let _ = s.logout().await;
    }

    /// The messages of `folder`: their flags and Message-ID (without brackets); empty when the folder does
    /// not exist.
    pub async fn messages(&self, folder: &str) -> Vec<(Vec<String>, String)> {
        let mut s = self.session().await;
        let Ok(mailbox) = s.examine(folder).await else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if mailbox.exists > 0 {
            let mut fetches = s
                .fetch("1:*", "(FLAGS BODY.PEEK[HEADER])")
                .await
                .expect("FETCH");
            while let Some(f) = fetches.next().await {
                let f = f.expect("fetch item");
                let flags = f.flags().map(|fl| format!("{fl:?}")).collect();
                let header = f
                    .header()
                    .map(|h| String::from_utf8_lossy(h).to_string())
                    .unwrap_or_default();
                let message_id = header
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("message-id")
                            .then(|| value.trim().trim_matches(['<', '>']).to_string())
                    })
                    .unwrap_or_default();
                out.push((flags, message_id));
            }
        }
        let _ = s.logout().await;
        out
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // Closing its input stops the server (see the shell above).
        self.stdin = None;
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }
}
