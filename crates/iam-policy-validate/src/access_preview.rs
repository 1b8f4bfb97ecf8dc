//! Access previews: the findings IAM Access Analyzer's account analyzer would report for a
//! resource policy or trust policy once deployed (who outside the account gets access), asked
//! before deploying with CreateAccessPreview, for the resource types the service previews.
//!
//! As cfn-policy-validator does: the first ACTIVE account analyzer of the region is used, and
//! without one an analyzer named `AnalyzerCreatedByCfnIAMPolicyValidator` is created (the same
//! name, so permissions written for that tool keep working) and left in place.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_accessanalyzer::types::{
    AccessPreviewFinding, AccessPreviewStatus, AccessPreviewStatusReasonCode, AnalyzerStatus,
    Configuration, DynamodbTableConfiguration, EcrRepositoryConfiguration,
    EfsFileSystemConfiguration, FindingStatus, IamRoleConfiguration, KmsKeyConfiguration,
    S3BucketConfiguration, SecretsManagerSecretConfiguration, SnsTopicConfiguration,
    SqsQueueConfiguration, Type,
};
use aws_sdk_accessanalyzer::Client;
use cfn_eval::Account;

use crate::access_analyzer::{AnalyzerFinding, Request};
use crate::checks::PolicyKind;

/// The analyzer created when the region has no active account analyzer.
pub const ANALYZER_NAME: &str = "AnalyzerCreatedByCfnIAMPolicyValidator";

/// The code of an external access finding, as cfn-policy-validator names it.
pub const EXTERNAL_PRINCIPAL: &str = "EXTERNAL_PRINCIPAL";

/// The code of a preview the service could not make from the policy.
pub const PREVIEW_FAILED: &str = "ACCESS_PREVIEW_FAILED";

const LEARN_MORE: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-preview-access.html";

/// How often and how long to wait for a preview.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    pub interval: Duration,
    pub timeout: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(300),
        }
    }
}

/// The ARN the resource will have and its proposed access control, for the resource types
/// access previews support; None for the others. The ARN only has to be well formed for its
/// type: the service analyzes the configuration, not a deployed resource.
pub fn configuration(request: &Request, account: &Account) -> Option<(String, Configuration)> {
    let Account {
        partition: p,
        region: r,
        account_id: a,
    } = account;
    let name = &request.name;
    let policy = request.document.clone();
    let resource_type = match &request.kind {
        PolicyKind::Identity => return None,
        PolicyKind::Trust => {
            // Role names are at most 64 characters; SAM's generated names can be longer.
            let role: String = name.chars().take(64).collect();
            return Some((
                format!("arn:{p}:iam::{a}:role/{role}"),
                Configuration::IamRole(
                    IamRoleConfiguration::builder().trust_policy(policy).build(),
                ),
            ));
        }
        PolicyKind::Resource(t) => t,
    };
    Some(match resource_type.as_str() {
        "AWS::S3::Bucket" => (
            format!("arn:{p}:s3:::{name}"),
            Configuration::S3Bucket(
                S3BucketConfiguration::builder()
                    .bucket_policy(policy)
                    .build(),
            ),
        ),
        "AWS::SQS::Queue" => (
            format!("arn:{p}:sqs:{r}:{a}:{name}"),
            Configuration::SqsQueue(
                SqsQueueConfiguration::builder()
                    .queue_policy(policy)
                    .build(),
            ),
        ),
        "AWS::SNS::Topic" => (
            format!("arn:{p}:sns:{r}:{a}:{name}"),
            Configuration::SnsTopic(
                SnsTopicConfiguration::builder()
                    .topic_policy(policy)
                    .build(),
            ),
        ),
        "AWS::KMS::Key" => (
            format!("arn:{p}:kms:{r}:{a}:key/{name}"),
            Configuration::KmsKey(
                KmsKeyConfiguration::builder()
                    .key_policies("default", policy)
                    .build(),
            ),
        ),
        // A secret's ARN ends in six random characters.
        "AWS::SecretsManager::Secret" => (
            format!("arn:{p}:secretsmanager:{r}:{a}:secret:{name}-AbCdEf"),
            Configuration::SecretsManagerSecret(
                SecretsManagerSecretConfiguration::builder()
                    .secret_policy(policy)
                    .build(),
            ),
        ),
        "AWS::ECR::Repository" => (
            format!("arn:{p}:ecr:{r}:{a}:repository/{name}"),
            Configuration::EcrRepository(
                EcrRepositoryConfiguration::builder()
                    .repository_policy(policy)
                    .build(),
            ),
        ),
        "AWS::EFS::FileSystem" => (
            format!("arn:{p}:elasticfilesystem:{r}:{a}:file-system/{name}"),
            Configuration::EfsFileSystem(
                EfsFileSystemConfiguration::builder()
                    .file_system_policy(policy)
                    .build(),
            ),
        ),
        "AWS::DynamoDB::Table" => (
            format!("arn:{p}:dynamodb:{r}:{a}:table/{name}"),
            Configuration::DynamodbTable(
                DynamodbTableConfiguration::builder()
                    .table_policy(policy)
                    .build(),
            ),
        ),
        _ => return None,
    })
}

/// The region's active account analyzer, or one created for the previews; the second value
/// says whether it was created.
pub async fn analyzer(client: &Client) -> Result<(String, bool), aws_io::AwsError> {
    let mut pages = client
        .list_analyzers()
        .r#type(Type::Account)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|e| aws_io::api_error("ListAnalyzers", &e, "access-analyzer:ListAnalyzers"))?;
        if let Some(active) = page
            .analyzers()
            .iter()
            .find(|a| *a.status() == AnalyzerStatus::Active)
        {
            return Ok((active.arn().to_owned(), false));
        }
    }
    let created = client
        .create_analyzer()
        .analyzer_name(ANALYZER_NAME)
        .r#type(Type::Account)
        .send()
        .await
        .map_err(|e| aws_io::api_error("CreateAnalyzer", &e, "access-analyzer:CreateAnalyzer"))?;
    let arn = created.arn().unwrap_or_default().to_owned();
    if arn.is_empty() {
        return Err(aws_io::AwsError::Api(
            "CreateAnalyzer returned no analyzer ARN".into(),
        ));
    }
    Ok((arn, true))
}

/// One preview asked for, with the request it belongs to.
struct Pending<'a> {
    request: &'a Request,
    id: String,
}

/// Previews every request of a supported type and returns the external access each would
/// grant. A principal `allowed` accepts (the own account, `--allow-external-principals`) is
/// not a finding; neither is a finding the analyzer's archive rules would archive. A policy
/// the service cannot preview is an ERROR finding of its own; a preview that fails inside the
/// service, or is still being created at the timeout, is an error.
pub async fn preview(
    client: &Client,
    analyzer_arn: &str,
    requests: &[Request],
    account: &Account,
    polling: Polling,
    allowed: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<AnalyzerFinding>, aws_io::AwsError> {
    // Created together, so the service works on them at the same time.
    let mut pending = Vec::new();
    for request in requests {
        let Some((arn, configuration)) = configuration(request, account) else {
            continue;
        };
        let created = client
            .create_access_preview()
            .analyzer_arn(analyzer_arn)
            .configurations(arn, configuration)
            .send()
            .await
            .map_err(|e| {
                aws_io::api_error(
                    "CreateAccessPreview",
                    &e,
                    "access-analyzer:CreateAccessPreview",
                )
            })?;
        pending.push(Pending {
            request,
            id: created.id().to_owned(),
        });
    }
    let mut out = Vec::new();
    for p in pending {
        let failure = wait(client, analyzer_arn, &p, polling).await?;
        if let Some(reason) = failure {
            out.push(AnalyzerFinding {
                key: p.request.key,
                finding_type: "ERROR".into(),
                issue_code: PREVIEW_FAILED.into(),
                details: format!(
                    "Access Analyzer could not preview the access this policy grants ({reason}); check the policy's grammar, ValidatePolicy's findings for it say where"
                ),
                learn_more: LEARN_MORE.into(),
                statement: None,
                field: None,
            });
            continue;
        }
        let mut pages = client
            .list_access_preview_findings()
            .analyzer_arn(analyzer_arn)
            .access_preview_id(&p.id)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                aws_io::api_error(
                    "ListAccessPreviewFindings",
                    &e,
                    "access-analyzer:ListAccessPreviewFindings",
                )
            })?;
            for f in page.findings() {
                if *f.status() != FindingStatus::Active {
                    continue;
                }
                let principals: Vec<&String> = f
                    .principal()
                    .map(|m| m.values().collect())
                    .unwrap_or_default();
                if !principals.is_empty() && principals.iter().all(|p| allowed(p)) {
                    continue;
                }
                out.push(AnalyzerFinding {
                    key: p.request.key,
                    finding_type: "SECURITY_WARNING".into(),
                    issue_code: EXTERNAL_PRINCIPAL.into(),
                    details: describe(&p.request.kind, f),
                    learn_more: LEARN_MORE.into(),
                    statement: None,
                    field: None,
                });
            }
        }
    }
    Ok(out)
}

/// Polls a preview until it is made; Some(reason) when the policy could not be previewed.
async fn wait(
    client: &Client,
    analyzer_arn: &str,
    p: &Pending<'_>,
    polling: Polling,
) -> Result<Option<String>, aws_io::AwsError> {
    let started = tokio::time::Instant::now();
    loop {
        let got = client
            .get_access_preview()
            .analyzer_arn(analyzer_arn)
            .access_preview_id(&p.id)
            .send()
            .await
            .map_err(|e| {
                aws_io::api_error("GetAccessPreview", &e, "access-analyzer:GetAccessPreview")
            })?;
        let Some(preview) = got.access_preview() else {
            return Err(aws_io::AwsError::Api(format!(
                "GetAccessPreview returned no preview for {}",
                p.id
            )));
        };
        match preview.status() {
            AccessPreviewStatus::Creating => {}
            AccessPreviewStatus::Failed => {
                let code = preview.status_reason().map(|r| r.code().clone());
                return match code {
                    Some(AccessPreviewStatusReasonCode::InvalidConfiguration) => {
                        Ok(Some("INVALID_CONFIGURATION".into()))
                    }
                    other => Err(aws_io::AwsError::Api(format!(
                        "the access preview {} of {} failed in Access Analyzer: {}; run again",
                        p.id,
                        p.request.name,
                        other.map_or_else(|| "no reason given".into(), |c| c.as_str().to_owned())
                    ))),
                };
            }
            // COMPLETED, or a status this SDK does not know: its findings say what it found.
            _ => return Ok(None),
        }
        if started.elapsed() >= polling.timeout {
            return Err(aws_io::AwsError::Api(format!(
                "the access preview {} of {} was still being created after {}s; run again",
                p.id,
                p.request.name,
                polling.timeout.as_secs()
            )));
        }
        tokio::time::sleep(polling.interval).await;
    }
}

/// `Resource policy allows access from external principals: {"AWS": "444455556666"} can
/// sqs:SendMessage (public)`.
fn describe(kind: &PolicyKind, f: &AccessPreviewFinding) -> String {
    let whose = if *kind == PolicyKind::Trust {
        "Trust"
    } else {
        "Resource"
    };
    let sorted = |m: Option<&HashMap<String, String>>| {
        let mut pairs: Vec<String> = m
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        pairs.sort();
        pairs.join(", ")
    };
    let mut text = format!(
        "{whose} policy allows access from external principals: {} can {}",
        sorted(f.principal()),
        if f.action().is_empty() {
            "act".to_owned()
        } else {
            f.action().join(", ")
        }
    );
    let condition = sorted(f.condition());
    if !condition.is_empty() {
        text.push_str(&format!(" when {condition}"));
    }
    if f.is_public() == Some(true) {
        text.push_str(" (public: anyone)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: PolicyKind, name: &str) -> Request {
        Request {
            key: 0,
            name: name.into(),
            document: "{}".into(),
            kind,
        }
    }

    #[test]
    fn arns_of_previewed_resources() {
        let account = Account {
            partition: "aws-cn".into(),
            region: "cn-north-1".into(),
            account_id: "111122223333".into(),
        };
        let arn = |kind, name| configuration(&request(kind, name), &account).map(|(arn, _)| arn);
        assert_eq!(
            arn(PolicyKind::Resource("AWS::SQS::Queue".into()), "jobs").as_deref(),
            Some("arn:aws-cn:sqs:cn-north-1:111122223333:jobs")
        );
        assert_eq!(
            arn(PolicyKind::Resource("AWS::S3::Bucket".into()), "assets").as_deref(),
            Some("arn:aws-cn:s3:::assets")
        );
        let long = "r".repeat(70);
        assert_eq!(
            arn(PolicyKind::Trust, &long),
            Some(format!(
                "arn:aws-cn:iam::111122223333:role/{}",
                "r".repeat(64)
            ))
        );
        assert_eq!(arn(PolicyKind::Identity, "deploy"), None);
        assert_eq!(
            arn(PolicyKind::Resource("AWS::Lambda::Function".into()), "f"),
            None
        );
    }
}
