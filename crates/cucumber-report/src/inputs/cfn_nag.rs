//! `cfn_nag_scan --output-format json`: a list of files, each with its violations; a
//! violation names its rule (`W35`), type (FAIL or WARN), message, and the logical resource
//! ids and line numbers it concerns.

use findings::{Location, Severity, Status};
use serde_json::Value;

use super::{display_path, Item, Sink};
use crate::InputError;

pub fn convert(path: &str, json: &Value, sink: &mut Sink<'_>) -> Result<(), InputError> {
    let files = json
        .as_array()
        .ok_or_else(|| InputError::new(path, None, "a cfn_nag report is a list of files".into()))?;
    for file in files {
        let name = file["filename"].as_str().ok_or_else(|| {
            InputError::new(path, None, "a cfn_nag file entry without `filename`".into())
        })?;
        let violations = file["file_results"]["violations"]
            .as_array()
            .ok_or_else(|| {
                InputError::new(path, None, format!("{name}: no file_results.violations"))
            })?;
        for v in violations {
            let id = v["id"].as_str().ok_or_else(|| {
                InputError::new(path, None, format!("{name}: a violation without `id`"))
            })?;
            let kind = v["type"].as_str().unwrap_or("FAIL");
            let builtin = crate::severity::of_alias("cfn_nag", id).unwrap_or(if kind == "WARN" {
                Severity::Medium
            } else {
                Severity::High
            });
            let message = v["message"].as_str().unwrap_or(id).to_owned();
            let resources: Vec<&str> = v["logical_resource_ids"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let lines: Vec<u32> = v["line_numbers"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(|l| l.as_u64().and_then(|l| u32::try_from(l).ok()))
                        .collect()
                })
                .unwrap_or_default();
            let element = v["element_types"]
                .as_array()
                .and_then(|e| e.first())
                .and_then(Value::as_str);
            // One finding per resource the violation names (a template-level one has none).
            let targets: Vec<Option<&str>> = if resources.is_empty() {
                vec![None]
            } else {
                resources.iter().map(|r| Some(*r)).collect()
            };
            for (i, resource) in targets.into_iter().enumerate() {
                let line = lines.get(i).or(lines.first()).copied().filter(|l| *l > 0);
                let severity = sink.severities.resolve("cfn_nag", id, Some(kind), builtin);
                sink.add(Item {
                    tool: "cfn_nag".into(),
                    rule: id.to_owned(),
                    title: message.clone(),
                    severity,
                    status: Status::Failed,
                    message: message.clone(),
                    location: Location {
                        file: display_path(name),
                        line,
                        column: line.map(|_| 1),
                        resource: resource.map(str::to_owned),
                        resource_type: element.map(str::to_owned),
                        property_path: None,
                    },
                    remediation: None,
                    url: None,
                    suppression: None,
                });
            }
        }
    }
    Ok(())
}
