//! `Idempotency-Key` records (docs/data-model.md: `LAB#{lab}#IDEMP#{key}` / `IDEMP`, TTL 24 h).
//!
//! [`idempotent`] runs a POST handler at most once per key: the first request claims the
//! key with a short lease, runs, and stores its answer; a retry gets the stored answer back;
//! a concurrent duplicate gets 409 while the first runs; the same key with a different body
//! gets 422. A handler whose writes are one transaction can also add
//! [`IdempotencyStore::completed_op`] to that transaction, so the record and the change
//! commit together even if the process dies right after.

use crate::compress::{deflate, inflate};
use crate::store::{EXPIRES_AT, Item, StoreError, Table, n, now_epoch, s};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use std::future::Future;
use tracseq_core::Problem;
use tracseq_core::http::{Request, Response};
use tracseq_core::idempotency::{IdempotencyKey, StoredResponse, fingerprint};
use tracseq_core::keyed::LabKeys;

const SK: &str = "IDEMP";
const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";
/// Stored answers above this size are deflated.
const COMPRESS_ABOVE: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct IdempotencyStore {
    pub table: Table,
    /// How long a claim blocks duplicates before a crashed first attempt may be retried.
    pub lease_secs: i64,
    /// How long a stored answer is replayed.
    pub ttl_secs: i64,
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Begin {
    /// First time: run the handler, then [`IdempotencyStore::complete`].
    Proceed,
    /// Seen before: answer with this.
    Replay(Response),
}

impl IdempotencyStore {
    pub fn new(table: Table) -> Self {
        Self {
            table,
            lease_secs: 30,
            ttl_secs: 24 * 3600,
        }
    }

    fn base_item(&self, lab: &LabKeys, key: &IdempotencyKey, fp: &str, state: &str) -> Item {
        let now = now_epoch();
        Item::from([
            ("PK".into(), s(lab.idempotency(key.as_str()))),
            ("SK".into(), s(SK)),
            ("entity".into(), s("idempotency")),
            ("state".into(), s(state)),
            ("fingerprint".into(), s(fp)),
            ("lease_until".into(), n(now + self.lease_secs)),
            (EXPIRES_AT.into(), n(now + self.ttl_secs)),
        ])
    }

    pub async fn begin(&self, lab: &LabKeys, key: &IdempotencyKey, fp: &str) -> Result<Begin, Problem> {
        let claim = self
            .table
            .client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(self.base_item(lab, key, fp, IN_PROGRESS)))
            // Free, expired, or a lapsed claim of the same request (the first attempt died).
            .condition_expression(
                "attribute_not_exists(PK) OR #exp <= :now OR (#state = :in_progress AND lease_until <= :now AND fingerprint = :fp)",
            )
            .expression_attribute_names("#exp", EXPIRES_AT)
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now", n(now_epoch()))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":fp", s(fp))
            .send()
            .await;
        match claim {
            Ok(_) => Ok(Begin::Proceed),
            Err(e) => match StoreError::from_sdk(e) {
                StoreError::ConditionFailed => self.existing(lab, key, fp).await,
                other => Err(other.into()),
            },
        }
    }

    async fn existing(&self, lab: &LabKeys, key: &IdempotencyKey, fp: &str) -> Result<Begin, Problem> {
        let item = self.table.get(&lab.idempotency(key.as_str()), SK).await?;
        let Some(item) = item else {
            // Expired between our claim and this read: the client may simply retry.
            return Err(in_progress());
        };
        if item.get("fingerprint").and_then(|v| v.as_s().ok()).map(String::as_str) != Some(fp) {
            return Err(Problem::new(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request",
            ));
        }
        let raw = match (item.get("response"), item.get("response_z")) {
            (Some(AttributeValue::S(raw)), _) => Some(raw.clone()),
            (_, Some(AttributeValue::B(z))) => Some(inflate(z.as_ref()).map_err(|e| {
                tracing::error!(error = %e, "stored idempotent response does not inflate");
                Problem::internal()
            })?),
            _ => None,
        };
        match raw {
            Some(raw) => {
                let stored: StoredResponse = serde_json::from_str(&raw).map_err(|e| {
                    tracing::error!(error = %e, "stored idempotent response is unreadable");
                    Problem::internal()
                })?;
                Ok(Begin::Replay(stored.replay()))
            }
            None => Err(in_progress()),
        }
    }

    fn completed_item(
        &self,
        lab: &LabKeys,
        key: &IdempotencyKey,
        fp: &str,
        resp: &StoredResponse,
    ) -> Result<Item, StoreError> {
        let mut item = self.base_item(lab, key, fp, COMPLETED);
        let body = serde_json::to_string(resp).map_err(|e| StoreError::Serde(e.to_string()))?;
        if body.len() <= COMPRESS_ABOVE {
            item.insert("response".into(), s(body));
        } else {
            // A batch answer can exceed DynamoDB's 400 KB item limit; JSON deflates ~10×.
            item.insert(
                "response_z".into(),
                AttributeValue::B(Blob::new(deflate(body.as_bytes())?)),
            );
        }
        Ok(item)
    }

    /// Store the answer for `key` (only if the record is still ours: same fingerprint).
    pub async fn complete(
        &self,
        lab: &LabKeys,
        key: &IdempotencyKey,
        fp: &str,
        resp: &Response,
    ) -> Result<(), StoreError> {
        let item = self.completed_item(lab, key, fp, &StoredResponse::capture(resp))?;
        self.table
            .client
            .put_item()
            .table_name(&self.table.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR fingerprint = :fp")
            .expression_attribute_values(":fp", s(fp))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// The transaction action that stores `resp` as the answer for `key`, for handlers that
    /// commit their change and the idempotency record together.
    pub fn completed_op(
        &self,
        lab: &LabKeys,
        key: &IdempotencyKey,
        fp: &str,
        resp: &StoredResponse,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table.name)
            .set_item(Some(self.completed_item(lab, key, fp, resp)?))
            .condition_expression("attribute_not_exists(PK) OR (#state = :in_progress AND fingerprint = :fp)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":fp", s(fp))
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Drop a claim so a retry can run (after a failure that should not be replayed).
    pub async fn release(&self, lab: &LabKeys, key: &IdempotencyKey, fp: &str) -> Result<(), StoreError> {
        self.table
            .client
            .delete_item()
            .table_name(&self.table.name)
            .key("PK", s(lab.idempotency(key.as_str())))
            .key("SK", s(SK))
            .condition_expression("#state = :in_progress AND fingerprint = :fp")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":fp", s(fp))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}

fn in_progress() -> Problem {
    let mut p = Problem::conflict(
        "idempotency_in_progress",
        "a request with this Idempotency-Key is still being processed",
    );
    p.retry_after = Some(1);
    p
}

/// Whether an answer is final for its key. Server failures, conflicts and throttles are
/// not: the client's retry with the same key should run again.
fn is_replayable(status: u16) -> bool {
    status < 500 && status != 409 && status != 429
}

/// Run `handler` at most once per `Idempotency-Key` (a request without a key just runs).
pub async fn idempotent<F, Fut>(
    store: &IdempotencyStore,
    lab: &LabKeys,
    req: &Request,
    handler: F,
) -> Result<Response, Problem>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Response, Problem>>,
{
    let Some(key) = req.idempotency_key()? else {
        return handler().await;
    };
    let fp = fingerprint(req.method.as_str(), &req.path, &req.body);
    if let Begin::Replay(resp) = store.begin(lab, &key, &fp).await? {
        return Ok(resp);
    }
    let resp = handler().await.unwrap_or_else(Response::from);
    let saved = if is_replayable(resp.status) {
        store.complete(lab, &key, &fp, &resp).await
    } else {
        store.release(lab, &key, &fp).await
    };
    if let Err(e) = saved {
        // The answer stands; a retry may run again once the lease lapses.
        tracing::warn!(error = %e, "idempotency record not updated");
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    #[test]
    fn large_answers_deflate_and_inflate_back() {
        let body = "{\"x\":1}".repeat(20_000);
        let z = crate::compress::deflate(body.as_bytes()).unwrap();
        assert!(z.len() < body.len() / 10);
        assert_eq!(crate::compress::inflate(&z).unwrap(), body);
    }
}
