//! The lab's event history over HTTP: newest first, by type pattern, subject and window,
//! paged with a cursor across day partitions; another lab's events never show.

use serde_json::{Value, json};
use tracseq_tests::client::{Api, new_lab};
use tracseq_tests::shared;

fn api() -> Api {
    Api::new(&shared().api)
}

fn types(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_event_history_filters_pages_and_stays_in_the_lab() {
    let api = api();
    let admin = new_lab(&api).await;
    let t = admin.access.as_str();
    let (_, s) = api.post("/api/samples", Some(t), json!({"sample_type": "DNA"})).await;
    let id = s["id"].as_str().unwrap();
    api.post(
        &format!("/api/samples/{id}/transitions"),
        Some(t),
        json!({"to": "validated"}),
    )
    .await;
    api.post("/api/pools", Some(t), json!({"name": "P"})).await;

    let (status, all) = api.get("/api/events", t).await;
    assert_eq!(status, 200, "{all}");
    let all_types = types(&all);
    assert_eq!(
        all_types[0], "tracseq.sequencing.pool_created",
        "newest first: {all_types:?}"
    );
    for k in [
        "tracseq.sample.created",
        "tracseq.sample.validated",
        "tracseq.sample.status_changed",
    ] {
        assert!(all_types.iter().any(|x| x == k), "{k} in {all_types:?}");
    }
    assert_eq!(all["items"][0]["specversion"], "1.0");
    assert_eq!(all["items"][0]["labid"], json!(admin.lab_id()));

    let (_, samples) = api.get("/api/events?type=sample.*", t).await;
    assert!(types(&samples).iter().all(|k| k.starts_with("tracseq.sample.")));
    let (_, created) = api.get("/api/events?type=tracseq.sample.created", t).await;
    assert_eq!(types(&created), ["tracseq.sample.created"]);
    let (_, about) = api.get(&format!("/api/events?subject=samples/{id}"), t).await;
    assert_eq!(types(&about).len(), 3, "{about}");

    // One at a time, the cursor walks every event exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/events?limit=1&cursor={c}"),
            None => "/api/events?limit=1".to_owned(),
        };
        let (status, page) = api.get(&path, t).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let every: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, every);

    let (_, later) = api.get("/api/events?from=2099-01-01&to=2099-01-02", t).await;
    assert!(later["items"].as_array().unwrap().is_empty());
    for (query, field) in [
        ("type=sample", "type"),
        ("from=yesterday", "from"),
        ("from=2026-01-01&to=2026-11-01", "from"),
        ("subject=a%23b", "subject"),
    ] {
        let (status, v) = api.get(&format!("/api/events?{query}"), t).await;
        assert_eq!(
            (status, v["errors"][0]["field"].as_str()),
            (422, Some(field)),
            "{query}: {v}"
        );
    }
    assert_eq!(
        api.get("/api/events?cursor=bm9wZQ", t).await.1["code"],
        "invalid_cursor"
    );

    let other = new_lab(&api).await;
    let (_, theirs) = api.get("/api/events", &other.access).await;
    assert!(
        !types(&theirs).iter().any(|k| k.starts_with("tracseq.sample.")),
        "{theirs}"
    );
    let (_, theirs) = api
        .get(&format!("/api/events?subject=samples/{id}"), &other.access)
        .await;
    assert!(theirs["items"].as_array().unwrap().is_empty());

    let routes: Vec<_> = tracseq_events::FUNCTIONS.iter().filter_map(|f| f.route).collect();
    tracseq_tests::client::check_role_matrix(&api, &admin, &routes).await;
}
