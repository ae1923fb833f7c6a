//! Every route of the intake service and the least role it needs: technicians upload,
//! correct, submit and reject (they register samples); everyone in the lab reads and asks.

use crate::model::{
    Answer, CreatedDocument, Document, DocumentPage, DocumentText, DocumentView, IntakeSettings, Question,
    RejectDocument, SubmitDocument, SubmittedDocument,
};
use tracseq_core::auth::Role::*;
use tracseq_core::route::{Method::*, PAGING, ResponseSpec, RouteSpec, SchemaRef, role};

const TAG: &str = "intake";

const CREATED: &[ResponseSpec] = &[ResponseSpec::json(
    201,
    "The document, awaiting its upload, and the presigned PUT to upload it with",
    SchemaRef::of::<CreatedDocument>(),
)];
const PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "A page of documents, newest first",
    SchemaRef::of::<DocumentPage>(),
)];
const VIEW: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The document with its fields: value, confidence and citation",
    SchemaRef::of::<DocumentView>(),
)];
const ONE: &[ResponseSpec] = &[ResponseSpec::json(200, "The document", SchemaRef::of::<Document>())];
const SUBMITTED: &[ResponseSpec] = &[ResponseSpec::json(
    202,
    "The document, submitted, and the submission its samples went to (its Location)",
    SchemaRef::of::<SubmittedDocument>(),
)];
const ANSWER: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The passages that answer, with their page and offset",
    SchemaRef::of::<Answer>(),
)];

pub static CREATE: RouteSpec = RouteSpec::new("intake_create", Post, "/api/intake/documents", role(LabTechnician))
    .doc(
        "Register a submission document (TXT, PDF, DOCX, EML; at most 50 MB) and get its upload link",
        TAG,
    )
    .takes(SchemaRef::ruled::<crate::model::NewDocumentWire>())
    .answers(CREATED);
pub static LIST: RouteSpec = RouteSpec::new("intake_list", Get, "/api/intake/documents", role(ResearchScientist))
    .doc("The lab's documents, newest first", TAG)
    .query(PAGING)
    .answers(PAGE);
pub static GET: RouteSpec = RouteSpec::new("intake_get", Get, "/api/intake/documents/{id}", role(ResearchScientist))
    .doc(
        "A document: status, progress, confidence and every extracted field with its citation",
        TAG,
    )
    .answers(VIEW);
pub static TEXT: RouteSpec = RouteSpec::new(
    "intake_text",
    Get,
    "/api/intake/documents/{id}/text",
    role(ResearchScientist),
)
.doc(
    "The document's text as read, page by page: what its citations' page and offset point into",
    TAG,
)
.answers(&[ResponseSpec::json(
    200,
    "The pages' text",
    SchemaRef::of::<DocumentText>(),
)]);
pub static PATCH: RouteSpec = RouteSpec::new("intake_patch", Patch, "/api/intake/documents/{id}", role(LabTechnician))
    .doc(
        "Correct fields and sample rows at the document's version (audited)",
        TAG,
    )
    .takes(SchemaRef::ruled::<crate::model::CorrectionsWire>())
    .answers(VIEW);
pub static SUBMIT: RouteSpec = RouteSpec::new(
    "intake_submit",
    Post,
    "/api/intake/documents/{id}/submit",
    role(LabTechnician),
)
.doc(
    "Submit the reviewed samples through the submission saga (once per document)",
    TAG,
)
.takes(SchemaRef::of::<SubmitDocument>())
.answers(SUBMITTED);
pub static REJECT: RouteSpec = RouteSpec::new(
    "intake_reject",
    Post,
    "/api/intake/documents/{id}/reject",
    role(LabTechnician),
)
.doc("Reject a document with a reason", TAG)
.takes(SchemaRef::of::<RejectDocument>())
.answers(ONE);
pub static ASK: RouteSpec = RouteSpec::new(
    "intake_ask",
    Post,
    "/api/intake/documents/{id}/ask",
    role(ResearchScientist),
)
.doc(
    "Ask a question about one document: the passages that answer it, cited",
    TAG,
)
.takes(SchemaRef::of::<Question>())
.answers(ANSWER);

const SETTINGS: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The lab's intake settings (the key itself is never shown)",
    SchemaRef::of::<IntakeSettings>(),
)];

pub static GET_SETTINGS: RouteSpec = RouteSpec::new(
    "intake_get_settings",
    Get,
    "/api/intake/settings",
    role(LabAdministrator),
)
.doc("The lab's extraction provider, model and ready threshold", TAG)
.answers(SETTINGS);
pub static PUT_SETTINGS: RouteSpec = RouteSpec::new(
    "intake_put_settings",
    Put,
    "/api/intake/settings",
    role(LabAdministrator),
)
.doc(
    "Choose the lab's extraction provider (its key goes to SSM as a SecureString)",
    TAG,
)
.takes(SchemaRef::ruled::<crate::model::NewIntakeSettingsWire>())
.answers(SETTINGS);
