//! Every route of the events service and the least role it needs. The event history
//! shows everything that happened in the lab (users included), so it is for principal
//! investigators and up.

use crate::history::EventPage;
use tracseq_core::auth::Role;
use tracseq_core::route::{Access, Method::*, ResponseSpec, RouteSpec, SchemaRef};

const EVENTS: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Events, newest first",
    SchemaRef::of::<EventPage>(),
)];

pub static LIST_EVENTS: RouteSpec = RouteSpec::new(
    "events_list",
    Get,
    "/api/events",
    Access::Role(Role::PrincipalInvestigator),
)
.doc("The lab's event history", "events")
.query(&[
    ("type", "an event type (sample.created) or entity.* (sample.*)"),
    ("subject", "only events about this subject, like samples/{id}"),
    ("from", "RFC 3339 or YYYY-MM-DD (default: a week before to)"),
    (
        "to",
        "RFC 3339 or YYYY-MM-DD (default: now); at most 92 days after from",
    ),
    ("limit", "page size, 1-1000"),
    ("cursor", "from next_cursor"),
])
.answers(EVENTS);
