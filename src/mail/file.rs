//! The transport used when no SMTP server is configured: each message becomes
//! an `.eml` file in the data directory, and a log line says so.

use std::path::{Path, PathBuf};

use super::{Email, Mailer, SendError};

/// Folder under the data directory that receives the files.
pub const OUTGOING_DIR: &str = "outgoing-mail";

pub struct FileMailer {
    dir: PathBuf,
}

impl FileMailer {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }
}

#[rocket::async_trait]
impl Mailer for FileMailer {
    async fn send(&self, email: &Email) -> Result<(), SendError> {
        let bytes = email.formatted();
        let name = format!(
            "{}-{}.eml",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
            uuid::Uuid::new_v4().simple()
        );
        let path = self.dir.join(name);
        let dir = self.dir.clone();
        let written = path.clone();
        tokio::task::spawn_blocking(move || write_private(&dir, &written, &bytes))
            .await
            .map_err(|e| SendError::transient(format!("writing the mail file failed: {e}")))?
            .map_err(|e| SendError::transient(format!("cannot write {}: {e}", path.display())))?;
        let to: Vec<String> = email
            .envelope()
            .to()
            .iter()
            .map(ToString::to_string)
            .collect();
        let subject = email
            .headers()
            .get_raw("Subject")
            .unwrap_or_default()
            .to_string();
        tracing::info!(to = %to.join(", "), %subject, file = %path.display(), "mail written to a file (no SMTP server configured)");
        Ok(())
    }

    fn describe(&self) -> String {
        format!("files in {}", self.dir.display())
    }
}

/// Writes a mail file readable by its owner only, in a folder only its owner
/// may enter: the files hold reset, invite and portal links.
fn write_private(dir: &Path, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut folder = std::fs::DirBuilder::new();
    folder.recursive(true);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
        folder.mode(0o700);
        options.mode(0o600);
    }
    folder.create(dir)?;
    std::io::Write::write_all(&mut options.open(file)?, bytes)
}
