//! The samples service's table access: every read and write of its records goes through
//! here, so handlers hold no item, key or transaction. The reads every handler shares are
//! here; samples, templates, search and imports have their modules. Another lab's
//! record, a malformed id and a missing record are all the same 404.

pub mod imports;
pub mod samples;
pub mod search;
pub mod templates;

use crate::domain::template::Compiled;
use crate::model::{Import, ImportStatus, Sample, Template, TemplateVersion, keys};
use crate::state::SamplesState;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::collections::{HashMap, HashSet};
use tracseq_aws::store::{StoreError, n, s};
use tracseq_core::Problem;
use tracseq_core::keyed::is_valid_id;

impl SamplesState {
    /// A visible sample of `lab` (deleted ones included: they keep their history).
    pub async fn sample(&self, lab: &str, id: &str) -> Result<Sample, Problem> {
        if !is_valid_id(id) {
            return Err(Problem::not_found("sample"));
        }
        let sample: Sample = self
            .table
            .get_as(&keys::sample(lab, id), keys::SAMPLE_SK)
            .await?
            .ok_or_else(|| Problem::not_found("sample"))?;
        self.visible(lab, vec![sample])
            .await?
            .pop()
            .ok_or_else(|| Problem::not_found("sample"))
    }

    /// The visible samples of `lab` among `ids` (any order; unknown and malformed ids are
    /// left out, as another lab's are).
    pub async fn samples(&self, lab: &str, ids: &[String]) -> Result<Vec<Sample>, Problem> {
        let keys: Vec<(String, String)> = ids
            .iter()
            .filter(|id| is_valid_id(id))
            .map(|id| (keys::sample(lab, id), keys::SAMPLE_SK.to_owned()))
            .collect();
        let samples = self
            .table
            .batch_get(&keys)
            .await?
            .into_iter()
            .map(tracseq_aws::store::from_item::<Sample>)
            .collect::<Result<Vec<_>, _>>()?;
        self.visible(lab, samples).await
    }

    /// Drop samples of imports that have not completed: an import becomes visible all at
    /// once, when its status turns `completed`, never row by row.
    pub async fn visible(&self, lab: &str, samples: Vec<Sample>) -> Result<Vec<Sample>, Problem> {
        let pending: HashSet<String> = {
            let done = self.completed_imports.lock().unwrap_or_else(|p| p.into_inner());
            samples
                .iter()
                .filter_map(|s| s.import_id.clone())
                .filter(|i| !done.contains(i))
                .collect()
        };
        if pending.is_empty() {
            return Ok(samples);
        }
        let mut completed = HashMap::new();
        for id in pending {
            let done = self
                .import(lab, &id)
                .await
                .is_ok_and(|i| i.status == ImportStatus::Completed);
            if done {
                self.completed_imports
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id.clone());
            }
            completed.insert(id, done);
        }
        Ok(samples
            .into_iter()
            .filter(|s| {
                s.import_id
                    .as_ref()
                    .is_none_or(|i| completed.get(i).copied().unwrap_or(true))
            })
            .collect())
    }

    pub async fn template(&self, lab: &str, id: &str) -> Result<Template, Problem> {
        if !is_valid_id(id) {
            return Err(Problem::not_found("template"));
        }
        self.table
            .get_as(&keys::lab(lab), &keys::template_sk(id))
            .await?
            .ok_or_else(|| Problem::not_found("template"))
    }

    pub async fn template_version(&self, lab: &str, id: &str, number: u32) -> Result<TemplateVersion, Problem> {
        self.table
            .get_as(&keys::template_versions(lab, id), &keys::template_version_sk(number))
            .await?
            .ok_or_else(|| Problem::not_found("template version"))
    }

    /// The latest published version of a template, compiled; 422 if it was never published.
    pub async fn published(&self, lab: &str, id: &str, field: &str) -> Result<(u32, Compiled), Problem> {
        let head = self.template(lab, id).await.map_err(|_| {
            Problem::validation(vec![
                tracseq_core::FieldError::field(field, "exists", "no such template").with_value(id),
            ])
        })?;
        let Some(number) = head.published_version else {
            return Err(Problem::validation(vec![tracseq_core::FieldError::field(
                field,
                "published",
                "the template has no published version yet",
            )]));
        };
        let v = self.template_version(lab, id, number).await?;
        let compiled = v.definition.compile().map_err(|_| {
            tracing::error!(template = id, number, "a published template version does not compile");
            Problem::internal()
        })?;
        Ok((number, compiled))
    }

    pub async fn import(&self, lab: &str, id: &str) -> Result<Import, Problem> {
        if !is_valid_id(id) {
            return Err(Problem::not_found("import"));
        }
        self.table
            .get_as(&keys::import(lab, id), keys::IMPORT_SK)
            .await?
            .ok_or_else(|| Problem::not_found("import"))
    }

    /// `count` new barcodes of the lab, `{PREFIX}-{YYYYMMDD}-{NNNNNN}`, from one counter
    /// update (creates, batches and imports all take theirs here).
    pub async fn new_barcodes(&self, lab: &str, count: usize) -> Result<Vec<String>, Problem> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let first = self.reserve_barcodes(lab, count as u64).await?;
        let prefix = self.barcode_prefix(lab).await?;
        let today = time::OffsetDateTime::now_utc().date();
        Ok((first..first + count as u64)
            .map(|n| crate::domain::barcode::generate(&prefix, today, n))
            .collect())
    }

    /// Reserve `count` numbers of the lab's barcode counter (one atomic `ADD`); answers the
    /// first. A failed create leaves a gap, never a duplicate.
    async fn reserve_barcodes(&self, lab: &str, count: u64) -> Result<u64, Problem> {
        let out = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .key("PK", s(keys::lab(lab)))
            .key("SK", s(keys::BARCODE_COUNTER_SK))
            .update_expression("ADD #n :c SET entity = :e")
            .expression_attribute_names("#n", "value")
            .expression_attribute_values(":c", n(count))
            .expression_attribute_values(":e", s("counter"))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let last = out
            .attributes
            .and_then(|a| a.get("value").cloned())
            .and_then(|v| match v {
                AttributeValue::N(n) => n.parse::<u64>().ok(),
                _ => None,
            })
            .ok_or_else(Problem::internal)?;
        Ok(last + 1 - count)
    }

    /// The lab's barcode prefix (from its settings), or the deployment default.
    async fn barcode_prefix(&self, lab: &str) -> Result<String, Problem> {
        let item = self.table.get(&keys::lab(lab), keys::LAB_SK).await?;
        let prefix = item
            .and_then(|i| i.get("barcode_prefix").and_then(|v| v.as_s().ok()).cloned())
            .filter(|p| crate::domain::barcode::valid_prefix(p));
        Ok(prefix.unwrap_or_else(|| self.settings.barcode_prefix.clone()))
    }

    /// The lab's creation month (`yyyy-mm`): where listing by month stops.
    /// It never changes, so each container reads it once per lab.
    pub async fn lab_since(&self, lab: &str) -> Result<String, Problem> {
        if let Some(m) = self.lab_months.lock().unwrap_or_else(|p| p.into_inner()).get(lab) {
            return Ok(m.clone());
        }
        let item = self.table.get(&keys::lab(lab), keys::LAB_SK).await?;
        let month = item
            .and_then(|i| i.get("created_at").and_then(|v| v.as_s().ok()).cloned())
            .map(|c| crate::model::month_of(&c).to_owned())
            .unwrap_or_else(|| "2020-01".to_owned());
        self.lab_months
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(lab.to_owned(), month.clone());
        Ok(month)
    }
}
