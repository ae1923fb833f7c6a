//! `GET|POST /api/webhooks`, `DELETE /api/webhooks/{id}` and
//! `GET /api/webhooks/{id}/deliveries`: integrators' subscriptions to the event feed.
//! A webhook's secret is kept in SSM and shown once, when the webhook is created.

use super::{lab_keys, patterns, random_secret};
use crate::domain::channel::check_url;
use crate::domain::subscription::EventPattern;
use crate::fanout;
use crate::model::Webhook;
use crate::state::EventsState;
use crate::store::settings;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, check_version, optional_version};
use tracseq_core::{FieldError, Problem, now_rfc3339};

/// Most webhooks one lab may have.
pub const MAX_WEBHOOKS: usize = 25;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.example.org/tracseq", "event_types": ["sample.*", "sequencing.run_completed"], "description": "LIMS mirror"}))]
pub struct NewWebhook {
    /// Where deliveries are POSTed (https; http to a local host only on the local stack).
    #[schema(format = "uri", pattern = "^https?://")]
    pub url: String,
    /// Event type patterns, like `sample.*` or `sequencing.run_completed`.
    #[schema(min_items = 1, max_items = 20)]
    #[schema(value_type = Vec<EventPattern>)]
    pub event_types: Vec<String>,
    /// The HMAC key, 16-256 characters; generated when left out.
    #[serde(default)]
    #[schema(min_length = 16, max_length = 256)]
    pub secret: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    /// Shown once: sign-check deliveries with it.
    pub secret: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookList {
    pub items: Vec<Webhook>,
}

pub async fn find(st: &EventsState, lab: &str, id: &str) -> Result<Webhook, Problem> {
    if !tracseq_core::keyed::is_valid_id(id) {
        return Err(Problem::not_found("webhook"));
    }
    settings::get(st, lab, settings::WEBHOOK, id)
        .await?
        .ok_or_else(|| Problem::not_found("webhook"))
}

pub async fn list_webhooks(st: Arc<EventsState>, _req: Request, p: Principal) -> Result<Response, Problem> {
    let mut items = fanout::webhooks(&st, &p.lab_id).await?;
    items.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(Response::ok(&WebhookList { items }))
}

pub async fn create_webhook(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewWebhook = req.json()?;
    let lab = lab_keys(&p)?;
    idempotent(&st.idem, &lab, &req, || async {
        let mut errors = Vec::new();
        check_url("url", body.url.trim(), st.settings.url_policy, &mut errors);
        let event_types = patterns("event_types", &body.event_types, &mut errors);
        if let Some(s) = &body.secret
            && !(16..=256).contains(&s.chars().count())
        {
            errors.push(FieldError::field("secret", "length", "16 to 256 characters"));
        }
        let description = body.description.as_deref().map(str::trim).filter(|d| !d.is_empty());
        if description.is_some_and(|d| d.chars().count() > 500) {
            errors.push(FieldError::field("description", "too_long", "at most 500 characters"));
        }
        if !errors.is_empty() {
            return Err(Problem::validation(errors));
        }
        if fanout::webhooks(&st, &p.lab_id).await?.len() >= MAX_WEBHOOKS {
            return Err(Problem::conflict(
                "too_many_webhooks",
                format!("a lab has at most {MAX_WEBHOOKS} webhooks"),
            ));
        }
        let secret = match &body.secret {
            Some(s) => s.clone(),
            None => random_secret()?,
        };
        let hook = Webhook {
            id: ulid::Ulid::new().to_string(),
            url: body.url.trim().to_owned(),
            event_types,
            description: description.map(str::to_owned),
            enabled: true,
            created_by: p.user_id.clone(),
            created_at: now_rfc3339(),
            version: 1,
        };
        // The secret first: a webhook never exists without one.
        let secret_name = st.secret_name(&p.lab_id, &format!("webhooks/{}", hook.id));
        st.put_secret(&secret_name, &secret).await?;
        if let Err(e) = settings::put(&st, &p.lab_id, settings::WEBHOOK, &hook.id, &hook, None).await {
            st.delete_secret(&secret_name).await;
            return Err(e);
        }
        tracing::info!(webhook = %hook.id, "webhook created");
        Ok(Response::created(
            &format!("/api/webhooks/{}", hook.id),
            &CreatedWebhook { webhook: hook, secret },
        ))
    })
    .await
}

pub async fn delete_webhook(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let hook = find(&st, &p.lab_id, req.path_param("id")?).await?;
    if let Some(expected) = optional_version(&req, None)? {
        check_version("webhook", hook.version, expected)?;
    }
    settings::delete(&st, &p.lab_id, settings::WEBHOOK, &hook.id, hook.version).await?;
    st.delete_secret(&st.secret_name(&p.lab_id, &format!("webhooks/{}", hook.id)))
        .await;
    Ok(Response::new(204))
}
