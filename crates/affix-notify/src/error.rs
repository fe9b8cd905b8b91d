//! The crate's one error type.

use std::path::PathBuf;

/// Errors from building notifications, verifying webhooks, queueing deliveries and
/// writing the delivery log or the SMS outbox.
///
/// A failed *delivery* is not an error: it is a [`crate::DeliveryRecord`] whose outcome is
/// [`crate::Outcome::Failed`], because the failure itself is evidence to keep. Errors never
/// contain secrets, message text or recipient addresses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- malformed input (caller or peer supplied) ----
    /// A notification id is empty, too long or has a character outside `[A-Za-z0-9_-]`.
    #[error("notification id must be 1 to {max_chars} characters of [A-Za-z0-9_-]")]
    InvalidNotificationId {
        /// The longest id accepted.
        max_chars: usize,
    },
    /// An e-mail address does not parse (RFC 5321 `addr-spec`, at most 254 bytes).
    #[error("invalid e-mail address")]
    InvalidEmailAddress,
    /// A phone number is not in E.164 form (`+` then 7 to 15 digits, the first not 0).
    #[error("invalid phone number: expected E.164 (+ and 7 to 15 digits)")]
    InvalidPhoneNumber,
    /// A webhook endpoint URL is unusable.
    #[error("invalid webhook endpoint: {reason}")]
    InvalidWebhookEndpoint {
        /// Why it was refused.
        reason: &'static str,
    },
    /// An event type is not a full-stop delimited list of `[A-Za-z0-9_]` identifiers.
    #[error("event type must be 1 to {max_bytes} bytes of dot-separated [A-Za-z0-9_] identifiers")]
    InvalidEventType {
        /// The longest event type accepted.
        max_bytes: usize,
    },
    /// A subject is too long or contains a control character (line breaks included).
    #[error("subject must be one line of at most {max_bytes} bytes without control characters")]
    InvalidSubject {
        /// The longest subject accepted.
        max_bytes: usize,
    },
    /// A message body is larger than the limit.
    #[error("body is {len_bytes} bytes; at most {max_bytes} accepted")]
    BodyTooLarge {
        /// The body's size.
        len_bytes: usize,
        /// The largest body accepted.
        max_bytes: usize,
    },
    /// A webhook secret is not `whsec_` followed by base64 of 24 to 64 bytes.
    #[error("malformed webhook secret: {reason}")]
    MalformedWebhookSecret {
        /// What is wrong with it (never the secret itself).
        reason: &'static str,
    },

    // ---- webhook verification failures (bad peer input) ----
    /// A `webhook-*` header is empty, too long or not of its form.
    #[error("webhook header {name} is missing or malformed")]
    MalformedWebhookHeader {
        /// The header's name.
        name: &'static str,
    },
    /// The `webhook-timestamp` is further in the past than the tolerance (replay protection).
    #[error("webhook timestamp {timestamp_s} is more than {tolerance_s} s before now ({now_s})")]
    WebhookTimestampTooOld {
        /// The header's timestamp, seconds since the Unix epoch.
        timestamp_s: u64,
        /// The verifier's clock.
        now_s: u64,
        /// The tolerance applied.
        tolerance_s: u64,
    },
    /// The `webhook-timestamp` is further in the future than the tolerance.
    #[error("webhook timestamp {timestamp_s} is more than {tolerance_s} s after now ({now_s})")]
    WebhookTimestampTooNew {
        /// The header's timestamp, seconds since the Unix epoch.
        timestamp_s: u64,
        /// The verifier's clock.
        now_s: u64,
        /// The tolerance applied.
        tolerance_s: u64,
    },
    /// No `v1` signature in `webhook-signature` matches any of the verifier's secrets.
    #[error("no webhook signature matches")]
    WebhookSignatureMismatch,

    // ---- API misuse and configuration ----
    /// [`crate::verify`] was given no secrets.
    #[error("no webhook secret to verify with")]
    NoWebhookSecrets,
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// A retry schedule is empty, too long or has a delay out of range.
    #[error("invalid retry schedule: {reason}")]
    InvalidRetrySchedule {
        /// What is wrong.
        reason: &'static str,
    },

    // ---- policy refusals ----
    /// The delivery queue holds its maximum number of pending notifications.
    #[error("delivery queue is full ({capacity} pending notifications)")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// A notification with this id is already pending in the queue.
    #[error("notification {id} is already queued")]
    AlreadyQueued {
        /// The notification id.
        id: String,
    },
    /// A delivery state handed to [`crate::Dispatcher::restore`] is already final.
    #[error("notification {id} has a final delivery state; nothing to restore")]
    AlreadyFinal {
        /// The notification id.
        id: String,
    },

    // ---- storage ----
    /// An operating-system I/O error, with what was being done to which file.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The in-memory delivery log reached its capacity.
    #[error("delivery log is full ({capacity} records)")]
    DeliveryLogFull {
        /// The log's capacity.
        capacity: usize,
    },
    /// A line of a delivery log file is malformed, too long or fails its digest check.
    #[error("delivery log line {line}: {reason}")]
    MalformedLogLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Randomness from the operating system was unavailable.
    #[error("operating-system randomness unavailable")]
    Randomness,
    /// A blocking task (file write) did not complete.
    #[error("background task failed: {reason}")]
    Task {
        /// The join error's description.
        reason: String,
    },
}
