//! The lab's QC thresholds: docs/domain.md's defaults, each of which the lab's administrators
//! may replace. Libraries and runs are judged with the lab's current values.

use crate::domain::qc::{Metric, Threshold, default_thresholds};
use crate::model::now_rfc3339;
use crate::state::SequencingState;
use crate::store::reference as store;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, check_version, expected_version};
use tracseq_core::{FieldError, Problem};

/// The lab's thresholds (every metric) and the version of its overrides (0: defaults).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QcSettings {
    pub thresholds: BTreeMap<Metric, Threshold>,
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

/// `PUT`: the metrics to set (the others keep their values).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"version": 0, "thresholds": {"percent_q30": {"pass_min": 80.0, "warn_min": 75.0}}}))]
pub struct QcSettingsPatch {
    pub thresholds: BTreeMap<Metric, Threshold>,
    #[schema(required, nullable = false)]
    pub version: Option<u64>,
}

/// The lab's thresholds, defaults filled in.
pub async fn lab_thresholds(st: &SequencingState, lab: &str) -> Result<QcSettings, Problem> {
    let stored: Option<QcSettings> = store::qc_settings(st, lab).await?;
    let mut thresholds = default_thresholds();
    let (version, updated_at, updated_by) = match stored {
        Some(s) => {
            thresholds.extend(s.thresholds);
            (s.version, s.updated_at, s.updated_by)
        }
        None => (0, None, None),
    };
    Ok(QcSettings {
        thresholds,
        version,
        updated_at,
        updated_by,
    })
}

/// A threshold must be sensible: finite numbers, a pass band inside the warning band.
fn check(metric: Metric, t: &Threshold, errors: &mut Vec<FieldError>) {
    let field = format!(
        "thresholds.{}",
        serde_json::to_value(metric)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    );
    let all = [t.pass_min, t.pass_max, t.warn_min, t.warn_max];
    let bad = |why: &str| FieldError::field(field.clone(), "band", why);
    if all.iter().flatten().any(|v| !v.is_finite()) || all.iter().all(Option::is_none) {
        errors.push(bad("finite limits, at least one"));
        return;
    }
    let le = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => a <= b,
        _ => true,
    };
    // warn_min ≤ pass_min ≤ pass_max ≤ warn_max, where given; an open side stays open.
    let ordered = le(t.warn_min, t.pass_min)
        && le(t.pass_min, t.pass_max)
        && le(t.pass_max, t.warn_max)
        && le(t.warn_min, t.warn_max);
    let sides = (t.pass_min.is_some() || t.warn_min.is_none()) && (t.pass_max.is_some() || t.warn_max.is_none());
    if !ordered || !sides {
        errors.push(bad("the pass band must lie inside the warning band"));
    }
}

pub async fn get_qc_settings(st: Arc<SequencingState>, _req: Request, p: Principal) -> Result<Response, Problem> {
    Ok(Response::ok(&lab_thresholds(&st, &p.lab_id).await?))
}

pub async fn put_qc_settings(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: QcSettingsPatch = req.json()?;
    let expected = expected_version(&req, body.version)?;
    let mut errors = Vec::new();
    if body.thresholds.is_empty() {
        errors.push(FieldError::field("thresholds", "required", "at least one metric"));
    }
    for (m, t) in &body.thresholds {
        check(*m, t, &mut errors);
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let current = lab_thresholds(&st, &p.lab_id).await?;
    check_version("QC thresholds", current.version, expected)?;
    let mut next = current.clone();
    next.thresholds.extend(body.thresholds.clone());
    next.version += 1;
    next.updated_at = Some(now_rfc3339());
    next.updated_by = Some(p.user_id.clone());
    let ev = req.event(
        "sequencing.qc_thresholds_changed",
        &p,
        "sequencing/qc-thresholds",
        json!({"changed": body.thresholds.keys().collect::<Vec<_>>(), "version": next.version}),
    )?;
    store::put_qc_settings(&st, &p.lab_id, &next, expected, &ev).await?;
    Ok(Response::ok(&next))
}
