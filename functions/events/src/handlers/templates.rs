//! Notification templates: `GET /api/notifications/templates` (built-in texts with the
//! lab's overrides), `PUT|DELETE /api/notifications/templates/{id}` (override, revert)
//! and `POST /api/notifications/templates/{id}/preview`, which renders a template (or a
//! draft) for sample data and names every variable it lacks.

use crate::compose::{escape_for, event_vars};
use crate::directory;
use crate::domain::channel::ChannelKind;
use crate::domain::render::{RenderError, placeholders, render};
use crate::domain::templates::{DEFAULT_EVENT, Template, builtin, builtins, parse_id};
use crate::feed::FeedEvent;
use crate::model::LabTemplate;
use crate::state::EventsState;
use crate::store::settings;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use tracseq_core::auth::Principal;
use tracseq_core::events::CloudEvent;
use tracseq_core::http::{Request, Response, check_version, optional_version};
use tracseq_core::{FieldError, Problem, now_rfc3339};

/// The variables a template may name (and `data.*`, `recipient.*`).
const VARIABLES: &[&str] = &[
    "event",
    "type",
    "id",
    "subject",
    "time",
    "priority",
    "lab_id",
    "link",
    "reset_url",
];

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    pub items: Vec<Template>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TemplateSaved {
    pub template: Template,
    pub version: u64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateUpdate {
    /// Email and in-app only.
    #[serde(default)]
    pub subject: Option<String>,
    pub body: String,
    #[serde(default)]
    pub version: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The event's `data` to render with.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Option<Value>,
    /// A draft to render instead of the saved template.
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub id: String,
    pub channel: ChannelKind,
    pub subject: Option<String>,
    pub body: String,
}

fn checked_id(raw: &str) -> Result<(ChannelKind, String), Problem> {
    parse_id(raw).ok_or_else(|| Problem::not_found("template"))
}

async fn lab_template(st: &EventsState, lab: &str, id: &str) -> Result<Option<LabTemplate>, Problem> {
    settings::get(st, lab, settings::TEMPLATE, id).await
}

fn as_template(t: &LabTemplate) -> Option<Template> {
    let (channel, event) = parse_id(&t.id)?;
    Some(Template {
        id: t.id.clone(),
        channel,
        event,
        subject: t.subject.clone(),
        body: t.body.clone(),
        origin: "lab".into(),
    })
}

pub async fn list_templates(st: Arc<EventsState>, _req: Request, p: Principal) -> Result<Response, Problem> {
    let lab: Vec<LabTemplate> = settings::all(&st, &p.lab_id, settings::TEMPLATE).await?;
    let mut items: Vec<Template> = builtins()
        .into_iter()
        .filter(|b| !lab.iter().any(|l| l.id == b.id))
        .collect();
    items.extend(lab.iter().filter_map(as_template));
    items.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Response::ok(&TemplateList { items }))
}

/// Syntax and variable names of one template text.
fn check_text(field: &str, text: &str, max: usize, errors: &mut Vec<FieldError>) {
    if text.trim().is_empty() {
        errors.push(FieldError::field(field, "required", "must not be empty"));
        return;
    }
    if text.chars().count() > max {
        errors.push(FieldError::field(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    match placeholders(text) {
        Ok(vars) => {
            for v in vars {
                let root = v.split('.').next().unwrap_or_default();
                let known =
                    VARIABLES.contains(&v.as_str()) || (matches!(root, "data" | "recipient") && v.contains('.'));
                if !known {
                    errors.push(
                        FieldError::field(
                            field,
                            "unknown_variable",
                            "not a template variable (see the template docs)",
                        )
                        .with_value(&v),
                    );
                }
            }
        }
        Err(e) => errors.push(FieldError::field(field, "syntax", e.to_string())),
    }
}

pub async fn put_template(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: TemplateUpdate = req.json()?;
    let id = req.path_param("id")?.to_owned();
    let (channel, event) = checked_id(&id)?;
    let expected = optional_version(&req, body.version)?;
    let mut errors = Vec::new();
    check_text("body", &body.body, 4000, &mut errors);
    let with_subject = matches!(channel, ChannelKind::Email | ChannelKind::InApp);
    match (&body.subject, with_subject) {
        (Some(s), true) => check_text("subject", s, 200, &mut errors),
        (None, true) => errors.push(FieldError::field(
            "subject",
            "required",
            "email and in-app messages have a subject",
        )),
        (Some(_), false) => errors.push(FieldError::field(
            "subject",
            "not_applicable",
            "only email and in-app have a subject",
        )),
        (None, false) => {}
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let current = lab_template(&st, &p.lab_id, &id).await?;
    match (&current, expected) {
        (Some(_), None) => {
            return Err(Problem::new(
                428,
                "version_required",
                "send the template's current version in the body or If-Match",
            ));
        }
        (Some(c), Some(v)) => check_version("template", c.version, v)?,
        _ => {}
    }
    let next = LabTemplate {
        id: id.clone(),
        subject: body.subject.as_deref().map(str::trim).map(str::to_owned),
        body: body.body.trim().to_owned(),
        version: current.as_ref().map_or(1, |c| c.version + 1),
        updated_at: now_rfc3339(),
        updated_by: p.user_id.clone(),
    };
    settings::put(
        &st,
        &p.lab_id,
        settings::TEMPLATE,
        &id,
        &next,
        current.as_ref().map(|c| c.version),
    )
    .await?;
    let mut view = as_template(&next).ok_or_else(Problem::internal)?;
    view.event = event;
    Ok(Response::ok(&TemplateSaved {
        template: view,
        version: next.version,
    }))
}

pub async fn delete_template(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let id = req.path_param("id")?.to_owned();
    checked_id(&id)?;
    let current = lab_template(&st, &p.lab_id, &id)
        .await?
        .ok_or_else(|| Problem::not_found("template override"))?;
    if let Some(v) = optional_version(&req, None)? {
        check_version("template", current.version, v)?;
    }
    settings::delete(&st, &p.lab_id, settings::TEMPLATE, &id, current.version).await?;
    Ok(Response::new(204))
}

pub async fn preview_template(st: Arc<EventsState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: PreviewRequest = if req.body.iter().all(u8::is_ascii_whitespace) {
        PreviewRequest::default()
    } else {
        req.json()?
    };
    let id = req.path_param("id")?.to_owned();
    let (channel, event) = checked_id(&id)?;
    let (subject, text) = match (&body.body, lab_template(&st, &p.lab_id, &id).await?) {
        (Some(b), _) => (body.subject.clone(), b.clone()),
        (None, Some(t)) => (t.subject, t.body),
        (None, None) => {
            let t = builtin(channel, &event)
                .or_else(|| builtin(channel, DEFAULT_EVENT))
                .ok_or_else(Problem::internal)?;
            (t.subject, t.body)
        }
    };
    let kind = if event == DEFAULT_EVENT {
        "sample.created"
    } else {
        event.as_str()
    };
    let data = body.data.clone().unwrap_or_else(|| json!({}));
    if !data.is_object() {
        return Err(Problem::validation(vec![FieldError::field(
            "data",
            "type",
            "an object",
        )]));
    }
    let ev = CloudEvent::new(kind, &p.lab_id, "preview/1", "preview", data).map_err(|_| Problem::internal())?;
    let me = directory::person(&st, &p.lab_id, &p.user_id).await?;
    let vars = event_vars(
        &st.settings.app_url,
        &FeedEvent {
            event: ev,
            replayid: None,
        },
        me.as_ref(),
    );
    let mut errors = Vec::new();
    let mut render_field = |field: &str, t: &str| match render(t, &vars, escape_for(channel)) {
        Ok(s) => Some(s),
        Err(RenderError::Missing(names)) => {
            for n in names {
                errors.push(
                    FieldError::field(
                        field,
                        "missing_variable",
                        "no value for this variable in the sample event",
                    )
                    .with_value(&n),
                );
            }
            None
        }
        Err(e) => {
            errors.push(FieldError::field(field, "syntax", e.to_string()));
            None
        }
    };
    let rendered_subject = subject.as_deref().map(|s| render_field("subject", s));
    let rendered_body = render_field("body", &text);
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    Ok(Response::ok(&Preview {
        id,
        channel,
        subject: rendered_subject.flatten(),
        body: rendered_body.unwrap_or_default(),
    }))
}
