//! Labs: created by the platform operator with their first administrator; read by any
//! member; changed by the lab's administrators.

use super::Check;
use crate::audit::{AuditRecord, action};
use crate::model::{Lab, User, UserStatus, UserView, now_rfc3339};
use crate::password::check_policy;
use crate::state::{AuthState, check_version, expected_version};
use crate::store::labs as store;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::Problem;
use tracseq_core::auth::{Principal, Role};
use tracseq_core::http::{Request, Response};
use tracseq_core::keyed::LabKeys;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Genomics Core", "barcode_prefix": "GC", "time_zone": "Europe/Berlin",
    "admin": {"email": "head@genomics.example.org", "name": "Ada Head", "password": "Sequencing-2026"}}))]
pub struct NewLab {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// Sample barcodes start with it. Default: from the name.
    #[schema(pattern = "^[A-Z0-9]{2,8}$")]
    pub barcode_prefix: Option<String>,
    /// IANA time zone, e.g. `Europe/Berlin`. Default `UTC`.
    #[schema(max_length = 64, pattern = r"^(UTC|[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)+)$")]
    pub time_zone: Option<String>,
    pub admin: NewAdmin,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdmin {
    #[schema(max_length = 254, pattern = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")]
    pub email: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// 8 to 128 characters with an upper-case and a lower-case letter and a digit; not a
    /// common password, not the email.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedLab {
    pub lab: Lab,
    pub admin: UserView,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabPatch {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(pattern = "^[A-Z0-9]{2,8}$")]
    pub barcode_prefix: Option<String>,
    /// IANA time zone, e.g. `Europe/Berlin`, or `UTC`.
    #[schema(max_length = 64, pattern = r"^(UTC|[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)+)$")]
    pub time_zone: Option<String>,
    #[schema(required, nullable = false)]
    pub version: Option<u64>,
}

fn valid_prefix(p: &str) -> bool {
    (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn valid_time_zone(tz: &str) -> bool {
    tz == "UTC"
        || (tz.len() <= 64
            && tz.split('/').count() >= 2
            && tz
                .split('/')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))))
}

/// The lab settings both create and update accept.
fn check_settings(check: &mut Check, barcode_prefix: Option<&str>, time_zone: Option<&str>) {
    if let Some(prefix) = barcode_prefix {
        check.rule(
            valid_prefix(prefix),
            "barcode_prefix",
            "pattern",
            "barcode_prefix must be 2-8 characters of A-Z and 0-9",
        );
    }
    if let Some(tz) = time_zone {
        check.rule(
            valid_time_zone(tz),
            "time_zone",
            "time_zone",
            "time_zone must be an IANA zone such as Europe/Berlin, or UTC",
        );
    }
}

fn prefix_from(name: &str) -> String {
    let p: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .take(6)
        .collect();
    if p.len() >= 2 { p } else { "LAB".into() }
}

pub async fn create_lab(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewLab = req.json()?;
    let mut check = Check::default();
    check
        .len("name", &body.name, 1, 200)
        .len("admin.name", &body.admin.name, 1, 200)
        .email("admin.email", &body.admin.email);
    check_settings(&mut check, body.barcode_prefix.as_deref(), body.time_zone.as_deref());
    check.done()?;
    check_policy("admin.password", &body.admin.password, &body.admin.email)?;
    // Keyed by the operator's lab: the operator is the one retrying.
    let scope = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &scope, &req, || async {
        let now = now_rfc3339();
        let lab = Lab {
            id: ulid::Ulid::new().to_string(),
            name: body.name.trim().to_owned(),
            barcode_prefix: body.barcode_prefix.clone().unwrap_or_else(|| prefix_from(&body.name)),
            time_zone: body.time_zone.clone().unwrap_or_else(|| "UTC".into()),
            admins: 1,
            version: 1,
            created_at: now.clone(),
            updated_at: now.clone(),
        };
        let admin = User {
            id: ulid::Ulid::new().to_string(),
            lab_id: lab.id.clone(),
            email: body.admin.email.trim().to_lowercase(),
            name: body.admin.name.trim().to_owned(),
            role: Role::LabAdministrator,
            status: UserStatus::Active,
            department: None,
            phone: None,
            password_hash: Some(st.hasher.hash(&body.admin.password).await?),
            failed_logins: 0,
            locked_until: None,
            operator: false,
            version: 1,
            created_at: now.clone(),
            updated_at: now,
        };
        let ip = req.source_ip.as_deref();
        let audits = [
            AuditRecord::new(&lab.id, &p.user_id, action::LAB_CREATED, "success")
                .target(&lab.id)
                .from_ip(ip),
            AuditRecord::new(&lab.id, &p.user_id, action::USER_CREATED, "success")
                .target(&admin.id)
                .from_ip(ip),
        ];
        store::insert(&st, &lab, &admin, &audits).await?;
        Ok(Response::json(
            201,
            &CreatedLab {
                admin: admin.view(),
                lab,
            },
        ))
    })
    .await
}

pub async fn current_lab(st: Arc<AuthState>, _req: Request, p: Principal) -> Result<Response, Problem> {
    Ok(Response::ok(&st.lab(&p.lab_id).await?))
}

pub async fn update_lab(st: Arc<AuthState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: LabPatch = req.json()?;
    let mut check = Check::default();
    if let Some(name) = &body.name {
        check.len("name", name, 1, 200);
    }
    check_settings(&mut check, body.barcode_prefix.as_deref(), body.time_zone.as_deref());
    check.done()?;
    let expected = expected_version(&req, body.version)?;
    let mut lab = st.lab(&p.lab_id).await?;
    check_version("lab", lab.version, expected)?;
    let before = (lab.name.clone(), lab.barcode_prefix.clone(), lab.time_zone.clone());
    if let Some(n) = body.name {
        lab.name = n.trim().to_owned();
    }
    if let Some(b) = body.barcode_prefix {
        lab.barcode_prefix = b;
    }
    if let Some(t) = body.time_zone {
        lab.time_zone = t;
    }
    lab.version = expected + 1;
    lab.updated_at = now_rfc3339();
    let audit = AuditRecord::new(&p.lab_id, &p.user_id, action::LAB_CHANGED, "success")
        .target(&p.lab_id)
        .from_ip(req.source_ip.as_deref())
        .detail(
            serde_json::json!({ "before": { "name": before.0, "barcode_prefix": before.1, "time_zone": before.2 } }),
        );
    store::save(&st, &lab, expected, &audit).await?;
    Ok(Response::ok(&lab))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_settings_rules() {
        assert!(valid_prefix("DEMO") && valid_prefix("AB12") && !valid_prefix("a1") && !valid_prefix("TOOLONGPREFIX"));
        assert!(
            valid_time_zone("UTC")
                && valid_time_zone("Europe/Berlin")
                && valid_time_zone("America/Argentina/Buenos_Aires")
        );
        assert!(!valid_time_zone("Berlin") && !valid_time_zone("Europe/") && !valid_time_zone("../etc/passwd"));
        assert_eq!(prefix_from("Genomics Core"), "GENOMI");
        assert_eq!(prefix_from("?"), "LAB");
    }
}
