//! Roles, token claims and JWT verification.
//!
//! Verification pins everything an attacker could otherwise choose: the algorithm (RS256
//! only, so `alg: none` and HS256-with-the-public-key are refused), the issuer, the
//! audience, and the key (by `kid`, from our own key set only).
//!
//! RS256 rather than ES256: every request verifies a token and only a login signs one.
//! RSA verification measured 16 µs against 51 µs for P-256 (`make bench`), and the ~1 ms
//! RSA signature is paid once per login or refresh. The lab a request acts in
//! comes from the verified `lab` claim and from nowhere else.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Lab roles, lowest first; a role includes every right of the roles below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Guest,
    DataAnalyst,
    ResearchScientist,
    LabTechnician,
    PrincipalInvestigator,
    LabAdministrator,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Guest,
        Role::DataAnalyst,
        Role::ResearchScientist,
        Role::LabTechnician,
        Role::PrincipalInvestigator,
        Role::LabAdministrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Guest => "guest",
            Role::DataAnalyst => "data_analyst",
            Role::ResearchScientist => "research_scientist",
            Role::LabTechnician => "lab_technician",
            Role::PrincipalInvestigator => "principal_investigator",
            Role::LabAdministrator => "lab_administrator",
        }
    }

    /// Whether this role includes `required`.
    pub fn includes(self, required: Role) -> bool {
        self >= required
    }
}

/// The access token's claims (docs/domain.md: sub, lab, role, sid, iss, aud, exp, iat, jti).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub lab: String,
    pub role: Role,
    pub sid: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    /// Platform operator: may create labs. Only the local seeded admin has it by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub op: bool,
}

/// The verified caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub lab_id: String,
    pub role: Role,
    pub session_id: String,
    pub token_id: String,
    pub operator: bool,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("malformed authorization header")]
    Malformed,
    #[error("token signed with an unknown key")]
    UnknownKey,
    #[error("token is expired")]
    Expired,
    #[error("token is invalid")]
    Invalid,
    #[error("session has been revoked")]
    Revoked,
    /// The session could not be checked (a throttled or failed read): the token may well be
    /// good, so the caller retries rather than signing in again.
    #[error("the session could not be checked; retry shortly")]
    Unavailable,
}

impl From<AuthError> for crate::Problem {
    fn from(e: AuthError) -> Self {
        if e == AuthError::Unavailable {
            return crate::Problem::unavailable(e.to_string());
        }
        let mut p = crate::Problem::unauthorized(e.to_string());
        p.code = match e {
            AuthError::Expired => "token_expired",
            AuthError::Revoked => "session_revoked",
            _ => "unauthorized",
        }
        .to_owned();
        p
    }
}

/// Pull the token out of `Authorization: Bearer <token>`.
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::Missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::Malformed);
    }
    Ok(token.trim())
}

/// Verifies access tokens against a fixed issuer, audience and key set.
#[derive(Clone)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kids", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The one signing algorithm we accept.
pub const ALGORITHM: Algorithm = Algorithm::RS256;

/// An RSA private key in PKCS#8 DER as a signing key (jsonwebtoken takes PKCS#1 DER or
/// PEM; its PEM reader unwraps PKCS#8).
pub fn rsa_signing_key(pkcs8_der: &[u8]) -> Result<jsonwebtoken::EncodingKey, jsonwebtoken::errors::Error> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8_der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())
}

impl Verifier {
    pub fn new(issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            keys: HashMap::new(),
            validation,
        }
    }

    /// Add an RSA public key from its JWK components under its `kid`. Several keys coexist
    /// during rotation.
    pub fn add_rsa_components(&mut self, kid: &str, n: &str, e: &str) -> Result<(), jsonwebtoken::errors::Error> {
        self.keys
            .insert(kid.to_owned(), DecodingKey::from_rsa_components(n, e)?);
        Ok(())
    }

    pub fn add_key(&mut self, kid: &str, key: DecodingKey) {
        self.keys.insert(kid.to_owned(), key);
    }

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        // Bound the work an attacker can make us do before any signature check.
        if token.len() > 4096 {
            return Err(AuthError::Invalid);
        }
        let header = decode_header(token).map_err(|_| AuthError::Invalid)?;
        if header.alg != ALGORITHM {
            return Err(AuthError::Invalid);
        }
        let kid = header.kid.ok_or(AuthError::UnknownKey)?;
        let key = self.keys.get(&kid).ok_or(AuthError::UnknownKey)?;
        let data = decode::<Claims>(token, key, &self.validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
            _ => AuthError::Invalid,
        })?;
        let c = data.claims;
        if c.lab.is_empty() || c.sub.is_empty() || c.sid.is_empty() {
            return Err(AuthError::Invalid);
        }
        Ok(Principal {
            user_id: c.sub,
            lab_id: c.lab,
            role: c.role,
            session_id: c.sid,
            token_id: c.jti,
            operator: c.op,
            expires_at: c.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchecked_session_is_503_with_retry_after_not_401() {
        let p = crate::Problem::from(AuthError::Unavailable);
        assert_eq!((p.status, p.retry_after), (503, Some(1)));
        assert_eq!(crate::Problem::from(AuthError::Revoked).status, 401);
    }

    #[test]
    fn roles_are_ordered_lowest_first() {
        assert!(Role::LabAdministrator.includes(Role::Guest));
        assert!(Role::LabTechnician.includes(Role::LabTechnician));
        assert!(!Role::ResearchScientist.includes(Role::LabTechnician));
        let json = serde_json::to_string(&Role::PrincipalInvestigator).unwrap();
        assert_eq!(json, "\"principal_investigator\"");
        for r in Role::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(AuthError::Missing));
        assert_eq!(bearer_token(Some("Basic abc")), Err(AuthError::Malformed));
        assert_eq!(bearer_token(Some("Bearer")), Err(AuthError::Malformed));
    }

    mod jwt {
        use super::super::*;
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::rsa::{KeyPair, KeySize};
        use aws_lc_rs::signature::KeyPair as _;
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
        use jsonwebtoken::{EncodingKey, Header, encode};

        const ISS: &str = "https://tracseq.test";
        const AUD: &str = "tracseq-api";

        pub(crate) struct Keys {
            enc: EncodingKey,
            n: String,
            e: String,
        }

        fn keys() -> Keys {
            let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
            let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
            let public = pair.public_key();
            Keys {
                enc: rsa_signing_key(der.as_ref()).unwrap(),
                n: B64.encode(public.modulus().big_endian_without_leading_zero()),
                e: B64.encode(public.exponent().big_endian_without_leading_zero()),
            }
        }

        fn verifier(k: &Keys) -> Verifier {
            let mut v = Verifier::new(ISS, AUD);
            v.add_rsa_components("k1", &k.n, &k.e).unwrap();
            v
        }

        fn claims() -> Claims {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            Claims {
                sub: "u1".into(),
                lab: "lab1".into(),
                role: Role::LabTechnician,
                sid: "s1".into(),
                iss: ISS.into(),
                aud: AUD.into(),
                exp: now + 900,
                iat: now,
                nbf: None,
                jti: "j1".into(),
                op: false,
            }
        }

        fn sign(k: &Keys, kid: Option<&str>, c: &Claims) -> String {
            let mut h = Header::new(Algorithm::RS256);
            h.kid = kid.map(str::to_owned);
            encode(&h, c, &k.enc).unwrap()
        }

        #[test]
        fn valid_token_yields_principal_from_claims() {
            let k = keys();
            let p = verifier(&k).verify(&sign(&k, Some("k1"), &claims())).unwrap();
            assert_eq!(
                (p.lab_id.as_str(), p.role, p.user_id.as_str()),
                ("lab1", Role::LabTechnician, "u1")
            );
        }

        #[test]
        fn refuses_alg_none() {
            let k = keys();
            let head = B64.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
            let body = B64.encode(serde_json::to_vec(&claims()).unwrap());
            assert_eq!(verifier(&k).verify(&format!("{head}.{body}.")), Err(AuthError::Invalid));
        }

        #[test]
        fn refuses_hs256_signed_with_public_key() {
            let k = keys();
            let mut h = Header::new(Algorithm::HS256);
            h.kid = Some("k1".into());
            let public_as_secret = format!("{}{}", k.n, k.e);
            let t = encode(&h, &claims(), &EncodingKey::from_secret(public_as_secret.as_bytes())).unwrap();
            assert_eq!(verifier(&k).verify(&t), Err(AuthError::Invalid));
        }

        #[test]
        fn refuses_wrong_issuer_audience_and_times() {
            let k = keys();
            let v = verifier(&k);
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let wrong_iss = Claims {
                iss: "https://evil".into(),
                ..claims()
            };
            let wrong_aud = Claims {
                aud: "other".into(),
                ..claims()
            };
            let expired = Claims {
                exp: now - 60,
                ..claims()
            };
            let not_yet = Claims {
                nbf: Some(now + 600),
                ..claims()
            };
            assert_eq!(v.verify(&sign(&k, Some("k1"), &wrong_iss)), Err(AuthError::Invalid));
            assert_eq!(v.verify(&sign(&k, Some("k1"), &wrong_aud)), Err(AuthError::Invalid));
            assert_eq!(v.verify(&sign(&k, Some("k1"), &expired)), Err(AuthError::Expired));
            assert_eq!(v.verify(&sign(&k, Some("k1"), &not_yet)), Err(AuthError::Invalid));
        }

        #[test]
        fn refuses_tampered_payload_unknown_kid_and_foreign_key() {
            let k = keys();
            let v = verifier(&k);
            let token = sign(&k, Some("k1"), &claims());
            let mut parts: Vec<&str> = token.split('.').collect();
            let admin = B64.encode(
                serde_json::to_vec(&Claims {
                    role: Role::LabAdministrator,
                    ..claims()
                })
                .unwrap(),
            );
            parts[1] = &admin;
            assert_eq!(v.verify(&parts.join(".")), Err(AuthError::Invalid));
            assert_eq!(v.verify(&sign(&k, Some("k9"), &claims())), Err(AuthError::UnknownKey));
            assert_eq!(v.verify(&sign(&k, None, &claims())), Err(AuthError::UnknownKey));
            let other = keys();
            assert_eq!(v.verify(&sign(&other, Some("k1"), &claims())), Err(AuthError::Invalid));
            assert_eq!(v.verify("not.a.jwt"), Err(AuthError::Invalid));
            assert_eq!(v.verify(&"a".repeat(5000)), Err(AuthError::Invalid));
        }
    }
}
