//! SARIF 2.1.0 for code scanning UIs: rules with help text in `tool.driver.rules`, one result
//! per failed or suppressed check with a 1-based region, suppressions for exempted findings,
//! and checks that could not run as tool execution notifications.

use serde_json::{json, Value};

use crate::context;
use crate::model::{Report, Status};
use crate::writers::position;

fn level(severity: crate::Severity) -> &'static str {
    use crate::Severity::*;
    match severity {
        Critical | High => "error",
        Medium => "warning",
        Low | Informational => "note",
    }
}

fn findings_frameworks() -> [crate::model::Framework; 4] {
    crate::model::Framework::ALL
}

pub fn render(report: &Report) -> String {
    let rule_index: std::collections::HashMap<&str, usize> = report
        .rules
        .keys()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let rules: Vec<Value> = report
        .rules
        .values()
        .map(|r| {
            let mut help = format!("{}\n\nFix: {}", r.description, r.remediation);
            if !r.compliance.is_empty() {
                help.push_str(&format!("\n\nControls: {}", r.controls_text()));
            }
            let mut tags = vec![Value::String("security".into())];
            tags.extend(r.compliance.iter().map(|c| Value::String(c.tag())));
            let mut compliance = serde_json::Map::new();
            for framework in findings_frameworks() {
                let ids: Vec<&str> = r.controls(framework).collect();
                if !ids.is_empty() {
                    compliance.insert(framework.pack().into(), json!(ids));
                }
            }
            let mut rule = json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.description},
                "help": {"text": help},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {
                    "tags": tags,
                    "security-severity": r.severity.score(),
                    "severity": r.severity.label(),
                    "compliance": compliance,
                },
            });
            if let Some(url) = &r.remediation_url {
                rule["helpUri"] = Value::String(url.clone());
            }
            rule
        })
        .collect();

    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for f in &report.findings {
        match f.status {
            Status::Passed => continue,
            Status::Error => {
                notifications.push(json!({
                    "level": "error",
                    "message": {"text": format!("{}: {}", position(&f.location), f.message)},
                    "locations": [location(f)],
                }));
                continue;
            }
            Status::Failed | Status::Suppressed => {}
        }
        let mut result = json!({
            "ruleId": f.rule_id,
            "level": level(f.severity),
            "message": {"text": f.message},
            "locations": [location(f)],
            "partialFingerprints": {"stableId/v1": f.id},
            "properties": {"severity": f.severity.label()},
        });
        if let Some(index) = rule_index.get(f.rule_id.as_str()) {
            result["ruleIndex"] = json!(index);
        }
        if let Some(s) = &f.suppression {
            let kind = match s {
                crate::Suppression::Inline { .. } | crate::Suppression::Tool { .. } => "inSource",
                crate::Suppression::Exception { .. } | crate::Suppression::Flag { .. } => {
                    "external"
                }
            };
            result["suppressions"] = json!([{"kind": kind, "justification": s.describe()}]);
        }
        results.push(result);
    }

    let successful = notifications.is_empty();
    for notice in &report.notices {
        notifications.push(json!({"level": "note", "message": {"text": notice}}));
    }
    let mut invocation = json!({
        "executionSuccessful": successful,
        "startTimeUtc": report.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "toolExecutionNotifications": notifications,
    });
    if !report.context.is_empty() {
        invocation["properties"] = json!({"context": report.context});
    }
    let mut run = json!({
        "tool": {"driver": {
            "name": report.tool.name,
            "version": report.tool.version,
            "informationUri": report.tool.information_uri,
            "rules": rules,
        }},
        "invocations": [invocation],
        "results": results,
    });
    if let Some(uri) = report
        .context
        .get(context::REPOSITORY)
        .and_then(|r| context::repository_uri(r))
    {
        let mut provenance = json!({"repositoryUri": uri});
        if let Some(commit) = report.context.get(context::COMMIT) {
            provenance["revisionId"] = json!(commit);
        }
        if let Some(branch) = report.context.get(context::BRANCH) {
            provenance["branch"] = json!(branch);
        }
        run["versionControlProvenance"] = json!([provenance]);
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

fn location(f: &crate::Finding) -> Value {
    let mut region = json!({});
    if let Some(line) = f.location.line {
        region["startLine"] = json!(line);
        if let Some(column) = f.location.column {
            region["startColumn"] = json!(column);
        }
    }
    let mut physical = json!({"artifactLocation": {"uri": f.location.file}});
    if f.location.line.is_some() {
        physical["region"] = region;
    }
    let mut loc = json!({"physicalLocation": physical});
    if let Some(resource) = &f.location.resource {
        loc["logicalLocations"] = json!([{
            "name": resource,
            "fullyQualifiedName": f.location.property_path.clone().unwrap_or_else(|| resource.clone()),
            "kind": "resource",
        }]);
    }
    loc
}

#[cfg(test)]
mod tests {
    use crate::writers::sample::sample;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(super::render(&sample()));
    }
}
