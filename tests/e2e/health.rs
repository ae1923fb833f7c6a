//! The deep health check: 200 with every dependency named, 503 when one is down.

use serde_json::Value;
use tracseq_tests::shared;

#[tokio::test]
async fn health_reports_every_dependency() {
    let s = shared();
    let resp = s.http().get(format!("{}/api/health", s.api)).send().await.expect("req");
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["status"], "ok");
    for check in [
        "table",
        "bucket",
        "queue:tracseq-EventsQueue",
        "queue:tracseq-EventsDeadLetterQueue",
    ] {
        assert_eq!(v["checks"][check]["status"], "ok", "{check}: {v}");
    }
}

#[tokio::test]
async fn health_answers_503_when_moto_is_stopped() {
    let (mut stack, e) = tracseq_tests::isolated(tracseq_tests::config("sick")).await;
    let client = e.http();
    assert_eq!(
        client
            .get(format!("{}/api/health", e.api))
            .send()
            .await
            .expect("req")
            .status(),
        200
    );
    stack.stop_moto().await;
    let started = std::time::Instant::now();
    let resp = client.get(format!("{}/api/health", e.api)).send().await.expect("req");
    assert_eq!(resp.status(), 503);
    let v: Value = resp.json().await.expect("json");
    assert_eq!(v["status"], "unavailable");
    assert_eq!(v["checks"]["table"]["status"], "unavailable");
    assert!(
        started.elapsed().as_secs() < 5,
        "a dead dependency is bounded by the check timeout"
    );
    // The no-I/O route is unaffected.
    assert_eq!(
        client
            .get(format!("{}/api/version", e.api))
            .send()
            .await
            .expect("req")
            .status(),
        200
    );
    stack.shutdown().await;
}
