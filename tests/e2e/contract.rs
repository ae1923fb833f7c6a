//! The OpenAPI contract, judged by schemathesis: on a stack of its own, as a lab
//! administrator, every operation of the served document is exercised (coverage, fuzzing
//! and stateful phases). No answer may be a server error, and every documented answer must
//! match its published schema.

use std::time::Instant;
use tracseq_tests::client::{Api, defaults_ready, new_lab};
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
    let started = Instant::now();
    // The CLI through a wrapper that serialises Python's AST parsing (see the file).
    let out = tokio::process::Command::new(contract_venv().join("bin/python"))
        .arg(workspace().join("tests/fixtures/contract/run_schemathesis.py"))
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
}
