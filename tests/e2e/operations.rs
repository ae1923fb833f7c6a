//! Operations: backups proven by restore, the backup schedule, the backup list and lab
//! export archives, through the local stack (runner + moto) and the real SDK.

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use tracseq_ops::dynamo_json::{item_hash, item_line, set_digest};
use tracseq_tests::client::{Api, OPERATOR_EMAIL, OPERATOR_PASSWORD, check_role_matrix, new_lab, new_user, operator};
use tracseq_tests::{Endpoints, eventually, shared};

type Item = HashMap<String, AttributeValue>;

async fn scan_all(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Item> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("scan");
        out.extend(page.items.unwrap_or_default());
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return out,
        }
    }
}

/// Every item's SHA-256 (of its canonical DynamoDB JSON), sorted.
async fn checksums(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Vec<[u8; 32]> {
    let mut h: Vec<[u8; 32]> = scan_all(ddb, table)
        .await
        .iter()
        .map(|i| item_hash(&item_line(i)))
        .collect();
    h.sort_unstable();
    h
}

/// Whether an item lets someone in (sessions and the tokens an in-place restore revokes).
fn is_credential(item: &Item) -> bool {
    let pk = item["PK"].as_s().map(String::as_str).unwrap_or_default();
    pk.starts_with(tracseq_aws::auth::SESSION_PREFIX)
        || tracseq_aws::auth::CREDENTIAL_PREFIXES.iter().any(|p| pk.starts_with(p))
}

/// [`checksums`] of everything but credentials.
async fn data_checksums(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Vec<[u8; 32]> {
    let mut h: Vec<[u8; 32]> = scan_all(ddb, table)
        .await
        .iter()
        .filter(|i| !is_credential(i))
        .map(|i| item_hash(&item_line(i)))
        .collect();
    h.sort_unstable();
    h
}

async fn wipe(ddb: &aws_sdk_dynamodb::Client, table: &str) {
    let items = scan_all(ddb, table).await;
    delete_items(ddb, table, &items).await;
}

async fn delete_items(ddb: &aws_sdk_dynamodb::Client, table: &str, items: &[Item]) {
    for chunk in items.chunks(25) {
        let deletes: Vec<WriteRequest> = chunk
            .iter()
            .map(|i| {
                let key = HashMap::from([("PK".to_owned(), i["PK"].clone()), ("SK".to_owned(), i["SK"].clone())]);
                WriteRequest::builder()
                    .delete_request(DeleteRequest::builder().set_key(Some(key)).build().expect("key"))
                    .build()
            })
            .collect();
        ddb.batch_write_item()
            .request_items(table, deletes)
            .send()
            .await
            .expect("delete");
    }
}

/// Invoke a function through the runner's Lambda Invoke API: (error type, payload).
async fn invoke(e: &Endpoints, logical_id: &str, event: Value) -> (Option<String>, Value) {
    let resp = e
        .http()
        .post(format!(
            "{}/2015-03-31/functions/{}/invocations",
            e.edge,
            e.function(logical_id)
        ))
        .body(event.to_string())
        .send()
        .await
        .expect("invoke");
    let failed = resp.headers().contains_key("x-amz-function-error");
    let v: Value = resp.json().await.expect("json");
    (
        failed.then(|| v["errorType"].as_str().unwrap_or_default().to_owned()),
        v,
    )
}

async fn fire_backup(e: &Endpoints) -> Value {
    let resp = e
        .http()
        .post(format!("{}/_runner/schedules/{}", e.edge, e.function("BackupFunction")))
        .send()
        .await
        .expect("fire");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("manifest")
}

async fn s3_client(e: &Endpoints) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&e.sdk().await)
            .force_path_style(true)
            .build(),
    )
}

fn bucket(e: &Endpoints, logical: &str) -> String {
    e.function(logical).to_ascii_lowercase()
}

#[tokio::test]
async fn backup_wipe_restore_is_identical_and_damage_is_refused() {
    let mut config = tracseq_tests::config("opsbk");
    // The schedule as a lab would set it, only every minute, to see the runner fire it.
    config
        .parameters
        .insert("BackupSchedule".into(), "rate(1 minute)".into());
    let (stack, e) = tracseq_tests::isolated(config).await;
    let started = std::time::Instant::now();
    let api = Api::new(&e.api);
    let ddb = aws_sdk_dynamodb::Client::new(&e.sdk().await);
    let s3 = s3_client(&e).await;
    let op = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;

    // A seeded lab: users, samples and what their events cause.
    let admin = tracseq_tests::client::new_lab_by(&api, &op).await;
    new_user(&api, &admin, "lab_technician").await;
    for kind in ["DNA", "RNA", "Blood", "DNA"] {
        let (status, v) = api
            .post("/api/samples", Some(&admin.access), json!({"sample_type": kind}))
            .await;
        assert_eq!(status, 201, "{v}");
    }

    // Back up once the table is quiet: the same checksums two seconds apart (the stream
    // readers, the publisher and the reports counters, have caught up) and before and
    // after the backup.
    let mut taken = None;
    for _ in 0..20 {
        let before = checksums(&ddb, &e.table).await;
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        if checksums(&ddb, &e.table).await != before {
            continue;
        }
        let manifest = fire_backup(&e).await;
        let after = checksums(&ddb, &e.table).await;
        if before == after {
            taken = Some((before, manifest));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let (original, manifest) = taken.expect("the table settles");
    let original_data = data_checksums(&ddb, &e.table).await;
    let table = &manifest["tables"][0];
    assert_eq!(table["name"], e.table.as_str());
    assert_eq!(table["items"], original.len() as u64, "{manifest}");
    assert_eq!(table["digest"], set_digest(&mut original.clone()));
    assert!(original.len() > 20, "a seeded lab is more than a handful of items");
    for f in table["files"].as_array().expect("files") {
        assert!(f["key"].as_str().unwrap().ends_with(".jsonl.gz"));
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
    }
    let id = manifest["id"].as_str().expect("id").to_owned();
    let date = &id[..10];
    assert!(manifest["source_version"].as_str().unwrap().starts_with("0.1.0+"));

    // The operator lists it; a lab administrator may not.
    let (status, list) = api.get("/api/admin/backups", &op.access).await;
    assert_eq!(status, 200, "{list}");
    let listed = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id.as_str())
        .cloned()
        .expect("listed");
    assert_eq!(listed["items"], original.len() as u64);
    assert_eq!(api.get("/api/admin/backups", &admin.access).await.0, 403);
    // A damaged manifest hides only its own backup.
    s3.put_object()
        .bucket(bucket(&e, "BackupBucket"))
        .key("backups/2001-02-03T000000Z/manifest.json")
        .body(b"{not json".to_vec().into())
        .send()
        .await
        .expect("put");
    let (status, list) = api.get("/api/admin/backups", &op.access).await;
    assert_eq!(status, 200, "{list}");
    assert!(list["items"].as_array().unwrap().iter().any(|b| b["id"] == id.as_str()));
    assert!(!list.to_string().contains("2001-02-03"));

    // A restore into the live, non-empty table is refused and changes nothing.
    let (err, v) = invoke(&e, "RestoreFunction", json!({"backup": date})).await;
    assert_eq!(err.as_deref(), Some("TargetNotEmpty"), "{v}");
    assert_eq!(checksums(&ddb, &e.table).await, original);

    // Wipe, restore by date, compare item by item.
    wipe(&ddb, &e.table).await;
    assert!(scan_all(&ddb, &e.table).await.is_empty());
    let (err, report) = invoke(&e, "RestoreFunction", json!({"backup": id})).await;
    assert_eq!(err, None, "{report}");
    assert_eq!(
        (&report["exact"], &report["in_place"]),
        (&json!(true), &json!(true)),
        "{report}"
    );
    assert_eq!(report["items"], original.len() as u64);
    assert_eq!(
        data_checksums(&ddb, &e.table).await,
        original_data,
        "every data item identical"
    );
    // What the backup brought back lets nobody in: every session revoked, every refresh,
    // reset and account-mail token gone, and the old access and refresh tokens refused.
    let secured = &report["secured"];
    assert!(secured["sessions_revoked"].as_u64() >= Some(2), "{report}");
    assert!(secured["tokens_deleted"].as_u64() >= Some(2), "{report}");
    for item in scan_all(&ddb, &e.table).await.iter().filter(|i| is_credential(i)) {
        assert_eq!(
            item.get("revoked").and_then(|v| v.as_bool().ok()),
            Some(&true),
            "{item:?}"
        );
    }
    assert_eq!(api.get("/api/users/me", &admin.access).await.0, 401);
    let (status, _) = api
        .post("/api/auth/refresh", None, json!({"refresh_token": admin.refresh}))
        .await;
    assert_eq!(status, 401);
    let (_, jwks, _) = api
        .send(reqwest::Method::GET, "/.well-known/jwks.json", None, None, &[])
        .await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(
        kids[0],
        secured["signing_key"].as_str().unwrap(),
        "a new key signs: {jwks}"
    );
    assert!(
        kids.len() >= 2,
        "warm functions' keys still verify until the next rotation"
    );
    // The marker says when the restore ran; the schedules go on.
    let marker = aws_sdk_ssm::Client::new(&e.sdk().await)
        .get_parameter()
        .name("/tracseq/local/maintenance/restore")
        .send()
        .await
        .expect("marker");
    let marker: Value = serde_json::from_str(marker.parameter.unwrap().value.as_deref().unwrap()).unwrap();
    assert_eq!(marker["running"], false, "{marker}");
    assert!(
        marker["finished_at"].as_f64() > marker["started_at"].as_f64(),
        "{marker}"
    );
    let op = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    // The restored lab works: its administrator logs in and sees the samples.
    let again = api
        .login(admin.user["email"].as_str().unwrap(), tracseq_tests::client::PASSWORD)
        .await;
    let samples = tracseq_tests::lims::list_all(&api, &again.access, "/api/samples").await;
    assert_eq!(samples.len(), 4);

    // A damaged part: detected by checksum, refused before anything is written.
    let key = table["files"][0]["key"].as_str().unwrap().to_owned();
    let backups = bucket(&e, "BackupBucket");
    let mut body = s3
        .get_object()
        .bucket(&backups)
        .key(&key)
        .send()
        .await
        .expect("get")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec();
    let mid = body.len() / 2;
    body[mid] ^= 0x01;
    s3.put_object()
        .bucket(&backups)
        .key(&key)
        .body(body.into())
        .send()
        .await
        .expect("put");
    let target = "opsbk-restored";
    let (err, v) = invoke(&e, "RestoreFunction", json!({"backup": id, "target": target})).await;
    assert_eq!(err.as_deref(), Some("BackupCorrupted"), "{v}");
    assert!(v["errorMessage"].as_str().unwrap().contains(&key), "{v}");
    assert!(
        ddb.describe_table().table_name(target).send().await.is_err(),
        "nothing was created or written"
    );
    // Bad requests name the problem.
    for (event, kind) in [
        (json!({"backup": "yesterday"}), "InvalidEvent"),
        (json!({"backup": "2001-01-01"}), "BackupNotFound"),
        (json!({"backup": id, "table": "nope"}), "InvalidEvent"),
        (json!({"backup": id, "surprise": 1}), "InvalidEvent"),
        // Only the stack's own tables.
        (json!({"backup": id, "target": "someone-elses-table"}), "InvalidEvent"),
    ] {
        assert_eq!(
            invoke(&e, "RestoreFunction", event.clone()).await.0.as_deref(),
            Some(kind),
            "{event}"
        );
    }

    // The schedule fires in the runner: a backup nobody asked for appears.
    let ours = id.clone();
    let scheduled = eventually(120u64.saturating_sub(started.elapsed().as_secs()).max(5), || {
        let (api, op, ours) = (&api, &op, &ours);
        async move {
            let (_, list) = api.get("/api/admin/backups", &op.access).await;
            list["items"]
                .as_array()?
                .iter()
                .find(|b| b["id"] != ours.as_str())
                .cloned()
        }
    })
    .await;
    assert!(scheduled.is_some(), "the rate(1 minute) schedule ran a backup");
    stack.shutdown().await;
}

/// An in-place restore brings back events whose webhooks and emails went out long ago. Their
/// consumers' bookkeeping (dedupe records, 7 days) and delivery log (90 days) expire, the
/// history does not; here both are deleted before the backup, as age would. The restore's
/// copies must not be sent again, and schedules pause while it writes.
#[tokio::test]
async fn an_in_place_restore_sends_nothing_twice_and_pauses_schedules() {
    use tracseq_tests::receivers::{HttpReceiver, SmtpSink};
    let (stack, e) = tracseq_tests::isolated(tracseq_tests::config("restoresafe")).await;
    let api = Api::new(&e.api);
    let ddb = aws_sdk_dynamodb::Client::new(&e.sdk().await);
    let ssm = aws_sdk_ssm::Client::new(&e.sdk().await);
    let op = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    let admin = tracseq_tests::client::new_lab_by(&api, &op).await;
    let admin_email = admin.user["email"].as_str().unwrap().to_owned();
    let (sink, rx) = (SmtpSink::start().await, HttpReceiver::start().await);
    let (s, v) = api
        .put(
            "/api/notifications/channels/email",
            &admin.access,
            json!({"enabled": true, "settings": {"smtp_host": "127.0.0.1", "smtp_port": sink.port, "smtp_tls": "none", "from": "lims@example.org"}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = api
        .post(
            "/api/webhooks",
            Some(&admin.access),
            json!({"url": format!("{}/hook", rx.base), "event_types": ["sample.created"], "secret": "whsec-restore-test"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = api
        .post(
            "/api/notifications/subscriptions",
            Some(&admin.access),
            json!({"name": "new samples", "event_types": ["sample.created"], "channels": ["email"]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let create = |name: String| {
        let (api, token) = (&api, admin.access.clone());
        async move {
            let (s, v) = api
                .post(
                    "/api/samples",
                    Some(&token),
                    json!({"sample_type": "DNA", "name": name}),
                )
                .await;
            assert_eq!(s, 201, "{v}");
        }
    };
    let hooks = || rx.received("/hook").len();
    let mails = || sink.mail_to(&admin_email).len();
    for i in 0..3 {
        create(format!("before-{i}")).await;
    }
    let sent = eventually(60, || async { (hooks() == 3 && mails() == 3).then_some(()) }).await;
    assert!(sent.is_some(), "3 webhooks and 3 emails: {} and {}", hooks(), mails());

    // Age: the consumers' bookkeeping and the delivery log are gone, the history stays.
    let aged: Vec<Item> = scan_all(&ddb, &e.table)
        .await
        .into_iter()
        .filter(|i| {
            let (pk, sk) = (i["PK"].as_s().unwrap(), i["SK"].as_s().unwrap());
            pk.starts_with("DEDUPE#") || sk.starts_with("DELIV#")
        })
        .collect();
    assert!(aged.len() >= 6, "{}", aged.len());
    delete_items(&ddb, &e.table, &aged).await;
    let mut taken = None;
    for _ in 0..20 {
        let before = checksums(&ddb, &e.table).await;
        let manifest = fire_backup(&e).await;
        if checksums(&ddb, &e.table).await == before {
            taken = Some(manifest);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let id = taken.expect("the table settles")["id"].as_str().unwrap().to_owned();

    // While a restore runs, the schedules skip their runs.
    let marker_param = "/tracseq/local/maintenance/restore";
    let set_marker = |running: bool| {
        let ssm = ssm.clone();
        async move {
            ssm.put_parameter()
                .name(marker_param)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .overwrite(true)
                .value(json!({"backup": "b", "target": "t", "running": running, "started_at": 1.0}).to_string())
                .send()
                .await
                .expect("marker");
        }
    };
    set_marker(true).await;
    // The functions cache the marker for 5 s.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    for f in ["DigestFunction", "RecoverOperationsFunction", "BackupFunction"] {
        let resp = e
            .http()
            .post(format!("{}/_runner/schedules/{}", e.edge, e.function(f)))
            .send()
            .await
            .expect("fire");
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["paused"], "restore", "{f}: {v}");
    }
    set_marker(false).await;

    // Wipe and restore in place: the events come back as stream INSERTs.
    wipe(&ddb, &e.table).await;
    let (err, report) = invoke(&e, "RestoreFunction", json!({"backup": id})).await;
    assert_eq!(err, None, "{report}");
    assert_eq!(report["in_place"], true, "{report}");
    // A new sample after the restore: its webhook and email arrive after anything the
    // restore's INSERTs would have caused (they precede it on the stream).
    let admin = api.login(&admin_email, tracseq_tests::client::PASSWORD).await;
    let (s, v) = api
        .post(
            "/api/samples",
            Some(&admin.access),
            json!({"sample_type": "DNA", "name": "after"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let after = eventually(60, || async { (hooks() >= 4 && mails() >= 4).then_some(()) }).await;
    assert!(
        after.is_some(),
        "the new sample's webhook and email: {} and {}",
        hooks(),
        mails()
    );
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let ids: Vec<String> = rx
        .received("/hook")
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (4, 4), "no webhook twice: {ids:?}");
    assert_eq!(mails(), 4, "no email twice");
    stack.shutdown().await;
}

#[tokio::test]
async fn backup_list_refuses_bad_requests() {
    let s = shared();
    let api = Api::new(&s.api);
    let op = operator(&api).await;
    let (status, v) = api.get("/api/admin/backups", &op.access).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["items"].is_array());
    for (q, code) in [
        ("?limit=0", "validation_failed"),
        ("?limit=x", "validation_failed"),
        ("?cursor=../../etc", "validation_failed"),
    ] {
        let (status, v) = api.get(&format!("/api/admin/backups{q}"), &op.access).await;
        assert_eq!((status, v["code"].as_str()), (422, Some(code)), "{q}: {v}");
    }
    let (status, _, _) = api
        .send(reqwest::Method::GET, "/api/admin/backups", None, None, &[])
        .await;
    assert_eq!(status, 401);
}

/// The archive's entries by path.
fn untar(gz: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    let mut out = HashMap::new();
    for entry in ar.entries().expect("tar") {
        let mut entry = entry.expect("entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let mut body = Vec::new();
        entry.read_to_end(&mut body).expect("read");
        out.insert(path, body);
    }
    out
}

/// The items of an archive: its `items/` entries in order, each checked against the
/// manifest's SHA-256 and count.
fn archive_items(entries: &HashMap<String, Vec<u8>>, manifest: &Value) -> String {
    let mut text = String::new();
    let parts = manifest["item_parts"].as_array().expect("item_parts");
    for part in parts {
        let body = &entries[part["path"].as_str().unwrap()];
        assert_eq!(
            part["sha256"].as_str().unwrap(),
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body))
        );
        let chunk = std::str::from_utf8(body).expect("utf-8");
        assert_eq!(part["items"], chunk.lines().count() as u64);
        text.push_str(chunk);
    }
    assert_eq!(entries.keys().filter(|k| k.starts_with("items/")).count(), parts.len());
    text
}

/// The keys of the lab's items an export carries (`tracseq_ops::export::carry`).
async fn lab_keys(ddb: &aws_sdk_dynamodb::Client, table: &str, lab: &str) -> BTreeSet<(String, String)> {
    let root = format!("LAB#{lab}");
    scan_all(ddb, table)
        .await
        .iter()
        .filter(|i| tracseq_ops::export::carry(i) == tracseq_ops::export::Carry::Exported)
        .filter_map(|i| {
            let (pk, sk) = (i["PK"].as_s().ok()?.clone(), i["SK"].as_s().ok()?.clone());
            (pk == root || pk.starts_with(&format!("{root}#"))).then_some((pk, sk))
        })
        .collect()
}

/// Ask for an export of the caller's lab and wait for its end: the finished export, and
/// its archive downloaded through the link.
async fn export_now(api: &Api, token: &str) -> (Value, Vec<u8>) {
    let (status, v, headers) = api
        .send(reqwest::Method::POST, "/api/lab/exports", Some(token), None, &[])
        .await;
    assert_eq!(status, 202, "{v}");
    let done = finished_export(api, token, headers["location"].to_str().unwrap()).await;
    assert_eq!(done["status"], "completed", "{done}");
    let archive = download(&done).await;
    (done, archive)
}

/// An export's archive, through its download link.
async fn download(done: &Value) -> Vec<u8> {
    reqwest::get(done["download_url"].as_str().expect("download link"))
        .await
        .expect("download")
        .bytes()
        .await
        .expect("bytes")
        .to_vec()
}

async fn finished_export(api: &Api, token: &str, location: &str) -> Value {
    eventually(60, || async {
        let (status, v) = api.get(location, token).await;
        assert_eq!(status, 200, "{v}");
        (v["status"] != "queued" && v["status"] != "running").then_some(v)
    })
    .await
    .expect("the export finishes")
}

#[tokio::test]
async fn lab_export_holds_exactly_that_labs_items_and_files() {
    let s = shared();
    let api = Api::new(&s.api);
    let ddb = aws_sdk_dynamodb::Client::new(&s.sdk().await);
    let s3 = s3_client(s).await;
    let (a, b) = (new_lab(&api).await, new_lab(&api).await);
    for t in [&a, &b] {
        for _ in 0..3 {
            let (status, v) = api
                .post("/api/samples", Some(&t.access), json!({"sample_type": "DNA"}))
                .await;
            assert_eq!(status, 201, "{v}");
        }
    }
    let files = bucket(s, "FilesBucket");
    for (lab, body) in [(a.lab_id(), "a,b\n1,2\n"), (b.lab_id(), "other lab\n")] {
        s3.put_object()
            .bucket(&files)
            .key(format!("uploads/{lab}/manifest.csv"))
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .expect("upload");
    }
    // Let the samples' events settle, then bound the export by two reads of the table.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let before = lab_keys(&ddb, &s.table, &a.lab_id()).await;

    let (api_ref, token) = (&api, a.access.as_str());
    let export = move |key: &'static str| async move {
        let headers = [("idempotency-key", key)];
        api_ref
            .send(reqwest::Method::POST, "/api/lab/exports", Some(token), None, &headers)
            .await
    };
    let (status, v, headers) = export("export-once").await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["status"], "queued");
    let location = headers["location"].to_str().unwrap().to_owned();
    let (status, again, _) = export("export-once").await;
    assert_eq!((status, &again["id"]), (202, &v["id"]), "same key, same export");

    let done = finished_export(&api, &a.access, &location).await;
    assert_eq!(done["status"], "completed", "{done}");
    let after = lab_keys(&ddb, &s.table, &a.lab_id()).await;
    assert!(done.get("archive_key").is_none(), "the object key is not shown");
    let archive = download(&done).await;
    assert_eq!(done["bytes"], archive.len() as u64);
    assert_eq!(
        done["sha256"].as_str().unwrap(),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&archive))
    );

    let entries = untar(&archive);
    let manifest: Value = serde_json::from_slice(&entries["manifest.json"]).expect("manifest");
    let text = archive_items(&entries, &manifest);
    let items: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(manifest["items"], items.len() as u64);
    assert_eq!(manifest["lab_id"], a.lab_id().as_str());
    let exported: BTreeSet<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i["PK"].as_str().unwrap().to_owned(),
                i["SK"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(exported.len(), items.len(), "no item twice");
    assert!(
        before.is_subset(&exported),
        "missing: {:?}",
        before.difference(&exported).collect::<Vec<_>>()
    );
    assert!(
        exported.is_subset(&after),
        "extra: {:?}",
        exported.difference(&after).collect::<Vec<_>>()
    );
    assert!(!text.contains(&b.lab_id()), "nothing of the other lab");
    assert!(
        !text.contains("password_hash") && !text.contains("$argon2"),
        "no credentials"
    );
    assert_eq!(manifest["entities"]["sample"], 3, "{manifest}");
    assert_eq!(
        entries[&format!("files/uploads/{}/manifest.csv", a.lab_id())],
        b"a,b\n1,2\n"
    );
    assert!(!entries.keys().any(|k| k.contains(&b.lab_id())));

    // A redelivered job (SQS delivers at least once) changes nothing; a malformed job is
    // dropped, not retried forever.
    let sqs = aws_sdk_sqs::Client::new(&s.sdk().await);
    let queue = &s.queues["ExportQueue"];
    for body in [
        json!({"lab_id": a.lab_id(), "export_id": v["id"]}).to_string(),
        "not a job".to_owned(),
    ] {
        sqs.send_message()
            .queue_url(queue)
            .message_body(body)
            .send()
            .await
            .expect("send");
    }
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let (_, same) = api.get(&location, &a.access).await;
    assert_eq!((&same["version"], &same["sha256"]), (&done["version"], &done["sha256"]));

    // Two requests at once with one key: one export.
    let exports = |lab: String| {
        let ddb = ddb.clone();
        let table = s.table.clone();
        async move {
            ddb.query()
                .table_name(table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :sk)")
                .expression_attribute_values(":pk", AttributeValue::S(format!("LAB#{lab}")))
                .expression_attribute_values(":sk", AttributeValue::S("EXPORT#".into()))
                .send()
                .await
                .expect("query")
                .count()
        }
    };
    let before_race = exports(a.lab_id()).await;
    let (r1, r2) = tokio::join!(export("race"), export("race"));
    for (status, body, _) in [&r1, &r2] {
        assert!(*status == 202 || *status == 409, "{status} {body}");
    }
    assert_eq!(exports(a.lab_id()).await, before_race + 1, "one export for one key");

    // Another lab's administrator cannot see it; a malformed id is a 404 too.
    let id = v["id"].as_str().unwrap();
    assert_eq!(api.get(&format!("/api/lab/exports/{id}"), &b.access).await.0, 404);
    assert_eq!(api.get("/api/lab/exports/not-an-id", &a.access).await.0, 404);
    check_role_matrix(
        &api,
        &a,
        &[&tracseq_ops::routes::CREATE_EXPORT, &tracseq_ops::routes::GET_EXPORT],
    )
    .await;
}

#[tokio::test]
async fn the_first_operator_is_created_once() {
    let mut config = tracseq_tests::config("opsboot");
    config.seed = false;
    let (stack, e) = tracseq_tests::isolated(config).await;
    let api = Api::new(&e.api);
    let email = "first-operator@example.org";
    let event = |password: &str| json!({"lab_name": "Platform", "email": email, "name": "First Operator", "password": password});
    // The password policy holds here too; nothing is written on a refusal.
    let (err, v) = invoke(&e, "BootstrapOperatorFunction", event("short")).await;
    assert_eq!(err.as_deref(), Some("InvalidEvent"), "{v}");
    let (err, v) = invoke(&e, "BootstrapOperatorFunction", json!({"email": email})).await;
    assert_eq!(err.as_deref(), Some("InvalidEvent"), "{v}");

    let (err, created) = invoke(&e, "BootstrapOperatorFunction", event(tracseq_tests::client::PASSWORD)).await;
    assert_eq!(err, None, "{created}");
    let op = api.login(email, tracseq_tests::client::PASSWORD).await;
    assert_eq!(op.lab_id(), created["lab_id"].as_str().unwrap());
    assert_eq!(api.get("/api/admin/backups", &op.access).await.0, 200, "an operator");
    let lab = tracseq_tests::client::new_lab_by(&api, &op).await;
    assert_eq!(
        api.get("/api/admin/backups", &lab.access).await.0,
        403,
        "its labs' admins are not"
    );

    // Once per deployment, whatever the email.
    let again = json!({"lab_name": "Other", "email": "second@example.org", "name": "Second", "password": tracseq_tests::client::PASSWORD});
    let (err, v) = invoke(&e, "BootstrapOperatorFunction", again).await;
    assert_eq!(err.as_deref(), Some("AlreadyBootstrapped"), "{v}");
    assert_eq!(
        api.try_login("second@example.org", tracseq_tests::client::PASSWORD)
            .await
            .0,
        401
    );
    stack.shutdown().await;
}

/// Every item kind a lab with most features in use holds is either exported on purpose or
/// excluded for a stated reason (`tracseq_ops::export::KINDS`), and the archive carries no
/// secret: no idempotency record (a webhook's secret is in one), no reset link, no hash.
#[tokio::test]
async fn lab_export_carries_each_kind_on_purpose_and_no_secret() {
    use tracseq_ops::export::{Carry, KINDS};
    let s = shared();
    let api = Api::new(&s.api);
    let ddb = aws_sdk_dynamodb::Client::new(&s.sdk().await);
    let a = new_lab(&api).await;
    let tech = new_user(&api, &a, "lab_technician").await;
    // Samples, a template and an import, storage with a placement, a sequencing job.
    let (status, v) = api
        .post("/api/samples", Some(&a.access), json!({"sample_type": "DNA"}))
        .await;
    assert_eq!(status, 201, "{v}");
    let sample = v["id"].as_str().unwrap().to_owned();
    let (status, v) = api
        .post(
            &format!("/api/samples/{sample}/transitions"),
            Some(&a.access),
            json!({"to": "validated"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let template =
        tracseq_tests::lims::published_template(&api, &a.access, tracseq_tests::lims::reference_template()).await;
    let csv = tracseq_tests::lims::reference_csv_with_prefix(&tracseq_tests::lims::unique_prefix());
    let imp = tracseq_tests::lims::import(&api, &tech.access, &template, csv.as_bytes(), json!({})).await;
    assert_eq!(imp["status"], "completed", "{imp}");
    let mut parent = None;
    for (name, kind) in [("FRZ", "freezer"), ("R1", "rack"), ("B1", "box")] {
        let mut body = json!({"name": name, "kind": kind, "zone": "ultra_low"});
        if let Some(p) = &parent {
            body = json!({"name": name, "kind": kind, "parent_id": p});
        }
        if kind == "box" {
            body["rows"] = json!(2);
            body["columns"] = json!(2);
        }
        let (status, v) = api.post("/api/storage/locations", Some(&a.access), body).await;
        assert_eq!(status, 201, "{v}");
        parent = v["id"].as_str().map(str::to_owned);
    }
    let (status, v) = api
        .post(
            "/api/storage/placements",
            Some(&a.access),
            json!({"sample_id": sample, "location_id": parent, "auto": true}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = api
        .post(
            "/api/sequencing/jobs",
            Some(&tech.access),
            json!({"name": "Batch", "sample_ids": [sample]}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    // Notifications: a webhook made with a key (its answer, secret included, is stored for
    // replays), a subscription, a channel, a template, a reset request (a link by email).
    let secret = format!("whsec-export-{}", ulid::Ulid::new());
    let (status, v, _) = api
        .post_keyed(
            "/api/webhooks",
            &a.access,
            json!({"url": "http://127.0.0.1:9/hook", "event_types": ["sample.*"], "secret": secret}),
            "hook-once",
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = api
        .post(
            "/api/notifications/subscriptions",
            Some(&a.access),
            json!({"name": "mine", "event_types": ["sample.*"], "channels": ["in_app"]}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = api
        .put(
            "/api/notifications/channels/email",
            &a.access,
            json!({"enabled": true, "settings": {"smtp_host": "127.0.0.1", "smtp_port": 9, "smtp_tls": "none", "from": "lims@example.org"}}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = api
        .put(
            "/api/notifications/templates/in_app.sample.created",
            &a.access,
            json!({"subject": "New sample", "body": "{{subject}}"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let email = a.user["email"].as_str().unwrap().to_owned();
    let (status, _) = api
        .post("/api/auth/password/forgot", None, json!({"email": email}))
        .await;
    assert_eq!(status, 202);
    // Wait until the notifications of all that exist (the inbox has the import's message).
    eventually(60, || async {
        let (_, v) = api.get("/api/notifications", &tech.access).await;
        v["items"].as_array().filter(|i| !i.is_empty()).map(|_| ())
    })
    .await
    .expect("the importer's message");
    let reset = tracseq_tests::account_mail(&a.user_id()).await;
    assert_eq!(reset.len(), 1);
    // What a scan finds before the export (digests come and go on their own schedule).
    let wanted: BTreeSet<(String, String)> = lab_keys(&ddb, &s.table, &a.lab_id())
        .await
        .into_iter()
        .filter(|(pk, _)| !pk.contains("#DIGEST#"))
        .collect();

    let (_, archive) = export_now(&api, &a.access).await;
    let entries = untar(&archive);
    let manifest: Value = serde_json::from_slice(&entries["manifest.json"]).expect("manifest");
    let text = archive_items(&entries, &manifest);

    // Every kind in the lab's partitions is classified; excluded kinds are not in the archive.
    let root = format!("LAB#{}", a.lab_id());
    let kinds: BTreeSet<String> = scan_all(&ddb, &s.table)
        .await
        .iter()
        .filter(|i| {
            i["PK"]
                .as_s()
                .is_ok_and(|pk| *pk == root || pk.starts_with(&format!("{root}#")))
        })
        .map(tracseq_ops::export::kind_of)
        .collect();
    let unclassified: Vec<&String> = kinds.iter().filter(|k| !KINDS.iter().any(|(c, _)| c == k)).collect();
    assert!(
        unclassified.is_empty(),
        "neither exported nor excluded on purpose: {unclassified:?}"
    );
    for required in [
        "sample",
        "location",
        "import",
        "webhook",
        "subscription",
        "idempotency",
        "audit",
        "event",
    ] {
        assert!(kinds.contains(required), "the lab used {required}: {kinds:?}");
    }
    let exported: BTreeSet<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("line")["entity"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    for (kind, class) in KINDS {
        if let Carry::Excluded(_) = class {
            assert!(!exported.contains(*kind), "{kind} was exported");
        }
    }
    // The export reads by key: every exported item a scan finds in the lab's partitions
    // is in the archive (idempotency records are not even looked for).
    let got: BTreeSet<(String, String)> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("line");
            (
                v["PK"].as_str().unwrap().to_owned(),
                v["SK"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        wanted.is_subset(&got),
        "not found by key: {:?}",
        wanted.difference(&got).collect::<Vec<_>>()
    );
    assert!(!text.contains(&secret), "the webhook's secret");
    assert!(!text.contains(&reset[0].token), "the reset token");
    assert!(!text.contains("$argon2") && !text.contains("password_hash"));
}

/// An export whose worker dies is taken over by the next delivery of its job (not left
/// `running`), and one that dies on every delivery ends `failed` through the dead-letter
/// queue, with the attempts counted.
/// A file larger than two upload parts, incompressible, on a stack of its own (a large
/// object keeps moto busy): the archive streams it through (header, body as S3 hands it
/// over, padding) and reaches S3 in several parts, byte for byte.
#[tokio::test]
async fn a_large_file_streams_into_a_multipart_archive() {
    let mut cfg = tracseq_tests::config("exportbig");
    cfg.env_overrides.insert("EXPORT_PART_MIB".into(), "5".into());
    let (stack, e) = tracseq_tests::isolated(cfg).await;
    let api = Api::new(&e.api);
    let op = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    let admin = tracseq_tests::client::new_lab_by(&api, &op).await;
    let mut big = vec![0u8; 11 * 1024 * 1024 + 123];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for chunk in big.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    // A name longer than a plain tar header holds.
    let key = format!("uploads/{}/{}-run-output.bin", admin.lab_id(), "a-long-name-".repeat(8));
    s3_client(&e)
        .await
        .put_object()
        .bucket(bucket(&e, "FilesBucket"))
        .key(&key)
        .body(big.clone().into())
        .send()
        .await
        .expect("upload");
    let (done, archive) = export_now(&api, &admin.access).await;
    stack.shutdown().await;
    assert!(
        archive.len() > 10 * 1024 * 1024,
        "three parts of 5 MiB: {}",
        archive.len()
    );
    assert_eq!(
        done["sha256"].as_str().unwrap(),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&archive))
    );
    let entries = untar(&archive);
    assert!(entries[&format!("files/{key}")] == big, "the large file byte for byte");
    let manifest: Value = serde_json::from_slice(&entries["manifest.json"]).expect("manifest");
    let file = &manifest["files"][0];
    assert_eq!(file["bytes"], big.len() as u64);
    assert_eq!(
        file["sha256"].as_str().unwrap(),
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&big))
    );
}

#[tokio::test]
async fn an_export_whose_worker_keeps_dying_ends_failed() {
    let mut cfg = tracseq_tests::config("exportcrash");
    cfg.env_overrides
        .insert("EXPORT_FAULT_CRASH_ATTEMPTS".into(), "99".into());
    cfg.parameters.insert("ExportQueueVisibility".into(), "2".into());
    let (stack, e) = tracseq_tests::isolated(cfg).await;
    let api = Api::new(&e.api);
    let op = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    let admin = tracseq_tests::client::new_lab_by(&api, &op).await;
    let (status, v, headers) = api
        .send(
            reqwest::Method::POST,
            "/api/lab/exports",
            Some(&admin.access),
            None,
            &[],
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let location = headers["location"].to_str().unwrap().to_owned();
    let done = eventually(90, || async {
        let (_, v) = api.get(&location, &admin.access).await;
        (v["status"] == "failed").then_some(v)
    })
    .await;
    stack.shutdown().await;
    let done = done.expect("the export ends failed");
    assert_eq!(
        done["attempts"], 3,
        "each delivery took the dead worker's export over: {done}"
    );
    assert!(
        done["error"]
            .as_str()
            .unwrap()
            .contains("could not finish after 3 attempts"),
        "{done}"
    );
}
