//! What moto cannot do, against SDK-level mocks: a FAILED operation with failed instances,
//! OperationInProgressException, a retried build finding its running operation, drift
//! detection, throttling, a timeout and a cancelled build.

use std::sync::Mutex;
use std::time::Duration;

use aws_io::Cancel;
use aws_sdk_cloudformation::config::retry::RetryConfig;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationOutput;
use aws_sdk_cloudformation::operation::detect_stack_set_drift::DetectStackSetDriftOutput;
use aws_sdk_cloudformation::operation::list_stack_instances::ListStackInstancesOutput;
use aws_sdk_cloudformation::operation::list_stack_set_operation_results::ListStackSetOperationResultsOutput;
use aws_sdk_cloudformation::operation::list_stack_set_operations::ListStackSetOperationsOutput;
use aws_sdk_cloudformation::operation::stop_stack_set_operation::StopStackSetOperationOutput;
use aws_sdk_cloudformation::operation::update_stack_set::{
    UpdateStackSetError, UpdateStackSetOutput,
};
use aws_sdk_cloudformation::types::error::OperationInProgressException;
use aws_sdk_cloudformation::types::{
    StackDriftStatus, StackInstanceStatus, StackInstanceSummary, StackSetOperation,
    StackSetOperationAction, StackSetOperationResultStatus, StackSetOperationResultSummary,
    StackSetOperationStatus, StackSetOperationSummary,
};
use aws_sdk_cloudformation::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use findings::{Exit, FailOn, Severity, Status};
use stackset_update::config::{load, Desired, Overrides};
use stackset_update::deployed::{Deployed, Instance};
use stackset_update::operation::{Interrupted, Runner, Settings};
use stackset_update::plan::plan;
use stackset_update::{report_of, Run};

const TEMPLATE: &str = "Parameters:\n  RetentionDays:\n    Type: Number\n    Default: 30\nResources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n";
const CONFIG: &str = "StackSetName: baseline\nTemplatePath: template.yaml\nParameters:\n  RetentionDays: 90\nDeploymentTargets: ['111111111111', '222222222222']\nRegions: [us-east-1, eu-west-1]\n";

fn desired() -> Desired {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("template.yaml"), TEMPLATE).expect("write");
    let path = dir.path().join("stackset.yaml");
    std::fs::write(&path, CONFIG).expect("write");
    load(Some(&path), &Overrides::default()).expect("a valid configuration")
}

const PLACES: [(&str, &str); 4] = [
    ("111111111111", "eu-west-1"),
    ("111111111111", "us-east-1"),
    ("222222222222", "eu-west-1"),
    ("222222222222", "us-east-1"),
];

fn deployed() -> Deployed {
    Deployed {
        template_body: TEMPLATE.into(),
        parameters: vec![("RetentionDays".into(), "30".into())],
        instances: PLACES
            .iter()
            .map(|(a, r)| Instance {
                account: (*a).into(),
                region: (*r).into(),
                status: "CURRENT".into(),
                ..Instance::default()
            })
            .collect(),
        ..Deployed::default()
    }
}

fn settings() -> Settings {
    Settings {
        poll: Duration::from_secs(10),
        timeout: Duration::from_secs(600),
        stop_on_cancel: false,
    }
}

fn fast_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
}

/// Progress lines, kept for assertions.
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
fn log(line: &str) {
    LOG.lock().expect("log lock").push(line.to_owned());
}
fn logged() -> String {
    LOG.lock().expect("log lock").join("\n")
}

fn no_operations() -> Rule {
    mock!(Client::list_stack_set_operations).then_output(|| {
        ListStackSetOperationsOutput::builder()
            .set_summaries(Some(Vec::new()))
            .build()
    })
}

fn described(
    status: StackSetOperationStatus,
    reason: Option<&str>,
) -> DescribeStackSetOperationOutput {
    DescribeStackSetOperationOutput::builder()
        .stack_set_operation(
            StackSetOperation::builder()
                .operation_id("op")
                .action(StackSetOperationAction::Update)
                .status(status)
                .set_status_reason(reason.map(str::to_owned))
                .build(),
        )
        .build()
}

fn result(
    account: &str,
    region: &str,
    status: StackSetOperationResultStatus,
    reason: Option<&str>,
) -> StackSetOperationResultSummary {
    StackSetOperationResultSummary::builder()
        .account(account)
        .region(region)
        .status(status)
        .set_status_reason(reason.map(str::to_owned))
        .build()
}

const DENIED: &str = "Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role 'AWSCloudFormationStackSetAdministrationRole'.";

/// Results of a failed operation: account 2 fails in us-east-1, so eu-west-1 is cancelled.
fn failed_results() -> Rule {
    mock!(Client::list_stack_set_operation_results).then_output(|| {
        ListStackSetOperationResultsOutput::builder()
            .summaries(result(
                "111111111111",
                "eu-west-1",
                StackSetOperationResultStatus::Succeeded,
                None,
            ))
            .summaries(result(
                "111111111111",
                "us-east-1",
                StackSetOperationResultStatus::Succeeded,
                None,
            ))
            .summaries(result(
                "222222222222",
                "us-east-1",
                StackSetOperationResultStatus::Failed,
                Some(DENIED),
            ))
            .summaries(result(
                "222222222222",
                "eu-west-1",
                StackSetOperationResultStatus::Cancelled,
                Some("Cancelled since failure tolerance has exceeded"),
            ))
            .build()
    })
}

#[tokio::test(start_paused = true)]
async fn a_failed_operation_fails_the_gate_and_names_each_failed_instance() {
    let d = desired();
    let before = deployed();
    let p = plan(&d, &before);
    assert!(p.needs_update());
    let update = mock!(Client::update_stack_set)
        .match_requests(|r| {
            r.operation_id()
                .is_some_and(|id| id.starts_with("stackset-update-update-") && id.ends_with("-1"))
                && r.accounts().len() == 2
                && r.regions().len() == 2
                && r.parameters()
                    .iter()
                    .any(|p| p.parameter_value() == Some("90"))
        })
        .then_output(|| UpdateStackSetOutput::builder().operation_id("op").build());
    let describe = mock!(Client::describe_stack_set_operation)
        .sequence()
        .output(|| described(StackSetOperationStatus::Running, None))
        .output(|| {
            described(
                StackSetOperationStatus::Failed,
                Some("The operation failed because failure tolerance was exceeded."),
            )
        })
        .build();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&no_operations(), &update, &describe, &failed_results()]
    );
    let mut runner = Runner::new(&client, &d, settings(), Cancel::manual().1, &log);
    let outcome = runner.apply(&p).await.expect("the calls succeed");
    assert_eq!(update.num_calls(), 1);
    assert_eq!(describe.num_calls(), 2, "polled until the operation ended");
    assert!(outcome.interrupted.is_none());
    let op = &outcome.operations[0];
    assert_eq!(op.status, "FAILED");

    let run = Run {
        deployed: before.clone(),
        plan: p,
        drift: None,
        outcome: Some(outcome.clone()),
        after: before.instances.clone(),
    };
    let report = report_of(&d, &run, false);
    let failed: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Failed)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(failed.len(), 3, "{failed:#?}");
    assert!(failed.iter().any(|m| m.contains("222222222222 us-east-1: FAILED: Account 222222222222 should have")), "{failed:#?}");
    assert!(
        failed
            .iter()
            .any(|m| m
                .contains("222222222222 eu-west-1: CANCELLED: Cancelled since failure tolerance")),
        "{failed:#?}"
    );
    assert!(failed.iter().any(|m| m.contains("FAILED: The operation failed because failure tolerance was exceeded.; 2 of 4 instances did not succeed")), "{failed:#?}");
    let passed = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Passed)
        .count();
    assert_eq!(passed, 2);
    // Each instance finding is about its own account and region.
    let target = report
        .findings
        .iter()
        .find(|f| f.message.starts_with("222222222222 us-east-1"))
        .and_then(|f| f.target.clone())
        .expect("a target");
    assert_eq!(target.account.as_deref(), Some("222222222222"));
    assert_eq!(target.region.as_deref(), Some("us-east-1"));
    let verdict = findings::gate::evaluate(&report, FailOn::Severity(Severity::High));
    assert_eq!(verdict.exit, Exit::GateFailed);
    let table = stackset_update::report::summary_table(&op.results);
    assert!(
        table.contains(&format!(
            "222222222222  us-east-1         FAILED     {DENIED}"
        )),
        "{table}"
    );
    assert!(
        logged().contains("RUNNING: 1 cancelled, 1 failed, 2 succeeded"),
        "{}",
        logged()
    );
}

/// ListStackSetOperationResults may name no instance at all (moto's answer): every targeted
/// account and region still gets its test case, from ListStackInstances after the operation.
#[tokio::test(start_paused = true)]
async fn instances_the_operation_results_leave_out_are_reported_from_list_stack_instances() {
    let d = desired();
    let before = deployed();
    let p = plan(&d, &before);
    let update = mock!(Client::update_stack_set)
        .then_output(|| UpdateStackSetOutput::builder().operation_id("op").build());
    let describe = mock!(Client::describe_stack_set_operation)
        .then_output(|| described(StackSetOperationStatus::Succeeded, None));
    let empty = mock!(Client::list_stack_set_operation_results).then_output(|| {
        ListStackSetOperationResultsOutput::builder()
            .set_summaries(Some(Vec::new()))
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&no_operations(), &update, &describe, &empty]
    );
    let mut runner = Runner::new(&client, &d, settings(), Cancel::manual().1, &log);
    let outcome = runner.apply(&p).await.expect("the calls succeed");
    let mut after = before.instances.clone();
    after[3].status = "OUTDATED".into();
    after[3].status_reason = Some("User Initiated".into());
    let run = Run {
        deployed: before.clone(),
        plan: p,
        drift: None,
        outcome: Some(outcome),
        after,
    };
    let report = report_of(&d, &run, false);
    let instances: Vec<(&str, Status)> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "STACK_INSTANCE")
        .map(|f| (f.message.as_str(), f.status))
        .collect();
    assert_eq!(
        instances.len(),
        4,
        "a case per account and region: {instances:#?}"
    );
    assert!(instances.contains(&(
        "222222222222 us-east-1: OUTDATED after the operation: User Initiated",
        Status::Failed
    )));
    assert_eq!(
        instances
            .iter()
            .filter(|(_, s)| *s == Status::Passed)
            .count(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn another_operation_in_progress_is_waited_for() {
    let d = desired();
    let p = plan(&d, &deployed());
    let update = mock!(Client::update_stack_set)
        .sequence()
        .error(|| {
            UpdateStackSetError::OperationInProgressException(
                OperationInProgressException::builder()
                    .message("Another Operation on StackSet arn:aws:cloudformation:us-east-1:123456789012:stackset/baseline is in progress")
                    .build(),
            )
        })
        .times(2)
        .output(|| UpdateStackSetOutput::builder().operation_id("op").build())
        .build();
    let describe = mock!(Client::describe_stack_set_operation)
        .then_output(|| described(StackSetOperationStatus::Succeeded, None));
    let results = mock!(Client::list_stack_set_operation_results).then_output(|| {
        let mut out = ListStackSetOperationResultsOutput::builder();
        for (a, r) in PLACES {
            out = out.summaries(result(a, r, StackSetOperationResultStatus::Succeeded, None));
        }
        out.build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&no_operations(), &update, &describe, &results]
    );
    let mut runner = Runner::new(&client, &d, settings(), Cancel::manual().1, &log);
    let outcome = runner.apply(&p).await.expect("the calls succeed");
    assert_eq!(update.num_calls(), 3, "two refusals, then started");
    assert!(outcome.operations[0].succeeded());
    assert!(logged().contains("another operation is running on the StackSet"));
}

#[tokio::test(start_paused = true)]
async fn a_retried_build_follows_the_operation_its_first_run_started() {
    let d = desired();
    let p = plan(&d, &deployed());
    let base = stackset_update::plan::operation_base(&d, &p, "update");
    let running = format!("{base}-1");
    let listed = {
        let running = running.clone();
        mock!(Client::list_stack_set_operations).then_output(move || {
            ListStackSetOperationsOutput::builder()
                .summaries(
                    StackSetOperationSummary::builder()
                        .operation_id(running.clone())
                        .status(StackSetOperationStatus::Running)
                        .build(),
                )
                .build()
        })
    };
    let update = mock!(Client::update_stack_set).then_output(|| {
        UpdateStackSetOutput::builder()
            .operation_id("never")
            .build()
    });
    let describe = mock!(Client::describe_stack_set_operation)
        .match_requests(move |r| r.operation_id() == Some(running.as_str()))
        .then_output(|| described(StackSetOperationStatus::Succeeded, None));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&listed, &update, &describe, &failed_results()]
    );
    let mut runner = Runner::new(&client, &d, settings(), Cancel::manual().1, &log);
    runner.apply(&p).await.expect("the calls succeed");
    assert_eq!(update.num_calls(), 0, "no second operation");
    assert_eq!(describe.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_attempt_is_retried_under_the_next_id() {
    let d = desired();
    let p = plan(&d, &deployed());
    let base = stackset_update::plan::operation_base(&d, &p, "update");
    let failed = format!("{base}-1");
    let listed = mock!(Client::list_stack_set_operations).then_output(move || {
        ListStackSetOperationsOutput::builder()
            .summaries(
                StackSetOperationSummary::builder()
                    .operation_id(failed.clone())
                    .status(StackSetOperationStatus::Failed)
                    .build(),
            )
            .build()
    });
    let second = format!("{base}-2");
    let update = mock!(Client::update_stack_set)
        .match_requests(move |r| r.operation_id() == Some(second.as_str()))
        .then_output(|| UpdateStackSetOutput::builder().operation_id("op").build());
    let describe = mock!(Client::describe_stack_set_operation)
        .then_output(|| described(StackSetOperationStatus::Succeeded, None));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&listed, &update, &describe, &failed_results()]
    );
    let mut runner = Runner::new(&client, &d, settings(), Cancel::manual().1, &log);
    runner.apply(&p).await.expect("the calls succeed");
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn throttling_while_polling_is_retried() {
    let d = desired();
    let p = plan(&d, &deployed());
    let update = mock!(Client::update_stack_set)
        .then_output(|| UpdateStackSetOutput::builder().operation_id("op").build());
    let describe = mock!(Client::describe_stack_set_operation)
        .sequence()
        .error(|| {
            aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationError::generic(
                ErrorMetadata::builder().code("Throttling").message("Rate exceeded").build(),
            )
        })
        .output(|| described(StackSetOperationStatus::Succeeded, None))
        .build();
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&no_operations(), &update, &describe, &failed_results()],
        |c| c.retry_config(fast_retries())
    );
    let mut runner = Runner::new(&client, &d, settings(), Cancel::manual().1, &log);
    let outcome = runner.apply(&p).await.expect("throttling is retried");
    assert_eq!(describe.num_calls(), 2);
    assert!(outcome.operations[0].succeeded());
}

#[tokio::test(start_paused = true)]
async fn a_timeout_leaves_the_operation_running_and_names_it() {
    let d = desired();
    let p = plan(&d, &deployed());
    let update = mock!(Client::update_stack_set)
        .then_output(|| UpdateStackSetOutput::builder().operation_id("op").build());
    let describe = mock!(Client::describe_stack_set_operation)
        .then_output(|| described(StackSetOperationStatus::Running, None));
    let stop = mock!(Client::stop_stack_set_operation)
        .then_output(|| StopStackSetOperationOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &no_operations(),
            &update,
            &describe,
            &failed_results(),
            &stop
        ]
    );
    let s = Settings {
        timeout: Duration::from_secs(60),
        ..settings()
    };
    let mut runner = Runner::new(&client, &d, s, Cancel::manual().1, &log);
    let outcome = runner.apply(&p).await.expect("the calls succeed");
    match outcome.interrupted {
        // The id CloudFormation answered with, which it follows.
        Some(Interrupted::TimedOut {
            operation: Some(id),
        }) => assert_eq!(id, "op"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(stop.num_calls(), 0, "a timeout does not stop the operation");
    assert!(describe.num_calls() >= 5);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_build_stops_the_operation_with_stop_on_cancel() {
    let d = desired();
    let p = plan(&d, &deployed());
    let update = mock!(Client::update_stack_set)
        .then_output(|| UpdateStackSetOutput::builder().operation_id("op").build());
    let describe = mock!(Client::describe_stack_set_operation)
        .then_output(|| described(StackSetOperationStatus::Running, None));
    let stop = mock!(Client::stop_stack_set_operation)
        .match_requests(|r| r.operation_id() == Some("op"))
        .then_output(|| StopStackSetOperationOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &no_operations(),
            &update,
            &describe,
            &failed_results(),
            &stop
        ]
    );
    let (raise, cancel) = Cancel::manual();
    let s = Settings {
        stop_on_cancel: true,
        ..settings()
    };
    let mut runner = Runner::new(&client, &d, s, cancel, &log);
    let cancel_soon = async {
        tokio::time::sleep(Duration::from_secs(25)).await;
        raise.send(1).expect("the runner listens");
    };
    let (outcome, ()) = tokio::join!(runner.apply(&p), cancel_soon);
    match outcome.expect("the calls succeed").interrupted {
        Some(Interrupted::Cancelled {
            operation: Some(_),
            stopped: true,
        }) => {}
        other => panic!("expected a stopped operation, got {other:?}"),
    }
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn drift_detection_reports_each_drifted_instance() {
    let d = desired();
    let before = deployed();
    let p = plan(&d, &before);
    let detect = mock!(Client::detect_stack_set_drift).then_output(|| {
        DetectStackSetDriftOutput::builder()
            .operation_id("drift-op")
            .build()
    });
    let describe = mock!(Client::describe_stack_set_operation)
        .match_requests(|r| r.operation_id() == Some("drift-op"))
        .then_output(|| {
            DescribeStackSetOperationOutput::builder()
                .stack_set_operation(
                    StackSetOperation::builder()
                        .operation_id("drift-op")
                        .action(StackSetOperationAction::DetectDrift)
                        .status(StackSetOperationStatus::Succeeded)
                        .build(),
                )
                .build()
        });
    let results = mock!(Client::list_stack_set_operation_results).then_output(|| {
        ListStackSetOperationResultsOutput::builder()
            .set_summaries(Some(Vec::new()))
            .build()
    });
    let instances = mock!(Client::list_stack_instances).then_output(|| {
        let mut out = ListStackInstancesOutput::builder();
        for (a, r) in PLACES {
            let drift = if a == "222222222222" && r == "eu-west-1" {
                StackDriftStatus::Drifted
            } else {
                StackDriftStatus::InSync
            };
            out = out.summaries(
                StackInstanceSummary::builder()
                    .account(a)
                    .region(r)
                    .status(StackInstanceStatus::Current)
                    .drift_status(drift)
                    .stack_id(format!(
                        "arn:aws:cloudformation:{r}:{a}:stack/StackSet-baseline-1/0"
                    ))
                    .build(),
            );
        }
        out.build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&detect, &describe, &results, &instances]
    );
    let mut runner = Runner::new(&client, &d, settings(), Cancel::manual().1, &log);
    let drift = runner
        .detect_drift()
        .await
        .expect("the calls succeed")
        .expect("ended");
    assert!(drift.succeeded());
    let after = stackset_update::deployed::instances(&client, "baseline", None)
        .await
        .expect("listed");
    let run = Run {
        deployed: before,
        plan: p,
        drift: Some(drift),
        outcome: None,
        after,
    };
    let report = report_of(&d, &run, true);
    let drifted: Vec<&findings::Finding> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "STACK_INSTANCE_DRIFT" && f.status == Status::Failed)
        .collect();
    assert_eq!(drifted.len(), 1);
    assert_eq!(drifted[0].message, "222222222222 eu-west-1: DRIFTED");
    assert_eq!(
        drifted[0]
            .target
            .as_ref()
            .and_then(|t| t.resource_arn.as_deref()),
        Some("arn:aws:cloudformation:eu-west-1:222222222222:stack/StackSet-baseline-1/0")
    );
    // Drift is MEDIUM: reported, not blocking by default.
    let verdict = findings::gate::evaluate(&report, FailOn::Severity(Severity::High));
    assert_eq!(verdict.exit, Exit::Passed);
}
