//! Secrets the platform hands out once (refresh tokens, device tokens, signing secrets):
//! 256 random bits from the system generator; what is stored of a token is its SHA-256,
//! compared in constant time.

use crate::Problem;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

fn random_bytes() -> Result<[u8; 32], Problem> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Problem::internal())?;
    Ok(bytes)
}

/// 256 random bits, base64url without padding (43 characters).
pub fn random_token() -> Result<String, Problem> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes()?))
}

/// 256 random bits as hex (64 characters), for secrets people paste into other systems.
pub fn random_hex() -> Result<String, Problem> {
    Ok(hex::encode(random_bytes()?))
}

/// How a token is stored and looked up: its SHA-256, hex.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` is the one whose [`hash`] is `stored`, in time that does not depend on
/// where they differ.
pub fn matches(token: &str, stored: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(hash(token).as_bytes(), stored.as_bytes()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_only_their_own_hash_matches() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(random_hex().unwrap().len(), 64);
        assert!(matches(&a, &hash(&a)));
        assert!(!matches(&b, &hash(&a)));
        assert!(!matches(&a, ""));
    }
}
