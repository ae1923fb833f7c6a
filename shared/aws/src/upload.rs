//! Uploads straight to S3: a presigned `PUT` signed for one object key, media type and
//! exact length (S3 refuses any other), and object key names made safe from what users
//! call their files.

use aws_sdk_s3::presigning::PresigningConfig;
use std::collections::BTreeMap;
use std::time::Duration;
use tracseq_core::Problem;

/// A file name safe for an object key: letters, digits, `.`, `-`, `_`, at most 100, the
/// path before it dropped; `fallback` when nothing is left.
pub fn safe_name(name: &str, fallback: &str) -> String {
    let cleaned: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if cleaned.trim_matches(['.', '_']).is_empty() {
        fallback.into()
    } else {
        cleaned
    }
}

/// Where and how to `PUT` the file.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PresignedPut {
    /// A presigned `PUT` URL.
    pub url: String,
    pub method: &'static str,
    /// Headers the PUT must carry (they are part of the signature).
    pub headers: BTreeMap<String, String>,
    pub expires_in: u64,
}

/// A `PUT` of exactly `size` bytes of `content_type` to `key`, valid `ttl_secs`.
pub async fn presign_put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    content_type: &str,
    size: u64,
    ttl_secs: u64,
) -> Result<PresignedPut, Problem> {
    let config = PresigningConfig::expires_in(Duration::from_secs(ttl_secs)).map_err(|_| Problem::internal())?;
    let presigned = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .content_length(size as i64)
        .presigned(config)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "presigning failed");
            Problem::unavailable("uploads are unavailable; retry shortly")
        })?;
    Ok(PresignedPut {
        url: presigned.uri().to_owned(),
        method: "PUT",
        headers: [
            ("content-type".to_owned(), content_type.to_owned()),
            ("content-length".to_owned(), size.to_string()),
        ]
        .into_iter()
        .collect(),
        expires_in: ttl_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_paths_and_odd_characters() {
        assert_eq!(safe_name("../../etc/passwd", "f"), "passwd");
        assert_eq!(safe_name("C:\\Users\\x\\Samples 2024.xlsx", "f"), "Samples_2024.xlsx");
        assert_eq!(safe_name("..", "manifest"), "manifest");
        assert_eq!(safe_name("a".repeat(300).as_str(), "f").len(), 100);
    }
}
