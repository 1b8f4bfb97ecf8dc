//! The experiment as findings: the experiment itself (the gate), and one per action, grouped
//! as one feature per experiment template.

use findings::{Feature, Finding, Location, Report, Rule, Severity, Status, Target, Tool};

use crate::checks::AlarmCheck;
use crate::experiment::{Interruption, Outcome, Template};
use crate::probe::{Plan, Tally};

pub const TOOL: &str = "fis-trigger";
pub const EXPERIMENT: &str = "FIS_EXPERIMENT";
pub const ACTION: &str = "FIS_ACTION";
pub const ALARM: &str = "FIS_STEADY_STATE_ALARM";
pub const URL: &str = "FIS_STEADY_STATE_URL";

fn rules() -> [Rule; 4] {
    let rule = |id, title, description, remediation| {
        Rule::own(
            id,
            Severity::High,
            title,
            description,
            remediation,
            "https://docs.aws.amazon.com/fis/latest/userguide/monitoring-experiments.html",
        )
    };
    [
        rule(
            EXPERIMENT,
            "Experiment completed",
            "The fault injection experiment ran to completion without a stop condition firing: the application stayed healthy under the fault. Stopped (a stop-condition alarm fired), failed and cancelled experiments fail the gate.",
            "Read the state reason and error code; for a stop condition, the alarm that fired shows what degraded. Fix the application's resilience (or the experiment) before promoting the deployment.",
        ),
        rule(
            ACTION,
            "Experiment action completed",
            "One action of the experiment (a fault injected, a wait) ran to its end.",
            "Read the action's state reason; a failed action often lacks permissions in the experiment role or found no target.",
        ),
        rule(
            ALARM,
            "Steady-state alarm is OK",
            "A CloudWatch alarm given with --check-alarm was OK before the experiment started and after it ended: the application was healthy going in and recovered coming out.",
            "Before: fix what the alarm reports, then run the stage again (the experiment was not started). After: the application did not recover from the fault; investigate before promoting.",
        ),
        rule(
            URL,
            "Application answered during the experiment",
            "A URL given with --check-url was requested at a fixed interval while the experiment ran; enough answers (--check-url-ratio) had an expected status (--check-url-status). Timeouts and connection errors count as failures.",
            "The application did not absorb the fault: read which answers came instead (status codes, timeouts), and make the path resilient before promoting.",
        ),
    ]
}

/// The report of a finished (or stopped) experiment.
pub fn build(
    template: &Template,
    outcome: Option<&Outcome>,
    alarms: &[AlarmCheck],
    probes: &[Tally],
    plan: &Plan,
    skip_actions: bool,
) -> Report {
    let mut report = Report::new(
        Tool::ours(TOOL, env!("CARGO_PKG_VERSION")),
        chrono::Utc::now(),
    );
    for rule in rules() {
        report.rules.insert(rule.id.clone(), rule);
    }
    report.context = aws_io::context::from_environment();
    let file = format!("experiment-template/{}", template.id);
    report.features.insert(
        file.clone(),
        Feature {
            name: if template.description.is_empty() {
                format!("Experiment template {}", template.id)
            } else {
                template.description.clone()
            },
            description: match outcome {
                Some(o) => format!("experiment {} ({})", o.experiment.id, o.experiment.arn),
                None => "not started: a steady-state alarm was not OK".into(),
            },
            line: 1,
            tags: template
                .tags
                .iter()
                .map(|(k, v)| format!("@{k}={v}"))
                .collect(),
        },
    );
    // The experiment ARN says where it ran: arn:<partition>:fis:<region>:<account>:experiment/<id>.
    let arn = outcome
        .map(|o| o.experiment.arn.clone())
        .unwrap_or_default();
    let target = (!arn.is_empty()).then(|| Target::of_arn(&arn));
    let finding = |rule: &str, status: Status, message: String, resource: String| {
        let location = Location {
            file: file.clone(),
            line: None,
            column: None,
            resource: Some(resource),
            resource_type: Some("AWS::FIS::ExperimentTemplate".into()),
            property_path: None,
        };
        Finding {
            target: target.clone(),
            ..Finding::new(TOOL, rule, Severity::High, status, message, location)
        }
    };
    for a in alarms {
        let mut message = format!(
            "alarm {} {} the experiment: {}",
            a.alarm,
            a.phase.word(),
            a.state
        );
        if let Some(reason) = a.reason.as_ref().filter(|_| !a.passed()) {
            message.push_str(&format!(": {reason}"));
        }
        report.push(finding(
            ALARM,
            if a.passed() {
                Status::Passed
            } else {
                Status::Failed
            },
            message,
            format!("alarm {} {}", a.alarm, a.phase.word()),
        ));
    }
    for tally in probes {
        report.push(finding(
            URL,
            if tally.passed(plan.ratio) {
                Status::Passed
            } else {
                Status::Failed
            },
            format!(
                "{} during the experiment: {}",
                tally.url,
                tally.describe(plan)
            ),
            format!("url {}", tally.url),
        ));
    }
    let Some(outcome) = outcome else {
        report.sort();
        return report;
    };
    let e = &outcome.experiment;

    let mut message = format!("experiment {}: {}", e.id, e.status);
    if let Some(reason) = &e.reason {
        message.push_str(&format!(": {reason}"));
    }
    if let Some(error) = &e.error {
        message.push_str(&format!(" (error {error})"));
    }
    match outcome.interrupted {
        Some(Interruption::TimedOut) => message.push_str("; stopped by fis-trigger at --timeout"),
        Some(Interruption::Cancelled) => {
            message.push_str("; stopped by fis-trigger because the build was cancelled")
        }
        Some(Interruption::HandedOver) => {
            message.push_str("; still running, followed by the CodePipeline job's next invocation")
        }
        None => {}
    }
    if skip_actions {
        message.push_str(" (actions skipped: --actions-mode skip-all)");
    }
    let passed = e.passed() && outcome.interrupted.is_none();
    report.push(finding(
        EXPERIMENT,
        if passed {
            Status::Passed
        } else {
            Status::Failed
        },
        message,
        "experiment".into(),
    ));
    for a in &e.actions {
        let ok = a.status == "completed" || (skip_actions && a.status == "skipped");
        let mut message = format!("{} ({}): {}", a.name, a.action_id, a.status);
        if let Some(seconds) = a.seconds {
            message.push_str(&format!(" after {seconds}s"));
        }
        if let Some(reason) = a.reason.as_ref().filter(|_| !ok) {
            message.push_str(&format!(": {reason}"));
        }
        report.push(finding(
            ACTION,
            if ok { Status::Passed } else { Status::Failed },
            message,
            format!("action {}", a.name),
        ));
    }
    report.sort();
    report
}
