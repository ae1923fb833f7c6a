//! The HTTP handlers of the events service, one module per resource.

pub mod channels;
pub mod deliveries;
pub mod history;
pub mod inbox;
pub mod replay;
pub mod subscriptions;
pub mod templates;
pub mod test_send;
pub mod webhooks;

use tracseq_core::auth::{Principal, Role};
use tracseq_core::{FieldError, Problem};

/// Check a required text field's length after trimming; returns the trimmed text.
pub fn text(field: &str, raw: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let v = raw.trim();
    if v.is_empty() {
        errors.push(FieldError::field(field, "required", "must not be empty"));
    } else if v.chars().count() > max {
        errors.push(FieldError::field(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    v.to_owned()
}

/// Event type patterns: 1-20 of `entity.action`, `entity.*` or `*`.
pub fn patterns(field: &str, raw: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if raw.is_empty() || raw.len() > 20 {
        errors.push(FieldError::field(field, "count", "1 to 20 patterns"));
    }
    for p in raw {
        if !crate::domain::subscription::valid_pattern(p.trim()) {
            errors.push(
                FieldError::field(field, "pattern", "an event type like sample.created, entity.* or *").with_value(p),
            );
        }
    }
    raw.iter().map(|p| p.trim().to_owned()).collect()
}

pub fn is_admin(p: &Principal) -> bool {
    p.role.includes(Role::LabAdministrator)
}

pub fn lab_keys(p: &Principal) -> Result<tracseq_core::keyed::LabKeys, Problem> {
    tracseq_core::keyed::LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())
}

/// A fresh random secret (32 bytes, hex).
pub fn random_secret() -> Result<String, Problem> {
    tracseq_core::secret::random_hex()
}
