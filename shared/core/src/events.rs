//! Domain events in a CloudEvents 1.0 envelope (plus `labid` and `correlationid`
//! extension attributes). Events are written to the table in the same transaction as the
//! state change (the outbox); a stream consumer publishes them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::format_description;

pub const SOURCE: &str = "tracseq";

/// A CloudEvents 1.0 envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub subject: String,
    pub time: String,
    pub datacontenttype: String,
    pub labid: String,
    pub correlationid: String,
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event type {0:?} is not of the form entity.action in lowercase")]
pub struct InvalidEventType(pub String);

impl CloudEvent {
    /// `kind` is `entity.action` (e.g. `sample.created`); the type becomes `tracseq.sample.created`.
    pub fn new(
        kind: &str,
        lab: &str,
        subject: &str,
        correlation_id: &str,
        data: Value,
    ) -> Result<Self, InvalidEventType> {
        let valid = kind.split('.').count() == 2
            && kind
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        if !valid {
            return Err(InvalidEventType(kind.to_owned()));
        }
        let now = OffsetDateTime::now_utc();
        Ok(Self {
            specversion: "1.0".into(),
            id: ulid::Ulid::new().to_string(),
            source: format!("{SOURCE}/{}", kind.split('.').next().unwrap_or("app")),
            kind: format!("tracseq.{kind}"),
            subject: subject.to_owned(),
            time: event_time(now),
            datacontenttype: "application/json".into(),
            labid: lab.to_owned(),
            correlationid: correlation_id.to_owned(),
            data,
        })
    }

    /// `yyyy-mm-dd` of the event time: the day partition of the lab's event history.
    pub fn day(&self) -> &str {
        self.time.get(..10).unwrap_or("0000-00-00")
    }
}

/// An event time: RFC 3339 in UTC with exactly six fractional digits. Fixed width makes
/// the history's sort keys (`{time}#{id}`) sort in time order, and lets a time range be a
/// plain key range.
pub fn event_time(t: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::FormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(time::UtcOffset::UTC).format(FORMAT).unwrap_or_default()
}

/// An RFC 3339 timestamp in [`event_time`]'s form (`None` if it is not one).
pub fn normalize_time(rfc3339: &str) -> Option<String> {
    OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(event_time)
}

/// Whether an event type matches a pattern like `tracseq.sample.*` or `sample.*`.
pub fn type_matches(pattern: &str, kind: &str) -> bool {
    let pattern = pattern.strip_prefix("tracseq.").unwrap_or(pattern);
    let kind = kind.strip_prefix("tracseq.").unwrap_or(kind);
    match pattern.strip_suffix('*') {
        Some(prefix) => kind.starts_with(prefix),
        None => pattern == kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_fields() {
        let e = CloudEvent::new(
            "sample.created",
            "lab1",
            "sample/01X",
            "corr",
            serde_json::json!({"a": 1}),
        )
        .unwrap();
        assert_eq!(e.kind, "tracseq.sample.created");
        assert_eq!(e.specversion, "1.0");
        assert_eq!(e.day().len(), 10);
        assert_eq!(e.time.len(), "2026-11-27T00:00:00.000000Z".len());
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        assert_eq!(event_time(t), "2023-11-14T22:13:20.000000Z");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "tracseq.sample.created");
        assert_eq!(v["labid"], "lab1");
        assert!(CloudEvent::new("Sample.Created", "l", "s", "c", Value::Null).is_err());
        assert!(CloudEvent::new("sample", "l", "s", "c", Value::Null).is_err());
    }

    #[test]
    fn patterns() {
        assert!(type_matches("tracseq.sample.*", "tracseq.sample.created"));
        assert!(type_matches("sample.*", "tracseq.sample.moved"));
        assert!(type_matches("sample.created", "tracseq.sample.created"));
        assert!(!type_matches("sample.*", "tracseq.storage.capacity_warning"));
    }
}
