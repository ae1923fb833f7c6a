//! `POST /api/events/replay`: re-deliver the lab's events of a time range (and type
//! pattern) to one named consumer, each marked with the replay's id. Consumers dedupe on
//! event id and replay id, so a replay is delivered again even though the original was,
//! and a retried replay request (same Idempotency-Key) is not.

use super::lab_keys;
use crate::feed::{FeedEvent, send_all};
use crate::query::window;
use crate::state::EventsState;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::events::type_matches;
use tracseq_core::http::{Request, Response};
use tracseq_core::{FieldError, Problem};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"consumer": "webhooks", "from": "2026-11-01", "to": "2026-11-30", "type": "sample.*"}))]
pub struct ReplayRequest {
    #[schema(pattern = "^(notifications|webhooks)$")]
    pub consumer: String,
    /// RFC 3339 or YYYY-MM-DD (inclusive).
    #[schema(format = Date)]
    pub from: String,
    /// RFC 3339 or YYYY-MM-DD (inclusive); at most 92 days after from.
    #[schema(format = Date)]
    pub to: String,
    /// An event type or `entity.*`; every type when left out.
    #[serde(default, rename = "type")]
    #[schema(value_type = Option<crate::domain::subscription::EventPattern>)]
    pub kind: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReplayResult {
    pub replay_id: String,
    pub consumer: String,
    pub events: usize,
    pub from: String,
    pub to: String,
}

pub async fn replay(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: ReplayRequest = req.json()?;
    let lab = lab_keys(&p)?;
    idempotent(&st.idem, &lab, &req, || async {
        let mut errors = Vec::new();
        let queue = st.settings.consumers.get(body.consumer.trim());
        if queue.is_none() {
            let mut names: Vec<&str> = st.settings.consumers.keys().map(String::as_str).collect();
            names.sort();
            errors.push(
                FieldError::field("consumer", "one_of", format!("one of {}", names.join(", ")))
                    .with_value(&body.consumer),
            );
        }
        if let Some(k) = &body.kind
            && let Err(e) = crate::query::type_filter(k)
        {
            errors.extend(e);
        }
        let w = match window(Some(&body.from), Some(&body.to), time::OffsetDateTime::now_utc()) {
            Ok(w) => Some(w),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        let (Some(queue), Some(w), true) = (queue, w, errors.is_empty()) else {
            return Err(Problem::validation(errors));
        };
        let pattern = body
            .kind
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty() && *k != "*");
        let replay_id = ulid::Ulid::new().to_string();
        let mut events: Vec<FeedEvent> = Vec::new();
        // Oldest first, so a consumer sees them in the order they happened.
        for day in w.days.iter().rev() {
            for event in crate::store::history::day(&st, &lab, day, (&w.lo, &w.hi)).await? {
                if pattern.is_some_and(|p| !type_matches(p, &event.kind)) {
                    continue;
                }
                events.push(FeedEvent {
                    event,
                    replayid: Some(replay_id.clone()),
                });
                if events.len() > st.settings.replay_max {
                    return Err(Problem::validation(vec![FieldError::field(
                        "from",
                        "too_many_events",
                        format!(
                            "more than {} events in this range; replay a shorter one",
                            st.settings.replay_max
                        ),
                    )]));
                }
            }
        }
        send_all(&st, queue, &events).await.map_err(|e| {
            tracing::error!(error = %e, "replay could not be queued");
            Problem::unavailable("the consumer's queue is unavailable; try again")
        })?;
        tracing::info!(replay = %replay_id, consumer = %body.consumer, events = events.len(), "replay queued");
        Ok(Response::json(
            202,
            &ReplayResult {
                replay_id,
                consumer: body.consumer.trim().to_owned(),
                events: events.len(),
                from: body.from.clone(),
                to: body.to.clone(),
            },
        ))
    })
    .await
}
