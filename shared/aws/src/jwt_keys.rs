//! Access-token signing keys, kept in SSM Parameter Store.
//!
//! Two parameters per deployment: the private keys (a `SecureString`, read only by the
//! functions that issue tokens) and the public keys as a JWKS (a plain `String`, read by
//! every function that verifies tokens and served at `/.well-known/jwks.json`). Rotation
//! adds a new key and keeps the one signing now, so tokens signed before a rotation stay
//! valid until they expire; older keys, and pending keys that never signed, are dropped
//! ([`plan_rotation`]).

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
/// The key that signs at `now`: the newest active one, or (before any is active) the one
/// that activates first.
pub fn signer(keys: &[PrivateKey], now: i64) -> Option<&PrivateKey> {
    keys.iter()
        .filter(|k| k.activates_at <= now)
        // Kids are ULIDs: they order keys created within the same second.
        .max_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)))
        .or_else(|| keys.iter().min_by_key(|k| k.activates_at))
}

/// The key sets after adding `new` at `now`: the new key and the key signing now. Older
/// keys go, and so do pending keys that never signed (a second rotation within the
/// activation delay must not drop the key in use). A published set that lacks the signing
/// key is refused rather than rewritten without it, which would reject every live token.
pub fn plan_rotation(
    private: &[PrivateKey],
    public: &Jwks,
    new: (PrivateKey, Jwk),
    now: i64,
) -> Result<(Vec<PrivateKey>, Jwks), KeyError> {
    let (new_private, new_public) = new;
    let mut keys = vec![new_private];
    let mut jwks = vec![new_public];
    if let Some(current) = signer(private, now) {
        let jwk = public
            .keys
            .iter()
            .find(|k| k.kid == current.kid)
            .cloned()
            .ok_or_else(|| KeyError::Invalid(format!("the published keys lack the signing key {}", current.kid)))?;
        keys.push(current.clone());
        jwks.push(jwk);
    }
    Ok((keys, Jwks { keys: jwks }))
}

/// Replace the signing key at once (after an in-place restore, which revokes every
/// session): the new key signs from `now`, and the private set holds it alone. The old
/// public keys stay published until the next scheduled rotation drops them: a warm
/// function may sign with its cached key for a few minutes yet, and its tokens must verify
/// (every older token is refused anyway, its session being revoked). The public set is
/// written first, so a crash between the writes leaves the key that signs verifiable.
/// Only the public set is read; the private one is overwritten, never read.
pub async fn replace(ssm: &aws_sdk_ssm::Client, params: &KeyParams, now: i64) -> Result<String, KeyError> {
    let public = load_public(ssm, params).await?;
    let (private, jwk) = generate(now)?;
    let kid = private.kid.clone();
    let mut keys = vec![jwk];
    keys.extend(public.keys.into_iter().filter(|k| k.kid != kid));
    put_param(ssm, &params.public, &json(&Jwks { keys })?, false, true).await?;
    put_param(ssm, &params.private, &json(&vec![private])?, true, true).await?;
    Ok(kid)
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, KeyError> {
    serde_json::to_string(v).map_err(|e| KeyError::Invalid(e.to_string()))
}

pub fn signing_key(keys: &[PrivateKey], now: i64) -> Result<(String, EncodingKey), KeyError> {
    let newest = signer(keys, now).ok_or(KeyError::Missing)?;
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

/// Make sure a key exists, active at once: the rotation function's `if_missing` run after a
/// deploy (and the local runner's start). Two runs at once both try; SSM keeps the first
/// (`Overwrite=false`) and the other reads it back.
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
    let private = load_private(ssm, params).await?;
    if private.is_empty() {
        // Nothing signs yet, so nothing needs the delay: the first key is active at once.
        let keys = ensure(ssm, params, now).await?;
        return signer(&keys, now).map(|k| k.kid.clone()).ok_or(KeyError::Missing);
    }
    let public = load_public(ssm, params).await?;
    let (mut new_private, new_public) = generate(now)?;
    new_private.activates_at = now + activation_delay;
    let kid = new_private.kid.clone();
    let (private, public) = plan_rotation(&private, &public, (new_private, new_public), now)?;
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
        let keys = std::slice::from_ref(&private);
        assert_eq!(signing_key(keys, 1).unwrap().0, jwk.kid);
        let v = verifier(&Jwks { keys: vec![jwk] }, "iss", "aud").unwrap();
        assert_eq!(v.verify(&token_of(keys, 1)).unwrap().lab_id, "l");
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

    fn token_of(keys: &[PrivateKey], now: i64) -> String {
        let (kid, enc) = signing_key(keys, now).unwrap();
        let claims = tracseq_core::auth::Claims {
            sub: "u".into(),
            lab: "l".into(),
            role: tracseq_core::auth::Role::Guest,
            sid: "s".into(),
            iss: "iss".into(),
            aud: "aud".into(),
            exp: time::OffsetDateTime::now_utc().unix_timestamp() + 600,
            iat: now,
            nbf: None,
            jti: "j".into(),
            op: false,
        };
        let mut h = jsonwebtoken::Header::new(tracseq_core::auth::ALGORITHM);
        h.kid = Some(kid);
        jsonwebtoken::encode(&h, &claims, &enc).unwrap()
    }

    fn rotated(private: &[PrivateKey], public: &Jwks, now: i64, delay: i64) -> (Vec<PrivateKey>, Jwks) {
        let (mut k, jwk) = generate(now).unwrap();
        k.activates_at = now + delay;
        plan_rotation(private, public, (k, jwk), now).unwrap()
    }

    #[test]
    fn rotating_twice_within_the_delay_keeps_the_key_in_use() {
        let (mut k0, j0) = generate(0).unwrap();
        k0.activates_at = 0;
        let (private, public) = (vec![k0.clone()], Jwks { keys: vec![j0] });
        let live = token_of(&private, 1000);
        let (private, public) = rotated(&private, &public, 1000, 900);
        let (private, public) = rotated(&private, &public, 1100, 900);
        // k0 still signs, and everything it signed still verifies.
        assert_eq!(signer(&private, 1200).unwrap().kid, k0.kid);
        let v = verifier(&public, "iss", "aud").unwrap();
        assert!(v.verify(&live).is_ok());
        assert!(v.verify(&token_of(&private, 1200)).is_ok());
        assert_eq!(private.len(), 2, "the pending key that never signed is gone");
        // Once the newest is active, the next rotation keeps it and drops k0.
        let (private, public) = rotated(&private, &public, 2100, 900);
        assert_ne!(signer(&private, 2100).unwrap().kid, k0.kid);
        assert!(!public.keys.iter().any(|k| k.kid == k0.kid));
    }

    #[test]
    fn a_crash_between_the_writes_leaves_a_set_that_verifies_the_signer() {
        let (mut k0, j0) = generate(0).unwrap();
        k0.activates_at = 0;
        let (old_private, old_public) = (vec![k0], Jwks { keys: vec![j0] });
        let (_, new_public) = rotated(&old_private, &old_public, 1000, 900);
        // The public set is written first; a crash before the private write leaves the old
        // private keys beside the new public set: the signer is published, the set is not empty.
        let v = verifier(&new_public, "iss", "aud").unwrap();
        assert!(v.verify(&token_of(&old_private, 1000)).is_ok());
        // The next run starts from that state and ends consistent.
        let (private, public) = rotated(&old_private, &new_public, 1001, 900);
        let v = verifier(&public, "iss", "aud").unwrap();
        assert!(v.verify(&token_of(&private, 1001)).is_ok());
        // A published set without the signer is refused, not rewritten without it.
        let (k, jwk) = generate(1002).unwrap();
        let err = plan_rotation(&private, &Jwks::default(), (k, jwk), 1002).unwrap_err();
        assert!(err.to_string().contains("lack the signing key"), "{err}");
    }
}
