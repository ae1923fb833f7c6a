//! The events service: the lab's event history over the outbox, the publisher that takes
//! outbox items from the table's stream to one queue per consumer, replay, outbound
//! webhooks for integrators, and notifications (email, SMS, Slack, Teams, in-app) with
//! templates, subscriptions, quiet hours, retries and rate limits.
//!
//! Flow: a state change writes its event in its own transaction → the stream →
//! [`publish`] → the `notifications` and `webhooks` queues → [`route`] and [`fanout`]
//! create one delivery per destination → a worker per channel ([`worker`]) sends it.

pub mod account_mail;
pub mod compose;
pub mod consumer;
pub mod deliveries;
pub mod digest;
pub mod directory;
pub mod domain;
pub mod error;
pub mod fanout;
pub mod feed;
pub mod handlers;
pub mod history;
pub mod model;
pub mod publish;
pub mod query;
pub mod router;
pub mod routes;
pub mod send;
pub mod state;
pub mod worker;

use state::EventsState;
use std::sync::Arc;
use tracseq_aws::{FunctionDef, InitError};
use tracseq_core::function::SharedFunction;

tracseq_aws::service_state!(EventsState);

macro_rules! function {
    ($route:path => $handler:path) => {
        tracseq_aws::service_function!(EventsState; protected $route => $handler)
    };
}

/// A function driven by an event source rather than HTTP: `$body(state, event)`.
macro_rules! background {
    ($name:literal, |$st:ident, $event:ident| $body:expr) => {
        FunctionDef {
            handler: $name,
            route: None,
            build: |init| {
                Box::pin(async move {
                    let st = EventsState::build(&init).await?;
                    let f = move |$event: serde_json::Value, _ctx: tracseq_core::function::InvokeContext| {
                        let $st = st.clone();
                        async move { $body.await }
                    };
                    Ok::<SharedFunction, InitError>(Arc::new(f))
                })
            },
        }
    };
}

use handlers::{channels, deliveries as dl, inbox, replay, subscriptions as subs, templates, test_send, webhooks};
use routes as r;

pub static FUNCTIONS: &[FunctionDef] = &[
    function!(r::LIST_EVENTS => history::list_events),
    function!(r::REPLAY => replay::replay),
    function!(r::LIST_WEBHOOKS => webhooks::list_webhooks),
    function!(r::CREATE_WEBHOOK => webhooks::create_webhook),
    function!(r::DELETE_WEBHOOK => webhooks::delete_webhook),
    function!(r::WEBHOOK_DELIVERIES => dl::webhook_deliveries),
    function!(r::LIST_CHANNELS => channels::list_channels),
    function!(r::PUT_CHANNEL => channels::put_channel),
    function!(r::LIST_TEMPLATES => templates::list_templates),
    function!(r::PUT_TEMPLATE => templates::put_template),
    function!(r::DELETE_TEMPLATE => templates::delete_template),
    function!(r::PREVIEW_TEMPLATE => templates::preview_template),
    function!(r::LIST_SUBSCRIPTIONS => subs::list_subscriptions),
    function!(r::CREATE_SUBSCRIPTION => subs::create_subscription),
    function!(r::UPDATE_SUBSCRIPTION => subs::update_subscription),
    function!(r::DELETE_SUBSCRIPTION => subs::delete_subscription),
    function!(r::INBOX => inbox::list_inbox),
    function!(r::MARK_READ => inbox::mark_read),
    function!(r::TEST => test_send::test_channel),
    function!(r::DELIVERY_LOG => dl::channel_deliveries),
    background!("events_publish", |st, event| publish::handle(st, event)),
    background!("notifications_route", |st, event| consumer::consume::<router::Router>(
        st, event
    )),
    background!("webhooks_fanout", |st, event| consumer::consume::<fanout::Fanout>(
        st, event
    )),
    background!("notifications_digest", |st, event| digest::handle(st, event)),
    background!("notify_email", |st, event| worker::handle(st, event, "email")),
    background!("notify_sms", |st, event| worker::handle(st, event, "sms")),
    background!("notify_slack", |st, event| worker::handle(st, event, "slack")),
    background!("notify_teams", |st, event| worker::handle(st, event, "teams")),
    background!("notify_in_app", |st, event| worker::handle(st, event, "in_app")),
    background!("webhooks_deliver", |st, event| worker::handle(st, event, "webhook")),
];
