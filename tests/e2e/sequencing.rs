//! Sample sheets read back by independent parsers from PyPI, installed in the project
//! venv: samshee for v2 (it also validates against its schema, Illumina's v2 logic and
//! its index-distance check) and sample-sheet for v1 (IEM).

use serde_json::Value;
use std::process::Command;
use tracseq_sequencing::domain::index::IndexSeq;
use tracseq_sequencing::domain::platform::{Instrument, SheetFormat};
use tracseq_sequencing::domain::samplesheet::{fixtures, render};

/// Write both sheets and parse them; answers what the parsers read.
fn parse(v2: &str, v1: &str) -> Value {
    let dir = std::env::temp_dir().join(format!("tracseq-sheets-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let (p2, p1) = (dir.join("v2.csv"), dir.join("v1.csv"));
    std::fs::write(&p2, v2).unwrap();
    std::fs::write(&p1, v1).unwrap();
    let script = tracseq_tests::workspace().join("tests/fixtures/sequencing/parse_sheets.py");
    let out = Command::new(tracseq_tests::venv().join("bin/python"))
        .arg(script)
        .arg(&p2)
        .arg(&p1)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "the parsers refused our sheets:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn independent_parsers_read_our_sheets_as_the_instruments_expect() {
    let novaseq_x = fixtures::nextera_384_over_8_lanes();
    let miseq = fixtures::miseq_24();
    let got = parse(
        &render(&novaseq_x, SheetFormat::V2).unwrap(),
        &render(&miseq, SheetFormat::V1).unwrap(),
    );

    let v2 = &got["v2"];
    assert_eq!(v2["header"]["FileFormatVersion"], 2);
    assert_eq!(v2["header"]["InstrumentPlatform"], "NovaSeqXSeries");
    assert_eq!(v2["header"]["RunName"], "NVX-384");
    for (k, want) in [
        ("Read1Cycles", 151),
        ("Read2Cycles", 151),
        ("Index1Cycles", 10),
        ("Index2Cycles", 10),
    ] {
        assert_eq!(v2["reads"][k], want, "{k}");
    }
    assert_eq!(v2["settings"]["OverrideCycles"], "Y151;I8N2;I8N2;Y151");
    assert_eq!(v2["settings"]["BarcodeMismatchesIndex1"], 1);
    assert_eq!(v2["settings"]["BarcodeMismatchesIndex2"], 1);
    let data = v2["data"].as_array().unwrap();
    assert_eq!(data.len(), 384);
    for (row, sample) in data.iter().zip(&novaseq_x.samples) {
        assert_eq!(row["Lane"], u64::from(sample.lane));
        assert_eq!(row["Sample_ID"], sample.sample_id.as_str());
        assert_eq!(row["Index"], sample.index.as_str());
        // NovaSeq X, v2: i5 forward (BCL Convert reverse-complements it itself).
        assert_eq!(row["Index2"], sample.index2.as_ref().unwrap().as_str());
        assert_eq!(row["Sample_Project"], "Genome_Panel");
    }

    let v1 = &got["v1"];
    assert_eq!(v1["header"]["IEMFileVersion"], "5");
    assert_eq!(v1["header"]["Instrument Type"], "MiSeq");
    assert_eq!(v1["reads"], serde_json::json!([301, 301]));
    let samples = v1["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 24);
    for (row, sample) in samples.iter().zip(&miseq.samples) {
        assert_eq!(row["Sample_ID"], sample.sample_id.as_str());
        assert_eq!(row["index"], sample.index.as_str());
        // MiSeq reads i5 forward.
        assert_eq!(row["index2"], sample.index2.as_ref().unwrap().as_str());
    }
}

#[test]
fn a_novaseq_6000_v1_sheet_carries_i5_reverse_complemented() {
    let mut run = fixtures::nextera_384_over_8_lanes();
    run.instrument = Instrument::NovaSeq6000;
    run.lanes = 4;
    run.samples.retain(|s| s.lane <= 4);
    let got = parse(
        &render(&run, SheetFormat::V2).unwrap(),
        &render(&run, SheetFormat::V1).unwrap(),
    );
    let rc = |s: &Option<IndexSeq>| s.as_ref().unwrap().reverse_complement().as_str().to_owned();
    assert_eq!(got["v2"]["header"]["InstrumentPlatform"], "NovaSeq6000");
    let (v2, v1) = (
        got["v2"]["data"].as_array().unwrap(),
        got["v1"]["samples"].as_array().unwrap(),
    );
    assert_eq!((v2.len(), v1.len()), (192, 192));
    for ((a, b), sample) in v2.iter().zip(v1).zip(&run.samples) {
        assert_eq!(a["Index2"], rc(&sample.index2), "v2 on NovaSeq 6000");
        assert_eq!(b["index2"], rc(&sample.index2), "v1 on NovaSeq 6000");
        assert_eq!(b["Lane"], sample.lane.to_string());
    }
}

fn api() -> tracseq_tests::client::Api {
    tracseq_tests::client::Api::new(&tracseq_tests::shared().api)
}

async fn sample_id(api: &tracseq_tests::client::Api, token: &str) -> String {
    let (status, v) = api
        .post(
            "/api/samples",
            Some(token),
            serde_json::json!({"sample_type": "DNA", "project": "P-SEQ"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

async fn library(api: &tracseq_tests::client::Api, token: &str, body: Value) -> (u16, Value) {
    api.post("/api/libraries", Some(token), body).await
}

#[tokio::test]
async fn libraries_join_pools_only_with_separable_indexes() {
    use serde_json::json;
    let api = api();
    let admin = tracseq_tests::client::new_lab(&api).await;
    let t = admin.access.as_str();

    let (status, inst) = api.get("/api/sequencing/instruments", t).await;
    assert_eq!(status, 200);
    let x = inst["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "NovaSeq X")
        .unwrap();
    assert_eq!(
        (x["i5_in_v2"].as_str(), x["i5_in_v1"].as_str()),
        (Some("forward"), Some("reverse_complement"))
    );
    assert_eq!(x["flow_cells"].as_array().unwrap().len(), 2);
    let (_, kits) = api.get("/api/sequencing/index-kits", t).await;
    assert_eq!(kits["items"][0]["id"], "nextera-xt-v2");
    assert_eq!(kits["items"][0]["i7"].as_array().unwrap().len(), 24);

    let mut libs = Vec::new();
    for (i7, i5, conc) in [("N701", "S502", 10.0), ("N702", "S502", 0.5)] {
        let s = sample_id(&api, t).await;
        let (status, v) = library(
            &api,
            t,
            json!({"sample_id": s, "kit": "nextera-xt-v2", "i7": i7, "i5": i5,
                   "concentration_ng_ul": conc, "fragment_size_bp": 350}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        libs.push(v);
    }
    assert_eq!(
        (libs[0]["i7"].as_str(), libs[0]["i5"].as_str()),
        (Some("TAAGGCGA"), Some("CTCTCTAT"))
    );
    assert_eq!(
        (libs[0]["qc"].as_str(), libs[1]["qc"].as_str()),
        (Some("pass"), Some("fail")),
        "0.5 ng/µL is below 1"
    );
    assert_eq!(libs[0]["project"], "P-SEQ");
    // The same pair again, and a custom i7 one base from N701.
    let s = sample_id(&api, t).await;
    let (_, twin) = library(
        &api,
        t,
        json!({"sample_id": s, "kit": "nextera-xt-v2", "i7": "n701", "i5": "S502"}),
    )
    .await;
    let (_, near) = library(
        &api,
        t,
        json!({"sample_id": s, "kit": "nextera-xt-v2", "i7_sequence": "TAAGGCGT", "i5": "S502"}),
    )
    .await;
    for (body, field, rule) in [
        (
            json!({"sample_id": s, "kit": "nextera-xt-v2", "i7": "N799"}),
            "i7",
            "in_kit",
        ),
        (
            json!({"sample_id": s, "kit": "nextera-xt-v2", "i7_sequence": "ACGU"}),
            "i7_sequence",
            "sequence",
        ),
        (json!({"sample_id": s, "kit": "nextera-xt-v2"}), "i7", "required"),
        (
            json!({"sample_id": s, "kit": "no-such-kit", "i7": "N701"}),
            "kit",
            "exists",
        ),
        (
            json!({"sample_id": "01JNOSUCHTHING0000000000", "kit": "nextera-xt-v2", "i7": "N701"}),
            "sample_id",
            "exists",
        ),
        (
            json!({"sample_id": s, "kit": "nextera-xt-v2", "i7": "N701", "concentration_ng_ul": -1}),
            "concentration_ng_ul",
            "range",
        ),
    ] {
        let (status, v) = library(&api, t, body.clone()).await;
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

    let (status, pool) = api.post("/api/pools", Some(t), json!({"name": "Lane 1 pool"})).await;
    assert_eq!(status, 201, "{pool}");
    let path = format!("/api/pools/{}/libraries", pool["id"].as_str().unwrap());
    let ids = |v: &[&Value]| {
        v.iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        api.post(&path, Some(t), json!({"library_ids": ids(&[&libs[0]])}))
            .await
            .0,
        428,
        "membership changes need the pool's version"
    );
    let (status, v) = api
        .post(
            &path,
            Some(t),
            json!({"library_ids": ids(&[&libs[0], &libs[1]]), "version": 1}),
        )
        .await;
    assert_eq!(
        (status, v["members"].as_u64(), v["version"].as_u64()),
        (200, Some(2), Some(2)),
        "{v}"
    );
    for (lib, what) in [(&twin, "the same indexes"), (&near, "within 1 (i7) and 0 (i5)")] {
        let (status, v) = api
            .post(&path, Some(t), json!({"library_ids": ids(&[lib]), "version": 2}))
            .await;
        assert_eq!((status, v["code"].as_str()), (409, Some("index_collision")), "{v}");
        let msg = v["errors"][0]["message"].as_str().unwrap();
        assert!(
            msg.contains(what) && msg.contains(libs[0]["id"].as_str().unwrap()),
            "{msg}"
        );
    }
    let (status, v) = api
        .post(&path, Some(t), json!({"library_ids": ids(&[&libs[0]]), "version": 2}))
        .await;
    assert_eq!(
        (status, v["errors"][0]["rule"].as_str()),
        (422, Some("unique")),
        "already in the pool"
    );
    let (status, v) = api
        .post(&path, Some(t), json!({"library_ids": ids(&[&twin]), "version": 1}))
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("version_conflict")));
    // Out goes N701; now its twin fits.
    let (status, _) = api
        .delete(&format!("{path}/{}", libs[0]["id"].as_str().unwrap()), t)
        .await;
    assert_eq!(status, 204);
    let (status, v) = api
        .post(&path, Some(t), json!({"library_ids": ids(&[&twin]), "version": 3}))
        .await;
    assert_eq!((status, v["members"].as_u64()), (200, Some(2)), "{v}");
    let (_, got) = api
        .get(&format!("/api/pools/{}", pool["id"].as_str().unwrap()), t)
        .await;
    let in_pool: Vec<&str> = got["libraries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["library_id"].as_str().unwrap())
        .collect();
    assert_eq!(in_pool.len(), 2);
    assert!(in_pool.contains(&twin["id"].as_str().unwrap()));
    let kinds = tracseq_tests::lims::events_of(
        &admin.lab_id(),
        &format!("sequencing/pools/{}", pool["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        kinds,
        [
            "tracseq.sequencing.pool_created",
            "tracseq.sequencing.pool_changed",
            "tracseq.sequencing.pool_changed",
            "tracseq.sequencing.pool_changed"
        ]
    );
    // Two technicians add to the pool at once from the same version: one wins.
    let (a, _, _) = kit_library(&api, t, "N704", "S506").await;
    let (b, _, _) = kit_library(&api, t, "N705", "S507").await;
    let version = api
        .get(&format!("/api/pools/{}", pool["id"].as_str().unwrap()), t)
        .await
        .1["version"]
        .clone();
    let results = futures::future::join_all([a, b].map(|lib| {
        let (api, token, path) = (api.clone(), t.to_owned(), path.clone());
        let body = json!({"library_ids": [lib], "version": version});
        async move { api.post(&path, Some(&token), body).await.0 }
    }))
    .await;
    let mut sorted = results.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 409], "{results:?}");
    let (_, list) = api.get("/api/libraries?limit=2", t).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert!(list["next_cursor"].is_string());
}

#[tokio::test]
async fn lab_kits_idempotency_tenancy_and_roles() {
    use serde_json::json;
    let api = api();
    let admin = tracseq_tests::client::new_lab(&api).await;
    let other = tracseq_tests::client::new_lab(&api).await;
    let t = admin.access.as_str();
    let kit = json!({"name": "In-house UDI", "i7": [{"name": "U1", "sequence": "acgtacgtac"}, {"name": "U2", "sequence": "TTGGCCAATT"}],
                     "i5": [{"name": "V1", "sequence": "GGTTAACCGG"}]});
    let (status, v) = api.post("/api/sequencing/index-kits", Some(t), kit).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["i7"][0]["sequence"], "ACGTACGTAC");
    let kit_id = v["id"].as_str().unwrap().to_owned();
    let (status, v) = api
        .post(
            "/api/sequencing/index-kits",
            Some(t),
            json!({"name": "bad", "i7": [{"name": "A", "sequence": "ACGU"}, {"name": "a", "sequence": "ACGT"}]}),
        )
        .await;
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!((status, fields), (422, vec!["i7[0].sequence", "i7[1].name"]));
    let (_, kits) = api.get("/api/sequencing/index-kits", t).await;
    assert_eq!(kits["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        api.get("/api/sequencing/index-kits", &other.access).await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A library from the lab's kit, created twice with one Idempotency-Key: one library.
    let s = sample_id(&api, t).await;
    let body = json!({"sample_id": s, "kit": kit_id, "i7": "U2", "i5": "V1"});
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (status, v, _) = api
            .send(
                reqwest::Method::POST,
                "/api/libraries",
                Some(t),
                Some(body.clone()),
                &[("idempotency-key", "lib-0001")],
            )
            .await;
        assert_eq!(status, 201, "{v}");
        seen.push(v["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(
        api.get("/api/libraries", t).await.1["items"].as_array().unwrap().len(),
        1
    );

    // Another lab sees none of it and cannot use it.
    let lib = &seen[0];
    assert_eq!(api.get(&format!("/api/libraries/{lib}"), &other.access).await.0, 404);
    let (status, v) = library(&api, &other.access, json!({"sample_id": s, "kit": kit_id, "i7": "U1"})).await;
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!((status, fields), (422, vec!["sample_id", "kit"]));
    let (_, pool) = api.post("/api/pools", Some(t), json!({"name": "Mine"})).await;
    let pool_id = pool["id"].as_str().unwrap();
    assert_eq!(api.get(&format!("/api/pools/{pool_id}"), &other.access).await.0, 404);
    let (status, _) = api
        .post(
            &format!("/api/pools/{pool_id}/libraries"),
            Some(&other.access),
            json!({"library_ids": [lib], "version": 1}),
        )
        .await;
    assert_eq!(status, 404);
    let (_, their_pool) = api
        .post("/api/pools", Some(&other.access), json!({"name": "Theirs"}))
        .await;
    let (status, v) = api
        .post(
            &format!("/api/pools/{}/libraries", their_pool["id"].as_str().unwrap()),
            Some(&other.access),
            json!({"library_ids": [lib], "version": 1}),
        )
        .await;
    assert_eq!(
        (status, v["errors"][0]["rule"].as_str()),
        (422, Some("exists")),
        "my library is not theirs"
    );

    let routes: Vec<_> = tracseq_sequencing::FUNCTIONS.iter().filter_map(|f| f.route).collect();
    assert_eq!(routes.len(), 27);
    tracseq_tests::client::check_role_matrix(&api, &admin, &routes).await;
}

/// A library from a new, validated sample with kit indexes; answers its id, its name and
/// the sample's id.
async fn kit_library(api: &tracseq_tests::client::Api, t: &str, i7: &str, i5: &str) -> (String, String, String) {
    let s = sample_id(api, t).await;
    let (status, v) = api
        .post(
            &format!("/api/samples/{s}/transitions"),
            Some(t),
            serde_json::json!({"to": "validated"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = library(
        api,
        t,
        serde_json::json!({"sample_id": s, "kit": "nextera-xt-v2", "i7": i7, "i5": i5}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    (
        v["id"].as_str().unwrap().to_owned(),
        v["name"].as_str().unwrap().to_owned(),
        s,
    )
}

async fn pool_of(api: &tracseq_tests::client::Api, t: &str, libs: &[&str]) -> String {
    let (_, pool) = api.post("/api/pools", Some(t), serde_json::json!({"name": "P"})).await;
    let id = pool["id"].as_str().unwrap().to_owned();
    let (status, v) = api
        .post(
            &format!("/api/pools/{id}/libraries"),
            Some(t),
            serde_json::json!({"library_ids": libs, "version": 1}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    id
}

#[tokio::test]
async fn a_run_exports_its_pools_sheet_refuses_collisions_and_judges_qc() {
    use serde_json::json;
    let api = api();
    let admin = tracseq_tests::client::new_lab(&api).await;
    let t = admin.access.as_str();
    let (l1, n1, s1) = kit_library(&api, t, "N701", "S502").await;
    let (l2, n2, s2) = kit_library(&api, t, "N702", "S503").await;
    let (l3, n3, s3) = kit_library(&api, t, "N703", "S505").await;
    let (twin, _, _) = kit_library(&api, t, "N701", "S502").await;
    let pool_a = pool_of(&api, t, &[&l1, &l2]).await;
    let pool_b = pool_of(&api, t, &[&l3]).await;
    let pool_twin = pool_of(&api, t, &[&twin]).await;
    let reads = json!({"read1": 151, "index1": 10, "index2": 10, "read2": 151});

    // A technician asks for the sequencing; the run serves that job.
    let tech = tracseq_tests::client::new_user(&api, &admin, "lab_technician").await;
    let (status, job) = api
        .post(
            "/api/sequencing/jobs",
            Some(&tech.access),
            json!({"name": "Batch", "sample_ids": [s1, s2, s3]}),
        )
        .await;
    assert_eq!(status, 201, "{job}");
    let (status, run) = api
        .post(
            "/api/sequencing/runs",
            Some(t),
            json!({"name": "NVX-0001", "instrument": "NovaSeq X", "flow_cell": "10B", "reads": reads,
                   "lanes": [{"lane": 1, "pool_ids": [pool_a]}, {"lane": 2, "pool_ids": [pool_b]}],
                   "job_id": job["id"]}),
        )
        .await;
    assert_eq!((status, run["status"].as_str()), (201, Some("planned")), "{run}");
    let id = run["id"].as_str().unwrap();
    let (status, check) = api
        .post(
            &format!("/api/sequencing/runs/{id}/samplesheet/validate"),
            Some(t),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, check["valid"].as_bool(), check["errors"].as_u64()),
        (200, Some(true), Some(0)),
        "{check}"
    );
    let sheet = |format: &str| {
        let url = format!("{}/api/sequencing/runs/{id}/samplesheet?format={format}", api.base);
        let (http, token) = (api.http.clone(), t.to_owned());
        async move {
            let resp = http.get(url).bearer_auth(token).send().await.unwrap();
            let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
            (resp.status().as_u16(), ct, resp.text().await.unwrap())
        }
    };
    let (status, ct, v2) = sheet("v2").await;
    assert_eq!((status, ct.as_str()), (200, "text/csv; charset=utf-8"));
    assert!(v2.contains("InstrumentPlatform,NovaSeqXSeries\r\n"), "{v2}");
    assert!(v2.contains(&format!("1,{n1},TAAGGCGA,CTCTCTAT,P-SEQ\r\n")), "{v2}");
    assert!(v2.contains(&format!("1,{n2},CGTACTAG,TATCCTCT,P-SEQ\r\n")), "{v2}");
    assert!(v2.contains(&format!("2,{n3},AGGCAGAA,GTAAGGAG,P-SEQ\r\n")), "{v2}");
    let (status, _, v1) = sheet("v1").await;
    assert_eq!(status, 200);
    assert!(
        v1.contains(&format!("1,{n1},{n1},,TAAGGCGA,,ATAGAGAG,P-SEQ\r\n")),
        "NovaSeq X v1 wants i5 reverse-complemented: {v1}"
    );
    assert_eq!(sheet("v3").await.0, 422);
    // What the API serves, the independent parsers read.
    let parsed = parse(&v2, &v1);
    assert_eq!(parsed["v2"]["data"].as_array().unwrap().len(), 3);
    assert_eq!(parsed["v1"]["samples"].as_array().unwrap().len(), 3);

    // The run's samples as a table (Accept), the same three libraries lane by lane.
    let run_path = format!("/api/sequencing/runs/{id}");
    let table = |accept: &'static str| api.get_file(&run_path, t, accept);
    let (status, ct, csv) = table("text/csv").await;
    assert_eq!((status, ct.as_str()), (200, "text/csv; charset=utf-8"));
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0], "lane,pool_id,library_id,library_name,sample_id,i7,i5,project",
        "{csv}"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1].starts_with(&format!("1,{pool_a},")) && lines[1].contains(&format!(",{s1},TAAGGCGA,")),
        "{csv}"
    );
    assert!(csv.contains(&format!("1,{pool_a},{l2},{n2},{s2},CGTACTAG,")), "{csv}");
    assert!(csv.contains(&format!("2,{pool_b},{l3},{n3},{s3},AGGCAGAA,")), "{csv}");
    let (status, ct, book) = table(tracseq_core::sheet::XLSX).await;
    assert_eq!((status, ct.as_str()), (200, tracseq_core::sheet::XLSX));
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(book)).unwrap();
    let name = book.sheet_names()[0].clone();
    assert_eq!(book.worksheet_range(&name).unwrap().rows().count(), 4);

    // Two pools that collide on one lane: the sheet says so, and the run cannot load.
    let (_, bad) = api
        .post(
            "/api/sequencing/runs",
            Some(t),
            json!({"name": "NVX-0002", "instrument": "novaseq x", "flow_cell": "10B", "reads": reads,
                   "lanes": [{"lane": 3, "pool_ids": [pool_a, pool_twin]}]}),
        )
        .await;
    let bad_id = bad["id"].as_str().unwrap();
    let (_, check) = api
        .post(
            &format!("/api/sequencing/runs/{bad_id}/samplesheet/validate"),
            Some(t),
            json!({}),
        )
        .await;
    assert_eq!(
        (check["valid"].as_bool(), check["issues"][0]["code"].as_str()),
        (Some(false), Some("index_collision")),
        "{check}"
    );
    let (status, v) = api.get(&format!("/api/sequencing/runs/{bad_id}/samplesheet"), t).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("samplesheet_invalid")));
    let (status, v) = api
        .post(
            &format!("/api/sequencing/runs/{bad_id}/transitions"),
            Some(t),
            json!({"to": "loaded"}),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("samplesheet_invalid")), "{v}");
    for (body, field) in [
        (
            json!({"name": "x", "instrument": "MiSeq", "flow_cell": "10B", "reads": reads, "lanes": [{"lane": 1, "pool_ids": [pool_a]}]}),
            "flow_cell",
        ),
        (
            json!({"name": "x", "instrument": "NovaSeq X", "flow_cell": "10B", "reads": reads, "lanes": [{"lane": 9, "pool_ids": [pool_a]}]}),
            "lanes[0].lane",
        ),
        (
            json!({"name": "x", "instrument": "NovaSeq X", "flow_cell": "10B", "reads": reads, "lanes": [{"lane": 1, "pool_ids": ["01JNOSUCHTHING0000000000"]}]}),
            "lanes[0].pool_ids[0]",
        ),
    ] {
        let (status, v) = api.post("/api/sequencing/runs", Some(t), body).await;
        assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some(field)), "{v}");
    }

    // The machine, and QC at its edges.
    let transitions = format!("/api/sequencing/runs/{id}/transitions");
    let go = |to: &str, version: u64| api.post(&transitions, Some(t), json!({"to": to, "version": version}));
    let qc_path = format!("/api/sequencing/runs/{id}/qc");
    let (status, v) = api
        .post(
            &qc_path,
            Some(t),
            json!({"lanes": [{"lane": 1, "metrics": {"percent_q30": 90}}], "version": 1}),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("invalid_state")),
        "not before it ran"
    );
    assert_eq!(go("running", 1).await.0, 409, "planned → running skips loading");
    assert_eq!(go("loaded", 1).await.0, 200);
    assert_eq!(go("running", 1).await.0, 409, "stale");
    // A sample in the freezer keeps the run from starting until it is retrieved.
    let (_, unit) = api
        .post(
            "/api/storage/locations",
            Some(t),
            json!({"name": "F", "kind": "freezer", "zone": "ultra_low"}),
        )
        .await;
    let (_, boxed) = api
        .post(
            "/api/storage/locations",
            Some(t),
            json!({"name": "B", "kind": "box", "parent_id": unit["id"], "rows": 2, "columns": 2}),
        )
        .await;
    let (status, _) = api
        .post(
            "/api/storage/placements",
            Some(t),
            json!({"sample_id": s3, "location_id": boxed["id"], "auto": true}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, v) = go("running", 2).await;
    assert_eq!(
        (status, v["code"].as_str(), v["errors"][0]["rule"].as_str()),
        (409, Some("samples_not_ready"), Some("in_storage")),
        "{v}"
    );
    assert_eq!(
        api.post("/api/storage/retrievals", Some(t), json!({"sample_id": s3}))
            .await
            .0,
        200
    );
    let (status, v) = go("running", 2).await;
    assert_eq!(
        (status, v["run"]["version"].as_u64(), v["samples"]["moved"].as_u64()),
        (200, Some(3), Some(3)),
        "{v}"
    );
    for s in [&s1, &s2, &s3] {
        assert_eq!(
            api.get(&format!("/api/samples/{s}"), t).await.1["status"],
            "in_sequencing"
        );
    }
    let (_, map) = api
        .get(
            &format!("/api/storage/locations/{}/map", boxed["id"].as_str().unwrap()),
            t,
        )
        .await;
    assert_eq!(
        map["cells"][0]["occupant"]["status"], "in_sequencing",
        "the box map follows"
    );
    let (status, v) = api
        .post(
            &qc_path,
            Some(t),
            json!({"lanes": [{"lane": 1, "metrics": {"percent_q30": 80.0, "percent_pf": 80.0, "cluster_density": 1200}},
                             {"lane": 2, "metrics": {"percent_q30": 79.9}}],
                   "version": 3}),
        )
        .await;
    assert_eq!((status, v["qc"]["verdict"].as_str()), (200, Some("warning")), "{v}");
    assert_eq!(v["qc"]["results"][0]["verdict"], "pass", "exactly at the limits passes");
    let (status, v) = api
        .post(
            &qc_path,
            Some(t),
            json!({"lanes": [{"lane": 2, "metrics": {"percent_q30": 74.9}}],
                   "libraries": [{"library_id": l2, "metrics": {"percent_q30": 70}}], "version": 4}),
        )
        .await;
    assert_eq!((status, v["qc"]["verdict"].as_str()), (200, Some("fail")), "{v}");
    let (status, v) = api
        .post(
            &qc_path,
            Some(t),
            json!({"lanes": [{"lane": 5, "metrics": {}}], "version": 5}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("lanes[0].lane")));
    let (status, v) = go("completed", 5).await;
    assert_eq!((status, v["samples"]["moved"].as_u64()), (200, Some(3)), "{v}");
    for (s, want) in [(&s1, "completed"), (&s2, "failed"), (&s3, "completed")] {
        assert_eq!(
            api.get(&format!("/api/samples/{s}"), t).await.1["status"],
            want,
            "the library of s2 failed QC"
        );
    }
    let (_, h) = api.get(&format!("/api/samples/{s2}/history"), t).await;
    let last = h["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["from"].as_str(), last["to"].as_str()),
        (Some("in_sequencing"), Some("failed"))
    );
    assert_eq!(go("running", 6).await.0, 409, "completed is terminal");
    let kinds = tracseq_tests::lims::events_of(&admin.lab_id(), &format!("sequencing/runs/{id}")).await;
    for k in [
        "tracseq.sequencing.run_created",
        "tracseq.sequencing.qc_failed",
        "tracseq.sequencing.run_completed",
    ] {
        assert_eq!(kinds.iter().filter(|x| *x == k).count(), 1, "{k}: {kinds:?}");
    }
    let failed = tracseq_tests::lims::event_data(
        &admin.lab_id(),
        &format!("sequencing/runs/{id}"),
        "tracseq.sequencing.qc_failed",
    )
    .await;
    assert_eq!(
        failed[0]["requested_by"],
        json!(tech.user_id()),
        "the job's requester hears of it"
    );
    assert!(
        failed[0]["failing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["metric"] == "percent_q30" && f["lane"] == 2)
    );
    let (_, done) = api.get("/api/sequencing/runs?status=completed", t).await;
    assert_eq!(done["items"].as_array().unwrap().len(), 1);
    let (_, all) = api.get("/api/sequencing/runs", t).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let other = tracseq_tests::client::new_lab(&api).await;
    for path in [
        format!("/api/sequencing/runs/{id}"),
        format!("/api/sequencing/runs/{id}/samplesheet"),
    ] {
        assert_eq!(api.get(&path, &other.access).await.0, 404, "{path}");
    }
}

#[tokio::test]
async fn jobs_follow_their_machine_and_freeze_their_scope_once_queued() {
    use serde_json::json;
    let api = api();
    let admin = tracseq_tests::client::new_lab(&api).await;
    let t = admin.access.as_str();
    let s1 = sample_id(&api, t).await;
    let s2 = sample_id(&api, t).await;
    let (status, job) = api
        .post(
            "/api/sequencing/jobs",
            Some(t),
            json!({"name": "Exomes batch 7", "priority": "HIGH", "sample_ids": [s1], "instrument": "novaseq x",
                   "reads": {"read1": 151, "index1": 10, "index2": 10, "read2": 151}}),
        )
        .await;
    assert_eq!(
        (status, job["status"].as_str(), job["priority"].as_str()),
        (201, Some("draft"), Some("high")),
        "{job}"
    );
    let id = job["id"].as_str().unwrap();
    let path = format!("/api/sequencing/jobs/{id}");
    for (body, field) in [
        (json!({"name": "x", "sample_ids": []}), "sample_ids"),
        (
            json!({"name": "x", "sample_ids": ["01JNOSUCHTHING0000000000"]}),
            "sample_ids[0]",
        ),
        (json!({"name": "", "sample_ids": [s1]}), "name"),
        (json!({"name": "x", "sample_ids": [s1], "priority": "asap"}), "priority"),
        (
            json!({"name": "x", "sample_ids": [s1], "reads": {"read1": 0, "index1": 0, "index2": 8, "read2": 5000}}),
            "reads",
        ),
    ] {
        let (status, v) = api.post("/api/sequencing/jobs", Some(t), body).await;
        assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some(field)), "{v}");
    }
    assert_eq!(api.patch(&path, t, json!({"sample_ids": [s1, s2]})).await.0, 428);
    let (status, v) = api
        .patch(
            &path,
            t,
            json!({"reads": {"read1": 151, "index1": 0, "index2": 8, "read2": 151}, "version": 1}),
        )
        .await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("reads")), "{v}");
    let (status, v) = api.patch(&path, t, json!({"sample_ids": [s1, s2], "version": 1})).await;
    assert_eq!((status, v["sample_ids"].as_array().unwrap().len()), (200, 2));
    assert_eq!(
        api.patch(&path, t, json!({"notes": "x", "version": 1})).await.0,
        409,
        "stale"
    );
    let transitions = format!("/api/sequencing/jobs/{id}/transitions");
    let go = |to: &str, reason: Option<&str>| {
        let mut body = json!({ "to": to });
        if let Some(r) = reason {
            body["reason"] = json!(r);
        }
        api.post(&transitions, Some(t), body)
    };
    assert_eq!(go("queued", None).await.1["code"], "invalid_transition");
    for to in ["submitted", "validated", "queued"] {
        assert_eq!(go(to, None).await.0, 200, "{to}");
    }
    let (status, v) = api.patch(&path, t, json!({"sample_ids": [s1], "version": 5})).await;
    assert_eq!((status, v["errors"][0]["rule"].as_str()), (422, Some("queued")), "{v}");
    assert_eq!(
        api.patch(&path, t, json!({"priority": "urgent", "version": 5})).await.0,
        200,
        "priority may still change"
    );
    assert_eq!(go("on_hold", None).await.0, 422, "holding says why");
    let (status, v) = go("on_hold", Some("waiting for the flow cell")).await;
    assert_eq!(
        (status, v["status_reason"].as_str()),
        (200, Some("waiting for the flow cell"))
    );
    for to in ["queued", "running", "failed"] {
        let reason = (to == "failed").then_some("cluster density too low");
        assert_eq!(go(to, reason).await.0, 200, "{to}");
    }
    assert_eq!(go("queued", None).await.0, 200, "a failed job is retried");
    assert_eq!(go("cancelled", Some("funding withdrawn")).await.0, 200);
    assert_eq!(go("queued", None).await.0, 409, "cancelled is terminal");
    let version = api.get(&path, t).await.1["version"].clone();
    assert_eq!(version, 12);
    assert_eq!(
        api.patch(&path, t, json!({"notes": "x", "version": version})).await.1["code"],
        "job_closed"
    );
    let (_, list) = api.get("/api/sequencing/jobs?status=cancelled", t).await;
    assert_eq!(list["items"][0]["id"], json!(id));
    let kinds = tracseq_tests::lims::events_of(&admin.lab_id(), &format!("sequencing/jobs/{id}")).await;
    assert_eq!(kinds.iter().filter(|k| k.ends_with("job_status_changed")).count(), 9);
    let other = tracseq_tests::client::new_lab(&api).await;
    assert_eq!(api.get(&path, &other.access).await.0, 404);
    let (status, v) = api
        .post(
            "/api/sequencing/jobs",
            Some(&other.access),
            json!({"name": "x", "sample_ids": [s1]}),
        )
        .await;
    assert_eq!(
        (status, v["errors"][0]["field"].as_str()),
        (422, Some("sample_ids[0]")),
        "my sample is not theirs"
    );
}

#[tokio::test]
async fn a_lab_sets_its_own_qc_thresholds() {
    use serde_json::json;
    let api = api();
    let admin = tracseq_tests::client::new_lab(&api).await;
    let t = admin.access.as_str();
    let (status, v) = api.get("/api/sequencing/qc-thresholds", t).await;
    assert_eq!((status, v["version"].as_u64()), (200, Some(0)));
    assert_eq!(v["thresholds"]["percent_q30"]["pass_min"], 80.0);
    let body = |pass: f64, warn: f64, version: u64| json!({"thresholds": {"percent_q30": {"pass_min": pass, "warn_min": warn}}, "version": version});
    let (status, v) = api.put("/api/sequencing/qc-thresholds", t, body(75.0, 80.0, 0)).await;
    assert_eq!(
        (status, v["errors"][0]["rule"].as_str()),
        (422, Some("band")),
        "pass below warn: {v}"
    );
    let (status, v) = api.put("/api/sequencing/qc-thresholds", t, body(85.0, 80.0, 0)).await;
    assert_eq!((status, v["version"].as_u64()), (200, Some(1)), "{v}");
    assert_eq!(
        v["thresholds"]["percent_pf"]["pass_min"], 80.0,
        "others keep their defaults"
    );
    let (status, _) = api.put("/api/sequencing/qc-thresholds", t, body(90.0, 80.0, 0)).await;
    assert_eq!(status, 409, "stale");
    // A run of this lab is judged with them: 84 % Q30 now only warns.
    let (l1, _, _) = kit_library(&api, t, "N701", "S502").await;
    let pool = pool_of(&api, t, &[&l1]).await;
    let (_, run) = api
        .post(
            "/api/sequencing/runs",
            Some(t),
            json!({"name": "MS-1", "instrument": "MiSeq", "flow_cell": "MiSeq v3",
                   "reads": {"read1": 301, "index1": 8, "index2": 8, "read2": 301},
                   "lanes": [{"lane": 1, "pool_ids": [pool]}]}),
        )
        .await;
    let id = run["id"].as_str().unwrap();
    for (to, v) in [("loaded", 1), ("running", 2)] {
        let (status, r) = api
            .post(
                &format!("/api/sequencing/runs/{id}/transitions"),
                Some(t),
                json!({"to": to, "version": v}),
            )
            .await;
        assert_eq!(status, 200, "{r}");
    }
    let (_, v) = api
        .post(
            &format!("/api/sequencing/runs/{id}/qc"),
            Some(t),
            json!({"lanes": [{"lane": 1, "metrics": {"percent_q30": 84}}], "version": 3}),
        )
        .await;
    assert_eq!(v["qc"]["verdict"], "warning", "{v}");
    let other = tracseq_tests::client::new_lab(&api).await;
    assert_eq!(
        api.get("/api/sequencing/qc-thresholds", &other.access).await.1["version"],
        0,
        "another lab's are its own"
    );
}

#[tokio::test]
async fn administrators_add_flow_cell_types_their_runs_use() {
    use serde_json::json;
    let api = api();
    let admin = tracseq_tests::client::new_lab(&api).await;
    let t = admin.access.as_str();
    let body = json!({"name": "P4", "instrument": "NextSeq 1000/2000", "lanes": 1, "reads_per_lane": 1_800_000_000u64});
    let (status, v) = api.post("/api/sequencing/flow-cells", Some(t), body.clone()).await;
    assert_eq!((status, v["lanes"].as_u64()), (201, Some(1)), "{v}");
    assert_eq!(
        api.post("/api/sequencing/flow-cells", Some(t), body).await.1["code"],
        "flow_cell_exists"
    );
    let (_, v) = api
        .post(
            "/api/sequencing/flow-cells",
            Some(t),
            json!({"name": "S4", "instrument": "NovaSeq 6000", "lanes": 4, "reads_per_lane": 1}),
        )
        .await;
    assert_eq!(v["code"], "flow_cell_exists", "a built-in type");
    let (status, v) = api
        .post(
            "/api/sequencing/flow-cells",
            Some(t),
            json!({"name": "X", "instrument": "NovaSeq X", "lanes": 0, "reads_per_lane": 0}),
        )
        .await;
    assert_eq!((status, v["errors"].as_array().unwrap().len()), (422, 2));
    let (_, inst) = api.get("/api/sequencing/instruments", t).await;
    let nextseq = inst["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "NextSeq 1000/2000")
        .unwrap()
        .clone();
    assert_eq!(
        nextseq["flow_cells"].as_array().unwrap().len(),
        3,
        "P2, P3 and the lab's P4"
    );
    let (l1, _, _) = kit_library(&api, t, "N701", "S502").await;
    let pool = pool_of(&api, t, &[&l1]).await;
    let (status, run) = api
        .post(
            "/api/sequencing/runs",
            Some(t),
            json!({"name": "NS-P4", "instrument": "NextSeq 1000/2000", "flow_cell": "p4",
                   "reads": {"read1": 151, "index1": 10, "index2": 10, "read2": 151},
                   "lanes": [{"lane": 1, "pool_ids": [pool]}]}),
        )
        .await;
    assert_eq!((status, run["flow_cell_lanes"].as_u64()), (201, Some(1)), "{run}");
    let other = tracseq_tests::client::new_lab(&api).await;
    let (_, inst) = api.get("/api/sequencing/instruments", &other.access).await;
    let nextseq = inst["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "NextSeq 1000/2000")
        .unwrap()
        .clone();
    assert_eq!(
        nextseq["flow_cells"].as_array().unwrap().len(),
        2,
        "another lab's types are its own"
    );
}
