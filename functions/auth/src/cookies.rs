//! The browser's session mode: the refresh token in an `HttpOnly` cookie only the refresh
//! route receives, so page scripts never hold it, and a CSRF token derived from it.
//!
//! The CSRF token travels in a second cookie the page can read and must come back in the
//! `X-CSRF-Token` header of a cookie refresh. Another site can make the browser send the
//! refresh cookie (SameSite=Strict already stops that in current browsers) but can neither
//! read the CSRF cookie nor set the header, and the token changes with every rotation.

use crate::tokens::token_hash;

pub const REFRESH_COOKIE: &str = "tracseq_refresh";
pub const CSRF_COOKIE: &str = "tracseq_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The refresh cookie goes to this path only: no other route ever sees the token.
pub const REFRESH_PATH: &str = "/api/auth/refresh";

/// The CSRF token that belongs to a refresh token.
pub fn csrf_for(refresh_token: &str) -> String {
    token_hash(&format!("csrf:{refresh_token}"))
}

/// `Set-Cookie` values that start (or rotate) a browser session.
pub fn session_cookies(refresh_token: &str, max_age: i64) -> [String; 2] {
    [
        format!(
            "{REFRESH_COOKIE}={refresh_token}; Path={REFRESH_PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"
        ),
        format!(
            "{CSRF_COOKIE}={}; Path=/; Max-Age={max_age}; Secure; SameSite=Strict",
            csrf_for(refresh_token)
        ),
    ]
}

/// `Set-Cookie` values that end a browser session.
pub fn cleared() -> [String; 2] {
    [
        format!("{REFRESH_COOKIE}=; Path={REFRESH_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict"),
        format!("{CSRF_COOKIE}=; Path=/; Max-Age=0; Secure; SameSite=Strict"),
    ]
}

/// A cookie's value from a `Cookie` header (`a=1; b=2`).
pub fn read<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Whether the header carries the CSRF token of this refresh token (constant time).
pub fn csrf_matches(refresh_token: &str, header: Option<&str>) -> bool {
    let expected = csrf_for(refresh_token);
    header.is_some_and(|h| aws_lc_rs::constant_time::verify_slices_are_equal(h.as_bytes(), expected.as_bytes()).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_cookie_is_http_only_and_scoped_to_the_refresh_route() {
        let [refresh, csrf] = session_cookies("tok", 60);
        assert!(refresh.starts_with("tracseq_refresh=tok;"));
        for attr in [
            "Path=/api/auth/refresh",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Max-Age=60",
        ] {
            assert!(refresh.contains(attr), "{refresh} lacks {attr}");
        }
        assert!(!csrf.contains("HttpOnly"), "the page must read the CSRF cookie");
        assert!(csrf.contains(&csrf_for("tok")));
        assert!(
            !csrf.contains("tok;"),
            "the CSRF cookie must not reveal the refresh token"
        );
    }

    #[test]
    fn cookies_are_read_by_name() {
        let h = "a=1; tracseq_refresh=xyz;tracseq_csrf=c";
        assert_eq!(read(h, REFRESH_COOKIE), Some("xyz"));
        assert_eq!(read(h, CSRF_COOKIE), Some("c"));
        assert_eq!(read(h, "b"), None);
        assert_eq!(read("tracseq_refresh=", REFRESH_COOKIE), None);
    }

    #[test]
    fn csrf_must_match_this_refresh_token() {
        assert!(csrf_matches("one", Some(&csrf_for("one"))));
        assert!(!csrf_matches("one", Some(&csrf_for("two"))));
        assert!(!csrf_matches("one", None));
        assert!(!csrf_matches("one", Some("")));
        assert!(cleared().iter().all(|c| c.contains("Max-Age=0")));
    }
}
