//! What the events service stores, and where (docs/data-model.md).

use crate::domain::channel::{ChannelKind, ChannelSettings};
use crate::domain::delivery::{Attempt, DeliveryStatus};
use crate::domain::priority::Priority;
use crate::feed::FeedEvent;
use serde::{Deserialize, Serialize};
use tracseq_core::keyed::lab_key;

pub mod keys {

    use tracseq_core::keyed::lab_key;
    pub fn lab(lab: &str) -> String {
        lab_key(lab, &[])
    }
    pub const SUB: &str = "SUB#";
    pub const WEBHOOK: &str = "WEBHOOK#";
    pub const CHANNEL: &str = "CHANNEL#";
    pub const TEMPLATE: &str = "NOTIFYTPL#";
    pub const DELIVERY: &str = "DELIV#";
    pub const MESSAGE: &str = "MSG#";

    pub fn inbox(lab: &str, user: &str) -> String {
        lab_key(lab, &["USER", user, "INBOX"])
    }
    pub fn dedupe(consumer: &str, event_id: &str, replay: Option<&str>) -> String {
        match replay {
            Some(r) => format!("DEDUPE#{consumer}#{event_id}#{r}"),
            None => format!("DEDUPE#{consumer}#{event_id}"),
        }
    }
    pub fn rate(lab: &str, channel: &str, window: &str) -> String {
        format!("RATE#{lab}#{channel}#{window}")
    }
}

/// Where a delivery goes: one of the lab's channels, or one of its webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Channel(ChannelKind),
    Webhook(String),
}

impl Target {
    /// `email`, `slack`, … or `webhook:{id}`.
    pub fn encode(&self) -> String {
        match self {
            Target::Channel(c) => c.as_str().to_owned(),
            Target::Webhook(id) => format!("webhook:{id}"),
        }
    }
    pub fn decode(s: &str) -> Option<Self> {
        match s.strip_prefix("webhook:") {
            Some(id) if tracseq_core::keyed::is_valid_id(id) => Some(Target::Webhook(id.to_owned())),
            Some(_) => None,
            None => ChannelKind::ALL
                .iter()
                .copied()
                .find(|c| c.as_str() == s)
                .map(Target::Channel),
        }
    }
    /// The worker (and queue) that sends it: the channel's name, or `webhook`.
    pub fn worker(&self) -> &str {
        match self {
            Target::Channel(c) => c.as_str(),
            Target::Webhook(_) => "webhook",
        }
    }
    /// The partition of its deliveries.
    pub fn partition(&self, lab: &str) -> String {
        match self {
            Target::Channel(c) => lab_key(lab, &["CHANNEL", c.as_str()]),
            Target::Webhook(id) => lab_key(lab, &["WEBHOOK", id]),
        }
    }
}

/// The rendered message a delivery sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    /// Email address or phone number (per-recipient channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
    /// The link to the event's subject, for in-app messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: String,
    pub lab_id: String,
    /// `email`, `sms`, `slack`, `teams`, `in_app` or `webhook:{id}`.
    pub target: String,
    pub event_id: String,
    pub event_type: String,
    pub event_subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub priority: Priority,
    pub message: Message,
    /// The auth service's one-hour secret delivery holding a reset link's token, read by
    /// the email worker at send time (the token itself is never copied here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<String>,
    pub status: DeliveryStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Epoch seconds before which it must not be sent (quiet hours, rate limit, retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    #[serde(default)]
    pub lease_until: i64,
    #[serde(default)]
    pub attempt_count: u32,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    pub created_at: String,
    pub updated_at: String,
}

impl Delivery {
    /// A pending delivery of `fe` to `target`, nothing attempted yet; callers set what
    /// their kind of delivery adds (subscription, recipient, status, hold).
    pub fn new(id: String, fe: &FeedEvent, target: &Target, priority: Priority, message: Message) -> Self {
        let now = tracseq_core::now_rfc3339();
        Self {
            id,
            lab_id: fe.event.labid.clone(),
            target: target.encode(),
            event_id: fe.event.id.clone(),
            event_type: fe.event.kind.clone(),
            event_subject: fe.event.subject.clone(),
            replay_id: fe.replayid.clone(),
            subscription_id: None,
            user_id: None,
            priority,
            message,
            secret_ref: None,
            status: DeliveryStatus::Pending,
            reason: None,
            not_before: None,
            lease_until: 0,
            attempt_count: 0,
            attempts: vec![],
            created_at: now.clone(),
            updated_at: now,
        }
    }
}

/// What a worker's queue carries: the delivery's key and the attempt it asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub lab_id: String,
    pub target: String,
    pub id: String,
    pub attempt: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub enabled: bool,
    pub created_by: String,
    pub created_at: String,
    pub version: u64,
}

/// A lab's channel configuration (its secret lives in SSM).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelConfig {
    pub kind: ChannelKind,
    pub enabled: bool,
    pub settings: ChannelSettings,
    /// Whether a secret is stored (it is never shown).
    pub secret_set: bool,
    pub version: u64,
    pub updated_at: String,
    pub updated_by: String,
}

/// A lab's own text for a template id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabTemplate {
    pub id: String,
    #[serde(default)]
    pub subject: Option<String>,
    pub body: String,
    pub version: u64,
    pub updated_at: String,
    pub updated_by: String,
}

/// An in-app notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InboxMessage {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub priority: Priority,
    pub title: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_round_trip() {
        for t in [
            Target::Channel(ChannelKind::InApp),
            Target::Webhook("01JWEBHOOK".into()),
        ] {
            assert_eq!(Target::decode(&t.encode()), Some(t));
        }
        assert_eq!(Target::decode("fax"), None);
        assert_eq!(Target::decode("webhook:a#b"), None);
        assert_eq!(Target::Webhook("W".into()).worker(), "webhook");
        assert_eq!(
            Target::Channel(ChannelKind::Email).partition("L"),
            "LAB#L#CHANNEL#email"
        );
    }
}
