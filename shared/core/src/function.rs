//! The uniform function interface: JSON event in, JSON result or a typed error out.
//!
//! It is what Lambda sees, so the same [`Function`] runs under `lambda_runtime` in AWS and
//! in-process in the local runner (HTTP API, Invoke API, SQS, streams and schedules).

use serde_json::Value;
use std::{future::Future, pin::Pin, sync::Arc, time::Instant};

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A Lambda error as Step Functions and the Invoke API see it. `error_type` is what a
/// state machine's `Catch` matches, so it is a stable domain name, never a Rust type name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {error_message}")]
pub struct FunctionError {
    pub error_type: String,
    pub error_message: String,
}

impl FunctionError {
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            error_message: error_message.into(),
        }
    }
    /// The event was not of the shape this function accepts.
    pub fn invalid_event(detail: impl std::fmt::Display) -> Self {
        Self::new("InvalidEvent", detail.to_string())
    }
    /// Worth retrying: a throttle or a dependency that did not answer.
    pub fn transient(detail: impl std::fmt::Display) -> Self {
        Self::new("Transient", detail.to_string())
    }
}

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(e: FunctionError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type,
            error_message: e.error_message,
        }
    }
}

/// What the runtime tells a function about one invocation.
#[derive(Debug, Clone)]
pub struct InvokeContext {
    pub request_id: String,
    pub function_name: String,
    pub deadline: Option<Instant>,
}

impl InvokeContext {
    pub fn new(request_id: impl Into<String>, function_name: impl Into<String>) -> Self {
        Self {
            request_id: request_id.into(),
            function_name: function_name.into(),
            deadline: None,
        }
    }
}

pub trait Function: Send + Sync + 'static {
    fn call(&self, event: Value, ctx: InvokeContext) -> BoxFuture<Result<Value, FunctionError>>;
}

impl<F, Fut> Function for F
where
    F: Fn(Value, InvokeContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, FunctionError>> + Send + 'static,
{
    fn call(&self, event: Value, ctx: InvokeContext) -> BoxFuture<Result<Value, FunctionError>> {
        Box::pin(self(event, ctx))
    }
}

pub type SharedFunction = Arc<dyn Function>;
