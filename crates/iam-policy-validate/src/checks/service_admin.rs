//! `IAM_SERVICE_ADMIN_ACCESS`: Allow on every action of a service (`organizations:*`, `kms:*`)
//! with `"Resource": "*"`. That is administrator access to the service: for Organizations it
//! includes leaving the organization, detaching service control policies and creating
//! accounts; for IAM or KMS, granting itself anything else. `IAM_WILDCARD_RESOURCE_WRITE`
//! reports narrower write wildcards (`s3:Put*`); a statement reported here is not reported
//! there too.

use findings::Severity;

use super::{actions_on_every_resource, Check, Problem, Statement, Subject};
use crate::reference::{matching, AccessLevel, Service};

pub const CHECK: Check = Check {
    id: "IAM_SERVICE_ADMIN_ACCESS",
    title: "Every action of a service on every resource",
    severity: Severity::High,
    remediation: "List the actions the principal needs and name the resources they act on.",
    run,
};

/// Whether `name` (the part after `service:`) matches every action of the service, and the
/// service has actions that change something and could be limited to resources (a service
/// whose actions all take only `*`, such as ssmmessages, has no narrower way to be granted).
pub fn whole_service(service: &Service, name: &str) -> bool {
    let matched = matching(service, name);
    matched.len() == service.actions.len()
        && matched.iter().any(|(_, a)| {
            a.resource_level
                && matches!(
                    a.level,
                    AccessLevel::Write | AccessLevel::PermissionsManagement
                )
        })
}

fn run(subject: &Subject<'_>, out: &mut Vec<Problem>) {
    for found in actions_on_every_resource(subject) {
        if whole_service(found.service, found.name) {
            out.push(found.statement.problem(
                CHECK.id,
                Some(Statement::field("Action", found.at)),
                format!(
                    "`{}` allows all {} actions of {} on every resource (`Resource: *`)",
                    found.action,
                    found.service.actions.len(),
                    found.prefix
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixture::problems;
    use crate::checks::PolicyKind;
    use serde_json::json;

    #[test]
    fn a_whole_service_on_every_resource_but_not_part_of_it_or_named_resources() {
        let bad = json!({"Statement": [{"Effect": "Allow", "Action": ["organizations:*", "s3:Put*", "kms:*"], "Resource": "*"}]});
        let found = problems(&CHECK, PolicyKind::Identity, bad);
        let fields: Vec<_> = found.iter().map(|p| p.field.as_deref().unwrap()).collect();
        assert_eq!(fields, ["Action.0", "Action.2"]);
        let good = json!({"Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket/*"},
            {"Effect": "Deny", "Action": "organizations:*", "Resource": "*"},
            {"Effect": "Allow", "Action": ["s3:Get*", "ec2:Describe*"], "Resource": "*"}]});
        assert!(problems(&CHECK, PolicyKind::Identity, good).is_empty());
        let trust = json!({"Statement": [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]});
        assert!(problems(&CHECK, PolicyKind::Trust, trust).is_empty());
    }
}
