//! Every route of the auth service and the least role it needs: the one place the
//! template (checked by test) and the OpenAPI document agree with.

use crate::handlers::audit_log::AuditPage;
use crate::handlers::audit_log::JwksView;
use crate::handlers::labs::CreatedLab;
use crate::handlers::labs::LabPatch;
use crate::handlers::labs::NewLab;
use crate::handlers::me::MePatch;
use crate::handlers::me::PasswordChange;
use crate::handlers::passwords::Accepted;
use crate::handlers::passwords::ForgotRequest;
use crate::handlers::passwords::ResetRequest;
use crate::handlers::sessions::LoginRequest;
use crate::handlers::sessions::RefreshRequest;
use crate::handlers::sessions::SessionPage;
use crate::handlers::sessions::TokenResponse;
use crate::handlers::users::NewUser;
use crate::handlers::users::UserPage;
use crate::handlers::users::UserPatch;
use crate::model::{Lab, UserView};
use tracseq_core::auth::Role::*;
use tracseq_core::route::{
    Access, Method::*, NO_CONTENT, PAGING, QueryParam, ResponseSpec, RouteSpec, SchemaRef, role,
};

const PUBLIC: Access = Access::Public;
const OPERATOR: Access = Access::Operator;

const USER: &[ResponseSpec] = &[ResponseSpec::json(200, "The user", SchemaRef::of::<UserView>())];
const USER_CREATED: &[ResponseSpec] = &[ResponseSpec::json(201, "The created user", SchemaRef::of::<UserView>())];
const TOKENS: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Tokens and the user",
    SchemaRef::of::<TokenResponse>(),
)];
const LAB: &[ResponseSpec] = &[ResponseSpec::json(200, "The lab", SchemaRef::of::<Lab>())];
const LAB_CREATED: &[ResponseSpec] = &[ResponseSpec::json(
    201,
    "The lab and its administrator",
    SchemaRef::of::<CreatedLab>(),
)];
const ACCEPTED: &[ResponseSpec] = &[ResponseSpec::json(202, "Accepted", SchemaRef::of::<Accepted>())];
const JWKS_SET: &[ResponseSpec] = &[ResponseSpec::json(200, "JSON Web Key Set", SchemaRef::of::<JwksView>())];
const SESSION_PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Sessions, newest first",
    SchemaRef::of::<SessionPage>(),
)];
const USER_PAGE: &[ResponseSpec] = &[ResponseSpec::json(200, "A page of users", SchemaRef::of::<UserPage>())];
const AUDIT_PAGE: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "A page of audit records",
    SchemaRef::of::<AuditPage>(),
)];

pub static CREATE_LAB: RouteSpec = RouteSpec::new("labs_create", Post, "/api/labs", OPERATOR)
    .doc("Create a lab with its first administrator", "labs")
    .takes(SchemaRef::of::<NewLab>())
    .answers(LAB_CREATED);
pub static GET_LAB: RouteSpec = RouteSpec::new("labs_current", Get, "/api/labs/current", role(Guest))
    .doc("The caller's lab", "labs")
    .answers(LAB);
pub static PATCH_LAB: RouteSpec = RouteSpec::new("labs_update", Patch, "/api/labs/current", role(LabAdministrator))
    .doc("Change the lab's name and settings", "labs")
    .takes(SchemaRef::of::<LabPatch>())
    .answers(LAB);

pub static LOGIN: RouteSpec = RouteSpec::new("auth_login", Post, "/api/auth/login", PUBLIC)
    .doc("Log in with email and password", "auth")
    .takes(SchemaRef::of::<LoginRequest>())
    .answers(TOKENS);
pub static REFRESH: RouteSpec = RouteSpec::new("auth_refresh", Post, "/api/auth/refresh", PUBLIC)
    .doc("Rotate the refresh token", "auth")
    .takes(SchemaRef::of::<RefreshRequest>())
    .answers(TOKENS);
pub static LOGOUT: RouteSpec = RouteSpec::new("auth_logout", Post, "/api/auth/logout", role(Guest))
    .doc("Revoke the current session", "auth")
    .answers(NO_CONTENT);
pub static FORGOT: RouteSpec = RouteSpec::new("auth_password_forgot", Post, "/api/auth/password/forgot", PUBLIC)
    .doc("Request a password reset link", "auth")
    .takes(SchemaRef::of::<ForgotRequest>())
    .answers(ACCEPTED);
pub static RESET: RouteSpec = RouteSpec::new("auth_password_reset", Post, "/api/auth/password/reset", PUBLIC)
    .doc("Set a new password with a reset token", "auth")
    .takes(SchemaRef::of::<ResetRequest>())
    .answers(NO_CONTENT);
pub static JWKS: RouteSpec = RouteSpec::new("auth_jwks", Get, "/.well-known/jwks.json", PUBLIC)
    .doc("Public keys that sign access tokens", "auth")
    .answers(JWKS_SET);

pub static ME: RouteSpec = RouteSpec::new("me_get", Get, "/api/users/me", role(Guest))
    .doc("The caller", "me")
    .answers(USER);
pub static PATCH_ME: RouteSpec = RouteSpec::new("me_update", Patch, "/api/users/me", role(Guest))
    .doc("Change the caller's name, phone, department", "me")
    .takes(SchemaRef::of::<MePatch>())
    .answers(USER);
pub static CHANGE_PASSWORD: RouteSpec = RouteSpec::new("me_password", Post, "/api/users/me/password", role(Guest))
    .doc("Change the caller's password (revokes other sessions)", "me")
    .takes(SchemaRef::of::<PasswordChange>())
    .answers(NO_CONTENT);
pub static SESSIONS: RouteSpec = RouteSpec::new("me_sessions", Get, "/api/users/me/sessions", role(Guest))
    .doc("The caller's sessions", "me")
    .query(PAGING)
    .answers(SESSION_PAGE);
pub static DELETE_SESSION: RouteSpec =
    RouteSpec::new("me_session_delete", Delete, "/api/users/me/sessions/{id}", role(Guest))
        .doc("Revoke one of the caller's sessions", "me")
        .answers(NO_CONTENT);

pub static LIST_USERS: RouteSpec = RouteSpec::new("users_list", Get, "/api/users", role(PrincipalInvestigator))
    .doc("The lab's users", "users")
    .query(&[
        QueryParam::of::<tracseq_core::auth::Role>("role", "only this role"),
        QueryParam::of::<crate::model::UserStatus>("status", "only this status"),
        QueryParam::integer("limit", "page size, 1-1000", 1, 1000),
        QueryParam::text("cursor", "from next_cursor"),
    ])
    .answers(USER_PAGE);
pub static CREATE_USER: RouteSpec = RouteSpec::new("users_create", Post, "/api/users", role(LabAdministrator))
    .doc("Add a user to the lab", "users")
    .takes(SchemaRef::of::<NewUser>())
    .answers(USER_CREATED);
pub static GET_USER: RouteSpec = RouteSpec::new("users_get", Get, "/api/users/{id}", role(PrincipalInvestigator))
    .doc("A user of the lab", "users")
    .answers(USER);
pub static PATCH_USER: RouteSpec = RouteSpec::new("users_update", Patch, "/api/users/{id}", role(LabAdministrator))
    .doc("Change a user's profile or role", "users")
    .takes(SchemaRef::of::<UserPatch>())
    .answers(USER);
pub static DELETE_USER: RouteSpec = RouteSpec::new("users_delete", Delete, "/api/users/{id}", role(LabAdministrator))
    .doc("Remove a user", "users")
    .answers(NO_CONTENT);
pub static DISABLE_USER: RouteSpec =
    RouteSpec::new("users_disable", Post, "/api/users/{id}/disable", role(LabAdministrator))
        .doc("Disable a user (revokes their sessions)", "users")
        .answers(USER);
pub static ENABLE_USER: RouteSpec =
    RouteSpec::new("users_enable", Post, "/api/users/{id}/enable", role(LabAdministrator))
        .doc("Enable a disabled user", "users")
        .answers(USER);
pub static UNLOCK_USER: RouteSpec =
    RouteSpec::new("users_unlock", Post, "/api/users/{id}/unlock", role(LabAdministrator))
        .doc("Lift a lockout", "users")
        .answers(USER);

pub static AUDIT: RouteSpec = RouteSpec::new("audit_list", Get, "/api/audit", role(LabAdministrator))
    .doc("The lab's audit record, newest first", "audit")
    .query(&[
        QueryParam::text("actor", "user id"),
        QueryParam::text("action", "e.g. login_failed"),
        QueryParam::date_time("from", "RFC 3339, inclusive"),
        QueryParam::date_time("to", "RFC 3339, inclusive"),
        QueryParam::integer("limit", "page size", 1, 1000),
        QueryParam::text("cursor", "from next_cursor"),
    ])
    .answers(AUDIT_PAGE);

const EXPORT_STARTED: &[ResponseSpec] = &[
    ResponseSpec::json(
        201,
        "The record fitted in one page: written, with its link",
        SchemaRef::of::<tracseq_aws::export::ExportView>(),
    ),
    ResponseSpec::json(
        202,
        "A longer record: running; follow Location for progress and the link",
        SchemaRef::of::<tracseq_aws::export::ExportView>(),
    ),
];
const EXPORT: &[ResponseSpec] = &[ResponseSpec::json(
    200,
    "Progress, and the link once done",
    SchemaRef::of::<tracseq_aws::export::ExportView>(),
)];

pub static START_AUDIT_EXPORT: RouteSpec =
    RouteSpec::new("audit_export", Post, "/api/audit/exports", role(LabAdministrator))
        .doc(
            "Export the audit record with the list's filters as CSV or XLSX (a presigned link)",
            "audit",
        )
        .query(&[
            QueryParam::one_of("format", "csv (default) or xlsx", &["csv", "xlsx"]),
            QueryParam::text("actor", "user id"),
            QueryParam::text("action", "e.g. login_failed"),
            QueryParam::date_time("from", "RFC 3339, inclusive"),
            QueryParam::date_time("to", "RFC 3339, inclusive"),
        ])
        .answers(EXPORT_STARTED);
pub static GET_AUDIT_EXPORT: RouteSpec = RouteSpec::new(
    "audit_export_get",
    Get,
    "/api/audit/exports/{id}",
    role(LabAdministrator),
)
.doc("An audit export's progress, and its link once done", "audit")
.answers(EXPORT);
