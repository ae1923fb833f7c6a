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
}

impl SequencingState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let table = Table::new(init.clients.dynamodb.clone(), init.env.require("TABLE_NAME")?);
        Ok(Arc::new(Self {
            auth: Auth::from_init(init).await?,
            idem: IdempotencyStore::new(table.clone()),
            table,
        }))
    }
}
