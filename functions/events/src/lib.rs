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
pub mod digest;
pub mod directory;
pub mod domain;
pub mod error;
pub mod fanout;
pub mod feed;
pub mod handlers;
pub mod model;
pub mod publish;
pub mod query;
pub mod router;
pub mod routes;
pub mod send;
pub mod state;
pub mod store;
pub mod worker;

use state::EventsState;
use tracseq_aws::FunctionDef;

tracseq_aws::service_state!(EventsState);

use handlers::{channels, deliveries as dl, replay, subscriptions as subs, templates, test_send, webhooks};
use routes as r;

pub static FUNCTIONS: &[FunctionDef] = tracseq_aws::functions!(EventsState;
    http: [
        protected r::LIST_EVENTS => handlers::history::list_events,
        protected r::REPLAY => replay::replay,
        protected r::LIST_WEBHOOKS => webhooks::list_webhooks,
        protected r::CREATE_WEBHOOK => webhooks::create_webhook,
        protected r::DELETE_WEBHOOK => webhooks::delete_webhook,
        protected r::WEBHOOK_DELIVERIES => dl::webhook_deliveries,
        protected r::LIST_CHANNELS => channels::list_channels,
        protected r::PUT_CHANNEL => channels::put_channel,
        protected r::LIST_TEMPLATES => templates::list_templates,
        protected r::PUT_TEMPLATE => templates::put_template,
        protected r::DELETE_TEMPLATE => templates::delete_template,
        protected r::PREVIEW_TEMPLATE => templates::preview_template,
        protected r::LIST_SUBSCRIPTIONS => subs::list_subscriptions,
        protected r::CREATE_SUBSCRIPTION => subs::create_subscription,
        protected r::UPDATE_SUBSCRIPTION => subs::update_subscription,
        protected r::DELETE_SUBSCRIPTION => subs::delete_subscription,
        protected r::INBOX => handlers::inbox::list_inbox,
        protected r::MARK_READ => handlers::inbox::mark_read,
        protected r::TEST => test_send::test_channel,
        protected r::DELIVERY_LOG => dl::channel_deliveries,
    ],
    background: [
        "events_publish" => |st, event| publish::handle(st, event),
        "notifications_route" => |st, event| consumer::consume::<router::Router>( st, event ),
        "webhooks_fanout" => |st, event| consumer::consume::<fanout::Fanout>( st, event ),
        "notifications_digest" => |st, event| digest::handle(st, event),
        "notify_email" => |st, event| worker::handle(st, event, "email"),
        "notify_sms" => |st, event| worker::handle(st, event, "sms"),
        "notify_slack" => |st, event| worker::handle(st, event, "slack"),
        "notify_teams" => |st, event| worker::handle(st, event, "teams"),
        "notify_in_app" => |st, event| worker::handle(st, event, "in_app"),
        "webhooks_deliver" => |st, event| worker::handle(st, event, "webhook"),
    ]
);
