//! What every storage function is built with, once per container, and the reads the
//! handlers share. Another lab's record, a malformed id and a missing record are all the
//! same 404.

use crate::domain::capacity::Thresholds;
use crate::domain::zone::ZoneRules;
use crate::model::{Location, keys};
use std::collections::HashMap;
use std::sync::Arc;
use tracseq_aws::auth::Auth;
use tracseq_aws::idempotency::IdempotencyStore;
use tracseq_aws::store::{Table, from_item};
use tracseq_aws::{Init, InitError};
use tracseq_core::Problem;
use tracseq_core::keyed::is_valid_id;
use tracseq_lab::sample::{ImportState, ImportStatus, Sample};

/// Settings from the function's environment (template.yaml), docs/domain.md defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    pub thresholds: Thresholds,
    pub zone_rules: ZoneRules,
    /// Deepest hierarchy (docs/data-model.md: ≤ 8 keeps a placement well under 100 actions).
    pub max_depth: usize,
    /// Most samples in one custody request (a 96-tube rack).
    pub max_bulk: usize,
    /// Open multi-chunk operations older than this are taken for dead and undone by the
    /// recovery function (well above the function timeout).
    pub recover_after_secs: i64,
    pub faults: Faults,
}

/// Test hooks, unset in every deployed stage.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// This chunk (1-based) of a multi-chunk custody operation fails as if it lost a race,
    /// so the rollback of the chunks before it can be tested.
    pub fail_chunk: Option<usize>,
    /// The operation stops after committing this chunk (1-based), as if its process died,
    /// so recovery can be tested.
    pub crash_after_chunk: Option<usize>,
}

pub struct StorageState {
    pub table: Table,
    pub auth: Arc<Auth>,
    pub idem: IdempotencyStore,
    pub settings: Settings,
    /// The restore marker: custody recovery waits while a restore runs.
    pub restore: tracseq_aws::maintenance::Marker,
}

pub use crate::model::Resolved;

impl StorageState {
    pub async fn build(init: &Init) -> Result<Arc<Self>, InitError> {
        let env = &init.env;
        let table = Table::new(init.clients.dynamodb.clone(), env.require("TABLE_NAME")?);
        let zone_rules = match env.get("STORAGE_ZONE_RULES").filter(|v| !v.trim().is_empty()) {
            Some(json) => ZoneRules::with_overrides(json).map_err(|e| InitError::Other(e.to_string()))?,
            None => ZoneRules::default(),
        };
        let thresholds = Thresholds {
            warning: env.parse_or("CAPACITY_WARNING_PERCENT", 80.0)?,
            critical: env.parse_or("CAPACITY_CRITICAL_PERCENT", 95.0)?,
        };
        if !(0.0 < thresholds.warning && thresholds.warning <= thresholds.critical && thresholds.critical <= 100.0) {
            return Err(InitError::Other(
                "capacity thresholds must satisfy 0 < warning <= critical <= 100".into(),
            ));
        }
        Ok(Arc::new(Self {
            restore: tracseq_aws::maintenance::Marker::from_init(init),
            auth: Auth::from_init(init).await?,
            idem: IdempotencyStore::new(table.clone()),
            table,
            settings: Settings {
                thresholds,
                zone_rules,
                max_depth: env.parse_or("STORAGE_MAX_DEPTH", 8usize)?.clamp(2, 8),
                max_bulk: env.parse_or("STORAGE_MAX_BULK", 96usize)?.clamp(1, 96),
                recover_after_secs: env.parse_or("STORAGE_RECOVER_AFTER_SECS", 120i64)?.max(0),
                faults: Faults {
                    fail_chunk: Some(env.parse_or("STORAGE_FAULT_FAIL_CHUNK", 0usize)?).filter(|k| *k > 0),
                    crash_after_chunk: Some(env.parse_or("STORAGE_FAULT_CRASH_AFTER_CHUNK", 0usize)?)
                        .filter(|k| *k > 0),
                },
            },
        }))
    }

    pub async fn location(&self, lab: &str, id: &str) -> Result<Location, Problem> {
        if !is_valid_id(id) {
            return Err(Problem::not_found("location"));
        }
        self.table
            .get_as(&keys::location(lab, id), keys::LOCATION_SK)
            .await?
            .ok_or_else(|| Problem::not_found("location"))
    }

    /// Many locations by id (absent ones are left out).
    pub async fn locations<'a>(
        &self,
        lab: &str,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, Location>, Problem> {
        let keys: Vec<(String, String)> = ids
            .into_iter()
            .filter(|id| is_valid_id(id))
            .map(|id| (keys::location(lab, id), keys::LOCATION_SK.to_owned()))
            .collect();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let items = self.table.batch_get(&keys).await?;
        items
            .into_iter()
            .map(|i| from_item::<Location>(i).map(|l| (l.id.clone(), l)))
            .collect::<Result<_, _>>()
            .map_err(Problem::from)
    }

    /// Locations with their paths and units, reading every ancestor once.
    pub async fn resolve(&self, lab: &str, found: Vec<Location>) -> Result<Vec<Resolved>, Problem> {
        let mut known: HashMap<String, Location> = found.iter().map(|l| (l.id.clone(), l.clone())).collect();
        let missing: Vec<String> = found
            .iter()
            .flat_map(|l| l.ancestors.iter())
            .filter(|a| !known.contains_key(*a))
            .cloned()
            .collect();
        known.extend(self.locations(lab, missing.iter().map(String::as_str)).await?);
        Ok(found
            .into_iter()
            .map(|location| {
                let path = location
                    .lineage()
                    .map(|id| known.get(id).map_or("?", |l| l.name.as_str()))
                    .collect::<Vec<_>>()
                    .join("/");
                let unit = location.unit_id.as_ref().and_then(|u| known.get(u)).cloned();
                Resolved { location, path, unit }
            })
            .collect())
    }

    pub async fn resolve_one(&self, lab: &str, id: &str) -> Result<Resolved, Problem> {
        let loc = self.location(lab, id).await?;
        self.resolve(lab, vec![loc]).await?.pop().ok_or_else(Problem::internal)
    }

    /// A sample of `lab` that the samples service would show (an import's samples appear
    /// when the import completes).
    pub async fn sample(&self, lab: &str, id: &str) -> Result<Sample, Problem> {
        let found = self.samples(lab, &[id.to_owned()]).await?;
        found.into_values().next().ok_or_else(|| Problem::not_found("sample"))
    }

    /// Many visible samples by id (absent ones are left out).
    pub async fn samples(&self, lab: &str, ids: &[String]) -> Result<HashMap<String, Sample>, Problem> {
        let keys: Vec<(String, String)> = ids
            .iter()
            .filter(|id| is_valid_id(id))
            .map(|id| (keys::sample(lab, id), keys::SAMPLE_SK.to_owned()))
            .collect();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let samples = self
            .table
            .batch_get(&keys)
            .await?
            .into_iter()
            .map(from_item::<Sample>)
            .collect::<Result<Vec<_>, _>>()?;
        let mut imports: HashMap<String, bool> = HashMap::new();
        let mut out = HashMap::with_capacity(samples.len());
        for s in samples {
            if let Some(imp) = &s.import_id {
                if !imports.contains_key(imp) {
                    let done = self
                        .table
                        .get_as::<ImportState>(&keys::import(lab, imp), keys::IMPORT_SK)
                        .await?
                        .is_some_and(|i| i.status == ImportStatus::Completed);
                    imports.insert(imp.clone(), done);
                }
                if imports.get(imp) != Some(&true) {
                    continue;
                }
            }
            out.insert(s.id.clone(), s);
        }
        Ok(out)
    }

    /// The owner of a barcode: `("sample" | "location", id)`.
    pub async fn barcode_owner(&self, lab: &str, code: &str) -> Result<Option<(String, String)>, Problem> {
        let guard = self.table.get(&keys::barcode(lab, code), keys::BARCODE_SK).await?;
        Ok(guard.and_then(|g| {
            let kind = g.get("kind").and_then(|v| v.as_s().ok())?.clone();
            let owner = g.get("owner").and_then(|v| v.as_s().ok())?.clone();
            Some((kind, owner))
        }))
    }
}
