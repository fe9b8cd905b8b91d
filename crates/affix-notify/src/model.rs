//! The message model: who is notified, of what, through which channel.

use std::fmt;
use std::str::FromStr as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::Error;

/// Longest [`NotificationId`], in characters.
pub const NOTIFICATION_ID_CHARS_MAX: usize = 128;
/// Largest message body, in bytes (64 KiB).
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// Longest subject, in bytes.
pub const SUBJECT_BYTES_MAX: usize = 512;
/// Longest event type, in bytes.
pub const EVENT_TYPE_BYTES_MAX: usize = 128;
/// Longest e-mail address, in bytes (RFC 5321 path limit minus the angle brackets).
pub const EMAIL_ADDRESS_BYTES_MAX: usize = 254;
/// Longest webhook endpoint URL, in bytes.
pub const WEBHOOK_URL_BYTES_MAX: usize = 2048;

/// Domain-separation prefix of [`Notification::digest`] (format version 1).
pub const NOTIFICATION_DIGEST_CONTEXT: &[u8] = b"affix.dev/notify/notification/v1";

/// A SHA-256 digest; prints and serializes as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// The caller-chosen idempotency id of a notification: 1 to 128 characters of
/// `[A-Za-z0-9_-]`. It is the Standard Webhooks `webhook-id` (the same on every retry) and
/// the key of the delivery queue. It cannot contain `.`, so it cannot shift the fields of
/// the signed `{id}.{timestamp}.{body}` string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NotificationId(String);

impl NotificationId {
    /// Parses an id.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let ok = !text.is_empty()
            && text.len() <= NOTIFICATION_ID_CHARS_MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::InvalidNotificationId {
                max_chars: NOTIFICATION_ID_CHARS_MAX,
            })
        }
    }

    /// A fresh id: `msg_` and 16 random bytes in hex, from the operating system's generator.
    pub fn random() -> Result<Self, Error> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| Error::Randomness)?;
        Ok(Self(format!("msg_{}", hex::encode(bytes))))
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NotificationId {
    type Error = Error;
    fn try_from(text: String) -> Result<Self, Error> {
        Self::parse(&text)
    }
}

impl From<NotificationId> for String {
    fn from(id: NotificationId) -> String {
        id.0
    }
}

impl fmt::Display for NotificationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NotificationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NotificationId({})", self.0)
    }
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The value's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(text: String) -> Result<Self, Error> {
                Self::parse(&text)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// An e-mail address (`local@domain`), checked by lettre's RFC 5321 parser, at most
/// 254 bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > EMAIL_ADDRESS_BYTES_MAX || text.chars().any(char::is_control) {
            return Err(Error::InvalidEmailAddress);
        }
        lettre::Address::from_str(text).map_err(|_| Error::InvalidEmailAddress)?;
        Ok(Self(text.to_owned()))
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}
string_newtype!(EmailAddress);

/// A mobile phone number in E.164 form: `+`, then 7 to 15 digits, the first not `0`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number such as `+8613800138000`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let digits = text.strip_prefix('+').ok_or(Error::InvalidPhoneNumber)?;
        let ok = (7..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::InvalidPhoneNumber)
        }
    }
}
string_newtype!(PhoneNumber);

/// A webhook endpoint: an absolute `https` (or, for local use, `http`) URL with a host,
/// no user name or password and no fragment, at most 2048 bytes. Whether plain `http` is
/// actually used is decided by [`crate::WebhookSenderConfig`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookEndpoint(String);

impl WebhookEndpoint {
    /// Parses an endpoint URL.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let refuse = |reason| Err(Error::InvalidWebhookEndpoint { reason });
        if text.len() > WEBHOOK_URL_BYTES_MAX {
            return refuse("longer than 2048 bytes");
        }
        let Ok(url) = reqwest::Url::parse(text) else {
            return refuse("not an absolute URL");
        };
        if url.scheme() != "https" && url.scheme() != "http" {
            return refuse("scheme is neither https nor http");
        }
        if url.host_str().is_none_or(str::is_empty) {
            return refuse("no host");
        }
        if !url.username().is_empty() || url.password().is_some() {
            return refuse("credentials in the URL (they would end up in delivery records)");
        }
        if url.fragment().is_some() {
            return refuse("URL has a fragment");
        }
        Ok(Self(url.into()))
    }

    /// Whether the URL uses plain `http`.
    pub fn is_plain_http(&self) -> bool {
        self.0.starts_with("http:")
    }
}
string_newtype!(WebhookEndpoint);

/// The delivery channel of a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Channel {
    /// E-mail over SMTP.
    Email,
    /// A text message (through an [`crate::SmsSender`]).
    Sms,
    /// A Standard Webhooks HTTP POST.
    Webhook,
}

impl Channel {
    /// The channel's name: `email`, `sms` or `webhook`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Webhook => "webhook",
        }
    }

    /// The channel's byte in the digest encodings (README, "Digest formats").
    pub fn code(self) -> u8 {
        match self {
            Self::Email => 1,
            Self::Sms => 2,
            Self::Webhook => 3,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who receives a notification, and through which channel.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "channel", content = "address", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Recipient {
    /// An e-mail address.
    Email(EmailAddress),
    /// A mobile number.
    Sms(PhoneNumber),
    /// A webhook endpoint.
    Webhook(WebhookEndpoint),
}

impl Recipient {
    /// The channel.
    pub fn channel(&self) -> Channel {
        match self {
            Self::Email(_) => Channel::Email,
            Self::Sms(_) => Channel::Sms,
            Self::Webhook(_) => Channel::Webhook,
        }
    }

    /// The address, number or URL.
    pub fn address(&self) -> &str {
        match self {
            Self::Email(a) => a.as_str(),
            Self::Sms(n) => n.as_str(),
            Self::Webhook(e) => e.as_str(),
        }
    }
}

/// An event type such as `loan.repayment_due`: full-stop delimited identifiers of
/// `[A-Za-z0-9_]` (the Standard Webhooks recommendation), at most 128 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventType(String);

impl EventType {
    /// Parses an event type.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let ok = text.len() <= EVENT_TYPE_BYTES_MAX
            && text.split('.').all(|part| {
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::InvalidEventType {
                max_bytes: EVENT_TYPE_BYTES_MAX,
            })
        }
    }
}
string_newtype!(EventType);

/// A notification to deliver. Build it with [`Notification::new`]; every field is checked
/// there (and again when deserialized), so a `Notification` value is always within limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "NotificationFields", into = "NotificationFields")]
pub struct Notification {
    id: NotificationId,
    recipient: Recipient,
    event_type: EventType,
    subject: String,
    body: String,
    created_at_ms: u64,
}

impl Notification {
    /// Checks and assembles a notification. `subject` is one line of at most 512 bytes
    /// without control characters; `body` is plain text of at most 64 KiB;
    /// `created_at_ms` is when the event occurred (milliseconds since the Unix epoch).
    pub fn new(
        id: NotificationId,
        recipient: Recipient,
        event_type: EventType,
        subject: &str,
        body: &str,
        created_at_ms: u64,
    ) -> Result<Self, Error> {
        if subject.len() > SUBJECT_BYTES_MAX || subject.chars().any(char::is_control) {
            return Err(Error::InvalidSubject {
                max_bytes: SUBJECT_BYTES_MAX,
            });
        }
        if body.len() > BODY_BYTES_MAX {
            return Err(Error::BodyTooLarge {
                len_bytes: body.len(),
                max_bytes: BODY_BYTES_MAX,
            });
        }
        Ok(Self {
            id,
            recipient,
            event_type,
            subject: subject.to_owned(),
            body: body.to_owned(),
            created_at_ms,
        })
    }

    /// The idempotency id.
    pub fn id(&self) -> &NotificationId {
        &self.id
    }

    /// The recipient.
    pub fn recipient(&self) -> &Recipient {
        &self.recipient
    }

    /// The channel.
    pub fn channel(&self) -> Channel {
        self.recipient.channel()
    }

    /// The event type.
    pub fn event_type(&self) -> &EventType {
        &self.event_type
    }

    /// The subject line.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The plain-text body.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// When the event occurred, milliseconds since the Unix epoch.
    pub fn created_at_ms(&self) -> u64 {
        self.created_at_ms
    }

    /// SHA-256 over the notification's canonical encoding, format v1 (README, "Digest
    /// formats"). Every [`crate::DeliveryRecord`] carries it, linking the proof of
    /// delivery to the exact text that was to be sent.
    pub fn digest(&self) -> Sha256Digest {
        let mut out = Vec::with_capacity(128 + self.body.len());
        out.extend_from_slice(NOTIFICATION_DIGEST_CONTEXT);
        put_str(&mut out, self.id.as_str());
        out.push(self.channel().code());
        put_str(&mut out, self.recipient.address());
        put_str(&mut out, self.event_type.as_str());
        out.extend_from_slice(&self.created_at_ms.to_be_bytes());
        put_str(&mut out, &self.subject);
        put_str(&mut out, &self.body);
        Sha256Digest::of(&out)
    }
}

/// The serialized form of [`Notification`], checked on the way in.
#[derive(Serialize, Deserialize)]
struct NotificationFields {
    id: NotificationId,
    recipient: Recipient,
    event_type: EventType,
    subject: String,
    body: String,
    created_at_ms: u64,
}

impl TryFrom<NotificationFields> for Notification {
    type Error = Error;
    fn try_from(f: NotificationFields) -> Result<Self, Error> {
        Notification::new(
            f.id,
            f.recipient,
            f.event_type,
            &f.subject,
            &f.body,
            f.created_at_ms,
        )
    }
}

impl From<Notification> for NotificationFields {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            recipient: n.recipient,
            event_type: n.event_type,
            subject: n.subject,
            body: n.body,
            created_at_ms: n.created_at_ms,
        }
    }
}

/// Appends `u32` big-endian length, then the UTF-8 bytes. Every string in the digest
/// encodings is bounded far below 4 GiB (the largest is the 64 KiB body, or a server
/// reply truncated to [`crate::DETAIL_BYTES_MAX`]); a longer one would saturate the
/// length, which cannot happen for values built through this crate.
pub(crate) fn put_str(out: &mut Vec<u8>, text: &str) {
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_dots_and_empty() {
        assert!(NotificationId::parse("msg_0123abcd-EF").is_ok());
        for bad in ["", "a.b", "a b", "ä", &"x".repeat(129)] {
            assert!(NotificationId::parse(bad).is_err(), "{bad:?}");
        }
        let random = NotificationId::random().unwrap();
        assert_eq!(random.as_str().len(), 4 + 32);
    }

    #[test]
    fn phone_numbers_are_e164() {
        assert!(PhoneNumber::parse("+8613800138000").is_ok());
        for bad in [
            "8613800138000",
            "+0123456789",
            "+12",
            "+1234567890123456",
            "+86 138",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_addresses_and_endpoints_are_checked() {
        assert_eq!(
            EmailAddress::parse("li.lei@example.cn").unwrap().domain(),
            "example.cn"
        );
        assert!(EmailAddress::parse("no-at-sign").is_err());
        assert!(EmailAddress::parse("a@b\r\nRCPT TO:<x@y>").is_err());
        assert!(WebhookEndpoint::parse("https://hooks.example.com/affix").is_ok());
        for bad in [
            "ftp://x/",
            "https://user:pw@x/",
            "https://x/#frag",
            "/relative",
            "mailto:a@b",
        ] {
            assert!(WebhookEndpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn event_types_and_subjects() {
        assert!(EventType::parse("loan.repayment_due").is_ok());
        for bad in ["", ".a", "a.", "a..b", "a-b"] {
            assert!(EventType::parse(bad).is_err(), "{bad}");
        }
        let n = |subject: &str, body: &str| {
            Notification::new(
                NotificationId::parse("n1").unwrap(),
                Recipient::Sms(PhoneNumber::parse("+8613800138000").unwrap()),
                EventType::parse("a").unwrap(),
                subject,
                body,
                0,
            )
        };
        assert!(n("还款提醒", "ok").is_ok());
        assert!(matches!(
            n("a\r\nBcc: x@y", ""),
            Err(Error::InvalidSubject { .. })
        ));
        assert!(matches!(
            n("s", &"x".repeat(BODY_BYTES_MAX + 1)),
            Err(Error::BodyTooLarge { .. })
        ));
    }

    #[test]
    fn notifications_round_trip_through_json_and_are_checked_on_the_way_in() {
        let n = Notification::new(
            NotificationId::parse("n1").unwrap(),
            Recipient::Email(EmailAddress::parse("a@example.com").unwrap()),
            EventType::parse("loan.repayment_due").unwrap(),
            "还款提醒",
            "body",
            7,
        )
        .unwrap();
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(serde_json::from_str::<Notification>(&json).unwrap(), n);
        let bad = json.replace("还款提醒", "a\\nb");
        assert!(serde_json::from_str::<Notification>(&bad).is_err());
    }
}
