//! `fis-trigger`: run an AWS Fault Injection Service experiment after a deployment and gate
//! the pipeline on its outcome.

pub mod checks;
pub mod experiment;
pub mod pipeline_job;
pub mod probe;
pub mod report;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_io::StepError;
use clap::{Parser, ValueEnum};
use findings::cli::ReportArgs;
use findings::Exit;
use sha2::{Digest, Sha256};

use crate::checks::{AlarmError, Phase};
use crate::experiment::{Interruption, Selector, Settings, Start};

const EXAMPLES: &str = "\
Examples:
  fis-trigger --template-id EXT1a2b3c4d5e6f7 --report-dir reports/
  fis-trigger --template-tag app=checkout --template-tag stage=post-deploy --timeout 30m
  fis-trigger --template-id EXT1a2b3c4d5e6f7 --actions-mode skip-all
  fis-trigger --template-id EXT1a2b3c4d5e6f7 --check-url https://shop.example.com/health
  fis-trigger --template-id EXT1a2b3c4d5e6f7 --codepipeline-job-id \"$JOB_ID\"

Exit codes: 0 the experiment completed, 1 it was stopped (a stop condition fired), failed or
cancelled, or a steady-state check failed, 2 usage error or no single matching template, 3 AWS
error, timeout or cancelled build (the experiment is stopped first).";

/// Run a Fault Injection Service experiment and pass only if it completes.
#[derive(Debug, Parser)]
#[command(name = "fis-trigger", version = build_info::VERSION, about, after_help = EXAMPLES)]
pub struct Cli {
    /// The experiment template to run.
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "template_tag",
        conflicts_with = "template_tag"
    )]
    pub template_id: Option<String>,

    /// Find the template by tag instead (repeat for several; all must match, and exactly one
    /// template may).
    #[arg(long, value_name = "KEY=VALUE", value_parser = findings::cli::key_value)]
    pub template_tag: Vec<(String, String)>,

    /// `skip-all` starts the experiment without running its actions: a dry run that checks
    /// the template, its role and targets.
    #[arg(long, value_enum, default_value = "run-all")]
    pub actions_mode: ActionsMode,

    /// Idempotency token of StartExperiment [default: derived from CODEPIPELINE_EXECUTION_ID or
    /// CODEBUILD_BUILD_ID and the template, so a retried build follows the experiment its first
    /// attempt started].
    #[arg(long, value_name = "TOKEN")]
    pub client_token: Option<String>,

    /// More tags for the experiment (it always gets started-by, and the pipeline, build and
    /// commit it ran for).
    #[arg(long, value_name = "KEY=VALUE", value_parser = findings::cli::key_value)]
    pub tags: Vec<(String, String)>,

    /// A CloudWatch alarm (metric or composite) that must be OK before the experiment starts
    /// (otherwise it is not started) and again after it ends; repeat for several.
    #[arg(long, value_name = "NAME")]
    pub check_alarm: Vec<String>,

    /// A URL that must keep answering while the experiment runs (see --check-url-status and
    /// --check-url-ratio); repeat for several.
    #[arg(long, value_name = "URL", value_parser = probe::parse_url)]
    pub check_url: Vec<hyper::Uri>,

    /// Statuses that count as healthy for --check-url: codes or classes, comma-separated.
    #[arg(long, value_name = "STATUSES", default_value = "2xx", value_parser = probe::parse_expected)]
    pub check_url_status: probe::Expected,

    /// Share of --check-url probes that must be healthy, such as 0.95 or 95%.
    #[arg(long, value_name = "RATIO", default_value = "0.95", value_parser = probe::parse_ratio)]
    pub check_url_ratio: f64,

    /// Time between two probes of each --check-url.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = aws_io::parse_duration)]
    pub check_url_interval: Duration,

    /// Longest wait for one answer; a slower one counts as unhealthy.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = aws_io::parse_duration)]
    pub check_url_timeout: Duration,

    /// Run as a CodePipeline job worker (Lambda invoke or custom action): report the outcome
    /// with PutJobSuccessResult / PutJobFailureResult, and hand a long experiment over to the
    /// job's next invocation with a continuation token.
    #[arg(long, value_name = "JOB_ID")]
    pub codepipeline_job_id: Option<String>,

    /// The job's continuation token, as a Lambda's CodePipeline event carries it
    /// (`data.continuationToken`) [default: read with GetJobDetails].
    #[arg(long, value_name = "TOKEN", requires = "codepipeline_job_id")]
    pub continuation_token: Option<String>,

    /// As a CodePipeline job: how long one invocation follows the experiment before handing
    /// it over (keep it under the Lambda's timeout).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = aws_io::parse_duration, requires = "codepipeline_job_id")]
    pub hand_over_after: Duration,

    /// Longest run, such as 90s, 30m or 2h; then the experiment is stopped and the exit code is 3.
    #[arg(long, value_name = "DURATION", default_value = "60m", value_parser = aws_io::parse_duration)]
    pub timeout: Duration,

    /// Time between two GetExperiment calls.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = aws_io::parse_duration)]
    pub poll_interval: Duration,

    /// After StopExperiment (at --timeout or when the build is cancelled), the longest wait
    /// for the experiment to reach `stopped`. Past it, or on a second signal, fis-trigger
    /// exits and names the experiment that is still stopping.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = aws_io::parse_duration)]
    pub stop_wait: Duration,

    #[command(flatten)]
    pub reports: ReportArgs,

    #[command(flatten)]
    pub security_hub: aws_io::SecurityHubArgs,

    #[command(flatten)]
    pub aws: aws_io::AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActionsMode {
    RunAll,
    SkipAll,
}

fn fail(exit: Exit, message: impl std::fmt::Display) -> Exit {
    findings::cli::fail(report::TOOL, exit, message)
}

fn log(line: &str) {
    eprintln!("{}: {line}", report::TOOL);
}

/// StartExperiment's token: the same pipeline run and template give the same token (64
/// characters at most), so a retried build gets the experiment back instead of a second one.
/// Without a run id (a laptop), every run is its own.
pub fn client_token(
    explicit: Option<&str>,
    template_id: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> (String, bool) {
    if let Some(token) = explicit {
        return (token.to_owned(), true);
    }
    let run = env("CODEPIPELINE_EXECUTION_ID").or_else(|| env("CODEBUILD_BUILD_ID"));
    let deterministic = run.is_some();
    let seed = run.unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{now}-{}", std::process::id())
    });
    let mut hash = Sha256::new();
    for part in ["fis-trigger", template_id, &seed] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let hex: String = hash
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    (format!("fis-trigger-{hex}"), deterministic)
}

/// Tags that link the experiment to what started it.
pub fn run_tags(
    extra: &[(String, String)],
    env: &dyn Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    tags.insert("started-by".to_owned(), "fis-trigger".to_owned());
    for (tag, variable) in [
        ("codepipeline-execution-id", "CODEPIPELINE_EXECUTION_ID"),
        ("codebuild-build-id", "CODEBUILD_BUILD_ID"),
        ("commit", "CODEBUILD_RESOLVED_SOURCE_VERSION"),
        ("initiator", "CODEBUILD_INITIATOR"),
    ] {
        if let Some(value) = env(variable).filter(|v| !v.is_empty()) {
            // Tag values hold 256 characters.
            tags.insert(tag.to_owned(), value.chars().take(256).collect());
        }
    }
    for (k, v) in extra {
        tags.insert(k.clone(), v.clone());
    }
    tags
}

/// The AWS services a run talks to.
#[derive(Debug, Clone)]
pub struct Clients {
    pub fis: aws_sdk_fis::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub codepipeline: aws_sdk_codepipeline::Client,
}

impl Clients {
    pub fn new(config: &aws_config::SdkConfig) -> Clients {
        Clients {
            fis: aws_sdk_fis::Client::new(config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            codepipeline: aws_sdk_codepipeline::Client::new(config),
        }
    }
}

/// What a run saw: the template, the experiment (none when a steady-state alarm kept it from
/// starting), and the checks around it.
#[derive(Debug)]
pub struct Ran {
    pub template: experiment::Template,
    pub outcome: Option<experiment::Outcome>,
    pub alarms: Vec<checks::AlarmCheck>,
    pub probes: Vec<probe::Tally>,
}

impl Cli {
    fn probe_plan(&self) -> probe::Plan {
        probe::Plan {
            urls: self.check_url.clone(),
            expected: self.check_url_status.clone(),
            ratio: self.check_url_ratio,
            interval: self.check_url_interval,
            timeout: self.check_url_timeout,
        }
    }
}

pub fn run(cli: Cli) -> Exit {
    run_with(cli, &Clients::new)
}

/// `run` with the clients made by `connect` (tests give SDK mocks).
pub fn run_with(cli: Cli, connect: &(dyn Fn(&aws_config::SdkConfig) -> Clients + Sync)) -> Exit {
    let started = std::time::Instant::now();
    let job = cli.codepipeline_job_id.clone();
    let exceptions = match cli.reports.load_exceptions() {
        Ok(ex) => ex,
        Err(e) => {
            return conclude(
                &cli,
                connect,
                job_failed(None, &e.to_string(), true),
                fail(Exit::Input, e),
            )
        }
    };
    let plan = cli.probe_plan();
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let ran = aws_io::block_on(async {
        let mut cancel = aws_io::Cancel::on_signals()?;
        let config = aws_io::config::load(&cli.aws).await?;
        let clients = connect(&config);
        let resume = match &job {
            None => None,
            Some(job_id) => {
                let token = match &cli.continuation_token {
                    Some(token) => Some(token.clone()),
                    None => pipeline_job::continuation(&clients.codepipeline, job_id).await?,
                };
                token
                    .map(|t| pipeline_job::Resume::parse(&t))
                    .transpose()
                    .map_err(StepError::Input)?
            }
        };
        follow_experiment(&cli, &clients, &plan, resume, &mut cancel, &env).await
    });
    let ran = match ran {
        Ok(Ok(ran)) => ran,
        Ok(Err(StepError::Input(message))) => {
            return conclude(
                &cli,
                connect,
                job_failed(None, &message, true),
                fail(Exit::Input, message),
            )
        }
        Ok(Err(StepError::Aws(e))) | Err(e) => {
            let message = e.to_string();
            return conclude(
                &cli,
                connect,
                job_failed(None, &message, false),
                fail(Exit::Environment, e),
            );
        }
    };
    if let Some(outcome) = ran
        .outcome
        .as_ref()
        .filter(|o| o.interrupted == Some(Interruption::HandedOver))
    {
        // No report yet: it would look complete. The last invocation writes it.
        let e = &outcome.experiment;
        let resume = pipeline_job::Resume {
            experiment_id: e.id.clone(),
            probes: ran.probes.iter().map(probe::Tally::carry).collect(),
        };
        log(&format!(
            "experiment {} is still {}: handing it over to the job's next invocation",
            e.id, e.status
        ));
        let result = pipeline_job::JobResult::Continue {
            token: resume,
            summary: format!("experiment {} {}", e.id, e.status),
        };
        return conclude(&cli, connect, Some(result), Exit::Passed);
    }
    let mut report = report::build(
        &ran.template,
        ran.outcome.as_ref(),
        &ran.alarms,
        &ran.probes,
        &plan,
        cli.actions_mode == ActionsMode::SkipAll,
    );
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let verdict = match aws_io::finish(
        &mut report,
        &cli.reports,
        &cli.security_hub,
        &cli.aws,
        exceptions.as_ref(),
        "",
    ) {
        Ok(verdict) => verdict,
        Err(exit) => {
            let id = ran.outcome.as_ref().map(|o| o.experiment.id.clone());
            let result = job_failed(id, "the reports could not be written", false);
            return conclude(&cli, connect, result, exit);
        }
    };
    let failures: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.status == findings::Status::Failed)
        .map(|f| f.message.clone())
        .collect();
    let experiment_id = ran.outcome.as_ref().map(|o| o.experiment.id.clone());
    let (exit, result) = match ran.outcome.as_ref().and_then(|o| o.interrupted) {
        Some(why) => {
            let id = experiment_id.clone().unwrap_or_default();
            let message = match why {
                Interruption::TimedOut => format!(
                    "timed out after {}s: experiment {id} was stopped",
                    cli.timeout.as_secs()
                ),
                _ => format!("the build was cancelled: experiment {id} was stopped"),
            };
            let message = match ran.outcome.as_ref().map(|o| o.experiment.status.as_str()) {
                Some("stopping") => message.replace(
                    "was stopped",
                    "was asked to stop and is still stopping; follow it with `aws fis get-experiment --id` and that id",
                ),
                _ => message,
            };
            let result = job_failed(experiment_id, &message, false);
            (fail(Exit::Environment, message), result)
        }
        None if verdict.exit == Exit::Passed => {
            let id = experiment_id.unwrap_or_default();
            let result = job.as_ref().map(|_| pipeline_job::JobResult::Succeeded {
                summary: format!("experiment {id} completed; every steady-state check passed"),
                experiment_id: id,
            });
            (verdict.exit, result)
        }
        None => (
            verdict.exit,
            job_failed(experiment_id, &failures.join("; "), false),
        ),
    };
    conclude(&cli, connect, result, exit)
}

/// The failure a CodePipeline job reports, when the run is one.
fn job_failed(
    experiment_id: Option<String>,
    message: &str,
    configuration: bool,
) -> Option<pipeline_job::JobResult> {
    Some(pipeline_job::JobResult::Failed {
        experiment_id,
        message: message.to_owned(),
        configuration,
    })
}

/// Reports the job result to CodePipeline when the run is a job; a result that cannot be
/// delivered leaves the stage waiting, so it is an AWS error whatever the run's own outcome.
fn conclude(
    cli: &Cli,
    connect: &(dyn Fn(&aws_config::SdkConfig) -> Clients + Sync),
    result: Option<pipeline_job::JobResult>,
    exit: Exit,
) -> Exit {
    let (Some(job_id), Some(result)) = (&cli.codepipeline_job_id, result) else {
        return exit;
    };
    let delivered = aws_io::block_on(async {
        let config = aws_io::config::load(&cli.aws).await?;
        pipeline_job::put(&connect(&config).codepipeline, job_id, &result).await
    });
    match delivered {
        Ok(Ok(())) => {
            log(&format!(
                "CodePipeline job {job_id}: {}",
                match result {
                    pipeline_job::JobResult::Continue { .. } => "continues",
                    pipeline_job::JobResult::Succeeded { .. } => "succeeded",
                    pipeline_job::JobResult::Failed { .. } => "failed",
                }
            ));
            exit
        }
        Ok(Err(e)) | Err(e) => fail(
            Exit::Environment,
            format!("the result of CodePipeline job {job_id} was not delivered: {e}"),
        ),
    }
}

/// Finds the template, checks the alarms, starts (or, for a continued CodePipeline job,
/// resumes) the experiment and follows it with the URL probes running beside it.
async fn follow_experiment(
    cli: &Cli,
    clients: &Clients,
    plan: &probe::Plan,
    resume: Option<pipeline_job::Resume>,
    cancel: &mut aws_io::Cancel,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Ran, StepError> {
    let skip_actions = cli.actions_mode == ActionsMode::SkipAll;
    let read_alarms = |phase| async move {
        if cli.check_alarm.is_empty() {
            return Ok(Vec::new());
        }
        checks::alarms(&clients.cloudwatch, &cli.check_alarm, phase)
            .await
            .map_err(|e| match e {
                AlarmError::Missing(names) => StepError::Input(format!(
                    "--check-alarm: no alarm named {} in this account and region",
                    names.join(", ")
                )),
                AlarmError::Aws(e) => StepError::Aws(e),
            })
    };
    let mut settings = Settings {
        poll: cli.poll_interval,
        timeout: cli.timeout,
        hand_over: cli
            .codepipeline_job_id
            .as_ref()
            .map(|_| cli.hand_over_after),
        stop_wait: cli.stop_wait,
        report_wait: Duration::from_secs(300).max(cli.poll_interval * 3),
    };
    let (template, first, mut alarms) = match &resume {
        Some(resume) => {
            if resume.probes.len() != plan.urls.len() {
                return Err(StepError::Input(format!(
                    "the continuation token carries {} --check-url tallies but {} URLs are given; keep the job's arguments the same across invocations",
                    resume.probes.len(),
                    plan.urls.len()
                )));
            }
            let first = experiment::get(&clients.fis, &resume.experiment_id).await?;
            let template =
                experiment::find_template(&clients.fis, &Selector::Id(first.template_id.clone()))
                    .await?;
            // --timeout counts from the experiment's start, not this invocation's.
            if let Some(start) = first.started_at {
                let now = chrono::Utc::now().timestamp();
                let spent = Duration::from_secs(u64::try_from(now - start).unwrap_or(0));
                settings.timeout = cli
                    .timeout
                    .saturating_sub(spent)
                    .max(Duration::from_secs(1));
            }
            log(&format!(
                "continuing CodePipeline job: following experiment {} of template {}",
                first.id, template.id
            ));
            (template, first, Vec::new())
        }
        None => {
            let selector = match &cli.template_id {
                Some(id) => Selector::Id(id.clone()),
                None => Selector::Tags(cli.template_tag.clone()),
            };
            let template = experiment::find_template(&clients.fis, &selector).await?;
            let alarms = read_alarms(Phase::Before).await?;
            if let Some(bad) = alarms.iter().find(|a| !a.passed()) {
                log(&format!(
                    "alarm {} is {} before the experiment: the application is not in a steady state, so the experiment is not started",
                    bad.alarm, bad.state
                ));
                return Ok(Ran {
                    template,
                    outcome: None,
                    alarms,
                    probes: Vec::new(),
                });
            }
            let (token, deterministic) =
                client_token(cli.client_token.as_deref(), &template.id, env);
            if !deterministic {
                log("no CODEPIPELINE_EXECUTION_ID or CODEBUILD_BUILD_ID: a second run starts a second experiment");
            }
            if cancel.is_cancelled() {
                return Err(StepError::Aws(aws_io::AwsError::Environment(
                    "cancelled before the experiment was started".into(),
                )));
            }
            let start = Start {
                template_id: template.id.clone(),
                client_token: token,
                skip_actions,
                tags: run_tags(&cli.tags, env),
            };
            let first = experiment::start(&clients.fis, &start).await?;
            log(&format!(
                "experiment {} of template {} ({}){}",
                first.id,
                template.id,
                first.arn,
                if skip_actions {
                    ", actions skipped"
                } else {
                    ""
                }
            ));
            (template, first, alarms)
        }
    };
    let (stop_probes, stopped) = tokio::sync::watch::channel(false);
    let probing =
        (!plan.urls.is_empty()).then(|| tokio::spawn(probe::watch(plan.clone(), stopped, log)));
    let followed = experiment::follow(&clients.fis, first, &settings, cancel, &log).await;
    let _ = stop_probes.send(true);
    let mut probes = match probing {
        Some(task) => task.await.map_err(|e| {
            StepError::Aws(aws_io::AwsError::Internal(format!(
                "the URL probe failed: {e}"
            )))
        })?,
        None => Vec::new(),
    };
    let outcome = followed?;
    if let Some(resume) = &resume {
        for (tally, carried) in probes.iter_mut().zip(&resume.probes) {
            tally.resume(carried).map_err(StepError::Input)?;
        }
    }
    if outcome.interrupted != Some(Interruption::HandedOver) {
        alarms.extend(read_alarms(Phase::After).await?);
        for a in alarms.iter().filter(|a| !a.passed()) {
            log(&format!(
                "alarm {} is {} {} the experiment",
                a.alarm,
                a.state,
                a.phase.word()
            ));
        }
    }
    Ok(Ran {
        template,
        outcome: Some(outcome),
        alarms,
        probes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_the_same_for_a_retried_build_and_new_on_a_laptop() {
        let pipeline =
            |name: &str| (name == "CODEPIPELINE_EXECUTION_ID").then(|| "exec-1".to_owned());
        let (a, deterministic) = client_token(None, "EXT1", &pipeline);
        assert!(deterministic);
        assert_eq!(a, client_token(None, "EXT1", &pipeline).0);
        assert_ne!(a, client_token(None, "EXT2", &pipeline).0);
        assert!(a.len() <= 64);
        let laptop = |_: &str| None;
        let (b, deterministic) = client_token(None, "EXT1", &laptop);
        assert!(!deterministic);
        assert_ne!(b, a);
        assert_eq!(
            client_token(Some("mine"), "EXT1", &laptop),
            ("mine".to_owned(), true)
        );
    }

    #[test]
    fn tags_name_the_run() {
        let env = |name: &str| match name {
            "CODEBUILD_BUILD_ID" => Some("project:1234".to_owned()),
            "CODEBUILD_RESOLVED_SOURCE_VERSION" => Some("abc123".to_owned()),
            _ => None,
        };
        let tags = run_tags(&[("team".into(), "payments".into())], &env);
        assert_eq!(tags["started-by"], "fis-trigger");
        assert_eq!(tags["codebuild-build-id"], "project:1234");
        assert_eq!(tags["commit"], "abc123");
        assert_eq!(tags["team"], "payments");
        assert!(!tags.contains_key("codepipeline-execution-id"));
    }
}
