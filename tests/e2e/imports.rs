//! Manifest imports end to end: the reference manifest, broken copies, dry runs, header
//! problems, dates and units, XLSX sheets, limits, uploads, idempotency, a 10,000-row
//! file, and an import that survives worker crashes (and one rolled back).

use reqwest::Method;
use serde_json::{Value, json};
use tracseq_tests::client::{Api, OPERATOR_EMAIL, OPERATOR_PASSWORD, new_lab, new_lab_by};
use tracseq_tests::lims::{
    events_of, import, list_all, published_template, reference_csv_with_prefix, reference_template, start_import,
    unique_prefix, wait_import,
};
use tracseq_tests::{config, isolated, shared};

fn api() -> Api {
    Api::new(&shared().api)
}

fn errors(v: &Value) -> Vec<(u64, String, String, String)> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap_or(0),
                e["column"].as_str().unwrap_or("").to_owned(),
                e["value"].as_str().unwrap_or("").to_owned(),
                e["rule"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_reference_manifest_imports_cleanly() {
    let api = api();
    let admin = new_lab(&api).await;
    let tid = published_template(&api, &admin.access, reference_template()).await;
    let prefix = unique_prefix();
    let (status, started, headers) = api
        .send(
            Method::POST,
            "/api/imports",
            Some(&admin.access),
            Some(json!({"template_id": tid, "content": base64_of(reference_csv_with_prefix(&prefix).as_bytes())})),
            &[],
        )
        .await;
    assert_eq!((status, started["status"].as_str()), (202, Some("queued")), "{started}");
    let id = started["id"].as_str().unwrap();
    assert_eq!(headers["location"], format!("/api/imports/{id}").as_str());
    let done = wait_import(&api, &admin.access, id, 60).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        (
            done["rows_total"].as_u64(),
            done["rows_committed"].as_u64(),
            done["errors_total"].as_u64()
        ),
        (Some(20), Some(20), Some(0))
    );
    let samples = list_all(&api, &admin.access, &format!("/api/samples?template_id={tid}")).await;
    assert_eq!(samples.len(), 20);
    let (status, first) = api
        .get(&format!("/api/samples/by-barcode/{prefix}0001"), &admin.access)
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["sample_type"], "Blood");
    assert_eq!(first["collection_date"], "2024-01-15");
    assert_eq!(first["priority"], "high");
    assert_eq!(
        (first["volume"].as_f64(), first["volume_unit"].as_str()),
        (Some(2.5), Some("mL"))
    );
    assert_eq!(first["concentration"].as_f64(), Some(250.5));
    assert_eq!(first["custom"]["patient_id"], "P12345");
    assert_eq!(first["custom"]["storage_temp"].as_f64(), Some(-80.0));
    assert_eq!(
        (first["template_version"].as_u64(), first["import_id"].as_str()),
        (Some(1), Some(id))
    );
    let (_, second) = api
        .get(&format!("/api/samples/by-barcode/{prefix}0002"), &admin.access)
        .await;
    assert_eq!(second["priority"], "normal", "Medium is an alias of normal");
    // Each imported sample has its history line; the sample.created events follow.
    let (_, h) = api
        .get(
            &format!("/api/samples/{}/history", first["id"].as_str().unwrap()),
            &admin.access,
        )
        .await;
    assert_eq!(h["items"][0]["kind"], "created");
    let events = tracseq_tests::eventually(30, || async {
        let (_, v) = api.get(&format!("/api/imports/{id}"), &admin.access).await;
        (v["events_written"] == 20).then_some(v)
    })
    .await;
    assert!(events.is_some(), "every imported sample gets its sample.created event");
    assert_eq!(
        events_of(&admin.lab_id(), &format!("imports/{id}")).await,
        ["tracseq.import.completed"]
    );
    let first_id = first["id"].as_str().unwrap();
    assert_eq!(
        events_of(&admin.lab_id(), &format!("samples/{first_id}")).await,
        ["tracseq.sample.created"]
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn a_broken_copy_reports_each_broken_row_and_creates_nothing() {
    let api = api();
    let admin = new_lab(&api).await;
    let tid = published_template(&api, &admin.access, reference_template()).await;
    let prefix = unique_prefix();
    let csv = reference_csv_with_prefix(&prefix)
        .replacen(",Saliva,2024-01-14,", ",Slime,2024-01-14,", 1)
        .replacen("2024-01-13", "2024-13-45", 1)
        .replacen("P45678", "X45678", 1)
        .replacen(",1.5,150.2,", ",0.01,150.2,", 1)
        .replacen(&format!("{prefix}0020"), &format!("{prefix}0019"), 1)
        .replacen(",Dr. Smith,Oncology,Medium,WGS,-20°C", ",,Oncology,Medium,WGS,-20°C", 1);
    let done = import(&api, &admin.access, &tid, csv.as_bytes(), json!({})).await;
    assert_eq!(
        (done["status"].as_str(), done["failure"]["code"].as_str()),
        (Some("failed"), Some("validation_failed")),
        "{done}"
    );
    assert_eq!(
        (
            done["rows_total"].as_u64(),
            done["rows_valid"].as_u64(),
            done["errors_total"].as_u64()
        ),
        (Some(20), Some(15), Some(6))
    );
    let s = |r: u64, c: &str, v: &str, rule: &str| (r, c.to_owned(), v.to_owned(), rule.to_owned());
    assert_eq!(
        errors(&done),
        vec![
            s(3, "Sample_Type", "Slime", "one_of"),
            s(4, "Collection_Date", "2024-13-45", "date"),
            s(5, "Patient_ID", "X45678", "pattern"),
            s(5, "Volume_mL", "0.01", "min"),
            s(6, "Submitter", "", "required"),
            s(21, "Sample_ID", &format!("{prefix}0019"), "unique"),
        ]
    );
    let (status, page) = api
        .get(
            &format!("/api/imports/{}/errors?limit=2", done["id"].as_str().unwrap()),
            &admin.access,
        )
        .await;
    assert_eq!((status, page["items"].as_array().unwrap().len()), (200, 2));
    assert!(page["next_cursor"].is_string());
    assert!(
        list_all(&api, &admin.access, "/api/samples").await.is_empty(),
        "nothing was created"
    );
    assert_eq!(
        api.get(&format!("/api/samples/by-barcode/{prefix}0001"), &admin.access)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn an_error_in_the_last_row_creates_nothing_and_a_dry_run_writes_nothing() {
    let api = api();
    let admin = new_lab(&api).await;
    let tid = published_template(&api, &admin.access, reference_template()).await;
    let prefix = unique_prefix();
    let good = reference_csv_with_prefix(&prefix);
    let last_broken = good
        .trim_end()
        .rsplit_once('\n')
        .map(|(head, _)| {
            format!(
                "{head}\n{prefix}9999,P00000,Tissue,2023-12-27,Dr. Davis,Genetics,Medium,RNA-Seq,-80°C,3.6,lots,8.5,x\n"
            )
        })
        .unwrap();
    let done = import(&api, &admin.access, &tid, last_broken.as_bytes(), json!({})).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(
        errors(&done),
        vec![(21, "Concentration_ng_uL".into(), "lots".into(), "number".into())]
    );
    assert!(list_all(&api, &admin.access, "/api/samples").await.is_empty());

    let dry = import(&api, &admin.access, &tid, good.as_bytes(), json!({"dry_run": true})).await;
    assert_eq!(
        (
            dry["status"].as_str(),
            dry["rows_valid"].as_u64(),
            dry["rows_committed"].as_u64()
        ),
        (Some("validated"), Some(20), Some(0))
    );
    assert!(
        list_all(&api, &admin.access, "/api/samples").await.is_empty(),
        "a dry run writes nothing"
    );
    let real = import(&api, &admin.access, &tid, good.as_bytes(), json!({})).await;
    assert_eq!(real["status"], "completed");
    // The same file again: every barcode is now taken, found before anything is written.
    let again = import(&api, &admin.access, &tid, good.as_bytes(), json!({})).await;
    assert_eq!(
        (again["status"].as_str(), again["errors_total"].as_u64()),
        (Some("failed"), Some(20))
    );
    assert!(errors(&again).iter().all(|e| e.3 == "unique"));
    assert_eq!(list_all(&api, &admin.access, "/api/samples").await.len(), 20);
}

#[tokio::test]
async fn unknown_and_missing_columns_are_reported() {
    let api = api();
    let admin = new_lab(&api).await;
    let tid = published_template(&api, &admin.access, reference_template()).await;
    let csv =
        "sample id;PATIENT-ID;Sample Type;Collection date;Submitter;Freezer\nA-1;P12345;Blood;2024-01-01;Dr. X;F1\n";
    let done = import(&api, &admin.access, &tid, csv.as_bytes(), json!({})).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(
        errors(&done),
        vec![(1, "Freezer".into(), "Freezer".into(), "unknown_column".into())]
    );
    let csv = "Sample_ID,Sample_Type\nA-1,Blood\n";
    let done = import(&api, &admin.access, &tid, csv.as_bytes(), json!({})).await;
    let missing: Vec<String> = errors(&done).into_iter().map(|e| format!("{}:{}", e.1, e.3)).collect();
    assert_eq!(
        missing,
        [
            "Patient_ID:missing_column",
            "Collection_Date:missing_column",
            "Submitter:missing_column"
        ]
    );
    let done = import(
        &api,
        &admin.access,
        &tid,
        b"Sample_ID,Patient_ID,Sample_Type,Collection_Date,Submitter\n",
        json!({}),
    )
    .await;
    assert_eq!(done["failure"]["code"], "no_rows");
}

#[tokio::test]
async fn dates_numbers_with_units_and_encodings() {
    let api = api();
    let admin = new_lab(&api).await;
    let def = json!({
        "name": "Formats",
        "fields": [
            {"name": "code", "label": "Code", "type": "text", "required": true, "maps_to": "barcode"},
            {"name": "kind", "label": "Kind", "type": "text", "required": true, "maps_to": "sample_type"},
            {"name": "drawn", "label": "Drawn", "type": "date", "maps_to": "collection_date", "rules": {"date_order": "dmy"}},
            {"name": "vol", "label": "Volume", "type": "number", "maps_to": "volume", "rules": {"unit": "µL"}},
            {"name": "conc", "label": "Conc", "type": "number", "maps_to": "concentration", "rules": {"unit": "ng/µL"}},
            {"name": "site", "label": "Site", "type": "text", "maps_to": "collection_location"},
            {"name": "ok", "label": "Consent", "type": "boolean", "default": false}
        ]
    });
    let tid = published_template(&api, &admin.access, def).await;
    let p = unique_prefix();
    let rows = [
        ("2024-01-15", "2.5 mL", "250 ng/uL", "yes"),
        ("15/01/2024", "2500", "0.25 mg/mL", "no"),
        ("15.01.2024", "2500 µl", "250", ""),
        ("15-Jan-2024", "0.0025 L", "250000 ng/mL", "Y"),
        ("January 15, 2024", "2,500", "250 ug/mL", "1"),
        ("20240115", "2500ul", "250ng/µL", "0"),
    ];
    let mut csv = String::from("Code,Kind,Drawn,Volume,Conc,Site,Consent\n");
    for (i, (d, v, c, ok)) in rows.iter().enumerate() {
        csv.push_str(&format!("{p}-{i},dna,\"{d}\",\"{v}\",{c},Zürich Süd,{ok}\n"));
    }
    // Latin-1, as Excel on Windows writes it.
    let latin1: Vec<u8> = csv.chars().map(|c| u8::try_from(u32::from(c)).unwrap()).collect();
    let done = import(&api, &admin.access, &tid, &latin1, json!({})).await;
    assert_eq!(done["status"], "completed", "{done}");
    for i in 0..rows.len() {
        let (_, s) = api
            .get(&format!("/api/samples/by-barcode/{p}-{i}"), &admin.access)
            .await;
        assert_eq!(s["collection_date"], "2024-01-15", "row {i}");
        assert_eq!(
            (s["volume"].as_f64(), s["volume_unit"].as_str()),
            (Some(2500.0), Some("µL")),
            "row {i}"
        );
        assert_eq!(s["concentration"].as_f64(), Some(250.0), "row {i}");
        assert_eq!(s["collection_location"], "Zürich Süd", "row {i}");
        assert_eq!(s["sample_type"], "DNA");
    }
    let bad = format!("Code,Kind,Drawn,Volume\n{p}-X,dna,31/02/2024,2 furlongs\n{p}-Y,dna,2024-01-01,5 ng\n");
    let done = import(
        &api,
        &admin.access,
        &tid,
        format!("\u{FEFF}{bad}").as_bytes(),
        json!({}),
    )
    .await;
    let rules: Vec<String> = errors(&done)
        .into_iter()
        .map(|e| format!("{}:{}:{}", e.0, e.1, e.3))
        .collect();
    assert_eq!(rules, ["2:Drawn:date", "2:Volume:unit", "3:Volume:unit"]);
}

fn workbook(sheets: &[(&str, &[&[&str]])]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (name, rows) in sheets {
        let ws = wb.add_worksheet().set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                match cell.parse::<f64>() {
                    Ok(n) if r > 0 && !cell.contains('-') => ws.write_number(r as u32, c as u16, n).unwrap(),
                    _ => ws.write_string(r as u32, c as u16, *cell).unwrap(),
                };
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

#[tokio::test]
async fn xlsx_workbooks_with_several_sheets() {
    let api = api();
    let admin = new_lab(&api).await;
    let tid = published_template(&api, &admin.access, reference_template()).await;
    let p = unique_prefix();
    let a = format!("{p}-A");
    let b = format!("{p}-B");
    let header: &[&str] = &[
        "Sample_ID",
        "Patient_ID",
        "Sample_Type",
        "Collection_Date",
        "Submitter",
        "Volume_mL",
    ];
    let bytes = workbook(&[
        ("Read me", &[&["Fill in the Samples sheet"]]),
        (
            "Samples",
            &[
                header,
                &[&a, "P11111", "Blood", "2024-01-15", "Dr. A", "2.5"],
                &[&b, "P22222", "Serum", "15 Jan 2024", "Dr. B", "1"],
            ],
        ),
        ("Old", &[header]),
    ]);
    let done = import(&api, &admin.access, &tid, &bytes, json!({"sheet": "Samples"})).await;
    assert_eq!(
        (
            done["status"].as_str(),
            done["format"].as_str(),
            done["rows_committed"].as_u64()
        ),
        (Some("completed"), Some("xlsx"), Some(2)),
        "{done}"
    );
    let (_, s) = api.get(&format!("/api/samples/by-barcode/{b}"), &admin.access).await;
    assert_eq!(
        (
            s["sample_type"].as_str(),
            s["volume"].as_f64(),
            s["collection_date"].as_str()
        ),
        (Some("Serum"), Some(1.0), Some("2024-01-15"))
    );
    // The first sheet by default: here, instructions, so the columns are wrong.
    let done = import(&api, &admin.access, &tid, &bytes, json!({})).await;
    assert!(errors(&done).iter().any(|e| e.3 == "unknown_column"), "{done}");
    let done = import(&api, &admin.access, &tid, &bytes, json!({"sheet": "Nope"})).await;
    assert_eq!(done["failure"]["code"], "unknown_sheet");
    assert!(done["failure"]["detail"].as_str().unwrap().contains("Samples"));
    let done = import(
        &api,
        &admin.access,
        &tid,
        b"PK\x03\x04 not really a workbook",
        json!({}),
    )
    .await;
    assert_eq!(done["failure"]["code"], "unreadable_file");
}

#[tokio::test]
async fn uploads_limits_and_idempotent_resubmission() {
    let api = api();
    let admin = new_lab(&api).await;
    let other = new_lab(&api).await;
    let tid = published_template(&api, &admin.access, reference_template()).await;
    let p = unique_prefix();
    let csv = reference_csv_with_prefix(&p);
    // Presigned upload, then import by object key.
    let up = tracseq_tests::lims::upload(
        &api,
        &admin.access,
        "../../Run 7.csv",
        "text/csv",
        csv.clone().into_bytes(),
    )
    .await;
    let key = up["object_key"].as_str().unwrap().to_owned();
    assert!(
        key.starts_with(&format!("uploads/{}/", admin.lab_id())) && key.ends_with("/Run_7.csv"),
        "{key}"
    );
    let body = json!({"template_id": tid, "object_key": key});
    let key_header = [("idempotency-key", "import-run-7")];
    let (s1, first, _) = api
        .send(
            Method::POST,
            "/api/imports",
            Some(&admin.access),
            Some(body.clone()),
            &key_header,
        )
        .await;
    let (s2, second, _) = api
        .send(
            Method::POST,
            "/api/imports",
            Some(&admin.access),
            Some(body.clone()),
            &key_header,
        )
        .await;
    assert_eq!((s1, s2), (202, 202), "{first} {second}");
    assert_eq!(first["id"], second["id"], "the same key is the same import");
    let done = wait_import(&api, &admin.access, first["id"].as_str().unwrap(), 60).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(
        list_all(&api, &admin.access, "/api/samples").await.len(),
        20,
        "nothing created twice"
    );
    // Another lab cannot import this lab's upload, and a missing object is named.
    let (status, v) = api
        .post(
            "/api/imports",
            Some(&other.access),
            json!({"template_id": tid, "object_key": key}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    let other_tid = published_template(&api, &other.access, reference_template()).await;
    let (status, v) = api
        .post(
            "/api/imports",
            Some(&other.access),
            json!({"template_id": other_tid, "object_key": key}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("object_key")));
    let missing = format!("uploads/{}/01JNOPE/x.csv", admin.lab_id());
    let (status, v) = api
        .post(
            "/api/imports",
            Some(&admin.access),
            json!({"template_id": tid, "object_key": missing}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("object_key")));
    // Limits: 10 MB uploads, 1 MB inline, 10,000 rows.
    let (status, v) = api
        .post(
            "/api/uploads",
            Some(&admin.access),
            json!({"filename": "big.csv", "size": 10 * 1024 * 1024 + 1}),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (413, Some("file_too_large")));
    // The size is required: the link is signed for exactly that length.
    for body in [json!({"filename": "a.csv"}), json!({"filename": "a.csv", "size": 0})] {
        let (status, v) = api.post("/api/uploads", Some(&admin.access), body).await;
        assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("size")), "{v}");
    }
    let (status, v) = api
        .post(
            "/api/uploads",
            Some(&admin.access),
            json!({"filename": "a.csv", "content_type": "text/csv", "size": 1234}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let url = reqwest::Url::parse(v["url"].as_str().unwrap()).unwrap();
    let signed = url
        .query_pairs()
        .find(|(k, _)| k == "X-Amz-SignedHeaders")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    assert!(signed.split(';').any(|h| h == "content-length"), "{signed}");
    // The import pins the object it checked (its ETag); S3 answers 412 to a read of any other.
    let up = tracseq_tests::lims::upload(
        &api,
        &admin.access,
        "pinned.csv",
        "text/csv",
        b"Sample_ID\nA1\n".to_vec(),
    )
    .await;
    let (status, imp) = api
        .post(
            "/api/imports",
            Some(&admin.access),
            json!({"template_id": tid, "object_key": up["object_key"], "dry_run": true}),
        )
        .await;
    assert_eq!(status, 202, "{imp}");
    let etag = imp["object_etag"].as_str().expect("the checked ETag").to_owned();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&shared().sdk().await)
            .force_path_style(true)
            .build(),
    );
    let bucket = up["url"].as_str().unwrap().split('/').nth(3).unwrap().to_owned();
    let key = up["object_key"].as_str().unwrap();
    let same = s3.get_object().bucket(&bucket).key(key).if_match(&etag).send().await;
    assert!(same.is_ok(), "{same:?}");
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .body(b"Sample_ID\nB2\n".to_vec().into())
        .send()
        .await
        .expect("replace");
    let stale = s3.get_object().bucket(&bucket).key(key).if_match(&etag).send().await;
    assert_eq!(
        stale.err().and_then(|e| e.raw_response().map(|r| r.status().as_u16())),
        Some(412),
        "a replaced file is not read in the checked one's place"
    );
    let (status, v) = start_import(&api, &admin.access, &tid, &vec![b'a'; 1024 * 1024 + 1], json!({})).await;
    assert_eq!((status, v["code"].as_str()), (413, Some("file_too_large")));
    let mut rows = String::from("Sample_ID\n");
    for i in 0..10_001 {
        rows.push_str(&format!("R{i}\n"));
    }
    let done = import(&api, &admin.access, &tid, rows.as_bytes(), json!({})).await;
    assert_eq!(done["failure"]["code"], "too_many_rows");
    for (body, field) in [
        (json!({"template_id": tid}), "object_key"),
        (json!({"template_id": tid, "content": "!!notbase64"}), "content"),
        (
            json!({"template_id": "01JNOSUCHTEMPLATE", "content": "YQ=="}),
            "template_id",
        ),
    ] {
        let (status, v) = api.post("/api/imports", Some(&admin.access), body).await;
        assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some(field)), "{v}");
    }
    assert_eq!(api.get("/api/imports/01JNOSUCHIMPORT", &admin.access).await.0, 404);
    assert_eq!(
        api.get(
            &format!("/api/imports/{}", first["id"].as_str().unwrap()),
            &other.access
        )
        .await
        .0,
        404
    );
}

/// 10,000 rows through the whole stack: upload, validation, chunked commit, listing. On a
/// stack of its own whose table stream nobody follows: folding its 10,000
/// `sample.created` events (publisher, reports) would cost the busy machine minutes of
/// CPU and test nothing this test is about (the event paths have their own tests).
#[tokio::test]
async fn a_ten_thousand_row_manifest_imports() {
    let (stack, endpoints) = isolated(tracseq_runner::Config {
        stream_readers: false,
        ..config("import10k")
    })
    .await;
    let api = Api::new(&endpoints.api);
    let op = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    let admin = new_lab_by(&api, &op).await;
    let tid = published_template(&api, &admin.access, reference_template()).await;
    let p = unique_prefix();
    let mut csv = String::from(
        "Sample_ID,Patient_ID,Sample_Type,Collection_Date,Submitter,Priority,Volume_mL,Concentration_ng_uL\n",
    );
    for i in 0..10_000 {
        csv.push_str(&format!(
            "{p}{i:05},P{:05},Blood,2024-01-15,Dr. Smith,High,2.5,250.5\n",
            i % 100_000
        ));
    }
    let up = tracseq_tests::lims::upload(&api, &admin.access, "big.csv", "text/csv", csv.into_bytes()).await;
    let started = std::time::Instant::now();
    let (status, v) = api
        .post(
            "/api/imports",
            Some(&admin.access),
            json!({"template_id": tid, "object_key": up["object_key"]}),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let done = wait_import(&api, &admin.access, v["id"].as_str().unwrap(), 300).await;
    let took = started.elapsed();
    assert_eq!(
        (done["status"].as_str(), done["rows_committed"].as_u64()),
        (Some("completed"), Some(10_000)),
        "{done}"
    );
    let listed = std::time::Instant::now();
    let all = list_all(&api, &admin.access, "/api/samples?limit=1000").await;
    let list_took = listed.elapsed();
    assert_eq!(all.len(), 10_000);
    let mut codes: Vec<&str> = all.iter().filter_map(|s| s["barcode"].as_str()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 10_000);
    println!("10,000-row import committed in {took:?}; listed in 10 pages of 1000 in {list_took:?}");
    stack.shutdown().await;
}

/// A stack of its own whose import worker dies after every two chunks of five rows (a
/// test hook), with a lab, a published template and a manifest of `rows` rows.
struct Crashy {
    stack: tracseq_runner::LocalStack,
    api: Api,
    admin: tracseq_tests::client::Tokens,
    tid: String,
    prefix: String,
    csv: String,
}

impl Crashy {
    async fn start(name: &str, rows: usize) -> Self {
        let mut cfg = config(name);
        cfg.env_overrides
            .insert("IMPORT_FAULT_CRASH_AFTER_CHUNKS".into(), "2".into());
        cfg.env_overrides.insert("IMPORT_CHUNK_ROWS".into(), "5".into());
        cfg.parameters.insert("ImportQueueVisibility".into(), "2".into());
        let (stack, endpoints) = isolated(cfg).await;
        let api = Api::new(&endpoints.api);
        // This stack has keys of its own: log the operator in here, not from the shared cache.
        let op = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
        let admin = new_lab_by(&api, &op).await;
        let tid = published_template(&api, &admin.access, reference_template()).await;
        let prefix = unique_prefix();
        let mut csv = String::from("Sample_ID,Patient_ID,Sample_Type,Collection_Date,Submitter\n");
        for i in 0..rows {
            csv.push_str(&format!("{prefix}{i:03},P{i:05},Blood,2024-01-15,Dr. Crash\n"));
        }
        Self {
            stack,
            api,
            admin,
            tid,
            prefix,
            csv,
        }
    }
}

/// The worker is killed after every two chunks (a test hook); SQS redelivers, and the
/// import resumes from its checkpoint. Every sample exists exactly once, none is visible
/// before the import completes, and a barcode taken mid-import rolls the import back.
#[tokio::test]
async fn an_import_survives_worker_crashes_and_rolls_back_cleanly() {
    let Crashy {
        stack,
        api,
        admin,
        tid,
        prefix: p,
        csv,
    } = Crashy::start("crashy", 40).await;
    let (status, v) = start_import(&api, &admin.access, &tid, csv.as_bytes(), json!({})).await;
    assert_eq!(status, 202);
    let id = v["id"].as_str().unwrap().to_owned();
    // While committing (after the first crash), no imported sample is visible.
    let mid = tracseq_tests::eventually(30, || async {
        let (_, v) = api.get(&format!("/api/imports/{id}"), &admin.access).await;
        (v["status"] == "committing" && v["rows_committed"].as_u64().unwrap_or(0) >= 10).then_some(v)
    })
    .await
    .expect("the import pauses mid-commit");
    assert!(mid["rows_committed"].as_u64().unwrap() < 40);
    assert!(
        list_all(&api, &admin.access, "/api/samples").await.is_empty(),
        "half an import is never visible"
    );
    assert_eq!(
        api.get(&format!("/api/samples/by-barcode/{p}000"), &admin.access)
            .await
            .0,
        404
    );
    let done = wait_import(&api, &admin.access, &id, 120).await;
    assert_eq!(
        (done["status"].as_str(), done["rows_committed"].as_u64()),
        (Some("completed"), Some(40)),
        "{done}"
    );
    let all = list_all(&api, &admin.access, "/api/samples").await;
    assert_eq!(all.len(), 40, "every row exactly once");
    let mut codes: Vec<&str> = all.iter().filter_map(|s| s["barcode"].as_str()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 40);

    // Second import: someone registers a barcode of a later row while the import is paused.
    let q = unique_prefix();
    let mut csv = String::from("Sample_ID,Patient_ID,Sample_Type,Collection_Date,Submitter\n");
    for i in 0..40 {
        csv.push_str(&format!("{q}{i:03},P{i:05},Blood,2024-01-15,Dr. Crash\n"));
    }
    let (_, v) = start_import(&api, &admin.access, &tid, csv.as_bytes(), json!({})).await;
    let id = v["id"].as_str().unwrap().to_owned();
    tracseq_tests::eventually(30, || async {
        let (_, v) = api.get(&format!("/api/imports/{id}"), &admin.access).await;
        (v["status"] == "committing" && v["rows_committed"].as_u64().unwrap_or(0) >= 10).then_some(())
    })
    .await
    .expect("paused mid-commit");
    let (status, _) = api
        .post(
            "/api/samples",
            Some(&admin.access),
            json!({"sample_type": "DNA", "barcode": format!("{q}039")}),
        )
        .await;
    assert_eq!(status, 201);
    let done = wait_import(&api, &admin.access, &id, 120).await;
    assert_eq!(
        (done["status"].as_str(), done["failure"]["code"].as_str()),
        (Some("failed"), Some("barcode_taken")),
        "{done}"
    );
    assert_eq!(done["rows_committed"], 0, "every written chunk was removed");
    let left = list_all(&api, &admin.access, &format!("/api/samples?barcode={q}")).await;
    assert_eq!(left.len(), 1, "only the sample registered by hand remains");
    assert_eq!(
        api.get(&format!("/api/samples/by-barcode/{q}000"), &admin.access)
            .await
            .0,
        404
    );
    stack.shutdown().await;
}

/// Hostile workbooks end as failed imports with a clear error and nothing written, and the
/// worker goes on serving: the grid's far corners (A1 and XFD1048576), a zip bomb (1 MB that
/// inflates to 1 GB, through a presigned upload), 50,000 rows; then a good manifest imports.
#[tokio::test]
async fn hostile_workbooks_fail_cleanly_and_the_worker_goes_on() {
    let api = api();
    let admin = new_lab(&api).await;
    let tid = published_template(&api, &admin.access, reference_template()).await;
    let xlsx = |f: &dyn Fn(&mut rust_xlsxwriter::Worksheet)| {
        let mut wb = rust_xlsxwriter::Workbook::new();
        f(wb.add_worksheet());
        wb.save_to_buffer().expect("xlsx")
    };
    let corners = xlsx(&|ws| {
        ws.write(0, 0, "Sample_ID").unwrap();
        ws.write(1_048_575, 16_383, "x").unwrap();
    });
    let rows = xlsx(&|ws| {
        ws.write(0, 0, "Sample_ID").unwrap();
        for r in 1..=50_000u32 {
            ws.write(r, 0, format!("R{r}")).unwrap();
        }
    });
    let bomb = tracseq_tests::hostile::zip_bomb(1024);
    assert!(bomb.len() < 2 << 20, "{}", bomb.len());
    let xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let up = tracseq_tests::lims::upload(&api, &admin.access, "bomb.xlsx", xlsx_type, bomb).await;
    let (status, v) = api
        .post(
            "/api/imports",
            Some(&admin.access),
            json!({"template_id": tid, "object_key": up["object_key"]}),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let done = tracseq_tests::lims::wait_import(&api, &admin.access, v["id"].as_str().unwrap(), 120).await;
    assert_eq!(
        (done["status"].as_str(), done["failure"]["code"].as_str()),
        (Some("failed"), Some("unreadable_file")),
        "{done}"
    );
    assert!(
        done["failure"]["detail"].as_str().unwrap().contains("zip bomb"),
        "{done}"
    );
    for (bytes, code) in [(corners, "too_many_columns"), (rows, "too_many_rows")] {
        let done = import(&api, &admin.access, &tid, &bytes, json!({"filename": "m.xlsx"})).await;
        assert_eq!(
            (done["status"].as_str(), done["failure"]["code"].as_str()),
            (Some("failed"), Some(code)),
            "{done}"
        );
    }
    let (_, samples) = api.get("/api/samples?limit=5", &admin.access).await;
    assert_eq!(samples["items"].as_array().map(Vec::len), Some(0), "nothing written");
    let csv = reference_csv_with_prefix(&unique_prefix());
    let good = import(&api, &admin.access, &tid, csv.as_bytes(), json!({})).await;
    assert_eq!(good["status"], "completed", "{good}");
}

/// A job that fails every delivery (here: the worker crashes mid-commit each time, and the
/// import needs more deliveries than the queue allows) reaches the dead-letter queue, and
/// its import ends `failed` with the reason, the rows it had written removed: nothing stays
/// `committing`, nothing is half-written.
#[tokio::test]
async fn an_import_whose_job_dies_ends_failed_and_rolled_back() {
    // 12 chunks at 2 a delivery: 6 deliveries, one more than the queue's 5.
    let Crashy {
        stack,
        api,
        admin,
        tid,
        csv,
        ..
    } = Crashy::start("deadletter", 60).await;
    let (status, v) = start_import(&api, &admin.access, &tid, csv.as_bytes(), json!({})).await;
    assert_eq!(status, 202, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let done = wait_import(&api, &admin.access, &id, 180).await;
    let samples = list_all(&api, &admin.access, "/api/samples").await;
    stack.shutdown().await;
    assert_eq!(
        (done["status"].as_str(), done["failure"]["code"].as_str()),
        (Some("failed"), Some("worker_gave_up")),
        "{done}"
    );
    assert!(
        done["failure"]["detail"].as_str().unwrap().contains("removed"),
        "{done}"
    );
    assert_eq!(done["rows_committed"], 0, "{done}");
    assert!(samples.is_empty(), "nothing half-written: {samples:?}");
}
