//! Pools: libraries sequenced together. A library joins only if its indexes stay
//! separable from every library already in the pool (and from the others joining with
//! it); membership changes are version-checked.

use crate::domain::index::IndexSeq;
use crate::domain::pool::{Member, check_join};
use crate::model::{Library, Pool, PoolMember, now_rfc3339};
use crate::state::SequencingState;
use crate::store::pools as store;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use tracseq_aws::idempotency::idempotent;
use tracseq_core::auth::Principal;
use tracseq_core::http::{Request, Response, check_version, expected_version, optional_version};
use tracseq_core::keyed::LabKeys;
use tracseq_core::pagination::PageRequest;
use tracseq_core::{FieldError, Problem};

/// Most libraries added in one request (each is one action of its transaction).
pub const MAX_JOIN: usize = 96;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPool {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    pub description: Option<String>,
    /// Mismatches the index check assumes, 0–2 (default 1, as BCL Convert).
    #[schema(maximum = 2)]
    pub barcode_mismatches: Option<u8>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLibraries {
    /// 1 to 96 distinct libraries (stated in [`AddLibrariesWire`]).
    pub library_ids: Vec<String>,
    #[schema(required, nullable = false)]
    pub version: Option<u64>,
}

tracseq_core::ruled_body!(
    /// [`AddLibraries`] as the document states it: distinct libraries.
    AddLibrariesWire for AddLibraries,
    serde_json::json!({ "properties": { "library_ids": tracseq_core::openapi::distinct_ids(MAX_JOIN, false) } })
);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PoolView {
    #[serde(flatten)]
    pub pool: Pool,
    pub libraries: Vec<PoolMember>,
}

pub type PoolPage = tracseq_core::pagination::Page<Pool>;

pub async fn create_pool(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: NewPool = req.json()?;
    let mut errors = Vec::new();
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::field("name", "length", "1 to 100 characters"));
    }
    if body.description.as_ref().is_some_and(|d| d.chars().count() > 1000) {
        errors.push(FieldError::field(
            "description",
            "max_length",
            "at most 1000 characters",
        ));
    }
    let mismatches = body.barcode_mismatches.unwrap_or(1);
    if mismatches > 2 {
        errors.push(FieldError::field("barcode_mismatches", "range", "0, 1 or 2"));
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        let now = now_rfc3339();
        let pool = Pool {
            id: ulid::Ulid::new().to_string(),
            name: name.clone(),
            description: body.description.clone().filter(|d| !d.trim().is_empty()),
            barcode_mismatches: mismatches,
            members: 0,
            version: 1,
            created_at: now.clone(),
            created_by: p.user_id.clone(),
            updated_at: now,
        };
        let ev = req.event(
            "sequencing.pool_created",
            &p,
            &format!("sequencing/pools/{}", pool.id),
            json!({"pool_id": pool.id, "name": pool.name}),
        )?;
        crate::store::insert(&st, &p.lab_id, &pool, &ev).await?;
        Ok(Response::created(
            &format!("/api/pools/{}", pool.id),
            &PoolView {
                pool,
                libraries: vec![],
            },
        ))
    })
    .await
}

pub async fn get_pool(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let (pool, libraries) = st.pool(&p.lab_id, req.path_param("id")?).await?;
    Ok(Response::ok(&PoolView { pool, libraries }))
}

pub async fn list_pools(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let page: PoolPage = crate::store::pools(&st, &p.lab_id, &PageRequest::from_request(&req)?).await?;
    Ok(Response::ok(&page))
}

fn member_of(pool: &Pool, l: &Library, p: &Principal) -> PoolMember {
    PoolMember {
        pool_id: pool.id.clone(),
        library_id: l.id.clone(),
        library_name: l.name.clone(),
        sample_id: l.sample_id.clone(),
        i7: l.i7.clone(),
        i5: l.i5.clone(),
        project: l.project.clone(),
        added_at: now_rfc3339(),
        added_by: p.user_id.clone(),
    }
}

fn as_member(id: &str, i7: &IndexSeq, i5: Option<&IndexSeq>) -> Member {
    Member {
        library_id: id.to_owned(),
        i7: i7.clone(),
        i5: i5.cloned(),
    }
}

/// Add libraries (all or none): index collisions with the pool are 409 naming both.
pub async fn add_to_pool(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let body: AddLibraries = req.json()?;
    let expected = expected_version(&req, body.version)?;
    let unique: HashSet<&String> = body.library_ids.iter().collect();
    if body.library_ids.is_empty() || body.library_ids.len() > MAX_JOIN || unique.len() != body.library_ids.len() {
        return Err(Problem::validation(vec![FieldError::field(
            "library_ids",
            "length",
            format!("1 to {MAX_JOIN} distinct library ids"),
        )]));
    }
    let lab = LabKeys::new(&p.lab_id).map_err(|_| Problem::internal())?;
    idempotent(&st.idem, &lab, &req, || async {
        let (pool, members) = st.pool(&p.lab_id, req.path_param("id")?).await?;
        check_version("pool", pool.version, expected)?;
        let found: Vec<Library> = crate::store::libraries(&st, &p.lab_id, &body.library_ids).await?;
        let mut errors = Vec::new();
        let mut joining = Vec::new();
        for (i, id) in body.library_ids.iter().enumerate() {
            match found.iter().find(|l| &l.id == id) {
                None => errors
                    .push(FieldError::field(format!("library_ids[{i}]"), "exists", "no such library").with_value(id)),
                Some(_) if members.iter().any(|m| &m.library_id == id) => errors.push(
                    FieldError::field(format!("library_ids[{i}]"), "unique", "already in this pool").with_value(id),
                ),
                Some(l) => joining.push(l),
            }
        }
        if !errors.is_empty() {
            return Err(Problem::validation(errors));
        }
        let existing: Vec<Member> = members
            .iter()
            .map(|m| as_member(&m.library_id, &m.i7, m.i5.as_ref()))
            .collect();
        let new: Vec<Member> = joining.iter().map(|l| as_member(&l.id, &l.i7, l.i5.as_ref())).collect();
        let conflicts = check_join(&existing, &new, pool.barcode_mismatches);
        if !conflicts.is_empty() {
            let mut problem = Problem::conflict(
                "index_collision",
                format!("{} index conflict(s); nothing was added", conflicts.len()),
            );
            problem.errors = conflicts
                .iter()
                .map(|c| FieldError::field("library_ids", "index_collision", c.to_string()))
                .collect();
            return Err(problem);
        }
        let added: Vec<PoolMember> = joining.iter().map(|l| member_of(&pool, l, &p)).collect();
        let ev = req.event(
            "sequencing.pool_changed",
            &p,
            &format!("sequencing/pools/{}", pool.id),
            json!({"pool_id": pool.id, "added": added.iter().map(|m| &m.library_id).collect::<Vec<_>>()}),
        )?;
        store::add(&st, &p.lab_id, &pool, expected, &added, &ev).await?;
        let (pool, libraries) = st.pool(&p.lab_id, &pool.id).await?;
        Ok(Response::ok(&PoolView { pool, libraries }))
    })
    .await
}

/// Take one library out (version-checked when `If-Match` is given).
pub async fn remove_from_pool(st: Arc<SequencingState>, req: Request, p: Principal) -> Result<Response, Problem> {
    let (pool, members) = st.pool(&p.lab_id, req.path_param("id")?).await?;
    let expected = optional_version(&req, None)?.unwrap_or(pool.version);
    check_version("pool", pool.version, expected)?;
    let library = req.path_param("library_id")?;
    if !members.iter().any(|m| m.library_id == library) {
        return Err(Problem::not_found("pool library"));
    }
    let ev = req.event(
        "sequencing.pool_changed",
        &p,
        &format!("sequencing/pools/{}", pool.id),
        json!({"pool_id": pool.id, "removed": [library]}),
    )?;
    store::remove(&st, &p.lab_id, &pool, expected, library, &ev).await?;
    Ok(Response::new(204))
}
