//! Fixture functions for tests/fixtures/template.yaml. They record what they see in
//! process-wide state, which the tests (same process) read back.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use tracseq_aws::idempotency::{IdempotencyStore, idempotent};
use tracseq_aws::store::{Table, n, s};
use tracseq_aws::{FunctionDef, Init, InitError};
use tracseq_core::auth::{Principal, Role, Verifier};
use tracseq_core::function::{FunctionError, InvokeContext, SharedFunction};
use tracseq_core::http::{Request, Response, protected_route, public_route};
use tracseq_core::keyed::LabKeys;
use tracseq_core::route::{Access, Method, RouteSpec};
use tracseq_core::{FieldError, Problem};

/// What the fixtures have seen, for the tests to assert on.
#[derive(Default)]
pub struct Seen {
    pub sqs_bodies: Vec<String>,
    pub sqs_attempts: HashMap<String, u32>,
    pub stream_keys: Vec<String>,
    pub ticks: Vec<Value>,
    pub order_executions: HashMap<String, u32>,
    pub compensations: Vec<Value>,
}

pub fn seen() -> &'static Mutex<Seen> {
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    SEEN.get_or_init(Mutex::default)
}

fn record(f: impl FnOnce(&mut Seen)) {
    if let Ok(mut s) = seen().lock() {
        f(&mut s);
    }
}

const fn route(handler: &'static str, method: Method, path: &'static str, access: Access) -> RouteSpec {
    RouteSpec {
        summary: "test fixture",
        tag: "test",
        ..RouteSpec::new(handler, method, path, access)
    }
}

static ECHO: RouteSpec = route("test_echo", Method::Post, "/api/_test/echo/{id}", Access::Public);
static PROTECTED: RouteSpec = route(
    "test_protected",
    Method::Get,
    "/api/_test/protected",
    Access::Role(Role::LabTechnician),
);
static PANIC: RouteSpec = route("test_panic", Method::Get, "/api/_test/panic", Access::Public);
static ORDERS: RouteSpec = route("test_orders", Method::Post, "/api/_test/orders", Access::Public);

pub const FUNCTIONS: &[FunctionDef] = &[
    FunctionDef {
        handler: "test_echo",
        route: Some(&ECHO),
        build: |i| Box::pin(build_echo(i)),
    },
    FunctionDef {
        handler: "test_protected",
        route: Some(&PROTECTED),
        build: |i| Box::pin(build_protected(i)),
    },
    FunctionDef {
        handler: "test_panic",
        route: Some(&PANIC),
        build: |i| Box::pin(build_panic(i)),
    },
    FunctionDef {
        handler: "test_orders",
        route: Some(&ORDERS),
        build: |i| Box::pin(build_orders(i)),
    },
    FunctionDef {
        handler: "test_task",
        route: None,
        build: |_| Box::pin(async { Ok(Arc::new(task) as SharedFunction) }),
    },
    FunctionDef {
        handler: "test_compensate",
        route: None,
        build: |_| Box::pin(async { Ok(Arc::new(compensate) as SharedFunction) }),
    },
    FunctionDef {
        handler: "test_slow",
        route: None,
        build: |_| Box::pin(async { Ok(Arc::new(slow) as SharedFunction) }),
    },
    FunctionDef {
        handler: "test_consumer",
        route: None,
        build: |_| Box::pin(async { Ok(Arc::new(consumer) as SharedFunction) }),
    },
    FunctionDef {
        handler: "test_stream",
        route: None,
        build: |_| Box::pin(async { Ok(Arc::new(stream) as SharedFunction) }),
    },
    FunctionDef {
        handler: "test_tick",
        route: None,
        build: |_| Box::pin(async { Ok(Arc::new(tick) as SharedFunction) }),
    },
];

/// The body the echo route parses: exercises the shared JSON layer.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EchoBody {
    pub name: String,
    pub count: u32,
}

async fn build_echo(_init: Arc<Init>) -> Result<SharedFunction, InitError> {
    Ok(public_route(&ECHO, Arc::new(()), |_, req: Request| async move {
        let parsed = if req.query("raw").is_some() {
            Value::Null
        } else {
            serde_json::to_value(req.json::<EchoBody>()?).unwrap_or_default()
        };
        if parsed
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.len() > 100)
        {
            return Err(Problem::validation(vec![FieldError::field(
                "name",
                "max_length",
                "name must be at most 100 characters",
            )]));
        }
        let headers: HashMap<String, String> = req
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        Ok(Response::ok(&json!({
            "id": req.path_param("id")?,
            "method": req.method.as_str(),
            "path": req.path,
            "route_key": req.route_key,
            "query_tag": req.query("tag"),
            "query_all_tag": req.query.all("tag"),
            "headers": headers,
            "body_len": req.body.len(),
            "body_sha": tracseq_core::idempotency::fingerprint("", "", &req.body),
            "parsed": parsed,
            "source_ip": req.source_ip,
        })))
    })?)
}

/// The key pair tests sign tokens with; the protected fixture verifies with its public half.
pub struct TestKeys {
    pub encoding: jsonwebtoken::EncodingKey,
    pub n: String,
    pub e: String,
}

pub fn keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let (private, jwk) = tracseq_aws::jwt_keys::generate(0).expect("key generation");
        let (_, encoding) = tracseq_aws::jwt_keys::signing_key(&[private], 0).expect("signing key");
        TestKeys {
            encoding,
            n: jwk.n,
            e: jwk.e,
        }
    })
}

pub const ISSUER: &str = "https://tracseq.test";
pub const AUDIENCE: &str = "tracseq-api";

pub fn token(lab: &str, role: Role, exp_offset: i64) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = tracseq_core::auth::Claims {
        sub: "user-1".into(),
        lab: lab.into(),
        role,
        sid: "session-1".into(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        exp: now + exp_offset,
        iat: now,
        nbf: None,
        jti: ulid::Ulid::new().to_string(),
        op: false,
    };
    let mut header = jsonwebtoken::Header::new(tracseq_core::auth::ALGORITHM);
    header.kid = Some("test-1".into());
    jsonwebtoken::encode(&header, &claims, &keys().encoding).expect("signing")
}

async fn build_protected(_init: Arc<Init>) -> Result<SharedFunction, InitError> {
    let mut verifier = Verifier::new(ISSUER, AUDIENCE);
    let k = keys();
    verifier
        .add_rsa_components("test-1", &k.n, &k.e)
        .map_err(|e| InitError::Other(e.to_string()))?;
    Ok(protected_route(
        &PROTECTED,
        Arc::new(()),
        Arc::new(verifier),
        |_, _req, p: Principal| async move {
            Ok(Response::ok(
                &json!({ "lab": p.lab_id, "role": p.role, "user": p.user_id }),
            ))
        },
    )?)
}

async fn build_panic(_init: Arc<Init>) -> Result<SharedFunction, InitError> {
    Ok(public_route(&PANIC, Arc::new(()), |_, _req| async move {
        #[allow(clippy::panic)]
        if std::hint::black_box(true) {
            panic!("fixture panic: the runner must survive this");
        }
        Ok(Response::new(204))
    })?)
}

struct Orders {
    table: Table,
    idem: IdempotencyStore,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrder {
    lab: String,
    item: String,
}

async fn build_orders(init: Arc<Init>) -> Result<SharedFunction, InitError> {
    let table = Table::new(init.clients.dynamodb.clone(), init.env.require("FIXTURE_TABLE")?);
    let state = Arc::new(Orders {
        idem: IdempotencyStore::new(table.clone()),
        table,
    });
    Ok(public_route(
        &ORDERS,
        state,
        |st: Arc<Orders>, req: Request| async move {
            let order: NewOrder = req.json()?;
            let lab = LabKeys::new(&order.lab).map_err(|e| Problem::bad_request("invalid_lab", e.to_string()))?;
            idempotent(&st.idem, &lab, &req, || async {
                record(|s| *s.order_executions.entry(order.item.clone()).or_default() += 1);
                // Slow enough that concurrent duplicates overlap with the first execution.
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                let id = ulid::Ulid::new().to_string();
                let item = HashMap::from([
                    (
                        "PK".to_owned(),
                        s(lab
                            .partition(&["ORDER", &id])
                            .map_err(|e| Problem::bad_request("bad", e.to_string()))?),
                    ),
                    ("SK".to_owned(), s("ORDER")),
                    ("GSI1PK".to_owned(), s(format!("{}#ORDERS", lab.root()))),
                    ("GSI1SK".to_owned(), s(&id)),
                    ("item".to_owned(), s(&order.item)),
                    ("version".to_owned(), n(1)),
                ]);
                st.table.put_new(item).await?;
                Ok(Response::created(
                    &format!("/api/_test/orders/{id}"),
                    &json!({ "id": id, "item": order.item }),
                ))
            })
            .await
        },
    )?)
}

async fn task(event: Value, _ctx: InvokeContext) -> Result<Value, FunctionError> {
    match event["fail_with"].as_str() {
        Some(kind) => Err(FunctionError::new(kind, "the task failed on purpose")),
        None => Ok(json!({ "reserved": true, "order": event["order"] })),
    }
}

async fn compensate(event: Value, _ctx: InvokeContext) -> Result<Value, FunctionError> {
    record(|s| s.compensations.push(event.clone()));
    Ok(json!({ "released": true }))
}

async fn slow(_event: Value, _ctx: InvokeContext) -> Result<Value, FunctionError> {
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    Ok(json!({}))
}

/// `ok:*` succeeds; `fail-once:*` fails its first delivery; `poison:*` always fails.
async fn consumer(event: Value, _ctx: InvokeContext) -> Result<Value, FunctionError> {
    let mut failures = Vec::new();
    for r in event["Records"].as_array().into_iter().flatten() {
        let body = r["body"].as_str().unwrap_or_default().to_owned();
        let id = r["messageId"].as_str().unwrap_or_default().to_owned();
        let mut attempts = 0;
        record(|s| {
            let a = s.sqs_attempts.entry(body.clone()).or_default();
            *a += 1;
            attempts = *a;
        });
        let fail = body.starts_with("poison:") || (body.starts_with("fail-once:") && attempts == 1);
        if fail {
            failures.push(json!({ "itemIdentifier": id }));
        } else {
            record(|s| s.sqs_bodies.push(body));
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}

async fn stream(event: Value, _ctx: InvokeContext) -> Result<Value, FunctionError> {
    let keys: HashSet<String> = event["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["eventName"] == "INSERT")
        .filter_map(|r| r["dynamodb"]["Keys"]["PK"]["S"].as_str().map(str::to_owned))
        .collect();
    record(|s| s.stream_keys.extend(keys));
    Ok(Value::Null)
}

async fn tick(event: Value, _ctx: InvokeContext) -> Result<Value, FunctionError> {
    record(|s| s.ticks.push(event.clone()));
    Ok(json!({ "ticked": true }))
}
