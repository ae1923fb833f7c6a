//! SDK clients. Built once at init and shared: clients made from one `SdkConfig` share its
//! HTTP connection pool, so many functions in the local runner cost one pool.

use aws_config::{BehaviorVersion, Region, SdkConfig};
pub use aws_sdk_sqs::types::QueueAttributeName;

#[derive(Debug, Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        // moto (and S3-compatible local stores) need path-style bucket addressing.
        let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(true).build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3),
        }
    }
}

/// The SDK configuration from the environment (Lambda's role, region, `AWS_ENDPOINT_URL`).
pub async fn from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An SDK configuration for a local endpoint (moto), with fixed dummy credentials.
pub async fn local(endpoint: &str, region: &str) -> SdkConfig {
    let creds = aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "tracseq-local");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .load()
        .await
}
