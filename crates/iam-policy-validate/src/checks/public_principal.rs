//! `IAM_PUBLIC_PRINCIPAL`: a resource or trust policy that allows `"Principal": "*"` (or
//! `{"AWS": "*"}`) with no condition that narrows it to an organization, account, ARN, VPC or
//! address: anyone on the internet, with or without an AWS account.

use findings::Severity;

use super::{
    aws_principals, has_limiting_condition, statements, Check, PolicyKind, Problem, Subject,
};

pub const CHECK: Check = Check {
    id: "IAM_PUBLIC_PRINCIPAL",
    title: "Open to everyone (Principal *)",
    severity: Severity::Critical,
    remediation: "Name the accounts or roles that need access, or add a condition such as aws:PrincipalOrgID or aws:SourceVpce.",
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
            if principal == "*" {
                out.push(statement.problem(
                    CHECK.id,
                    Some(field),
                    "allows everyone (`Principal: *`) with no condition that narrows it".into(),
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
    fn public_unless_a_condition_narrows_it() {
        let kind = || PolicyKind::Resource("AWS::S3::Bucket".into());
        let bad = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"},
                                       {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:GetObject", "Resource": "*"}]});
        assert_eq!(problems(&CHECK, kind(), bad).len(), 2);
        let good = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]});
        assert!(problems(&CHECK, kind(), good).is_empty());
    }
}
