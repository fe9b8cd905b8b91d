//! E-mail over SMTP with lettre (async, tokio, rustls).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};
use zeroize::Zeroizing;

use crate::webhook::error_chain;
use crate::{
    Clock, DeliveryRecord, EmailAddress, Error, Notification, Notifier, Outcome, Recipient,
    Sha256Digest,
};

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmtpTls {
    /// Plain SMTP, no TLS: message text and credentials cross the network in the clear.
    /// For a relay on loopback (and tests) only.
    DangerousPlaintext,
    /// Connect in plain text, then require `STARTTLS` (submission port 587).
    StartTls,
    /// TLS from the first byte (implicit TLS, port 465).
    Tls,
}

/// An SMTP password: zeroized on drop, `[REDACTED]` in `Debug`, not serializable.
#[derive(Clone)]
pub struct SmtpPassword(Zeroizing<String>);

impl SmtpPassword {
    /// Wraps a password.
    pub fn new(password: String) -> Self {
        Self(Zeroizing::new(password))
    }
}

impl fmt::Debug for SmtpPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmtpPassword([REDACTED])")
    }
}

/// SMTP AUTH credentials.
#[derive(Clone, Debug)]
pub struct SmtpCredentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: SmtpPassword,
}

/// Configuration of an [`SmtpMailer`].
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    /// The relay's host name (also the name checked in its TLS certificate).
    pub host: String,
    /// The relay's port (25, 465, 587, …).
    pub port: u16,
    /// Connection protection.
    pub tls: SmtpTls,
    /// AUTH credentials, if the relay requires them. Refused with
    /// [`SmtpTls::DangerousPlaintext`] unless the host is loopback.
    pub credentials: Option<SmtpCredentials>,
    /// The `From` address (also the envelope sender).
    pub from: EmailAddress,
    /// The `From` display name, e.g. `Affix`.
    pub from_name: Option<String>,
    /// Timeout of each SMTP command and of the whole attempt.
    pub timeout_ms: u64,
}

/// Sends [`Recipient::Email`] notifications through an SMTP relay.
///
/// A `2xx` reply to the end of the message data is [`Outcome::Delivered`] with the reply
/// (e.g. `250 2.0.0 Ok: queued as 4F2A`); `5xx` replies are permanent failures; `4xx`
/// replies, timeouts, connection and TLS errors are retryable. One connection per
/// message. The message is `text/plain; charset=utf-8`, its `Message-ID` is
/// `<notification id@from domain>` (the same on every retry) and its `Date` comes from the
/// injected clock.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    from_domain: String,
    clock: Arc<dyn Clock>,
    timeout_ms: u64,
}

impl SmtpMailer {
    /// Builds the transport (connects only when sending).
    pub fn new(config: SmtpConfig, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidConfig {
            reason: reason.to_owned(),
        };
        if config.timeout_ms == 0 || config.timeout_ms > 600_000 {
            return Err(invalid("SMTP timeout must be 1 ms to 600 s"));
        }
        if config.host.is_empty() || config.host.len() > 253 {
            return Err(invalid("SMTP host must be 1 to 253 bytes"));
        }
        let loopback = matches!(config.host.as_str(), "localhost" | "127.0.0.1" | "::1");
        if config.tls == SmtpTls::DangerousPlaintext && config.credentials.is_some() && !loopback {
            return Err(invalid(
                "SMTP credentials over plaintext to a non-loopback host",
            ));
        }
        let address: lettre::Address = config
            .from
            .as_str()
            .parse()
            .map_err(|_| Error::InvalidEmailAddress)?;
        if let Some(name) = &config.from_name
            && (name.len() > 128 || name.chars().any(char::is_control))
        {
            return Err(invalid("From name must be one line of at most 128 bytes"));
        }
        let from = Mailbox::new(config.from_name.clone(), address);
        let tls = match config.tls {
            SmtpTls::DangerousPlaintext => Tls::None,
            SmtpTls::StartTls | SmtpTls::Tls => {
                let parameters =
                    TlsParameters::new(config.host.clone()).map_err(|e| Error::InvalidConfig {
                        reason: format!("SMTP TLS: {e}"),
                    })?;
                if config.tls == SmtpTls::StartTls {
                    Tls::Required(parameters)
                } else {
                    Tls::Wrapper(parameters)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(Duration::from_millis(config.timeout_ms)));
        if let Some(credentials) = &config.credentials {
            // lettre keeps its own (non-zeroized) copy for the transport's lifetime.
            builder = builder.credentials(Credentials::new(
                credentials.username.clone(),
                (*credentials.password.0).clone(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            from_domain: config.from.domain().to_owned(),
            clock,
            timeout_ms: config.timeout_ms,
        })
    }

    /// Builds the RFC 5322 message for `notification`, dated `now_ms`.
    pub fn message(&self, notification: &Notification, now_ms: u64) -> Result<Message, Outcome> {
        let Recipient::Email(to) = notification.recipient() else {
            return Err(Outcome::failed(false, None, "not an e-mail recipient"));
        };
        let to: lettre::Address = to
            .as_str()
            .parse()
            .map_err(|_| Outcome::failed(false, None, "recipient address refused"))?;
        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(notification.subject())
            .date(UNIX_EPOCH + Duration::from_millis(now_ms))
            .message_id(Some(format!(
                "<{}@{}>",
                notification.id(),
                self.from_domain
            )))
            .header(ContentType::TEXT_PLAIN)
            .body(notification.body().to_owned())
            .map_err(|e| Outcome::failed(false, None, format!("message not built: {e}")))
    }

    /// Makes attempt number `attempt` to send `notification`.
    pub async fn deliver(&self, notification: &Notification, attempt: u32) -> DeliveryRecord {
        let started_at_ms = self.clock.now_ms();
        let (outcome, payload_digest) = match self.message(notification, started_at_ms) {
            Err(outcome) => (outcome, None),
            Ok(message) => {
                let digest = Sha256Digest::of(&message.formatted());
                let limit = Duration::from_millis(self.timeout_ms);
                let outcome = match tokio::time::timeout(limit, self.transport.send(message)).await
                {
                    Err(_) => Outcome::failed(
                        true,
                        None,
                        format!("timed out after {} ms", self.timeout_ms),
                    ),
                    Ok(Ok(response)) => {
                        let code = response.code().to_string();
                        let lines: Vec<&str> = response.message().collect();
                        let detail = format!("{code} {}", lines.join(" / "));
                        let status = code.parse().unwrap_or(0);
                        if response.is_positive() {
                            Outcome::delivered(status, detail)
                        } else {
                            Outcome::failed(true, Some(status), detail)
                        }
                    }
                    Ok(Err(e)) => classify_smtp_error(&e),
                };
                (outcome, Some(digest))
            }
        };
        if let Outcome::Failed {
            retryable, status, ..
        } = &outcome
        {
            tracing::info!(
                id = notification.id().as_str(),
                attempt,
                retryable,
                status,
                "e-mail delivery failed"
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
}

fn classify_smtp_error(e: &lettre::transport::smtp::Error) -> Outcome {
    let status = e
        .status()
        .and_then(|code| code.to_string().parse::<u16>().ok());
    let reason = error_chain(e);
    if e.is_permanent() {
        Outcome::failed(false, status, reason)
    } else {
        // Transient (4xx) replies, timeouts, connection and TLS failures: try again later.
        Outcome::failed(true, status, reason)
    }
}

impl Notifier for SmtpMailer {
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
    use crate::{EventType, ManualClock, NotificationId, PhoneNumber};

    fn config(tls: SmtpTls, host: &str) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port: 2525,
            tls,
            credentials: Some(SmtpCredentials {
                username: "affix".into(),
                password: SmtpPassword::new("hunter2".into()),
            }),
            from: EmailAddress::parse("notice@affix.example").unwrap(),
            from_name: Some("Affix".into()),
            timeout_ms: 1000,
        }
    }

    #[test]
    fn passwords_are_redacted() {
        let c = config(SmtpTls::StartTls, "smtp.example.com");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn plaintext_credentials_only_to_loopback() {
        let clock = Arc::new(ManualClock::new(0));
        assert!(
            SmtpMailer::new(
                config(SmtpTls::DangerousPlaintext, "smtp.example.com"),
                clock.clone()
            )
            .is_err()
        );
        assert!(
            SmtpMailer::new(
                config(SmtpTls::DangerousPlaintext, "127.0.0.1"),
                clock.clone()
            )
            .is_ok()
        );
        assert!(SmtpMailer::new(config(SmtpTls::Tls, "smtp.example.com"), clock).is_ok());
    }

    #[tokio::test]
    async fn wrong_channel_is_a_permanent_failure_without_payload() {
        let clock = Arc::new(ManualClock::new(5));
        let mailer = SmtpMailer::new(config(SmtpTls::StartTls, "smtp.example.com"), clock).unwrap();
        let n = Notification::new(
            NotificationId::parse("n1").unwrap(),
            Recipient::Sms(PhoneNumber::parse("+8613800138000").unwrap()),
            EventType::parse("a").unwrap(),
            "s",
            "b",
            0,
        )
        .unwrap();
        let record = mailer.deliver(&n, 1).await;
        assert!(!record.outcome.is_retryable() && !record.outcome.is_success());
        assert_eq!(record.payload_digest, None);
    }
}
