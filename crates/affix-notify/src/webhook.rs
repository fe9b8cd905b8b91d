//! Standard Webhooks: secrets, signing and verification (pure), and [`WebhookSender`]
//! (HTTP delivery with reqwest).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{
    Clock, DeliveryRecord, Error, Notification, Notifier, Outcome, Recipient, Sha256Digest,
    WebhookEndpoint,
};

/// Prefix of a serialized webhook secret.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";
/// Shortest webhook secret accepted, in bytes (the spec's minimum).
pub const WEBHOOK_SECRET_BYTES_MIN: usize = 24;
/// Longest webhook secret accepted, in bytes (512 bits).
pub const WEBHOOK_SECRET_BYTES_MAX: usize = 64;
/// How far a `webhook-timestamp` may be from the verifier's clock (5 minutes).
pub const WEBHOOK_TOLERANCE_S: u64 = 300;
/// Longest `webhook-id` header accepted by [`verify`].
pub const WEBHOOK_ID_BYTES_MAX: usize = 256;
/// Longest `webhook-signature` header accepted by [`verify`].
pub const WEBHOOK_SIGNATURE_HEADER_BYTES_MAX: usize = 4096;
/// Most signatures in one `webhook-signature` header accepted by [`verify`].
pub const WEBHOOK_SIGNATURES_MAX: usize = 16;

/// A Standard Webhooks symmetric signing secret (24 to 64 bytes), serialized as
/// `whsec_` + base64. Zeroized on drop, `[REDACTED]` in `Debug`, not serializable.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl WebhookSecret {
    /// Parses `whsec_<base64>` (the prefix may be left out, as the official libraries
    /// allow; padding is optional).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let encoded = text.strip_prefix(WEBHOOK_SECRET_PREFIX).unwrap_or(text);
        if encoded.len() > 4 * WEBHOOK_SECRET_BYTES_MAX {
            return Err(Error::MalformedWebhookSecret { reason: "too long" });
        }
        let bytes = Zeroizing::new(
            STANDARD
                .decode(encoded)
                .or_else(|_| STANDARD_NO_PAD.decode(encoded))
                .map_err(|_| Error::MalformedWebhookSecret {
                    reason: "not base64",
                })?,
        );
        Self::from_bytes(&bytes)
    }

    /// A secret from raw bytes (24 to 64).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if !(WEBHOOK_SECRET_BYTES_MIN..=WEBHOOK_SECRET_BYTES_MAX).contains(&bytes.len()) {
            return Err(Error::MalformedWebhookSecret {
                reason: "must be 24 to 64 bytes",
            });
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// A fresh 32-byte secret from the operating system's generator.
    pub fn generate() -> Result<Self, Error> {
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        getrandom::fill(&mut bytes).map_err(|_| Error::Randomness)?;
        Ok(Self(bytes))
    }

    /// The `whsec_…` form, to hand to the endpoint's owner once.
    pub fn expose_whsec(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{WEBHOOK_SECRET_PREFIX}{}",
            STANDARD.encode(&*self.0)
        ))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // An HMAC key may have any length; `new_from_slice` cannot fail for HMAC.
        Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}

fn signed_mac(secret: &WebhookSecret, id: &str, timestamp_s: u64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = secret.mac();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `v1,<base64 HMAC-SHA256>` signature of `{id}.{timestamp_s}.{body}`.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp_s: u64, body: &[u8]) -> String {
    let tag = signed_mac(secret, id, timestamp_s, body)
        .finalize()
        .into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

/// The `webhook-signature` header value: one signature per secret, space-separated (send
/// the current and the previous secret while rotating).
pub fn sign_all(secrets: &[WebhookSecret], id: &str, timestamp_s: u64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| sign(s, id, timestamp_s, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The three Standard Webhooks headers of a received request, as text.
#[derive(Clone, Copy, Debug)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp` (integer seconds since the Unix epoch).
    pub timestamp: &'a str,
    /// `webhook-signature` (space-separated `version,base64` entries).
    pub signature: &'a str,
}

/// A webhook whose signature and timestamp [`verify`] accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedWebhook {
    /// The `webhook-id` (use it to drop duplicates).
    pub id: String,
    /// The `webhook-timestamp`, seconds since the Unix epoch.
    pub timestamp_s: u64,
}

/// Verifies a received webhook: the timestamp must be within [`WEBHOOK_TOLERANCE_S`] of
/// `now_s`, and one `v1` signature in the header must be the HMAC of
/// `{id}.{timestamp}.{body}` under one of `secrets` (compared in constant time). Entries of
/// other versions (such as `v1a`) are skipped.
pub fn verify(
    secrets: &[WebhookSecret],
    headers: &WebhookHeaders<'_>,
    body: &[u8],
    now_s: u64,
) -> Result<VerifiedWebhook, Error> {
    if secrets.is_empty() {
        return Err(Error::NoWebhookSecrets);
    }
    let malformed = |name| Error::MalformedWebhookHeader { name };
    if headers.id.is_empty() || headers.id.len() > WEBHOOK_ID_BYTES_MAX {
        return Err(malformed("webhook-id"));
    }
    let timestamp = headers.timestamp;
    if timestamp.is_empty()
        || timestamp.len() > 20
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(malformed("webhook-timestamp"));
    }
    let timestamp_s: u64 = timestamp
        .parse()
        .map_err(|_| malformed("webhook-timestamp"))?;
    if timestamp_s < now_s.saturating_sub(WEBHOOK_TOLERANCE_S) {
        return Err(Error::WebhookTimestampTooOld {
            timestamp_s,
            now_s,
            tolerance_s: WEBHOOK_TOLERANCE_S,
        });
    }
    if timestamp_s > now_s.saturating_add(WEBHOOK_TOLERANCE_S) {
        return Err(Error::WebhookTimestampTooNew {
            timestamp_s,
            now_s,
            tolerance_s: WEBHOOK_TOLERANCE_S,
        });
    }
    if headers.signature.is_empty() || headers.signature.len() > WEBHOOK_SIGNATURE_HEADER_BYTES_MAX
    {
        return Err(malformed("webhook-signature"));
    }
    let entries: Vec<&str> = headers.signature.split(' ').collect();
    if entries.len() > WEBHOOK_SIGNATURES_MAX {
        return Err(malformed("webhook-signature"));
    }
    // The signed string uses the timestamp as parsed: a header such as "0123" is refused
    // above only if it is not digits; leading zeros would sign a different string, so
    // sign exactly what was received.
    let macs: Vec<Hmac<Sha256>> = secrets
        .iter()
        .map(|s| {
            let mut mac = s.mac();
            mac.update(headers.id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            mac
        })
        .collect();
    for entry in entries {
        let Some((version, encoded)) = entry.split_once(',') else {
            return Err(malformed("webhook-signature"));
        };
        if version != "v1" {
            continue;
        }
        let Ok(tag) = STANDARD.decode(encoded) else {
            continue;
        };
        if macs
            .iter()
            .any(|mac| mac.clone().verify_slice(&tag).is_ok())
        {
            return Ok(VerifiedWebhook {
                id: headers.id.to_owned(),
                timestamp_s,
            });
        }
    }
    Err(Error::WebhookSignatureMismatch)
}

/// The JSON body sent for a notification, in the Standard Webhooks payload shape:
/// `{"type":…,"timestamp":RFC 3339 event time,"data":{"id","subject","text"}}`, minified,
/// fields in that order.
pub fn webhook_payload(notification: &Notification) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Data<'a> {
        id: &'a str,
        subject: &'a str,
        text: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Payload<'a> {
        r#type: &'a str,
        timestamp: String,
        data: Data<'a>,
    }
    let payload = Payload {
        r#type: notification.event_type().as_str(),
        timestamp: rfc3339_utc_ms(notification.created_at_ms()),
        data: Data {
            id: notification.id().as_str(),
            subject: notification.subject(),
            text: notification.body(),
        },
    };
    // Serializing plain strings into a Vec cannot fail.
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn rfc3339_utc_ms(ms: u64) -> String {
    affix_time::UnixMillis(ms).to_rfc3339()
}

/// Where [`WebhookSender`] finds the signing secrets of an endpoint. The first secret is
/// the current one; further ones are previous secrets still signed with during rotation.
pub trait WebhookKeys: Send + Sync {
    /// The secrets for `endpoint`; empty if none is configured.
    fn signing_secrets(&self, endpoint: &WebhookEndpoint) -> Vec<WebhookSecret>;
}

/// The same secrets for every endpoint.
impl WebhookKeys for Vec<WebhookSecret> {
    fn signing_secrets(&self, _endpoint: &WebhookEndpoint) -> Vec<WebhookSecret> {
        self.clone()
    }
}

/// One set of secrets per endpoint (the spec recommends a unique secret per endpoint).
impl WebhookKeys for BTreeMap<WebhookEndpoint, Vec<WebhookSecret>> {
    fn signing_secrets(&self, endpoint: &WebhookEndpoint) -> Vec<WebhookSecret> {
        self.get(endpoint).cloned().unwrap_or_default()
    }
}

/// Configuration of a [`WebhookSender`].
#[derive(Clone, Debug)]
pub struct WebhookSenderConfig {
    /// Whole-request timeout (the spec recommends 15 to 30 s).
    pub timeout_ms: u64,
    /// Allow plain `http` endpoints. Off by default: payloads carry message text. Turn
    /// on for loopback tests only.
    pub dangerous_allow_plain_http: bool,
}

impl Default for WebhookSenderConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 20_000,
            dangerous_allow_plain_http: false,
        }
    }
}

/// Delivers [`Recipient::Webhook`] notifications as signed Standard Webhooks POSTs.
///
/// `2xx` is [`Outcome::Delivered`]; `408`, `429` and `5xx`, timeouts and connection
/// errors are retryable failures; `3xx` (redirects are not followed), `410` and other
/// `4xx` are permanent failures. The `webhook-id` is the notification id (the same on
/// every retry); the `webhook-timestamp` is the attempt's time from the injected clock.
pub struct WebhookSender {
    client: reqwest::Client,
    keys: Arc<dyn WebhookKeys>,
    clock: Arc<dyn Clock>,
    config: WebhookSenderConfig,
}

impl WebhookSender {
    /// A sender with its own HTTP client (rustls, no redirects, no proxy from the
    /// environment).
    pub fn new(
        keys: Arc<dyn WebhookKeys>,
        clock: Arc<dyn Clock>,
        config: WebhookSenderConfig,
    ) -> Result<Self, Error> {
        if config.timeout_ms == 0 || config.timeout_ms > 300_000 {
            return Err(Error::InvalidConfig {
                reason: "webhook timeout must be 1 ms to 300 s".into(),
            });
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("affix-notify/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::InvalidConfig {
                reason: format!("HTTP client: {}", e.without_url()),
            })?;
        Ok(Self {
            client,
            keys,
            clock,
            config,
        })
    }

    /// Makes attempt number `attempt` to deliver `notification`.
    pub async fn deliver(&self, notification: &Notification, attempt: u32) -> DeliveryRecord {
        let started_at_ms = self.clock.now_ms();
        let (outcome, payload_digest) = self.attempt(notification, started_at_ms).await;
        if let Outcome::Failed {
            retryable, status, ..
        } = &outcome
        {
            tracing::info!(
                id = notification.id().as_str(),
                attempt,
                retryable,
                status,
                "webhook delivery failed"
            );
        }
        DeliveryRecord::new(
            notification,
            attempt,
            started_at_ms,
            self.clock.now_ms(),
            outcome,
            payload_digest,
        )
    }

    async fn attempt(
        &self,
        notification: &Notification,
        started_at_ms: u64,
    ) -> (Outcome, Option<Sha256Digest>) {
        let Recipient::Webhook(endpoint) = notification.recipient() else {
            return (
                Outcome::failed(false, None, "not a webhook recipient"),
                None,
            );
        };
        if endpoint.is_plain_http() && !self.config.dangerous_allow_plain_http {
            return (
                Outcome::failed(false, None, "plain http endpoint refused (https required)"),
                None,
            );
        }
        let secrets = self.keys.signing_secrets(endpoint);
        if secrets.is_empty() {
            return (
                Outcome::failed(false, None, "no signing secret configured for endpoint"),
                None,
            );
        }
        let body = webhook_payload(notification);
        let digest = Sha256Digest::of(&body);
        let timestamp_s = started_at_ms / 1000;
        let id = notification.id().as_str();
        let signature = sign_all(&secrets, id, timestamp_s, &body);
        let response = self
            .client
            .post(endpoint.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp_s.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let outcome = match response {
            Ok(response) => classify_status(response.status()),
            Err(e) if e.is_timeout() => Outcome::failed(
                true,
                None,
                format!("timed out after {} ms", self.config.timeout_ms),
            ),
            Err(e) if e.is_connect() => Outcome::failed(
                true,
                None,
                format!("connection failed: {}", error_chain(&e.without_url())),
            ),
            Err(e) => Outcome::failed(true, None, error_chain(&e.without_url())),
        };
        (outcome, Some(digest))
    }
}

fn classify_status(status: reqwest::StatusCode) -> Outcome {
    let code = status.as_u16();
    let text = format!("HTTP {status}");
    if status.is_success() {
        Outcome::delivered(code, text)
    } else if status.is_server_error() || code == 408 || code == 429 {
        Outcome::failed(true, Some(code), text)
    } else {
        Outcome::failed(false, Some(code), text)
    }
}

/// An error and its sources, `: `-joined.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

impl Notifier for WebhookSender {
    fn send<'a>(
        &'a self,
        notification: &'a Notification,
        attempt: u32,
    ) -> Pin<Box<dyn Future<Output = DeliveryRecord> + Send + 'a>> {
        Box::pin(self.deliver(notification, attempt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector from the Standard Webhooks reference libraries' tests
    /// (`libraries/go/webhook_test.go`, `TestWebhookSign`).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP_S: u64 = 1_614_265_330;
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn spec_secret() -> WebhookSecret {
        WebhookSecret::parse(SPEC_SECRET).unwrap()
    }

    fn headers(signature: &str) -> WebhookHeaders<'_> {
        WebhookHeaders {
            id: SPEC_ID,
            timestamp: "1614265330",
            signature,
        }
    }

    #[test]
    fn signs_the_spec_vector() {
        assert_eq!(
            sign(&spec_secret(), SPEC_ID, SPEC_TIMESTAMP_S, SPEC_BODY),
            SPEC_SIGNATURE
        );
        // Without the prefix too, as the reference libraries accept.
        let bare = WebhookSecret::parse(&SPEC_SECRET[6..]).unwrap();
        assert_eq!(
            sign(&bare, SPEC_ID, SPEC_TIMESTAMP_S, SPEC_BODY),
            SPEC_SIGNATURE
        );
        assert_eq!(*spec_secret().expose_whsec(), SPEC_SECRET);
    }

    #[test]
    fn verifies_the_spec_vector_within_tolerance() {
        let s = [spec_secret()];
        let ok = verify(&s, &headers(SPEC_SIGNATURE), SPEC_BODY, SPEC_TIMESTAMP_S).unwrap();
        assert_eq!(ok.id, SPEC_ID);
        assert_eq!(ok.timestamp_s, SPEC_TIMESTAMP_S);
        for now in [SPEC_TIMESTAMP_S - 300, SPEC_TIMESTAMP_S + 300] {
            assert!(verify(&s, &headers(SPEC_SIGNATURE), SPEC_BODY, now).is_ok());
        }
        assert!(matches!(
            verify(
                &s,
                &headers(SPEC_SIGNATURE),
                SPEC_BODY,
                SPEC_TIMESTAMP_S + 301
            ),
            Err(Error::WebhookTimestampTooOld { .. })
        ));
        assert!(matches!(
            verify(
                &s,
                &headers(SPEC_SIGNATURE),
                SPEC_BODY,
                SPEC_TIMESTAMP_S - 301
            ),
            Err(Error::WebhookTimestampTooNew { .. })
        ));
    }

    #[test]
    fn verification_errors_are_distinct() {
        let s = [spec_secret()];
        let now = SPEC_TIMESTAMP_S;
        let wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
        assert!(matches!(
            verify(&s, &headers(wrong), SPEC_BODY, now),
            Err(Error::WebhookSignatureMismatch)
        ));
        assert!(matches!(
            verify(&s, &headers(SPEC_SIGNATURE), b"{\"test\": 2432232315}", now),
            Err(Error::WebhookSignatureMismatch)
        ));
        assert!(matches!(
            verify(&[], &headers(SPEC_SIGNATURE), SPEC_BODY, now),
            Err(Error::NoWebhookSecrets)
        ));
        for (id, ts, sig, name) in [
            ("", "1614265330", SPEC_SIGNATURE, "webhook-id"),
            (SPEC_ID, "", SPEC_SIGNATURE, "webhook-timestamp"),
            (SPEC_ID, "1614265330.5", SPEC_SIGNATURE, "webhook-timestamp"),
            (SPEC_ID, "-1", SPEC_SIGNATURE, "webhook-timestamp"),
            (SPEC_ID, "1614265330", "", "webhook-signature"),
            (SPEC_ID, "1614265330", "v1", "webhook-signature"),
        ] {
            let h = WebhookHeaders {
                id,
                timestamp: ts,
                signature: sig,
            };
            match verify(&s, &h, SPEC_BODY, now) {
                Err(Error::MalformedWebhookHeader { name: n }) => assert_eq!(n, name),
                other => panic!("{id:?} {ts:?} {sig:?}: {other:?}"),
            }
        }
        let many = vec![SPEC_SIGNATURE; WEBHOOK_SIGNATURES_MAX + 1].join(" ");
        assert!(verify(&s, &headers(&many), SPEC_BODY, now).is_err());
    }

    #[test]
    fn rotation_signs_with_every_secret_and_verifies_with_any() {
        let old = spec_secret();
        let new = WebhookSecret::generate().unwrap();
        let header = sign_all(
            &[new.clone(), old.clone()],
            SPEC_ID,
            SPEC_TIMESTAMP_S,
            SPEC_BODY,
        );
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.ends_with(SPEC_SIGNATURE));
        for secrets in [vec![old], vec![new]] {
            verify(&secrets, &headers(&header), SPEC_BODY, SPEC_TIMESTAMP_S).unwrap();
        }
        // Unknown versions (v1a: asymmetric) are skipped, not fatal.
        let mixed = format!("v1a,AAAA {SPEC_SIGNATURE}");
        verify(
            &[spec_secret()],
            &headers(&mixed),
            SPEC_BODY,
            SPEC_TIMESTAMP_S,
        )
        .unwrap();
    }

    #[test]
    fn secrets_are_checked_and_redacted() {
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").is_err()); // 5 bytes
        assert!(WebhookSecret::parse("whsec_!!!").is_err());
        let s = WebhookSecret::generate().unwrap();
        assert_eq!(format!("{s:?}"), "WebhookSecret([REDACTED])");
        let again = WebhookSecret::parse(&s.expose_whsec()).unwrap();
        assert_eq!(sign(&s, "a", 1, b""), sign(&again, "a", 1, b""));
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339_utc_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            rfc3339_utc_ms(1_614_265_330_123),
            "2021-02-25T15:02:10.123Z"
        );
    }

    #[test]
    fn status_classes() {
        use reqwest::StatusCode as S;
        assert!(classify_status(S::NO_CONTENT).is_success());
        for retryable in [408, 429, 500, 502, 503, 504] {
            assert!(classify_status(S::from_u16(retryable).unwrap()).is_retryable());
        }
        for permanent in [301, 400, 401, 404, 410] {
            let o = classify_status(S::from_u16(permanent).unwrap());
            assert!(!o.is_retryable() && !o.is_success());
        }
    }
}
