//! ValidatePolicy against SDK-level mocks (Access Analyzer is not emulated anywhere): each
//! finding type, pagination, throttling retried, and a refused call.

use aws_sdk_accessanalyzer::config::retry::RetryConfig;
use aws_sdk_accessanalyzer::error::ErrorMetadata;
use aws_sdk_accessanalyzer::operation::validate_policy::{
    ValidatePolicyError, ValidatePolicyOutput,
};
use aws_sdk_accessanalyzer::types::error::{AccessDeniedException, ThrottlingException};
use aws_sdk_accessanalyzer::types::{
    Location, PathElement, ValidatePolicyFinding, ValidatePolicyFindingType,
};
use aws_sdk_accessanalyzer::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use iam_policy_validate::access_analyzer::{validate, Request};
use iam_policy_validate::checks::PolicyKind;

fn finding(kind: ValidatePolicyFindingType, code: &str, statement: i32) -> ValidatePolicyFinding {
    ValidatePolicyFinding::builder()
        .finding_details(format!("{code} details"))
        .finding_type(kind)
        .issue_code(code)
        .learn_more_link("https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html")
        .locations(
            Location::builder()
                .path(PathElement::Key("Statement".into()))
                .path(PathElement::Index(statement))
                .path(PathElement::Key("Action".into()))
                .path(PathElement::Index(0))
                .span(
                    aws_sdk_accessanalyzer::types::Span::builder()
                        .start(aws_sdk_accessanalyzer::types::Position::builder().line(0).column(0).offset(0).build().expect("a complete builder"))
                        .end(aws_sdk_accessanalyzer::types::Position::builder().line(0).column(1).offset(1).build().expect("a complete builder"))
                        .build(),
                )
                .build()
                .expect("a complete builder"),
        )
        .build()
        .expect("a complete builder")
}

fn requests() -> Vec<Request> {
    vec![
        Request {
            key: 0,
            name: "deploy".into(),
            document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObjekt","Resource":"*"}]}"#.into(),
            kind: PolicyKind::Identity,
        },
        Request {
            key: 1,
            name: "assets".into(),
            document: r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#.into(),
            kind: PolicyKind::Resource("AWS::S3::Bucket".into()),
        },
    ]
}

fn fast_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(1))
}

#[tokio::test]
async fn every_finding_type_and_every_page() {
    // The first policy's findings come in two pages; the second policy has one page.
    let first_page = mock!(Client::validate_policy)
        .match_requests(|r| {
            r.next_token().is_none() && r.policy_document().unwrap_or("").contains("GetObjekt")
        })
        .then_output(|| {
            ValidatePolicyOutput::builder()
                .findings(finding(
                    ValidatePolicyFindingType::Error,
                    "INVALID_ACTION",
                    0,
                ))
                .findings(finding(
                    ValidatePolicyFindingType::Warning,
                    "MISSING_VERSION",
                    0,
                ))
                .next_token("page-2")
                .build()
                .unwrap()
        });
    let second_page = mock!(Client::validate_policy)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            ValidatePolicyOutput::builder()
                .findings(finding(
                    ValidatePolicyFindingType::Suggestion,
                    "EMPTY_OBJECT_CONDITION",
                    0,
                ))
                .build()
                .unwrap()
        });
    let bucket = mock!(Client::validate_policy)
        .match_requests(|r| {
            r.policy_document().unwrap_or("").contains("Principal")
                && r.validate_policy_resource_type().map(|t| t.as_str()) == Some("AWS::S3::Bucket")
        })
        .then_output(|| {
            ValidatePolicyOutput::builder()
                .findings(finding(
                    ValidatePolicyFindingType::SecurityWarning,
                    "PASS_ROLE_WITH_STAR_IN_RESOURCE",
                    0,
                ))
                .build()
                .unwrap()
        });
    let client = mock_client!(
        aws_sdk_accessanalyzer,
        RuleMode::MatchAny,
        [&first_page, &second_page, &bucket]
    );
    let found = validate(&client, &requests()).await.expect("validated");
    let summary: Vec<(usize, &str, &str)> = found
        .iter()
        .map(|f| (f.key, f.finding_type.as_str(), f.issue_code.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (0, "ERROR", "INVALID_ACTION"),
            (0, "WARNING", "MISSING_VERSION"),
            (0, "SUGGESTION", "EMPTY_OBJECT_CONDITION"),
            (1, "SECURITY_WARNING", "PASS_ROLE_WITH_STAR_IN_RESOURCE"),
        ]
    );
    assert_eq!(found[0].statement, Some(0));
    assert_eq!(found[0].field.as_deref(), Some("Action.0"));
    assert_eq!(found[0].severity(), findings::Severity::Critical);
    assert_eq!(found[1].severity(), findings::Severity::Medium);
    assert_eq!(found[2].severity(), findings::Severity::Low);
    assert_eq!(found[3].severity(), findings::Severity::High);
    // One to one with the finding types, so --output cfn-policy-validator gives them back.
    for f in &found {
        assert_eq!(
            findings::writers::cfn_policy_validator::finding_type(f.severity()),
            f.finding_type
        );
    }
    assert_eq!(second_page.num_calls(), 1);
}

#[tokio::test]
async fn throttling_is_retried_and_a_refusal_is_reported() {
    let throttled = mock!(Client::validate_policy)
        .sequence()
        .error(|| {
            ValidatePolicyError::ThrottlingException(
                ThrottlingException::builder()
                    .message("slow down")
                    .build()
                    .unwrap(),
            )
        })
        .output(|| {
            ValidatePolicyOutput::builder()
                .set_findings(Some(Vec::new()))
                .build()
                .unwrap()
        })
        .repeatedly()
        .build();
    let client = mock_client!(
        aws_sdk_accessanalyzer,
        RuleMode::Sequential,
        [&throttled],
        |c| c.retry_config(fast_retries())
    );
    let found = validate(&client, &requests()).await.expect("retried");
    assert!(found.is_empty());
    assert_eq!(
        throttled.num_calls(),
        3,
        "one throttled call, retried, then the second policy"
    );

    let denied = mock!(Client::validate_policy).then_error(|| {
        ValidatePolicyError::AccessDeniedException(
            AccessDeniedException::builder()
                .message("not allowed")
                .meta(
                    ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .message("not allowed")
                        .build(),
                )
                .build()
                .unwrap(),
        )
    });
    let client = mock_client!(aws_sdk_accessanalyzer, [&denied]);
    let err = validate(&client, &requests())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("AccessDeniedException"), "{err}");
    assert!(err.contains("access-analyzer:ValidatePolicy"), "{err}");
}
