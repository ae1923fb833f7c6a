//! Temperature monitoring's records: a unit's monitor (band, watch, device token hash,
//! version) beside its location item, its readings (kept `READINGS_TTL_DAYS`) and its
//! alert periods in one partition per unit.

use crate::domain::monitor::{Band, Watch};
use crate::model::keys;
use crate::state::StorageState;
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{Item, PageQuery, StoreError, from_item, keyed_item, n, now_epoch, s};
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;
use tracseq_core::pagination::PageRequest;

pub const MONITOR_SK: &str = "MONITOR";
/// Alert periods are kept two years, past any reading they explain.
const ALERT_TTL_SECS: i64 = 730 * 86_400;
/// Readings a chart may ask for at most (a month of one a minute, with room).
const MAX_READINGS: usize = 50_000;

/// A unit's monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Monitor {
    pub location_id: String,
    pub band: Band,
    pub watch: Watch,
    /// The newest reading judged (seconds since the epoch).
    #[serde(default)]
    pub last_at: Option<i64>,
    #[serde(default)]
    pub token_sha256: Option<String>,
    #[serde(default)]
    pub token_issued_at: Option<String>,
    pub version: u64,
    pub updated_at: String,
}

/// An excursion that raised an alert, and when it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlertPeriod {
    /// When the reading first left the band (seconds since the epoch).
    pub since: i64,
    pub alerted_at: i64,
    /// Absent while the alert lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_at: Option<i64>,
    pub worst_celsius: f64,
}

fn alert_sk(since: i64) -> String {
    format!("ALERT#{since:011}")
}

fn reading_sk(at: i64) -> String {
    format!("R#{at:011}")
}

pub async fn monitor(st: &StorageState, lab: &str, location: &str) -> Result<Option<Monitor>, Problem> {
    Ok(st.table.get_as(&keys::location(lab, location), MONITOR_SK).await?)
}

/// Write `m` as version `m.version`: a new monitor, or one whose stored version is one less.
pub async fn save(st: &StorageState, lab: &str, m: &Monitor, extra: Vec<TransactWriteItem>) -> Result<(), StoreError> {
    let item = keyed_item(
        m,
        &[
            ("PK", keys::location(lab, &m.location_id)),
            ("SK", MONITOR_SK.to_owned()),
        ],
        "monitor",
    )?;
    let write = if m.version == 1 {
        st.table.put_new_op(item)?
    } else {
        st.table.put_versioned_op(item, m.version - 1)?
    };
    let mut actions = vec![write];
    actions.extend(extra);
    st.table.transact(actions).await
}

/// Store readings (repeats overwrite: a reading is keyed by its time).
pub async fn put_readings(
    st: &StorageState,
    lab: &str,
    location: &str,
    readings: &[(i64, f64)],
) -> Result<(), Problem> {
    let expires = now_epoch() + i64::from(st.settings.readings_ttl_days) * 86_400;
    let pk = keys::readings(lab, location);
    let items: Vec<Item> = readings
        .iter()
        .map(|(at, c)| {
            Item::from([
                ("PK".to_owned(), s(&pk)),
                ("SK".to_owned(), s(reading_sk(*at))),
                ("entity".to_owned(), s("reading")),
                ("at".to_owned(), n(at)),
                ("celsius".to_owned(), n(c)),
                ("ttl".to_owned(), n(expires)),
            ])
        })
        .collect();
    st.table.batch_put(items).await?;
    Ok(())
}

/// Readings from `from` to `to` inclusive, oldest first.
pub async fn readings(
    st: &StorageState,
    lab: &str,
    location: &str,
    from: i64,
    to: i64,
) -> Result<Vec<(i64, f64)>, Problem> {
    let pk = keys::readings(lab, location);
    let (lo, hi) = (reading_sk(from), reading_sk(to));
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = st
            .table
            .query_page(
                &PageQuery::of(&pk).between(&lo, &hi),
                &PageRequest { limit: 1000, cursor },
            )
            .await?;
        for item in page.items {
            let at = item.get("at").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok());
            let c = item
                .get("celsius")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok());
            if let (Some(at), Some(c)) = (at, c) {
                out.push((at, c));
            }
        }
        cursor = page.next_cursor;
        if cursor.is_none() || out.len() >= MAX_READINGS {
            return Ok(out);
        }
    }
}

/// Alert periods overlapping `from`..`to`.
pub async fn alerts(
    st: &StorageState,
    lab: &str,
    location: &str,
    from: i64,
    to: i64,
) -> Result<Vec<AlertPeriod>, Problem> {
    let items = st.table.query_prefix(&keys::readings(lab, location), "ALERT#").await?;
    let mut out = Vec::new();
    for item in items {
        let a: AlertPeriod = from_item(item)?;
        if a.since <= to && a.recovered_at.is_none_or(|r| r >= from) {
            out.push(a);
        }
    }
    Ok(out)
}

/// The actions that record alert periods (opened, or closed) and announce their changes.
pub fn alert_ops<'a>(
    st: &StorageState,
    lab: &str,
    location: &str,
    periods: impl Iterator<Item = &'a AlertPeriod>,
    events: &[CloudEvent],
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let mut actions = Vec::new();
    for period in periods {
        let mut item = keyed_item(
            period,
            &[("PK", keys::readings(lab, location)), ("SK", alert_sk(period.since))],
            "alert_period",
        )?;
        item.insert("ttl".into(), n(now_epoch() + ALERT_TTL_SECS));
        actions.push(st.table.put_op(item)?);
    }
    for event in events {
        actions.push(put_event_op(&st.table, event)?);
    }
    Ok(actions)
}
