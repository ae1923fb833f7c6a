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

/// The public deep check is cached: twenty calls at once make at most one round of AWS
/// calls (one `checked_at` among them, for a period of ten seconds).
#[tokio::test]
async fn health_answers_from_a_cached_check() {
    let s = shared();
    let client = s.http();
    let calls = (0..20).map(|_| {
        let client = client.clone();
        let url = format!("{}/api/health", s.api);
        async move {
            let v: Value = client.get(url).send().await.expect("req").json().await.expect("json");
            v["checked_at"].as_str().expect("checked_at").to_owned()
        }
    });
    let times: std::collections::BTreeSet<String> = futures::future::join_all(calls).await.into_iter().collect();
    // A period may end during the burst: then two rounds, never twenty.
    assert!(times.len() <= 2, "{times:?}");
}

#[tokio::test]
async fn health_answers_503_when_moto_is_stopped() {
    let mut config = tracseq_tests::config("sick");
    config.env_overrides.insert("HEALTH_CACHE_SECS".into(), "1".into());
    let (mut stack, e) = tracseq_tests::isolated(config).await;
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
    // The cached answer lasts a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
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
