//! The storage steps of the sample submission saga (docs/sagas.md): allocate positions
//! for the submission's samples, and release them when the saga compensates. Both are
//! custody operations through the same planner and transactions as the API's, so zone
//! rules, counters, custody records and events are the same; both may run twice for one
//! step (a redelivered task) and do nothing the second time.

use crate::domain::custody::request::{CustodyItem, Normalized};
use crate::handlers::custody::commit;
use crate::model::CustodyAction;
use crate::state::StorageState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use tracseq_aws::saga::inject;
use tracseq_core::Problem;
use tracseq_core::auth::Principal;
use tracseq_core::function::FunctionError;
use tracseq_core::http::Request;
use tracseq_core::saga::{SagaContext, errors, parse_input, task_error};

/// A rack's worth: the most one custody operation takes.
const RACK: usize = 96;

/// Where a submission's samples go: boxes, filled in the order given.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Target {
    pub location_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct AllocateArgs {
    sample_ids: Vec<String>,
    storage: Target,
}

#[derive(Debug, Deserialize)]
struct ReleaseArgs {
    sample_ids: Vec<String>,
}

/// Where one sample went.
#[derive(Debug, Clone, Serialize)]
pub struct Allocated {
    pub sample_id: String,
    pub location_id: String,
    pub position: String,
    pub path: String,
}

/// `storage_saga_allocate`: every sample into the first box with room, by fill order.
/// Fails with `StorageFull` when the boxes cannot take them all (what was placed stays
/// for the compensation to release), `StorageRefused` for a target that breaks the rules.
pub async fn allocate(st: Arc<StorageState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, args): (SagaContext, AllocateArgs) = parse_input(&event)?;
    inject(&st.table, &ctx, "allocate").await?;
    let p = ctx.principal();
    let req = Request::internal(&ctx.saga_id);
    let samples = st
        .samples(&ctx.lab, &args.sample_ids)
        .await
        .map_err(|e| task_error(&e, errors::STORAGE_REFUSED))?;
    // A redelivered step finds its earlier placements and goes on from there.
    let mut waiting: Vec<String> = args
        .sample_ids
        .iter()
        .filter(|id| samples.get(*id).is_some_and(|s| s.storage.is_none()))
        .cloned()
        .collect();
    for box_id in &args.storage.location_ids {
        while !waiting.is_empty() {
            let take = waiting.len().min(RACK);
            match place(&st, &req, &p, box_id, &waiting[..take]).await {
                Ok(()) => {
                    waiting.drain(..take);
                }
                Err(Fit::Partly(room)) => {
                    let placed = place(&st, &req, &p, box_id, &waiting[..room]).await;
                    match placed {
                        Ok(()) => {
                            waiting.drain(..room);
                        }
                        // The box filled up meanwhile: plan again with what it has now.
                        Err(Fit::Partly(_) | Fit::None) => continue,
                        Err(Fit::Refused(e)) => return Err(e),
                    }
                }
                Err(Fit::None) => break,
                Err(Fit::Refused(e)) => return Err(e),
            }
        }
    }
    if !waiting.is_empty() {
        return Err(FunctionError::new(
            errors::STORAGE_FULL,
            format!(
                "{} of {} samples found no free position in the target boxes",
                waiting.len(),
                args.sample_ids.len()
            ),
        ));
    }
    let placed = st
        .samples(&ctx.lab, &args.sample_ids)
        .await
        .map_err(|e| task_error(&e, errors::STORAGE_REFUSED))?;
    let positions: Vec<Allocated> = args
        .sample_ids
        .iter()
        .filter_map(|id| {
            let at = placed.get(id)?.storage.as_ref()?;
            Some(Allocated {
                sample_id: id.clone(),
                location_id: at.location_id.clone(),
                position: at.position.clone(),
                path: at.path.clone(),
            })
        })
        .collect();
    Ok(serde_json::json!({ "positions": positions }))
}

/// Why a placement did not go in whole.
enum Fit {
    /// The box has room for this many of them (fewer than asked, more than none).
    Partly(usize),
    /// The box is full.
    None,
    Refused(FunctionError),
}

/// Place `ids` into `box_id` at its next free positions, all or none.
async fn place(st: &StorageState, req: &Request, p: &Principal, box_id: &str, ids: &[String]) -> Result<(), Fit> {
    let n = Normalized {
        items: ids
            .iter()
            .map(|id| CustodyItem {
                sample_id: Some(id.clone()),
                location_id: Some(box_id.to_owned()),
                auto: Some(true),
                ..CustodyItem::default()
            })
            .collect(),
        reason: None,
        single: false,
    };
    match commit(st, req, p, CustodyAction::Placed, &n).await {
        Ok(_) => Ok(()),
        Err(e) if e.code == "box_full" => {
            let overflow = e.errors.iter().filter(|f| f.rule == "box_full").count();
            let room = ids.len().saturating_sub(overflow.max(1));
            Err(if room == 0 { Fit::None } else { Fit::Partly(room) })
        }
        Err(e) => Err(Fit::Refused(task_error(&e, errors::STORAGE_REFUSED))),
    }
}

/// `storage_saga_release`: the compensation of `allocate`. Frees the position of every
/// sample of the submission that still holds one; a sample already released is skipped.
pub async fn release(st: Arc<StorageState>, event: Value) -> Result<Value, FunctionError> {
    let (ctx, args): (SagaContext, ReleaseArgs) = parse_input(&event)?;
    inject(&st.table, &ctx, "release").await?;
    let p = ctx.principal();
    let req = Request::internal(&ctx.saga_id);
    let samples = st.samples(&ctx.lab, &args.sample_ids).await.map_err(transient)?;
    let held: Vec<String> = args
        .sample_ids
        .iter()
        .filter(|id| samples.get(*id).is_some_and(|s| s.storage.is_some()))
        .cloned()
        .collect();
    for rack in held.chunks(RACK) {
        let n = Normalized {
            items: rack
                .iter()
                .map(|id| CustodyItem {
                    sample_id: Some(id.clone()),
                    ..CustodyItem::default()
                })
                .collect(),
            reason: Some(format!("submission {} compensated", ctx.saga_id)),
            single: false,
        };
        commit(&st, &req, &p, CustodyAction::Released, &n)
            .await
            .map_err(transient)?;
    }
    Ok(serde_json::json!({ "released": held.len() }))
}

/// A compensation never gives up for good: its failures are retried by the state machine.
fn transient(p: Problem) -> FunctionError {
    FunctionError::new(errors::TRANSIENT, format!("{}: {}", p.code, p.detail))
}
