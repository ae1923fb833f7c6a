//! List exports end to end: the sample list with its filters and the audit log, as CSV
//! and XLSX, written to S3 by the platform's exporter. A list that fits one page (the
//! test stack pages by 100 rows) is answered done at once; a longer one is queued, its
//! progress counted page by page, and its presigned link downloads exactly the rows the
//! list route serves. Formulas stay inert, bad filters and formats get a 422, other
//! labs' exports a 404, roles a 403.

use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tracseq_tests::client::{Api, Tokens, new_lab, new_user};
use tracseq_tests::{eventually, shared};

fn api() -> Api {
    Api::new(&shared().api)
}

/// Registers `n` samples of `project` in batches; their barcodes.
async fn register(api: &Api, t: &Tokens, project: &str, n: usize, name: impl Fn(usize) -> String) -> Vec<String> {
    let mut barcodes = Vec::new();
    let all: Vec<Value> = (0..n)
        .map(|i| json!({"sample_type": "DNA", "project": project, "name": name(i), "volume": i as f64 + 0.5, "volume_unit": "µL"}))
        .collect();
    for chunk in all.chunks(500) {
        let (status, v) = api
            .post("/api/samples/batch", Some(&t.access), json!({ "samples": chunk }))
            .await;
        assert_eq!(
            (status, v["created"].as_u64()),
            (200, Some(chunk.len() as u64)),
            "{}",
            v["results"][0]
        );
        barcodes.extend(
            v["results"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| r["sample"]["barcode"].as_str().unwrap_or_default().to_owned()),
        );
    }
    barcodes
}

async fn start(api: &Api, t: &Tokens, path: &str) -> (u16, Value, Option<String>) {
    let (status, v, headers) = api.send(Method::POST, path, Some(&t.access), None, &[]).await;
    let location = headers.get("location").and_then(|l| l.to_str().ok()).map(str::to_owned);
    (status, v, location)
}

/// Polls the export at `location` until it ends; every `rows` seen on the way, in order.
async fn finished(api: &Api, t: &Tokens, location: &str) -> (Value, Vec<u64>) {
    let seen = std::sync::Mutex::new(Vec::new());
    let done = eventually(120, || {
        let seen = &seen;
        async move {
            let (status, v) = api.get(location, &t.access).await;
            assert_eq!(status, 200, "{v}");
            seen.lock().unwrap().push(v["rows"].as_u64().unwrap_or_default());
            (v["status"] != "running").then_some(v)
        }
    })
    .await
    .expect("the export ends within 120 s");
    (done, seen.into_inner().unwrap())
}

/// The file behind a presigned link: its content type, disposition and bytes.
async fn download(link: &str) -> (String, String, Vec<u8>) {
    let resp = reqwest::get(link).await.expect("download");
    assert_eq!(resp.status().as_u16(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (ct, cd) = (header("content-type"), header("content-disposition"));
    (ct, cd, resp.bytes().await.expect("bytes").to_vec())
}

fn csv_rows(bytes: &[u8]) -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_reader(bytes);
    reader.records().map(|r| r.expect("a CSV record")).collect()
}

#[tokio::test]
async fn sample_exports_match_the_list_small_at_once_large_through_the_worker() {
    let api = api();
    let admin = new_lab(&api).await;
    let large = register(&api, &admin, "EXP-A", 230, |i| format!("tube {i}, \"A\"")).await;
    let small = register(&api, &admin, "EXP-B", 3, |i| {
        if i == 0 {
            "=HYPERLINK(\"http://evil\")".to_owned()
        } else {
            format!("b{i}")
        }
    })
    .await;

    // Three rows fit the first page: written at once, with the link.
    let (status, v, location) = start(&api, &admin, "/api/samples/exports?project=EXP-B").await;
    assert_eq!(
        (status, v["status"].as_str(), v["rows"].as_u64()),
        (201, Some("done"), Some(3)),
        "{v}"
    );
    assert_eq!(
        location.as_deref(),
        Some(format!("/api/samples/exports/{}", v["id"].as_str().unwrap()).as_str())
    );
    let (ct, cd, bytes) = download(v["url"].as_str().expect("a link")).await;
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(cd.contains("attachment") && cd.contains(".csv"), "{cd}");
    let rows = csv_rows(&bytes);
    let got: BTreeSet<String> = rows.iter().map(|r| r[1].to_owned()).collect();
    assert_eq!(got, small.iter().cloned().collect());
    // A spreadsheet would run the name as a formula: it starts with an apostrophe instead.
    assert!(rows.iter().any(|r| &r[2] == "'=HYPERLINK(\"http://evil\")"), "{rows:?}");

    // 230 rows: queued, counted page by page, every row in the file once.
    let (status, v, location) = start(&api, &admin, "/api/samples/exports?project=EXP-A&format=csv").await;
    assert_eq!((status, v["status"].as_str()), (202, Some("running")), "{v}");
    let (done, seen) = finished(&api, &admin, &location.expect("Location")).await;
    assert_eq!(
        (done["status"].as_str(), done["rows"].as_u64()),
        (Some("done"), Some(230)),
        "{done}"
    );
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {seen:?}"
    );
    assert_eq!(done["filters"], json!({"project": "EXP-A"}));
    let (_, _, bytes) = download(done["url"].as_str().expect("a link")).await;
    let rows = csv_rows(&bytes);
    assert_eq!(rows.len(), 230);
    let got: Vec<String> = rows.iter().map(|r| r[1].to_owned()).collect();
    assert_eq!(
        got.iter().cloned().collect::<BTreeSet<_>>(),
        large.iter().cloned().collect()
    );
    assert_eq!(got.len(), got.iter().collect::<BTreeSet<_>>().len(), "no row twice");
    assert!(
        rows.iter()
            .all(|r| r[2].starts_with("tube ") && r[2].ends_with(", \"A\""))
    );

    // The whole list as a workbook: the same 233 samples, numbers as numbers.
    let (status, v, location) = start(&api, &admin, "/api/samples/exports?format=xlsx").await;
    assert_eq!(status, 202, "{v}");
    let (done, _) = finished(&api, &admin, &location.expect("Location")).await;
    assert_eq!(done["rows"].as_u64(), Some(233), "{done}");
    let (ct, cd, bytes) = download(done["url"].as_str().unwrap()).await;
    assert!(ct.contains("spreadsheetml") && cd.contains(".xlsx"), "{ct} {cd}");
    use calamine::{Data, Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range("samples").unwrap();
    let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows.len(), 234, "a header and 233 rows");
    assert_eq!(rows[0][1], Data::String("barcode".into()));
    assert!(
        rows.iter()
            .any(|r| r[2] == Data::String("=HYPERLINK(\"http://evil\")".into()))
    );
    assert!(
        rows[1..].iter().all(|r| matches!(r[12], Data::Float(_))),
        "volume is a number"
    );
}

#[tokio::test]
async fn exports_refuse_bad_filters_other_labs_and_roles() {
    let api = api();
    let admin = new_lab(&api).await;
    register(&api, &admin, "P", 1, |i| format!("s{i}")).await;
    for (path, field) in [
        ("/api/samples/exports?format=pdf", "format"),
        ("/api/samples/exports?status=bogus", "status"),
        ("/api/samples/exports?created_from=yesterday", "created_from"),
        ("/api/audit/exports?format=doc", "format"),
    ] {
        let (status, v, _) = start(&api, &admin, path).await;
        assert_eq!(status, 422, "{path}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }
    let (status, v, _) = start(&api, &admin, "/api/samples/exports").await;
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    // Another lab's administrator finds nothing, nor does the audit route for a sample export.
    let other = new_lab(&api).await;
    let (status, _) = api.get(&format!("/api/samples/exports/{id}"), &other.access).await;
    assert_eq!(status, 404);
    let (status, _) = api.get(&format!("/api/audit/exports/{id}"), &admin.access).await;
    assert_eq!(status, 404);
    let (status, _) = api.get("/api/samples/exports/no-such-export", &admin.access).await;
    assert_eq!(status, 404);
    let (status, _) = api.get("/api/samples/exports/bad%23id", &admin.access).await;
    assert_eq!(status, 404);
    // Guests read samples but do not export; scientists do not export the audit log.
    let guest = new_user(&api, &admin, "guest").await;
    let (status, _, _) = start(&api, &guest, "/api/samples/exports").await;
    assert_eq!(status, 403);
    let scientist = new_user(&api, &admin, "research_scientist").await;
    let (status, _, _) = start(&api, &scientist, "/api/audit/exports").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn the_audit_log_exports_every_record_the_list_serves() {
    let api = api();
    let admin = new_lab(&api).await;
    // Users made by the administrator write audit records.
    for _ in 0..3 {
        new_user(&api, &admin, "guest").await;
    }
    let (status, listed) = api.get("/api/audit?limit=1000", &admin.access).await;
    assert_eq!(status, 200, "{listed}");
    let n = listed["items"].as_array().map_or(0, Vec::len);
    assert!(n >= 4, "{listed}");
    let (status, v, location) = start(&api, &admin, "/api/audit/exports?format=csv").await;
    assert!(status == 201 || status == 202, "{v}");
    let (done, _) = finished(&api, &admin, &location.expect("Location")).await;
    assert_eq!(done["status"], "done", "{done}");
    let (_, _, bytes) = download(done["url"].as_str().unwrap()).await;
    let rows = csv_rows(&bytes);
    // Exporting writes no audit record of its own before the file is read: the same rows.
    assert!(rows.len() >= n, "{} rows for {n} listed", rows.len());
    let listed_ids: BTreeSet<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    let file_ids: BTreeSet<&str> = rows.iter().map(|r| r.get(0).unwrap_or_default()).collect();
    assert!(listed_ids.is_subset(&file_ids), "{listed_ids:?} in {file_ids:?}");
}
