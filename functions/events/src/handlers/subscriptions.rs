//! `GET|POST /api/notifications/subscriptions`, `PATCH|DELETE …/{id}`. Anyone may
//! subscribe themselves (email, SMS, in-app); lab administrators manage the lab's
//! subscriptions for roles, requesters, other users and the shared Slack/Teams channels.

use super::{is_admin, lab_keys, patterns, text};
use crate::directory;
use crate::domain::channel::ChannelKind;
use crate::domain::priority::Priority;
use crate::domain::quiet::QuietHours;
use crate::domain::subscription::{Audience, Digest, EventPattern, Subscription};
use crate::domain::visibility::may_subscribe;
use crate::router::subscriptions;
use crate::state::EventsState;
use crate::store::settings;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_aws::store::StoreError;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, check_version, expected_version, optional_version};
use tracseq_core::named::parse_reported;
use tracseq_core::{FieldError, Problem, now_rfc3339};

/// Most subscriptions one lab may have.
pub const MAX_SUBSCRIPTIONS: usize = 200;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "QC failures", "event_types": ["sequencing.qc_failed"], "channels": ["in_app"], "min_priority": "normal"}))]
pub struct NewSubscription {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    #[schema(min_items = 1, max_items = 20)]
    #[schema(value_type = Vec<EventPattern>)]
    pub event_types: Vec<String>,
    /// `email`, `sms`, `slack`, `teams`, `in_app`.
    #[schema(min_items = 1, max_items = 5)]
    #[schema(value_type = Vec<ChannelKind>)]
    pub channels: Vec<String>,
    /// Whom to tell; yourself when left out.
    #[serde(default)]
    pub audience: Option<Audience>,
    /// `low` (default), `normal`, `high` or `urgent`.
    #[serde(default)]
    #[schema(value_type = Option<Priority>)]
    pub min_priority: Option<String>,
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// `hourly` or `daily`: one summary per window instead of a message per event
    /// (for a user or roles, not the requester).
    #[serde(default)]
    #[schema(value_type = Option<Digest>)]
    pub digest: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPatch {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(min_items = 1, max_items = 20)]
    #[schema(value_type = Option<Vec<EventPattern>>)]
    pub event_types: Option<Vec<String>>,
    /// `email`, `sms`, `slack`, `teams`, `in_app`.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 5)]
    #[schema(value_type = Option<Vec<ChannelKind>>)]
    pub channels: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Priority>)]
    pub min_priority: Option<String>,
    /// `null` removes the quiet hours.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<QuietHours>)]
    pub quiet_hours: Option<Option<QuietHours>>,
    /// `null` turns the digest off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Digest>)]
    pub digest: Option<Option<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    #[schema(required, nullable = false)]
    pub version: Option<u64>,
}

/// A field that is present (even as `null`) is `Some`; absent stays `None` by default.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionList {
    pub items: Vec<Subscription>,
}

/// Give a new lab its default subscriptions (on its `lab.created` event), in one
/// transaction that writes only new items: a redelivered event finds them written and
/// writes nothing, so a default the lab deleted meanwhile stays deleted.
pub async fn write_defaults(st: &EventsState, lab: &str, created_by: &str) -> Result<bool, StoreError> {
    let defaults = crate::domain::subscription::defaults(created_by, &now_rfc3339());
    settings::insert_all(
        st,
        lab,
        settings::SUBSCRIPTION,
        defaults.iter().map(|s| (s.id.as_str(), s)),
    )
    .await
}

/// Whether `p` may see and change `sub`: administrators all, others their own.
fn owns(p: &Principal, sub: &Subscription) -> bool {
    is_admin(p) || matches!(&sub.audience, Audience::User { user_id } if *user_id == p.user_id)
}

fn check_channels(raw: &[String], admin: bool, errors: &mut Vec<FieldError>) -> Vec<ChannelKind> {
    if raw.is_empty() || raw.len() > ChannelKind::ALL.len() {
        errors.push(FieldError::field("channels", "count", "1 to 5 channels"));
    }
    let mut out: Vec<ChannelKind> = Vec::new();
    for c in raw {
        if let Some(k) = parse_reported(errors, "channels", c, ChannelKind::parse, ChannelKind::names()) {
            if !k.per_recipient() && !admin {
                errors.push(
                    FieldError::field(
                        "channels",
                        "admin_only",
                        "the lab's shared channels are managed by administrators",
                    )
                    .with_value(c),
                );
            }
            if !out.contains(&k) {
                out.push(k);
            }
        }
    }
    out
}

fn check_priority(raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<Priority> {
    raw.and_then(|r| parse_reported(errors, "min_priority", r, Priority::parse, Priority::names()))
}

fn check_digest(raw: Option<&str>, audience: &Audience, errors: &mut Vec<FieldError>) -> Option<Digest> {
    let d = raw.and_then(|r| parse_reported(errors, "digest", r, Digest::parse, Digest::names()))?;
    if *audience == Audience::Requester {
        errors.push(FieldError::field(
            "digest",
            "not_for_requester",
            "a digest needs a fixed audience: a user or roles",
        ));
    }
    Some(d)
}

fn check_quiet(q: Option<&QuietHours>, errors: &mut Vec<FieldError>) {
    if let Some(q) = q
        && let Err(e) = q.check()
    {
        errors.push(FieldError::field("quiet_hours", "invalid", e.to_string()));
    }
}

/// 403 for an event type above the caller's role (the history's rule: a guest never hears
/// of other people's accounts, whatever the channel).
fn check_visible(p: &Principal, types: &[String]) -> Result<(), Problem> {
    let above: Vec<FieldError> = types
        .iter()
        .filter(|t| !may_subscribe(p.role, t))
        .map(|t| FieldError::field("event_types", "above_role", "your role may not hear of these events").with_value(t))
        .collect();
    if above.is_empty() {
        return Ok(());
    }
    Err(Problem::new(
        403,
        "event_type_forbidden",
        "your role may not subscribe to these event types",
    )
    .with_errors(above))
}

async fn find(st: &EventsState, p: &Principal, id: &str) -> Result<Subscription, Problem> {
    let sub: Option<Subscription> = if tracseq_core::keyed::is_valid_id(id) {
        settings::get(st, &p.lab_id, settings::SUBSCRIPTION, id).await?
    } else {
        None
    };
    // Someone else's subscription is as absent as a missing one.
    sub.filter(|s| owns(p, s))
        .ok_or_else(|| Problem::not_found("subscription"))
}

pub async fn list_subscriptions(st: Arc<EventsState>, _req: Request, p: Principal) -> Result<Response, Problem> {
    let mut items: Vec<Subscription> = subscriptions(&st, &p.lab_id)
        .await?
        .into_iter()
        .filter(|s| owns(&p, s))
        .collect();
    items.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    Ok(Response::ok(&SubscriptionList { items }))
}

pub async fn create_subscription(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewSubscription = req.json()?;
    let lab = lab_keys(&p)?;
    idempotent(&st.idem, &lab, &req, || async {
        let admin = is_admin(&p);
        let mut errors = Vec::new();
        let name = text("name", &body.name, 100, &mut errors);
        let event_types = patterns("event_types", &body.event_types, &mut errors);
        check_visible(&p, &event_types)?;
        let channels = check_channels(&body.channels, admin, &mut errors);
        let min_priority = check_priority(body.min_priority.as_deref(), &mut errors).unwrap_or(Priority::Low);
        check_quiet(body.quiet_hours.as_ref(), &mut errors);
        let audience = body.audience.clone().unwrap_or(Audience::User {
            user_id: p.user_id.clone(),
        });
        let digest = check_digest(body.digest.as_deref(), &audience, &mut errors);
        let unknown_user = match &audience {
            Audience::User { user_id } if admin && *user_id != p.user_id => {
                directory::person(&st, &p.lab_id, user_id).await?.is_none()
            }
            _ => false,
        };
        match &audience {
            Audience::User { user_id } if *user_id == p.user_id => {}
            _ if !admin => errors.push(FieldError::field(
                "audience",
                "admin_only",
                "only administrators subscribe others",
            )),
            Audience::User { user_id } if unknown_user => errors.push(
                FieldError::field("audience.user_id", "unknown", "no active user of this lab").with_value(user_id),
            ),
            Audience::Roles { roles } if roles.is_empty() || roles.len() > 6 => {
                errors.push(FieldError::field("audience.roles", "count", "1 to 6 roles"));
            }
            _ => {}
        }
        if !errors.is_empty() {
            return Err(Problem::validation(errors));
        }
        if subscriptions(&st, &p.lab_id).await?.len() >= MAX_SUBSCRIPTIONS {
            return Err(Problem::conflict(
                "too_many_subscriptions",
                format!("a lab has at most {MAX_SUBSCRIPTIONS} subscriptions"),
            ));
        }
        let now = now_rfc3339();
        let sub = Subscription {
            id: ulid::Ulid::new().to_string(),
            name,
            event_types,
            channels,
            audience,
            min_priority,
            quiet_hours: body.quiet_hours.clone(),
            digest,
            enabled: body.enabled.unwrap_or(true),
            default: false,
            created_by: p.user_id.clone(),
            version: 1,
            created_at: now.clone(),
            updated_at: now,
        };
        settings::put(&st, &p.lab_id, settings::SUBSCRIPTION, &sub.id, &sub, None).await?;
        Ok(Response::created(
            &format!("/api/notifications/subscriptions/{}", sub.id),
            &sub,
        ))
    })
    .await
}

pub async fn update_subscription(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let patch: SubscriptionPatch = req.json()?;
    let expected = expected_version(&req, patch.version)?;
    let current = find(&st, &p, req.path_param("id")?).await?;
    check_version("subscription", current.version, expected)?;
    let admin = is_admin(&p);
    let mut errors = Vec::new();
    let mut next = current.clone();
    if let Some(n) = &patch.name {
        next.name = text("name", n, 100, &mut errors);
    }
    if let Some(t) = &patch.event_types {
        next.event_types = patterns("event_types", t, &mut errors);
        check_visible(&p, &next.event_types)?;
    }
    if let Some(c) = &patch.channels {
        next.channels = check_channels(c, admin, &mut errors);
    }
    if let Some(pr) = check_priority(patch.min_priority.as_deref(), &mut errors) {
        next.min_priority = pr;
    }
    if let Some(q) = &patch.quiet_hours {
        check_quiet(q.as_ref(), &mut errors);
        next.quiet_hours = q.clone();
    }
    if let Some(d) = &patch.digest {
        next.digest = check_digest(d.as_deref(), &next.audience, &mut errors);
    }
    if let Some(e) = patch.enabled {
        next.enabled = e;
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    next.version += 1;
    next.updated_at = now_rfc3339();
    settings::put(
        &st,
        &p.lab_id,
        settings::SUBSCRIPTION,
        &next.id,
        &next,
        Some(current.version),
    )
    .await?;
    Ok(Response::ok(&next))
}

pub async fn delete_subscription(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let current = find(&st, &p, req.path_param("id")?).await?;
    if let Some(v) = optional_version(&req, None)? {
        check_version("subscription", current.version, v)?;
    }
    settings::delete(&st, &p.lab_id, settings::SUBSCRIPTION, &current.id, current.version).await?;
    Ok(Response::new(204))
}
