//! template.yaml is the single source of truth: its routes must match the code's route
//! declarations exactly, the OpenAPI document must cover them, and the templates must
//! pass cfn-lint, `sam validate --lint` and the resource limit.

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
    let problems = check_consistency(&production_model(), &tracseq_system::catalog());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_kind_of_disagreement_is_caught() {
    let catalog = tracseq_system::catalog();
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

#[test]
fn openapi_document_covers_exactly_the_template_routes() {
    let doc = serde_json::to_value(tracseq_system::openapi::document()).expect("serializes");
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
    let out = Command::new(tracseq_tests::venv().join("bin/cfn-lint"))
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

#[test]
fn templates_pass_sam_validate_lint() {
    for t in templates() {
        let out = Command::new(tracseq_tests::sam_venv().join("bin/sam"))
            .args(["validate", "--lint", "--template", &t])
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
    let out = Command::new(tracseq_tests::sam_venv().join("bin/python"))
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
