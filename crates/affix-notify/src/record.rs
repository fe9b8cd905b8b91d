//! Delivery records: the proof-of-notice kept for every attempt.

use serde::{Deserialize, Serialize};

use crate::model::put_str;
use crate::{Channel, Notification, NotificationId, Sha256Digest};

/// Domain-separation prefix of [`DeliveryRecord::digest`] (format version 1).
pub const DELIVERY_RECORD_DIGEST_CONTEXT: &[u8] = b"affix.dev/notify/delivery-record/v1";

/// Longest `detail` or `reason` kept in an [`Outcome`], in bytes; longer server replies
/// are cut at a character boundary.
pub const DETAIL_BYTES_MAX: usize = 1024;

/// What happened on one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The next hop acknowledged the message: the SMTP server replied 2xx to the end of
    /// the message data (it accepted responsibility for it), or the webhook endpoint
    /// replied 2xx. It says nothing about a person having read it.
    Delivered {
        /// SMTP reply code or HTTP status.
        status: u16,
        /// The server's reply text (for SMTP, e.g. `250 2.0.0 Ok: queued as 4F2A`).
        detail: String,
    },
    /// The message was written to a local outbox for a gateway to pick up (the SMS
    /// stand-in). Nothing has reached a phone yet.
    Outboxed {
        /// Where in the outbox it was written.
        detail: String,
    },
    /// The attempt failed.
    Failed {
        /// Whether trying again later may succeed (timeouts, connection errors, SMTP 4xx,
        /// HTTP 408/429/5xx); `false` for permanent refusals (SMTP 5xx, other HTTP 4xx,
        /// 3xx) and for messages this sender cannot carry.
        retryable: bool,
        /// SMTP reply code or HTTP status, if the server replied.
        status: Option<u16>,
        /// What went wrong (never secrets; server reply text at most 1 KiB).
        reason: String,
    },
}

impl Outcome {
    /// A [`Outcome::Failed`] with `reason` cut to [`DETAIL_BYTES_MAX`].
    pub fn failed(retryable: bool, status: Option<u16>, reason: impl Into<String>) -> Self {
        Self::Failed {
            retryable,
            status,
            reason: truncate_detail(reason.into()),
        }
    }

    /// A [`Outcome::Delivered`] with `detail` cut to [`DETAIL_BYTES_MAX`].
    pub fn delivered(status: u16, detail: impl Into<String>) -> Self {
        Self::Delivered {
            status,
            detail: truncate_detail(detail.into()),
        }
    }

    /// Whether this outcome ends delivery successfully (delivered or outboxed).
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Delivered { .. } | Self::Outboxed { .. })
    }

    /// Whether this is a failure worth retrying.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Failed {
                retryable: true,
                ..
            }
        )
    }
}

/// Cuts `text` to at most [`DETAIL_BYTES_MAX`] bytes at a character boundary.
pub(crate) fn truncate_detail(mut text: String) -> String {
    if text.len() > DETAIL_BYTES_MAX {
        let mut end = DETAIL_BYTES_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// One delivery attempt, as kept in the [`crate::DeliveryLog`] and as proof of notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The notification's idempotency id.
    pub notification_id: NotificationId,
    /// The channel used.
    pub channel: Channel,
    /// The e-mail address, phone number or webhook URL.
    pub recipient: String,
    /// 1 for the first attempt, then 2, 3, …
    pub attempt: u32,
    /// When the attempt started, milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// When the outcome was known, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What happened.
    pub outcome: Outcome,
    /// [`Notification::digest`] of the notification.
    pub notification_digest: Sha256Digest,
    /// SHA-256 of the exact bytes handed to the transport: the RFC 5322 message for
    /// e-mail, the HTTP body for webhooks, the outbox line for SMS. `None` when nothing
    /// was built (the message could not be carried by this channel).
    pub payload_digest: Option<Sha256Digest>,
}

impl DeliveryRecord {
    /// A record for `notification`'s attempt number `attempt`.
    pub fn new(
        notification: &Notification,
        attempt: u32,
        started_at_ms: u64,
        at_ms: u64,
        outcome: Outcome,
        payload_digest: Option<Sha256Digest>,
    ) -> Self {
        Self {
            notification_id: notification.id().clone(),
            channel: notification.channel(),
            recipient: notification.recipient().address().to_owned(),
            attempt,
            started_at_ms,
            at_ms,
            outcome,
            notification_digest: notification.digest(),
            payload_digest,
        }
    }

    /// The canonical encoding, format v1 (README, "Digest formats").
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(DELIVERY_RECORD_DIGEST_CONTEXT);
        put_str(&mut out, self.notification_id.as_str());
        out.push(self.channel.code());
        put_str(&mut out, &self.recipient);
        out.extend_from_slice(&self.attempt.to_be_bytes());
        out.extend_from_slice(&self.started_at_ms.to_be_bytes());
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        match &self.outcome {
            Outcome::Delivered { status, detail } => {
                out.push(1);
                out.extend_from_slice(&status.to_be_bytes());
                put_str(&mut out, detail);
            }
            Outcome::Outboxed { detail } => {
                out.push(2);
                put_str(&mut out, detail);
            }
            Outcome::Failed {
                retryable,
                status,
                reason,
            } => {
                out.push(3);
                out.push(u8::from(*retryable));
                out.push(u8::from(status.is_some()));
                out.extend_from_slice(&status.unwrap_or(0).to_be_bytes());
                put_str(&mut out, reason);
            }
        }
        out.extend_from_slice(&self.notification_digest.0);
        out.push(u8::from(self.payload_digest.is_some()));
        out.extend_from_slice(&self.payload_digest.map_or([0u8; 32], |d| d.0));
        out
    }

    /// SHA-256 of [`Self::canonical_bytes`]: the value the platform puts into the
    /// evidence ledger as proof of this attempt.
    pub fn digest(&self) -> Sha256Digest {
        Sha256Digest::of(&self.canonical_bytes())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{EmailAddress, EventType, Recipient};

    pub(crate) fn fixture_notification() -> Notification {
        Notification::new(
            NotificationId::parse("msg_00112233445566778899aabbccddeeff").unwrap(),
            Recipient::Email(EmailAddress::parse("borrower@example.com").unwrap()),
            EventType::parse("loan.repayment_due").unwrap(),
            "还款提醒",
            "您的借款将于 2026-07-01 到期。",
            1_782_000_000_000,
        )
        .unwrap()
    }

    /// Pins format v1 of both digests. A change here is a format change: bump the
    /// version in the context strings instead of updating these values.
    #[test]
    fn digest_formats_are_frozen() {
        let n = fixture_notification();
        let record = DeliveryRecord::new(
            &n,
            2,
            1_782_000_005_000,
            1_782_000_005_120,
            Outcome::delivered(250, "250 2.0.0 Ok: queued as 4F2A"),
            Some(Sha256Digest::of(b"payload")),
        );
        assert_eq!(
            n.digest().to_string(),
            "2f113fde04451edb2e03f07c2beb21cbb4108ad2d534774aabbe513a5afdcfb6"
        );
        assert_eq!(
            record.digest().to_string(),
            "d6d64b5512130025e1981e13ded6a3abbff8da50b9ae2978759a7fd6aede5572"
        );
    }

    #[test]
    fn every_field_changes_the_digest() {
        let n = fixture_notification();
        let base = DeliveryRecord::new(&n, 1, 10, 20, Outcome::failed(true, None, "timeout"), None);
        let mut variants = Vec::new();
        let mut r = base.clone();
        r.attempt = 2;
        variants.push(r);
        let mut r = base.clone();
        r.at_ms = 21;
        variants.push(r);
        let mut r = base.clone();
        r.outcome = Outcome::failed(false, None, "timeout");
        variants.push(r);
        let mut r = base.clone();
        r.outcome = Outcome::failed(true, Some(0), "timeout");
        variants.push(r);
        let mut r = base.clone();
        r.payload_digest = Some(Sha256Digest([0; 32]));
        variants.push(r);
        let mut r = base.clone();
        r.recipient.push('x');
        variants.push(r);
        for v in variants {
            assert_ne!(v.digest(), base.digest(), "{v:?}");
        }
    }

    #[test]
    fn long_details_are_cut_at_a_char_boundary() {
        let Outcome::Delivered { detail, .. } = Outcome::delivered(250, "还".repeat(1000)) else {
            unreachable!()
        };
        assert!(detail.len() <= DETAIL_BYTES_MAX);
        assert_eq!(detail.len() % 3, 0);
    }

    #[test]
    fn records_round_trip_through_json() {
        let n = fixture_notification();
        let r = DeliveryRecord::new(&n, 1, 1, 2, Outcome::Outboxed { detail: "x".into() }, None);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<DeliveryRecord>(&json).unwrap(), r);
    }
}
