//! Security Hub publishing against SDK-level mocks, for what moto cannot do: throttling,
//! partial failures, Security Hub not enabled, and batching of large runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_io::{publish_with, AwsError};
use aws_sdk_securityhub::config::retry::RetryConfig;
use aws_sdk_securityhub::operation::batch_import_findings::{
    BatchImportFindingsError, BatchImportFindingsOutput,
};
use aws_sdk_securityhub::types::error::InvalidAccessException;
use aws_sdk_securityhub::types::ImportFindingsError;
use aws_sdk_securityhub::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use findings::writers::AsffScope;
use findings::{Finding, Location, Report, Rule, Severity, Status, Tool};

fn report(failed: usize) -> Report {
    let mut report = Report::new(
        Tool {
            name: "template-scan".into(),
            version: "0.1.0".into(),
            information_uri: "https://example.com".into(),
        },
        chrono::Utc::now(),
    );
    report
        .context
        .insert("repository".into(), "https://github.com/org/app.git".into());
    report.rules.insert(
        "R1".into(),
        Rule {
            id: "R1".into(),
            severity: Severity::High,
            title: "A rule".into(),
            description: "What it checks.".into(),
            remediation: "Fix it.".into(),
            remediation_url: None,
            compliance: vec![
                findings::Control::new(findings::Framework::Nist80053, "SC-28"),
                findings::Control::new(findings::Framework::Fsbp, "S3.4"),
            ],
            sensitive: false,
        },
    );
    for i in 0..failed + 1 {
        let location = Location {
            file: "t.yaml".into(),
            line: Some(3),
            column: Some(5),
            resource: Some(format!("Bucket{i}")),
            resource_type: Some("AWS::S3::Bucket".into()),
            property_path: None,
        };
        report.push(Finding {
            id: Finding::stable_id("template-scan", "R1", &location),
            rule_id: "R1".into(),
            severity: Severity::High,
            // The last one passed: it must not be imported.
            status: if i == failed {
                Status::Passed
            } else {
                Status::Failed
            },
            message: "missing".into(),
            location,
            target: None,
            suppression: None,
        });
    }
    report
}

fn scope() -> AsffScope {
    AsffScope {
        account: "123456789012".into(),
        region: "us-east-1".into(),
        partition: "aws".into(),
    }
}

fn success(n: usize) -> BatchImportFindingsOutput {
    BatchImportFindingsOutput::builder()
        .success_count(n as i32)
        .failed_count(0)
        .build()
}

fn with_retries(
    config: aws_sdk_securityhub::config::Builder,
) -> aws_sdk_securityhub::config::Builder {
    config.retry_config(
        RetryConfig::standard()
            .with_max_attempts(4)
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(5)),
    )
}

#[tokio::test]
async fn throttling_is_retried_until_the_import_succeeds() {
    let rule = mock!(Client::batch_import_findings)
        .sequence()
        .http_status(
            429,
            Some(r#"{"__type":"LimitExceededException","Message":"Rate exceeded"}"#.into()),
        )
        .times(2)
        .output(|| success(3))
        .build();
    let client = mock_client!(
        aws_sdk_securityhub,
        RuleMode::Sequential,
        [&rule],
        with_retries
    );
    let published = publish_with(&client, &report(3), &scope(), false)
        .await
        .unwrap();
    assert_eq!(published.imported, 3);
    assert_eq!(rule.num_calls(), 3);
}

#[tokio::test]
async fn a_refused_finding_is_sent_again_once_and_reported_when_refused_twice() {
    let refused_id = Arc::new(Mutex::new(String::new()));
    let seen = Arc::clone(&refused_id);
    let partial = mock!(Client::batch_import_findings).then_compute_output(move |req| {
        let id = req.findings()[0].id().unwrap_or_default().to_owned();
        *seen.lock().unwrap() = id.clone();
        BatchImportFindingsOutput::builder()
            .success_count(req.findings().len() as i32 - 1)
            .failed_count(1)
            .failed_findings(
                ImportFindingsError::builder()
                    .id(id)
                    .error_code("InvalidInput")
                    .error_message("Finding is too large")
                    .build(),
            )
            .build()
    });
    // The retry succeeds: nothing is lost.
    let retry_ok = mock!(Client::batch_import_findings).then_output(|| success(1));
    let client = mock_client!(
        aws_sdk_securityhub,
        RuleMode::Sequential,
        [&partial, &retry_ok]
    );
    let published = publish_with(&client, &report(3), &scope(), false)
        .await
        .unwrap();
    assert_eq!((published.imported, published.retried), (3, 1));
    assert_eq!(retry_ok.num_calls(), 1);

    // Refused twice: the run fails (exit 3) naming the finding and the error code.
    let always = mock!(Client::batch_import_findings).then_compute_output(|req| {
        BatchImportFindingsOutput::builder()
            .success_count(0)
            .failed_count(req.findings().len() as i32)
            .set_failed_findings(Some(
                req.findings()
                    .iter()
                    .map(|f| {
                        ImportFindingsError::builder()
                            .id(f.id().unwrap_or_default())
                            .error_code("InvalidInput")
                            .error_message("Finding is too large")
                            .build()
                    })
                    .collect(),
            ))
            .build()
    });
    let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&always]);
    let err = publish_with(&client, &report(1), &scope(), false)
        .await
        .unwrap_err();
    let AwsError::Api(message) = err else {
        panic!("{err:?}")
    };
    let id = report(1).findings[0].id.clone();
    assert!(
        message.contains(&id) && message.contains("InvalidInput"),
        "{message}"
    );
    assert_eq!(always.num_calls(), 2);
}

#[tokio::test]
async fn security_hub_not_enabled_is_a_clear_error() {
    let rule = mock!(Client::batch_import_findings).then_error(|| {
        BatchImportFindingsError::InvalidAccessException(
            InvalidAccessException::builder()
                .message("Account 123456789012 is not subscribed to AWS Security Hub")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_securityhub, [&rule]);
    let err = publish_with(&client, &report(2), &scope(), false)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Security Hub is not enabled"), "{text}");
    assert!(text.contains("enable-security-hub"), "{text}");
}

#[tokio::test]
async fn two_hundred_fifty_findings_take_three_calls() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&sizes);
    let rule = mock!(Client::batch_import_findings).then_compute_output(move |req| {
        seen.lock().unwrap().push(req.findings().len());
        success(req.findings().len())
    });
    let client = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&rule]);
    let published = publish_with(&client, &report(250), &scope(), false)
        .await
        .unwrap();
    assert_eq!(published.imported, 250);
    assert_eq!(published.calls, 3);
    let mut sizes = sizes.lock().unwrap().clone();
    sizes.sort_unstable();
    assert_eq!(sizes, [50, 100, 100]);
}

/// Security Hub going away in the middle of an import (moto stopped, the network gone): the
/// calls that failed after the SDK's retries are exit 3, and their findings are listed by id
/// so a rerun of the build imports them under the same ids.
#[tokio::test]
async fn findings_of_a_call_that_failed_are_listed_by_id() {
    let calls = Arc::new(Mutex::new(0usize));
    let counted = Arc::clone(&calls);
    let first_ok = mock!(Client::batch_import_findings)
        .match_requests(move |_| {
            let mut n = counted.lock().unwrap();
            *n += 1;
            *n == 1
        })
        .then_compute_output(|req| success(req.findings().len()));
    let then_down = mock!(Client::batch_import_findings).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(503).unwrap(),
            aws_smithy_types::body::SdkBody::from("service unavailable"),
        )
    });
    let client = mock_client!(
        aws_sdk_securityhub,
        RuleMode::MatchAny,
        [&first_ok, &then_down],
        with_retries
    );
    let report = report(250);
    let err = publish_with(&client, &report, &scope(), false)
        .await
        .unwrap_err();
    let text = err.to_string();
    let listed: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("  ")).collect();
    let failed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Failed)
        .collect();
    // The first call (100 findings) went through; the other 150 are listed, each once.
    assert_eq!(listed.len(), 150, "{text}");
    assert!(
        text.contains("150 of 250 findings were not imported"),
        "{text}"
    );
    for id in &listed {
        assert!(
            failed.iter().any(|f| f.id == *id),
            "{id} is not a finding of the run"
        );
    }
    let unique: std::collections::BTreeSet<&&str> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len());
}
