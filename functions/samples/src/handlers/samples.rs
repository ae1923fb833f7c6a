//! Samples: register one or a batch, read by id or barcode, update, move through the
//! status machine, soft-delete, history and search. Each change is one transaction with
//! its history line and its domain event (the outbox).

use super::templates::{event, lab_keys};
use crate::domain::kinds::{ParentRelation, Priority, SampleType};
use crate::domain::status::SampleStatus;
use crate::domain::template::Compiled;
use crate::model::{HistoryEntry, Sample, now_rfc3339};
use crate::state::SamplesState;
use crate::store::samples as store;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, check_version, expected_version, optional_version};
use tracseq_core::named::parse_reported;
use tracseq_core::{FieldError, Problem};
use tracseq_lab::fields::{SampleDetails, SampleFields};

pub const MAX_BATCH: usize = 1000;
const MAX_REASON: usize = 500;

tracseq_core::ruled_body!(
    /// [`NewSample`] as the document states it: ids are ULIDs, a parent comes with its
    /// relation, and a collection date is written `YYYY-MM-DD` (the server also reads the
    /// other forms labs write, as imports do; the document asks for the one it answers).
    NewSampleWire for NewSample,
    {
        let ulid = serde_json::json!({ "type": ["string", "null"], "pattern": tracseq_core::openapi::ULID_PATTERN });
        serde_json::json!({
            "properties": {
                "template_id": ulid, "parent_id": ulid,
                "barcode": { "type": ["string", "null"], "pattern": "^[A-Z0-9-]{1,32}$" },
                "collection_date": { "type": ["string", "null"], "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" },
            },
            // A parent and its relation come together (a null is no value). Not `allOf`:
            // the derived schema's `allOf` holds the flattened details.
            "dependentSchemas": {
                "parent_id": { "if": { "properties": { "parent_id": { "type": "string" } } },
                    "then": { "required": ["parent_relation"], "properties": { "parent_relation": { "not": { "type": "null" } } } } },
                "parent_relation": { "if": { "properties": { "parent_relation": { "not": { "type": "null" } } } },
                    "then": { "required": ["parent_id"], "properties": { "parent_id": { "type": "string" } } } },
            },
            "unevaluatedProperties": false,
        })
    }
);

/// `POST /api/samples` (and one element of a batch).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"sample_type": "DNA", "name": "Patient 7 blood", "priority": "high",
    "volume": 50, "volume_unit": "µL", "concentration": 25.5, "concentration_unit": "ng/µL",
    "project": "CANCER-01", "collection_date": "2026-11-30"}))]
pub struct NewSample {
    /// `[A-Z0-9-]`, at most 32; generated from the lab's counter when absent.
    #[schema(pattern = "^[A-Za-z0-9-]{1,32}$")]
    pub barcode: Option<String>,
    /// Defaults to the barcode.
    pub name: Option<String>,
    /// One of docs/domain.md's sample types (case and spacing are forgiven).
    #[schema(value_type = SampleType)]
    pub sample_type: String,
    #[schema(value_type = Option<Priority>)]
    pub priority: Option<String>,
    /// A published template whose custom fields `custom` must follow.
    pub template_id: Option<String>,
    pub parent_id: Option<String>,
    /// Required with `parent_id`.
    #[schema(value_type = Option<ParentRelation>)]
    pub parent_relation: Option<String>,
    #[serde(flatten)]
    pub details: SampleDetails,
}

/// Top-level keys a sample body may have (`flatten` cannot deny unknown fields itself).
const NEW_SAMPLE_KEYS: &[&str] = &[
    "barcode",
    "name",
    "sample_type",
    "priority",
    "template_id",
    "parent_id",
    "parent_relation",
];
const DETAIL_KEYS: &[&str] = &[
    "submitter",
    "collection_date",
    "collection_location",
    "organism",
    "tissue",
    "volume",
    "volume_unit",
    "concentration",
    "concentration_unit",
    "a260_280",
    "a260_230",
    "rin",
    "project",
    "notes",
    "custom",
];

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatch {
    pub samples: Vec<Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchResult {
    pub index: usize,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<Sample>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<BatchError>,
}

impl BatchResult {
    /// The answer for the sample at `index` of the request.
    fn of(index: usize, outcome: Result<Sample, Problem>) -> Self {
        match outcome {
            Ok(sample) => Self {
                index,
                status: 201,
                sample: Some(sample),
                error: None,
            },
            Err(e) => Self {
                index,
                status: e.status,
                sample: None,
                error: Some(BatchError {
                    code: e.code,
                    detail: e.detail,
                    errors: e.errors,
                }),
            },
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchError {
    pub code: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchOutcome {
    pub created: usize,
    pub failed: usize,
    pub results: Vec<BatchResult>,
}

tracseq_core::ruled_body!(
    /// [`SamplePatch`] as the document states it: the type and priority by name, and no
    /// key the sample does not have.
    SamplePatchWire for SamplePatch,
    serde_json::json!({
        "properties": {
            "name": { "type": ["string", "null"], "minLength": 1, "maxLength": 200, "pattern": "\\S" },
            "sample_type": { "enum": tracseq_lab::kinds::SampleType::NAMES.iter().map(|n| serde_json::json!(n)).chain([serde_json::Value::Null]).collect::<Vec<_>>() },
            "priority": { "enum": tracseq_lab::kinds::Priority::NAMES.iter().map(|n| serde_json::json!(n)).chain([serde_json::Value::Null]).collect::<Vec<_>>() },
        },
        "unevaluatedProperties": false,
    })
);

/// `PATCH /api/samples/{id}`: absent keys stay; an empty text clears it. Barcode, status
/// and parent do not change here (labels are printed; status has its own route).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SamplePatch {
    pub name: Option<String>,
    pub sample_type: Option<String>,
    pub priority: Option<String>,
    #[schema(required, nullable = false)]
    pub version: Option<u64>,
    #[serde(flatten)]
    pub details: SampleDetails,
}
const PATCH_KEYS: &[&str] = &["name", "sample_type", "priority", "version"];

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub to: SampleStatus,
    /// Required for rejected, failed and retries (docs/domain.md: every change records why).
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    pub version: Option<u64>,
}

tracseq_core::ruled_body!(
    /// [`Transition`] as the document states it: `to` is any status but `deleted`
    /// (`DELETE /api/samples/{id}`) and `in_storage` (storage placements).
    TransitionWire for Transition,
    {
        let to: Vec<&str> = SampleStatus::ALL
            .iter()
            .filter(|s| !matches!(s, SampleStatus::Deleted | SampleStatus::InStorage))
            .map(|s| s.as_str())
            .collect();
        serde_json::json!({
            "properties": { "to": { "type": "string", "enum": to,
                "description": "Any status but `deleted` (`DELETE /api/samples/{id}`) and `in_storage` (storage placements)." } },
            // Rejecting or failing a sample says why (a retry to pending from either, too:
            // that depends on the sample's status, which the document cannot see).
            "if": { "properties": { "to": { "enum": ["rejected", "failed"] } } },
            "then": { "required": ["reason"], "properties": { "reason": { "type": "string", "minLength": 1, "pattern": "\\S" } } },
        })
    }
);

/// 422 for a key the body type does not know (a typo must not be silently dropped).
fn deny_unknown(body: &Value, allowed: &[&[&str]], prefix: &str) -> Vec<FieldError> {
    let Some(map) = body.as_object() else {
        return vec![FieldError::field(
            prefix.trim_end_matches('.'),
            "type",
            "must be an object",
        )];
    };
    map.keys()
        .filter(|k| !allowed.iter().any(|list| list.contains(&k.as_str())))
        .map(|k| FieldError::field(format!("{prefix}{k}"), "unknown_field", format!("unknown field {k:?}")))
        .collect()
}

/// A checked sample ready to be stored.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub fields: SampleFields,
    pub sample_type: SampleType,
    pub template: Option<(String, u32)>,
    pub parent: Option<(String, ParentRelation)>,
}

/// Compiled templates of one request, so a batch reads each template once.
#[derive(Default)]
pub struct TemplateCache(HashMap<String, Result<(u32, Arc<Compiled>), Problem>>);

impl TemplateCache {
    async fn get(&mut self, st: &SamplesState, lab: &str, id: &str) -> Result<(u32, Arc<Compiled>), Problem> {
        if !self.0.contains_key(id) {
            let got = st
                .published(lab, id, "template_id")
                .await
                .map(|(n, c)| (n, Arc::new(c)));
            self.0.insert(id.to_owned(), got);
        }
        self.0.get(id).cloned().unwrap_or_else(|| Err(Problem::internal()))
    }
}

/// Check one sample body (field errors prefixed with `prefix`).
pub async fn prepare(
    st: &SamplesState,
    lab: &str,
    raw: &Value,
    cache: &mut TemplateCache,
) -> Result<Prepared, Problem> {
    let mut errors = deny_unknown(raw, &[NEW_SAMPLE_KEYS, DETAIL_KEYS], "");
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let body: NewSample = tracseq_core::http::parse_json(raw.to_string().as_bytes())?;
    let sample_type = parse_reported(
        &mut errors,
        "sample_type",
        &body.sample_type,
        SampleType::parse,
        SampleType::names(),
    );
    let priority = body
        .priority
        .as_deref()
        .and_then(|p| parse_reported(&mut errors, "priority", p, Priority::parse, Priority::names()));
    let mut fields = SampleFields {
        barcode: body.barcode,
        name: body.name,
        sample_type,
        priority,
        details: body.details,
    };
    fields.check(&mut errors);
    let template = match &body.template_id {
        Some(id) => match cache.get(st, lab, id).await {
            Ok((n, compiled)) => {
                crate::domain::sample::check_custom(&mut fields.details, &compiled, &mut errors);
                Some((id.clone(), n))
            }
            Err(p) if p.status == 422 => {
                errors.extend(p.errors);
                None
            }
            Err(p) => return Err(p),
        },
        None => {
            if !fields.details.custom.is_empty() {
                errors.push(FieldError::field(
                    "custom",
                    "template_required",
                    "custom fields need a template_id",
                ));
            }
            None
        }
    };
    let parent = match (&body.parent_id, &body.parent_relation) {
        (None, None) => None,
        (Some(id), Some(rel)) => {
            let rel = parse_reported(
                &mut errors,
                "parent_relation",
                rel,
                ParentRelation::parse,
                ParentRelation::names(),
            );
            match st.sample(lab, id).await {
                Ok(parent) if parent.status == SampleStatus::Deleted => {
                    errors
                        .push(FieldError::field("parent_id", "exists", "the parent sample is deleted").with_value(id));
                    None
                }
                Ok(parent) => rel.map(|r| (parent.id, r)),
                Err(p) if p.status == 404 => {
                    errors.push(FieldError::field("parent_id", "exists", "no such sample").with_value(id));
                    None
                }
                Err(p) => return Err(p),
            }
        }
        (Some(_), None) => {
            errors.push(FieldError::field(
                "parent_relation",
                "required",
                "a parent needs its relation",
            ));
            None
        }
        (None, Some(_)) => {
            errors.push(FieldError::field(
                "parent_id",
                "required",
                "a relation needs its parent",
            ));
            None
        }
    };
    match (errors.is_empty(), sample_type) {
        (true, Some(sample_type)) => Ok(Prepared {
            fields,
            sample_type,
            template,
            parent,
        }),
        _ => Err(Problem::validation(errors)),
    }
}

/// A new sample from checked input.
pub fn new_sample(p: &Principal, prepared: Prepared, barcode: String, now: &str) -> Sample {
    let Prepared {
        fields,
        sample_type,
        template,
        parent,
    } = prepared;
    Sample {
        id: ulid::Ulid::new().to_string(),
        name: fields.name.unwrap_or_else(|| barcode.clone()),
        barcode,
        sample_type,
        status: SampleStatus::Pending,
        priority: fields.priority.unwrap_or_default(),
        details: fields.details,
        template_version: template.as_ref().map(|t| t.1),
        template_id: template.map(|t| t.0),
        parent_relation: parent.as_ref().map(|p| p.1),
        parent_id: parent.map(|p| p.0),
        import_id: None,
        storage: None,
        freeze_thaw_count: 0,
        version: 1,
        created_at: now.to_owned(),
        created_by: p.user_id.clone(),
        updated_at: now.to_owned(),
        updated_by: p.user_id.clone(),
    }
}

pub(crate) fn created_event(
    p: &Principal,
    req: &Request,
    sample: &Sample,
) -> Result<tracseq_core::events::CloudEvent, Problem> {
    event(
        "sample.created",
        p,
        req,
        &format!("samples/{}", sample.id),
        sample.created_event_data(),
    )
}

/// Store one prepared sample (its barcode given or already generated).
async fn insert(st: &SamplesState, p: &Principal, req: &Request, prepared: Prepared) -> Result<Sample, Problem> {
    let now = now_rfc3339();
    let barcode = prepared.fields.barcode.clone().ok_or_else(Problem::internal)?;
    let sample = new_sample(p, prepared, barcode, &now);
    store::insert(st, &p.lab_id, &sample, &created_event(p, req, &sample)?).await?;
    Ok(sample)
}

/// Samples written by one batch transaction (4 writes each; DynamoDB allows 100).
const GROUP: usize = 25;

/// Insert `group` in one transaction, or (when any of it fails: a barcode taken, a
/// duplicate in the request) each sample on its own.
async fn insert_group(
    st: &SamplesState,
    p: &Principal,
    req: &Request,
    group: Vec<(usize, Prepared)>,
) -> Vec<BatchResult> {
    let now = now_rfc3339();
    let mut samples = Vec::with_capacity(group.len());
    for (_, x) in &group {
        let Some(barcode) = x.fields.barcode.clone() else { break };
        let sample = new_sample(p, x.clone(), barcode, &now);
        let Ok(event) = created_event(p, req, &sample) else {
            break;
        };
        samples.push((sample, event));
    }
    if samples.len() == group.len() && store::insert_all(st, &p.lab_id, &samples).await.is_ok() {
        return group
            .iter()
            .zip(samples)
            .map(|((i, _), (s, _))| BatchResult::of(*i, Ok(s)))
            .collect();
    }
    let mut out = Vec::with_capacity(group.len());
    for (index, x) in group {
        out.push(BatchResult::of(index, insert(st, p, req, x).await));
    }
    out
}

pub async fn create_sample(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let raw: Value = req.json()?;
    let prepared = prepare(&st, &p.lab_id, &raw, &mut TemplateCache::default()).await?;
    let lab = lab_keys(&p)?;
    idempotent(&st.idem, &lab, &req, || async {
        let mut prepared = prepared.clone();
        if prepared.fields.barcode.is_none() {
            prepared.fields.barcode = st.new_barcodes(&p.lab_id, 1).await?.pop();
        }
        let sample = insert(&st, &p, &req, prepared).await?;
        Ok(Response::created(&format!("/api/samples/{}", sample.id), &sample))
    })
    .await
}

pub async fn create_batch(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewBatch = req.json_limited(4 * 1024 * 1024)?;
    if body.samples.is_empty() || body.samples.len() > MAX_BATCH {
        return Err(Problem::validation(vec![FieldError::field(
            "samples",
            "length",
            format!("a batch has 1 to {MAX_BATCH} samples"),
        )]));
    }
    let lab = lab_keys(&p)?;
    idempotent(&st.idem, &lab, &req, || async {
        let mut cache = TemplateCache::default();
        let mut prepared = Vec::with_capacity(body.samples.len());
        for raw in &body.samples {
            prepared.push(prepare(&st, &p.lab_id, raw, &mut cache).await);
        }
        let without_barcode = prepared
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|x| x.fields.barcode.is_none()))
            .count();
        let mut codes = st.new_barcodes(&p.lab_id, without_barcode).await?.into_iter();
        for x in prepared.iter_mut().flatten() {
            if x.fields.barcode.is_none() {
                x.fields.barcode = codes.next();
            }
        }
        let (st, p, req) = (&st, &p, &req);
        let mut results = Vec::with_capacity(prepared.len());
        let mut ready = Vec::with_capacity(prepared.len());
        for (index, r) in prepared.into_iter().enumerate() {
            match r {
                Ok(x) => ready.push((index, x)),
                Err(e) => results.push(BatchResult::of(index, Err(e))),
            }
        }
        // 25 samples (4 writes each) per transaction: a thousand samples are 40 calls, not
        // a thousand; a group that fails is retried sample by sample for their own answers.
        let groups: Vec<Vec<(usize, Prepared)>> = ready.chunks(GROUP).map(<[_]>::to_vec).collect();
        let done: Vec<Vec<BatchResult>> = futures::stream::iter(groups)
            .map(|g| insert_group(st, p, req, g))
            .buffer_unordered(4)
            .collect()
            .await;
        results.extend(done.into_iter().flatten());
        results.sort_by_key(|r| r.index);
        let created = results.iter().filter(|r| r.status == 201).count();
        Ok(Response::ok(&BatchOutcome {
            created,
            failed: results.len() - created,
            results,
        }))
    })
    .await
}

pub async fn get_sample(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    Ok(Response::ok(&st.sample(&p.lab_id, req.path_param("id")?).await?))
}

pub async fn get_by_barcode(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let code = req.path_param("barcode")?.trim().to_uppercase();
    if crate::domain::barcode::check(&code).is_err() {
        return Err(Problem::not_found("sample"));
    }
    let owner = store::by_barcode(&st, &p.lab_id, &code)
        .await?
        .ok_or_else(|| Problem::not_found("sample"))?;
    Ok(Response::ok(&st.sample(&p.lab_id, &owner).await?))
}

fn history(sample: &Sample, p: &Principal, kind: &str, now: &str) -> HistoryEntry {
    HistoryEntry {
        id: ulid::Ulid::new().to_string(),
        sample_id: sample.id.clone(),
        kind: kind.to_owned(),
        from: None,
        to: None,
        reason: None,
        changed: vec![],
        at: now.to_owned(),
        by: p.user_id.clone(),
    }
}

pub async fn update_sample(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let raw: Value = req.json()?;
    let unknown = deny_unknown(&raw, &[PATCH_KEYS, DETAIL_KEYS], "");
    if !unknown.is_empty() {
        return Err(Problem::validation(unknown));
    }
    let patch: SamplePatch = tracseq_core::http::parse_json(raw.to_string().as_bytes())?;
    let expected = expected_version(&req, patch.version)?;
    let current = st.sample(&p.lab_id, req.path_param("id")?).await?;
    check_version("sample", current.version, expected)?;
    if current.status == SampleStatus::Deleted {
        return Err(Problem::conflict("sample_deleted", "a deleted sample cannot change"));
    }
    let mut errors = Vec::new();
    let mut next = current.clone();
    if let Some(t) = patch.sample_type.as_deref()
        && let Some(v) = parse_reported(&mut errors, "sample_type", t, SampleType::parse, SampleType::names())
    {
        next.sample_type = v;
    }
    if let Some(t) = patch.priority.as_deref()
        && let Some(v) = parse_reported(&mut errors, "priority", t, Priority::parse, Priority::names())
    {
        next.priority = v;
    }
    if let Some(name) = &patch.name {
        let n = name.trim();
        if n.is_empty() || n.chars().count() > 200 {
            errors.push(FieldError::field("name", "length", "a name has 1 to 200 characters"));
        } else {
            next.name = n.to_owned();
        }
    }
    let given = serde_json::to_value(&patch.details).map_err(|_| Problem::internal())?;
    let mut merged = serde_json::to_value(&current.details).map_err(|_| Problem::internal())?;
    if let (Some(m), Some(g)) = (merged.as_object_mut(), given.as_object()) {
        for (k, v) in g {
            if k == "custom" {
                let custom = m.entry("custom").or_insert_with(|| json!({}));
                if let (Some(c), Some(gc)) = (custom.as_object_mut(), v.as_object()) {
                    c.extend(gc.clone());
                }
            } else {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    next.details = serde_json::from_value(merged).map_err(|_| Problem::internal())?;
    next.details.check(&mut errors);
    if let Some(tid) = &current.template_id {
        let n = current.template_version.unwrap_or(1);
        let compiled = st
            .template_version(&p.lab_id, tid, n)
            .await?
            .definition
            .compile()
            .map_err(|_| Problem::internal())?;
        crate::domain::sample::check_custom(&mut next.details, &compiled, &mut errors);
    } else if !next.details.custom.is_empty() {
        errors.push(FieldError::field(
            "custom",
            "template_required",
            "custom fields need a template",
        ));
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let before = serde_json::to_value(&current).map_err(|_| Problem::internal())?;
    let after = serde_json::to_value(&next).map_err(|_| Problem::internal())?;
    let changed: Vec<String> = after
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| before.get(k.as_str()) != Some(*v))
        .map(|(k, _)| k.clone())
        .chain(
            before
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| after.get(k.as_str()).is_none())
                .map(|(k, _)| k.clone()),
        )
        .collect();
    if changed.is_empty() {
        return Ok(Response::ok(&current));
    }
    let now = now_rfc3339();
    next.version += 1;
    next.updated_at = now.clone();
    next.updated_by = p.user_id.clone();
    let mut h = history(&next, &p, "updated", &now);
    h.changed = changed.clone();
    let ev = event(
        "sample.updated",
        &p,
        &req,
        &format!("samples/{}", next.id),
        json!({ "sample_id": next.id, "barcode": next.barcode, "changed": changed }),
    )?;
    store::save(&st, &p.lab_id, &current, &next, &h, &[ev]).await?;
    Ok(Response::ok(&next))
}

/// Move `current` to `to` (the machine decides), with the reason rules.
/// A checked status change, ready to be stored: the sample after it, its history line
/// and its events.
pub(crate) struct StatusChange {
    pub current: Sample,
    pub next: Sample,
    pub history: HistoryEntry,
    pub events: Vec<tracseq_core::events::CloudEvent>,
}

pub(crate) async fn change_status(
    st: &SamplesState,
    req: &Request,
    p: &Principal,
    current: Sample,
    to: SampleStatus,
    reason: Option<String>,
) -> Result<Sample, Problem> {
    let c = plan_status(req, p, current, to, reason)?;
    store::save(st, &p.lab_id, &c.current, &c.next, &c.history, &c.events).await?;
    Ok(c.next)
}

/// Check `current → to` against the status machine and its reason rules.
pub(crate) fn plan_status(
    req: &Request,
    p: &Principal,
    current: Sample,
    to: SampleStatus,
    reason: Option<String>,
) -> Result<StatusChange, Problem> {
    let from = current.status;
    let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON) {
        return Err(Problem::validation(vec![FieldError::field(
            "reason",
            "max_length",
            "a reason has at most 500 characters",
        )]));
    }
    let to = from
        .transition(to)
        .map_err(|e| Problem::conflict("invalid_transition", e.to_string()))?;
    if from.needs_reason(to) && reason.is_none() {
        return Err(Problem::validation(vec![FieldError::field(
            "reason",
            "required",
            format!(
                "moving a sample from {} to {} needs a reason",
                from.as_str(),
                to.as_str()
            ),
        )]));
    }
    let now = now_rfc3339();
    let mut next = current.clone();
    next.status = to;
    next.version += 1;
    next.updated_at = now.clone();
    next.updated_by = p.user_id.clone();
    let mut h = history(
        &next,
        p,
        if to == SampleStatus::Deleted {
            "deleted"
        } else {
            "status_changed"
        },
        &now,
    );
    h.from = Some(from);
    h.to = Some(to);
    h.reason = reason.clone();
    let data = current.status_changed_data(to, reason.as_deref());
    let subject = format!("samples/{}", next.id);
    let mut events = vec![event("sample.status_changed", p, req, &subject, data.clone())?];
    match to {
        SampleStatus::Validated => events.push(event("sample.validated", p, req, &subject, data)?),
        SampleStatus::Deleted => events.push(event("sample.deleted", p, req, &subject, data)?),
        _ => {}
    }
    Ok(StatusChange {
        current,
        next,
        history: h,
        events,
    })
}

pub async fn transition_sample(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: Transition = req.json()?;
    if body.to == SampleStatus::Deleted {
        return Err(Problem::validation(vec![FieldError::field(
            "to",
            "one_of",
            "delete a sample with DELETE /api/samples/{id}",
        )]));
    }
    if body.to == SampleStatus::InStorage {
        return Err(Problem::validation(vec![FieldError::field(
            "to",
            "storage",
            "samples go into storage through POST /api/storage/placements",
        )]));
    }
    let current = st.sample(&p.lab_id, req.path_param("id")?).await?;
    if let Some(expected) = optional_version(&req, body.version)? {
        check_version("sample", current.version, expected)?;
    }
    if current.status == SampleStatus::InStorage {
        return Err(Problem::conflict(
            "in_storage",
            "the sample is in storage: take it out through POST /api/storage/retrievals",
        ));
    }
    let next = change_status(&st, &req, &p, current, body.to, body.reason).await?;
    Ok(Response::ok(&next))
}

/// Soft delete (`?reason=` required, kept in the history); the barcode stays reserved.
pub async fn delete_sample(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let current = st.sample(&p.lab_id, req.path_param("id")?).await?;
    if let Some(expected) = optional_version(&req, None)? {
        check_version("sample", current.version, expected)?;
    }
    if current.storage.is_some() {
        return Err(Problem::conflict(
            "in_storage",
            "the sample holds a storage position: dispose of it through POST /api/storage/disposals",
        ));
    }
    let reason = req.query("reason").map(str::to_owned);
    change_status(&st, &req, &p, current, SampleStatus::Deleted, reason).await?;
    Ok(Response::new(204))
}

pub type HistoryPage = tracseq_core::pagination::Page<HistoryEntry>;

pub async fn sample_history(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let sample = st.sample(&p.lab_id, req.path_param("id")?).await?;
    let page = tracseq_core::pagination::PageRequest::from_request(&req)?;
    let history: HistoryPage = store::history(&st, &p.lab_id, &sample.id, &page).await?;
    Ok(Response::ok(&history))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_key_list_matches_the_type() {
        let full = SampleDetails {
            submitter: Some(String::new()),
            collection_date: Some(String::new()),
            collection_location: Some(String::new()),
            organism: Some(String::new()),
            tissue: Some(String::new()),
            volume: Some(0.0),
            volume_unit: Some(String::new()),
            concentration: Some(0.0),
            concentration_unit: Some(String::new()),
            a260_280: Some(0.0),
            a260_230: Some(0.0),
            rin: Some(0.0),
            project: Some(String::new()),
            notes: Some(String::new()),
            custom: [("x".to_owned(), json!(1))].into_iter().collect(),
        };
        let v = serde_json::to_value(full).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        let mut listed = DETAIL_KEYS.to_vec();
        listed.sort();
        assert_eq!(keys, listed);
    }

    #[test]
    fn unknown_keys_are_reported() {
        let errors = deny_unknown(
            &json!({"sample_type": "DNA", "colour": 1}),
            &[NEW_SAMPLE_KEYS, DETAIL_KEYS],
            "",
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field.as_deref(), Some("colour"));
        assert_eq!(deny_unknown(&json!([1]), &[NEW_SAMPLE_KEYS], "")[0].rule, "type");
    }
}
