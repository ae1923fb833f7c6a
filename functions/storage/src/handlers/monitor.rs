//! Freezer monitoring: a lab administrator sets a unit's band and issues its sensor a
//! device token; the sensor posts readings with that token (no user session); anyone who
//! reads storage charts them. Crossing into an alert or out of one writes the alert
//! period and its event in one transaction with the unit's watch.

use crate::domain::monitor::{Band, Change, PLAUSIBLE_C, Reading, Watch, run};
use crate::state::{Resolved, StorageState};
use crate::store::monitor::{self as store, AlertPeriod, Monitor};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracseq_aws::store::StoreError;
use tracseq_core::auth::{Principal, bearer_token};
use tracseq_core::events::CloudEvent;
use tracseq_core::http::{Request, Response};
use tracseq_core::{FieldError, Problem, now_rfc3339, secret};

pub const MAX_READINGS: usize = 500;
/// A chart covers at most this (a month and a day).
const MAX_RANGE_SECS: i64 = 32 * 86_400;
/// Points a chart gets at most; longer ranges are averaged into this many buckets.
const MAX_POINTS: usize = 2000;
/// A sensor clock this far ahead is wrong, not early.
const FUTURE_SLACK_SECS: i64 = 300;
const DEVICE_TOKEN_PREFIX: &str = "tsd1";

/// `PUT /api/storage/locations/{id}/monitor`: any field left out keeps its value (a new
/// monitor starts from the unit's zone range and a 15-minute grace period).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"min_celsius": -90, "max_celsius": -65, "grace_minutes": 15}))]
pub struct MonitorSettings {
    #[schema(minimum = -273.15, maximum = 200)]
    pub min_celsius: Option<f64>,
    #[schema(minimum = -273.15, maximum = 200)]
    pub max_celsius: Option<f64>,
    #[schema(minimum = 0, maximum = 1440)]
    pub grace_minutes: Option<u32>,
}

/// A unit's monitoring as answered (never the token or its hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonitorView {
    pub location_id: String,
    pub band: Band,
    pub watch: Watch,
    /// The newest reading judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_reading_at: Option<String>,
    /// When the current device token was issued (absent: none yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token_issued_at: Option<String>,
}

impl From<&Monitor> for MonitorView {
    fn from(m: &Monitor) -> Self {
        Self {
            location_id: m.location_id.clone(),
            band: m.band,
            watch: m.watch,
            last_reading_at: m.last_at.map(rfc3339),
            device_token_issued_at: m.token_issued_at.clone(),
        }
    }
}

/// `POST …/device-token`: shown once; issuing another one retires it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceToken {
    pub location_id: String,
    /// `Authorization: Bearer {token}` on `POST …/readings`.
    pub token: String,
    pub issued_at: String,
}

/// One reading.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReading {
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub at: String,
    #[schema(minimum = -273.15, maximum = 200)]
    pub celsius: f64,
}

/// `POST …/readings`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"readings": [{"at": "2026-12-04T10:00:00Z", "celsius": -80.2}]}))]
pub struct ReadingBatch {
    #[schema(min_items = 1, max_items = 500)]
    pub readings: Vec<NewReading>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadingsAccepted {
    pub stored: usize,
    pub watch: Watch,
    /// Alerts raised and recoveries announced by this batch.
    pub alerts_raised: usize,
    pub recoveries: usize,
}

/// A chart point: one reading, or the mean of a bucket with its extremes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadingPoint {
    pub at: String,
    pub celsius: f64,
    pub min_celsius: f64,
    pub max_celsius: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    pub since: String,
    pub alerted_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered_at: Option<String>,
    pub worst_celsius: f64,
}

/// `GET …/readings`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadingSeries {
    pub location_id: String,
    pub from: String,
    pub to: String,
    /// Absent while the unit is not monitored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band: Option<Band>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<Watch>,
    /// Readings stored in the range (before averaging).
    pub count: usize,
    pub points: Vec<ReadingPoint>,
    pub alerts: Vec<AlertView>,
}

fn rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn parse_instant(raw: &str) -> Option<i64> {
    OffsetDateTime::parse(raw, &Rfc3339).ok().map(|t| t.unix_timestamp())
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A monitored location must be a unit (it has the zone).
async fn unit(st: &StorageState, lab: &str, id: &str) -> Result<crate::model::Location, Problem> {
    let loc = st.location(lab, id).await?;
    if loc.zone.is_none() {
        return Err(Problem::conflict(
            "not_a_unit",
            "only a storage unit (freezer, fridge, tank…) is monitored",
        ));
    }
    Ok(loc)
}

/// The unit's monitor, or a new one from its zone.
async fn monitor_or_new(st: &StorageState, lab: &str, loc: &crate::model::Location) -> Result<Monitor, Problem> {
    if let Some(m) = store::monitor(st, lab, &loc.id).await? {
        return Ok(m);
    }
    let zone = loc.zone.ok_or_else(Problem::internal)?;
    Ok(Monitor {
        location_id: loc.id.clone(),
        band: Band::for_zone(zone),
        watch: Watch::Normal,
        last_at: None,
        token_sha256: None,
        token_issued_at: None,
        version: 0,
        updated_at: now_rfc3339(),
    })
}

/// Write a monitor's changed settings as its next version (409 when another writer
/// moved it first).
async fn save_settings(st: &StorageState, lab: &str, m: &mut Monitor) -> Result<(), Problem> {
    m.version += 1;
    m.updated_at = now_rfc3339();
    store::save(st, lab, m, Vec::new())
        .await
        .map_err(tracseq_aws::store::stale("monitor"))
}

/// `PUT /api/storage/locations/{id}/monitor`.
pub async fn put_monitor(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: MonitorSettings = req.json()?;
    let loc = unit(&st, &p.lab_id, req.path_param("id")?).await?;
    let mut m = monitor_or_new(&st, &p.lab_id, &loc).await?;
    let band = Band {
        min_celsius: body.min_celsius.unwrap_or(m.band.min_celsius),
        max_celsius: body.max_celsius.unwrap_or(m.band.max_celsius),
        grace_minutes: body.grace_minutes.unwrap_or(m.band.grace_minutes),
    };
    let errors = band.check();
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    m.band = band;
    save_settings(&st, &p.lab_id, &mut m).await?;
    Ok(Response::ok(&MonitorView::from(&m)))
}

/// `POST /api/storage/locations/{id}/device-token`.
pub async fn issue_device_token(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let loc = unit(&st, &p.lab_id, req.path_param("id")?).await?;
    let mut m = monitor_or_new(&st, &p.lab_id, &loc).await?;
    let token = format!(
        "{DEVICE_TOKEN_PREFIX}.{}.{}.{}",
        p.lab_id,
        loc.id,
        secret::random_token()?
    );
    m.token_sha256 = Some(secret::hash(&token));
    m.token_issued_at = Some(now_rfc3339());
    save_settings(&st, &p.lab_id, &mut m).await?;
    Ok(Response::created(
        &format!("/api/storage/locations/{}/readings", loc.id),
        &DeviceToken {
            location_id: loc.id,
            token,
            issued_at: m.token_issued_at.unwrap_or_default(),
        },
    ))
}

/// The lab and unit a device token speaks for, if it is the unit's current token. Every
/// failure is the same 401: a caller learns nothing about labs or units.
async fn device(st: &StorageState, req: &Request) -> Result<(String, Monitor), Problem> {
    let refused = || Problem::unauthorized("a valid device token for this location is required");
    let token = bearer_token(req.header("authorization")).map_err(|_| refused())?;
    let mut parts = token.splitn(4, '.');
    let (Some(DEVICE_TOKEN_PREFIX), Some(lab), Some(location), Some(_)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refused());
    };
    if location != req.path_param("id")?
        || !tracseq_core::keyed::is_valid_id(lab)
        || !tracseq_core::keyed::is_valid_id(location)
    {
        return Err(refused());
    }
    let m = store::monitor(st, lab, location).await?.ok_or_else(refused)?;
    match &m.token_sha256 {
        Some(stored) if secret::matches(token, stored) => Ok((lab.to_owned(), m)),
        _ => Err(refused()),
    }
}

/// `POST /api/storage/locations/{id}/readings` with the unit's device token.
pub async fn post_readings(st: Arc<StorageState>, req: Request) -> Result<Response, Problem> {
    let (lab, mut m) = device(&st, &req).await?;
    let batch: ReadingBatch = req.json()?;
    let mut readings = checked_readings(&batch)?;
    let pairs: Vec<(i64, f64)> = readings.iter().map(|r| (r.at, r.celsius)).collect();
    store::put_readings(&st, &lab, &m.location_id, &pairs).await?;
    readings.sort_by_key(|r| r.at);
    let (mut raised, mut recoveries) = (0, 0);
    // The unit's name and path, read once, when the first change needs them for its event.
    let mut place = None;
    for chunk in readings.chunks(READINGS_PER_COMMIT) {
        let (r, c) = judge(&st, &req, &lab, &mut m, &mut place, chunk).await?;
        raised += r;
        recoveries += c;
    }
    Ok(Response::ok(&ReadingsAccepted {
        stored: readings.len(),
        watch: m.watch,
        alerts_raised: raised,
        recoveries,
    }))
}

/// Readings judged per transaction at most: each can change the watch once (an alert
/// period and its event), so a commit stays under DynamoDB's 100 actions.
const READINGS_PER_COMMIT: usize = 45;

/// Move the unit's watch over `readings` (in time order) and commit it with the alert
/// periods and events it raises, under the monitor's version: when another batch moved it
/// first, read it again and judge again. Answers (alerts raised, recoveries).
async fn judge(
    st: &StorageState,
    req: &Request,
    lab: &str,
    m: &mut Monitor,
    place: &mut Option<Resolved>,
    readings: &[Reading],
) -> Result<(usize, usize), Problem> {
    for _ in 0..5 {
        let (watch, last_at, changes) = run(m.watch, &m.band, m.last_at, readings);
        if last_at == m.last_at {
            return Ok((0, 0));
        }
        if !changes.is_empty() && place.is_none() {
            *place = Some(st.resolve_one(lab, &m.location_id).await?);
        }
        // An alert raised and recovered in one batch is one period, written once.
        let mut periods: std::collections::BTreeMap<i64, AlertPeriod> = std::collections::BTreeMap::new();
        let mut events = Vec::with_capacity(changes.len());
        let mut open: Option<AlertPeriod> = None;
        for change in &changes {
            let (period, event) = announce(lab, req, m, change, place.as_ref(), open.take())?;
            open = period.recovered_at.is_none().then(|| period.clone());
            periods.insert(period.since, period);
            events.push(event);
        }
        let actions = store::alert_ops(st, lab, &m.location_id, periods.values(), &events).map_err(Problem::from)?;
        let mut next = m.clone();
        next.watch = watch;
        next.last_at = last_at;
        next.version += 1;
        next.updated_at = now_rfc3339();
        match store::save(st, lab, &next, actions).await {
            Ok(()) => {
                *m = next;
                let raised = changes.iter().filter(|c| matches!(c, Change::Alert { .. })).count();
                return Ok((raised, changes.len() - raised));
            }
            Err(e) if e.is_condition_failure() || matches!(e, StoreError::TransactionConflict) => {
                *m = store::monitor(st, lab, &m.location_id)
                    .await?
                    .ok_or_else(Problem::internal)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut busy = Problem::conflict("busy", "the unit's readings are being judged by another batch; retry");
    busy.retry_after = Some(1);
    Err(busy)
}

fn checked_readings(batch: &ReadingBatch) -> Result<Vec<Reading>, Problem> {
    let mut errors = Vec::new();
    if batch.readings.is_empty() || batch.readings.len() > MAX_READINGS {
        errors.push(FieldError::field("readings", "length", "1-500 readings"));
    }
    let latest = now() + FUTURE_SLACK_SECS;
    let mut out = Vec::with_capacity(batch.readings.len());
    for (i, r) in batch.readings.iter().enumerate() {
        match parse_instant(&r.at) {
            Some(at) if at > latest => errors.push(
                FieldError::field(
                    format!("readings[{i}].at"),
                    "not_future",
                    "not ahead of the server's clock",
                )
                .with_value(&r.at),
            ),
            Some(at) if at < 0 => {
                errors.push(FieldError::field(format!("readings[{i}].at"), "range", "after 1970").with_value(&r.at))
            }
            Some(at) => out.push(Reading { at, celsius: r.celsius }),
            None => errors.push(FieldError::field(format!("readings[{i}].at"), "format", "RFC 3339").with_value(&r.at)),
        }
        if !(PLAUSIBLE_C.0..=PLAUSIBLE_C.1).contains(&r.celsius) {
            errors.push(
                FieldError::field(format!("readings[{i}].celsius"), "range", "between -273.15 and 200 °C")
                    .with_value(r.celsius.to_string()),
            );
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Problem::validation(errors))
    }
}

/// The alert period a change opens or closes, and its event.
fn announce(
    lab: &str,
    req: &Request,
    m: &Monitor,
    change: &Change,
    resolved: Option<&Resolved>,
    open: Option<AlertPeriod>,
) -> Result<(AlertPeriod, CloudEvent), Problem> {
    let (name, path, zone) = resolved
        .map(|r| (r.location.name.clone(), r.path.clone(), r.location.zone))
        .unwrap_or_default();
    let mut data = json!({
        "location_id": m.location_id, "name": name, "path": path, "zone": zone,
        "min_celsius": m.band.min_celsius, "max_celsius": m.band.max_celsius,
        "grace_minutes": m.band.grace_minutes,
    });
    let (kind, period) = match *change {
        Change::Alert {
            since,
            reading,
            worst_celsius,
        } => {
            data["reading_celsius"] = json!(reading.celsius);
            data["worst_celsius"] = json!(worst_celsius);
            data["since"] = json!(rfc3339(since));
            data["at"] = json!(rfc3339(reading.at));
            (
                "storage.temperature_alert",
                AlertPeriod {
                    since,
                    alerted_at: reading.at,
                    recovered_at: None,
                    worst_celsius,
                },
            )
        }
        Change::Recovered {
            since,
            reading,
            worst_celsius,
        } => {
            let alerted_at = open
                .map(|o| o.alerted_at)
                .or(match m.watch {
                    Watch::Alerting { alerted_at, .. } => Some(alerted_at),
                    _ => None,
                })
                .unwrap_or(since);
            data["reading_celsius"] = json!(reading.celsius);
            data["worst_celsius"] = json!(worst_celsius);
            data["since"] = json!(rfc3339(since));
            data["at"] = json!(rfc3339(reading.at));
            data["minutes_out_of_range"] = json!((reading.at - since) / 60);
            (
                "storage.temperature_recovered",
                AlertPeriod {
                    since,
                    alerted_at,
                    recovered_at: Some(reading.at),
                    worst_celsius,
                },
            )
        }
    };
    let subject = format!("storage/locations/{}", m.location_id);
    let event = CloudEvent::new(kind, lab, &subject, &req.correlation_id, data).map_err(|e| {
        tracing::error!(error = %e, "invalid event type");
        Problem::internal()
    })?;
    Ok((period, event))
}

/// `GET /api/storage/locations/{id}/readings?from&to` (default: the last 24 hours).
pub async fn get_readings(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let mut instant = |name: &str, default: i64| match req.query(name) {
        None => default,
        Some(raw) => parse_instant(raw).unwrap_or_else(|| {
            errors.push(FieldError::field(name, "format", "RFC 3339").with_value(raw));
            default
        }),
    };
    let to = instant("to", now());
    let from = instant("from", to - 86_400);
    if errors.is_empty() && (from > to || to - from > MAX_RANGE_SECS) {
        errors.push(FieldError::field(
            "from",
            "range",
            "before `to`, at most 32 days earlier",
        ));
    }
    let loc = unit(&st, &p.lab_id, req.path_param("id")?).await?;
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let m = store::monitor(&st, &p.lab_id, &loc.id).await?;
    let raw = store::readings(&st, &p.lab_id, &loc.id, from, to).await?;
    let alerts = store::alerts(&st, &p.lab_id, &loc.id, from, to).await?;
    Ok(Response::ok(&ReadingSeries {
        location_id: loc.id,
        from: rfc3339(from),
        to: rfc3339(to),
        band: m.as_ref().map(|m| m.band),
        watch: m.as_ref().map(|m| m.watch),
        count: raw.len(),
        points: points(&raw, MAX_POINTS),
        alerts: alerts
            .into_iter()
            .map(|a| AlertView {
                since: rfc3339(a.since),
                alerted_at: rfc3339(a.alerted_at),
                recovered_at: a.recovered_at.map(rfc3339),
                worst_celsius: a.worst_celsius,
            })
            .collect(),
    }))
}

/// At most `max` chart points: the readings themselves, or consecutive runs of them
/// averaged, each with its extremes (an excursion never disappears into a mean).
fn points(raw: &[(i64, f64)], max: usize) -> Vec<ReadingPoint> {
    let per = raw.len().div_ceil(max.max(1)).max(1);
    raw.chunks(per)
        .map(|c| {
            let mean = c.iter().map(|r| r.1).sum::<f64>() / c.len() as f64;
            ReadingPoint {
                at: rfc3339(c[0].0),
                celsius: (mean * 100.0).round() / 100.0,
                min_celsius: c.iter().map(|r| r.1).fold(f64::INFINITY, f64::min),
                max_celsius: c.iter().map(|r| r.1).fold(f64::NEG_INFINITY, f64::max),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_series_are_averaged_into_buckets_that_keep_their_extremes() {
        let raw: Vec<(i64, f64)> = (0..10).map(|i| (i * 60, if i == 3 { -40.0 } else { -80.0 })).collect();
        assert_eq!(points(&raw, 20).len(), 10);
        let p = points(&raw, 5);
        assert_eq!(p.len(), 5);
        assert_eq!(
            (p[1].celsius, p[1].min_celsius, p[1].max_celsius),
            (-60.0, -80.0, -40.0)
        );
        assert!(points(&[], 5).is_empty());
    }
}
