//! Notification channels and their per-lab settings. Secrets (an SMTP password, an SMS
//! API token, a Slack or Teams incoming-webhook URL) never live in these settings: they
//! are stored in SSM Parameter Store and named by the channel item.

use serde::{Deserialize, Serialize};
use tracseq_core::{FieldError, named_enum};

named_enum!(
    ChannelKind {
        Email => "email",
        Sms => "sms",
        Slack => "slack",
        Teams => "teams",
        InApp => "in_app",
    }
);

impl ChannelKind {
    /// Whether a message goes to each recipient (email, SMS, inbox) or once to the
    /// lab's shared destination (a Slack or Teams channel).
    pub fn per_recipient(self) -> bool {
        matches!(self, ChannelKind::Email | ChannelKind::Sms | ChannelKind::InApp)
    }

    /// Whether the channel needs a secret before it can send.
    pub fn needs_secret(self) -> bool {
        matches!(self, ChannelKind::Sms | ChannelKind::Slack | ChannelKind::Teams)
    }
}

named_enum!(
    SmtpTls {
        None => "none",
        StartTls => "starttls",
        Tls => "tls",
    }
);

/// The non-secret settings of a channel. Every field is optional in the document; what a
/// channel kind requires is checked by [`check_settings`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    /// Email: the SMTP relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 65535)]
    pub smtp_port: Option<u16>,
    /// Email: `none` (local relays only), `starttls` or `tls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_tls: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_username: Option<String>,
    /// Email: the From address; SMS: the sender number or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// SMS: the provider's HTTP endpoint (JSON `{to, from, body}` with a bearer token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Messages per minute (at most 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_minute: Option<u32>,
    /// Messages per hour (at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_hour: Option<u32>,
}

pub const MAX_PER_MINUTE: u32 = 60;
pub const MAX_PER_HOUR: u32 = 1000;

impl ChannelSettings {
    pub fn per_minute(&self) -> u32 {
        self.rate_per_minute.unwrap_or(MAX_PER_MINUTE).min(MAX_PER_MINUTE)
    }
    pub fn per_hour(&self) -> u32 {
        self.rate_per_hour.unwrap_or(MAX_PER_HOUR).min(MAX_PER_HOUR)
    }
}

/// Where outbound HTTP may go. Outside the local stack only `https` to a named host: no IP
/// literals and no `localhost`, so a lab cannot point the service at its own network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlPolicy {
    PublicHttps,
    AllowLocal,
}

pub fn check_url(field: &str, raw: &str, policy: UrlPolicy, errors: &mut Vec<FieldError>) {
    let err = |errors: &mut Vec<FieldError>, msg: &str| errors.push(FieldError::field(field, "invalid_url", msg));
    let Ok(url) = reqwest::Url::parse(raw) else {
        return err(errors, "not an absolute URL");
    };
    if raw.len() > 2048 {
        return err(errors, "at most 2048 characters");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return err(errors, "credentials do not belong in the URL");
    }
    let host = url.host_str().unwrap_or_default();
    match policy {
        UrlPolicy::AllowLocal if matches!(url.scheme(), "http" | "https") && !host.is_empty() => {}
        UrlPolicy::AllowLocal => err(errors, "use http or https with a host"),
        UrlPolicy::PublicHttps => {
            let literal = matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
            if url.scheme() != "https" {
                err(errors, "use https");
            } else if literal || host == "localhost" || host.ends_with(".localhost") || host.ends_with(".internal") {
                err(errors, "use a public host name");
            }
        }
    }
}

/// Check `settings` for a channel of `kind`.
pub fn check_settings(kind: ChannelKind, s: &ChannelSettings, policy: UrlPolicy) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let require = |errors: &mut Vec<FieldError>, field: &str, v: &Option<String>| {
        if v.as_deref().is_none_or(|v| v.trim().is_empty()) {
            errors.push(FieldError::field(
                format!("settings.{field}"),
                "required",
                format!("required for {}", kind.as_str()),
            ));
        }
    };
    for (field, v) in [
        ("smtp_host", &s.smtp_host),
        ("smtp_username", &s.smtp_username),
        ("from", &s.from),
        ("url", &s.url),
    ] {
        if v.as_deref().is_some_and(|v| v.len() > 256 && field != "url") {
            errors.push(FieldError::field(
                format!("settings.{field}"),
                "too_long",
                "at most 256 characters",
            ));
        }
    }
    if s.rate_per_minute.is_some_and(|r| r == 0 || r > MAX_PER_MINUTE) {
        errors.push(FieldError::field("settings.rate_per_minute", "out_of_range", "1-60"));
    }
    if s.rate_per_hour.is_some_and(|r| r == 0 || r > MAX_PER_HOUR) {
        errors.push(FieldError::field("settings.rate_per_hour", "out_of_range", "1-1000"));
    }
    match kind {
        ChannelKind::Email => {
            require(&mut errors, "smtp_host", &s.smtp_host);
            require(&mut errors, "from", &s.from);
            if let Some(from) = &s.from
                && from.parse::<lettre::message::Mailbox>().is_err()
            {
                errors.push(FieldError::field(
                    "settings.from",
                    "invalid_email",
                    "not an email address",
                ));
            }
            if let Some(tls) = &s.smtp_tls
                && SmtpTls::parse(tls).is_none()
            {
                errors.push(FieldError::field(
                    "settings.smtp_tls",
                    "one_of",
                    format!("one of {}", SmtpTls::names()),
                ));
            }
            if s.smtp_tls.as_deref().and_then(SmtpTls::parse) == Some(SmtpTls::None) && policy == UrlPolicy::PublicHttps
            {
                errors.push(FieldError::field(
                    "settings.smtp_tls",
                    "tls_required",
                    "only local relays may skip TLS",
                ));
            }
        }
        ChannelKind::Sms => {
            require(&mut errors, "url", &s.url);
            require(&mut errors, "from", &s.from);
            if let Some(url) = &s.url {
                check_url("settings.url", url, policy, &mut errors);
            }
        }
        ChannelKind::Slack | ChannelKind::Teams | ChannelKind::InApp => {
            for (field, v) in [("smtp_host", &s.smtp_host), ("url", &s.url), ("from", &s.from)] {
                if v.is_some() {
                    errors.push(FieldError::field(
                        format!("settings.{field}"),
                        "not_applicable",
                        format!("{} does not use {field}", kind.as_str()),
                    ));
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        let bad = |u: &str, p| {
            let mut e = Vec::new();
            check_url("url", u, p, &mut e);
            !e.is_empty()
        };
        assert!(!bad("https://hooks.slack.com/services/T/B/X", UrlPolicy::PublicHttps));
        assert!(bad("http://hooks.slack.com/x", UrlPolicy::PublicHttps));
        assert!(bad("https://127.0.0.1/x", UrlPolicy::PublicHttps));
        assert!(bad("https://[::1]/x", UrlPolicy::PublicHttps));
        assert!(bad("https://localhost/x", UrlPolicy::PublicHttps));
        assert!(bad("https://user:pw@example.org/x", UrlPolicy::PublicHttps));
        assert!(!bad("http://127.0.0.1:9000/x", UrlPolicy::AllowLocal));
        assert!(bad("ftp://127.0.0.1/x", UrlPolicy::AllowLocal));
        assert!(bad("not a url", UrlPolicy::AllowLocal));
    }

    #[test]
    fn settings_per_kind() {
        let email = ChannelSettings {
            smtp_host: Some("smtp.example.org".into()),
            from: Some("LIMS <lims@example.org>".into()),
            smtp_tls: Some("starttls".into()),
            ..Default::default()
        };
        assert!(check_settings(ChannelKind::Email, &email, UrlPolicy::PublicHttps).is_empty());
        let plain = ChannelSettings {
            smtp_tls: Some("none".into()),
            ..email.clone()
        };
        assert_eq!(
            check_settings(ChannelKind::Email, &plain, UrlPolicy::PublicHttps).len(),
            1
        );
        assert!(check_settings(ChannelKind::Email, &plain, UrlPolicy::AllowLocal).is_empty());
        let e = check_settings(ChannelKind::Sms, &ChannelSettings::default(), UrlPolicy::PublicHttps);
        assert_eq!(e.len(), 2);
        let e = check_settings(ChannelKind::Slack, &email, UrlPolicy::PublicHttps);
        assert_eq!(e.len(), 2);
        let limits = ChannelSettings {
            rate_per_minute: Some(61),
            rate_per_hour: Some(0),
            ..Default::default()
        };
        assert_eq!(
            check_settings(ChannelKind::Slack, &limits, UrlPolicy::PublicHttps).len(),
            2
        );
        assert_eq!(
            ChannelSettings {
                rate_per_minute: Some(5),
                ..Default::default()
            }
            .per_minute(),
            5
        );
        assert_eq!(ChannelSettings::default().per_hour(), 1000);
    }
}
