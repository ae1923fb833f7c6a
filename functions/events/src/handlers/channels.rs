//! `GET /api/notifications/channels` and `PUT /api/notifications/channels/{kind}`: a
//! lab's email, SMS, Slack, Teams and in-app settings. Secrets (SMTP password, SMS token,
//! Slack/Teams webhook URL) go to SSM Parameter Store and are never shown again.

use crate::domain::channel::{ChannelKind, ChannelSettings, check_settings, check_url};
use crate::model::ChannelConfig;
use crate::router::channels;
use crate::state::EventsState;
use crate::store::settings;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, check_version, optional_version};
use tracseq_core::{FieldError, Problem, now_rfc3339};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    pub kind: ChannelKind,
    /// Whether the lab has saved settings (in-app needs none).
    pub configured: bool,
    pub enabled: bool,
    pub settings: ChannelSettings,
    pub secret_set: bool,
    pub version: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChannelList {
    pub items: Vec<ChannelView>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelUpdate {
    pub enabled: bool,
    #[serde(default)]
    pub settings: ChannelSettings,
    /// Write-only: the SMTP password, the SMS API token, or the Slack/Teams incoming
    /// webhook URL. Left out, the stored one stays.
    #[serde(default)]
    pub secret: Option<String>,
    /// The current version, when the channel was saved before (or If-Match).
    #[serde(default)]
    pub version: Option<u64>,
}

fn view(kind: ChannelKind, c: Option<&ChannelConfig>) -> ChannelView {
    match c {
        Some(c) => ChannelView {
            kind,
            configured: true,
            enabled: c.enabled,
            settings: c.settings.clone(),
            secret_set: c.secret_set,
            version: c.version,
        },
        None => ChannelView {
            kind,
            configured: false,
            enabled: kind == ChannelKind::InApp,
            settings: ChannelSettings::default(),
            secret_set: false,
            version: 0,
        },
    }
}

pub async fn list_channels(st: Arc<EventsState>, _req: Request, p: Principal) -> Result<Response, Problem> {
    let configs = channels(&st, &p.lab_id).await?;
    let items = ChannelKind::ALL.iter().map(|k| view(*k, configs.get(k))).collect();
    Ok(Response::ok(&ChannelList { items }))
}

pub async fn put_channel(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: ChannelUpdate = req.json()?;
    let raw_kind = req.path_param("kind")?;
    let kind = ChannelKind::ALL
        .iter()
        .copied()
        .find(|k| k.as_str() == raw_kind)
        .ok_or_else(|| Problem::not_found("channel"))?;
    let expected = optional_version(&req, body.version)?;
    let mut errors = check_settings(kind, &body.settings, st.settings.url_policy);
    let secret = body.secret.as_deref().map(str::trim);
    match (kind, secret) {
        (ChannelKind::InApp, Some(_)) => {
            errors.push(FieldError::field("secret", "not_applicable", "in-app needs no secret"));
        }
        (ChannelKind::Slack | ChannelKind::Teams, Some(url)) => {
            check_url("secret", url, st.settings.url_policy, &mut errors)
        }
        (_, Some(s)) if s.is_empty() || s.chars().count() > 512 => {
            errors.push(FieldError::field("secret", "length", "1 to 512 characters"));
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let current: Option<ChannelConfig> = settings::get(&st, &p.lab_id, settings::CHANNEL, kind.as_str()).await?;
    match (&current, expected) {
        (Some(_), None) => {
            return Err(Problem::new(
                428,
                "version_required",
                "this channel is configured: send its current version in the body or If-Match",
            ));
        }
        (Some(c), Some(v)) => check_version("channel", c.version, v)?,
        (None, Some(v)) if v != 0 => check_version("channel", 0, v)?,
        _ => {}
    }
    if kind.needs_secret() && secret.is_none() && !current.as_ref().is_some_and(|c| c.secret_set) && body.enabled {
        return Err(Problem::validation(vec![FieldError::field(
            "secret",
            "required",
            format!("{} needs its secret before it can be enabled", kind.as_str()),
        )]));
    }
    if let Some(s) = secret {
        st.put_secret(&st.secret_name(&p.lab_id, &format!("channels/{}", kind.as_str())), s)
            .await?;
    }
    let next = ChannelConfig {
        kind,
        enabled: body.enabled,
        settings: body.settings.clone(),
        secret_set: secret.is_some() || current.as_ref().is_some_and(|c| c.secret_set),
        version: current.as_ref().map_or(1, |c| c.version + 1),
        updated_at: now_rfc3339(),
        updated_by: p.user_id.clone(),
    };
    settings::put(
        &st,
        &p.lab_id,
        settings::CHANNEL,
        kind.as_str(),
        &next,
        current.as_ref().map(|c| c.version),
    )
    .await?;
    tracing::info!(
        channel = kind.as_str(),
        secret_changed = secret.is_some(),
        "channel saved"
    );
    Ok(Response::ok(&view(kind, Some(&next))))
}
