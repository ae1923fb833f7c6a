//! Custody operations: place, move, retrieve (check-out), return (check-in) and dispose,
//! for one sample or a rack of up to 96, all or nothing.
//!
//! Every request is read and checked whole before anything is written: samples, their
//! status machine, the target boxes, zone rules, unit status and free positions. Then each
//! sample's change — position guard(s), the sample (version-checked), its custody record
//! and history line — and the counters of every location above the boxes go out as one
//! transaction. A rack needs more than DynamoDB's 100 actions, so it commits in chunks,
//! with an operation record as checkpoint; if a later chunk loses a race, the chunks
//! already written are undone in reverse before the answer goes out. The operation's one
//! domain event rides in the last chunk, so it exists exactly when the whole operation does.

pub use crate::domain::custody::request::{CustodyItem, CustodyRequest};

use super::capacity::announce_capacity;
use crate::domain::custody::plan::{self, Step};
use crate::domain::custody::request::{Normalized, normalize, refusals_problem};
use crate::model::{CustodyAction, Place};
use crate::state::StorageState;
use crate::store::custody as store;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::Problem;
use tracseq_core::auth::Principal;
use tracseq_core::events::CloudEvent;
use tracseq_core::http::{Request, Response, optional_version};
use tracseq_core::keyed::LabKeys;
use tracseq_lab::status::SampleStatus;

/// What happened to one sample.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Moved {
    pub sample_id: String,
    pub barcode: String,
    pub status: SampleStatus,
    pub version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Place>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Place>,
    pub freeze_thaw_count: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustodyOutcome {
    pub operation_id: String,
    pub action: CustodyAction,
    pub items: Vec<Moved>,
}

impl From<&Step> for Moved {
    fn from(s: &Step) -> Self {
        Moved {
            sample_id: s.after.id.clone(),
            barcode: s.after.barcode.clone(),
            status: s.after.status,
            version: s.after.version,
            from: s.custody.from.clone(),
            to: s.custody.to.clone(),
            freeze_thaw_count: s.after.freeze_thaw_count,
        }
    }
}

/// A sample's event for its movement: where it came from and went, its status before
/// and after, and the operation it was part of.
fn sample_event(
    req: &Request,
    p: &Principal,
    op_id: &str,
    reason: Option<&str>,
    s: &Step,
) -> Result<CloudEvent, Problem> {
    req.event(
        s.custody.action.event_kind(),
        p,
        &format!("samples/{}", s.after.id),
        json!({
            "sample_id": s.after.id,
            "barcode": s.after.barcode,
            "action": s.custody.action,
            "from": s.custody.from,
            "to": s.custody.to,
            "status_from": s.before.status,
            "status_to": s.after.status,
            "freeze_thaw_count": s.after.freeze_thaw_count,
            "reason": reason,
            "operation_id": op_id,
        }),
    )
}

/// Read, check, plan and commit one custody request.
async fn execute(
    st: &StorageState,
    req: &Request,
    p: &Principal,
    action: CustodyAction,
    n: &Normalized,
) -> Result<CustodyOutcome, Problem> {
    let header_version = if n.single { optional_version(req, None)? } else { None };
    let (reads, mut refusals) = store::read(st, &p.lab_id, n).await?;
    let op_id = ulid::Ulid::new().to_string();
    let (mut steps, more) =
        plan::Planner::new(&st.settings.zone_rules, p, action, n, &reads, &op_id, header_version).plan();
    refusals.extend(more);
    if !refusals.is_empty() {
        return Err(refusals_problem(refusals, n.single));
    }
    for s in &mut steps {
        s.event = Some(sample_event(req, p, &op_id, n.reason.as_deref(), s)?);
    }
    let moved: Vec<Moved> = steps.iter().map(Moved::from).collect();
    let touched = store::write(st, p, action, &reads, steps, &op_id, n.single).await?;
    announce_capacity(st, req, p, &touched).await;
    Ok(CustodyOutcome {
        operation_id: op_id,
        action,
        items: moved,
    })
}

/// How many times an automatic placement goes after the next free position when another
/// request took the one it chose: each loss means another sample went in, so a box of
/// `n` free cells costs a request at most `n` losses before it is really full (and then
/// the planner refuses with `box_full`). 96 covers the largest plate.
const AUTO_ATTEMPTS: u32 = 96;

/// How long an automatic placement keeps racing before it answers 503 `busy` with
/// Retry-After: half the function's 10-second timeout, so a crowd of racers on a busy
/// store gets a clear answer to retry instead of a gateway timeout.
const AUTO_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// Commit a normalized request. Auto-placed requests that lose a position race are
/// planned again with fresh occupancy, after a short random pause so that racers spread
/// out; explicit positions answer 409 at once.
pub async fn commit(
    st: &StorageState,
    req: &Request,
    p: &Principal,
    action: CustodyAction,
    n: &Normalized,
) -> Result<CustodyOutcome, Problem> {
    let auto = n.items.iter().any(|i| i.auto == Some(true));
    let started = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        match execute(st, req, p, action, n).await {
            Err(e) if auto && e.code == "position_occupied" && started.elapsed() > AUTO_BUDGET => {
                let mut busy = Problem::unavailable("many placements are racing for this box; retry shortly");
                busy.retry_after = Some(1);
                return Err(busy);
            }
            Err(e) if auto && attempt < AUTO_ATTEMPTS && e.code == "position_occupied" => {
                attempt += 1;
                // Up to 2 ms per loss so far, at most 40 ms.
                let ceiling = u64::from(attempt.min(20)) * 2;
                let pause = (ulid::Ulid::new().random() as u64) % (ceiling + 1);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            other => return other,
        }
    }
}

async fn run(st: Arc<StorageState>, req: Request, p: Principal, action: CustodyAction) -> Result<Response, Problem> {
    let body: CustodyRequest = req.json_limited(256 * 1024)?;
    let n = normalize(body, action, st.settings.max_bulk)?;
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        commit(&st, &req, &p, action, &n).await.map(|o| Response::ok(&o))
    })
    .await
}

pub async fn place_samples(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    run(st, req, p, CustodyAction::Placed).await
}

pub async fn move_samples(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    run(st, req, p, CustodyAction::Moved).await
}

pub async fn retrieve_samples(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    run(st, req, p, CustodyAction::Retrieved).await
}

pub async fn return_samples(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    run(st, req, p, CustodyAction::Returned).await
}

pub async fn dispose_samples(st: Arc<StorageState>, req: Request, p: Principal) -> Result<Response, Problem> {
    run(st, req, p, CustodyAction::Disposed).await
}
