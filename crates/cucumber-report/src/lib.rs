//! `cucumber-report`: read the output of the scanners a team already runs and write the same
//! reports as every other step (Cucumber JSON and JUnit XML for CodeBuild, ASFF, SARIF, text,
//! HTML), with one gate over the merged result.

pub mod inputs;
pub mod severity;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use findings::cli::ReportArgs;
use findings::{Exit, Report, Status, StepStatus, Tool};

use crate::inputs::{Detected, FormatName, Sink};
use crate::severity::SeverityMap;

/// An input that is unreadable or not what it claims to be: exit 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct InputError {
    pub file: String,
    pub line: Option<u32>,
    pub message: String,
}

impl InputError {
    pub fn new(file: &str, line: Option<u32>, message: String) -> Self {
        InputError {
            file: file.to_owned(),
            line,
            message,
        }
    }
}

const EXAMPLES: &str = "\
Examples:
  cucumber-report terraform-compliance.json radish-junit.xml --report-dir reports/
                                       radish Cucumber JSON, repaired, with failure texts
                                       taken from the JUnit file of the same run
  cucumber-report checkov.json cfn_nag.json cfn-lint.sarif --html report.html
                                       several tools merged into one report
  cucumber-report --from sarif results.json --fail-on critical
  cucumber-report --severity-map severities.yaml checkov.json

Exit codes: 0 passed, 1 blocking findings, 2 usage or input error, 3 environment error.";

/// Convert scanners' output into CodeBuild reports, Security Hub findings, SARIF and HTML.
#[derive(Debug, Parser)]
#[command(name = "cucumber-report", version = build_info::VERSION, about, after_help = EXAMPLES)]
pub struct Cli {
    /// Scanner output files: Cucumber JSON (radish / terraform-compliance included), JUnit
    /// XML, checkov, cfn_nag, trivy and tfsec JSON, cfn-guard structured output (JSON or
    /// YAML), cfn-policy-validator JSON, SARIF, Conformity template scanner JSON. The format
    /// is recognised from the content.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<PathBuf>,

    /// Read every input as this format instead of recognising it.
    #[arg(long, value_enum, value_name = "FORMAT", help_heading = "Input")]
    pub from: Option<FormatName>,

    /// YAML file mapping tools' severities (by rule id, native level or `default`) to ours.
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub severity_map: Option<PathBuf>,

    #[command(flatten)]
    pub reports: ReportArgs,

    #[command(flatten)]
    pub security_hub: aws_io::SecurityHubArgs,

    #[command(flatten)]
    pub aws: aws_io::AwsArgs,
}

fn fail(exit: Exit, message: impl std::fmt::Display) -> Exit {
    findings::cli::fail("cucumber-report", exit, message)
}

/// Reads every input into one report. JUnit files whose test cases are the scenarios of a
/// Cucumber input (radish writes both for one run) fill in that input's failure messages
/// instead of being reported twice.
pub fn convert(
    paths: &[PathBuf],
    from: Option<FormatName>,
    severities: &SeverityMap,
    report: &mut Report,
) -> Result<(), InputError> {
    let mut read = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let raw = std::fs::read_to_string(path)
            .map_err(|e| InputError::new(&shown, None, format!("cannot read: {e}")))?;
        let text = inputs::without_bom(&raw).to_owned();
        let detected = match from {
            // A file of another shape under --from is an error, not an empty report.
            Some(format) => checked(&shown, &text, format)?,
            None => inputs::detect(&shown, &text)?,
        };
        match detected {
            Detected::Format(format) => read.push((shown, text, format)),
            Detected::Empty => report.notices.push(format!(
                "{shown}: an empty result, nothing found (the tool ran and reported no result)"
            )),
        }
    }
    // Cucumber first, so companion JUnit files find their scenarios.
    read.sort_by_key(|(_, _, f)| *f != FormatName::Cucumber);
    let mut index = inputs::cucumber::Index::new();
    for (path, text, format) in &read {
        let json = || {
            if *format == FormatName::CfnGuard && inputs::cfn_guard::is_yaml(text) {
                return inputs::parse_yaml(path, text);
            }
            serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
                InputError::new(
                    path,
                    Some(e.line() as u32),
                    format!("not valid JSON for {format}: {e}"),
                )
            })
        };
        let mut sink = Sink::new(report, severities);
        match format {
            FormatName::Cucumber => {
                inputs::cucumber::convert(path, &json()?, &mut sink, &mut index)?
            }
            FormatName::Checkov => inputs::checkov::convert(path, &json()?, &mut sink)?,
            FormatName::CfnNag => inputs::cfn_nag::convert(path, &json()?, &mut sink)?,
            FormatName::Sarif => inputs::sarif::convert(path, &json()?, &mut sink)?,
            FormatName::Conformity => inputs::conformity::convert(path, &json()?, &mut sink)?,
            FormatName::Trivy => inputs::trivy::convert(path, &json()?, &mut sink)?,
            FormatName::Tfsec => inputs::tfsec::convert(path, &json()?, &mut sink)?,
            FormatName::CfnGuard => inputs::cfn_guard::convert(path, text, &json()?, &mut sink)?,
            FormatName::CfnPolicyValidator => {
                inputs::cfn_policy_validator::convert(path, &json()?, &mut sink)?
            }
            FormatName::Junit => {
                let cases = inputs::junit::parse(path, text)?;
                let companion = !cases.is_empty()
                    && cases
                        .iter()
                        .all(|c| inputs::cucumber::scenario_of(&index, c).is_some());
                if companion {
                    fill_messages(report, &index, &cases);
                    continue;
                }
                inputs::junit::convert(path, text, &mut sink)?;
            }
        }
    }
    Ok(())
}

/// The input read as `format` (`--from`): it must have that format's shape, or be an empty
/// result.
fn checked(path: &str, text: &str, format: FormatName) -> Result<Detected, InputError> {
    let mismatch = |what: String| {
        InputError::new(
            path,
            None,
            format!("--from {format}: {what}; check the file, or leave out --from to recognise it"),
        )
    };
    if format == FormatName::Junit {
        return if text.trim_start().starts_with('<') {
            Ok(Detected::Format(format))
        } else {
            Err(mismatch("the file is not XML".into()))
        };
    }
    let json = if format == FormatName::CfnGuard && inputs::cfn_guard::is_yaml(text) {
        inputs::parse_yaml(path, text)?
    } else {
        serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
            InputError::new(
                path,
                Some(e.line() as u32),
                format!("not valid JSON for {format}: {e}"),
            )
        })?
    };
    if inputs::is_empty_result(&json) {
        return Ok(Detected::Empty);
    }
    if inputs::looks_like(format, &json) {
        return Ok(Detected::Format(format));
    }
    Err(mismatch(match inputs::detect(path, text) {
        Ok(Detected::Format(other)) => format!("the file is {other}, not {format}"),
        _ => format!("the file does not have the shape of {format}"),
    }))
}

/// Gives failed scenarios without an error message the failure text of their JUnit case.
fn fill_messages(
    report: &mut Report,
    index: &inputs::cucumber::Index,
    cases: &[inputs::junit::Case],
) {
    for case in cases {
        let inputs::junit::Outcome::Failed(failures) = case.outcome() else {
            continue;
        };
        let Some(inputs::junit::Failure { message, text, .. }) = failures.first() else {
            continue;
        };
        let Some(id) = inputs::cucumber::scenario_of(index, case) else {
            continue;
        };
        // radish puts the steps first and the reason last: "Failure: ... does not have ...".
        let reason = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or(message)
            .trim()
            .to_owned();
        if let Some(scenario) = report.scenarios.get_mut(id) {
            if let Some(step) = scenario
                .steps
                .iter_mut()
                .find(|s| s.status == StepStatus::Failed && s.error_message.is_none())
                .filter(|_| !(text.is_empty() && message.is_empty()))
            {
                step.error_message = Some(if text.is_empty() {
                    message.clone()
                } else {
                    text.clone()
                });
            }
        }
        if let Some(finding) = report.findings.iter_mut().find(|f| &f.id == id) {
            // An empty `<failure/>` (cucumber-js for a pending step) says nothing better.
            if finding.status == Status::Failed
                && finding.message.starts_with("step ")
                && !reason.is_empty()
            {
                finding.message = reason;
            }
        }
    }
}

pub fn run(cli: Cli) -> Exit {
    let started = Instant::now();
    let severities = match &cli.severity_map {
        Some(path) => match SeverityMap::load(&path.display().to_string()) {
            Ok(map) => map,
            Err(e) => return fail(Exit::Input, e),
        },
        None => SeverityMap::default(),
    };
    let exceptions = match cli.reports.load_exceptions() {
        Ok(ex) => ex,
        Err(e) => return fail(Exit::Input, e),
    };
    let mut report = Report::new(
        Tool::ours("cucumber-report", env!("CARGO_PKG_VERSION")),
        chrono::Utc::now(),
    );
    report.context = aws_io::context::from_environment();
    if let Err(e) = convert(&cli.inputs, cli.from, &severities, &mut report) {
        return fail(Exit::Input, e);
    }
    report.sort();
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
    verdict.exit
}
