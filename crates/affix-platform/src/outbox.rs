//! The e-mail outbox: the embedded default for e-mail when no SMTP relay is configured;
//! and [`SmsNotConfigured`], the SMS channel of a platform that may not use the SMS file
//! outbox (listening beyond loopback without `insecure_outbox`).
//!
//! Each message is appended as one JSON line to `<data_dir>/outbox/email.jsonl` and
//! fsync'd: `{"v":1,"id","to","event_type","subject","body","at_ms"}`. Its delivery
//! record says [`Outcome::Outboxed`]: the message is in a file, **not delivered to
//! anyone**. Configure `[smtp]` (see [`crate::config`]) for real delivery; tests run a
//! real SMTP server against [`affix_notify::SmtpMailer`].

use std::fs::File;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use affix_notify::{DeliveryRecord, Notification, Notifier, Outcome, PhoneNumber, Sha256Digest};
use affix_time::Clock;

use crate::Error;

/// A file outbox for e-mail.
pub struct MailOutbox {
    /// Shared with the blocking thread that writes and fsyncs (off the async runtime).
    file: Arc<Mutex<File>>,
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
            crate::launch::create_private_dir(dir)?;
        }
        // Owner only: the messages carry one-time codes and invite links.
        let file = affix_notify::open_private_append(path)
            .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
        Ok(Self {
            file: Arc::new(Mutex::new(file)),
            path: path.to_owned(),
            clock,
        })
    }

    /// The outbox file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn append(&self, notification: &Notification) -> (Outcome, Option<Sha256Digest>) {
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
        let file = self.file.clone();
        // The write and its fsync block: on a blocking thread, not a runtime worker.
        let written = tokio::task::spawn_blocking(move || {
            let Ok(mut file) = file.lock() else {
                return Err("outbox lock poisoned".to_owned());
            };
            let offset = file.metadata().map_or(0, |m| m.len());
            file.write_all(&bytes)
                .and_then(|()| file.sync_data())
                .map(|()| offset)
                .map_err(|e| format!("writing the outbox: {e}"))
        })
        .await
        .unwrap_or_else(|e| Err(format!("outbox writer: {e}")));
        match written {
            Ok(offset) => (
                Outcome::Outboxed {
                    detail: format!("{}@{offset}", self.path.display()),
                },
                Some(digest),
            ),
            Err(e) => (Outcome::failed(true, None, e), None),
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
            let (outcome, digest) = self.append(notification).await;
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

/// What a platform listening beyond loopback without `insecure_outbox` sends text
/// messages with: nothing. There is no SMS gateway here and the file outbox would hold
/// invite links in clear, so every text fails (not retryable) with a delivery record
/// saying SMS is not configured. E-mail remains the channel of record.
#[derive(Debug, Clone, Copy, Default)]
pub struct SmsNotConfigured;

/// The reason in the delivery record of every text [`SmsNotConfigured`] refuses.
pub const SMS_NOT_CONFIGURED: &str = "SMS not configured: no gateway, and the file outbox is \
     off while listening beyond loopback (insecure_outbox = false)";

impl affix_notify::SmsSender for SmsNotConfigured {
    fn submit<'a>(
        &'a self,
        _notification: &'a Notification,
        _to: &'a PhoneNumber,
        _attempt: u32,
        _now_ms: u64,
    ) -> Pin<Box<dyn Future<Output = (Outcome, Option<Sha256Digest>)> + Send + 'a>> {
        Box::pin(async { (Outcome::failed(false, None, SMS_NOT_CONFIGURED), None) })
    }
}
