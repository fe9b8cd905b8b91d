#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod dispatch;
mod error;
mod log;
mod model;
mod notifier;
mod record;
mod retry;
mod sms;
mod smtp;
mod webhook;

/// The clock this crate is given wherever it needs the time (defined in `affix-time`).
pub use affix_time::{Clock, ManualClock, SystemClock};
pub use dispatch::{DeliveryUpdate, Dispatcher, DispatcherConfig};
pub use error::Error;
pub use log::{DeliveryLog, JsonLinesDeliveryLog, LOG_LINE_BYTES_MAX, MemoryDeliveryLog};
pub use model::{
    BODY_BYTES_MAX, Channel, EMAIL_ADDRESS_BYTES_MAX, EVENT_TYPE_BYTES_MAX, EmailAddress,
    EventType, NOTIFICATION_DIGEST_CONTEXT, NOTIFICATION_ID_CHARS_MAX, Notification,
    NotificationId, PhoneNumber, Recipient, SUBJECT_BYTES_MAX, Sha256Digest, WEBHOOK_URL_BYTES_MAX,
    WebhookEndpoint,
};
pub use notifier::{ChannelRouter, Notifier};
pub use record::{DELIVERY_RECORD_DIGEST_CONTEXT, DETAIL_BYTES_MAX, DeliveryRecord, Outcome};
pub use retry::{
    DeliveryState, RETRY_ATTEMPTS_MAX, RETRY_DELAY_MS_MAX, RETRY_JITTER_PERCENT_MAX, RetrySchedule,
};
pub use sms::{FileOutbox, FileOutboxLimits, SMS_TEXT_CHARS_MAX, SmsNotifier, SmsSender};
pub use smtp::{SmtpConfig, SmtpCredentials, SmtpMailer, SmtpPassword, SmtpTls};
pub use webhook::{
    VerifiedWebhook, WEBHOOK_ID_BYTES_MAX, WEBHOOK_SECRET_BYTES_MAX, WEBHOOK_SECRET_BYTES_MIN,
    WEBHOOK_SECRET_PREFIX, WEBHOOK_SIGNATURE_HEADER_BYTES_MAX, WEBHOOK_SIGNATURES_MAX,
    WEBHOOK_TOLERANCE_S, WebhookHeaders, WebhookKeys, WebhookSecret, WebhookSender,
    WebhookSenderConfig, sign, sign_all, verify, webhook_payload,
};

/// Opens `path` for appending, creating it with mode 0600 (owner only); an existing file
/// is narrowed to 0600 too. Outboxes and delivery logs carry one-time codes, invite links
/// and addresses: nobody but the service's user may read them.
///
/// # Errors
/// The operating system's.
pub fn open_private_append(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}
