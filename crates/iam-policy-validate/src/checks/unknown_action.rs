//! `IAM_UNKNOWN_ACTION`: an action (or an action pattern) that matches no action of its
//! service, or a service prefix IAM does not have. A misspelled action grants nothing, so the
//! policy silently does less than its author meant, and a Deny on it protects nothing.

use findings::Severity;

use super::{statements, Check, Problem, Statement, Subject};
use crate::reference::{matching, services};

pub const CHECK: Check = Check {
    id: "IAM_UNKNOWN_ACTION",
    title: "Action or service does not exist",
    severity: Severity::High,
    remediation: "Fix the spelling; the message names the closest existing action.",
    run,
};

fn run(subject: &Subject<'_>, out: &mut Vec<Problem>) {
    for statement in statements(subject.document) {
        for field in ["Action", "NotAction"] {
            for (at, action) in statement.values(field) {
                if action == "*" {
                    continue;
                }
                let Some((prefix, name)) = action.split_once(':') else {
                    out.push(statement.problem(
                        CHECK.id,
                        Some(Statement::field(field, at)),
                        format!("`{action}` is not an action: actions are SERVICE:NAME"),
                    ));
                    continue;
                };
                let Some(service) = services().get(&prefix.to_lowercase()) else {
                    out.push(statement.problem(
                        CHECK.id,
                        Some(Statement::field(field, at)),
                        format!("`{action}`: there is no service `{prefix}`"),
                    ));
                    continue;
                };
                if matching(service, name).is_empty() {
                    let hint =
                        spanned::closest(service.actions.values().map(|(n, _)| n.as_str()), name)
                            .map(|c| format!("; did you mean `{prefix}:{c}`?"))
                            .unwrap_or_default();
                    out.push(statement.problem(
                        CHECK.id,
                        Some(Statement::field(field, at)),
                        format!("`{action}` matches no action of {prefix}{hint}"),
                    ));
                }
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
    fn finds_misspelled_actions_and_unknown_services() {
        let bad = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["s3:GetObjekt", "s3:Get*", "nosuch:Thing", "s3:PutObject", "justtext"], "Resource": "*"}]});
        let found = problems(&CHECK, PolicyKind::Identity, bad);
        let fields: Vec<_> = found.iter().map(|p| p.field.as_deref().unwrap()).collect();
        assert_eq!(fields, ["Action.0", "Action.2", "Action.4"]);
        assert!(
            found[0].message.contains("did you mean `s3:GetObject`"),
            "{}",
            found[0].message
        );
        let good = json!({"Statement": {"Effect": "Deny", "NotAction": ["iam:PassRole", "sts:*"], "Resource": "*"}});
        assert!(problems(&CHECK, PolicyKind::Identity, good).is_empty());
    }
}
