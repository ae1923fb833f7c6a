//! Document intake end to end: a presigned upload to the intake bucket, its S3 event
//! through the queue to the extraction worker (moto's S3 notifications, the runner's
//! poller), review with versioned corrections, and submit through the submissions
//! service's function into the sample submission saga. Each test has a lab of its own.

use futures::future::join_all;
use serde_json::{Value, json};
use std::path::PathBuf;
use tracseq_tests::client::{Api, Tokens, check_role_matrix, new_lab, new_user};
use tracseq_tests::invariants::assert_lab_sound;
use tracseq_tests::lims::events_of;
use tracseq_tests::{eventually, shared};

fn api() -> Api {
    Api::new(&shared().api)
}

fn document(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/intake/tests/documents");
    std::fs::read(dir.join(name)).expect("test document")
}

/// Register a document and PUT its bytes through the presigned link; the created record.
async fn upload(api: &Api, t: &Tokens, filename: &str, content_type: &str, bytes: Vec<u8>) -> Value {
    let (status, v) = api
        .post(
            "/api/intake/documents",
            Some(&t.access),
            json!({"filename": filename, "content_type": content_type, "size": bytes.len()}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["document"]["status"], "awaiting_upload", "{v}");
    tracseq_tests::lims::put_presigned(&v["upload"], content_type, bytes).await;
    v["document"].clone()
}

/// The document once the worker is done with it.
async fn read(api: &Api, t: &Tokens, id: &str) -> Value {
    eventually(120, || async {
        let (status, v) = api.get(&format!("/api/intake/documents/{id}"), &t.access).await;
        assert_eq!(status, 200, "{v}");
        (!matches!(
            v["status"].as_str(),
            Some("awaiting_upload" | "uploaded" | "extracting")
        ))
        .then_some(v)
    })
    .await
    .unwrap_or_else(|| panic!("document {id} was never read"))
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

/// The reference form goes from upload to a completed submission: ready with every field
/// cited, corrected once (and refused at a stale version), submitted once (a second
/// submit, even concurrent, makes no second submission), its six samples registered.
#[tokio::test]
async fn the_reference_form_is_read_reviewed_and_submitted_once() {
    let api = api();
    let admin = new_lab(&api).await;
    let tech = new_user(&api, &admin, "lab_technician").await;
    let doc = upload(
        &api,
        &tech,
        "form.txt",
        "text/plain",
        document("reference_submission.txt"),
    )
    .await;
    let did = id(&doc);
    let v = read(&api, &tech, &did).await;
    assert_eq!(v["status"], "ready", "{v}");
    assert_eq!(v["provider"], "offline");
    assert_eq!(v["format"], "txt");
    assert!(v["assessment"]["confidence"].as_f64().unwrap() >= 0.85, "{v}");
    let email = &v["extraction"]["fields"]["submitter_email"];
    assert_eq!(email["value"], "sarah.johnson@university.edu");
    assert!(
        email["citation"]["quote"].as_str().unwrap().contains("Email"),
        "{email}"
    );
    assert_eq!(v["extraction"]["samples"].as_array().map(Vec::len), Some(6));
    // Review: a stale version is refused; the current one is recorded with who and what.
    let version = v["version"].as_u64().unwrap();
    let (status, stale) = api
        .patch(
            &format!("/api/intake/documents/{did}"),
            &tech.access,
            json!({"version": version - 1, "fields": {"organism": "Homo sapiens sapiens"}}),
        )
        .await;
    assert_eq!(
        (status, stale["code"].as_str()),
        (409, Some("version_conflict")),
        "{stale}"
    );
    let (status, patched) = api
        .patch(
            &format!("/api/intake/documents/{did}"),
            &tech.access,
            json!({"version": version, "fields": {"billing_account": "GRANT-77"}}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let c = &patched["corrections"][0];
    assert_eq!(
        (c["field"].as_str(), c["from"].as_str(), c["to"].as_str()),
        (Some("billing_account"), Some("12345-67890"), Some("GRANT-77"))
    );
    assert_eq!(c["by"], tech.user["id"]);
    assert_eq!(patched["extraction"]["fields"]["billing_account"]["confidence"], 1.0);
    // Two submits at once: one submission, whose id is the document's.
    let path = format!("/api/intake/documents/{did}/submit");
    let answers = join_all((0..2).map(|_| api.post(&path, Some(&tech.access), json!({})))).await;
    let ok: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 202).map(|(_, v)| v).collect();
    assert!(!ok.is_empty(), "{answers:?}");
    for (s, v) in &answers {
        assert!(
            *s == 202 || (*s == 409 && v["code"] == "already_submitted" || v["code"] == "invalid_status"),
            "{s} {v}"
        );
    }
    let sid = ok[0]["submission"]["id"].as_str().unwrap().to_owned();
    assert_eq!(sid, did);
    let (status, again) = api.post(&path, Some(&tech.access), json!({})).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("already_submitted")),
        "{again}"
    );
    let sub = eventually(180, || async {
        let (status, v) = api.get(&format!("/api/submissions/{sid}"), &tech.access).await;
        assert_eq!(status, 200, "{v}");
        (v["status"] != "running").then_some(v)
    })
    .await
    .expect("the submission ends");
    assert_eq!(sub["status"], "completed", "{sub}");
    assert_eq!(sub["sample_count"], 6);
    let (_, list) = api.get("/api/submissions", &tech.access).await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(1),
        "one submission: {list}"
    );
    let (_, samples) = api.get("/api/samples?limit=20", &tech.access).await;
    let barcodes: Vec<&str> = samples["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["barcode"].as_str())
        .collect();
    assert_eq!(barcodes.len(), 6, "{samples}");
    assert!(barcodes.contains(&"CRC240001"), "{barcodes:?}");
    let (_, v) = api.get(&format!("/api/intake/documents/{did}"), &tech.access).await;
    assert_eq!(
        (v["status"].as_str(), v["submission_id"].as_str()),
        (Some("submitted"), Some(did.as_str()))
    );
    let lab = &admin.lab_id();
    let kinds = events_of(lab, &format!("intake/documents/{did}")).await;
    for k in [
        "tracseq.document.uploaded",
        "tracseq.document.extracted",
        "tracseq.document.corrected",
        "tracseq.document.submitted",
    ] {
        assert!(kinds.iter().any(|e| e == k), "{k} missing from {kinds:?}");
    }
    assert_lab_sound(shared(), &admin.lab_id()).await;
}

/// The other layouts: an email lands ready, a short note missing critical fields lands in
/// review (never ready) and says which are missing; asking a question quotes the passage.
#[tokio::test]
async fn an_email_is_ready_a_short_note_needs_review_and_questions_are_answered() {
    let api = api();
    let admin = new_lab(&api).await;
    let mail = upload(
        &api,
        &admin,
        "submission.eml",
        "message/rfc822",
        document("email_submission.eml"),
    )
    .await;
    let note = upload(&api, &admin, "note.txt", "text/plain", document("short_note.txt")).await;
    let mail = read(&api, &admin, &id(&mail)).await;
    assert_eq!(mail["status"], "ready", "{mail}");
    assert_eq!(
        mail["extraction"]["fields"]["submitter_email"]["value"],
        "m.alvarez@biolab.example.org"
    );
    let note = read(&api, &admin, &id(&note)).await;
    assert_eq!(note["status"], "needs_review", "{note}");
    let missing = note["assessment"]["missing_critical"].as_array().unwrap();
    assert!(missing.iter().any(|m| m == "submitter_email"), "{note}");
    let lab = &admin.lab_id();
    let kinds = events_of(lab, &format!("intake/documents/{}", id(&note))).await;
    assert!(
        kinds.iter().any(|k| k == "tracseq.document.review_required"),
        "{kinds:?}"
    );
    // A note with no samples cannot be submitted until its rows are added in review.
    let (status, v) = api
        .post(
            &format!("/api/intake/documents/{}/submit", id(&note)),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, v["errors"][0]["field"].as_str()),
        (422, Some("samples")),
        "{v}"
    );
    let (status, answer) = api
        .post(
            &format!("/api/intake/documents/{}/ask", id(&mail)),
            Some(&admin.access),
            json!({"question": "Which reference genome should be used?"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["answer"].as_str().unwrap().contains("GRCm39"), "{answer}");
    assert!(answer["citations"][0]["page"].as_u64().is_some(), "{answer}");
}

/// Hostile and wrong input: an empty upload, 60 MB, a PDF with no text, a DOCX zip bomb,
/// a file whose type lies, another lab's document, a technician-only route for a reader.
/// Each ends as a clear refusal; nothing is stuck in `extracting`.
#[tokio::test]
async fn bad_documents_are_refused_with_their_reason() {
    let api = api();
    let admin = new_lab(&api).await;
    let (status, v) = api
        .post(
            "/api/intake/documents",
            Some(&admin.access),
            json!({"filename": "big.pdf", "size": 60 * 1024 * 1024}),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (413, Some("file_too_large")), "{v}");
    let (status, v) = api
        .post(
            "/api/intake/documents",
            Some(&admin.access),
            json!({"filename": "x.pdf", "size": 0}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    let (status, v) = api
        .post(
            "/api/intake/documents",
            Some(&admin.access),
            json!({"filename": "x.exe", "size": 10}),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (415, Some("unsupported_format")), "{v}");
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "scan.pdf",
            "application/pdf",
            tracseq_intake::testkit::pdf_without_text(2),
            "no_text_layer",
        ),
        (
            "bomb.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            tracseq_intake::testkit::docx_bomb(64),
            "unreadable_file",
        ),
        (
            "liar.pdf",
            "application/pdf",
            document("short_note.txt"),
            "type_mismatch",
        ),
        ("blank.txt", "text/plain", b"   \n\n  ".to_vec(), "empty_file"),
    ];
    let docs = join_all(
        cases
            .iter()
            .map(|(name, ct, bytes, _)| upload(&api, &admin, name, ct, bytes.clone())),
    )
    .await;
    for (doc, (name, _, _, code)) in docs.iter().zip(&cases) {
        let v = read(&api, &admin, &id(doc)).await;
        assert_eq!(
            (v["status"].as_str(), v["error"]["code"].as_str()),
            (Some("rejected"), Some(*code)),
            "{name}: {v}"
        );
    }
    // Another lab sees none of it; a reader may not reject.
    let other = new_lab(&api).await;
    let did = id(&docs[0]);
    let (status, _) = api.get(&format!("/api/intake/documents/{did}"), &other.access).await;
    assert_eq!(status, 404);
    let (status, _) = api
        .post(
            &format!("/api/intake/documents/{did}/ask"),
            Some(&other.access),
            json!({"question": "x"}),
        )
        .await;
    assert_eq!(status, 404);
    let reader = new_user(&api, &admin, "research_scientist").await;
    let (status, _) = api
        .post(
            &format!("/api/intake/documents/{did}/reject"),
            Some(&reader.access),
            json!({"reason": "no"}),
        )
        .await;
    assert_eq!(status, 403);
    use tracseq_intake::routes as r;
    check_role_matrix(
        &api,
        &admin,
        &[
            &r::CREATE,
            &r::LIST,
            &r::GET,
            &r::PATCH,
            &r::SUBMIT,
            &r::REJECT,
            &r::ASK,
            &r::GET_SETTINGS,
            &r::PUT_SETTINGS,
        ],
    )
    .await;
}

/// A lab chooses its provider: a key-needing provider without a key is refused, the key
/// is stored and never shown, a stale version is refused. With Bedrock chosen (and no
/// Bedrock here: moto has no Converse), the document is still read, offline, and says
/// why; no call leaves the machine.
#[tokio::test]
async fn a_labs_provider_is_chosen_and_a_failing_one_falls_back_to_offline() {
    let api = api();
    let admin = new_lab(&api).await;
    let (status, v) = api.get("/api/intake/settings", &admin.access).await;
    assert_eq!(
        (status, v["provider"].as_str(), v["version"].as_u64()),
        (200, Some("offline"), Some(0)),
        "{v}"
    );
    let (status, v) = api
        .put("/api/intake/settings", &admin.access, json!({"provider": "anthropic"}))
        .await;
    assert_eq!(
        (status, v["errors"][0]["field"].as_str()),
        (422, Some("api_key")),
        "{v}"
    );
    let secret = "sk-ant-test-0123456789";
    let (status, v) = api
        .put(
            "/api/intake/settings",
            &admin.access,
            json!({"provider": "anthropic", "api_key": secret, "threshold": 0.9}),
        )
        .await;
    assert_eq!(
        (status, v["api_key_set"].as_bool(), v["version"].as_u64()),
        (200, Some(true), Some(1)),
        "{v}"
    );
    assert!(!v.to_string().contains(secret));
    let (status, v) = api
        .put(
            "/api/intake/settings",
            &admin.access,
            json!({"provider": "bedrock", "version": 1}),
        )
        .await;
    assert_eq!((status, v["provider"].as_str()), (200, Some("bedrock")), "{v}");
    let (status, v) = api
        .put(
            "/api/intake/settings",
            &admin.access,
            json!({"provider": "offline", "version": 1}),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("version_conflict")), "{v}");
    let (_, v) = api.get("/api/intake/settings", &admin.access).await;
    assert!(!v.to_string().contains(secret), "{v}");
    assert_eq!(v["threshold"], 0.9);
    let doc = upload(
        &api,
        &admin,
        "form.txt",
        "text/plain",
        document("reference_submission.txt"),
    )
    .await;
    let v = read(&api, &admin, &id(&doc)).await;
    assert_eq!(v["provider"], "offline", "{v}");
    assert!(v["fallback"].as_str().unwrap_or_default().contains("bedrock"), "{v}");
    assert_eq!(v["threshold"], 0.9);
    assert_eq!(v["status"], "ready", "{v}");
}

/// An upload event that failed every delivery ends its document `rejected`
/// (`worker_gave_up`), not `extracting` forever: the dead-letter consumer, invoked as
/// Lambda's SQS poller would.
#[tokio::test]
async fn a_document_whose_extraction_failed_every_delivery_is_rejected_not_stuck() {
    let api = api();
    let admin = new_lab(&api).await;
    let (status, v) = api
        .post(
            "/api/intake/documents",
            Some(&admin.access),
            json!({"filename": "form.txt", "size": 10}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let did = id(&v["document"]);
    let key = v["document"]["object_key"].as_str().unwrap();
    let notification = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 10}}}]});
    let batch = json!({"Records": [{"messageId": "m-1", "receiptHandle": "r", "body": notification.to_string(), "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"}]});
    let s = shared();
    let resp = s
        .http()
        .post(format!(
            "{}/2015-03-31/functions/{}/invocations",
            s.edge,
            s.function("ExtractDeadLetterFunction")
        ))
        .body(batch.to_string())
        .send()
        .await
        .expect("invoke");
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.expect("json");
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let (_, v) = api.get(&format!("/api/intake/documents/{did}"), &admin.access).await;
    assert_eq!(
        (v["status"].as_str(), v["error"]["code"].as_str()),
        (Some("rejected"), Some("worker_gave_up")),
        "{v}"
    );
}

/// A 50-page PDF (the reference form repeated) is read whole: every page counted, the
/// samples of every page found. The time from the upload to the answer is printed for the
/// README (measured on a quiet machine; not asserted, the suite runs beside others).
#[tokio::test]
async fn a_fifty_page_pdf_is_read_end_to_end() {
    let api = api();
    let admin = new_lab(&api).await;
    let form = String::from_utf8(document("reference_submission.txt")).expect("utf-8");
    let long: Vec<&str> = std::iter::repeat_n(form.lines(), 12).flatten().take(50 * 60).collect();
    let pdf = tracseq_intake::testkit::pdf(&long.join("\n"));
    let started = std::time::Instant::now();
    let doc = upload(&api, &admin, "long.pdf", "application/pdf", pdf).await;
    let v = read(&api, &admin, &id(&doc)).await;
    println!(
        "50-page PDF: upload to {} in {:.2} s",
        v["status"],
        started.elapsed().as_secs_f64()
    );
    assert_eq!(v["pages"], 50, "{}", v["error"]);
    assert!(
        matches!(v["status"].as_str(), Some("ready" | "needs_review")),
        "{}",
        v["status"]
    );
    let rows = v["extraction"]["samples"].as_array().map(Vec::len).unwrap_or(0);
    assert!(rows >= 60, "{rows} sample rows");
}

/// Review input that must be refused: an unknown field, an empty value, another lab's
/// document, a document not read yet (ask, correct), a second rejection, a threshold out
/// of range. Nothing changes the document's version.
#[tokio::test]
async fn bad_review_input_is_refused() {
    let api = api();
    let admin = new_lab(&api).await;
    let (status, v) = api
        .post(
            "/api/intake/documents",
            Some(&admin.access),
            json!({"filename": "form.txt", "size": 10}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let did = id(&v["document"]);
    let path = format!("/api/intake/documents/{did}");
    let (status, v) = api
        .post(&format!("{path}/ask"), Some(&admin.access), json!({"question": "who?"}))
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("not_extracted")), "{v}");
    let (status, v) = api
        .patch(&path, &admin.access, json!({"version": 1, "fields": {"organism": "x"}}))
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("invalid_status")), "{v}");
    let (status, v) = api
        .patch(
            &path,
            &admin.access,
            json!({"version": 1, "fields": {"favourite_colour": "blue", "organism": ""}}),
        )
        .await;
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        (status, fields),
        (422, vec!["fields.favourite_colour", "fields.organism"]),
        "{v}"
    );
    let (status, v) = api
        .patch(&path, &admin.access, json!({"fields": {"organism": "x"}}))
        .await;
    assert_eq!((status, v["code"].as_str()), (428, Some("version_required")), "{v}");
    // Its text: not read yet (409), and nobody else's (404, never 403); a guest may not.
    let (status, v) = api.get(&format!("{path}/text"), &admin.access).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("not_extracted")), "{v}");
    let other = new_lab(&api).await;
    assert_eq!(api.get(&format!("{path}/text"), &other.access).await.0, 404);
    let guest = tracseq_tests::client::new_user(&api, &admin, "guest").await;
    assert_eq!(api.get(&format!("{path}/text"), &guest.access).await.0, 403);
    let (status, _) = api
        .patch(&path, &other.access, json!({"version": 1, "fields": {"organism": "x"}}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .post(&format!("{path}/reject"), Some(&other.access), json!({"reason": "no"}))
        .await;
    assert_eq!(status, 404);
    let (status, v) = api
        .post(&format!("{path}/reject"), Some(&admin.access), json!({"reason": "  "}))
        .await;
    assert_eq!(status, 422, "{v}");
    let (status, v) = api
        .post(
            &format!("{path}/reject"),
            Some(&admin.access),
            json!({"reason": "wrong lab"}),
        )
        .await;
    assert_eq!((status, v["status"].as_str()), (200, Some("rejected")), "{v}");
    let (status, v) = api
        .post(
            &format!("{path}/reject"),
            Some(&admin.access),
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("invalid_status")), "{v}");
    let (_, v) = api.get(&path, &admin.access).await;
    assert_eq!(
        (v["version"].as_u64(), v["rejection_reason"].as_str()),
        (Some(2), Some("wrong lab")),
        "{v}"
    );
    let (status, v) = api
        .put(
            "/api/intake/settings",
            &admin.access,
            json!({"provider": "offline", "threshold": 1.5}),
        )
        .await;
    assert_eq!(
        (status, v["errors"][0]["field"].as_str()),
        (422, Some("threshold")),
        "{v}"
    );
    let (status, v) = api
        .put(
            "/api/intake/settings",
            &admin.access,
            json!({"provider": "offline", "api_key": "sk-0123456789"}),
        )
        .await;
    assert_eq!(
        (status, v["errors"][0]["field"].as_str()),
        (422, Some("api_key")),
        "{v}"
    );
}
