//! `POST /api/notifications/test`: send one message over a channel now, and say how it
//! went, so an administrator can check a channel's settings. The attempt is recorded as a
//! delivery like any other.

use crate::compose::{Texts, event_vars};
use crate::directory;
use crate::domain::channel::ChannelKind;
use crate::domain::delivery::{Attempt, DeliveryStatus};
use crate::domain::priority::Priority;
use crate::feed::FeedEvent;
use crate::model::{Delivery, Message, Target};
use crate::send::{Outcome, send};
use crate::state::EventsState;
use crate::store::deliveries;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;
use tracseq_core::auth::Principal;
use tracseq_core::events::CloudEvent;
use tracseq_core::http::{Request, Response};
use tracseq_core::named::parse_reported;
use tracseq_core::{FieldError, Problem, now_rfc3339};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "in_app"}))]
pub struct TestRequest {
    #[schema(value_type = ChannelKind)]
    pub channel: String,
    /// The user to send to (email, SMS, in-app); yourself when left out.
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestResult {
    pub delivery_id: String,
    pub delivered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub async fn test_channel(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: TestRequest = req.json()?;
    let lab = super::lab_keys(&p)?;
    // A retried request with its Idempotency-Key gets the first answer, not a second message.
    tracseq_aws::idempotency::idempotent(&st.idem, &lab, &req, || send_test(&st, &req, &p, body)).await
}

async fn send_test(st: &EventsState, req: &Request, p: &Principal, body: TestRequest) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let kind = parse_reported(
        &mut errors,
        "channel",
        &body.channel,
        ChannelKind::parse,
        ChannelKind::names(),
    );
    let user_id = body.user_id.clone().unwrap_or_else(|| p.user_id.clone());
    let person = directory::person(st, &p.lab_id, &user_id).await?;
    if person.is_none() {
        errors.push(FieldError::field("user_id", "unknown", "no active user of this lab").with_value(&user_id));
    }
    let (Some(kind), Some(person), true) = (kind, person, errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let event = CloudEvent::new(
        "notification.test",
        &p.lab_id,
        "notifications/test",
        &req.correlation_id,
        json!({ "requested_by": p.user_id, "channel": kind.as_str() }),
    )
    .map_err(|_| Problem::internal())?;
    let fe = FeedEvent { event, replayid: None };
    let vars = event_vars(&st.settings.app_url, &fe, Some(&person));
    let (subject, text) = Texts::load(st, &p.lab_id)
        .await?
        .render(kind, &vars)
        .map_err(|e| Problem::validation(vec![FieldError::field("template", "render", e.to_string())]))?;
    let message = Message {
        to: person.address(kind),
        subject,
        body: text,
        link: vars["link"].as_str().map(str::to_owned),
    };
    let mut d = Delivery {
        user_id: Some(person.id.clone()),
        status: DeliveryStatus::Sending,
        ..Delivery::new(
            ulid::Ulid::new().to_string(),
            &fe,
            &Target::Channel(kind),
            Priority::Normal,
            message,
        )
    };
    let started = Instant::now();
    let outcome = send(st, &d, &Target::Channel(kind)).await;
    let ms = started.elapsed().as_millis() as u64;
    let (status, code, error) = match &outcome {
        Outcome::Delivered { code } => (DeliveryStatus::Sent, *code, None),
        Outcome::Failed { code, error } => (DeliveryStatus::Failed, *code, Some(error.clone())),
        Outcome::Skip(reason) => {
            return Err(Problem::conflict("channel_not_ready", reason.clone()));
        }
    };
    d.status = status;
    d.reason = error.clone();
    d.attempt_count = 1;
    d.attempts.push(Attempt {
        number: 1,
        at: now_rfc3339(),
        ok: status == DeliveryStatus::Sent,
        status_code: code,
        error: error.clone(),
        duration_ms: ms,
    });
    deliveries::insert(st, &d, &Target::Channel(kind)).await?;
    Ok(Response::ok(&TestResult {
        delivery_id: d.id,
        delivered: status == DeliveryStatus::Sent,
        status_code: code,
        error,
    }))
}
