//! What every auth function is built with, once per container (the reads and writes live
//! in [`crate::store`]).

use crate::password::Hasher;
use crate::tokens::Issuer;
use std::sync::Arc;
use tracseq_aws::auth::{Auth, TokenConfig};
use tracseq_aws::idempotency::IdempotencyStore;
use tracseq_aws::store::{Table, now_epoch};
use tracseq_aws::{Init, InitError};

/// Login protection settings (template environment; defaults as the README's security model states).
#[derive(Debug, Clone)]
pub struct Limits {
    pub per_email_per_minute: u32,
    pub per_ip_per_minute: u32,
    pub lockout_after: u32,
    pub lockout_secs: i64,
    pub reset_ttl_secs: i64,
}

pub struct AuthState {
    pub table: Table,
    pub auth: Arc<Auth>,
    pub issuer: Issuer,
    pub hasher: Hasher,
    pub idem: IdempotencyStore,
    pub limits: Limits,
    pub ssm: aws_sdk_ssm::Client,
    /// Audit log exports (their bucket and worker queue).
    pub exports: tracseq_aws::export::Exports,
}

impl AuthState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let env = &init.env;
        let table = Table::new(init.clients.dynamodb.clone(), env.require("TABLE_NAME")?);
        let config = TokenConfig::from_init(init)?;
        let ssm = aws_sdk_ssm::Client::new(&init.aws);
        let ttls = (
            env.parse_or("ACCESS_TOKEN_TTL", 900)?,
            env.parse_or("REFRESH_TOKEN_TTL", 30 * 86400)?,
        );
        let max_age = std::time::Duration::from_secs(env.parse_or("SIGNING_KEYS_MAX_AGE_SECS", 300)?);
        let issuer = Issuer::new(config, ssm.clone(), ttls, max_age);
        let limits = Limits {
            per_email_per_minute: env.parse_or("LOGIN_LIMIT_PER_EMAIL", 10)?,
            per_ip_per_minute: env.parse_or("LOGIN_LIMIT_PER_IP", 60)?,
            lockout_after: env.parse_or("LOCKOUT_THRESHOLD", 5)?,
            lockout_secs: env.parse_or("LOCKOUT_SECONDS", 900)?,
            reset_ttl_secs: env.parse_or("PASSWORD_RESET_TTL", 3600)?,
        };
        let hasher = Hasher::shared(env.parse_or("HASH_CONCURRENCY", 2)?);
        Ok(Arc::new(Self {
            exports: tracseq_aws::export::Exports::from_init(init, table.clone())?,
            auth: Auth::from_init(init).await?,
            idem: IdempotencyStore::new(table.clone()),
            table,
            issuer,
            hasher,
            limits,
            ssm,
        }))
    }
}

pub use tracseq_core::http::{check_version, expected_version};

pub fn now() -> i64 {
    now_epoch()
}
