//! What every submissions function is built with, once per container.

use std::sync::Arc;
use tracseq_aws::auth::Auth;
use tracseq_aws::idempotency::IdempotencyStore;
use tracseq_aws::store::Table;
use tracseq_aws::{Init, InitError};

pub struct SubmissionsState {
    pub table: Table,
    pub auth: Arc<Auth>,
    pub idem: IdempotencyStore,
    pub sfn: aws_sdk_sfn::Client,
    /// The sample submission state machine (only the API functions start it).
    pub state_machine_arn: Option<String>,
    /// Planted faults are accepted on the local stack only.
    pub faults_allowed: bool,
}

impl SubmissionsState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let env = &init.env;
        let table = Table::new(init.clients.dynamodb.clone(), env.require("TABLE_NAME")?);
        Ok(Arc::new(Self {
            auth: Auth::from_init(init).await?,
            idem: IdempotencyStore::new(table.clone()),
            table,
            sfn: aws_sdk_sfn::Client::new(&init.aws),
            state_machine_arn: env.get("SUBMISSION_STATE_MACHINE_ARN").map(str::to_owned),
            faults_allowed: env.get("STAGE") == Some("local"),
        }))
    }
}
