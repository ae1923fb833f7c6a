//! Issuing tokens: the signed access token (15 minutes) and the opaque refresh token
//! (30 days), which is stored only as its SHA-256.

use jsonwebtoken::{EncodingKey, Header};
use std::sync::RwLock;
use std::time::{Duration, Instant};
use tracseq_aws::auth::TokenConfig;
use tracseq_aws::jwt_keys;
use tracseq_core::Problem;
use tracseq_core::auth::{ALGORITHM, Claims};

use crate::model::User;

/// Signs access tokens with the newest active key, reading the key set again after
/// `max_age` so a rotated key is picked up by warm containers too. The key is read on first
/// use, not at start: only the functions that sign (login, refresh) read it, and only they
/// may (the other functions' roles cannot). Keys are created by the rotation function
/// alone (`auth_rotate_keys`, `{"if_missing": true}` after a deploy).
pub struct Issuer {
    pub config: TokenConfig,
    ssm: aws_sdk_ssm::Client,
    key: RwLock<Option<(String, EncodingKey, Instant)>>,
    max_age: Duration,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
}

impl Issuer {
    pub fn new(config: TokenConfig, ssm: aws_sdk_ssm::Client, ttls: (i64, i64), max_age: Duration) -> Self {
        Self {
            config,
            ssm,
            key: RwLock::new(None),
            max_age,
            access_ttl: ttls.0,
            refresh_ttl: ttls.1,
        }
    }

    async fn key(&self, now: i64) -> Result<(String, EncodingKey), Problem> {
        let cached = self.key.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some((kid, key, loaded)) = &cached
            && loaded.elapsed() < self.max_age
        {
            return Ok((kid.clone(), key.clone()));
        }
        match jwt_keys::load_private(&self.ssm, &self.config.keys)
            .await
            .and_then(|keys| jwt_keys::signing_key(&keys, now))
        {
            Ok((kid, key)) => {
                if let Ok(mut g) = self.key.write() {
                    *g = Some((kid.clone(), key.clone(), Instant::now()));
                }
                Ok((kid, key))
            }
            // Keep signing with the key we have; it stays valid through one rotation.
            Err(e) => match cached {
                Some((kid, key, _)) => {
                    tracing::warn!(error = %e, "reloading the signing key failed");
                    Ok((kid, key))
                }
                None => {
                    tracing::error!(error = %e, "no signing key (the rotation function creates the first)");
                    Err(Problem::unavailable("signing keys are unavailable"))
                }
            },
        }
    }

    /// An access token for `user` in session `sid`, valid `access_ttl` seconds from `now`.
    pub async fn access_token(&self, user: &User, sid: &str, now: i64) -> Result<String, Problem> {
        let (kid, key) = self.key(now).await?;
        let claims = Claims {
            sub: user.id.clone(),
            lab: user.lab_id.clone(),
            role: user.role,
            sid: sid.to_owned(),
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            exp: now + self.access_ttl,
            iat: now,
            nbf: None,
            jti: ulid::Ulid::new().to_string(),
            op: user.operator,
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(kid);
        jsonwebtoken::encode(&header, &claims, &key).map_err(|e| {
            tracing::error!(error = %e, "token signing failed");
            Problem::internal()
        })
    }
}

/// A new refresh token: 256 random bits, base64url.
pub fn new_refresh_token() -> Result<String, Problem> {
    tracseq_core::secret::random_token()
}

/// How a secret token is stored and looked up.
pub fn token_hash(token: &str) -> String {
    tracseq_core::secret::hash(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let a = new_refresh_token().unwrap();
        let b = new_refresh_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
