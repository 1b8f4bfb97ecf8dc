//! Inline suppressions in a resource's `Metadata`, in the forms the ecosystem already uses:
//!
//! ```yaml
//! Metadata:
//!   guard:
//!     SuppressedRules: [S3_BUCKET_LOGGING_ENABLED]     # cfn-guard registry form ...
//!     Reason: Access logs are replicated centrally      # ... with the reason beside it
//!     # or: SuppressedRules: [{Rule: S3_BUCKET_LOGGING_ENABLED, Reason: ...}]
//!   cfn_nag:
//!     rules_to_suppress: [{id: W35, reason: ...}]
//!   checkov:
//!     skip: [{id: CKV_AWS_18, comment: ...}]
//! ```

use spanned::{Node, Pos, Value};

/// One rule a resource's Metadata asks to skip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineSuppression {
    /// `guard`, `cfn_nag` or `checkov`: the Metadata key it was found under.
    pub kind: &'static str,
    pub rule_id: String,
    /// `None` when the entry gives no reason (how the step treats that is its own choice).
    pub reason: Option<String>,
    pub pos: Pos,
}

fn text(node: Option<&Node>) -> Option<String> {
    node.and_then(Node::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Every suppression entry in a resource's `Metadata`.
pub fn inline_suppressions(resource: &Node) -> Vec<InlineSuppression> {
    let mut out = Vec::new();
    let Some(metadata) = resource.get("Metadata") else {
        return out;
    };
    if let Some(guard) = metadata.get("guard") {
        let shared_reason = text(guard.get("Reason"));
        for item in guard
            .get("SuppressedRules")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            match &item.value {
                Value::String(rule) => out.push(InlineSuppression {
                    kind: "guard",
                    rule_id: rule.clone(),
                    reason: shared_reason.clone(),
                    pos: item.pos,
                }),
                Value::Map(_) => {
                    if let Some(rule) = text(item.get("Rule").or_else(|| item.get("id"))) {
                        out.push(InlineSuppression {
                            kind: "guard",
                            rule_id: rule,
                            reason: text(item.get("Reason").or_else(|| item.get("reason")))
                                .or_else(|| shared_reason.clone()),
                            pos: item.pos,
                        });
                    }
                }
                _ => {}
            }
        }
    }
    for (kind, list, reason_key) in [
        ("cfn_nag", "rules_to_suppress", "reason"),
        ("checkov", "skip", "comment"),
    ] {
        let entries = metadata
            .get(kind)
            .and_then(|m| m.get(list))
            .and_then(Node::as_seq)
            .unwrap_or_default();
        for item in entries {
            if let Some(rule) = text(item.get("id")) {
                out.push(InlineSuppression {
                    kind,
                    rule_id: rule,
                    reason: text(item.get(reason_key)),
                    pos: item.pos,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{load, resources, Limits};

    #[test]
    fn reads_all_three_forms() {
        let root = load(
            "t.yaml",
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Metadata:\n      guard:\n        SuppressedRules: [R1, {Rule: R2, Reason: own}]\n        Reason: shared\n      cfn_nag:\n        rules_to_suppress:\n          - id: W35\n            reason: nag\n      checkov:\n        skip:\n          - id: CKV_AWS_18\n",
            Limits::default(),
        )
        .unwrap();
        let found = inline_suppressions(resources(&root)[0].node);
        let summary: Vec<_> = found
            .iter()
            .map(|s| (s.kind, s.rule_id.as_str(), s.reason.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("guard", "R1", Some("shared")),
                ("guard", "R2", Some("own")),
                ("cfn_nag", "W35", Some("nag")),
                ("checkov", "CKV_AWS_18", None),
            ]
        );
        assert_eq!(found[0].pos.line, 6);
    }
}
