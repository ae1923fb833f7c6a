//! Reading template.yaml: CloudFormation YAML (with `!Ref`-style tags) into JSON, nested
//! applications followed recursively, intrinsic functions resolved against the local
//! stack's physical names, and the parts the runner acts on extracted into a [`Model`].

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub const ACCOUNT: &str = "123456789012";

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid YAML: {source}")]
    Yaml { path: PathBuf, source: serde_yaml::Error },
    #[error("{0}")]
    Invalid(String),
}

/// YAML with CloudFormation short-form tags → JSON with long-form intrinsics.
pub fn yaml_to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => serde_yaml::to_string(&other).unwrap_or_default().trim().to_owned(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = yaml_to_json(t.value);
            match name {
                "Ref" => json!({ "Ref": inner }),
                "GetAtt" => match inner {
                    Value::String(s) => {
                        let (res, attr) = s.split_once('.').unwrap_or((&s, ""));
                        json!({ "Fn::GetAtt": [res, attr] })
                    }
                    other => json!({ "Fn::GetAtt": other }),
                },
                other => json!({ format!("Fn::{other}"): inner }),
            }
        }
    }
}

/// One template file and its nested applications.
#[derive(Debug, Clone)]
pub struct Stack {
    /// Logical id path from the root (`""` for the root, `"SystemService"` for a child).
    pub name: String,
    pub dir: PathBuf,
    pub doc: Value,
    pub children: Vec<(String, Stack)>,
}

impl Stack {
    pub fn load(path: &Path, name: &str) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.to_owned(),
            source,
        })?;
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|source| TemplateError::Yaml {
            path: path.to_owned(),
            source,
        })?;
        let doc = yaml_to_json(yaml);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut children = Vec::new();
        for (id, res) in resources(&doc) {
            if res["Type"] == "AWS::Serverless::Application" {
                let loc = res["Properties"]["Location"]
                    .as_str()
                    .ok_or_else(|| TemplateError::Invalid(format!("{id}: only local Location paths are supported")))?;
                children.push((id.clone(), Stack::load(&dir.join(loc), id)?));
            }
        }
        Ok(Self {
            name: name.to_owned(),
            dir,
            doc,
            children,
        })
    }

    pub fn resources(&self) -> impl Iterator<Item = (&String, &Value)> {
        resources(&self.doc)
    }
}

fn resources(doc: &Value) -> impl Iterator<Item = (&String, &Value)> {
    doc["Resources"].as_object().into_iter().flat_map(|m| m.iter())
}

/// Physical names and attributes of resources, for resolving intrinsics.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub params: HashMap<String, Value>,
    /// logical id → value of `Ref`.
    pub refs: HashMap<String, Value>,
    /// (logical id, attribute) → value of `GetAtt`.
    pub attrs: HashMap<(String, String), Value>,
    pub region: String,
    pub stack_name: String,
    /// Nested applications already collected (their outputs are in `attrs`).
    pub collected: std::collections::HashSet<String>,
}

impl Scope {
    fn lookup_ref(&self, name: &str) -> Option<Value> {
        match name {
            "AWS::Region" => Some(json!(self.region)),
            "AWS::AccountId" => Some(json!(ACCOUNT)),
            "AWS::Partition" => Some(json!("aws")),
            "AWS::URLSuffix" => Some(json!("amazonaws.com")),
            "AWS::StackName" => Some(json!(self.stack_name)),
            "AWS::NoValue" => None,
            _ => self.params.get(name).or_else(|| self.refs.get(name)).cloned(),
        }
    }

    /// Resolve intrinsics in `v`. Unknown references stay as `null` rather than failing:
    /// the runner only needs the values it acts on.
    pub fn resolve(&self, v: &Value) -> Value {
        match v {
            Value::Array(items) => Value::Array(items.iter().map(|i| self.resolve(i)).collect()),
            Value::Object(m) if m.len() == 1 => {
                let (k, inner) = m
                    .iter()
                    .next()
                    .map(|(k, v)| (k.as_str(), v))
                    .unwrap_or(("", &Value::Null));
                match k {
                    "Ref" => inner.as_str().and_then(|n| self.lookup_ref(n)).unwrap_or(Value::Null),
                    "Fn::GetAtt" => {
                        let res = inner[0].as_str().unwrap_or_default();
                        let attr = inner[1].as_str().unwrap_or_default();
                        self.attrs
                            .get(&(res.to_owned(), attr.to_owned()))
                            .cloned()
                            .unwrap_or(Value::Null)
                    }
                    "Fn::Sub" => self.sub(inner),
                    "Fn::Join" => {
                        let sep = inner[0].as_str().unwrap_or_default();
                        let parts = self.resolve(&inner[1]);
                        // A comma-delimited parameter's value arrives as one string.
                        let strs: Vec<String> = match &parts {
                            Value::String(one) => vec![one.clone()],
                            _ => parts.as_array().into_iter().flatten().map(scalar_string).collect(),
                        };
                        Value::String(strs.join(sep))
                    }
                    "Fn::Select" => {
                        let idx = inner[0]
                            .as_u64()
                            .or_else(|| inner[0].as_str().and_then(|s| s.parse().ok()))
                            .unwrap_or(0);
                        self.resolve(&inner[1])
                            .get(idx as usize)
                            .cloned()
                            .unwrap_or(Value::Null)
                    }
                    _ => Value::Object(m.iter().map(|(k, v)| (k.clone(), self.resolve(v))).collect()),
                }
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .collect::<Map<_, _>>(),
            ),
            other => other.clone(),
        }
    }

    fn sub(&self, inner: &Value) -> Value {
        let (text, vars) = match inner {
            Value::String(s) => (s.as_str(), Map::new()),
            Value::Array(a) => (
                a.first().and_then(Value::as_str).unwrap_or_default(),
                a.get(1).and_then(Value::as_object).cloned().unwrap_or_default(),
            ),
            _ => ("", Map::new()),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            let value = if let Some(v) = vars.get(name) {
                self.resolve(v)
            } else if let Some((res, attr)) = name.split_once('.').filter(|_| !name.starts_with("AWS::")) {
                self.attrs
                    .get(&(res.to_owned(), attr.to_owned()))
                    .cloned()
                    .unwrap_or(Value::Null)
            } else {
                self.lookup_ref(name).unwrap_or(Value::Null)
            };
            out.push_str(&scalar_string(&value));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Value::String(out)
    }
}

pub fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(scalar_string).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// A Lambda function as the runner runs it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The physical name, used by the Invoke API and in ARNs.
    pub name: String,
    pub handler: String,
    pub env: HashMap<String, String>,
    pub timeout_secs: u64,
    pub sqs: Vec<SqsSource>,
    pub streams: Vec<StreamSource>,
    pub schedules: Vec<ScheduleSource>,
}

#[derive(Debug, Clone)]
pub struct SqsSource {
    pub queue_arn: String,
    pub batch_size: u32,
    pub report_failures: bool,
}

#[derive(Debug, Clone)]
pub struct StreamSource {
    /// The table's physical name, from the stream ARN (which may arrive as a parameter
    /// of a nested stack).
    pub table: String,
    pub batch_size: u32,
    /// Attempts after the first failure before the batch goes to `on_failure`; `None`
    /// (Lambda's -1) retries until it succeeds.
    pub max_retries: Option<u32>,
    /// The queue ARN that records exhausted batches (`DestinationConfig.OnFailure`).
    pub on_failure: Option<String>,
    /// `FilterCriteria.Filters[].Pattern`, parsed: a record is delivered if any matches.
    pub filters: Vec<Value>,
}

/// Whether `record` matches an event filter `pattern` (Lambda's syntax, exact-value lists
/// only: `{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["event"]}}}}`).
pub fn filter_matches(pattern: &Value, record: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields.iter().all(|(k, p)| filter_matches(p, &record[k])),
        Value::Array(allowed) => allowed.iter().any(|a| a == record),
        other => other == record,
    }
}

#[derive(Debug, Clone)]
pub struct ScheduleSource {
    pub expression: String,
    pub input: Option<Value>,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteBinding {
    pub method: String,
    pub path: String,
    pub function: String,
}

/// A resource the runner creates in moto.
#[derive(Debug, Clone)]
pub struct ResourceSpec {
    pub logical_id: String,
    pub kind: String,
    pub physical: String,
    pub properties: Value,
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub functions: BTreeMap<String, FunctionSpec>,
    pub routes: Vec<RouteBinding>,
    pub resources: Vec<ResourceSpec>,
    pub cors: Option<Cors>,
    /// (rate per second, burst) from the HttpApi's DefaultRouteSettings.
    pub throttle: Option<(f64, f64)>,
}

/// Naming of physical resources in the local stack.
#[derive(Debug, Clone)]
pub struct Naming {
    pub prefix: String,
    pub region: String,
    /// Base URL of SQS queue URLs (moto's address).
    pub sqs_base: String,
}

impl Naming {
    fn physical(&self, logical: &str, kind: &str) -> String {
        let name = format!("{}-{}", self.prefix, logical);
        if kind == "AWS::S3::Bucket" {
            name.to_ascii_lowercase()
        } else {
            name
        }
    }
}

/// Build the model from a root stack (and its children), in dependency order: resources
/// get names first, then parameters flow to children, then everything else resolves.
pub fn model(root: &Stack, naming: &Naming, overrides: &HashMap<String, String>) -> Result<Model, TemplateError> {
    let mut model = Model::default();
    let mut params = default_params(&root.doc);
    for (k, v) in overrides {
        if root.doc["Parameters"].get(k).is_some() {
            params.insert(k.clone(), json!(v));
        }
    }
    collect(root, naming, params, &mut model)?;
    Ok(model)
}

/// The siblings whose outputs `params` (a nested application's `Parameters`) reads.
fn output_sources(params: &Value, out: &mut Vec<String>) {
    match params {
        Value::Object(m) => {
            if let Some(Value::Array(a)) = m.get("Fn::GetAtt")
                && a.get(1)
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.starts_with("Outputs."))
                && let Some(id) = a.first().and_then(Value::as_str)
            {
                out.push(id.to_owned());
            }
            m.values().for_each(|v| output_sources(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| output_sources(v, out)),
        _ => {}
    }
}

fn default_params(doc: &Value) -> HashMap<String, Value> {
    doc["Parameters"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, p)| {
            let d = p.get("Default")?;
            let v = if p["Type"] == "CommaDelimitedList" {
                Value::Array(
                    d.as_str()
                        .unwrap_or_default()
                        .split(',')
                        .map(|s| json!(s.trim()))
                        .collect(),
                )
            } else {
                d.clone()
            };
            Some((k.clone(), v))
        })
        .collect()
}

/// Collect `stack` (and its children) into `model`; answers the stack's resolved
/// `Outputs`, which its parent reads as `!GetAtt Child.Outputs.Name`.
fn collect(
    stack: &Stack,
    naming: &Naming,
    params: HashMap<String, Value>,
    model: &mut Model,
) -> Result<HashMap<String, Value>, TemplateError> {
    let mut scope = Scope {
        params,
        region: naming.region.clone(),
        stack_name: naming.prefix.clone(),
        ..Default::default()
    };
    let region = &naming.region;
    // Pass 1: names and attributes of every resource.
    for (id, res) in stack.resources() {
        let kind = res["Type"].as_str().unwrap_or_default();
        let phys = naming.physical(id, kind);
        let (r, attrs): (Value, Vec<(&str, String)>) = match kind {
            "AWS::DynamoDB::Table" => (
                json!(phys),
                vec![
                    ("Arn", format!("arn:aws:dynamodb:{region}:{ACCOUNT}:table/{phys}")),
                    (
                        "StreamArn",
                        format!("arn:aws:dynamodb:{region}:{ACCOUNT}:table/{phys}/stream/local"),
                    ),
                ],
            ),
            "AWS::SQS::Queue" => (
                json!(format!("{}/{ACCOUNT}/{phys}", naming.sqs_base)),
                vec![
                    ("Arn", format!("arn:aws:sqs:{region}:{ACCOUNT}:{phys}")),
                    ("QueueName", phys.clone()),
                ],
            ),
            "AWS::S3::Bucket" => (json!(phys), vec![("Arn", format!("arn:aws:s3:::{phys}"))]),
            "AWS::SNS::Topic" => (
                json!(format!("arn:aws:sns:{region}:{ACCOUNT}:{phys}")),
                vec![("TopicName", phys.clone())],
            ),
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                // SAM's `!Ref F.Alias` (the `live` alias): locally, the function itself.
                let arn = format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{phys}");
                scope.refs.insert(format!("{id}.Alias"), json!(arn));
                (json!(phys), vec![("Arn", arn)])
            }
            "AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine" => (
                json!(format!("arn:aws:states:{region}:{ACCOUNT}:stateMachine:{phys}")),
                vec![("Name", phys.clone())],
            ),
            "AWS::Serverless::HttpApi" | "AWS::ApiGatewayV2::Api" => (json!("local"), vec![]),
            _ => (json!(id), vec![]),
        };
        scope.refs.insert(id.clone(), r);
        for (a, v) in attrs {
            scope.attrs.insert((id.clone(), a.to_owned()), json!(v));
        }
    }
    let globals = stack.doc["Globals"]["Function"].clone();
    let mut integrations: HashMap<String, String> = HashMap::new();
    // Pass 2: what the runner acts on.
    for (id, res) in stack.resources() {
        let kind = res["Type"].as_str().unwrap_or_default();
        let props = &res["Properties"];
        match kind {
            "AWS::DynamoDB::Table"
            | "AWS::SQS::Queue"
            | "AWS::S3::Bucket"
            | "AWS::SNS::Topic"
            | "AWS::Serverless::StateMachine" => {
                model.resources.push(ResourceSpec {
                    logical_id: id.clone(),
                    kind: kind.to_owned(),
                    physical: naming.physical(id, kind),
                    properties: scope.resolve(props),
                    dir: stack.dir.clone(),
                });
            }
            "AWS::Serverless::HttpApi" => {
                let p = scope.resolve(props);
                if let Some(c) = p.get("CorsConfiguration").filter(|c| c.is_object()) {
                    let list = |k: &str| {
                        c[k].as_array()
                            .into_iter()
                            .flatten()
                            .map(scalar_string)
                            .collect::<Vec<_>>()
                    };
                    model.cors = Some(Cors {
                        allow_origins: list("AllowOrigins"),
                        allow_methods: list("AllowMethods"),
                        allow_headers: list("AllowHeaders"),
                        expose_headers: list("ExposeHeaders"),
                        max_age: c["MaxAge"].as_u64(),
                    });
                }
                let s = &p["DefaultRouteSettings"];
                if let (Some(rate), Some(burst)) =
                    (s["ThrottlingRateLimit"].as_f64(), s["ThrottlingBurstLimit"].as_f64())
                {
                    model.throttle = Some((rate, burst));
                }
            }
            "AWS::Serverless::Function" => {
                let f = function_spec(id, &scope, &globals, props, naming)?;
                for (method, path) in http_events(&scope, props) {
                    model.routes.push(RouteBinding {
                        method,
                        path,
                        function: id.clone(),
                    });
                }
                if model.functions.insert(id.clone(), f).is_some() {
                    return Err(TemplateError::Invalid(format!("function {id} is defined twice")));
                }
            }
            "AWS::ApiGatewayV2::Integration" => {
                let uri = &props["IntegrationUri"];
                // `!GetAtt F.Arn`, or `!Ref F.Alias` (SAM's reference to the function's
                // published alias, what the API calls once deployments shift traffic).
                let target = uri["Fn::GetAtt"][0]
                    .as_str()
                    .or_else(|| uri["Ref"].as_str().map(|r| r.trim_end_matches(".Alias")))
                    .map(str::to_owned)
                    .or_else(|| {
                        uri["Fn::Sub"]
                            .as_str()
                            .and_then(|s| s.split("${").nth(1))
                            .map(|s| s.split(['.', '}']).next().unwrap_or("").to_owned())
                    });
                if let Some(t) = target {
                    integrations.insert(id.clone(), t);
                }
            }
            _ => {}
        }
    }
    for (id, res) in stack.resources() {
        if res["Type"] != "AWS::ApiGatewayV2::Route" {
            continue;
        }
        let props = &res["Properties"];
        let key = scalar_string(&scope.resolve(&props["RouteKey"]));
        let target = &props["Target"];
        let integ = target["Fn::Sub"]
            .as_str()
            .and_then(|s| s.split("${").nth(1))
            .map(|s| s.trim_end_matches('}').to_owned())
            .or_else(|| {
                target["Fn::Join"][1]
                    .as_array()
                    .and_then(|a| a.iter().find_map(|p| p["Ref"].as_str().map(str::to_owned)))
            });
        let function = integ
            .and_then(|i| integrations.get(&i).cloned())
            .ok_or_else(|| TemplateError::Invalid(format!("route {id} has no Lambda integration")))?;
        let (method, path) = key
            .split_once(' ')
            .ok_or_else(|| TemplateError::Invalid(format!("route {id}: bad RouteKey {key:?}")))?;
        model.routes.push(RouteBinding {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            function,
        });
    }
    // Children: parameters resolved in this scope, after the siblings whose outputs they
    // read.
    let mut pending: Vec<&(String, Stack)> = stack.children.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for entry in pending {
            let (id, child) = entry;
            let raw = &stack.doc["Resources"][id]["Properties"]["Parameters"];
            let mut sources = Vec::new();
            output_sources(raw, &mut sources);
            if sources
                .iter()
                .any(|s| stack.children.iter().any(|(c, _)| c == s) && !scope.collected.contains(s))
            {
                waiting.push(entry);
                continue;
            }
            let mut params = default_params(&child.doc);
            if let Some(p) = scope.resolve(raw).as_object() {
                params.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            let outputs = collect(child, naming, params, model)?;
            for (name, value) in outputs {
                scope.attrs.insert((id.clone(), format!("Outputs.{name}")), value);
            }
            scope.collected.insert(id.clone());
        }
        if waiting.len() == before {
            return Err(TemplateError::Invalid(format!(
                "nested applications read each other's outputs in a cycle: {}",
                waiting.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        pending = waiting;
    }
    Ok(stack.doc["Outputs"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, o)| (name.clone(), scope.resolve(&o["Value"])))
        .collect())
}

fn merged(globals: &Value, props: &Value, key: &str) -> Value {
    match (globals.get(key), props.get(key)) {
        (Some(Value::Object(g)), Some(Value::Object(p))) => {
            let mut m = g.clone();
            for (k, v) in p {
                m.insert(k.clone(), v.clone());
            }
            Value::Object(m)
        }
        (_, Some(p)) => p.clone(),
        (Some(g), None) => g.clone(),
        (None, None) => Value::Null,
    }
}

fn function_spec(
    id: &str,
    scope: &Scope,
    globals: &Value,
    props: &Value,
    naming: &Naming,
) -> Result<FunctionSpec, TemplateError> {
    let handler = scalar_string(&scope.resolve(&merged(globals, props, "Handler")));
    if handler.is_empty() {
        return Err(TemplateError::Invalid(format!("function {id} has no Handler")));
    }
    let mut env_vars = scope.resolve(&merged(globals, props, "Environment"))["Variables"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if let Some(Value::Object(g)) = globals.get("Environment").map(|e| scope.resolve(&e["Variables"])) {
        for (k, v) in g {
            env_vars.entry(k).or_insert(v);
        }
    }
    let env = env_vars.iter().map(|(k, v)| (k.clone(), scalar_string(v))).collect();
    let timeout_secs = scope.resolve(&merged(globals, props, "Timeout")).as_u64().unwrap_or(3);
    let mut spec = FunctionSpec {
        logical_id: id.to_owned(),
        name: naming.physical(id, "AWS::Serverless::Function"),
        handler,
        env,
        timeout_secs,
        sqs: vec![],
        streams: vec![],
        schedules: vec![],
    };
    for (_, ev) in props["Events"].as_object().into_iter().flatten() {
        let p = scope.resolve(&ev["Properties"]);
        match ev["Type"].as_str().unwrap_or_default() {
            "SQS" => spec.sqs.push(SqsSource {
                queue_arn: scalar_string(&p["Queue"]),
                batch_size: p["BatchSize"].as_u64().unwrap_or(10) as u32,
                report_failures: p["FunctionResponseTypes"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|t| t == "ReportBatchItemFailures")),
            }),
            "DynamoDB" => {
                let arn = scalar_string(&p["Stream"]);
                let table = arn
                    .split_once(":table/")
                    .and_then(|(_, rest)| rest.split('/').next())
                    .unwrap_or_default()
                    .to_owned();
                let filters = p["FilterCriteria"]["Filters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["Pattern"].as_str().and_then(|s| serde_json::from_str(s).ok()))
                    .collect();
                spec.streams.push(StreamSource {
                    table,
                    batch_size: p["BatchSize"].as_u64().unwrap_or(100) as u32,
                    max_retries: p["MaximumRetryAttempts"].as_i64().and_then(|n| u32::try_from(n).ok()),
                    on_failure: p["DestinationConfig"]["OnFailure"]["Destination"]
                        .as_str()
                        .map(str::to_owned),
                    filters,
                });
            }
            "Schedule" | "ScheduleV2" => spec.schedules.push(ScheduleSource {
                expression: scalar_string(&p["Schedule"]).to_owned() + &scalar_string(&p["ScheduleExpression"]),
                input: p
                    .get("Input")
                    .and_then(|i| i.as_str())
                    .and_then(|s| serde_json::from_str(s).ok()),
                enabled: p.get("Enabled").and_then(Value::as_bool).unwrap_or(true)
                    && p.get("State").and_then(Value::as_str) != Some("DISABLED"),
            }),
            _ => {}
        }
    }
    Ok(spec)
}

fn http_events(scope: &Scope, props: &Value) -> Vec<(String, String)> {
    props["Events"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, ev)| ev["Type"] == "HttpApi")
        .filter_map(|(_, ev)| {
            let p = scope.resolve(&ev["Properties"]);
            Some((
                p["Method"].as_str().unwrap_or("ANY").to_ascii_uppercase(),
                p["Path"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_tags_become_intrinsics_and_resolve() {
        let y: serde_yaml::Value = serde_yaml::from_str(
            "a: !Ref X\nb: !GetAtt Q.Arn\nc: !Sub '${X}-${Q.Arn}-${AWS::Region}'\nd: !Join [',', [!Ref X, z]]",
        )
        .unwrap();
        let v = yaml_to_json(y);
        assert_eq!(v["a"], json!({"Ref": "X"}));
        assert_eq!(v["b"], json!({"Fn::GetAtt": ["Q", "Arn"]}));
        let mut s = Scope {
            region: "eu-west-1".into(),
            ..Default::default()
        };
        s.params.insert("X".into(), json!("x"));
        s.attrs.insert(("Q".into(), "Arn".into()), json!("arn:q"));
        let r = s.resolve(&v);
        assert_eq!(r["a"], "x");
        assert_eq!(r["b"], "arn:q");
        assert_eq!(r["c"], "x-arn:q-eu-west-1");
        assert_eq!(r["d"], "x,z");
    }
}
