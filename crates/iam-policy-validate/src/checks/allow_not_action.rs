//! `IAM_ALLOW_NOT_ACTION`: Allow with `NotAction` or `NotResource`. Allowing everything but a
//! list grants every action and resource AWS adds later, and is almost never what was meant
//! (NotAction belongs with Deny).

use findings::Severity;

use super::{statements, Check, Problem, Subject};

pub const CHECK: Check = Check {
    id: "IAM_ALLOW_NOT_ACTION",
    title: "Allow with NotAction or NotResource",
    severity: Severity::High,
    remediation:
        "List what is allowed with Action and Resource; keep NotAction and NotResource for Deny.",
    run,
};

fn run(subject: &Subject<'_>, out: &mut Vec<Problem>) {
    for statement in statements(subject.document) {
        if !statement.allow {
            continue;
        }
        for field in ["NotAction", "NotResource"] {
            if statement.raw.get(field).is_some() {
                out.push(statement.problem(
                    CHECK.id,
                    Some(field.to_owned()),
                    format!("Allow with {field} allows everything not listed, including what AWS adds later"),
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
    fn allow_not_action_but_not_deny_not_action() {
        let bad = json!({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::x"}]});
        assert_eq!(problems(&CHECK, PolicyKind::Identity, bad).len(), 2);
        let good =
            json!({"Statement": [{"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}]});
        assert!(problems(&CHECK, PolicyKind::Identity, good).is_empty());
    }
}
