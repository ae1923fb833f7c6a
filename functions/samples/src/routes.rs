//! Every route of the samples service and the least role it needs (docs/domain.md's matrix:
//! samples guest / lab_technician / lab_administrator; templates guest /
//! principal_investigator / lab_administrator). Imports and uploads create samples, so
//! they need what creating a sample needs.

use crate::domain::label::{LabelFormat, LabelSize, PrinterDpi};
use crate::handlers::imports::ImportErrorPage;
use crate::handlers::imports::ImportView;
use crate::handlers::imports::NewUpload;
use crate::handlers::imports::Upload;
use crate::handlers::labels::{LabelBatch, PDF, ZPL};
use crate::handlers::samples::BatchOutcome;
use crate::handlers::samples::HistoryPage;
use crate::handlers::samples::NewBatch;
use crate::handlers::search::SamplePage;
use crate::handlers::templates::NewTemplate;
use crate::handlers::templates::TemplatePage;
use crate::handlers::templates::TemplateVersionPage;
use crate::model::{Import, Sample, Template};
use tracseq_core::auth::Role::*;
use tracseq_core::route::{Method::*, NO_CONTENT, PAGING, QueryParam, ResponseSpec, RouteSpec, SchemaRef, role};

const TEMPLATE: &[ResponseSpec] = &[ResponseSpec::json(200, "The template", SchemaRef::of::<Template>())];
const TEMPLATE_CREATED: &[ResponseSpec] = &[ResponseSpec::json(
    201,
    "The created draft",
    SchemaRef::of::<Template>(),
)];
const TEMPLATE_PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "A page of templates",
    SchemaRef::of::<TemplatePage>(),
)];
const VERSION_PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Published versions, oldest first",
    SchemaRef::of::<TemplateVersionPage>(),
)];
const BLANK: &[ResponseSpec] = &[ResponseSpec {
    status: 200,
    description: "An empty manifest (CSV or XLSX)",
    schema: None,
    media_type: "text/csv",
}];
const LABELS: &[ResponseSpec] = &[
    ResponseSpec {
        status: 200,
        description: "One label per page, the page the size of the stock (format=pdf)",
        schema: None,
        media_type: PDF,
    },
    ResponseSpec {
        status: 200,
        description: "ZPL II, one ^XA…^XZ format per label (format=zpl)",
        schema: None,
        media_type: ZPL,
    },
];
const LABEL_QUERY: &[QueryParam] = &[
    QueryParam::one_of("size", "label stock in mm (default 50x25)", LabelSize::NAMES),
    QueryParam::one_of("format", "pdf (default) or zpl", LabelFormat::NAMES),
    QueryParam::one_of("dpi", "Zebra resolution for zpl (default 203)", PrinterDpi::NAMES),
    QueryParam::integer("copies", "copies of the label, 1-20 (default 1)", 1, 20),
];
const SAMPLE: &[ResponseSpec] = &[ResponseSpec::json(200, "The sample", SchemaRef::of::<Sample>())];
const SAMPLE_CREATED: &[ResponseSpec] = &[ResponseSpec::json(
    201,
    "The registered sample",
    SchemaRef::of::<Sample>(),
)];
const SAMPLE_PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "A page of samples, newest first",
    SchemaRef::of::<SamplePage>(),
)];
const BATCH: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "One result per submitted sample",
    SchemaRef::of::<BatchOutcome>(),
)];
const HISTORY: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "History, oldest first",
    SchemaRef::of::<HistoryPage>(),
)];
const UPLOAD: &[ResponseSpec] = &[ResponseSpec::json(
    201,
    "Where to PUT the file",
    SchemaRef::of::<Upload>(),
)];
const IMPORT_ACCEPTED: &[ResponseSpec] = &[ResponseSpec::json(202, "The queued import", SchemaRef::of::<Import>())];
const IMPORT: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Progress and row errors",
    SchemaRef::of::<ImportView>(),
)];
const IMPORT_ERRORS: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "A page of row errors",
    SchemaRef::of::<ImportErrorPage>(),
)];

pub static LIST_TEMPLATES: RouteSpec = RouteSpec::new("templates_list", Get, "/api/templates", role(Guest))
    .doc("The lab's submission templates", "templates")
    .query(&[
        QueryParam::one_of(
            "status",
            "only templates in this status",
            &["draft", "published", "deprecated"],
        ),
        QueryParam::integer("limit", "page size, 1-1000", 1, 1000),
        QueryParam::text("cursor", "from next_cursor"),
    ])
    .answers(TEMPLATE_PAGE);
pub static CREATE_TEMPLATE: RouteSpec =
    RouteSpec::new("templates_create", Post, "/api/templates", role(PrincipalInvestigator))
        .doc("Define a template (a draft until published)", "templates")
        .takes(SchemaRef::of::<NewTemplate>())
        .answers(TEMPLATE_CREATED);
pub static GET_TEMPLATE: RouteSpec = RouteSpec::new("templates_get", Get, "/api/templates/{id}", role(Guest))
    .doc("A template with its working definition", "templates")
    .answers(TEMPLATE);
pub static PATCH_TEMPLATE: RouteSpec = RouteSpec::new(
    "templates_update",
    Patch,
    "/api/templates/{id}",
    role(PrincipalInvestigator),
)
.doc(
    "Edit a template (the next publish makes a new version) or deprecate it",
    "templates",
)
.takes(SchemaRef::ruled::<crate::handlers::templates::TemplatePatchWire>())
.answers(TEMPLATE);
pub static DELETE_TEMPLATE: RouteSpec = RouteSpec::new(
    "templates_delete",
    Delete,
    "/api/templates/{id}",
    role(LabAdministrator),
)
.doc("Delete a never-published draft", "templates")
.answers(NO_CONTENT);
pub static PUBLISH_TEMPLATE: RouteSpec = RouteSpec::new(
    "templates_publish",
    Post,
    "/api/templates/{id}/publish",
    role(PrincipalInvestigator),
)
.doc("Freeze the working definition as the next version", "templates")
.answers(TEMPLATE);
pub static TEMPLATE_VERSIONS: RouteSpec =
    RouteSpec::new("templates_versions", Get, "/api/templates/{id}/versions", role(Guest))
        .doc("Every published version", "templates")
        .query(PAGING)
        .answers(VERSION_PAGE);
pub static TEMPLATE_BLANK: RouteSpec = RouteSpec::new("templates_blank", Get, "/api/templates/{id}/blank", role(Guest))
    .doc("Download an empty manifest of the latest version", "templates")
    .query(&[QueryParam::one_of("format", "csv (default) or xlsx", &["csv", "xlsx"])])
    .answers(BLANK);

pub static LIST_SAMPLES: RouteSpec = RouteSpec::new("samples_list", Get, "/api/samples", role(Guest))
    .doc("Search samples, newest first", "samples")
    .query(&[
        QueryParam::of::<tracseq_lab::status::SampleStatus>("status", "only this status (deleted ones only this way)"),
        QueryParam::of::<tracseq_lab::kinds::SampleType>("sample_type", "only this type"),
        QueryParam::text("project", "exact project"),
        QueryParam::text("template_id", "only samples of this template"),
        QueryParam::text("barcode", "barcode prefix"),
        QueryParam::text("q", "text in the name or barcode"),
        QueryParam::text("created_from", "RFC 3339 or YYYY-MM-DD, inclusive"),
        QueryParam::text("created_to", "RFC 3339 or YYYY-MM-DD, inclusive"),
        QueryParam::integer("limit", "page size, 1-1000 (default 50)", 1, 1000),
        QueryParam::text("cursor", "from next_cursor"),
    ])
    .answers(SAMPLE_PAGE);
pub static CREATE_SAMPLE: RouteSpec = RouteSpec::new("samples_create", Post, "/api/samples", role(LabTechnician))
    .doc("Register a sample", "samples")
    .takes(SchemaRef::ruled::<crate::handlers::samples::NewSampleWire>())
    .answers(SAMPLE_CREATED);
pub static CREATE_BATCH: RouteSpec = RouteSpec::new("samples_batch", Post, "/api/samples/batch", role(LabTechnician))
    .doc("Register 1-1000 samples; each succeeds or fails on its own", "samples")
    .takes(SchemaRef::of::<NewBatch>())
    .answers(BATCH);
pub static GET_SAMPLE: RouteSpec = RouteSpec::new("samples_get", Get, "/api/samples/{id}", role(Guest))
    .doc("A sample", "samples")
    .answers(SAMPLE);
pub static SAMPLE_BY_BARCODE: RouteSpec = RouteSpec::new(
    "samples_by_barcode",
    Get,
    "/api/samples/by-barcode/{barcode}",
    role(Guest),
)
.doc("The sample with this barcode", "samples")
.answers(SAMPLE);
pub static PATCH_SAMPLE: RouteSpec = RouteSpec::new("samples_update", Patch, "/api/samples/{id}", role(LabTechnician))
    .doc("Change a sample's details (needs its version)", "samples")
    .takes(SchemaRef::ruled::<crate::handlers::samples::SamplePatchWire>())
    .answers(SAMPLE);
pub static DELETE_SAMPLE: RouteSpec =
    RouteSpec::new("samples_delete", Delete, "/api/samples/{id}", role(LabAdministrator))
        .doc("Soft-delete a sample (not while in sequencing)", "samples")
        .query(&[QueryParam::note("reason", "why, kept in the history", 500)])
        .answers(NO_CONTENT);
pub static TRANSITION_SAMPLE: RouteSpec = RouteSpec::new(
    "samples_transition",
    Post,
    "/api/samples/{id}/transitions",
    role(LabTechnician),
)
.doc("Move a sample through its status machine", "samples")
.takes(SchemaRef::ruled::<crate::handlers::samples::TransitionWire>())
.answers(SAMPLE);
pub static SAMPLE_HISTORY: RouteSpec = RouteSpec::new("samples_history", Get, "/api/samples/{id}/history", role(Guest))
    .doc("Every change of a sample", "samples")
    .query(PAGING)
    .answers(HISTORY);

pub static CREATE_UPLOAD: RouteSpec = RouteSpec::new("uploads_create", Post, "/api/uploads", role(LabTechnician))
    .doc("A presigned URL to upload a manifest (up to 10 MB)", "imports")
    .takes(SchemaRef::of::<NewUpload>())
    .answers(UPLOAD);
pub static CREATE_IMPORT: RouteSpec = RouteSpec::new("imports_create", Post, "/api/imports", role(LabTechnician))
    .doc("Import a manifest (asynchronous; all rows or none)", "imports")
    .takes(SchemaRef::ruled::<crate::handlers::imports::NewImportWire>())
    .answers(IMPORT_ACCEPTED);
pub static GET_IMPORT: RouteSpec = RouteSpec::new("imports_get", Get, "/api/imports/{id}", role(Guest))
    .doc("An import's status, counts and row errors", "imports")
    .answers(IMPORT);
pub static IMPORT_ERRORS_ROUTE: RouteSpec =
    RouteSpec::new("imports_errors", Get, "/api/imports/{id}/errors", role(Guest))
        .doc("Every row error of an import", "imports")
        .query(PAGING)
        .answers(IMPORT_ERRORS);
pub static SAMPLE_LABEL: RouteSpec =
    RouteSpec::new("samples_label", Get, "/api/samples/{id}/label", role(LabTechnician))
        .doc(
            "A printable label: Code 128 and Data Matrix of the barcode, as PDF or ZPL",
            "samples",
        )
        .query(LABEL_QUERY)
        .answers(LABELS);
pub static SAMPLE_LABELS: RouteSpec =
    RouteSpec::new("samples_labels", Post, "/api/samples/labels", role(LabTechnician))
        .doc(
            "Labels for 1-500 samples in one PDF or ZPL document, in the order given",
            "samples",
        )
        .takes(SchemaRef::of::<LabelBatch>())
        .answers(LABELS);

const EXPORT_STARTED: &[ResponseSpec] = &[
    ResponseSpec::json(
        201,
        "The list fitted in one page: written, with its link",
        SchemaRef::of::<tracseq_aws::export::ExportView>(),
    ),
    ResponseSpec::json(
        202,
        "A longer list: running; follow Location for progress and the link",
        SchemaRef::of::<tracseq_aws::export::ExportView>(),
    ),
];
const EXPORT: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Progress, and the link once done",
    SchemaRef::of::<tracseq_aws::export::ExportView>(),
)];

pub static START_EXPORT: RouteSpec = RouteSpec::new("samples_export", Post, "/api/samples/exports", role(DataAnalyst))
    .doc(
        "Export the sample list with the list's filters as CSV or XLSX (a file in storage, a presigned link)",
        "samples",
    )
    .query(&[
        QueryParam::one_of("format", "csv (default) or xlsx", &["csv", "xlsx"]),
        QueryParam::of::<tracseq_lab::status::SampleStatus>("status", "only this status (deleted ones only this way)"),
        QueryParam::of::<tracseq_lab::kinds::SampleType>("sample_type", "only this type"),
        QueryParam::text("project", "exact project"),
        QueryParam::text("template_id", "only samples of this template"),
        QueryParam::text("barcode", "barcode prefix"),
        QueryParam::text("q", "text in the name or barcode"),
        QueryParam::text("created_from", "RFC 3339 or YYYY-MM-DD, inclusive"),
        QueryParam::text("created_to", "RFC 3339 or YYYY-MM-DD, inclusive"),
    ])
    .answers(EXPORT_STARTED);
pub static GET_EXPORT: RouteSpec = RouteSpec::new(
    "samples_export_get",
    Get,
    "/api/samples/exports/{id}",
    role(DataAnalyst),
)
.doc("A sample export's progress, and its link once done", "samples")
.answers(EXPORT);
