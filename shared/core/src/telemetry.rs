//! JSON logs and CloudWatch Embedded Metric Format (EMF) metrics.
//!
//! Logs go to stdout as one JSON object per line (what Lambda's JSON log format expects);
//! request spans add `request_id`, `correlation_id`, `route` and `lab` to every line. Secrets
//! and contact details never reach a log: handlers log ids, and [`mask_json`] masks known
//! sensitive fields wherever a payload must be logged.

use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing_subscriber::EnvFilter;

/// Install the JSON subscriber once; later calls are no-ops. `RUST_LOG` overrides `default`.
pub fn init(default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .try_init();
}

const SENSITIVE: [&str; 9] = [
    "password",
    "token",
    "secret",
    "authorization",
    "cookie",
    "email",
    "phone",
    "hash",
    "api_key",
];

/// Replace the values of sensitive keys (any key containing one of [`SENSITIVE`]).
pub fn mask_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let key = k.to_ascii_lowercase();
                if SENSITIVE.iter().any(|s| key.contains(s)) {
                    *v = Value::String("***".into());
                } else {
                    mask_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        _ => {}
    }
}

/// `alice@lab.org` → `a***@lab.org`, for the rare log line that must say whose account.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((user, domain)) => format!("{}***@{domain}", user.chars().next().unwrap_or('*')),
        None => "***".into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Bytes,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
        }
    }
}

static EMF: AtomicBool = AtomicBool::new(false);

/// Turn on per-request EMF records. The Lambda bootstrap does (one function per process);
/// the local runner does not, so 40k requests/s do not become 40k stdout lines/s.
pub fn enable_emf() {
    EMF.store(true, Ordering::Relaxed);
}

pub fn emf_enabled() -> bool {
    EMF.load(Ordering::Relaxed)
}

/// Namespace of every TracSeq metric.
pub const NAMESPACE: &str = "TracSeq";

/// The per-request record: latency and the status class, by route.
pub fn request_metrics(route: &str, status: u16, elapsed_ms: f64) -> Metrics {
    let mut m = Metrics::new(NAMESPACE).dimension("Route", route);
    m.put("Latency", elapsed_ms, Unit::Milliseconds)
        .put("Requests", 1.0, Unit::Count)
        .put(
            "ClientErrors",
            f64::from(u8::from((400..500).contains(&status))),
            Unit::Count,
        )
        .put("ServerErrors", f64::from(u8::from(status >= 500)), Unit::Count);
    m
}

/// An error answer by its problem code (`validation_failed`, `version_conflict` …): the
/// "errors by code" view. The route rides along as a property, searchable in Logs Insights
/// without multiplying metrics.
pub fn error_metrics(route: &str, status: u16, code: &str) -> Metrics {
    let mut m = Metrics::new(NAMESPACE).dimension("Code", code).property("Route", route);
    m.put("Errors", 1.0, Unit::Count)
        .put("Status", f64::from(status), Unit::Count);
    m
}

/// One invocation of any function (route, queue, stream or schedule), from the Lambda
/// bootstrap: its duration, whether it was the container's first (a cold start), and
/// whether it failed, by error type.
pub fn invocation_metrics(function: &str, elapsed_ms: f64, cold: bool, error: Option<&str>) -> Vec<Metrics> {
    let mut m = Metrics::new(NAMESPACE).dimension("Function", function);
    m.put("Duration", elapsed_ms, Unit::Milliseconds)
        .put("ColdStart", f64::from(u8::from(cold)), Unit::Count)
        .put("FunctionErrors", f64::from(u8::from(error.is_some())), Unit::Count);
    let mut out = vec![m];
    if let Some(kind) = error {
        let mut e = Metrics::new(NAMESPACE)
            .dimension("ErrorType", kind)
            .property("Function", function);
        e.put("FunctionErrors", 1.0, Unit::Count);
        out.push(e);
    }
    out
}

/// One EMF record: CloudWatch turns the printed line into metrics, no API call needed.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    dimensions: Vec<(String, String)>,
    /// Fields on the record that are not dimensions (context for Logs Insights).
    properties: Vec<(String, String)>,
    values: Vec<(String, f64, Unit)>,
}

impl Metrics {
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            dimensions: Vec::new(),
            properties: Vec::new(),
            values: Vec::new(),
        }
    }

    pub fn property(mut self, name: &str, value: &str) -> Self {
        self.properties.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn put(&mut self, name: &str, value: f64, unit: Unit) -> &mut Self {
        self.values.push((name.to_owned(), value, unit));
        self
    }

    pub fn to_json(&self) -> Value {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut root = Map::new();
        let dims: Vec<&str> = self.dimensions.iter().map(|(k, _)| k.as_str()).collect();
        let defs: Vec<Value> = self
            .values
            .iter()
            .map(|(n, _, u)| json!({"Name": n, "Unit": u.as_str()}))
            .collect();
        root.insert(
            "_aws".into(),
            json!({"Timestamp": millis, "CloudWatchMetrics": [{"Namespace": self.namespace, "Dimensions": [dims], "Metrics": defs}]}),
        );
        for (k, v) in self.dimensions.iter().chain(&self.properties) {
            root.insert(k.clone(), Value::String(v.clone()));
        }
        for (n, v, _) in &self.values {
            root.insert(n.clone(), json!(v));
        }
        Value::Object(root)
    }

    /// Print the record on its own stdout line.
    pub fn emit(&self) {
        println!("{}", self.to_json());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_nested_sensitive_fields() {
        let mut v =
            json!({"email": "a@b", "user": {"password_hash": "x", "name": "n"}, "list": [{"refresh_token": "t"}]});
        mask_json(&mut v);
        assert_eq!(
            v,
            json!({"email": "***", "user": {"password_hash": "***", "name": "n"}, "list": [{"refresh_token": "***"}]})
        );
        assert_eq!(mask_email("alice@lab.org"), "a***@lab.org");
    }

    #[test]
    fn request_metrics_count_status_classes() {
        let v = request_metrics("health", 503, 2.0).to_json();
        assert_eq!(
            (
                v["ServerErrors"].as_f64(),
                v["ClientErrors"].as_f64(),
                v["Route"].as_str()
            ),
            (Some(1.0), Some(0.0), Some("health"))
        );
        let v = request_metrics("health", 404, 2.0).to_json();
        assert_eq!(v["ClientErrors"], 1.0);
    }

    #[test]
    fn errors_by_code_and_cold_starts() {
        let v = error_metrics("samples_create", 422, "validation_failed").to_json();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Code"]]));
        assert_eq!(
            (v["Code"].as_str(), v["Route"].as_str()),
            (Some("validation_failed"), Some("samples_create"))
        );
        assert_eq!(v["Errors"], 1.0);
        let cold = invocation_metrics("ops_backup", 12.0, true, None);
        assert_eq!(cold.len(), 1);
        assert_eq!(
            (
                cold[0].to_json()["ColdStart"].as_f64(),
                cold[0].to_json()["FunctionErrors"].as_f64()
            ),
            (Some(1.0), Some(0.0))
        );
        let failed = invocation_metrics("ops_restore", 3.0, false, Some("BackupCorrupted"));
        assert_eq!(failed[1].to_json()["ErrorType"], "BackupCorrupted");
        assert_eq!(
            failed[1].to_json()["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["ErrorType"]])
        );
    }

    #[test]
    fn emf_record_shape() {
        let mut m = Metrics::new("TracSeq").dimension("Function", "health");
        m.put("Latency", 3.5, Unit::Milliseconds)
            .put("Errors", 0.0, Unit::Count);
        let v = m.to_json();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "TracSeq");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0], "Function");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["Name"], "Errors");
        assert_eq!(v["Latency"], 3.5);
        assert_eq!(v["Function"], "health");
    }
}
