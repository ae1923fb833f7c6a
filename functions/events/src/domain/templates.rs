//! Message templates. Each channel has a built-in default and built-in texts for the
//! events labs care most about; a lab may override any of them by id
//! (`{channel}.{entity}.{action}` or `{channel}.default`).
//!
//! Variables: `event` (like `sequencing.qc_failed`), `type`, `id`, `subject`, `time`,
//! `priority`, `lab_id`, `link` (the subject in the web UI), `data.*` (the event's data),
//! `recipient.name` and `recipient.email` (per-recipient channels), `reset_url` (account
//! mail only: `account.password_reset` and `account.invitation`, sent to the account's own
//! address and to no subscription).

use super::channel::ChannelKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = NotificationTemplate)]
pub struct Template {
    pub id: String,
    pub channel: ChannelKind,
    /// The event type (`entity.action`), or `default`.
    pub event: String,
    /// Email and in-app only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
    /// `builtin` or `lab`.
    pub origin: String,
}

pub const DEFAULT_EVENT: &str = "default";

/// Split a template id into its channel and event (`email.sequencing.qc_failed`).
pub fn parse_id(id: &str) -> Option<(ChannelKind, String)> {
    let (channel, event) = id.split_once('.')?;
    let channel = ChannelKind::ALL.iter().copied().find(|c| c.as_str() == channel)?;
    let valid_event = event == DEFAULT_EVENT
        || event.split_once('.').is_some_and(|(e, a)| {
            let word = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            word(e) && word(a)
        });
    valid_event.then(|| (channel, event.to_owned()))
}

pub fn template_id(channel: ChannelKind, event: &str) -> String {
    format!("{}.{event}", channel.as_str())
}

/// (event, subject, body) of the built-in texts; the subject is used by email and in-app.
const TEXTS: &[(&str, &str, &str)] = &[
    (
        DEFAULT_EVENT,
        "[TracSeq] {{event}}",
        "{{event}} ({{priority}}) for {{subject}} at {{time}}.\n{{link}}",
    ),
    (
        "notification.digest",
        "[TracSeq] {{data.count}} events: {{data.name}}",
        "{{data.count}} events for \"{{data.name}}\" until {{data.window_end}}:\n\n{{data.lines}}\n{{link}}",
    ),
    (
        "storage.capacity_critical",
        "[TracSeq] {{data.name}} is {{data.percent_full}}% full",
        "Storage location {{data.name}} ({{data.kind}}, zone {{data.zone}}) holds {{data.occupied}} of {{data.capacity}} samples ({{data.percent_full}}%). Free or add space before placements fail.\n{{link}}",
    ),
    (
        "storage.temperature_alert",
        "[TracSeq] Temperature alert: {{data.path}} at {{data.reading_celsius}} °C",
        "{{data.path}} (zone {{data.zone}}) has read outside {{data.min_celsius}}…{{data.max_celsius}} °C since {{data.since}}: {{data.reading_celsius}} °C at {{data.at}}, worst {{data.worst_celsius}} °C. Check the unit and move samples if it does not recover.\n{{link}}",
    ),
    (
        "storage.temperature_recovered",
        "[TracSeq] Temperature recovered: {{data.path}}",
        "{{data.path}} reads {{data.reading_celsius}} °C at {{data.at}}, inside {{data.min_celsius}}…{{data.max_celsius}} °C again after {{data.minutes_out_of_range}} minutes out of range (worst {{data.worst_celsius}} °C).\n{{link}}",
    ),
    (
        "sequencing.qc_failed",
        "[TracSeq] QC failed: run {{data.run_id}}",
        "Run {{data.run_id}} failed QC at {{time}}.\n{{link}}",
    ),
    (
        "sequencing.run_completed",
        "[TracSeq] Run {{data.name}} completed",
        "Sequencing run {{data.name}} ({{data.run_id}}) completed at {{time}}.\n{{link}}",
    ),
    (
        "account.password_reset",
        "[TracSeq] Reset your password",
        "Hello {{recipient.name}},\n\nSomeone (hopefully you) asked to reset your TracSeq password. Use this link within the hour:\n\n{{reset_url}}\n\nIf it was not you, ignore this message; your password stays as it is.",
    ),
    (
        "account.invitation",
        "[TracSeq] You are invited to TracSeq",
        "Hello {{recipient.name}},\n\nYou have been invited to your lab's TracSeq. Choose your password with this link within the hour:\n\n{{reset_url}}\n\nIf you did not expect this, ignore this message.",
    ),
    (
        "auth.password_reset_requested",
        "[TracSeq] Password reset requested",
        "A password reset link was requested for {{subject}} at {{time}} and sent to that account's own address.\n{{link}}",
    ),
    (
        "import.completed",
        "[TracSeq] Import {{data.import_id}} completed",
        "Your import {{data.import_id}} completed: {{data.rows_committed}} of {{data.rows_total}} rows committed.\n{{link}}",
    ),
    (
        "import.failed",
        "[TracSeq] Import {{data.import_id}} failed",
        "Your import {{data.import_id}} failed with {{data.errors_total}} errors. Nothing was committed.\n{{link}}",
    ),
    (
        "submission.completed",
        "[TracSeq] Submission {{data.submission_id}} completed",
        "Your submission {{data.submission_id}} completed: {{data.sample_count}} samples registered and validated, {{data.stored}} stored.\n{{link}}",
    ),
    (
        "submission.compensated",
        "[TracSeq] Submission {{data.submission_id}} was not accepted",
        "Your submission {{data.submission_id}} stopped at step {{data.step}} ({{data.code}}): {{data.detail}}\nWhat it had done was undone; its samples are rejected with this reason.\n{{link}}",
    ),
    (
        "submission.failed",
        "[TracSeq] Submission {{data.submission_id}} needs attention",
        "Submission {{data.submission_id}} failed ({{data.code}}): {{data.detail}}\nIts compensation did not finish; an administrator must check its samples.\n{{link}}",
    ),
    (
        "document.extracted",
        "[TracSeq] Document {{data.document_id}} read: {{data.status}}",
        "Your document {{data.document_id}} was read: {{data.sample_count}} samples, confidence {{data.confidence}}. It is {{data.status}}.\n{{link}}",
    ),
    (
        "document.review_required",
        "[TracSeq] Document {{data.document_id}} needs review",
        "Your document {{data.document_id}} needs a person's review before its samples can be submitted (confidence {{data.confidence}}; missing: {{data.missing_critical}}).\n{{link}}",
    ),
    (
        "run.started",
        "[TracSeq] Run {{data.name}} started",
        "Run {{data.name}} is running: its samples are in sequencing and its sample sheet is stored.\n{{link}}",
    ),
    (
        "run.compensated",
        "[TracSeq] Run {{data.name}} did not start",
        "Run {{data.name}} stopped at step {{data.step}} ({{data.code}}): {{data.detail}}\nWhat it had done was undone: its samples are validated again and its reservations given back.\n{{link}}",
    ),
    (
        "run.failed",
        "[TracSeq] Run {{data.name}} needs attention",
        "Run {{data.name}} failed to start ({{data.code}}): {{data.detail}}\nIts compensation did not finish; an administrator must check its samples.\n{{link}}",
    ),
];

/// The built-in template for `channel` and `event`, if there is one (the default always is).
pub fn builtin(channel: ChannelKind, event: &str) -> Option<Template> {
    let (_, subject, body) = TEXTS.iter().find(|(e, _, _)| *e == event)?;
    let with_subject = matches!(channel, ChannelKind::Email | ChannelKind::InApp);
    // SMS and chat carry one text: the subject line leads.
    let body = if with_subject {
        (*body).to_owned()
    } else {
        format!("{subject}\n{body}").replace("[TracSeq] ", "TracSeq: ")
    };
    Some(Template {
        id: template_id(channel, event),
        channel,
        event: event.to_owned(),
        subject: with_subject.then(|| (*subject).to_owned()),
        body,
        origin: "builtin".into(),
    })
}

/// Every built-in template.
pub fn builtins() -> Vec<Template> {
    ChannelKind::ALL
        .iter()
        .flat_map(|c| TEXTS.iter().filter_map(move |(e, _, _)| builtin(*c, e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::render::{Escape, placeholders, render};
    use serde_json::json;

    #[test]
    fn ids() {
        assert_eq!(
            parse_id("email.sequencing.qc_failed"),
            Some((ChannelKind::Email, "sequencing.qc_failed".into()))
        );
        assert_eq!(parse_id("in_app.default"), Some((ChannelKind::InApp, "default".into())));
        assert_eq!(parse_id("fax.default"), None);
        assert_eq!(parse_id("email.qc"), None);
        assert_eq!(parse_id("email"), None);
    }

    #[test]
    fn every_builtin_parses_and_the_default_renders_for_any_event() {
        for t in builtins() {
            placeholders(&t.body).unwrap();
            if let Some(s) = &t.subject {
                placeholders(s).unwrap();
            }
        }
        let vars =
            json!({"event": "sample.created", "priority": "low", "subject": "samples/1", "time": "t", "link": "l"});
        let t = builtin(ChannelKind::Slack, DEFAULT_EVENT).unwrap();
        assert!(
            render(&t.body, &vars, Escape::Slack)
                .unwrap()
                .starts_with("TracSeq: sample.created")
        );
        assert_eq!(builtins().len(), TEXTS.len() * ChannelKind::ALL.len());
    }
}
