//! Sample submissions end to end: the saga runs in moto's Step Functions through the
//! runner, with the real definition (statemachines/sample-submission.asl.json). Every
//! scenario has a lab of its own, plants its faults in its own submission, and ends with
//! the invariant checker.

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use tracseq_tests::client::{Api, Tokens, new_lab, new_user};
use tracseq_tests::invariants::assert_lab_sound;
use tracseq_tests::lims::events_of;
use tracseq_tests::{eventually, shared};

fn api() -> Api {
    Api::new(&shared().api)
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// A freezer holding a rack holding a `rows` x `columns` box; the box's id.
async fn a_box(api: &Api, t: &Tokens, rows: u16, columns: u16) -> String {
    a_box_in(api, t, "freezer", rows, columns).await
}

/// The same in a freezer of `zone`.
async fn a_box_in(api: &Api, t: &Tokens, zone: &str, rows: u16, columns: u16) -> String {
    let mut parent = None;
    for body in [
        json!({"name": format!("FRZ-{zone}"), "kind": "freezer", "zone": zone}),
        json!({"name": "R01", "kind": "rack"}),
        json!({"name": "BOX-S", "kind": "box", "rows": rows, "columns": columns}),
    ] {
        let mut body = body;
        if let Some(p) = &parent {
            body["parent_id"] = json!(p);
        }
        let (status, v) = api.post("/api/storage/locations", Some(&t.access), body).await;
        assert_eq!(status, 201, "{v}");
        parent = Some(id(&v));
    }
    parent.unwrap_or_default()
}

fn dna(n: usize, tag: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"sample_type": "DNA", "name": format!("{tag}-{i}"), "volume": 20, "volume_unit": "µL"}))
        .collect()
}

async fn submit(api: &Api, t: &Tokens, body: Value) -> Value {
    let (status, v, headers) = api
        .send(Method::POST, "/api/submissions", Some(&t.access), Some(body), &[])
        .await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["status"], "running");
    let location = headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default();
    assert_eq!(location, format!("/api/submissions/{}", id(&v)));
    v
}

/// The submission once its saga has ended.
async fn finished(api: &Api, t: &Tokens, sub: &str) -> Value {
    eventually(180, || async {
        let (status, v) = api.get(&format!("/api/submissions/{sub}"), &t.access).await;
        assert_eq!(status, 200, "{v}");
        (v["status"] != "running").then_some(v)
    })
    .await
    .unwrap_or_else(|| panic!("submission {sub} never ended"))
}

fn step_names(v: &Value) -> Vec<(String, String)> {
    v["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn steps(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

async fn sample(api: &Api, t: &Tokens, sid: &str) -> Value {
    let (status, v) = api.get(&format!("/api/samples/{sid}"), &t.access).await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn box_fill(api: &Api, t: &Tokens, box_id: &str) -> u64 {
    let (status, v) = api.get(&format!("/api/storage/locations/{box_id}"), &t.access).await;
    assert_eq!(status, 200, "{v}");
    v["occupied"].as_u64().unwrap_or(u64::MAX)
}

#[tokio::test]
async fn a_submission_registers_validates_and_stores_its_samples() {
    let api = api();
    let t = new_lab(&api).await;
    let box_id = a_box(&api, &t, 8, 12).await;
    let sub = submit(
        &api,
        &t,
        json!({"samples": dna(30, "ok"), "storage": {"location_ids": [box_id]}}),
    )
    .await;
    let done = finished(&api, &t, &id(&sub)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        step_names(&done),
        steps(&[
            ("register", "succeeded"),
            ("validate", "succeeded"),
            ("allocate", "succeeded"),
            ("complete", "succeeded")
        ])
    );
    for s in done["steps"].as_array().unwrap() {
        assert!(
            s["started_at"].as_str().unwrap() <= s["ended_at"].as_str().unwrap(),
            "{s}"
        );
    }
    let ids = done["sample_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 30);
    assert_eq!(done["positions"].as_array().unwrap().len(), 30);
    let first = sample(&api, &t, ids[0].as_str().unwrap()).await;
    assert_eq!(first["status"], "in_storage");
    assert_eq!(first["name"], "ok-0");
    assert_eq!(first["storage"]["position"], "A1");
    assert_eq!(box_fill(&api, &t, &box_id).await, 30);
    let history = events_of(&t.lab_id(), &format!("submissions/{}", id(&sub))).await;
    assert!(
        history.contains(&"tracseq.submission.started".to_owned()),
        "{history:?}"
    );
    assert!(
        history.contains(&"tracseq.submission.completed".to_owned()),
        "{history:?}"
    );
    let (status, page) = api.get("/api/submissions?limit=5", &t.access).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["id"], sub["id"]);
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn without_a_storage_target_the_samples_end_validated() {
    let api = api();
    let t = new_lab(&api).await;
    let sub = submit(&api, &t, json!({"samples": dna(3, "nostore")})).await;
    let done = finished(&api, &t, &id(&sub)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        step_names(&done),
        steps(&[
            ("register", "succeeded"),
            ("validate", "succeeded"),
            ("complete", "succeeded")
        ])
    );
    let first = sample(&api, &t, done["sample_ids"][0].as_str().unwrap()).await;
    assert_eq!(first["status"], "validated");
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn a_bad_row_fails_validation_and_rejects_what_was_registered() {
    let api = api();
    let t = new_lab(&api).await;
    let mut samples = dna(30, "bad");
    samples[27] = json!({"sample_type": "Plasma-ish", "name": "bad-27"});
    let sub = submit(&api, &t, json!({"samples": samples})).await;
    let done = finished(&api, &t, &id(&sub)).await;
    assert_eq!(done["status"], "compensated", "{done}");
    assert_eq!(done["error"]["code"], "ValidationFailed");
    assert_eq!(done["error"]["step"], "validate");
    assert!(
        done["error"]["detail"].as_str().unwrap().contains("\"index\":27"),
        "{done}"
    );
    assert_eq!(done["sample_ids"], json!([]));
    // The first chunk (24 samples) was registered, the second wrote nothing: 24 rejected.
    let (_, page) = api.get("/api/samples?status=rejected&limit=100", &t.access).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 24, "{page}");
    let one = &page["items"][0];
    let (_, history) = api.get(&format!("/api/samples/{}/history", id(one)), &t.access).await;
    let reason = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|h| h["reason"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(reason.contains("ValidationFailed"), "{history}");
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn a_full_box_releases_the_positions_taken_and_rejects_the_samples() {
    let api = api();
    let t = new_lab(&api).await;
    let box_id = a_box(&api, &t, 2, 2).await;
    let sub = submit(
        &api,
        &t,
        json!({"samples": dna(6, "full"), "storage": {"location_ids": [box_id]}}),
    )
    .await;
    let done = finished(&api, &t, &id(&sub)).await;
    assert_eq!(done["status"], "compensated", "{done}");
    assert_eq!(done["error"]["code"], "StorageFull");
    assert_eq!(done["error"]["step"], "allocate");
    assert_eq!(
        box_fill(&api, &t, &box_id).await,
        0,
        "the four placements were released"
    );
    let (_, page) = api.get("/api/samples?status=rejected&limit=100", &t.access).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 6, "{page}");
    let (_, trail) = api
        .get(&format!("/api/samples/{}/custody", id(&page["items"][0])), &t.access)
        .await;
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["action"].as_str())
        .collect();
    assert!(actions.is_empty() || actions == ["placed", "released"], "{trail}");
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn transient_faults_and_a_crash_are_retried_and_the_submission_completes() {
    let api = api();
    let t = new_lab(&api).await;
    let box_id = a_box(&api, &t, 4, 4).await;
    let sub = submit(
        &api,
        &t,
        json!({
            "samples": dna(5, "retry"),
            "storage": {"location_ids": [box_id]},
            "faults": [
                {"step": "register", "kind": "crash"},
                {"step": "allocate", "kind": "transient", "times": 2}
            ]
        }),
    )
    .await;
    let done = finished(&api, &t, &id(&sub)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["positions"].as_array().unwrap().len(), 5);
    assert_eq!(box_fill(&api, &t, &box_id).await, 5);
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn a_permanent_failure_at_each_step_compensates() {
    let api = api();
    let t = new_lab(&api).await;
    let box_id = a_box(&api, &t, 8, 12).await;
    let runs = ["register", "validate", "allocate", "complete"].map(|step| {
        let (api, t, box_id) = (api.clone(), &t, box_id.clone());
        async move {
            let sub = submit(
                &api,
                t,
                json!({
                    "samples": dna(3, step),
                    "storage": {"location_ids": [box_id]},
                    "faults": [{"step": step, "kind": "permanent"}]
                }),
            )
            .await;
            (step, finished(&api, t, &id(&sub)).await)
        }
    });
    for (step, done) in join_all(runs).await {
        assert_eq!(done["status"], "compensated", "{step}: {done}");
        assert_eq!(done["error"]["code"], "InjectedFault", "{step}: {done}");
        assert_eq!(done["error"]["step"], step, "{done}");
    }
    assert_eq!(box_fill(&api, &t, &box_id).await, 0);
    assert_lab_sound(shared(), &t.lab_id()).await;
}

/// A submission that asks for sequencing gets its job; a later failure cancels it.
#[tokio::test]
async fn a_sequencing_job_is_created_and_cancelled_by_the_compensation() {
    let api = api();
    let t = new_lab(&api).await;
    let box_id = a_box(&api, &t, 8, 12).await;
    let ask = |tag: &str, faults: Value| {
        json!({
            "samples": dna(3, tag),
            "storage": {"location_ids": [box_id]},
            "sequencing_job": {"name": format!("WGS {tag}"), "priority": "high"},
            "faults": faults
        })
    };
    let ok = submit(&api, &t, ask("job", json!([]))).await;
    let done = finished(&api, &t, &id(&ok)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["job_id"], ok["id"], "the job's id is the submission's: {done}");
    assert!(
        step_names(&done).contains(&("create_job".to_owned(), "succeeded".to_owned())),
        "{done}"
    );
    let (status, job) = api.get(&format!("/api/sequencing/jobs/{}", id(&ok)), &t.access).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(
        (
            job["status"].as_str(),
            job["priority"].as_str(),
            job["requested_by"].clone()
        ),
        (Some("submitted"), Some("high"), json!(t.user_id()))
    );
    let mut want: Vec<Value> = done["sample_ids"].as_array().unwrap().clone();
    let mut got: Vec<Value> = job["sample_ids"].as_array().unwrap().clone();
    want.sort_by_key(|v| v.to_string());
    got.sort_by_key(|v| v.to_string());
    assert_eq!(got, want);

    // A failure after the job was made (at complete) cancels it; a failure in the job
    // step itself leaves no job behind.
    let late = submit(
        &api,
        &t,
        ask("late", json!([{"step": "complete", "kind": "permanent"}])),
    )
    .await;
    let early = submit(
        &api,
        &t,
        ask("early", json!([{"step": "create_job", "kind": "permanent"}])),
    )
    .await;
    let late_done = finished(&api, &t, &id(&late)).await;
    assert_eq!(
        (late_done["status"].as_str(), late_done["error"]["step"].as_str()),
        (Some("compensated"), Some("complete")),
        "{late_done}"
    );
    let (_, job) = api.get(&format!("/api/sequencing/jobs/{}", id(&late)), &t.access).await;
    assert_eq!(job["status"], "cancelled", "{job}");
    assert!(job["status_reason"].as_str().unwrap().contains(&id(&late)), "{job}");
    let early_done = finished(&api, &t, &id(&early)).await;
    assert_eq!(early_done["error"]["step"], "create_job", "{early_done}");
    assert_eq!(
        api.get(&format!("/api/sequencing/jobs/{}", id(&early)), &t.access)
            .await
            .0,
        404
    );
    assert_eq!(
        box_fill(&api, &t, &box_id).await,
        3,
        "only the completed submission's samples"
    );
    assert_lab_sound(shared(), &t.lab_id()).await;
}

/// A finished import is a submission's source: its samples are taken on (validated and
/// stored), and one import feeds one submission.
#[tokio::test]
async fn a_finished_import_is_submitted_once() {
    use tracseq_tests::lims;
    let api = api();
    let t = new_lab(&api).await;
    // The reference manifest's samples ask for -80 °C.
    let box_id = a_box_in(&api, &t, "ultra_low", 8, 12).await;
    let template = lims::published_template(&api, &t.access, lims::reference_template()).await;
    let csv = lims::reference_csv_with_prefix(&lims::unique_prefix());
    let imp = lims::import(&api, &t.access, &template, csv.as_bytes(), json!({})).await;
    assert_eq!(imp["status"], "completed", "{imp}");
    let rows = imp["rows_committed"].as_u64().unwrap();
    assert!(rows > 0, "{imp}");
    let body = json!({"import_id": imp["id"], "storage": {"location_ids": [box_id]}});
    let sub = submit(&api, &t, body.clone()).await;
    assert_eq!(
        (sub["sample_count"].as_u64(), &sub["import_id"]),
        (Some(rows), &imp["id"]),
        "{sub}"
    );
    let (status, v) = api.post("/api/submissions", Some(&t.access), body).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("import_already_submitted")),
        "{v}"
    );
    let done = finished(&api, &t, &id(&sub)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let ids = done["sample_ids"].as_array().unwrap();
    assert_eq!(ids.len() as u64, rows);
    for sid in ids {
        let x = sample(&api, &t, sid.as_str().unwrap()).await;
        assert_eq!(
            (x["status"].as_str(), &x["import_id"]),
            (Some("in_storage"), &imp["id"]),
            "{x}"
        );
    }
    assert_eq!(box_fill(&api, &t, &box_id).await, rows);
    for (body, status, code) in [
        (
            json!({"import_id": "01JNOSUCHIMPORT00000000000"}),
            422,
            "validation_failed",
        ),
        (
            json!({"import_id": imp["id"], "samples": dna(1, "x")}),
            422,
            "validation_failed",
        ),
        (json!({"import_id": "not-an-id"}), 422, "validation_failed"),
    ] {
        let (got, v) = api.post("/api/submissions", Some(&t.access), body.clone()).await;
        assert_eq!((got, v["code"].as_str()), (status, Some(code)), "{body} → {v}");
    }
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn a_failed_compensation_ends_failed_and_alerts() {
    let api = api();
    let t = new_lab(&api).await;
    let sub = submit(
        &api,
        &t,
        json!({
            "samples": dna(2, "stuck"),
            "faults": [{"step": "validate", "kind": "permanent"}, {"step": "reject", "kind": "permanent"}]
        }),
    )
    .await;
    let done = finished(&api, &t, &id(&sub)).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "InjectedFault");
    let history = events_of(&t.lab_id(), &format!("submissions/{}", id(&sub))).await;
    assert!(history.contains(&"tracseq.submission.failed".to_owned()), "{history:?}");
}

#[tokio::test]
async fn the_same_idempotency_key_starts_one_execution() {
    let api = api();
    let t = new_lab(&api).await;
    let key = ulid::Ulid::new().to_string();
    let body = json!({"samples": dna(2, "idem")});
    let send = || {
        let (api, body, key, token) = (api.clone(), body.clone(), key.clone(), t.access.clone());
        async move {
            api.send(
                Method::POST,
                "/api/submissions",
                Some(&token),
                Some(body),
                &[("idempotency-key", key.as_str())],
            )
            .await
        }
    };
    let first = send().await;
    assert_eq!(first.0, 202, "{}", first.1);
    let again = join_all((0..3).map(|_| send())).await;
    for (status, v, _) in &again {
        assert!(*status == 202 || *status == 409, "{status} {v}");
        if *status == 202 {
            assert_eq!(v["id"], first.1["id"]);
        }
    }
    finished(&api, &t, &id(&first.1)).await;
    let (_, page) = api.get("/api/submissions", &t.access).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let sfn = aws_sdk_sfn::Client::new(&shared().sdk().await);
    let arn = format!(
        "arn:aws:states:us-east-1:123456789012:stateMachine:{}",
        shared().function("SampleSubmissionStateMachine")
    );
    let executions = sfn
        .list_executions()
        .state_machine_arn(arn)
        .send()
        .await
        .expect("list executions");
    let mine = executions
        .executions()
        .iter()
        .filter(|e| e.name() == id(&first.1))
        .count();
    assert_eq!(mine, 1);
    let (_, samples) = api.get("/api/samples?limit=100", &t.access).await;
    assert_eq!(samples["items"].as_array().unwrap().len(), 2, "{samples}");
}

#[tokio::test]
async fn a_cancelled_submission_stops_and_compensates() {
    let api = api();
    let t = new_lab(&api).await;
    let sub = submit(
        &api,
        &t,
        json!({
            "samples": dna(4, "cancel"),
            "faults": [{"step": "validate", "kind": "delay", "delay_ms": 4000}]
        }),
    )
    .await;
    let path = format!("/api/submissions/{}/cancel", id(&sub));
    let (status, v) = api.post(&path, Some(&t.access), json!({})).await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["cancel_requested"], true);
    let done = finished(&api, &t, &id(&sub)).await;
    assert_eq!(done["status"], "compensated", "{done}");
    assert_eq!(done["error"]["code"], "SubmissionCancelled");
    let (status, v) = api.post(&path, Some(&t.access), json!({})).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("not_running")), "{v}");
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn twenty_submissions_racing_for_thirty_positions_add_up_exactly() {
    let api = api();
    let t = new_lab(&api).await;
    let box_id = a_box(&api, &t, 5, 6).await;
    let subs = join_all((0..20).map(|i| {
        let (api, t, box_id) = (api.clone(), &t, box_id.clone());
        async move {
            let sub = submit(
                &api,
                t,
                json!({"samples": dna(2, &format!("race{i}")), "storage": {"location_ids": [box_id]}}),
            )
            .await;
            finished(&api, t, &id(&sub)).await
        }
    }))
    .await;
    let completed = subs.iter().filter(|s| s["status"] == "completed").count();
    let compensated = subs.iter().filter(|s| s["status"] == "compensated").count();
    assert_eq!(completed + compensated, 20, "{subs:?}");
    assert!((1..=15).contains(&completed), "{completed} completed");
    assert_eq!(box_fill(&api, &t, &box_id).await, 2 * completed as u64);
    for s in subs.iter().filter(|s| s["status"] == "compensated") {
        assert_eq!(s["error"]["code"], "StorageFull", "{s}");
    }
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn bad_requests_roles_and_tenants_are_refused() {
    let api = api();
    let t = new_lab(&api).await;
    for (body, field) in [
        (json!({"samples": []}), "samples"),
        (json!({"samples": [1]}), "samples[0]"),
        (
            json!({"samples": dna(1, "x"), "storage": {"location_ids": ["nope"]}}),
            "storage.location_ids[0]",
        ),
        (json!({"samples": dna(1, "x"), "extra": true}), "extra"),
        (json!({"samples": dna(385, "x")}), "samples"),
        (
            json!({"samples": dna(1, "x"), "sequencing_job": {"name": " "}}),
            "sequencing_job.name",
        ),
        (
            json!({"samples": dna(1, "x"), "sequencing_job": {"name": "J", "priority": "asap"}}),
            "sequencing_job.priority",
        ),
        (
            json!({"samples": dna(1, "x"), "sequencing_job": {"name": "J", "lanes": 2}}),
            "sequencing_job.lanes",
        ),
    ] {
        let (status, v) = api.post("/api/submissions", Some(&t.access), body).await;
        assert_eq!(status, 422, "{v}");
        assert!(v["errors"].to_string().contains(field), "{field}: {v}");
    }
    let viewer = new_user(&api, &t, "research_scientist").await;
    let (status, _) = api
        .post(
            "/api/submissions",
            Some(&viewer.access),
            json!({"samples": dna(1, "x")}),
        )
        .await;
    assert_eq!(status, 403);
    let sub = submit(&api, &t, json!({"samples": dna(1, "mine")})).await;
    let other = new_lab(&api).await;
    let (status, _) = api.get(&format!("/api/submissions/{}", id(&sub)), &other.access).await;
    assert_eq!(status, 404);
    let (status, _) = api
        .post(
            &format!("/api/submissions/{}/cancel", id(&sub)),
            Some(&other.access),
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    finished(&api, &t, &id(&sub)).await;
}
