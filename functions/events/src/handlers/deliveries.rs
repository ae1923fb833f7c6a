//! `GET /api/webhooks/{id}/deliveries` and `GET /api/notifications/deliveries`: every
//! delivery with its status and attempts, newest event first.

use crate::deliveries::read;
use crate::domain::channel::ChannelKind;
use crate::domain::delivery::DeliveryStatus;
use crate::model::{Delivery, Target, keys};
use crate::state::EventsState;
use std::sync::Arc;
use tracseq_aws::store::PageQuery;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response};
use tracseq_core::named::parse_reported;
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

pub type DeliveryPage = tracseq_core::pagination::Page<Delivery>;

async fn page(st: &EventsState, req: &Request, partition: &str) -> Result<DeliveryPage, Problem> {
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
    let mut q = PageQuery::of(partition).with_prefix(keys::DELIVERY).newest_first();
    if let Some(s) = status {
        q = q.filter_eq("status", s.as_str());
    }
    let out = st.table.query_page(&q, &page).await?;
    let items = out.items.into_iter().map(read).collect::<Result<Vec<_>, _>>()?;
    Ok(DeliveryPage {
        items,
        next_cursor: out.next_cursor,
    })
}

pub async fn webhook_deliveries(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let hook = super::webhooks::find(&st, &p.lab_id, req.path_param("id")?).await?;
    let partition = Target::Webhook(hook.id).partition(&p.lab_id);
    Ok(Response::ok(&page(&st, &req, &partition).await?))
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
    let partition = Target::Channel(kind).partition(&p.lab_id);
    Ok(Response::ok(&page(&st, &req, &partition).await?))
}
