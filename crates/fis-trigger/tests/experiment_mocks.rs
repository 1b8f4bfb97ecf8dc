//! What moto cannot do, against SDK-level mocks: an experiment stopped by its stop-condition
//! alarm, one failed with an error code, one cancelled, throttling while polling, and
//! StopExperiment at the timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_io::Cancel;
use aws_sdk_fis::config::retry::RetryConfig;
use aws_sdk_fis::error::ErrorMetadata;
use aws_sdk_fis::operation::get_experiment::{GetExperimentError, GetExperimentOutput};
use aws_sdk_fis::operation::start_experiment::StartExperimentOutput;
use aws_sdk_fis::operation::stop_experiment::StopExperimentOutput;
use aws_sdk_fis::types::{
    Experiment, ExperimentAction, ExperimentActionState, ExperimentActionStatus, ExperimentError,
    ExperimentState, ExperimentStatus,
};
use aws_sdk_fis::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use findings::{Exit, Status};
use fis_trigger::experiment::{follow, start, Interruption, Settings, Start, Template};

fn experiment(
    status: ExperimentStatus,
    reason: &str,
    action: ExperimentActionStatus,
    error: Option<(&str, &str)>,
) -> Experiment {
    let mut state = ExperimentState::builder().status(status).reason(reason);
    if let Some((code, location)) = error {
        state = state.error(
            ExperimentError::builder()
                .code(code)
                .location(location)
                .build(),
        );
    }
    Experiment::builder()
        .id("EXP1")
        .arn("arn:aws:fis:eu-west-1:111122223333:experiment/EXP1")
        .experiment_template_id("EXT1")
        .state(state.build())
        .actions(
            "stop-az",
            ExperimentAction::builder()
                .action_id("aws:network:disrupt-connectivity")
                .state(
                    ExperimentActionState::builder()
                        .status(action)
                        .reason(format!("action {}", reason.to_lowercase()))
                        .build(),
                )
                .build(),
        )
        .build()
}

fn running() -> Experiment {
    experiment(
        ExperimentStatus::Running,
        "Experiment is running",
        ExperimentActionStatus::Running,
        None,
    )
}

fn settings() -> Settings {
    Settings {
        poll: Duration::from_secs(10),
        timeout: Duration::from_secs(600),
        hand_over: None,
        stop_wait: Duration::from_secs(60),
        report_wait: Duration::from_secs(300),
    }
}

fn template() -> Template {
    Template {
        id: "EXT1".into(),
        description: "Checkout survives the loss of one AZ".into(),
        tags: BTreeMap::new(),
    }
}

fn log(_: &str) {}

/// Runs the experiment against the mocks' answers to GetExperiment, after one `running`.
async fn outcome_of(last: Experiment) -> fis_trigger::experiment::Outcome {
    let get = mock!(Client::get_experiment)
        .sequence()
        .output(|| GetExperimentOutput::builder().experiment(running()).build())
        .output(move || {
            GetExperimentOutput::builder()
                .experiment(last.clone())
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_fis, RuleMode::MatchAny, [&get]);
    let first = fis_trigger::experiment::get(&client, "EXP1")
        .await
        .expect("read");
    follow(&client, first, &settings(), &mut Cancel::manual().1, &log)
        .await
        .expect("the calls succeed")
}

/// The gate, and the failed findings' messages: the experiment's first, then the actions'.
fn gate(outcome: &fis_trigger::experiment::Outcome) -> (Exit, Vec<String>) {
    let report = fis_trigger::report::build(
        &template(),
        Some(outcome),
        &[],
        &[],
        &fis_trigger::probe::Plan::none(),
        false,
    );
    let mut failed: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Failed)
        .map(|f| f.message.clone())
        .collect();
    failed.sort_by_key(|m| !m.starts_with("experiment "));
    (
        findings::gate::evaluate(
            &report,
            findings::FailOn::Severity(findings::Severity::High),
        )
        .exit,
        failed,
    )
}

#[tokio::test(start_paused = true)]
async fn a_stop_condition_alarm_fails_the_gate_with_its_reason() {
    let outcome = outcome_of(experiment(
        ExperimentStatus::Stopped,
        "Experiment stopped by a stop condition: alarm checkout-5xx",
        ExperimentActionStatus::Stopped,
        None,
    ))
    .await;
    assert_eq!(outcome.experiment.status, "stopped");
    assert!(outcome.interrupted.is_none());
    let (exit, failed) = gate(&outcome);
    assert_eq!(exit, Exit::GateFailed);
    assert_eq!(
        failed[0],
        "experiment EXP1: stopped: Experiment stopped by a stop condition: alarm checkout-5xx"
    );
    assert!(
        failed[1].starts_with("stop-az (aws:network:disrupt-connectivity): stopped"),
        "{failed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_experiment_names_its_error_code() {
    let outcome = outcome_of(experiment(
        ExperimentStatus::Failed,
        "Experiment failed",
        ExperimentActionStatus::Failed,
        Some(("ConfigurationFailure", "action stop-az")),
    ))
    .await;
    let (exit, failed) = gate(&outcome);
    assert_eq!(exit, Exit::GateFailed);
    assert!(
        failed[0]
            .contains("failed: Experiment failed (error ConfigurationFailure at action stop-az)"),
        "{failed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_experiment_fails_the_gate() {
    let outcome = outcome_of(experiment(
        ExperimentStatus::Cancelled,
        "Experiment cancelled",
        ExperimentActionStatus::Cancelled,
        None,
    ))
    .await;
    assert_eq!(gate(&outcome).0, Exit::GateFailed);
}

#[tokio::test(start_paused = true)]
async fn a_completed_experiment_passes() {
    let outcome = outcome_of(experiment(
        ExperimentStatus::Completed,
        "Experiment completed",
        ExperimentActionStatus::Completed,
        None,
    ))
    .await;
    let (exit, failed) = gate(&outcome);
    assert_eq!(exit, Exit::Passed, "{failed:?}");
}

#[tokio::test(start_paused = true)]
async fn throttling_while_polling_is_retried() {
    let get = mock!(Client::get_experiment)
        .sequence()
        .error(|| {
            GetExperimentError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .output(|| {
            GetExperimentOutput::builder()
                .experiment(experiment(
                    ExperimentStatus::Completed,
                    "Experiment completed",
                    ExperimentActionStatus::Completed,
                    None,
                ))
                .build()
        })
        .build();
    let client = mock_client!(aws_sdk_fis, RuleMode::MatchAny, [&get], |c| c.retry_config(
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(1))
    ));
    let outcome = follow(
        &client,
        fis_trigger::experiment::Snapshot::from(&running()),
        &settings(),
        &mut Cancel::manual().1,
        &log,
    )
    .await
    .expect("throttling is retried");
    assert_eq!(get.num_calls(), 2);
    assert!(outcome.experiment.passed());
}

#[tokio::test(start_paused = true)]
async fn the_timeout_stops_the_experiment_and_waits_for_it() {
    let started = mock!(Client::start_experiment)
        .match_requests(|r| {
            r.client_token() == Some("token-1")
                && r.tags()
                    .is_some_and(|t| t.get("started-by").map(String::as_str) == Some("fis-trigger"))
        })
        .then_output(|| {
            StartExperimentOutput::builder()
                .experiment(running())
                .build()
        });
    // Running until stopped, then stopping, then stopped.
    let get = mock!(Client::get_experiment)
        .sequence()
        .output(|| GetExperimentOutput::builder().experiment(running()).build())
        .times(5)
        .output(|| {
            GetExperimentOutput::builder()
                .experiment(stopping())
                .build()
        })
        .output(|| {
            GetExperimentOutput::builder()
                .experiment(experiment(
                    ExperimentStatus::Stopped,
                    "Experiment stopped",
                    ExperimentActionStatus::Stopped,
                    None,
                ))
                .build()
        })
        .build();
    let stop = mock!(Client::stop_experiment)
        .match_requests(|r| r.id() == Some("EXP1"))
        .then_output(|| StopExperimentOutput::builder().build());
    let client = mock_client!(aws_sdk_fis, RuleMode::MatchAny, [&started, &get, &stop]);
    let request = Start {
        template_id: "EXT1".into(),
        client_token: "token-1".into(),
        skip_actions: false,
        tags: [("started-by".to_owned(), "fis-trigger".to_owned())].into(),
    };
    let first = start(&client, &request).await.expect("started");
    let s = Settings {
        timeout: Duration::from_secs(60),
        ..settings()
    };
    let outcome = follow(&client, first, &s, &mut Cancel::manual().1, &log)
        .await
        .expect("the calls succeed");
    assert_eq!(stop.num_calls(), 1);
    assert_eq!(outcome.interrupted, Some(Interruption::TimedOut));
    assert_eq!(
        outcome.experiment.status, "stopped",
        "waited until it was stopped"
    );
    let (exit, failed) = gate(&outcome);
    assert_eq!(exit, Exit::GateFailed);
    assert!(
        failed[0].ends_with("stopped by fis-trigger at --timeout"),
        "{failed:?}"
    );
}

fn stopping() -> Experiment {
    experiment(
        ExperimentStatus::Stopping,
        "Experiment is stopping",
        ExperimentActionStatus::Stopping,
        None,
    )
}

/// An experiment that stays `stopping` after StopExperiment, as moto's can for half an hour.
fn stuck_in_stopping() -> (
    aws_smithy_mocks::Rule,
    aws_smithy_mocks::Rule,
    aws_smithy_mocks::Rule,
) {
    let started = mock!(Client::start_experiment).then_output(|| {
        StartExperimentOutput::builder()
            .experiment(running())
            .build()
    });
    let get = mock!(Client::get_experiment)
        .sequence()
        .output(|| GetExperimentOutput::builder().experiment(running()).build())
        .times(2)
        .output(|| {
            GetExperimentOutput::builder()
                .experiment(stopping())
                .build()
        })
        .repeatedly()
        .build();
    let stop =
        mock!(Client::stop_experiment).then_output(|| StopExperimentOutput::builder().build());
    (started, get, stop)
}

fn start_request() -> Start {
    Start {
        template_id: "EXT1".into(),
        client_token: "token-1".into(),
        skip_actions: false,
        tags: BTreeMap::new(),
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_cancel_the_wait_for_stopped_ends_at_stop_wait() {
    let (started, get, stop) = stuck_in_stopping();
    let client = mock_client!(aws_sdk_fis, RuleMode::MatchAny, [&started, &get, &stop]);
    let first = start(&client, &start_request()).await.expect("started");
    let (signals, mut cancel) = Cancel::manual();
    signals.send(1).expect("the wait listens");
    let begun = tokio::time::Instant::now();
    let outcome = follow(&client, first, &settings(), &mut cancel, &log)
        .await
        .expect("the calls succeed");
    assert_eq!(stop.num_calls(), 1);
    assert_eq!(outcome.interrupted, Some(Interruption::Cancelled));
    assert_eq!(outcome.experiment.status, "stopping");
    let waited = begun.elapsed();
    assert!(
        waited >= Duration::from_secs(60) && waited < Duration::from_secs(75),
        "waited {waited:?} with --stop-wait 60s"
    );
    let (exit, failed) = gate(&outcome);
    assert_eq!(exit, Exit::GateFailed);
    assert!(!failed.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_second_signal_ends_the_wait_at_once() {
    let (started, get, stop) = stuck_in_stopping();
    let client = mock_client!(aws_sdk_fis, RuleMode::MatchAny, [&started, &get, &stop]);
    let first = start(&client, &start_request()).await.expect("started");
    let (signals, mut cancel) = Cancel::manual();
    signals.send(1).expect("the wait listens");
    let second = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(12)).await;
        signals.send(2).expect("the wait listens");
        signals
    });
    let begun = tokio::time::Instant::now();
    let long = Settings {
        stop_wait: Duration::from_secs(3600),
        ..settings()
    };
    let outcome = follow(&client, first, &long, &mut cancel, &log)
        .await
        .expect("the calls succeed");
    let waited = begun.elapsed();
    assert!(waited < Duration::from_secs(20), "waited {waited:?}");
    // The state last seen when the second signal came: not yet stopped.
    assert_ne!(outcome.experiment.status, "stopped");
    assert_eq!(outcome.interrupted, Some(Interruption::Cancelled));
    drop(second.await);
}
