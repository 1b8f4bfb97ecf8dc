//! IAM Access Analyzer's custom policy checks, with cfn-policy-validator's finding codes:
//! CheckNoNewAccess (nothing beyond a reference policy), CheckAccessNotGranted (none of the
//! given actions or resources) and CheckNoPublicAccess. AWS charges for each call, so a
//! policy document that appears twice is checked once.

use std::collections::HashMap;

use aws_sdk_accessanalyzer::error::ProvideErrorMetadata;
use aws_sdk_accessanalyzer::types::{
    Access, AccessCheckPolicyType, AccessCheckResourceType, CheckAccessNotGrantedResult,
    CheckNoNewAccessResult, CheckNoPublicAccessResult, ReasonSummary,
};
use aws_sdk_accessanalyzer::Client;

use crate::access_analyzer::{AnalyzerFinding, Request};
use crate::checks::PolicyKind;

/// At most this many actions go into one CheckAccessNotGranted call.
pub const ACTIONS_PER_CALL: usize = 100;
/// At most this many resources may be given.
pub const MAX_RESOURCES: usize = 100;

const LEARN_MORE: &str =
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-custom-policy-checks.html";

/// Which policies a reference policy is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReferenceType {
    /// Identity policies (of roles, users, groups, permission sets, and managed policies).
    Identity,
    /// Resource policies and role trust policies.
    Resource,
}

/// One custom check and what it needs.
#[derive(Debug, Clone)]
pub enum CustomCheck {
    NoNewAccess {
        reference: String,
        reference_type: ReferenceType,
    },
    AccessNotGranted {
        actions: Vec<String>,
        resources: Vec<String>,
    },
    NoPublicAccess,
}

/// What the checks found, and which policies passed.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The check's finding code.
    pub code: String,
    pub findings: Vec<AnalyzerFinding>,
    pub passed: Vec<usize>,
}

/// The answer to one policy: PASS, FAIL with reasons, or refused as invalid input.
#[derive(Debug, Clone)]
enum Answer {
    Pass,
    Fail {
        message: String,
        reasons: Vec<ReasonSummary>,
    },
    Rejected {
        code: String,
        message: String,
    },
}

impl CustomCheck {
    /// The API operation, which also names the finding code.
    pub fn operation(&self) -> &'static str {
        match self {
            CustomCheck::NoNewAccess { .. } => "CheckNoNewAccess",
            CustomCheck::AccessNotGranted { .. } => "CheckAccessNotGranted",
            CustomCheck::NoPublicAccess => "CheckNoPublicAccess",
        }
    }

    /// cfn-policy-validator's code for a failed check: `policy-analysis-CheckNoNewAccess`.
    pub fn code(&self) -> String {
        format!("policy-analysis-{}", self.operation())
    }

    /// The IAM permission the call needs.
    fn permission(&self) -> String {
        format!("access-analyzer:{}", self.operation())
    }

    /// Whether the check applies to a kind of policy.
    pub fn applies(&self, kind: &PolicyKind) -> bool {
        match self {
            CustomCheck::NoNewAccess { reference_type, .. } => {
                (*reference_type == ReferenceType::Identity) == (*kind == PolicyKind::Identity)
            }
            CustomCheck::AccessNotGranted { .. } => true,
            CustomCheck::NoPublicAccess => public_access_type(kind).is_some(),
        }
    }

    /// The accesses of CheckAccessNotGranted: the actions in calls of at most
    /// [`ACTIONS_PER_CALL`], each with all the resources.
    fn accesses(actions: &[String], resources: &[String]) -> Vec<Access> {
        let with_resources = |b: aws_sdk_accessanalyzer::types::builders::AccessBuilder| {
            resources.iter().fold(b, |b, r| b.resources(r))
        };
        if actions.is_empty() {
            return vec![with_resources(Access::builder()).build()];
        }
        actions
            .chunks(ACTIONS_PER_CALL)
            .map(|chunk| {
                let b = chunk.iter().fold(Access::builder(), |b, a| b.actions(a));
                with_resources(b).build()
            })
            .collect()
    }

    async fn ask(&self, client: &Client, request: &Request) -> Result<Answer, aws_io::AwsError> {
        let policy_type = match crate::access_analyzer::policy_type(&request.kind) {
            aws_sdk_accessanalyzer::types::PolicyType::IdentityPolicy => {
                AccessCheckPolicyType::IdentityPolicy
            }
            _ => AccessCheckPolicyType::ResourcePolicy,
        };
        let operation = self.operation();
        let permission = self.permission();
        match self {
            CustomCheck::NoNewAccess { reference, .. } => {
                match client
                    .check_no_new_access()
                    .policy_type(policy_type)
                    .existing_policy_document(reference)
                    .new_policy_document(&request.document)
                    .send()
                    .await
                {
                    Ok(out) => Ok(match out.result() {
                        Some(CheckNoNewAccessResult::Fail) => Answer::Fail {
                            message: out.message().unwrap_or_default().to_owned(),
                            reasons: out.reasons().to_vec(),
                        },
                        _ => Answer::Pass,
                    }),
                    Err(e) => rejected(operation, &permission, &e),
                }
            }
            CustomCheck::AccessNotGranted { actions, resources } => {
                // Every batch is asked; the policy fails if any batch does.
                let mut reasons = Vec::new();
                let mut messages = Vec::new();
                for access in Self::accesses(actions, resources) {
                    match client
                        .check_access_not_granted()
                        .policy_type(policy_type.clone())
                        .policy_document(&request.document)
                        .access(access)
                        .send()
                        .await
                    {
                        Ok(out) => {
                            if out.result() == Some(&CheckAccessNotGrantedResult::Fail) {
                                messages.push(out.message().unwrap_or_default().to_owned());
                                reasons.extend(out.reasons().iter().cloned());
                            }
                        }
                        Err(e) => return rejected(operation, &permission, &e),
                    }
                }
                messages.dedup();
                Ok(if messages.is_empty() {
                    Answer::Pass
                } else {
                    Answer::Fail {
                        message: messages.join(" "),
                        reasons,
                    }
                })
            }
            CustomCheck::NoPublicAccess => {
                let Some(resource_type) = public_access_type(&request.kind) else {
                    return Ok(Answer::Pass);
                };
                match client
                    .check_no_public_access()
                    .policy_document(&request.document)
                    .resource_type(resource_type)
                    .send()
                    .await
                {
                    Ok(out) => Ok(match out.result() {
                        Some(CheckNoPublicAccessResult::Fail) => Answer::Fail {
                            message: out.message().unwrap_or_default().to_owned(),
                            reasons: out.reasons().to_vec(),
                        },
                        _ => Answer::Pass,
                    }),
                    Err(e) => rejected(operation, &permission, &e),
                }
            }
        }
    }
}

/// CheckNoPublicAccess's resource type for a kind of policy; None when it has none.
fn public_access_type(kind: &PolicyKind) -> Option<AccessCheckResourceType> {
    match kind {
        PolicyKind::Identity => None,
        PolicyKind::Trust => Some(AccessCheckResourceType::RoleTrust),
        // The service names its types as CloudFormation does.
        PolicyKind::Resource(t) => AccessCheckResourceType::values()
            .contains(&t.as_str())
            .then(|| AccessCheckResourceType::from(t.as_str())),
    }
}

/// A call the service refused: a policy it cannot check (validation, unprocessable entity,
/// invalid parameter) is an answer, a finding of type ERROR; anything else (denied, throttled
/// past the retries, unreachable) is an error.
fn rejected<E>(
    operation: &str,
    permission: &str,
    e: &aws_sdk_accessanalyzer::error::SdkError<
        E,
        aws_sdk_accessanalyzer::config::http::HttpResponse,
    >,
) -> Result<Answer, aws_io::AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e.code() {
        Some(
            code @ ("ValidationException"
            | "InvalidParameterException"
            | "UnprocessableEntityException"),
        ) => Ok(Answer::Rejected {
            code: code.to_owned(),
            message: e.message().unwrap_or_default().to_owned(),
        }),
        _ => Err(aws_io::api_error(operation, e, permission)),
    }
}

/// Runs the check on every request it applies to.
pub async fn run(
    client: &Client,
    check: &CustomCheck,
    requests: &[Request],
) -> Result<Outcome, aws_io::AwsError> {
    let mut answers: HashMap<(String, bool), Answer> = HashMap::new();
    let mut outcome = Outcome {
        code: check.code(),
        ..Outcome::default()
    };
    for request in requests.iter().filter(|r| check.applies(&r.kind)) {
        // The same document under the same policy type gets the same answer.
        let cache_key = (
            request.document.clone(),
            request.kind == PolicyKind::Identity,
        );
        let answer = match answers.get(&cache_key) {
            Some(answer) => answer.clone(),
            None => {
                let answer = check.ask(client, request).await?;
                answers.insert(cache_key, answer.clone());
                answer
            }
        };
        let code = &outcome.code;
        match answer {
            Answer::Pass => outcome.passed.push(request.key),
            Answer::Fail { message, reasons } => {
                outcome
                    .findings
                    .extend(failures(request.key, code, &message, &reasons));
            }
            Answer::Rejected {
                code: exception,
                message,
            } => outcome.findings.push(AnalyzerFinding {
                key: request.key,
                finding_type: "ERROR".into(),
                issue_code: format!("{code}{exception}"),
                details: format!(
                    "{} refused the policy: {exception}: {message}",
                    check.operation()
                ),
                learn_more: LEARN_MORE.into(),
                statement: None,
                field: None,
            }),
        }
    }
    Ok(outcome)
}

/// One finding per statement the reasons name (one for the policy when they name none).
fn failures(
    key: usize,
    code: &str,
    message: &str,
    reasons: &[ReasonSummary],
) -> Vec<AnalyzerFinding> {
    let mut by_statement: Vec<(Option<usize>, Vec<String>)> = Vec::new();
    for reason in reasons {
        let statement = reason
            .statement_index()
            .and_then(|i| usize::try_from(i).ok());
        let text = reason.description().unwrap_or_default().to_owned();
        match by_statement.iter_mut().find(|(s, _)| *s == statement) {
            Some((_, texts)) => texts.push(text),
            None => by_statement.push((statement, vec![text])),
        }
    }
    if by_statement.is_empty() {
        by_statement.push((None, Vec::new()));
    }
    by_statement
        .into_iter()
        .map(|(statement, texts)| {
            let texts: Vec<String> = texts.into_iter().filter(|t| !t.is_empty()).collect();
            let details = if texts.is_empty() {
                message.to_owned()
            } else {
                format!("{message} {}", texts.join("; "))
            };
            AnalyzerFinding {
                key,
                finding_type: "SECURITY_WARNING".into(),
                issue_code: code.to_owned(),
                details: details.trim().to_owned(),
                learn_more: LEARN_MORE.into(),
                statement,
                field: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_go_in_batches_of_a_hundred_each_with_every_resource() {
        let actions: Vec<String> = (0..250).map(|i| format!("s3:Action{i}")).collect();
        let resources = vec!["arn:aws:s3:::secrets".to_owned()];
        let accesses = CustomCheck::accesses(&actions, &resources);
        let sizes: Vec<usize> = accesses.iter().map(|a| a.actions().len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        assert!(accesses.iter().all(|a| a.resources() == resources));
        let only_resources = CustomCheck::accesses(&[], &resources);
        assert_eq!(only_resources.len(), 1);
        assert!(only_resources[0].actions().is_empty());
    }

    #[test]
    fn which_policies_each_check_covers() {
        let identity = CustomCheck::NoNewAccess {
            reference: "{}".into(),
            reference_type: ReferenceType::Identity,
        };
        assert!(identity.applies(&PolicyKind::Identity));
        assert!(!identity.applies(&PolicyKind::Trust));
        let public = CustomCheck::NoPublicAccess;
        assert!(public.applies(&PolicyKind::Trust));
        assert!(public.applies(&PolicyKind::Resource("AWS::SQS::Queue".into())));
        assert!(!public.applies(&PolicyKind::Resource("AWS::Lambda::LayerVersion".into())));
        assert!(!public.applies(&PolicyKind::Identity));
    }

    #[test]
    fn reasons_become_a_finding_per_statement() {
        let reason = |i: i32, d: &str| {
            ReasonSummary::builder()
                .statement_index(i)
                .description(d)
                .build()
        };
        let found = failures(
            3,
            "policy-analysis-CheckNoNewAccess",
            "The modified permissions grant new access compared to your existing policy.",
            &[
                reason(0, "New access in the statement with index: 0."),
                reason(2, "New access in the statement with index: 2."),
                reason(0, "Also here."),
            ],
        );
        let places: Vec<_> = found.iter().map(|f| f.statement).collect();
        assert_eq!(places, [Some(0), Some(2)]);
        assert!(
            found[0].details.ends_with("index: 0.; Also here."),
            "{}",
            found[0].details
        );
        assert_eq!(found[0].finding_type, "SECURITY_WARNING");
    }
}
