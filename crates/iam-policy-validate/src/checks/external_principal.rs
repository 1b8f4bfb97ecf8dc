//! `IAM_EXTERNAL_PRINCIPAL`: a resource or trust policy that allows an AWS account (or a
//! principal of one) other than the template's own account and those given with
//! `--allow-external-principals`. Cross-account access should be deliberate and listed.

use findings::Severity;

use super::{
    aws_principals, has_limiting_condition, principal_account, statements, Check, PolicyKind,
    Problem, Subject,
};

pub const CHECK: Check = Check {
    id: "IAM_EXTERNAL_PRINCIPAL",
    title: "Access for an external account",
    severity: Severity::High,
    remediation:
        "Remove the account, or list it with --allow-external-principals if the access is intended.",
    run,
};

fn run(subject: &Subject<'_>, out: &mut Vec<Problem>) {
    if subject.kind == PolicyKind::Identity {
        return;
    }
    for statement in statements(subject.document) {
        if !statement.allow || has_limiting_condition(&statement) {
            continue;
        }
        for (field, principal) in aws_principals(&statement) {
            let Some(account) = principal_account(principal) else {
                continue;
            };
            if !super::principal_allowed(principal, subject.account_id, subject.allowed_external) {
                out.push(statement.problem(
                    CHECK.id,
                    Some(field),
                    format!("allows `{principal}` of account {account}, which is not this account or an allowed external principal"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixture::problems;
    use serde_json::json;

    #[test]
    fn other_accounts_unless_allowed() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*",
            "Principal": {"AWS": ["999988887777", "arn:aws:iam::111122223333:role/own", "444455556666", "arn:aws:iam::777766665555:root"]}}]});
        let found = problems(&CHECK, PolicyKind::Trust, doc);
        let fields: Vec<_> = found.iter().map(|p| p.field.as_deref().unwrap()).collect();
        assert_eq!(fields, ["Principal.AWS.0", "Principal.AWS.3"]);
    }
}
