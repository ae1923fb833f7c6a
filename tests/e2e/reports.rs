//! Reports end to end: counters kept from the table's stream equal a recount from the raw
//! records after a mixed workload, a redelivered event counts once, and the route answers
//! JSON or CSV, by day, week or month, to the roles that may read it.

use reqwest::Method;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use tracseq_tests::client::{Api, Tokens, new_lab, new_user};
use tracseq_tests::{eventually, shared};

fn api() -> Api {
    Api::new(&shared().api)
}

/// `count` of each row, keyed by its dimension values joined with `/`.
fn counts(report: &Value) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for r in report["rows"].as_array().into_iter().flatten() {
        let key: Vec<&str> = r["dims"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, v)| v.as_str().unwrap_or_default())
            .collect();
        *out.entry(key.join("/")).or_default() += r["values"]["count"].as_f64().unwrap_or(0.0);
    }
    out
}

/// The counters once they hold what `expected` says (the stream is asynchronous).
async fn report_when(api: &Api, t: &Tokens, path: &str, expected: &BTreeMap<String, f64>) -> Value {
    let found = eventually(60, || async {
        let (status, v) = api.get(path, &t.access).await;
        assert_eq!(status, 200, "{v}");
        (counts(&v) == *expected).then_some(v)
    })
    .await;
    match found {
        Some(v) => v,
        None => panic!(
            "{path} never reached {expected:?}; last {}",
            api.get(path, &t.access).await.1
        ),
    }
}

/// JSON as DynamoDB's attribute-value JSON, as a stream record's image carries it.
fn dynamo_json(v: &Value) -> Value {
    match v {
        Value::String(s) => json!({ "S": s }),
        Value::Number(n) => json!({ "N": n.to_string() }),
        Value::Bool(b) => json!({ "BOOL": b }),
        Value::Null => json!({ "NULL": true }),
        Value::Array(a) => json!({ "L": a.iter().map(dynamo_json).collect::<Vec<_>>() }),
        Value::Object(o) => {
            let m: Map<String, Value> = o.iter().map(|(k, v)| (k.clone(), dynamo_json(v))).collect();
            json!({ "M": m })
        }
    }
}

#[tokio::test]
async fn counters_equal_a_recount_and_a_redelivered_event_counts_once() {
    let api = api();
    let admin = new_lab(&api).await;
    let samples = json!({"samples": [
        {"sample_type": "DNA", "project": "ONC", "priority": "high"},
        {"sample_type": "DNA", "project": "ONC", "priority": "high"},
        {"sample_type": "RNA", "project": "CARDIO"},
        {"sample_type": "RNA", "project": "CARDIO"},
        {"sample_type": "Blood"},
        {"sample_type": "Blood"},
    ]});
    let (status, v) = api.post("/api/samples/batch", Some(&admin.access), samples).await;
    assert_eq!((status, v["created"].as_u64()), (200, Some(6)), "{v}");
    let ids: Vec<String> = v["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["sample"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    for id in &ids[..3] {
        let (status, v) = api
            .post(
                &format!("/api/samples/{id}/transitions"),
                Some(&admin.access),
                json!({"to": "validated"}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }

    // The recount, from the samples themselves.
    let (_, all) = api.get("/api/samples?limit=1000", &admin.access).await;
    let mut received = BTreeMap::new();
    let mut statuses = BTreeMap::new();
    for s in all["items"].as_array().into_iter().flatten() {
        let project = s["project"].as_str().unwrap_or("unspecified");
        let key = format!("{project}/{}", s["sample_type"].as_str().unwrap_or_default());
        *received.entry(key).or_insert(0.0) += 1.0;
        *statuses
            .entry(s["status"].as_str().unwrap_or_default().to_owned())
            .or_insert(0.0) += 1.0;
    }
    assert_eq!(received.values().sum::<f64>(), 6.0);
    let by_day = report_when(&api, &admin, "/api/reports/received?group=day", &received).await;
    assert_eq!(by_day["group"], "day");
    let status_report = report_when(&api, &admin, "/api/reports/status", &statuses).await;
    assert_eq!(statuses.get("validated"), Some(&3.0), "{status_report}");

    // A sample.created event given to the consumer again changes nothing.
    let subject = format!("samples/{}", ids[0]);
    let (status, events) = api.get(&format!("/api/events?subject={subject}"), &admin.access).await;
    assert_eq!(status, 200, "{events}");
    let created = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["type"] == "tracseq.sample.created")
        .cloned()
        .unwrap_or_else(|| panic!("no sample.created in {events}"));
    let mut image = created.as_object().cloned().unwrap_or_default();
    image.insert("entity".into(), json!("event"));
    let record = json!({"Records": [{
        "eventID": "redelivered-1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {"NewImage": dynamo_json(&Value::Object(image))["M"], "SequenceNumber": "1", "SizeBytes": 1, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    }]});
    let s = shared();
    let answer: Value = s
        .http()
        .post(format!(
            "{}/2015-03-31/functions/{}/invocations",
            s.edge,
            s.function("ConsumeFunction")
        ))
        .body(record.to_string())
        .send()
        .await
        .expect("invoke")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (answer["counted"].as_u64(), answer["repeated"].as_u64()),
        (Some(0), Some(1)),
        "{answer}"
    );
    let (_, again) = api.get("/api/reports/received?group=day", &admin.access).await;
    assert_eq!(counts(&again), received, "a redelivered event must not count twice");

    // Weeks and months sum the same days, read from the days of a period the range cuts
    // short (the default range ends today) or from the week's and month's rollups when the
    // range holds the whole period (it ends on the period's last day).
    let today = time::OffsetDateTime::now_utc().date();
    let sunday = today + time::Duration::days(6 - i64::from(today.weekday().number_days_from_monday()));
    let month_end = (1..=31).rev().find_map(|d| today.replace_day(d).ok()).unwrap_or(today);
    for query in [
        "group=week".to_owned(),
        "group=month".to_owned(),
        format!("group=week&to={sunday}"),
        format!("group=month&to={month_end}"),
    ] {
        let (status, v) = api.get(&format!("/api/reports/received?{query}"), &admin.access).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(counts(&v), received, "{query}");
    }
    let (status, _, headers) = api
        .send(
            Method::GET,
            "/api/reports/received",
            Some(&admin.access),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/csv")
    );
    let csv = s
        .http()
        .get(format!("{}/api/reports/received", s.api))
        .bearer_auth(&admin.access)
        .header("accept", "text/csv")
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("period,project,sample_type,count"));
    assert_eq!(lines.count(), received.len(), "{csv}");
    // And as a workbook: the same header and as many rows, read back with calamine.
    let book = s
        .http()
        .get(format!("{}/api/reports/received", s.api))
        .bearer_auth(&admin.access)
        .header("accept", tracseq_reports::handlers::XLSX)
        .send()
        .await
        .expect("xlsx");
    assert_eq!(book.headers()["content-type"], tracseq_reports::handlers::XLSX);
    let bytes = book.bytes().await.expect("bytes");
    let mut workbook: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a workbook");
    use calamine::Reader;
    let sheet = workbook.worksheet_range("received").expect("the received sheet");
    let header: Vec<String> = sheet.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(header, ["period", "project", "sample_type", "count"]);
    assert_eq!(sheet.height() - 1, received.len());

    // Another lab's report is its own (empty) one.
    let other = new_lab(&api).await;
    let (status, v) = api.get("/api/reports/received", &other.access).await;
    assert_eq!((status, v["rows"].as_array().map(Vec::len)), (200, Some(0)), "{v}");
}

#[tokio::test]
async fn report_input_and_roles_are_checked() {
    let api = api();
    let admin = new_lab(&api).await;
    for (path, field) in [
        ("/api/reports/received?group=year", "group"),
        ("/api/reports/received?from=2026-13-01", "from"),
        ("/api/reports/received?from=2026-12-02&to=2026-12-01", "from"),
        ("/api/reports/received?from=2019-01-01&to=2026-01-01", "from"),
        ("/api/reports/turnaround?group=week", "group"),
    ] {
        let (status, v) = api.get(path, &admin.access).await;
        assert_eq!(status, 422, "{path}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{path}: {v}");
    }
    let (status, v) = api.get("/api/reports/nonsense", &admin.access).await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = api.get("/api/reports/turnaround", &admin.access).await;
    assert_eq!((status, v["group"].as_str()), (200, Some("month")), "{v}");
    let tech = new_user(&api, &admin, "lab_technician").await;
    assert_eq!(api.get("/api/reports/received", &tech.access).await.0, 403);
    let pi = new_user(&api, &admin, "principal_investigator").await;
    assert_eq!(api.get("/api/reports/received", &pi.access).await.0, 200);
}

/// A location, created: its id.
async fn location(api: &Api, t: &Tokens, body: Value) -> String {
    let (status, v) = api.post("/api/storage/locations", Some(&t.access), body).await;
    assert_eq!(status, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// A freezer with a 9×9 box: (unit, box).
async fn freezer(api: &Api, t: &Tokens, name: &str) -> (String, String) {
    let unit = location(api, t, json!({"name": name, "kind": "freezer", "zone": "ultra_low"})).await;
    let boxed = location(
        api,
        t,
        json!({"name": format!("{name} box"), "kind": "box", "parent_id": unit, "rows": 9, "columns": 9}),
    )
    .await;
    (unit, boxed)
}

#[tokio::test]
async fn occupancy_by_unit_equals_the_storage_counts_after_placements_moves_and_disposals() {
    let api = api();
    let admin = new_lab(&api).await;
    let (u1, box1) = freezer(&api, &admin, "North").await;
    let (u2, box2) = freezer(&api, &admin, "South").await;
    let samples = tracseq_tests::lims::validated(&api, &admin, 5, "DNA", None).await;
    let ids: Vec<&str> = samples.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let items: Vec<Value> = ids.iter().map(|id| json!({"sample_id": id})).collect();
    let (status, v) = api
        .post(
            "/api/storage/placements",
            Some(&admin.access),
            json!({"location_id": box1, "auto": true, "items": items}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = api
        .post(
            "/api/storage/moves",
            Some(&admin.access),
            json!({"sample_id": ids[0], "location_id": box2, "position": "A1", "reason": "balance"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = api
        .post(
            "/api/storage/disposals",
            Some(&admin.access),
            json!({"sample_id": ids[1], "reason": "used up"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    // A checked-out sample keeps its position: no change.
    let (status, v) = api
        .post(
            "/api/storage/retrievals",
            Some(&admin.access),
            json!({"sample_id": ids[2]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");

    // The recount: each unit's taken positions as storage keeps them.
    let mut expected = BTreeMap::new();
    for u in [&u1, &u2] {
        let (_, v) = api.get(&format!("/api/storage/locations/{u}"), &admin.access).await;
        expected.insert(u.clone(), v["occupied"].as_f64().unwrap());
    }
    assert_eq!(expected.values().copied().collect::<Vec<_>>(), [3.0, 1.0]);
    let report = report_when(&api, &admin, "/api/reports/occupancy?group=month", &expected).await;
    // Today's month: North took 5 and gave 2, South took 1.
    let nets: BTreeMap<String, f64> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["dims"]["unit"].as_str().unwrap().to_owned(),
                r["values"]["net"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(nets, BTreeMap::from([(u1.clone(), 3.0), (u2.clone(), 1.0)]));
    // Before anything was stored, the units were empty: no rows.
    let (status, v) = api
        .get("/api/reports/occupancy?from=2026-01-01&to=2026-01-31", &admin.access)
        .await;
    assert_eq!((status, v["rows"].as_array().map(Vec::len)), (200, Some(0)), "{v}");
}
