//! `IAM_UNKNOWN_CONDITION_KEY`: a condition key that is neither a global key nor one of a
//! service's keys. IAM ignores a condition on a key a request never has (or always fails it,
//! depending on the operator), so a misspelled key quietly opens or closes access.

use findings::Severity;
use serde_json::Value as Json;

use super::{statements, Check, Problem, Subject};
use crate::reference::condition_key_exists;

pub const CHECK: Check = Check {
    id: "IAM_UNKNOWN_CONDITION_KEY",
    title: "Condition key does not exist",
    severity: Severity::High,
    remediation: "Use a global condition key (aws:...) or one the service documents.",
    run,
};

fn run(subject: &Subject<'_>, out: &mut Vec<Problem>) {
    for statement in statements(subject.document) {
        let Some(operators) = statement.raw.get("Condition").and_then(Json::as_object) else {
            continue;
        };
        for (operator, keys) in operators {
            for key in keys.as_object().into_iter().flat_map(|k| k.keys()) {
                if !condition_key_exists(key) {
                    out.push(statement.problem(
                        CHECK.id,
                        Some(format!("Condition.{operator}")),
                        format!("condition key `{key}` does not exist"),
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
    fn finds_unknown_keys_only() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1", "s3:prefix": "a/", "aws:SourceIpAddress": "1.2.3.4"},
                          "Bool": {"aws:SecureTransport": "true"}}}]});
        let found = problems(&CHECK, PolicyKind::Identity, doc);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("aws:SourceIpAddress"));
    }
}
