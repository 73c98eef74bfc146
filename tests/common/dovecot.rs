//! A real IMAP server for tests: Dovecot (Debian's `dovecot-imapd`, which
//! `.ci/run` installs) with a throwaway configuration, one user and Maildir
//! storage in a temporary folder, on a free loopback port; and a small IMAP
//! client (async-imap) to put mail in and look at it.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_imap::Session;
use futures_util::StreamExt as _;
use tokio::net::TcpStream;

pub const USER: &str = "support@example.com";
pub const PASSWORD: &str = "imap-secret-for-tests";

pub struct Dovecot {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

/// The Dovecot binary; these tests need it (CI installs it).
fn binary() -> PathBuf {
    for candidate in ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("these tests need Dovecot: apt-get install dovecot-imapd");
}

impl Dovecot {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let root = dir.path();
        for sub in ["run", "mail"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        // Dovecot's own users read the configuration and write the mail.
        set_mode(root, 0o755);
        set_mode(&root.join("mail"), 0o777);
        std::fs::write(
            root.join("users"),
            format!(
                "{USER}:{{PLAIN}}{PASSWORD}::::{}/mail/support\n",
                root.display()
            ),
        )
        .unwrap();
        let (internal, login) = service_users();
        std::fs::write(
            root.join("dovecot.conf"),
            format!(
                "protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/run
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
mail_uid = {internal}
mail_gid = {internal}
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
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
",
                root = root.display()
            ),
        )
        .unwrap();
        let mut server = Self {
            child: None,
            dir,
            port,
        };
        server.run();
        server
    }

    fn run(&mut self) {
        let child = Command::new(binary())
            .arg("-F")
            .arg("-c")
            .arg(self.dir.path().join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dovecot starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "dovecot did not listen: {}",
                std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (every session with it breaks).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Its children (login and mail processes) end with the master.
        std::thread::sleep(Duration::from_millis(300));
    }

    pub fn restart(&mut self) {
        self.stop();
        self.run();
    }

    /// Makes the server renumber the inbox (a new UIDVALIDITY), as after a
    /// migration or a restore on the provider's side.
    pub fn renumber(&mut self) {
        self.stop();
        let maildir = self.maildir();
        for entry in std::fs::read_dir(&maildir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with("dovecot") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        self.run();
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail/support/Maildir")
    }

    /// Signs in as the test user.
    pub async fn session(&self) -> Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap();
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .unwrap()
    }

    /// Puts `raw` into `folder`, unread.
    pub async fn append(&self, folder: &str, raw: &[u8]) {
        let mut session = self.session().await;
        session.append(folder, None, None, raw).await.unwrap();
        let _ = session.logout().await;
    }

    /// Puts `raw` into `folder` as already read.
    pub async fn append_read(&self, folder: &str, raw: &[u8]) {
        let mut session = self.session().await;
        session
            .append(folder, Some("(\\Seen)"), None, raw)
            .await
            .unwrap();
        let _ = session.logout().await;
    }

    pub async fn create_folder(&self, folder: &str) {
        let mut session = self.session().await;
        session.create(folder).await.unwrap();
        let _ = session.logout().await;
    }

    /// (messages, of them unread) in `folder`.
    pub async fn counts(&self, folder: &str) -> (u32, usize) {
        let mut session = self.session().await;
        let mailbox = session.select(folder).await.unwrap();
        let unseen = session.search("UNSEEN").await.unwrap().len();
        let _ = session.logout().await;
        (mailbox.exists, unseen)
    }

    /// Marks every message of `folder` unread again.
    pub async fn mark_all_unread(&self, folder: &str) {
        let mut session = self.session().await;
        session.select(folder).await.unwrap();
        let updates = session.store("1:*", "-FLAGS (\\Seen)").await.unwrap();
        updates.collect::<Vec<_>>().await;
        let _ = session.logout().await;
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Dovecot's unprivileged users (the Debian package creates them).
fn service_users() -> (&'static str, &'static str) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let has = |name: &str| passwd.lines().any(|l| l.starts_with(&format!("{name}:")));
    assert!(
        has("dovecot") && has("dovenull"),
        "the dovecot and dovenull users are missing: apt-get install dovecot-imapd"
    );
    ("dovecot", "dovenull")
}
