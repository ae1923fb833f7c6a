//! Events and notifications end to end: the stream publisher, the consumer queues, the
//! channel workers and real receivers started here (an HTTP receiver for webhooks, Slack,
//! Teams and SMS, and an SMTP sink), all through the shared local stack.

use aws_lc_rs::hmac;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tracseq_core::events::CloudEvent;
use tracseq_tests::client::{Api, Tokens, check_role_matrix, new_lab, new_user};
use tracseq_tests::receivers::{HttpReceiver, Received, SmtpSink};
use tracseq_tests::{eventually, shared};

fn api() -> Api {
    Api::new(&shared().api)
}

fn unique() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

/// A webhook of `t`'s lab to `url` for `types`, with a known secret.
async fn webhook(api: &Api, t: &Tokens, url: &str, types: &[&str]) -> (String, String) {
    let secret = format!("whsec-{}", unique());
    let (s, v) = api
        .post(
            "/api/webhooks",
            Some(&t.access),
            json!({"url": url, "event_types": types, "secret": secret}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["secret"], secret.as_str());
    (v["webhook"]["id"].as_str().unwrap().to_owned(), secret)
}

/// A new lab with one webhook to a receiver started here, at `{receiver}/{path}/{tag}`.
struct Hooked {
    api: Api,
    admin: Tokens,
    rx: HttpReceiver,
    /// Where the webhook points, under the receiver: `/{path}/{tag}`.
    at: String,
    hook: String,
    secret: String,
}

impl Hooked {
    async fn new(path: &str, types: &[&str]) -> Self {
        let api = api();
        let admin = new_lab(&api).await;
        let rx = HttpReceiver::start().await;
        let at = format!("/{path}/{}", unique());
        let (hook, secret) = webhook(&api, &admin, &format!("{}{at}", rx.base), types).await;
        Self {
            api,
            admin,
            rx,
            at,
            hook,
            secret,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.rx.received(&self.at)
    }
}

/// A new site: one `storage.location_created` event. Returns its id.
async fn site(api: &Api, t: &Tokens) -> String {
    let (s, v) = api
        .post(
            "/api/storage/locations",
            Some(&t.access),
            json!({"name": format!("Site {}", unique()), "kind": "site"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// What a receiver does with our signature headers, computed independently of the
/// service's own signing code.
fn signed_by(secret: &str, r: &Received) -> bool {
    let ts = r.header("x-tracseq-timestamp");
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut msg = ts.as_bytes().to_vec();
    msg.push(b'.');
    msg.extend_from_slice(&r.body);
    let want = format!("v1={}", hex::encode(hmac::sign(&key, &msg).as_ref()));
    !ts.is_empty() && r.header("x-tracseq-signature") == want
}

async fn deliveries(api: &Api, t: &Tokens, path: &str) -> Vec<Value> {
    let (s, v) = api.get(path, &t.access).await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

/// Wait until `path`'s deliveries hold one for `event_id` in a final status.
async fn settled(api: &Api, t: &Tokens, path: &str, event_id: &str, secs: u64) -> Value {
    eventually(secs, || async {
        deliveries(api, t, path).await.into_iter().find(|d| {
            d["event_id"] == event_id && ["sent", "failed", "skipped"].contains(&d["status"].as_str().unwrap_or(""))
        })
    })
    .await
    .unwrap_or_else(|| panic!("no settled delivery of {event_id} at {path}"))
}

/// Write an event straight into the outbox, as a service's transaction does.
async fn outbox(ev: &CloudEvent) {
    let s = shared();
    let ddb = aws_sdk_dynamodb::Client::new(&s.sdk().await);
    let item = tracseq_aws::outbox::event_item(ev).expect("item");
    ddb.put_item()
        .table_name(&s.table)
        .set_item(Some(item))
        .send()
        .await
        .expect("put event");
}

/// Send a feed message straight to a consumer queue (a duplicate, as SQS may deliver).
async fn to_consumer(queue: &str, body: &Value) {
    let s = shared();
    let sqs = aws_sdk_sqs::Client::new(&s.sdk().await);
    sqs.send_message()
        .queue_url(&s.queues[queue])
        .message_body(body.to_string())
        .send()
        .await
        .expect("send");
}

/// The data of a `sample.created` event (as its schema wants) for an event written here.
fn sample_data(tag: &str, i: i64) -> Value {
    json!({"sample_id": format!("{tag}-{i}"), "barcode": format!("T-{tag}-{i}"), "status": "pending", "sample_type": "DNA"})
}

/// The events service's warnings and errors so far, to explain a timeout.
fn event_service_trouble() -> String {
    tracseq_tests::logs()
        .lines()
        .filter(|l| l.contains("\"WARN\"") || l.contains("\"ERROR\""))
        .filter(|l| l.contains("tracseq_events") || l.contains("consumer") || l.contains("worker"))
        .take(20)
        .collect::<Vec<_>>()
        .join("\n")
}

fn event_ids(rs: &[Received]) -> Vec<String> {
    rs.iter()
        .map(|r| r.json()["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn webhook_deliveries_are_signed_cloudevents_and_logged() {
    let h = Hooked::new("ok", &["storage.*"]).await;
    let (api, admin) = (&h.api, &h.admin);
    let (hook, secret) = (&h.hook, &h.secret);
    let loc = site(api, admin).await;
    let got = eventually(60, || async { h.received().first().cloned() })
        .await
        .expect("the receiver got the event");
    assert!(
        signed_by(secret, &got),
        "HMAC-SHA256 over timestamp.body verifies: {:?}",
        got.headers
    );
    assert!(!signed_by("another-secret-value", &got));
    let ev = got.json();
    assert_eq!(ev["specversion"], "1.0");
    assert_eq!(ev["type"], "tracseq.storage.location_created");
    assert_eq!(ev["subject"], format!("storage/locations/{loc}"));
    assert_eq!(ev["labid"], admin.lab_id().as_str());
    assert_eq!(got.header("x-tracseq-event-id"), ev["id"].as_str().unwrap());
    assert_eq!(got.header("content-type"), "application/json");
    let d = settled(
        api,
        admin,
        &format!("/api/webhooks/{hook}/deliveries"),
        ev["id"].as_str().unwrap(),
        10,
    )
    .await;
    assert_eq!(d["status"], "sent");
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(d["attempts"][0]["status_code"], 200);
    // The list shows webhooks without their secrets.
    let (_, list) = api.get("/api/webhooks", &admin.access).await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["id"] == hook.as_str())
    );
    assert!(!list.to_string().contains(secret.as_str()));
    // Another lab sees neither the webhook nor its deliveries.
    let other = new_lab(api).await;
    let (s, _) = api
        .get(&format!("/api/webhooks/{hook}/deliveries"), &other.access)
        .await;
    assert_eq!(s, 404);
    let (s, _) = api.delete(&format!("/api/webhooks/{hook}"), &other.access).await;
    assert_eq!(s, 404);
    // Deleted, it receives nothing more; a stale delete is refused first.
    let (s, v, _) = api
        .send(
            Method::DELETE,
            &format!("/api/webhooks/{hook}"),
            Some(&admin.access),
            None,
            &[("if-match", "7")],
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("version_conflict")));
    let (s, _) = api.delete(&format!("/api/webhooks/{hook}"), &admin.access).await;
    assert_eq!(s, 204);
    site(api, admin).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(h.received().len(), 1);
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_one_delivery_after_three_attempts() {
    let h = Hooked::new("flaky/2", &["storage.location_created"]).await;
    let (api, admin) = (&h.api, &h.admin);
    let (hook, secret) = (&h.hook, &h.secret);
    site(api, admin).await;
    let all = eventually(60, || async {
        let r = h.received();
        (r.iter().any(|x| x.status == 200)).then_some(r)
    })
    .await
    .expect("delivered in the end");
    assert_eq!(all.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 500, 200]);
    assert!(all.iter().all(|r| signed_by(secret, r)));
    assert_eq!(
        BTreeSet::from_iter(all.iter().map(|r| r.header("x-tracseq-delivery").to_owned())).len(),
        1
    );
    assert_eq!(
        all.iter().map(|r| r.header("x-tracseq-attempt")).collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
    let ev = all[0].json()["id"].as_str().unwrap().to_owned();
    let d = settled(api, admin, &format!("/api/webhooks/{hook}/deliveries"), &ev, 10).await;
    assert_eq!(d["status"], "sent");
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| (a["ok"].clone(), a["status_code"].clone()))
            .collect::<Vec<_>>(),
        [
            (json!(false), json!(500)),
            (json!(false), json!(500)),
            (json!(true), json!(200))
        ]
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(h.received().iter().filter(|r| r.status == 200).count(), 1);
}

#[tokio::test]
async fn a_receiver_that_never_answers_ends_failed_and_in_the_dead_letter_queue() {
    let h = Hooked::new("down", &["storage.location_created"]).await;
    let (api, admin) = (&h.api, &h.admin);
    let hook = &h.hook;
    // Operations listens on the alarm topic (here through a queue subscribed to it).
    let st = shared();
    let sqs = aws_sdk_sqs::Client::new(&st.sdk().await);
    let sns = aws_sdk_sns::Client::new(&st.sdk().await);
    let inbox = sqs
        .create_queue()
        .queue_name(format!("ops-inbox-{}", ulid::Ulid::new()))
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let inbox_arn = format!(
        "arn:aws:sqs:us-east-1:123456789012:{}",
        inbox.rsplit('/').next().unwrap()
    );
    sns.subscribe()
        .topic_arn("arn:aws:sns:us-east-1:123456789012:tracseq-AlarmTopic")
        .protocol("sqs")
        .endpoint(&inbox_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .expect("subscribe");
    site(api, admin).await;
    let first = eventually(60, || async { h.received().first().cloned() })
        .await
        .expect("tried");
    let ev = first.json()["id"].as_str().unwrap().to_owned();
    let d = settled(api, admin, &format!("/api/webhooks/{hook}/deliveries"), &ev, 40).await;
    assert_eq!(d["status"], "failed");
    assert_eq!(
        d["attempts"].as_array().unwrap().len(),
        4,
        "the first attempt and three retries"
    );
    assert!(
        d["reason"].as_str().unwrap().contains("gave up after 4 attempts"),
        "{d}"
    );
    assert_eq!(h.received().len(), 4);
    let (s, failed) = api
        .get(&format!("/api/webhooks/{hook}/deliveries?status=failed"), &admin.access)
        .await;
    assert_eq!((s, failed["items"].as_array().unwrap().len()), (200, 1));
    // The dead-letter queue holds the delivery with all its attempts.
    let id = d["id"].as_str().unwrap().to_owned();
    let json_with = |key: &'static str| {
        let id = id.clone();
        move |body: &str| serde_json::from_str::<Value>(body).is_ok_and(|v| v[key] == id.as_str())
    };
    let found: Value = serde_json::from_str(
        &tracseq_tests::queue_message(&sqs, &st.queues["WebhookDeadLetterQueue"], 10, json_with("id"))
            .await
            .expect("in the DLQ"),
    )
    .expect("json");
    assert_eq!(found["attempts"].as_array().unwrap().len(), 4);
    assert_eq!(found["status"], "failed");
    // ... and the alarm topic heard of it: lab, target and event, not the message.
    let alert: Value = serde_json::from_str(
        &tracseq_tests::queue_message(&sqs, &inbox, 20, json_with("delivery_id"))
            .await
            .expect("announced on the alarm topic"),
    )
    .expect("json");
    assert_eq!(alert["kind"], "notification_delivery_failed");
    assert_eq!(alert["lab_id"], admin.lab_id().as_str());
    assert_eq!(alert["attempts"], 4);
    assert!(alert.get("message").is_none());
}

#[tokio::test]
async fn the_same_event_delivered_twice_yields_one_message() {
    let h = Hooked::new("ok", &["sample.*"]).await;
    let (api, admin) = (&h.api, &h.admin);
    let tag = unique();
    let (s, v) = api
        .post(
            "/api/notifications/subscriptions",
            Some(&admin.access),
            json!({"name": "me", "event_types": ["sample.created"], "channels": ["in_app"]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    // An event as the publisher sends it, given to both consumers twice.
    let ev = CloudEvent::new(
        "sample.created",
        &admin.lab_id(),
        &format!("samples/{tag}"),
        "c",
        sample_data(&tag, 0),
    )
    .unwrap();
    let body = serde_json::to_value(&ev).unwrap();
    for _ in 0..2 {
        to_consumer("WebhooksQueue", &body).await;
        to_consumer("NotificationsQueue", &body).await;
    }
    eventually(60, || async { (!h.received().is_empty()).then_some(()) })
        .await
        .expect("delivered");
    let inbox = eventually(60, || async {
        let (_, v) = api.get("/api/notifications", &admin.access).await;
        let mine: Vec<Value> = v["items"]
            .as_array()?
            .iter()
            .filter(|m| m["event_id"] == ev.id.as_str())
            .cloned()
            .collect();
        (!mine.is_empty()).then_some(mine)
    })
    .await
    .expect("in the inbox");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(h.received().len(), 1, "one webhook call");
    let (_, v) = api.get("/api/notifications", &admin.access).await;
    let again: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["event_id"] == ev.id.as_str())
        .collect();
    assert_eq!((inbox.len(), again.len()), (1, 1), "one inbox message");
}

#[tokio::test]
async fn a_publisher_crash_before_or_after_sending_still_delivers_once() {
    let h = Hooked::new("ok", &["sample.*"]).await;
    let admin = &h.admin;
    let tag = unique();
    // Subjects under `faults/` make the publisher fail once (the test stack's hook):
    // before sending (nothing went out) and after (everything went out, unacknowledged).
    let before = CloudEvent::new(
        "sample.created",
        &admin.lab_id(),
        &format!("faults/before/{tag}"),
        "c",
        sample_data(&tag, 1),
    )
    .unwrap();
    let after = CloudEvent::new(
        "sample.created",
        &admin.lab_id(),
        &format!("faults/after/{tag}"),
        "c",
        sample_data(&tag, 2),
    )
    .unwrap();
    outbox(&before).await;
    outbox(&after).await;
    eventually(60, || async { (h.received().len() >= 2).then_some(()) })
        .await
        .expect("both published");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let mut got = event_ids(&h.received());
    got.sort();
    let mut want = vec![before.id.clone(), after.id.clone()];
    want.sort();
    assert_eq!(got, want, "each event exactly once");
    assert!(
        tracseq_tests::logs().contains("publish fault injected"),
        "the hook fired"
    );
}

#[tokio::test]
async fn replay_redelivers_exactly_the_chosen_range_to_one_consumer() {
    let h = Hooked::new("ok", &["sample.*"]).await;
    let (api, admin) = (&h.api, &h.admin);
    let tag = unique();
    // Five events a minute apart, yesterday.
    let base = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let mut evs = Vec::new();
    for i in 0..5 {
        let mut ev = CloudEvent::new(
            "sample.created",
            &admin.lab_id(),
            &format!("samples/{tag}-{i}"),
            "c",
            sample_data(&tag, i),
        )
        .unwrap();
        ev.time = tracseq_core::events::event_time(base + time::Duration::minutes(i));
        outbox(&ev).await;
        evs.push(ev);
    }
    eventually(60, || async { (h.received().len() >= 5).then_some(()) })
        .await
        .expect("originals");
    let rfc = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let from = rfc(base + time::Duration::minutes(1));
    let to = rfc(base + time::Duration::minutes(3));
    let replay = json!({"consumer": "webhooks", "from": from, "to": to, "type": "sample.created"});
    let key = format!("replay-{tag}");
    let (s, v, _) = api
        .post_keyed("/api/events/replay", &admin.access, replay.clone(), &key)
        .await;
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["events"], 3);
    let replay_id = v["replay_id"].as_str().unwrap().to_owned();
    // The same request again (same key) is answered, not replayed again.
    let (s, again, headers) = api.post_keyed("/api/events/replay", &admin.access, replay, &key).await;
    assert_eq!((s, again["replay_id"].as_str()), (202, Some(replay_id.as_str())));
    assert!(headers.get("idempotent-replayed").is_some());
    let replayed = eventually(60, || async {
        let r: Vec<Received> = h
            .received()
            .into_iter()
            .filter(|r| !r.header("x-tracseq-replay").is_empty())
            .collect();
        (r.len() >= 3).then_some(r)
    })
    .await
    .expect("replayed");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let all = h.received();
    let replayed_now: Vec<&Received> = all
        .iter()
        .filter(|r| !r.header("x-tracseq-replay").is_empty())
        .collect();
    assert_eq!(replayed_now.len(), 3, "exactly the range, once");
    let mut got: Vec<String> = replayed
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    let want: Vec<String> = evs[1..4].iter().map(|e| e.id.clone()).collect();
    assert_eq!(got, want);
    assert!(
        replayed
            .iter()
            .all(|r| r.header("x-tracseq-replay") == replay_id && r.json()["replayid"] == replay_id.as_str())
    );
    // Refusals.
    for (body, field) in [
        (json!({"consumer": "nobody", "from": from, "to": to}), "consumer"),
        (json!({"consumer": "webhooks", "from": to, "to": from}), "from"),
        (
            json!({"consumer": "webhooks", "from": "2020-01-01", "to": "2026-01-01"}),
            "from",
        ),
        (
            json!({"consumer": "webhooks", "from": from, "to": to, "type": "Sample"}),
            "type",
        ),
    ] {
        let (s, v) = api.post("/api/events/replay", Some(&admin.access), body).await;
        assert_eq!((s, v["errors"][0]["field"].as_str()), (422, Some(field)), "{v}");
    }
    let pi = new_user(api, admin, "principal_investigator").await;
    let (s, _) = api
        .post(
            "/api/events/replay",
            Some(&pi.access),
            json!({"consumer": "webhooks", "from": from, "to": to}),
        )
        .await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn password_reset_email_reaches_the_smtp_sink_and_its_link_works() {
    let api = api();
    let admin = new_lab(&api).await;
    let sink = SmtpSink::start().await;
    let email = admin.user["email"].as_str().unwrap().to_owned();
    let (s, v) = api.put("/api/notifications/channels/email", &admin.access, json!({"enabled": true, "settings": {"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_tls": "none", "from": "TracSeq <lims@example.org>"}})).await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = api
        .post("/api/auth/password/forgot", None, json!({"email": email}))
        .await;
    assert_eq!(s, 202);
    let mail = eventually(60, || async { sink.mail_to(&email).first().cloned() })
        .await
        .unwrap_or_else(|| {
            panic!(
                "the email arrived; events service trouble:\n{}",
                event_service_trouble()
            )
        });
    assert_eq!(mail.header("subject").as_deref(), Some("[TracSeq] Reset your password"));
    assert!(mail.header("from").unwrap().contains("lims@example.org"));
    let body = mail.body();
    assert!(body.contains("Hello Ada Admin"), "{body}");
    let link = body
        .lines()
        .find(|l| l.contains("/reset-password?token="))
        .expect("a reset link")
        .trim()
        .to_owned();
    let url = reqwest::Url::parse(&link).expect("a URL");
    let token = url
        .query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // The stored delivery never holds the token.
    let (_, log) = api
        .get("/api/notifications/deliveries?channel=email", &admin.access)
        .await;
    assert!(!log.to_string().contains(&token));
    assert!(log.to_string().contains("[reset link, sent by email only]"));
    let (s, v) = api
        .post(
            "/api/auth/password/reset",
            None,
            json!({"token": token, "new_password": "Another-S3quence"}),
        )
        .await;
    assert_eq!(s, 204, "the emailed link works: {v}");
    api.login(&email, "Another-S3quence").await;
}

#[tokio::test]
async fn slack_teams_and_sms_get_their_payloads() {
    let api = api();
    let admin = new_lab(&api).await;
    let rx = HttpReceiver::start().await;
    let tag = unique();
    for (kind, body) in [
        (
            "slack",
            json!({"enabled": true, "secret": format!("{}/ok/slack-{tag}", rx.base)}),
        ),
        (
            "teams",
            json!({"enabled": true, "secret": format!("{}/ok/teams-{tag}", rx.base)}),
        ),
        (
            "sms",
            json!({"enabled": true, "settings": {"url": format!("{}/ok/sms-{tag}", rx.base), "from": "TracSeq"}, "secret": "sms-token-1"}),
        ),
    ] {
        let (s, v) = api
            .put(&format!("/api/notifications/channels/{kind}"), &admin.access, body)
            .await;
        assert_eq!(s, 200, "{kind}: {v}");
        assert_eq!(v["secret_set"], true);
        assert!(
            !v.to_string().contains(&format!("{kind}-{tag}")) || kind == "sms",
            "the secret is never shown: {v}"
        );
        assert!(!v.to_string().contains("sms-token-1"), "the secret is never shown: {v}");
    }
    let (s, v) = api
        .post(
            "/api/notifications/subscriptions",
            Some(&admin.access),
            json!({"name": "storage to chat", "event_types": ["storage.location_created"], "channels": ["slack", "teams", "in_app"]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let loc = site(&api, &admin).await;
    let slack = eventually(60, || async {
        rx.received(&format!("/ok/slack-{tag}")).first().cloned()
    })
    .await
    .expect("slack");
    let text = slack.json()["text"].as_str().unwrap().to_owned();
    assert!(text.starts_with("TracSeq: storage.location_created"), "{text}");
    assert!(text.contains(&format!("storage/locations/{loc}")));
    let teams = eventually(60, || async {
        rx.received(&format!("/ok/teams-{tag}")).first().cloned()
    })
    .await
    .expect("teams");
    let card = teams.json();
    assert_eq!(card["type"], "message");
    assert_eq!(
        card["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["attachments"][0]["content"]["type"], "AdaptiveCard");
    assert!(
        card["attachments"][0]["content"]["body"][0]["text"]
            .as_str()
            .unwrap()
            .contains("storage.location_created")
    );
    // The test route sends over a channel now; SMS needs the recipient's phone.
    let (s, v) = api
        .post(
            "/api/notifications/test",
            Some(&admin.access),
            json!({"channel": "slack"}),
        )
        .await;
    assert_eq!((s, v["delivered"].as_bool()), (200, Some(true)), "{v}");
    assert_eq!(rx.received(&format!("/ok/slack-{tag}")).len(), 2);
    let key = format!("test-{tag}");
    for _ in 0..2 {
        let (s, v, _) = api
            .post_keyed(
                "/api/notifications/test",
                &admin.access,
                json!({"channel": "slack"}),
                &key,
            )
            .await;
        assert_eq!((s, v["delivered"].as_bool()), (200, Some(true)), "{v}");
    }
    assert_eq!(
        rx.received(&format!("/ok/slack-{tag}")).len(),
        3,
        "a retried test sends once"
    );
    let (s, v) = api
        .post(
            "/api/notifications/test",
            Some(&admin.access),
            json!({"channel": "sms"}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("channel_not_ready")), "{v}");
    let (s, _) = api
        .patch(
            &format!("/api/users/{}", admin.user_id()),
            &admin.access,
            json!({"phone": "+15550100", "version": admin.user["version"]}),
        )
        .await;
    if s == 200 {
        let (s, v) = api
            .post(
                "/api/notifications/test",
                Some(&admin.access),
                json!({"channel": "sms"}),
            )
            .await;
        assert_eq!((s, v["delivered"].as_bool()), (200, Some(true)), "{v}");
        let sms = rx.received(&format!("/ok/sms-{tag}"));
        assert_eq!(sms.len(), 1);
        assert_eq!(sms[0].header("authorization"), "Bearer sms-token-1");
        assert_eq!(sms[0].json()["to"], "+15550100");
    }
    let (s, v) = api
        .post(
            "/api/notifications/test",
            Some(&admin.access),
            json!({"channel": "email"}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("channel_not_ready")), "{v}");
    // Bad settings are refused before anything is stored.
    for (kind, body, field) in [
        ("slack", json!({"enabled": true, "secret": "not a url"}), "secret"),
        (
            "email",
            json!({"enabled": true, "settings": {"from": "x"}}),
            "settings.smtp_host",
        ),
        (
            "sms",
            json!({"enabled": true, "settings": {"url": "ftp://x", "from": "T"}}),
            "settings.url",
        ),
        ("in_app", json!({"enabled": true, "secret": "s"}), "secret"),
        (
            "teams",
            json!({"enabled": true, "settings": {"rate_per_minute": 61}}),
            "settings.rate_per_minute",
        ),
    ] {
        let (s, v) = api
            .put(&format!("/api/notifications/channels/{kind}"), &admin.access, body)
            .await;
        assert_eq!(s, 422, "{kind}: {v}");
        assert!(
            v["errors"].as_array().unwrap().iter().any(|e| e["field"] == field),
            "{kind}: {v}"
        );
    }
    let (s, _) = api
        .put(
            "/api/notifications/channels/fax",
            &admin.access,
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(s, 404);
    // Saved channels need their version: missing 428, stale 409.
    let (s, v) = api
        .put(
            "/api/notifications/channels/slack",
            &admin.access,
            json!({"enabled": false}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (428, Some("version_required")));
    let (s, v) = api
        .put(
            "/api/notifications/channels/slack",
            &admin.access,
            json!({"enabled": false, "version": 9}),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("version_conflict")));
    let (_, list) = api.get("/api/notifications/channels", &admin.access).await;
    let slack_cfg = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "slack")
        .unwrap()
        .clone();
    assert_eq!(
        (slack_cfg["configured"].as_bool(), slack_cfg["version"].as_u64()),
        (Some(true), Some(1))
    );
    // The secret itself lives in SSM, under the lab.
    let st = shared();
    let ssm = aws_sdk_ssm::Client::new(&st.sdk().await);
    let p = ssm
        .get_parameter()
        .name(format!("/tracseq/local/labs/{}/channels/slack", admin.lab_id()))
        .with_decryption(true)
        .send()
        .await
        .expect("secret in SSM");
    assert!(
        p.parameter()
            .unwrap()
            .value()
            .unwrap()
            .ends_with(&format!("/ok/slack-{tag}"))
    );
}

/// A quiet window around now in Tokyo time.
fn quiet_now() -> Value {
    let tokyo = time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap());
    let fmt = |t: time::OffsetDateTime| format!("{:02}:{:02}", t.hour(), t.minute());
    json!({"start": fmt(tokyo - time::Duration::hours(1)), "end": fmt(tokyo + time::Duration::hours(2)), "time_zone": "Asia/Tokyo"})
}

#[tokio::test]
async fn quiet_hours_hold_a_normal_message_and_not_an_urgent_one() {
    let api = api();
    let admin = new_lab(&api).await;
    // Account events are the administrators' to hear of (a technician is refused).
    let tech = new_user(&api, &admin, "lab_technician").await;
    let night = json!({"name": "night", "event_types": ["auth.login_failed", "auth.password_reset_requested"], "channels": ["in_app"], "quiet_hours": quiet_now()});
    let (s, v) = api
        .post("/api/notifications/subscriptions", Some(&tech.access), night.clone())
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("event_type_forbidden")), "{v}");
    let user = new_user(&api, &admin, "lab_administrator").await;
    let email = user.user["email"].as_str().unwrap().to_owned();
    let (s, v) = api
        .post("/api/notifications/subscriptions", Some(&user.access), night)
        .await;
    assert_eq!(s, 201, "{v}");
    // A failed login (normal) and a reset request (urgent), both about this user.
    let (s, _) = api.try_login(&email, "wrong-password-1").await;
    assert_eq!(s, 401);
    let (s, _) = api
        .post("/api/auth/password/forgot", None, json!({"email": email}))
        .await;
    assert_eq!(s, 202);
    let urgent = eventually(60, || async {
        let (_, v) = api.get("/api/notifications?unread=true", &user.access).await;
        v["items"]
            .as_array()?
            .iter()
            .find(|m| m["event_type"] == "tracseq.auth.password_reset_requested")
            .cloned()
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the urgent one is in the inbox; events service trouble:\n{}",
            event_service_trouble()
        )
    });
    assert_eq!(urgent["priority"], "urgent");
    assert_eq!(urgent["title"], "[TracSeq] Password reset requested");
    let body = urgent["body"].as_str().unwrap();
    assert!(
        !body.contains("token") && !body.contains("[reset link"),
        "a notice, never a link: {body}"
    );
    let held = eventually(60, || async {
        deliveries(&api, &admin, "/api/notifications/deliveries?channel=in_app")
            .await
            .into_iter()
            .find(|d| d["event_type"] == "tracseq.auth.login_failed" && d["user_id"] == user.user_id().as_str())
    })
    .await
    .expect("the normal one has a delivery");
    assert_eq!(held["status"], "scheduled", "{held}");
    assert_eq!(held["reason"], "quiet hours");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let due = held["not_before"].as_i64().unwrap();
    assert!(
        due > now + 3000 && due <= now + 2 * 3600 + 60,
        "released at the window's end: {due} vs {now}"
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, v) = api.get("/api/notifications", &user.access).await;
    assert!(
        !v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["event_type"] == "tracseq.auth.login_failed"),
        "held back"
    );
    // Read it: twice keeps the first time; others' ids and unknown ids are 404.
    let id = urgent["id"].as_str().unwrap();
    let (s, first) = api
        .post(&format!("/api/notifications/{id}/read"), Some(&user.access), json!({}))
        .await;
    assert_eq!(s, 200, "{first}");
    let (_, second) = api
        .post(&format!("/api/notifications/{id}/read"), Some(&user.access), json!({}))
        .await;
    assert_eq!(first["read_at"], second["read_at"]);
    let (_, unread) = api.get("/api/notifications?unread=true", &user.access).await;
    assert!(!unread["items"].as_array().unwrap().iter().any(|m| m["id"] == id));
    let (s, _) = api
        .post(&format!("/api/notifications/{id}/read"), Some(&admin.access), json!({}))
        .await;
    assert_eq!(s, 404);
    let (s, v) = api.get("/api/notifications?unread=maybe", &user.access).await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (422, Some("unread")));
}

#[tokio::test]
async fn import_completion_reaches_the_importer_by_default() {
    let api = api();
    let admin = new_lab(&api).await;
    tracseq_tests::client::defaults_ready(&api, &admin).await;
    let tech = new_user(&api, &admin, "lab_technician").await;
    let (_, subs) = api.get("/api/notifications/subscriptions", &admin.access).await;
    let defaults: BTreeSet<&str> = subs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["default"] == true)
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        defaults,
        BTreeSet::from([
            "default-storage-alerts",
            "default-sequencing-outcomes",
            "default-password-reset",
            "default-imports",
            "default-submissions",
            "default-documents",
            "default-submission-failures"
        ])
    );
    let (_, mine) = api.get("/api/notifications/subscriptions", &tech.access).await;
    assert_eq!(
        mine["items"].as_array().unwrap().len(),
        0,
        "the lab's subscriptions are the administrators'"
    );
    let template =
        tracseq_tests::lims::published_template(&api, &admin.access, tracseq_tests::lims::reference_template()).await;
    let csv = tracseq_tests::lims::reference_csv_with_prefix(&tracseq_tests::lims::unique_prefix());
    let imp = tracseq_tests::lims::import(&api, &tech.access, &template, csv.as_bytes(), json!({})).await;
    assert_eq!(imp["status"], "completed", "{imp}");
    let msg = eventually(60, || async {
        let (_, v) = api.get("/api/notifications", &tech.access).await;
        v["items"]
            .as_array()?
            .iter()
            .find(|m| m["event_type"] == "tracseq.import.completed")
            .cloned()
    })
    .await
    .expect("the importer is told");
    assert!(
        msg["title"].as_str().unwrap().contains(imp["id"].as_str().unwrap()),
        "{msg}"
    );
    assert!(msg["body"].as_str().unwrap().contains("rows committed"));
    // The lab has no email channel: that delivery is visible as skipped, not lost.
    let email = eventually(60, || async {
        deliveries(
            &api,
            &admin,
            "/api/notifications/deliveries?channel=email&status=skipped",
        )
        .await
        .into_iter()
        .find(|d| d["event_type"] == "tracseq.import.completed")
    })
    .await
    .expect("an email delivery");
    assert!(email["reason"].as_str().unwrap().contains("not configured"), "{email}");
}

#[tokio::test]
async fn a_channel_rate_limit_defers_the_excess_without_losing_it() {
    // The limit counts per clock minute: three messages must meet in one window.
    tracseq_tests::fresh_minute(50).await;
    let api = api();
    let admin = new_lab(&api).await;
    let rx = HttpReceiver::start().await;
    let tag = unique();
    let (s, v) = api
        .put(
            "/api/notifications/channels/slack",
            &admin.access,
            json!({"enabled": true, "secret": format!("{}/ok/{tag}", rx.base), "settings": {"rate_per_minute": 2}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = api
        .post(
            "/api/notifications/subscriptions",
            Some(&admin.access),
            json!({"name": "sites", "event_types": ["storage.location_created"], "channels": ["slack"]}),
        )
        .await;
    assert_eq!(s, 201);
    for _ in 0..3 {
        site(&api, &admin).await;
    }
    let deferred = eventually(60, || async {
        deliveries(
            &api,
            &admin,
            "/api/notifications/deliveries?channel=slack&status=scheduled",
        )
        .await
        .into_iter()
        .next()
    })
    .await
    .expect("one waits for the next minute");
    assert_eq!(deferred["reason"], "rate limit of the slack channel");
    let sent_now = rx.received(&format!("/ok/{tag}")).len();
    assert!(sent_now <= 2, "at most 2 a minute, got {sent_now}");
    eventually(75, || async {
        (rx.received(&format!("/ok/{tag}")).len() == 3).then_some(())
    })
    .await
    .expect("sent in the next window");
}

#[tokio::test]
async fn templates_preview_and_override_with_versions() {
    let api = api();
    let admin = new_lab(&api).await;
    let (s, list) = api.get("/api/notifications/templates", &admin.access).await;
    assert_eq!(s, 200);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == "email.sequencing.qc_failed" && t["origin"] == "builtin")
    );
    let (s, v) = api
        .post(
            "/api/notifications/templates/email.sequencing.qc_failed/preview",
            Some(&admin.access),
            json!({"data": {"run_id": "R-9", "name": "Run 9"}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["subject"], "[TracSeq] QC failed: run R-9");
    // A variable the sample event lacks is named, not left blank.
    let (s, v) = api
        .post(
            "/api/notifications/templates/email.sequencing.qc_failed/preview",
            Some(&admin.access),
            json!({"data": {"run_id": "R-9"}, "subject": "QC {{data.run_id}}", "body": "{{data.flowcell}} and {{recipient.name}} and {{data.lane}}"}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    let missing: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["data.flowcell", "data.lane"]);
    // Overrides: checked variables and syntax, then versions.
    let path = "/api/notifications/templates/slack.sequencing.qc_failed";
    for (body, rule) in [
        (json!({"body": "{{nope}}"}), "unknown_variable"),
        (json!({"body": "{{data.x"}), "syntax"),
        (json!({"body": "x", "subject": "s"}), "not_applicable"),
        (json!({"body": " "}), "required"),
    ] {
        let (s, v) = api.put(path, &admin.access, body).await;
        assert_eq!((s, v["errors"][0]["rule"].as_str()), (422, Some(rule)), "{v}");
    }
    let (s, v) = api
        .put(path, &admin.access, json!({"body": "QC failed on {{data.name}}"}))
        .await;
    assert_eq!((s, v["version"].as_u64()), (200, Some(1)), "{v}");
    let (s, v) = api.put(path, &admin.access, json!({"body": "again"})).await;
    assert_eq!((s, v["code"].as_str()), (428, Some("version_required")));
    let (s, v) = api
        .put(path, &admin.access, json!({"body": "again", "version": 5}))
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("version_conflict")));
    let (s, v) = api
        .post(
            &format!("{path}/preview"),
            Some(&admin.access),
            json!({"data": {"name": "<Run 9>"}}),
        )
        .await;
    assert_eq!(
        (s, v["body"].as_str()),
        (200, Some("QC failed on &lt;Run 9&gt;")),
        "Slack markup is escaped"
    );
    let (_, list) = api.get("/api/notifications/templates", &admin.access).await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == "slack.sequencing.qc_failed" && t["origin"] == "lab")
    );
    // Two editors at once: one wins.
    let (a, b) = tokio::join!(
        api.put(path, &admin.access, json!({"body": "A", "version": 1})),
        api.put(path, &admin.access, json!({"body": "B", "version": 1})),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let (s, _) = api.delete(path, &admin.access).await;
    assert_eq!(s, 204);
    let (s, _) = api.delete(path, &admin.access).await;
    assert_eq!(s, 404);
    let (s, _) = api
        .post(
            "/api/notifications/templates/fax.default/preview",
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn subscriptions_belong_to_their_owner_and_admins() {
    let api = api();
    let admin = new_lab(&api).await;
    tracseq_tests::client::defaults_ready(&api, &admin).await;
    let user = new_user(&api, &admin, "research_scientist").await;
    let other = new_user(&api, &admin, "research_scientist").await;
    let base =
        json!({"name": "mine", "event_types": ["sample.*"], "channels": ["email", "in_app"], "min_priority": "normal"});
    let key = format!("sub-{}", unique());
    let (s, sub, _) = api
        .post_keyed("/api/notifications/subscriptions", &user.access, base.clone(), &key)
        .await;
    assert_eq!(s, 201, "{sub}");
    let (s, again, _) = api
        .post_keyed("/api/notifications/subscriptions", &user.access, base, &key)
        .await;
    assert_eq!(
        (s, again["id"].clone()),
        (201, sub["id"].clone()),
        "one subscription per key"
    );
    let id = sub["id"].as_str().unwrap();
    assert_eq!(sub["audience"], json!({"kind": "user", "user_id": user.user_id()}));
    for (body, field) in [
        (
            json!({"name": "x", "event_types": ["sample.*"], "channels": ["slack"]}),
            "channels",
        ),
        (
            json!({"name": "x", "event_types": ["sample.*"], "channels": ["in_app"], "audience": {"kind": "roles", "roles": ["guest"]}}),
            "audience",
        ),
        (
            json!({"name": "x", "event_types": ["Sample"], "channels": ["in_app"]}),
            "event_types",
        ),
        (
            json!({"name": "x", "event_types": ["sample.*"], "channels": ["fax"]}),
            "channels",
        ),
        (
            json!({"name": "", "event_types": ["sample.*"], "channels": ["in_app"]}),
            "name",
        ),
        (
            json!({"name": "x", "event_types": ["sample.*"], "channels": ["in_app"], "min_priority": "meh"}),
            "min_priority",
        ),
        (
            json!({"name": "x", "event_types": ["sample.*"], "channels": ["in_app"], "quiet_hours": {"start": "22:00", "end": "07:00", "time_zone": "Mars/Base"}}),
            "quiet_hours",
        ),
    ] {
        let (s, v) = api
            .post("/api/notifications/subscriptions", Some(&user.access), body)
            .await;
        assert_eq!(s, 422, "{v}");
        assert!(
            v["errors"].as_array().unwrap().iter().any(|e| e["field"] == field),
            "{field}: {v}"
        );
    }
    // Others do not see it, cannot change it; the owner and administrators can.
    let (_, theirs) = api.get("/api/notifications/subscriptions", &other.access).await;
    assert!(theirs["items"].as_array().unwrap().is_empty());
    let path = format!("/api/notifications/subscriptions/{id}");
    let (s, _) = api
        .patch(&path, &other.access, json!({"enabled": false, "version": 1}))
        .await;
    assert_eq!(s, 404);
    let (s, v) = api.patch(&path, &user.access, json!({"enabled": false})).await;
    assert_eq!((s, v["code"].as_str()), (428, Some("version_required")));
    let (s, v) = api
        .patch(&path, &user.access, json!({"enabled": false, "version": 3}))
        .await;
    assert_eq!((s, v["code"].as_str()), (409, Some("version_conflict")));
    let (s, v) = api
        .patch(
            &path,
            &user.access,
            json!({"enabled": false, "quiet_hours": quiet_now(), "version": 1}),
        )
        .await;
    assert_eq!(
        (s, v["version"].as_u64(), v["enabled"].as_bool()),
        (200, Some(2), Some(false)),
        "{v}"
    );
    let (s, v) = api
        .patch(&path, &admin.access, json!({"quiet_hours": null, "version": 2}))
        .await;
    assert_eq!((s, v.get("quiet_hours")), (200, None), "{v}");
    let (s, v) = api.patch(&path, &user.access, json!({"bogus": 1, "version": 3})).await;
    assert_eq!(s, 422, "{v}");
    let (a, b) = tokio::join!(
        api.patch(&path, &user.access, json!({"name": "a", "version": 3})),
        api.patch(&path, &admin.access, json!({"name": "b", "version": 3})),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "one concurrent writer wins");
    let (s, _) = api.delete(&path, &other.access).await;
    assert_eq!(s, 404);
    let (s, _) = api.delete(&path, &user.access).await;
    assert_eq!(s, 204);
    // Another lab's administrator cannot reach this lab's subscriptions.
    let foreign = new_lab(&api).await;
    tracseq_tests::client::defaults_ready(&api, &foreign).await;
    let (_, subs) = api.get("/api/notifications/subscriptions", &admin.access).await;
    let default_id = subs["items"][0]["id"].as_str().unwrap();
    let (s, _) = api
        .patch(
            &format!("/api/notifications/subscriptions/{default_id}"),
            &foreign.access,
            json!({"enabled": false, "version": 1}),
        )
        .await;
    // The same default id exists in every lab: the foreign admin changed their own.
    assert_eq!(s, 200);
    let (_, mine) = api.get("/api/notifications/subscriptions", &admin.access).await;
    assert_eq!(mine["items"][0]["enabled"], true, "this lab's copy is untouched");
}

#[tokio::test]
async fn webhook_input_is_checked() {
    let api = api();
    let admin = new_lab(&api).await;
    for (body, field) in [
        (json!({"url": "not a url", "event_types": ["sample.*"]}), "url"),
        (json!({"url": "ftp://127.0.0.1/x", "event_types": ["sample.*"]}), "url"),
        (json!({"url": "http://127.0.0.1/x", "event_types": []}), "event_types"),
        (
            json!({"url": "http://127.0.0.1/x", "event_types": ["sample.*"], "secret": "short"}),
            "secret",
        ),
        (
            json!({"url": "http://127.0.0.1/x", "event_types": ["sample.*"], "description": "d".repeat(501)}),
            "description",
        ),
    ] {
        let (s, v) = api.post("/api/webhooks", Some(&admin.access), body).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }
    let (s, v) = api
        .post(
            "/api/webhooks",
            Some(&admin.access),
            json!({"url": "http://127.0.0.1:9/x", "event_types": ["*"]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["secret"].as_str().unwrap().len(), 64, "a generated secret");
}

#[tokio::test]
async fn every_events_route_checks_the_role() {
    let api = api();
    let admin = new_lab(&api).await;
    check_role_matrix(&api, &admin, tracseq_events::routes::ALL).await;
}

/// Every event in the table (this test's flow, and whatever the other tests wrote so far)
/// validates against its JSON Schema in `events/schemas`, checked by Python's
/// `jsonschema` (Draft 2020-12); an event type without a schema fails.
#[tokio::test]
async fn events_match_their_json_schemas() {
    let api = api();
    let admin = new_lab(&api).await;
    let tech = new_user(&api, &admin, "lab_technician").await;
    let template =
        tracseq_tests::lims::published_template(&api, &admin.access, tracseq_tests::lims::reference_template()).await;
    let csv = tracseq_tests::lims::reference_csv_with_prefix(&tracseq_tests::lims::unique_prefix());
    tracseq_tests::lims::import(&api, &tech.access, &template, csv.as_bytes(), json!({})).await;
    site(&api, &admin).await;
    let email = tech.user["email"].as_str().unwrap().to_owned();
    api.try_login(&email, "wrong-password-1").await;
    api.post("/api/auth/password/forgot", None, json!({"email": email}))
        .await;
    let st = shared();
    let ddb = aws_sdk_dynamodb::Client::new(&st.sdk().await);
    let mut events: Vec<Value> = Vec::new();
    let mut start = None;
    loop {
        let out = ddb
            .scan()
            .table_name(&st.table)
            .filter_expression("entity = :e")
            .expression_attribute_values(":e", aws_sdk_dynamodb::types::AttributeValue::S("event".into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in out.items.unwrap_or_default() {
            let ev = tracseq_aws::outbox::event_from_item(item).expect("an outbox item reads as an event");
            events.push(serde_json::to_value(ev).unwrap());
        }
        start = out.last_evaluated_key;
        if start.is_none() || events.len() > 20_000 {
            break;
        }
    }
    let kinds: BTreeSet<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    for k in [
        "tracseq.sample.created",
        "tracseq.import.completed",
        "tracseq.template.published",
        "tracseq.storage.location_created",
        "tracseq.auth.login_failed",
        "tracseq.auth.password_reset_requested",
    ] {
        assert!(kinds.contains(k), "{k} among {kinds:?}");
    }
    let root = tracseq_tests::workspace();
    let mut child = std::process::Command::new(tracseq_tests::venv().join("bin/python"))
        .arg(root.join("tests/fixtures/events/validate.py"))
        .arg(root.join("events/schemas"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&events).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let problems = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} events of {} types; problems:\n{}",
        events.len(),
        kinds.len(),
        problems.lines().take(30).collect::<Vec<_>>().join("\n")
    );
}

/// Invoke a function through the runner's Lambda Invoke API, as EventBridge would.
async fn invoke(function: &str, payload: Value) -> Value {
    let s = shared();
    let resp = s
        .http()
        .post(format!(
            "{}/2015-03-31/functions/{}/invocations",
            s.edge,
            s.function(function)
        ))
        .body(payload.to_string())
        .send()
        .await
        .expect("invoke");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

#[tokio::test]
async fn a_digest_subscription_sends_one_summary_per_window() {
    let api = api();
    let admin = new_lab(&api).await;
    let (s, sub) = api
        .post(
            "/api/notifications/subscriptions",
            Some(&admin.access),
            json!({"name": "sites hourly", "event_types": ["storage.location_created"], "channels": ["in_app"], "digest": "hourly"}),
        )
        .await;
    assert_eq!((s, sub["digest"].as_str()), (201, Some("hourly")), "{sub}");
    let a = site(&api, &admin).await;
    let b = site(&api, &admin).await;
    // Collected, not sent: wait until both lines are kept under the window.
    let st = shared();
    let ddb = aws_sdk_dynamodb::Client::new(&st.sdk().await);
    let pk = format!("LAB#{}#DIGEST#{}", admin.lab_id(), sub["id"].as_str().unwrap());
    eventually(60, || async {
        let out = ddb
            .query()
            .table_name(&st.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :e)")
            .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()))
            .expression_attribute_values(":e", aws_sdk_dynamodb::types::AttributeValue::S("E#".into()))
            .send()
            .await
            .ok()?;
        (out.count() == 2).then_some(())
    })
    .await
    .expect("both events kept for the digest");
    let (_, inbox) = api.get("/api/notifications", &admin.access).await;
    assert!(
        inbox["items"].as_array().unwrap().is_empty(),
        "nothing sent yet: {inbox}"
    );
    // A damaged window of another lab, due first, does not hold this one back.
    use aws_sdk_dynamodb::types::AttributeValue as Av;
    let (bad_lab, bad_sub) = ("00000000000000000000000000", ulid::Ulid::new().to_string());
    let end = (time::OffsetDateTime::now_utc().unix_timestamp() / 3600 + 1) * 3600;
    let bad_pk = format!("LAB#{bad_lab}#DIGEST#{bad_sub}");
    let damaged = [
        vec![
            ("PK", Av::S(format!("LAB#{bad_lab}"))),
            ("SK", Av::S(format!("SUB#{bad_sub}"))),
            ("name", Av::N("5".into())),
        ],
        vec![
            ("PK", Av::S(bad_pk.clone())),
            ("SK", Av::S(format!("W#{end:012}"))),
            ("GSI1PK", Av::S("DIGESTS#due".into())),
            ("GSI1SK", Av::S(format!("{end:012}#{bad_lab}#{bad_sub}"))),
            ("entity", Av::S("digest_window".into())),
            ("lab_id", Av::S(bad_lab.into())),
            ("subscription_id", Av::S(bad_sub.clone())),
            ("window_end", Av::N(end.to_string())),
        ],
        vec![
            ("PK", Av::S(bad_pk.clone())),
            ("SK", Av::S(format!("E#{end:012}#x"))),
            ("line", Av::S("x".into())),
        ],
    ];
    for item in &damaged {
        ddb.put_item()
            .table_name(&st.table)
            .set_item(Some(item.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()))
            .send()
            .await
            .expect("put");
    }
    // Before the window ends nothing goes; after, one summary of both.
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    invoke("DigestFunction", json!({"time": fmt(now)})).await;
    let (_, inbox) = api.get("/api/notifications", &admin.access).await;
    assert!(inbox["items"].as_array().unwrap().is_empty());
    let later = fmt(now + time::Duration::hours(1));
    let report = invoke("DigestFunction", json!({"time": later})).await;
    assert!(report["windows"].as_u64().unwrap() >= 1, "{report}");
    assert!(
        report["failed"].as_u64().unwrap() >= 1,
        "the damaged window failed alone: {report}"
    );
    for item in &damaged {
        ddb.delete_item()
            .table_name(&st.table)
            .key("PK", item[0].1.clone())
            .key("SK", item[1].1.clone())
            .send()
            .await
            .expect("delete");
    }
    let msg = eventually(60, || async {
        let (_, v) = api.get("/api/notifications", &admin.access).await;
        v["items"].as_array()?.first().cloned()
    })
    .await
    .expect("the summary arrived");
    assert_eq!(msg["title"], "[TracSeq] 2 events: sites hourly");
    let body = msg["body"].as_str().unwrap();
    assert!(
        body.contains(&format!("storage/locations/{a}")) && body.contains(&format!("storage/locations/{b}")),
        "{body}"
    );
    // A second run finds nothing due; the inbox keeps one summary.
    invoke("DigestFunction", json!({"time": later})).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let (_, inbox) = api.get("/api/notifications", &admin.access).await;
    assert_eq!(inbox["items"].as_array().unwrap().len(), 1);
    // A digest needs a fixed audience.
    let (s, v) = api
        .post(
            "/api/notifications/subscriptions",
            Some(&admin.access),
            json!({"name": "x", "event_types": ["import.*"], "channels": ["in_app"], "audience": {"kind": "requester"}, "digest": "daily"}),
        )
        .await;
    assert_eq!(
        (s, v["errors"][0]["rule"].as_str()),
        (422, Some("not_for_requester")),
        "{v}"
    );
}

/// Events too large to share a queue batch (four of 300 KB, written in one transaction so
/// the publisher reads them together: 1.2 MB, over SQS's batch limit) go through as claim
/// checks: the webhook receives each whole, once, and the events after them are not held up.
#[tokio::test]
async fn events_over_the_queue_limit_travel_as_claim_checks() {
    let h = Hooked::new("ok", &["sample.updated", "storage.location_created"]).await;
    let st = shared();
    let table = tracseq_aws::Table::new(aws_sdk_dynamodb::Client::new(&st.sdk().await), st.table.clone());
    let big = "x".repeat(300 * 1024);
    let events: Vec<CloudEvent> = (0..4)
        .map(|i| {
            let id = format!("01JBIGEVENT000000000000000{i}");
            CloudEvent::new(
                "sample.updated",
                &h.admin.lab_id(),
                &format!("samples/{id}"),
                "claim-check-test",
                json!({"sample_id": id, "changed": [big]}),
            )
            .unwrap()
        })
        .collect();
    // Written as any producer writes them: outbox items, published from the stream.
    let ops = events
        .iter()
        .map(|e| table.put_new_op(tracseq_aws::outbox::event_item(e).unwrap()).unwrap())
        .collect();
    table.transact(ops).await.expect("outbox items");
    let after = site(&h.api, &h.admin).await;
    eventually(90, || async {
        let all = h.rx.received(&h.at);
        let bigs = events
            .iter()
            .filter(|e| all.iter().any(|r| r.header("x-tracseq-event-id") == e.id))
            .count();
        let next = all
            .iter()
            .any(|r| r.json()["subject"] == format!("storage/locations/{after}"));
        (bigs == 4 && next).then_some(())
    })
    .await
    .expect("all four and the next event arrive");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let all = h.rx.received(&h.at);
    for e in &events {
        let copies: Vec<_> = all.iter().filter(|r| r.header("x-tracseq-event-id") == e.id).collect();
        assert_eq!(copies.len(), 1, "delivered once");
        assert_eq!(
            copies[0].json()["data"]["changed"][0].as_str().map(str::len),
            Some(300 * 1024),
            "whole"
        );
    }
}
