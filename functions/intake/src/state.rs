//! What every intake function is built with, once per container.

use std::sync::Arc;
use tracseq_aws::auth::Auth;
use tracseq_aws::idempotency::IdempotencyStore;
use tracseq_aws::store::Table;
use tracseq_aws::{Init, InitError};

pub struct IntakeState {
    pub table: Table,
    pub auth: Arc<Auth>,
    pub idem: IdempotencyStore,
    pub s3: aws_sdk_s3::Client,
    pub lambda: aws_sdk_lambda::Client,
    /// Uploads, extractions and their text live here under `intake/{lab}/{document}/`.
    pub bucket: String,
    /// The submissions service's function that starts a submission from a reviewed
    /// document (only the submit function has it).
    pub submit_function: Option<String>,
    /// Lifetime of a presigned upload URL.
    pub upload_ttl_secs: u64,
    /// The confidence at or above which a document is `ready` when its lab has not set one.
    pub default_threshold: f64,
    pub ssm: aws_sdk_ssm::Client,
    /// SSM path under which each lab's provider keys are SecureStrings.
    pub keys_prefix: String,
    pub bedrock: aws_sdk_bedrockruntime::Client,
    pub anthropic_url: String,
    pub openai_url: String,
}

impl IntakeState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let env = &init.env;
        let table = Table::new(init.clients.dynamodb.clone(), env.require("TABLE_NAME")?);
        Ok(Arc::new(Self {
            auth: Auth::from_init(init).await?,
            idem: IdempotencyStore::new(table.clone()),
            table,
            s3: init.clients.s3.clone(),
            lambda: lambda_client(init),
            bucket: env.require("BUCKET_NAME")?.to_owned(),
            submit_function: env.get("SUBMIT_FUNCTION").map(str::to_owned),
            upload_ttl_secs: env.parse_or("UPLOAD_URL_TTL", 900)?,
            default_threshold: env.parse_or("INTAKE_READY_THRESHOLD", 0.85f64)?.clamp(0.0, 1.0),
            ssm: aws_sdk_ssm::Client::new(&init.aws),
            keys_prefix: env.get("INTAKE_KEYS_PREFIX").unwrap_or("/tracseq/intake").to_owned(),
            bedrock: aws_sdk_bedrockruntime::Client::new(&init.aws),
            anthropic_url: env
                .get("ANTHROPIC_BASE_URL")
                .unwrap_or("https://api.anthropic.com")
                .to_owned(),
            openai_url: env
                .get("OPENAI_BASE_URL")
                .unwrap_or("https://api.openai.com")
                .to_owned(),
        }))
    }
}

/// Lambda's client; `AWS_ENDPOINT_URL_LAMBDA` (the SDKs' own variable) points it elsewhere,
/// as the local runner does to reach its in-process functions.
fn lambda_client(init: &Init) -> aws_sdk_lambda::Client {
    let mut config = aws_sdk_lambda::config::Builder::from(&init.aws);
    if let Some(url) = init.env.get("AWS_ENDPOINT_URL_LAMBDA") {
        config = config.endpoint_url(url);
    }
    aws_sdk_lambda::Client::from_conf(config.build())
}
