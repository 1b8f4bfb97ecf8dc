//! `fis-trigger`: run an AWS Fault Injection Service experiment after a deployment and gate
//! the pipeline on its outcome.

pub mod checks;
pub mod experiment;
pub mod report;

use std::collections::BTreeMap;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use findings::cli::ReportArgs;
use findings::Exit;
use sha2::{Digest, Sha256};

use crate::checks::{AlarmError, Phase};
use crate::experiment::{FindError, Interruption, Selector, Settings, Start};

const EXAMPLES: &str = "\
Examples:
  fis-trigger --template-id EXT1a2b3c4d5e6f7 --report-dir reports/
  fis-trigger --template-tag app=checkout --template-tag stage=post-deploy --timeout 30m
  fis-trigger --template-id EXT1a2b3c4d5e6f7 --actions-mode skip-all

Exit codes: 0 the experiment completed, 1 it was stopped (a stop condition fired), failed or
cancelled, 2 usage error or no single matching template, 3 AWS error, timeout or cancelled
build (the experiment is stopped first).";

/// Run a Fault Injection Service experiment and pass only if it completes.
#[derive(Debug, Parser)]
#[command(name = "fis-trigger", version, about, after_help = EXAMPLES)]
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

    /// Longest run, such as 90s, 30m or 2h; then the experiment is stopped and the exit code is 3.
    #[arg(long, value_name = "DURATION", default_value = "60m", value_parser = aws_io::parse_duration)]
    pub timeout: Duration,

    /// Time between two GetExperiment calls.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = aws_io::parse_duration)]
    pub poll_interval: Duration,

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

pub fn run(cli: Cli) -> Exit {
    let started = std::time::Instant::now();
    let exceptions = match cli.reports.load_exceptions() {
        Ok(ex) => ex,
        Err(e) => return fail(Exit::Input, e),
    };
    let selector = match &cli.template_id {
        Some(id) => Selector::Id(id.clone()),
        None => Selector::Tags(cli.template_tag.clone()),
    };
    let skip_actions = cli.actions_mode == ActionsMode::SkipAll;
    let settings = Settings {
        poll: cli.poll_interval,
        timeout: cli.timeout,
        stop_wait: Duration::from_secs(300).max(cli.poll_interval * 3),
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let outcome = aws_io::block_on(async {
        let mut cancel = aws_io::Cancel::on_signals().map_err(FindError::Aws)?;
        let config = aws_io::config::load(&cli.aws)
            .await
            .map_err(FindError::Aws)?;
        let client = aws_sdk_fis::Client::new(&config);
        let template = experiment::find_template(&client, &selector).await?;
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
        let read_alarms = |phase| {
            let names = &cli.check_alarm;
            let cloudwatch = &cloudwatch;
            async move {
                if names.is_empty() {
                    return Ok(Vec::new());
                }
                checks::alarms(cloudwatch, names, phase)
                    .await
                    .map_err(|e| match e {
                        AlarmError::Missing(names) => FindError::Input(format!(
                            "--check-alarm: no alarm named {} in this account and region",
                            names.join(", ")
                        )),
                        AlarmError::Aws(e) => FindError::Aws(e),
                    })
            }
        };
        let mut alarms = read_alarms(Phase::Before).await?;
        if let Some(bad) = alarms.iter().find(|a| !a.passed()) {
            log(&format!(
                "alarm {} is {} before the experiment: the application is not in a steady state, so the experiment is not started",
                bad.alarm, bad.state
            ));
            return Ok((template, None, alarms));
        }
        let (token, deterministic) = client_token(cli.client_token.as_deref(), &template.id, &env);
        if !deterministic {
            log("no CODEPIPELINE_EXECUTION_ID or CODEBUILD_BUILD_ID: a second run starts a second experiment");
        }
        if cancel.is_cancelled() {
            return Err(FindError::Aws(aws_io::AwsError::Environment(
                "cancelled before the experiment was started".into(),
            )));
        }
        let start = Start {
            template_id: template.id.clone(),
            client_token: token,
            skip_actions,
            tags: run_tags(&cli.tags, &env),
        };
        let first = experiment::start(&client, &start)
            .await
            .map_err(FindError::Aws)?;
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
        let outcome = experiment::follow(&client, first, &settings, &mut cancel, &log)
            .await
            .map_err(FindError::Aws)?;
        alarms.extend(read_alarms(Phase::After).await?);
        for a in alarms.iter().filter(|a| !a.passed()) {
            log(&format!(
                "alarm {} is {} {} the experiment",
                a.alarm,
                a.state,
                a.phase.word()
            ));
        }
        Ok::<_, FindError>((template, Some(outcome), alarms))
    });
    let (template, outcome, alarms) = match outcome {
        Ok(Ok(done)) => done,
        Ok(Err(FindError::Input(message))) => return fail(Exit::Input, message),
        Ok(Err(FindError::Aws(e))) | Err(e) => return fail(Exit::Environment, e),
    };
    let mut report = report::build(&template, outcome.as_ref(), &alarms, skip_actions);
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
        Err(exit) => return exit,
    };
    let Some(outcome) = outcome else {
        return verdict.exit;
    };
    match outcome.interrupted {
        Some(Interruption::TimedOut) => fail(
            Exit::Environment,
            format!(
                "timed out after {}s: experiment {} was stopped",
                cli.timeout.as_secs(),
                outcome.experiment.id
            ),
        ),
        Some(Interruption::Cancelled) => fail(
            Exit::Environment,
            format!(
                "the build was cancelled: experiment {} was stopped",
                outcome.experiment.id
            ),
        ),
        None => verdict.exit,
    }
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
