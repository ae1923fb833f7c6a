//! Run one [`Function`](crate::function::Function) under the Lambda runtime.

use crate::function::{InvokeContext, SharedFunction};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Run `function` for every invocation, with an EMF record of each (duration, cold start,
/// error type) when EMF is on.
pub async fn run(function: SharedFunction) -> Result<(), lambda_runtime::Error> {
    // The first invocation of this process is the cold start.
    let warm = Arc::new(AtomicBool::new(false));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (function, warm) = (function.clone(), warm.clone());
        async move {
            let name = event.context.env_config.function_name.clone();
            let ctx = InvokeContext::new(event.context.request_id.clone(), name.clone());
            let started = Instant::now();
            let out = function.call(event.payload, ctx).await;
            if crate::telemetry::emf_enabled() {
                let cold = !warm.swap(true, Ordering::Relaxed);
                let error = out.as_ref().err().map(|e| e.error_type.as_str());
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                for m in crate::telemetry::invocation_metrics(&name, ms, cold, error) {
                    m.emit();
                }
            }
            out
        }
    }))
    .await
}
