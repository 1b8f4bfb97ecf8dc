//! `stackset-update`: update a CloudFormation StackSet from a configuration file in the
//! repository, wait for the operation, and report every stack instance.

pub mod config;
pub mod deployed;
pub mod operation;
pub mod plan;
pub mod report;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use findings::cli::ReportArgs;
use findings::Exit;

use crate::config::{Desired, Overrides};
use crate::deployed::Deployed;
use crate::operation::{Interrupted, Outcome, Runner, Settings};
use crate::plan::Plan;
use aws_io::Cancel;

const EXAMPLES: &str = "\
Examples:
  stackset-update --config stacksets/baseline.yaml --report-dir reports/
  stackset-update --config stacksets/baseline.yaml --dry-run --detect-drift
  stackset-update --config baseline.yaml --parameters RetentionDays=90 --regions us-east-1,eu-west-1
  stackset-update --stack-set-name baseline --use-previous-template --use-previous-value KmsKeyArn \\
      --accounts 111111111111 --regions us-east-1 --call-as DELEGATED_ADMIN

Exit codes: 0 updated (or nothing to change), 1 the operation failed or stopped or an instance
failed, 2 usage or configuration error, 3 AWS error, timeout or cancelled build.";

/// Update a CloudFormation StackSet from the repository, wait for it, and report every stack
/// instance.
#[derive(Debug, Parser)]
#[command(name = "stackset-update", version = build_info::VERSION, about, after_help = EXAMPLES)]
pub struct Cli {
    /// The StackSet configuration file (YAML or JSON), with keys named like the properties of
    /// CodePipeline's CloudFormationStackSet action; paths in it are relative to it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub overrides: Overrides,

    /// Before updating, run DetectStackSetDrift and report each targeted instance's drift.
    #[arg(long)]
    pub detect_drift: bool,

    /// Show what would change (and the drift, with --detect-drift), then stop: no operation.
    #[arg(long)]
    pub dry_run: bool,

    /// Longest wait for the operations, such as 90s, 45m or 2h; then exit 3 with the
    /// operation id, which keeps running.
    #[arg(long, value_name = "DURATION", default_value = "60m", value_parser = aws_io::parse_duration)]
    pub timeout: Duration,

    /// Time between two DescribeStackSetOperation calls.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = aws_io::parse_duration)]
    pub poll_interval: Duration,

    /// When the build is cancelled (SIGTERM, SIGINT) during an operation, stop it with
    /// StopStackSetOperation; without it, the operation goes on and its id is printed.
    #[arg(long)]
    pub stop_on_cancel: bool,

    #[command(flatten)]
    pub reports: ReportArgs,

    #[command(flatten)]
    pub security_hub: aws_io::SecurityHubArgs,

    #[command(flatten)]
    pub aws: aws_io::AwsArgs,
}

fn fail(exit: Exit, message: impl std::fmt::Display) -> Exit {
    findings::cli::fail(report::TOOL, exit, message)
}

fn log(line: &str) {
    eprintln!("{}: {line}", report::TOOL);
}

/// What the AWS part of a run found and did.
#[derive(Debug, Clone)]
pub struct Run {
    pub deployed: Deployed,
    pub plan: Plan,
    pub drift: Option<operation::Operation>,
    pub outcome: Option<Outcome>,
    /// The instances after the operations (stack ids, reasons, drift status).
    pub after: Vec<deployed::Instance>,
}

/// The findings of a run, sorted.
pub fn report_of(desired: &Desired, run: &Run, dry_run: bool) -> findings::Report {
    let mut report = report::new_report(desired);
    if let Some(drift) = &run.drift {
        if !drift.succeeded() {
            report::add_operation(&mut report, desired, drift, &run.after);
        }
        report::add_drift(&mut report, desired, &run.plan.targets, &run.after);
    }
    match &run.outcome {
        Some(outcome) => {
            for op in &outcome.operations {
                report::add_operation(&mut report, desired, op, &run.after);
            }
            let places: Vec<plan::Place> = run
                .plan
                .targets
                .iter()
                .chain(&run.plan.missing)
                .cloned()
                .collect();
            report::add_unreported(
                &mut report,
                desired,
                &places,
                &outcome.results(),
                &run.after,
            );
        }
        None if !dry_run => report::add_current(
            &mut report,
            desired,
            &run.plan.targets,
            &run.deployed.instances,
        ),
        None => {}
    }
    report.sort();
    report
}

pub fn run(cli: Cli) -> Exit {
    let started = std::time::Instant::now();
    let exceptions = match cli.reports.load_exceptions() {
        Ok(ex) => ex,
        Err(e) => return fail(Exit::Input, e),
    };
    let desired = match config::load(cli.config.as_deref(), &cli.overrides) {
        Ok(d) => d,
        Err(e) => return fail(Exit::Input, e),
    };
    let settings = Settings {
        poll: cli.poll_interval,
        timeout: cli.timeout,
        stop_on_cancel: cli.stop_on_cancel,
    };
    let run = aws_io::block_on(aws(&cli, &desired, settings));
    let run = match run {
        Ok(Ok(Ok(run))) => run,
        Ok(Ok(Err(interrupted))) => return interruption(&desired, &cli, &interrupted),
        Ok(Err(e)) | Err(e) => return fail(Exit::Environment, e),
    };

    if let Some(outcome) = &run.outcome {
        eprint!("{}", report::summary_table(&outcome.results()));
    }
    let mut report = report_of(&desired, &run, cli.dry_run);
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match aws_io::finish(
        &mut report,
        &cli.reports,
        &cli.security_hub,
        &cli.aws,
        exceptions.as_ref(),
        "",
    ) {
        Ok(verdict) => verdict.exit,
        Err(exit) => exit,
    }
}

/// Everything that talks to CloudFormation, on the AWS thread.
async fn aws(
    cli: &Cli,
    desired: &Desired,
    settings: Settings,
) -> Result<Result<Run, Interrupted>, aws_io::AwsError> {
    let cancel = Cancel::on_signals()?;
    let config = aws_io::config::load(&cli.aws).await?;
    let client = aws_sdk_cloudformation::Client::new(&config);
    let call_as = desired.call_as.as_deref();
    let deployed = deployed::read(&client, &desired.stack_set_name, call_as).await?;
    let plan = plan::plan(desired, &deployed);
    eprint!("{}", plan::describe(desired, &deployed, &plan));
    let mut runner = Runner::new(&client, desired, settings, cancel, &log);
    let drift = if cli.detect_drift {
        match runner.detect_drift().await? {
            Ok(op) => Some(op),
            Err(i) => return Ok(Err(i)),
        }
    } else {
        None
    };
    let outcome = if cli.dry_run {
        log("dry run: no operation started");
        None
    } else if plan.is_empty() {
        log("nothing to change: no operation started");
        None
    } else {
        let outcome = runner.apply(&plan).await?;
        if let Some(i) = outcome.interrupted.clone() {
            return Ok(Err(i));
        }
        Some(outcome)
    };
    let after = if drift.is_some() || outcome.is_some() {
        deployed::instances(&client, &desired.stack_set_name, call_as).await?
    } else {
        deployed.instances.clone()
    };
    Ok(Ok(Run {
        deployed,
        plan,
        drift,
        outcome,
        after,
    }))
}

/// A timeout or a cancelled build: no report (it would look complete), the operation id and
/// how to follow or stop it. Exit 3.
fn interruption(desired: &Desired, cli: &Cli, interrupted: &Interrupted) -> Exit {
    let mut where_ = String::new();
    if let Some(region) = &cli.aws.region {
        where_.push_str(&format!(" --region {region}"));
    }
    if let Some(call_as) = &desired.call_as {
        where_.push_str(&format!(" --call-as {call_as}"));
    }
    let name = &desired.stack_set_name;
    let follow = |id: &str| {
        format!(
            "follow it with `aws cloudformation describe-stack-set-operation --stack-set-name {name} --operation-id {id}{where_}`"
        )
    };
    let stop = |id: &str| {
        format!(
            "stop it with `aws cloudformation stop-stack-set-operation --stack-set-name {name} --operation-id {id}{where_}`"
        )
    };
    let message = match interrupted {
        Interrupted::TimedOut { operation: Some(id) } => format!(
            "timed out after {}s while operation {id} runs; it goes on: {}; {}",
            cli.timeout.as_secs(),
            follow(id),
            stop(id)
        ),
        Interrupted::TimedOut { operation: None } => format!(
            "timed out after {}s waiting for another operation on StackSet {name} to end; no operation was started",
            cli.timeout.as_secs()
        ),
        Interrupted::Cancelled { operation: Some(id), stopped: true } => format!(
            "cancelled: StopStackSetOperation was called for operation {id}; instances not yet updated keep their version; {}",
            follow(id)
        ),
        Interrupted::Cancelled { operation: Some(id), stopped: false } => format!(
            "cancelled while operation {id} runs; it goes on: {}; {}",
            follow(id),
            stop(id)
        ),
        Interrupted::Cancelled { operation: None, .. } => {
            format!("cancelled before any operation was started on StackSet {name}")
        }
    };
    fail(Exit::Environment, message)
}
