//! Functions invoked by the platform rather than by HTTP: Step Functions tasks, SQS event
//! sources (batches, partial failures, dead-letter queue), DynamoDB streams and schedules.

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{Value, json};
use std::time::Duration;
use tracseq_tests::fixtures::seen;
use tracseq_tests::{eventually, shared};

async fn run_saga(input: Value) -> (ExecutionStatus, Option<String>, Option<String>) {
    let s = shared();
    let sfn = aws_sdk_sfn::Client::new(&s.sdk().await);
    let arn = format!(
        "arn:aws:states:us-east-1:123456789012:stateMachine:{}",
        s.function("SagaStateMachine")
    );
    let started = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .name(ulid::Ulid::new().to_string())
        .input(input.to_string())
        .send()
        .await
        .expect("start execution");
    let exec = started.execution_arn().to_owned();
    let done = eventually(30, || {
        let (sfn, exec) = (sfn.clone(), exec.clone());
        async move {
            let d = sfn.describe_execution().execution_arn(exec).send().await.ok()?;
            (d.status() != &ExecutionStatus::Running).then_some(d)
        }
    })
    .await
    .expect("execution finishes");
    (
        done.status().clone(),
        done.output().map(str::to_owned),
        done.error().map(str::to_owned),
    )
}

#[tokio::test]
async fn state_machine_runs_the_rust_task_through_moto() {
    let (status, output, _) = run_saga(json!({"order": "o-7"})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    let out: Value = serde_json::from_str(&output.expect("output")).expect("json");
    assert_eq!(out["reserve"], json!({"reserved": true, "order": "o-7"}));
}

#[tokio::test]
async fn catch_on_a_domain_error_type_runs_the_compensation() {
    let marker = ulid::Ulid::new().to_string();
    let (status, _, error) = run_saga(json!({"order": marker, "fail_with": "StorageFull"})).await;
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(error.as_deref(), Some("Compensated"));
    let compensations = seen().lock().map(|s| s.compensations.clone()).unwrap_or_default();
    let mine: Vec<&Value> = compensations.iter().filter(|c| c["order"] == marker).collect();
    assert_eq!(mine.len(), 1, "{compensations:?}");
    assert_eq!(mine[0]["error"]["Error"], "StorageFull");
}

async fn send(bodies: &[String]) {
    let s = shared();
    let sqs = aws_sdk_sqs::Client::new(&s.sdk().await);
    for b in bodies {
        sqs.send_message()
            .queue_url(&s.queues["FixtureQueue"])
            .message_body(b)
            .send()
            .await
            .expect("send");
    }
}

fn attempts(body: &str) -> u32 {
    seen()
        .lock()
        .map(|s| s.sqs_attempts.get(body).copied().unwrap_or(0))
        .unwrap_or(0)
}

fn delivered(body: &str) -> usize {
    seen()
        .lock()
        .map(|s| s.sqs_bodies.iter().filter(|b| *b == body).count())
        .unwrap_or(0)
}

#[tokio::test]
async fn sqs_message_reaches_its_consumer() {
    let body = format!("ok:{}", ulid::Ulid::new());
    send(std::slice::from_ref(&body)).await;
    assert!(
        eventually(15, || async { (delivered(&body) == 1).then_some(()) })
            .await
            .is_some()
    );
}

#[tokio::test]
async fn partially_failed_batch_redelivers_only_the_failed_message() {
    let id = ulid::Ulid::new();
    let ok = format!("ok:{id}");
    let flaky = format!("fail-once:{id}");
    send(&[ok.clone(), flaky.clone()]).await;
    assert!(
        eventually(20, || async { (delivered(&flaky) == 1).then_some(()) })
            .await
            .is_some(),
        "flaky message redelivered and processed"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(attempts(&ok), 1, "the successful message is not redelivered");
    assert_eq!(delivered(&ok), 1);
    assert_eq!(attempts(&flaky), 2);
}

#[tokio::test]
async fn poison_message_lands_in_the_dead_letter_queue_after_the_redrive_count() {
    let s = shared();
    let body = format!("poison:{}", ulid::Ulid::new());
    send(std::slice::from_ref(&body)).await;
    let sqs = aws_sdk_sqs::Client::new(&s.sdk().await);
    let dlq = s.queues["FixtureDeadLetterQueue"].clone();
    let found = tracseq_tests::queue_message(&sqs, &dlq, 30, |b| b == body).await;
    assert!(found.is_some(), "poison message in DLQ");
    assert_eq!(attempts(&body), 3, "maxReceiveCount deliveries, then the DLQ");
    assert_eq!(delivered(&body), 0);
}

#[tokio::test]
async fn table_stream_reaches_its_consumer() {
    let s = shared();
    let ddb = aws_sdk_dynamodb::Client::new(&s.sdk().await);
    let pk = format!("STREAM#{}", ulid::Ulid::new());
    ddb.put_item()
        .table_name(&s.fixture_table)
        .item("PK", aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()))
        .item("SK", aws_sdk_dynamodb::types::AttributeValue::S("X".into()))
        .send()
        .await
        .expect("put");
    let seen_it = eventually(15, || {
        let pk = pk.clone();
        async move { seen().lock().ok()?.stream_keys.contains(&pk).then_some(()) }
    })
    .await;
    assert!(seen_it.is_some(), "stream record for {pk} delivered");
}

#[tokio::test]
async fn schedule_fires_with_an_eventbridge_event() {
    let s = shared();
    let before = seen().lock().map(|s| s.ticks.len()).unwrap_or(0);
    let resp = s
        .http()
        .post(format!("{}/_runner/schedules/{}", s.edge, s.function("TickFunction")))
        .send()
        .await
        .expect("fire");
    assert_eq!(resp.status(), 200);
    let ticks = seen().lock().map(|s| s.ticks.clone()).unwrap_or_default();
    assert_eq!(ticks.len(), before + 1);
    let last = ticks.last().expect("tick");
    assert_eq!(last["detail-type"], "Scheduled Event");
    assert_eq!(last["source"], "aws.events");
    let resp = s
        .http()
        .post(format!("{}/_runner/schedules/{}", s.edge, s.function("TaskFunction")))
        .send()
        .await
        .expect("fire");
    assert_eq!(resp.status(), 404, "a function without a schedule cannot be fired");
}
