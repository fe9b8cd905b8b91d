//! SMS: the [`SmsSender`] trait and [`FileOutbox`], the local stand-in for a gateway.

use std::fs::File;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use crate::{
    Clock, DeliveryRecord, Error, Notification, Notifier, Outcome, PhoneNumber, Recipient,
    Sha256Digest,
};

/// Longest SMS text accepted by [`FileOutbox`] by default, in characters (about seven
/// concatenated UCS-2 segments).
pub const SMS_TEXT_CHARS_MAX: usize = 480;

/// Hands text messages to an SMS gateway. Implementations report what they can honestly
/// claim: a gateway that accepted a message for onward delivery is not a phone that
/// received it.
pub trait SmsSender: Send + Sync {
    /// Submits `notification`'s body to `to`; returns the outcome and the digest of the
    /// bytes handed over.
    fn submit<'a>(
        &'a self,
        notification: &'a Notification,
        to: &'a PhoneNumber,
        attempt: u32,
        now_ms: u64,
    ) -> Pin<Box<dyn Future<Output = (Outcome, Option<Sha256Digest>)> + Send + 'a>>;
}

/// Limits of a [`FileOutbox`].
#[derive(Clone, Debug)]
pub struct FileOutboxLimits {
    /// Longest message text, in characters.
    pub text_chars_max: usize,
    /// Largest outbox file; when reached, submissions fail (retryable) until the file
    /// is drained or rotated by the gateway side.
    pub file_bytes_max: u64,
}

impl Default for FileOutboxLimits {
    fn default() -> Self {
        Self {
            text_chars_max: SMS_TEXT_CHARS_MAX,
            file_bytes_max: 64 * 1024 * 1024,
        }
    }
}

/// The local stand-in for an SMS gateway (none exists in this deployment): appends one
/// JSON object per message to a file and `fdatasync`s it,
/// `{"v":1,"id":…,"to":…,"event_type":…,"text":…,"attempt":…,"at_ms":…}`. The outcome
/// is [`Outcome::Outboxed`] with the byte offset of the line: the message is queued in a
/// file, **not delivered to a phone**. A gateway adapter implementing [`SmsSender`]
/// replaces it in production.
#[derive(Debug)]
pub struct FileOutbox {
    file: Arc<Mutex<File>>,
    path: PathBuf,
    limits: FileOutboxLimits,
}

impl FileOutbox {
    /// Opens (creating if needed) the outbox file at `path` for appending.
    pub fn open(path: impl AsRef<Path>, limits: FileOutboxLimits) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let file = crate::open_private_append(&path).map_err(|source| Error::Io {
            action: "opening SMS outbox",
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            file: Arc::new(Mutex::new(file)),
            path,
            limits,
        })
    }

    /// The outbox file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn append(
        &self,
        notification: &Notification,
        to: &PhoneNumber,
        attempt: u32,
        now_ms: u64,
    ) -> (Outcome, Option<Sha256Digest>) {
        if notification.body().chars().count() > self.limits.text_chars_max {
            return (
                Outcome::failed(
                    false,
                    None,
                    format!(
                        "text longer than {} characters for SMS",
                        self.limits.text_chars_max
                    ),
                ),
                None,
            );
        }
        let line = serde_json::json!({
            "v": 1,
            "id": notification.id().as_str(),
            "to": to.as_str(),
            "event_type": notification.event_type().as_str(),
            "text": notification.body(),
            "attempt": attempt,
            "at_ms": now_ms,
        });
        let mut bytes = line.to_string().into_bytes();
        let digest = Sha256Digest::of(&bytes);
        bytes.push(b'\n');
        let file = Arc::clone(&self.file);
        let limit = self.limits.file_bytes_max;
        let written = tokio::task::spawn_blocking(move || -> Result<u64, String> {
            let mut file = file.lock().unwrap_or_else(PoisonError::into_inner);
            let offset = file.metadata().map_err(|e| e.to_string())?.len();
            let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
            if offset.saturating_add(len) > limit {
                return Err("outbox file is full".into());
            }
            file.write_all(&bytes).map_err(|e| e.to_string())?;
            file.sync_data().map_err(|e| e.to_string())?;
            Ok(offset)
        })
        .await;
        let outcome = match written {
            Ok(Ok(offset)) => Outcome::Outboxed {
                detail: format!("appended to SMS outbox at byte {offset}; not yet sent to a phone"),
            },
            Ok(Err(reason)) => Outcome::failed(true, None, format!("SMS outbox: {reason}")),
            Err(e) => Outcome::failed(true, None, format!("SMS outbox task: {e}")),
        };
        (outcome, Some(digest))
    }
}

impl SmsSender for FileOutbox {
    fn submit<'a>(
        &'a self,
        notification: &'a Notification,
        to: &'a PhoneNumber,
        attempt: u32,
        now_ms: u64,
    ) -> Pin<Box<dyn Future<Output = (Outcome, Option<Sha256Digest>)> + Send + 'a>> {
        Box::pin(self.append(notification, to, attempt, now_ms))
    }
}

/// Delivers [`Recipient::Sms`] notifications through an [`SmsSender`], recording each
/// attempt.
pub struct SmsNotifier {
    sender: Arc<dyn SmsSender>,
    clock: Arc<dyn Clock>,
}

impl SmsNotifier {
    /// A notifier over `sender`.
    pub fn new(sender: Arc<dyn SmsSender>, clock: Arc<dyn Clock>) -> Self {
        Self { sender, clock }
    }

    /// Makes attempt number `attempt` to send `notification`.
    pub async fn deliver(&self, notification: &Notification, attempt: u32) -> DeliveryRecord {
        let started_at_ms = self.clock.now_ms();
        let (outcome, digest) = match notification.recipient() {
            Recipient::Sms(to) => {
                self.sender
                    .submit(notification, to, attempt, started_at_ms)
                    .await
            }
            _ => (Outcome::failed(false, None, "not an SMS recipient"), None),
        };
        DeliveryRecord::new(
            notification,
            attempt,
            started_at_ms,
            self.clock.now_ms(),
            outcome,
            digest,
        )
    }
}

impl Notifier for SmsNotifier {
    fn send<'a>(
        &'a self,
        notification: &'a Notification,
        attempt: u32,
    ) -> Pin<Box<dyn Future<Output = DeliveryRecord> + Send + 'a>> {
        Box::pin(self.deliver(notification, attempt))
    }
}
