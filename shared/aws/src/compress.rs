//! Deflate for stored payloads that could outgrow DynamoDB's 400 KB item limit (JSON
//! shrinks about tenfold): large idempotent answers, storage undo plans.

use crate::store::StoreError;
use std::io::{Read, Write};

pub fn deflate(bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).map_err(|e| StoreError::Serde(e.to_string()))?;
    enc.finish().map_err(|e| StoreError::Serde(e.to_string()))
}

/// Inflate deflated UTF-8 text.
pub fn inflate(bytes: &[u8]) -> Result<String, std::io::Error> {
    let mut out = String::new();
    flate2::read::DeflateDecoder::new(bytes).read_to_string(&mut out)?;
    Ok(out)
}
