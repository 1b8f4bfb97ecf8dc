//! Trend Micro Cloud One Conformity's template scanner response (JSON:API): one check per
//! rule x resource, `status` SUCCESS or FAILURE, `risk-level` LOW to EXTREME. The response
//! does not name the scanned template, so findings are filed under the response file.

use findings::{Location, Severity, Status};
use serde_json::Value;

use super::{display_path, Item, Sink};
use crate::InputError;

/// Conformity's five risk levels onto our five severities.
fn risk(level: &str) -> Severity {
    match level {
        "EXTREME" | "VERY_HIGH" => Severity::Critical,
        "HIGH" => Severity::High,
        "MEDIUM" => Severity::Medium,
        "LOW" => Severity::Low,
        _ => Severity::Informational,
    }
}

pub fn convert(path: &str, json: &Value, sink: &mut Sink<'_>) -> Result<(), InputError> {
    let checks = json["data"].as_array().ok_or_else(|| {
        InputError::new(path, None, "a Conformity response without `data`".into())
    })?;
    for check in checks {
        let a = &check["attributes"];
        let rule = check["relationships"]["rule"]["data"]["id"]
            .as_str()
            .or_else(|| check["id"].as_str().and_then(|id| id.split(':').nth(2)))
            .ok_or_else(|| {
                InputError::new(path, None, "a Conformity check without a rule id".into())
            })?;
        let status = match a["status"].as_str() {
            Some("SUCCESS") => Status::Passed,
            Some("FAILURE") => Status::Failed,
            other => {
                return Err(InputError::new(
                    path,
                    None,
                    format!(
                        "Conformity check {rule} has status {other:?}; expected SUCCESS or FAILURE"
                    ),
                ))
            }
        };
        let ignored = a["ignored"].as_bool().unwrap_or(false);
        let level = a["risk-level"].as_str().unwrap_or("");
        let severity = sink
            .severities
            .resolve("conformity", rule, Some(level), risk(level));
        sink.add(Item {
            tool: "conformity".into(),
            rule: rule.to_owned(),
            title: a["rule-title"].as_str().unwrap_or(rule).to_owned(),
            severity,
            status: if ignored && status == Status::Failed {
                Status::Suppressed
            } else {
                status
            },
            message: a["message"].as_str().unwrap_or(rule).to_owned(),
            location: Location {
                file: display_path(path),
                line: None,
                column: None,
                resource: a["resource"].as_str().map(str::to_owned),
                resource_type: a["descriptorType"].as_str().map(str::to_owned),
                property_path: None,
            },
            remediation: None,
            url: None,
            suppression: ignored.then(|| "ignored in Conformity".to_owned()),
        });
    }
    Ok(())
}
