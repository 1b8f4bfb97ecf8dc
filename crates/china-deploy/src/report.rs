//! The run as findings: partition mistakes in the template (with their lines), the stack's
//! outcome, and one failed test case per resource event that failed.

use findings::{Feature, Finding, Location, Report, Rule, Severity, Status, Target, Tool};
use spanned::Node;

use crate::deploy::Deployed;
use partition::Hit;

pub const TOOL: &str = "china-deploy";
pub const STACK: &str = "STACK_DEPLOY";
pub const RESOURCE: &str = "RESOURCE_FAILED";
pub const UNAVAILABLE: &str = "RESOURCE_TYPE_UNAVAILABLE";

fn rules() -> Vec<Rule> {
    let rule = |id, title, description, remediation, url| {
        Rule::own(id, Severity::High, title, description, remediation, url)
    };
    let mut rules = partition::rules();
    rules.extend([
        rule(
            UNAVAILABLE,
            "Resource type available in the target region",
            "CloudFormation's registry in the target region (DescribeType) does not know the resource's type (for a SAM resource, the type it becomes): the service is not offered there, and the deployment would fail halfway.",
            "Leave the resource out of the China deployment (a condition on AWS::Partition), or use a service the region offers.",
            "https://docs.amazonaws.cn/en_us/aws/latest/userguide/services.html",
        ),
        rule(
            STACK,
            "Stack deployed",
            "The change set was executed and the stack reached CREATE_COMPLETE or UPDATE_COMPLETE (or held no change).",
            "Read the failed resource events: the first CREATE_FAILED or UPDATE_FAILED is usually the cause, the rest are cancelled in its wake.",
            "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html",
        ),
        rule(
            RESOURCE,
            "Resource deployed",
            "A resource event of this deployment failed (CREATE_FAILED, UPDATE_FAILED, DELETE_FAILED).",
            "Fix what the status reason says; resources that are not available in the target partition or region fail here.",
            "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html",
        ),
    ]);
    rules
}

/// A new report for the template at `file`, with the partition findings.
pub fn new_report(file: &str, stack: &str, hits: &[Hit], rewritten: bool) -> Report {
    let mut report = Report::new(
        Tool::ours(TOOL, env!("CARGO_PKG_VERSION")),
        chrono::Utc::now(),
    );
    for rule in rules() {
        report.rules.insert(rule.id.clone(), rule);
    }
    report.context = aws_io::context::from_environment();
    report.features.insert(
        file.to_owned(),
        Feature {
            name: format!("Stack {stack}"),
            description: format!("{file} deployed as stack {stack}"),
            line: 1,
            tags: Vec::new(),
        },
    );
    for hit in hits {
        report.push(partition::finding(TOOL, file, hit, rewritten));
    }
    report
}

/// Adds a failed finding per resource whose type the target region lacks, at its line.
pub fn add_unavailable(
    report: &mut Report,
    file: &str,
    root: &Node,
    missing: &[crate::availability::Unavailable],
) {
    let resources = cfn::resources(root);
    for m in missing {
        let line = resources
            .iter()
            .find(|r| r.logical_id == m.logical_id)
            .map(|r| r.pos.line);
        let location = Location {
            file: file.to_owned(),
            line,
            column: None,
            resource: Some(m.logical_id.clone()),
            resource_type: Some(m.resource_type.clone()),
            property_path: None,
        };
        let mut message = format!("{} is not offered in the target region", m.checked);
        if m.checked != m.resource_type {
            message.push_str(&format!(" ({} becomes one)", m.resource_type));
        }
        report.push(Finding::new(
            TOOL,
            UNAVAILABLE,
            Severity::High,
            Status::Failed,
            message,
            location,
        ));
    }
}

/// Adds the deployment's outcome: the stack, and each failed resource event at its
/// resource's line.
pub fn add_deployment(
    report: &mut Report,
    file: &str,
    root: &Node,
    stack: &str,
    stack_arn: Option<String>,
    deployed: &Deployed,
) {
    let target = stack_arn.as_deref().map(Target::of_arn);
    let resources = cfn::resources(root);
    // A resource is (logical id, type, event status): a resource can fail twice (create, then
    // delete on rollback), and each is its own case.
    let finding = |rule: &str,
                   status: Status,
                   message: String,
                   resource: Option<(&str, &str, &str)>| {
        let line = resource.and_then(|(id, _, _)| {
            resources
                .iter()
                .find(|r| r.logical_id == id)
                .map(|r| r.pos.line)
        });
        let location = Location {
            file: file.to_owned(),
            line,
            column: None,
            resource: Some(resource.map_or(format!("stack {stack}"), |(id, _, _)| id.to_owned())),
            resource_type: Some(
                resource
                    .map_or("AWS::CloudFormation::Stack", |(_, t, _)| t)
                    .to_owned(),
            ),
            property_path: resource.map(|(_, _, event)| event.to_owned()),
        };
        Finding {
            target: target.clone(),
            ..Finding::new(TOOL, rule, Severity::High, status, message, location)
        }
    };
    let (message, failures) = match deployed {
        Deployed::NoChanges => (format!("stack {stack}: no changes"), &[][..]),
        Deployed::NotExecuted { change_set, changes } => (
            format!(
                "stack {stack}: change set {change_set} with {} change(s) created and not executed (--no-execute-changeset)",
                changes.len()
            ),
            &[][..],
        ),
        Deployed::Settled {
            status,
            reason,
            failures,
            ..
        } => {
            let mut m = format!("stack {stack}: {status}");
            if let Some(reason) = reason.as_ref().filter(|r| !r.is_empty()) {
                m.push_str(&format!(": {reason}"));
            }
            (m, failures.as_slice())
        }
        Deployed::Interrupted { status, timed_out } => (
            format!(
                "stack {stack}: still {status} when {}; CloudFormation goes on",
                if *timed_out { "--timeout passed" } else { "the build was cancelled" }
            ),
            &[][..],
        ),
    };
    let status = if deployed.succeeded() {
        Status::Passed
    } else {
        Status::Failed
    };
    report.push(finding(STACK, status, message, None));
    for event in failures {
        report.push(finding(
            RESOURCE,
            Status::Failed,
            format!("{} {}: {}", event.logical_id, event.status, event.reason),
            Some((&event.logical_id, &event.resource_type, &event.status)),
        ));
    }
}
