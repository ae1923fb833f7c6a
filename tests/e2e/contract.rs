//! The OpenAPI contract, judged by schemathesis: on a stack of its own, as a lab
//! administrator, every operation of the served document is exercised (coverage, fuzzing
//! and stateful phases). No answer may be a server error, and every documented answer must
//! match its published schema.

use serde_json::{Value, json};
use std::time::Instant;
use tracseq_tests::client::{Api, Tokens, defaults_ready, new_lab};
use tracseq_tests::lims::{published_template, reference_template, validated};
use tracseq_tests::{config, contract_venv, isolated, workspace};

/// Operations that would end the run's own session (it would then test 401s only).
const SESSION_ENDING: &str = "^/api/(auth/logout|users/me/password|users/me/sessions)";
const SESSION_ENDING_PATHS: [&str; 3] = ["/api/auth/logout", "/api/users/me/password", "/api/users/me/sessions"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let mut cfg = config("contract");
    // Fuzzing sends thousands of requests; the API's rate limit is tested elsewhere.
    cfg.throttle = false;
    let (_stack, e) = isolated(cfg).await;
    let api = Api::new(&e.api);
    let admin = new_lab(&api).await;
    defaults_ready(&api, &admin).await;
    let reports = workspace().join("target/schemathesis");
    let _ = std::fs::remove_dir_all(&reports);
    std::fs::create_dir_all(&reports).expect("report directory");
    let config = reports.join("schemathesis.toml");
    std::fs::write(&config, test_data(&api, &admin).await).expect("schemathesis config");
    let started = Instant::now();
    // The CLI through a wrapper that serialises Python's AST parsing (see the file).
    let out = tokio::process::Command::new(contract_venv().join("bin/python"))
        .arg(workspace().join("tests/fixtures/contract/run_schemathesis.py"))
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/api/openapi.json", e.api)])
        .args(["--header", &format!("Authorization: Bearer {}", admin.access)])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", "10", "--workers", "2", "--seed", "20261203"])
        .args(["--exclude-path-regex", SESSION_ENDING])
        .args(["--report", "junit", "--report-dir"])
        .arg(&reports)
        .arg("--no-color")
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .await
        .expect("schemathesis runs (make venv)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: String = stdout
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!("schemathesis, {:.0} s:\n{summary}", started.elapsed().as_secs_f64());
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The run covered the document: every operation but the excluded ones, thousands of cases.
    let number = |label: &str| -> u64 {
        summary
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let routes = tracseq_runner::catalog::routes();
    let excluded = routes
        .iter()
        .filter(|r| SESSION_ENDING_PATHS.iter().any(|p| r.path.starts_with(p)))
        .count();
    // schemathesis does not test the route that serves the document it reads.
    assert_eq!(number("Tested: ") as usize, routes.len() - excluded - 1, "{summary}");
    let generated = summary
        .lines()
        .find(|l| l.contains(" generated, "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(generated >= 3000, "only {generated} cases:\n{summary}");
    // Reported, not asserted: which operations draw the warning moves with the data a
    // run creates (a handful of generated cases per phase), so a check of the list would
    // fail at random. Those not in BEYOND_THE_SCHEMA are printed for a person to judge.
    let mismatched = listed_after(&stdout, "Schema validation mismatch:");
    let unexplained: Vec<&String> = mismatched
        .iter()
        .filter(|op| !BEYOND_THE_SCHEMA.iter().any(|(name, _)| name == op))
        .collect();
    eprintln!(
        "mostly rejected: {} operations, {} of them not explained by BEYOND_THE_SCHEMA: {unexplained:?}",
        mismatched.len(),
        unexplained.len()
    );
}

/// Operations schemathesis may report as refusing most generated bodies although the
/// schema states every rule JSON Schema can: what they refuse is about the lab's records,
/// which no schema can know, or a comparison between two values. (Body values that name real records are given for fuzzing and stateful
/// runs in `test_data`; the coverage phase draws boundary values and takes none.)
const BEYOND_THE_SCHEMA: &[(&str, &str)] = &[
    (
        "POST /api/auth/password/reset",
        "the token must be one the lab's email sent, unused and unexpired",
    ),
    ("GET /api/samples/{id}/history", "a cursor must be one the list gave"),
    ("POST /api/imports", "the template must exist and be published"),
    (
        "POST /api/libraries",
        "the sample must exist; the kit must be the lab's and name the index",
    ),
    (
        "POST /api/pools/{id}/libraries",
        "the libraries must exist, at the pool's version",
    ),
    ("POST /api/samples", "a template or a parent named must exist"),
    ("POST /api/samples/labels", "the samples must exist"),
    ("POST /api/sequencing/jobs", "the samples must exist"),
    (
        "POST /api/sequencing/runs",
        "the flow cell must be one of the lab's for the instrument; pools must exist",
    ),
    ("POST /api/storage/disposals", "the samples must exist and be stored"),
    (
        "POST /api/storage/moves",
        "the samples and the box must exist; the position must be free",
    ),
    (
        "POST /api/storage/placements",
        "the samples and the box must exist; the position must be free",
    ),
    ("POST /api/storage/retrievals", "the samples must exist and be stored"),
    ("POST /api/storage/returns", "the samples must exist and be checked out"),
    (
        "POST /api/submissions",
        "the import must exist, be completed and unused",
    ),
    (
        "PATCH /api/notifications/subscriptions/{id}",
        "quiet hours must not start when they end (a comparison between fields)",
    ),
    (
        "POST /api/notifications/templates/{id}/preview",
        "the template's variables must have values in the data given",
    ),
    (
        "PUT /api/intake/settings",
        "a keyed provider needs a key given now or stored before",
    ),
    (
        "PUT /api/sequencing/qc-thresholds",
        "a pass band must lie inside its warning band (an order between numbers)",
    ),
];

/// The `  - METHOD /path` lines of the warning that starts with `heading`.
fn listed_after(stdout: &str, heading: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(heading))
        .skip(1)
        .skip_while(|l| l.trim().is_empty())
        .map_while(|l| l.trim().strip_prefix("- ").map(str::to_owned))
        .collect()
}

/// Records the lab holds, named where an operation's body refers to one: without them
/// every body that names a sample, a kit, a published template or a pool is refused as
/// naming nothing, and schemathesis could never see those operations succeed. The schema
/// states the shape; these are the lab's state (`schemathesis.toml`, operation by
/// operation; `body.x` replaces that field of every generated body).
async fn test_data(api: &Api, admin: &Tokens) -> String {
    let t = &admin.access;
    let samples = validated(api, admin, 3, "DNA", Some("CONTRACT")).await;
    let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_owned();
    let (labelled, jobbed, library_of) = (id(&samples[0]), id(&samples[1]), id(&samples[2]));
    let template = published_template(api, t, reference_template()).await;
    let (status, library) = api
        .post(
            "/api/libraries",
            Some(t),
            json!({ "sample_id": library_of, "kit": "nextera-xt-v2", "i7": "N701" }),
        )
        .await;
    assert_eq!(status, 201, "{library}");
    let (status, pool) = api
        .post("/api/pools", Some(t), json!({ "name": "Contract pool" }))
        .await;
    assert_eq!(status, 201, "{pool}");
    let operations = [
        ("POST /api/samples/labels", json!({ "body.sample_ids": [labelled] })),
        ("POST /api/sequencing/jobs", json!({ "body.sample_ids": [jobbed] })),
        (
            "POST /api/libraries",
            json!({ "body.sample_id": library_of, "body.kit": "nextera-xt-v2", "body.i7": "N702" }),
        ),
        ("POST /api/imports", json!({ "body.template_id": template })),
        (
            "POST /api/pools/{id}/libraries",
            json!({ "path.id": id(&pool), "body.library_ids": [id(&library)] }),
        ),
        (
            "POST /api/sequencing/runs",
            json!({ "body.instrument": "MiSeq", "body.flow_cell": "MiSeq v3",
                "body.lanes": [{ "lane": 1, "pool_ids": [id(&pool)] }] }),
        ),
        (
            "POST /api/submissions",
            json!({ "body.faults": [], "body.samples": [{ "sample_type": "DNA", "name": "Contract submission" }] }),
        ),
    ];
    operations
        .iter()
        .map(|(name, parameters)| {
            let mut table = format!("[[operations]]\ninclude-name = {name:?}\n[operations.parameters]\n");
            for (k, v) in parameters.as_object().into_iter().flatten() {
                table.push_str(&format!("{k:?} = {}\n", toml_value(v)));
            }
            table
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A JSON value as TOML writes it (inline tables and arrays). TOML has no null: a field
/// cannot be overridden with one.
fn toml_value(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("[{}]", a.iter().map(toml_value).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{ {} }}",
            o.iter()
                .map(|(k, v)| format!("{k:?} = {}", toml_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}
