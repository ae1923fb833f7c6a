//! Starting a sequencing run end to end: the saga runs in moto's Step Functions through
//! the runner, with the real definition (statemachines/sequencing-run.asl.json). Every
//! scenario has a lab of its own, plants its faults in its own run, and ends with the
//! invariant checker (nothing in two active runs, every ended start terminal, a
//! compensated start leaving nothing behind).

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use tracseq_tests::client::{Api, Tokens, new_lab, new_user};
use tracseq_tests::invariants::{assert_lab_sound, run_violations};
use tracseq_tests::lims::events_of;
use tracseq_tests::{eventually, shared};

fn api() -> Api {
    Api::new(&shared().api)
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// A library on a new validated sample with the given kit indexes: (library, sample).
async fn library(api: &Api, t: &Tokens, i7: &str, i5: &str) -> (String, String) {
    let (status, s) = api
        .post(
            "/api/samples",
            Some(&t.access),
            json!({"sample_type": "DNA", "project": "P-RUN"}),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    let (status, v) = api
        .post(
            &format!("/api/samples/{}/transitions", id(&s)),
            Some(&t.access),
            json!({"to": "validated"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, l) = api
        .post(
            "/api/libraries",
            Some(&t.access),
            json!({"sample_id": id(&s), "kit": "nextera-xt-v2", "i7": i7, "i5": i5}),
        )
        .await;
    assert_eq!(status, 201, "{l}");
    (id(&l), id(&s))
}

async fn pool(api: &Api, t: &Tokens, libraries: &[String]) -> String {
    let (_, p) = api.post("/api/pools", Some(&t.access), json!({"name": "P"})).await;
    let (status, v) = api
        .post(
            &format!("/api/pools/{}/libraries", id(&p)),
            Some(&t.access),
            json!({"library_ids": libraries, "version": 1}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    id(&p)
}

/// A planned run with one lane per pool.
async fn run(api: &Api, t: &Tokens, name: &str, pools: &[&str]) -> String {
    let lanes: Vec<Value> = pools
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"lane": i + 1, "pool_ids": [p]}))
        .collect();
    let (status, v) = api
        .post(
            "/api/sequencing/runs",
            Some(&t.access),
            json!({"name": name, "instrument": "NovaSeq X", "flow_cell": "10B",
                   "reads": {"read1": 151, "index1": 10, "index2": 10, "read2": 151}, "lanes": lanes}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    id(&v)
}

/// A pool of `n` fresh libraries with distinct indexes (from `offset` in the kit).
async fn pool_of(api: &Api, t: &Tokens, offset: usize, n: usize) -> (String, Vec<String>) {
    const I7: [&str; 6] = ["N701", "N702", "N703", "N704", "N705", "N706"];
    let mut libs = Vec::new();
    let mut samples = Vec::new();
    for i in offset..offset + n {
        let (l, s) = library(api, t, I7[i % I7.len()], "S502").await;
        libs.push(l);
        samples.push(s);
    }
    (pool(api, t, &libs).await, samples)
}

async fn start(api: &Api, t: &Tokens, run: &str, body: Value) -> (u16, Value) {
    api.post(&format!("/api/sequencing/runs/{run}/start"), Some(&t.access), body)
        .await
}

/// The run once its start saga has ended.
async fn started(api: &Api, t: &Tokens, run: &str) -> Value {
    eventually(180, || async {
        let (status, v) = api.get(&format!("/api/sequencing/runs/{run}"), &t.access).await;
        assert_eq!(status, 200, "{v}");
        (v["start"]["status"] != "running").then_some(v)
    })
    .await
    .unwrap_or_else(|| panic!("the start of run {run} never ended"))
}

fn step_names(v: &Value) -> Vec<(String, String)> {
    v["start"]["steps"]
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

async fn statuses(api: &Api, t: &Tokens, samples: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for s in samples {
        let (_, v) = api.get(&format!("/api/samples/{s}"), &t.access).await;
        out.push(v["status"].as_str().unwrap_or_default().to_owned());
    }
    out
}

/// The object at `key` in whichever local bucket holds it.
async fn stored_object(key: &str) -> Option<String> {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared().sdk().await)
            .force_path_style(true)
            .build(),
    );
    for b in s3.list_buckets().send().await.ok()?.buckets() {
        let Some(name) = b.name() else { continue };
        if let Ok(o) = s3.get_object().bucket(name).key(key).send().await {
            let bytes = o.body.collect().await.ok()?.into_bytes();
            return String::from_utf8(bytes.to_vec()).ok();
        }
    }
    None
}

#[tokio::test]
async fn a_run_starts_through_its_saga_and_nothing_sits_in_two_active_runs() {
    let api = api();
    let t = new_lab(&api).await;
    let (pool_a, samples_a) = pool_of(&api, &t, 0, 2).await;
    let (pool_b, samples_b) = pool_of(&api, &t, 2, 1).await;
    let first = run(&api, &t, "NVX-S1", &[&pool_a, &pool_b]).await;

    // The same request twice is one start.
    let key = [("Idempotency-Key", "run-start-once-0001")];
    let path = format!("/api/sequencing/runs/{first}/start");
    let (status, a, headers) = api
        .send(Method::POST, &path, Some(&t.access), Some(json!({})), &key)
        .await;
    assert_eq!((status, a["start"]["status"].as_str()), (202, Some("running")), "{a}");
    assert_eq!(
        headers.get("location").and_then(|l| l.to_str().ok()),
        Some(format!("/api/sequencing/runs/{first}").as_str())
    );
    let (status, b, _) = api
        .send(Method::POST, &path, Some(&t.access), Some(json!({})), &key)
        .await;
    assert_eq!(
        (status, &b["start"]["execution_arn"]),
        (202, &a["start"]["execution_arn"])
    );

    let done = started(&api, &t, &first).await;
    assert_eq!(
        (done["start"]["status"].as_str(), done["status"].as_str()),
        (Some("completed"), Some("running")),
        "{done}"
    );
    assert_eq!(
        step_names(&done),
        [
            ("reserve", "succeeded"),
            ("sheet", "succeeded"),
            ("start", "succeeded"),
            ("complete", "succeeded")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    for s in done["start"]["steps"].as_array().unwrap() {
        assert!(s["started_at"].is_string() && s["ended_at"].is_string(), "{s}");
    }
    let all: Vec<String> = samples_a.iter().chain(&samples_b).cloned().collect();
    assert_eq!(statuses(&api, &t, &all).await, vec!["in_sequencing"; 3]);
    // The stored sheet is the one the API renders.
    let key = done["start"]["sheet_key"].as_str().unwrap().to_owned();
    let stored = stored_object(&key).await.expect("the sheet is in the files bucket");
    let resp = api
        .http
        .get(format!("{}/api/sequencing/runs/{first}/samplesheet", api.base))
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(stored, resp.text().await.unwrap());
    let history = events_of(&t.lab_id(), &format!("sequencing/runs/{first}")).await;
    for kind in ["tracseq.sequencing.run_status_changed", "tracseq.run.started"] {
        assert!(history.iter().any(|k| k == kind), "{kind} in {history:?}");
    }
    assert_lab_sound(shared(), &t.lab_id()).await;

    // A second run sharing pool B is refused by its saga, and left as it was.
    let second = run(&api, &t, "NVX-S2", &[&pool_b]).await;
    let (status, v) = start(&api, &t, &second, json!({})).await;
    assert_eq!(status, 202, "{v}");
    let refused = started(&api, &t, &second).await;
    assert_eq!(
        (
            refused["start"]["status"].as_str(),
            refused["start"]["error"]["step"].as_str(),
            refused["start"]["error"]["code"].as_str(),
            refused["status"].as_str()
        ),
        (
            Some("compensated"),
            Some("reserve"),
            Some("RunConflict"),
            Some("planned")
        ),
        "{refused}"
    );
    assert!(
        refused["start"]["error"]["detail"].as_str().unwrap().contains(&first),
        "names the run holding it: {refused}"
    );
    let history = events_of(&t.lab_id(), &format!("sequencing/runs/{second}")).await;
    assert!(history.iter().any(|k| k == "tracseq.run.compensated"), "{history:?}");
    // The transition route takes reservations the same way.
    let third = run(&api, &t, "NVX-S3", &[&pool_a]).await;
    let go = |run: String, to: &'static str, version: u64| {
        let api = api.clone();
        let token = t.access.clone();
        async move {
            api.post(
                &format!("/api/sequencing/runs/{run}/transitions"),
                Some(&token),
                json!({"to": to, "version": version}),
            )
            .await
        }
    };
    assert_eq!(go(third.clone(), "loaded", 1).await.0, 200);
    let (status, v) = go(third.clone(), "running", 2).await;
    assert_eq!(
        (status, v["code"].as_str(), v["errors"][0]["field"].as_str()),
        (409, Some("reserved_by_another_run"), Some("pools")),
        "its pool, libraries and samples are the first run's: {v}"
    );
    assert!(v["errors"][0]["message"].as_str().unwrap().contains(&first), "{v}");
    assert_lab_sound(shared(), &t.lab_id()).await;

    // The first run ends: its reservations go with it; the second may try again.
    let (_, now) = api.get(&format!("/api/sequencing/runs/{first}"), &t.access).await;
    let (status, v) = go(first.clone(), "aborted", now["version"].as_u64().unwrap()).await;
    assert_eq!(status, 200, "{v}");
    assert!(run_violations(shared(), &t.lab_id()).await.is_empty());
    let (status, v) = start(&api, &t, &second, json!({})).await;
    assert_eq!((status, v["start"]["attempt"].as_u64()), (202, Some(2)), "{v}");
    let again = started(&api, &t, &second).await;
    assert_eq!(
        (
            again["start"]["status"].as_str(),
            again["start"]["error"]["code"].as_str()
        ),
        (Some("compensated"), Some("SamplesNotReady")),
        "pool B's sample failed with the aborted run; nothing holds it any more: {again}"
    );
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn a_permanent_failure_at_each_step_compensates() {
    let api = api();
    let t = new_lab(&api).await;
    let mut cases = Vec::new();
    for (i, step) in ["reserve", "sheet", "start", "complete"].into_iter().enumerate() {
        let (pool, samples) = pool_of(&api, &t, 0, 2).await;
        let r = run(&api, &t, &format!("NVX-F{i}"), &[&pool]).await;
        cases.push((step, r, samples));
    }
    let outcomes = join_all(cases.iter().map(|(step, r, _)| {
        let api = api.clone();
        let t = t.clone();
        async move {
            let (status, v) = start(&api, &t, r, json!({"faults": [{"step": step, "kind": "permanent"}]})).await;
            assert_eq!(status, 202, "{v}");
            started(&api, &t, r).await
        }
    }))
    .await;
    for ((step, _, samples), done) in cases.iter().zip(outcomes) {
        assert_eq!(
            (
                done["start"]["status"].as_str(),
                done["start"]["error"]["step"].as_str(),
                done["start"]["error"]["code"].as_str(),
                done["status"].as_str(),
            ),
            (Some("compensated"), Some(*step), Some("InjectedFault"), Some("planned")),
            "{done}"
        );
        assert!(done["start"]["sheet_key"].is_null(), "{done}");
        assert_eq!(statuses(&api, &t, samples).await, vec!["validated"; 2], "{step}");
    }
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn transient_faults_and_a_crash_are_retried_and_the_run_starts() {
    let api = api();
    let t = new_lab(&api).await;
    let (pool, samples) = pool_of(&api, &t, 0, 2).await;
    let r = run(&api, &t, "NVX-T1", &[&pool]).await;
    let (status, v) = start(
        &api,
        &t,
        &r,
        json!({"faults": [
            {"step": "reserve", "kind": "transient", "times": 2},
            {"step": "sheet", "kind": "crash", "times": 1},
            {"step": "complete", "kind": "transient", "times": 1}
        ]}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    let done = started(&api, &t, &r).await;
    assert_eq!(
        (done["start"]["status"].as_str(), done["status"].as_str()),
        (Some("completed"), Some("running")),
        "{done}"
    );
    assert_eq!(statuses(&api, &t, &samples).await, vec!["in_sequencing"; 2]);
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn a_sheet_with_colliding_indexes_is_refused_with_every_error() {
    let api = api();
    let t = new_lab(&api).await;
    // Two libraries with the same index pair in one lane.
    let (l1, _) = library(&api, &t, "N701", "S502").await;
    let (l2, s2) = library(&api, &t, "N701", "S502").await;
    let p = pool(&api, &t, &[l1]).await;
    let twin = pool(&api, &t, &[l2]).await;
    let (status, v) = api
        .post(
            "/api/sequencing/runs",
            Some(&t.access),
            json!({"name": "NVX-C1", "instrument": "NovaSeq X", "flow_cell": "10B",
                   "reads": {"read1": 151, "index1": 10, "index2": 10, "read2": 151},
                   "lanes": [{"lane": 1, "pool_ids": [p, twin]}]}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let r = id(&v);
    assert_eq!(start(&api, &t, &r, json!({})).await.0, 202);
    let done = started(&api, &t, &r).await;
    assert_eq!(
        (
            done["start"]["error"]["step"].as_str(),
            done["start"]["error"]["code"].as_str()
        ),
        (Some("sheet"), Some("SampleSheetInvalid")),
        "{done}"
    );
    assert!(
        done["start"]["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("index_collision"),
        "{done}"
    );
    assert_eq!(statuses(&api, &t, &[s2]).await, vec!["validated"]);
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn a_failed_compensation_ends_failed_and_a_later_run_is_not_blocked() {
    let api = api();
    let t = new_lab(&api).await;
    let (pool, samples) = pool_of(&api, &t, 0, 2).await;
    let r = run(&api, &t, "NVX-X1", &[&pool]).await;
    let (status, v) = start(
        &api,
        &t,
        &r,
        json!({"faults": [{"step": "start", "kind": "permanent"}, {"step": "unreserve", "kind": "permanent"}]}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    let done = started(&api, &t, &r).await;
    assert_eq!(
        (
            done["start"]["status"].as_str(),
            done["start"]["error"]["code"].as_str()
        ),
        (Some("failed"), Some("InjectedFault")),
        "{done}"
    );
    let history = events_of(&t.lab_id(), &format!("sequencing/runs/{r}")).await;
    assert!(history.iter().any(|k| k == "tracseq.run.failed"), "{history:?}");
    // The checker sees what the operator must: reservations of a run that is not active.
    let wrong = run_violations(shared(), &t.lab_id()).await;
    assert!(
        !wrong.is_empty() && wrong.iter().all(|w| w.contains("not active")),
        "{wrong:?}"
    );
    // They do not block the next run of the same pool: it takes them over.
    let next = run(&api, &t, "NVX-X2", &[&pool]).await;
    assert_eq!(start(&api, &t, &next, json!({})).await.0, 202);
    let ok = started(&api, &t, &next).await;
    assert_eq!(ok["start"]["status"], "completed", "{ok}");
    assert_eq!(statuses(&api, &t, &samples).await, vec!["in_sequencing"; 2]);
    assert_lab_sound(shared(), &t.lab_id()).await;
}

#[tokio::test]
async fn bad_starts_roles_and_a_start_in_progress_are_refused() {
    let api = api();
    let t = new_lab(&api).await;
    let (pool, _) = pool_of(&api, &t, 0, 1).await;
    let r = run(&api, &t, "NVX-B1", &[&pool]).await;
    let scientist = new_user(&api, &t, "research_scientist").await;
    let (status, v) = start(&api, &scientist, &r, json!({})).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")), "{v}");
    let other = new_lab(&api).await;
    assert_eq!(start(&api, &other, &r, json!({})).await.0, 404, "another lab's run");
    assert_eq!(start(&api, &t, "01JNOSUCHRUN00000000000000", json!({})).await.0, 404);
    for (body, field) in [
        (
            json!({"faults": [{"step": "reserve", "kind": "permanent", "times": 11}]}),
            "faults[0]",
        ),
        (
            json!({"faults": [{"step": "reserve", "kind": "sometimes"}]}),
            "faults[0].kind",
        ),
        (json!({"version": "one"}), "version"),
        (json!({"extra": 1}), "extra"),
    ] {
        let (status, v) = start(&api, &t, &r, body.clone()).await;
        assert_eq!(status, 422, "{body} → {v}");
        assert!(
            v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"].as_str().unwrap_or_default().starts_with(field)),
            "{body} → {v}"
        );
    }
    let (status, v, _) = api
        .send(
            Method::POST,
            &format!("/api/sequencing/runs/{r}/start"),
            Some(&t.access),
            None,
            &[],
        )
        .await;
    assert_eq!(status, 400, "no body: {v}");
    let (status, v) = start(&api, &t, &r, json!({"version": 9})).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("version_conflict")), "{v}");
    // While the start runs (its reserve step waits), neither a second start nor a
    // transition gets in.
    let (status, v) = start(
        &api,
        &t,
        &r,
        json!({"faults": [{"step": "reserve", "kind": "delay", "delay_ms": 4000}]}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    let (status, v) = start(&api, &t, &r, json!({})).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("start_in_progress")), "{v}");
    let (status, v) = api
        .post(
            &format!("/api/sequencing/runs/{r}/transitions"),
            Some(&t.access),
            json!({"to": "aborted"}),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("start_in_progress")), "{v}");
    let done = started(&api, &t, &r).await;
    assert_eq!(done["start"]["status"], "completed", "{done}");
    // A running run cannot be started again.
    let (status, v) = start(&api, &t, &r, json!({})).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("invalid_transition")), "{v}");
    assert_lab_sound(shared(), &t.lab_id()).await;
}
