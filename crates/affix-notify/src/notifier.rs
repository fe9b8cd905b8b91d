//! The one trait over every channel, and a router by channel.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{Channel, Clock, DeliveryRecord, Notification, Outcome};

/// Makes one delivery attempt and reports it. Object-safe, so the platform can hold
/// `Arc<dyn Notifier>`. Never fails: a failed attempt is a [`DeliveryRecord`] with
/// [`Outcome::Failed`].
pub trait Notifier: Send + Sync {
    /// Makes attempt number `attempt` (1-based) to deliver `notification`.
    fn send<'a>(
        &'a self,
        notification: &'a Notification,
        attempt: u32,
    ) -> Pin<Box<dyn Future<Output = DeliveryRecord> + Send + 'a>>;
}

/// Sends each notification through the notifier of its channel.
pub struct ChannelRouter {
    email: Option<Arc<dyn Notifier>>,
    sms: Option<Arc<dyn Notifier>>,
    webhook: Option<Arc<dyn Notifier>>,
    clock: Arc<dyn Clock>,
}

impl ChannelRouter {
    /// A router with no channels; add them with the `with_*` methods. A notification for
    /// a missing channel gets a permanent failure record.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            email: None,
            sms: None,
            webhook: None,
            clock,
        }
    }

    /// Routes e-mail to `notifier` (usually an [`crate::SmtpMailer`]).
    pub fn with_email(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.email = Some(notifier);
        self
    }

    /// Routes SMS to `notifier` (usually an [`crate::SmsNotifier`]).
    pub fn with_sms(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.sms = Some(notifier);
        self
    }

    /// Routes webhooks to `notifier` (usually a [`crate::WebhookSender`]).
    pub fn with_webhook(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.webhook = Some(notifier);
        self
    }
}

impl Notifier for ChannelRouter {
    fn send<'a>(
        &'a self,
        notification: &'a Notification,
        attempt: u32,
    ) -> Pin<Box<dyn Future<Output = DeliveryRecord> + Send + 'a>> {
        let target = match notification.channel() {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
            Channel::Webhook => self.webhook.as_ref(),
        };
        match target {
            Some(notifier) => notifier.send(notification, attempt),
            None => {
                let now_ms = self.clock.now_ms();
                let record = DeliveryRecord::new(
                    notification,
                    attempt,
                    now_ms,
                    now_ms,
                    Outcome::failed(
                        false,
                        None,
                        format!(
                            "no sender configured for channel {}",
                            notification.channel()
                        ),
                    ),
                    None,
                );
                Box::pin(std::future::ready(record))
            }
        }
    }
}
