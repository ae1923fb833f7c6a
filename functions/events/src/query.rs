//! What an event-history request asks for: a type pattern, a subject and a time window,
//! checked and turned into partitions, bounds and filters.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};
use tracseq_aws::store::Filter;
use tracseq_core::FieldError;

/// Longest window one request walks (day partitions).
pub const MAX_DAYS: i64 = 92;
/// The window when none is given.
pub const DEFAULT_DAYS: i64 = 7;

const DAY: &[time::format_description::FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// `sample.*`, `sample.created`, `tracseq.sample.created` or `*` as a filter on `type`.
pub fn type_filter(pattern: &str) -> Result<Option<Filter>, Vec<FieldError>> {
    let p = pattern.trim();
    let p = p.strip_prefix("tracseq.").unwrap_or(p);
    let bad = || {
        vec![
            FieldError::field(
                "type",
                "pattern",
                "an event type like sample.created, or entity.* for all of an entity",
            )
            .with_value(pattern),
        ]
    };
    if p == "*" || p.is_empty() {
        return Ok(None);
    }
    let (entity, action) = p.split_once('.').ok_or_else(bad)?;
    let word = |s: &str| !s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if !word(entity) || !(action == "*" || word(action)) {
        return Err(bad());
    }
    Ok(Some(if action == "*" {
        Filter::BeginsWith("type".into(), format!("tracseq.{entity}."))
    } else {
        Filter::Eq("type".into(), format!("tracseq.{entity}.{action}"))
    }))
}

/// A bound given as RFC 3339 or `YYYY-MM-DD` (a date means its whole day).
fn bound(name: &str, raw: Option<&str>, end: bool) -> Result<Option<OffsetDateTime>, Vec<FieldError>> {
    let Some(raw) = raw else { return Ok(None) };
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Ok(Some(t));
    }
    match Date::parse(raw, DAY) {
        Ok(d) if end => Ok(Some(
            d.with_hms_micro(23, 59, 59, 999_999)
                .map_err(|_| bad_time(name, raw))?
                .assume_utc(),
        )),
        Ok(d) => Ok(Some(d.midnight().assume_utc())),
        Err(_) => Err(bad_time(name, raw)),
    }
}

fn bad_time(name: &str, raw: &str) -> Vec<FieldError> {
    vec![FieldError::field(name, "date", "RFC 3339 or YYYY-MM-DD").with_value(raw)]
}

/// The time window: sort-key bounds and the days it spans, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Inclusive sort-key bounds (`{time}#{id}`).
    pub lo: String,
    pub hi: String,
    /// `YYYY-MM-DD`, newest first.
    pub days: Vec<String>,
}

pub fn window(from: Option<&str>, to: Option<&str>, now: OffsetDateTime) -> Result<Window, Vec<FieldError>> {
    let mut errors = Vec::new();
    let to = bound("to", to, true).unwrap_or_else(|e| {
        errors.extend(e);
        None
    });
    let from = bound("from", from, false).unwrap_or_else(|e| {
        errors.extend(e);
        None
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to - Duration::days(DEFAULT_DAYS));
    if from > to {
        return Err(vec![FieldError::field("from", "order", "from comes before to")]);
    }
    if to - from > Duration::days(MAX_DAYS) {
        return Err(vec![FieldError::field(
            "from",
            "range",
            format!("one request covers at most {MAX_DAYS} days"),
        )]);
    }
    let fmt = tracseq_core::events::event_time;
    let mut days = Vec::new();
    let mut d = to.to_offset(time::UtcOffset::UTC).date();
    let first = from.to_offset(time::UtcOffset::UTC).date();
    while d >= first {
        days.push(d.format(DAY).unwrap_or_default());
        match d.previous_day() {
            Some(p) => d = p,
            None => break,
        }
    }
    Ok(Window {
        lo: fmt(from),
        // Times are fixed-width; `~` sorts after the `#{id}` that follows them in the key.
        hi: format!("{}~", fmt(to)),
        days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_patterns() {
        assert_eq!(type_filter("*").unwrap(), None);
        assert_eq!(
            type_filter("sample.*").unwrap(),
            Some(Filter::BeginsWith("type".into(), "tracseq.sample.".into()))
        );
        assert_eq!(
            type_filter("tracseq.storage.capacity_critical").unwrap(),
            Some(Filter::Eq("type".into(), "tracseq.storage.capacity_critical".into()))
        );
        for bad in ["sample", "Sample.created", "sample.*.x", "a.b;c", "*.created"] {
            assert!(type_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_default_to_a_week_and_stay_bounded() {
        let now = OffsetDateTime::parse("2026-11-27T10:00:00Z", &Rfc3339).unwrap();
        let w = window(None, None, now).unwrap();
        assert_eq!(w.days.len(), 8);
        assert_eq!((w.days[0].as_str(), w.days[7].as_str()), ("2026-11-27", "2026-11-20"));
        assert_eq!(w.hi, "2026-11-27T10:00:00.000000Z~");
        let w = window(Some("2026-11-01"), Some("2026-11-02"), now).unwrap();
        assert_eq!(w.days, ["2026-11-02", "2026-11-01"]);
        assert_eq!(
            (w.lo.as_str(), w.hi.as_str()),
            ("2026-11-01T00:00:00.000000Z", "2026-11-02T23:59:59.999999Z~")
        );
        assert_eq!(window(Some("2026-01-01"), None, now).unwrap_err()[0].rule, "range");
        assert_eq!(
            window(Some("2026-11-03"), Some("2026-11-02"), now).unwrap_err()[0].rule,
            "order"
        );
        assert_eq!(window(Some("yesterday"), None, now).unwrap_err()[0].rule, "date");
    }
}
