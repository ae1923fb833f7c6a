//! Labels end to end: the PDF a lab prints is rendered by pdfium and its barcodes read back
//! by zxing-cpp (both from PyPI, in the project venv — nothing of ours draws or reads
//! them in the check), for every stock size; ZPL carries both symbols and no injected
//! command; bad options, other labs, deleted samples and roles get their 4xx.

use reqwest::Method;
use serde_json::{Value, json};
use std::process::Command;
use tracseq_tests::client::{Api, Tokens, new_lab, new_user};
use tracseq_tests::shared;

fn api() -> Api {
    Api::new(&shared().api)
}

/// The raw answer of GET `path` or POST `body` to `path`: status, content type, bytes.
async fn fetch(api: &Api, t: &Tokens, path: &str, body: Option<Value>) -> (u16, String, Vec<u8>) {
    let method = if body.is_some() { Method::POST } else { Method::GET };
    api.file(method, path, &t.access, body, "*/*").await
}

/// Every page of `pdf` as pdfium renders it at `dpi` and zxing-cpp reads it.
/// With `UPDATE_SCREENSHOTS` set, the first page is also saved as `picture` in
/// docs/screenshots (the README shows it).
fn read_back(pdf: &[u8], dpi: u32, picture: Option<&str>) -> Vec<Value> {
    let dir = std::env::temp_dir().join(format!("tracseq-labels-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("labels.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new(tracseq_tests::venv().join("bin/python"))
        .arg(tracseq_tests::workspace().join("tests/fixtures/labels/read_labels.py"))
        .arg(&path)
        .arg(dpi.to_string())
        .args(
            picture
                .filter(|_| std::env::var_os("UPDATE_SCREENSHOTS").is_some())
                .map(|p| tracseq_tests::workspace().join("docs/screenshots").join(p)),
        )
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

/// The symbols of a page that decode to `barcode`, by format.
fn formats_reading(page: &Value, barcode: &str) -> Vec<String> {
    page["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["text"] == barcode)
        .map(|s| s["format"].as_str().unwrap().to_owned())
        .collect()
}

async fn register(api: &Api, t: &Tokens, body: Value) -> Value {
    let (status, v) = api.post("/api/samples", Some(&t.access), body).await;
    assert_eq!(status, 201, "{v}");
    v
}

#[tokio::test]
async fn printed_labels_scan_back_to_the_samples_barcode_at_every_size() {
    let api = api();
    let admin = new_lab(&api).await;
    let tech = new_user(&api, &admin, "lab_technician").await;
    let generated = register(
        &api,
        &tech,
        json!({"sample_type": "DNA", "name": "Liver biopsy (left) 7", "project": "ONC-2", "collection_date": "2026-11-30"}),
    )
    .await;
    let barcode = generated["barcode"].as_str().unwrap();
    let id = generated["id"].as_str().unwrap();

    for (size, mm, dpi) in [
        ("25x13", (25.0, 13.0), 600),
        ("38x13", (38.0, 13.0), 600),
        ("50x25", (50.0, 25.0), 300),
        ("102x51", (102.0, 51.0), 300),
    ] {
        let (status, ct, pdf) = fetch(&api, &tech, &format!("/api/samples/{id}/label?size={size}"), None).await;
        assert_eq!((status, ct.as_str()), (200, "application/pdf"), "{size}");
        let pages = read_back(&pdf, dpi, (size == "50x25").then_some("label-50x25.png"));
        assert_eq!(pages.len(), 1, "{size}");
        assert_eq!(
            (pages[0]["width_mm"].as_f64(), pages[0]["height_mm"].as_f64()),
            (Some(mm.0), Some(mm.1))
        );
        assert_eq!(
            formats_reading(&pages[0], barcode),
            ["Code 128", "Data Matrix"],
            "{size}: {}",
            pages[0]
        );
    }

    // A batch keeps its order and its copies; the longest barcode allowed (32 characters,
    // no digit run to pack) scans from the 102 mm label printed at 300 dpi.
    let long = register(
        &api,
        &tech,
        json!({"sample_type": "RNA", "barcode": format!("L{}", "9".repeat(20)) + "-ABCDEFGHIJ"}),
    )
    .await;
    let long_code = long["barcode"].as_str().unwrap();
    assert_eq!(long_code.len(), 32);
    let (status, ct, pdf) = fetch(
        &api,
        &tech,
        "/api/samples/labels",
        Some(json!({"sample_ids": [long["id"], id], "copies": 2, "size": "102x51"})),
    )
    .await;
    assert_eq!((status, ct.as_str()), (200, "application/pdf"));
    let pages = read_back(&pdf, 300, None);
    let order: Vec<Vec<String>> = pages
        .iter()
        .map(|p| {
            p["symbols"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["text"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    let both = |c: &str| vec![c.to_owned(), c.to_owned()];
    assert_eq!(order, [both(long_code), both(long_code), both(barcode), both(barcode)]);
}

#[tokio::test]
async fn zpl_labels_carry_both_symbols_and_escape_what_they_print() {
    let api = api();
    let admin = new_lab(&api).await;
    let sample = register(
        &api,
        &admin,
        json!({"sample_type": "Blood", "name": "x^XZ^XA~JR évian"}),
    )
    .await;
    let (id, barcode) = (sample["id"].as_str().unwrap(), sample["barcode"].as_str().unwrap());
    let (status, ct, body) = fetch(
        &api,
        &admin,
        &format!("/api/samples/{id}/label?format=zpl&dpi=300&size=102x51"),
        None,
    )
    .await;
    assert_eq!((status, ct.as_str()), (200, "application/zpl"));
    let zpl = String::from_utf8(body).unwrap();
    assert_eq!(
        (zpl.matches("^XA").count(), zpl.matches("^XZ").count()),
        (1, 1),
        "{zpl}"
    );
    assert!(zpl.contains("^PW1224^LL612"), "{zpl}");
    assert!(
        zpl.contains("^BCN,") && zpl.contains(&format!("^FD{barcode}^FS")),
        "{zpl}"
    );
    assert!(zpl.contains("^BXN,"), "{zpl}");
    assert!(zpl.contains("^FDx_5EXZ_5EXA_7EJR _C3_A9vian^FS"), "{zpl}");
}

#[tokio::test]
async fn label_requests_refuse_bad_options_other_labs_deleted_samples_and_guests() {
    let api = api();
    let admin = new_lab(&api).await;
    let other = new_lab(&api).await;
    let guest = new_user(&api, &admin, "guest").await;
    let mine = register(&api, &admin, json!({"sample_type": "DNA"})).await;
    let theirs = register(&api, &other, json!({"sample_type": "DNA"})).await;
    let gone = register(&api, &admin, json!({"sample_type": "DNA"})).await;
    let (id, their_id, gone_id) = (
        mine["id"].as_str().unwrap(),
        theirs["id"].as_str().unwrap(),
        gone["id"].as_str().unwrap(),
    );
    let (status, v) = api
        .delete(&format!("/api/samples/{gone_id}?reason=spilled"), &admin.access)
        .await;
    assert_eq!(status, 204, "{v}");

    let get = |path: String| {
        let api = api.clone();
        let token = admin.access.clone();
        async move { api.get(&path, &token).await }
    };
    let field = |v: &Value, i: usize| v["errors"][i]["field"].as_str().unwrap_or_default().to_owned();

    let (status, v) = get(format!("/api/samples/{id}/label?size=A4&copies=0")).await;
    assert_eq!(status, 422, "{v}");
    let fields: Vec<String> = (0..2).map(|i| field(&v, i)).collect();
    assert!(
        fields.contains(&"size".into()) && fields.contains(&"copies".into()),
        "{v}"
    );
    let (status, v) = get(format!("/api/samples/{id}/label?format=png")).await;
    assert_eq!((status, field(&v, 0).as_str()), (422, "format"), "{v}");
    assert_eq!(get(format!("/api/samples/{their_id}/label")).await.0, 404);
    assert_eq!(get("/api/samples/not-an-id/label".into()).await.0, 404);
    let (status, v) = get(format!("/api/samples/{gone_id}/label")).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("sample_deleted")), "{v}");
    assert_eq!(api.get(&format!("/api/samples/{id}/label"), &guest.access).await.0, 403);

    let labels = |body: Value, t: &Tokens| {
        let api = api.clone();
        let token = t.access.clone();
        async move { api.post("/api/samples/labels", Some(&token), body).await }
    };
    let (status, v) = labels(json!({"sample_ids": [id, their_id, gone_id, "x"]}), &admin).await;
    assert_eq!(status, 422, "{v}");
    let named: Vec<(String, String)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            ("sample_ids[1]".to_owned(), "not_found".to_owned()),
            ("sample_ids[2]".to_owned(), "deleted".to_owned()),
            ("sample_ids[3]".to_owned(), "not_found".to_owned()),
        ]
    );
    let (status, v) = labels(json!({"sample_ids": []}), &admin).await;
    assert_eq!((status, field(&v, 0).as_str()), (422, "sample_ids"), "{v}");
    let too_many: Vec<&str> = std::iter::repeat_n(id, 501).collect();
    assert_eq!(labels(json!({"sample_ids": too_many}), &admin).await.0, 422);
    assert_eq!(
        labels(json!({"sample_ids": [id], "copies": "two"}), &admin).await.0,
        422
    );
    assert_eq!(
        labels(json!({"sample_ids": [id], "colour": "red"}), &admin).await.0,
        422
    );
    assert_eq!(labels(json!({"sample_ids": [id]}), &guest).await.0, 403);
    let (status, _, _) = api
        .send(
            Method::POST,
            "/api/samples/labels",
            Some(&admin.access),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(status, 400);
}
