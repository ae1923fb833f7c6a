//! The web app's static files on the API's origin, as CloudFront serves them from S3 in AWS:
//! `/api/*` goes to the functions, everything else to `web/dist` with the single-page
//! fallback (an unknown path without a file extension is the app's `index.html`), hashed
//! assets cached for a year, and the same security headers as the distribution's policy.

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::Full;
use std::path::{Component, Path, PathBuf};

/// Where the browser uploads documents in AWS: presigned PUTs to the region's S3.
/// template.yaml's response headers policy holds `csp(AWS_UPLOAD_ORIGIN)` (a test
/// compares them); locally the upload origin is moto's address.
pub const AWS_UPLOAD_ORIGIN: &str = "https://*.s3.${AWS::Region}.amazonaws.com";

/// The app's Content-Security-Policy: no inline script or style element may run, and the
/// page talks to its own origin and to the upload endpoint only.
pub fn csp(upload_origin: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
connect-src 'self' {upload_origin}; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

const HEADERS: [(&str, &str); 4] = [
    ("strict-transport-security", "max-age=63072000; includeSubDomains"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
];

#[derive(Debug, Clone)]
pub struct Site {
    root: PathBuf,
    csp: HeaderValue,
}

impl Site {
    /// The built app, if `index.html` is there (`make dev` builds it first), allowed to
    /// upload to `upload_origin`.
    pub fn open(root: &Path, upload_origin: &str) -> Option<Self> {
        let csp = HeaderValue::from_str(&csp(upload_origin)).ok()?;
        root.join("index.html").is_file().then(|| Self {
            root: root.to_owned(),
            csp,
        })
    }

    /// Whether a request is the site's rather than the API's.
    pub fn claims(method: &Method, path: &str) -> bool {
        (method == Method::GET || method == Method::HEAD) && !path.starts_with("/api/") && path != "/api"
    }

    pub async fn serve(&self, method: &Method, path: &str) -> hyper::Response<Full<Bytes>> {
        let Some(relative) = safe_relative(path) else {
            return plain(StatusCode::NOT_FOUND, "not found");
        };
        let file = self.root.join(&relative);
        let (file, fallback) = if tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_file()) {
            (file, false)
        } else if relative.extension().is_none() {
            (self.root.join("index.html"), true)
        } else {
            return plain(StatusCode::NOT_FOUND, "not found");
        };
        let Ok(bytes) = tokio::fs::read(&file).await else {
            return plain(StatusCode::NOT_FOUND, "not found");
        };
        let immutable = !fallback && relative.starts_with("assets");
        let mut resp = hyper::Response::new(Full::new(if method == Method::HEAD {
            Bytes::new()
        } else {
            Bytes::from(bytes)
        }));
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&file)));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            }),
        );
        h.insert("content-security-policy", self.csp.clone());
        for (name, value) in HEADERS {
            h.insert(name, HeaderValue::from_static(value));
        }
        resp
    }
}

/// The path under the site's root, or None for anything that could leave it.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let decoded = form_urlencoded::parse(format!("p={}", path.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    let trimmed = decoded.trim_start_matches('/');
    let relative = PathBuf::from(if trimmed.is_empty() { "index.html" } else { trimmed });
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then_some(relative)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn plain(status: StatusCode, text: &'static str) -> hyper::Response<Full<Bytes>> {
    let mut resp = hyper::Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_root_are_refused() {
        assert_eq!(safe_relative("/"), Some(PathBuf::from("index.html")));
        assert_eq!(
            safe_relative("/assets/app-1a2b.js"),
            Some(PathBuf::from("assets/app-1a2b.js"))
        );
        assert_eq!(safe_relative("/samples/01ABC"), Some(PathBuf::from("samples/01ABC")));
        for hostile in [
            "/../Cargo.toml",
            "/assets/%2e%2e/%2e%2e/etc/passwd",
            "/a/../../b",
            "//etc/passwd/..",
        ] {
            assert_eq!(safe_relative(hostile), None, "{hostile}");
        }
    }

    #[test]
    fn api_paths_are_never_the_sites() {
        assert!(Site::claims(&Method::GET, "/samples"));
        assert!(Site::claims(&Method::GET, "/"));
        assert!(!Site::claims(&Method::GET, "/api/samples"));
        assert!(!Site::claims(&Method::POST, "/samples"));
    }

    #[test]
    fn the_template_carries_the_same_content_security_policy() {
        let template =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap_or_default();
        let policy = csp(AWS_UPLOAD_ORIGIN);
        assert!(
            template.contains(&policy),
            "template.yaml's ContentSecurityPolicy must be web::csp(AWS_UPLOAD_ORIGIN):\n{policy}"
        );
        assert!(!policy.contains("unsafe-inline"));
    }
}
