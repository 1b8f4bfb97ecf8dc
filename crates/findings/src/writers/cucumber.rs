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
            json!({
                "uri": file,
                "id": slug(file),
                "keyword": "Feature",
                "name": file,
                "description": description,
                "line": 1,
                "tags": [{"name": format!("@{}", report.tool.name), "line": 1}],
                "elements": elements,
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&features).unwrap_or_default();
    text.push('\n');
    text
}

fn scenario(report: &Report, file: &str, f: &Finding) -> Value {
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
    json!({
        "id": format!("{};{}", slug(file), slug(&format!("{} {}", f.rule_id, f.location.resource.as_deref().unwrap_or("")))),
        "keyword": "Scenario",
        "type": "scenario",
        "name": truncate(&format!("{} {title} [{subject}]", f.rule_id), MAX_NAME),
        "description": remediation,
        "line": line,
        "tags": [
            {"name": format!("@{}", f.severity.label()), "line": line},
            {"name": format!("@{}", f.rule_id), "line": line},
        ],
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
