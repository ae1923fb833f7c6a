//! The webhooks consumer: one delivery per matching webhook of the event's lab. The body
//! is the event's CloudEvents JSON, fixed now, so every retry sends the same bytes.

use crate::consumer::Consumer;
use crate::domain::delivery::delivery_id;
use crate::domain::priority::Priority;
use crate::error::WorkError;
use crate::feed::FeedEvent;
use crate::model::{Delivery, Message, Target, Webhook};
use crate::state::EventsState;
use crate::store::deliveries;
use tracseq_aws::store::StoreError;
use tracseq_core::events::type_matches;

pub const CONSUMER: &str = "webhooks";

pub async fn webhooks(st: &EventsState, lab: &str) -> Result<Vec<Webhook>, StoreError> {
    crate::store::settings::all(st, lab, crate::store::settings::WEBHOOK).await
}

/// The webhooks consumer.
pub struct Fanout;

impl Consumer for Fanout {
    const NAME: &'static str = CONSUMER;
    type Lab = Vec<Webhook>;

    async fn load(st: &EventsState, lab: &str) -> Result<Vec<Webhook>, WorkError> {
        Ok(webhooks(st, lab).await?)
    }

    fn wants(hooks: &Vec<Webhook>, ev: &FeedEvent) -> bool {
        hooks.iter().any(|w| wants(w, ev))
    }

    async fn handle(st: &EventsState, hooks: &Vec<Webhook>, ev: &FeedEvent) -> Result<(), WorkError> {
        fan_out(st, hooks.iter().filter(|w| wants(w, ev)), ev).await
    }
}

fn wants(w: &Webhook, ev: &FeedEvent) -> bool {
    w.enabled && w.event_types.iter().any(|p| type_matches(p, &ev.event.kind))
}

async fn fan_out<'a>(
    st: &EventsState,
    hooks: impl Iterator<Item = &'a Webhook>,
    fe: &FeedEvent,
) -> Result<(), WorkError> {
    let body = serde_json::to_string(fe).map_err(|e| StoreError::Serde(e.to_string()))?;
    let mut jobs = deliveries::Outbox::default();
    for hook in hooks {
        let target = Target::Webhook(hook.id.clone());
        let id = delivery_id(&fe.event.id, fe.time_ms(), fe.replayid.as_deref(), &hook.id, "webhook");
        let message = Message {
            to: None,
            subject: None,
            body: body.clone(),
            link: None,
        };
        let d = Delivery::new(id, fe, &target, Priority::of_event(&fe.event.kind), message);
        deliveries::create(st, &d, &mut jobs).await?;
    }
    jobs.flush(st).await
}
