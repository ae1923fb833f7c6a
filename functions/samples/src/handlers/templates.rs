//! Submission templates: define, edit, publish (freezes a version), deprecate, list
//! versions, and download a blank manifest.

use crate::domain::template::{FieldDef, TemplateDef};
use crate::model::{Template, TemplateAction, TemplateStatus, TemplateVersion, now_rfc3339};
use crate::state::SamplesState;
use crate::store::templates as store;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::events::CloudEvent;
use tracseq_core::http::{Request, Response, check_version, expected_version, optional_version};
use tracseq_core::keyed::LabKeys;
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "RNA intake", "description": "Tissue RNA for expression studies", "fields": [{"name": "tissue", "label": "Tissue", "type": "text", "required": true}, {"name": "rin_score", "label": "RIN", "type": "number", "maps_to": "rin"}]}))]
pub struct NewTemplate {
    pub name: String,
    pub description: Option<String>,
    pub fields: Vec<FieldDef>,
}

tracseq_core::ruled_body!(
    /// [`TemplatePatch`] as the document states it: `status` only retires a template.
    TemplatePatchWire for TemplatePatch,
    serde_json::json!({ "properties": { "status": { "enum": ["deprecated", null],
        "description": "Only `deprecated`: retire a published template (publishing has its own route)." } } })
);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub fields: Option<Vec<FieldDef>>,
    /// Only `deprecated`: retire a published template (publishing has its own route).
    pub status: Option<TemplateStatus>,
    #[schema(required, nullable = false)]
    pub version: Option<u64>,
}

pub type TemplatePage = tracseq_core::pagination::Page<Template>;

pub type TemplateVersionPage = tracseq_core::pagination::Page<TemplateVersion>;

pub(crate) fn lab_keys(p: &Principal) -> Result<LabKeys, Problem> {
    LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())
}

pub(crate) fn event(
    kind: &str,
    p: &Principal,
    req: &Request,
    subject: &str,
    data: serde_json::Value,
) -> Result<CloudEvent, Problem> {
    req.event(kind, p, subject, data)
}

fn compile(def: &TemplateDef) -> Result<(), Problem> {
    def.compile().map(|_| ()).map_err(Problem::validation)
}

fn refused(status: TemplateStatus, action: TemplateAction) -> Result<TemplateStatus, Problem> {
    status
        .apply(action)
        .map_err(|why| Problem::conflict("invalid_template_state", why))
}

pub async fn list_templates(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page = PageRequest::from_request(&req)?;
    let status: Option<TemplateStatus> = match req.query("status") {
        Some(s) => Some(serde_json::from_value(json!(s)).map_err(|_| {
            Problem::validation(vec![
                FieldError::field("status", "one_of", "draft, published or deprecated").with_value(s),
            ])
        })?),
        None => None,
    };
    let templates: TemplatePage = store::list(&st, &p.lab_id, status, &page).await?;
    Ok(Response::ok(&templates))
}

pub async fn create_template(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewTemplate = req.json()?;
    let definition = TemplateDef {
        name: body.name.trim().to_owned(),
        description: body.description,
        fields: body.fields,
    };
    compile(&definition)?;
    let lab = lab_keys(&p)?;
    idempotent(&st.idem, &lab, &req, || async {
        let now = now_rfc3339();
        let t = Template {
            id: ulid::Ulid::new().to_string(),
            status: TemplateStatus::Draft,
            definition: definition.clone(),
            published_version: None,
            unpublished_changes: true,
            version: 1,
            created_at: now.clone(),
            created_by: p.user_id.clone(),
            updated_at: now,
            updated_by: p.user_id.clone(),
        };
        let ev = event(
            "template.created",
            &p,
            &req,
            &format!("templates/{}", t.id),
            json!({ "template_id": t.id, "name": t.definition.name }),
        )?;
        store::insert(&st, &p.lab_id, &t, &ev).await?;
        Ok(Response::created(&format!("/api/templates/{}", t.id), &t))
    })
    .await
}

pub async fn get_template(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    Ok(Response::ok(&st.template(&p.lab_id, req.path_param("id")?).await?))
}

pub async fn update_template(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: TemplatePatch = req.json()?;
    let expected = expected_version(&req, body.version)?;
    let mut t = st.template(&p.lab_id, req.path_param("id")?).await?;
    check_version("template", t.version, expected)?;
    let deprecating = match body.status {
        None => false,
        Some(TemplateStatus::Deprecated) => true,
        Some(other) => {
            return Err(Problem::validation(vec![
                FieldError::field(
                    "status",
                    "one_of",
                    "only deprecated is set here; publish has its own route",
                )
                .with_value(other.as_str()),
            ]));
        }
    };
    let editing = body.name.is_some() || body.description.is_some() || body.fields.is_some();
    if !editing && !deprecating {
        // Nothing to change: no new version, no event.
        return Ok(Response::ok(&t));
    }
    if editing {
        t.status = refused(t.status, TemplateAction::Edit)?;
        let before = t.definition.clone();
        if let Some(name) = body.name {
            t.definition.name = name.trim().to_owned();
        }
        if let Some(d) = body.description {
            t.definition.description = Some(d).filter(|d| !d.trim().is_empty());
        }
        if let Some(fields) = body.fields {
            t.definition.fields = fields;
        }
        compile(&t.definition)?;
        t.unpublished_changes |= before != t.definition;
    }
    if deprecating {
        t.status = refused(t.status, TemplateAction::Deprecate)?;
    }
    t.version += 1;
    t.updated_at = now_rfc3339();
    t.updated_by = p.user_id.clone();
    let kind = if deprecating {
        "template.deprecated"
    } else {
        "template.updated"
    };
    let ev = event(
        kind,
        &p,
        &req,
        &format!("templates/{}", t.id),
        json!({ "template_id": t.id, "version": t.version }),
    )?;
    store::save(&st, &p.lab_id, &t, expected, None, &ev).await?;
    Ok(Response::ok(&t))
}

pub async fn delete_template(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let t = st.template(&p.lab_id, req.path_param("id")?).await?;
    if let Some(expected) = optional_version(&req, None)? {
        check_version("template", t.version, expected)?;
    }
    refused(t.status, TemplateAction::Delete)?;
    let ev = event(
        "template.deleted",
        &p,
        &req,
        &format!("templates/{}", t.id),
        json!({ "template_id": t.id }),
    )?;
    store::delete(&st, &p.lab_id, &t, &ev).await?;
    Ok(Response::new(204))
}

pub async fn publish_template(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let mut t = st.template(&p.lab_id, req.path_param("id")?).await?;
    let expected = optional_version(&req, None)?.unwrap_or(t.version);
    check_version("template", t.version, expected)?;
    t.status = refused(t.status, TemplateAction::Publish)?;
    if !t.unpublished_changes {
        return Err(Problem::conflict(
            "nothing_to_publish",
            "the template has no changes since its last published version",
        ));
    }
    compile(&t.definition)?;
    let number = t.published_version.unwrap_or(0) + 1;
    let now = now_rfc3339();
    let frozen = TemplateVersion {
        template_id: t.id.clone(),
        number,
        definition: t.definition.clone(),
        published_at: now.clone(),
        published_by: p.user_id.clone(),
    };
    t.published_version = Some(number);
    t.unpublished_changes = false;
    t.version += 1;
    t.updated_at = now;
    t.updated_by = p.user_id.clone();
    let ev = event(
        "template.published",
        &p,
        &req,
        &format!("templates/{}", t.id),
        json!({ "template_id": t.id, "template_version": number, "name": t.definition.name }),
    )?;
    store::save(&st, &p.lab_id, &t, expected, Some(&frozen), &ev).await?;
    Ok(Response::ok(&t))
}

pub async fn list_template_versions(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let t = st.template(&p.lab_id, req.path_param("id")?).await?;
    let page = PageRequest::from_request(&req)?;
    let versions: TemplateVersionPage = store::versions(&st, &p.lab_id, &t.id, &page).await?;
    Ok(Response::ok(&versions))
}

/// `GET /api/templates/{id}/blank?format=csv|xlsx`: an empty manifest of the latest
/// published version (or of the draft, before the first publish).
pub async fn blank_template(st: Arc<SamplesState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let t = st.template(&p.lab_id, req.path_param("id")?).await?;
    let def = match t.published_version {
        Some(n) => st.template_version(&p.lab_id, &t.id, n).await?.definition,
        None => t.definition,
    };
    let compiled = def.compile().map_err(|_| Problem::internal())?;
    let stem: String = def
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .take(60)
        .collect();
    match req.query("format").unwrap_or("csv") {
        "csv" => {
            let body = crate::blank::csv(&compiled);
            Ok(Response::download(
                body,
                "text/csv; charset=utf-8",
                &format!("{stem}.csv"),
            ))
        }
        "xlsx" => {
            let body = crate::blank::xlsx(&compiled).map_err(|e| {
                tracing::error!(error = %e, "blank workbook failed");
                Problem::internal()
            })?;
            Ok(Response::download(
                body,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &format!("{stem}.xlsx"),
            ))
        }
        other => Err(Problem::validation(vec![
            FieldError::field("format", "one_of", "csv or xlsx").with_value(other),
        ])),
    }
}
