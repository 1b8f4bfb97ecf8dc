//! IAM Access Analyzer's ValidatePolicy for every policy: the grammar and best-practice checks
//! AWS runs, with the policy type and, for the resource types it knows, the resource type, so
//! its findings are those the service itself would give.

use aws_sdk_accessanalyzer::types::{PathElement, PolicyType, ValidatePolicyResourceType};
use aws_sdk_accessanalyzer::Client;
use findings::Severity;

use crate::checks::PolicyKind;

/// One policy to check; `key` says which policy of the caller's list it is.
pub struct Request {
    pub key: usize,
    /// The name of the role or resource the policy is attached to (ARNs of access previews).
    pub name: String,
    pub document: String,
    pub kind: PolicyKind,
}

/// A finding of ValidatePolicy, with its place in the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzerFinding {
    pub key: usize,
    /// ERROR, SECURITY_WARNING, WARNING, SUGGESTION.
    pub finding_type: String,
    pub issue_code: String,
    pub details: String,
    pub learn_more: String,
    /// Statement index, when the finding is inside a statement.
    pub statement: Option<usize>,
    /// The field path inside the statement (`Action.0`).
    pub field: Option<String>,
}

impl AnalyzerFinding {
    /// Our severity for Access Analyzer's finding types.
    pub fn severity(&self) -> Severity {
        // One to one, so `--output cfn-policy-validator` gives the types back.
        findings::writers::cfn_policy_validator::severity(&self.finding_type)
    }
}

/// The policy type Access Analyzer wants for a kind of policy (a trust policy is a resource
/// policy of the role).
pub fn policy_type(kind: &PolicyKind) -> PolicyType {
    match kind {
        PolicyKind::Identity => PolicyType::IdentityPolicy,
        PolicyKind::Trust | PolicyKind::Resource(_) => PolicyType::ResourcePolicy,
    }
}

/// The resource type ValidatePolicy wants for a kind of policy, for the types it knows.
fn resource_type(kind: &PolicyKind) -> Option<ValidatePolicyResourceType> {
    match kind {
        PolicyKind::Identity => None,
        PolicyKind::Trust => Some(ValidatePolicyResourceType::RoleTrust),
        PolicyKind::Resource(t) => match t.as_str() {
            "AWS::S3::Bucket" => Some(ValidatePolicyResourceType::S3Bucket),
            "AWS::S3::AccessPoint" => Some(ValidatePolicyResourceType::S3AccessPoint),
            "AWS::S3::MultiRegionAccessPoint" => {
                Some(ValidatePolicyResourceType::S3MultiRegionAccessPoint)
            }
            "AWS::DynamoDB::Table" => Some(ValidatePolicyResourceType::DynamodbTable),
            _ => None,
        },
    }
}

/// `Statement.1.Action.0` as a statement index and the field path after it.
fn place(path: &[PathElement]) -> (Option<usize>, Option<String>) {
    let parts: Vec<String> = path
        .iter()
        .filter_map(|p| match p {
            PathElement::Index(i) => Some(i.to_string()),
            PathElement::Key(k) | PathElement::Value(k) => Some(k.clone()),
            _ => None,
        })
        .collect();
    match parts.as_slice() {
        [first, index, rest @ ..] if first == "Statement" => (
            index.parse().ok(),
            (!rest.is_empty()).then(|| rest.join(".")),
        ),
        [first, ..] if first != "Statement" => (None, Some(parts.join("."))),
        _ => (None, None),
    }
}

/// ValidatePolicy for every request, every page of findings; the SDK retries throttling.
pub async fn validate(
    client: &Client,
    requests: &[Request],
) -> Result<Vec<AnalyzerFinding>, aws_io::AwsError> {
    let mut out = Vec::new();
    for request in requests {
        let mut pages = client
            .validate_policy()
            .policy_document(&request.document)
            .policy_type(policy_type(&request.kind))
            .set_validate_policy_resource_type(resource_type(&request.kind))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                aws_io::api_error("ValidatePolicy", &e, "access-analyzer:ValidatePolicy")
            })?;
            for f in page.findings() {
                let (statement, field) = f
                    .locations()
                    .first()
                    .map_or((None, None), |l| place(l.path()));
                out.push(AnalyzerFinding {
                    key: request.key,
                    finding_type: f.finding_type().as_str().to_owned(),
                    issue_code: f.issue_code().to_owned(),
                    details: f.finding_details().to_owned(),
                    learn_more: f.learn_more_link().to_owned(),
                    statement,
                    field,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_of_findings() {
        let path = [
            PathElement::Key("Statement".into()),
            PathElement::Index(1),
            PathElement::Key("Action".into()),
            PathElement::Index(0),
        ];
        assert_eq!(place(&path), (Some(1), Some("Action.0".into())));
        assert_eq!(
            place(&[PathElement::Key("Version".into())]),
            (None, Some("Version".into()))
        );
        assert_eq!(place(&[]), (None, None));
    }
}
