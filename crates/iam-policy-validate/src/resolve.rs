//! `--resolve-with-aws`: the values a template takes from AWS, read so the policies checked
//! are the ones CloudFormation will deploy: `Fn::ImportValue` from the region's exports
//! (ListExports), `{{resolve:ssm:...}}` from Parameter Store (String and StringList
//! parameters; a SecureString is refused: CloudFormation reads those only through
//! `ssm-secure`, and this tool never reads a secret), and the documents of managed policies
//! outside the template (AWS managed ones) from IAM, at their default version.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use aws_io::StepError;
use aws_sdk_ssm::types::ParameterType;
use serde_json::Value as Json;

use crate::extract::{ManagedDocument, Wanted};

/// What was read.
#[derive(Debug, Default)]
pub struct Read {
    pub outside: cfn_eval::Outside,
    pub managed: BTreeMap<String, ManagedDocument>,
}

impl Read {
    /// `2 exports, 1 SSM parameter and 3 managed policies`.
    pub fn summary(&self) -> String {
        let count =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{}, {} and {}",
            count(self.outside.exports.len(), "export", "exports"),
            count(
                self.outside.parameters.len(),
                "SSM parameter",
                "SSM parameters"
            ),
            count(self.managed.len(), "managed policy", "managed policies")
        )
    }
}

/// Reads everything `wanted` names; a name AWS does not have is an input error (exit 2).
pub async fn read(config: &SdkConfig, wanted: &Wanted) -> Result<Read, StepError> {
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    let mut out = Read::default();
    if !wanted.outside.exports.is_empty() {
        let cloudformation = aws_sdk_cloudformation::Client::new(config);
        let mut pages = cloudformation.list_exports().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page
                .map_err(|e| aws_io::api_error("ListExports", &e, "cloudformation:ListExports"))?;
            for export in page.exports() {
                let (Some(name), Some(value)) = (export.name(), export.value()) else {
                    continue;
                };
                if wanted.outside.exports.contains_key(name) {
                    out.outside
                        .exports
                        .insert(name.to_owned(), value.to_owned());
                }
            }
        }
        if let Some(missing) = wanted
            .outside
            .exports
            .keys()
            .find(|name| !out.outside.exports.contains_key(*name))
        {
            return Err(StepError::Input(format!(
                "Fn::ImportValue {missing}: no stack in {region} exports it; deploy the exporting stack first, or check the name"
            )));
        }
    }
    if !wanted.outside.parameters.is_empty() {
        let ssm = aws_sdk_ssm::Client::new(config);
        for key in wanted.outside.parameters.keys() {
            // `name:version` is a selector GetParameter takes as the name.
            let got = ssm.get_parameter().name(key).send().await.map_err(|e| {
                use aws_sdk_ssm::operation::get_parameter::GetParameterError as E;
                match e.as_service_error() {
                    Some(E::ParameterNotFound(_) | E::ParameterVersionNotFound(_)) => {
                        StepError::Input(format!(
                            "{{{{resolve:ssm:{key}}}}}: SSM has no parameter {key} in {region}; create it or fix the reference"
                        ))
                    }
                    _ => StepError::Aws(aws_io::api_error(
                        "GetParameter",
                        &e,
                        "ssm:GetParameter",
                    )),
                }
            })?;
            let Some(parameter) = got.parameter() else {
                continue;
            };
            if parameter.r#type() == Some(&ParameterType::SecureString) {
                return Err(StepError::Input(format!(
                    "{{{{resolve:ssm:{key}}}}}: {key} is a SecureString; CloudFormation reads those only with {{{{resolve:ssm-secure:...}}}}, and a secret does not belong in a policy"
                )));
            }
            out.outside.parameters.insert(
                key.clone(),
                parameter.value().unwrap_or_default().to_owned(),
            );
        }
    }
    if !wanted.managed.is_empty() {
        let iam = aws_sdk_iam::Client::new(config);
        for arn in &wanted.managed {
            let policy = iam.get_policy().policy_arn(arn).send().await.map_err(|e| {
                use aws_sdk_iam::operation::get_policy::GetPolicyError as E;
                match e.as_service_error() {
                    Some(E::NoSuchEntityException(_)) => StepError::Input(format!(
                        "managed policy {arn} does not exist; check the ARN or the policy name"
                    )),
                    _ => StepError::Aws(aws_io::api_error("GetPolicy", &e, "iam:GetPolicy")),
                }
            })?;
            let Some(policy) = policy.policy() else {
                continue;
            };
            let version = iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(policy.default_version_id().unwrap_or("v1"))
                .send()
                .await
                .map_err(|e| aws_io::api_error("GetPolicyVersion", &e, "iam:GetPolicyVersion"))?;
            let encoded = version
                .policy_version()
                .and_then(|v| v.document())
                .unwrap_or_default();
            let text = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
            let document: Json = serde_json::from_str(&text).map_err(|e| {
                aws_io::AwsError::Api(format!(
                    "GetPolicyVersion returned a document of {arn} that is not JSON: {e}"
                ))
            })?;
            out.managed.insert(
                arn.clone(),
                ManagedDocument {
                    name: policy.policy_name().unwrap_or_default().to_owned(),
                    path: policy.path().unwrap_or("/").to_owned(),
                    document,
                },
            );
        }
    }
    Ok(out)
}
