//! Cucumber JSON for CodeBuild: a feature per file, a scenario per rule x resource.
//!
//! CodeBuild rejects a whole report if a duration is not an integer number of nanoseconds,
//! step keywords must end with a space, and only the fields of the canonical schema are used.

use serde_json::{json, Value};

use crate::model::{Finding, Report, Status};
use crate::writers::{position, resource_label, truncate};

const MAX_NAME: usize = 1000;
const MAX_MESSAGE: usize = 5000;

/// A Cucumber id: lowercase words joined by `-`, as Cucumber implementations write them.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

pub fn render(report: &Report) -> String {
    let description = report
        .context
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n");
    let features: Vec<Value> = report
        .by_file()
        .into_iter()
        .map(|(file, findings)| {
            let elements: Vec<Value> = findings.iter().map(|f| scenario(report, file, f)).collect();
            let feature = report.features.get(file);
            let name = feature.map_or(file, |f| f.name.as_str());
            let description = match feature.map(|f| f.description.as_str()) {
                Some(own) if !own.is_empty() && !description.is_empty() => {
                    format!("{own}\n\n{description}")
                }
                Some(own) if !own.is_empty() => own.to_owned(),
                _ => description.clone(),
            };
            let line = feature.map_or(1, |f| f.line.max(1));
            let mut tags = vec![json!({"name": format!("@{}", report.tool.name), "line": line})];
            for tag in feature.map(|f| f.tags.as_slice()).unwrap_or_default() {
                tags.push(json!({"name": tag, "line": line}));
            }
            json!({
                "uri": file,
                "id": slug(file),
                "keyword": "Feature",
                "name": name,
                "description": description,
                "line": line,
                "tags": tags,
                "elements": elements,
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&features).unwrap_or_default();
    text.push('\n');
    text
}

/// A scenario that came from a BDD report keeps its own steps.
fn recorded(report: &Report, file: &str, f: &Finding, recorded: &crate::Scenario) -> Value {
    let steps: Vec<Value> = recorded
        .steps
        .iter()
        .map(|step| {
            let mut result = json!({"status": step.status.as_str(), "duration": step.duration_ns});
            if let Some(message) = &step.error_message {
                result["error_message"] = Value::String(truncate(message, MAX_MESSAGE));
            }
            json!({
                "keyword": step.keyword,
                "name": truncate(&step.name, MAX_NAME),
                "line": step.line.max(1),
                "result": result,
            })
        })
        .collect();
    let line = recorded.line.max(1);
    let mut tags = vec![json!({"name": format!("@{}", f.severity.label()), "line": line})];
    for tag in &recorded.tags {
        tags.push(json!({"name": tag, "line": line}));
    }
    // The rule's compliance controls, so a report can be filtered by control.
    for control in report
        .rule(&f.rule_id)
        .map(|r| r.compliance.as_slice())
        .unwrap_or_default()
    {
        tags.push(json!({"name": format!("@{}", control.tag()), "line": line}));
    }
    json!({
        "id": format!("{};{}", slug(file), slug(&report.title_of(f))),
        "keyword": "Scenario",
        "type": "scenario",
        "name": truncate(&report.title_of(f), MAX_NAME),
        "description": "",
        "line": line,
        "tags": tags,
        "steps": steps,
    })
}

fn scenario(report: &Report, file: &str, f: &Finding) -> Value {
    if let Some(recorded_scenario) = report.scenarios.get(&f.id) {
        return recorded(report, file, f, recorded_scenario);
    }
    let title = report.title_of(f);
    let line = f.location.line.unwrap_or(1);
    let subject = resource_label(&f.location).unwrap_or_else(|| file.to_owned());
    let (status, error) = match f.status {
        Status::Passed => ("passed", None),
        Status::Failed => (
            "failed",
            Some(format!(
                "{}: {} {}: {}",
                position(&f.location),
                f.severity,
                f.rule_id,
                f.message
            )),
        ),
        Status::Suppressed => ("skipped", f.suppression.as_ref().map(|s| s.describe())),
        Status::Error => (
            "failed",
            Some(format!("{}: {}", position(&f.location), f.message)),
        ),
    };
    let mut then = json!({"status": status, "duration": 0});
    if let Some(message) = error {
        then["error_message"] = Value::String(truncate(&message, MAX_MESSAGE));
    }
    let remediation = report
        .rule(&f.rule_id)
        .map(|r| r.remediation.clone())
        .unwrap_or_default();
    let mut tags = vec![
        json!({"name": format!("@{}", f.severity.label()), "line": line}),
        json!({"name": format!("@{}", f.rule_id), "line": line}),
    ];
    tags.extend(control_tags(report, f, line));
    json!({
        "id": format!("{};{}", slug(file), slug(&format!("{} {}", f.rule_id, f.location.resource.as_deref().unwrap_or("")))),
        "keyword": "Scenario",
        "type": "scenario",
        "name": truncate(&format!("{} {title} [{subject}]", f.rule_id), MAX_NAME),
        "description": remediation,
        "line": line,
        "tags": tags,
        "steps": [
            {
                "keyword": "Given ",
                "name": truncate(&format!("{subject} in {}", position(&f.location)), MAX_NAME),
                "line": line,
                "result": {"status": "passed", "duration": 0},
            },
            {
                "keyword": "Then ",
                "name": truncate(&format!("it complies with {}: {title}", f.rule_id), MAX_NAME),
                "line": line,
                "result": then,
            },
        ],
    })
}

/// The rule's compliance controls as tags (`@nist-800-53:SC-28`), so a report can be
/// filtered by control.
fn control_tags(report: &Report, f: &Finding, line: u32) -> Vec<Value> {
    report
        .rule(&f.rule_id)
        .map(|r| r.compliance.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|c| json!({"name": format!("@{}", c.tag()), "line": line}))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::writers::sample::sample;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(super::render(&sample()));
    }

    #[test]
    fn slugs() {
        assert_eq!(super::slug("templates/App.yaml"), "templates-app-yaml");
    }
}
