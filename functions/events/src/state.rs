//! What every events function is built with, once per container.

use std::sync::Arc;
use tracseq_aws::auth::Auth;
use tracseq_aws::store::Table;
use tracseq_aws::{Init, InitError};

pub struct EventsState {
    pub table: Table,
    pub auth: Arc<Auth>,
}

impl EventsState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        Ok(Arc::new(Self {
            table: Table::new(init.clients.dynamodb.clone(), init.env.require("TABLE_NAME")?),
            auth: Auth::from_init(init).await?,
        }))
    }
}
