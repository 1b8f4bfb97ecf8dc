//! `IAM_POLICY_VERSION`: a policy without `"Version": "2012-10-17"`. Without it (or with the
//! old 2008-10-17) IAM does not evaluate policy variables such as `${aws:username}`, which
//! then match only their literal text.

use findings::Severity;
use serde_json::Value as Json;

use super::{Check, Problem, Subject};

pub const CHECK: Check = Check {
    id: "IAM_POLICY_VERSION",
    title: "Policy version missing or old",
    severity: Severity::Low,
    remediation: "Add \"Version\": \"2012-10-17\" to the policy document.",
    run,
};

fn run(subject: &Subject<'_>, out: &mut Vec<Problem>) {
    let message = match subject.document.get("Version") {
        Some(Json::String(v)) if v == "2012-10-17" => return,
        Some(Json::String(v)) => format!("Version is `{v}`; policy variables need 2012-10-17"),
        _ => "no Version: policy variables are not evaluated without \"Version\": \"2012-10-17\""
            .to_owned(),
    };
    out.push(Problem {
        check: CHECK.id,
        statement: None,
        field: Some("Version".into()),
        message,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixture::problems;
    use crate::checks::PolicyKind;
    use serde_json::json;

    #[test]
    fn missing_and_old_versions() {
        for doc in [
            json!({"Statement": []}),
            json!({"Version": "2008-10-17", "Statement": []}),
        ] {
            assert_eq!(problems(&CHECK, PolicyKind::Identity, doc).len(), 1);
        }
        assert!(problems(
            &CHECK,
            PolicyKind::Identity,
            json!({"Version": "2012-10-17", "Statement": []})
        )
        .is_empty());
    }
}
