//! `Idempotency-Key` support, the part that needs no storage: the key's syntax, the request
//! fingerprint that detects a key reused for a different request, and the stored response.
//! The DynamoDB record lives in `tracseq_aws::idempotency`.

use crate::Problem;
use crate::http::Response;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A client-chosen key: 1–128 characters of `[A-Za-z0-9._:-]` (a UUID or ULID fits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, Problem> {
        let ok = !raw.is_empty()
            && raw.len() <= 128
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Problem::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 over method, path and body: the same key with another request is refused.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

/// The first response to a key, replayed for every retry with the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: String,
}

impl StoredResponse {
    pub fn capture(resp: &Response) -> Self {
        let get = |h: http::HeaderName| resp.headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Self {
            status: resp.status,
            content_type: get(http::header::CONTENT_TYPE),
            location: get(http::header::LOCATION),
            body: String::from_utf8_lossy(&resp.body).into_owned(),
        }
    }

    /// The replay, marked so a client can tell it from a first answer.
    pub fn replay(&self) -> Response {
        let mut r = Response::new(self.status).with_body(self.body.clone().into_bytes());
        if let Some(ct) = &self.content_type {
            r = r.with_header(http::header::CONTENT_TYPE, ct);
        }
        if let Some(loc) = &self.location {
            r = r.with_header(http::header::LOCATION, loc);
        }
        r.with_header(http::HeaderName::from_static("idempotent-replayed"), "true")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_syntax() {
        assert!(IdempotencyKey::parse("01J9Z3-abc_def.1:2").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(129)).is_err());
    }

    #[test]
    fn fingerprint_separates_fields() {
        assert_ne!(fingerprint("POST", "/a", b"b"), fingerprint("POST", "/ab", b""));
        assert_eq!(fingerprint("POST", "/a", b"{}"), fingerprint("POST", "/a", b"{}"));
    }

    #[test]
    fn replay_keeps_status_location_and_marks_itself() {
        let first = Response::created("/api/x/1", &serde_json::json!({"id": "1"}));
        let replay = StoredResponse::capture(&first).replay();
        assert_eq!(replay.status, 201);
        assert_eq!(replay.headers["location"], "/api/x/1");
        assert_eq!(replay.headers["idempotent-replayed"], "true");
        assert_eq!(replay.body, first.body);
    }
}
