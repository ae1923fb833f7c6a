//! The shared DynamoDB layer against moto: conditional writes, optimistic locking, guard
//! items under concurrency, transactions with the outbox, cursor pages, TTL, idempotency
//! keys over HTTP, and the local seed.

use aws_sdk_dynamodb::types::AttributeValue;
use futures_free::join_all;
use serde_json::{Value, json};
use std::collections::HashMap;
use tracseq_aws::outbox::{event_from_item, put_event_op};
use tracseq_aws::store::{PageQuery, StoreError, Table, n, now_epoch, s};
use tracseq_core::events::CloudEvent;
use tracseq_core::keyed::LabKeys;
use tracseq_core::pagination::PageRequest;
use tracseq_tests::shared;

mod futures_free {
    /// Run futures concurrently on the test runtime.
    pub async fn join_all<T: Send + 'static>(
        futs: Vec<impl std::future::Future<Output = T> + Send + 'static>,
    ) -> Vec<T> {
        let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.expect("task"));
        }
        out
    }
}

async fn table() -> Table {
    let s = shared();
    Table::new(aws_sdk_dynamodb::Client::new(&s.sdk().await), s.table.clone())
}

fn lab() -> LabKeys {
    LabKeys::new(&ulid::Ulid::new().to_string()).expect("lab")
}

fn record(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("PK".into(), s(pk)),
        ("SK".into(), s(sk)),
        ("version".into(), n(1)),
        ("name".into(), s("x")),
    ])
}

#[tokio::test]
async fn put_new_refuses_a_duplicate() {
    let t = table().await;
    let pk = lab().partition(&["THING", "1"]).expect("pk");
    t.put_new(record(&pk, "THING")).await.expect("first");
    assert_eq!(t.put_new(record(&pk, "THING")).await, Err(StoreError::ConditionFailed));
}

#[tokio::test]
async fn stale_version_update_is_a_409_conflict() {
    let t = table().await;
    let pk = lab().partition(&["THING", "2"]).expect("pk");
    t.put_new(record(&pk, "THING")).await.expect("put");
    assert_eq!(t.update_versioned(&pk, "THING", 1, &[("name", s("y"))]).await, Ok(2));
    let stale = t
        .update_versioned(&pk, "THING", 1, &[("name", s("z"))])
        .await
        .expect_err("stale");
    assert_eq!(stale, StoreError::ConditionFailed);
    assert_eq!(tracseq_core::Problem::from(stale).status, 409);
    let missing = t.update_versioned(&format!("{pk}X"), "THING", 1, &[]).await;
    assert_eq!(missing, Err(StoreError::ConditionFailed));
    let item = t.get(&pk, "THING").await.expect("get").expect("item");
    assert_eq!(item["name"], s("y"));
}

#[tokio::test]
async fn concurrent_claims_on_one_guard_have_exactly_one_winner() {
    let t = table().await;
    let lab = lab();
    let guard = lab.partition(&["BARCODE", "BC-1"]).expect("guard");
    let futs: Vec<_> = (0..20)
        .map(|i| {
            let (t, guard, lab) = (t.clone(), guard.clone(), lab.clone());
            async move {
                let rec = lab.partition(&["SAMPLE", &format!("s{i}")]).expect("pk");
                let ops = vec![
                    t.guard_op(&guard, "BARCODE", &format!("s{i}")).expect("op"),
                    t.put_new_op(record(&rec, "SAMPLE")).expect("op"),
                ];
                t.transact(ops).await
            }
        })
        .collect();
    let results = join_all(futs).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            r.is_condition_failure() || *r == StoreError::TransactionConflict,
            "{r:?}"
        );
        if let Some(i) = r.failed_action() {
            assert_eq!(i, 0, "the guard is the action that failed");
        }
    }
    // Losers wrote nothing: only the winner's sample exists.
    let mut samples = 0;
    for i in 0..20 {
        let rec = lab.partition(&["SAMPLE", &format!("s{i}")]).expect("pk");
        samples += usize::from(t.get(&rec, "SAMPLE").await.expect("get").is_some());
    }
    assert_eq!(samples, 1);
}

#[tokio::test]
async fn state_change_and_outbox_event_commit_together_or_not_at_all() {
    let t = table().await;
    let lab = lab();
    let pk = lab.partition(&["SAMPLE", "e1"]).expect("pk");
    let ev = CloudEvent::new(
        "sample.created",
        lab.lab_id(),
        "sample/e1",
        "corr-1",
        json!({"id": "e1"}),
    )
    .expect("event");
    t.transact(vec![
        t.put_new_op(record(&pk, "SAMPLE")).expect("op"),
        put_event_op(&t, &ev).expect("op"),
    ])
    .await
    .expect("commit");
    let page = t
        .query_page(&PageQuery::of(&lab.events_day(ev.day())), &PageRequest::first(10))
        .await
        .expect("query");
    assert_eq!(page.items.len(), 1);
    let back = event_from_item(page.items[0].clone()).expect("event");
    assert_eq!(back, ev);

    // A failing state change takes its event down with it.
    let ev2 = CloudEvent::new("sample.created", lab.lab_id(), "sample/e1", "corr-2", json!({})).expect("event");
    let dup = t
        .transact(vec![
            t.put_new_op(record(&pk, "SAMPLE")).expect("op"),
            put_event_op(&t, &ev2).expect("op"),
        ])
        .await;
    assert!(dup.is_err_and(|e| e.failed_action() == Some(0)));
    let subject = t
        .query_page(
            &PageQuery::of(&format!("{}#SUBJECT#sample/e1", lab.root())).on_index("GSI1"),
            &PageRequest::first(10),
        )
        .await
        .expect("query");
    assert_eq!(subject.items.len(), 1, "only the committed event exists");
}

#[tokio::test]
async fn pages_follow_cursors_and_cursors_stay_in_their_partition() {
    let t = table().await;
    let lab = lab();
    let pk = lab.partition(&["LIST"]).expect("pk");
    for i in 0..7 {
        t.put_new(record(&pk, &format!("ITEM#{i:02}"))).await.expect("put");
    }
    // An expired item is invisible even though DynamoDB (and moto) has not deleted it.
    let mut expired = record(&pk, "ITEM#99");
    expired.insert("expires_at".into(), n(now_epoch() - 10));
    t.put_new(expired).await.expect("put");
    assert!(t.get(&pk, "ITEM#99").await.expect("get").is_none());

    let q = PageQuery::of(&pk).with_prefix("ITEM#");
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = t
            .query_page(
                &q,
                &PageRequest {
                    limit: 3,
                    cursor: cursor.clone(),
                },
            )
            .await
            .expect("page");
        seen.extend(page.items.iter().map(|i| i["SK"].as_s().expect("sk").clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let want: Vec<String> = (0..7).map(|i| format!("ITEM#{i:02}")).collect();
    assert_eq!(seen, want);

    // A cursor from this lab's list is refused on another lab's list.
    let first = t.query_page(&q, &PageRequest::first(3)).await.expect("page");
    let other = LabKeys::new("another-lab")
        .expect("lab")
        .partition(&["LIST"])
        .expect("pk");
    let err = t
        .query_page(
            &PageQuery::of(&other),
            &PageRequest {
                limit: 3,
                cursor: first.next_cursor,
            },
        )
        .await
        .expect_err("foreign cursor");
    assert_eq!((err.status, err.code.as_str()), (400, "invalid_cursor"));
}

async fn order(key: Option<&str>, lab: &str, item: &str) -> reqwest::Response {
    let s = shared();
    let mut req = s
        .http()
        .post(format!("{}/api/_test/orders", s.api))
        .header("content-type", "application/json")
        .body(json!({"lab": lab, "item": item}).to_string());
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    req.send().await.expect("req")
}

fn executions(item: &str) -> u32 {
    tracseq_tests::fixtures::seen()
        .lock()
        .map(|s| s.order_executions.get(item).copied().unwrap_or(0))
        .unwrap_or(0)
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer() {
    let (lab, item, key) = (
        ulid::Ulid::new().to_string(),
        ulid::Ulid::new().to_string(),
        ulid::Ulid::new().to_string(),
    );
    let first = order(Some(&key), &lab, &item).await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].clone();
    let first_body: Value = first.json().await.expect("json");
    let again = order(Some(&key), &lab, &item).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], location);
    assert_eq!(again.json::<Value>().await.expect("json"), first_body);
    assert_eq!(executions(&item), 1);

    let reused = order(Some(&key), &lab, "something else").await;
    assert_eq!(reused.status(), 422);
    assert_eq!(
        reused.json::<Value>().await.expect("json")["code"],
        "idempotency_key_reused"
    );

    // The same key in another lab is another key.
    assert_eq!(
        order(Some(&key), &ulid::Ulid::new().to_string(), &item).await.status(),
        201
    );

    let bad = order(Some("has spaces"), &lab, &item).await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.json::<Value>().await.expect("json")["code"],
        "invalid_idempotency_key"
    );
}

#[tokio::test]
async fn concurrent_duplicates_execute_once() {
    let (lab, item, key) = (
        ulid::Ulid::new().to_string(),
        ulid::Ulid::new().to_string(),
        ulid::Ulid::new().to_string(),
    );
    let futs: Vec<_> = (0..8)
        .map(|_| {
            let (lab, item, key) = (lab.clone(), item.clone(), key.clone());
            async move { order(Some(&key), &lab, &item).await.status().as_u16() }
        })
        .collect();
    let statuses = join_all(futs).await;
    assert_eq!(executions(&item), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    assert!(statuses.contains(&201));
    // Once the first has finished, every retry is a replay.
    assert_eq!(order(Some(&key), &lab, &item).await.status(), 201);
    assert_eq!(executions(&item), 1);
}

#[tokio::test]
async fn local_admin_is_seeded_once_with_an_argon2id_hash() {
    let s = shared();
    let t = table().await;
    let guard = t
        .get("EMAIL#admin@lab.local", "EMAIL")
        .await
        .expect("get")
        .expect("email guard");
    let lab = guard["lab_id"].as_s().expect("lab").clone();
    let user = guard["user_id"].as_s().expect("user").clone();
    assert_eq!(Some(&lab), s.seeded_lab.as_ref());
    let item = t
        .get(&format!("LAB#{lab}"), &format!("USER#{user}"))
        .await
        .expect("get")
        .expect("user");
    let hash = item["password_hash"].as_s().expect("hash");
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    use argon2::PasswordVerifier;
    let parsed = argon2::PasswordHash::new(hash).expect("phc");
    assert!(argon2::Argon2::default().verify_password(b"admin123", &parsed).is_ok());
    assert_eq!(item["operator"], AttributeValue::Bool(true));
    // A second seed is a no-op.
    assert_eq!(tracseq_runner::seed::seed(&t).await.expect("seed"), None);
}
