//! What every storage function is built with, once per container (the reads live in
//! [`crate::store`]).

use crate::domain::capacity::Thresholds;
use crate::domain::zone::ZoneRules;
use std::sync::Arc;
use tracseq_aws::auth::Auth;
use tracseq_aws::idempotency::IdempotencyStore;
use tracseq_aws::store::Table;
use tracseq_aws::{Init, InitError};

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
    /// How long a temperature reading is kept.
    pub readings_ttl_days: u32,
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
                readings_ttl_days: env.parse_or("READINGS_TTL_DAYS", 90u32)?.clamp(1, 3650),
                faults: Faults {
                    fail_chunk: Some(env.parse_or("STORAGE_FAULT_FAIL_CHUNK", 0usize)?).filter(|k| *k > 0),
                    crash_after_chunk: Some(env.parse_or("STORAGE_FAULT_CRASH_AFTER_CHUNK", 0usize)?)
                        .filter(|k| *k > 0),
                },
            },
        }))
    }
}
