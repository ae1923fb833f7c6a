//! `GET /api/webhooks/{id}/deliveries` and `GET /api/notifications/deliveries`: every
//! delivery with its status and attempts, newest event first.

use crate::domain::channel::ChannelKind;
use crate::domain::delivery::DeliveryStatus;
use crate::model::{Delivery, Target};
use crate::state::EventsState;
use crate::store::deliveries;
use std::sync::Arc;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::named::parse_reported;
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

pub type DeliveryPage = tracseq_core::pagination::Page<Delivery>;

async fn page(st: &EventsState, req: &Request, lab: &str, target: Target) -> Result<DeliveryPage, Problem> {
    let mut errors: Vec<FieldError> = Vec::new();
    let status = req.query("status").and_then(|raw| {
        parse_reported(
            &mut errors,
            "status",
            raw,
            DeliveryStatus::parse,
            DeliveryStatus::names(),
        )
    });
    let page = PageRequest::from_request(req)?;
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    deliveries::page(st, lab, &target, status, &page).await
}

pub async fn webhook_deliveries(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let hook = super::webhooks::find(&st, &p.lab_id, req.path_param("id")?).await?;
    Ok(Response::ok(
        &page(&st, &req, &p.lab_id, Target::Webhook(hook.id)).await?,
    ))
}

pub async fn channel_deliveries(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let kind = match req.query("channel") {
        Some(raw) => parse_reported(&mut errors, "channel", raw, ChannelKind::parse, ChannelKind::names()),
        None => {
            errors.push(FieldError::field(
                "channel",
                "required",
                format!("one of {}", ChannelKind::names()),
            ));
            None
        }
    };
    let Some(kind) = kind else {
        return Err(Problem::validation(errors));
    };
    Ok(Response::ok(&page(&st, &req, &p.lab_id, Target::Channel(kind)).await?))
}
