//! Digests. An event matched by a digest subscription is not sent on its own: it is kept
//! as a line under the subscription's current window, and the window is listed as due at
//! its end. A scheduled function (every five minutes) turns each due window into one
//! summary message per channel and recipient, through the same delivery path as any
//! event, under ids fixed by subscription and window, so a repeated run sends nothing new.

use crate::compose::Texts;
use crate::domain::delivery::delivery_id;
use crate::domain::priority::Priority;
use crate::domain::subscription::Subscription;
use crate::error::WorkError;
use crate::feed::FeedEvent;
use crate::router::{LabConfig, audience, channels, deliver};
use crate::state::EventsState;
use serde_json::{Value, json};
use tracseq_aws::store::{GSI1, Item, PageQuery, StoreError, from_item, n, now_epoch, s};
use tracseq_core::events::CloudEvent;
use tracseq_core::keyed::lab_key;
use tracseq_core::pagination::PageRequest;

/// The index partition listing every open window by its end.
const DUE: &str = "DIGESTS#due";
/// Lines in one summary; the rest are counted.
const MAX_LINES: usize = 100;

fn partition(lab: &str, sub: &str) -> String {
    lab_key(lab, &["DIGEST", sub])
}

/// Keep `fe` for `sub`'s digest.
pub async fn collect(st: &EventsState, sub: &Subscription, fe: &FeedEvent) -> Result<(), WorkError> {
    let Some(digest) = sub.digest else { return Ok(()) };
    let lab = &fe.event.labid;
    let at = (fe.time_ms() / 1000) as i64;
    let end = digest.window_end(if at > 0 { at } else { now_epoch() });
    let pk = partition(lab, &sub.id);
    let short = fe.event.kind.strip_prefix("tracseq.").unwrap_or(&fe.event.kind);
    let line = format!(
        "{} {short} {}",
        fe.event.time.get(..19).unwrap_or(&fe.event.time),
        fe.event.subject
    );
    let entry = Item::from([
        ("PK".into(), s(&pk)),
        (
            "SK".into(),
            s(format!(
                "E#{end:012}#{}#{}#{}",
                fe.event.time,
                fe.event.id,
                fe.replayid.as_deref().unwrap_or("")
            )),
        ),
        ("entity".into(), s("digest_entry")),
        ("line".into(), s(line)),
        ("expires_at".into(), n(end + 7 * 86_400)),
    ]);
    let window = Item::from([
        ("PK".into(), s(&pk)),
        ("SK".into(), s(format!("W#{end:012}"))),
        ("GSI1PK".into(), s(DUE)),
        ("GSI1SK".into(), s(format!("{end:012}#{lab}#{}", sub.id))),
        ("entity".into(), s("digest_window")),
        ("lab_id".into(), s(lab)),
        ("subscription_id".into(), s(&sub.id)),
        ("window_end".into(), n(end)),
    ]);
    // The entry first: a crash between the two leaves the event unacknowledged, and its
    // redelivery writes both again.
    st.table.put(entry).await?;
    st.table.put(window).await?;
    Ok(())
}

/// Send every window that ended by `now`. Returns how many were sent and how many failed
/// (those stay due).
pub async fn send_due(st: &EventsState, now: i64) -> Result<Value, WorkError> {
    let hi = format!("{now:012}~");
    let (mut windows, mut failed) = (0, 0);
    let mut cursor = None;
    loop {
        let page = st
            .table
            .query_page(
                &PageQuery::of(DUE).on_index(GSI1).between("0", &hi),
                &PageRequest { limit: 100, cursor },
            )
            .await
            .map_err(|p| StoreError::Invalid(p.detail))?;
        for w in page.items {
            let text = |k: &str| w.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let end: i64 = w
                .get("window_end")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            // One window's trouble (a damaged item, a lab's bad data) stays its own: it is
            // logged and left due for the next run, and the other windows go out.
            match send_window(st, &text("lab_id"), &text("subscription_id"), end).await {
                Ok(()) => windows += 1,
                Err(e) => {
                    tracing::warn!(lab = %text("lab_id"), subscription = %text("subscription_id"), error = %e, "digest window not sent; the next run retries it");
                    failed += 1;
                }
            }
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(json!({ "windows": windows, "failed": failed }))
}

async fn send_window(st: &EventsState, lab: &str, sub_id: &str, end: i64) -> Result<(), WorkError> {
    let pk = partition(lab, sub_id);
    let sub: Option<Subscription> = st
        .table
        .get(&lab_key(lab, &[]), &format!("SUB#{sub_id}"))
        .await?
        .map(from_item)
        .transpose()?;
    let entries = st.table.query_prefix(&pk, &format!("E#{end:012}#")).await?;
    if let Some(sub) = sub.filter(|s| s.enabled && s.digest.is_some() && !entries.is_empty()) {
        let lines: Vec<String> = entries
            .iter()
            .filter_map(|e| e.get("line").and_then(|v| v.as_s().ok()).cloned())
            .collect();
        let mut text = lines.iter().take(MAX_LINES).cloned().collect::<Vec<_>>().join("\n");
        if lines.len() > MAX_LINES {
            text.push_str(&format!("\n… and {} more", lines.len() - MAX_LINES));
        }
        let window_end = jiff::Timestamp::from_second(end)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let mut event = CloudEvent::new(
            "notification.digest",
            lab,
            &format!("notifications/subscriptions/{sub_id}"),
            &format!("digest-{sub_id}-{end}"),
            json!({ "count": lines.len(), "name": sub.name, "lines": text, "window_end": window_end, "subscription_id": sub_id }),
        )
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
        // Fixed by subscription and window: a second run finds its deliveries written.
        event.id = delivery_id(sub_id, (end as u64) * 1000, None, "digest", "");
        let fe = FeedEvent { event, replayid: None };
        let people = audience(st, lab, &sub, &fe).await?;
        let channels = channels(st, lab).await?;
        let texts = Texts::load(st, lab).await?;
        let config = LabConfig {
            channels: &channels,
            texts: &texts,
        };
        deliver(st, &config, &sub, &fe, &people, Priority::Normal).await?;
    }
    st.table
        .client
        .delete_item()
        .table_name(&st.table.name)
        .key("PK", s(&pk))
        .key("SK", s(format!("W#{end:012}")))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}

/// The scheduled function: `time` of the EventBridge event is "now" (a test or a
/// catch-up run may pass a later one).
pub async fn handle(
    st: std::sync::Arc<EventsState>,
    event: Value,
) -> Result<Value, tracseq_core::function::FunctionError> {
    if let Some(paused) = st.restore.skip_while_restoring("digests").await? {
        return Ok(paused);
    }
    let now = tracseq_aws::batch::Tick::parse(&event)?.time.unix_timestamp();
    send_due(&st, now).await.map_err(|e| {
        tracing::warn!(error = %e, "digests not sent; the next run retries");
        tracseq_core::function::FunctionError::transient(e)
    })
}
