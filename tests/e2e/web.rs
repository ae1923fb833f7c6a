//! The web app in a real browser: Debian's Chromium, driven by playwright-core from
//! `web/e2e/run.mjs`, against this binary's stack serving `web/dist` on the API's origin.
//! This test prepares the lab the journeys use and fails if any journey fails.

use serde_json::{Value, json};
use std::process::Command;
use tracseq_tests::client::{Api, PASSWORD, Tokens, new_lab, new_user};
use tracseq_tests::lims::{
    published_template, reference_csv_with_prefix, reference_template, unique_prefix, validated,
};
use tracseq_tests::{shared, workspace};

async fn location(api: &Api, t: &Tokens, body: Value) -> String {
    let (status, v) = api.post("/api/storage/locations", Some(&t.access), body).await;
    assert_eq!(status, 201, "{v}");
    v["id"].as_str().unwrap_or_default().to_owned()
}

fn barcodes(samples: &[Value]) -> Vec<String> {
    samples
        .iter()
        .map(|s| s["barcode"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn browser_journeys_pass_in_chromium() {
    let web = workspace().join("web");
    assert!(
        web.join("dist/index.html").is_file() && web.join("node_modules/playwright-core").is_dir(),
        "the web app is not built: `make test` builds it (npm ci and npm run build in web/)"
    );
    let api = Api::new(&shared().api);
    let admin = new_lab(&api).await;
    let tech = new_user(&api, &admin, "lab_technician").await;
    let template = published_template(&api, &admin.access, reference_template()).await;
    let prefix = unique_prefix();

    // A manifest that imports, and one whose rows are wrong.
    let dir = std::env::temp_dir().join(format!("tracseq-web-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let manifest_prefix = format!("{prefix}M");
    let manifest = reference_csv_with_prefix(&manifest_prefix);
    let manifest_rows = manifest.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    let good = dir.join("manifest.csv");
    std::fs::write(&good, &manifest).expect("write manifest");
    let bad = dir.join("bad-manifest.csv");
    std::fs::write(
        &bad,
        reference_csv_with_prefix(&format!("{prefix}B"))
            .replacen(",Blood,", ",Moon rock,", 1)
            .replacen("2024-01-14", "2024-13-45", 1),
    )
    .expect("write bad manifest");

    // Validated samples to scan into a box and to make libraries from.
    let rack = barcodes(&validated(&api, &admin, 8, "DNA", Some("WEB")).await);
    let library_samples = validated(&api, &admin, 2, "DNA", Some("WEB")).await;
    let libraries = barcodes(&library_samples);

    // 1,000 samples for the list budget, and a 384-well plate filled for the map budget.
    let perf_project = format!("PERF{prefix}");
    let thousand: Vec<Value> = (0..1000)
        .map(|_| json!({"sample_type": "RNA", "project": perf_project}))
        .collect();
    let (status, v) = api
        .post(
            "/api/samples/batch",
            Some(&admin.access),
            json!({ "samples": thousand }),
        )
        .await;
    assert_eq!((status, v["created"].as_u64()), (200, Some(1000)), "{v}");
    let unit = location(
        &api,
        &admin,
        json!({"name": "PERF freezer", "kind": "freezer", "zone": "freezer"}),
    )
    .await;
    let shelf = location(
        &api,
        &admin,
        json!({"name": "PERF rack", "kind": "rack", "parent_id": unit}),
    )
    .await;
    let plate = location(
        &api,
        &admin,
        json!({"name": "PERF plate", "kind": "plate", "parent_id": shelf, "rows": 16, "columns": 24}),
    )
    .await;
    let fill = validated(&api, &admin, 384, "DNA", None).await;
    for chunk in fill.chunks(96) {
        let items: Vec<Value> = chunk.iter().map(|s| json!({"sample_id": s["id"]})).collect();
        let (status, v) = api
            .post(
                "/api/storage/placements",
                Some(&admin.access),
                json!({"location_id": plate, "auto": true, "items": items}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
    }

    // A monitored freezer whose sensor reported the last six hours, with one excursion
    // that raised an alert and recovered.
    let monitored = location(
        &api,
        &admin,
        json!({"name": "Minus80 B", "kind": "freezer", "zone": "ultra_low"}),
    )
    .await;
    let (status, v) = api
        .put(
            &format!("/api/storage/locations/{monitored}/monitor"),
            &admin.access,
            json!({"grace_minutes": 10}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = api
        .post(
            &format!("/api/storage/locations/{monitored}/device-token"),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let device = v["token"].as_str().unwrap_or_default().to_owned();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let start = now - now % 300 - 6 * 3600;
    let readings: Vec<Value> = (0..72)
        .map(|i| {
            let at = time::OffsetDateTime::from_unix_timestamp(start + i * 300).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let celsius = if (30..36).contains(&i) { -58.0 - (i % 3) as f64 } else { -80.0 + (i % 5) as f64 * 0.4 };
            json!({"at": at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(), "celsius": celsius})
        })
        .collect();
    let (status, v) = api
        .post(
            &format!("/api/storage/locations/{monitored}/readings"),
            Some(&device),
            json!({ "readings": readings }),
        )
        .await;
    assert_eq!(
        (status, v["alerts_raised"].as_u64(), v["recoveries"].as_u64()),
        (200, Some(1), Some(1)),
        "{v}"
    );

    let fixture = json!({
        "monitored_unit": monitored,
        "label_sample": library_samples[0]["id"],
        "base": shared().api,
        "password": PASSWORD,
        "admin_email": admin.user["email"],
        "tech_email": tech.user["email"],
        "template_id": template,
        "prefix": prefix,
        "manifest": good,
        "manifest_rows": manifest_rows,
        "manifest_prefix": manifest_prefix,
        "bad_manifest": bad,
        "rack": rack,
        "libraries": libraries,
        "perf_project": perf_project,
        "plate_id": plate,
        "intake_form": workspace().join("functions/intake/tests/documents/reference_submission.txt"),
    });
    let fixture_path = dir.join("fixture.json");
    std::fs::write(&fixture_path, fixture.to_string()).expect("write fixture");

    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("e2e/run.mjs")
            .current_dir(&web)
            .env("WEB_E2E_FIXTURE", &fixture_path)
            .output()
    })
    .await
    .expect("join")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "a browser journey failed:\n{stdout}");
}
