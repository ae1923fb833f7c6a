//! The authenticator of every protected route: verifies the access token against the
//! deployment's public keys (from SSM, reloaded when an unknown `kid` shows up after a
//! rotation) and checks that the token's session is still live, so logout and password
//! changes take effect at once rather than when the token expires.

use crate::jwt_keys::{self, KeyParams};
use crate::store::Table;
use crate::{Init, InitError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tracseq_core::auth::{AuthError, Principal, Verifier};
use tracseq_core::function::BoxFuture;
use tracseq_core::http::Authenticator;

/// Session items: `SESSION#{sid}` / `SESSION` (global: login precedes the lab).
pub fn session_pk(sid: &str) -> String {
    format!("SESSION#{sid}")
}
pub const SESSION_SK: &str = "SESSION";
/// Partitions of what lets someone in besides a session: refresh tokens, password-reset
/// tokens and account mail (which holds a reset or invitation token). A restore brings
/// back old ones, so an in-place restore deletes them all and revokes every session.
pub const CREDENTIAL_PREFIXES: &[&str] = &["REFRESH#", "RESET#", "ACCOUNTMAIL#"];
pub const SESSION_PREFIX: &str = "SESSION#";

/// Token settings every function shares.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub issuer: String,
    pub audience: String,
    pub keys: KeyParams,
}

impl TokenConfig {
    pub fn from_init(init: &Init) -> Result<Self, InitError> {
        let env = &init.env;
        Ok(Self {
            issuer: env.require("JWT_ISSUER")?.to_owned(),
            audience: env.require("JWT_AUDIENCE")?.to_owned(),
            keys: KeyParams {
                private: env.require("JWT_PRIVATE_KEYS_PARAM")?.to_owned(),
                public: env.require("JWT_PUBLIC_KEYS_PARAM")?.to_owned(),
            },
        })
    }
}

/// How often an unknown `kid` may trigger a reload of the public keys.
const RELOAD_INTERVAL: Duration = Duration::from_secs(10);

pub struct Auth {
    config: TokenConfig,
    /// How long a loaded public key set is trusted before it is read again, so a key
    /// dropped by rotation stops being accepted.
    max_age: Duration,
    ssm: aws_sdk_ssm::Client,
    table: Table,
    verifier: RwLock<(Arc<Verifier>, Instant)>,
    /// No key was published when the set was last read (a function that started before
    /// the first issuer): reload on every unknown key until one appears.
    empty: std::sync::atomic::AtomicBool,
}

impl Auth {
    pub async fn from_init(init: &Init) -> Result<Arc<Self>, InitError> {
        let config = TokenConfig::from_init(init)?;
        let table = Table::new(init.clients.dynamodb.clone(), init.env.require("TABLE_NAME")?);
        let ssm = aws_sdk_ssm::Client::new(&init.aws);
        let jwks = jwt_keys::load_public(&ssm, &config.keys)
            .await
            .map_err(|e| InitError::Other(e.to_string()))?;
        let empty = jwks.keys.is_empty();
        let v =
            jwt_keys::verifier(&jwks, &config.issuer, &config.audience).map_err(|e| InitError::Other(e.to_string()))?;
        let max_age = Duration::from_secs(init.env.parse_or("JWT_KEYS_MAX_AGE_SECS", 300u64)?);
        Ok(Arc::new(Self {
            config,
            max_age,
            ssm,
            table,
            verifier: RwLock::new((Arc::new(v), Instant::now())),
            empty: std::sync::atomic::AtomicBool::new(empty),
        }))
    }

    fn current(&self) -> (Arc<Verifier>, Duration) {
        let g = self.verifier.read().unwrap_or_else(|p| p.into_inner());
        (g.0.clone(), g.1.elapsed())
    }

    /// Reload the public keys, at most once per [`RELOAD_INTERVAL`].
    async fn reload(&self) -> Option<Arc<Verifier>> {
        let due = self.empty.load(std::sync::atomic::Ordering::Relaxed)
            || self
                .verifier
                .read()
                .map(|g| g.1.elapsed() >= RELOAD_INTERVAL.min(self.max_age))
                .unwrap_or(true);
        if !due {
            return None;
        }
        if let Ok(mut g) = self.verifier.write() {
            g.1 = Instant::now();
        }
        let jwks = jwt_keys::load_public(&self.ssm, &self.config.keys).await.ok()?;
        self.empty
            .store(jwks.keys.is_empty(), std::sync::atomic::Ordering::Relaxed);
        let v = Arc::new(jwt_keys::verifier(&jwks, &self.config.issuer, &self.config.audience).ok()?);
        if let Ok(mut g) = self.verifier.write() {
            g.0 = v.clone();
        }
        Some(v)
    }

    async fn check(self: Arc<Self>, token: String) -> Result<Principal, AuthError> {
        let (mut verifier, age) = self.current();
        if age >= self.max_age {
            verifier = self.reload().await.unwrap_or(verifier);
        }
        let principal = match verifier.verify(&token) {
            Err(AuthError::UnknownKey) => match self.reload().await {
                Some(v) => v.verify(&token)?,
                None => return Err(AuthError::UnknownKey),
            },
            other => other?,
        };
        let session = self
            .table
            .get(&session_pk(&principal.session_id), SESSION_SK)
            .await
            .map_err(|e| {
                // A DynamoDB hiccup must not log everyone out: 503 with Retry-After.
                tracing::error!(error = %e, "session lookup failed");
                AuthError::Unavailable
            })?;
        let live = session.is_some_and(|s| {
            let field = |k: &str| s.get(k).and_then(|v| v.as_s().ok()).map(String::as_str);
            field("lab_id") == Some(principal.lab_id.as_str())
                && field("user_id") == Some(principal.user_id.as_str())
                && !s
                    .get("revoked")
                    .and_then(|v| v.as_bool().ok())
                    .copied()
                    .unwrap_or(false)
        });
        if live { Ok(principal) } else { Err(AuthError::Revoked) }
    }
}

impl Authenticator for Auth {
    fn authenticate(self: Arc<Self>, token: String) -> BoxFuture<Result<Principal, AuthError>> {
        Box::pin(self.check(token))
    }
}
