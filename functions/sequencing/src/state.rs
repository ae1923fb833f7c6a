//! What every sequencing function is built with, once per container (the reads live in
//! [`crate::store`]).

use std::sync::Arc;
use tracseq_aws::auth::Auth;
use tracseq_aws::idempotency::IdempotencyStore;
use tracseq_aws::store::Table;
use tracseq_aws::{Init, InitError};

pub struct SequencingState {
    pub table: Table,
    pub auth: Arc<Auth>,
    pub idem: IdempotencyStore,
    pub sfn: aws_sdk_sfn::Client,
    pub s3: aws_sdk_s3::Client,
    /// The sequencing run state machine (only the start function has it).
    pub run_state_machine_arn: Option<String>,
    /// The files bucket, where a started run's sample sheet is kept (the saga's tasks).
    pub files_bucket: Option<String>,
    /// Planted faults are accepted on the local stack only.
    pub faults_allowed: bool,
}

impl SequencingState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let env = &init.env;
        let table = Table::new(init.clients.dynamodb.clone(), env.require("TABLE_NAME")?);
        Ok(Arc::new(Self {
            auth: Auth::from_init(init).await?,
            idem: IdempotencyStore::new(table.clone()),
            table,
            sfn: aws_sdk_sfn::Client::new(&init.aws),
            s3: init.clients.s3.clone(),
            run_state_machine_arn: env.get("RUN_STATE_MACHINE_ARN").map(str::to_owned),
            files_bucket: env.get("FILES_BUCKET").map(str::to_owned),
            faults_allowed: env.get("STAGE") == Some("local"),
        }))
    }
}
