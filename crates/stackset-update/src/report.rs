//! The run as findings: one per operation, one per stack instance (account x region), one
//! per instance checked for drift; and the summary table of the log.

use std::fmt::Write as _;

use findings::{Finding, Location, Report, Rule, Severity, Status, Target, Tool};

use crate::config::Desired;
use crate::deployed::Instance;
use crate::operation::{InstanceResult, Operation};
use crate::plan::Place;

pub const TOOL: &str = "stackset-update";

pub const OPERATION: &str = "STACKSET_OPERATION";
pub const INSTANCE: &str = "STACK_INSTANCE";
pub const DRIFT: &str = "STACK_INSTANCE_DRIFT";

fn rules() -> [Rule; 3] {
    let rule = |id, severity, title, description, remediation| {
        Rule::own(
            id,
            severity,
            title,
            description,
            remediation,
            "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-troubleshooting.html",
        )
    };
    [
        rule(
            OPERATION,
            Severity::High,
            "StackSet operation succeeded",
            "The StackSet operation that applied the repository's template and parameters ended SUCCEEDED; FAILED or STOPPED leaves instances on the old version.",
            "Read the status reason and the failed instances' reasons, fix the template or the target accounts, and run the build again.",
        ),
        rule(
            INSTANCE,
            Severity::High,
            "Stack instance is up to date",
            "Each targeted stack instance (account and region) runs the StackSet's current template and parameters.",
            "Open the instance's stack in its account and region, read the failed events, fix the cause (permissions of the execution role, a resource limit, a name clash) and run the build again.",
        ),
        rule(
            DRIFT,
            Severity::Medium,
            "Stack instance has not drifted",
            "Drift detection found the instance's resources as the template describes them; a drifted instance was changed outside CloudFormation, and an update may undo or fail on that change.",
            "Find the drifted resources with DescribeStackResourceDrifts in the instance's account and region, then bring the change into the template or revert it.",
        ),
    ]
}

pub fn new_report(desired: &Desired) -> Report {
    let mut report = Report::new(
        Tool::ours(TOOL, env!("CARGO_PKG_VERSION")),
        chrono::Utc::now(),
    );
    for rule in rules() {
        report.rules.insert(rule.id.clone(), rule);
    }
    report.context = aws_io::context::from_environment();
    if !desired.file.is_empty() {
        if let Ok(text) = std::fs::read_to_string(&desired.file) {
            report.sources.insert(desired.file.clone(), text);
        }
    }
    report
}

/// The file findings are placed in: the configuration file, or a name for a run from flags.
fn file_of(desired: &Desired) -> String {
    if desired.file.is_empty() {
        format!("stackset:{}", desired.stack_set_name)
    } else {
        desired.file.clone()
    }
}

fn finding(
    desired: &Desired,
    rule: &str,
    severity: Severity,
    status: Status,
    message: String,
    resource: String,
    target: Option<Target>,
) -> Finding {
    let line = ["DeploymentTargets", "Regions", "StackSetName"]
        .iter()
        .find_map(|k| desired.line_of(k))
        .filter(|_| rule != OPERATION)
        .or_else(|| desired.line_of("StackSetName"));
    let location = Location {
        file: file_of(desired),
        line,
        column: line.map(|_| 1),
        resource: Some(resource),
        resource_type: Some("AWS::CloudFormation::StackSet".into()),
        property_path: None,
    };
    Finding {
        target,
        ..Finding::new(TOOL, rule, severity, status, message, location)
    }
}

fn target(account: &str, region: &str, instances: &[Instance]) -> Target {
    Target {
        account: Some(account.to_owned()),
        region: Some(region.to_owned()),
        partition: Some(aws_io::partition_of(region).to_owned()),
        resource_arn: instances
            .iter()
            .find(|i| i.account == account && i.region == region)
            .and_then(|i| i.stack_id.clone()),
    }
}

/// `<stack set> <account>/<region>`: what a per-instance finding is about.
fn instance_name(desired: &Desired, account: &str, region: &str) -> String {
    format!("{} {account}/{region}", desired.stack_set_name)
}

/// Findings of an operation that ended, and of each instance it reached.
pub fn add_operation(
    report: &mut Report,
    desired: &Desired,
    operation: &Operation,
    instances: &[Instance],
) {
    let failed_instances: Vec<&InstanceResult> = operation
        .results
        .iter()
        .filter(|r| r.status != "SUCCEEDED")
        .collect();
    let mut message = format!(
        "{} operation {}: {}",
        operation.action, operation.id, operation.status
    );
    if let Some(reason) = &operation.status_reason {
        let _ = write!(message, ": {reason}");
    }
    if !failed_instances.is_empty() {
        let _ = write!(
            message,
            "; {} of {} instances did not succeed",
            failed_instances.len(),
            operation.results.len()
        );
    }
    report.push(finding(
        desired,
        OPERATION,
        Severity::High,
        if operation.succeeded() {
            Status::Passed
        } else {
            Status::Failed
        },
        message,
        format!(
            "{} {}",
            desired.stack_set_name,
            operation.action.to_lowercase()
        ),
        None,
    ));
    for r in &operation.results {
        let (status, message) = match r.status.as_str() {
            "SUCCEEDED" => (
                Status::Passed,
                format!(
                    "{} {}: SUCCEEDED in operation {}",
                    r.account, r.region, operation.id
                ),
            ),
            other => {
                let reason = r
                    .reason
                    .clone()
                    .or_else(|| {
                        instances
                            .iter()
                            .find(|i| i.account == r.account && i.region == r.region)
                            .and_then(|i| i.status_reason.clone())
                    })
                    .unwrap_or_else(|| match other {
                        "CANCELLED" => "the operation stopped before reaching this instance (failure tolerance exceeded or the operation was stopped)".into(),
                        _ => "no reason given".into(),
                    });
                (
                    Status::Failed,
                    format!("{} {}: {other}: {reason}", r.account, r.region),
                )
            }
        };
        report.push(finding(
            desired,
            INSTANCE,
            Severity::High,
            status,
            message,
            instance_name(desired, &r.account, &r.region),
            Some(target(&r.account, &r.region, instances)),
        ));
    }
}

/// Targeted instances that no operation result names: ListStackSetOperationResults can
/// leave an instance out (moto gives none at all), so each is judged by ListStackInstances
/// after the operations, and the report still has a case per targeted account and region.
pub fn add_unreported(
    report: &mut Report,
    desired: &Desired,
    places: &[Place],
    reported: &[InstanceResult],
    instances: &[Instance],
) {
    for (account, region) in places {
        if reported
            .iter()
            .any(|r| &r.account == account && &r.region == region)
        {
            continue;
        }
        let instance = instances
            .iter()
            .find(|i| &i.account == account && &i.region == region);
        let (status, message) = match instance {
            Some(i) if i.status == "CURRENT" => (
                Status::Passed,
                format!("{account} {region}: CURRENT after the operation (it reported no result for this instance)"),
            ),
            Some(i) => (
                Status::Failed,
                format!(
                    "{account} {region}: {} after the operation: {}",
                    i.status,
                    i.status_reason.as_deref().unwrap_or("no reason given")
                ),
            ),
            None => (
                Status::Failed,
                format!("{account} {region}: no stack instance after the operation"),
            ),
        };
        report.push(finding(
            desired,
            INSTANCE,
            Severity::High,
            status,
            message,
            instance_name(desired, account, region),
            Some(target(account, region, instances)),
        ));
    }
}

/// With nothing to change: each targeted instance, as it is.
pub fn add_current(
    report: &mut Report,
    desired: &Desired,
    places: &[Place],
    instances: &[Instance],
) {
    for (account, region) in places {
        let status = instances
            .iter()
            .find(|i| &i.account == account && &i.region == region)
            .map_or("MISSING", |i| i.status.as_str());
        report.push(finding(
            desired,
            INSTANCE,
            Severity::High,
            if status == "CURRENT" {
                Status::Passed
            } else {
                Status::Failed
            },
            format!("{account} {region}: {status}, nothing to change"),
            instance_name(desired, account, region),
            Some(target(account, region, instances)),
        ));
    }
}

/// One finding per instance drift detection looked at.
pub fn add_drift(report: &mut Report, desired: &Desired, places: &[Place], instances: &[Instance]) {
    for (account, region) in places {
        let Some(instance) = instances
            .iter()
            .find(|i| &i.account == account && &i.region == region)
        else {
            continue;
        };
        let drift = instance.drift_status.as_deref().unwrap_or("NOT_CHECKED");
        let status = match drift {
            "IN_SYNC" => Status::Passed,
            "DRIFTED" => Status::Failed,
            _ => Status::Error,
        };
        report.push(finding(
            desired,
            DRIFT,
            Severity::Medium,
            status,
            format!("{account} {region}: {drift}"),
            instance_name(desired, account, region),
            Some(target(account, region, instances)),
        ));
    }
}

/// The per-instance table printed at the end of the log.
pub fn summary_table(results: &[InstanceResult]) -> String {
    let mut out = String::new();
    if results.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "{:<14}{:<18}{:<11}REASON",
        "ACCOUNT", "REGION", "RESULT"
    );
    for r in results {
        let line = format!(
            "{:<14}{:<18}{:<11}{}",
            r.account,
            r.region,
            r.status,
            r.reason.as_deref().unwrap_or("")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lines_up_and_keeps_reasons() {
        let table = summary_table(&[
            InstanceResult {
                account: "111111111111".into(),
                region: "us-east-1".into(),
                status: "SUCCEEDED".into(),
                reason: None,
            },
            InstanceResult {
                account: "222222222222".into(),
                region: "ap-southeast-2".into(),
                status: "FAILED".into(),
                reason: Some("Resource handler returned message: Access Denied".into()),
            },
        ]);
        assert_eq!(
            table,
            "ACCOUNT       REGION            RESULT     REASON\n\
             111111111111  us-east-1         SUCCEEDED\n\
             222222222222  ap-southeast-2    FAILED     Resource handler returned message: Access Denied\n"
        );
    }
}
