//! The backup bucket: which backups exist, their manifests, their files.

use crate::error::OpsError;
use crate::manifest::{self, Manifest};

#[derive(Debug, Clone)]
pub struct BackupStore {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
}

impl BackupStore {
    /// Ids of every backup folder, oldest first (finished or not: see [`Self::manifest`]).
    pub async fn ids(&self) -> Result<Vec<String>, OpsError> {
        let mut ids = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(manifest::ROOT)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| OpsError::aws("listing backups", e))?;
            ids.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix()?.strip_prefix(manifest::ROOT)?.strip_suffix('/'))
                    .filter(|id| manifest::is_backup_id(id))
                    .map(str::to_owned),
            );
        }
        ids.sort();
        Ok(ids)
    }

    /// The manifest of a finished backup; `None` while it is running or if it never finished.
    pub async fn manifest(&self, id: &str) -> Result<Option<Manifest>, OpsError> {
        let Some(body) = self.fetch(&manifest::manifest_key(id)).await? else {
            return Ok(None);
        };
        let m: Manifest = serde_json::from_slice(&body).map_err(|e| OpsError::Corrupted {
            file: manifest::manifest_key(id),
            detail: format!("not a manifest: {e}"),
        })?;
        if m.format != manifest::FORMAT || m.id != id {
            return Err(OpsError::Corrupted {
                file: manifest::manifest_key(id),
                detail: format!(
                    "format {} of backup {} is not format {} of {id}",
                    m.format,
                    m.id,
                    manifest::FORMAT
                ),
            });
        }
        Ok(Some(m))
    }

    /// The newest finished backup `wanted` names: a backup id, or a date (that day's last).
    pub async fn find(&self, wanted: &str) -> Result<Manifest, OpsError> {
        if !manifest::is_backup_id(wanted) && !manifest::is_date(wanted) {
            return Err(OpsError::Invalid(format!(
                "name a backup by date (2026-11-27) or id (2026-11-27T020000Z), not {wanted:?}"
            )));
        }
        for id in self.ids().await?.iter().rev().filter(|id| id.starts_with(wanted)) {
            if let Some(m) = self.manifest(id).await? {
                return Ok(m);
            }
        }
        Err(OpsError::BackupNotFound(wanted.to_owned()))
    }

    /// An object's bytes, or `None` if there is no such key.
    pub async fn fetch(&self, key: &str) -> Result<Option<Vec<u8>>, OpsError> {
        match self.s3.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => {
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| OpsError::aws(&format!("reading {key}"), e))?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(OpsError::aws(&format!("reading {key}"), e)),
        }
    }
}
