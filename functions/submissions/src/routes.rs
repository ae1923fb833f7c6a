//! Every route of the submissions service and the least role it needs: technicians
//! submit and cancel (they register samples), everyone in the lab reads.

use crate::model::{NewSubmission, Submission, SubmissionPage};
use tracseq_core::auth::Role::*;
use tracseq_core::route::{Method::*, PAGING, ResponseSpec, RouteSpec, SchemaRef, role};

const TAG: &str = "submissions";

const ACCEPTED: &[ResponseSpec] = &[ResponseSpec::json(
    202,
    "The submission, running; its Location is where to follow it",
    SchemaRef::of::<Submission>(),
)];
const ONE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The submission with its steps",
    SchemaRef::of::<Submission>(),
)];
const PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "A page of submissions, newest first",
    SchemaRef::of::<SubmissionPage>(),
)];
const CANCELLING: &[ResponseSpec] = &[ResponseSpec::json(
    202,
    "Cancel requested: the saga stops before its next step and compensates",
    SchemaRef::of::<Submission>(),
)];

pub static CREATE: RouteSpec = RouteSpec::new("submissions_create", Post, "/api/submissions", role(LabTechnician))
    .doc(
        "Submit samples: register, validate and store them as one saga (Idempotency-Key honoured)",
        TAG,
    )
    .takes(SchemaRef::of::<NewSubmission>())
    .answers(ACCEPTED);
pub static LIST: RouteSpec = RouteSpec::new("submissions_list", Get, "/api/submissions", role(ResearchScientist))
    .doc("The lab's submissions, newest first", TAG)
    .query(PAGING)
    .answers(PAGE);
pub static GET: RouteSpec = RouteSpec::new("submissions_get", Get, "/api/submissions/{id}", role(ResearchScientist))
    .doc("A submission: status, steps, samples and positions", TAG)
    .answers(ONE);
pub static CANCEL: RouteSpec = RouteSpec::new(
    "submissions_cancel",
    Post,
    "/api/submissions/{id}/cancel",
    role(LabTechnician),
)
.doc("Cancel a running submission", TAG)
.answers(CANCELLING);
