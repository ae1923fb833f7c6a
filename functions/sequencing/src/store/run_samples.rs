//! A run's samples in the table: they follow the run through their own status machine: a run that starts
//! running takes its samples to `in_sequencing`; a completed run takes them to
//! `completed`, or `failed` where the library failed QC; a failed or aborted run takes
//! them to `failed`.
//!
//! The run's own transition commits first (version-checked, so one writer wins); the
//! samples follow in transactions of [`CHUNK`], each sample conditional on the version
//! read, with its history line, its `sample.status_changed` event and, for a checked-out
//! stored sample, its box-map snapshot. A sample that changed meanwhile is read again and
//! moved if it is still where the run expects it; the answer lists any that were not.

use crate::domain::samplesheet::{SheetRequest, SheetSample};
use crate::model::{PoolMember, Run};
use crate::state::SequencingState;
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::Serialize;
use serde_json::json;
use tracseq_aws::outbox::put_event_op;
use tracseq_aws::store::{StoreError, ToItem};
use tracseq_core::auth::Principal;
use tracseq_core::http::Request;
use tracseq_core::now_rfc3339;
use tracseq_core::{FieldError, Problem};
use tracseq_lab::sample::{HistoryEntry, Sample};
use tracseq_lab::status::SampleStatus;

/// Samples per transaction (each takes up to four actions).
const CHUNK: usize = 20;

/// What happened to a run's samples.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct SampleSync {
    pub moved: usize,
    /// Already where the run takes them, or not part of this step.
    pub unchanged: usize,
    /// Samples that changed meanwhile into a state the run cannot move them from.
    pub not_moved: Vec<FieldError>,
}

/// The (library, sample) pairs of a run's pools.
pub async fn run_members(st: &SequencingState, lab: &str, run: &Run) -> Result<Vec<(String, String)>, Problem> {
    let mut out = Vec::new();
    for lane in &run.lanes {
        for pool in &lane.pool_ids {
            let (_, members) = st.pool(lab, pool).await?;
            out.extend(members.into_iter().map(|m| (m.library_id, m.sample_id)));
        }
    }
    Ok(out)
}

/// The writes that move `s` to `to`.
fn move_ops(
    st: &SequencingState,
    req: &Request,
    p: &Principal,
    run: &Run,
    reason: &str,
    s: &Sample,
    to: SampleStatus,
) -> Result<Vec<TransactWriteItem>, Problem> {
    let to = s
        .status
        .transition(to)
        .map_err(|e| Problem::conflict("invalid_transition", e.to_string()))?;
    let now = now_rfc3339();
    let mut next = s.clone();
    next.status = to;
    next.version += 1;
    next.updated_at = now.clone();
    next.updated_by = p.user_id.clone();
    let history = HistoryEntry {
        id: ulid::Ulid::new().to_string(),
        sample_id: s.id.clone(),
        kind: "status_changed".into(),
        from: Some(s.status),
        to: Some(to),
        reason: Some(reason.to_owned()),
        changed: vec![],
        at: now,
        by: p.user_id.clone(),
    };
    let ev = req.event("sample.status_changed", p, &format!("samples/{}", s.id), {
        let mut data = s.status_changed_data(to, Some(reason));
        data["run_id"] = json!(run.id);
        data
    })?;
    let mut ops = vec![
        st.table.put_versioned_op(next.item(&p.lab_id)?, s.version)?,
        st.table.put_new_op(history.item(&p.lab_id)?)?,
        put_event_op(&st.table, &ev)?,
    ];
    if let Some(sync) = tracseq_lab::sample::position_to_sync(&p.lab_id, s, &next) {
        ops.push(
            st.table
                .set_where_op(&sync.pk, &sync.sk, &sync.sets, ("sample_id", &sync.sample_id))?,
        );
    }
    Ok(ops)
}

/// Move every sample `target` names; samples that lose a race are read again and tried
/// again (twice).
pub async fn sync(
    st: &SequencingState,
    req: &Request,
    p: &Principal,
    run: &Run,
    reason: &str,
    samples: Vec<Sample>,
    target: impl Fn(&Sample) -> Option<SampleStatus>,
) -> Result<SampleSync, Problem> {
    let mut out = SampleSync::default();
    let (mut todo, skip): (Vec<Sample>, Vec<Sample>) = samples.into_iter().partition(|s| target(s).is_some());
    out.unchanged = skip.len();
    for attempt in 0..3 {
        let mut lost = Vec::new();
        for chunk in todo.chunks(CHUNK) {
            let mut ops = Vec::new();
            for s in chunk {
                if let Some(to) = target(s) {
                    ops.extend(move_ops(st, req, p, run, reason, s, to)?);
                }
            }
            match st.table.transact_retrying(ops).await {
                Ok(()) => out.moved += chunk.len(),
                Err(e) if e.is_condition_failure() || matches!(e, StoreError::TransactionConflict) => {
                    lost.extend(chunk.iter().map(|s| s.id.clone()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        if lost.is_empty() {
            return Ok(out);
        }
        // Read the losers again: still movable, they go in the next round (one by one).
        let fresh = super::samples(st, &p.lab_id, &lost).await?;
        todo = Vec::new();
        for s in fresh {
            if target(&s).is_some() && attempt < 2 {
                todo.push(s);
            } else if target(&s).is_some() {
                out.not_moved.push(
                    FieldError::field("samples", "conflict", format!("sample {} kept changing", s.barcode))
                        .with_value(&s.id),
                );
            } else {
                out.unchanged += 1;
            }
        }
        if todo.is_empty() {
            return Ok(out);
        }
    }
    Ok(out)
}

/// The sheet a run makes: each lane's pools' libraries, Sample_ID = library name.
/// Every library on the run with its lane, lane by lane and pool by pool.
pub async fn lane_members(st: &SequencingState, lab: &str, run: &Run) -> Result<Vec<(u8, PoolMember)>, Problem> {
    let mut out = Vec::new();
    for lane in &run.lanes {
        for pool in &lane.pool_ids {
            let (_, members) = st.pool(lab, pool).await?;
            out.extend(members.into_iter().map(|m| (lane.lane, m)));
        }
    }
    Ok(out)
}

pub async fn sheet_request(st: &SequencingState, lab: &str, run: &Run) -> Result<SheetRequest, Problem> {
    let lanes = run.flow_cell_lanes;
    let samples = lane_members(st, lab, run)
        .await?
        .into_iter()
        .map(|(lane, m)| SheetSample {
            lane,
            sample_id: m.library_name,
            index: m.i7,
            index2: m.i5,
            project: m.project,
            i7_name: None,
            i5_name: None,
        })
        .collect();
    Ok(SheetRequest {
        run_name: run.name.clone(),
        instrument: run.instrument,
        lanes,
        reads: run.reads,
        barcode_mismatches: run.barcode_mismatches,
        allow_lower_mismatches: run.allow_lower_mismatches,
        date: run.created_at.get(..10).unwrap_or("1970-01-01").to_owned(),
        bclconvert_version: None,
        samples,
    })
}
