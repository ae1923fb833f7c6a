//! The storage service's table access: every read and write of its records goes through
//! here, so handlers hold no item, key or transaction. The reads every handler shares are
//! here; what belongs to one area (locations, capacity, custody, recovery) has its module.
//! Another lab's record, a malformed id and a missing record are all the same 404.

pub mod capacity;
pub mod custody;
pub mod locations;
pub mod monitor;
pub mod recovery;

use crate::domain::kinds::LocationStatus;
use crate::domain::zone::Zone;
use crate::model::{CustodyRecord, Location, Resolved, keys};
use crate::state::StorageState;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use std::collections::HashMap;
use tracseq_aws::store::{PageQuery, StoreError, Table, from_item, n, s};
use tracseq_core::Problem;
use tracseq_core::keyed::is_valid_id;
use tracseq_core::pagination::{Page, PageRequest};
use tracseq_lab::sample::{ImportState, ImportStatus, Sample};

impl StorageState {
    pub async fn location(&self, lab: &str, id: &str) -> Result<Location, Problem> {
        if !is_valid_id(id) {
            return Err(Problem::not_found("location"));
        }
        self.table
            .get_as(&keys::location(lab, id), keys::LOCATION_SK)
            .await?
            .ok_or_else(|| Problem::not_found("location"))
    }

    /// Many locations by id (absent ones are left out).
    pub async fn locations<'a>(
        &self,
        lab: &str,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, Location>, Problem> {
        let keys: Vec<(String, String)> = ids
            .into_iter()
            .filter(|id| is_valid_id(id))
            .map(|id| (keys::location(lab, id), keys::LOCATION_SK.to_owned()))
            .collect();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let items = self.table.batch_get(&keys).await?;
        items
            .into_iter()
            .map(|i| from_item::<Location>(i).map(|l| (l.id.clone(), l)))
            .collect::<Result<_, _>>()
            .map_err(Problem::from)
    }

    /// Locations with their paths and units, reading every ancestor once.
    pub async fn resolve(&self, lab: &str, found: Vec<Location>) -> Result<Vec<Resolved>, Problem> {
        let mut known: HashMap<String, Location> = found.iter().map(|l| (l.id.clone(), l.clone())).collect();
        let missing: Vec<String> = found
            .iter()
            .flat_map(|l| l.ancestors.iter())
            .filter(|a| !known.contains_key(*a))
            .cloned()
            .collect();
        known.extend(self.locations(lab, missing.iter().map(String::as_str)).await?);
        Ok(found
            .into_iter()
            .map(|location| {
                let path = location
                    .lineage()
                    .map(|id| known.get(id).map_or("?", |l| l.name.as_str()))
                    .collect::<Vec<_>>()
                    .join("/");
                let unit = location.unit_id.as_ref().and_then(|u| known.get(u)).cloned();
                Resolved { location, path, unit }
            })
            .collect())
    }

    pub async fn resolve_one(&self, lab: &str, id: &str) -> Result<Resolved, Problem> {
        let loc = self.location(lab, id).await?;
        self.resolve(lab, vec![loc]).await?.pop().ok_or_else(Problem::internal)
    }

    /// A sample of `lab` that the samples service would show (an import's samples appear
    /// when the import completes).
    pub async fn sample(&self, lab: &str, id: &str) -> Result<Sample, Problem> {
        let found = self.samples(lab, &[id.to_owned()]).await?;
        found.into_values().next().ok_or_else(|| Problem::not_found("sample"))
    }

    /// Many visible samples by id (absent ones are left out).
    pub async fn samples(&self, lab: &str, ids: &[String]) -> Result<HashMap<String, Sample>, Problem> {
        let keys: Vec<(String, String)> = ids
            .iter()
            .filter(|id| is_valid_id(id))
            .map(|id| (keys::sample(lab, id), keys::SAMPLE_SK.to_owned()))
            .collect();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let samples = self
            .table
            .batch_get(&keys)
            .await?
            .into_iter()
            .map(from_item::<Sample>)
            .collect::<Result<Vec<_>, _>>()?;
        let mut imports: HashMap<String, bool> = HashMap::new();
        let mut out = HashMap::with_capacity(samples.len());
        for s in samples {
            if let Some(imp) = &s.import_id {
                if !imports.contains_key(imp) {
                    let done = self
                        .table
                        .get_as::<ImportState>(&keys::import(lab, imp), keys::IMPORT_SK)
                        .await?
                        .is_some_and(|i| i.status == ImportStatus::Completed);
                    imports.insert(imp.clone(), done);
                }
                if imports.get(imp) != Some(&true) {
                    continue;
                }
            }
            out.insert(s.id.clone(), s);
        }
        Ok(out)
    }

    /// The owner of a barcode: `("sample" | "location", id)`.
    pub async fn barcode_owner(&self, lab: &str, code: &str) -> Result<Option<(String, String)>, Problem> {
        let guard = self.table.get(&keys::barcode(lab, code), keys::BARCODE_SK).await?;
        Ok(guard.and_then(|g| {
            let kind = g.get("kind").and_then(|v| v.as_s().ok())?.clone();
            let owner = g.get("owner").and_then(|v| v.as_s().ok())?.clone();
            Some((kind, owner))
        }))
    }
}

/// A page of a sample's custody trail, oldest first.
pub async fn custody_trail(
    st: &StorageState,
    lab: &str,
    sample_id: &str,
    page: &PageRequest,
) -> Result<Page<CustodyRecord>, Problem> {
    let pk = keys::sample(lab, sample_id);
    st.table
        .query_page_as(&PageQuery::of(&pk).with_prefix("CUSTODY#"), page)
        .await
}

/// What a counter update must find besides the location existing.
#[derive(Debug, Clone, Copy, Default)]
pub struct CounterGuard {
    /// A grid's fixed capacity: a positive `occupied` delta must fit.
    pub grid_capacity: Option<u64>,
    /// The unit's zone as checked: samples coming in need the unit still active and
    /// still in this zone (a status or zone change racing a placement loses or wins whole).
    pub unit_zone: Option<Zone>,
}

/// `ADD` deltas to a location's counters in a transaction, under `guard`; a negative
/// delta must not take a counter below zero.
pub fn counter_op(
    table: &Table,
    lab: &str,
    id: &str,
    guard: CounterGuard,
    deltas: &[(&str, i64)],
) -> Result<TransactWriteItem, StoreError> {
    let mut update = Update::builder()
        .table_name(&table.name)
        .key("PK", s(keys::location(lab, id)))
        .key("SK", s(keys::LOCATION_SK));
    let mut adds = Vec::new();
    let mut conditions = vec!["attribute_exists(PK)".to_owned()];
    for (i, (attr, delta)) in deltas.iter().enumerate() {
        adds.push(format!("#c{i} :d{i}"));
        update = update
            .expression_attribute_names(format!("#c{i}"), *attr)
            .expression_attribute_values(format!(":d{i}"), n(delta));
        if *delta < 0 {
            conditions.push(format!("#c{i} >= :m{i}"));
            update = update.expression_attribute_values(format!(":m{i}"), n(-delta));
        } else if *attr == "occupied" {
            if let Some(cap) = guard.grid_capacity {
                conditions.push(format!("#c{i} <= :m{i}"));
                update = update.expression_attribute_values(format!(":m{i}"), n(cap.saturating_sub(*delta as u64)));
            }
            if let Some(zone) = guard.unit_zone {
                conditions.push("#unit_status = :active AND #unit_zone = :zone".to_owned());
                update = update
                    .expression_attribute_names("#unit_status", "status")
                    .expression_attribute_names("#unit_zone", "zone")
                    .expression_attribute_values(":active", s(LocationStatus::Active.as_str()))
                    .expression_attribute_values(":zone", s(zone.as_str()));
            }
        }
    }
    let update = update
        .update_expression(format!("ADD {}", adds.join(", ")))
        .condition_expression(conditions.join(" AND "))
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(TransactWriteItem::builder().update(update).build())
}
