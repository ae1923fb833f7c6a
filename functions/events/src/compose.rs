//! Turning an event into a message: the variables a template may use, and the choice of
//! template (the lab's own text for the event, the built-in one, the lab's default, the
//! built-in default: the first that renders).

use crate::directory::Person;
use crate::domain::channel::ChannelKind;
use crate::domain::priority::Priority;
use crate::domain::render::{Escape, RenderError, render};
use crate::domain::templates::{DEFAULT_EVENT, builtin, template_id};
use crate::feed::FeedEvent;
use crate::model::{LabTemplate, keys};
use crate::state::EventsState;
use serde_json::{Value, json};
use std::collections::HashMap;
use tracseq_aws::store::{StoreError, from_item};

/// What stored account mail says instead of its link. The email worker alone swaps in the
/// real link at send time, and only for the account's own address, so the token is never
/// kept in a delivery record, where an administrator could read it.
pub const RESET_LINK: &str = "[reset link, sent by email only]";

/// Template events of account mail (`account.password_reset`, `account.invitation`): the
/// only ones with a `reset_url`, and never routed to subscriptions.
pub const ACCOUNT_EVENTS: &str = "account.";

pub fn escape_for(channel: ChannelKind) -> Escape {
    match channel {
        ChannelKind::Slack => Escape::Slack,
        _ => Escape::None,
    }
}

/// The variables of `event` for `recipient`.
pub fn event_vars(app_url: &str, fe: &FeedEvent, recipient: Option<&Person>) -> Value {
    let e = &fe.event;
    let short = e.kind.strip_prefix("tracseq.").unwrap_or(&e.kind);
    let mut vars = json!({
        "event": short,
        "type": e.kind,
        "id": e.id,
        "subject": e.subject,
        "time": e.time,
        "priority": Priority::of_event(&e.kind).as_str(),
        "lab_id": e.labid,
        "link": format!("{app_url}/{}", e.subject),
        "data": e.data,
    });
    if let Some(p) = recipient {
        vars["recipient"] = json!({ "name": p.name, "email": p.email });
    }
    if short.starts_with(ACCOUNT_EVENTS) {
        vars["reset_url"] = json!(RESET_LINK);
    }
    vars
}

/// A lab's own template texts, loaded once per event.
#[derive(Debug, Default)]
pub struct Texts {
    lab: HashMap<String, LabTemplate>,
}

impl Texts {
    pub async fn load(st: &EventsState, lab: &str) -> Result<Self, StoreError> {
        let items = st.table.query_prefix(&keys::lab(lab), keys::TEMPLATE).await?;
        let lab = items
            .into_iter()
            .map(from_item::<LabTemplate>)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        Ok(Self { lab })
    }

    fn candidates(&self, channel: ChannelKind, event: &str) -> Vec<(Option<String>, String)> {
        let mut out = Vec::new();
        for ev in [event, DEFAULT_EVENT] {
            if let Some(t) = self.lab.get(&template_id(channel, ev)) {
                out.push((t.subject.clone(), t.body.clone()));
            }
            if let Some(t) = builtin(channel, ev) {
                out.push((t.subject, t.body));
            }
        }
        out
    }

    /// Subject (email, in-app) and body for `channel`; a template that cannot render for
    /// this event (a variable its data lacks) gives way to the next one.
    pub fn render(&self, channel: ChannelKind, vars: &Value) -> Result<(Option<String>, String), RenderError> {
        let event = vars["event"].as_str().unwrap_or(DEFAULT_EVENT);
        let esc = escape_for(channel);
        let mut last = RenderError::Missing(vec![]);
        for (subject, body) in self.candidates(channel, event) {
            let s = subject.as_deref().map(|s| render(s, vars, Escape::None)).transpose();
            match (s, render(&body, vars, esc)) {
                (Ok(s), Ok(b)) => return Ok((s, b)),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(channel = channel.as_str(), event, error = %e, "template does not fit this event; trying the next");
                    last = e;
                }
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracseq_core::events::CloudEvent;

    fn fe(kind: &str, data: Value) -> FeedEvent {
        FeedEvent {
            event: CloudEvent::new(kind, "L", "runs/R1", "c", data).unwrap(),
            replayid: None,
        }
    }

    #[test]
    fn falls_back_when_the_lab_text_does_not_fit() {
        let mut texts = Texts::default();
        texts.lab.insert(
            "slack.sequencing.qc_failed".into(),
            LabTemplate {
                id: "slack.sequencing.qc_failed".into(),
                subject: None,
                body: "QC {{data.missing}}".into(),
                version: 1,
                updated_at: String::new(),
                updated_by: String::new(),
            },
        );
        let vars = event_vars(
            "https://lims",
            &fe("sequencing.qc_failed", json!({"run_id": "R1", "name": "<r>"})),
            None,
        );
        let (subject, body) = texts.render(ChannelKind::Slack, &vars).unwrap();
        assert_eq!(subject, None);
        assert!(body.starts_with("TracSeq: QC failed: run R1"), "{body}");
        assert!(body.contains("https://lims/runs/R1"));
        let (subject, _) = texts.render(ChannelKind::Email, &vars).unwrap();
        assert_eq!(subject.as_deref(), Some("[TracSeq] QC failed: run R1"));
    }

    #[test]
    fn only_account_mail_has_a_link() {
        let p = Person {
            id: "U".into(),
            email: "a@b.c".into(),
            name: "Ann".into(),
            phone: None,
            status: "active".into(),
            role: tracseq_core::auth::Role::Guest,
        };
        let vars = event_vars("x", &fe("account.password_reset", json!({"user_id": "U"})), Some(&p));
        let (_, body) = Texts::default().render(ChannelKind::Email, &vars).unwrap();
        assert!(body.contains(RESET_LINK) && body.contains("Hello Ann"));
        // What subscribers of the event get: a notice, no link, not even a placeholder.
        let vars = event_vars(
            "x",
            &fe("auth.password_reset_requested", json!({"user_id": "U"})),
            Some(&p),
        );
        assert!(vars.get("reset_url").is_none());
        let (subject, body) = Texts::default().render(ChannelKind::Email, &vars).unwrap();
        assert_eq!(subject.as_deref(), Some("[TracSeq] Password reset requested"));
        assert!(!body.contains(RESET_LINK) && !body.contains("token"), "{body}");
    }
}
