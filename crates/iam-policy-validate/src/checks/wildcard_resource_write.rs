//! `IAM_WILDCARD_RESOURCE_WRITE`: Allow on write or permissions-management actions with
//! `"Resource": "*"`, where the actions can be limited to resources. Such a statement reaches
//! every bucket, table or key of the account, today's and tomorrow's. Actions that only ever
//! apply to `*` (s3:ListAllMyBuckets, ec2:Describe*) are not reported, nor iam:PassRole,
//! which `IAM_PASS_ROLE_ANY` reports with its own advice, nor a whole service (`kms:*`), which
//! `IAM_SERVICE_ADMIN_ACCESS` reports.

use findings::Severity;

use super::{actions_on_every_resource, service_admin, Check, Problem, Statement, Subject};
use crate::reference::{matching, AccessLevel};

pub const CHECK: Check = Check {
    id: "IAM_WILDCARD_RESOURCE_WRITE",
    title: "Write or permissions management on every resource",
    severity: Severity::Medium,
    remediation: "Name the resources (ARNs or ARN patterns) the actions need.",
    run,
};

fn run(subject: &Subject<'_>, out: &mut Vec<Problem>) {
    for found in actions_on_every_resource(subject) {
        let (service, name, action) = (found.service, found.name, found.action);
        if service_admin::whole_service(service, name) {
            continue;
        }
        let broad: Vec<&str> = matching(service, name)
            .into_iter()
            .filter(|(n, a)| {
                *n != "PassRole"
                    && a.resource_level
                    && matches!(
                        a.level,
                        AccessLevel::Write | AccessLevel::PermissionsManagement
                    )
            })
            .map(|(n, _)| n)
            .collect();
        if broad.is_empty() {
            continue;
        }
        let shown = if broad.len() > 3 {
            format!("{} and {} more", broad[..3].join(", "), broad.len() - 3)
        } else {
            broad.join(", ")
        };
        out.push(found.statement.problem(
            CHECK.id,
            Some(Statement::field("Action", found.at)),
            format!("`{action}` allows writing to every resource (`Resource: *`): {shown}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixture::problems;
    use crate::checks::PolicyKind;
    use serde_json::json;

    #[test]
    fn write_on_star_but_not_read_or_star_only_actions() {
        let bad = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "dynamodb:*", "dynamodb:Update*"], "Resource": "*"}]});
        let found = problems(&CHECK, PolicyKind::Identity, bad);
        let fields: Vec<_> = found.iter().map(|p| p.field.as_deref().unwrap()).collect();
        // dynamodb:* is IAM_SERVICE_ADMIN_ACCESS's.
        assert_eq!(fields, ["Action.0", "Action.3"]);
        let good = json!({"Statement": [
            {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "ec2:DescribeInstances", "s3:GetObject", "iam:PassRole"], "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bucket/*"}]});
        assert!(problems(&CHECK, PolicyKind::Identity, good).is_empty());
    }
}
