//! Hot paths of every request, measured without I/O: token verification, the HTTP adapter
//! (v2 event in, handler, v2 response out), JSON body parsing and cursor handling.
//! `make bench` runs these; results are in the README.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use serde_json::json;
use std::sync::Arc;
use tracseq_core::auth::{Claims, Role, Verifier};
use tracseq_core::function::InvokeContext;
use tracseq_core::http::{Request, Response, public_route};
use tracseq_core::pagination::Cursor;
use tracseq_core::route::{Access, Method, RouteSpec};

fn token_verification(c: &mut Criterion) {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).expect("key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("key");
    let p = pair.public_key().as_ref();
    let mut verifier = Verifier::new("https://tracseq.bench", "tracseq-api");
    let key =
        jsonwebtoken::DecodingKey::from_ec_components(&B64.encode(&p[1..33]), &B64.encode(&p[33..65])).expect("jwk");
    verifier.add_key("k1", key);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        sub: "01JUSER".into(),
        lab: "01JLAB".into(),
        role: Role::LabTechnician,
        sid: "01JSESSION".into(),
        iss: "https://tracseq.bench".into(),
        aud: "tracseq-api".into(),
        exp: now + 3600,
        iat: now,
        nbf: None,
        jti: "01JTOKEN".into(),
        op: false,
    };
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k1".into());
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()),
    )
    .expect("sign");
    c.bench_function("verify_es256_token", |b| {
        b.iter(|| verifier.verify(black_box(&token)).expect("valid"))
    });
}

static ROUTE: RouteSpec = RouteSpec::new("bench", Method::Get, "/api/version", Access::Public);

fn http_adapter(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let body = Arc::new(serde_json::to_vec(&json!({"name": "tracseq", "version": "0.1.0"})).expect("json"));
    let f = public_route(&ROUTE, body, |b: Arc<Vec<u8>>, _req: Request| async move {
        Ok(Response::new(200)
            .with_header(http::header::CONTENT_TYPE, "application/json")
            .with_body(b.as_ref().clone()))
    })
    .expect("route");
    let event = json!({
        "version": "2.0", "routeKey": "GET /api/version", "rawPath": "/api/version", "rawQueryString": "",
        "headers": {"accept": "*/*", "host": "127.0.0.1:3000", "user-agent": "oha/1.4", "x-correlation-id": "bench-1"},
        "requestContext": {"accountId": "123456789012", "apiId": "local", "requestId": "01JREQUEST", "routeKey": "GET /api/version",
            "stage": "$default", "timeEpoch": 1764200000000i64,
            "http": {"method": "GET", "path": "/api/version", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "oha/1.4"}},
        "isBase64Encoded": false
    });
    let ctx = InvokeContext::new("req", "bench");
    c.bench_function("http_adapter_round_trip", |b| {
        b.iter(|| {
            rt.block_on(f.call(black_box(event.clone()), ctx.clone()))
                .expect("response")
        })
    });
}

fn json_body(c: &mut Criterion) {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        sample_type: String,
        volume: f64,
        unit: String,
        project: Option<String>,
    }
    let req_json = json!({
        "version": "2.0", "rawPath": "/api/samples", "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/api/samples"}},
        "body": r#"{"name":"S-001","sample_type":"DNA","volume":25.5,"unit":"uL","project":"P-17"}"#
    });
    let req = Request::from_event(serde_json::from_value(req_json).expect("event")).expect("request");
    c.bench_function("parse_json_body", |b| {
        b.iter(|| black_box(&req).json::<Sample>().expect("parsed"))
    });
    let bad = Request {
        body: br#"{"name":"S-001","sample_type":5}"#.to_vec(),
        ..req.clone()
    };
    c.bench_function("reject_json_body_as_problem", |b| {
        b.iter(|| black_box(&bad).json::<Sample>().expect_err("problem").to_json())
    });
}

fn cursors(c: &mut Criterion) {
    let mut cursor = Cursor::default();
    cursor.0.insert("PK".into(), "LAB#01JLAB#SAMPLES#pending".into());
    cursor.0.insert("SK".into(), "2026-11-26T23:00:00Z#01JSAMPLE".into());
    let raw = cursor.encode();
    c.bench_function("cursor_decode_checked", |b| {
        b.iter(|| Cursor::decode(black_box(&raw), &[("PK", "LAB#01JLAB#SAMPLES#pending")]).expect("cursor"))
    });
}

criterion_group!(benches, token_verification, http_adapter, json_body, cursors);
criterion_main!(benches);
