//! cfn-policy-validator's JSON report (`cfn-policy-validator validate ...`, and
//! `iam-policy-validate --output cfn-policy-validator`): `BlockingFindings` and
//! `NonBlockingFindings`, each with `findingType`, `code`, `message`, `resourceName`,
//! `policyName` and the Access Analyzer finding as `details`.
//!
//! The report does not name the template, so findings are filed under the report itself, by
//! resource and policy (and the statement path Access Analyzer gave, when it did).
//! A finding the validator put among the blocking ones is at least HIGH, so our default gate
//! blocks whatever the validator blocked.

use findings::{Location, Severity, Status};
use serde_json::Value;

use super::{display_path, Item, Sink};
use crate::InputError;

const TOOL: &str = "cfn-policy-validator";

fn builtin(finding_type: &str) -> Severity {
    findings::writers::cfn_policy_validator::severity(finding_type)
}

/// `Statement/0/Action/1` from Access Analyzer's `locations[0].path`.
fn statement_path(details: &Value) -> Option<String> {
    let path = details["locations"].as_array()?.first()?["path"].as_array()?;
    let parts: Vec<String> = path
        .iter()
        .filter_map(|p| {
            p.get("value")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    p.get("index")
                        .and_then(Value::as_u64)
                        .map(|i| i.to_string())
                })
                .or_else(|| p.get("key").and_then(Value::as_str).map(str::to_owned))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

pub fn convert(path: &str, json: &Value, sink: &mut Sink<'_>) -> Result<(), InputError> {
    for (list, blocking) in [("BlockingFindings", true), ("NonBlockingFindings", false)] {
        let findings = json[list].as_array().ok_or_else(|| {
            InputError::new(
                path,
                None,
                format!("a cfn-policy-validator report without a `{list}` list"),
            )
        })?;
        for f in findings {
            let text = |key: &str| f.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
            let code = text("code").ok_or_else(|| {
                InputError::new(path, None, format!("a finding in {list} without `code`"))
            })?;
            let kind = text("findingType").unwrap_or("");
            let mut severity = sink
                .severities
                .resolve(TOOL, code, Some(kind), builtin(kind));
            if blocking && severity < Severity::High {
                severity = Severity::High;
            }
            let resource = text("resourceName");
            let policy = text("policyName");
            let details = &f["details"];
            let property_path = match (policy, statement_path(details)) {
                (Some(p), Some(s)) => Some(format!("{p}/{s}")),
                (Some(p), None) => Some(p.to_owned()),
                (None, s) => s,
            };
            let message = text("message").unwrap_or(code);
            sink.add(Item {
                tool: TOOL.into(),
                rule: code.to_owned(),
                title: code.replace('_', " ").to_lowercase(),
                severity,
                status: Status::Failed,
                message: match policy {
                    Some(p) if Some(p) != resource => format!("{p}: {message}"),
                    _ => message.to_owned(),
                },
                location: Location {
                    file: display_path(path),
                    resource: resource.map(str::to_owned),
                    property_path,
                    ..Location::default()
                },
                remediation: details["learnMoreLink"]
                    .as_str()
                    .map(|l| format!("See {l}")),
                url: details["learnMoreLink"].as_str().map(str::to_owned),
                suppression: None,
            });
        }
    }
    Ok(())
}
