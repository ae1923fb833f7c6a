//! template.yaml is the single source of truth: its routes must match the code's route
//! declarations exactly, the OpenAPI document must cover them, and the templates must
//! pass cfn-lint, `sam validate` and the resource limit.

use std::collections::BTreeSet;
use std::process::Command;
use tracseq_runner::functions::check_consistency;
use tracseq_runner::template::{FunctionSpec, Model, RouteBinding};
use tracseq_runner::{Config, load_model};
use tracseq_tests::workspace;

fn production_model() -> Model {
    let config = Config {
        templates: vec![workspace().join("template.yaml")],
        ..Config::default()
    };
    load_model(&config, "http://127.0.0.1:4567").expect("template loads")
}

#[test]
fn template_and_handler_registry_agree() {
    let problems = check_consistency(&production_model(), &tracseq_runner::catalog::catalog());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_kind_of_disagreement_is_caught() {
    let catalog = tracseq_runner::catalog::catalog();
    let base = production_model();

    let mut unrouted = base.clone();
    unrouted.routes.retain(|r| r.path != "/api/version");
    let p = check_consistency(&unrouted, &catalog);
    assert!(
        p.iter().any(|l| l.contains("\"version\"") && l.contains("no route")),
        "{p:#?}"
    );

    let mut moved = base.clone();
    moved
        .routes
        .iter_mut()
        .filter(|r| r.path == "/api/version")
        .for_each(|r| r.path = "/api/versions".into());
    let p = check_consistency(&moved, &catalog);
    assert!(
        p.iter()
            .any(|l| l.contains("/api/versions") && l.contains("declares GET /api/version")),
        "{p:#?}"
    );

    let mut wrong_method = base.clone();
    wrong_method
        .routes
        .iter_mut()
        .filter(|r| r.path == "/api/health")
        .for_each(|r| r.method = "POST".into());
    assert!(!check_consistency(&wrong_method, &catalog).is_empty());

    let mut missing_handler = base.clone();
    let mut ghost: FunctionSpec = base.functions["HealthFunction"].clone();
    ghost.logical_id = "GhostFunction".into();
    ghost.handler = "ghost".into();
    missing_handler.functions.insert("GhostFunction".into(), ghost);
    missing_handler.routes.push(RouteBinding {
        method: "GET".into(),
        path: "/api/ghost".into(),
        function: "GhostFunction".into(),
    });
    let p = check_consistency(&missing_handler, &catalog);
    assert!(
        p.iter().any(|l| l.contains("\"ghost\", which no service registers")),
        "{p:#?}"
    );

    let mut no_function = base.clone();
    no_function.functions.retain(|_, f| f.handler != "openapi");
    no_function.routes.retain(|r| r.function != "OpenApiFunction");
    let p = check_consistency(&no_function, &catalog);
    assert!(
        p.iter()
            .any(|l| l.contains("\"openapi\"") && l.contains("has no function in the template")),
        "{p:#?}"
    );
}

/// `docs/openapi.json` (what the system function serves) is the document generated from
/// every service's route table. `UPDATE_OPENAPI=1 cargo test -p tracseq-tests --test e2e
/// openapi_json` rewrites it after a route or schema changes.
#[test]
fn openapi_json_is_generated_from_the_route_tables() {
    let generated = tracseq_runner::catalog::openapi_json().expect("serializes");
    let path = workspace().join("docs/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write docs/openapi.json");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/openapi.json is stale: run UPDATE_OPENAPI=1 cargo test -p tracseq-tests --test e2e openapi_json"
    );
    assert_eq!(
        tracseq_system::openapi::DOCUMENT,
        checked_in,
        "the system function serves it (rebuild)"
    );
}

#[test]
fn every_schema_name_stands_for_one_schema() {
    let routes = tracseq_runner::catalog::routes();
    assert_eq!(tracseq_core::openapi::schema_collisions(&routes), Vec::<String>::new());
}

#[test]
fn openapi_document_covers_exactly_the_template_routes() {
    let doc: serde_json::Value =
        serde_json::from_str(&tracseq_runner::catalog::openapi_json().expect("serializes")).expect("json");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let mut in_doc = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                in_doc.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let in_template: BTreeSet<_> = production_model()
        .routes
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(in_doc, in_template);
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["schemas"]["HealthReport"].is_object());
}

fn templates() -> Vec<String> {
    let root = workspace();
    let mut out = vec![root.join("template.yaml").display().to_string()];
    for entry in std::fs::read_dir(root.join("functions"))
        .expect("functions dir")
        .flatten()
    {
        let t = entry.path().join("template.yaml");
        if t.exists() {
            out.push(t.display().to_string());
        }
    }
    out
}

#[test]
fn templates_pass_cfn_lint() {
    let out = background(tracseq_tests::venv().join("bin/cfn-lint"))
        .args(templates())
        .output()
        .expect("cfn-lint runs (make venv)");
    assert!(
        out.status.success(),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The root template through the SAM CLI's own check: the SAM transform of every
/// function, API and nested application. Without `--lint`: that flag runs the same
/// cfn-lint that `templates_pass_cfn_lint` already runs over every template, and cost
/// 143 s of one core here (CI's workflow runs `sam validate --lint` on each template).
#[test]
fn the_root_template_passes_sam_validate() {
    for t in templates().into_iter().take(1) {
        let out = background(tracseq_tests::sam_venv().join("bin/sam"))
            .args(["validate", "--template", &t])
            .env("SAM_CLI_TELEMETRY", "0")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .expect("sam runs (make venv)");
        assert!(
            out.status.success(),
            "sam validate {t}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn transformed_stacks_stay_well_under_the_resource_limit() {
    let out = background(tracseq_tests::sam_venv().join("bin/python"))
        .arg(workspace().join("infra/scripts/count_resources.py"))
        .args(templates())
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let counts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json counts");
    for (template, n) in counts.as_object().expect("object") {
        let n = n.as_u64().expect("count");
        assert!(
            n > 0 && n <= 400,
            "{template} transforms to {n} resources (limit 500, budget 400)"
        );
    }
}

/// The root stack and every nested one, as JSON with intrinsics spelled out.
fn stacks() -> Vec<(String, serde_json::Value)> {
    let root = tracseq_runner::template::Stack::load(&workspace().join("template.yaml"), "").expect("loads");
    let mut out = vec![("template.yaml".to_owned(), root.doc.clone())];
    out.extend(root.children.iter().map(|(id, s)| (id.clone(), s.doc.clone())));
    out
}

fn resources_of<'a>(doc: &'a serde_json::Value, kind: &str) -> Vec<(&'a String, &'a serde_json::Value)> {
    doc["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

#[test]
fn alarms_cover_what_the_runbook_promises() {
    let all = stacks();
    let root = &all[0].1;
    let alarm = |id: &str| &root["Resources"][id]["Properties"];
    // Every alarm of every stack notifies the alarm topic.
    for (stack, doc) in &all {
        for (id, a) in resources_of(doc, "AWS::CloudWatch::Alarm") {
            let actions = a["Properties"]["AlarmActions"].to_string();
            assert!(
                actions.contains("AlarmTopic"),
                "{stack}/{id} notifies nobody: {actions}"
            );
        }
    }
    assert_eq!(alarm("ApiLatencyAlarm")["ExtendedStatistic"], "p99");
    assert_eq!(alarm("ApiLatencyAlarm")["Threshold"], 100);
    assert!(alarm("Api5xxAlarm")["Metrics"].to_string().contains("5xx"));
    assert_eq!(alarm("LambdaThrottleAlarm")["MetricName"], "Throttles");
    assert!(
        alarm("TableThrottleAlarm")["Metrics"]
            .to_string()
            .contains("WriteThrottleEvents")
    );
    assert_eq!(alarm("FunctionErrorsAlarm")["MetricName"], "Errors");
    // Backup missed: 26 one-hour periods without a completed backup, missing data counts.
    let b = alarm("BackupMissedAlarm");
    assert_eq!(
        (b["MetricName"].as_str(), b["Namespace"].as_str()),
        (Some("BackupsCompleted"), Some("TracSeq"))
    );
    assert_eq!(
        b["Period"].as_u64().unwrap() * b["EvaluationPeriods"].as_u64().unwrap(),
        26 * 3600
    );
    assert_eq!(b["TreatMissingData"], "breaching");

    // Every dead-letter (and stream failure) queue has a depth > 0 alarm in its own stack.
    for (stack, doc) in &all {
        let alarms = resources_of(doc, "AWS::CloudWatch::Alarm");
        for (q, _) in resources_of(doc, "AWS::SQS::Queue") {
            if !(q.contains("DeadLetter") || q.contains("Failure")) {
                continue;
            }
            let watched = alarms.iter().any(|(_, a)| {
                let p = &a["Properties"];
                p["Dimensions"].to_string().contains(&format!("\"{q}\"")) && p["Threshold"] == 0
            });
            assert!(watched, "{stack}: no depth alarm on {q}");
        }
    }
}

#[test]
fn dashboard_is_valid_json_and_shows_every_root_alarm() {
    let all = stacks();
    let root = &all[0].1;
    let (_, dash) = resources_of(root, "AWS::CloudWatch::Dashboard")[0];
    let body = dash["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("a Sub string");
    // Substitute every ${...} the way CloudFormation would, then parse.
    let mut text = String::new();
    let mut rest = body;
    while let Some(i) = rest.find("${") {
        text.push_str(&rest[..i]);
        let end = rest[i..].find('}').expect("closed") + i;
        text.push('x');
        rest = &rest[end + 1..];
    }
    text.push_str(rest);
    let v: serde_json::Value = serde_json::from_str(&text).expect("dashboard body is JSON");
    let widgets = v["widgets"].as_array().expect("widgets");
    assert!(widgets.len() >= 8);
    for (id, _) in resources_of(root, "AWS::CloudWatch::Alarm") {
        assert!(body.contains(&format!("${{{id}.Arn}}")), "{id} is not on the dashboard");
    }
    for metric in [
        "SamplesRegistered",
        "Placements",
        "RunsCompleted",
        "NotificationFailures",
        "ColdStart",
        "Errors",
    ] {
        assert!(body.contains(metric), "{metric} is not on the dashboard");
    }
}

#[test]
fn every_function_deploys_by_canary_with_alarm_rollback() {
    for (stack, doc) in stacks().iter().skip(1) {
        let g = &doc["Globals"]["Function"];
        assert_eq!(g["AutoPublishAlias"], "live", "{stack}");
        let dp = &g["DeploymentPreference"];
        assert_eq!(dp["Type"], serde_json::json!({"Ref": "DeploymentType"}), "{stack}");
        assert_eq!(dp["Alarms"].as_array().map(Vec::len), Some(3), "{stack}");
        // The API calls the alias, so the canary's share of traffic is real.
        for (id, integ) in resources_of(doc, "AWS::ApiGatewayV2::Integration") {
            let uri = integ["Properties"]["IntegrationUri"]["Ref"]
                .as_str()
                .unwrap_or_default();
            assert!(uri.ends_with(".Alias"), "{stack}/{id} calls {uri:?}, not the alias");
        }
    }
}

#[test]
fn backups_are_scheduled_versioned_and_kept_30_days() {
    let all = stacks();
    let root = &all[0].1;
    assert_eq!(root["Parameters"]["BackupSchedule"]["Default"], "cron(0 2 * * ? *)");
    let bucket = &root["Resources"]["BackupBucket"]["Properties"];
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    let rule = &bucket["LifecycleConfiguration"]["Rules"][0];
    assert_eq!(rule["ExpirationInDays"], 30);
    assert_eq!(rule["NoncurrentVersionExpiration"]["NoncurrentDays"], 30);
    assert_eq!(
        root["Resources"]["Table"]["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    let ops = &all.iter().find(|(id, _)| id == "OpsService").expect("ops stack").1;
    let schedule = &ops["Resources"]["BackupFunction"]["Properties"]["Events"]["Daily"];
    assert_eq!(schedule["Type"], "ScheduleV2");
    assert_eq!(
        schedule["Properties"]["ScheduleExpression"],
        serde_json::json!({"Ref": "BackupSchedule"})
    );
}

#[test]
fn workflows_match_githubs_schema_and_run_the_readme_commands() {
    let dir = workspace().join(".github/workflows");
    let files: Vec<String> = std::fs::read_dir(&dir)
        .expect("workflows")
        .flatten()
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(files.len() >= 2);
    // check-jsonschema carries SchemaStore's GitHub workflow schema, so this runs offline.
    let out = background(tracseq_tests::venv().join("bin/check-jsonschema"))
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(&files)
        .output()
        .expect("check-jsonschema runs (make venv)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ci = std::fs::read_to_string(dir.join("ci.yml")).expect("ci.yml");
    for step in [
        "cargo fmt --all -- --check",
        "cargo clippy --workspace --all-targets -- -D warnings",
        "make test",
        "cargo-deny",
        "sam validate --lint",
        "sam build",
    ] {
        assert!(ci.contains(step), "ci.yml lacks {step}");
    }
    let deploy = std::fs::read_to_string(dir.join("deploy.yml")).expect("deploy.yml");
    assert!(
        deploy.contains("id-token: write") && deploy.contains("role-to-assume"),
        "OIDC credentials"
    );
    assert!(deploy.contains("--config-env"));
    let config = std::fs::read_to_string(workspace().join("samconfig.toml")).expect("samconfig.toml");
    assert!(config.contains("[staging.deploy.parameters]") && config.contains("[production.deploy.parameters]"));
}

/// A deployed stack is never on the local stage (whose outbound policy reaches loopback):
/// the root template's `Stage` does not allow `local`, and no template sets the runner's
/// `OUTBOUND_URL_POLICY`.
#[test]
fn a_deployed_stage_cannot_be_local() {
    let root = std::fs::read_to_string(workspace().join("template.yaml")).expect("template");
    let doc: serde_yaml::Value = serde_yaml::from_str(&root).expect("yaml");
    let allowed: Vec<&str> = doc["Parameters"]["Stage"]["AllowedValues"]
        .as_sequence()
        .expect("AllowedValues")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(allowed, ["staging", "production"]);
    for entry in std::fs::read_dir(workspace().join("functions")).expect("functions") {
        let path = entry.expect("entry").path().join("template.yaml");
        if let Ok(text) = std::fs::read_to_string(&path) {
            assert!(!text.contains("OUTBOUND_URL_POLICY"), "{}", path.display());
        }
    }
    assert!(!root.contains("OUTBOUND_URL_POLICY"));
}

/// Lab secrets (channel credentials, webhook keys) are readable only by the functions that
/// send: the expected senders are listed here, not taken from the template they check.
#[test]
fn only_the_senders_may_read_lab_secrets() {
    use serde_yaml::Value;
    let text = std::fs::read_to_string(workspace().join("functions/events/template.yaml")).expect("template");
    let doc: Value = serde_yaml::from_str(&text).expect("yaml");
    let resources = doc["Resources"].as_mapping().expect("resources");
    let tagged = |v: &Value| match v {
        Value::Tagged(t) => t.value.as_str().unwrap_or_default().to_owned(),
        other => other.as_str().unwrap_or_default().to_owned(),
    };
    let mut senders = BTreeSet::new();
    for (name, r) in resources {
        if r["Type"] == "AWS::Serverless::Function" && tagged(&r["Properties"]["Role"]) == "EventsSenderRole.Arn" {
            senders.insert(name.as_str().unwrap_or_default().to_owned());
        }
    }
    let expected: BTreeSet<String> = [
        "EmailWorkerFunction",
        "SmsWorkerFunction",
        "SlackWorkerFunction",
        "TeamsWorkerFunction",
        "WebhookWorkerFunction",
        "TestChannelFunction",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(senders, expected);
    // Reading a lab secret is granted in the senders' role alone.
    let reads_secrets = |v: &Value| {
        let s = serde_yaml::to_string(v).unwrap_or_default();
        s.contains("ssm:GetParameter") && s.contains("/labs/*")
    };
    for (name, r) in resources {
        let name = name.as_str().unwrap_or_default();
        let grants = match r["Type"].as_str() {
            Some("AWS::IAM::Role") => r["Properties"]["Policies"]
                .as_sequence()
                .into_iter()
                .flatten()
                .flat_map(|p| {
                    p["PolicyDocument"]["Statement"]
                        .as_sequence()
                        .cloned()
                        .unwrap_or_default()
                })
                .any(|st| reads_secrets(&st)),
            Some("AWS::IAM::ManagedPolicy") => r["Properties"]["PolicyDocument"]["Statement"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(reads_secrets),
            _ => false,
        };
        assert_eq!(grants, name == "EventsSenderRole", "{name}");
    }
}

/// What each function of the service templates may do: its statements, from its role's
/// inline and (same-template) managed policies and SAM `Policies` on the function.
struct Grants {
    /// (function logical id, statement) for every statement a function gets.
    statements: Vec<(String, serde_yaml::Value)>,
    /// Functions behind an API route (an integration targets their alias).
    api: BTreeSet<String>,
}

fn tagged_str(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::Tagged(t) => tagged_str(&t.value),
        other => serde_yaml::to_string(other).unwrap_or_default(),
    }
}

fn grants() -> Grants {
    use serde_yaml::Value;
    let statements_of = |doc: &Value| -> Vec<Value> { doc["Statement"].as_sequence().cloned().unwrap_or_default() };
    let mut out = Grants {
        statements: Vec::new(),
        api: BTreeSet::new(),
    };
    for entry in std::fs::read_dir(workspace().join("functions")).expect("functions") {
        let Ok(text) = std::fs::read_to_string(entry.expect("entry").path().join("template.yaml")) else {
            continue;
        };
        let doc: Value = serde_yaml::from_str(&text).expect("yaml");
        let resources = doc["Resources"].as_mapping().expect("resources");
        let policy_of_role = |role: &str| -> Vec<Value> {
            let r = &doc["Resources"][role]["Properties"];
            let mut st: Vec<Value> = r["Policies"]
                .as_sequence()
                .into_iter()
                .flatten()
                .flat_map(|p| statements_of(&p["PolicyDocument"]))
                .collect();
            for arn in r["ManagedPolicyArns"].as_sequence().into_iter().flatten() {
                let name = tagged_str(arn).trim().to_owned();
                if doc["Resources"][name.as_str()]["Type"] == "AWS::IAM::ManagedPolicy" {
                    st.extend(statements_of(
                        &doc["Resources"][name.as_str()]["Properties"]["PolicyDocument"],
                    ));
                }
            }
            st
        };
        for (name, r) in resources {
            let name = name.as_str().unwrap_or_default().to_owned();
            match r["Type"].as_str() {
                Some("AWS::Serverless::Function") => {
                    let p = &r["Properties"];
                    let role = tagged_str(&p["Role"]).trim().trim_end_matches(".Arn").to_owned();
                    let mut st = if role.is_empty() {
                        Vec::new()
                    } else {
                        policy_of_role(&role)
                    };
                    st.extend(
                        p["Policies"]
                            .as_sequence()
                            .into_iter()
                            .flatten()
                            .flat_map(statements_of),
                    );
                    out.statements.extend(st.into_iter().map(|s| (name.clone(), s)));
                }
                Some("AWS::ApiGatewayV2::Integration") => {
                    let target = tagged_str(&r["Properties"]["IntegrationUri"]);
                    out.api.insert(target.trim().trim_end_matches(".Alias").to_owned());
                }
                _ => {}
            }
        }
    }
    out
}

impl Grants {
    /// Functions with a statement allowing one of `actions` on a resource that mentions
    /// `resource` (a parameter or ARN name, as written in the template).
    fn who(&self, actions: &[&str], resource: &str) -> BTreeSet<String> {
        self.statements
            .iter()
            .filter(|(_, s)| {
                let listed = tagged_str(&s["Action"]);
                s["Effect"] == "Allow"
                    && actions.iter().any(|a| listed.contains(a))
                    && tagged_str(&s["Resource"]).contains(resource)
            })
            .map(|(f, _)| f.clone())
            .collect()
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Least privilege where it matters most: the signing keys, the backups, the restore's
/// reach and the export's reads. The expected functions are listed here, not read from the
/// templates under test.
#[test]
fn keys_backups_restore_and_exports_have_least_privilege() {
    let g = grants();
    assert!(g.api.contains("LoginFunction") && g.api.len() > 50, "{:?}", g.api);
    let key_writers = g.who(&["ssm:PutParameter", "ssm:*"], "JwtPrivateKeysParam");
    assert_eq!(key_writers, set(&["RotateKeysFunction", "RestoreFunction"]));
    assert!(
        key_writers.is_disjoint(&g.api),
        "an API function may write the signing key"
    );
    assert_eq!(
        g.who(&["ssm:PutParameter", "ssm:*"], "JwtPublicKeysParam"),
        set(&["RotateKeysFunction", "RestoreFunction"])
    );
    assert_eq!(
        g.who(&["ssm:GetParameter", "ssm:*"], "JwtPrivateKeysParam"),
        set(&["LoginFunction", "RefreshFunction", "RotateKeysFunction"]),
        "only the functions that sign (and rotation) read the private keys"
    );
    let backup_writers = g.who(&["s3:PutObject", "s3:DeleteObject", "s3:*"], "BackupBucketArn");
    assert_eq!(backup_writers, set(&["BackupFunction"]));
    assert!(backup_writers.is_disjoint(&g.api));
    // The restore writes only the stack's tables.
    let restore: Vec<_> = g
        .statements
        .iter()
        .filter(|(f, s)| f == "RestoreFunction" && tagged_str(&s["Action"]).contains("dynamodb:"))
        .collect();
    assert!(!restore.is_empty());
    for (_, s) in restore {
        let resource = tagged_str(&s["Resource"]);
        assert!(resource.contains(":table/${TablePrefix}*"), "{resource}");
    }
    // Exports read one lab by key: no function that builds them may Scan.
    let scanners = g.who(&["dynamodb:Scan", "dynamodb:*"], "Table");
    assert!(scanners.contains("BackupFunction"));
    for f in ["LabExportFunction", "ExportDeadLetterFunction", "CreateExportFunction"] {
        assert!(!scanners.contains(f), "{f} may Scan");
    }
    assert!(
        scanners.is_disjoint(&g.api),
        "an API function may Scan: {:?}",
        scanners.intersection(&g.api).collect::<Vec<_>>()
    );
}

/// Services depend on the platform, never on each other: no crate under `functions/`
/// depends on another one there, `shared/` depends on neither `functions/` nor `infra/`,
/// and only the tests and the runner depend on `infra/` (read from `cargo metadata`).
#[test]
fn services_depend_on_the_platform_only() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace())
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let root = workspace();
    // The top folder of a crate: functions, shared, infra or tests.
    let area = |dir: &std::path::Path| -> String {
        dir.strip_prefix(&root)
            .ok()
            .and_then(|p| p.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut broken = Vec::new();
    let mut seen = 0;
    for pkg in meta["packages"].as_array().expect("packages") {
        let manifest = std::path::PathBuf::from(pkg["manifest_path"].as_str().expect("manifest"));
        let (name, from) = (
            pkg["name"].as_str().unwrap_or_default(),
            area(manifest.parent().expect("dir")),
        );
        for dep in pkg["dependencies"].as_array().into_iter().flatten() {
            let Some(path) = dep["path"].as_str() else { continue };
            seen += 1;
            let to = area(std::path::Path::new(path));
            let allowed = match (from.as_str(), to.as_str()) {
                ("functions", "functions") => false,
                ("shared", "functions" | "infra") => false,
                (_, "infra") => matches!(from.as_str(), "tests" | "infra"),
                _ => true,
            };
            if !allowed {
                broken.push(format!(
                    "{name} ({from}) -> {} ({to})",
                    dep["name"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    assert!(seen > 10, "the workspace's path dependencies were read");
    assert!(broken.is_empty(), "{broken:#?}");
}

/// The role table of the tests (`tests/harness/roles.rs`) names every protected route once,
/// and each route declares the role the table expects.
#[test]
fn the_role_table_covers_every_protected_route() {
    use tracseq_core::route::Access;
    let mut declared = BTreeSet::new();
    for r in tracseq_runner::catalog::routes() {
        if let Access::Role(role) = r.access {
            let key = format!("{} {}", r.method.as_str(), r.path);
            assert_eq!(
                tracseq_tests::roles::expected_role(r.method.as_str(), r.path),
                Some(role),
                "{key}"
            );
            declared.insert(key);
        }
    }
    let table: BTreeSet<String> = tracseq_tests::roles::EXPECTED_ROLES
        .iter()
        .map(|(k, _)| (*k).to_owned())
        .collect();
    assert_eq!(table.len(), tracseq_tests::roles::EXPECTED_ROLES.len(), "a route twice");
    assert_eq!(declared, table);
}

/// Plumbing lives in the platform, once: outside their one home, no service code (tests
/// aside) spells a lab key, reads a raw event batch, writes a partial batch response or
/// declares its own page type.
#[test]
fn plumbing_is_written_once_in_the_platform() {
    let rules: [(&str, &str); 5] = [
        ("format!(\"LAB#", "tracseq_core::keyed::lab_key"),
        ("[\"Records\"]", "tracseq_aws::batch"),
        ("batchItemFailures", "tracseq_aws::batch::Failures"),
        ("Page {\n    pub items", "tracseq_core::pagination::Page"),
        ("\"event\"][\"", "tracseq_aws::batch"),
    ];
    let mut found = Vec::new();
    let mut files = 0;
    for top in ["functions", "shared"] {
        let mut stack = vec![workspace().join(top)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") || path.components().any(|c| c.as_os_str() == "benches") {
                    continue;
                }
                files += 1;
                let text = std::fs::read_to_string(&path).expect("read");
                // Unit tests may spell what they check.
                let code = text.split("#[cfg(test)]").next().unwrap_or_default();
                for (needle, home) in rules {
                    let at_home = match home {
                        "tracseq_core::keyed::lab_key" => path.ends_with("shared/core/src/keyed.rs"),
                        "tracseq_core::pagination::Page" => path.ends_with("shared/core/src/pagination.rs"),
                        _ => path.ends_with("shared/aws/src/batch.rs"),
                    };
                    if !at_home && code.contains(needle) {
                        found.push(format!("{}: {needle:?} belongs to {home}", path.display()));
                    }
                }
            }
        }
    }
    assert!(files > 100, "the sources were read ({files})");
    assert!(found.is_empty(), "{found:#?}");
}

/// Handlers check, decide and answer; the table belongs to each service's store modules.
/// No handler file (`functions/*/src/handlers/**`, `handlers.rs`) names a table, an item,
/// an attribute value, a transaction action or a query, and every service with handlers
/// has its store.
#[test]
fn handlers_leave_the_table_to_the_store() {
    let needles = [
        "TransactWriteItem",
        "AttributeValue",
        "_op(",
        "keyed_item",
        "PageQuery",
        "query_page",
        "batch_get",
        "update_item()",
        "tracseq_aws::store::{",
        "store::Item",
    ];
    let functions = workspace().join("functions");
    let mut found = Vec::new();
    let mut files = 0;
    for service in std::fs::read_dir(&functions).expect("functions").flatten() {
        let src = service.path().join("src");
        let mut handler_files = Vec::new();
        let mut stack = vec![src.join("handlers")];
        if src.join("handlers.rs").exists() {
            handler_files.push(src.join("handlers.rs"));
        }
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    handler_files.push(path);
                }
            }
        }
        if handler_files.is_empty() {
            continue;
        }
        let has_store = ["store.rs", "store/mod.rs", "export.rs"]
            .iter()
            .any(|f| src.join(f).exists());
        if !has_store {
            found.push(format!("{}: handlers without a store module", service.path().display()));
        }
        for path in handler_files {
            files += 1;
            let text = std::fs::read_to_string(&path).expect("read");
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for needle in needles {
                if code.contains(needle) {
                    found.push(format!("{}: {needle:?}", path.display()));
                }
            }
            // `st.table`, `.table\n` and the like, not `.tables`.
            let touches_table = code
                .match_indices(".table")
                .any(|(i, m)| !code[i + m.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'));
            if touches_table {
                found.push(format!("{}: \".table\"", path.display()));
            }
        }
    }
    assert!(files > 30, "the handlers were read ({files})");
    assert!(found.is_empty(), "{found:#?}");
}

/// `sam build` works: the version function, with the build method and binary its template
/// gives it, built by SAM CLI and cargo-lambda for this machine's architecture (debug
/// profile, its own target dir; CI builds every function for arm64). The artifact is an
/// ELF executable for the host.
#[test]
fn sam_build_makes_a_bootstrap_for_the_host() {
    let root = workspace();
    let real = std::fs::read_to_string(root.join("functions/system/template.yaml")).expect("template");
    let version = real.split("  VersionFunction:").nth(1).expect("VersionFunction");
    let version = version.split("\n  Version").next().unwrap_or(version);
    assert!(version.contains("BuildMethod: rust-cargolambda"), "{version}");
    assert!(version.contains("Binary: system-bootstrap"), "{version}");
    assert!(version.contains("Handler: version"), "{version}");
    let runtime = real
        .lines()
        .find_map(|l| l.trim().strip_prefix("Runtime: "))
        .expect("Runtime");
    let arch = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        _ => "x86_64",
    };
    let dir = root.join("target/sam-build");
    let _ = std::fs::remove_dir_all(dir.join("out"));
    std::fs::create_dir_all(&dir).expect("dir");
    let template = format!(
        "AWSTemplateFormatVersion: \"2010-09-09\"\nTransform: AWS::Serverless-2016-10-31\nResources:\n  VersionFunction:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: rust-cargolambda\n      BuildProperties: {{ Binary: system-bootstrap }}\n    Properties:\n      Runtime: {runtime}\n      Architectures: [{arch}]\n      CodeUri: {}\n      Handler: version\n",
        root.join("functions/system").display()
    );
    std::fs::write(dir.join("template.yaml"), template).expect("write");
    let path = format!(
        "{}:{}",
        tracseq_tests::venv().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = background(tracseq_tests::sam_venv().join("bin/sam"))
        .args(["build", "--beta-features", "--build-dir", "out"])
        .current_dir(&dir)
        .env("PATH", path)
        .env("SAM_BUILD_MODE", "debug")
        .env("SAM_CLI_TELEMETRY", "0")
        // Not the workspace's target dir: `cargo test` may hold its lock.
        .env("CARGO_TARGET_DIR", root.join("target/sam-build/cargo"))
        .output()
        .expect("sam runs (make venv)");
    assert!(
        out.status.success(),
        "sam build:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let bootstrap = std::fs::read(dir.join("out/VersionFunction/bootstrap")).expect("bootstrap");
    assert_eq!(&bootstrap[..4], b"\x7fELF");
    // e_machine: 0x3E x86-64, 0xB7 AArch64.
    let machine = u16::from_le_bytes([bootstrap[18], bootstrap[19]]);
    assert_eq!(machine, if arch == "arm64" { 0xB7 } else { 0x3E });
}

/// Every state of a definition, the Map iterators' included.
fn all_states(def: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for (name, s) in def["States"].as_object().into_iter().flatten() {
        out.push((name.clone(), s.clone()));
        for inner in [&s["Iterator"], &s["ItemProcessor"]] {
            if inner.is_object() {
                out.extend(all_states(inner));
            }
        }
    }
    out
}

/// The rows of the markdown table under `heading` in `doc`, cells trimmed of backticks.
fn table_rows(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let after = doc.split(heading).nth(1).unwrap_or_default();
    after
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

/// docs/sagas.md, the task code and the state machine agree: the error table lists exactly
/// the error types tasks raise; every name a Retry or Catch matches is one of them or one
/// of Lambda's; every task retries `Transient` and catches everything into the
/// compensation the steps table names; and each state's task is the one the table says.
#[test]
fn the_saga_error_types_and_compensations_match_the_docs() {
    for (machine, template, heading, min_steps) in [
        (
            "sample-submission",
            "functions/submissions/template.yaml",
            "### Steps",
            10,
        ),
        (
            "sequencing-run",
            "functions/sequencing/template.yaml",
            "### Run steps",
            9,
        ),
    ] {
        check_saga_docs(machine, template, heading, min_steps);
    }
}

fn check_saga_docs(machine: &str, template: &str, heading: &str, min_steps: usize) {
    let root = workspace();
    let doc = std::fs::read_to_string(root.join("docs/sagas.md")).expect("docs/sagas.md");
    let text = std::fs::read_to_string(root.join(format!("statemachines/{machine}.asl.json"))).expect("definition");
    let def: serde_json::Value = serde_json::from_str(&text).expect("json");
    let documented: BTreeSet<String> = table_rows(&doc, "### Error types")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let raised: BTreeSet<String> = tracseq_core::saga::errors::ALL
        .iter()
        .map(|e| (*e).to_owned())
        .collect();
    assert_eq!(documented, raised, "the error table and errors::ALL");
    const LAMBDA: &[&str] = &[
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "Lambda.Unknown",
        "Runtime.ExitError",
        "Sandbox.Timedout",
        "States.Timeout",
        "States.ALL",
    ];
    let substitutions = {
        let tpl = std::fs::read_to_string(root.join(template)).expect("template");
        let start = tpl.find("DefinitionSubstitutions:").expect("substitutions");
        tpl[start..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("        "))
            .filter_map(|l| {
                let (k, v) = l.trim().split_once(": ")?;
                Some((k.to_owned(), v.to_owned()))
            })
            .collect::<std::collections::HashMap<String, String>>()
    };
    let model = production_model();
    let steps = table_rows(&doc, heading);
    assert!(steps.len() >= min_steps, "the steps table under {heading}");
    let states = all_states(&def);
    for row in &steps {
        let (state, task, next) = (&row[0], &row[1], &row[3]);
        let s = states
            .iter()
            .find(|(n, _)| n == state)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("docs name state {state}, the definition has none"));
        // The task: the state's own Resource, or its Map iterator's.
        let resource = s["Resource"]
            .as_str()
            .or_else(|| s["Iterator"]["States"].as_object()?.values().next()?["Resource"].as_str())
            .unwrap_or_default();
        let sub = resource.trim_start_matches("${").trim_end_matches('}');
        let bound = substitutions.get(sub).cloned().unwrap_or_default();
        let logical = bound.trim_start_matches("!Ref ").trim_end_matches(".Alias");
        // A task ARN parameter or output names its function: `XArn` → `XFunction`.
        let handler_of = |logical: &str| -> String {
            [logical.to_owned(), logical.replace("Arn", "Function")]
                .iter()
                .find_map(|id| model.functions.values().find(|f| &f.logical_id == id))
                .map(|f| f.handler.clone())
                .unwrap_or_default()
        };
        assert_eq!(&handler_of(logical), task, "state {state} runs {bound}");
        let catch = s["Catch"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["ErrorEquals"] == serde_json::json!(["States.ALL"])))
            .and_then(|c| c["Next"].as_str())
            .unwrap_or("—");
        assert_eq!(catch, next, "state {state}'s Catch");
    }
    for (name, s) in &states {
        for clause in s["Retry"].as_array().into_iter().chain(s["Catch"].as_array()).flatten() {
            for e in clause["ErrorEquals"].as_array().into_iter().flatten() {
                let e = e.as_str().unwrap_or_default();
                assert!(
                    raised.contains(e) || LAMBDA.contains(&e),
                    "{name} matches {e}, which no task raises"
                );
            }
        }
        if s["Type"] == "Task" {
            let retried = s["Retry"].as_array().into_iter().flatten().any(|r| {
                r["ErrorEquals"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|x| x == "Transient") && e.iter().any(|x| x == "Runtime.ExitError"))
            });
            assert!(retried, "{name} retries transient errors and crashes");
        }
    }
}

/// The state machines are valid Amazon States Language (asl-validator from npm), and the
/// validator does fail on a broken one.
#[test]
fn the_state_machines_pass_the_asl_validator() {
    let root = workspace();
    let validator = root.join("infra/asl/node_modules/.bin/asl-validator");
    assert!(validator.exists(), "run `make venv` (npm ci in infra/asl)");
    let dir = std::env::temp_dir().join(format!("asl-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    let mut checked = 0;
    let placeholder = regex::Regex::new(r"\$\{(\w+)\}").expect("regex");
    let start_at = regex::Regex::new(r#""StartAt": "\w+""#).expect("regex");
    for entry in std::fs::read_dir(root.join("statemachines")).expect("statemachines/") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("definition");
        // DefinitionSubstitutions stand in for ARNs: give the validator ARN-shaped ones.
        let concrete = placeholder.replace_all(&text, "arn:aws:lambda:us-east-1:123456789012:function:$1");
        let file = dir.join(path.file_name().expect("name"));
        std::fs::write(&file, concrete.as_bytes()).expect("write");
        let out = background(&validator)
            .arg("--json-path")
            .arg(&file)
            .output()
            .expect("asl-validator");
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stdout)
        );
        let broken = start_at.replace(&concrete, r#""StartAt": "Nowhere""#).into_owned();
        assert_ne!(broken, concrete);
        std::fs::write(&file, broken.as_bytes()).expect("write");
        let out = background(&validator)
            .arg("--json-path")
            .arg(&file)
            .output()
            .expect("asl-validator");
        assert!(!out.status.success(), "a StartAt naming no state is refused");
        checked += 1;
    }
    assert!(checked >= 2, "both sagas");
}

/// A checker or build run beside the end-to-end tests, at the lowest CPU priority: it
/// only costs wall time, while a starved local stack would time functions out (a sam
/// build's rustc once starved the password-hashing threads until a login took 10 s).
fn background(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new("nice");
    c.args(["-n", "19"]).arg(program);
    c
}

#[test]
fn the_web_app_is_private_in_s3_and_shares_the_apis_origin() {
    let all = stacks();
    let r = &all[0].1["Resources"];
    let block = &r["WebBucket"]["Properties"]["PublicAccessBlockConfiguration"];
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[k], true, "{k}");
    }
    // Only this distribution reads the bucket.
    let read = &r["WebBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(read["Principal"]["Service"], "cloudfront.amazonaws.com");
    assert_eq!(read["Action"], "s3:GetObject");
    assert!(
        read["Condition"]["StringEquals"]["AWS:SourceArn"]
            .to_string()
            .contains("WebDistribution")
    );
    let dist = &r["WebDistribution"]["Properties"]["DistributionConfig"];
    let origins = dist["Origins"].as_array().expect("origins");
    let web = origins.iter().find(|o| o["Id"] == "web").expect("web origin");
    assert!(
        web["OriginAccessControlId"]
            .to_string()
            .contains("WebOriginAccessControl")
    );
    // The API is the same origin's /api/*, never cached; the site gets the SPA rewrite.
    let behaviours = dist["CacheBehaviors"].as_array().expect("behaviours");
    let api = behaviours
        .iter()
        .find(|b| b["PathPattern"] == "/api/*")
        .expect("/api/*");
    assert_eq!(api["TargetOriginId"], "api");
    assert_eq!(api["CachePolicyId"], "4135ea2d-6df8-44a3-9df3-4b5a84be39ad");
    assert!(api["AllowedMethods"].as_array().is_some_and(|m| m.len() == 7));
    assert_eq!(
        dist["DefaultCacheBehavior"]["ViewerProtocolPolicy"],
        "redirect-to-https"
    );
    assert_eq!(
        dist["DefaultCacheBehavior"]["FunctionAssociations"][0]["EventType"],
        "viewer-request"
    );
    let headers = &r["WebSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"];
    let csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
        .as_str()
        .unwrap_or_default();
    assert!(
        csp.contains("script-src 'self';") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'")
    );
    assert_eq!(headers["FrameOptions"]["FrameOption"], "DENY");
    assert_eq!(headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"], 63072000);
    assert_eq!(
        csp,
        tracseq_runner::web::csp(tracseq_runner::web::AWS_UPLOAD_ORIGIN),
        "the runner serves the same policy locally (with moto as the upload origin)"
    );
    // Browsers upload intake documents straight to its bucket: PUT only, from the app.
    let intake = &all
        .iter()
        .find(|(id, _)| id == "IntakeService")
        .expect("intake stack")
        .1;
    let cors = &intake["Resources"]["DocumentsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"][0];
    assert_eq!(cors["AllowedMethods"], serde_json::json!(["PUT"]));
    assert_eq!(cors["AllowedOrigins"], serde_json::json!({"Ref": "UploadOrigins"}));
}
