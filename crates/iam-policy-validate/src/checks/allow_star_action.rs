//! `IAM_ALLOW_ALL_ACTIONS`: `"Action": "*"` with Allow: every action of every service,
//! administrator access whatever the resources say.

use findings::Severity;

use super::{statements, Check, Problem, Statement, Subject};

pub const CHECK: Check = Check {
    id: "IAM_ALLOW_ALL_ACTIONS",
    title: "Allow on every action (*)",
    severity: Severity::Critical,
    remediation: "List the actions the principal needs; use a service prefix at most (s3:Get*).",
    run,
};

fn run(subject: &Subject<'_>, out: &mut Vec<Problem>) {
    for statement in statements(subject.document) {
        if !statement.allow {
            continue;
        }
        for (at, action) in statement.values("Action") {
            if action == "*" {
                out.push(statement.problem(
                    CHECK.id,
                    Some(Statement::field("Action", at)),
                    "Allow on every action (`*`)".into(),
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
    fn allow_star_but_not_deny_star() {
        let bad = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        assert_eq!(problems(&CHECK, PolicyKind::Identity, bad).len(), 1);
        let good = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"},
                                        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
        assert!(problems(&CHECK, PolicyKind::Identity, good).is_empty());
    }
}
