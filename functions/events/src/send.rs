//! One attempt at sending a delivery over its channel. Channel settings and secrets are
//! read at send time, so a lab's change applies to messages already queued.

use crate::compose::RESET_LINK;
use crate::domain::channel::{ChannelKind, SmtpTls, UrlPolicy};
use crate::domain::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use crate::model::{ChannelConfig, Delivery, InboxMessage, Target, Webhook, keys};
use crate::state::EventsState;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::{Value, json};
use tracseq_aws::account_mail::{self, AccountMail};
use tracseq_aws::store::{StoreError, keyed_item, s};

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        code: Option<u16>,
    },
    Failed {
        code: Option<u16>,
        error: String,
    },
    /// Nothing to do, now or later (the channel or webhook is gone, a link expired).
    Skip(String),
}

fn failed(error: impl Into<String>) -> Outcome {
    Outcome::Failed {
        code: None,
        error: error.into(),
    }
}

pub async fn send(st: &EventsState, d: &Delivery, target: &Target) -> Outcome {
    match target {
        Target::Webhook(id) => webhook(st, d, id).await,
        Target::Channel(ChannelKind::InApp) => inbox(st, d).await,
        Target::Channel(kind) => {
            let config = match channel(st, &d.lab_id, *kind).await {
                Ok(Some(c)) if c.enabled => c,
                Ok(_) => return Outcome::Skip(format!("{} is not configured or disabled", kind.as_str())),
                Err(e) => return failed(format!("reading the channel failed: {e}")),
            };
            let secret = if kind.needs_secret() || config.secret_set {
                match st
                    .secret(&st.secret_name(&d.lab_id, &format!("channels/{}", kind.as_str())))
                    .await
                {
                    Ok(Some(v)) => Some(v),
                    Ok(None) if kind.needs_secret() => {
                        return Outcome::Skip(format!("{} has no secret set", kind.as_str()));
                    }
                    Ok(None) => None,
                    Err(e) => return failed(e),
                }
            } else {
                None
            };
            match kind {
                ChannelKind::Email => email(st, d, &config, secret).await,
                ChannelKind::Sms => sms(st, d, &config, secret.unwrap_or_default()).await,
                ChannelKind::Slack => {
                    post(st, &secret.unwrap_or_default(), &json!({ "text": d.message.body }), &[]).await
                }
                ChannelKind::Teams => post(st, &secret.unwrap_or_default(), &teams_card(d), &[]).await,
                ChannelKind::InApp => inbox(st, d).await,
            }
        }
    }
}

pub async fn channel(st: &EventsState, lab: &str, kind: ChannelKind) -> Result<Option<ChannelConfig>, StoreError> {
    st.table
        .get_as(&keys::lab(lab), &format!("{}{}", keys::CHANNEL, kind.as_str()))
        .await
}

/// A Teams incoming-webhook message: an Adaptive Card, which both Workflows webhooks and
/// the older connectors accept.
pub fn teams_card(d: &Delivery) -> Value {
    let mut body: Vec<Value> = Vec::new();
    if let Some(s) = &d.message.subject {
        body.push(json!({"type": "TextBlock", "text": s, "weight": "Bolder", "wrap": true}));
    }
    body.push(json!({"type": "TextBlock", "text": d.message.body, "wrap": true}));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            }
        }]
    })
}

async fn post(st: &EventsState, url: &str, body: &Value, headers: &[(&str, String)]) -> Outcome {
    let Ok(bytes) = serde_json::to_vec(body) else {
        return failed("unserialisable payload");
    };
    post_bytes(st, url, bytes, headers).await
}

async fn post_bytes(st: &EventsState, url: &str, bytes: Vec<u8>, headers: &[(&str, String)]) -> Outcome {
    let mut req = st.http.post(url).header("content-type", "application/json").body(bytes);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    match req.send().await {
        Ok(resp) if resp.status().is_success() => Outcome::Delivered {
            code: Some(resp.status().as_u16()),
        },
        Ok(resp) => {
            let code = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            Outcome::Failed {
                code: Some(code),
                error: format!("HTTP {code}: {}", text.chars().take(200).collect::<String>()),
            }
        }
        // The URL is a lab's secret (Slack, Teams): say what failed, not where.
        Err(e) if e.is_timeout() => failed("the receiver did not answer in time"),
        Err(e) if e.is_connect() => failed("could not connect to the receiver"),
        Err(_) => failed("the request to the receiver failed"),
    }
}

async fn webhook(st: &EventsState, d: &Delivery, id: &str) -> Outcome {
    let hook: Option<Webhook> = match st
        .table
        .get_as(&keys::lab(&d.lab_id), &format!("{}{id}", keys::WEBHOOK))
        .await
    {
        Ok(h) => h,
        Err(e) => return failed(format!("reading the webhook failed: {e}")),
    };
    let Some(hook) = hook.filter(|h| h.enabled) else {
        return Outcome::Skip("the webhook was deleted or disabled".into());
    };
    let secret = match st.secret(&st.secret_name(&d.lab_id, &format!("webhooks/{id}"))).await {
        Ok(Some(s)) => s,
        Ok(None) => return Outcome::Skip("the webhook has no secret".into()),
        Err(e) => return failed(e),
    };
    let ts = jiff::Timestamp::now().as_second();
    let body = d.message.body.as_bytes().to_vec();
    let mut headers = vec![
        (SIGNATURE_HEADER, sign(&secret, ts, &body)),
        (TIMESTAMP_HEADER, ts.to_string()),
        ("x-tracseq-event-id", d.event_id.clone()),
        ("x-tracseq-event-type", d.event_type.clone()),
        ("x-tracseq-delivery", d.id.clone()),
        ("x-tracseq-attempt", (d.attempt_count + 1).to_string()),
    ];
    if let Some(r) = &d.replay_id {
        headers.push(("x-tracseq-replay", r.clone()));
    }
    post_bytes(st, &hook.url, body, &headers).await
}

async fn sms(st: &EventsState, d: &Delivery, config: &ChannelConfig, token: String) -> Outcome {
    let (Some(url), Some(to)) = (&config.settings.url, &d.message.to) else {
        return Outcome::Skip("no SMS endpoint or phone number".into());
    };
    let body = json!({ "to": to, "from": config.settings.from, "body": d.message.body });
    post(st, url, &body, &[("authorization", format!("Bearer {token}"))]).await
}

/// The link of an account-mail delivery (reset or invitation), read from the auth
/// service's item at send time; `None` once it expired (an hour). The link goes only into
/// a message addressed to the item's own recipient, for the item's lab and user, and never
/// into a subscription's delivery: any other delivery naming the item gets nothing.
async fn account_link(st: &EventsState, d: &Delivery, mail_id: &str) -> Result<Option<String>, Outcome> {
    let item = st
        .table
        .get(&account_mail::pk(mail_id), account_mail::sk())
        .await
        .map_err(|e| failed(format!("reading the link failed: {e}")))?;
    let Some(item) = item else { return Ok(None) };
    let mail =
        AccountMail::from_item(item).map_err(|e| Outcome::Skip(format!("the link's record is unreadable: {e}")))?;
    let own = d.subscription_id.is_none()
        && mail.lab_id == d.lab_id
        && d.user_id.as_deref() == Some(mail.user_id.as_str())
        && d.message.to.as_deref().is_some_and(|to| mail.is_addressed_to(to));
    if !own {
        tracing::error!(delivery = %d.id, "a delivery named another account's link; refused");
        return Err(Outcome::Skip("the link belongs to another recipient".into()));
    }
    if mail.expires_at <= tracseq_aws::store::now_epoch() || mail.token.is_empty() {
        return Ok(None);
    }
    let token: String = url::form_urlencoded::byte_serialize(mail.token.as_bytes()).collect();
    Ok(Some(format!(
        "{}/{}?token={token}",
        st.settings.app_url,
        mail.purpose.link_path()
    )))
}

async fn email(st: &EventsState, d: &Delivery, config: &ChannelConfig, password: Option<String>) -> Outcome {
    let s = &config.settings;
    let (Some(host), Some(from), Some(to)) = (&s.smtp_host, &s.from, &d.message.to) else {
        return Outcome::Skip("no SMTP relay, sender or recipient".into());
    };
    let mut body = d.message.body.clone();
    if let Some(r) = &d.secret_ref {
        match account_link(st, d, r).await {
            Ok(Some(link)) => body = body.replace(RESET_LINK, &link),
            Ok(None) => return Outcome::Skip("the link expired before it could be sent".into()),
            Err(outcome) => return outcome,
        }
    }
    let (Ok(from), Ok(to)) = (from.parse(), to.parse()) else {
        return Outcome::Skip("the sender or recipient is not an email address".into());
    };
    let message = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(d.message.subject.clone().unwrap_or_else(|| "[TracSeq]".into()))
        .message_id(Some(format!("<{}@tracseq>", d.id)))
        .header(ContentType::TEXT_PLAIN)
        .body(body);
    let message = match message {
        Ok(m) => m,
        Err(e) => return Outcome::Skip(format!("the message cannot be built: {e}")),
    };
    let tls = s
        .smtp_tls
        .as_deref()
        .and_then(SmtpTls::parse)
        .unwrap_or(SmtpTls::StartTls);
    let port = s.smtp_port.unwrap_or(match tls {
        SmtpTls::None => 25,
        SmtpTls::StartTls => 587,
        SmtpTls::Tls => 465,
    });
    // Connect to an address vetted here, not to whatever lettre would resolve: the relay
    // must be public (as webhooks must), and TLS still checks the certificate's name.
    let server = match relay_address(host, port, st.settings.url_policy).await {
        Ok(ip) => ip,
        Err(reason) => return failed(reason),
    };
    let params = match tls {
        SmtpTls::None => None,
        _ => match TlsParameters::new(host.clone()) {
            Ok(p) => Some(p),
            Err(_) => return Outcome::Skip("the SMTP relay's name is not valid for TLS".into()),
        },
    };
    let tls = match (tls, params) {
        (SmtpTls::Tls, Some(p)) => Tls::Wrapper(p),
        (SmtpTls::StartTls, Some(p)) => Tls::Required(p),
        _ => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.to_string())
        .port(port)
        .tls(tls)
        .timeout(Some(st.settings.send_timeout));
    if let (Some(user), Some(pw)) = (&s.smtp_username, password) {
        builder = builder.credentials(Credentials::new(user.clone(), pw));
    }
    match builder.build().send(message).await {
        Ok(resp) => Outcome::Delivered {
            code: resp.code().to_string().parse().ok(),
        },
        Err(e) => Outcome::Failed {
            code: e.status().and_then(|c| c.to_string().parse().ok()),
            error: smtp_error(&e),
        },
    }
}

/// The relay's address to connect to: its first public one (any one on the local stage).
async fn relay_address(host: &str, port: u16, policy: UrlPolicy) -> Result<std::net::IpAddr, String> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| "the SMTP relay's name does not resolve".to_owned())?;
    addrs
        .map(|a| a.ip())
        .find(|ip| policy == UrlPolicy::AllowLocal || crate::domain::address::is_public(*ip))
        .ok_or_else(|| "the SMTP relay has no public address".to_owned())
}

/// What a failed send says, for the delivery log an administrator reads: the kind of
/// failure and the relay's reply code, never an address, port or the relay's own words
/// about the network it is on.
fn smtp_error(e: &lettre::transport::smtp::Error) -> String {
    if e.is_permanent() {
        "SMTP: the relay refused the message".into()
    } else if e.is_transient() {
        "SMTP: the relay deferred the message".into()
    } else if e.is_timeout() {
        "SMTP: the relay did not answer in time".into()
    } else if e.is_tls() {
        "SMTP: TLS with the relay failed".into()
    } else if e.is_response() || e.is_client() {
        "SMTP: the relay's answer was not understood".into()
    } else {
        "SMTP: could not connect to the relay".into()
    }
}

/// An in-app message in the recipient's inbox, under the delivery's id (so a repeat
/// writes the same message).
async fn inbox(st: &EventsState, d: &Delivery) -> Outcome {
    let Some(user) = &d.user_id else {
        return Outcome::Skip("no recipient".into());
    };
    let m = InboxMessage {
        id: d.id.clone(),
        event_id: d.event_id.clone(),
        event_type: d.event_type.clone(),
        priority: d.priority,
        title: d.message.subject.clone().unwrap_or_else(|| d.event_type.clone()),
        body: d.message.body.clone(),
        link: d.message.link.clone(),
        created_at: d.created_at.clone(),
        read_at: None,
    };
    let item = keyed_item(
        &m,
        &[
            ("PK", keys::inbox(&d.lab_id, user)),
            ("SK", format!("{}{}", keys::MESSAGE, d.id)),
        ],
        "inbox_message",
    );
    let Ok(mut item) = item else {
        return failed("unserialisable message");
    };
    item.insert("user_id".into(), s(user));
    item.insert("state".into(), s("unread"));
    match st.table.put_new(item).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Outcome::Delivered { code: None },
        Err(e) => failed(format!("writing the inbox failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn smtp_relays_must_be_public_outside_the_local_stage() {
        for host in ["localhost", "127.0.0.1", "10.0.0.5", "169.254.169.254", "::1"] {
            assert_eq!(
                relay_address(host, 25, UrlPolicy::PublicHttps).await,
                Err("the SMTP relay has no public address".to_owned()),
                "{host}"
            );
        }
        assert!(relay_address("127.0.0.1", 25, UrlPolicy::AllowLocal).await.is_ok());
        assert!(relay_address("8.8.8.8", 25, UrlPolicy::PublicHttps).await.is_ok());
    }
}
