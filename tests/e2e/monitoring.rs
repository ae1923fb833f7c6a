//! Freezer monitoring end to end: a lab administrator sets a unit's band and issues its
//! sensor a token; the sensor's batches raise `storage.temperature_alert` once the grace
//! period has passed and `storage.temperature_recovered` after, both reaching the lab
//! administrators' inbox with the unit's path; redelivered and concurrent batches raise
//! nothing twice; the chart reads readings, band and alert periods; bad tokens and bad
//! input are refused.

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracseq_tests::client::{Api, Tokens, new_lab, new_user};
use tracseq_tests::{eventually, shared};

fn api() -> Api {
    Api::new(&shared().api)
}

/// `minute` minutes after a base an hour ago, RFC 3339.
fn at(base: i64, minute: i64) -> String {
    OffsetDateTime::from_unix_timestamp(base + minute * 60)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

fn hour_ago() -> i64 {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    now - now % 60 - 3600
}

async fn unit(api: &Api, t: &Tokens, name: &str) -> String {
    let (status, v) = api
        .post(
            "/api/storage/locations",
            Some(&t.access),
            json!({"name": name, "kind": "freezer", "zone": "ultra_low"}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

async fn token(api: &Api, t: &Tokens, unit: &str) -> String {
    let (status, v) = api
        .post(
            &format!("/api/storage/locations/{unit}/device-token"),
            Some(&t.access),
            json!({}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

/// A freezer with its band set to `band` and its sensor's token: (unit, token, the
/// monitor as the PUT answered it).
async fn monitored(api: &Api, t: &Tokens, name: &str, band: Value) -> (String, String, Value) {
    let freezer = unit(api, t, name).await;
    let (status, v) = api
        .put(&format!("/api/storage/locations/{freezer}/monitor"), &t.access, band)
        .await;
    assert_eq!(status, 200, "{v}");
    let token = token(api, t, &freezer).await;
    (freezer, token, v)
}

/// POST readings `(minute, °C)` with `token`.
async fn post(api: &Api, unit: &str, token: &str, base: i64, readings: &[(i64, f64)]) -> (u16, Value) {
    let body = json!({"readings": readings.iter().map(|(m, c)| json!({"at": at(base, *m), "celsius": c})).collect::<Vec<_>>()});
    api.post(&format!("/api/storage/locations/{unit}/readings"), Some(token), body)
        .await
}

#[tokio::test]
async fn an_excursion_past_its_grace_alerts_once_and_recovers_into_the_inbox() {
    let api = api();
    let admin = new_lab(&api).await;
    let band = json!({"min_celsius": -90, "max_celsius": -65, "grace_minutes": 10});
    let (freezer, token, v) = monitored(&api, &admin, "Minus80 A", band).await;
    assert_eq!(
        v["band"],
        json!({"min_celsius": -90.0, "max_celsius": -65.0, "grace_minutes": 10})
    );
    assert_eq!(v["watch"]["state"], "normal");
    let base = hour_ago();

    // In, out for 10 minutes (alert at minute 11), back in at minute 20.
    let (status, v) = post(&api, &freezer, &token, base, &[(0, -80.0), (1, -60.0), (5, -50.0)]).await;
    assert_eq!(
        (status, v["watch"]["state"].as_str(), v["alerts_raised"].as_u64()),
        (200, Some("excursion"), Some(0)),
        "{v}"
    );
    let second = [(11, -58.0), (12, -55.0)];
    let (status, v) = post(&api, &freezer, &token, base, &second).await;
    assert_eq!(
        (status, v["watch"]["state"].as_str(), v["alerts_raised"].as_u64()),
        (200, Some("alerting"), Some(1)),
        "{v}"
    );
    // The sensor repeats a batch (its answer was lost): stored again, nothing raised again.
    let (status, v) = post(&api, &freezer, &token, base, &second).await;
    assert_eq!(
        (status, v["stored"].as_u64(), v["alerts_raised"].as_u64()),
        (200, Some(2), Some(0)),
        "{v}"
    );
    let (status, v) = post(&api, &freezer, &token, base, &[(21, -71.0), (20, -70.0)]).await;
    assert_eq!(
        (status, v["watch"]["state"].as_str(), v["recoveries"].as_u64()),
        (200, Some("normal"), Some(1)),
        "{v}"
    );

    // The chart: every reading, the band and the alert period.
    let (status, v) = api
        .get(
            &format!(
                "/api/storage/locations/{freezer}/readings?from={}&to={}",
                at(base, -1),
                at(base, 60)
            ),
            &admin.access,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["count"], 7, "{v}");
    let temps: Vec<f64> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["celsius"].as_f64().unwrap())
        .collect();
    assert_eq!(temps, [-80.0, -60.0, -50.0, -58.0, -55.0, -70.0, -71.0]);
    assert_eq!(
        v["alerts"],
        json!([{"since": at(base, 1), "alerted_at": at(base, 11), "recovered_at": at(base, 20), "worst_celsius": -50.0}])
    );
    assert_eq!(v["band"]["max_celsius"], -65.0);

    // Both events reach the lab administrators' inbox (the default wiring), with the path.
    let titles = eventually(90, || async {
        let (_, v) = api.get("/api/notifications?limit=50", &admin.access).await;
        let titles: Vec<String> = v["items"]
            .as_array()?
            .iter()
            .filter_map(|n| n["subject"].as_str().or(n["title"].as_str()).map(str::to_owned))
            .filter(|t| t.contains("Minus80 A"))
            .collect();
        (titles.len() >= 2).then_some(titles)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "no temperature notifications; inbox: {}",
            futures::executor::block_on(api.get("/api/notifications?limit=50", &admin.access)).1
        )
    });
    assert!(
        titles.iter().any(|t| t.contains("Temperature alert: Minus80 A at -58")),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t.contains("Temperature recovered: Minus80 A")),
        "{titles:?}"
    );
    assert_eq!(titles.len(), 2, "each once: {titles:?}");
}

#[tokio::test]
async fn one_batch_may_alert_and_recover_many_times() {
    let api = api();
    let admin = new_lab(&api).await;
    let (freezer, token, _) = monitored(&api, &admin, "Flicker", json!({"grace_minutes": 0})).await;
    let base = hour_ago();
    // 50 readings flickering out and in: 25 alerts and 25 recoveries, more than one
    // transaction can hold, each period written once.
    let flicker: Vec<(i64, f64)> = (0..50).map(|m| (m, if m % 2 == 0 { -50.0 } else { -80.0 })).collect();
    let (status, v) = post(&api, &freezer, &token, base, &flicker).await;
    assert_eq!(
        (status, v["alerts_raised"].as_u64(), v["recoveries"].as_u64()),
        (200, Some(25), Some(25)),
        "{v}"
    );
    let (_, v) = api
        .get(
            &format!("/api/storage/locations/{freezer}/readings?from={}", at(base, -1)),
            &admin.access,
        )
        .await;
    let alerts = v["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 25, "{v}");
    assert!(alerts.iter().all(|a| a["recovered_at"].is_string()), "{v}");
}

#[tokio::test]
async fn concurrent_batches_raise_one_alert() {
    let api = api();
    let admin = new_lab(&api).await;
    let (freezer, token, v) = monitored(&api, &admin, "Race", json!({"grace_minutes": 0})).await;
    assert_eq!(v["band"]["min_celsius"].as_f64(), Some(-90.0), "the zone's range: {v}");
    let base = hour_ago();
    let answers = join_all((0..4).map(|i| {
        let (api, freezer, token) = (api.clone(), freezer.clone(), token.clone());
        async move { post(&api, &freezer, &token, base, &[(i, -20.0)]).await }
    }))
    .await;
    let mut raised = 0;
    for (status, v) in &answers {
        assert_eq!(*status, 200, "{v}");
        raised += v["alerts_raised"].as_u64().unwrap();
    }
    assert_eq!(raised, 1, "{answers:?}");
    let (_, v) = api
        .get(
            &format!("/api/storage/locations/{freezer}/readings?from={}", at(base, -1)),
            &admin.access,
        )
        .await;
    assert_eq!(
        (v["count"].as_u64(), v["alerts"].as_array().map(Vec::len)),
        (Some(4), Some(1)),
        "{v}"
    );
}

#[tokio::test]
async fn only_the_units_current_device_token_may_post_and_bad_readings_are_refused() {
    let api = api();
    let admin = new_lab(&api).await;
    let other_lab = new_lab(&api).await;
    let tech = new_user(&api, &admin, "lab_technician").await;
    let a = unit(&api, &admin, "A").await;
    let b = unit(&api, &admin, "B").await;
    let old = token(&api, &admin, &a).await;
    let current = token(&api, &admin, &a).await;
    let b_token = token(&api, &admin, &b).await;
    let base = hour_ago();
    let fine = [(0, -80.0)];

    let tampered = format!("{}x", &current[..current.len() - 1]);
    let foreign = token(&api, &other_lab, &unit(&api, &other_lab, "Theirs").await).await;
    for (what, t) in [
        ("the retired token", old.as_str()),
        ("another unit's token", b_token.as_str()),
        ("a tampered token", tampered.as_str()),
        ("another lab's token", foreign.as_str()),
        ("a user's session", admin.access.as_str()),
        ("garbage", "tsd1.x.y.z"),
    ] {
        let (status, v) = post(&api, &a, t, base, &fine).await;
        assert_eq!((status, v["code"].as_str()), (401, Some("unauthorized")), "{what}: {v}");
    }
    let (status, _, _) = api
        .send(
            Method::POST,
            &format!("/api/storage/locations/{a}/readings"),
            None,
            Some(json!({"readings": []})),
            &[],
        )
        .await;
    assert_eq!(status, 401, "no token");
    assert_eq!(post(&api, &a, &current, base, &fine).await.0, 200);

    let path = format!("/api/storage/locations/{a}/readings");
    for (body, field) in [
        (json!({"readings": []}), "readings"),
        (
            json!({"readings": [{"at": "yesterday", "celsius": -80}]}),
            "readings[0].at",
        ),
        (
            json!({"readings": [{"at": at(base, 24 * 60), "celsius": -80}]}),
            "readings[0].at",
        ),
        (
            json!({"readings": [{"at": at(base, 0), "celsius": 500}]}),
            "readings[0].celsius",
        ),
    ] {
        let (status, v) = api.post(&path, Some(&current), body).await;
        assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some(field)), "{v}");
    }
    let many: Vec<Value> = (0..501)
        .map(|m| json!({"at": at(base, m % 60), "celsius": -80}))
        .collect();
    assert_eq!(api.post(&path, Some(&current), json!({"readings": many})).await.0, 422);
    assert_eq!(
        api.post(&path, Some(&current), json!({"readings": [{"at": at(base, 0)}]}))
            .await
            .0,
        422
    );
    assert_eq!(
        api.post(
            &path,
            Some(&current),
            json!({"readings": [{"at": at(base, 0), "celsius": "cold"}]})
        )
        .await
        .0,
        422
    );
    let (status, _, _) = api
        .send(
            Method::POST,
            &path,
            Some(&current),
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(status, 400);

    // Bands, units and roles.
    let monitor = format!("/api/storage/locations/{a}/monitor");
    let (status, v) = api
        .put(&monitor, &admin.access, json!({"min_celsius": -60, "max_celsius": -70}))
        .await;
    assert_eq!(
        (status, v["errors"][0]["field"].as_str()),
        (422, Some("max_celsius")),
        "{v}"
    );
    let (status, v) = api.put(&monitor, &admin.access, json!({"grace_minutes": 5000})).await;
    assert_eq!(
        (status, v["errors"][0]["field"].as_str()),
        (422, Some("grace_minutes")),
        "{v}"
    );
    assert_eq!(api.put(&monitor, &admin.access, json!({"colour": 1})).await.0, 422);
    assert_eq!(
        api.put(&monitor, &tech.access, json!({"grace_minutes": 5})).await.0,
        403
    );
    assert_eq!(
        api.put(&monitor, &other_lab.access, json!({"grace_minutes": 5}))
            .await
            .0,
        404
    );
    let (status, rack) = api
        .post(
            "/api/storage/locations",
            Some(&admin.access),
            json!({"name": "R", "kind": "rack", "parent_id": a}),
        )
        .await;
    assert_eq!(status, 201, "{rack}");
    let (status, v) = api
        .post(
            &format!("/api/storage/locations/{}/device-token", rack["id"].as_str().unwrap()),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("not_a_unit")), "{v}");
    let (status, v) = api.get(&format!("{path}?from=now"), &tech.access).await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("from")), "{v}");
    let (status, v) = api
        .get(
            &format!("{path}?from={}&to={}", at(base, -60 * 24 * 40), at(base, 0)),
            &tech.access,
        )
        .await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("from")), "{v}");
    let (status, v) = api.get(&path, &tech.access).await;
    assert_eq!((status, v["count"].as_u64()), (200, Some(1)), "{v}");
    assert_eq!(api.get(&path, &other_lab.access).await.0, 404);
}
