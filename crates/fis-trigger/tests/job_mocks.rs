//! `--codepipeline-job-id` against SDK-level mocks (moto does not serve CodePipeline's job
//! API): a long experiment handed over with a continuation token, the continued job followed
//! to success or failure, a foreign token refused as a configuration error, and a result that
//! cannot be delivered.

use std::path::Path;

use aws_sdk_codepipeline::error::ErrorMetadata;
use aws_sdk_codepipeline::operation::get_job_details::GetJobDetailsOutput;
use aws_sdk_codepipeline::operation::put_job_failure_result::PutJobFailureResultOutput;
use aws_sdk_codepipeline::operation::put_job_success_result::{
    PutJobSuccessResultError, PutJobSuccessResultOutput,
};
use aws_sdk_codepipeline::types::{FailureType, JobData, JobDetails};
use aws_sdk_fis::operation::get_experiment::GetExperimentOutput;
use aws_sdk_fis::operation::get_experiment_template::GetExperimentTemplateOutput;
use aws_sdk_fis::operation::start_experiment::StartExperimentOutput;
use aws_sdk_fis::types::{Experiment, ExperimentState, ExperimentStatus, ExperimentTemplate};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use clap::Parser;
use findings::Exit;
use fis_trigger::{run_with, Cli, Clients};

fn experiment(status: ExperimentStatus, reason: &str) -> Experiment {
    Experiment::builder()
        .id("EXP1")
        .arn("arn:aws:fis:eu-west-1:111122223333:experiment/EXP1")
        .experiment_template_id("EXT1")
        .state(
            ExperimentState::builder()
                .status(status)
                .reason(reason)
                .build(),
        )
        .build()
}

fn fis(last: ExperimentStatus, reason: &'static str) -> (aws_sdk_fis::Client, Vec<Rule>) {
    let template = mock!(aws_sdk_fis::Client::get_experiment_template).then_output(|| {
        GetExperimentTemplateOutput::builder()
            .experiment_template(
                ExperimentTemplate::builder()
                    .id("EXT1")
                    .description("Checkout survives the loss of one AZ")
                    .build(),
            )
            .build()
    });
    let start = mock!(aws_sdk_fis::Client::start_experiment).then_output(|| {
        StartExperimentOutput::builder()
            .experiment(experiment(ExperimentStatus::Running, "running"))
            .build()
    });
    let get = mock!(aws_sdk_fis::Client::get_experiment).then_output(move || {
        GetExperimentOutput::builder()
            .experiment(experiment(last.clone(), reason))
            .build()
    });
    let client = mock_client!(aws_sdk_fis, RuleMode::MatchAny, [&template, &start, &get]);
    (client, vec![template, start, get])
}

fn codepipeline(rules: &[&Rule]) -> aws_sdk_codepipeline::Client {
    mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, rules)
}

fn clients(fis: aws_sdk_fis::Client, codepipeline: aws_sdk_codepipeline::Client) -> Clients {
    let cloudwatch = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, Vec::<&Rule>::new());
    Clients {
        fis,
        cloudwatch,
        codepipeline,
    }
}

/// Runs the binary's logic with these clients and arguments (after the common ones).
fn run(clients: Clients, reports: &Path, args: &[&str]) -> Exit {
    // The configuration is loaded before the clients are made; it wants credentials.
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "not-a-secret");
    std::env::remove_var("CODEPIPELINE_EXECUTION_ID");
    let mut argv = vec![
        "fis-trigger",
        "--region",
        "eu-west-1",
        "--poll-interval",
        "1s",
        "--codepipeline-job-id",
        "job-1",
        "--report-dir",
    ];
    argv.push(reports.to_str().expect("utf-8 path"));
    argv.extend_from_slice(args);
    run_with(Cli::parse_from(argv), &move |_| clients.clone())
}

fn no_continuation() -> Rule {
    mock!(aws_sdk_codepipeline::Client::get_job_details)
        .match_requests(|r| r.job_id() == Some("job-1"))
        .then_output(|| {
            GetJobDetailsOutput::builder()
                .job_details(
                    JobDetails::builder()
                        .id("job-1")
                        .data(JobData::builder().build())
                        .build(),
                )
                .build()
        })
}

#[test]
fn a_long_experiment_is_handed_over_with_a_continuation_token_and_no_report() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (fis, _) = fis(ExperimentStatus::Running, "running");
    let details = no_continuation();
    let success = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .match_requests(|r| {
            r.continuation_token() == Some("fis-trigger:1:EXP1")
                && r.execution_details()
                    .and_then(|d| d.external_execution_id())
                    == Some("EXP1")
        })
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    let exit = run(
        clients(fis, codepipeline(&[&details, &success])),
        dir.path(),
        &["--template-id", "EXT1", "--hand-over-after", "1s"],
    );
    assert_eq!(exit, Exit::Passed);
    assert_eq!(details.num_calls(), 1);
    assert_eq!(success.num_calls(), 1, "the job continues");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "a running experiment writes no report that would look complete"
    );
}

#[test]
fn the_continued_job_follows_the_same_experiment_to_success() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (fis, rules) = fis(ExperimentStatus::Completed, "Experiment completed.");
    let success = mock!(aws_sdk_codepipeline::Client::put_job_success_result)
        .match_requests(|r| {
            r.continuation_token().is_none()
                && r.execution_details().and_then(|d| d.percent_complete()) == Some(100)
        })
        .then_output(|| PutJobSuccessResultOutput::builder().build());
    let exit = run(
        clients(fis, codepipeline(&[&success])),
        dir.path(),
        &[
            "--template-id",
            "EXT1",
            "--continuation-token",
            "fis-trigger:1:EXP1",
        ],
    );
    assert_eq!(exit, Exit::Passed);
    assert_eq!(success.num_calls(), 1);
    assert_eq!(rules[1].num_calls(), 0, "no second experiment is started");
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit");
    assert!(
        junit.contains("FIS_EXPERIMENT") && !junit.contains("<failure"),
        "{junit}"
    );
}

#[test]
fn a_stopped_experiment_fails_the_job_with_its_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (fis, _) = fis(
        ExperimentStatus::Stopped,
        "Stop condition alarm checkout-5xx fired",
    );
    let failure = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .match_requests(|r| {
            r.failure_details().is_some_and(|d| {
                d.r#type() == &FailureType::JobFailed
                    && d.message()
                        .contains("Stop condition alarm checkout-5xx fired")
                    && d.external_execution_id() == Some("EXP1")
            })
        })
        .then_output(|| PutJobFailureResultOutput::builder().build());
    let exit = run(
        clients(fis, codepipeline(&[&failure])),
        dir.path(),
        &[
            "--template-id",
            "EXT1",
            "--continuation-token",
            "fis-trigger:1:EXP1",
        ],
    );
    assert_eq!(exit, Exit::GateFailed);
    assert_eq!(failure.num_calls(), 1);
}

#[test]
fn a_foreign_continuation_token_is_a_configuration_error_of_the_job() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (fis, rules) = fis(ExperimentStatus::Completed, "done");
    let failure = mock!(aws_sdk_codepipeline::Client::put_job_failure_result)
        .match_requests(|r| {
            r.failure_details().is_some_and(|d| {
                d.r#type() == &FailureType::ConfigurationError
                    && d.message().contains("not written by fis-trigger")
            })
        })
        .then_output(|| PutJobFailureResultOutput::builder().build());
    let exit = run(
        clients(fis, codepipeline(&[&failure])),
        dir.path(),
        &[
            "--template-id",
            "EXT1",
            "--continuation-token",
            "someone-elses",
        ],
    );
    assert_eq!(exit, Exit::Input);
    assert_eq!(failure.num_calls(), 1);
    assert!(
        rules.iter().all(|r| r.num_calls() == 0),
        "no experiment call"
    );
}

#[test]
fn an_undelivered_result_is_an_aws_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (fis, _) = fis(ExperimentStatus::Completed, "done");
    let denied = mock!(aws_sdk_codepipeline::Client::put_job_success_result).then_error(|| {
        PutJobSuccessResultError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized to perform codepipeline:PutJobSuccessResult")
                .build(),
        )
    });
    let exit = run(
        clients(fis, codepipeline(&[&denied])),
        dir.path(),
        &[
            "--template-id",
            "EXT1",
            "--continuation-token",
            "fis-trigger:1:EXP1",
        ],
    );
    assert_eq!(exit, Exit::Environment);
}
