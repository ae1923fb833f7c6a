//! Every route of the operations service and who may call it.

use crate::export::LabExport;
use crate::handlers::BackupPage;
use tracseq_core::auth::Role::*;
use tracseq_core::route::{Access, Method::*, QueryParam, ResponseSpec, RouteSpec, SchemaRef, role};

const BACKUPS: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Finished backups, newest first",
    SchemaRef::of::<BackupPage>(),
)];
const EXPORT_ACCEPTED: &[ResponseSpec] = &[ResponseSpec::json(
    202,
    "The export, queued; poll its Location",
    SchemaRef::of::<LabExport>(),
)];
const EXPORT: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "The export, with a download link once completed",
    SchemaRef::of::<crate::handlers::ExportView>(),
)];

pub static LIST_BACKUPS: RouteSpec = RouteSpec::new("ops_list_backups", Get, "/api/admin/backups", Access::Operator)
    .doc("List the table backups (platform operator)", "operations")
    .query(&[
        QueryParam::integer("limit", "Page size, 1 to 1000 (default 50)", 1, 1000),
        QueryParam::text("cursor", "The next_cursor of the previous page"),
    ])
    .answers(BACKUPS);
pub static CREATE_EXPORT: RouteSpec =
    RouteSpec::new("ops_create_export", Post, "/api/lab/exports", role(LabAdministrator))
        .doc(
            "Export all of the caller's lab as an archive (asynchronous)",
            "operations",
        )
        .answers(EXPORT_ACCEPTED);
pub static GET_EXPORT: RouteSpec =
    RouteSpec::new("ops_get_export", Get, "/api/lab/exports/{id}", role(LabAdministrator))
        .doc("An export's status and download link", "operations")
        .answers(EXPORT);
