//! HTTP handlers of the storage service.

pub mod capacity;
pub mod custody;
pub mod locations;
pub mod lookups;

use crate::domain::capacity::Level;
use crate::domain::kinds::LocationStatus;
use crate::domain::zone::Zone;
use crate::model::{Location, keys};
use crate::state::Resolved;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::Serialize;
use tracseq_aws::store::{StoreError, Table, n, s};

/// A location as answered: the stored node, its path, what it inherits from its unit, and
/// how full it is.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LocationView {
    #[serde(flatten)]
    pub location: Location,
    /// Names from the root, `/`-separated.
    pub path: String,
    /// The zone of its unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_zone: Option<Zone>,
    /// The status of its unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_status: Option<LocationStatus>,
    pub free: u64,
    pub percent_full: f64,
    pub level: Level,
}

impl LocationView {
    pub fn new(r: Resolved, thresholds: &crate::domain::capacity::Thresholds) -> Self {
        let l = &r.location;
        let level = thresholds.level(l.occupied, l.capacity);
        let percent = (crate::domain::capacity::percent(l.occupied, l.capacity) * 10.0).round() / 10.0;
        Self {
            effective_zone: r.zone(),
            unit_status: r.unit.as_ref().and_then(|u| u.status),
            free: l.capacity.saturating_sub(l.occupied),
            percent_full: percent,
            level,
            path: r.path,
            location: r.location,
        }
    }
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

pub type LocationPage = tracseq_core::pagination::Page<LocationView>;
