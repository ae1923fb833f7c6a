//! The backup manifest: what a backup holds and how to prove a restore got all of it.
//!
//! A backup lives under `backups/{id}/` in the backup bucket: one gzip JSON-lines part per
//! scan segment and size step, and `manifest.json`, written last, so a backup without a
//! manifest is one that did not finish and is never listed or restored.

use serde::{Deserialize, Serialize};

/// Version of the layout below; a restore refuses a manifest it does not know.
pub const FORMAT: u32 = 1;

pub const ROOT: &str = "backups/";

/// `2026-11-27T020000Z`: sorts by time, and its first ten characters are the date a
/// restore is asked for.
pub fn backup_id(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Whether `s` is a backup id (as made by [`backup_id`]).
pub fn is_backup_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 18
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            17 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Whether `s` is a date (`YYYY-MM-DD`), the way an operator names a backup.
pub fn is_date(s: &str) -> bool {
    s.len() == 10 && is_backup_id(&format!("{s}T000000Z"))
}

pub fn manifest_key(id: &str) -> String {
    format!("{ROOT}{id}/manifest.json")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    pub format: u32,
    pub id: String,
    pub started_at: String,
    pub finished_at: String,
    /// The code that took the backup (crate version and commit).
    pub source_version: String,
    pub stage: String,
    pub tables: Vec<TableBackup>,
}

impl Manifest {
    pub fn items(&self) -> u64 {
        self.tables.iter().map(|t| t.items).sum()
    }
    pub fn bytes(&self) -> u64 {
        self.tables.iter().flat_map(|t| &t.files).map(|f| f.bytes).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TableBackup {
    pub name: String,
    pub items: u64,
    /// SHA-256 over the sorted SHA-256s of every item's canonical line.
    pub digest: String,
    pub schema: TableSchema,
    pub files: Vec<BackupFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BackupFile {
    pub key: String,
    pub items: u64,
    /// Compressed size.
    pub bytes: u64,
    /// SHA-256 of the object as stored (compressed).
    pub sha256: String,
}

/// Enough of the table's definition to recreate it for a restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TableSchema {
    /// Key attributes; `kind` is `S`, `N` or `B`.
    pub attributes: Vec<Attr>,
    /// `kind` is `HASH` or `RANGE`.
    pub keys: Vec<Attr>,
    pub indexes: Vec<IndexSchema>,
}

/// An attribute name and its type or key role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attr {
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IndexSchema {
    pub name: String,
    pub keys: Vec<Attr>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_key_attributes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_lead_with_the_date() {
        let t = time::macros::datetime!(2026-11-27 02:00:05 UTC);
        assert_eq!(backup_id(t), "2026-11-27T020005Z");
        assert!(is_backup_id("2026-11-27T020005Z"));
        assert!(is_date("2026-11-27"));
        for bad in [
            "2026-11-27",
            "2026-11-27T0200Z",
            "../../etc",
            "2026-11-27T020005",
            "2026/11/27",
        ] {
            assert!(!is_backup_id(bad), "{bad}");
        }
        assert!(!is_date("2026-1-27"));
        assert!(backup_id(t) < backup_id(t + time::Duration::hours(1)));
    }
}
