//! The functions of the local stack, built in-process from the service catalogue with the
//! environment template.yaml gives each, and invoked with Lambda's failure semantics:
//! an error result, a timeout, or a crash (panic) of the invocation.

use crate::template::{FunctionSpec, Model};
use aws_config::SdkConfig;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tracseq_aws::{FunctionDef, Init};
use tracseq_core::config::Env;
use tracseq_core::function::{FunctionError, InvokeContext, SharedFunction};

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("function {0} not found")]
    NotFound(String),
    #[error(transparent)]
    Function(#[from] FunctionError),
    #[error("function timed out after {0} s")]
    Timeout(u64),
    #[error("function crashed: {0}")]
    Crashed(String),
}

impl InvokeError {
    /// The Lambda error payload for the Invoke API (`errorType`, `errorMessage`).
    pub fn payload(&self) -> Value {
        let (t, m) = match self {
            InvokeError::Function(e) => (e.error_type.clone(), e.error_message.clone()),
            InvokeError::Timeout(s) => (
                "Sandbox.Timedout".into(),
                format!("Task timed out after {s}.00 seconds"),
            ),
            InvokeError::Crashed(m) => ("Runtime.ExitError".into(), m.clone()),
            InvokeError::NotFound(n) => ("ResourceNotFoundException".into(), format!("Function not found: {n}")),
        };
        serde_json::json!({ "errorType": t, "errorMessage": m })
    }
}

pub struct Loaded {
    pub spec: FunctionSpec,
    pub function: SharedFunction,
}

#[derive(Default)]
pub struct Functions {
    by_name: HashMap<String, Arc<Loaded>>,
    logical_to_name: HashMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("template and code disagree:\n  {}", .0.join("\n  "))]
    Inconsistent(Vec<String>),
    #[error("building function {function} failed: {source}")]
    Build {
        function: String,
        source: tracseq_aws::InitError,
    },
}

/// Every way template.yaml and the code's catalogue can disagree, as readable lines.
pub fn check_consistency(model: &Model, catalog: &[FunctionDef]) -> Vec<String> {
    let mut problems = Vec::new();
    let defs: HashMap<&str, &FunctionDef> = catalog.iter().map(|d| (d.handler, d)).collect();
    for f in model.functions.values() {
        if !defs.contains_key(f.handler.as_str()) {
            problems.push(format!(
                "function {} names handler {:?}, which no service registers",
                f.logical_id, f.handler
            ));
        }
    }
    let mut routed: HashMap<&str, Vec<(String, String)>> = HashMap::new();
    for r in &model.routes {
        let Some(f) = model.functions.get(&r.function) else {
            problems.push(format!(
                "route {} {} targets {}, which is not a function",
                r.method, r.path, r.function
            ));
            continue;
        };
        match defs.get(f.handler.as_str()).map(|d| d.route) {
            Some(Some(spec)) if spec.method.as_str() == r.method && spec.path == r.path => {
                routed
                    .entry(spec.handler)
                    .or_default()
                    .push((r.method.clone(), r.path.clone()));
            }
            Some(Some(spec)) => problems.push(format!(
                "route {} {} (function {}) but handler {:?} declares {} {}",
                r.method,
                r.path,
                r.function,
                f.handler,
                spec.method.as_str(),
                spec.path
            )),
            Some(None) => problems.push(format!(
                "route {} {} targets handler {:?}, which declares no route",
                r.method, r.path, f.handler
            )),
            None => {}
        }
    }
    for d in catalog {
        if let Some(spec) = d.route {
            let in_template = model.functions.values().any(|f| f.handler == d.handler);
            if in_template && !routed.contains_key(d.handler) {
                problems.push(format!(
                    "handler {:?} declares {} {} but the template gives it no route",
                    d.handler,
                    spec.method.as_str(),
                    spec.path
                ));
            }
            if !in_template {
                problems.push(format!(
                    "handler {:?} ({} {}) has no function in the template",
                    d.handler,
                    spec.method.as_str(),
                    spec.path
                ));
            }
        }
    }
    problems
}

impl Functions {
    /// Build every template function. `extra_env` is added to each (region, endpoints).
    pub async fn load(
        model: &Model,
        catalog: &[FunctionDef],
        sdk: &SdkConfig,
        extra_env: &HashMap<String, String>,
    ) -> Result<Self, LoadError> {
        let problems = check_consistency(model, catalog);
        if !problems.is_empty() {
            return Err(LoadError::Inconsistent(problems));
        }
        Self::build(model, catalog, sdk, extra_env).await
    }

    /// Build the model's functions without the consistency check (`invoke` builds one).
    pub async fn build(
        model: &Model,
        catalog: &[FunctionDef],
        sdk: &SdkConfig,
        extra_env: &HashMap<String, String>,
    ) -> Result<Self, LoadError> {
        let mut out = Functions::default();
        for spec in model.functions.values() {
            let def = tracseq_aws::lambda::find(catalog, &spec.handler).map_err(|source| LoadError::Build {
                function: spec.logical_id.clone(),
                source,
            })?;
            let mut env: HashMap<String, String> = extra_env.clone();
            env.extend(spec.env.clone());
            env.insert("_HANDLER".into(), spec.handler.clone());
            env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), spec.name.clone());
            let init = Arc::new(Init::new(Env::from_map(env), sdk.clone()));
            let function = (def.build)(init).await.map_err(|source| LoadError::Build {
                function: spec.logical_id.clone(),
                source,
            })?;
            out.logical_to_name.insert(spec.logical_id.clone(), spec.name.clone());
            out.by_name.insert(
                spec.name.clone(),
                Arc::new(Loaded {
                    spec: spec.clone(),
                    function,
                }),
            );
        }
        Ok(out)
    }

    /// By physical name, ARN, or logical id.
    pub fn get(&self, name_or_arn: &str) -> Option<Arc<Loaded>> {
        let name = name_or_arn.rsplit(':').next().unwrap_or(name_or_arn);
        let name = self.logical_to_name.get(name).map(String::as_str).unwrap_or(name);
        self.by_name.get(name).cloned()
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Loaded>> {
        self.by_name.values()
    }

    pub async fn invoke(&self, name_or_arn: &str, event: Value) -> Result<Value, InvokeError> {
        let f = self
            .get(name_or_arn)
            .ok_or_else(|| InvokeError::NotFound(name_or_arn.to_owned()))?;
        invoke(&f, event).await
    }
}

/// One invocation on its own task: a panic is caught there, as Lambda would see a crash.
pub async fn invoke(f: &Loaded, event: Value) -> Result<Value, InvokeError> {
    let ctx = InvokeContext::new(ulid::Ulid::new().to_string(), f.spec.name.clone());
    let fut = f.function.call(event, ctx);
    let secs = f.spec.timeout_secs.max(1);
    let mut task = tokio::spawn(fut);
    match tokio::time::timeout(Duration::from_secs(secs), &mut task).await {
        Err(_) => {
            task.abort();
            Err(InvokeError::Timeout(secs))
        }
        Ok(Err(join)) => Err(InvokeError::Crashed(if join.is_panic() {
            "the function panicked".into()
        } else {
            "cancelled".into()
        })),
        Ok(Ok(result)) => Ok(result?),
    }
}
