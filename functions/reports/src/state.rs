//! What every reports function is built with, once per container.

use std::sync::Arc;
use tracseq_aws::auth::Auth;
use tracseq_aws::store::Table;
use tracseq_aws::{Init, InitError};

pub struct ReportsState {
    pub table: Table,
    pub auth: Arc<Auth>,
    /// The restore marker: the consumer drops the copies a restore inserts.
    pub restore: tracseq_aws::maintenance::Marker,
}

impl ReportsState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let table = Table::new(init.clients.dynamodb.clone(), init.env.require("TABLE_NAME")?);
        Ok(Arc::new(Self {
            auth: Auth::from_init(init).await?,
            restore: tracseq_aws::maintenance::Marker::from_init(init),
            table,
        }))
    }
}
