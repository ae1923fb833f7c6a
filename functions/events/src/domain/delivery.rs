//! One message to one destination, and its life: the state machine, the retry schedule
//! and the id that makes a repeated event land on the same delivery.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracseq_core::named_enum;

named_enum!(
    /// `pending` (created, waiting for its worker) → `sending` (a worker holds it until
    /// `lease_until`) → `sent`; or `retrying` (an attempt failed, the next is due at
    /// `not_before`) and finally `failed` (every attempt failed; the message went to the
    /// channel's dead-letter queue). `scheduled` is held back until `not_before` (quiet
    /// hours, a rate limit); `skipped` had nothing to send (no address, channel missing).
    DeliveryStatus {
        Pending => "pending",
        Scheduled => "scheduled",
        Sending => "sending",
        Retrying => "retrying",
        Sent => "sent",
        Failed => "failed",
        Skipped => "skipped",
    }
);

impl DeliveryStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Sent | DeliveryStatus::Failed | DeliveryStatus::Skipped
        )
    }
}

/// The retry schedule after the first attempt: 60 s, 300 s, 900 s by default (each within
/// SQS's 15-minute message delay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub delays: Vec<u32>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            delays: vec![60, 300, 900],
        }
    }
}

impl RetryPolicy {
    /// `"60,300,900"`; each delay 0–900 s.
    pub fn parse(s: &str) -> Option<Self> {
        let delays: Option<Vec<u32>> = s
            .split(',')
            .map(|p| p.trim().parse::<u32>().ok().filter(|d| *d <= 900))
            .collect();
        delays.filter(|d| !d.is_empty()).map(|delays| Self { delays })
    }

    pub fn max_attempts(&self) -> usize {
        self.delays.len() + 1
    }
}

/// What happens after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Sent,
    RetryIn(u32),
    Fail,
}

/// The step after attempt number `attempt` (1-based) ended with `ok`.
pub fn after_attempt(policy: &RetryPolicy, attempt: usize, ok: bool) -> Next {
    if ok {
        return Next::Sent;
    }
    match policy.delays.get(attempt.saturating_sub(1)) {
        Some(d) => Next::RetryIn(*d),
        None => Next::Fail,
    }
}

/// Whether a worker may take a delivery in `status` for attempt `attempt` (1-based) at `now`.
/// A duplicate SQS message for an attempt already made, or one arriving while another
/// worker holds the lease, finds nothing to do.
pub fn claimable(status: DeliveryStatus, attempts_made: usize, attempt: usize, lease_until: i64, now: i64) -> bool {
    match status {
        DeliveryStatus::Pending | DeliveryStatus::Scheduled | DeliveryStatus::Retrying => attempts_made + 1 == attempt,
        // A worker that died mid-send: its lease lapsed, so the same attempt may run again.
        DeliveryStatus::Sending => attempts_made + 1 == attempt && lease_until < now,
        DeliveryStatus::Sent | DeliveryStatus::Failed | DeliveryStatus::Skipped => false,
    }
}

/// One attempt, as recorded on the delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    pub number: u32,
    pub at: String,
    pub ok: bool,
    /// The receiver's HTTP status or SMTP reply code, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// A delivery id fixed by what it delivers: the event (and replay), the target (a
/// subscription or webhook) and the recipient. Its time part is the event's, so ids sort
/// by event time; its random part is a hash, so the same event routed twice gets the same
/// id and the second write finds the first.
pub fn delivery_id(event_id: &str, event_ms: u64, replay: Option<&str>, target: &str, recipient: &str) -> String {
    let mut h = Sha256::new();
    for part in [event_id, replay.unwrap_or(""), target, recipient] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes[6..].copy_from_slice(&digest[..10]);
    let random = u128::from_be_bytes(bytes);
    ulid::Ulid::from_parts(event_ms, random).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_then_fails() {
        let p = RetryPolicy::default();
        assert_eq!(after_attempt(&p, 1, false), Next::RetryIn(60));
        assert_eq!(after_attempt(&p, 2, false), Next::RetryIn(300));
        assert_eq!(after_attempt(&p, 3, false), Next::RetryIn(900));
        assert_eq!(after_attempt(&p, 4, false), Next::Fail);
        assert_eq!(after_attempt(&p, 2, true), Next::Sent);
        assert_eq!(p.max_attempts(), 4);
        assert_eq!(
            RetryPolicy::parse("1, 2,3"),
            Some(RetryPolicy { delays: vec![1, 2, 3] })
        );
        assert_eq!(RetryPolicy::parse("901"), None);
        assert_eq!(RetryPolicy::parse("a"), None);
    }

    #[test]
    fn claims() {
        use DeliveryStatus::*;
        assert!(claimable(Pending, 0, 1, 0, 100));
        assert!(!claimable(Pending, 0, 2, 0, 100));
        assert!(
            !claimable(Retrying, 2, 2, 0, 100),
            "a duplicate of attempt 2 after it ran"
        );
        assert!(claimable(Retrying, 2, 3, 0, 100));
        assert!(!claimable(Sending, 0, 1, 200, 100), "another worker holds it");
        assert!(claimable(Sending, 0, 1, 50, 100), "the lease lapsed");
        assert!(!claimable(Sent, 1, 2, 0, 100));
        assert!(Failed.is_final() && !Scheduled.is_final());
    }

    #[test]
    fn ids_are_stable_and_sort_by_event_time() {
        let a = delivery_id("E1", 1_000, None, "sub", "u1");
        assert_eq!(a, delivery_id("E1", 1_000, None, "sub", "u1"));
        assert_ne!(a, delivery_id("E1", 1_000, Some("R1"), "sub", "u1"));
        assert_ne!(a, delivery_id("E1", 1_000, None, "sub", "u2"));
        assert!(delivery_id("E0", 999, None, "sub", "u1") < a);
        assert_eq!(a.len(), 26);
    }
}
