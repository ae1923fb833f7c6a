//! What every events function is built with, once per container: clients, settings from
//! template.yaml, and a short-lived cache of channel secrets.

use crate::domain::channel::UrlPolicy;
use crate::domain::delivery::RetryPolicy;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracseq_aws::auth::Auth;
use tracseq_aws::idempotency::IdempotencyStore;
use tracseq_aws::store::Table;
use tracseq_aws::{Init, InitError};
use tracseq_core::config::Env;

/// Settings from the function's environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub stage: String,
    pub url_policy: UrlPolicy,
    /// Consumer name → queue URL (`CONSUMER_QUEUES=notifications=https://…,webhooks=…`).
    pub consumers: HashMap<String, String>,
    /// Delivery target (`email`, … , `webhook`) → its worker's queue URL.
    pub delivery_queues: HashMap<String, String>,
    /// Delivery target → its dead-letter queue URL.
    pub dead_letters: HashMap<String, String>,
    pub retry: RetryPolicy,
    /// The web UI's base URL, for links in messages.
    pub app_url: String,
    /// SSM path under which per-lab channel and webhook secrets live.
    pub secrets_prefix: String,
    /// How long a worker holds a delivery while sending.
    pub lease_secs: i64,
    pub send_timeout: Duration,
    /// Most events one replay may re-deliver.
    pub replay_max: usize,
    /// Test hook, unset in every deployed stage: an event whose subject is
    /// `{this}before/…` or `{this}after/…` makes the publisher fail once, before or after
    /// sending its batch, as if its process died there.
    pub publish_fault: Option<String>,
    /// The operations alarm topic: deliveries that failed for good are announced there
    /// (`ALARM_TOPIC_ARN`; none when unset).
    pub alarm_topic: Option<String>,
    /// Where an event too large for a queue message is kept (`claims/…`), its message
    /// carrying only the key (`CLAIM_BUCKET`).
    pub claim_bucket: Option<String>,
}

fn pairs(env: &Env, name: &str) -> HashMap<String, String> {
    env.list(name)
        .iter()
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .collect()
}

/// Strict unless the local runner says otherwise (`OUTBOUND_URL_POLICY=allow-local`, which
/// no template sets): a deployed function with a missing or mistyped setting still refuses
/// private addresses, and a deployed stage refuses the local policy outright.
fn url_policy(env: &Env, stage: &str) -> Result<UrlPolicy, InitError> {
    match env.get("OUTBOUND_URL_POLICY") {
        None | Some("public-https") => Ok(UrlPolicy::PublicHttps),
        Some("allow-local") if stage == "local" => Ok(UrlPolicy::AllowLocal),
        Some(other) => Err(InitError::Other(format!(
            "OUTBOUND_URL_POLICY {other:?} is not allowed on stage {stage:?}"
        ))),
    }
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, InitError> {
        let stage = env.get("STAGE").unwrap_or("local");
        let retry = match env.get("RETRY_DELAYS_SECS") {
            Some(raw) => RetryPolicy::parse(raw).ok_or_else(|| {
                InitError::Other(format!("RETRY_DELAYS_SECS {raw:?}: seconds 0-900, comma-separated"))
            })?,
            None => RetryPolicy::default(),
        };
        let publish_fault = env
            .get("EVENTS_FAULT_PUBLISH")
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        Ok(Self {
            stage: stage.to_owned(),
            url_policy: url_policy(env, stage)?,
            consumers: pairs(env, "CONSUMER_QUEUES"),
            delivery_queues: pairs(env, "DELIVERY_QUEUES"),
            dead_letters: pairs(env, "DELIVERY_DLQS"),
            retry,
            app_url: env
                .get("APP_URL")
                .unwrap_or("http://127.0.0.1:3000")
                .trim_end_matches('/')
                .to_owned(),
            secrets_prefix: env
                .get("SECRETS_PREFIX")
                .map(str::to_owned)
                .unwrap_or_else(|| format!("/tracseq/{stage}/labs")),
            lease_secs: env.parse_or("DELIVERY_LEASE_SECS", 60)?,
            send_timeout: Duration::from_millis(env.parse_or("SEND_TIMEOUT_MS", 10_000)?),
            replay_max: env.parse_or("REPLAY_MAX_EVENTS", 5_000)?,
            publish_fault,
            alarm_topic: env.get("ALARM_TOPIC_ARN").filter(|v| !v.is_empty()).map(str::to_owned),
            claim_bucket: env.get("CLAIM_BUCKET").filter(|v| !v.is_empty()).map(str::to_owned),
        })
    }
}

pub struct EventsState {
    pub table: Table,
    pub auth: Arc<Auth>,
    pub idem: IdempotencyStore,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sns: aws_sdk_sns::Client,
    /// Outbound HTTP (webhooks, Slack, Teams, SMS): no redirects, so a receiver cannot
    /// bounce a signed request somewhere else.
    pub http: reqwest::Client,
    pub settings: Settings,
    secrets: Mutex<HashMap<String, (Instant, Option<String>)>>,
    /// The restore marker: digests wait while a restore runs; the publisher drops its copies.
    pub restore: tracseq_aws::maintenance::Marker,
    /// Event ids the publish fault hook already failed on (once each).
    pub faulted: Mutex<std::collections::HashSet<String>>,
}

/// How long a secret read from SSM is reused: a rotated secret is in use within a minute.
const SECRET_TTL: Duration = Duration::from_secs(60);

impl EventsState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let table = Table::new(init.clients.dynamodb.clone(), init.env.require("TABLE_NAME")?);
        let settings = Settings::from_env(&init.env)?;
        let mut http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.send_timeout)
            .user_agent("TracSeq-Notifications/1");
        if settings.url_policy == UrlPolicy::PublicHttps {
            http = http.dns_resolver(Arc::new(PublicOnly));
        }
        let http = http
            .build()
            .map_err(|e| InitError::Other(format!("HTTP client: {e}")))?;
        Ok(Arc::new(Self {
            idem: IdempotencyStore::new(table.clone()),
            table,
            auth: Auth::from_init(init).await?,
            sqs: init.clients.sqs.clone(),
            s3: init.clients.s3.clone(),
            ssm: aws_sdk_ssm::Client::new(&init.aws),
            sns: aws_sdk_sns::Client::new(&init.aws),
            http,
            settings,
            secrets: Mutex::new(HashMap::new()),
            faulted: Mutex::new(Default::default()),
            restore: tracseq_aws::maintenance::Marker::from_init(init),
        }))
    }

    /// The SSM parameter holding a lab's secret for `what` (`channels/email`, `webhooks/{id}`).
    pub fn secret_name(&self, lab: &str, what: &str) -> String {
        format!("{}/{lab}/{what}", self.settings.secrets_prefix)
    }

    pub async fn put_secret(&self, name: &str, value: &str) -> Result<(), tracseq_core::Problem> {
        self.ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| {
                tracing::error!(error = ?e, "storing a secret failed");
                tracseq_core::Problem::unavailable("the secret store is unavailable; try again")
            })?;
        self.forget_secret(name);
        Ok(())
    }

    pub async fn delete_secret(&self, name: &str) {
        if let Err(e) = self.ssm.delete_parameter().name(name).send().await {
            let missing = e.as_service_error().is_some_and(|s| s.is_parameter_not_found());
            if !missing {
                tracing::warn!(error = ?e, "deleting a secret failed; it is unreferenced");
            }
        }
        self.forget_secret(name);
    }

    fn forget_secret(&self, name: &str) {
        if let Ok(mut c) = self.secrets.lock() {
            c.remove(name);
        }
    }

    /// A secret by name (`None` when it was never set), cached for a minute.
    pub async fn secret(&self, name: &str) -> Result<Option<String>, String> {
        if let Ok(c) = self.secrets.lock()
            && let Some((at, v)) = c.get(name)
            && at.elapsed() < SECRET_TTL
        {
            return Ok(v.clone());
        }
        let value = match self.ssm.get_parameter().name(name).with_decryption(true).send().await {
            Ok(out) => out.parameter.and_then(|p| p.value),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => None,
            Err(e) => return Err(format!("reading the secret failed: {e:?}")),
        };
        if let Ok(mut c) = self.secrets.lock() {
            c.insert(name.to_owned(), (Instant::now(), value.clone()));
        }
        Ok(value)
    }
}

/// A DNS resolver that drops every address that is not public unicast (see
/// `domain::address`), so the check holds for the address actually connected to.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| crate::domain::address::is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                let e: Box<dyn std::error::Error + Send + Sync> = format!("{host} has no public address").into();
                return Err(e);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;
    use std::str::FromStr;

    #[tokio::test]
    async fn the_public_resolver_refuses_local_names() {
        let r = PublicOnly;
        for host in ["localhost", "127.0.0.1"] {
            let name = reqwest::dns::Name::from_str(host).unwrap();
            assert!(r.resolve(name).await.is_err(), "{host}");
        }
    }
}
