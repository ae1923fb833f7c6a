// A benchmark harness, not a request path: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
    use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
    let der: Pkcs8V1Der = pair.as_der().expect("der");
    let public = pair.public_key();
    let mut verifier = Verifier::new("https://tracseq.bench", "tracseq-api");
    verifier
        .add_rsa_components(
            "k1",
            &B64.encode(public.modulus().big_endian_without_leading_zero()),
            &B64.encode(public.exponent().big_endian_without_leading_zero()),
        )
        .expect("jwk");
    let signing = tracseq_core::auth::rsa_signing_key(der.as_ref()).expect("signing key");
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
    let mut header = jsonwebtoken::Header::new(tracseq_core::auth::ALGORITHM);
    header.kid = Some("k1".into());
    let token = jsonwebtoken::encode(&header, &claims, &signing).expect("sign");
    c.bench_function("verify_rs256_access_token", |b| {
        b.iter(|| verifier.verify(black_box(&token)).expect("valid"))
    });
    c.bench_function("sign_rs256_access_token", |b| {
        b.iter(|| jsonwebtoken::encode(&header, black_box(&claims), &signing).expect("sign"))
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
    let http_req = http::Request::builder()
        .method("POST")
        .uri("/api/samples")
        .header("content-type", "application/json")
        .body(lambda_http::Body::from(
            r#"{"name":"S-001","sample_type":"DNA","volume":25.5,"unit":"uL","project":"P-17"}"#,
        ))
        .expect("request");
    let req = Request::from_http(http_req);
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

/// The signature check alone, per algorithm: what a token verification is made of.
fn raw_signatures(c: &mut Criterion) {
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey};
    let msg = [7u8; 400];
    let rng = SystemRandom::new();
    let ec = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("key")
            .as_ref(),
    )
    .expect("key");
    let ec_sig = ec.sign(&rng, &msg).expect("sign");
    let ec_pub = UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        ec.public_key().as_ref().to_vec(),
    );
    c.bench_function("signature_verify_es256", |b| {
        b.iter(|| ec_pub.verify(black_box(&msg), ec_sig.as_ref()).expect("valid"))
    });
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa");
    let mut rsa_sig = vec![0u8; rsa.public_modulus_len()];
    rsa.sign(&RSA_PKCS1_SHA256, &rng, &msg, &mut rsa_sig).expect("sign");
    let rsa_pub = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, rsa.public_key().as_ref().to_vec());
    c.bench_function("signature_verify_rs256", |b| {
        b.iter(|| rsa_pub.verify(black_box(&msg), &rsa_sig).expect("valid"))
    });
}

fn password_hashing(c: &mut Criterion) {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
    let params = argon2::Params::new(19 * 1024, 2, 1, None).expect("params");
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
    let hash = argon.hash_password(b"Correct7Horse", &salt).expect("hash").to_string();
    let parsed = argon2::PasswordHash::new(&hash).expect("phc");
    let mut g = c.benchmark_group("password");
    g.sample_size(20);
    g.bench_function("argon2id_verify_m19456_t2_p1", |b| {
        b.iter(|| argon.verify_password(black_box(b"Correct7Horse"), &parsed).expect("ok"))
    });
    g.finish();
}

/// An export's own work per 100,000 rows of 28 columns (a sample list), apart from reading
/// them: CSV lines, and a workbook written row by row to its temporary file.
fn sheets(c: &mut Criterion) {
    use tracseq_core::sheet::{Cell, CsvRows, XlsxRows};
    let row = |i: u64| -> Vec<Cell> {
        (0..28)
            .map(|c| match c % 4 {
                0 => Cell::Text(format!("TS-2026-{i:06}")),
                1 => Cell::Text(format!("Patient {i} blood, \"tube\" {}", i % 96)),
                2 => Cell::Number((i % 500) as f64 + 0.5),
                _ => Cell::Empty,
            })
            .collect()
    };
    let rows: Vec<Vec<Cell>> = (0..100_000).map(row).collect();
    let header: Vec<&str> = (0..28).map(|_| "column").collect();
    let mut g = c.benchmark_group("export_100k_rows");
    g.sample_size(10);
    g.bench_function("csv", |b| {
        b.iter(|| {
            let mut out = CsvRows::new(&header);
            let mut bytes = 0;
            for r in &rows {
                out.push(r);
                if out.len() >= 8 << 20 {
                    bytes += out.take().len();
                }
            }
            black_box(bytes + out.take().len())
        })
    });
    g.bench_function("xlsx", |b| {
        b.iter(|| {
            let mut out = XlsxRows::new("samples", &header).expect("book");
            for r in &rows {
                out.push(r).expect("row");
            }
            black_box(out.finish().expect("bytes").len())
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    sheets,
    token_verification,
    raw_signatures,
    password_hashing,
    http_adapter,
    json_body,
    cursors
);
criterion_main!(benches);
