//! Access previews against SDK-level mocks (Access Analyzer is not emulated anywhere): the
//! account analyzer found or created, a preview polled to completion, to failure and past the
//! timeout, findings over pages, archived and allowed principals left out, throttling.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_accessanalyzer::config::retry::RetryConfig;
use aws_sdk_accessanalyzer::error::ErrorMetadata;
use aws_sdk_accessanalyzer::operation::create_access_preview::{
    CreateAccessPreviewError, CreateAccessPreviewOutput,
};
use aws_sdk_accessanalyzer::operation::create_analyzer::CreateAnalyzerOutput;
use aws_sdk_accessanalyzer::operation::get_access_preview::GetAccessPreviewOutput;
use aws_sdk_accessanalyzer::operation::list_access_preview_findings::ListAccessPreviewFindingsOutput;
use aws_sdk_accessanalyzer::operation::list_analyzers::ListAnalyzersOutput;
use aws_sdk_accessanalyzer::primitives::DateTime;
use aws_sdk_accessanalyzer::types::error::ThrottlingException;
use aws_sdk_accessanalyzer::types::{
    AccessPreview, AccessPreviewFinding, AccessPreviewStatus, AccessPreviewStatusReason,
    AccessPreviewStatusReasonCode, AnalyzerStatus, AnalyzerSummary, FindingChangeType,
    FindingStatus, ResourceType, Type,
};
use aws_sdk_accessanalyzer::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use cfn_eval::Account;
use iam_policy_validate::access_analyzer::Request;
use iam_policy_validate::access_preview::{
    analyzer, preview, Polling, ANALYZER_NAME, EXTERNAL_PRINCIPAL, PREVIEW_FAILED,
};
use iam_policy_validate::checks::PolicyKind;

const ANALYZER: &str = "arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/account";

fn account() -> Account {
    Account {
        partition: "aws".into(),
        region: "eu-west-1".into(),
        account_id: "111122223333".into(),
    }
}

fn fast() -> Polling {
    Polling {
        interval: Duration::from_millis(1),
        timeout: Duration::from_secs(5),
    }
}

/// A queue policy (previewed), a trust policy (previewed) and an identity policy (not).
fn requests() -> Vec<Request> {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sqs:SendMessage","Resource":"*"}]}"#;
    vec![
        Request {
            key: 0,
            name: "jobs".into(),
            document: policy.into(),
            kind: PolicyKind::Resource("AWS::SQS::Queue".into()),
        },
        Request {
            key: 1,
            name: "deployer".into(),
            document: r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"sts:AssumeRole"}]}"#.into(),
            kind: PolicyKind::Trust,
        },
        Request {
            key: 2,
            name: "deploy".into(),
            document: r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#.into(),
            kind: PolicyKind::Identity,
        },
    ]
}

fn status(id: &str, status: AccessPreviewStatus) -> GetAccessPreviewOutput {
    GetAccessPreviewOutput::builder()
        .access_preview(
            AccessPreview::builder()
                .id(id)
                .analyzer_arn(ANALYZER)
                .set_configurations(Some(HashMap::new()))
                .created_at(DateTime::from_secs(0))
                .status(status)
                .build()
                .expect("a complete preview"),
        )
        .build()
}

fn failed(id: &str, reason: AccessPreviewStatusReasonCode) -> GetAccessPreviewOutput {
    let mut out = status(id, AccessPreviewStatus::Failed);
    let preview = out.access_preview.take().expect("a preview");
    out.access_preview = Some(
        AccessPreview::builder()
            .id(preview.id())
            .analyzer_arn(ANALYZER)
            .set_configurations(Some(HashMap::new()))
            .created_at(DateTime::from_secs(0))
            .status(AccessPreviewStatus::Failed)
            .status_reason(
                AccessPreviewStatusReason::builder()
                    .code(reason)
                    .build()
                    .expect("a complete reason"),
            )
            .build()
            .expect("a complete preview"),
    );
    out
}

fn external(principal: &str, finding_status: FindingStatus, public: bool) -> AccessPreviewFinding {
    AccessPreviewFinding::builder()
        .id(format!("finding-{principal}"))
        .principal("AWS", principal)
        .action("sqs:SendMessage")
        .is_public(public)
        .resource_type(ResourceType::AwsSqsQueue)
        .created_at(DateTime::from_secs(0))
        .change_type(FindingChangeType::New)
        .status(finding_status)
        .resource_owner_account("111122223333")
        .build()
        .expect("a complete finding")
}

/// CreateAccessPreview answering `preview-<queue|role>` by the configuration's ARN.
fn create() -> Rule {
    mock!(Client::create_access_preview).then_output(|| {
        CreateAccessPreviewOutput::builder()
            .id("preview-1")
            .build()
            .expect("a complete output")
    })
}

#[tokio::test]
async fn the_first_active_account_analyzer_is_used_and_one_is_created_without() {
    let listed = mock!(Client::list_analyzers)
        .match_requests(|r| r.r#type() == Some(&Type::Account))
        .then_output(|| {
            let summary = |name: &str, status: AnalyzerStatus| {
                AnalyzerSummary::builder()
                    .arn(format!(
                        "arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/{name}"
                    ))
                    .name(name)
                    .r#type(Type::Account)
                    .created_at(DateTime::from_secs(0))
                    .status(status)
                    .build()
                    .expect("a complete summary")
            };
            ListAnalyzersOutput::builder()
                .analyzers(summary("being-made", AnalyzerStatus::Creating))
                .analyzers(summary("account", AnalyzerStatus::Active))
                .build()
                .expect("a complete output")
        });
    let create = mock!(Client::create_analyzer).then_output(|| {
        CreateAnalyzerOutput::builder()
            .arn("arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/new")
            .build()
    });
    let client = mock_client!(
        aws_sdk_accessanalyzer,
        RuleMode::MatchAny,
        [&listed, &create]
    );
    assert_eq!(
        analyzer(&client).await.expect("found"),
        (ANALYZER.to_owned(), false)
    );
    assert_eq!(create.num_calls(), 0);

    let none = mock!(Client::list_analyzers).then_output(|| {
        ListAnalyzersOutput::builder()
            .set_analyzers(Some(Vec::new()))
            .build()
            .expect("a complete output")
    });
    let create = mock!(Client::create_analyzer)
        .match_requests(|r| {
            r.analyzer_name() == Some(ANALYZER_NAME) && r.r#type() == Some(&Type::Account)
        })
        .then_output(|| {
            CreateAnalyzerOutput::builder()
                .arn("arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/new")
                .build()
        });
    let client = mock_client!(aws_sdk_accessanalyzer, RuleMode::MatchAny, [&none, &create]);
    let (arn, created) = analyzer(&client).await.expect("created");
    assert!(created);
    assert!(arn.ends_with("analyzer/new"));
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test]
async fn a_preview_is_polled_to_completion_and_its_active_external_findings_reported() {
    let create = mock!(Client::create_access_preview)
        .match_requests(|r| {
            r.analyzer_arn() == Some(ANALYZER)
                && r.configurations()
                    .is_some_and(|c| c.contains_key("arn:aws:sqs:eu-west-1:111122223333:jobs"))
        })
        .then_output(|| {
            CreateAccessPreviewOutput::builder()
                .id("queue")
                .build()
                .expect("a complete output")
        });
    let create_role = mock!(Client::create_access_preview)
        .match_requests(|r| {
            r.configurations()
                .is_some_and(|c| c.contains_key("arn:aws:iam::111122223333:role/deployer"))
        })
        .then_output(|| {
            CreateAccessPreviewOutput::builder()
                .id("role")
                .build()
                .expect("a complete output")
        });
    // The queue's preview takes two polls; the role's is done at once.
    let queue_status = mock!(Client::get_access_preview)
        .match_requests(|r| r.access_preview_id() == Some("queue"))
        .sequence()
        .output(|| status("queue", AccessPreviewStatus::Creating))
        .output(|| status("queue", AccessPreviewStatus::Creating))
        .output(|| status("queue", AccessPreviewStatus::Completed))
        .build();
    let role_status = mock!(Client::get_access_preview)
        .match_requests(|r| r.access_preview_id() == Some("role"))
        .then_output(|| status("role", AccessPreviewStatus::Completed));
    // The queue's findings come in two pages: an external account, an archived one, an
    // allowed one, then a public one.
    let queue_page_1 = mock!(Client::list_access_preview_findings)
        .match_requests(|r| r.access_preview_id() == Some("queue") && r.next_token().is_none())
        .then_output(|| {
            ListAccessPreviewFindingsOutput::builder()
                .findings(external("444455556666", FindingStatus::Active, false))
                .findings(external("777766665555", FindingStatus::Archived, false))
                .findings(external(
                    "arn:aws:iam::222233334444:root",
                    FindingStatus::Active,
                    false,
                ))
                .next_token("2")
                .build()
                .expect("a complete output")
        });
    let queue_page_2 = mock!(Client::list_access_preview_findings)
        .match_requests(|r| r.access_preview_id() == Some("queue") && r.next_token() == Some("2"))
        .then_output(|| {
            ListAccessPreviewFindingsOutput::builder()
                .findings(external("*", FindingStatus::Active, true))
                .build()
                .expect("a complete output")
        });
    let role_findings = mock!(Client::list_access_preview_findings)
        .match_requests(|r| r.access_preview_id() == Some("role"))
        .then_output(|| {
            ListAccessPreviewFindingsOutput::builder()
                .set_findings(Some(Vec::new()))
                .build()
                .expect("a complete output")
        });
    let client = mock_client!(
        aws_sdk_accessanalyzer,
        RuleMode::MatchAny,
        [
            &create,
            &create_role,
            &queue_status,
            &role_status,
            &queue_page_1,
            &queue_page_2,
            &role_findings
        ]
    );
    let allowed = |p: &str| p.contains("222233334444");
    let found = preview(&client, ANALYZER, &requests(), &account(), fast(), &allowed)
        .await
        .expect("previewed");
    let details: Vec<(usize, &str, &str)> = found
        .iter()
        .map(|f| (f.key, f.issue_code.as_str(), f.details.as_str()))
        .collect();
    assert_eq!(
        details,
        [
            (0, EXTERNAL_PRINCIPAL, "Resource policy allows access from external principals: AWS: 444455556666 can sqs:SendMessage"),
            (0, EXTERNAL_PRINCIPAL, "Resource policy allows access from external principals: AWS: * can sqs:SendMessage (public: anyone)"),
        ]
    );
    assert!(found.iter().all(|f| f.finding_type == "SECURITY_WARNING"));
    assert_eq!(queue_status.num_calls(), 3, "polled until COMPLETED");
    assert_eq!(
        create.num_calls() + create_role.num_calls(),
        2,
        "no preview for the identity policy"
    );
}

#[tokio::test]
async fn a_policy_the_service_cannot_preview_is_a_finding_and_an_internal_failure_an_error() {
    let invalid = mock!(Client::get_access_preview).then_output(|| {
        failed(
            "preview-1",
            AccessPreviewStatusReasonCode::InvalidConfiguration,
        )
    });
    let client = mock_client!(
        aws_sdk_accessanalyzer,
        RuleMode::MatchAny,
        [&create(), &invalid]
    );
    let found = preview(
        &client,
        ANALYZER,
        &requests()[..1],
        &account(),
        fast(),
        &|_| false,
    )
    .await
    .expect("a finding, not an error");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].issue_code, PREVIEW_FAILED);
    assert_eq!(found[0].finding_type, "ERROR");
    assert!(
        found[0].details.contains("INVALID_CONFIGURATION"),
        "{}",
        found[0].details
    );

    let internal = mock!(Client::get_access_preview)
        .then_output(|| failed("preview-1", AccessPreviewStatusReasonCode::InternalError));
    let client = mock_client!(
        aws_sdk_accessanalyzer,
        RuleMode::MatchAny,
        [&create(), &internal]
    );
    let err = preview(
        &client,
        ANALYZER,
        &requests()[..1],
        &account(),
        fast(),
        &|_| false,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("INTERNAL_ERROR") && err.contains("jobs"),
        "{err}"
    );
}

#[tokio::test]
async fn a_preview_still_being_created_at_the_timeout_is_an_error() {
    let forever = mock!(Client::get_access_preview)
        .then_output(|| status("preview-1", AccessPreviewStatus::Creating));
    let client = mock_client!(
        aws_sdk_accessanalyzer,
        RuleMode::MatchAny,
        [&create(), &forever]
    );
    let polling = Polling {
        interval: Duration::from_millis(5),
        timeout: Duration::from_millis(40),
    };
    let err = preview(
        &client,
        ANALYZER,
        &requests()[..1],
        &account(),
        polling,
        &|_| false,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("still being created"), "{err}");
    assert!(forever.num_calls() >= 2, "polled more than once");
}

#[tokio::test]
async fn throttling_is_retried() {
    let throttled = mock!(Client::create_access_preview)
        .sequence()
        .error(|| {
            CreateAccessPreviewError::ThrottlingException(
                ThrottlingException::builder()
                    .message("slow down")
                    .meta(ErrorMetadata::builder().code("ThrottlingException").build())
                    .build()
                    .expect("a complete error"),
            )
        })
        .output(|| {
            CreateAccessPreviewOutput::builder()
                .id("preview-1")
                .build()
                .expect("a complete output")
        })
        .build();
    let done = mock!(Client::get_access_preview)
        .then_output(|| status("preview-1", AccessPreviewStatus::Completed));
    let empty = mock!(Client::list_access_preview_findings).then_output(|| {
        ListAccessPreviewFindingsOutput::builder()
            .set_findings(Some(Vec::new()))
            .build()
            .expect("a complete output")
    });
    let client = mock_client!(
        aws_sdk_accessanalyzer,
        RuleMode::MatchAny,
        [&throttled, &done, &empty],
        |c| c.retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        )
    );
    let found = preview(
        &client,
        ANALYZER,
        &requests()[..1],
        &account(),
        fast(),
        &|_| false,
    )
    .await
    .expect("retried");
    assert!(found.is_empty());
    assert_eq!(throttled.num_calls(), 2);
}
