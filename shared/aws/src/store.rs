//! DynamoDB access for handlers: typed items, conditional writes, optimistic locking,
//! transactions with guard items, cursor queries, and SDK errors mapped to [`StoreError`].

pub use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem};
use serde::{Serialize, de::DeserializeOwned};
use std::collections::HashMap;
use tracseq_core::Problem;
use tracseq_core::pagination::{Cursor, Page, PageRequest};

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI2: &str = "GSI2";
/// TTL attribute (epoch seconds). DynamoDB deletes late and moto never: readers check it.
pub const EXPIRES_AT: &str = "expires_at";
/// Most items a single `TransactWriteItems` accepts.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: stale version, duplicate guard, missing item.
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was cancelled; `reasons[i]` is the code for action `i` (`None` = fine).
    #[error("transaction cancelled: {reasons:?}")]
    TransactionCancelled { reasons: Vec<Option<String>> },
    /// Another transaction touched the same items at the same time; safe to retry.
    #[error("transaction conflict")]
    TransactionConflict,
    #[error("throttled by DynamoDB")]
    Throttled,
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
    #[error("request rejected by DynamoDB: {0}")]
    Invalid(String),
    #[error("item does not match its type: {0}")]
    Serde(String),
}

impl StoreError {
    /// Index of the first action that failed its condition, if this is a cancelled transaction.
    pub fn failed_action(&self) -> Option<usize> {
        match self {
            StoreError::TransactionCancelled { reasons } => reasons
                .iter()
                .position(|r| r.as_deref() == Some("ConditionalCheckFailed")),
            _ => None,
        }
    }

    /// Whether a condition (guard, version) decided the outcome, rather than a failure.
    pub fn is_condition_failure(&self) -> bool {
        matches!(self, StoreError::ConditionFailed) || self.failed_action().is_some()
    }

    pub fn from_sdk<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(err: SdkError<E, R>) -> Self {
        match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
                return StoreError::Unavailable(format!("{err:?}").chars().take(300).collect());
            }
            _ => {}
        }
        match err.code() {
            Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
            Some("TransactionConflictException") => StoreError::TransactionConflict,
            Some("ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded") => {
                StoreError::Throttled
            }
            Some("ResourceNotFoundException" | "InternalServerError" | "ServiceUnavailable") => {
                StoreError::Unavailable(err.message().unwrap_or("dependency error").to_owned())
            }
            _ => StoreError::Invalid(format!("{:?}: {}", err.code(), err.message().unwrap_or(""))),
        }
    }

    fn from_transact<R: std::fmt::Debug>(err: SdkError<TransactWriteItemsError, R>) -> Self {
        if let SdkError::ServiceError(se) = &err
            && let TransactWriteItemsError::TransactionCanceledException(e) = se.err()
        {
            {
                let reasons = e
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().filter(|c| *c != "None").map(str::to_owned))
                    .collect::<Vec<_>>();
                if reasons.iter().any(|r| r.as_deref() == Some("TransactionConflict")) {
                    return StoreError::TransactionConflict;
                }
                return StoreError::TransactionCancelled { reasons };
            }
        }
        Self::from_sdk(err)
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConditionFailed | StoreError::TransactionCancelled { .. } => {
                Problem::conflict("conflict", "the resource changed or already exists; reload and retry")
            }
            StoreError::TransactionConflict => {
                let mut p = Problem::conflict("concurrent_update", "another request changed the same data; retry");
                p.retry_after = Some(1);
                p
            }
            StoreError::Throttled => Problem::unavailable("the data store is busy; retry shortly"),
            StoreError::Unavailable(detail) => {
                tracing::error!(%detail, "data store unavailable");
                Problem::unavailable("the data store is unavailable; retry shortly")
            }
            StoreError::Invalid(detail) | StoreError::Serde(detail) => {
                tracing::error!(%detail, "data store rejected a request");
                Problem::internal()
            }
        }
    }
}

/// A lost version condition is a stale write (409 `version_conflict`).
pub fn stale(what: &'static str) -> impl Fn(StoreError) -> Problem {
    move |e| {
        if e.is_condition_failure() {
            Problem::conflict(
                "version_conflict",
                format!("the {what} changed meanwhile; reload and retry"),
            )
        } else {
            e.into()
        }
    }
}

pub fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Serde(e.to_string()))
}

/// `value` as an item, plus its key attributes (`PK`, `SK`, `GSI1PK` …) and `entity`.
pub fn keyed_item<T: Serialize>(value: &T, keys: &[(&str, String)], entity: &str) -> Result<Item, StoreError> {
    let mut item = to_item(value)?;
    for (name, key) in keys {
        item.insert((*name).to_owned(), s(key.as_str()));
    }
    item.insert("entity".to_owned(), s(entity));
    Ok(item)
}

/// The item of a record that knows its keys (`tracseq_core::keyed::Keyed`).
pub trait ToItem {
    fn item(&self, lab: &str) -> Result<Item, StoreError>;
}

impl<T: tracseq_core::keyed::Keyed> ToItem for T {
    fn item(&self, lab: &str) -> Result<Item, StoreError> {
        keyed_item(self, &self.keys(lab), T::ENTITY)
    }
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Serde(e.to_string()))
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn now_epoch() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Whether an item's TTL has passed (DynamoDB may not have deleted it yet; moto never does).
pub fn is_expired(item: &Item, now: i64) -> bool {
    match item.get(EXPIRES_AT) {
        Some(AttributeValue::N(v)) => v.parse::<i64>().is_ok_and(|t| t <= now),
        _ => false,
    }
}

/// The single table.
#[derive(Debug, Clone)]
pub struct Table {
    pub client: aws_sdk_dynamodb::Client,
    pub name: String,
}

impl Table {
    pub fn new(client: aws_sdk_dynamodb::Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    fn key(pk: &str, sk: &str) -> Item {
        HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
    }

    /// Strongly consistent read; an expired item reads as absent.
    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item.filter(|i| !is_expired(i, now_epoch())))
    }

    pub async fn get_as<T: DeserializeOwned>(&self, pk: &str, sk: &str) -> Result<Option<T>, StoreError> {
        self.get(pk, sk).await?.map(from_item).transpose()
    }

    /// Delete an item if its `version` is `expected` (a missing item fails the condition too).
    pub async fn delete_versioned(&self, pk: &str, sk: &str, expected: u64) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(pk, sk)))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", n(expected))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Put an item, replacing any item with its key.
    pub async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Put an item that must not exist yet.
    pub async fn put_new(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Set attributes on an existing item if its `version` is `expected`; returns the new version.
    pub async fn update_versioned(
        &self,
        pk: &str,
        sk: &str,
        expected: u64,
        sets: &[(&str, AttributeValue)],
    ) -> Result<u64, StoreError> {
        let mut expr = String::from("SET #version = :next");
        let mut req = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(Self::key(pk, sk)))
            .condition_expression("attribute_exists(PK) AND #version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", n(expected))
            .expression_attribute_values(":next", n(expected + 1));
        for (i, (name, value)) in sets.iter().enumerate() {
            expr.push_str(&format!(", #a{i} = :v{i}"));
            req = req
                .expression_attribute_names(format!("#a{i}"), *name)
                .expression_attribute_values(format!(":v{i}"), value.clone());
        }
        req.update_expression(expr).send().await.map_err(StoreError::from_sdk)?;
        Ok(expected + 1)
    }

    /// Run a write transaction (at most [`MAX_TRANSACTION_ITEMS`] actions).
    pub async fn transact(&self, actions: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        if actions.is_empty() || actions.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Invalid(format!(
                "a transaction takes 1 to 100 actions, not {}",
                actions.len()
            )));
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
            .map_err(StoreError::from_transact)?;
        Ok(())
    }

    /// [`Table::transact`], retried a few times (with jitter) when DynamoDB cancels it for
    /// a conflict with another transaction on the same items, as hot counters do.
    pub async fn transact_retrying(&self, actions: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        let mut attempt = 0u32;
        loop {
            match self.transact(actions.clone()).await {
                Err(StoreError::TransactionConflict) if attempt < 4 => {
                    attempt += 1;
                    let jitter = u64::from(ulid::Ulid::new().random() as u16 % 20);
                    tokio::time::sleep(std::time::Duration::from_millis(10 * (1 << attempt) + jitter)).await;
                }
                other => return other,
            }
        }
    }

    /// Unconditional puts of many items (in requests of 25, retrying unprocessed ones with
    /// backoff), for writes that are safe to repeat: items under deterministic keys.
    pub async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            let mut writes = items
                .by_ref()
                .take(25)
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                        .map_err(|e| StoreError::Invalid(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            for attempt in 0..8u32 {
                if writes.is_empty() {
                    break;
                }
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.name, std::mem::take(&mut writes))
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                writes = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.name))
                    .unwrap_or_default();
            }
            if !writes.is_empty() {
                return Err(StoreError::Throttled);
            }
        }
        Ok(())
    }

    /// Every item of one partition (strongly consistent, all pages), for partitions bounded
    /// by design, such as a box's positions.
    pub async fn query_all(&self, partition: &str) -> Result<Vec<Item>, StoreError> {
        self.query_prefix(partition, "").await
    }

    /// Every item of one partition whose sort key starts with `prefix` (all pages, strongly
    /// consistent), for sets bounded by design, such as a lab's subscriptions.
    pub async fn query_prefix(&self, partition: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.query_pages(None, partition, prefix).await
    }

    /// Every item of one partition of an index (`GSI1`, `GSI2`), all pages; index reads
    /// are eventually consistent.
    pub async fn query_index_all(&self, index: &str, partition: &str) -> Result<Vec<Item>, StoreError> {
        self.query_pages(Some(index), partition, "").await
    }

    async fn query_pages(&self, index: Option<&str>, partition: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let (pk, sk) = match index {
            Some(i) => (format!("{i}PK"), format!("{i}SK")),
            None => (PK.to_owned(), SK.to_owned()),
        };
        let mut out = Vec::new();
        let mut start = None;
        let now = now_epoch();
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.name)
                .set_index_name(index.map(str::to_owned))
                .expression_attribute_names("#pk", pk.as_str())
                .expression_attribute_values(":pk", s(partition));
            // DynamoDB refuses an empty begins_with operand.
            q = if prefix.is_empty() {
                q.key_condition_expression("#pk = :pk")
            } else {
                q.key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", sk.as_str())
                    .expression_attribute_values(":prefix", s(prefix))
            };
            let got = q
                // Indexes cannot be read consistently; the table can.
                .consistent_read(index.is_none())
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            out.extend(
                got.items
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|i| !is_expired(i, now)),
            );
            start = got.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// Strongly consistent reads of many items (in requests of 100, retrying unprocessed
    /// keys); missing and expired items are left out, order is not kept.
    pub async fn batch_get(&self, keys: &[(String, String)]) -> Result<Vec<Item>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut out = Vec::with_capacity(keys.len());
        let now = now_epoch();
        let mut unique: Vec<&(String, String)> = keys.iter().collect();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(100) {
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.iter().map(|(pk, sk)| Self::key(pk, sk)).collect()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Invalid(e.to_string()))?,
            );
            for attempt in 0..8u64 {
                let Some(req) = request.take() else { break };
                if attempt > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
                }
                let got = self
                    .client
                    .batch_get_item()
                    .request_items(&self.name, req)
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                let items = got.responses.and_then(|mut r| r.remove(&self.name)).unwrap_or_default();
                out.extend(items.into_iter().filter(|i| !is_expired(i, now)));
                request = got
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.name))
                    .filter(|k| !k.keys().is_empty());
            }
            if request.is_some() {
                return Err(StoreError::Throttled);
            }
        }
        Ok(out)
    }

    /// A transaction action: put an item whatever is there (a record the transaction
    /// itself decides, such as an alert period opened and later closed).
    pub fn put_op(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A transaction action: put an item that must not exist (a record or a guard).
    pub fn put_new_op(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A guard item that makes `(pk, sk)` unique (email, barcode, occupied position).
    pub fn guard_op(&self, pk: &str, sk: &str, owner: &str) -> Result<TransactWriteItem, StoreError> {
        let mut item = Self::key(pk, sk);
        item.insert("entity".into(), s("guard"));
        item.insert("owner".into(), s(owner));
        self.put_new_op(item)
    }

    /// A transaction action: replace an item whose `version` must be `expected`.
    pub fn put_versioned_op(&self, item: Item, expected: u64) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", n(expected))
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A transaction action: set string attributes of an item whose `attr` still equals
    /// `expected` (a copy kept in step with the record it was taken from).
    pub fn set_where_op(
        &self,
        pk: &str,
        sk: &str,
        sets: &[(&'static str, &'static str)],
        (attr, expected): (&str, &str),
    ) -> Result<TransactWriteItem, StoreError> {
        let mut update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.name)
            .set_key(Some(Self::key(pk, sk)))
            .condition_expression("#w = :w")
            .expression_attribute_names("#w", attr)
            .expression_attribute_values(":w", s(expected));
        let mut clauses = Vec::with_capacity(sets.len());
        for (i, (name, value)) in sets.iter().enumerate() {
            clauses.push(format!("#s{i} = :s{i}"));
            update = update
                .expression_attribute_names(format!("#s{i}"), *name)
                .expression_attribute_values(format!(":s{i}"), s(*value));
        }
        let update = update
            .update_expression(format!("SET {}", clauses.join(", ")))
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A transaction action: delete an item (a released guard), which must exist.
    pub fn delete_op(&self, pk: &str, sk: &str) -> Result<TransactWriteItem, StoreError> {
        let del = Delete::builder()
            .table_name(&self.name)
            .set_key(Some(Self::key(pk, sk)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }

    /// A transaction action: delete an item whose `attr` equals `expected` (a guard its
    /// owner gives up; someone else's stays).
    pub fn delete_where_op(
        &self,
        pk: &str,
        sk: &str,
        (attr, expected): (&str, &str),
    ) -> Result<TransactWriteItem, StoreError> {
        let del = Delete::builder()
            .table_name(&self.name)
            .set_key(Some(Self::key(pk, sk)))
            .condition_expression("#w = :w")
            .expression_attribute_names("#w", attr)
            .expression_attribute_values(":w", s(expected))
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }

    /// A transaction action: require that an item exists with `version` = `expected`.
    pub fn check_version_op(&self, pk: &str, sk: &str, expected: u64) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.name)
            .set_key(Some(Self::key(pk, sk)))
            .condition_expression("#version = :expected")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":expected", n(expected))
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// One page of a list, each item read as a `T`.
    pub async fn query_page_as<T: serde::de::DeserializeOwned>(
        &self,
        q: &PageQuery<'_>,
        page: &PageRequest,
    ) -> Result<Page<T>, Problem> {
        let out = self.query_page(q, page).await?;
        let items = out
            .items
            .into_iter()
            .map(from_item::<T>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::new(items, out.next_cursor))
    }

    /// One page of a partition (of the table or of `index`), optionally limited to a sort-key
    /// prefix, skipping expired items. The cursor is pinned to the partition.
    pub async fn query_page(&self, q: &PageQuery<'_>, page: &PageRequest) -> Result<Page<Item>, Problem> {
        let (pk_attr, sk_attr) = match q.index {
            None => (PK, SK),
            Some(GSI1) => ("GSI1PK", "GSI1SK"),
            Some(GSI2) => ("GSI2PK", "GSI2SK"),
            Some(other) => return Err(StoreError::Invalid(format!("unknown index {other}")).into()),
        };
        let start = match page.cursor.as_deref() {
            Some(raw) => Some(Cursor::decode(raw, &[(pk_attr, q.partition)])?),
            None => None,
        };
        let mut req = self
            .client
            .query()
            .table_name(&self.name)
            .set_index_name(q.index.map(str::to_owned))
            .scan_index_forward(q.forward)
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", s(q.partition))
            .expression_attribute_names("#ttl", EXPIRES_AT)
            .expression_attribute_values(":now", n(now_epoch()))
            .filter_expression("attribute_not_exists(#ttl) OR #ttl > :now");
        req = match (q.sk_prefix, q.between) {
            (Some(prefix), _) => req
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":prefix", s(prefix)),
            (None, Some((lo, hi))) => req
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":lo", s(lo))
                .expression_attribute_values(":hi", s(hi)),
            (None, None) => req.key_condition_expression("#pk = :pk"),
        };
        let mut filters: Vec<Filter> = q.filters.to_vec();
        if let Some((attr, value)) = q.filter_eq {
            filters.push(Filter::Eq(attr.to_owned(), value.to_owned()));
        }
        if !filters.is_empty() {
            let mut expr = String::from("(attribute_not_exists(#ttl) OR #ttl > :now)");
            let mut n = 0;
            for f in &filters {
                expr.push_str(" AND ");
                req = f.render(req, &mut expr, &mut n);
            }
            req = req.filter_expression(expr);
        }
        let mut start = start.map(|c| c.0.into_iter().map(|(k, v)| (k, s(v))).collect::<Item>());
        let mut items = Vec::new();
        // A filter applies after `Limit`: keep reading (a bounded number of times) so a
        // filtered page is full unless the partition ends. Asking only for what is missing
        // means the last key read is exactly where the next page starts.
        for _ in 0..if filters.is_empty() { 1 } else { 10 } {
            let out = req
                .clone()
                .limit((page.limit as usize - items.len()) as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() || items.len() >= page.limit as usize {
                break;
            }
        }
        let next_cursor = start.map(|key| {
            let strings = key
                .into_iter()
                .filter_map(|(k, v)| v.as_s().ok().map(|s| (k, s.clone())))
                .collect();
            Cursor(strings).encode()
        });
        Ok(Page { items, next_cursor })
    }
}

/// A condition on a listed item's attributes (a DynamoDB filter expression).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Eq(String, String),
    Ne(String, String),
    BeginsWith(String, String),
    NotBeginsWith(String, String),
    Contains(String, String),
    /// At least one of these.
    Any(Vec<Filter>),
}

type QueryBuilder = aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;

impl Filter {
    fn render(&self, mut req: QueryBuilder, expr: &mut String, n: &mut usize) -> QueryBuilder {
        let mut bind = |req: QueryBuilder, attr: &str, value: &str| {
            *n += 1;
            let (name, val) = (format!("#f{n}"), format!(":f{n}"));
            let req = req
                .expression_attribute_names(&name, attr)
                .expression_attribute_values(&val, s(value));
            (req, name, val)
        };
        match self {
            Filter::Eq(a, v)
            | Filter::Ne(a, v)
            | Filter::BeginsWith(a, v)
            | Filter::NotBeginsWith(a, v)
            | Filter::Contains(a, v) => {
                let (r, name, val) = bind(req, a, v);
                expr.push_str(&match self {
                    Filter::Eq(..) => format!("{name} = {val}"),
                    Filter::Ne(..) => format!("{name} <> {val}"),
                    Filter::BeginsWith(..) => format!("begins_with({name}, {val})"),
                    Filter::NotBeginsWith(..) => format!("NOT begins_with({name}, {val})"),
                    _ => format!("contains({name}, {val})"),
                });
                r
            }
            Filter::Any(parts) => {
                expr.push('(');
                for (i, f) in parts.iter().enumerate() {
                    if i > 0 {
                        expr.push_str(" OR ");
                    }
                    req = f.render(req, expr, n);
                }
                expr.push(')');
                req
            }
        }
    }
}

/// What [`Table::query_page`] reads.
#[derive(Debug, Clone, Copy)]
pub struct PageQuery<'a> {
    pub index: Option<&'a str>,
    pub partition: &'a str,
    pub sk_prefix: Option<&'a str>,
    /// Ascending sort key order; ids are ULIDs, so `false` is newest first.
    pub forward: bool,
    /// Sort key range, inclusive (ignored when `sk_prefix` is set).
    pub between: Option<(&'a str, &'a str)>,
    /// Keep only items whose string attribute equals the value.
    pub filter_eq: Option<(&'a str, &'a str)>,
    /// Further conditions, all of which must hold.
    pub filters: &'a [Filter],
}

impl<'a> PageQuery<'a> {
    /// A whole partition of the table, oldest first.
    pub fn of(partition: &'a str) -> Self {
        Self {
            index: None,
            partition,
            sk_prefix: None,
            forward: true,
            between: None,
            filter_eq: None,
            filters: &[],
        }
    }

    pub fn filtered(self, filters: &'a [Filter]) -> Self {
        Self { filters, ..self }
    }

    pub fn between(self, lo: &'a str, hi: &'a str) -> Self {
        Self {
            between: Some((lo, hi)),
            ..self
        }
    }

    pub fn newest_first(self) -> Self {
        Self { forward: false, ..self }
    }

    pub fn filter_eq(self, attr: &'a str, value: &'a str) -> Self {
        Self {
            filter_eq: Some((attr, value)),
            ..self
        }
    }

    pub fn on_index(self, index: &'a str) -> Self {
        Self {
            index: Some(index),
            ..self
        }
    }

    pub fn with_prefix(self, prefix: &'a str) -> Self {
        Self {
            sk_prefix: Some(prefix),
            ..self
        }
    }
}
