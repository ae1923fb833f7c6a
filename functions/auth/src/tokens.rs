//! Issuing tokens: the signed access token (15 minutes) and the opaque refresh token
//! (30 days), which is stored only as its SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use sha2::{Digest, Sha256};
use tracseq_aws::auth::TokenConfig;
use tracseq_core::Problem;
use tracseq_core::auth::{ALGORITHM, Claims};

use crate::model::User;

#[derive(Clone)]
pub struct Issuer {
    pub config: TokenConfig,
    kid: String,
    key: EncodingKey,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
}

impl Issuer {
    pub fn new(config: TokenConfig, kid: String, key: EncodingKey, access_ttl: i64, refresh_ttl: i64) -> Self {
        Self {
            config,
            kid,
            key,
            access_ttl,
            refresh_ttl,
        }
    }

    /// An access token for `user` in session `sid`, valid `access_ttl` seconds from `now`.
    pub fn access_token(&self, user: &User, sid: &str, now: i64) -> Result<String, Problem> {
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
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| {
            tracing::error!(error = %e, "token signing failed");
            Problem::internal()
        })
    }
}

/// A new refresh token: 256 random bits, base64url.
pub fn new_refresh_token() -> Result<String, Problem> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Problem::internal())?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// How a secret token is stored and looked up.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
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
