//! Fixed-window request counters in the table (`THROTTLE#{kind}#{key}#{window}`, TTL), for
//! login throttling per email and per source address. Shared by every container, unlike
//! an in-memory limiter.

use crate::state::AuthState;
use tracseq_aws::store::{StoreError, n, now_epoch, s};
use tracseq_core::Problem;

/// Count one hit; 429 with `Retry-After` once `limit` hits fall in the current window.
pub async fn hit(st: &AuthState, kind: &str, key: &str, limit: u32, window_secs: i64) -> Result<(), Problem> {
    let table = &st.table;
    let now = now_epoch();
    let window = now / window_secs;
    let out = table
        .client
        .update_item()
        .table_name(&table.name)
        .key("PK", s(format!("THROTTLE#{kind}#{key}#{window}")))
        .key("SK", s("T"))
        .update_expression("ADD hits :one SET expires_at = :exp, entity = :entity")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":exp", n((window + 2) * window_secs))
        .expression_attribute_values(":entity", s("throttle"))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let hits = out
        .attributes()
        .and_then(|a| a.get("hits"))
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    if hits > limit {
        let retry = ((window + 1) * window_secs - now).max(1);
        return Err(Problem::too_many_requests(u32::try_from(retry).unwrap_or(60)));
    }
    Ok(())
}
