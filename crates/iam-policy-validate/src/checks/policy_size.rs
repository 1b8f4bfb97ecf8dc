//! `IAM_POLICY_SIZE`: a policy larger than IAM or the service accepts, counted as IAM counts
//! (characters without whitespace). The deployment would fail with LimitExceeded; this says
//! so before it starts.

use findings::Severity;
use serde_json::Value as Json;

use super::{Check, PolicyKind, Problem, Subject};

pub const CHECK: Check = Check {
    id: "IAM_POLICY_SIZE",
    title: "Policy larger than its quota",
    severity: Severity::High,
    remediation: "Split the policy, or shorten it with wildcards in ARNs and fewer statements.",
    run,
};

/// The quota for a kind of policy, in characters without whitespace.
fn limit(kind: &PolicyKind) -> Option<(usize, &'static str)> {
    match kind {
        // Inline policies of a role together may have 10,240; a managed policy 6,144.
        PolicyKind::Identity => Some((
            10_240,
            "an identity policy (10,240 for a role's inline policies, 6,144 for a managed policy)",
        )),
        PolicyKind::Trust => Some((
            4_096,
            "a role trust policy (4,096 when raised from the 2,048 default)",
        )),
        PolicyKind::Resource(t) => match t.as_str() {
            "AWS::S3::Bucket" => Some((20_480, "an S3 bucket policy")),
            "AWS::SQS::Queue" => Some((20_480, "an SQS queue policy")),
            "AWS::SNS::Topic" => Some((30_720, "an SNS topic policy")),
            "AWS::KMS::Key" => Some((32_768, "a KMS key policy")),
            "AWS::SecretsManager::Secret" => Some((20_480, "a Secrets Manager resource policy")),
            _ => None,
        },
    }
}

/// The document's size as IAM counts it: its JSON without whitespace outside strings.
pub fn size(document: &Json) -> usize {
    document.to_string().chars().count()
}

fn run(subject: &Subject<'_>, out: &mut Vec<Problem>) {
    let Some((max, what)) = limit(&subject.kind) else {
        return;
    };
    let size = size(subject.document);
    if size > max {
        out.push(Problem {
            check: CHECK.id,
            statement: None,
            field: None,
            message: format!("{size} characters; {what} may have at most {max}"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixture::problems;
    use serde_json::json;

    #[test]
    fn over_the_quota() {
        let statement = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{}", "b".repeat(100))});
        let big = json!({"Version": "2012-10-17", "Statement": vec![statement.clone(); 100]});
        assert_eq!(problems(&CHECK, PolicyKind::Identity, big).len(), 1);
        let small = json!({"Version": "2012-10-17", "Statement": vec![statement; 10]});
        assert!(problems(&CHECK, PolicyKind::Identity, small).is_empty());
    }
}
