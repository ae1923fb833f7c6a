//! Security end to end (docs/security.md): the attacks of the threat model, tried the way
//! an attacker would, against the shared local stack with real receivers.

use serde_json::json;
use tracseq_tests::client::{Api, PASSWORD, Tokens, new_lab, new_user};
use tracseq_tests::receivers::{HttpReceiver, SmtpSink};
use tracseq_tests::{eventually, shared};

fn api() -> Api {
    Api::new(&shared().api)
}

fn unique() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

/// A user of `admin`'s lab with a phone number, so SMS can reach them.
async fn user_with_phone(api: &Api, admin: &Tokens, role: &str) -> Tokens {
    let email = format!("{role}-{}@example.org", unique());
    let (s, v) = api
        .post(
            "/api/users",
            Some(&admin.access),
            json!({"email": email, "name": format!("A {role}"), "role": role, "phone": "+441234567890", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    api.login(&email, PASSWORD).await
}

/// The token of the first link to `path` (`/reset-password`) in a message body.
fn link_token(body: &str, path: &str) -> Option<String> {
    let line = body.lines().find(|l| l.contains(&format!("{path}?token=")))?;
    let url = reqwest::Url::parse(line.trim()).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// The attack of issue 15: a technician or guest subscribes to reset events and asks for
/// the administrator's reset link. Every channel a subscriber could use is wired to a real
/// receiver: email (SMTP sink), SMS, Slack and Teams (HTTP receiver), a webhook for `*`, and
/// the in-app inbox; the administrator even subscribes technicians and guests to `auth.*`.
/// The owner and the invitee get working links; nobody else sees a token.
#[tokio::test]
async fn reset_and_invitation_links_reach_only_the_account_owner() {
    let api = api();
    let admin = new_lab(&api).await;
    let admin_email = admin.user["email"].as_str().unwrap().to_owned();
    let sink = SmtpSink::start().await;
    let rx = HttpReceiver::start().await;
    let tag = unique();
    for (kind, body) in [
        (
            "email",
            json!({"enabled": true, "settings": {"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_tls": "none", "from": "lims@example.org"}}),
        ),
        (
            "sms",
            json!({"enabled": true, "settings": {"url": format!("{}/ok/sms-{tag}", rx.base), "from": "TracSeq"}, "secret": "sms-token"}),
        ),
        (
            "slack",
            json!({"enabled": true, "secret": format!("{}/ok/slack-{tag}", rx.base)}),
        ),
        (
            "teams",
            json!({"enabled": true, "secret": format!("{}/ok/teams-{tag}", rx.base)}),
        ),
    ] {
        let (s, v) = api
            .put(&format!("/api/notifications/channels/{kind}"), &admin.access, body)
            .await;
        assert_eq!(s, 200, "{kind}: {v}");
    }
    let (s, v) = api
        .post(
            "/api/webhooks",
            Some(&admin.access),
            json!({"url": format!("{}/ok/hook-{tag}", rx.base), "event_types": ["*"], "secret": format!("whsec-{tag}")}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let tech = user_with_phone(&api, &admin, "lab_technician").await;
    let guest = user_with_phone(&api, &admin, "guest").await;
    for u in [&tech, &guest] {
        // The attack itself is refused on every channel a member may use, by name or entity.
        for (types, channels) in [
            (json!(["auth.password_reset_requested"]), json!(["email"])),
            (json!(["auth.password_reset_requested"]), json!(["sms"])),
            (json!(["tracseq.auth.password_reset_requested"]), json!(["in_app"])),
            (json!(["sample.created", "auth.*"]), json!(["email", "sms", "in_app"])),
        ] {
            let (s, v) = api
                .post(
                    "/api/notifications/subscriptions",
                    Some(&u.access),
                    json!({"name": "steal", "event_types": types, "channels": channels}),
                )
                .await;
            assert_eq!(s, 403, "{v}");
            assert_eq!(v["code"], "event_type_forbidden");
            assert_eq!(v["errors"][0]["field"], "event_types");
        }
        // `*` is everything the member may see, on every channel the member may use.
        let (s, v) = api
            .post(
                "/api/notifications/subscriptions",
                Some(&u.access),
                json!({"name": "everything", "event_types": ["*"], "channels": ["email", "sms", "in_app"]}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    // The lab's own mistake: account events to every role, on every channel. Created last,
    // so the router (which takes a lab's subscriptions in creation order within one event)
    // has handled the members' subscriptions once this one's deliveries exist.
    let (s, v) = api
        .post(
            "/api/notifications/subscriptions",
            Some(&admin.access),
            json!({"name": "account events to all", "event_types": ["auth.*"], "channels": ["email", "sms", "slack", "teams", "in_app"],
                   "audience": {"kind": "roles", "roles": ["guest", "lab_technician", "lab_administrator"]}}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let broad = v["id"].as_str().unwrap().to_owned();

    let (s, _) = api
        .post("/api/auth/password/forgot", None, json!({"email": admin_email}))
        .await;
    assert_eq!(s, 202);
    let invitee = format!("invitee-{tag}@example.org");
    let (s, v) = api
        .post(
            "/api/users",
            Some(&admin.access),
            json!({"email": invitee, "name": "Ivy Invitee", "role": "guest"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    // The owners get their links, each exactly once.
    let reset = eventually(60, || async {
        sink.mail_to(&admin_email)
            .iter()
            .find_map(|m| link_token(&m.body(), "/reset-password"))
    })
    .await
    .expect("the administrator's reset link");
    let invite = eventually(60, || async {
        sink.mail_to(&invitee)
            .iter()
            .find_map(|m| link_token(&m.body(), "/accept-invitation"))
    })
    .await
    .expect("the invitation link");
    // The broad subscription's notices of both requests reach the lab's shared channels
    // and the administrator's address: the router has handled both events.
    let notices = |prefix: String| {
        let rx = &rx;
        async move {
            let got = rx
                .received(&prefix)
                .into_iter()
                .filter(|r| String::from_utf8_lossy(&r.body).contains("Password reset requested"))
                .count();
            (got >= 2).then_some(got)
        }
    };
    for channel in ["slack", "teams"] {
        eventually(60, || notices(format!("/ok/{channel}-{tag}")))
            .await
            .unwrap_or_else(|| panic!("two notices on {channel}"));
    }
    eventually(60, || async {
        let n = sink
            .mail_to(&admin_email)
            .iter()
            .filter(|m| m.header("subject").as_deref() == Some("[TracSeq] Password reset requested"))
            .count();
        (n >= 2).then_some(n)
    })
    .await
    .expect("the administrator's notices");
    eventually(60, || async {
        let n = rx
            .received(&format!("/ok/hook-{tag}"))
            .into_iter()
            .filter(|r| r.json()["type"] == "tracseq.auth.password_reset_requested")
            .count();
        (n >= 2).then_some(n)
    })
    .await
    .expect("the webhook's two events");
    let (_, log) = api
        .get("/api/notifications/deliveries?channel=email&limit=200", &admin.access)
        .await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["subscription_id"] == broad.as_str()),
        "the broad subscription was routed"
    );

    // Nobody else saw a token: not in any other mail, any HTTP payload, any inbox or log.
    let secrets = [reset.as_str(), invite.as_str()];
    let leaks = |text: &str| secrets.iter().any(|t| text.contains(t));
    for m in sink.all() {
        let owner = m.to.iter().all(|t| *t == admin_email || *t == invitee);
        assert!(owner || !leaks(&m.body()), "a link went to {:?}", m.to);
        assert_eq!(m.to.len(), 1, "one recipient per message");
    }
    for r in rx.all() {
        let body = String::from_utf8_lossy(&r.body);
        assert!(!leaks(&body), "a link reached {}", r.path);
        assert!(!body.contains("token="), "{}: {body}", r.path);
    }
    for u in [&tech, &guest, &admin] {
        let (_, inbox) = api.get("/api/notifications?limit=200", &u.access).await;
        assert!(!leaks(&inbox.to_string()));
    }
    for u in [&tech, &guest] {
        let email = u.user["email"].as_str().unwrap();
        assert!(sink.mail_to(email).is_empty(), "{email} heard of other accounts");
        let (_, inbox) = api.get("/api/notifications?limit=200", &u.access).await;
        assert!(
            !inbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["event_type"].as_str().unwrap_or("").starts_with("tracseq.auth.")),
            "{inbox}"
        );
    }
    for channel in ["email", "sms", "in_app", "slack", "teams"] {
        let (_, log) = api
            .get(
                &format!("/api/notifications/deliveries?channel={channel}&limit=200"),
                &admin.access,
            )
            .await;
        let text = log.to_string();
        assert!(!leaks(&text), "{channel} log");
        for d in log["items"].as_array().unwrap() {
            let to_member = d["user_id"] == tech.user_id().as_str() || d["user_id"] == guest.user_id().as_str();
            assert!(
                !(to_member && d["event_type"].as_str().unwrap_or("").starts_with("tracseq.auth.")),
                "{channel}: {d}"
            );
        }
    }
    // The event history names no secret either.
    let (_, events) = api
        .get("/api/events?type=auth.password_reset_requested", &admin.access)
        .await;
    assert!(!leaks(&events.to_string()));
    assert!(events["items"].as_array().unwrap().len() >= 2, "{events}");
    // Members below administrator do not see account events in the history.
    let pi = new_user(&api, &admin, "principal_investigator").await;
    let (_, seen) = api.get("/api/events?type=auth.*", &pi.access).await;
    assert_eq!(seen["items"].as_array().map(Vec::len), Some(0), "{seen}");

    // Every reset request is audited.
    let (_, audit) = api
        .get("/api/audit?action=password_reset_requested&limit=50", &admin.access)
        .await;
    let targets: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["target"].as_str())
        .collect();
    assert!(targets.contains(&admin.user_id().as_str()), "{audit}");
    assert_eq!(targets.len(), 2, "the reset and the invitation: {audit}");

    // The links work for their owners.
    let (s, v) = api
        .post(
            "/api/auth/password/reset",
            None,
            json!({"token": reset, "new_password": "Another-S3quence"}),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    api.login(&admin_email, "Another-S3quence").await;
    let (s, v) = api
        .post(
            "/api/auth/password/reset",
            None,
            json!({"token": invite, "new_password": "Invited-S3quence"}),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    api.login(&invitee, "Invited-S3quence").await;
}

/// A session lookup that fails (here: the table is gone, in a stack of its own) answers 503
/// with Retry-After, never 401: a DynamoDB hiccup must not sign everyone out.
#[tokio::test]
async fn a_failed_session_lookup_is_503_with_retry_after_not_401() {
    let (stack, e) = tracseq_tests::isolated(tracseq_tests::config("sessionfault")).await;
    let api = Api::new(&e.api);
    let admin = api
        .login(
            tracseq_tests::client::OPERATOR_EMAIL,
            tracseq_tests::client::OPERATOR_PASSWORD,
        )
        .await;
    assert_eq!(api.get("/api/users/me", &admin.access).await.0, 200);
    aws_sdk_dynamodb::Client::new(&e.sdk().await)
        .delete_table()
        .table_name(&e.table)
        .send()
        .await
        .expect("delete the table");
    let (status, body, headers) = api
        .send(reqwest::Method::GET, "/api/users/me", Some(&admin.access), None, &[])
        .await;
    stack.shutdown().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "service_unavailable");
    assert!(headers.get("retry-after").is_some());
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
}
