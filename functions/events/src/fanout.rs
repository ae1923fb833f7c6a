//! The webhooks consumer: one delivery per matching webhook of the event's lab. The body
//! is the event's CloudEvents JSON, fixed now, so every retry sends the same bytes.

use crate::deliveries;
use crate::domain::delivery::{DeliveryStatus, delivery_id};
use crate::domain::priority::Priority;
use crate::error::WorkError;
use crate::feed::FeedEvent;
use crate::model::{Delivery, Message, Target, Webhook, keys};
use crate::state::EventsState;
use std::sync::Arc;
use tracseq_aws::store::{StoreError, from_item};
use tracseq_core::events::type_matches;
use tracseq_core::now_rfc3339;

pub const CONSUMER: &str = "webhooks";

pub async fn webhooks(st: &EventsState, lab: &str) -> Result<Vec<Webhook>, StoreError> {
    let items = st.table.query_prefix(&keys::lab(lab), keys::WEBHOOK).await?;
    items.into_iter().map(from_item).collect()
}

pub async fn handle(st: Arc<EventsState>, fe: FeedEvent) -> Result<(), WorkError> {
    let lab = fe.event.labid.clone();
    let hooks: Vec<Webhook> = webhooks(&st, &lab)
        .await?
        .into_iter()
        .filter(|w| w.enabled && w.event_types.iter().any(|p| type_matches(p, &fe.event.kind)))
        .collect();
    if hooks.is_empty() {
        return Ok(());
    }
    let body = serde_json::to_string(&fe).map_err(|e| StoreError::Serde(e.to_string()))?;
    let now = now_rfc3339();
    for hook in hooks {
        let target = Target::Webhook(hook.id.clone());
        let d = Delivery {
            id: delivery_id(&fe.event.id, fe.time_ms(), fe.replayid.as_deref(), &hook.id, "webhook"),
            lab_id: lab.clone(),
            target: target.encode(),
            event_id: fe.event.id.clone(),
            event_type: fe.event.kind.clone(),
            event_subject: fe.event.subject.clone(),
            replay_id: fe.replayid.clone(),
            subscription_id: None,
            user_id: None,
            priority: Priority::of_event(&fe.event.kind),
            message: Message {
                to: None,
                subject: None,
                body: body.clone(),
                link: None,
            },
            secret_ref: None,
            status: DeliveryStatus::Pending,
            reason: None,
            not_before: None,
            lease_until: 0,
            attempt_count: 0,
            attempts: vec![],
            created_at: now.clone(),
            updated_at: now.clone(),
        };
        deliveries::create(&st, &d).await?;
    }
    Ok(())
}
