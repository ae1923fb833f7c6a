//! Every route of the storage service and the least role it needs (docs/domain.md's matrix:
//! storage research_scientist / lab_technician / lab_administrator). Custody operations
//! are storage writes, so technicians do them; removing a location is the delete.

use crate::handlers::capacity::CapacityReport;
use crate::handlers::capacity::SuggestionList;
use crate::handlers::custody::CustodyOutcome;
use crate::handlers::custody::CustodyRequest;
use crate::handlers::locations::BoxMap;
use crate::handlers::locations::LocationPatch;
use crate::handlers::lookups::CustodyPage;
use crate::handlers::lookups::Scanned;
use crate::handlers::monitor::{
    DeviceToken, MonitorSettings, MonitorView, ReadingBatch, ReadingSeries, ReadingsAccepted,
};
use crate::handlers::{LocationPage, LocationView};
use crate::model::CustodyAction;
use tracseq_core::auth::Role::*;
use tracseq_core::route::Access;
use tracseq_core::route::{Method::*, NO_CONTENT, PAGING, QueryParam, ResponseSpec, RouteSpec, SchemaRef, role};
use tracseq_lab::kinds::SampleType;

const LOCATION: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The location with its path and fill",
    SchemaRef::of::<LocationView>(),
)];
const LOCATION_CREATED: &[ResponseSpec] = &[ResponseSpec::json(
    201,
    "The created location",
    SchemaRef::of::<LocationView>(),
)];
const LOCATION_PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "A page of locations, by name",
    SchemaRef::of::<LocationPage>(),
)];
const MAP: &[ResponseSpec] = &[
    ResponseSpec::json(200, "Every position and its occupant", SchemaRef::of::<BoxMap>()),
    ResponseSpec::file(200, "The box's contents as CSV (Accept: text/csv)", "text/csv"),
    ResponseSpec::file(
        200,
        "The box's contents as an XLSX workbook (Accept: the spreadsheet media type)",
        tracseq_core::sheet::XLSX,
    ),
];
const OUTCOME: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "What happened to each sample",
    SchemaRef::of::<CustodyOutcome>(),
)];
const CUSTODY: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The chain of custody, oldest first",
    SchemaRef::of::<CustodyPage>(),
)];
const SCANNED: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The sample or container and where it is",
    SchemaRef::of::<Scanned>(),
)];
const CAPACITY: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Capacity by unit and by zone",
    SchemaRef::of::<CapacityReport>(),
)];
const SUGGESTIONS: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Free positions, best first",
    SchemaRef::of::<SuggestionList>(),
)];
const TAG: &str = "storage";

pub static LIST_LOCATIONS: RouteSpec = RouteSpec::new(
    "storage_locations_list",
    Get,
    "/api/storage/locations",
    role(ResearchScientist),
)
.doc("Top-level locations (sites, buildings, rooms, units)", TAG)
.query(PAGING)
.answers(LOCATION_PAGE);
pub static CREATE_LOCATION: RouteSpec = RouteSpec::new(
    "storage_locations_create",
    Post,
    "/api/storage/locations",
    role(LabTechnician),
)
.doc("Add a location: a site, room, unit, shelf, rack, box or plate", TAG)
.takes(SchemaRef::ruled::<crate::handlers::locations::NewLocationWire>())
.answers(LOCATION_CREATED);
pub static GET_LOCATION: RouteSpec = RouteSpec::new(
    "storage_locations_get",
    Get,
    "/api/storage/locations/{id}",
    role(ResearchScientist),
)
.doc("A location with its path, zone and fill", TAG)
.answers(LOCATION);
pub static PATCH_LOCATION: RouteSpec = RouteSpec::new(
    "storage_locations_update",
    Patch,
    "/api/storage/locations/{id}",
    role(LabTechnician),
)
.doc(
    "Rename or describe a location; set a unit's status or (empty) zone",
    TAG,
)
.takes(SchemaRef::of::<LocationPatch>())
.answers(LOCATION);
pub static DELETE_LOCATION: RouteSpec = RouteSpec::new(
    "storage_locations_delete",
    Delete,
    "/api/storage/locations/{id}",
    role(LabAdministrator),
)
.doc("Remove an empty location", TAG)
.answers(NO_CONTENT);
pub static LOCATION_CHILDREN: RouteSpec = RouteSpec::new(
    "storage_locations_children",
    Get,
    "/api/storage/locations/{id}/children",
    role(ResearchScientist),
)
.doc("What a location directly contains, by name", TAG)
.query(PAGING)
.answers(LOCATION_PAGE);
pub static BOX_MAP: RouteSpec = RouteSpec::new(
    "storage_box_map",
    Get,
    "/api/storage/locations/{id}/map",
    role(ResearchScientist),
)
.doc(
    "A box or plate: every position and its occupant (CSV or XLSX by Accept)",
    TAG,
)
.answers(MAP);

macro_rules! custody_route {
    ($name:ident, $wire:ident as $schema:literal, $action:ident, $handler:literal, $path:literal, $doc:literal) => {
        tracseq_core::ruled_body!(
            $wire as $schema for CustodyRequest,
            crate::domain::custody::request::wire_rules(CustodyAction::$action)
        );
        pub static $name: RouteSpec = RouteSpec::new($handler, Post, $path, role(LabTechnician))
            .doc($doc, TAG)
            .takes(SchemaRef::ruled::<$wire>())
            .answers(OUTCOME);
    };
}
custody_route!(
    PLACE,
    PlacementRequest as "PlacementRequest",
    Placed,
    "storage_placements",
    "/api/storage/placements",
    "Put samples into positions (one, or up to 96 all or nothing)"
);
custody_route!(
    MOVE,
    MoveRequest as "MoveRequest",
    Moved,
    "storage_moves",
    "/api/storage/moves",
    "Move stored samples to other positions (reason required)"
);
custody_route!(
    RETRIEVE,
    RetrievalRequest as "RetrievalRequest",
    Retrieved,
    "storage_retrievals",
    "/api/storage/retrievals",
    "Check samples out; their positions wait for them"
);
custody_route!(
    RETURN,
    ReturnRequest as "ReturnRequest",
    Returned,
    "storage_returns",
    "/api/storage/returns",
    "Check samples back in, to their kept position or another"
);
custody_route!(
    DISPOSE,
    DisposalRequest as "DisposalRequest",
    Disposed,
    "storage_disposals",
    "/api/storage/disposals",
    "Dispose of samples (terminal; reason required)"
);

pub static SAMPLE_CUSTODY: RouteSpec = RouteSpec::new(
    "samples_custody",
    Get,
    "/api/samples/{id}/custody",
    role(ResearchScientist),
)
.doc("A sample's chain of custody", TAG)
.query(PAGING)
.answers(CUSTODY);
pub static SCAN: RouteSpec = RouteSpec::new(
    "storage_scan",
    Get,
    "/api/storage/scan/{barcode}",
    role(ResearchScientist),
)
.doc("What a scanned barcode is (sample or container) and where", TAG)
.answers(SCANNED);
pub static CAPACITY_ROUTE: RouteSpec = RouteSpec::new(
    "storage_capacity",
    Get,
    "/api/storage/capacity",
    role(ResearchScientist),
)
.doc("Capacity and fill by unit and by temperature zone", TAG)
.answers(CAPACITY);
pub static SUGGEST: RouteSpec = RouteSpec::new("storage_suggest", Get, "/api/storage/suggest", role(ResearchScientist))
    .doc("Free positions for new samples, by rule", TAG)
    .query(&[
        QueryParam::one_of("sample_type", "decides the allowed zones", SampleType::NAMES).required(),
        QueryParam::integer("count", "how many positions (default 1)", 1, 384),
        QueryParam::one_of(
            "rule",
            "least_empty (default) or same_project",
            &["least_empty", "same_project"],
        ),
        QueryParam::text("project", "the project, for same_project"),
    ])
    .answers(SUGGESTIONS);

const MONITOR: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The unit's band, watch and token status",
    SchemaRef::of::<MonitorView>(),
)];
const TOKEN: &[ResponseSpec] = &[ResponseSpec::json(
    201,
    "The device token, shown this once",
    SchemaRef::of::<DeviceToken>(),
)];
const ACCEPTED: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Stored, and the unit's watch after them",
    SchemaRef::of::<ReadingsAccepted>(),
)];
const SERIES: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Readings (averaged past 2,000 points), band and alert periods",
    SchemaRef::of::<ReadingSeries>(),
)];

pub static PUT_MONITOR: RouteSpec = RouteSpec::new(
    "storage_monitor_update",
    Put,
    "/api/storage/locations/{id}/monitor",
    role(LabAdministrator),
)
.doc("Set a unit's allowed temperature band and grace period", TAG)
.takes(SchemaRef::of::<MonitorSettings>())
.answers(MONITOR);
pub static DEVICE_TOKEN: RouteSpec = RouteSpec::new(
    "storage_device_token",
    Post,
    "/api/storage/locations/{id}/device-token",
    role(LabAdministrator),
)
.doc(
    "Issue the unit's sensor a device token (the previous one stops working)",
    TAG,
)
.answers(TOKEN);
pub static POST_READINGS: RouteSpec = RouteSpec::new(
    "storage_readings_post",
    Post,
    "/api/storage/locations/{id}/readings",
    Access::Device,
)
.doc(
    "A sensor's temperature readings (1-500), with the unit's device token",
    TAG,
)
.takes(SchemaRef::of::<ReadingBatch>())
.answers(ACCEPTED);
pub static GET_READINGS: RouteSpec = RouteSpec::new(
    "storage_readings_get",
    Get,
    "/api/storage/locations/{id}/readings",
    role(ResearchScientist),
)
.doc(
    "A unit's temperature over a range (default the last 24 hours, at most 32 days)",
    TAG,
)
.query(&[
    QueryParam::date_time("from", "RFC 3339 (default: 24 hours before `to`)"),
    QueryParam::date_time("to", "RFC 3339 (default: now)"),
])
.answers(SERIES);
