//! The restore marker: an SSM parameter (`/tracseq/{stage}/maintenance/restore`) that the
//! restore function sets to `running` before it writes into a table and to `finished`
//! after. It is deployment state, not data, so it is in no backup.
//!
//! - Scheduled functions that act on the table (digests, custody recovery, backups) skip
//!   their run while a restore is running: they would act on a half-written table.
//! - The stream readers drop the INSERTs a restore made ([`without_restored_copies`]): a
//!   restored event or account mail is a copy of one written before the restore started;
//!   publishing it again would send its webhooks, emails and messages a second time, and
//!   counting it again would count it twice in the reports.

use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreMarker {
    /// The backup restored.
    pub backup: String,
    /// The table written.
    pub target: String,
    pub running: bool,
    /// Unix seconds, with fractions.
    pub started_at: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<f64>,
}

impl RestoreMarker {
    /// Whether a stream INSERT is a restored copy: the item was made before the restore
    /// started (`item_time`), and the write that inserted it happened after (`record_time`,
    /// the stream record's creation, whole seconds on AWS). Without a record time, the
    /// item's age alone decides. Writes by clients must stop before a restore (the runbook
    /// throttles the API to zero) so that no original lands in the restore's first second.
    pub fn is_restored_copy(&self, record_time: Option<f64>, item_time: f64) -> bool {
        item_time < self.started_at && record_time.is_none_or(|t| t >= self.started_at.floor())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the restore marker: {0}")]
pub struct MarkerError(String);

fn ssm_error<E: std::fmt::Debug>(e: E) -> MarkerError {
    MarkerError(format!("{e:?}").chars().take(300).collect())
}

/// The marker, or `None` when no restore ever ran.
pub async fn load(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<Option<RestoreMarker>, MarkerError> {
    match ssm.get_parameter().name(name).send().await {
        Ok(out) => match out.parameter.and_then(|p| p.value) {
            Some(raw) => serde_json::from_str(&raw)
                .map(Some)
                .map_err(|e| MarkerError(e.to_string())),
            None => Ok(None),
        },
        Err(e) if aws_sdk_ssm::error::ProvideErrorMetadata::code(&e) == Some("ParameterNotFound") => Ok(None),
        Err(e) => Err(ssm_error(e)),
    }
}

pub async fn store(ssm: &aws_sdk_ssm::Client, name: &str, marker: &RestoreMarker) -> Result<(), MarkerError> {
    let value = serde_json::to_string(marker).map_err(|e| MarkerError(e.to_string()))?;
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map_err(ssm_error)?;
    Ok(())
}

/// The marker as a function sees it: read at most once per `ttl`, so a stream consumer
/// does not call SSM per batch. No parameter name (a stack without the marker) reads as
/// "never restored".
pub struct Marker {
    ssm: aws_sdk_ssm::Client,
    name: Option<String>,
    ttl: Duration,
    cached: Mutex<Option<(Instant, Option<RestoreMarker>)>>,
}

impl Marker {
    pub fn new(ssm: aws_sdk_ssm::Client, name: Option<String>, ttl: Duration) -> Self {
        Self {
            ssm,
            name,
            ttl,
            cached: Mutex::new(None),
        }
    }

    /// The marker named by `RESTORE_MARKER_PARAM`, read at most every 5 seconds.
    pub fn from_init(init: &crate::Init) -> Self {
        Self::new(
            aws_sdk_ssm::Client::new(&init.aws),
            init.env.get("RESTORE_MARKER_PARAM").map(str::to_owned),
            Duration::from_secs(5),
        )
    }

    pub async fn get(&self) -> Result<Option<RestoreMarker>, MarkerError> {
        let Some(name) = &self.name else {
            return Ok(None);
        };
        if let Ok(g) = self.cached.lock()
            && let Some((at, m)) = g.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(m.clone());
        }
        let m = load(&self.ssm, name).await?;
        if let Ok(mut g) = self.cached.lock() {
            *g = Some((Instant::now(), m.clone()));
        }
        Ok(m)
    }

    /// Whether a restore is writing now (scheduled work waits for the next run).
    pub async fn restore_running(&self) -> Result<bool, MarkerError> {
        Ok(self.get().await?.is_some_and(|m| m.running))
    }

    /// For a scheduled function: the answer of a run skipped because a restore is writing
    /// (the next run does the work), or `None` to go on.
    pub async fn skip_while_restoring(
        &self,
        what: &str,
    ) -> Result<Option<serde_json::Value>, tracseq_core::function::FunctionError> {
        let running = self
            .restore_running()
            .await
            .map_err(tracseq_core::function::FunctionError::transient)?;
        if !running {
            return Ok(None);
        }
        tracing::info!(what, "a restore is running; this run waits for the next one");
        Ok(Some(serde_json::json!({ "paused": "restore", "what": what })))
    }
}

/// The batch without the INSERTs a restore made (copies of events and account mail written
/// before it started; see `tracseq_aws::maintenance`), and how many were dropped.
pub fn without_restored_copies(batch: &mut crate::batch::StreamBatch, marker: Option<&RestoreMarker>) -> usize {
    let Some(marker) = marker else {
        return 0;
    };
    let before = batch.records.len();
    batch.retain(|r| {
        let made = match crate::batch::entity_of(r) {
            Some(crate::outbox::ENTITY) => crate::batch::new_string(r, "time"),
            Some(crate::account_mail::ENTITY) => crate::batch::new_string(r, "created_at"),
            _ => None,
        };
        let Some(made) = made.and_then(unix_seconds) else {
            return true;
        };
        let inserted = r.change.approximate_creation_date_time.timestamp();
        let inserted = (inserted > 0).then_some(inserted as f64);
        !(r.event_name == "INSERT" && marker.is_restored_copy(inserted, made))
    });
    before - batch.records.len()
}

/// Unix seconds of an RFC 3339 time.
pub fn unix_seconds(rfc3339: &str) -> Option<f64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker() -> RestoreMarker {
        RestoreMarker {
            backup: "b".into(),
            target: "t".into(),
            running: false,
            started_at: 1000.5,
            finished_at: Some(1100.0),
        }
    }

    #[test]
    fn only_old_items_inserted_after_the_start_are_copies() {
        let m = marker();
        // Written before the restore, inserted by it: a copy.
        assert!(m.is_restored_copy(Some(1050.0), 900.0));
        // AWS rounds record times down to the second.
        assert!(m.is_restored_copy(Some(1000.0), 900.0));
        // Written and inserted before the restore: an original the publisher met late.
        assert!(!m.is_restored_copy(Some(999.0), 900.0));
        // Written after the restore started: new work.
        assert!(!m.is_restored_copy(Some(1050.0), 1001.0));
        assert!(m.is_restored_copy(None, 900.0));
        assert!(!m.is_restored_copy(None, 1200.0));
    }

    #[test]
    fn rfc3339_times_read_as_unix_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:16:40.500000Z"), Some(1000.5));
        assert_eq!(unix_seconds("not a time"), None);
    }
}
