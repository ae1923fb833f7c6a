//! Stored records of the storage service and their keys (docs/data-model.md).
//!
//! - Location `LAB#{lab}#LOC#{id}` / `LOC`: the node with its counters (`capacity`,
//!   `occupied`, `children`), which transactions change with `ADD`; GSI1 lists a parent's
//!   children by name; GSI2 lists the lab's units, and each unit's grids.
//! - Position `LAB#{lab}#LOC#{box}` / `POS#{label}`: exists while taken; holds a snapshot
//!   of its sample, so a box map is one Query of the box's partition.
//! - Custody record `LAB#{lab}#SAMPLE#{id}` / `CUSTODY#{ts}#{ulid}`; GSI1 by unit.

use crate::domain::capacity::Level;
use crate::domain::grid::Grid;
use crate::domain::kinds::{FillOrder, LocationKind, LocationStatus};
use crate::domain::zone::Zone;
use serde::{Deserialize, Serialize};
use tracseq_aws::store::{Item, StoreError, keyed_item};
pub use tracseq_core::now_rfc3339;
use tracseq_lab::kinds::SampleType;
use tracseq_lab::status::SampleStatus;

pub mod keys {

    use tracseq_core::keyed::lab_key;
    pub use tracseq_lab::keys::{BARCODE_SK, IMPORT_SK, SAMPLE_SK, barcode, import, location, position_sk, sample};

    pub const LOCATION_SK: &str = "LOC";
    pub const OP_SK: &str = "OP";
    pub const LOCATION_COUNTER_SK: &str = "COUNTER#location";
    /// The parent of root locations in the children index.
    pub const ROOT: &str = "ROOT";

    pub fn children(lab: &str, parent: Option<&str>) -> String {
        lab_key(lab, &["LOC", parent.unwrap_or(ROOT), "CHILDREN"])
    }
    pub fn units(lab: &str) -> String {
        lab_key(lab, &["UNITS"])
    }
    pub fn unit_grids(lab: &str, unit: &str) -> String {
        lab_key(lab, &["UNIT", unit, "GRIDS"])
    }
    pub fn unit_moves(lab: &str, unit: &str) -> String {
        lab_key(lab, &["LOC", unit, "MOVES"])
    }
    pub fn custody_sk(at: &str, id: &str) -> String {
        format!("CUSTODY#{at}#{id}")
    }
    /// A unit's temperature readings and alert periods.
    pub fn readings(lab: &str, unit: &str) -> String {
        lab_key(lab, &["LOC", unit, "READINGS"])
    }
    pub fn operation(lab: &str, id: &str) -> String {
        lab_key(lab, &["STORAGEOP", id])
    }
    pub fn operations(lab: &str) -> String {
        lab_key(lab, &["STORAGEOPS"])
    }
}

/// A node of the storage hierarchy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    pub id: String,
    pub name: String,
    pub kind: LocationKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Ids from the root down to the parent (the hierarchy never moves, so this is fixed).
    #[serde(default)]
    pub ancestors: Vec<String>,
    pub barcode: String,
    /// The nearest unit at or above this node (its zone and status apply here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<String>,
    /// Units only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<Zone>,
    /// Units only; everything below a unit shares its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LocationStatus>,
    /// Grids only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_order: Option<FillOrder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Positions in every grid at or below this node.
    #[serde(default)]
    pub capacity: u64,
    /// Taken positions (checked-out samples keep theirs) at or below this node.
    #[serde(default)]
    pub occupied: u64,
    /// Direct children.
    #[serde(default)]
    pub children: u64,
    /// The capacity level last announced.
    #[serde(default)]
    pub alert_level: Level,
    pub version: u64,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
}

impl Location {
    pub fn grid(&self) -> Option<Grid> {
        match (self.rows, self.columns) {
            (Some(r), Some(c)) => Grid::new(r, c, self.fill_order.unwrap_or(FillOrder::RowMajor)).ok(),
            _ => None,
        }
    }

    /// Every location this one's counters roll up to: itself and its ancestors.
    pub fn lineage(&self) -> impl Iterator<Item = &str> {
        self.ancestors.iter().map(String::as_str).chain([self.id.as_str()])
    }

    pub fn item(&self, lab: &str) -> Result<Item, StoreError> {
        let mut keys = vec![
            ("PK", keys::location(lab, &self.id)),
            ("SK", keys::LOCATION_SK.to_owned()),
            ("GSI1PK", keys::children(lab, self.parent_id.as_deref())),
            ("GSI1SK", children_sort(&self.name, &self.id)),
        ];
        if self.kind.is_unit() {
            keys.push(("GSI2PK", keys::units(lab)));
            keys.push(("GSI2SK", children_sort(&self.name, &self.id)));
        } else if let (true, Some(unit)) = (self.kind.is_grid(), &self.unit_id) {
            keys.push(("GSI2PK", keys::unit_grids(lab, unit)));
            keys.push(("GSI2SK", self.id.clone()));
        }
        keyed_item(self, &keys, "location")
    }
}

/// Children are listed by name, case-insensitively; the id keeps equal names apart.
pub fn children_sort(name: &str, id: &str) -> String {
    format!("{}#{id}", name.to_lowercase())
}

/// A taken position of a grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Position {
    pub location_id: String,
    pub position: String,
    pub row: u16,
    pub column: u16,
    pub sample_id: String,
    pub barcode: String,
    pub sample_type: SampleType,
    pub sample_status: SampleStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The sample is checked out; the position waits for its return.
    #[serde(default)]
    pub checked_out: bool,
    pub since: String,
    pub by: String,
}

impl Position {
    pub fn item(&self, lab: &str) -> Result<Item, StoreError> {
        keyed_item(
            self,
            &[
                ("PK", keys::location(lab, &self.location_id)),
                ("SK", keys::position_sk(&self.position)),
            ],
            "position",
        )
    }
}

/// Where a sample was or went, as recorded then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Place {
    pub location_id: String,
    pub position: String,
    pub path: String,
    /// The storage unit the box is in (reports count each unit's occupancy by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustodyAction {
    Placed,
    Moved,
    Retrieved,
    Returned,
    Disposed,
    /// A placement undone by a saga's compensation: the position is free again and the
    /// sample is back to `validated`, as if it had never been stored.
    Released,
}

impl CustodyAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "placed",
            Self::Moved => "moved",
            Self::Retrieved => "retrieved",
            Self::Returned => "returned",
            Self::Disposed => "disposed",
            Self::Released => "released",
        }
    }
}

/// One movement in a sample's chain of custody.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustodyRecord {
    pub id: String,
    pub sample_id: String,
    pub barcode: String,
    pub action: CustodyAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Place>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Place>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The sample's freeze-thaw count after this movement.
    pub freeze_thaw_count: u32,
    /// The request (operation) this movement was part of.
    pub operation_id: String,
    pub at: String,
    pub by: String,
    /// The unit the movement touched (for the unit's movement log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<String>,
}

impl CustodyRecord {
    pub fn item(&self, lab: &str) -> Result<Item, StoreError> {
        let sk = keys::custody_sk(&self.at, &self.id);
        let mut keys = vec![("PK", keys::sample(lab, &self.sample_id)), ("SK", sk.clone())];
        if let Some(unit) = &self.unit_id {
            keys.push(("GSI1PK", keys::unit_moves(lab, unit)));
            keys.push(("GSI1SK", sk));
        }
        keyed_item(self, &keys, "custody")
    }
}

/// A location with the names of its ancestors: its path and its unit.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub location: Location,
    pub path: String,
    pub unit: Option<Location>,
}

impl Resolved {
    pub fn zone(&self) -> Option<Zone> {
        self.unit.as_ref().and_then(|u| u.zone)
    }
}
