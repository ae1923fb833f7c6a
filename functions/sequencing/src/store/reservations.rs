//! Which active run holds each pool, library and sample: one guard item per reserved thing
//! (`LAB#{lab}#RESERVED` / `{kind}#{id}`, owner = the run), so nothing can sit in two
//! active runs. A run takes its reservations when it starts (its saga's `reserve` step,
//! or a transition to `running`) and gives them back when it ends or its start is undone.

use crate::domain::status::RunStatus;
use crate::model::{Run, keys};
use crate::state::SequencingState;
use std::collections::{HashMap, HashSet};
use tracseq_aws::store::StoreError;
use tracseq_core::Problem;
use tracseq_core::saga::timeline::SagaStatus;

/// Guards per transaction (the limit is 100 actions).
const CHUNK: usize = 50;

/// What a run reserves: `(kind, id)` with kind `pool`, `library` or `sample`.
pub type Thing = (&'static str, String);

fn sk((kind, id): &Thing) -> String {
    format!("{kind}#{id}")
}

/// A reservation another run holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub kind: String,
    pub id: String,
    pub run_id: String,
}

/// Every reservation of the lab, as sort key → owning run.
async fn holders(st: &SequencingState, lab: &str) -> Result<HashMap<String, String>, StoreError> {
    Ok(st
        .table
        .query_all(&keys::reserved(lab))
        .await?
        .into_iter()
        .filter_map(|i| {
            let sk = i.get("SK")?.as_s().ok()?.clone();
            let owner = i.get("owner")?.as_s().ok()?.clone();
            Some((sk, owner))
        })
        .collect())
}

/// What `run` reserves: its pools, and its members' libraries and samples.
pub fn things_of(run: &Run, members: &[(String, String)]) -> Vec<Thing> {
    let mut out: Vec<Thing> = Vec::new();
    let mut seen = HashSet::new();
    let pools = run
        .lanes
        .iter()
        .flat_map(|l| l.pool_ids.iter())
        .map(|p| ("pool", p.clone()));
    let libraries = members.iter().map(|(l, _)| ("library", l.clone()));
    let samples = members.iter().map(|(_, s)| ("sample", s.clone()));
    for t in pools.chain(libraries).chain(samples) {
        if seen.insert(t.clone()) {
            out.push(t);
        }
    }
    out
}

/// Whether a run still holds what it reserved: it is running, or its start saga is.
pub fn is_active(run: &Run) -> bool {
    run.status == RunStatus::Running || run.start.as_ref().is_some_and(|s| s.status == SagaStatus::Running)
}

/// Reservations left by runs that are no longer active (one that ended while its
/// release failed) are given up, so they never block another run.
async fn drop_stale(st: &SequencingState, lab: &str, held: &HashMap<String, String>) -> Result<bool, Problem> {
    let owners: HashSet<&String> = held.values().collect();
    let mut dropped = false;
    for owner in owners {
        let active = match st.run(lab, owner).await {
            Ok(r) => is_active(&r),
            Err(e) if e.status == 404 => false,
            Err(e) => return Err(e),
        };
        if !active {
            tracing::warn!(run = %owner, "releasing the reservations of a run that is no longer active");
            release(st, lab, owner).await?;
            dropped = true;
        }
    }
    Ok(dropped)
}

/// Reserve `things` for `run`. Things the run holds already are skipped (a redelivered
/// step); things another active run holds are answered (and nothing more is reserved).
/// A lost race with another run is a conflict on the next read.
pub async fn reserve(st: &SequencingState, lab: &str, run: &str, things: &[Thing]) -> Result<Vec<Taken>, Problem> {
    for _ in 0..3 {
        let mut held = holders(st, lab).await?;
        let others: HashMap<String, String> = things
            .iter()
            .filter_map(|t| held.get(&sk(t)).filter(|o| *o != run).map(|o| (sk(t), o.clone())))
            .collect();
        if !others.is_empty() && drop_stale(st, lab, &others).await? {
            held = holders(st, lab).await?;
        }
        let taken: Vec<Taken> = things
            .iter()
            .filter_map(|t| {
                let owner = held.get(&sk(t))?;
                (owner != run).then(|| Taken {
                    kind: t.0.to_owned(),
                    id: t.1.clone(),
                    run_id: owner.clone(),
                })
            })
            .collect();
        if !taken.is_empty() {
            return Ok(taken);
        }
        let free: Vec<&Thing> = things.iter().filter(|t| !held.contains_key(&sk(t))).collect();
        let mut lost = false;
        for chunk in free.chunks(CHUNK) {
            let ops = chunk
                .iter()
                .map(|t| st.table.guard_op(&keys::reserved(lab), &sk(t), run))
                .collect::<Result<Vec<_>, _>>()?;
            match st.table.transact_retrying(ops).await {
                Ok(()) => {}
                Err(e) if e.is_condition_failure() || matches!(e, StoreError::TransactionConflict) => {
                    lost = true;
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !lost {
            return Ok(Vec::new());
        }
    }
    Err(Problem::conflict(
        "stale_version",
        "the reservations kept changing; retry",
    ))
}

/// Give back every reservation `run` holds (none is fine); answers how many.
pub async fn release(st: &SequencingState, lab: &str, run: &str) -> Result<usize, Problem> {
    let mine: Vec<String> = holders(st, lab)
        .await?
        .into_iter()
        .filter(|(_, owner)| owner == run)
        .map(|(sk, _)| sk)
        .collect();
    for chunk in mine.chunks(CHUNK) {
        let ops = chunk
            .iter()
            .map(|sk| st.table.delete_where_op(&keys::reserved(lab), sk, ("owner", run)))
            .collect::<Result<Vec<_>, _>>()?;
        match st.table.transact_retrying(ops).await {
            // Released by a concurrent delivery of the same step meanwhile.
            Err(e) if e.is_condition_failure() => {
                for sk in chunk {
                    st.table
                        .transact_retrying(vec![st.table.delete_where_op(
                            &keys::reserved(lab),
                            sk,
                            ("owner", run),
                        )?])
                        .await
                        .or_else(|e| if e.is_condition_failure() { Ok(()) } else { Err(e) })?;
                }
            }
            other => other?,
        }
    }
    Ok(mine.len())
}

/// The ids of the `kind` things `run` holds.
pub async fn held(st: &SequencingState, lab: &str, run: &str, kind: &str) -> Result<Vec<String>, Problem> {
    let prefix = format!("{kind}#");
    Ok(holders(st, lab)
        .await?
        .into_iter()
        .filter(|(_, owner)| owner == run)
        .filter_map(|(sk, _)| sk.strip_prefix(&prefix).map(str::to_owned))
        .collect())
}
