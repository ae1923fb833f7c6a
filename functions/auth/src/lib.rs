//! The auth service: labs, users, sessions and tokens.
//!
//! Rules are docs/domain.md's (Tenancy, users, roles). The lab always comes from the token.
//! Another lab's user is a 404. Access is declared per route in [`routes`]. Passwords are
//! argon2id, hashed on the blocking pool with bounded concurrency. Refresh tokens rotate on
//! every use, and reuse revokes the session. Every security-relevant event is appended to
//! the audit record.

pub mod audit;
pub mod bootstrap;
pub mod cookies;
pub mod handlers;
pub mod model;
pub mod password;
pub mod routes;
pub mod state;
pub mod store;
pub mod tokens;

use serde_json::Value;
use state::AuthState;
use std::sync::Arc;
use tracseq_aws::{FunctionDef, Init, InitError};
use tracseq_core::function::{BoxFuture, FunctionError, SharedFunction};

tracseq_aws::service_state!(AuthState);

use handlers as h;
use routes as r;

pub static FUNCTIONS: &[FunctionDef] = tracseq_aws::functions!(AuthState;
    http: [
        protected r::CREATE_LAB => h::labs::create_lab,
        protected r::GET_LAB => h::labs::current_lab,
        protected r::PATCH_LAB => h::labs::update_lab,
        public r::LOGIN => h::sessions::login,
        public r::REFRESH => h::sessions::refresh,
        protected r::LOGOUT => h::sessions::logout,
        public r::FORGOT => h::passwords::forgot,
        public r::RESET => h::passwords::reset,
        public r::JWKS => h::audit_log::jwks,
        protected r::ME => h::me::get_me,
        protected r::PATCH_ME => h::me::update_me,
        protected r::CHANGE_PASSWORD => h::me::change_password,
        protected r::SESSIONS => h::sessions::list_sessions,
        protected r::DELETE_SESSION => h::sessions::delete_session,
        protected r::LIST_USERS => h::users::list_users,
        protected r::CREATE_USER => h::users::create_user,
        protected r::GET_USER => h::users::get_user,
        protected r::PATCH_USER => h::users::update_user,
        protected r::DELETE_USER => h::users::delete_user,
        protected r::DISABLE_USER => h::users::disable_user,
        protected r::ENABLE_USER => h::users::enable_user,
        protected r::UNLOCK_USER => h::users::unlock_user,
        protected r::AUDIT => h::audit_log::list_audit,
        protected r::START_AUDIT_EXPORT => h::audit_export::start_export,
        protected r::GET_AUDIT_EXPORT => h::audit_export::get_export,
    ],
    background: [
        "auth_bootstrap_operator" => |st, event| bootstrap_operator(st, event),
        "audit_export_worker" => |st, event| Box::pin(h::audit_export::work(st, event)),
    ],
    other: [
        FunctionDef {
            handler: "auth_rotate_keys",
            route: None,
            build: |i| Box::pin(rotate_keys(i)),
        },
    ]
);

/// The one-off creation of the deployment's first platform operator (see [`bootstrap`]).
fn bootstrap_operator(st: Arc<AuthState>, event: Value) -> BoxFuture<Result<Value, FunctionError>> {
    Box::pin(async move {
        let req: bootstrap::FirstOperator = serde_json::from_value(event).map_err(FunctionError::invalid_event)?;
        let created = bootstrap::run(&st.table, &st.hasher, &req).await?;
        tracing::info!(lab = %created.lab_id, user = %created.user_id, "first platform operator created");
        serde_json::to_value(created).map_err(FunctionError::transient)
    })
}

/// The scheduled key rotation: a new signing key, active after `KEY_ACTIVATION_DELAY_SECS`
/// (so every verifier has it before any token uses it); the previous key stays published.
/// With `{"if_missing": true}` (run after each deploy and by the local runner at start) it
/// only creates the first key when there is none. The only function that writes keys.
async fn rotate_keys(init: Arc<Init>) -> Result<SharedFunction, InitError> {
    let config = tracseq_aws::auth::TokenConfig::from_init(&init)?;
    let ssm = aws_sdk_ssm::Client::new(&init.aws);
    let delay: i64 = init.env.parse_or("KEY_ACTIVATION_DELAY_SECS", 900)?;
    let f = move |event: serde_json::Value, _ctx: tracseq_core::function::InvokeContext| {
        let (ssm, params) = (ssm.clone(), config.keys.clone());
        async move {
            use tracseq_aws::jwt_keys;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let if_missing = match event.get("if_missing") {
                None => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(FunctionError::invalid_event(format!(
                        "if_missing must be true or false, not {other}"
                    )));
                }
            };
            if if_missing {
                let keys = jwt_keys::ensure(&ssm, &params, now)
                    .await
                    .map_err(FunctionError::transient)?;
                let kid = jwt_keys::signer(&keys, now).map(|k| k.kid.clone());
                return Ok(serde_json::json!({ "kid": kid, "keys": keys.len() }));
            }
            let kid = jwt_keys::rotate(&ssm, &params, now, delay)
                .await
                .map_err(FunctionError::transient)?;
            tracing::info!(%kid, "signing key rotated");
            Ok(serde_json::json!({ "kid": kid, "activates_at": now + delay }))
        }
    };
    Ok(Arc::new(f))
}
