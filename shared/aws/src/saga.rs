//! Saga task plumbing that needs the table: faults a test planted in its own submission
//! (local stack only), counted per submission and step so that a retried step sees how
//! often it already failed, and nothing is shared between tests.

use crate::store::{StoreError, Table, n, now_epoch, s};
use std::time::Duration;
use tracseq_core::function::FunctionError;
use tracseq_core::keyed::lab_key;
use tracseq_core::saga::{FaultKind, SagaContext, errors};

/// How long a fault counter is kept.
const FAULT_TTL_SECS: i64 = 86_400;

/// Fail `step` as the test that started this saga asked, or do nothing.
pub async fn inject(table: &Table, ctx: &SagaContext, step: &str) -> Result<(), FunctionError> {
    let Some(fault) = ctx.fault(step) else {
        return Ok(());
    };
    match fault.kind {
        FaultKind::Delay => {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
            Ok(())
        }
        FaultKind::Permanent => Err(FunctionError::new(
            errors::INJECTED,
            format!("fault planted in step {step}"),
        )),
        FaultKind::Transient | FaultKind::Crash => {
            let attempt = count(table, ctx, step).await.map_err(FunctionError::transient)?;
            if attempt > u64::from(fault.times) {
                return Ok(());
            }
            if fault.kind == FaultKind::Crash {
                crash(step, attempt);
            }
            Err(FunctionError::new(
                errors::TRANSIENT,
                format!("fault planted in step {step}, attempt {attempt}"),
            ))
        }
    }
}

/// The process dies as a crashed function's would (the runner reports it as Lambda does).
#[allow(clippy::panic)]
fn crash(step: &str, attempt: u64) {
    // A deliberate crash: only a saga started with faults on the local stack gets here.
    panic!("fault planted in step {step}: crash on attempt {attempt}");
}

/// This attempt's number (1 for the first) for `step` of the context's saga.
async fn count(table: &Table, ctx: &SagaContext, step: &str) -> Result<u64, StoreError> {
    let out = table
        .client
        .update_item()
        .table_name(&table.name)
        .key("PK", s(lab_key(&ctx.lab, &["SAGA", &ctx.saga_id])))
        .key("SK", s(format!("FAULT#{step}")))
        .update_expression("ADD attempts :one SET expires_at = :exp, #entity = :entity")
        .expression_attribute_names("#entity", "entity")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":exp", n(now_epoch() + FAULT_TTL_SECS))
        .expression_attribute_values(":entity", s("saga_fault"))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(out
        .attributes()
        .and_then(|a| a.get("attempts"))
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(1))
}
