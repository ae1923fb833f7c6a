//! Access-token signing keys, kept in SSM Parameter Store.
//!
//! Two parameters per deployment: the private keys (a `SecureString`, read only by the
//! functions that issue tokens) and the public keys as a JWKS (a plain `String`, read by
//! every function that verifies tokens and served at `/.well-known/jwks.json`). Rotation
//! adds a new key and keeps the previous one, so tokens signed before a rotation stay
//! valid until they expire; keys older than that are dropped.

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use aws_sdk_ssm::types::ParameterType;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use serde::{Deserialize, Serialize};
use tracseq_core::auth::Verifier;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("SSM: {0}")]
    Ssm(String),
    #[error("key material is invalid: {0}")]
    Invalid(String),
    #[error("no signing key exists yet")]
    Missing,
}

/// One private key (PKCS#8, base64) with its id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrivateKey {
    pub kid: String,
    pub pkcs8: String,
    pub created_at: i64,
    /// Nobody signs with the key before this time, so every verifier has seen it in the
    /// public set first.
    #[serde(default)]
    pub activates_at: i64,
}

/// A public key as a JWK (RFC 7517), RSA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    /// Modulus, base64url.
    pub n: String,
    /// Public exponent, base64url.
    pub e: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// The parameter names.
#[derive(Debug, Clone)]
pub struct KeyParams {
    pub private: String,
    pub public: String,
}

/// Generate a 2048-bit RSA key pair.
pub fn generate(now: i64) -> Result<(PrivateKey, Jwk), KeyError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|e| KeyError::Invalid(e.to_string()))?;
    let der: Pkcs8V1Der = pair.as_der().map_err(|e| KeyError::Invalid(e.to_string()))?;
    let public = pair.public_key();
    let kid = ulid::Ulid::new().to_string();
    let jwk = Jwk {
        kty: "RSA".into(),
        n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
        e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        kid: kid.clone(),
        alg: "RS256".into(),
        use_: "sig".into(),
    };
    Ok((
        PrivateKey {
            kid,
            pkcs8: STANDARD.encode(der.as_ref()),
            created_at: now,
            activates_at: now,
        },
        jwk,
    ))
}

/// A verifier trusting every key of `jwks`.
pub fn verifier(jwks: &Jwks, issuer: &str, audience: &str) -> Result<Verifier, KeyError> {
    let mut v = Verifier::new(issuer, audience);
    for k in &jwks.keys {
        v.add_rsa_components(&k.kid, &k.n, &k.e)
            .map_err(|e| KeyError::Invalid(e.to_string()))?;
    }
    Ok(v)
}

/// The newest active private key, ready to sign (the newest of all while none is active).
pub fn signing_key(keys: &[PrivateKey], now: i64) -> Result<(String, EncodingKey), KeyError> {
    let newest = keys
        .iter()
        .filter(|k| k.activates_at <= now)
        // Kids are ULIDs: they order keys created within the same second.
        .max_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)))
        .or_else(|| keys.iter().min_by_key(|k| k.activates_at))
        .ok_or(KeyError::Missing)?;
    let der = STANDARD
        .decode(&newest.pkcs8)
        .map_err(|e| KeyError::Invalid(e.to_string()))?;
    let key = tracseq_core::auth::rsa_signing_key(&der).map_err(|e| KeyError::Invalid(e.to_string()))?;
    Ok((newest.kid.clone(), key))
}

async fn get_param(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<Option<String>, KeyError> {
    match ssm.get_parameter().name(name).with_decryption(true).send().await {
        Ok(out) => Ok(out.parameter.and_then(|p| p.value)),
        Err(e) if aws_sdk_ssm::error::ProvideErrorMetadata::code(&e) == Some("ParameterNotFound") => Ok(None),
        Err(e) => Err(KeyError::Ssm(format!("{e:?}").chars().take(300).collect())),
    }
}

async fn put_param(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    value: &str,
    secure: bool,
    overwrite: bool,
) -> Result<bool, KeyError> {
    let kind = if secure {
        ParameterType::SecureString
    } else {
        ParameterType::String
    };
    match ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .overwrite(overwrite)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if aws_sdk_ssm::error::ProvideErrorMetadata::code(&e) == Some("ParameterAlreadyExists") => Ok(false),
        Err(e) => Err(KeyError::Ssm(format!("{e:?}").chars().take(300).collect())),
    }
}

/// The public keys (empty when none were created yet).
pub async fn load_public(ssm: &aws_sdk_ssm::Client, params: &KeyParams) -> Result<Jwks, KeyError> {
    match get_param(ssm, &params.public).await? {
        Some(raw) => serde_json::from_str(&raw).map_err(|e| KeyError::Invalid(e.to_string())),
        None => Ok(Jwks::default()),
    }
}

pub async fn load_private(ssm: &aws_sdk_ssm::Client, params: &KeyParams) -> Result<Vec<PrivateKey>, KeyError> {
    match get_param(ssm, &params.private).await? {
        Some(raw) => serde_json::from_str(&raw).map_err(|e| KeyError::Invalid(e.to_string())),
        None => Ok(Vec::new()),
    }
}

/// Make sure a key exists: the first issuing function to start creates it. Two starting
/// at once both try; SSM keeps the first (`Overwrite=false`) and the other reads it back.
pub async fn ensure(ssm: &aws_sdk_ssm::Client, params: &KeyParams, now: i64) -> Result<Vec<PrivateKey>, KeyError> {
    let existing = load_private(ssm, params).await?;
    if !existing.is_empty() {
        return Ok(existing);
    }
    let (private, public) = generate(now)?;
    let body = serde_json::to_string(&vec![private]).map_err(|e| KeyError::Invalid(e.to_string()))?;
    if put_param(ssm, &params.private, &body, true, false).await? {
        let jwks = serde_json::to_string(&Jwks { keys: vec![public] }).map_err(|e| KeyError::Invalid(e.to_string()))?;
        put_param(ssm, &params.public, &jwks, false, true).await?;
    }
    load_private(ssm, params).await
}

/// Add a new signing key, active after `activation_delay` seconds; keep the one before it
/// (its tokens are still live); drop older ones.
pub async fn rotate(
    ssm: &aws_sdk_ssm::Client,
    params: &KeyParams,
    now: i64,
    activation_delay: i64,
) -> Result<String, KeyError> {
    let mut private = load_private(ssm, params).await?;
    let mut public = load_public(ssm, params).await?;
    private.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    private.truncate(1);
    let (mut new_private, new_public) = generate(now)?;
    new_private.activates_at = now + activation_delay;
    let kid = new_private.kid.clone();
    private.insert(0, new_private);
    let keep: Vec<&str> = private.iter().map(|k| k.kid.as_str()).collect();
    public.keys.retain(|k| keep.contains(&k.kid.as_str()));
    public.keys.insert(0, new_public);
    let priv_body = serde_json::to_string(&private).map_err(|e| KeyError::Invalid(e.to_string()))?;
    let pub_body = serde_json::to_string(&public).map_err(|e| KeyError::Invalid(e.to_string()))?;
    // Public first: a token signed with the new key must never meet a verifier without it.
    put_param(ssm, &params.public, &pub_body, false, true).await?;
    put_param(ssm, &params.private, &priv_body, true, true).await?;
    Ok(kid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify() {
        let (private, jwk) = generate(1).unwrap();
        let (kid, enc) = signing_key(std::slice::from_ref(&private), 1).unwrap();
        assert_eq!(kid, jwk.kid);
        let v = verifier(&Jwks { keys: vec![jwk] }, "iss", "aud").unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = tracseq_core::auth::Claims {
            sub: "u".into(),
            lab: "l".into(),
            role: tracseq_core::auth::Role::Guest,
            sid: "s".into(),
            iss: "iss".into(),
            aud: "aud".into(),
            exp: now + 60,
            iat: now,
            nbf: None,
            jti: "j".into(),
            op: false,
        };
        let mut h = jsonwebtoken::Header::new(tracseq_core::auth::ALGORITHM);
        h.kid = Some(kid);
        let token = jsonwebtoken::encode(&h, &claims, &enc).unwrap();
        assert_eq!(v.verify(&token).unwrap().lab_id, "l");
    }

    #[test]
    fn a_key_signs_only_once_active() {
        let (mut old, _) = generate(10).unwrap();
        old.activates_at = 10;
        let (mut new, _) = generate(20).unwrap();
        new.activates_at = 100;
        let keys = [old.clone(), new.clone()];
        assert_eq!(signing_key(&keys, 50).unwrap().0, old.kid);
        assert_eq!(signing_key(&keys, 100).unwrap().0, new.kid);
    }
}
