//! Identity and access end to end: login and sessions, token attacks, refresh rotation,
//! revocation, lockout, throttling, labs, the role matrix, tenant isolation, audit.

use reqwest::Method;
use serde_json::{Value, json};
use tracseq_tests::client::{Api, OPERATOR_EMAIL, OPERATOR_PASSWORD, PASSWORD, Tokens, new_lab, new_user, operator};
use tracseq_tests::shared;

fn api() -> Api {
    Api::new(&shared().api)
}

#[tokio::test]
async fn seeded_admin_logs_in_as_the_readme_shows() {
    let api = api();
    let (status, v) = api.try_login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 900);
    assert!(v["refresh_token"].as_str().is_some_and(|t| t.len() >= 43));
    assert!(v["user"].get("password_hash").is_none());
    let (status, me) = api
        .get("/api/users/me", v["access_token"].as_str().unwrap_or_default())
        .await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], OPERATOR_EMAIL);
    assert_eq!(me["platform_operator"], true);
    let (status, jwks, _) = api.send(Method::GET, "/.well-known/jwks.json", None, None, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let api = api();
    let admin = new_lab(&api).await;
    let (s1, wrong) = api
        .try_login(admin.user["email"].as_str().unwrap_or_default(), "Wrong-Passw0rd")
        .await;
    let (s2, unknown) = api.try_login("nobody-here@example.org", "Wrong-Passw0rd").await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong, unknown, "responses never reveal whether an email exists");
    let (status, v) = api.post("/api/auth/login", None, json!({ "email": "a@b.c" })).await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("password")));
    let (status, _) = api
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "x".repeat(300), "password": "p" }),
        )
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn operator_creates_labs_and_nobody_else_can() {
    let api = api();
    let admin = new_lab(&api).await;
    assert_eq!(admin.user["role"], "lab_administrator");
    let (status, lab) = api.get("/api/labs/current", &admin.access).await;
    assert_eq!(status, 200);
    assert_eq!(lab["admins"], 1);
    let stale = json!({ "name": "Renamed", "version": lab["version"].as_u64().unwrap_or(1) + 5 });
    let (status, v) = api.patch("/api/labs/current", &admin.access, stale).await;
    assert_eq!((status, v["code"].as_str()), (409, Some("version_conflict")));
    assert_eq!(
        api.patch("/api/labs/current", &admin.access, json!({ "name": "No version" }))
            .await
            .0,
        428
    );
    // A lab administrator is not a platform operator.
    let (status, v) = api
        .post(
            "/api/labs",
            Some(&admin.access),
            json!({ "name": "X", "admin": { "email": "x@example.org", "name": "X", "password": PASSWORD } }),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")));
    // Weak password and taken email are refused.
    let op = operator(&api).await;
    let (status, v) = api
        .post(
            "/api/labs",
            Some(&op.access),
            json!({ "name": "X", "admin": { "email": "weak@example.org", "name": "X", "password": "password" } }),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    let taken = admin.user["email"].as_str().unwrap_or_default();
    let (status, v) = api
        .post(
            "/api/labs",
            Some(&op.access),
            json!({ "name": "X", "admin": { "email": taken, "name": "X", "password": PASSWORD } }),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (409, Some("email_unavailable")));
}

#[tokio::test]
async fn lab_creation_is_idempotent_with_a_key() {
    let api = api();
    let op = operator(&api).await;
    let key = ulid::Ulid::new().to_string();
    let body = json!({ "name": "Idem Lab", "admin": { "email": format!("idem-{}@example.org", key.to_lowercase()), "name": "I", "password": PASSWORD } });
    let first = api
        .send(
            Method::POST,
            "/api/labs",
            Some(&op.access),
            Some(body.clone()),
            &[("idempotency-key", &key)],
        )
        .await;
    let again = api
        .send(
            Method::POST,
            "/api/labs",
            Some(&op.access),
            Some(body),
            &[("idempotency-key", &key)],
        )
        .await;
    assert_eq!((first.0, again.0), (201, 201));
    assert_eq!(first.1["lab"]["id"], again.1["lab"]["id"]);
    assert_eq!(again.2["idempotent-replayed"], "true");
}

/// Expected status of each route per role, lowest role first.
#[tokio::test]
async fn role_matrix_on_user_and_lab_routes() {
    let api = api();
    let admin = new_lab(&api).await;
    let roles = tracseq_tests::client::ROLES;
    let mut users: Vec<Tokens> = Vec::new();
    for r in roles {
        users.push(new_user(&api, &admin, r).await);
    }
    let target = new_user(&api, &admin, "guest").await;
    let tid = target.user_id();
    // The target survives the lower roles' attempts, then the admin row acts on it.
    for (i, u) in users.iter().enumerate() {
        let at_least = |min: usize| if i >= min { 200 } else { 403 };
        let t = &u.access;
        assert_eq!(api.get("/api/users/me", t).await.0, 200, "{} me", roles[i]);
        assert_eq!(api.get("/api/labs/current", t).await.0, 200, "{} lab", roles[i]);
        assert_eq!(api.get("/api/users", t).await.0, at_least(4), "{} list users", roles[i]);
        assert_eq!(
            api.get(&format!("/api/users/{tid}"), t).await.0,
            at_least(4),
            "{} get user",
            roles[i]
        );
        assert_eq!(api.get("/api/audit", t).await.0, at_least(5), "{} audit", roles[i]);
        let (status, _) = api
            .patch(
                &format!("/api/users/{tid}"),
                t,
                json!({ "name": format!("by {}", roles[i]), "version": 1 }),
            )
            .await;
        assert_eq!(status, if i >= 5 { 200 } else { 403 }, "{} patch user", roles[i]);
        let (status, _) = api.post("/api/users", Some(t), json!({ "email": format!("m-{i}-{}@example.org", ulid::Ulid::new().to_string().to_lowercase()), "name": "N", "role": "guest", "password": PASSWORD })).await;
        assert_eq!(status, if i >= 5 { 201 } else { 403 }, "{} create user", roles[i]);
        let (status, lab) = api.get("/api/labs/current", &admin.access).await;
        assert_eq!(status, 200);
        if i < 5 {
            for action in ["disable", "enable", "unlock"] {
                let (status, _) = api
                    .post(&format!("/api/users/{tid}/{action}"), Some(t), json!({}))
                    .await;
                assert_eq!(status, 403, "{} {action} user", roles[i]);
            }
            assert_eq!(
                api.delete(&format!("/api/users/{tid}"), t).await.0,
                403,
                "{} delete user",
                roles[i]
            );
            assert_eq!(
                api.get("/api/users/me/sessions", t).await.0,
                200,
                "{} own sessions",
                roles[i]
            );
        }
        let (status, _) = api
            .patch(
                "/api/labs/current",
                t,
                json!({ "name": "Renamed", "version": lab["version"] }),
            )
            .await;
        assert_eq!(status, if i >= 5 { 200 } else { 403 }, "{} patch lab", roles[i]);
    }
}

#[tokio::test]
async fn another_labs_users_are_404_never_403() {
    let api = api();
    let a = new_lab(&api).await;
    let b = new_lab(&api).await;
    let victim = new_user(&api, &a, "lab_technician").await;
    let path = format!("/api/users/{}", victim.user_id());
    assert_eq!(api.get(&path, &b.access).await.0, 404);
    assert_eq!(
        api.patch(&path, &b.access, json!({ "name": "pwned", "version": 1 }))
            .await
            .0,
        404
    );
    assert_eq!(api.delete(&path, &b.access).await.0, 404);
    for action in ["disable", "enable", "unlock"] {
        assert_eq!(
            api.post(&format!("{path}/{action}"), Some(&b.access), json!({}))
                .await
                .0,
            404,
            "{action}"
        );
    }
    // B's user list holds only B's users.
    let (_, list) = api.get("/api/users?limit=1000", &b.access).await;
    assert!(
        list["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|u| u["lab_id"] == b.lab_id()))
    );
    // And A's record is untouched.
    let (_, still) = api.get(&path, &a.access).await;
    assert_eq!(still["name"], "Test User");
}

fn b64(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn forged_and_invalid_tokens_are_401_problems() {
    let api = api();
    let admin = new_lab(&api).await;
    let parts: Vec<&str> = admin.access.split('.').collect();
    let claims: Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(parts[1])
                .expect("b64"),
        )
        .expect("claims")
    };
    let header: Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(parts[0])
                .expect("b64"),
        )
        .expect("header")
    };
    let mut escalated = claims.clone();
    escalated["role"] = json!("lab_administrator");
    escalated["lab"] = json!("some-other-lab");
    let kid = header["kid"].as_str().unwrap_or_default();
    let (_, jwks, _) = api.send(Method::GET, "/.well-known/jwks.json", None, None, &[]).await;
    let key = jwks["keys"]
        .as_array()
        .and_then(|k| k.iter().find(|k| k["kid"] == kid))
        .cloned()
        .unwrap_or_default();
    let hs256 = {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = Some(kid.to_owned());
        let secret = format!("{}{}", key["n"].as_str().unwrap_or(""), key["e"].as_str().unwrap_or(""));
        jsonwebtoken::encode(&h, &claims, &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes())).expect("hs256")
    };
    let forged = [
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
                parts[1]
            ),
        ),
        ("hs256 with public key", hs256),
        (
            "tampered payload",
            format!("{}.{}.{}", parts[0], b64(&escalated), parts[2]),
        ),
        (
            "unknown kid",
            format!(
                "{}.{}.{}",
                b64(&json!({"alg": "ES256", "typ": "JWT", "kid": "nope"})),
                parts[1],
                parts[2]
            ),
        ),
        ("garbage", "abc.def.ghi".to_owned()),
    ];
    for (what, token) in forged {
        let (status, v) = api.get("/api/users/me", &token).await;
        assert_eq!(status, 401, "{what}: {v}");
        assert!(v["code"].is_string(), "{what}: problem+json");
    }
    assert_eq!(api.send(Method::GET, "/api/users/me", None, None, &[]).await.0, 401);
}

#[tokio::test]
async fn tokens_with_wrong_issuer_audience_or_times_are_refused() {
    // Signed with the deployment's real private key (read from SSM as an attacker who
    // stole it could not, but a test can), so only the claims are wrong.
    let s = shared();
    let api = api();
    let admin = new_lab(&api).await;
    let ssm = aws_sdk_ssm::Client::new(&s.sdk().await);
    let params = tracseq_aws::jwt_keys::KeyParams {
        private: "/tracseq/local/jwt/private-keys".into(),
        public: "/tracseq/local/jwt/public-keys".into(),
    };
    let keys = tracseq_aws::jwt_keys::load_private(&ssm, &params).await.expect("keys");
    let (kid, key) = tracseq_aws::jwt_keys::signing_key(&keys, time::OffsetDateTime::now_utc().unix_timestamp())
        .expect("signing key");
    let parts: Vec<&str> = admin.access.split('.').collect();
    let claims: Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(parts[1])
                .expect("b64"),
        )
        .expect("claims")
    };
    let sign = |c: &Value| {
        let mut h = jsonwebtoken::Header::new(tracseq_core::auth::ALGORITHM);
        h.kid = Some(kid.clone());
        jsonwebtoken::encode(&h, c, &key).expect("sign")
    };
    assert_eq!(
        api.get("/api/users/me", &sign(&claims)).await.0,
        200,
        "the control token is valid"
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let cases = [
        ("iss", json!("https://evil.example")),
        ("aud", json!("another-api")),
        ("exp", json!(now - 60)),
        ("nbf", json!(now + 600)),
    ];
    for (claim, value) in cases {
        let mut c = claims.clone();
        c[claim] = value;
        let (status, v) = api.get("/api/users/me", &sign(&c)).await;
        assert_eq!(status, 401, "{claim}: {v}");
    }
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session_family() {
    let api = api();
    let admin = new_lab(&api).await;
    let (status, second) = api
        .post("/api/auth/refresh", None, json!({ "refresh_token": admin.refresh }))
        .await;
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap_or_default().to_owned();
    let a2 = second["access_token"].as_str().unwrap_or_default().to_owned();
    assert_ne!(r2, admin.refresh);
    assert_eq!(api.get("/api/users/me", &a2).await.0, 200);
    // The first token again: reuse. The whole session goes.
    let (status, v) = api
        .post("/api/auth/refresh", None, json!({ "refresh_token": admin.refresh }))
        .await;
    assert_eq!((status, v["code"].as_str()), (401, Some("refresh_token_reused")));
    assert_eq!(
        api.post("/api/auth/refresh", None, json!({ "refresh_token": r2 }))
            .await
            .0,
        401
    );
    let (status, v) = api.get("/api/users/me", &a2).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("session_revoked")));
    // Misuse is audited.
    let other = api
        .login(admin.user["email"].as_str().unwrap_or_default(), PASSWORD)
        .await;
    let (_, audit) = api.get("/api/audit?action=token_misuse", &other.access).await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");
    assert_eq!(
        api.post("/api/auth/refresh", None, json!({ "refresh_token": "made-up" }))
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn logout_revokes_the_session_at_once() {
    let api = api();
    let admin = new_lab(&api).await;
    assert_eq!(
        api.post("/api/auth/logout", Some(&admin.access), json!({})).await.0,
        204
    );
    let (status, v) = api.get("/api/users/me", &admin.access).await;
    assert_eq!((status, v["code"].as_str()), (401, Some("session_revoked")));
    assert_eq!(
        api.post("/api/auth/refresh", None, json!({ "refresh_token": admin.refresh }))
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn sessions_are_listed_and_revocable_one_by_one() {
    let api = api();
    let admin = new_lab(&api).await;
    let email = admin.user["email"].as_str().unwrap_or_default().to_owned();
    let other = api.login(&email, PASSWORD).await;
    let (status, list) = api.get("/api/users/me/sessions", &admin.access).await;
    assert_eq!(status, 200);
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let other_sid = items
        .iter()
        .find(|s| s["current"] == false)
        .and_then(|s| s["id"].as_str())
        .unwrap_or_default()
        .to_owned();
    // Someone else's session id is not found.
    let stranger = new_lab(&api).await;
    assert_eq!(
        api.delete(&format!("/api/users/me/sessions/{other_sid}"), &stranger.access)
            .await
            .0,
        404
    );
    assert_eq!(
        api.delete(&format!("/api/users/me/sessions/{other_sid}"), &admin.access)
            .await
            .0,
        204
    );
    assert_eq!(api.get("/api/users/me", &other.access).await.0, 401);
    assert_eq!(api.get("/api/users/me", &admin.access).await.0, 200);
}

#[tokio::test]
async fn password_change_revokes_other_sessions_and_enforces_policy() {
    let api = api();
    let admin = new_lab(&api).await;
    let email = admin.user["email"].as_str().unwrap_or_default().to_owned();
    let second = api.login(&email, PASSWORD).await;
    let (status, v) = api
        .post(
            "/api/users/me/password",
            Some(&admin.access),
            json!({ "current_password": PASSWORD, "new_password": "short" }),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    let (status, v) = api
        .post(
            "/api/users/me/password",
            Some(&admin.access),
            json!({ "current_password": "Not-The-0ne", "new_password": "Better-Passw0rd" }),
        )
        .await;
    assert_eq!(
        (status, v["errors"][0]["field"].as_str()),
        (422, Some("current_password"))
    );
    let (status, _) = api
        .post(
            "/api/users/me/password",
            Some(&admin.access),
            json!({ "current_password": PASSWORD, "new_password": "Better-Passw0rd" }),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        api.get("/api/users/me", &second.access).await.0,
        401,
        "other sessions revoked"
    );
    assert_eq!(
        api.get("/api/users/me", &admin.access).await.0,
        200,
        "this session stays"
    );
    assert_eq!(api.try_login(&email, PASSWORD).await.0, 401);
    assert_eq!(api.try_login(&email, "Better-Passw0rd").await.0, 200);
}

#[tokio::test]
async fn five_failures_lock_the_account_until_an_admin_unlocks_it() {
    let api = api();
    let admin = new_lab(&api).await;
    let tech = new_user(&api, &admin, "lab_technician").await;
    let email = tech.user["email"].as_str().unwrap_or_default().to_owned();
    for _ in 0..5 {
        assert_eq!(api.try_login(&email, "Wrong-Passw0rd").await.0, 401);
    }
    let (_, u) = api.get(&format!("/api/users/{}", tech.user_id()), &admin.access).await;
    assert_eq!(u["status"], "locked");
    let (status, v) = api.try_login(&email, PASSWORD).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (401, Some("invalid_credentials")),
        "locked, and it does not say so"
    );
    // Nobody unlocks themselves; an admin can.
    assert_eq!(
        api.post(
            &format!("/api/users/{}/unlock", admin.user_id()),
            Some(&admin.access),
            json!({})
        )
        .await
        .0,
        403
    );
    let (status, u) = api
        .post(
            &format!("/api/users/{}/unlock", tech.user_id()),
            Some(&admin.access),
            json!({}),
        )
        .await;
    assert_eq!((status, u["status"].as_str()), (200, Some("active")));
    assert_eq!(api.try_login(&email, PASSWORD).await.0, 200);
    let (_, audit) = api
        .get(&format!("/api/audit?actor={}", tech.user_id()), &admin.access)
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"lockout") && actions.contains(&"login_failed") && actions.contains(&"login"),
        "{actions:?}"
    );
    // Unlocking an account that is not locked is a refused transition.
    assert_eq!(
        api.post(
            &format!("/api/users/{}/unlock", tech.user_id()),
            Some(&admin.access),
            json!({})
        )
        .await
        .0,
        409
    );
}

#[tokio::test]
async fn login_is_throttled_per_email_with_retry_after() {
    let api = api();
    let email = format!("throttle-{}@example.org", ulid::Ulid::new().to_string().to_lowercase());
    tracseq_tests::fresh_minute(40).await;
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let (s, _, h) = api
            .send(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({ "email": email, "password": "Wrong-Passw0rd" })),
                &[],
            )
            .await;
        if s == 429 {
            assert!(h.get("retry-after").is_some());
        }
        statuses.push(s);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 10, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429));
}

#[tokio::test]
async fn login_is_throttled_per_source_address() {
    let mut config = tracseq_tests::config("ipthrottle");
    config.env_overrides.insert("LOGIN_LIMIT_PER_IP".into(), "3".into());
    let (stack, e) = tracseq_tests::isolated(config).await;
    let api = Api::new(&e.api);
    tracseq_tests::fresh_minute(30).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        statuses.push(api.try_login(&format!("ip-{i}@example.org"), "Wrong-Passw0rd").await.0);
    }
    stack.shutdown().await;
    assert_eq!(statuses, [401, 401, 401, 429]);
}

#[tokio::test]
async fn nobody_changes_their_own_role_and_a_lab_keeps_an_admin() {
    let api = api();
    let a = new_lab(&api).await;
    let (status, v) = api
        .patch(
            &format!("/api/users/{}", a.user_id()),
            &a.access,
            json!({ "role": "guest", "version": 1 }),
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(
        api.post(
            &format!("/api/users/{}/disable", a.user_id()),
            Some(&a.access),
            json!({})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        api.delete(&format!("/api/users/{}", a.user_id()), &a.access).await.0,
        403
    );
    // Two admins demoting each other at the same moment: exactly one wins.
    let b = new_user(&api, &a, "lab_administrator").await;
    let (api1, api2) = (api.clone(), api.clone());
    let (pa, pb) = (
        format!("/api/users/{}", b.user_id()),
        format!("/api/users/{}", a.user_id()),
    );
    let (ta, tb) = (a.access.clone(), b.access.clone());
    let (_, a_user) = api.get(&pb, &ta).await;
    let (r1, r2) = tokio::join!(
        async move {
            api1.patch(&pa, &ta, json!({ "role": "lab_technician", "version": 1 }))
                .await
        },
        async move {
            api2.patch(
                &pb,
                &tb,
                json!({ "role": "lab_technician", "version": a_user["version"] }),
            )
            .await
        },
    );
    let mut statuses = [r1.0, r2.0];
    statuses.sort();
    assert_eq!(statuses[0], 200, "{r1:?} {r2:?}");
    assert_eq!(statuses[1], 409, "{r1:?} {r2:?}");
    let (_, lab) = api
        .get(
            "/api/labs/current",
            &api.login(a.user["email"].as_str().unwrap_or_default(), PASSWORD)
                .await
                .access,
        )
        .await;
    assert_eq!(lab["admins"], 1);
}

#[tokio::test]
async fn role_change_and_disable_end_the_users_sessions() {
    let api = api();
    let admin = new_lab(&api).await;
    let tech = new_user(&api, &admin, "lab_technician").await;
    let path = format!("/api/users/{}", tech.user_id());
    let (status, u) = api
        .patch(
            &path,
            &admin.access,
            json!({ "role": "principal_investigator", "version": 1 }),
        )
        .await;
    assert_eq!((status, u["role"].as_str()), (200, Some("principal_investigator")));
    assert_eq!(
        api.get("/api/users/me", &tech.access).await.0,
        401,
        "the old token carried the old role"
    );
    let relogged = api
        .login(tech.user["email"].as_str().unwrap_or_default(), PASSWORD)
        .await;
    assert_eq!(relogged.user["role"], "principal_investigator");
    // Stale version.
    assert_eq!(
        api.patch(&path, &admin.access, json!({ "name": "x", "version": 1 }))
            .await
            .0,
        409
    );
    let (status, u) = api
        .post(&format!("{path}/disable"), Some(&admin.access), json!({}))
        .await;
    assert_eq!((status, u["status"].as_str()), (200, Some("disabled")));
    assert_eq!(api.get("/api/users/me", &relogged.access).await.0, 401);
    assert_eq!(
        api.try_login(tech.user["email"].as_str().unwrap_or_default(), PASSWORD)
            .await
            .0,
        401
    );
    assert_eq!(
        api.post(&format!("{path}/enable"), Some(&admin.access), json!({}))
            .await
            .0,
        200
    );
    assert_eq!(
        api.try_login(tech.user["email"].as_str().unwrap_or_default(), PASSWORD)
            .await
            .0,
        200
    );
    assert_eq!(api.delete(&path, &admin.access).await.0, 204);
    assert_eq!(api.get(&path, &admin.access).await.0, 404);
    assert_eq!(
        api.try_login(tech.user["email"].as_str().unwrap_or_default(), PASSWORD)
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn me_can_change_profile_but_not_role_status_or_lab() {
    let api = api();
    let admin = new_lab(&api).await;
    let (status, me) = api
        .patch(
            "/api/users/me",
            &admin.access,
            json!({ "name": "Ada L.", "phone": "+49 30 1234", "version": 1 }),
        )
        .await;
    assert_eq!(
        (status, me["name"].as_str(), me["version"].as_u64()),
        (200, Some("Ada L."), Some(2))
    );
    assert_eq!(
        api.patch("/api/users/me", &admin.access, json!({ "name": "x", "version": 1 }))
            .await
            .0,
        409
    );
    assert_eq!(
        api.patch("/api/users/me", &admin.access, json!({ "name": "x" }))
            .await
            .0,
        428
    );
    for field in ["role", "status", "lab_id"] {
        let (status, v) = api
            .patch("/api/users/me", &admin.access, json!({ field: "x", "version": 2 }))
            .await;
        assert_eq!(
            (status, v["errors"][0]["rule"].as_str()),
            (422, Some("unknown_field")),
            "{field}"
        );
    }
    let (status, v) = api
        .patch(
            "/api/users/me",
            &admin.access,
            json!({ "phone": "call me maybe", "version": 2 }),
        )
        .await;
    assert_eq!((status, v["errors"][0]["field"].as_str()), (422, Some("phone")));
    let (status, _, _) = api
        .send(
            Method::PATCH,
            "/api/users/me",
            Some(&admin.access),
            Some(json!({ "department": "Genomics" })),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(status, 200);
}

/// The newest reset token for a user, read as the email worker will: from the account-mail
/// item addressed to the account (the event names none, and holds no token).
async fn reset_token(lab: &str, user: &str, email: &str) -> String {
    let s = shared();
    let t = tracseq_aws::Table::new(aws_sdk_dynamodb::Client::new(&s.sdk().await), s.table.clone());
    let subject = format!("LAB#{lab}#SUBJECT#user/{user}");
    let query = tracseq_aws::store::PageQuery::of(&subject)
        .on_index("GSI1")
        .newest_first();
    let events = t
        .query_page(&query, &tracseq_core::pagination::PageRequest::first(50))
        .await
        .expect("events");
    let event = events
        .items
        .into_iter()
        .find(|i| {
            i.get("type")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|t| t == "tracseq.auth.password_reset_requested")
        })
        .expect("reset event");
    let data: Value = serde_dynamo::from_attribute_value(event["data"].clone()).expect("data");
    assert!(data.get("token").is_none(), "the token is not in the event history");
    assert!(data.get("delivery_id").is_none(), "the event names no secret");
    let mut mail = tracseq_tests::account_mail(user).await;
    mail.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    let newest = mail.pop().expect("an account-mail item");
    assert_eq!(newest.to, email);
    newest.token
}

#[tokio::test]
async fn forgot_and_reset_password_with_a_single_use_token() {
    let api = api();
    let admin = new_lab(&api).await;
    let email = admin.user["email"].as_str().unwrap_or_default().to_owned();
    let (s1, a1) = api
        .post("/api/auth/password/forgot", None, json!({ "email": email }))
        .await;
    let (s2, a2) = api
        .post(
            "/api/auth/password/forgot",
            None,
            json!({ "email": "nobody@example.org" }),
        )
        .await;
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(a1, a2, "the same answer whether the email exists or not");
    let token = reset_token(&admin.lab_id(), &admin.user_id(), &email).await;
    let (status, _) = api
        .post(
            "/api/auth/password/reset",
            None,
            json!({ "token": token, "new_password": "weak" }),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = api
        .post(
            "/api/auth/password/reset",
            None,
            json!({ "token": token, "new_password": "Reset-Passw0rd" }),
        )
        .await;
    assert_eq!(status, 204);
    let (status, v) = api
        .post(
            "/api/auth/password/reset",
            None,
            json!({ "token": token, "new_password": "Again-Passw0rd" }),
        )
        .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("invalid_reset_token")),
        "single use"
    );
    assert_eq!(
        api.get("/api/users/me", &admin.access).await.0,
        401,
        "sessions revoked by the reset"
    );
    assert_eq!(api.try_login(&email, "Reset-Passw0rd").await.0, 200);
}

#[tokio::test]
async fn invited_users_start_pending_and_audit_pages_newest_first() {
    let api = api();
    let admin = new_lab(&api).await;
    let (status, u) = api.post("/api/users", Some(&admin.access), json!({ "email": format!("inv-{}@example.org", ulid::Ulid::new().to_string().to_lowercase()), "name": "Invited", "role": "guest" })).await;
    assert_eq!((status, u["status"].as_str()), (201, Some("pending_verification")));
    let (status, v) = api
        .post(
            "/api/users",
            Some(&admin.access),
            json!({ "email": "not-an-email", "name": "", "role": "boss" }),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    let (status, list) = api.get("/api/users?status=pending_verification", &admin.access).await;
    assert_eq!(status, 200);
    assert!(
        list["items"]
            .as_array()
            .is_some_and(|i| i.iter().all(|u| u["status"] == "pending_verification") && !i.is_empty())
    );
    assert_eq!(api.get("/api/users?role=wizard", &admin.access).await.0, 422);
    let (_, page1) = api.get("/api/audit?limit=1", &admin.access).await;
    let cursor = page1["next_cursor"].as_str().unwrap_or_default().to_owned();
    assert!(!cursor.is_empty());
    let (_, page2) = api
        .get(&format!("/api/audit?limit=1&cursor={cursor}"), &admin.access)
        .await;
    let (t1, t2) = (
        page1["items"][0]["at"].as_str().unwrap_or(""),
        page2["items"][0]["at"].as_str().unwrap_or(""),
    );
    assert!(t1 >= t2, "newest first: {t1} then {t2}");
    assert_eq!(api.get("/api/audit?from=yesterday", &admin.access).await.0, 422);
    let future = api.get("/api/audit?from=2999-01-01T00:00:00Z", &admin.access).await.1;
    assert_eq!(future["items"].as_array().map(Vec::len), Some(0));
}

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let head = token.split('.').next().unwrap_or_default();
    let v: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(head)
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    v["kid"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn key_rotation_keeps_the_previous_key_valid_and_drops_older_ones() {
    let mut config = tracseq_tests::config("rotation");
    for (k, v) in [
        ("JWT_KEYS_MAX_AGE_SECS", "0"),
        ("SIGNING_KEYS_MAX_AGE_SECS", "0"),
        ("KEY_ACTIVATION_DELAY_SECS", "0"),
    ] {
        config.env_overrides.insert(k.into(), v.into());
    }
    let (stack, e) = tracseq_tests::isolated(config).await;
    let api = Api::new(&e.api);
    let rotate = || async {
        let resp = e
            .http()
            .post(format!(
                "{}/_runner/schedules/{}",
                e.edge,
                e.function("RotateKeysFunction")
            ))
            .send()
            .await
            .expect("fire");
        assert_eq!(resp.status(), 200);
        resp.json::<Value>().await.expect("json")["kid"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let first = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    let k1 = kid_of(&first.access);
    let k2 = rotate().await;
    assert_ne!(k1, k2);
    assert_eq!(
        api.get("/api/users/me", &first.access).await.0,
        200,
        "the previous key still verifies"
    );
    let second = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    assert_eq!(kid_of(&second.access), k2, "new tokens use the new key");
    assert_eq!(api.get("/api/users/me", &second.access).await.0, 200);
    let (_, jwks, _) = api.send(Method::GET, "/.well-known/jwks.json", None, None, &[]).await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(kids, [k2.as_str(), k1.as_str()]);
    // One more rotation: the first key is gone, and so is trust in its tokens.
    let k3 = rotate().await;
    assert_eq!(api.get("/api/users/me", &first.access).await.0, 401);
    assert_eq!(api.get("/api/users/me", &second.access).await.0, 200);
    let (_, jwks, _) = api.send(Method::GET, "/.well-known/jwks.json", None, None, &[]).await;
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(2));
    assert_eq!(jwks["keys"][0]["kid"], k3);
    // After a deploy: `if_missing` makes no key when one exists; anything but a boolean
    // there is refused, not taken for a rotation.
    let invoke = |event: Value| {
        let e = &e;
        async move {
            let resp = e
                .http()
                .post(format!(
                    "{}/2015-03-31/functions/{}/invocations",
                    e.edge,
                    e.function("RotateKeysFunction")
                ))
                .body(event.to_string())
                .send()
                .await
                .expect("invoke");
            let failed = resp.headers().contains_key("x-amz-function-error");
            (failed, resp.json::<Value>().await.expect("json"))
        }
    };
    let (failed, v) = invoke(json!({"if_missing": true})).await;
    assert!(!failed, "{v}");
    assert_eq!((&v["kid"], &v["keys"]), (&json!(k3), &json!(2)), "{v}");
    let (failed, v) = invoke(json!({"if_missing": "yes"})).await;
    assert!(failed, "{v}");
    assert_eq!(v["errorType"], "InvalidEvent", "{v}");
    let (_, jwks, _) = api.send(Method::GET, "/.well-known/jwks.json", None, None, &[]).await;
    assert_eq!(jwks["keys"][0]["kid"], k3, "nothing rotated");
    stack.shutdown().await;
}

#[tokio::test]
async fn no_password_token_hash_or_reset_token_reaches_a_log_line() {
    let s = shared();
    let api = api();
    let admin = new_lab(&api).await;
    let secret = format!("Log-Secret-{}9", ulid::Ulid::new());
    let email = format!("logs-{}@example.org", ulid::Ulid::new().to_string().to_lowercase());
    let (status, user) = api
        .post(
            "/api/users",
            Some(&admin.access),
            json!({ "email": email, "name": "L", "role": "guest", "password": secret }),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let tokens = api.login(&email, &secret).await;
    assert_eq!(api.try_login(&email, &format!("{secret}-wrong")).await.0, 401);
    let (_, refreshed) = api
        .post("/api/auth/refresh", None, json!({ "refresh_token": tokens.refresh }))
        .await;
    let new_secret = format!("{secret}-New1");
    assert_eq!(
        api.post(
            "/api/users/me/password",
            Some(&tokens.access),
            json!({ "current_password": secret, "new_password": new_secret })
        )
        .await
        .0,
        204
    );
    assert_eq!(
        api.post("/api/auth/password/forgot", None, json!({ "email": email }))
            .await
            .0,
        202
    );
    let uid = user["id"].as_str().unwrap_or_default().to_owned();
    let reset = reset_token(&admin.lab_id(), &uid, &email).await;
    let reset_body = json!({ "token": reset, "new_password": format!("{secret}-Reset2") });
    assert_eq!(api.post("/api/auth/password/reset", None, reset_body).await.0, 204);
    let t = tracseq_aws::Table::new(aws_sdk_dynamodb::Client::new(&s.sdk().await), s.table.clone());
    let stored = t
        .get(
            &format!("LAB#{}", admin.lab_id()),
            &format!("USER#{}", user["id"].as_str().unwrap_or_default()),
        )
        .await
        .expect("get")
        .expect("user");
    let hash = stored["password_hash"].as_s().expect("hash").clone();
    let logs = tracseq_tests::logs();
    assert!(logs.contains("request done"), "the capture works (debug lines present)");
    for (what, value) in [
        ("password", secret.as_str()),
        ("new password", new_secret.as_str()),
        ("password hash", hash.as_str()),
        ("access token", tokens.access.as_str()),
        ("refresh token", tokens.refresh.as_str()),
        (
            "rotated refresh token",
            refreshed["refresh_token"].as_str().unwrap_or("unset-refresh"),
        ),
        ("reset token", reset.as_str()),
        ("email", email.as_str()),
    ] {
        assert!(!logs.contains(value), "the {what} appears in a log line");
    }
}

#[tokio::test]
async fn an_expired_lockout_allows_five_more_attempts_then_locks_again() {
    let mut config = tracseq_tests::config("relock");
    // Whole seconds: a 2 s lock lasts at least 1 s, plenty for the next attempt.
    config.env_overrides.insert("LOCKOUT_SECONDS".into(), "2".into());
    config
        .env_overrides
        .insert("LOGIN_LIMIT_PER_EMAIL".into(), "1000".into());
    let (stack, e) = tracseq_tests::isolated(config).await;
    let api = Api::new(&e.api);
    let wrong = || api.try_login(OPERATOR_EMAIL, "Wrong-Passw0rd");
    for _ in 0..5 {
        assert_eq!(wrong().await.0, 401);
    }
    assert_eq!(api.try_login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await.0, 401, "locked");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    // The lock has expired but nobody logged in: five more failures lock it again.
    for _ in 0..5 {
        assert_eq!(wrong().await.0, 401);
    }
    assert_eq!(
        api.try_login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await.0,
        401,
        "locked again"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        api.try_login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await.0,
        200,
        "the lock lifts by itself"
    );
    stack.shutdown().await;
}

/// Every route that takes a body, from the code's own route declarations: malformed JSON,
/// wrong types, unknown fields, oversized and non-JSON bodies, and no token all get a
/// problem+json 4xx, never a 5xx.
#[tokio::test]
async fn every_body_route_refuses_bad_input_with_a_problem() {
    let api = api();
    let op = operator(&api).await;
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(5 * 1024 * 1024));
    let cases: [(&str, &str, &str, u16, &str); 5] = [
        ("malformed", "application/json", "{\"name\": ", 400, "malformed_json"),
        ("wrong type", "application/json", "[1, 2, 3]", 422, "validation_failed"),
        (
            "unknown field",
            "application/json",
            "{\"zz_not_a_field\": true}",
            422,
            "validation_failed",
        ),
        ("not json", "text/plain", "name=x", 415, "unsupported_media_type"),
        ("oversized", "application/json", big.as_str(), 413, "payload_too_large"),
    ];
    // A sensor's route answers 401 before it reads a body without its device token;
    // monitoring.rs sends it the same bad bodies with one.
    let routes: Vec<_> = tracseq_runner::catalog::routes()
        .into_iter()
        .filter(|r| r.request.is_some() && !r.path.contains("_test"))
        .filter(|r| r.access != tracseq_core::route::Access::Device)
        .collect();
    assert!(routes.len() >= 10, "the auth service's body routes are all here");
    for r in routes {
        let path = r.path.replace("{id}", &op.user_id());
        let method = Method::from_bytes(r.method.as_str().as_bytes()).expect("method");
        for (what, ct, body, status, code) in &cases {
            let mut req = api
                .http
                .request(method.clone(), format!("{}{path}", api.base))
                .header("content-type", *ct)
                .body(body.to_string());
            if r.access != tracseq_core::route::Access::Public {
                req = req.bearer_auth(&op.access);
            }
            let resp = req.send().await.expect("request");
            let got = resp.status().as_u16();
            let ct_back = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let v: Value = resp.json().await.unwrap_or_default();
            assert_eq!(
                (got, v["code"].as_str()),
                (*status, Some(*code)),
                "{} {path}: {what}: {v}",
                r.method.as_str()
            );
            assert_eq!(
                ct_back,
                "application/problem+json",
                "{} {path}: {what}",
                r.method.as_str()
            );
        }
        if r.access != tracseq_core::route::Access::Public {
            let (got, v, _) = api.send(method.clone(), &path, None, Some(json!({})), &[]).await;
            assert_eq!(
                (got, v["code"].as_str()),
                (401, Some("unauthorized")),
                "{} {path}: no token",
                r.method.as_str()
            );
        }
    }
}

/// A stolen access token buys no more guesses than the login form: a wrong current password
/// counts as a failed login, the fifth locks the account (even against the right password
/// afterwards), and the per-account throttle covers both routes together.
#[tokio::test]
async fn wrong_current_passwords_lock_the_account_like_failed_logins() {
    tracseq_tests::fresh_minute(45).await;
    let api = api();
    let admin = new_lab(&api).await;
    let tech = new_user(&api, &admin, "lab_technician").await;
    let email = tech.user["email"].as_str().unwrap_or_default().to_owned();
    let change = |current: &'static str| {
        let api = &api;
        let access = tech.access.clone();
        async move {
            api.post(
                "/api/users/me/password",
                Some(&access),
                json!({ "current_password": current, "new_password": "Stolen-S3ssion-Pw" }),
            )
            .await
        }
    };
    for i in 0..5 {
        let (status, v) = change("Guess-Passw0rd").await;
        assert_eq!(
            (status, v["errors"][0]["field"].as_str()),
            (422, Some("current_password")),
            "attempt {i}: {v}"
        );
    }
    let (_, u) = api.get(&format!("/api/users/{}", tech.user_id()), &admin.access).await;
    assert_eq!(u["status"], "locked", "{u}");
    let (status, v) = change(PASSWORD).await;
    assert_eq!((status, v["code"].as_str()), (403, Some("account_locked")), "{v}");
    assert_eq!(api.try_login(&email, PASSWORD).await.0, 401, "locked for login too");
    let (_, audit) = api
        .get(
            &format!("/api/audit?actor={}&action=lockout", tech.user_id()),
            &admin.access,
        )
        .await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");
    // The per-account budget (10 a minute) is shared with login: the first login, 5 + 1
    // changes and 1 login so far; two more failures, then 429 with Retry-After on either route.
    for _ in 0..2 {
        assert_ne!(api.try_login(&email, "Wrong-Passw0rd").await.0, 429);
    }
    let (status, _, headers) = api
        .send(
            Method::POST,
            "/api/users/me/password",
            Some(&tech.access),
            Some(json!({ "current_password": "Guess-Passw0rd", "new_password": "Stolen-S3ssion-Pw" })),
            &[],
        )
        .await;
    assert_eq!(status, 429);
    assert!(headers.get("retry-after").is_some());
    assert_eq!(api.try_login(&email, PASSWORD).await.0, 429);
}

/// The `Set-Cookie` headers of a response, by cookie name.
fn set_cookies(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split_once('=').map(|(k, rest)| (k.to_owned(), rest.to_owned())))
        .collect()
}

fn cookie<'a>(cookies: &'a [(String, String)], name: &str) -> &'a str {
    cookies
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

#[tokio::test]
async fn browser_mode_keeps_the_refresh_token_in_an_http_only_cookie_with_csrf() {
    let api = api();
    let admin = new_lab(&api).await;
    let email = admin.user["email"].as_str().unwrap_or_default().to_owned();
    let (status, v, headers) = api
        .send(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({ "email": email, "password": PASSWORD, "refresh_cookie": true })),
            &[],
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(v.get("refresh_token").is_none(), "the body must not carry it: {v}");
    let cookies = set_cookies(&headers);
    let refresh = cookie(&cookies, "tracseq_refresh");
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/auth/refresh"] {
        assert!(refresh.contains(attr), "{refresh} lacks {attr}");
    }
    let token = refresh.split(';').next().unwrap_or_default().to_owned();
    let csrf = cookie(&cookies, "tracseq_csrf")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(token.len() >= 43 && csrf.len() == 64, "{token} {csrf}");
    let jar = format!("tracseq_refresh={token}; tracseq_csrf={csrf}");

    // Without the header, or with another value: a forged cross-site request.
    for hdrs in [
        vec![("cookie", jar.as_str())],
        vec![("cookie", jar.as_str()), ("x-csrf-token", "0".repeat(64).as_str())],
    ] {
        let (status, v, _) = api
            .send(Method::POST, "/api/auth/refresh", None, Some(json!({})), &hdrs)
            .await;
        assert_eq!((status, v["code"].as_str()), (403, Some("csrf_token_mismatch")), "{v}");
    }
    // No cookie at all.
    let (status, v, _) = api
        .send(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({})),
            &[("x-csrf-token", csrf.as_str())],
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (401, Some("invalid_refresh_token")));

    // The page's refresh (as after a reload): new access token, rotated cookies.
    let (status, v, headers) = api
        .send(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({})),
            &[("cookie", jar.as_str()), ("x-csrf-token", csrf.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(v.get("refresh_token").is_none());
    let access = v["access_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(api.get("/api/users/me", &access).await.0, 200);
    let rotated = set_cookies(&headers);
    let token2 = cookie(&rotated, "tracseq_refresh")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let csrf2 = cookie(&rotated, "tracseq_csrf")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(token2 != token && csrf2 != csrf);

    // The old cookie again is reuse: the session family ends.
    let (status, v, _) = api
        .send(
            Method::POST,
            "/api/auth/refresh",
            None,
            Some(json!({})),
            &[("cookie", jar.as_str()), ("x-csrf-token", csrf.as_str())],
        )
        .await;
    assert_eq!((status, v["code"].as_str()), (401, Some("refresh_token_reused")));
    assert_eq!(api.get("/api/users/me", &access).await.0, 401);

    // Logout clears both cookies.
    let fresh = api.login(&email, PASSWORD).await;
    let (status, _, headers) = api
        .send(
            Method::POST,
            "/api/auth/logout",
            Some(&fresh.access),
            Some(json!({})),
            &[],
        )
        .await;
    assert_eq!(status, 204);
    let cleared = set_cookies(&headers);
    assert!(cookie(&cleared, "tracseq_refresh").contains("Max-Age=0"), "{cleared:?}");
    assert!(cookie(&cleared, "tracseq_csrf").contains("Max-Age=0"));
}
