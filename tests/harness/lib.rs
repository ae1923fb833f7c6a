//! Test harness: one local stack (moto + runner, in this process) shared by every test of
//! the binary, started on its own runtime thread so it outlives each test's runtime.
//! Tests reach it only the way clients do: HTTP to the API and edge, the AWS SDK to moto.

pub mod client;
pub mod fixtures;
pub mod hostile;
pub mod invariants;
pub mod lims;
pub mod receivers;
pub mod roles;

use std::path::PathBuf;
use std::sync::OnceLock;
use tracseq_runner::{Config, LocalStack};

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn venv() -> PathBuf {
    std::env::var_os("TRACSEQ_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv"))
}

pub fn sam_venv() -> PathBuf {
    std::env::var_os("TRACSEQ_SAM_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv-sam"))
}

/// The venv holding schemathesis (`make venv`).
pub fn contract_venv() -> PathBuf {
    std::env::var_os("TRACSEQ_CONTRACT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv-contract"))
}

/// Where a running stack can be reached, and its physical resource names.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub api: String,
    pub edge: String,
    pub moto: String,
    pub table: String,
    pub fixture_table: String,
    pub queues: std::collections::HashMap<String, String>,
    pub seeded_lab: Option<String>,
    pub function_prefix: String,
}

impl Endpoints {
    /// Fresh SDK configuration for moto, bound to the calling test's runtime.
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        tracseq_aws::clients::local(&self.moto, "us-east-1").await
    }

    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap_or_default()
    }

    pub fn function(&self, logical_id: &str) -> String {
        format!("{}-{logical_id}", self.function_prefix)
    }
}

pub fn config(prefix: &str) -> Config {
    let root = workspace();
    Config {
        templates: vec![root.join("template.yaml"), root.join("tests/fixtures/template.yaml")],
        api_port: 0,
        edge_port: 0,
        moto_port: 0,
        venv: venv(),
        web_dir: root.join("web/dist"),
        prefix: prefix.to_owned(),
        // Every test request comes from 127.0.0.1: the per-address login limit would be
        // shared by the whole binary. It is tested on its own stack.
        // Delivery retries after 1 s instead of 60/300/900 s (the schedule itself is unit
        // tested), the publisher's crash hook for subjects under `faults/`, small export pages.
        env_overrides: std::collections::HashMap::from([
            ("LOGIN_LIMIT_PER_IP".to_owned(), "100000".to_owned()),
            ("RETRY_DELAYS_SECS".to_owned(), "1,1,1".to_owned()),
            ("EVENTS_FAULT_PUBLISH".to_owned(), "faults/".to_owned()),
            // Exports page by 100 rows, so a few hundred reach the queued worker.
            ("EXPORT_PAGE_ROWS".to_owned(), "100".to_owned()),
        ]),
        ..Config::default()
    }
}

pub fn catalog() -> Vec<tracseq_aws::FunctionDef> {
    let mut c = tracseq_runner::catalog::catalog();
    c.extend_from_slice(fixtures::FUNCTIONS);
    c
}

fn endpoints(stack: &LocalStack, prefix: &str) -> Endpoints {
    Endpoints {
        api: stack.api_url.clone(),
        edge: stack.edge_url.clone(),
        moto: stack.moto_url.clone(),
        table: stack.tables["Table"].clone(),
        fixture_table: stack.tables["FixtureTable"].clone(),
        queues: stack.queues.clone(),
        seeded_lab: stack.seeded_lab.clone(),
        function_prefix: prefix.to_owned(),
    }
}

/// Every log line the process wrote (JSON, debug level and up), for tests that check what
/// must never be logged.
pub fn logs() -> String {
    LOGS.lock()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

/// Every stack's log lines of the last run, kept for diagnosing a failure after the fact
/// (`target/e2e-logs.jsonl`, written as they come).
fn log_file() -> Option<&'static std::sync::Mutex<std::fs::File>> {
    static FILE: OnceLock<Option<std::sync::Mutex<std::fs::File>>> = OnceLock::new();
    FILE.get_or_init(|| {
        std::fs::File::create(workspace().join("target/e2e-logs.jsonl"))
            .ok()
            .map(std::sync::Mutex::new)
    })
    .as_ref()
}

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = LOGS.lock() {
            b.extend_from_slice(buf);
        }
        if let Some(Ok(mut f)) = log_file().map(|f| f.lock()) {
            let _ = f.write_all(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,aws_smithy_runtime=info,aws_config=info,hyper=info,h2=info,rustls=info",
        ))
        .with_writer(|| Capture)
        .try_init();
}

/// The stack shared by all tests of this binary.
pub fn shared() -> &'static Endpoints {
    static SHARED: OnceLock<Endpoints> = OnceLock::new();
    SHARED.get_or_init(|| {
        capture_logs();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("test runtime");
            rt.block_on(async move {
                match LocalStack::start(config("tracseq"), catalog()).await {
                    Ok(stack) => {
                        let _ = tx.send(Ok(endpoints(&stack, "tracseq")));
                        // Keep the stack (and moto) alive for the life of the test process.
                        std::future::pending::<()>().await;
                        drop(stack);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        });
        match rx.recv() {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => panic!("local stack failed to start: {e}"),
            Err(_) => panic!("local stack thread died"),
        }
    })
}

/// A stack of its own, for tests that break it (stop moto) or change its settings.
pub async fn isolated(config: Config) -> (LocalStack, Endpoints) {
    let prefix = config.prefix.clone();
    let stack = LocalStack::start(config, catalog())
        .await
        .expect("isolated stack starts");
    let e = endpoints(&stack, &prefix);
    (stack, e)
}

/// Poll `queue` for up to `secs` until a message whose body satisfies `matches` arrives;
/// its body. Messages stay visible to other readers (visibility timeout 0).
pub async fn queue_message(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    secs: u64,
    matches: impl Fn(&str) -> bool,
) -> Option<String> {
    let matches = &matches;
    eventually(secs, || async move {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .wait_time_seconds(1)
            .send()
            .await
            .ok()?;
        out.messages()
            .iter()
            .filter_map(|m| m.body())
            .find(|b| matches(b))
            .map(str::to_owned)
    })
    .await
}

/// Poll `check` until it returns `Some` or `secs` pass.
pub async fn eventually<T, F, Fut>(secs: u64, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    // Back off from 100 ms to 1 s: dozens of tests wait at once on two cores, and a
    // tight loop of requests slows the very work it waits for.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut pause = std::time::Duration::from_millis(100);
    while std::time::Instant::now() < deadline {
        if let Some(v) = check().await {
            return Some(v);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(std::time::Duration::from_secs(1));
    }
    None
}

/// Every account-mail item (reset and invitation links) of `user` in the shared table, read
/// as only a test may: a filtered Scan.
pub async fn account_mail(user: &str) -> Vec<tracseq_aws::account_mail::AccountMail> {
    let s = shared();
    let client = aws_sdk_dynamodb::Client::new(&s.sdk().await);
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&s.table)
            .filter_expression("#e = :e AND #u = :u")
            .expression_attribute_names("#e", "entity")
            .expression_attribute_names("#u", "user_id")
            .expression_attribute_values(":e", aws_sdk_dynamodb::types::AttributeValue::S("account_mail".into()))
            .expression_attribute_values(":u", aws_sdk_dynamodb::types::AttributeValue::S(user.into()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items.unwrap_or_default() {
            out.push(tracseq_aws::account_mail::AccountMail::from_item(item).expect("account mail"));
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return out;
        }
    }
}

/// Wait, if need be, until the current fixed one-minute window (the login throttle's) has
/// at least `secs` left, so a test counting hits in one window cannot straddle two.
pub async fn fresh_minute(secs: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let left = 60 - now % 60;
    if left < secs {
        tokio::time::sleep(std::time::Duration::from_secs(left + 1)).await;
    }
}
