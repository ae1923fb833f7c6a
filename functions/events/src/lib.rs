//! The events service. So far: the lab's event history over the outbox
//! (`GET /api/events`). Publishing to consumer queues, replay, webhooks and
//! notifications are issue 7's remaining work.

pub mod history;
pub mod query;
pub mod routes;
pub mod state;

use state::EventsState;
use std::sync::Arc;
use tracseq_aws::lambda::ServiceState;
use tracseq_aws::{FunctionDef, Init, InitError};
use tracseq_core::function::BoxFuture;

impl ServiceState for EventsState {
    fn build(init: Arc<Init>) -> BoxFuture<Result<Arc<Self>, InitError>> {
        Box::pin(async move { EventsState::build(&init).await })
    }
    fn authenticator(&self) -> Arc<tracseq_aws::auth::Auth> {
        self.auth.clone()
    }
}

pub static FUNCTIONS: &[FunctionDef] =
    &[tracseq_aws::service_function!(EventsState; protected routes::LIST_EVENTS => history::list_events)];
