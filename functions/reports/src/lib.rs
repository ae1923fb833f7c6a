//! The reports service: what a lab manager asks every week, answered from counters the
//! event stream keeps up to date, never from the samples themselves.
//!
//! [`consumer`] reads the table's stream (outbox inserts only), folds each event into
//! counter increments ([`domain::fold`]) and applies them with the event's id in one
//! transaction, so a redelivered event counts once; [`handlers`] read a report for a
//! range and grouping ([`domain::period`]) as JSON or CSV ([`domain::render`]).

pub mod consumer;
pub mod domain;
pub mod handlers;
pub mod model;
pub mod routes;
pub mod state;
pub mod store;

use state::ReportsState;
use tracseq_aws::FunctionDef;

tracseq_aws::service_state!(ReportsState);

use handlers as h;
use routes as r;

pub static FUNCTIONS: &[FunctionDef] = tracseq_aws::functions!(ReportsState;
    http: [
        protected r::GET => h::get,
    ],
    background: [
        "reports_consume" => |st, event| Box::pin(consumer::handle(st, event)),
    ]
);
