//! The e-mail outbox: the embedded default for e-mail when no SMTP relay is configured.
//!
//! Each message is appended as one JSON line to `<data_dir>/outbox/email.jsonl` and
//! fsync'd: `{"v":1,"id","to","event_type","subject","body","at_ms"}`. Its delivery
//! record says [`Outcome::Outboxed`]: the message is in a file, **not delivered to
//! anyone**. Configure `[smtp]` (see [`crate::config`]) for real delivery; tests run a
//! real SMTP server against [`affix_notify::SmtpMailer`].

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use affix_notify::{Clock, DeliveryRecord, Notification, Notifier, Outcome, Sha256Digest};

use crate::Error;

/// A file outbox for e-mail.
pub struct MailOutbox {
    file: Mutex<File>,
    path: PathBuf,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MailOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailOutbox")
            .field("path", &self.path)
            .finish()
    }
}

impl MailOutbox {
    /// Opens (creating) the outbox file.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        Ok(Self {
            file: Mutex::new(file),
            path: path.to_owned(),
            clock,
        })
    }

    /// The outbox file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn append(&self, notification: &Notification) -> (Outcome, Option<Sha256Digest>) {
        let line = serde_json::json!({
            "v": 1,
            "id": notification.id().as_str(),
            "to": notification.recipient().address(),
            "event_type": notification.event_type().as_str(),
            "subject": notification.subject(),
            "body": notification.body(),
            "at_ms": self.clock.now_ms(),
        });
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        let digest = Sha256Digest::of(&bytes);
        let Ok(mut file) = self.file.lock() else {
            return (Outcome::failed(true, None, "outbox lock poisoned"), None);
        };
        let offset = file.metadata().map_or(0, |m| m.len());
        match file.write_all(&bytes).and_then(|()| file.sync_data()) {
            Ok(()) => (
                Outcome::Outboxed {
                    detail: format!("{}@{offset}", self.path.display()),
                },
                Some(digest),
            ),
            Err(e) => (
                Outcome::failed(true, None, format!("writing the outbox: {e}")),
                None,
            ),
        }
    }
}

impl Notifier for MailOutbox {
    fn send<'a>(
        &'a self,
        notification: &'a Notification,
        attempt: u32,
    ) -> Pin<Box<dyn Future<Output = DeliveryRecord> + Send + 'a>> {
        Box::pin(async move {
            let started = self.clock.now_ms();
            let (outcome, digest) = self.append(notification);
            DeliveryRecord::new(
                notification,
                attempt,
                started,
                self.clock.now_ms(),
                outcome,
                digest,
            )
        })
    }
}
