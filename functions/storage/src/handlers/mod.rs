//! HTTP handlers of the storage service.

pub mod capacity;
pub mod custody;
pub mod locations;
pub mod lookups;
pub mod monitor;

use crate::domain::capacity::Level;
use crate::domain::kinds::LocationStatus;
use crate::domain::zone::Zone;
use crate::model::Location;
use crate::state::Resolved;
use serde::Serialize;

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

pub type LocationPage = tracseq_core::pagination::Page<LocationView>;
