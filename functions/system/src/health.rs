//! `GET /api/health`: a deep check of every dependency the API needs: the table, the event
//! queues and the file bucket. 200 when all answer, 503 naming the one that did not.
//! Checks run concurrently, each bounded by a timeout, so a dead dependency costs at most
//! that timeout, not an SDK retry storm. The route is public, so its answer is cached per
//! container (`HEALTH_CACHE_SECS`, 10 s): however often it is called, a container makes at
//! most one round of AWS calls per period. `GET /api/version` is the cheap liveness route.

use futures::future::join_all;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracseq_aws::{Clients, FunctionDef, Init, InitError};
use tracseq_core::Problem;
use tracseq_core::http::{Request, Response, public_route};
use tracseq_core::route::{Access, Method, ResponseSpec, RouteSpec, SchemaRef};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    pub checks: BTreeMap<String, Check>,
    /// When the checks ran (RFC 3339); answers within the cache period repeat it.
    pub checked_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub status: &'static str,
    pub latency_ms: u64,
    /// Why the check failed (`timeout`, `unreachable`, or the service's error code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub static ROUTE: RouteSpec = RouteSpec {
    handler: "health",
    method: Method::Get,
    path: "/api/health",
    access: Access::Public,
    summary: "Deep health check of table, queues and bucket",
    tag: "system",
    request: None,
    responses: &[
        ResponseSpec::json(200, "Every dependency answered", SchemaRef::of::<HealthReport>()),
        ResponseSpec::json(503, "A dependency did not answer", SchemaRef::of::<HealthReport>()),
    ],
    query: &[],
};

pub const FUNCTION: FunctionDef = FunctionDef {
    handler: "health",
    route: Some(&ROUTE),
    build: |init| Box::pin(build(init)),
};

struct State {
    clients: Clients,
    table: String,
    queues: Vec<String>,
    bucket: Option<String>,
    timeout: Duration,
    cache_for: Duration,
    /// The last report and when it was made; held while a round runs, so callers arriving
    /// meanwhile wait for it instead of starting their own.
    last: tokio::sync::Mutex<Option<(Instant, HealthReport)>>,
}

async fn build(init: Arc<Init>) -> Result<tracseq_core::function::SharedFunction, InitError> {
    let env = &init.env;
    let state = State {
        clients: init.clients.clone(),
        table: env.require("TABLE_NAME")?.to_owned(),
        queues: env.list("QUEUE_URLS"),
        bucket: env.get("BUCKET_NAME").map(str::to_owned),
        timeout: Duration::from_millis(env.parse_or("HEALTH_TIMEOUT_MS", 2000u64)?),
        cache_for: Duration::from_secs(env.parse_or("HEALTH_CACHE_SECS", 10u64)?),
        last: tokio::sync::Mutex::new(None),
    };
    Ok(public_route(&ROUTE, Arc::new(state), handle)?)
}

type CheckResult = Result<(), String>;

fn code_of<E: tracseq_aws::store::ProvideErrorMetadata, R>(e: &tracseq_aws::store::SdkError<E, R>) -> String {
    use tracseq_aws::store::{ProvideErrorMetadata, SdkError};
    match e {
        SdkError::DispatchFailure(_) => "unreachable".into(),
        SdkError::TimeoutError(_) => "timeout".into(),
        _ => e.code().unwrap_or("error").to_owned(),
    }
}

async fn timed(
    name: String,
    timeout: Duration,
    check: impl std::future::Future<Output = CheckResult>,
) -> (String, Check) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, check)
        .await
        .unwrap_or_else(|_| Err("timeout".into()));
    let latency_ms = started.elapsed().as_millis() as u64;
    let check = match outcome {
        Ok(()) => Check {
            status: "ok",
            latency_ms,
            error: None,
        },
        Err(e) => Check {
            status: "unavailable",
            latency_ms,
            error: Some(e),
        },
    };
    (name, check)
}

async fn handle(state: Arc<State>, _req: Request) -> Result<Response, Problem> {
    let mut last = state.last.lock().await;
    let report = match last.as_ref() {
        Some((at, report)) if at.elapsed() < state.cache_for => report.clone(),
        _ => {
            let report = check_all(&state).await;
            *last = Some((Instant::now(), report.clone()));
            report
        }
    };
    drop(last);
    let status = if report.status == "ok" { 200 } else { 503 };
    Ok(Response::json(status, &report))
}

async fn check_all(st: &State) -> HealthReport {
    let mut checks = vec![Box::pin(timed("table".into(), st.timeout, async {
        st.clients
            .dynamodb
            .describe_table()
            .table_name(&st.table)
            .send()
            .await
            .map(drop)
            .map_err(|e| code_of(&e))
    }))
        as std::pin::Pin<Box<dyn std::future::Future<Output = (String, Check)> + Send>>];
    for url in &st.queues {
        let name = format!("queue:{}", url.rsplit('/').next().unwrap_or(url));
        checks.push(Box::pin(timed(name, st.timeout, async move {
            st.clients
                .sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs_attr())
                .send()
                .await
                .map(drop)
                .map_err(|e| code_of(&e))
        })));
    }
    if let Some(bucket) = &st.bucket {
        checks.push(Box::pin(timed("bucket".into(), st.timeout, async move {
            st.clients
                .s3
                .head_bucket()
                .bucket(bucket)
                .send()
                .await
                .map(drop)
                .map_err(|e| code_of(&e))
        })));
    }
    let checks: BTreeMap<String, Check> = join_all(checks).await.into_iter().collect();
    let healthy = checks.values().all(|c| c.status == "ok");
    let report = HealthReport {
        status: if healthy { "ok" } else { "unavailable" },
        checks,
        checked_at: tracseq_core::now_rfc3339(),
    };
    if !healthy {
        tracing::warn!(report = ?report.checks, "health check failed");
    }
    report
}

fn aws_sdk_sqs_attr() -> tracseq_aws::clients::QueueAttributeName {
    tracseq_aws::clients::QueueAttributeName::ApproximateNumberOfMessages
}
