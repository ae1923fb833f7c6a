//! The submissions service: a lab's samples submitted as one saga — registered in chunks,
//! validated, stored by the zone rules — run by the `sample-submission` state machine
//! (statemachines/, docs/sagas.md). This crate owns the submission record and its API;
//! each step's work is done by the service that owns it (samples, storage), invoked by
//! Step Functions, never by this crate.

pub mod domain;
pub mod handlers;
pub mod model;
pub mod routes;
pub mod saga;
pub mod state;
pub mod store;

use state::SubmissionsState;
use tracseq_aws::FunctionDef;

tracseq_aws::service_state!(SubmissionsState);

use handlers as h;
use routes as r;

pub static FUNCTIONS: &[FunctionDef] = tracseq_aws::functions!(SubmissionsState;
    http: [
        protected r::CREATE => h::create,
        protected r::LIST => h::list,
        protected r::GET => h::get,
        protected r::CANCEL => h::cancel,
    ],
    background: [
        "submissions_saga_step" => |st, event| Box::pin(saga::step(st, event)),
        "submissions_saga_complete" => |st, event| Box::pin(saga::complete(st, event)),
        "submissions_saga_compensated" => |st, event| Box::pin(saga::compensated(st, event)),
        "submissions_saga_failed" => |st, event| Box::pin(saga::failed(st, event)),
        "submissions_from_document" => |st, event| Box::pin(handlers::from_document(st, event)),
    ]
);
