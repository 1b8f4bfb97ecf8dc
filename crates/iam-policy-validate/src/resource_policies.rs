//! The resource policies of the resource types that have one, in the shape
//! cfn-policy-validator gives them: the resource's name and type, and the policy under a
//! fixed name (`BucketPolicy`, `QueuePolicy`, ...).

use std::collections::BTreeMap;

use cfn::Node;
use cfn_eval::{Account, EvalError, Evaluator};
use serde_json::{json, Map, Value as Json};

use crate::extract::{Origin, Policy, Resource};
use crate::props::Props;

fn resource(
    name: String,
    resource_type: &str,
    policy_name: &str,
    document: Json,
    origin: Origin,
) -> Resource {
    Resource {
        name,
        resource_type: resource_type.to_owned(),
        policy: Policy {
            name: policy_name.to_owned(),
            document,
            path: "/".into(),
            is_aws_managed: false,
            origin,
        },
        configuration: Map::new(),
    }
}

fn origin_of(p: &Props<'_, '_>, resource_type: &str, property: &str) -> Origin {
    crate::extract::origin(p.logical, resource_type, p.resource, property)
}

/// The key policy KMS gives a key created without one.
fn default_key_policy(account: &Account) -> Json {
    json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:{}:iam::{}:root", account.partition, account.account_id)},
            "Action": "kms:*",
            "Resource": "*",
        }],
    })
}

/// A VPC-only access point keeps its VPC id as configuration.
fn vpc_configuration(p: &Props<'_, '_>) -> Result<Map<String, Json>, EvalError> {
    let mut configuration = Map::new();
    match p.get("VpcConfiguration")? {
        None => {}
        Some(Json::Object(vpc)) => {
            if let Some(id) = vpc.get("VpcId") {
                configuration.insert("VpcId".into(), id.clone());
            }
        }
        Some(_) => {
            return Err(p.error(
                Some("VpcConfiguration"),
                format!("{}.VpcConfiguration must be a map", p.logical),
            ))
        }
    }
    Ok(configuration)
}

pub fn extract(
    evaluator: &Evaluator<'_>,
    file: &str,
    account: &Account,
    typed: &[(&str, &str, &Node)],
) -> Result<Vec<Resource>, EvalError> {
    let mut out: Vec<Resource> = Vec::new();
    let mut bucket_acls: Vec<Resource> = Vec::new();
    // Lambda permissions and layer permissions become one policy per function / layer.
    let mut function_statements: BTreeMap<String, (Vec<Json>, Origin)> = BTreeMap::new();
    let mut layer_statements: BTreeMap<String, (Vec<Json>, Origin)> = BTreeMap::new();

    for (logical, resource_type, node) in typed {
        let p = Props::new(evaluator, file, logical, node);
        match *resource_type {
            "AWS::S3::BucketPolicy" => {
                p.require_properties()?;
                let bucket = p.required_string("Bucket")?;
                let document = p.required_document("PolicyDocument")?;
                out.push(resource(
                    bucket,
                    "AWS::S3::Bucket",
                    "BucketPolicy",
                    document,
                    origin_of(&p, resource_type, "PolicyDocument"),
                ));
            }
            "AWS::S3::Bucket" => {
                let name = p
                    .string("BucketName")?
                    .unwrap_or_else(|| (*logical).to_owned());
                let Some(access_control) = p.string("AccessControl")? else {
                    continue;
                };
                let mut r = resource(
                    name,
                    "AWS::S3::Bucket",
                    "BucketAcl",
                    Json::Null,
                    origin_of(&p, resource_type, "AccessControl"),
                );
                r.configuration
                    .insert("AccessControl".into(), Json::String(access_control));
                bucket_acls.push(r);
            }
            "AWS::S3::AccessPoint" | "AWS::S3Express::AccessPoint" => {
                p.require_properties()?;
                let Some(document) = p.document("Policy")? else {
                    continue;
                };
                let name = p.string("Name")?.unwrap_or_else(|| (*logical).to_owned());
                let policy_name = if *resource_type == "AWS::S3::AccessPoint" {
                    "AccessPointPolicy"
                } else {
                    "Policy"
                };
                let mut r = resource(
                    name,
                    resource_type,
                    policy_name,
                    document,
                    origin_of(&p, resource_type, "Policy"),
                );
                r.configuration = vpc_configuration(&p)?;
                out.push(r);
            }
            "AWS::S3::MultiRegionAccessPointPolicy" => {
                p.require_properties()?;
                let name = p.required_string("MrapName")?;
                let document = p.required_document("Policy")?;
                out.push(resource(
                    name,
                    "AWS::S3::MultiRegionAccessPoint",
                    "MultiRegionAccessPointPolicy",
                    document,
                    origin_of(&p, resource_type, "Policy"),
                ));
            }
            "AWS::S3Tables::TableBucketPolicy" => {
                p.require_properties()?;
                let document = p.required_document("ResourcePolicy")?;
                let arn = p.required_string("TableBucketARN")?;
                let name = arn.split_once(":bucket/").map(|(_, n)| n.to_owned()).ok_or_else(|| {
                    p.error(Some("TableBucketARN"), format!("{logical}.TableBucketARN must be a table bucket ARN (arn:...:bucket/NAME), not {arn}"))
                })?;
                out.push(resource(
                    name,
                    "AWS::S3Tables::TableBucket",
                    "TableBucketPolicy",
                    document,
                    origin_of(&p, resource_type, "ResourcePolicy"),
                ));
            }
            "AWS::SQS::QueuePolicy" => {
                p.require_properties()?;
                let document = p.required_document("PolicyDocument")?;
                for url in p.required_strings("Queues")? {
                    // https://sqs.REGION.amazonaws.com/ACCOUNT/NAME
                    let name = url
                        .split_once("://")
                        .and_then(|(_, rest)| rest.split('/').nth(2))
                        .filter(|n| !n.is_empty())
                        .ok_or_else(|| p.error(Some("Queues"), format!("{logical}.Queues: {url} is not a queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)")))?;
                    out.push(resource(
                        name.to_owned(),
                        "AWS::SQS::Queue",
                        "QueuePolicy",
                        document.clone(),
                        origin_of(&p, resource_type, "PolicyDocument"),
                    ));
                }
            }
            "AWS::SNS::TopicPolicy" => {
                p.require_properties()?;
                let document = p.required_document("PolicyDocument")?;
                for arn in p.required_strings("Topics")? {
                    let name = arn.rsplit(':').next().unwrap_or(&arn).to_owned();
                    out.push(resource(
                        name,
                        "AWS::SNS::Topic",
                        "TopicPolicy",
                        document.clone(),
                        origin_of(&p, resource_type, "PolicyDocument"),
                    ));
                }
            }
            "AWS::KMS::Key" => {
                // Without a KeyPolicy, KMS attaches its default key policy: the account may
                // use and manage the key through IAM policies.
                let document = match p.document("KeyPolicy")? {
                    Some(document) => document,
                    None => default_key_policy(account),
                };
                out.push(resource(
                    (*logical).to_owned(),
                    "AWS::KMS::Key",
                    "KeyPolicy",
                    document,
                    origin_of(&p, resource_type, "KeyPolicy"),
                ));
            }
            "AWS::SecretsManager::ResourcePolicy" => {
                p.require_properties()?;
                let document = p.required_document("ResourcePolicy")?;
                let arn = p.required_string("SecretId")?;
                let name = arn.split_once("secret:").map(|(_, n)| n.to_owned()).ok_or_else(|| {
                    p.error(Some("SecretId"), format!("{logical}.SecretId must be a secret ARN (arn:...:secret:NAME), not {arn}"))
                })?;
                out.push(resource(
                    name,
                    "AWS::SecretsManager::Secret",
                    "ResourcePolicy",
                    document,
                    origin_of(&p, resource_type, "ResourcePolicy"),
                ));
            }
            "AWS::ApiGateway::RestApi"
            | "AWS::CodeArtifact::Domain"
            | "AWS::Backup::BackupVault" => {
                p.require_properties()?;
                let (name_property, policy_property) = match *resource_type {
                    "AWS::ApiGateway::RestApi" => ("Name", "Policy"),
                    "AWS::CodeArtifact::Domain" => ("DomainName", "PermissionsPolicyDocument"),
                    _ => ("BackupVaultName", "AccessPolicy"),
                };
                let name = p.required_string(name_property)?;
                let Some(document) = p.document(policy_property)? else {
                    continue;
                };
                out.push(resource(
                    name,
                    resource_type,
                    policy_property,
                    document,
                    origin_of(&p, resource_type, policy_property),
                ));
            }
            "AWS::CloudTrail::ResourcePolicy" => {
                p.require_properties()?;
                let document = p.required_document("ResourcePolicy")?;
                let arn = p.required_string("ResourceArn")?;
                // arn:PARTITION:cloudtrail:REGION:ACCOUNT:KIND/NAME
                let (kind, name) = arn
                    .splitn(6, ':')
                    .nth(5)
                    .and_then(|rest| rest.split_once('/'))
                    .ok_or_else(|| {
                        p.error(
                            Some("ResourceArn"),
                            format!("{logical}.ResourceArn is not a CloudTrail ARN: {arn}"),
                        )
                    })?;
                let cloudtrail_type = match kind {
                    "dashboard" => "AWS::CloudTrail::Dashboard",
                    "eventdatastore" => "AWS::CloudTrail::EventDataStore",
                    "channel" => "AWS::CloudTrail::Channel",
                    other => return Err(p.error(Some("ResourceArn"), format!("{logical}.ResourceArn: CloudTrail resource policies apply to dashboards, event data stores and channels, not {other}"))),
                };
                out.push(resource(
                    name.to_owned(),
                    cloudtrail_type,
                    "ResourcePolicy",
                    document,
                    origin_of(&p, resource_type, "ResourcePolicy"),
                ));
            }
            "AWS::Lambda::Permission" => {
                p.require_properties()?;
                let action = p.required_string("Action")?;
                let function = p.required_string("FunctionName")?;
                let principal = p.required_string("Principal")?;
                let mut statement = Map::new();
                statement.insert("Effect".into(), json!("Allow"));
                statement.insert("Action".into(), json!(action));
                statement.insert(
                    "Principal".into(),
                    // Service principals: `*.amazonaws.com`, and Alexa's `*.amazon.com`.
                    if principal.contains("amazonaws") || principal.ends_with(".amazon.com") {
                        json!({"Service": principal})
                    } else {
                        json!({"AWS": principal})
                    },
                );
                let arn = function_arn(&function, account);
                statement.insert("Resource".into(), json!(arn));
                let mut condition = Map::new();
                if let Some(source_account) = p.string("SourceAccount")? {
                    condition.insert(
                        "StringEquals".into(),
                        json!({"AWS:SourceAccount": source_account}),
                    );
                }
                if let Some(source_arn) = p.string("SourceArn")? {
                    condition.insert("ArnLike".into(), json!({"AWS:SourceArn": source_arn}));
                }
                if let Some(token) = p.string("EventSourceToken")? {
                    let equals = condition.entry("StringEquals").or_insert_with(|| json!({}));
                    if let Json::Object(map) = equals {
                        map.insert("lambda:EventSourceToken".into(), json!(token));
                    }
                }
                if !condition.is_empty() {
                    statement.insert("Condition".into(), Json::Object(condition));
                }
                function_statements
                    .entry(arn)
                    .or_insert_with(|| (Vec::new(), origin_of(&p, resource_type, "Principal")))
                    .0
                    .push(Json::Object(statement));
            }
            "AWS::Lambda::LayerVersionPermission" => {
                p.require_properties()?;
                let action = p.required_string("Action")?;
                let layer = p.required_string("LayerVersionArn")?;
                let principal = p.required_string("Principal")?;
                let mut statement = Map::new();
                statement.insert("Effect".into(), json!("Allow"));
                statement.insert("Action".into(), json!(action));
                statement.insert("Resource".into(), json!(layer));
                statement.insert("Principal".into(), json!({"AWS": principal}));
                if let Some(org) = p.string("OrganizationId")? {
                    statement.insert(
                        "Condition".into(),
                        json!({"StringEquals": {"aws:PrincipalOrgID": org}}),
                    );
                }
                layer_statements
                    .entry(layer)
                    .or_insert_with(|| (Vec::new(), origin_of(&p, resource_type, "Principal")))
                    .0
                    .push(Json::Object(statement));
            }
            _ => {}
        }
    }
    for (arn, (statements, origin)) in function_statements {
        let name = after(&arn, "function").unwrap_or_else(|| arn.clone());
        let name = name.split(':').next().unwrap_or(&name).to_owned();
        out.push(resource(
            name,
            "AWS::Lambda::Function",
            "PermissionsPolicy",
            json!({"Version": "2012-10-17", "Statement": statements}),
            origin,
        ));
    }
    for (arn, (statements, origin)) in layer_statements {
        let name = after(&arn, "layer").unwrap_or_else(|| arn.clone());
        out.push(resource(
            name,
            "AWS::Lambda::LayerVersion",
            "LayerVersionPermission",
            json!({"Version": "2012-10-17", "Statement": statements}),
            origin,
        ));
    }
    // A bucket's ACL goes with its bucket policy when the template has both.
    for acl in bucket_acls {
        match out.iter_mut().find(|r| {
            r.resource_type == "AWS::S3::Bucket"
                && r.policy.name == "BucketPolicy"
                && r.name == acl.name
        }) {
            Some(policy) => policy.configuration = acl.configuration,
            None => out.push(acl),
        }
    }
    Ok(out)
}

/// The ARN parts after `marker` (`function`, `layer`), joined with `:`.
fn after(arn: &str, marker: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let at = parts.iter().position(|p| *p == marker)?;
    Some(parts[at + 1..].join(":"))
}

/// A function name, partial ARN or ARN as a full ARN.
fn function_arn(function: &str, account: &Account) -> String {
    if function.starts_with("arn:") {
        return function.to_owned();
    }
    let parts: Vec<&str> = function.split(':').collect();
    match parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("function"))
    {
        Some(at) => {
            // Fill in what a partial ARN leaves out, from the right.
            let full = [
                "arn",
                &account.partition,
                "lambda",
                &account.region,
                &account.account_id,
            ];
            let missing = full.len().saturating_sub(at);
            format!("{}:{function}", full[..missing].join(":"))
        }
        None => format!(
            "arn:{}:lambda:{}:{}:function:{function}",
            account.partition, account.region, account.account_id
        ),
    }
}
