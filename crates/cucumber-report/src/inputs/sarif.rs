//! SARIF 2.1.0 from any tool: every run's results, with the rule's help, the first physical
//! location, and suppressions.

use findings::{Location, Severity, Status};
use serde_json::Value;

use super::{display_path, Item, Sink};
use crate::severity;
use crate::InputError;

fn level_severity(level: &str) -> Severity {
    match level {
        "error" => Severity::High,
        "warning" => Severity::Medium,
        "note" => Severity::Low,
        _ => Severity::Informational,
    }
}

/// A SARIF driver's name as the tool's name in our rule ids (`checkov/CKV_AWS_18`), the same
/// as its other formats give: `Checkov` is `checkov`, `Semgrep OSS` is `semgrep`.
fn tool_name(driver: &str) -> String {
    driver
        .split_whitespace()
        .next()
        .unwrap_or("sarif")
        .to_ascii_lowercase()
}

fn uri(location: &Value) -> Option<String> {
    let uri = location["physicalLocation"]["artifactLocation"]["uri"].as_str()?;
    let path = uri.strip_prefix("file://").unwrap_or(uri);
    Some(display_path(path))
}

pub fn convert(path: &str, json: &Value, sink: &mut Sink<'_>) -> Result<(), InputError> {
    let runs = json["runs"]
        .as_array()
        .ok_or_else(|| InputError::new(path, None, "a SARIF log without `runs`".into()))?;
    for run in runs {
        let driver = &run["tool"]["driver"];
        let tool = tool_name(driver["name"].as_str().unwrap_or("sarif"));
        let rules = driver["rules"].as_array().cloned().unwrap_or_default();
        for result in run["results"].as_array().into_iter().flatten() {
            let rule = result["ruleId"]
                .as_str()
                .or_else(|| result["rule"]["id"].as_str())
                .or_else(|| {
                    result["ruleIndex"]
                        .as_u64()
                        .and_then(|i| rules.get(i as usize))
                        .and_then(|r| r["id"].as_str())
                })
                .ok_or_else(|| {
                    InputError::new(path, None, format!("a {tool} result without a rule id"))
                })?;
            let meta = result["ruleIndex"]
                .as_u64()
                .and_then(|i| rules.get(i as usize))
                .or_else(|| rules.iter().find(|r| r["id"] == rule));
            let status = match result["kind"].as_str() {
                Some("pass") => Status::Passed,
                Some("notApplicable") => continue,
                _ => Status::Failed,
            };
            let active_suppression = result["suppressions"].as_array().and_then(|list| {
                list.iter()
                    .find(|s| s["status"].as_str() != Some("rejected"))
                    .map(|s| {
                        s["justification"]
                            .as_str()
                            .unwrap_or("suppressed in SARIF")
                            .to_owned()
                    })
            });
            let level = result["level"]
                .as_str()
                .or_else(|| meta.and_then(|m| m["defaultConfiguration"]["level"].as_str()))
                .unwrap_or("warning");
            let builtin = meta
                .and_then(|m| {
                    let s = &m["properties"]["security-severity"];
                    s.as_str()
                        .and_then(|t| t.parse::<f64>().ok())
                        .or_else(|| s.as_f64())
                })
                .map(severity::score)
                .unwrap_or_else(|| level_severity(level));
            // checkov marks every result `error` in SARIF, whatever its severity: its results
            // get the severity they get in its JSON and JUnit output.
            let builtin = if tool == "checkov" {
                severity::checkov(None, rule)
            } else {
                builtin
            };
            let severity = sink.severities.resolve(&tool, rule, Some(level), builtin);
            let location = result["locations"].as_array().and_then(|l| l.first());
            let region = location.map(|l| &l["physicalLocation"]["region"]);
            let number = |key: &str| {
                region
                    .and_then(|r| r[key].as_u64())
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n > 0)
            };
            let title = meta
                .and_then(|m| {
                    m["shortDescription"]["text"]
                        .as_str()
                        .or_else(|| m["name"].as_str())
                })
                .unwrap_or(rule)
                .to_owned();
            sink.add(Item {
                tool: tool.clone(),
                rule: rule.to_owned(),
                title,
                severity,
                status: if active_suppression.is_some() {
                    Status::Suppressed
                } else {
                    status
                },
                message: result["message"]["text"]
                    .as_str()
                    .unwrap_or(rule)
                    .to_owned(),
                location: Location {
                    file: location.and_then(uri).unwrap_or_else(|| display_path(path)),
                    line: number("startLine"),
                    column: number("startColumn"),
                    resource: location
                        .and_then(|l| l["logicalLocations"][0]["name"].as_str())
                        .map(str::to_owned),
                    resource_type: None,
                    // The tool's own fingerprint, where it gives one, beside the position the
                    // sink adds: semgrep writes the same fingerprint for every result.
                    property_path: result["partialFingerprints"]
                        .as_object()
                        .and_then(|f| f.values().next())
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                },
                remediation: meta
                    .and_then(|m| m["help"]["text"].as_str())
                    .map(str::to_owned),
                url: meta.and_then(|m| m["helpUri"].as_str()).map(str::to_owned),
                suppression: active_suppression,
            });
        }
    }
    Ok(())
}
