//! The custom policy checks against SDK-level mocks: which policies each check sends, a
//! failure per statement the service names, batches of actions, one call per distinct
//! document, a policy the service refuses as a finding, a refused call as an error.

use aws_sdk_accessanalyzer::error::ErrorMetadata;
use aws_sdk_accessanalyzer::operation::check_access_not_granted::CheckAccessNotGrantedOutput;
use aws_sdk_accessanalyzer::operation::check_no_new_access::CheckNoNewAccessOutput;
use aws_sdk_accessanalyzer::operation::check_no_public_access::{
    CheckNoPublicAccessError, CheckNoPublicAccessOutput,
};
use aws_sdk_accessanalyzer::types::error::{AccessDeniedException, ValidationException};
use aws_sdk_accessanalyzer::types::{
    AccessCheckPolicyType, AccessCheckResourceType, CheckAccessNotGrantedResult,
    CheckNoNewAccessResult, CheckNoPublicAccessResult, ReasonSummary, ValidationExceptionReason,
};
use aws_sdk_accessanalyzer::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use iam_policy_validate::access_analyzer::Request;
use iam_policy_validate::checks::PolicyKind;
use iam_policy_validate::custom_checks::{run, CustomCheck, ReferenceType};

const WIDE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#;
const NARROW: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::assets/*"}]}"#;
const QUEUE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Two identity policies with the same wide document, a narrow one, a queue policy and a
/// trust policy.
fn requests() -> Vec<Request> {
    let request = |key, name: &str, document: &str, kind| Request {
        key,
        name: name.into(),
        document: document.into(),
        kind,
    };
    vec![
        request(0, "deploy", WIDE, PolicyKind::Identity),
        request(1, "deploy-copy", WIDE, PolicyKind::Identity),
        request(2, "read", NARROW, PolicyKind::Identity),
        request(
            3,
            "jobs",
            QUEUE,
            PolicyKind::Resource("AWS::SQS::Queue".into()),
        ),
        request(4, "deployer", TRUST, PolicyKind::Trust),
    ]
}

fn reason(statement: i32, text: &str) -> ReasonSummary {
    ReasonSummary::builder()
        .statement_index(statement)
        .description(text)
        .build()
}

#[tokio::test]
async fn no_new_access_compares_the_identity_policies_once_per_document() {
    let wide = mock!(Client::check_no_new_access)
        .match_requests(|r| {
            r.new_policy_document() == Some(WIDE)
                && r.policy_type() == Some(&AccessCheckPolicyType::IdentityPolicy)
                && r.existing_policy_document() == Some(NARROW)
        })
        .then_output(|| {
            CheckNoNewAccessOutput::builder()
                .result(CheckNoNewAccessResult::Fail)
                .message(
                    "The modified permissions grant new access compared to your existing policy.",
                )
                .reasons(reason(0, "New access in the statement with index: 0."))
                .reasons(reason(1, "New access in the statement with index: 1."))
                .build()
        });
    let narrow = mock!(Client::check_no_new_access)
        .match_requests(|r| r.new_policy_document() == Some(NARROW))
        .then_output(|| {
            CheckNoNewAccessOutput::builder()
                .result(CheckNoNewAccessResult::Pass)
                .build()
        });
    let client = mock_client!(aws_sdk_accessanalyzer, RuleMode::MatchAny, [&wide, &narrow]);
    let check = CustomCheck::NoNewAccess {
        reference: NARROW.into(),
        reference_type: ReferenceType::Identity,
    };
    let outcome = run(&client, &check, &requests()).await.expect("checked");
    assert_eq!(outcome.code, "policy-analysis-CheckNoNewAccess");
    assert_eq!(
        wide.num_calls(),
        1,
        "the copy of the document is not sent again"
    );
    let places: Vec<(usize, Option<usize>)> = outcome
        .findings
        .iter()
        .map(|f| (f.key, f.statement))
        .collect();
    assert_eq!(
        places,
        [(0, Some(0)), (0, Some(1)), (1, Some(0)), (1, Some(1))]
    );
    assert!(outcome.findings[1].details.contains("index: 1."));
    assert_eq!(
        outcome.passed,
        [2],
        "resource and trust policies are not compared"
    );
}

#[tokio::test]
async fn access_not_granted_sends_actions_in_batches_and_fails_on_any() {
    let actions: Vec<String> = (0..150)
        .map(|i| format!("s3:Action{i}"))
        .chain(["iam:PassRole".to_owned()])
        .collect();
    let first_batch = mock!(Client::check_access_not_granted)
        .match_requests(|r| r.access().first().is_some_and(|a| a.actions().len() == 100))
        .then_output(|| {
            CheckAccessNotGrantedOutput::builder()
                .result(CheckAccessNotGrantedResult::Pass)
                .build()
        });
    let second_batch = mock!(Client::check_access_not_granted)
        .match_requests(|r| {
            r.access().first().is_some_and(|a| a.actions().len() == 51)
                && r.policy_document() == Some(WIDE)
        })
        .then_output(|| {
            CheckAccessNotGrantedOutput::builder()
                .result(CheckAccessNotGrantedResult::Fail)
                .message("The policy document grants access to perform one or more of the listed actions.")
                .reasons(reason(1, "One or more of the listed actions in the statement with index: 1."))
                .build()
        });
    let others = mock!(Client::check_access_not_granted)
        .match_requests(|r| r.policy_document() != Some(WIDE))
        .then_output(|| {
            CheckAccessNotGrantedOutput::builder()
                .result(CheckAccessNotGrantedResult::Pass)
                .build()
        });
    let client = mock_client!(
        aws_sdk_accessanalyzer,
        RuleMode::MatchAny,
        [&first_batch, &second_batch, &others]
    );
    let check = CustomCheck::AccessNotGranted {
        actions,
        resources: Vec::new(),
    };
    let outcome = run(&client, &check, &requests()).await.expect("checked");
    // Four distinct documents, two batches each.
    assert_eq!(
        first_batch.num_calls() + second_batch.num_calls() + others.num_calls(),
        8
    );
    let failed: Vec<(usize, Option<usize>)> = outcome
        .findings
        .iter()
        .map(|f| (f.key, f.statement))
        .collect();
    assert_eq!(failed, [(0, Some(1)), (1, Some(1))]);
    assert_eq!(outcome.passed, [2, 3, 4]);
}

#[tokio::test]
async fn no_public_access_checks_resource_and_trust_policies_with_their_types() {
    let queue = mock!(Client::check_no_public_access)
        .match_requests(|r| r.resource_type() == Some(&AccessCheckResourceType::SqsQueue))
        .then_output(|| {
            CheckNoPublicAccessOutput::builder()
                .result(CheckNoPublicAccessResult::Fail)
                .message("The resource policy grants public access for the given resource type.")
                .reasons(reason(
                    0,
                    "Public access granted in the following statement with index: 0.",
                ))
                .build()
        });
    let trust = mock!(Client::check_no_public_access)
        .match_requests(|r| r.resource_type() == Some(&AccessCheckResourceType::RoleTrust))
        .then_output(|| {
            CheckNoPublicAccessOutput::builder()
                .result(CheckNoPublicAccessResult::Pass)
                .build()
        });
    let client = mock_client!(aws_sdk_accessanalyzer, RuleMode::MatchAny, [&queue, &trust]);
    let outcome = run(&client, &CustomCheck::NoPublicAccess, &requests())
        .await
        .expect("checked");
    assert_eq!(outcome.findings.len(), 1);
    assert_eq!(
        (outcome.findings[0].key, outcome.findings[0].statement),
        (3, Some(0))
    );
    assert_eq!(outcome.findings[0].finding_type, "SECURITY_WARNING");
    assert_eq!(outcome.passed, [4], "identity policies are not sent");
}

#[tokio::test]
async fn a_refused_policy_is_an_error_finding_and_a_refused_call_an_error() {
    let invalid = mock!(Client::check_no_public_access).then_error(|| {
        CheckNoPublicAccessError::ValidationException(
            ValidationException::builder()
                .message("Invalid policy document")
                .reason(ValidationExceptionReason::Other)
                .meta(
                    ErrorMetadata::builder()
                        .code("ValidationException")
                        .message("Invalid policy document")
                        .build(),
                )
                .build()
                .expect("a complete error"),
        )
    });
    let client = mock_client!(aws_sdk_accessanalyzer, [&invalid]);
    let outcome = run(&client, &CustomCheck::NoPublicAccess, &requests()[3..4])
        .await
        .expect("a finding, not an error");
    assert_eq!(outcome.findings.len(), 1);
    let f = &outcome.findings[0];
    assert_eq!(
        f.issue_code,
        "policy-analysis-CheckNoPublicAccessValidationException"
    );
    assert_eq!(f.finding_type, "ERROR");
    assert!(
        f.details.contains("Invalid policy document"),
        "{}",
        f.details
    );

    let denied = mock!(Client::check_no_public_access).then_error(|| {
        CheckNoPublicAccessError::AccessDeniedException(
            AccessDeniedException::builder()
                .message("not allowed")
                .meta(
                    ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .message("not allowed")
                        .build(),
                )
                .build()
                .expect("a complete error"),
        )
    });
    let client = mock_client!(aws_sdk_accessanalyzer, [&denied]);
    let err = run(&client, &CustomCheck::NoPublicAccess, &requests()[3..4])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("access-analyzer:CheckNoPublicAccess"), "{err}");
}
