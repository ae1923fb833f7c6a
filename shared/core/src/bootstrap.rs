//! Run one [`Function`](crate::function::Function) under the Lambda runtime.

use crate::function::{InvokeContext, SharedFunction};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

pub async fn run(function: SharedFunction) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let function = function.clone();
        async move {
            let ctx = InvokeContext::new(
                event.context.request_id.clone(),
                event.context.env_config.function_name.clone(),
            );
            function.call(event.payload, ctx).await
        }
    }))
    .await
}
