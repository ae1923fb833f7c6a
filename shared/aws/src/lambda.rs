//! Function catalogue and the Lambda entry point.
//!
//! Each service crate lists its functions as [`FunctionDef`]s. In AWS, the crate's one
//! `bootstrap` binary calls [`main`], which builds the function named by `_HANDLER` (the
//! template's `Handler` property) once per container. The local runner builds the same
//! definitions in-process with each function's environment from template.yaml.

use crate::clients::Clients;
use aws_config::SdkConfig;
use std::sync::Arc;
use tracseq_core::config::{ConfigError, Env};
use tracseq_core::function::{BoxFuture, SharedFunction};
use tracseq_core::http::RouteError;
use tracseq_core::route::RouteSpec;

/// What a function is built from: its environment and shared SDK clients.
#[derive(Debug, Clone)]
pub struct Init {
    pub env: Env,
    pub aws: SdkConfig,
    pub clients: Clients,
}

impl Init {
    pub fn new(env: Env, aws: SdkConfig) -> Self {
        let clients = Clients::new(&aws);
        Self { env, aws, clients }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error("no function is registered for handler {0:?}")]
    UnknownHandler(String),
    #[error("initialisation failed: {0}")]
    Other(String),
}

/// What the Lambda runtime accepts as a fatal init error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub type Build = fn(Arc<Init>) -> BoxFuture<Result<SharedFunction, InitError>>;

/// One function of a service.
#[derive(Clone, Copy)]
pub struct FunctionDef {
    /// The template's `Handler` property.
    pub handler: &'static str,
    /// The HTTP route, for functions behind the API.
    pub route: Option<&'static RouteSpec>,
    pub build: Build,
}

impl std::fmt::Debug for FunctionDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionDef")
            .field("handler", &self.handler)
            .field("route", &self.route.map(|r| r.path))
            .finish()
    }
}

pub fn find<'a>(defs: &'a [FunctionDef], handler: &str) -> Result<&'a FunctionDef, InitError> {
    defs.iter()
        .find(|d| d.handler == handler)
        .ok_or_else(|| InitError::UnknownHandler(handler.to_owned()))
}

/// The `bootstrap` of a service crate.
pub async fn main(defs: &[FunctionDef]) -> Result<(), BoxError> {
    tracseq_core::telemetry::init("info");
    tracseq_core::telemetry::enable_emf();
    let env = Env::from_process();
    let handler = env.require("_HANDLER")?.to_owned();
    let def = find(defs, &handler)?;
    let aws = crate::clients::from_env().await;
    let function = (def.build)(Arc::new(Init::new(env, aws))).await?;
    tracseq_core::bootstrap::run(function).await
}

/// A service's shared state: built once per container, and the authenticator of its
/// protected routes. [`service_function!`] turns a route and a handler into a
/// [`FunctionDef`] over it.
pub trait ServiceState: Send + Sync + Sized + 'static {
    fn build(init: Arc<Init>) -> BoxFuture<Result<Arc<Self>, InitError>>;
    fn authenticator(&self) -> Arc<crate::auth::Auth>;
}

/// `service_state!(State)`: [`ServiceState`] for a state with `async fn build(&Init)` and
/// an `auth: Arc<Auth>` field, as every service's is.
#[macro_export]
macro_rules! service_state {
    ($state:ty) => {
        impl $crate::lambda::ServiceState for $state {
            fn build(
                init: ::std::sync::Arc<$crate::Init>,
            ) -> ::tracseq_core::function::BoxFuture<Result<::std::sync::Arc<Self>, $crate::InitError>> {
                Box::pin(async move { <$state>::build(&init).await })
            }
            fn authenticator(&self) -> ::std::sync::Arc<$crate::auth::Auth> {
                self.auth.clone()
            }
        }
    };
}

/// What a function that is not behind the API does with one event, given its state.
pub type Job<S> =
    fn(Arc<S>, serde_json::Value) -> BoxFuture<Result<serde_json::Value, tracseq_core::function::FunctionError>>;

/// Build a queue, stream, schedule or invoke-only function over `S`: the state once per
/// container, then `job` per event.
pub async fn background<S: ServiceState>(init: Arc<Init>, job: Job<S>) -> Result<SharedFunction, InitError> {
    let state = S::build(init).await?;
    Ok(Arc::new(
        move |event: serde_json::Value, _ctx: tracseq_core::function::InvokeContext| job(state.clone(), event),
    ))
}

/// Build a public route's function over `S`.
pub async fn public<S, H, Fut>(
    init: Arc<Init>,
    spec: &'static RouteSpec,
    handler: H,
) -> Result<SharedFunction, InitError>
where
    S: ServiceState,
    H: Fn(Arc<S>, tracseq_core::http::Request) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<tracseq_core::http::Response, tracseq_core::Problem>> + Send + 'static,
{
    Ok(tracseq_core::http::public_route(spec, S::build(init).await?, handler)?)
}

/// Build a protected route's function over `S` (token, role and tenant checked first).
pub async fn protected<S, H, Fut>(
    init: Arc<Init>,
    spec: &'static RouteSpec,
    handler: H,
) -> Result<SharedFunction, InitError>
where
    S: ServiceState,
    H: Fn(Arc<S>, tracseq_core::http::Request, tracseq_core::auth::Principal) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<tracseq_core::http::Response, tracseq_core::Problem>> + Send + 'static,
{
    let state = S::build(init).await?;
    let auth = state.authenticator();
    Ok(tracseq_core::http::protected_route(spec, state, auth, handler)?)
}

/// `service_function!(State; protected ROUTE => handler)` or `(State; public ROUTE => handler)`.
#[macro_export]
macro_rules! service_function {
    ($state:ty; public $route:path => $handler:path) => {
        $crate::FunctionDef {
            handler: $route.handler,
            route: Some(&$route),
            build: |i| Box::pin($crate::lambda::public::<$state, _, _>(i, &$route, $handler)),
        }
    };
    ($state:ty; protected $route:path => $handler:path) => {
        $crate::FunctionDef {
            handler: $route.handler,
            route: Some(&$route),
            build: |i| Box::pin($crate::lambda::protected::<$state, _, _>(i, &$route, $handler)),
        }
    };
}

/// A queue, stream, schedule or invoke-only function over the service state:
/// `background_function!(State; "handler" => |st, event| body)`, `body` a future of the
/// answer.
#[macro_export]
macro_rules! background_function {
    ($state:ty; $name:literal => |$st:ident, $event:ident| $body:expr) => {
        $crate::FunctionDef {
            handler: $name,
            route: None,
            build: |i| {
                Box::pin($crate::lambda::background::<$state>(i, |$st, $event| {
                    Box::pin(async move { $body.await })
                }))
            },
        }
    };
}

/// A service's function table, the one way every service writes it:
///
/// ```text
/// pub static FUNCTIONS: &[FunctionDef] = tracseq_aws::functions!(State;
///     http: [protected routes::LIST => handlers::list, public routes::LOGIN => handlers::login],
///     background: ["worker" => |st, event| worker::handle(st, event)],
///     other: [FunctionDef { .. }]);
/// ```
#[macro_export]
macro_rules! functions {
    ($state:ty;
        http: [$($kind:ident $route:path => $handler:path),* $(,)?]
        $(, background: [$($name:literal => |$st:ident, $event:ident| $body:expr),* $(,)?])?
        $(, other: [$($other:expr),* $(,)?])? $(,)?
    ) => {
        &[
            $($crate::service_function!($state; $kind $route => $handler),)*
            $($($crate::background_function!($state; $name => |$st, $event| $body),)*)?
            $($($other,)*)?
        ]
    };
}
