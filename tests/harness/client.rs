//! A small API client for tests: JSON in, status and JSON out, with an optional token.

use reqwest::Method;
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub user: Value,
}

impl Tokens {
    pub fn user_id(&self) -> String {
        self.user["id"].as_str().unwrap_or_default().to_owned()
    }
    pub fn lab_id(&self) -> String {
        self.user["lab_id"].as_str().unwrap_or_default().to_owned()
    }
}

impl Api {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Any request; returns status, headers and the body as JSON (`null` when empty).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null), headers)
    }

    /// A request answered as a file: status, content type and bytes (`accept` picks the
    /// format; `body`, when given, goes as JSON).
    pub async fn file(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        accept: &str,
    ) -> (u16, String, Vec<u8>) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("accept", accept);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, ct, resp.bytes().await.expect("body").to_vec())
    }

    /// A GET answered as a file (see [`Api::file`]).
    pub async fn get_file(&self, path: &str, token: &str, accept: &str) -> (u16, String, Vec<u8>) {
        self.file(Method::GET, path, token, None, accept).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let (s, v, _) = self.send(Method::GET, path, Some(token), None, &[]).await;
        (s, v)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let (s, v, _) = self.send(Method::POST, path, token, Some(body), &[]).await;
        (s, v)
    }

    /// A POST with an `Idempotency-Key`; the headers say whether it was a replay.
    pub async fn post_keyed(
        &self,
        path: &str,
        token: &str,
        body: Value,
        key: &str,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        self.send(Method::POST, path, Some(token), Some(body), &[("idempotency-key", key)])
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let (s, v, _) = self.send(Method::PATCH, path, Some(token), Some(body), &[]).await;
        (s, v)
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let (s, v, _) = self.send(Method::PUT, path, Some(token), Some(body), &[]).await;
        (s, v)
    }

    pub async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        let (s, v, _) = self.send(Method::DELETE, path, Some(token), None, &[]).await;
        (s, v)
    }

    pub async fn try_login(&self, email: &str, password: &str) -> (u16, Value) {
        self.post("/api/auth/login", None, json!({ "email": email, "password": password }))
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Tokens {
        let (status, v) = self.try_login(email, password).await;
        assert_eq!(status, 200, "login {email}: {v}");
        Tokens {
            access: v["access_token"].as_str().unwrap_or_default().to_owned(),
            refresh: v["refresh_token"].as_str().unwrap_or_default().to_owned(),
            user: v["user"].clone(),
        }
    }
}

/// The local operator (seeded admin).
pub const OPERATOR_EMAIL: &str = "admin@lab.local";
pub const OPERATOR_PASSWORD: &str = "admin123";
/// Every role, lowest first.
pub const ROLES: [&str; 6] = [
    "guest",
    "data_analyst",
    "research_scientist",
    "lab_technician",
    "principal_investigator",
    "lab_administrator",
];
/// A password that passes the policy.
pub const PASSWORD: &str = "Sequenc3-Runs";

/// How long a cached operator login is used: well inside the access token's 15 minutes,
/// however long the suite runs (a cold run takes longer than one token lives).
const OPERATOR_LOGIN_REUSE: std::time::Duration = std::time::Duration::from_secs(300);

/// The operator's token, logged in once per stack and five minutes: logins are throttled
/// per email (10 a minute), and many tests create labs. Keyed by the stack's address: a
/// token from one stack is signed with a key no other stack knows.
pub async fn operator(api: &Api) -> Tokens {
    type Cache = std::collections::HashMap<String, (Tokens, std::time::Instant)>;
    static OPERATORS: std::sync::OnceLock<tokio::sync::Mutex<Cache>> = std::sync::OnceLock::new();
    let mut cache = OPERATORS.get_or_init(Default::default).lock().await;
    if let Some((t, at)) = cache.get(&api.base)
        && at.elapsed() < OPERATOR_LOGIN_REUSE
    {
        return t.clone();
    }
    let t = api.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    cache.insert(api.base.clone(), (t.clone(), std::time::Instant::now()));
    t
}

/// A fresh lab with its administrator logged in.
pub async fn new_lab(api: &Api) -> Tokens {
    new_lab_by(api, &operator(api).await).await
}

/// A fresh lab created by the operator `op`.
pub async fn new_lab_by(api: &Api, op: &Tokens) -> Tokens {
    let email = format!("admin-{}@example.org", ulid::Ulid::new().to_string().to_lowercase());
    let (status, v) = api
        .post(
            "/api/labs",
            Some(&op.access),
            json!({ "name": "Test Lab", "admin": { "email": email, "name": "Ada Admin", "password": PASSWORD } }),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    api.login(&email, PASSWORD).await
}

/// Wait until a new lab has its default subscriptions: the notification service writes
/// them when it hears the lab's `lab.created` event, moments after the lab is made.
pub async fn defaults_ready(api: &Api, admin: &Tokens) {
    crate::eventually(60, || async {
        let (_, v) = api.get("/api/notifications/subscriptions", &admin.access).await;
        v["items"].as_array().filter(|i| !i.is_empty()).map(|_| ())
    })
    .await
    .expect("the lab's default subscriptions");
}

/// A user with `role` in the admin's lab, logged in.
pub async fn new_user(api: &Api, admin: &Tokens, role: &str) -> Tokens {
    let email = format!("{role}-{}@example.org", ulid::Ulid::new().to_string().to_lowercase());
    let (status, v) = api
        .post(
            "/api/users",
            Some(&admin.access),
            json!({ "email": email, "name": "Test User", "role": role, "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    api.login(&email, PASSWORD).await
}

/// Call every route in `routes` as a user of each role of `admin`'s lab (ids and barcodes
/// in the path name nothing; a body is `{}`): below the route's least role the answer is
/// 403 `forbidden`, at or above it anything but 403 and never a 5xx.
pub async fn check_role_matrix(api: &Api, admin: &Tokens, routes: &[&tracseq_core::route::RouteSpec]) {
    let mut users = Vec::new();
    for r in ROLES {
        users.push(new_user(api, admin, r).await);
    }
    for r in routes {
        let tracseq_core::route::Access::Role(declared) = r.access else {
            panic!("{} is not role-protected", r.handler)
        };
        // The roles to expect come from the test's own table, not from the declaration.
        let least = crate::roles::expected_role(r.method.as_str(), r.path).unwrap_or_else(|| {
            panic!(
                "{} {} is missing from tests/harness/roles.rs",
                r.method.as_str(),
                r.path
            )
        });
        assert_eq!(
            declared,
            least,
            "{} {}: declared and expected roles differ",
            r.method.as_str(),
            r.path
        );
        // Every path parameter names nothing (a valid id shape, or a barcode).
        let path = r
            .path
            .replace("{barcode}", "NOSUCH")
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "01JNOSUCHTHING0000000000"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(r.method.as_str().as_bytes()).expect("method");
        for (u, name) in users.iter().zip(ROLES) {
            let body = r.request.map(|_| json!({}));
            let (status, v, _) = api.send(method.clone(), &path, Some(&u.access), body, &[]).await;
            let role: tracseq_core::auth::Role = serde_json::from_value(json!(name)).expect("role");
            let what = format!("{} {} as {name}: {status} {v}", r.method.as_str(), r.path);
            if role < least {
                assert_eq!((status, v["code"].as_str()), (403, Some("forbidden")), "{what}");
            } else {
                assert!(status != 403 && status < 500, "{what}");
            }
        }
    }
}
