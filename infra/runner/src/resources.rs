//! Create the template's tables, queues, buckets and state machines in moto. Every create
//! tolerates "already exists", so restarting the runner against a running moto is safe.

use crate::template::{Model, ResourceSpec, scalar_string};
use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
#[error("creating {resource} failed: {detail}")]
pub struct ResourceError {
    pub resource: String,
    pub detail: String,
}

fn err(resource: &str, e: impl std::fmt::Debug) -> ResourceError {
    ResourceError {
        resource: resource.to_owned(),
        detail: format!("{e:?}").chars().take(500).collect(),
    }
}

/// Create everything; returns queue URLs by logical id as moto reports them.
pub async fn create_all(sdk: &SdkConfig, model: &Model) -> Result<HashMap<String, String>, ResourceError> {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build());
    let sfn = aws_sdk_sfn::Client::new(sdk);
    let sns = aws_sdk_sns::Client::new(sdk);
    let mut queue_urls = HashMap::new();
    // Queues without redrive first, so dead-letter targets exist when redrive is set.
    for r in model.resources.iter().filter(|r| r.kind == "AWS::SQS::Queue") {
        queue_urls.insert(r.logical_id.clone(), create_queue(&sqs, r).await?);
    }
    for r in model.resources.iter().filter(|r| r.kind == "AWS::SQS::Queue") {
        if let Some(redrive) = r.properties.get("RedrivePolicy").filter(|v| v.is_object()) {
            let url = &queue_urls[&r.logical_id];
            sqs.set_queue_attributes()
                .queue_url(url)
                .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
                .send()
                .await
                .map_err(|e| err(&r.logical_id, e))?;
        }
    }
    for r in &model.resources {
        match r.kind.as_str() {
            "AWS::DynamoDB::Table" => create_table(&ddb, r).await?,
            "AWS::S3::Bucket" => {
                if let Err(e) = s3.create_bucket().bucket(&r.physical).send().await {
                    let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e)
                        .unwrap_or_default()
                        .to_owned();
                    if code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
                        return Err(err(&r.logical_id, e));
                    }
                }
                notify_queues(&s3, r).await?;
                cors(&s3, r).await?;
            }
            "AWS::Serverless::StateMachine" => create_state_machine(&sfn, r).await?,
            // CreateTopic is idempotent: the same name answers the same ARN.
            "AWS::SNS::Topic" => {
                sns.create_topic()
                    .name(&r.physical)
                    .send()
                    .await
                    .map_err(|e| err(&r.logical_id, e))?;
            }
            _ => {}
        }
    }
    Ok(queue_urls)
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, r: &ResourceSpec) -> Result<String, ResourceError> {
    let mut req = sqs.create_queue().queue_name(&r.physical);
    let p = &r.properties;
    for (prop, attr) in [
        ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
        ("MessageRetentionPeriod", QueueAttributeName::MessageRetentionPeriod),
        ("DelaySeconds", QueueAttributeName::DelaySeconds),
        (
            "ReceiveMessageWaitTimeSeconds",
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
        ),
    ] {
        if let Some(v) = p.get(prop).filter(|v| !v.is_null()) {
            req = req.attributes(attr, scalar_string(v));
        }
    }
    if p["FifoQueue"].as_bool() == Some(true) {
        req = req.attributes(QueueAttributeName::FifoQueue, "true");
    }
    let out = req.send().await.map_err(|e| err(&r.logical_id, e))?;
    out.queue_url.ok_or_else(|| err(&r.logical_id, "no queue url"))
}

fn attr_type(t: &str) -> ScalarAttributeType {
    match t {
        "N" => ScalarAttributeType::N,
        "B" => ScalarAttributeType::B,
        _ => ScalarAttributeType::S,
    }
}

fn key_schema(v: &Value) -> Vec<KeySchemaElement> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| {
            KeySchemaElement::builder()
                .attribute_name(k["AttributeName"].as_str()?)
                .key_type(if k["KeyType"] == "RANGE" {
                    KeyType::Range
                } else {
                    KeyType::Hash
                })
                .build()
                .ok()
        })
        .collect()
}

async fn create_table(ddb: &aws_sdk_dynamodb::Client, r: &ResourceSpec) -> Result<(), ResourceError> {
    let p = &r.properties;
    let mut req = ddb
        .create_table()
        .table_name(&r.physical)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&p["KeySchema"])));
    for a in p["AttributeDefinitions"].as_array().into_iter().flatten() {
        if let Ok(def) = AttributeDefinition::builder()
            .attribute_name(a["AttributeName"].as_str().unwrap_or_default())
            .attribute_type(attr_type(a["AttributeType"].as_str().unwrap_or("S")))
            .build()
        {
            req = req.attribute_definitions(def);
        }
    }
    for g in p["GlobalSecondaryIndexes"].as_array().into_iter().flatten() {
        let projection = match g["Projection"]["ProjectionType"].as_str() {
            Some("KEYS_ONLY") => ProjectionType::KeysOnly,
            Some("INCLUDE") => ProjectionType::Include,
            _ => ProjectionType::All,
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(g["IndexName"].as_str().unwrap_or_default())
            .set_key_schema(Some(key_schema(&g["KeySchema"])))
            .projection(Projection::builder().projection_type(projection).build())
            .build()
            .map_err(|e| err(&r.logical_id, e))?;
        req = req.global_secondary_indexes(gsi);
    }
    if let Some(view) = p["StreamSpecification"]["StreamViewType"].as_str() {
        let view = StreamViewType::from(view);
        req = req.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(view)
                .build()
                .map_err(|e| err(&r.logical_id, e))?,
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) if aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e) == Some("ResourceInUseException") => {
            return Ok(());
        }
        Err(e) => return Err(err(&r.logical_id, e)),
    }
    if let Some(attr) = p["TimeToLiveSpecification"]["AttributeName"].as_str() {
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(attr)
            .enabled(true)
            .build()
            .map_err(|e| err(&r.logical_id, e))?;
        ddb.update_time_to_live()
            .table_name(&r.physical)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| err(&r.logical_id, e))?;
    }
    Ok(())
}

async fn create_state_machine(sfn: &aws_sdk_sfn::Client, r: &ResourceSpec) -> Result<(), ResourceError> {
    let p = &r.properties;
    let mut definition = match (
        p.get("Definition").filter(|d| d.is_object()),
        p["DefinitionUri"].as_str(),
    ) {
        (Some(d), _) => d.to_string(),
        (None, Some(uri)) => std::fs::read_to_string(r.dir.join(uri)).map_err(|e| err(&r.logical_id, e))?,
        _ => return Err(err(&r.logical_id, "no Definition or DefinitionUri")),
    };
    for (k, v) in p["DefinitionSubstitutions"].as_object().into_iter().flatten() {
        definition = definition.replace(&format!("${{{k}}}"), &scalar_string(v));
    }
    let role = format!("arn:aws:iam::{}:role/{}-role", crate::template::ACCOUNT, r.physical);
    let arn = format!(
        "arn:aws:states:us-east-1:{}:stateMachine:{}",
        crate::template::ACCOUNT,
        r.physical
    );
    match sfn
        .create_state_machine()
        .name(&r.physical)
        .definition(&definition)
        .role_arn(&role)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if aws_sdk_sfn::error::ProvideErrorMetadata::code(&e) == Some("StateMachineAlreadyExists") => sfn
            .update_state_machine()
            .state_machine_arn(arn)
            .definition(definition)
            .send()
            .await
            .map(drop)
            .map_err(|e| err(&r.logical_id, e)),
        Err(e) => Err(err(&r.logical_id, e)),
    }
}

/// A bucket's `NotificationConfiguration.QueueConfigurations`: moto then sends each
/// matching object event to the queue, as S3 does.
/// A list property as strings: a YAML list, or a comma-delimited parameter's value.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().map(scalar_string).collect(),
        Value::String(s) => s
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// The bucket's CORS rules, so a browser's presigned upload is allowed as in AWS (moto
/// answers the preflight from them).
async fn cors(s3: &aws_sdk_s3::Client, r: &ResourceSpec) -> Result<(), ResourceError> {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
    let Some(rules) = r.properties["CorsConfiguration"]["CorsRules"].as_array() else {
        return Ok(());
    };
    let mut built = Vec::new();
    for rule in rules {
        let b = CorsRule::builder()
            .set_allowed_methods(Some(strings(&rule["AllowedMethods"])))
            .set_allowed_origins(Some(strings(&rule["AllowedOrigins"])))
            .set_allowed_headers(Some(strings(&rule["AllowedHeaders"])))
            .set_max_age_seconds(rule["MaxAge"].as_i64().and_then(|m| i32::try_from(m).ok()))
            .build()
            .map_err(|e| err(&r.logical_id, e))?;
        built.push(b);
    }
    let config = CorsConfiguration::builder()
        .set_cors_rules(Some(built))
        .build()
        .map_err(|e| err(&r.logical_id, e))?;
    s3.put_bucket_cors()
        .bucket(&r.physical)
        .cors_configuration(config)
        .send()
        .await
        .map_err(|e| err(&r.logical_id, e))?;
    Ok(())
}

async fn notify_queues(s3: &aws_sdk_s3::Client, r: &ResourceSpec) -> Result<(), ResourceError> {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
        QueueConfiguration, S3KeyFilter,
    };
    let Some(configs) = r.properties["NotificationConfiguration"]["QueueConfigurations"].as_array() else {
        return Ok(());
    };
    let mut queues = Vec::new();
    for c in configs {
        let mut rules = Vec::new();
        for rule in c["Filter"]["S3Key"]["Rules"].as_array().into_iter().flatten() {
            let name = match rule["Name"].as_str().unwrap_or_default().to_ascii_lowercase().as_str() {
                "prefix" => FilterRuleName::Prefix,
                _ => FilterRuleName::Suffix,
            };
            rules.push(
                FilterRule::builder()
                    .name(name)
                    .value(scalar_string(&rule["Value"]))
                    .build(),
            );
        }
        let q = QueueConfiguration::builder()
            .queue_arn(scalar_string(&c["Queue"]))
            .events(Event::from(c["Event"].as_str().unwrap_or("s3:ObjectCreated:*")))
            .filter(
                NotificationConfigurationFilter::builder()
                    .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                    .build(),
            )
            .build()
            .map_err(|e| err(&r.logical_id, e))?;
        queues.push(q);
    }
    s3.put_bucket_notification_configuration()
        .bucket(&r.physical)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(queues))
                .build(),
        )
        .send()
        .await
        .map_err(|e| err(&r.logical_id, e))?;
    Ok(())
}
