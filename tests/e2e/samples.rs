//! Samples and templates end to end: registration, barcodes, the status machine, updates
//! with versions, batches, search, aliquots, custom fields, template lifecycle, blank
//! manifests, tenant isolation and the role matrix over every route.

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use tracseq_tests::client::{Api, Tokens, new_lab, new_user};
use tracseq_tests::lims::{events_of, list_all, published_template, reference_template, unique_prefix};
use tracseq_tests::shared;

fn api() -> Api {
    Api::new(&shared().api)
}

async fn create(api: &Api, t: &Tokens, body: Value) -> Value {
    let (status, v) = api.post("/api/samples", Some(&t.access), body).await;
    assert_eq!(status, 201, "{v}");
    v
}

#[tokio::test]
async fn samples_are_registered_read_updated_and_versioned() {
    let api = api();
    let admin = new_lab(&api).await;
    let (status, v, headers) = api
        .send(
            Method::POST,
            "/api/samples",
            Some(&admin.access),
            Some(
                json!({"sample_type": "dna", "name": "Liver biopsy", "volume": 20, "volume_unit": "ul",
                        "collection_date": "15 January 2024", "project": "P-1"}),
            ),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(headers["location"], format!("/api/samples/{id}").as_str());
    assert_eq!(v["status"], "pending");
    assert_eq!(v["sample_type"], "DNA");
    assert_eq!(v["volume_unit"], "µL");
    assert_eq!(v["collection_date"], "2024-01-15");
    assert_eq!(v["priority"], "normal");
    assert_eq!(v["version"], 1);
    let barcode = v["barcode"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = barcode.split('-').collect();
    assert_eq!(parts.len(), 3, "{barcode}: PREFIX-YYYYMMDD-NNNNNN");
    assert_eq!(parts[1].len(), 8);
    assert_eq!(parts[2].len(), 6);

    assert_eq!(api.get(&format!("/api/samples/{id}"), &admin.access).await.1, v);
    let (status, by_code) = api
        .get(
            &format!("/api/samples/by-barcode/{}", barcode.to_lowercase()),
            &admin.access,
        )
        .await;
    assert_eq!((status, &by_code["id"]), (200, &json!(id)));

    // Updates need the version: missing → 428, stale → 409, right → 200.
    let path = format!("/api/samples/{id}");
    assert_eq!(api.patch(&path, &admin.access, json!({"notes": "x"})).await.0, 428);
    let (status, v) = api
        .patch(&path, &admin.access, json!({"notes": "x", "version": 7}))
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("version_conflict")));
    let (status, v) = api
        .patch(
            &path,
            &admin.access,
            json!({"notes": "thawed once", "rin": 8.1, "version": 1}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["version"].as_u64(), v["notes"].as_str()),
        (Some(2), Some("thawed once"))
    );
    let (status, v, _) = api
        .send(
            Method::PATCH,
            &path,
            Some(&admin.access),
            Some(json!({"priority": "urgent"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!((status, v["priority"].as_str()), (200, Some("urgent")));

    // Bad input is refused with every field named, nothing written.
    let (status, v) = api
        .patch(&path, &admin.access, json!({"rin": 14, "barcode": "NEW", "version": 3}))
        .await;
    assert_eq!(status, 422, "{v}");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["barcode"], "unknown keys first: barcode cannot change");
    let (status, v) = api.patch(&path, &admin.access, json!({"rin": 14, "version": 3})).await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("rin")));
    assert_eq!(api.get(&path, &admin.access).await.1["version"], 3);

    // Two writers with the same version: one wins, one gets 409.
    let writes = join_all((0..2).map(|i| {
        let (api, path, token) = (api.clone(), path.clone(), admin.access.clone());
        async move {
            api.patch(&path, &token, json!({"notes": format!("writer {i}"), "version": 3}))
                .await
                .0
        }
    }))
    .await;
    let mut sorted = writes.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 409], "{writes:?}");

    let (status, h) = api.get(&format!("{path}/history"), &admin.access).await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["created", "updated", "updated", "updated"]);
    assert_eq!(h["items"][1]["changed"], json!(["notes", "rin"]));
}

#[tokio::test]
async fn the_status_machine_is_enforced_and_recorded() {
    let api = api();
    let admin = new_lab(&api).await;
    let s = create(&api, &admin, json!({"sample_type": "RNA"})).await;
    let id = s["id"].as_str().unwrap();
    let transitions = format!("/api/samples/{id}/transitions");
    let go = |to: &str, reason: Option<&str>| {
        let mut body = json!({ "to": to });
        if let Some(r) = reason {
            body["reason"] = json!(r);
        }
        api.post(&transitions, Some(&admin.access), body)
    };
    let (status, v) = go("completed", None).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("invalid_transition")));
    assert!(v["detail"].as_str().unwrap().contains("pending to completed"));
    let (status, v) = go("rejected", None).await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("reason")));
    assert_eq!(go("rejected", Some("haemolysed")).await.0, 200);
    assert_eq!(go("pending", None).await.0, 422, "a retry says why");
    assert_eq!(go("pending", Some("new tube received")).await.0, 200);
    assert_eq!(go("validated", None).await.0, 200);
    assert_eq!(go("in_sequencing", None).await.0, 200);
    let (status, v) = go("deleted", Some("x")).await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("to")));
    let (status, v) = api.delete(&format!("/api/samples/{id}"), &admin.access).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("invalid_transition")),
        "not while sequencing"
    );
    let (status, v) = go("failed", Some("low yield")).await;
    assert_eq!((status, v["status"].as_str()), (200, Some("failed")));
    assert_eq!(go("bogus", None).await.0, 422);

    // Soft delete: terminal, out of normal lists, still readable with its history.
    let (status, _, _) = api
        .send(
            Method::DELETE,
            &format!("/api/samples/{id}?reason=duplicate"),
            Some(&admin.access),
            None,
            &[],
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(go("pending", Some("undo")).await.0, 409, "deleted is terminal");
    assert_eq!(
        api.get(&format!("/api/samples/{id}"), &admin.access).await.1["status"],
        "deleted"
    );
    assert!(list_all(&api, &admin.access, "/api/samples").await.is_empty());
    assert_eq!(
        list_all(&api, &admin.access, "/api/samples?status=deleted").await.len(),
        1
    );
    let (_, h) = api.get(&format!("/api/samples/{id}/history"), &admin.access).await;
    let steps: Vec<(String, String)> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["to"].as_str().unwrap_or("").to_owned(),
                e["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("pending", ""),
            ("rejected", "haemolysed"),
            ("pending", "new tube received"),
            ("validated", ""),
            ("in_sequencing", ""),
            ("failed", "low yield"),
            ("deleted", "duplicate"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
}

#[tokio::test]
async fn concurrent_creates_with_one_barcode_have_exactly_one_winner() {
    let api = api();
    let admin = new_lab(&api).await;
    let code = format!("{}-1", unique_prefix());
    let results = join_all((0..12).map(|_| {
        let (api, token, code) = (api.clone(), admin.access.clone(), code.clone());
        async move {
            api.post(
                "/api/samples",
                Some(&token),
                json!({"sample_type": "DNA", "barcode": code}),
            )
            .await
        }
    }))
    .await;
    let won = results.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(won, 1, "{results:?}");
    for (status, v) in results.iter().filter(|(s, _)| *s != 201) {
        assert_eq!((*status, v["code"].as_str()), (409, Some("barcode_taken")), "{v}");
    }
    assert_eq!(
        list_all(&api, &admin.access, &format!("/api/samples?barcode={code}"))
            .await
            .len(),
        1
    );
    // Barcodes are checked for charset and length before anything is written.
    for bad in ["lower-case", "WITH SPACE", &"A".repeat(33)] {
        let (status, v) = api
            .post(
                "/api/samples",
                Some(&admin.access),
                json!({"sample_type": "DNA", "barcode": bad}),
            )
            .await;
        assert_eq!(
            (status, v["errors"][0]["field"].as_str()),
            (422, Some("barcode")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_batch_reports_every_item_and_keeps_the_good_ones() {
    let api = api();
    let admin = new_lab(&api).await;
    let taken = create(
        &api,
        &admin,
        json!({"sample_type": "DNA", "barcode": format!("{}-X", unique_prefix())}),
    )
    .await;
    let (status, v) = api
        .post(
            "/api/samples/batch",
            Some(&admin.access),
            json!({"samples": [
                {"sample_type": "RNA", "name": "a"},
                {"sample_type": "plasmid"},
                {"sample_type": "DNA", "barcode": taken["barcode"]},
                {"sample_type": "Serum", "colour": "red"},
                {"sample_type": "Blood", "name": "b"}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["created"].as_u64(), v["failed"].as_u64()), (Some(2), Some(3)));
    let summary: Vec<(u64, u64, &str)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().unwrap(),
                r["status"].as_u64().unwrap(),
                r["error"]["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (0, 201, ""),
            (1, 422, "validation_failed"),
            (2, 409, "barcode_taken"),
            (3, 422, "validation_failed"),
            (4, 201, "")
        ]
    );
    let a = v["results"][0]["sample"]["barcode"].as_str().unwrap();
    let b = v["results"][4]["sample"]["barcode"].as_str().unwrap();
    assert_ne!(a, b, "generated barcodes never repeat");
    assert_eq!(list_all(&api, &admin.access, "/api/samples").await.len(), 3);
    for n in [0, 1001] {
        let samples: Vec<Value> = (0..n).map(|_| json!({"sample_type": "DNA"})).collect();
        let (status, v) = api
            .post("/api/samples/batch", Some(&admin.access), json!({ "samples": samples }))
            .await;
        assert_eq!((status, v["errors"][0]["rule"].as_str()), (422, Some("length")), "{n}");
    }
}

/// The largest batch, sent twice with one Idempotency-Key: a thousand samples with
/// distinct generated barcodes, and the retry replays the (large) answer.
#[tokio::test]
async fn a_full_batch_is_created_once_and_replayed() {
    let api = api();
    let admin = new_lab(&api).await;
    let samples: Vec<Value> = (0..1000)
        .map(|i| json!({"sample_type": "DNA", "name": format!("s{i}")}))
        .collect();
    let body = json!({ "samples": samples });
    let key = [("idempotency-key", "full-batch-1")];
    let (status, v, _) = api
        .send(
            Method::POST,
            "/api/samples/batch",
            Some(&admin.access),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!((status, v["created"].as_u64()), (200, Some(1000)), "{v}");
    let mut codes: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["sample"]["barcode"].as_str())
        .collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 1000);
    let (status, again, headers) = api
        .send(
            Method::POST,
            "/api/samples/batch",
            Some(&admin.access),
            Some(body),
            &key,
        )
        .await;
    assert_eq!(
        (status, headers["idempotent-replayed"].to_str().unwrap()),
        (200, "true")
    );
    assert_eq!(again, v, "the replay is the first answer");
    assert_eq!(
        list_all(&api, &admin.access, "/api/samples?limit=1000").await.len(),
        1000
    );
}

#[tokio::test]
async fn search_filters_and_pages_in_a_stable_order() {
    let api = api();
    let admin = new_lab(&api).await;
    let prefix = unique_prefix();
    let mut ids = Vec::new();
    for i in 0..7 {
        let kind = if i % 2 == 0 { "DNA" } else { "Saliva" };
        let s = create(
            &api,
            &admin,
            json!({"sample_type": kind, "barcode": format!("{prefix}-{i}"), "name": format!("Tube {i} liver"),
                   "project": if i < 3 { "alpha" } else { "beta" }}),
        )
        .await;
        ids.push(s["id"].as_str().unwrap().to_owned());
    }
    api.post(
        &format!("/api/samples/{}/transitions", ids[0]),
        Some(&admin.access),
        json!({"to": "validated"}),
    )
    .await;
    let all = list_all(&api, &admin.access, "/api/samples?limit=2").await;
    let got: Vec<&str> = all.iter().filter_map(|s| s["id"].as_str()).collect();
    let mut newest_first: Vec<&str> = ids.iter().map(String::as_str).collect();
    newest_first.reverse();
    assert_eq!(got, newest_first, "pages of 2 cover everything once, newest first");
    let count = |q: &'static str| {
        let (api, token) = (api.clone(), admin.access.clone());
        async move { list_all(&api, &token, q).await.len() }
    };
    assert_eq!(count("/api/samples?sample_type=saliva").await, 3);
    assert_eq!(count("/api/samples?project=alpha").await, 3);
    assert_eq!(count("/api/samples?status=validated").await, 1);
    assert_eq!(count("/api/samples?status=pending&limit=1").await, 6);
    assert_eq!(count("/api/samples?q=LIVER").await, 7);
    assert_eq!(count("/api/samples?q=tube%203").await, 1);
    assert_eq!(
        list_all(
            &api,
            &admin.access,
            &format!("/api/samples?barcode={}", prefix.to_lowercase())
        )
        .await
        .len(),
        7
    );
    assert_eq!(
        count("/api/samples?created_from=2000-01-01&created_to=2001-01-01").await,
        0
    );
    assert_eq!(count("/api/samples?created_from=2000-01-01").await, 7);
    assert_eq!(count("/api/samples?project=alpha&sample_type=DNA&limit=1").await, 2);
    for bad in [
        "status=lost",
        "sample_type=plasmid",
        "created_from=yesterday",
        "limit=0",
        "limit=1001",
        "cursor=zzz",
    ] {
        let (status, v) = api.get(&format!("/api/samples?{bad}"), &admin.access).await;
        assert!(status == 400 || status == 422, "{bad}: {status} {v}");
    }
    // A cursor of one list is refused by another.
    let (_, page) = api.get("/api/samples?status=pending&limit=1", &admin.access).await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (status, _) = api
        .get(&format!("/api/samples?status=validated&cursor={cursor}"), &admin.access)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn aliquots_and_derivatives_link_to_their_parent() {
    let api = api();
    let admin = new_lab(&api).await;
    let parent = create(&api, &admin, json!({"sample_type": "Blood"})).await;
    let pid = parent["id"].as_str().unwrap();
    let child = create(
        &api,
        &admin,
        json!({"sample_type": "DNA", "parent_id": pid, "parent_relation": "derived_from"}),
    )
    .await;
    assert_eq!(
        (child["parent_id"].as_str(), child["parent_relation"].as_str()),
        (Some(pid), Some("derived_from"))
    );
    for (body, field) in [
        (json!({"sample_type": "DNA", "parent_id": pid}), "parent_relation"),
        (
            json!({"sample_type": "DNA", "parent_relation": "aliquot_of"}),
            "parent_id",
        ),
        (
            json!({"sample_type": "DNA", "parent_id": "01JNOSUCHSAMPLE", "parent_relation": "aliquot_of"}),
            "parent_id",
        ),
        (
            json!({"sample_type": "DNA", "parent_id": pid, "parent_relation": "cousin_of"}),
            "parent_relation",
        ),
    ] {
        let (status, v) = api.post("/api/samples", Some(&admin.access), body).await;
        assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some(field)), "{v}");
    }
    // Another lab's sample is no parent.
    let other = new_lab(&api).await;
    let (status, v) = api
        .post(
            "/api/samples",
            Some(&other.access),
            json!({"sample_type": "DNA", "parent_id": pid, "parent_relation": "aliquot_of"}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("parent_id")));
}

#[tokio::test]
async fn custom_fields_follow_the_published_template() {
    let api = api();
    let admin = new_lab(&api).await;
    let tid = published_template(&api, &admin.access, reference_template()).await;
    let s = create(
        &api,
        &admin,
        json!({"sample_type": "Blood", "template_id": tid, "custom": {"patient_id": "P12345", "quality_score": "8.5", "analysis_type": "wgs"}}),
    )
    .await;
    assert_eq!(s["template_version"], 1);
    assert_eq!(s["custom"]["quality_score"], 8.5);
    assert_eq!(s["custom"]["analysis_type"], "WGS");
    let (status, v) = api
        .post(
            "/api/samples",
            Some(&admin.access),
            json!({"sample_type": "Blood", "template_id": tid, "custom": {"quality_score": 11, "colour": "red"}}),
        )
        .await;
    assert_eq!(status, 422);
    let mut got: Vec<(&str, &str)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["rule"].as_str().unwrap()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("custom.colour", "unknown_field"),
            ("custom.patient_id", "required"),
            ("custom.quality_score", "max")
        ]
    );
    let (status, v) = api
        .post(
            "/api/samples",
            Some(&admin.access),
            json!({"sample_type": "DNA", "custom": {"a": 1}}),
        )
        .await;
    assert_eq!(
        (status, v["errors"][0]["rule"].as_str()),
        (422, Some("template_required"))
    );
    let (status, draft) = api
        .post("/api/templates", Some(&admin.access), reference_template())
        .await;
    assert_eq!(status, 201);
    let (status, v) = api
        .post(
            "/api/samples",
            Some(&admin.access),
            json!({"sample_type": "DNA", "template_id": draft["id"]}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["rule"].as_str()), (422, Some("published")));
    // An update re-checks custom fields against the sample's own template version.
    let path = format!("/api/samples/{}", s["id"].as_str().unwrap());
    let (status, v) = api
        .patch(
            &path,
            &admin.access,
            json!({"custom": {"quality_score": -1}, "version": 1}),
        )
        .await;
    assert_eq!(
        (status, v["errors"][0]["field"].as_str()),
        (422, Some("custom.quality_score"))
    );
    let (status, v) = api
        .patch(
            &path,
            &admin.access,
            json!({"custom": {"quality_score": 9}, "version": 1}),
        )
        .await;
    assert_eq!(
        (
            status,
            v["custom"]["quality_score"].as_f64(),
            v["custom"]["patient_id"].as_str()
        ),
        (200, Some(9.0), Some("P12345"))
    );
}

#[tokio::test]
async fn idempotency_keys_replay_a_create() {
    let api = api();
    let admin = new_lab(&api).await;
    let body = json!({"sample_type": "DNA", "name": "once"});
    let send = || {
        api.send(
            Method::POST,
            "/api/samples",
            Some(&admin.access),
            Some(body.clone()),
            &[("idempotency-key", "create-once-1")],
        )
    };
    let ((s1, a, _), (s2, b, h2)) = (send().await, send().await);
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(a["id"], b["id"]);
    assert_eq!(h2["idempotent-replayed"], "true");
    assert_eq!(list_all(&api, &admin.access, "/api/samples").await.len(), 1);
    let (status, v, _) = api
        .send(
            Method::POST,
            "/api/samples",
            Some(&admin.access),
            Some(json!({"sample_type": "RNA"})),
            &[("idempotency-key", "create-once-1")],
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (422, Some("idempotency_key_reused")));
}

#[tokio::test]
async fn templates_move_through_their_lifecycle() {
    let api = api();
    let admin = new_lab(&api).await;
    let pi = new_user(&api, &admin, "principal_investigator").await;
    let (status, t, headers) = api
        .send(
            Method::POST,
            "/api/templates",
            Some(&pi.access),
            Some(reference_template()),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!(headers["location"], format!("/api/templates/{id}").as_str());
    assert_eq!(
        (t["status"].as_str(), t["definition"]["fields"][0]["name"].as_str()),
        (Some("draft"), Some("sample_id"))
    );
    let path = format!("/api/templates/{id}");
    let publish_path = format!("{path}/publish");
    let publish = || api.post(&publish_path, Some(&pi.access), json!({}));
    let (status, p) = publish().await;
    assert_eq!(
        (status, p["status"].as_str(), p["published_version"].as_u64()),
        (200, Some("published"), Some(1))
    );
    let (status, v) = publish().await;
    assert_eq!((status, v["code"].as_str()), (409, Some("nothing_to_publish")));
    // An edit of a published template becomes version 2 when published.
    let mut fields = t["definition"]["fields"].as_array().unwrap().clone();
    fields.push(json!({"name": "tube_colour", "label": "Tube colour", "type": "text"}));
    let (status, e) = api
        .patch(&path, &pi.access, json!({"fields": fields, "version": p["version"]}))
        .await;
    assert_eq!((status, e["unpublished_changes"].as_bool()), (200, Some(true)), "{e}");
    let (status, e2) = api
        .patch(&path, &pi.access, json!({"name": "Stale", "version": p["version"]}))
        .await;
    assert_eq!((status, e2["code"].as_str()), (409, Some("version_conflict")));
    let (status, p2) = publish().await;
    assert_eq!((status, p2["published_version"].as_u64()), (200, Some(2)));
    let (status, same) = api.patch(&path, &pi.access, json!({"version": p2["version"]})).await;
    assert_eq!(
        (status, &same["version"]),
        (200, &p2["version"]),
        "an empty patch changes nothing"
    );
    let (status, versions) = api.get(&format!("{path}/versions"), &admin.access).await;
    assert_eq!(status, 200);
    let numbers: Vec<u64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["number"].as_u64())
        .collect();
    assert_eq!(numbers, [1, 2]);
    assert_eq!(
        versions["items"][0]["definition"]["fields"].as_array().unwrap().len(),
        13,
        "version 1 stays frozen"
    );
    // A bad definition is refused with every problem named.
    let (status, v) = api
        .patch(
            &path,
            &pi.access,
            json!({"fields": [{"name": "X", "label": "", "type": "select"}], "version": p2["version"]}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert!(v["errors"].as_array().unwrap().len() >= 3, "{v}");
    // Published templates are deprecated, not deleted; deprecated ones no longer change.
    assert_eq!(
        api.delete(&path, &admin.access).await.1["code"],
        "invalid_template_state"
    );
    let (status, d) = api
        .patch(
            &path,
            &pi.access,
            json!({"status": "deprecated", "version": p2["version"]}),
        )
        .await;
    assert_eq!((status, d["status"].as_str()), (200, Some("deprecated")));
    assert_eq!(
        api.patch(&path, &pi.access, json!({"name": "again", "version": d["version"]}))
            .await
            .0,
        409
    );
    assert_eq!(publish().await.0, 409);
    let (_, list) = api.get("/api/templates?status=deprecated", &admin.access).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // A draft that was never published can be deleted (by an administrator).
    let (_, draft) = api.post("/api/templates", Some(&pi.access), reference_template()).await;
    let draft_path = format!("/api/templates/{}", draft["id"].as_str().unwrap());
    assert_eq!(api.delete(&draft_path, &pi.access).await.0, 403);
    assert_eq!(api.delete(&draft_path, &admin.access).await.0, 204);
    assert_eq!(api.get(&draft_path, &admin.access).await.0, 404);
}

#[tokio::test]
async fn blank_manifests_come_from_the_definition() {
    let api = api();
    let admin = new_lab(&api).await;
    let tid = published_template(&api, &admin.access, reference_template()).await;
    let expected: Vec<String> = reference_template()["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["label"].as_str().unwrap().to_owned())
        .collect();
    for (format, media) in [
        ("csv", "text/csv; charset=utf-8"),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ] {
        let resp = api
            .http
            .get(format!("{}/api/templates/{tid}/blank?format={format}", api.base))
            .bearer_auth(&admin.access)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        if status != 200 {
            panic!("{format}: {status} {}", resp.text().await.unwrap_or_default());
        }
        assert_eq!(resp.headers()["content-type"], media);
        assert!(
            resp.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains(&format!(".{format}"))
        );
        let bytes = resp.bytes().await.unwrap();
        let kind = tracseq_samples::domain::manifest::Format::detect(&bytes);
        let sheet = tracseq_samples::domain::manifest::read(&bytes, kind, None).unwrap();
        assert_eq!(sheet.headers, expected, "{format}");
    }
    let (status, v) = api
        .get(&format!("/api/templates/{tid}/blank?format=pdf"), &admin.access)
        .await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("format")));
}

#[tokio::test]
async fn another_labs_records_are_not_found() {
    let api = api();
    let a = new_lab(&api).await;
    let b = new_lab(&api).await;
    let s = create(&api, &a, json!({"sample_type": "DNA"})).await;
    let tid = published_template(&api, &a.access, reference_template()).await;
    let sid = s["id"].as_str().unwrap();
    for path in [
        format!("/api/samples/{sid}"),
        format!("/api/samples/{sid}/history"),
        format!("/api/samples/by-barcode/{}", s["barcode"].as_str().unwrap()),
        format!("/api/templates/{tid}"),
        format!("/api/templates/{tid}/versions"),
        format!("/api/templates/{tid}/blank"),
    ] {
        let (status, v) = api.get(&path, &b.access).await;
        assert_eq!((status, v["code"].as_str()), (404, Some("not_found")), "{path}");
    }
    assert_eq!(
        api.patch(
            &format!("/api/samples/{sid}"),
            &b.access,
            json!({"notes": "x", "version": 1})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        api.post(
            &format!("/api/samples/{sid}/transitions"),
            Some(&b.access),
            json!({"to": "validated"})
        )
        .await
        .0,
        404
    );
    assert_eq!(api.delete(&format!("/api/samples/{sid}"), &b.access).await.0, 404);
    assert_eq!(
        api.post(&format!("/api/templates/{tid}/publish"), Some(&b.access), json!({}))
            .await
            .0,
        404
    );
    let (status, v) = api
        .post(
            "/api/samples",
            Some(&b.access),
            json!({"sample_type": "DNA", "template_id": tid}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("template_id")));
    assert!(list_all(&api, &b.access, "/api/samples").await.is_empty());
    // The same barcode may exist in two labs: uniqueness is per lab.
    let (status, _) = api
        .post(
            "/api/samples",
            Some(&b.access),
            json!({"sample_type": "DNA", "barcode": s["barcode"]}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(api.get(&format!("/api/samples/{sid}"), &a.access).await.0, 200);
}

/// Every route of the samples service for every role: below the route's least role it
/// is 403; at or above, anything but 403 (the dummy request may well be a 404 or 422).
#[tokio::test]
async fn role_matrix_on_every_samples_route() {
    let api = api();
    let admin = new_lab(&api).await;
    let routes: Vec<_> = tracseq_samples::FUNCTIONS.iter().filter_map(|f| f.route).collect();
    assert_eq!(routes.len(), 25);
    tracseq_tests::client::check_role_matrix(&api, &admin, &routes).await;
}

#[tokio::test]
async fn every_change_writes_its_event_and_concurrent_moves_have_one_winner() {
    let api = api();
    let admin = new_lab(&api).await;
    let s = create(&api, &admin, json!({"sample_type": "DNA"})).await;
    let id = s["id"].as_str().unwrap();
    let path = format!("/api/samples/{id}");
    // Two technicians validate the same sample at once: one moves it, one gets 409.
    let moves = join_all((0..2).map(|_| {
        let (api, token, path) = (api.clone(), admin.access.clone(), format!("{path}/transitions"));
        async move { api.post(&path, Some(&token), json!({"to": "validated"})).await.0 }
    }))
    .await;
    let mut sorted = moves.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 409], "{moves:?}");
    let (status, v) = api
        .post(
            &format!("{path}/transitions"),
            Some(&admin.access),
            json!({"to": "in_sequencing", "version": 1}),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("version_conflict")),
        "a stale transition"
    );
    let (status, _, _) = api
        .send(
            Method::DELETE,
            &format!("{path}?reason=x"),
            Some(&admin.access),
            None,
            &[("if-match", "1")],
        )
        .await;
    assert_eq!(status, 409, "a stale delete");
    assert_eq!(
        api.patch(&path, &admin.access, json!({"notes": "x", "version": 2}))
            .await
            .0,
        200
    );
    let (status, v) = api.delete(&path, &admin.access).await;
    assert_eq!(
        (status, v["errors"][0]["field"].as_str()),
        (422, Some("reason")),
        "a deletion says why"
    );
    assert_eq!(
        api.delete(&format!("{path}?reason=mislabelled"), &admin.access).await.0,
        204
    );
    let kinds = events_of(&admin.lab_id(), &format!("samples/{id}")).await;
    let mut kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "tracseq.sample.created",
            "tracseq.sample.deleted",
            "tracseq.sample.status_changed",
            "tracseq.sample.status_changed",
            "tracseq.sample.updated",
            "tracseq.sample.validated",
        ],
        "one event per change, none for the losing writer"
    );
    let tid = published_template(&api, &admin.access, reference_template()).await;
    let kinds = events_of(&admin.lab_id(), &format!("templates/{tid}")).await;
    assert_eq!(kinds, ["tracseq.template.created", "tracseq.template.published"]);
}
