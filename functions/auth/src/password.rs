//! Passwords: the policy (DOMAIN.md: at least 8 characters with upper, lower and digit, not
//! a common password) and argon2id hashing with OWASP's parameters, run on the blocking
//! pool behind a semaphore so hashing never stalls other requests and its memory stays
//! bounded (permits × 19 MiB).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use tokio::sync::{OnceCell, Semaphore};
use tracseq_core::{FieldError, Problem};

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

/// The most common passwords that pass the character rules (from public breach lists).
const COMMON: &[&str] = &[
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "passw0rd1",
    "p@ssw0rd",
    "p@ssw0rd1",
    "welcome1",
    "welcome12",
    "welcome123",
    "qwerty123",
    "qwerty1234",
    "qwertyuiop1",
    "abc12345",
    "abcd1234",
    "abc123456",
    "iloveyou1",
    "sunshine1",
    "princess1",
    "football1",
    "baseball1",
    "monkey123",
    "dragon123",
    "letmein1",
    "letmein123",
    "trustno1",
    "superman1",
    "batman123",
    "starwars1",
    "master123",
    "shadow123",
    "michael1",
    "jennifer1",
    "jordan23",
    "hello123",
    "freedom1",
    "whatever1",
    "charlie1",
    "computer1",
    "admin123",
    "admin1234",
    "administrator1",
    "changeme1",
    "changeme123",
    "default1",
    "secret123",
    "test1234",
    "testing123",
    "summer2024",
    "summer2025",
    "summer2026",
    "winter2024",
    "winter2025",
    "winter2026",
    "spring2025",
    "spring2026",
    "autumn2025",
    "autumn2026",
    "january1",
    "december1",
    "1q2w3e4r",
    "1qaz2wsx",
    "zaq12wsx",
    "q1w2e3r4",
    "q1w2e3r4t5",
    "asdf1234",
    "zxcvbnm1",
    "mustang1",
    "liverpool1",
    "chelsea1",
    "arsenal1",
    "samsung1",
    "google123",
    "lab12345",
    "laboratory1",
    "sequencing1",
    "science1",
    "research1",
    "biology1",
];

/// Check a new password; `email` must not be part of it.
pub fn check_policy(field: &str, password: &str, email: &str) -> Result<(), Problem> {
    let mut errors = Vec::new();
    let mut fail = |rule: &str, message: &str| errors.push(FieldError::field(field, rule, message));
    let len = password.chars().count();
    if len < MIN_LEN {
        fail("min_length", "password must be at least 8 characters");
    }
    if len > MAX_LEN {
        fail("max_length", "password must be at most 128 characters");
    }
    if !password.chars().any(|c| c.is_uppercase()) {
        fail("uppercase", "password must contain an upper-case letter");
    }
    if !password.chars().any(|c| c.is_lowercase()) {
        fail("lowercase", "password must contain a lower-case letter");
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        fail("digit", "password must contain a digit");
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        fail("common", "password is too common");
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if local.len() >= 3 && lower.contains(&local) {
        fail("contains_email", "password must not contain the email address");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(errors))
    }
}

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password: unknown emails are verified against it so a
    /// login costs the same whether the account exists or not. Made on first need.
    dummy: Arc<OnceCell<String>>,
}

fn argon() -> Argon2<'static> {
    // OWASP: argon2id, m = 19 MiB, t = 2, p = 1. These constants are valid by construction.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &str) -> Result<String, Problem> {
    let salt = SaltString::generate(&mut OsRng);
    argon()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            Problem::internal()
        })
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| argon().verify_password(password.as_bytes(), &h).is_ok())
}

impl Hasher {
    /// `permits` concurrent hashes at most (each holds 19 MiB while it runs).
    pub fn new(permits: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            dummy: Arc::new(OnceCell::new()),
        }
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, Problem> {
        let _permit = self.permits.acquire().await.map_err(|_| Problem::internal())?;
        tokio::task::spawn_blocking(f).await.map_err(|_| Problem::internal())
    }

    pub async fn hash(&self, password: &str) -> Result<String, Problem> {
        let p = password.to_owned();
        self.blocking(move || hash_now(&p)).await?
    }

    /// Verify against `hash`, or against the dummy hash when there is no account.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, Problem> {
        let h = match hash {
            Some(h) => h.to_owned(),
            None => self
                .dummy
                .get_or_try_init(|| async { self.hash(&ulid::Ulid::new().to_string()).await })
                .await?
                .clone(),
        };
        let (p, real) = (password.to_owned(), hash.is_some());
        let ok = self.blocking(move || verify_now(&p, &h)).await?;
        Ok(ok && real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(pw: &str) -> Vec<String> {
        check_policy("password", pw, "alice@lab.org")
            .err()
            .map(|p| p.errors.into_iter().map(|e| e.rule).collect())
            .unwrap_or_default()
    }

    #[test]
    fn policy_rules() {
        assert!(rules("Correct7Horse").is_empty());
        assert_eq!(rules("Ab1"), ["min_length"]);
        assert_eq!(rules("alllower1"), ["uppercase"]);
        assert_eq!(rules("ALLUPPER1"), ["lowercase"]);
        assert_eq!(rules("NoDigitsHere"), ["digit"]);
        assert_eq!(rules("Password1"), ["common"]);
        assert_eq!(rules("Alice12345"), ["contains_email"]);
        assert!(rules(&format!("Aa1{}", "x".repeat(130))).contains(&"max_length".to_owned()));
    }

    #[tokio::test]
    async fn hash_verify_and_dummy() {
        let h = Hasher::new(2);
        let hash = h.hash("Correct7Horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify("Correct7Horse", Some(&hash)).await.unwrap());
        assert!(!h.verify("wrong", Some(&hash)).await.unwrap());
        assert!(!h.verify("Correct7Horse", None).await.unwrap());
        assert!(!h.verify("x", Some("not a phc string")).await.unwrap());
    }
}
