//! Who hears about what: a subscription matches event types by pattern and a minimum
//! priority, and names its channels and its audience.

use super::channel::ChannelKind;
use super::priority::Priority;
use super::quiet::QuietHours;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracseq_core::auth::Role;
use tracseq_core::events::type_matches;
use tracseq_core::named_enum;

/// Whom a matching event is told to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Audience {
    /// One user of the lab.
    User { user_id: String },
    /// Every active user holding one of these roles.
    Roles { roles: Vec<Role> },
    /// The user the event is about or who asked for it: the event's `requested_by`,
    /// else `created_by` (an import's importer), else `user_id` (auth events).
    Requester,
}

impl Audience {
    /// The requester named by an event's data, for [`Audience::Requester`].
    pub fn requester_of(data: &Value) -> Option<&str> {
        ["requested_by", "created_by", "user_id"]
            .iter()
            .find_map(|k| data.get(*k).and_then(Value::as_str))
            .filter(|s| !s.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: String,
    pub name: String,
    /// Patterns like `sequencing.qc_failed` or `sample.*`.
    pub event_types: Vec<String>,
    pub channels: Vec<ChannelKind>,
    pub audience: Audience,
    pub min_priority: Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// Collect matching events and send one summary per window instead of one message each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    pub enabled: bool,
    /// Written when the lab was created.
    #[serde(default)]
    pub default: bool,
    pub created_by: String,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

named_enum!(
    /// Digest windows, in UTC: hourly ones end on the hour, daily ones at midnight. Quiet
    /// hours still apply to the summary.
    Digest {
        Hourly => "hourly",
        Daily => "daily",
    }
);

impl Digest {
    /// The end (epoch seconds) of the window holding `now`.
    pub fn window_end(self, now: i64) -> i64 {
        let len = match self {
            Digest::Hourly => 3600,
            Digest::Daily => 86_400,
        };
        (now.div_euclid(len) + 1) * len
    }
}

impl Subscription {
    pub fn matches(&self, event_type: &str, priority: Priority) -> bool {
        self.enabled
            && priority.at_least(self.min_priority)
            && self.event_types.iter().any(|p| type_matches(p, event_type))
    }
}

/// An event type pattern as the API takes it (`sample.created`, `sample.*` or `*`), for the
/// OpenAPI document: [`valid_pattern`] is the rule, this is its regular expression.
pub struct EventPattern;

impl utoipa::PartialSchema for EventPattern {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^(tracseq\.)?(\*|[a-z_]+\.(\*|[a-z_]+))$"))
            .examples([serde_json::json!("sample.*")])
            .into()
    }
}

impl utoipa::ToSchema for EventPattern {}

/// Whether `pattern` is a valid event type pattern: `entity.action`, `entity.*` or `*`,
/// with an optional `tracseq.` prefix.
pub fn valid_pattern(pattern: &str) -> bool {
    let p = pattern.strip_prefix("tracseq.").unwrap_or(pattern);
    if p == "*" {
        return true;
    }
    let Some((entity, action)) = p.split_once('.') else {
        return false;
    };
    let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    word(entity) && (action == "*" || word(action))
}

/// The subscriptions every lab starts with (docs/domain.md's wiring): capacity and temperature
/// alerts to the lab's administrators; QC failures and run completion to the job's
/// requester; password reset notices to the user; import outcomes to the importer.
pub fn defaults(created_by: &str, now: &str) -> Vec<Subscription> {
    let sub = |id: &str, name: &str, types: &[&str], channels: &[ChannelKind], audience: Audience, min: Priority| {
        Subscription {
            id: id.to_owned(),
            name: name.to_owned(),
            event_types: types.iter().map(|t| (*t).to_owned()).collect(),
            channels: channels.to_vec(),
            audience,
            min_priority: min,
            quiet_hours: None,
            digest: None,
            enabled: true,
            default: true,
            created_by: created_by.to_owned(),
            version: 1,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        }
    };
    use ChannelKind::{Email, InApp};
    vec![
        sub(
            "default-storage-alerts",
            "Storage alerts to lab administrators",
            &[
                "storage.capacity_critical",
                "storage.temperature_alert",
                "storage.temperature_recovered",
            ],
            &[Email, InApp],
            Audience::Roles {
                roles: vec![Role::LabAdministrator],
            },
            Priority::Low,
        ),
        sub(
            "default-sequencing-outcomes",
            "Run starts, QC failures and completed runs to the requester",
            &[
                "sequencing.qc_failed",
                "sequencing.run_completed",
                "run.started",
                "run.compensated",
                "run.failed",
            ],
            &[Email, InApp],
            Audience::Requester,
            Priority::Low,
        ),
        // The link itself goes by account mail to the account's own address only; this
        // tells the account's owner in the app that a link was asked for.
        sub(
            "default-password-reset",
            "Password reset notices to the account's owner",
            &["auth.password_reset_requested"],
            &[InApp],
            Audience::Requester,
            Priority::Low,
        ),
        sub(
            "default-imports",
            "Import outcomes to the importer",
            &["import.completed", "import.failed"],
            &[Email, InApp],
            Audience::Requester,
            Priority::Low,
        ),
        sub(
            "default-submissions",
            "Submission outcomes to the submitter",
            &["submission.completed", "submission.compensated", "submission.failed"],
            &[Email, InApp],
            Audience::Requester,
            Priority::Low,
        ),
        sub(
            "default-documents",
            "Documents that need review, to the person who uploaded them",
            &["document.review_required"],
            &[InApp],
            Audience::Requester,
            Priority::Low,
        ),
        sub(
            "default-submission-failures",
            "Sagas that failed after compensation, to lab administrators",
            &["submission.failed", "run.failed"],
            &[Email, InApp],
            Audience::Roles {
                roles: vec![Role::LabAdministrator],
            },
            Priority::Low,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_published_pattern_is_the_rule() {
        let re = regex::Regex::new(r"^(tracseq\.)?(\*|[a-z_]+\.(\*|[a-z_]+))$").unwrap();
        for p in [
            "sample.*",
            "tracseq.sample.created",
            "*",
            "storage.capacity_critical",
            "sample",
            "Sample.created",
            "sample.",
            ".x",
            "sample.*.x",
            "sa mple.x",
            "x.y.z",
        ] {
            assert_eq!(re.is_match(p), valid_pattern(p), "{p}");
        }
    }

    #[test]
    fn patterns_and_matching() {
        for p in ["sample.*", "tracseq.sample.created", "*", "storage.capacity_critical"] {
            assert!(valid_pattern(p), "{p}");
        }
        for p in ["sample", "Sample.created", "sample.", ".x", "sample.*.x", "sa mple.x"] {
            assert!(!valid_pattern(p), "{p}");
        }
        let subs = defaults("u1", "2026-11-27T00:00:00Z");
        let alerts = &subs[0];
        assert!(alerts.matches("tracseq.storage.capacity_critical", Priority::Urgent));
        assert!(!alerts.matches("tracseq.storage.capacity_warning", Priority::High));
        let mut high_only = alerts.clone();
        high_only.min_priority = Priority::Urgent;
        assert!(!high_only.matches("tracseq.storage.temperature_alert", Priority::High));
        high_only.enabled = false;
        assert!(!high_only.matches("tracseq.storage.capacity_critical", Priority::Urgent));
    }

    #[test]
    fn digest_windows() {
        // 2026-11-27T10:15:00Z
        let now = 1_795_774_500;
        assert_eq!(Digest::Hourly.window_end(now), 1_795_777_200);
        assert_eq!(Digest::Daily.window_end(now), 1_795_824_000);
        assert_eq!(
            Digest::Hourly.window_end(1_795_777_200),
            1_795_777_200 + 3600,
            "an end starts the next window"
        );
        assert_eq!(Digest::parse("Daily"), Some(Digest::Daily));
    }

    #[test]
    fn requester_fields_in_order() {
        assert_eq!(
            Audience::requester_of(&json!({"requested_by": "a", "user_id": "b"})),
            Some("a")
        );
        assert_eq!(Audience::requester_of(&json!({"created_by": "c"})), Some("c"));
        assert_eq!(Audience::requester_of(&json!({"user_id": "b"})), Some("b"));
        assert_eq!(Audience::requester_of(&json!({"requested_by": ""})), None);
        let v = serde_json::to_value(Audience::Roles {
            roles: vec![Role::LabAdministrator],
        })
        .unwrap();
        assert_eq!(v["kind"], "roles");
    }
}
