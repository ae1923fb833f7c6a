//! A versioned record changed in place: read it, let a pure function decide, write it
//! back at its version with the events the change raises, and start over when another
//! writer got there first. Saga steps and API requests that touch the same record (a
//! submission and its cancel, a run and its start) all go through here.

use crate::outbox::put_event_op;
use crate::store::{StoreError, Table, ToItem};
use serde::de::DeserializeOwned;
use tracseq_core::Problem;
use tracseq_core::events::CloudEvent;

/// Attempts of a change that keeps losing the version race.
const ATTEMPTS: u32 = 8;

/// A record that carries its own version.
pub trait Versioned {
    fn version(&self) -> u64;
    fn set_version(&mut self, version: u64);
}

/// What a change decided.
pub enum Change {
    /// Write the changed record and these events.
    Write(Vec<CloudEvent>),
    /// Nothing to write (the change was made already).
    Keep,
}

/// Read the record at `(pk, sk)` (404 naming `what` when absent), change it and write it
/// back, again when another writer got there first. `change` sees the current record
/// each time; its refusal is returned as is.
pub async fn update<T, F>(
    table: &Table,
    lab: &str,
    (pk, sk): (&str, &str),
    what: &'static str,
    mut change: F,
) -> Result<T, Problem>
where
    T: ToItem + Versioned + Clone + DeserializeOwned,
    F: FnMut(&mut T) -> Result<Change, Problem>,
{
    let mut attempt = 0;
    loop {
        let current: T = table.get_as(pk, sk).await?.ok_or_else(|| Problem::not_found(what))?;
        let mut next = current.clone();
        let events = match change(&mut next)? {
            Change::Keep => return Ok(current),
            Change::Write(events) => events,
        };
        next.set_version(current.version() + 1);
        let mut ops = vec![table.put_versioned_op(next.item(lab)?, current.version())?];
        for ev in &events {
            ops.push(put_event_op(table, ev)?);
        }
        match table.transact(ops).await {
            Ok(()) => return Ok(next),
            Err(e)
                if (e.is_condition_failure() || matches!(e, StoreError::TransactionConflict)) && attempt < ATTEMPTS =>
            {
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
