//! Storage end to end: the hierarchy and its counters, placement rules, custody chains,
//! racks of 96 all or nothing, races for positions, atomic moves, capacity events,
//! suggestions, tenant isolation and the role matrix over every route.

use aws_sdk_dynamodb::types::{AttributeValue, Get, TransactGetItem};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use tracseq_tests::client::{Api, OPERATOR_EMAIL, OPERATOR_PASSWORD, Tokens, new_lab};
use tracseq_tests::invariants::assert_storage_sound;
use tracseq_tests::lims::{events_at, events_of, validated};
use tracseq_tests::{config, isolated, shared};

fn api() -> Api {
    Api::new(&shared().api)
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

async fn location(api: &Api, t: &Tokens, body: Value) -> Value {
    let (status, v) = api.post("/api/storage/locations", Some(&t.access), body).await;
    assert_eq!(status, 201, "{v}");
    v
}

/// A unit of `zone` holding a rack holding a `rows` x `columns` box: (unit, rack, box).
async fn unit_with_box(api: &Api, t: &Tokens, zone: &str, rows: u16, columns: u16) -> (String, String, String) {
    let unit = location(
        api,
        t,
        json!({"name": format!("FRZ {zone}"), "kind": "freezer", "zone": zone}),
    )
    .await;
    let rack = location(api, t, json!({"name": "R03", "kind": "rack", "parent_id": id(&unit)})).await;
    let boxed = location(
        api,
        t,
        json!({"name": "BOX-07", "kind": "box", "parent_id": id(&rack), "rows": rows, "columns": columns}),
    )
    .await;
    (id(&unit), id(&rack), id(&boxed))
}

async fn counters(api: &Api, t: &Tokens, ids: &[&str]) -> Vec<u64> {
    let mut out = Vec::new();
    for i in ids {
        let (status, v) = api.get(&format!("/api/storage/locations/{i}"), &t.access).await;
        assert_eq!(status, 200, "{v}");
        out.push(v["occupied"].as_u64().unwrap());
    }
    out
}

/// The capacity events about one location, oldest first.
async fn capacity_events(lab: &str, location: &str) -> Vec<String> {
    events_of(lab, &format!("storage/locations/{location}"))
        .await
        .into_iter()
        .filter(|k| k.contains("capacity"))
        .collect()
}

async fn place(api: &Api, t: &Tokens, body: Value) -> (u16, Value) {
    api.post("/api/storage/placements", Some(&t.access), body).await
}

#[tokio::test]
async fn fifty_placements_race_for_ten_positions() {
    let api = api();
    let admin = new_lab(&api).await;
    let (unit, rack, boxed) = unit_with_box(&api, &admin, "ultra_low", 2, 5).await;
    let samples = validated(&api, &admin, 50, "DNA", None).await;
    let labels = ["A1", "A2", "A3", "A4", "A5", "B1", "B2", "B3", "B4", "B5"];
    let results = join_all(samples.iter().enumerate().map(|(i, s)| {
        let (api, token, boxed) = (api.clone(), admin.access.clone(), boxed.clone());
        let body = json!({"sample_id": id(s), "location_id": boxed, "position": labels[i % 10]});
        async move { api.post("/api/storage/placements", Some(&token), body).await }
    }))
    .await;
    let won: Vec<&Value> = results.iter().filter(|(s, _)| *s == 200).map(|(_, v)| v).collect();
    assert_eq!(won.len(), 10, "{results:?}");
    for (status, v) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!((*status, v["code"].as_str()), (409, Some("position_occupied")), "{v}");
    }
    assert_eq!(counters(&api, &admin, &[&unit, &rack, &boxed]).await, [10, 10, 10]);
    // The map agrees with the winners, and each winner's sample says where it is.
    let (_, map) = api
        .get(&format!("/api/storage/locations/{boxed}/map"), &admin.access)
        .await;
    let cells = map["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 10);
    for w in won {
        let item = &w["items"][0];
        let pos = item["to"]["position"].as_str().unwrap();
        let cell = cells.iter().find(|c| c["position"] == pos).unwrap();
        assert_eq!(cell["occupant"]["sample_id"], item["sample_id"]);
        let (_, s) = api
            .get(
                &format!("/api/samples/{}", item["sample_id"].as_str().unwrap()),
                &admin.access,
            )
            .await;
        assert_eq!(
            (s["status"].as_str(), s["storage"]["position"].as_str()),
            (Some("in_storage"), Some(pos))
        );
    }
    assert_eq!(map["location"]["level"], "critical");
    assert_storage_sound(shared(), &admin.lab_id()).await;

    // Sample writes keep the map's snapshot in step: a type correction, and a checked-out
    // sample going to sequencing.
    let cell = &cells[0]["occupant"];
    let sid = cell["sample_id"].as_str().unwrap();
    let (_, s) = api.get(&format!("/api/samples/{sid}"), &admin.access).await;
    let (status, _) = api
        .patch(
            &format!("/api/samples/{sid}"),
            &admin.access,
            json!({"sample_type": "cDNA", "version": s["version"]}),
        )
        .await;
    assert_eq!(status, 200);
    api.post(
        "/api/storage/retrievals",
        Some(&admin.access),
        json!({"sample_id": sid}),
    )
    .await;
    let (status, v) = api
        .post(
            &format!("/api/samples/{sid}/transitions"),
            Some(&admin.access),
            json!({"to": "in_sequencing"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (_, map) = api
        .get(&format!("/api/storage/locations/{boxed}/map"), &admin.access)
        .await;
    let now = &map["cells"][0]["occupant"];
    assert_eq!(
        (
            now["sample_type"].as_str(),
            now["status"].as_str(),
            now["checked_out"].as_bool()
        ),
        (Some("cDNA"), Some("in_sequencing"), Some(true))
    );
}

/// Technicians scanning into the same box at once: 40 automatic placements race for the
/// 11 free wells of a 12-well box. A request that loses its chosen well takes the next
/// free one, so exactly the 11 wells fill and the other 29 are told the box is full.
#[tokio::test]
async fn forty_automatic_placements_fill_eleven_free_wells_exactly() {
    let api = api();
    let admin = new_lab(&api).await;
    let (unit, rack, boxed) = unit_with_box(&api, &admin, "ultra_low", 3, 4).await;
    let samples = validated(&api, &admin, 41, "DNA", None).await;
    let (status, v) = place(
        &api,
        &admin,
        json!({"sample_id": id(&samples[40]), "location_id": boxed, "position": "B2"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    // Racers the store keeps too long are told 503 with Retry-After; they retry, as a
    // client should, until they are placed or the box is full.
    let results = join_all(samples[..40].iter().map(|s| {
        let (api, token, boxed) = (api.clone(), admin.access.clone(), boxed.clone());
        let body = json!({"sample_id": id(s), "location_id": boxed, "auto": true});
        async move {
            loop {
                let (status, v, headers) = api
                    .send(
                        reqwest::Method::POST,
                        "/api/storage/placements",
                        Some(&token),
                        Some(body.clone()),
                        &[],
                    )
                    .await;
                if status == 503 && headers.contains_key("retry-after") {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
                return (status, v);
            }
        }
    }))
    .await;
    let placed: Vec<&str> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .filter_map(|(_, v)| v["items"][0]["to"]["position"].as_str())
        .collect();
    assert_eq!(placed.len(), 11, "{results:?}");
    for (status, v) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!((*status, v["code"].as_str()), (409, Some("box_full")), "{v}");
    }
    let mut taken: Vec<&str> = placed.clone();
    taken.push("B2");
    taken.sort_unstable();
    taken.dedup();
    assert_eq!(taken.len(), 12, "every well once: {placed:?}");
    assert_eq!(counters(&api, &admin, &[&unit, &rack, &boxed]).await, [12, 12, 12]);
    assert_storage_sound(shared(), &admin.lab_id()).await;
}

#[tokio::test]
async fn placement_rules_custody_and_disposal() {
    let api = api();
    let admin = new_lab(&api).await;
    let (unit, _, cold) = unit_with_box(&api, &admin, "freezer", 9, 9).await;
    let (_, _, ultra) = unit_with_box(&api, &admin, "ultra_low", 9, 9).await;
    let rna = validated(&api, &admin, 2, "RNA", None).await;
    let (a, b) = (id(&rna[0]), id(&rna[1]));

    // Zone rules name the rule.
    let (status, v) = place(
        &api,
        &admin,
        json!({"sample_id": a, "location_id": cold, "position": "A1"}),
    )
    .await;
    assert_eq!((status, v["errors"][0]["rule"].as_str()), (422, Some("zone")), "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("RNA must be stored in ultra_low or ln2_vapor"),
        "{v}"
    );
    // A pending sample is not ready for storage (the status machine says so).
    let (_, pending) = api
        .post("/api/samples", Some(&admin.access), json!({"sample_type": "RNA"}))
        .await;
    let (status, v) = place(
        &api,
        &admin,
        json!({"sample_id": id(&pending), "location_id": ultra, "auto": true}),
    )
    .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("invalid_transition")), "{v}");
    // Manual transitions cannot bypass storage.
    let (status, v) = api
        .post(
            &format!("/api/samples/{a}/transitions"),
            Some(&admin.access),
            json!({"to": "in_storage"}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["rule"].as_str()), (422, Some("storage")));

    let (status, v) = place(
        &api,
        &admin,
        json!({"sample_id": a, "location_id": ultra, "position": "c5", "version": 1}),
    )
    .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("version_conflict")),
        "a stale version: {v}"
    );
    let (status, v) = place(
        &api,
        &admin,
        json!({"sample_id": a, "location_id": ultra, "position": "c5"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["items"][0]["to"]["position"], "C5");
    assert_eq!(v["items"][0]["to"]["path"], "FRZ ultra_low/R03/BOX-07");
    let (status, v) = place(
        &api,
        &admin,
        json!({"sample_id": a, "location_id": ultra, "position": "D1"}),
    )
    .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("already_stored")),
        "placed twice: {v}"
    );
    let (status, v) = place(
        &api,
        &admin,
        json!({"sample_id": b, "location_id": ultra, "position": "C5"}),
    )
    .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("position_occupied")), "{v}");
    let (status, v) = place(
        &api,
        &admin,
        json!({"sample_id": b, "location_id": ultra, "position": "J1"}),
    )
    .await;
    assert_eq!(
        (status, v["errors"][0]["rule"].as_str()),
        (422, Some("position")),
        "{v}"
    );
    let (status, _) = place(
        &api,
        &admin,
        json!({"sample_id": b, "location_id": unit, "position": "A1"}),
    )
    .await;
    assert_eq!(status, 422, "a freezer is not a box");

    // A stored sample cannot be deleted or moved through its status by hand.
    let (status, v) = api.delete(&format!("/api/samples/{a}?reason=x"), &admin.access).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("in_storage")));
    // Moves need a reason; retrieval from a frozen zone counts a freeze-thaw cycle.
    let (status, v) = api
        .post(
            "/api/storage/moves",
            Some(&admin.access),
            json!({"sample_id": a, "location_id": ultra, "position": "A1"}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("reason")));
    let (status, v) = api
        .post(
            "/api/storage/moves",
            Some(&admin.access),
            json!({"sample_id": a, "location_id": ultra, "position": "A1", "reason": "consolidate"}),
        )
        .await;
    assert_eq!(
        (status, v["items"][0]["from"]["position"].as_str()),
        (200, Some("C5")),
        "{v}"
    );
    let (status, v) = api
        .post("/api/storage/retrievals", Some(&admin.access), json!({"sample_id": a}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (
            v["items"][0]["status"].as_str(),
            v["items"][0]["freeze_thaw_count"].as_u64()
        ),
        (Some("validated"), Some(1))
    );
    // The position waits for the sample; nobody else may take it.
    let (_, map) = api
        .get(&format!("/api/storage/locations/{ultra}/map"), &admin.access)
        .await;
    assert_eq!(map["cells"][0]["occupant"]["checked_out"], true);
    assert_eq!(map["cells"][0]["occupant"]["status"], "validated");
    let (status, _) = place(
        &api,
        &admin,
        json!({"sample_id": b, "location_id": ultra, "position": "A1"}),
    )
    .await;
    assert_eq!(status, 409);
    let (status, v) = api
        .post("/api/storage/retrievals", Some(&admin.access), json!({"sample_id": a}))
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("checked_out")));
    let (status, v) = api
        .post("/api/storage/returns", Some(&admin.access), json!({"sample_id": a}))
        .await;
    assert_eq!(
        (status, v["items"][0]["to"]["position"].as_str()),
        (200, Some("A1")),
        "{v}"
    );
    // Scanning finds the sample and its box; scanning the box finds the box.
    let (_, s) = api.get(&format!("/api/samples/{a}"), &admin.access).await;
    let (status, v) = api
        .get(
            &format!("/api/storage/scan/{}", s["barcode"].as_str().unwrap().to_lowercase()),
            &admin.access,
        )
        .await;
    assert_eq!(
        (status, v["kind"].as_str(), v["location"]["id"].as_str()),
        (200, Some("sample"), Some(ultra.as_str()))
    );
    let (_, boxed) = api.get(&format!("/api/storage/locations/{ultra}"), &admin.access).await;
    let (_, v) = api
        .get(
            &format!("/api/storage/scan/{}", boxed["barcode"].as_str().unwrap()),
            &admin.access,
        )
        .await;
    assert_eq!(
        (v["kind"].as_str(), v["location"]["path"].as_str()),
        (Some("location"), Some("FRZ ultra_low/R03/BOX-07"))
    );
    assert_eq!(api.get("/api/storage/scan/NOPE-1", &admin.access).await.0, 404);

    // Disposal is terminal, needs a reason, and frees the position.
    let (status, _) = api
        .post("/api/storage/disposals", Some(&admin.access), json!({"sample_id": a}))
        .await;
    assert_eq!(status, 422);
    let (status, v) = api
        .post(
            "/api/storage/disposals",
            Some(&admin.access),
            json!({"sample_id": a, "reason": "used up"}),
        )
        .await;
    assert_eq!(
        (status, v["items"][0]["status"].as_str()),
        (200, Some("deleted")),
        "{v}"
    );
    for (path, body) in [
        (
            "/api/storage/placements",
            json!({"sample_id": a, "location_id": ultra, "auto": true}),
        ),
        ("/api/storage/disposals", json!({"sample_id": a, "reason": "again"})),
        ("/api/storage/returns", json!({"sample_id": a})),
    ] {
        let (status, v) = api.post(path, Some(&admin.access), body).await;
        assert_eq!(status, 409, "{path} after disposal: {v}");
    }
    assert_eq!(counters(&api, &admin, &[&ultra]).await, [0]);
    let (_, custody) = api.get(&format!("/api/samples/{a}/custody"), &admin.access).await;
    let actions: Vec<&str> = custody["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["placed", "moved", "retrieved", "returned", "disposed"]);
    let kinds: Vec<String> = events_of(&admin.lab_id(), &format!("samples/{a}"))
        .await
        .into_iter()
        .filter(|k| {
            !k.starts_with("tracseq.sample.status_changed") && !k.ends_with("created") && !k.ends_with("validated")
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "tracseq.sample.stored",
            "tracseq.sample.moved",
            "tracseq.sample.retrieved",
            "tracseq.sample.stored",
            "tracseq.sample.disposed"
        ],
        "one event per movement, in order"
    );
    assert_eq!(custody["items"][1]["reason"], "consolidate");
    assert_eq!(custody["items"][4]["from"]["position"], "A1");
    let (_, h) = api.get(&format!("/api/samples/{a}/history"), &admin.access).await;
    let steps: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["to"].as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "pending",
            "validated",
            "in_storage",
            "validated",
            "in_storage",
            "deleted"
        ]
    );

    // A unit under maintenance takes nothing in, but samples may leave it.
    place(
        &api,
        &admin,
        json!({"sample_id": b, "location_id": ultra, "position": "B2"}),
    )
    .await;
    let (_, u) = api.get(&format!("/api/storage/locations/{unit}"), &admin.access).await;
    let (status, _) = api
        .patch(
            &format!("/api/storage/locations/{unit}"),
            &admin.access,
            json!({"status": "maintenance", "version": u["version"]}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, v) = place(
        &api,
        &admin,
        json!({"sample_id": id(&validated(&api, &admin, 1, "DNA", None).await[0]), "location_id": cold, "auto": true}),
    )
    .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("unit_unavailable")), "{v}");
    // A sample from a refrigerated box does not count a freeze-thaw cycle.
    let (_, _, fridge_box) = unit_with_box(&api, &admin, "refrigerated", 2, 2).await;
    let dna = id(&validated(&api, &admin, 1, "DNA", None).await[0]);
    place(
        &api,
        &admin,
        json!({"sample_id": dna, "location_id": fridge_box, "auto": true}),
    )
    .await;
    let (_, v) = api
        .post(
            "/api/storage/retrievals",
            Some(&admin.access),
            json!({"sample_id": dna}),
        )
        .await;
    assert_eq!(v["items"][0]["freeze_thaw_count"], 0);
    assert_storage_sound(shared(), &admin.lab_id()).await;
}

#[tokio::test]
async fn a_move_is_atomic() {
    let api = api();
    let admin = new_lab(&api).await;
    let (_, _, one) = unit_with_box(&api, &admin, "ultra_low", 2, 2).await;
    let (_, _, two) = unit_with_box(&api, &admin, "ultra_low", 2, 2).await;
    let s = id(&validated(&api, &admin, 1, "DNA", None).await[0]);
    assert_eq!(
        place(
            &api,
            &admin,
            json!({"sample_id": s, "location_id": one, "position": "A1"})
        )
        .await
        .0,
        200
    );
    let lab = admin.lab_id();
    let endpoints = shared();
    let client = aws_sdk_dynamodb::Client::new(&endpoints.sdk().await);
    let key = |b: &str| {
        Get::builder()
            .table_name(&endpoints.table)
            .key("PK", AttributeValue::S(format!("LAB#{lab}#LOC#{b}")))
            .key("SK", AttributeValue::S("POS#A1".into()))
            .build()
            .unwrap()
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A reader takes serializable snapshots of both positions while the sample moves back
    // and forth: it must always be in exactly one of them.
    let reader = {
        let (client, stop) = (client.clone(), stop.clone());
        let (a, b) = (key(&one), key(&two));
        tokio::spawn(async move {
            let mut seen = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let out = client
                    .transact_get_items()
                    .transact_items(TransactGetItem::builder().get(a.clone()).build())
                    .transact_items(TransactGetItem::builder().get(b.clone()).build())
                    .send()
                    .await
                    .expect("transact get");
                let present = out.responses().iter().filter(|r| r.item().is_some()).count();
                assert_eq!(present, 1, "the sample is in {present} places");
                seen += 1;
            }
            seen
        })
    };
    for i in 0..6 {
        let to = if i % 2 == 0 { &two } else { &one };
        let (status, v) = api
            .post(
                "/api/storage/moves",
                Some(&admin.access),
                json!({"sample_id": s, "location_id": to, "position": "A1", "reason": "rebalance"}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let snapshots = reader.await.expect("reader");
    assert!(snapshots > 3, "the reader ran ({snapshots} snapshots)");
    assert_eq!(counters(&api, &admin, &[&one, &two]).await, [1, 0]);
    assert_storage_sound(shared(), &admin.lab_id()).await;
}

#[tokio::test]
async fn the_hierarchy_keeps_paths_counters_and_refuses_to_delete_what_is_not_empty() {
    let api = api();
    let admin = new_lab(&api).await;
    let site = location(&api, &admin, json!({"name": "Main", "kind": "site"})).await;
    let building = location(
        &api,
        &admin,
        json!({"name": "B1", "kind": "building", "parent_id": id(&site)}),
    )
    .await;
    let room = location(
        &api,
        &admin,
        json!({"name": "R312", "kind": "room", "parent_id": id(&building)}),
    )
    .await;
    let unit = location(
        &api,
        &admin,
        json!({"name": "FRZ-01", "kind": "freezer", "zone": "ultra_low", "parent_id": id(&room), "barcode": "frz-0001"}),
    )
    .await;
    assert_eq!(unit["barcode"], "FRZ-0001");
    let shelf = location(
        &api,
        &admin,
        json!({"name": "S1", "kind": "shelf", "parent_id": id(&unit)}),
    )
    .await;
    let rack = location(
        &api,
        &admin,
        json!({"name": "R03", "kind": "rack", "parent_id": id(&shelf)}),
    )
    .await;
    let plate = location(
        &api,
        &admin,
        json!({"name": "PL-1", "kind": "plate", "parent_id": id(&rack), "rows": 16, "columns": 24, "fill_order": "column"}),
    )
    .await;
    assert_eq!(plate["path"], "Main/B1/R312/FRZ-01/S1/R03/PL-1");
    assert_eq!(
        (plate["capacity"].as_u64(), plate["effective_zone"].as_str()),
        (Some(384), Some("ultra_low"))
    );
    assert!(plate["barcode"].as_str().unwrap().starts_with("LOC-"));
    let small = location(
        &api,
        &admin,
        json!({"name": "BOX-2", "kind": "box", "parent_id": id(&rack), "rows": 9, "columns": 9}),
    )
    .await;
    let (_, s) = api
        .get(&format!("/api/storage/locations/{}", id(&site)), &admin.access)
        .await;
    assert_eq!(
        (s["capacity"].as_u64(), s["children"].as_u64()),
        (Some(384 + 81), Some(1))
    );

    // Containment, depth, grid and zone rules.
    for (body, field, rule) in [
        (
            json!({"name": "x", "kind": "box", "rows": 2, "columns": 2}),
            "parent_id",
            "hierarchy",
        ),
        (
            json!({"name": "x", "kind": "room", "parent_id": id(&unit)}),
            "parent_id",
            "hierarchy",
        ),
        (
            json!({"name": "x", "kind": "rack", "parent_id": id(&plate)}),
            "parent_id",
            "hierarchy",
        ),
        (json!({"name": "x", "kind": "freezer"}), "zone", "required"),
        (
            json!({"name": "x", "kind": "rack", "parent_id": id(&unit), "zone": "freezer"}),
            "zone",
            "units_only",
        ),
        (
            json!({"name": "x", "kind": "box", "parent_id": id(&rack)}),
            "rows",
            "required",
        ),
        (
            json!({"name": "x", "kind": "box", "parent_id": id(&rack), "rows": 40, "columns": 2}),
            "rows",
            "range",
        ),
        (json!({"name": "a/b", "kind": "site"}), "name", "format"),
        (json!({"name": "x", "kind": "igloo"}), "kind", "one_of"),
        (
            json!({"name": "x", "kind": "site", "barcode": "bad code!"}),
            "barcode",
            "format",
        ),
        (
            json!({"name": "x", "kind": "shelf", "parent_id": "01JNOSUCHTHING0000000000"}),
            "parent_id",
            "exists",
        ),
    ] {
        let (status, v) = api
            .post("/api/storage/locations", Some(&admin.access), body.clone())
            .await;
        assert_eq!(
            (
                status,
                v["errors"][0]["field"].as_str(),
                v["errors"][0]["rule"].as_str()
            ),
            (422, Some(field), Some(rule)),
            "{body}: {v}"
        );
    }
    // Site, building, room, unit, shelf, rack, rack, rack: the eighth level is the last.
    let deep = location(
        &api,
        &admin,
        json!({"name": "R-in", "kind": "rack", "parent_id": id(&rack)}),
    )
    .await;
    let deeper = location(
        &api,
        &admin,
        json!({"name": "R-in-in", "kind": "rack", "parent_id": id(&deep)}),
    )
    .await;
    let (status, v) = api
        .post(
            "/api/storage/locations",
            Some(&admin.access),
            json!({"name": "too deep", "kind": "box", "rows": 1, "columns": 1, "parent_id": id(&deeper)}),
        )
        .await;
    assert_eq!(
        (status, v["errors"][0]["rule"].as_str()),
        (422, Some("max_depth")),
        "{v}"
    );
    let (status, v) = api
        .post(
            "/api/storage/locations",
            Some(&admin.access),
            json!({"name": "y", "kind": "site", "barcode": "FRZ-0001"}),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("barcode_taken")));

    // Children and roots, by name.
    let (_, kids) = api
        .get(&format!("/api/storage/locations/{}/children", id(&rack)), &admin.access)
        .await;
    let names: Vec<&str> = kids["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["BOX-2", "PL-1", "R-in"]);
    assert_eq!(kids["items"][1]["path"], "Main/B1/R312/FRZ-01/S1/R03/PL-1");
    let (_, roots) = api.get("/api/storage/locations", &admin.access).await;
    assert_eq!(roots["items"].as_array().unwrap().len(), 1);

    // A retried create (same Idempotency-Key) makes one location, counted once.
    let mut answers = Vec::new();
    for _ in 0..2 {
        let (status, v, _) = api
            .send(
                Method::POST,
                "/api/storage/locations",
                Some(&admin.access),
                Some(json!({"name": "S2", "kind": "shelf", "parent_id": id(&unit)})),
                &[("idempotency-key", "shelf-s2")],
            )
            .await;
        assert_eq!(status, 201, "{v}");
        answers.push(v);
    }
    assert_eq!(answers[0], answers[1]);
    let (_, u) = api
        .get(&format!("/api/storage/locations/{}", id(&unit)), &admin.access)
        .await;
    assert_eq!(u["children"], 2, "S1 and S2, once");
    // Two editors with the same version: one wins, one gets 409.
    let edits = join_all(["Shelf two", "Shelf 2"].map(|name| {
        let (api, token, path) = (
            api.clone(),
            admin.access.clone(),
            format!("/api/storage/locations/{}", id(&answers[0])),
        );
        async move { api.patch(&path, &token, json!({"name": name, "version": 1})).await.0 }
    }))
    .await;
    let mut sorted = edits.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 409], "{edits:?}");

    // Renames are versioned and show in every path below.
    let path = format!("/api/storage/locations/{}", id(&room));
    assert_eq!(api.patch(&path, &admin.access, json!({"name": "R313"})).await.0, 428);
    let (status, v) = api
        .patch(&path, &admin.access, json!({"name": "R313", "version": 7}))
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("version_conflict")));
    let (status, v) = api
        .patch(&path, &admin.access, json!({"name": "R313", "version": 1}))
        .await;
    assert_eq!(
        (status, v["version"].as_u64(), v["path"].as_str()),
        (200, Some(2), Some("Main/B1/R313"))
    );
    let (_, p) = api
        .get(&format!("/api/storage/locations/{}", id(&plate)), &admin.access)
        .await;
    assert_eq!(p["path"], "Main/B1/R313/FRZ-01/S1/R03/PL-1");
    let (status, v) = api
        .patch(
            &format!("/api/storage/locations/{}", id(&rack)),
            &admin.access,
            json!({"status": "offline", "version": 1}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["rule"].as_str()), (422, Some("units_only")));

    // A sample in the plate: nothing above it can go, and the zone is fixed.
    let s = id(&validated(&api, &admin, 1, "Plasma", None).await[0]);
    let (status, v) = place(
        &api,
        &admin,
        json!({"sample_id": s, "location_id": id(&plate), "auto": true}),
    )
    .await;
    assert_eq!(
        (status, v["items"][0]["to"]["position"].as_str()),
        (200, Some("A1")),
        "{v}"
    );
    let (status, v) = api
        .patch(
            &format!("/api/storage/locations/{}", id(&unit)),
            &admin.access,
            json!({"zone": "freezer", "version": 1}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["rule"].as_str()), (422, Some("empty_only")));
    for loc in [&plate, &rack, &unit, &site] {
        let (status, v) = api
            .delete(&format!("/api/storage/locations/{}", id(loc)), &admin.access)
            .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (409, Some("location_not_empty")),
            "{}",
            loc["name"]
        );
    }
    // An empty box goes, and its positions leave every counter above it.
    let (status, _, _) = api
        .send(
            Method::DELETE,
            &format!("/api/storage/locations/{}", id(&small)),
            Some(&admin.access),
            None,
            &[("if-match", "5")],
        )
        .await;
    assert_eq!(status, 409, "a stale delete");
    let (status, _) = api
        .delete(&format!("/api/storage/locations/{}", id(&small)), &admin.access)
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        api.get(&format!("/api/storage/locations/{}", id(&small)), &admin.access)
            .await
            .0,
        404
    );
    let (_, s) = api
        .get(&format!("/api/storage/locations/{}", id(&site)), &admin.access)
        .await;
    assert_eq!((s["capacity"].as_u64(), s["occupied"].as_u64()), (Some(384), Some(1)));
    let kinds = events_of(&admin.lab_id(), &format!("storage/locations/{}", id(&small))).await;
    assert_eq!(
        kinds,
        ["tracseq.storage.location_created", "tracseq.storage.location_deleted"]
    );
    assert_storage_sound(shared(), &admin.lab_id()).await;
}

#[tokio::test]
async fn a_rack_of_96_is_placed_all_or_nothing() {
    let api = api();
    let admin = new_lab(&api).await;
    let (unit, _, plate) = unit_with_box(&api, &admin, "freezer", 8, 12).await;
    let samples = validated(&api, &admin, 97, "DNA", None).await;
    let items: Vec<Value> = samples[..96].iter().map(|s| json!({"sample_id": id(s)})).collect();

    // One bad tube refuses the whole rack, naming every problem, and changes nothing.
    let mut bad = items.clone();
    bad[95] = json!({"sample_id": "01JNOSUCHTHING0000000000"});
    bad[40] = json!({"sample_id": id(&samples[40]), "location_id": plate, "position": "Z9"});
    let (status, v) = place(&api, &admin, json!({"location_id": plate, "auto": true, "items": bad})).await;
    assert_eq!(status, 422, "{v}");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["items[95].sample_id", "items[40].position"]);
    assert_eq!(counters(&api, &admin, &[&plate, &unit]).await, [0, 0]);

    let started = std::time::Instant::now();
    let (status, v, _) = api
        .send(
            Method::POST,
            "/api/storage/placements",
            Some(&admin.access),
            Some(json!({"location_id": plate, "auto": true, "items": items})),
            &[("idempotency-key", "rack-0001")],
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{v}");
    eprintln!("a rack of 96 placed in {took:?}");
    let placed = v["items"].as_array().unwrap();
    assert_eq!(placed.len(), 96);
    assert_eq!(placed[0]["to"]["position"], "A1");
    assert_eq!(placed[95]["to"]["position"], "H12");
    assert_eq!(counters(&api, &admin, &[&plate, &unit]).await, [96, 96]);
    // A retry with the same key replays the answer and writes nothing more.
    let (status, again, _) = api
        .send(
            Method::POST,
            "/api/storage/placements",
            Some(&admin.access),
            Some(json!({"location_id": plate, "auto": true, "items": items})),
            &[("idempotency-key", "rack-0001")],
        )
        .await;
    assert_eq!((status, &again), (200, &v));
    let (_, custody) = api
        .get(&format!("/api/samples/{}/custody", id(&samples[7])), &admin.access)
        .await;
    assert_eq!(custody["items"].as_array().unwrap().len(), 1);
    for s in [&samples[0], &samples[50], &samples[95]] {
        let kinds = events_of(&admin.lab_id(), &format!("samples/{}", id(s))).await;
        assert_eq!(
            kinds.iter().filter(|k| *k == "tracseq.sample.stored").count(),
            1,
            "one stored event per tube: {kinds:?}"
        );
    }
    // The plate is full: the 97th sample gets a clear refusal.
    let (status, v) = place(
        &api,
        &admin,
        json!({"sample_id": id(&samples[96]), "location_id": plate, "auto": true}),
    )
    .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("box_full")), "{v}");
    let (_, map) = api
        .get(&format!("/api/storage/locations/{plate}/map"), &admin.access)
        .await;
    assert!(
        map["cells"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["occupant"].is_object())
    );

    // The rack leaves together.
    let out: Vec<Value> = samples[..96].iter().map(|s| json!({"sample_id": id(s)})).collect();
    let (status, v) = api
        .post("/api/storage/retrievals", Some(&admin.access), json!({"items": out}))
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["freeze_thaw_count"] == 1)
    );
    assert_storage_sound(shared(), &admin.lab_id()).await;
}

#[tokio::test]
async fn a_failed_chunk_rolls_back_the_whole_rack() {
    let mut cfg = config("tracseq-rollback");
    cfg.env_overrides.insert("STORAGE_FAULT_FAIL_CHUNK".into(), "3".into());
    let (stack, endpoints) = isolated(cfg).await;
    let api = Api::new(&endpoints.api);
    // This stack has keys of its own: log the operator in here, not from the shared cache.
    let op = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    let admin = tracseq_tests::client::new_lab_by(&api, &op).await;
    let (unit, rack, plate) = unit_with_box(&api, &admin, "freezer", 8, 12).await;
    let samples = validated(&api, &admin, 96, "DNA", None).await;
    let items: Vec<Value> = samples.iter().map(|s| json!({"sample_id": id(s)})).collect();
    let (status, v) = place(
        &api,
        &admin,
        json!({"location_id": plate, "auto": true, "items": items}),
    )
    .await;
    assert_eq!(status, 409, "{v}");
    // Chunks 1 and 2 were committed, then undone: no sample moved, no counter changed,
    // no position taken, no custody record, no event.
    assert_eq!(counters(&api, &admin, &[&plate, &rack, &unit]).await, [0, 0, 0]);
    let (_, map) = api
        .get(&format!("/api/storage/locations/{plate}/map"), &admin.access)
        .await;
    assert!(map["cells"].as_array().unwrap().iter().all(|c| c["occupant"].is_null()));
    for s in &samples {
        let (_, now) = api.get(&format!("/api/samples/{}", id(s)), &admin.access).await;
        assert_eq!(
            (now["status"].as_str(), now["storage"].is_null()),
            (Some("validated"), true),
            "{now}"
        );
        let (_, custody) = api.get(&format!("/api/samples/{}/custody", id(s)), &admin.access).await;
        assert_eq!(custody["items"].as_array().unwrap().len(), 0);
        let (_, h) = api.get(&format!("/api/samples/{}/history", id(s)), &admin.access).await;
        assert_eq!(h["items"].as_array().unwrap().len(), 2, "created and validated only");
    }
    // The samples are as they were: a later placement of one of them works (one chunk).
    let (status, _) = place(
        &api,
        &admin,
        json!({"sample_id": id(&samples[0]), "location_id": plate, "auto": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_storage_sound(&endpoints, &admin.lab_id()).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn a_rack_abandoned_between_chunks_is_undone_by_recovery() {
    let mut cfg = config("tracseq-recovery");
    cfg.env_overrides
        .insert("STORAGE_FAULT_CRASH_AFTER_CHUNK".into(), "2".into());
    cfg.env_overrides
        .insert("STORAGE_RECOVER_AFTER_SECS".into(), "0".into());
    let (stack, endpoints) = isolated(cfg).await;
    let api = Api::new(&endpoints.api);
    let op = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    let admin = tracseq_tests::client::new_lab_by(&api, &op).await;
    let (unit, rack, plate) = unit_with_box(&api, &admin, "freezer", 8, 12).await;
    let samples = validated(&api, &admin, 96, "DNA", None).await;
    let items: Vec<Value> = samples.iter().map(|s| json!({"sample_id": id(s)})).collect();
    let (status, _) = place(
        &api,
        &admin,
        json!({"location_id": plate, "auto": true, "items": items}),
    )
    .await;
    assert_eq!(status, 500, "the process 'died' after chunk 2");
    // Two chunks of 23 tubes are in, and nothing has undone them yet.
    assert_eq!(counters(&api, &admin, &[&plate, &rack, &unit]).await, [46, 46, 46]);
    let fire = || async {
        let resp = endpoints
            .http()
            .post(format!(
                "{}/_runner/schedules/{}",
                endpoints.edge,
                endpoints.function("RecoverOperationsFunction")
            ))
            .send()
            .await
            .expect("fire");
        assert_eq!(resp.status(), 200);
        resp.json::<Value>().await.expect("json")
    };
    let report = fire().await;
    assert_eq!(
        (report["found"].as_u64(), report["rolled_back"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(counters(&api, &admin, &[&plate, &rack, &unit]).await, [0, 0, 0]);
    let (_, map) = api
        .get(&format!("/api/storage/locations/{plate}/map"), &admin.access)
        .await;
    assert!(map["cells"].as_array().unwrap().iter().all(|c| c["occupant"].is_null()));
    for s in &samples {
        let (_, now) = api.get(&format!("/api/samples/{}", id(s)), &admin.access).await;
        assert_eq!(
            (now["status"].as_str(), now["version"].as_u64()),
            (Some("validated"), Some(2)),
            "{now}"
        );
        let (_, custody) = api.get(&format!("/api/samples/{}/custody", id(s)), &admin.access).await;
        assert_eq!(custody["items"].as_array().unwrap().len(), 0);
    }
    assert_eq!(fire().await["found"], 0, "the operation is closed");
    for s in &samples[..3] {
        let kinds = events_at(&endpoints, &admin.lab_id(), &format!("samples/{}", id(s))).await;
        assert!(!kinds.iter().any(|k| k == "tracseq.sample.stored"), "{kinds:?}");
    }

    // A rack of 40 is two chunks: "dying" after the second, every tube is in but no event
    // is written yet; recovery writes them and closes the operation.
    let rack2 = validated(&api, &admin, 40, "DNA", None).await;
    let items: Vec<Value> = rack2.iter().map(|s| json!({"sample_id": id(s)})).collect();
    let (status, _) = place(
        &api,
        &admin,
        json!({"location_id": plate, "auto": true, "items": items}),
    )
    .await;
    assert_eq!(status, 500);
    assert_eq!(counters(&api, &admin, &[&plate]).await, [40]);
    let stored = |s: &Value| {
        let subject = format!("samples/{}", id(s));
        let (endpoints, lab) = (&endpoints, admin.lab_id());
        async move {
            events_at(endpoints, &lab, &subject)
                .await
                .iter()
                .filter(|k| *k == "tracseq.sample.stored")
                .count()
        }
    };
    assert_eq!(stored(&rack2[0]).await, 0);
    let report = fire().await;
    assert_eq!(
        (report["found"].as_u64(), report["published"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    for s in &rack2 {
        assert_eq!(stored(s).await, 1, "{}", id(s));
    }
    assert_eq!(
        counters(&api, &admin, &[&plate]).await,
        [40],
        "rolled forward, not back"
    );
    assert_eq!(fire().await["found"], 0);
    assert_storage_sound(&endpoints, &admin.lab_id()).await;
    stack.shutdown().await;
}

#[tokio::test]
async fn capacity_events_fire_once_per_upward_crossing() {
    let api = api();
    let admin = new_lab(&api).await;
    let (unit, _, boxed) = unit_with_box(&api, &admin, "ultra_low", 2, 5).await;
    let samples = validated(&api, &admin, 10, "Serum", Some("P-CAP")).await;
    let lab = admin.lab_id();
    for (i, s) in samples.iter().enumerate() {
        let (status, v) = place(
            &api,
            &admin,
            json!({"sample_id": id(s), "location_id": boxed, "auto": true}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let expected: &[&str] = match i + 1 {
            0..=7 => &[],
            8 | 9 => &["tracseq.storage.capacity_warning"],
            _ => &["tracseq.storage.capacity_warning", "tracseq.storage.capacity_critical"],
        };
        assert_eq!(
            capacity_events(&lab, &boxed).await,
            expected,
            "after {} placements",
            i + 1
        );
    }
    // The unit above crosses too (it holds only this box).
    assert_eq!(
        capacity_events(&lab, &unit).await,
        ["tracseq.storage.capacity_warning", "tracseq.storage.capacity_critical"]
    );
    // Down to 8/10 (warning) and back up: critical is announced again, warning is not.
    for s in &samples[..2] {
        let (status, _) = api
            .post(
                "/api/storage/disposals",
                Some(&admin.access),
                json!({"sample_id": id(s), "reason": "QC failed"}),
            )
            .await;
        assert_eq!(status, 200);
    }
    let more = validated(&api, &admin, 2, "Serum", Some("P-CAP")).await;
    for s in &more {
        place(
            &api,
            &admin,
            json!({"sample_id": id(s), "location_id": boxed, "auto": true}),
        )
        .await;
    }
    assert_eq!(
        capacity_events(&lab, &boxed).await,
        [
            "tracseq.storage.capacity_warning",
            "tracseq.storage.capacity_critical",
            "tracseq.storage.capacity_critical"
        ]
    );

    // Capacity by unit and zone.
    let (status, c) = api.get("/api/storage/capacity", &admin.access).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["units"][0]["id"], json!(unit));
    assert_eq!(c["zones"][0]["zone"], "ultra_low");
    assert_eq!(
        (c["total"]["capacity"].as_u64(), c["total"]["occupied"].as_u64()),
        (Some(10), Some(10))
    );
    assert_eq!(c["total"]["level"], "critical");

    // Suggestions: none left here; a new box gets them; same-project goes next to its kin.
    let (_, s) = api
        .get("/api/storage/suggest?sample_type=serum&count=2", &admin.access)
        .await;
    assert_eq!(
        (s["suggestions"].as_array().unwrap().len(), s["short_by"].as_u64()),
        (0, Some(2)),
        "{s}"
    );
    let (_, rack) = api
        .get(&format!("/api/storage/locations/{unit}/children"), &admin.access)
        .await;
    let rack = id(&rack["items"][0]);
    let roomy = location(
        &api,
        &admin,
        json!({"name": "BOX-A", "kind": "box", "parent_id": rack, "rows": 3, "columns": 3}),
    )
    .await;
    let fuller = location(
        &api,
        &admin,
        json!({"name": "BOX-B", "kind": "box", "parent_id": rack, "rows": 3, "columns": 3}),
    )
    .await;
    let other = validated(&api, &admin, 3, "Serum", Some("P-OTHER")).await;
    place(
        &api,
        &admin,
        json!({"sample_id": id(&other[0]), "location_id": id(&fuller), "position": "A1"}),
    )
    .await;
    place(
        &api,
        &admin,
        json!({"sample_id": id(&other[1]), "location_id": id(&fuller), "position": "A2"}),
    )
    .await;
    place(
        &api,
        &admin,
        json!({"sample_id": id(&other[2]), "location_id": id(&roomy), "position": "B2"}),
    )
    .await;
    let (_, s) = api
        .get("/api/storage/suggest?sample_type=Serum&count=2", &admin.access)
        .await;
    let got: Vec<(&str, &str)> = s["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["location_id"].as_str().unwrap(), x["position"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [(id(&fuller).as_str(), "A3"), (id(&fuller).as_str(), "B1")],
        "least empty first"
    );
    let (_, s) = api
        .get(
            "/api/storage/suggest?sample_type=Serum&count=1&project=P-OTHER&rule=same_project",
            &admin.access,
        )
        .await;
    assert_eq!(s["suggestions"][0]["location_id"], json!(id(&fuller)), "{s}");
    let (_, s) = api.get("/api/storage/suggest?sample_type=RNA", &admin.access).await;
    assert_eq!(s["zones"], json!(["ultra_low", "ln2_vapor"]));
    let (_, s) = api.get("/api/storage/suggest?sample_type=FFPE", &admin.access).await;
    assert_eq!(s["short_by"], 1, "no room-temperature unit: {s}");
    for bad in [
        "",
        "?sample_type=plasmid",
        "?sample_type=DNA&count=0",
        "?sample_type=DNA&rule=same_project",
    ] {
        let (status, v) = api.get(&format!("/api/storage/suggest{bad}"), &admin.access).await;
        assert_eq!(status, 422, "{bad}: {v}");
    }
}

#[tokio::test]
async fn another_labs_storage_is_not_found() {
    let api = api();
    let mine = new_lab(&api).await;
    let theirs = new_lab(&api).await;
    let (unit, _, boxed) = unit_with_box(&api, &mine, "ultra_low", 2, 2).await;
    let s = id(&validated(&api, &mine, 1, "DNA", None).await[0]);
    place(
        &api,
        &mine,
        json!({"sample_id": s, "location_id": boxed, "position": "A1"}),
    )
    .await;
    let (_, b) = api.get(&format!("/api/storage/locations/{boxed}"), &mine.access).await;
    for path in [
        format!("/api/storage/locations/{boxed}"),
        format!("/api/storage/locations/{boxed}/map"),
        format!("/api/storage/locations/{unit}/children"),
        format!("/api/samples/{s}/custody"),
        format!("/api/storage/scan/{}", b["barcode"].as_str().unwrap()),
    ] {
        let (status, v) = api.get(&path, &theirs.access).await;
        assert_eq!((status, v["code"].as_str()), (404, Some("not_found")), "{path}");
    }
    let (status, _) = api
        .patch(
            &format!("/api/storage/locations/{unit}"),
            &theirs.access,
            json!({"name": "x", "version": 1}),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        api.delete(&format!("/api/storage/locations/{boxed}"), &theirs.access)
            .await
            .0,
        404
    );
    // Their sample into my box, my sample out of my box: neither is visible to them.
    let their_sample = id(&validated(&api, &theirs, 1, "DNA", None).await[0]);
    let (status, v) = place(
        &api,
        &theirs,
        json!({"sample_id": their_sample, "location_id": boxed, "position": "B1"}),
    )
    .await;
    assert_eq!((status, v["errors"][0]["rule"].as_str()), (422, Some("exists")), "{v}");
    for path in ["/api/storage/retrievals", "/api/storage/disposals"] {
        let (status, _) = api
            .post(path, Some(&theirs.access), json!({"sample_id": s, "reason": "x"}))
            .await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, v) = api
        .post(
            "/api/storage/locations",
            Some(&theirs.access),
            json!({"name": "x", "kind": "box", "parent_id": unit, "rows": 1, "columns": 1}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["rule"].as_str()), (422, Some("exists")));
    let (_, roots) = api.get("/api/storage/locations", &theirs.access).await;
    assert_eq!(roots["items"].as_array().unwrap().len(), 0);
    assert_eq!(counters(&api, &mine, &[&boxed]).await, [1]);
}

#[tokio::test]
async fn role_matrix_on_every_storage_route() {
    let api = api();
    let admin = new_lab(&api).await;
    // Every route but the sensors' (a device token, tested in storage_monitoring).
    let routes: Vec<_> = tracseq_storage::FUNCTIONS
        .iter()
        .filter_map(|f| f.route)
        .filter(|r| r.access != tracseq_core::route::Access::Device)
        .collect();
    assert_eq!(routes.len(), 19);
    tracseq_tests::client::check_role_matrix(&api, &admin, &routes).await;
}

/// A box's contents as CSV or XLSX (by `Accept`): one row per occupied position, in
/// position order; another lab gets the 404 problem, not a file.
#[tokio::test]
async fn a_boxs_contents_download_as_a_table() {
    let api = api();
    let admin = new_lab(&api).await;
    let (_, _, boxed) = unit_with_box(&api, &admin, "ultra_low", 2, 2).await;
    let samples = validated(&api, &admin, 2, "DNA", None).await;
    for (s, position) in samples.iter().zip(["B2", "A1"]) {
        let (status, v) = place(
            &api,
            &admin,
            json!({"sample_id": id(s), "location_id": boxed, "position": position}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
    }
    let map = format!("/api/storage/locations/{boxed}/map");
    let get = |token: String, accept: &'static str| {
        let (api, map) = (&api, &map);
        async move { api.get_file(map, &token, accept).await }
    };
    let (status, ct, csv) = get(admin.access.clone(), "text/csv").await;
    assert_eq!((status, ct.as_str()), (200, "text/csv; charset=utf-8"));
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert_eq!(
        lines[0],
        "position,sample_id,barcode,sample_type,status,checked_out,since"
    );
    let barcode = |s: &Value| s["barcode"].as_str().unwrap().to_owned();
    assert!(
        lines[1].starts_with(&format!("A1,{},{},DNA,", id(&samples[1]), barcode(&samples[1]))),
        "{csv}"
    );
    assert!(
        lines[2].starts_with(&format!("B2,{},{},DNA,", id(&samples[0]), barcode(&samples[0]))),
        "{csv}"
    );
    let (status, ct, _) = get(admin.access.clone(), tracseq_core::sheet::XLSX).await;
    assert_eq!((status, ct.as_str()), (200, tracseq_core::sheet::XLSX));
    let theirs = new_lab(&api).await;
    let (status, ct, _) = get(theirs.access.clone(), "text/csv").await;
    assert_eq!((status, ct.as_str()), (404, "application/problem+json"));
}
