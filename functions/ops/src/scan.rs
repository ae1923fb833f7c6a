//! Paging through a table segment. Operations functions are the only Scan callers in the
//! system (docs/data-model.md keeps Scan off every request path); they run on schedules and queues.

use crate::dynamo_json::Item;
use crate::error::OpsError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// A server-side filter: the expression and its `:values`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub expression: String,
    pub values: HashMap<String, AttributeValue>,
}

/// The pages of segment `segment` of `total`, strongly consistent.
pub struct Pager<'a> {
    ddb: &'a aws_sdk_dynamodb::Client,
    table: &'a str,
    segment: (u32, u32),
    filter: Option<&'a Filter>,
    start: Option<HashMap<String, AttributeValue>>,
    done: bool,
}

impl<'a> Pager<'a> {
    pub fn new(
        ddb: &'a aws_sdk_dynamodb::Client,
        table: &'a str,
        segment: (u32, u32),
        filter: Option<&'a Filter>,
    ) -> Self {
        Self {
            ddb,
            table,
            segment,
            filter,
            start: None,
            done: false,
        }
    }

    /// The next page, or `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<Item>>, OpsError> {
        if self.done {
            return Ok(None);
        }
        let (segment, total) = self.segment;
        let mut req = self
            .ddb
            .scan()
            .table_name(self.table)
            .consistent_read(true)
            .set_exclusive_start_key(self.start.take());
        if total > 1 {
            req = req.segment(segment as i32).total_segments(total as i32);
        }
        if let Some(f) = self.filter {
            req = req
                .filter_expression(&f.expression)
                .set_expression_attribute_values(Some(f.values.clone()));
        }
        let page = req
            .send()
            .await
            .map_err(|e| OpsError::aws(&format!("scanning {}", self.table), e))?;
        self.start = page.last_evaluated_key.filter(|k| !k.is_empty());
        self.done = self.start.is_none();
        Ok(Some(page.items.unwrap_or_default()))
    }

    /// Every item of the segment.
    pub async fn collect(mut self) -> Result<Vec<Item>, OpsError> {
        let mut out = Vec::new();
        while let Some(items) = self.next().await? {
            out.extend(items);
        }
        Ok(out)
    }
}
