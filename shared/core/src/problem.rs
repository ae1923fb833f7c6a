//! RFC 9457 `application/problem+json` errors.
//!
//! Every failure a client can see is a [`Problem`] with a stable machine `code`; the
//! human `title` follows from the code, the `detail` says what happened to this request.

use serde::Serialize;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input: a field (JSON path) or a row/column of an uploaded file.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub rule: String,
    pub message: String,
}

impl FieldError {
    pub fn field(field: impl Into<String>, rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            row: None,
            column: None,
            value: None,
            rule: rule.into(),
            message: message.into(),
        }
    }

    /// Attach the offending value, cut to 200 characters so a huge input is not echoed back.
    pub fn with_value(mut self, value: impl AsRef<str>) -> Self {
        self.value = Some(value.as_ref().chars().take(200).collect());
        self
    }
}

/// A client-visible error. The RFC 9457 `type` and `title` follow from `code` and
/// `status`, so they are not stored (keeps `Result<_, Problem>` small).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct Problem {
    pub status: u16,
    pub code: String,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds a client should wait (409 in progress, 429, 503); sent as `Retry-After`.
    pub retry_after: Option<u32>,
    /// `Allow` header for 405.
    pub allow: Option<String>,
}

/// The wire shape of a [`Problem`] (`application/problem+json`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody<'a> {
    /// `urn:tracseq:problem:{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: &'a str,
    /// Stable machine-readable code.
    pub code: &'a str,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    pub errors: &'a [FieldError],
}

impl Problem {
    pub fn new(status: u16, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            allow: None,
        }
    }

    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(400, code, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "forbidden", detail)
    }
    /// Also the answer for another lab's record: a caller cannot tell the two apart.
    pub fn not_found(what: &str) -> Self {
        Self::new(404, "not_found", format!("{what} not found"))
    }
    pub fn conflict(code: &str, detail: impl Into<String>) -> Self {
        Self::new(409, code, detail)
    }
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(413, "payload_too_large", format!("request body exceeds {limit} bytes"))
    }
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(415, "unsupported_media_type", detail)
    }
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => one.message.clone(),
            many => format!("{} fields are invalid", many.len()),
        };
        Self {
            errors,
            ..Self::new(422, "validation_failed", detail)
        }
    }
    pub fn too_many_requests(retry_after: u32) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(429, "too_many_requests", "rate limit exceeded, retry later")
        }
    }
    /// A failure on our side. The detail stays generic: internals go to the log, not the client.
    pub fn internal() -> Self {
        Self::new(
            500,
            "internal_error",
            "an unexpected error occurred; it has been logged",
        )
    }
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(503, "service_unavailable", detail)
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn body(&self) -> ProblemBody<'_> {
        ProblemBody {
            kind: format!("urn:tracseq:problem:{}", self.code),
            title: title_for(self.status),
            status: self.status,
            detail: &self.detail,
            code: &self.code,
            errors: &self.errors,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serializing strings and numbers cannot fail.
        serde_json::to_vec(&self.body()).unwrap_or_else(|_| br#"{"status":500,"code":"internal_error"}"#.to_vec())
    }
}

fn title_for(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_serializes_rfc9457_members_and_code() {
        let p = Problem::validation(vec![FieldError::field("name", "required", "name is required")]);
        let v: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!(v["type"], "urn:tracseq:problem:validation_failed");
        assert_eq!(v["status"], 422);
        assert_eq!(v["title"], "Unprocessable Content");
        assert_eq!(v["detail"], "name is required");
        assert_eq!(v["errors"][0]["field"], "name");
        assert!(v.get("retry_after").is_none());
    }

    #[test]
    fn field_error_value_is_truncated() {
        let e = FieldError::field("x", "max_length", "too long").with_value("a".repeat(10_000));
        assert_eq!(e.value.unwrap().len(), 200);
    }
}
