//! The storage service: the freezer hierarchy, box maps, placement rules, capacity and
//! chain of custody.
//!
//! Rules are docs/domain.md's (Storage), implemented as pure functions in [`domain`] and tested
//! there. Every custody change is one transaction (a 96-tube rack: checkpointed chunks,
//! undone on failure) holding the position guards, the version-checked sample, its
//! custody record and history line, the occupancy of every location above, and the
//! domain event. Samples are the samples service's records: storage reads and writes the
//! same items, through the same types.

pub mod domain;
pub mod handlers;
pub mod model;
pub mod routes;
pub mod saga;
pub mod state;
pub mod store;

use serde_json::Value;
use state::StorageState;
use std::sync::Arc;
use tracseq_aws::FunctionDef;
use tracseq_core::function::{BoxFuture, FunctionError};

tracseq_aws::service_state!(StorageState);

use handlers as h;
use routes as r;

pub static FUNCTIONS: &[FunctionDef] = tracseq_aws::functions!(StorageState;
    http: [
        protected r::LIST_LOCATIONS => h::locations::list_locations,
        protected r::CREATE_LOCATION => h::locations::create_location,
        protected r::GET_LOCATION => h::locations::get_location,
        protected r::PATCH_LOCATION => h::locations::update_location,
        protected r::DELETE_LOCATION => h::locations::delete_location,
        protected r::LOCATION_CHILDREN => h::locations::list_children,
        protected r::BOX_MAP => h::locations::box_map,
        protected r::PLACE => h::custody::place_samples,
        protected r::MOVE => h::custody::move_samples,
        protected r::RETRIEVE => h::custody::retrieve_samples,
        protected r::RETURN => h::custody::return_samples,
        protected r::DISPOSE => h::custody::dispose_samples,
        protected r::SAMPLE_CUSTODY => h::lookups::sample_custody,
        protected r::SCAN => h::lookups::scan,
        protected r::CAPACITY_ROUTE => h::capacity::get_capacity,
        protected r::SUGGEST => h::capacity::suggest_positions,
        protected r::PUT_MONITOR => h::monitor::put_monitor,
        protected r::DEVICE_TOKEN => h::monitor::issue_device_token,
        public r::POST_READINGS => h::monitor::post_readings,
        protected r::GET_READINGS => h::monitor::get_readings,
    ],
    background: [
        "storage_recover_operations" => |st, event| recover_operations(st, event),
        "storage_saga_allocate" => |st, event| Box::pin(saga::allocate(st, event)),
        "storage_saga_release" => |st, event| Box::pin(saga::release(st, event)),
    ]
);

/// The scheduled recovery of custody operations abandoned between chunks.
fn recover_operations(st: Arc<StorageState>, _event: Value) -> BoxFuture<Result<Value, FunctionError>> {
    Box::pin(async move {
        if let Some(paused) = st.restore.skip_while_restoring("custody recovery").await? {
            return Ok(paused);
        }
        let done = store::recovery::recover(&st)
            .await
            .map_err(|p| FunctionError::transient(p.detail))?;
        serde_json::to_value(done).map_err(FunctionError::transient)
    })
}
