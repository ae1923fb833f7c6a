//! Every route of the events service and the least role it needs. The event history shows
//! everything that happened in the lab, so it is for principal investigators and up;
//! replay, webhooks, channels, templates and delivery logs are the lab administrator's;
//! subscriptions and the inbox are everyone's (each sees their own).

use crate::domain::subscription::Subscription;
use crate::handlers::channels::{ChannelList, ChannelUpdate, ChannelView};
use crate::handlers::deliveries::DeliveryPage;
use crate::handlers::inbox::InboxPage;
use crate::handlers::replay::{ReplayRequest, ReplayResult};
use crate::handlers::subscriptions::{NewSubscription, SubscriptionList, SubscriptionPatch};
use crate::handlers::templates::{Preview, PreviewRequest, TemplateList, TemplateSaved, TemplateUpdate};
use crate::handlers::test_send::{TestRequest, TestResult};
use crate::handlers::webhooks::{CreatedWebhook, NewWebhook, WebhookList};
use crate::model::InboxMessage;
use crate::store::history::EventPage;
use tracseq_core::auth::Role::*;
use tracseq_core::route::{Method::*, NO_CONTENT, QueryParam, ResponseSpec, RouteSpec, SchemaRef, role};

const EVENTS_TAG: &str = "events";
const WEBHOOKS_TAG: &str = "webhooks";
const TAG: &str = "notifications";

macro_rules! answers {
    ($name:ident, $status:literal, $doc:literal, $ty:ty) => {
        const $name: &[ResponseSpec] = &[ResponseSpec::json($status, $doc, SchemaRef::of::<$ty>())];
    };
}
answers!(EVENTS, 200, "Events, newest first", EventPage);
answers!(REPLAYED, 202, "The replay, queued", ReplayResult);
answers!(WEBHOOKS, 200, "The lab's webhooks", WebhookList);
answers!(
    WEBHOOK_CREATED,
    201,
    "The webhook and its secret (shown once)",
    CreatedWebhook
);
answers!(
    DELIVERIES,
    200,
    "Deliveries with their attempts, newest first",
    DeliveryPage
);
answers!(
    CHANNELS,
    200,
    "Every channel and its settings (never its secret)",
    ChannelList
);
answers!(CHANNEL, 200, "The channel's settings", ChannelView);
answers!(
    TEMPLATES,
    200,
    "Built-in templates and the lab's overrides",
    TemplateList
);
answers!(TEMPLATE, 200, "The saved override", TemplateSaved);
answers!(PREVIEW, 200, "The rendered message", Preview);
answers!(SUBSCRIPTIONS, 200, "The subscriptions you manage", SubscriptionList);
answers!(SUBSCRIPTION, 200, "The subscription", Subscription);
answers!(SUBSCRIPTION_CREATED, 201, "The subscription", Subscription);
answers!(INBOX_PAGE, 200, "Your in-app notifications, newest first", InboxPage);
answers!(MESSAGE, 200, "The notification, read", InboxMessage);
answers!(TESTED, 200, "How the test message went", TestResult);

pub static LIST_EVENTS: RouteSpec = RouteSpec::new("events_list", Get, "/api/events", role(PrincipalInvestigator))
    .doc("The lab's event history", EVENTS_TAG)
    .query(&[
        QueryParam::text("type", "an event type (sample.created) or entity.* (sample.*)"),
        QueryParam::text("subject", "only events about this subject, like samples/{id}"),
        QueryParam::text("from", "RFC 3339 or YYYY-MM-DD (default: a week before to)"),
        QueryParam::text(
            "to",
            "RFC 3339 or YYYY-MM-DD (default: now); at most 92 days after from",
        ),
        QueryParam::integer("limit", "page size, 1-1000", 1, 1000),
        QueryParam::text("cursor", "from next_cursor"),
    ])
    .answers(EVENTS);
pub static REPLAY: RouteSpec = RouteSpec::new("events_replay", Post, "/api/events/replay", role(LabAdministrator))
    .doc(
        "Re-deliver a time range of events to one consumer, marked as a replay",
        EVENTS_TAG,
    )
    .takes(SchemaRef::of::<ReplayRequest>())
    .answers(REPLAYED);

pub static LIST_WEBHOOKS: RouteSpec = RouteSpec::new("webhooks_list", Get, "/api/webhooks", role(LabAdministrator))
    .doc("The lab's outbound webhooks", WEBHOOKS_TAG)
    .answers(WEBHOOKS);
pub static CREATE_WEBHOOK: RouteSpec = RouteSpec::new("webhooks_create", Post, "/api/webhooks", role(LabAdministrator))
    .doc(
        "Add a webhook: a URL, event type patterns and an HMAC secret",
        WEBHOOKS_TAG,
    )
    .takes(SchemaRef::of::<NewWebhook>())
    .answers(WEBHOOK_CREATED);
pub static DELETE_WEBHOOK: RouteSpec =
    RouteSpec::new("webhooks_delete", Delete, "/api/webhooks/{id}", role(LabAdministrator))
        .doc("Remove a webhook and its secret", WEBHOOKS_TAG)
        .answers(NO_CONTENT);
pub static WEBHOOK_DELIVERIES: RouteSpec = RouteSpec::new(
    "webhooks_deliveries",
    Get,
    "/api/webhooks/{id}/deliveries",
    role(LabAdministrator),
)
.doc("A webhook's deliveries and every attempt", WEBHOOKS_TAG)
.query(&[
    QueryParam::of::<crate::domain::delivery::DeliveryStatus>("status", "only deliveries in this status"),
    QueryParam::integer("limit", "page size, 1-1000", 1, 1000),
    QueryParam::text("cursor", "from next_cursor"),
])
.answers(DELIVERIES);

pub static LIST_CHANNELS: RouteSpec = RouteSpec::new(
    "notifications_channels_list",
    Get,
    "/api/notifications/channels",
    role(LabAdministrator),
)
.doc("The lab's notification channels", TAG)
.answers(CHANNELS);
pub static PUT_CHANNEL: RouteSpec = RouteSpec::new(
    "notifications_channels_put",
    Put,
    "/api/notifications/channels/{kind}",
    role(LabAdministrator),
)
.doc("Configure a channel (its secret is stored in SSM, write-only)", TAG)
.takes(SchemaRef::of::<ChannelUpdate>())
.answers(CHANNEL);
pub static LIST_TEMPLATES: RouteSpec = RouteSpec::new(
    "notifications_templates_list",
    Get,
    "/api/notifications/templates",
    role(LabAdministrator),
)
.doc("Message templates: built-in and the lab's own", TAG)
.answers(TEMPLATES);
pub static PUT_TEMPLATE: RouteSpec = RouteSpec::new(
    "notifications_templates_put",
    Put,
    "/api/notifications/templates/{id}",
    role(LabAdministrator),
)
.doc("Override a template ({channel}.{event} or {channel}.default)", TAG)
.takes(SchemaRef::of::<TemplateUpdate>())
.answers(TEMPLATE);
pub static DELETE_TEMPLATE: RouteSpec = RouteSpec::new(
    "notifications_templates_delete",
    Delete,
    "/api/notifications/templates/{id}",
    role(LabAdministrator),
)
.doc("Go back to the built-in template", TAG)
.answers(NO_CONTENT);
pub static PREVIEW_TEMPLATE: RouteSpec = RouteSpec::new(
    "notifications_templates_preview",
    Post,
    "/api/notifications/templates/{id}/preview",
    role(LabAdministrator),
)
.doc(
    "Render a template or a draft; a missing variable is a 422 naming it",
    TAG,
)
.takes(SchemaRef::of::<PreviewRequest>())
.answers(PREVIEW);
pub static LIST_SUBSCRIPTIONS: RouteSpec = RouteSpec::new(
    "notifications_subscriptions_list",
    Get,
    "/api/notifications/subscriptions",
    role(Guest),
)
.doc("Your subscriptions (administrators: the lab's)", TAG)
.answers(SUBSCRIPTIONS);
pub static CREATE_SUBSCRIPTION: RouteSpec = RouteSpec::new(
    "notifications_subscriptions_create",
    Post,
    "/api/notifications/subscriptions",
    role(Guest),
)
.doc("Subscribe to event types over channels", TAG)
.takes(SchemaRef::of::<NewSubscription>())
.answers(SUBSCRIPTION_CREATED);
pub static UPDATE_SUBSCRIPTION: RouteSpec = RouteSpec::new(
    "notifications_subscriptions_update",
    Patch,
    "/api/notifications/subscriptions/{id}",
    role(Guest),
)
.doc("Change a subscription (version required)", TAG)
.takes(SchemaRef::of::<SubscriptionPatch>())
.answers(SUBSCRIPTION);
pub static DELETE_SUBSCRIPTION: RouteSpec = RouteSpec::new(
    "notifications_subscriptions_delete",
    Delete,
    "/api/notifications/subscriptions/{id}",
    role(Guest),
)
.doc("Remove a subscription", TAG)
.answers(NO_CONTENT);
pub static INBOX: RouteSpec = RouteSpec::new("notifications_inbox", Get, "/api/notifications", role(Guest))
    .doc("Your in-app notifications", TAG)
    .query(&[
        QueryParam::text("unread", "true for unread only"),
        QueryParam::integer("limit", "page size, 1-1000", 1, 1000),
        QueryParam::text("cursor", "from next_cursor"),
    ])
    .answers(INBOX_PAGE);
pub static MARK_READ: RouteSpec =
    RouteSpec::new("notifications_read", Post, "/api/notifications/{id}/read", role(Guest))
        .doc("Mark an in-app notification read", TAG)
        .answers(MESSAGE);
pub static TEST: RouteSpec = RouteSpec::new(
    "notifications_test",
    Post,
    "/api/notifications/test",
    role(LabAdministrator),
)
.doc("Send a test message over a channel now", TAG)
.takes(SchemaRef::of::<TestRequest>())
.answers(TESTED);
pub static DELIVERY_LOG: RouteSpec = RouteSpec::new(
    "notifications_deliveries",
    Get,
    "/api/notifications/deliveries",
    role(LabAdministrator),
)
.doc("A channel's deliveries and every attempt", TAG)
.query(&[
    QueryParam::one_of("channel", "the channel", crate::domain::channel::ChannelKind::NAMES),
    QueryParam::of::<crate::domain::delivery::DeliveryStatus>("status", "only deliveries in this status"),
    QueryParam::integer("limit", "page size, 1-1000", 1, 1000),
    QueryParam::text("cursor", "from next_cursor"),
])
.answers(DELIVERIES);

/// Every HTTP route of the service.
pub static ALL: &[&RouteSpec] = &[
    &LIST_EVENTS,
    &REPLAY,
    &LIST_WEBHOOKS,
    &CREATE_WEBHOOK,
    &DELETE_WEBHOOK,
    &WEBHOOK_DELIVERIES,
    &LIST_CHANNELS,
    &PUT_CHANNEL,
    &LIST_TEMPLATES,
    &PUT_TEMPLATE,
    &DELETE_TEMPLATE,
    &PREVIEW_TEMPLATE,
    &LIST_SUBSCRIPTIONS,
    &CREATE_SUBSCRIPTION,
    &UPDATE_SUBSCRIPTION,
    &DELETE_SUBSCRIPTION,
    &INBOX,
    &MARK_READ,
    &TEST,
    &DELIVERY_LOG,
];
