//! Reading what a custody request touches, in a few batched reads whatever its size: the
//! samples (by id or through their barcode guards), the target boxes with their paths and
//! units, the positions taken in them and the positions the samples hold now.

use crate::domain::custody::plan::Reads;
use crate::domain::custody::request::{Normalized, Refusal};
use crate::model::{Position, Resolved, keys};
use crate::state::StorageState;
use std::collections::{HashMap, HashSet};
use tracseq_aws::store::from_item;
use tracseq_core::Problem;

/// Read everything the request touches (a few batched reads, whatever its size); refuse
/// the items whose sample cannot be found.
pub(super) async fn read(st: &StorageState, lab: &str, request: &Normalized) -> Result<(Reads, Vec<Refusal>), Problem> {
    let items = &request.items;
    let mut refusals = Vec::new();
    let at = |i: usize, f: &str| request.field(i, f);
    // Samples by barcode go through the lab's barcode guards.
    let codes: Vec<(String, String)> = items
        .iter()
        .filter_map(|i| i.barcode.as_ref())
        .map(|c| {
            (
                keys::barcode(lab, &c.trim().to_uppercase()),
                keys::BARCODE_SK.to_owned(),
            )
        })
        .collect();
    let guards: HashMap<String, String> = if codes.is_empty() {
        HashMap::new()
    } else {
        st.table
            .batch_get(&codes)
            .await?
            .into_iter()
            .filter(|g| g.get("kind").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("sample"))
            .filter_map(|g| {
                let pk = g.get("PK")?.as_s().ok()?.clone();
                let owner = g.get("owner")?.as_s().ok()?.clone();
                Some((pk, owner))
            })
            .collect()
    };
    let ids: Vec<Option<String>> = items
        .iter()
        .map(|i| match (&i.sample_id, &i.barcode) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(code)) => guards.get(&keys::barcode(lab, &code.trim().to_uppercase())).cloned(),
            _ => None,
        })
        .collect();
    let wanted: Vec<String> = ids.iter().flatten().cloned().collect();
    let samples = st.samples(lab, &wanted).await?;
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        match id {
            Some(id) if samples.contains_key(id) => {
                if !seen.insert(id.clone()) {
                    refusals.push(Refusal::invalid(
                        at(i, "sample_id"),
                        "unique",
                        "the sample is listed twice",
                    ));
                }
            }
            _ => refusals.push(Refusal::missing(
                at(
                    i,
                    if items[i].sample_id.is_some() {
                        "sample_id"
                    } else {
                        "barcode"
                    },
                ),
                "sample",
            )),
        }
    }
    let held_keys: Vec<(String, String)> = samples
        .values()
        .filter_map(|s| s.storage.as_ref())
        .map(|p| (keys::location(lab, &p.location_id), keys::position_sk(&p.position)))
        .collect();
    let held: HashMap<String, Position> = if held_keys.is_empty() {
        HashMap::new()
    } else {
        st.table
            .batch_get(&held_keys)
            .await?
            .into_iter()
            .map(|i| from_item::<Position>(i).map(|p| (p.sample_id.clone(), p)))
            .collect::<Result<_, _>>()?
    };
    // Target boxes and the boxes the samples are in now, with their ancestors.
    let mut box_ids: HashSet<String> = items.iter().filter_map(|i| i.location_id.clone()).collect();
    box_ids.extend(
        samples
            .values()
            .filter_map(|s| s.storage.as_ref())
            .map(|p| p.location_id.clone()),
    );
    let found = st.locations(lab, box_ids.iter().map(String::as_str)).await?;
    let boxes: HashMap<String, Resolved> = st
        .resolve(lab, found.into_values().collect())
        .await?
        .into_iter()
        .map(|r| (r.location.id.clone(), r))
        .collect();
    let targets: HashSet<&String> = items
        .iter()
        .filter_map(|i| i.location_id.as_ref())
        .filter(|id| boxes.get(*id).is_some_and(|r| r.location.kind.is_grid()))
        .collect();
    let mut taken = HashMap::new();
    for id in targets {
        let items = st.table.query_all(&keys::location(lab, id)).await?;
        let labels = items
            .into_iter()
            .filter(|i| {
                i.get("SK")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|sk| sk.starts_with("POS#"))
            })
            .map(from_item::<Position>)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|p| (p.position, p.sample_id))
            .collect();
        taken.insert(id.clone(), labels);
    }
    Ok((
        Reads {
            samples,
            ids,
            boxes,
            taken,
            held,
        },
        refusals,
    ))
}
