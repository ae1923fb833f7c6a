//! The auth service's handlers, one module per resource.

pub mod audit_export;
pub mod audit_log;
pub mod labs;
pub mod me;
pub mod passwords;
pub mod sessions;
pub mod users;

use tracseq_core::{FieldError, Problem};

/// Collects field errors, then answers 422 with all of them.
#[derive(Default)]
pub struct Check(Vec<FieldError>);

impl Check {
    pub fn len(&mut self, field: &str, value: &str, min: usize, max: usize) -> &mut Self {
        let n = value.trim().chars().count();
        if n < min {
            self.0.push(FieldError::field(
                field,
                if min == 1 { "required" } else { "min_length" },
                format!("{field} must have at least {min} characters"),
            ));
        } else if n > max {
            self.0.push(
                FieldError::field(
                    field,
                    "max_length",
                    format!("{field} must have at most {max} characters"),
                )
                .with_value(value),
            );
        }
        self
    }

    pub fn opt_len(&mut self, field: &str, value: Option<&str>, max: usize) -> &mut Self {
        if let Some(v) = value {
            self.len(field, v, 0, max);
        }
        self
    }

    pub fn email(&mut self, field: &str, value: &str) -> &mut Self {
        let v = value.trim();
        let ok = v.len() <= 254
            && v.split_once('@').is_some_and(|(user, domain)| {
                !user.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            })
            && !v.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            self.0
                .push(FieldError::field(field, "email", "must be an email address").with_value(value));
        }
        self
    }

    pub fn rule(&mut self, ok: bool, field: &str, rule: &str, message: &str) -> &mut Self {
        if !ok {
            self.0.push(FieldError::field(field, rule, message));
        }
        self
    }

    pub fn done(&mut self) -> Result<(), Problem> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Problem::validation(std::mem::take(&mut self.0)))
        }
    }
}

/// The answer to every failed login, whatever the reason: it must not tell an unknown
/// email from a wrong password, a locked or a disabled account.
pub fn invalid_credentials() -> Problem {
    Problem::new(401, "invalid_credentials", "email or password is incorrect")
}
