//! `IAM_PASS_ROLE_ANY`: Allow `iam:PassRole` (directly or through a wildcard such as `iam:*`)
//! on `"Resource": "*"` without `iam:PassedToService`: the principal can hand any role of the
//! account, administrator roles included, to a service it controls, and so act as that role.

use findings::Severity;

use super::{condition_keys, statements, Check, Problem, Statement, Subject};
use crate::reference::wildcard_match;

pub const CHECK: Check = Check {
    id: "IAM_PASS_ROLE_ANY",
    title: "iam:PassRole on any role",
    severity: Severity::High,
    remediation:
        "Name the roles that may be passed in Resource, and add an iam:PassedToService condition.",
    run,
};

fn run(subject: &Subject<'_>, out: &mut Vec<Problem>) {
    for statement in statements(subject.document) {
        if !statement.allow {
            continue;
        }
        let any_resource = statement.values("Resource").iter().any(|(_, r)| *r == "*");
        let scoped_to_service =
            condition_keys(&statement).any(|k| k.eq_ignore_ascii_case("iam:PassedToService"));
        if !any_resource || scoped_to_service {
            continue;
        }
        for (at, action) in statement.values("Action") {
            let action = action.to_lowercase();
            if action == "*" || wildcard_match(&action, "iam:passrole") {
                out.push(statement.problem(
                    CHECK.id,
                    Some(Statement::field("Action", at)),
                    "iam:PassRole is allowed on every role (`Resource: *`)".into(),
                ));
            }
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
    fn pass_role_on_star_without_passed_to_service() {
        let bad = json!({"Statement": [{"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "*"},
                                       {"Effect": "Allow", "Action": "iam:*", "Resource": ["*"]}]});
        assert_eq!(problems(&CHECK, PolicyKind::Identity, bad).len(), 2);
        let good = json!({"Statement": [
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::111122223333:role/app"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
             "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}]});
        assert!(problems(&CHECK, PolicyKind::Identity, good).is_empty());
    }
}
