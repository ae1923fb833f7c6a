//! The notifications consumer: for each event, the lab's subscriptions that match it, and
//! for each of their channels and recipients one delivery, rendered now and sent by the
//! channel's worker. Quiet hours set the earliest send time of anything below urgent.

use crate::compose::{Texts, event_vars};
use crate::consumer::Consumer;
use crate::directory::{self, Person};
use crate::domain::channel::ChannelKind;
use crate::domain::delivery::{DeliveryStatus, delivery_id};
use crate::domain::priority::Priority;
use crate::domain::subscription::{Audience, Subscription};
use crate::domain::visibility::{least_role, may_receive};
use crate::error::WorkError;
use crate::feed::FeedEvent;
use crate::model::{ChannelConfig, Delivery, Message, Target};
use crate::state::EventsState;
use crate::store::deliveries;
use std::collections::HashMap;
use tracseq_aws::store::StoreError;

pub const CONSUMER: &str = "notifications";

pub async fn subscriptions(st: &EventsState, lab: &str) -> Result<Vec<Subscription>, StoreError> {
    crate::store::settings::all(st, lab, crate::store::settings::SUBSCRIPTION).await
}

pub async fn channels(st: &EventsState, lab: &str) -> Result<HashMap<ChannelKind, ChannelConfig>, StoreError> {
    let configs: Vec<ChannelConfig> = crate::store::settings::all(st, lab, crate::store::settings::CHANNEL).await?;
    Ok(configs.into_iter().map(|c| (c.kind, c)).collect())
}

pub async fn audience(
    st: &EventsState,
    lab: &str,
    sub: &Subscription,
    fe: &FeedEvent,
) -> Result<Vec<Person>, StoreError> {
    match &sub.audience {
        Audience::User { user_id } => Ok(directory::person(st, lab, user_id).await?.into_iter().collect()),
        Audience::Requester => match Audience::requester_of(&fe.event.data) {
            Some(id) => Ok(directory::person(st, lab, id).await?.into_iter().collect()),
            None => Ok(vec![]),
        },
        Audience::Roles { roles } => {
            let mut out = Vec::new();
            for r in roles {
                out.extend(directory::with_role(st, lab, *r).await?);
            }
            Ok(out)
        }
    }
}

/// Why a channel cannot send right now, if it cannot.
pub fn unavailable(kind: ChannelKind, config: Option<&ChannelConfig>) -> Option<String> {
    if kind == ChannelKind::InApp {
        return None;
    }
    match config {
        None => Some(format!("the lab has not configured {}", kind.as_str())),
        Some(c) if !c.enabled => Some(format!("{} is disabled for the lab", kind.as_str())),
        Some(c) if kind.needs_secret() && !c.secret_set => Some(format!("{} has no secret set", kind.as_str())),
        Some(_) => None,
    }
}

/// The notifications consumer.
pub struct Router;

/// A lab's subscriptions, and (read once, when an event matches) its channels and texts.
pub struct LabRouting {
    subs: Vec<Subscription>,
    channels: tokio::sync::OnceCell<HashMap<ChannelKind, ChannelConfig>>,
    texts: tokio::sync::OnceCell<Texts>,
}

const LAB_CREATED: &str = "tracseq.lab.created";

impl Consumer for Router {
    const NAME: &'static str = CONSUMER;
    type Lab = LabRouting;

    /// A new lab gets its default subscriptions before its first events are routed (the
    /// lab's events share a stream partition, so `lab.created` comes first).
    async fn prepare(st: &EventsState, events: &[&FeedEvent]) -> Result<(), WorkError> {
        for ev in events
            .iter()
            .filter(|e| e.event.kind == LAB_CREATED && e.replayid.is_none())
        {
            let admin = ev.event.data["admin_id"].as_str().unwrap_or_default();
            crate::handlers::subscriptions::write_defaults(st, &ev.event.labid, admin).await?;
        }
        Ok(())
    }

    async fn load(st: &EventsState, lab: &str) -> Result<LabRouting, WorkError> {
        Ok(LabRouting {
            subs: subscriptions(st, lab).await?,
            channels: Default::default(),
            texts: Default::default(),
        })
    }

    fn wants(lab: &LabRouting, ev: &FeedEvent) -> bool {
        let priority = Priority::of_event(&ev.event.kind);
        lab.subs.iter().any(|s| s.matches(&ev.event.kind, priority))
    }

    async fn handle(st: &EventsState, lab: &LabRouting, ev: &FeedEvent) -> Result<(), WorkError> {
        route(st, lab, ev).await
    }
}

async fn route(st: &EventsState, routing: &LabRouting, fe: &FeedEvent) -> Result<(), WorkError> {
    let lab = fe.event.labid.as_str();
    let priority = Priority::of_event(&fe.event.kind);
    let subs = routing.subs.iter().filter(|s| s.matches(&fe.event.kind, priority));
    for sub in subs {
        if sub.digest.is_some() {
            if digest_may_hold(sub, &fe.event.kind) {
                crate::digest::collect(st, sub, fe).await?;
            }
            continue;
        }
        let about = fe.event.data["user_id"].as_str();
        let people: Vec<Person> = audience(st, lab, sub, fe)
            .await?
            .into_iter()
            .filter(|p| may_receive(p.role, &p.id, &fe.event.kind, about))
            .collect();
        let lab_config = LabConfig {
            channels: routing.channels.get_or_try_init(|| channels(st, lab)).await?,
            texts: routing.texts.get_or_try_init(|| Texts::load(st, lab)).await?,
        };
        deliver(st, &lab_config, sub, fe, &people, priority).await?;
    }
    Ok(())
}

/// A digest is read by a fixed audience resolved when it is sent: it keeps an event above
/// the lab's work only when every role it names may see it.
fn digest_may_hold(sub: &Subscription, kind: &str) -> bool {
    let least = least_role(kind);
    match &sub.audience {
        Audience::Roles { roles } => roles.iter().all(|r| r.includes(least)),
        _ => least == tracseq_core::auth::Role::Guest,
    }
}

/// What delivering needs to know of a lab: its channels and its template texts.
pub struct LabConfig<'a> {
    pub channels: &'a HashMap<ChannelKind, ChannelConfig>,
    pub texts: &'a Texts,
}

/// One delivery per channel of `sub` (and per person, for per-recipient channels), for
/// `fe` at `priority`. Quiet hours hold anything below urgent.
pub async fn deliver(
    st: &EventsState,
    config: &LabConfig<'_>,
    sub: &Subscription,
    fe: &FeedEvent,
    people: &[Person],
    priority: Priority,
) -> Result<(), WorkError> {
    let event_ms = fe.time_ms();
    let release = match &sub.quiet_hours {
        Some(q) if priority != Priority::Urgent => q
            .check()
            .ok()
            .and_then(|w| w.release_at(jiff::Timestamp::now()))
            .map(|t| t.as_second()),
        _ => None,
    };
    let mut jobs = deliveries::Outbox::default();
    for &kind in &sub.channels {
        let recipients: Vec<Option<&Person>> = if kind.per_recipient() {
            people.iter().map(Some).collect()
        } else {
            vec![None]
        };
        for person in recipients {
            let recipient_key = person.map_or("lab", |p| p.id.as_str());
            let id = delivery_id(
                &fe.event.id,
                event_ms,
                fe.replayid.as_deref(),
                &sub.id,
                &format!("{}:{recipient_key}", kind.as_str()),
            );
            let vars = event_vars(&st.settings.app_url, fe, person);
            let to = person.and_then(|p| p.address(kind));
            let mut reason = unavailable(kind, config.channels.get(&kind));
            if reason.is_none() && kind == ChannelKind::Sms && to.is_none() {
                reason = Some("the recipient has no phone number".into());
            }
            let (subject, body) = match config.texts.render(kind, &vars) {
                Ok(t) => t,
                Err(e) => {
                    reason = reason.or(Some(format!("no template renders: {e}")));
                    (None, String::new())
                }
            };
            let status = match (&reason, release) {
                (Some(_), _) => DeliveryStatus::Skipped,
                (None, Some(_)) => DeliveryStatus::Scheduled,
                (None, None) => DeliveryStatus::Pending,
            };
            let message = Message {
                to,
                subject,
                body,
                link: vars["link"].as_str().map(str::to_owned),
            };
            let d = Delivery {
                subscription_id: Some(sub.id.clone()),
                user_id: person.map(|p| p.id.clone()),
                status,
                reason: reason.or_else(|| release.map(|_| "quiet hours".to_owned())),
                not_before: release,
                ..Delivery::new(id, fe, &Target::Channel(kind), priority, message)
            };
            deliveries::create(st, &d, &mut jobs).await?;
        }
    }
    jobs.flush(st).await
}
